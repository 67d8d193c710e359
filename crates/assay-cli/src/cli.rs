//! The command-line grammar (clap derive): every command, flag and its help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes, documented in `--help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  passed (run), or the command succeeded
  1  graded, below the pass mark
  2  usage error, invalid assessment or refused submission
  3  infrastructure failure (Docker, images)";

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
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "ASSAY_COLOR"
    )]
    pub color: ColorChoice,
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
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Rank graded submissions per skill (a table, or CSV).
    #[command(after_help = "Example:\n  assay compare out/alice out/bob out/carol --csv")]
    Compare {
        /// Output folders of `assay run` (or scorecard.json files).
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
    #[arg(long, default_value = "out", env = "ASSAY_OUT")]
    pub out: PathBuf,
    /// The role profile to grade against (default: the assessment's).
    #[arg(long, env = "ASSAY_PROFILE")]
    pub profile: Option<String>,
    /// Seed of generated data; the same seed reproduces a run.
    #[arg(long, env = "ASSAY_SEED")]
    pub seed: Option<u64>,
    /// Shorten load phases as the assessment's test_mode says (never skips them).
    #[arg(long, env = "ASSAY_TEST_MODE")]
    pub test_mode: bool,
    /// A container runtime for the service, e.g. runsc (gVisor), where installed.
    #[arg(long, env = "ASSAY_RUNTIME")]
    pub runtime: Option<String>,
    /// Run only these checks (repeatable).
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Machine-readable progress on standard output, one JSON object per line.
    #[arg(long, value_enum)]
    pub events: Option<EventsFormat>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    Junit,
    Json,
    Gradescope,
}

impl ReportFormat {
    pub fn to_format(self) -> assay_report::Format {
        match self {
            ReportFormat::Html => assay_report::Format::Html,
            ReportFormat::Md => assay_report::Format::Markdown,
            ReportFormat::Junit => assay_report::Format::Junit,
            ReportFormat::Json => assay_report::Format::Json,
            ReportFormat::Gradescope => assay_report::Format::Gradescope,
        }
    }
}
