//! The `never` kind: rules no response of the whole run may break.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Template;

/// Rules no response of the whole run may break, judged after every suite ran over a
/// bounded summary of every exchange the engine sent. At least one rule is set.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeverCheck {
    /// No response has a 5xx status.
    #[serde(default)]
    pub server_error: bool,
    /// No body shows a stack trace, SQL text or a source path (the leakage probe's patterns).
    #[serde(default)]
    pub leak: bool,
    /// Extra regular expressions no body may match.
    #[serde(default)]
    pub forbid: Vec<String>,
    /// Secrets no body may contain: as is, or as their MD5/SHA-1/SHA-256/SHA-512 hex or
    /// base64 (templates over global variables and principals, e.g. `{{ alice.password }}`).
    #[serde(default)]
    pub reveal: Vec<Template>,
    /// No body contains a password hash string (bcrypt, argon2, scrypt, PBKDF2).
    #[serde(default)]
    pub hashes: bool,
}
