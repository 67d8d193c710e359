//! The reports rendered from one representative scorecard (every status, a sandbox
//! failure, hostile candidate text): snapshots of Markdown, JUnit, HTML, Gradescope and the
//! scorecard JSON (redacted: digests, dates, durations), and the escaping, size, format and
//! comparison rules each report must keep.

use assay_grader::{Scorecard, grade};
use assay_model::{
    AssessmentRef, CheckOutcome, Evidence, GradingPlan, RequestRecord, ResponseRecord, RunResults,
    RunnerInfo, SandboxFailure, SandboxReport, Skill, Status, SubmissionRef, Visibility,
};
use assay_report::{
    CSP, Format, MARKDOWN_LIMIT, RUN_RESULTS_FILE, ReportError, compare, render, write_all,
    write_run,
};
use assay_testkit::values::{planned, profile, timed};

const SCRIPT: &str = "<script>alert(1)</script>";

fn plan() -> GradingPlan {
    GradingPlan {
        checks: vec![
            planned(
                "api.list",
                "api",
                "Lists items",
                &[(Skill::ApiDesign, 2.0), (Skill::Languages, 1.0)],
                Visibility::Visible,
            ),
            planned(
                "api.create",
                "api",
                "Creates an item",
                &[(Skill::ApiDesign, 1.0)],
                Visibility::Visible,
            ),
            planned(
                "sec.token",
                "security",
                "Rejects forged tokens",
                &[(Skill::Security, 2.0)],
                Visibility::Hidden,
            ),
            planned(
                "sec.headers",
                "security",
                "Sends security headers",
                &[(Skill::Security, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "db.persist",
                "db",
                "Persists across restart",
                &[(Skill::Databases, 1.0), (Skill::Devops, 1.0)],
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
                &[(Skill::Devops, 1.0), (Skill::ProblemSolving, 0.5)],
                Visibility::Hidden,
            ),
            planned(
                "fw.validate",
                "api",
                "Validates input",
                &[(Skill::Frameworks, 1.0), (Skill::ApiDesign, 1.0)],
                Visibility::Hidden,
            ),
        ],
        profiles: vec![profile(
            "backend",
            "Backend engineer",
            Skill::ALL.map(|s| (s, if s == Skill::ApiDesign { 2.0 } else { 1.0 })),
            60.0,
        )],
        default_profile: "backend".to_owned(),
    }
}

/// Every status, partial credit, a missing result, a crashed service, and hostile text in
/// the submission name, messages, evidence and logs.
fn results() -> RunResults {
    let checks = vec![
        timed(
            CheckOutcome::pass(
                "api.list",
                "api",
                "listed 3 items",
                vec![Evidence::Exchange {
                    request: RequestRecord {
                        method: "GET".to_owned(),
                        url: "http://sut:8080/items?q=<b>x</b>".to_owned(),
                        headers: vec![("accept".to_owned(), "application/json".to_owned())],
                        body: None,
                    },
                    response: Some(ResponseRecord {
                        status: 200,
                        headers: vec![(
                            "x-evil".to_owned(),
                            "<img src=x onerror=alert(1)>".to_owned(),
                        )],
                        body: "[{\"id\":1,\"title\":\"<script>alert(1)</script>\"}]".to_owned(),
                        body_truncated: false,
                        elapsed_ms: 3.25,
                    }),
                    error: None,
                }],
            ),
            12,
        ),
        timed(
            CheckOutcome::fail(
                "api.create",
                "api",
                "expected 201, got 200 | pipes | and `backticks`",
                vec![Evidence::Exchange {
                    request: RequestRecord {
                        method: "POST".to_owned(),
                        url: "http://sut:8080/items".to_owned(),
                        headers: vec![],
                        body: Some("{\"title\":\"</pre><script>alert(1)</script>\"}".to_owned()),
                    },
                    response: Some(ResponseRecord {
                        status: 200,
                        headers: vec![],
                        body: "ok ```\n]]> &amp; \u{1b}[31mred\u{1b}[0m \u{202e}txt.exe".to_owned(),
                        body_truncated: true,
                        elapsed_ms: 4.0,
                    }),
                    error: None,
                }],
            ),
            8,
        ),
        timed(
            CheckOutcome::fail(
                "sec.token",
                "security",
                "accepted a forged token <script>alert(1)</script>",
                vec![Evidence::Note {
                    text: "expected 401, got 200 for `alg: none`".to_owned(),
                }],
            ),
            5,
        ),
        timed(
            CheckOutcome::error(
                "sec.headers",
                "security",
                "the service stopped answering",
                vec![Evidence::Log {
                    source: "service".to_owned(),
                    excerpt: "panic: | col | `x` \u{0} nul".to_owned(),
                }],
            ),
            30,
        ),
        CheckOutcome::skipped("db.persist", "db", "the service crashed before the restart"),
        timed(
            CheckOutcome::with(
                "perf.load",
                "perf",
                Status::Fail,
                0.4,
                "80 rps of the 200 targeted",
                vec![Evidence::Measurement {
                    name: "throughput".to_owned(),
                    value: 80.0,
                    unit: "rps".to_owned(),
                    target: Some(200.0),
                    floor: Some(50.0),
                }],
            ),
            5000,
        ),
        timed(
            CheckOutcome::pass(
                "ops.logs",
                "ops",
                "logs go to stdout",
                vec![Evidence::File {
                    path: "src/<main>.rs".to_owned(),
                    line: Some(3),
                    excerpt: Some("println!(\"`{}`\", x); // | pipe |".to_owned()),
                }],
            ),
            2,
        ),
        // fw.validate is missing: graded as not run.
    ];
    RunResults {
        assessment: AssessmentRef {
            id: "todo-api".to_owned(),
            version: "1.2.0".to_owned(),
            title: "Todo API".to_owned(),
        },
        submission: SubmissionRef {
            name: format!("mallory {SCRIPT} | pipes |"),
            digest: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .to_owned(),
        },
        sandbox: SandboxReport {
            image_built: true,
            became_healthy: true,
            build_cached: false,
            build_seconds: 41.7,
            startup_seconds: Some(1.8),
            peak_memory_bytes: Some(268_435_456),
            cpu_seconds: Some(12.5),
            runs_as_root: Some(true),
            image_id: Some("sha256:1111".to_owned()),
            failure: Some(SandboxFailure::Crashed {
                exit_code: 137,
                oom: true,
            }),
            build_log: "Step 1/4 : FROM rust:1.95\nStep 4/4 : RUN echo <script>alert(1)</script>"
                .to_owned(),
            service_log: "listening on :8080\nthread 'main' panicked at src/main.rs:9".to_owned(),
            performance_lane: None,
            calibration: None,
        },
        checks,
        seed: 42,
        runner: RunnerInfo {
            version: "0.1.0".to_owned(),
            images: [("postgres:16".to_owned(), "sha256:2222".to_owned())]
                .into_iter()
                .collect(),
        },
        started_at: "2026-03-04T05:06:07Z".to_owned(),
        duration_seconds: 73.4,
    }
}

fn card() -> Scorecard {
    grade(&results(), &plan(), None).unwrap_or_else(|e| panic!("grade: {e}"))
}

fn rendered(card: &Scorecard, format: Format) -> String {
    render(card, format).unwrap_or_else(|e| panic!("render {format}: {e}"))
}

/// Redacts what varies between runs of a real assessment: digests, timestamps, durations.
fn redacted(f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]+", "sha256:[digest]");
    settings.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
        "[timestamp]",
    );
    settings.add_filter(r#"time="[0-9.]+""#, r#"time="[duration]""#);
    settings.add_filter(r"\b[0-9.]+ (ms|s)\b", "[duration] $1");
    settings.bind(f);
}

#[test]
fn markdown_snapshot() {
    let md = rendered(&card(), Format::Markdown);
    redacted(|| insta::assert_snapshot!("report_md", md));
}

#[test]
fn junit_snapshot() {
    let xml = rendered(&card(), Format::Junit);
    redacted(|| insta::assert_snapshot!("junit_xml", xml));
}

#[test]
fn scorecard_json_snapshot() {
    insta::assert_json_snapshot!("scorecard_json", card(), {
        ".started_at" => "[timestamp]",
        ".submission.digest" => "[digest]",
        ".duration_seconds" => "[duration]",
        ".checks[].duration_ms" => "[duration]",
        ".sandbox.build_seconds" => "[duration]",
        ".runner.images[\"postgres:16\"]" => "[digest]",
    });
}

/// The representative card with a `not_assessed` check added (its reason and evidence
/// hostile too): every status, partial credit, a missing result and hostile text.
fn every_status_card() -> Scorecard {
    let mut plan = plan();
    plan.checks.push(planned(
        "repo.tests",
        "repository",
        "Runs the candidate's tests",
        &[(Skill::ProblemSolving, 1.0)],
        Visibility::Visible,
    ));
    let mut results = results();
    results.checks.push(CheckOutcome::not_assessed(
        "repo.tests",
        "repository",
        "no test runner in any stage <of> the Dockerfile \u{1b}]8;;http://evil\u{7}link\u{1b}]8;;\u{7}",
        vec![Evidence::File {
            path: "Dockerfile\u{2066}.md".to_owned(),
            line: Some(1),
            excerpt: Some(format!("FROM scratch # {SCRIPT} \u{202e}gpj.exe")),
        }],
    ));
    grade(&results, &plan, None).unwrap_or_else(|e| panic!("grade: {e}"))
}

#[test]
fn html_snapshot() {
    let card = every_status_card();
    assert_eq!(card.count(Status::NotAssessed), 1);
    let html = rendered(&card, Format::Html);
    redacted(|| insta::assert_snapshot!("report_html", html));
}

#[test]
fn gradescope_snapshot() {
    let json = rendered(&every_status_card(), Format::Gradescope);
    redacted(|| insta::assert_snapshot!("gradescope_json", json));
}

#[test]
fn markdown_puts_the_verdict_first_and_escapes_candidate_text() {
    let card = card();
    let md = rendered(&card, Format::Markdown);
    assert!(md.starts_with("# ❌ Failed: Todo API — "), "{}", &md[..80]);
    assert!(!md.contains("<script"), "raw script tag in Markdown");
    assert!(!md.contains("<img"), "raw img tag in Markdown");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(md.contains("\\| pipes \\|"));
    assert!(md.contains("\\`backticks\\`"));
    // Every skills-table row has exactly the header's columns: no pipe got through.
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| Skill |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 12, "header, rule and ten skills");
    for row in &table {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 7, "row with injected columns: {row}");
    }
    // Failed checks come before errors and skips, each with its evidence.
    let fail = md.find("Creates an item").unwrap_or(usize::MAX);
    let error = md.find("Sends security headers").unwrap_or(usize::MAX);
    let skip = md.find("Persists across restart** ").unwrap_or(usize::MAX);
    assert!(fail < error && error < skip, "order: {fail} {error} {skip}");
    assert!(md.contains("<details><summary>Evidence</summary>"));
    assert!(
        md.contains("&lt;/pre&gt;&lt;script&gt;"),
        "evidence is escaped inside <pre>"
    );
    assert!(md.contains("> [!WARNING]\n> The service was killed for using too much memory"));
    assert!(
        md.contains("_not assessed_"),
        "communication is not assessed"
    );
}

#[test]
fn a_failed_critical_check_is_named_as_the_reason() {
    // Make the failing `api.create` critical for api-design.
    let mut plan = plan();
    let create = plan
        .checks
        .iter_mut()
        .find(|c| c.id == "api.create")
        .expect("api.create is planned");
    create.critical = vec![Skill::ApiDesign];
    let card = grade(&results(), &plan, None).unwrap_or_else(|e| panic!("grade: {e}"));
    assert_eq!(card.critical_failures, vec!["api.create".to_owned()]);
    assert!(!card.passed);
    let md = rendered(&card, Format::Markdown);
    assert!(
        md.contains(
            "> [!CAUTION]\n> Failed whatever the overall: the critical check api.create fails"
        ),
        "{md}"
    );
    let html = rendered(&card, Format::Html);
    assert!(html.contains("<strong>A critical check failed</strong>"));
    // Without it, no such line.
    assert!(!rendered(&self::card(), Format::Markdown).contains("[!CAUTION]"));
}

#[test]
fn a_similarity_flag_is_a_note_that_changes_no_score() {
    let plain = card();
    let mut flagged = plain.clone();
    flagged.similarity = Some(assay_grader::SimilarityInfo {
        closest: Some("<script>bob</script>-0123456789ab".to_owned()),
        known: false,
        share: 0.83,
        shared_lines: 156,
        flagged: true,
        threshold: 0.4,
        page: Some("similarity/000-a--b.html".to_owned()),
    });
    let md = rendered(&flagged, Format::Markdown);
    assert!(
        md.contains("> [!NOTE]\n> Shares 83 % of its code (156 lines) with the submission"),
        "{md}"
    );
    assert!(md.contains("not part of any score") && !md.contains("<script>"));
    let html = rendered(&flagged, Format::Html);
    assert!(html.contains("<strong>Similarity</strong>") && !html.contains("<script>bob"));
    assert!(html.contains("&lt;script&gt;bob"));
    // The scores read the same with or without it; below the threshold there is no note.
    let strip = |text: String| text.replace(&md_note(&md), "");
    assert_eq!(strip(md.clone()), rendered(&plain, Format::Markdown));
    if let Some(s) = flagged.similarity.as_mut() {
        s.flagged = false;
    }
    assert!(!rendered(&flagged, Format::Markdown).contains("[!NOTE]"));
}

/// The `> [!NOTE]` block of a Markdown report, with its blank line.
fn md_note(md: &str) -> String {
    let start = md.find("> [!NOTE]").unwrap_or(md.len());
    let rest = &md[start..];
    let end = rest.find("\n\n").map_or(rest.len(), |e| e + 2);
    rest[..end].to_owned()
}

#[test]
fn markdown_fits_a_step_summary_however_many_checks() {
    let mut plan = plan();
    let mut results = results();
    let big = "x".repeat(3000);
    for i in 0..3000 {
        let id = format!("bulk.{i}");
        plan.checks.push(planned(
            &id,
            "bulk",
            &format!("Bulk check {i}"),
            &[(Skill::Languages, 1.0)],
            Visibility::Hidden,
        ));
        results.checks.push(CheckOutcome::fail(
            &id,
            "bulk",
            big.clone(),
            vec![Evidence::Note { text: big.clone() }; 3],
        ));
    }
    let card = grade(&results, &plan, None).unwrap_or_else(|e| panic!("grade: {e}"));
    let md = rendered(&card, Format::Markdown);
    assert!(md.len() <= MARKDOWN_LIMIT, "{} bytes", md.len());
    assert!(md.starts_with("# ❌ Failed"));
    assert!(md.contains("## Skills"));
    assert!(md.contains("more: see scorecard.json"));
    let html = rendered(&card, Format::Html);
    assert!(
        html.len() < 16 * 1024 * 1024,
        "HTML of {} bytes",
        html.len()
    );
    assert!(html.contains("More evidence in scorecard.json."));
    assert!(html.contains(r#"id="verdict">FAILED<"#));
}

#[test]
fn junit_maps_checks_to_testcases() {
    let xml = rendered(&card(), Format::Junit);
    let report = quick_junit::Report::deserialize_from_str(&xml)
        .unwrap_or_else(|e| panic!("junit.xml does not parse: {e}\n{xml}"));
    assert_eq!(
        (report.tests, report.failures, report.errors, report.skipped),
        (8, 3, 1, 2)
    );
    let suites: Vec<&str> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
    // The checks' suites, then the case-less suite that carries the skills.
    assert_eq!(
        suites,
        ["api", "security", "db", "perf", "ops", "assay.skills"]
    );
    let api = &report.test_suites[0];
    let names: Vec<&str> = api.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["api.list", "api.create", "fw.validate"]);
    assert!(
        api.test_cases
            .iter()
            .all(|c| c.classname.as_ref().map(|n| n.as_str()) == Some("api"))
    );
    let create = &api.test_cases[1];
    match &create.status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(
                message.as_ref().map(|m| m.as_str()),
                Some("expected 201, got 200 | pipes | and `backticks`")
            );
            let description = description.as_ref().map(|d| d.as_str()).unwrap_or_default();
            assert!(
                description.contains("</pre><script>alert(1)</script>"),
                "evidence as text: {description}"
            );
        }
        other => panic!("api.create: {other:?}"),
    }
    assert_eq!(create.time, Some(std::time::Duration::from_millis(8)));
    match &api.test_cases[2].status {
        quick_junit::TestCaseStatus::Skipped { message, .. } => {
            assert_eq!(
                message.as_ref().map(|m| m.as_str()),
                Some(assay_grader::NOT_RUN)
            );
        }
        other => panic!("fw.validate: {other:?}"),
    }
    let security = &report.test_suites[1];
    assert!(matches!(
        security.test_cases[1].status,
        quick_junit::TestCaseStatus::NonSuccess {
            kind: quick_junit::NonSuccessKind::Error,
            ..
        }
    ));
    assert!(!xml.contains("<script>"), "markup is escaped in XML");
}

#[test]
fn gradescope_results_follow_the_autograder_format() {
    let json = rendered(&card(), Format::Gradescope);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    let card = card();
    assert_eq!(value["score"], card.overall);
    assert_eq!(value["max_score"], 100.0);
    let tests = value["tests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert_eq!(tests.len(), 8);
    let by_name = |name: &str| {
        tests
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no test {name}"))
    };
    let list = by_name("Lists items");
    assert_eq!(
        (list["score"].as_f64(), list["max_score"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    assert_eq!(
        (list["status"].as_str(), list["visibility"].as_str()),
        (Some("passed"), Some("visible"))
    );
    let load = by_name("Holds 200 rps");
    assert_eq!(load["score"].as_f64(), Some(0.4));
    assert_eq!(
        (load["status"].as_str(), load["visibility"].as_str()),
        (Some("failed"), Some("after_published"))
    );
    assert_eq!(by_name("Persists across restart")["status"], "failed");
    assert_eq!(list["number"], "1");
}

/// Every tag in `html` (every `<` in it is markup: candidate text is escaped).
fn tags(html: &str) -> Vec<(String, String)> {
    html.split('<')
        .skip(1)
        .map(|rest| {
            let inner = rest.split('>').next().unwrap_or_default();
            let name: String = inner
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect();
            (name.to_ascii_lowercase(), inner.to_owned())
        })
        .collect()
}

#[test]
fn html_is_self_contained_and_escapes_everything() {
    let html = rendered(&card(), Format::Html);
    let allowed = [
        "!doctype", "html", "head", "meta", "title", "style", "body", "main", "header", "div",
        "h1", "h2", "h3", "span", "b", "strong", "svg", "circle", "line", "text", "tspan",
        "polygon", "polyline", "section", "table", "thead", "tbody", "tr", "th", "td", "p",
        "article", "code", "pre", "dl", "dt", "dd", "footer", "details", "summary", "i",
    ];
    for (name, inner) in tags(&html) {
        assert!(allowed.contains(&name.as_str()), "unexpected tag <{inner}>");
        for token in inner.split_whitespace().filter(|t| t.contains('=')) {
            let attr = token
                .split('=')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(!attr.starts_with("on"), "event handler in <{inner}>");
            assert!(
                !["src", "href", "action", "srcdoc", "xlink:href"].contains(&attr.as_str()),
                "link in <{inner}>"
            );
        }
    }
    assert!(html.contains(&format!(
        r#"<meta http-equiv="Content-Security-Policy" content="{CSP}">"#
    )));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        html.contains("txt.exe") && html.contains("&lt;U+202E&gt;"),
        "bidi override shown, not applied"
    );
    assert!(!html.contains('\u{1b}'), "ANSI escapes removed");
    assert!(
        !html.contains("@import") && !html.contains("url("),
        "no external resources in CSS"
    );
    for skill in Skill::ALL {
        assert!(
            html.contains(&format!(r#"data-skill="{}""#, skill.id())),
            "{skill} row"
        );
    }
    assert!(html.contains(r#"<svg class="radar""#));
    let failed = html.find("Creates an item").unwrap_or(usize::MAX);
    let passed = html.find(r#"id="passed""#).unwrap_or(0);
    assert!(failed < passed, "failed checks come first");
}

#[test]
fn write_all_writes_every_report() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = dir.path().join("nested/out");
    let card = card();
    let written = write_all(&card, &out).unwrap_or_else(|e| panic!("write_all: {e}"));
    let names: Vec<String> = written
        .files
        .iter()
        .map(|(_, p)| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        [
            "scorecard.json",
            "report.md",
            "junit.xml",
            "report.html",
            "results.json"
        ]
    );
    for (format, path) in &written.files {
        let on_disk =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, rendered(&card, *format), "{format}");
    }
    let json = std::fs::read_to_string(out.join("scorecard.json")).unwrap_or_default();
    let back: Scorecard = serde_json::from_str(&json).unwrap_or_else(|e| panic!("parse: {e}"));
    assert_eq!(back, card);
    let leftovers = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
}

/// Names of the files in `dir`, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn write_run_replaces_a_run_folder_with_complete_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = dir.path().join("alice");
    let old_results = results();
    let old = card();
    write_run(&old_results, &old, &out).unwrap_or_else(|e| panic!("first write: {e}"));
    let mut new_results = results();
    new_results.seed = 7;
    let new = grade(&new_results, &plan(), None).unwrap_or_else(|e| panic!("grade: {e}"));
    let written = write_run(&new_results, &new, &out).unwrap_or_else(|e| panic!("write: {e}"));
    assert_eq!(
        listing(&out),
        [
            "junit.xml",
            "report.html",
            "report.md",
            "results.json",
            "run-results.json",
            "scorecard.json"
        ],
        "no temporary file is left"
    );
    assert_eq!(written.run_results, Some(out.join(RUN_RESULTS_FILE)));
    let text = std::fs::read_to_string(out.join(RUN_RESULTS_FILE)).unwrap_or_default();
    let back: RunResults = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse: {e}"));
    assert_eq!(back, new_results, "run-results.json is the new run");
    for (format, path) in &written.files {
        let on_disk =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, rendered(&new, *format), "{format} is the new one");
    }
}

#[test]
fn write_run_interrupted_leaves_whole_files_and_no_scorecard() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = dir.path().join("alice");
    let old = card();
    write_run(&results(), &old, &out).unwrap_or_else(|e| panic!("first write: {e}"));
    // A folder where report.html goes: its rename fails half-way through the folder.
    std::fs::remove_file(out.join("report.html")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(out.join("report.html")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out.join("report.html/x"), "x").unwrap_or_else(|e| panic!("{e}"));
    let mut new_results = results();
    new_results.seed = 7;
    let new = grade(&new_results, &plan(), None).unwrap_or_else(|e| panic!("grade: {e}"));
    match write_run(&new_results, &new, &out) {
        Err(ReportError::Io { path, .. }) => assert_eq!(path, out.join("report.html")),
        other => panic!("expected the report.html write to fail, got {other:?}"),
    }
    let names = listing(&out);
    assert!(
        !names.iter().any(|n| n.ends_with(".partial")),
        "no temporary file is left: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "scorecard.json"),
        "no scorecard is trusted beside reports of another grading: {names:?}"
    );
    for format in [Format::Markdown, Format::Junit, Format::Gradescope] {
        let on_disk = std::fs::read_to_string(out.join(format.file_name())).unwrap_or_default();
        assert!(
            on_disk == rendered(&old, format) || on_disk == rendered(&new, format),
            "{format} is the old or the new file, whole"
        );
    }
    let text = std::fs::read_to_string(out.join(RUN_RESULTS_FILE)).unwrap_or_default();
    let _: RunResults = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse: {e}"));
}

#[test]
fn write_all_reports_the_path_it_could_not_write() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
    match write_all(&card(), file.join("out")) {
        Err(ReportError::Io { path, .. }) => assert!(path.starts_with(&file)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn formats_parse_from_their_names() {
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>().ok(), Some(format));
    }
    assert_eq!("md".parse::<Format>().ok(), Some(Format::Markdown));
    assert!(matches!(
        "pdf".parse::<Format>(),
        Err(ReportError::UnknownFormat(_))
    ));
}

fn variant(name: &str, perf_credit: f64, token_passes: bool) -> Scorecard {
    let mut results = results();
    results.submission.name = name.to_owned();
    results.submission.digest = format!("sha256:{}", name.len());
    for check in &mut results.checks {
        if check.id == "perf.load" {
            check.credit = perf_credit;
        }
        if check.id == "sec.token" && token_passes {
            check.status = Status::Pass;
            check.credit = 1.0;
        }
    }
    grade(&results, &plan(), None).unwrap_or_else(|e| panic!("grade: {e}"))
}

#[test]
fn comparison_ranks_overall_and_per_skill() {
    let cards = [
        variant("carol", 0.4, false),
        variant("alice", 1.0, true),
        variant("bob", 0.4, false),
        variant("=cmd|' /C calc'!A0", 0.0, false),
    ];
    let comparison = compare(&cards).unwrap_or_else(|e| panic!("compare: {e}"));
    let order: Vec<(usize, &str)> = comparison
        .rows
        .iter()
        .map(|r| (r.rank, r.name.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (1, "alice"),
            (2, "bob"),
            (2, "carol"),
            (4, "=cmd|' /C calc'!A0")
        ]
    );
    let perf = |row: usize| {
        comparison.rows[row]
            .skills
            .iter()
            .find(|c| c.skill == Skill::Performance)
            .map(|c| (c.score, c.rank))
    };
    assert_eq!(perf(0), Some((Some(100.0), Some(1))));
    assert_eq!(perf(1), Some((Some(40.0), Some(2))));
    assert_eq!(perf(3), Some((Some(0.0), Some(4))));
    let comms = comparison.rows[0]
        .skills
        .iter()
        .find(|c| c.skill == Skill::Communication);
    assert_eq!(comms.map(|c| (c.score, c.rank)), Some((None, None)));

    let table = comparison.render_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(lines[0].starts_with("rank  submission"), "{table}");
    let overall_end = lines[0].find("overall").map_or(0, |i| i + "overall".len());
    for line in &lines[2..] {
        // Right-aligned numbers end in the same column as their header.
        let before = line.get(..overall_end).unwrap_or_default();
        assert!(before.ends_with(|c: char| c.is_ascii_digit()), "{table}");
        assert_eq!(line.get(overall_end..=overall_end), Some(" "), "{table}");
    }
    assert!(lines[2].contains("100.0 (1)"), "{table}");
    assert!(table.contains("n/a"));

    let csv = comparison.render_csv();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5);
    assert!(rows[0].starts_with("rank,submission,digest,overall,passed,languages,languages_rank,"));
    assert!(
        rows[4].starts_with("4,\"'=cmd|' /C calc'!A0\",")
            || rows[4].starts_with("4,'=cmd|' /C calc'!A0,"),
        "{}",
        rows[4]
    );
    assert_eq!(rows[1].split(',').count(), 5 + 20);
}

#[test]
fn comparison_refuses_different_assessments() {
    let a = card();
    let mut b = card();
    b.assessment.id = "shop-api".to_owned();
    assert!(matches!(
        compare(&[a.clone(), b]),
        Err(ReportError::MixedAssessments { .. })
    ));
    let mut c = card();
    c.profile.id = "frontend".to_owned();
    assert!(matches!(
        compare(&[a, c]),
        Err(ReportError::MixedProfiles { .. })
    ));
    assert!(matches!(compare(&[]), Err(ReportError::NothingToCompare)));
}

/// Candidate text that drives terminals and CI runners: OSC 52 (clipboard), workflow
/// commands, characters XML 1.0 forbids, mentions and autolinks.
const DRIVING: &str = "ok\n::error::pwned\n  ::add-mask::secret\nstep ##[set-env name=A]b\n\u{1b}]52;c;ZXZpbA==\u{7}\u{fffe}\u{ffff}\u{b}\u{0} @team http://evil.example www.evil.example";

fn driven_card() -> Scorecard {
    let mut card = card();
    for check in &mut card.checks {
        check.message = DRIVING.to_owned();
        check.evidence.push(Evidence::Exchange {
            request: RequestRecord {
                method: "GET".to_owned(),
                url: "http://sut:8080/".to_owned(),
                headers: vec![],
                body: None,
            },
            response: Some(ResponseRecord {
                status: 200,
                headers: vec![("x-evil".to_owned(), DRIVING.to_owned())],
                body: DRIVING.to_owned(),
                body_truncated: false,
                elapsed_ms: 1.0,
            }),
            error: None,
        });
    }
    card
}

#[test]
fn junit_is_valid_xml_whatever_the_candidate_sent() {
    let xml = rendered(&driven_card(), Format::Junit);
    let bad: Vec<char> = xml
        .chars()
        .filter(|c| !assay_model::inert::xml_allows(*c))
        .collect();
    assert!(bad.is_empty(), "characters XML 1.0 forbids: {bad:?}");
    let report = quick_junit::Report::deserialize_from_str(&xml)
        .unwrap_or_else(|e| panic!("junit.xml does not parse: {e}"));
    assert_eq!(report.tests, 8);
    assert!(xml.contains("&lt;U+FFFE&gt;"), "U+FFFE shown as a marker");
    assert!(!xml.contains('\u{1b}'), "no ESC in XML");
}

#[test]
fn markdown_drives_no_ci_runner_nor_mentions() {
    let md = rendered(&driven_card(), Format::Markdown);
    for line in md.lines() {
        let trimmed = line.trim_start();
        assert!(!trimmed.starts_with("::"), "workflow command line: {line}");
        assert!(!line.contains("##["), "workflow command in: {line}");
    }
    assert!(!md.contains('\u{1b}'), "no ESC in Markdown");
    assert!(!md.contains("@team"), "a mention got through");
    assert!(!md.contains("http://evil"), "an autolink got through");
    assert!(!md.contains("www.evil"), "an autolink got through");
    assert!(
        md.contains("\\::error::pwned"),
        "the command is shown, broken"
    );
}

/// Each skill's own coverage (its weight from checks where it weighs most) is in every
/// report: languages here rides only on an API check, so none of its evidence is its own.
#[test]
fn every_report_shows_each_skills_own_coverage() {
    let card = card();
    let languages = card.skill(Skill::Languages).expect("languages");
    assert_eq!((languages.own_weight, languages.own_coverage), (0.0, 0.0));
    let api = card.skill(Skill::ApiDesign).expect("api design");
    assert_eq!((api.own_weight, api.own_coverage), (4.0, 1.0));

    let md = rendered(&card, Format::Markdown);
    assert!(md.contains("| Skill | Score | Checks passed | Coverage | Own evidence | Summary |"));
    assert!(md.contains("| Languages | **"), "{md}");
    let languages_row = md
        .lines()
        .find(|l| l.starts_with("| Languages |"))
        .expect("a languages row");
    assert!(languages_row.contains("| 1 | 0% |"), "{languages_row}");

    let html = rendered(&card, Format::Html);
    assert!(html.contains("0% own evidence, 0 of 1 weight"), "html");
    assert!(html.contains("100% own evidence, 4 of 4 weight"), "html");
    assert!(html.contains("<td>secondary</td>") && html.contains("<td>own</td>"));

    let junit = rendered(&card, Format::Junit);
    assert!(
        junit.contains(r#"name="skill.languages.own_coverage" value="0""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"name="skill.api-design.own_coverage" value="1""#),
        "{junit}"
    );
    assert!(junit.contains("Languages: "), "{junit}");

    let gradescope = rendered(&card, Format::Gradescope);
    assert!(
        gradescope.contains("Languages: ") && gradescope.contains("0% own evidence, 0 of 1 weight"),
        "{gradescope}"
    );
}

/// A check with nothing to judge is shown as "not assessed" in every format, with its
/// reason, and never as a failure.
#[test]
fn a_not_assessed_check_is_shown_as_such_everywhere() {
    let mut results = results();
    results.checks[0] = CheckOutcome::not_assessed(
        "api.list",
        "api",
        "no test runner in any stage <of> the Dockerfile",
        Vec::new(),
    );
    let card = grade(&results, &plan(), None).unwrap_or_else(|e| panic!("grade: {e}"));
    assert_eq!(card.count(Status::NotAssessed), 1);

    let md = rendered(&card, Format::Markdown);
    assert!(md.contains("1 not assessed."), "{md}");
    assert!(md.contains("## Not assessed (1)"), "{md}");
    let attention = md
        .split("## Checks needing attention")
        .nth(1)
        .and_then(|s| s.split("## Not assessed").next())
        .unwrap_or_default();
    assert!(!attention.contains("api.list"), "{attention}");

    let html = rendered(&card, Format::Html);
    assert!(html.contains(r#"id="not-assessed""#));
    assert!(html.contains(r#"<span class="pill not_assessed">not assessed</span>"#));
    assert!(html.contains("&lt;of&gt;"), "the reason is escaped");

    let junit = rendered(&card, Format::Junit);
    assert!(junit.contains(r#"type="not_assessed""#), "{junit}");
    assert!(junit.contains("not assessed: no test runner"), "{junit}");

    let gradescope: serde_json::Value =
        serde_json::from_str(&rendered(&card, Format::Gradescope)).expect("json");
    let test = &gradescope["tests"][0];
    assert_eq!(test["max_score"], 0.0);
    assert_eq!(test["status"], "passed");

    let json: serde_json::Value =
        serde_json::from_str(&rendered(&card, Format::Json)).expect("json");
    assert_eq!(json["checks"][0]["status"], "not_assessed");
}
