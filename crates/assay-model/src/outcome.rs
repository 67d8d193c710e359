//! The outcome of one check: a candidate's failure is data here, never an error.

use serde::{Deserialize, Serialize};

use crate::Evidence;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The submission did what the check asks.
    Pass,
    /// The submission did not; the evidence says how.
    Fail,
    /// The check could not be judged (e.g. the service stopped answering mid-check).
    Error,
    /// A prerequisite failed; `CheckOutcome::message` says which.
    Skipped,
    /// Nothing here to judge, by a choice the contract allows (a slim image with no test
    /// runner and no build stage, a framework the check does not know); the message says
    /// why. The grader leaves the check out of every skill's score (weight and credit).
    #[serde(rename = "not_assessed")]
    NotAssessed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::NotAssessed => "not_assessed",
        }
    }
}

/// What the engine observed for one check. Skills and weights are not here: the runner
/// knows nothing of them; the grader joins outcomes with the [`crate::GradingPlan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckOutcome {
    /// The check's id, unique within the assessment.
    pub id: String,
    /// The suite it belongs to.
    pub suite: String,
    pub status: Status,
    /// Credit in 0..=1: 1 for a pass, 0 for a fail, in between for graded checks (load).
    pub credit: f64,
    /// One sentence: what was found (for a skip, which prerequisite failed).
    pub message: String,
    /// The requests, responses, measurements, files and logs behind the verdict.
    pub evidence: Vec<Evidence>,
    /// Wall time the check took, in milliseconds.
    pub duration_ms: u64,
    /// The credit is below 1 because the submission gave a lesser reading the assessment
    /// accepts for partial credit (a step's `partial`), not because it failed the rule: never
    /// a critical failure.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl CheckOutcome {
    /// A passed check with full credit.
    pub fn pass(
        id: &str,
        suite: &str,
        message: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Self {
        Self::with(id, suite, Status::Pass, 1.0, message, evidence)
    }

    /// A failed check with no credit.
    pub fn fail(
        id: &str,
        suite: &str,
        message: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Self {
        Self::with(id, suite, Status::Fail, 0.0, message, evidence)
    }

    /// A check that could not be judged.
    pub fn error(
        id: &str,
        suite: &str,
        message: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Self {
        Self::with(id, suite, Status::Error, 0.0, message, evidence)
    }

    /// A check that did not run because `reason` (a prerequisite) failed.
    pub fn skipped(id: &str, suite: &str, reason: impl Into<String>) -> Self {
        Self::with(id, suite, Status::Skipped, 0.0, reason, Vec::new())
    }

    /// A check with nothing to judge because of a choice the contract allows; `reason`
    /// says which. Counts for no skill.
    pub fn not_assessed(
        id: &str,
        suite: &str,
        reason: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Self {
        Self::with(id, suite, Status::NotAssessed, 0.0, reason, evidence)
    }

    /// Any status with an explicit credit (clamped into 0..=1).
    pub fn with(
        id: &str,
        suite: &str,
        status: Status,
        credit: f64,
        message: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Self {
        let credit = if credit.is_finite() {
            credit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Self {
            id: id.to_owned(),
            suite: suite.to_owned(),
            status,
            credit,
            message: message.into(),
            evidence,
            duration_ms: 0,
            partial: false,
        }
    }
}
