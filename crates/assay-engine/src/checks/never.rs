//! `never` checks: rules no response of the whole run may break (a 5xx, a stack trace or
//! SQL text, a password or its hash), judged after every suite ran from the run's
//! [`Journal`](crate::journal::Journal).

use assay_format::{Assessment, CheckKind, DigestForm, NeverCheck};
use assay_model::Evidence;
use regex::Regex;

use crate::context::Verdict;
use crate::journal::{Journal, Rule};
use crate::vars::Vars;

/// Password hash strings: a service must never answer with one.
const HASH_PATTERNS: &[(&str, &str)] = &[
    ("a bcrypt hash", r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"),
    ("an argon2 hash", r"\$argon2(?:id|i|d)\$"),
    (
        "a scrypt hash",
        r"\$scrypt\$|\$7\$[./A-Za-z0-9]{11,}|scrypt:\d+:\d+:\d+\$",
    ),
    ("a PBKDF2 hash", r"pbkdf2[:_$-](?:sha\d+|\d)"),
];

/// The forms a `reveal` secret is looked for in.
const REVEAL_FORMS: [DigestForm; 6] = crate::digest::ALL;

/// The rules of every `never` check of `assessment`, their templates rendered with `vars`
/// (global variables and principals). A rule that cannot be built is an error for its
/// check: (check id, why).
pub fn rules(assessment: &Assessment, vars: &mut Vars) -> (Vec<Rule>, Vec<(String, String)>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (_, check) in assessment.checks() {
        let CheckKind::Never(n) = &check.kind else {
            continue;
        };
        let id = &check.common.id.value;
        match rule(id, n, vars) {
            Ok(r) => rules.push(r),
            Err(e) => errors.push((id.clone(), e)),
        }
    }
    (rules, errors)
}

fn rule(id: &str, n: &NeverCheck, vars: &mut Vars) -> Result<Rule, String> {
    let mut patterns = Vec::new();
    for re in &n.forbid {
        let r =
            Regex::new(re).map_err(|e| format!("`forbid` has a bad regular expression: {e}"))?;
        patterns.push((format!("text matching /{re}/"), r));
    }
    if n.hashes {
        for (what, re) in HASH_PATTERNS {
            let r = Regex::new(re).map_err(|e| format!("a built-in hash pattern: {e}"))?;
            patterns.push(((*what).to_owned(), r));
        }
    }
    let mut secrets = Vec::new();
    for t in &n.reveal {
        let value = vars
            .render(t)
            .map_err(|e| format!("cannot render `{}`: {e}", t.as_str()))?;
        // A value this short would match by chance; the generated passwords are long.
        if value.chars().count() < 6 {
            return Err(format!(
                "`{}` is shorter than 6 characters; it would match by chance",
                t.as_str()
            ));
        }
        for (what, text) in
            crate::digest::forms(&format!("`{}`", t.as_str()), &value, &REVEAL_FORMS)
        {
            if text.chars().any(|c| c.is_ascii_lowercase())
                && text.chars().all(|c| c.is_ascii_hexdigit())
            {
                secrets.push((format!("{what} (upper case)"), text.to_ascii_uppercase()));
            }
            secrets.push((what, text));
        }
    }
    Ok(Rule {
        check: id.to_owned(),
        server_error: n.server_error,
        builtin: n.leak,
        patterns,
        secrets,
    })
}

/// The verdict of the `never` check `id` over the run so far, with its evidence.
pub fn judge(journal: &Journal, id: &str, spec: &NeverCheck) -> (Verdict, Vec<Evidence>) {
    let (found, totals) = journal.findings(id);
    let classes: Vec<String> = totals
        .by_class
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    let mut evidence = vec![Evidence::Note {
        text: format!(
            "{} exchange{} of the run examined ({})",
            totals.exchanges,
            if totals.exchanges == 1 { "" } else { "s" },
            if classes.is_empty() {
                "none".into()
            } else {
                classes.join(", ")
            }
        ),
    }];
    if totals.unscanned > 0 {
        evidence.push(Evidence::Note {
            text: format!(
                "{} early exchange{} could not be scanned (made before the rules were known)",
                totals.unscanned,
                if totals.unscanned == 1 { "" } else { "s" }
            ),
        });
    }
    let what = describe(spec);
    if totals.exchanges == 0 {
        return (
            Verdict::skipped("no request was sent in this run, so there is nothing to judge"),
            evidence,
        );
    }
    if found.count == 0 {
        return (
            Verdict::pass(format!(
                "none of the {} responses of the run showed {what}",
                totals.exchanges
            )),
            evidence,
        );
    }
    evidence.extend(found.kept);
    (
        Verdict::fail(format!(
            "{} of the {} responses of the run showed {what}; the first are in the evidence",
            found.count, totals.exchanges
        )),
        evidence,
    )
}

fn describe(n: &NeverCheck) -> String {
    let mut parts = Vec::new();
    if n.server_error {
        parts.push("a 5xx status");
    }
    if n.leak {
        parts.push("a stack trace, SQL text or a server path");
    }
    if !n.forbid.is_empty() {
        parts.push("a forbidden pattern");
    }
    if !n.reveal.is_empty() {
        parts.push("a secret (as is, digested or in base64)");
    }
    if n.hashes {
        parts.push("a password hash");
    }
    parts.join(" or ")
}
