//! A large synthetic run for the grading and rendering benchmarks: `n` checks over 20
//! suites, every status, one to three skills each, some critical, and evidence of every kind
//! (an exchange with a 1 KiB body, a measurement, a note, a log, a file, a query) carrying
//! text that reports must escape. Shared by `assay-grader` and `assay-report` benches.

use std::collections::BTreeMap;

use assay_model::{
    AssessmentRef, CheckOutcome, Evidence, GradingPlan, PlannedCheck, Profile, RequestRecord,
    ResponseRecord, RunResults, RunnerInfo, SandboxReport, Skill, SkillWeight, Status,
    SubmissionRef, Visibility,
};

/// Text with what every format escapes: markup, pipes, backticks, quotes, ampersands.
const HOSTILE: &str = "<b>bold</b> | `tick` & \"quote\" 'apos' ]]> <script>x</script>";

fn suite(i: usize) -> String {
    format!("suite-{:02}", i % 20)
}

fn status(i: usize) -> Status {
    match i % 10 {
        0..=5 => Status::Pass,
        6 | 7 => Status::Fail,
        8 => Status::Error,
        _ => Status::Skipped,
    }
}

/// The grading plan of `n` checks and one profile weighting every skill.
pub fn plan(n: usize) -> GradingPlan {
    let checks = (0..n)
        .map(|i| {
            let skills = (0..1 + i % 3)
                .map(|k| SkillWeight {
                    skill: Skill::ALL[(i + 3 * k) % Skill::ALL.len()],
                    weight: 1.0 + (k as f64),
                })
                .collect::<Vec<_>>();
            PlannedCheck {
                id: format!("check-{i:05}"),
                suite: suite(i),
                title: format!("Check {i}: the service does what the brief says {HOSTILE}"),
                critical: if i % 97 == 0 {
                    vec![skills[0].skill]
                } else {
                    Vec::new()
                },
                skills,
                visibility: if i % 4 == 0 {
                    Visibility::Visible
                } else {
                    Visibility::Hidden
                },
            }
        })
        .collect();
    GradingPlan {
        checks,
        profiles: vec![Profile {
            id: "default".to_owned(),
            title: "Default".to_owned(),
            weights: Skill::ALL
                .iter()
                .enumerate()
                .map(|(k, s)| (*s, 1.0 + (k % 3) as f64))
                .collect::<BTreeMap<_, _>>(),
            pass_mark: 60.0,
        }],
        default_profile: "default".to_owned(),
    }
}

fn evidence(i: usize) -> Vec<Evidence> {
    let body = format!("{{\"id\": {i}, \"note\": \"{HOSTILE}\"}}").repeat(16);
    vec![
        Evidence::Exchange {
            request: RequestRecord {
                method: "POST".to_owned(),
                url: format!("http://service:8080/v1/accounts/{i}/deposits?limit=50"),
                headers: vec![
                    ("authorization".to_owned(), "Bearer [redacted]".to_owned()),
                    ("content-type".to_owned(), "application/json".to_owned()),
                ],
                body: Some(format!("{{\"amount\": \"{i}.00\"}}")),
            },
            response: Some(ResponseRecord {
                status: 200 + (i % 3) as u16 * 100,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: body[..body.len().min(1024)].to_owned(),
                body_truncated: body.len() > 1024,
                elapsed_ms: 3.25 + i as f64 % 17.0,
            }),
            error: None,
        },
        Evidence::Measurement {
            name: "p95".to_owned(),
            value: 12.5 + (i % 50) as f64,
            unit: "ms".to_owned(),
            target: Some(50.0),
            floor: Some(250.0),
        },
        Evidence::Note {
            text: format!("expected 201, saw {} {HOSTILE}", 400 + i % 100),
        },
        Evidence::Log {
            source: "service".to_owned(),
            excerpt: format!("line {i}\nTraceback (most recent call last):\n  {HOSTILE}\n")
                .repeat(4),
        },
        Evidence::File {
            path: format!("src/module_{}.py", i % 40),
            line: Some((i % 300) as u32),
            excerpt: Some(format!(
                "query = f\"SELECT * FROM t WHERE id = {{id}}\"  # {HOSTILE}"
            )),
        },
        Evidence::Query {
            sql: "SELECT id, balance FROM accounts ORDER BY id LIMIT 3".to_owned(),
            rows: (0..3)
                .map(|r| vec![format!("{}", i + r), format!("{}.00", r * 10)])
                .collect(),
        },
    ]
}

/// The results of one run over [`plan`]`(n)`: every planned check has an outcome.
pub fn results(n: usize) -> RunResults {
    let checks = (0..n)
        .map(|i| {
            let status = status(i);
            CheckOutcome {
                id: format!("check-{i:05}"),
                suite: suite(i),
                status,
                credit: match status {
                    Status::Pass => 1.0,
                    Status::Fail if i % 3 == 0 => 0.5,
                    _ => 0.0,
                },
                message: format!("what was found for check {i}: {HOSTILE}"),
                evidence: evidence(i),
                duration_ms: (i % 1000) as u64,
                partial: false,
            }
        })
        .collect();
    RunResults {
        assessment: AssessmentRef {
            id: "synthetic".to_owned(),
            version: "1.0.0".to_owned(),
            title: "A synthetic assessment".to_owned(),
        },
        submission: SubmissionRef {
            name: "candidate".to_owned(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        },
        sandbox: SandboxReport {
            image_built: true,
            became_healthy: true,
            build_seconds: 42.0,
            startup_seconds: Some(2.0),
            peak_memory_bytes: Some(80 << 20),
            cpu_seconds: Some(12.5),
            runs_as_root: Some(false),
            build_log: format!("Step 1/9 : FROM base {HOSTILE}\n").repeat(40),
            service_log: format!("[INFO] listening {HOSTILE}\n").repeat(40),
            ..SandboxReport::default()
        },
        checks,
        seed: 7,
        runner: RunnerInfo {
            version: "0.1.0".to_owned(),
            images: BTreeMap::from([("assay-base/python:3.12".to_owned(), "sha256:00".to_owned())]),
        },
        started_at: "2026-11-28T12:00:00Z".to_owned(),
        duration_seconds: 166.5,
    }
}
