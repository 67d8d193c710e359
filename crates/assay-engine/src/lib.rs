//! The check engine: runs an assessment's suites against a running submission and returns
//! every check's outcome with its evidence. It reaches the submission only through the
//! [`Service`] and [`RepoView`] traits, which the runner implements.

pub mod checks;
pub mod context;
pub mod digest;
pub mod expect;
pub mod expr;
pub mod http;
pub mod journal;
pub mod jwt;
pub mod lane;
mod repo;
mod run;
mod service;
pub mod shape;
pub mod vars;

pub use context::{DatabaseLogin, EngineConfig, Verdict};
pub use lane::{LaneError, LaneTicket, PerformanceLane, RunLane};
pub use repo::{RepoCommit, RepoFile, RepoView};
pub use run::{EngineError, Progress, run};
pub use service::{ControlError, ExecOutput, Service, StageRun, StopReport};
