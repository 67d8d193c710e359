//! Loading an assessment folder: read, parse every file, validate, collect all problems.

use std::path::{Path, PathBuf};

use assay_model::{GradingPlan, PlannedCheck, Profile, SkillWeight};

use crate::model::{AssessmentFile, Located, SuiteFile};
use crate::{CheckSpec, Diagnostic, Diagnostics, NotOneKind, validate, yaml};

/// A loaded, validated assessment.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The assessment folder.
    pub dir: PathBuf,
    pub file: AssessmentFile,
    pub suites: Vec<LoadedSuite>,
}

/// One suite file, with where it came from and its validated checks.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    /// The suite's own keys (its checks are in [`LoadedSuite::checks`]).
    pub file: SuiteFile,
    /// The checks in run order, each with its one kind.
    pub checks: Vec<Located<CheckSpec>>,
}

/// One suite file as parsed, before validation.
pub(crate) struct ParsedSuite {
    pub path: PathBuf,
    pub file: SuiteFile,
}

/// Reads `dir/assessment.yaml` and every suite it names; validates everything.
/// Returns every problem found, each naming `file:line:column`.
pub fn load(dir: &Path) -> Result<Assessment, Diagnostics> {
    let root_path = dir.join("assessment.yaml");
    let text = read(&root_path).map_err(|d| Diagnostics(vec![d]))?;
    let file: AssessmentFile = yaml::parse(&root_path, &text).map_err(|d| Diagnostics(vec![d]))?;

    let mut problems = Vec::new();
    let mut suites = Vec::new();
    for suite_ref in &file.suites {
        let path = dir.join(&suite_ref.value);
        if !is_inside(dir, &path) {
            problems.push(
                Diagnostic::at(
                    &root_path,
                    suite_ref.loc,
                    format!(
                        "suite `{}` is outside the assessment folder",
                        suite_ref.value
                    ),
                )
                .with_hint("name suite files relative to the assessment folder, without `..`"),
            );
            continue;
        }
        let text = match read(&path) {
            Ok(t) => t,
            Err(_) => {
                problems.push(
                    Diagnostic::at(
                        &root_path,
                        suite_ref.loc,
                        format!("suite file `{}` cannot be read", suite_ref.value),
                    )
                    .with_hint("check the path; it is relative to the assessment folder"),
                );
                continue;
            }
        };
        match yaml::parse::<SuiteFile>(&path, &text) {
            Ok(suite) => suites.push(ParsedSuite { path, file: suite }),
            Err(d) => problems.push(d),
        }
    }

    problems.extend(validate::validate(&file, &suites, &root_path));
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }
    let suites = suites
        .into_iter()
        .map(closed)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|d| Diagnostics(vec![d]))?;
    Ok(Assessment {
        dir: dir.to_path_buf(),
        file,
        suites,
    })
}

/// A validated suite with its checks moved into their closed form. Validation has reported
/// every check that is not exactly one kind (and probe, and rule), so this fails only if
/// the two disagree; it then names the check rather than losing it.
fn closed(parsed: ParsedSuite) -> Result<LoadedSuite, Diagnostic> {
    let ParsedSuite { path, mut file } = parsed;
    let mut checks = Vec::with_capacity(file.checks.len());
    for check in std::mem::take(&mut file.checks) {
        let loc = check.loc;
        let id = check.value.id.value.clone();
        match check.value.into_spec() {
            Ok(spec) => checks.push(Located { value: spec, loc }),
            Err(why) => {
                let what = match why {
                    NotOneKind::Kinds(_) => "kind",
                    NotOneKind::Probes => "security probe",
                    NotOneKind::Rules => "repository rule",
                };
                return Err(Diagnostic::at(
                    &path,
                    loc,
                    format!("check `{id}` must have exactly one {what}"),
                ));
            }
        }
    }
    Ok(LoadedSuite { path, file, checks })
}

fn read(path: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(path, 0, 0, format!("cannot read: {e}"))
            .with_hint("is this an assessment folder? it needs an assessment.yaml")
    })
}

fn is_inside(dir: &Path, path: &Path) -> bool {
    use std::path::Component;
    path.strip_prefix(dir)
        .map(|rel| {
            rel.components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        })
        .unwrap_or(false)
}

impl Assessment {
    /// Every check with its suite, in run order.
    pub fn checks(&self) -> impl Iterator<Item = (&LoadedSuite, &CheckSpec)> {
        self.suites
            .iter()
            .flat_map(|s| s.checks.iter().map(move |c| (s, &c.value)))
    }

    /// The candidate brief's path.
    pub fn brief_path(&self) -> PathBuf {
        self.dir.join(&self.file.brief)
    }

    /// What the grader needs: each check's skills, weights, visibility; the profiles.
    pub fn grading_plan(&self) -> GradingPlan {
        let checks = self
            .checks()
            .map(|(suite, CheckSpec { common: check, .. })| PlannedCheck {
                critical: check.critical.clone(),
                id: check.id.value.clone(),
                suite: suite.file.suite.value.clone(),
                title: check.title.clone(),
                skills: check
                    .skills
                    .value
                    .iter()
                    .map(|(skill, weight)| SkillWeight {
                        skill: *skill,
                        weight: *weight,
                    })
                    .collect(),
                visibility: check.visibility.unwrap_or(suite.file.visibility),
            })
            .collect();
        let profiles = self
            .file
            .profiles
            .iter()
            .map(|(id, p)| Profile {
                id: id.clone(),
                title: p.title.clone(),
                weights: p.weights.clone(),
                pass_mark: p.pass_mark,
            })
            .collect();
        GradingPlan {
            checks,
            profiles,
            default_profile: self.file.default_profile.value.clone(),
        }
    }
}
