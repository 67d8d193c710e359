//! Commands that need no Docker engine: `init` writes an assessment that validates, settings
//! come from flags, then `ASSAY_*` variables, then the configuration file, submission limits
//! and unknown profiles are refused naming the setting, and `--help` documents them.

use crate::invoke::{assay, code, init, json, output, read, text};

#[test]
fn init_scaffolds_an_assessment_that_validates() {
    let work = tempfile::tempdir().expect("a temp dir");
    let dir = init(work.path());

    let o = output(assay(work.path()).arg("validate").arg(&dir));
    assert_eq!(code(&o), 0, "validate: {}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("valid (1 suites, 7 checks)"),
        "{}",
        text(&o.stderr)
    );
    let suite = read(&dir.join("suites/examples.yaml"));
    for kind in [
        "http:",
        "concurrent:",
        "load:",
        "security:",
        "database:",
        "lifecycle:",
        "repository:",
    ] {
        assert!(suite.contains(kind), "the scaffold has a `{kind}` check");
    }
    for file in ["reference/Dockerfile", "reference/app.py", "brief.md"] {
        assert!(dir.join(file).is_file(), "{file} is written");
    }

    let again = output(assay(work.path()).arg("init").arg(&dir));
    assert_eq!(code(&again), 2, "init refuses a folder that is not empty");
    assert!(text(&again.stderr).contains("not empty"));
}

#[test]
fn settings_come_from_flags_then_variables_then_the_file() {
    let work = tempfile::tempdir().expect("a temp dir");
    let dir = init(work.path());
    let empty = work.path().join("no-submissions");
    std::fs::create_dir_all(&empty).expect("an empty folder");
    std::fs::write(
        work.path().join("assay.toml"),
        "out = \"from-file\"\nseed = 1\n",
    )
    .expect("assay.toml");

    // A batch with nothing to grade still records its seed in OUT/batch.json, so the folder
    // and the seed show which layer won.
    let seed_in = |out: &str| {
        json(&work.path().join(out).join("batch.json"))["seed"]
            .as_u64()
            .unwrap_or_default()
    };
    let batch = |env: &[(&str, &str)], flags: &[&str]| {
        let mut cmd = assay(work.path());
        cmd.arg("batch").arg(&dir).arg(&empty).args(flags);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = output(&mut cmd);
        assert_eq!(code(&o), 2, "nothing to grade is a usage error");
        assert!(
            text(&o.stderr).contains("no submissions found"),
            "{}",
            text(&o.stderr)
        );
    };
    batch(&[], &[]);
    assert_eq!(seed_in("from-file"), 1, "the file");
    batch(&[("ASSAY_OUT", "from-env"), ("ASSAY_SEED", "2")], &[]);
    assert_eq!(seed_in("from-env"), 2, "variables beat the file");
    batch(
        &[("ASSAY_OUT", "from-env"), ("ASSAY_SEED", "2")],
        &["--out", "from-flag", "--seed", "3"],
    );
    assert_eq!(seed_in("from-flag"), 3, "flags beat variables");

    // Bad values name where they came from.
    let o = output(
        assay(work.path())
            .args(["batch", "a", "b"])
            .env("ASSAY_JOBS", "0"),
    );
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("ASSAY_JOBS"),
        "{}",
        text(&o.stderr)
    );
    std::fs::write(work.path().join("assay.toml"), "colour = \"never\"\n").expect("assay.toml");
    let o = output(assay(work.path()).args(["validate", "x"]));
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("assay.toml: unknown configuration key `colour`"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn submission_limits_are_settings_and_refusals_name_them() {
    let work = tempfile::tempdir().expect("a temp dir");
    let dir = init(work.path());
    let submission = dir.join("reference");
    let run = |env: &[(&str, &str)], flags: &[&str]| {
        let mut cmd = assay(work.path());
        cmd.arg("run").arg(&dir).arg(&submission).args(flags);
        for (k, v) in env {
            cmd.env(k, v);
        }
        output(&mut cmd)
    };
    // Three files: two entries are too many, a 100-byte cap is too small for app.py.
    for (env, flags, needle) in [
        (
            &[][..],
            &["--max-entries", "2"][..],
            "--max-entries raises the limit",
        ),
        (
            &[("ASSAY_MAX_FILE_SIZE", "100")][..],
            &[][..],
            "--max-file-size raises the limit",
        ),
        (
            &[][..],
            &["--max-unpacked", "1KiB"][..],
            "--max-unpacked raises the limit",
        ),
    ] {
        let o = run(env, flags);
        assert_eq!(
            code(&o),
            2,
            "a refused submission exits 2: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains(needle),
            "{needle}: {}",
            text(&o.stderr)
        );
    }
    let o = run(&[("ASSAY_MAX_UNPACKED", "12 parsecs")], &[]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("ASSAY_MAX_UNPACKED")
            && text(&o.stderr).contains("unknown unit `parsecs`"),
        "{}",
        text(&o.stderr)
    );
    // `M` alone is ambiguous now that `MB` is 10^6 everywhere: the refusal says what to write.
    let o = run(&[], &["--max-unpacked", "64m"]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("write `MiB` for 2^20 bytes or `MB` for 10^6"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn an_unknown_profile_is_refused_by_every_command_naming_the_known_ones() {
    let work = tempfile::tempdir().expect("a temp dir");
    let dir = init(work.path());
    let submission = dir.join("reference");
    let results = work.path().join(assay_report::RUN_RESULTS_FILE);
    let stored = assay_model::RunResults {
        assessment: assay_model::AssessmentRef {
            id: "counter-api".to_owned(),
            version: "0.1.0".to_owned(),
            title: "Counter".to_owned(),
        },
        submission: assay_model::SubmissionRef {
            name: "reference".to_owned(),
            digest: "sha256:00".to_owned(),
        },
        sandbox: assay_model::SandboxReport::default(),
        checks: Vec::new(),
        seed: 7,
        runner: assay_model::RunnerInfo {
            version: "0.1.0".to_owned(),
            images: Default::default(),
        },
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        duration_seconds: 1.0,
    };
    std::fs::write(
        &results,
        serde_json::to_vec(&stored).expect("run results serialise"),
    )
    .expect("run-results.json");
    let refused = "unknown profile `frontend`: the assessment defines `backend`";
    let commands: [(&str, Vec<&std::ffi::OsStr>); 3] = [
        ("run", vec![dir.as_os_str(), submission.as_os_str()]),
        ("batch", vec![dir.as_os_str(), submission.as_os_str()]),
        ("regrade", vec![results.as_os_str(), dir.as_os_str()]),
    ];
    for (command, args) in commands {
        let o = output(
            assay(work.path())
                .arg(command)
                .args(args)
                .args(["--profile", "frontend", "--out"])
                .arg(work.path().join(command)),
        );
        assert_eq!(code(&o), 2, "{command}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(refused),
            "{command}: {}",
            text(&o.stderr)
        );
        assert!(
            !work.path().join(command).join("scorecard.json").exists(),
            "{command} graded nothing"
        );
    }
    // With a known profile, regrade writes a whole run folder through the run's writer.
    let dest = work.path().join("regraded");
    let o = output(
        assay(work.path())
            .arg("regrade")
            .arg(&results)
            .arg(&dir)
            .args(["--profile", "backend", "--out"])
            .arg(&dest),
    );
    assert_eq!(
        code(&o),
        1,
        "nothing ran, so below the pass mark: {}",
        text(&o.stderr)
    );
    let back: assay_model::RunResults =
        serde_json::from_value(json(&dest.join(assay_report::RUN_RESULTS_FILE)))
            .expect("run results");
    assert_eq!(back, stored, "regrade keeps the results it graded");
    assert_eq!(
        json(&dest.join("scorecard.json"))["profile"]["id"],
        "backend"
    );
}

#[test]
fn help_documents_exit_codes_and_settings() {
    let work = tempfile::tempdir().expect("a temp dir");
    let top = output(assay(work.path()).arg("--help"));
    let top = text(&top.stdout);
    for needle in [
        "Exit codes:",
        "ASSAY_TEST_MODE",
        "assay.toml",
        "config.toml",
    ] {
        assert!(top.contains(needle), "assay --help mentions {needle}");
    }
    let batch = output(assay(work.path()).args(["batch", "--help"]));
    let batch = text(&batch.stdout);
    for needle in [
        "--shard <K/N>",
        "--list <FILE>",
        "candidates' scores never change them",
        "same --seed",
    ] {
        assert!(
            batch.contains(needle),
            "assay batch --help mentions {needle}"
        );
    }
}
