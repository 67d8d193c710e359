//! The performance lane of a batch: measured phases (load checks, growth checks, the
//! machine's calibration) of the submissions graded at once never overlap each other nor
//! another submission's build, seeding, own tests, concurrency or lifecycle checks;
//! everything else runs side by side. The lane can also be
//! shared by every assay process of a machine through a lock file (CI shards, the
//! known-answer corpus graded two at a time). Each run records when it held the lane and how
//! long it waited, for its scorecard.
//!
//! The lane has two halves. Heavy phases (builds, seeding, the candidate's tests) share one,
//! concurrency and lifecycle checks share the other; a measured phase takes the heavy half alone first, then the
//! checks' half. So while a measurement waits for a neighbour's build to end, the other
//! submissions' checks go on, and only once the build is over does the measurement hold
//! back new checks and wait for those in progress.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assay_model::{LanePhase, LaneReport, LaneWindow};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// One lane for every run of a batch. A measured phase takes both halves alone (write
/// locks, the heavy half first); heavy phases (builds, seeding, the candidate's tests) share
/// the heavy half, concurrency and lifecycle checks the checks' half (read locks). Tokio's locks are fair: a
/// measured phase waiting for a half holds back shared phases that ask for it after it, so
/// it is never starved.
#[derive(Debug, Clone, Default)]
pub struct PerformanceLane {
    halves: Halves,
    machine: Option<Arc<MachineLane>>,
}

/// The two halves of a lane (see the module's documentation).
#[derive(Debug, Clone, Default)]
struct Halves {
    heavy: Arc<RwLock<()>>,
    checks: Arc<RwLock<()>>,
}

/// The lock could not be set up.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the performance lane's lock file {path}: {source}; name a writable file \
     (every assay process naming the same file shares one lane)"
)]
pub struct LaneError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl PerformanceLane {
    pub fn new() -> PerformanceLane {
        PerformanceLane::default()
    }

    /// A lane shared with every assay process of this machine that names the same file
    /// (advisory `flock` locks on it and on a `.turnstile` beside it); within this process it
    /// also works as [`PerformanceLane::new`].
    pub fn on_machine(path: &Path) -> Result<PerformanceLane, LaneError> {
        let machine = MachineLane::open(path)?;
        Ok(PerformanceLane {
            halves: Halves::default(),
            machine: Some(Arc::new(machine)),
        })
    }

    /// The lane as one run uses it, with its own record.
    pub fn for_run(&self) -> RunLane {
        RunLane {
            halves: self.halves.clone(),
            machine: self.machine.clone(),
            log: Arc::new(Mutex::new(LaneReport::default())),
            waiting: Arc::new(Mutex::new(Waiting::default())),
        }
    }
}

/// The machine-wide side of a lane: a lock file per half (the checks' half is the named
/// file, the heavy half `<file>.heavy`), each taken shared or exclusively behind a turnstile
/// that a measured phase holds while it waits, so processes that keep asking for shared
/// holds cannot starve it (readers pass a turnstile one at a time and let go of it at once).
#[derive(Debug)]
struct MachineLane {
    checks: MachineHalf,
    heavy: MachineHalf,
}

/// One half of the machine's lane: its lock file and the turnstile in front of it.
#[derive(Debug)]
struct MachineHalf {
    main: PathBuf,
    turnstile: PathBuf,
}

impl MachineLane {
    fn open(path: &Path) -> Result<MachineLane, LaneError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LaneError {
                path: path.to_owned(),
                source,
            })?;
        }
        Ok(MachineLane {
            checks: MachineHalf::open(path.to_owned())?,
            heavy: MachineHalf::open(PathBuf::from(format!("{}.heavy", path.display())))?,
        })
    }

    /// Blocks until the machine's lane is held for `hold` (each hold has its own open files,
    /// so holds of one process are independent). A measured phase holds both halves.
    fn hold(&self, hold: HoldKind) -> std::io::Result<Vec<File>> {
        Ok(match hold {
            HoldKind::Alone => {
                let heavy = self.heavy.hold(true)?;
                vec![heavy, self.checks.hold(true)?]
            }
            HoldKind::Heavy => vec![self.heavy.hold(false)?],
            HoldKind::Check => vec![self.checks.hold(false)?],
        })
    }
}

impl MachineHalf {
    fn open(main: PathBuf) -> Result<MachineHalf, LaneError> {
        let turnstile = PathBuf::from(format!("{}.turnstile", main.display()));
        for path in [&main, &turnstile] {
            file(path).map_err(|source| LaneError {
                path: path.clone(),
                source,
            })?;
        }
        Ok(MachineHalf { main, turnstile })
    }

    fn hold(&self, exclusive: bool) -> std::io::Result<File> {
        let turnstile = file(&self.turnstile)?;
        turnstile.lock()?;
        let main = file(&self.main)?;
        if exclusive {
            main.lock()?;
        } else {
            main.lock_shared()?;
        }
        drop(turnstile);
        Ok(main)
    }
}

fn file(path: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Which halves a phase holds, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldKind {
    /// Both halves alone: a measured phase.
    Alone,
    /// The heavy half, shared: a build, seeding, the candidate's tests.
    Heavy,
    /// The checks' half, shared: any other check.
    Check,
}

impl HoldKind {
    fn of(phase: LanePhase) -> HoldKind {
        match phase {
            LanePhase::Measure => HoldKind::Alone,
            LanePhase::Build | LanePhase::Seed | LanePhase::Tests => HoldKind::Heavy,
            LanePhase::Check => HoldKind::Check,
        }
    }
}

/// One run's handle on the batch's lane.
#[derive(Debug, Clone)]
pub struct RunLane {
    halves: Halves,
    machine: Option<Arc<MachineLane>>,
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
        let kind = HoldKind::of(phase);
        let halves = &self.halves;
        let hold = match kind {
            HoldKind::Alone => {
                let heavy = halves.heavy.clone().write_owned().await;
                Hold::Alone(heavy, halves.checks.clone().write_owned().await)
            }
            HoldKind::Heavy => Hold::Shared(halves.heavy.clone().read_owned().await),
            HoldKind::Check => Hold::Shared(halves.checks.clone().read_owned().await),
        };
        let machine = match &self.machine {
            Some(m) => {
                let m = m.clone();
                // An I/O error leaves the run without the machine's hold rather than
                // stopping it: the in-process lane still holds.
                tokio::task::spawn_blocking(move || m.hold(kind).ok())
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            None => Vec::new(),
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
            _machine: machine,
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
    Alone(
        #[allow(dead_code)] OwnedRwLockWriteGuard<()>,
        #[allow(dead_code)] OwnedRwLockWriteGuard<()>,
    ),
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
    // Fields drop in order: the machine's hold is let go before the process's.
    _machine: Vec<File>,
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
        if window.phase == LanePhase::Check {
            log.check_wait_seconds += window.waited_seconds;
        } else {
            log.windows.push(window);
        }
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

    /// While a measure waits for a neighbour's build, the neighbours' checks go on; once the
    /// build is over, the measure waits for the check in progress and holds back later ones.
    async fn checks_go_on_while_a_measure_waits_for_a_build(lane: PerformanceLane) {
        let (a, b, c) = (lane.for_run(), lane.for_run(), lane.for_run());
        let build = b.enter(LanePhase::Build, None).await;
        let measuring = tokio::spawn({
            let a = a.clone();
            async move { a.enter(LanePhase::Measure, Some("load")).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!measuring.is_finished(), "the measure waits for the build");
        // A check asked for after the measure still runs: the build is what it waits for.
        let check = tokio::time::timeout(
            Duration::from_secs(5),
            c.enter(LanePhase::Check, Some("http")),
        )
        .await
        .unwrap_or_else(|_| panic!("a check must not wait behind a measure waiting for a build"));
        // A heavy phase asked for after the measure waits for it.
        let seeding = tokio::spawn({
            let c = c.clone();
            async move { drop(c.enter(LanePhase::Seed, Some("seed")).await) }
        });
        drop(build);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !measuring.is_finished(),
            "the measure waits for the check in progress"
        );
        drop(check);
        let measure = measuring.await.unwrap_or_else(|e| panic!("{e}"));
        let later = tokio::spawn({
            let c = c.clone();
            async move { drop(c.enter(LanePhase::Check, Some("next")).await) }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !later.is_finished(),
            "a check waits for the measure in progress"
        );
        assert!(
            !seeding.is_finished(),
            "seeding waits for the measure in progress"
        );
        drop(measure);
        later.await.unwrap_or_else(|e| panic!("{e}"));
        seeding.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(a.report().wait_seconds >= 0.15, "{:?}", a.report());
    }

    #[tokio::test]
    async fn in_a_process_checks_go_on_while_a_measure_waits_for_a_build() {
        checks_go_on_while_a_measure_waits_for_a_build(PerformanceLane::new()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_machine_checks_go_on_while_a_measure_waits_for_a_build() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lane =
            PerformanceLane::on_machine(&dir.path().join("lane")).unwrap_or_else(|e| panic!("{e}"));
        checks_go_on_while_a_measure_waits_for_a_build(lane).await;
        assert!(dir.path().join("lane.heavy.turnstile").exists());
    }

    /// Two lanes on one lock file behave as two processes do: a measured phase of one waits
    /// for a check in progress of the other, and checks asked for after it wait for it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lanes_naming_one_file_measure_alone_across_processes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("lane");
        let first = PerformanceLane::on_machine(&file).unwrap_or_else(|e| panic!("{e}"));
        let second = PerformanceLane::on_machine(&file).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (first.for_run(), second.for_run());
        let check = b.enter(LanePhase::Check, Some("http")).await;
        let measuring = tokio::spawn({
            let a = a.clone();
            async move { a.enter(LanePhase::Measure, Some("load")).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!measuring.is_finished(), "the measure waits for the check");
        let later = tokio::spawn({
            let b = b.clone();
            async move { drop(b.enter(LanePhase::Check, Some("next")).await) }
        });
        drop(check);
        let measure = measuring.await.unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !later.is_finished(),
            "a check asked after the measure waits for it"
        );
        drop(measure);
        later.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(a.report().wait_seconds >= 0.15, "{:?}", a.report());
        assert_eq!(b.report().windows.len(), 0, "checks record no windows");
        assert!(dir.path().join("lane.turnstile").exists());
    }
}
