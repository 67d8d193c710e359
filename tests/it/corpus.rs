//! The known-answer corpora of ledger-api and conduit: each reference solution, each
//! single-defect variant (a patch on its reference), each good variant (a legitimate choice
//! that must lose nothing, `kind: good`) and three broken submissions, graded end
//! to end with real Docker, a real PostgreSQL sidecar and real HTTP, in test mode with a
//! fixed seed.
//!
//! Each reference is graded once per test session (cached under `target/assay-corpus/`,
//! keyed by assessment and nextest's run id) and every variant is compared with its
//! reference's run, not with figures written down here. Corpus tests run two at a time (the
//! `corpus` test group in `.config/nextest.toml`, the two references first), their measured
//! phases alone in the session's performance lane so that load checks are not measured
//! against each other.

use std::path::{Path, PathBuf};
use std::process::Command;

use assay_grader::Scorecard;
use assay_intake::{IntakeLimits, Submission};
use assay_model::{Evidence, RunResults, Skill, Status};
use assay_runner::pipeline::{PerformanceLane, RunRequest, new_run_id, run};

const SEED: u64 = 20_261_128;
const PROFILE: &str = "backend-senior";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const LEDGER: &str = "ledger-api";
const CONDUIT: &str = "conduit";

fn assessment_dir(assessment: &str) -> PathBuf {
    root().join("assessments").join(assessment)
}

/// A scratch directory that lives as long as the test.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("assay-corpus-")
        .tempdir()
        .expect("a temporary directory")
}

/// Our own fixture: a copy of the reference with `variant`'s patch applied (none for the
/// reference), made into a git repository with a good or sloppy history. Nothing of a
/// submission is executed on the host; `patch` and `git` run on files we ship.
fn submission(assessment: &str, variant: Option<&str>, work: &Path) -> PathBuf {
    let src = work.join("src");
    std::fs::create_dir_all(&src).expect("create the fixture directory");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(assessment_dir(assessment).join("reference"))
        .arg(src.join("reference"))
        .status()
        .expect("cp runs");
    assert!(copied.success(), "copying the reference failed");
    let mut style = "good";
    if let Some(v) = variant {
        let dir = assessment_dir(assessment).join("variants").join(v);
        let patch = std::fs::File::open(dir.join("changes.patch")).expect("the variant's patch");
        let applied = Command::new("patch")
            .args(["-s", "-p0"])
            .current_dir(&src)
            .stdin(patch)
            .status()
            .expect("`patch` runs (apt-get install patch)");
        assert!(
            applied.success(),
            "the patch of variant {v} does not apply to the reference"
        );
        let meta = std::fs::read_to_string(dir.join("variant.yaml")).expect("variant.yaml");
        if meta.lines().any(|l| l.trim() == "history: sloppy") {
            style = "sloppy";
        }
    }
    repo(&src.join("reference"), &work.join("repo"), style)
}

/// `scripts/make-repo.sh SRC DEST STYLE`: the fixture as a candidate's git repository.
fn repo(src: &Path, dest: &Path, style: &str) -> PathBuf {
    let made = Command::new(root().join("scripts/make-repo.sh"))
        .arg(src)
        .arg(dest)
        .arg(style)
        .status()
        .expect("scripts/make-repo.sh runs (git must be installed)");
    assert!(
        made.success(),
        "scripts/make-repo.sh failed for {}",
        src.display()
    );
    dest.to_owned()
}

/// Grades `submission` end to end: the pipeline's results and the scorecard.
fn grade(assessment: &str, submission: &Path) -> (RunResults, Scorecard) {
    let assessment = assay_format::load(&assessment_dir(assessment))
        .unwrap_or_else(|d| panic!("{assessment} is invalid:\n{d}"));
    let plan = assessment.grading_plan();
    let work = scratch();
    let opened = Submission::open(submission, &IntakeLimits::default(), work.path())
        .unwrap_or_else(|e| panic!("taking in {} failed: {e}", submission.display()));
    let request = RunRequest {
        assessment,
        submission: opened,
        project_root: root(),
        seed: SEED,
        test_mode: true,
        runtime: None,
        only: None,
        run_id: new_run_id(),
        trust: Default::default(),
        registries: None,
        // Corpus tests run two at a time: one lane with every grading of the session.
        lane: Some(
            PerformanceLane::on_machine(&assay_testkit::paths::machine_lane())
                .expect("the session's performance lane")
                .for_run(),
        ),
        built: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let results = rt
        .block_on(async {
            let docker = assay_docker::DockerBackend::connect().await?;
            run(&docker, &request, &|_| {}).await
        })
        .unwrap_or_else(|e| panic!("grading {} failed: {e}", submission.display()));
    let card = assay_grader::grade(&results, &plan, Some(PROFILE)).expect("the plan grades");
    (results, card)
}

/// Where references' scorecards are shared between the session's tests (made if missing).
fn corpus_cache() -> PathBuf {
    let dir = root().join("target/assay-corpus");
    std::fs::create_dir_all(&dir).expect("create target/assay-corpus");
    dir
}

/// The lock file behind which the reference of `assessment` is graded (once per session).
fn reference_lock(assessment: &str) -> std::fs::File {
    std::fs::File::create(corpus_cache().join(format!("reference-{assessment}.lock")))
        .expect("the lock file")
}

/// The reference's scorecard of this test session, graded once and shared through a file.
fn reference(assessment: &str) -> Scorecard {
    let session =
        std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| std::process::id().to_string());
    let path = corpus_cache().join(format!("reference-{assessment}-{session}-{SEED}.json"));
    let lock = reference_lock(assessment);
    lock.lock().expect("lock the reference cache");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(card) = serde_json::from_str(&text)
    {
        return card;
    }
    let work = scratch();
    let (results, card) = grade(assessment, &submission(assessment, None, work.path()));
    keep_results(assessment, "reference", &results);
    std::fs::write(
        &path,
        serde_json::to_vec(&card).expect("a scorecard serialises"),
    )
    .expect("cache the reference's scorecard");
    card
}

/// Variant `id` graded, with its reference's scorecard. While another test is grading the
/// reference (its lock is held), the variant is graded first instead of waiting idle in a
/// corpus slot for a minute or two, and the reference is read afterwards; otherwise the
/// reference comes first (graded here if no test has yet). Either way every check runs.
fn graded_with_reference(assessment: &str, id: &str) -> (Scorecard, RunResults, Scorecard) {
    let being_graded = matches!(
        reference_lock(assessment).try_lock(),
        Err(std::fs::TryLockError::WouldBlock)
    );
    let first = (!being_graded).then(|| reference(assessment));
    let work = scratch();
    let (results, card) = grade(assessment, &submission(assessment, Some(id), work.path()));
    let reference = first.unwrap_or_else(|| reference(assessment));
    (reference, results, card)
}

fn score(card: &Scorecard, skill: Skill) -> f64 {
    card.skill(skill).and_then(|s| s.score).unwrap_or(0.0)
}

fn failed(card: &Scorecard) -> Vec<&str> {
    card.checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| c.id.as_str())
        .collect()
}

/// Keeps a variant's raw results under `target/assay-corpus/` so that `assay regrade` can
/// re-score them after a change of weights (CORPUS.md's tables come from them).
fn keep_results(assessment: &str, id: &str, results: &RunResults) {
    let dir = root().join("target/assay-corpus").join(assessment).join(id);
    std::fs::create_dir_all(&dir).expect("create the variant's results folder");
    std::fs::write(
        dir.join("run-results.json"),
        serde_json::to_vec_pretty(results).expect("run results serialise"),
    )
    .expect("keep the variant's run results");
}

/// Ids of the checks whose verdict rests on time measured on the grading machine (load
/// phases, latency growth, deadlines of lifecycle actions): on a machine shared with other
/// builds they move by a few points from run to run whatever the submission.
fn timed_checks(assessment: &str) -> Vec<String> {
    let loaded = assay_format::load(&assessment_dir(assessment))
        .unwrap_or_else(|d| panic!("{assessment} is invalid:\n{d}"));
    loaded
        .suites
        .iter()
        .flat_map(|suite| &suite.checks)
        .filter(|check| {
            check.measures_time()
                || matches!(&check.kind, assay_format::CheckKind::Lifecycle(l) if l.within.is_some())
        })
        .map(|check| check.common.id.value.clone())
        .collect()
}

/// The variant's scorecard with its timed checks replaced by the reference's outcomes.
fn with_reference_timings(
    assessment: &str,
    results: &RunResults,
    reference: &Scorecard,
) -> Scorecard {
    let timed = timed_checks(assessment);
    let mut steady = results.clone();
    for outcome in &mut steady.checks {
        if !timed.contains(&outcome.id) {
            continue;
        }
        if let Some(r) = reference.check(&outcome.id) {
            outcome.status = r.status;
            outcome.credit = r.credit;
            outcome.partial = r.partial;
            outcome.message = r.message.clone();
        }
    }
    let plan = assay_format::load(&assessment_dir(assessment))
        .unwrap_or_else(|d| panic!("{assessment} is invalid:\n{d}"))
        .grading_plan();
    assay_grader::grade(&steady, &plan, Some(PROFILE)).expect("the plan grades")
}

/// The most a single defect may move a skill it is not aimed at, unless the variant
/// declares that skill `also_affected` with a reason.
const OTHERS_MAX_MOVE: f64 = 10.0;

/// A variant's `variant.yaml`, as text (the fields read here are one line each).
fn variant_meta(assessment: &str, id: &str) -> String {
    std::fs::read_to_string(
        assessment_dir(assessment)
            .join("variants")
            .join(id)
            .join("variant.yaml"),
    )
    .unwrap_or_else(|e| panic!("{assessment}: variant {id}: variant.yaml: {e}"))
}

/// A one-line YAML list (`key: [a, b]`) of `meta`; empty when the key is absent.
fn yaml_list(meta: &str, key: &str) -> Vec<String> {
    meta.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or("[]")
        .trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `variant.yaml`'s `also_affected` block: skill → the reason a reviewer accepts for the
/// defect moving it too. Written as a block map, one `  skill: "reason"` per line.
fn also_affected(meta: &str, id: &str) -> Vec<(Skill, String)> {
    let mut lines = meta
        .lines()
        .skip_while(|l| l.trim_end() != "also_affected:");
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let (skill, reason) = l
                .trim()
                .split_once(": ")
                .unwrap_or_else(|| panic!("variant {id}: `{l}` is not `skill: \"reason\"`"));
            let skill: Skill = serde_json::from_value(serde_json::Value::String(skill.to_owned()))
                .unwrap_or_else(|e| panic!("variant {id}: also_affected: unknown skill: {e}"));
            let reason = reason.trim().trim_matches('"').to_owned();
            assert!(
                reason.len() >= 20,
                "variant {id}: also_affected {skill} needs a reason a reviewer would accept"
            );
            (skill, reason)
        })
        .collect()
}

/// One variant: graded, it loses at least 20 points on the skill its defect belongs to,
/// moves no other skill by more than [`OTHERS_MAX_MOVE`] points except those its
/// `variant.yaml` declares `also_affected` (each with a reason), fails every check aimed at
/// that defect (`skill` and `expect_fail`), and does not pass (those checks are critical).
fn check_variant(assessment: &str, id: &str) {
    let meta = variant_meta(assessment, id);
    let field = |name: &str| {
        meta.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("variant {id} has no `{name}`"))
    };
    let skill: Skill = serde_json::from_value(serde_json::Value::String(field("skill")))
        .unwrap_or_else(|e| panic!("variant {id}: unknown skill: {e}"));
    let expect_fail: Vec<String> = field("expect_fail")
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        !expect_fail.is_empty(),
        "variant {id} names no check aimed at its defect"
    );

    let (reference, results, card) = graded_with_reference(assessment, id);
    keep_results(assessment, id, &results);
    let failed = failed(&card);
    for check in &expect_fail {
        assert!(
            failed.contains(&check.as_str()),
            "variant {id}: `{check}` should fail; failed: {failed:?}"
        );
    }
    // Most defects are disqualifying (a check critical for the skill fails). A defect a
    // variant declares `disqualifying: false` (unpinned dependencies) costs its skill points
    // without capping it: then no check may fail critically.
    if meta.lines().any(|l| l.trim() == "disqualifying: false") {
        assert!(
            card.critical_failures.is_empty(),
            "variant {id} is not disqualifying, but critical checks failed: {:?}",
            card.critical_failures
        );
    } else {
        assert!(
            !card.passed,
            "variant {id} must not pass: its defect is disqualifying"
        );
    }
    let (before, after) = (score(&reference, skill), score(&card, skill));
    assert!(
        before - after >= 20.0,
        "variant {id}: {skill} fell from {before} to {after}, less than 20 points; failed: {failed:?}"
    );
    let declared = also_affected(&meta, id);
    // Other skills are compared without the timing noise of a shared machine: unless the
    // defect is a performance one, the timed checks count as the reference measured them.
    let steady = if skill == Skill::Performance {
        card.clone()
    } else {
        with_reference_timings(assessment, &results, &reference)
    };
    let moved: Vec<String> = Skill::ALL
        .into_iter()
        .filter(|&other| other != skill && !declared.iter().any(|(s, _)| *s == other))
        .filter_map(|other| {
            let (before, after) = (score(&reference, other), score(&steady, other));
            ((before - after).abs() > OTHERS_MAX_MOVE)
                .then(|| format!("{other} {before} -> {after}"))
        })
        .collect();
    assert!(
        moved.is_empty(),
        "variant {id} (aimed at {skill}) moved other skills by more than {OTHERS_MAX_MOVE} \
         points: {moved:?}; failed: {failed:?}"
    );
    assert_caught_with_requests(id, &card);
}

/// Bugs a reviewer must see, not only be told of: the failing check's evidence holds the
/// exchange that shows the bug. (variant, check, method, a fragment of the URL, the statuses
/// that show it, fragments the response body holds.)
type Shown = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [u16],
    &'static [&'static str],
);
const CAUGHT_WITH_REQUESTS: &[Shown] = &[
    // Favourited by the viewer while nobody favourited it: the leak itself.
    (
        "favorited-leaks",
        "viewer-favorited",
        "GET",
        "/api/articles/",
        &[200],
        &["\"favorited\":true", "\"favoritesCount\":0"],
    ),
    // Two on the page (limit=2) and two counted, where five match.
    (
        "count-is-page-length",
        "lists-count-is-total",
        "GET",
        "limit=2",
        &[200],
        &["\"articlesCount\":2"],
    ),
    // The intruder's edit went through: the defaced body comes back.
    (
        "non-author-can-edit",
        "non-author-refused",
        "PUT",
        "/api/articles/",
        &[200],
        &["defaced"],
    ),
    // The second article with a taken title: a 500.
    (
        "duplicate-title-500",
        "slug-duplicate-title",
        "POST",
        "/api/articles",
        &[500],
        &[],
    ),
];

fn assert_caught_with_requests(id: &str, card: &Scorecard) {
    for &(variant, check_id, method, url, statuses, bodies) in CAUGHT_WITH_REQUESTS {
        if variant != id {
            continue;
        }
        let check = card
            .check(check_id)
            .unwrap_or_else(|| panic!("variant {id}: no check `{check_id}`"));
        assert_eq!(check.status, Status::Fail, "variant {id}: `{check_id}`");
        let shown = check.evidence.iter().any(|e| match e {
            Evidence::Exchange {
                request,
                response: Some(response),
                ..
            } => {
                request.method == method
                    && request.url.contains(url)
                    && statuses.contains(&response.status)
                    && bodies.iter().all(|b| response.body.contains(b))
            }
            _ => false,
        });
        assert!(
            shown,
            "variant {id}: the evidence of `{check_id}` lacks the {method} {url} answered {statuses:?} with {bodies:?} that shows the bug: {:#?}",
            check.evidence
        );
    }
}

/// A good variant: the reference answering with other readings the contract allows
/// (`variant.yaml`'s `readings`). Graded, no check fails but those that declare partial
/// credit for a lesser reading (`partial`), each with a lesser reading's credit, and no skill
/// loses anything but what those partial credits and the measured checks explain. Checks
/// graded from a measurement (load phases, memory, growth) are left out of both: two runs
/// on a shared machine measure different figures (a p95 of 110 ms where 100 is the target
/// is the machine's load, not a reading).
fn check_lenient_variant(assessment: &str, id: &str) {
    let meta = variant_meta(assessment, id);
    assert!(
        meta.lines().any(|l| l.trim() == "kind: good"),
        "variant {id} is not marked `kind: good`"
    );
    let partial: Vec<String> = yaml_list(&meta, "partial");

    let (reference, _, card) = graded_with_reference(assessment, id);
    // Graded from a measurement (load phases, memory, growth): on a loaded machine such a
    // check can fail the reference too, so it is judged against nothing here.
    let measured = |id: &str| {
        card.check(id).is_some_and(|c| {
            c.evidence
                .iter()
                .any(|e| matches!(e, Evidence::Measurement { .. }))
        })
    };
    for check in &card.checks {
        if check.status == Status::Pass || measured(&check.id) {
            continue;
        }
        assert!(
            partial.contains(&check.id),
            "good variant {id}: `{}` is {:?} ({}): a check punishes a reading the contract allows",
            check.id,
            check.status,
            check.message
        );
        assert!(
            check.partial && check.credit > 0.0 && check.credit < 1.0,
            "good variant {id}: `{}` should earn a lesser reading's partial credit, got {:?} with {}: {}",
            check.id,
            check.status,
            check.credit,
            check.message
        );
    }
    // A lesser reading is never a critical failure: what fails the verdict, if anything, is
    // a measurement.
    for critical in &card.critical_failures {
        assert!(
            measured(critical),
            "good variant {id}: `{critical}` is a critical failure (critical failures {:?})",
            card.critical_failures
        );
    }
    for skill in &card.skills {
        let (Some(reference_skill), Some(after)) = (reference.skill(skill.id), skill.score) else {
            continue;
        };
        let Some(before) = reference_skill.score else {
            continue;
        };
        let total: f64 = skill
            .evidence
            .iter()
            .map(|e| e.weight)
            .sum::<f64>()
            .max(f64::EPSILON);
        let lost = |e: &assay_grader::SkillEvidence| {
            let was = reference_skill
                .evidence
                .iter()
                .find(|r| r.check == e.check)
                .map_or(1.0, |r| r.credit);
            e.weight * (was - e.credit).max(0.0) * 100.0 / total
        };
        let (mut explained, mut noise, mut unexplained) = (0.0, 0.0, 0.0);
        for e in &skill.evidence {
            if partial.contains(&e.check) {
                explained += lost(e);
            } else if measured(&e.check) {
                noise += lost(e);
            } else {
                unexplained += lost(e);
            }
        }
        assert!(
            unexplained < 0.5,
            "good variant {id}: {} lost {unexplained:.1} points on checks that are neither partial nor measured",
            skill.id
        );
        assert!(
            before - after <= explained + noise + 0.5,
            "good variant {id}: {} fell from {before:.1} to {after:.1}; the partial credits explain {explained:.1}, the measurements {noise:.1}",
            skill.id
        );
    }
}

/// Checks whose figures move with the host's load (latency, memory, start-up time).
const MEASURED: &[&str] = &[
    "perf-account-read",
    "perf-transactions-page",
    "peak-memory",
    "startup-time",
];

/// A skill's score with the measured checks' credits taken from `reference`: what the
/// submission earned on everything that does not move with the host's load.
fn steady_score(card: &Scorecard, reference: &Scorecard, skill: Skill) -> Option<f64> {
    let s = card.skill(skill)?;
    let (mut earned, mut total) = (0.0, 0.0);
    for e in s
        .evidence
        .iter()
        .filter(|e| e.status != Status::NotAssessed)
    {
        let credit = if MEASURED.contains(&e.check.as_str()) {
            reference
                .checks
                .iter()
                .find(|c| c.id == e.check)
                .map_or(e.credit, |c| c.credit)
        } else {
            e.credit
        };
        earned += e.weight * credit;
        total += e.weight;
    }
    (total > 0.0).then(|| 100.0 * earned / total)
}

/// One good variant (`kind: good`): a legitimate choice, no defect. Graded, it loses
/// nothing: every check that measures no latency earns at least the reference's credit (or
/// is `not_assessed`, for what that choice leaves nothing to judge), no skill scores less than
/// the reference's once the measured checks' credits are taken from the reference (the noise
/// of a loaded host), the verdict passes, and the checks that prove the
/// choice was handled (`expect_pass`, `expect_message`) say so.
fn check_good_variant(assessment: &str, id: &str) {
    let meta = variant_meta(assessment, id);
    assert!(
        meta.lines().any(|l| l.trim() == "kind: good"),
        "variant {id} is not a good variant"
    );
    let expect_pass: Vec<String> = yaml_list(&meta, "expect_pass");
    let expect_message: Option<(String, String)> = meta
        .lines()
        .find_map(|l| l.strip_prefix("expect_message: "))
        .and_then(|v| {
            let (check, text) = v
                .trim()
                .trim_matches(|c| c == '{' || c == '}')
                .split_once(':')?;
            Some((
                check.trim().to_owned(),
                text.trim().trim_matches('"').to_owned(),
            ))
        });

    let (reference, _, card) = graded_with_reference(assessment, id);
    let find = |c: &Scorecard, check: &str| {
        c.checks
            .iter()
            .find(|r| r.id == check)
            .unwrap_or_else(|| panic!("{check} is planned"))
            .clone()
    };
    for check in &expect_pass {
        let r = find(&card, check);
        assert_eq!(
            r.status,
            Status::Pass,
            "variant {id}: `{check}`: {}",
            r.message
        );
    }
    if let Some((check, text)) = &expect_message {
        let r = find(&card, check);
        assert!(
            r.message.contains(text.as_str()),
            "variant {id}: `{check}` should say `{text}`: {}",
            r.message
        );
    }
    for before in &reference.checks {
        if MEASURED.contains(&before.id.as_str()) {
            continue;
        }
        let after = find(&card, &before.id);
        assert!(
            after.status == Status::NotAssessed || after.credit + 1e-9 >= before.credit,
            "variant {id}: `{}` fell from {} ({:?}) to {} ({:?}): {}",
            before.id,
            before.credit,
            before.status,
            after.credit,
            after.status,
            after.message
        );
    }
    // Measured checks (latency, memory, start-up) move with the host's load, which on a
    // shared machine moved performance by 12 points between two runs of equal code: each
    // skill is compared with those checks' credits taken from the reference.
    for skill in Skill::ALL {
        let before = steady_score(&reference, &reference, skill);
        let after = steady_score(&card, &reference, skill);
        if let (Some(b), Some(a)) = (before, after) {
            assert!(
                b - a <= 0.1,
                "variant {id}: {skill} fell from {b:.1} to {a:.1} on checks that measure no \
                 latency (as graded: {:?} to {:?})",
                reference.skill(skill).and_then(|s| s.score),
                card.skill(skill).and_then(|s| s.score)
            );
        }
        let graded = |c: &Scorecard| c.skill(skill).and_then(|s| s.score);
        assert!(
            graded(&reference).is_none() || graded(&card).is_some() || skill == Skill::Frameworks,
            "variant {id}: {skill} became not assessed"
        );
    }
    assert!(
        card.passed,
        "variant {id} must pass: overall {}",
        card.overall
    );
}

// One `#[test]` per folder of `assessments/*/variants/`, written by tests/build.rs: the
// checker (`check_variant`, `check_good_variant`, `check_lenient_variant`) from its
// `variant.yaml`, and `VARIANTS`, what was generated.
include!(concat!(env!("OUT_DIR"), "/corpus_variants.rs"));

/// Every folder under `variants/` has a generated test (the build script ran since the last
/// folder was added), judged as its `variant.yaml` says: a new variant cannot be forgotten.
#[test]
fn every_variant_is_in_the_corpus() {
    for assessment in [LEDGER, CONDUIT] {
        let dir = assessment_dir(assessment).join("variants");
        let mut on_disk = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the variants folder") {
            let name = entry.expect("a folder entry").file_name();
            on_disk.push(name.to_string_lossy().into_owned());
        }
        on_disk.sort();
        let mut generated: Vec<String> = VARIANTS
            .iter()
            .filter(|(a, ..)| *a == assessment)
            .map(|(_, id, ..)| (*id).to_owned())
            .collect();
        generated.sort();
        assert_eq!(
            generated, on_disk,
            "{assessment}: the generated corpus tests and the variant folders differ"
        );
        for (_, id, checker, test) in VARIANTS.iter().filter(|(a, ..)| *a == assessment) {
            let meta = variant_meta(assessment, id);
            let good = meta.lines().any(|l| l.trim() == "kind: good");
            let lenient = meta.lines().any(|l| l.trim() == "corpus: lenient");
            let want = match (good, lenient) {
                (true, true) => "lenient",
                (true, false) => "good",
                (false, _) => "defect",
            };
            assert_eq!(*checker, want, "{assessment}: variant {id} ({test})");
            assert!(
                !lenient || meta.lines().any(|l| l.trim_end() == "readings:"),
                "{assessment}: lenient variant {id} lists the other `readings` it answers with"
            );
        }
    }
}

/// Every `also_affected` entry names a known skill other than the aimed one, with a reason
/// (checked without Docker, so a typo shows before the corpus runs).
#[test]
fn also_affected_skills_are_known_and_give_a_reason() {
    for assessment in [LEDGER, CONDUIT] {
        let dir = assessment_dir(assessment).join("variants");
        for entry in std::fs::read_dir(&dir).expect("the variants folder") {
            let path = entry.expect("a folder entry").path();
            let id = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let id = id.unwrap_or_default();
            let meta = std::fs::read_to_string(path.join("variant.yaml")).expect("variant.yaml");
            if meta.lines().any(|l| l.trim() == "kind: good") {
                // A good variant aims at no skill and declares nothing.
                assert!(
                    also_affected(&meta, &id).is_empty(),
                    "good variant {id} declares skills as also affected"
                );
                continue;
            }
            let aimed = meta
                .lines()
                .find_map(|l| l.strip_prefix("skill: "))
                .unwrap_or_else(|| panic!("variant {id} has no `skill`"))
                .trim();
            for (skill, _) in also_affected(&meta, &id) {
                assert_ne!(
                    skill.id(),
                    aimed,
                    "variant {id}: its aimed skill is not `also`"
                );
            }
        }
    }
}

#[test]
fn reference_passes_backend_senior_with_every_skill_at_80() {
    assay_testkit::require_docker!();
    check_reference(LEDGER);
}

#[test]
fn conduit_reference_passes_backend_senior_with_every_skill_at_80() {
    assay_testkit::require_docker!();
    check_reference(CONDUIT);
}

fn check_reference(assessment: &str) {
    let card = reference(assessment);
    assert!(
        card.passed,
        "the {assessment} reference must pass {PROFILE}: overall {}",
        card.overall
    );
    for skill in &card.skills {
        if let Some(s) = skill.score {
            assert!(
                s >= 80.0,
                "the {assessment} reference scores {s} on {}: {}",
                skill.id,
                skill.summary
            );
        }
    }
    assert!(card.sandbox.image_built && card.sandbox.became_healthy);
    // The `database` checks (ids `db-*`) connect as the checks' own role, which reads the
    // tables the service's role owns: each one passes on the reference.
    let db: Vec<_> = card
        .checks
        .iter()
        .filter(|c| c.id.starts_with("db-"))
        .collect();
    assert!(
        !db.is_empty(),
        "the {assessment} reference has no db- checks"
    );
    for c in db {
        assert_eq!(
            c.status,
            Status::Pass,
            "{} on the {assessment} reference: {}",
            c.id,
            c.message
        );
    }
}

/// Same seed, same submission: the same verdict on every check that measures no latency.
#[test]
fn the_same_seed_gives_the_same_results() {
    assay_testkit::require_docker!();
    let first = reference(LEDGER);
    let work = scratch();
    let (_, second) = grade(LEDGER, &submission(LEDGER, None, work.path()));
    let load_checks = [
        "perf-account-read",
        "perf-transactions-page",
        "peak-memory",
        "startup-time",
    ];
    let verdicts = |card: &Scorecard| -> Vec<(String, Status, String)> {
        card.checks
            .iter()
            .filter(|c| !load_checks.contains(&c.id.as_str()))
            .map(|c| (c.id.clone(), c.status, format!("{:.3}", c.credit)))
            .collect()
    };
    assert_eq!(verdicts(&first), verdicts(&second));
    assert_eq!(first.seed, second.seed);
}

/// A broken submission is graded, with the reason in the sandbox report and the checks.
fn check_broken(fixture: &str, reason: &str) -> Scorecard {
    let work = scratch();
    let src = root().join("tests/fixtures/corpus").join(fixture);
    let (results, card) = grade(LEDGER, &repo(&src, &work.path().join("repo"), "good"));
    assert!(!card.passed, "{fixture} must not pass");
    assert!(card.overall < 30.0, "{fixture} scored {}", card.overall);
    let failure = results
        .sandbox
        .failure
        .as_ref()
        .map(|f| f.describe())
        .unwrap_or_default();
    assert!(
        failure.contains(reason),
        "{fixture}: sandbox failure `{failure}` should say `{reason}`"
    );
    card
}

#[test]
fn a_submission_that_does_not_build_is_graded() {
    assay_testkit::require_docker!();
    let card = check_broken("did-not-build", "did not build");
    assert!(!card.sandbox.image_built);
    let api = card
        .checks
        .iter()
        .find(|c| c.id == "healthz")
        .expect("healthz is planned");
    assert_eq!(api.status, Status::Skipped);
    // What reads only the repository is judged all the same.
    for id in ["repo-readme", "repo-history", "secrets-not-committed"] {
        let check = card
            .checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} is planned"));
        assert_ne!(check.status, Status::Skipped, "{id}: {}", check.message);
    }
}

#[test]
fn a_submission_that_never_becomes_healthy_is_graded() {
    assay_testkit::require_docker!();
    let card = check_broken("never-healthy", "never became healthy");
    assert!(card.sandbox.image_built && !card.sandbox.became_healthy);
}

#[test]
fn a_submission_that_answers_500_is_graded() {
    assay_testkit::require_docker!();
    let work = scratch();
    let src = root().join("tests/fixtures/corpus/all-500");
    let (results, card) = grade(LEDGER, &repo(&src, &work.path().join("repo"), "good"));
    assert!(results.sandbox.became_healthy && results.sandbox.failure.is_none());
    assert!(
        !card.passed && card.overall < 30.0,
        "all-500 scored {}",
        card.overall
    );
    // The principals cannot register (500), so every check that needs them is skipped
    // saying so; checks that need no service (repository, database) are judged.
    let skipped: Vec<_> = card
        .checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .collect();
    assert!(skipped.len() > 50, "only {} checks skipped", skipped.len());
    for c in &skipped {
        assert!(
            c.message.contains("500") || c.message.contains("needs"),
            "`{}` is skipped without the 500 (or a failed prerequisite) as reason: {}",
            c.id,
            c.message
        );
    }
    assert!(
        card.checks
            .iter()
            .any(|c| c.id == "repo-readme" && c.status == Status::Fail)
    );
}
