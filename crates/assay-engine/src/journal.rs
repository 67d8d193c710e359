//! The run's journal: every exchange the engine's client sends passes through it, and it
//! keeps a bounded summary for the run-wide `never` checks: counts by status class, and per
//! rule the number of offending exchanges and the first few of them as evidence. Bodies are
//! scanned as they arrive and then dropped, so memory stays flat however long the run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use assay_model::Evidence;
use regex::Regex;

use crate::checks::security::scan;
use crate::http::Exchange;

/// Exchanges kept before the rules are known (principals registering), and their response
/// bytes at most; beyond either, exchanges are counted, not scanned.
const PENDING_CAP: usize = 256;
const PENDING_BYTES: usize = 8 << 20;
/// Offending exchanges kept as evidence per rule.
pub const KEPT_PER_RULE: usize = 8;

/// What one `never` check forbids.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    /// The check's id.
    pub check: String,
    /// No 5xx status.
    pub server_error: bool,
    /// The built-in leak patterns (stack traces, SQL, paths).
    pub builtin: bool,
    /// Further patterns: (what a match reveals, regex).
    pub patterns: Vec<(String, Regex)>,
    /// Secrets: (what it is, the text).
    pub secrets: Vec<(String, String)>,
}

/// What the journal found for one rule.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// Exchanges that broke the rule.
    pub count: u64,
    /// The first [`KEPT_PER_RULE`] of them: a note saying how, and the exchange.
    pub kept: Vec<Evidence>,
}

/// Figures of the whole run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub exchanges: u64,
    /// Status class (`2xx`, …, or `no response`) → exchanges.
    pub by_class: BTreeMap<String, u64>,
    /// Exchanges made before the rules were known and beyond what was kept to scan later.
    pub unscanned: u64,
}

#[derive(Debug, Default)]
struct State {
    rules: Option<Arc<Vec<Rule>>>,
    pending: Vec<Exchange>,
    pending_bytes: usize,
    totals: Totals,
    findings: BTreeMap<String, Findings>,
}

/// The journal of a run; shared by the client's clones.
#[derive(Debug, Default)]
pub struct Journal {
    state: Mutex<State>,
}

impl Journal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one exchange: counted, and scanned against the rules (kept to scan later
    /// while the rules are not known yet).
    pub fn record(&self, ex: &Exchange) {
        let rules = {
            let Ok(mut s) = self.state.lock() else { return };
            s.totals.exchanges += 1;
            *s.totals.by_class.entry(class(ex)).or_default() += 1;
            match &s.rules {
                Some(r) => r.clone(),
                None => {
                    let bytes = ex.response().map_or(0, |r| r.body.len());
                    if s.pending.len() < PENDING_CAP && s.pending_bytes + bytes <= PENDING_BYTES {
                        s.pending_bytes += bytes;
                        s.pending.push(ex.clone());
                    } else {
                        s.totals.unscanned += 1;
                    }
                    return;
                }
            }
        };
        // Scanning happens outside the lock: concurrent senders do not queue behind it.
        let found = judge(&rules, ex);
        self.keep(found, ex);
    }

    /// Sets the rules and scans what was recorded before them.
    pub fn arm(&self, rules: Vec<Rule>) {
        let rules = Arc::new(rules);
        let pending = match self.state.lock() {
            Ok(mut s) => {
                s.rules = Some(rules.clone());
                s.pending_bytes = 0;
                std::mem::take(&mut s.pending)
            }
            Err(_) => return,
        };
        for ex in &pending {
            let found = judge(&rules, ex);
            self.keep(found, ex);
        }
    }

    fn keep(&self, found: Vec<(String, String)>, ex: &Exchange) {
        if found.is_empty() {
            return;
        }
        let Ok(mut s) = self.state.lock() else { return };
        for (check, why) in found {
            let f = s.findings.entry(check).or_default();
            f.count += 1;
            if f.kept.len() < KEPT_PER_RULE * 2 {
                f.kept.push(Evidence::Note {
                    text: format!("{} {}: {why}", ex.request.method, ex.request.path),
                });
                f.kept.push(ex.evidence());
            }
        }
    }

    /// What was found for `check`, and the run's totals.
    pub fn findings(&self, check: &str) -> (Findings, Totals) {
        match self.state.lock() {
            Ok(s) => (
                s.findings.get(check).cloned().unwrap_or_default(),
                s.totals.clone(),
            ),
            Err(_) => (Findings::default(), Totals::default()),
        }
    }
}

/// Each rule `ex` breaks: (check id, how).
fn judge(rules: &[Rule], ex: &Exchange) -> Vec<(String, String)> {
    let Some(resp) = ex.response() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in rules {
        let mut why = Vec::new();
        if rule.server_error && resp.status >= 500 {
            why.push(format!("status {}", resp.status));
        }
        if rule.builtin || !rule.patterns.is_empty() || !rule.secrets.is_empty() {
            for (what, excerpt) in scan(resp, rule.builtin, &rule.patterns, &rule.secrets) {
                why.push(format!("the response shows {what}: …{excerpt}…"));
            }
        }
        if !why.is_empty() {
            out.push((rule.check.clone(), why.join("; ")));
        }
    }
    out
}

fn class(ex: &Exchange) -> String {
    match ex.response() {
        Some(r) => format!("{}xx", r.status / 100),
        None => "no response".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Incoming, Outgoing};
    use std::time::Duration;

    fn exchange(path: &str, status: u16, body: &str) -> Exchange {
        Exchange {
            request: Outgoing {
                method: "GET".into(),
                path: path.into(),
                headers: vec![],
                body: None,
                timeout: Duration::from_secs(1),
            },
            url: format!("http://service{path}"),
            outcome: Ok(Incoming {
                status,
                headers: vec![],
                body: body.as_bytes().to_vec(),
                truncated: false,
                elapsed: Duration::from_millis(1),
            }),
        }
    }

    #[test]
    fn scans_early_exchanges_when_armed_and_keeps_a_bounded_summary() {
        let j = Journal::new();
        j.record(&exchange("/early", 500, "boom"));
        let rule = Rule {
            check: "never-5xx".into(),
            server_error: true,
            ..Rule::default()
        };
        j.arm(vec![rule]);
        for i in 0..50 {
            j.record(&exchange(&format!("/late/{i}"), 503, "busy"));
        }
        j.record(&exchange("/fine", 200, "{}"));
        let (found, totals) = j.findings("never-5xx");
        assert_eq!(found.count, 51, "every 5xx is counted");
        assert_eq!(
            found.kept.len(),
            KEPT_PER_RULE * 2,
            "the first few are kept"
        );
        assert!(
            matches!(&found.kept[0], Evidence::Note { text } if text == "GET /early: status 500"),
            "{:?}",
            found.kept[0]
        );
        assert_eq!(totals.exchanges, 52);
        assert_eq!(totals.by_class.get("5xx"), Some(&51));
        assert_eq!(totals.by_class.get("2xx"), Some(&1));
    }

    #[test]
    fn early_exchanges_beyond_the_byte_cap_are_counted_not_kept() {
        let j = Journal::new();
        let big = "x".repeat(3 << 20);
        for _ in 0..4 {
            j.record(&exchange("/big", 200, &big));
        }
        j.arm(vec![]);
        assert_eq!(j.findings("any").1.unscanned, 2);
    }
}
