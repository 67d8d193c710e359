//! Exact decimal arithmetic for `verify` comparisons: numbers, `+ - *`, parentheses.

use rust_decimal::Decimal;

/// Evaluates `text`, e.g. `100.00 - 10.00 * 3`.
pub fn eval(text: &str) -> Result<Decimal, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let v = p.sum()?;
    if p.pos != tokens.len() {
        return Err(format!("unexpected `{}` in `{text}`", tokens[p.pos].show()));
    }
    Ok(v)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Decimal),
    Op(char),
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Num(d) => d.to_string(),
            Tok::Op(c) => c.to_string(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "+-*()".contains(c) {
            out.push(Tok::Op(c));
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Num(
                s.parse::<Decimal>()
                    .map_err(|_| format!("`{s}` is not a decimal number"))?,
            ));
        } else {
            return Err(format!(
                "`{c}` is not allowed in `{text}`: use numbers, + - * and parentheses"
            ));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn sum(&mut self) -> Result<Decimal, String> {
        let mut v = self.product()?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            let r = self.product()?;
            v = if op == '+' {
                v.checked_add(r)
            } else {
                v.checked_sub(r)
            }
            .ok_or("overflow")?;
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<Decimal, String> {
        let mut v = self.atom()?;
        while let Some(Tok::Op('*')) = self.peek() {
            self.pos += 1;
            v = v.checked_mul(self.atom()?).ok_or("overflow")?;
        }
        Ok(v)
    }

    fn atom(&mut self) -> Result<Decimal, String> {
        match self.peek().cloned() {
            Some(Tok::Num(d)) => {
                self.pos += 1;
                Ok(d)
            }
            Some(Tok::Op('-')) => {
                self.pos += 1;
                Ok(-self.atom()?)
            }
            Some(Tok::Op('(')) => {
                self.pos += 1;
                let v = self.sum()?;
                match self.peek() {
                    Some(Tok::Op(')')) => {
                        self.pos += 1;
                        Ok(v)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Some(t) => Err(format!("unexpected `{}`", t.show())),
            None => Err("the expression ended early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, ()>) {
        assert_eq!(
            eval(input)
                .map(|d| d.normalize().to_string())
                .map_err(|_| ()),
            expected.map(str::to_owned),
            "{input}"
        );
    }

    #[test]
    fn evaluates_exactly() {
        check("0.10 + 0.20", Ok("0.3"));
        check("100.00 - 10.00 * 3", Ok("70"));
        check("(1 + 2) * 3", Ok("9"));
        check("-1.50 + 2", Ok("0.5"));
        check("1 +", Err(()));
        check("1 / 2", Err(()));
        check("abc", Err(()));
    }
}
