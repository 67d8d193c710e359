//! Strengths and gaps of one skill in two or three sentences, templated from which checks
//! passed, failed, earned partial credit, errored or did not run. Deterministic: the same
//! evidence always reads the same.

use assay_model::Status;

/// How many check titles a sentence names before it says "and N more".
const NAMED: usize = 3;

/// One evidencing check as the summary sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvidenceLine<'a> {
    pub title: &'a str,
    pub status: Status,
    pub credit: f64,
}

/// The summary of a skill no check evidences.
pub(crate) fn not_assessed_summary() -> String {
    "Not assessed: no check in this assessment evidences this skill, so it is left out of the overall score."
        .to_owned()
}

/// Two or three sentences: what went well, what fell short, and a note when checks that did
/// not run or could not be judged pulled the score down.
pub(crate) fn summarise(lines: &[EvidenceLine<'_>]) -> String {
    let titles = |keep: &dyn Fn(&EvidenceLine<'_>) -> bool| -> Vec<String> {
        lines
            .iter()
            .filter(|l| keep(l))
            .map(|l| l.title.to_owned())
            .collect()
    };
    let full = titles(&|l| l.status == Status::Pass && l.credit >= 1.0);
    let partial: Vec<String> = lines
        .iter()
        .filter(|l| {
            matches!(l.status, Status::Pass | Status::Fail) && l.credit > 0.0 && l.credit < 1.0
        })
        .map(|l| format!("{} ({}%)", l.title, percent(l.credit)))
        .collect();
    let failed = titles(&|l| l.status == Status::Fail && l.credit <= 0.0);
    let passed_without_credit = titles(&|l| l.status == Status::Pass && l.credit <= 0.0);
    let errored = titles(&|l| l.status == Status::Error);
    let skipped = titles(&|l| l.status == Status::Skipped);
    let not_assessed = titles(&|l| l.status == Status::NotAssessed);
    if not_assessed.len() == lines.len() {
        return format!(
            "Not assessed: {} had nothing to judge in this submission, so this skill is left \
             out of the overall score.",
            name_list(&not_assessed)
        );
    }
    let lines: Vec<EvidenceLine<'_>> = lines
        .iter()
        .copied()
        .filter(|l| l.status != Status::NotAssessed)
        .collect();
    let lines = lines.as_slice();

    let mut sentences = Vec::with_capacity(3);
    sentences.push(if full.is_empty() {
        if partial.is_empty() {
            "No check evidencing this skill earned credit.".to_owned()
        } else {
            "No check evidencing this skill passed in full.".to_owned()
        }
    } else if full.len() == lines.len() {
        format!("Strengths: every check passed ({}).", name_list(&full))
    } else {
        format!("Strengths: {} passed.", name_list(&full))
    });

    let mut gaps = Vec::new();
    if !failed.is_empty() || !passed_without_credit.is_empty() {
        let mut all = failed.clone();
        all.extend(passed_without_credit);
        gaps.push(format!("{} failed", name_list(&all)));
    }
    if !partial.is_empty() {
        gaps.push(format!("{} earned partial credit", name_list(&partial)));
    }
    if !errored.is_empty() {
        gaps.push(format!("{} could not be judged", name_list(&errored)));
    }
    if !skipped.is_empty() {
        gaps.push(format!("{} did not run", name_list(&skipped)));
    }
    sentences.push(if gaps.is_empty() {
        "No gaps found by this assessment.".to_owned()
    } else {
        format!("Gaps: {}.", gaps.join("; "))
    });

    let unjudged = errored.len() + skipped.len();
    if unjudged > 0 {
        sentences.push(if unjudged == lines.len() {
            "No check for this skill could be judged; each counts as zero.".to_owned()
        } else {
            format!(
                "{} that could not be judged or did not run count{} as zero.",
                plural(unjudged, "check"),
                if unjudged == 1 { "s" } else { "" }
            )
        });
    }
    if !not_assessed.is_empty() {
        sentences.push(format!(
            "Not assessed (left out of this score): {}.",
            name_list(&not_assessed)
        ));
    }
    sentences.join(" ")
}

fn percent(credit: f64) -> String {
    let p = (credit * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "A", "A and B", "A, B and C", "A, B, C and 2 more".
fn name_list(names: &[String]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) if names.len() <= NAMED => format!("{} and {last}", rest.join(", ")),
        Some(_) => format!(
            "{} and {} more",
            names[..NAMED].join(", "),
            names.len() - NAMED
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(title: &str, status: Status, credit: f64) -> EvidenceLine<'_> {
        EvidenceLine {
            title,
            status,
            credit,
        }
    }

    #[test]
    fn all_passed_reads_as_strength_without_gaps() {
        let text = summarise(&[
            line("Rejects bad tokens", Status::Pass, 1.0),
            line("Hashes passwords", Status::Pass, 1.0),
        ]);
        assert_eq!(
            text,
            "Strengths: every check passed (Rejects bad tokens and Hashes passwords). No gaps found by this assessment."
        );
    }

    #[test]
    fn mixed_evidence_names_each_kind_of_gap() {
        let text = summarise(&[
            line("Lists items", Status::Pass, 1.0),
            line("Paginates", Status::Fail, 0.0),
            line("Holds 200 rps", Status::Fail, 0.4),
            line("Survives restart", Status::Error, 0.0),
            line("Migrates", Status::Skipped, 0.0),
        ]);
        assert_eq!(
            text,
            "Strengths: Lists items passed. Gaps: Paginates failed; Holds 200 rps (40%) earned partial credit; \
             Survives restart could not be judged; Migrates did not run. \
             2 checks that could not be judged or did not run count as zero."
        );
    }

    #[test]
    fn all_skipped_says_nothing_could_be_judged() {
        let text = summarise(&[
            line("A", Status::Skipped, 0.0),
            line("B", Status::Skipped, 0.0),
        ]);
        assert_eq!(
            text,
            "No check evidencing this skill earned credit. Gaps: A and B did not run. \
             No check for this skill could be judged; each counts as zero."
        );
    }

    #[test]
    fn long_lists_are_cut_after_three_names() {
        let names: Vec<String> = ["A", "B", "C", "D", "E"].map(str::to_owned).to_vec();
        assert_eq!(name_list(&names), "A, B, C and 2 more");
        assert_eq!(name_list(&names[..3]), "A, B and C");
        assert_eq!(name_list(&names[..1]), "A");
    }
}
