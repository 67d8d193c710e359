//! Information leakage: answers (bodies and headers) to malformed or oversized input must
//! not show stack traces, SQL, server file paths or a principal's password.

use std::sync::LazyLock;

use assay_format::Leakage;
use assay_model::truncate_text;
use regex::Regex;
use serde_json::Value;

use super::{first_n, label};
use crate::context::{CheckCx, Verdict};
use crate::http::Incoming;

/// Built-in patterns: (what it reveals, regex).
const BUILT_IN: &[(&str, &str)] = &[
    // Stack traces.
    (
        "a Python stack trace",
        r"Traceback \(most recent call last\)",
    ),
    (
        "a Python stack frame",
        r#"File \\?"[^"\\\n]{1,300}\\?", line \d+"#,
    ),
    ("a Java stack trace", r#"Exception in thread ""#),
    (
        "a Java stack frame",
        r"(?:^|\s|\\t|\\n)at (?:java|javax|jdk|sun|com|org|io|net)\.[A-Za-z0-9_$.]+\(",
    ),
    ("a Go stack trace", r"goroutine \d+ \[running\]"),
    ("a Go panic", r"(?m)(?:^|\\n|\x22)panic: "),
    (
        "a Node.js stack frame",
        r"at Object\.<anonymous>|\(?node:internal/|at [A-Za-z0-9_$.<>]+ \((?:/|file:)[^)\s]{1,300}:\d+:\d+\)",
    ),
    ("a Rust panic", r"panicked at"),
    ("a Ruby stack frame", r"\.rb:\d+:in "),
    // SQL and database errors.
    (
        "SQL text",
        r"\bSELECT\s+(?:DISTINCT\s+)?[A-Za-z0-9_.*\x22(), ]{1,300}?\s+FROM\s+[A-Za-z_\x22]",
    ),
    ("SQL text", r"(?i)\bselect\s+\*\s+from\b"),
    (
        "SQL text",
        r"(?i)\binsert\s+into\s+[A-Za-z_\x22][A-Za-z0-9_.\x22]*\s*\(",
    ),
    (
        "SQL text",
        r"\bINSERT INTO\b|\bDELETE FROM\b|\bUPDATE\s+[A-Za-z_\x22][A-Za-z0-9_.\x22]*\s+SET\b",
    ),
    (
        "a SQL error",
        r"(?i)syntax error at or near|unterminated quoted string",
    ),
    (
        "a database driver error",
        r"(?i)psycopg|asyncpg\.exceptions|sqlalchemy\.exc|PSQLException|PG::[A-Z][A-Za-z]+Error",
    ),
    ("a SQL error code", r"SQLSTATE"),
    (
        "a SQL error",
        r#"relation \\?"[^"\\]{1,120}\\?" does not exist|column \\?"[^"\\]{1,120}\\?" does not exist"#,
    ),
    (
        "a SQL constraint name",
        r"violates (?:unique|foreign key|not-null|check) constraint",
    ),
    // File paths of the server.
    (
        "a server file path",
        r"/usr(?:/local)?/lib/python3|site-packages|/app/[A-Za-z0-9_./-]{1,200}\.py\b|/home/[A-Za-z0-9_.-]+/|/src/[A-Za-z0-9_./-]{1,200}\.(?:rs|go|js|ts|java|rb)\b|node_modules/",
    ),
];

static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    BUILT_IN
        .iter()
        .filter_map(|(what, re)| Regex::new(re).ok().map(|r| (*what, r)))
        .collect()
});

/// Characters either side of a match kept in the evidence.
const EXCERPT_CONTEXT: usize = 80;

pub(super) async fn run(cx: &mut CheckCx<'_, '_>, spec: &Leakage) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the requests did not hold: {}",
            f.message()
        ));
    }
    let mut forbid = Vec::new();
    for re in &spec.forbid {
        match Regex::new(re) {
            Ok(r) => forbid.push((
                format!("text matching the forbidden pattern /{}/", r.as_str()),
                r,
            )),
            Err(e) => return Verdict::error(format!("`forbid` has a bad regular expression: {e}")),
        }
    }
    let passwords: Vec<(String, String)> = cx
        .shared
        .principals
        .iter()
        .filter_map(|(name, p)| {
            p.get("password")
                .and_then(Value::as_str)
                .filter(|s| s.len() >= 4)
                .map(|s| (format!("`{name}`'s password"), s.to_owned()))
        })
        .collect();

    let mut findings = Vec::new();
    let mut unanswered = Vec::new();
    for req in &spec.requests {
        let ex = match cx.send(req).await {
            Ok(ex) => ex,
            Err(e) => {
                return Verdict::error(format!(
                    "cannot prepare {} {}: {e}",
                    req.method,
                    req.path.as_str()
                ));
            }
        };
        let Some(resp) = ex.response() else {
            unanswered.push(label(&ex));
            continue;
        };
        for (what, excerpt) in scan(resp, true, &forbid, &passwords) {
            let f = format!("{} ({}) shows {what}", label(&ex), resp.status);
            cx.evidence.note(format!("{f}: …{excerpt}…"));
            findings.push(f);
        }
    }
    if !unanswered.is_empty() {
        cx.evidence
            .note(format!("no response to: {}", first_n(&unanswered, 5)));
    }
    let n = spec.requests.len();
    if findings.is_empty() {
        Verdict::pass(format!(
            "no stack trace, SQL, file path or password in the answers to {n} request{}",
            if n == 1 { "" } else { "s" }
        ))
    } else {
        Verdict::fail(format!("internals leak: {}", first_n(&findings, 4)))
    }
}

/// What `resp` reveals: (what, excerpt around it), one per kind.
/// What `resp` (body, decoded JSON strings, headers) reveals, each with an excerpt: the
/// built-in patterns (stack traces, SQL, paths) when `builtin`, the `extra` patterns
/// (description, regex) and the `secrets` (description, value; redacted in the excerpt).
pub(crate) fn scan(
    resp: &Incoming,
    builtin: bool,
    extra: &[(String, Regex)],
    secrets: &[(String, String)],
) -> Vec<(String, String)> {
    let raw = resp.text();
    // JSON bodies are searched decoded too: escaped quotes and `\n` hide patterns.
    let decoded = resp.json().map(|v| {
        let mut out = String::new();
        strings(&v, &mut out, 0);
        out
    });
    let headers: String = resp
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    let texts: Vec<&str> = [
        Some(raw.as_str()),
        decoded.as_deref(),
        Some(headers.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();

    let mut found: Vec<(String, String)> = Vec::new();
    let mut push = |what: String, excerpt: String| {
        if !found.iter().any(|(w, _)| *w == what) {
            found.push((what, excerpt));
        }
    };
    for text in &texts {
        let patterns = PATTERNS.iter().filter(|_| builtin);
        for (what, re) in patterns {
            if let Some(m) = re.find(text) {
                push((*what).to_owned(), around(text, m.start(), m.end(), &[]));
            }
        }
        for (what, re) in extra {
            if let Some(m) = re.find(text) {
                push(what.clone(), around(text, m.start(), m.end(), &[]));
            }
        }
        for (what, secret) in secrets {
            if let Some(start) = text.find(secret.as_str()) {
                push(
                    what.clone(),
                    around(text, start, start + secret.len(), &[secret.as_str()]),
                );
            }
        }
    }
    found
}

/// Every string inside a JSON value, one a line (capped).
fn strings(v: &Value, out: &mut String, depth: usize) {
    if depth > 32 || out.len() > 1 << 20 {
        return;
    }
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out, depth + 1)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push_str(k);
            out.push('\n');
            strings(x, out, depth + 1);
        }),
        _ => {}
    }
}

/// The text around `start..end`, on char boundaries, with `redact` values shortened.
fn around(text: &str, start: usize, end: usize, redact: &[&str]) -> String {
    let mut a = start.saturating_sub(EXCERPT_CONTEXT);
    while a > 0 && !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (end + EXCERPT_CONTEXT).min(text.len());
    while b < text.len() && !text.is_char_boundary(b) {
        b += 1;
    }
    let mut s = text.get(a..b).unwrap_or_default().to_owned();
    for r in redact {
        s = s.replace(r, &redacted(r));
    }
    truncate_text(&s, 400).0
}

/// A secret shortened to its first 4 characters.
pub(crate) fn redacted(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn resp(status: u16, body: &str) -> Incoming {
        Incoming {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            truncated: false,
            elapsed: Duration::from_millis(1),
        }
    }

    fn kinds(body: &str) -> Vec<String> {
        scan(
            &resp(500, body),
            true,
            &[],
            &[("`alice`'s password".into(), "s3cretPassw0rd".into())],
        )
        .into_iter()
        .map(|(w, _)| w)
        .collect()
    }

    #[test]
    fn finds_internals_in_raw_and_json_bodies() {
        let py = serde_json::json!({"detail": "Traceback (most recent call last):\n  File \"/app/main.py\", line 12, in create\n"}).to_string();
        let k = kinds(&py);
        assert!(k.contains(&"a Python stack trace".to_owned()), "{k:?}");
        assert!(k.contains(&"a Python stack frame".to_owned()), "{k:?}");
        assert!(k.contains(&"a server file path".to_owned()), "{k:?}");
        assert!(
            kinds("java.lang.NullPointerException\n\tat com.acme.Ledger.post(Ledger.java:42)")
                .contains(&"a Java stack frame".to_owned())
        );
        assert!(
            kinds("goroutine 1 [running]:\nmain.main()").contains(&"a Go stack trace".to_owned())
        );
        assert!(
            kinds("thread 'main' panicked at src/main.rs:3:5").contains(&"a Rust panic".to_owned())
        );
        assert!(
            kinds(r#"{"error":"ERROR: relation \"users\" does not exist"}"#)
                .contains(&"a SQL error".to_owned())
        );
        assert!(
            kinds("SELECT id, email FROM users WHERE email = 'x'").contains(&"SQL text".to_owned())
        );
        assert!(
            kinds(r#"{"echo":{"password":"s3cretPassw0rd"}}"#)
                .contains(&"`alice`'s password".to_owned())
        );
    }

    #[test]
    fn clean_errors_are_clean() {
        for body in [
            r#"{"error":{"code":"validation_failed","message":"Please select an account from the list"}}"#,
            r#"{"error":{"code":"not_found","message":"account not found"}}"#,
            r#"{"error":{"code":"bad_request","message":"malformed JSON at line 1 column 7"}}"#,
            "",
        ] {
            assert!(kinds(body).is_empty(), "{body}: {:?}", kinds(body));
        }
    }

    #[test]
    fn redacts_passwords_in_excerpts() {
        let f = scan(
            &resp(422, r#"{"password":"s3cretPassw0rd"}"#),
            true,
            &[],
            &[("`alice`'s password".into(), "s3cretPassw0rd".into())],
        );
        assert!(f.iter().all(|(_, e)| !e.contains("s3cretPassw0rd")));
        assert!(f.iter().any(|(_, e)| e.contains("s3cr…")));
    }
}
