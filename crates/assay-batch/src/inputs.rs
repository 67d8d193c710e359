//! Which submissions a batch grades: expanding folders of submissions and list files, taking
//! each in once for its name and content digest, and the deterministic `--shard K/N` split.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_intake::{IntakeError, IntakeLimits, Submission};

use crate::{BatchError, Outcome};

/// One submission found among the inputs, taken in far enough to know its content digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// As given (or found in a folder of submissions).
    pub path: PathBuf,
    /// The display name intake gives it (a directory's name, an archive's stem).
    pub name: String,
    /// `sha256:…` of the content, or why intake refused it.
    pub digest: Result<String, Outcome>,
    /// The submission as taken in, handed to the run as it is (never unpacked twice);
    /// `None` when intake refused it.
    pub opened: Option<Opened>,
}

/// A submission taken in, with the scratch folder holding an archive's files (removed when
/// the last copy of the candidate is dropped).
#[derive(Debug, Clone)]
pub struct Opened {
    pub submission: Submission,
    _scratch: Arc<tempfile::TempDir>,
}

impl PartialEq for Opened {
    fn eq(&self, other: &Self) -> bool {
        self.submission == other.submission
    }
}

impl Candidate {
    /// `<name>-<first 12 hex digits of the digest>`: the submission's folder under `OUT/`.
    pub fn folder(&self) -> Option<String> {
        let digest = self.digest.as_ref().ok()?;
        Some(folder_name(&self.name, digest))
    }

    /// The key shards are split by: name, then digest (refused submissions sort first).
    fn sort_key(&self) -> (&str, &str) {
        (self.name.as_str(), self.digest.as_deref().map_or("", |d| d))
    }
}

/// `<name>-<digest12>` with the name made safe for a file name.
pub fn folder_name(name: &str, digest: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe = if safe.is_empty() { "submission" } else { safe };
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let short: String = hex.chars().take(12).collect();
    format!("{safe}-{short}")
}

/// The submissions named by `inputs`. A directory holding `dockerfile` or a `.git`, or holding
/// any regular file that is not an archive, is one submission; an archive is one; any other
/// directory (only directories and archives inside, or nothing) is a folder of submissions,
/// each entry one submission. Hidden entries of such a folder are ignored. Duplicates are
/// dropped.
pub fn expand(inputs: &[PathBuf], dockerfile: &str) -> Result<Vec<PathBuf>, BatchError> {
    let mut found: Vec<PathBuf> = Vec::new();
    for input in inputs {
        if input.is_dir() && is_folder_of_submissions(input, dockerfile)? {
            let mut inner: Vec<PathBuf> = list_dir(input)?
                .into_iter()
                .filter(|p| !is_hidden(p))
                .filter(|p| p.is_dir() || is_archive(p))
                .collect();
            inner.sort();
            found.extend(inner);
        } else {
            found.push(input.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    Ok(found)
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, BatchError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BatchError::Io {
        action: "list",
        path: dir.to_owned(),
        source,
    })?;
    Ok(entries.filter_map(Result::ok).map(|e| e.path()).collect())
}

fn is_folder_of_submissions(dir: &Path, dockerfile: &str) -> Result<bool, BatchError> {
    if dir.join(dockerfile).exists() || dir.join(".git").exists() {
        return Ok(false);
    }
    let entries: Vec<PathBuf> = list_dir(dir)?
        .into_iter()
        .filter(|p| !is_hidden(p))
        .collect();
    // An empty folder is an empty folder of submissions (nothing to grade), not a submission.
    Ok(entries.iter().all(|p| p.is_dir() || is_archive(p)))
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn is_archive(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    p.is_file()
        && [".zip", ".tar", ".tar.gz", ".tgz"]
            .iter()
            .any(|e| name.ends_with(e))
}

/// Reads a list file: one path per line, `#` starts a comment, blank lines are skipped;
/// relative paths are relative to the list file's folder.
pub fn read_list(path: &Path) -> Result<Vec<PathBuf>, BatchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BatchError::Io {
        action: "read the list",
        path: path.to_owned(),
        source,
    })?;
    Ok(parse_list(&text, path.parent().unwrap_or(Path::new("."))))
}

fn parse_list(text: &str, base: &Path) -> Vec<PathBuf> {
    text.lines()
        .map(|l| l.split_once('#').map_or(l, |(before, _)| before).trim())
        .filter(|l| !l.is_empty())
        .map(|l| base.join(l))
        .collect()
}

/// Takes `path` in (archives into a scratch folder kept with the candidate) for its name and
/// digest; the run is handed the same opened submission.
pub fn take_in(path: &Path, limits: &IntakeLimits) -> Candidate {
    let fallback = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let scratch = match tempfile::Builder::new().prefix("assay-batch-").tempdir() {
        Ok(s) => s,
        Err(e) => {
            return Candidate {
                path: path.to_owned(),
                name: fallback,
                digest: Err(Outcome::Infrastructure {
                    reason: format!(
                        "could not create a scratch folder: {e}; check that the temporary directory is writable"
                    ),
                }),
                opened: None,
            };
        }
    };
    match Submission::open(path, limits, scratch.path()) {
        Ok(s) => Candidate {
            path: path.to_owned(),
            name: s.name.clone(),
            digest: Ok(s.digest.clone()),
            opened: Some(Opened {
                submission: s,
                _scratch: Arc::new(scratch),
            }),
        },
        Err(e) => Candidate {
            path: path.to_owned(),
            name: fallback,
            digest: Err(refusal_or_infrastructure(&e)),
            opened: None,
        },
    }
}

/// An intake error as an outcome: our own I/O trouble is infrastructure, the rest refusals
/// (the same split as `RunError::is_refusal`).
fn refusal_or_infrastructure(e: &IntakeError) -> Outcome {
    match e {
        IntakeError::Io { .. } => Outcome::Infrastructure {
            reason: e.to_string(),
        },
        _ => Outcome::Refused {
            reason: e.to_string(),
        },
    }
}

/// Sorts `candidates` by name then digest, drops exact duplicates (same name and content),
/// and keeps the `k`-th of every `n` (1-based) when sharding. Every worker of a CI matrix
/// given the same inputs computes the same split, whatever order the inputs came in.
pub fn select(mut candidates: Vec<Candidate>, shard: Option<(usize, usize)>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.path.cmp(&b.path))
    });
    candidates.dedup_by(|b, a| a.digest.is_ok() && a.sort_key() == b.sort_key());
    match shard {
        Some((k, n)) if n > 0 => candidates
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k.saturating_sub(1))
            .map(|(_, c)| c)
            .collect(),
        _ => candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(name: &str, digest: &str) -> Candidate {
        Candidate {
            path: PathBuf::from(format!("/in/{name}")),
            name: name.to_owned(),
            digest: Ok(format!("sha256:{digest}")),
            opened: None,
        }
    }

    #[test]
    fn shards_partition_the_cohort_whatever_the_input_order() {
        let cohort: Vec<Candidate> = (0..50)
            .map(|i| candidate(&format!("sub-{i:02}"), &format!("{i:064x}")))
            .collect();
        let mut reversed = cohort.clone();
        reversed.reverse();
        let n = 3;
        let mut union: Vec<String> = Vec::new();
        for k in 1..=n {
            let part = select(cohort.clone(), Some((k, n)));
            let same = select(reversed.clone(), Some((k, n)));
            assert_eq!(part, same, "shard {k}/{n} does not depend on input order");
            assert!(
                (16..=17).contains(&part.len()),
                "even shards: {}",
                part.len()
            );
            union.extend(part.into_iter().map(|c| c.name));
        }
        union.sort();
        let all: Vec<String> = cohort.iter().map(|c| c.name.clone()).collect();
        assert_eq!(union, all, "every submission lands in exactly one shard");
    }

    #[test]
    fn identical_submissions_are_graded_once_and_refusals_kept() {
        let mut refused = candidate("evil.zip", "");
        refused.digest = Err(Outcome::Refused {
            reason: "..".into(),
        });
        let list = vec![
            candidate("alice", "aa"),
            candidate("alice", "aa"),
            candidate("alice", "bb"),
            refused.clone(),
            refused,
        ];
        let names: Vec<(String, bool)> = select(list, None)
            .into_iter()
            .map(|c| (c.name, c.digest.is_ok()))
            .collect();
        assert_eq!(
            names,
            [
                ("alice".to_owned(), true),
                ("alice".to_owned(), true),
                ("evil.zip".to_owned(), false),
                ("evil.zip".to_owned(), false)
            ]
        );
    }

    #[test]
    fn folder_names_carry_twelve_digits_of_the_digest() {
        assert_eq!(
            folder_name("my repo", "sha256:0123456789abcdef"),
            "my_repo-0123456789ab"
        );
        assert_eq!(folder_name("..", "sha256:ff"), "submission-ff");
    }

    #[test]
    fn list_files_skip_comments_and_blank_lines() {
        let text = "# cohort\nalice.zip\n\n  bob  # late\n/abs/carol\n";
        assert_eq!(
            parse_list(text, Path::new("/lists")),
            [
                PathBuf::from("/lists/alice.zip"),
                PathBuf::from("/lists/bob"),
                PathBuf::from("/abs/carol")
            ]
        );
    }

    #[test]
    fn a_folder_of_submissions_holds_only_folders_and_archives() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let cohort = dir.path().join("cohort");
        std::fs::create_dir_all(cohort.join("alice")).expect("alice");
        std::fs::create_dir_all(cohort.join(".cache")).expect("hidden");
        std::fs::write(cohort.join("bob.zip"), b"PK").expect("bob");
        let lone = dir.path().join("lone");
        std::fs::create_dir_all(lone.join("src")).expect("lone/src");
        std::fs::write(lone.join("main.py"), b"print()").expect("lone/main.py");
        let found = expand(&[cohort.clone(), lone.clone()], "Dockerfile").expect("expands");
        assert_eq!(found, [cohort.join("alice"), cohort.join("bob.zip"), lone]);
    }
}
