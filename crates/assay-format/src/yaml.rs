//! The one place YAML is parsed. serde-saphyr: maintained, panic-free, located errors
//! (serde_yaml is deprecated and its libyaml port is unmaintained: RUSTSEC-2024-0449).

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::Diagnostic;

/// Largest YAML file accepted (assessments are small; this bounds hostile input).
const MAX_YAML_BYTES: usize = 4 << 20;

/// Parses `text` (the contents of `file`) into `T`, or a located diagnostic.
pub(crate) fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Diagnostic> {
    if text.len() > MAX_YAML_BYTES {
        return Err(Diagnostic::new(
            file,
            1,
            1,
            format!("file is larger than {MAX_YAML_BYTES} bytes"),
        )
        .with_hint("split it into several suite files"));
    }
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = first_line(&e.to_string());
        let hint = hint_for(&message);
        let d = Diagnostic::new(file, line, column, message);
        match hint {
            Some(h) => d.with_hint(h),
            None => d,
        }
    })
}

/// serde-saphyr's messages may carry a rendered snippet; keep the first line.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

fn hint_for(message: &str) -> Option<String> {
    if message.contains("unknown field") {
        Some("check the spelling; docs/assessment-format.md lists every key (or use the JSON Schema in your editor)".into())
    } else if message.contains("missing field") {
        Some("add the key; docs/assessment-format.md says what it means".into())
    } else if message.contains("unknown variant") {
        Some("use one of the values the message lists".into())
    } else {
        None
    }
}

/// Writes `value` as YAML (the candidate kit's visible checks).
pub(crate) fn to_string<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}
