//! Broken assessments give located diagnostics: for each way of breaking a small, valid
//! assessment, loading it reports the problem at the right `file:line:column` with a
//! message that names it.

use std::path::Path;

use assay_format::{Diagnostic, load};

/// A small valid assessment; each case breaks it with one textual edit.
const ASSESSMENT: &str = r#"id: tiny
version: 0.1.0
title: Tiny
brief: brief.md
service:
  port: 8080
  health: {path: /healthz}
secrets: [jwt]
jwt:
  secret: "{{ secret.jwt }}"
principals:
  names: [alice]
  register:
    - request: {method: POST, path: /v1/users, json: {email: "{{ principal.email }}"}}
      capture: {id: "$.id"}
  login:
    - request: {method: POST, path: /v1/auth/token}
      capture: {token: "$.access_token"}
profiles:
  default:
    title: Default
    pass_mark: 50
    weights: {api-design: 1}
default_profile: default
suites: [suites/main.yaml]
"#;

const SUITE: &str = r#"suite: main
title: Main
checks:
  - id: health
    title: Health
    skills: {devops: 1}
    http:
      - request: {method: GET, path: /healthz}
        expect: {status: 200}
  - id: accounts
    title: Accounts
    skills: {api-design: 1}
    timeout: 10s
    http:
      - request: {method: GET, path: /v1/accounts, auth: alice}
        expect: {status: 200}
        capture: {first: "$.data[0].id"}
      - request: {method: GET, path: "/v1/accounts/{{ first }}", auth: alice}
        expect: {status: 200}
"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum File {
    Assessment,
    Suite,
}

impl File {
    fn name(self) -> &'static str {
        match self {
            File::Assessment => "assessment.yaml",
            File::Suite => "main.yaml",
        }
    }
}

struct Case {
    name: &'static str,
    /// The file edited, the text replaced (its first occurrence) and its replacement.
    edit: (File, &'static str, &'static str),
    /// Where the problem must be reported, and a fragment of its message.
    at: (File, u64, u64),
    message: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "unknown key in a check",
        edit: (File::Suite, "    timeout: 10s", "    timeuot: 10s"),
        at: (File::Suite, 13, 5),
        message: "unknown field `timeuot`",
    },
    Case {
        name: "unknown key in assessment.yaml",
        edit: (
            File::Assessment,
            "  health: {path: /healthz}",
            "  health: {path: /healthz, every: 1s}",
        ),
        at: (File::Assessment, 7, 28),
        message: "unknown field `every`",
    },
    Case {
        name: "wrong type: a port that is not a number",
        edit: (File::Assessment, "  port: 8080", "  port: eighty"),
        at: (File::Assessment, 6, 9),
        message: "invalid u16",
    },
    Case {
        name: "wrong type: a skill weight that is not a number",
        edit: (File::Suite, "skills: {devops: 1}", "skills: {devops: lots}"),
        at: (File::Suite, 6, 22),
        message: "invalid floating point",
    },
    Case {
        name: "unknown skill",
        edit: (File::Suite, "skills: {devops: 1}", "skills: {cooking: 1}"),
        at: (File::Suite, 6, 14),
        message: "cooking",
    },
    Case {
        name: "undefined variable",
        edit: (File::Suite, "{{ first }}", "{{ frist }}"),
        at: (File::Suite, 18, 9),
        message: "undefined variable `{{ frist }}`",
    },
    Case {
        name: "check with no skill",
        edit: (File::Suite, "skills: {devops: 1}", "skills: {}"),
        at: (File::Suite, 6, 13),
        message: "check `health` names no skill",
    },
    Case {
        name: "repository: an unknown dependencies rule",
        edit: (
            File::Suite,
            "    http:\n      - request: {method: GET, path: /healthz}\n        expect: {status: 200}\n  - id: accounts",
            "    repository: {dependencies: loose}\n  - id: accounts",
        ),
        at: (File::Suite, 7, 32),
        message: "loose",
    },
    Case {
        name: "repository: versioned_migrations with an unknown outcome",
        edit: (
            File::Suite,
            "    http:\n      - request: {method: GET, path: /healthz}\n        expect: {status: 200}\n  - id: accounts",
            "    repository: {versioned_migrations: {otherwise: pass}}\n  - id: accounts",
        ),
        at: (File::Suite, 7, 52),
        message: "pass",
    },
    Case {
        name: "repository: two rules in one check",
        edit: (
            File::Suite,
            "    http:\n      - request: {method: GET, path: /healthz}\n        expect: {status: 200}\n  - id: accounts",
            "    repository: {dependencies: locked, versioned_migrations: {}}\n  - id: accounts",
        ),
        at: (File::Suite, 4, 5),
        message: "a repository check sets exactly one rule",
    },
    Case {
        name: "two kinds in one check",
        edit: (
            File::Suite,
            "    skills: {devops: 1}\n",
            "    skills: {devops: 1}\n    database: {query: \"SELECT 1\"}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "check `health` must have exactly one kind, found http, database",
    },
    Case {
        name: "needs naming a later check",
        edit: (
            File::Suite,
            "    skills: {devops: 1}\n",
            "    skills: {devops: 1}\n    needs: [accounts]\n",
        ),
        at: (File::Suite, 7, 13),
        message: "`needs` names `accounts`, which is not an earlier check",
    },
    Case {
        name: "unknown principal",
        edit: (File::Suite, "auth: alice}", "auth: mallory}"),
        at: (File::Suite, 15, 9),
        message: "unknown principal `mallory`",
    },
    Case {
        name: "bad duration",
        edit: (File::Suite, "    timeout: 10s", "    timeout: 10 seconds"),
        at: (File::Suite, 13, 14),
        message: "`10 seconds` has no unit",
    },
    Case {
        name: "duplicate check id",
        edit: (File::Suite, "  - id: accounts", "  - id: health"),
        at: (File::Suite, 10, 9),
        message: "check id `health` is used twice",
    },
    Case {
        name: "seeding through SQL without database settings",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: perf\n    title: Perf\n    skills: {performance: 1}\n    load:\n      seed: {count: 10, sql: \"INSERT INTO t SELECT generate_series(1, {{ count }})\"}\n      model: closed\n      duration: 1s\n      mix: [{name: a, request: {method: GET, path: /}}]\n      thresholds: {}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "`seed.sql` needs the assessment's `database` settings",
    },
    Case {
        name: "a seed both through the API and SQL",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: perf\n    title: Perf\n    skills: {performance: 1}\n    load:\n      seed: {count: 10, sql: \"SELECT 1\", request: {method: POST, path: /}}\n      model: closed\n      duration: 1s\n      mix: [{name: a, request: {method: GET, path: /}}]\n      thresholds: {}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "a seed sets exactly one of `request` (through the API) and `sql`",
    },
    Case {
        name: "a shape that is not defined",
        edit: (
            File::Suite,
            "expect: {status: 200}",
            "expect: {status: 200, shape: profil}",
        ),
        at: (File::Suite, 8, 9),
        message: "unknown shape `profil`",
    },
    Case {
        name: "a shape with an unknown key",
        edit: (
            File::Assessment,
            "default_profile: default",
            "shapes:\n  error: {object: {errors: {lsit: string}}}\ndefault_profile: default",
        ),
        at: (File::Assessment, 25, 10),
        message: "`errors`: unknown shape key `lsit`",
    },
    Case {
        name: "a shape named like a type",
        edit: (
            File::Assessment,
            "default_profile: default",
            "shapes:\n  string: {object: {}}\ndefault_profile: default",
        ),
        at: (File::Assessment, 25, 11),
        message: "`string` cannot name a shape",
    },
    Case {
        name: "a predicate type list with an unknown type",
        edit: (
            File::Suite,
            "expect: {status: 200}",
            "expect: {status: 200, json: {\"$.bio\": {is: [string, nul]}}}",
        ),
        at: (File::Suite, 9, 47),
        message: "unknown type `nul`",
    },
    Case {
        name: "a lesser reading worth full credit",
        edit: (
            File::Suite,
            "        expect: {status: 200}\n",
            "        expect: {status: 401}\n        partial: [{expect: {status: 403}, credit: 1, why: close enough}]\n",
        ),
        at: (File::Suite, 10, 19),
        message: "the credit of a lesser reading must be between 0 and 1",
    },
    Case {
        name: "a lesser reading without a reason",
        edit: (
            File::Suite,
            "        expect: {status: 200}\n",
            "        expect: {status: 401}\n        partial: [{expect: {status: 403}, credit: 0.5, why: \"\"}]\n",
        ),
        at: (File::Suite, 10, 19),
        message: "a lesser reading says `why`",
    },
    Case {
        name: "a never check with no rule",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: never-5xx\n    title: Never\n    skills: {api-design: 1}\n    never: {}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "a never check sets at least one rule",
    },
    Case {
        name: "a never check naming a suite capture",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: never-5xx\n    title: Never\n    skills: {api-design: 1}\n    never: {reveal: [\"{{ first }}\"]}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "undefined variable `{{ first }}`",
    },
    Case {
        name: "needs naming a never check",
        edit: (
            File::Suite,
            "checks:\n  - id: health\n    title: Health\n",
            "checks:\n  - id: n5\n    title: N\n    skills: {api-design: 1}\n    never: {server_error: true}\n  - id: health\n    title: Health\n    needs: [n5]\n",
        ),
        at: (File::Suite, 10, 13),
        message: "`needs` names `n5`, a never check",
    },
    Case {
        name: "a growth check with sizes in the wrong order",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: feed\n    title: Feed\n    skills: {performance: 1}\n    growth:\n      grow: [{request: {method: POST, path: \"/follow/{{ n }}\"}}]\n      sizes: [50, 1]\n      measure: {request: {method: GET, path: /feed}}\n      ratio: {target: 2, floor: 6}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "`sizes` must be two sizes, smaller first",
    },
    Case {
        name: "a growth step using `n` outside `grow`",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: feed\n    title: Feed\n    skills: {performance: 1}\n    growth:\n      before: [{request: {method: POST, path: \"/follow/{{ n }}\"}}]\n      grow: [{request: {method: POST, path: /x}}]\n      sizes: [1, 50]\n      measure: {request: {method: GET, path: /feed}}\n      ratio: {target: 2, floor: 6}\n",
        ),
        at: (File::Suite, 8, 16),
        message: "undefined variable `{{ n }}`",
    },
    Case {
        name: "digest forms without values",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: db\n    title: Db\n    skills: {security: 1}\n    database: {query: SELECT 1, forms: [md5]}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "`forms` says how `nowhere` values are searched",
    },
    Case {
        name: "a database restart naming no sidecar",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: db-down\n    title: Db down\n    skills: {devops: 1}\n    lifecycle: {action: database_restart, sidecar: cache}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "`sidecar: cache` is not a sidecar of the assessment",
    },
    Case {
        name: "a database restart with nothing to show recovery",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: db-down\n    title: Db down\n    skills: {devops: 1}\n    lifecycle: {action: database_restart, sidecar: db}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "a `database_restart` needs `after` steps",
    },
    Case {
        name: "a recovery window on another action",
        edit: (
            File::Suite,
            "checks:\n",
            "checks:\n  - id: restart\n    title: Restart\n    skills: {devops: 1}\n    lifecycle: {action: restart, recover_within: 5s}\n",
        ),
        at: (File::Suite, 4, 5),
        message: "`recover_within` goes with `database_restart`",
    },
    Case {
        name: "default profile that does not exist",
        edit: (
            File::Assessment,
            "default_profile: default",
            "default_profile: senior",
        ),
        at: (File::Assessment, 24, 18),
        message: "default_profile `senior` is not one of the profiles",
    },
];

/// Writes the fixture with `case`'s edit into a fresh directory and loads it.
fn run(case: &Case) -> (tempfile::TempDir, Vec<Diagnostic>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (file, from, to) = case.edit;
    let edited = |text: &str, which: File| {
        if which != file {
            return text.to_owned();
        }
        assert!(
            text.contains(from),
            "{}: the fixture has no `{from}` to edit",
            case.name
        );
        text.replacen(from, to, 1)
    };
    write(
        dir.path(),
        "assessment.yaml",
        &edited(ASSESSMENT, File::Assessment),
    );
    write(dir.path(), "suites/main.yaml", &edited(SUITE, File::Suite));
    write(dir.path(), "brief.md", "# Tiny\n");
    let diagnostics = match load(dir.path()) {
        Ok(_) => Vec::new(),
        Err(d) => d.0,
    };
    (dir, diagnostics)
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the fixture's folders");
    }
    std::fs::write(&path, text).expect("write a fixture file");
}

#[test]
fn the_unbroken_fixture_validates() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(dir.path(), "assessment.yaml", ASSESSMENT);
    write(dir.path(), "suites/main.yaml", SUITE);
    write(dir.path(), "brief.md", "# Tiny\n");
    if let Err(d) = load(dir.path()) {
        panic!("the fixture itself has problems:\n{d}");
    }
}

#[test]
fn broken_yaml_gives_located_diagnostics() {
    let mut failures = Vec::new();
    for case in CASES {
        let (_dir, diagnostics) = run(case);
        let (file, line, column) = case.at;
        let found = diagnostics.iter().any(|d| {
            d.file.file_name().and_then(|n| n.to_str()) == Some(file.name())
                && d.line == line
                && d.column == column
                && d.message.contains(case.message)
        });
        if !found {
            let got: Vec<String> = diagnostics
                .iter()
                .map(|d| {
                    format!(
                        "    {}:{}:{}: {}",
                        d.file.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                        d.line,
                        d.column,
                        d.message
                    )
                })
                .collect();
            failures.push(format!(
                "{}: expected {}:{line}:{column}: …{}…, got:\n{}",
                case.name,
                file.name(),
                case.message,
                if got.is_empty() {
                    "    (no diagnostics)".to_owned()
                } else {
                    got.join("\n")
                }
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Templates in `assessment.yaml`'s service, sidecar, database and jwt settings are
/// validated, but the model keeps no position for them: the diagnostic names the file
/// and the variable, at 0:0. (When the model locates them, move this case into CASES.)
#[test]
fn undefined_secret_in_assessment_yaml_is_reported() {
    let case = Case {
        name: "undefined secret",
        edit: (File::Assessment, "{{ secret.jwt }}", "{{ secret.jwt_key }}"),
        at: (File::Assessment, 0, 0),
        message: "undefined variable `{{ secret.jwt_key }}`",
    };
    let (_dir, diagnostics) = run(&case);
    assert!(
        diagnostics.iter().any(|d| {
            d.file.file_name().and_then(|n| n.to_str()) == Some(case.at.0.name())
                && d.message.contains(case.message)
        }),
        "{}: {diagnostics:?}",
        case.name
    );
}

#[test]
fn every_diagnostic_renders_as_file_line_column() {
    for case in CASES {
        let (_dir, diagnostics) = run(case);
        assert!(!diagnostics.is_empty(), "{}: no diagnostic", case.name);
        for d in &diagnostics {
            let text = d.to_string();
            let prefix = format!("{}:{}:{}: ", d.file.display(), d.line, d.column);
            assert!(
                text.starts_with(&prefix),
                "{}: `{text}` does not start with `{prefix}`",
                case.name
            );
        }
    }
}
