//! The batch's summaries: the leaderboard (`summary.md`, `summary.csv`) and the per-check
//! cohort statistics (`checks.csv`, and a section of `summary.md`) that flag checks nobody
//! or everybody passes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use assay_grader::Scorecard;
use assay_model::{Skill, Status};
use assay_report::{Comparison, csv_field, escape_markdown};
use serde::Serialize;

use crate::{Entry, Outcome};

/// Why a check deserves a second look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortFlag {
    /// No submission passed it: the check (or the brief) may be broken.
    NobodyPasses,
    /// Every submission passed it: it may not tell candidates apart.
    EverybodyPasses,
}

impl CohortFlag {
    pub fn describe(self) -> &'static str {
        match self {
            CohortFlag::NobodyPasses => "nobody passes: a broken test, or an unclear brief?",
            CohortFlag::EverybodyPasses => "everybody passes: does it tell candidates apart?",
        }
    }
}

/// One check across the graded submissions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckCohort {
    pub suite: String,
    pub id: String,
    pub title: String,
    pub passed: usize,
    pub failed: usize,
    /// The check could not judge (e.g. the service stopped answering).
    pub errors: usize,
    /// Not run: a prerequisite failed (e.g. the submission did not build).
    pub skipped: usize,
    /// Mean credit over the submissions where it judged (pass or fail), 0–1.
    pub mean_credit: f64,
    pub flag: Option<CohortFlag>,
}

impl CheckCohort {
    /// Submissions where the check judged: passed + failed.
    pub fn judged(&self) -> usize {
        self.passed + self.failed
    }

    /// `passed / judged`, `None` when it judged none.
    pub fn pass_rate(&self) -> Option<f64> {
        let judged = self.judged();
        (judged > 0).then(|| self.passed as f64 / judged as f64)
    }
}

/// Pass rates per check across `cards`, in the assessment's order. A check is flagged when it
/// judged at least two submissions and passed none, or all of them; submissions where it was
/// skipped or errored (did not build, crashed) do not count towards either.
pub fn cohort(cards: &[Scorecard]) -> Vec<CheckCohort> {
    tally(cards.iter().flat_map(|card| {
        card.checks.iter().map(|c| CheckLine {
            suite: &c.suite,
            id: &c.id,
            title: &c.title,
            status: c.status,
            credit: c.credit,
        })
    }))
}

/// One check of one scorecard, as the cohort statistics need it.
#[derive(Debug, Clone, Copy)]
struct CheckLine<'a> {
    suite: &'a str,
    id: &'a str,
    title: &'a str,
    status: Status,
    credit: f64,
}

fn tally<'a>(lines: impl IntoIterator<Item = CheckLine<'a>>) -> Vec<CheckCohort> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut by_key: BTreeMap<(String, String), (CheckCohort, f64)> = BTreeMap::new();
    for c in lines {
        let key = (c.suite.to_owned(), c.id.to_owned());
        let (slot, credit) = by_key.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (
                CheckCohort {
                    suite: c.suite.to_owned(),
                    id: c.id.to_owned(),
                    title: c.title.to_owned(),
                    passed: 0,
                    failed: 0,
                    errors: 0,
                    skipped: 0,
                    mean_credit: 0.0,
                    flag: None,
                },
                0.0,
            )
        });
        match c.status {
            Status::Pass => slot.passed += 1,
            Status::Fail => slot.failed += 1,
            Status::Error => slot.errors += 1,
            // Nothing to judge counts as not judged, like a skip.
            Status::Skipped | Status::NotAssessed => slot.skipped += 1,
        }
        if matches!(c.status, Status::Pass | Status::Fail) {
            *credit += c.credit;
        }
    }
    order
        .into_iter()
        .filter_map(|key| by_key.remove(&key))
        .map(|(mut c, credit)| {
            let judged = c.judged();
            if judged > 0 {
                c.mean_credit = credit / judged as f64;
            }
            c.flag = if judged < 2 {
                None
            } else if c.passed == 0 {
                Some(CohortFlag::NobodyPasses)
            } else if c.passed == judged {
                Some(CohortFlag::EverybodyPasses)
            } else {
                None
            };
            c
        })
        .collect()
}

/// What the summaries say about the batch as a whole.
#[derive(Debug)]
pub struct Heading<'a> {
    pub assessment: &'a str,
    pub version: &'a str,
    pub seed: u64,
    pub profile: &'a str,
    pub shard: Option<(usize, usize)>,
}

/// `summary.csv`: every submission, graded ones ranked first (rank, name, overall, passed,
/// the ten skills), then digest, folder, outcome and the error of those not graded.
pub fn leaderboard_csv(entries: &[Entry], ranking: Option<&Comparison>) -> String {
    let mut header = vec!["rank", "name", "overall", "passed"];
    header.extend(Skill::ALL.iter().map(|s| s.id()));
    header.extend(["digest", "folder", "outcome", "error"]);
    let mut out = header.join(",");
    out.push('\n');
    for (entry, row) in ordered(entries, ranking) {
        let mut cells: Vec<String> = Vec::new();
        match row {
            Some(r) => {
                cells.push(r.rank.to_string());
                cells.push(csv_field(&entry.name));
                cells.push(format!("{:.1}", r.overall));
                cells.push(r.passed.to_string());
                cells.extend(
                    r.skills
                        .iter()
                        .map(|s| s.score.map(|v| format!("{v:.1}")).unwrap_or_default()),
                );
            }
            None => {
                cells.push(String::new());
                cells.push(csv_field(&entry.name));
                cells.extend(std::iter::repeat_n(String::new(), 2 + Skill::ALL.len()));
            }
        }
        cells.push(csv_field(entry.digest.as_deref().unwrap_or("")));
        let folder = entry
            .folder
            .as_deref()
            .filter(|_| entry.outcome.is_graded());
        cells.push(csv_field(folder.unwrap_or("")));
        cells.push(entry.outcome.kind().to_owned());
        cells.push(csv_field(entry.outcome.reason().unwrap_or("")));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// The entries in leaderboard order: graded by rank, then the rest in summary order.
fn ordered<'a>(
    entries: &'a [Entry],
    ranking: Option<&'a Comparison>,
) -> Vec<(&'a Entry, Option<&'a assay_report::ComparisonRow>)> {
    let mut rows: Vec<(&Entry, Option<&assay_report::ComparisonRow>)> = Vec::new();
    let mut used = vec![false; entries.len()];
    if let Some(ranking) = ranking {
        for row in &ranking.rows {
            let found = entries.iter().enumerate().find(|(i, e)| {
                !used[*i] && e.outcome.is_graded() && e.digest.as_deref() == Some(&row.digest)
            });
            if let Some((i, e)) = found {
                used[i] = true;
                rows.push((e, Some(row)));
            }
        }
    }
    for (i, e) in entries.iter().enumerate() {
        if !used[i] {
            rows.push((e, None));
        }
    }
    rows
}

/// `checks.csv`: one row per check with its cohort statistics and flag.
pub fn checks_csv(cohort: &[CheckCohort]) -> String {
    let mut out =
        String::from("suite,check,title,passed,failed,errors,skipped,pass_rate,mean_credit,flag\n");
    for c in cohort {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{:.3},{}",
            csv_field(&c.suite),
            csv_field(&c.id),
            csv_field(&c.title),
            c.passed,
            c.failed,
            c.errors,
            c.skipped,
            c.pass_rate().map(|r| format!("{r:.3}")).unwrap_or_default(),
            c.mean_credit,
            c.flag
                .map(|f| match f {
                    CohortFlag::NobodyPasses => "nobody_passes",
                    CohortFlag::EverybodyPasses => "everybody_passes",
                })
                .unwrap_or("")
        );
    }
    out
}

/// `summary.md`: the leaderboard, the submissions not graded and why, and the checks.
pub fn summary_md(
    heading: &Heading<'_>,
    entries: &[Entry],
    ranking: Option<&Comparison>,
    cohort: &[CheckCohort],
) -> String {
    let count = |f: fn(&Outcome) -> bool| entries.iter().filter(|e| f(&e.outcome)).count();
    let graded = count(|o| matches!(o, Outcome::Graded { .. }));
    let resumed = count(|o| matches!(o, Outcome::Resumed { .. }));
    let refused = count(|o| matches!(o, Outcome::Refused { .. }));
    let failed = count(|o| matches!(o, Outcome::Infrastructure { .. }));
    let interrupted = count(|o| matches!(o, Outcome::Interrupted));

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Batch summary: {} {}\n",
        escape_markdown(heading.assessment),
        escape_markdown(heading.version)
    );
    let shard = heading
        .shard
        .map(|(k, n)| format!(" · shard {k}/{n}"))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Seed {} · profile {}{shard} · {} submission(s): {graded} graded now, {resumed} already \
         graded, {refused} refused, {failed} not graded (infrastructure), {interrupted} \
         interrupted.\n",
        heading.seed,
        escape_markdown(heading.profile),
        entries.len()
    );

    md.push_str("## Leaderboard\n\n");
    if ranking.is_none() {
        md.push_str("(no submission was graded)\n");
    }
    let mut header = vec!["rank", "submission", "overall", "result"];
    header.extend(Skill::ALL.iter().map(|s| s.title()));
    if ranking.is_some() {
        let _ = writeln!(md, "| {} |", header.join(" | "));
        let _ = writeln!(md, "|{}", " --- |".repeat(header.len()));
    }
    let ranked = ordered(entries, ranking);
    for (entry, row) in ranked.iter().filter(|(_, r)| r.is_some()) {
        let Some(r) = row else { continue };
        let mut cells = vec![
            r.rank.to_string(),
            format!(
                "{} (`{}`)",
                escape_markdown(&entry.name),
                escape_markdown(entry.folder.as_deref().unwrap_or(""))
            ),
            format!("{:.1}", r.overall),
            if r.passed { "pass" } else { "fail" }.to_owned(),
        ];
        cells.extend(r.skills.iter().map(|s| match s.score {
            Some(v) => format!("{v:.1}"),
            None => "n/a".to_owned(),
        }));
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }

    let troubled: Vec<&Entry> = entries.iter().filter(|e| !e.outcome.is_graded()).collect();
    if !troubled.is_empty() {
        md.push_str("\n## Not graded\n\n");
        for e in troubled {
            let _ = writeln!(
                md,
                "- {} (`{}`): {}: {}",
                escape_markdown(&e.name),
                escape_markdown(&e.path.display().to_string()),
                e.outcome.kind(),
                escape_markdown(
                    e.outcome
                        .reason()
                        .unwrap_or("stopped before it finished; run the batch again to resume")
                )
            );
        }
    }

    md.push_str("\n## Checks across the cohort\n\n");
    let flagged: Vec<&CheckCohort> = cohort.iter().filter(|c| c.flag.is_some()).collect();
    if flagged.is_empty() {
        md.push_str("No check is passed by nobody or by everybody.\n\n");
    } else {
        md.push_str("Worth a second look:\n\n");
        for c in &flagged {
            let _ = writeln!(
                md,
                "- `{}/{}`: {}",
                escape_markdown(&c.suite),
                escape_markdown(&c.id),
                c.flag.map(CohortFlag::describe).unwrap_or("")
            );
        }
        md.push('\n');
    }
    md.push_str("| suite | check | passed | pass rate | errors | skipped | flag |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for c in cohort {
        let _ = writeln!(
            md,
            "| {} | {} | {}/{} | {} | {} | {} | {} |",
            escape_markdown(&c.suite),
            escape_markdown(&c.id),
            c.passed,
            c.judged(),
            c.pass_rate()
                .map(|r| format!("{:.0} %", r * 100.0))
                .unwrap_or_else(|| "n/a".into()),
            c.errors,
            c.skipped,
            c.flag
                .map(|f| match f {
                    CohortFlag::NobodyPasses => "nobody passes",
                    CohortFlag::EverybodyPasses => "everybody passes",
                })
                .unwrap_or("")
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &'static str, status: Status) -> CheckLine<'static> {
        CheckLine {
            suite: "s",
            id,
            title: id,
            status,
            credit: if status == Status::Pass { 1.0 } else { 0.0 },
        }
    }

    #[test]
    fn checks_nobody_or_everybody_passes_are_flagged() {
        use Status::*;
        // Three submissions; the third did not build, so its service checks were skipped.
        let cohort = tally([
            line("easy", Pass),
            line("hard", Fail),
            line("split", Pass),
            line("lonely", Pass),
            line("easy", Pass),
            line("hard", Error),
            line("split", Fail),
            line("lonely", Skipped),
            line("easy", Skipped),
            line("hard", Fail),
            line("split", Skipped),
            line("lonely", Skipped),
        ]);
        let flags: Vec<(&str, Option<CohortFlag>, usize, usize)> = cohort
            .iter()
            .map(|c| (c.id.as_str(), c.flag, c.passed, c.judged()))
            .collect();
        assert_eq!(
            flags,
            [
                ("easy", Some(CohortFlag::EverybodyPasses), 2, 2),
                ("hard", Some(CohortFlag::NobodyPasses), 0, 2),
                ("split", None, 1, 2),
                ("lonely", None, 1, 1),
            ],
            "the assessment's order, skips and errors not judged, one judgement flags nothing"
        );
        assert_eq!(cohort[1].errors, 1);
        assert_eq!(cohort[2].pass_rate(), Some(0.5));
        assert!((cohort[2].mean_credit - 0.5).abs() < 1e-9);
    }
}
