//! The `database` kind: SQL against the database sidecar after the suites ran.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Predicate;
use crate::Template;

/// SQL against the database sidecar after the suites ran.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseCheck {
    /// A query; its result is judged by `expect`.
    #[serde(default)]
    pub query: Option<Template>,
    #[serde(default)]
    pub expect: Option<RowsExpect>,
    /// Search every text-like column of every user table for these values; none may
    /// appear (e.g. a principal's plaintext password).
    #[serde(default)]
    pub nowhere: Vec<Template>,
    /// The forms of each `nowhere` value searched for (default: `plain` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<DigestForm>,
    /// Rows read per table at most by `nowhere`.
    #[serde(default = "default_scan_rows")]
    pub max_rows: u64,
}

fn default_scan_rows() -> u64 {
    100_000
}

/// A form in which a secret may be stored or answered: as is, as a fast unsalted digest
/// (hex), or base64.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DigestForm {
    Plain,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Base64,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsExpect {
    #[serde(default)]
    pub rows: Option<u64>,
    #[serde(default)]
    pub min_rows: Option<u64>,
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// Every row's column (by name) must satisfy the predicate.
    #[serde(default)]
    pub each: BTreeMap<String, Predicate>,
}
