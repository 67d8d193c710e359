//! What a load run does: the target, the arrival model, the request mix and the safety caps,
//! and their validation into the prepared form the workers use.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue, TRANSFER_ENCODING};
use http::{Method, Uri};
use serde::{Deserialize, Serialize};

use super::LoadError;
use super::mix::Mix;

/// Requests per second of [`LoadModel::default`].
pub const DEFAULT_RATE_PER_SEC: f64 = 100.0;
/// Connections of [`LoadPlan::new`] (the open model's pool).
pub const DEFAULT_CONNECTIONS: u32 = 16;
/// Warm-up of [`LoadPlan::new`].
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(2);
/// Per-request timeout of [`LoadPlan::new`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where requests go: a socket address and the `Host` header sent with every request.
/// Plain HTTP/1.1 only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header value, e.g. `127.0.0.1:8080`.
    pub host: String,
}

impl Target {
    /// A target with an explicit `Host` header.
    pub fn new(addr: SocketAddr, host: impl Into<String>) -> Self {
        Self {
            addr,
            host: host.into(),
        }
    }

    /// A target whose `Host` header is the address itself.
    pub fn from_addr(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: addr.to_string(),
        }
    }

    /// Parses an `http://host[:port][/]` URL and resolves its host (the first address wins).
    /// `https`, user info and a path other than `/` are refused: request paths belong to the
    /// mix.
    pub async fn resolve(url: &str) -> Result<Target, LoadError> {
        let invalid = |reason: &str| LoadError::InvalidTarget {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(invalid("only plain http:// is supported")),
            None => return Err(invalid("the URL has no scheme; use http://host:port")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the URL has no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user info is not supported"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid(
                "the target is a base URL without a path; paths belong to the request mix",
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let mut addrs =
            tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| LoadError::Resolve {
                    host: host.to_owned(),
                    source: e,
                })?;
        let addr = addrs
            .next()
            .ok_or_else(|| invalid("the host resolved to no address"))?;
        Ok(Target::new(addr, authority.as_str()))
    }
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoadModel {
    /// Arrival rate: requests are scheduled at a constant rate whatever the server does, and
    /// latency counts from each request's intended send time (no coordinated omission).
    /// At most [`LoadPlan::connections`] are in flight; the rest queue for a connection.
    Open { rate_per_sec: f64 },
    /// Concurrency: `concurrency` workers, each on its own connection, each sending its next
    /// request as soon as the previous one completes.
    Closed { concurrency: u32 },
}

impl Default for LoadModel {
    fn default() -> Self {
        LoadModel::Open {
            rate_per_sec: DEFAULT_RATE_PER_SEC,
        }
    }
}

/// One kind of request of the mix, chosen with probability `weight / sum of weights`.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedRequest {
    /// A label for the per-kind breakdown of the report.
    pub name: String,
    pub weight: u32,
    /// An HTTP method, e.g. `GET`.
    pub method: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Extra headers; a `host` header here replaces the target's.
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
}

impl WeightedRequest {
    /// A `GET` of `path` with weight 1.
    pub fn get(name: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            weight: 1,
            method: "GET".to_owned(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// The same request with another weight.
    pub fn weighted(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }
}

/// Caps that keep a run bounded whatever the plan asks and whatever the server does.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadLimits {
    /// Most requests one run sends, warm-up included.
    pub max_requests: u64,
    /// Most connections (open model) or workers (closed model).
    pub max_connections: u32,
    /// Highest open-model rate accepted.
    pub max_rate_per_sec: f64,
    /// Longest warm-up plus duration accepted.
    pub max_run: Duration,
    /// Response body bytes read at most; a longer body fails the request (`body_too_large`)
    /// and closes its connection.
    pub body_cap: usize,
    /// Largest response head (status line and headers) accepted.
    pub max_header_bytes: usize,
    /// Extra time past warm-up + duration + request timeout before in-flight work is
    /// abandoned (a backstop: every request already has its own timeout).
    pub grace: Duration,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_requests: 20_000_000,
            max_connections: 1024,
            max_rate_per_sec: 1_000_000.0,
            max_run: Duration::from_secs(30 * 60),
            body_cap: 4 << 20,
            max_header_bytes: 64 << 10,
            grace: Duration::from_secs(2),
        }
    }
}

/// Everything one load run needs. Independent of any assessment format.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    pub target: Target,
    pub model: LoadModel,
    /// Load sent before measuring, on the same connections; counted apart
    /// ([`super::LoadReport::warmup`]), not in the figures.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Connections of the open model (ignored by the closed model, which opens one per
    /// worker).
    pub connections: u32,
    pub mix: Vec<WeightedRequest>,
    /// Each request, connecting included, fails as `timeout` past this.
    pub request_timeout: Duration,
    /// Seeds the choice of request kinds: the same seed gives the same sequence.
    pub seed: u64,
    pub limits: LoadLimits,
}

impl LoadPlan {
    /// A plan with default warm-up, connections, timeout, seed 0 and default limits.
    pub fn new(
        target: Target,
        model: LoadModel,
        duration: Duration,
        mix: Vec<WeightedRequest>,
    ) -> Self {
        Self {
            target,
            model,
            warmup: DEFAULT_WARMUP,
            duration,
            connections: DEFAULT_CONNECTIONS,
            mix,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            seed: 0,
            limits: LoadLimits::default(),
        }
    }

    /// Workers the run starts: the open model's connections or the closed model's
    /// concurrency.
    pub fn workers(&self) -> u32 {
        match self.model {
            LoadModel::Open { .. } => self.connections,
            LoadModel::Closed { concurrency } => concurrency,
        }
    }

    /// Checks the plan and builds the per-kind requests once.
    pub(crate) fn prepare(&self) -> Result<Prepared, LoadError> {
        let invalid = |reason: String| Err(LoadError::InvalidPlan(reason));
        let limits = &self.limits;
        if self.duration.is_zero() {
            return invalid("the duration must be positive".to_owned());
        }
        if self.warmup.saturating_add(self.duration) > limits.max_run {
            return invalid(format!(
                "warm-up plus duration exceed the {} s cap",
                limits.max_run.as_secs()
            ));
        }
        if self.request_timeout.is_zero() {
            return invalid("the request timeout must be positive".to_owned());
        }
        if let LoadModel::Open { rate_per_sec } = self.model
            && !(rate_per_sec.is_finite()
                && rate_per_sec > 0.0
                && rate_per_sec <= limits.max_rate_per_sec)
        {
            return invalid(format!(
                "the rate must be a number in (0, {}] requests/s, not {rate_per_sec}",
                limits.max_rate_per_sec
            ));
        }
        let workers = self.workers();
        if workers == 0 || workers > limits.max_connections {
            return invalid(format!(
                "connections/concurrency must be in 1..={}, not {workers}",
                limits.max_connections
            ));
        }
        if self.mix.is_empty() {
            return invalid("the request mix is empty".to_owned());
        }
        let mix = Mix::new(self.mix.iter().map(|r| r.weight))
            .ok_or_else(|| LoadError::InvalidPlan("every weight of the mix is 0".to_owned()))?;
        let host = HeaderValue::from_str(&self.target.host).map_err(|_| {
            LoadError::InvalidPlan(format!("`{}` is not a valid Host header", self.target.host))
        })?;
        let requests = self
            .mix
            .iter()
            .map(|r| PreparedRequest::new(r, &host))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Prepared {
            addr: self.target.addr,
            model: self.model,
            warmup: self.warmup,
            duration: self.duration,
            workers,
            request_timeout: self.request_timeout,
            seed: self.seed,
            body_cap: limits.body_cap,
            max_requests: limits.max_requests,
            grace: limits.grace,
            requests,
            mix,
            max_header_bytes: limits.max_header_bytes,
        })
    }
}

/// A validated plan, shared by the workers.
pub(crate) struct Prepared {
    pub addr: SocketAddr,
    pub model: LoadModel,
    pub warmup: Duration,
    pub duration: Duration,
    pub workers: u32,
    pub request_timeout: Duration,
    pub seed: u64,
    pub body_cap: usize,
    pub max_requests: u64,
    pub grace: Duration,
    pub requests: Vec<PreparedRequest>,
    pub mix: Mix,
    /// Largest response head accepted.
    pub max_header_bytes: usize,
}

/// One request kind, validated and serialised once: what goes on the wire, byte for byte.
pub(crate) struct PreparedRequest {
    /// Request line, headers, blank line and body.
    pub bytes: Bytes,
    /// A `HEAD` request: its response has no body whatever its headers say.
    pub head_only: bool,
}

impl PreparedRequest {
    fn new(r: &WeightedRequest, host: &HeaderValue) -> Result<Self, LoadError> {
        let invalid = |reason: String| LoadError::InvalidRequest {
            name: r.name.clone(),
            reason,
        };
        let method = Method::from_bytes(r.method.as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", r.method)))?;
        if !r.path.starts_with('/') {
            return Err(invalid(format!(
                "the path `{}` must start with `/`",
                r.path
            )));
        }
        // Parsing refuses what cannot go on a request line (spaces, control characters).
        let uri: Uri = r
            .path
            .parse()
            .map_err(|_| invalid(format!("`{}` is not a valid path", r.path)))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut host = host.clone();
        let mut headers = Vec::with_capacity(r.headers.len());
        for (name, value) in &r.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of header `{name}` is not valid")))?;
            if name == HOST {
                host = value;
            } else if name == TRANSFER_ENCODING {
                return Err(invalid(
                    "`transfer-encoding` is not supported: bodies are sent whole".to_owned(),
                ));
            } else if name != CONTENT_LENGTH {
                // `content-length` is always the body's own (below).
                headers.push((name, value));
            }
        }
        let body = r.body.clone().unwrap_or_default();
        // As hyper does: no length for an empty body of a method that defines no body.
        let length = !body.is_empty()
            || !matches!(
                method,
                Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
            );

        let mut bytes = Vec::with_capacity(64 + path.len() + body.len());
        bytes.extend_from_slice(method.as_str().as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(path.as_bytes());
        bytes.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        bytes.extend_from_slice(host.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        for (name, value) in &headers {
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        if length {
            bytes.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&body);
        Ok(Self {
            bytes: Bytes::from(bytes),
            head_only: method == Method::HEAD,
        })
    }
}
