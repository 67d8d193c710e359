//! The ten skills as a radar chart in inline SVG: one axis per skill, the assessed skills'
//! scores joined as a polygon, not-assessed skills drawn as dashed axes labelled so.

use std::f64::consts::PI;
use std::fmt::Write as _;

use assay_grader::SkillScore;

use crate::escape::html;
use crate::text;

const WIDTH: f64 = 680.0;
const HEIGHT: f64 = 470.0;
const CX: f64 = 340.0;
const CY: f64 = 235.0;
const RADIUS: f64 = 170.0;

/// The point at `fraction` of the radius along axis `i` of `n` (axis 0 points up).
fn point(i: usize, n: usize, fraction: f64) -> (f64, f64) {
    let angle = -PI / 2.0 + 2.0 * PI * (i as f64) / (n.max(1) as f64);
    (
        CX + RADIUS * fraction * angle.cos(),
        CY + RADIUS * fraction * angle.sin(),
    )
}

fn coords(points: &[(f64, f64)]) -> String {
    points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The radar chart of `skills` as an `<svg>` element.
pub fn svg(skills: &[SkillScore]) -> String {
    let n = skills.len();
    let mut out = String::with_capacity(8 * 1024);
    let _ = write!(
        out,
        r#"<svg class="radar" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="radar-title" xmlns="http://www.w3.org/2000/svg"><title id="radar-title">Skill scores, 0 to 100</title>"#
    );
    // Rings at 25, 50, 75 and 100.
    for ring in [0.25, 0.5, 0.75, 1.0] {
        let ring_points: Vec<(f64, f64)> = (0..n).map(|i| point(i, n, ring)).collect();
        let _ = write!(
            out,
            r#"<polygon class="ring" points="{}"/>"#,
            coords(&ring_points)
        );
    }
    for ring in [25, 50, 75, 100] {
        let (x, y) = point(0, n, f64::from(ring) / 100.0);
        let _ = write!(
            out,
            r#"<text class="ring-label" x="{:.1}" y="{:.1}">{ring}</text>"#,
            x + 5.0,
            y + 12.0
        );
    }
    for (i, skill) in skills.iter().enumerate() {
        let (x, y) = point(i, n, 1.0);
        let class = if skill.score.is_some() {
            "axis"
        } else {
            "axis na"
        };
        let _ = write!(
            out,
            r#"<line class="{class}" x1="{CX}" y1="{CY}" x2="{x:.1}" y2="{y:.1}"/>"#
        );
    }
    let assessed: Vec<(f64, f64)> = skills
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.score
                .map(|score| point(i, n, (score / 100.0).clamp(0.0, 1.0)))
        })
        .collect();
    if assessed.len() >= 3 {
        let _ = write!(
            out,
            r#"<polygon class="area" points="{}"/>"#,
            coords(&assessed)
        );
    } else if assessed.len() == 2 {
        let _ = write!(
            out,
            r#"<polyline class="area" points="{}"/>"#,
            coords(&assessed)
        );
    }
    for (i, skill) in skills.iter().enumerate() {
        let label_at = point(i, n, 1.0);
        let (lx, ly) = (CX + (label_at.0 - CX) * 1.12, CY + (label_at.1 - CY) * 1.12);
        let anchor = if (lx - CX).abs() < 8.0 {
            "middle"
        } else if lx > CX {
            "start"
        } else {
            "end"
        };
        // Two-line labels (title, score): above the centre they sit above their point,
        // below it beneath, level with it beside.
        let top = if ly < CY - 8.0 {
            ly - 22.0
        } else if ly > CY + 8.0 {
            ly + 14.0
        } else {
            ly - 4.0
        };
        let (class, value) = match skill.score {
            Some(score) => {
                let (px, py) = point(i, n, (score / 100.0).clamp(0.0, 1.0));
                let _ = write!(
                    out,
                    r#"<circle class="dot" cx="{px:.1}" cy="{py:.1}" r="4.5"><title>{}: {}</title></circle>"#,
                    html(&skill.title),
                    text::score(score)
                );
                ("label", text::score(score))
            }
            None => {
                let _ = write!(
                    out,
                    r#"<circle class="dot na" cx="{:.1}" cy="{:.1}" r="4"><title>{}: not assessed</title></circle>"#,
                    label_at.0,
                    label_at.1,
                    html(&skill.title)
                );
                ("label na", "not assessed".to_owned())
            }
        };
        let _ = write!(
            out,
            r#"<text class="{class}" x="{lx:.1}" y="{top:.1}" text-anchor="{anchor}">{}<tspan class="label-score" x="{lx:.1}" dy="17">{value}</tspan></text>"#,
            html(&skill.title),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_zero_points_up_and_axes_go_clockwise() {
        let (x, y) = point(0, 10, 1.0);
        assert!((x - CX).abs() < 1e-9 && (y - (CY - RADIUS)).abs() < 1e-9);
        let (x, _) = point(1, 10, 1.0);
        assert!(x > CX, "the second axis is to the right");
        let (x, y) = point(3, 10, 0.0);
        assert!((x - CX).abs() < 1e-9 && (y - CY).abs() < 1e-9);
    }
}
