//! `make bench`'s similarity figure: a seeded synthetic cohort (500 submissions × 5,000 lines
//! of Python by default) written to disk, then read, fingerprinted, compared and reported the
//! way `assay similarity` does, timed phase by phase. Not a test: it asserts no duration.
//!
//! `cargo bench -p assay-similarity --bench cohort` (release). `SIMILARITY_SUBMISSIONS` and
//! `SIMILARITY_LINES` change the size; `SIMILARITY_OUT` names a file for the JSON figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use assay_similarity::{Options, Origin, compare, read_all, write_reports};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 20_261_206;
const FILES: usize = 10;
/// Every submission carries the same framework boilerplate, this many lines of it.
const BOILERPLATE_LINES: usize = 200;
/// Every this-many-th submission copies six of the ten files of the previous one.
const COPY_EVERY: usize = 25;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A random Python-like program: functions of assignments, conditionals, loops, calls and
/// returns over random expressions, so that independent files share little structure.
struct Writer {
    rng: ChaCha8Rng,
}

impl Writer {
    fn name(&mut self) -> String {
        const PARTS: &[&str] = &[
            "account", "total", "item", "row", "value", "user", "order", "ledger", "cache",
            "amount", "page", "token", "entry", "limit", "query", "result",
        ];
        let a = PARTS[self.rng.random_range(0..PARTS.len())];
        let b = PARTS[self.rng.random_range(0..PARTS.len())];
        format!("{a}_{b}")
    }

    fn expr(&mut self, depth: u32) -> String {
        let choice = if depth > 2 {
            self.rng.random_range(0..3)
        } else {
            self.rng.random_range(0..9)
        };
        match choice {
            0 => self.name(),
            1 => self.rng.random_range(0..1000).to_string(),
            2 => format!("\"{}\"", self.name()),
            3 => {
                const OPS: &[&str] = &["+", "-", "*", "//", "%", "and", "or", "==", "<"];
                let op = OPS[self.rng.random_range(0..OPS.len())];
                format!("{} {op} {}", self.expr(depth + 1), self.expr(depth + 1))
            }
            4 => {
                let n = self.rng.random_range(0..4);
                let args: Vec<String> = (0..n).map(|_| self.expr(depth + 1)).collect();
                format!("{}({})", self.name(), args.join(", "))
            }
            5 => format!("{}.{}", self.expr(depth + 1), self.name()),
            6 => format!("{}[{}]", self.name(), self.expr(depth + 1)),
            7 => {
                let n = self.rng.random_range(1..4);
                let items: Vec<String> = (0..n).map(|_| self.expr(depth + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => format!("not {}", self.expr(depth + 1)),
        }
    }

    fn statement(&mut self, out: &mut Vec<String>, indent: usize, depth: u32) {
        let pad = "    ".repeat(indent);
        let choice = if depth > 1 {
            self.rng.random_range(0..3)
        } else {
            self.rng.random_range(0..6)
        };
        match choice {
            0 => out.push(format!("{pad}{} = {}", self.name(), self.expr(0))),
            1 => out.push(format!("{pad}{}({})", self.name(), self.expr(1))),
            2 => out.push(format!("{pad}{} += {}", self.name(), self.expr(1))),
            3 => {
                out.push(format!("{pad}if {}:", self.expr(0)));
                for _ in 0..self.rng.random_range(1..4) {
                    self.statement(out, indent + 1, depth + 1);
                }
            }
            4 => {
                out.push(format!("{pad}for {} in {}:", self.name(), self.expr(1)));
                for _ in 0..self.rng.random_range(1..4) {
                    self.statement(out, indent + 1, depth + 1);
                }
            }
            _ => {
                out.push(format!("{pad}try:"));
                self.statement(out, indent + 1, depth + 1);
                out.push(format!("{pad}except {} as err:", self.name()));
                out.push(format!("{pad}    return {}", self.expr(1)));
            }
        }
    }

    /// A module of about `lines` lines.
    fn module(&mut self, lines: usize) -> String {
        let mut out: Vec<String> = vec!["import os".to_owned(), String::new()];
        while out.len() < lines {
            let params: Vec<String> = (0..self.rng.random_range(0..4))
                .map(|_| self.name())
                .collect();
            out.push(format!("def {}({}):", self.name(), params.join(", ")));
            out.push(format!("    # {}", self.name()));
            for _ in 0..self.rng.random_range(3..9) {
                self.statement(&mut out, 1, 0);
            }
            out.push(format!("    return {}", self.expr(0)));
            out.push(String::new());
        }
        out.truncate(lines);
        out.push(String::new());
        out.join("\n")
    }
}

/// Writes the cohort under `dir`; returns `(name, folder)` of each submission.
fn generate(
    dir: &Path,
    submissions: usize,
    lines: usize,
) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut writer = Writer {
        rng: ChaCha8Rng::seed_from_u64(SEED),
    };
    let boilerplate = writer.module(BOILERPLATE_LINES);
    let per_file = (lines.saturating_sub(BOILERPLATE_LINES) / FILES).max(1);
    let mut out = Vec::with_capacity(submissions);
    for i in 0..submissions {
        let name = format!("sub-{i:04}");
        let root = dir.join(&name);
        std::fs::create_dir_all(root.join("app"))?;
        std::fs::write(root.join("app/settings.py"), &boilerplate)?;
        for f in 0..FILES {
            let path = root.join(format!("app/module_{f}.py"));
            if i > 0 && i % COPY_EVERY == 0 && f < FILES * 6 / 10 {
                let from = dir.join(format!("sub-{:04}/app/module_{f}.py", i - 1));
                std::fs::copy(from, path)?;
            } else {
                std::fs::write(path, writer.module(per_file))?;
            }
        }
        out.push((name, root));
    }
    Ok(out)
}

/// CPU seconds (user + system, every thread) this process has used so far, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s, the kernel's USER_HZ). `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() -> std::io::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let submissions = env_usize("SIMILARITY_SUBMISSIONS", 500);
    let lines = env_usize("SIMILARITY_LINES", 5_000);
    let work = tempfile::Builder::new()
        .prefix("assay-similarity-bench-")
        .tempdir()?;
    let started = Instant::now();
    let sources = generate(&work.path().join("cohort"), submissions, lines)?;
    let generate_s = started.elapsed().as_secs_f64();

    let options = Options::default();
    let cpu_before = cpu_seconds();
    let t = Instant::now();
    let docs: Vec<_> = read_all(&sources, Origin::Submission, &options)
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::other)?;
    let fingerprint_s = t.elapsed().as_secs_f64();
    let total_lines: u64 = docs.iter().map(assay_similarity::Document::lines).sum();
    let fingerprints: usize = docs.iter().map(|d| d.fingerprints.len()).sum();

    let t = Instant::now();
    let report = compare(&docs, &[], &[], &options);
    let compare_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let written = write_reports(&report, &work.path().join("out"))?;
    let report_s = t.elapsed().as_secs_f64();
    let total_s = fingerprint_s + compare_s + report_s;
    let cpu_s = cpu_seconds()
        .zip(cpu_before)
        .map_or(f64::NAN, |(after, before)| after - before);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();

    let flagged = report.flagged().count();
    let threads = rayon::current_num_threads();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| submissions | lines each | lines | fingerprints | threads | read + fingerprint s | compare s | reports s | total s (wall) | CPU s (all threads) | flagged pairs (expected) | common fingerprints | load average after |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| {submissions} | {lines} | {total_lines} | {fingerprints} | {threads} | {fingerprint_s:.2} | {compare_s:.2} | {report_s:.2} | {total_s:.2} | {cpu_s:.2} | {flagged} ({}) | {} | {load} |",
        submissions.saturating_sub(1) / COPY_EVERY,
        report.common_fingerprints
    );
    println!("{md}");
    eprintln!(
        "(generating the cohort took {generate_s:.1} s, not counted; {} pages written)",
        written.pages.len()
    );
    if let Ok(path) = std::env::var("SIMILARITY_OUT") {
        let json = format!(
            "{{\"submissions\": {submissions}, \"lines_each\": {lines}, \"lines\": {total_lines}, \"fingerprints\": {fingerprints}, \"threads\": {threads}, \"fingerprint_s\": {fingerprint_s:.3}, \"compare_s\": {compare_s:.3}, \"reports_s\": {report_s:.3}, \"total_s\": {total_s:.3}, \"cpu_s\": {cpu_s:.3}, \"flagged\": {flagged}, \"common_fingerprints\": {}}}\n",
            report.common_fingerprints
        );
        std::fs::write(&path, json)?;
        std::fs::write(format!("{path}.md"), md)?;
    }
    Ok(())
}
