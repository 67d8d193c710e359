//! Variables in scope while checks run, seeded generators, and template rendering.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use assay_format::{Template, TemplatePart};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("variable `{0}` is not set (an earlier capture failed?)")]
    Unset(String),
    #[error("{0}")]
    Malformed(String),
}

/// The variables of one scope (run, suite or check) as a JSON object, plus the seeded
/// random source behind `{{ gen.* }}`.
#[derive(Debug, Clone)]
pub struct Vars {
    values: Map<String, Value>,
    rng: ChaCha8Rng,
    counter: u64,
    /// Distinguishes generated values across scopes derived from the same seed.
    tag: String,
}

impl Vars {
    /// A fresh scope: `run.seed`, `run.id` set, generators seeded from `seed`.
    pub fn new(seed: u64, run_id: &str) -> Self {
        let mut values = Map::new();
        values.insert(
            "run".into(),
            serde_json::json!({"seed": seed, "id": run_id}),
        );
        Self {
            values,
            rng: ChaCha8Rng::seed_from_u64(seed),
            counter: 0,
            tag: short_hash(&(seed, "run")),
        }
    }

    /// A child scope for `name` (a suite or check id): same variables, its own generator
    /// stream derived from the seed and the name, so a run is reproducible check by check.
    pub fn child(&self, seed: u64, name: &str) -> Self {
        let h = {
            let mut s = DefaultHasher::new();
            (seed, name).hash(&mut s);
            s.finish()
        };
        Self {
            values: self.values.clone(),
            rng: ChaCha8Rng::seed_from_u64(h),
            counter: 0,
            tag: short_hash(&(seed, name)),
        }
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// Sets `a.b.c`, creating objects on the way.
    pub fn set_path(&mut self, path: &[&str], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut map = &mut self.values;
        for p in parents {
            let entry = map
                .entry((*p).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(m) = entry else { return };
            map = m;
        }
        map.insert((*last).to_owned(), value);
    }

    pub fn get_path(&self, path: &[String]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut v = self.values.get(first)?;
        for seg in rest {
            v = match v {
                Value::Object(m) => m.get(seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// The value of a reference: a generator, or a variable.
    pub fn resolve(&mut self, path: &[String]) -> Result<Value, RenderError> {
        if path.first().map(String::as_str) == Some("gen") {
            return Ok(Value::String(
                self.generate(path.get(1).map(String::as_str).unwrap_or(""))?,
            ));
        }
        self.get_path(path)
            .cloned()
            .ok_or_else(|| RenderError::Unset(path.join(".")))
    }

    /// A fresh generated value. Seeded: the same seed gives the same values in the same order.
    pub fn generate(&mut self, kind: &str) -> Result<String, RenderError> {
        self.counter += 1;
        let n = self.counter;
        let r: u64 = self.rng.random();
        Ok(match kind {
            "email" => format!("cand-{}-{n}-{:06x}@example.test", self.tag, r & 0xff_ffff),
            "uuid" => {
                let mut b = [0u8; 16];
                self.rng.fill(&mut b);
                uuid::Builder::from_random_bytes(b).into_uuid().to_string()
            }
            "key" => format!("key-{}-{n}-{:08x}", self.tag, r & 0xffff_ffff),
            "amount" => {
                let cents = 100 + (r % 50_000);
                format!("{}.{:02}", cents / 100, cents % 100)
            }
            "password" => {
                const ALPHABET: &[u8] =
                    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                (0..16)
                    .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
                    .collect()
            }
            "word" => {
                const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
                (0..8)
                    .map(|_| LETTERS[self.rng.random_range(0..LETTERS.len())] as char)
                    .collect()
            }
            "int" => (1 + r % 1000).to_string(),
            other => {
                return Err(RenderError::Malformed(format!(
                    "unknown generator `gen.{other}`"
                )));
            }
        })
    }

    /// Renders a template to text.
    pub fn render(&mut self, t: &Template) -> Result<String, RenderError> {
        self.render_str(t.as_str())
    }

    pub fn render_str(&mut self, text: &str) -> Result<String, RenderError> {
        let parts = assay_format::parse_template(text).map_err(RenderError::Malformed)?;
        let mut out = String::new();
        for part in parts {
            match part {
                TemplatePart::Text(t) => out.push_str(&t),
                TemplatePart::Var(path) => out.push_str(&value_text(&self.resolve(&path)?)),
            }
        }
        Ok(out)
    }

    /// Renders every string inside a JSON value; a string that is exactly one reference
    /// takes the variable's JSON value (so numbers stay numbers).
    pub fn render_json(&mut self, v: &Value) -> Result<Value, RenderError> {
        Ok(match v {
            Value::String(s) => {
                let parts = assay_format::parse_template(s).map_err(RenderError::Malformed)?;
                match parts.as_slice() {
                    [TemplatePart::Var(path)] => self.resolve(path)?,
                    _ => Value::String(self.render_str(s)?),
                }
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_json(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    out.insert(k.clone(), self.render_json(x)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// The text of a value as it appears inside a string: strings raw, others as JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn short_hash<T: Hash>(x: &T) -> String {
    let mut s = DefaultHasher::new();
    x.hash(&mut s);
    format!("{:06x}", s.finish() & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values_and_typed_insertion() {
        let base = Vars::new(7, "r1");
        let mut a = base.child(7, "check-a");
        let mut b = base.child(7, "check-a");
        let ta = Template("{{ gen.email }} {{ gen.amount }}".into());
        assert_eq!(a.render(&ta), b.render(&ta));
        let mut c = base.child(8, "check-a");
        assert_ne!(a.render(&ta), c.render(&ta));

        a.set("n", serde_json::json!(3));
        assert_eq!(
            a.render_json(&serde_json::json!({"x": "{{ n }}", "y": "n={{ n }}"})),
            Ok(serde_json::json!({"x": 3, "y": "n=3"}))
        );
        assert_eq!(
            a.render_str("{{ missing }}"),
            Err(RenderError::Unset("missing".into()))
        );
    }

    #[test]
    fn generated_amounts_are_money_and_emails_unique() {
        let mut v = Vars::new(1, "r");
        let re = regex::Regex::new(r"^[0-9]+\.[0-9]{2}$").expect("regex");
        let mut emails = std::collections::BTreeSet::new();
        for _ in 0..200 {
            assert!(re.is_match(&v.generate("amount").expect("amount")));
            assert!(emails.insert(v.generate("email").expect("email")));
        }
    }
}
