//! The scorecard's JSON Schema: the checked-in copy must match the types, and a real
//! scorecard must validate against it.

use std::path::PathBuf;

use assay_grader::{Scorecard, grade, json_schema};
use assay_model::{
    AssessmentRef, CheckOutcome, Evidence, GradingPlan, RequestRecord, ResponseRecord, RunResults,
    RunnerInfo, SandboxFailure, SandboxReport, Skill, Status, SubmissionRef, Visibility,
};
use assay_testkit::values::{even_weights, planned, profile};
use serde_json::Value;

const REGENERATE: &str = "UPDATE_SCHEMA=1 cargo test -p assay-grader --test schema";

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/scorecard.schema.json")
}

fn generated() -> String {
    let text = serde_json::to_string_pretty(&json_schema())
        .unwrap_or_else(|e| panic!("serialise schema: {e}"));
    format!("{text}\n")
}

/// The checked-in schema (the freshly generated one while regenerating, so that the tests
/// running beside the one that writes it never read a half-written file).
fn checked_in() -> Value {
    if updating() {
        return json_schema();
    }
    let path = schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; generate it with `{REGENERATE}`",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn updating() -> bool {
    std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1")
}

#[test]
fn checked_in_schema_is_current() {
    let path = schema_path();
    let fresh = generated();
    if updating() {
        std::fs::write(&path, &fresh)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "{} is stale: the Scorecard types changed. Regenerate it with `{REGENERATE}`, \
         review the diff, and bump SCHEMA_VERSION if the change can break a reader \
         (see docs/scorecard.md).",
        path.display()
    );
}

/// A scorecard with every kind of evidence, every status, a sandbox failure and a skill
/// that is not assessed.
fn real_scorecard() -> Scorecard {
    let plan = GradingPlan {
        checks: vec![
            planned(
                "api.list",
                "api",
                "Lists items",
                &[(Skill::ApiDesign, 2.0)],
                Visibility::Visible,
            ),
            planned(
                "sec.auth",
                "security",
                "Rejects bad tokens",
                &[(Skill::Security, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "db.rows",
                "db",
                "Stores rows",
                &[(Skill::Databases, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "perf.load",
                "perf",
                "Holds 200 rps",
                &[(Skill::Performance, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "ops.logs",
                "ops",
                "Logs to stdout",
                &[(Skill::Devops, 1.0)],
                Visibility::Hidden,
            ),
        ],
        profiles: vec![profile("backend", "Backend engineer", even_weights(), 60.0)],
        default_profile: "backend".to_owned(),
    };
    let exchange = Evidence::Exchange {
        request: RequestRecord {
            method: "GET".to_owned(),
            url: "http://sut:8080/items?q=<script>".to_owned(),
            headers: vec![("authorization".to_owned(), "Bearer x".to_owned())],
            body: None,
        },
        response: Some(ResponseRecord {
            status: 200,
            headers: vec![("content-type".to_owned(), "text/html".to_owned())],
            body: "<script>alert(1)</script>".to_owned(),
            body_truncated: true,
            elapsed_ms: 3.5,
        }),
        error: None,
    };
    let checks = vec![
        CheckOutcome::pass("api.list", "api", "listed 3 items", vec![exchange]),
        CheckOutcome::fail(
            "sec.auth",
            "security",
            "accepted a forged token",
            vec![Evidence::Note {
                text: "expected 401, got 200".to_owned(),
            }],
        ),
        CheckOutcome::with(
            "db.rows",
            "db",
            Status::Error,
            0.0,
            "database went away",
            vec![Evidence::Query {
                sql: "select * from items".to_owned(),
                rows: vec![vec!["1".to_owned(), "| pipe |".to_owned()]],
            }],
        ),
        CheckOutcome::with(
            "perf.load",
            "perf",
            Status::Fail,
            0.4,
            "80 rps of 200",
            vec![Evidence::Measurement {
                name: "throughput".to_owned(),
                value: 80.0,
                unit: "rps".to_owned(),
                target: Some(200.0),
                floor: Some(50.0),
            }],
        ),
        CheckOutcome::with(
            "ops.logs",
            "ops",
            Status::Pass,
            1.0,
            "logs go to stdout",
            vec![
                Evidence::File {
                    path: "src/main.rs".to_owned(),
                    line: Some(3),
                    excerpt: Some("println!(\"`hi`\")".to_owned()),
                },
                Evidence::Log {
                    source: "service".to_owned(),
                    excerpt: "listening on :8080".to_owned(),
                },
            ],
        ),
    ];
    let results = RunResults {
        assessment: AssessmentRef {
            id: "todo-api".to_owned(),
            version: "1.2.0".to_owned(),
            title: "Todo API".to_owned(),
        },
        submission: SubmissionRef {
            name: "<b>mallory</b>".to_owned(),
            digest: "sha256:00ff".to_owned(),
        },
        sandbox: SandboxReport {
            image_built: true,
            became_healthy: true,
            build_cached: false,
            build_seconds: 31.2,
            startup_seconds: Some(1.5),
            peak_memory_bytes: Some(123_456_789),
            cpu_seconds: Some(4.25),
            runs_as_root: Some(true),
            image_id: Some("sha256:feed".to_owned()),
            failure: Some(SandboxFailure::Crashed {
                exit_code: 137,
                oom: true,
            }),
            build_log: "Step 1/5 : FROM rust".to_owned(),
            service_log: "thread 'main' panicked".to_owned(),
            performance_lane: None,
            calibration: None,
        },
        checks,
        seed: 42,
        runner: RunnerInfo {
            version: "0.1.0".to_owned(),
            images: [("postgres:16".to_owned(), "sha256:beef".to_owned())]
                .into_iter()
                .collect(),
        },
        started_at: "2026-01-02T03:04:05Z".to_owned(),
        duration_seconds: 95.25,
    };
    grade(&results, &plan, None).unwrap_or_else(|e| panic!("grade: {e}"))
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&checked_in())
        .unwrap_or_else(|e| panic!("the checked-in schema is not a valid JSON Schema: {e}"))
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn a_real_scorecard_validates_against_the_checked_in_schema() {
    let card = real_scorecard();
    assert!(card.sandbox.failure.is_some());
    assert_eq!(
        card.skill(Skill::Communication).and_then(|s| s.score),
        None,
        "the fixture has a skill that is not assessed"
    );
    let json = serde_json::to_value(&card).unwrap_or_else(|e| panic!("serialise: {e}"));
    let validator = validator();
    assert_eq!(errors(&validator, &json), Vec::<String>::new());
    assert_eq!(json["schema_version"], 1);
}

#[test]
fn the_schema_rejects_what_breaks_the_contract() {
    let validator = validator();
    let good = serde_json::to_value(real_scorecard()).unwrap_or_else(|e| panic!("{e}"));

    let mut no_overall = good.clone();
    if let Some(map) = no_overall.as_object_mut() {
        map.remove("overall");
    }
    assert!(
        !errors(&validator, &no_overall).is_empty(),
        "missing overall accepted"
    );

    let mut too_high = good.clone();
    too_high["skills"][0]["score"] = Value::from(150.0);
    assert!(
        !errors(&validator, &too_high).is_empty(),
        "score 150 accepted"
    );

    let mut bad_status = good.clone();
    bad_status["checks"][0]["status"] = Value::from("passed");
    assert!(
        !errors(&validator, &bad_status).is_empty(),
        "status `passed` accepted"
    );

    let mut bad_skill = good;
    bad_skill["skills"][0]["id"] = Value::from("cooking");
    assert!(
        !errors(&validator, &bad_skill).is_empty(),
        "unknown skill accepted"
    );
}

#[test]
fn a_similarity_block_validates_and_changes_no_score() {
    let plain = real_scorecard();
    assert_eq!(plain.similarity, None, "grading never sets it");
    let plain_json = serde_json::to_value(&plain).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        plain_json.get("similarity").is_none(),
        "absent, not null, so scorecards without it are unchanged"
    );
    let mut flagged = plain.clone();
    flagged.similarity = Some(assay_grader::SimilarityInfo {
        closest: Some("<b>bob</b>-0123456789ab".to_owned()),
        known: false,
        share: 0.83,
        shared_lines: 156,
        flagged: true,
        threshold: 0.4,
        page: Some("similarity/000-a--b.html".to_owned()),
    });
    let json = serde_json::to_value(&flagged).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(errors(&validator(), &json), Vec::<String>::new());
    assert_eq!(
        (flagged.overall, flagged.passed, &flagged.skills),
        (plain.overall, plain.passed, &plain.skills)
    );
    let back: Scorecard = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, flagged);
}

#[test]
fn scorecard_round_trips_through_json() {
    let card = real_scorecard();
    let text = serde_json::to_string_pretty(&card).unwrap_or_else(|e| panic!("serialise: {e}"));
    let back: Scorecard = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse: {e}"));
    assert_eq!(back, card);
}
