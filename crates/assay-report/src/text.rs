//! Evidence and logs as plain text, capped: the excerpts every report format shows.
//! The text is raw (candidate-controlled); each renderer escapes it for its format.

use assay_grader::{CheckResult, Scorecard, SkillScore};
use assay_model::{Evidence, SandboxFailure, Status, truncate_text};

/// A short name for the kind of a piece of evidence.
pub fn kind(evidence: &Evidence) -> &'static str {
    match evidence {
        Evidence::Exchange { .. } => "HTTP exchange",
        Evidence::Measurement { .. } => "Measurement",
        Evidence::File { .. } => "File",
        Evidence::Log { .. } => "Log",
        Evidence::Query { .. } => "Query",
        Evidence::Note { .. } => "Note",
    }
}

/// One piece of evidence as plain text, capped at `max` bytes.
pub fn evidence(evidence: &Evidence, max: usize) -> String {
    let text = match evidence {
        Evidence::Exchange {
            request,
            response,
            error,
        } => {
            let mut out = format!("{} {}", request.method, request.url);
            for (name, value) in &request.headers {
                out.push_str(&format!("\n{name}: {value}"));
            }
            if let Some(body) = &request.body {
                out.push_str(&format!("\n\n{body}"));
            }
            match response {
                Some(r) => {
                    out.push_str(&format!("\n\n→ {} ({} ms)", r.status, number(r.elapsed_ms)));
                    for (name, value) in &r.headers {
                        out.push_str(&format!("\n{name}: {value}"));
                    }
                    if !r.body.is_empty() {
                        out.push_str(&format!("\n\n{}", r.body));
                    }
                    if r.body_truncated {
                        out.push_str("\n[body truncated]");
                    }
                }
                None => out.push_str("\n\n→ no response"),
            }
            if let Some(error) = error {
                out.push_str(&format!("\nerror: {error}"));
            }
            out
        }
        Evidence::Measurement {
            name,
            value,
            unit,
            target,
            floor,
        } => {
            let mut out = format!("{name}: {} {unit}", number(*value));
            let mut bounds = Vec::new();
            if let Some(t) = target {
                bounds.push(format!("target {} {unit}", number(*t)));
            }
            if let Some(f) = floor {
                bounds.push(format!("floor {} {unit}", number(*f)));
            }
            if !bounds.is_empty() {
                out.push_str(&format!(" ({})", bounds.join(", ")));
            }
            out
        }
        Evidence::File {
            path,
            line,
            excerpt,
        } => {
            let mut out = match line {
                Some(line) => format!("{path}:{line}"),
                None => path.clone(),
            };
            if let Some(excerpt) = excerpt {
                out.push_str(&format!("\n{excerpt}"));
            }
            out
        }
        Evidence::Log { source, excerpt } => format!("[{source}]\n{excerpt}"),
        Evidence::Query { sql, rows } => {
            let mut out = sql.clone();
            for row in rows {
                out.push_str(&format!("\n{}", row.join(" | ")));
            }
            if rows.is_empty() {
                out.push_str("\n(no rows)");
            }
            out
        }
        Evidence::Note { text } => text.clone(),
    };
    truncate_text(&text, max).0
}

/// All of a check's evidence as plain text, each piece headed by its kind, capped at
/// `max` bytes in all (and each piece at half of that).
pub fn check_evidence(check: &CheckResult, max: usize) -> String {
    let pieces: Vec<String> = check
        .evidence
        .iter()
        .map(|e| format!("— {} —\n{}", kind(e), evidence(e, max / 2)))
        .collect();
    truncate_text(&pieces.join("\n\n"), max).0
}

/// The last `max_lines` lines of a log, at most `max` bytes, marked when cut.
pub fn tail(log: &str, max_lines: usize, max: usize) -> String {
    let log = log.trim_end();
    let lines: Vec<&str> = log.lines().collect();
    let skip = lines.len().saturating_sub(max_lines);
    let mut text = lines[skip..].join("\n");
    let mut cut = skip > 0;
    if text.len() > max {
        let mut start = text.len() - max;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text = text[start..].to_owned();
        cut = true;
    }
    if cut { format!("…\n{text}") } else { text }
}

/// A number without a needless `.0`, at most three decimals.
pub fn number(x: f64) -> String {
    let rounded = (x * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

/// A skill's own coverage as a whole percentage, e.g. `62%`: how much of its weight comes
/// from checks where it is the primary skill.
pub fn own_share(skill: &SkillScore) -> String {
    format!("{:.0}%", (skill.own_coverage * 100.0).clamp(0.0, 100.0))
}

/// A skill's own coverage spelled out, e.g. `62% own evidence, 5 of 8 weight`.
pub fn own_evidence(skill: &SkillScore) -> String {
    format!(
        "{} own evidence, {} of {} weight",
        own_share(skill),
        number(skill.own_weight),
        number(skill.coverage)
    )
}

/// A score as written in the scorecard: one decimal.
pub fn score(x: f64) -> String {
    format!("{x:.1}")
}

/// Why the submission failed whatever its overall, if a critical check failed.
pub fn critical_problem(card: &Scorecard) -> Option<String> {
    if card.critical_failures.is_empty() {
        return None;
    }
    let (noun, verb) = if card.critical_failures.len() == 1 {
        ("check", "fails")
    } else {
        ("checks", "fail")
    };
    Some(format!(
        "Failed whatever the overall: the critical {noun} {} {verb} the submission on {} own.",
        card.critical_failures.join(", "),
        if card.critical_failures.len() == 1 {
            "its"
        } else {
            "their"
        }
    ))
}

/// The similarity flag, when the submission's closest match shares enough code to flag: a
/// note for a human that never changes the score.
pub fn similarity_note(card: &Scorecard) -> Option<String> {
    let s = card.similarity.as_ref().filter(|s| s.flagged)?;
    let closest = s.closest.as_deref()?;
    Some(format!(
        "Shares {:.0} % of its code ({} lines) with {} {closest}{}. A flag for a human to \
         compare the two side by side, not part of any score.",
        s.share * 100.0,
        s.shared_lines,
        if s.known {
            "the known solution"
        } else {
            "the submission"
        },
        s.page
            .as_deref()
            .map(|p| format!(" (see {p} in the batch folder)"))
            .unwrap_or_default()
    ))
}

/// Why the submission could not be exercised, if it could not.
pub fn sandbox_problem(failure: Option<&SandboxFailure>) -> Option<String> {
    failure.map(|f| {
        let text = f.describe();
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
            None => text,
        }
    })
}

/// `", N not assessed"` when some checks had nothing to judge, else nothing (the count
/// sentences of the reports stay as they were for every other scorecard).
pub fn not_assessed_count(card: &Scorecard) -> String {
    match card.count(Status::NotAssessed) {
        0 => String::new(),
        n => format!(", {n} not assessed"),
    }
}

/// The machine's calibration in one line, for the sandbox facts.
pub(crate) fn calibration(c: &assay_model::MachineCalibration) -> String {
    format!(
        "CPU round {} ms · loopback p50 {} ms, p99 {} ms, {} req/s{}",
        number(c.cpu_ms),
        number(c.loopback_p50_ms),
        number(c.loopback_p99_ms),
        number(c.loopback_rps.round()),
        if c.optimized {
            ""
        } else {
            " (debug build of assay: not comparable with release figures)"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2, 100), "…\nb\nc");
        assert_eq!(tail("a\nb", 5, 100), "a\nb");
        assert_eq!(tail("abcdef", 5, 3), "…\ndef");
    }

    #[test]
    fn numbers_drop_needless_decimals() {
        assert_eq!(number(200.0), "200");
        assert_eq!(number(3.5), "3.5");
        assert_eq!(number(1.0 / 3.0), "0.333");
    }

    #[test]
    fn measurement_reads_with_its_bounds() {
        let e = Evidence::Measurement {
            name: "throughput".to_owned(),
            value: 80.0,
            unit: "rps".to_owned(),
            target: Some(200.0),
            floor: None,
        };
        assert_eq!(evidence(&e, 1000), "throughput: 80 rps (target 200 rps)");
    }
}
