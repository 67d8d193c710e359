//! Shapes: the structure a JSON value must have, written once under `shapes:` in
//! assessment.yaml and reused by name (`shape: error`), or inline. Tolerant by design: a
//! `?` after a name also accepts `null`, a `?` after a key lets it be absent, alternatives
//! are `one_of`, and objects accept keys they do not list unless `extra: false`.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::ValueType;

/// Type names a shape may use besides the names of `shapes:` (plus `any`).
pub const SHAPE_TYPES: &[&str] = &[
    "any", "string", "number", "integer", "boolean", "null", "array", "object", "uuid", "rfc3339",
    "money", "email",
];

/// The keys a shape map may have.
const SHAPE_KEYS: &[&str] = &[
    "object", "extra", "list", "map", "min", "max", "one_of", "equals",
];

/// What a JSON value must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `any`: every value.
    Any,
    /// A type name (`string`, `rfc3339`, …).
    Type(ValueType),
    /// The name of a shape under `shapes:`.
    Named(String),
    /// `NAME?`: the shape, or `null`.
    Nullable(Box<Shape>),
    /// `{object: {...}, extra: bool}`.
    Object { fields: Vec<Field>, extra: bool },
    /// `{list: SHAPE, min, max}`.
    List {
        item: Box<Shape>,
        min: Option<u64>,
        max: Option<u64>,
    },
    /// `{map: SHAPE, min}`: any keys, every value matching.
    Map { value: Box<Shape>, min: Option<u64> },
    /// `{one_of: [...]}`.
    OneOf(Vec<Shape>),
    /// `{equals: JSON}`.
    Equals(Value),
}

/// One key of an object shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: String,
    /// Written `KEY?`: the key may be absent.
    pub optional: bool,
    pub shape: Shape,
}

impl Shape {
    /// Parses a shape from its JSON form, or says what is wrong with it.
    pub fn from_value(v: &Value) -> Result<Shape, String> {
        match v {
            Value::String(s) => Ok(Self::from_name(s)),
            Value::Object(m) => {
                if let Some(bad) = m.keys().find(|k| !SHAPE_KEYS.contains(&k.as_str())) {
                    return Err(format!(
                        "unknown shape key `{bad}`: a shape is a name, or a map with one of object, list, map, one_of, equals"
                    ));
                }
                let count = |k: &str| -> Result<Option<u64>, String> {
                    match m.get(k) {
                        None => Ok(None),
                        Some(n) => n
                            .as_u64()
                            .map(Some)
                            .ok_or_else(|| format!("`{k}` takes a whole number")),
                    }
                };
                let kinds: Vec<&str> = ["object", "list", "map", "one_of", "equals"]
                    .into_iter()
                    .filter(|k| m.contains_key(*k))
                    .collect();
                let allowed_extra: &[&str] = match kinds.as_slice() {
                    ["object"] => &["extra"],
                    ["list"] => &["min", "max"],
                    ["map"] => &["min"],
                    [_] => &[],
                    _ => {
                        return Err(format!(
                            "a shape map names exactly one of object, list, map, one_of, equals; found {}",
                            if kinds.is_empty() {
                                "none".to_owned()
                            } else {
                                kinds.join(", ")
                            }
                        ));
                    }
                };
                if let Some(bad) = m
                    .keys()
                    .find(|k| *k != kinds[0] && !allowed_extra.contains(&k.as_str()))
                {
                    return Err(format!("`{bad}` does not go with `{}`", kinds[0]));
                }
                let inner = |k: &str| -> Result<Shape, String> {
                    m.get(k)
                        .map(Shape::from_value)
                        .unwrap_or_else(|| Err(format!("`{k}` needs a shape")))
                };
                match kinds[0] {
                    "object" => {
                        let Some(Value::Object(fields)) = m.get("object") else {
                            return Err("`object` takes a map of keys to shapes".into());
                        };
                        let extra = match m.get("extra") {
                            None => true,
                            Some(Value::Bool(b)) => *b,
                            Some(_) => return Err("`extra` takes true or false".into()),
                        };
                        let mut out = Vec::new();
                        for (key, shape) in fields {
                            let (key, optional) = match key.strip_suffix('?') {
                                Some(k) => (k.to_owned(), true),
                                None => (key.clone(), false),
                            };
                            let shape =
                                Shape::from_value(shape).map_err(|e| format!("`{key}`: {e}"))?;
                            out.push(Field {
                                key,
                                optional,
                                shape,
                            });
                        }
                        Ok(Shape::Object { fields: out, extra })
                    }
                    "list" => Ok(Shape::List {
                        item: Box::new(inner("list")?),
                        min: count("min")?,
                        max: count("max")?,
                    }),
                    "map" => Ok(Shape::Map {
                        value: Box::new(inner("map")?),
                        min: count("min")?,
                    }),
                    "one_of" => match m.get("one_of") {
                        Some(Value::Array(a)) if !a.is_empty() => Ok(Shape::OneOf(
                            a.iter().map(Shape::from_value).collect::<Result<_, _>>()?,
                        )),
                        _ => Err("`one_of` takes a non-empty list of shapes".into()),
                    },
                    _ => Ok(Shape::Equals(
                        m.get("equals").cloned().unwrap_or(Value::Null),
                    )),
                }
            }
            other => Err(format!(
                "a shape is a name (e.g. `string`, `string?`, a key of `shapes:`) or a map, not {other}"
            )),
        }
    }

    fn from_name(s: &str) -> Shape {
        let s = s.trim();
        if let Some(inner) = s.strip_suffix('?') {
            return Shape::Nullable(Box::new(Self::from_name(inner)));
        }
        if s == "any" {
            return Shape::Any;
        }
        match ValueType::parse(s) {
            Some(t) => Shape::Type(t),
            None => Shape::Named(s.to_owned()),
        }
    }

    /// The names of `shapes:` this shape refers to, directly or inside.
    pub fn references(&self, out: &mut BTreeSet<String>) {
        match self {
            Shape::Named(n) => {
                out.insert(n.clone());
            }
            Shape::Nullable(s) => s.references(out),
            Shape::Object { fields, .. } => fields.iter().for_each(|f| f.shape.references(out)),
            Shape::List { item, .. } => item.references(out),
            Shape::Map { value, .. } => value.references(out),
            Shape::OneOf(v) => v.iter().for_each(|s| s.references(out)),
            Shape::Any | Shape::Type(_) | Shape::Equals(_) => {}
        }
    }

    /// Back to the JSON form it was written in.
    pub fn to_value(&self) -> Value {
        match self {
            Shape::Any => Value::String("any".into()),
            Shape::Type(t) => Value::String(t.name().into()),
            Shape::Named(n) => Value::String(n.clone()),
            Shape::Nullable(s) => match s.to_value() {
                Value::String(n) => Value::String(format!("{n}?")),
                other => serde_json::json!({"one_of": [other, "null"]}),
            },
            Shape::Object { fields, extra } => {
                let mut m = serde_json::Map::new();
                for f in fields {
                    let key = if f.optional {
                        format!("{}?", f.key)
                    } else {
                        f.key.clone()
                    };
                    m.insert(key, f.shape.to_value());
                }
                let mut o = serde_json::json!({"object": m});
                if !extra {
                    o["extra"] = Value::Bool(false);
                }
                o
            }
            Shape::List { item, min, max } => {
                let mut o = serde_json::json!({"list": item.to_value()});
                if let Some(n) = min {
                    o["min"] = Value::from(*n);
                }
                if let Some(n) = max {
                    o["max"] = Value::from(*n);
                }
                o
            }
            Shape::Map { value, min } => {
                let mut o = serde_json::json!({"map": value.to_value()});
                if let Some(n) = min {
                    o["min"] = Value::from(*n);
                }
                o
            }
            Shape::OneOf(v) => {
                serde_json::json!({"one_of": v.iter().map(Shape::to_value).collect::<Vec<_>>()})
            }
            Shape::Equals(v) => serde_json::json!({"equals": v}),
        }
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Shape::from_value(&v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Shape {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl JsonSchema for Shape {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Shape".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A shape: a type name (`string`, `integer`, `rfc3339`, …, `any`) or a key of `shapes:`, `?` after it to accept null; or a map with one of `object` (keys `KEY?` optional; `extra: false` closes it), `list` (`min`, `max`), `map` (`min`), `one_of`, `equals`.",
            "anyOf": [
                {"type": "string"},
                {"type": "object", "properties": {
                    "object": {"type": "object", "additionalProperties": {"$ref": "#/$defs/Shape"}},
                    "extra": {"type": "boolean"},
                    "list": {"$ref": "#/$defs/Shape"},
                    "map": {"$ref": "#/$defs/Shape"},
                    "min": {"type": "integer", "minimum": 0},
                    "max": {"type": "integer", "minimum": 0},
                    "one_of": {"type": "array", "items": {"$ref": "#/$defs/Shape"}},
                    "equals": true
                }, "additionalProperties": false}
            ]
        })
    }
    fn inline_schema() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_names_nullables_and_maps() {
        assert_eq!(
            Shape::from_value(&json!("string?")),
            Ok(Shape::Nullable(Box::new(Shape::Type(ValueType::String))))
        );
        assert_eq!(
            Shape::from_value(&json!("profile")),
            Ok(Shape::Named("profile".into()))
        );
        let s = Shape::from_value(&json!({"object": {"body?": "string", "n": "integer"}}))
            .expect("object shape");
        let Shape::Object { fields, extra } = &s else {
            panic!("not an object: {s:?}")
        };
        assert!(*extra);
        assert!(fields.iter().any(|f| f.key == "body" && f.optional));
        assert_eq!(Shape::from_value(&s.to_value()), Ok(s.clone()));
        assert!(Shape::from_value(&json!({"list": "string", "map": "string"})).is_err());
        assert!(Shape::from_value(&json!({"object": {}, "min": 1})).is_err());
        assert!(Shape::from_value(&json!({"lsit": "string"})).is_err());
        assert!(Shape::from_value(&json!(5)).is_err());
    }

    #[test]
    fn tolerant_steps_round_trip_through_yaml_for_the_kit() {
        let text = r#"
request: {method: GET, path: /api/user}
expect:
  status: [401]
  shape: {one_of: [error, {object: {"body?": string}, extra: false}]}
  json:
    "$.bio": {is: [string, "null"]}
    "$.tags": {set: [a, b]}
    "$.body": {optional: {shape: "string?"}}
partial:
  - expect: {status: 403}
    credit: 0.5
    why: "403 where 401 is asked"
"#;
        let path = std::path::Path::new("step.yaml");
        let step: crate::Step = crate::yaml::parse(path, text).expect("the step parses");
        assert_eq!(step.partial.len(), 1);
        let written = crate::yaml::to_string(&step).expect("the step is written");
        let back: crate::Step = crate::yaml::parse(path, &written).expect("it parses again");
        // Equal but for where the lesser reading was written.
        assert_eq!(
            serde_json::to_value(&back).ok(),
            serde_json::to_value(&step).ok(),
            "{written}"
        );
        let plain: crate::Step =
            crate::yaml::parse(path, "request: {method: GET, path: /}\n").expect("parses");
        let written = crate::yaml::to_string(&plain).expect("written");
        assert!(
            !written.contains("partial") && !written.contains("shape"),
            "{written}"
        );
    }
}
