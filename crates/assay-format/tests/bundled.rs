//! Every assessment bundled under `assessments/` loads and validates with no diagnostics,
//! and the flagship `ledger-api` keeps the properties its authors promise: every skill
//! evidenced by several checks, a handful of visible checks, and a README table that
//! names every check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assay_format::{Assessment, load};
use assay_model::{Skill, Visibility};

fn assessments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assessments")
}

/// Every folder directly under `assessments/`.
fn bundled() -> Vec<PathBuf> {
    let dir = assessments_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn load_ok(dir: &Path) -> Assessment {
    match load(dir) {
        Ok(a) => a,
        Err(diagnostics) => panic!(
            "{} does not validate ({} problems):\n{diagnostics}",
            dir.display(),
            diagnostics.0.len()
        ),
    }
}

#[test]
fn every_bundled_assessment_validates() {
    let dirs = bundled();
    assert!(
        dirs.iter().any(|d| d.ends_with("ledger-api")),
        "the flagship assessment ledger-api is bundled"
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        if let Err(diagnostics) = load(dir) {
            failures.push(format!(
                "{} ({} problems):\n{diagnostics}",
                dir.display(),
                diagnostics.0.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bundled assessments with problems:\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn every_bundled_assessment_has_its_brief() {
    for dir in bundled() {
        let a = load_ok(&dir);
        let brief = a.brief_path();
        let text = std::fs::read_to_string(&brief)
            .unwrap_or_else(|e| panic!("{}: cannot read the brief: {e}", brief.display()));
        assert!(
            text.split_whitespace().count() > 200,
            "{}: the brief is too short to build from",
            brief.display()
        );
    }
}

fn ledger() -> Assessment {
    load_ok(&assessments_dir().join("ledger-api"))
}

#[test]
fn ledger_api_evidences_every_skill_with_several_checks() {
    let a = ledger();
    let mut per_skill: BTreeMap<Skill, Vec<String>> = BTreeMap::new();
    for (_, check) in a.checks() {
        for skill in check.common.skills.value.keys() {
            per_skill
                .entry(*skill)
                .or_default()
                .push(check.common.id.value.clone());
        }
    }
    for skill in Skill::ALL {
        let n = per_skill.get(&skill).map_or(0, Vec::len);
        assert!(
            n >= 3,
            "skill `{}` is evidenced by {n} checks; every skill needs several",
            skill.id()
        );
    }
    for (id, profile) in &a.file.profiles {
        for skill in Skill::ALL {
            assert!(
                profile.weights.get(&skill).is_some_and(|w| *w > 0.0),
                "profile `{id}` gives `{}` no weight",
                skill.id()
            );
        }
        assert!(
            profile.rationale.is_some(),
            "profile `{id}` explains its weights"
        );
    }
}

#[test]
fn ledger_api_ships_a_few_simple_visible_checks() {
    let plan = ledger().grading_plan();
    let visible: Vec<&str> = plan
        .checks
        .iter()
        .filter(|c| c.visibility == Visibility::Visible)
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        (4..=8).contains(&visible.len()),
        "about six visible checks, found {visible:?}"
    );
    assert!(
        plan.checks.len() > 3 * visible.len(),
        "most checks stay hidden"
    );
}

#[test]
fn ledger_api_checks_each_name_their_rule_and_appear_in_the_readme() {
    let a = ledger();
    let readme_path = a.dir.join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|e| panic!("{}: {e}", readme_path.display()));
    let mut missing_rule = Vec::new();
    let mut missing_in_readme = Vec::new();
    for (_, check) in a.checks() {
        let id = &check.common.id.value;
        if check
            .common
            .rule
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
        {
            missing_rule.push(id.clone());
        }
        if !readme.contains(&format!("`{id}`")) {
            missing_in_readme.push(id.clone());
        }
    }
    assert!(
        missing_rule.is_empty(),
        "checks without `rule:`: {missing_rule:?}"
    );
    assert!(
        missing_in_readme.is_empty(),
        "checks the README's rule table does not name: {missing_in_readme:?}"
    );
}

/// `assay init`'s scaffold validates as written.
#[test]
fn the_init_scaffold_validates() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let dest = dir.path().join("new");
    let files = assay_format::init::scaffold(&dest).expect("the scaffold is written");
    assert_eq!(files.len(), 6);
    let assessment =
        assay_format::load(&dest).unwrap_or_else(|d| panic!("the scaffold is invalid:\n{d}"));
    let kinds: std::collections::BTreeSet<&str> =
        assessment.checks().map(|(_, c)| c.kind.name()).collect();
    assert_eq!(kinds.len(), 7, "one check of each kind: {kinds:?}");
    assert!(
        assay_format::init::scaffold(&dest).is_err(),
        "a non-empty folder is refused"
    );
}
