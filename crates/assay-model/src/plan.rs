//! The grading plan: what the grader needs to know of an assessment (checks' skills and
//! weights, role profiles), derived from the assessment by the format crate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Skill;

/// Whether candidates see a check (in the candidate kit) or only graders do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Visible,
    #[default]
    Hidden,
}

/// A skill a check evidences, with the weight of that evidence (> 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkillWeight {
    pub skill: Skill,
    pub weight: f64,
}

/// One check as the grader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlannedCheck {
    pub id: String,
    pub suite: String,
    pub title: String,
    pub skills: Vec<SkillWeight>,
    pub visibility: Visibility,
    /// Skills whose score a failure of this check caps (a defect that alone disqualifies,
    /// e.g. SQL injection for security).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub critical: Vec<Skill>,
}

/// A role profile: how much each skill counts towards the overall score, and the pass mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Profile {
    pub id: String,
    pub title: String,
    /// Relative weights; skills absent here count zero.
    pub weights: BTreeMap<Skill, f64>,
    /// 0..=100.
    pub pass_mark: f64,
}

/// Everything the grader needs from an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GradingPlan {
    pub checks: Vec<PlannedCheck>,
    pub profiles: Vec<Profile>,
    /// The id of the profile used when none is chosen.
    pub default_profile: String,
}

impl GradingPlan {
    /// The profile with this id.
    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }
}
