//! The `security` kind: one probe (auth matrix, ownership, injection, leakage, rate limit,
//! headers, secrets scan).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Dur, Lesser, Located, Request, Step, TokenKind};

/// One security probe. Exactly one key is set.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityCheck {
    /// Every endpoint without a token and with every attack token gets 401.
    #[serde(default)]
    pub auth_matrix: Option<AuthMatrix>,
    /// A second principal cannot read or act on the first one's objects.
    #[serde(default)]
    pub ownership: Option<Ownership>,
    /// SQL injection judged by error, boolean and time oracles against baselines.
    #[serde(default)]
    pub injection: Option<Injection>,
    /// Malformed and oversized inputs leak no stack traces, SQL or paths.
    #[serde(default)]
    pub leakage: Option<Leakage>,
    /// Repeated attempts are refused with 429 after a limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Advisory response headers (low weight).
    #[serde(default)]
    pub headers: Option<SecurityHeaders>,
    /// Secrets in the repository's working tree and history.
    #[serde(default)]
    pub secrets: Option<SecretsScan>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthMatrix {
    /// Steps to create objects the endpoints refer to.
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    pub endpoints: Vec<Request>,
    /// Token kinds tried (default: every attack kind).
    #[serde(default)]
    pub tokens: Option<Vec<TokenKind>>,
    /// The status every attempt must get.
    #[serde(default = "default_unauthorized")]
    pub expect_status: u16,
    /// Lesser readings accepted for partial credit (e.g. 403 for 0.5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<Located<Lesser>>,
}

fn default_unauthorized() -> u16 {
    401
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    /// Steps as the owner creating the objects (captures in scope below).
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// Requests sent as the intruder (their `auth` is replaced by the intruder).
    pub requests: Vec<Request>,
    pub intruder: String,
    /// Statuses that count as refusal (e.g. `[404]`, or `[403, 404]`).
    pub expect_status: Vec<u16>,
    /// Steps after, checking nothing changed.
    #[serde(default)]
    pub after: Vec<Located<Step>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// The request with `{{ payload }}` where input goes.
    pub request: Request,
    /// A harmless value for the baseline.
    pub benign: String,
    /// Oracles used (default: all).
    #[serde(default)]
    pub oracles: Option<Vec<Oracle>>,
    /// Delay the time oracle asks the database for.
    #[serde(default = "default_sleep")]
    pub sleep: Dur,
}

fn default_sleep() -> Dur {
    Dur(Duration::from_secs(2))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Oracle {
    /// SQL syntax errors surface (error text, or status differs from baseline and from a
    /// balanced-quote control).
    Error,
    /// A true condition and a false condition give different answers.
    Boolean,
    /// `pg_sleep` delays the answer.
    Time,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leakage {
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// Requests with malformed or oversized input.
    pub requests: Vec<Request>,
    /// Extra forbidden regexes besides the built-in ones (stack traces, SQL, paths).
    #[serde(default)]
    pub forbid: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default)]
    pub before: Vec<Located<Step>>,
    /// The request repeated (failing attempts).
    pub request: Request,
    /// Attempts allowed before refusal.
    pub allowed: u32,
    #[serde(default = "default_429")]
    pub expect_status: u16,
    /// A header the refusal must carry (e.g. `Retry-After`).
    #[serde(default)]
    pub expect_header: Option<String>,
    /// A request that must still be refused after the limit (e.g. the right password).
    #[serde(default)]
    pub still_refused: Option<Request>,
    /// A request for another identity that must not be affected.
    #[serde(default)]
    pub unaffected: Option<Step>,
}

fn default_429() -> u16 {
    429
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityHeaders {
    pub request: Request,
    /// Header names expected (credit is the fraction present).
    pub expect: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsScan {
    /// Scan commits in history too (not just the working tree).
    #[serde(default = "default_true")]
    pub history: bool,
    /// A tracked file with one of these names is a finding (e.g. `.env`).
    #[serde(default)]
    pub forbidden_files: Vec<String>,
}

fn default_true() -> bool {
    true
}
