//! The build as locked down as the run: a submission's `RUN` steps sit on an internal network
//! of their own whose only way out is the allow-listing build proxy, so the grading host, the
//! cloud metadata address, other names and other ports stay out of reach while the package
//! registries answer; `ADD <url>` (fetched by the engine from the host's own network) is
//! refused before the build as a graded outcome; and nothing of the build is left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assay_docker::DockerBackend;
use assay_model::SandboxFailure;
use assay_sandbox::{BuildOutcome, BuildRequest, ImageRecipe, build_submission, ensure_images};
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hostile")
        .join(name)
}

async fn backend() -> DockerBackend {
    let backend = DockerBackend::connect()
        .await
        .expect("Docker must be reachable");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox-images");
    ensure_images(&backend, &ImageRecipe::standard(&root))
        .await
        .expect("the base, sidecar and build proxy images exist");
    backend
}

/// This host's first global IPv4 address: what a build would aim at to reach the host.
fn host_address() -> String {
    let out = std::process::Command::new("ip")
        .args(["-o", "-4", "addr", "show", "scope", "global"])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains(" docker") && !l.contains(" assay-") && !l.contains(" br-"))
        .find_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let pos = words.iter().position(|w| *w == "inet")?;
            words.get(pos + 1)?.split('/').next().map(str::to_owned)
        })
        .expect("a global IPv4 address")
}

/// Build networks and containers of this process still present (there must be none).
async fn leftovers(backend: &DockerBackend) -> Vec<String> {
    let docker = backend.client();
    let mut names = Vec::new();
    let pid = std::process::id();
    for n in docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .expect("list networks")
    {
        let name = n.name.unwrap_or_default();
        if name.starts_with(&format!("assay-build-{pid}-")) {
            names.push(name);
        }
    }
    for c in docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .expect("list containers")
    {
        let labels = c.labels.unwrap_or_default();
        if labels
            .get("assay.run")
            .is_some_and(|r| r.starts_with(&format!("build-{pid}-")))
        {
            names.extend(c.names.unwrap_or_default());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn build_steps_reach_the_registries_and_nothing_else() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    // A listener on every host address: a build step that reaches the host shows up here.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let host = host_address();
    let mut req = BuildRequest::new(fixture("build-egress"));
    req.build_args
        .insert("TARGET_HOST".to_owned(), host.clone());
    req.build_args
        .insert("TARGET_PORT".to_owned(), port.to_string());
    let build = async { build_submission(&backend, &req).await };
    let accept = async {
        tokio::time::timeout(Duration::from_secs(600), listener.accept())
            .await
            .ok()
    };
    let (out, reached): (BuildOutcome, _) = tokio::select! {
        out = build => (out.expect("the build runs"), None),
        conn = accept => (BuildOutcome::default(), conn),
    };
    assert!(
        reached.is_none(),
        "a build step connected to the grading host: {reached:?}"
    );
    assert!(out.failure.is_none(), "{:?}\n{}", out.failure, out.log);
    for blocked in [
        format!("BLOCKED direct {host}:{port}"),
        format!("BLOCKED proxy {host}:{port}"),
        "BLOCKED proxy 169.254.169.254:80".to_owned(),
        "BLOCKED proxy example.com:443".to_owned(),
        "BLOCKED proxy pypi.org:22".to_owned(),
        "REACHED proxy pypi.org:443".to_owned(),
    ] {
        assert!(
            out.log.contains(&blocked),
            "`{blocked}` not in:\n{}",
            out.log
        );
    }
    assert!(!out.log.contains("REACHED direct"), "{}", out.log);
    if let Some(image) = &out.image {
        let _ = assay_sandbox::ImageStore::remove_image(&backend, image).await;
    }
    assert_eq!(leftovers(&backend).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn add_with_a_url_is_refused_before_the_build_naming_the_line() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let out = build_submission(&backend, &BuildRequest::new(fixture("add-url")))
        .await
        .expect("graded, not an error");
    match &out.failure {
        Some(SandboxFailure::DidNotBuild { reason }) => {
            assert!(
                reason.contains("ADD with a URL")
                    && reason.contains("Dockerfile:4")
                    && reason.contains("RUN step"),
                "{reason}"
            );
        }
        other => panic!("expected did-not-build, got {other:?}\n{}", out.log),
    }
    assert!(out.image.is_none());
    assert_eq!(leftovers(&backend).await, Vec::<String>::new());
}
