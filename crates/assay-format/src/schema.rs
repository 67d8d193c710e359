//! JSON Schemas of the assessment and suite files, generated from the model, for editors.

use crate::model::{AssessmentFile, SuiteFile};

/// The JSON Schema of `assessment.yaml`, pretty-printed.
pub fn assessment_schema() -> String {
    pretty(schemars::schema_for!(AssessmentFile))
}

/// The JSON Schema of a suite file, pretty-printed.
pub fn suite_schema() -> String {
    pretty(schemars::schema_for!(SuiteFile))
}

fn pretty(schema: schemars::Schema) -> String {
    let mut s =
        serde_json::to_string_pretty(&schema).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
