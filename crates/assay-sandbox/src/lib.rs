//! Hardened sandboxes, engine-neutral: build a submission, run it beside its sidecars on a
//! network that reaches nothing, exercise and measure it, and leave nothing behind.
//!
//! * [`ensure_images`]: the base and sidecar images assay needs (idempotent).
//! * [`build_submission`]: the submission's Dockerfile, safely packed, capped, cached.
//! * [`Sandbox::start`]: network + firewall, sidecars, hardened service, health.
//! * [`cleanup_run`] / [`gc`]: removal of a run's resources from a signal handler, and of
//!   whatever killed runs left.
//!
//! The engine sits behind two traits, [`ImageStore`] and [`Runtime`] ([`Backend`] is both),
//! with what differs between engines as [`Capabilities`]; `assay_docker::DockerBackend`
//! implements them, and [`fake::FakeBackend`] scripts them for tests of the [`Sandbox`] state
//! machine without Docker. Nothing here names bollard: only the `assay-docker` crate does.

mod backend;
mod build;
mod context;
mod dockerignore;
mod error;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
mod health;
mod images;
pub mod labels;
mod run;
mod spec;
mod trust;

pub use backend::{
    Backend, BuildEgress, BuildEnd, BuildResources, BuildResult, Capabilities, CleanupReport,
    DEFAULT_REGISTRIES, ExecResult, GcReport, ImageBuild, ImageFacts, ImageStore, RunIsolation,
    Runtime, StoredImage, UsageSample, WorkloadState,
};
pub use build::{
    BuildLimits, BuildOutcome, BuildRequest, PROXY_VARIABLES, SUBMISSION_REPOSITORY,
    build_submission, build_submission_with, proxy_build_args,
};
pub use context::{ContextReport, SkippedEntry};
pub use dockerignore::{DockerIgnore, MAX_PATTERNS as DOCKERIGNORE_MAX_PATTERNS};
pub use error::SandboxError;
pub use images::{
    BASE_IMAGE, BUILD_PROXY_IMAGE, ImageAction, ImageRecipe, ImageStatus, ImagesConfig,
    ImagesReport, PruneReport, TrustLayer, UPSTREAM_BASE_IMAGE, ensure_images, ensure_images_with,
    ensure_trusted, prune_submission_images,
};
pub use labels::{
    EXTRA_CA as LABEL_EXTRA_CA, MANAGED as LABEL_MANAGED, Owner, PID as LABEL_PID, RUN as LABEL_RUN,
};
pub use run::{
    DEFAULT_LOG_CAP, ExitStatus, KillReason, ResourceUsage, RestartReport, Sandbox, StopReport,
};
pub use spec::{
    CHECKS_ROLE, Hardening, HealthCheck, Outage, Readiness, SandboxSpec, Seccomp, ServiceSpec,
    SidecarHardening, SidecarSpec, TmpfsMount,
};
pub use trust::{ExtraCa, LOCAL_CA_FOLDERS, SYSTEM_BUNDLES, TrustBundle, TrustSource};

/// Removes everything of run `run_id` (containers, networks, volumes, firewall rules).
/// Idempotent; meant for the CLI's Ctrl-C / SIGTERM handler.
pub async fn cleanup_run<R: Runtime>(
    backend: &R,
    run_id: &str,
) -> Result<CleanupReport, SandboxError> {
    backend.cleanup_run(run_id).await
}

/// Removes what killed runs left: everything labelled `assay.managed=true` whose `assay.pid`
/// is no longer alive, and orphaned `assay-*` firewall rules.
pub async fn gc<R: Runtime>(backend: &R) -> Result<GcReport, SandboxError> {
    backend.gc().await
}
