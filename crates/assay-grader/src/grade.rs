//! The scoring rules: per-skill scores from weighted check credits, the profile-weighted
//! overall score, and the pass/fail verdict.

use std::collections::{BTreeMap, BTreeSet};

use assay_model::{CheckOutcome, GradingPlan, PlannedCheck, Profile, RunResults, Skill, Status};

use crate::error::GradeError;
use crate::scorecard::{
    AssessmentInfo, CheckResult, ProfileInfo, SCHEMA_VERSION, Scorecard, SkillEvidence, SkillScore,
    SubmissionInfo,
};
use crate::summary::{EvidenceLine, not_assessed_summary, summarise};

/// The message of a planned check the results say nothing about.
pub const NOT_RUN: &str = "not run: the runner reported no result for this check";

/// Grades one run against the assessment's grading plan, weighting the overall score by
/// `profile` (the plan's default profile when `None`).
///
/// Scoring rules (see `docs/scorecard.md`):
/// - a skill's score is `100 × Σ weight·credit / Σ weight` over the checks that evidence it;
///   a `skipped` or `error` check counts credit 0 but keeps its weight in the denominator,
///   so a submission that crashes or does not build cannot score well by running less;
/// - a check may be critical for some of its skills: while it fails (or errs), those skills
///   score at most [`CRITICAL_CAP`], and their summary names the check; a check that earned
///   partial credit for a lesser reading (`partial`) is not a critical failure;
/// - a skill's `own_coverage` is the share of its weight that comes from checks where it
///   weighs most (their primary skill; ties count for every tied skill), the rest being
///   secondary weight on other skills' checks;
/// - a `not_assessed` check (nothing to judge, by a choice the contract allows) counts for
///   no skill: neither its weight nor its credit enters any score (nor any coverage); it is
///   listed in the skill's evidence all the same;
/// - a skill no check evidences, or whose every check is `not_assessed`, is not assessed: score `null`, coverage 0, and it is left
///   out of the overall, whose profile weights are renormalised over the assessed skills;
/// - the overall is the profile-weighted mean of the skill scores as written (one decimal),
///   and `passed` compares the overall as written with the pass mark, and is false while
///   any critical check fails, however high the overall;
/// - a planned check missing from the results is graded `skipped` ("not run"); a result for
///   a check the plan does not define is an error, since the runner and the assessment do
///   not match.
pub fn grade(
    results: &RunResults,
    plan: &GradingPlan,
    profile: Option<&str>,
) -> Result<Scorecard, GradeError> {
    let profile = choose_profile(plan, profile)?;
    validate_profile(profile)?;
    let outcomes = index_outcomes(results, plan)?;

    let mut checks = Vec::with_capacity(plan.checks.len());
    let mut weights = Vec::with_capacity(plan.checks.len());
    for planned in &plan.checks {
        let skill_weights = check_weights(planned)?;
        let result = match outcomes.get(planned.id.as_str()) {
            Some(outcome) => {
                if outcome.suite != planned.suite {
                    return Err(GradeError::SuiteMismatch {
                        id: planned.id.clone(),
                        planned: planned.suite.clone(),
                        reported: outcome.suite.clone(),
                    });
                }
                checked(planned, &skill_weights, outcome)
            }
            None => not_run(planned, &skill_weights),
        };
        checks.push(result);
        weights.push(skill_weights);
    }

    let skills: Vec<SkillScore> = Skill::ALL
        .into_iter()
        .map(|skill| score_skill(skill, &checks, &weights, &plan.checks, profile))
        .collect();
    let (overall, excluded_from_overall) = overall(&skills, profile)?;
    let pass_mark = round_to(profile.pass_mark, 10.0);
    // A disqualifying defect is not outweighed by everything else going right.
    let critical_failures: Vec<String> = checks
        .iter()
        .zip(&plan.checks)
        .filter(|(c, p)| !p.critical.is_empty() && is_critical_failure(c))
        .map(|(c, _)| c.id.clone())
        .collect();

    Ok(Scorecard {
        schema_version: SCHEMA_VERSION,
        assessment: AssessmentInfo {
            id: results.assessment.id.clone(),
            version: results.assessment.version.clone(),
            title: results.assessment.title.clone(),
        },
        submission: SubmissionInfo {
            name: results.submission.name.clone(),
            digest: results.submission.digest.clone(),
        },
        sandbox: results.sandbox.clone(),
        profile: ProfileInfo {
            id: profile.id.clone(),
            title: profile.title.clone(),
        },
        overall,
        pass_mark,
        passed: overall >= pass_mark && critical_failures.is_empty(),
        critical_failures,
        excluded_from_overall,
        skills,
        checks,
        seed: results.seed,
        runner: results.runner.clone(),
        started_at: results.started_at.clone(),
        duration_seconds: round_to(finite_or_zero(results.duration_seconds).max(0.0), 1000.0),
        similarity: None,
    })
}

/// The profile `requested` (the plan's default when `None`), or [`GradeError::UnknownProfile`]
/// listing the profiles the assessment defines. The one check of a profile's name: commands
/// call it before a run so an unknown profile is refused before minutes of work.
pub fn choose_profile<'p>(
    plan: &'p GradingPlan,
    requested: Option<&str>,
) -> Result<&'p Profile, GradeError> {
    let id = requested.unwrap_or(&plan.default_profile);
    plan.profile(id).ok_or_else(|| GradeError::UnknownProfile {
        requested: id.to_owned(),
        known: plan.profiles.iter().map(|p| p.id.clone()).collect(),
    })
}

fn validate_profile(profile: &Profile) -> Result<(), GradeError> {
    let invalid = |reason: String| GradeError::InvalidProfile {
        profile: profile.id.clone(),
        reason,
    };
    if !profile.pass_mark.is_finite() || !(0.0..=100.0).contains(&profile.pass_mark) {
        return Err(invalid(format!(
            "its pass mark {} is not within 0–100",
            profile.pass_mark
        )));
    }
    for (skill, weight) in &profile.weights {
        if !weight.is_finite() || *weight < 0.0 {
            return Err(invalid(format!(
                "it weighs skill `{skill}` at {weight}; weights must be finite and not negative"
            )));
        }
    }
    Ok(())
}

/// The outcomes by check id, after refusing duplicates and checks the plan does not define.
fn index_outcomes<'r>(
    results: &'r RunResults,
    plan: &GradingPlan,
) -> Result<BTreeMap<&'r str, &'r CheckOutcome>, GradeError> {
    let mut planned = BTreeSet::new();
    for check in &plan.checks {
        if !planned.insert(check.id.as_str()) {
            return Err(GradeError::DuplicatePlannedCheck {
                id: check.id.clone(),
            });
        }
    }
    let mut outcomes = BTreeMap::new();
    let mut unknown = Vec::new();
    for outcome in &results.checks {
        if !planned.contains(outcome.id.as_str()) {
            unknown.push(outcome.id.clone());
        } else if outcomes.insert(outcome.id.as_str(), outcome).is_some() {
            return Err(GradeError::DuplicateResult {
                id: outcome.id.clone(),
            });
        }
    }
    if !unknown.is_empty() {
        return Err(GradeError::UnknownChecks { ids: unknown });
    }
    Ok(outcomes)
}

/// The check's skill weights, merged when a skill is listed twice, in `Skill` order.
fn check_weights(check: &PlannedCheck) -> Result<BTreeMap<Skill, f64>, GradeError> {
    let mut weights = BTreeMap::new();
    for sw in &check.skills {
        if !sw.weight.is_finite() || sw.weight <= 0.0 {
            return Err(GradeError::InvalidCheckWeight {
                check: check.id.clone(),
                skill: sw.skill.id().to_owned(),
                weight: sw.weight,
            });
        }
        *weights.entry(sw.skill).or_insert(0.0) += sw.weight;
    }
    Ok(weights)
}

/// The credit a check counts for: as reported (clamped to 0–1, three decimals) for a pass
/// or a fail; 0 for a check that errored or was skipped.
fn effective_credit(status: Status, credit: f64) -> f64 {
    match status {
        Status::Pass | Status::Fail => round_to(finite_or_zero(credit).clamp(0.0, 1.0), 1000.0),
        Status::Error | Status::Skipped | Status::NotAssessed => 0.0,
    }
}

fn checked(
    planned: &PlannedCheck,
    weights: &BTreeMap<Skill, f64>,
    outcome: &CheckOutcome,
) -> CheckResult {
    CheckResult {
        id: planned.id.clone(),
        suite: planned.suite.clone(),
        title: planned.title.clone(),
        skills: weights.keys().copied().collect(),
        visibility: planned.visibility,
        status: outcome.status,
        credit: effective_credit(outcome.status, outcome.credit),
        message: outcome.message.clone(),
        duration_ms: outcome.duration_ms,
        partial: outcome.partial && outcome.status == Status::Fail,
        evidence: outcome.evidence.clone(),
    }
}

fn not_run(planned: &PlannedCheck, weights: &BTreeMap<Skill, f64>) -> CheckResult {
    CheckResult {
        id: planned.id.clone(),
        suite: planned.suite.clone(),
        title: planned.title.clone(),
        skills: weights.keys().copied().collect(),
        visibility: planned.visibility,
        status: Status::Skipped,
        credit: 0.0,
        message: NOT_RUN.to_owned(),
        duration_ms: 0,
        partial: false,
        evidence: Vec::new(),
    }
}

/// Whether a check counts as failed for `critical`: it failed or errored, and not merely
/// with a lesser reading the assessment accepts for partial credit.
fn is_critical_failure(c: &CheckResult) -> bool {
    matches!(c.status, Status::Fail | Status::Error) && !c.partial
}

/// The most a skill scores while a check critical for it has failed.
pub const CRITICAL_CAP: f64 = 60.0;

fn score_skill(
    skill: Skill,
    checks: &[CheckResult],
    weights: &[BTreeMap<Skill, f64>],
    planned: &[PlannedCheck],
    profile: &Profile,
) -> SkillScore {
    let mut evidence = Vec::new();
    let mut lines = Vec::new();
    let mut total_weight = 0.0;
    let mut own_weight = 0.0;
    let mut earned = 0.0;
    for (check, check_weights) in checks.iter().zip(weights) {
        let Some(&weight) = check_weights.get(&skill) else {
            continue;
        };
        let primary = is_primary(weight, check_weights);
        // A check with nothing to judge counts for no skill: neither weight nor credit.
        if check.status != Status::NotAssessed {
            total_weight += weight;
            if primary {
                own_weight += weight;
            }
            earned += weight * check.credit;
        }
        evidence.push(SkillEvidence {
            check: check.id.clone(),
            status: check.status,
            credit: check.credit,
            weight,
            primary,
        });
        lines.push(EvidenceLine {
            title: &check.title,
            status: check.status,
            credit: check.credit,
        });
    }
    let checks_total = count(
        evidence
            .iter()
            .filter(|e| e.status != Status::NotAssessed)
            .count(),
    );
    let checks_passed = count(evidence.iter().filter(|e| e.status == Status::Pass).count());
    let profile_weight = profile.weights.get(&skill).copied().unwrap_or(0.0);
    // A failed check critical for this skill caps it, however much else went right.
    let critical_failures: Vec<&str> = checks
        .iter()
        .zip(planned)
        .filter(|(c, p)| p.critical.contains(&skill) && is_critical_failure(c))
        .map(|(c, _)| c.id.as_str())
        .collect();
    let (score, summary) = if evidence.is_empty() {
        (None, not_assessed_summary())
    } else if checks_total == 0 {
        (None, summarise(&lines))
    } else {
        let mut score = round_to(100.0 * earned / total_weight, 10.0);
        let mut summary = summarise(&lines);
        if !critical_failures.is_empty() && score > CRITICAL_CAP {
            score = CRITICAL_CAP;
            summary.push_str(&format!(
                " Capped at {CRITICAL_CAP:.0} because a critical check failed: {}.",
                critical_failures.join(", ")
            ));
        }
        (Some(score), summary)
    };
    SkillScore {
        id: skill,
        title: skill.title().to_owned(),
        score,
        coverage: round_to(total_weight, 1000.0),
        own_weight: round_to(own_weight, 1000.0),
        own_coverage: if total_weight > 0.0 {
            round_to(own_weight / total_weight, 1000.0)
        } else {
            0.0
        },
        profile_weight,
        checks_passed,
        checks_total,
        summary,
        evidence,
    }
}

/// Whether a skill weighing `weight` in a check is that check's primary skill: no other skill
/// of the check weighs more (a tie makes every tied skill primary).
fn is_primary(weight: f64, check_weights: &BTreeMap<Skill, f64>) -> bool {
    check_weights.values().all(|&other| other <= weight)
}

/// The profile-weighted mean of the assessed skills' scores (as written), and the skills the
/// profile weights that were left out because no check evidences them.
fn overall(skills: &[SkillScore], profile: &Profile) -> Result<(f64, Vec<Skill>), GradeError> {
    let mut weighted = 0.0;
    let mut total = 0.0;
    let mut excluded = Vec::new();
    for skill in skills {
        if skill.profile_weight <= 0.0 {
            continue;
        }
        match skill.score {
            Some(score) => {
                weighted += skill.profile_weight * score;
                total += skill.profile_weight;
            }
            None => excluded.push(skill.id),
        }
    }
    if total <= 0.0 {
        return Err(GradeError::NothingToWeigh {
            profile: profile.id.clone(),
        });
    }
    Ok((round_to(weighted / total, 10.0), excluded))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// Rounds half away from zero to `1/scale` (10.0: one decimal), never yielding `-0.0`.
/// Deterministic: the same IEEE operations on every platform.
pub(crate) fn round_to(x: f64, scale: f64) -> f64 {
    let rounded = (finite_or_zero(x) * scale).round() / scale;
    if rounded == 0.0 { 0.0 } else { rounded }
}
