//! `repository` checks over an in-memory `RepoView`: README, tests, migrations, Dockerfile
//! practice, history, nothing generated tracked, the detected stack, dependency manifests
//! and lockfiles, and versioned migrations.

mod kinds_common;

use assay_engine::Verdict;
use assay_engine::checks::repository;
use assay_format::{RepositoryCheck, RepositoryRule};
use assay_model::{Evidence, Status};
use kinds_common::{Fixture, MemCommit, MemRepo, commit, cx, notes, spec};

async fn check(repo: MemRepo, yaml: &str) -> (Verdict, Vec<Evidence>) {
    let fixture = Fixture::repo(repo);
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s = rule(yaml);
    let v = repository::run(&mut cx, &s).await;
    (v, cx.evidence.take())
}

/// The one rule of a repository check written in YAML.
fn rule(yaml: &str) -> RepositoryRule {
    let s: RepositoryCheck = spec(yaml);
    s.into_rule().expect("the check sets exactly one rule")
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
    let s = rule("tests: [\"tests/**\"]\n");
    let v = repository::run(&mut c, &s).await;
    assert_eq!(v.status, Status::Error, "{v:?}");
}

// ----- dependencies: locked ------------------------------------------------------------

const DEBIAN_DOCKERFILE: &str = "FROM debian:bookworm-slim\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends python3 python3-flask gunicorn \\\n && rm -rf /var/lib/apt/lists/*\nCMD [\"gunicorn\"]\n";
const VENV_DOCKERFILE: &str = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y python3 python3-venv\nCOPY requirements.txt .\nRUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt\n";
const RUST_DOCKERFILE: &str = "FROM rust:1.80 AS build\nCOPY . .\nRUN cargo build --release --locked\nFROM gcr.io/distroless/cc-debian12\nCOPY --from=build /target/release/app /app\n";
const NODE_DOCKERFILE: &str =
    "FROM node:20-slim\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"server.js\"]\n";
const GO_DOCKERFILE: &str = "FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /app .\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\n";

/// (what, files, expected status, words the message holds, evidence (path, line) expected).
type DependencyCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Status,
    &'static [&'static str],
    &'static [(&'static str, Option<u32>)],
);

#[tokio::test]
async fn dependencies_locked_as_data() {
    let cases: Vec<DependencyCase> = vec![
        (
            "Debian's packages on a release-pinned base (the reference)",
            vec![
                ("Dockerfile", DEBIAN_DOCKERFILE),
                ("app.py", "import flask\n"),
            ],
            Status::Pass,
            &["distribution package", "release"],
            &[("Dockerfile", Some(2))],
        ),
        (
            "Debian's packages on a base that names no release",
            vec![
                (
                    "Dockerfile",
                    "FROM debian:stable\nRUN apt-get install -y python3-flask\n",
                ),
                ("app.py", "import flask\n"),
            ],
            Status::Fail,
            &["names no release", "python3-flask"],
            &[("Dockerfile", Some(2))],
        ),
        (
            "pinned requirements.txt",
            vec![
                ("Dockerfile", VENV_DOCKERFILE),
                (
                    "requirements.txt",
                    "# web\nflask==3.0.3\ngunicorn==23.0.0 \\\n    --hash=sha256:abc\npip\n",
                ),
            ],
            Status::Pass,
            &["requirements.txt: 2 direct dependencies, each pinned"],
            &[("requirements.txt", None)],
        ),
        (
            "unpinned requirements.txt and no lockfile",
            vec![
                ("Dockerfile", VENV_DOCKERFILE),
                (
                    "requirements.txt",
                    "flask\npsycopg2-binary>=2.9\nbcrypt==4.1.2\n",
                ),
            ],
            Status::Fail,
            &[
                "2 of 3 direct dependencies not pinned",
                "flask",
                "psycopg2-binary",
            ],
            &[("requirements.txt", Some(1)), ("requirements.txt", Some(2))],
        ),
        (
            "pyproject with ranges and a poetry.lock holding them",
            vec![
                (
                    "pyproject.toml",
                    "[tool.poetry.dependencies]\npython = \"^3.11\"\nFlask = \"^3.0\"\nSQLAlchemy = {version = \"^2.0\", extras = [\"asyncio\"]}\n",
                ),
                (
                    "poetry.lock",
                    "[[package]]\nname = \"flask\"\nversion = \"3.0.3\"\n\n[[package]]\nname = \"sqlalchemy\"\nversion = \"2.0.30\"\n",
                ),
            ],
            Status::Pass,
            &["locked in poetry.lock"],
            &[("poetry.lock", None)],
        ),
        (
            "a uv.lock that misses a dependency the manifest declares",
            vec![
                (
                    "pyproject.toml",
                    "[project]\nname = \"svc\"\ndependencies = [\"fastapi>=0.110\", \"asyncpg\"]\n",
                ),
                (
                    "uv.lock",
                    "[[package]]\nname = \"fastapi\"\nversion = \"0.111.0\"\n",
                ),
            ],
            Status::Fail,
            &["uv.lock does not match pyproject.toml", "asyncpg"],
            &[("pyproject.toml", Some(3))],
        ),
        (
            "Cargo.toml with caret ranges and a Cargo.lock at the workspace root",
            vec![
                ("Dockerfile", RUST_DOCKERFILE),
                ("Cargo.toml", "[workspace]\nmembers = [\"api\"]\n"),
                (
                    "api/Cargo.toml",
                    "[package]\nname = \"api\"\n\n[dependencies]\naxum = \"0.7\"\nserde = { version = \"1\", features = [\"derive\"] }\ncore = { path = \"../core\" }\n",
                ),
                (
                    "Cargo.lock",
                    "[[package]]\nname = \"axum\"\nversion = \"0.7.5\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\n",
                ),
            ],
            Status::Pass,
            &["api/Cargo.toml: 2 direct dependencies locked in Cargo.lock"],
            &[("Cargo.lock", None)],
        ),
        (
            "Cargo.toml with ranges and no Cargo.lock",
            vec![
                ("Dockerfile", RUST_DOCKERFILE),
                (
                    "Cargo.toml",
                    "[package]\nname = \"api\"\n\n[dependencies]\naxum = \"0.7\"\ntokio = { version = \"=1.37.0\" }\n",
                ),
                ("src/main.rs", "fn main() {}\n"),
            ],
            Status::Fail,
            &["1 of 2 direct dependencies not pinned (axum)", "Cargo.lock"],
            &[("Cargo.toml", Some(5))],
        ),
        (
            "package.json with a package-lock.json",
            vec![
                ("Dockerfile", NODE_DOCKERFILE),
                (
                    "package.json",
                    "{\"name\": \"svc\", \"dependencies\": {\"express\": \"^4.19.0\", \"@fastify/cors\": \"~9.0.0\"}}",
                ),
                (
                    "package-lock.json",
                    "{\"packages\": {\"node_modules/express\": {\"version\": \"4.19.2\"}, \"node_modules/@fastify/cors\": {\"version\": \"9.0.1\"}}}",
                ),
            ],
            Status::Pass,
            &["locked in package-lock.json"],
            &[("package-lock.json", None)],
        ),
        (
            "package.json with ranges and no lockfile",
            vec![
                ("Dockerfile", NODE_DOCKERFILE),
                (
                    "package.json",
                    "{\n  \"dependencies\": {\n    \"express\": \"^4.19.0\",\n    \"pg\": \"8.11.5\"\n  }\n}\n",
                ),
            ],
            Status::Fail,
            &["1 of 2 direct dependencies not pinned (express)"],
            &[("package.json", Some(3))],
        ),
        (
            "go.mod pins exact versions",
            vec![
                ("Dockerfile", GO_DOCKERFILE),
                (
                    "go.mod",
                    "module example.test/svc\n\ngo 1.22\n\nrequire (\n\tgithub.com/jackc/pgx/v5 v5.5.5\n\tgithub.com/go-chi/chi/v5 v5.0.12 // indirect\n)\n",
                ),
                ("main.go", "package main\n"),
            ],
            Status::Pass,
            &["go.mod: 2 direct dependencies, each pinned"],
            &[("go.mod", None)],
        ),
        (
            "Gemfile with a Gemfile.lock",
            vec![
                (
                    "Gemfile",
                    "source 'https://rubygems.org'\ngem 'sinatra', '~> 4.0'\ngem 'pg'\n",
                ),
                (
                    "Gemfile.lock",
                    "GEM\n  specs:\n    pg (1.5.6)\n    sinatra (4.0.0)\n",
                ),
            ],
            Status::Pass,
            &["locked in Gemfile.lock"],
            &[("Gemfile.lock", None)],
        ),
        (
            "composer.json with a range and no composer.lock",
            vec![(
                "composer.json",
                "{\"require\": {\"php\": \">=8.2\", \"ext-pdo\": \"*\", \"slim/slim\": \"^4.12\"}}",
            )],
            Status::Fail,
            &["slim/slim", "composer.lock"],
            &[("composer.json", Some(1))],
        ),
        (
            "Dockerfile installing with pip by name, unpinned",
            vec![
                (
                    "Dockerfile",
                    "FROM python:3.12-slim\nRUN pip install --no-cache-dir --upgrade pip && pip install flask gunicorn==23.0.0\n",
                ),
                ("app.py", "import flask\n"),
            ],
            Status::Fail,
            &["installs flask without a version"],
            &[("Dockerfile", Some(2))],
        ),
        (
            "standard library only: nothing to pin",
            vec![
                ("Dockerfile", GO_DOCKERFILE),
                ("go.mod", "module example.test/svc\n\ngo 1.22\n"),
                ("main.go", "package main\n\nimport \"net/http\"\n"),
            ],
            Status::NotAssessed,
            &["no third-party dependency"],
            &[],
        ),
        (
            "Python's standard library, no Dockerfile installs",
            vec![
                (
                    "Dockerfile",
                    "FROM python:3.12-slim\nCOPY app.py .\nCMD [\"python3\", \"app.py\"]\n",
                ),
                ("app.py", "import http.server\n"),
                (
                    "node_modules/x/package.json",
                    "{\"dependencies\": {\"y\": \"*\"}}",
                ),
            ],
            Status::NotAssessed,
            &["standard library alone"],
            &[],
        ),
    ];
    for (what, tree_files, status, words, evidence) in cases {
        let (v, ev) = check(tree(&tree_files), "dependencies: locked\n").await;
        assert_eq!(v.status, status, "{what}: {v:?}\n{ev:?}");
        for w in words {
            assert!(v.message.contains(w), "{what}: `{w}` not in {}", v.message);
        }
        let got = files(&ev);
        for (path, line) in evidence {
            assert!(
                got.iter().any(|(p, l, _)| p == path && l == line),
                "{what}: no evidence at {path}:{line:?} in {got:?}"
            );
        }
    }
}

// ----- versioned_migrations ------------------------------------------------------------

#[tokio::test]
async fn versioned_migrations_as_data() {
    let fail = "versioned_migrations: {}\n";
    let lenient = "versioned_migrations: {otherwise: not_assessed}\n";
    let cases: Vec<DependencyCase> = vec![
        (
            "a folder of ordered SQL files the service applies itself (the reference)",
            vec![
                (
                    "migrations/001_init.sql",
                    "CREATE TABLE users (id uuid primary key);\n",
                ),
                (
                    "migrations/002_accounts.sql",
                    "CREATE TABLE accounts (id uuid primary key);\n",
                ),
                (
                    "ledger/db.py",
                    "def migrate(conn):\n    for f in sorted(os.listdir('migrations')): ...\n",
                ),
            ],
            Status::Pass,
            &["2 versioned migrations", "ordered migration files"],
            &[("migrations/001_init.sql", None)],
        ),
        (
            "Flyway under resources",
            vec![(
                "src/main/resources/db/migration/V1__init.sql",
                "CREATE TABLE t (id int);\n",
            )],
            Status::Pass,
            &["Flyway"],
            &[("src/main/resources/db/migration/V1__init.sql", None)],
        ),
        (
            "Alembic revisions named by hash",
            vec![
                ("alembic.ini", "[alembic]\nscript_location = alembic\n"),
                ("alembic/env.py", "from alembic import context\n"),
                (
                    "alembic/versions/3f2a1b9c_create_users.py",
                    "revision = '3f2a1b9c'\n",
                ),
            ],
            Status::Pass,
            &["Alembic"],
            &[("alembic/versions/3f2a1b9c_create_users.py", None)],
        ),
        (
            "Django migrations",
            vec![
                ("shop/migrations/__init__.py", ""),
                (
                    "shop/migrations/0001_initial.py",
                    "from django.db import migrations\n",
                ),
            ],
            Status::Pass,
            &["Django"],
            &[("shop/migrations/0001_initial.py", None)],
        ),
        (
            "diesel's dated folders",
            vec![(
                "migrations/2024-01-01-000000_create_users/up.sql",
                "CREATE TABLE users ();\n",
            )],
            Status::Pass,
            &["dated migration folders"],
            &[],
        ),
        (
            "SQLAlchemy's create_all at start-up",
            vec![(
                "app/main.py",
                "from app.models import Base\n\nBase.metadata.create_all(engine)\n",
            )],
            Status::NotAssessed,
            &["creates the schema from its models", "app/main.py:3"],
            &[("app/main.py", Some(3))],
        ),
        (
            "DDL in the code",
            vec![(
                "app/db.py",
                "SCHEMA = '''\nCREATE TABLE IF NOT EXISTS users (id uuid);\n'''\n",
            )],
            Status::Fail,
            &["DDL in 1 file", "app/db.py:2"],
            &[("app/db.py", Some(2))],
        ),
        (
            "one unversioned schema file",
            vec![("schema.sql", "create table users (id uuid);\n")],
            Status::Fail,
            &["DDL in 1 file (schema.sql:1)"],
            &[("schema.sql", Some(1))],
        ),
        (
            "nothing creates the schema",
            vec![("app/main.py", "print('hello')\n")],
            Status::Fail,
            &["nothing in the repository creates the schema"],
            &[],
        ),
    ];
    for (what, tree_files, status, words, evidence) in cases {
        let (v, ev) = check(tree(&tree_files), fail).await;
        assert_eq!(v.status, status, "{what}: {v:?}\n{ev:?}");
        for w in words {
            assert!(v.message.contains(w), "{what}: `{w}` not in {}", v.message);
        }
        let got = files(&ev);
        for (path, line) in evidence {
            assert!(
                got.iter().any(|(p, l, _)| p == path && l == line),
                "{what}: no evidence at {path}:{line:?} in {got:?}"
            );
        }
    }
    // Where the contract lets the stack create its schema however it likes, DDL in the code
    // is not judged; no schema at all still fails.
    let (v, _) = check(
        tree(&[(
            "app/db.py",
            "conn.execute('CREATE TABLE users (id uuid)')\n",
        )]),
        lenient,
    )
    .await;
    assert_eq!(v.status, Status::NotAssessed, "{v:?}");
    assert!(v.message.contains("the contract allows"), "{}", v.message);
    let (v, _) = check(tree(&[("app/main.py", "print('hi')\n")]), lenient).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
}
