//! Submission intake: a candidate's directory, git repository or archive, made safe to grade.
//!
//! [`Submission::open`] accepts a directory (used in place, never modified), a git repository
//! (a directory with `.git`) or an archive (`.zip`, `.tar`, `.tar.gz`/`.tgz`). Archives are
//! unpacked into a fresh directory under the run's work directory by our own code, which
//! refuses anything that could write outside that directory (absolute paths, `..`, links that
//! leave the tree, hard links, device files, fifos) and stops bombs with [`IntakeLimits`]
//! counted on the bytes actually written. Every submission gets a content digest that does
//! not depend on how it was packed.
//!
//! [`inspect`] then reads bounded, read-only [`RepoFacts`] for the repository checks: the
//! working-tree files and the git history, read with `gix` in isolation. Nothing here runs a
//! program from the submission or the `git` binary, and no symlink inside a submission is ever
//! followed.

mod archive;
mod facts;
mod git;
mod tree;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use facts::{
    CommitFact, FileFact, History, HistoryReader, InspectLimits, NoHistory, RepoFacts, inspect,
};

/// Caps on what a submission may unpack to; they stop zip and tar bombs.
///
/// They apply to archives while unpacking (counting the bytes actually written, never what a
/// header claims) and to directories while hashing them, `.git/` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeLimits {
    /// Files, folders and links. Default 20,000.
    pub max_entries: u64,
    /// Bytes of all files together. Default 512 MiB.
    pub max_total_bytes: u64,
    /// Bytes of any one file. Default 64 MiB.
    pub max_file_bytes: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        Self {
            max_entries: 20_000,
            max_total_bytes: 512 * MIB,
            max_file_bytes: 64 * MIB,
        }
    }
}

const MIB: u64 = 1024 * 1024;

/// The archive formats intake unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveFormat {
    Zip,
    Tar,
    TarGz,
}

impl ArchiveFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveFormat::Zip => "zip",
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::TarGz => "tar.gz",
        }
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the candidate handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmissionKind {
    /// A plain directory, used in place.
    Directory,
    /// A directory with a `.git` directory, used in place.
    GitRepository,
    /// An archive, unpacked under the work directory (it may hold a `.git` too).
    Archive(ArchiveFormat),
}

/// A submission ready to build and inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The path it was opened from, as given (a directory, git repository or archive).
    pub source: PathBuf,
    /// The directory holding the submission's files (the Dockerfile should be here). For an
    /// archive, a directory under the work directory; a single top-level folder is unwrapped.
    pub root: PathBuf,
    /// A display name: the directory's name or the archive's file name without extension.
    pub name: String,
    /// `sha256:…` over the sorted relative paths, modes and contents of the files (symlinks
    /// as their target text), `.git/` excluded: the same tree gives the same digest whether it
    /// came as a directory, a zip or a tarball.
    pub digest: String,
    pub kind: SubmissionKind,
}

/// Why a submission could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The path does not exist or cannot be read.
    #[error(
        "cannot read the submission `{path}`: {source}; pass an existing directory, git repository or .zip/.tar/.tar.gz archive"
    )]
    Unreadable { path: PathBuf, source: io::Error },
    /// A file that is none of the archive formats.
    #[error(
        "the submission `{path}` is not a directory nor a .zip, .tar, .tar.gz or .tgz archive; ask the candidate for one of those"
    )]
    UnsupportedFormat { path: PathBuf },
    /// The archive is damaged, encrypted or uses a feature intake does not read.
    #[error(
        "the archive `{path}` cannot be unpacked: {detail}; ask the candidate to re-create it with zip or tar (no password) and upload it again"
    )]
    Corrupt { path: PathBuf, detail: String },
    /// An entry is unsafe or over a limit; the whole submission is refused.
    #[error("submission refused at `{entry}`: {reason}")]
    Refused { entry: String, reason: String },
    /// Our own file system work failed (work directory not writable, disk full).
    #[error(
        "could not {action} `{path}`: {source}; check that the work directory is writable and has free space"
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl IntakeError {
    /// True for refusals (unsafe entries, limits exceeded): the CLI exits with code 2.
    pub fn is_refusal(&self) -> bool {
        matches!(self, IntakeError::Refused { .. })
    }

    pub(crate) fn refused(entry: impl Into<String>, reason: impl Into<String>) -> Self {
        IntakeError::Refused {
            entry: entry.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        IntakeError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

impl Submission {
    /// Takes in the submission at `path`: a directory is used in place, an archive is unpacked
    /// into a fresh directory under `work_dir` (created if missing; the caller removes it with
    /// the rest of the run's temporary space).
    pub fn open(
        path: &Path,
        limits: &IntakeLimits,
        work_dir: &Path,
    ) -> Result<Submission, IntakeError> {
        // The operator chose `path`, so following a link there is fine; nothing inside is.
        let meta = std::fs::metadata(path).map_err(|source| IntakeError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            let root = path
                .canonicalize()
                .map_err(|source| IntakeError::Unreadable {
                    path: path.to_owned(),
                    source,
                })?;
            let kind = if tree::is_real_dir(&root.join(".git")) {
                SubmissionKind::GitRepository
            } else {
                SubmissionKind::Directory
            };
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "submission".to_owned());
            let digest = tree::digest(&root, limits)?;
            tracing::info!(root = %root.display(), %digest, ?kind, "submission directory taken in");
            return Ok(Submission {
                source: path.to_owned(),
                root,
                name,
                digest,
                kind,
            });
        }
        if !meta.is_file() {
            return Err(IntakeError::UnsupportedFormat {
                path: path.to_owned(),
            });
        }
        let format = archive::detect(path)?;
        let name = archive::stem(path);
        let work_dir = std::fs::create_dir_all(work_dir)
            .and_then(|()| work_dir.canonicalize())
            .map_err(|e| IntakeError::io("create the work directory", work_dir, e))?;
        let dest = tempfile::Builder::new()
            .prefix("submission-")
            .tempdir_in(&work_dir)
            .map_err(|e| IntakeError::io("create a directory in", &work_dir, e))?;
        let root = archive::unpack(path, format, dest.path(), limits)?;
        let digest = tree::digest(&root, limits)?;
        // Success: the unpacked tree now belongs to the run's work directory.
        let _kept = dest.keep();
        tracing::info!(archive = %path.display(), root = %root.display(), %digest, %format, "submission archive unpacked");
        Ok(Submission {
            source: path.to_owned(),
            root,
            name,
            digest,
            kind: SubmissionKind::Archive(format),
        })
    }

    /// The name and digest, as run results record them.
    pub fn to_ref(&self) -> assay_model::SubmissionRef {
        assay_model::SubmissionRef {
            name: self.name.clone(),
            digest: self.digest.clone(),
        }
    }

    /// Up to `cap` bytes of the working-tree file at `relative_path` (`/`-separated), or None
    /// when it is absent, not a regular file, outside the submission, or reached through a
    /// symlink (symlinks are never followed).
    pub fn read_file(&self, relative_path: &str, cap: usize) -> Option<Vec<u8>> {
        tree::read_capped(&self.root, relative_path, cap)
    }
}
