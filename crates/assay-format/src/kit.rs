//! The candidate kit: the brief and the visible checks, never the hidden ones.

use std::path::Path;

use assay_model::Visibility;

use crate::load::Assessment;
use crate::model::{Check, Located, SuiteFile};

/// What [`export_kit`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KitWritten {
    pub files: usize,
    pub visible_checks: usize,
}

/// Writes `brief.md` and `checks/<suite>.yaml` (visible checks only) into `dest`.
pub fn export_kit(a: &Assessment, dest: &Path) -> std::io::Result<KitWritten> {
    std::fs::create_dir_all(dest.join("checks"))?;
    std::fs::copy(a.brief_path(), dest.join("brief.md"))?;
    let mut files = 1;
    let mut visible_checks = 0;
    for suite in &a.suites {
        let default = suite.file.visibility;
        let visible: Vec<Located<Check>> = suite
            .checks
            .iter()
            .filter(|c| c.value.common.visibility.unwrap_or(default) == Visibility::Visible)
            .map(|c| Located {
                value: Check::from(c.value.clone()),
                loc: c.loc,
            })
            .collect();
        if visible.is_empty() {
            continue;
        }
        visible_checks += visible.len();
        let public = SuiteFile {
            checks: visible,
            ..suite.file.clone()
        };
        let yaml = crate::yaml::to_string(&public).map_err(std::io::Error::other)?;
        let name = format!("{}.yaml", suite.file.suite.value);
        std::fs::write(dest.join("checks").join(name), yaml)?;
        files += 1;
    }
    Ok(KitWritten {
        files,
        visible_checks,
    })
}
