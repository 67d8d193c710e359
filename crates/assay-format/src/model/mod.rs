//! The typed model of an assessment's YAML files. Strict: unknown keys are errors.
//!
//! Strings that may hold `{{ variables }}` are [`Template`]s; they are checked against the
//! variables in scope when the assessment is validated and filled in by the engine.
//!
//! Here: a suite file, its `Check` (the common fields and one key per kind) and the small
//! value types; `assessment.yaml` in `assessment`, and each check kind's YAML type in a module
//! of its own (`http` also holds the step, request and predicate every kind that sends
//! requests shares). Everything is re-exported here, and from here by the crate's root.

mod assessment;
mod concurrent;
mod database;
mod growth;
mod http;
mod lifecycle;
mod load;
mod never;
mod repository;
mod security;

pub use assessment::*;
pub use concurrent::*;
pub use database::*;
pub use growth::*;
pub use http::*;
pub use lifecycle::*;
pub use load::*;
pub use never::*;
pub use repository::*;
pub use security::*;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use assay_model::ByteSize;
use assay_model::{Skill, Visibility};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Template;

// ---------------------------------------------------------------------------------------
// Small value types
// ---------------------------------------------------------------------------------------

/// A 1-based position in a YAML file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Loc {
    pub line: u64,
    pub column: u64,
}

/// A value with the position it was written at, for located diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Located<T> {
    pub value: T,
    #[serde(skip)]
    pub loc: Loc,
}

impl<T> Located<T> {
    pub fn new(value: T) -> Self {
        Self {
            value,
            loc: Loc::default(),
        }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Self {
            value: spanned.value,
            loc: Loc {
                line: spanned.referenced.line(),
                column: spanned.referenced.column(),
            },
        })
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

/// A duration written as `250ms`, `10s`, `2m`, `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration: write e.g. `500ms`, `10s`, `2m`"))?;
        let secs = match unit.trim() {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => {
                return Err(format!(
                    "`{s}` has no unit: write e.g. `500ms`, `10s`, `2m`, `1h`"
                ));
            }
        };
        if !secs.is_finite() || !(0.0..=7.0 * 24.0 * 3600.0).contains(&secs) {
            return Err(format!("`{s}` is out of range"));
        }
        Ok(Dur(Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Dur::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
            "description": "A duration such as `500ms`, `10s`, `2m`, `1h`."
        })
    }
}

// ---------------------------------------------------------------------------------------
// Suite files
// ---------------------------------------------------------------------------------------

/// A suite file: checks run in order against one running service.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Suite id, unique in the assessment.
    pub suite: Located<String>,
    pub title: String,
    /// Default visibility of the suite's checks.
    #[serde(default)]
    pub visibility: Visibility,
    /// Suite variables: evaluated once when the suite starts (generators allowed).
    #[serde(default)]
    pub vars: BTreeMap<String, Template>,
    /// Steps run once before the checks; their captures are visible to every check.
    #[serde(default)]
    pub setup: Vec<Located<Step>>,
    // The checks as written; loading moves them, validated, into `LoadedSuite::checks`, so
    // nothing after loading sees a YAML check. (A `//` comment: doc comments reach the schema.)
    pub(crate) checks: Vec<Located<Check>>,
}

/// One check. Exactly one of the kind keys (`http`, `concurrent`, `load`, `security`,
/// `database`, `lifecycle`, `repository`) is set.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Unique in the assessment, kebab-case.
    pub id: Located<String>,
    pub title: String,
    /// The skills this check evidences, with weights (> 0). At least one.
    pub skills: Located<BTreeMap<Skill, f64>>,
    /// Skills whose score a failure of this check caps at 60, for a defect that alone
    /// disqualifies (e.g. `critical: [security]` on SQL injection). Each must be in `skills`.
    #[serde(default)]
    pub critical: Vec<Skill>,
    /// Overrides the suite's visibility.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Overrides the service's check timeout.
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Checks that must pass first; otherwise this one is skipped, naming them.
    #[serde(default)]
    pub needs: Vec<Located<String>>,
    /// Check variables, evaluated when the check starts.
    #[serde(default)]
    pub vars: BTreeMap<String, Template>,
    /// Why the check exists, for reviewers (which contract rule it tests).
    #[serde(default)]
    pub rule: Option<String>,

    #[serde(default)]
    pub http: Option<Vec<Located<Step>>>,
    #[serde(default)]
    pub concurrent: Option<ConcurrentCheck>,
    #[serde(default)]
    pub load: Option<LoadCheck>,
    #[serde(default)]
    pub security: Option<SecurityCheck>,
    #[serde(default)]
    pub database: Option<DatabaseCheck>,
    #[serde(default)]
    pub lifecycle: Option<LifecycleCheck>,
    #[serde(default)]
    pub repository: Option<RepositoryCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never: Option<NeverCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<GrowthCheck>,
}

/// The kind keys of a YAML check, borrowed, for validation (which reports a check without
/// exactly one); after loading, a check is a [`crate::CheckSpec`] with one
/// [`crate::CheckKind`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum KindKey<'a> {
    Http(&'a [Located<Step>]),
    Concurrent(&'a ConcurrentCheck),
    Load(&'a LoadCheck),
    Security(&'a SecurityCheck),
    Database(&'a DatabaseCheck),
    Lifecycle(&'a LifecycleCheck),
    Repository(&'a RepositoryCheck),
    Never(&'a NeverCheck),
    Growth(&'a GrowthCheck),
}

impl KindKey<'_> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            KindKey::Http(_) => "http",
            KindKey::Concurrent(_) => "concurrent",
            KindKey::Load(_) => "load",
            KindKey::Security(_) => "security",
            KindKey::Database(_) => "database",
            KindKey::Lifecycle(_) => "lifecycle",
            KindKey::Repository(_) => "repository",
            KindKey::Never(_) => "never",
            KindKey::Growth(_) => "growth",
        }
    }
}

impl Check {
    /// Every kind key that is set (validation requires exactly one).
    pub(crate) fn kinds(&self) -> Vec<KindKey<'_>> {
        let mut v = Vec::new();
        if let Some(x) = &self.http {
            v.push(KindKey::Http(x));
        }
        if let Some(x) = &self.concurrent {
            v.push(KindKey::Concurrent(x));
        }
        if let Some(x) = &self.load {
            v.push(KindKey::Load(x));
        }
        if let Some(x) = &self.security {
            v.push(KindKey::Security(x));
        }
        if let Some(x) = &self.database {
            v.push(KindKey::Database(x));
        }
        if let Some(x) = &self.lifecycle {
            v.push(KindKey::Lifecycle(x));
        }
        if let Some(x) = &self.repository {
            v.push(KindKey::Repository(x));
        }
        if let Some(x) = &self.never {
            v.push(KindKey::Never(x));
        }
        if let Some(x) = &self.growth {
            v.push(KindKey::Growth(x));
        }
        v
    }

    /// The first kind key set (the one kind of a valid check).
    pub(crate) fn kind(&self) -> Option<KindKey<'_>> {
        self.kinds().into_iter().next()
    }
}
