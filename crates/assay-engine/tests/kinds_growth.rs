//! `growth` checks against local servers whose feed costs one query per followed author
//! (N+1: latency grows with the follows) or stays flat; and API seeding that backs off
//! when the service answers 429.

mod kinds_common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assay_engine::checks::{growth, load};
use assay_format::{GrowthCheck, LoadCheck};
use assay_model::{Evidence, Status};
use kinds_common::{Fixture, Reply, Req, TestServer, cx, notes, spec};
use serde_json::json;

const GROWTH: &str = r#"
grow:
  - request: {method: POST, path: "/follow/author-{{ n }}", auth: alice}
    expect: {status: 200}
sizes: [1, 12]
measure:
  request: {method: GET, path: /feed, auth: alice}
  expect: {status: 200, json: {"$.articles": {is: array}}}
warmup: 1
samples: 5
ratio: {target: 2, floor: 5}
allowance: 20ms
"#;

/// A feed server: `per_author` of latency per followed author (N+1), or flat.
async fn feed_server(per_author: Duration) -> (TestServer, Arc<AtomicU32>) {
    let follows = Arc::new(AtomicU32::new(0));
    let f = follows.clone();
    let server =
        TestServer::start(
            move |req: Req| match (req.method.as_str(), req.path.as_str()) {
                ("POST", p) if p.starts_with("/follow/") => {
                    f.fetch_add(1, Ordering::SeqCst);
                    Reply::json(200, json!({"profile": {"following": true}}))
                }
                ("GET", "/feed") => {
                    let n = f.load(Ordering::SeqCst);
                    Reply::json(200, json!({"articles": [], "articlesCount": 0}))
                        .after(Duration::from_millis(2) + per_author * n)
                }
                _ => Reply::json(404, json!({})),
            },
        )
        .await;
    (server, follows)
}

async fn run_growth(per_author: Duration) -> (assay_engine::Verdict, Vec<Evidence>, u32) {
    let (server, follows) = feed_server(per_author).await;
    let fixture = Fixture::http(server.url());
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s: GrowthCheck = spec(GROWTH);
    let v = growth::run(&mut cx, &s).await;
    (v, cx.evidence.take(), follows.load(Ordering::SeqCst))
}

fn measurement(evidence: &[Evidence], prefix: &str) -> f64 {
    evidence
        .iter()
        .find_map(|e| match e {
            Evidence::Measurement { name, value, .. } if name.starts_with(prefix) => Some(*value),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no measurement `{prefix}`"))
}

#[tokio::test]
async fn an_n_plus_one_feed_fails_and_a_flat_one_passes() {
    let (v, ev, follows) = run_growth(Duration::from_millis(15)).await;
    assert_eq!(
        follows, 12,
        "grown one unit at a time up to the larger size"
    );
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.credit < 1.0, "{v:?}");
    let ratio = measurement(&ev, "latency ratio");
    assert!(ratio > 2.0, "the ratio is measured: {ratio}");
    assert!(notes(&ev).contains("N+1"), "{}", notes(&ev));
    assert!(
        measurement(&ev, "median latency at size 12")
            > measurement(&ev, "median latency at size 1")
    );

    let (v, ev, _) = run_growth(Duration::ZERO).await;
    assert_eq!(v.status, Status::Pass, "{v:?} {}", notes(&ev));
    assert!(v.message.contains("does not grow"), "{}", v.message);
}

#[tokio::test]
async fn a_measured_request_that_fails_fails_the_check() {
    let server = TestServer::start(|req: Req| match req.path.as_str() {
        "/feed" => Reply::json(500, json!({"errors": {"feed": ["boom"]}})),
        _ => Reply::json(200, json!({})),
    })
    .await;
    let fixture = Fixture::http(server.url());
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let v = growth::run(&mut cx, &spec::<GrowthCheck>(GROWTH)).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message.contains("did not hold at size 1"),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn api_seeding_backs_off_on_429_and_every_row_arrives() {
    // Each seed is refused once with 429 (Retry-After: 0), then accepted.
    let refused: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stored: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let (r, st) = (refused.clone(), stored.clone());
    let server =
        TestServer::start(
            move |req: Req| match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/api/articles") => {
                    let title = req
                        .json()
                        .and_then(|b| b["article"]["title"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let first = r
                        .lock()
                        .map(|mut r| r.insert(title.clone()))
                        .unwrap_or(false);
                    if first {
                        return Reply::json(429, json!({"errors": {"rate": ["slow down"]}}))
                            .header("Retry-After", "0");
                    }
                    if let Ok(mut s) = st.lock() {
                        s.insert(title);
                    }
                    Reply::json(201, json!({"article": {}}))
                }
                _ => Reply::json(200, json!({"articles": []})),
            },
        )
        .await;
    let fixture = Fixture::http(server.url());
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    // 300 × test mode's seed_scale 0.1 = 30 articles, 8 in flight.
    let s: LoadCheck = spec(
        r#"
seed:
  count: 300
  concurrency: 8
  request: {method: POST, path: /api/articles, auth: alice, json: {article: {title: "seed {{ n }}", body: "b"}}}
model: closed
connections: 2
warmup: 100ms
duration: 400ms
mix: [{name: list, request: {method: GET, path: /api/articles}}]
thresholds: {}
"#,
    );
    let v = load::run(&mut cx, &s).await;
    let ev = cx.evidence.take();
    let stored = stored.lock().map(|s| s.len()).unwrap_or(0);
    assert_eq!(
        stored,
        30,
        "every seed arrived after its 429: {v:?} {}",
        notes(&ev)
    );
    assert!(
        notes(&ev).contains("30 seed requests were retried after 429 or 503"),
        "{}",
        notes(&ev)
    );
    assert_eq!(measurement(&ev, "rows seeded"), 30.0);
}

/// Seeds through a server that answers every third request 429, at `concurrency`; returns
/// the bodies it stored.
async fn seeded_bodies(concurrency: u32) -> BTreeSet<String> {
    let stored: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let calls = Arc::new(AtomicU32::new(0));
    let (st, c) = (stored.clone(), calls.clone());
    let server = TestServer::start(move |req: Req| {
        if req.method != "POST" {
            return Reply::json(200, json!([]));
        }
        if c.fetch_add(1, Ordering::SeqCst) % 3 == 2 {
            return Reply::json(429, json!({"error": "slow down"})).header("Retry-After", "0");
        }
        if let Ok(mut s) = st.lock() {
            s.insert(req.body.clone());
        }
        Reply::json(201, json!({}))
    })
    .await;
    let fixture = Fixture::http(server.url());
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s: LoadCheck = spec(&format!(
        r#"
seed:
  count: 400
  concurrency: {concurrency}
  request: {{method: POST, path: /items, json: {{n: "{{{{ n }}}}", email: "{{{{ gen.email }}}}", word: "{{{{ gen.word }}}}"}}}}
model: closed
connections: 1
warmup: 0s
duration: 200ms
mix: [{{name: list, request: {{method: GET, path: /items}}}}]
thresholds: {{}}
"#
    ));
    let v = load::run(&mut cx, &s).await;
    let ev = cx.evidence.take();
    assert_eq!(
        measurement(&ev, "rows seeded"),
        40.0,
        "{v:?} {}",
        notes(&ev)
    );
    stored.lock().map(|s| s.clone()).unwrap_or_default()
}

#[tokio::test]
async fn api_seeding_sends_the_same_data_for_a_seed_at_any_concurrency() {
    let one = seeded_bodies(1).await;
    let many = seeded_bodies(16).await;
    assert_eq!(one.len(), 40, "every row arrived once: {one:?}");
    assert_eq!(
        one, many,
        "the same seed seeds the same data at 1 or 16 in flight"
    );
    assert_eq!(seeded_bodies(16).await, many, "and again");
}
