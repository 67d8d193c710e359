//! Bounded, read-only facts about a submission for the repository checks: its files and its
//! git history. A candidate's mistakes (no repository, a broken one) are facts, not errors.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use super::Submission;
use super::git;
use super::tree::{self, NodeKind};

/// Caps on what [`inspect`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectLimits {
    /// Working-tree files listed. Default 20,000.
    pub max_files: usize,
    /// Commits read from HEAD, newest first. Default 500.
    pub max_commits: usize,
    /// Changed paths kept per commit. Default 1,000.
    pub max_files_per_commit: usize,
    /// Distinct paths kept of everything ever added in history. Default 50,000.
    pub max_history_paths: usize,
    /// Bytes kept of an author name, email, subject or body. Default 16 KiB.
    pub max_message_bytes: usize,
    /// Bytes returned of a history blob at most, whatever the caller asks. Default 1 MiB.
    pub max_blob_bytes: usize,
    /// Blobs larger than this are never inflated. Default 64 MiB.
    pub max_object_bytes: u64,
}

impl Default for InspectLimits {
    fn default() -> Self {
        Self {
            max_files: 20_000,
            max_commits: 500,
            max_files_per_commit: 1_000,
            max_history_paths: 50_000,
            max_message_bytes: 16 * 1024,
            max_blob_bytes: 1024 * 1024,
            max_object_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A file of the working tree (`.git/` excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFact {
    /// Relative path with `/` separators (lossy UTF-8).
    pub path: String,
    /// Bytes; for a symlink, the length of its target text.
    pub size: u64,
    /// In git's index (false when there is no repository).
    pub tracked: bool,
    pub executable: bool,
    /// A symlink (never followed).
    pub symlink: bool,
}

/// One commit on HEAD's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFact {
    /// Full hex id.
    pub id: String,
    pub parents: Vec<String>,
    pub author_name: String,
    pub author_email: String,
    /// Author time, RFC 3339 with the author's offset.
    pub time: String,
    /// The first paragraph of the message, on one line.
    pub subject: String,
    /// The rest of the message.
    pub body: String,
    /// Paths added, modified or deleted against the first parent, sorted (capped).
    pub files: Vec<String>,
    pub files_truncated: bool,
}

/// HEAD's history as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Newest first; empty for a repository without commits.
    pub commits: Vec<CommitFact>,
    /// More commits exist than were read.
    pub commits_truncated: bool,
    /// Every file path added or modified by any commit read, sorted: build outputs,
    /// dependency folders or `.env` committed at any point show up here.
    pub paths: Vec<String>,
    pub paths_truncated: bool,
    /// Set when the walk stopped early (a shallow clone, a missing object): what was read
    /// before is kept.
    pub incomplete: Option<String>,
}

/// Why there is no history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoHistory {
    /// No `.git` directory.
    NotARepository,
    /// A `.git` that cannot or may not be read.
    Unreadable { reason: String },
}

impl fmt::Display for NoHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoHistory::NotARepository => {
                f.write_str("the submission is not a git repository (it has no `.git` folder)")
            }
            NoHistory::Unreadable { reason } => {
                write!(
                    f,
                    "the submission's git repository cannot be read: {reason}"
                )
            }
        }
    }
}

/// What the repository checks may know of a submission.
#[derive(Debug, Clone)]
pub struct RepoFacts {
    /// Working-tree files sorted by path (capped), `.git/` excluded.
    pub files: Vec<FileFact>,
    pub files_truncated: bool,
    pub history: Result<History, NoHistory>,
    root: PathBuf,
    limits: InspectLimits,
}

/// Reads the facts of `submission`: never fails, never runs anything, never writes.
pub fn inspect(submission: &Submission, limits: &InspectLimits) -> RepoFacts {
    inspect_root(&submission.root, limits)
}

fn inspect_root(root: &Path, limits: &InspectLimits) -> RepoFacts {
    let repo = git::open_isolated(root, true);
    let tracked: HashSet<Vec<u8>> = match &repo {
        Ok(repo) => match repo.open_index() {
            Ok(index) => index
                .entries()
                .iter()
                .map(|e| e.path(&index).to_vec())
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "no readable git index: no file counts as tracked");
                HashSet::new()
            }
        },
        Err(_) => HashSet::new(),
    };
    let (files, files_truncated) = list_files(root, limits, &tracked);
    let history = repo.and_then(|repo| git::read_history(&repo, limits));
    match &history {
        Ok(h) => tracing::debug!(
            files = files.len(),
            commits = h.commits.len(),
            paths = h.paths.len(),
            "repository facts read"
        ),
        Err(why) => {
            tracing::debug!(files = files.len(), %why, "repository facts read without history")
        }
    }
    RepoFacts {
        files,
        files_truncated,
        history,
        root: root.to_owned(),
        limits: *limits,
    }
}

fn list_files(
    root: &Path,
    limits: &InspectLimits,
    tracked: &HashSet<Vec<u8>>,
) -> (Vec<FileFact>, bool) {
    // Folders count towards the walk's cap too; leave room for them.
    let walk_cap = (limits.max_files as u64).saturating_mul(4);
    let walk = match tree::walk(root, walk_cap, true) {
        Ok(walk) => walk,
        Err(e) => {
            tracing::warn!(error = %e, "the working tree cannot be listed");
            return (Vec::new(), false);
        }
    };
    let mut truncated = walk.truncated_at.is_some();
    let mut files = Vec::new();
    for node in walk.nodes {
        let (size, executable, symlink) = match &node.kind {
            NodeKind::File { executable, size } => (*size, *executable, false),
            NodeKind::Symlink { target } => (target.len() as u64, false, true),
            NodeKind::Dir | NodeKind::Special(_) => continue,
        };
        if files.len() >= limits.max_files {
            truncated = true;
            break;
        }
        files.push(FileFact {
            tracked: tracked.contains(&node.rel),
            path: String::from_utf8_lossy(&node.rel).into_owned(),
            size,
            executable,
            symlink,
        });
    }
    (files, truncated)
}

impl RepoFacts {
    /// The commits read, or why there are none.
    pub fn commits(&self) -> Result<&[CommitFact], &NoHistory> {
        self.history.as_ref().map(|h| h.commits.as_slice())
    }

    /// Up to `cap` bytes (and at most [`InspectLimits::max_blob_bytes`]) of the file at `path`
    /// as committed in `commit` (a full hex id from [`CommitFact::id`]); None when absent.
    /// Opens the repository afresh (isolated) for each call: use [`RepoFacts::history_reader`]
    /// to read many.
    pub fn history_blob(&self, commit: &str, path: &str, cap: usize) -> Option<Vec<u8>> {
        self.history_reader()?.blob(commit, path, cap)
    }

    /// Like [`RepoFacts::history_blob`], decoded lossily as UTF-8.
    pub fn blob_text(&self, commit: &str, path: &str, cap: usize) -> Option<String> {
        self.history_blob(commit, path, cap)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// A reader of history blobs holding the repository open (not `Send`: make one per
    /// thread); None without a readable repository.
    pub fn history_reader(&self) -> Option<HistoryReader> {
        self.history.as_ref().ok()?;
        match git::open_isolated(&self.root, false) {
            Ok(repo) => Some(HistoryReader {
                repo,
                limits: self.limits,
            }),
            Err(why) => {
                tracing::debug!(%why, "the repository cannot be reopened for blobs");
                None
            }
        }
    }
}

/// Reads blobs of a submission's history; see [`RepoFacts::history_reader`].
#[derive(Debug)]
pub struct HistoryReader {
    repo: gix::Repository,
    limits: InspectLimits,
}

impl HistoryReader {
    /// Up to `cap` bytes (and at most [`InspectLimits::max_blob_bytes`]) of the file at `path`
    /// in `commit`; None when absent, not a file, or too large to inflate.
    pub fn blob(&self, commit: &str, path: &str, cap: usize) -> Option<Vec<u8>> {
        git::blob_at(
            &self.repo,
            commit,
            path,
            cap.min(self.limits.max_blob_bytes),
            self.limits.max_object_bytes,
        )
    }
}
