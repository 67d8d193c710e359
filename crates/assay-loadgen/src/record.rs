//! Recording outcomes: HDR histograms (microseconds, 3 significant digits, resized as
//! needed) and counts, in a few mutex-guarded shards so workers rarely contend, merged
//! into a [`LoadReport`] at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::LoadError;
use super::conn::Outcome;
use super::report::{ErrorCounts, ErrorKind, KindReport, Percentiles, PhaseCounts};

/// Latencies are capped here before recording (an hour, in µs): far past any timeout.
const MAX_RECORDED_US: u64 = 3_600_000_000;
const SIGFIG: u8 = 3;

/// Shards of the recorder; workers share them round-robin.
const MAX_SHARDS: usize = 8;

/// The measured window is also recorded as this many equal parts, so a verdict can rest on
/// the median part: one stall of the host (a neighbour's burst, a page-cache flush) moves
/// one part, not the verdict.
pub const WINDOWS: usize = 3;

/// Which part of the run a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Warmup,
    Measured,
}

/// Counts and histograms of one request kind.
struct KindRecord {
    requests: u64,
    ok: u64,
    client_errors: u64,
    errors: ErrorCounts,
    statuses: BTreeMap<u16, u64>,
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
}

impl KindRecord {
    fn new() -> Result<Self, LoadError> {
        Ok(Self {
            requests: 0,
            ok: 0,
            client_errors: 0,
            errors: ErrorCounts::default(),
            statuses: BTreeMap::new(),
            corrected: histogram()?,
            uncorrected: histogram()?,
        })
    }

    fn merge(&mut self, other: &KindRecord) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.errors.merge(&other.errors);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        // Both are auto-resizing with the same precision: adding cannot fail.
        self.corrected.add(&other.corrected).ok();
        self.uncorrected.add(&other.uncorrected).ok();
    }

    fn into_report(self, name: String) -> KindReport {
        KindReport {
            name,
            requests: self.requests,
            ok: self.ok,
            client_errors: self.client_errors,
            errors: self.errors,
            statuses: self.statuses,
            latency: Percentiles::from_histogram(&self.corrected),
            uncorrected: Percentiles::from_histogram(&self.uncorrected),
        }
    }
}

fn histogram() -> Result<Histogram<u64>, LoadError> {
    Histogram::new(SIGFIG).map_err(|e| LoadError::Internal(format!("histogram: {e:?}")))
}

struct Shard {
    kinds: Vec<KindRecord>,
    /// Corrected latencies of every kind, by the part of the window the request was due in.
    windows: Vec<Histogram<u64>>,
    last_completion: Option<Instant>,
}

/// Everything recorded so far, shared by the workers.
pub(crate) struct Recorder {
    shards: Vec<Mutex<Shard>>,
    warmup: Mutex<PhaseCounts>,
    /// Completions (warm-up included), for progress.
    pub completed: AtomicU64,
    /// Failures (warm-up included), for progress.
    pub failed: AtomicU64,
    /// Warm-up requests dropped at the start of the window.
    pub warmup_unsent: AtomicU64,
    measure_start: Instant,
    /// One of the [`WINDOWS`] parts of the measured window.
    part: Duration,
}

/// One request as measured.
pub(crate) struct Sample {
    pub phase: Phase,
    pub kind: usize,
    pub outcome: Outcome,
    /// From the intended send time (open model) or the send (closed model).
    pub corrected: Duration,
    /// From the actual send.
    pub uncorrected: Duration,
    pub completed_at: Instant,
}

impl Recorder {
    /// A recorder whose measured window starts at `measure_start` and lasts `duration`.
    pub fn new(
        kinds: usize,
        workers: u32,
        measure_start: Instant,
        duration: Duration,
    ) -> Result<Self, LoadError> {
        let shards = (workers as usize).clamp(1, MAX_SHARDS);
        let shards = (0..shards)
            .map(|_| {
                let kinds = (0..kinds)
                    .map(|_| KindRecord::new())
                    .collect::<Result<Vec<_>, _>>()?;
                let windows = (0..WINDOWS)
                    .map(|_| histogram())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Mutex::new(Shard {
                    kinds,
                    windows,
                    last_completion: None,
                }))
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        Ok(Self {
            shards,
            warmup: Mutex::new(PhaseCounts::default()),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            warmup_unsent: AtomicU64::new(0),
            measure_start,
            part: (duration / WINDOWS as u32).max(Duration::from_millis(1)),
        })
    }

    /// The part of the measured window a request was due in (its send time less nothing
    /// it waited for: completion less corrected latency).
    fn part_of(&self, sample: &Sample) -> usize {
        let due = sample
            .completed_at
            .checked_sub(sample.corrected)
            .unwrap_or(self.measure_start);
        let into = due.saturating_duration_since(self.measure_start);
        ((into.as_nanos() / self.part.as_nanos().max(1)) as usize).min(WINDOWS - 1)
    }

    pub fn record(&self, worker: usize, sample: Sample) {
        let failure = match sample.outcome {
            Outcome::Response { status } if status >= 500 => Some(ErrorKind::Status5xx),
            Outcome::Response { .. } => None,
            Outcome::Failed(kind) => Some(kind),
        };
        self.completed.fetch_add(1, Ordering::Relaxed);
        if failure.is_some() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let client_error =
            matches!(sample.outcome, Outcome::Response { status } if (400..500).contains(&status));

        if sample.phase == Phase::Warmup {
            let mut w = lock(&self.warmup);
            w.requests += 1;
            match failure {
                Some(_) => w.errors += 1,
                None if client_error => w.client_errors += 1,
                None => w.ok += 1,
            }
            return;
        }

        let Some(shard) = self.shards.get(worker % self.shards.len()) else {
            return;
        };
        let part = self.part_of(&sample);
        let mut shard = lock(shard);
        shard.last_completion = Some(
            shard
                .last_completion
                .map_or(sample.completed_at, |t| t.max(sample.completed_at)),
        );
        let Some(k) = shard.kinds.get_mut(sample.kind) else {
            return;
        };
        k.requests += 1;
        match failure {
            Some(kind) => k.errors.add(kind),
            None if client_error => k.client_errors += 1,
            None => k.ok += 1,
        }
        let timed = match sample.outcome {
            Outcome::Response { status } => {
                *k.statuses.entry(status).or_default() += 1;
                true
            }
            Outcome::Failed(kind) => kind == ErrorKind::Timeout,
        };
        if timed {
            // Auto-resizing histograms accept any value up to the cap.
            k.corrected.record(micros(sample.corrected)).ok();
            k.uncorrected.record(micros(sample.uncorrected)).ok();
            if let Some(w) = shard.windows.get_mut(part) {
                w.record(micros(sample.corrected)).ok();
            }
        }
    }

    /// Merged per-kind records (in mix order), the warm-up counts and the last completion
    /// of a measured request.
    pub fn finish(&self, names: &[String]) -> Result<Finished, LoadError> {
        let mut kinds = names
            .iter()
            .map(|_| KindRecord::new())
            .collect::<Result<Vec<_>, _>>()?;
        let mut last_completion: Option<Instant> = None;
        let mut windows: Vec<Option<Histogram<u64>>> = vec![None; WINDOWS];
        for shard in &self.shards {
            let shard = lock(shard);
            if let Some(t) = shard.last_completion {
                last_completion = Some(last_completion.map_or(t, |l| l.max(t)));
            }
            for (total, record) in kinds.iter_mut().zip(&shard.kinds) {
                total.merge(record);
            }
            for (total, h) in windows.iter_mut().zip(&shard.windows) {
                merge_into(total, h);
            }
        }
        let mut overall_corrected = None::<Histogram<u64>>;
        let mut overall_uncorrected = None::<Histogram<u64>>;
        let mut reports = Vec::with_capacity(names.len());
        for (record, name) in kinds.into_iter().zip(names) {
            merge_into(&mut overall_corrected, &record.corrected);
            merge_into(&mut overall_uncorrected, &record.uncorrected);
            reports.push(record.into_report(name.clone()));
        }
        Ok(Finished {
            kinds: reports,
            latency: overall_corrected
                .as_ref()
                .map(Percentiles::from_histogram)
                .unwrap_or_default(),
            uncorrected: overall_uncorrected
                .as_ref()
                .map(Percentiles::from_histogram)
                .unwrap_or_default(),
            warmup: PhaseCounts {
                unsent: self.warmup_unsent.load(Ordering::Relaxed),
                ..*lock(&self.warmup)
            },
            windows: windows
                .iter()
                .map(|h| {
                    h.as_ref()
                        .map(Percentiles::from_histogram)
                        .unwrap_or_default()
                })
                .collect(),
            last_completion,
        })
    }
}

pub(crate) struct Finished {
    pub kinds: Vec<KindReport>,
    pub windows: Vec<Percentiles>,
    pub latency: Percentiles,
    pub uncorrected: Percentiles,
    pub warmup: PhaseCounts,
    pub last_completion: Option<Instant>,
}

fn merge_into(total: &mut Option<Histogram<u64>>, h: &Histogram<u64>) {
    match total {
        Some(t) => {
            t.add(h).ok();
        }
        None => *total = Some(h.clone()),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).map_or(MAX_RECORDED_US, |us| us.min(MAX_RECORDED_US))
}

/// A poisoned lock only means a worker panicked mid-record; the counts are still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
