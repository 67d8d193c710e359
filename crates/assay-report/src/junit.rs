//! `junit.xml`: one testsuite per suite, one testcase per check (classname = suite,
//! name = check id), so any CI that reads JUnit shows the checks as tests.

use std::time::Duration;

use assay_grader::Scorecard;
use assay_model::Status;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::escape::sanitize;
use crate::text;

/// Bytes of evidence written into a failure's or error's text.
const EXCERPT: usize = 8 * 1024;

/// Renders the JUnit XML report.
pub fn render(card: &Scorecard) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new(format!(
        "assay {} {}",
        card.assessment.id, card.assessment.version
    ));
    report.set_time(seconds(card.duration_seconds));

    // Suites in the order their first check appears.
    let mut suites: Vec<(String, TestSuite, u64)> = Vec::new();
    for check in &card.checks {
        let index = match suites.iter().position(|(name, _, _)| *name == check.suite) {
            Some(i) => i,
            None => {
                suites.push((
                    check.suite.clone(),
                    TestSuite::new(sanitize(&check.suite)),
                    0,
                ));
                suites.len() - 1
            }
        };
        let status = match check.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail | Status::Error => {
                let kind = if check.status == Status::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_message(sanitize(&check.message));
                status.set_type(if check.status == Status::Fail && check.credit > 0.0 {
                    format!("partial credit {}", text::number(check.credit))
                } else {
                    check.status.as_str().to_owned()
                });
                let evidence = text::check_evidence(check, EXCERPT);
                if !evidence.is_empty() {
                    status.set_description(sanitize(&evidence));
                }
                status
            }
            Status::Skipped => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(sanitize(&check.message));
                status
            }
            // Nothing to judge, by a choice the contract allows: skipped, saying so.
            Status::NotAssessed => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(sanitize(&format!("not assessed: {}", check.message)));
                status.set_type("not_assessed");
                status
            }
        };
        let mut case = TestCase::new(sanitize(&check.id), status);
        case.set_classname(sanitize(&check.suite));
        case.set_time(Duration::from_millis(check.duration_ms));
        case.add_property(("title", sanitize(&check.title).as_ref()));
        case.add_property(("credit", text::number(check.credit).as_str()));
        let skills: Vec<&str> = check.skills.iter().map(|s| s.id()).collect();
        case.add_property(("skills", skills.join(",").as_str()));
        case.add_property((
            "visibility",
            match check.visibility {
                assay_model::Visibility::Visible => "visible",
                assay_model::Visibility::Hidden => "hidden",
            },
        ));
        let entry = &mut suites[index];
        entry.1.add_test_case(case);
        entry.2 = entry.2.saturating_add(check.duration_ms);
    }
    for (_, mut suite, millis) in suites {
        suite.set_time(Duration::from_millis(millis));
        report.add_test_suite(suite);
    }
    report.add_test_suite(skills_suite(card));
    report.to_string()
}

/// A suite without test cases that carries the skills: each one's score and own coverage as
/// properties (`skill.<id>.score`, `skill.<id>.own_coverage`), and one line per skill in
/// its system-out, for CIs that show neither the scorecard nor the HTML report.
fn skills_suite(card: &Scorecard) -> TestSuite {
    let mut suite = TestSuite::new("assay.skills");
    let mut lines = String::new();
    for skill in &card.skills {
        let id = skill.id.id();
        match skill.score {
            Some(score) => {
                suite.add_property((format!("skill.{id}.score"), text::score(score)));
                suite.add_property((
                    format!("skill.{id}.own_coverage"),
                    text::number(skill.own_coverage),
                ));
                lines.push_str(&format!(
                    "{}: {} ({})\n",
                    skill.title,
                    text::score(score),
                    text::own_evidence(skill)
                ));
            }
            None => {
                suite.add_property((format!("skill.{id}.score"), "not assessed".to_owned()));
                lines.push_str(&format!("{}: not assessed\n", skill.title));
            }
        }
    }
    suite.set_system_out(lines);
    suite
}

fn seconds(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::try_from_secs_f64(s).unwrap_or_default()
    } else {
        Duration::ZERO
    }
}
