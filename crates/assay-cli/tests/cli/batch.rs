//! `assay batch` and `assay run` with real Docker: a cohort of the `init` scaffold's tiny
//! submissions (its reference, a copy, one that does not build and a refused archive) graded
//! with summaries, resumption and shards merged by `compare`; Ctrl-C; a run killed with
//! SIGKILL cleaned up by the next command. The scaffold's checks are short, so the file runs
//! in about a minute. Skipped without a Docker engine (`require_docker!`).

use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::invoke::{assay, code, csv_rows, init, json, output, read, text};

/// A folder of submissions: the scaffold's reference, an identical copy under another name,
/// one whose build fails, and a zip with a `..` entry.
fn cohort(assessment: &Path, work: &Path) -> PathBuf {
    let subs = work.join("subs");
    std::fs::create_dir_all(&subs).expect("subs/");
    for name in ["good", "twin"] {
        let copied = Command::new("cp")
            .arg("-a")
            .arg(assessment.join("reference"))
            .arg(subs.join(name))
            .status()
            .expect("cp runs");
        assert!(copied.success());
    }
    std::fs::create_dir_all(subs.join("broken")).expect("broken/");
    std::fs::write(
        subs.join("broken/Dockerfile"),
        "FROM debian:bookworm-slim\nRUN echo compiling && false\n",
    )
    .expect("broken/Dockerfile");
    let file = std::fs::File::create(subs.join("evil.zip")).expect("evil.zip");
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file("../escape.txt", zip::write::SimpleFileOptions::default())
        .expect("a zip entry");
    std::io::Write::write_all(&mut zip, b"out").expect("write the entry");
    zip.finish().expect("finish the zip");
    subs
}

/// The names and outcomes `OUT/batch.json` records.
fn recorded(out: &Path) -> Vec<(String, String)> {
    let record = json(&out.join("batch.json"));
    let mut v: Vec<(String, String)> = record["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or_default().to_owned(),
                        e["outcome"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn batch_grades_a_cohort_resumes_and_merges_shards() {
    assay_testkit::require_docker!();
    let work = tempfile::tempdir().expect("a temp dir");
    let assessment = init(work.path());
    let subs = cohort(&assessment, work.path());
    let out = work.path().join("out");
    let batch = |extra: &[&OsStr]| {
        let mut cmd = assay(work.path());
        cmd.arg("batch")
            .arg(&assessment)
            .args(extra)
            .env("ASSAY_TEST_MODE", "1");
        output(&mut cmd)
    };

    // 1. The whole cohort, two at a time.
    let first = batch(&[
        subs.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--jobs"),
        OsStr::new("2"),
        OsStr::new("--seed"),
        OsStr::new("7"),
    ]);
    let stderr = text(&first.stderr);
    assert_eq!(
        code(&first),
        2,
        "a refused archive makes the batch exit 2, the scores never do: {stderr}"
    );
    assert_eq!(
        recorded(&out),
        [
            ("broken".to_owned(), "graded".to_owned()),
            ("evil.zip".to_owned(), "refused".to_owned()),
            ("good".to_owned(), "graded".to_owned()),
            ("twin".to_owned(), "graded".to_owned()),
        ]
    );
    assert_eq!(json(&out.join("batch.json"))["seed"], 7);

    // Each submission in OUT/<name>-<digest12>/ with every report and its raw results.
    let good: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("OUT/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("good-"))
        })
        .collect();
    assert_eq!(good.len(), 1, "one folder for good: {good:?}");
    let folder = good[0]
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert_eq!(folder.len(), "good-".len() + 12, "{folder}");
    for file in [
        "scorecard.json",
        "report.md",
        "report.html",
        "junit.xml",
        "results.json",
        "run-results.json",
    ] {
        assert!(good[0].join(file).is_file(), "{folder}/{file}");
    }
    // The load check seeded 5,000 × 0.1 rows straight into the PostgreSQL sidecar first.
    let card = json(&good[0].join("scorecard.json"));
    let load = card["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == "hello-latency"))
        .cloned()
        .unwrap_or_default();
    let seeded = load["evidence"]
        .as_array()
        .and_then(|ev| {
            ev.iter()
                .find(|e| e["name"] == "rows seeded through the database")
        })
        .map(|e| e["value"].clone());
    assert_eq!(seeded, Some(serde_json::json!(500.0)), "{load}");
    let card = json(&good[0].join("scorecard.json"));
    assert_eq!(card["seed"], 7);
    let digest = card["submission"]["digest"].as_str().unwrap_or_default();
    assert_eq!(
        digest.strip_prefix("sha256:").map(|d| &d[..12]),
        folder.strip_prefix("good-"),
        "the folder carries the content digest"
    );

    // summary.csv: every submission, ranked ones first.
    let rows = csv_rows(&out.join("summary.csv"));
    assert_eq!(
        rows[0][..5],
        ["rank", "name", "overall", "passed", "languages"],
        "{rows:?}"
    );
    assert_eq!(
        rows[0].len(),
        4 + 10 + 4,
        "ten skills and four more columns"
    );
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[1] == name)
            .unwrap_or_else(|| panic!("{name} in summary.csv"))
            .clone()
    };
    // The two references pass (the load check's latency may cost one a point); the broken
    // one is last.
    for name in ["good", "twin"] {
        let r = row(name);
        let overall: f64 = r[2].parse().unwrap_or_default();
        assert!(
            ["1", "2"].contains(&r[0].as_str()) && overall >= 90.0 && r[3] == "true",
            "{r:?}"
        );
    }
    // The broken one scores only what reads the repository alone (the secrets scan).
    assert_eq!(row("broken")[..4], ["3", "broken", "16.7", "false"]);
    let evil = row("evil.zip");
    assert_eq!(evil[0], "", "a refused submission has no rank");
    assert_eq!(evil[evil.len() - 2], "refused");
    assert!(evil[evil.len() - 1].contains(".."), "its error: {evil:?}");

    // summary.md: leaderboard, the refused one and why, and the cohort's checks.
    let md = read(&out.join("summary.md"));
    for needle in [
        "# Batch summary: counter-api 0.1.0",
        "Seed 7",
        "## Leaderboard",
        "## Not graded",
        "evil.zip",
        "## Checks across the cohort",
        "everybody passes",
    ] {
        assert!(md.contains(needle), "summary.md has {needle}:\n{md}");
    }

    // checks.csv: one row per check; the service checks both goods pass are flagged.
    let checks = csv_rows(&out.join("checks.csv"));
    assert_eq!(checks.len(), 1 + 7, "{checks:?}");
    let hello = checks
        .iter()
        .find(|r| r[1] == "hello")
        .expect("the hello check");
    assert_eq!(
        (hello[3].as_str(), hello[6].as_str(), hello[9].as_str()),
        ("2", "1", "everybody_passes"),
        "2 passed, broken's skipped, flagged: {hello:?}"
    );
    let readme = checks
        .iter()
        .find(|r| r[1] == "readme")
        .expect("the readme check");
    assert_eq!(
        (readme[3].as_str(), readme[4].as_str(), readme[9].as_str()),
        ("2", "1", ""),
        "broken has no README: {readme:?}"
    );

    // Similarity, on by default: good and twin are the same code, flagged as a pair; their
    // scorecards name each other, and it is a note, not a score.
    let similar = csv_rows(&out.join("similarity.csv"));
    assert_eq!(similar.len(), 2, "one flagged pair: {similar:?}");
    assert!(
        similar[1][0].starts_with("good-") && similar[1][1].starts_with("twin-"),
        "{similar:?}"
    );
    assert!(
        similar[1][2].parse::<f64>().unwrap_or(0.0) >= 0.9,
        "{similar:?}"
    );
    assert!(
        md.contains("## Similarity") && md.contains("never part of a score"),
        "{md}"
    );
    let block = &json(&good[0].join("scorecard.json"))["similarity"];
    assert_eq!(block["flagged"], true, "{block}");
    assert!(
        block["closest"]
            .as_str()
            .is_some_and(|c| c.starts_with("twin-")),
        "{block}"
    );
    let page = out.join(block["page"].as_str().unwrap_or("no page"));
    assert!(page.is_file(), "{}", page.display());
    assert!(read(&good[0].join("report.md")).contains("> [!NOTE]\n> Shares"));

    // 2. Again, without --seed: the stored seed is reused and nothing runs again.
    let second = batch(&[
        subs.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--events"),
        OsStr::new("json"),
    ]);
    assert_eq!(code(&second), 2, "{}", text(&second.stderr));
    let events: Vec<serde_json::Value> = text(&second.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(
        events.iter().all(|e| e["event"] != "launched"),
        "no run is launched"
    );
    let mut finished: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "finished")
        .map(|e| {
            e["entry"]["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    finished.sort();
    assert_eq!(finished, ["refused", "resumed", "resumed", "resumed"]);
    assert_eq!(json(&out.join("batch.json"))["seed"], 7);

    // 3. Two shards of a list file, then `assay compare` merges them.
    let list = work.path().join("cohort.txt");
    std::fs::write(
        &list,
        "# the cohort\nsubs/good\nsubs/broken   # did not build\n\nsubs/evil.zip\n",
    )
    .expect("the list");
    let mut shard_dirs = Vec::new();
    let mut names = Vec::new();
    for k in 1..=2 {
        let dir = work.path().join(format!("shard{k}"));
        let shard = format!("{k}/2");
        let o = batch(&[
            OsStr::new("--list"),
            list.as_os_str(),
            OsStr::new("--out"),
            dir.as_os_str(),
            OsStr::new("--shard"),
            OsStr::new(&shard),
            OsStr::new("--seed"),
            OsStr::new("7"),
        ]);
        let expected = if k == 1 { 0 } else { 2 };
        assert_eq!(
            code(&o),
            expected,
            "shard {shard}: sorted broken, evil.zip, good; every second one: {}",
            text(&o.stderr)
        );
        names.extend(recorded(&dir).into_iter().map(|(n, _)| n));
        shard_dirs.push(dir);
    }
    names.sort();
    assert_eq!(
        names,
        ["broken", "evil.zip", "good"],
        "each submission in exactly one shard"
    );
    let merged = output(
        assay(work.path())
            .arg("compare")
            .args(&shard_dirs)
            .arg("--csv"),
    );
    assert_eq!(code(&merged), 0, "{}", text(&merged.stderr));
    let merged = text(&merged.stdout);
    let lines: Vec<&str> = merged.lines().collect();
    assert_eq!(lines.len(), 3, "a header and the two graded: {merged}");
    assert!(lines[1].starts_with("1,good,"), "{merged}");
    assert!(lines[2].starts_with("2,broken,"), "{merged}");
}

#[test]
fn ctrl_c_stops_the_batch_cleans_up_and_summarises() {
    assay_testkit::require_docker!();
    let work = tempfile::tempdir().expect("a temp dir");
    let assessment = init(work.path());
    let out = work.path().join("out");
    let mut child = assay(work.path())
        .arg("batch")
        .arg(&assessment)
        .arg(assessment.join("reference"))
        .arg("--out")
        .arg(&out)
        .args(["--seed", "99", "--events", "json"])
        .env("ASSAY_TEST_MODE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("assay starts");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    // Interrupt once the sandbox is starting: there are containers to clean up.
    let mut interrupted = false;
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if line.contains("\"stage\":\"start\"") {
            std::thread::sleep(Duration::from_millis(1500));
            let sent = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .expect("kill runs");
            assert!(sent.success());
            interrupted = true;
            break;
        }
    }
    assert!(interrupted, "the run reached its start-up stage");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("assay ends");
    assert_eq!(status.code(), Some(3), "interrupted is exit code 3");
    assert!(
        rest.iter().any(|l| l.contains("\"event\":\"stopping\"")),
        "{rest:?}"
    );
    assert_eq!(
        recorded(&out),
        [("reference".to_owned(), "interrupted".to_owned())]
    );
    assert!(out.join("summary.md").is_file(), "the summary is written");

    let label = format!("label=assay.pid={pid}");
    for listing in [
        ["ps", "-a", "-q", "--filter", &label],
        ["network", "ls", "-q", "--filter", &label],
    ] {
        let left = Command::new("docker")
            .args(listing)
            .output()
            .expect("docker runs");
        assert!(
            text(&left.stdout).trim().is_empty(),
            "docker {}: the interrupted run left {}",
            listing[0],
            text(&left.stdout)
        );
    }
}

/// `docker` ids of containers or networks carrying `assay.pid=<pid>`.
fn owned_by(what: &str, pid: u32) -> Vec<String> {
    let o = Command::new("docker")
        .args([
            what,
            "ls",
            "-q",
            "--filter",
            &format!("label=assay.pid={pid}"),
        ])
        .args(if what == "container" {
            &["-a"][..]
        } else {
            &[][..]
        })
        .output()
        .expect("docker runs");
    text(&o.stdout).lines().map(str::to_owned).collect()
}

/// Firewall rules whose comment names `pid`.
fn rules_of(pid: u32) -> Vec<String> {
    let o = Command::new("iptables")
        .args(["-w", "10", "-S", "INPUT"])
        .output()
        .expect("iptables runs");
    text(&o.stdout)
        .lines()
        .filter(|l| {
            l.contains(&format!("assay.pid={pid},")) || l.ends_with(&format!("assay.pid={pid}\""))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_run_killed_with_sigkill_leaves_nothing_once_any_command_runs() {
    assay_testkit::require_docker!();
    let work = tempfile::tempdir().expect("work dir");
    let assessment = init(work.path());
    let mut child = assay(work.path())
        .args(["run", "--test-mode", "--out"])
        .arg(work.path().join("out"))
        .arg(&assessment)
        .arg(assessment.join("reference"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("assay run starts");
    let pid = child.id();
    // Wait for the run's sidecar (and network) to exist, then kill assay outright.
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    while owned_by("container", pid).is_empty() || owned_by("network", pid).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started its containers"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "assay run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(
        !owned_by("container", pid).is_empty(),
        "orphans exist before"
    );

    // Any command, even one that needs no Docker itself, reaps them first.
    let o = output(assay(work.path()).arg("validate").arg(&assessment));
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("dead run(s) left"),
        "the command says what it removed: {}",
        text(&o.stderr)
    );
    assert_eq!(owned_by("container", pid), Vec::<String>::new());
    assert_eq!(owned_by("network", pid), Vec::<String>::new());
    assert_eq!(rules_of(pid), Vec::<String>::new());
}
