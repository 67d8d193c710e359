//! `dependencies: locked`: the stack's dependencies are declared in its manifest and their
//! versions are reproducible, a lockfile beside (or above) the manifest holding every direct
//! dependency, or each dependency pinned to one exact version. Packages a Dockerfile installs
//! inline must be pinned too; a distribution's packages (`apt-get install`) count as pinned by
//! the distribution when the base image names a release. A submission with no third-party
//! dependency at all (the standard library alone) has nothing to judge: not assessed.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use assay_model::{Evidence, truncate_text};
use regex::Regex;

use super::dockerfile;
use super::read_text;
use crate::checks::security::first_n;
use crate::context::{CheckCx, Verdict};
use crate::repo::RepoView;

/// Manifests read at most.
const MAX_MANIFESTS: usize = 50;
/// Bytes of a lockfile read to find the direct dependencies in it (they can be large).
const LOCK_CAP: usize = 16 << 20;

/// A package ecosystem: how its manifests, lockfiles and names are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ecosystem {
    Python,
    Rust,
    Node,
    Go,
    Ruby,
    Php,
    Elixir,
    Maven,
    Gradle,
    Dotnet,
}

impl Ecosystem {
    /// The ecosystem a manifest's file name belongs to.
    fn of_manifest(name: &str) -> Option<Self> {
        Some(match name {
            "pyproject.toml" | "Pipfile" => Self::Python,
            n if n.starts_with("requirements") && n.ends_with(".txt") => Self::Python,
            "Cargo.toml" => Self::Rust,
            "package.json" => Self::Node,
            "go.mod" => Self::Go,
            "Gemfile" => Self::Ruby,
            "composer.json" => Self::Php,
            "mix.exs" => Self::Elixir,
            "pom.xml" => Self::Maven,
            "build.gradle" | "build.gradle.kts" => Self::Gradle,
            n if n.ends_with(".csproj") || n.ends_with(".fsproj") => Self::Dotnet,
            _ => return None,
        })
    }

    /// Lockfile names of the ecosystem, for a manifest named `manifest`.
    fn lockfiles(self, manifest: &str) -> &'static [&'static str] {
        match self {
            Self::Python if manifest == "Pipfile" => &["Pipfile.lock"],
            // A requirements file is judged on its own pins.
            Self::Python if manifest.ends_with(".txt") => &[],
            Self::Python => &["poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock"],
            Self::Rust => &["Cargo.lock"],
            Self::Node => &[
                "package-lock.json",
                "npm-shrinkwrap.json",
                "yarn.lock",
                "pnpm-lock.yaml",
                "bun.lock",
                "bun.lockb",
            ],
            Self::Go => &["go.sum"],
            Self::Ruby => &["Gemfile.lock"],
            Self::Php => &["composer.lock"],
            Self::Elixir => &["mix.lock"],
            Self::Maven => &[],
            Self::Gradle => &["gradle.lockfile"],
            Self::Dotnet => &["packages.lock.json"],
        }
    }

    /// A name as the lockfile spells it: Python's names are compared normalised (PEP 503).
    fn normalise(self, name: &str) -> String {
        match self {
            Self::Python => python_name(name),
            _ => name.to_ascii_lowercase(),
        }
    }
}

/// PEP 503: lower case, runs of `-`, `_` and `.` as one `-`.
fn python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !dash {
                out.push('-');
            }
            dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            dash = false;
        }
    }
    out
}

/// One direct dependency as a manifest declares it.
#[derive(Debug, Clone, PartialEq)]
struct Declared {
    name: String,
    /// Pinned to one exact version (or one commit, or one artefact's hash).
    pinned: bool,
    line: Option<u32>,
}

/// What a manifest declares: its third-party dependencies (local paths and workspace
/// members left out).
fn declared(ecosystem: Ecosystem, name: &str, text: &str) -> Vec<Declared> {
    match ecosystem {
        Ecosystem::Python if name.ends_with(".txt") => requirements(text),
        Ecosystem::Python if name == "Pipfile" => pipfile(text),
        Ecosystem::Python => pyproject(text),
        Ecosystem::Rust => cargo(text),
        Ecosystem::Node => package_json(text),
        Ecosystem::Go => go_mod(text),
        Ecosystem::Ruby => gemfile(text),
        Ecosystem::Php => composer(text),
        Ecosystem::Elixir => mix(text),
        Ecosystem::Maven => pom(text),
        Ecosystem::Gradle => gradle(text),
        Ecosystem::Dotnet => csproj(text),
    }
}

fn line_of(text: &str, needle: &str) -> Option<u32> {
    text.lines()
        .position(|l| l.contains(needle))
        .and_then(|i| u32::try_from(i + 1).ok())
}

// ----- Python --------------------------------------------------------------------------

static PEP508: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$").ok());
static PINNED_URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"@[0-9a-fA-F]{7,40}\b|sha256[=:]").ok());

/// One PEP 508 requirement: name and whether it names one version (`==`/`===` without a
/// wildcard, or a direct reference to one commit or hashed artefact).
fn requirement(spec: &str) -> Option<(String, bool)> {
    let spec = spec.split(';').next().unwrap_or("").trim();
    let caps = PEP508.as_ref()?.captures(spec)?;
    let name = caps.get(1)?.as_str().to_owned();
    let rest = caps.get(2).map_or("", |m| m.as_str()).trim();
    let pinned = if let Some(url) = rest.strip_prefix('@') {
        PINNED_URL.as_ref().is_some_and(|re| re.is_match(url))
    } else {
        (rest.starts_with("==") || rest.starts_with("===")) && !rest.contains('*') && {
            // One clause only: `==1.2,<2` is odd but still one version.
            !rest.contains(',') || rest.split(',').all(|c| c.trim().starts_with("=="))
        }
    };
    Some((name, pinned))
}

/// Tooling pip installs for itself, never the service's dependencies.
fn packaging_tool(name: &str) -> bool {
    matches!(python_name(name).as_str(), "pip" | "setuptools" | "wheel")
}

fn requirements(text: &str) -> Vec<Declared> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = match raw.find(" #") {
            Some(p) => &raw[..p],
            None => raw,
        };
        let line = line.trim().trim_end_matches('\\').trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        // A local path or archive is the candidate's own code.
        if line.starts_with('.') || line.starts_with('/') || line.starts_with("file:") {
            continue;
        }
        if let Some((name, pinned)) = requirement(line) {
            if packaging_tool(&name) {
                continue;
            }
            out.push(Declared {
                name,
                pinned,
                line: u32::try_from(i + 1).ok(),
            });
        }
    }
    out
}

fn pyproject(text: &str) -> Vec<Declared> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pep508 = |spec: &str| {
        if let Some((name, pinned)) = requirement(spec) {
            out.push(Declared {
                line: line_of(text, spec),
                name,
                pinned,
            });
        }
    };
    if let Some(project) = doc.get("project").and_then(|p| p.as_table()) {
        for v in project
            .get("dependencies")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(s) = v.as_str() {
                pep508(s);
            }
        }
        for group in project
            .get("optional-dependencies")
            .and_then(|d| d.as_table())
            .into_iter()
            .flat_map(|t| t.values())
        {
            for v in group.as_array().into_iter().flatten() {
                if let Some(s) = v.as_str() {
                    pep508(s);
                }
            }
        }
    }
    if let Some(poetry) = doc
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.as_table())
    {
        let mut tables = vec![poetry.get("dependencies"), poetry.get("dev-dependencies")];
        if let Some(groups) = poetry.get("group").and_then(|g| g.as_table()) {
            tables.extend(groups.values().map(|g| g.get("dependencies")));
        }
        for table in tables.into_iter().flatten().filter_map(|t| t.as_table()) {
            for (name, value) in table {
                if name == "python" {
                    continue;
                }
                if let Some(d) = toml_dependency(text, name, value, poetry_exact) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// Poetry: `1.2.3` and `==1.2.3` are exact.
fn poetry_exact(v: &str) -> bool {
    let v = v.trim().trim_start_matches("==").trim();
    exact_version(v)
}

fn pipfile(text: &str) -> Vec<Declared> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["packages", "dev-packages"] {
        for (name, value) in doc
            .get(key)
            .and_then(|t| t.as_table())
            .into_iter()
            .flatten()
        {
            if let Some(d) = toml_dependency(text, name, value, |v| {
                v.trim().starts_with("==") && !v.contains('*')
            }) {
                out.push(d);
            }
        }
    }
    out
}

/// A dependency written as TOML (`name = "1.0"` or `name = {version = …, git = …, path = …}`):
/// None for a local path or a workspace member.
fn toml_dependency(
    text: &str,
    name: &str,
    value: &toml::Value,
    exact: impl Fn(&str) -> bool,
) -> Option<Declared> {
    let line = text
        .lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches('"');
            t.starts_with(name)
                && t[name.len()..]
                    .trim_start_matches('"')
                    .trim_start()
                    .starts_with('=')
        })
        .and_then(|i| u32::try_from(i + 1).ok());
    let (real, pinned) = match value {
        toml::Value::String(v) => (name.to_owned(), exact(v)),
        toml::Value::Table(t) => {
            if t.contains_key("path") || t.get("workspace").and_then(|w| w.as_bool()) == Some(true)
            {
                return None;
            }
            let real = t
                .get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(name)
                .to_owned();
            let pinned = if t.contains_key("git") {
                t.contains_key("rev")
                    || t.get("ref")
                        .and_then(|r| r.as_str())
                        .is_some_and(|r| r.len() >= 7 && r.chars().all(|c| c.is_ascii_hexdigit()))
            } else {
                t.get("version")
                    .and_then(|v| v.as_str())
                    .is_some_and(&exact)
            };
            (real, pinned)
        }
        _ => (name.to_owned(), false),
    };
    Some(Declared {
        name: real,
        pinned,
        line,
    })
}

/// `1.2.3`, `1.2`, `v1.2.3-rc.1`: one version, no operator or wildcard.
fn exact_version(v: &str) -> bool {
    static EXACT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.\-+]+)?$").ok());
    EXACT.as_ref().is_some_and(|re| re.is_match(v.trim()))
}

// ----- Rust ----------------------------------------------------------------------------

fn cargo(text: &str) -> Vec<Declared> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let kinds = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables: Vec<&toml::Table> = kinds
        .iter()
        .filter_map(|k| doc.get(*k).and_then(|t| t.as_table()))
        .collect();
    if let Some(ws) = doc
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|t| t.as_table())
    {
        tables.push(ws);
    }
    for target in doc
        .get("target")
        .and_then(|t| t.as_table())
        .into_iter()
        .flat_map(|t| t.values())
    {
        tables.extend(
            kinds
                .iter()
                .filter_map(|k| target.get(*k).and_then(|t| t.as_table())),
        );
    }
    let mut out = Vec::new();
    for table in tables {
        for (name, value) in table {
            if let Some(d) = toml_dependency(text, name, value, |v| {
                v.trim()
                    .strip_prefix('=')
                    .is_some_and(|rest| exact_version(rest.trim()))
            }) {
                out.push(d);
            }
        }
    }
    out
}

// ----- Node ----------------------------------------------------------------------------

fn package_json(text: &str) -> Vec<Declared> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["dependencies", "devDependencies", "optionalDependencies"] {
        let Some(deps) = doc.get(key).and_then(|d| d.as_object()) else {
            continue;
        };
        for (name, spec) in deps {
            let spec = spec.as_str().unwrap_or("").trim();
            if ["file:", "link:", "workspace:", "portal:"]
                .iter()
                .any(|p| spec.starts_with(p))
            {
                continue;
            }
            let pinned = if let Some((_, rest)) =
                spec.strip_prefix("npm:").and_then(|s| s.rsplit_once('@'))
            {
                exact_version(rest)
            } else if spec.contains("://") || spec.starts_with("git") || spec.contains('/') {
                spec.rsplit_once('#')
                    .is_some_and(|(_, r)| r.len() >= 7 && r.chars().all(|c| c.is_ascii_hexdigit()))
            } else {
                exact_version(spec.trim_start_matches('='))
            };
            out.push(Declared {
                line: line_of(text, &format!("\"{name}\"")),
                name: name.clone(),
                pinned,
            });
        }
    }
    out
}

// ----- Go ------------------------------------------------------------------------------

/// go.mod names exact versions (minimal version selection picks them, never newer ones).
fn go_mod(text: &str) -> Vec<Declared> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("").trim();
        let spec = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
                continue;
            }
            rest
        } else {
            continue;
        };
        let mut parts = spec.split_whitespace();
        if let (Some(module), Some(_version)) = (parts.next(), parts.next()) {
            out.push(Declared {
                name: module.to_owned(),
                pinned: true,
                line: u32::try_from(i + 1).ok(),
            });
        }
    }
    out
}

// ----- Ruby, PHP, Elixir ---------------------------------------------------------------

fn gemfile(text: &str) -> Vec<Declared> {
    static GEM: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"^\s*gem\s+['"]([^'"]+)['"]\s*(.*)$"#).ok());
    static VERSION: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"^\s*,\s*['"]\s*(=\s*)?([^'"]+)['"]"#).ok());
    let (Some(gem), Some(version)) = (GEM.as_ref(), VERSION.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(c) = gem.captures(line) else {
            continue;
        };
        let rest = c.get(2).map_or("", |m| m.as_str());
        if rest.contains("path:") || rest.contains(":path") {
            continue;
        }
        let pinned = version
            .captures(rest)
            .and_then(|v| v.get(2))
            .is_some_and(|v| exact_version(v.as_str()))
            || rest.contains("ref:") && !rest.contains("branch:");
        out.push(Declared {
            name: c.get(1).map_or("", |m| m.as_str()).to_owned(),
            pinned,
            line: u32::try_from(i + 1).ok(),
        });
    }
    out
}

fn composer(text: &str) -> Vec<Declared> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["require", "require-dev"] {
        for (name, spec) in doc
            .get(key)
            .and_then(|d| d.as_object())
            .into_iter()
            .flatten()
        {
            // The platform: PHP itself and its extensions, not packages.
            if name == "php" || !name.contains('/') {
                continue;
            }
            out.push(Declared {
                line: line_of(text, &format!("\"{name}\"")),
                name: name.clone(),
                pinned: exact_version(spec.as_str().unwrap_or("").trim_start_matches('=')),
            });
        }
    }
    out
}

fn mix(text: &str) -> Vec<Declared> {
    static DEP: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"\{\s*:([a-z0-9_]+)\s*,\s*(?:"([^"]*)")?([^}]*)\}"#).ok());
    let Some(dep) = DEP.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for c in dep.captures_iter(line) {
            let rest = c.get(3).map_or("", |m| m.as_str());
            if rest.contains("path:") || rest.contains("in_umbrella:") {
                continue;
            }
            let version = c.get(2).map_or("", |m| m.as_str()).trim();
            let pinned =
                exact_version(version.trim_start_matches("==").trim()) || rest.contains("ref:");
            out.push(Declared {
                name: c.get(1).map_or("", |m| m.as_str()).to_owned(),
                pinned,
                line: u32::try_from(i + 1).ok(),
            });
        }
    }
    out
}

// ----- JVM, .NET -----------------------------------------------------------------------

/// A JVM or NuGet version that moves: a range, `LATEST`/`RELEASE`, a snapshot, a `+`.
fn moving_version(v: &str) -> bool {
    let v = v.trim();
    v.starts_with('[')
        || v.starts_with('(')
        || v.contains(',')
        || v.ends_with('+')
        || v.contains('*')
        || v.eq_ignore_ascii_case("latest")
        || v.eq_ignore_ascii_case("release")
        || v.to_ascii_lowercase().starts_with("latest.")
        || v.to_ascii_uppercase().ends_with("-SNAPSHOT")
}

/// Maven has no lockfile: a `<version>` is one version unless it is a range, `LATEST`,
/// `RELEASE` or a snapshot; no version means the parent or a BOM manages it.
fn pom(text: &str) -> Vec<Declared> {
    static DEP: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?s)<dependency>(.*?)</dependency>").ok());
    static TAG: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"<(artifactId|version)>\s*([^<]*?)\s*</").ok());
    let (Some(dep), Some(tag)) = (DEP.as_ref(), TAG.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for block in dep.captures_iter(text) {
        let body = block.get(1).map_or("", |m| m.as_str());
        let mut name = None;
        let mut version = None;
        for t in tag.captures_iter(body) {
            match t.get(1).map(|m| m.as_str()) {
                Some("artifactId") => name = t.get(2).map(|m| m.as_str().to_owned()),
                Some("version") => version = t.get(2).map(|m| m.as_str().to_owned()),
                _ => {}
            }
        }
        if let Some(name) = name {
            out.push(Declared {
                line: line_of(text, &format!("<artifactId>{name}</artifactId>")),
                pinned: !version.as_deref().is_some_and(moving_version),
                name,
            });
        }
    }
    out
}

fn gradle(text: &str) -> Vec<Declared> {
    static DEP: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r#"(?m)^\s*(?:implementation|api|compileOnly|runtimeOnly|testImplementation|testRuntimeOnly|annotationProcessor|kapt|ksp)\s*\(?\s*["']([^"':]+):([^"':]+)(?::([^"']*))?["']"#).ok()
    });
    declared_by_line(text, DEP.as_ref(), 2, 3)
}

fn csproj(text: &str) -> Vec<Declared> {
    static DEP: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r#"<PackageReference\s+Include="([^"]+)"(?:\s+Version="([^"]*)")?"#).ok()
    });
    declared_by_line(text, DEP.as_ref(), 1, 2)
}

/// One dependency per line matching `dep`: its name in group `name`, its version (pinned
/// unless it moves) in group `version`.
fn declared_by_line(text: &str, dep: Option<&Regex>, name: usize, version: usize) -> Vec<Declared> {
    let Some(dep) = dep else {
        return Vec::new();
    };
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let c = dep.captures(line)?;
            Some(Declared {
                name: c.get(name)?.as_str().to_owned(),
                pinned: !c.get(version).is_some_and(|v| moving_version(v.as_str())),
                line: u32::try_from(i + 1).ok(),
            })
        })
        .collect()
}

// ----- lockfiles -----------------------------------------------------------------------

/// Whether `name` occurs in `text` as a whole name (not inside a longer one).
fn mentions(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(|c| part(c) && c != '.')
    })
}

/// The lockfile for a manifest: beside it, else in a folder above it (workspaces).
fn lockfile_for(
    files: &[String],
    manifest: &str,
    ecosystem: Ecosystem,
    name: &str,
) -> Option<String> {
    let mut dir = manifest.rsplit_once('/').map(|(d, _)| d.to_owned());
    loop {
        for lock in ecosystem.lockfiles(name) {
            let path = match &dir {
                Some(d) => format!("{d}/{lock}"),
                None => (*lock).to_owned(),
            };
            if files.contains(&path) {
                return Some(path);
            }
        }
        dir = match dir {
            Some(d) => d.rsplit_once('/').map(|(p, _)| p.to_owned()),
            None => return None,
        };
    }
}

// ----- the Dockerfile's own installs ---------------------------------------------------

/// Packages a Dockerfile installs by name rather than from a manifest.
#[derive(Debug, Default)]
struct Inline {
    /// (package, pinned, line).
    language: Vec<(String, bool, u32)>,
    /// (package, line, why it floats or None when the release pins it).
    system: Vec<(String, u32, Option<String>)>,
}

/// Tags that name no release: the distribution moves under them.
const MOVING_TAGS: &[&str] = &[
    "latest", "stable", "testing", "unstable", "sid", "rolling", "edge", "rawhide",
];

fn inline_installs(text: &str) -> Inline {
    let instructions = dockerfile::parse(text);
    let froms = dockerfile::froms(&instructions);
    let mut out = Inline::default();
    // The base each stage stands on, stage names resolved to their own base.
    let mut stage_base: BTreeMap<String, String> = BTreeMap::new();
    let mut base = String::new();
    let mut from_index = 0;
    for ins in &instructions {
        if ins.keyword == "FROM" {
            if let Some(f) = froms.get(from_index) {
                let lower = f.image.to_ascii_lowercase();
                base = stage_base.get(&lower).cloned().unwrap_or(f.image.clone());
                if let Some(n) = &f.name {
                    stage_base.insert(n.to_ascii_lowercase(), base.clone());
                }
            }
            from_index += 1;
            continue;
        }
        if ins.keyword != "RUN" {
            continue;
        }
        let floats = system_floats(&base);
        for command in ins.args.split(['&', ';', '|']) {
            let words: Vec<&str> = command
                .split_whitespace()
                .map(|w| w.trim_matches(['"', '\'']))
                .collect();
            let Some(at) = words
                .iter()
                .position(|w| matches!(*w, "install" | "add" | "i"))
            else {
                continue;
            };
            let tool = words[..at]
                .iter()
                .rev()
                .find(|w| !w.starts_with('-'))
                .map(|w| w.rsplit('/').next().unwrap_or(w));
            let args = &words[at + 1..];
            match (tool, words[at]) {
                (Some("apt-get" | "apt" | "yum" | "dnf" | "microdnf"), "install")
                | (Some("apk"), "add") => {
                    for p in packages(args, &[]) {
                        // `pkg=1.2-3` pins the package whatever the release.
                        let why = if p.contains('=') {
                            None
                        } else {
                            floats.clone()
                        };
                        out.system.push((p, ins.line, why));
                    }
                }
                (Some("pip" | "pip3"), "install") => {
                    for p in packages(args, PIP_VALUED) {
                        if let Some((name, pinned)) = requirement(&p)
                            && !packaging_tool(&name)
                        {
                            out.language.push((p.clone(), pinned, ins.line));
                        }
                    }
                }
                (Some("npm" | "pnpm"), "install" | "i" | "add") | (Some("yarn"), "add") => {
                    for p in packages(args, &[]) {
                        let pinned = p
                            .rsplit_once('@')
                            .is_some_and(|(n, v)| !n.is_empty() && exact_version(v));
                        out.language.push((p, pinned, ins.line));
                    }
                }
                (Some("gem"), "install") => {
                    let pinned = args
                        .windows(2)
                        .any(|w| matches!(w[0], "-v" | "--version") && exact_version(w[1]));
                    for p in packages(args, &["-v", "--version"]) {
                        out.language.push((p, pinned, ins.line));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// pip options that take a value.
const PIP_VALUED: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--trusted-host",
    "-f",
    "--find-links",
    "--platform",
    "--python-version",
    "--only-binary",
    "--no-binary",
    "--progress-bar",
];

/// The package names among a command's arguments: options (and the values of `valued`
/// ones) left out, local paths left out.
fn packages(args: &[&str], valued: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') {
            skip = valued.contains(a);
            continue;
        }
        if a.is_empty()
            || a.starts_with('.')
            || a.starts_with('/')
            || a.starts_with('$')
            || a.contains('>')
        {
            continue;
        }
        out.push((*a).to_owned());
    }
    out
}

/// Why a distribution's packages float on this base (None: its tag names a release).
fn system_floats(base: &str) -> Option<String> {
    if let Some(why) = dockerfile::pin_state(base, &[]) {
        return Some(format!("the base image `{base}`: {why}"));
    }
    let last = base.rsplit('/').next().unwrap_or(base);
    let tag = last
        .split('@')
        .next()
        .and_then(|n| n.split_once(':'))
        .map(|(_, t)| t.to_ascii_lowercase());
    match tag {
        Some(t) if MOVING_TAGS.contains(&t.as_str()) => Some(format!(
            "the base image `{base}` names no release, so its packages move"
        )),
        _ => None,
    }
}

// ----- the rule ------------------------------------------------------------------------

pub(super) fn run(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, dockerfile_path: &str) -> Verdict {
    let files: Vec<String> = super::own_files(repo);
    let mut problems: Vec<String> = Vec::new();
    let mut reproducible: Vec<String> = Vec::new();
    let mut unpinned_names: Vec<String> = Vec::new();
    let manifests: Vec<(&String, Ecosystem)> = files
        .iter()
        .filter_map(|p| {
            Some((
                p,
                Ecosystem::of_manifest(p.rsplit('/').next().unwrap_or(p))?,
            ))
        })
        .take(MAX_MANIFESTS)
        .collect();
    for (path, ecosystem) in manifests {
        let name = path.rsplit('/').next().unwrap_or(path);
        let Some(text) = read_text(repo, path) else {
            continue;
        };
        let deps = declared(ecosystem, name, &text);
        if deps.is_empty() {
            continue;
        }
        let n = deps.len();
        let plural = if n == 1 { "y" } else { "ies" };
        if let Some(lock) = lockfile_for(&files, path, ecosystem, name) {
            let bytes = repo.read(&lock, LOCK_CAP).unwrap_or_default();
            let whole = bytes.len() < LOCK_CAP;
            let lock_text = String::from_utf8_lossy(&bytes);
            let lock_text = if ecosystem == Ecosystem::Python {
                python_name(&lock_text)
            } else {
                lock_text.to_ascii_lowercase()
            };
            // A binary lockfile (bun.lockb) or one larger than we read is taken as it is.
            let readable = whole && !bytes.iter().take(8192).any(|b| *b == 0);
            let missing: Vec<&Declared> = if readable {
                deps.iter()
                    .filter(|d| !mentions(&lock_text, &ecosystem.normalise(&d.name)))
                    .collect()
            } else {
                Vec::new()
            };
            cx.evidence.push(Evidence::File {
                path: lock.clone(),
                line: None,
                excerpt: Some(format!("lockfile of {path}")),
            });
            if missing.is_empty() {
                reproducible.push(format!(
                    "{path}: {n} direct dependenc{plural} locked in {lock}"
                ));
                continue;
            }
            let names: Vec<String> = missing.iter().map(|d| d.name.clone()).collect();
            for d in &missing {
                cx.evidence.push(Evidence::File {
                    path: path.clone(),
                    line: d.line,
                    excerpt: Some(format!("{}: not in {lock}", d.name)),
                });
            }
            problems.push(format!(
                "{lock} does not match {path}: {} not in it",
                first_n(&names, 8)
            ));
            unpinned_names.extend(names);
            continue;
        }
        let unpinned: Vec<&Declared> = deps.iter().filter(|d| !d.pinned).collect();
        if unpinned.is_empty() {
            cx.evidence.push(Evidence::File {
                path: path.clone(),
                line: None,
                excerpt: Some(format!(
                    "{n} direct dependenc{plural}, each pinned to one version"
                )),
            });
            reproducible.push(format!("{path}: {n} direct dependenc{plural}, each pinned"));
            continue;
        }
        let names: Vec<String> = unpinned.iter().map(|d| d.name.clone()).collect();
        for d in unpinned.iter().take(10) {
            let excerpt = d
                .line
                .and_then(|l| text.lines().nth(l as usize - 1))
                .map_or_else(|| d.name.clone(), |l| truncate_text(l.trim(), 120).0);
            cx.evidence.push(Evidence::File {
                path: path.clone(),
                line: d.line,
                excerpt: Some(format!("not pinned: {excerpt}")),
            });
        }
        let locks = ecosystem.lockfiles(name);
        problems.push(format!(
            "{path}: {} of {n} direct dependencies not pinned ({}) and no lockfile{}",
            names.len(),
            first_n(&names, 8),
            if locks.is_empty() {
                String::new()
            } else {
                format!(" ({})", locks.join(", "))
            }
        ));
        unpinned_names.extend(names);
    }

    // What the Dockerfile installs by name.
    let inline = read_text(repo, dockerfile_path)
        .map(|t| inline_installs(&t))
        .unwrap_or_default();
    let loose: Vec<&(String, bool, u32)> = inline.language.iter().filter(|(_, p, _)| !p).collect();
    for (p, _, line) in &loose {
        cx.evidence.push(Evidence::File {
            path: dockerfile_path.to_owned(),
            line: Some(*line),
            excerpt: Some(format!("installed without a version: {p}")),
        });
    }
    if !loose.is_empty() {
        let names: Vec<String> = loose.iter().map(|(p, _, _)| p.clone()).collect();
        problems.push(format!(
            "{dockerfile_path} installs {} without a version",
            first_n(&names, 8)
        ));
        unpinned_names.extend(names);
    } else if !inline.language.is_empty() {
        reproducible.push(format!(
            "{dockerfile_path}: {} package{} installed at pinned versions",
            inline.language.len(),
            if inline.language.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some((_, line, Some(why))) = inline.system.iter().find(|(_, _, w)| w.is_some()) {
        let names: Vec<String> = inline
            .system
            .iter()
            .filter(|(_, _, w)| w.is_some())
            .map(|(p, _, _)| p.clone())
            .collect();
        cx.evidence.push(Evidence::File {
            path: dockerfile_path.to_owned(),
            line: Some(*line),
            excerpt: Some(format!("distribution packages: {why}")),
        });
        problems.push(format!(
            "{dockerfile_path} installs the distribution's {} on a base that names no release ({why})",
            first_n(&names, 8)
        ));
    } else if let Some((_, line, _)) = inline.system.first() {
        let names: Vec<String> = inline.system.iter().map(|(p, _, _)| p.clone()).collect();
        cx.evidence.push(Evidence::File {
            path: dockerfile_path.to_owned(),
            line: Some(*line),
            excerpt: Some(format!(
                "distribution packages of the base image's release: {}",
                first_n(&names, 8)
            )),
        });
        reproducible.push(format!(
            "{dockerfile_path}: {} distribution package{} of the base image's release (the release pins their versions)",
            names.len(),
            if names.len() == 1 { "" } else { "s" }
        ));
    }

    for r in &reproducible {
        cx.evidence.note(r.clone());
    }
    if !unpinned_names.is_empty() {
        cx.evidence
            .note(format!("not reproducible: {}", unpinned_names.join(", ")));
    }
    if !problems.is_empty() {
        return Verdict::fail(problems.join("; "));
    }
    if reproducible.is_empty() {
        return Verdict::not_assessed(
            "no third-party dependency declared or installed (the standard library alone, a \
             choice the contract allows): no versions to pin",
        );
    }
    Verdict::pass(reproducible.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_pins() {
        for (spec, pinned) in [
            ("flask==3.0.3", true),
            ("Flask === 3.0.3", true),
            ("flask", false),
            ("flask>=3", false),
            ("flask~=3.0", false),
            ("flask==3.*", false),
            ("psycopg[binary]==3.2.1 ; python_version >= '3.9'", true),
            ("lib @ git+https://example.test/lib@0123abcd", true),
            ("lib @ git+https://example.test/lib", false),
        ] {
            assert_eq!(requirement(spec).map(|r| r.1), Some(pinned), "{spec}");
        }
    }

    #[test]
    fn whole_names_in_lockfiles() {
        assert!(mentions("name = \"serde\"\nversion", "serde"));
        assert!(!mentions("name = \"serde_json\"", "serde"));
        assert!(mentions("\"node_modules/express\": {", "express"));
        assert!(mentions("express@4.19.2:", "express"));
        assert!(!mentions("express-session@1.0.0", "express"));
        assert_eq!(python_name("Flask_SQLAlchemy.ext"), "flask-sqlalchemy-ext");
    }

    #[test]
    fn distribution_releases() {
        assert_eq!(system_floats("debian:bookworm-slim"), None);
        assert_eq!(system_floats("python:3.12-slim"), None);
        assert!(system_floats("debian:stable").is_some());
        assert!(system_floats("ubuntu").is_some());
        assert!(system_floats("alpine:edge").is_some());
    }
}
