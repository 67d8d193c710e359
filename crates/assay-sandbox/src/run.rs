//! [`Sandbox`]: one run of a submission's service beside its sidecars, from start to
//! teardown, with the lifecycle operations checks use (health, restart, stop, kill, logs,
//! resource figures). Backend-neutral: everything engine-specific is behind [`Backend`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assay_model::{SandboxFailure, SandboxReport};
use serde::Serialize;
use tokio::task::JoinHandle;

use super::SandboxError;
use super::backend::{
    Backend, CleanupReport, ImageFacts, Runtime, UsageSample, WorkloadState, kill_service,
};
use super::health;
use super::labels;
use super::spec::{SandboxSpec, SidecarSpec};

/// Default cap of the service log kept in the report.
pub const DEFAULT_LOG_CAP: usize = 64 * 1024;

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StopReport {
    /// From the stop signal to the exit (including the kill when the grace ran out).
    pub seconds_to_exit: f64,
    /// `None` when the service was already gone.
    pub exit_code: Option<i64>,
    /// The service ignored the stop signal for the whole grace and was killed.
    pub killed_after_grace: bool,
}

/// How a restart went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartReport {
    pub stop: StopReport,
    /// Seconds from the start to the first healthy answer; `None` when it never came.
    pub startup_seconds: Option<f64>,
    /// Why it did not come back (a graded outcome).
    pub failure: Option<SandboxFailure>,
}

/// Resource figures of the service so far.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ResourceUsage {
    /// The highest memory use seen (the cgroup's own high-water mark where available).
    pub peak_memory_bytes: Option<u64>,
    /// CPU time used, summed across restarts.
    pub cpu_seconds: Option<f64>,
}

/// How the service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExitStatus {
    pub code: i64,
    /// Killed for memory: exit 137 counts (the engine's OOMKilled flag is unreliable).
    pub oom: bool,
}

/// Why the sandbox itself killed the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KillReason {
    /// The writable layer outgrew its cap (root filesystem writable).
    WritableLayer { bytes: u64, cap_bytes: u64 },
    /// The service outlived `Hardening::max_lifetime`.
    Lifetime { seconds: u64 },
    /// It ignored the stop signal for the whole grace of [`Sandbox::stop_service`].
    StopGrace { grace_ms: u64 },
    /// [`Sandbox::kill`] was called.
    Requested,
}

#[derive(Debug, Default)]
struct MonitorState {
    peak_memory: Option<u64>,
    cpu_base_ns: u64,
    cpu_last_ns: Option<u64>,
    kill: Option<KillReason>,
}

/// Runs one of a sidecar's outage commands (`what` it does, for the message), which must
/// exit 0 within 30 s.
async fn outage_step<R: Runtime>(
    backend: &R,
    run: &R::Run,
    name: &str,
    what: &'static str,
    command: &[String],
) -> Result<(), SandboxError> {
    let result = backend
        .sidecar_exec(run, name, command, Duration::from_secs(30))
        .await?;
    match result.exit_code {
        Some(0) => Ok(()),
        code => Err(SandboxError::SidecarOutage {
            name: name.to_owned(),
            what,
            detail: format!(
                "{}: {}",
                code.map_or_else(
                    || "timed out after 30 s".to_owned(),
                    |c| format!("exit {c}")
                ),
                result.output.trim()
            ),
        }),
    }
}

/// Folds one resource sample into the monitor's figures.
fn record_sample(monitor: &Mutex<MonitorState>, sample: UsageSample) {
    if let Ok(mut m) = monitor.lock() {
        let seen = sample
            .max_memory_bytes
            .unwrap_or(0)
            .max(sample.memory_bytes);
        m.peak_memory = Some(m.peak_memory.unwrap_or(0).max(seen));
        if let Some(last) = m.cpu_last_ns
            && sample.cpu_total_ns < last
        {
            // A restart resets the counter: keep what came before.
            m.cpu_base_ns += last;
        }
        m.cpu_last_ns = Some(sample.cpu_total_ns);
    }
}

impl MonitorState {
    fn usage(&self) -> ResourceUsage {
        ResourceUsage {
            peak_memory_bytes: self.peak_memory,
            cpu_seconds: self
                .cpu_last_ns
                .map(|last| (self.cpu_base_ns + last) as f64 / 1e9),
        }
    }
}

/// A running (or failed) sandbox. Tear it down with [`Sandbox::finish`] or
/// [`Sandbox::teardown`]; if it is dropped first, `Drop` removes everything synchronously.
#[derive(Debug)]
pub struct Sandbox<B: Backend> {
    backend: B,
    spec: SandboxSpec,
    run: B::Run,
    service_ip: Option<IpAddr>,
    sidecar_ips: BTreeMap<String, IpAddr>,
    report: SandboxReport,
    monitor: Arc<Mutex<MonitorState>>,
    tasks: Vec<JoinHandle<()>>,
    torn_down: bool,
}

impl<B: Backend> Sandbox<B> {
    /// Starts a run: an isolated network, the sidecars (each ready before the next), then the
    /// hardened service, and waits for it to be healthy. A service that crashes or never
    /// becomes healthy is `Ok` with [`Sandbox::failure`] set; `Err` means the run could not
    /// be set up (and nothing of it is left behind).
    pub async fn start(backend: &B, spec: SandboxSpec) -> Result<Sandbox<B>, SandboxError> {
        if !labels::valid_run_id(&spec.run_id) {
            return Err(SandboxError::Invalid(format!(
                "run id `{}` must be 1-48 characters of [A-Za-z0-9_.-]",
                spec.run_id
            )));
        }
        if spec.service.port == 0 {
            return Err(SandboxError::Invalid(
                "the service port must not be 0".into(),
            ));
        }
        let image = backend
            .image_facts(&spec.service.image)
            .await?
            .ok_or_else(|| {
                SandboxError::Invalid(format!(
                    "the service image `{}` does not exist locally",
                    spec.service.image
                ))
            })?;
        let run = backend.create_run(&spec.run_id).await?;
        let mut sandbox = Sandbox {
            backend: backend.clone(),
            spec,
            run,
            service_ip: None,
            sidecar_ips: BTreeMap::new(),
            report: SandboxReport {
                image_built: true,
                runs_as_root: Some(image.runs_as_root()),
                image_id: Some(image.id.clone()),
                ..Default::default()
            },
            monitor: Arc::new(Mutex::new(MonitorState::default())),
            tasks: Vec::new(),
            torn_down: false,
        };
        match sandbox.boot(&image).await {
            Ok(()) => Ok(sandbox),
            Err(e) => {
                if let Err(te) = sandbox.teardown().await {
                    tracing::warn!(error = %te, "teardown after a failed start failed");
                }
                Err(e)
            }
        }
    }

    async fn boot(&mut self, image: &ImageFacts) -> Result<(), SandboxError> {
        let sidecars = self.spec.sidecars.clone();
        for sidecar in &sidecars {
            self.start_sidecar(sidecar).await?;
        }
        self.backend
            .start_service(&self.run, &self.spec.service, &self.spec.hardening, image)
            .await?;
        self.spawn_monitor();
        let limit = self.spec.service.health.timeout;
        let failure = self.wait_healthy(limit).await?;
        if let Some(f) = &failure {
            tracing::info!(run_id = %self.spec.run_id, failure = %f.describe(), "service did not come up");
        }
        Ok(())
    }

    async fn start_sidecar(&mut self, sidecar: &SidecarSpec) -> Result<(), SandboxError> {
        let started = Instant::now();
        self.backend.start_sidecar(&self.run, sidecar).await?;
        self.wait_sidecar_ready(sidecar, started).await
    }

    /// Stops the sidecar `name` (SIGTERM, SIGKILL after 10 s), keeps it down for `down_for`,
    /// starts the same container again and waits until it is ready: the database going
    /// away and coming back under a running service.
    pub async fn restart_sidecar(
        &mut self,
        name: &str,
        down_for: Duration,
    ) -> Result<(), SandboxError> {
        let sidecar = self.sidecar_spec(name)?;
        self.stop_sidecar(name).await?;
        tokio::time::sleep(down_for).await;
        let started = Instant::now();
        self.backend.resume_sidecar(&self.run, name).await?;
        self.wait_sidecar_ready(&sidecar, started).await
    }

    /// The sidecar `name` drops every client connection and refuses new ones for
    /// `down_for`, then accepts them again (its [`Outage`](super::Outage) commands), while
    /// it and the service keep running: the database restarting under the service, its data
    /// kept. The wait and the acceptance run in a task of their own, so that the sidecar
    /// accepts again even when the caller gives up waiting (a check's time limit) or the
    /// refusal failed half-way.
    pub async fn interrupt_sidecar(
        &mut self,
        name: &str,
        down_for: Duration,
    ) -> Result<(), SandboxError> {
        let sidecar = self.sidecar_spec(name)?;
        let Some(outage) = sidecar.outage else {
            return Err(SandboxError::Invalid(format!(
                "the sidecar `{name}` cannot refuse its clients while it runs"
            )));
        };
        let refused = outage_step(&self.backend, &self.run, name, "refuse", &outage.refuse).await;
        let backend = self.backend.clone();
        let run = self.run.clone();
        let owned = name.to_owned();
        let wait = if refused.is_ok() {
            down_for
        } else {
            Duration::ZERO
        };
        let accepted = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            outage_step(&backend, &run, &owned, "accept", &outage.accept).await
        })
        .await
        .map_err(|e| SandboxError::SidecarOutage {
            name: name.to_owned(),
            what: "accept",
            detail: e.to_string(),
        })
        .and_then(|r| r);
        refused.and(accepted)
    }

    /// Stops the service and the sidecar `name`, starts the service while the sidecar is
    /// down, starts the sidecar `delay` later, and waits for the service to become healthy
    /// (the health limit counts from the service's start): a service must retry while its
    /// database refuses connections. Returns the failure when it did not come up.
    pub async fn start_service_before_sidecar(
        &mut self,
        name: &str,
        delay: Duration,
    ) -> Result<Option<SandboxFailure>, SandboxError> {
        let sidecar = self.sidecar_spec(name)?;
        self.stop_service(self.spec.service.stop_grace).await?;
        self.stop_sidecar(name).await?;
        let started = Instant::now();
        self.backend.restart_service(&self.run).await?;
        self.set_kill_reason(None);
        self.service_ip = None;
        self.report.failure = None;
        tokio::time::sleep(delay).await;
        self.backend.resume_sidecar(&self.run, name).await?;
        self.wait_sidecar_ready(&sidecar, Instant::now()).await?;
        let left = self
            .spec
            .service
            .health
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(1));
        self.wait_healthy(left).await
    }

    fn sidecar_spec(&self, name: &str) -> Result<SidecarSpec, SandboxError> {
        self.spec
            .sidecars
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| SandboxError::Invalid(format!("there is no sidecar `{name}`")))
    }

    /// SIGTERM, then SIGKILL after 10 s; waits until the sidecar has exited.
    async fn stop_sidecar(&mut self, name: &str) -> Result<(), SandboxError> {
        const GRACE: Duration = Duration::from_secs(10);
        let mut deadline = Instant::now() + GRACE;
        self.backend
            .signal_sidecar(&self.run, name, "SIGTERM")
            .await?;
        let mut killed = false;
        loop {
            if !matches!(
                self.backend.sidecar_state(&self.run, name).await?,
                WorkloadState::Running
            ) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if killed {
                    return Err(SandboxError::Invalid(format!(
                        "the sidecar `{name}` did not stop after SIGKILL"
                    )));
                }
                self.backend
                    .signal_sidecar(&self.run, name, "SIGKILL")
                    .await?;
                killed = true;
                deadline = Instant::now() + GRACE;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the sidecar's readiness command until it succeeds (from `started`, within the
    /// sidecar's readiness limit) and records its address.
    async fn wait_sidecar_ready(
        &mut self,
        sidecar: &SidecarSpec,
        started: Instant,
    ) -> Result<(), SandboxError> {
        let readiness = &sidecar.readiness;
        let deadline = started + readiness.timeout;
        loop {
            if let WorkloadState::Exited { code, .. } =
                self.backend.sidecar_state(&self.run, &sidecar.name).await?
            {
                return Err(SandboxError::SidecarNotReady {
                    name: sidecar.name.clone(),
                    seconds: readiness.timeout.as_secs(),
                    detail: format!("it exited with code {code}"),
                });
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if readiness.command.is_empty() {
                break;
            }
            let attempt = remaining.clamp(Duration::from_millis(100), Duration::from_secs(10));
            let result = self
                .backend
                .sidecar_exec(&self.run, &sidecar.name, &readiness.command, attempt)
                .await?;
            let last = match result.exit_code {
                Some(0) => break,
                Some(code) => format!("exit {code}: {}", result.output.trim()),
                None => "the readiness command did not finish".to_owned(),
            };
            if Instant::now() >= deadline {
                return Err(SandboxError::SidecarNotReady {
                    name: sidecar.name.clone(),
                    seconds: readiness.timeout.as_secs(),
                    detail: last,
                });
            }
            tokio::time::sleep(readiness.interval.min(remaining)).await;
        }
        if let Some(ip) = self.backend.sidecar_addr(&self.run, &sidecar.name).await? {
            self.sidecar_ips.insert(sidecar.name.clone(), ip);
        }
        tracing::debug!(sidecar = %sidecar.name, seconds = started.elapsed().as_secs_f64(), "sidecar ready");
        Ok(())
    }

    fn spawn_monitor(&mut self) {
        let hardening = self.spec.hardening.clone();
        let backend = self.backend.clone();
        let run = self.run.clone();
        let monitor = self.monitor.clone();
        let born = Instant::now();
        self.tasks.push(tokio::spawn(async move {
            let mut lifetime_hit = false;
            loop {
                match backend.service_usage(&run).await {
                    Ok(Some(sample)) => record_sample(&monitor, sample),
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "resource sample failed"),
                }
                if !lifetime_hit && born.elapsed() > hardening.max_lifetime {
                    lifetime_hit = true;
                    if let Ok(mut m) = monitor.lock() {
                        m.kill = Some(KillReason::Lifetime {
                            seconds: hardening.max_lifetime.as_secs(),
                        });
                    }
                    tracing::warn!("service outlived its maximum lifetime: killed");
                    let _ = kill_service(&backend, &run).await;
                }
                tokio::time::sleep(hardening.sample_interval).await;
            }
        }));
        if !self.spec.hardening.read_only_rootfs
            && self.backend.capabilities().writable_layer_measurement
        {
            let backend = self.backend.clone();
            let run = self.run.clone();
            let monitor = self.monitor.clone();
            let cap = self.spec.hardening.writable_layer_cap_bytes;
            let every = self.spec.hardening.watchdog_interval;
            self.tasks.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match backend.service_writable_bytes(&run).await {
                        Ok(Some(bytes)) if bytes > cap => {
                            tracing::warn!(
                                bytes,
                                cap,
                                "writable layer over its cap: service killed"
                            );
                            if let Ok(mut m) = monitor.lock() {
                                m.kill = Some(KillReason::WritableLayer {
                                    bytes,
                                    cap_bytes: cap,
                                });
                            }
                            if let Err(e) = kill_service(&backend, &run).await {
                                tracing::warn!(error = %e, "killing the service failed");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "writable layer size unknown"),
                    }
                }
            }));
        }
    }

    /// Waits up to `limit` for a 2xx answer to the health GET; stops early when the service
    /// exits. Records the outcome in the report and returns the failure, if any.
    pub async fn wait_healthy(
        &mut self,
        limit: Duration,
    ) -> Result<Option<SandboxFailure>, SandboxError> {
        let health = self.spec.service.health.clone();
        let started = Instant::now();
        let deadline = started + limit;
        let failure = loop {
            match self.backend.service_state(&self.run).await? {
                WorkloadState::Running => {}
                WorkloadState::Exited { code, oom_killed } => {
                    break Some(self.crashed(code, oom_killed));
                }
                WorkloadState::Missing => {
                    break Some(SandboxFailure::Crashed {
                        exit_code: -1,
                        oom: false,
                    });
                }
            }
            if self.service_ip.is_none() {
                self.service_ip = self.backend.service_addr(&self.run).await?;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let last = if let Some(ip) = self.service_ip {
                let addr = SocketAddr::new(ip, self.spec.service.port);
                let attempt = health
                    .request_timeout
                    .min(remaining)
                    .max(Duration::from_millis(50));
                match health::probe(addr, &health.path, attempt).await {
                    Ok(code) if (200..300).contains(&code) => break None,
                    Ok(code) => format!("GET {} answered {code}", health.path),
                    Err(e) => e,
                }
            } else {
                "the service has no address on the run network".to_owned()
            };
            if Instant::now() >= deadline {
                break Some(SandboxFailure::NeverHealthy {
                    reason: format!(
                        "no 2xx answer to GET {} within {} s (last: {last})",
                        health.path,
                        limit.as_secs()
                    ),
                });
            }
            let pause = health
                .interval
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
        };
        match &failure {
            None => {
                // One sample now: a service that dies between two of the monitor's samples
                // (an allocation burst) still has its start-up CPU time on record.
                self.sample_usage().await;
                self.report.became_healthy = true;
                self.report.startup_seconds = Some(started.elapsed().as_secs_f64());
                self.report.failure = None;
            }
            Some(f) => {
                self.report.became_healthy = false;
                self.report.startup_seconds = None;
                self.report.failure = Some(f.clone());
            }
        }
        Ok(failure)
    }

    fn crashed(&self, code: i64, oom_killed: bool) -> SandboxFailure {
        let exit = self.judge_exit(code, oom_killed);
        SandboxFailure::Crashed {
            exit_code: exit.code,
            oom: exit.oom,
        }
    }

    /// Exit 137 that the sandbox did not cause counts as an OOM kill (the engine's OOMKilled
    /// flag is unreliable). An OOM kill means the cgroup reached its limit, whatever the last
    /// sample (taken before the final burst) saw.
    fn judge_exit(&self, code: i64, oom_killed: bool) -> ExitStatus {
        let oom = self.kill_reason().is_none() && (oom_killed || code == 137);
        if oom && let Ok(mut m) = self.monitor.lock() {
            let limit = self.spec.hardening.memory_bytes;
            m.peak_memory = Some(m.peak_memory.unwrap_or(0).max(limit));
        }
        ExitStatus { code, oom }
    }

    fn set_kill_reason(&self, reason: Option<KillReason>) {
        if let Ok(mut m) = self.monitor.lock() {
            m.kill = reason;
        }
    }

    /// SIGTERM, then up to `grace` for the service to exit, then SIGKILL.
    pub async fn stop_service(&mut self, grace: Duration) -> Result<StopReport, SandboxError> {
        match self.backend.service_state(&self.run).await? {
            WorkloadState::Running => {}
            WorkloadState::Exited { code, .. } => {
                return Ok(StopReport {
                    seconds_to_exit: 0.0,
                    exit_code: Some(code),
                    killed_after_grace: false,
                });
            }
            WorkloadState::Missing => {
                return Ok(StopReport {
                    seconds_to_exit: 0.0,
                    exit_code: None,
                    killed_after_grace: false,
                });
            }
        }
        let started = Instant::now();
        self.backend.signal_service(&self.run, "SIGTERM").await?;
        if let Some(code) = self.backend.wait_service_exit(&self.run, grace).await? {
            return Ok(StopReport {
                seconds_to_exit: started.elapsed().as_secs_f64(),
                exit_code: Some(code),
                killed_after_grace: false,
            });
        }
        self.set_kill_reason(Some(KillReason::StopGrace {
            grace_ms: u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
        }));
        let code = kill_service(&self.backend, &self.run).await?;
        Ok(StopReport {
            seconds_to_exit: started.elapsed().as_secs_f64(),
            exit_code: code,
            killed_after_grace: true,
        })
    }

    /// Stops the service (SIGTERM, the spec's grace), starts it again and waits for health.
    pub async fn restart_service(&mut self) -> Result<RestartReport, SandboxError> {
        let stop = self.stop_service(self.spec.service.stop_grace).await?;
        self.backend.restart_service(&self.run).await?;
        self.set_kill_reason(None);
        self.service_ip = None;
        let failure = self.wait_healthy(self.spec.service.health.timeout).await?;
        Ok(RestartReport {
            stop,
            startup_seconds: self.report.startup_seconds,
            failure,
        })
    }

    /// Starts the (stopped) service again and waits up to the health limit. Returns the
    /// failure when it did not come back.
    pub async fn start_service(&mut self) -> Result<Option<SandboxFailure>, SandboxError> {
        self.backend.restart_service(&self.run).await?;
        self.set_kill_reason(None);
        self.service_ip = None;
        self.report.failure = None;
        self.wait_healthy(self.spec.service.health.timeout).await
    }

    /// Runs `command` inside the running service container (its user, its limits).
    pub async fn exec_service(
        &self,
        command: &[String],
        timeout: Duration,
    ) -> Result<super::ExecResult, SandboxError> {
        if !self.backend.capabilities().exec_in_service {
            return Err(SandboxError::Invalid(format!(
                "this engine ({}) cannot run commands inside the service",
                self.backend.endpoint()
            )));
        }
        self.backend.service_exec(&self.run, command, timeout).await
    }

    /// Runs `command` to completion in a fresh container of `image` (a stage of the
    /// submission's Dockerfile), on the run network beside the sidecars, with the service's
    /// environment and limits; its root filesystem is writable (tests write caches and build
    /// outputs) but capped like the service's files, and it is removed afterwards.
    pub async fn run_task(
        &self,
        image: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<super::ExecResult, SandboxError> {
        let facts = self.backend.image_facts(image).await?.ok_or_else(|| {
            SandboxError::Invalid(format!("the image `{image}` does not exist locally"))
        })?;
        let mut service = self.spec.service.clone();
        service.image = image.to_owned();
        let mut hardening = self.spec.hardening.clone();
        hardening.read_only_rootfs = false;
        self.backend
            .run_task(&self.run, &service, &hardening, &facts, command, timeout)
            .await
    }

    /// SIGKILL; returns the exit code.
    pub async fn kill(&mut self) -> Result<Option<i64>, SandboxError> {
        if self.kill_reason().is_none() {
            self.set_kill_reason(Some(KillReason::Requested));
        }
        kill_service(&self.backend, &self.run).await
    }

    /// The service's exit, or `None` while it runs.
    pub async fn exit_status(&self) -> Result<Option<ExitStatus>, SandboxError> {
        Ok(match self.backend.service_state(&self.run).await? {
            WorkloadState::Running => None,
            WorkloadState::Exited { code, oom_killed } => Some(self.judge_exit(code, oom_killed)),
            WorkloadState::Missing => Some(ExitStatus {
                code: -1,
                oom: false,
            }),
        })
    }

    /// The last `cap` bytes of the service's stdout and stderr (lossy UTF-8).
    pub async fn logs(&self, cap: usize) -> Result<String, SandboxError> {
        self.backend.service_logs(&self.run, cap).await
    }

    /// Takes one resource sample outside the monitor's rhythm (nothing when the service is
    /// gone: its last figures stand).
    async fn sample_usage(&self) {
        match self.backend.service_usage(&self.run).await {
            Ok(Some(sample)) if sample.cpu_total_ns > 0 || sample.memory_bytes > 0 => {
                record_sample(&self.monitor, sample)
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "resource sample failed"),
        }
    }

    /// Peak memory and CPU time so far.
    pub fn usage(&self) -> ResourceUsage {
        self.monitor.lock().map(|m| m.usage()).unwrap_or_default()
    }

    /// Why the sandbox killed the service, if it did.
    pub fn kill_reason(&self) -> Option<KillReason> {
        self.monitor.lock().ok().and_then(|m| m.kill)
    }

    /// The service's address on the run network (reachable from the grading host).
    pub fn service_addr(&self) -> Option<SocketAddr> {
        self.service_ip
            .map(|ip| SocketAddr::new(ip, self.spec.service.port))
    }

    /// `http://<service address>`.
    pub fn service_url(&self) -> Option<String> {
        self.service_addr().map(|a| format!("http://{a}"))
    }

    /// A sidecar's address on the run network (reachable from the grading host).
    pub fn sidecar_addr(&self, name: &str) -> Option<IpAddr> {
        self.sidecar_ips.get(name).copied()
    }

    pub fn run_id(&self) -> &str {
        &self.spec.run_id
    }

    pub fn spec(&self) -> &SandboxSpec {
        &self.spec
    }

    /// The backend's handle of this run (network, bridge names for Docker).
    pub fn backend_run(&self) -> &B::Run {
        &self.run
    }

    /// The report so far (build fields are the caller's, see `BuildOutcome::apply_to`).
    pub fn report(&self) -> &SandboxReport {
        &self.report
    }

    /// Why the service is not usable, if it is not.
    pub fn failure(&self) -> Option<&SandboxFailure> {
        self.report.failure.as_ref()
    }

    /// True when the service became healthy and has not failed since.
    pub fn is_healthy(&self) -> bool {
        self.report.became_healthy && self.report.failure.is_none()
    }

    /// Removes everything of the run. Idempotent.
    pub async fn teardown(&mut self) -> Result<CleanupReport, SandboxError> {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if self.torn_down {
            return Ok(CleanupReport::default());
        }
        let report = self.backend.teardown(&self.run).await?;
        self.torn_down = true;
        if !report.errors.is_empty() {
            tracing::warn!(run_id = %self.spec.run_id, errors = ?report.errors, "teardown left something behind");
        }
        Ok(report)
    }

    /// Completes the report (service log tail, resource figures), tears down, returns it.
    pub async fn finish(mut self, log_cap: usize) -> Result<SandboxReport, SandboxError> {
        match self.backend.service_logs(&self.run, log_cap).await {
            Ok(log) => self.report.service_log = log,
            Err(e) if e.is_infrastructure() => return Err(e),
            Err(e) => tracing::warn!(error = %e, "service log unavailable"),
        }
        self.sample_usage().await;
        let usage = self.usage();
        self.report.peak_memory_bytes = usage.peak_memory_bytes;
        self.report.cpu_seconds = usage.cpu_seconds;
        self.teardown().await?;
        Ok(std::mem::take(&mut self.report))
    }
}

impl<B: Backend> Drop for Sandbox<B> {
    fn drop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if !self.torn_down {
            tracing::warn!(run_id = %self.spec.run_id, "sandbox dropped without teardown: cleaning up");
            let report = self.backend.cleanup_run_blocking(&self.spec.run_id);
            if !report.errors.is_empty() {
                tracing::warn!(errors = ?report.errors, "cleanup on drop left something behind; `gc` will retry");
            }
            self.torn_down = true;
        }
    }
}

#[cfg(test)]
mod tests;
