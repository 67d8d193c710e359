//! End-to-end tests of the hardened Docker sandbox: hostile submissions (tests/fixtures/hostile)
//! against real Docker, one test per attack, each checking the runner stays up and small, the
//! run ends in its limits with the right outcome, and nothing of it is left behind.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assay_docker::{DockerBackend, DockerConfig, DockerSandbox};
use assay_model::SandboxFailure;
use assay_sandbox::{
    BuildLimits, BuildOutcome, BuildRequest, Hardening, HealthCheck, ImageRecipe, ImageStore,
    KillReason, Runtime, SUBMISSION_REPOSITORY, SandboxSpec, Seccomp, ServiceSpec, SidecarSpec,
    TmpfsMount, build_submission, cleanup_run, ensure_images, gc, prune_submission_images,
};
use bollard::models::{ContainerCreateBody, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, ListNetworksOptions,
    ListVolumesOptions, StatsOptions,
};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: u64 = 1024 * 1024;
const BASE_TAG: &str = "assay-test/hostile-base:1";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile")
}

fn run_id(name: &str) -> String {
    format!("it-{name}-{}", std::process::id())
}

/// Docker, with the hostile base image (built once, then found by its content hash).
async fn backend() -> DockerBackend {
    let backend = DockerBackend::connect()
        .await
        .expect("Docker must be reachable");
    ensure_images(
        &backend,
        &[ImageRecipe::new(BASE_TAG, fixtures().join("base"))],
    )
    .await
    .expect("the hostile base image builds");
    backend
}

async fn build_dir(backend: &DockerBackend, dir: &Path, limits: BuildLimits) -> BuildOutcome {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut req = BuildRequest::new(dir);
    req.limits = limits;
    req.scratch_dir = Some(scratch.path().to_path_buf());
    let out = build_submission(backend, &req).await.expect("build runs");
    // The packed context is gone: nothing is left in the scratch space.
    assert_eq!(
        std::fs::read_dir(scratch.path()).expect("ls").count(),
        0,
        "scratch space not emptied"
    );
    out
}

/// The image of fixture `name` (built on first use, cached after).
async fn image(backend: &DockerBackend, name: &str) -> String {
    let out = build_dir(backend, &fixtures().join(name), BuildLimits::default()).await;
    assert!(
        out.failure.is_none(),
        "{name} did not build: {:?}\n{}",
        out.failure,
        out.log
    );
    out.image.expect("an image")
}

fn spec(run: &str, image: &str) -> SandboxSpec {
    let mut service = ServiceSpec::new(image, 8080);
    service.health = HealthCheck {
        path: "/health".into(),
        timeout: Duration::from_secs(30),
        interval: Duration::from_millis(200),
        request_timeout: Duration::from_secs(1),
    };
    service.stop_grace = Duration::from_secs(3);
    SandboxSpec {
        run_id: run.to_owned(),
        service,
        sidecars: Vec::new(),
        hardening: Hardening {
            memory_bytes: 128 * MIB,
            tmp: TmpfsMount::new("/tmp", 32 * MIB),
            log_max_size_bytes: MIB,
            log_max_files: 2,
            sample_interval: Duration::from_millis(250),
            ..Hardening::default()
        },
    }
}

/// Starts a sandbox and checks the service container has no host path mounted.
async fn start(backend: &DockerBackend, spec: SandboxSpec) -> DockerSandbox {
    let sandbox = DockerSandbox::start(backend, spec)
        .await
        .expect("sandbox starts");
    let name = format!("assay-{}-service", sandbox.run_id());
    let inspect = backend
        .client()
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .expect("inspect service");
    assert!(
        inspect.mounts.unwrap_or_default().is_empty(),
        "a mount reached the service"
    );
    let hc = inspect.host_config.expect("host config");
    assert!(
        hc.binds.unwrap_or_default().is_empty(),
        "a bind mount reached the service"
    );
    assert_eq!(hc.privileged, Some(false));
    sandbox
}

/// Tears down and checks nothing of the run is left, and the runner stayed small.
async fn finish(backend: &DockerBackend, sandbox: DockerSandbox) -> assay_model::SandboxReport {
    let run = sandbox.run_id().to_owned();
    let started = Instant::now();
    let report = sandbox.finish(64 * 1024).await.expect("teardown");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "teardown took {:?}",
        started.elapsed()
    );
    assert_clean(backend, &run).await;
    assay_testkit::memory::assert_peak_under_512_mib("runner");
    report
}

fn label_filter(run: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("assay.run={run}")])])
}

async fn assert_clean(backend: &DockerBackend, run: &str) {
    let docker = backend.client();
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(label_filter(run)),
            ..Default::default()
        }))
        .await
        .expect("list containers");
    assert!(containers.is_empty(), "containers left: {containers:?}");
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(label_filter(run)),
        }))
        .await
        .expect("list networks");
    assert!(networks.is_empty(), "networks left: {networks:?}");
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(label_filter(run)),
        }))
        .await
        .expect("list volumes");
    assert!(
        volumes.volumes.unwrap_or_default().is_empty(),
        "volumes left"
    );
    for cmd in ["iptables", "ip6tables"] {
        let out = std::process::Command::new(cmd)
            .args(["-w", "10", "-S", "INPUT"])
            .output()
            .expect("iptables runs");
        let rules = String::from_utf8_lossy(&out.stdout);
        assert!(
            !rules.contains(&format!("assay.run={run},")),
            "{cmd} rules left: {rules}"
        );
    }
}

/// A GET from the host, reading at most `cap` bytes.
async fn get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
    cap: usize,
) -> Result<(u16, Vec<u8>), String> {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        while buf.len() < cap {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.truncate(cap);
        let text = String::from_utf8_lossy(&buf[..buf.len().min(64)]).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("no status in {text:?}"))?;
        let body = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| buf[i + 4..].to_vec())
            .unwrap_or_default();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

async fn get_text(sandbox: &DockerSandbox, path: &str, timeout: Duration) -> String {
    let addr = sandbox.service_addr().expect("service address");
    let (_, body) = get(addr, path, timeout, 64 * 1024)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    String::from_utf8_lossy(&body).into_owned()
}

/// Polls the service log until it has `RESULT key=…`; returns the value.
async fn wait_result(sandbox: &DockerSandbox, key: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let needle = format!("RESULT {key}=");
    loop {
        let logs = sandbox.logs(256 * 1024).await.expect("logs");
        if let Some(line) = logs.lines().rev().find(|l| l.starts_with(&needle)) {
            return line[needle.len()..].to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no `{needle}` in the log within {timeout:?}:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_exit(sandbox: &DockerSandbox, timeout: Duration) -> assay_sandbox::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(exit) = sandbox.exit_status().await.expect("state") {
            return exit;
        }
        assert!(Instant::now() < deadline, "the service still runs");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Infrastructure and builds

#[tokio::test]
async fn docker_unreachable_is_one_clear_infrastructure_error() {
    let err = DockerBackend::connect_with(DockerConfig {
        endpoint: "unix:///nonexistent/docker.sock".into(),
        call_timeout: Duration::from_secs(5),
    })
    .await
    .expect_err("no Docker there");
    assert!(err.is_infrastructure(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("systemctl start docker"), "{msg}");
    assert!(msg.contains("DOCKER_HOST"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_is_cached_by_content_and_failures_are_outcomes() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    // Same content: the second build is a cache hit.
    let first = image(&backend, "neverhealthy").await;
    let again = build_dir(
        &backend,
        &fixtures().join("neverhealthy"),
        BuildLimits::default(),
    )
    .await;
    assert!(again.cached);
    assert_eq!(again.image.as_deref(), Some(first.as_str()));
    // Submission images are found by their repository, for pruning; the base is not one.
    let listed = backend
        .list_images(SUBMISSION_REPOSITORY)
        .await
        .expect("list images");
    let facts = |tag: String| {
        let backend = backend.clone();
        async move {
            backend
                .image_facts(&tag)
                .await
                .expect("inspect")
                .expect("present")
        }
    };
    let first_id = facts(first.clone()).await.id;
    let base_id = facts(BASE_TAG.to_owned()).await.id;
    assert!(listed.iter().any(|i| i.id == first_id), "{listed:?}");
    assert!(!listed.iter().any(|i| i.id == base_id), "{listed:?}");
    assert_eq!(listed.iter().filter(|i| i.id == first_id).count(), 1);

    let dir = tempfile::tempdir().expect("tempdir");
    // No Dockerfile.
    let out = build_dir(&backend, dir.path(), BuildLimits::default()).await;
    assert!(
        matches!(&out.failure, Some(SandboxFailure::DidNotBuild { reason }) if reason.contains("Dockerfile")),
        "{:?}",
        out.failure
    );
    // A failing RUN: the log is kept as evidence.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {BASE_TAG}\nRUN echo compiling-the-candidate && exit 3\n"),
    )
    .expect("write");
    let out = build_dir(&backend, dir.path(), BuildLimits::default()).await;
    assert!(matches!(
        out.failure,
        Some(SandboxFailure::DidNotBuild { .. })
    ));
    assert!(out.log.contains("compiling-the-candidate"), "{}", out.log);
    assert!(out.image.is_none());
    // A bad Dockerfile.
    std::fs::write(dir.path().join("Dockerfile"), "FROOM nothing\n").expect("write");
    let out = build_dir(&backend, dir.path(), BuildLimits::default()).await;
    assert!(
        matches!(out.failure, Some(SandboxFailure::DidNotBuild { .. })),
        "{out:?}"
    );
    // Too large a context.
    std::fs::write(dir.path().join("Dockerfile"), format!("FROM {BASE_TAG}\n")).expect("write");
    std::fs::write(dir.path().join("blob"), vec![7u8; 2 * MIB as usize]).expect("write");
    let out = build_dir(
        &backend,
        dir.path(),
        BuildLimits {
            context_max_bytes: MIB,
            ..BuildLimits::default()
        },
    )
    .await;
    assert!(
        matches!(&out.failure, Some(SandboxFailure::DidNotBuild { reason }) if reason.contains("context too large")),
        "{:?}",
        out.failure
    );
    assay_testkit::memory::assert_peak_under_512_mib("runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_past_its_time_limit_is_cancelled() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("sleep 97{}", std::process::id() % 10);
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {BASE_TAG}\nRUN {marker}\n"),
    )
    .expect("write");
    let started = Instant::now();
    let out = build_dir(
        &backend,
        dir.path(),
        BuildLimits {
            time_limit: Duration::from_secs(4),
            ..BuildLimits::default()
        },
    )
    .await;
    assert_eq!(
        out.failure,
        Some(SandboxFailure::BuildTimedOut { limit_seconds: 4 })
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // The cancelled build's container does not linger.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let containers = backend
            .client()
            .list_containers(Some(ListContainersOptions {
                all: true,
                ..Default::default()
            }))
            .await
            .expect("list");
        if !containers
            .iter()
            .any(|c| c.command.as_deref().unwrap_or("").contains(&marker))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the build container lingers");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assay_testkit::memory::assert_peak_under_512_mib("runner");
}

/// Removes a one-off image a test built (fixtures stay cached).
async fn remove_image(backend: &DockerBackend, out: &BuildOutcome) {
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

/// A submission next to an `outside/` directory holding a marker file.
fn submission_beside_outside(fixture: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let top = tempfile::tempdir().expect("tempdir");
    let sub = top.path().join("sub");
    let outside = top.path().join("outside");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("marker.txt"), "ASSAY-OUTSIDE-MARKER\n").expect("write");
    for entry in std::fs::read_dir(fixtures().join(fixture)).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), sub.join(entry.file_name())).expect("copy");
    }
    (top, sub, outside)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_symlinks_out_of_the_submission_are_not_followed() {
    assay_testkit::require_docker!();
    use std::os::unix::fs::symlink;
    let backend = backend().await;
    let (_top, sub, outside) = submission_beside_outside("symlinks");
    symlink(outside.join("marker.txt"), sub.join("abs")).expect("symlink");
    symlink("/etc/shadow", sub.join("shadow")).expect("symlink");
    symlink("/etc", sub.join("absdir")).expect("symlink");
    symlink("../outside/marker.txt", sub.join("rel")).expect("symlink");
    symlink("../outside", sub.join("dirlink")).expect("symlink");
    symlink("..", sub.join("up")).expect("symlink");
    symlink("app.py", sub.join("inside")).expect("symlink");
    // A fresh context every time, so the build (and its leak check) really runs.
    std::fs::write(sub.join("nonce.txt"), format!("{:?}", Instant::now())).expect("write");
    let before = std::fs::read(outside.join("marker.txt")).expect("read");

    // The Dockerfile's RUN fails the build if the marker or /etc/shadow made it in.
    let out = build_dir(&backend, &sub, BuildLimits::default()).await;
    assert!(out.failure.is_none(), "{:?}\n{}", out.failure, out.log);
    let context = out.context.clone().expect("context report");
    let mut skipped: Vec<&str> = context.skipped.iter().map(|s| s.path.as_str()).collect();
    skipped.sort_unstable();
    assert_eq!(skipped, ["abs", "absdir", "dirlink", "rel", "shadow", "up"]);
    assert_eq!(context.symlinks, 1);
    remove_image(&backend, &out).await;
    assert_eq!(
        std::fs::read(outside.join("marker.txt")).expect("read"),
        before
    );
    assay_testkit::memory::assert_peak_under_512_mib("runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_dotdot_copy_is_refused() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let (_top, sub, _outside) = submission_beside_outside("dotdot");
    let out = build_dir(&backend, &sub, BuildLimits::default()).await;
    assert!(
        matches!(&out.failure, Some(SandboxFailure::DidNotBuild { .. })),
        "{:?}",
        out.failure
    );
    assert!(out.image.is_none());
    assert!(!out.log.contains("ASSAY-OUTSIDE-MARKER"));
    // And a Dockerfile path pointing out of the submission is refused too.
    let scratch = tempfile::tempdir().expect("scratch");
    let mut req = BuildRequest::new(&sub);
    req.dockerfile = "../outside/marker.txt".into();
    req.scratch_dir = Some(scratch.path().to_path_buf());
    let out = build_submission(&backend, &req).await.expect("build runs");
    assert!(matches!(
        out.failure,
        Some(SandboxFailure::DidNotBuild { .. })
    ));
    assay_testkit::memory::assert_peak_under_512_mib("runner");
}

// ---------------------------------------------------------------------------------------------
// Resource attacks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bomb_is_held_by_the_pids_limit() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "forkbomb").await;
    let mut spec = spec(&run_id("forkbomb"), &image);
    spec.hardening.memory_bytes = 256 * MIB;
    let mut sandbox = start(&backend, spec).await;
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    // The bomb reports once its first fork is refused (EAGAIN: the pids limit).
    let bomb = wait_result(&sandbox, "bomb", Duration::from_secs(20)).await;
    assert!(bomb.ends_with("error=EAGAIN"), "{bomb}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = backend
        .client()
        .stats(
            &format!("assay-{}-service", sandbox.run_id()),
            Some(StatsOptions {
                stream: false,
                one_shot: true,
            }),
        )
        .next()
        .await
        .expect("a sample")
        .expect("stats");
    let pids = stats.pids_stats.and_then(|p| p.current).unwrap_or(0);
    assert!(pids > 200 && pids <= 256, "pids {pids}");
    // The service (already listening) still answers.
    assert_eq!(
        sandbox
            .wait_healthy(Duration::from_secs(10))
            .await
            .expect("health"),
        None
    );
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_oom_killed() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "membomb").await;
    let sandbox = start(&backend, spec(&run_id("membomb"), &image)).await;
    assert!(sandbox.is_healthy());
    assert!(
        get_text(&sandbox, "/bomb", Duration::from_secs(5))
            .await
            .contains("allocating")
    );
    let exit = wait_exit(&sandbox, Duration::from_secs(30)).await;
    assert_eq!(exit.code, 137);
    assert!(exit.oom);
    let peak = sandbox.usage().peak_memory_bytes.expect("peak memory");
    assert!(peak > 64 * MIB && peak <= 129 * MIB, "peak {peak}");
    let report = finish(&backend, sandbox).await;
    assert!(report.cpu_seconds.is_some_and(|s| s > 0.0));
}

async fn disk_fill(
    name: &str,
    target: &str,
    tweak: impl FnOnce(&mut SandboxSpec),
) -> (String, DockerSandbox, DockerBackend) {
    let backend = backend().await;
    let image = image(&backend, "diskfill").await;
    let mut spec = spec(&run_id(name), &image);
    spec.service.env.insert("TARGET_DIR".into(), target.into());
    tweak(&mut spec);
    let sandbox = start(&backend, spec).await;
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    let result = wait_result(&sandbox, "fill", Duration::from_secs(60)).await;
    (result, sandbox, backend)
}

fn written_mb(result: &str) -> u64 {
    result
        .split_whitespace()
        .find_map(|w| w.strip_prefix("written_mb="))
        .and_then(|v| v.parse().ok())
        .expect("written_mb")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_fill_of_tmp_stops_at_the_tmpfs_cap() {
    assay_testkit::require_docker!();
    let (result, sandbox, backend) = disk_fill("fill-tmp", "/tmp", |_| {}).await;
    assert!(result.contains("error=ENOSPC"), "{result}");
    assert!(written_mb(&result) <= 32, "{result}");
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_fill_of_the_root_filesystem_is_refused() {
    assay_testkit::require_docker!();
    let (result, sandbox, backend) = disk_fill("fill-root", "/app", |_| {}).await;
    assert!(result.contains("error=EROFS"), "{result}");
    assert_eq!(written_mb(&result), 0);
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_fill_of_a_writable_home_stops_at_its_cap() {
    assay_testkit::require_docker!();
    let (result, sandbox, backend) = disk_fill("fill-home", "/home/app", |spec| {
        spec.hardening.writable_home = Some(TmpfsMount::new("/home/app", 16 * MIB));
        spec.service.env.insert("HOME".into(), "/home/app".into());
    })
    .await;
    assert!(result.contains("error=ENOSPC"), "{result}");
    assert!(written_mb(&result) <= 16, "{result}");
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_fill_of_a_writable_root_is_killed_by_the_watchdog() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "diskfill").await;
    let mut spec = spec(&run_id("fill-rw"), &image);
    spec.service.env.insert("TARGET_DIR".into(), "/app".into());
    spec.service.env.insert("MAX_MB".into(), "400".into());
    spec.hardening.read_only_rootfs = false;
    spec.hardening.writable_layer_cap_bytes = 32 * MIB;
    spec.hardening.watchdog_interval = Duration::from_millis(500);
    let sandbox = DockerSandbox::start(&backend, spec)
        .await
        .expect("sandbox starts");
    // Killed before or after becoming healthy, but killed, and for its disk.
    let exit = wait_exit(&sandbox, Duration::from_secs(60)).await;
    let reason = sandbox.kill_reason();
    assert_eq!(exit.code, 137, "{exit:?}, killed for {reason:?}");
    assert!(!exit.oom, "a disk kill is not an OOM: {exit:?}, {reason:?}");
    match reason {
        // On a fast disk the service may write all it meant to before the watchdog's
        // first look: the kill, and for the disk, is what the watchdog owes; the size is
        // only checked to be what the layer held (over the cap, at most what was written).
        Some(KillReason::WritableLayer { bytes, cap_bytes }) => {
            assert_eq!(cap_bytes, 32 * MIB);
            assert!(bytes > 32 * MIB && bytes <= 420 * MIB, "{bytes}");
        }
        other => panic!("expected a writable-layer kill, got {other:?} ({exit:?})"),
    }
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_flood_keeps_logs_capped() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "flood").await;
    let sandbox = start(&backend, spec(&run_id("flood"), &image)).await;
    assert!(sandbox.is_healthy());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let logs = sandbox.logs(64 * 1024).await.expect("logs");
    assert!(logs.len() <= 64 * 1024 + 100, "{} bytes", logs.len());
    assert!(logs.contains("flood") || logs.contains("EEEE"));
    // On disk: at most max-file files of about max-size each.
    let inspect = backend
        .client()
        .inspect_container(
            &format!("assay-{}-service", sandbox.run_id()),
            None::<InspectContainerOptions>,
        )
        .await
        .expect("inspect");
    let log_path = PathBuf::from(inspect.log_path.expect("log path"));
    let dir = log_path.parent().expect("log dir");
    let prefix = log_path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let on_disk: u64 = std::fs::read_dir(dir)
        .expect("log dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    assert!(on_disk <= 3 * MIB, "{on_disk} bytes of logs on disk");
    // Still answering.
    let mut sandbox = sandbox;
    assert_eq!(
        sandbox
            .wait_healthy(Duration::from_secs(10))
            .await
            .expect("health"),
        None
    );
    let report = finish(&backend, sandbox).await;
    assert!(report.service_log.len() <= 64 * 1024 + 100);
}

// ---------------------------------------------------------------------------------------------
// Network attacks

async fn egress_sandbox(name: &str) -> (DockerBackend, DockerSandbox) {
    let backend = backend().await;
    let image = image(&backend, "egress").await;
    let sandbox = start(&backend, spec(&run_id(name), &image)).await;
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    (backend, sandbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_to_a_public_name_fails() {
    assay_testkit::require_docker!();
    let (backend, sandbox) = egress_sandbox("egress-name").await;
    let probe = get_text(
        &sandbox,
        "/probe?host=example.com&port=80&timeout=3",
        Duration::from_secs(30),
    )
    .await;
    assert_ne!(probe, "connected");
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_to_a_public_ip_fails() {
    assay_testkit::require_docker!();
    let (backend, sandbox) = egress_sandbox("egress-ip").await;
    // 198.51.100.7: TEST-NET-2, documentation only; the internal network drops it anyway.
    let probe = get_text(
        &sandbox,
        "/probe?host=198.51.100.7&port=80&timeout=3",
        Duration::from_secs(15),
    )
    .await;
    assert_ne!(probe, "connected");
    finish(&backend, sandbox).await;
}

/// Every address of this host, plus the bridge's link-local one as seen from the container.
fn host_addresses(bridge: &str) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .expect("ip addr");
    let mut addrs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(dev), Some(pos)) = (
            words.get(1),
            words.iter().position(|w| *w == "inet" || *w == "inet6"),
        ) else {
            continue;
        };
        let Some(addr) = words.get(pos + 1).and_then(|a| a.split('/').next()) else {
            continue;
        };
        let Ok(ip) = addr.parse::<IpAddr>() else {
            continue;
        };
        if ip.is_loopback() {
            continue;
        }
        match ip {
            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
                if *dev == bridge {
                    addrs.push(format!("{v6}%eth0"));
                }
            }
            _ => addrs.push(ip.to_string()),
        }
    }
    addrs
}

/// The host's IPv4 address on `bridge` (the gateway of the network behind it).
fn bridge_ipv4(bridge: &str) -> String {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", bridge])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .map(str::to_owned)
        .expect("the bridge has an IPv4 address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_steps_cannot_reach_the_grading_host() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let listener = match tokio::net::TcpListener::bind("[::]:0").await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind("0.0.0.0:0")
            .await
            .expect("bind"),
    };
    let port = listener.local_addr().expect("addr").port();
    // The build network exists once the base image is ensured; its bridge is assay-build0.
    let targets = host_addresses("assay-build0");
    assert!(
        targets.contains(&bridge_ipv4("assay-build0")),
        "{targets:?}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let list: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
    std::fs::write(
        dir.path().join("probe.py"),
        format!(
            "# Tries every host address from a build step.\nimport socket\n\
             for host in [{}]:\n    try:\n        socket.create_connection((host, {port}), timeout=1).close()\n\
             \x20       print('REACHED', host)\n    except OSError as e:\n        print('blocked', host, e)\n",
            list.join(", ")
        ),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {BASE_TAG}\nCOPY probe.py /probe.py\nRUN python3 /probe.py\n"),
    )
    .expect("write");
    let out = build_dir(&backend, dir.path(), BuildLimits::default()).await;
    assert!(out.failure.is_none(), "{:?}\n{}", out.failure, out.log);
    assert!(out.log.contains("blocked"), "{}", out.log);
    assert!(!out.log.contains("REACHED"), "{}", out.log);
    remove_image(&backend, &out).await;
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(
        accepted.is_err(),
        "the host listener got a connection from a build"
    );
    assay_testkit::memory::assert_peak_under_512_mib("runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_to_the_grading_host_is_dropped() {
    assay_testkit::require_docker!();
    let (backend, sandbox) = egress_sandbox("egress-host").await;
    // A listener on every host address, IPv4 and IPv6.
    let listener = match tokio::net::TcpListener::bind("[::]:0").await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind("0.0.0.0:0")
            .await
            .expect("bind"),
    };
    let port = listener.local_addr().expect("addr").port();
    let bridge = sandbox.backend_run().bridge.clone();
    let targets = host_addresses(&bridge);
    let gateway = bridge_ipv4(&bridge);
    assert!(
        targets.contains(&gateway),
        "the gateway {gateway} must be among {targets:?}"
    );
    for target in &targets {
        let probe = get_text(
            &sandbox,
            &format!("/probe?host={target}&port={port}&timeout=2"),
            Duration::from_secs(10),
        )
        .await;
        assert_ne!(
            probe, "connected",
            "the sandbox reached the host at {target}"
        );
    }
    // Nothing arrived...
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(
        accepted.is_err(),
        "the host listener got a connection: {accepted:?}"
    );
    // ...although the listener works.
    let _client = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("local connect");
    assert!(
        tokio::time::timeout(Duration::from_secs(2), listener.accept())
            .await
            .is_ok()
    );
    finish(&backend, sandbox).await;
}

/// A healthy sandbox of the `egress` fixture beside a PostgreSQL sidecar named `db`.
async fn with_postgres(name: &str) -> (DockerBackend, DockerSandbox) {
    let backend = backend().await;
    ensure_images(
        &backend,
        &ImageRecipe::standard(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox-images")),
    )
    .await
    .expect("sidecar images");
    let image = image(&backend, "egress").await;
    let mut spec = spec(&run_id(name), &image);
    spec.sidecars
        .push(SidecarSpec::postgres("db", "app", "secret", "app"));
    spec.service.env.insert(
        "DATABASE_URL".into(),
        "postgres://app:secret@db:5432/app".into(),
    );
    let sandbox = start(&backend, spec).await;
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    (backend, sandbox)
}

/// Whether the service reaches the database sidecar by name.
async fn probe_db(sandbox: &DockerSandbox) -> String {
    get_text(sandbox, "/probe?host=db&port=5432", Duration::from_secs(10)).await
}

/// The grading host reaches the database sidecar at its address.
async fn host_reaches_db(sandbox: &DockerSandbox) {
    let db = sandbox.sidecar_addr("db").expect("db address");
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(SocketAddr::new(db, 5432)),
    )
    .await
    .expect("in time")
    .expect("the host reaches the sidecar");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_database_is_reachable_by_name_and_from_the_host() {
    assay_testkit::require_docker!();
    let (backend, sandbox) = with_postgres("sidecar").await;
    assert_eq!(probe_db(&sandbox).await, "connected");
    host_reaches_db(&sandbox).await;
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_network_resolves_its_own_names_and_no_other() {
    assay_testkit::require_docker!();
    let (backend, sandbox) = with_postgres("dns").await;
    let resolve = |name: &str| format!("/resolve?name={name}");
    let db = get_text(&sandbox, &resolve("db"), Duration::from_secs(10)).await;
    let db_ip = sandbox.sidecar_addr("db").expect("db address").to_string();
    assert_eq!(db, format!("resolved {db_ip}"));
    // Names the grading host itself resolves (pypi.org does here, through its proxy).
    for name in ["pypi.org", "example.com", "deb.debian.org"] {
        let answer = get_text(&sandbox, &resolve(name), Duration::from_secs(30)).await;
        assert!(answer.starts_with("unresolved"), "{name}: {answer}");
    }
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_can_go_away_under_the_service_and_start_after_it() {
    assay_testkit::require_docker!();
    let (backend, mut sandbox) = with_postgres("dbdown").await;
    assert_eq!(probe_db(&sandbox).await, "connected");

    // Restarted mid-run: down for a while, then ready again, reachable by name and from
    // the host; the service kept running.
    let before = Instant::now();
    sandbox
        .restart_sidecar("db", Duration::from_secs(2))
        .await
        .expect("restart the database");
    assert!(before.elapsed() >= Duration::from_secs(2));
    assert!(sandbox.is_healthy());
    assert_eq!(probe_db(&sandbox).await, "connected");
    host_reaches_db(&sandbox).await;

    // Held back: the service starts first, the database 3 s later; health is judged after.
    let before = Instant::now();
    let failure = sandbox
        .start_service_before_sidecar("db", Duration::from_secs(3))
        .await
        .expect("start the service before the database");
    assert_eq!(failure, None);
    assert!(before.elapsed() >= Duration::from_secs(3));
    assert_eq!(probe_db(&sandbox).await, "connected");

    // An unknown sidecar is our error, not the candidate's.
    assert!(
        sandbox
            .restart_sidecar("cache", Duration::ZERO)
            .await
            .is_err()
    );
    finish(&backend, sandbox).await;
}

/// The database restarting under a running service (the `database_restart` action): every
/// client's session is ended (57P01), new ones are refused (55000) for the outage and
/// accepted again after it, and what was written before is still there, since the sidecar
/// itself keeps running (its data is on tmpfs). The service keeps running too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_drops_and_refuses_its_clients_in_place_and_keeps_its_data() {
    assay_testkit::require_docker!();
    let (backend, mut sandbox) = with_postgres("dbinterrupt").await;
    let db = sandbox.sidecar_addr("db").expect("db address");
    let connect = move || async move {
        tokio_postgres::Config::new()
            .host(db.to_string())
            .port(5432)
            .user("app")
            .password("secret")
            .dbname("app")
            .connect_timeout(Duration::from_secs(10))
            .connect(tokio_postgres::NoTls)
            .await
    };
    let (client, connection) = connect().await.expect("the service's role logs in");
    let session = tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('written before')")
        .await
        .expect("write before the outage");

    let before = Instant::now();
    let during = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let old = client.simple_query("SELECT 1").await.map(|_| ());
        let new = connect().await.map(|_| ());
        (old, new)
    };
    let (interrupted, (old, new)) = tokio::join!(
        sandbox.interrupt_sidecar("db", Duration::from_secs(3)),
        during
    );
    interrupted.expect("the database refuses its clients, then accepts them again");
    assert!(before.elapsed() >= Duration::from_secs(3));

    // The open session was ended by the server, as a restart ends it.
    assert!(old.is_err(), "the open session still answered");
    let ended = tokio::time::timeout(Duration::from_secs(5), session)
        .await
        .expect("the session ends")
        .expect("the session task");
    let ended = ended.expect_err("the server ended the session");
    assert_eq!(
        ended.code(),
        Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN),
        "{ended}"
    );
    // A new connection during the outage was refused by the database, not the network.
    let refused = new.expect_err("a new connection is refused during the outage");
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE),
        "{refused}"
    );

    // Accepted again, with the data written before.
    let (client, connection) = connect().await.expect("accepted after the outage");
    tokio::spawn(connection);
    let rows = client
        .query("SELECT v FROM kept", &[])
        .await
        .expect("read after the outage");
    let kept: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(kept, vec!["written before".to_owned()]);

    // The service was not touched.
    assert!(matches!(sandbox.exit_status().await, Ok(None)));
    assert_eq!(probe_db(&sandbox).await, "connected");

    // A sidecar that does not exist is our error, not the candidate's.
    assert!(
        sandbox
            .interrupt_sidecar("cache", Duration::ZERO)
            .await
            .is_err()
    );
    finish(&backend, sandbox).await;
}

/// The service's role in the database sidecar owns its database and nothing more: every
/// superuser path (a shell through `COPY ... FROM PROGRAM`, server files, raising its own role,
/// touching the checks' role) is refused, it cannot log in as the checks' or the bootstrap
/// role, and the checks' role still reads what the service hid behind row-level security.
/// The sidecar runs under the service's confinement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_cannot_escalate_in_the_database_sidecar() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "dbprivilege").await;
    // This worktree's sidecar recipe under a tag of the test's own, so that a concurrent
    // `assay images build` of another checkout cannot swap the image under the test.
    let sidecar_image = "assay-test/postgres-sidecar:this-checkout";
    ensure_images(
        &backend,
        &[ImageRecipe::new(
            sidecar_image,
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox-images/postgres"),
        )],
    )
    .await
    .expect("the sidecar image builds");
    let checks_password = format!("checks-{}", std::process::id());
    let mut spec = spec(&run_id("dbprivilege"), &image);
    let mut db =
        SidecarSpec::postgres("db", "app", "service-pw", "app").with_checks_role(&checks_password);
    db.image = sidecar_image.to_owned();
    spec.sidecars.push(db);
    spec.service.env.insert(
        "DATABASE_URL".into(),
        "postgres://app:service-pw@db:5432/app".into(),
    );
    let sandbox = start(&backend, spec).await;
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());

    let body = get_text(&sandbox, "/attack", Duration::from_secs(60)).await;
    let outcomes: serde_json::Value = serde_json::from_str(&body).expect("JSON outcomes");
    let outcome = |k: &str| outcomes[k].as_str().unwrap_or("missing").to_owned();
    // What the service legitimately does in its own database works.
    for own in [
        "create_table",
        "insert",
        "hide_rows",
        "hide_rows_from_owner",
        "create_schema",
        "trusted_extension",
    ] {
        assert_eq!(outcome(own), "ok", "{own}: {body}");
    }
    // Every superuser path is refused for lack of privilege (SQLSTATE 42501).
    for attack in [
        "copy_from_program",
        "copy_to_program",
        "copy_from_file",
        "copy_to_file",
        "read_file",
        "list_dir",
        "lo_import",
        "superuser",
        "bypassrls",
        "createrole",
        "grant_program_role",
        "grant_read_files_role",
        "checks_password",
        "checks_revoke",
        "checks_search_path",
        "become_checks",
        "become_admin",
        "create_role",
        "create_database",
        "untrusted_language",
        "alter_system",
    ] {
        assert!(
            outcome(attack).starts_with("denied 42501"),
            "{attack}: {}",
            outcome(attack)
        );
    }
    // No login as the checks' role or the bootstrap superuser with what the service knows,
    // and the checks' credentials are not in its environment.
    let logins: Vec<(&String, &serde_json::Value)> = outcomes
        .as_object()
        .expect("an object")
        .iter()
        .filter(|(k, _)| k.starts_with("login_"))
        .collect();
    assert_eq!(logins.len(), 6, "{body}");
    for (k, v) in logins {
        let v = v.as_str().unwrap_or_default();
        assert!(v.starts_with("denied"), "{k}: {v}");
        assert!(
            v.contains("password authentication failed")
                || v.contains("no password supplied")
                || v.contains("pg_hba.conf rejects"),
            "{k}: {v}"
        );
    }
    assert_eq!(outcomes["checks_env"], serde_json::json!([]), "{body}");

    // The checks' role reads what the service wrote and hid, and is no superuser.
    let db = sandbox.sidecar_addr("db").expect("db address");
    let (client, connection) = tokio_postgres::Config::new()
        .host(db.to_string())
        .port(5432)
        .user(assay_sandbox::CHECKS_ROLE)
        .password(checks_password.as_str())
        .dbname("app")
        .connect_timeout(Duration::from_secs(10))
        .connect(tokio_postgres::NoTls)
        .await
        .expect("the checks' role logs in");
    let task = tokio::spawn(connection);
    let rows = client
        .query("SELECT body FROM notes", &[])
        .await
        .expect("read the service's table");
    let bodies: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(bodies, vec!["kept by the service".to_owned()]);
    let roles = client
        .query(
            "SELECT rolname::text, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls \
             FROM pg_roles WHERE rolname IN ('app', 'assay_checks') ORDER BY rolname",
            &[],
        )
        .await
        .expect("roles");
    let roles: Vec<(String, bool, bool, bool, bool)> = roles
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("app".to_owned(), false, false, false, false),
            ("assay_checks".to_owned(), false, false, false, true),
        ]
    );
    let program: bool = client
        .query_one(
            "SELECT pg_has_role('app', 'pg_execute_server_program', 'MEMBER') \
                 OR pg_has_role('app', 'pg_read_server_files', 'MEMBER') \
                 OR pg_has_role('app', 'pg_write_server_files', 'MEMBER') \
                 OR pg_has_role('assay_checks', 'pg_execute_server_program', 'MEMBER')",
            &[],
        )
        .await
        .expect("memberships")
        .get(0);
    assert!(!program, "a server-file or program role was granted");
    drop(client);
    let _ = task.await;

    // The sidecar runs under the service's confinement.
    let inspect = backend
        .client()
        .inspect_container(
            &format!("assay-{}-sc-db", sandbox.run_id()),
            None::<InspectContainerOptions>,
        )
        .await
        .expect("inspect the sidecar");
    let hc = inspect.host_config.expect("host config");
    assert_eq!(hc.cap_drop, Some(vec!["ALL".to_owned()]));
    assert!(hc.cap_add.unwrap_or_default().is_empty());
    assert_eq!(hc.privileged, Some(false));
    assert_eq!(hc.readonly_rootfs, Some(true));
    assert_eq!(hc.pids_limit, Some(256));
    assert_eq!(hc.memory, Some(i64::try_from(512 * MIB).expect("fits")));
    assert_eq!(hc.memory, hc.memory_swap);
    let sec = hc.security_opt.unwrap_or_default();
    assert!(sec.iter().any(|s| s == "no-new-privileges:true"), "{sec:?}");
    assert!(
        sec.iter()
            .any(|s| s.starts_with("seccomp=") && !s.contains("io_uring")),
        "the sidecar has not the service's seccomp profile"
    );
    assert!(!sec.iter().any(|s| s.contains("unconfined")), "{sec:?}");
    // And so does every process in it: no capabilities, no new privileges, seccomp filtering.
    let status = backend
        .sidecar_exec(
            sandbox.backend_run(),
            "db",
            &["cat".to_owned(), "/proc/self/status".to_owned()],
            Duration::from_secs(10),
        )
        .await
        .expect("exec in the sidecar");
    assert_eq!(status.exit_code, Some(0), "{}", status.output);
    for line in [
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
        "NoNewPrivs:\t1",
        "Seccomp:\t2",
    ] {
        assert!(status.output.contains(line), "{line} in {}", status.output);
    }
    finish(&backend, sandbox).await;
}

// ---------------------------------------------------------------------------------------------
// Misbehaving services

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_that_hangs_every_request_never_becomes_healthy_in_time() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "hang").await;
    let mut spec = spec(&run_id("hang"), &image);
    spec.service.health.timeout = Duration::from_secs(5);
    let started = Instant::now();
    let sandbox = start(&backend, spec).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    match sandbox.failure() {
        Some(SandboxFailure::NeverHealthy { reason }) => {
            assert!(reason.contains("no status line"), "{reason}");
        }
        other => panic!("expected NeverHealthy, got {other:?}"),
    }
    let report = finish(&backend, sandbox).await;
    assert!(!report.became_healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_streaming_endless_invalid_utf8_is_read_capped() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "badutf8").await;
    let sandbox = start(&backend, spec(&run_id("badutf8"), &image)).await;
    // The status line is enough: healthy despite the endless body.
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    let (status, body) = get(
        sandbox.service_addr().expect("addr"),
        "/",
        Duration::from_secs(5),
        256 * 1024,
    )
    .await
    .expect("GET /");
    assert_eq!(status, 200);
    assert!(body.len() < 256 * 1024 && String::from_utf8(body).is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = sandbox.logs(16 * 1024).await.expect("logs");
    assert!(logs.len() <= 16 * 1024 + 100);
    assert!(logs.contains('\u{fffd}'));
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_ignoring_sigterm_is_killed_after_the_grace() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "sigterm").await;
    let mut spec = spec(&run_id("sigterm-ignored"), &image);
    spec.service.env.insert("IGNORE_TERM".into(), "1".into());
    let mut sandbox = start(&backend, spec).await;
    assert!(sandbox.is_healthy());
    assert_eq!(
        wait_result(&sandbox, "sigterm", Duration::from_secs(5)).await,
        "ignored"
    );
    let stop = sandbox
        .stop_service(Duration::from_secs(2))
        .await
        .expect("stop");
    assert!(stop.killed_after_grace, "{stop:?}");
    assert!(
        stop.seconds_to_exit >= 2.0 && stop.seconds_to_exit < 10.0,
        "{stop:?}"
    );
    assert_eq!(stop.exit_code, Some(137));
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_stops_gracefully_and_comes_back_healthy() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "sigterm").await;
    let mut sandbox = start(&backend, spec(&run_id("restart"), &image)).await;
    assert!(sandbox.is_healthy());
    let restart = sandbox.restart_service().await.expect("restart");
    assert!(!restart.stop.killed_after_grace, "{restart:?}");
    assert!(restart.stop.seconds_to_exit < 2.0, "{restart:?}");
    assert_eq!(restart.failure, None);
    assert!(sandbox.is_healthy());
    let stop = sandbox
        .stop_service(Duration::from_secs(5))
        .await
        .expect("stop");
    assert!(!stop.killed_after_grace);
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_that_never_becomes_healthy_fails_within_the_limit() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "neverhealthy").await;
    let mut spec = spec(&run_id("neverhealthy"), &image);
    spec.service.health.timeout = Duration::from_secs(4);
    let started = Instant::now();
    let sandbox = start(&backend, spec).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    match sandbox.failure() {
        Some(SandboxFailure::NeverHealthy { reason }) => {
            assert!(reason.contains("503"), "{reason}");
        }
        other => panic!("expected NeverHealthy, got {other:?}"),
    }
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileged_operations_are_refused() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "privileged").await;
    let sandbox = start(&backend, spec(&run_id("privileged"), &image)).await;
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    // A root image is a finding, not a refusal.
    assert_eq!(sandbox.report().runs_as_root, Some(true));
    let expect = [
        ("raw_socket", "errno=EPERM"),
        ("mknod", "errno=EPERM"),
        ("mount", "errno=EPERM"),
        ("proc_sys", "errno=EROFS"),
        ("unshare_user", "errno=EPERM"),
        ("chroot", "errno=EPERM"),
        ("write_root", "errno=EROFS"),
        ("docker_socket_absent", "ok"),
        ("no_capabilities", "ok"),
    ];
    for (key, want) in expect {
        let got = wait_result(&sandbox, key, Duration::from_secs(10)).await;
        assert_eq!(got, want, "{key}");
    }
    finish(&backend, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_uring_is_refused_by_the_seccomp_profile() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "iouring").await;
    let sandbox = start(&backend, spec(&run_id("iouring"), &image)).await;
    let ours = wait_result(&sandbox, "io_uring_setup", Duration::from_secs(10)).await;
    assert!(ours == "errno=EPERM" || ours == "errno=ENOSYS", "{ours}");
    finish(&backend, sandbox).await;

    // Control: the engine's own 20.10 profile lets it through where the kernel allows it,
    // so the refusal above is the profile's doing.
    let io_uring_enabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|v| v.trim() == "0")
        .unwrap_or(true);
    let mut spec = spec(&run_id("iouring-control"), &image);
    spec.hardening.seccomp = Seccomp::EngineDefault;
    let sandbox = start(&backend, spec).await;
    let engine = wait_result(&sandbox, "io_uring_setup", Duration::from_secs(10)).await;
    if io_uring_enabled {
        assert_eq!(engine, "ok");
    }
    finish(&backend, sandbox).await;
}

// ---------------------------------------------------------------------------------------------
// Cleanup

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_sandbox_cleans_up_and_cleanup_is_idempotent() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let image = image(&backend, "sigterm").await;
    let run = run_id("dropped");
    let sandbox = start(&backend, spec(&run, &image)).await;
    assert!(sandbox.is_healthy());
    drop(sandbox);
    assert_clean(&backend, &run).await;
    let again = cleanup_run(&backend, &run).await.expect("cleanup");
    assert_eq!(
        (again.containers, again.networks, again.firewall_rules),
        (0, 0, 0)
    );
    assay_testkit::memory::assert_peak_under_512_mib("runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_what_a_dead_run_left() {
    assay_testkit::require_docker!();
    let backend = backend().await;
    let docker = backend.client();
    // A pid that was alive and is no longer.
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead_pid = child.id();
    child.wait().expect("wait");
    let dead_run = run_id("gc-dead");
    let live_run = run_id("gc-live");
    let labels = |run: &str, pid: u32| {
        HashMap::from([
            ("assay.managed".to_owned(), "true".to_owned()),
            ("assay.run".to_owned(), run.to_owned()),
            ("assay.pid".to_owned(), pid.to_string()),
        ])
    };
    for (run, pid) in [(&dead_run, dead_pid), (&live_run, std::process::id())] {
        docker
            .create_network(NetworkCreateRequest {
                name: format!("assay-{run}"),
                internal: Some(true),
                labels: Some(labels(run, pid)),
                ..Default::default()
            })
            .await
            .expect("network");
        docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(format!("assay-{run}-service")),
                    ..Default::default()
                }),
                ContainerCreateBody {
                    image: Some(BASE_TAG.to_owned()),
                    cmd: Some(vec!["true".to_owned()]),
                    labels: Some(labels(run, pid)),
                    ..Default::default()
                },
            )
            .await
            .expect("container");
    }
    let bridge = format!("assay-dead{:04x}", std::process::id() % 0xffff);
    let comment = format!("assay.run={dead_run},assay.pid={dead_pid}");
    let status = std::process::Command::new("iptables")
        .args([
            "-w",
            "10",
            "-I",
            "INPUT",
            "-i",
            &bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "NEW",
        ])
        .args(["-m", "comment", "--comment", &comment, "-j", "DROP"])
        .status()
        .expect("iptables");
    assert!(status.success());

    let report = gc(&backend).await.expect("gc");
    assert!(report.runs.contains(&dead_run), "{report:?}");
    assert!(!report.runs.contains(&live_run), "{report:?}");
    assert!(report.removed.firewall_rules >= 1);
    assert_clean(&backend, &dead_run).await;
    // The live run's resources stay.
    let live = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(label_filter(&live_run)),
        }))
        .await
        .expect("list");
    assert_eq!(live.len(), 1);
    cleanup_run(&backend, &live_run).await.expect("cleanup");
    assert_clean(&backend, &live_run).await;
    // Image pruning runs (and, with this age, keeps every cached image).
    let pruned = prune_submission_images(&backend, Duration::from_secs(100 * 365 * 86400))
        .await
        .expect("prune");
    assert_eq!(pruned.removed, 0);
    assert!(backend.endpoint().starts_with("unix://") || backend.endpoint().starts_with("tcp://"));
}
