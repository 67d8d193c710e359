//! Evidence behind a verdict: requests and responses, measurements, files, logs, queries.
//!
//! All text here may come from a hostile submission: it is stored as lossy UTF-8, capped,
//! and renderers must escape it.

use serde::{Deserialize, Serialize};

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// An HTTP exchange; `response` is absent when none came (`error` says why).
    Exchange {
        request: RequestRecord,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<ResponseRecord>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A measured figure, with the target and floor it was judged against.
    Measurement {
        name: String,
        value: f64,
        unit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        floor: Option<f64>,
    },
    /// A file of the submission, optionally a line and an excerpt.
    File {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        excerpt: Option<String>,
    },
    /// An excerpt of a log (build log, service stdout/stderr).
    Log { source: String, excerpt: String },
    /// A SQL query run against a sidecar and the rows it returned (capped).
    Query { sql: String, rows: Vec<Vec<String>> },
    /// Free text: an expectation and what was seen instead, a count, a finding.
    Note { text: String },
}

/// An HTTP request as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// An HTTP response as received, body capped and decoded lossily.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseRecord {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// True when the body was longer than what is kept here.
    #[serde(default)]
    pub body_truncated: bool,
    /// Time from sending the request to the end of the (capped) body, in milliseconds.
    pub elapsed_ms: f64,
}

/// Caps `text` at `max` bytes on a char boundary, marking the cut. Evidence stays bounded
/// whatever a submission answers.
pub fn truncate_text(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}…", &text[..end]), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_text("abc", 5), ("abc".to_owned(), false));
        assert_eq!(truncate_text("ééé", 3), ("é…".to_owned(), true));
        assert_eq!(truncate_text("abcdef", 0), ("…".to_owned(), true));
    }
}
