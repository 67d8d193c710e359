//! Everything assay prints: progress (bars on a terminal, timestamped lines otherwise, JSON
//! events on request), the per-skill summary, and errors. Respects -q/-v, --color, NO_COLOR.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use assay_grader::Scorecard;
use assay_runner::pipeline::RunEvent;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, ColorChoice};

/// Where and how to print.
#[derive(Debug)]
pub struct Output {
    quiet: bool,
    verbose: bool,
    color: bool,
    terminal: bool,
}

impl Output {
    pub fn new(cli: &Cli) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Self {
            quiet: cli.quiet,
            verbose: cli.verbose,
            color,
            terminal,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn error(&self, msg: &str) {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{} {msg}", self.paint("1;31", "error:"));
        }
    }

    pub fn info(&self, msg: &str) {
        if !self.quiet {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{msg}");
            }
        }
    }

    pub fn progress_line(&self, line: &str) {
        if !self.quiet {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("  {line}");
            }
        }
    }

    /// Data on standard output (reports, tables, completions).
    pub fn plain(&self, text: &str) {
        #[allow(clippy::print_stdout)]
        {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
    }

    pub fn plain_err(&self, text: &str) {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{text}");
        }
    }

    /// A progress display for one run.
    pub fn run_progress(&self, json_events: bool) -> RunProgress {
        let bar = if self.terminal && !self.quiet && !json_events {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            Some(b)
        } else {
            None
        };
        RunProgress {
            bar,
            json: json_events,
            quiet: self.quiet,
            verbose: self.verbose,
            start: Instant::now(),
            state: Mutex::new(()),
        }
    }

    /// The compact per-skill table after a run.
    pub fn summary(&self, card: &Scorecard, written: &assay_report::Written) {
        if self.quiet {
            self.plain(&format!(
                "{}: {:.1} / pass mark {:.0}: {}",
                card.submission.name,
                card.overall,
                card.pass_mark,
                if card.passed {
                    "PASSED"
                } else {
                    "BELOW PASS MARK"
                }
            ));
            return;
        }
        let mut s = String::new();
        s.push_str(&format!(
            "\n{}  {}  profile {}\n\n",
            self.paint("1", &card.assessment.id),
            card.submission.name,
            card.profile.id
        ));
        for skill in &card.skills {
            let score = match skill.score {
                Some(v) => format!("{v:>5.1}"),
                None => "  n/a".to_owned(),
            };
            let bar_len = skill.score.map(|v| (v / 5.0).round() as usize).unwrap_or(0);
            let bar = format!(
                "{}{}",
                "█".repeat(bar_len),
                "·".repeat(20 - bar_len.min(20))
            );
            let painted = match skill.score {
                Some(v) if v >= 80.0 => self.paint("32", &bar),
                Some(v) if v >= 50.0 => self.paint("33", &bar),
                Some(_) => self.paint("31", &bar),
                None => self.paint("2", &bar),
            };
            s.push_str(&format!(
                "  {:<16} {score}  {painted}  {}/{} checks\n",
                skill.title, skill.checks_passed, skill.checks_total
            ));
        }
        let verdict = if card.passed {
            self.paint("1;32", "PASSED")
        } else {
            self.paint("1;31", "BELOW PASS MARK")
        };
        s.push_str(&format!(
            "\n  overall {:.1}  (pass mark {:.0})  {verdict}\n",
            card.overall, card.pass_mark
        ));
        if let Some(html) = written.path(assay_report::Format::Html) {
            s.push_str(&format!("\n  report: {}\n", html.display()));
        }
        self.plain(&s);
    }
}

/// Progress of one run, fed by the pipeline's events.
#[derive(Debug)]
pub struct RunProgress {
    bar: Option<ProgressBar>,
    json: bool,
    quiet: bool,
    verbose: bool,
    start: Instant,
    state: Mutex<()>,
}

impl RunProgress {
    pub fn event(&self, e: &RunEvent) {
        let _guard = self.state.lock();
        if self.json {
            if let Ok(line) = serde_json::to_string(e) {
                #[allow(clippy::print_stdout)]
                {
                    println!("{line}");
                }
            }
            return;
        }
        let (prefix, msg, important) = describe(e);
        match &self.bar {
            Some(b) => {
                b.set_prefix(prefix.clone());
                b.set_message(msg.clone());
                if important || self.verbose {
                    b.println(format!("  {prefix} {msg}"));
                }
            }
            None if !self.quiet && (important || self.verbose) => {
                let ts = time::OffsetDateTime::now_utc();
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "[{:02}:{:02}:{:02} +{:>6.1}s] {prefix} {msg}",
                        ts.hour(),
                        ts.minute(),
                        ts.second(),
                        self.start.elapsed().as_secs_f64()
                    );
                }
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn describe(e: &RunEvent) -> (String, String, bool) {
    match e {
        RunEvent::Stage { stage, detail } => (stage.clone(), detail.clone(), true),
        RunEvent::BuildLog { line } => ("build".into(), line.clone(), false),
        RunEvent::SuiteStarted { suite, checks } => {
            ("suite".into(), format!("{suite} ({checks} checks)"), true)
        }
        RunEvent::CheckFinished {
            suite,
            check,
            status,
            done,
            total,
        } => (
            format!("[{done}/{total}]"),
            format!("{suite}/{check}: {status}"),
            false,
        ),
        RunEvent::Load {
            check,
            elapsed_secs,
            planned_secs,
            completed,
            errors,
            rps,
        } => (
            "load".into(),
            format!(
                "{check}: {rps:.0} req/s, {completed} requests, {errors} errors ({elapsed_secs:.0}/{planned_secs:.0} s)"
            ),
            false,
        ),
    }
}
