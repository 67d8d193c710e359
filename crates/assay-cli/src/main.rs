//! The `assay` binary: parses the command line, calls one library function per command,
//! renders the result, and sets the exit code. The only crate that prints.

mod cli;
mod config;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use cli::{BatchArgs, Cli, Command, ImagesCommand, RunArgs};
use output::Output;

/// How a command ended, mapped onto the documented exit codes.
enum Outcome {
    Ok,
    BelowPassMark,
    Usage(String),
    Infrastructure(String),
}

/// Parses the command line with the configuration file's values as defaults.
fn parse_cli() -> Result<Cli> {
    use clap::FromArgMatches;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let explicit = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .or_else(|| {
            args.iter()
                .filter_map(|a| a.to_str())
                .find_map(|a| a.strip_prefix("--config="))
                .map(PathBuf::from)
        });
    let mut cmd = Cli::command();
    if let Some(path) = config::locate(explicit.as_deref())? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let pairs = config::parse(&text).with_context(|| format!("in {}", path.display()))?;
        cmd = config::apply(cmd, &pairs);
    }
    let matches = cmd.get_matches_from(args);
    Cli::from_arg_matches(&matches).map_err(|e| anyhow::anyhow!("{e}"))
}

fn main() -> ExitCode {
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
    match &cli.command {
        Command::Run(args) => run(args, out),
        Command::Batch(args) => batch(args, out),
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
            let root = project_root();
            match cmd {
                ImagesCommand::Build => match rt
                    .block_on(assay_runner::pipeline::build_images(&root, &|line| {
                        out.progress_line(line)
                    })) {
                    Ok(report) => {
                        out.info(&report);
                        Ok(Outcome::Ok)
                    }
                    Err(e) => Ok(Outcome::Infrastructure(e.to_string())),
                },
                ImagesCommand::List => match rt.block_on(assay_runner::pipeline::list_images()) {
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
            match rt.block_on(assay_runner::pipeline::gc()) {
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
            let card = read_scorecard(scorecard)?;
            let text = assay_report::render(&card, format.to_format())?;
            match output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => out.plain(&text),
            }
            Ok(Outcome::Ok)
        }
        Command::Compare { outputs, csv } => {
            if outputs.is_empty() {
                return Ok(Outcome::Usage(
                    "name at least one output folder or scorecard.json".into(),
                ));
            }
            let mut cards = Vec::new();
            for o in outputs {
                let paths = if o.is_dir() {
                    assay_batch::scorecards_in(o)
                } else {
                    vec![o.clone()]
                };
                if paths.is_empty() {
                    return Ok(Outcome::Usage(format!(
                        "{} holds no scorecard.json",
                        o.display()
                    )));
                }
                for path in paths {
                    cards.push(read_scorecard(&path)?);
                }
            }
            match assay_report::compare(&cards) {
                Ok(c) => {
                    out.plain(&if *csv {
                        c.render_csv()
                    } else {
                        c.render_table()
                    });
                    Ok(Outcome::Ok)
                }
                Err(e) => Ok(Outcome::Usage(e.to_string())),
            }
        }
        Command::Brief { dir, out: dest } => {
            let assessment = match assay_format::load(dir) {
                Ok(a) => a,
                Err(d) => return Ok(Outcome::Usage(format!("the assessment is invalid:\n{d}"))),
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
                        "{} is not run-results.json written by assay: {e}",
                        results.display()
                    )));
                }
            };
            let plan = match assay_format::load(assessment) {
                Ok(a) => a.grading_plan(),
                Err(d) => return Ok(Outcome::Usage(format!("the assessment is invalid:\n{d}"))),
            };
            let card = match assay_grader::grade(&results, &plan, profile.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    return Ok(Outcome::Usage(format!(
                        "cannot grade these results with this assessment: {e}"
                    )));
                }
            };
            let written =
                assay_report::write_all(&card, dest).context("cannot write the reports")?;
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

fn read_scorecard(path: &Path) -> Result<assay_grader::Scorecard> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a scorecard written by assay", path.display()))
}

/// The folder holding `sandbox-images/` (the binary's project, or the working directory).
fn project_root() -> PathBuf {
    if let Ok(p) = std::env::var("ASSAY_HOME") {
        return PathBuf::from(p);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|p| p.join("sandbox-images").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

fn run(args: &RunArgs, out: &Output) -> Result<Outcome> {
    let assessment = match assay_format::load(&args.assessment) {
        Ok(a) => a,
        Err(d) => return Ok(Outcome::Usage(format!("the assessment is invalid:\n{d}"))),
    };
    let plan = assessment.grading_plan();
    if let Some(p) = &args.profile
        && plan.profile(p).is_none()
    {
        let known: Vec<&str> = plan.profiles.iter().map(|p| p.id.as_str()).collect();
        return Ok(Outcome::Usage(format!(
            "unknown profile `{p}`: use one of {}",
            known.join(", ")
        )));
    }
    let request = assay_runner::pipeline::RunRequest {
        assessment: assessment.clone(),
        submission: args.submission.clone(),
        project_root: project_root(),
        seed: args
            .seed
            .unwrap_or_else(assay_runner::pipeline::random_seed),
        test_mode: args.test_mode,
        runtime: args.runtime.clone(),
        only: (!args.only.is_empty()).then(|| args.only.clone()),
        run_id: assay_runner::pipeline::new_run_id(),
    };
    let rt = runtime()?;
    let progress = out.run_progress(args.events.is_some());
    let run_id = request.run_id.clone();
    let on_event = |e: assay_runner::pipeline::RunEvent| progress.event(&e);
    let result = rt.block_on(async {
        tokio::select! {
            r = assay_runner::pipeline::run(&request, &on_event) => Some(r),
            _ = shutdown_signal() => None,
        }
    });
    progress.finish();
    let results = match result {
        None => {
            // Ctrl-C / SIGTERM: remove everything this run made before exiting.
            let cleaned = rt.block_on(assay_runner::pipeline::cleanup_run(&run_id));
            return Ok(Outcome::Infrastructure(format!(
                "interrupted; the run's containers and networks were removed ({cleaned})"
            )));
        }
        Some(Err(e)) if e.is_refusal() => return Ok(Outcome::Usage(e.to_string())),
        Some(Err(e)) => return Ok(Outcome::Infrastructure(e.to_string())),
        Some(Ok(r)) => r,
    };
    let card = match assay_grader::grade(&results, &plan, args.profile.as_deref()) {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Infrastructure(format!("could not grade: {e}"))),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let results_path = args.out.join("run-results.json");
    std::fs::write(&results_path, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("cannot write {}", results_path.display()))?;
    let written = assay_report::write_all(&card, &args.out).context("cannot write the reports")?;
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

fn batch(args: &BatchArgs, out: &Output) -> Result<Outcome> {
    let assessment = match assay_format::load(&args.assessment) {
        Ok(a) => a,
        Err(d) => return Ok(Outcome::Usage(format!("the assessment is invalid:\n{d}"))),
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
        project_root: project_root(),
    };
    let rt = runtime()?;
    let report = match rt.block_on(assay_batch::run(&request, &|line| out.info(line))) {
        Ok(r) => r,
        Err(e @ (assay_batch::BatchError::Empty(_) | assay_batch::BatchError::Record(_))) => {
            return Ok(Outcome::Usage(e.to_string()));
        }
        Err(e) => return Ok(Outcome::Infrastructure(e.to_string())),
    };
    out.info(&format!(
        "summary: {} (leaderboard CSV {}, checks {})",
        report.summary_md.display(),
        report.summary_csv.display(),
        report.checks_csv.display()
    ));
    Ok(match report.exit_code() {
        0 => Outcome::Ok,
        2 => Outcome::Usage("some submissions were refused; see the summary".into()),
        _ => {
            Outcome::Infrastructure("some submissions could not be graded; see the summary".into())
        }
    })
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
