//! `load` checks: seed data through the API, then drive the service with the load engine
//! (open or closed model, latency from intended send times) and grade the figures between
//! target and floor; optionally judge how latency scales with data size.

use std::time::{Duration, Instant};

use assay_format::{LoadCheck, LoadModelKind, Request};
use assay_model::{Evidence, LanePhase};
use futures_util::StreamExt;
use serde_json::Value;

use crate::checks::lifecycle::band_credit;
use crate::context::{CheckCx, Shared, Verdict};
use assay_loadgen::{self as load, LoadModel, LoadPlan, LoadReport, Target, WeightedRequest};

/// The multiplier on load phases' durations (test mode shortens, never skips).
pub fn time_scale(shared: &Shared<'_>) -> f64 {
    if shared.config.test_mode {
        shared
            .assessment
            .file
            .test_mode
            .load_time_scale
            .clamp(0.01, 1.0)
    } else {
        1.0
    }
}

fn seed_scale(shared: &Shared<'_>) -> f64 {
    if shared.config.test_mode {
        shared
            .assessment
            .file
            .test_mode
            .seed_scale
            .clamp(0.001, 1.0)
    } else {
        1.0
    }
}

pub async fn run(cx: &mut CheckCx<'_, '_>, spec: &LoadCheck) -> Verdict {
    if let Err(f) = cx.steps(&spec.before).await {
        return Verdict::fail(format!(
            "a step before the load did not hold: {}",
            f.message()
        ));
    }
    if let Some(seed) = &spec.seed {
        // Seeding is heavy: it shares the batch's lane with builds, never with a measurement.
        let check_id = cx.check_id.clone();
        let _lane = cx.shared.lane(LanePhase::Seed, &check_id).await;
        let count = ((seed.count as f64) * seed_scale(cx.shared))
            .ceil()
            .max(1.0) as u64;
        let seeded = match (&seed.request, &seed.sql) {
            (Some(request), _) => {
                seed_data(
                    cx,
                    request,
                    count,
                    seed.concurrency.max(1),
                    seed.expect_status.as_ref(),
                )
                .await
            }
            (None, Some(sql)) => seed_sql(cx, sql, count).await,
            (None, None) => Err(Verdict::error("a seed needs `request` or `sql`")),
        };
        if let Err(v) = seeded {
            return v;
        }
    }

    let target = match Target::resolve(&cx.shared.client.base_url()).await {
        Ok(t) => t,
        Err(e) => return Verdict::error(format!("cannot reach the service for load: {e}")),
    };
    let scale = time_scale(cx.shared);
    let mut mix = Vec::new();
    for m in &spec.mix {
        match weighted(cx, &m.name, m.weight, &m.request) {
            Ok(w) => mix.push(w),
            Err(v) => return v,
        }
    }
    let model = match spec.model {
        LoadModelKind::Open => LoadModel::Open {
            rate_per_sec: spec.rate.unwrap_or(load::DEFAULT_RATE_PER_SEC),
        },
        LoadModelKind::Closed => LoadModel::Closed {
            concurrency: spec.connections.max(1),
        },
    };
    let mut plan = LoadPlan::new(
        target.clone(),
        model,
        spec.duration.0.mul_f64(scale).max(Duration::from_secs(1)),
        mix,
    );
    plan.warmup = spec.warmup.0.mul_f64(scale);
    plan.connections = spec.connections.max(1);
    plan.request_timeout = cx.shared.request_timeout;
    plan.seed = cx.shared.config.seed;
    let last_second = std::sync::atomic::AtomicU64::new(u64::MAX);
    let check_id = cx.check_id.clone();
    let sink = cx.shared.progress;
    let live = |p: load::LoadProgress| {
        let second = p.elapsed_secs as u64;
        if let Some(f) = sink
            && last_second.swap(second, std::sync::atomic::Ordering::Relaxed) != second
        {
            f(crate::Progress::Load {
                check: check_id.clone(),
                elapsed_secs: p.elapsed_secs,
                planned_secs: p.planned_secs,
                completed: p.completed,
                errors: p.errors,
                current_rps: p.current_rps,
            });
        }
    };
    // From here on the check measures: it holds the batch's lane alone until it returns.
    let _measuring = cx.shared.lane(LanePhase::Measure, &cx.check_id).await;
    let report = match load::run(&plan, Some(&live)).await {
        Ok(r) => r,
        Err(e) => return Verdict::error(format!("the load engine failed: {e}")),
    };
    record(cx, "", &report);

    let (latency, by_parts) = report.steady_latency();
    if by_parts {
        cx.evidence.note(format!(
            "latency judged on the median of the window's {} parts (p95 by part: {})",
            report.windows.len(),
            report
                .windows
                .iter()
                .map(|w| format!("{:.1} ms", w.p95_ms))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut parts: Vec<(String, f64)> = Vec::new();
    let t = &spec.thresholds;
    for (name, band, value, higher) in [
        ("p50", t.p50_ms, latency.p50_ms, false),
        ("p95", t.p95_ms, latency.p95_ms, false),
        ("p99", t.p99_ms, latency.p99_ms, false),
        ("error rate", t.error_rate, report.error_rate(), false),
        ("throughput", t.min_rps, report.throughput_rps, true),
    ] {
        if let Some(b) = band {
            let c = if report.requests == 0 {
                0.0
            } else {
                band_credit(value, b, higher)
            };
            parts.push((
                format!(
                    "{name} {} (target {}, floor {})",
                    show(value, name),
                    b.target,
                    b.floor
                ),
                c,
            ));
        }
    }

    if let Some(scaling) = &spec.scaling {
        // Each side a quarter of the main phase: enough samples for a p95, half the cost.
        let phase = (spec.duration.0.mul_f64(scale) / 4).max(Duration::from_secs(1));
        let mut figures = Vec::new();
        for (label, req) in [("small", &scaling.small), ("large", &scaling.large)] {
            let w = match weighted(cx, label, 1, req) {
                Ok(w) => w,
                Err(v) => return v,
            };
            let mut p = LoadPlan::new(
                target.clone(),
                LoadModel::Closed {
                    concurrency: spec.connections.clamp(1, 8),
                },
                phase,
                vec![w],
            );
            p.warmup = Duration::from_millis(500);
            p.request_timeout = cx.shared.request_timeout;
            p.seed = cx.shared.config.seed;
            match load::run(&p, None).await {
                Ok(r) => {
                    record(cx, &format!("{label} "), &r);
                    figures.push(r.latency.p95_ms);
                }
                Err(e) => return Verdict::error(format!("the load engine failed: {e}")),
            }
        }
        if let [small, large] = figures[..] {
            let ratio = if small > 0.0 {
                large / small
            } else {
                f64::INFINITY
            };
            cx.evidence.push(Evidence::Measurement {
                name: "p95 ratio large/small".into(),
                value: ratio,
                unit: "×".into(),
                target: Some(scaling.ratio.target),
                floor: Some(scaling.ratio.floor),
            });
            parts.push((
                format!(
                    "scaling ratio {ratio:.2}× (target {}, floor {})",
                    scaling.ratio.target, scaling.ratio.floor
                ),
                band_credit(ratio, scaling.ratio, false),
            ));
        }
    }

    if parts.is_empty() {
        return Verdict::pass(format!(
            "{} requests, {:.0} req/s (no thresholds)",
            report.requests, report.throughput_rps
        ));
    }
    let credit = parts.iter().map(|(_, c)| c).sum::<f64>() / parts.len() as f64;
    let text: Vec<String> = parts
        .iter()
        .map(|(t, c)| format!("{t}: {:.0}%", c * 100.0))
        .collect();
    Verdict::graded(
        credit,
        format!(
            "{} requests at {:.0} req/s; {}",
            report.requests,
            report.throughput_rps,
            text.join("; ")
        ),
    )
}

fn show(value: f64, name: &str) -> String {
    match name {
        "error rate" => format!("{:.2}%", value * 100.0),
        "throughput" => format!("{value:.0} req/s"),
        _ => format!("{value:.1} ms"),
    }
}

fn record(cx: &CheckCx<'_, '_>, prefix: &str, r: &LoadReport) {
    for (name, value, unit) in [
        ("p50", r.latency.p50_ms, "ms"),
        ("p90", r.latency.p90_ms, "ms"),
        ("p95", r.latency.p95_ms, "ms"),
        ("p99", r.latency.p99_ms, "ms"),
        ("max", r.latency.max_ms, "ms"),
        ("throughput", r.throughput_rps, "req/s"),
        ("error rate", r.error_rate() * 100.0, "%"),
    ] {
        cx.evidence.push(Evidence::Measurement {
            name: format!("{prefix}{name}"),
            value,
            unit: unit.into(),
            target: None,
            floor: None,
        });
    }
    cx.evidence.note(format!(
        "{prefix}{} requests in {:.1} s over {} connections; statuses {}; uncorrected p95 {:.1} ms",
        r.requests,
        r.duration_secs,
        r.connections,
        r.statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.uncorrected.p95_ms
    ));
}

fn weighted(
    cx: &mut CheckCx<'_, '_>,
    name: &str,
    weight: u32,
    req: &Request,
) -> Result<WeightedRequest, Verdict> {
    let out = cx
        .prepare(req)
        .map_err(|e| Verdict::error(format!("cannot prepare `{name}`: {e}")))?;
    Ok(WeightedRequest {
        name: name.to_owned(),
        weight: weight.max(1),
        method: out.method,
        path: out.path,
        headers: out.headers,
        body: out.body.map(load::Bytes::from),
    })
}

/// How long seeding through the database may take.
const SQL_SEED_LIMIT: Duration = Duration::from_secs(300);

/// Seeds through the database: `sql` rendered with `{{ count }}`, run once.
async fn seed_sql(
    cx: &mut CheckCx<'_, '_>,
    sql: &assay_format::Template,
    count: u64,
) -> Result<(), Verdict> {
    cx.vars.set("count", Value::from(count));
    let sql = cx
        .vars
        .render(sql)
        .map_err(|e| Verdict::error(format!("cannot render the seed SQL: {e}")))?;
    let start = Instant::now();
    let rows = super::database::seed(cx, &sql, SQL_SEED_LIMIT).await?;
    let secs = start.elapsed().as_secs_f64();
    cx.evidence.push(Evidence::Measurement {
        name: "rows seeded through the database".into(),
        value: rows as f64,
        unit: "rows".into(),
        target: Some(count as f64),
        floor: None,
    });
    cx.evidence.push(Evidence::Measurement {
        name: "seeding time".into(),
        value: secs,
        unit: "s".into(),
        target: None,
        floor: None,
    });
    Ok(())
}

/// Tries per seed request when the service answers 429 or 503.
const SEED_TRIES: u32 = 8;
/// The longest wait between tries (whatever `Retry-After` asks).
const SEED_MAX_WAIT: Duration = Duration::from_secs(5);
/// Successes in a row after which one more seed request may be in flight again.
const SEED_RAMP: u32 = 32;

/// The pace of API seeding, set by the service's own answers: up to `max` requests in
/// flight; a 429 or 503 pauses every sender (for `Retry-After`, else 100 ms doubling) and
/// halves the requests in flight; a run of successes lets one more in again. What is sent
/// never depends on the pace: every request is rendered, in order, before any is sent.
struct SeedPace {
    max: usize,
    state: std::sync::Mutex<PaceState>,
}

struct PaceState {
    /// Requests allowed in flight now (1..=max).
    allowed: usize,
    in_flight: usize,
    /// Nobody sends before this.
    paused_until: Option<tokio::time::Instant>,
    successes: u32,
    /// The fewest allowed in flight during the seeding.
    lowest: usize,
}

impl SeedPace {
    fn new(max: usize) -> SeedPace {
        SeedPace {
            max,
            state: std::sync::Mutex::new(PaceState {
                allowed: max,
                in_flight: 0,
                paused_until: None,
                successes: 0,
                lowest: max,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a request may be sent, then counts it in flight.
    async fn enter(&self) {
        loop {
            let wait = {
                let mut s = self.state();
                let now = tokio::time::Instant::now();
                match s.paused_until {
                    Some(t) if t > now => Some(t),
                    _ if s.in_flight < s.allowed => {
                        s.in_flight += 1;
                        return;
                    }
                    _ => None,
                }
            };
            match wait {
                Some(t) => tokio::time::sleep_until(t).await,
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
    }

    /// The answer to a request that was in flight: `busy` with the wait the service asked for.
    fn leave(&self, busy: Option<Duration>) {
        let mut s = self.state();
        s.in_flight = s.in_flight.saturating_sub(1);
        match busy {
            Some(wait) => {
                s.allowed = (s.allowed / 2).max(1);
                s.lowest = s.lowest.min(s.allowed);
                s.successes = 0;
                let until = tokio::time::Instant::now() + wait;
                if s.paused_until.is_none_or(|t| t < until) {
                    s.paused_until = Some(until);
                }
            }
            None => {
                s.successes += 1;
                if s.successes >= SEED_RAMP && s.allowed < self.max {
                    s.allowed += 1;
                    s.successes = 0;
                }
            }
        }
    }
}

/// Sends a seed request at the pace the service sets, trying again while it answers 429
/// (too many requests) or 503 (unavailable): after `Retry-After` seconds when given, else
/// 100 ms doubling. Returns the last exchange and how many retries it took.
async fn send_with_backoff(
    client: &crate::http::Client,
    pace: &SeedPace,
    out: crate::http::Outgoing,
) -> (crate::http::Exchange, u32) {
    let mut retries = 0u32;
    loop {
        pace.enter().await;
        let ex = client.send(out.clone()).await;
        let busy = ex.response().filter(|r| matches!(r.status, 429 | 503));
        let Some(resp) = busy else {
            pace.leave(None);
            return (ex, retries);
        };
        let asked = resp
            .header("retry-after")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let wait = asked
            .unwrap_or(Duration::from_millis(100) * 2u32.pow(retries.min(6)))
            .min(SEED_MAX_WAIT);
        pace.leave(Some(wait));
        if retries + 1 >= SEED_TRIES {
            return (ex, retries);
        }
        retries += 1;
    }
}

/// Sends `request` `count` times (`{{ n }}` its index, every one rendered in order first, so
/// the data depend on the seed alone), up to `concurrency` at once, at the pace the
/// service's answers allow.
async fn seed_data(
    cx: &mut CheckCx<'_, '_>,
    request: &Request,
    count: u64,
    concurrency: u32,
    expect: Option<&assay_format::StatusSpec>,
) -> Result<(), Verdict> {
    let start = Instant::now();
    let mut prepared = Vec::with_capacity(count as usize);
    for n in 0..count {
        cx.vars.set("n", Value::from(n));
        prepared.push(
            cx.prepare(request)
                .map_err(|e| Verdict::error(format!("cannot prepare the seed request: {e}")))?,
        );
    }
    let client = cx.shared.client.clone();
    let mut ok = 0u64;
    let mut first_failure = None;
    let mut retried = 0u64;
    let pace = SeedPace::new(concurrency as usize);
    let mut stream = futures_util::stream::iter(prepared.into_iter().map(|o| {
        let (c, pace) = (client.clone(), &pace);
        async move { send_with_backoff(&c, pace, o).await }
    }))
    .buffer_unordered(concurrency as usize);
    while let Some((ex, retries)) = stream.next().await {
        retried += u64::from(retries);
        let good = ex.response().is_some_and(|r| match expect {
            Some(s) => s.allows(r.status),
            None => (200..300).contains(&r.status),
        });
        if good {
            ok += 1;
        } else if first_failure.is_none() {
            first_failure = Some(ex.evidence());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    cx.evidence.push(Evidence::Measurement {
        name: "rows seeded".into(),
        value: ok as f64,
        unit: "requests".into(),
        target: Some(count as f64),
        floor: None,
    });
    cx.evidence.push(Evidence::Measurement {
        name: "seeding rate".into(),
        value: ok as f64 / secs.max(1e-9),
        unit: "req/s".into(),
        target: None,
        floor: None,
    });
    drop(stream);
    if retried > 0 {
        let lowest = pace.state().lowest;
        cx.evidence.note(format!(
            "{retried} seed request{} retried after 429 or 503 (backing off, honouring Retry-After; {lowest} of {concurrency} in flight at the slowest)",
            if retried == 1 { " was" } else { "s were" }
        ));
    }
    if let Some(f) = first_failure {
        cx.evidence.push(f);
    }
    if ok * 100 < count * 99 {
        return Err(Verdict::fail(format!(
            "seeding failed: only {ok} of {count} requests succeeded"
        )));
    }
    Ok(())
}
