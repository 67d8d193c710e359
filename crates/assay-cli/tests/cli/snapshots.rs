//! What the `assay` binary prints, as snapshots (`insta`; `cargo insta review` after a
//! deliberate change): `--help` of the top level and of every subcommand, the summaries
//! `regrade` and `compare` print for a fixed run of the `init` scaffold, and the messages for
//! bad input (a missing assessment, broken YAML, bad flag values, no Docker engine). Paths,
//! durations and digests are redacted; none of these need Docker.

use std::path::Path;
use std::process::Output;

use assay_model::{CheckOutcome, Evidence, RunResults, Status};
use assay_testkit::values::{run_results, timed};

use crate::invoke::{assay, code, init, output, root, text};

/// Every subcommand, as `assay <words> --help` takes them.
const SUBCOMMANDS: [&[&str]; 13] = [
    &["run"],
    &["batch"],
    &["similarity"],
    &["validate"],
    &["images"],
    &["images", "build"],
    &["images", "list"],
    &["gc"],
    &["report"],
    &["regrade"],
    &["compare"],
    &["brief"],
    &["init"],
];

/// Exit code, standard output and standard error, as one text to snapshot.
fn printed(o: &Output) -> String {
    let mut all = format!("exit code: {}\n", code(o));
    for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let t = text(bytes);
        if !t.is_empty() {
            all.push_str(&format!("--- {name}\n{t}"));
            if !t.ends_with('\n') {
                all.push('\n');
            }
        }
    }
    all
}

/// Snapshots `value` with the work folder, the checkout, durations and digests redacted.
fn snapshot(name: &str, work: &Path, value: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    for (path, label) in [(work, "[work]"), (root().as_path(), "[checkout]")] {
        let path = path.display().to_string();
        settings.add_filter(&regex::escape(&path), label);
    }
    settings.add_filter(r"sha256:[0-9a-f]+", "sha256:[digest]");
    settings.add_filter(r"\b\d+(\.\d+)? ?(ms|s)\b", "[duration]");
    settings.bind(|| insta::assert_snapshot!(name, value));
}

#[test]
fn help_of_every_command() {
    let work = tempfile::tempdir().expect("a temp dir");
    let top = output(assay(work.path()).arg("--help").env("COLUMNS", "100"));
    assert_eq!(code(&top), 0);
    snapshot("help", work.path(), &printed(&top));
    for words in SUBCOMMANDS {
        let o = output(
            assay(work.path())
                .args(words)
                .arg("--help")
                .env("COLUMNS", "100"),
        );
        assert_eq!(code(&o), 0, "{words:?}: {}", text(&o.stderr));
        snapshot(
            &format!("help_{}", words.join("_")),
            work.path(),
            &printed(&o),
        );
    }
}

/// A fixed run of the `init` scaffold: the first check passes, the second fails with a
/// note, the third is skipped, the fourth passes with partial credit, the rest pass.
fn fixed_run(assessment: &Path, name: &str) -> RunResults {
    let plan = assay_format::load(assessment)
        .unwrap_or_else(|d| panic!("the scaffold is invalid:\n{d}"))
        .grading_plan();
    let checks = plan
        .checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (id, suite) = (c.id.as_str(), c.suite.as_str());
            let outcome = match i {
                1 => CheckOutcome::fail(
                    id,
                    suite,
                    "expected 200, got 500",
                    vec![Evidence::Note {
                        text: "the counter answered 500".to_owned(),
                    }],
                ),
                2 => CheckOutcome::skipped(id, suite, "needs a database"),
                3 => CheckOutcome::with(id, suite, Status::Fail, 0.5, "half of it", Vec::new()),
                _ => CheckOutcome::pass(id, suite, "ok", Vec::new()),
            };
            timed(outcome, 10 * i as u64)
        })
        .collect();
    run_results(
        ("counter-api", "0.1.0", "Counter"),
        (name, "sha256:0123abcd"),
        checks,
    )
}

#[test]
fn regrade_and_compare_print_their_summaries() {
    let work = tempfile::tempdir().expect("a temp dir");
    let w = work.path();
    let assessment = init(w);
    let mut folders = Vec::new();
    for name in ["alice", "bob"] {
        let mut run = fixed_run(&assessment, name);
        if name == "bob" {
            for check in &mut run.checks {
                *check = CheckOutcome::pass(&check.id, &check.suite, "ok", Vec::new());
            }
        }
        let results = w.join(format!("{name}.json"));
        std::fs::write(
            &results,
            serde_json::to_vec(&run).expect("run results serialise"),
        )
        .expect("write the run results");
        let out = w.join(format!("out-{name}"));
        let o = output(
            assay(w)
                .arg("regrade")
                .arg(&results)
                .arg(&assessment)
                .arg("--out")
                .arg(&out),
        );
        snapshot(&format!("regrade_{name}"), w, &printed(&o));
        folders.push(out);
    }
    let o = output(assay(w).arg("compare").args(&folders));
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    snapshot("compare", w, &printed(&o));
    let o = output(assay(w).arg("compare").args(&folders).arg("--csv"));
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    snapshot("compare_csv", w, &printed(&o));
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let work = tempfile::tempdir().expect("a temp dir");
    let w = work.path();
    let assessment = init(w);
    let submission = assessment.join("reference");

    let missing = w.join("no-such-assessment");
    let o = output(assay(w).arg("validate").arg(&missing));
    snapshot("error_validate_missing_assessment", w, &printed(&o));
    let o = output(assay(w).arg("run").arg(&missing).arg(&submission));
    snapshot("error_run_missing_assessment", w, &printed(&o));

    let broken = w.join("broken");
    std::fs::create_dir_all(&broken).expect("broken/");
    std::fs::write(
        broken.join("assessment.yaml"),
        "id: broken\nversion: [1.0\ntitle: Broken\n",
    )
    .expect("assessment.yaml");
    let o = output(assay(w).arg("validate").arg(&broken));
    snapshot("error_validate_broken_yaml", w, &printed(&o));

    for (name, flags) in [
        ("error_flag_seed", &["run", "--seed", "forty-two"][..]),
        ("error_flag_jobs", &["batch", "--jobs", "0"][..]),
        ("error_flag_shard", &["batch", "--shard", "3/2"][..]),
        ("error_flag_unknown", &["run", "--no-such-flag"][..]),
    ] {
        let o = output(assay(w).args(flags).arg(&assessment).arg(&submission));
        assert_eq!(code(&o), 2, "{name}: {}", text(&o.stderr));
        snapshot(name, w, &printed(&o));
    }
    let o = output(
        assay(w)
            .args(["validate", "--color", "purple"])
            .arg(&assessment),
    );
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    snapshot("error_flag_color", w, &printed(&o));

    for (name, args) in [
        ("error_no_docker_run", vec!["run"]),
        ("error_no_docker_images_list", vec!["images", "list"]),
        ("error_no_docker_gc", vec!["gc"]),
    ] {
        let mut cmd = assay(w);
        cmd.args(&args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
        if args == ["run"] {
            cmd.arg(&assessment)
                .arg(&submission)
                .arg("--out")
                .arg(w.join("out"));
        }
        let o = output(&mut cmd);
        assert_eq!(code(&o), 3, "{name}: {}", text(&o.stderr));
        snapshot(name, w, &printed(&o));
    }
}
