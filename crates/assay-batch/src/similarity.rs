//! Similarity across a cohort (`assay similarity`, and `assay batch` unless
//! `--no-similarity`): every submission opened with the runner's intake (folder, git
//! repository or archive; nothing executed; a batch hands over the trees it already took in),
//! fingerprinted and compared with the others and with known public solutions by
//! `assay-similarity`, the assessment's handed-out files and framework skeletons discounted;
//! then `similarity.csv`, `similarity.md` and the pair pages written. A flag for a human:
//! nothing here touches a score.

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
    compare(req, Cohort::ToOpen(&req.submissions))
}

/// As [`similarity`], for a cohort the batch has already taken in: `trees` are
/// `(name, root)`, each submission's unpacked tree, fingerprinted as it is (so a batch opens
/// each submission once); `req.submissions` is not read.
pub(crate) fn similarity_of_opened(
    req: &SimilarityRequest,
    trees: &[(String, PathBuf)],
) -> Result<SimilarityOutcome, BatchError> {
    compare(req, Cohort::Opened(trees))
}

/// The submissions a comparison reads.
enum Cohort<'a> {
    /// `(name, path)`: directories, git repositories or archives, each opened with intake.
    ToOpen(&'a [(String, PathBuf)]),
    /// `(name, root)`: trees already taken in, read as they are.
    Opened(&'a [(String, PathBuf)]),
}

fn compare(req: &SimilarityRequest, cohort: Cohort<'_>) -> Result<SimilarityOutcome, BatchError> {
    let scratch = tempfile::Builder::new()
        .prefix("assay-similarity-")
        .tempdir()
        .map_err(|source| BatchError::Io {
            action: "create a scratch folder in the temporary directory",
            path: std::env::temp_dir(),
            source,
        })?;
    let mut unreadable = Vec::new();
    let cohort_roots = match cohort {
        Cohort::ToOpen(sources) => open_all(sources, req, scratch.path(), &mut unreadable),
        Cohort::Opened(trees) => trees.to_vec(),
    };
    let cohort = read_all(&cohort_roots, Origin::Submission, req, &mut unreadable);
    let known_sources = match &req.known {
        Some(dir) => known_entries(dir)?,
        None => Vec::new(),
    };
    let known_roots = open_all(&known_sources, req, scratch.path(), &mut unreadable);
    let known = read_all(&known_roots, Origin::Known, req, &mut unreadable);
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

/// Takes every `(name, path)` in (archives unpacked under `scratch`): `(name, root)` of each
/// one intake accepted.
fn open_all(
    sources: &[(String, PathBuf)],
    req: &SimilarityRequest,
    scratch: &Path,
    unreadable: &mut Vec<(String, String)>,
) -> Vec<(String, PathBuf)> {
    let mut roots = Vec::with_capacity(sources.len());
    for (name, path) in sources {
        match Submission::open(path, &req.intake, scratch) {
            Ok(s) => roots.push((name.clone(), s.root)),
            Err(e) => unreadable.push((name.clone(), e.to_string())),
        }
    }
    roots
}

/// Fingerprints every `(name, root)`.
fn read_all(
    roots: &[(String, PathBuf)],
    origin: Origin,
    req: &SimilarityRequest,
    unreadable: &mut Vec<(String, String)>,
) -> Vec<Document> {
    let mut docs = Vec::with_capacity(roots.len());
    for ((name, _), read) in
        roots
            .iter()
            .zip(assay_similarity::read_all(roots, origin, &req.options))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A Python module of `n` functions; `salt` changes every name and constant.
    fn module(salt: &str, n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "def {salt}_handler_{i}(request, store):\n    \
                     items = store.get('{salt}{i}', [])\n    \
                     total = sum(x * {i} for x in items if x > {i})\n    \
                     if total > 100:\n        return {{'status': 400, 'total': total}}\n    \
                     store['{salt}{i}'] = items + [total]\n    \
                     return {{'status': 200, 'items': len(items)}}\n\n"
                )
            })
            .collect()
    }

    /// Code of another shape altogether.
    fn other_module(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "class Queue{i}:\n    \
                     def __init__(self):\n        self.jobs = {{}}\n        self.seen = set()\n\n    \
                     def push(self, key, job):\n        while key in self.seen:\n            \
                     key = key + '-{i}'\n        self.seen.add(key)\n        \
                     self.jobs[key] = job\n        return key\n\n"
                )
            })
            .collect()
    }

    fn submission(dir: &Path, name: &str, code: &str) -> (String, PathBuf) {
        let root = dir.join(name);
        std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("app.py"), code).unwrap_or_else(|e| panic!("{e}"));
        (name.to_owned(), root)
    }

    fn request(
        out: PathBuf,
        submissions: Vec<(String, PathBuf)>,
        intake: IntakeLimits,
    ) -> SimilarityRequest {
        SimilarityRequest {
            submissions,
            known: None,
            assessment: None,
            skeletons: Vec::new(),
            out,
            options: Options::default(),
            intake,
        }
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The batch's trees are compared as they are, never taken in again (intake limits no
    /// submission meets do not refuse them), and give the reports `assay similarity` gives
    /// for the same submissions opened from their paths.
    #[test]
    fn the_trees_a_batch_opened_compare_as_their_paths_do() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path();
        let shared = module("ledger", 12);
        let cohort = vec![
            submission(dir, "alice", &shared),
            submission(dir, "bob", &shared),
            submission(dir, "carol", &other_module(12)),
        ];
        let limits = IntakeLimits::default();
        let by_path = similarity(&request(dir.join("by-path"), cohort.clone(), limits))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(by_path.unreadable.is_empty(), "{:?}", by_path.unreadable);
        assert_eq!(by_path.report.flagged().count(), 1, "alice and bob");

        let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let trees: Vec<(String, PathBuf)> = cohort
            .iter()
            .map(|(name, path)| {
                let s = Submission::open(path, &limits, scratch.path())
                    .unwrap_or_else(|e| panic!("{e}"));
                (name.clone(), s.root)
            })
            .collect();
        let refusing = IntakeLimits {
            max_entries: 0,
            max_total_bytes: 0,
            max_file_bytes: 0,
        };
        let reopened = similarity(&request(dir.join("refused"), cohort.clone(), refusing))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reopened.unreadable.len(),
            3,
            "intake refuses each from its path"
        );

        let by_tree =
            similarity_of_opened(&request(dir.join("by-tree"), Vec::new(), refusing), &trees)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(by_tree.unreadable.is_empty(), "{:?}", by_tree.unreadable);
        assert_eq!(read(&by_tree.written.csv), read(&by_path.written.csv));
        assert_eq!(
            read(&by_tree.written.markdown),
            read(&by_path.written.markdown)
        );
        assert_eq!(by_tree.written.pages.len(), by_path.written.pages.len());
        for (a, b) in by_tree.written.pages.iter().zip(&by_path.written.pages) {
            assert_eq!(read(a), read(b));
        }
    }
}
