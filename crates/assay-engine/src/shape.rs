//! Matching a JSON value against a [`Shape`]: every mismatch named by its path
//! (`$.user.bio: expected a string or null, got 5`), bounded in depth and in messages.

use std::collections::BTreeMap;

use assay_format::{Located, Shape};
use serde_json::Value;

use crate::expect::{is_type, type_name};

/// The assessment's named shapes.
pub type Shapes = BTreeMap<String, Located<Shape>>;

/// Mismatches reported at most per shape check.
const MAX_MISMATCHES: usize = 5;
/// Nesting followed at most (named shapes may refer to each other).
const MAX_DEPTH: usize = 48;

/// Why `value` does not match `shape` (empty: it does). `path` names the value, e.g. `$`.
pub fn mismatches(shape: &Shape, value: &Value, shapes: &Shapes, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk(shape, value, shapes, path, 0, &mut out);
    out.truncate(MAX_MISMATCHES);
    out
}

fn walk(
    shape: &Shape,
    value: &Value,
    shapes: &Shapes,
    path: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if out.len() >= MAX_MISMATCHES {
        return;
    }
    if depth > MAX_DEPTH {
        out.push(format!(
            "{path}: shapes nest deeper than {MAX_DEPTH} levels"
        ));
        return;
    }
    match shape {
        Shape::Any => {}
        Shape::Type(t) => {
            if !is_type(value, *t) {
                out.push(format!(
                    "{path}: expected {}, got {}",
                    type_name(*t),
                    shown(value)
                ));
            }
        }
        Shape::Named(name) => match shapes.get(name) {
            Some(s) => walk(&s.value, value, shapes, path, depth + 1, out),
            None => out.push(format!("{path}: the shape `{name}` is not defined")),
        },
        Shape::Nullable(inner) => {
            if !value.is_null() && !matches(inner, value, shapes, depth + 1) {
                out.push(format!(
                    "{path}: expected {} or null, got {}",
                    describe(inner, shapes),
                    shown(value)
                ));
            }
        }
        Shape::Object { fields, extra } => {
            let Some(obj) = value.as_object() else {
                out.push(format!("{path}: expected an object, got {}", shown(value)));
                return;
            };
            for f in fields {
                match obj.get(&f.key) {
                    Some(v) => walk(&f.shape, v, shapes, &child(path, &f.key), depth + 1, out),
                    None if f.optional => {}
                    None => out.push(format!("{path}: the key `{}` is missing", f.key)),
                }
            }
            if !extra {
                for k in obj.keys() {
                    if !fields.iter().any(|f| &f.key == k) {
                        out.push(format!("{path}: unexpected key `{k}`"));
                    }
                }
            }
        }
        Shape::List { item, min, max } => {
            let Some(a) = value.as_array() else {
                out.push(format!("{path}: expected an array, got {}", shown(value)));
                return;
            };
            bounds(path, a.len(), *min, *max, "element", out);
            for (i, v) in a.iter().enumerate() {
                walk(item, v, shapes, &format!("{path}[{i}]"), depth + 1, out);
            }
        }
        Shape::Map { value: each, min } => {
            let Some(o) = value.as_object() else {
                out.push(format!("{path}: expected an object, got {}", shown(value)));
                return;
            };
            bounds(path, o.len(), *min, None, "key", out);
            for (k, v) in o {
                walk(each, v, shapes, &child(path, k), depth + 1, out);
            }
        }
        Shape::OneOf(options) => {
            if !options.iter().any(|s| matches(s, value, shapes, depth + 1)) {
                let names: Vec<String> = options.iter().map(|s| describe(s, shapes)).collect();
                out.push(format!(
                    "{path}: expected one of: {}; got {}",
                    names.join(" | "),
                    shown(value)
                ));
            }
        }
        Shape::Equals(want) => {
            if value != want {
                out.push(format!(
                    "{path}: expected {}, got {}",
                    truncate(&want.to_string()),
                    shown(value)
                ));
            }
        }
    }
}

fn matches(shape: &Shape, value: &Value, shapes: &Shapes, depth: usize) -> bool {
    let mut out = Vec::new();
    walk(shape, value, shapes, "$", depth, &mut out);
    out.is_empty()
}

fn bounds(
    path: &str,
    len: usize,
    min: Option<u64>,
    max: Option<u64>,
    what: &str,
    out: &mut Vec<String>,
) {
    let len = len as u64;
    if let Some(m) = min
        && len < m
    {
        out.push(format!(
            "{path}: expected at least {m} {what}s, found {len}"
        ));
    }
    if let Some(m) = max
        && len > m
    {
        out.push(format!("{path}: expected at most {m} {what}s, found {len}"));
    }
}

/// A shape in a few words, for messages.
fn describe(shape: &Shape, shapes: &Shapes) -> String {
    match shape {
        Shape::Any => "anything".into(),
        Shape::Type(t) => type_name(*t).into(),
        Shape::Named(n) if shapes.contains_key(n) => format!("the shape `{n}`"),
        Shape::Named(n) => format!("`{n}`"),
        Shape::Nullable(s) => format!("{} or null", describe(s, shapes)),
        Shape::Object { .. } => "an object".into(),
        Shape::List { .. } => "a list".into(),
        Shape::Map { .. } => "a map".into(),
        Shape::OneOf(_) => "one of several shapes".into(),
        Shape::Equals(v) => truncate(&v.to_string()),
    }
}

fn child(path: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

fn shown(v: &Value) -> String {
    truncate(&v.to_string())
}

fn truncate(s: &str) -> String {
    assay_model::truncate_text(s, 120).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shapes(defs: Value) -> Shapes {
        defs.as_object()
            .expect("an object of shapes")
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Located::new(Shape::from_value(v).expect("a valid shape")),
                )
            })
            .collect()
    }

    fn check(shape: Value, value: Value, expected: &[&str]) {
        let defs = shapes(json!({
            "error": {"object": {"errors": {"map": {"list": "string", "min": 1}, "min": 1}}},
            "profile": {"object": {"username": "string", "bio": "string?", "following": "boolean"}},
        }));
        let shape = Shape::from_value(&shape).expect("a valid shape");
        let got = mismatches(&shape, &value, &defs, "$");
        assert_eq!(got.len(), expected.len(), "{value}: {got:?}");
        for (g, e) in got.iter().zip(expected) {
            assert!(g.contains(e), "`{g}` should say `{e}`");
        }
    }

    #[test]
    fn error_envelope_any_key_lists_of_strings() {
        check(
            json!("error"),
            json!({"errors": {"body": ["can't be empty"]}}),
            &[],
        );
        check(
            json!("error"),
            json!({"errors": {"email": ["taken", "bad"]}}),
            &[],
        );
        check(
            json!("error"),
            json!({"errors": ["taken"]}),
            &["$.errors: expected an object"],
        );
        check(
            json!("error"),
            json!({"error": "taken"}),
            &["the key `errors` is missing"],
        );
        check(
            json!("error"),
            json!({"errors": {"body": []}}),
            &["at least 1 element"],
        );
        check(
            json!("error"),
            json!({"errors": {"body": [5]}}),
            &["$.errors.body[0]: expected a string"],
        );
        check(json!("error"), json!("<html>"), &["$: expected an object"]);
    }

    #[test]
    fn nullable_optional_alternatives_and_closed_objects() {
        check(
            json!("profile"),
            json!({"username": "a", "bio": null, "following": false}),
            &[],
        );
        check(
            json!("profile"),
            json!({"username": "a", "bio": 5, "following": false}),
            &["$.bio: expected a string or null, got 5"],
        );
        check(json!({"object": {"body?": "string"}}), json!({}), &[]);
        check(
            json!({"object": {"body?": "string"}}),
            json!({"body": 1}),
            &["$.body"],
        );
        check(
            json!({"one_of": ["profile", "error"]}),
            json!({"errors": {"x": ["y"]}}),
            &[],
        );
        check(
            json!({"one_of": ["profile", "error"]}),
            json!([]),
            &["expected one of"],
        );
        check(
            json!({"object": {"a": "integer"}, "extra": false}),
            json!({"a": 1, "password": "x"}),
            &["unexpected key `password`"],
        );
        check(
            json!({"list": "profile?", "max": 1}),
            json!([null, null]),
            &["at most 1"],
        );
        check(json!({"equals": 3}), json!(3), &[]);
    }

    #[test]
    fn self_referring_shapes_stop() {
        let defs = shapes(json!({"a": "b", "b": "a"}));
        let got = mismatches(&Shape::Named("a".into()), &json!(1), &defs, "$");
        assert!(got.iter().any(|m| m.contains("deeper")), "{got:?}");
    }
}
