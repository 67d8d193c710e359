//! The engine's HTTP client: every request under a timeout, every body capped, every byte
//! tolerated (invalid UTF-8, endless streams), every exchange recorded as evidence.

mod early;

use std::time::{Duration, Instant};

use assay_model::{Evidence, RequestRecord, ResponseRecord, truncate_text};
use serde_json::Value;

/// Bytes of a response body read at most; the rest is not read.
pub const BODY_READ_CAP: usize = 1 << 20;
/// Bytes of a body kept in evidence.
pub const BODY_EVIDENCE_CAP: usize = 4 << 10;
/// Response headers kept in evidence, and bytes of each value kept (the client itself
/// refuses more than 100 headers or about 400 KiB of them).
pub const HEADERS_KEPT: usize = 32;
pub const HEADER_VALUE_EVIDENCE_CAP: usize = 1 << 10;

/// A request ready to send (templates rendered).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub method: String,
    /// Path and query, e.g. `/v1/accounts?limit=5`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// A response as received (body capped).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub elapsed: Duration,
}

impl Incoming {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Option<Value> {
        if self.truncated {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request: Outgoing,
    pub url: String,
    pub outcome: Result<Incoming, String>,
}

impl Exchange {
    pub fn response(&self) -> Option<&Incoming> {
        self.outcome.as_ref().ok()
    }

    /// This exchange as evidence (bodies capped, text lossy).
    pub fn evidence(&self) -> Evidence {
        let body = self
            .request
            .body
            .as_ref()
            .map(|b| truncate_text(&String::from_utf8_lossy(b), BODY_EVIDENCE_CAP).0);
        let request = RequestRecord {
            method: self.request.method.clone(),
            url: self.url.clone(),
            headers: self.request.headers.clone(),
            body,
        };
        match &self.outcome {
            Ok(r) => {
                let (body, cut) = truncate_text(&r.text(), BODY_EVIDENCE_CAP);
                Evidence::Exchange {
                    request,
                    response: Some(ResponseRecord {
                        status: r.status,
                        headers: evidence_headers(&r.headers),
                        body,
                        body_truncated: cut || r.truncated,
                        elapsed_ms: r.elapsed.as_secs_f64() * 1000.0,
                    }),
                    error: None,
                }
            }
            Err(e) => Evidence::Exchange {
                request,
                response: None,
                error: Some(e.clone()),
            },
        }
    }
}

/// A client bound to the service's base URL.
#[derive(Debug, Clone)]
pub struct Client {
    /// Shared by the clones: a service started again may have a new address
    /// ([`Client::set_base_url`]).
    base: std::sync::Arc<std::sync::RwLock<String>>,
    inner: reqwest::Client,
    /// Where every exchange is recorded for the run-wide checks.
    journal: Option<std::sync::Arc<crate::journal::Journal>>,
}

impl Client {
    pub fn new(base_url: &str) -> Result<Self, String> {
        let inner = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(32)
            // Servers close idle keep-alive connections after a few seconds (gunicorn: 2 s);
            // a request sent as one closes fails through no fault of the service. Idle
            // connections are dropped before that, so requests go on live ones.
            .pool_idle_timeout(Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            base: std::sync::Arc::new(std::sync::RwLock::new(
                base_url.trim_end_matches('/').to_owned(),
            )),
            inner,
            journal: None,
        })
    }

    /// This client, recording every exchange in `journal`.
    #[must_use]
    pub fn with_journal(mut self, journal: std::sync::Arc<crate::journal::Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    pub fn base_url(&self) -> String {
        self.base
            .read()
            .map(|b| b.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Points this client and its clones at `base_url`: the service was started again
    /// and Docker gave it another address (as when its database started after it).
    pub fn set_base_url(&self, base_url: &str) {
        let url = base_url.trim_end_matches('/').to_owned();
        match self.base.write() {
            Ok(mut b) => *b = url,
            Err(p) => *p.into_inner() = url,
        }
    }

    /// Sends `req`; transport failures and timeouts are an `Err` *inside* the exchange:
    /// the candidate's failure is data.
    pub async fn send(&self, req: Outgoing) -> Exchange {
        let url = format!("{}{}", self.base_url(), req.path);
        let outcome = match tokio::time::timeout(req.timeout, self.send_inner(&url, &req)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no complete response within {:.1} s",
                req.timeout.as_secs_f64()
            )),
        };
        let ex = Exchange {
            request: req,
            url,
            outcome,
        };
        if let Some(j) = &self.journal {
            j.record(&ex);
        }
        ex
    }

    async fn send_inner(&self, url: &str, req: &Outgoing) -> Result<Incoming, String> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| format!("bad method: {e}"))?;
        // A large body may be answered (413) before the server read it all: read while
        // writing, so the answer counts whoever was faster.
        if let Some(body) = req
            .body
            .as_deref()
            .filter(|b| b.len() >= early::EARLY_RESPONSE_BODY)
            && let Some(result) = early::send(url, req, body).await
        {
            return result;
        }
        let mut rb = self.inner.request(method, url);
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &req.body {
            rb = rb.body(b.clone());
        }
        let start = Instant::now();
        let mut resp = rb.send().await.map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = BODY_READ_CAP - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(format!("the response body broke off: {}", describe(&e))),
            }
        }
        Ok(Incoming {
            status,
            headers,
            body,
            truncated,
            elapsed: start.elapsed(),
        })
    }
}

/// At most [`HEADERS_KEPT`] headers, each value capped at [`HEADER_VALUE_EVIDENCE_CAP`].
fn evidence_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .take(HEADERS_KEPT)
        .map(|(k, v)| {
            (
                truncate_text(k, HEADER_VALUE_EVIDENCE_CAP).0,
                truncate_text(v, HEADER_VALUE_EVIDENCE_CAP).0,
            )
        })
        .collect()
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_evidence_is_capped_in_count_and_size() {
        let headers: Vec<(String, String)> = (0..100)
            .map(|i| (format!("x-h{i}"), "v".repeat(64 * 1024)))
            .collect();
        let kept = evidence_headers(&headers);
        assert_eq!(kept.len(), HEADERS_KEPT);
        assert!(
            kept.iter()
                .all(|(_, v)| v.len() <= HEADER_VALUE_EVIDENCE_CAP + '…'.len_utf8())
        );
        let small = vec![("a".to_owned(), "b\u{fffe}".to_owned())];
        assert_eq!(evidence_headers(&small), small);
    }
}
