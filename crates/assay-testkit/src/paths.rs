//! The workspace's paths the tests share: its root, and the performance lane every graded
//! run of a test session enters (`--performance-lane`), so no latency figure of one test is
//! measured beside another test's build or checks.

use std::path::{Path, PathBuf};

/// The workspace's root (this crate lives in `crates/assay-testkit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The performance lane every grading of the test session shares.
pub fn machine_lane() -> PathBuf {
    workspace_root().join("target/assay-tests.lane")
}
