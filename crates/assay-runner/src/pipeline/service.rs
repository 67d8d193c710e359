//! The engine's [`Service`] over a [`Sandbox`] (on any backend): lifecycle and facts of the running
//! submission, nothing else. When there is no sandbox (the submission did not build) every
//! operation reports the service as absent.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use assay_engine::{ControlError, ExecOutput, Service, StageRun, StopReport};
use assay_model::SandboxReport;
use tokio::sync::Mutex;

use assay_sandbox::{Backend, BuildRequest, Sandbox, SandboxError, build_submission};

/// The running submission as the engine sees it.
pub struct SandboxService<B: Backend> {
    sandbox: Mutex<Option<Sandbox<B>>>,
    /// Refreshed when the service is started again: it may come back at another address.
    base_url: std::sync::Mutex<String>,
    startup_seconds: Option<f64>,
    /// Sidecar addresses, refreshed when a sidecar is restarted.
    sidecars: std::sync::Mutex<Vec<(String, std::net::IpAddr)>>,
    /// How to build another stage of the submission's Dockerfile (its service image's
    /// request, the target set per call); `None`: this service cannot.
    stages: Option<(B, BuildRequest)>,
}

impl<B: Backend> std::fmt::Debug for SandboxService<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxService")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl<B: Backend> SandboxService<B> {
    pub fn new(sandbox: Option<Sandbox<B>>) -> SandboxService<B> {
        let base_url = sandbox
            .as_ref()
            .and_then(Sandbox::service_url)
            .unwrap_or_else(unreachable_url);
        let startup_seconds = sandbox.as_ref().and_then(|s| s.report().startup_seconds);
        let sidecars = sandbox
            .as_ref()
            .map(|s| {
                s.spec()
                    .sidecars
                    .iter()
                    .filter_map(|sc| s.sidecar_addr(&sc.name).map(|ip| (sc.name.clone(), ip)))
                    .collect()
            })
            .unwrap_or_default();
        SandboxService {
            sandbox: Mutex::new(sandbox),
            base_url: std::sync::Mutex::new(base_url),
            startup_seconds,
            sidecars: std::sync::Mutex::new(sidecars),
            stages: None,
        }
    }

    /// Lets the engine run commands in other stages of the submission's Dockerfile, built
    /// with `request` (the service image's) and the stage as target.
    pub fn with_stages(mut self, backend: B, request: BuildRequest) -> SandboxService<B> {
        self.stages = Some((backend, request));
        self
    }

    /// Completes the sandbox's report and removes everything of the run.
    pub async fn finish(&self, log_cap: usize) -> Result<Option<SandboxReport>, SandboxError> {
        match self.sandbox.lock().await.take() {
            Some(sb) => sb.finish(log_cap).await.map(Some),
            None => Ok(None),
        }
    }
}

impl<B: Backend> SandboxService<B> {
    /// A service started again may have a new address (Docker gives the first free one: the
    /// database's, when both were stopped and the service started first).
    fn refresh_service(&self, sb: &Sandbox<B>) {
        if let (Some(url), Ok(mut base)) = (sb.service_url(), self.base_url.lock()) {
            *base = url;
        }
    }

    /// A sidecar started again may have a new address.
    fn refresh_sidecar(&self, sb: &Sandbox<B>, name: &str) {
        if let (Some(ip), Ok(mut sidecars)) = (sb.sidecar_addr(name), self.sidecars.lock()) {
            sidecars.retain(|(n, _)| n != name);
            sidecars.push((name.to_owned(), ip));
        }
    }
}

/// A URL nothing answers on (a port just released on loopback), for a service that does
/// not exist; the engine skips every check that would use it.
fn unreachable_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    format!("http://127.0.0.1:{port}")
}

fn control(e: SandboxError) -> ControlError {
    ControlError(e.to_string())
}

#[async_trait::async_trait]
impl<B: Backend> Service for SandboxService<B> {
    fn base_url(&self) -> String {
        match self.base_url.lock() {
            Ok(b) => b.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn sidecar_addr(&self, name: &str, port: u16) -> Option<SocketAddr> {
        let sidecars = self.sidecars.lock().ok()?;
        sidecars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, ip)| SocketAddr::new(*ip, port))
    }

    fn startup_seconds(&self) -> Option<f64> {
        self.startup_seconds
    }

    async fn stop(&self, grace: Duration) -> Result<StopReport, ControlError> {
        let mut guard = self.sandbox.lock().await;
        let sb = guard
            .as_mut()
            .ok_or_else(|| ControlError("there is no service to stop".into()))?;
        let r = sb.stop_service(grace).await.map_err(control)?;
        Ok(StopReport {
            seconds_to_exit: r.seconds_to_exit,
            exit_code: r.exit_code,
            killed_after_grace: r.killed_after_grace,
        })
    }

    async fn start(&self) -> Result<bool, ControlError> {
        let mut guard = self.sandbox.lock().await;
        let sb = guard
            .as_mut()
            .ok_or_else(|| ControlError("there is no service to start".into()))?;
        let failure = sb.start_service().await.map_err(control)?;
        self.refresh_service(sb);
        Ok(failure.is_none())
    }

    async fn interrupt_sidecar(&self, name: &str, down_for: Duration) -> Result<(), ControlError> {
        let mut guard = self.sandbox.lock().await;
        let sb = guard
            .as_mut()
            .ok_or_else(|| ControlError("there is no sandbox".into()))?;
        sb.interrupt_sidecar(name, down_for).await.map_err(control)
    }

    async fn start_before_sidecar(
        &self,
        name: &str,
        delay: Duration,
    ) -> Result<bool, ControlError> {
        let mut guard = self.sandbox.lock().await;
        let sb = guard
            .as_mut()
            .ok_or_else(|| ControlError("there is no service to start".into()))?;
        let failure = sb
            .start_service_before_sidecar(name, delay)
            .await
            .map_err(control)?;
        self.refresh_sidecar(sb, name);
        self.refresh_service(sb);
        Ok(failure.is_none())
    }

    async fn peak_memory(&self) -> Option<u64> {
        let guard = self.sandbox.lock().await;
        guard.as_ref().and_then(|s| s.usage().peak_memory_bytes)
    }

    async fn logs(&self, cap: usize) -> String {
        let guard = self.sandbox.lock().await;
        match guard.as_ref() {
            Some(sb) => sb
                .logs(cap)
                .await
                .unwrap_or_else(|e| format!("(logs unavailable: {e})")),
            None => String::new(),
        }
    }

    async fn is_running(&self) -> bool {
        let guard = self.sandbox.lock().await;
        match guard.as_ref() {
            Some(sb) => matches!(sb.exit_status().await, Ok(None)),
            None => false,
        }
    }

    async fn exec_in_stage(
        &self,
        stage: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<StageRun, ControlError> {
        let (backend, request) = self
            .stages
            .as_ref()
            .ok_or_else(|| ControlError("this service cannot build a stage".into()))?;
        let mut request = request.clone();
        request.target = Some(stage.to_owned());
        let built = build_submission(backend, &request).await.map_err(control)?;
        let image = match (built.image, built.failure) {
            (Some(image), None) => image,
            (_, failure) => {
                return Ok(StageRun::NotBuilt {
                    reason: failure
                        .map(|f| f.describe())
                        .unwrap_or_else(|| "the build produced no image".to_owned()),
                    log: built.log,
                });
            }
        };
        let guard = self.sandbox.lock().await;
        let sb = guard
            .as_ref()
            .ok_or_else(|| ControlError("there is no sandbox to run a command in".into()))?;
        let r = sb
            .run_task(&image, command, timeout)
            .await
            .map_err(control)?;
        Ok(StageRun::Ran(ExecOutput {
            exit_code: r.exit_code,
            output: r.output,
        }))
    }

    async fn exec(
        &self,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, ControlError> {
        let guard = self.sandbox.lock().await;
        let sb = guard
            .as_ref()
            .ok_or_else(|| ControlError("there is no service to run a command in".into()))?;
        let r = sb.exec_service(command, timeout).await.map_err(control)?;
        Ok(ExecOutput {
            exit_code: r.exit_code,
            output: r.output,
        })
    }
}
