//! Comparing submissions to one assessment: a ranking overall and per skill, as an aligned
//! plain-text table or CSV.

use std::cmp::Ordering;
use std::fmt::Write as _;

use assay_grader::Scorecard;
use assay_model::Skill;

use crate::ReportError;
use crate::escape::{csv_field, plain_line};
use crate::text;

/// Submissions to one assessment, ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub assessment_id: String,
    pub assessment_version: String,
    pub profile_id: String,
    /// Best overall first; equal scores share a rank (1, 2, 2, 4).
    pub rows: Vec<ComparisonRow>,
}

/// One submission in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// 1 for the best overall score.
    pub rank: usize,
    pub name: String,
    pub digest: String,
    pub overall: f64,
    pub passed: bool,
    /// One per skill, in `Skill::ALL` order.
    pub skills: Vec<SkillCell>,
}

/// One submission's score in one skill and its rank among the submissions assessed in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkillCell {
    pub skill: Skill,
    /// `None` when not assessed.
    pub score: Option<f64>,
    /// `None` when not assessed.
    pub rank: Option<usize>,
}

/// Ranks scorecards of one assessment (same id, version and profile) overall and per skill.
pub fn compare(cards: &[Scorecard]) -> Result<Comparison, ReportError> {
    let Some(first) = cards.first() else {
        return Err(ReportError::NothingToCompare);
    };
    for card in cards {
        let a = (&first.assessment.id, &first.assessment.version);
        let b = (&card.assessment.id, &card.assessment.version);
        if a != b {
            return Err(ReportError::MixedAssessments {
                first: format!("{} {}", a.0, a.1),
                other: format!("{} {}", b.0, b.1),
                submission: card.submission.name.clone(),
            });
        }
        if card.profile.id != first.profile.id {
            return Err(ReportError::MixedProfiles {
                first: first.profile.id.clone(),
                other: card.profile.id.clone(),
                submission: card.submission.name.clone(),
            });
        }
    }

    let mut order: Vec<&Scorecard> = cards.iter().collect();
    order.sort_by(|a, b| {
        b.overall
            .total_cmp(&a.overall)
            .then_with(|| a.submission.name.cmp(&b.submission.name))
            .then_with(|| a.submission.digest.cmp(&b.submission.digest))
    });
    let overall: Vec<f64> = order.iter().map(|c| c.overall).collect();
    let overall_ranks = competition_ranks(&overall.iter().map(|&s| Some(s)).collect::<Vec<_>>());

    let per_skill: Vec<Vec<Option<f64>>> = Skill::ALL
        .iter()
        .map(|&skill| {
            order
                .iter()
                .map(|c| c.skill(skill).and_then(|s| s.score))
                .collect()
        })
        .collect();
    let skill_ranks: Vec<Vec<Option<usize>>> = per_skill
        .iter()
        .map(|scores| competition_ranks(scores))
        .collect();

    let rows = order
        .iter()
        .enumerate()
        .map(|(i, card)| ComparisonRow {
            rank: overall_ranks[i].unwrap_or(i + 1),
            name: card.submission.name.clone(),
            digest: card.submission.digest.clone(),
            overall: card.overall,
            passed: card.passed,
            skills: Skill::ALL
                .iter()
                .enumerate()
                .map(|(k, &skill)| SkillCell {
                    skill,
                    score: per_skill[k][i],
                    rank: skill_ranks[k][i],
                })
                .collect(),
        })
        .collect();
    Ok(Comparison {
        assessment_id: first.assessment.id.clone(),
        assessment_version: first.assessment.version.clone(),
        profile_id: first.profile.id.clone(),
        rows,
    })
}

/// Standard competition ranks (1, 2, 2, 4) of the present scores, best (highest) first.
fn competition_ranks(scores: &[Option<f64>]) -> Vec<Option<usize>> {
    scores
        .iter()
        .map(|score| {
            score.map(|s| {
                1 + scores
                    .iter()
                    .flatten()
                    .filter(|other| other.total_cmp(&s) == Ordering::Greater)
                    .count()
            })
        })
        .collect()
}

impl Comparison {
    fn header(&self) -> Vec<String> {
        let mut header = vec![
            "rank".to_owned(),
            "submission".to_owned(),
            "overall".to_owned(),
            "result".to_owned(),
        ];
        header.extend(Skill::ALL.iter().map(|s| s.id().to_owned()));
        header
    }

    /// An aligned plain-text table: rank, submission, overall, result, then each skill's
    /// score with its rank in brackets (`n/a` when not assessed).
    pub fn render_table(&self) -> String {
        let mut rows = vec![self.header()];
        for row in &self.rows {
            let mut cells = vec![
                row.rank.to_string(),
                plain_line(&row.name),
                text::score(row.overall),
                if row.passed { "pass" } else { "fail" }.to_owned(),
            ];
            cells.extend(row.skills.iter().map(|cell| match (cell.score, cell.rank) {
                (Some(score), Some(rank)) => format!("{} ({rank})", text::score(score)),
                _ => "n/a".to_owned(),
            }));
            rows.push(cells);
        }
        let columns = rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, row) in rows.iter().enumerate() {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let pad = widths[c].saturating_sub(cell.chars().count());
                // Text columns align left, numbers right.
                if c == 1 || c == 3 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                let _ = writeln!(out, "{}", rule.join("  "));
            }
        }
        out
    }

    /// CSV (RFC 4180, CRLF-free): one row per submission with its rank, digest, overall,
    /// verdict, and each skill's score and rank (empty when not assessed).
    pub fn render_csv(&self) -> String {
        let mut header = vec!["rank", "submission", "digest", "overall", "passed"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        for skill in Skill::ALL {
            header.push(skill.id().to_owned());
            header.push(format!("{}_rank", skill.id()));
        }
        let mut out = header.join(",");
        out.push('\n');
        for row in &self.rows {
            let mut cells = vec![
                row.rank.to_string(),
                csv_field(&row.name),
                csv_field(&row.digest),
                text::score(row.overall),
                row.passed.to_string(),
            ];
            for cell in &row.skills {
                cells.push(cell.score.map(text::score).unwrap_or_default());
                cells.push(cell.rank.map(|r| r.to_string()).unwrap_or_default());
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_a_rank_and_the_next_is_skipped() {
        let ranks = competition_ranks(&[Some(90.0), Some(80.0), Some(80.0), None, Some(10.0)]);
        assert_eq!(ranks, vec![Some(1), Some(2), Some(2), None, Some(4)]);
    }
}
