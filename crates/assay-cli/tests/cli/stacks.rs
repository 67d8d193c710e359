//! Builds that download their dependencies: the example stacks of `examples/stacks` (a
//! Python service installing from PyPI, a Rust service fetching crates.io) graded end to end
//! with the `init` scaffold through this machine's TLS-intercepting proxy (the trust layer
//! that makes it work is tested in `tests/it/registries.rs`), and a named CA that cannot be
//! read refused as a usage error.

use std::path::PathBuf;

use crate::invoke::{assay, code, graded, init, json, output, root, text};

fn stack(name: &str) -> PathBuf {
    root().join("examples/stacks").join(name)
}

/// Grades `examples/stacks/<name>` with the `init` scaffold; every check must pass.
fn graded_end_to_end(name: &str) {
    let work = tempfile::tempdir().expect("work dir");
    let assessment = init(work.path());
    let (o, out) = graded(work.path(), &assessment, &stack(name), &[]);
    let card = json(&out.join("scorecard.json"));
    let log = card["sandbox"]["build_log"].as_str().unwrap_or_default();
    assert_eq!(
        code(&o),
        0,
        "{name} was not graded as passing:\n{}\n{}\nbuild log:\n{log}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let failing: Vec<String> = card["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "pass")
        .map(|c| {
            format!(
                "{} {}: {} evidence: {}",
                c["id"], c["status"], c["message"], c["evidence"]
            )
        })
        .collect();
    assert!(failing.is_empty(), "{name}: checks not passed: {failing:?}");
    assert_eq!(card["sandbox"]["image_built"], true, "{name}");
    // The scaffold has a load check: the machine was measured before it.
    let calibration = &card["sandbox"]["calibration"];
    assert!(
        calibration["loopback_rps"].as_f64().unwrap_or(0.0) > 0.0
            && calibration["cpu_ms"].as_f64().unwrap_or(0.0) > 0.0,
        "{name}: {calibration}"
    );
}

#[test]
fn a_python_service_installing_from_pypi_is_graded_end_to_end() {
    assay_testkit::require_docker!();
    graded_end_to_end("python-pip");
}

#[test]
fn a_rust_service_fetching_crates_io_is_graded_end_to_end() {
    assay_testkit::require_docker!();
    graded_end_to_end("rust-cargo");
}

#[test]
fn a_named_extra_ca_that_cannot_be_read_is_a_usage_error_naming_the_setting() {
    let work = tempfile::tempdir().expect("work dir");
    let missing = work.path().join("proxy-ca.pem");
    let o = output(
        assay(work.path())
            .arg("--extra-ca")
            .arg(&missing)
            .args(["images", "build"]),
    );
    let err = text(&o.stderr);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("proxy-ca.pem") && err.contains("--extra-ca"),
        "{err}"
    );
}
