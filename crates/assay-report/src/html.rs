//! `report.html`: one self-contained page a hiring manager can forward. No scripts, no
//! external requests (a strict CSP forbids both), inline CSS and SVG only, and every piece
//! of candidate-controlled text HTML-escaped.

use std::fmt::Write as _;

use assay_grader::{CheckResult, Scorecard, SkillScore};
use assay_model::{Status, Visibility, truncate_text};

use crate::escape::html as esc;
use crate::radar;
use crate::text;

/// The Content-Security-Policy the page carries: nothing may load or run.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Bytes of evidence shown per piece, and per check.
const EVIDENCE_PIECE: usize = 4 * 1024;
const EVIDENCE_CHECK: usize = 12 * 1024;
/// Bytes of evidence shown in the whole page; past it, checks point to scorecard.json.
const EVIDENCE_PAGE: usize = 2 * 1024 * 1024;
/// Lines and bytes of each log shown.
const LOG_LINES: usize = 200;
const LOG_BYTES: usize = 16 * 1024;
/// Bytes of a check's title or message shown.
const LINE: usize = 1000;

const STYLE: &str = r#"
:root{--bg:#f3f5f8;--card:#fff;--ink:#1b2430;--muted:#5b6675;--line:#e2e6ec;--accent:#3451b2;
--pass:#1a7f37;--pass-bg:#e6f6ea;--fail:#c62a2f;--fail-bg:#fdecec;--error:#9a5b00;--error-bg:#fff4d6;
--skip:#5b6675;--skip-bg:#eef1f5;--warn:#b35c00;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif}
.page{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
h1,h2,h3{line-height:1.25;margin:0}
h2{font-size:17px;font-weight:650;margin-bottom:14px;letter-spacing:-.01em}
h3{font-size:15px;font-weight:650}
code,pre,.mono{font-family:var(--mono);font-size:12.5px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 22px;margin-top:18px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.hero{display:flex;gap:28px;align-items:center;justify-content:space-between;background:linear-gradient(135deg,#16213a,#23365f);color:#fff;border-radius:14px;padding:26px 30px;box-shadow:0 6px 20px rgba(16,24,40,.18)}
.hero .eyebrow{font-size:12px;letter-spacing:.12em;text-transform:uppercase;color:#aab8d6;font-weight:600}
.hero h1{font-size:26px;font-weight:700;margin:6px 0 4px;letter-spacing:-.01em}
.hero .sub{color:#d5def0;font-size:14px;overflow-wrap:anywhere}
.hero .sub strong{color:#fff}
.facts{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.fact{background:rgba(255,255,255,.1);border:1px solid rgba(255,255,255,.16);border-radius:999px;padding:3px 11px;font-size:12.5px;color:#e8eefb}
.fact b{color:#fff;font-weight:600}
.score{display:flex;flex-direction:column;align-items:center;gap:10px;flex:none}
.gauge{width:150px;height:150px}
.gauge .track{fill:none;stroke:rgba(255,255,255,.14);stroke-width:12}
.gauge .value{fill:none;stroke-width:12;stroke-linecap:round}
.gauge .value.passed{stroke:#4ade80}.gauge .value.failed{stroke:#f87171}
.gauge .tick{stroke:#fff;stroke-width:3}
.gauge .num{fill:#fff;font-size:34px;font-weight:700}
.gauge .of{fill:#aab8d6;font-size:12px}
.verdict{font-weight:800;letter-spacing:.14em;font-size:14px;padding:6px 18px;border-radius:999px}
.verdict.passed{background:#dcfce7;color:#14532d}.verdict.failed{background:#fee2e2;color:#7f1d1d}
.alert{margin-top:18px;border-radius:12px;padding:14px 18px;background:var(--error-bg);border:1px solid #f1d48a;color:#5c3b00}
.alert strong{display:block;margin-bottom:2px}
.note{color:var(--muted);font-size:13.5px;margin:10px 0 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid.skills-overview{grid-template-columns:1.2fr 1fr}
.radar-card{display:flex;flex-direction:column}
.radar-card .radar{margin:auto 0}
.grid>.card{margin-top:18px}
.radar{width:100%;height:auto;display:block}
.legend{display:flex;gap:18px;justify-content:center;color:var(--muted);font-size:12.5px;margin-top:6px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.key{display:inline-block;width:10px;height:10px;border-radius:50%}
.key.score{background:var(--accent)}.key.na{border:1.5px solid #a0a8b5;background:#fff}
.radar .ring{fill:none;stroke:#dfe4ec;stroke-width:1}
.radar .ring-label{fill:#98a2b3;font-size:11px}
.radar .axis{stroke:#cfd6e2;stroke-width:1}
.radar .axis.na{stroke:#c3c9d3;stroke-dasharray:3 4}
.radar .area{fill:rgba(52,81,178,.18);stroke:var(--accent);stroke-width:2.2;stroke-linejoin:round}
.radar .dot{fill:var(--accent);stroke:#fff;stroke-width:1.5}
.radar .dot.na{fill:#fff;stroke:#a0a8b5;stroke-width:1.5}
.radar .label{fill:var(--ink);font-size:15px;font-weight:600}
.radar .label-score{fill:var(--accent);font-weight:700}
.radar .label.na{fill:#98a2b3;font-weight:500;font-style:italic}
.radar .label.na .label-score{fill:#98a2b3;font-weight:500}
table{width:100%;border-collapse:collapse;font-size:13.5px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em;border-bottom:1px solid var(--line);padding:7px 8px}
td{border-bottom:1px solid #eef1f4;padding:8px;vertical-align:top;overflow-wrap:anywhere}
tr:last-child td{border-bottom:none}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.bar{height:8px;border-radius:99px;background:#edf0f4;overflow:hidden;min-width:90px;margin-top:7px}
.bar span{display:block;height:100%;border-radius:99px}
.good{color:var(--pass)}.warn{color:var(--warn)}.bad{color:var(--fail)}.na-text{color:#98a2b3;font-style:italic}
.bar .good{background:#2da44e}.bar .warn{background:#d4a72c}.bar .bad{background:#e5534b}
.pill{display:inline-block;font-size:11.5px;font-weight:700;letter-spacing:.04em;text-transform:uppercase;border-radius:999px;padding:2px 9px;white-space:nowrap}
.pill.pass{background:var(--pass-bg);color:var(--pass)}.pill.fail{background:var(--fail-bg);color:var(--fail)}
.pill.error{background:var(--error-bg);color:var(--error)}.pill.skipped,.pill.not_assessed{background:var(--skip-bg);color:var(--skip)}
.pill.partial{background:#fff4d6;color:#7a5a00}
.check{border:1px solid var(--line);border-left:4px solid var(--skip);border-radius:10px;padding:14px 16px;margin-top:12px;break-inside:avoid}
.check.fail{border-left-color:var(--fail)}.check.error{border-left-color:#d4a72c}.check.pass{border-left-color:#d4a72c}.check.partial{border-left-color:#d4a72c}
.check-head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.check-head h3{flex:1;min-width:200px;overflow-wrap:anywhere}
.credit{font-size:12.5px;color:var(--muted);white-space:nowrap}
.meta{color:var(--muted);font-size:12.5px;margin-top:4px;overflow-wrap:anywhere}
.msg{margin:8px 0 0;overflow-wrap:anywhere}
.ev{margin:10px 0 0}
.ev-kind{font-size:11px;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;margin-bottom:4px}
pre{margin:0;background:#f6f8fa;border:1px solid #e6e9ee;border-radius:8px;padding:10px 12px;white-space:pre-wrap;overflow-wrap:anywhere;max-height:320px;overflow:auto;color:#24292f}
pre.log{background:#0f1726;color:#d8e1f0;border-color:#0f1726;max-height:360px}
.skills{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.skill{border:1px solid var(--line);border-radius:10px;padding:14px 16px;break-inside:avoid}
.skill-head{display:flex;justify-content:space-between;align-items:baseline;gap:10px}
.skill-score{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums}
.skill p{margin:6px 0 10px;color:#3d4756;font-size:13.5px}
.skill table{font-size:12.5px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:7px 18px;margin:0;font-size:13.5px}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;overflow-wrap:anywhere}
.yes{color:var(--pass);font-weight:600}.no{color:var(--fail);font-weight:600}
.empty{color:var(--muted);font-style:italic;margin:0}
details summary{cursor:pointer;color:var(--accent);font-size:12.5px;margin-top:4px}
h3.log-title{font-size:13px;color:var(--muted);margin:14px 0 6px;text-transform:uppercase;letter-spacing:.06em}
footer{margin-top:26px;color:var(--muted);font-size:12px;text-align:center}
@media screen and (max-width:820px){.grid,.grid.skills-overview,.skills{grid-template-columns:1fr}.hero{flex-direction:column;align-items:flex-start}}
@media print{
  @page{margin:14mm}
  body{background:#fff;font-size:12px}
  .page{max-width:none;padding:0}
  .card,.hero{box-shadow:none}
  .hero,.verdict,.pill,.bar span,pre.log{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .card{break-inside:auto;border-color:#ccd}
  pre{max-height:none;overflow:visible}
  details:not([open]){display:none}
  .grid>.card,.skill,.check{break-inside:avoid}
  .hero{padding:18px 22px}
  .gauge{width:120px;height:120px}
  .grid.skills-overview{grid-template-columns:1fr}
  .radar-card .radar{max-width:460px;margin:0 auto}
  h2{break-after:avoid}
}
"#;

/// Renders the HTML report.
pub fn render(card: &Scorecard) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let verdict = if card.passed { "passed" } else { "failed" };
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="assay">
<title>{} — {} — assay report</title>
<style>{STYLE}</style>
</head>
<body>
<main class="page">
"#,
        esc(&card.submission.name),
        esc(&card.assessment.title),
    );
    hero(&mut out, card, verdict);
    if let Some(problem) = text::sandbox_problem(card.sandbox.failure.as_ref()) {
        let _ = write!(
            out,
            r#"<div class="alert" role="alert"><strong>The submission could not be fully exercised</strong>{} Checks that depended on it were skipped and count as zero.</div>"#,
            esc(&problem)
        );
    }
    if let Some(problem) = text::critical_problem(card) {
        let _ = write!(
            out,
            r#"<div class="alert" role="alert"><strong>A critical check failed</strong>{}</div>"#,
            esc(&problem)
        );
    }
    if let Some(note) = text::similarity_note(card) {
        let _ = write!(
            out,
            r#"<div class="alert" role="note"><strong>Similarity</strong>{}</div>"#,
            esc(&note)
        );
    }
    skills_overview(&mut out, card);
    let mut page_budget = EVIDENCE_PAGE;
    attention(&mut out, card, &mut page_budget);
    not_assessed(&mut out, card);
    skill_details(&mut out, card);
    passed_checks(&mut out, card, &mut page_budget);
    facts(&mut out, card);
    logs(&mut out, card);
    let _ = write!(
        out,
        r#"<footer>Generated by assay {} · scorecard schema v{} · {} {} · submission {}</footer>
</main>
</body>
</html>
"#,
        esc(&card.runner.version),
        card.schema_version,
        esc(&card.assessment.id),
        esc(&card.assessment.version),
        esc(&card.submission.digest),
    );
    out
}

fn hero(out: &mut String, card: &Scorecard, verdict: &str) {
    let circumference = 2.0 * std::f64::consts::PI * 60.0;
    let filled = circumference * (card.overall / 100.0).clamp(0.0, 1.0);
    let tick = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * (card.pass_mark / 100.0);
    let (tx1, ty1) = (75.0 + 52.0 * tick.cos(), 75.0 + 52.0 * tick.sin());
    let (tx2, ty2) = (75.0 + 68.0 * tick.cos(), 75.0 + 68.0 * tick.sin());
    let passed = card.count(Status::Pass);
    let _ = write!(
        out,
        r#"<header class="hero">
<div>
<div class="eyebrow">Assessment report</div>
<h1>{title}</h1>
<div class="sub">Submission <strong>{name}</strong> · {id} v{version}</div>
<div class="facts">
<span class="fact">Profile <b>{profile}</b></span>
<span class="fact">Pass mark <b>{pass_mark}</b></span>
<span class="fact"><b>{passed}</b> of <b>{total}</b> checks passed</span>
<span class="fact">Run <b>{started}</b></span>
</div>
</div>
<div class="score">
<svg class="gauge" viewBox="0 0 150 150" role="img" aria-label="Overall score {overall} out of 100, pass mark {pass_mark}" xmlns="http://www.w3.org/2000/svg">
<circle class="track" cx="75" cy="75" r="60"/>
<circle class="value {verdict}" cx="75" cy="75" r="60" stroke-dasharray="{filled:.2} {circumference:.2}" transform="rotate(-90 75 75)"/>
<line class="tick" x1="{tx1:.1}" y1="{ty1:.1}" x2="{tx2:.1}" y2="{ty2:.1}"><title>pass mark {pass_mark}</title></line>
<text class="num" x="75" y="82" text-anchor="middle" id="overall-score">{overall}</text>
<text class="of" x="75" y="102" text-anchor="middle">out of 100</text>
</svg>
<div class="verdict {verdict}" id="verdict">{verdict_text}</div>
</div>
</header>
"#,
        title = esc(&card.assessment.title),
        name = esc(&card.submission.name),
        id = esc(&card.assessment.id),
        version = esc(&card.assessment.version),
        profile = esc(&card.profile.title),
        pass_mark = text::score(card.pass_mark),
        total = card.checks.len(),
        started = esc(&card.started_at),
        overall = text::score(card.overall),
        verdict_text = verdict.to_uppercase(),
    );
}

/// A title or message, capped at [`LINE`] bytes.
fn clip(text: &str) -> String {
    truncate_text(text, LINE).0
}

/// "good" at or above the pass mark, "warn" within 20 points below it, "bad" further down.
fn tone(score: f64, pass_mark: f64) -> &'static str {
    if score >= pass_mark {
        "good"
    } else if score >= pass_mark - 20.0 {
        "warn"
    } else {
        "bad"
    }
}

fn skills_overview(out: &mut String, card: &Scorecard) {
    out.push_str(r#"<section class="grid skills-overview" id="skills">"#);
    out.push_str(r#"<div class="card radar-card"><h2>Skill profile</h2>"#);
    out.push_str(&radar::svg(&card.skills));
    out.push_str(r#"<div class="legend"><span><i class="key score"></i>score, 0–100</span><span><i class="key na"></i>not assessed</span></div>"#);
    if !card.excluded_from_overall.is_empty() {
        let names: Vec<&str> = card
            .excluded_from_overall
            .iter()
            .map(|s| s.title())
            .collect();
        let _ = write!(
            out,
            r#"<p class="note">Not assessed by this assessment and left out of the overall ({}); the profile's weights were renormalised over the assessed skills.</p>"#,
            esc(&names.join(", "))
        );
    }
    out.push_str("</div>");
    out.push_str(
        r#"<div class="card"><h2>Scores by skill</h2><table><thead><tr><th>Skill</th><th class="num">Score</th><th class="num">Checks</th><th class="num" title="Share of the skill's check weight from checks where it weighs most">Own</th><th class="num">Weight</th></tr></thead><tbody>"#,
    );
    for skill in &card.skills {
        match skill.score {
            Some(score) => {
                let t = tone(score, card.pass_mark);
                let _ = write!(
                    out,
                    r#"<tr class="skill-row" data-skill="{id}"><td>{title}<div class="bar"><span class="{t}" style="width:{width:.1}%"></span></div></td><td class="num {t}"><b>{score}</b></td><td class="num">{passed}/{total}</td><td class="num">{own}</td><td class="num">{weight}</td></tr>"#,
                    id = skill.id.id(),
                    title = esc(&skill.title),
                    width = score.clamp(0.0, 100.0),
                    score = text::score(score),
                    passed = skill.checks_passed,
                    total = skill.checks_total,
                    own = text::own_share(skill),
                    weight = text::number(skill.profile_weight),
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<tr class="skill-row" data-skill="{id}"><td>{title}<div class="bar"></div></td><td class="num na-text">not assessed</td><td class="num">—</td><td class="num">—</td><td class="num">{weight}</td></tr>"#,
                    id = skill.id.id(),
                    title = esc(&skill.title),
                    weight = text::number(skill.profile_weight),
                );
            }
        }
    }
    out.push_str("</tbody></table></div></section>");
}

fn pill(status: Status) -> String {
    format!(
        r#"<span class="pill {}">{}</span>"#,
        status.as_str(),
        status.as_str().replace('_', " ")
    )
}

/// A lesser reading that earned partial credit is no failure to the reader: "partial".
fn check_pill(check: &CheckResult) -> String {
    if check.partial {
        r#"<span class="pill partial">partial</span>"#.to_owned()
    } else {
        pill(check.status)
    }
}

fn check_class(check: &CheckResult) -> &'static str {
    if check.partial {
        "partial"
    } else {
        check.status.as_str()
    }
}

fn skill_titles(check: &CheckResult) -> String {
    check
        .skills
        .iter()
        .map(|s| s.title())
        .collect::<Vec<_>>()
        .join(", ")
}

fn attention(out: &mut String, card: &Scorecard, page_budget: &mut usize) {
    let mut checks: Vec<&CheckResult> = card
        .checks
        .iter()
        .filter(|c| c.status != Status::NotAssessed)
        .filter(|c| c.status != Status::Pass || c.credit < 1.0)
        .collect();
    checks.sort_by_key(|c| match c.status {
        Status::Fail if !c.partial => 0,
        Status::Fail | Status::Pass => 1,
        Status::Error => 2,
        Status::Skipped | Status::NotAssessed => 3,
    });
    let _ = write!(
        out,
        r#"<section class="card" id="attention"><h2>Checks needing attention ({})</h2>"#,
        checks.len()
    );
    if checks.is_empty() {
        out.push_str(r#"<p class="empty">Every check passed in full.</p>"#);
    }
    for check in checks {
        let _ = write!(
            out,
            r#"<article class="check {status}"><div class="check-head">{pill}<h3>{title}</h3><span class="credit">credit {credit}</span></div><div class="meta"><code>{id}</code> · suite {suite} · {skills} · {visibility} · {duration} ms</div><p class="msg">{message}</p>"#,
            status = check_class(check),
            pill = check_pill(check),
            title = esc(&clip(&check.title)),
            credit = text::number(check.credit),
            id = esc(&check.id),
            suite = esc(&check.suite),
            skills = esc(&skill_titles(check)),
            visibility = match check.visibility {
                Visibility::Visible => "visible to candidates",
                Visibility::Hidden => "hidden",
            },
            duration = check.duration_ms,
            message = esc(&clip(&check.message)),
        );
        evidence(out, check, page_budget);
        out.push_str("</article>");
    }
    out.push_str("</section>");
}

/// The check's evidence, within its own budget and what is left of the page's.
fn evidence(out: &mut String, check: &CheckResult, page_budget: &mut usize) {
    let mut budget = EVIDENCE_CHECK.min(*page_budget);
    for piece in &check.evidence {
        if budget == 0 {
            out.push_str(r#"<p class="note">More evidence in scorecard.json.</p>"#);
            break;
        }
        let body = text::evidence(piece, EVIDENCE_PIECE.min(budget));
        budget = budget.saturating_sub(body.len());
        *page_budget = page_budget.saturating_sub(body.len());
        let _ = write!(
            out,
            r#"<div class="ev"><div class="ev-kind">{}</div><pre>{}</pre></div>"#,
            text::kind(piece),
            esc(&body)
        );
    }
}

fn skill_details(out: &mut String, card: &Scorecard) {
    out.push_str(
        r#"<section class="card" id="skill-details"><h2>Skills in detail</h2><div class="skills">"#,
    );
    for skill in &card.skills {
        skill_card(out, card, skill);
    }
    out.push_str("</div></section>");
}

fn skill_card(out: &mut String, card: &Scorecard, skill: &SkillScore) {
    let score = match skill.score {
        Some(s) => format!(
            r#"<span class="skill-score {}">{}</span>"#,
            tone(s, card.pass_mark),
            text::score(s)
        ),
        None => r#"<span class="na-text">not assessed</span>"#.to_owned(),
    };
    let _ = write!(
        out,
        r#"<div class="skill" id="skill-{id}"><div class="skill-head"><h3>{title}</h3>{score}</div><p>{summary}</p>"#,
        id = skill.id.id(),
        title = esc(&skill.title),
        summary = esc(&skill.summary),
    );
    if skill.assessed() {
        let _ = write!(
            out,
            r#"<p class="note">{}; the rest is secondary weight on checks of other skills.</p>"#,
            esc(&text::own_evidence(skill))
        );
    }
    if !skill.evidence.is_empty() {
        out.push_str(r#"<table><thead><tr><th>Check</th><th>Status</th><th class="num">Credit</th><th class="num">Weight</th><th>Role</th></tr></thead><tbody>"#);
        for e in &skill.evidence {
            let check = card.check(&e.check);
            let title = check.map_or(e.check.as_str(), |c| c.title.as_str());
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                esc(&clip(title)),
                check.map_or_else(|| pill(e.status), check_pill),
                text::number(e.credit),
                text::number(e.weight),
                if e.primary { "own" } else { "secondary" }
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div>");
}

/// Checks with nothing to judge (a choice the contract allows): listed with the reason,
/// counted for no skill. Nothing is written when there are none.
fn not_assessed(out: &mut String, card: &Scorecard) {
    let checks: Vec<&CheckResult> = card
        .checks
        .iter()
        .filter(|c| c.status == Status::NotAssessed)
        .collect();
    if checks.is_empty() {
        return;
    }
    let _ = write!(
        out,
        r#"<section class="card" id="not-assessed"><h2>Not assessed ({})</h2><p class="note">Nothing to judge, by a choice the contract allows: these checks count for no skill.</p><table><thead><tr><th>Check</th><th>Skills</th><th>Why</th></tr></thead><tbody>"#,
        checks.len()
    );
    for c in checks {
        let _ = write!(
            out,
            r#"<tr><td>{}<div class="meta"><code>{}</code></div></td><td>{}</td><td>{}</td></tr>"#,
            esc(&clip(&c.title)),
            esc(&c.id),
            esc(&skill_titles(c)),
            esc(&clip(&c.message)),
        );
    }
    out.push_str("</tbody></table></section>");
}

fn passed_checks(out: &mut String, card: &Scorecard, page_budget: &mut usize) {
    let passed: Vec<&CheckResult> = card
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass && c.credit >= 1.0)
        .collect();
    let _ = write!(
        out,
        r#"<section class="card" id="passed"><h2>Passed checks ({})</h2>"#,
        passed.len()
    );
    if passed.is_empty() {
        out.push_str(r#"<p class="empty">No check passed in full.</p>"#);
    } else {
        out.push_str(r#"<table><thead><tr><th>Check</th><th>Suite</th><th>Skills</th><th>Finding</th><th class="num">Time</th></tr></thead><tbody>"#);
        for c in passed {
            let _ = write!(
                out,
                r#"<tr><td>{}<div class="meta"><code>{}</code></div></td><td>{}</td><td>{}</td><td>{}"#,
                esc(&clip(&c.title)),
                esc(&c.id),
                esc(&c.suite),
                esc(&skill_titles(c)),
                esc(&clip(&c.message)),
            );
            if !c.evidence.is_empty() {
                out.push_str(r#"<details><summary>Evidence</summary>"#);
                evidence(out, c, page_budget);
                out.push_str("</details>");
            }
            let _ = write!(
                out,
                r#"</td><td class="num">{} ms</td></tr>"#,
                c.duration_ms
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

fn yes_no(b: bool) -> &'static str {
    if b {
        r#"<span class="yes">yes</span>"#
    } else {
        r#"<span class="no">no</span>"#
    }
}

fn facts(out: &mut String, card: &Scorecard) {
    let s = &card.sandbox;
    out.push_str(
        r#"<section class="grid" id="facts"><div class="card"><h2>Sandbox</h2><dl class="kv">"#,
    );
    let _ = write!(
        out,
        "<dt>Image built</dt><dd>{}{}</dd><dt>Became healthy</dt><dd>{}</dd><dt>Build time</dt><dd>{} s</dd>",
        yes_no(s.image_built),
        if s.build_cached { " (from cache)" } else { "" },
        yes_no(s.became_healthy),
        text::number(s.build_seconds)
    );
    if let Some(t) = s.startup_seconds {
        let _ = write!(out, "<dt>Start-up time</dt><dd>{} s</dd>", text::number(t));
    }
    if let Some(m) = s.peak_memory_bytes {
        let _ = write!(
            out,
            "<dt>Peak memory</dt><dd>{:.1}</dd>",
            assay_model::ByteSize(m)
        );
    }
    if let Some(c) = s.cpu_seconds {
        let _ = write!(out, "<dt>CPU time</dt><dd>{} s</dd>", text::number(c));
    }
    if let Some(root) = s.runs_as_root {
        let _ = write!(
            out,
            "<dt>Runs as root</dt><dd>{}</dd>",
            if root {
                r#"<span class="no">yes</span>"#
            } else {
                r#"<span class="yes">no</span>"#
            }
        );
    }
    if let Some(c) = &s.calibration {
        let _ = write!(
            out,
            "<dt>Machine calibration</dt><dd>{}</dd>",
            esc(&text::calibration(c))
        );
    }
    if let Some(id) = &s.image_id {
        let _ = write!(out, r#"<dt>Image</dt><dd class="mono">{}</dd>"#, esc(id));
    }
    if let Some(problem) = text::sandbox_problem(s.failure.as_ref()) {
        let _ = write!(
            out,
            r#"<dt>Problem</dt><dd class="bad">{}</dd>"#,
            esc(&problem)
        );
    }
    out.push_str("</dl></div>");
    out.push_str(r#"<div class="card"><h2>Run</h2><dl class="kv">"#);
    let _ = write!(
        out,
        r#"<dt>Assessment</dt><dd>{} <span class="mono">{} v{}</span></dd><dt>Submission</dt><dd>{}</dd><dt>Digest</dt><dd class="mono">{}</dd><dt>Profile</dt><dd>{} <span class="mono">{}</span></dd><dt>Started</dt><dd>{}</dd><dt>Duration</dt><dd>{} s</dd><dt>Seed</dt><dd class="mono">{}</dd><dt>Runner</dt><dd>assay {}</dd>"#,
        esc(&card.assessment.title),
        esc(&card.assessment.id),
        esc(&card.assessment.version),
        esc(&card.submission.name),
        esc(&card.submission.digest),
        esc(&card.profile.title),
        esc(&card.profile.id),
        esc(&card.started_at),
        text::number(card.duration_seconds),
        card.seed,
        esc(&card.runner.version),
    );
    for (image, id) in &card.runner.images {
        let _ = write!(
            out,
            r#"<dt>{}</dt><dd class="mono">{}</dd>"#,
            esc(image),
            esc(id)
        );
    }
    out.push_str("</dl></div></section>");
}

fn logs(out: &mut String, card: &Scorecard) {
    out.push_str(r#"<section class="card" id="logs"><h2>Logs</h2>"#);
    for (title, log) in [
        ("Build log (last lines)", &card.sandbox.build_log),
        ("Service log (last lines)", &card.sandbox.service_log),
    ] {
        let _ = write!(out, r#"<h3 class="log-title">{title}</h3>"#);
        if log.trim().is_empty() {
            out.push_str(r#"<p class="empty">Empty.</p>"#);
        } else {
            let _ = write!(
                out,
                r#"<pre class="log">{}</pre>"#,
                esc(&text::tail(log, LOG_LINES, LOG_BYTES))
            );
        }
    }
    out.push_str("</section>");
}
