//! The similarity reports: `similarity.csv` (one row per flagged pair), a Markdown section,
//! and one self-contained HTML page per flagged pair with the matched regions side by side.
//! Every name and line of source is candidate-controlled and escaped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assay_report::{CSP, csv_field, escape_html, escape_markdown};

use crate::document::read_lines;
use crate::{Pair, Report};

/// What every similarity report says: it is a flag, not a grade.
pub const NOTE: &str = "Similarity is a flag for a human reviewer, never evidence on its own \
and never part of a score: read the matched code side by side before drawing any conclusion. \
Boilerplate found in many submissions and code the assessment hands out are discounted.";

/// Regions shown per pair page, and lines shown per side of a region.
const PAGE_REGIONS: usize = 40;
const REGION_LINES: u32 = 120;

/// `similarity.csv`: `a,b,score,shared_lines`, one row per flagged pair, highest score first.
pub fn similarity_csv(report: &Report) -> String {
    let mut out = String::from("a,b,score,shared_lines\n");
    for p in report.flagged() {
        let _ = writeln!(
            out,
            "{},{},{:.3},{}",
            csv_field(report.name(p.a)),
            csv_field(report.name(p.b)),
            p.score,
            p.shared_lines
        );
    }
    out
}

/// The file name of pair `index`'s page (under the `pages` folder).
pub fn page_name(report: &Report, index: usize) -> String {
    let Some(p) = report.pairs.get(index) else {
        return format!("{index:03}.html");
    };
    format!(
        "{index:03}-{}--{}.html",
        safe(report.name(p.a)),
        safe(report.name(p.b))
    )
}

fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    if s.is_empty() { "doc".to_owned() } else { s }
}

/// The Markdown section: the flagged pairs with their pages, and the note that it is a flag.
/// `pages` is the folder of the pair pages relative to where the Markdown lives.
pub fn markdown_section(report: &Report, pages: &str) -> String {
    let mut md = String::from("## Similarity\n\n");
    let _ = writeln!(md, "{NOTE}\n");
    let submissions = report
        .documents
        .iter()
        .filter(|d| d.origin == crate::Origin::Submission)
        .count();
    let known = report.documents.len() - submissions;
    let _ = writeln!(
        md,
        "{submissions} submission(s) compared with each other and with {known} known solution(s); \
         pairs scoring at least {:.2} are flagged. {} fingerprint(s) found in more than {} \
         documents were discounted as boilerplate, {} handed out by the assessment were dropped.\n",
        report.threshold,
        report.common_fingerprints,
        report.common_limit,
        report.handed_out_fingerprints
    );
    let flagged: Vec<(usize, &Pair)> = report
        .pairs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.flagged)
        .collect();
    if flagged.is_empty() {
        md.push_str("No pair shares enough code to flag.\n");
        return md;
    }
    md.push_str("| a | b | score | shared lines | largest match | side by side |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for (i, p) in flagged {
        let largest = p
            .regions
            .first()
            .map(|r| {
                format!(
                    "`{}:{}-{}` ↔ `{}:{}-{}`",
                    escape_markdown(&r.a_file),
                    r.a_first,
                    r.a_last,
                    escape_markdown(&r.b_file),
                    r.b_first,
                    r.b_last
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {} | {} | [page]({}/{}) |",
            escape_markdown(report.name(p.a)),
            escape_markdown(report.name(p.b)),
            p.score,
            p.shared_lines,
            largest,
            pages,
            page_name(report, i)
        );
    }
    md
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f23}\
.note{background:#fff8c5;padding:.6rem 1rem;border-left:4px solid #d4a72c}\
table.side{width:100%;border-collapse:collapse;table-layout:fixed;margin:.5rem 0 1.5rem}\
table.side td{vertical-align:top;width:50%;border:1px solid #d0d7de;padding:0}\
pre{margin:0;padding:.4rem;overflow-x:auto;font-size:12px;background:#f6f8fa}\
h3{font-size:1rem;font-family:monospace}";

/// The HTML page of pair `index`: both names, the score, and each matched region's lines
/// side by side (read from the folders the documents came from), all escaped.
pub fn pair_page(report: &Report, index: usize) -> String {
    let Some(p) = report.pairs.get(index) else {
        return String::new();
    };
    let (a, b) = (report.name(p.a), report.name(p.b));
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
<meta name=\"referrer\" content=\"no-referrer\"><meta name=\"generator\" content=\"assay\">\
<title>{} ↔ {} — assay similarity</title><style>{STYLE}</style></head><body>\n",
        escape_html(a),
        escape_html(b)
    );
    let _ = write!(
        html,
        "<h1>{} ↔ {}</h1>\n<p class=\"note\">{}</p>\n<p>Score {:.2} ({} shared fingerprints); \
         {} shared lines; {} matched region(s){}.</p>\n",
        escape_html(a),
        escape_html(b),
        escape_html(NOTE),
        p.score,
        p.shared_fingerprints,
        p.shared_lines,
        p.regions.len(),
        if p.regions.len() > PAGE_REGIONS {
            format!(", the largest {PAGE_REGIONS} shown")
        } else {
            String::new()
        }
    );
    let root = |i: usize| report.roots.get(i).cloned().unwrap_or_default();
    let (root_a, root_b) = (root(p.a), root(p.b));
    for r in p.regions.iter().take(PAGE_REGIONS) {
        let _ = write!(
            html,
            "<h3>{}:{}–{} ↔ {}:{}–{} ({} fingerprint(s))</h3>\n<table class=\"side\"><tr><td>{}</td><td>{}</td></tr></table>\n",
            escape_html(&r.a_file),
            r.a_first,
            r.a_last,
            escape_html(&r.b_file),
            r.b_first,
            r.b_last,
            r.fingerprints,
            numbered(&root_a, &r.a_file, r.a_first, r.a_last),
            numbered(&root_b, &r.b_file, r.b_first, r.b_last),
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// Lines of a file, numbered and escaped, in a `<pre>`.
fn numbered(root: &Path, file: &str, first: u32, last: u32) -> String {
    let last = last.min(first.saturating_add(REGION_LINES - 1));
    let mut out = String::from("<pre>");
    let lines = read_lines(root, file, first, last);
    if lines.is_empty() {
        out.push_str("(the file can no longer be read)");
    }
    for (n, line) in (first..).zip(lines) {
        let _ = writeln!(out, "{n:>5}  {}", escape_html(&line));
    }
    out.push_str("</pre>");
    out
}

/// What [`write_reports`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub csv: PathBuf,
    pub markdown: PathBuf,
    /// One page per flagged pair, in the report's order.
    pub pages: Vec<PathBuf>,
}

/// Folder (under the output folder) holding the pair pages.
pub const PAGES: &str = "similarity";

/// Writes `similarity.csv`, `similarity.md` and `similarity/<pair>.html` for every flagged
/// pair into `out`.
pub fn write_reports(report: &Report, out: &Path) -> std::io::Result<Written> {
    std::fs::create_dir_all(out.join(PAGES))?;
    // The pages of an earlier comparison into the same folder would name pairs no longer
    // flagged: remove them (only the pages this module writes: `NNN-….html`).
    for entry in std::fs::read_dir(out.join(PAGES))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.ends_with(".html")
            && name.len() > 4
            && name.as_bytes()[..3].iter().all(u8::is_ascii_digit);
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    let csv = out.join("similarity.csv");
    std::fs::write(&csv, similarity_csv(report))?;
    let markdown = out.join("similarity.md");
    std::fs::write(&markdown, markdown_section(report, PAGES))?;
    let mut pages = Vec::new();
    for (i, p) in report.pairs.iter().enumerate() {
        if p.flagged {
            let path = out.join(PAGES).join(page_name(report, i));
            std::fs::write(&path, pair_page(report, i))?;
            pages.push(path);
        }
    }
    Ok(Written {
        csv,
        markdown,
        pages,
    })
}
