//! The `concurrent` kind: copies of requests released together behind a barrier, and what
//! must hold of the race.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Located, Request, Step};
use crate::Template;

/// Copies of requests released together behind a barrier, then follow-up steps.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcurrentCheck {
    /// Steps before the race (their captures are in scope for the race and after).
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// Groups of identical requests, all released at once. `{{ copy }}` is the copy's index.
    pub race: Vec<RaceGroup>,
    /// What must hold of the race's responses.
    #[serde(default)]
    pub expect: RaceExpect,
    /// Steps after the race; `{{ race.GROUP.status.NNN }}` counts responses with that status.
    #[serde(default)]
    pub after: Vec<Located<Step>>,
    /// Decimal comparisons on captured values after the race.
    #[serde(default)]
    pub verify: Vec<Located<Comparison>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RaceGroup {
    /// Name used in `{{ race.NAME.status.201 }}`.
    pub name: String,
    pub copies: u32,
    pub request: Request,
}

/// Aggregate expectations over all responses of the race.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RaceExpect {
    /// Every response's status is one of these.
    #[serde(default)]
    pub statuses: Option<Vec<u16>>,
    /// Exactly this many responses per status, e.g. `{201: 1}`.
    #[serde(default)]
    pub exactly: BTreeMap<u16, u32>,
    /// A JSONPath whose values must all be equal across 2xx responses (one effect).
    #[serde(default)]
    pub same: Option<String>,
    /// A JSONPath whose values must be distinct across 2xx responses.
    #[serde(default)]
    pub distinct: Option<String>,
}

/// `left OP right`, both decimal expressions over variables (`+ - *`, parentheses).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub left: Template,
    pub op: CompareOp,
    pub right: Template,
    /// What this comparison means, for the evidence.
    #[serde(default)]
    pub says: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CompareOp {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}
