//! Renders a scorecard as JSON, Markdown, JUnit XML, HTML and Gradescope results, and
//! compares scorecards of one assessment.
//!
//! Everything renders from one [`Scorecard`]; only [`write_run`] and [`write_all`] (one
//! atomic writer of a run folder) touch the file system.
//! All candidate-controlled text is escaped for the format it lands in.

mod compare;
mod escape;
mod gradescope;
mod html;
mod junit;
mod markdown;
mod radar;
mod text;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use assay_grader::Scorecard;
use assay_model::RunResults;

pub use compare::{Comparison, ComparisonRow, SkillCell, compare};
pub use escape::{csv_field, html as escape_html, markdown as escape_markdown, sanitize};
pub use html::CSP;
pub use markdown::MARKDOWN_LIMIT;
pub use text::{own_evidence, own_share};

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `scorecard.json`: the scorecard itself.
    Json,
    /// `report.md`: GitHub-flavoured Markdown for a step summary.
    Markdown,
    /// `junit.xml`: one testcase per check.
    Junit,
    /// `report.html`: one self-contained page.
    Html,
    /// `results.json`: Gradescope's autograder results.
    Gradescope,
}

impl Format {
    /// Every format, in the order [`write_all`] writes them.
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
        Format::Gradescope,
    ];

    /// The file name [`write_all`] uses.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "scorecard.json",
            Format::Markdown => "report.md",
            Format::Junit => "junit.xml",
            Format::Html => "report.html",
            Format::Gradescope => "results.json",
        }
    }

    /// Its name: `json`, `markdown`, `junit`, `html`, `gradescope` (the command line's too).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Junit => "junit",
            Format::Html => "html",
            Format::Gradescope => "gradescope",
        }
    }
}

impl Format {
    /// Other names it is read by: `md` for Markdown, `xml` for JUnit.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Format::Markdown => &["md"],
            Format::Junit => &["xml"],
            Format::Json | Format::Html | Format::Gradescope => &[],
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s || f.aliases().contains(&s))
            .ok_or_else(|| ReportError::UnknownFormat(s.to_owned()))
    }
}

/// Why a report could not be rendered, written or compared.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown report format `{0}`: use json, markdown, junit, html or gradescope")]
    UnknownFormat(String),
    #[error("cannot serialise the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write JUnit XML: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("nothing to compare: no scorecards were given")]
    NothingToCompare,
    #[error(
        "cannot compare submissions to different assessments: `{submission}` was graded against {other}, the first against {first}"
    )]
    MixedAssessments {
        first: String,
        other: String,
        submission: String,
    },
    #[error(
        "cannot compare scores weighted by different profiles: `{submission}` was graded with profile `{other}`, the first with `{first}`"
    )]
    MixedProfiles {
        first: String,
        other: String,
        submission: String,
    },
}

/// Renders `card` in `format`.
pub fn render(card: &Scorecard, format: Format) -> Result<String, ReportError> {
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(card)?),
        Format::Markdown => markdown::render(card),
        Format::Junit => junit::render(card)?,
        Format::Html => html::render(card),
        Format::Gradescope => format!(
            "{}\n",
            serde_json::to_string_pretty(&gradescope::results(card))?
        ),
    })
}

/// The file name of a run's raw outcomes in a run folder, beside the reports.
pub const RUN_RESULTS_FILE: &str = "run-results.json";

/// The files [`write_all`] or [`write_run`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// One path per format, in [`Format::ALL`] order.
    pub files: Vec<(Format, PathBuf)>,
    /// `run-results.json`, when [`write_run`] wrote it.
    pub run_results: Option<PathBuf>,
}

impl Written {
    /// The path written for `format`.
    pub fn path(&self, format: Format) -> Option<&Path> {
        self.files
            .iter()
            .find(|(f, _)| *f == format)
            .map(|(_, p)| p.as_path())
    }
}

/// Renders every format and writes it into `out_dir` (created if missing): scorecard.json,
/// report.md, junit.xml, report.html and results.json, as [`write_run`] does but leaving
/// `run-results.json` as it is (for a scorecard annotated after grading).
pub fn write_all(card: &Scorecard, out_dir: impl AsRef<Path>) -> Result<Written, ReportError> {
    write_folder(None, card, out_dir.as_ref())
}

/// Writes a run folder: `run-results.json` (the raw outcomes `card` was graded from) and
/// every report. The one writer of a run folder, for `assay run`, `assay regrade` and each
/// submission of a batch.
///
/// Everything is rendered before anything is written. Each file is written to a hidden
/// temporary name beside it, flushed to disk and renamed over the old one, so a reader sees
/// either the old or the new complete file, never half of one. `scorecard.json` goes first
/// (removed) and last (written): a folder holding a scorecard holds that scorecard's reports
/// and results, which is what a resumed batch trusts.
pub fn write_run(
    results: &RunResults,
    card: &Scorecard,
    out_dir: impl AsRef<Path>,
) -> Result<Written, ReportError> {
    write_folder(Some(results), card, out_dir.as_ref())
}

fn write_folder(
    results: Option<&RunResults>,
    card: &Scorecard,
    out_dir: &Path,
) -> Result<Written, ReportError> {
    let rendered = Format::ALL
        .into_iter()
        .map(|format| Ok((format, render(card, format)?)))
        .collect::<Result<Vec<_>, ReportError>>()?;
    let results = results.map(serde_json::to_vec_pretty).transpose()?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let scorecard = out_dir.join(Format::Json.file_name());
    match std::fs::remove_file(&scorecard) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&scorecard)(e)),
        _ => {}
    }
    let run_results = match results {
        Some(json) => {
            let path = out_dir.join(RUN_RESULTS_FILE);
            write_atomically(&path, &json).map_err(io(&path))?;
            Some(path)
        }
        None => None,
    };
    let mut files = Vec::with_capacity(rendered.len());
    let mut last = None;
    for (format, content) in rendered {
        let path = out_dir.join(format.file_name());
        if format == Format::Json {
            last = Some((path.clone(), content));
        } else {
            write_atomically(&path, content.as_bytes()).map_err(io(&path))?;
        }
        files.push((format, path));
    }
    if let Some((path, content)) = last {
        write_atomically(&path, content.as_bytes()).map_err(io(&path))?;
    }
    // The renames themselves reach the disk with the folder's entry list.
    std::fs::File::open(out_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io(out_dir))?;
    Ok(Written { files, run_results })
}

/// Writes `bytes` to `.NAME.partial` beside `path`, flushes it to disk and renames it to
/// `path`; a partial file left by a failure is removed.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial"));
    let written = std::fs::File::create(&partial)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}
