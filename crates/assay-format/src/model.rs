//! The typed model of an assessment's YAML files. Strict: unknown keys are errors.
//!
//! Strings that may hold `{{ variables }}` are [`Template`]s; they are checked against the
//! variables in scope when the assessment is validated and filled in by the engine.

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
// assessment.yaml
// ---------------------------------------------------------------------------------------

/// `assessment.yaml`: the root of an assessment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentFile {
    /// Stable id, kebab-case, e.g. `ledger-api`.
    pub id: Located<String>,
    /// Version of the assessment (part of the resume key of batch runs).
    pub version: String,
    pub title: String,
    /// The candidate brief, a Markdown file relative to the assessment folder.
    pub brief: String,
    #[serde(default)]
    pub submission: SubmissionRules,
    pub service: ServiceContract,
    /// Containers started beside the service, by name (the name is their host name).
    #[serde(default)]
    pub sidecars: BTreeMap<String, Sidecar>,
    /// Names of secrets generated fresh for each run: `{{ secret.NAME }}`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Variables visible everywhere: `{{ NAME }}`.
    #[serde(default)]
    pub vars: BTreeMap<String, Template>,
    /// How the engine reaches the database sidecar for `database` checks.
    #[serde(default)]
    pub database: Option<DatabaseAccess>,
    /// How JWTs are minted for principals and attack tokens.
    #[serde(default)]
    pub jwt: Option<JwtSettings>,
    /// Users the engine registers and logs in once: `{{ alice.token }}`, `auth: alice`.
    #[serde(default)]
    pub principals: Option<Principals>,
    /// Shapes of JSON values, by name, reused by `shape: NAME` in any suite (e.g. the
    /// contract's error envelope, described once).
    #[serde(default)]
    pub shapes: BTreeMap<String, Located<crate::Shape>>,
    /// Role profiles: skill weights and pass marks.
    pub profiles: BTreeMap<String, ProfileSpec>,
    /// The profile used when `--profile` is not given.
    pub default_profile: Located<String>,
    /// How test mode (`ASSAY_TEST_MODE=1`) shortens load phases; they are never skipped.
    #[serde(default)]
    pub test_mode: TestMode,
    /// Suite files, relative to the assessment folder, run in this order.
    pub suites: Vec<Located<String>>,
}

/// The registries a submission's build reaches unless the assessment or settings say
/// otherwise: Debian's packages, PyPI and crates.io.
pub const DEFAULT_REGISTRIES: [&str; 4] = [
    ".debian.org",
    ".pypi.org",
    "files.pythonhosted.org",
    ".crates.io",
];

/// What a submission must contain and how it is built.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SubmissionRules {
    /// Path of the Dockerfile inside the submission.
    pub dockerfile: String,
    pub build_timeout: Dur,
    pub build_memory: ByteSize,
    /// What the build may write (its committed layers plus the running step's writable
    /// layer); over it the build is stopped and graded "did not build".
    pub build_disk: ByteSize,
    /// Processes one build step may run; reaching it stops the build.
    pub build_pids: u32,
    /// Build output kept as evidence (the last bytes) and shown live (the first bytes).
    pub build_output: ByteSize,
    pub context_limit: ByteSize,
    /// The package registries the build's steps may reach, as domains (a leading dot: and
    /// their subdomains); nothing else is reachable while the submission builds. Default:
    /// Debian's packages, PyPI and crates.io (`.debian.org`, `.pypi.org`,
    /// `files.pythonhosted.org`, `.crates.io`).
    pub registries: Vec<String>,
}

impl Default for SubmissionRules {
    fn default() -> Self {
        Self {
            dockerfile: "Dockerfile".into(),
            build_timeout: Dur(Duration::from_secs(600)),
            build_memory: ByteSize(2 << 30),
            build_disk: ByteSize(10 << 30),
            build_pids: 1024,
            build_output: ByteSize(64 << 10),
            context_limit: ByteSize(256 << 20),
            registries: DEFAULT_REGISTRIES.map(str::to_owned).to_vec(),
        }
    }
}

/// How the service is run and reached.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceContract {
    /// The TCP port the service listens on inside its container.
    pub port: u16,
    /// Environment given to the service; values are templates.
    #[serde(default)]
    pub env: BTreeMap<String, Template>,
    pub health: HealthCheck,
    /// Default time limit of one check.
    #[serde(default = "default_check_timeout")]
    pub check_timeout: Dur,
    /// Default time limit of one HTTP request.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: Dur,
    #[serde(default)]
    pub limits: SandboxLimits,
    /// The scheme of the `Authorization` header the engine sends for `auth:` (principals'
    /// tokens and crafted ones): `Bearer` (the default) or e.g. `Token`.
    #[serde(default = "default_auth_scheme")]
    pub auth_scheme: String,
}

fn default_auth_scheme() -> String {
    "Bearer".into()
}

fn default_check_timeout() -> Dur {
    Dur(Duration::from_secs(30))
}

fn default_request_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}

/// When the service counts as started.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Path answered with a 2xx once the service can serve requests.
    pub path: String,
    /// How long start-up may take.
    #[serde(default = "default_health_timeout")]
    pub timeout: Dur,
    #[serde(default = "default_health_interval")]
    pub interval: Dur,
}

fn default_health_timeout() -> Dur {
    Dur(Duration::from_secs(60))
}

fn default_health_interval() -> Dur {
    Dur(Duration::from_millis(250))
}

/// Resource limits and hardening of the service's sandbox. Defaults are strict; loosen
/// only what a task needs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxLimits {
    /// Memory, and memory+swap (no swap).
    pub memory: ByteSize,
    /// CPUs (fractions allowed).
    pub cpus: f64,
    pub pids: u32,
    /// Size of the tmpfs mounted at `/tmp`.
    pub tmp: ByteSize,
    /// Largest file the service may write (`fsize` ulimit).
    pub max_file: ByteSize,
    pub nofile: u32,
    /// Mount the root filesystem read-only (writes go to `/tmp`).
    pub read_only_root: bool,
    /// When the root is writable: the most the writable layer may grow.
    pub max_writable: ByteSize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory: ByteSize(512 << 20),
            cpus: 1.0,
            pids: 256,
            tmp: ByteSize(64 << 20),
            max_file: ByteSize(64 << 20),
            nofile: 4096,
            read_only_root: true,
            max_writable: ByteSize(256 << 20),
        }
    }
}

/// A container started beside the service.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// A local image (nothing is pulled), e.g. `assay/postgres:15`.
    pub image: String,
    #[serde(default)]
    pub env: BTreeMap<String, Template>,
    /// A command run inside the sidecar that exits 0 once it is ready.
    pub ready: Vec<String>,
    #[serde(default = "default_health_timeout")]
    pub ready_timeout: Dur,
    #[serde(default = "default_sidecar_memory")]
    pub memory: ByteSize,
}

fn default_sidecar_memory() -> ByteSize {
    ByteSize(512 << 20)
}

/// How `database` checks connect to a PostgreSQL sidecar.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseAccess {
    /// The sidecar's name.
    pub sidecar: String,
    #[serde(default = "default_pg_port")]
    pub port: u16,
    pub user: Template,
    pub password: Template,
    pub dbname: Template,
}

fn default_pg_port() -> u16 {
    5432
}

/// How the engine mints JWTs (for principals' forged tokens and attack tokens).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// The HMAC secret the service was given, usually `{{ secret.jwt }}`.
    pub secret: Template,
    /// The claim holding the user id.
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// Lifetime of tokens the engine mints.
    #[serde(default = "default_jwt_ttl")]
    pub ttl: Dur,
    /// Where minted and crafted tokens get their claims: `minted` (the default: the
    /// subject claim set to the principal's `id`) or `login` (the claims of the token the
    /// principal got at login, for services whose claim layout the assessment cannot know).
    #[serde(default)]
    pub claims: JwtClaims,
}

/// Where crafted tokens' claims come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JwtClaims {
    /// `{subject_claim: principal.id, iat, exp}`.
    #[default]
    Minted,
    /// The payload of the principal's own `token`, with `iat` and `exp` refreshed.
    Login,
}

fn default_subject_claim() -> String {
    "sub".into()
}

fn default_jwt_ttl() -> Dur {
    Dur(Duration::from_secs(3600))
}

/// Named users registered and logged in once per run, before the suites.
///
/// For each name, `{{ NAME.email }}` and `{{ NAME.password }}` are generated; the captures
/// of `register` and `login` become `{{ NAME.<capture> }}` (e.g. `{{ alice.token }}`), and
/// `auth: NAME` in a request sends `Authorization: Bearer {{ NAME.token }}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Principals {
    pub names: Vec<Located<String>>,
    /// Steps run for each principal to register it; `{{ principal.* }}` is in scope.
    pub register: Vec<Located<Step>>,
    /// Steps run after registering; must capture `token`.
    pub login: Vec<Located<Step>>,
}

/// A role profile as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub title: String,
    /// 0..=100.
    pub pass_mark: f64,
    /// Relative weight of each skill in the overall score.
    pub weights: BTreeMap<Skill, f64>,
    /// Why these weights (shown in docs).
    #[serde(default)]
    pub rationale: Option<String>,
}

/// How test mode shortens an assessment's long phases (never skips them).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TestMode {
    /// Multiplier on load warm-up and duration.
    pub load_time_scale: f64,
    /// Multiplier on the number of rows seeded for load checks.
    pub seed_scale: f64,
}

impl Default for TestMode {
    fn default() -> Self {
        Self {
            load_time_scale: 0.25,
            seed_scale: 0.1,
        }
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

// ----- HTTP ----------------------------------------------------------------------------

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

// ----- concurrent ----------------------------------------------------------------------

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

// ----- load ----------------------------------------------------------------------------

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

// ----- security ------------------------------------------------------------------------

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

// ----- database ------------------------------------------------------------------------

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

// ----- lifecycle -----------------------------------------------------------------------

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

// ----- repository ----------------------------------------------------------------------

/// A rule about the submitted repository. Exactly one key is set.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositoryCheck {
    /// A README exists and mentions each topic (any of the alternatives, case-insensitive).
    #[serde(default)]
    pub readme: Option<ReadmeRule>,
    /// The candidate's own tests exist: files matching any of these globs.
    #[serde(default)]
    pub tests: Option<Vec<String>>,
    /// The candidate's tests pass when run inside the service's container (its image, user,
    /// limits and environment, beside the sidecars), with the command for the detected
    /// language.
    #[serde(default)]
    pub run_tests: Option<RunTestsRule>,
    /// Schema migrations exist: files matching any of these globs, or SQL DDL in source.
    #[serde(default)]
    pub migrations: Option<Vec<String>>,
    /// Dockerfile practice.
    #[serde(default)]
    pub dockerfile: Option<DockerfileRule>,
    /// Git history quality.
    #[serde(default)]
    pub history: Option<HistoryRule>,
    /// Nothing of these kinds is tracked (build outputs, dependency folders).
    #[serde(default)]
    pub no_tracked: Option<Vec<String>>,
    /// The language and framework detected (always passes; evidence for the grader).
    #[serde(default)]
    pub stack: Option<StackRule>,
    /// The stack's dependencies are declared in its manifest and reproducible: a lockfile
    /// that holds every direct dependency, or each pinned to an exact version.
    #[serde(default)]
    pub dependencies: Option<DependenciesRule>,
    /// The schema is created by versioned migrations (ordered files, or a migration tool's
    /// layout) rather than DDL kept in the code.
    #[serde(default)]
    pub versioned_migrations: Option<VersionedMigrationsRule>,
}

/// How the stack's dependencies must be declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependenciesRule {
    /// Every manifest's direct dependencies are in a lockfile beside it (or above it), or
    /// pinned to exact versions; packages a Dockerfile installs inline are pinned; a
    /// distribution's packages count as pinned when the base image names a release.
    Locked,
}

/// Versioned migrations, and what a schema created another way earns.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionedMigrationsRule {
    /// When the schema is created by DDL in the code or by one unversioned schema file:
    /// `fail` (the contract asks for migrations) or `not_assessed` (the contract lets the
    /// stack create its schema however it likes). A schema the ORM creates from its models
    /// is always `not_assessed`; no schema found at all always fails.
    #[serde(default)]
    pub otherwise: Otherwise,
}

/// The outcome of a reading the rule does not ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Otherwise {
    #[default]
    Fail,
    NotAssessed,
}

/// How to run the candidate's own tests in the sandbox.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunTestsRule {
    /// Detected main language (`python`, `go`, `javascript`, …) → a shell command run with
    /// `sh -c` in the working directory of the stage the tests run in (the Dockerfile's
    /// `test` stage, the single-stage image, or the build stage the final image copies
    /// from). A language without a command is not assessed.
    pub commands: BTreeMap<String, String>,
    /// Time the tests may take.
    #[serde(default = "default_tests_timeout")]
    pub timeout: Dur,
}

fn default_tests_timeout() -> Dur {
    Dur(Duration::from_secs(120))
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadmeRule {
    /// Topic name → alternative words; each topic found earns its share.
    pub topics: BTreeMap<String, Vec<String>>,
    #[serde(default = "default_readme_words")]
    pub min_words: u32,
}

fn default_readme_words() -> u32 {
    80
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DockerfileRule {
    /// The final stage sets a non-root `USER` (and the built image agrees).
    NonRootUser,
    /// Base images are pinned (a tag other than `latest`, or a digest).
    PinnedBase,
    /// A `.dockerignore` exists.
    Dockerignore,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRule {
    /// Commits expected for full credit.
    #[serde(default = "default_min_commits")]
    pub min_commits: u32,
    /// Share of subjects that must be meaningful (not `wip`, `fix`, `.`, `update`, …).
    #[serde(default = "default_message_quality")]
    pub message_quality: f64,
}

fn default_min_commits() -> u32 {
    3
}

fn default_message_quality() -> f64 {
    0.7
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackRule {
    /// Frameworks recognised as such (e.g. `flask`, `fastapi`, `axum`, `express`).
    #[serde(default)]
    pub frameworks: Vec<String>,
}

// ----- never ---------------------------------------------------------------------------

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

// ----- growth --------------------------------------------------------------------------

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
