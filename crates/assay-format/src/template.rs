//! Templates: strings with `{{ variable }}` references, e.g. `/v1/accounts/{{ account }}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A string that may reference variables as `{{ name }}` or `{{ name.field }}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Template(pub String);

impl Template {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parts of this template; `Err` describes a malformed reference.
    pub fn parts(&self) -> Result<Vec<TemplatePart>, String> {
        parse_template(&self.0)
    }

    /// The variable references in this template (empty when it is malformed).
    pub fn references(&self) -> Vec<Vec<String>> {
        self.parts()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| match p {
                TemplatePart::Var(path) => Some(path),
                TemplatePart::Text(_) => None,
            })
            .collect()
    }
}

impl From<&str> for Template {
    fn from(s: &str) -> Self {
        Template(s.to_owned())
    }
}

/// A piece of a template: literal text, or a dotted variable path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    Var(Vec<String>),
}

/// Splits `text` into literal text and `{{ a.b.c }}` references.
pub fn parse_template(text: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(TemplatePart::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("`{{{{` without a closing `}}}}` in `{text}`"));
        };
        let inner = after[..end].trim();
        if inner.is_empty() {
            return Err(format!("empty `{{{{ }}}}` in `{text}`"));
        }
        let path: Vec<String> = inner.split('.').map(str::to_owned).collect();
        for seg in &path {
            let ok = !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(format!(
                    "`{{{{ {inner} }}}}` is not a variable reference: write names with letters, digits, `_`, `-`, joined by dots"
                ));
            }
        }
        parts.push(TemplatePart::Var(path));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_owned()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<Vec<TemplatePart>, ()>) {
        assert_eq!(parse_template(input).map_err(|_| ()), expected, "{input}");
    }

    #[test]
    fn parses_text_and_references() {
        use TemplatePart::{Text, Var};
        check("plain", Ok(vec![Text("plain".into())]));
        check(
            "/v1/accounts/{{ account }}/tx",
            Ok(vec![
                Text("/v1/accounts/".into()),
                Var(vec!["account".into()]),
                Text("/tx".into()),
            ]),
        );
        check(
            "{{alice.token}}",
            Ok(vec![Var(vec!["alice".into(), "token".into()])]),
        );
        check(
            "{{ race.deposits.status.201 }}",
            Ok(vec![Var(["race", "deposits", "status", "201"]
                .map(String::from)
                .to_vec())]),
        );
        check("{{ open", Err(()));
        check("{{ }}", Err(()));
        check("{{ a b }}", Err(()));
    }
}
