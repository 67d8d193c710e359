//! Enforces ARCHITECTURE.md's invariants: which crate may depend on what, `//!` headers.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The dependency names (normal and dev) of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
        .unwrap_or_default();
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line.contains("dependencies");
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                deps.push(name.split('.').next().unwrap_or(name).to_owned());
            }
        }
    }
    deps
}

fn check(krate: &str, forbidden: &[&str]) {
    let deps = dependencies(krate);
    assert!(
        !deps.is_empty(),
        "{krate}: no manifest or no dependencies found"
    );
    for f in forbidden {
        assert!(
            !deps.iter().any(|d| d == f),
            "{krate} must not depend on {f} (see ARCHITECTURE.md)"
        );
    }
}

/// The crates that run candidates' code or speak to an engine: none of them is under the
/// model, the format, the grader, the reports or similarity.
const RUNNING: [&str; 6] = [
    "assay-intake",
    "assay-sandbox",
    "assay-docker",
    "assay-loadgen",
    "assay-engine",
    "assay-runner",
];

fn with_running(extra: &[&'static str]) -> Vec<&'static str> {
    RUNNING
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

#[test]
fn dependencies_point_one_way() {
    check(
        "assay-model",
        &with_running(&[
            "assay-format",
            "assay-grader",
            "assay-report",
            "assay-batch",
            "tokio",
            "bollard",
        ]),
    );
    check(
        "assay-grader",
        &with_running(&["assay-format", "assay-batch", "bollard", "tokio", "reqwest"]),
    );
    check(
        "assay-report",
        &with_running(&["assay-batch", "bollard", "tokio", "reqwest"]),
    );
    check(
        "assay-engine",
        &[
            "assay-grader",
            "assay-report",
            "assay-runner",
            "assay-sandbox",
            "assay-docker",
            "assay-intake",
            "assay-batch",
            "bollard",
        ],
    );
    // The load generator is self-contained: plain HTTP/1.1 and HDR histograms.
    check(
        "assay-loadgen",
        &[
            "assay-format",
            "assay-engine",
            "assay-runner",
            "assay-sandbox",
            "assay-docker",
            "assay-intake",
            "assay-grader",
            "assay-report",
            "assay-batch",
            "bollard",
            "reqwest",
        ],
    );
    // Intake reads files: no engine, no async runtime.
    check(
        "assay-intake",
        &[
            "assay-format",
            "assay-engine",
            "assay-runner",
            "assay-sandbox",
            "assay-docker",
            "assay-grader",
            "assay-report",
            "assay-batch",
            "bollard",
            "tokio",
            "reqwest",
        ],
    );
    // The sandbox is engine-neutral: Docker comes in as a backend, from the caller.
    check(
        "assay-sandbox",
        &[
            "assay-docker",
            "assay-engine",
            "assay-runner",
            "assay-intake",
            "assay-grader",
            "assay-report",
            "assay-batch",
            "bollard",
        ],
    );
    check(
        "assay-docker",
        &[
            "assay-engine",
            "assay-runner",
            "assay-intake",
            "assay-grader",
            "assay-report",
            "assay-batch",
        ],
    );
    // The pipeline is handed a backend: it never names Docker.
    check(
        "assay-runner",
        &[
            "assay-grader",
            "assay-report",
            "assay-batch",
            "assay-docker",
            "bollard",
        ],
    );
    // Batch composes runner, grader and reports through their library calls (and connects
    // to Docker once, through assay-docker); the engine stays behind the runner, and batch
    // never prints (the CLI renders its events).
    check(
        "assay-batch",
        &["bollard", "assay-engine", "assay-cli", "indicatif", "clap"],
    );
    // The similarity engine is pure: no Docker, no async, no runner, nothing that prints.
    check(
        "assay-similarity",
        &with_running(&[
            "assay-batch",
            "assay-cli",
            "bollard",
            "tokio",
            "clap",
            "indicatif",
        ]),
    );
    check(
        "assay-format",
        &with_running(&[
            "assay-grader",
            "assay-report",
            "assay-batch",
            "tokio",
            "bollard",
        ]),
    );
}

/// The resolved graph of normal dependencies (no dev or build ones), from `cargo metadata`:
/// package name → the names it depends on, and the workspace's own packages.
fn resolved_graph() -> (std::collections::BTreeMap<String, Vec<String>>, Vec<String>) {
    // This machine's platform only: the others' packages are not downloaded (offline).
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc names its host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let name_of = |id: &str| -> String {
        meta["packages"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["id"] == id))
            .and_then(|p| p["name"].as_str())
            .unwrap_or(id)
            .to_owned()
    };
    let mut graph = std::collections::BTreeMap::new();
    for node in meta["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph")
    {
        let deps = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null())
            })
            .filter_map(|d| d["pkg"].as_str().map(name_of))
            .collect();
        graph.insert(name_of(node["id"].as_str().unwrap_or_default()), deps);
    }
    let members = meta["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(name_of))
        .collect();
    (graph, members)
}

/// Every package `krate` depends on, directly or not, without going through `skip`.
fn closure(
    graph: &std::collections::BTreeMap<String, Vec<String>>,
    krate: &str,
    skip: &str,
) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![krate.to_owned()];
    while let Some(next) = todo.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if dep != skip && seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

/// What `dependencies_point_one_way` checks of manifests, on the whole resolved graph: no
/// Docker, async runtime or HTTP client anywhere under the model, the grader and the
/// reports; bollard reached only through assay-docker, and nowhere under intake, the
/// sandbox, the load generator, the engine or the runner; the engine and the load generator
/// under neither the runner nor the sandbox.
#[test]
fn dependency_closures_keep_docker_and_async_out() {
    let (graph, members) = resolved_graph();
    for krate in ["assay-model", "assay-grader", "assay-report"] {
        assert!(graph.contains_key(krate), "{krate} is in the workspace");
        let under = closure(&graph, krate, "");
        for f in ["tokio", "bollard", "reqwest"] {
            assert!(
                !under.contains(f),
                "{f} is under {krate} (see ARCHITECTURE.md)"
            );
        }
    }
    for krate in members.iter().filter(|m| *m != "assay-docker") {
        assert!(
            !closure(&graph, krate, "assay-docker").contains("bollard"),
            "{krate} reaches bollard other than through assay-docker (see ARCHITECTURE.md)"
        );
    }
    assert!(
        closure(&graph, "assay-docker", "").contains("bollard"),
        "assay-docker is where bollard is"
    );
    for krate in [
        "assay-intake",
        "assay-sandbox",
        "assay-loadgen",
        "assay-engine",
        "assay-runner",
    ] {
        assert!(graph.contains_key(krate), "{krate} is in the workspace");
        let under = closure(&graph, krate, "");
        for f in ["bollard", "assay-docker"] {
            assert!(
                !under.contains(f),
                "{f} is under {krate} (see ARCHITECTURE.md)"
            );
        }
    }
    for krate in ["assay-engine", "assay-loadgen"] {
        let under = closure(&graph, krate, "");
        for f in ["assay-runner", "assay-sandbox", "assay-intake"] {
            assert!(
                !under.contains(f),
                "{f} is under {krate} (see ARCHITECTURE.md)"
            );
        }
    }
    assert!(
        !closure(&graph, "assay-loadgen", "").contains("assay-engine"),
        "the load generator stands alone; the engine depends on it"
    );
    assert!(
        !closure(&graph, "assay-intake", "").contains("tokio"),
        "intake reads files synchronously"
    );
    // The test kit is for tests: a dev-dependency only, with neither Docker nor async under it.
    for krate in &members {
        assert!(
            !graph
                .get(krate)
                .into_iter()
                .flatten()
                .any(|d| d == "assay-testkit"),
            "{krate} depends on assay-testkit outside its dev-dependencies (see ARCHITECTURE.md)"
        );
    }
    let kit = closure(&graph, "assay-testkit", "");
    for f in [
        "tokio",
        "bollard",
        "reqwest",
        "assay-runner",
        "assay-engine",
    ] {
        assert!(
            !kit.contains(f),
            "{f} is under assay-testkit (see ARCHITECTURE.md)"
        );
    }
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let roots = [
        root().join("crates"),
        root().join("tests"),
        root().join("fuzz"),
    ];
    let missing: Vec<String> = sources(&roots)
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` line: {missing:#?}"
    );
}

/// The Rust sources under `roots` (build outputs and test fixtures left out), with their
/// text.
fn sources(roots: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = roots.to_vec();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("target") && !p.ends_with("fixtures") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                found.push((p, text));
            }
        }
    }
    found
}

#[test]
fn one_writer_of_a_run_folder() {
    // Only assay-report writes run-results.json and the reports (`write_run`, atomically);
    // the run, regrade and batch paths call it and name the file by its constant.
    let crates = root().join("crates");
    let mut strays = Vec::new();
    for (path, text) in sources(std::slice::from_ref(&crates)) {
        if path.starts_with(crates.join("assay-report")) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if line.contains("\"run-results.json\"") || line.contains("\"scorecard.json\")") {
                let written = line.contains("write") || line.contains("File::create");
                let joined = line.contains(".join(\"run-results.json\")");
                if written || joined {
                    strays.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        strays.is_empty(),
        "run folders written outside assay_report::write_run: {strays:#?}"
    );
    let calls = |file: &str| {
        std::fs::read_to_string(crates.join(file))
            .unwrap_or_default()
            .matches("assay_report::write_run(")
            .count()
    };
    assert_eq!(
        calls("assay-cli/src/main.rs"),
        2,
        "assay run and assay regrade"
    );
    assert_eq!(
        calls("assay-batch/src/lib.rs"),
        1,
        "each submission of a batch"
    );
}

#[test]
fn only_the_docker_backend_names_bollard() {
    // Everything else goes through the ImageStore and Runtime traits; the generic Sandbox
    // state machine names no Docker type at all.
    let crates = root().join("crates");
    let docker = crates.join("assay-docker/src");
    let strays: Vec<String> = sources(std::slice::from_ref(&crates))
        .into_iter()
        .filter(|(p, _)| *p != docker.join("docker.rs") && !p.starts_with(docker.join("docker")))
        .filter(|(_, text)| text.contains("bollard::") || text.contains(".client()"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        strays.is_empty(),
        "bollard or DockerBackend::client() outside assay-docker/src/docker*: {strays:#?}"
    );
    let sandbox = crates.join("assay-sandbox/src");
    let run = std::fs::read_to_string(sandbox.join("run.rs")).expect("assay-sandbox/src/run.rs");
    for docker in ["docker::", "assay_docker", "DockerBackend", "DockerRun"] {
        assert!(
            !run.contains(docker),
            "assay-sandbox/src/run.rs names `{docker}`"
        );
    }
}
