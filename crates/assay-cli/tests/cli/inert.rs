//! Candidate text is inert wherever `assay` prints it: build lines, build-failure reasons and
//! archive entry names that carry terminal escapes (OSC 52 writes the clipboard) and CI
//! workflow commands (`::error::`, `##[…`) reach the terminal and the CI log escaped; a
//! `.dockerignore` that is a link to `/dev/zero` is a quick "did not build", not a hang.

use std::path::Path;

use crate::invoke::{assay, code, graded, init, json, output, text};

/// What a hostile build prints: OSC 52 (clipboard), clear screen, a window title, workflow
/// commands at the start of a line and in the middle of one.
const DRIVING_DOCKERFILE: &str = "FROM debian:bookworm-slim\n\
RUN printf '\\033]52;c;ZXZpbA==\\007\\n::error::pwned\\n  ::add-mask::secret\\nstep ##[warning]x\\n\\033[2J\\033]0;title\\007\\n' && printf '::error::failing\\n\\033]52;c;YWdhaW4=\\007\\n' >&2 && false\n";

/// Asserts that `printed` cannot drive a terminal or a CI runner.
fn assert_inert(printed: &str, what: &str) {
    assert!(
        !printed.contains('\u{1b}'),
        "{what}: a raw ESC reached the output:\n{printed}"
    );
    assert!(
        !printed.contains('\u{7}'),
        "{what}: a raw BEL reached the output"
    );
    for line in printed.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a workflow command line: {line}"
        );
        assert!(!line.contains("##["), "{what}: a workflow command: {line}");
    }
}

fn submission(dir: &Path, dockerfile: &str) {
    std::fs::create_dir_all(dir).expect("submission dir");
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("Dockerfile");
}

#[test]
fn build_lines_and_failure_reasons_reach_the_terminal_escaped() {
    assay_testkit::require_docker!();
    let work = tempfile::tempdir().expect("a temp dir");
    let assessment = init(work.path());
    let sub = work.path().join("driving");
    submission(&sub, DRIVING_DOCKERFILE);
    let (o, out) = graded(work.path(), &assessment, &sub, &["-v"]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(code(&o), 1, "graded, not passed:\n{stdout}\n{stderr}");
    let card = json(&out.join("scorecard.json"));
    assert_eq!(
        card["sandbox"]["failure"]["kind"], "did_not_build",
        "{}",
        card["sandbox"]
    );
    assert_inert(&stdout, "stdout");
    assert_inert(&stderr, "stderr");
    // Shown, not swallowed: the grader sees what the build tried.
    assert!(
        stderr.contains("␛]52;c;ZXZpbA==␇"),
        "the OSC 52 attempt is shown escaped:\n{stderr}"
    );
    assert!(
        stderr.contains("\\::error::pwned"),
        "the workflow command is shown broken:\n{stderr}"
    );
    // The same text in the reports a CI job prints or reads.
    assert_inert(
        &std::fs::read_to_string(out.join("report.md")).unwrap_or_default(),
        "report.md",
    );
}

#[test]
fn archive_entry_names_reach_the_terminal_escaped() {
    let work = tempfile::tempdir().expect("a temp dir");
    let assessment = init(work.path());
    let zip_path = work.path().join("evil.zip");
    let file = std::fs::File::create(&zip_path).expect("evil.zip");
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file(
        "../\u{1b}]52;c;ZXZpbA==\u{7}\n::error::entry\u{202e}txt.exe",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("a zip entry");
    std::io::Write::write_all(&mut zip, b"out").expect("write the entry");
    zip.finish().expect("finish the zip");
    let o = output(
        assay(work.path())
            .arg("run")
            .arg(&assessment)
            .arg(&zip_path),
    );
    let stderr = text(&o.stderr);
    assert_eq!(code(&o), 2, "refused:\n{stderr}");
    assert_inert(&stderr, "stderr");
    assert!(
        !stderr.contains('\u{202e}'),
        "a bidi override reached the output"
    );
    assert!(
        stderr.contains("␛]52"),
        "the entry is named, escaped:\n{stderr}"
    );
}

#[test]
fn a_dockerignore_linked_to_dev_zero_is_a_quick_did_not_build() {
    assay_testkit::require_docker!();
    let work = tempfile::tempdir().expect("a temp dir");
    let assessment = init(work.path());
    let sub = work.path().join("zero");
    submission(&sub, "FROM debian:bookworm-slim\nCMD [\"true\"]\n");
    std::os::unix::fs::symlink("/dev/zero", sub.join(".dockerignore")).expect("symlink");
    let (o, out) = graded(work.path(), &assessment, &sub, &[]);
    assert_eq!(code(&o), 1, "graded, not passed:\n{}", text(&o.stderr));
    let card = json(&out.join("scorecard.json"));
    let failure = &card["sandbox"]["failure"];
    assert_eq!(failure["kind"], "did_not_build", "{failure}");
    assert!(
        failure["reason"]
            .as_str()
            .is_some_and(|r| r.contains(".dockerignore") && r.contains("regular file")),
        "{failure}"
    );
}
