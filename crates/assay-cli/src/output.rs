//! Everything assay prints: progress (bars on a terminal, timestamped lines otherwise, JSON
//! events on request), the per-skill summary, and errors. Respects -q/-v, --color, NO_COLOR.
//! Every line goes through `assay_model::inert` first: candidate text (build lines, failure
//! reasons, entry names, health output, check messages) cannot drive the terminal or a CI
//! runner.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use assay_batch::{BatchEvent, BatchReport, Outcome as BatchOutcome};
use assay_grader::Scorecard;
use assay_model::inert;
use assay_runner::pipeline::{Progress, RunEvent};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, ColorChoice};

/// Where and how to print.
#[derive(Debug, Clone)]
pub struct Output {
    quiet: bool,
    verbose: bool,
    color: bool,
    terminal: bool,
    /// Standard output carries JSON events: human summaries go to standard error.
    events_json: bool,
}

impl Output {
    pub fn new(cli: &Cli) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = use_color(cli.color, terminal, no_color);
        Self {
            quiet: cli.quiet,
            verbose: cli.verbose,
            color,
            terminal,
            events_json: false,
        }
    }

    /// This output for a command writing `--events json` (when `json`) on standard output.
    pub fn for_events(&self, json: bool) -> Output {
        Output {
            events_json: json,
            ..self.clone()
        }
    }

    /// A human summary: standard output, unless that carries JSON events. Printed as it is,
    /// colours included: its candidate parts were made inert while it was put together.
    fn summary_text(&self, text: &str) {
        if self.events_json {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{}", text.trim_end_matches('\n'));
            }
        } else {
            #[allow(clippy::print_stdout)]
            {
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
            }
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
            eprintln!("{} {}", self.paint("1;31", "error:"), inert::terminal(msg));
        }
    }

    pub fn info(&self, msg: &str) {
        if !self.quiet {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{}", inert::terminal(msg));
            }
        }
    }

    pub fn progress_line(&self, line: &str) {
        if !self.quiet {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("  {}", inert::terminal_line(line));
            }
        }
    }

    /// Data on standard output (reports, tables, completions): whole, not cut, but inert.
    pub fn plain(&self, text: &str) {
        let text = inert_data(text);
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
            eprintln!("{}", inert::terminal(text));
        }
    }

    /// A spinner on a terminal (unless quiet or writing JSON events), else nothing.
    fn spinner(&self, json_events: bool) -> Option<ProgressBar> {
        (self.terminal && !self.quiet && !json_events).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(spinner_style());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        })
    }

    /// A progress display for one run.
    pub fn run_progress(&self, json_events: bool) -> RunProgress {
        RunProgress {
            bar: self.spinner(json_events),
            json: json_events,
            quiet: self.quiet,
            verbose: self.verbose,
            start: Instant::now(),
            state: Mutex::new(()),
        }
    }

    /// A progress display for a batch: one bar of submissions done on a terminal, plain
    /// timestamped lines otherwise, JSON events on request.
    pub fn batch_progress(&self, json_events: bool) -> BatchProgress {
        BatchProgress {
            bar: self.spinner(json_events),
            json: json_events,
            quiet: self.quiet,
            verbose: self.verbose,
            start: Instant::now(),
            running: Mutex::new(Vec::new()),
        }
    }

    /// The leaderboard and where the summaries are, after a batch.
    pub fn batch_summary(&self, report: &BatchReport) {
        let count = |kind: &str| {
            report
                .entries
                .iter()
                .filter(|e| e.outcome.kind() == kind)
                .count()
        };
        let tally = format!(
            "{} submission(s): {} graded, {} already graded, {} refused, {} not graded, {} interrupted",
            report.entries.len(),
            count("graded"),
            count("resumed"),
            count("refused"),
            count("infrastructure"),
            count("interrupted"),
        );
        if self.quiet {
            self.summary_text(&inert::terminal(&format!(
                "{tally}; {}",
                report.summary_md.display()
            )));
            return;
        }
        let mut s = String::new();
        if let Some(table) = &report.leaderboard {
            s.push('\n');
            s.push_str(&inert_data(table));
        }
        let flagged = report.cohort.iter().filter(|c| c.flag.is_some()).count();
        s.push_str(&format!(
            "\n  {tally}\n  {flagged} check(s) flagged for a second look (nobody or everybody passes)\n  summary: {}\n  leaderboard: {}\n  checks: {}\n",
            inert::terminal_line(&report.summary_md.display().to_string()),
            inert::terminal_line(&report.summary_csv.display().to_string()),
            inert::terminal_line(&report.checks_csv.display().to_string())
        ));
        match &report.similarity {
            Some(assay_batch::SimilaritySummary {
                csv: Some(csv),
                flagged,
                ..
            }) => {
                s.push_str(&format!(
                    "  similarity: {flagged} pair(s) flagged for a human to compare (never part of a score): {}\n",
                    csv.display()
                ));
            }
            Some(assay_batch::SimilaritySummary { error: Some(e), .. }) => {
                s.push_str(&format!("  similarity: not compared: {e}\n"));
            }
            _ => {}
        }
        self.summary_text(&s);
    }

    /// The flagged pairs after `assay similarity`.
    pub fn similarity_summary(&self, outcome: &assay_batch::SimilarityOutcome) {
        let report = &outcome.report;
        let flagged: Vec<&assay_similarity::Pair> = report.flagged().collect();
        let mut s = String::new();
        if !self.quiet {
            for p in &flagged {
                s.push_str(&format!(
                    "  {:.2}  {} ↔ {}  ({} shared lines)\n",
                    p.score,
                    assay_report::sanitize(report.name(p.a)),
                    assay_report::sanitize(report.name(p.b)),
                    p.shared_lines
                ));
            }
        }
        s.push_str(&format!(
            "{} document(s) compared; {} pair(s) at or above {:.2} flagged for a human to compare \
             (never part of a score): {} and {}",
            report.documents.len(),
            flagged.len(),
            report.threshold,
            outcome.written.csv.display(),
            outcome.written.markdown.display()
        ));
        self.summary_text(&s);
    }

    /// The compact per-skill table after a run.
    pub fn summary(&self, card: &Scorecard, written: &assay_report::Written) {
        if self.quiet {
            self.summary_text(&format!(
                "{}: {:.1} / pass mark {:.0}: {}",
                inert::terminal_line(&card.submission.name),
                card.overall,
                card.pass_mark,
                verdict(card)
            ));
            return;
        }
        let mut s = String::new();
        s.push_str(&format!(
            "\n{}  {}  profile {}\n\n",
            self.paint("1", &inert::terminal_line(&card.assessment.id)),
            inert::terminal_line(&card.submission.name),
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
            let own = if skill.assessed() {
                format!("  {} own", assay_report::own_share(skill))
            } else {
                String::new()
            };
            // Checks with nothing to judge count for no skill; say how many were left out.
            let unjudged = skill
                .evidence
                .iter()
                .filter(|e| e.status == assay_model::Status::NotAssessed)
                .count();
            s.push_str(&format!(
                "  {:<16} {score}  {painted}  {}/{} checks{own}{}\n",
                inert::terminal_line(&skill.title),
                skill.checks_passed,
                skill.checks_total,
                if unjudged > 0 {
                    format!(" ({unjudged} not assessed)")
                } else {
                    String::new()
                }
            ));
        }
        let unjudged = card.count(assay_model::Status::NotAssessed);
        if unjudged > 0 {
            s.push_str(&format!(
                "\n  {unjudged} check(s) not assessed (nothing to judge; they count for no skill)\n"
            ));
        }
        let verdict = self.paint(if card.passed { "1;32" } else { "1;31" }, verdict(card));
        s.push_str(&format!(
            "\n  overall {:.1}  (pass mark {:.0})  {verdict}\n",
            card.overall, card.pass_mark
        ));
        for id in &card.critical_failures {
            s.push_str(&format!(
                "  critical check failed: {}\n",
                inert::terminal_line(id)
            ));
        }
        if let Some(html) = written.path(assay_report::Format::Html) {
            s.push_str(&format!(
                "\n  report: {}\n",
                inert::terminal_line(&html.display().to_string())
            ));
        }
        self.summary_text(&s);
    }
}

/// Data for standard output kept whole (a report, a table, CSV, JSON) and inert. JSON is
/// left valid and equal: it holds no raw control character, and a `##` (only ever inside
/// one of its strings) is written `#\u0023`. Other text is sanitised line by line.
pub fn inert_data(text: &str) -> String {
    if text.trim_start().starts_with(['{', '['])
        && serde_json::from_str::<serde_json::Value>(text).is_ok()
    {
        return json_line(text);
    }
    inert::sanitize(text)
        .split('\n')
        .map(inert::break_workflow_commands)
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON with every `##` (workflow commands such as `##[error]` are read anywhere in a line)
/// written `#\\u0023`, and every character [`inert::sanitize`] would change (bidi overrides,
/// C1 controls: serde_json leaves them raw) as a `\\u` escape: the same JSON value.
fn json_line(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut after_hash = false;
    for c in json.chars() {
        if c == '#' && after_hash {
            out.push_str("\\u0023");
            after_hash = false;
            continue;
        }
        after_hash = c == '#';
        if inert::needs_sanitizing(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether to colour: `--color always|never`, else on a terminal unless `NO_COLOR` is set.
pub fn use_color(choice: ColorChoice, terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color,
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} [{bar:24}] {pos}/{len} {wide_msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// `[12:34:56 +  12.3s] text` on standard error: progress when not on a terminal.
fn timestamped(start: Instant, text: &str) {
    let text = inert::terminal_line(text);
    let ts = time::OffsetDateTime::now_utc();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "[{:02}:{:02}:{:02} +{:>6.1}s] {text}",
            ts.hour(),
            ts.minute(),
            ts.second(),
            start.elapsed().as_secs_f64(),
        );
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
                    println!("{}", json_line(&line));
                }
            }
            return;
        }
        let (prefix, msg, important) = describe(e);
        match &self.bar {
            Some(b) => {
                // A bar of checks done while a suite runs; a spinner for the other stages.
                match e {
                    RunEvent::Engine(Progress::SuiteStarted { checks, .. }) => {
                        b.set_style(bar_style());
                        b.set_length(*checks as u64);
                        b.set_position(0);
                    }
                    RunEvent::Engine(Progress::CheckFinished { done, total, .. }) => {
                        b.set_length(*total as u64);
                        b.set_position(*done as u64);
                    }
                    RunEvent::Stage { .. } => b.set_style(spinner_style()),
                    _ => {}
                }
                if !matches!(e, RunEvent::Engine(Progress::CheckFinished { .. })) {
                    b.set_prefix(prefix.clone());
                }
                b.set_message(msg.clone());
                if important || self.verbose {
                    b.println(format!("  {prefix} {msg}"));
                }
            }
            None if !self.quiet && (important || self.verbose) => {
                timestamped(self.start, &format!("{prefix} {msg}"));
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

/// Progress of a batch, fed by its events.
#[derive(Debug)]
pub struct BatchProgress {
    bar: Option<ProgressBar>,
    json: bool,
    quiet: bool,
    verbose: bool,
    start: Instant,
    /// Submissions being graded now and what each is doing, for the bar's message.
    running: Mutex<Vec<(String, String)>>,
}

impl BatchProgress {
    fn line(&self, text: &str) {
        if self.quiet || self.json {
            return;
        }
        match &self.bar {
            Some(b) => b.println(format!("  {}", inert::terminal_line(text))),
            None => timestamped(self.start, text),
        }
    }

    fn show_running(&self) {
        if let Some(b) = &self.bar {
            let running = self
                .running
                .lock()
                .map(|r| {
                    r.iter()
                        .map(|(name, doing)| format!("{name} ({doing})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            b.set_message(if running.is_empty() {
                String::new()
            } else {
                inert::terminal_line(&format!("grading {running}"))
            });
        }
    }

    pub fn event(&self, e: &BatchEvent) {
        if self.json {
            if let Ok(line) = serde_json::to_string(e) {
                #[allow(clippy::print_stdout)]
                {
                    println!("{}", json_line(&line));
                }
            }
            return;
        }
        match e {
            BatchEvent::Started {
                found,
                selected,
                jobs,
                seed,
            } => {
                if let Some(b) = &self.bar {
                    b.set_style(bar_style());
                    b.set_length(*selected as u64);
                    b.set_prefix("batch");
                }
                let shard = if found == selected {
                    String::new()
                } else {
                    format!(" (of {found} found; the others are other shards')")
                };
                self.line(&format!(
                    "{selected} submission(s){shard}, {jobs} at a time, seed {seed}"
                ));
            }
            BatchEvent::Building { name } => {
                if let Ok(mut r) = self.running.lock() {
                    r.push((name.clone(), "build (ahead)".to_owned()));
                }
                self.show_running();
                if self.verbose {
                    self.line(&format!("{name}: building its image ahead of its run"));
                }
            }
            BatchEvent::Launched { name, folder } => {
                if let Ok(mut r) = self.running.lock() {
                    match r.iter_mut().find(|(n, _)| n == name) {
                        Some(slot) => slot.1 = "intake".to_owned(),
                        None => r.push((name.clone(), "intake".to_owned())),
                    }
                }
                self.show_running();
                if self.verbose || self.bar.is_none() {
                    self.line(&format!("{name}: grading into {folder}/"));
                }
            }
            BatchEvent::Run { name, run } => {
                let doing = match run {
                    RunEvent::Stage { stage, .. } => Some(stage.clone()),
                    RunEvent::Engine(Progress::SuiteStarted { suite, checks }) => {
                        Some(format!("{suite} 0/{checks}"))
                    }
                    RunEvent::Engine(Progress::CheckFinished {
                        suite, done, total, ..
                    }) => Some(format!("{suite} {done}/{total}")),
                    RunEvent::Engine(Progress::Load { current_rps, .. }) => {
                        Some(format!("load {current_rps:.0} req/s"))
                    }
                    RunEvent::BuildLog { .. } => None,
                };
                if let (Some(doing), Ok(mut r)) = (doing, self.running.lock())
                    && let Some(slot) = r.iter_mut().find(|(n, _)| n == name)
                {
                    slot.1 = doing;
                }
                self.show_running();
                let (prefix, msg, important) = describe(run);
                let finished = matches!(run, RunEvent::Engine(Progress::CheckFinished { .. }));
                if self.verbose && (important || finished) {
                    self.line(&format!("{name}: {prefix} {msg}"));
                }
            }
            BatchEvent::Finished { entry, done, total } => {
                if let Ok(mut r) = self.running.lock() {
                    r.retain(|(n, _)| n != &entry.name);
                }
                if let Some(b) = &self.bar {
                    b.set_position(*done as u64);
                }
                self.show_running();
                let what = match &entry.outcome {
                    BatchOutcome::Graded { overall, passed } => format!(
                        "{overall:.1}, {}",
                        if *passed {
                            "passed"
                        } else {
                            "below the pass mark"
                        }
                    ),
                    BatchOutcome::Resumed { overall, .. } => {
                        format!("{overall:.1} (already graded; not run again)")
                    }
                    BatchOutcome::Refused { reason } => format!("refused: {reason}"),
                    BatchOutcome::Infrastructure { reason } => format!("not graded: {reason}"),
                    BatchOutcome::Interrupted => "interrupted".to_owned(),
                };
                self.line(&format!("[{done}/{total}] {}: {what}", entry.name));
            }
            BatchEvent::Stopping { running } => self.line(&format!(
                "stopping: nothing new is launched; cancelling {running} run(s)"
            )),
            BatchEvent::CleanedUp { name, detail } => self.line(&format!("{name}: {detail}")),
        }
    }

    /// The first Ctrl-C.
    pub fn interrupted(&self) {
        self.line("interrupted: cleaning up and writing the summaries (Ctrl-C again to quit now)");
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// What an event says: prefix, message (both inert, one line each), and whether it shows
/// without `-v`.
fn describe(e: &RunEvent) -> (String, String, bool) {
    let (prefix, msg, important) = describe_raw(e);
    (
        inert::terminal_line(&prefix),
        inert::terminal_line(&msg),
        important,
    )
}

fn describe_raw(e: &RunEvent) -> (String, String, bool) {
    match e {
        RunEvent::Stage { stage, detail } => (stage.clone(), detail.clone(), true),
        RunEvent::BuildLog { line } => ("build".into(), line.clone(), false),
        RunEvent::Engine(Progress::SuiteStarted { suite, checks }) => {
            ("suite".into(), format!("{suite} ({checks} checks)"), true)
        }
        RunEvent::Engine(Progress::CheckFinished {
            suite,
            check,
            status,
            done,
            total,
        }) => (
            format!("[{done}/{total}]"),
            format!("{suite}/{check}: {}", status.as_str()),
            false,
        ),
        RunEvent::Engine(Progress::Load {
            check,
            elapsed_secs,
            planned_secs,
            completed,
            errors,
            current_rps: rps,
        }) => (
            "load".into(),
            format!(
                "{check}: {rps:.0} req/s, {completed} requests, {errors} errors ({elapsed_secs:.0}/{planned_secs:.0} s)"
            ),
            false,
        ),
    }
}

/// The verdict in words: why a submission did not pass, when it did not.
fn verdict(card: &Scorecard) -> &'static str {
    if card.passed {
        "PASSED"
    } else if !card.critical_failures.is_empty() {
        "NOT PASSED: a critical check failed"
    } else {
        "BELOW PASS MARK"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_lines_and_reasons_are_inert_one_line_each() {
        let cases = [
            (
                RunEvent::BuildLog {
                    line: "\u{1b}]52;c;ZXZpbA==\u{7}".to_owned(),
                },
                "␛]52;c;ZXZpbA==␇",
            ),
            (
                RunEvent::BuildLog {
                    line: "::error::pwned".to_owned(),
                },
                "\\::error::pwned",
            ),
            (
                RunEvent::Stage {
                    stage: "build".to_owned(),
                    detail: "did not build: step ##[error]x\n::add-mask::y".to_owned(),
                },
                "did not build: step #\\#[error]x⏎::add-mask::y",
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(describe(&event).1, expected, "{event:?}");
        }
    }

    #[test]
    fn data_on_stdout_stays_whole_and_json_stays_equal() {
        let json = "{\"line\":\"##[error]x \\u001b]52\",\"n\":1}";
        let out = inert_data(json);
        assert_eq!(out, "{\"line\":\"#\\u0023[error]x \\u001b]52\",\"n\":1}");
        let parsed = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
        assert_eq!(parsed(&out), parsed(json));
        let bidi = "{\"name\":\"abc\u{202e}fed ###\"}";
        let out = inert_data(bidi);
        assert_eq!(out, "{\"name\":\"abc\\u202efed #\\u0023#\"}");
        assert_eq!(parsed(&out), parsed(bidi));
        let long = "x".repeat(5000);
        assert_eq!(inert_data(&long), long, "data is not cut");
        assert_eq!(
            inert_data("| a |\n::error::b\n\u{1b}[2J"),
            "| a |\n\\::error::b\n␛[2J"
        );
    }

    #[test]
    fn colour_follows_the_flag_then_the_terminal_and_no_color() {
        use ColorChoice::*;
        let cases = [
            (Always, false, true, true),
            (Never, true, false, false),
            (Auto, true, false, true),
            (Auto, true, true, false),
            (Auto, false, false, false),
        ];
        for (choice, terminal, no_color, want) in cases {
            assert_eq!(
                use_color(choice, terminal, no_color),
                want,
                "{choice:?} terminal={terminal} NO_COLOR={no_color}"
            );
        }
    }
}
