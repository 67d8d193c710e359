//! Batch grading for CI: many submissions graded with bounded parallelism, each isolated in
//! its own output folder, resumable (same content digest, assessment version and seed is
//! skipped), split across CI workers with `--shard K/N`, summarised as leaderboards and
//! per-check cohort statistics. One submission's failure never stops the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_format::Assessment;
use assay_grader::Scorecard;
use assay_model::Status;
use assay_runner::intake::{IntakeLimits, Submission};
use assay_runner::pipeline::{RunEvent, RunRequest, new_run_id, random_seed, run as run_one};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub assessment: Assessment,
    /// Submissions, folders of submissions, or both.
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub jobs: usize,
    /// `(k, n)`: this worker grades the k-th of n parts (1-based).
    pub shard: Option<(usize, usize)>,
    /// `None`: the seed stored in `OUT/batch.json`, else a fresh one (stored).
    pub seed: Option<u64>,
    pub profile: Option<String>,
    pub test_mode: bool,
    pub runtime: Option<String>,
    pub project_root: PathBuf,
}

/// Why a batch could not run at all (one submission's trouble is an [`Entry`] instead).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("could not {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no submissions found in {0}; pass directories, archives, or folders holding them")]
    Empty(String),
    #[error("`OUT/batch.json` in {0} is not a batch record; choose another --out folder")]
    Record(String),
    #[error("the async runtime failed: {0}")]
    Runtime(String),
}

/// How one submission ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Graded now.
    Graded { overall: f64, passed: bool },
    /// Already graded for the same digest, assessment version and seed.
    Resumed { overall: f64, passed: bool },
    /// Refused (unsafe archive, unreadable): a usage problem, exit code 2.
    Refused { reason: String },
    /// We could not grade it (Docker, images): exit code 3.
    Infrastructure { reason: String },
}

/// One submission of the batch.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub dir: PathBuf,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Pass rate of one check across the graded submissions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckCohort {
    pub id: String,
    pub suite: String,
    pub passed: usize,
    pub graded: usize,
    /// `nobody passes` (a broken test?) or `everybody passes` (a useless one?).
    pub flag: Option<&'static str>,
}

/// The batch's result: every entry, the files written.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    pub seed: u64,
    pub entries: Vec<Entry>,
    pub cohort: Vec<CheckCohort>,
    pub summary_md: PathBuf,
    pub summary_csv: PathBuf,
    pub checks_csv: PathBuf,
}

impl BatchReport {
    /// 0 when every submission was graded; 2 when one was refused; 3 when we failed one.
    /// Candidates' scores never change it.
    pub fn exit_code(&self) -> u8 {
        let mut code = 0;
        for e in &self.entries {
            code = code.max(match e.outcome {
                Outcome::Graded { .. } | Outcome::Resumed { .. } => 0,
                Outcome::Refused { .. } => 2,
                Outcome::Infrastructure { .. } => 3,
            });
        }
        code
    }
}

/// What `OUT/batch.json` remembers so a resumed batch (or another shard) reuses the seed.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    assessment: String,
    version: String,
    seed: u64,
}

/// The submissions named by `inputs`: a directory with a Dockerfile (or a `.git`) is one
/// submission; an archive is one; any other directory holds submissions (one per entry).
pub fn expand(inputs: &[PathBuf], dockerfile: &str) -> Result<Vec<PathBuf>, BatchError> {
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() && !input.join(dockerfile).exists() && !input.join(".git").exists() {
            let entries = std::fs::read_dir(input).map_err(|source| BatchError::Io {
                action: "list",
                path: input.clone(),
                source,
            })?;
            let mut inner: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir() || is_archive(p))
                .collect();
            inner.sort();
            found.extend(inner);
        } else {
            found.push(input.clone());
        }
    }
    found.dedup();
    Ok(found)
}

/// Reads a list file: one path per line, `#` comments, relative to the file's folder.
pub fn read_list(path: &Path) -> Result<Vec<PathBuf>, BatchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BatchError::Io {
        action: "read the list",
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| base.join(l))
        .collect())
}

fn is_archive(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [".zip", ".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Whether `path` falls in shard `k` of `n`: by a hash of its file name, so every worker
/// of a CI matrix splits the same list the same way.
pub fn in_shard(path: &Path, k: usize, n: usize) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(bytes) % n as u64) as usize == k - 1
}

/// A folder name for a submission: its name, made safe, plus a short hash of its path so
/// two `submission.zip` from different folders do not collide.
fn folder_name(path: &Path) -> String {
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let full = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let tag = hex::encode(&Sha256::digest(full.to_string_lossy().as_bytes())[..4]);
    format!("{name}-{tag}")
}

/// Grades every submission of `req`, `req.jobs` at a time; `progress` hears each line.
pub async fn run(
    req: &BatchRequest,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<BatchReport, BatchError> {
    let out = &req.out;
    std::fs::create_dir_all(out).map_err(|source| BatchError::Io {
        action: "create",
        path: out.clone(),
        source,
    })?;
    let file = &req.assessment.file;
    let seed = resolve_seed(req)?;
    let mut subs = expand(&req.inputs, &file.submission.dockerfile)?;
    if let Some((k, n)) = req.shard {
        subs.retain(|p| in_shard(p, k, n));
    }
    if subs.is_empty() && req.shard.is_none() {
        return Err(BatchError::Empty(
            req.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    progress(&format!(
        "{} submission(s), {} at a time, seed {seed}",
        subs.len(),
        req.jobs.max(1)
    ));

    let gate = Arc::new(tokio::sync::Semaphore::new(req.jobs.max(1)));
    let req = Arc::new(req.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for (i, path) in subs.into_iter().enumerate() {
        let gate = gate.clone();
        let req = req.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, grade_one(&req, &path, seed).await)
        });
    }
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, entry) = joined.map_err(|e| BatchError::Runtime(e.to_string()))?;
        progress(&describe(&entry));
        entries.push((i, entry));
    }
    entries.sort_by_key(|(i, _)| *i);
    let entries: Vec<Entry> = entries.into_iter().map(|(_, e)| e).collect();
    summarise(out, seed, entries)
}

fn describe(e: &Entry) -> String {
    match &e.outcome {
        Outcome::Graded { overall, passed } => {
            format!(
                "{}: {overall:.1} {}",
                e.name,
                if *passed {
                    "passed"
                } else {
                    "below the pass mark"
                }
            )
        }
        Outcome::Resumed { overall, .. } => format!("{}: {overall:.1} (already graded)", e.name),
        Outcome::Refused { reason } => format!("{}: refused: {reason}", e.name),
        Outcome::Infrastructure { reason } => format!("{}: not graded: {reason}", e.name),
    }
}

fn resolve_seed(req: &BatchRequest) -> Result<u64, BatchError> {
    let path = req.out.join("batch.json");
    let file = &req.assessment.file;
    let stored: Option<Record> = match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .map_err(|_| BatchError::Record(req.out.display().to_string()))?,
        ),
        Err(_) => None,
    };
    let seed = req
        .seed
        .or(stored.map(|r| r.seed))
        .unwrap_or_else(random_seed);
    let record = Record {
        assessment: file.id.value.clone(),
        version: file.version.clone(),
        seed,
    };
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    std::fs::write(&path, text).map_err(|source| BatchError::Io {
        action: "write",
        path,
        source,
    })?;
    Ok(seed)
}

/// One submission, isolated in its own folder; never an `Err`.
async fn grade_one(req: &BatchRequest, path: &Path, seed: u64) -> Entry {
    let name = folder_name(path);
    let dir = req.out.join(&name);
    let entry = |outcome| Entry {
        name: name.clone(),
        path: path.to_owned(),
        dir: dir.clone(),
        outcome,
    };
    // Resume: the same content, assessment version and seed were graded already.
    if let Some(card) = previous(&dir) {
        let digest = digest_of(path);
        if card.seed == seed
            && card.assessment.version == req.assessment.file.version
            && digest.as_deref() == Some(card.submission.digest.as_str())
        {
            return entry(Outcome::Resumed {
                overall: card.overall,
                passed: card.passed,
            });
        }
    }
    let request = RunRequest {
        assessment: req.assessment.clone(),
        submission: path.to_owned(),
        project_root: req.project_root.clone(),
        seed,
        test_mode: req.test_mode,
        runtime: req.runtime.clone(),
        only: None,
        run_id: new_run_id(),
    };
    let quiet = |_: RunEvent| {};
    let results = match run_one(&request, &quiet).await {
        Ok(r) => r,
        Err(e) if e.is_refusal() => {
            return entry(Outcome::Refused {
                reason: e.to_string(),
            });
        }
        Err(e) => {
            return entry(Outcome::Infrastructure {
                reason: e.to_string(),
            });
        }
    };
    let plan = req.assessment.grading_plan();
    let card = match assay_grader::grade(&results, &plan, req.profile.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            return entry(Outcome::Infrastructure {
                reason: format!("could not grade: {e}"),
            });
        }
    };
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            serde_json::to_vec_pretty(&results)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    std::fs::write(dir.join("run-results.json"), b).map_err(|e| e.to_string())
                })
        })
        .and_then(|()| {
            assay_report::write_all(&card, &dir)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    match written {
        Ok(()) => entry(Outcome::Graded {
            overall: card.overall,
            passed: card.passed,
        }),
        Err(e) => entry(Outcome::Infrastructure {
            reason: format!("could not write the reports: {e}"),
        }),
    }
}

fn previous(dir: &Path) -> Option<Scorecard> {
    let text = std::fs::read_to_string(dir.join("scorecard.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The content digest intake would compute (archives are unpacked into a scratch folder).
fn digest_of(path: &Path) -> Option<String> {
    let scratch = tempfile::tempdir().ok()?;
    Submission::open(path, &IntakeLimits::default(), scratch.path())
        .ok()
        .map(|s| s.digest)
}

/// Scorecards of every graded entry, read back from their folders.
fn cards(entries: &[Entry]) -> Vec<Scorecard> {
    entries
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Graded { .. } | Outcome::Resumed { .. }))
        .filter_map(|e| previous(&e.dir))
        .collect()
}

/// Pass rate per check across `cards`, flagging checks nobody or everybody passes.
pub fn cohort(cards: &[Scorecard]) -> Vec<CheckCohort> {
    let mut by_id: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for card in cards {
        for c in &card.checks {
            let key = (c.suite.clone(), c.id.clone());
            let slot = by_id.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                (0, 0)
            });
            slot.1 += 1;
            if c.status == Status::Pass {
                slot.0 += 1;
            }
        }
    }
    order
        .into_iter()
        .map(|key| {
            let (passed, graded) = by_id.get(&key).copied().unwrap_or_default();
            let flag = if graded >= 2 && passed == 0 {
                Some("nobody passes: a broken test?")
            } else if graded >= 2 && passed == graded {
                Some("everybody passes: does it tell candidates apart?")
            } else {
                None
            };
            CheckCohort {
                suite: key.0,
                id: key.1,
                passed,
                graded,
                flag,
            }
        })
        .collect()
}

fn summarise(out: &Path, seed: u64, entries: Vec<Entry>) -> Result<BatchReport, BatchError> {
    let cards = cards(&entries);
    let cohort = cohort(&cards);
    let write = |name: &str, text: String| -> Result<PathBuf, BatchError> {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| BatchError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    let (table, csv) = match assay_report::compare(&cards) {
        Ok(c) => (c.render_table(), c.render_csv()),
        Err(_) => ("(no submission was graded)\n".to_owned(), String::new()),
    };
    let mut md = String::from("# Batch summary\n\n");
    md.push_str(&format!(
        "Seed {seed}; {} submission(s).\n\n## Leaderboard\n\n```\n{table}```\n",
        entries.len()
    ));
    let troubled: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.outcome,
                Outcome::Refused { .. } | Outcome::Infrastructure { .. }
            )
        })
        .collect();
    if !troubled.is_empty() {
        md.push_str("\n## Not graded\n\n");
        for e in troubled {
            md.push_str(&format!("- `{}`: {}\n", e.name, describe(e)));
        }
    }
    md.push_str("\n## Checks across the cohort\n\n| suite | check | passed | flag |\n| --- | --- | --- | --- |\n");
    let mut checks_csv = String::from("suite,check,passed,graded,pass_rate,flag\n");
    for c in &cohort {
        md.push_str(&format!(
            "| {} | `{}` | {}/{} | {} |\n",
            c.suite,
            c.id,
            c.passed,
            c.graded,
            c.flag.unwrap_or("")
        ));
        let rate = if c.graded == 0 {
            0.0
        } else {
            c.passed as f64 / c.graded as f64
        };
        checks_csv.push_str(&format!(
            "{},{},{},{},{rate:.3},{}\n",
            c.suite,
            c.id,
            c.passed,
            c.graded,
            c.flag.unwrap_or("")
        ));
    }
    Ok(BatchReport {
        seed,
        summary_md: write("summary.md", md)?,
        summary_csv: write("summary.csv", csv)?,
        checks_csv: write("checks.csv", checks_csv)?,
        entries,
        cohort,
    })
}

/// Every scorecard under `dir`: its own `scorecard.json`, or those of a batch's folders.
pub fn scorecards_in(dir: &Path) -> Vec<PathBuf> {
    let own = dir.join("scorecard.json");
    if own.is_file() {
        return vec![own];
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .map(|e| e.path().join("scorecard.json"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_submissions() {
        let paths: Vec<PathBuf> = (0..50)
            .map(|i| PathBuf::from(format!("/x/sub-{i}.zip")))
            .collect();
        let n = 3;
        for p in &paths {
            let owners = (1..=n).filter(|&k| in_shard(p, k, n)).count();
            assert_eq!(owners, 1, "{} belongs to exactly one shard", p.display());
        }
        let sizes: Vec<usize> = (1..=n)
            .map(|k| paths.iter().filter(|p| in_shard(p, k, n)).count())
            .collect();
        assert!(
            sizes.iter().all(|&s| s > 5),
            "shards are roughly even: {sizes:?}"
        );
    }
}
