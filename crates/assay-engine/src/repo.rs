//! What repository and secrets checks may read of a submission: files and git history,
//! read-only and capped. The runner implements it from its intake (no git process runs).

/// A file of the working tree.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoFile {
    /// Relative path with `/` separators.
    pub path: String,
    pub size: u64,
    /// Tracked by git (false when there is no repository).
    pub tracked: bool,
}

/// A commit on HEAD's history.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoCommit {
    pub id: String,
    pub author: String,
    /// RFC 3339.
    pub time: String,
    pub subject: String,
    pub body: String,
    /// Paths changed by the commit (capped).
    pub files: Vec<String>,
}

/// Read access to the submission for checks.
pub trait RepoView: Send + Sync {
    /// The working tree's files (capped count), `.git/` excluded.
    fn files(&self) -> Vec<RepoFile>;
    /// A working-tree file's bytes, at most `cap` of them; None when absent or unreadable.
    fn read(&self, path: &str, cap: usize) -> Option<Vec<u8>>;
    /// HEAD's commits, newest first; `Err` says why there is no history (no repository,
    /// a broken one).
    fn commits(&self) -> Result<Vec<RepoCommit>, String>;
    /// Every path that ever existed in history (capped).
    fn history_paths(&self) -> Vec<String>;
    /// A blob's bytes at a commit, at most `cap`.
    fn history_blob(&self, commit: &str, path: &str, cap: usize) -> Option<Vec<u8>>;
    /// Whether the built image's user is root (None: unknown).
    fn image_runs_as_root(&self) -> Option<bool>;
}
