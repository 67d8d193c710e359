//! The grader: run results and a grading plan in, a scorecard out. Pure: no I/O, no async.
//!
//! [`grade`] applies the scoring rules; [`Scorecard`] is the versioned contract every report
//! and CI integration reads (documented in `docs/scorecard.md`, its JSON Schema checked in at
//! `docs/scorecard.schema.json` and produced by [`json_schema`]).

mod error;
mod grade;
mod scorecard;
mod summary;

pub use error::GradeError;
pub use grade::{NOT_RUN, choose_profile, grade};
pub use scorecard::{
    AssessmentInfo, CheckResult, ProfileInfo, SCHEMA_VERSION, Scorecard, SimilarityInfo,
    SkillEvidence, SkillScore, SubmissionInfo, json_schema,
};

#[cfg(test)]
mod tests;
