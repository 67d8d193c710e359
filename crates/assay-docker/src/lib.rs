//! The Docker backend: [`DockerBackend`] implements `assay-sandbox`'s [`ImageStore`] and
//! [`Runtime`] traits on a local Docker Engine (API 1.41, Docker 20.10+) through bollard,
//! with the host firewall of run and build networks, the service's seccomp profile, and the
//! build network (allow-listing proxy) and build watch (disk, pids, output). The only crate
//! that names bollard.
//!
//! [`ImageStore`]: assay_sandbox::ImageStore
//! [`Runtime`]: assay_sandbox::Runtime

mod docker;
mod firewall;
mod seccomp;
mod tail;

pub use docker::{API_VERSION, DockerBackend, DockerConfig, DockerRun};
pub use seccomp::PROFILE as SECCOMP_PROFILE;

/// The sandbox on Docker, the engine assay runs on today.
pub type DockerSandbox = assay_sandbox::Sandbox<DockerBackend>;
