//! Shared value types of assay: what a run produces and what the grader needs to score it.
//!
//! Nothing here does I/O. The runner fills [`RunResults`]; the format crate derives a
//! [`GradingPlan`] from an assessment; the grader turns both into a scorecard.

mod evidence;
pub mod inert;
mod outcome;
mod plan;
mod run;
mod size;
mod skill;

pub use evidence::{Evidence, RequestRecord, ResponseRecord, truncate_text};
pub use outcome::{CheckOutcome, Status};
pub use plan::{GradingPlan, PlannedCheck, Profile, SkillWeight, Visibility};
pub use run::{
    AssessmentRef, LanePhase, LaneReport, LaneWindow, MachineCalibration, RunResults, RunnerInfo,
    SandboxFailure, SandboxReport, SubmissionRef,
};
pub use size::{ByteSize, SizeError};
pub use skill::{Skill, UnknownSkill};
