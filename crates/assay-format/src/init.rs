//! `assay init`: scaffolds a new assessment with one example of each check kind and a
//! reference solution, from templates embedded in the binary.

use std::path::{Path, PathBuf};

/// The scaffold's files, relative to the new assessment folder.
const FILES: &[(&str, &str)] = &[
    (
        "assessment.yaml",
        include_str!("../templates/init/assessment.yaml"),
    ),
    ("brief.md", include_str!("../templates/init/brief.md")),
    (
        "suites/examples.yaml",
        include_str!("../templates/init/suites/examples.yaml"),
    ),
    (
        "reference/Dockerfile",
        include_str!("../templates/init/reference/Dockerfile"),
    ),
    (
        "reference/app.py",
        include_str!("../templates/init/reference/app.py"),
    ),
    (
        "reference/README.md",
        include_str!("../templates/init/reference/README.md"),
    ),
];

/// Why the scaffold was not written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} already exists and is not empty; choose a new folder")]
    NotEmpty(PathBuf),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes the scaffold into `dest` (created; must be absent or empty). Returns the files.
pub fn scaffold(dest: &Path) -> Result<Vec<PathBuf>, InitError> {
    if std::fs::read_dir(dest).is_ok_and(|mut d| d.next().is_some()) {
        return Err(InitError::NotEmpty(dest.to_owned()));
    }
    let mut written = Vec::new();
    for (rel, text) in FILES {
        let path = dest.join(rel);
        let io = |source| InitError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, text).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}
