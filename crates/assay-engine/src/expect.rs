//! Judging a response: status, contract error bodies, headers, JSONPath, body, time;
//! and taking captures from it.

use std::collections::BTreeMap;

use assay_format::{Capture, Expect, Predicate, ValueType};
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::http::Incoming;
use crate::shape::{Shapes, mismatches};
use crate::vars::{Vars, value_text};

/// Every way `resp` falls short of `expect`, one sentence each (empty: it holds). `shapes`
/// are the assessment's named shapes.
pub fn judge(expect: &Expect, resp: &Incoming, vars: &mut Vars, shapes: &Shapes) -> Vec<String> {
    let mut fails = Vec::new();
    if let Some(status) = &expect.status
        && !status.allows(resp.status)
    {
        let want = match status {
            assay_format::StatusSpec::One(s) => s.to_string(),
            assay_format::StatusSpec::Any(v) => v
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        };
        fails.push(format!("expected status {want}, got {}", resp.status));
    }
    let json = resp.json();
    if let Some(code) = &expect.error {
        match vars.render(code) {
            Err(e) => fails.push(e.to_string()),
            Ok(code) => fails.extend(error_shape(json.as_ref(), &code)),
        }
    }
    if let Some(shape) = &expect.shape {
        match json.as_ref() {
            Some(doc) => fails.extend(mismatches(shape, doc, shapes, "$")),
            None => fails.push(
                "expected a JSON body of the expected shape, but the body is not JSON".into(),
            ),
        }
    }
    for (name, pred) in &expect.headers {
        let value = resp.header(name).map(|v| Value::String(v.to_owned()));
        if let Some(f) = predicate(pred, value.as_ref(), vars, shapes) {
            fails.push(format!("header `{name}`: {f}"));
        }
    }
    for (path, pred) in &expect.json {
        let Some(doc) = json.as_ref() else {
            fails.push(format!("`{path}`: the body is not JSON"));
            continue;
        };
        match JsonPath::parse(path) {
            Err(e) => fails.push(format!("`{path}` is not a valid JSONPath: {e}")),
            Ok(jp) => {
                let nodes = jp.query(doc).all();
                let f = match pred {
                    Predicate::Count(n) => (nodes.len() as u64 != *n)
                        .then(|| format!("expected {n} nodes, found {}", nodes.len())),
                    _ => predicate(pred, nodes.first().copied(), vars, shapes),
                };
                if let Some(f) = f {
                    fails.push(format!("`{path}`: {f}"));
                }
            }
        }
    }
    let text = resp.text();
    for pred in &expect.body {
        if let Some(f) = predicate(pred, Some(&Value::String(text.clone())), vars, shapes) {
            fails.push(format!("body: {f}"));
        }
    }
    if let Some(within) = &expect.within
        && resp.elapsed > within.0
    {
        fails.push(format!(
            "took {:.0} ms, limit {:.0} ms",
            resp.elapsed.as_secs_f64() * 1e3,
            within.0.as_secs_f64() * 1e3
        ));
    }
    fails
}

/// The contract's error body: `{"error": {"code": CODE, "message": <string>}}`.
pub fn error_shape(json: Option<&Value>, code: &str) -> Vec<String> {
    let Some(body) = json else {
        return vec![format!(
            "expected an error body with code `{code}`, but the body is not JSON"
        )];
    };
    let mut fails = Vec::new();
    match body.pointer("/error/code").and_then(Value::as_str) {
        Some(c) if c == code => {}
        Some(c) => fails.push(format!("expected error code `{code}`, got `{c}`")),
        None => fails.push(format!(
            "expected `{{\"error\": {{\"code\": \"{code}\", …}}}}`, found no `error.code` string"
        )),
    }
    if body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .is_none()
    {
        fails.push("the error body has no `error.message` string".into());
    }
    fails
}

/// Why `value` fails `pred` (`None`: it holds). `value` is `None` when absent.
pub fn predicate(
    pred: &Predicate,
    value: Option<&Value>,
    vars: &mut Vars,
    shapes: &Shapes,
) -> Option<String> {
    let shown = |v: Option<&Value>| {
        v.map(|v| truncate(&v.to_string()))
            .unwrap_or_else(|| "nothing".into())
    };
    match pred {
        Predicate::Exists(want) => (value.is_some() != *want).then(|| {
            if *want {
                "expected it to exist".into()
            } else {
                format!("expected it to be absent, found {}", shown(value))
            }
        }),
        Predicate::Equals(want) => {
            let want = match vars.render_json(want) {
                Ok(w) => w,
                Err(e) => return Some(e.to_string()),
            };
            (!value.is_some_and(|v| loosely_equal(v, &want))).then(|| {
                format!(
                    "expected {}, got {}",
                    truncate(&want.to_string()),
                    shown(value)
                )
            })
        }
        Predicate::NotEquals(want) => {
            let want = match vars.render_json(want) {
                Ok(w) => w,
                Err(e) => return Some(e.to_string()),
            };
            value
                .is_some_and(|v| loosely_equal(v, &want))
                .then(|| format!("expected anything but {}", truncate(&want.to_string())))
        }
        Predicate::OneOf(list) => {
            let list: Vec<Value> = list
                .iter()
                .filter_map(|w| vars.render_json(w).ok())
                .collect();
            (!value.is_some_and(|v| list.iter().any(|w| loosely_equal(v, w)))).then(|| {
                format!(
                    "expected one of {}, got {}",
                    truncate(&Value::Array(list.clone()).to_string()),
                    shown(value)
                )
            })
        }
        Predicate::Contains(t) | Predicate::NotContains(t) => {
            let needle = match vars.render(t) {
                Ok(n) => n,
                Err(e) => return Some(e.to_string()),
            };
            let hay = value.map(value_text).unwrap_or_default();
            let found = hay.contains(&needle);
            match pred {
                Predicate::Contains(_) if !found => {
                    Some(format!("expected it to contain `{}`", truncate(&needle)))
                }
                Predicate::NotContains(_) if found => Some(format!(
                    "expected it not to contain `{}`",
                    truncate(&needle)
                )),
                _ => None,
            }
        }
        Predicate::Matches(re) | Predicate::NotMatches(re) => {
            let re = match regex::Regex::new(re) {
                Ok(r) => r,
                Err(e) => return Some(format!("bad regular expression: {e}")),
            };
            let hay = value.map(value_text).unwrap_or_default();
            let m = re.is_match(&hay);
            match pred {
                Predicate::Matches(r) if !m => {
                    Some(format!("expected it to match /{r}/, got {}", shown(value)))
                }
                Predicate::NotMatches(r) if m => Some(format!("expected it not to match /{r}/")),
                _ => None,
            }
        }
        Predicate::Is(ty) => (!value.is_some_and(|v| is_type(v, *ty)))
            .then(|| format!("expected {}, got {}", type_name(*ty), shown(value))),
        Predicate::IsAnyOf(tys) => (!value.is_some_and(|v| tys.iter().any(|t| is_type(v, *t))))
            .then(|| {
                let names: Vec<&str> = tys.iter().map(|t| type_name(*t)).collect();
                format!("expected {}, got {}", names.join(" or "), shown(value))
            }),
        Predicate::Set(want) | Predicate::Includes(want) => {
            let want: Vec<Value> = match want.iter().map(|w| vars.render_json(w)).collect() {
                Ok(w) => w,
                Err(e) => return Some(e.to_string()),
            };
            let Some(Value::Array(have)) = value else {
                return Some(format!("expected an array, got {}", shown(value)));
            };
            let holds = |list: &[Value], x: &Value| list.iter().any(|y| loosely_equal(x, y));
            let missing: Vec<&Value> = want.iter().filter(|w| !holds(have, w)).collect();
            let extra: Vec<&Value> = match pred {
                Predicate::Set(_) => have.iter().filter(|h| !holds(&want, h)).collect(),
                _ => Vec::new(),
            };
            (!missing.is_empty() || !extra.is_empty()).then(|| {
                let list = |v: &[&Value]| {
                    truncate(&Value::Array(v.iter().map(|x| (*x).clone()).collect()).to_string())
                };
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("missing {}", list(&missing)));
                }
                if !extra.is_empty() {
                    parts.push(format!("unexpected {}", list(&extra)));
                }
                format!(
                    "expected {} {} (any order), got {}: {}",
                    if matches!(pred, Predicate::Set(_)) {
                        "the elements"
                    } else {
                        "to include"
                    },
                    truncate(&Value::Array(want.clone()).to_string()),
                    shown(value),
                    parts.join(", ")
                )
            })
        }
        Predicate::Shape(shape) => match value {
            None => Some("expected a value of the expected shape, found nothing".into()),
            Some(v) => {
                let m = mismatches(shape, v, shapes, "value");
                (!m.is_empty()).then(|| m.join("; "))
            }
        },
        Predicate::Optional(inner) => value.and_then(|v| predicate(inner, Some(v), vars, shapes)),
        Predicate::Count(n) | Predicate::Length(n) => {
            let len = match value {
                Some(Value::Array(a)) => Some(a.len()),
                Some(Value::String(s)) => Some(s.chars().count()),
                Some(Value::Object(o)) => Some(o.len()),
                _ => None,
            };
            (len != Some(*n as usize)).then(|| {
                format!(
                    "expected length {n}, got {}",
                    len.map(|l| l.to_string()).unwrap_or_else(|| shown(value))
                )
            })
        }
        Predicate::Gt(x) | Predicate::Gte(x) | Predicate::Lt(x) | Predicate::Lte(x) => {
            let n = value.and_then(|v| match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            });
            let ok = n.is_some_and(|n| match pred {
                Predicate::Gt(_) => n > *x,
                Predicate::Gte(_) => n >= *x,
                Predicate::Lt(_) => n < *x,
                _ => n <= *x,
            });
            let op = match pred {
                Predicate::Gt(_) => ">",
                Predicate::Gte(_) => ">=",
                Predicate::Lt(_) => "<",
                _ => "<=",
            };
            (!ok).then(|| format!("expected a number {op} {x}, got {}", shown(value)))
        }
    }
}

/// Equality that lets a YAML scalar match its JSON counterpart (`201` vs `"201"` does not;
/// numbers compare numerically).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn truncate(s: &str) -> String {
    assay_model::truncate_text(s, 200).0
}

pub(crate) fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "a string",
        ValueType::Number => "a number",
        ValueType::Integer => "an integer",
        ValueType::Boolean => "a boolean",
        ValueType::Null => "null",
        ValueType::Array => "an array",
        ValueType::Object => "an object",
        ValueType::Uuid => "a UUID string",
        ValueType::Rfc3339 => "an RFC 3339 timestamp",
        ValueType::Money => "a money string with two decimals",
        ValueType::Email => "an email string",
    }
}

/// Whether `v` is of type `t`.
pub fn is_type(v: &Value, t: ValueType) -> bool {
    match t {
        ValueType::String => v.is_string(),
        ValueType::Number => v.is_number(),
        ValueType::Integer => v.is_i64() || v.is_u64(),
        ValueType::Boolean => v.is_boolean(),
        ValueType::Null => v.is_null(),
        ValueType::Array => v.is_array(),
        ValueType::Object => v.is_object(),
        ValueType::Uuid => v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        ValueType::Rfc3339 => v.as_str().is_some_and(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        }),
        ValueType::Money => v.as_str().is_some_and(is_money),
        ValueType::Email => v
            .as_str()
            .is_some_and(|s| s.split('@').count() == 2 && !s.starts_with('@') && !s.ends_with('@')),
    }
}

/// `^-?[0-9]+\.[0-9]{2}$`.
pub fn is_money(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    match s.split_once('.') {
        Some((int, frac)) => {
            !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.len() == 2
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Takes the captures of a step; returns the failures (a capture that found nothing).
pub fn capture(
    captures: &BTreeMap<String, Capture>,
    resp: &Incoming,
    vars: &mut Vars,
) -> Vec<String> {
    let mut fails = Vec::new();
    let json = resp.json();
    for (name, cap) in captures {
        let value = match cap {
            Capture::Header { header } => resp.header(header).map(|v| Value::String(v.to_owned())),
            Capture::JsonPath(path) => match (JsonPath::parse(path), json.as_ref()) {
                (Ok(jp), Some(doc)) => jp.query(doc).first().cloned(),
                (Err(e), _) => {
                    fails.push(format!(
                        "capture `{name}`: `{path}` is not a valid JSONPath: {e}"
                    ));
                    continue;
                }
                (_, None) => None,
            },
        };
        match value {
            Some(v) => vars.set(name, v),
            None => fails.push(format!("capture `{name}` found nothing in the response")),
        }
    }
    fails
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn resp(status: u16, body: &str) -> Incoming {
        Incoming {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Retry-After".into(), "30".into()),
            ],
            body: body.as_bytes().to_vec(),
            truncated: false,
            elapsed: Duration::from_millis(5),
        }
    }

    fn check(expect_yaml: &str, status: u16, body: &str, expected_failures: usize) {
        let expect: Expect = serde_saphyr_parse(expect_yaml);
        let mut vars = Vars::new(1, "t");
        vars.set("acct", serde_json::json!("A1"));
        let fails = judge(&expect, &resp(status, body), &mut vars, &Shapes::new());
        assert_eq!(
            fails.len(),
            expected_failures,
            "{expect_yaml} on {status} {body}: {fails:?}"
        );
    }

    fn serde_saphyr_parse(y: &str) -> Expect {
        serde_json::from_value(yaml_to_json(y)).expect("test expectation parses")
    }

    /// Test helper: the few YAML shapes used below, written as JSON.
    fn yaml_to_json(y: &str) -> Value {
        serde_json::from_str(y).expect("json")
    }

    #[test]
    fn judges_status_json_headers_and_errors() {
        check(r#"{"status": 201}"#, 201, "{}", 0);
        check(r#"{"status": [200, 201]}"#, 404, "{}", 1);
        check(
            r#"{"json": {"$.id": {"is": "uuid"}, "$.balance": "0.00"}}"#,
            200,
            r#"{"id":"6f1c2f8e-6a43-4a1e-9d7c-3f0b9a6b2a11","balance":"0.00"}"#,
            0,
        );
        check(
            r#"{"json": {"$.balance": {"is": "money"}}}"#,
            200,
            r#"{"balance": 12.3}"#,
            1,
        );
        check(
            r#"{"json": {"$.data[*]": {"count": 2}}}"#,
            200,
            r#"{"data":[1,2]}"#,
            0,
        );
        check(
            r#"{"json": {"$.owner": "{{ acct }}"}}"#,
            200,
            r#"{"owner":"A1"}"#,
            0,
        );
        check(
            r#"{"error": "not_found", "status": 404}"#,
            404,
            r#"{"error":{"code":"not_found","message":"no"}}"#,
            0,
        );
        check(
            r#"{"error": "not_found"}"#,
            404,
            r#"{"error":"not_found"}"#,
            2,
        );
        check(
            r#"{"headers": {"retry-after": {"exists": true}}}"#,
            429,
            "{}",
            0,
        );
        check(
            r#"{"body": [{"not_contains": "Traceback"}]}"#,
            500,
            "Traceback (most recent call last)",
            1,
        );
        check(r#"{"json": {"$.x": {"gt": 5}}}"#, 200, r#"{"x":"7.5"}"#, 0);
        check(
            r#"{"json": {"$.x": {"exists": false}}}"#,
            200,
            r#"{"y":1}"#,
            0,
        );
        check(r#"{"json": {"$.x": 1}}"#, 200, "not json \u{fffd}", 1);
    }

    #[test]
    fn judges_sets_type_lists_optional_values_and_inline_shapes() {
        let tags = r#"{"tags":["b","a","c"]}"#;
        check(
            r#"{"json": {"$.tags": {"set": ["a", "b", "c"]}}}"#,
            200,
            tags,
            0,
        );
        check(r#"{"json": {"$.tags": {"set": ["a", "b"]}}}"#, 200, tags, 1);
        check(
            r#"{"json": {"$.tags": {"set": ["a", "b", "c", "d"]}}}"#,
            200,
            tags,
            1,
        );
        check(
            r#"{"json": {"$.tags": {"includes": ["c", "a"]}}}"#,
            200,
            tags,
            0,
        );
        check(r#"{"json": {"$.tags": {"includes": ["z"]}}}"#, 200, tags, 1);
        check(
            r#"{"json": {"$.tags": {"set": ["a"]}}}"#,
            200,
            r#"{"tags":"a"}"#,
            1,
        );
        check(
            r#"{"json": {"$.bio": {"is": ["string", "null"]}}}"#,
            200,
            r#"{"bio":null}"#,
            0,
        );
        check(
            r#"{"json": {"$.bio": {"is": ["string", "null"]}}}"#,
            200,
            r#"{"bio":3}"#,
            1,
        );
        check(
            r#"{"json": {"$.body": {"optional": {"is": "string"}}}}"#,
            200,
            "{}",
            0,
        );
        check(
            r#"{"json": {"$.body": {"optional": {"is": "string"}}}}"#,
            200,
            r#"{"body":1}"#,
            1,
        );
        check(
            r#"{"shape": {"object": {"n": "integer"}}}"#,
            200,
            r#"{"n":1}"#,
            0,
        );
        check(
            r#"{"shape": {"object": {"n": "integer", "m": "string"}}}"#,
            200,
            r#"{"n":"x"}"#,
            2,
        );
        check(r#"{"shape": "object"}"#, 200, "<html>", 1);
        check(
            r#"{"json": {"$.n": {"shape": "integer?"}}}"#,
            200,
            r#"{"n":null}"#,
            0,
        );
    }

    #[test]
    fn money_shape() {
        for (s, ok) in [
            ("0.00", true),
            ("12.30", true),
            ("12.3", false),
            ("12", false),
            (".50", false),
            ("1e3", false),
            ("-1.00", true),
        ] {
            assert_eq!(is_money(s), ok, "{s}");
        }
    }
}
