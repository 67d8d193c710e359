//! Tokenising source with tree-sitter and normalising it: comments dropped, every identifier
//! one token, every string and number one token, so renaming, reformatting and rewording
//! comments change nothing.

use crate::language::Language;

/// One normalised token: a symbol (the hash of its normalised text) and the 1-based line it
/// starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub symbol: u64,
    pub line: u32,
}

/// What a leaf of the syntax tree becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Dropped: comments, and zero-width nodes the parser inserted to recover from errors.
    Drop,
    /// Any identifier: a variable, function, type, field or label name.
    Identifier,
    /// A string, template, character or rune literal, read whole (its inside is not code).
    Text,
    /// A number literal.
    Number,
    /// Keywords, operators and punctuation: kept as they are (the node kind is their text).
    Keep,
}

fn classify(kind: &str, named: bool) -> Class {
    if kind.contains("comment") {
        return Class::Drop;
    }
    if !named {
        // Statement terminators are optional in JavaScript and Go, and implied by newlines.
        return if matches!(kind, ";" | "\n" | "\r\n") {
            Class::Drop
        } else {
            Class::Keep
        };
    }
    if kind.ends_with("identifier") || kind == "label_name" || kind == "metavariable" {
        return Class::Identifier;
    }
    if kind.contains("string")
        || kind.contains("char")
        || kind == "rune_literal"
        || kind == "template_literal"
        || kind == "regex"
    {
        return Class::Text;
    }
    if kind.contains("integer")
        || kind.contains("float")
        || kind == "number"
        || kind.ends_with("_number")
        || kind == "imaginary_literal"
    {
        return Class::Number;
    }
    Class::Keep
}

/// A statement that is only a string: a Python docstring (or JavaScript's "use strict"),
/// a comment in all but name.
fn is_docstring(node: &tree_sitter::Node<'_>) -> bool {
    node.kind() == "expression_statement"
        && node.named_child_count() == 1
        && node
            .named_child(0)
            .is_some_and(|c| c.kind() == "string" || c.kind() == "string_literal")
}

/// A stable 64-bit hash (FNV-1a) of a token's normalised text.
pub(crate) fn symbol(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Reusable parsers, one per language (a tree-sitter parser is not shared between threads).
#[derive(Default)]
pub struct Tokeniser {
    parsers: Vec<(Language, tree_sitter::Parser, KindTable)>,
}

/// What each node kind (by its grammar id) becomes, worked out once per kind.
type KindTable = Vec<Option<(Class, u64)>>;

impl std::fmt::Debug for Tokeniser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokeniser")
            .field("languages", &self.parsers.len())
            .finish()
    }
}

impl Tokeniser {
    fn parser(&mut self, language: Language) -> Option<(&mut tree_sitter::Parser, &mut KindTable)> {
        let at = match self.parsers.iter().position(|(l, _, _)| *l == language) {
            Some(at) => at,
            None => {
                let mut parser = tree_sitter::Parser::new();
                parser.set_language(&language.grammar()).ok()?;
                self.parsers.push((language, parser, Vec::new()));
                self.parsers.len() - 1
            }
        };
        self.parsers.get_mut(at).map(|(_, p, t)| (p, t))
    }

    /// The normalised tokens of `text`, in order. Syntax errors do not stop it: tree-sitter
    /// recovers and the tokens it read are kept. `None` only when the grammar cannot be
    /// loaded (a build problem, not the submission's).
    pub fn tokens(&mut self, language: Language, text: &str) -> Option<Vec<Token>> {
        let (parser, table) = self.parser(language)?;
        parser.reset();
        let tree = parser.parse(text, None)?;
        let (identifier, string, number) = (symbol("$id"), symbol("$str"), symbol("$num"));
        let mut out = Vec::with_capacity(text.len() / 4);
        let mut cursor = tree.walk();
        loop {
            let node = cursor.node();
            let id = usize::from(node.kind_id());
            if table.len() <= id {
                table.resize(id + 1, None);
            }
            let (class, kept) = *table[id].get_or_insert_with(|| {
                let kind = node.kind();
                (classify(kind, node.is_named()), symbol(kind))
            });
            let class = if node.is_missing() || (class == Class::Keep && is_docstring(&node)) {
                Class::Drop
            } else {
                class
            };
            let emitted = match class {
                Class::Drop => Some(None),
                Class::Identifier => Some(Some(identifier)),
                Class::Text => Some(Some(string)),
                Class::Number => Some(Some(number)),
                Class::Keep if node.child_count() == 0 => Some(Some(kept)),
                Class::Keep => None,
            };
            let descend = emitted.is_none();
            if let Some(Some(s)) = emitted {
                let line = u32::try_from(node.start_position().row + 1).unwrap_or(u32::MAX);
                out.push(Token { symbol: s, line });
            }
            if descend && cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return Some(out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(language: Language, text: &str) -> Vec<u64> {
        Tokeniser::default()
            .tokens(language, text)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.symbol)
            .collect()
    }

    #[test]
    fn renaming_comments_and_layout_change_nothing() {
        for (language, a, b) in [
            (
                Language::Python,
                "def total(items):\n    # sum them\n    return sum(i.amount for i in items)\n",
                "def  compute_sum( entries ):\n    '''doc'''\n    return sum(e.value for e in entries)  # add up\n",
            ),
            (
                Language::JavaScript,
                "function total(items) { return items.reduce((a, b) => a + b.amount, 0); }",
                "// adds\nfunction sum(xs) {\n  return xs.reduce((acc, x) => acc + x.value, 1);\n}",
            ),
            (
                Language::Rust,
                "fn total(items: &[Item]) -> i64 { items.iter().map(|i| i.amount).sum() }",
                "/// Adds.\nfn add_up(xs: &[Entry]) -> u64 {\n    xs.iter().map(|x| x.value).sum()\n}",
            ),
            (
                Language::Go,
                "func total(items []Item) int { s := 0; for _, i := range items { s += i.Amount }; return s }",
                "// sum\nfunc sum(xs []Entry) int {\n\tacc := 0\n\tfor _, x := range xs {\n\t\tacc += x.Value\n\t}\n\treturn acc\n}",
            ),
            (
                Language::Java,
                "class A { int total(int[] xs) { int s = 0; for (int x : xs) { s += x; } return s; } }",
                "/** doc */\nclass B {\n  int sum(int[] ys) { int acc = 0; for (int y : ys) { acc += y; } return acc; }\n}",
            ),
        ] {
            let (sa, sb) = (shape(language, a), shape(language, b));
            assert!(sa.len() > 8, "{language:?}: {} tokens", sa.len());
            assert_eq!(sa, sb, "{language:?}");
        }
    }

    #[test]
    fn tokens_carry_their_lines() {
        let tokens = Tokeniser::default()
            .tokens(Language::Python, "x = 1\n\n# c\ny = 'two'\n")
            .unwrap_or_default();
        let lines: Vec<u32> = tokens.iter().map(|t| t.line).collect();
        assert_eq!(lines, vec![1, 1, 1, 4, 4, 4]);
    }

    #[test]
    fn broken_source_still_tokenises() {
        let tokens = Tokeniser::default()
            .tokens(Language::Python, "def broken(:\n    return 1 +\nx = 2\n")
            .unwrap_or_default();
        assert!(tokens.len() >= 5);
    }
}
