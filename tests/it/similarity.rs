//! Similarity's known answers: a disguised copy (identifiers renamed, functions reordered,
//! comments rewritten) scores high in every language, independent solutions of the same
//! spec (ledger-api's reference among them) score low, a copied module is found with its
//! region, shared boilerplate and handed-out code are discounted. (`assay similarity` end to
//! end is the CLI's test, `crates/assay-cli/tests/cli/similarity.rs`.)

use std::path::{Path, PathBuf};

use assay_similarity::{Document, Options, Origin, Report, compare, read_all};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/similarity").join(name)
}

fn documents(named: &[(&str, PathBuf)], origin: Origin) -> Vec<Document> {
    let sources: Vec<(String, PathBuf)> = named
        .iter()
        .map(|(n, p)| ((*n).to_owned(), p.clone()))
        .collect();
    read_all(&sources, origin, &Options::default())
        .into_iter()
        .map(|d| d.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// The score of the pair `a`–`b` (0 when they share nothing), whichever way round.
fn score(report: &Report, a: &str, b: &str) -> f64 {
    report
        .pairs
        .iter()
        .find(|p| {
            let (x, y) = (report.name(p.a), report.name(p.b));
            (x == a && y == b) || (x == b && y == a)
        })
        .map_or(0.0, |p| p.score)
}

/// Every pair's score, for failure messages.
fn scores(report: &Report) -> String {
    report
        .pairs
        .iter()
        .map(|p| {
            format!(
                "{} ↔ {}: {:.3}",
                report.name(p.a),
                report.name(p.b),
                p.score
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(report: &Report, a: &str, b: &str, expected: std::ops::RangeInclusive<f64>) {
    let s = score(report, a, b);
    assert!(
        expected.contains(&s),
        "{a} ↔ {b} scored {s:.3}, expected {expected:?}; all pairs:\n{}",
        scores(report)
    );
}

#[test]
fn a_disguised_copy_scores_high_and_independent_solutions_low() {
    let cohort = documents(
        &[
            ("original", fixture("original")),
            ("disguised", fixture("disguised")),
            ("partial", fixture("partial")),
            ("independent", fixture("independent")),
            ("reference", root().join("assessments/ledger-api/reference")),
        ],
        Origin::Submission,
    );
    let report = compare(&cohort, &[], &[], &Options::default());
    // Renamed, reordered and re-commented: still most of the code.
    check(&report, "original", "disguised", 0.75..=1.0);
    // One module copied: flagged, less than the whole.
    check(&report, "original", "partial", 0.4..=0.8);
    // Independent solutions of the same spec share nothing worth a flag.
    for other in ["original", "disguised", "partial", "reference"] {
        check(&report, "independent", other, 0.0..=0.1);
    }
    for other in ["original", "disguised", "partial"] {
        check(&report, "reference", other, 0.0..=0.1);
    }
    let flagged: Vec<(&str, &str)> = report
        .flagged()
        .map(|p| (report.name(p.a), report.name(p.b)))
        .collect();
    assert!(
        !flagged
            .iter()
            .any(|(a, b)| ["independent", "reference"].contains(a)
                || ["independent", "reference"].contains(b)),
        "no independent solution is flagged: {flagged:?}"
    );
    assert_eq!(
        report
            .pairs
            .first()
            .map(|p| (report.name(p.a), report.name(p.b))),
        Some(("original", "disguised")),
        "the highest pair comes first"
    );
}

#[test]
fn a_copied_module_is_found_with_its_region() {
    let cohort = documents(
        &[
            ("original", fixture("original")),
            ("partial", fixture("partial")),
        ],
        Origin::Submission,
    );
    let report = compare(&cohort, &[], &[], &Options::default());
    let pair = report
        .flagged()
        .next()
        .unwrap_or_else(|| panic!("the partial copy is flagged:\n{}", scores(&report)));
    let largest = &pair.regions[0];
    // shop/accounts.py (78 lines) was copied as shop/store.py; the rest was rewritten.
    assert_eq!(
        (largest.a_file.as_str(), largest.b_file.as_str()),
        ("shop/accounts.py", "shop/store.py"),
        "{:?}",
        pair.regions
    );
    assert!(
        largest.a_first <= 10 && largest.a_last >= 70,
        "the region covers the module: {largest:?}"
    );
    let outside: usize = pair
        .regions
        .iter()
        .filter(|r| r.a_file != "shop/accounts.py")
        .map(|r| r.fingerprints)
        .sum();
    assert!(
        outside * 10 < largest.fingerprints,
        "little matches outside the copied module: {:?}",
        pair.regions
    );
    assert!(
        pair.shared_lines >= 55,
        "{} shared lines",
        pair.shared_lines
    );
}

#[test]
fn every_language_sees_through_renaming_and_reordering() {
    let langs = ["js", "go", "java", "rust"];
    let mut named = Vec::new();
    for l in langs {
        for v in ["original", "disguised"] {
            named.push((format!("{l}-{v}"), fixture(&format!("polyglot/{l}-{v}"))));
        }
    }
    let named: Vec<(&str, PathBuf)> = named.iter().map(|(n, p)| (n.as_str(), p.clone())).collect();
    let report = compare(
        &documents(&named, Origin::Submission),
        &[],
        &[],
        &Options::default(),
    );
    for l in langs {
        check(
            &report,
            &format!("{l}-original"),
            &format!("{l}-disguised"),
            0.6..=1.0,
        );
    }
    // Different programs in different languages share nothing.
    assert_eq!(report.flagged().count(), langs.len(), "{}", scores(&report));
}

/// `dest/<name>/` holding `src`'s files and the boilerplate settings module.
fn with_boilerplate(dest: &Path, name: &str, src: &Path) -> PathBuf {
    let dir = dest.join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    assay_testkit::paths::copy_tree(src, &dir.join("app"));
    std::fs::create_dir_all(dir.join("project")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        fixture("boilerplate/settings.py"),
        dir.join("project/settings.py"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn boilerplate_in_many_submissions_or_a_skeleton_is_not_evidence() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sources = [
        ("original", fixture("original/shop")),
        ("independent", fixture("independent/shop")),
        (
            "reference",
            root().join("assessments/ledger-api/reference/ledger"),
        ),
        ("js", fixture("polyglot/js-original")),
        ("go", fixture("polyglot/go-original")),
    ];
    let named: Vec<(&str, PathBuf)> = sources
        .iter()
        .map(|(n, p)| (*n, with_boilerplate(work.path(), n, p)))
        .collect();
    let cohort = documents(&named, Origin::Submission);
    let report = compare(&cohort, &[], &[], &Options::default());
    assert!(
        report.common_fingerprints > 20,
        "the settings module's fingerprints are common: {}",
        report.common_fingerprints
    );
    assert_eq!(
        report.flagged().count(),
        0,
        "five independent solutions on one skeleton: {}",
        scores(&report)
    );

    // Two submissions alone cannot tell boilerplate by its frequency: the skeleton says it.
    let two = &cohort[..2];
    let naive = compare(two, &[], &[], &Options::default());
    let skeleton = documents(&[("skeleton", fixture("boilerplate"))], Origin::Submission);
    let discounted = compare(two, &[], &skeleton, &Options::default());
    assert!(
        score(&discounted, "original", "independent") < 0.1
            && score(&discounted, "original", "independent")
                < score(&naive, "original", "independent"),
        "the skeleton's code is discounted: {:.3} with it, {:.3} without",
        score(&discounted, "original", "independent"),
        score(&naive, "original", "independent")
    );
    assert!(discounted.handed_out_fingerprints > 0);
}

#[test]
fn known_solutions_are_compared_with_the_cohort_not_with_each_other() {
    let cohort = documents(
        &[
            ("disguised", fixture("disguised")),
            ("independent", fixture("independent")),
        ],
        Origin::Submission,
    );
    let known = documents(
        &[
            ("public-a", fixture("original")),
            ("public-b", fixture("original")),
        ],
        Origin::Known,
    );
    let report = compare(&cohort, &known, &[], &Options::default());
    check(&report, "disguised", "public-a", 0.75..=1.0);
    assert_eq!(
        score(&report, "public-a", "public-b"),
        0.0,
        "known vs known"
    );
    let closest = report.closest[0].unwrap_or_else(|| panic!("disguised has a closest match"));
    assert!(report.name(closest.other).starts_with("public-"));
    assert!(report.pairs[closest.pair].flagged);
    assert_eq!(report.documents[closest.other].origin, Origin::Known);
}
