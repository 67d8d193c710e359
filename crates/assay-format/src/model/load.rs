//! The `load` kind: a load phase after optional seeding, its mix, thresholds and scaling.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Dur, Located, Request, StatusSpec, Step};
use crate::Template;

/// A load phase, optionally after seeding data.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadCheck {
    /// Steps before seeding (e.g. open an account and capture it).
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// Data to create first, through the API or the database.
    #[serde(default)]
    pub seed: Option<Seed>,
    /// `open` (arrival rate, the default) or `closed` (concurrency).
    #[serde(default)]
    pub model: LoadModelKind,
    /// Requests per second (open model).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Connections (open model) or virtual users (closed model).
    #[serde(default = "default_connections")]
    pub connections: u32,
    #[serde(default = "default_warmup")]
    pub warmup: Dur,
    pub duration: Dur,
    /// The requests sent, with relative weights.
    pub mix: Vec<MixEntry>,
    /// Credit: 1 at or better than every target, 0 at or past a floor, linear between.
    pub thresholds: Thresholds,
    /// Judge how latency scales with data size instead of absolute figures.
    #[serde(default)]
    pub scaling: Option<Scaling>,
}

fn default_connections() -> u32 {
    16
}

fn default_warmup() -> Dur {
    Dur(Duration::from_secs(2))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadModelKind {
    #[default]
    Open,
    Closed,
}

/// Seeding data before a load phase: through the API as fast as the service allows
/// (`request`), or straight into the database (`sql`) where going through the API would
/// take too long. Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// How many rows: the times `request` is sent, or `{{ count }}` in `sql` (scaled down
    /// in test mode by `test_mode.seed_scale`).
    pub count: u64,
    /// Requests in flight at once (`request` only).
    #[serde(default = "default_connections")]
    pub concurrency: u32,
    /// Through the API: sent `count` times; `{{ n }}` is the request's index.
    #[serde(default)]
    pub request: Option<Request>,
    /// Through the database: SQL run once against the assessment's `database` sidecar
    /// (e.g. `INSERT … SELECT … FROM generate_series(1, {{ count }})`). A statement the
    /// submission's schema cannot take fails the check; the submission owns its schema.
    #[serde(default)]
    pub sql: Option<Template>,
    /// Statuses that count as success (default: any 2xx; `request` only).
    #[serde(default)]
    pub expect_status: Option<StatusSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixEntry {
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// A label for the per-request breakdown.
    pub name: String,
    pub request: Request,
}

fn default_weight() -> u32 {
    1
}

/// Latency and error thresholds: `target` earns full credit, `floor` none.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default)]
    pub p50_ms: Option<Band>,
    #[serde(default)]
    pub p95_ms: Option<Band>,
    #[serde(default)]
    pub p99_ms: Option<Band>,
    /// Fraction of requests that failed (transport errors, 5xx, unexpected statuses).
    #[serde(default)]
    pub error_rate: Option<Band>,
    /// Requests per second achieved (higher is better).
    #[serde(default)]
    pub min_rps: Option<Band>,
}

/// A graded band: full credit at `target`, none at `floor`, linear in between.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub target: f64,
    pub floor: f64,
}

/// The same request measured at two data sizes; judged on the ratio of p95s.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// The request at the small size (e.g. the first page).
    pub small: Request,
    /// The request at the large size (e.g. a page deep in the history).
    pub large: Request,
    /// Ratio large/small of p95 latency: `target` full credit, `floor` none.
    pub ratio: Band,
}
