//! The scorecard: the versioned JSON contract that reports and CI integrations read.
//!
//! Documented field by field in `docs/scorecard.md`; its JSON Schema, generated from these
//! types by [`json_schema`], is checked in at `docs/scorecard.schema.json`.

use assay_model::{Evidence, RunnerInfo, SandboxReport, Skill, Status, Visibility};
use serde::{Deserialize, Serialize};

/// The version of the scorecard contract. Additive changes (a new optional field, a new
/// enum value a reader may ignore) keep it; anything that can break a reader (a removed or
/// renamed field, a changed type or meaning) bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// What a hiring team reads and a CI job gates on: one submission, graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(
    title = "assay scorecard",
    description = "One submission to one assessment, graded. See docs/scorecard.md."
)]
pub struct Scorecard {
    /// The version of this contract (1); bumped only by changes that can break a reader.
    pub schema_version: u32,
    /// Which assessment (and which version of it) was run.
    pub assessment: AssessmentInfo,
    /// Which submission was graded.
    pub submission: SubmissionInfo,
    /// What happened in the sandbox: build, start-up, resources, logs, and why the submission
    /// could not be exercised, if it could not.
    pub sandbox: SandboxReport,
    /// The role profile the overall score was weighted by.
    pub profile: ProfileInfo,
    /// The profile-weighted mean of the assessed skills' scores, 0–100, one decimal.
    #[schemars(range(min = 0, max = 100))]
    pub overall: f64,
    /// The profile's pass mark, 0–100.
    #[schemars(range(min = 0, max = 100))]
    pub pass_mark: f64,
    /// `overall >= pass_mark`, both as written here, and no critical check failed.
    pub passed: bool,
    /// Ids of the critical checks that failed or errored: any one fails the submission
    /// whatever its overall. Empty when none did (absent in scorecards before it existed).
    #[serde(default)]
    pub critical_failures: Vec<String>,
    /// Skills the profile weights but no check evidences: left out of the overall, whose
    /// weights were renormalised over the assessed skills.
    pub excluded_from_overall: Vec<Skill>,
    /// All ten skills, always, in the fixed order of `Skill::ALL`.
    pub skills: Vec<SkillScore>,
    /// Every check of the assessment, in the assessment's order.
    pub checks: Vec<CheckResult>,
    /// The seed the run used (random data, request order).
    pub seed: u64,
    /// The runner's version and the image ids the run used.
    pub runner: RunnerInfo,
    /// RFC 3339 time the run started.
    pub started_at: String,
    /// Wall time of the whole run, in seconds.
    pub duration_seconds: f64,
    /// How much code this submission shares with its closest match in the cohort or among
    /// known public solutions (`assay batch`; absent when similarity was not computed). A
    /// flag for a human reviewer: it never changes any score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<SimilarityInfo>,
}

/// The similarity flag of one submission: its closest match and how much they share. Never
/// part of any score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SimilarityInfo {
    /// The closest match: another submission's folder in the batch, or a known solution's
    /// name; `null` when no other document shares a fingerprint with this one
    /// (candidate-controlled: escape it when rendering).
    pub closest: Option<String>,
    /// `true` when the closest match is a known public solution, not a submission.
    pub known: bool,
    /// Shared fingerprints over the smaller document's own fingerprints, 0–1.
    #[schemars(range(min = 0, max = 1))]
    pub share: f64,
    /// Source lines covered by the shared fingerprints.
    pub shared_lines: u64,
    /// `share` reached the threshold: a human should read the two side by side.
    pub flagged: bool,
    /// The threshold `share` was compared with, 0–1.
    #[schemars(range(min = 0, max = 1))]
    pub threshold: f64,
    /// The page with the matched regions side by side, relative to the batch folder (only
    /// when flagged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// Which assessment was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AssessmentInfo {
    pub id: String,
    pub version: String,
    pub title: String,
}

/// Which submission was graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SubmissionInfo {
    /// Display name (candidate-controlled: escape it when rendering).
    pub name: String,
    /// `sha256:…` of the submission's files as graded.
    pub digest: String,
}

/// The role profile used for the overall score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProfileInfo {
    pub id: String,
    pub title: String,
}

/// One skill's score and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkillScore {
    /// The fixed skill id.
    pub id: Skill,
    /// Human title, e.g. `API design`.
    pub title: String,
    /// 0–100, one decimal; `null` when no check evidences this skill, or every check that
    /// does is `not_assessed` ("not assessed").
    #[schemars(range(min = 0, max = 100))]
    pub score: Option<f64>,
    /// The total check weight behind the score, `not_assessed` checks left out (0 when not
    /// assessed).
    #[schemars(range(min = 0))]
    pub coverage: f64,
    /// The part of `coverage` that comes from checks where this skill weighs most (the
    /// check's primary skill; a tie makes every tied skill primary), three decimals. The rest
    /// is secondary weight on other skills' checks.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub own_weight: f64,
    /// `own_weight / coverage`, 0–1, three decimals: how much of the score stands on evidence
    /// of this skill's own (0 when not assessed). Low values mean the score mostly echoes
    /// other skills' checks.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub own_coverage: f64,
    /// This skill's relative weight in the chosen profile (0 when the profile ignores it).
    #[schemars(range(min = 0))]
    pub profile_weight: f64,
    /// How many of the evidencing checks passed.
    pub checks_passed: u32,
    /// How many checks evidence this skill (`not_assessed` ones left out).
    pub checks_total: u32,
    /// Two or three sentences of strengths and gaps, templated from the evidence.
    pub summary: String,
    /// The checks that evidence this skill, in the assessment's order (`not_assessed` ones
    /// included, with the weight they would have had).
    pub evidence: Vec<SkillEvidence>,
}

impl SkillScore {
    /// True when at least one check evidences this skill.
    pub fn assessed(&self) -> bool {
        self.score.is_some()
    }
}

/// One check's contribution to one skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkillEvidence {
    /// The check's id.
    pub check: String,
    pub status: Status,
    /// The credit counted, 0–1 (0 for `skipped`, `error` and `not_assessed`).
    #[schemars(range(min = 0, max = 1))]
    pub credit: f64,
    /// The weight of this check for this skill.
    pub weight: f64,
    /// This skill weighs most in this check (it is the check's primary skill, or tied for
    /// it); `false` for secondary evidence from another skill's check.
    #[serde(default)]
    pub primary: bool,
}

/// One check: what the assessment says of it and what the run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckResult {
    pub id: String,
    pub suite: String,
    pub title: String,
    /// The skills this check evidences.
    pub skills: Vec<Skill>,
    /// `hidden` checks are not in the candidate kit.
    pub visibility: Visibility,
    pub status: Status,
    /// The credit counted, 0–1 (0 for `skipped`, `error` and `not_assessed`).
    #[schemars(range(min = 0, max = 1))]
    pub credit: f64,
    /// One sentence: what was found (for a skip, why it did not run).
    pub message: String,
    /// Wall time the check took, in milliseconds.
    pub duration_ms: u64,
    /// A lesser reading earned partial credit (the evidence names it): never a critical
    /// failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// The requests, responses, measurements, files and logs behind the verdict
    /// (candidate-controlled: escape when rendering).
    pub evidence: Vec<Evidence>,
}

impl Scorecard {
    /// The score of one skill.
    pub fn skill(&self, skill: Skill) -> Option<&SkillScore> {
        self.skills.iter().find(|s| s.id == skill)
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// How many checks ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

/// The JSON Schema (draft 2020-12) of [`Scorecard`] as serialised, the one checked in at
/// `docs/scorecard.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    generator.into_root_schema_for::<Scorecard>().to_value()
}
