//! Batch grading for CI: many submissions graded with bounded parallelism, each isolated in
//! `OUT/<name>-<digest12>/`, resumable (the same content digest, assessment version and seed
//! is not graded again), split across CI workers with `--shard K/N`, summarised as
//! leaderboards and per-check cohort statistics. One submission's failure never stops the
//! others; a stop request (Ctrl-C) stops launching, removes what running runs made, and
//! still writes the summaries of what finished.

mod inputs;
mod record;
mod similarity;
mod summary;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use assay_docker::DockerBackend;
use assay_format::Assessment;
use assay_grader::Scorecard;
use assay_intake::{IntakeLimits, Submission};
use assay_model::{GradingPlan, RunResults};
use assay_runner::pipeline::RunError;
use assay_runner::pipeline::{
    PerformanceLane, RunEvent, RunRequest, build as build_one, cleanup_run, new_run_id,
    random_seed, run as run_one,
};
pub use assay_sandbox::TrustSource;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

pub use inputs::{Candidate, Opened, expand, folder_name, read_list, select, take_in};
pub use record::{RECORD, Record, RecordEntry, is_batch_folder, scorecards_in};
pub use similarity::{
    STARTER, SimilarityOutcome, SimilarityRequest, annotate, scorecard_block, similarity,
};
pub use summary::{CheckCohort, CohortFlag, cohort};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub assessment: Assessment,
    /// Submissions (directories, git repositories, archives), folders of them, or both.
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    /// Submissions graded at once (at least 1).
    pub jobs: usize,
    /// `(k, n)`: this worker grades the k-th of n parts (1-based).
    pub shard: Option<(usize, usize)>,
    /// `None`: the seed stored in `OUT/batch.json`, else a fresh one (then stored).
    pub seed: Option<u64>,
    /// `None`: the assessment's default profile.
    pub profile: Option<String>,
    pub test_mode: bool,
    pub runtime: Option<String>,
    /// The folder holding `sandbox-images/`.
    pub project_root: PathBuf,
    /// Caps on what each submission may unpack to (archive bombs).
    pub intake: IntakeLimits,
    /// Compare the submissions for shared code once they are graded (`None`: do not).
    pub similarity: Option<BatchSimilarity>,
    /// The extra certificate authorities the base image trusts (default: the host's).
    pub trust: TrustSource,
    /// The registries builds may reach, instead of the assessment's list.
    pub registries: Option<Vec<String>>,
    /// A lock file naming a performance lane shared with other assay processes of this
    /// machine (`None`: the batch's own lane).
    pub performance_lane: Option<PathBuf>,
}

/// How a batch compares its submissions for shared code.
#[derive(Debug, Clone, Default)]
pub struct BatchSimilarity {
    /// A folder of known public solutions to compare against as well.
    pub known: Option<PathBuf>,
    /// Framework skeletons whose code is discounted like the assessment's handed-out files.
    pub skeletons: Vec<PathBuf>,
    pub options: assay_similarity::Options,
}

/// What the batch's similarity comparison found, for the CLI's closing lines.
#[derive(Debug, Clone)]
pub struct SimilaritySummary {
    /// `similarity.csv`, when it was written.
    pub csv: Option<PathBuf>,
    /// Pairs at or above the threshold.
    pub flagged: usize,
    /// Why the comparison could not be made (the grading stands).
    pub error: Option<String>,
}

/// Why a batch could not run at all (one submission's trouble is an [`Entry`] instead).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("could not {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no submissions found in {0}; pass submission directories, archives, folders holding them, or --list FILE"
    )]
    Empty(String),
    #[error(
        "{} is not a batch record written by assay ({detail}); choose another --out folder",
        path.display()
    )]
    Record { path: PathBuf, detail: String },
    #[error(
        "{} holds a batch of assessment `{found}`, not `{expected}`; choose another --out folder",
        out.display()
    )]
    OtherAssessment {
        out: PathBuf,
        found: String,
        expected: String,
    },
    /// The profile asked for is not one the assessment defines (the grader's error).
    #[error(transparent)]
    Profile(assay_grader::GradeError),
    #[error("the async runtime failed: {0}")]
    Runtime(String),
    #[error("--performance-lane: {0}")]
    Lane(#[from] assay_runner::pipeline::LaneError),
}

impl BatchError {
    /// A problem with the command line or the output folder (exit code 2), as opposed to the
    /// host failing (exit code 3).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BatchError::Empty(_)
                | BatchError::Record { .. }
                | BatchError::OtherAssessment { .. }
                | BatchError::Profile(_)
        )
    }
}

/// How one submission ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Graded now.
    Graded { overall: f64, passed: bool },
    /// Already graded for the same digest, assessment version and seed: not run again.
    Resumed { overall: f64, passed: bool },
    /// Refused or unreadable (unsafe archive, unknown format): exit code 2.
    Refused { reason: String },
    /// We could not grade it (Docker, images, disk): exit code 3.
    Infrastructure { reason: String },
    /// The batch was stopped before it finished: exit code 3; run the batch again to resume.
    Interrupted,
}

impl Outcome {
    /// `graded`, `resumed`, `refused`, `infrastructure`, `interrupted`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Graded { .. } => "graded",
            Outcome::Resumed { .. } => "resumed",
            Outcome::Refused { .. } => "refused",
            Outcome::Infrastructure { .. } => "infrastructure",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// Why it was not graded.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Refused { reason } | Outcome::Infrastructure { reason } => Some(reason),
            _ => None,
        }
    }

    /// It has a scorecard (now or from before).
    pub fn is_graded(&self) -> bool {
        matches!(self, Outcome::Graded { .. } | Outcome::Resumed { .. })
    }

    /// 0 graded, 2 refused, 3 not graded by our fault or interrupted. Scores never count.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Graded { .. } | Outcome::Resumed { .. } => 0,
            Outcome::Refused { .. } => 2,
            Outcome::Infrastructure { .. } | Outcome::Interrupted => 3,
        }
    }
}

/// One submission of the batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The display name (a directory's name, an archive's stem).
    pub name: String,
    pub path: PathBuf,
    /// `sha256:…` of its content; `None` when intake refused it.
    pub digest: Option<String>,
    /// `<name>-<digest12>`, its folder under `OUT/`.
    pub folder: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Entry {
    fn from_candidate(c: &Candidate, outcome: Outcome) -> Entry {
        Entry {
            name: c.name.clone(),
            path: c.path.clone(),
            digest: c.digest.as_ref().ok().cloned(),
            folder: c.folder(),
            outcome,
        }
    }

    fn to_record(&self) -> RecordEntry {
        let (overall, passed) = match self.outcome {
            Outcome::Graded { overall, passed } | Outcome::Resumed { overall, passed } => {
                (Some(overall), Some(passed))
            }
            _ => (None, None),
        };
        RecordEntry {
            name: self.name.clone(),
            path: self.path.clone(),
            folder: self.folder.clone().filter(|_| self.outcome.is_graded()),
            digest: self.digest.clone(),
            outcome: self.outcome.kind().to_owned(),
            overall,
            passed,
            error: self.outcome.reason().map(str::to_owned),
        }
    }
}

/// Progress of a batch, for the CLI's bar, plain lines and `--events json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BatchEvent {
    /// The submissions are known: `found` in the inputs, `selected` for this shard.
    Started {
        found: usize,
        selected: usize,
        jobs: usize,
        seed: u64,
    },
    /// A submission's image is being built ahead of its run (from two jobs on, while other
    /// submissions are graded; see `build_ahead`).
    Building { name: String },
    /// A submission's run began (it holds one of the `jobs` slots).
    Launched { name: String, folder: String },
    /// Progress of one submission's run.
    Run { name: String, run: RunEvent },
    /// A submission ended, one way or another.
    Finished {
        entry: Entry,
        done: usize,
        total: usize,
    },
    /// A stop was requested: nothing more is launched; `running` runs are being cancelled.
    Stopping { running: usize },
    /// What a cancelled run left behind was removed.
    CleanedUp { name: String, detail: String },
}

/// The batch's result: every entry, the cohort statistics, the files written.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub seed: u64,
    pub entries: Vec<Entry>,
    pub cohort: Vec<CheckCohort>,
    /// The leaderboard as an aligned plain-text table (`None` when nothing was graded).
    pub leaderboard: Option<String>,
    /// A stop was requested before every submission finished.
    pub interrupted: bool,
    pub summary_md: PathBuf,
    pub summary_csv: PathBuf,
    pub checks_csv: PathBuf,
    /// `None` when similarity was off or the batch was interrupted.
    pub similarity: Option<SimilaritySummary>,
}

impl BatchReport {
    /// The worst infrastructure outcome: 0 when every submission was graded (now or before),
    /// 2 when one was refused, 3 when one could not be graded or the batch was interrupted.
    /// Candidates' scores never change it.
    pub fn exit_code(&self) -> u8 {
        let worst = self
            .entries
            .iter()
            .map(|e| e.outcome.exit_code())
            .max()
            .unwrap_or(0);
        if self.interrupted { 3 } else { worst }
    }
}

/// What every submission's task shares.
#[derive(Debug)]
struct Context {
    req: BatchRequest,
    plan: GradingPlan,
    profile: String,
    seed: u64,
    /// Measured phases of the runs hold it alone (builds and seeding share it).
    lane: PerformanceLane,
    /// The ids of the assessment's measured checks ([`measured_checks`]).
    measured: BTreeSet<String>,
    /// The engine, connected once by the first run that needs it (a failed connection is
    /// that run's infrastructure failure and is tried again by the next).
    docker: tokio::sync::OnceCell<DockerBackend>,
}

impl Context {
    async fn docker(&self) -> Result<&DockerBackend, RunError> {
        Ok(self.docker.get_or_try_init(DockerBackend::connect).await?)
    }
}

/// Grades every submission of `req`, `req.jobs` at a time. `progress` hears each event.
/// When `stop` completes (Ctrl-C), nothing more is launched, running runs are cancelled and
/// what they made in Docker is removed, and the summaries of what finished are written.
pub async fn run(
    req: &BatchRequest,
    progress: &(dyn Fn(&BatchEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<BatchReport, BatchError> {
    let file = &req.assessment.file;
    let plan = req.assessment.grading_plan();
    let profile = assay_grader::choose_profile(&plan, req.profile.as_deref())
        .map_err(BatchError::Profile)?
        .id
        .clone();
    let out = &req.out;
    std::fs::create_dir_all(out).map_err(|source| BatchError::Io {
        action: "create",
        path: out.clone(),
        source,
    })?;
    let previous = record::read(out)?;
    if let Some(p) = &previous
        && p.assessment != file.id.value
    {
        return Err(BatchError::OtherAssessment {
            out: out.clone(),
            found: p.assessment.clone(),
            expected: file.id.value.clone(),
        });
    }
    let seed = req
        .seed
        .or(previous.as_ref().map(|r| r.seed))
        .unwrap_or_else(random_seed);
    // Stored before anything runs, so an interrupted batch resumes with the same seed.
    record::write(
        out,
        &Record {
            assessment: file.id.value.clone(),
            version: file.version.clone(),
            seed,
            shard: req.shard.map(|(k, n)| format!("{k}/{n}")),
            entries: previous.map(|p| p.entries).unwrap_or_default(),
        },
    )?;

    let paths = expand(&req.inputs, &file.submission.dockerfile)?;
    if paths.is_empty() {
        return Err(BatchError::Empty(
            req.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let ctx = Arc::new(Context {
        req: req.clone(),
        plan,
        profile,
        seed,
        lane: match &req.performance_lane {
            Some(file) => PerformanceLane::on_machine(file)?,
            None => PerformanceLane::new(),
        },
        measured: measured_checks(&req.assessment),
        docker: tokio::sync::OnceCell::new(),
    });
    let mut stop = std::pin::pin!(stop);

    // Intake, one at a time: names and digests decide folders, resumption and shards.
    let found = paths.len();
    let mut candidates = Vec::with_capacity(found);
    for path in paths {
        let limits = req.intake;
        let intake = tokio::task::spawn_blocking(move || take_in(&path, &limits));
        tokio::select! {
            c = intake => candidates.push(c.map_err(|e| BatchError::Runtime(e.to_string()))?),
            () = &mut stop => {
                progress(&BatchEvent::Stopping { running: 0 });
                return summarise(&ctx, Vec::new(), true, None);
            }
        }
    }
    let selected = select(candidates, req.shard);
    let total = selected.len();
    let jobs = req.jobs.max(1);
    progress(&BatchEvent::Started {
        found,
        selected: total,
        jobs,
        seed,
    });

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<BatchEvent>();
    let gate = Arc::new(Semaphore::new(jobs));
    let running: Running = Arc::new(Mutex::new(BTreeMap::new()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut task_slot = BTreeMap::new();
    // From two jobs on, images are built ahead of the runs (see `build_ahead`).
    let room = Arc::new(Semaphore::new(jobs));
    let measuring = Arc::new(tokio::sync::watch::Sender::new(0usize));
    let mut queue = Vec::new();
    for (i, candidate) in selected.iter().cloned().enumerate() {
        let job = match prepare(&ctx, &candidate) {
            Ok(job) => job,
            Err(outcome) => {
                let entry = Entry::from_candidate(&candidate, outcome);
                let handle = tasks.spawn(async move { (i, entry) });
                task_slot.insert(handle.id(), i);
                continue;
            }
        };
        let built = (jobs >= 2).then(|| {
            let (sender, receiver) = oneshot::channel();
            queue.push(Queued {
                name: candidate.name.clone(),
                submission: job.opened.submission.clone(),
                sender,
            });
            receiver
        });
        let handle = tasks.spawn(grade_one(
            ctx.clone(),
            gate.clone(),
            measuring.clone(),
            running.clone(),
            tx.clone(),
            i,
            candidate,
            job,
            built,
        ));
        task_slot.insert(handle.id(), i);
    }
    let builder = tokio::spawn(build_ahead(
        ctx.clone(),
        room.clone(),
        measuring.subscribe(),
        queue,
        tx.clone(),
    ));
    drop(tx);

    let mut slots: Vec<Option<Entry>> = vec![None; total];
    let mut done = 0;
    let mut stopping = false;
    loop {
        tokio::select! {
            biased;
            Some(event) = rx.recv() => progress(&event),
            joined = tasks.join_next() => {
                let (i, entry) = match joined {
                    None => break,
                    Some(Ok(pair)) => pair,
                    Some(Err(e)) if e.is_cancelled() => continue,
                    Some(Err(e)) => {
                        // A bug while grading one submission must not stop the others.
                        let Some(&i) = task_slot.get(&e.id()) else { continue };
                        let outcome = Outcome::Infrastructure {
                            reason: format!("assay failed while grading it ({e}); please report this"),
                        };
                        (i, Entry::from_candidate(&selected[i], outcome))
                    }
                };
                done += 1;
                progress(&BatchEvent::Finished { entry: entry.clone(), done, total });
                if let Some(slot) = slots.get_mut(i) {
                    *slot = Some(entry);
                }
            }
            () = &mut stop, if !stopping => {
                stopping = true;
                gate.close();
                room.close();
                builder.abort();
                let count = running.lock().unwrap_or_else(PoisonError::into_inner).len();
                progress(&BatchEvent::Stopping { running: count });
                tasks.abort_all();
            }
        }
    }
    builder.abort();
    while let Ok(event) = rx.try_recv() {
        progress(&event);
    }
    // Runs cancelled mid-way: remove their containers, networks and firewall rules.
    let leftovers: Vec<(String, String)> =
        std::mem::take(&mut *running.lock().unwrap_or_else(PoisonError::into_inner))
            .into_values()
            .collect();
    for (name, run_id) in leftovers {
        let detail = match ctx.docker().await {
            Ok(docker) => cleanup_run(docker, &run_id).await,
            Err(e) => format!("cleanup skipped ({e}); run `assay gc` later"),
        };
        progress(&BatchEvent::CleanedUp { name, detail });
    }

    let entries: Vec<Entry> = slots
        .into_iter()
        .zip(&selected)
        .map(|(slot, c)| slot.unwrap_or_else(|| Entry::from_candidate(c, Outcome::Interrupted)))
        .collect();
    let interrupted = stopping && entries.iter().any(|e| e.outcome == Outcome::Interrupted);
    let similar = match (&req.similarity, interrupted) {
        (Some(settings), false) => Some(compare_cohort(&ctx, settings, &selected, &entries).await),
        _ => None,
    };
    summarise(&ctx, entries, interrupted, similar)
}

/// The similarity of the cohort's submissions (every one intake accepted, graded or not),
/// named by their folders; each graded scorecard gets its block. A failure here is reported
/// in the summary and leaves the grading as it is.
async fn compare_cohort(
    ctx: &Context,
    settings: &BatchSimilarity,
    selected: &[Candidate],
    entries: &[Entry],
) -> (SimilaritySummary, Option<String>) {
    // The trees intake made for grading, compared as they are (nothing opened again); the
    // copies keep their scratch folders alive until the comparison is done.
    let opened: Vec<(String, Opened)> = selected
        .iter()
        .filter_map(|c| Some((c.folder()?, c.opened.clone()?)))
        .collect();
    let request = SimilarityRequest {
        submissions: Vec::new(),
        known: settings.known.clone(),
        assessment: Some(ctx.req.assessment.clone()),
        skeletons: settings.skeletons.clone(),
        out: ctx.req.out.clone(),
        options: settings.options.clone(),
        intake: ctx.req.intake,
    };
    let joined = tokio::task::spawn_blocking(move || {
        let trees: Vec<(String, PathBuf)> = opened
            .iter()
            .map(|(name, o)| (name.clone(), o.submission.root.clone()))
            .collect();
        similarity::similarity_of_opened(&request, &trees)
    })
    .await;
    let outcome = match joined {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return (failed_similarity(e.to_string()), None),
        Err(e) => return (failed_similarity(e.to_string()), None),
    };
    let mut problems: Vec<String> = outcome
        .unreadable
        .iter()
        .map(|(name, why)| format!("{name}: {why}"))
        .collect();
    for e in entries.iter().filter(|e| e.outcome.is_graded()) {
        let Some(folder) = &e.folder else { continue };
        if let Some(block) = scorecard_block(&outcome, folder)
            && let Err(why) = annotate(&ctx.req.out.join(folder), block)
        {
            problems.push(format!(
                "{folder}: could not add the similarity block: {why}"
            ));
        }
    }
    let mut section = assay_similarity::render::markdown_section(
        &outcome.report,
        assay_similarity::render::PAGES,
    );
    if !problems.is_empty() {
        section.push_str("\nNot compared:\n\n");
        for p in &problems {
            section.push_str(&format!("- {}\n", assay_report::escape_markdown(p)));
        }
    }
    (
        SimilaritySummary {
            csv: Some(outcome.written.csv.clone()),
            flagged: outcome.report.flagged().count(),
            error: None,
        },
        Some(section),
    )
}

fn failed_similarity(error: String) -> SimilaritySummary {
    SimilaritySummary {
        csv: None,
        flagged: 0,
        error: Some(error),
    }
}

/// Runs in progress: slot → (name, run id).
type Running = Arc<Mutex<BTreeMap<usize, (String, String)>>>;

/// A submission to run: its folder and what intake opened.
struct Job {
    folder: String,
    opened: Opened,
}

/// What a submission needs: a run (`Ok`), or nothing more (`Err`: its outcome is known, or
/// it is already graded).
fn prepare(ctx: &Context, candidate: &Candidate) -> Result<Job, Outcome> {
    let (digest, folder) = match (&candidate.digest, candidate.folder()) {
        (Ok(d), Some(f)) => (d.clone(), f),
        (Err(outcome), _) => return Err(outcome.clone()),
        (Ok(_), None) => {
            return Err(Outcome::Infrastructure {
                reason: "no folder name".into(),
            });
        }
    };
    if let Some(outcome) = resume(ctx, &folder, &digest) {
        return Err(outcome);
    }
    let Some(opened) = candidate.opened.clone() else {
        return Err(Outcome::Infrastructure {
            reason: "the submission was not taken in".into(),
        });
    };
    Ok(Job { folder, opened })
}

/// The run of `submission`, made when it is needed (a request holds its own copy of the
/// assessment: a large cohort must not hold one per submission from the start).
fn request_for(ctx: &Context, submission: &Submission) -> RunRequest {
    let req = &ctx.req;
    RunRequest {
        assessment: req.assessment.clone(),
        submission: submission.clone(),
        project_root: req.project_root.clone(),
        seed: ctx.seed,
        test_mode: req.test_mode,
        runtime: req.runtime.clone(),
        only: None,
        run_id: new_run_id(),
        trust: req.trust.clone(),
        registries: req.registries.clone(),
        lane: Some(ctx.lane.for_run()),
        built: None,
    }
}

/// A submission waiting for its image to be built ahead.
struct Queued {
    name: String,
    submission: Submission,
    sender: oneshot::Sender<Result<Prebuilt, RunError>>,
}

/// An image built ahead, in the request its run takes, and the room it holds until its run
/// is launched.
struct Prebuilt {
    request: RunRequest,
    room: OwnedSemaphorePermit,
}

/// From two jobs on, the batch builds images ahead of the runs, in the batch's order, so
/// that builds overlap what runs do after their measured phases instead of holding a slot.
/// A build starts only when no launched run still has measured phases ahead (a measurement
/// would wait for the build: the lane) and there is room: at most `jobs` images built or
/// being built whose runs have not launched, so builds never pile up on disk. Builds that
/// may start together run side by side.
async fn build_ahead(
    ctx: Arc<Context>,
    room: Arc<Semaphore>,
    mut measuring: tokio::sync::watch::Receiver<usize>,
    queue: Vec<Queued>,
    tx: tokio::sync::mpsc::UnboundedSender<BatchEvent>,
) {
    // Dropping this future (a stop) cancels the builds in progress.
    let mut builds = tokio::task::JoinSet::new();
    for q in queue {
        let Ok(permit) = room.clone().acquire_owned().await else {
            break;
        };
        if measuring.wait_for(|n| *n == 0).await.is_err() {
            break;
        }
        if q.sender.is_closed() {
            continue;
        }
        let ctx = ctx.clone();
        let tx = tx.clone();
        builds.spawn(async move {
            let _ = tx.send(BatchEvent::Building {
                name: q.name.clone(),
            });
            let name = q.name.clone();
            let on_event = move |run: RunEvent| {
                let _ = tx.send(BatchEvent::Run {
                    name: name.clone(),
                    run,
                });
            };
            let request = request_for(&ctx, &q.submission);
            let built = match ctx.docker().await {
                Ok(docker) => build_one(docker, &request, &on_event).await,
                Err(e) => Err(e),
            };
            let _ = q.sender.send(built.map(|built| Prebuilt {
                request: RunRequest {
                    built: Some(built),
                    ..request
                },
                room: permit,
            }));
        });
    }
    while builds.join_next().await.is_some() {}
}

/// A launched run counted among those with measured phases ahead, until every measured
/// check of the assessment has finished or the run ends (whichever comes first): builds
/// ahead wait for the count to fall to zero.
struct Measuring {
    ahead: BTreeSet<String>,
    count: Option<Arc<tokio::sync::watch::Sender<usize>>>,
}

/// The ids of the assessment's measured checks (load and growth checks).
fn measured_checks(assessment: &Assessment) -> BTreeSet<String> {
    assessment
        .suites
        .iter()
        .flat_map(|suite| &suite.checks)
        .filter(|c| c.measures_time())
        .map(|c| c.common.id.value.clone())
        .collect()
}

impl Measuring {
    /// `measured`: [`measured_checks`] of the batch's assessment.
    fn new(
        measured: &BTreeSet<String>,
        count: Arc<tokio::sync::watch::Sender<usize>>,
    ) -> Measuring {
        let ahead = measured.clone();
        let count = (!ahead.is_empty()).then(|| {
            count.send_modify(|n| *n += 1);
            count
        });
        Measuring { ahead, count }
    }

    fn heard(&mut self, run: &RunEvent) {
        if let RunEvent::Engine(assay_runner::pipeline::Progress::CheckFinished { check, .. }) = run
        {
            self.ahead.remove(check);
            if self.ahead.is_empty() {
                self.done();
            }
        }
    }

    fn done(&mut self) {
        if let Some(count) = self.count.take() {
            count.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Drop for Measuring {
    fn drop(&mut self) {
        self.done();
    }
}

/// One submission, isolated in its own folder; never an `Err`. With `built`, its image is
/// built ahead (by [`build_ahead`]) and the run starts once it is.
#[allow(clippy::too_many_arguments)]
async fn grade_one(
    ctx: Arc<Context>,
    gate: Arc<Semaphore>,
    measuring: Arc<tokio::sync::watch::Sender<usize>>,
    running: Running,
    tx: tokio::sync::mpsc::UnboundedSender<BatchEvent>,
    i: usize,
    candidate: Candidate,
    job: Job,
    built: Option<oneshot::Receiver<Result<Prebuilt, RunError>>>,
) -> (usize, Entry) {
    let done = |outcome| (i, Entry::from_candidate(&candidate, outcome));
    let Job { folder, opened } = job;
    let (request, room) = match built {
        None => (request_for(&ctx, &opened.submission), None),
        Some(receiver) => match receiver.await {
            Ok(Ok(prebuilt)) => (prebuilt.request, Some(prebuilt.room)),
            Ok(Err(e)) => return done(outcome_of_error(e)),
            Err(_) => return done(Outcome::Interrupted),
        },
    };
    let Ok(_permit) = gate.acquire_owned().await else {
        return done(Outcome::Interrupted);
    };
    running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(i, (candidate.name.clone(), request.run_id.clone()));
    let _ = tx.send(BatchEvent::Launched {
        name: candidate.name.clone(),
        folder: folder.clone(),
    });
    let name = candidate.name.clone();
    let events = tx.clone();
    // Counted as measuring before its room is let go, so no build starts in between.
    let measuring = Mutex::new(Measuring::new(&ctx.measured, measuring));
    drop(room);
    let on_event = move |run: RunEvent| {
        measuring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .heard(&run);
        let _ = events.send(BatchEvent::Run {
            name: name.clone(),
            run,
        });
    };
    let result = match ctx.docker().await {
        Ok(docker) => run_one(docker, &request, &on_event).await,
        Err(e) => Err(e),
    };
    drop(on_event);
    running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&i);
    match result {
        Ok(results) => done(
            grade_and_write(&ctx, &folder, &results)
                .unwrap_or_else(|reason| Outcome::Infrastructure { reason }),
        ),
        Err(e) => done(outcome_of_error(e)),
    }
}

/// A run that could not be graded: the submission refused, or our infrastructure failed.
fn outcome_of_error(e: RunError) -> Outcome {
    if e.is_refusal() {
        Outcome::Refused {
            reason: e.to_string(),
        }
    } else {
        Outcome::Infrastructure {
            reason: e.to_string(),
        }
    }
}

/// Grades `results` and writes every report and `run-results.json` into `OUT/<folder>/`.
fn grade_and_write(ctx: &Context, folder: &str, results: &RunResults) -> Result<Outcome, String> {
    let card = assay_grader::grade(results, &ctx.plan, Some(&ctx.profile))
        .map_err(|e| format!("could not grade: {e}"))?;
    assay_report::write_run(results, &card, ctx.req.out.join(folder))
        .map_err(|e| format!("could not write the reports: {e}"))?;
    Ok(Outcome::Graded {
        overall: card.overall,
        passed: card.passed,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// `Some` when `OUT/<folder>/` already holds this submission graded for the same assessment,
/// version and seed. Graded with another profile, its stored results are graded again (no
/// run needed).
fn resume(ctx: &Context, folder: &str, digest: &str) -> Option<Outcome> {
    let dir = ctx.req.out.join(folder);
    let card: Scorecard = read_json(&dir.join("scorecard.json"))?;
    let file = &ctx.req.assessment.file;
    let same = card.seed == ctx.seed
        && card.assessment.id == file.id.value
        && card.assessment.version == file.version
        && card.submission.digest == digest;
    if !same {
        return None;
    }
    if card.profile.id == ctx.profile {
        return Some(Outcome::Resumed {
            overall: card.overall,
            passed: card.passed,
        });
    }
    let results: RunResults = read_json(&dir.join(assay_report::RUN_RESULTS_FILE))?;
    match grade_and_write(ctx, folder, &results).ok()? {
        Outcome::Graded { overall, passed } => Some(Outcome::Resumed { overall, passed }),
        _ => None,
    }
}

/// Writes `summary.md`, `summary.csv`, `checks.csv` and the record of `entries`.
fn summarise(
    ctx: &Context,
    entries: Vec<Entry>,
    interrupted: bool,
    similar: Option<(SimilaritySummary, Option<String>)>,
) -> Result<BatchReport, BatchError> {
    let out = &ctx.req.out;
    let file = &ctx.req.assessment.file;
    let cards: Vec<Scorecard> = entries
        .iter()
        .filter(|e| e.outcome.is_graded())
        .filter_map(|e| e.folder.as_ref())
        .filter_map(|f| read_json(&out.join(f).join("scorecard.json")))
        .collect();
    let ranking = assay_report::compare(&cards).ok();
    let cohort = cohort(&cards);
    let heading = summary::Heading {
        assessment: &file.id.value,
        version: &file.version,
        seed: ctx.seed,
        profile: &ctx.profile,
        shard: ctx.req.shard,
    };
    let write = |name: &str, text: String| -> Result<PathBuf, BatchError> {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| BatchError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    let mut md = summary::summary_md(&heading, &entries, ranking.as_ref(), &cohort);
    let (similarity, section) = similar.map_or((None, None), |(s, m)| (Some(s), m));
    if let Some(section) = section {
        md.push('\n');
        md.push_str(&section);
    } else if let Some(error) = similarity.as_ref().and_then(|s| s.error.as_deref()) {
        md.push_str("\n## Similarity\n\nThe submissions could not be compared: ");
        md.push_str(&assay_report::escape_markdown(error));
        md.push('\n');
    }
    let summary_md = write("summary.md", md)?;
    let summary_csv = write(
        "summary.csv",
        summary::leaderboard_csv(&entries, ranking.as_ref()),
    )?;
    let checks_csv = write("checks.csv", summary::checks_csv(&cohort))?;
    record::write(
        out,
        &Record {
            assessment: file.id.value.clone(),
            version: file.version.clone(),
            seed: ctx.seed,
            shard: ctx.req.shard.map(|(k, n)| format!("{k}/{n}")),
            entries: entries.iter().map(Entry::to_record).collect(),
        },
    )?;
    Ok(BatchReport {
        seed: ctx.seed,
        leaderboard: ranking.map(|r| r.render_table()),
        entries,
        cohort,
        interrupted,
        summary_md,
        summary_csv,
        checks_csv,
        similarity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_runner::pipeline::Progress;

    fn finished(check: &str) -> RunEvent {
        RunEvent::Engine(Progress::CheckFinished {
            suite: "performance".into(),
            check: check.into(),
            status: assay_model::Status::Pass,
            done: 1,
            total: 1,
        })
    }

    /// A run counts as measuring from its launch until its last measured check ends (or it
    /// ends first), once: builds ahead wait for the count to fall to zero.
    #[test]
    fn a_run_measures_until_its_last_measured_check_ends() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assessments/ledger-api");
        let assessment = assay_format::load(&root).unwrap_or_else(|e| panic!("{e:?}"));
        let measured = measured_checks(&assessment);
        let count = Arc::new(tokio::sync::watch::Sender::new(0usize));
        let mut first = Measuring::new(&measured, count.clone());
        let second = Measuring::new(&measured, count.clone());
        assert_eq!(*count.borrow(), 2);
        first.heard(&finished("deposit-basic"));
        first.heard(&finished("perf-account-read"));
        assert_eq!(*count.borrow(), 2, "one measured check is still ahead");
        first.heard(&finished("perf-transactions-page"));
        assert_eq!(*count.borrow(), 1);
        drop(first);
        assert_eq!(*count.borrow(), 1, "a run that has measured counts once");
        drop(second);
        assert_eq!(*count.borrow(), 0, "a run that ends stops counting");
    }
}
