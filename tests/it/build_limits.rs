//! Limits of a submission's build against real Docker: a build that writes past its disk
//! limit, one that forks past its pids limit and one past its time limit are stopped and
//! graded "did not build" naming the limit, leaving no step container, step image or tag
//! behind; output past its limit is cut with a note. And the long-lived build proxy: gc
//! removes it once no build uses it and the assay that made it is gone.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use assay_docker::DockerBackend;
use assay_model::SandboxFailure;
use assay_sandbox::{
    BuildLimits, BuildOutcome, BuildRequest, build_submission, build_submission_with,
};
use bollard::query_parameters::ListContainersOptions;

const MIB: u64 = 1024 * 1024;

async fn backend() -> DockerBackend {
    DockerBackend::connect()
        .await
        .expect("Docker must be reachable")
}

/// A submission of one Dockerfile whose first step is unique to this test run (so no
/// cache hides a step) and leaves a committed step image behind it.
fn submission(name: &str, steps: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let marker = format!("{name}-{}-{nanos}", std::process::id());
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM debian:bookworm-slim\nRUN echo {marker} > /marker\n{steps}\n"),
    )
    .expect("write Dockerfile");
    (dir, marker)
}

async fn build(backend: &DockerBackend, dir: &Path, limits: BuildLimits) -> BuildOutcome {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut req = BuildRequest::new(dir);
    req.limits = limits;
    req.scratch_dir = Some(scratch.path().to_path_buf());
    build_submission(backend, &req).await.expect("build runs")
}

/// The ids of the images the build's own steps committed, read from its log.
fn step_images(log: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut from = false;
    for line in log.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Step ") {
            from = rest.to_ascii_uppercase().contains(" : FROM ");
        } else if let Some(id) = line.strip_prefix("---> ")
            && id.len() >= 12
            && id.chars().all(|c| c.is_ascii_hexdigit())
            && !from
        {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// Nothing of a failed build is left: no tag, no step image, no container of its steps.
async fn assert_nothing_left(backend: &DockerBackend, out: &BuildOutcome, marker: &str) {
    let docker = backend.client();
    let hash = out.content_hash.as_deref().expect("the build ran");
    let tag = format!("assay-sub:{}", &hash[..32]);
    assert!(docker.inspect_image(&tag).await.is_err(), "{tag} left");
    let steps = step_images(&out.log);
    assert!(
        !steps.is_empty(),
        "the first step committed an image:\n{}",
        out.log
    );
    for id in &steps {
        assert!(
            docker.inspect_image(id).await.is_err(),
            "step image {id} left"
        );
    }
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .expect("list containers");
    let left: Vec<_> = containers
        .iter()
        .filter(|c| {
            c.command.as_deref().unwrap_or("").contains(marker)
                || steps
                    .iter()
                    .any(|s| c.image_id.as_deref().unwrap_or("").contains(s.as_str()))
        })
        .collect();
    assert!(left.is_empty(), "build containers left: {left:?}");
}

fn did_not_build(out: &BuildOutcome) -> String {
    match &out.failure {
        Some(SandboxFailure::DidNotBuild { reason }) => reason.clone(),
        other => panic!("expected did not build, got {other:?}\n{}", out.log),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_writing_past_its_disk_limit_does_not_build_and_leaves_nothing() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let (dir, marker) = submission(
        "disk",
        "RUN fallocate -l 200M /big || dd if=/dev/zero of=/big bs=1M count=200\nRUN echo after",
    );
    let out = build(
        &backend,
        dir.path(),
        BuildLimits {
            disk_bytes: 64 * MIB,
            ..BuildLimits::default()
        },
    )
    .await;
    let reason = did_not_build(&out);
    assert!(
        reason.contains("disk limit of 64.0 MiB") && reason.contains("submission.build_disk"),
        "{reason}"
    );
    assert!(out.image.is_none());
    assert_nothing_left(&backend, &out, &marker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_in_a_build_step_is_stopped_by_the_pids_limit() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    // bash retries a fork that fails for a while, holding the step at its limit.
    let (dir, marker) = submission(
        "pids",
        "RUN bash -c 'for i in $(seq 1 400); do sleep 120 & done; wait'",
    );
    let out = build(
        &backend,
        dir.path(),
        BuildLimits {
            pids: 32,
            time_limit: Duration::from_secs(300),
            ..BuildLimits::default()
        },
    )
    .await;
    let reason = did_not_build(&out);
    assert!(
        reason.contains("limit of 32 processes") && reason.contains("submission.build_pids"),
        "{reason}"
    );
    assert_nothing_left(&backend, &out, &marker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_past_its_time_limit_is_stopped_and_leaves_nothing() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let (dir, marker) = submission("time", "RUN sleep 600");
    let out = build(
        &backend,
        dir.path(),
        BuildLimits {
            time_limit: Duration::from_secs(40),
            ..BuildLimits::default()
        },
    )
    .await;
    assert_eq!(
        out.failure,
        Some(SandboxFailure::BuildTimedOut { limit_seconds: 40 }),
        "{}",
        out.log
    );
    // The step images are read from the log: the first step's is there.
    assert_nothing_left(&backend, &out, &marker).await;
    // The sleeping step's container is gone too (its command names the sleep).
    let containers = backend
        .client()
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .expect("list containers");
    assert!(
        !containers.iter().any(|c| {
            c.command.as_deref().unwrap_or("").contains("sleep 600")
                && c.image_id
                    .as_deref()
                    .is_some_and(|i| step_images(&out.log).iter().any(|s| i.contains(s)))
        }),
        "the timed-out step's container lingers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_output_past_its_limit_is_cut_with_a_note() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let (dir, _marker) = submission(
        "output",
        "RUN for i in $(seq 1 4000); do echo \"flood line $i of the build output\"; done",
    );
    let cap = 8 * 1024;
    let scratch = tempfile::tempdir().expect("scratch");
    let mut req = BuildRequest::new(dir.path());
    req.limits = BuildLimits {
        log_cap_bytes: cap,
        ..BuildLimits::default()
    };
    req.scratch_dir = Some(scratch.path().to_path_buf());
    let shown = Mutex::new(Vec::<String>::new());
    let on_line = |l: &str| shown.lock().expect("lock").push(l.to_owned());
    let out = build_submission_with(&backend, &req, Some(&on_line))
        .await
        .expect("build runs");
    assert!(out.failure.is_none(), "{:?}", out.failure);
    let shown = shown.into_inner().expect("lock");
    let note = shown.last().expect("lines shown");
    assert!(
        note.starts_with("[build output over 8192 bytes: the rest is not shown"),
        "{note}"
    );
    assert!(
        !shown.iter().any(|l| l.contains("flood line 4000 ")),
        "the end of the flood was shown live"
    );
    let shown_bytes: usize = shown[..shown.len() - 1].iter().map(|l| l.len() + 1).sum();
    assert!(shown_bytes <= cap, "{shown_bytes} bytes shown");
    // The log keeps the tail (where a failure's reason is), after a note.
    assert!(out.log.starts_with("[… "), "{}", &out.log[..80]);
    assert!(out.log.contains("flood line 4000 "));
    assert!(out.log.len() < cap + 200, "{} bytes kept", out.log.len());
    if let Some(tag) = &out.image {
        let _ = backend
            .client()
            .remove_image(
                tag,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
    }
}

/// A build proxy container as assay makes one (not started: gc looks at labels and
/// networks only), owned by `pid` started at `start`.
async fn proxy_container(
    backend: &DockerBackend,
    name: &str,
    pid: u32,
    start: &str,
    network: &str,
) {
    let body = bollard::models::ContainerCreateBody {
        image: Some("assay/build-proxy:1".to_owned()),
        labels: Some(std::collections::HashMap::from([
            ("assay.managed".to_owned(), "true".to_owned()),
            ("assay.kind".to_owned(), "build-proxy".to_owned()),
            ("assay.pid".to_owned(), pid.to_string()),
            ("assay.pid-start".to_owned(), start.to_owned()),
        ])),
        host_config: Some(bollard::models::HostConfig {
            network_mode: Some(network.to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    backend
        .client()
        .create_container(
            Some(bollard::query_parameters::CreateContainerOptions {
                name: Some(name.to_owned()),
                ..Default::default()
            }),
            body,
        )
        .await
        .expect("create proxy container");
}

async fn exists(backend: &DockerBackend, container: &str) -> bool {
    backend
        .client()
        .inspect_container(
            container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .is_ok()
}

async fn remove_container(backend: &DockerBackend, container: &str) {
    let _ = backend
        .client()
        .remove_container(
            container,
            Some(bollard::query_parameters::RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_a_build_proxy_once_idle_and_its_creator_gone() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    // The egress network the proxies sit on (made by any build).
    let (dir, _) = submission("proxy-gc", "");
    let built = build(&backend, dir.path(), BuildLimits::default()).await;
    assert!(built.failure.is_none(), "{:?}", built.failure);
    let docker = backend.client();
    if let Some(tag) = &built.image {
        let _ = docker
            .remove_image(
                tag,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
    }
    let me = std::process::id();
    let dead = {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        child.wait().expect("wait");
        child.id()
    };
    let (orphan, mine, busy) = (
        format!("assay-build-proxy-it-orphan-{me}"),
        format!("assay-build-proxy-it-mine-{me}"),
        format!("assay-build-proxy-it-busy-{me}"),
    );
    let my_start = std::fs::read_to_string(format!("/proc/{me}/stat"))
        .ok()
        .and_then(|s| {
            let after = s[s.rfind(')')? + 1..].to_owned();
            after.split_whitespace().nth(19).map(str::to_owned)
        })
        .expect("start time");
    // A proxy serving a build: on that build's network from its creation (another
    // test's gc, running at the same time, would remove it while it is still idle).
    let net = format!("it-proxy-busy-{me}");
    docker
        .create_network(bollard::models::NetworkCreateRequest {
            name: net.clone(),
            internal: Some(true),
            ..Default::default()
        })
        .await
        .expect("create network");
    proxy_container(&backend, &orphan, dead, "1", "assay-build").await;
    proxy_container(&backend, &mine, me, &my_start, "assay-build").await;
    proxy_container(&backend, &busy, dead, "1", &net).await;
    docker
        .connect_network(
            "assay-build",
            bollard::models::NetworkConnectRequest {
                container: busy.clone(),
                endpoint_config: None,
            },
        )
        .await
        .expect("connect");

    let report = assay_sandbox::gc(&backend).await.expect("gc");
    let (orphan_left, mine_left, busy_left) = (
        exists(&backend, &orphan).await,
        exists(&backend, &mine).await,
        exists(&backend, &busy).await,
    );
    for c in [&orphan, &mine, &busy] {
        remove_container(&backend, c).await;
    }
    let _ = docker.remove_network(&net).await;
    // Another test's gc, running at the same time, may be the one that removed it (and
    // counted it): the orphan being gone is what matters.
    assert!(
        !orphan_left,
        "an idle proxy of a dead assay stays: {report:?}"
    );
    assert!(mine_left, "the proxy of a live assay was removed");
    assert!(busy_left, "a proxy serving a build was removed");
}
