//! The `assay` binary: parses the command line, calls one library function per command,
//! renders the result, and sets the exit code. The only crate that prints.

mod cli;
mod config;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use assay_docker::DockerBackend;
use assay_sandbox::{TrustBundle, TrustSource};
use cli::{BatchArgs, Cli, Command, ImagesCommand, RunArgs, SimilarityArgs};
use output::Output;

/// How a command ended, mapped onto the documented exit codes.
enum Outcome {
    Ok,
    BelowPassMark,
    Usage(String),
    Infrastructure(String),
}

/// Parses the command line with `ASSAY_*` variables and the configuration file's values as
/// defaults (flags > variables > file). clap prints usage errors itself and exits with 2.
fn parse_cli() -> Result<Cli> {
    use clap::FromArgMatches;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cmd = config::command(&args, &config::process_env)?;
    let matches = cmd.get_matches_from(args);
    Cli::from_arg_matches(&matches).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A panic is a bug in assay: say so in one line, without a backtrace unless asked for.
fn quiet_panics() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "error: assay hit a bug ({what}{place}); please report it with the command you ran \
                 (RUST_BACKTRACE=1 shows where). Run `assay gc` to remove anything a run left behind."
            );
        }
    }));
}

fn main() -> ExitCode {
    quiet_panics();
    let cli = match parse_cli() {
        Ok(c) => c,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            return ExitCode::from(2);
        }
    };
    let out = Output::new(&cli);
    let outcome = match run_command(&cli, &out) {
        Ok(o) => o,
        Err(e) => Outcome::Infrastructure(format!("{e:#}")),
    };
    match outcome {
        Outcome::Ok => ExitCode::from(0),
        Outcome::BelowPassMark => ExitCode::from(1),
        Outcome::Usage(msg) => {
            out.error(&msg);
            ExitCode::from(2)
        }
        Outcome::Infrastructure(msg) => {
            out.error(&msg);
            ExitCode::from(3)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run_command(cli: &Cli, out: &Output) -> Result<Outcome> {
    let trust = match TrustSource::parse(&cli.extra_ca) {
        Ok(t) => t,
        Err(e) => {
            return Ok(Outcome::Usage(format!(
                "--extra-ca `{}`: {e}",
                cli.extra_ca
            )));
        }
    };
    // Named files must be usable before anything starts; discovered ones are skipped instead.
    if let TrustSource::Paths(_) = &trust
        && let Err(e) = TrustBundle::load(&trust, &config::process_env)
    {
        return Ok(Outcome::Usage(e.to_string()));
    }
    // Whatever a killed assay left behind goes first (`assay gc` reports it itself).
    if !matches!(cli.command, Command::Gc)
        && let Ok(rt) = runtime()
        && let Some(note) = rt.block_on(async {
            let docker = DockerBackend::connect().await.ok()?;
            assay_runner::pipeline::reap_orphans(&docker).await
        })
    {
        out.info(&note);
    }
    match &cli.command {
        Command::Run(args) => run(args, &trust, out),
        Command::Batch(args) => batch(args, &trust, out),
        Command::Similarity(args) => similarity(args, out),
        Command::Validate { dir } => Ok(match assay_format::load(dir) {
            Ok(a) => {
                let checks = a.checks().count();
                out.info(&format!(
                    "{}: valid ({} suites, {checks} checks)",
                    dir.display(),
                    a.suites.len()
                ));
                Outcome::Ok
            }
            Err(diags) => {
                for d in &diags.0 {
                    out.plain_err(&d.to_string());
                }
                Outcome::Usage(format!("{} problem(s) in {}", diags.0.len(), dir.display()))
            }
        }),
        Command::Images(cmd) => {
            let rt = runtime()?;
            let root = match project_root() {
                Ok(r) => r,
                Err(o) => return Ok(o),
            };
            match cmd {
                ImagesCommand::Build => match rt.block_on(async {
                    let docker = DockerBackend::connect().await?;
                    assay_runner::pipeline::build_images(&docker, &root, &trust, &|line| {
                        out.progress_line(line)
                    })
                    .await
                }) {
                    Ok(report) => {
                        out.info(&report);
                        Ok(Outcome::Ok)
                    }
                    Err(e) => Ok(Outcome::Infrastructure(e.to_string())),
                },
                ImagesCommand::List => match rt.block_on(async {
                    let docker = DockerBackend::connect().await?;
                    assay_runner::pipeline::list_images(&docker).await
                }) {
                    Ok(lines) => {
                        for l in lines {
                            out.plain(&l);
                        }
                        Ok(Outcome::Ok)
                    }
                    Err(e) => Ok(Outcome::Infrastructure(e.to_string())),
                },
            }
        }
        Command::Gc => {
            let rt = runtime()?;
            match rt.block_on(async {
                let docker = DockerBackend::connect().await?;
                assay_runner::pipeline::gc(&docker).await
            }) {
                Ok(report) => {
                    out.info(&report);
                    Ok(Outcome::Ok)
                }
                Err(e) => Ok(Outcome::Infrastructure(e.to_string())),
            }
        }
        Command::Report {
            scorecard,
            format,
            output,
        } => {
            let card = match read_scorecard(scorecard) {
                Ok(c) => c,
                Err(e) => return Ok(Outcome::Usage(format!("{e:#}"))),
            };
            let text = assay_report::render(&card, *format)?;
            match output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => out.plain(&text),
            }
            Ok(Outcome::Ok)
        }
        Command::Compare { outputs, csv } => compare(outputs, *csv, out),
        Command::Brief { dir, out: dest } => {
            let assessment = match assay_format::load(dir) {
                Ok(a) => a,
                Err(d) => return Ok(invalid_assessment(dir, &d)),
            };
            let written = assay_format::export_kit(&assessment, dest)
                .with_context(|| format!("cannot write the kit to {}", dest.display()))?;
            out.info(&format!(
                "candidate kit written to {} ({} files, {} visible checks)",
                dest.display(),
                written.files,
                written.visible_checks
            ));
            Ok(Outcome::Ok)
        }
        Command::Regrade {
            results,
            assessment,
            profile,
            out: dest,
        } => {
            let text = std::fs::read_to_string(results)
                .with_context(|| format!("cannot read {}", results.display()))?;
            let results: assay_model::RunResults = match serde_json::from_str(&text) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(Outcome::Usage(format!(
                        "{} is not {} written by assay: {e}",
                        results.display(),
                        assay_report::RUN_RESULTS_FILE
                    )));
                }
            };
            let plan = match assay_format::load(assessment) {
                Ok(a) => a.grading_plan(),
                Err(d) => return Ok(invalid_assessment(assessment, &d)),
            };
            if let Err(e) = assay_grader::choose_profile(&plan, profile.as_deref()) {
                return Ok(Outcome::Usage(e.to_string()));
            }
            let card = match assay_grader::grade(&results, &plan, profile.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    return Ok(Outcome::Usage(format!(
                        "cannot grade these results with this assessment: {e}"
                    )));
                }
            };
            let written = assay_report::write_run(&results, &card, dest)
                .context("cannot write the run's results and reports")?;
            out.summary(&card, &written);
            Ok(if card.passed {
                Outcome::Ok
            } else {
                Outcome::BelowPassMark
            })
        }
        Command::Init { dir } => Ok(match assay_format::init::scaffold(dir) {
            Ok(files) => {
                out.info(&format!(
                    "new assessment in {} ({} files): edit assessment.yaml and suites/examples.yaml, then `assay validate {}` and `assay run {} {}/reference`",
                    dir.display(),
                    files.len(),
                    dir.display(),
                    dir.display(),
                    dir.display()
                ));
                Outcome::Ok
            }
            Err(e @ assay_format::init::InitError::NotEmpty(_)) => Outcome::Usage(e.to_string()),
            Err(e) => Outcome::Infrastructure(e.to_string()),
        }),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "assay", &mut buf);
            out.plain(&String::from_utf8_lossy(&buf));
            Ok(Outcome::Ok)
        }
    }
}

/// `assay compare`: run folders, batch folders (shards merge) and scorecard files, ranked.
fn compare(outputs: &[PathBuf], csv: bool, out: &Output) -> Result<Outcome> {
    if outputs.is_empty() {
        return Ok(Outcome::Usage(
            "name at least one output folder of `assay run` or `assay batch`, or a scorecard.json"
                .into(),
        ));
    }
    let mut cards: Vec<assay_grader::Scorecard> = Vec::new();
    for o in outputs {
        let paths = if o.is_dir() {
            assay_batch::scorecards_in(o)
        } else if o.is_file() {
            vec![o.clone()]
        } else {
            return Ok(Outcome::Usage(format!(
                "{} does not exist; name output folders of `assay run` or `assay batch`",
                o.display()
            )));
        };
        if paths.is_empty() && !assay_batch::is_batch_folder(o) {
            return Ok(Outcome::Usage(format!(
                "{} holds no scorecard.json: is it an output folder of `assay run` or `assay batch`?",
                o.display()
            )));
        }
        for path in paths {
            let card = match read_scorecard(&path) {
                Ok(c) => c,
                Err(e) => return Ok(Outcome::Usage(format!("{e:#}"))),
            };
            // The same submission graded into two folders (overlapping shards) counts once.
            let seen = cards.iter().any(|c| {
                c.submission.digest == card.submission.digest
                    && c.submission.name == card.submission.name
            });
            if seen {
                out.info(&format!(
                    "{}: {} is already in the comparison; skipped",
                    path.display(),
                    card.submission.name
                ));
            } else {
                cards.push(card);
            }
        }
    }
    match assay_report::compare(&cards) {
        Ok(c) => {
            out.plain(&if csv {
                c.render_csv()
            } else {
                c.render_table()
            });
            Ok(Outcome::Ok)
        }
        Err(e) => Ok(Outcome::Usage(e.to_string())),
    }
}

fn read_scorecard(path: &Path) -> Result<assay_grader::Scorecard> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a scorecard written by assay", path.display()))
}

/// The folder holding `sandbox-images/` (the recipes of assay's own images): `$ASSAY_HOME`,
/// else the working directory or a parent, else the repository the binary was built in.
fn project_root() -> Result<PathBuf, Outcome> {
    let has_recipes = |p: &Path| p.join("sandbox-images").is_dir();
    if let Some(home) = std::env::var_os("ASSAY_HOME").filter(|v| !v.is_empty()) {
        let home = PathBuf::from(home);
        return if has_recipes(&home) {
            Ok(home)
        } else {
            Err(Outcome::Infrastructure(format!(
                "ASSAY_HOME={} holds no sandbox-images/ folder: point it at assay's repository",
                home.display()
            )))
        };
    }
    let mut starts: Vec<PathBuf> = Vec::new();
    starts.extend(std::env::current_dir().ok());
    starts.extend(std::env::current_exe().ok());
    starts
        .iter()
        .flat_map(|s| s.ancestors())
        .find(|p| has_recipes(p))
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Outcome::Infrastructure(
                "cannot find sandbox-images/ (the recipes of the images assay needs): run assay \
                 from inside its repository, or set ASSAY_HOME to the repository's folder"
                    .into(),
            )
        })
}

fn run(args: &RunArgs, trust: &TrustSource, out: &Output) -> Result<Outcome> {
    let out = &out.for_events(args.events.is_some());
    let assessment = match assay_format::load(&args.assessment) {
        Ok(a) => a,
        Err(d) => return Ok(invalid_assessment(&args.assessment, &d)),
    };
    let plan = assessment.grading_plan();
    if let Err(e) = assay_grader::choose_profile(&plan, args.profile.as_deref()) {
        return Ok(Outcome::Usage(e.to_string()));
    }
    let project_root = match project_root() {
        Ok(r) => r,
        Err(o) => return Ok(o),
    };
    // Intake, once, here: the pipeline is handed the opened submission (an archive's files
    // stay in `work` until the run ends).
    let work = tempfile::Builder::new()
        .prefix("assay-intake-")
        .tempdir()
        .context("cannot create a work directory in the temporary directory")?;
    let submission = match assay_intake::Submission::open(
        &args.submission,
        &args.intake.limits(),
        work.path(),
    ) {
        Ok(s) => s,
        Err(e) => {
            let e = assay_runner::pipeline::RunError::from(e);
            return Ok(if e.is_refusal() {
                Outcome::Usage(e.to_string())
            } else {
                Outcome::Infrastructure(explain(&e))
            });
        }
    };
    let request = assay_runner::pipeline::RunRequest {
        assessment: assessment.clone(),
        submission,
        project_root,
        seed: args
            .seed
            .unwrap_or_else(assay_runner::pipeline::random_seed),
        test_mode: args.test_mode,
        runtime: args.runtime.clone(),
        only: (!args.only.is_empty()).then(|| args.only.clone()),
        run_id: assay_runner::pipeline::new_run_id(),
        trust: trust.clone(),
        registries: args.registries.clone(),
        lane: match &args.performance_lane {
            Some(file) => Some(
                assay_runner::pipeline::PerformanceLane::on_machine(file)
                    .map_err(|e| anyhow::anyhow!("--performance-lane: {e}"))?
                    .for_run(),
            ),
            None => None,
        },
        built: None,
    };
    let rt = runtime()?;
    let progress = out.run_progress(args.events.is_some());
    let run_id = request.run_id.clone();
    let on_event = |e: assay_runner::pipeline::RunEvent| progress.event(&e);
    // One connection for the run and, when interrupted, its cleanup.
    let docker = match rt.block_on(DockerBackend::connect()) {
        Ok(d) => d,
        Err(e) => {
            progress.finish();
            return Ok(Outcome::Infrastructure(explain(
                &assay_runner::pipeline::RunError::from(e),
            )));
        }
    };
    let result = rt.block_on(async {
        tokio::select! {
            r = assay_runner::pipeline::run(&docker, &request, &on_event) => Some(r),
            _ = shutdown_signal() => None,
        }
    });
    progress.finish();
    let results = match result {
        None => {
            // Ctrl-C / SIGTERM: remove everything this run made before exiting.
            out.info("interrupted: removing the run's containers and networks (Ctrl-C again to quit now)");
            let cleaned = rt.block_on(async {
                force_quit_on_second_signal();
                assay_runner::pipeline::cleanup_run(&docker, &run_id).await
            });
            return Ok(Outcome::Infrastructure(format!(
                "interrupted; the run's containers and networks were removed ({cleaned})"
            )));
        }
        Some(Err(e)) if e.is_refusal() => return Ok(Outcome::Usage(e.to_string())),
        Some(Err(e)) => return Ok(Outcome::Infrastructure(explain(&e))),
        Some(Ok(r)) => r,
    };
    let card = match assay_grader::grade(&results, &plan, args.profile.as_deref()) {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Infrastructure(format!("could not grade: {e}"))),
    };
    let written = assay_report::write_run(&results, &card, &args.out)
        .context("cannot write the run's results and reports")?;
    if let Ok(summary) = std::env::var("GITHUB_STEP_SUMMARY")
        && !summary.is_empty()
        && let Ok(md) = assay_report::render(&card, assay_report::Format::Markdown)
    {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
        {
            let _ = f.write_all(md.as_bytes());
        }
    }
    out.summary(&card, &written);
    Ok(if card.passed {
        Outcome::Ok
    } else {
        Outcome::BelowPassMark
    })
}

fn batch(args: &BatchArgs, trust: &TrustSource, out: &Output) -> Result<Outcome> {
    let out = &out.for_events(args.events.is_some());
    let assessment = match assay_format::load(&args.assessment) {
        Ok(a) => a,
        Err(d) => return Ok(invalid_assessment(&args.assessment, &d)),
    };
    let mut inputs = args.submissions.clone();
    if let Some(list) = &args.list {
        match assay_batch::read_list(list) {
            Ok(more) => inputs.extend(more),
            Err(e) => return Ok(Outcome::Usage(e.to_string())),
        }
    }
    if inputs.is_empty() {
        return Ok(Outcome::Usage(
            "name submissions, folders of submissions, or --list FILE".into(),
        ));
    }
    let project_root = match project_root() {
        Ok(r) => r,
        Err(o) => return Ok(o),
    };
    let request = assay_batch::BatchRequest {
        assessment,
        inputs,
        out: args.out.clone(),
        jobs: args.jobs,
        shard: args.shard,
        seed: args.seed,
        profile: args.profile.clone(),
        test_mode: args.test_mode,
        runtime: args.runtime.clone(),
        project_root,
        intake: args.intake.limits(),
        similarity: (!args.no_similarity).then(|| assay_batch::BatchSimilarity {
            known: args.similarity.known.clone(),
            skeletons: args.similarity.skeletons.clone(),
            options: args.similarity.options(),
        }),
        trust: trust.clone(),
        registries: args.registries.clone(),
        performance_lane: args.performance_lane.clone(),
    };
    let rt = runtime()?;
    let progress = out.batch_progress(args.events.is_some());
    let on_event = |e: &assay_batch::BatchEvent| progress.event(e);
    let result = rt.block_on(assay_batch::run(&request, &on_event, async {
        shutdown_signal().await;
        progress.interrupted();
        force_quit_on_second_signal();
    }));
    progress.finish();
    let report = match result {
        Ok(r) => r,
        Err(e) if e.is_usage() => return Ok(Outcome::Usage(e.to_string())),
        Err(e) => return Ok(Outcome::Infrastructure(e.to_string())),
    };
    out.batch_summary(&report);
    let first_problem = |code: u8| {
        report
            .entries
            .iter()
            .find(|e| e.outcome.exit_code() == code)
            .map(|e| {
                format!(
                    "{}: {}",
                    e.name,
                    e.outcome.reason().unwrap_or("interrupted")
                )
            })
            .unwrap_or_default()
    };
    Ok(match report.exit_code() {
        0 => Outcome::Ok,
        2 => Outcome::Usage(format!(
            "some submissions were refused (first: {}); the others were graded, see {}",
            first_problem(2),
            report.summary_md.display()
        )),
        _ if report.interrupted => Outcome::Infrastructure(format!(
            "interrupted; the summaries cover what finished ({}); run the same command again to resume",
            report.summary_md.display()
        )),
        _ => Outcome::Infrastructure(format!(
            "some submissions could not be graded (first: {}); see {}, fix the cause and run the same command again: graded submissions are not run twice",
            first_problem(3),
            report.summary_md.display()
        )),
    })
}

/// `assay similarity`: compares the submissions with each other and the known solutions.
fn similarity(args: &SimilarityArgs, out: &Output) -> Result<Outcome> {
    if args.submissions.is_empty()
        || (args.submissions.len() < 2 && args.similarity.known.is_none())
    {
        return Ok(Outcome::Usage(
            "name at least two submissions, or one with --known DIR of public solutions".into(),
        ));
    }
    if let Some(known) = args.similarity.known.as_ref().filter(|k| !k.is_dir()) {
        return Ok(Outcome::Usage(format!(
            "--known {}: not a folder; pass a folder holding one directory or archive per known solution",
            known.display()
        )));
    }
    let assessment = match &args.assessment {
        Some(dir) => match assay_format::load(dir) {
            Ok(a) => Some(a),
            Err(d) => return Ok(invalid_assessment(dir, &d)),
        },
        None => None,
    };
    let request = assay_batch::SimilarityRequest {
        submissions: args
            .submissions
            .iter()
            .map(|p| (p.display().to_string(), p.clone()))
            .collect(),
        known: args.similarity.known.clone(),
        assessment,
        skeletons: args.similarity.skeletons.clone(),
        out: args.out.clone(),
        options: args.similarity.options(),
        intake: args.intake.limits(),
    };
    let outcome = match assay_batch::similarity(&request) {
        Ok(o) => o,
        Err(e) if e.is_usage() => return Ok(Outcome::Usage(e.to_string())),
        Err(e) => return Ok(Outcome::Infrastructure(e.to_string())),
    };
    out.similarity_summary(&outcome);
    Ok(match outcome.unreadable.first() {
        None => Outcome::Ok,
        Some((name, why)) => Outcome::Usage(format!(
            "{} submission(s) could not be compared (first: {name}: {why}); the others were, see {}",
            outcome.unreadable.len(),
            outcome.written.csv.display()
        )),
    })
}

/// The assessment's problems, one `file:line:column` each, and what to do.
fn invalid_assessment(dir: &Path, d: &assay_format::Diagnostics) -> Outcome {
    Outcome::Usage(format!(
        "the assessment {} is invalid:\n{d}\nfix these and check with `assay validate {}`",
        dir.display(),
        dir.display()
    ))
}

/// After the first Ctrl-C the runs are being cleaned up; a second one quits at once.
fn force_quit_on_second_signal() {
    tokio::spawn(async {
        shutdown_signal().await;
        #[allow(clippy::print_stderr)]
        {
            eprintln!("error: quit before cleaning up; run `assay gc` to remove what was left");
        }
        std::process::exit(130);
    });
}

/// A run's error as the operator needs it: what went wrong and what to do.
fn explain(e: &assay_runner::pipeline::RunError) -> String {
    use assay_runner::pipeline::RunError;
    use assay_sandbox::SandboxError;
    match e {
        RunError::Sandbox(SandboxError::Images { .. }) => format!(
            "{e}\n(`assay images build` makes the images assay needs and shows each step; `assay images list` shows which are missing)"
        ),
        RunError::Sandbox(SandboxError::Firewall { .. }) => {
            format!("{e}\n(run assay as root, e.g. with sudo)")
        }
        _ => e.to_string(),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
