//! `repository` checks: rules about the submitted repository, read through
//! [`crate::RepoView`] (read-only, capped): README, tests, migrations, Dockerfile practice,
//! history quality, nothing generated tracked, the detected stack, dependency manifests and
//! lockfiles, and versioned migrations.

mod dependencies;
mod dockerfile;
mod stack;
mod versioned;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use assay_format::{HistoryRule, ReadmeRule, RepositoryRule};
use assay_model::{Evidence, truncate_text};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::checks::security::{first_n, partial};
use crate::context::{CheckCx, Verdict};
use crate::repo::{RepoFile, RepoView};

/// Bytes read of a README, manifest or source file.
pub(crate) const TEXT_CAP: usize = 256 << 10;
/// Files named in evidence.
const EVIDENCE_FILES: usize = 10;
/// Source files read looking for SQL DDL.
const MAX_DDL_FILES: usize = 1_000;

/// Directories of dependencies and build outputs: never the candidate's own work.
const VENDORED: &[&str] = &[
    "node_modules",
    "vendor",
    ".venv",
    "venv",
    "site-packages",
    "target",
    "dist",
    "build",
    "__pycache__",
    ".git",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".next",
];

pub async fn run(cx: &mut CheckCx<'_, '_>, rule: &RepositoryRule) -> Verdict {
    let Some(repo) = cx.shared.repo.clone() else {
        return Verdict::error("no repository to inspect");
    };
    let repo = repo.as_ref();
    match rule {
        RepositoryRule::Readme(r) => readme(cx, repo, r),
        RepositoryRule::Tests(globs) => tests(cx, repo, globs),
        RepositoryRule::RunTests(rule) => run_tests(cx, repo, rule).await,
        RepositoryRule::Migrations(globs) => migrations(cx, repo, globs),
        RepositoryRule::Dockerfile(rule) => {
            let path = cx.shared.assessment.file.submission.dockerfile.clone();
            dockerfile::run(cx, repo, *rule, &path)
        }
        RepositoryRule::History(h) => history(cx, repo, h),
        RepositoryRule::NoTracked(globs) => no_tracked(cx, repo, globs),
        RepositoryRule::Stack(s) => stack::run(cx, repo, s),
        RepositoryRule::Dependencies(_) => {
            let path = cx.shared.assessment.file.submission.dockerfile.clone();
            dependencies::run(cx, repo, &path)
        }
        RepositoryRule::VersionedMigrations(rule) => versioned::run(cx, repo, rule),
    }
}

/// The candidate's tests, with the command the assessment gives for the submission's main
/// language, where they can run ([`dockerfile::test_place`]): the Dockerfile's `test` stage,
/// else the service's image when it is the only stage, else the build stage the final image
/// copies from; else "not assessed" with the reason. A slim final image never costs points.
async fn run_tests(
    cx: &mut CheckCx<'_, '_>,
    repo: &dyn RepoView,
    rule: &assay_format::RunTestsRule,
) -> Verdict {
    let Some(language) = stack::main_language(repo) else {
        return Verdict::not_assessed("no source language recognised, so no test command applies");
    };
    let Some(command) = rule.commands.get(language) else {
        return Verdict::not_assessed(format!(
            "the assessment gives no test command for {language}"
        ));
    };
    let path = cx.shared.assessment.file.submission.dockerfile.clone();
    let place = match read_text(repo, &path) {
        Some(text) => dockerfile::test_place(&text),
        None => dockerfile::TestPlace::ServiceImage,
    };
    if let dockerfile::TestPlace::Nowhere(why) = &place {
        return Verdict::not_assessed(format!("the tests cannot run anywhere: {why}"));
    }
    let whence = place.describe();
    cx.evidence
        .note(format!("main language {language}: `{command}` in {whence}"));
    let argv = vec!["sh".to_owned(), "-c".to_owned(), command.clone()];
    let started = std::time::Instant::now();
    let ran = match &place {
        dockerfile::TestPlace::TestStage(stage) | dockerfile::TestPlace::BuildStage(stage) => {
            cx.shared
                .service
                .exec_in_stage(stage, &argv, rule.timeout.0)
                .await
        }
        _ => cx
            .shared
            .service
            .exec(&argv, rule.timeout.0)
            .await
            .map(crate::service::StageRun::Ran),
    };
    let out = match ran {
        Ok(crate::service::StageRun::Ran(o)) => o,
        Ok(crate::service::StageRun::NotBuilt { reason, log }) => {
            cx.evidence.push(Evidence::Log {
                source: "build".into(),
                excerpt: log,
            });
            // A `test` stage that does not build usually runs the tests while building:
            // they failed. The build stage built already (the final image needs it).
            return match place {
                dockerfile::TestPlace::TestStage(stage) => {
                    Verdict::fail(format!("the `{stage}` stage did not build: {reason}"))
                }
                _ => Verdict::not_assessed(format!("{whence} did not build again: {reason}")),
            };
        }
        Err(e) => return Verdict::error(format!("could not run the tests: {e}")),
    };
    let seconds = started.elapsed().as_secs_f64();
    cx.evidence.push(Evidence::Log {
        source: "tests".into(),
        excerpt: out.output.clone(),
    });
    match out.exit_code {
        Some(0) => Verdict::pass(format!("`{command}` passed in {seconds:.1} s in {whence}")),
        // 127: the shell found no such program: no test toolchain where the tests ran (a
        // compiled service's slim image), which is a packaging choice, not failing tests.
        Some(127) => Verdict::not_assessed(format!(
            "`{command}`: no test runner for {language} in {whence} (exit 127), and the \
             Dockerfile has no `test` stage or build stage that holds one"
        )),
        Some(code) => Verdict::fail(format!("`{command}` exited with code {code} in {whence}")),
        None => Verdict::fail(format!(
            "`{command}` did not finish within {} s in {whence}",
            rule.timeout.0.as_secs()
        )),
    }
}

/// The repository's files, vendored code (dependencies checked in) left out.
pub(crate) fn own_files(repo: &dyn RepoView) -> Vec<String> {
    repo.files()
        .into_iter()
        .map(|f| f.path)
        .filter(|p| !vendored(p))
        .collect()
}

/// Whether `path` lies in a dependency or build directory.
pub(crate) fn vendored(path: &str) -> bool {
    let mut segs: Vec<&str> = path.split('/').collect();
    segs.pop();
    segs.iter().any(|s| VENDORED.contains(s))
}

/// Globs matched against whole paths; a pattern without `/` also matches a file's name
/// anywhere (as in `.gitignore`). `*` does not cross `/`; `**` does.
pub(crate) struct Globs {
    full: GlobSet,
    name: GlobSet,
}

impl Globs {
    pub(crate) fn new(patterns: &[String]) -> Result<Self, String> {
        let mut full = GlobSetBuilder::new();
        let mut name = GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim().trim_start_matches("./");
            let glob = GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("`{p}` is not a valid glob: {e}"))?;
            if !p.contains('/') {
                name.add(glob.clone());
            }
            full.add(glob);
        }
        Ok(Self {
            full: full.build().map_err(|e| e.to_string())?,
            name: name.build().map_err(|e| e.to_string())?,
        })
    }

    pub(crate) fn is_match(&self, path: &str) -> bool {
        let base = path.rsplit('/').next().unwrap_or(path);
        self.full.is_match(path) || self.name.is_match(base)
    }
}

fn file_evidence(cx: &CheckCx<'_, '_>, paths: &[String], note: Option<&str>) {
    for p in paths.iter().take(EVIDENCE_FILES) {
        cx.evidence.push(Evidence::File {
            path: p.clone(),
            line: None,
            excerpt: note.map(str::to_owned),
        });
    }
    if paths.len() > EVIDENCE_FILES {
        cx.evidence
            .note(format!("{} more not listed", paths.len() - EVIDENCE_FILES));
    }
}

/// A file's text, lossy, at most [`TEXT_CAP`] bytes; None for binaries.
pub(crate) fn read_text(repo: &dyn RepoView, path: &str) -> Option<String> {
    let bytes = repo.read(path, TEXT_CAP)?;
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Files present now as tracked; every file when there is no git repository.
fn tracked(repo: &dyn RepoView) -> Vec<RepoFile> {
    let has_git = repo.commits().is_ok();
    repo.files()
        .into_iter()
        .filter(|f| f.tracked || !has_git)
        .collect()
}

// ----- readme --------------------------------------------------------------------------

fn readme(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, rule: &ReadmeRule) -> Verdict {
    let files = repo.files();
    let found = files
        .iter()
        .filter(|f| !f.path.contains('/') && f.path.to_ascii_lowercase().starts_with("readme"))
        .min_by_key(|f| {
            let lower = f.path.to_ascii_lowercase();
            let rank = if lower.ends_with(".md") || lower.ends_with(".markdown") {
                0
            } else if lower == "readme" || lower.ends_with(".txt") || lower.ends_with(".rst") {
                1
            } else {
                2
            };
            (rank, f.path.clone())
        });
    let Some(file) = found else {
        return Verdict::fail("no README at the root of the repository");
    };
    let Some(text) = read_text(repo, &file.path) else {
        return Verdict::fail(format!("{} cannot be read as text", file.path));
    };
    let words = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    let min = rule.min_words.max(1) as usize;
    let length_credit = (words as f64 / min as f64).min(1.0);
    let mut found_topics = Vec::new();
    let mut missing = Vec::new();
    for (topic, alternatives) in &rule.topics {
        let patterns: Vec<Regex> = alternatives
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .filter_map(|alt| {
                let boundary = if alt.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                    r"\b"
                } else {
                    ""
                };
                Regex::new(&format!("(?i){boundary}{}", regex::escape(alt))).ok()
            })
            .collect();
        // The first line that mentions the topic in any of its words.
        let hit = text
            .lines()
            .enumerate()
            .find(|(_, l)| patterns.iter().any(|re| re.is_match(l)))
            .map(|(i, l)| (i + 1, l.trim().to_owned()));
        match hit {
            Some((line, excerpt)) => {
                cx.evidence.push(Evidence::File {
                    path: file.path.clone(),
                    line: u32::try_from(line).ok(),
                    excerpt: Some(format!("{topic}: {}", truncate_text(&excerpt, 200).0)),
                });
                found_topics.push(topic.clone());
            }
            None => missing.push(topic.clone()),
        }
    }
    let shares = rule.topics.len() + 1;
    let credit = (length_credit + found_topics.len() as f64) / shares as f64;
    let all = words >= min && missing.is_empty();
    cx.evidence.note(format!(
        "{}: {words} words (at least {min} expected)",
        file.path
    ));
    let mut msg = format!("{}: {words} words (min {min})", file.path);
    if !rule.topics.is_empty() {
        msg.push_str(&format!(
            "; topics found: {}",
            if found_topics.is_empty() {
                "none".to_owned()
            } else {
                found_topics.join(", ")
            }
        ));
        if !missing.is_empty() {
            msg.push_str(&format!("; missing: {}", missing.join(", ")));
        }
    }
    partial(credit, all, msg)
}

// ----- tests and migrations ------------------------------------------------------------

fn matching(repo: &dyn RepoView, globs: &Globs) -> Vec<String> {
    repo.files()
        .into_iter()
        .filter(|f| !vendored(&f.path) && globs.is_match(&f.path))
        .map(|f| f.path)
        .collect()
}

fn tests(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, patterns: &[String]) -> Verdict {
    let globs = match Globs::new(patterns) {
        Ok(g) => g,
        Err(e) => return Verdict::error(e),
    };
    let found = matching(repo, &globs);
    if found.is_empty() {
        // Rust's convention keeps unit tests beside the code (`#[cfg(test)]` modules): no
        // file name says "test", the source does.
        let inline = inline_tests(repo);
        if !inline.is_empty() {
            file_evidence(cx, &inline, Some("inline test module"));
            return Verdict::pass(format!(
                "no test files match, but {} source file{} hold inline tests, e.g. {}",
                inline.len(),
                if inline.len() == 1 { "" } else { "s" },
                first_n(&inline, 3)
            ));
        }
        return Verdict::fail(format!(
            "no test files: nothing matches {} and no source file holds inline tests",
            patterns.join(", ")
        ));
    }
    file_evidence(cx, &found, None);
    Verdict::pass(format!(
        "{} test file{} found, e.g. {}",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        first_n(&found, 3)
    ))
}

/// Source files with inline test modules (Rust's `#[cfg(test)]`, `#[test]`).
fn inline_tests(repo: &dyn RepoView) -> Vec<String> {
    repo.files()
        .into_iter()
        .filter(|f| !vendored(&f.path) && f.path.ends_with(".rs"))
        .take(MAX_DDL_FILES)
        .filter(|f| {
            read_text(repo, &f.path).is_some_and(|t| {
                t.contains("#[cfg(test)]") || t.contains("#[test]") || t.contains("::test]")
            })
        })
        .map(|f| f.path)
        .collect()
}

/// SQL DDL, or a schema the service creates through its ORM or migration tool at start-up
/// (the contract's "or an equivalent"): SQLAlchemy's `create_all`, GORM's `AutoMigrate`,
/// EF Core's `EnsureCreated`/`Migrate`, Sequelize's `sync`, TypeORM's `synchronize: true`,
/// Hibernate's `ddl-auto`, sqlx's and refinery's embedded migrations.
static DDL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bcreate\s+table\b|\bcreate_all\s*\(|\bAutoMigrate\s*\(|\bEnsureCreated(?:Async)?\s*\(|\bDatabase\.Migrate(?:Async)?\s*\(|\bsequelize\.sync\s*\(|\bsynchronize\s*:\s*true\b|\bddl-auto\b|\bsqlx::migrate!|\bembed_migrations!",
    )
    .ok()
});

/// Extensions of files that may hold SQL DDL.
pub(crate) const DDL_EXTENSIONS: &[&str] = &[
    "sql",
    "py",
    "js",
    "mjs",
    "cjs",
    "ts",
    "go",
    "rs",
    "java",
    "kt",
    "rb",
    "php",
    "cs",
    "ex",
    "exs",
    "scala",
    "properties",
    "yml",
    "yaml",
    "prisma",
];

/// Folders where schema files live.
const SCHEMA_DIRS: &[&str] = &[
    "migrations",
    "migration",
    "migrate",
    "schema",
    "schemas",
    "db",
    "database",
    "sql",
];

fn migrations(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, patterns: &[String]) -> Verdict {
    let globs = match Globs::new(patterns) {
        Ok(g) => g,
        Err(e) => return Verdict::error(e),
    };
    let found = matching(repo, &globs);
    if !found.is_empty() {
        file_evidence(cx, &found, None);
        return Verdict::pass(format!(
            "{} migration file{} found, e.g. {}",
            found.len(),
            if found.len() == 1 { "" } else { "s" },
            first_n(&found, 3)
        ));
    }
    // SQL DDL: schema folders first, then any source file.
    let Some(ddl) = DDL.as_ref() else {
        return Verdict::error("the DDL pattern does not compile");
    };
    let mut candidates: Vec<(bool, String)> = repo
        .files()
        .into_iter()
        .filter(|f| !vendored(&f.path))
        .filter(|f| {
            let ext = f.path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            ext.is_some_and(|e| DDL_EXTENSIONS.contains(&e.as_str()))
        })
        .map(|f| {
            let in_schema_dir = f
                .path
                .split('/')
                .rev()
                .skip(1)
                .any(|s| SCHEMA_DIRS.contains(&s.to_ascii_lowercase().as_str()));
            (!in_schema_dir, f.path)
        })
        .collect();
    candidates.sort();
    let mut hits = Vec::new();
    for (_, path) in candidates.iter().take(MAX_DDL_FILES) {
        let Some(text) = read_text(repo, path) else {
            continue;
        };
        if let Some((i, line)) = text.lines().enumerate().find(|(_, l)| ddl.is_match(l)) {
            hits.push(path.clone());
            if hits.len() <= EVIDENCE_FILES {
                cx.evidence.push(Evidence::File {
                    path: path.clone(),
                    line: u32::try_from(i + 1).ok(),
                    excerpt: Some(truncate_text(line.trim(), 200).0),
                });
            }
        }
    }
    if hits.is_empty() {
        return Verdict::fail(format!(
            "no migrations: nothing matches {} and no source file creates a table or the schema",
            patterns.join(", ")
        ));
    }
    Verdict::pass(format!(
        "no migration files match {}, but {} file{} create the schema (SQL DDL or the ORM's own tool): {}",
        patterns.join(", "),
        hits.len(),
        if hits.len() == 1 { "" } else { "s" },
        first_n(&hits, 3)
    ))
}

// ----- history -------------------------------------------------------------------------

/// Subjects that say nothing.
const EMPTY_SUBJECTS: &[&str] = &[
    "wip",
    "fix",
    "fixes",
    "fixed",
    "update",
    "updates",
    "updated",
    "change",
    "changes",
    "stuff",
    "asdf",
    "misc",
    "test",
    "tests",
    "testing",
    "initial commit",
    "initial",
    "init",
    "first commit",
    "commit",
    "tmp",
    "temp",
    "minor",
    "more",
    "done",
    "final",
    "save",
    "work",
    "progress",
    "cleanup",
    "refactor",
    "fix bug",
    "bug fix",
    "small fix",
    "minor fix",
    "minor changes",
    "some changes",
    "more changes",
    "more stuff",
    "update code",
    "update files",
    "add files",
    "added files",
    "upload files",
    "add files via upload",
    "",
];

/// Whether a commit subject tells a reader something.
pub(crate) fn meaningful_subject(subject: &str) -> bool {
    let s = subject.trim();
    let normal: String = s
        .to_lowercase()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned();
    if EMPTY_SUBJECTS.contains(&normal.as_str()) {
        return false;
    }
    if normal.chars().all(|c| !c.is_alphanumeric()) {
        return false;
    }
    s.split_whitespace().count() >= 3 || s.chars().count() >= 15
}

fn history(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, rule: &HistoryRule) -> Verdict {
    let commits = match repo.commits() {
        Ok(c) => c,
        Err(why) => return Verdict::fail(format!("no git history: {why}")),
    };
    if commits.is_empty() {
        return Verdict::fail("the repository has no commits");
    }
    let n = commits.len();
    let count_ok = n >= rule.min_commits as usize;
    let judged: Vec<&crate::repo::RepoCommit> = commits
        .iter()
        .filter(|c| {
            let s = c.subject.trim_start();
            !(s.starts_with("Merge branch ")
                || s.starts_with("Merge pull request ")
                || s.starts_with("Merge remote-tracking branch "))
        })
        .collect();
    let poor: Vec<String> = judged
        .iter()
        .filter(|c| !meaningful_subject(&c.subject))
        .map(|c| format!("`{}`", truncate_text(c.subject.trim(), 80).0))
        .collect();
    let share = if judged.is_empty() {
        0.0
    } else {
        (judged.len() - poor.len()) as f64 / judged.len() as f64
    };
    let quality_ok = !judged.is_empty() && share + 1e-9 >= rule.message_quality;
    cx.evidence.note(format!(
        "{n} commit{} (at least {} expected)",
        if n == 1 { "" } else { "s" },
        rule.min_commits
    ));
    cx.evidence.note(format!(
        "{} of {} subjects are meaningful ({:.0}%, at least {:.0}% expected){}",
        judged.len() - poor.len(),
        judged.len(),
        share * 100.0,
        rule.message_quality * 100.0,
        if poor.is_empty() {
            String::new()
        } else {
            format!("; uninformative: {}", first_n(&poor, 10))
        }
    ));
    let credit = (f64::from(u8::from(count_ok)) + f64::from(u8::from(quality_ok))) / 2.0;
    let mut problems = Vec::new();
    if !count_ok {
        problems.push(format!(
            "{n} commit{} (at least {} expected)",
            if n == 1 { "" } else { "s" },
            rule.min_commits
        ));
    }
    if !quality_ok {
        problems.push(format!(
            "{:.0}% of subjects are meaningful (at least {:.0}% expected)",
            share * 100.0,
            rule.message_quality * 100.0
        ));
    }
    partial(
        credit,
        problems.is_empty(),
        if problems.is_empty() {
            format!(
                "{n} commits, {:.0}% with meaningful subjects",
                share * 100.0
            )
        } else {
            problems.join("; ")
        },
    )
}

// ----- no_tracked ----------------------------------------------------------------------

fn no_tracked(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, patterns: &[String]) -> Verdict {
    let globs = match Globs::new(patterns) {
        Ok(g) => g,
        Err(e) => return Verdict::error(e),
    };
    let now: Vec<String> = tracked(repo)
        .into_iter()
        .filter(|f| globs.is_match(&f.path))
        .map(|f| f.path)
        .collect();
    let now_set: BTreeSet<&str> = now.iter().map(String::as_str).collect();
    let past: BTreeSet<String> = repo
        .history_paths()
        .into_iter()
        .filter(|p| !now_set.contains(p.as_str()) && globs.is_match(p))
        .collect();
    let past: Vec<String> = past.into_iter().collect();
    if now.is_empty() && past.is_empty() {
        return Verdict::pass(format!("nothing tracked matches {}", patterns.join(", ")));
    }
    file_evidence(cx, &now, Some("tracked now"));
    file_evidence(cx, &past, Some("tracked in history"));
    let mut problems = Vec::new();
    if !now.is_empty() {
        problems.push(format!(
            "{} tracked path{} match: {}",
            now.len(),
            if now.len() == 1 { "" } else { "s" },
            first_n(&now, 3)
        ));
    }
    if !past.is_empty() {
        problems.push(format!(
            "{} path{} in history match: {}",
            past.len(),
            if past.len() == 1 { "" } else { "s" },
            first_n(&past, 3)
        ));
    }
    Verdict::fail(problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_paths_and_names() {
        let g = Globs::new(&[
            "**/node_modules/**".to_owned(),
            "*.pyc".to_owned(),
            "tests/**".to_owned(),
        ])
        .expect("globs");
        assert!(g.is_match("node_modules/a/b.js"));
        assert!(g.is_match("web/node_modules/a.js"));
        assert!(g.is_match("app/__pycache__/x.cpython-312.pyc"));
        assert!(g.is_match("tests/test_api.py"));
        assert!(!g.is_match("src/tests.rs"));
        assert!(!g.is_match("app/main.py"));
    }

    #[test]
    fn meaningful_subjects() {
        for s in [
            "wip",
            "fix",
            ".",
            "Initial commit",
            "update",
            "asdf",
            "misc.",
        ] {
            assert!(!meaningful_subject(s), "{s}");
        }
        for s in [
            "Add transfers endpoint",
            "Handle idempotency key reuse",
            "Dockerfile: run as app user",
        ] {
            assert!(meaningful_subject(s), "{s}");
        }
    }

    #[test]
    fn vendored_paths() {
        assert!(vendored("node_modules/x/index.js"));
        assert!(vendored("app/.venv/lib/a.py"));
        assert!(!vendored("src/build.rs"));
        assert!(!vendored("target"));
    }
}
