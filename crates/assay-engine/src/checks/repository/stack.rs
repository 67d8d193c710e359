//! The stack a submission is built with: languages by file extension, frameworks from
//! dependency manifests and import lines. Evidence for the reviewer, never a failure: a
//! stack none of the assessment's frameworks names (the standard library alone, a framework
//! we do not know) is "not assessed", which counts for no skill.

use std::collections::{BTreeMap, BTreeSet};

use assay_format::StackRule;
use regex::Regex;

use super::{read_text, vendored};
use crate::context::{CheckCx, Verdict};
use crate::repo::RepoView;

/// Manifests read at most.
const MAX_MANIFESTS: usize = 50;
/// Source files read for import lines at most.
const MAX_SOURCES: usize = 300;

/// Extension → language.
const LANGUAGES: &[(&str, &str)] = &[
    ("py", "python"),
    ("js", "javascript"),
    ("mjs", "javascript"),
    ("cjs", "javascript"),
    ("jsx", "javascript"),
    ("ts", "typescript"),
    ("tsx", "typescript"),
    ("go", "go"),
    ("rs", "rust"),
    ("java", "java"),
    ("kt", "kotlin"),
    ("rb", "ruby"),
    ("php", "php"),
    ("cs", "c#"),
    ("ex", "elixir"),
    ("exs", "elixir"),
    ("scala", "scala"),
    ("swift", "swift"),
    ("c", "c"),
    ("cc", "c++"),
    ("cpp", "c++"),
    ("sh", "shell"),
    ("sql", "sql"),
];

/// Manifest file names (exact, or `requirements*.txt`).
fn is_manifest(name: &str) -> bool {
    matches!(
        name,
        "pyproject.toml"
            | "Pipfile"
            | "setup.py"
            | "setup.cfg"
            | "package.json"
            | "Cargo.toml"
            | "go.mod"
            | "pom.xml"
            | "build.gradle"
            | "build.gradle.kts"
            | "Gemfile"
            | "composer.json"
            | "mix.exs"
    ) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

/// The language most source files are written in (shell, SQL and vendored files aside).
pub(crate) fn main_language(repo: &dyn RepoView) -> Option<&'static str> {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in repo.files() {
        if vendored(&f.path) {
            continue;
        }
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        let Some((_, ext)) = name.rsplit_once('.') else {
            continue;
        };
        let ext = ext.to_ascii_lowercase();
        if let Some((_, lang)) = LANGUAGES.iter().find(|(e, _)| *e == ext)
            && !matches!(*lang, "shell" | "sql")
        {
            *counts.entry(lang).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(l, _)| l)
}

/// A built-in framework: name, other spellings, manifest regex, import regex.
struct Known {
    name: &'static str,
    aliases: &'static [&'static str],
    manifest: &'static str,
    import: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        name: "flask",
        aliases: &[],
        manifest: r#"(?im)^\s*["']?flask\b(?:[^-_a-z]|$)"#,
        import: r"(?m)^\s*(?:from|import)\s+flask\b",
    },
    Known {
        name: "fastapi",
        aliases: &[],
        manifest: r#"(?im)^\s*["']?fastapi\b"#,
        import: r"(?m)^\s*(?:from|import)\s+fastapi\b",
    },
    Known {
        name: "django",
        aliases: &[],
        manifest: r#"(?im)^\s*["']?django\b(?:[^-_a-z]|$)"#,
        import: r"(?m)^\s*(?:from|import)\s+django\b",
    },
    Known {
        name: "express",
        aliases: &["expressjs"],
        manifest: r#""express"\s*:"#,
        import: r#"require\(\s*['"]express['"]\s*\)|from\s+['"]express['"]"#,
    },
    Known {
        name: "nestjs",
        aliases: &["nest"],
        manifest: r#""@nestjs/core"\s*:"#,
        import: r#"from\s+['"]@nestjs/"#,
    },
    Known {
        name: "koa",
        aliases: &[],
        manifest: r#""koa"\s*:"#,
        import: r#"require\(\s*['"]koa['"]\s*\)|from\s+['"]koa['"]"#,
    },
    Known {
        name: "axum",
        aliases: &[],
        manifest: r"(?m)^\s*axum\s*=",
        import: r"\buse\s+axum\b",
    },
    Known {
        name: "actix",
        aliases: &["actix-web", "actix_web"],
        manifest: r"(?m)^\s*actix-web\s*=",
        import: r"\buse\s+actix_web\b",
    },
    Known {
        name: "rocket",
        aliases: &[],
        manifest: r"(?m)^\s*rocket\s*=",
        import: r"\buse\s+rocket\b|extern\s+crate\s+rocket\b",
    },
    Known {
        name: "gin",
        aliases: &["gin-gonic"],
        manifest: r"github\.com/gin-gonic/gin\b",
        import: r#""github\.com/gin-gonic/gin""#,
    },
    Known {
        name: "echo",
        aliases: &[],
        manifest: r"github\.com/labstack/echo\b",
        import: r#""github\.com/labstack/echo(?:/v\d+)?""#,
    },
    Known {
        name: "spring",
        aliases: &["spring-boot", "springboot"],
        manifest: r"org\.springframework",
        import: r"(?m)^\s*import\s+org\.springframework\.",
    },
    Known {
        name: "rails",
        aliases: &["ruby-on-rails"],
        manifest: r#"(?m)^\s*gem\s+['"]rails['"]"#,
        import: r#"require\s+['"]rails"#,
    },
    Known {
        name: "sinatra",
        aliases: &[],
        manifest: r#"(?m)^\s*gem\s+['"]sinatra['"]"#,
        import: r#"require\s+['"]sinatra"#,
    },
    Known {
        name: "laravel",
        aliases: &[],
        manifest: r#""laravel/framework"\s*:"#,
        import: r"\buse\s+Illuminate\\",
    },
];

/// A framework to look for: its name and how it shows.
struct Matcher {
    name: String,
    manifest: Option<Regex>,
    import: Option<Regex>,
}

fn matchers(extra: &[String]) -> Vec<Matcher> {
    let mut out: Vec<Matcher> = KNOWN
        .iter()
        .map(|k| Matcher {
            name: k.name.to_owned(),
            manifest: Regex::new(k.manifest).ok(),
            import: Regex::new(k.import).ok(),
        })
        .collect();
    for name in extra {
        let lower = name.trim().to_ascii_lowercase();
        if lower.is_empty() || canonical(&lower).is_some() {
            continue;
        }
        let n = regex::escape(&lower);
        out.push(Matcher {
            name: lower.clone(),
            manifest: Regex::new(&format!(
                r#"(?im)^\s*{n}\s*(?:[=<>~!\[;@]|$)|["']{n}["']?\s*[:=<>~^,\]]|["']{n}["']|/{n}(?:/v\d+)?\s+v\d|gem\s+["']{n}["']"#
            ))
            .ok(),
            import: Regex::new(&format!(
                r#"(?im)^\s*(?:from|import)\s+{n}\b|require\(\s*['"]{n}['"]\s*\)|from\s+['"]{n}['"]|\buse\s+{n}\b|"[^"\s]*/{n}(?:/v\d+)?""#
            ))
            .ok(),
        });
    }
    out
}

/// The built-in name a spelling stands for.
fn canonical(name: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|k| k.name == name || k.aliases.contains(&name))
        .map(|k| k.name)
}

pub(super) fn run(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, rule: &StackRule) -> Verdict {
    let files: Vec<String> = super::own_files(repo);

    // Languages.
    let mut langs: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &files {
        let Some((_, ext)) = p.rsplit('/').next().unwrap_or(p).rsplit_once('.') else {
            continue;
        };
        let ext = ext.to_ascii_lowercase();
        if let Some((_, lang)) = LANGUAGES.iter().find(|(e, _)| *e == ext) {
            *langs.entry(lang).or_default() += 1;
        }
    }
    let mut langs: Vec<(&str, usize)> = langs.into_iter().collect();
    langs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let languages = if langs.is_empty() {
        "none recognised".to_owned()
    } else {
        langs
            .iter()
            .map(|(l, n)| format!("{l} ({n} file{})", if *n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    cx.evidence.note(format!("languages: {languages}"));

    // Frameworks.
    let matchers = matchers(&rule.frameworks);
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let manifests: Vec<&String> = files
        .iter()
        .filter(|p| is_manifest(p.rsplit('/').next().unwrap_or(p)))
        .take(MAX_MANIFESTS)
        .collect();
    for path in manifests {
        let Some(text) = read_text(repo, path) else {
            continue;
        };
        for m in &matchers {
            if m.manifest.as_ref().is_some_and(|re| re.is_match(&text)) {
                seen.entry(m.name.clone()).or_default().insert(path.clone());
            }
        }
    }
    let sources: Vec<&String> = files
        .iter()
        .filter(|p| {
            p.rsplit_once('.').is_some_and(|(_, e)| {
                matches!(
                    e,
                    "py" | "js" | "mjs" | "cjs" | "ts" | "rs" | "go" | "java" | "kt" | "rb" | "php"
                )
            })
        })
        .take(MAX_SOURCES)
        .collect();
    for path in sources {
        let Some(text) = read_text(repo, path) else {
            continue;
        };
        for m in &matchers {
            if m.import.as_ref().is_some_and(|re| re.is_match(&text)) {
                seen.entry(m.name.clone())
                    .or_default()
                    .insert(format!("import in {path}"));
            }
        }
    }
    for (name, whence) in &seen {
        cx.evidence.note(format!(
            "framework: {name} ({})",
            whence
                .iter()
                .take(4)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let frameworks: Vec<&String> = seen.keys().collect();
    let summary = format!(
        "languages: {languages}; framework{}: {}",
        if frameworks.len() == 1 { "" } else { "s" },
        if frameworks.is_empty() {
            "none recognised".to_owned()
        } else {
            frameworks
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if !rule.frameworks.is_empty() && frameworks.is_empty() {
        // The contract leaves the stack to the candidate: the standard library alone is a
        // legitimate choice, so there is nothing to judge here, never a failure.
        return Verdict::not_assessed(format!(
            "no framework recognised (looked for {}): the standard library alone or a \
             framework this check does not know, a choice the contract allows; {languages}",
            rule.frameworks.join(", ")
        ));
    }
    Verdict::pass(summary)
}
