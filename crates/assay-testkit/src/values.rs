//! Builders of the model values the grader's, the reports' and the end-to-end tests grade and
//! render: planned checks, profiles, plans, evidence of an exchange, run results. Pure values;
//! every field a test cares about is an argument or set on the returned value.

use std::collections::BTreeMap;

use assay_model::{
    AssessmentRef, CheckOutcome, Evidence, GradingPlan, PlannedCheck, Profile, RequestRecord,
    ResponseRecord, RunResults, RunnerInfo, SandboxReport, Skill, SkillWeight, SubmissionRef,
    Visibility,
};

/// A planned check evidencing `skills` with their weights; no critical skills.
pub fn planned(
    id: &str,
    suite: &str,
    title: &str,
    skills: &[(Skill, f64)],
    visibility: Visibility,
) -> PlannedCheck {
    PlannedCheck {
        critical: Vec::new(),
        id: id.to_owned(),
        suite: suite.to_owned(),
        title: title.to_owned(),
        skills: skills
            .iter()
            .map(|&(skill, weight)| SkillWeight { skill, weight })
            .collect(),
        visibility,
    }
}

/// A role profile with these skill weights and pass mark.
pub fn profile(
    id: &str,
    title: &str,
    weights: impl IntoIterator<Item = (Skill, f64)>,
    pass_mark: f64,
) -> Profile {
    Profile {
        id: id.to_owned(),
        title: title.to_owned(),
        weights: weights.into_iter().collect::<BTreeMap<_, _>>(),
        pass_mark,
    }
}

/// Every skill weighted 1.
pub fn even_weights() -> impl Iterator<Item = (Skill, f64)> {
    Skill::ALL.into_iter().map(|s| (s, 1.0))
}

/// A plan of these checks and profiles, the first profile the default.
pub fn plan(checks: Vec<PlannedCheck>, profiles: Vec<Profile>) -> GradingPlan {
    let default_profile = profiles.first().map(|p| p.id.clone()).unwrap_or_default();
    GradingPlan {
        checks,
        profiles,
        default_profile,
    }
}

/// A request as the engine records it, without a body.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> RequestRecord {
    RequestRecord {
        method: method.to_owned(),
        url: url.to_owned(),
        headers: pairs(headers),
        body: None,
    }
}

/// A whole (not truncated) response as the engine records it.
pub fn response(
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
    elapsed_ms: f64,
) -> ResponseRecord {
    ResponseRecord {
        status,
        headers: pairs(headers),
        body: body.to_owned(),
        body_truncated: false,
        elapsed_ms,
    }
}

/// An exchange that got an answer.
pub fn exchange(request: RequestRecord, response: ResponseRecord) -> Evidence {
    Evidence::Exchange {
        request,
        response: Some(response),
        error: None,
    }
}

/// `outcome`, taking `ms` milliseconds.
pub fn timed(mut outcome: CheckOutcome, ms: u64) -> CheckOutcome {
    outcome.duration_ms = ms;
    outcome
}

/// A check that passed with no evidence.
pub fn pass(id: &str, suite: &str) -> CheckOutcome {
    CheckOutcome::pass(id, suite, "ok", Vec::new())
}

/// The run of `checks` on submission `name` (digest `digest`) of assessment `id` at
/// `version`: built and healthy, seed 7, started at 2026-01-02T03:04:05Z. Set the other
/// fields on the value.
pub fn run_results(
    (id, version, title): (&str, &str, &str),
    (name, digest): (&str, &str),
    checks: Vec<CheckOutcome>,
) -> RunResults {
    RunResults {
        assessment: AssessmentRef {
            id: id.to_owned(),
            version: version.to_owned(),
            title: title.to_owned(),
        },
        submission: SubmissionRef {
            name: name.to_owned(),
            digest: digest.to_owned(),
        },
        sandbox: SandboxReport {
            image_built: true,
            became_healthy: true,
            ..SandboxReport::default()
        },
        checks,
        seed: 7,
        runner: RunnerInfo::default(),
        started_at: "2026-01-02T03:04:05Z".to_owned(),
        duration_seconds: 42.0,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
