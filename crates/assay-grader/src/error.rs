//! Why a run could not be graded: a mismatch between the runner's results and the
//! assessment, or a grading plan that cannot be applied. A candidate's failure is never one.

/// A run that could not be graded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GradeError {
    /// The chosen profile is not one the assessment defines.
    #[error(
        "unknown profile `{requested}`: the assessment defines {}",
        list(known)
    )]
    UnknownProfile {
        requested: String,
        known: Vec<String>,
    },
    /// The results hold checks the assessment does not define: the runner and the
    /// assessment do not match, so the results cannot be graded against it.
    #[error(
        "the results hold checks the assessment does not define ({}): the runner and the assessment do not match",
        list(ids)
    )]
    UnknownChecks { ids: Vec<String> },
    /// The results hold the same check twice.
    #[error("the results hold check `{id}` more than once")]
    DuplicateResult { id: String },
    /// The assessment defines the same check id twice.
    #[error("the grading plan defines check `{id}` more than once")]
    DuplicatePlannedCheck { id: String },
    /// A check ran under another suite than the assessment puts it in.
    #[error(
        "check `{id}` belongs to suite `{planned}` but the results report it under `{reported}`"
    )]
    SuiteMismatch {
        id: String,
        planned: String,
        reported: String,
    },
    /// A check's skill weight is not a finite number above zero.
    #[error(
        "check `{check}` weighs skill `{skill}` at {weight}: weights must be finite and above zero"
    )]
    InvalidCheckWeight {
        check: String,
        skill: String,
        weight: f64,
    },
    /// A profile cannot be applied (a negative weight, a pass mark outside 0–100).
    #[error("profile `{profile}` cannot be applied: {reason}")]
    InvalidProfile { profile: String, reason: String },
    /// No skill the profile weights is evidenced by any check, so there is no overall score.
    #[error(
        "profile `{profile}` gives weight only to skills no check evidences, so there is nothing to weigh"
    )]
    NothingToWeigh { profile: String },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
