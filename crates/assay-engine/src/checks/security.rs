//! `security` checks: the authentication matrix, object ownership, SQL injection oracles,
//! information leakage, rate limiting, advisory headers and secrets in the repository.
//!
//! A candidate's weakness is a failing (or partly credited) verdict with evidence; only a
//! probe that could not be judged at all is an error.

mod injection;
mod leakage;
mod secrets;

pub(crate) use leakage::{redacted, scan};

use assay_format::{
    Auth, AuthMatrix, CraftedAuth, Ownership, RateLimit, SecurityHeaders, SecurityProbe, TokenKind,
};
use assay_model::{Status, truncate_text};

use crate::context::{CheckCx, Verdict};
use crate::http::{Exchange, Incoming};

/// Bytes of a response body quoted in a note.
const NOTE_BODY_CAP: usize = 600;

pub async fn run(cx: &mut CheckCx<'_, '_>, probe: &SecurityProbe) -> Verdict {
    match probe {
        SecurityProbe::AuthMatrix(m) => auth_matrix(cx, m).await,
        SecurityProbe::Ownership(o) => ownership(cx, o).await,
        SecurityProbe::Injection(i) => injection::run(cx, i).await,
        SecurityProbe::Leakage(l) => leakage::run(cx, l).await,
        SecurityProbe::RateLimit(r) => rate_limit(cx, r).await,
        SecurityProbe::Headers(h) => headers(cx, h).await,
        SecurityProbe::Secrets(s) => secrets::run(cx, s).await,
    }
}

/// Graded credit whose status is pass only when every part held (unlike
/// [`Verdict::graded`], which rounds 0.999 up to a pass).
pub(crate) fn partial(credit: f64, all_held: bool, message: impl Into<String>) -> Verdict {
    if all_held {
        return Verdict::pass(message);
    }
    let credit = if credit.is_finite() {
        credit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Verdict {
        status: Status::Fail,
        credit,
        message: message.into(),
    }
}

/// A response body shortened for a note.
pub(crate) fn body_excerpt(resp: &Incoming) -> String {
    let text = resp.text();
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        truncate_text(text, NOTE_BODY_CAP).0
    }
}

/// `METHOD /path` of an exchange, as sent.
pub(crate) fn label(ex: &Exchange) -> String {
    format!("{} {}", ex.request.method, ex.request.path)
}

/// What an exchange got back, in a word: the status, or why there was none.
fn got(ex: &Exchange) -> String {
    match &ex.outcome {
        Ok(r) => r.status.to_string(),
        Err(e) => format!("no response ({})", truncate_text(e, 120).0),
    }
}

/// Joins the first `n` items, saying how many more there were.
pub(crate) fn first_n(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > n {
        s.push_str(&format!("; and {} more", items.len() - n));
    }
    s
}

// ----- auth_matrix ---------------------------------------------------------------------

async fn auth_matrix(cx: &mut CheckCx<'_, '_>, spec: &AuthMatrix) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the matrix did not hold: {}",
            f.message()
        ));
    }
    let kinds: Vec<TokenKind> = spec
        .tokens
        .clone()
        .unwrap_or_else(|| TokenKind::ATTACKS.to_vec());
    if spec.endpoints.is_empty() || kinds.is_empty() {
        return Verdict::error("the matrix has no endpoints or no token kinds");
    }
    let want = spec.expect_status;
    let mut total = 0usize;
    let mut failing: Vec<(String, &'static str, String, Exchange)> = Vec::new();
    for endpoint in &spec.endpoints {
        let principal = match &endpoint.auth {
            Some(Auth::Principal(p)) => Some(p.clone()),
            Some(Auth::Crafted(c)) => c.as_principal.clone(),
            None => None,
        };
        for kind in &kinds {
            let mut req = endpoint.clone();
            req.auth = Some(Auth::Crafted(CraftedAuth {
                token: *kind,
                as_principal: principal.clone(),
            }));
            let out = match cx.prepare(&req) {
                Ok(o) => o,
                Err(e) => {
                    return Verdict::error(format!(
                        "cannot prepare {} {} with a `{}` token: {e}",
                        endpoint.method,
                        endpoint.path.as_str(),
                        kind.id()
                    ));
                }
            };
            let ex = cx.shared.client.send(out).await;
            total += 1;
            match ex.response() {
                Some(r) if r.status == want => continue,
                Some(r)
                    if cx.lesser_reading(
                        &spec.partial,
                        r,
                        &format!("{} with a `{}` token", label(&ex), kind.id()),
                        &[format!("status {want}, got {}", r.status)],
                    ) =>
                {
                    continue;
                }
                _ => {}
            }
            failing.push((label(&ex), kind.id(), got(&ex), ex));
        }
    }
    let held = total - failing.len();
    cx.evidence.note(format!(
        "{held} of {total} attempts ({} endpoint{} × {} token kind{}) were refused with {want}",
        spec.endpoints.len(),
        if spec.endpoints.len() == 1 { "" } else { "s" },
        kinds.len(),
        if kinds.len() == 1 { "" } else { "s" },
    ));
    if failing.is_empty() {
        return Verdict::pass(format!(
            "all {total} attempts without a valid token were refused with {want}"
        ));
    }
    let mut table = format!("cells not refused with {want} (endpoint | token | status):");
    for (endpoint, kind, status, _) in &failing {
        table.push_str(&format!("\n{endpoint} | {kind} | {status}"));
    }
    cx.evidence.note(table);
    let cells: Vec<String> = failing
        .iter()
        .map(|(endpoint, kind, status, _)| format!("`{kind}` on {endpoint} got {status}"))
        .collect();
    for (_, _, _, ex) in failing {
        cx.evidence.push(ex.evidence());
    }
    partial(
        held as f64 / total as f64,
        false,
        format!(
            "{held} of {total} attempts refused with {want}; {}",
            first_n(&cells, 5)
        ),
    )
}

// ----- ownership -----------------------------------------------------------------------

async fn ownership(cx: &mut CheckCx<'_, '_>, spec: &Ownership) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the intrusion did not hold: {}",
            f.message()
        ));
    }
    let allowed = spec
        .expect_status
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let mut leaks = Vec::new();
    for r in &spec.requests {
        let mut req = r.clone();
        req.auth = Some(Auth::Principal(spec.intruder.clone()));
        let ex = match cx.send(&req).await {
            Ok(ex) => ex,
            Err(e) => {
                return Verdict::error(format!(
                    "cannot prepare {} {} as `{}`: {e}",
                    r.method,
                    r.path.as_str(),
                    spec.intruder
                ));
            }
        };
        match ex.response() {
            Some(resp) if spec.expect_status.contains(&resp.status) => {}
            Some(resp) => {
                let what = format!(
                    "{} as `{}` got {} (expected {allowed})",
                    label(&ex),
                    spec.intruder,
                    resp.status
                );
                cx.evidence
                    .note(format!("leak: {what}; response: {}", body_excerpt(resp)));
                leaks.push(what);
            }
            None => leaks.push(format!(
                "{} as `{}` got {}",
                label(&ex),
                spec.intruder,
                got(&ex)
            )),
        }
    }
    let after = cx.steps(&spec.after).await.err();
    let n = spec.requests.len();
    match (leaks.is_empty(), after) {
        (true, None) => Verdict::pass(format!(
            "all {n} request{} by `{}` were refused with {allowed}, and nothing changed",
            if n == 1 { "" } else { "s" },
            spec.intruder
        )),
        (true, Some(f)) => Verdict::fail(format!(
            "the intruder was refused, but afterwards: {}",
            f.message()
        )),
        (false, after) => Verdict::fail(format!(
            "another principal's objects are reachable: {}{}",
            first_n(&leaks, 5),
            after
                .map(|f| format!("; afterwards: {}", f.message()))
                .unwrap_or_default()
        )),
    }
}

// ----- rate_limit ----------------------------------------------------------------------

/// Attempts sent past the limit to find a limiter with another threshold.
const EXTRA_ATTEMPTS: u32 = 5;

async fn rate_limit(cx: &mut CheckCx<'_, '_>, spec: &RateLimit) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the attempts did not hold: {}",
            f.message()
        ));
    }
    let refusal = spec.expect_status;
    let mut seen: Vec<String> = Vec::new();
    let mut early: Vec<u32> = Vec::new();
    let mut first_refusal: Option<(u32, Incoming)> = None;
    let total_allowed = spec.allowed;
    let mut at_limit = false;
    let max_attempt = total_allowed + 1 + EXTRA_ATTEMPTS.max(total_allowed);
    for attempt in 1..=max_attempt {
        let ex = match cx.send(&spec.request).await {
            Ok(ex) => ex,
            Err(e) => return Verdict::error(format!("cannot prepare the attempt: {e}")),
        };
        seen.push(got(&ex));
        let refused = ex.response().is_some_and(|r| r.status == refusal);
        if refused {
            if first_refusal.is_none()
                && let Some(r) = ex.response()
            {
                first_refusal = Some((attempt, r.clone()));
            }
            if attempt <= total_allowed {
                early.push(attempt);
            }
        }
        if attempt == total_allowed + 1 {
            at_limit = refused;
            if refused || first_refusal.is_some() {
                break;
            }
        }
        if attempt > total_allowed + 1 && refused {
            break;
        }
    }
    cx.evidence
        .note(format!("statuses of attempts 1..: {}", seen.join(", ")));
    let limiter = first_refusal.is_some();

    // Parts: (what, held, detail when it did not hold).
    let mut parts: Vec<(String, bool, String)> = Vec::new();
    parts.push((
        format!("the first {total_allowed} attempts are not refused"),
        limiter && early.is_empty(),
        if limiter {
            format!(
                "refused already at attempt{} {}",
                if early.len() == 1 { "" } else { "s" },
                early
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!("no attempt was ever refused with {refusal}")
        },
    ));
    parts.push((
        format!("attempt {} is refused with {refusal}", total_allowed + 1),
        at_limit,
        match &first_refusal {
            Some((n, _)) => format!("the first refusal came at attempt {n}"),
            None => format!(
                "attempt {} got {}",
                total_allowed + 1,
                seen.get(total_allowed as usize)
                    .cloned()
                    .unwrap_or_default()
            ),
        },
    ));
    if let Some(h) = &spec.expect_header {
        let value = first_refusal
            .as_ref()
            .and_then(|(_, r)| r.header(h).map(str::to_owned));
        let (held, detail) = match (&first_refusal, value) {
            (None, _) => (false, "there was no refusal to carry it".to_owned()),
            (Some(_), None) => (false, format!("the refusal has no `{h}` header")),
            (Some(_), Some(v)) if h.eq_ignore_ascii_case("retry-after") => {
                match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => (true, String::new()),
                    _ => (
                        false,
                        format!(
                            "`{h}: {}` is not a positive number of seconds",
                            truncate_text(&v, 80).0
                        ),
                    ),
                }
            }
            (Some(_), Some(_)) => (true, String::new()),
        };
        parts.push((format!("the refusal carries `{h}`"), held, detail));
    }
    if let Some(req) = &spec.still_refused {
        let ex = match cx.send(req).await {
            Ok(ex) => ex,
            Err(e) => return Verdict::error(format!("cannot prepare `still_refused`: {e}")),
        };
        let refused = ex.response().is_some_and(|r| r.status == refusal);
        parts.push((
            format!("{} is still refused after the limit", label(&ex)),
            limiter && refused,
            if limiter {
                format!("it got {}", got(&ex))
            } else {
                "there is no limit to be refused by".to_owned()
            },
        ));
    }
    if let Some(step) = &spec.unaffected {
        let r = cx.step(step).await;
        let detail = match &r {
            Err(f) => f.message(),
            Ok(_) => "there is no limit it could be unaffected by".to_owned(),
        };
        parts.push((
            "another identity is unaffected".to_owned(),
            limiter && r.is_ok(),
            detail,
        ));
    }

    let held = parts.iter().filter(|p| p.1).count();
    let mut lines = Vec::new();
    for (what, ok, detail) in &parts {
        lines.push(if *ok {
            format!("held: {what}")
        } else {
            format!("did not hold: {what} ({detail})")
        });
    }
    cx.evidence.note(lines.join("\n"));
    let failed: Vec<String> = parts
        .iter()
        .filter(|p| !p.1)
        .map(|(what, _, detail)| format!("{what}: {detail}"))
        .collect();
    let message = if failed.is_empty() {
        format!(
            "refused with {refusal} after {total_allowed} attempts{}",
            spec.expect_header
                .as_ref()
                .map(|h| format!(", with `{h}`"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "{held} of {} rate-limit parts held; {}",
            parts.len(),
            first_n(&failed, 4)
        )
    };
    partial(held as f64 / parts.len() as f64, failed.is_empty(), message)
}

// ----- headers -------------------------------------------------------------------------

async fn headers(cx: &mut CheckCx<'_, '_>, spec: &SecurityHeaders) -> Verdict {
    let ex = match cx.send(&spec.request).await {
        Ok(ex) => ex,
        Err(e) => return Verdict::error(format!("cannot prepare the request: {e}")),
    };
    let Some(resp) = ex.response() else {
        return Verdict::fail(format!("{} got {}", label(&ex), got(&ex)));
    };
    if spec.expect.is_empty() {
        return Verdict::error("no headers are expected");
    }
    let (present, missing): (Vec<&String>, Vec<&String>) =
        spec.expect.iter().partition(|h| resp.header(h).is_some());
    cx.evidence.note(format!(
        "present: {}; missing: {}",
        if present.is_empty() {
            "none".to_owned()
        } else {
            present
                .iter()
                .map(|h| format!("{h}: {}", resp.header(h).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        },
        if missing.is_empty() {
            "none".to_owned()
        } else {
            missing
                .iter()
                .map(|h| h.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    let total = spec.expect.len();
    partial(
        present.len() as f64 / total as f64,
        missing.is_empty(),
        if missing.is_empty() {
            format!("all {total} advisory headers present")
        } else {
            format!(
                "{} of {total} advisory headers present; missing {}",
                present.len(),
                missing
                    .iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    )
}
