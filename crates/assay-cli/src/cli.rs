//! The command-line grammar (clap derive): every command, flag and its help text.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

use assay_model::ByteSize;

/// Exit codes and where settings come from, documented in `--help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  passed (run), or the command succeeded
  1  graded, below the pass mark (run, regrade)
  2  usage error, invalid assessment or refused submission
  3  infrastructure failure (Docker, images), or interrupted";

/// assay: grade take-home backend submissions in a hardened Docker sandbox.
#[derive(Debug, Parser)]
#[command(name = "assay", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Less output: only the verdict and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output: every check as it finishes.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Colour: auto (a terminal, unless NO_COLOR is set), always or never.
    #[arg(
        env = "ASSAY_COLOR",
        long,
        global = true,
        value_enum,
        ignore_case = true,
        default_value = "auto"
    )]
    pub color: ColorChoice,
    /// Extra certificate authorities the images assay makes trust, so builds can download
    /// through a TLS-intercepting proxy: `auto` (the host's local CA folders, e.g.
    /// /usr/local/share/ca-certificates, and SSL_CERT_FILE unless it is the system bundle),
    /// `none`, or PEM files (or folders of them) separated by commas.
    #[arg(
        env = "ASSAY_EXTRA_CA",
        long,
        global = true,
        value_name = "FILE|auto|none",
        default_value = "auto"
    )]
    pub extra_ca: String,
    /// A configuration file (default: ./assay.toml, then $XDG_CONFIG_HOME/assay/config.toml);
    /// flags and ASSAY_* variables override it. [env: ASSAY_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, start and grade one submission; write the reports.
    #[command(after_help = "Examples:
  assay run assessments/ledger-api ./candidate-repo
  assay run assessments/ledger-api candidate.zip --out out/alice --profile backend-senior
  assay run assessments/ledger-api ./repo --seed 42 --events json > events.jsonl")]
    Run(RunArgs),
    /// Grade many submissions for CI: bounded parallelism, resumable, sharded.
    #[command(after_help = "Examples:
  assay batch assessments/ledger-api submissions/ --out out/cohort --jobs 2
  assay batch assessments/ledger-api alice.zip bob/ carol.tar.gz --out out/cohort
  assay batch assessments/ledger-api --list subs.txt --out out/shard1 --shard 1/4 --seed 42
  assay compare out/shard1 out/shard2 out/shard3 out/shard4

A directory holding only directories and archives is a folder of submissions (each entry
is one); any other directory, git repository or archive is one submission.
Each is graded like `assay run` into OUT/<name>-<digest12>/ (reports and run-results.json).
A submission already graded there for the same content digest, assessment version and
seed is not run again, so an interrupted batch resumes where it stopped. The seed is stored
in OUT/batch.json and reused; --seed overrides it. Shards of one cohort (--shard K/N, the
submissions sorted by name and digest, every N-th) MUST pass the same --seed; merge them
with `assay compare OUT1 OUT2 ...`.
Writes OUT/summary.md and OUT/summary.csv (leaderboard: rank, name, overall, passed, the
ten skills; the submissions not graded and why) and OUT/checks.csv (pass rate of each check
across the cohort, flagging checks nobody or everybody passes).
Then compares the submissions for shared code, as `assay similarity` does (--no-similarity
turns it off): OUT/similarity.csv, OUT/similarity/<pair>.html, a section of summary.md and a
`similarity` block in each scorecard. A flag for a human; it never changes a score.
Ctrl-C stops launching, removes the running runs' containers, and writes the summaries of
what finished; run the same command again to resume.

Exit codes (the worst infrastructure outcome; candidates' scores never change them):
  0  every submission was graded (now or before)
  2  a submission was refused (unsafe or unreadable archive), or a usage error
  3  a submission could not be graded (Docker, images), or the batch was interrupted")]
    Batch(BatchArgs),
    /// Flag submissions that share code with each other or with known public solutions.
    #[command(after_help = "Examples:
  assay similarity alice/ bob.zip carol.tar.gz --out out/similarity
  assay similarity submissions/* --known public-solutions/ --assessment assessments/ledger-api --out out/sim

Every submission (a directory, git repository or archive, as `assay run` takes) is tokenised by
language (Python, JavaScript, TypeScript, Rust, Go, Java), normalised (comments, layout,
identifier names and literals dropped) and fingerprinted (k-grams, winnowing). Pairs sharing at
least --threshold of the smaller one's fingerprints are flagged. Fingerprints in many
submissions (boilerplate), in the assessment's kit and starter/ folder, or in a --skeleton are
discounted. Lockfiles, vendored, generated and binary files are skipped.
Writes OUT/similarity.csv (a,b,score,shared_lines, highest score first), OUT/similarity.md and
OUT/similarity/<pair>.html (the matched regions side by side).
Similarity is a flag for a human reviewer, never part of a score.

Exit codes:
  0  compared (whether or not a pair was flagged)
  2  a submission was refused or unreadable (the others were compared), or a usage error
  3  the reports could not be written")]
    Similarity(SimilarityArgs),
    /// Check an assessment folder; print every problem as file:line:column.
    #[command(after_help = "Example:\n  assay validate assessments/ledger-api")]
    Validate {
        /// The assessment folder.
        dir: PathBuf,
    },
    /// Build or list the images assessments need (works offline).
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Remove containers, networks and firewall rules left by killed runs.
    #[command(after_help = "Example:\n  assay gc")]
    Gc,
    /// Re-render a scorecard in another format.
    #[command(after_help = "Examples:
  assay report out/scorecard.json --format md
  assay report out/scorecard.json --format html --output report.html")]
    Report {
        /// A scorecard.json written by `assay run`.
        scorecard: PathBuf,
        /// The report to render (`md` and `xml` also name markdown and junit).
        #[arg(long, default_value = "markdown", value_parser = report_format())]
        format: assay_report::Format,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Grade a run's stored results (run-results.json) again, e.g. after changing weights.
    #[command(after_help = "Example:
  assay regrade out/alice/run-results.json assessments/ledger-api --out out/alice-v2")]
    Regrade {
        /// run-results.json written by `assay run`.
        results: PathBuf,
        /// The assessment folder whose grading plan to use.
        assessment: PathBuf,
        /// The role profile (default: the assessment's).
        #[arg(env = "ASSAY_PROFILE", long)]
        profile: Option<String>,
        /// Where the run folder goes: the reports and the run-results.json they were graded from.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Rank graded submissions per skill (a table, or CSV).
    #[command(after_help = "Example:\n  assay compare out/alice out/bob out/carol --csv")]
    Compare {
        /// Output folders of `assay run` or `assay batch` (shards merge), or scorecard.json files.
        outputs: Vec<PathBuf>,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Export the candidate kit: the brief and the visible checks, never the hidden ones.
    #[command(after_help = "Example:\n  assay brief assessments/ledger-api --out kit/")]
    Brief {
        /// The assessment folder.
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Scaffold a new assessment: one example of each check kind and a reference solution.
    #[command(after_help = "Example:
  assay init assessments/my-task
  assay validate assessments/my-task
  assay run assessments/my-task assessments/my-task/reference")]
    Init {
        /// The new assessment folder (absent or empty).
        dir: PathBuf,
    },
    /// Print shell completions.
    #[command(after_help = "Example:\n  assay completions bash > /etc/bash_completion.d/assay")]
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The assessment folder, e.g. assessments/ledger-api.
    pub assessment: PathBuf,
    /// The submission: a directory, a git repository, or a .zip/.tar/.tar.gz archive.
    pub submission: PathBuf,
    /// Where reports go.
    #[arg(env = "ASSAY_OUT", long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// The role profile to grade against (default: the assessment's).
    #[arg(env = "ASSAY_PROFILE", long)]
    pub profile: Option<String>,
    /// Seed of generated data; the same seed reproduces a run.
    #[arg(env = "ASSAY_SEED", long)]
    pub seed: Option<u64>,
    /// Shorten load phases as the assessment's test_mode says (never skips them);
    /// --test-mode=false turns it off.
    #[arg(env = "ASSAY_TEST_MODE", long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", action = ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub test_mode: bool,
    /// A container runtime for the service, e.g. runsc (gVisor), where installed.
    #[arg(env = "ASSAY_RUNTIME", long)]
    pub runtime: Option<String>,
    /// The package registries a submission's build may reach, as domains separated by commas
    /// (a leading dot: and their subdomains), instead of the assessment's list (default
    /// .debian.org,.pypi.org,files.pythonhosted.org,.crates.io), e.g. an internal mirror.
    #[arg(
        env = "ASSAY_REGISTRIES",
        long,
        value_delimiter = ',',
        value_name = "DOMAINS"
    )]
    pub registries: Option<Vec<String>>,
    /// A lock file that every assay process of this machine grading at once names: their
    /// measured phases (load, growth) then run alone, never beside another run's build,
    /// seeding or checks (CI shards on one machine, two terminals). Batches share a lane
    /// among their own runs without it.
    #[arg(env = "ASSAY_PERFORMANCE_LANE", long, value_name = "FILE")]
    pub performance_lane: Option<PathBuf>,
    /// Run only these checks (repeatable).
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Machine-readable progress on standard output, one JSON object per line.
    #[arg(long, value_enum)]
    pub events: Option<EventsFormat>,
    #[command(flatten)]
    pub intake: IntakeArgs,
}

/// Caps on what a submission may unpack to; they stop zip and tar bombs.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Submission limits")]
pub struct IntakeArgs {
    /// Most files, folders and links a submission may hold.
    #[arg(env = "ASSAY_MAX_ENTRIES", long, default_value = "20000", value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    pub max_entries: u64,
    /// Most bytes all its files may unpack to, e.g. 512MiB or 2GiB.
    #[arg(env = "ASSAY_MAX_UNPACKED", long, default_value = "512MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_unpacked: ByteSize,
    /// Most bytes any one file may hold, e.g. 64MiB.
    #[arg(env = "ASSAY_MAX_FILE_SIZE", long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: ByteSize,
}

impl IntakeArgs {
    /// The runner's limits.
    pub fn limits(&self) -> assay_intake::IntakeLimits {
        assay_intake::IntakeLimits {
            max_entries: self.max_entries,
            max_total_bytes: self.max_unpacked.bytes(),
            max_file_bytes: self.max_file_size.bytes(),
        }
    }
}

/// A byte size above zero, read by the one size parser (`assay_model::ByteSize`): a whole
/// number with an optional unit, `B`, `KB`, `MB`, `GB` (powers of 1000) or `KiB`, `MiB`, `GiB`
/// (powers of 1024), as in the assessment format.
pub fn parse_size(s: &str) -> Result<ByteSize, String> {
    match ByteSize::parse(s) {
        Ok(ByteSize(0)) => Err("the size must be above zero".to_owned()),
        Ok(size) => Ok(size),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// The assessment folder.
    pub assessment: PathBuf,
    /// Submissions (directories, git repositories, archives) or folders holding them.
    pub submissions: Vec<PathBuf>,
    /// A file listing submissions, one path per line (`#` comments; relative to the file).
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Where each submission's reports and the summaries go.
    #[arg(
        env = "ASSAY_OUT",
        long,
        default_value = "out/batch",
        value_name = "DIR"
    )]
    pub out: PathBuf,
    /// Submissions graded at once (on two cores, 2 at most).
    #[arg(env = "ASSAY_JOBS", long, short = 'j', default_value = "1", value_name = "N",
          value_parser = parse_jobs)]
    pub jobs: usize,
    /// Grade only part K of N (e.g. 2/4), for a CI matrix; merge with `assay compare`.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Seed for every submission (default: the one in OUT/batch.json, else a fresh one);
    /// shards of one cohort need the same.
    #[arg(env = "ASSAY_SEED", long)]
    pub seed: Option<u64>,
    /// The role profile (default: the assessment's).
    #[arg(env = "ASSAY_PROFILE", long)]
    pub profile: Option<String>,
    /// Shorten load phases as the assessment's test_mode says (never skips them);
    /// --test-mode=false turns it off.
    #[arg(env = "ASSAY_TEST_MODE", long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", action = ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub test_mode: bool,
    /// A container runtime for the services, e.g. runsc (gVisor).
    #[arg(env = "ASSAY_RUNTIME", long)]
    pub runtime: Option<String>,
    /// The package registries a submission's build may reach, as domains separated by commas
    /// (a leading dot: and their subdomains), instead of the assessment's list (default
    /// .debian.org,.pypi.org,files.pythonhosted.org,.crates.io), e.g. an internal mirror.
    #[arg(
        env = "ASSAY_REGISTRIES",
        long,
        value_delimiter = ',',
        value_name = "DOMAINS"
    )]
    pub registries: Option<Vec<String>>,
    /// A lock file that every assay process of this machine grading at once names: their
    /// measured phases (load, growth) then run alone, never beside another run's build,
    /// seeding or checks (CI shards on one machine, two terminals). Batches share a lane
    /// among their own runs without it.
    #[arg(env = "ASSAY_PERFORMANCE_LANE", long, value_name = "FILE")]
    pub performance_lane: Option<PathBuf>,
    /// Machine-readable progress on standard output, one JSON object per line.
    #[arg(long, value_enum)]
    pub events: Option<EventsFormat>,
    #[command(flatten)]
    pub intake: IntakeArgs,
    /// Do not compare the submissions for shared code (on by default).
    #[arg(long)]
    pub no_similarity: bool,
    #[command(flatten)]
    pub similarity: SimilarityFlags,
}

/// How similarity is measured (shared by `assay similarity` and `assay batch`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Similarity")]
pub struct SimilarityFlags {
    /// A folder of known public solutions (each entry a directory or archive, named by it)
    /// to compare every submission against.
    #[arg(long, value_name = "DIR")]
    pub known: Option<PathBuf>,
    /// A framework's generated skeleton (e.g. `django-admin startproject` output) whose code
    /// is discounted like the assessment's handed-out files (repeatable).
    #[arg(long = "skeleton", value_name = "DIR")]
    pub skeletons: Vec<PathBuf>,
    /// Flag pairs sharing at least this share (0-1) of the smaller one's fingerprints.
    #[arg(long = "similarity-threshold", value_name = "SHARE", default_value = "0.4",
          value_parser = parse_share)]
    pub threshold: f64,
}

impl SimilarityFlags {
    pub fn options(&self) -> assay_similarity::Options {
        assay_similarity::Options {
            threshold: self.threshold,
            ..assay_similarity::Options::default()
        }
    }
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a share between 0 and 1, e.g. 0.4")),
    }
}

#[derive(Debug, clap::Args)]
pub struct SimilarityArgs {
    /// Submissions: directories, git repositories or .zip/.tar/.tar.gz archives (two or more,
    /// or one with --known). Named in the reports as written here.
    pub submissions: Vec<PathBuf>,
    /// Where similarity.csv, similarity.md and the pair pages go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The assessment: its candidate kit and starter/ code are handed out, so discounted.
    #[arg(long, value_name = "DIR")]
    pub assessment: Option<PathBuf>,
    #[command(flatten)]
    pub similarity: SimilarityFlags,
    #[command(flatten)]
    pub intake: IntakeArgs,
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("grade at least 1 submission at once (on two cores, 2 at most)".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err("write a whole number of submissions graded at once, e.g. 2".to_owned()),
    }
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or("write the shard as K/N, e.g. 2/4")?;
    let k: usize = k.trim().parse().map_err(|_| "K must be a number")?;
    let n: usize = n.trim().parse().map_err(|_| "N must be a number")?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: K must be between 1 and N"));
    }
    Ok((k, n))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Make every image the bundled assessments need (a no-op when all exist).
    Build,
    /// List assay's images.
    List,
}

/// `--format`: the report library's own formats, names and aliases ([`assay_report::Format`])
/// offered to clap as its possible values, so the library and the command line read the same.
fn report_format() -> impl clap::builder::TypedValueParser<Value = assay_report::Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let values = assay_report::Format::ALL
        .map(|f| PossibleValue::new(f.name()).aliases(f.aliases().iter().copied()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<assay_report::Format>())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command, parse_size};

    #[test]
    fn report_formats_are_the_library_s_names_and_aliases() {
        let format = |args: &[&str]| {
            let mut argv = vec!["assay", "report", "scorecard.json"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).map(|cli| cli.command) {
                Ok(Command::Report { format, .. }) => Ok(format),
                Ok(other) => panic!("not a report command: {other:?}"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(
            format(&[]),
            Ok(assay_report::Format::Markdown),
            "the default"
        );
        for f in assay_report::Format::ALL {
            assert_eq!(format(&["--format", f.name()]), Ok(f));
            for alias in f.aliases() {
                assert_eq!(format(&["--format", alias]), Ok(f), "{alias}");
            }
        }
        let err = format(&["--format", "pdf"]).expect_err("pdf is refused");
        assert!(
            err.contains("json") && err.contains("markdown") && err.contains("gradescope"),
            "{err}"
        );
    }

    #[test]
    fn sizes_read_as_the_assessment_format_reads_them() {
        // The command line and the settings read sizes as YAML does: `MB` is 10^6 here too.
        for (input, want) in [
            ("1048576", Ok(1 << 20)),
            ("512MiB", Ok(512 << 20)),
            ("2 GiB", Ok(2 << 30)),
            ("64MB", Ok(64_000_000)),
            ("1KB", Ok(1000)),
            ("1kib", Ok(1024)),
            ("0", Err("the size must be above zero".to_owned())),
        ] {
            assert_eq!(parse_size(input).map(|s| s.bytes()), want, "{input}");
            if let Ok(bytes) = want {
                let yaml: assay_format::ByteSize =
                    serde_json::from_value(serde_json::Value::String(input.to_owned()))
                        .expect("the format reads it too");
                assert_eq!(yaml.bytes(), bytes, "{input} in YAML");
            }
        }
        for (bad, says) in [
            ("", "write a whole number of bytes"),
            ("MiB", "is not a size"),
            ("12 parsecs", "unknown unit"),
            ("-1", "is not a size"),
            ("64m", "write `MiB` for 2^20 bytes or `MB` for 10^6"),
            ("99999999999GiB", "too large"),
        ] {
            let err = parse_size(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
