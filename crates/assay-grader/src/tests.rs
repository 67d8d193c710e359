//! Table-driven tests of the scoring rules: each case is a run's outcomes and what the
//! scorecard (or the error) must say.

use assay_model::{
    CheckOutcome, GradingPlan, PlannedCheck, Profile, RunResults, SandboxFailure, SandboxReport,
    Skill, Status, Visibility,
};

use assay_testkit::values::{self, pass, run_results};

use crate::grade::round_to;
use crate::{GradeError, NOT_RUN, Scorecard, grade};

/// A hidden planned check (the shared builder, `assay_testkit::values::planned`).
fn planned(id: &str, suite: &str, title: &str, skills: &[(Skill, f64)]) -> PlannedCheck {
    values::planned(id, suite, title, skills, Visibility::Hidden)
}

fn profile(id: &str, weights: &[(Skill, f64)], pass_mark: f64) -> Profile {
    values::profile(
        id,
        &format!("{id} title"),
        weights.iter().copied(),
        pass_mark,
    )
}

/// Five checks over six skills; four skills (communication among them) are never evidenced.
fn plan() -> GradingPlan {
    GradingPlan {
        checks: vec![
            planned(
                "api.list",
                "api",
                "Lists items",
                &[(Skill::ApiDesign, 2.0), (Skill::Languages, 1.0)],
            ),
            planned(
                "api.auth",
                "security",
                "Rejects bad tokens",
                &[(Skill::Security, 1.0)],
            ),
            planned(
                "db.persist",
                "db",
                "Persists across restart",
                &[(Skill::Databases, 1.0), (Skill::Devops, 1.0)],
            ),
            planned(
                "perf.load",
                "perf",
                "Holds 200 rps",
                &[(Skill::Performance, 1.0)],
            ),
            planned(
                "ops.health",
                "ops",
                "Health endpoint",
                &[(Skill::Devops, 1.0)],
            ),
        ],
        profiles: vec![
            profile(
                "backend",
                &[
                    (Skill::ApiDesign, 2.0),
                    (Skill::Security, 1.0),
                    (Skill::Databases, 1.0),
                    (Skill::Performance, 1.0),
                    (Skill::Devops, 1.0),
                    (Skill::Communication, 1.0),
                ],
                60.0,
            ),
            profile(
                "boundary",
                &[(Skill::Security, 1.0), (Skill::Performance, 1.0)],
                70.0,
            ),
            profile("docs-only", &[(Skill::Communication, 1.0)], 50.0),
        ],
        default_profile: "backend".to_owned(),
    }
}

fn results(checks: Vec<CheckOutcome>, failure: Option<SandboxFailure>) -> RunResults {
    let mut run = run_results(
        ("todo-api", "1.0.0", "Todo API"),
        ("alice", "sha256:abc"),
        checks,
    );
    run.sandbox = SandboxReport {
        image_built: failure.is_none(),
        became_healthy: failure.is_none(),
        build_seconds: 12.5,
        failure,
        ..SandboxReport::default()
    };
    run
}

fn all_pass() -> Vec<CheckOutcome> {
    vec![
        pass("api.list", "api"),
        pass("api.auth", "security"),
        pass("db.persist", "db"),
        pass("perf.load", "perf"),
        pass("ops.health", "ops"),
    ]
}

/// `outcomes` with the one of id `id` replaced.
fn with(mut outcomes: Vec<CheckOutcome>, replacement: CheckOutcome) -> Vec<CheckOutcome> {
    for o in &mut outcomes {
        if o.id == replacement.id {
            *o = replacement.clone();
        }
    }
    outcomes
}

fn without(outcomes: Vec<CheckOutcome>, id: &str) -> Vec<CheckOutcome> {
    outcomes.into_iter().filter(|o| o.id != id).collect()
}

/// What a case expects of the scorecard: the overall, the verdict, the skills named (score
/// and coverage; `None` = not assessed) and the skills left out of the overall.
struct Want {
    overall: f64,
    passed: bool,
    skills: &'static [(Skill, Option<f64>, f64)],
    excluded: &'static [Skill],
}

struct Input {
    outcomes: Vec<CheckOutcome>,
    failure: Option<SandboxFailure>,
    profile: Option<&'static str>,
}

fn input(outcomes: Vec<CheckOutcome>) -> Input {
    Input {
        outcomes,
        failure: None,
        profile: None,
    }
}

fn run(input: &Input) -> Result<Scorecard, GradeError> {
    grade(
        &results(input.outcomes.clone(), input.failure.clone()),
        &plan(),
        input.profile,
    )
}

/// Grades `input` and asserts the scorecard matches `want`.
fn check(name: &str, input: Input, want: Want) -> Scorecard {
    let card = match run(&input) {
        Ok(card) => card,
        Err(e) => panic!("{name}: expected a scorecard, got error: {e}"),
    };
    assert_eq!(card.overall, want.overall, "{name}: overall");
    assert_eq!(card.passed, want.passed, "{name}: passed");
    for &(skill, score, coverage) in want.skills {
        let Some(s) = card.skill(skill) else {
            panic!("{name}: skill {skill} missing")
        };
        assert_eq!(s.score, score, "{name}: score of {skill}");
        assert_eq!(s.coverage, coverage, "{name}: coverage of {skill}");
    }
    assert_eq!(
        card.excluded_from_overall, want.excluded,
        "{name}: excluded"
    );
    let ids: Vec<Skill> = card.skills.iter().map(|s| s.id).collect();
    assert_eq!(ids, Skill::ALL, "{name}: all ten skills, in order");
    card
}

/// Grades `input` and asserts it fails with `want`.
fn check_err(name: &str, input: Input, want: GradeError) {
    match run(&input) {
        Ok(card) => panic!(
            "{name}: expected {want:?}, got a scorecard (overall {})",
            card.overall
        ),
        Err(e) => assert_eq!(e, want, "{name}"),
    }
}

const NOT_ASSESSED: &[(Skill, Option<f64>, f64)] = &[
    (Skill::VersionControl, None, 0.0),
    (Skill::ProblemSolving, None, 0.0),
    (Skill::Frameworks, None, 0.0),
    (Skill::Communication, None, 0.0),
];

#[test]
fn scoring_rules() {
    check(
        "all pass: not-assessed skills are null and left out (renormalised overall)",
        input(all_pass()),
        Want {
            overall: 100.0,
            passed: true,
            skills: &[
                (Skill::ApiDesign, Some(100.0), 2.0),
                (Skill::Languages, Some(100.0), 1.0),
                (Skill::Devops, Some(100.0), 2.0),
                (Skill::VersionControl, None, 0.0),
                (Skill::Communication, None, 0.0),
            ],
            excluded: &[Skill::Communication],
        },
    );
    check(
        "partial credit: a load check at 0.4",
        input(with(
            all_pass(),
            CheckOutcome::with(
                "perf.load",
                "perf",
                Status::Fail,
                0.4,
                "120 rps of 200",
                vec![],
            ),
        )),
        Want {
            overall: 90.0, // (2·100 + 100 + 100 + 40 + 100) / 6
            passed: true,
            skills: &[(Skill::Performance, Some(40.0), 1.0)],
            excluded: &[Skill::Communication],
        },
    );
    check(
        "skipped and error count as zero but keep their weight",
        input(with(
            with(
                all_pass(),
                CheckOutcome::error("api.auth", "security", "connection reset", vec![]),
            ),
            CheckOutcome::skipped("db.persist", "db", "the restart failed"),
        )),
        Want {
            overall: 58.3, // (2·100 + 0 + 0 + 100 + 50) / 6 = 58.33…
            passed: false,
            skills: &[
                (Skill::Security, Some(0.0), 1.0),
                (Skill::Databases, Some(0.0), 1.0),
                (Skill::Devops, Some(50.0), 2.0),
            ],
            excluded: &[Skill::Communication],
        },
    );
    check(
        "error with credit reported still counts zero",
        input(with(
            all_pass(),
            CheckOutcome::with(
                "api.auth",
                "security",
                Status::Error,
                1.0,
                "timeout",
                vec![],
            ),
        )),
        Want {
            overall: 83.3, // (2·100 + 0 + 100 + 100 + 100) / 6
            passed: true,
            skills: &[(Skill::Security, Some(0.0), 1.0)],
            excluded: &[Skill::Communication],
        },
    );
    check(
        "pass mark boundary: exactly at the mark passes",
        Input {
            profile: Some("boundary"),
            ..input(with(
                all_pass(),
                CheckOutcome::with("perf.load", "perf", Status::Fail, 0.4, "slow", vec![]),
            ))
        },
        Want {
            overall: 70.0, // (100 + 40) / 2
            passed: true,
            skills: &[(Skill::Performance, Some(40.0), 1.0)],
            excluded: &[],
        },
    );
    check(
        "pass mark boundary: just below the mark fails",
        Input {
            profile: Some("boundary"),
            ..input(with(
                all_pass(),
                CheckOutcome::with("perf.load", "perf", Status::Fail, 0.39, "slow", vec![]),
            ))
        },
        Want {
            overall: 69.5,
            passed: false,
            skills: &[(Skill::Performance, Some(39.0), 1.0)],
            excluded: &[],
        },
    );
    check(
        "a planned check missing from the results is skipped (not run)",
        input(without(all_pass(), "ops.health")),
        Want {
            overall: 91.7, // (200 + 100 + 100 + 100 + 50) / 6
            passed: true,
            skills: &[(Skill::Devops, Some(50.0), 2.0)],
            excluded: &[Skill::Communication],
        },
    );
    check(
        "not-assessed skills stay null whatever happens",
        input(vec![]),
        Want {
            overall: 0.0,
            passed: false,
            skills: NOT_ASSESSED,
            excluded: &[Skill::Communication],
        },
    );
}

#[test]
fn did_not_build_is_graded_not_an_error() {
    let reason = SandboxFailure::DidNotBuild {
        reason: "no Dockerfile".to_owned(),
    };
    let skipped: Vec<CheckOutcome> = all_pass()
        .iter()
        .map(|o| CheckOutcome::skipped(&o.id, &o.suite, reason.describe()))
        .collect();
    let card = check(
        "did not build",
        Input {
            outcomes: skipped,
            failure: Some(reason.clone()),
            profile: None,
        },
        Want {
            overall: 0.0,
            passed: false,
            skills: &[
                (Skill::ApiDesign, Some(0.0), 2.0),
                (Skill::Security, Some(0.0), 1.0),
                (Skill::Communication, None, 0.0),
            ],
            excluded: &[Skill::Communication],
        },
    );
    assert_eq!(card.sandbox.failure, Some(reason));
    assert!(!card.sandbox.image_built);
    assert!(card.checks.iter().all(|c| c.status == Status::Skipped));
    assert_eq!(
        card.checks[0].message,
        "the submission did not build: no Dockerfile"
    );
    let security = card.skill(Skill::Security).map(|s| s.summary.clone());
    assert_eq!(
        security.as_deref(),
        Some(
            "No check evidencing this skill earned credit. Gaps: Rejects bad tokens did not run. \
             No check for this skill could be judged; each counts as zero."
        )
    );
}

#[test]
fn grading_errors() {
    check_err(
        "unknown profile lists the known ones",
        Input {
            profile: Some("frontend"),
            ..input(all_pass())
        },
        GradeError::UnknownProfile {
            requested: "frontend".to_owned(),
            known: vec![
                "backend".to_owned(),
                "boundary".to_owned(),
                "docs-only".to_owned(),
            ],
        },
    );
    let mut extra = all_pass();
    extra.push(pass("api.extra", "api"));
    check_err(
        "a result the plan does not define",
        input(extra),
        GradeError::UnknownChecks {
            ids: vec!["api.extra".to_owned()],
        },
    );
    let mut twice = all_pass();
    twice.push(pass("api.list", "api"));
    check_err(
        "a result reported twice",
        input(twice),
        GradeError::DuplicateResult {
            id: "api.list".to_owned(),
        },
    );
    check_err(
        "a result under another suite",
        input(with(all_pass(), pass("perf.load", "api"))),
        GradeError::SuiteMismatch {
            id: "perf.load".to_owned(),
            planned: "perf".to_owned(),
            reported: "api".to_owned(),
        },
    );
    check_err(
        "a profile weighing only unassessed skills",
        Input {
            profile: Some("docs-only"),
            ..input(all_pass())
        },
        GradeError::NothingToWeigh {
            profile: "docs-only".to_owned(),
        },
    );
}

#[test]
fn error_messages_name_what_to_fix() {
    let err = GradeError::UnknownProfile {
        requested: "frontend".to_owned(),
        known: vec!["backend".to_owned(), "boundary".to_owned()],
    };
    assert_eq!(
        err.to_string(),
        "unknown profile `frontend`: the assessment defines `backend`, `boundary`"
    );
}

#[test]
fn invalid_plans_are_refused() {
    let mut bad_weight = plan();
    bad_weight.checks[0].skills[0].weight = 0.0;
    assert!(matches!(
        grade(&results(all_pass(), None), &bad_weight, None),
        Err(GradeError::InvalidCheckWeight { .. })
    ));
    let mut bad_mark = plan();
    bad_mark.profiles[0].pass_mark = 120.0;
    assert!(matches!(
        grade(&results(all_pass(), None), &bad_mark, None),
        Err(GradeError::InvalidProfile { .. })
    ));
    let mut duplicate = plan();
    let first = duplicate.checks[0].clone();
    duplicate.checks.push(first);
    assert_eq!(
        grade(&results(all_pass(), None), &duplicate, None),
        Err(GradeError::DuplicatePlannedCheck {
            id: "api.list".to_owned()
        })
    );
}

#[test]
fn missing_check_is_listed_as_not_run() {
    let card = grade(
        &results(without(all_pass(), "ops.health"), None),
        &plan(),
        None,
    );
    let card = card.unwrap_or_else(|e| panic!("grade: {e}"));
    let check = card
        .check("ops.health")
        .map(|c| (c.status, c.credit, c.message.as_str()));
    assert_eq!(check, Some((Status::Skipped, 0.0, NOT_RUN)));
    let devops = card.skill(Skill::Devops).map(|s| {
        s.evidence
            .iter()
            .map(|e| (e.check.as_str(), e.status, e.credit))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        devops,
        Some(vec![
            ("db.persist", Status::Pass, 1.0),
            ("ops.health", Status::Skipped, 0.0)
        ])
    );
}

#[test]
fn skill_entries_count_and_summarise_the_evidence() {
    let card = grade(
        &results(
            with(
                all_pass(),
                CheckOutcome::fail("ops.health", "ops", "404 on /health", vec![]),
            ),
            None,
        ),
        &plan(),
        None,
    )
    .unwrap_or_else(|e| panic!("grade: {e}"));
    let devops = card
        .skill(Skill::Devops)
        .unwrap_or_else(|| panic!("devops missing"));
    assert_eq!((devops.checks_passed, devops.checks_total), (1, 2));
    assert_eq!(devops.profile_weight, 1.0);
    assert_eq!(
        devops.summary,
        "Strengths: Persists across restart passed. Gaps: Health endpoint failed."
    );
    let comms = card
        .skill(Skill::Communication)
        .unwrap_or_else(|| panic!("communication missing"));
    assert!(!comms.assessed());
    assert!(
        comms.summary.starts_with("Not assessed"),
        "{}",
        comms.summary
    );
    assert_eq!((comms.checks_passed, comms.checks_total), (0, 0));
    assert_eq!(
        card.check("api.list").map(|c| c.skills.clone()),
        Some(vec![Skill::Languages, Skill::ApiDesign])
    );
}

#[test]
fn rounding_is_to_one_decimal_and_never_negative_zero() {
    assert_eq!(round_to(200.0 / 3.0, 10.0), 66.7);
    assert_eq!(round_to(100.0 / 3.0, 10.0), 33.3);
    assert_eq!(round_to(0.05, 10.0), 0.1);
    assert_eq!(round_to(-0.04, 10.0).to_bits(), 0.0_f64.to_bits());
    assert_eq!(round_to(f64::NAN, 10.0), 0.0);
}

#[test]
fn grading_is_deterministic_and_round_trips_through_json() {
    let outcomes = with(
        all_pass(),
        CheckOutcome::with("perf.load", "perf", Status::Fail, 1.0 / 3.0, "slow", vec![]),
    );
    let a = grade(&results(outcomes.clone(), None), &plan(), None);
    let b = grade(&results(outcomes, None), &plan(), None);
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        other => panic!("grade failed: {other:?}"),
    };
    assert_eq!(a.check("perf.load").map(|c| c.credit), Some(0.333));
    let ja = serde_json::to_string(&a).unwrap_or_else(|e| panic!("serialise: {e}"));
    let jb = serde_json::to_string(&b).unwrap_or_else(|e| panic!("serialise: {e}"));
    assert_eq!(ja, jb);
    assert!(
        ja.contains(r#""score":null"#),
        "not-assessed skills serialise as null"
    );
    let back: Scorecard = serde_json::from_str(&ja).unwrap_or_else(|e| panic!("parse: {e}"));
    assert_eq!(back, a);
}

/// A plan of four security checks (weight 1 each), the first critical for security; and
/// one API check critical for nothing.
fn critical_plan() -> GradingPlan {
    let mut plan = plan();
    plan.checks = vec![
        PlannedCheck {
            critical: vec![Skill::Security],
            ..planned(
                "sec.sqli",
                "security",
                "No SQL injection",
                &[(Skill::Security, 1.0), (Skill::Databases, 1.0)],
            )
        },
        planned("sec.a", "security", "A", &[(Skill::Security, 1.0)]),
        planned("sec.b", "security", "B", &[(Skill::Security, 1.0)]),
        planned("sec.c", "security", "C", &[(Skill::Security, 1.0)]),
    ];
    plan
}

#[test]
fn a_failed_critical_check_caps_its_skills_only() {
    let outcome = |id: &str, status: Status, credit: f64| CheckOutcome {
        status,
        credit,
        ..pass(id, "security")
    };
    // (case, status of sec.sqli, credit, security score, databases score, summary says capped)
    let cases: &[(&str, Status, f64, f64, f64, bool)] = &[
        (
            "critical passes: no cap",
            Status::Pass,
            1.0,
            100.0,
            100.0,
            false,
        ),
        // 3 of 4 security checks pass = 75, capped at 60; databases is not capped.
        ("critical fails: capped", Status::Fail, 0.0, 60.0, 0.0, true),
        ("critical errs: capped", Status::Error, 0.0, 60.0, 0.0, true),
        // Skipped (a prerequisite failed) counts zero but does not cap.
        (
            "critical skipped: not capped",
            Status::Skipped,
            0.0,
            75.0,
            0.0,
            false,
        ),
    ];
    for &(name, status, credit, security, databases, capped) in cases {
        let card = grade_critical_plan(name, outcome("sec.sqli", status, credit));
        let sec = card.skill(Skill::Security).expect("security is scored");
        assert_eq!(sec.score, Some(security), "{name}: security");
        assert_eq!(
            sec.summary.contains("Capped at 60"),
            capped,
            "{name}: summary `{}`",
            sec.summary
        );
        let db = card.skill(Skill::Databases).expect("databases is scored");
        assert_eq!(db.score, Some(databases), "{name}: databases");
        if capped {
            assert!(
                !card.passed,
                "{name}: a failed critical check fails the verdict"
            );
        } else if status == Status::Pass {
            assert!(card.passed, "{name}: all passed, overall {}", card.overall);
        }
    }
}

#[test]
fn partial_credit_for_a_lesser_reading_is_never_a_critical_failure() {
    // (case, partial flag, credit, security score, capped, in critical_failures)
    let cases: &[(&str, bool, f64, f64, bool, bool)] = &[
        (
            "lesser reading: credit kept, no cap",
            true,
            0.5,
            87.5,
            false,
            false,
        ),
        ("plain graded failure: capped", false, 0.5, 60.0, true, true),
    ];
    for &(name, partial, credit, security, capped, listed) in cases {
        let sqli = CheckOutcome {
            status: Status::Fail,
            credit,
            partial,
            ..pass("sec.sqli", "security")
        };
        let card = grade_critical_plan(name, sqli);
        let sec = card.skill(Skill::Security).expect("security is scored");
        assert_eq!(sec.score, Some(security), "{name}: security");
        assert_eq!(sec.summary.contains("Capped at 60"), capped, "{name}");
        assert_eq!(
            card.critical_failures.contains(&"sec.sqli".to_owned()),
            listed,
            "{name}: critical_failures {:?}",
            card.critical_failures
        );
        let check = card
            .check("sec.sqli")
            .expect("the check is in the scorecard");
        assert_eq!(check.partial, partial, "{name}: partial is reported");
    }
}

/// Grades [`critical_plan`] with `sqli` as the critical check's outcome and the other
/// three security checks passing.
fn grade_critical_plan(name: &str, sqli: CheckOutcome) -> Scorecard {
    let outcomes = vec![
        sqli,
        pass("sec.a", "security"),
        pass("sec.b", "security"),
        pass("sec.c", "security"),
    ];
    grade(&results(outcomes, None), &critical_plan(), None)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn own_coverage_counts_the_weight_of_checks_where_the_skill_weighs_most() {
    let card = run(&input(all_pass())).expect("grades");
    let skill = |s: Skill| card.skill(s).expect("all ten skills");
    // Languages rides only on `api.list`, where API design weighs 2 against its 1.
    let languages = skill(Skill::Languages);
    assert_eq!(
        (
            languages.coverage,
            languages.own_weight,
            languages.own_coverage
        ),
        (1.0, 0.0, 0.0)
    );
    assert!(!languages.evidence[0].primary);
    let api = skill(Skill::ApiDesign);
    assert_eq!((api.own_weight, api.own_coverage), (2.0, 1.0));
    assert!(api.evidence[0].primary);
    // A tie (`db.persist`: databases 1, devops 1) is primary for both.
    let devops = skill(Skill::Devops);
    assert_eq!(
        (devops.coverage, devops.own_weight, devops.own_coverage),
        (2.0, 2.0, 1.0)
    );
    assert_eq!(skill(Skill::Databases).own_coverage, 1.0);
    // Not assessed: nothing of its own either.
    let comm = skill(Skill::Communication);
    assert_eq!((comm.own_weight, comm.own_coverage), (0.0, 0.0));
}

#[test]
fn own_coverage_is_a_share_rounded_to_three_decimals() {
    let plan = GradingPlan {
        checks: vec![
            planned("a", "s", "A", &[(Skill::Frameworks, 1.0)]),
            planned(
                "b",
                "s",
                "B",
                &[(Skill::Security, 2.0), (Skill::Frameworks, 1.0)],
            ),
            planned(
                "c",
                "s",
                "C",
                &[(Skill::ApiDesign, 1.5), (Skill::Frameworks, 0.5)],
            ),
        ],
        ..plan()
    };
    let outcomes = vec![pass("a", "s"), pass("b", "s"), pass("c", "s")];
    let card = grade(&results(outcomes, None), &plan, None).expect("grades");
    let fw = card.skill(Skill::Frameworks).expect("frameworks");
    assert_eq!(
        (fw.coverage, fw.own_weight, fw.own_coverage),
        (2.5, 1.0, 0.4)
    );
    let primary: Vec<bool> = fw.evidence.iter().map(|e| e.primary).collect();
    assert_eq!(primary, [true, false, false]);
}

/// A `not_assessed` check (nothing to judge, by a choice the contract allows) counts for no
/// skill: not a 0, no weight; a skill whose every check is not assessed is not assessed.
#[test]
fn not_assessed_checks_count_for_no_skill() {
    let outcomes = with(
        with(
            all_pass(),
            CheckOutcome::not_assessed("ops.health", "ops", "no test runner anywhere", Vec::new()),
        ),
        CheckOutcome::not_assessed("perf.load", "perf", "nothing to measure", Vec::new()),
    );
    let card = run(&input(outcomes)).expect("a scorecard");
    let devops = card.skill(Skill::Devops).expect("devops");
    assert_eq!(devops.score, Some(100.0), "only db.persist is judged");
    assert_eq!(devops.coverage, 1.0);
    assert_eq!((devops.checks_passed, devops.checks_total), (1, 1));
    assert_eq!(
        devops.evidence.len(),
        2,
        "the not-assessed check stays listed"
    );
    assert!(
        devops.summary.contains("Not assessed"),
        "{}",
        devops.summary
    );
    let perf = card.skill(Skill::Performance).expect("performance");
    assert_eq!(perf.score, None);
    assert_eq!(perf.coverage, 0.0);
    assert!(perf.summary.starts_with("Not assessed"), "{}", perf.summary);
    assert!(card.excluded_from_overall.contains(&Skill::Performance));
    assert_eq!(card.overall, 100.0);
    assert!(card.passed);
    let check = card.check("ops.health").expect("listed");
    assert_eq!((check.status, check.credit), (Status::NotAssessed, 0.0));
}
