//! Similarity between submissions: which ones share code with each other or with known
//! public solutions, with the matching regions side by side. A flag for a human, never a
//! score: nothing here changes a grade.
//!
//! The pipeline: each submission's source files are tokenised by language with tree-sitter
//! grammars ([`language`], [`tokens`]; Python, JavaScript, TypeScript, Rust, Go, Java),
//! normalised (comments, layout, identifier names and literal values dropped), hashed as
//! k-grams and winnowed into fingerprints with their line ranges ([`winnow`]). An inverted
//! index fingerprint → documents pairs only the documents that share fingerprints; those in
//! many documents of the cohort (boilerplate) or in what the assessment hands out are
//! discounted, as MOSS does ([`compare()`]). [`render`] writes `similarity.csv`, a Markdown
//! section and one escaped HTML page per flagged pair.
//!
//! Pure: no Docker, no async, nothing printed. Reading folders and writing reports are the
//! only I/O.

pub mod compare;
pub mod document;
pub mod language;
pub mod render;
pub mod tokens;
pub mod winnow;

use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

pub use compare::compare;
pub use document::{Document, Origin, ReadError, SourceFile};
pub use language::{Language, Skip};
pub use render::{Written, write_reports};

/// How documents are fingerprinted and compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Tokens per k-gram: matches shorter than this are noise.
    pub k: usize,
    /// Winnowing window: any match of at least `k + window - 1` tokens is found.
    pub window: usize,
    /// Pairs scoring at least this (0–1) are flagged.
    pub threshold: f64,
    /// A fingerprint in more than this share of the documents is common boilerplate…
    pub common_fraction: f64,
    /// …or in more than this many, whichever is larger.
    pub common_min: usize,
    /// A document with fewer own fingerprints is scored as if it had this many, so a
    /// near-empty submission does not match everything.
    pub min_fingerprints: usize,
    /// Larger files are skipped.
    pub max_file_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            k: 15,
            window: 8,
            threshold: 0.4,
            common_fraction: 0.1,
            common_min: 3,
            min_fingerprints: 20,
            max_file_bytes: 1024 * 1024,
        }
    }
}

impl Options {
    /// Fingerprints found in more documents than this are discounted.
    pub fn common_limit(&self, documents: usize) -> usize {
        let share = (self.common_fraction * documents as f64).ceil();
        self.common_min.max(share as usize)
    }
}

/// Reads and fingerprints every `(name, folder)` in parallel, in order.
pub fn read_all(
    sources: &[(String, PathBuf)],
    origin: Origin,
    options: &Options,
) -> Vec<Result<Document, ReadError>> {
    sources
        .par_iter()
        .map_init(tokens::Tokeniser::default, |tokeniser, (name, root)| {
            Document::read_with(name, origin, root, options, tokeniser)
        })
        .collect()
}

/// A document as the report describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentSummary {
    pub name: String,
    pub origin: Origin,
    pub files: usize,
    pub lines: u64,
    /// Distinct fingerprints of its own (neither handed out nor common).
    pub fingerprints: usize,
    pub skipped_files: usize,
}

/// Two documents that share code. `a` is always a submission; `b` a submission or a known
/// solution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// Index into [`Report::documents`].
    pub a: usize,
    pub b: usize,
    /// Shared fingerprints over the smaller document's own fingerprints, 0–1.
    pub score: f64,
    pub shared_fingerprints: usize,
    /// Source lines covered by shared fingerprints (the fewer of the two sides).
    pub shared_lines: usize,
    /// Matched regions, largest first.
    pub regions: Vec<Region>,
    /// At or above the threshold (others are listed only as someone's closest match).
    pub flagged: bool,
}

/// Lines of `a` that match lines of `b`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub a_file: String,
    pub a_first: u32,
    pub a_last: u32,
    pub b_file: String,
    pub b_first: u32,
    pub b_last: u32,
    pub fingerprints: usize,
}

/// A submission's closest match.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Closest {
    /// Index into [`Report::documents`].
    pub other: usize,
    pub score: f64,
    pub shared_lines: usize,
    /// Index into [`Report::pairs`].
    pub pair: usize,
}

/// Everything one comparison found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The cohort's submissions first, then the known solutions.
    pub documents: Vec<DocumentSummary>,
    /// Where each document was read from (for showing matched lines).
    #[serde(skip)]
    pub roots: Vec<PathBuf>,
    /// Flagged pairs and every submission's closest match, highest score first.
    pub pairs: Vec<Pair>,
    /// Per submission of the cohort (same order as `documents`), its closest match.
    pub closest: Vec<Option<Closest>>,
    /// Fingerprints discounted as boilerplate (in more than `common_limit` documents).
    pub common_fingerprints: usize,
    /// Fingerprints dropped because the assessment hands them out.
    pub handed_out_fingerprints: usize,
    pub common_limit: usize,
    pub threshold: f64,
}

impl Report {
    /// The pairs at or above the threshold, highest score first.
    pub fn flagged(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(|p| p.flagged)
    }

    /// The name of document `i`.
    pub fn name(&self, i: usize) -> &str {
        self.documents.get(i).map_or("", |d| d.name.as_str())
    }
}
