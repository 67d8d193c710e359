//! Dockerfile practice: a non-root `USER` in the final stage, pinned base images, and a
//! `.dockerignore`. The Dockerfile is parsed, never built or run here.

use std::collections::BTreeMap;

use assay_format::DockerfileRule;
use assay_model::{Evidence, truncate_text};

use super::read_text;
use crate::context::{CheckCx, Verdict};
use crate::repo::RepoView;

/// One instruction: its 1-based first line, keyword (upper case) and arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Instruction {
    pub line: u32,
    pub keyword: String,
    pub args: String,
}

/// A `FROM`: the image (variables substituted where known) and the stage name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct From {
    pub line: u32,
    pub image: String,
    pub name: Option<String>,
}

pub(super) fn run(
    cx: &mut CheckCx<'_, '_>,
    repo: &dyn RepoView,
    rule: DockerfileRule,
    path: &str,
) -> Verdict {
    if rule == DockerfileRule::Dockerignore {
        return dockerignore(cx, repo, path);
    }
    let Some(text) = read_text(repo, path) else {
        return Verdict::fail(format!("no readable Dockerfile at `{path}`"));
    };
    let instructions = parse(&text);
    let froms = froms(&instructions);
    if froms.is_empty() {
        return Verdict::fail(format!("`{path}` has no FROM instruction"));
    }
    match rule {
        DockerfileRule::NonRootUser => non_root(cx, repo, path, &instructions),
        DockerfileRule::PinnedBase => pinned(cx, path, &froms),
        DockerfileRule::Dockerignore => dockerignore(cx, repo, path),
    }
}

fn non_root(
    cx: &mut CheckCx<'_, '_>,
    repo: &dyn RepoView,
    path: &str,
    instructions: &[Instruction],
) -> Verdict {
    let last_from = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .unwrap_or(0);
    let user = instructions[last_from..]
        .iter()
        .rev()
        .find(|i| i.keyword == "USER");
    let image_root = repo.image_runs_as_root();
    match user {
        // A base image that already runs as an unprivileged user (distroless `:nonroot`,
        // many language images) needs no USER line: the built image is what counts.
        None if image_root == Some(false) => Verdict::pass(format!(
            "the final stage of `{path}` sets no USER, but its base image's user is not root \
             and the built image agrees"
        )),
        None => Verdict::fail(format!(
            "the final stage of `{path}` sets no USER: the service runs as root"
        )),
        Some(u) => {
            cx.evidence.push(Evidence::File {
                path: path.to_owned(),
                line: Some(u.line),
                excerpt: Some(truncate_text(&format!("USER {}", u.args), 200).0),
            });
            let name = u
                .args
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .split(':')
                .next()
                .unwrap_or_default();
            if name.is_empty() || name == "root" || name == "0" {
                return Verdict::fail(format!(
                    "the final stage of `{path}` runs as `{}` (line {})",
                    if name.is_empty() { "root" } else { name },
                    u.line
                ));
            }
            if image_root == Some(true) {
                return Verdict::fail(format!(
                    "`{path}` sets USER {name}, but the built image runs as root"
                ));
            }
            Verdict::pass(format!(
                "the final stage runs as `{name}` (line {}){}",
                u.line,
                if image_root == Some(false) {
                    "; the built image agrees"
                } else {
                    ""
                }
            ))
        }
    }
}

fn pinned(cx: &mut CheckCx<'_, '_>, path: &str, froms: &[From]) -> Verdict {
    let mut stages: Vec<String> = Vec::new();
    let mut unpinned = Vec::new();
    for f in froms {
        let verdict = pin_state(&f.image, &stages);
        if let Some(why) = verdict {
            cx.evidence.push(Evidence::File {
                path: path.to_owned(),
                line: Some(f.line),
                excerpt: Some(truncate_text(&format!("FROM {} ({why})", f.image), 200).0),
            });
            unpinned.push(format!("`{}` (line {}): {why}", f.image, f.line));
        }
        if let Some(n) = &f.name {
            stages.push(n.to_ascii_lowercase());
        }
    }
    if unpinned.is_empty() {
        Verdict::pass(format!(
            "every base image is pinned: {}",
            froms
                .iter()
                .map(|f| f.image.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        Verdict::fail(format!(
            "unpinned base image{}: {}",
            if unpinned.len() == 1 { "" } else { "s" },
            unpinned.join("; ")
        ))
    }
}

/// Why `image` is not pinned (None: it is).
pub(crate) fn pin_state(image: &str, earlier_stages: &[String]) -> Option<String> {
    let lower = image.to_ascii_lowercase();
    if lower == "scratch" || earlier_stages.contains(&lower) {
        return None;
    }
    if image.contains('$') {
        return Some("it names an unresolved variable".into());
    }
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) => Some("the `latest` tag moves".into()),
        Some((_, tag)) if !tag.is_empty() => None,
        _ => Some("no tag: it means `latest`".into()),
    }
}

fn dockerignore(cx: &mut CheckCx<'_, '_>, repo: &dyn RepoView, dockerfile: &str) -> Verdict {
    let candidates = [
        ".dockerignore".to_owned(),
        format!("{dockerfile}.dockerignore"),
    ];
    for c in &candidates {
        let Some(text) = read_text(repo, c) else {
            continue;
        };
        let entries: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if entries.is_empty() {
            return Verdict::fail(format!("`{c}` is empty"));
        }
        cx.evidence.push(Evidence::File {
            path: c.clone(),
            line: None,
            excerpt: Some(truncate_text(&entries.join("\n"), 400).0),
        });
        return Verdict::pass(format!(
            "`{c}` excludes {} pattern{}",
            entries.len(),
            if entries.len() == 1 { "" } else { "s" }
        ));
    }
    Verdict::fail("no .dockerignore: the whole folder is sent to the build")
}

/// Parses a Dockerfile into instructions: comments and blank lines dropped, continuation
/// lines joined, heredoc bodies skipped.
pub(crate) fn parse(text: &str) -> Vec<Instruction> {
    let mut escape = '\\';
    for line in text.lines().take(10) {
        let l = line.trim();
        if let Some(d) = l.strip_prefix('#') {
            let d = d.trim().to_ascii_lowercase();
            if let Some(v) = d.strip_prefix("escape=")
                && v.trim() == "`"
            {
                escape = '`';
            }
        } else if !l.is_empty() {
            break;
        }
    }
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut full = String::new();
        let mut current = trimmed.to_owned();
        loop {
            let t = current.trim_end();
            if let Some(stripped) = t.strip_suffix(escape) {
                full.push_str(stripped);
                full.push(' ');
                // Next non-comment line continues this one.
                let mut next = None;
                for (_, l) in lines.by_ref() {
                    let lt = l.trim();
                    if lt.starts_with('#') {
                        continue;
                    }
                    next = Some(lt.to_owned());
                    break;
                }
                match next {
                    Some(n) => current = n,
                    None => break,
                }
            } else {
                full.push_str(t);
                break;
            }
        }
        let (keyword, args) = match full.split_once(char::is_whitespace) {
            Some((k, a)) => (k.to_ascii_uppercase(), a.trim().to_owned()),
            None => (full.to_ascii_uppercase(), String::new()),
        };
        // Heredocs (`RUN <<EOF`): skip their bodies.
        let mut delimiters: Vec<String> = Vec::new();
        let mut rest = args.as_str();
        while let Some(pos) = rest.find("<<") {
            let after = rest[pos + 2..].trim_start_matches('-');
            let word: String = after
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if word.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                delimiters.push(word);
            }
            rest = &rest[pos + 2..];
        }
        for d in delimiters {
            for (_, l) in lines.by_ref() {
                if l.trim() == d {
                    break;
                }
            }
        }
        out.push(Instruction {
            line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            keyword,
            args,
        });
    }
    out
}

/// The `FROM`s, with `ARG` defaults declared before the first one substituted.
pub(crate) fn froms(instructions: &[Instruction]) -> Vec<From> {
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_from = false;
    let mut out = Vec::new();
    for i in instructions {
        match i.keyword.as_str() {
            "ARG" if !seen_from => {
                for decl in i.args.split_whitespace() {
                    if let Some((k, v)) = decl.split_once('=') {
                        args.insert(k.to_owned(), v.trim_matches(['"', '\'']).to_owned());
                    }
                }
            }
            "FROM" => {
                seen_from = true;
                let tokens: Vec<&str> = i
                    .args
                    .split_whitespace()
                    .filter(|t| !t.starts_with("--"))
                    .collect();
                let Some(image) = tokens.first() else {
                    continue;
                };
                let name = match tokens.get(1) {
                    Some(k) if k.eq_ignore_ascii_case("as") => {
                        tokens.get(2).map(|s| (*s).to_owned())
                    }
                    _ => None,
                };
                out.push(From {
                    line: i.line,
                    image: substitute(image, &args),
                    name,
                });
            }
            _ => {}
        }
    }
    out
}

/// `$NAME`, `${NAME}` and `${NAME:-default}` replaced where known.
fn substitute(s: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, default, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => {
                    let body = &inner[..end];
                    let (n, d) = match body.split_once(":-") {
                        Some((n, d)) => (n, Some(d)),
                        None => (body, None),
                    };
                    (n.to_owned(), d.map(str::to_owned), end + 2)
                }
                None => (String::new(), None, 0),
            }
        } else {
            let n: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let len = n.len();
            (n, None, len)
        };
        let value = args
            .get(&name)
            .filter(|v| !v.is_empty())
            .cloned()
            .or(default);
        match value {
            Some(v) if !name.is_empty() => {
                out.push_str(&v);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where the candidate's tests run, read from the Dockerfile's stages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TestPlace {
    /// A stage named `test` (or `tests`): its target is built and the tests run in it.
    TestStage(String),
    /// The service's own image: a single-stage Dockerfile, or a final stage built `FROM` an
    /// earlier stage (so it holds that stage's toolchain and sources).
    ServiceImage,
    /// The build stage: the earlier stage the final stage copies from (`COPY --from`).
    BuildStage(String),
    /// Nowhere: why.
    Nowhere(String),
}

impl TestPlace {
    /// Where, in words, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            TestPlace::TestStage(s) => format!("the Dockerfile's `{s}` stage"),
            TestPlace::ServiceImage => "the service's image".to_owned(),
            TestPlace::BuildStage(s) => {
                format!("the Dockerfile's `{s}` stage (the stage the final image copies from)")
            }
            TestPlace::Nowhere(_) => "nowhere".to_owned(),
        }
    }
}

/// The rule: a stage named `test` (or `tests`) when there is one; else a single-stage
/// Dockerfile's image (the service's); else the build stage, i.e. the first named earlier
/// stage the final stage copies from (`COPY --from=<stage>`) or is built on (`FROM <stage>`,
/// then the service's image holds it); else nowhere, with the reason.
pub(crate) fn test_place(text: &str) -> TestPlace {
    let instructions = parse(text);
    let stages = froms(&instructions);
    if let Some(name) = stages
        .iter()
        .filter_map(|f| f.name.as_deref())
        .find(|n| n.eq_ignore_ascii_case("test") || n.eq_ignore_ascii_case("tests"))
    {
        return TestPlace::TestStage(name.to_owned());
    }
    let Some(last) = stages.last() else {
        return TestPlace::Nowhere("the Dockerfile has no FROM instruction".to_owned());
    };
    if stages.len() == 1 {
        return TestPlace::ServiceImage;
    }
    let earlier: Vec<&str> = stages[..stages.len() - 1]
        .iter()
        .filter_map(|f| f.name.as_deref())
        .collect();
    let named = |s: &str| {
        earlier
            .iter()
            .find(|n| n.eq_ignore_ascii_case(s))
            .map(|n| (*n).to_owned())
    };
    if named(&last.image).is_some() {
        return TestPlace::ServiceImage;
    }
    let final_from = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .unwrap_or(0);
    for i in &instructions[final_from..] {
        if i.keyword != "COPY" {
            continue;
        }
        for token in i.args.split_whitespace() {
            let Some(source) = token.strip_prefix("--from=") else {
                continue;
            };
            if let Some(stage) = named(source) {
                return TestPlace::BuildStage(stage);
            }
            // A stage by number: only a named stage can be built as a target.
            if let Ok(n) = source.parse::<usize>()
                && let Some(stage) = stages.get(n).and_then(|f| f.name.clone())
            {
                return TestPlace::BuildStage(stage);
            }
        }
    }
    TestPlace::Nowhere(
        "the final stage copies from no named earlier stage and the Dockerfile has no `test` \
         stage, so no stage is known to hold the sources and a test toolchain"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &str = "# syntax=docker/dockerfile:1\nARG PY=3.12-slim\nFROM python:${PY} AS build\nRUN pip install \\\n  # a comment inside\n  flask\nRUN <<EOF\nFROM evil\nUSER nobody\nEOF\nFROM --platform=linux/amd64 debian:bookworm-slim\nCOPY --from=build /app /app\nUSER app:app\nCMD [\"python\"]\n";

    #[test]
    fn parses_stages_continuations_and_heredocs() {
        let ins = parse(MULTI);
        let kws: Vec<&str> = ins.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(
            kws,
            ["ARG", "FROM", "RUN", "RUN", "FROM", "COPY", "USER", "CMD"]
        );
        let f = froms(&ins);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].image, "python:3.12-slim");
        assert_eq!(f[0].name.as_deref(), Some("build"));
        assert_eq!(f[1].image, "debian:bookworm-slim");
        assert_eq!(f[1].line, 11);
    }

    #[test]
    fn pinning() {
        let stages = vec!["build".to_owned()];
        assert_eq!(pin_state("debian:bookworm-slim", &stages), None);
        assert_eq!(pin_state("scratch", &stages), None);
        assert_eq!(pin_state("build", &stages), None);
        assert_eq!(pin_state("python@sha256:abcd", &stages), None);
        assert_eq!(pin_state("localhost:5000/app:1.2", &stages), None);
        assert!(pin_state("python", &stages).is_some());
        assert!(pin_state("python:latest", &stages).is_some());
        assert!(pin_state("localhost:5000/app", &stages).is_some());
        assert!(pin_state("$BASE", &stages).is_some());
    }

    #[test]
    fn tests_run_in_a_test_stage_the_build_stage_or_the_single_image() {
        assert_eq!(
            test_place("FROM debian:bookworm-slim\nRUN x\n"),
            TestPlace::ServiceImage
        );
        let slim = "FROM debian:bookworm-slim AS build\nRUN make\n\
                    FROM debian:bookworm-slim\nCOPY --from=build /app /app\n";
        assert_eq!(test_place(slim), TestPlace::BuildStage("build".into()));
        let with_test = format!("{slim}FROM build AS test\nRUN make test\n");
        assert_eq!(test_place(&with_test), TestPlace::TestStage("test".into()));
        let based = "FROM debian:bookworm-slim AS deps\nFROM deps\nCOPY . .\n";
        assert_eq!(test_place(based), TestPlace::ServiceImage);
        let by_number = "FROM rust:1 AS builder\nFROM debian:bookworm-slim\nCOPY --from=0 /b /b\n";
        assert_eq!(
            test_place(by_number),
            TestPlace::BuildStage("builder".into())
        );
        let external = "FROM rust:1\nFROM debian:bookworm-slim\nCOPY --from=nginx:1 /x /x\n";
        assert!(matches!(test_place(external), TestPlace::Nowhere(_)));
    }
}
