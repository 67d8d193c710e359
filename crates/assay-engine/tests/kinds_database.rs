//! `database` checks against a real PostgreSQL: the `assay/postgres:15` image started with
//! the docker CLI on the default bridge, reached at its container address, removed at the
//! end by a guard (also when an assertion fails). The tables are made by the service's role,
//! the checks connect as their own role, as in a run. Without a Docker engine the test is
//! skipped, unless `ASSAY_REQUIRE_DOCKER=1` (then it fails): `assay_testkit::require_docker`.

mod kinds_common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use assay_engine::checks::database;
use assay_engine::{DatabaseLogin, Verdict};
use assay_format::DatabaseCheck;
use assay_model::{Evidence, Status};
use kinds_common::{Fixture, cx, spec};
use tokio::process::Command;

const USER: &str = "assay";
const PASSWORD: &str = "kinds-db-pw-4c1e";
const CHECKS_USER: &str = "assay_checks";
const CHECKS_PASSWORD: &str = "kinds-checks-pw-7d2a";
const DB: &str = "ledger";
const LEAKED: &str = "tok_9fQ2xLr7Wm";

/// Removes the container when dropped.
struct Container {
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.id])
            .output();
    }
}

async fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .await
        .map_err(|e| format!("docker {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Starts PostgreSQL and waits until it accepts connections; None when the test tier skips
/// Docker tests.
async fn postgres() -> Option<(Container, IpAddr)> {
    assay_testkit::require_docker()?;
    let pid = std::process::id().to_string();
    let id = docker(&[
        "run",
        "-d",
        "--label",
        "assay.managed=true",
        "--label",
        &format!("assay.pid={pid}"),
        "--label",
        "assay.role=test",
        "-e",
        &format!("POSTGRES_USER={USER}"),
        "-e",
        &format!("POSTGRES_PASSWORD={PASSWORD}"),
        "-e",
        &format!("POSTGRES_DB={DB}"),
        "-e",
        &format!("ASSAY_CHECKS_USER={CHECKS_USER}"),
        "-e",
        &format!("ASSAY_CHECKS_PASSWORD={CHECKS_PASSWORD}"),
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var/run/postgresql",
        "assay/postgres:15",
    ])
    .await
    .expect("start assay/postgres:15 (build it with `make images`)");
    let container = Container { id };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ready = docker(&[
            "exec",
            &container.id,
            "pg_isready",
            "-h",
            "127.0.0.1",
            "-U",
            USER,
        ])
        .await;
        if ready.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not become ready: {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &container.id,
    ])
    .await
    .expect("inspect the container");
    let ip: IpAddr = ip.parse().expect("a container address");
    Some((container, ip))
}

const BOB: &str = "BobPw3vN8rT5wY1c";

async fn setup(ip: IpAddr) {
    exec(
        ip,
        &format!(
            r#"
            CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, password varchar(200) NOT NULL, profile jsonb);
            INSERT INTO users (email, password, profile) VALUES
              ('alice@example.test', 'AlicePw7xQ2mZ9kL', '{{"theme": "dark"}}'),
              ('bob@example.test', '$2b$12$KIXQJ8zC1y4s0m5eW3qZ7u1fZk2Qy0w8Yk9bq3xV1oN2pR4sT6uW', NULL);
            CREATE TABLE accounts (id serial PRIMARY KEY, balance numeric(18,2) NOT NULL);
            CREATE TABLE accounts_float (id serial PRIMARY KEY, balance double precision NOT NULL);
            INSERT INTO accounts (balance) VALUES (10.10), (0.20);
            CREATE SCHEMA audit;
            CREATE TABLE audit.log (id serial PRIMARY KEY, entry jsonb NOT NULL);
            INSERT INTO audit.log (entry) VALUES ('{{"request": {{"token": "{LEAKED}"}}}}');
            -- Row-level security with no policy hides every row from other roles (and, forced,
            -- from the owner): the checks' role still reads them.
            ALTER TABLE users ENABLE ROW LEVEL SECURITY;
            ALTER TABLE users FORCE ROW LEVEL SECURITY;
            -- The owner's own `strpos`, found before the built-in one by the database's
            -- search path: the checks still use the built-in.
            CREATE SCHEMA shadow;
            CREATE FUNCTION shadow.strpos(text, text) RETURNS integer LANGUAGE sql AS 'SELECT 0';
            ALTER DATABASE {DB} SET search_path = public, shadow, pg_catalog;
            "#
        ),
    )
    .await;
}

/// Runs `sql` as the service's role (the owner of the database, no superuser).
async fn exec(ip: IpAddr, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (client, conn) = loop {
        let r = tokio_postgres::Config::new()
            .host(ip.to_string())
            .port(5432)
            .user(USER)
            .password(PASSWORD)
            .dbname(DB)
            .connect(tokio_postgres::NoTls)
            .await;
        match r {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot connect: {e}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.expect("run the test SQL");
    drop(client);
    let _ = task.await;
}

async fn check(fixture: &Fixture, yaml: &str) -> (Verdict, Vec<Evidence>) {
    let shared = fixture.shared();
    let mut cx = cx(&shared);
    let s: DatabaseCheck = spec(yaml);
    let v = database::run(&mut cx, &s).await;
    (v, cx.evidence.take())
}

fn queries(ev: &[Evidence]) -> Vec<(String, Vec<Vec<String>>)> {
    ev.iter()
        .filter_map(|e| match e {
            Evidence::Query { sql, rows } => Some((sql.clone(), rows.clone())),
            _ => None,
        })
        .collect()
}

/// The checks connect as their own role with `password`.
fn fixture(ip: IpAddr, password: &str) -> Fixture {
    let mut f = Fixture::http("http://127.0.0.1:9".into());
    f.database_login = Some(DatabaseLogin {
        user: CHECKS_USER.to_owned(),
        password: password.to_owned(),
    });
    f.sidecar = Some(SocketAddr::new(ip, 5432));
    f.secrets = BTreeMap::from([
        ("db_user".to_owned(), USER.to_owned()),
        ("db_password".to_owned(), PASSWORD.to_owned()),
        ("db_name".to_owned(), DB.to_owned()),
        ("leaked".to_owned(), LEAKED.to_owned()),
    ]);
    f
}

#[tokio::test]
async fn database_checks_against_a_real_postgres() {
    let Some((_container, ip)) = postgres().await else {
        return;
    };
    setup(ip).await;
    let f = fixture(ip, CHECKS_PASSWORD);

    // nowhere: a plaintext password is found, naming table.column; the hashed one is not.
    let (v, ev) = check(&f, "nowhere: [\"{{ alice.password }}\"]\n").await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message
            .contains("`{{ alice.password }}` is stored in users.password (1 row)"),
        "{}",
        v.message
    );
    let q = queries(&ev);
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].0.contains("strpos(\"password\"::text, $1)"), "{q:?}");
    assert_eq!(
        q[0].1,
        vec![vec!["Alic…".to_owned()]],
        "the value is redacted"
    );

    let (v, _) = check(&f, "nowhere: [\"{{ bob.password }}\"]\n").await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(
        v.message.contains("found in none of 4 text columns"),
        "{}",
        v.message
    );

    // jsonb columns in other schemas are searched too.
    let (v, _) = check(&f, "nowhere: [\"{{ secret.leaked }}\"]\n").await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("audit.log.entry"), "{}", v.message);

    // query + expect: numeric passes, double precision does not.
    let numeric = "query: \"SELECT data_type FROM information_schema.columns WHERE table_name = 'TABLE' AND column_name = 'balance'\"\nexpect:\n  rows: 1\n  each:\n    data_type: numeric\n";
    let (v, ev) = check(&f, &numeric.replace("TABLE", "accounts")).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(queries(&ev)[0].1, vec![vec!["numeric".to_owned()]]);
    let (v, _) = check(&f, &numeric.replace("TABLE", "accounts_float")).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message
            .contains("row 1, column `data_type`: expected \"numeric\", got \"double precision\""),
        "{}",
        v.message
    );

    // Cells are text: numbers compare as strings, predicates like `gt` parse them.
    let (v, _) = check(
        &f,
        "query: SELECT balance, NULL::text AS note FROM accounts ORDER BY id\nexpect:\n  min_rows: 2\n  max_rows: 2\n  each:\n    balance: {gte: 0.2}\n    note: {equals: null}\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    let (v, _) = check(
        &f,
        "query: SELECT email, password FROM users ORDER BY id\nexpect:\n  rows: 2\n  each:\n    password: {matches: '^\\$2[aby]\\$'}\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message.contains("row 1, column `password`"),
        "{}",
        v.message
    );
    assert!(!v.message.contains("row 2"), "{}", v.message);

    // A query against a table the submission does not have: the submission's failure.
    let (v, _) = check(&f, "query: SELECT * FROM ledger_entries\n").await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("submission's schema"), "{}", v.message);

    // Both parts in one check: credit for the part that held.
    let (v, _) = check(
        &f,
        "query: SELECT 1 AS one\nexpect: {rows: 1}\nnowhere: [\"{{ alice.password }}\"]\n",
    )
    .await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!((v.credit - 0.5).abs() < 1e-9, "{v:?}");

    // Fast digests, whatever the schema: bob's password stored as an upper-case SHA-256 hex
    // and as base64 in a table the assessment knows nothing of, as the third row.
    exec(
        ip,
        &format!(
            "CREATE TABLE legacy_accounts (login text, secret_digest varchar(80), note text);
             INSERT INTO legacy_accounts VALUES ('x', 'none', NULL), ('y', 'none', NULL),
               ('bob', upper(encode(sha256(convert_to('{BOB}', 'UTF8')), 'hex')), encode(convert_to('{BOB}', 'UTF8'), 'base64'));"
        ),
    )
    .await;
    let digests = "nowhere: [\"{{ bob.password }}\"]\nforms: [plain, md5, sha1, sha256, base64]\n";
    let (v, ev) = check(&f, digests).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(
        v.message.contains(
            "`{{ bob.password }}` as SHA-256 hex is stored in legacy_accounts.secret_digest (1 row)"
        ),
        "{}",
        v.message
    );
    assert!(
        v.message
            .contains("`{{ bob.password }}` in base64 is stored in legacy_accounts.note"),
        "{}",
        v.message
    );
    assert!(!v.message.contains("MD5"), "{}", v.message);
    assert!(
        queries(&ev)
            .iter()
            .any(|(sql, _)| sql.contains("strpos(lower(\"secret_digest\"::text), $1)")),
        "hex digests are searched case-insensitively"
    );
    // Only `max_rows` rows of a table are read: the third row is beyond two.
    let (v, _) = check(&f, &format!("{digests}max_rows: 2\n")).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    // The plain form alone does not find a digest.
    let (v, _) = check(&f, "nowhere: [\"{{ bob.password }}\"]\n").await;
    assert_eq!(v.status, Status::Pass, "{v:?}");

    // A result too large to keep (100,000 rows of 1 KB): at most 10,000 rows are read, the
    // count says so, and an exact count cannot be claimed.
    let big =
        "query: SELECT g::text AS n, repeat('x', 1000) AS pad FROM generate_series(1, 100000) g\n";
    let (v, ev) = check(&f, &format!("{big}expect: {{min_rows: 1}}\n")).await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(v.message.contains("more than 10000 rows"), "{}", v.message);
    assert!(
        ev.iter().any(
            |e| matches!(e, Evidence::Note { text } if text.starts_with("more than 10000 rows"))
        ),
        "{ev:?}"
    );
    assert!(queries(&ev).iter().all(|(_, rows)| rows.len() <= 20));
    let (v, _) = check(&f, &format!("{big}expect: {{rows: 100000}}\n")).await;
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.message.contains("got more than 10000"), "{}", v.message);

    // Seeding writes as the service's own role (it owns the tables), sequences included.
    let shared = f.shared();
    let mut cx = cx(&shared);
    let seeded = database::seed(
        &mut cx,
        "INSERT INTO accounts (balance) VALUES (1.00), (2.00)",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(seeded.ok(), Some(2));

    // The checks' role is no superuser and holds only the data roles.
    let (v, ev) = check(
        &f,
        "query: \"SELECT rolsuper::text AS su, rolcreaterole::text AS cr, rolbypassrls::text AS rls, \
         pg_has_role('assay_checks', 'pg_execute_server_program', 'MEMBER')::text AS program, \
         pg_has_role('assay_checks', 'pg_read_server_files', 'MEMBER')::text AS files \
         FROM pg_roles WHERE rolname = current_user\"\nexpect:\n  rows: 1\n",
    )
    .await;
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(
        queries(&ev)[0].1,
        vec![
            vec!["false", "false", "true", "false", "false"]
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        ]
    );

    // Infrastructure trouble is an error, not the candidate's failure.
    let (v, _) = check(&fixture(ip, "wrong-password"), "query: SELECT 1\n").await;
    assert_eq!(v.status, Status::Error, "{v:?}");
    let mut no_sidecar = fixture(ip, CHECKS_PASSWORD);
    no_sidecar.sidecar = None;
    let (v, _) = check(&no_sidecar, "query: SELECT 1\n").await;
    assert_eq!(v.status, Status::Error, "{v:?}");
}
