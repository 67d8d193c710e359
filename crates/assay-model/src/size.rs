//! Byte sizes as people write them (`512MiB`, `64KB`, `1048576`): the one parser and the one
//! formatter, shared by the assessment format, the settings, the runner's messages and the reports.
//!
//! `KB`, `MB`, `GB` are powers of ten (10^3, 10^6, 10^9); `KiB`, `MiB`, `GiB` powers of two
//! (2^10, 2^20, 2^30); `B` or no unit is bytes. Units are case-insensitive (`kib` is `KiB`),
//! a space may sit between the number and the unit, and the number is a whole one.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A number of bytes, read from and written as `512MiB`, `64KB`, `1048576`.
///
/// `Display` writes the exact size in the largest unit that divides it (`512 MiB`, `3 KB`,
/// `1500 B`); `{:#}` writes it without the space, as the format and the command line take it
/// (`512MiB`); a precision (`{:.1}`) writes an approximate figure in binary units for measured
/// values (`117.7 MiB`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Every unit, largest first; the formatter takes the first that divides a size exactly.
const UNITS: [(&str, u64); 7] = [
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("KiB", 1 << 10),
    ("KB", 1000),
    ("B", 1),
];

/// Why a text is not a size; each says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// No whole number in front (`MiB`, `-1`, `1.5GiB`, empty).
    NotANumber(String),
    /// A unit that is none of B, KB, MB, GB, KiB, MiB, GiB.
    UnknownUnit { text: String, unit: String },
    /// More than 2^64 − 1 bytes.
    TooLarge(String),
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::NotANumber(text) => write!(
                f,
                "`{text}` is not a size: write a whole number of bytes, or one with a unit, e.g. `512MiB`, `64KB`, `1048576`"
            ),
            SizeError::UnknownUnit { text, unit } => {
                let hint = match unit.to_ascii_lowercase().as_str() {
                    "k" => " (write `KiB` for 1024 bytes or `KB` for 1000)",
                    "m" => " (write `MiB` for 2^20 bytes or `MB` for 10^6)",
                    "g" => " (write `GiB` for 2^30 bytes or `GB` for 10^9)",
                    _ => "",
                };
                write!(
                    f,
                    "`{text}` has an unknown unit `{unit}`{hint}: use B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024)"
                )
            }
            SizeError::TooLarge(text) => {
                write!(f, "`{text}` is too large: at most 2^64 − 1 bytes")
            }
        }
    }
}

impl std::error::Error for SizeError {}

impl ByteSize {
    /// Reads `512MiB`, `64 KB`, `1048576`; see the module documentation for the units.
    pub fn parse(text: &str) -> Result<Self, SizeError> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let unit = unit.trim_start();
        if digits.is_empty() || unit.starts_with(['.', ',']) {
            return Err(SizeError::NotANumber(text.to_owned()));
        }
        let multiplier = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|&(_, bytes)| bytes)
                .ok_or_else(|| SizeError::UnknownUnit {
                    text: text.to_owned(),
                    unit: unit.to_owned(),
                })?
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| SizeError::TooLarge(text.to_owned()))?;
        n.checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| SizeError::TooLarge(text.to_owned()))
    }

    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ByteSize::parse(s)
    }
}

impl From<u64> for ByteSize {
    fn from(bytes: u64) -> Self {
        ByteSize(bytes)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let space = if f.alternate() { "" } else { " " };
        if let Some(precision) = f.precision() {
            // Approximate, binary units: for measured values.
            const BINARY: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
            let mut value = n as f64;
            let mut unit = 0;
            while value >= 1024.0 && unit + 1 < BINARY.len() {
                value /= 1024.0;
                unit += 1;
            }
            return if unit == 0 {
                write!(f, "{n}{space}B")
            } else {
                write!(f, "{value:.precision$}{space}{}", BINARY[unit])
            };
        }
        let (name, bytes) = UNITS
            .iter()
            .find(|&&(_, bytes)| n >= bytes && n.is_multiple_of(bytes))
            .copied()
            .unwrap_or(("B", 1));
        write!(f, "{}{space}{name}", n / bytes)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:#}"))
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+\\s*([bB]|[kKmMgG][iI]?[bB])?\\s*$"}
            ],
            "description": "A size in bytes, or with a unit: `B`, `KB`, `MB`, `GB` (powers of 1000), `KiB`, `MiB`, `GiB` (powers of 1024), e.g. `64KiB`, `512MiB`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_documented() {
        for (input, bytes) in [
            ("0", 0),
            ("1048576", 1 << 20),
            ("12B", 12),
            ("1KB", 1000),
            ("1kB", 1000),
            ("1kb", 1000),
            ("1KiB", 1024),
            ("1kib", 1024),
            ("64MB", 64_000_000),
            ("64MiB", 64 << 20),
            ("512 MiB", 512 << 20),
            (" 2GiB ", 2 << 30),
            ("2GB", 2_000_000_000),
            ("3gb", 3_000_000_000),
        ] {
            assert_eq!(ByteSize::parse(input), Ok(ByteSize(bytes)), "{input}");
        }
    }

    #[test]
    fn refusals_say_what_to_write() {
        for (input, says) in [
            ("", "write a whole number of bytes"),
            ("MiB", "is not a size"),
            ("-1", "is not a size"),
            ("1.5GiB", "is not a size"),
            ("12 parsecs", "unknown unit `parsecs`: use B, KB, MB, GB"),
            ("64m", "write `MiB` for 2^20 bytes or `MB` for 10^6"),
            ("1K", "write `KiB` for 1024 bytes or `KB` for 1000"),
            ("99999999999GiB", "too large"),
            ("99999999999999999999", "too large"),
        ] {
            let err = ByteSize::parse(input).expect_err(input).to_string();
            assert!(err.contains(says), "{input}: {err}");
        }
    }

    #[test]
    fn one_formatter_writes_what_the_parser_reads() {
        for (bytes, exact, compact, approx) in [
            (0, "0 B", "0B", "0 B"),
            (12, "12 B", "12B", "12 B"),
            (1000, "1 KB", "1KB", "1000 B"),
            (1024, "1 KiB", "1KiB", "1.0 KiB"),
            (1500, "1500 B", "1500B", "1.5 KiB"),
            (64_000_000, "64 MB", "64MB", "61.0 MiB"),
            (64 << 20, "64 MiB", "64MiB", "64.0 MiB"),
            (123_456_789, "123456789 B", "123456789B", "117.7 MiB"),
            (2 << 30, "2 GiB", "2GiB", "2.0 GiB"),
        ] {
            let size = ByteSize(bytes);
            assert_eq!(size.to_string(), exact);
            assert_eq!(format!("{size:#}"), compact);
            assert_eq!(format!("{size:.1}"), approx);
            assert_eq!(ByteSize::parse(exact), Ok(size), "{exact} reads back");
            assert_eq!(ByteSize::parse(compact), Ok(size), "{compact} reads back");
        }
    }

    #[test]
    fn serde_takes_numbers_and_strings_and_writes_the_compact_form() {
        let size: ByteSize = serde_json::from_str("\"64KiB\"").expect("string");
        assert_eq!(size, ByteSize(64 << 10));
        let size: ByteSize = serde_json::from_str("4096").expect("number");
        assert_eq!(size, ByteSize(4096));
        assert_eq!(serde_json::to_string(&size).expect("ser"), "\"4KiB\"");
        let err = serde_json::from_str::<ByteSize>("\"64m\"").expect_err("refused");
        assert!(err.to_string().contains("`MiB`"), "{err}");
    }
}
