//! `security` checks against a local test server that plays right and wrong answers:
//! token verification, ownership, SQL injection (injectable and safe look-alikes),
//! leakage, rate limiting and advisory headers.

mod kinds_common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assay_engine::Verdict;
use assay_engine::checks::security;
use assay_format::SecurityCheck;
use assay_model::{Evidence, Status};
use kinds_common::{Fixture, Reply, Req, Strictness, TestServer, cx, notes, spec, verify};
use serde_json::{Value, json};

const KNOWN: &[&str] = &["user-alice", "user-bob"];
const NAMES: &[&str] = &["alice", "bob", "carol"];

async fn check(server: &TestServer, yaml: &str) -> (Verdict, Vec<Evidence>) {
    let fixture = Fixture::http(server.url());
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s: SecurityCheck = spec(yaml);
    let s = s.into_probe().expect("the check sets exactly one probe");
    let v = security::run(&mut cx, &s).await;
    (v, cx.evidence.take())
}

// ----- a toy SQL engine: `WHERE name = '<input>'` built by string concatenation ---------

/// What the vulnerable query returns for `input`, and how long `pg_sleep` asked for.
fn concatenated_query(input: &str) -> (Result<Vec<&'static str>, String>, f64) {
    let sql: Vec<char> = format!("'{input}'").chars().collect();
    let mut lit = String::new();
    let mut i = 1;
    loop {
        let Some(c) = sql.get(i) else {
            return (
                Err(format!(
                    "unterminated quoted string at or near \"{}\"",
                    sql.iter().collect::<String>()
                )),
                0.0,
            );
        };
        if *c == '\'' {
            if sql.get(i + 1) == Some(&'\'') {
                lit.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            break;
        }
        lit.push(*c);
        i += 1;
    }
    let mut tail: String = sql[i..].iter().collect();
    if let Some(pos) = tail.find("--") {
        tail.truncate(pos);
    }
    let tail = tail.trim().to_owned();
    let eq: Vec<&'static str> = NAMES.iter().copied().filter(|n| *n == lit).collect();
    if tail.matches('\'').count() % 2 == 1 {
        return (Err(format!("syntax error at or near \"{tail}\"")), 0.0);
    }
    let sleep = tail
        .find("pg_sleep(")
        .and_then(|p| {
            let rest = &tail[p + 9..];
            rest[..rest.find(')')?].parse::<f64>().ok()
        })
        .unwrap_or(0.0);
    let same_as_benign =
        tail.is_empty() || sleep > 0.0 || tail == "AND '1'='1'" || tail == "OR '1'='2'";
    let rows = if same_as_benign {
        eq
    } else if tail == "AND '1'='2'" {
        vec![]
    } else if tail == "OR '1'='1'" {
        NAMES.to_vec()
    } else {
        return (Err(format!("syntax error at or near \"{tail}\"")), 0.0);
    };
    (Ok(rows), sleep)
}

fn list(rows: &[&str]) -> Value {
    json!({"data": rows.iter().map(|n| json!({"name": n, "id": format!("id-{n}")})).collect::<Vec<_>>()})
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 10.0))
}

/// The test "service": every behaviour under its own path.
fn app(req: Req, state: &Mutex<State>) -> Reply {
    let q = req.query.get("q").cloned().unwrap_or_default();
    let segs: Vec<&str> = req.path.trim_start_matches('/').splitn(3, '/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        // Injectable search: generic 500 on broken SQL, sleeps on pg_sleep.
        ("GET", ["vuln", "search"]) => match concatenated_query(&q) {
            (Err(_), _) => Reply::text(500, "Internal Server Error"),
            (Ok(rows), s) => Reply::json(200, list(&rows)).after(secs(s)),
        },
        // Injectable lookup by path that shows the driver's error text.
        ("GET", ["vuln-text", "items", id]) => match concatenated_query(id) {
            (Err(e), _) => Reply::json(
                500,
                json!({"detail": format!("psycopg2.errors.SyntaxError: {e}")}),
            ),
            (Ok(rows), _) if rows.is_empty() => Reply::error(404, "not_found"),
            (Ok(rows), _) => Reply::json(200, json!({"name": rows[0]})),
        },
        // Injectable login through a JSON body.
        ("POST", ["vuln", "login"]) => {
            let email = req
                .json()
                .and_then(|v| v.get("email").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            match concatenated_query(&email) {
                (Err(e), _) => Reply::text(500, &format!("ERROR: {e} (SQLSTATE 42601)")),
                (Ok(rows), _) if rows.is_empty() => Reply::error(401, "invalid_credentials"),
                (Ok(_), _) => Reply::json(200, json!({"access_token": "t"})),
            }
        }
        // Parameterised: the input is only ever a value.
        ("GET", ["safe", "search"]) => {
            let rows: Vec<&str> = NAMES.iter().copied().filter(|n| *n == q).collect();
            Reply::json(200, list(&rows))
        }
        // Safe, but 500s on any quote at all, balanced or not (no SQL text).
        ("GET", ["safe-500", "search"]) => {
            if q.contains('\'') {
                return Reply::text(500, "Internal Server Error");
            }
            let rows: Vec<&str> = NAMES.iter().copied().filter(|n| *n == q).collect();
            Reply::json(200, list(&rows))
        }
        // Safe (typed parameter), but leaks the database's type error for any non-UUID.
        ("GET", ["safe-uuid", "items", id]) => {
            if id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                Reply::error(404, "not_found")
            } else {
                Reply::json(
                    500,
                    json!({"error": format!("invalid input syntax for type uuid: \"{id}\" (SQLSTATE 22P02)")}),
                )
            }
        }
        // Token checks.
        ("GET", ["strict", "me"]) => match verify(req.bearer(), Strictness::Strict, KNOWN) {
            Some(id) => Reply::json(200, json!({"id": id})),
            None => Reply::error(401, "unauthorized"),
        },
        ("GET", ["weak", "me"]) => match verify(req.bearer(), Strictness::Weak, KNOWN) {
            Some(id) => Reply::json(200, json!({"id": id})),
            None => Reply::error(401, "unauthorized"),
        },
        // Verifies strictly, but refuses with the framework's default 403.
        ("GET", ["forbidding", "me"]) => match verify(req.bearer(), Strictness::Strict, KNOWN) {
            Some(id) => Reply::json(200, json!({"id": id})),
            None => Reply::error(403, "forbidden"),
        },
        // Accounts, with an owner check (`own`) or without (`leaky`).
        ("POST", ["accounts"]) => {
            let Some(user) = verify(req.bearer(), Strictness::Strict, KNOWN) else {
                return Reply::error(401, "unauthorized");
            };
            let mut st = state.lock().expect("state");
            st.next += 1;
            let id = format!("acct-{}", st.next);
            st.accounts.insert(id.clone(), (user, 0));
            Reply::json(201, json!({"id": id, "balance": "0.00"}))
        }
        ("GET" | "POST", [mode @ ("own" | "leaky"), "accounts", rest]) => {
            let Some(user) = verify(req.bearer(), Strictness::Strict, KNOWN) else {
                return Reply::error(401, "unauthorized");
            };
            let (id, deposit) = match rest.split_once('/') {
                Some((id, "deposits")) => (id.to_owned(), true),
                _ => (rest.to_string(), false),
            };
            let mut st = state.lock().expect("state");
            let Some((owner, cents)) = st.accounts.get_mut(&id) else {
                return Reply::error(404, "not_found");
            };
            if *mode == "own" && *owner != user {
                return Reply::error(404, "not_found");
            }
            if deposit {
                *cents += 500;
            }
            let body = json!({"id": id, "owner_id": owner, "balance": format!("{}.{:02}", *cents / 100, *cents % 100)});
            Reply::json(if deposit { 201 } else { 200 }, body)
        }
        // Logins with a per-email limiter (or none).
        (
            "POST",
            [
                mode @ ("limited" | "limited-noheader" | "unlimited"),
                "login",
            ],
        ) => {
            let body = req.json().unwrap_or_default();
            let email = body
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let password = body.get("password").and_then(Value::as_str).unwrap_or("");
            let mut st = state.lock().expect("state");
            let failures = st.failures.entry(email).or_insert(0);
            if *mode != "unlimited" && *failures >= 5 {
                let r = Reply::error(429, "rate_limited");
                return if *mode == "limited" {
                    r.header("Retry-After", "30")
                } else {
                    r
                };
            }
            if password == "right-password-1" {
                Reply::json(200, json!({"access_token": "t"}))
            } else {
                *failures += 1;
                Reply::error(401, "invalid_credentials")
            }
        }
        // Leaky and clean error handlers.
        ("POST", ["leaky", "users"]) => match req.json() {
            Some(_) => Reply::json(201, json!({"id": "u1"})),
            None => Reply::json(
                500,
                json!({"detail": "Traceback (most recent call last):\n  File \"/app/main.py\", line 41, in create_user\n    body = json.loads(raw)\njson.decoder.JSONDecodeError: Expecting value"}),
            ),
        },
        ("POST", ["leaky", "echo"]) => Reply::json(
            422,
            json!({"error": {"code": "validation_failed", "message": "invalid"}, "received": req.json()}),
        ),
        ("POST", ["clean", "users"]) => match req.json() {
            Some(_) => Reply::json(201, json!({"id": "u1"})),
            None => Reply::error(400, "malformed_json"),
        },
        ("GET", ["headers"]) => Reply::json(200, json!({"ok": true}))
            .header("X-Content-Type-Options", "nosniff")
            .header("Content-Security-Policy", "default-src 'none'")
            .header("X-Build", "internal-build-42"),
        _ => Reply::error(404, "not_found"),
    }
}

#[derive(Default)]
struct State {
    next: u32,
    accounts: BTreeMap<String, (String, u64)>,
    failures: BTreeMap<String, u32>,
}

async fn server() -> TestServer {
    let state = Arc::new(Mutex::new(State::default()));
    TestServer::start(move |req| app(req, &state)).await
}

// ----- auth_matrix ---------------------------------------------------------------------

#[tokio::test]
async fn auth_matrix_passes_a_verifying_service() {
    let s = server().await;
    let (v, ev) = check(
        &s,
        "auth_matrix:\n  endpoints:\n    - {method: GET, path: /strict/me, auth: alice}\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(v.message.contains("all 11 attempts"), "{}", v.message);
    assert!(notes(&ev).contains("11 of 11"));
}

#[tokio::test]
async fn auth_matrix_grades_a_service_accepting_alg_none() {
    let s = server().await;
    let (v, ev) = check(
        &s,
        "auth_matrix:\n  endpoints:\n    - {method: GET, path: /weak/me, auth: alice}\n    - {method: GET, path: /strict/me, auth: alice}\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    // weak: alg-none ×3, expired, no-exp and unknown-subject get through; strict holds.
    let expected = (22.0 - 6.0) / 22.0;
    assert!((v.credit - expected).abs() < 1e-9, "{v:?}");
    let table = notes(&ev);
    for cell in [
        "GET /weak/me | alg-none | 200",
        "GET /weak/me | alg-none-upper | 200",
        "GET /weak/me | expired | 200",
        "GET /weak/me | no-exp | 200",
        "GET /weak/me | unknown-subject | 200",
    ] {
        assert!(table.contains(cell), "{cell} missing from {table}");
    }
    assert!(!table.contains("/strict/me |"), "{table}");
    let exchanges = ev
        .iter()
        .filter(|e| matches!(e, Evidence::Exchange { .. }))
        .count();
    assert_eq!(exchanges, 6, "only the failing cells' exchanges are kept");
}

#[tokio::test]
async fn auth_matrix_accepts_a_lesser_reading_for_its_credit() {
    let s = server().await;
    let matrix =
        "auth_matrix:\n  endpoints:\n    - {method: GET, path: /forbidding/me, auth: alice}\n";
    // Without `partial`, 403 everywhere fails every cell.
    let (v, _) = check(&s, matrix).await;
    assert_eq!((v.status, v.credit), (Status::Fail, 0.0), "{v:?}");
    // With it, every cell holds as a lesser reading, named in the evidence (a few, then
    // counted); the run turns the pass into partial credit (see kinds_tolerance).
    let fixture = Fixture::http(s.url());
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let spec: SecurityCheck = spec(&format!(
        "{matrix}  partial: [{{expect: {{status: 403}}, credit: 0.5, why: \"403 where 401 is asked\"}}]\n"
    ));
    let spec = spec.into_probe().expect("the check sets exactly one probe");
    let v = security::run(&mut cx, &spec).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(cx.evidence.lesser_credit(), Some(0.5));
    let ev = notes(&cx.evidence.take());
    assert!(ev.contains("lesser reading accepted for GET /forbidding/me with a `missing` token (credit 0.5): 403 where 401 is asked"), "{ev}");
    assert!(ev.contains("6 more lesser readings were accepted"), "{ev}");
    // A cell that answers neither 401 nor 403 still fails: the weak service lets alg-none in.
    let weak = "auth_matrix:\n  endpoints:\n    - {method: GET, path: /weak/me, auth: alice}\n  partial: [{expect: {status: 403}, credit: 0.5, why: \"403\"}]\n";
    let (v, _) = check(&s, weak).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
}

#[tokio::test]
async fn auth_matrix_with_chosen_tokens() {
    let s = server().await;
    let (v, _) = check(
        &s,
        "auth_matrix:\n  tokens: [missing, malformed, wrong-key]\n  endpoints:\n    - {method: GET, path: /weak/me, auth: bob}\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(v.message.contains("all 3 attempts"), "{}", v.message);
}

// ----- ownership -----------------------------------------------------------------------

const OWNERSHIP: &str = r#"
ownership:
  before:
    - request: {method: POST, path: /accounts, auth: alice}
      expect: {status: 201}
      capture: {acct: "$.id"}
  requests:
    - {method: GET, path: "/MODE/accounts/{{ acct }}"}
    - {method: POST, path: "/MODE/accounts/{{ acct }}/deposits", json: {amount: "5.00"}}
  intruder: bob
  expect_status: [403, 404]
  after:
    - request: {method: GET, path: "/MODE/accounts/{{ acct }}", auth: alice}
      expect: {status: 200, json: {"$.balance": "0.00"}}
"#;

#[tokio::test]
async fn ownership_holds_when_the_intruder_is_refused() {
    let s = server().await;
    let (v, _) = check(&s, &OWNERSHIP.replace("MODE", "own")).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

#[tokio::test]
async fn ownership_names_the_leaking_requests() {
    let s = server().await;
    let (v, ev) = check(&s, &OWNERSHIP.replace("MODE", "leaky")).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message
            .contains("GET /leaky/accounts/acct-1 as `bob` got 200"),
        "{}",
        v.message
    );
    assert!(
        v.message.contains("deposits as `bob` got 201"),
        "{}",
        v.message
    );
    assert!(
        v.message.contains("afterwards"),
        "the balance changed: {}",
        v.message
    );
    assert!(
        notes(&ev).contains("\"owner_id\":\"user-alice\""),
        "the leaked body is shown"
    );
}

// ----- injection -----------------------------------------------------------------------

fn injection(path: &str, benign: &str, oracles: &str) -> String {
    format!(
        "injection:\n  request: {{method: GET, path: \"{path}\"}}\n  benign: {benign}\n  sleep: 1s\n{oracles}"
    )
}

#[tokio::test]
async fn injection_error_oracle_fires_on_sql_error_text_in_a_path() {
    let s = server().await;
    let (v, ev) = check(
        &s,
        &injection(
            "/vuln-text/items/{{ payload }}",
            "alice",
            "  oracles: [error]\n",
        ),
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("error oracle"), "{}", v.message);
    assert!(
        v.message.contains("unterminated quoted string"),
        "{}",
        v.message
    );
    // The payload went into the path URL-encoded.
    let urls: Vec<&str> = ev
        .iter()
        .filter_map(|e| match e {
            Evidence::Exchange { request, .. } => Some(request.url.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        urls.iter()
            .any(|u| u.ends_with("/vuln-text/items/alice%27")),
        "{urls:?}"
    );
}

#[tokio::test]
async fn injection_error_oracle_fires_on_a_status_only_difference() {
    let s = server().await;
    let (v, _) = check(
        &s,
        &injection(
            "/vuln/search?q={{ payload }}",
            "alice",
            "  oracles: [error]\n",
        ),
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("twice"), "{}", v.message);
}

#[tokio::test]
async fn injection_boolean_oracle_fires_on_a_query_parameter() {
    let s = server().await;
    let (v, ev) = check(
        &s,
        "injection:\n  request: {method: GET, path: /vuln/search, query: {q: \"{{ payload }}\"}}\n  benign: alice\n  oracles: [boolean]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("boolean oracle"), "{}", v.message);
    assert!(notes(&ev).contains("boolean (AND) oracle probes"));
}

#[tokio::test]
async fn injection_boolean_oracle_uses_the_or_variant_when_the_benign_value_finds_nothing() {
    let s = server().await;
    let (v, _) = check(
        &s,
        "injection:\n  request: {method: GET, path: /vuln/search, query: {q: \"{{ payload }}\"}}\n  benign: nobody\n  oracles: [boolean]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("(OR)"), "{}", v.message);
}

#[tokio::test]
async fn injection_time_oracle_fires_on_pg_sleep() {
    let s = server().await;
    let (v, ev) = check(
        &s,
        &injection(
            "/vuln/search?q={{ payload }}",
            "alice",
            "  oracles: [time]\n",
        ),
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("pg_sleep(1)"), "{}", v.message);
    let measured = ev
        .iter()
        .filter(|e| matches!(e, Evidence::Measurement { .. }))
        .count();
    assert!(measured >= 3, "baseline and two payload timings: {ev:?}");
}

#[tokio::test]
async fn injection_through_a_json_body() {
    let s = server().await;
    let (v, _) = check(
        &s,
        "injection:\n  request: {method: POST, path: /vuln/login, json: {email: \"{{ payload }}\", password: x}}\n  benign: alice\n  oracles: [error, boolean]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("error oracle"), "{}", v.message);
}

#[tokio::test]
async fn injection_passes_a_parameterised_service() {
    let s = server().await;
    let (v, ev) = check(&s, &injection("/safe/search?q={{ payload }}", "alice", "")).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(v.message.contains("error, boolean, time"), "{}", v.message);
    let n = notes(&ev);
    assert!(
        n.contains("error oracle clean") && n.contains("time oracle clean"),
        "{n}"
    );
}

#[tokio::test]
async fn injection_does_not_flag_a_500_on_every_quote() {
    let s = server().await;
    let (v, _) = check(
        &s,
        &injection("/safe-500/search?q={{ payload }}", "alice", ""),
    )
    .await;
    assert_eq!(
        v.status,
        Status::Pass,
        "a 500 on the balanced control too is no injection: {v:?}"
    );
}

#[tokio::test]
async fn injection_does_not_flag_a_type_error_shown_for_any_bad_value() {
    let s = server().await;
    let (v, _) = check(
        &s,
        &injection(
            "/safe-uuid/items/{{ payload }}",
            "alice",
            "  oracles: [error, boolean]\n",
        ),
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

// ----- leakage -------------------------------------------------------------------------

#[tokio::test]
async fn leakage_finds_a_stack_trace_and_an_echoed_password() {
    let s = server().await;
    let (v, ev) = check(
        &s,
        r#"
leakage:
  requests:
    - {method: POST, path: /leaky/users, body: '{"email": '}
    - {method: POST, path: /leaky/echo, json: {email: "{{ alice.email }}", password: "{{ alice.password }}"}}
"#,
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("Python stack trace"), "{}", v.message);
    let n = notes(&ev);
    assert!(n.contains("`alice`'s password"), "{n}");
    assert!(n.contains("Alic…"), "the password is redacted: {n}");
    assert!(!n.contains("AlicePw7xQ2mZ9kL"), "{n}");
    assert!(n.contains("/app/main.py"), "{n}");
}

#[tokio::test]
async fn leakage_passes_clean_errors() {
    let s = server().await;
    let (v, _) = check(
        &s,
        "leakage:\n  requests:\n    - {method: POST, path: /clean/users, body: '{\"email\": '}\n    - {method: POST, path: /clean/users, json: {email: x}, pad_to: 70KiB}\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

#[tokio::test]
async fn leakage_applies_forbid_patterns_to_headers() {
    let s = server().await;
    let (v, _) = check(
        &s,
        "leakage:\n  requests:\n    - {method: GET, path: /headers}\n  forbid: [\"internal-build-[0-9]+\"]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("forbidden pattern"), "{}", v.message);
}

// ----- rate_limit ----------------------------------------------------------------------

fn rate_limit(mode: &str) -> String {
    format!(
        r#"
rate_limit:
  request: {{method: POST, path: /{mode}/login, json: {{email: alice@example.test, password: wrong-password}}}}
  allowed: 5
  expect_header: Retry-After
  still_refused: {{method: POST, path: /{mode}/login, json: {{email: alice@example.test, password: right-password-1}}}}
  unaffected:
    request: {{method: POST, path: /{mode}/login, json: {{email: bob@example.test, password: right-password-1}}}}
    expect: {{status: 200}}
"#
    )
}

#[tokio::test]
async fn rate_limit_passes_a_limiter() {
    let s = server().await;
    let (v, ev) = check(&s, &rate_limit("limited")).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(
        notes(&ev).contains("401, 401, 401, 401, 401, 429"),
        "{}",
        notes(&ev)
    );
}

#[tokio::test]
async fn rate_limit_without_retry_after_gets_partial_credit() {
    let s = server().await;
    let (v, _) = check(&s, &rate_limit("limited-noheader")).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!((v.credit - 0.8).abs() < 1e-9, "{v:?}");
    assert!(v.message.contains("Retry-After"), "{}", v.message);
}

#[tokio::test]
async fn rate_limit_fails_without_a_limiter() {
    let s = server().await;
    let (v, _) = check(&s, &rate_limit("unlimited")).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert_eq!(v.credit, 0.0, "{v:?}");
    assert!(
        v.message.contains("no attempt was ever refused"),
        "{}",
        v.message
    );
}

// ----- headers -------------------------------------------------------------------------

#[tokio::test]
async fn headers_credit_is_the_fraction_present() {
    let s = server().await;
    let (v, _) = check(
        &s,
        "headers:\n  request: {method: GET, path: /headers}\n  expect: [X-Content-Type-Options, content-security-policy, Strict-Transport-Security, X-Frame-Options]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!((v.credit - 0.5).abs() < 1e-9, "{v:?}");
    assert!(
        v.message.contains("`Strict-Transport-Security`"),
        "{}",
        v.message
    );
    let (v, _) = check(
        &s,
        "headers:\n  request: {method: GET, path: /headers}\n  expect: [X-Content-Type-Options]\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

#[tokio::test]
async fn a_dead_service_is_a_failure_not_a_panic() {
    let s = server().await;
    let url = s.url();
    drop(s);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fixture = Fixture::http(url);
    let shared = fixture.shared();
    let mut c = cx(&shared);
    let h: SecurityCheck =
        spec("headers:\n  request: {method: GET, path: /headers}\n  expect: [X-Frame-Options]\n");
    let h = h.into_probe().expect("one probe");
    let v = security::run(&mut c, &h).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    let inj: SecurityCheck = spec(&injection("/safe/search?q={{ payload }}", "alice", ""));
    let inj = inj.into_probe().expect("one probe");
    let v = security::run(&mut c, &inj).await;
    assert_eq!(v.status, Status::Error, "nothing could be judged: {v:?}");
}
