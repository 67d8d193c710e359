//! `OUT/batch.json`: the batch's seed (so a resumed batch reuses it), its assessment, and
//! how each submission of the last invocation ended (so `assay compare` reads exactly those).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::BatchError;

/// The file name of the record inside `OUT/`.
pub const RECORD: &str = "batch.json";

/// What `OUT/batch.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub assessment: String,
    pub version: String,
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The submissions of the last invocation, in summary order.
    #[serde(default)]
    pub entries: Vec<RecordEntry>,
}

/// One submission as the record remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEntry {
    pub name: String,
    pub path: PathBuf,
    /// The folder under `OUT/` holding its reports, when it was graded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `graded`, `resumed`, `refused`, `infrastructure` or `interrupted`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The record in `out`, if there is one.
pub fn read(out: &Path) -> Result<Option<Record>, BatchError> {
    let path = out.join(RECORD);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| BatchError::Record {
                path,
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BatchError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Writes `record` into `out` (through a temporary file, so a kill leaves the old one).
pub fn write(out: &Path, record: &Record) -> Result<(), BatchError> {
    let path = out.join(RECORD);
    let text = serde_json::to_string_pretty(record).map_err(|e| BatchError::Record {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let partial = out.join(format!(".{RECORD}.partial"));
    std::fs::write(&partial, text + "\n")
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|source| BatchError::Io {
            action: "write",
            path,
            source,
        })
}

/// Every scorecard of a run folder or a batch folder: the folder's own `scorecard.json`; else
/// those of the submissions `batch.json` lists; else every `*/scorecard.json`. A batch folder
/// whose submissions were all refused gives an empty list (a shard may hold none).
pub fn scorecards_in(dir: &Path) -> Vec<PathBuf> {
    let own = dir.join("scorecard.json");
    if own.is_file() {
        return vec![own];
    }
    if let Ok(Some(record)) = read(dir) {
        let listed: Vec<PathBuf> = record
            .entries
            .iter()
            .filter_map(|e| e.folder.as_ref())
            .map(|f| dir.join(f).join("scorecard.json"))
            .filter(|p| p.is_file())
            .collect();
        if !record.entries.is_empty() {
            return listed;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path().join("scorecard.json"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Whether `dir` is the output folder of `assay batch`.
pub fn is_batch_folder(dir: &Path) -> bool {
    dir.join(RECORD).is_file()
}
