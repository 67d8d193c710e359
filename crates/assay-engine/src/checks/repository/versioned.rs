//! `versioned_migrations`: the schema is created by versioned migrations, ordered files in a
//! migrations folder or a migration tool's own layout (Flyway `V1__*.sql`, Alembic's
//! `versions/`, Django's `migrations/0001_*.py`, Rails' `db/migrate/`, Ecto's
//! `priv/repo/migrations/`, diesel's and Prisma's dated folders, sqlx, goose, golang-migrate,
//! knex, TypeORM, Sequelize, sea-orm, EF Core, Liquibase changelogs), rather than DDL kept in
//! the code. A schema the ORM creates from its models is a reading the contracts allow with
//! nothing to judge here (not assessed); DDL in the code is judged as the rule says.

use std::sync::LazyLock;

use assay_format::{Otherwise, VersionedMigrationsRule};
use assay_model::{Evidence, truncate_text};
use regex::Regex;

use super::{EVIDENCE_FILES, MAX_DDL_FILES, read_text};
use crate::checks::security::first_n;
use crate::context::{CheckCx, Verdict};
use crate::repo::RepoView;

/// Folders migration tools keep their migrations in (compared lower case).
const MIGRATION_DIRS: &[&str] = &[
    "migrations",
    "migration",
    "migrate",
    "changelog",
    "changelogs",
    "changesets",
    "evolutions",
];

/// Extensions a migration may have.
const MIGRATION_EXTENSIONS: &[&str] = &[
    "sql", "py", "rb", "js", "mjs", "cjs", "ts", "go", "rs", "exs", "ex", "cs", "java", "kt",
    "xml", "yaml", "yml", "json", "php", "scala",
];

/// A name that starts with a version: `001_init`, `V1__init`, `V1.2__x`, `20240101120000_x`,
/// `1700000000000-Init`, `m20220101_000001_x` (sea-orm), `2024-01-01-000000_x` (diesel).
static VERSIONED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:[Vv]|m)?\d+(?:[._-]\d+)*(?:__|[_.\-]|$)").ok());

/// The schema created from the ORM's models at start-up: no migration to version.
static MODEL_SYNC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\bcreate_all\s*\(|\bAutoMigrate\s*\(|\bEnsureCreated(?:Async)?\s*\(|\b(?:sequelize|db)\.sync\s*\(|\bsynchronize\s*:\s*true\b|\bddl-auto\s*[=:]\s*(?:update|create)",
    )
    .ok()
});

/// SQL DDL written into the code or an unversioned schema file.
static DDL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\bcreate\s+(?:unlogged\s+)?table\b").ok());

fn extension(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

/// Whether a file is a versioned migration, and of which layout.
fn migration_layout(path: &str, alembic: bool) -> Option<&'static str> {
    let ext = extension(path)?;
    if !MIGRATION_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let (name, dirs) = segments.split_last()?;
    let stem = name.rsplit_once('.').map_or(*name, |(s, _)| s);
    let versioned = |s: &str| VERSIONED.as_ref().is_some_and(|re| re.is_match(s));
    let lower: Vec<String> = dirs.iter().map(|d| d.to_ascii_lowercase()).collect();
    // Flyway and refinery name the version in the file wherever it lives.
    if ext == "sql" && stem.starts_with(['V', 'v']) && stem.contains("__") && versioned(stem) {
        return Some("Flyway-style versioned SQL (V<n>__*.sql)");
    }
    // Alembic: revision files named by hash in `versions/`, beside `env.py` or with alembic.ini.
    if alembic && ext == "py" && lower.last().is_some_and(|d| d == "versions") && stem != "__init__"
    {
        return Some("Alembic revisions");
    }
    let in_dir = lower.iter().any(|d| MIGRATION_DIRS.contains(&d.as_str()));
    if !in_dir {
        return None;
    }
    if lower.iter().any(|d| d.starts_with("changelog"))
        && name.to_ascii_lowercase().contains("changelog")
    {
        return Some("Liquibase changelog");
    }
    if versioned(stem) {
        return Some(if lower.ends_with(&["db".into(), "migrate".into()]) {
            "Rails migrations (db/migrate)"
        } else if path.contains("priv/repo/migrations/") {
            "Ecto migrations"
        } else if ext == "py" {
            "numbered Python migrations (Django-style)"
        } else {
            "ordered migration files"
        });
    }
    // diesel and Prisma keep each migration in a dated folder (`up.sql`, `migration.sql`).
    if dirs.last().is_some_and(|d| versioned(d)) {
        return Some("dated migration folders (diesel, Prisma)");
    }
    None
}

pub(super) fn run(
    cx: &mut CheckCx<'_, '_>,
    repo: &dyn RepoView,
    rule: &VersionedMigrationsRule,
) -> Verdict {
    let files: Vec<String> = super::own_files(repo);
    let alembic = files.iter().any(|p| {
        p.rsplit('/').next() == Some("alembic.ini")
            || p.ends_with("/env.py")
                && files
                    .iter()
                    .any(|q| q.starts_with(&format!("{}/versions/", p.trim_end_matches("/env.py"))))
    });
    let mut found: Vec<(String, &'static str)> = files
        .iter()
        .filter_map(|p| Some((p.clone(), migration_layout(p, alembic)?)))
        .collect();
    found.sort();
    if !found.is_empty() {
        let mut layouts: Vec<&str> = found.iter().map(|(_, l)| *l).collect();
        layouts.sort_unstable();
        layouts.dedup();
        for (p, layout) in found.iter().take(EVIDENCE_FILES) {
            cx.evidence.push(Evidence::File {
                path: p.clone(),
                line: None,
                excerpt: Some((*layout).to_owned()),
            });
        }
        if found.len() > EVIDENCE_FILES {
            cx.evidence
                .note(format!("{} more not listed", found.len() - EVIDENCE_FILES));
        }
        let paths: Vec<String> = found.iter().map(|(p, _)| p.clone()).collect();
        return Verdict::pass(format!(
            "{} versioned migration{} ({}): {}",
            found.len(),
            if found.len() == 1 { "" } else { "s" },
            layouts.join(", "),
            first_n(&paths, 3)
        ));
    }

    // No versioned migration: how is the schema made?
    let (Some(sync), Some(ddl)) = (MODEL_SYNC.as_ref(), DDL.as_ref()) else {
        return Verdict::error("the schema patterns do not compile");
    };
    let mut synced = Vec::new();
    let mut scattered = Vec::new();
    for path in files
        .iter()
        .filter(|p| extension(p).is_some_and(|e| super::DDL_EXTENSIONS.contains(&e.as_str())))
        .take(MAX_DDL_FILES)
    {
        let Some(text) = read_text(repo, path) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let hit = if sync.is_match(line) {
                &mut synced
            } else if ddl.is_match(line) {
                &mut scattered
            } else {
                continue;
            };
            hit.push((
                path.clone(),
                u32::try_from(i + 1).ok(),
                truncate_text(line.trim(), 200).0,
            ));
            break;
        }
    }
    let evidence = |cx: &mut CheckCx<'_, '_>, hits: &[(String, Option<u32>, String)]| {
        for (path, line, excerpt) in hits.iter().take(EVIDENCE_FILES) {
            cx.evidence.push(Evidence::File {
                path: path.clone(),
                line: *line,
                excerpt: Some(excerpt.clone()),
            });
        }
    };
    let where_ = |hits: &[(String, Option<u32>, String)]| {
        let at: Vec<String> = hits
            .iter()
            .map(|(p, l, _)| l.map_or_else(|| p.clone(), |l| format!("{p}:{l}")))
            .collect();
        first_n(&at, 3)
    };
    if !synced.is_empty() {
        evidence(cx, &synced);
        return Verdict::not_assessed(format!(
            "no versioned migrations: the ORM creates the schema from its models at start-up \
             ({}), an equivalent the contract allows; nothing to judge of migrations",
            where_(&synced)
        ));
    }
    if !scattered.is_empty() {
        evidence(cx, &scattered);
        let what = format!(
            "no versioned migrations: the schema is created by DDL in {} file{} ({})",
            scattered.len(),
            if scattered.len() == 1 { "" } else { "s" },
            where_(&scattered)
        );
        return match rule.otherwise {
            Otherwise::Fail => Verdict::fail(format!(
                "{what}, not by ordered migration files or a migration tool"
            )),
            Otherwise::NotAssessed => {
                Verdict::not_assessed(format!("{what}, a way of creating it the contract allows"))
            }
        };
    }
    Verdict::fail(
        "no versioned migrations, and nothing in the repository creates the schema (no SQL DDL, \
         no ORM creating it from models)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        for (path, yes) in [
            ("migrations/001_init.sql", true),
            ("src/main/resources/db/migration/V1__init.sql", true),
            ("V2__accounts.sql", true),
            ("app/migrations/0001_initial.py", true),
            ("app/migrations/__init__.py", false),
            ("db/migrate/20240101120000_create_users.rb", true),
            ("priv/repo/migrations/20240101120000_create_users.exs", true),
            ("migrations/2024-01-01-000000_create_users/up.sql", true),
            ("prisma/migrations/20240101120000_init/migration.sql", true),
            ("migration/src/m20220101_000001_create_table.rs", true),
            ("migration/src/lib.rs", false),
            ("src/migrations/1700000000000-Init.ts", true),
            ("db/changelog/db.changelog-master.yaml", true),
            ("migrations/schema.sql", false),
            ("schema.sql", false),
            ("src/db.py", false),
        ] {
            assert_eq!(migration_layout(path, false).is_some(), yes, "{path}");
        }
        assert!(migration_layout("alembic/versions/3f2a1b_init.py", true).is_some());
        assert!(migration_layout("alembic/versions/3f2a1b_init.py", false).is_none());
    }
}
