//! What the engine may ask of the running submission's sandbox. The runner implements it
//! (with Docker today); the engine never sees a container.

use std::net::SocketAddr;
use std::time::Duration;

/// How a stop went.
#[derive(Debug, Clone, PartialEq)]
pub struct StopReport {
    /// Seconds from SIGTERM to exit.
    pub seconds_to_exit: f64,
    pub exit_code: Option<i64>,
    /// The service did not exit within the grace period and was killed.
    pub killed_after_grace: bool,
}

/// What a command run inside the service's container did.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecOutput {
    /// `None` when it did not finish within its time limit.
    pub exit_code: Option<i64>,
    /// The tail of its stdout and stderr, lossy UTF-8.
    pub output: String,
}

/// How running a command in a stage of the submission's Dockerfile went.
#[derive(Debug, Clone, PartialEq)]
pub enum StageRun {
    /// The stage was built (or found cached) and the command ran in it.
    Ran(ExecOutput),
    /// The stage did not build: the reason and the tail of the build log.
    NotBuilt { reason: String, log: String },
}

/// An error controlling the sandbox: infrastructure, not the candidate's failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ControlError(pub String);

/// Lifecycle operations and facts of the service under test.
#[async_trait::async_trait]
pub trait Service: Send + Sync {
    /// Where the service answers HTTP, reachable from the engine.
    fn base_url(&self) -> String;
    /// Where a sidecar listens on `port`, reachable from the engine.
    fn sidecar_addr(&self, name: &str, port: u16) -> Option<SocketAddr>;
    /// Seconds the service took to become healthy the first time.
    fn startup_seconds(&self) -> Option<f64>;
    /// SIGTERM, wait up to `grace`, kill after it; the service stays stopped.
    async fn stop(&self, grace: Duration) -> Result<StopReport, ControlError>;
    /// Start the (stopped) service again and wait until it is healthy; `Ok(false)` when it
    /// did not become healthy in time (a candidate's failure).
    async fn start(&self) -> Result<bool, ControlError>;
    /// The sidecar `name` drops every client connection and refuses new ones for
    /// `down_for`, then accepts them again, while it and the service keep running (its data
    /// kept): a database restarting under the service. Backends that cannot do this say so.
    async fn interrupt_sidecar(&self, name: &str, down_for: Duration) -> Result<(), ControlError> {
        let _ = (name, down_for);
        Err(ControlError(
            "this sandbox cannot make a sidecar refuse its clients".into(),
        ))
    }
    /// Stops the service and the sidecar `name`, starts the service while the sidecar is
    /// down and the sidecar `delay` later; `Ok(false)` when the service did not become
    /// healthy in time (a candidate's failure).
    async fn start_before_sidecar(
        &self,
        name: &str,
        delay: Duration,
    ) -> Result<bool, ControlError> {
        let _ = (name, delay);
        Err(ControlError(
            "this sandbox cannot hold a sidecar back".into(),
        ))
    }
    /// Peak memory of the service so far, in bytes.
    async fn peak_memory(&self) -> Option<u64>;
    /// The last `cap` bytes of the service's output, lossy UTF-8.
    async fn logs(&self, cap: usize) -> String;
    /// Whether the service is running now.
    async fn is_running(&self) -> bool;
    /// Builds stage `stage` of the submission's Dockerfile (its `--target`, under the same
    /// build limits and registries as the service's image), then runs `command` in a fresh
    /// container of it beside the sidecars (the service's environment and limits) and waits
    /// up to `timeout`. Backends that cannot do this say so.
    async fn exec_in_stage(
        &self,
        stage: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<StageRun, ControlError> {
        let _ = (stage, command, timeout);
        Err(ControlError(
            "this sandbox cannot build a stage of the submission".into(),
        ))
    }
    /// Runs `command` inside the service's container (its image, user and limits) and
    /// waits up to `timeout`. Backends that cannot do this say so.
    async fn exec(
        &self,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, ControlError> {
        let _ = (command, timeout);
        Err(ControlError(
            "this sandbox cannot run commands in the service".into(),
        ))
    }
}
