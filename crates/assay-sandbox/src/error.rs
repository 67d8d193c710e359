//! The sandbox's error type: what stops assay from grading at all (as opposed to a
//! submission's failure, which is a graded [`assay_model::SandboxFailure`]).

use std::path::PathBuf;

/// Why the sandbox could not do its job. A submission that does not build, crashes or never
/// becomes healthy is NOT an error: it is a [`assay_model::SandboxFailure`] in the report.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Docker cannot be reached, or speaks an API too old for assay. The message is one
    /// sentence saying what to do; the CLI maps this to its "infrastructure" exit code.
    #[error("{message}")]
    Unavailable { message: String },

    /// A Docker call failed in a way that is not the submission's doing.
    #[error("Docker call `{call}` failed: {message}")]
    Docker {
        call: &'static str,
        /// The HTTP status the daemon answered with, when it answered.
        status: Option<u16>,
        message: String,
    },

    /// A Docker call or a wait ran past its time limit.
    #[error("Docker call `{call}` did not finish within {seconds} s")]
    Timeout { call: &'static str, seconds: u64 },

    /// The run's network could not be firewalled off from the grading host.
    #[error(
        "cannot firewall the sandbox network from the grading host ({detail}): assay must run as \
         root with iptables (and ip6tables) installed"
    )]
    Firewall { detail: String },

    /// An image assay itself needs (base image, sidecar image) could not be made.
    #[error("{message}")]
    Images { message: String },

    /// A sidecar (e.g. the database) never passed its readiness command.
    #[error("sidecar `{name}` did not become ready within {seconds} s: {detail}")]
    SidecarNotReady {
        name: String,
        seconds: u64,
        detail: String,
    },

    /// A sidecar's outage command (refusing or accepting its clients again) failed.
    #[error("sidecar `{name}` did not {what} connections: {detail}")]
    SidecarOutage {
        name: String,
        what: &'static str,
        detail: String,
    },

    /// The caller asked for something impossible (bad run id, unknown image, ...).
    #[error("invalid sandbox request: {0}")]
    Invalid(String),

    /// A run id is already used by resources of a live assay process.
    #[error("run id `{0}` is already in use by a live run")]
    RunIdInUse(String),

    /// Reading the submission or writing scratch files failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SandboxError {
    /// True when the host is at fault (Docker down or too old, no iptables/root, a Docker
    /// call hanging): nothing was graded and the operator must act. The CLI maps these to
    /// its infrastructure exit code.
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self,
            SandboxError::Unavailable { .. }
                | SandboxError::Timeout { .. }
                | SandboxError::Firewall { .. }
                | SandboxError::Images { .. }
        )
    }

    /// True for a Docker answer of 404 (no such container, image, network, volume).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            SandboxError::Docker {
                status: Some(404),
                ..
            }
        )
    }

    /// A filesystem error at `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SandboxError::Io {
            path: path.into(),
            source,
        }
    }
}
