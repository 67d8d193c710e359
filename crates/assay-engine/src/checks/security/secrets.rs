//! Secrets in the repository: gitleaks-style rules over the tracked working tree and,
//! optionally, the blobs of every commit (capped), plus files that must never be tracked
//! (e.g. `.env`). Findings show the secret redacted to its first 4 characters.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use assay_format::SecretsScan;
use assay_model::{Evidence, truncate_text};
use regex::Regex;
use sha2::{Digest, Sha256};

use super::first_n;
use super::leakage::redacted;
use crate::checks::repository::Globs;
use crate::context::{CheckCx, Verdict};
use crate::repo::RepoView;

/// Bytes read of one working-tree file.
const FILE_CAP: usize = 512 << 10;
/// Working-tree files scanned at most.
const MAX_FILES: usize = 5_000;
/// Commits walked at most.
const MAX_COMMITS: usize = 500;
/// History blobs scanned at most.
const MAX_BLOBS: usize = 2_000;
/// Bytes read of one history blob.
const BLOB_CAP: usize = 256 << 10;
/// Findings kept (evidence shows fewer).
const MAX_FINDINGS: usize = 200;
/// Findings shown as evidence.
const EVIDENCE_FINDINGS: usize = 20;
/// Shannon entropy (bits per character) a generic secret's value must reach.
const MIN_ENTROPY: f64 = 3.5;

/// A rule: its name, its regex, the capture group holding the secret (0: the whole match),
/// and whether the value must pass the generic filters (entropy, placeholders).
struct Rule {
    name: &'static str,
    re: Regex,
    group: usize,
    generic: bool,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let specs: [(&str, &str, usize, bool); 9] = [
        (
            "an AWS access key id",
            r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b",
            1,
            false,
        ),
        (
            "an AWS secret access key",
            r#"(?i)aws_?secret_?access_?key['"]?\s*[:=]\s*['"]?([A-Za-z0-9/+=]{40})\b"#,
            1,
            false,
        ),
        (
            "a private key",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |)PRIVATE KEY-----",
            0,
            false,
        ),
        (
            "a GitHub token",
            r"\b(gh[pousr]_[A-Za-z0-9]{36})\b",
            1,
            false,
        ),
        (
            "a GitHub token",
            r"\b(github_pat_[A-Za-z0-9_]{60,90})\b",
            1,
            false,
        ),
        (
            "a Slack token",
            r"\b(xox[baprs]-[A-Za-z0-9-]{10,})",
            1,
            false,
        ),
        (
            "a Stripe live key",
            r"\b((?:sk|rk)_live_[A-Za-z0-9]{20,})",
            1,
            false,
        ),
        (
            "a hard-coded secret",
            r#"(?i)(?:secret|token|api[_-]?key|jwt[_-]?secret)['"]?\s*[:=]\s*['"]?([^\s'"]{12,})"#,
            1,
            true,
        ),
        (
            "a hard-coded password",
            r#"(?i)(?:password|passwd)['"]?\s*[:=]\s*['"]?([^\s'"]{12,})"#,
            1,
            true,
        ),
    ];
    specs
        .into_iter()
        .filter_map(|(name, re, group, generic)| {
            Regex::new(re).ok().map(|re| Rule {
                name,
                re,
                group,
                generic,
            })
        })
        .collect()
});

/// A dotted identifier (`settings.SECRET_KEY`) or a bare one without digits: code, not a
/// secret.
static IDENTIFIER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[a-z_]+|[A-Z_]+)$").ok()
});

/// Words that mark a value as a placeholder or a reference, not a secret.
const PLACEHOLDERS: &[&str] = &[
    "${",
    "{{",
    "os.environ",
    "os.getenv",
    "getenv",
    "process.env",
    "env(",
    "env::var",
    "changeme",
    "change-me",
    "change_me",
    "example",
    "xxx",
    "placeholder",
    "your-",
    "your_",
    "dummy",
    "redacted",
    "***",
    "...",
    "<",
    ">",
];

/// One secret found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub rule: &'static str,
    /// `path` or `path@commit`.
    pub place: String,
    pub line: u32,
    pub excerpt: String,
    pub secret: String,
}

pub(super) async fn run(cx: &mut CheckCx<'_, '_>, spec: &SecretsScan) -> Verdict {
    let Some(repo) = cx.shared.repo.clone() else {
        return Verdict::error("no repository to scan");
    };
    let report = match scan_repo(repo.as_ref(), spec) {
        Ok(r) => r,
        Err(e) => return Verdict::error(format!("`forbidden_files`: {e}")),
    };
    for n in &report.notes {
        cx.evidence.note(n.clone());
    }
    for f in report.findings.iter().take(EVIDENCE_FINDINGS) {
        cx.evidence.push(Evidence::File {
            path: f.place.clone(),
            line: (f.line > 0).then_some(f.line),
            excerpt: Some(format!("{}: {}", f.rule, f.excerpt)),
        });
    }
    let scanned = format!(
        "{} file{} and {} history blob{}",
        report.files,
        if report.files == 1 { "" } else { "s" },
        report.blobs,
        if report.blobs == 1 { "" } else { "s" }
    );
    if report.findings.is_empty() && report.forbidden.is_empty() {
        return Verdict::pass(format!("no secrets in {scanned}"));
    }
    let mut problems = Vec::new();
    if !report.forbidden.is_empty() {
        for p in report.forbidden.iter().take(EVIDENCE_FINDINGS) {
            cx.evidence.push(Evidence::File {
                path: p.clone(),
                line: None,
                excerpt: Some("a file that must not be tracked".into()),
            });
        }
        problems.push(format!(
            "forbidden file{} tracked: {}",
            if report.forbidden.len() == 1 { "" } else { "s" },
            first_n(&report.forbidden, 5)
        ));
    }
    if !report.findings.is_empty() {
        let list: Vec<String> = report
            .findings
            .iter()
            .map(|f| format!("{} in {}:{}", f.rule, f.place, f.line))
            .collect();
        problems.push(format!(
            "{} secret{} found: {}",
            list.len(),
            if list.len() == 1 { "" } else { "s" },
            first_n(&list, 5)
        ));
    }
    Verdict::fail(format!("{} (scanned {scanned})", problems.join("; ")))
}

/// What a scan found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub files: usize,
    pub blobs: usize,
    pub findings: Vec<Finding>,
    pub forbidden: Vec<String>,
    pub notes: Vec<String>,
}

/// Scans a repository: the tracked working tree (everything when there is no git
/// repository), then history if asked.
pub(crate) fn scan_repo(repo: &dyn RepoView, spec: &SecretsScan) -> Result<Report, String> {
    let forbidden_globs = Globs::new(&spec.forbidden_files)?;
    let mut report = Report::default();
    let commits = repo.commits();
    let has_git = commits.is_ok();
    let files: Vec<_> = repo
        .files()
        .into_iter()
        .filter(|f| f.tracked || !has_git)
        .collect();
    let mut seen_secrets: BTreeSet<(&'static str, String)> = BTreeSet::new();
    let mut seen_blobs: BTreeSet<[u8; 32]> = BTreeSet::new();

    // A name (`.env`) matches that file anywhere; a glob with `/` matches whole paths.
    let forbidden = |path: &str| forbidden_globs.is_match(path);
    for f in &files {
        if forbidden(&f.path) {
            report.forbidden.push(f.path.clone());
        }
    }
    if files.len() > MAX_FILES {
        report.notes.push(format!(
            "only the first {MAX_FILES} of {} files were scanned",
            files.len()
        ));
    }
    for f in files.iter().take(MAX_FILES) {
        let Some(bytes) = repo.read(&f.path, FILE_CAP) else {
            continue;
        };
        seen_blobs.insert(Sha256::digest(&bytes).into());
        if is_binary(&bytes) {
            continue;
        }
        report.files += 1;
        scan_text(
            &f.path,
            &f.path,
            &String::from_utf8_lossy(&bytes),
            &mut seen_secrets,
            &mut report.findings,
        );
    }

    if spec.history {
        match commits {
            Err(why) => report.notes.push(format!(
                "no git history to scan ({why}); only the working tree was scanned"
            )),
            Ok(commits) => {
                let tracked_now: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
                let history: BTreeSet<String> = repo.history_paths().into_iter().collect();
                for p in history {
                    if forbidden(&p) && !tracked_now.contains(p.as_str()) {
                        report.forbidden.push(format!("{p} (in history)"));
                    }
                }
                if commits.len() > MAX_COMMITS {
                    report.notes.push(format!(
                        "only the newest {MAX_COMMITS} of {} commits were scanned",
                        commits.len()
                    ));
                }
                let mut capped = false;
                'commits: for c in commits.iter().take(MAX_COMMITS) {
                    for path in &c.files {
                        if report.blobs >= MAX_BLOBS {
                            capped = true;
                            break 'commits;
                        }
                        let Some(bytes) = repo.history_blob(&c.id, path, BLOB_CAP) else {
                            continue;
                        };
                        if !seen_blobs.insert(Sha256::digest(&bytes).into()) || is_binary(&bytes) {
                            continue;
                        }
                        report.blobs += 1;
                        let short: String = c.id.chars().take(10).collect();
                        scan_text(
                            path,
                            &format!("{path}@{short}"),
                            &String::from_utf8_lossy(&bytes),
                            &mut seen_secrets,
                            &mut report.findings,
                        );
                    }
                }
                if capped {
                    report
                        .notes
                        .push(format!("history scan stopped at {MAX_BLOBS} blobs"));
                }
            }
        }
    }
    report.findings.truncate(MAX_FINDINGS);
    Ok(report)
}

fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0)
}

/// A test file, where fixture passwords for made-up users are expected.
fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.split('/').any(|seg| {
        matches!(
            seg,
            "test" | "tests" | "spec" | "specs" | "__tests__" | "testdata" | "fixtures"
        )
    }) || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.starts_with("conftest")
}

/// Scans one text for every rule; new findings (by rule and secret) are appended.
pub(crate) fn scan_text(
    path: &str,
    place: &str,
    text: &str,
    seen: &mut BTreeSet<(&'static str, String)>,
    out: &mut Vec<Finding>,
) {
    let test_file = is_test_path(path);
    for (i, line) in text.lines().enumerate() {
        if out.len() >= MAX_FINDINGS {
            return;
        }
        // Very long lines (minified files) are looked at in their first 4 KiB only.
        let line = truncate_text(line, 4096).0;
        for rule in RULES.iter() {
            if test_file && rule.name == "a hard-coded password" {
                continue;
            }
            for caps in rule.re.captures_iter(&line) {
                let Some(m) = caps.get(rule.group) else {
                    continue;
                };
                let secret = m.as_str().to_owned();
                if rule.generic && !looks_secret(&secret) {
                    continue;
                }
                if !rule.generic && is_placeholder(&secret) {
                    continue;
                }
                if !seen.insert((rule.name, secret.clone())) {
                    continue;
                }
                let shown = if rule.group == 0 {
                    line.trim().to_owned()
                } else {
                    line.replace(&secret, &redacted(&secret)).trim().to_owned()
                };
                out.push(Finding {
                    rule: rule.name,
                    place: place.to_owned(),
                    line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    excerpt: truncate_text(&shown, 200).0,
                    secret,
                });
            }
        }
    }
}

fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    PLACEHOLDERS.iter().any(|p| lower.contains(p))
}

/// Whether a generic rule's value looks like a real secret: high entropy, not code, not a
/// placeholder or a reference to the environment.
fn looks_secret(value: &str) -> bool {
    let value = value.trim_end_matches([',', ';', ')']);
    if value.chars().count() < 12 || is_placeholder(value) {
        return false;
    }
    if value.contains(['(', ')', '[', ']', '{', '}', '$', '%', '\\']) {
        return false;
    }
    if IDENTIFIER.as_ref().is_some_and(|re| re.is_match(value)) {
        return false;
    }
    entropy(value) >= MIN_ENTROPY
}

/// Shannon entropy in bits per character.
pub(crate) fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(path: &str, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        scan_text(path, path, text, &mut BTreeSet::new(), &mut out);
        out
    }

    #[test]
    fn finds_real_secrets_and_redacts_them() {
        let text = "JWT_SECRET=q8Xz2LmN4vB7kR1tY6wP\naws_key = AKIAQWERTYUIOPASDFGH\n";
        let f = find("config.py", text);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|x| !x.excerpt.contains(&x.secret)));
        assert!(f[0].excerpt.contains("q8Xz…"), "{:?}", f[0]);
        assert_eq!(f[1].line, 2);
        assert_eq!(
            find("id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc").len(),
            1
        );
        assert_eq!(
            find(
                "a.js",
                "const t = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';"
            )
            .len(),
            1
        );
    }

    #[test]
    fn ignores_placeholders_references_and_code() {
        for line in [
            "JWT_SECRET=${JWT_SECRET}",
            "secret = os.environ['JWT_SECRET']",
            "password: changeme-changeme",
            "token = request_headers_authorization",
            "hashed_password = bcrypt.hashpw(password.encode(), salt)",
            "api_key: <your-api-key-here>",
            "secret_key = settings.SECRET_KEY_VALUE",
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "password = 'aaaaaaaaaaaaaaaa'",
        ] {
            assert!(find("app.py", line).is_empty(), "{line}");
        }
        assert!(find("tests/test_api.py", "password = 'Sup3r-S3cret-Pa55!'").is_empty());
        assert_eq!(find("app.py", "password = 'Sup3r-S3cret-Pa55!'").len(), 1);
    }

    #[test]
    fn entropy_of_simple_strings() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }
}
