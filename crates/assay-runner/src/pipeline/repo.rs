//! The engine's read-only view of a submission, backed by intake's facts (no git process).

use assay_engine::{RepoCommit, RepoFile, RepoView};

use assay_intake::{RepoFacts, Submission};

/// A submission's files and history as the repository and secrets checks see them.
#[derive(Debug)]
pub struct SubmissionRepo {
    pub submission: Submission,
    pub facts: RepoFacts,
    pub runs_as_root: Option<bool>,
}

impl RepoView for SubmissionRepo {
    fn files(&self) -> Vec<RepoFile> {
        self.facts
            .files
            .iter()
            .filter(|f| !f.symlink)
            .map(|f| RepoFile {
                path: f.path.clone(),
                size: f.size,
                tracked: f.tracked,
            })
            .collect()
    }

    fn read(&self, path: &str, cap: usize) -> Option<Vec<u8>> {
        self.submission.read_file(path, cap)
    }

    fn commits(&self) -> Result<Vec<RepoCommit>, String> {
        match self.facts.commits() {
            Ok(commits) => Ok(commits
                .iter()
                .map(|c| RepoCommit {
                    id: c.id.clone(),
                    author: format!("{} <{}>", c.author_name, c.author_email),
                    time: c.time.clone(),
                    subject: c.subject.clone(),
                    body: c.body.clone(),
                    files: c.files.clone(),
                })
                .collect()),
            Err(why) => Err(why.to_string()),
        }
    }

    fn history_paths(&self) -> Vec<String> {
        match &self.facts.history {
            Ok(h) => h.paths.clone(),
            Err(_) => Vec::new(),
        }
    }

    fn history_blob(&self, commit: &str, path: &str, cap: usize) -> Option<Vec<u8>> {
        self.facts.history_blob(commit, path, cap)
    }

    fn image_runs_as_root(&self) -> Option<bool> {
        self.runs_as_root
    }
}
