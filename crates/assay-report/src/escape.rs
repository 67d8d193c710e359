//! Making candidate-controlled text safe to show: neutralising control, bidi and ANSI
//! sequences for every format, and escaping for HTML, Markdown and CSV.

use std::borrow::Cow;

/// Makes text safe to display in any format: drops ANSI escape sequences and carriage
/// returns, shows other control characters as their Unicode control pictures (`␀`), and
/// bidirectional overrides as `<U+202E>`-style markers, so text cannot hide or reorder
/// what a reader sees. Newlines and tabs are kept.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_sanitizing) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape_sequence(&mut chars),
            '\r' => {}
            '\n' | '\t' => out.push(c),
            c if is_bidi_control(c) => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            c if u32::from(c) < 0x20 => {
                out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'));
            }
            '\u{7f}' => out.push('\u{2421}'),
            c if ('\u{80}'..='\u{9f}').contains(&c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_sanitizing(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// Skips an ANSI escape sequence after its ESC: CSI (`ESC [ … final`), OSC (`ESC ] … BEL`
/// or `ESC \`), or a two-character escape.
fn skip_escape_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
        Some(']') => {
            chars.next();
            let mut previous = ' ';
            for c in chars.by_ref() {
                if c == '\u{7}' || (previous == '\u{1b}' && c == '\\') {
                    break;
                }
                previous = c;
            }
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

/// Escapes text for HTML element content and quoted attribute values (after [`sanitize`]).
pub fn html(text: &str) -> String {
    let text = sanitize(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for one line of GitHub-flavoured Markdown, table cells included: HTML
/// tags and entities show as typed (`<` as `&lt;`); the punctuation that could make
/// Markdown of it (pipes, backticks, emphasis, links, headings, maths, @-mentions) is
/// backslash-escaped; newlines become spaces.
pub fn markdown(text: &str) -> String {
    let text = sanitize(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '$' | '@' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line of plain text for a terminal table: sanitised, newlines and tabs as spaces.
pub fn plain_line(text: &str) -> String {
    sanitize(text).replace(['\n', '\t'], " ")
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes
/// doubled. A leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` first so a
/// spreadsheet shows the text instead of evaluating it as a formula.
pub fn csv_field(text: &str) -> String {
    let text = sanitize(text);
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t']) {
        format!("'{text}")
    } else {
        text.into_owned()
    };
    if guarded.contains([',', '"', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_neutralises_controls_bidi_and_ansi() {
        assert_eq!(sanitize("plain\ntext"), "plain\ntext");
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(sanitize("a\u{0}b\r\n"), "a\u{2400}b\n");
        assert_eq!(sanitize("abc\u{202e}fed"), "abc<U+202E>fed");
        assert_eq!(sanitize("\u{1b}]0;title\u{7}after"), "after");
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }

    #[test]
    fn markdown_escapes_pipes_backticks_and_tags() {
        assert_eq!(
            markdown("| a | `b` <i>x</i>\nnext"),
            "\\| a \\| \\`b\\` &lt;i&gt;x&lt;/i&gt; next"
        );
        assert_eq!(
            markdown("[click](javascript:x)"),
            "\\[click\\](javascript:x)"
        );
        assert_eq!(markdown("@team $x$"), "\\@team \\$x\\$");
    }

    #[test]
    fn csv_fields_are_quoted_and_formula_guarded() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
