//! Checks after validation: a closed [`CheckKind`] instead of the YAML model's optional keys.
//!
//! The YAML model ([`Check`], [`SecurityCheck`], [`RepositoryCheck`]) has one optional key per
//! kind, probe and rule, so that serde, the JSON Schema and the located diagnostics stay as
//! they are. Validation reports a check without exactly one kind (or a security check without
//! exactly one probe, a repository check without exactly one rule); [`crate::load`] then
//! turns every check into a [`CheckSpec`], and nothing after loading sees an optional kind.
//! Facts that differ by kind are `match`es here, so a new kind is pointed to by the compiler.

use std::collections::BTreeMap;

use assay_model::{Skill, Visibility};

use crate::Template;
use crate::model::*;

/// A validated check: what every check has, and its one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    pub common: CheckCommon,
    pub kind: CheckKind,
}

/// What every check has, whatever its kind (the keys of [`Check`] besides the kind's).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckCommon {
    /// Unique in the assessment, kebab-case.
    pub id: Located<String>,
    pub title: String,
    /// The skills this check evidences, with weights (> 0).
    pub skills: Located<BTreeMap<Skill, f64>>,
    /// Skills whose score a failure of this check caps.
    pub critical: Vec<Skill>,
    /// Overrides the suite's visibility.
    pub visibility: Option<Visibility>,
    /// Overrides the service's check timeout.
    pub timeout: Option<Dur>,
    /// Checks that must pass first.
    pub needs: Vec<Located<String>>,
    /// Check variables, evaluated when the check starts.
    pub vars: BTreeMap<String, Template>,
    /// Why the check exists, for reviewers.
    pub rule: Option<String>,
}

/// The one kind of a validated check.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "checks are built once per load, a few hundred at most; unboxed, the engine matches them directly"
)]
pub enum CheckKind {
    Http(Vec<Located<Step>>),
    Concurrent(ConcurrentCheck),
    Load(LoadCheck),
    Security(SecurityProbe),
    Database(DatabaseCheck),
    Lifecycle(LifecycleCheck),
    Repository(RepositoryRule),
    Never(NeverCheck),
    Growth(GrowthCheck),
}

/// The one probe of a security check.
#[derive(Debug, Clone, PartialEq)]
pub enum SecurityProbe {
    AuthMatrix(AuthMatrix),
    Ownership(Ownership),
    Injection(Injection),
    Leakage(Leakage),
    /// Boxed: by far the largest probe.
    RateLimit(Box<RateLimit>),
    Headers(SecurityHeaders),
    Secrets(SecretsScan),
}

/// The one rule of a repository check.
#[derive(Debug, Clone, PartialEq)]
pub enum RepositoryRule {
    Readme(ReadmeRule),
    Tests(Vec<String>),
    RunTests(RunTestsRule),
    Migrations(Vec<String>),
    Dockerfile(DockerfileRule),
    History(HistoryRule),
    NoTracked(Vec<String>),
    Stack(StackRule),
    Dependencies(DependenciesRule),
    VersionedMigrations(VersionedMigrationsRule),
}

impl CheckKind {
    /// The kind's key in a suite file.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Http(_) => "http",
            CheckKind::Concurrent(_) => "concurrent",
            CheckKind::Load(_) => "load",
            CheckKind::Security(_) => "security",
            CheckKind::Database(_) => "database",
            CheckKind::Lifecycle(_) => "lifecycle",
            CheckKind::Repository(_) => "repository",
            CheckKind::Never(_) => "never",
            CheckKind::Growth(_) => "growth",
        }
    }

    /// The check measures time on the grading machine (a load phase, a latency growth): it
    /// holds a performance lane alone, after the machine's calibration.
    pub fn measures_time(&self) -> bool {
        match self {
            CheckKind::Load(_) | CheckKind::Growth(_) => true,
            CheckKind::Http(_)
            | CheckKind::Concurrent(_)
            | CheckKind::Security(_)
            | CheckKind::Database(_)
            | CheckKind::Lifecycle(_)
            | CheckKind::Repository(_)
            | CheckKind::Never(_) => false,
        }
    }

    /// The check is judged once over the whole run, after every suite (`never`), rather
    /// than in its place.
    pub fn is_run_wide(&self) -> bool {
        match self {
            CheckKind::Never(_) => true,
            CheckKind::Http(_)
            | CheckKind::Concurrent(_)
            | CheckKind::Load(_)
            | CheckKind::Security(_)
            | CheckKind::Database(_)
            | CheckKind::Lifecycle(_)
            | CheckKind::Repository(_)
            | CheckKind::Growth(_) => false,
        }
    }

    /// What the check needs of the run: repository rules and the secrets scan read files
    /// only (running the candidate's tests excepted), so they run even when the submission
    /// did not build; database checks need the sidecar but not the service; everything else
    /// talks to the service.
    pub fn needs(&self) -> Needs {
        match self {
            // The candidate's tests run in the service's container.
            CheckKind::Repository(RepositoryRule::RunTests(_)) => Needs::Service,
            CheckKind::Repository(_) | CheckKind::Security(SecurityProbe::Secrets(_)) => {
                Needs::Files
            }
            CheckKind::Database(_) => Needs::Sandbox,
            CheckKind::Http(_)
            | CheckKind::Concurrent(_)
            | CheckKind::Load(_)
            | CheckKind::Security(_)
            | CheckKind::Lifecycle(_)
            | CheckKind::Never(_)
            | CheckKind::Growth(_) => Needs::Service,
        }
    }
}

/// What a check needs of the run to be judged, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    /// The submission's files only.
    Files,
    /// The sandbox (a sidecar, or the service's image), not the running service.
    Sandbox,
    /// The running service.
    Service,
}

impl CheckSpec {
    /// See [`CheckKind::measures_time`].
    pub fn measures_time(&self) -> bool {
        self.kind.measures_time()
    }
}

/// Why a YAML check is not one closed kind (reported by validation; see [`Check::kinds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotOneKind {
    /// The kind keys set, none or several.
    Kinds(Vec<&'static str>),
    /// A security check sets no probe or several.
    Probes,
    /// A repository check sets no rule or several.
    Rules,
}

impl Check {
    /// The validated form: its one kind, probe or rule, or which of them is not one.
    pub fn into_spec(self) -> Result<CheckSpec, NotOneKind> {
        let names: Vec<&'static str> = self.kinds().iter().map(|k| k.name()).collect();
        let common = CheckCommon {
            id: self.id,
            title: self.title,
            skills: self.skills,
            critical: self.critical,
            visibility: self.visibility,
            timeout: self.timeout,
            needs: self.needs,
            vars: self.vars,
            rule: self.rule,
        };
        let mut kinds = Vec::with_capacity(1);
        if let Some(x) = self.http {
            kinds.push(CheckKind::Http(x));
        }
        if let Some(x) = self.concurrent {
            kinds.push(CheckKind::Concurrent(x));
        }
        if let Some(x) = self.load {
            kinds.push(CheckKind::Load(x));
        }
        if let Some(x) = self.security {
            kinds.push(CheckKind::Security(
                x.into_probe().ok_or(NotOneKind::Probes)?,
            ));
        }
        if let Some(x) = self.database {
            kinds.push(CheckKind::Database(x));
        }
        if let Some(x) = self.lifecycle {
            kinds.push(CheckKind::Lifecycle(x));
        }
        if let Some(x) = self.repository {
            kinds.push(CheckKind::Repository(
                x.into_rule().ok_or(NotOneKind::Rules)?,
            ));
        }
        if let Some(x) = self.never {
            kinds.push(CheckKind::Never(x));
        }
        if let Some(x) = self.growth {
            kinds.push(CheckKind::Growth(x));
        }
        match (kinds.pop(), kinds.is_empty()) {
            (Some(kind), true) => Ok(CheckSpec { common, kind }),
            _ => Err(NotOneKind::Kinds(names)),
        }
    }
}

impl From<CheckSpec> for Check {
    /// Back to the YAML model (for the candidate kit), the kind's key set.
    fn from(spec: CheckSpec) -> Check {
        let CheckCommon {
            id,
            title,
            skills,
            critical,
            visibility,
            timeout,
            needs,
            vars,
            rule,
        } = spec.common;
        let mut check = Check {
            id,
            title,
            skills,
            critical,
            visibility,
            timeout,
            needs,
            vars,
            rule,
            http: None,
            concurrent: None,
            load: None,
            security: None,
            database: None,
            lifecycle: None,
            repository: None,
            never: None,
            growth: None,
        };
        match spec.kind {
            CheckKind::Http(x) => check.http = Some(x),
            CheckKind::Concurrent(x) => check.concurrent = Some(x),
            CheckKind::Load(x) => check.load = Some(x),
            CheckKind::Security(x) => check.security = Some(x.into()),
            CheckKind::Database(x) => check.database = Some(x),
            CheckKind::Lifecycle(x) => check.lifecycle = Some(x),
            CheckKind::Repository(x) => check.repository = Some(x.into()),
            CheckKind::Never(x) => check.never = Some(x),
            CheckKind::Growth(x) => check.growth = Some(x),
        }
        check
    }
}

impl SecurityCheck {
    /// Its one probe, or `None` when it sets none or several.
    pub fn into_probe(self) -> Option<SecurityProbe> {
        let mut probes = Vec::with_capacity(1);
        if let Some(x) = self.auth_matrix {
            probes.push(SecurityProbe::AuthMatrix(x));
        }
        if let Some(x) = self.ownership {
            probes.push(SecurityProbe::Ownership(x));
        }
        if let Some(x) = self.injection {
            probes.push(SecurityProbe::Injection(x));
        }
        if let Some(x) = self.leakage {
            probes.push(SecurityProbe::Leakage(x));
        }
        if let Some(x) = self.rate_limit {
            probes.push(SecurityProbe::RateLimit(Box::new(x)));
        }
        if let Some(x) = self.headers {
            probes.push(SecurityProbe::Headers(x));
        }
        if let Some(x) = self.secrets {
            probes.push(SecurityProbe::Secrets(x));
        }
        one(probes)
    }
}

impl From<SecurityProbe> for SecurityCheck {
    fn from(probe: SecurityProbe) -> SecurityCheck {
        let mut s = SecurityCheck {
            auth_matrix: None,
            ownership: None,
            injection: None,
            leakage: None,
            rate_limit: None,
            headers: None,
            secrets: None,
        };
        match probe {
            SecurityProbe::AuthMatrix(x) => s.auth_matrix = Some(x),
            SecurityProbe::Ownership(x) => s.ownership = Some(x),
            SecurityProbe::Injection(x) => s.injection = Some(x),
            SecurityProbe::Leakage(x) => s.leakage = Some(x),
            SecurityProbe::RateLimit(x) => s.rate_limit = Some(*x),
            SecurityProbe::Headers(x) => s.headers = Some(x),
            SecurityProbe::Secrets(x) => s.secrets = Some(x),
        }
        s
    }
}

impl RepositoryCheck {
    /// Its one rule, or `None` when it sets none or several.
    pub fn into_rule(self) -> Option<RepositoryRule> {
        let mut rules = Vec::with_capacity(1);
        if let Some(x) = self.readme {
            rules.push(RepositoryRule::Readme(x));
        }
        if let Some(x) = self.tests {
            rules.push(RepositoryRule::Tests(x));
        }
        if let Some(x) = self.run_tests {
            rules.push(RepositoryRule::RunTests(x));
        }
        if let Some(x) = self.migrations {
            rules.push(RepositoryRule::Migrations(x));
        }
        if let Some(x) = self.dockerfile {
            rules.push(RepositoryRule::Dockerfile(x));
        }
        if let Some(x) = self.history {
            rules.push(RepositoryRule::History(x));
        }
        if let Some(x) = self.no_tracked {
            rules.push(RepositoryRule::NoTracked(x));
        }
        if let Some(x) = self.stack {
            rules.push(RepositoryRule::Stack(x));
        }
        if let Some(x) = self.dependencies {
            rules.push(RepositoryRule::Dependencies(x));
        }
        if let Some(x) = self.versioned_migrations {
            rules.push(RepositoryRule::VersionedMigrations(x));
        }
        one(rules)
    }
}

impl From<RepositoryRule> for RepositoryCheck {
    fn from(rule: RepositoryRule) -> RepositoryCheck {
        let mut r = RepositoryCheck {
            readme: None,
            tests: None,
            run_tests: None,
            migrations: None,
            dockerfile: None,
            history: None,
            no_tracked: None,
            stack: None,
            dependencies: None,
            versioned_migrations: None,
        };
        match rule {
            RepositoryRule::Readme(x) => r.readme = Some(x),
            RepositoryRule::Tests(x) => r.tests = Some(x),
            RepositoryRule::RunTests(x) => r.run_tests = Some(x),
            RepositoryRule::Migrations(x) => r.migrations = Some(x),
            RepositoryRule::Dockerfile(x) => r.dockerfile = Some(x),
            RepositoryRule::History(x) => r.history = Some(x),
            RepositoryRule::NoTracked(x) => r.no_tracked = Some(x),
            RepositoryRule::Stack(x) => r.stack = Some(x),
            RepositoryRule::Dependencies(x) => r.dependencies = Some(x),
            RepositoryRule::VersionedMigrations(x) => r.versioned_migrations = Some(x),
        }
        r
    }
}

/// The only element of `v`, or `None` when it has none or several.
fn one<T>(mut v: Vec<T>) -> Option<T> {
    match (v.pop(), v.is_empty()) {
        (Some(x), true) => Some(x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml_kind: &str) -> Check {
        let text = format!("id: a\ntitle: A\nskills: {{api-design: 1}}\n{yaml_kind}",);
        crate::yaml::parse(std::path::Path::new("s.yaml"), &text).expect("parses")
    }

    #[test]
    fn one_kind_becomes_its_variant_and_back() {
        let raw = check("repository: {dockerfile: pinned_base}\n");
        let spec = raw.clone().into_spec().expect("one kind");
        assert_eq!(
            spec.kind,
            CheckKind::Repository(RepositoryRule::Dockerfile(DockerfileRule::PinnedBase))
        );
        assert_eq!(spec.kind.needs(), Needs::Files);
        assert_eq!(Check::from(spec), raw);
    }

    #[test]
    fn no_kind_or_two_kinds_or_two_rules_are_not_one() {
        assert_eq!(check("").into_spec(), Err(NotOneKind::Kinds(vec![])));
        let two = check("never: {server_error: true}\nhttp: []\n").into_spec();
        assert_eq!(two, Err(NotOneKind::Kinds(vec!["http", "never"])));
        let rules = check("repository: {stack: {}, tests: []}\n").into_spec();
        assert_eq!(rules, Err(NotOneKind::Rules));
        let probes = check("security: {}\n").into_spec();
        assert_eq!(probes, Err(NotOneKind::Probes));
    }

    #[test]
    fn per_kind_facts() {
        let secrets = check("security: {secrets: {}}\n").into_spec().expect("one");
        assert_eq!(secrets.kind.needs(), Needs::Files);
        assert!(!secrets.measures_time());
        let never = check("never: {leak: true}\n").into_spec().expect("one");
        assert!(never.kind.is_run_wide());
        assert_eq!(never.kind.name(), "never");
    }
}
