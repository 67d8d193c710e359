//! Running an assessment's suites: principals once, each suite's setup, then each check
//! under its timeout, honouring `needs`, keeping partial evidence, never panicking on what
//! a submission answers. A candidate's failure is an outcome; `Err` means we could not run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_format::{Assessment, CheckKind, CheckSpec, LoadedSuite, Needs, RepositoryRule};
use assay_model::{CheckOutcome, LanePhase, Status};
use serde_json::Value;

use crate::context::{CheckCx, EngineConfig, EvidenceLog, JwtConfig, Shared, Verdict};
use crate::http::Client;
use crate::journal::Journal;
use crate::service::Service;
use crate::vars::Vars;
use crate::{RepoView, checks};

/// Why the engine could not run at all (not a candidate's failure).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the assessment cannot be run: {0}")]
    Assessment(String),
    #[error("{0}")]
    Client(String),
}

/// Progress events, for the CLI's bars and `--events json`: the runner's events carry them as
/// they are, and this is their JSON shape on the event stream (`{"event": "check_finished", …}`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    SuiteStarted {
        suite: String,
        checks: usize,
    },
    CheckFinished {
        suite: String,
        check: String,
        status: Status,
        done: usize,
        total: usize,
    },
    /// A load phase's figures so far, about once a second.
    Load {
        check: String,
        elapsed_secs: f64,
        planned_secs: f64,
        completed: u64,
        errors: u64,
        /// Requests per second over the last second (`rps` on the event stream).
        #[serde(rename = "rps")]
        current_rps: f64,
    },
}

/// Runs every suite of `assessment` against `service`.
pub async fn run(
    assessment: &Assessment,
    service: Arc<dyn Service>,
    config: EngineConfig,
    repo: Option<Arc<dyn RepoView>>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Vec<CheckOutcome>, EngineError> {
    let file = &assessment.file;
    // Every exchange of the run passes through the journal, for the `never` checks.
    let journal = Arc::new(Journal::new());
    let client = Client::new(&service.base_url())
        .map_err(EngineError::Client)?
        .with_journal(journal.clone());
    let mut global = Vars::new(config.seed, &config.run_id);
    let secrets: serde_json::Map<String, Value> = config
        .secrets
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    global.set("secret", Value::Object(secrets));
    for (name, t) in &file.vars {
        let v = global
            .render(t)
            .map_err(|e| EngineError::Assessment(format!("vars.{name}: {e}")))?;
        global.set(name, Value::String(v));
    }
    let jwt = match &file.jwt {
        Some(j) => Some(JwtConfig {
            secret: global
                .render(&j.secret)
                .map_err(|e| EngineError::Assessment(format!("jwt.secret: {e}")))?,
            subject_claim: j.subject_claim.clone(),
            ttl: j.ttl.0,
            claims: j.claims,
        }),
        None => None,
    };

    let mut shared = Shared {
        assessment,
        service,
        client,
        config,
        jwt,
        request_timeout: file.service.request_timeout.0,
        principals: BTreeMap::new(),
        repo,
        progress: Some(progress),
    };

    // Principals: registered and logged in once.
    let mut principal_failure: Option<String> = None;
    let unavailable = shared.config.unavailable.clone();
    if let (Some(p), None) = (&file.principals, &unavailable) {
        for name in &p.names {
            let mut vars = global.child(shared.config.seed, &format!("principal:{}", name.value));
            let email = vars.generate("email").unwrap_or_default();
            let password = vars.generate("password").unwrap_or_default();
            let principal =
                serde_json::json!({"name": name.value, "email": email, "password": password});
            vars.set("principal", principal.clone());
            let mut cx = CheckCx {
                shared: &shared,
                vars,
                evidence: EvidenceLog::default(),
                check_id: format!("principal:{}", name.value),
            };
            let mut ok = true;
            for step in p.register.iter().chain(p.login.iter()) {
                match cx.repeated(&step.value).await {
                    Ok(_) => {
                        // Captures land in the principal object too.
                        for cap in step.value.capture.keys() {
                            if let Some(v) = cx.vars.get_path(std::slice::from_ref(cap)).cloned() {
                                cx.vars.set_path(&["principal", cap], v);
                            }
                        }
                    }
                    Err(f) => {
                        principal_failure = Some(format!(
                            "registering and logging in `{}` failed: {}",
                            name.value,
                            f.message()
                        ));
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                break;
            }
            let value = cx
                .vars
                .get_path(&["principal".to_owned()])
                .cloned()
                .unwrap_or(principal);
            shared.principals.insert(name.value.clone(), value.clone());
            global.set(&name.value, value);
        }
    }

    // The run-wide rules, now that the principals (whose passwords they may name) exist;
    // what was sent before them is scanned now.
    let (rules, rule_errors) = checks::never::rules(assessment, &mut global);
    journal.arm(rules);

    let total: usize = assessment.suites.iter().map(|s| s.checks.len()).sum();
    let mut done = 0usize;
    let mut outcomes: Vec<CheckOutcome> = Vec::with_capacity(total);
    let mut service_down: Option<String> = unavailable;
    // `never` checks, judged once every suite ran: (position in `outcomes`, suite, check).
    let mut deferred: Vec<(usize, String, &CheckSpec)> = Vec::new();

    for suite in &assessment.suites {
        let suite_id = suite.file.suite.value.clone();
        progress(Progress::SuiteStarted {
            suite: suite_id.clone(),
            checks: suite.checks.len(),
        });
        let mut suite_vars = global.child(shared.config.seed, &suite_id);
        let mut suite_failure = principal_failure.clone();
        for (name, t) in &suite.file.vars {
            match suite_vars.render(t) {
                Ok(v) => suite_vars.set(name, Value::String(v)),
                Err(e) => suite_failure = Some(format!("suite variable `{name}`: {e}")),
            }
        }
        if suite_failure.is_none() && service_down.is_none() && needs_service(suite) {
            let mut cx = CheckCx {
                shared: &shared,
                vars: suite_vars.clone(),
                evidence: EvidenceLog::default(),
                check_id: format!("setup:{suite_id}"),
            };
            if let Err(f) = cx.steps(&suite.file.setup).await {
                suite_failure = Some(format!(
                    "the setup of suite `{suite_id}` failed: {}",
                    f.message()
                ));
            }
            suite_vars = cx.vars;
        }

        for located in &suite.checks {
            let check = &located.value;
            let id = check.common.id.value.clone();
            if shared
                .config
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&id))
            {
                continue;
            }
            if check.kind.is_run_wide() {
                deferred.push((outcomes.len(), suite_id.clone(), check));
                continue;
            }
            let start = Instant::now();
            // What the kind needs of the run (`CheckKind::needs`): files only, the
            // sandbox, or the running service.
            let needs = check.kind.needs();
            let needs_sandbox = needs >= Needs::Sandbox;
            let uses_service = needs == Needs::Service;
            let skip = if let Some(why) = unmet_needs(check, &outcomes) {
                Some(why)
            } else if needs_sandbox && shared.config.unavailable.is_some() {
                shared.config.unavailable.clone()
            } else if uses_service {
                service_down.clone().or_else(|| suite_failure.clone())
            } else {
                None
            };
            let mut outcome = match skip {
                Some(reason) => CheckOutcome::skipped(&id, &suite_id, reason),
                None => run_check(&shared, suite, check, &suite_vars).await,
            };
            outcome.duration_ms = start.elapsed().as_millis() as u64;

            // A service that died during a check is started again once; if it will not
            // come back, the remaining checks that need it are skipped with the reason.
            if uses_service && service_down.is_none() && !shared.service.is_running().await {
                let logs = shared.service.logs(2048).await;
                outcome.evidence.push(assay_model::Evidence::Log {
                    source: "service".into(),
                    excerpt: logs,
                });
                match shared.service.start().await {
                    Ok(true) => outcome.evidence.push(assay_model::Evidence::Note {
                        text: "the service had exited during this check; it was started again"
                            .into(),
                    }),
                    _ => {
                        service_down = Some(format!(
                            "the service exited during `{id}` and did not come back"
                        ))
                    }
                }
            }
            finished(progress, &outcome, &mut done, total);
            outcomes.push(outcome);
        }
    }

    // The run-wide checks, in their places.
    for (inserted, (at, suite_id, check)) in deferred.into_iter().enumerate() {
        let id = &check.common.id.value;
        let outcome = if let Some(why) = unmet_needs(check, &outcomes) {
            CheckOutcome::skipped(id, &suite_id, why)
        } else if let Some(why) = &shared.config.unavailable {
            CheckOutcome::skipped(id, &suite_id, why.clone())
        } else if let Some((_, e)) = rule_errors.iter().find(|(c, _)| c == id) {
            CheckOutcome::error(id, &suite_id, e.clone(), vec![])
        } else if let CheckKind::Never(spec) = &check.kind {
            let (v, evidence) = checks::never::judge(&journal, id, spec);
            CheckOutcome::with(id, &suite_id, v.status, v.credit, v.message, evidence)
        } else {
            CheckOutcome::error(id, &suite_id, "not a never check", vec![])
        };
        finished(progress, &outcome, &mut done, total);
        outcomes.insert((at + inserted).min(outcomes.len()), outcome);
    }
    Ok(outcomes)
}

/// Counts a finished check and reports it.
fn finished(
    progress: &(dyn Fn(Progress) + Send + Sync),
    outcome: &CheckOutcome,
    done: &mut usize,
    total: usize,
) {
    *done += 1;
    progress(Progress::CheckFinished {
        suite: outcome.suite.clone(),
        check: outcome.id.clone(),
        status: outcome.status,
        done: *done,
        total,
    });
}

fn needs_service(suite: &LoadedSuite) -> bool {
    !suite.file.setup.is_empty()
}

fn unmet_needs(check: &CheckSpec, done: &[CheckOutcome]) -> Option<String> {
    let unmet: Vec<String> = check
        .common
        .needs
        .iter()
        .filter(|n| {
            !done
                .iter()
                .any(|o| o.id == n.value && o.status == Status::Pass)
        })
        .map(|n| format!("`{}`", n.value))
        .collect();
    (!unmet.is_empty()).then(|| format!("skipped: needs {} to pass first", unmet.join(", ")))
}

/// Time allowed for a restarted sidecar to become ready again.
const SIDECAR_READY: Duration = Duration::from_secs(60);

/// The default time limit of a growth check.
const GROWTH_LIMIT: Duration = Duration::from_secs(300);

/// The time limit of a check: its own, the service default, or what a load phase needs.
fn time_limit(shared: &Shared<'_>, check: &CheckSpec) -> Duration {
    let own = check.common.timeout;
    let base = own
        .map(|d| d.0)
        .unwrap_or(shared.assessment.file.service.check_timeout.0);
    match &check.kind {
        CheckKind::Load(l) => {
            let scale = crate::checks::load::time_scale(shared);
            let phase = (l.warmup.0 + l.duration.0).mul_f64(scale);
            let seeding = l
                .seed
                .as_ref()
                .map(|_| Duration::from_secs(600))
                .unwrap_or_default();
            base + phase * 3 + seeding
        }
        CheckKind::Lifecycle(l) => {
            let health = shared.assessment.file.service.health.timeout.0;
            // Acting on the database adds its time down and its readiness.
            let down_for = l
                .down_for
                .map_or(crate::checks::lifecycle::DEFAULT_DOWN_FOR, |d| d.0);
            let database = match l.action {
                assay_format::LifecycleAction::DatabaseRestart => {
                    down_for
                        + SIDECAR_READY
                        + l.recover_within
                            .map_or(crate::checks::lifecycle::DEFAULT_RECOVERY, |d| d.0)
                }
                assay_format::LifecycleAction::DatabaseLate => down_for + SIDECAR_READY,
                _ => Duration::ZERO,
            };
            base + health + database
        }
        // The candidate's tests may need a stage of their Dockerfile built first.
        CheckKind::Repository(RepositoryRule::RunTests(rule)) if own.is_none() => {
            base + rule.timeout.0 + shared.assessment.file.submission.build_timeout.0
        }
        // Growing the data takes many requests; a check's own `timeout` still rules.
        CheckKind::Growth(_) if own.is_none() => base.max(GROWTH_LIMIT),
        CheckKind::Growth(_)
        | CheckKind::Repository(_)
        | CheckKind::Http(_)
        | CheckKind::Concurrent(_)
        | CheckKind::Security(_)
        | CheckKind::Database(_)
        | CheckKind::Never(_) => base,
    }
}

async fn run_check(
    shared: &Shared<'_>,
    suite: &LoadedSuite,
    check: &CheckSpec,
    suite_vars: &Vars,
) -> CheckOutcome {
    let id = &check.common.id.value;
    let suite_id = &suite.file.suite.value;
    let mut vars = suite_vars.child(shared.config.seed, id);
    for (name, t) in &check.common.vars {
        match vars.render(t) {
            Ok(v) => vars.set(name, Value::String(v)),
            Err(e) => {
                return CheckOutcome::error(
                    id,
                    suite_id,
                    format!("check variable `{name}`: {e}"),
                    vec![],
                );
            }
        }
    }
    let evidence = EvidenceLog::default();
    let mut cx = CheckCx {
        shared,
        vars,
        evidence: evidence.clone(),
        check_id: id.clone(),
    };
    let limit = time_limit(shared, check);
    // Growth checks measure from start to end and the candidate's tests are heavy: both
    // hold the batch's performance lane (load checks hold it for their phases only).
    // Concurrency bursts and lifecycle checks (restarts, database outages) load the machine
    // in bursts and may depend on timing themselves: they share the lane, so a neighbour's
    // measurement waits for the one in progress and they wait for it. Other checks are a
    // handful of requests or reads each: they run beside a measurement.
    let phase = match &check.kind {
        CheckKind::Growth(_) => Some(LanePhase::Measure),
        CheckKind::Repository(RepositoryRule::RunTests(_)) => Some(LanePhase::Tests),
        CheckKind::Concurrent(_) | CheckKind::Lifecycle(_) => Some(LanePhase::Check),
        CheckKind::Load(_)
        | CheckKind::Repository(_)
        | CheckKind::Http(_)
        | CheckKind::Security(_)
        | CheckKind::Database(_)
        | CheckKind::Never(_) => None,
    };
    let fut = async {
        let _lane = match phase {
            Some(p) => shared.lane(p, id).await,
            None => None,
        };
        match &check.kind {
            CheckKind::Http(steps) => checks::http::run(&mut cx, steps).await,
            CheckKind::Concurrent(c) => checks::concurrent::run(&mut cx, c).await,
            CheckKind::Load(l) => checks::load::run(&mut cx, l).await,
            CheckKind::Security(s) => checks::security::run(&mut cx, s).await,
            CheckKind::Database(d) => checks::database::run(&mut cx, d).await,
            CheckKind::Lifecycle(l) => checks::lifecycle::run(&mut cx, l).await,
            CheckKind::Repository(r) => checks::repository::run(&mut cx, r).await,
            CheckKind::Growth(g) => checks::growth::run(&mut cx, g).await,
            CheckKind::Never(_) => {
                Verdict::error("a never check is judged after every suite, not on its own")
            }
        }
    };
    let verdict = within_limit(shared, limit, fut).await;
    let (verdict, partial) = with_lesser(verdict, evidence.lesser_credit());
    let mut outcome = CheckOutcome::with(
        id,
        suite_id,
        verdict.status,
        verdict.credit,
        verdict.message,
        evidence.take(),
    );
    outcome.partial = partial;
    outcome
}

/// Runs a check's future under its time limit; time spent waiting for the batch's
/// performance lane is added to the limit (a neighbour's measurement is not the
/// candidate's slowness).
async fn within_limit(
    shared: &Shared<'_>,
    limit: Duration,
    fut: impl std::future::Future<Output = Verdict>,
) -> Verdict {
    let waited = || {
        shared
            .config
            .lane
            .as_ref()
            .map(|l| l.waited())
            .unwrap_or_default()
    };
    let before = waited();
    let start = tokio::time::Instant::now();
    let mut deadline = start + limit;
    let mut fut = std::pin::pin!(fut);
    loop {
        match tokio::time::timeout_at(deadline, &mut fut).await {
            Ok(v) => return v,
            Err(_) => {
                let extended = start + limit + waited().saturating_sub(before);
                if extended > deadline {
                    deadline = extended;
                    continue;
                }
                return Verdict::error(format!(
                    "the check did not finish within {:.0} s; partial evidence kept",
                    limit.as_secs_f64()
                ));
            }
        }
    }
}

/// A check that held only through lesser readings earns the lowest of their credits and is
/// marked partial; a failure stays a failure (critical applies).
fn with_lesser(verdict: Verdict, lesser: Option<f64>) -> (Verdict, bool) {
    match (verdict.status, lesser) {
        (Status::Pass, Some(credit)) => {
            let message = format!(
                "{} (partial credit {credit:.2}: a lesser reading was accepted; see the evidence)",
                verdict.message
            );
            (
                Verdict {
                    status: Status::Fail,
                    credit,
                    message,
                },
                true,
            )
        }
        _ => (verdict, false),
    }
}
