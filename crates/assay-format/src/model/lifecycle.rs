//! The `lifecycle` kind: operations on the service's container.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Band, Dur, Located, Step};

/// Operations on the service's container.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleCheck {
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    pub action: LifecycleAction,
    /// Limit for the action (time to exit after SIGTERM, start-up time).
    #[serde(default)]
    pub within: Option<Dur>,
    /// Peak memory limit (for `peak_memory`): `target` full credit, `floor` none, in MiB.
    #[serde(default)]
    pub memory_mib: Option<Band>,
    /// Steps after the action (persistence after a restart).
    #[serde(default)]
    pub after: Vec<Located<Step>>,
    /// The sidecar `database_restart` and `database_late` act on (default: the one named
    /// in `database.sidecar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<String>,
    /// How long the database refuses connections (`database_restart`) or starts after the
    /// service (`database_late`); default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_for: Option<Dur>,
    /// For `database_restart`: how long after the database accepts connections again the
    /// first `after` step may be retried until it holds (a pooled connection that went stale
    /// failing once is fair); default 15s. The other `after` steps must hold as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_within: Option<Dur>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    /// Stop with SIGTERM, start again, wait for health.
    Restart,
    /// SIGTERM and measure the time to exit (the service is started again afterwards).
    Sigterm,
    /// Judge the start-up time measured when the service first became healthy.
    Startup,
    /// Judge the peak memory seen so far.
    PeakMemory,
    /// The database drops every client connection and refuses new ones for `down_for`, then
    /// accepts them again, its data kept (the sidecar is not stopped); the service keeps
    /// running and must serve again within `recover_within` (`after` steps).
    DatabaseRestart,
    /// Stop the service and the database; start the service while the database refuses
    /// connections, the database `down_for` later; the service must become healthy.
    DatabaseLate,
}
