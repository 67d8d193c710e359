//! The workspace's paths the tests share: its root, and the performance lane every graded
//! run of a test session enters (`--performance-lane`), so no latency figure of one test is
//! measured beside another test's build or checks; and fixture trees copied for a test.

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

/// Copies the tree `src` to `dest` (`cp -r`), for tests that grade or compare a fixture's copy.
pub fn copy_tree(src: &Path, dest: &Path) {
    let ok = std::process::Command::new("cp")
        .arg("-r")
        .arg(src)
        .arg(dest)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cp -r {} {}", src.display(), dest.display());
}
