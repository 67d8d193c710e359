//! The `growth` kind: how a request's latency grows with the data behind it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Band, Dur, Located, Step};

/// How a request's latency grows with the data behind it: grow the data step by step,
/// measure at two sizes, judge the ratio of medians (an N+1 pattern grows it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrowthCheck {
    /// Steps once, before growing (captures in scope below).
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// Steps run once per unit of growth; `{{ n }}` is the unit (1, 2, …).
    pub grow: Vec<Located<Step>>,
    /// The two sizes measured, smaller first (e.g. `[1, 50]`).
    pub sizes: Vec<u32>,
    /// The request measured; every sample must hold.
    pub measure: Step,
    /// Unmeasured requests before each size's samples.
    #[serde(default = "default_growth_warmup")]
    pub warmup: u32,
    /// Measured requests per size; the median is judged.
    #[serde(default = "default_growth_samples")]
    pub samples: u32,
    /// Median at the larger size / median at the smaller: `target` full credit, `floor` none.
    pub ratio: Band,
    /// A difference of medians this small passes whatever the ratio (timer noise).
    #[serde(default = "default_growth_allowance")]
    pub allowance: Dur,
}

fn default_growth_warmup() -> u32 {
    3
}

fn default_growth_samples() -> u32 {
    21
}

fn default_growth_allowance() -> Dur {
    Dur(Duration::from_millis(5))
}
