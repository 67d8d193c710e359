//! Tolerance features end to end, through `assay_engine::run` on an assessment loaded
//! (and validated) from YAML, against a local Conduit-like server in two variants: a
//! strict one that follows the contract, and a lax one that answers with lesser or wrong
//! readings (403 for 401, a wrong error shape, a 5xx with a stack trace, the password in
//! the registration answer). Covers shapes, sets, `auth_scheme`, crafted tokens from the
//! service's own claims, partial credit, and the run-wide `never` checks.

mod kinds_common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assay_engine::{EngineConfig, run};
use assay_model::{CheckOutcome, Evidence, Status};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use kinds_common::{JWT_SECRET, Reply, Req, TestServer, TestService};
use serde_json::{Value, json};
use sha2::Sha256;

const ASSESSMENT: &str = r#"
id: tolerance
version: "1"
title: Tolerance
brief: brief.md
service:
  port: 8080
  health: {path: /api/tags}
  request_timeout: 5s
  auth_scheme: Token
secrets: [jwt]
jwt:
  secret: "{{ secret.jwt }}"
  claims: login
shapes:
  error:
    object:
      errors: {map: {list: string, min: 1}, min: 1}
  profile:
    object: {username: string, bio: string?, following: boolean}
  article:
    object:
      slug: string
      "body?": string
      tagList: {list: string}
      author: profile
principals:
  names: [alice]
  register:
    - request:
        method: POST
        path: /api/users
        json: {user: {username: "{{ principal.name }}", email: "{{ principal.email }}", password: "{{ principal.password }}"}}
      expect: {status: [201, 200], json: {"$.user": {shape: {object: {token: string}}}}}
  login:
    - request:
        method: POST
        path: /api/users/login
        json: {user: {email: "{{ principal.email }}", password: "{{ principal.password }}"}}
      expect: {status: 200}
      capture: {token: "$.user.token"}
profiles:
  default: {title: Default, pass_mark: 50, weights: {security: 1, api-design: 1}}
default_profile: default
suites: [suites/main.yaml]
"#;

const SUITE: &str = r#"
suite: main
title: Main
checks:
  # Run-wide checks are written first on purpose: they are judged after everything else
  # and still reported in their place.
  - id: never-5xx
    title: No 5xx in the run
    skills: {api-design: 1}
    never: {server_error: true}
  - id: never-leaks
    title: No stack trace or SQL in the run
    skills: {security: 1}
    never: {leak: true}
  - id: never-password
    title: No password or hash in any response
    skills: {security: 1}
    critical: [security]
    never:
      reveal: ["{{ alice.password }}"]
      hashes: true
  - id: auth-required
    title: A missing token gets 401
    skills: {security: 1}
    critical: [security]
    http:
      - request: {method: GET, path: /api/user}
        expect: {status: 401, shape: error}
        partial:
          - expect: {status: 403, shape: error}
            credit: 0.5
            why: "403 where 401 is asked: a common framework default"
  - id: token-scheme
    title: The service's own token, sent with the Token scheme
    skills: {security: 1}
    http:
      - request: {method: GET, path: /api/user, auth: alice}
        expect: {status: 200, json: {"$.user.username": alice}}
  - id: crafted-from-claims
    title: Tokens crafted from the service's own claims
    skills: {security: 1}
    http:
      - request: {method: GET, path: /api/user, auth: {token: valid, as: alice}}
        expect: {status: 200}
      - request: {method: GET, path: /api/user, auth: {token: expired, as: alice}}
        expect: {status: 401}
  - id: article-shape
    title: An article has the article shape, tags compared as a set
    skills: {api-design: 1}
    http:
      - request: {method: GET, path: /api/articles/first}
        expect:
          status: 200
          json:
            "$.article": {shape: article}
            "$.article.tagList": {set: [dragons, training]}
  - id: boom
    title: A request that some services answer with a crash
    skills: {api-design: 1}
    http:
      - request: {method: POST, path: /api/articles, auth: alice, json: {article: {}}}
        expect: {status: 422, shape: error}
"#;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Variant {
    Strict,
    Lax,
}

fn sign(claims: &Value) -> String {
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string().as_bytes());
    let input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "typ": "JWT"})),
        b64(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).expect("key");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The username a `Token` header authenticates: HS256 with the secret, not expired, and
/// claims laid out as `{"user": {"username": …}}` (not `sub`).
fn authenticated(req: &Req) -> Option<String> {
    let token = req.headers.get("authorization")?.strip_prefix("Token ")?;
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    if header.get("alg")? != "HS256" {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if claims.get("exp")?.as_i64()? <= now {
        return None;
    }
    claims
        .pointer("/user/username")?
        .as_str()
        .map(str::to_owned)
}

/// What the server remembers: the last password registered, email → username.
#[derive(Default)]
struct Users {
    password: String,
    names: BTreeMap<String, String>,
}

fn conduit(variant: Variant, users: Arc<Mutex<Users>>) -> impl Fn(Req) -> Reply {
    move |req: Req| {
        let lax = variant == Variant::Lax;
        let refuse =
            |status: u16| Reply::json(status, json!({"errors": {"token": ["is missing"]}}));
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/api/users") => {
                let body = req.json().unwrap_or_default();
                let user = &body["user"];
                if let Ok(mut u) = users.lock() {
                    u.password = user["password"].as_str().unwrap_or_default().to_owned();
                    let email = user["email"].as_str().unwrap_or_default().to_owned();
                    let name = user["username"].as_str().unwrap_or_default().to_owned();
                    u.names.insert(email, name);
                }
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let token =
                    sign(&json!({"user": {"username": user["username"]}, "exp": now + 3600}));
                let mut answer = json!({"user": {"username": user["username"], "email": user["email"], "token": token, "bio": null}});
                if lax {
                    // Echoes what it stored: the password, and a bcrypt hash of it.
                    answer["user"]["password"] = user["password"].clone();
                    answer["user"]["hash"] =
                        json!("$2b$12$KIXQJ8zC1y4s0m5eW3qZ7u1fZk2Qy0w8Yk9bq3xV1oN2pR4sT6uWa");
                }
                Reply::json(201, answer)
            }
            ("POST", "/api/users/login") => {
                let body = req.json().unwrap_or_default();
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let email = body["user"]["email"].as_str().unwrap_or_default();
                let username = users
                    .lock()
                    .ok()
                    .and_then(|u| u.names.get(email).cloned())
                    .unwrap_or_default();
                let token = sign(&json!({"user": {"username": username}, "exp": now + 3600}));
                Reply::json(200, json!({"user": {"username": username, "token": token}}))
            }
            ("GET", "/api/user") => match authenticated(&req) {
                Some(u) => Reply::json(200, json!({"user": {"username": u}})),
                None if lax => refuse(403),
                None => refuse(401),
            },
            ("GET", "/api/articles/first") => Reply::json(
                200,
                json!({"article": {
                    "slug": "first",
                    "tagList": ["training", "dragons"],
                    "author": {"username": "alice", "bio": if lax { json!(5) } else { Value::Null }, "following": false}
                }}),
            ),
            ("POST", "/api/articles") if lax => Reply::text(
                500,
                "Traceback (most recent call last):\n  File \"/app/conduit/views.py\", line 12\nKeyError: 'title'",
            ),
            ("POST", "/api/articles") => {
                Reply::json(422, json!({"errors": {"title": ["can't be blank"]}}))
            }
            _ => Reply::json(404, json!({"errors": {"path": ["not found"]}})),
        }
    }
}

async fn grade(variant: Variant) -> (Vec<CheckOutcome>, String) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(dir.path().join("suites")).expect("suites folder");
    std::fs::write(dir.path().join("assessment.yaml"), ASSESSMENT).expect("write");
    std::fs::write(dir.path().join("suites/main.yaml"), SUITE).expect("write");
    std::fs::write(dir.path().join("brief.md"), "# Brief\n").expect("write");
    let assessment = assay_format::load(dir.path()).unwrap_or_else(|d| panic!("{d}"));

    let users = Arc::new(Mutex::new(Users::default()));
    let server = TestServer::start(conduit(variant, users.clone())).await;
    let service = Arc::new(TestService {
        base: server.url(),
        sidecar: None,
    });
    let config = EngineConfig {
        seed: 11,
        run_id: "tolerance".into(),
        test_mode: true,
        secrets: BTreeMap::from([("jwt".to_owned(), JWT_SECRET.to_owned())]),
        only: None,
        unavailable: None,
        database_login: None,
        lane: None,
    };
    let outcomes = tokio::time::timeout(
        Duration::from_secs(60),
        run(&assessment, service, config, None, &|_| {}),
    )
    .await
    .expect("the run finishes")
    .expect("the run runs");
    let pw = users.lock().map(|u| u.password.clone()).unwrap_or_default();
    (outcomes, pw)
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

fn text(evidence: &[Evidence]) -> String {
    evidence
        .iter()
        .map(|e| match e {
            Evidence::Note { text } => text.clone(),
            Evidence::Exchange {
                request, response, ..
            } => format!(
                "{} {} -> {}",
                request.method,
                request.url,
                response.as_ref().map(|r| r.status).unwrap_or(0)
            ),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_strict_service_passes_every_reading() {
    let (outcomes, _) = grade(Variant::Strict).await;
    let ids: Vec<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "never-5xx",
            "never-leaks",
            "never-password",
            "auth-required",
            "token-scheme",
            "crafted-from-claims",
            "article-shape",
            "boom"
        ],
        "never checks are reported in their place"
    );
    for o in &outcomes {
        assert_eq!(
            o.status,
            Status::Pass,
            "{}: {} {}",
            o.id,
            o.message,
            text(&o.evidence)
        );
        assert!(!o.partial, "{}", o.id);
    }
    let n = outcome(&outcomes, "never-5xx");
    assert!(
        text(&n.evidence).contains("exchanges of the run examined"),
        "{}",
        text(&n.evidence)
    );
}

#[tokio::test]
async fn a_lax_service_gets_partial_credit_and_never_findings_with_evidence() {
    let (outcomes, password) = grade(Variant::Lax).await;
    assert!(!password.is_empty());

    // 403 for 401: a lesser reading, half the credit, named, and not a critical failure.
    let a = outcome(&outcomes, "auth-required");
    assert_eq!(
        (a.status, a.credit, a.partial),
        (Status::Fail, 0.5, true),
        "{a:?}"
    );
    let why = text(&a.evidence);
    assert!(
        why.contains("lesser reading accepted") && why.contains("403 where 401"),
        "{why}"
    );
    assert!(a.message.contains("partial credit 0.50"), "{}", a.message);

    // The Token scheme and claims derived from the service's own token work here too.
    assert_eq!(outcome(&outcomes, "token-scheme").status, Status::Pass);
    let c = outcome(&outcomes, "crafted-from-claims");
    assert_eq!(
        c.status,
        Status::Fail,
        "an expired token is refused with 403, not 401"
    );
    assert!(!c.partial);

    // A shape mismatch names the path; the tags still compare as a set.
    let s = outcome(&outcomes, "article-shape");
    assert_eq!(s.status, Status::Fail);
    assert!(
        s.message
            .contains("value.author.bio: expected a string or null, got 5"),
        "{}",
        s.message
    );
    assert!(!s.message.contains("tagList"), "{}", s.message);

    // The run-wide rules: each fails with the offending request as evidence.
    let five = outcome(&outcomes, "never-5xx");
    assert_eq!(five.status, Status::Fail, "{}", five.message);
    assert!(five.message.starts_with("1 of the"), "{}", five.message);
    let ev = text(&five.evidence);
    assert!(ev.contains("POST /api/articles: status 500"), "{ev}");
    assert!(ev.contains("/api/articles -> 500"), "{ev}");

    let leaks = outcome(&outcomes, "never-leaks");
    assert_eq!(leaks.status, Status::Fail);
    assert!(
        text(&leaks.evidence).contains("a Python stack trace"),
        "{}",
        text(&leaks.evidence)
    );

    // The password came back when registering (before the rules were known: scanned later).
    let pw = outcome(&outcomes, "never-password");
    assert_eq!(pw.status, Status::Fail, "{}", pw.message);
    let ev = text(&pw.evidence);
    assert!(ev.contains("POST /api/users:"), "{ev}");
    assert!(ev.contains("`{{ alice.password }}`"), "{ev}");
    assert!(ev.contains("a bcrypt hash"), "{ev}");
    assert!(
        !ev.contains(&password) || ev.contains("\"password\""),
        "excerpts redact the password"
    );
}

#[tokio::test]
async fn acting_on_the_database_where_the_sandbox_cannot_is_our_error() {
    // The test service cannot stop sidecars: the check is an error (we could not judge),
    // never the candidate's failure. The real thing runs in tests/it/sandbox.rs.
    let server = TestServer::start(|_req: Req| Reply::json(200, json!({}))).await;
    let fixture = kinds_common::Fixture::http(server.url());
    let shared = fixture.shared();
    let mut cx = kinds_common::cx(&shared);
    for action in ["database_restart", "database_late"] {
        let spec: assay_format::LifecycleCheck =
            kinds_common::spec(&format!("action: {action}\ndown_for: 1s\n"));
        let v = assay_engine::checks::lifecycle::run(&mut cx, &spec).await;
        assert_eq!(v.status, Status::Error, "{action}: {v:?}");
        assert!(
            v.message.contains("`db`"),
            "{action}: the database sidecar is named: {}",
            v.message
        );
    }
}
