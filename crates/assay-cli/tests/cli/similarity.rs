//! `assay similarity` end to end on the known-answer fixtures (`tests/fixtures/similarity`):
//! the CSV, the escaped pair pages, `--known`, `--skeleton`, `--assessment`, and the refusals.
//! (The engine's known answers are `tests/it/similarity.rs`.)

use std::path::PathBuf;

use crate::invoke::{assay, code, csv_rows, output, read, root, text};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/similarity").join(name)
}

#[test]
fn assay_similarity_writes_the_csv_and_escaped_pages() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = work.path();
    // A hostile name, to see it escaped everywhere.
    let mallory = w.join("<img src=x onerror=alert(1)>");
    assay_testkit::paths::copy_tree(&fixture("disguised"), &mallory);
    assay_testkit::paths::copy_tree(&fixture("original"), &w.join("original"));
    assay_testkit::paths::copy_tree(&fixture("independent"), &w.join("independent"));
    let out = w.join("out");
    let o = output(
        assay(w)
            .args(["similarity", "original", "independent"])
            .arg(mallory.file_name().unwrap_or_default())
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 pair(s) at or above 0.40 flagged"),
        "{}",
        text(&o.stdout)
    );

    let rows = csv_rows(&out.join("similarity.csv"));
    assert_eq!(rows[0], ["a", "b", "score", "shared_lines"]);
    assert_eq!(rows.len(), 2, "one flagged pair: {rows:?}");
    assert_eq!(rows[1][0], "original", "named as on the command line");
    assert_eq!(rows[1][1], "<img src=x onerror=alert(1)>");
    let s: f64 = rows[1][2].parse().unwrap_or(0.0);
    assert!(s >= 0.75, "{rows:?}");
    assert!(rows[1][3].parse::<u32>().unwrap_or(0) > 100, "{rows:?}");

    let pages: Vec<PathBuf> = std::fs::read_dir(out.join("similarity"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    let page = read(&pages[0]);
    assert!(!page.contains("<img"), "names are escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("Content-Security-Policy"));
    assert!(
        page.contains("never part of a score"),
        "it says it is a flag"
    );
    // Source lines are shown, escaped: original/shop/money.py has `if cents < 0`.
    assert!(page.contains("shop/money.py") && page.contains("cents &lt; 0"));
    assert!(!page.contains("cents < 0"));
    let md = read(&out.join("similarity.md"));
    assert!(md.contains("## Similarity") && md.contains("never part of a score"));
    assert!(!md.contains("<img"), "{md}");
}

#[test]
fn assay_similarity_against_known_solutions_and_a_skeleton() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = work.path();
    let known = w.join("known");
    std::fs::create_dir_all(&known).unwrap_or_else(|e| panic!("{e}"));
    assay_testkit::paths::copy_tree(&fixture("original"), &known.join("public-ledger"));
    assay_testkit::paths::copy_tree(&fixture("independent"), &known.join("another"));
    let out = w.join("out");
    let o = output(
        assay(w)
            .arg("similarity")
            .arg(fixture("disguised"))
            .arg("--known")
            .arg(&known)
            .arg("--assessment")
            .arg(root().join("assessments/ledger-api"))
            .arg("--skeleton")
            .arg(fixture("boilerplate"))
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let rows = csv_rows(&out.join("similarity.csv"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[1][1], "public-ledger",
        "named by its folder under --known"
    );

    // One submission without --known has nothing to compare with.
    let alone = output(
        assay(w)
            .arg("similarity")
            .arg(fixture("disguised"))
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(code(&alone), 2, "{}", text(&alone.stderr));
    assert!(text(&alone.stderr).contains("at least two submissions"));

    // A missing submission is named; the others are still compared.
    let missing = output(
        assay(w)
            .arg("similarity")
            .arg(fixture("original"))
            .arg(fixture("disguised"))
            .arg(w.join("nowhere"))
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(code(&missing), 2, "{}", text(&missing.stderr));
    assert!(text(&missing.stderr).contains("nowhere"));
    let rows = csv_rows(&out.join("similarity.csv"));
    assert!(
        rows.len() == 2 && rows[1][1].ends_with("similarity/disguised"),
        "{rows:?}"
    );
    // The earlier comparison's page (disguised ↔ public-ledger) is gone; this one's is there.
    let pages: Vec<String> = std::fs::read_dir(out.join("similarity"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(!pages[0].contains("public"), "{pages:?}");
}
