//! The `repository` kind: one rule about the submitted repository.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Dur;

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
