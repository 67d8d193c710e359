//! SQL injection oracles (error, boolean, time), each judged against baselines: a service
//! that merely rejects odd input (a 500 or a 400 on any quote) is never called injectable.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use assay_format::{Injection, Oracle, Request, Template, TemplatePart};
use assay_model::{Evidence, truncate_text};
use regex::Regex;
use serde_json::Value;

use super::{first_n, label};
use crate::context::{CheckCx, Verdict, encode};
use crate::http::Exchange;
use crate::vars::RenderError;

/// Text that only a SQL error shows (PostgreSQL, its drivers, common ORMs).
static SQL_ERROR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)syntax error at or near|unterminated quoted (?:string|identifier)|psycopg|SQLSTATE|pg_query|sqlalchemy\.exc|PSQLException|PG::SyntaxError|pq: syntax error|asyncpg\.exceptions|You have an error in your SQL syntax|sqlite3\.OperationalError|SQLITE_ERROR|unrecognized token: "|near "[^"]{0,40}": syntax error|ProgrammingError"#,
    )
    .ok()
});

/// Repetitions a boolean difference must survive.
const BOOLEAN_ROUNDS: usize = 2;
/// Baselines the time oracle measures.
const TIME_BASELINES: usize = 3;

/// One request with one payload, as answered.
struct Probe {
    value: String,
    status: Option<u16>,
    shape: String,
    body: String,
    elapsed: Duration,
    exchange: Exchange,
}

impl Probe {
    fn answer(&self) -> String {
        match self.status {
            Some(s) => s.to_string(),
            None => "no response".to_owned(),
        }
    }

    fn same_answer(&self, other: &Probe) -> bool {
        self.status.is_some() && self.status == other.status && self.shape == other.shape
    }
}

/// What an oracle concluded.
enum Finding {
    Fired(String),
    Clean(String),
    Inconclusive(String),
}

pub(super) async fn run(cx: &mut CheckCx<'_, '_>, spec: &Injection) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the probes did not hold: {}",
            f.message()
        ));
    }
    let req = payload_request(&spec.request);
    let oracles = spec
        .oracles
        .clone()
        .unwrap_or_else(|| vec![Oracle::Error, Oracle::Boolean, Oracle::Time]);
    if oracles.is_empty() {
        return Verdict::error("no oracle is selected");
    }
    let mut fired = Vec::new();
    let mut clean = Vec::new();
    let mut inconclusive = Vec::new();
    for oracle in oracles {
        let finding = match oracle {
            Oracle::Error => error_oracle(cx, &req, &spec.benign).await,
            Oracle::Boolean => boolean_oracle(cx, &req, &spec.benign).await,
            Oracle::Time => time_oracle(cx, &req, &spec.benign, spec.sleep.0).await,
        };
        let name = match oracle {
            Oracle::Error => "error",
            Oracle::Boolean => "boolean",
            Oracle::Time => "time",
        };
        match finding {
            Err(e) => return Verdict::error(format!("cannot prepare the request: {e}")),
            Ok(Finding::Fired(why)) => {
                cx.evidence.note(format!("{name} oracle FIRED: {why}"));
                fired.push(format!("{name} oracle: {why}"));
            }
            Ok(Finding::Clean(why)) => {
                cx.evidence.note(format!("{name} oracle clean: {why}"));
                clean.push(name);
            }
            Ok(Finding::Inconclusive(why)) => {
                cx.evidence
                    .note(format!("{name} oracle inconclusive: {why}"));
                inconclusive.push(format!("{name}: {why}"));
            }
        }
    }
    let target = format!("{} {}", spec.request.method, spec.request.path.as_str());
    if !fired.is_empty() {
        return Verdict::fail(format!("{target} is injectable: {}", first_n(&fired, 3)));
    }
    if clean.is_empty() {
        return Verdict::error(format!(
            "no oracle could judge {target}: {}",
            first_n(&inconclusive, 3)
        ));
    }
    let mut msg = format!(
        "no injection found in {target} by the {} oracle{}",
        clean.join(", "),
        if clean.len() == 1 { "" } else { "s" }
    );
    if !inconclusive.is_empty() {
        msg.push_str(&format!(" (inconclusive: {})", first_n(&inconclusive, 3)));
    }
    Verdict::pass(msg)
}

/// The request with `{{ payload }}` in its path URL-encoded, and in a raw JSON body escaped
/// as JSON string content. Query values are encoded by `prepare` itself, and JSON bodies
/// take the payload as a string value.
fn payload_request(req: &Request) -> Request {
    let mut r = req.clone();
    r.path = retarget(&req.path, "payload_url");
    let json_body = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .is_none_or(|(_, v)| v.as_str().to_ascii_lowercase().contains("json"));
    if json_body && let Some(b) = &req.body {
        r.body = Some(retarget(b, "payload_json"));
    }
    r
}

/// `t` with every `{{ payload }}` replaced by `{{ var }}`.
fn retarget(t: &Template, var: &str) -> Template {
    match t.parts() {
        Ok(parts) => Template(
            parts
                .into_iter()
                .map(|p| match p {
                    TemplatePart::Text(s) => s,
                    TemplatePart::Var(path) if path.len() == 1 && path[0] == "payload" => {
                        format!("{{{{ {var} }}}}")
                    }
                    TemplatePart::Var(path) => format!("{{{{ {} }}}}", path.join(".")),
                })
                .collect(),
        ),
        Err(_) => t.clone(),
    }
}

/// Sends `req` with `value` as the payload; times the whole exchange.
async fn probe(
    cx: &mut CheckCx<'_, '_>,
    req: &Request,
    value: &str,
    min_timeout: Option<Duration>,
) -> Result<Probe, RenderError> {
    cx.vars.set("payload", Value::String(value.to_owned()));
    cx.vars.set("payload_url", Value::String(encode(value)));
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let inner = escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default();
    cx.vars.set("payload_json", Value::String(inner.to_owned()));
    let mut out = cx.prepare(req)?;
    if let Some(t) = min_timeout {
        out.timeout = out.timeout.max(t);
    }
    let start = Instant::now();
    let exchange = cx.shared.client.send(out).await;
    let elapsed = start.elapsed();
    let (status, shape, body) = match exchange.response() {
        Some(r) => (
            Some(r.status),
            match r.json() {
                Some(v) => shape(&v, 0),
                None => format!("text({})", r.body.len()),
            },
            r.text(),
        ),
        None => (None, "none".to_owned(), String::new()),
    };
    Ok(Probe {
        value: value.to_owned(),
        status,
        shape,
        body,
        elapsed,
        exchange,
    })
}

/// The structure of a JSON value: keys, types and array lengths, not values (so that an
/// echoed input does not make two answers differ).
fn shape(v: &Value, depth: usize) -> String {
    if depth > 16 {
        return "…".to_owned();
    }
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "bool".to_owned(),
        Value::Number(_) => "number".to_owned(),
        Value::String(_) => "string".to_owned(),
        Value::Array(a) => {
            let mut kinds: Vec<String> = a.iter().take(50).map(|x| shape(x, depth + 1)).collect();
            kinds.sort();
            kinds.dedup();
            format!("[{}×{}]", a.len(), kinds.join("|"))
        }
        Value::Object(m) => {
            let mut fields: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{k}:{}", shape(x, depth + 1)))
                .collect();
            fields.sort();
            format!("{{{}}}", fields.join(","))
        }
    }
}

/// The SQL error text in `body`, with what follows it (an excerpt for the evidence).
fn sql_error_text(body: &str) -> Option<String> {
    let re = SQL_ERROR.as_ref()?;
    let m = re.find(body)?;
    let mut end = (m.end() + 100).min(body.len());
    while end < body.len() && !body.is_char_boundary(end) {
        end += 1;
    }
    Some(body.get(m.start()..end).unwrap_or(m.as_str()).to_owned())
}

fn is_5xx(p: &Probe) -> bool {
    p.status.is_some_and(|s| s >= 500)
}

fn note_probes(cx: &CheckCx<'_, '_>, oracle: &str, probes: &[&Probe]) {
    let lines: Vec<String> = probes
        .iter()
        .map(|p| {
            format!(
                "`{}` → {} in {:.0} ms, body {}",
                truncate_text(&p.value, 120).0,
                p.answer(),
                p.elapsed.as_secs_f64() * 1e3,
                p.shape.chars().take(120).collect::<String>()
            )
        })
        .collect();
    cx.evidence
        .note(format!("{oracle} oracle probes:\n{}", lines.join("\n")));
    for p in probes {
        cx.evidence.push(p.exchange.evidence());
    }
}

// ----- error ---------------------------------------------------------------------------

async fn error_oracle(
    cx: &mut CheckCx<'_, '_>,
    req: &Request,
    benign: &str,
) -> Result<Finding, RenderError> {
    let base = probe(cx, req, benign, None).await?;
    let balanced = probe(cx, req, &format!("{benign}''"), None).await?;
    let quote = probe(cx, req, &format!("{benign}'"), None).await?;
    // A plain value that matches nothing, to compare the control with when the benign
    // value finds something and the balanced control (another value) does not.
    let other = probe(cx, req, &format!("{benign}zq"), None).await?;
    note_probes(cx, "error", &[&base, &balanced, &quote, &other]);
    if base.status.is_none() && balanced.status.is_none() {
        return Ok(Finding::Inconclusive(format!(
            "{} got no response to the benign value or the control",
            label(&base.exchange)
        )));
    }
    if let Some(text) = sql_error_text(&quote.body)
        && sql_error_text(&balanced.body).is_none()
    {
        return Ok(Finding::Fired(format!(
            "a lone quote makes {} answer {} with SQL error text (`{}`), a balanced pair of quotes does not ({})",
            label(&quote.exchange),
            quote.answer(),
            truncate_text(&text, 160).0,
            balanced.answer()
        )));
    }
    let control_ok = balanced.status.is_some() && !is_5xx(&balanced);
    let control_matches = balanced.status == base.status
        || (other.status.is_some() && balanced.status == other.status);
    if is_5xx(&quote) && control_ok && control_matches {
        // Confirm: a server error that does not come back is noise.
        let again = probe(cx, req, &format!("{benign}'"), None).await?;
        cx.evidence.push(again.exchange.evidence());
        if is_5xx(&again) {
            return Ok(Finding::Fired(format!(
                "a lone quote gives {} twice, while the benign value gives {} and a balanced pair of quotes {}",
                quote.answer(),
                base.answer(),
                balanced.answer()
            )));
        }
        return Ok(Finding::Clean(format!(
            "a lone quote gave {} once, then {}",
            quote.answer(),
            again.answer()
        )));
    }
    Ok(Finding::Clean(format!(
        "benign {}, balanced quotes {}, lone quote {}, no SQL error text",
        base.answer(),
        balanced.answer(),
        quote.answer()
    )))
}

// ----- boolean -------------------------------------------------------------------------

async fn boolean_oracle(
    cx: &mut CheckCx<'_, '_>,
    req: &Request,
    benign: &str,
) -> Result<Finding, RenderError> {
    let base = probe(cx, req, benign, None).await?;
    let base2 = probe(cx, req, benign, None).await?;
    if base.status.is_none() {
        note_probes(cx, "boolean", &[&base]);
        return Ok(Finding::Inconclusive(
            "the benign value got no response".to_owned(),
        ));
    }
    if !base.same_answer(&base2) {
        note_probes(cx, "boolean", &[&base, &base2]);
        return Ok(Finding::Inconclusive(format!(
            "the benign value is answered differently each time ({} {}, then {} {})",
            base.answer(),
            base.shape,
            base2.answer(),
            base2.shape
        )));
    }
    // (name, the variant equivalent to the benign query, the variant that alters it)
    let pairs = [
        (
            "AND",
            format!("{benign}' AND '1'='1"),
            format!("{benign}' AND '1'='2"),
        ),
        (
            "OR",
            format!("{benign}' OR '1'='2"),
            format!("{benign}' OR '1'='1"),
        ),
    ];
    let mut seen = Vec::new();
    for (name, same, altered) in &pairs {
        let mut rounds = 0;
        for round in 0..BOOLEAN_ROUNDS {
            let e = probe(cx, req, same, None).await?;
            let a = probe(cx, req, altered, None).await?;
            if round == 0 {
                note_probes(cx, &format!("boolean ({name})"), &[&base, &e, &a]);
            }
            let fires = e.same_answer(&base) && !a.same_answer(&base) && a.status.is_some();
            seen.push(format!(
                "{name}: equivalent {} / altering {}",
                e.answer(),
                a.answer()
            ));
            if !fires {
                break;
            }
            rounds += 1;
        }
        if rounds == BOOLEAN_ROUNDS {
            return Ok(Finding::Fired(format!(
                "the answer follows an injected condition ({name}): `{same}` is answered like the benign value ({}), `{altered}` differently, {BOOLEAN_ROUNDS} times out of {BOOLEAN_ROUNDS}",
                base.answer()
            )));
        }
    }
    Ok(Finding::Clean(format!(
        "benign {}; {}",
        base.answer(),
        seen.join("; ")
    )))
}

// ----- time ----------------------------------------------------------------------------

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        let t = format!("{s:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

async fn time_oracle(
    cx: &mut CheckCx<'_, '_>,
    req: &Request,
    benign: &str,
    sleep: Duration,
) -> Result<Finding, RenderError> {
    let mut baselines = Vec::new();
    for _ in 0..TIME_BASELINES {
        baselines.push(probe(cx, req, benign, None).await?);
    }
    let refs: Vec<&Probe> = baselines.iter().collect();
    note_probes(cx, "time (baselines)", &refs);
    if baselines.iter().any(|b| b.status.is_none()) {
        return Ok(Finding::Inconclusive(
            "a baseline request got no response".to_owned(),
        ));
    }
    let slowest = baselines
        .iter()
        .map(|b| b.elapsed)
        .max()
        .unwrap_or_default();
    let threshold = slowest + sleep.mul_f64(0.8);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    cx.evidence.push(Evidence::Measurement {
        name: "slowest of 3 baselines".into(),
        value: ms(slowest),
        unit: "ms".into(),
        target: None,
        floor: None,
    });
    let s = seconds(sleep);
    let payloads = [
        format!("{benign}' || pg_sleep({s}) || '"),
        format!("{benign}'; SELECT pg_sleep({s})--"),
        format!("{benign}' AND (SELECT 1 FROM pg_sleep({s})) IS NOT NULL AND '1'='1"),
    ];
    let timeout = sleep * 3 + Duration::from_secs(2);
    let mut seen = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        let first = probe(cx, req, payload, Some(timeout)).await?;
        cx.evidence.push(Evidence::Measurement {
            name: format!("time payload {}", i + 1),
            value: ms(first.elapsed),
            unit: "ms".into(),
            target: Some(ms(threshold)),
            floor: None,
        });
        note_probes(cx, &format!("time (payload {})", i + 1), &[&first]);
        seen.push(format!("{:.0} ms", ms(first.elapsed)));
        if first.elapsed < threshold {
            continue;
        }
        // Confirm: the service is still quick for the benign value, and slow again for
        // the payload.
        let fresh = probe(cx, req, benign, None).await?;
        let again = probe(cx, req, payload, Some(timeout)).await?;
        cx.evidence.push(Evidence::Measurement {
            name: format!("time payload {} again", i + 1),
            value: ms(again.elapsed),
            unit: "ms".into(),
            target: Some(ms(threshold)),
            floor: None,
        });
        note_probes(
            cx,
            &format!("time (confirmation {})", i + 1),
            &[&fresh, &again],
        );
        if fresh.elapsed < threshold && again.elapsed >= threshold {
            return Ok(Finding::Fired(format!(
                "`{payload}` took {:.0} ms and {:.0} ms, the slowest of {TIME_BASELINES} baselines {:.0} ms (threshold {:.0} ms = baseline + 0.8 × {s} s)",
                ms(first.elapsed),
                ms(again.elapsed),
                ms(slowest),
                ms(threshold)
            )));
        }
        seen.push(format!(
            "not confirmed: benign {:.0} ms, payload again {:.0} ms",
            ms(fresh.elapsed),
            ms(again.elapsed)
        ));
    }
    Ok(Finding::Clean(format!(
        "payloads took {} against a threshold of {:.0} ms (slowest baseline {:.0} ms)",
        seen.join(", "),
        ms(threshold),
        ms(slowest)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_ignore_values_but_keep_structure() {
        let a = serde_json::json!({"data": [{"id": "x", "n": 1}], "next": null});
        let b = serde_json::json!({"next": null, "data": [{"n": 2, "id": "yy"}]});
        let c = serde_json::json!({"data": [], "next": null});
        assert_eq!(shape(&a, 0), shape(&b, 0));
        assert_ne!(shape(&a, 0), shape(&c, 0));
    }

    #[test]
    fn retargets_only_the_payload() {
        let t = Template("/v1/x/{{ payload }}?a={{ alice.id }}".into());
        assert_eq!(
            retarget(&t, "payload_url").0,
            "/v1/x/{{ payload_url }}?a={{ alice.id }}"
        );
    }

    #[test]
    fn formats_sleep_seconds() {
        assert_eq!(seconds(Duration::from_secs(2)), "2");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5");
    }

    #[test]
    fn recognises_sql_error_text() {
        assert!(
            sql_error_text("psycopg2.errors.SyntaxError: unterminated quoted string").is_some()
        );
        assert!(sql_error_text(r#"{"error":{"code":"not_found"}}"#).is_none());
    }
}
