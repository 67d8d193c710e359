//! The performance lane of a batch: measured phases (load checks, growth checks) of the
//! submissions graded at once never overlap each other nor another submission's build,
//! seeding or own tests; everything else runs side by side. Each run records when it held
//! the lane and how long it waited, for its scorecard.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assay_model::{LanePhase, LaneReport, LaneWindow};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// One lane for every run of a batch. A measured phase takes it alone (a write lock);
/// heavy phases (builds, seeding, the candidate's tests) share it (read locks). Tokio's
/// lock is fair: a measured phase waiting for the lane holds back heavy phases that ask
/// after it, so it is never starved.
#[derive(Debug, Clone, Default)]
pub struct PerformanceLane {
    lock: Arc<RwLock<()>>,
}

impl PerformanceLane {
    pub fn new() -> PerformanceLane {
        PerformanceLane::default()
    }

    /// The lane as one run uses it, with its own record.
    pub fn for_run(&self) -> RunLane {
        RunLane {
            lock: self.lock.clone(),
            log: Arc::new(Mutex::new(LaneReport::default())),
            waiting: Arc::new(Mutex::new(Waiting::default())),
        }
    }
}

/// One run's handle on the batch's lane.
#[derive(Debug, Clone)]
pub struct RunLane {
    lock: Arc<RwLock<()>>,
    log: Arc<Mutex<LaneReport>>,
    waiting: Arc<Mutex<Waiting>>,
}

/// Time spent waiting for the lane: finished waits, and the one in progress.
#[derive(Debug, Default)]
struct Waiting {
    total: Duration,
    since: Option<Instant>,
}

impl RunLane {
    /// Waits for the lane and holds it for `phase` until the ticket is dropped.
    pub async fn enter(&self, phase: LanePhase, check: Option<&str>) -> LaneTicket {
        let asked = Instant::now();
        self.waiting().since = Some(asked);
        let hold = if phase.is_exclusive() {
            Hold::Alone(self.lock.clone().write_owned().await)
        } else {
            Hold::Shared(self.lock.clone().read_owned().await)
        };
        let waited = asked.elapsed();
        {
            let mut w = self.waiting();
            w.total += waited;
            w.since = None;
        }
        LaneTicket {
            phase,
            check: check.map(str::to_owned),
            waited_seconds: waited.as_secs_f64(),
            entered_unix_ms: unix_ms(),
            log: self.log.clone(),
            _hold: hold,
        }
    }

    /// Everything this run waited for the lane so far, the wait in progress included
    /// (time limits do not count it against a check).
    pub fn waited(&self) -> Duration {
        let w = self.waiting();
        w.total + w.since.map(|s| s.elapsed()).unwrap_or_default()
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What this run's holds of the lane were so far.
    pub fn report(&self) -> LaneReport {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug)]
enum Hold {
    Alone(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
}

/// Holding the lane; leaving it (drop) records the window, then releases the lane.
#[derive(Debug)]
pub struct LaneTicket {
    phase: LanePhase,
    check: Option<String>,
    waited_seconds: f64,
    entered_unix_ms: u64,
    log: Arc<Mutex<LaneReport>>,
    _hold: Hold,
}

impl Drop for LaneTicket {
    fn drop(&mut self) {
        // Recorded before the guard is released (fields drop after this body), so a
        // neighbour's window never starts before this one's recorded end.
        let window = LaneWindow {
            phase: self.phase,
            check: self.check.take(),
            waited_seconds: self.waited_seconds,
            entered_unix_ms: self.entered_unix_ms,
            left_unix_ms: unix_ms(),
        };
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.wait_seconds += window.waited_seconds;
        log.windows.push(window);
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_measured_phase_waits_for_a_neighbours_build_and_records_it() {
        let lane = PerformanceLane::new();
        let (a, b) = (lane.for_run(), lane.for_run());
        let build = b.enter(LanePhase::Build, None).await;
        let other_build = a.enter(LanePhase::Seed, Some("seed")).await; // shared: no wait
        drop(other_build);
        let waiting = tokio::spawn({
            let a = a.clone();
            async move {
                drop(a.enter(LanePhase::Measure, Some("load")).await);
            }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "the measure must wait for the build"
        );
        drop(build);
        waiting.await.unwrap_or_else(|e| panic!("{e}"));
        let report = a.report();
        assert_eq!(report.windows.len(), 2);
        assert_eq!(report.windows[1].phase, LanePhase::Measure);
        assert_eq!(report.windows[1].check.as_deref(), Some("load"));
        let b_report = b.report();
        assert!(b_report.windows[0].left_unix_ms <= report.windows[1].entered_unix_ms);
    }
}
