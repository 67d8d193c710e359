//! Behaviour of the load generator against small raw-TCP servers on 127.0.0.1: counts,
//! statuses, errors, timeouts, coordinated-omission correction, the closed model, the mix,
//! and servers that stall, close, answer garbage or stream without end. No assertion is on
//! how long a test takes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::*;

/// What the test server does with request number `n` (0-based, across connections).
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Answer 200 after a pause (this connection only).
    Delayed(Duration),
    /// Never answer.
    Hang,
    /// Bytes that are not HTTP.
    Garbage,
    /// A close-delimited body that never ends.
    Endless,
    /// 200 with `connection: close`, then close.
    Close,
}

type Behaviour = dyn Fn(u64, &str) -> Reply + Send + Sync;

#[derive(Default)]
struct Seen {
    hits: AtomicU64,
    connections: AtomicU64,
    paths: Mutex<BTreeMap<String, u64>>,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Seen {
    fn path(&self, p: &str) -> u64 {
        self.paths
            .lock()
            .expect("lock")
            .get(p)
            .copied()
            .unwrap_or(0)
    }

    fn status(&self, s: u16) -> u64 {
        self.statuses
            .lock()
            .expect("lock")
            .get(&s)
            .copied()
            .unwrap_or(0)
    }
}

/// A keep-alive HTTP/1.1 server good enough for the generator's requests; aborts every
/// connection when dropped.
struct TestServer {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    async fn start(behaviour: impl Fn(u64, &str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Seen::default());
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                let mut conns = JoinSet::new();
                while let Ok((stream, _)) = listener.accept().await {
                    seen.connections.fetch_add(1, Ordering::Relaxed);
                    conns.spawn(serve(stream, Arc::clone(&seen), Arc::clone(&behaviour)));
                }
            }
        });
        Self { addr, seen, task }
    }

    fn target(&self) -> Target {
        Target::from_addr(self.addr)
    }
}

async fn serve(mut stream: TcpStream, seen: Arc<Seen>, behaviour: Arc<Behaviour>) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Read one request head, then its body by content-length.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let body_len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + body_len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + body_len);

        let n = seen.hits.fetch_add(1, Ordering::Relaxed);
        *seen
            .paths
            .lock()
            .expect("lock")
            .entry(path.clone())
            .or_default() += 1;
        let reply = behaviour(n, &path);
        let status = match reply {
            Reply::Status(s) => Some(s),
            Reply::Delayed(_) | Reply::Close => Some(200),
            _ => None,
        };
        if let Some(s) = status {
            *seen.statuses.lock().expect("lock").entry(s).or_default() += 1;
        }
        let written = match reply {
            // 204 and 304 have no body.
            Reply::Status(s @ (204 | 304)) => {
                stream
                    .write_all(format!("HTTP/1.1 {s} X\r\n\r\n").as_bytes())
                    .await
            }
            Reply::Status(s) => {
                stream
                    .write_all(format!("HTTP/1.1 {s} X\r\ncontent-length: 2\r\n\r\nok").as_bytes())
                    .await
            }
            Reply::Delayed(d) => {
                tokio::time::sleep(d).await;
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
            }
            Reply::Hang => {
                std::future::pending::<()>().await;
                return;
            }
            Reply::Garbage => stream.write_all(b"this is not http at all\r\n\r\n").await,
            Reply::Endless => {
                if stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.is_err() {
                    return;
                }
                let block = [b'x'; 16 * 1024];
                // Bounded anyway: 1 GiB.
                for _ in 0..65_536 {
                    if stream.write_all(&block).await.is_err() {
                        return;
                    }
                }
                return;
            }
            Reply::Close => {
                let r = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
                    )
                    .await;
                drop(r);
                return;
            }
        };
        if written.is_err() {
            return;
        }
    }
}

fn plan(target: Target, model: LoadModel, duration_ms: u64, mix: Vec<WeightedRequest>) -> LoadPlan {
    let mut plan = LoadPlan::new(target, model, Duration::from_millis(duration_ms), mix);
    plan.warmup = Duration::ZERO;
    plan.connections = 4;
    plan.seed = 7;
    plan
}

fn closed(concurrency: u32) -> LoadModel {
    LoadModel::Closed { concurrency }
}

fn kind<'a>(report: &'a LoadReport, name: &str) -> &'a KindReport {
    report
        .kinds
        .iter()
        .find(|k| k.name == name)
        .expect("kind in report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_counts_statuses_warmup_and_progress() {
    let server = TestServer::start(|_, _| Reply::Status(200)).await;
    let mut plan = plan(
        server.target(),
        LoadModel::Open {
            rate_per_sec: 200.0,
        },
        1000,
        vec![WeightedRequest::get("root", "/")],
    );
    plan.warmup = Duration::from_millis(250);
    let snapshots = Mutex::new(Vec::new());
    let on_progress = |p: LoadProgress| snapshots.lock().expect("lock").push(p);
    let report = run(&plan, Some(&on_progress)).await.expect("run");

    // 200/s for 1 s after a 0.25 s warm-up of 50 requests.
    assert_eq!(report.scheduled, 200);
    assert_eq!(report.requests + report.unsent, 200);
    assert!(report.requests > 0);
    assert_eq!(report.ok, report.requests);
    assert_eq!(report.errors, ErrorCounts::default());
    assert_eq!(report.statuses, BTreeMap::from([(200, report.requests)]));
    assert_eq!(report.latency.samples, report.requests);
    assert_eq!(report.uncorrected.samples, report.requests);
    assert!(report.latency.p50_ms <= report.latency.p99_ms);
    assert!(report.latency.p99_ms <= report.latency.max_ms);
    assert!(report.throughput_rps > 0.0);
    assert!(report.duration_secs >= 1.0);
    assert_eq!(report.warmup.requests, 50);
    assert_eq!(report.warmup.ok, 50);
    assert_eq!(
        server.seen.hits.load(Ordering::Relaxed),
        report.warmup.requests + report.requests
    );
    assert!(!report.hit_deadline);
    assert_eq!(kind(&report, "root").requests, report.requests);

    let snapshots = snapshots.into_inner().expect("lock");
    let last = snapshots.last().expect("a final snapshot");
    assert_eq!(last.phase, LoadPhase::Done);
    assert_eq!(last.completed, report.warmup.requests + report.requests);
    assert_eq!(last.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_warmup_is_dropped_when_the_window_opens() {
    // One connection, 50 ms per response, 100 requests/s due: the warm-up falls behind.
    let server = TestServer::start(|_, _| Reply::Delayed(Duration::from_millis(50))).await;
    let mut plan = plan(
        server.target(),
        LoadModel::Open {
            rate_per_sec: 100.0,
        },
        500,
        vec![WeightedRequest::get("root", "/")],
    );
    plan.connections = 1;
    plan.warmup = Duration::from_millis(300);
    let report = run(&plan, None).await.expect("run");

    assert_eq!(report.warmup.requests + report.warmup.unsent, 30);
    assert!(report.warmup.unsent > 0);
    // The window still measures.
    assert!(report.requests > 0);
    assert_eq!(report.requests + report.unsent, report.scheduled);
    assert_eq!(report.scheduled, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_client_errors_are_counted_apart() {
    let server = TestServer::start(|n, path| match path {
        "/missing" => Reply::Status(404),
        // Half of all requests to /flaky fail (by global request number).
        "/flaky" if n % 2 == 0 => Reply::Status(500),
        _ => Reply::Status(200),
    })
    .await;
    let report = run(
        &plan(
            server.target(),
            closed(4),
            300,
            vec![
                WeightedRequest::get("flaky", "/flaky").weighted(2),
                WeightedRequest::get("missing", "/missing"),
            ],
        ),
        None,
    )
    .await
    .expect("run");

    assert!(report.requests > 0);
    assert_eq!(server.seen.hits.load(Ordering::Relaxed), report.requests);
    assert_eq!(report.errors.status_5xx, server.seen.status(500));
    assert_eq!(report.client_errors, server.seen.status(404));
    assert_eq!(report.ok, server.seen.status(200));
    assert_eq!(
        report.requests,
        report.ok + report.client_errors + report.errors.total()
    );
    assert_eq!(report.errors.total(), report.errors.status_5xx);
    assert_eq!(
        report.statuses.get(&500).copied().unwrap_or(0),
        report.errors.status_5xx
    );
    let missing = kind(&report, "missing");
    assert_eq!(missing.client_errors, missing.requests);
    assert_eq!(missing.errors.total(), 0);
    assert_eq!(missing.requests, server.seen.path("/missing"));
    let flaky = kind(&report, "flaky");
    assert_eq!(flaky.requests, flaky.ok + flaky.errors.status_5xx);
    let expected_rate = report.errors.status_5xx as f64 / report.requests as f64;
    assert!((report.error_rate() - expected_rate).abs() < 1e-12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_yields_timeouts_and_the_run_still_ends() {
    let server = TestServer::start(|_, _| Reply::Hang).await;
    let mut plan = plan(
        server.target(),
        closed(2),
        500,
        vec![WeightedRequest::get("hang", "/")],
    );
    plan.request_timeout = Duration::from_millis(200);
    let report = run(&plan, None).await.expect("run");

    assert!(report.requests >= 2);
    assert_eq!(report.errors.timeout, report.requests);
    assert_eq!(report.ok, 0);
    assert!(report.statuses.is_empty());
    // Timeouts are in the latency figures, at no less than the timeout.
    assert_eq!(report.latency.samples, report.requests);
    assert!(report.latency.p50_ms >= 200.0);
    assert!(!report.hit_deadline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrected_latency_counts_the_queue_behind_a_stall() {
    // One connection at 200/s; the server stalls 1 s once every 250 requests.
    let server = TestServer::start(|n, _| {
        if n % 250 == 100 {
            Reply::Delayed(Duration::from_secs(1))
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let mut plan = plan(
        server.target(),
        LoadModel::Open {
            rate_per_sec: 200.0,
        },
        2000,
        vec![WeightedRequest::get("root", "/")],
    );
    plan.connections = 1;
    let report = run(&plan, None).await.expect("run");

    assert_eq!(report.errors.total(), 0);
    // The stalled request itself, in both views.
    assert!(report.uncorrected.max_ms >= 1000.0);
    assert!(report.latency.max_ms >= 1000.0);
    // About 200 requests were due during the first stall: the corrected tail sees them,
    // the service time does not.
    assert!(report.latency.p99_ms >= 500.0, "{:?}", report.latency);
    assert!(report.latency.p90_ms >= 200.0, "{:?}", report.latency);
    assert!(
        report.latency.p99_ms > 5.0 * report.uncorrected.p99_ms,
        "corrected {:?} vs uncorrected {:?}",
        report.latency,
        report.uncorrected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_keeps_one_connection_per_worker() {
    let server = TestServer::start(|_, _| Reply::Status(204)).await;
    let mut plan = plan(
        server.target(),
        closed(3),
        300,
        vec![WeightedRequest::get("root", "/")],
    );
    plan.warmup = Duration::from_millis(100);
    let report = run(&plan, None).await.expect("run");

    assert!(report.requests > 0);
    assert!(report.warmup.requests > 0);
    assert_eq!(report.ok, report.requests);
    assert_eq!(report.statuses, BTreeMap::from([(204, report.requests)]));
    assert_eq!(report.scheduled, report.requests);
    assert_eq!(report.unsent, 0);
    assert_eq!(report.connections, 3);
    assert_eq!(report.latency, report.uncorrected);
    assert_eq!(
        server.seen.hits.load(Ordering::Relaxed),
        report.warmup.requests + report.requests
    );
    // Keep-alive: warm-up and measurement share the workers' connections.
    assert_eq!(server.seen.connections.load(Ordering::Relaxed), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mix_follows_its_weights() {
    let server = TestServer::start(|_, _| Reply::Status(200)).await;
    let weights = [("a", 6u32), ("b", 3), ("c", 1), ("never", 0)];
    let mix = weights
        .iter()
        .map(|(name, w)| WeightedRequest::get(*name, format!("/{name}")).weighted(*w))
        .collect();
    let report = run(&plan(server.target(), closed(4), 500, mix), None)
        .await
        .expect("run");

    let n = report.requests as f64;
    assert!(report.requests > 0);
    for (name, w) in weights {
        let k = kind(&report, name);
        // What the report says is what the server saw.
        assert_eq!(k.requests, server.seen.path(&format!("/{name}")), "{name}");
        let share = k.requests as f64 / n;
        let p = f64::from(w) / 10.0;
        let tolerance = 4.0 * (p * (1.0 - p) / n).sqrt() + 0.01;
        assert!((share - p).abs() <= tolerance, "{name}: {share} vs {p}");
    }
    assert_eq!(kind(&report, "never").requests, 0);
    assert_eq!(server.seen.connections.load(Ordering::Relaxed), 4);
}

async fn one_path_run(reply: Reply) -> LoadReport {
    let server = TestServer::start(move |_, _| reply).await;
    let mut plan = plan(
        server.target(),
        closed(2),
        300,
        vec![WeightedRequest::get("x", "/")],
    );
    plan.limits.body_cap = 64 << 10;
    plan.request_timeout = Duration::from_secs(2);
    run(&plan, None).await.expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_endless_bodies_and_closing_servers_cannot_wedge_it() {
    let garbage = one_path_run(Reply::Garbage).await;
    assert!(garbage.requests > 0);
    assert_eq!(garbage.errors.protocol, garbage.requests);

    let endless = one_path_run(Reply::Endless).await;
    assert!(endless.requests > 0);
    assert_eq!(endless.errors.body_too_large, endless.requests);

    let closing = one_path_run(Reply::Close).await;
    assert!(closing.requests > 0);
    assert_eq!(closing.ok, closing.requests);

    for r in [&garbage, &endless, &closing] {
        assert!(!r.hit_deadline);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_port_yields_connect_errors() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        l.local_addr().expect("addr")
    };
    let report = run(
        &plan(
            Target::from_addr(addr),
            closed(2),
            200,
            vec![WeightedRequest::get("x", "/")],
        ),
        None,
    )
    .await
    .expect("run");
    assert!(report.requests > 0);
    assert_eq!(report.errors.connect, report.requests);
    assert_eq!(report.latency.samples, 0);
}

#[tokio::test]
async fn invalid_plans_and_targets_are_refused() {
    let target = Target::from_addr(SocketAddr::from(([127, 0, 0, 1], 9)));
    let ok_mix = || vec![WeightedRequest::get("x", "/")];
    let bad = |model, mix| plan(target.clone(), model, 100, mix).prepare().err();

    assert!(matches!(
        bad(LoadModel::Open { rate_per_sec: 0.0 }, ok_mix()),
        Some(LoadError::InvalidPlan(_))
    ));
    assert!(matches!(
        bad(
            LoadModel::Open {
                rate_per_sec: f64::NAN
            },
            ok_mix()
        ),
        Some(LoadError::InvalidPlan(_))
    ));
    assert!(matches!(
        bad(closed(0), ok_mix()),
        Some(LoadError::InvalidPlan(_))
    ));
    assert!(matches!(
        bad(closed(1), vec![]),
        Some(LoadError::InvalidPlan(_))
    ));
    assert!(matches!(
        bad(closed(1), vec![WeightedRequest::get("z", "/").weighted(0)]),
        Some(LoadError::InvalidPlan(_))
    ));
    assert!(matches!(
        bad(closed(1), vec![WeightedRequest::get("p", "no-slash")]),
        Some(LoadError::InvalidRequest { .. })
    ));
    let mut bad_header = WeightedRequest::get("h", "/");
    bad_header.headers.push(("bad header".into(), "v".into()));
    assert!(matches!(
        bad(closed(1), vec![bad_header]),
        Some(LoadError::InvalidRequest { .. })
    ));
    assert!(bad(closed(1), ok_mix()).is_none());

    let t = Target::resolve("http://127.0.0.1:8080")
        .await
        .expect("resolves");
    assert_eq!(t.addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
    assert_eq!(t.host, "127.0.0.1:8080");
    for url in [
        "https://127.0.0.1:1",
        "http://127.0.0.1:1/api",
        "127.0.0.1:1",
        "http://u@127.0.0.1/",
    ] {
        assert!(
            matches!(
                Target::resolve(url).await,
                Err(LoadError::InvalidTarget { .. })
            ),
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_is_recorded_in_parts_and_judged_on_their_median() {
    let mut report = one_path_run(Reply::Status(200)).await;
    assert_eq!(report.windows.len(), record::WINDOWS);
    let parts: u64 = report.windows.iter().map(|w| w.samples).sum();
    assert_eq!(
        parts, report.latency.samples,
        "every latency is in one part"
    );

    // One stalled part (a neighbour's burst) does not move the verdict's figures.
    let part = |p95: f64| Percentiles {
        samples: 100,
        p50_ms: p95 / 2.0,
        p90_ms: p95,
        p95_ms: p95,
        p99_ms: p95,
        p999_ms: p95,
        max_ms: p95,
        mean_ms: p95 / 2.0,
    };
    report.windows = vec![part(2.0), part(80.0), part(3.0)];
    let (steady, by_parts) = report.steady_latency();
    assert!(by_parts);
    assert_eq!(steady.p95_ms, 3.0);
    assert_eq!(steady.p50_ms, 1.5);

    // Too few requests in a part: the whole window's figures stand.
    report.windows[1].samples = report::MIN_WINDOW_REQUESTS - 1;
    let (whole, by_parts) = report.steady_latency();
    assert!(!by_parts);
    assert_eq!(whole, report.latency);
}
