//! Generates one corpus test per folder of `assessments/*/variants/` (tests/it/corpus.rs
//! includes it), so a new variant is tested as soon as its folder exists.
//!
//! Which check a variant gets comes from its `variant.yaml`: `kind: good` is a good variant
//! (`check_good_variant`), unless `corpus: lenient` says it answers with other readings the
//! contract allows (`check_lenient_variant`); anything else is a single defect
//! (`check_variant`). The tests keep the names nextest filters use: `variant_<id>` and
//! `good_<id>` for ledger-api, `<assessment>_<id>` elsewhere, lenient ones ending in
//! `_lose_only_partial_credit`.

#![allow(clippy::print_stdout)] // cargo reads a build script's directives from its standard output

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How the corpus judges a variant.
#[derive(Clone, Copy)]
enum Checker {
    Defect,
    Good,
    Lenient,
}

impl Checker {
    fn of(meta: &str) -> Checker {
        let has = |line: &str| meta.lines().any(|l| l.trim() == line);
        match (has("kind: good"), has("corpus: lenient")) {
            (true, true) => Checker::Lenient,
            (true, false) => Checker::Good,
            (false, _) => Checker::Defect,
        }
    }

    fn function(self) -> &'static str {
        match self {
            Checker::Defect => "check_variant",
            Checker::Good => "check_good_variant",
            Checker::Lenient => "check_lenient_variant",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Checker::Defect => "defect",
            Checker::Good => "good",
            Checker::Lenient => "lenient",
        }
    }
}

/// The test's name, as the hand-written list had it.
fn test_name(assessment: &str, id: &str, checker: Checker) -> String {
    let id = id.replace('-', "_");
    let prefix = match (assessment, checker) {
        ("ledger-api", Checker::Defect) => "variant".to_owned(),
        ("ledger-api", _) => "good".to_owned(),
        (other, _) => other.replace('-', "_"),
    };
    let suffix = match checker {
        Checker::Lenient => "_lose_only_partial_credit",
        _ => "",
    };
    format!("{prefix}_{id}{suffix}")
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    dirs
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let assessments = Path::new(&manifest).join("../assessments");
    // A new variant folder, or a changed variant.yaml, regenerates the tests (a new
    // assessment's variants folder is seen once this script runs again).
    let mut tests = String::new();
    let mut list = String::from("/// Every variant: (assessment, id, checker, test name).\n");
    list.push_str("pub(crate) const VARIANTS: &[(&str, &str, &str, &str)] = &[\n");
    for assessment_dir in sorted_dirs(&assessments) {
        let variants = assessment_dir.join("variants");
        if !variants.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", variants.display());
        let assessment = assessment_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for variant in sorted_dirs(&variants) {
            let id = variant
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let meta = std::fs::read_to_string(variant.join("variant.yaml")).unwrap_or_else(|e| {
                panic!("{}: variant.yaml: {e}", variant.display());
            });
            let checker = Checker::of(&meta);
            let name = test_name(&assessment, &id, checker);
            let function = checker.function();
            let _ = writeln!(
                tests,
                "#[test]\nfn {name}() {{\n    assay_testkit::require_docker!();\n    {function}({assessment:?}, {id:?});\n}}\n"
            );
            let _ = writeln!(
                list,
                "    ({assessment:?}, {id:?}, {:?}, {name:?}),",
                checker.name()
            );
        }
    }
    list.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("corpus_variants.rs"), tests + &list)
        .expect("OUT_DIR/corpus_variants.rs is written");
}
