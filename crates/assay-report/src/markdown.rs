//! `report.md`: the scorecard as GitHub-flavoured Markdown sized for a GitHub step summary
//! (at most [`MARKDOWN_LIMIT`] bytes): verdict first, the skills table, the checks that need
//! attention with their evidence, then the passed checks and the sandbox.

use std::fmt::Write as _;

use assay_grader::{CheckResult, Scorecard};
use assay_model::inert::break_workflow_commands;
use assay_model::{Status, truncate_text};

use crate::escape::{html_in_markdown, markdown as md};
use crate::text;

/// GitHub's limit on one step summary: 1 MiB.
pub const MARKDOWN_LIMIT: usize = 1024 * 1024;

/// How much detail a rendering carries; the first that fits the limit is used.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Detail {
    /// Evidence excerpts and every passed check.
    Full,
    /// No evidence excerpts; passed checks counted, not listed.
    Compact,
    /// As compact, and at most this many checks needing attention are listed.
    Minimal,
}

/// Bytes of evidence shown per check needing attention.
const EXCERPT: usize = 1500;
/// Bytes of a message, title or name shown.
const LINE: usize = 300;
/// Checks needing attention listed at most, in the minimal rendering.
const MINIMAL_CHECKS: usize = 200;

/// Renders the Markdown report, within [`MARKDOWN_LIMIT`] bytes. No line of it is a CI
/// workflow command, so a CI job may print the file.
pub fn render(card: &Scorecard) -> String {
    let mut out = String::new();
    for detail in [Detail::Full, Detail::Compact, Detail::Minimal] {
        out = no_workflow_commands(&render_with(card, detail));
        if out.len() <= MARKDOWN_LIMIT {
            return out;
        }
    }
    // Unreachable in practice: every line of the minimal rendering is capped.
    let (cut, _) = truncate_text(&out, MARKDOWN_LIMIT - 64);
    cut
}

/// Breaks every workflow command (`::error::`, `##[…`) in the rendered document: evidence
/// lines inside `<pre>` are HTML-escaped, not Markdown-escaped.
fn no_workflow_commands(doc: &str) -> String {
    doc.split('\n')
        .map(break_workflow_commands)
        .collect::<Vec<_>>()
        .join("\n")
}

fn line(text: &str) -> String {
    md(&truncate_text(text, LINE).0)
}

fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Fail => "❌",
        Status::Error => "⚠️",
        Status::Skipped => "⏭️",
        Status::NotAssessed => "➖",
    }
}

fn render_with(card: &Scorecard, detail: Detail) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let verdict = if card.passed {
        "✅ Passed"
    } else {
        "❌ Failed"
    };
    let _ = writeln!(
        out,
        "# {verdict}: {} — {}\n",
        line(&card.assessment.title),
        line(&card.submission.name)
    );
    let passed = card.count(Status::Pass);
    let _ = writeln!(
        out,
        "**Overall {} / 100** against a pass mark of {} (profile: {}). \
         {passed} of {} checks passed; {} failed, {} errored, {} skipped{}.\n",
        text::score(card.overall),
        text::score(card.pass_mark),
        line(&card.profile.title),
        card.checks.len(),
        card.count(Status::Fail),
        card.count(Status::Error),
        card.count(Status::Skipped),
        text::not_assessed_count(card),
    );
    if let Some(problem) = text::sandbox_problem(card.sandbox.failure.as_ref()) {
        let _ = writeln!(out, "> [!WARNING]\n> {}\n", line(&problem));
    }
    if let Some(problem) = text::critical_problem(card) {
        let _ = writeln!(out, "> [!CAUTION]\n> {}\n", line(&problem));
    }
    if let Some(note) = text::similarity_note(card) {
        let _ = writeln!(out, "> [!NOTE]\n> {}\n", line(&note));
    }
    if !card.excluded_from_overall.is_empty() {
        let names: Vec<&str> = card
            .excluded_from_overall
            .iter()
            .map(|s| s.title())
            .collect();
        let _ = writeln!(
            out,
            "Not assessed by this assessment, so left out of the overall (the profile's \
             weights were renormalised over the rest): {}.\n",
            names.join(", ")
        );
    }

    out.push_str("## Skills\n\n");
    out.push_str("| Skill | Score | Checks passed | Coverage | Own evidence | Summary |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | --- |\n");
    for skill in &card.skills {
        let summary = if detail == Detail::Minimal {
            String::new()
        } else {
            md(&skill.summary)
        };
        match skill.score {
            Some(score) => {
                let _ = writeln!(
                    out,
                    "| {} | **{}** | {} / {} | {} | {} | {summary} |",
                    skill.title,
                    text::score(score),
                    skill.checks_passed,
                    skill.checks_total,
                    text::number(skill.coverage),
                    text::own_share(skill),
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "| {} | _not assessed_ | — | — | — | {summary} |",
                    skill.title
                );
            }
        }
    }
    out.push('\n');

    let attention: Vec<&CheckResult> = card
        .checks
        .iter()
        .filter(|c| c.status != Status::NotAssessed)
        .filter(|c| c.status != Status::Pass || c.credit < 1.0)
        .collect();
    let _ = writeln!(out, "## Checks needing attention ({})\n", attention.len());
    if attention.is_empty() {
        out.push_str("Every check passed in full.\n\n");
    }
    // Failures first, then partial passes, errors and skips, each in assessment order.
    let mut ordered = attention.clone();
    ordered.sort_by_key(|c| match c.status {
        Status::Fail => 0,
        Status::Pass => 1,
        Status::Error => 2,
        Status::Skipped | Status::NotAssessed => 3,
    });
    let listed = if detail == Detail::Minimal {
        MINIMAL_CHECKS
    } else {
        usize::MAX
    };
    for check in ordered.iter().take(listed) {
        let _ = writeln!(
            out,
            "- {} **{}** · {} ({} · {}) · credit {} — {}",
            icon(check.status),
            line(&check.title),
            md(check.status.as_str()),
            line(&check.id),
            line(&check.suite),
            text::number(check.credit),
            line(&check.message),
        );
        if detail == Detail::Full && !check.evidence.is_empty() {
            let excerpt = text::check_evidence(check, EXCERPT);
            let _ = writeln!(
                out,
                "  <details><summary>Evidence</summary>\n\n  <pre>{}</pre>\n\n  </details>\n",
                indent_pre(&html_in_markdown(&excerpt))
            );
        }
    }
    if ordered.len() > listed {
        let _ = writeln!(
            out,
            "- … and {} more: see scorecard.json.",
            ordered.len() - listed
        );
    }
    out.push('\n');

    let unjudged: Vec<&CheckResult> = card
        .checks
        .iter()
        .filter(|c| c.status == Status::NotAssessed)
        .collect();
    if !unjudged.is_empty() {
        let _ = writeln!(
            out,
            "## Not assessed ({})\n\nNothing to judge, by a choice the contract allows: \
             these checks count for no skill.\n",
            unjudged.len()
        );
        for check in &unjudged {
            let _ = writeln!(
                out,
                "- {} **{}** ({}) — {}",
                icon(check.status),
                line(&check.title),
                line(&check.id),
                line(&check.message),
            );
        }
        out.push('\n');
    }

    let full: Vec<&CheckResult> = card
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass && c.credit >= 1.0)
        .collect();
    let _ = writeln!(out, "## Passed checks ({})\n", full.len());
    if detail == Detail::Full && !full.is_empty() {
        out.push_str(
            "| Check | Id | Suite | Skills | Message |\n| --- | --- | --- | --- | --- |\n",
        );
        for check in &full {
            let skills: Vec<&str> = check.skills.iter().map(|s| s.title()).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                line(&check.title),
                line(&check.id),
                line(&check.suite),
                skills.join(", "),
                line(&check.message)
            );
        }
        out.push('\n');
    } else if !full.is_empty() {
        out.push_str("Listed in scorecard.json.\n\n");
    }

    out.push_str("## Sandbox\n\n| | |\n| --- | --- |\n");
    let s = &card.sandbox;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        out,
        "| Image built | {}{} |",
        yes_no(s.image_built),
        if s.build_cached { " (cached)" } else { "" }
    );
    let _ = writeln!(out, "| Became healthy | {} |", yes_no(s.became_healthy));
    let _ = writeln!(out, "| Build time | {} s |", text::number(s.build_seconds));
    if let Some(t) = s.startup_seconds {
        let _ = writeln!(out, "| Start-up time | {} s |", text::number(t));
    }
    if let Some(m) = s.peak_memory_bytes {
        let _ = writeln!(out, "| Peak memory | {:.1} |", assay_model::ByteSize(m));
    }
    if let Some(c) = s.cpu_seconds {
        let _ = writeln!(out, "| CPU time | {} s |", text::number(c));
    }
    if let Some(root) = s.runs_as_root {
        let _ = writeln!(out, "| Runs as root | {} |", yes_no(root));
    }
    if let Some(c) = &s.calibration {
        let _ = writeln!(out, "| Machine calibration | {} |", text::calibration(c));
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "<sub>assay {} · assessment {} {} · submission {} · seed {} · started {} · {} s · scorecard schema v{}</sub>",
        line(&card.runner.version),
        line(&card.assessment.id),
        line(&card.assessment.version),
        line(&card.submission.digest),
        card.seed,
        line(&card.started_at),
        text::number(card.duration_seconds),
        card.schema_version,
    );
    out
}

/// Keeps every line of a `<pre>` inside the list item it belongs to.
fn indent_pre(escaped: &str) -> String {
    escaped.replace('\n', "\n  ")
}
