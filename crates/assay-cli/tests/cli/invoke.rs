//! Running the `assay` binary of this checkout (`CARGO_BIN_EXE_assay`, built by cargo for
//! these tests) in a clean environment of settings, and reading what it wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) use assay_testkit::paths::{machine_lane, workspace_root as root};

/// Variables that would change what the binary does, removed so only the test's own count.
const SETTINGS_VARS: [&str; 12] = [
    "ASSAY_OUT",
    "ASSAY_PROFILE",
    "ASSAY_SEED",
    "ASSAY_JOBS",
    "ASSAY_TEST_MODE",
    "ASSAY_RUNTIME",
    "ASSAY_EXTRA_CA",
    "ASSAY_REGISTRIES",
    "ASSAY_PERFORMANCE_LANE",
    "ASSAY_COLOR",
    "ASSAY_CONFIG",
    "GITHUB_STEP_SUMMARY",
];

/// `assay` run in `cwd`, with a clean environment of settings (but the session's
/// performance lane) and no user configuration.
pub(crate) fn assay(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_assay"));
    cmd.current_dir(cwd)
        .env("ASSAY_HOME", root())
        .env("XDG_CONFIG_HOME", cwd.join(".no-config"))
        .env("NO_COLOR", "1");
    for var in SETTINGS_VARS {
        cmd.env_remove(var);
    }
    cmd.env("ASSAY_PERFORMANCE_LANE", machine_lane());
    cmd
}

pub(crate) fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("assay runs")
}

pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `assay run --test-mode --seed 7 --out WORK/out [FLAGS] ASSESSMENT SUBMISSION`; returns
/// what it printed and the output folder.
pub(crate) fn graded(
    work: &Path,
    assessment: &Path,
    submission: &Path,
    flags: &[&str],
) -> (Output, PathBuf) {
    let out = work.join("out");
    let o = output(
        assay(work)
            .args(["run", "--test-mode", "--seed", "7", "--out"])
            .arg(&out)
            .args(flags)
            .arg(assessment)
            .arg(submission),
    );
    (o, out)
}

/// `assay init DIR` in `work`; returns DIR.
pub(crate) fn init(work: &Path) -> PathBuf {
    let dir = work.join("counter");
    let o = output(assay(work).arg("init").arg(&dir));
    assert_eq!(code(&o), 0, "init: {}", text(&o.stderr));
    dir
}

pub(crate) fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    read(path)
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}
