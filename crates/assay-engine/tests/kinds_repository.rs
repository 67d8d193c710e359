//! `repository` checks over an in-memory `RepoView`: README, tests, migrations, Dockerfile
//! practice, history, nothing generated tracked, and the detected stack.

mod kinds_common;

use assay_engine::Verdict;
use assay_engine::checks::repository;
use assay_format::RepositoryCheck;
use assay_model::{Evidence, Status};
use kinds_common::{Fixture, MemCommit, MemRepo, commit, cx, notes, spec};

async fn check(repo: MemRepo, yaml: &str) -> (Verdict, Vec<Evidence>) {
    let fixture = Fixture::repo(repo);
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s: RepositoryCheck = spec(yaml);
    let v = repository::run(&mut cx, &s).await;
    (v, cx.evidence.take())
}

fn files(ev: &[Evidence]) -> Vec<(String, Option<u32>, Option<String>)> {
    ev.iter()
        .filter_map(|e| match e {
            Evidence::File {
                path,
                line,
                excerpt,
            } => Some((path.clone(), *line, excerpt.clone())),
            _ => None,
        })
        .collect()
}

fn tree(files: &[(&str, &str)]) -> MemRepo {
    MemRepo::from_history(vec![commit("Add the ledger service", None, files)])
}

const README_YAML: &str = r#"
readme:
  min_words: 30
  topics:
    run: [docker run, "make run", how to run]
    test: [pytest, "make test", testing]
    trade-offs: [trade-off, tradeoff, "trade off"]
"#;

const GOOD_README: &str = "# Ledger\n\nA small money ledger service written in Python with Flask and PostgreSQL.\n\n## How to run\n\n    docker run -p 8080:8080 ledger\n\n## Testing\n\nRun `pytest` from the repository root; the tests start their own database.\n\n## Trade-offs\n\nBalances are stored as NUMERIC and locked with SELECT FOR UPDATE, which is simple but serialises transfers per account.\n";

#[tokio::test]
async fn readme_with_every_topic_passes_with_line_evidence() {
    let (v, ev) = check(tree(&[("README.md", GOOD_README)]), README_YAML).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    let f = files(&ev);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().any(|(p, line, e)| {
        p == "README.md"
            && *line == Some(5)
            && e.as_deref()
                .is_some_and(|e| e.starts_with("run: ## How to run"))
    }));
}

#[tokio::test]
async fn readme_missing_topics_and_words_gets_partial_credit() {
    let (v, _) = check(
        tree(&[(
            "readme.txt",
            "Run it with docker run and test it with pytest.",
        )]),
        README_YAML,
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    // 10 of 30 words is a third of a share; run and test found, trade-offs missing.
    assert!((v.credit - (10.0 / 30.0 + 2.0) / 4.0).abs() < 1e-9, "{v:?}");
    assert!(v.message.contains("missing: trade-offs"), "{}", v.message);
}

#[tokio::test]
async fn no_readme_fails_and_nested_ones_do_not_count() {
    let (v, _) = check(tree(&[("docs/README.md", GOOD_README)]), README_YAML).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert_eq!(v.credit, 0.0);
}

#[tokio::test]
async fn tests_found_by_glob_but_not_in_dependencies() {
    let yaml = "tests: [\"tests/**\", \"test_*.py\", \"**/*_test.go\"]\n";
    let (v, ev) = check(
        tree(&[
            ("app/main.py", "x"),
            ("app/test_ledger.py", "def test_x(): pass"),
        ]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(files(&ev)[0].0, "app/test_ledger.py");
    let (v, _) = check(
        tree(&[("app/main.py", "x"), ("node_modules/lib/tests/a.js", "x")]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
}

#[tokio::test]
async fn migrations_by_glob_or_by_ddl_in_code() {
    let yaml = "migrations: [\"migrations/**\", \"**/alembic/versions/*.py\"]\n";
    let (v, _) = check(
        tree(&[("migrations/001_init.sql", "CREATE TABLE a (id int);")]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");

    let (v, ev) = check(
        tree(&[
            ("app/main.py", "print('hi')\n"),
            ("app/db.py", "import psycopg\n\nSCHEMA = '''\n  create table if not exists accounts (id uuid primary key)\n'''\n"),
        ]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(v.message.contains("SQL DDL"), "{}", v.message);
    assert_eq!(files(&ev)[0].0, "app/db.py");
    assert_eq!(files(&ev)[0].1, Some(4));

    let (v, _) = check(tree(&[("app/main.py", "print('no schema')")]), yaml).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
}

const MULTI_STAGE: &str = "FROM python:3.12-slim AS build\nRUN pip wheel -w /w flask\nUSER builder\n\nFROM debian:bookworm-slim\nCOPY --from=build /w /w\nRUN useradd app\nUSER app\nCMD [\"python3\", \"-m\", \"app\"]\n";
const ROOT_FINAL: &str = "FROM python:3.12-slim AS build\nUSER builder\nFROM debian:bookworm-slim\nCOPY --from=build /w /w\nCMD [\"app\"]\n";

#[tokio::test]
async fn dockerfile_non_root_user() {
    let (v, ev) = check(
        tree(&[("Dockerfile", MULTI_STAGE)]),
        "dockerfile: non_root_user\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(files(&ev)[0].1, Some(8));

    let (v, _) = check(
        tree(&[("Dockerfile", ROOT_FINAL)]),
        "dockerfile: non_root_user\n",
    )
    .await;
    assert_eq!(
        v.status,
        Status::Fail,
        "a USER in an earlier stage does not count: {v:?}"
    );

    let (v, _) = check(
        tree(&[("Dockerfile", "FROM debian:bookworm-slim\nUSER 0:0\n")]),
        "dockerfile: non_root_user\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");

    let mut repo = tree(&[("Dockerfile", MULTI_STAGE)]);
    repo.image_root = Some(true);
    let (v, _) = check(repo, "dockerfile: non_root_user\n").await;
    assert_eq!(v.status, Status::Fail, "the built image disagrees: {v:?}");
    assert!(
        v.message.contains("built image runs as root"),
        "{}",
        v.message
    );

    let (v, _) = check(tree(&[("app.py", "x")]), "dockerfile: non_root_user\n").await;
    assert_eq!(v.status, Status::Fail, "no Dockerfile: {v:?}");

    // A base image that already runs as an unprivileged user needs no USER line.
    let distroless = "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /app\n";
    let mut repo = tree(&[("Dockerfile", distroless)]);
    repo.image_root = Some(false);
    let (v, _) = check(repo, "dockerfile: non_root_user\n").await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    let (v, _) = check(
        tree(&[("Dockerfile", distroless)]),
        "dockerfile: non_root_user\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "unknown image user: {v:?}");
}

#[tokio::test]
async fn conventions_of_other_stacks_are_recognised() {
    // Rust keeps unit tests inline.
    let (v, ev) = check(
        tree(&[(
            "src/money.rs",
            "pub fn add() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {}\n}\n",
        )]),
        "tests: [\"tests/**\"]\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(files(&ev)[0].0, "src/money.rs");
    let (v, _) = check(
        tree(&[("src/main.rs", "fn main() {}\n")]),
        "tests: [\"tests/**\"]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");

    // A schema created by the ORM's own tool is the contract's "or an equivalent".
    for (path, text) in [
        ("app/models.py", "Base.metadata.create_all(engine)\n"),
        ("main.go", "db.AutoMigrate(&Account{})\n"),
        (
            "src/main/resources/application.properties",
            "spring.jpa.hibernate.ddl-auto=update\n",
        ),
        (
            "src/db.rs",
            "sqlx::migrate!(\"./schema\").run(&pool).await?;\n",
        ),
    ] {
        let (v, _) = check(tree(&[(path, text)]), "migrations: [\"migrations/**\"]\n").await;
        assert_eq!(v.status, Status::Pass, "{path}: {v:?}");
    }
    let (v, _) = check(
        tree(&[("app.py", "print('hello')\n")]),
        "migrations: [\"migrations/**\"]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
}

#[tokio::test]
async fn dockerfile_pinned_base() {
    let (v, _) = check(
        tree(&[("Dockerfile", MULTI_STAGE)]),
        "dockerfile: pinned_base\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    let (v, ev) = check(
        tree(&[(
            "Dockerfile",
            "FROM node AS deps\nFROM deps AS build\nFROM python:latest\nFROM scratch\n",
        )]),
        "dockerfile: pinned_base\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("`node` (line 1)"), "{}", v.message);
    assert!(
        v.message.contains("`python:latest` (line 3)"),
        "{}",
        v.message
    );
    assert_eq!(files(&ev).len(), 2, "stage references and scratch are fine");
}

#[tokio::test]
async fn dockerfile_dockerignore() {
    let (v, _) = check(
        tree(&[
            ("Dockerfile", MULTI_STAGE),
            (".dockerignore", "# build outputs\n.git\n.venv\n"),
        ]),
        "dockerfile: dockerignore\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    let (v, _) = check(
        tree(&[
            ("Dockerfile", MULTI_STAGE),
            (".dockerignore", "# nothing\n\n"),
        ]),
        "dockerfile: dockerignore\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "an empty .dockerignore: {v:?}");
    let (v, _) = check(
        tree(&[("Dockerfile", MULTI_STAGE)]),
        "dockerfile: dockerignore\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
}

fn history_of(subjects: &[&str]) -> MemRepo {
    let mut commits: Vec<MemCommit> = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        let c = commit(s, commits.last(), &[(&format!("f{i}.py"), "x")]);
        commits.push(c);
    }
    MemRepo::from_history(commits)
}

#[tokio::test]
async fn history_count_and_message_quality() {
    let yaml = "history: {min_commits: 3, message_quality: 0.7}\n";
    let (v, _) = check(
        history_of(&[
            "Initial commit",
            "Add account endpoints with validation",
            "Make transfers atomic with row locks",
            "Document trade-offs in the README",
        ]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Pass, "3 of 4 meaningful is 75%: {v:?}");

    let (v, ev) = check(
        history_of(&["wip", "fix", ".", "Add transfers endpoint"]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        (v.credit - 0.5).abs() < 1e-9,
        "count held, quality did not: {v:?}"
    );
    assert!(notes(&ev).contains("`wip`"), "{}", notes(&ev));

    let (v, _) = check(history_of(&["Add the ledger service"]), yaml).await;
    assert!(
        (v.credit - 0.5).abs() < 1e-9,
        "quality held, count did not: {v:?}"
    );

    let (v, _) = check(MemRepo::folder(&[("app.py", "x")]), yaml).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("not a git repository"), "{}", v.message);
}

#[tokio::test]
async fn no_tracked_now_and_in_history() {
    let yaml = "no_tracked: [\"**/node_modules/**\", \"**/__pycache__/**\", \"*.pyc\"]\n";
    let (v, ev) = check(
        tree(&[("app.py", "x"), ("web/node_modules/left-pad/index.js", "x")]),
        yaml,
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert_eq!(files(&ev)[0].0, "web/node_modules/left-pad/index.js");

    // Committed once, removed later: still in history.
    let first = commit(
        "Add app",
        None,
        &[("app.py", "x"), ("app/__pycache__/m.cpython-312.pyc", "x")],
    );
    let mut second = commit("Remove bytecode from the repository", Some(&first), &[]);
    second.tree.remove("app/__pycache__/m.cpython-312.pyc");
    let (v, _) = check(MemRepo::from_history(vec![first, second]), yaml).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("in history"), "{}", v.message);

    // Ignored (untracked) dependencies in the working tree are fine.
    let mut repo = tree(&[("app.py", "x")]);
    repo.files
        .insert("node_modules/x/index.js".into(), (b"x".to_vec(), false));
    let (v, _) = check(repo, yaml).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

#[tokio::test]
async fn stack_detects_languages_and_frameworks() {
    let (v, ev) = check(
        tree(&[
            ("requirements.txt", "Flask==3.0.3\npsycopg[binary]==3.2\n"),
            (
                "app/main.py",
                "from flask import Flask\napp = Flask(__name__)\n",
            ),
            ("app/db.py", "import psycopg\n"),
            ("scripts/run.sh", "#!/bin/sh\n"),
        ]),
        "stack: {}\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    let n = notes(&ev);
    assert!(
        n.contains("languages: python (2 files), shell (1 file)"),
        "{n}"
    );
    assert!(
        n.contains("framework: flask (import in app/main.py, requirements.txt)"),
        "{n}"
    );

    let (v, ev) = check(
        tree(&[
            ("package.json", "{\"dependencies\": {\"hono\": \"^4.0.0\"}}"),
            ("src/index.ts", "import { Hono } from 'hono'\n"),
        ]),
        "stack: {frameworks: [hono, express]}\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(notes(&ev).contains("framework: hono"), "{}", notes(&ev));

    let (v, _) = check(
        tree(&[("main.c", "int main(void) { return 0; }\n")]),
        "stack: {frameworks: [flask, axum]}\n",
    )
    .await;
    // The standard library alone is a legitimate choice: nothing to judge, never a failure.
    assert_eq!(v.status, Status::NotAssessed, "{v:?}");
    assert!(
        v.message.contains("no framework recognised"),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn no_repository_is_an_error() {
    let fixture = Fixture::http("http://127.0.0.1:9".into());
    let shared = fixture.shared();
    let mut c = cx(&shared);
    let s: RepositoryCheck = spec("tests: [\"tests/**\"]\n");
    let v = repository::run(&mut c, &s).await;
    assert_eq!(v.status, Status::Error, "{v:?}");
}
