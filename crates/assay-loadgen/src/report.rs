//! What a load run measured: counts, statuses, throughput, and latency percentiles both
//! corrected for coordinated omission and uncorrected, overall and per request kind.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::plan::LoadModel;

/// Why a request failed without a usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No response within the request timeout (connecting included).
    Timeout,
    /// The connection could not be opened.
    Connect,
    /// The connection was closed or reset before a complete response.
    Closed,
    /// The response could not be parsed as HTTP/1.1.
    Protocol,
    /// The response body was longer than the cap.
    BodyTooLarge,
    /// A complete response with a 5xx status.
    Status5xx,
}

/// Failed requests by cause. 4xx responses are not here: see [`LoadReport::client_errors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub timeout: u64,
    pub connect: u64,
    pub closed: u64,
    pub protocol: u64,
    pub body_too_large: u64,
    pub status_5xx: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.timeout
            + self.connect
            + self.closed
            + self.protocol
            + self.body_too_large
            + self.status_5xx
    }

    pub(crate) fn add(&mut self, kind: ErrorKind) {
        let slot = match kind {
            ErrorKind::Timeout => &mut self.timeout,
            ErrorKind::Connect => &mut self.connect,
            ErrorKind::Closed => &mut self.closed,
            ErrorKind::Protocol => &mut self.protocol,
            ErrorKind::BodyTooLarge => &mut self.body_too_large,
            ErrorKind::Status5xx => &mut self.status_5xx,
        };
        *slot += 1;
    }

    pub(crate) fn merge(&mut self, other: &ErrorCounts) {
        self.timeout += other.timeout;
        self.connect += other.connect;
        self.closed += other.closed;
        self.protocol += other.protocol;
        self.body_too_large += other.body_too_large;
        self.status_5xx += other.status_5xx;
    }
}

/// Latency percentiles in milliseconds (microsecond resolution, 3 significant digits).
/// All zero when nothing was recorded (`samples == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Requests recorded: every response (any status) and every timeout (at the time it
    /// was given up, a lower bound). Connection failures, which fail fast, are not.
    pub samples: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Percentiles {
    pub(crate) fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            samples: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// The figures of one request kind of the mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindReport {
    pub name: String,
    pub requests: u64,
    pub ok: u64,
    pub client_errors: u64,
    pub errors: ErrorCounts,
    pub statuses: BTreeMap<u16, u64>,
    pub latency: Percentiles,
    pub uncorrected: Percentiles,
}

/// Counts of the warm-up, which are not part of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PhaseCounts {
    pub requests: u64,
    pub ok: u64,
    pub client_errors: u64,
    pub errors: u64,
    /// Open model: warm-up requests still queued when the measured window opened, dropped
    /// so that an overloaded warm-up does not eat into the window.
    pub unsent: u64,
}

/// What a load run measured (the warm-up excluded).
///
/// `requests = ok + client_errors + errors.total()`. A request is `ok` with a 1xx–3xx
/// status, a client error with 4xx, an error with 5xx or without a complete response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub model: LoadModel,
    /// Connections (open model) or workers (closed model) used.
    pub connections: u32,
    /// Open model: requests scheduled in the measured window. Closed model: requests sent.
    pub scheduled: u64,
    /// Open model: scheduled requests still waiting for a connection when the window
    /// closed, never sent (the server could not keep up). Always 0 for the closed model.
    pub unsent: u64,
    /// Requests sent in the measured window.
    pub requests: u64,
    pub ok: u64,
    pub client_errors: u64,
    pub errors: ErrorCounts,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Complete responses (any status) per second of the measured window.
    pub throughput_rps: f64,
    /// The measured window in seconds: the planned duration, or longer when the last
    /// measured response came after it.
    pub duration_secs: f64,
    /// Latency as a client sees it. Open model: from each request's intended send time, so
    /// time spent queued behind a slow server counts (no coordinated omission). Closed
    /// model: the same as `uncorrected`.
    pub latency: Percentiles,
    /// Service time: from the moment the request was actually sent (reconnecting included)
    /// to the end of its response body.
    pub uncorrected: Percentiles,
    /// Per request kind, in the order of the mix.
    pub kinds: Vec<KindReport>,
    pub warmup: PhaseCounts,
    /// The measured window's latency in equal parts, in order (responses and timeouts due
    /// in each part).
    pub windows: Vec<Percentiles>,
    /// The run hit its overall deadline and abandoned work in flight (a backstop that a
    /// correct run never reaches).
    pub hit_deadline: bool,
}

/// Fewer latencies than this in a part and the parts are not compared: the whole
/// window's figures stand.
pub const MIN_WINDOW_REQUESTS: u64 = 30;

impl LoadReport {
    /// The latency a verdict rests on: each percentile's median over the window's parts
    /// when every part has enough requests (one stalled part of the host does not move
    /// it), else the whole window's.
    pub fn steady_latency(&self) -> (Percentiles, bool) {
        let enough = self.windows.len() >= 3
            && self
                .windows
                .iter()
                .all(|w| w.samples >= MIN_WINDOW_REQUESTS);
        if !enough {
            return (self.latency, false);
        }
        let median = |f: fn(&Percentiles) -> f64| {
            let mut v: Vec<f64> = self.windows.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        (
            Percentiles {
                p50_ms: median(|p| p.p50_ms),
                p90_ms: median(|p| p.p90_ms),
                p95_ms: median(|p| p.p95_ms),
                p99_ms: median(|p| p.p99_ms),
                max_ms: self.latency.max_ms,
                ..self.latency
            },
            true,
        )
    }

    /// Failed requests over requests sent, in 0..=1 (0 when none was sent).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors.total() as f64 / self.requests as f64
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadPhase {
    Warmup,
    Measuring,
    /// The window has closed; requests in flight are completing.
    Draining,
    Done,
}

/// A live snapshot, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadProgress {
    pub phase: LoadPhase,
    /// Seconds since the run started (warm-up included).
    pub elapsed_secs: f64,
    /// Seconds planned for warm-up plus duration.
    pub planned_secs: f64,
    /// Requests completed so far, warm-up included.
    pub completed: u64,
    /// Of which failed (5xx or no complete response).
    pub errors: u64,
    /// Completions per second since the previous snapshot.
    pub current_rps: f64,
}
