//! One graded run, end to end: intake → images → build → sandbox → suites → results.
//!
//! [`run`] is the single library call behind `assay run` (and each submission of
//! `assay batch`). The pipeline never connects to an engine: the caller connects once and
//! hands it the backend (`DockerBackend` in the CLI and batch). A candidate's failure (did not build, never healthy, crashed) is part of
//! the [`RunResults`]; `Err` means we could not grade (Docker down, refused submission).

mod events;
mod repo;
mod service;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_engine::{DatabaseLogin, EngineConfig, EngineError, RepoView, Service};
use assay_format::Assessment;
use assay_model::{AssessmentRef, LanePhase, RunResults, RunnerInfo, SandboxReport};
use rand::RngCore;

use assay_intake::{InspectLimits, IntakeError, Submission, inspect};
use assay_sandbox::{
    Backend, BuildEgress, BuildLimits, BuildOutcome, BuildRequest, CHECKS_ROLE, DEFAULT_LOG_CAP,
    Hardening, HealthCheck, ImageRecipe, ImageStore, ImagesConfig, Readiness, Runtime, Sandbox,
    SandboxError, SandboxSpec, ServiceSpec, SidecarHardening, SidecarSpec, TmpfsMount, TrustSource,
    build_submission_with, ensure_images_with,
};

pub use assay_engine::Progress;
pub use assay_engine::{LaneError, PerformanceLane, RunLane};
pub use events::RunEvent;
pub use repo::SubmissionRepo;
pub use service::SandboxService;

/// Everything one run needs. The CLI (and batch) fill it from flags, environment and config.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub assessment: Assessment,
    /// The submission, already taken in by the caller ([`Submission::open`], once: batch
    /// keys and resumes by its digest); an archive's files stay in the caller's work
    /// directory until the run ends.
    pub submission: Submission,
    /// The folder holding `sandbox-images/`.
    pub project_root: PathBuf,
    pub seed: u64,
    /// Shortens load phases as the assessment's `test_mode` says (never skips them).
    pub test_mode: bool,
    /// An OCI runtime for the service container, e.g. `runsc` (gVisor).
    pub runtime: Option<String>,
    /// Run only these check ids.
    pub only: Option<Vec<String>>,
    /// Names the run's containers, network and firewall rules (`[A-Za-z0-9_.-]`, ≤ 48).
    pub run_id: String,
    /// The extra certificate authorities the base image trusts (default: the host's).
    pub trust: TrustSource,
    /// The package registries the build may reach, instead of the assessment's
    /// `submission.registries` (settings: an internal mirror, say).
    pub registries: Option<Vec<String>>,
    /// In a batch: the performance lane shared by every run (builds share it, measured
    /// phases hold it alone). `None` when graded alone.
    pub lane: Option<RunLane>,
    /// The submission's image, already built by [`build`] for this request (a batch builds
    /// the next submissions' images while others are graded); `None`: the run builds it.
    pub built: Option<BuildOutcome>,
}

/// Why a run could not be graded.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("could not {action}: {source}; check that the temporary directory is writable")]
    Work {
        action: &'static str,
        source: std::io::Error,
    },
}

impl RunError {
    /// The submission was refused or is unreadable (exit code 2), as opposed to our own
    /// infrastructure failing (exit code 3).
    pub fn is_refusal(&self) -> bool {
        match self {
            RunError::Intake(e) => !matches!(e, IntakeError::Io { .. }),
            _ => false,
        }
    }
}

/// A fresh random seed for a run (printed in the scorecard so the run can be reproduced).
pub fn random_seed() -> u64 {
    rand::rng().next_u64() % 1_000_000_000
}

/// A fresh run id: `r` + 12 hex digits.
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    format!("r{}", hex::encode(bytes))
}

/// Service images, sidecar images and the base image this project's assessments need.
/// `ASSAY_SANDBOX_IMAGES`, when set, names the recipes' folder (as the images error says).
fn images_config(project_root: &Path, trust: &TrustSource) -> ImagesConfig {
    ImagesConfig {
        sandbox_images_dir: std::env::var_os("ASSAY_SANDBOX_IMAGES")
            .map(PathBuf::from)
            .unwrap_or_else(|| project_root.join("sandbox-images")),
        trust: trust.clone(),
        ..ImagesConfig::default()
    }
}

/// `assay images build`: makes every image idempotently; returns a report, one line each.
pub async fn build_images(
    backend: &impl ImageStore,
    project_root: &Path,
    trust: &TrustSource,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<String, SandboxError> {
    let config = images_config(project_root, trust);
    progress("checking the base and sidecar images");
    let started = Instant::now();
    let report = ensure_images_with(
        backend,
        &config,
        &ImageRecipe::standard(&config.sandbox_images_dir),
    )
    .await?;
    let mut lines = Vec::new();
    for image in &report.images {
        lines.push(format!(
            "{:<24} {:<12} {} ({:.1} s){}",
            image.tag,
            format!("{:?}", image.action).to_lowercase(),
            short_id(&image.id),
            image.seconds,
            trust_note(image.trust.as_deref())
        ));
    }
    lines.push(format!(
        "images ready in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(lines.join("\n"))
}

/// `assay images list`: the images assay made, whether they are present, and which extra
/// certificate authorities each trusts.
pub async fn list_images(backend: &impl ImageStore) -> Result<Vec<String>, SandboxError> {
    let mut lines = Vec::new();
    let mut tags = vec![
        assay_sandbox::BASE_IMAGE.to_owned(),
        assay_sandbox::UPSTREAM_BASE_IMAGE.to_owned(),
    ];
    tags.extend(
        ImageRecipe::standard(Path::new("sandbox-images"))
            .into_iter()
            .map(|r| r.tag),
    );
    for tag in tags {
        match backend.image_facts(&tag).await? {
            Some(f) => lines.push(format!(
                "{tag:<36} {}{}",
                short_id(&f.id),
                trust_note(
                    f.labels
                        .get(assay_sandbox::LABEL_EXTRA_CA)
                        .map(String::as_str)
                )
            )),
            None => lines.push(format!("{tag:<36} missing (run `assay images build`)")),
        }
    }
    Ok(lines)
}

/// `  trusts: <authorities>` for an image with extra certificate authorities, else nothing.
fn trust_note(trust: Option<&str>) -> String {
    trust
        .filter(|t| !t.is_empty())
        .map(|t| format!("  trusts: {t}"))
        .unwrap_or_default()
}

/// `assay gc`: removes what killed runs left behind and cached submission images older
/// than a week.
pub async fn gc(backend: &impl Backend) -> Result<String, SandboxError> {
    let report = assay_sandbox::gc(backend).await?;
    let pruned =
        assay_sandbox::prune_submission_images(backend, Duration::from_secs(7 * 24 * 3600)).await?;
    Ok(format!(
        "removed {} container(s), {} network(s), {} volume(s), {} firewall rule(s) of {} dead run(s); {} cached submission image(s) older than a week{}",
        report.removed.containers,
        report.removed.networks,
        report.removed.volumes,
        report.removed.firewall_rules,
        report.runs.len(),
        pruned.removed,
        if report.removed.errors.is_empty() {
            String::new()
        } else {
            format!(
                "; {} removal(s) failed: {}",
                report.removed.errors.len(),
                report.removed.errors.join("; ")
            )
        }
    ))
}

/// What a killed or hung assay left behind (containers, networks, firewall rules whose owner
/// is gone or whose lifetime has passed), removed before a command starts. Best effort: `None`
/// when the engine does not answer within 30 s or nothing was left; else a line saying what
/// went.
pub async fn reap_orphans(backend: &impl Runtime) -> Option<String> {
    let reaped = tokio::time::timeout(Duration::from_secs(30), assay_sandbox::gc(backend))
        .await
        .ok()?
        .ok()?;
    let r = &reaped.removed;
    (!reaped.runs.is_empty()).then(|| {
        format!(
            "removed what {} dead run(s) left: {} container(s), {} network(s), {} volume(s), {} firewall rule(s)",
            reaped.runs.len(),
            r.containers,
            r.networks,
            r.volumes,
            r.firewall_rules
        )
    })
}

/// Removes everything run `run_id` made; for the Ctrl-C handler. Never fails loudly.
pub async fn cleanup_run(backend: &impl Runtime, run_id: &str) -> String {
    match assay_sandbox::cleanup_run(backend, run_id).await {
        Ok(r) => format!(
            "{} container(s), {} network(s) removed",
            r.containers, r.networks
        ),
        Err(e) => format!("cleanup failed ({e}); run `assay gc` later"),
    }
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// Builds the submission's image of `req` (or finds it cached), as [`run`] would, holding
/// the performance lane's build phase: for a batch that builds the next submissions' images
/// while others are graded. Hand the outcome to [`run`] as [`RunRequest::built`], with the
/// same lane. A build that fails is an outcome (`failure` set), not an `Err`.
pub async fn build<B: Backend>(
    backend: &B,
    req: &RunRequest,
    progress: &(dyn Fn(RunEvent) + Send + Sync),
) -> Result<BuildOutcome, RunError> {
    let scratch = work_dir("assay-build-", "create the build's work directory")?;
    Ok(build_image(backend, req, scratch.path(), progress).await?.0)
}

/// A private temporary directory, removed when dropped.
fn work_dir(prefix: &str, action: &'static str) -> Result<tempfile::TempDir, RunError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| RunError::Work { action, source })
}

/// The base and sidecar images assay needs (quick when present): tag → id.
async fn ensure_runner_images<B: Backend>(
    backend: &B,
    req: &RunRequest,
    progress: &(dyn Fn(RunEvent) + Send + Sync),
) -> Result<BTreeMap<String, String>, RunError> {
    progress(RunEvent::stage(
        "images",
        "checking base and sidecar images",
    ));
    let config = images_config(&req.project_root, &req.trust);
    let images = ensure_images_with(
        backend,
        &config,
        &ImageRecipe::standard(&config.sandbox_images_dir),
    )
    .await?;
    Ok(images
        .images
        .iter()
        .map(|i| (i.tag.clone(), i.id.clone()))
        .collect())
}

/// The images assay needs, then the submission's own Dockerfile, in the lane's build phase.
async fn build_image<B: Backend>(
    backend: &B,
    req: &RunRequest,
    scratch: &Path,
    progress: &(dyn Fn(RunEvent) + Send + Sync),
) -> Result<(BuildOutcome, BTreeMap<String, String>), RunError> {
    let runner_images = ensure_runner_images(backend, req, progress).await?;
    progress(RunEvent::stage("build", "building the submission's image"));
    let on_line = |line: &str| {
        progress(RunEvent::BuildLog {
            line: line.to_owned(),
        })
    };
    let build_lane = match &req.lane {
        Some(lane) => Some(lane.enter(LanePhase::Build, None).await),
        None => None,
    };
    let build =
        build_submission_with(backend, &build_request(req, scratch), Some(&on_line)).await?;
    drop(build_lane);
    progress(RunEvent::stage("build", build_stage_detail(&build, false)));
    Ok((build, runner_images))
}

/// What the build stage says when it ends (`ahead`: the image was built before the run).
fn build_stage_detail(build: &BuildOutcome, ahead: bool) -> String {
    match (&build.failure, build.cached) {
        (Some(f), _) => f.describe(),
        (None, true) => "unchanged submission: cached image reused".to_owned(),
        (None, false) if ahead => format!("built ahead of the run in {:.1} s", build.seconds),
        (None, false) => format!("built in {:.1} s", build.seconds),
    }
}

/// How the submission of `req` is built (its scratch files under `scratch`): the
/// assessment's limits and registries, the machine's trust.
fn build_request(req: &RunRequest, scratch: &Path) -> BuildRequest {
    let rules = &req.assessment.file.submission;
    let config = images_config(&req.project_root, &req.trust);
    BuildRequest {
        context_dir: req.submission.root.clone(),
        dockerfile: rules.dockerfile.clone(),
        limits: BuildLimits {
            context_max_bytes: rules.context_limit.0,
            memory_bytes: rules
                .build_memory
                .0
                .min(BuildLimits::default().memory_bytes),
            time_limit: rules.build_timeout.0,
            disk_bytes: rules.build_disk.0,
            pids: i64::from(rules.build_pids.max(16)),
            log_cap_bytes: usize::try_from(rules.build_output.0)
                .unwrap_or(usize::MAX)
                .max(1024),
            ..BuildLimits::default()
        },
        scratch_dir: Some(scratch.to_owned()),
        build_args: config.build_args.clone(),
        egress: BuildEgress::Registries(
            req.registries
                .clone()
                .unwrap_or_else(|| rules.registries.clone()),
        ),
        target: None,
    }
}

/// Grades nothing: runs the submission and every suite, returning the raw results.
pub async fn run<B: Backend>(
    backend: &B,
    req: &RunRequest,
    progress: &(dyn Fn(RunEvent) + Send + Sync),
) -> Result<RunResults, RunError> {
    let started = Instant::now();
    let started_at = rfc3339_now();
    let assessment = &req.assessment;
    let file = &assessment.file;

    // Intake (unpacking, the digest) was done by the caller; its facts are read here. The
    // run's private work directory (build scratch) is removed at the end.
    progress(RunEvent::stage(
        "intake",
        req.submission.source.display().to_string(),
    ));
    let work = work_dir("assay-run-", "create the run's work directory")?;
    let submission = req.submission.clone();
    let facts = {
        let s = submission.clone();
        tokio::task::spawn_blocking(move || inspect(&s, &InspectLimits::default()))
            .await
            .map_err(|e| RunError::Work {
                action: "inspect the submission",
                source: std::io::Error::other(e.to_string()),
            })?
    };
    progress(RunEvent::stage(
        "intake",
        format!("{} ({})", submission.name, short_id(&submission.digest)),
    ));

    let (build, mut runner_images) = match &req.built {
        Some(built) => {
            let images = ensure_runner_images(backend, req, progress).await?;
            progress(RunEvent::stage("build", build_stage_detail(built, true)));
            (built.clone(), images)
        }
        None => build_image(backend, req, work.path(), progress).await?,
    };
    let build_request = build_request(req, work.path());
    let mut report = SandboxReport::default();
    build.apply_to(&mut report);

    let secrets: BTreeMap<String, String> = file
        .secrets
        .iter()
        .map(|name| (name.clone(), fresh_secret()))
        .collect();

    // The role `database` checks connect as in an `assay/postgres` sidecar: its password is
    // drawn here and reaches the sidecar and the engine only, never a template.
    let checks_login = file
        .database
        .as_ref()
        .filter(|db| {
            file.sidecars
                .get(&db.sidecar)
                .is_some_and(|sc| sc.image.starts_with("assay/postgres"))
        })
        .map(|_| DatabaseLogin {
            user: CHECKS_ROLE.to_owned(),
            password: fresh_secret(),
        });

    // The sandbox, when there is an image.
    let mut sandbox: Option<Sandbox<B>> = None;
    let mut unavailable = build.failure.as_ref().map(|f| f.describe());
    if let (Some(image), None) = (&build.image, &build.failure) {
        progress(RunEvent::stage(
            "start",
            "starting sidecars and the service",
        ));
        let spec = sandbox_spec(req, image, &secrets, &checks_login)?;
        for sc in &spec.sidecars {
            if let Ok(Some(f)) = backend.image_facts(&sc.image).await {
                runner_images.insert(sc.image.clone(), f.id);
            }
        }
        let sb = Sandbox::start(backend, spec).await?;
        if let Some(f) = sb.failure() {
            unavailable = Some(f.describe());
        }
        progress(RunEvent::stage(
            "start",
            match sb.failure() {
                Some(f) => f.describe(),
                None => format!(
                    "healthy after {:.1} s",
                    sb.report().startup_seconds.unwrap_or_default()
                ),
            },
        ));
        sandbox = Some(sb);
    }
    let initial = sandbox.as_ref().map(|s| s.report().clone());

    // The suites.
    let runs_as_root = initial.as_ref().and_then(|r| r.runs_as_root);
    let repo: Arc<dyn RepoView> = Arc::new(SubmissionRepo {
        submission: submission.clone(),
        facts,
        runs_as_root,
    });
    // The candidate's tests may run in another stage of the Dockerfile, built on demand
    // under the same limits.
    let service =
        Arc::new(SandboxService::new(sandbox).with_stages(backend.clone(), build_request));
    let config = EngineConfig {
        seed: req.seed,
        run_id: req.run_id.clone(),
        test_mode: req.test_mode,
        secrets,
        only: req.only.clone(),
        unavailable,
        database_login: checks_login,
        lane: req.lane.clone(),
    };
    // The machine as the measured checks will find it: measured alone in the lane.
    if has_measured_checks(assessment, req.only.as_deref()) {
        progress(RunEvent::stage("calibration", "measuring this machine"));
        let _alone = match &req.lane {
            Some(lane) => Some(lane.enter(LanePhase::Measure, Some("calibration")).await),
            None => None,
        };
        report.calibration = assay_loadgen::calibrate().await;
    }
    let engine_progress = |p: assay_engine::Progress| progress(RunEvent::from(p));
    let outcome = assay_engine::run(
        assessment,
        service.clone() as Arc<dyn Service>,
        config,
        Some(repo),
        &engine_progress,
    )
    .await;

    // Teardown, whatever the engine said.
    progress(RunEvent::stage("teardown", "removing the run's containers"));
    let finished = service.finish(DEFAULT_LOG_CAP).await;
    let checks = outcome?;
    if let Some(sb_report) = finished? {
        let first = initial.unwrap_or_default();
        report.became_healthy = first.became_healthy;
        report.startup_seconds = first.startup_seconds;
        report.runs_as_root = first.runs_as_root;
        report.failure = first.failure.or(report.failure.take());
        report.peak_memory_bytes = sb_report.peak_memory_bytes;
        report.cpu_seconds = sb_report.cpu_seconds;
        report.service_log = sb_report.service_log;
    }
    if let Some(id) = &report.image_id
        && let Some(image) = &build.image
    {
        runner_images.insert(image.clone(), id.clone());
    }
    drop(work);
    report.performance_lane = req.lane.as_ref().map(RunLane::report);

    Ok(RunResults {
        assessment: AssessmentRef {
            id: file.id.value.clone(),
            version: file.version.clone(),
            title: file.title.clone(),
        },
        submission: submission.to_ref(),
        sandbox: report,
        checks,
        seed: req.seed,
        runner: RunnerInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            images: runner_images,
        },
        started_at,
        duration_seconds: started.elapsed().as_secs_f64(),
    })
}

/// 32 random bytes, hex: a per-run secret (never derived from the seed, which is printed).
fn fresh_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The service and sidecars as the assessment describes them, templates rendered.
fn sandbox_spec(
    req: &RunRequest,
    image: &str,
    secrets: &BTreeMap<String, String>,
    checks_login: &Option<DatabaseLogin>,
) -> Result<SandboxSpec, RunError> {
    let file = &req.assessment.file;
    let mut vars = assay_engine::vars::Vars::new(req.seed, &req.run_id);
    vars.set(
        "secret",
        serde_json::Value::Object(
            secrets
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        ),
    );
    let mut render = |what: &str, t: &assay_format::Template| {
        vars.render(t)
            .map_err(|e| RunError::Engine(EngineError::Assessment(format!("{what}: {e}"))))
    };
    let mut env = BTreeMap::new();
    for (k, t) in &file.service.env {
        env.insert(k.clone(), render(&format!("service.env.{k}"), t)?);
    }
    let mut sidecars = Vec::new();
    for (name, sc) in &file.sidecars {
        let mut sc_env = BTreeMap::new();
        for (k, t) in &sc.env {
            sc_env.insert(k.clone(), render(&format!("sidecars.{name}.env.{k}"), t)?);
        }
        let readiness = Readiness {
            command: sc.ready.clone(),
            timeout: sc.ready_timeout.0,
            interval: Duration::from_millis(300),
        };
        let (base, outage) = if sc.image.starts_with("assay/postgres") {
            // Data, socket and temp directories on capped tmpfs owned by postgres; the
            // database can refuse its clients in place (`database_restart`).
            let pg = SidecarSpec::postgres(name, "postgres", "postgres", "postgres");
            (pg.hardening, pg.outage)
        } else {
            let hardening = SidecarHardening {
                tmpfs: vec![TmpfsMount::new("/tmp", 64 << 20)],
                ..SidecarHardening::default()
            };
            (hardening, None)
        };
        let mut sidecar = SidecarSpec {
            name: name.clone(),
            image: sc.image.clone(),
            env: sc_env,
            readiness,
            hardening: SidecarHardening {
                memory_bytes: sc.memory.0,
                runtime: req.runtime.clone(),
                ..base
            },
            outage,
        };
        if let (Some(login), Some(db)) = (checks_login, &file.database)
            && db.sidecar == *name
        {
            sidecar = sidecar.with_checks_role(&login.password);
        }
        sidecars.push(sidecar);
    }
    let limits = &file.service.limits;
    let health = &file.service.health;
    let hardening = Hardening {
        pids_limit: i64::from(limits.pids),
        memory_bytes: limits.memory.0,
        nano_cpus: (limits.cpus * 1e9) as u64,
        nofile: u64::from(limits.nofile),
        fsize_bytes: limits.max_file.0,
        tmp: TmpfsMount::new("/tmp", limits.tmp.0),
        read_only_rootfs: limits.read_only_root,
        writable_layer_cap_bytes: limits.max_writable.0,
        runtime: req.runtime.clone(),
        ..Hardening::default()
    };
    Ok(SandboxSpec {
        run_id: req.run_id.clone(),
        service: ServiceSpec {
            image: image.to_owned(),
            env,
            port: file.service.port,
            health: HealthCheck {
                path: health.path.clone(),
                timeout: health.timeout.0,
                interval: health.interval.0,
                request_timeout: Duration::from_secs(2),
            },
            stop_grace: Duration::from_secs(10),
        },
        sidecars,
        hardening,
    })
}

fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The assessment has checks that measure time (load or growth) among those that run.
fn has_measured_checks(assessment: &Assessment, only: Option<&[String]>) -> bool {
    assessment
        .suites
        .iter()
        .flat_map(|suite| &suite.checks)
        .filter(|c| only.is_none_or(|o| o.iter().any(|id| *id == c.common.id.value)))
        .any(|c| c.measures_time())
}
