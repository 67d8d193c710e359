//! The [`Sandbox`] state machine on the scripted [`FakeBackend`], without Docker: health
//! timeouts, deaths before and after health, restarts, the sandbox's own kills, and
//! teardown on every path (nothing left in the fake's registry, errors included).

use std::time::Duration;

use assay_model::SandboxFailure;

use super::{KillReason, Sandbox};
use crate::fake::{FakeBackend, ServiceScript, SidecarScript};
use crate::{
    Capabilities, Hardening, HealthCheck, Readiness, RunIsolation, SandboxError, SandboxSpec,
    ServiceSpec, SidecarHardening, SidecarSpec, WorkloadState,
};

const IMAGE: &str = "assay-sub:fake";

/// A spec with quick health probes and short limits.
fn spec(run_id: &str, sidecars: &[&str]) -> SandboxSpec {
    let mut service = ServiceSpec::new(IMAGE, 8080);
    service.health = HealthCheck {
        path: "/health".to_owned(),
        timeout: Duration::from_millis(600),
        interval: Duration::from_millis(10),
        request_timeout: Duration::from_millis(200),
    };
    service.stop_grace = Duration::from_millis(100);
    SandboxSpec {
        run_id: run_id.to_owned(),
        service,
        sidecars: sidecars
            .iter()
            .map(|name| SidecarSpec {
                name: (*name).to_owned(),
                image: "assay/postgres:15".to_owned(),
                env: Default::default(),
                readiness: Readiness {
                    command: vec!["pg_isready".to_owned()],
                    timeout: Duration::from_millis(300),
                    interval: Duration::from_millis(5),
                },
                hardening: SidecarHardening::default(),
                outage: None,
            })
            .collect(),
        hardening: Hardening {
            sample_interval: Duration::from_millis(10),
            watchdog_interval: Duration::from_millis(10),
            ..Hardening::default()
        },
    }
}

fn assert_nothing_left(fake: &FakeBackend) {
    assert_eq!(
        fake.live_containers(),
        Vec::<String>::new(),
        "containers left"
    );
    assert_eq!(fake.live_networks(), Vec::<String>::new(), "networks left");
}

async fn wait_exited(sandbox: &Sandbox<FakeBackend>) -> super::ExitStatus {
    for _ in 0..200 {
        if let Some(exit) = sandbox.exit_status().await.expect("state") {
            return exit;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the service did not exit");
}

#[tokio::test]
async fn healthy_after_n_probes() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![ServiceScript::healthy_after(3)]);
    let sandbox = Sandbox::start(&fake, spec("healthy", &["db"]))
        .await
        .expect("starts");
    assert!(sandbox.is_healthy(), "{:?}", sandbox.failure());
    assert_eq!(fake.service_probes("healthy"), 3);
    assert!(sandbox.report().startup_seconds.is_some());
    assert_eq!(sandbox.report().runs_as_root, Some(false));
    assert!(sandbox.service_url().is_some());
    assert!(sandbox.sidecar_addr("db").is_some());
    assert_eq!(
        fake.live_containers(),
        vec!["healthy/db".to_owned(), "healthy/service".to_owned()]
    );
    let report = sandbox.finish(1024).await.expect("finishes");
    assert_eq!(report.service_log, "fake service started\n");
    assert!(report.peak_memory_bytes.is_some_and(|m| m >= 10 << 20));
    assert!(report.cpu_seconds.is_some());
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn never_healthy_is_a_graded_failure_after_the_health_limit() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![ServiceScript::never_healthy()]);
    let started = std::time::Instant::now();
    let mut sandbox = Sandbox::start(&fake, spec("never", &[]))
        .await
        .expect("a service that never answers 2xx is not an error");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
    match sandbox.failure() {
        Some(SandboxFailure::NeverHealthy { reason }) => {
            assert!(reason.contains("answered 503"), "{reason}")
        }
        other => panic!("expected NeverHealthy, got {other:?}"),
    }
    assert!(!sandbox.is_healthy());
    assert!(fake.service_probes("never") > 1);
    sandbox.teardown().await.expect("teardown");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn death_before_healthy_is_a_crash_with_its_exit_code() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![
        ServiceScript::never_healthy().dies_after(Duration::from_millis(50), 3),
    ]);
    let sandbox = Sandbox::start(&fake, spec("early", &[]))
        .await
        .expect("starts");
    assert_eq!(
        sandbox.failure(),
        Some(&SandboxFailure::Crashed {
            exit_code: 3,
            oom: false
        })
    );
    let report = sandbox.finish(1024).await.expect("finishes");
    assert!(!report.became_healthy);
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn death_after_healthy_with_137_counts_as_out_of_memory() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![
        ServiceScript::healthy_after(1).dies_after(Duration::from_millis(100), 137),
    ]);
    let sandbox = Sandbox::start(&fake, spec("late", &[]))
        .await
        .expect("starts");
    assert!(sandbox.is_healthy());
    let exit = wait_exited(&sandbox).await;
    assert_eq!((exit.code, exit.oom), (137, true));
    assert_eq!(sandbox.kill_reason(), None);
    // An OOM kill means the cgroup reached its limit.
    assert_eq!(
        sandbox.usage().peak_memory_bytes,
        Some(sandbox.spec().hardening.memory_bytes)
    );
    sandbox.finish(1024).await.expect("finishes");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn restart_stops_with_sigterm_and_waits_for_health_again() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![
        ServiceScript::healthy_after(1),
        ServiceScript::healthy_after(4),
    ]);
    let mut sandbox = Sandbox::start(&fake, spec("restart", &[]))
        .await
        .expect("starts");
    let restart = sandbox.restart_service().await.expect("restarts");
    assert!(!restart.stop.killed_after_grace);
    assert_eq!(restart.stop.exit_code, Some(0));
    assert_eq!(restart.failure, None);
    assert!(restart.startup_seconds.is_some());
    assert_eq!(fake.service_probes("restart"), 4);
    assert!(sandbox.is_healthy());
    assert_eq!(sandbox.kill_reason(), None);
    let calls = fake.calls();
    assert_eq!(
        calls,
        vec!["service start", "service SIGTERM", "service start"]
    );
    let report = sandbox.finish(1024).await.expect("finishes");
    assert_eq!(report.service_log.lines().count(), 2);
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn a_service_ignoring_sigterm_is_killed_after_the_grace() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![ServiceScript::healthy_after(1).ignores_sigterm()]);
    let mut sandbox = Sandbox::start(&fake, spec("stubborn", &[]))
        .await
        .expect("starts");
    let stop = sandbox
        .stop_service(Duration::from_millis(100))
        .await
        .expect("stops");
    assert!(stop.killed_after_grace);
    assert_eq!(stop.exit_code, Some(137));
    assert!(stop.seconds_to_exit >= 0.1, "{stop:?}");
    assert_eq!(
        sandbox.kill_reason(),
        Some(KillReason::StopGrace { grace_ms: 100 })
    );
    // The sandbox's own kill is not an OOM.
    let exit = wait_exited(&sandbox).await;
    assert_eq!((exit.code, exit.oom), (137, false));
    assert_eq!(
        fake.calls(),
        vec!["service start", "service SIGTERM", "service SIGKILL"]
    );
    // Started again it comes back, and the kill reason is cleared.
    assert_eq!(sandbox.start_service().await.expect("starts again"), None);
    assert_eq!(sandbox.kill_reason(), None);
    sandbox.finish(1024).await.expect("finishes");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn a_restart_that_never_comes_back_is_reported() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![
        ServiceScript::healthy_after(1),
        ServiceScript::never_healthy().dies_after(Duration::from_millis(30), 1),
    ]);
    let mut sandbox = Sandbox::start(&fake, spec("noreturn", &[]))
        .await
        .expect("starts");
    let restart = sandbox.restart_service().await.expect("restart runs");
    assert_eq!(
        restart.failure,
        Some(SandboxFailure::Crashed {
            exit_code: 1,
            oom: false
        })
    );
    assert!(!sandbox.is_healthy());
    sandbox.teardown().await.expect("teardown");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn a_sidecar_that_fails_to_start_is_an_error_and_nothing_is_left() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_sidecar(
        "cache",
        SidecarScript {
            fails_to_start: true,
            ..SidecarScript::default()
        },
    );
    let err = Sandbox::start(&fake, spec("sidecar-fails", &["db", "cache"]))
        .await
        .expect_err("the run cannot be set up");
    assert!(
        matches!(
            err,
            SandboxError::Docker {
                call: "start container",
                ..
            }
        ),
        "{err}"
    );
    // The service was never started.
    assert!(!fake.calls().contains(&"service start".to_owned()));
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn a_sidecar_that_exits_or_is_never_ready_is_not_ready() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_sidecar(
        "db",
        SidecarScript {
            exits_with: Some(2),
            ..SidecarScript::default()
        },
    );
    let err = Sandbox::start(&fake, spec("sidecar-exits", &["db"]))
        .await
        .expect_err("not ready");
    match err {
        SandboxError::SidecarNotReady { name, detail, .. } => {
            assert_eq!(name, "db");
            assert!(detail.contains("code 2"), "{detail}");
        }
        other => panic!("expected SidecarNotReady, got {other}"),
    }
    assert_nothing_left(&fake);

    let slow = FakeBackend::new(IMAGE);
    slow.script_sidecar(
        "db",
        SidecarScript {
            ready_after_checks: u32::MAX,
            ..SidecarScript::default()
        },
    );
    let err = Sandbox::start(&slow, spec("sidecar-slow", &["db"]))
        .await
        .expect_err("not ready");
    assert!(
        matches!(&err, SandboxError::SidecarNotReady { detail, .. } if detail.contains("not ready")),
        "{err}"
    );
    assert_nothing_left(&slow);
}

#[tokio::test]
async fn a_sidecar_ready_after_some_checks_is_waited_for() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_sidecar(
        "db",
        SidecarScript {
            ready_after_checks: 5,
            ..SidecarScript::default()
        },
    );
    let mut sandbox = Sandbox::start(&fake, spec("sidecar-ready", &["db"]))
        .await
        .expect("starts");
    assert!(sandbox.is_healthy());
    let readiness = fake
        .calls()
        .iter()
        .filter(|c| c.as_str() == "db exec pg_isready")
        .count();
    assert_eq!(readiness, 5);
    // The database going away and coming back under the service.
    sandbox
        .restart_sidecar("db", Duration::from_millis(10))
        .await
        .expect("the sidecar comes back");
    let calls = fake.calls();
    assert!(calls.contains(&"db SIGTERM".to_owned()), "{calls:?}");
    assert!(calls.contains(&"db start".to_owned()), "{calls:?}");
    sandbox.teardown().await.expect("teardown");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn a_missing_image_or_bad_request_creates_nothing() {
    let fake = FakeBackend::new("other:image");
    let err = Sandbox::start(&fake, spec("noimage", &["db"]))
        .await
        .expect_err("no image");
    assert!(matches!(err, SandboxError::Invalid(_)), "{err}");
    let err = Sandbox::start(&fake, spec("bad id!", &[]))
        .await
        .expect_err("bad run id");
    assert!(matches!(err, SandboxError::Invalid(_)), "{err}");
    assert!(fake.calls().is_empty());
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn a_sandbox_dropped_without_teardown_removes_everything() {
    let fake = FakeBackend::new(IMAGE);
    let sandbox = Sandbox::start(&fake, spec("dropped", &["db"]))
        .await
        .expect("starts");
    assert_eq!(fake.live_networks(), vec!["dropped".to_owned()]);
    drop(sandbox);
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn teardown_is_idempotent_and_finish_after_it_leaves_nothing() {
    let fake = FakeBackend::new(IMAGE);
    let mut sandbox = Sandbox::start(&fake, spec("twice", &["db"]))
        .await
        .expect("starts");
    let first = sandbox.teardown().await.expect("teardown");
    assert_eq!((first.containers, first.networks), (2, 1));
    let second = sandbox.teardown().await.expect("teardown again");
    assert_eq!((second.containers, second.networks), (0, 0));
    assert_nothing_left(&fake);
    // The service's log went with it: finishing now keeps no log, and leaves nothing.
    let finished = sandbox.finish(1024).await;
    assert!(finished.is_ok_and(|r| r.service_log.is_empty()));
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn the_lifetime_limit_kills_the_service() {
    let fake = FakeBackend::new(IMAGE);
    let mut spec = spec("lifetime", &[]);
    spec.hardening.max_lifetime = Duration::from_millis(100);
    let sandbox = Sandbox::start(&fake, spec).await.expect("starts");
    assert!(sandbox.is_healthy());
    let exit = wait_exited(&sandbox).await;
    assert_eq!(
        sandbox.kill_reason(),
        Some(KillReason::Lifetime { seconds: 0 })
    );
    assert_eq!((exit.code, exit.oom), (137, false));
    sandbox.finish(1024).await.expect("finishes");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn the_writable_layer_watchdog_runs_where_the_engine_measures_it() {
    let fake = FakeBackend::new(IMAGE);
    fake.script_service(vec![ServiceScript::healthy_after(1).writable_bytes(2048)]);
    let mut spec = spec("writable", &[]);
    spec.hardening.read_only_rootfs = false;
    spec.hardening.writable_layer_cap_bytes = 1024;
    let sandbox = Sandbox::start(&fake, spec.clone()).await.expect("starts");
    let exit = wait_exited(&sandbox).await;
    assert_eq!(
        sandbox.kill_reason(),
        Some(KillReason::WritableLayer {
            bytes: 2048,
            cap_bytes: 1024
        })
    );
    assert!(!exit.oom);
    sandbox.finish(1024).await.expect("finishes");
    assert_nothing_left(&fake);

    // An engine that cannot measure it: no watchdog, the service runs on.
    let blind = FakeBackend::new(IMAGE);
    blind.script_service(vec![ServiceScript::healthy_after(1).writable_bytes(2048)]);
    blind.set_capabilities(Capabilities {
        isolation: RunIsolation::None,
        writable_layer_measurement: false,
        exec_in_service: false,
    });
    spec.run_id = "blind".to_owned();
    let sandbox = Sandbox::start(&blind, spec).await.expect("starts");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sandbox.exit_status().await.expect("state"), None);
    assert_eq!(sandbox.kill_reason(), None);
    // Nor exec in the service.
    let err = sandbox
        .exec_service(&["true".to_owned()], Duration::from_secs(1))
        .await
        .expect_err("cannot exec");
    assert!(matches!(err, SandboxError::Invalid(_)), "{err}");
    sandbox.finish(1024).await.expect("finishes");
    assert_nothing_left(&blind);
}

#[tokio::test]
async fn kill_is_requested_not_oom_and_exec_reaches_the_service() {
    let fake = FakeBackend::new(IMAGE);
    let mut sandbox = Sandbox::start(&fake, spec("kill", &[]))
        .await
        .expect("starts");
    let out = sandbox
        .exec_service(
            &["echo".to_owned(), "hi".to_owned()],
            Duration::from_secs(1),
        )
        .await
        .expect("exec");
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(sandbox.kill().await.expect("kill"), Some(137));
    assert_eq!(sandbox.kill_reason(), Some(KillReason::Requested));
    let exit = sandbox.exit_status().await.expect("state");
    assert_eq!(exit.map(|e| (e.code, e.oom)), Some((137, false)));
    assert_eq!(
        fake.calls(),
        vec!["service start", "service exec echo hi", "service SIGKILL"]
    );
    sandbox.teardown().await.expect("teardown");
    assert_nothing_left(&fake);
}

#[tokio::test]
async fn the_fake_reports_a_missing_service_as_missing() {
    use crate::Runtime;
    let fake = FakeBackend::new(IMAGE);
    let run = fake.create_run("bare").await.expect("run");
    assert_eq!(
        fake.service_state(&run).await.expect("state"),
        WorkloadState::Missing
    );
    let report = fake.gc().await.expect("gc");
    assert_eq!(report.runs, vec!["bare".to_owned()]);
    assert_nothing_left(&fake);
}
