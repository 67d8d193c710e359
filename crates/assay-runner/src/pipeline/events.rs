//! Progress events of one run, for the CLI's bars, plain lines and `--events json`.

use assay_engine::Progress;
use serde::Serialize;

/// One step of progress. Serialised as one JSON object per line by `--events json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// A stage began or ended: intake, images, build, start, suites, teardown.
    Stage { stage: String, detail: String },
    /// A line of the image build's output.
    BuildLog { line: String },
    /// The engine's progress while the suites run, as the engine reports it (its own JSON
    /// shape: `suite_started`, `check_finished`, `load`).
    #[serde(untagged)]
    Engine(Progress),
}

impl RunEvent {
    pub fn stage(stage: &str, detail: impl Into<String>) -> Self {
        RunEvent::Stage {
            stage: stage.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<Progress> for RunEvent {
    fn from(p: Progress) -> Self {
        RunEvent::Engine(p)
    }
}

#[cfg(test)]
mod tests {
    use assay_model::Status;

    use super::*;

    /// The `--events json` stream keeps its shape: one object per event, tagged by `event`.
    #[test]
    fn events_keep_their_json_shape() {
        let cases = [
            (
                RunEvent::stage("build", "building"),
                r#"{"event":"stage","stage":"build","detail":"building"}"#,
            ),
            (
                RunEvent::BuildLog {
                    line: "Step 1/4".to_owned(),
                },
                r#"{"event":"build_log","line":"Step 1/4"}"#,
            ),
            (
                RunEvent::from(Progress::SuiteStarted {
                    suite: "api".to_owned(),
                    checks: 3,
                }),
                r#"{"event":"suite_started","suite":"api","checks":3}"#,
            ),
            (
                RunEvent::from(Progress::CheckFinished {
                    suite: "api".to_owned(),
                    check: "create".to_owned(),
                    status: Status::NotAssessed,
                    done: 1,
                    total: 3,
                }),
                r#"{"event":"check_finished","suite":"api","check":"create","status":"not_assessed","done":1,"total":3}"#,
            ),
            (
                RunEvent::from(Progress::Load {
                    check: "load".to_owned(),
                    elapsed_secs: 2.0,
                    planned_secs: 10.0,
                    completed: 400,
                    errors: 1,
                    current_rps: 200.5,
                }),
                r#"{"event":"load","check":"load","elapsed_secs":2.0,"planned_secs":10.0,"completed":400,"errors":1,"rps":200.5}"#,
            ),
        ];
        for (event, json) in cases {
            assert_eq!(serde_json::to_string(&event).ok().as_deref(), Some(json));
        }
    }
}
