//! The seam between assay's sandbox logic and a container engine: two traits, an
//! [`ImageStore`] (build, inspect, tag, list and remove images) and a [`Runtime`] (a run's
//! isolated network, its sidecars, the hardened service and its teardown), with what differs
//! between engines stated as [`Capabilities`]. [`Backend`] is both. Docker implements them
//! (`assay_docker::DockerBackend`); the scripted [`super::fake::FakeBackend`] tests the state
//! machine without an engine; a Kubernetes backend can follow. Timing, health checking,
//! resource accounting and reporting live above the traits, in [`super::Sandbox`], and are
//! shared by every backend.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::SandboxError;
use super::spec::{Hardening, ServiceSpec, SidecarSpec};

/// What assay needs to know of a local image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub id: String,
    /// The configured user (`""` when unset, i.e. root).
    pub user: String,
    /// Paths declared with `VOLUME` (mounted as capped tmpfs instead of host volumes).
    pub volumes: Vec<String>,
    pub labels: HashMap<String, String>,
}

impl ImageFacts {
    /// True when the image's processes run as root: no user, `0`, `root`, or `0:…`/`root:…`.
    pub fn runs_as_root(&self) -> bool {
        let user = self.user.trim();
        let name = user.split(':').next().unwrap_or("");
        name.is_empty() || name == "0" || name == "root"
    }
}

/// CPU and memory limits of a build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildResources {
    /// Memory (and memory + swap, i.e. no swap). Docker's build API takes a 32-bit value,
    /// so anything above 2 GiB − 1 is clamped.
    pub memory_bytes: u64,
    /// CPUs (e.g. 1.5), as a CFS quota over a 100 ms period.
    pub cpus: f64,
    /// Bytes the build may write (its layers plus the running step's writable layer).
    pub disk_bytes: u64,
    /// Processes of one build step.
    pub pids: i64,
}

/// What a build's `RUN` steps may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEgress {
    /// assay's own recipes: the outside world, not the grading host.
    Direct,
    /// A submission: these registries' domains only (a leading dot: and their subdomains),
    /// through an allow-listing proxy; no other host, address or port.
    Registries(Vec<String>),
}

/// The registries a submission's build reaches by default (the assessment format's).
pub use assay_format::DEFAULT_REGISTRIES;

impl BuildEgress {
    /// [`DEFAULT_REGISTRIES`].
    pub fn default_registries() -> BuildEgress {
        BuildEgress::Registries(DEFAULT_REGISTRIES.iter().map(|d| (*d).to_owned()).collect())
    }
}

/// One image build as the backend sees it: a packed context and its options.
#[derive(Clone)]
pub struct ImageBuild<'a> {
    pub context_tar: &'a Path,
    pub tag: &'a str,
    pub dockerfile: &'a str,
    /// The stage to build (`--target`); `None`: the final stage.
    pub target: Option<String>,
    pub labels: HashMap<String, String>,
    /// `None` = unlimited (assay's own recipes).
    pub resources: Option<BuildResources>,
    /// Build arguments: the host's proxy settings as Docker's predefined arguments
    /// (`HTTP_PROXY`, …), which reach `RUN` steps and are kept out of the image's history.
    pub build_args: HashMap<String, String>,
    /// What the build's steps may reach.
    pub egress: BuildEgress,
    pub time_limit: Duration,
    /// Bytes of build log kept (the tail).
    pub log_cap_bytes: usize,
    /// Called with each line of build output as it arrives (progress displays).
    pub on_line: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

impl fmt::Debug for ImageBuild<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageBuild")
            .field("context_tar", &self.context_tar)
            .field("tag", &self.tag)
            .field("dockerfile", &self.dockerfile)
            .field("target", &self.target)
            .field("resources", &self.resources)
            .field("build_args", &self.build_args.keys().collect::<Vec<_>>())
            .field("egress", &self.egress)
            .field("time_limit", &self.time_limit)
            .finish_non_exhaustive()
    }
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEnd {
    Built {
        image_id: String,
    },
    /// The engine refused or a step failed; `reason` is its message.
    Failed {
        reason: String,
    },
    /// Cancelled at the time limit.
    TimedOut,
}

/// A build's end, its log tail and duration.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub end: BuildEnd,
    pub log: String,
    pub seconds: f64,
}

/// The state of a workload (container, pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadState {
    Running,
    Exited {
        code: i64,
        oom_killed: bool,
    },
    /// Gone (removed, never created).
    Missing,
}

/// One reading of a workload's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageSample {
    pub memory_bytes: u64,
    /// The cgroup's own high-water mark, where the engine reports it (cgroup v1).
    pub max_memory_bytes: Option<u64>,
    /// CPU time used since the workload (re)started, in nanoseconds.
    pub cpu_total_ns: u64,
}

/// The result of a command run inside a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// `None` when it did not finish in time.
    pub exit_code: Option<i64>,
    /// Its output, capped.
    pub output: String,
}

/// What a cleanup removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub firewall_rules: usize,
    /// Removals that failed (the resource may remain; `gc` retries later).
    pub errors: Vec<String>,
}

impl CleanupReport {
    /// Adds `other`'s counts and errors to this report.
    pub fn absorb(&mut self, other: CleanupReport) {
        self.containers += other.containers;
        self.networks += other.networks;
        self.volumes += other.volumes;
        self.firewall_rules += other.firewall_rules;
        self.errors.extend(other.errors);
    }
}

/// What [`Runtime::gc`] removed: leftovers of runs whose assay process is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Run ids whose leftovers were removed.
    pub runs: Vec<String>,
    pub removed: CleanupReport,
}

/// How a run's network is kept from the grading host and the outside world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunIsolation {
    /// Rules in the host's firewall on the run network's bridge (Docker).
    HostFirewall,
    /// The cluster's network policy (a Kubernetes namespace per run).
    NetworkPolicy,
    /// Nothing real: a scripted engine in tests.
    None,
}

/// What differs between engines, stated as abilities rather than engine verbs; the sandbox
/// asks these instead of knowing which engine it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub isolation: RunIsolation,
    /// The bytes a service wrote to its writable layer can be measured (the watchdog of a
    /// writable root filesystem runs only then).
    pub writable_layer_measurement: bool,
    /// Commands can run inside the running service container.
    pub exec_in_service: bool,
}

/// An image the store holds, as [`ImageStore::list_images`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub id: String,
    /// When it was made, seconds since the Unix epoch.
    pub created_unix: u64,
}

/// Where images are built and kept (the engine's image store, or a builder and a registry
/// a cluster pulls from). Every method has its own time limit.
pub trait ImageStore: Clone + Send + Sync + fmt::Debug + 'static {
    /// Where the store is (for messages).
    fn endpoint(&self) -> String;

    /// Facts of a local image, `None` when it does not exist.
    fn image_facts(
        &self,
        image: &str,
    ) -> impl Future<Output = Result<Option<ImageFacts>, SandboxError>> + Send;

    /// Builds an image. A failing or timed-out build is `Ok` with that [`BuildEnd`].
    fn build_image(
        &self,
        build: ImageBuild<'_>,
    ) -> impl Future<Output = Result<BuildResult, SandboxError>> + Send;

    /// Gives `image` (an id or a reference) the reference `reference` (`repo:tag`), moving
    /// the tag if another image holds it.
    fn tag_image(
        &self,
        image: &str,
        reference: &str,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Removes an image (an id or a reference) if no container uses it; `Ok(false)` when it
    /// is in use and was kept.
    fn remove_image(&self, image: &str) -> impl Future<Output = Result<bool, SandboxError>> + Send;

    /// The images tagged `<repository>:<tag>` (e.g. `assay-sub`), each once, with when each
    /// was made.
    fn list_images(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<Vec<StoredImage>, SandboxError>> + Send;
}

/// A container engine running workloads as the sandbox uses it. Every method has its own
/// time limit; none may block for long whatever the workload does.
///
/// A run is: an isolated network that cannot reach the grading host or the outside world,
/// sidecars on it, and one hardened service. `Run` is the runtime's handle for those.
pub trait Runtime: Clone + Send + Sync + fmt::Debug + 'static {
    type Run: Clone + Send + Sync + fmt::Debug + 'static;

    /// What this engine can do where engines differ.
    fn capabilities(&self) -> Capabilities;

    /// Creates the run's isolated network (firewalled or policed, see
    /// [`Capabilities::isolation`]).
    fn create_run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Self::Run, SandboxError>> + Send;

    /// Starts a sidecar (not waiting for readiness).
    fn start_sidecar(
        &self,
        run: &Self::Run,
        sidecar: &SidecarSpec,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Runs `command` in a sidecar, waiting at most `timeout`.
    fn sidecar_exec(
        &self,
        run: &Self::Run,
        sidecar: &str,
        command: &[String],
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecResult, SandboxError>> + Send;

    /// Runs `command` inside the running service container (as its user, under its
    /// hardening); output capped, stopped waiting after `timeout`. Only called when
    /// [`Capabilities::exec_in_service`] is true.
    fn service_exec(
        &self,
        run: &Self::Run,
        command: &[String],
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecResult, SandboxError>> + Send;

    /// Runs `command` to completion in a fresh container of `image` on the run's network,
    /// beside the sidecars, with the service's environment, hardening and limits; output
    /// capped, stopped after `timeout` (exit code `None` then); the container is removed
    /// afterwards. For the candidate's tests in a stage other than the service's.
    #[allow(clippy::too_many_arguments)]
    fn run_task(
        &self,
        run: &Self::Run,
        service: &ServiceSpec,
        hardening: &Hardening,
        image: &ImageFacts,
        command: &[String],
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecResult, SandboxError>> + Send;

    /// Sends `signal` to a sidecar; a stopped sidecar is not an error.
    fn signal_sidecar(
        &self,
        run: &Self::Run,
        sidecar: &str,
        signal: &str,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Starts a stopped sidecar again, same container (not waiting for readiness).
    fn resume_sidecar(
        &self,
        run: &Self::Run,
        sidecar: &str,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// State of a sidecar.
    fn sidecar_state(
        &self,
        run: &Self::Run,
        sidecar: &str,
    ) -> impl Future<Output = Result<WorkloadState, SandboxError>> + Send;

    /// Creates and starts the hardened service.
    fn start_service(
        &self,
        run: &Self::Run,
        service: &ServiceSpec,
        hardening: &Hardening,
        image: &ImageFacts,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Starts the (stopped) service again, same container, same hardening.
    fn restart_service(
        &self,
        run: &Self::Run,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// The service's address on the run network, reachable from the grading host.
    fn service_addr(
        &self,
        run: &Self::Run,
    ) -> impl Future<Output = Result<Option<IpAddr>, SandboxError>> + Send;

    /// A sidecar's address on the run network, reachable from the grading host.
    fn sidecar_addr(
        &self,
        run: &Self::Run,
        sidecar: &str,
    ) -> impl Future<Output = Result<Option<IpAddr>, SandboxError>> + Send;

    fn service_state(
        &self,
        run: &Self::Run,
    ) -> impl Future<Output = Result<WorkloadState, SandboxError>> + Send;

    /// Sends `signal` (e.g. `SIGTERM`) to the service; a stopped service is not an error.
    fn signal_service(
        &self,
        run: &Self::Run,
        signal: &str,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Waits up to `timeout` for the service to exit; its exit code, or `None` if still running.
    fn wait_service_exit(
        &self,
        run: &Self::Run,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<i64>, SandboxError>> + Send;

    /// The last `cap` bytes of the service's stdout and stderr, lossy UTF-8.
    fn service_logs(
        &self,
        run: &Self::Run,
        cap: usize,
    ) -> impl Future<Output = Result<String, SandboxError>> + Send;

    /// One resource reading, `None` when the service is not running.
    fn service_usage(
        &self,
        run: &Self::Run,
    ) -> impl Future<Output = Result<Option<UsageSample>, SandboxError>> + Send;

    /// Bytes in the service's writable layer (what it wrote outside tmpfs); `None` when
    /// unknown. Only called when [`Capabilities::writable_layer_measurement`] is true.
    fn service_writable_bytes(
        &self,
        run: &Self::Run,
    ) -> impl Future<Output = Result<Option<u64>, SandboxError>> + Send;

    /// Removes everything of the run (idempotent).
    fn teardown(
        &self,
        run: &Self::Run,
    ) -> impl Future<Output = Result<CleanupReport, SandboxError>> + Send;

    /// Removes everything labelled with `run_id` (idempotent; for signal handlers).
    fn cleanup_run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<CleanupReport, SandboxError>> + Send;

    /// [`Runtime::cleanup_run`] without an async runtime (from `Drop`, from a panic).
    fn cleanup_run_blocking(&self, run_id: &str) -> CleanupReport;

    /// Removes leftovers of runs whose assay process is gone (killed with -9).
    fn gc(&self) -> impl Future<Output = Result<GcReport, SandboxError>> + Send;
}

/// An engine that both stores images and runs them: what [`super::Sandbox`] and the
/// pipeline are handed. Implemented for every type that is both.
pub trait Backend: ImageStore + Runtime {}

impl<T: ImageStore + Runtime> Backend for T {}

/// How long [`kill_service`] waits for the killed service to be reported gone.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(15);

/// SIGKILL to the service, then waits for its exit; its exit code.
pub(crate) async fn kill_service<R: Runtime>(
    runtime: &R,
    run: &R::Run,
) -> Result<Option<i64>, SandboxError> {
    runtime.signal_service(run, "SIGKILL").await?;
    runtime.wait_service_exit(run, KILL_WAIT).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_detection() {
        let facts = |user: &str| ImageFacts {
            id: String::new(),
            user: user.to_owned(),
            volumes: Vec::new(),
            labels: HashMap::new(),
        };
        for root in ["", "0", "root", "0:0", "root:staff", " "] {
            assert!(facts(root).runs_as_root(), "{root:?}");
        }
        for user in ["1000", "app", "1000:1000", "postgres"] {
            assert!(!facts(user).runs_as_root(), "{user:?}");
        }
    }
}
