//! What assay's tests share, and nothing else uses: the gate that decides whether a test
//! needing the Docker engine or Chromium runs, skips or fails (`tier`), the workspace's paths
//! (`paths`, and fixture trees copied), the process's peak memory (`memory`), and builders of
//! model values (`values`). A dev-dependency only, never published;
//! pure values and `std` (the gate pings the engine's socket itself, no Docker client).

pub mod memory;
pub mod paths;
pub mod tier;
pub mod values;

pub use tier::{REQUIRE_VAR, require_chromium, require_docker};

/// Returns from the calling test when the Docker engine does not answer (one line on standard
/// error says so), or panics there when `ASSAY_REQUIRE_DOCKER=1`; evaluates to the engine's
/// endpoint otherwise. For tests returning `()`.
#[macro_export]
macro_rules! require_docker {
    () => {
        match $crate::require_docker() {
            Some(endpoint) => endpoint,
            None => return,
        }
    };
}

/// As `require_docker!`, for headless Chromium; evaluates to the browser's path.
#[macro_export]
macro_rules! require_chromium {
    () => {
        match $crate::require_chromium() {
            Some(path) => path,
            None => return,
        }
    };
}
