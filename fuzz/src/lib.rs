//! What the fuzz targets drive, shared by cargo-fuzz (`fuzz_targets/*.rs`) and the stable
//! `fuzz_smoke` test (tests/it/fuzz_smoke.rs includes this file): each function takes any
//! bytes and must neither panic, hang nor grow without bound, and checks the properties
//! its part promises (inert text, valid XML, the Dockerfile always sent).

use std::collections::BTreeMap;

use assay_intake::{IntakeLimits, Submission};
use assay_model::{
    AssessmentRef, CheckOutcome, Evidence, GradingPlan, PlannedCheck, Profile, RequestRecord,
    ResponseRecord, RunResults, RunnerInfo, SandboxFailure, SandboxReport, Skill, SkillWeight,
    SubmissionRef, Visibility, inert,
};
use assay_report::Format;
use assay_sandbox::DockerIgnore;

/// A fuzz target: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// The targets by name, for the smoke test.
pub const TARGETS: [(&str, Target); 4] = [
    ("archive", archive),
    ("dockerignore", dockerignore),
    ("assessment_yaml", assessment_yaml),
    ("evidence", evidence),
];

/// Archive intake: the bytes as an uploaded archive (zip, tar or tar.gz, recognised by their
/// first bytes), unpacked under small limits. Refusals are fine; panics are not.
pub fn archive(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("submission.tar");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = IntakeLimits {
        max_entries: 64,
        max_total_bytes: 1 << 20,
        max_file_bytes: 256 << 10,
    };
    let _ = Submission::open(&path, &limits, &dir.path().join("work"));
}

/// `.dockerignore` parsing and matching; the Dockerfile is always sent once kept.
pub fn dockerignore(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(mut ignore) = DockerIgnore::parse(&text) else {
        return;
    };
    for path in [
        "Dockerfile",
        "src/main.rs",
        "a/b/c/d",
        ".dockerignore",
        "node_modules/x",
    ] {
        ignore.excludes(path);
    }
    for line in text.lines().take(16) {
        let path = line.trim().trim_start_matches('!').trim_matches('/');
        if !path.is_empty() {
            ignore.excludes(path);
            ignore.can_skip_dir(path);
        }
    }
    ignore.keep("Dockerfile");
    assert!(!ignore.excludes("Dockerfile"), "the Dockerfile is excluded");
}

/// The YAML loader: the bytes as `assessment.yaml` and as the suite file it may name.
pub fn assessment_yaml(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    for name in ["assessment.yaml", "suite.yaml", "suites/api.yaml"] {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(path, data);
    }
    let _ = assay_format::load(dir.path());
}

/// Evidence rendering: the bytes as candidate text (response body and headers, messages,
/// logs, names) through the sanitizer and every report format.
pub fn evidence(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let clean = inert::sanitize(&text);
    assert!(
        clean.chars().all(inert::xml_allows),
        "sanitize left XML-invalid text"
    );
    assert!(
        !clean.contains(['\u{1b}', '\r', '\u{9b}']),
        "sanitize left a control"
    );
    assert_no_workflow_command(&inert::terminal(&text), "terminal");
    let line = inert::terminal_line(&text);
    assert!(!line.contains('\n'), "terminal_line kept a line break");
    assert_no_workflow_command(&line, "terminal_line");

    let Ok(card) = assay_grader::grade(&results(&text), &plan(), None) else {
        panic!("the fixed plan does not grade");
    };
    for format in [
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
        Format::Gradescope,
    ] {
        let rendered = match assay_report::render(&card, format) {
            Ok(r) => r,
            Err(e) => panic!("{format} did not render: {e}"),
        };
        assert!(
            rendered.chars().all(inert::xml_allows) || format != Format::Junit,
            "junit.xml holds XML-invalid characters"
        );
        if format == Format::Markdown {
            assert_no_workflow_command(&rendered, "report.md");
            assert!(rendered.len() <= assay_report::MARKDOWN_LIMIT);
        }
        if format == Format::Html {
            assert!(!rendered.contains("<script>alert"), "markup in report.html");
        }
    }
}

fn assert_no_workflow_command(text: &str, what: &str) {
    for line in text.split('\n') {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a workflow command line: {line:?}"
        );
        assert!(
            !line.contains("##["),
            "{what}: a workflow command: {line:?}"
        );
    }
}

fn plan() -> GradingPlan {
    let check = |id: &str, skill: Skill| PlannedCheck {
        critical: Vec::new(),
        id: id.to_owned(),
        suite: "api".to_owned(),
        title: id.to_owned(),
        skills: vec![SkillWeight { skill, weight: 1.0 }],
        visibility: Visibility::Visible,
    };
    GradingPlan {
        checks: vec![
            check("api.list", Skill::ApiDesign),
            check("api.create", Skill::Databases),
        ],
        profiles: vec![Profile {
            id: "backend".to_owned(),
            title: "Backend engineer".to_owned(),
            weights: Skill::ALL
                .into_iter()
                .map(|s| (s, 1.0))
                .collect::<BTreeMap<_, _>>(),
            pass_mark: 60.0,
        }],
        default_profile: "backend".to_owned(),
    }
}

/// A run where every candidate-controlled string is `text`.
fn results(text: &str) -> RunResults {
    let exchange = Evidence::Exchange {
        request: RequestRecord {
            method: "GET".to_owned(),
            url: "http://sut:8080/items".to_owned(),
            headers: vec![],
            body: Some(text.to_owned()),
        },
        response: Some(ResponseRecord {
            status: 200,
            headers: vec![("x-candidate".to_owned(), text.to_owned())],
            body: text.to_owned(),
            body_truncated: false,
            elapsed_ms: 1.0,
        }),
        error: None,
    };
    let evidence = vec![
        exchange,
        Evidence::Log {
            source: "build".to_owned(),
            excerpt: text.to_owned(),
        },
        Evidence::File {
            path: text.to_owned(),
            line: Some(1),
            excerpt: Some(text.to_owned()),
        },
        Evidence::Query {
            sql: "SELECT 1".to_owned(),
            rows: vec![vec![text.to_owned()]],
        },
        Evidence::Note {
            text: text.to_owned(),
        },
    ];
    RunResults {
        assessment: AssessmentRef {
            id: "fuzz".to_owned(),
            version: "1".to_owned(),
            title: "Fuzz".to_owned(),
        },
        submission: SubmissionRef {
            name: text.to_owned(),
            digest: "sha256:00".to_owned(),
        },
        sandbox: SandboxReport {
            failure: Some(SandboxFailure::NeverHealthy {
                reason: text.to_owned(),
            }),
            build_log: text.to_owned(),
            service_log: text.to_owned(),
            ..SandboxReport::default()
        },
        checks: vec![
            CheckOutcome::pass("api.list", "api", text, evidence.clone()),
            CheckOutcome::fail("api.create", "api", text, evidence),
        ],
        seed: 1,
        runner: RunnerInfo {
            version: "0".to_owned(),
            images: BTreeMap::new(),
        },
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        duration_seconds: 1.0,
    }
}
