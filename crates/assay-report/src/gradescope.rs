//! `results.json`: Gradescope's autograder results format. One test per check (one point
//! each, scored by its credit; a `not_assessed` check is a test worth 0 points); the overall score is the profile-weighted overall out of 100.

use assay_grader::{CheckResult, Scorecard};
use assay_model::{Status, Visibility};
use serde::Serialize;

use crate::escape::sanitize;
use crate::text;

/// Gradescope's plain-text output format: nothing in an output is rendered as markup.
const TEXT: &str = "text";

/// Bytes of evidence in a test's output.
const EXCERPT: usize = 4 * 1024;

/// Gradescope's `results.json`.
#[derive(Debug, Serialize)]
pub struct Results {
    /// The profile-weighted overall, 0–100 (Gradescope uses this over the tests' sum).
    pub score: f64,
    pub max_score: f64,
    pub output: String,
    /// Always `text`: outputs quote the candidate's responses, which must never be rendered
    /// as HTML or Markdown, whatever the course's default.
    pub output_format: &'static str,
    /// Always `text`, for every test's output (see `output_format`).
    pub test_output_format: &'static str,
    /// Hidden until grades are published: the summary draws on hidden checks.
    pub visibility: &'static str,
    pub tests: Vec<Test>,
}

/// One Gradescope test: one check.
#[derive(Debug, Serialize)]
pub struct Test {
    pub name: String,
    pub number: String,
    pub score: f64,
    pub max_score: f64,
    pub status: &'static str,
    pub visibility: &'static str,
    pub output: String,
    /// Always `text` (the output quotes the candidate's responses).
    pub output_format: &'static str,
}

/// Builds the Gradescope results.
pub fn results(card: &Scorecard) -> Results {
    let mut output = format!(
        "{}: overall {} / 100 (pass mark {}, profile {}).\n",
        if card.passed { "PASSED" } else { "FAILED" },
        text::score(card.overall),
        text::score(card.pass_mark),
        card.profile.title
    );
    if let Some(problem) = text::sandbox_problem(card.sandbox.failure.as_ref()) {
        output.push_str(&format!("{problem}\n"));
    }
    output.push('\n');
    for skill in &card.skills {
        match skill.score {
            Some(score) => output.push_str(&format!(
                "{}: {} ({})\n",
                skill.title,
                text::score(score),
                text::own_evidence(skill)
            )),
            None => output.push_str(&format!("{}: not assessed\n", skill.title)),
        }
    }
    Results {
        score: card.overall,
        max_score: 100.0,
        output: sanitize(&output).into_owned(),
        output_format: TEXT,
        test_output_format: TEXT,
        visibility: "after_published",
        tests: card
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| test(i + 1, c))
            .collect(),
    }
}

fn test(number: usize, check: &CheckResult) -> Test {
    let mut output = format!(
        "{} · credit {} · check {} in suite {}\n{}",
        check.status.as_str().replace('_', " ").to_uppercase(),
        text::number(check.credit),
        check.id,
        check.suite,
        check.message
    );
    if !check.evidence.is_empty() {
        output.push_str("\n\n");
        output.push_str(&text::check_evidence(check, EXCERPT));
    }
    Test {
        name: sanitize(&check.title).into_owned(),
        number: number.to_string(),
        score: check.credit,
        // Nothing to judge (a choice the contract allows): a test worth no points, never a
        // failure.
        max_score: if check.status == Status::NotAssessed {
            0.0
        } else {
            1.0
        },
        status: if matches!(check.status, Status::Pass | Status::NotAssessed) {
            "passed"
        } else {
            "failed"
        },
        visibility: match check.visibility {
            Visibility::Visible => "visible",
            Visibility::Hidden => "after_published",
        },
        output: sanitize(&output).into_owned(),
        output_format: TEXT,
    }
}
