//! Candidate text made inert wherever assay shows it: control characters, escape sequences
//! and bidi overrides made visible, CI workflow commands broken, long lines cut, and only
//! characters XML 1.0 allows. One sanitizer, used by the CLI (terminal, CI logs) and by
//! every report format before its own escaping.

use std::borrow::Cow;

/// Characters of one line the terminal shows before cutting it.
pub const TERMINAL_LINE_CHARS: usize = 2000;

/// Makes text safe to display anywhere: ESC (so every CSI/OSC/DCS sequence), the other C0
/// controls and DEL show as their Unicode control pictures (`␛[31m`, `␀`); C1 controls,
/// bidirectional overrides and isolates, line/paragraph separators and the noncharacters
/// U+FFFE/U+FFFF as `<U+202E>`-style markers; carriage returns are dropped (they would let a
/// line overwrite itself). Newlines and tabs are kept. Nothing is hidden: an unterminated
/// sequence cannot swallow the text after it. The result holds only characters XML 1.0
/// allows (a `str` holds no lone surrogates).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_sanitizing) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\r' => {}
            '\n' | '\t' => out.push(c),
            c if u32::from(c) < 0x20 => {
                out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'));
            }
            '\u{7f}' => out.push('\u{2421}'),
            c if needs_sanitizing(c) => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether [`sanitize`] changes `c` (controls other than newline and tab, bidi controls,
/// line separators, U+FFFE/U+FFFF).
pub fn needs_sanitizing(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061c}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{fffe}'
                | '\u{ffff}'
        )
}

/// Breaks CI workflow commands in one line: a line that opens (after white space) with `::`
/// (GitHub Actions: `::error::`, `::add-mask::`, `::set-output`, `::stop-commands::`) gets a
/// `\` before it, and every `##[…` / `##vso[…` / `##teamcity[…` (read anywhere in a line by
/// GitHub's and Azure's runners) gets one between its `#`s.
pub fn break_workflow_commands(line: &str) -> Cow<'_, str> {
    let body = line.trim_start_matches(char::is_whitespace);
    let opens = body.starts_with("::");
    if !opens && !line.contains("##") {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 4);
    let indent = line.len() - body.len();
    out.push_str(&line[..indent]);
    if opens {
        out.push('\\');
    }
    let mut rest = body;
    while let Some(at) = rest.find("##") {
        let after = &rest[at + 2..];
        let word = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        out.push_str(&rest[..at + 1]);
        if after[word..].starts_with('[') {
            out.push('\\');
        }
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Cuts one line after `max` characters, saying how much was left out.
fn cut_line(line: &str, max: usize) -> Cow<'_, str> {
    match line.char_indices().nth(max) {
        None => Cow::Borrowed(line),
        Some((end, _)) => Cow::Owned(format!(
            "{}… ({} more bytes)",
            &line[..end],
            line.len() - end
        )),
    }
}

/// Text for a terminal or a CI log, lines kept: [`sanitize`]d, each line's workflow
/// commands broken and cut at [`TERMINAL_LINE_CHARS`].
pub fn terminal(text: &str) -> String {
    let clean = sanitize(text);
    let mut out = String::with_capacity(clean.len());
    for (i, line) in clean.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&cut_line(
            &break_workflow_commands(line),
            TERMINAL_LINE_CHARS,
        ));
    }
    out
}

/// One line for a terminal or a CI log: as [`terminal`], with line breaks shown as `⏎`.
pub fn terminal_line(text: &str) -> String {
    let clean = sanitize(text);
    let flat = clean.trim_end_matches('\n').replace('\n', "⏎");
    cut_line(&break_workflow_commands(&flat), TERMINAL_LINE_CHARS).into_owned()
}

/// Whether XML 1.0 allows `c` in text (`Char` production).
pub fn xml_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// input → expected, for each function.
    fn check(f: fn(&str) -> String, cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(f(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn sanitize_shows_controls_escapes_and_bidi() {
        check(
            |t| sanitize(t).into_owned(),
            &[
                ("plain\ntext\tok", "plain\ntext\tok"),
                ("\u{1b}[31mred\u{1b}[0m", "␛[31mred␛[0m"),
                // OSC 52 writes the clipboard; an unterminated OSC hides nothing after it.
                ("\u{1b}]52;c;ZXZpbA==\u{7}after", "␛]52;c;ZXZpbA==␇after"),
                ("\u{1b}]0;title", "␛]0;title"),
                ("a\u{0}b\r\n", "a␀b\n"),
                ("safe\roverwritten", "safeoverwritten"),
                ("\u{7f}", "␡"),
                ("\u{9b}31m", "<U+009B>31m"),
                ("abc\u{202e}fed\u{2066}", "abc<U+202E>fed<U+2066>"),
                ("x\u{2028}y", "x<U+2028>y"),
                ("bad\u{fffe}\u{ffff}", "bad<U+FFFE><U+FFFF>"),
                ("héllo ✓ 日本", "héllo ✓ 日本"),
            ],
        );
    }

    #[test]
    fn workflow_commands_are_broken() {
        check(
            |t| break_workflow_commands(t).into_owned(),
            &[
                ("::error::pwned", "\\::error::pwned"),
                ("  ::add-mask::x", "  \\::add-mask::x"),
                ("::set-output name=a::b", "\\::set-output name=a::b"),
                ("::stop-commands::tok", "\\::stop-commands::tok"),
                ("##[error]x", "#\\#[error]x"),
                ("step 1 ##[set-env name=A]b", "step 1 #\\#[set-env name=A]b"),
                ("##vso[task.setvariable]x", "#\\#vso[task.setvariable]x"),
                ("###[x", "##\\#[x"),
                ("a :: b", "a :: b"),
                ("## heading", "## heading"),
                ("C# ## notes", "C# ## notes"),
            ],
        );
    }

    #[test]
    fn terminal_text_keeps_lines_and_cuts_long_ones() {
        let long = "x".repeat(TERMINAL_LINE_CHARS + 5);
        let cut = format!("{}… (5 more bytes)", "x".repeat(TERMINAL_LINE_CHARS));
        check(
            terminal,
            &[
                ("ok\n::error::x\n", "ok\n\\::error::x\n"),
                ("\u{1b}]52;c;Zm9v\u{1b}\\", "␛]52;c;Zm9v␛\\"),
                (&long, &cut),
            ],
        );
        check(
            terminal_line,
            &[
                ("one\n::warning::two\n", "one⏎::warning::two"),
                ("\n::error::x", "⏎::error::x"),
                ("::error::x\n", "\\::error::x"),
            ],
        );
    }

    #[test]
    fn sanitized_text_is_valid_xml() {
        let every: String = (0u32..0x11_0000).filter_map(char::from_u32).collect();
        assert!(sanitize(&every).chars().all(xml_allows));
        assert!(!xml_allows('\u{fffe}'));
        assert!(!xml_allows('\u{b}'));
        assert!(xml_allows('\u{10ffff}'));
    }
}
