//! Batch grading end to end with real Docker: a refused archive, a submission that does not
//! build and one that answers 500, graded into one folder; then resumed, then sharded and
//! merged; two submissions with load checks whose measured phases never overlap. The
//! submissions are small so the whole file runs in a few minutes.

use std::path::{Path, PathBuf};

use assay_batch::{BatchEvent, BatchRequest, Outcome, run, scorecards_in};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A folder of three submissions: two fixtures and a zip with a `..` entry.
fn cohort(dir: &Path) -> PathBuf {
    let subs = dir.join("subs");
    std::fs::create_dir_all(&subs).expect("create the cohort folder");
    for name in ["did-not-build", "all-500"] {
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(root().join("tests/fixtures/corpus").join(name))
            .arg(subs.join(name))
            .status()
            .expect("cp runs");
        assert!(copied.success());
    }
    let file = std::fs::File::create(subs.join("evil.zip")).expect("create the zip");
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file("../escape.txt", zip::write::SimpleFileOptions::default())
        .expect("a zip entry");
    std::io::Write::write_all(&mut zip, b"out").expect("write the entry");
    zip.finish().expect("finish the zip");
    subs
}

fn request(inputs: Vec<PathBuf>, out: &Path, shard: Option<(usize, usize)>) -> BatchRequest {
    BatchRequest {
        assessment: assay_format::load(&root().join("assessments/ledger-api"))
            .expect("ledger-api is valid"),
        inputs,
        out: out.to_owned(),
        jobs: 2,
        shard,
        seed: Some(11),
        profile: None,
        test_mode: true,
        runtime: None,
        project_root: root(),
        intake: Default::default(),
        similarity: None,
        trust: Default::default(),
        registries: None,
        performance_lane: Some(assay_testkit::paths::machine_lane()),
    }
}

fn batch(req: &BatchRequest) -> assay_batch::BatchReport {
    batch_heard(req).0
}

/// The batch's report and every event it sent, in order.
fn batch_heard(req: &BatchRequest) -> (assay_batch::BatchReport, Vec<BatchEvent>) {
    let heard = std::sync::Mutex::new(Vec::new());
    let report = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(
            req,
            &|e| heard.lock().expect("the events").push(e.clone()),
            std::future::pending(),
        ))
        .expect("the batch runs");
    (report, heard.into_inner().expect("the events"))
}

fn outcomes(report: &assay_batch::BatchReport) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = report
        .entries
        .iter()
        .map(|e| {
            let name = e
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let kind = match e.outcome {
                Outcome::Graded { .. } => "graded",
                Outcome::Resumed { .. } => "resumed",
                Outcome::Refused { .. } => "refused",
                Outcome::Infrastructure { .. } => "infrastructure",
                Outcome::Interrupted => "interrupted",
            };
            (name, kind)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_batch_grades_each_submission_resumes_and_summarises() {
    assay_testkit::require_docker!();
    let dir = tempfile::tempdir().expect("a temp dir");
    let subs = cohort(dir.path());
    let out = dir.path().join("out");
    let req = request(vec![subs.clone()], &out, None);

    let first = batch(&req);
    assert_eq!(
        outcomes(&first),
        [
            ("all-500".into(), "graded"),
            ("did-not-build".into(), "graded"),
            ("evil.zip".into(), "refused")
        ]
    );
    assert_eq!(
        first.exit_code(),
        2,
        "a refused submission makes the batch exit 2"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("evil"),
        "the refused submission is listed: {summary}"
    );
    let csv = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    assert_eq!(
        csv.lines().count(),
        4,
        "a header, two graded rows and the refused one: {csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains("evil") && l.contains(",refused,")),
        "the refused submission is in the CSV with its error: {csv}"
    );
    let checks = std::fs::read_to_string(out.join("checks.csv")).expect("checks.csv");
    assert!(
        checks.contains("nobody_passes"),
        "a check failed by all is flagged: {checks}"
    );
    assert_eq!(scorecards_in(&out).len(), 2);

    // Unchanged submissions, same seed and version: nothing is graded again.
    let second = batch(&req);
    assert_eq!(
        outcomes(&second),
        [
            ("all-500".into(), "resumed"),
            ("did-not-build".into(), "resumed"),
            ("evil.zip".into(), "refused")
        ]
    );
}

#[test]
fn shards_split_the_cohort_and_compare_merges_them() {
    assay_testkit::require_docker!();
    let dir = tempfile::tempdir().expect("a temp dir");
    let subs = cohort(dir.path());
    let inputs = vec![subs.join("did-not-build"), subs.join("all-500")];
    let mut cards = Vec::new();
    let mut graded = 0;
    for k in 1..=2 {
        let out = dir.path().join(format!("shard{k}"));
        let report = batch(&request(inputs.clone(), &out, Some((k, 2))));
        graded += report.entries.len();
        for path in scorecards_in(&out) {
            let text = std::fs::read_to_string(path).expect("a scorecard");
            cards.push(serde_json::from_str::<assay_grader::Scorecard>(&text).expect("it parses"));
        }
    }
    assert_eq!(graded, 2, "every submission lands in exactly one shard");
    let merged = assay_report::compare(&cards).expect("the shards compare");
    assert_eq!(merged.rows.len(), 2);
    assert!(
        cards.iter().all(|c| c.seed == 11),
        "both shards used the given seed"
    );
}

/// Two copies of `assay init`'s reference (different content, so both are graded), each
/// with a load check, graded two at a time: the measured phase of one never overlaps the
/// other's measured phase, build or seeding, as the windows the scorecards record show.
#[test]
fn measured_phases_of_a_batch_never_overlap() {
    assay_testkit::require_docker!();
    let dir = tempfile::tempdir().expect("a temp dir");
    let assessment = dir.path().join("assessment");
    assay_format::init::scaffold(&assessment).expect("the scaffold is written");
    let subs = dir.path().join("subs");
    std::fs::create_dir_all(&subs).expect("create the cohort folder");
    for name in ["first", "second"] {
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(assessment.join("reference"))
            .arg(subs.join(name))
            .status()
            .expect("cp runs");
        assert!(copied.success());
        std::fs::write(subs.join(name).join("NOTES.md"), format!("{name}\n")).expect("notes");
    }
    let out = dir.path().join("out");
    let req = BatchRequest {
        assessment: assay_format::load(&assessment).expect("the scaffold is valid"),
        ..request(vec![subs], &out, None)
    };
    let (report, events) = batch_heard(&req);
    assert_eq!(
        outcomes(&report),
        [("first".into(), "graded"), ("second".into(), "graded")]
    );
    // At two jobs each image is built ahead: its build is announced before its run.
    for name in ["first", "second"] {
        let at = |wanted: fn(&BatchEvent) -> Option<&String>| {
            events
                .iter()
                .position(|e| wanted(e).is_some_and(|n| n == name))
        };
        let building = at(|e| match e {
            BatchEvent::Building { name } => Some(name),
            _ => None,
        });
        let launched = at(|e| match e {
            BatchEvent::Launched { name, .. } => Some(name),
            _ => None,
        });
        assert!(
            building.is_some() && building < launched,
            "{name}: built ahead ({building:?}) before its run ({launched:?})"
        );
    }

    let lanes: Vec<assay_model::LaneReport> = scorecards_in(&out)
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("a scorecard");
            let card: assay_grader::Scorecard =
                serde_json::from_str(&text).expect("a scorecard parses");
            card.sandbox
                .performance_lane
                .expect("a batch's scorecard records the performance lane")
        })
        .collect();
    assert_eq!(lanes.len(), 2);
    for lane in &lanes {
        let phases: Vec<_> = lane
            .windows
            .iter()
            .map(|w| (w.phase, w.check.clone()))
            .collect();
        assert!(
            phases.contains(&(assay_model::LanePhase::Build, None)),
            "the build held the lane: {phases:?}"
        );
        assert!(
            phases.contains(&(
                assay_model::LanePhase::Measure,
                Some("hello-latency".into())
            )),
            "the load check measured in the lane: {phases:?}"
        );
        let waits: f64 = lane.windows.iter().map(|w| w.waited_seconds).sum();
        assert!(
            (lane.wait_seconds - waits - lane.check_wait_seconds).abs() < 1e-6,
            "the wait is the sum of the windows' and the checks' waits: {lane:?}"
        );
    }
    let overlap = |a: &assay_model::LaneWindow, b: &assay_model::LaneWindow| {
        a.entered_unix_ms < b.left_unix_ms && b.entered_unix_ms < a.left_unix_ms
    };
    for (mine, theirs) in [(&lanes[0], &lanes[1]), (&lanes[1], &lanes[0])] {
        for measured in mine
            .windows
            .iter()
            .filter(|w| w.phase == assay_model::LanePhase::Measure)
        {
            for other in &theirs.windows {
                assert!(
                    !overlap(measured, other),
                    "a measured phase overlapped a neighbour's {:?}: {measured:?} vs {other:?}",
                    other.phase
                );
            }
        }
    }
}
