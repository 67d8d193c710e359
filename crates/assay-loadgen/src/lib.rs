//! The load generator: drives a plain HTTP/1.1 service with a weighted request mix under an
//! open (arrival-rate) or closed (concurrency) model and measures it.
//!
//! Open model, the default: request `i` is due at `start + i / rate` whatever the server
//! does. A free connection sends it at that time; when every connection is busy it waits for
//! one, and its latency counts from the due time, so a stalling server shows in the figures
//! instead of silently lowering the load (no coordinated omission, as in wrk2). The service
//! time alone (from the actual send) is recorded too. The queue costs no memory: due times
//! follow from the request number.
//!
//! Closed model: `concurrency` workers each send back-to-back on their own connection.
//!
//! Every request runs under the request timeout, bodies are read and discarded up to a cap,
//! and the run stops by itself: nothing is sent after warm-up + duration, and work still in
//! flight past the request timeout plus a grace is abandoned. Independent of any assessment
//! format: callers build a [`LoadPlan`].

mod calibrate;
mod conn;
mod mix;
mod plan;
mod record;
mod report;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

pub use bytes::Bytes;
pub use plan::{
    DEFAULT_CONNECTIONS, DEFAULT_RATE_PER_SEC, DEFAULT_REQUEST_TIMEOUT, DEFAULT_WARMUP, LoadLimits,
    LoadModel, LoadPlan, Target, WeightedRequest,
};
pub use report::{
    ErrorCounts, ErrorKind, KindReport, LoadPhase, LoadProgress, LoadReport, Percentiles,
    PhaseCounts,
};

pub use calibrate::calibrate;

use conn::{Outcome, Slot};
use plan::Prepared;
use record::{Phase, Recorder, Sample};

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Pause of a closed-model worker after a failed connect, so a dead server is not hammered
/// in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// Why a load run could not be started. A failing server is never an error: its failures
/// are counted in the [`LoadReport`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid load plan: {0}")]
    InvalidPlan(String),
    #[error("request `{name}` of the mix is invalid: {reason}")]
    InvalidRequest { name: String, reason: String },
    #[error("invalid load target `{url}`: {reason}")]
    InvalidTarget { url: String, reason: String },
    #[error("cannot resolve `{host}`: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("load generator failure: {0}")]
    Internal(String),
}

/// A callback receiving a [`LoadProgress`] snapshot about every 250 ms and once at the end.
pub type ProgressFn<'a> = &'a (dyn Fn(LoadProgress) + Send + Sync);

/// The open model's schedule, in request numbers.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    rate: f64,
    /// Requests `0..warmup_count` belong to the warm-up.
    warmup_count: u64,
    /// Requests `warmup_count..total_count` belong to the measured window.
    total_count: u64,
}

impl Schedule {
    fn new(rate: f64, warmup: Duration, duration: Duration, max_requests: u64) -> Self {
        let count = |secs: f64| (secs * rate).ceil() as u64;
        let warmup_count = count(warmup.as_secs_f64()).min(max_requests);
        let total_count = count(warmup.as_secs_f64() + duration.as_secs_f64()).min(max_requests);
        Self {
            rate,
            warmup_count,
            total_count,
        }
    }

    fn due(&self, start: Instant, index: u64) -> Instant {
        start + Duration::from_secs_f64(index as f64 / self.rate)
    }

    fn scheduled(&self) -> u64 {
        self.total_count.saturating_sub(self.warmup_count)
    }
}

struct Shared {
    prepared: Prepared,
    recorder: Recorder,
    /// The next request number.
    next: AtomicU64,
    start: Instant,
    measure_start: Instant,
    end: Instant,
    schedule: Option<Schedule>,
}

/// Runs `plan` and reports what was measured. Returns once every worker has stopped: at the
/// latest warm-up + duration + request timeout + grace after the start.
pub async fn run(
    plan: &LoadPlan,
    progress: Option<ProgressFn<'_>>,
) -> Result<LoadReport, LoadError> {
    let prepared = plan.prepare()?;
    let names: Vec<String> = plan.mix.iter().map(|r| r.name.clone()).collect();
    let start = Instant::now();
    let measure_start = start + prepared.warmup;
    let recorder = Recorder::new(
        names.len(),
        prepared.workers,
        measure_start,
        prepared.duration,
    )?;
    let end = measure_start + prepared.duration;
    let deadline = end + prepared.request_timeout + prepared.grace;
    let schedule = match prepared.model {
        LoadModel::Open { rate_per_sec } => Some(Schedule::new(
            rate_per_sec,
            prepared.warmup,
            prepared.duration,
            prepared.max_requests,
        )),
        LoadModel::Closed { .. } => None,
    };
    let workers = prepared.workers;
    let planned_secs = (prepared.warmup + prepared.duration).as_secs_f64();
    let shared = Arc::new(Shared {
        prepared,
        recorder,
        next: AtomicU64::new(0),
        start,
        measure_start,
        end,
        schedule,
    });

    let mut set = JoinSet::new();
    for id in 0..workers as usize {
        let shared = Arc::clone(&shared);
        match schedule {
            Some(schedule) => set.spawn(open_worker(shared, id, schedule)),
            None => set.spawn(closed_worker(shared, id)),
        };
    }

    let mut ticker = tokio::time::interval_at(start + PROGRESS_EVERY, PROGRESS_EVERY);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let overall = tokio::time::sleep_until(deadline);
    tokio::pin!(overall);
    let mut last = (start, 0u64);
    let mut hit_deadline = false;
    let mut panicked = false;
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                None => break,
                Some(Err(e)) if e.is_panic() => panicked = true,
                Some(_) => {}
            },
            _ = ticker.tick(), if progress.is_some() => {
                if let Some(report) = progress {
                    let now = Instant::now();
                    let phase = if now < measure_start {
                        LoadPhase::Warmup
                    } else if now < end {
                        LoadPhase::Measuring
                    } else {
                        LoadPhase::Draining
                    };
                    let snapshot = snapshot(&shared.recorder, phase, start, planned_secs, last);
                    last = (now, snapshot.completed);
                    report(snapshot);
                }
            }
            () = &mut overall => {
                hit_deadline = true;
                set.abort_all();
                while set.join_next().await.is_some() {}
                break;
            }
        }
    }
    if panicked {
        return Err(LoadError::Internal("a load worker panicked".to_owned()));
    }

    let report = build_report(&shared, &names, workers, hit_deadline)?;
    if let Some(report_progress) = progress {
        report_progress(snapshot(
            &shared.recorder,
            LoadPhase::Done,
            start,
            planned_secs,
            last,
        ));
    }
    Ok(report)
}

fn snapshot(
    recorder: &Recorder,
    phase: LoadPhase,
    start: Instant,
    planned_secs: f64,
    (last_at, last_completed): (Instant, u64),
) -> LoadProgress {
    let now = Instant::now();
    let completed = recorder.completed.load(Ordering::Relaxed);
    let dt = now.saturating_duration_since(last_at).as_secs_f64();
    LoadProgress {
        phase,
        elapsed_secs: now.saturating_duration_since(start).as_secs_f64(),
        planned_secs,
        completed,
        errors: recorder.failed.load(Ordering::Relaxed),
        current_rps: if dt > 0.0 {
            completed.saturating_sub(last_completed) as f64 / dt
        } else {
            0.0
        },
    }
}

/// An open-model worker: claims the next request number, waits for its due time if it is
/// early, sends, records; stops at the end of the schedule or of the window.
async fn open_worker(shared: Arc<Shared>, id: usize, schedule: Schedule) {
    let mut slot = Slot::new();
    let p = &shared.prepared;
    loop {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        if index >= schedule.total_count {
            break;
        }
        let now = Instant::now();
        if now >= shared.end {
            // Still queued when the window closed: counted as unsent.
            break;
        }
        if index < schedule.warmup_count && now >= shared.measure_start {
            // The warm-up's backlog is dropped when the window opens: this request, and
            // every warm-up request nobody has claimed yet (counted once, by whoever moves
            // the counter past them).
            let first_unclaimed = shared
                .next
                .fetch_max(schedule.warmup_count, Ordering::Relaxed);
            let skipped = 1 + schedule.warmup_count.saturating_sub(first_unclaimed);
            shared
                .recorder
                .warmup_unsent
                .fetch_add(skipped, Ordering::Relaxed);
            continue;
        }
        let due = schedule.due(shared.start, index);
        // Late means every connection was busy at the due time: the wait is the server's
        // doing and counts. Early means this connection was idle: any timer slack after
        // the due time is ours, so the clock starts at the actual send.
        let late = now >= due;
        if !late {
            pace_until(due).await;
        }
        let sent = Instant::now();
        let origin = if late { due } else { sent };
        let kind = p.mix.pick(p.seed, index);
        let outcome = slot.exchange(p, kind, sent).await;
        let done = Instant::now();
        shared.recorder.record(
            id,
            Sample {
                phase: if index < schedule.warmup_count {
                    Phase::Warmup
                } else {
                    Phase::Measured
                },
                kind,
                outcome,
                corrected: done.saturating_duration_since(origin),
                uncorrected: done.saturating_duration_since(sent),
                completed_at: done,
            },
        );
    }
}

/// How much before a due time tokio's timer is asked to wake a worker: the timer works in
/// whole milliseconds and may fire up to one late, which at tens of thousands of requests
/// per second releases them in bursts (a p99 several times a paced wrk's).
const TIMER_SLACK: Duration = Duration::from_micros(1500);

/// Waits until `due` to within microseconds: the timer for all but the last
/// [`TIMER_SLACK`], then yielding to the runtime (other workers' sends and reads go on)
/// until the time has come.
async fn pace_until(due: Instant) {
    if let Some(coarse) = due.checked_sub(TIMER_SLACK)
        && Instant::now() < coarse
    {
        tokio::time::sleep_until(coarse).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

/// A closed-model worker: sends back-to-back until the window closes.
async fn closed_worker(shared: Arc<Shared>, id: usize) {
    let mut slot = Slot::new();
    let p = &shared.prepared;
    loop {
        let sent = Instant::now();
        if sent >= shared.end {
            break;
        }
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        if index >= p.max_requests {
            break;
        }
        let kind = p.mix.pick(p.seed, index);
        let outcome = slot.exchange(p, kind, sent).await;
        let done = Instant::now();
        let elapsed = done.saturating_duration_since(sent);
        shared.recorder.record(
            id,
            Sample {
                phase: if sent < shared.measure_start {
                    Phase::Warmup
                } else {
                    Phase::Measured
                },
                kind,
                outcome,
                corrected: elapsed,
                uncorrected: elapsed,
                completed_at: done,
            },
        );
        if outcome == Outcome::Failed(ErrorKind::Connect) {
            tokio::time::sleep(CONNECT_BACKOFF).await;
        }
    }
}

fn build_report(
    shared: &Shared,
    names: &[String],
    workers: u32,
    hit_deadline: bool,
) -> Result<LoadReport, LoadError> {
    let finished = shared.recorder.finish(names)?;
    let mut requests = 0;
    let mut ok = 0;
    let mut client_errors = 0;
    let mut errors = ErrorCounts::default();
    let mut statuses = std::collections::BTreeMap::new();
    for k in &finished.kinds {
        requests += k.requests;
        ok += k.ok;
        client_errors += k.client_errors;
        errors.merge(&k.errors);
        for (status, n) in &k.statuses {
            *statuses.entry(*status).or_insert(0u64) += n;
        }
    }
    let planned = shared.prepared.duration;
    let window = finished
        .last_completion
        .map_or(planned, |t| {
            t.saturating_duration_since(shared.measure_start)
        })
        .max(planned);
    let responses = ok + client_errors + errors.status_5xx;
    let (scheduled, unsent) = match shared.schedule {
        Some(s) => (s.scheduled(), s.scheduled().saturating_sub(requests)),
        None => (requests, 0),
    };
    Ok(LoadReport {
        model: shared.prepared.model,
        connections: workers,
        scheduled,
        unsent,
        requests,
        ok,
        client_errors,
        errors,
        statuses,
        throughput_rps: responses as f64 / window.as_secs_f64(),
        duration_secs: window.as_secs_f64(),
        latency: finished.latency,
        uncorrected: finished.uncorrected,
        kinds: finished.kinds,
        warmup: finished.warmup,
        windows: finished.windows,
        hit_deadline,
    })
}
