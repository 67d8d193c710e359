//! `database` checks: SQL against the PostgreSQL sidecar after the suites ran — a query
//! whose rows are judged (`query` + `expect`), and values that must appear in no text-like
//! column of any user table (`nowhere`, e.g. a plaintext password). Every call is under a
//! timeout; connection trouble is an error, what the submission stored is a verdict.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use assay_format::{DatabaseCheck, DigestForm, RowsExpect, Template};
use assay_model::{Evidence, truncate_text};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::checks::security::partial;
use crate::context::{CheckCx, Verdict};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);
/// Rows of a result kept in evidence.
const EVIDENCE_ROWS: usize = 20;
/// Characters of a cell kept in evidence.
const CELL_CAP: usize = 200;
/// Tables searched by `nowhere` at most.
const MAX_TABLES: usize = 500;
/// Failing rows named in a message.
const SHOWN_FAILURES: usize = 5;

/// Why a database step could not finish.
enum DbError {
    /// The check could not be judged (connection, timeout, a malformed query).
    Infra(String),
    /// The submission's schema made the query fail (an undefined table or column).
    Schema(String),
}

/// A connected client whose connection task ends with it.
struct Conn {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects to the assessment's database sidecar with its `database` settings, as the
/// checks' own role when the runner made one.
/// Who a connection logs in as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Login {
    /// assay's own checks' role when the runner made one (reads through forced row-level
    /// security; never seen by the service), else `database.user`.
    Checks,
    /// The service's own role (`database.user`): seeding writes data the service owns, may
    /// create tables in its schema, and runs the service's triggers with no more privilege
    /// than the service has.
    Service,
}

async fn open(cx: &mut CheckCx<'_, '_>, login: Login) -> Result<Conn, Verdict> {
    let Some(access) = cx.shared.assessment.file.database.clone() else {
        return Err(Verdict::error("the assessment has no `database` settings"));
    };
    let Some(addr) = cx.shared.service.sidecar_addr(&access.sidecar, access.port) else {
        return Err(Verdict::error(format!(
            "the database sidecar `{}` is not reachable",
            access.sidecar
        )));
    };
    let mut creds = Vec::new();
    for (what, t) in [
        ("user", &access.user),
        ("password", &access.password),
        ("dbname", &access.dbname),
    ] {
        match cx.vars.render(t) {
            Ok(v) => creds.push(v),
            Err(e) => return Err(Verdict::error(format!("database.{what}: {e}"))),
        }
    }
    let [user, password, dbname] = creds.as_slice() else {
        return Err(Verdict::error("database credentials are incomplete"));
    };
    let (user, password) = match (&cx.shared.config.database_login, login) {
        (Some(checks), Login::Checks) => (&checks.user, &checks.password),
        _ => (user, password),
    };
    connect(addr, user, password, dbname, login == Login::Checks)
        .await
        .map_err(Verdict::error)
}

/// Seeds data for a load phase straight into the database: runs `sql` (already rendered)
/// once and returns the rows its statements reported. A statement the submission's schema
/// cannot take (an undefined table or column, a violated constraint) is the submission's
/// failure; a connection or timeout problem is an error.
pub async fn seed(cx: &mut CheckCx<'_, '_>, sql: &str, limit: Duration) -> Result<u64, Verdict> {
    let conn = open(cx, Login::Service).await?;
    let answer = tokio::time::timeout(limit, conn.client.simple_query(sql))
        .await
        .map_err(|_| {
            Verdict::error(format!(
                "seeding through the database took longer than {} s",
                limit.as_secs()
            ))
        })?;
    cx.evidence.push(Evidence::Query {
        sql: truncate_text(sql, 2048).0,
        rows: vec![],
    });
    match answer {
        Ok(messages) => Ok(messages
            .iter()
            .map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => *n,
                _ => 0,
            })
            .sum()),
        Err(e) => match e.as_db_error() {
            Some(db) => Err(Verdict::fail(format!(
                "seeding through the database failed against the submission's schema: {}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            ))),
            None => Err(Verdict::error(format!(
                "seeding through the database failed: {e}"
            ))),
        },
    }
}

pub async fn run(cx: &mut CheckCx<'_, '_>, spec: &DatabaseCheck) -> Verdict {
    let conn = match open(cx, Login::Checks).await {
        Ok(c) => c,
        Err(v) => return v,
    };

    let mut parts_held = 0usize;
    let mut parts = 0usize;
    let mut fails = Vec::new();
    let mut passes = Vec::new();
    if let Some(q) = &spec.query {
        parts += 1;
        let sql = match cx.vars.render(q) {
            Ok(s) => s,
            Err(e) => return Verdict::error(format!("cannot render the query: {e}")),
        };
        match query_rows(&conn.client, &sql).await {
            Err(DbError::Infra(e)) => return Verdict::error(e),
            Err(DbError::Schema(e)) => {
                cx.evidence.push(Evidence::Query {
                    sql: sql.clone(),
                    rows: vec![],
                });
                fails.push(e);
            }
            Ok((columns, rows, more)) => {
                record(cx, &sql, &columns, &rows, more);
                let f = judge_rows(cx, spec.expect.as_ref(), &rows, more);
                if f.is_empty() {
                    parts_held += 1;
                    passes.push(format!(
                        "the query returned {}{} row{} as expected",
                        if more { "more than " } else { "" },
                        rows.len(),
                        if rows.len() == 1 && !more { "" } else { "s" }
                    ));
                } else {
                    fails.extend(f);
                }
            }
        }
    }
    if !spec.nowhere.is_empty() {
        parts += 1;
        let forms = if spec.forms.is_empty() {
            vec![DigestForm::Plain]
        } else {
            spec.forms.clone()
        };
        match nowhere(cx, &conn.client, &spec.nowhere, &forms, spec.max_rows).await {
            Err(DbError::Infra(e)) | Err(DbError::Schema(e)) => return Verdict::error(e),
            Ok((searched, found)) => {
                if found.is_empty() {
                    parts_held += 1;
                    passes.push(format!(
                        "{} value{} found in none of {searched} text column{}",
                        spec.nowhere.len(),
                        if spec.nowhere.len() == 1 { "" } else { "s" },
                        if searched == 1 { "" } else { "s" }
                    ));
                } else {
                    fails.extend(found);
                }
            }
        }
    }
    drop(conn);
    if parts == 0 {
        return Verdict::error("a database check needs a `query` or `nowhere`");
    }
    if fails.is_empty() {
        Verdict::pass(passes.join("; "))
    } else {
        partial(
            parts_held as f64 / parts as f64,
            false,
            fails
                .iter()
                .take(SHOWN_FAILURES)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

async fn connect(
    addr: SocketAddr,
    user: &str,
    password: &str,
    dbname: &str,
    pin_catalog: bool,
) -> Result<Conn, String> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(addr.ip().to_string())
        .port(addr.port())
        .user(user)
        .password(password)
        .dbname(dbname)
        .connect_timeout(CONNECT_TIMEOUT)
        .application_name("assay");
    let connected = tokio::time::timeout(
        CONNECT_TIMEOUT + Duration::from_secs(2),
        config.connect(NoTls),
    )
    .await
    .map_err(|_| format!("connecting to the database at {addr} timed out"))?
    .map_err(|e| format!("cannot connect to the database at {addr}: {e}"))?;
    let (client, connection) = connected;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    let conn = Conn { client, task };
    // The database's owner may set its `search_path` with its own schema before
    // `pg_catalog`, so that a `strpos` or `lower` of its own would answer the checks' SQL:
    // built-ins come first for the checks, then whatever the owner chose (its tables are
    // still found unqualified). Seeding, which runs as the service's role and may create
    // tables, keeps the service's own path (an unqualified CREATE would land in pg_catalog).
    if pin_catalog {
        tokio::time::timeout(QUERY_TIMEOUT, conn.client.simple_query(PIN_CATALOG))
            .await
            .map_err(|_| format!("setting the search path at {addr} timed out"))?
            .map_err(|e| format!("cannot set the search path at {addr}: {e}"))?;
    }
    Ok(conn)
}

/// Puts `pg_catalog` first in the session's `search_path`, keeping the rest.
const PIN_CATALOG: &str = "SELECT pg_catalog.set_config('search_path', \
     'pg_catalog, ' || pg_catalog.current_setting('search_path'), false)";

fn describe(e: &tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) => {
            let text = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if *db.code() == SqlState::UNDEFINED_TABLE || *db.code() == SqlState::UNDEFINED_COLUMN {
                DbError::Schema(format!(
                    "the query failed against the submission's schema: {text}"
                ))
            } else {
                DbError::Infra(format!("the query failed: {text}"))
            }
        }
        None => DbError::Infra(format!("the database call failed: {e}")),
    }
}

/// Runs `sql` with the simple protocol: every cell as text or NULL.
/// Rows of a result read at most, and bytes of their values: a table the submission filled
/// (or a schema of a million columns) cannot fill assay's memory. The rest is not read.
const MAX_ROWS: usize = 10_000;
const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;

/// A result as read: columns, rows (at most [`MAX_ROWS`] and [`MAX_RESULT_BYTES`]), and
/// whether more rows came than were kept.
type ResultRows = (Vec<String>, Vec<Map<String, Value>>, bool);

async fn query_rows(client: &Client, sql: &str) -> Result<ResultRows, DbError> {
    let read = async {
        let stream = client.simple_query_raw(sql).await?;
        let mut stream = std::pin::pin!(stream);
        let mut columns: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        let mut bytes = 0usize;
        while let Some(m) = stream.next().await {
            match m? {
                SimpleQueryMessage::RowDescription(cols) => {
                    columns = cols.iter().map(|c| c.name().to_owned()).collect();
                }
                SimpleQueryMessage::Row(row) => {
                    if rows.len() >= MAX_ROWS || bytes > MAX_RESULT_BYTES {
                        return Ok((columns, rows, true));
                    }
                    if columns.is_empty() {
                        columns = row.columns().iter().map(|c| c.name().to_owned()).collect();
                    }
                    let mut obj = Map::new();
                    for (i, c) in row.columns().iter().enumerate() {
                        let v = match row.try_get(i) {
                            Ok(Some(s)) => {
                                bytes += s.len();
                                Value::String(s.to_owned())
                            }
                            _ => Value::Null,
                        };
                        bytes += c.name().len();
                        obj.insert(c.name().to_owned(), v);
                    }
                    rows.push(obj);
                }
                _ => {}
            }
        }
        Ok::<_, tokio_postgres::Error>((columns, rows, false))
    };
    tokio::time::timeout(QUERY_TIMEOUT, read)
        .await
        .map_err(|_| {
            DbError::Infra(format!(
                "the query did not finish within {} s",
                QUERY_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| describe(&e))
}

/// Keeps the query and its first rows as evidence.
fn record(
    cx: &CheckCx<'_, '_>,
    sql: &str,
    columns: &[String],
    rows: &[Map<String, Value>],
    more: bool,
) {
    if !columns.is_empty() {
        cx.evidence.note(format!(
            "{}{} row{}; columns: {}",
            if more { "more than " } else { "" },
            rows.len(),
            if rows.len() == 1 && !more { "" } else { "s" },
            truncate_text(&columns.join(", "), 4096).0
        ));
    }
    let shown = rows
        .iter()
        .take(EVIDENCE_ROWS)
        .map(|r| {
            columns
                .iter()
                .map(|c| match r.get(c) {
                    Some(Value::String(s)) => truncate_text(s, CELL_CAP).0,
                    _ => "NULL".to_owned(),
                })
                .collect()
        })
        .collect();
    cx.evidence.push(Evidence::Query {
        sql: truncate_text(sql, 4096).0,
        rows: shown,
    });
}

/// Every way `rows` falls short of `expect`.
fn judge_rows(
    cx: &mut CheckCx<'_, '_>,
    expect: Option<&RowsExpect>,
    rows: &[Map<String, Value>],
    more: bool,
) -> Vec<String> {
    let Some(expect) = expect else {
        return Vec::new();
    };
    // With `more`, the result had more than the `n` rows read (the cap): at least n + 1.
    let n = rows.len() as u64;
    let got = if more {
        format!("more than {n} (the rest was not read)")
    } else {
        n.to_string()
    };
    let mut fails = Vec::new();
    if let Some(want) = expect.rows
        && (n != want || more)
    {
        fails.push(format!("expected {want} rows, got {got}"));
    }
    if let Some(min) = expect.min_rows
        && n < min
        && !more
    {
        fails.push(format!("expected at least {min} rows, got {got}"));
    }
    if let Some(max) = expect.max_rows
        && (n > max || (more && n >= max))
    {
        fails.push(format!("expected at most {max} rows, got {got}"));
    }
    let mut bad_rows = 0usize;
    for (i, row) in rows.iter().enumerate() {
        for (column, pred) in &expect.each {
            if let Some(f) = crate::expect::predicate(
                pred,
                row.get(column),
                &mut cx.vars,
                &cx.shared.assessment.file.shapes,
            ) {
                bad_rows += 1;
                if bad_rows <= SHOWN_FAILURES {
                    fails.push(format!("row {}, column `{column}`: {f}", i + 1));
                }
            }
        }
    }
    if bad_rows > SHOWN_FAILURES {
        fails.push(format!("{} more failing cells", bad_rows - SHOWN_FAILURES));
    }
    fails
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The text-like columns of every user table.
const TEXT_COLUMNS: &str = "SELECT c.table_schema, c.table_name, c.column_name \
     FROM information_schema.columns c \
     JOIN information_schema.tables t \
       ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
     WHERE t.table_type = 'BASE TABLE' \
       AND c.table_schema NOT IN ('pg_catalog', 'information_schema') \
       AND c.table_schema NOT LIKE 'pg\\_%' \
       AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'name') \
            OR c.udt_name IN ('citext', '_text', '_varchar', '_bpchar', '_citext')) \
     ORDER BY c.table_schema, c.table_name, c.ordinal_position";

/// Searches every text-like column for each value in each of `forms` (at most `max_rows`
/// rows per table); returns how many columns were searched and a finding per (value,
/// column).
async fn nowhere(
    cx: &mut CheckCx<'_, '_>,
    client: &Client,
    values: &[Template],
    forms: &[DigestForm],
    max_rows: u64,
) -> Result<(usize, Vec<String>), DbError> {
    let mut rendered = Vec::new();
    for t in values {
        let v = cx
            .vars
            .render(t)
            .map_err(|e| DbError::Infra(format!("cannot render `{}`: {e}", t.as_str())))?;
        if v.is_empty() {
            cx.evidence
                .note(format!("`{}` is empty; not searched", t.as_str()));
            continue;
        }
        for form in forms {
            let what = crate::digest::forms(&format!("`{}`", t.as_str()), &v, &[*form]);
            for (label, needle) in what {
                rendered.push((label, needle, crate::digest::is_hex(*form)));
            }
        }
    }
    let (_, listing, _) = query_rows(client, TEXT_COLUMNS).await?;
    let mut tables: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for row in &listing {
        let get = |k: &str| {
            row.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        tables
            .entry((get("table_schema"), get("table_name")))
            .or_default()
            .push(get("column_name"));
    }
    let searched: usize = tables.values().map(Vec::len).sum();
    cx.evidence.note(format!(
        "searched {searched} text-like column{} in {} table{}",
        if searched == 1 { "" } else { "s" },
        tables.len(),
        if tables.len() == 1 { "" } else { "s" }
    ));
    let mut found = Vec::new();
    for ((schema, table), columns) in tables.iter().take(MAX_TABLES) {
        // At most `max_rows` rows of each table are read.
        let from = format!(
            "(SELECT * FROM {}.{} LIMIT {max_rows}) AS scanned",
            ident(schema),
            ident(table)
        );
        let shown_table = if schema == "public" {
            table.clone()
        } else {
            format!("{schema}.{table}")
        };
        for (template, value, hex) in &rendered {
            // Hex digests are searched case-insensitively (the needle is lowercase).
            let cell = |c: &str| {
                if *hex {
                    format!("lower({}::text)", ident(c))
                } else {
                    format!("{}::text", ident(c))
                }
            };
            let counts = columns
                .iter()
                .map(|c| format!("count(*) FILTER (WHERE strpos({}, $1) > 0)", cell(c)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT {counts} FROM {from}");
            let rows = tokio::time::timeout(QUERY_TIMEOUT, client.query(&sql, &[value]))
                .await
                .map_err(|_| DbError::Infra(format!("searching {shown_table} timed out")))?
                .map_err(|e| describe(&e))?;
            let Some(row) = rows.first() else { continue };
            for (i, column) in columns.iter().enumerate() {
                let n: i64 = row.try_get(i).unwrap_or(0);
                if n <= 0 {
                    continue;
                }
                found.push(format!(
                    "{template} is stored in {shown_table}.{column} ({n} row{})",
                    if n == 1 { "" } else { "s" }
                ));
                let sample_sql = format!(
                    "SELECT {col}::text FROM {from} WHERE strpos({cell}, $1) > 0 LIMIT 5",
                    col = ident(column),
                    cell = cell(column)
                );
                let sample =
                    tokio::time::timeout(QUERY_TIMEOUT, client.query(&sample_sql, &[value]))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or_default();
                let shown = crate::checks::security::redacted(value);
                let cells = sample
                    .iter()
                    .map(|r| {
                        let cell: Option<String> = r.try_get(0).ok().flatten();
                        let cell = cell.unwrap_or_default().replace(value.as_str(), &shown);
                        vec![truncate_text(&cell, CELL_CAP).0]
                    })
                    .collect();
                cx.evidence.note(format!(
                    "{template} (redacted: {shown}) found in {shown_table}.{column}; $1 below is that value"
                ));
                cx.evidence.push(Evidence::Query {
                    sql: sample_sql,
                    rows: cells,
                });
            }
        }
    }
    if tables.len() > MAX_TABLES {
        cx.evidence.note(format!(
            "only the first {MAX_TABLES} of {} tables were searched",
            tables.len()
        ));
    }
    Ok((searched, found))
}
