//! Similarity across a cohort (`assay similarity`, and `assay batch` unless
//! `--no-similarity`): every submission opened with the runner's intake (folder, git
//! repository or archive; nothing executed), fingerprinted and compared with the others and
//! with known public solutions by `assay-similarity`, the assessment's handed-out files and
//! framework skeletons discounted; then `similarity.csv`, `similarity.md` and the pair pages
//! written. A flag for a human: nothing here touches a score.

use std::path::{Path, PathBuf};

use assay_format::Assessment;
use assay_grader::{Scorecard, SimilarityInfo};
use assay_intake::{IntakeLimits, Submission};
use assay_similarity::{Document, Options, Origin, Report, Written};

use crate::BatchError;

/// The folder, inside an assessment, of starter code handed to candidates (optional).
pub const STARTER: &str = "starter";

/// What to compare and where the reports go.
#[derive(Debug, Clone)]
pub struct SimilarityRequest {
    /// `(name, path)`: the cohort's submissions, each a directory, git repository or archive.
    pub submissions: Vec<(String, PathBuf)>,
    /// A folder of known public solutions: each entry (a directory or an archive) is one,
    /// named by its file name.
    pub known: Option<PathBuf>,
    /// The assessment whose kit (brief, visible checks) and `starter/` code are handed out.
    pub assessment: Option<Assessment>,
    /// Framework skeletons (e.g. what `django-admin startproject` writes): discounted too.
    pub skeletons: Vec<PathBuf>,
    pub out: PathBuf,
    pub options: Options,
    pub intake: IntakeLimits,
}

/// What a comparison found and wrote.
#[derive(Debug, Clone)]
pub struct SimilarityOutcome {
    pub report: Report,
    pub written: Written,
    /// Submissions (or known solutions) intake refused or could not read: `(name, why)`.
    pub unreadable: Vec<(String, String)>,
}

/// Opens, fingerprints and compares everything `req` names; writes the reports into
/// `req.out`. One unreadable submission is listed in `unreadable`, not an error.
pub fn similarity(req: &SimilarityRequest) -> Result<SimilarityOutcome, BatchError> {
    let scratch = tempfile::Builder::new()
        .prefix("assay-similarity-")
        .tempdir()
        .map_err(|source| BatchError::Io {
            action: "create a scratch folder in the temporary directory",
            path: std::env::temp_dir(),
            source,
        })?;
    let mut unreadable = Vec::new();
    let cohort = open_all(
        &req.submissions,
        Origin::Submission,
        req,
        scratch.path(),
        &mut unreadable,
    );
    let known_sources = match &req.known {
        Some(dir) => known_entries(dir)?,
        None => Vec::new(),
    };
    let known = open_all(
        &known_sources,
        Origin::Known,
        req,
        scratch.path(),
        &mut unreadable,
    );
    let handed_out = handed_out(req, scratch.path())?;
    let report = assay_similarity::compare(&cohort, &known, &handed_out, &req.options);
    let written =
        assay_similarity::write_reports(&report, &req.out).map_err(|source| BatchError::Io {
            action: "write the similarity reports into",
            path: req.out.clone(),
            source,
        })?;
    Ok(SimilarityOutcome {
        report,
        written,
        unreadable,
    })
}

/// Takes every `(name, path)` in (archives unpacked under `scratch`) and fingerprints it.
fn open_all(
    sources: &[(String, PathBuf)],
    origin: Origin,
    req: &SimilarityRequest,
    scratch: &Path,
    unreadable: &mut Vec<(String, String)>,
) -> Vec<Document> {
    let mut roots = Vec::with_capacity(sources.len());
    for (name, path) in sources {
        match Submission::open(path, &req.intake, scratch) {
            Ok(s) => roots.push((name.clone(), s.root)),
            Err(e) => unreadable.push((name.clone(), e.to_string())),
        }
    }
    let mut docs = Vec::with_capacity(roots.len());
    for ((name, _), read) in
        roots
            .iter()
            .zip(assay_similarity::read_all(&roots, origin, &req.options))
    {
        match read {
            Ok(d) => docs.push(d),
            Err(e) => unreadable.push((name.clone(), e.to_string())),
        }
    }
    docs
}

/// The entries of a `--known` folder (directories and archives, hidden ones aside), sorted,
/// each named by its file name.
fn known_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, BatchError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BatchError::Io {
        action: "list the known solutions in",
        path: dir.to_owned(),
        source,
    })?;
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, path)| !name.starts_with('.') && (path.is_dir() || path.is_file()))
        .collect();
    found.sort();
    Ok(found)
}

/// What every candidate was given: the assessment's kit and `starter/` folder, and the
/// framework skeletons named.
fn handed_out(req: &SimilarityRequest, scratch: &Path) -> Result<Vec<Document>, BatchError> {
    let mut roots: Vec<(String, PathBuf)> = Vec::new();
    if let Some(a) = &req.assessment {
        let kit = scratch.join("kit");
        assay_format::export_kit(a, &kit).map_err(|source| BatchError::Io {
            action: "export the candidate kit into",
            path: kit.clone(),
            source,
        })?;
        roots.push(("kit".to_owned(), kit));
        let starter = a.dir.join(STARTER);
        if starter.is_dir() {
            roots.push(("starter".to_owned(), starter));
        }
    }
    for (i, s) in req.skeletons.iter().enumerate() {
        roots.push((format!("skeleton-{i}"), s.clone()));
    }
    assay_similarity::read_all(&roots, Origin::Submission, &req.options)
        .into_iter()
        .zip(&roots)
        .map(|(read, (_, path))| {
            read.map_err(|e| BatchError::Io {
                action: "read the handed-out files in",
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })
        })
        .collect()
}

/// The similarity block of the submission named `name` (its closest match), as the
/// scorecard carries it; `None` when `name` was not compared.
pub fn scorecard_block(outcome: &SimilarityOutcome, name: &str) -> Option<SimilarityInfo> {
    let report = &outcome.report;
    let me = report
        .documents
        .iter()
        .position(|d| d.origin == Origin::Submission && d.name == name)?;
    let closest = report.closest.get(me).copied().flatten();
    let Some(c) = closest else {
        return Some(SimilarityInfo {
            closest: None,
            known: false,
            share: 0.0,
            shared_lines: 0,
            flagged: false,
            threshold: report.threshold,
            page: None,
        });
    };
    let flagged = report.pairs.get(c.pair).is_some_and(|p| p.flagged);
    Some(SimilarityInfo {
        closest: Some(report.name(c.other).to_owned()),
        known: report
            .documents
            .get(c.other)
            .is_some_and(|d| d.origin == Origin::Known),
        share: (c.score * 1000.0).round() / 1000.0,
        shared_lines: c.shared_lines as u64,
        flagged,
        threshold: report.threshold,
        page: flagged.then(|| {
            format!(
                "{}/{}",
                assay_similarity::render::PAGES,
                assay_similarity::render::page_name(report, c.pair)
            )
        }),
    })
}

/// Sets the similarity block of the scorecard in `dir` and renders its reports again (the
/// scores are untouched: the block is read by no score).
pub fn annotate(dir: &Path, block: SimilarityInfo) -> Result<(), String> {
    let path = dir.join("scorecard.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut card: Scorecard =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    card.similarity = Some(block);
    assay_report::write_all(&card, dir)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
