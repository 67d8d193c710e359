//! Shared helpers of the `kinds_*` tests: a local HTTP test server (127.0.0.1, random
//! port) driven by a plain function, a `Service` over it, an in-memory `RepoView`, and the
//! assessment/`Shared`/`CheckCx` plumbing a check kind needs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use assay_engine::context::{CheckCx, EngineConfig, EvidenceLog, JwtConfig, Shared};
use assay_engine::http::Client;
use assay_engine::vars::Vars;
use assay_engine::{ControlError, RepoCommit, RepoFile, RepoView, Service, StopReport};
use assay_format::{Assessment, AssessmentFile, TokenKind};
use assay_model::Evidence;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;

/// The HMAC secret the test "service" verifies tokens with.
pub const JWT_SECRET: &str = "kinds-test-secret-0123456789abcdef";

/// A request as the test server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path without the query, percent-decoded.
    pub path: String,
    /// Query parameters, percent-decoded.
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Req {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn bearer(&self) -> Option<&str> {
        self.headers
            .get("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
    }
}

/// What the test server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: v.to_string(),
            delay: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.to_owned(),
            delay: None,
        }
    }

    pub fn error(status: u16, code: &str) -> Self {
        Self::json(
            status,
            json!({"error": {"code": code, "message": code.replace('_', " ")}}),
        )
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn after(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }
}

type Handler = Arc<dyn Fn(Req) -> Reply + Send + Sync>;

/// A local HTTP/1 server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(handler: impl Fn(Req) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let handler: Handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (path, query) = match parts.uri.path_and_query() {
                                Some(pq) => (pq.path().to_owned(), pq.query().unwrap_or("")),
                                None => ("/".to_owned(), ""),
                            };
                            let req = Req {
                                method: parts.method.to_string(),
                                path: decode(&path),
                                query: query
                                    .split('&')
                                    .filter(|kv| !kv.is_empty())
                                    .map(|kv| match kv.split_once('=') {
                                        Some((k, v)) => (decode(k), decode(v)),
                                        None => (decode(kv), String::new()),
                                    })
                                    .collect(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.as_str().to_ascii_lowercase(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect(),
                                body: String::from_utf8_lossy(&body).into_owned(),
                            };
                            let reply = handler(req);
                            if let Some(d) = reply.delay {
                                tokio::time::sleep(d).await;
                            }
                            let mut resp = hyper::Response::builder().status(reply.status);
                            for (k, v) in &reply.headers {
                                resp = resp.header(k.as_str(), v.as_str());
                            }
                            let resp = resp
                                .body(Full::new(Bytes::from(reply.body)))
                                .expect("a valid test response");
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Percent-decoding (`+` stays `+`).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// A `Service` over a base URL; lifecycle operations are not available.
#[derive(Debug, Clone)]
pub struct TestService {
    pub base: String,
    pub sidecar: Option<SocketAddr>,
}

#[async_trait::async_trait]
impl Service for TestService {
    fn base_url(&self) -> String {
        self.base.clone()
    }
    fn sidecar_addr(&self, _name: &str, _port: u16) -> Option<SocketAddr> {
        self.sidecar
    }
    fn startup_seconds(&self) -> Option<f64> {
        None
    }
    async fn stop(&self, _grace: Duration) -> Result<StopReport, ControlError> {
        Err(ControlError("not available in tests".into()))
    }
    async fn start(&self) -> Result<bool, ControlError> {
        Err(ControlError("not available in tests".into()))
    }
    async fn peak_memory(&self) -> Option<u64> {
        None
    }
    async fn logs(&self, _cap: usize) -> String {
        String::new()
    }
    async fn is_running(&self) -> bool {
        true
    }
}

/// A commit of a [`MemRepo`]: its subject and the full tree after it.
#[derive(Debug, Clone)]
pub struct MemCommit {
    pub subject: String,
    pub tree: BTreeMap<String, String>,
}

/// An in-memory repository: a working tree and a linear history (oldest first here).
#[derive(Debug, Clone, Default)]
pub struct MemRepo {
    /// Path → (content, tracked).
    pub files: BTreeMap<String, (Vec<u8>, bool)>,
    /// None: no git repository.
    pub history: Option<Vec<MemCommit>>,
    pub image_root: Option<bool>,
}

impl MemRepo {
    /// A repository whose working tree is the last commit's tree, every file tracked.
    pub fn from_history(commits: Vec<MemCommit>) -> Self {
        let files = commits
            .last()
            .map(|c| {
                c.tree
                    .iter()
                    .map(|(p, t)| (p.clone(), (t.clone().into_bytes(), true)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            files,
            history: Some(commits),
            image_root: None,
        }
    }

    /// A plain folder: no git repository.
    pub fn folder(files: &[(&str, &str)]) -> Self {
        Self {
            files: files
                .iter()
                .map(|(p, t)| ((*p).to_owned(), (t.as_bytes().to_vec(), false)))
                .collect(),
            history: None,
            image_root: None,
        }
    }

    fn commit_id(i: usize) -> String {
        format!("{:040x}", i + 1)
    }
}

/// A commit with `files` (path, content) on top of `base`'s tree.
pub fn commit(subject: &str, base: Option<&MemCommit>, files: &[(&str, &str)]) -> MemCommit {
    let mut tree = base.map(|b| b.tree.clone()).unwrap_or_default();
    for (p, t) in files {
        tree.insert((*p).to_owned(), (*t).to_owned());
    }
    MemCommit {
        subject: subject.to_owned(),
        tree,
    }
}

impl RepoView for MemRepo {
    fn files(&self) -> Vec<RepoFile> {
        self.files
            .iter()
            .map(|(p, (b, tracked))| RepoFile {
                path: p.clone(),
                size: b.len() as u64,
                tracked: *tracked,
            })
            .collect()
    }
    fn read(&self, path: &str, cap: usize) -> Option<Vec<u8>> {
        self.files
            .get(path)
            .map(|(b, _)| b.iter().take(cap).copied().collect())
    }
    fn commits(&self) -> Result<Vec<RepoCommit>, String> {
        let Some(h) = &self.history else {
            return Err("not a git repository".into());
        };
        let mut out = Vec::new();
        for (i, c) in h.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|j| h.get(j));
            let changed = c
                .tree
                .iter()
                .filter(|(p, t)| prev.and_then(|b| b.tree.get(*p)) != Some(*t))
                .map(|(p, _)| p.clone())
                .chain(
                    prev.into_iter()
                        .flat_map(|b| b.tree.keys())
                        .filter(|p| !c.tree.contains_key(*p))
                        .cloned(),
                )
                .collect();
            out.push(RepoCommit {
                id: Self::commit_id(i),
                author: "Candidate <c@example.test>".into(),
                time: "2025-01-01T00:00:00Z".into(),
                subject: c.subject.clone(),
                body: String::new(),
                files: changed,
            });
        }
        out.reverse();
        Ok(out)
    }
    fn history_paths(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .history
            .iter()
            .flatten()
            .flat_map(|c| c.tree.keys().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
    fn history_blob(&self, commit: &str, path: &str, cap: usize) -> Option<Vec<u8>> {
        let h = self.history.as_ref()?;
        let i = (0..h.len()).find(|i| Self::commit_id(*i) == commit)?;
        h[i].tree
            .get(path)
            .map(|t| t.as_bytes().iter().take(cap).copied().collect())
    }
    fn image_runs_as_root(&self) -> Option<bool> {
        self.image_root
    }
}

/// The assessment.yaml used by every kinds test (parsed, not validated).
pub const ASSESSMENT: &str = r#"
id: kinds-test
version: "1"
title: Kinds test
brief: brief.md
service:
  port: 8080
  health:
    path: /healthz
  request_timeout: 5s
sidecars:
  db:
    image: assay/postgres:15
    ready: ["pg_isready"]
secrets: [db_password, jwt]
database:
  sidecar: db
  user: "{{ secret.db_user }}"
  password: "{{ secret.db_password }}"
  dbname: "{{ secret.db_name }}"
jwt:
  secret: "{{ secret.jwt }}"
profiles:
  default:
    title: Default
    pass_mark: 50
    weights: {}
default_profile: default
suites: []
"#;

pub fn assessment() -> Assessment {
    let file: AssessmentFile = serde_saphyr::from_str(ASSESSMENT).expect("test assessment parses");
    Assessment {
        dir: std::path::PathBuf::from("."),
        file,
        suites: vec![],
    }
}

/// Parses a YAML snippet into a spec type.
pub fn spec<T: serde::de::DeserializeOwned>(yaml: &str) -> T {
    serde_saphyr::from_str(yaml).expect("test spec parses")
}

/// A principal with a valid token minted with [`JWT_SECRET`].
pub fn principal(name: &str, id: &str, password: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header =
        assay_engine::jwt::authorization(TokenKind::Valid, JWT_SECRET, "sub", id, now, 3600)
            .expect("a valid token");
    let token = header.trim_start_matches("Bearer ").to_owned();
    json!({"name": name, "email": format!("{name}@example.test"), "password": password, "id": id, "token": token})
}

/// Alice and Bob, the two principals of every test.
pub fn principals() -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert(
        "alice".to_owned(),
        principal("alice", "user-alice", "AlicePw7xQ2mZ9kL"),
    );
    m.insert(
        "bob".to_owned(),
        principal("bob", "user-bob", "BobPw3vN8rT5wY1c"),
    );
    m
}

/// Everything a check needs, owned.
pub struct Fixture {
    pub assessment: Assessment,
    pub base: String,
    pub sidecar: Option<SocketAddr>,
    pub repo: Option<Arc<dyn RepoView>>,
    pub secrets: BTreeMap<String, String>,
    /// The checks' own database role, as the runner gives it (None: `database.user`).
    pub database_login: Option<assay_engine::DatabaseLogin>,
}

impl Fixture {
    pub fn http(base: String) -> Self {
        Self {
            assessment: assessment(),
            base,
            sidecar: None,
            repo: None,
            secrets: BTreeMap::new(),
            database_login: None,
        }
    }

    pub fn repo(repo: MemRepo) -> Self {
        Self {
            assessment: assessment(),
            base: "http://127.0.0.1:9".into(),
            sidecar: None,
            repo: Some(Arc::new(repo)),
            secrets: BTreeMap::new(),
            database_login: None,
        }
    }

    pub fn shared(&self) -> Shared<'_> {
        Shared {
            assessment: &self.assessment,
            service: Arc::new(TestService {
                base: self.base.clone(),
                sidecar: self.sidecar,
            }),
            client: Client::new(&self.base).expect("client"),
            config: EngineConfig {
                seed: 7,
                run_id: "kinds".into(),
                test_mode: true,
                secrets: self.secrets.clone(),
                only: None,
                unavailable: None,
                database_login: self.database_login.clone(),
                lane: None,
            },
            jwt: Some(JwtConfig {
                secret: JWT_SECRET.into(),
                subject_claim: "sub".into(),
                ttl: Duration::from_secs(3600),
                claims: assay_format::JwtClaims::Minted,
            }),
            request_timeout: Duration::from_secs(5),
            principals: principals(),
            repo: self.repo.clone(),
            progress: None,
        }
    }
}

/// A check context with the principals and secrets in scope.
pub fn cx<'s, 'a>(shared: &'s Shared<'a>) -> CheckCx<'s, 'a> {
    let mut vars = Vars::new(7, "kinds");
    for (name, p) in &shared.principals {
        vars.set(name, p.clone());
    }
    let secrets: serde_json::Map<String, Value> = shared
        .config
        .secrets
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    vars.set("secret", Value::Object(secrets));
    CheckCx {
        shared,
        vars,
        evidence: EvidenceLog::default(),
        check_id: "kinds-test".into(),
    }
}

/// Every note's text, joined.
pub fn notes(evidence: &[Evidence]) -> String {
    evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Note { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ----- JWT verification for the test server ------------------------------------------

/// How strictly the test server checks tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strictness {
    /// Signature, `alg`, `exp` and subject all verified.
    Strict,
    /// Accepts `alg: none` in any spelling, missing `exp` and unknown subjects.
    Weak,
}

/// The user id a bearer token authenticates, if any.
pub fn verify(token: Option<&str>, strictness: Strictness, known: &[&str]) -> Option<String> {
    let token = token?;
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let sub = claims.get("sub").and_then(Value::as_str)?.to_owned();
    if strictness == Strictness::Weak && alg.eq_ignore_ascii_case("none") {
        return Some(sub);
    }
    if alg != "HS256" {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
    mac.verify_slice(&sig).ok()?;
    if strictness == Strictness::Weak {
        return Some(sub);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let exp = claims.get("exp").and_then(Value::as_i64)?;
    if exp <= now || !known.contains(&sub.as_str()) {
        return None;
    }
    Some(sub)
}
