//! Renders a scorecard as JSON, Markdown, JUnit XML, HTML and Gradescope results, and
//! compares scorecards of one assessment.
//!
//! Everything renders from one [`Scorecard`]; only [`write_all`] touches the file system.
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

    /// The name a command line uses: `json`, `markdown`, `junit`, `html`, `gradescope`.
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

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md" => Ok(Format::Markdown),
            "xml" => Ok(Format::Junit),
            _ => Format::ALL
                .into_iter()
                .find(|f| f.name() == s)
                .ok_or_else(|| ReportError::UnknownFormat(s.to_owned())),
        }
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

/// The files [`write_all`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// One path per format, in [`Format::ALL`] order.
    pub files: Vec<(Format, PathBuf)>,
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
/// report.md, junit.xml, report.html and results.json. Each file is written to a temporary
/// name and renamed, so a reader never sees half a report. Everything is rendered before
/// anything is written.
pub fn write_all(card: &Scorecard, out_dir: impl AsRef<Path>) -> Result<Written, ReportError> {
    let out_dir = out_dir.as_ref();
    let rendered = Format::ALL
        .into_iter()
        .map(|format| Ok((format, render(card, format)?)))
        .collect::<Result<Vec<_>, ReportError>>()?;
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Io {
        path: out_dir.to_owned(),
        source,
    })?;
    let mut files = Vec::with_capacity(rendered.len());
    for (format, content) in rendered {
        let path = out_dir.join(format.file_name());
        let partial = out_dir.join(format!(".{}.partial", format.file_name()));
        std::fs::write(&partial, content).map_err(|source| ReportError::Io {
            path: partial.clone(),
            source,
        })?;
        std::fs::rename(&partial, &path).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        files.push((format, path));
    }
    Ok(Written { files })
}
