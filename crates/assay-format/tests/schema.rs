//! The checked-in JSON Schemas for editors (docs/schema/) match the model; regenerate them
//! with `ASSAY_UPDATE_SCHEMA=1 cargo nextest run -p assay-format schema` after a change.

use std::path::PathBuf;

fn check(file: &str, generated: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schema")
        .join(file);
    let generated = generated + "\n";
    if std::env::var_os("ASSAY_UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().expect("docs/schema has a parent"))
            .expect("create docs/schema");
        std::fs::write(&path, &generated).expect("write the schema");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run `ASSAY_UPDATE_SCHEMA=1 cargo nextest run -p assay-format schema` and commit it",
        path.display()
    );
}

#[test]
fn assessment_schema_is_current() {
    check(
        "assessment.schema.json",
        assay_format::schema::assessment_schema(),
    );
}

#[test]
fn suite_schema_is_current() {
    check("suite.schema.json", assay_format::schema::suite_schema());
}
