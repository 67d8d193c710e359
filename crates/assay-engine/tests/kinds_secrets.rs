//! `security: secrets` over an in-memory `RepoView`: secrets in the working tree and in
//! history, forbidden files, placeholders that are not secrets.

mod kinds_common;

use assay_engine::Verdict;
use assay_engine::checks::security;
use assay_format::SecurityCheck;
use assay_model::{Evidence, Status};
use kinds_common::{Fixture, MemRepo, commit, cx, spec};

async fn check(repo: Option<MemRepo>, yaml: &str) -> (Verdict, Vec<Evidence>) {
    let fixture = match repo {
        Some(r) => Fixture::repo(r),
        None => Fixture::http("http://127.0.0.1:9".into()),
    };
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s: SecurityCheck = spec(yaml);
    let s = s.into_probe().expect("the check sets exactly one probe");
    let v = security::run(&mut cx, &s).await;
    (v, cx.evidence.take())
}

fn file_evidence(ev: &[Evidence]) -> Vec<(String, Option<u32>, String)> {
    ev.iter()
        .filter_map(|e| match e {
            Evidence::File {
                path,
                line,
                excerpt,
            } => Some((path.clone(), *line, excerpt.clone().unwrap_or_default())),
            _ => None,
        })
        .collect()
}

const YAML: &str = "secrets: {forbidden_files: [.env]}\n";
const AWS_KEY: &str = "AKIAQWERTYUIOPASDFGH";

#[tokio::test]
async fn a_key_in_the_working_tree_is_found_and_redacted() {
    let repo = MemRepo::from_history(vec![commit(
        "Add settings",
        None,
        &[
            ("README.md", "# Ledger\n"),
            (
                "app/settings.py",
                &format!("DEBUG = False\nAWS_ACCESS_KEY_ID = \"{AWS_KEY}\"\n"),
            ),
        ],
    )]);
    let (v, ev) = check(Some(repo), YAML).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message
            .contains("an AWS access key id in app/settings.py:2"),
        "{}",
        v.message
    );
    let f = file_evidence(&ev);
    assert_eq!(f[0].0, "app/settings.py");
    assert_eq!(f[0].1, Some(2));
    assert!(f[0].2.contains("AKIA…"), "{f:?}");
    assert!(!f[0].2.contains(AWS_KEY), "{f:?}");
}

#[tokio::test]
async fn a_secret_removed_later_is_found_in_history() {
    let first = commit(
        "Configure JWT",
        None,
        &[("config.py", "JWT_SECRET = 'q8Xz2LmN4vB7kR1tY6wPe3'\n")],
    );
    let second = commit(
        "Read the JWT secret from the environment",
        Some(&first),
        &[(
            "config.py",
            "import os\nJWT_SECRET = os.environ['JWT_SECRET']\n",
        )],
    );
    let repo = MemRepo::from_history(vec![first, second]);
    let (v, ev) = check(Some(repo.clone()), YAML).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    let f = file_evidence(&ev);
    assert!(f[0].0.starts_with("config.py@"), "{f:?}");
    assert!(
        f[0].2.contains("q8Xz…") && !f[0].2.contains("q8Xz2LmN4vB7kR1tY6wPe3"),
        "{f:?}"
    );

    let (v, _) = check(Some(repo), "secrets: {history: false}\n").await;
    assert_eq!(
        v.status,
        Status::Pass,
        "the working tree alone is clean: {v:?}"
    );
}

#[tokio::test]
async fn forbidden_files_tracked_now_or_in_history() {
    let repo = MemRepo::from_history(vec![commit(
        "Add env",
        None,
        &[
            (".env", "DATABASE_URL=postgres://localhost/db\n"),
            ("app.py", "x"),
        ],
    )]);
    let (v, _) = check(Some(repo), YAML).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message.contains("forbidden file tracked: .env"),
        "{}",
        v.message
    );

    let first = commit("Add env", None, &[(".env", "X=1\n"), ("app.py", "x")]);
    let mut second = commit("Stop tracking the env file", Some(&first), &[]);
    second.tree.remove(".env");
    let (v, _) = check(Some(MemRepo::from_history(vec![first, second])), YAML).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains(".env (in history)"), "{}", v.message);

    // Globs: a name pattern matches anywhere.
    let repo = MemRepo::from_history(vec![commit(
        "Add certificates",
        None,
        &[
            ("deploy/tls/server.pem", "not really a key\n"),
            ("app.py", "x"),
        ],
    )]);
    let (v, _) = check(
        Some(repo),
        "secrets: {forbidden_files: [.env, \"*.pem\"]}\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("deploy/tls/server.pem"), "{}", v.message);

    // Present but ignored by git: not submitted history, not a finding.
    let mut repo = MemRepo::from_history(vec![commit("Add app", None, &[("app.py", "x")])]);
    repo.files.insert(
        ".env".into(),
        (b"JWT_SECRET=q8Xz2LmN4vB7kR1tY6wPe3\n".to_vec(), false),
    );
    let (v, _) = check(Some(repo), YAML).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
}

#[tokio::test]
async fn placeholders_binaries_and_test_fixtures_pass() {
    let first = commit(
        "Add the service",
        None,
        &[
            (
                ".env.example",
                "JWT_SECRET=change-me-to-something-long\nDATABASE_URL=${DATABASE_URL}\n",
            ),
            (
                "app/auth.py",
                "SECRET = os.environ[\"JWT_SECRET\"]\nhashed_password = bcrypt.hashpw(password.encode(), bcrypt.gensalt())\n",
            ),
            ("tests/test_auth.py", "PASSWORD = 'Sup3r-S3cret-Pa55!'\n"),
            (
                "docs/aws.md",
                "Use keys like AKIAIOSFODNN7EXAMPLE in examples.\n",
            ),
            ("logo.png", "\u{0}\u{0}PNG AKIAQWERTYUIOPASDFGH"),
        ],
    );
    let (v, _) = check(Some(MemRepo::from_history(vec![first])), YAML).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(
        v.message.contains("4 files and 0 history blobs"),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn a_folder_without_git_is_scanned_whole() {
    let repo = MemRepo::folder(&[
        (
            "key.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
        ),
        (
            "app.js",
            "const t = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';\n",
        ),
    ]);
    let (v, ev) = check(Some(repo), YAML).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("2 secrets found"), "{}", v.message);
    assert!(
        file_evidence(&ev)
            .iter()
            .all(|(_, _, e)| !e.contains("ghp_abcdefghij"))
    );
}

#[tokio::test]
async fn no_repository_is_an_error() {
    let (v, _) = check(None, YAML).await;
    assert_eq!(v.status, Status::Error, "{v:?}");
    assert_eq!(v.message, "no repository to scan");
}
