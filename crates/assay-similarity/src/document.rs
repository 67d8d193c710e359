//! One submission (or known solution, or handed-out kit) read from its folder: the source
//! files worth fingerprinting and their winnowed fingerprints with line ranges.

use std::path::{Path, PathBuf};

use crate::Options;
use crate::language::{Language, Skip, classify_name, is_skipped_dir, looks_generated};
use crate::tokens::Tokeniser;
use crate::winnow::{Fingerprint, fingerprints};

/// Where a document comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A submission of the cohort.
    Submission,
    /// A known public solution (`--known DIR`).
    Known,
}

/// A source file of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the document's root, `/`-separated.
    pub path: String,
    pub language: Language,
    pub lines: u32,
}

/// A submission's fingerprints.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub origin: Origin,
    /// The folder it was read from (the pair pages read the matched lines from here).
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    /// Every selected fingerprint, file by file, in order.
    pub fingerprints: Vec<Fingerprint>,
    /// Files left out, and why (path, reason).
    pub skipped: Vec<(String, Skip)>,
}

/// Why a folder could not be read at all (an unreadable file inside is skipped instead).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the folder `{}`: {source}; pass a directory, git repository or archive that exists", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Document {
    /// Reads the source files under `root` (symlinks are never followed; skipped folders,
    /// lockfiles, generated, binary and over-sized files are left out) and fingerprints them.
    pub fn read(
        name: &str,
        origin: Origin,
        root: &Path,
        options: &Options,
    ) -> Result<Document, ReadError> {
        let mut tokeniser = Tokeniser::default();
        Document::read_with(name, origin, root, options, &mut tokeniser)
    }

    pub(crate) fn read_with(
        name: &str,
        origin: Origin,
        root: &Path,
        options: &Options,
        tokeniser: &mut Tokeniser,
    ) -> Result<Document, ReadError> {
        let mut doc = Document {
            name: name.to_owned(),
            origin,
            root: root.to_owned(),
            files: Vec::new(),
            fingerprints: Vec::new(),
            skipped: Vec::new(),
        };
        let mut paths = Vec::new();
        list_files(root, root, &mut paths).map_err(|source| ReadError::Unreadable {
            path: root.to_owned(),
            source,
        })?;
        paths.sort();
        for relative in paths {
            let language = match classify_name(Path::new(&relative)) {
                Ok(l) => l,
                Err(why) => {
                    doc.skipped.push((relative, why));
                    continue;
                }
            };
            let text = match read_source(&root.join(&relative), options.max_file_bytes) {
                Ok(t) => t,
                Err(why) => {
                    doc.skipped.push((relative, why));
                    continue;
                }
            };
            if looks_generated(&text) {
                doc.skipped.push((relative, Skip::Generated));
                continue;
            }
            let Some(tokens) = tokeniser.tokens(language, &text) else {
                doc.skipped.push((relative, Skip::NotSource));
                continue;
            };
            let file = u32::try_from(doc.files.len()).unwrap_or(u32::MAX);
            doc.fingerprints
                .extend(fingerprints(&tokens, file, options.k, options.window));
            doc.files.push(SourceFile {
                path: relative,
                language,
                lines: u32::try_from(text.lines().count()).unwrap_or(u32::MAX),
            });
        }
        Ok(doc)
    }

    /// Lines of source fingerprinted.
    pub fn lines(&self) -> u64 {
        self.files.iter().map(|f| u64::from(f.lines)).sum()
    }

    /// The path of file `index`.
    pub fn file_path(&self, index: u32) -> &str {
        self.files
            .get(index as usize)
            .map_or("", |f| f.path.as_str())
    }
}

/// Every regular file under `dir`, relative to `root`, skipping the folders that hold no
/// candidate source and never following a symlink.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            let name = entry.file_name();
            if !is_skipped_dir(&name.to_string_lossy()) {
                // An unreadable sub-folder is skipped, not fatal.
                let _ = list_files(root, &path, out);
            }
        } else if kind.is_file()
            && let Ok(relative) = path.strip_prefix(root)
        {
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// The file as UTF-8 text, or why it is not source.
fn read_source(path: &Path, cap: u64) -> Result<String, Skip> {
    let meta = std::fs::symlink_metadata(path).map_err(|_| Skip::Binary)?;
    if meta.len() > cap {
        return Err(Skip::TooLarge);
    }
    let bytes = std::fs::read(path).map_err(|_| Skip::Binary)?;
    if bytes.contains(&0) {
        return Err(Skip::Binary);
    }
    String::from_utf8(bytes).map_err(|_| Skip::Binary)
}

/// Lines `first..=last` (1-based) of `path` under `root`, for showing a match; empty when
/// the file can no longer be read.
pub fn read_lines(root: &Path, path: &str, first: u32, last: u32) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(path)) else {
        return Vec::new();
    };
    text.lines()
        .skip(first.saturating_sub(1) as usize)
        .take((last.saturating_sub(first) + 1) as usize)
        .map(str::to_owned)
        .collect()
}
