//! The assessment format: YAML model, located validation errors, JSON Schema.
