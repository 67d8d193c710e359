//! The `http` kind: steps (a request and what must hold of its response), shared by every
//! kind that sends requests; predicates, captures, crafted tokens.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::{ByteSize, Dur, Located};
use crate::Template;

/// One request and what must hold of its response.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub request: Request,
    #[serde(default)]
    pub expect: Expect,
    /// Variables taken from the response: `name: "$.json.path"` or `name: {header: X}`.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// Send the step again, up to `times` in all, while the variable `while` (captured by
    /// the step) is not null, e.g. to walk cursor pages.
    #[serde(default)]
    pub repeat: Option<Repeat>,
    /// Lesser readings accepted for partial credit when `expect` does not hold, tried in
    /// order; the check then earns the lowest credit accepted (never a critical failure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<Located<Lesser>>,
}

/// A lesser reading of a step or probe: what it answered instead, the credit that earns,
/// and why it is worth anything (shown in the evidence).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lesser {
    pub expect: Expect,
    /// Credit in 0..1 (exclusive) the check earns at most when this reading is taken.
    pub credit: f64,
    /// Why this reading earns some credit, e.g. "403 where 401 is asked".
    pub why: String,
}

/// Repetition of a step.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    pub times: u32,
    /// Stop once this captured variable is null.
    #[serde(default, rename = "while")]
    pub while_set: Option<String>,
}

/// An HTTP request. Strings are templates.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: String,
    /// Path and optional query, e.g. `/v1/accounts/{{ account }}`.
    pub path: Template,
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// Who sends it: a principal's name, or a crafted token.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// A JSON body (strings inside are templates; `"{{ x }}"` alone inserts x's JSON value).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A raw body, sent as is (with `Content-Type: application/json` unless headers say otherwise).
    #[serde(default)]
    pub body: Option<Template>,
    /// Pad the body to this many bytes (oversized-input checks).
    #[serde(default)]
    pub pad_to: Option<ByteSize>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// Who a request is sent as.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Auth {
    /// A principal's name: `auth: alice`.
    Principal(String),
    /// A crafted token for a principal: `auth: {token: alg-none, as: alice}`.
    Crafted(CraftedAuth),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CraftedAuth {
    pub token: TokenKind,
    /// The principal the token claims to be (default: the first principal).
    #[serde(default, rename = "as")]
    pub as_principal: Option<String>,
}

/// Tokens the engine can craft. `valid` is a correct token minted with the run's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// Minted with the run's secret: authenticates as the principal.
    Valid,
    /// No `Authorization` header at all.
    Missing,
    /// `Authorization: Bearer not-a-jwt`.
    Malformed,
    /// Header `alg: none`, no signature.
    AlgNone,
    /// `alg: None` (capitalised spelling).
    AlgNoneCapitalised,
    /// `alg: NONE`.
    AlgNoneUpper,
    /// A valid token with its signature removed.
    StrippedSignature,
    /// A valid token whose payload was changed after signing.
    TamperedPayload,
    /// Signed with another key.
    WrongKey,
    /// Signed correctly but expired an hour ago.
    Expired,
    /// Signed correctly, without `exp`.
    NoExp,
    /// Signed correctly for a user id that does not exist.
    UnknownSubject,
}

impl TokenKind {
    /// Every kind that must be refused with 401.
    pub const ATTACKS: [TokenKind; 11] = [
        TokenKind::Missing,
        TokenKind::Malformed,
        TokenKind::AlgNone,
        TokenKind::AlgNoneCapitalised,
        TokenKind::AlgNoneUpper,
        TokenKind::StrippedSignature,
        TokenKind::TamperedPayload,
        TokenKind::WrongKey,
        TokenKind::Expired,
        TokenKind::NoExp,
        TokenKind::UnknownSubject,
    ];

    pub fn id(self) -> &'static str {
        match self {
            TokenKind::Valid => "valid",
            TokenKind::Missing => "missing",
            TokenKind::Malformed => "malformed",
            TokenKind::AlgNone => "alg-none",
            TokenKind::AlgNoneCapitalised => "alg-none-capitalised",
            TokenKind::AlgNoneUpper => "alg-none-upper",
            TokenKind::StrippedSignature => "stripped-signature",
            TokenKind::TamperedPayload => "tampered-payload",
            TokenKind::WrongKey => "wrong-key",
            TokenKind::Expired => "expired",
            TokenKind::NoExp => "no-exp",
            TokenKind::UnknownSubject => "unknown-subject",
        }
    }
}

/// What must hold of a response. Every field is optional; all given must hold.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `201`, or a list of allowed statuses.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// Shorthand for a contract error: the status class is checked by `status`, and the
    /// body must be `{"error": {"code": CODE, "message": <string>}}`.
    #[serde(default)]
    pub error: Option<Template>,
    /// Header name (case-insensitive) → predicate.
    #[serde(default)]
    pub headers: BTreeMap<String, Predicate>,
    /// RFC 9535 JSONPath → predicate, applied to the first node selected (or the count
    /// of nodes with `count`).
    #[serde(default)]
    pub json: BTreeMap<String, Predicate>,
    /// Predicates on the raw body text.
    #[serde(default)]
    pub body: Vec<Predicate>,
    /// The whole body matches this shape: a name of `shapes:` or an inline shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<crate::Shape>,
    /// The response must arrive within this time.
    #[serde(default)]
    pub within: Option<Dur>,
}

/// A status or a set of statuses.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusSpec {
    One(u16),
    Any(Vec<u16>),
}

impl StatusSpec {
    pub fn allows(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::Any(v) => v.contains(&status),
        }
    }
}

/// A capture: a JSONPath into the body, or a header.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Capture {
    JsonPath(String),
    Header { header: String },
}

/// A predicate on a value. A plain scalar means `equals`; a map names one operator,
/// optionally with `not: true` is not offered — use the negated operators.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    Equals(serde_json::Value),
    NotEquals(serde_json::Value),
    OneOf(Vec<serde_json::Value>),
    Contains(Template),
    NotContains(Template),
    /// A regular expression (Rust `regex` syntax) the text must match.
    Matches(String),
    NotMatches(String),
    /// A type: `string`, `number`, `integer`, `boolean`, `null`, `array`, `object`,
    /// `uuid`, `rfc3339`, `money` (a string with exactly two decimals), `email`.
    Is(ValueType),
    /// The value (node, header) exists (`true`) or does not (`false`).
    Exists(bool),
    /// Number of nodes selected (JSONPath) or elements of an array.
    Count(u64),
    /// Length of a string or array.
    Length(u64),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    /// `is: [string, null]`: of one of these types.
    #[serde(rename = "is")]
    IsAnyOf(Vec<ValueType>),
    /// An array with the same elements as this list, in any order (duplicates ignored).
    Set(Vec<serde_json::Value>),
    /// An array holding each of these elements, anywhere.
    Includes(Vec<serde_json::Value>),
    /// The value matches a shape (a name of `shapes:` or an inline shape).
    Shape(crate::Shape),
    /// Absent, or the inner predicate holds.
    Optional(Box<Predicate>),
}

/// The operators a predicate map may name.
pub const PREDICATE_OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "one_of",
    "contains",
    "not_contains",
    "matches",
    "not_matches",
    "is",
    "exists",
    "count",
    "length",
    "gt",
    "gte",
    "lt",
    "lte",
    "set",
    "includes",
    "shape",
    "optional",
];

impl<'de> Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Predicate::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl Predicate {
    /// Parses a predicate from its JSON form: a scalar means `equals`, a map names one
    /// operator.
    pub fn from_value(value: serde_json::Value) -> Result<Predicate, String> {
        let serde_json::Value::Object(map) = value else {
            return Ok(Predicate::Equals(value));
        };
        if map.len() != 1 {
            return Err(format!(
                "a predicate names exactly one operator, found {}: use one of {}",
                map.len(),
                PREDICATE_OPERATORS.join(", ")
            ));
        }
        let Some((op, arg)) = map.into_iter().next() else {
            return Err("empty predicate".into());
        };
        let bad = |what: &str| format!("`{op}` takes {what}");
        let text = |arg: serde_json::Value| match arg {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            _ => Err(bad("a string")),
        };
        let list = |arg: serde_json::Value| match arg {
            serde_json::Value::Array(v) => Ok(v),
            _ => Err(bad("a list")),
        };
        let num = |arg: &serde_json::Value| arg.as_f64().ok_or_else(|| bad("a number"));
        let ty = |s: &str| {
            ValueType::parse(s).ok_or_else(|| {
                format!(
                    "unknown type `{s}`: use one of {}",
                    ValueType::NAMES.join(", ")
                )
            })
        };
        Ok(match op.as_str() {
            "equals" => Predicate::Equals(arg),
            "not_equals" => Predicate::NotEquals(arg),
            "one_of" => Predicate::OneOf(list(arg)?),
            "contains" => Predicate::Contains(Template(text(arg)?)),
            "not_contains" => Predicate::NotContains(Template(text(arg)?)),
            "matches" => Predicate::Matches(text(arg)?),
            "not_matches" => Predicate::NotMatches(text(arg)?),
            "is" => match arg {
                serde_json::Value::Array(v) if !v.is_empty() => Predicate::IsAnyOf(
                    v.into_iter()
                        .map(|t| text(t).and_then(|s| ty(&s)))
                        .collect::<Result<_, _>>()?,
                ),
                serde_json::Value::Array(_) => {
                    return Err(bad("a type or a non-empty list of types"));
                }
                other => Predicate::Is(ty(&text(other)?)?),
            },
            "exists" => Predicate::Exists(arg.as_bool().ok_or_else(|| bad("true or false"))?),
            "count" => Predicate::Count(arg.as_u64().ok_or_else(|| bad("a whole number"))?),
            "length" => Predicate::Length(arg.as_u64().ok_or_else(|| bad("a whole number"))?),
            "gt" => Predicate::Gt(num(&arg)?),
            "gte" => Predicate::Gte(num(&arg)?),
            "lt" => Predicate::Lt(num(&arg)?),
            "lte" => Predicate::Lte(num(&arg)?),
            "set" => Predicate::Set(list(arg)?),
            "includes" => Predicate::Includes(list(arg)?),
            "shape" => Predicate::Shape(crate::Shape::from_value(&arg)?),
            "optional" => Predicate::Optional(Box::new(Predicate::from_value(arg)?)),
            other => {
                return Err(format!(
                    "unknown predicate `{other}`: use one of {}",
                    PREDICATE_OPERATORS.join(", ")
                ));
            }
        })
    }
}

/// Types a value can be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Number,
    Integer,
    Boolean,
    Null,
    Array,
    Object,
    Uuid,
    Rfc3339,
    Money,
    Email,
}

impl ValueType {
    pub const NAMES: [&'static str; 11] = [
        "string", "number", "integer", "boolean", "null", "array", "object", "uuid", "rfc3339",
        "money", "email",
    ];

    /// The name it is written with.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Integer => "integer",
            ValueType::Boolean => "boolean",
            ValueType::Null => "null",
            ValueType::Array => "array",
            ValueType::Object => "object",
            ValueType::Uuid => "uuid",
            ValueType::Rfc3339 => "rfc3339",
            ValueType::Money => "money",
            ValueType::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => ValueType::String,
            "number" => ValueType::Number,
            "integer" => ValueType::Integer,
            "boolean" => ValueType::Boolean,
            "null" => ValueType::Null,
            "array" => ValueType::Array,
            "object" => ValueType::Object,
            "uuid" => ValueType::Uuid,
            "rfc3339" => ValueType::Rfc3339,
            "money" => ValueType::Money,
            "email" => ValueType::Email,
            _ => return None,
        })
    }
}
