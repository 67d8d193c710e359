//! The HTML report in a real browser: headless Chromium loads `report.html` rendered from a
//! scorecard full of hostile candidate text, and the DOM and a screenshot are checked.
//! Without Chromium (`apt-get install -y chromium`) these tests skip, unless
//! `ASSAY_REQUIRE_DOCKER=1` (the full tier, as `make test`), where they fail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assay_grader::{Scorecard, grade};
use assay_model::{
    AssessmentRef, CheckOutcome, Evidence, GradingPlan, Profile, RequestRecord, ResponseRecord,
    RunResults, RunnerInfo, SandboxReport, Skill, Status, SubmissionRef, Visibility,
};
use assay_report::{Format, render, write_all};
use assay_testkit::values::{planned, timed};

/// Markup that would mark the page if it ever ran.
const HOSTILE: &str = "<script>document.body.setAttribute('data-pwned','1')</script>";
const HOSTILE_IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2000;
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

fn exchange(method: &str, path: &str, status: u16, body: &str) -> Evidence {
    Evidence::Exchange {
        request: RequestRecord {
            method: method.to_owned(),
            url: format!("http://sut:8080{path}"),
            headers: vec![("accept".to_owned(), "application/json".to_owned())],
            body: None,
        },
        response: Some(ResponseRecord {
            status,
            headers: vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-debug".to_owned(), HOSTILE_IMG.to_owned()),
            ],
            body: body.to_owned(),
            body_truncated: false,
            elapsed_ms: 4.2,
        }),
        error: None,
    }
}

/// A realistic run of a Todo API assessment, with hostile text wherever a candidate
/// controls it: submission name, responses, headers, logs, file names, messages.
fn scorecard() -> Scorecard {
    let plan = GradingPlan {
        checks: vec![
            planned(
                "api.list",
                "api",
                "Lists todos with pagination",
                &[(Skill::ApiDesign, 2.0), (Skill::Languages, 1.0)],
                Visibility::Visible,
            ),
            planned(
                "api.create",
                "api",
                "Creates a todo and returns 201",
                &[(Skill::ApiDesign, 1.0), (Skill::Frameworks, 1.0)],
                Visibility::Visible,
            ),
            planned(
                "api.errors",
                "api",
                "Problem+JSON error bodies",
                &[(Skill::ApiDesign, 1.0), (Skill::Communication, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "sec.auth",
                "security",
                "Rejects forged JWTs",
                &[(Skill::Security, 2.0)],
                Visibility::Hidden,
            ),
            planned(
                "sec.sqli",
                "security",
                "Resists SQL injection",
                &[(Skill::Security, 1.0), (Skill::Databases, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "db.persist",
                "db",
                "Persists across restart",
                &[(Skill::Databases, 2.0), (Skill::Devops, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "db.migrate",
                "db",
                "Ships migrations",
                &[(Skill::Databases, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "perf.load",
                "perf",
                "Sustains 200 requests/s",
                &[(Skill::Performance, 2.0), (Skill::ProblemSolving, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "ops.health",
                "ops",
                "Health endpoint",
                &[(Skill::Devops, 1.0)],
                Visibility::Visible,
            ),
            planned(
                "ops.nonroot",
                "ops",
                "Runs as a non-root user",
                &[(Skill::Devops, 1.0), (Skill::Security, 0.5)],
                Visibility::Hidden,
            ),
            planned(
                "repo.history",
                "repo",
                "Readable commit history",
                &[(Skill::Communication, 1.0)],
                Visibility::Hidden,
            ),
            planned(
                "repo.readme",
                "repo",
                "README explains how to run it",
                &[(Skill::Communication, 1.0)],
                Visibility::Hidden,
            ),
        ],
        profiles: vec![Profile {
            id: "backend".to_owned(),
            title: "Backend engineer".to_owned(),
            weights: [
                (Skill::Languages, 1.0),
                (Skill::Databases, 2.0),
                (Skill::ApiDesign, 2.0),
                (Skill::Devops, 1.0),
                (Skill::Security, 2.0),
                (Skill::VersionControl, 0.5),
                (Skill::ProblemSolving, 1.0),
                (Skill::Performance, 1.0),
                (Skill::Frameworks, 1.0),
                (Skill::Communication, 1.0),
            ]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
            pass_mark: 65.0,
        }],
        default_profile: "backend".to_owned(),
    };
    let checks = vec![
        timed(
            CheckOutcome::pass(
                "api.list",
                "api",
                "paged through 120 todos in pages of 20",
                vec![exchange(
                    "GET",
                    "/todos?page=2",
                    200,
                    &format!("[{{\"id\":21,\"title\":\"{HOSTILE}\"}}]"),
                )],
            ),
            48,
        ),
        timed(
            CheckOutcome::pass(
                "api.create",
                "api",
                "201 with a Location header",
                vec![exchange("POST", "/todos", 201, "{\"id\":121}")],
            ),
            12,
        ),
        timed(
            CheckOutcome::fail(
                "api.errors",
                "api",
                "a 404 came back as text/html | not problem+json",
                vec![exchange(
                    "GET",
                    "/todos/999",
                    404,
                    "<h1>Not Found</h1><script>alert(1)</script>",
                )],
            ),
            9,
        ),
        timed(
            CheckOutcome::fail(
                "sec.auth",
                "security",
                "a token signed with `alg: none` was accepted",
                vec![Evidence::Note {
                    text: format!("expected 401, got 200; body: {HOSTILE}"),
                }],
            ),
            22,
        ),
        timed(
            CheckOutcome::pass(
                "sec.sqli",
                "security",
                "no injection through ?q=",
                vec![Evidence::Query {
                    sql: "SELECT count(*) FROM todos".to_owned(),
                    rows: vec![vec!["120".to_owned()]],
                }],
            ),
            31,
        ),
        timed(
            CheckOutcome::pass("db.persist", "db", "120 todos survived a restart", vec![]),
            5400,
        ),
        timed(
            CheckOutcome::error(
                "db.migrate",
                "db",
                "the migration tool exited with 1",
                vec![Evidence::Log {
                    source: "migrate".to_owned(),
                    excerpt: format!("error: relation \"todos\" already exists {HOSTILE_IMG}"),
                }],
            ),
            800,
        ),
        timed(
            CheckOutcome::with(
                "perf.load",
                "perf",
                Status::Fail,
                0.6,
                "sustained 140 requests/s of the 200 targeted",
                vec![
                    Evidence::Measurement {
                        name: "throughput".to_owned(),
                        value: 140.0,
                        unit: "req/s".to_owned(),
                        target: Some(200.0),
                        floor: Some(50.0),
                    },
                    Evidence::Measurement {
                        name: "p99 latency".to_owned(),
                        value: 180.5,
                        unit: "ms".to_owned(),
                        target: Some(100.0),
                        floor: Some(500.0),
                    },
                ],
            ),
            30000,
        ),
        timed(
            CheckOutcome::pass("ops.health", "ops", "GET /health answered 200", vec![]),
            3,
        ),
        timed(
            CheckOutcome::fail(
                "ops.nonroot",
                "ops",
                "the image runs as root",
                vec![Evidence::File {
                    path: "Dockerfile<b>".to_owned(),
                    line: Some(1),
                    excerpt: Some("FROM rust:1.95 # no USER line".to_owned()),
                }],
            ),
            1,
        ),
        timed(
            CheckOutcome::pass(
                "repo.history",
                "repo",
                "14 commits with descriptive messages",
                vec![],
            ),
            40,
        ),
        CheckOutcome::skipped("repo.readme", "repo", "no README.md in the submission"),
    ];
    let results = RunResults {
        assessment: AssessmentRef {
            id: "todo-api".to_owned(),
            version: "2.1.0".to_owned(),
            title: "Todo API".to_owned(),
        },
        submission: SubmissionRef {
            name: format!("alice {HOSTILE}"),
            digest: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .to_owned(),
        },
        sandbox: SandboxReport {
            image_built: true,
            became_healthy: true,
            build_cached: false,
            build_seconds: 48.3,
            startup_seconds: Some(1.9),
            peak_memory_bytes: Some(187_695_104),
            cpu_seconds: Some(61.2),
            runs_as_root: Some(true),
            image_id: Some(
                "sha256:3c1f0b0f4e0b2d7a9e2f6c11b8f2a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
                    .to_owned(),
            ),
            failure: None,
            build_log: format!(
                "#1 [internal] load build definition from Dockerfile\n#5 [build 2/4] RUN cargo build --release\n#5 41.2 Compiling todo-api v0.1.0\n#5 47.9 Finished release [optimized]\n#6 echo {HOSTILE}\n#7 exporting to image"
            ),
            service_log: format!(
                "2026-03-04T05:06:09Z INFO listening on 0.0.0.0:8080\n2026-03-04T05:06:15Z WARN slow query (212 ms)\n2026-03-04T05:06:20Z ERROR {HOSTILE_IMG}"
            ),
            performance_lane: None,
            calibration: None,
        },
        checks,
        seed: 1_234_567,
        runner: RunnerInfo {
            version: "0.1.0".to_owned(),
            images: [("postgres:16".to_owned(), "sha256:5b0d1a2c".to_owned())]
                .into_iter()
                .collect(),
        },
        started_at: "2026-03-04T05:05:12Z".to_owned(),
        duration_seconds: 96.4,
    };
    grade(&results, &plan, None).unwrap_or_else(|e| panic!("grade: {e}"))
}

/// A screenshot of `url` by headless Chromium at WIDTH x HEIGHT, checked to show a page (many
/// colours, a fifth of it inked); its PNG bytes.
fn screenshot_that_is_not_blank(url: &str, profile: &Path, dir: &Path) -> Vec<u8> {
    let shot = dir.join("report.png");
    run_chromium(
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
            url.to_owned(),
        ],
        profile,
        &dir.join("screenshot.out"),
    );
    let bytes =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    let (width, height, colours, inked) = png_stats(&bytes);
    assert_eq!((width, height), (WIDTH, HEIGHT));
    assert!(
        colours > 200,
        "only {colours} distinct colours: the page looks blank"
    );
    assert!(
        inked > 0.2,
        "only {:.0}% of the page differs from its background",
        inked * 100.0
    );
    bytes
}

/// The Chromium binary (`$CHROMIUM`, or `chromium` on the PATH), found by the tier's gate
/// that each test passed first (`require_chromium!`).
fn chromium() -> PathBuf {
    assay_testkit::require_chromium()
        .unwrap_or_else(|| panic!("the test did not pass `require_chromium!()` first"))
}

/// Runs Chromium headless with `args`, its stdout into `stdout`, within a time limit.
fn run_chromium(args: &[String], profile: &Path, stdout: &Path) {
    let out = File::create(stdout).unwrap_or_else(|e| panic!("{}: {e}", stdout.display()));
    let err_path = stdout.with_extension("stderr");
    let err = File::create(&err_path).unwrap_or_else(|e| panic!("{}: {e}", err_path.display()));
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start Chromium: {e}; install it with `apt-get install -y chromium`")
        });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
                assert!(status.success(), "Chromium failed ({status}): {stderr}");
                return;
            }
            Ok(None) if started.elapsed() > CHROMIUM_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("Chromium took more than {CHROMIUM_TIMEOUT:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for Chromium: {e}"),
        }
    }
}

/// Decodes an RGB(A) PNG: (width, height, distinct colours, share of pixels that are not
/// the most common colour).
fn png_stats(bytes: &[u8]) -> (u32, u32, usize, f64) {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("not a PNG: {e}"));
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or_default()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("bad PNG: {e}"));
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "expected a colour screenshot, got {:?}",
        info.color_type
    );
    let pixels = &buf[..info.buffer_size()];
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for px in pixels.chunks_exact(channels) {
        *counts.entry([px[0], px[1], px[2]]).or_default() += 1;
    }
    let total = (info.width as usize) * (info.height as usize);
    let most = counts.values().copied().max().unwrap_or(0);
    (
        info.width,
        info.height,
        counts.len(),
        1.0 - most as f64 / total.max(1) as f64,
    )
}

/// The screenshot kept in the docs must stay small.
const DOCS_PNG_MAX: usize = 300_000;

/// Re-encodes a screenshot for the docs: its 256 most frequent colours as a palette, every
/// other colour mapped to the nearest of them (a page is mostly flat colour and text, so
/// this is close to lossless), with the strongest compression.
fn recompress(bytes: &[u8]) -> Vec<u8> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("not a PNG: {e}"));
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or_default()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("bad PNG: {e}"));
    let channels = info.color_type.samples();
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|px| [px[0], px[1], px[2]])
        .collect();
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for px in &pixels {
        *counts.entry(*px).or_default() += 1;
    }
    let mut by_count: Vec<([u8; 3], usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = by_count.iter().take(256).map(|(c, _)| *c).collect();
    let distance = |a: [u8; 3], b: [u8; 3]| -> u32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (i32::from(*x) - i32::from(y)).unsigned_abs().pow(2))
            .sum()
    };
    let mut index_of: HashMap<[u8; 3], u8> = HashMap::new();
    let indices: Vec<u8> = pixels
        .iter()
        .map(|px| {
            *index_of.entry(*px).or_insert_with(|| {
                let nearest = (0..palette.len())
                    .min_by_key(|&i| distance(palette[i], *px))
                    .unwrap_or(0);
                u8::try_from(nearest).unwrap_or(0)
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, info.width, info.height);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette.concat());
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder
        .write_header()
        .unwrap_or_else(|e| panic!("encode: {e}"));
    writer
        .write_image_data(&indices)
        .unwrap_or_else(|e| panic!("encode: {e}"));
    writer.finish().unwrap_or_else(|e| panic!("encode: {e}"));
    out
}

#[test]
fn html_report_renders_safely_in_headless_chromium() {
    assay_testkit::require_chromium!();
    let card = scorecard();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let written = write_all(&card, dir.path()).unwrap_or_else(|e| panic!("write_all: {e}"));
    let html = written
        .path(Format::Html)
        .unwrap_or_else(|| panic!("no report.html written"))
        .to_owned();
    assert_eq!(
        std::fs::read_to_string(&html).unwrap_or_default(),
        render(&card, Format::Html).unwrap_or_else(|e| panic!("render: {e}"))
    );
    let url = format!("file://{}", html.display());
    let profile = dir.path().join("chromium-profile");

    // The DOM as the browser built it, after any script could have run.
    let dom_path = dir.path().join("dom.html");
    run_chromium(&["--dump-dom".to_owned(), url.clone()], &profile, &dom_path);
    let dom = std::fs::read_to_string(&dom_path).unwrap_or_default();
    assert!(dom.contains("</html>"), "no DOM dumped: {dom}");
    assert!(
        !dom.to_ascii_lowercase().contains("<script"),
        "a <script> element exists"
    );
    assert!(
        !dom.to_ascii_lowercase().contains("<img"),
        "an <img> element exists"
    );
    assert!(!dom.contains("data-pwned=\"1\""), "candidate markup ran");
    assert!(
        dom.contains(
            "alice &lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt;"
        ),
        "the hostile submission name is not shown as text"
    );
    assert!(dom.contains("&lt;h1&gt;Not Found&lt;/h1&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"));
    assert!(
        dom.contains("<title>alice &lt;script&gt;"),
        "the title was changed: {}",
        &dom[..400.min(dom.len())]
    );
    assert!(dom.contains("Content-Security-Policy"));
    for skill in Skill::ALL {
        assert!(
            dom.contains(&format!("data-skill=\"{}\"", skill.id())),
            "no row for {skill}"
        );
        assert!(dom.contains(skill.title()), "no {}", skill.title());
    }
    assert!(dom.contains("<svg class=\"radar\""), "no radar chart");
    let overall = format!("{:.1}", card.overall);
    assert!(
        dom.contains(&format!("id=\"overall-score\">{overall}</text>")),
        "overall {overall} not shown"
    );
    let verdict = if card.passed { "PASSED" } else { "FAILED" };
    assert!(
        dom.contains(&format!("id=\"verdict\">{verdict}<")),
        "verdict {verdict} not shown"
    );

    // What a person sees.
    let bytes = screenshot_that_is_not_blank(&url, &profile, dir.path());

    // `UPDATE_SCREENSHOT=1 cargo test -p assay-tests --test it reports` refreshes the one
    // in the docs.
    if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report-screenshot.png");
        let small = recompress(&bytes);
        assert!(
            small.len() <= DOCS_PNG_MAX,
            "the docs screenshot is {} bytes",
            small.len()
        );
        std::fs::write(&docs, small).unwrap_or_else(|e| panic!("{}: {e}", docs.display()));
    }
    let distinct: HashSet<&str> = card.checks.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(distinct.len(), 4, "the fixture exercises every status");
}

/// A Conduit run as the grader would see it: the real plan of `assessments/conduit` (its
/// checks, skills and profiles), every check passing but a leaked `favorited` (failed, with
/// the requests that show it), a 403 where 401 is asked (a lesser reading's partial credit)
/// and a feed load phase graded between target and floor; the Unicode the suites send
/// comes back in the evidence.
fn conduit_scorecard() -> Scorecard {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assessments/conduit");
    let assessment =
        assay_format::load(&dir).unwrap_or_else(|d| panic!("conduit is invalid:\n{d}"));
    let plan = assessment.grading_plan();
    let get = |path: &str, status: u16, body: &str| {
        let mut e = exchange("GET", path, status, body);
        if let Evidence::Exchange {
            response: Some(r), ..
        } = &mut e
        {
            r.headers.retain(|(name, _)| name != "x-debug");
        }
        e
    };
    let article = |slug: &str, title: &str, favorited: bool, count: u32| {
        format!(
            "{{\"article\":{{\"slug\":\"{slug}\",\"title\":\"{title}\",\"description\":\"d\",\"body\":\"b\",\"tagList\":[],\"createdAt\":\"2026-12-06T14:30:00.123Z\",\"updatedAt\":\"2026-12-06T14:30:00.123Z\",\"favorited\":{favorited},\"favoritesCount\":{count},\"author\":{{\"username\":\"zorbit\",\"bio\":null,\"image\":null,\"following\":true}}}}}}"
        )
    };
    let checks = plan
        .checks
        .iter()
        .map(|c| {
            let (id, suite) = (c.id.as_str(), c.suite.as_str());
            let outcome = match id {
                "viewer-favorited" => CheckOutcome::fail(
                    id,
                    suite,
                    "step 2: $.article.favorited: expected false, got true",
                    vec![
                        get("/api/articles/p-zorbit", 200, &article("p-zorbit", "P zorbit", true, 1)),
                        get("/api/articles/q-zorbit", 200, &article("q-zorbit", "Q zorbit", true, 0)),
                        Evidence::Note {
                            text: "$.article.favorited: expected false, got true (alice favourited P, not Q)".to_owned(),
                        },
                    ],
                ),
                "auth-required-401" => {
                    let mut o = CheckOutcome::with(
                        id,
                        suite,
                        Status::Fail,
                        0.5,
                        "96 requests refused as asked (partial credit 0.50: a lesser reading was accepted; see the evidence)",
                        vec![
                            get("/api/user", 403, "{\"errors\":{\"body\":[\"token missing or invalid token\"]}}"),
                            Evidence::Note {
                                text: "403 where 401 is asked: a common framework default".to_owned(),
                            },
                        ],
                    );
                    o.partial = true;
                    o
                }
                "perf-feed-pages" => CheckOutcome::with(
                    id,
                    suite,
                    Status::Pass,
                    0.8,
                    "p95 160 ms at 100 requests/s over 16 connections (target 100 ms, floor 400 ms)",
                    vec![Evidence::Measurement {
                        name: "p95 latency".to_owned(),
                        value: 160.0,
                        unit: "ms".to_owned(),
                        target: Some(100.0),
                        floor: Some(400.0),
                    }],
                ),
                "unicode-round-trip" => CheckOutcome::pass(
                    id,
                    suite,
                    "the title and body came back exactly",
                    vec![get(
                        "/api/articles/unicode-zorbit",
                        200,
                        &article("unicode-zorbit", "Ünïcödé — 日本語 ✓ zorbit", false, 0)
                            .replace("\"body\":\"b\"", "\"body\":\"Emoji 🎉, RTL שלום, combining é\""),
                    )],
                ),
                _ => CheckOutcome::pass(id, suite, "as the contract says", vec![]),
            };
            timed(outcome, 40)
        })
        .collect();
    let results = RunResults {
        assessment: AssessmentRef {
            id: "conduit".to_owned(),
            version: "1.0.0".to_owned(),
            title: "Conduit — the RealWorld blogging API (users, profiles, articles, comments, feed)"
                .to_owned(),
        },
        submission: SubmissionRef {
            name: "realworld-flask-Ünïcödé".to_owned(),
            digest: "sha256:4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"
                .to_owned(),
        },
        sandbox: SandboxReport {
            image_built: true,
            became_healthy: true,
            build_cached: true,
            build_seconds: 0.4,
            startup_seconds: Some(1.2),
            peak_memory_bytes: Some(96_468_992),
            cpu_seconds: Some(44.0),
            runs_as_root: Some(false),
            image_id: None,
            failure: None,
            build_log: "Step 1/16 : FROM debian:bookworm-slim\nSuccessfully built".to_owned(),
            service_log: "[INFO] Listening at: http://0.0.0.0:8080\nWARNING database not ready (OperationalError); retrying in 0.2 s".to_owned(),
            performance_lane: None,
            calibration: None,
        },
        checks,
        seed: 20_261_128,
        runner: RunnerInfo {
            version: "0.1.0".to_owned(),
            images: BTreeMap::new(),
        },
        started_at: "2026-12-06T14:30:00Z".to_owned(),
        duration_seconds: 151.0,
    };
    grade(&results, &plan, Some("backend-senior")).unwrap_or_else(|e| panic!("grade: {e}"))
}

/// The HTML report of a Conduit run in headless Chromium: every check of the plan is
/// listed, the failed one first with the requests that show it, the partial credit is
/// named, the suites' Unicode renders as text, and the page is not blank. The screenshot
/// is kept at `target/assay-reports/conduit-report.png` for a person to look at.
#[test]
fn conduit_html_report_renders_in_headless_chromium() {
    assay_testkit::require_chromium!();
    let card = conduit_scorecard();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let written = write_all(&card, dir.path()).unwrap_or_else(|e| panic!("write_all: {e}"));
    let html = written
        .path(Format::Html)
        .unwrap_or_else(|| panic!("no report.html written"))
        .to_owned();
    let url = format!("file://{}", html.display());
    let profile = dir.path().join("chromium-profile");

    let dom_path = dir.path().join("dom.html");
    run_chromium(&["--dump-dom".to_owned(), url.clone()], &profile, &dom_path);
    let dom = std::fs::read_to_string(&dom_path).unwrap_or_default();
    assert!(dom.contains("</html>"), "no DOM dumped: {dom}");
    assert!(dom.contains("Conduit — the RealWorld blogging API"));
    assert!(dom.contains("realworld-flask-Ünïcödé"));
    for check in &card.checks {
        assert!(
            dom.contains(&check.id),
            "check {} is not in the report",
            check.id
        );
    }
    // The failed check comes before any passed one, with the requests that show the bug.
    let failed = dom.find("viewer-favorited").unwrap_or(usize::MAX);
    let passed = dom.find("tags-ready").unwrap_or(0);
    assert!(failed < passed, "the failed check is not listed first");
    assert!(dom.contains("/api/articles/q-zorbit"));
    assert!(dom.contains("\"favoritesCount\":0") || dom.contains("&quot;favoritesCount&quot;:0"));
    assert!(
        dom.contains("partial credit 0.50"),
        "the partial credit is not named"
    );
    // A lesser reading is shown as partial, not as a failure.
    assert!(
        dom.contains("<span class=\"pill partial\">partial</span>"),
        "the partial check is not marked partial"
    );
    assert!(dom.contains("Ünïcödé — 日本語 ✓ zorbit"));
    assert!(dom.contains("Emoji 🎉, RTL שלום"));
    for skill in Skill::ALL {
        assert!(
            dom.contains(&format!("data-skill=\"{}\"", skill.id())),
            "no row for {skill}"
        );
    }
    let overall = format!("{:.1}", card.overall);
    assert!(dom.contains(&format!("id=\"overall-score\">{overall}</text>")));
    let verdict = if card.passed { "PASSED" } else { "FAILED" };
    assert!(dom.contains(&format!("id=\"verdict\">{verdict}<")));

    let bytes = screenshot_that_is_not_blank(&url, &profile, dir.path());
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/assay-reports");
    std::fs::create_dir_all(&kept).unwrap_or_else(|e| panic!("{}: {e}", kept.display()));
    std::fs::write(kept.join("conduit-report.png"), &bytes)
        .unwrap_or_else(|e| panic!("keep the screenshot: {e}"));
}
