//! What one run of a submission produced: the sandbox's story and every check's outcome.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::CheckOutcome;

/// Which assessment was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AssessmentRef {
    pub id: String,
    pub version: String,
    pub title: String,
}

/// Which submission was run: a display name and the content digest of what was graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SubmissionRef {
    pub name: String,
    /// `sha256:…` of the submission's files as graded.
    pub digest: String,
}

/// Why a submission could not be exercised. These are graded outcomes, not errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SandboxFailure {
    /// No Dockerfile, or `docker build` failed.
    DidNotBuild { reason: String },
    /// The build ran past its time limit.
    BuildTimedOut { limit_seconds: u64 },
    /// The service never answered its health check within the limit.
    NeverHealthy { reason: String },
    /// The service exited (crash, OOM: exit 137) before or while it was being checked.
    Crashed { exit_code: i64, oom: bool },
}

impl SandboxFailure {
    /// One sentence for reports and skip reasons.
    pub fn describe(&self) -> String {
        match self {
            SandboxFailure::DidNotBuild { reason } => {
                format!("the submission did not build: {reason}")
            }
            SandboxFailure::BuildTimedOut { limit_seconds } => {
                format!("the image build ran past its {limit_seconds} s limit")
            }
            SandboxFailure::NeverHealthy { reason } => {
                format!("the service never became healthy: {reason}")
            }
            SandboxFailure::Crashed { exit_code, oom } => {
                if *oom {
                    format!("the service was killed for using too much memory (exit {exit_code})")
                } else {
                    format!("the service exited with code {exit_code}")
                }
            }
        }
    }
}

/// The sandbox's part of a run: build, start-up, resources, logs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SandboxReport {
    pub image_built: bool,
    pub became_healthy: bool,
    /// True when the image came from the content-addressed cache.
    #[serde(default)]
    pub build_cached: bool,
    pub build_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    /// The image's configured user is root (a finding, not a refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_as_root: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<SandboxFailure>,
    /// The last lines of the build log (capped).
    #[serde(default)]
    pub build_log: String,
    /// The last lines of the service's stdout/stderr (capped).
    #[serde(default)]
    pub service_log: String,
    /// Graded in a batch: when this run held the performance lane and how long it waited
    /// for it (absent for a run graded alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_lane: Option<LaneReport>,
    /// The grading machine measured just before the run's measured checks (absent when
    /// the assessment has none): compare it across runs before comparing their latencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<MachineCalibration>,
}

/// A short measurement of the grading machine: a fixed CPU workload and assay's load
/// generator against a minimal HTTP server on loopback (one connection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MachineCalibration {
    /// Median milliseconds of one round of the fixed CPU workload (lower is faster).
    pub cpu_ms: f64,
    pub loopback_p50_ms: f64,
    pub loopback_p99_ms: f64,
    /// Requests per second over one keep-alive connection.
    pub loopback_rps: f64,
    /// Measured by an optimised (release) build of assay: figures of debug builds are not
    /// comparable with them.
    pub optimized: bool,
}

/// A batch's performance lane as one run saw it. Measured phases (load checks, growth
/// checks) hold the lane alone; builds, seeding and the candidate's own tests share it with
/// each other but never with a measured phase, so no measurement runs beside another
/// submission's measurement or heavy work.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LaneReport {
    /// Seconds this run waited, in total, for the lane.
    pub wait_seconds: f64,
    /// Of which the waits of its checks (functional, security, database, lifecycle) for
    /// another run's measurement; their holds are not listed in `windows` (one per check).
    #[serde(default)]
    pub check_wait_seconds: f64,
    /// Every time the run held the lane, in order.
    pub windows: Vec<LaneWindow>,
}

/// One hold of the performance lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LaneWindow {
    pub phase: LanePhase,
    /// The check that held it (none for the build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Seconds waited before the lane was entered.
    pub waited_seconds: f64,
    /// When the lane was entered and left, in milliseconds since the Unix epoch.
    pub entered_unix_ms: u64,
    pub left_unix_ms: u64,
}

/// What a run does while it holds the performance lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LanePhase {
    /// Building the submission's image (shared with other heavy phases).
    Build,
    /// Seeding data before a load phase (shared).
    Seed,
    /// Running the candidate's own tests in its image (shared).
    Tests,
    /// A measured phase: a load check's warm-up and measurement, a growth check (alone).
    Measure,
    /// A concurrency check (a burst of simultaneous requests) or a lifecycle check (restarts,
    /// SIGTERM, database outages), shared: a measured phase of another run waits for the
    /// check in progress to end, and the check for the measured phase in progress. Waits are
    /// counted; windows are not recorded (there is one per check). Other checks run beside a
    /// measured phase.
    Check,
}

/// The runner's own identity, for reproducibility.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunnerInfo {
    pub version: String,
    /// Image name → image id of every image the run used.
    pub images: BTreeMap<String, String>,
}

/// Everything one run produced. Values only: the grader turns it into a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunResults {
    pub assessment: AssessmentRef,
    pub submission: SubmissionRef,
    pub sandbox: SandboxReport,
    pub checks: Vec<CheckOutcome>,
    pub seed: u64,
    pub runner: RunnerInfo,
    /// RFC 3339 start time.
    pub started_at: String,
    pub duration_seconds: f64,
}
