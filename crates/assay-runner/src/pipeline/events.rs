//! Progress events of one run, for the CLI's bars, plain lines and `--events json`.

use serde::Serialize;

/// One step of progress. Serialised as one JSON object per line by `--events json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// A stage began or ended: intake, images, build, start, suites, teardown.
    Stage {
        stage: String,
        detail: String,
    },
    /// A line of the image build's output.
    BuildLog {
        line: String,
    },
    SuiteStarted {
        suite: String,
        checks: usize,
    },
    CheckFinished {
        suite: String,
        check: String,
        status: String,
        done: usize,
        total: usize,
    },
    /// A load phase in progress (about once a second).
    Load {
        check: String,
        elapsed_secs: f64,
        planned_secs: f64,
        completed: u64,
        errors: u64,
        rps: f64,
    },
}

impl RunEvent {
    pub fn stage(stage: &str, detail: impl Into<String>) -> Self {
        RunEvent::Stage {
            stage: stage.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<assay_engine::Progress> for RunEvent {
    fn from(p: assay_engine::Progress) -> Self {
        match p {
            assay_engine::Progress::SuiteStarted { suite, checks } => {
                RunEvent::SuiteStarted { suite, checks }
            }
            assay_engine::Progress::CheckFinished {
                suite,
                check,
                status,
                done,
                total,
            } => RunEvent::CheckFinished {
                suite,
                check,
                status: status.as_str().to_owned(),
                done,
                total,
            },
            assay_engine::Progress::Load {
                check,
                elapsed_secs,
                planned_secs,
                completed,
                errors,
                current_rps,
            } => RunEvent::Load {
                check,
                elapsed_secs,
                planned_secs,
                completed,
                errors,
                rps: current_rps,
            },
        }
    }
}
