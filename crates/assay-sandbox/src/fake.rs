//! [`FakeBackend`]: a scripted engine for tests of the [`super::Sandbox`] state machine
//! without Docker. Each test says how its service behaves (healthy after N probes or never,
//! dies at time T, exits on SIGTERM or ignores it) and how its sidecars do (fail to start,
//! exit, ready after N readiness commands); the fake keeps a registry of the containers and
//! networks it holds, so a test can check that nothing is left after any path.
//!
//! The service answers the sandbox's real health probe: each start binds an HTTP listener
//! on a loopback address of its own (`127.x.y.z`, the spec's port), which answers 503 until
//! the script says healthy and 200 after.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::SandboxError;
use super::backend::{
    BuildEnd, BuildResult, Capabilities, CleanupReport, ExecResult, GcReport, ImageBuild,
    ImageFacts, ImageStore, RunIsolation, Runtime, StoredImage, UsageSample, WorkloadState,
};
use super::spec::{Hardening, ServiceSpec, SidecarSpec};

/// How the service behaves after one start (the first start uses the first script, the
/// second the second, …; the last repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceScript {
    /// Answers 2xx from this probe on (1 = the first); `None`: never (503 forever).
    pub healthy_after_probes: Option<u32>,
    /// Exits by itself this long after the start, with this code.
    pub dies_after: Option<(Duration, i64)>,
    /// What SIGTERM does.
    pub on_sigterm: OnSigterm,
    /// Memory reported while it runs.
    pub memory_bytes: u64,
    /// Bytes of its writable layer (what it wrote outside tmpfs).
    pub writable_bytes: u64,
}

impl Default for ServiceScript {
    fn default() -> Self {
        ServiceScript {
            healthy_after_probes: Some(1),
            dies_after: None,
            on_sigterm: OnSigterm::Exit { code: 0 },
            memory_bytes: 10 << 20,
            writable_bytes: 0,
        }
    }
}

impl ServiceScript {
    /// Healthy from probe `n` on.
    pub fn healthy_after(n: u32) -> ServiceScript {
        ServiceScript {
            healthy_after_probes: Some(n),
            ..ServiceScript::default()
        }
    }

    /// Never answers 2xx.
    pub fn never_healthy() -> ServiceScript {
        ServiceScript {
            healthy_after_probes: None,
            ..ServiceScript::default()
        }
    }

    /// Exits with `code` `after` its start.
    pub fn dies_after(mut self, after: Duration, code: i64) -> ServiceScript {
        self.dies_after = Some((after, code));
        self
    }

    /// Keeps running on SIGTERM (only SIGKILL stops it).
    pub fn ignores_sigterm(mut self) -> ServiceScript {
        self.on_sigterm = OnSigterm::Ignore;
        self
    }

    pub fn writable_bytes(mut self, bytes: u64) -> ServiceScript {
        self.writable_bytes = bytes;
        self
    }
}

/// What the service does on SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSigterm {
    Exit { code: i64 },
    Ignore,
}

/// How a sidecar behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SidecarScript {
    /// The engine refuses to start it (its container is created, not started).
    pub fails_to_start: bool,
    /// It exits at once with this code after starting.
    pub exits_with: Option<i64>,
    /// Its readiness command succeeds from this attempt on (0 or 1: the first).
    pub ready_after_checks: u32,
}

/// One container the fake holds.
#[derive(Debug)]
struct Workload {
    state: WorkloadState,
    started: Instant,
    /// Starts so far (1 after the first).
    starts: usize,
    /// Health probes (service) or readiness commands (sidecar) answered since the start.
    checks: u32,
    addr: Option<IpAddr>,
    /// The port it listens on (the service's).
    port: u16,
    server: Option<JoinHandle<()>>,
}

impl Workload {
    fn stopped(&mut self, code: i64) {
        self.state = WorkloadState::Exited {
            code,
            oom_killed: false,
        };
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// One run the fake holds: its network and containers (`service` and the sidecars' names).
#[derive(Debug, Default)]
struct FakeRun {
    containers: BTreeMap<String, Workload>,
}

#[derive(Debug, Default)]
struct FakeState {
    images: HashMap<String, ImageFacts>,
    runs: BTreeMap<String, FakeRun>,
    service_scripts: Vec<ServiceScript>,
    sidecar_scripts: HashMap<String, SidecarScript>,
    /// Signals and commands received, in order (`"service SIGTERM"`, …).
    calls: Vec<String>,
    capabilities: Option<Capabilities>,
    next_image: u32,
}

/// The fake's handle of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRunHandle {
    pub run_id: String,
}

const SERVICE: &str = "service";

/// A scripted, in-memory engine. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct FakeBackend {
    state: Arc<Mutex<FakeState>>,
}

/// Loopback addresses handed to fake services, unique within the process.
static NEXT_ADDR: AtomicU32 = AtomicU32::new(0);

fn next_loopback() -> Ipv4Addr {
    // The second octet from the process id: tests of other processes on the machine use
    // other addresses (a bind that fails anyway moves on to the next one).
    let n = NEXT_ADDR.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    Ipv4Addr::new(
        127,
        u8::try_from(pid % 200 + 20).unwrap_or(20),
        u8::try_from((n / 250) % 256).unwrap_or(0),
        u8::try_from(n % 250 + 2).unwrap_or(2),
    )
}

impl FakeBackend {
    /// A fake holding `image` (runs as a non-root user), whose service is healthy at once and
    /// whose sidecars are ready at once.
    pub fn new(image: &str) -> FakeBackend {
        let fake = FakeBackend::default();
        fake.add_image(image, "1000");
        fake
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a local image whose processes run as `user`.
    pub fn add_image(&self, image: &str, user: &str) {
        let mut state = self.lock();
        state.next_image += 1;
        let id = format!("sha256:fake{:04}", state.next_image);
        state.images.insert(
            image.to_owned(),
            ImageFacts {
                id,
                user: user.to_owned(),
                volumes: Vec::new(),
                labels: HashMap::new(),
            },
        );
    }

    /// The service's behaviour per start (the last repeats).
    pub fn script_service(&self, scripts: Vec<ServiceScript>) -> &FakeBackend {
        self.lock().service_scripts = scripts;
        self
    }

    pub fn script_sidecar(&self, name: &str, script: SidecarScript) -> &FakeBackend {
        self.lock().sidecar_scripts.insert(name.to_owned(), script);
        self
    }

    pub fn set_capabilities(&self, capabilities: Capabilities) -> &FakeBackend {
        self.lock().capabilities = Some(capabilities);
        self
    }

    /// Containers alive in the registry, as `run/name`.
    pub fn live_containers(&self) -> Vec<String> {
        self.lock()
            .runs
            .iter()
            .flat_map(|(run, r)| r.containers.keys().map(move |c| format!("{run}/{c}")))
            .collect()
    }

    /// Networks alive in the registry (one per run).
    pub fn live_networks(&self) -> Vec<String> {
        self.lock().runs.keys().cloned().collect()
    }

    /// Signals and commands received so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Health probes the current start of run `run_id`'s service has answered.
    pub fn service_probes(&self, run_id: &str) -> u32 {
        self.lock()
            .runs
            .get(run_id)
            .and_then(|r| r.containers.get(SERVICE))
            .map_or(0, |w| w.checks)
    }

    fn service_script(state: &FakeState, starts: usize) -> ServiceScript {
        state
            .service_scripts
            .get(starts.saturating_sub(1))
            .or(state.service_scripts.last())
            .cloned()
            .unwrap_or_default()
    }

    /// The script of the service's current start in `run_id` (the first start's before any).
    fn current_script(&self, run_id: &str) -> ServiceScript {
        let state = self.lock();
        let starts = state
            .runs
            .get(run_id)
            .and_then(|r| r.containers.get(SERVICE))
            .map_or(0, |w| w.starts);
        FakeBackend::service_script(&state, starts)
    }

    /// Applies time: a service whose script says it dies by now has exited.
    fn advance(state: &mut FakeState, run_id: &str) {
        let Some(run) = state.runs.get(run_id) else {
            return;
        };
        let Some(service) = run.containers.get(SERVICE) else {
            return;
        };
        let script = FakeBackend::service_script(state, service.starts);
        if service.state == WorkloadState::Running
            && let Some((after, code)) = script.dies_after
            && service.started.elapsed() >= after
            && let Some(service) = state
                .runs
                .get_mut(run_id)
                .and_then(|r| r.containers.get_mut(SERVICE))
        {
            service.stopped(code);
        }
    }

    fn workload<T>(
        &self,
        run_id: &str,
        name: &str,
        f: impl FnOnce(&mut Workload) -> T,
    ) -> Result<T, SandboxError> {
        let mut state = self.lock();
        FakeBackend::advance(&mut state, run_id);
        state
            .runs
            .get_mut(run_id)
            .and_then(|r| r.containers.get_mut(name))
            .map(f)
            .ok_or_else(|| SandboxError::Docker {
                call: "fake",
                status: Some(404),
                message: format!("no container `{name}` in run `{run_id}`"),
            })
    }

    fn state_of(&self, run_id: &str, name: &str) -> WorkloadState {
        self.workload(run_id, name, |w| w.state)
            .unwrap_or(WorkloadState::Missing)
    }

    /// Starts the service's HTTP listener for its current start.
    async fn serve(&self, run_id: &str, port: u16) -> Result<(), SandboxError> {
        let mut bound = None;
        for _ in 0..64 {
            let ip = next_loopback();
            if let Ok(listener) = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port)).await {
                bound = Some((ip, listener));
                break;
            }
        }
        let Some((ip, listener)) = bound else {
            return Err(SandboxError::Invalid(
                "the fake service found no free loopback address".into(),
            ));
        };
        let fake = self.clone();
        let run_id_owned = run_id.to_owned();
        let server = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let status = {
                    let mut state = fake.lock();
                    FakeBackend::advance(&mut state, &run_id_owned);
                    let starts = state
                        .runs
                        .get(&run_id_owned)
                        .and_then(|r| r.containers.get(SERVICE))
                        .map_or(0, |w| w.starts);
                    let script = FakeBackend::service_script(&state, starts);
                    match state
                        .runs
                        .get_mut(&run_id_owned)
                        .and_then(|r| r.containers.get_mut(SERVICE))
                    {
                        Some(w) if w.state == WorkloadState::Running => {
                            w.checks += 1;
                            match script.healthy_after_probes {
                                Some(n) if w.checks >= n => Some(200),
                                _ => Some(503),
                            }
                        }
                        _ => None,
                    }
                };
                if let Some(code) = status {
                    let reply = format!(
                        "HTTP/1.1 {code} Fake\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                }
            }
        });
        let mut state = self.lock();
        match state
            .runs
            .get_mut(run_id)
            .and_then(|r| r.containers.get_mut(SERVICE))
        {
            Some(w) => {
                w.addr = Some(IpAddr::V4(ip));
                if let Some(old) = w.server.replace(server) {
                    old.abort();
                }
                Ok(())
            }
            None => {
                server.abort();
                Err(SandboxError::Invalid("the fake service vanished".into()))
            }
        }
    }

    fn remove_run(&self, run_id: &str) -> CleanupReport {
        let mut report = CleanupReport::default();
        if let Some(run) = self.lock().runs.remove(run_id) {
            report.networks = 1;
            for (_, mut w) in run.containers {
                if let Some(server) = w.server.take() {
                    server.abort();
                }
                report.containers += 1;
            }
        }
        report
    }

    fn record(&self, call: String) {
        self.lock().calls.push(call);
    }
}

impl ImageStore for FakeBackend {
    fn endpoint(&self) -> String {
        "fake://".to_owned()
    }

    async fn image_facts(&self, image: &str) -> Result<Option<ImageFacts>, SandboxError> {
        let state = self.lock();
        Ok(state
            .images
            .get(image)
            .or_else(|| state.images.values().find(|f| f.id == image))
            .cloned())
    }

    async fn build_image(&self, build: ImageBuild<'_>) -> Result<BuildResult, SandboxError> {
        self.add_image(build.tag, "1000");
        let mut state = self.lock();
        let id = state
            .images
            .get(build.tag)
            .map(|f| f.id.clone())
            .unwrap_or_default();
        if let Some(facts) = state.images.get_mut(build.tag) {
            facts.labels = build.labels.clone();
        }
        Ok(BuildResult {
            end: BuildEnd::Built { image_id: id },
            log: String::new(),
            seconds: 0.0,
        })
    }

    async fn tag_image(&self, image: &str, reference: &str) -> Result<(), SandboxError> {
        let mut state = self.lock();
        let facts = state
            .images
            .get(image)
            .or_else(|| state.images.values().find(|f| f.id == image))
            .cloned()
            .ok_or_else(|| SandboxError::Invalid(format!("no image `{image}`")))?;
        state.images.insert(reference.to_owned(), facts);
        Ok(())
    }

    async fn remove_image(&self, image: &str) -> Result<bool, SandboxError> {
        let mut state = self.lock();
        state
            .images
            .retain(|reference, f| reference != image && f.id != image);
        Ok(true)
    }

    async fn list_images(&self, repository: &str) -> Result<Vec<StoredImage>, SandboxError> {
        let prefix = format!("{repository}:");
        let mut listed: Vec<StoredImage> = Vec::new();
        for (reference, f) in &self.lock().images {
            if reference.starts_with(&prefix) && !listed.iter().any(|i| i.id == f.id) {
                listed.push(StoredImage {
                    id: f.id.clone(),
                    created_unix: 0,
                });
            }
        }
        Ok(listed)
    }
}

impl Runtime for FakeBackend {
    type Run = FakeRunHandle;

    fn capabilities(&self) -> Capabilities {
        self.lock().capabilities.unwrap_or(Capabilities {
            isolation: RunIsolation::None,
            writable_layer_measurement: true,
            exec_in_service: true,
        })
    }

    async fn create_run(&self, run_id: &str) -> Result<FakeRunHandle, SandboxError> {
        let mut state = self.lock();
        if state.runs.contains_key(run_id) {
            return Err(SandboxError::RunIdInUse(run_id.to_owned()));
        }
        state.runs.insert(run_id.to_owned(), FakeRun::default());
        Ok(FakeRunHandle {
            run_id: run_id.to_owned(),
        })
    }

    async fn start_sidecar(
        &self,
        run: &FakeRunHandle,
        sidecar: &SidecarSpec,
    ) -> Result<(), SandboxError> {
        let mut state = self.lock();
        let script = state
            .sidecar_scripts
            .get(&sidecar.name)
            .cloned()
            .unwrap_or_default();
        let n = state
            .runs
            .get(&run.run_id)
            .map_or(0, |r| r.containers.len());
        let fake_run = state
            .runs
            .get_mut(&run.run_id)
            .ok_or_else(|| SandboxError::Invalid(format!("no run `{}`", run.run_id)))?;
        // Created first, then started: a refused start leaves the created container.
        fake_run.containers.insert(
            sidecar.name.clone(),
            Workload {
                state: WorkloadState::Exited {
                    code: 0,
                    oom_killed: false,
                },
                started: Instant::now(),
                starts: 0,
                checks: 0,
                addr: Some(IpAddr::V4(Ipv4Addr::new(
                    10,
                    99,
                    0,
                    u8::try_from(n % 250 + 2).unwrap_or(2),
                ))),
                port: 0,
                server: None,
            },
        );
        if script.fails_to_start {
            return Err(SandboxError::Docker {
                call: "start container",
                status: Some(500),
                message: format!("the fake refuses to start `{}`", sidecar.name),
            });
        }
        if let Some(w) = fake_run.containers.get_mut(&sidecar.name) {
            w.starts = 1;
            w.state = match script.exits_with {
                Some(code) => WorkloadState::Exited {
                    code,
                    oom_killed: false,
                },
                None => WorkloadState::Running,
            };
        }
        Ok(())
    }

    async fn sidecar_exec(
        &self,
        run: &FakeRunHandle,
        sidecar: &str,
        command: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, SandboxError> {
        self.record(format!("{sidecar} exec {}", command.join(" ")));
        let ready_after = self
            .lock()
            .sidecar_scripts
            .get(sidecar)
            .map_or(0, |s| s.ready_after_checks);
        self.workload(&run.run_id, sidecar, |w| {
            w.checks += 1;
            let ok = w.state == WorkloadState::Running && w.checks >= ready_after;
            ExecResult {
                exit_code: Some(if ok { 0 } else { 1 }),
                output: if ok {
                    String::new()
                } else {
                    "not ready".into()
                },
            }
        })
    }

    async fn service_exec(
        &self,
        run: &FakeRunHandle,
        command: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, SandboxError> {
        self.record(format!("service exec {}", command.join(" ")));
        let running = self.state_of(&run.run_id, SERVICE) == WorkloadState::Running;
        Ok(ExecResult {
            exit_code: Some(if running { 0 } else { 126 }),
            output: String::new(),
        })
    }

    async fn run_task(
        &self,
        _run: &FakeRunHandle,
        service: &ServiceSpec,
        _hardening: &Hardening,
        _image: &ImageFacts,
        command: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, SandboxError> {
        self.record(format!("task {} {}", service.image, command.join(" ")));
        Ok(ExecResult {
            exit_code: Some(0),
            output: String::new(),
        })
    }

    async fn signal_sidecar(
        &self,
        run: &FakeRunHandle,
        sidecar: &str,
        signal: &str,
    ) -> Result<(), SandboxError> {
        self.record(format!("{sidecar} {signal}"));
        self.workload(&run.run_id, sidecar, |w| {
            if w.state == WorkloadState::Running {
                w.stopped(if signal == "SIGKILL" { 137 } else { 0 });
            }
        })
    }

    async fn resume_sidecar(&self, run: &FakeRunHandle, sidecar: &str) -> Result<(), SandboxError> {
        self.record(format!("{sidecar} start"));
        self.workload(&run.run_id, sidecar, |w| {
            w.state = WorkloadState::Running;
            w.started = Instant::now();
            w.starts += 1;
            w.checks = 0;
        })
    }

    async fn sidecar_state(
        &self,
        run: &FakeRunHandle,
        sidecar: &str,
    ) -> Result<WorkloadState, SandboxError> {
        Ok(self.state_of(&run.run_id, sidecar))
    }

    async fn start_service(
        &self,
        run: &FakeRunHandle,
        service: &ServiceSpec,
        _hardening: &Hardening,
        _image: &ImageFacts,
    ) -> Result<(), SandboxError> {
        self.record("service start".to_owned());
        {
            let mut state = self.lock();
            let fake_run = state
                .runs
                .get_mut(&run.run_id)
                .ok_or_else(|| SandboxError::Invalid(format!("no run `{}`", run.run_id)))?;
            fake_run.containers.insert(
                SERVICE.to_owned(),
                Workload {
                    state: WorkloadState::Running,
                    started: Instant::now(),
                    starts: 1,
                    checks: 0,
                    addr: None,
                    port: service.port,
                    server: None,
                },
            );
        }
        self.serve(&run.run_id, service.port).await
    }

    async fn restart_service(&self, run: &FakeRunHandle) -> Result<(), SandboxError> {
        self.record("service start".to_owned());
        let stopped = self.workload(&run.run_id, SERVICE, |w| {
            if w.state == WorkloadState::Running {
                return None;
            }
            w.state = WorkloadState::Running;
            w.started = Instant::now();
            w.starts += 1;
            w.checks = 0;
            w.addr = None;
            Some(w.port)
        })?;
        match stopped {
            // Like the engine, starting a running container changes nothing.
            None => Ok(()),
            Some(port) => self.serve(&run.run_id, port).await,
        }
    }

    async fn service_addr(&self, run: &FakeRunHandle) -> Result<Option<IpAddr>, SandboxError> {
        self.workload(&run.run_id, SERVICE, |w| w.addr)
    }

    async fn sidecar_addr(
        &self,
        run: &FakeRunHandle,
        sidecar: &str,
    ) -> Result<Option<IpAddr>, SandboxError> {
        self.workload(&run.run_id, sidecar, |w| w.addr)
    }

    async fn service_state(&self, run: &FakeRunHandle) -> Result<WorkloadState, SandboxError> {
        Ok(self.state_of(&run.run_id, SERVICE))
    }

    async fn signal_service(&self, run: &FakeRunHandle, signal: &str) -> Result<(), SandboxError> {
        self.record(format!("service {signal}"));
        let on_sigterm = self.current_script(&run.run_id).on_sigterm;
        self.workload(&run.run_id, SERVICE, |w| {
            if w.state != WorkloadState::Running {
                return;
            }
            match (signal, on_sigterm) {
                ("SIGKILL", _) => w.stopped(137),
                ("SIGTERM", OnSigterm::Exit { code }) => w.stopped(code),
                _ => {}
            }
        })
    }

    async fn wait_service_exit(
        &self,
        run: &FakeRunHandle,
        timeout: Duration,
    ) -> Result<Option<i64>, SandboxError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.state_of(&run.run_id, SERVICE) {
                WorkloadState::Exited { code, .. } => return Ok(Some(code)),
                WorkloadState::Missing => return Ok(None),
                WorkloadState::Running => {}
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn service_logs(&self, run: &FakeRunHandle, cap: usize) -> Result<String, SandboxError> {
        let starts = self.workload(&run.run_id, SERVICE, |w| w.starts)?;
        let log = "fake service started\n".repeat(starts);
        let keep = log.len().min(cap);
        Ok(log[log.len() - keep..].to_owned())
    }

    async fn service_usage(
        &self,
        run: &FakeRunHandle,
    ) -> Result<Option<UsageSample>, SandboxError> {
        let memory = self.current_script(&run.run_id).memory_bytes;
        Ok(self
            .workload(&run.run_id, SERVICE, |w| {
                (w.state == WorkloadState::Running).then(|| UsageSample {
                    memory_bytes: memory,
                    max_memory_bytes: None,
                    cpu_total_ns: u64::try_from(w.started.elapsed().as_nanos())
                        .unwrap_or(u64::MAX)
                        .max(1),
                })
            })
            .ok()
            .flatten())
    }

    async fn service_writable_bytes(
        &self,
        run: &FakeRunHandle,
    ) -> Result<Option<u64>, SandboxError> {
        let state = self.lock();
        let Some(w) = state
            .runs
            .get(&run.run_id)
            .and_then(|r| r.containers.get(SERVICE))
        else {
            return Ok(None);
        };
        Ok(Some(
            FakeBackend::service_script(&state, w.starts).writable_bytes,
        ))
    }

    async fn teardown(&self, run: &FakeRunHandle) -> Result<CleanupReport, SandboxError> {
        Ok(self.remove_run(&run.run_id))
    }

    async fn cleanup_run(&self, run_id: &str) -> Result<CleanupReport, SandboxError> {
        Ok(self.remove_run(run_id))
    }

    fn cleanup_run_blocking(&self, run_id: &str) -> CleanupReport {
        self.remove_run(run_id)
    }

    async fn gc(&self) -> Result<GcReport, SandboxError> {
        // Every run the fake still holds counts as a dead run's leftovers.
        let runs = self.live_networks();
        let mut removed = CleanupReport::default();
        for run in &runs {
            removed.absorb(self.remove_run(run));
        }
        Ok(GcReport { runs, removed })
    }
}
