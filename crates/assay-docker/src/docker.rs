//! [`DockerBackend`]: the [`Backend`] on a local Docker Engine (API 1.41, Docker 20.10+),
//! through bollard. Every call carries a time limit; nothing here uses an API field newer
//! than 1.41.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum,
    HostConfigLogConfig, NetworkCreateRequest, NetworkingConfig, ResourcesUlimits,
};
use bollard::query_parameters::{
    BuildImageOptions, BuilderVersion, CreateContainerOptions, InspectContainerOptions,
    InspectNetworkOptions, KillContainerOptions, ListContainersOptions, ListImagesOptions,
    ListNetworksOptions, ListVolumesOptions, LogsOptions, RemoveContainerOptions,
    RemoveVolumeOptions, StartContainerOptions, StatsOptions, WaitContainerOptions,
};
use bollard::{ClientVersion, Docker};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use assay_sandbox::labels::{self, Owner};
use assay_sandbox::{
    BuildEgress, BuildEnd, BuildResult, Capabilities, CleanupReport, ExecResult, GcReport,
    Hardening, ImageBuild, ImageFacts, ImageStore, RunIsolation, Runtime, SandboxError, Seccomp,
    ServiceSpec, SidecarSpec, StoredImage, TmpfsMount, UsageSample, WorkloadState,
};

use crate::firewall::{self, BRIDGE_PREFIX, Rule};
use crate::seccomp;
use crate::tail::TailBuffer;
use build_watch::{Breach, StepImages, WatchLimits};

/// The Docker API version assay speaks (Docker Engine 20.10).
pub const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

mod build_net;
mod build_watch;

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";
/// The egress network: where assay's own recipes build (the outside world yes, the grading
/// host no: firewalled like run networks; no inter-container traffic) and where the build
/// proxy of submission builds ([`build_net`]) sits. Shared and long-lived; gc leaves it alone
/// (it has no owner pid).
const BUILD_NETWORK: &str = "assay-build";
const BUILD_BRIDGE: &str = "assay-build0";
const BUILD_RULE_COMMENT: &str = "assay.build-network";
/// The upstream DNS server of run containers: TEST-NET-1 (RFC 5737), routed nowhere. Docker's
/// embedded resolver answers the run's own names (service, sidecars) and forwards every
/// other name to this address, from the container's namespace, which on the run's internal
/// network has no route: external names never resolve. Without it, Docker 20.10 forwards
/// to the host's resolvers, from the host's namespace when those are on loopback
/// (CVE-2024-29018), and a service can leak over DNS what it sees.
pub const RUN_DNS_UPSTREAM: &str = "192.0.2.1";

/// How to reach Docker.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// `unix:///path` or `tcp://host:port`; defaults to `DOCKER_HOST`, then the local socket.
    pub endpoint: String,
    /// Limit of every single (non-streaming) Docker call.
    pub call_timeout: Duration,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            endpoint: std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| DEFAULT_SOCKET.to_owned()),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// A connection to a Docker Engine, pinned to API 1.41.
#[derive(Clone)]
pub struct DockerBackend {
    docker: Docker,
    config: DockerConfig,
    /// The API version spoken: 1.41, or the engine's minimum where it refuses 1.41.
    api: (usize, usize),
    owner: Owner,
}

impl std::fmt::Debug for DockerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerBackend")
            .field("endpoint", &self.config.endpoint)
            .field("owner", &self.owner)
            .finish()
    }
}

/// A run on Docker: its network, bridge and naming.
#[derive(Debug, Clone)]
pub struct DockerRun {
    pub run_id: String,
    pub network: String,
    pub bridge: String,
}

impl DockerRun {
    fn service(&self) -> String {
        format!("assay-{}-service", self.run_id)
    }

    fn sidecar(&self, name: &str) -> String {
        format!("assay-{}-sc-{name}", self.run_id)
    }

    /// The one-off container that runs the candidate's tests.
    fn task(&self) -> String {
        format!("assay-{}-tests", self.run_id)
    }
}

impl DockerBackend {
    /// Connects with [`DockerConfig::default`] and checks the engine answers and speaks 1.41.
    pub async fn connect() -> Result<DockerBackend, SandboxError> {
        DockerBackend::connect_with(DockerConfig::default()).await
    }

    /// Connects to `config.endpoint` and checks the engine answers and speaks API 1.41.
    ///
    /// An engine that no longer accepts 1.41 (Docker 29 and later refuse anything older than
    /// their minimum unless `DOCKER_MIN_API_VERSION` says otherwise) is spoken to at the
    /// oldest version it names instead: assay sends no field newer than 1.41, and the
    /// engines keep the older fields' meaning.
    pub async fn connect_with(config: DockerConfig) -> Result<DockerBackend, SandboxError> {
        let mut backend = DockerBackend::new_unchecked(config.clone(), &API_VERSION)?;
        let mut answer = backend.call("version", backend.docker.version()).await;
        if let Err(SandboxError::Docker {
            status: Some(400),
            message,
            ..
        }) = &answer
            && let Some(min) = minimum_api_in_refusal(message)
        {
            tracing::info!(
                api = %format!("{}.{}", min.major_version, min.minor_version),
                "the engine refuses API 1.41: speaking its minimum version instead"
            );
            backend = DockerBackend::new_unchecked(config, &min)?;
            answer = backend.call("version", backend.docker.version()).await;
        }
        let version = answer.map_err(|e| match e {
            SandboxError::Docker {
                status: Some(400),
                message,
                ..
            } => backend.unavailable(&format!(
                "the engine refused API 1.41: {message}; assay needs Docker Engine 20.10 or newer"
            )),
            SandboxError::Docker { message, .. } => backend.unavailable(&message),
            SandboxError::Timeout { .. } => backend.unavailable("no answer"),
            other => other,
        })?;
        let api = version.api_version.unwrap_or_default();
        if !api_at_least(&api, 1, 41) {
            return Err(SandboxError::Unavailable {
                message: format!(
                    "Docker at {} speaks API {api}, older than the 1.41 assay needs: upgrade to \
                     Docker Engine 20.10 or newer",
                    backend.config.endpoint
                ),
            });
        }
        tracing::debug!(
            endpoint = %backend.config.endpoint,
            engine = version.version.as_deref().unwrap_or("?"),
            api,
            "connected to Docker"
        );
        Ok(backend)
    }

    fn new_unchecked(
        config: DockerConfig,
        api: &ClientVersion,
    ) -> Result<DockerBackend, SandboxError> {
        let timeout = config.call_timeout.as_secs().max(1);
        let endpoint = config.endpoint.clone();
        let docker = if endpoint.starts_with("unix://") || endpoint.starts_with('/') {
            Docker::connect_with_unix(&endpoint, timeout, api)
        } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
            Docker::connect_with_http(&endpoint, timeout, api)
        } else {
            return Err(SandboxError::Unavailable {
                message: format!(
                    "Docker endpoint `{endpoint}` is not supported: set DOCKER_HOST to \
                     unix:///var/run/docker.sock or tcp://host:port"
                ),
            });
        };
        let docker = docker.map_err(|e| SandboxError::Unavailable {
            message: unavailable_message(&endpoint, &e.to_string()),
        })?;
        Ok(DockerBackend {
            docker,
            config,
            api: (api.major_version, api.minor_version),
            owner: Owner::current(),
        })
    }

    /// The underlying bollard client (for tests and tools; the sandbox never needs it).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The identity recorded on what this backend creates.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    fn unavailable(&self, detail: &str) -> SandboxError {
        SandboxError::Unavailable {
            message: unavailable_message(&self.config.endpoint, detail),
        }
    }

    fn classify(&self, call: &'static str, e: BollardError) -> SandboxError {
        match e {
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => SandboxError::Docker {
                call,
                status: Some(status_code),
                message,
            },
            BollardError::RequestTimeoutError => SandboxError::Timeout {
                call,
                seconds: self.config.call_timeout.as_secs(),
            },
            BollardError::SocketNotFoundError(path) => {
                self.unavailable(&format!("no socket at {path}"))
            }
            BollardError::HyperResponseError { .. }
            | BollardError::IOError { .. }
            | BollardError::HyperLegacyError { .. } => self.unavailable(&e.to_string()),
            other => SandboxError::Docker {
                call,
                status: None,
                message: other.to_string(),
            },
        }
    }

    /// One Docker call under the call time limit.
    async fn call<T>(
        &self,
        call: &'static str,
        fut: impl Future<Output = Result<T, BollardError>>,
    ) -> Result<T, SandboxError> {
        match tokio::time::timeout(self.config.call_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.classify(call, e)),
            Err(_) => Err(SandboxError::Timeout {
                call,
                seconds: self.config.call_timeout.as_secs(),
            }),
        }
    }

    fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_owned(), vec![format!("{key}={value}")])])
    }

    fn log_config(max_size: u64, max_files: u32) -> HostConfigLogConfig {
        HostConfigLogConfig {
            typ: Some("json-file".to_owned()),
            config: Some(HashMap::from([
                ("max-size".to_owned(), max_size.to_string()),
                ("max-file".to_owned(), max_files.max(1).to_string()),
            ])),
        }
    }

    fn networking(run: &DockerRun, alias: &str) -> NetworkingConfig {
        NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                run.network.clone(),
                EndpointSettings {
                    aliases: Some(vec![alias.to_owned()]),
                    ..Default::default()
                },
            )])),
        }
    }

    async fn create_and_start(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<(), SandboxError> {
        self.call(
            "create container",
            self.docker.create_container(
                Some(CreateContainerOptions {
                    name: Some(name.to_owned()),
                    ..Default::default()
                }),
                body,
            ),
        )
        .await?;
        self.call(
            "start container",
            self.docker
                .start_container(name, None::<StartContainerOptions>),
        )
        .await
    }

    /// `docker inspect`, `None` when the container does not exist.
    async fn inspect(
        &self,
        container: &str,
    ) -> Result<Option<bollard::models::ContainerInspectResponse>, SandboxError> {
        match self
            .call(
                "inspect container",
                self.docker
                    .inspect_container(container, None::<InspectContainerOptions>),
            )
            .await
        {
            Ok(i) => Ok(Some(i)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn container_addr(
        &self,
        run: &DockerRun,
        container: &str,
    ) -> Result<Option<IpAddr>, SandboxError> {
        let Some(inspect) = self.inspect(container).await? else {
            return Ok(None);
        };
        Ok(inspect
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|mut n| n.remove(&run.network))
            .and_then(|e| e.ip_address)
            .and_then(|ip| ip.parse().ok()))
    }

    async fn container_state(&self, container: &str) -> Result<WorkloadState, SandboxError> {
        let Some(inspect) = self.inspect(container).await? else {
            return Ok(WorkloadState::Missing);
        };
        let state = inspect.state.unwrap_or_default();
        if state.running == Some(true) || state.restarting == Some(true) {
            Ok(WorkloadState::Running)
        } else {
            Ok(WorkloadState::Exited {
                code: state.exit_code.unwrap_or(-1),
                oom_killed: state.oom_killed.unwrap_or(false),
            })
        }
    }

    /// One build whose steps run on `network` with `build_args`. `own` is set when the
    /// network is the build's own (with the proxy's name): its step containers are then
    /// watched for the build's disk and pids limits, and removed when the build fails.
    async fn build_on(
        &self,
        build: &ImageBuild<'_>,
        network: &str,
        build_args: HashMap<String, String>,
        own: Option<&str>,
    ) -> Result<BuildResult, SandboxError> {
        let started = Instant::now();
        let file = tokio::fs::File::open(build.context_tar)
            .await
            .map_err(|e| SandboxError::io(build.context_tar, e))?;
        let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
        let mut options = BuildImageOptions {
            dockerfile: build.dockerfile.to_owned(),
            t: Some(build.tag.to_owned()),
            rm: true,
            forcerm: true,
            labels: Some(build.labels.clone()),
            networkmode: Some(network.to_owned()),
            version: BuilderVersion::BuilderV1,
            buildargs: (!build_args.is_empty()).then_some(build_args),
            target: build.target.clone().unwrap_or_default(),
            ..Default::default()
        };
        if let Some(res) = build.resources {
            let memory = i32::try_from(res.memory_bytes).unwrap_or(i32::MAX);
            options.memory = Some(memory);
            options.memswap = Some(memory);
            options.cpuperiod = Some(100_000);
            options.cpuquota = Some(
                ((res.cpus.max(0.01)) * 100_000.0)
                    .round()
                    .min(f64::from(i32::MAX)) as i32,
            );
        }
        let mut log = TailBuffer::new(build.log_cap_bytes);
        let mut image_id: Option<String> = None;
        let mut failure: Option<String> = None;
        let steps = Arc::new(Mutex::new(StepImages::default()));
        let mut streamed: usize = 0;
        let consume = async {
            let mut stream = self.docker.build_image(options, None, Some(body));
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(text) = info.stream {
                            log.push(text.as_bytes());
                            if let Ok(mut s) = steps.lock() {
                                text.lines().for_each(|l| s.read_line(l));
                            }
                            // Lines shown live stop at the same cap as the log kept.
                            if let Some(f) = build.on_line
                                && streamed <= build.log_cap_bytes
                            {
                                for line in text.lines().map(str::trim_end) {
                                    streamed += line.len() + 1;
                                    if streamed > build.log_cap_bytes {
                                        f(&format!(
                                            "[build output over {} bytes: the rest is not \
                                             shown; the log keeps its last {} bytes]",
                                            build.log_cap_bytes, build.log_cap_bytes
                                        ));
                                        break;
                                    }
                                    if !line.is_empty() {
                                        f(line);
                                    }
                                }
                            }
                        }
                        if let Some(status) = info.status {
                            log.push(status.as_bytes());
                            log.push(b"\n");
                        }
                        if let Some(id) = info.aux.and_then(|a| a.id) {
                            image_id = Some(id);
                        }
                    }
                    Err(BollardError::DockerStreamError { error }) => {
                        log.push(error.as_bytes());
                        log.push(b"\n");
                        failure = Some(error);
                        break;
                    }
                    Err(BollardError::DockerResponseServerError { message, .. }) => {
                        log.push(message.as_bytes());
                        log.push(b"\n");
                        failure = Some(message);
                        break;
                    }
                    Err(other) => return Err(self.classify("build image", other)),
                }
            }
            Ok(())
        };
        let watch = own.zip(build.resources).map(|(proxy, res)| {
            (
                proxy,
                WatchLimits {
                    disk_bytes: res.disk_bytes,
                    pids: res.pids,
                },
            )
        });
        let watchdog = async {
            match watch {
                Some((proxy, limits)) => {
                    self.watch_build(network, proxy, limits, steps.clone())
                        .await
                }
                None => std::future::pending().await,
            }
        };
        let timed = tokio::time::timeout(build.time_limit, async {
            tokio::select! {
                ended = consume => Ok(ended),
                breach = watchdog => Err(breach),
            }
        })
        .await;
        let seconds = started.elapsed().as_secs_f64();
        let mut end = match timed {
            Err(_) => {
                tracing::info!(tag = build.tag, "build cancelled at its time limit");
                BuildEnd::TimedOut
            }
            Ok(Err(breach)) => {
                tracing::info!(tag = build.tag, ?breach, "build stopped at a limit");
                log.push(format!("[assay: {}]\n", breach.reason()).as_bytes());
                BuildEnd::Failed {
                    reason: breach.reason(),
                }
            }
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Ok(Ok(()))) => match failure {
                Some(reason) => BuildEnd::Failed { reason },
                None => match image_id {
                    Some(image_id) => BuildEnd::Built { image_id },
                    None => match self.image_facts(build.tag).await? {
                        Some(facts) => BuildEnd::Built { image_id: facts.id },
                        None => BuildEnd::Failed {
                            reason: "the build ended without producing an image".to_owned(),
                        },
                    },
                },
            },
        };
        // What was written by steps too quick for the watchdog: the committed layers.
        if let (Some((_, limits)), BuildEnd::Built { .. }) = (watch, &end) {
            let written = self.committed_bytes(&steps, &mut HashMap::new()).await;
            if written > limits.disk_bytes {
                let breach = Breach::Disk {
                    written,
                    limit: limits.disk_bytes,
                };
                log.push(format!("[assay: {}]\n", breach.reason()).as_bytes());
                end = BuildEnd::Failed {
                    reason: breach.reason(),
                };
            }
        }
        if !matches!(end, BuildEnd::Built { .. }) {
            let steps = std::mem::take(&mut *steps.lock().unwrap_or_else(|p| p.into_inner()));
            self.remove_build_leftovers(own.map(|_| network), own.unwrap_or(""), build.tag, &steps)
                .await;
        }
        Ok(BuildResult {
            end,
            log: log.to_text(),
            seconds,
        })
    }

    /// Force-removes container `id` (its anonymous volumes too), counting it in `report`;
    /// one already gone is no error, one that cannot be removed is noted as `what`.
    pub(super) async fn remove_counted(
        &self,
        id: &str,
        what: &str,
        report: &mut CleanupReport,
    ) -> Result<(), SandboxError> {
        let removed = self
            .call(
                "remove container",
                self.docker.remove_container(
                    id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                ),
            )
            .await;
        match removed {
            Ok(()) => report.containers += 1,
            Err(e) if e.is_not_found() => {}
            Err(e) if e.is_infrastructure() => return Err(e),
            Err(e) => report.errors.push(format!("{what} {id}: {e}")),
        }
        Ok(())
    }

    /// Creates the build network and its firewall rules where missing.
    async fn ensure_build_network(&self) -> Result<(), SandboxError> {
        let exists = match self
            .call(
                "inspect network",
                self.docker
                    .inspect_network(BUILD_NETWORK, None::<InspectNetworkOptions>),
            )
            .await
        {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => return Err(e),
        };
        if !exists {
            let options = HashMap::from([
                (
                    "com.docker.network.bridge.name".to_owned(),
                    BUILD_BRIDGE.to_owned(),
                ),
                (
                    "com.docker.network.bridge.enable_icc".to_owned(),
                    "false".to_owned(),
                ),
            ]);
            let labels = HashMap::from([
                (labels::MANAGED.to_owned(), "true".to_owned()),
                (labels::KIND.to_owned(), "build-network".to_owned()),
            ]);
            let created = self
                .call(
                    "create network",
                    self.docker.create_network(NetworkCreateRequest {
                        name: BUILD_NETWORK.to_owned(),
                        driver: Some("bridge".to_owned()),
                        options: Some(options),
                        labels: Some(labels),
                        ..Default::default()
                    }),
                )
                .await;
            // Another assay may have created it meanwhile (the bridge name is unique).
            if let Err(e) = created {
                let now = self
                    .call(
                        "inspect network",
                        self.docker
                            .inspect_network(BUILD_NETWORK, None::<InspectNetworkOptions>),
                    )
                    .await;
                if now.is_err() {
                    return Err(e);
                }
            }
        }
        let ensured =
            tokio::task::spawn_blocking(|| firewall::ensure(BUILD_BRIDGE, BUILD_RULE_COMMENT))
                .await;
        ensured.unwrap_or_else(|e| {
            Err(SandboxError::Firewall {
                detail: format!("the firewall task failed: {e}"),
            })
        })
    }

    /// Removes containers, networks and volumes matching `filters` whose owner `keep` rejects.
    async fn remove_labelled(
        &self,
        filters: HashMap<String, Vec<String>>,
        dead_only: bool,
        runs: &mut Vec<String>,
    ) -> Result<CleanupReport, SandboxError> {
        let mut report = CleanupReport::default();
        let doomed = |labels: &HashMap<String, String>| {
            !dead_only
                || labels::expired(labels)
                || Owner::from_labels(labels).is_some_and(|o| !o.is_alive())
        };
        let mut note_run = |labels: &HashMap<String, String>| {
            if let Some(run) = labels.get(labels::RUN)
                && !runs.contains(run)
            {
                runs.push(run.clone());
            }
        };

        let containers = self
            .call(
                "list containers",
                self.docker.list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(filters.clone()),
                    ..Default::default()
                })),
            )
            .await?;
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let Some(id) = c.id else { continue };
            // The build proxy goes only when idle ([`DockerBackend::remove_idle_build_proxies`]).
            if !doomed(&labels)
                || labels.get(labels::KIND).map(String::as_str) == Some(build_net::PROXY_KIND)
            {
                continue;
            }
            note_run(&labels);
            self.remove_counted(&id, "container", &mut report).await?;
        }

        let networks = self
            .call(
                "list networks",
                self.docker.list_networks(Some(ListNetworksOptions {
                    filters: Some(filters.clone()),
                })),
            )
            .await?;
        for n in networks {
            let labels = n.labels.unwrap_or_default();
            let Some(id) = n.id else { continue };
            if !doomed(&labels) {
                continue;
            }
            note_run(&labels);
            // The run's own containers are gone; what is still attached is not the run's (the
            // shared build proxy of a build whose assay died): detach it, or the network
            // cannot be removed ("has active endpoints").
            if let Ok(inspected) = self
                .call(
                    "inspect network",
                    self.docker
                        .inspect_network(&id, None::<InspectNetworkOptions>),
                )
                .await
            {
                for container in inspected.containers.unwrap_or_default().into_keys() {
                    let _ = self
                        .call(
                            "disconnect network",
                            self.docker.disconnect_network(
                                &id,
                                bollard::models::NetworkDisconnectRequest {
                                    container,
                                    force: Some(true),
                                },
                            ),
                        )
                        .await;
                }
            }
            // A just-removed container may still hold its endpoint for a moment.
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self
                    .call("remove network", self.docker.remove_network(&id))
                    .await
                {
                    Ok(()) => {
                        report.networks += 1;
                        break;
                    }
                    Err(e) if e.is_not_found() => break,
                    Err(e) if e.is_infrastructure() => return Err(e),
                    Err(e) if attempt < 5 => {
                        tracing::debug!(network = %id, error = %e, "network removal retried");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => {
                        report.errors.push(format!("network {id}: {e}"));
                        break;
                    }
                }
            }
        }

        let volumes = self
            .call(
                "list volumes",
                self.docker.list_volumes(Some(ListVolumesOptions {
                    filters: Some(filters),
                })),
            )
            .await?;
        for v in volumes.volumes.unwrap_or_default() {
            if !doomed(&v.labels) {
                continue;
            }
            note_run(&v.labels);
            match self
                .call(
                    "remove volume",
                    self.docker
                        .remove_volume(&v.name, Some(RemoveVolumeOptions { force: true })),
                )
                .await
            {
                Ok(()) => report.volumes += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) if e.is_infrastructure() => return Err(e),
                Err(e) => report.errors.push(format!("volume {}: {e}", v.name)),
            }
        }
        Ok(report)
    }

    /// Removes firewall rules selected by `pick`.
    async fn remove_rules(&self, pick: impl Fn(&Rule) -> bool + Send + 'static) -> CleanupReport {
        let joined = tokio::task::spawn_blocking(move || {
            let mut report = CleanupReport::default();
            match firewall::list() {
                Ok(rules) => {
                    for rule in rules.iter().filter(|r| pick(r)) {
                        report.firewall_rules += firewall::remove(rule);
                    }
                }
                Err(e) => report.errors.push(format!("firewall: {e}")),
            }
            report
        })
        .await;
        joined.unwrap_or_else(|e| CleanupReport {
            errors: vec![format!("firewall cleanup task failed: {e}")],
            ..Default::default()
        })
    }
}

fn unavailable_message(endpoint: &str, detail: &str) -> String {
    format!(
        "Docker is not reachable at {endpoint} ({detail}): start the Docker engine (e.g. \
         `sudo service docker start`, or `sudo systemctl start docker`), or point DOCKER_HOST at a \
         running Docker Engine 20.10+"
    )
}

/// The minimum API version an engine names when it refuses ours, when it is newer than
/// 1.41: "client version 1.41 is too old. Minimum supported API version is 1.44, …".
fn minimum_api_in_refusal(message: &str) -> Option<ClientVersion> {
    let (_, rest) = message.split_once("Minimum supported API version is ")?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (major, minor) = version.trim_end_matches('.').split_once('.')?;
    let v = ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    };
    ((v.major_version, v.minor_version) > (1, 41)).then_some(v)
}

fn api_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// Docker's `HostConfig.Tmpfs` for the given mounts plus the image's `VOLUME`s (which would
/// otherwise become anonymous host volumes outside any cap).
fn tmpfs_map(mounts: &[&TmpfsMount], image_volumes: &[String]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = mounts
        .iter()
        .map(|m| (m.path.clone(), m.docker_options()))
        .collect();
    for v in image_volumes {
        map.entry(v.clone())
            .or_insert_with(|| TmpfsMount::new(v, 64 * 1024 * 1024).docker_options());
    }
    map
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `security_opt` of a run container (service or sidecar): no-new-privileges and the
/// seccomp profile its hardening names.
fn security_options(no_new_privileges: bool, profile: &Seccomp) -> Vec<String> {
    let mut options = Vec::new();
    if no_new_privileges {
        options.push("no-new-privileges:true".to_owned());
    }
    match profile {
        Seccomp::Assay => options.push(format!("seccomp={}", seccomp::PROFILE)),
        Seccomp::EngineDefault => {}
        Seccomp::Custom(json) => options.push(format!("seccomp={json}")),
    }
    options
}

/// The service container's create body: the hardening of [`Hardening`] made concrete.
pub(crate) fn service_container(
    run: &DockerRun,
    service: &ServiceSpec,
    hardening: &Hardening,
    image: &ImageFacts,
    labels: HashMap<String, String>,
) -> ContainerCreateBody {
    let security_opt = security_options(hardening.no_new_privileges, &hardening.seccomp);
    let mut mounts = vec![&hardening.tmp];
    if let Some(home) = &hardening.writable_home {
        mounts.push(home);
    }
    let host_config = HostConfig {
        network_mode: Some(run.network.clone()),
        dns: Some(vec![RUN_DNS_UPSTREAM.to_owned()]),
        memory: Some(i64_of(hardening.memory_bytes)),
        memory_swap: Some(i64_of(hardening.memory_bytes)),
        nano_cpus: Some(i64_of(hardening.nano_cpus)),
        pids_limit: Some(hardening.pids_limit),
        cap_drop: hardening.cap_drop_all.then(|| vec!["ALL".to_owned()]),
        cap_add: (!hardening.cap_add.is_empty()).then(|| hardening.cap_add.clone()),
        security_opt: Some(security_opt),
        init: Some(hardening.init),
        ulimits: Some(vec![
            ResourcesUlimits {
                name: Some("nofile".to_owned()),
                soft: Some(i64_of(hardening.nofile)),
                hard: Some(i64_of(hardening.nofile)),
            },
            ResourcesUlimits {
                name: Some("fsize".to_owned()),
                soft: Some(i64_of(hardening.fsize_bytes)),
                hard: Some(i64_of(hardening.fsize_bytes)),
            },
        ]),
        tmpfs: Some(tmpfs_map(&mounts, &image.volumes)),
        readonly_rootfs: Some(hardening.read_only_rootfs),
        log_config: Some(DockerBackend::log_config(
            hardening.log_max_size_bytes,
            hardening.log_max_files,
        )),
        runtime: hardening.runtime.clone(),
        shm_size: Some(i64_of(hardening.shm_size_bytes)),
        ipc_mode: Some("private".to_owned()),
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
        privileged: Some(false),
        publish_all_ports: Some(false),
        oom_score_adj: Some(500),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(service.image.clone()),
        hostname: Some("service".to_owned()),
        env: Some(
            service
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        labels: Some(labels),
        host_config: Some(host_config),
        networking_config: Some(DockerBackend::networking(run, "service")),
        ..Default::default()
    }
}

/// The container of a sidecar, under the service's confinement: its seccomp profile and
/// runtime, no capabilities, `no-new-privileges`, private IPC and cgroup namespaces, capped
/// memory, CPU, pids and logs, a read-only root with capped tmpfs.
pub(crate) fn sidecar_container(
    run: &DockerRun,
    sidecar: &SidecarSpec,
    image: &ImageFacts,
    labels: HashMap<String, String>,
) -> ContainerCreateBody {
    let h = &sidecar.hardening;
    let security_opt = security_options(h.no_new_privileges, &h.seccomp);
    let mounts: Vec<&TmpfsMount> = h.tmpfs.iter().collect();
    let host_config = HostConfig {
        network_mode: Some(run.network.clone()),
        dns: Some(vec![RUN_DNS_UPSTREAM.to_owned()]),
        memory: Some(i64_of(h.memory_bytes)),
        memory_swap: Some(i64_of(h.memory_bytes)),
        nano_cpus: Some(i64_of(h.nano_cpus)),
        pids_limit: Some(h.pids_limit),
        cap_drop: h.cap_drop_all.then(|| vec!["ALL".to_owned()]),
        security_opt: Some(security_opt),
        readonly_rootfs: Some(h.read_only_rootfs),
        tmpfs: Some(tmpfs_map(&mounts, &image.volumes)),
        log_config: Some(DockerBackend::log_config(
            h.log_max_size_bytes,
            h.log_max_files,
        )),
        runtime: h.runtime.clone(),
        ipc_mode: Some("private".to_owned()),
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
        privileged: Some(false),
        publish_all_ports: Some(false),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(sidecar.image.clone()),
        hostname: Some(sidecar.name.clone()),
        env: Some(
            sidecar
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        labels: Some(labels),
        host_config: Some(host_config),
        networking_config: Some(DockerBackend::networking(run, &sidecar.name)),
        ..Default::default()
    }
}

impl ImageStore for DockerBackend {
    fn endpoint(&self) -> String {
        self.config.endpoint.clone()
    }

    async fn image_facts(&self, image: &str) -> Result<Option<ImageFacts>, SandboxError> {
        let inspect = match self
            .call("inspect image", self.docker.inspect_image(image))
            .await
        {
            Ok(i) => i,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let config = inspect.config.unwrap_or_default();
        Ok(Some(ImageFacts {
            id: inspect.id.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            volumes: config.volumes.unwrap_or_default(),
            labels: config.labels.unwrap_or_default(),
        }))
    }

    async fn build_image(&self, build: ImageBuild<'_>) -> Result<BuildResult, SandboxError> {
        match &build.egress {
            BuildEgress::Direct => {
                self.ensure_build_network().await?;
                self.build_on(&build, BUILD_NETWORK, build.build_args.clone(), None)
                    .await
            }
            BuildEgress::Registries(domains) => {
                let net = self.open_build_net(domains, &build.build_args).await?;
                let args = net.build_args(&build.build_args);
                let network = net.run.network.clone();
                let result = self
                    .build_on(&build, &network, args, Some(&net.proxy))
                    .await;
                self.close_build_net(net).await;
                result
            }
        }
    }
    async fn tag_image(&self, image: &str, reference: &str) -> Result<(), SandboxError> {
        let (repo, tag) = match reference.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (reference, "latest"),
        };
        self.call(
            "tag image",
            self.docker.tag_image(
                image,
                Some(bollard::query_parameters::TagImageOptions {
                    repo: Some(repo.to_owned()),
                    tag: Some(tag.to_owned()),
                }),
            ),
        )
        .await
    }

    async fn remove_image(&self, image: &str) -> Result<bool, SandboxError> {
        match self
            .call(
                "remove image",
                self.docker.remove_image(
                    image,
                    Some(bollard::query_parameters::RemoveImageOptions {
                        force: false,
                        noprune: false,
                        ..Default::default()
                    }),
                    None,
                ),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(SandboxError::Docker {
                status: Some(409), ..
            }) => Ok(false),
            Err(e) if e.is_not_found() => Ok(true),
            Err(e) => Err(e),
        }
    }

    async fn list_images(&self, repository: &str) -> Result<Vec<StoredImage>, SandboxError> {
        // `reference=<repository>` matches every tag of the repository.
        let filters = HashMap::from([("reference".to_owned(), vec![repository.to_owned()])]);
        // Its own minute: a store with many images lists slowly.
        let images = tokio::time::timeout(
            Duration::from_secs(60),
            self.docker.list_images(Some(ListImagesOptions {
                filters: Some(filters),
                ..Default::default()
            })),
        )
        .await
        .map_err(|_| SandboxError::Timeout {
            call: "list images",
            seconds: 60,
        })?
        .map_err(|e| SandboxError::Docker {
            call: "list images",
            status: None,
            message: e.to_string(),
        })?;
        Ok(images
            .into_iter()
            .map(|image| StoredImage {
                id: image.id,
                created_unix: u64::try_from(image.created).unwrap_or(0),
            })
            .collect())
    }
}

impl Runtime for DockerBackend {
    type Run = DockerRun;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            isolation: RunIsolation::HostFirewall,
            writable_layer_measurement: true,
            exec_in_service: true,
        }
    }

    async fn create_run(&self, run_id: &str) -> Result<DockerRun, SandboxError> {
        if !labels::valid_run_id(run_id) {
            return Err(SandboxError::Invalid(format!(
                "run id `{run_id}` must be 1-48 characters of [A-Za-z0-9_.-], starting with a \
                 letter or digit"
            )));
        }
        // Leftovers under this id: a live owner means the id is taken; a dead one, clean up.
        let filters = Self::label_filter(labels::RUN, run_id);
        let existing = self
            .call(
                "list networks",
                self.docker.list_networks(Some(ListNetworksOptions {
                    filters: Some(filters.clone()),
                })),
            )
            .await?;
        if existing.iter().any(|n| {
            n.labels
                .as_ref()
                .and_then(Owner::from_labels)
                .is_some_and(|o| o.is_alive())
        }) {
            return Err(SandboxError::RunIdInUse(run_id.to_owned()));
        }
        if !existing.is_empty() {
            self.cleanup_run(run_id).await?;
        }

        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let digest = Sha256::digest(format!("{run_id}/{}/{nanos}", self.owner.pid));
        let bridge = format!("{BRIDGE_PREFIX}{}", &hex::encode(digest)[..8]);
        let run = DockerRun {
            run_id: run_id.to_owned(),
            network: format!("assay-{run_id}"),
            bridge: bridge.clone(),
        };
        let options = HashMap::from([
            ("com.docker.network.bridge.name".to_owned(), bridge.clone()),
            (
                "com.docker.network.bridge.enable_ip_masquerade".to_owned(),
                "false".to_owned(),
            ),
            (
                "com.docker.network.bridge.enable_icc".to_owned(),
                "true".to_owned(),
            ),
        ]);
        self.call(
            "create network",
            self.docker.create_network(NetworkCreateRequest {
                name: run.network.clone(),
                driver: Some("bridge".to_owned()),
                internal: Some(true),
                options: Some(options),
                labels: Some(labels::run_labels(run_id, &self.owner)),
                ..Default::default()
            }),
        )
        .await?;

        let comment = self.owner.rule_comment(run_id);
        let installed =
            tokio::task::spawn_blocking(move || firewall::install(&bridge, &comment)).await;
        let installed = installed.unwrap_or_else(|e| {
            Err(SandboxError::Firewall {
                detail: format!("the firewall task failed: {e}"),
            })
        });
        if let Err(e) = installed {
            let _ = self.cleanup_run(run_id).await;
            return Err(e);
        }
        tracing::debug!(run_id, network = %run.network, bridge = %run.bridge, "run network ready");
        Ok(run)
    }

    async fn start_sidecar(
        &self,
        run: &DockerRun,
        sidecar: &SidecarSpec,
    ) -> Result<(), SandboxError> {
        if !labels::valid_run_id(&sidecar.name) || sidecar.name.len() > 32 {
            return Err(SandboxError::Invalid(format!(
                "sidecar name `{}` must be 1-32 characters of [A-Za-z0-9_.-]",
                sidecar.name
            )));
        }
        let image = self.image_facts(&sidecar.image).await?.ok_or_else(|| {
            SandboxError::Invalid(format!(
                "sidecar image `{}` does not exist locally: run the image setup (ensure_images) first",
                sidecar.image
            ))
        })?;
        let mut labels = labels::run_labels(&run.run_id, &self.owner);
        labels.insert(labels::ROLE.to_owned(), "sidecar".to_owned());
        let body = sidecar_container(run, sidecar, &image, labels);
        self.create_and_start(&run.sidecar(&sidecar.name), body)
            .await
    }

    async fn sidecar_exec(
        &self,
        run: &DockerRun,
        sidecar: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, SandboxError> {
        self.exec_in(&run.sidecar(sidecar), command, timeout, 4096)
            .await
    }

    async fn service_exec(
        &self,
        run: &DockerRun,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, SandboxError> {
        self.exec_in(&run.service(), command, timeout, 16 * 1024)
            .await
    }

    async fn run_task(
        &self,
        run: &DockerRun,
        service: &ServiceSpec,
        hardening: &Hardening,
        image: &ImageFacts,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, SandboxError> {
        let mut labels = labels::run_labels(&run.run_id, &self.owner);
        labels.insert(labels::ROLE.to_owned(), "tests".to_owned());
        let mut body = service_container(run, service, hardening, image, labels);
        // The command replaces the image's entrypoint (and so its CMD); the container
        // answers on the run network as `tests`, never as the service.
        body.entrypoint = Some(command.to_vec());
        body.cmd = None;
        body.hostname = Some("tests".to_owned());
        body.networking_config = Some(Self::networking(run, "tests"));
        self.run_to_exit(&run.task(), body, timeout, 16 * 1024)
            .await
    }

    async fn sidecar_state(
        &self,
        run: &DockerRun,
        sidecar: &str,
    ) -> Result<WorkloadState, SandboxError> {
        self.container_state(&run.sidecar(sidecar)).await
    }

    async fn start_service(
        &self,
        run: &DockerRun,
        service: &ServiceSpec,
        hardening: &Hardening,
        image: &ImageFacts,
    ) -> Result<(), SandboxError> {
        let mut labels = labels::run_labels(&run.run_id, &self.owner);
        labels.insert(labels::ROLE.to_owned(), "service".to_owned());
        let body = service_container(run, service, hardening, image, labels);
        self.create_and_start(&run.service(), body).await
    }

    async fn restart_service(&self, run: &DockerRun) -> Result<(), SandboxError> {
        self.call(
            "start container",
            self.docker
                .start_container(&run.service(), None::<StartContainerOptions>),
        )
        .await
    }

    async fn service_addr(&self, run: &DockerRun) -> Result<Option<IpAddr>, SandboxError> {
        self.container_addr(run, &run.service()).await
    }

    async fn sidecar_addr(
        &self,
        run: &DockerRun,
        sidecar: &str,
    ) -> Result<Option<IpAddr>, SandboxError> {
        self.container_addr(run, &run.sidecar(sidecar)).await
    }

    async fn service_state(&self, run: &DockerRun) -> Result<WorkloadState, SandboxError> {
        self.container_state(&run.service()).await
    }

    async fn signal_service(&self, run: &DockerRun, signal: &str) -> Result<(), SandboxError> {
        self.signal_container(&run.service(), signal).await
    }

    async fn signal_sidecar(
        &self,
        run: &DockerRun,
        sidecar: &str,
        signal: &str,
    ) -> Result<(), SandboxError> {
        self.signal_container(&run.sidecar(sidecar), signal).await
    }

    async fn resume_sidecar(&self, run: &DockerRun, sidecar: &str) -> Result<(), SandboxError> {
        self.call(
            "start container",
            self.docker
                .start_container(&run.sidecar(sidecar), None::<StartContainerOptions>),
        )
        .await
    }

    async fn wait_service_exit(
        &self,
        run: &DockerRun,
        timeout: Duration,
    ) -> Result<Option<i64>, SandboxError> {
        let name = run.service();
        let waited = tokio::time::timeout(timeout, async {
            let mut stream = self.docker.wait_container(
                &name,
                Some(WaitContainerOptions {
                    condition: "not-running".to_owned(),
                }),
            );
            stream.next().await
        })
        .await;
        match waited {
            Err(_) => Ok(None),
            Ok(None) => Ok(None),
            Ok(Some(Ok(resp))) => Ok(Some(resp.status_code)),
            Ok(Some(Err(BollardError::DockerContainerWaitError { code, .. }))) => Ok(Some(code)),
            Ok(Some(Err(e))) => Err(self.classify("wait container", e)),
        }
    }

    async fn service_logs(&self, run: &DockerRun, cap: usize) -> Result<String, SandboxError> {
        self.logs_of(&run.service(), cap).await
    }

    async fn service_usage(&self, run: &DockerRun) -> Result<Option<UsageSample>, SandboxError> {
        let name = run.service();
        let sample = self
            .call("container stats", async {
                let mut stream = self.docker.stats(
                    &name,
                    Some(StatsOptions {
                        stream: false,
                        one_shot: true,
                    }),
                );
                stream.next().await.transpose()
            })
            .await;
        let stats = match sample {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(None),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let memory = stats.memory_stats.unwrap_or_default();
        let cpu = stats
            .cpu_stats
            .and_then(|c| c.cpu_usage)
            .and_then(|u| u.total_usage)
            .unwrap_or(0);
        let Some(usage) = memory.usage else {
            return Ok(None);
        };
        Ok(Some(UsageSample {
            memory_bytes: usage,
            max_memory_bytes: memory.max_usage.filter(|m| *m > 0),
            cpu_total_ns: cpu,
        }))
    }

    async fn service_writable_bytes(&self, run: &DockerRun) -> Result<Option<u64>, SandboxError> {
        match self
            .call(
                "inspect container size",
                self.docker.inspect_container(
                    &run.service(),
                    Some(InspectContainerOptions { size: true }),
                ),
            )
            .await
        {
            Ok(i) => Ok(i.size_rw.and_then(|s| u64::try_from(s).ok())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn teardown(&self, run: &DockerRun) -> Result<CleanupReport, SandboxError> {
        let mut report = self.cleanup_run(&run.run_id).await?;
        // Rules of this bridge whatever their comment says.
        let bridge = run.bridge.clone();
        report.absorb(self.remove_rules(move |r| r.bridge == bridge).await);
        Ok(report)
    }

    async fn cleanup_run(&self, run_id: &str) -> Result<CleanupReport, SandboxError> {
        let mut runs = Vec::new();
        let mut report = self
            .remove_labelled(Self::label_filter(labels::RUN, run_id), false, &mut runs)
            .await?;
        let id = run_id.to_owned();
        report.absorb(
            self.remove_rules(move |r| {
                r.comment
                    .as_deref()
                    .and_then(Owner::from_rule_comment)
                    .is_some_and(|(run, _)| run == id)
            })
            .await,
        );
        tracing::debug!(run_id, ?report, "run cleaned up");
        Ok(report)
    }

    fn cleanup_run_blocking(&self, run_id: &str) -> CleanupReport {
        let config = self.config.clone();
        let api = ClientVersion {
            major_version: self.api.0,
            minor_version: self.api.1,
        };
        let id = run_id.to_owned();
        // A fresh runtime and connection on a fresh thread: this works from Drop, inside or
        // outside an async runtime, even while that runtime is shutting down.
        let joined = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    return CleanupReport {
                        errors: vec![format!("no runtime for cleanup: {e}")],
                        ..Default::default()
                    };
                }
            };
            rt.block_on(async move {
                let backend = match DockerBackend::new_unchecked(config, &api) {
                    Ok(b) => b,
                    Err(e) => {
                        return CleanupReport {
                            errors: vec![e.to_string()],
                            ..Default::default()
                        };
                    }
                };
                backend
                    .cleanup_run(&id)
                    .await
                    .unwrap_or_else(|e| CleanupReport {
                        errors: vec![e.to_string()],
                        ..Default::default()
                    })
            })
        })
        .join();
        joined.unwrap_or_else(|_| CleanupReport {
            errors: vec!["the cleanup thread panicked".to_owned()],
            ..Default::default()
        })
    }

    async fn gc(&self) -> Result<GcReport, SandboxError> {
        let mut runs = Vec::new();
        let mut removed = self
            .remove_labelled(Self::label_filter(labels::MANAGED, "true"), true, &mut runs)
            .await?;
        removed.absorb(self.remove_idle_build_proxies().await?);
        // Rules whose owner is gone, or unlabelled ones whose bridge no longer exists.
        let rule_runs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = rule_runs.clone();
        removed.absorb(
            self.remove_rules(move |r| {
                match r.comment.as_deref().and_then(|c| {
                    Owner::from_rule_comment(c).map(|(run, o)| (run, o, Owner::rule_expired(c)))
                }) {
                    Some((run, owner, expired)) => {
                        let dead = expired || !owner.is_alive();
                        if dead && let Ok(mut s) = seen.lock() {
                            s.push(run);
                        }
                        dead
                    }
                    None => !std::path::Path::new("/sys/class/net")
                        .join(&r.bridge)
                        .exists(),
                }
            })
            .await,
        );
        if let Ok(extra) = rule_runs.lock() {
            for run in extra.iter() {
                if !runs.contains(run) {
                    runs.push(run.clone());
                }
            }
        }
        if !runs.is_empty() {
            tracing::info!(?runs, ?removed, "gc removed leftovers of dead runs");
        }
        Ok(GcReport { runs, removed })
    }
}

impl DockerBackend {
    /// Sends `signal` to a container; one that is not running is not an error.
    async fn signal_container(&self, container: &str, signal: &str) -> Result<(), SandboxError> {
        match self
            .call(
                "kill container",
                self.docker.kill_container(
                    container,
                    Some(KillContainerOptions {
                        signal: signal.to_owned(),
                    }),
                ),
            )
            .await
        {
            // 409: not running.
            Err(SandboxError::Docker {
                status: Some(409), ..
            }) => Ok(()),
            other => other,
        }
    }

    /// The last `cap` bytes of a container's stdout and stderr (nothing when it is gone).
    async fn logs_of(&self, name: &str, cap: usize) -> Result<String, SandboxError> {
        let mut tail = TailBuffer::new(cap);
        let name = name.to_owned();
        let read = tokio::time::timeout(self.config.call_timeout, async {
            // Each log line is at least one byte: `cap` lines are enough to fill `cap` bytes.
            let mut stream = self.docker.logs(
                &name,
                Some(LogsOptions {
                    stdout: true,
                    stderr: true,
                    follow: false,
                    tail: cap.max(1).to_string(),
                    ..Default::default()
                }),
            );
            while let Some(item) = stream.next().await {
                match item {
                    Ok(chunk) => tail.push(chunk.as_ref()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await;
        match read {
            Err(_) => tracing::warn!(container = %name, "log read cut at its time limit"),
            Ok(Err(e)) => {
                let e = self.classify("container logs", e);
                if !e.is_not_found() {
                    return Err(e);
                }
            }
            Ok(Ok(())) => {}
        }
        Ok(tail.to_text())
    }

    /// Creates and starts `body` as container `name`, waits for its exit up to `timeout`,
    /// keeps the tail of its output, and removes it whatever happened.
    async fn run_to_exit(
        &self,
        name: &str,
        body: ContainerCreateBody,
        timeout: Duration,
        cap: usize,
    ) -> Result<ExecResult, SandboxError> {
        // A leftover of an earlier attempt in this run would block the name.
        self.force_remove(name).await?;
        let outcome = async {
            self.create_and_start(name, body).await?;
            let waited = tokio::time::timeout(timeout, async {
                let mut stream = self.docker.wait_container(
                    name,
                    Some(WaitContainerOptions {
                        condition: "not-running".to_owned(),
                    }),
                );
                stream.next().await
            })
            .await;
            let exit_code = match waited {
                Err(_) | Ok(None) => None,
                Ok(Some(Ok(resp))) => Some(resp.status_code),
                Ok(Some(Err(BollardError::DockerContainerWaitError { code, .. }))) => Some(code),
                Ok(Some(Err(e))) => return Err(self.classify("wait container", e)),
            };
            let output = self.logs_of(name, cap).await?;
            Ok(ExecResult { exit_code, output })
        }
        .await;
        let removed = self.force_remove(name).await;
        let result = outcome?;
        removed?;
        Ok(result)
    }

    /// Removes a container (killing it first); a missing one is not an error.
    async fn force_remove(&self, name: &str) -> Result<(), SandboxError> {
        match self
            .call(
                "remove container",
                self.docker.remove_container(
                    name,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                ),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `docker exec`: output kept to its last `cap` bytes, waiting stops after `timeout`
    /// (exit code `None` then).
    async fn exec_in(
        &self,
        container: &str,
        command: &[String],
        timeout: Duration,
        cap: usize,
    ) -> Result<ExecResult, SandboxError> {
        let exec = self
            .call(
                "create exec",
                self.docker.create_exec(
                    container,
                    CreateExecOptions::<String> {
                        cmd: Some(command.to_vec()),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                ),
            )
            .await?;
        let started = self
            .call("start exec", self.docker.start_exec(&exec.id, None))
            .await?;
        let mut out = TailBuffer::new(cap);
        let finished = tokio::time::timeout(timeout, async {
            if let StartExecResults::Attached { mut output, .. } = started {
                while let Some(Ok(chunk)) = output.next().await {
                    out.push(chunk.as_ref());
                }
            }
        })
        .await
        .is_ok();
        if !finished {
            return Ok(ExecResult {
                exit_code: None,
                output: out.to_text(),
            });
        }
        let inspect = self
            .call("inspect exec", self.docker.inspect_exec(&exec.id))
            .await?;
        Ok(ExecResult {
            exit_code: if inspect.running == Some(true) {
                None
            } else {
                inspect.exit_code
            },
            output: out.to_text(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_refusing_1_41_names_the_version_to_speak() {
        let v = |m: &str| minimum_api_in_refusal(m).map(|v| (v.major_version, v.minor_version));
        assert_eq!(
            v(
                "client version 1.41 is too old. Minimum supported API version is 1.44, \
               please upgrade your client to a newer version"
            ),
            Some((1, 44))
        );
        assert_eq!(v("Minimum supported API version is 1.52."), Some((1, 52)));
        assert_eq!(
            v("Minimum supported API version is 1.24"),
            None,
            "older: keep 1.41"
        );
        assert_eq!(v("page not found"), None);
        assert_eq!(v("Minimum supported API version is x.y"), None);
    }

    #[test]
    fn api_versions_compare_numerically() {
        assert!(api_at_least("1.41", 1, 41));
        assert!(api_at_least("1.50", 1, 41));
        assert!(api_at_least("2.0", 1, 41));
        assert!(!api_at_least("1.40", 1, 41));
        assert!(!api_at_least("1.9", 1, 41));
        assert!(!api_at_least("", 1, 41));
    }

    #[test]
    fn sidecars_get_the_service_confinement() {
        let run = DockerRun {
            run_id: "r".into(),
            network: "assay-r".into(),
            bridge: "assay-00000000".into(),
        };
        let image = ImageFacts {
            id: "sha256:x".into(),
            user: "postgres".into(),
            volumes: vec![],
            labels: HashMap::new(),
        };
        let mut db = SidecarSpec::postgres("db", "app", "pw", "app").with_checks_role("checks-pw");
        db.hardening.runtime = Some("runsc".into());
        let body = sidecar_container(&run, &db, &image, HashMap::new());
        let hc = body.host_config.expect("host config");
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(hc.cap_add, None);
        assert_eq!(hc.readonly_rootfs, Some(true));
        assert_eq!(hc.pids_limit, Some(256));
        assert_eq!(hc.memory, Some(512 * 1024 * 1024));
        assert_eq!(hc.memory, hc.memory_swap);
        assert_eq!(hc.runtime.as_deref(), Some("runsc"));
        assert_eq!(hc.ipc_mode.as_deref(), Some("private"));
        assert_eq!(hc.privileged, Some(false));
        let sec = hc.security_opt.expect("security opts");
        assert!(sec.iter().any(|s| s == "no-new-privileges:true"));
        assert!(sec.contains(&format!("seccomp={}", seccomp::PROFILE)));
        let env = body.env.expect("env");
        assert!(env.contains(&"ASSAY_CHECKS_USER=assay_checks".to_owned()));
        assert!(env.contains(&"ASSAY_CHECKS_PASSWORD=checks-pw".to_owned()));
    }

    #[test]
    fn service_container_is_hardened_by_default() {
        let run = DockerRun {
            run_id: "r".into(),
            network: "assay-r".into(),
            bridge: "assay-00000000".into(),
        };
        let image = ImageFacts {
            id: "sha256:x".into(),
            user: String::new(),
            volumes: vec!["/data".into()],
            labels: HashMap::new(),
        };
        let body = service_container(
            &run,
            &ServiceSpec::new("img", 8080),
            &Hardening::default(),
            &image,
            HashMap::new(),
        );
        let hc = body.host_config.expect("host config");
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(hc.readonly_rootfs, Some(true));
        assert_eq!(hc.init, Some(true));
        assert_eq!(hc.pids_limit, Some(256));
        assert_eq!(hc.memory, hc.memory_swap);
        assert_eq!(hc.nano_cpus, Some(1_000_000_000));
        assert!(hc.binds.is_none() && hc.mounts.is_none() && hc.volumes_from.is_none());
        let sec = hc.security_opt.expect("security opts");
        assert!(sec.iter().any(|s| s == "no-new-privileges:true"));
        assert!(sec.iter().any(|s| s.starts_with("seccomp={")));
        let tmpfs = hc.tmpfs.expect("tmpfs");
        assert!(tmpfs["/tmp"].contains("size=67108864"));
        assert!(tmpfs["/data"].contains("nosuid"));
        // Nothing newer than API 1.41 is serialised.
        let json = serde_json::to_value(&ContainerCreateBody {
            host_config: Some(HostConfig {
                security_opt: None,
                ..Default::default()
            }),
            ..body
        })
        .expect("json");
        for newer in ["GwPriority", "DNSNames", "MacAddress", "Annotations"] {
            assert!(
                !json.to_string().contains(newer),
                "{newer} must not be sent"
            );
        }
    }
}
