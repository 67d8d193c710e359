//! `concurrent` checks: copies of requests released together behind a barrier, judged in
//! aggregate, then follow-up state verified with exact decimal comparisons.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use assay_format::{CompareOp, ConcurrentCheck};
use serde_json::Value;
use serde_json_path::JsonPath;
use tokio::sync::Barrier;

use crate::context::{CheckCx, Verdict};
use crate::http::{Exchange, Outgoing};

/// Statuses always defined in `race.GROUP.status.*` (0 when none came back so).
const COMMON_STATUSES: &[u16] = &[200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

pub async fn run(cx: &mut CheckCx<'_, '_>, spec: &ConcurrentCheck) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the race did not hold: {}",
            f.message()
        ));
    }

    // Render every copy first, so the race itself is only sending.
    let mut prepared: Vec<(String, Outgoing)> = Vec::new();
    for group in &spec.race {
        for copy in 0..group.copies {
            cx.vars.set("copy", Value::from(copy));
            match cx.prepare(&group.request) {
                Ok(o) => prepared.push((group.name.clone(), o)),
                Err(e) => {
                    return Verdict::error(format!(
                        "cannot prepare race group `{}`: {e}",
                        group.name
                    ));
                }
            }
        }
    }

    // Open connections ahead of the barrier so the copies really arrive together.
    let health = cx.shared.assessment.file.service.health.path.clone();
    let warm: Vec<_> = (0..prepared.len())
        .map(|_| {
            let client = cx.shared.client.clone();
            let o = Outgoing {
                method: "GET".into(),
                path: health.clone(),
                headers: vec![],
                body: None,
                timeout: cx.shared.request_timeout,
            };
            tokio::spawn(async move { client.send(o).await })
        })
        .collect();
    for w in warm {
        let _ = w.await;
    }

    let barrier = Arc::new(Barrier::new(prepared.len()));
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(group, out)| {
            let client = cx.shared.client.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                (group, client.send(out).await)
            })
        })
        .collect();
    let mut results: Vec<(String, Exchange)> = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) => return Verdict::error(format!("a racing request was lost: {e}")),
        }
    }

    // Aggregate.
    let mut histogram: BTreeMap<String, BTreeMap<u16, u32>> = BTreeMap::new();
    let mut transport_errors = 0u32;
    for (group, ex) in &results {
        cx.evidence.push(ex.evidence());
        match ex.response() {
            Some(r) => {
                *histogram
                    .entry(group.clone())
                    .or_default()
                    .entry(r.status)
                    .or_default() += 1
            }
            None => transport_errors += 1,
        }
    }
    let mut total: BTreeMap<u16, u32> = BTreeMap::new();
    for h in histogram.values() {
        for (s, n) in h {
            *total.entry(*s).or_default() += n;
        }
    }
    cx.evidence.note(format!(
        "{} requests raced; statuses: {}{}",
        results.len(),
        total
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        if transport_errors > 0 {
            format!("; {transport_errors} got no response")
        } else {
            String::new()
        }
    ));
    for group in &spec.race {
        let h = histogram.get(&group.name);
        for s in COMMON_STATUSES
            .iter()
            .copied()
            .chain(h.into_iter().flat_map(|h| h.keys().copied()))
        {
            let n = h.and_then(|h| h.get(&s)).copied().unwrap_or(0);
            cx.vars.set_path(
                &["race", &group.name, "status", &s.to_string()],
                Value::from(n),
            );
        }
        let ok: u32 = h
            .map(|h| {
                h.iter()
                    .filter(|(s, _)| (200..300).contains(*s))
                    .map(|(_, n)| n)
                    .sum()
            })
            .unwrap_or(0);
        cx.vars
            .set_path(&["race", &group.name, "ok"], Value::from(ok));
    }

    let mut fails = Vec::new();
    if transport_errors > 0 {
        fails.push(format!(
            "{transport_errors} racing requests got no response"
        ));
    }
    if let Some(allowed) = &spec.expect.statuses {
        let bad: Vec<String> = total
            .keys()
            .filter(|s| !allowed.contains(s))
            .map(u16::to_string)
            .collect();
        if !bad.is_empty() {
            fails.push(format!(
                "unexpected statuses {} (allowed: {allowed:?})",
                bad.join(", ")
            ));
        }
    }
    for (status, want) in &spec.expect.exactly {
        let got = total.get(status).copied().unwrap_or(0);
        if got != *want {
            fails.push(format!(
                "expected exactly {want} responses with status {status}, got {got}"
            ));
        }
    }
    let ok_bodies: Vec<Value> = results
        .iter()
        .filter_map(|(_, ex)| ex.response())
        .filter(|r| (200..300).contains(&r.status))
        .filter_map(|r| r.json())
        .collect();
    for (path, want_same) in [(&spec.expect.same, true), (&spec.expect.distinct, false)] {
        let Some(path) = path else { continue };
        let jp = match JsonPath::parse(path) {
            Ok(jp) => jp,
            Err(e) => return Verdict::error(format!("`{path}` is not a valid JSONPath: {e}")),
        };
        let values: Vec<String> = ok_bodies
            .iter()
            .map(|b| {
                jp.query(b)
                    .first()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            })
            .collect();
        let unique: BTreeSet<&String> = values.iter().collect();
        if want_same && unique.len() > 1 {
            fails.push(format!("`{path}` differs across successful responses ({} distinct values: more than one effect)", unique.len()));
        }
        if !want_same && unique.len() != values.len() {
            fails.push(format!(
                "`{path}` repeats across successful responses ({} values, {} distinct)",
                values.len(),
                unique.len()
            ));
        }
    }
    if !fails.is_empty() {
        return Verdict::fail(fails.join("; "));
    }

    if let Err(f) = cx.steps(&spec.after).await {
        return Verdict::fail(format!("after the race: {}", f.message()));
    }
    for cmp in &spec.verify {
        let c = &cmp.value;
        let (l, r) = match (cx.vars.render(&c.left), cx.vars.render(&c.right)) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => {
                return Verdict::fail(format!("cannot evaluate a comparison: {e}"));
            }
        };
        let (lv, rv) = match (crate::expr::eval(&l), crate::expr::eval(&r)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                return Verdict::fail(format!("not a number where one was expected: {e}"));
            }
        };
        let holds = match c.op {
            CompareOp::Eq => lv == rv,
            CompareOp::Ne => lv != rv,
            CompareOp::Lt => lv < rv,
            CompareOp::Le => lv <= rv,
            CompareOp::Gt => lv > rv,
            CompareOp::Ge => lv >= rv,
        };
        let op = match c.op {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        };
        let text = format!(
            "{} {op} {}: {l} = {lv}, {r} = {rv}",
            c.left.as_str(),
            c.right.as_str()
        );
        cx.evidence.note(format!(
            "{}{text}",
            c.says
                .as_ref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default()
        ));
        if !holds {
            return Verdict::fail(format!(
                "{} does not hold ({text})",
                c.says.clone().unwrap_or_else(|| "a comparison".into())
            ));
        }
    }
    Verdict::pass(format!(
        "{} racing requests: {}; follow-up state consistent",
        results.len(),
        total
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
