//! `assessment.yaml`: the root of an assessment, its submission rules, service contract,
//! sandbox limits, sidecars, JWT settings, principals and test mode.

use std::collections::BTreeMap;
use std::time::Duration;

use assay_model::Skill;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ByteSize, Dur, Located, Step};
use crate::Template;

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
