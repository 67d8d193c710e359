//! Making candidate-controlled text safe to show: the shared sanitizer for every format
//! (`assay_model::inert`), then escaping for HTML, Markdown and CSV.

/// Makes text safe to display in any format: the one sanitizer of `assay_model::inert`
/// (controls, escape sequences and bidi overrides made visible; only XML 1.0 characters).
pub use assay_model::inert::sanitize;

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
/// Markdown of it (pipes, backticks, emphasis, links, headings, maths) is backslash-escaped;
/// newlines become spaces. Nothing becomes a link or a notification: `@` (mentions, e-mail
/// autolinks), `://` and `www.` (URL autolinks) are split by an empty HTML comment, which
/// GitHub shows as nothing.
pub fn markdown(text: &str) -> String {
    let text = sanitize(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    no_links(&out)
}

/// Escaped text for HTML inside a Markdown document (an evidence `<pre>`): [`html`], and no
/// mention or autolink either, whatever renders it.
pub fn html_in_markdown(text: &str) -> String {
    no_links(&html(text))
}

/// Splits `@` (mentions, e-mail autolinks), `://` and `www.` (URL autolinks) with an empty
/// HTML comment, which renders as nothing. `text` is already escaped.
fn no_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, c) in text.char_indices() {
        match c {
            '@' => out.push_str("@<!-- -->"),
            ':' if text[i..].starts_with("://") => out.push_str(":<!-- -->"),
            '.' if i >= 3 && text.as_bytes()[i - 3..i].eq_ignore_ascii_case(b"www") => {
                out.push_str("<!-- -->.");
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
        assert_eq!(markdown("$x$"), "\\$x\\$");
    }

    #[test]
    fn markdown_makes_no_links_nor_mentions() {
        let cases = [
            ("@team please", "@<!-- -->team please"),
            ("mail me@example.com", "mail me@<!-- -->example.com"),
            (
                "see http://evil.example/x",
                "see http:<!-- -->//evil.example/x",
            ),
            ("HTTPS://x", "HTTPS:<!-- -->//x"),
            ("www.evil.example", "www<!-- -->.evil.example"),
            ("<https://x>", "&lt;https:<!-- -->//x&gt;"),
            ("a.b: c", "a.b: c"),
        ];
        for (input, expected) in cases {
            assert_eq!(markdown(input), expected, "input {input:?}");
        }
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
