//! Tokenising and parsing formula text into an [`Expr`] tree, with R's operator precedence:
//! `|`/`||` < `+ -` < `* /` < `:` < unary `-` < `^`.

use super::{BinaryOp, Expr, ExprKind, FormulaError};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Number(f64),
    Op(&'static str),
    Open,
    Close,
    Comma,
    Tilde,
}

struct Lexer<'a> {
    text: &'a str,
    tokens: Vec<(Token, usize, usize)>,
}

const OPERATORS: [&str; 9] = ["||", "|", "+", "-", "*", "/", ":", "^", "%in%"];

impl<'a> Lexer<'a> {
    fn run(text: &'a str) -> Result<Vec<(Token, usize, usize)>, FormulaError> {
        let mut lexer = Lexer { text, tokens: Vec::new() };
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let start = i;
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let token = if c.is_ascii_alphabetic() || (c == b'.' && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
                    i += 1;
                }
                Token::Name(text[start..i].to_string())
            } else if c.is_ascii_digit() || c == b'.' {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                    let mut j = i + 1;
                    if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j].is_ascii_digit() {
                        i = j;
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let value = text[start..i]
                    .parse::<f64>()
                    .map_err(|_| lexer.error(start, format!("`{}` is not a number", &text[start..i])))?;
                Token::Number(value)
            } else if c == b'`' {
                let end = text[i + 1..].find('`').ok_or_else(|| lexer.error(start, "unclosed backquote".into()))?;
                i += end + 2;
                Token::Name(text[start + 1..i - 1].to_string())
            } else {
                match c {
                    b'(' => {
                        i += 1;
                        Token::Open
                    }
                    b')' => {
                        i += 1;
                        Token::Close
                    }
                    b',' => {
                        i += 1;
                        Token::Comma
                    }
                    b'~' => {
                        i += 1;
                        Token::Tilde
                    }
                    _ => {
                        let op = OPERATORS.iter().find(|op| text[i..].starts_with(**op)).ok_or_else(|| {
                            let ch = text[i..].chars().next().unwrap_or('?');
                            lexer.error(start, format!("unexpected character `{ch}`"))
                        })?;
                        i += op.len();
                        Token::Op(op)
                    }
                }
            };
            lexer.tokens.push((token, start, i));
        }
        Ok(lexer.tokens)
    }

    fn error(&self, at: usize, message: String) -> FormulaError {
        FormulaError::new(self.text, at, message)
    }
}

/// A recursive-descent parser over the token list.
pub(super) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(Token, usize, usize)>,
    position: usize,
}

/// The deepest nesting of parentheses, calls, signs and powers a formula may have.
pub(super) const MAX_DEPTH: usize = 200;
/// The most operators a formula may have: every walk of the expression tree recurses along
/// chains of them, so a longer formula would exhaust the stack.
pub(super) const MAX_OPERATORS: usize = 2_000;

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Result<Self, FormulaError> {
        let tokens = Lexer::run(text)?;
        let (mut depth, mut run, mut operators, mut powers) = (0usize, 0usize, 0usize, 0usize);
        for (token, start, _) in &tokens {
            let too_deep = |what: &str| {
                FormulaError::new(text, *start, format!("{what} nest more than {MAX_DEPTH} deep: simplify the formula"))
            };
            match token {
                Token::Open => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(too_deep("parentheses and calls"));
                    }
                }
                Token::Close => depth = depth.saturating_sub(1),
                Token::Op(op) => {
                    operators += 1;
                    run += 1;
                    powers += usize::from(*op == "^");
                    if run > MAX_DEPTH || powers > MAX_DEPTH {
                        return Err(too_deep("signs and powers"));
                    }
                    if operators > MAX_OPERATORS {
                        return Err(FormulaError::new(
                            text,
                            *start,
                            format!("a formula may have at most {MAX_OPERATORS} operators"),
                        ));
                    }
                    continue;
                }
                _ => {}
            }
            run = 0;
        }
        Ok(Self { text, tokens, position: 0 })
    }

    fn error(&self, at: usize, message: impl Into<String>) -> FormulaError {
        FormulaError::new(self.text, at, message.into())
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|(t, _, _)| t)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.position).map_or(self.text.len(), |(_, s, _)| *s)
    }

    fn previous_end(&self) -> usize {
        self.position.checked_sub(1).map_or(0, |p| self.tokens[p].2)
    }

    /// Parses `lhs ~ rhs` or `~ rhs`.
    pub(super) fn formula(&mut self) -> Result<(Option<Expr>, Expr), FormulaError> {
        let lhs = if self.peek() == Some(&Token::Tilde) { None } else { Some(self.expression()?) };
        if self.peek() != Some(&Token::Tilde) {
            return Err(self.error(self.here(), "expected `~` between the response and the terms"));
        }
        self.position += 1;
        if self.peek().is_none() {
            return Err(self.error(self.here(), "expected terms after `~`"));
        }
        let rhs = self.expression()?;
        if let Some((token, start, _)) = self.tokens.get(self.position) {
            let message = match token {
                Token::Close => "unmatched `)`".to_string(),
                Token::Tilde => "a formula has only one `~`".to_string(),
                _ => "expected an operator such as `+` here".to_string(),
            };
            return Err(self.error(*start, message));
        }
        Ok((lhs, rhs))
    }

    /// Parses the whole text as one expression (a weights column, `w * 2`).
    pub(super) fn only_expression(&mut self) -> Result<Expr, FormulaError> {
        if self.peek().is_none() {
            return Err(self.error(0, "expected an expression"));
        }
        let expr = self.expression()?;
        match self.tokens.get(self.position) {
            None => Ok(expr),
            Some((Token::Close, start, _)) => Err(self.error(*start, "unmatched `)`")),
            Some((_, start, _)) => Err(self.error(*start, "expected one expression, without `~`")),
        }
    }

    /// Parses an expression (the lowest precedence level).
    pub(super) fn expression(&mut self) -> Result<Expr, FormulaError> {
        self.binary_level(0)
    }

    fn binary_level(&mut self, level: usize) -> Result<Expr, FormulaError> {
        const LEVELS: [&[(&str, BinaryOp)]; 4] = [
            &[("|", BinaryOp::Bar), ("||", BinaryOp::DoubleBar)],
            &[("+", BinaryOp::Add), ("-", BinaryOp::Subtract)],
            &[("*", BinaryOp::Multiply), ("/", BinaryOp::Divide), ("%in%", BinaryOp::In)],
            &[(":", BinaryOp::Colon)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary_level(level + 1)?;
        while let Some(Token::Op(op)) = self.peek() {
            let Some(&(_, operator)) = LEVELS[level].iter().find(|(o, _)| o == op) else { break };
            self.position += 1;
            let rhs = self.binary_level(level + 1)?;
            let span = (lhs.span.0, rhs.span.1);
            lhs = Expr { kind: ExprKind::Binary(operator, Box::new(lhs), Box::new(rhs)), span };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, FormulaError> {
        if let Some(Token::Op(op @ ("-" | "+"))) = self.peek() {
            let negative = *op == "-";
            let start = self.here();
            self.position += 1;
            let operand = self.unary()?;
            let span = (start, operand.span.1);
            return Ok(Expr { kind: ExprKind::Unary { negative, operand: Box::new(operand) }, span });
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, FormulaError> {
        let base = self.primary()?;
        if self.peek() == Some(&Token::Op("^")) {
            self.position += 1;
            let exponent = self.unary()?;
            let span = (base.span.0, exponent.span.1);
            return Ok(Expr { kind: ExprKind::Binary(BinaryOp::Power, Box::new(base), Box::new(exponent)), span });
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, FormulaError> {
        let start = self.here();
        let Some((token, _, end)) = self.tokens.get(self.position).cloned() else {
            return Err(self.error(start, "the formula ends where a term was expected"));
        };
        self.position += 1;
        match token {
            Token::Number(value) => Ok(Expr { kind: ExprKind::Number(value), span: (start, end) }),
            Token::Name(name) => {
                if self.peek() != Some(&Token::Open) {
                    return Ok(Expr { kind: ExprKind::Name(name), span: (start, end) });
                }
                self.position += 1;
                let mut arguments = Vec::new();
                if self.peek() == Some(&Token::Close) {
                    self.position += 1;
                } else {
                    loop {
                        arguments.push(self.expression()?);
                        match self.peek() {
                            Some(Token::Comma) => self.position += 1,
                            Some(Token::Close) => {
                                self.position += 1;
                                break;
                            }
                            _ => return Err(self.error(start, format!("expected `,` or `)` to close `{name}(`"))),
                        }
                    }
                }
                Ok(Expr { kind: ExprKind::Call(name, arguments), span: (start, self.previous_end()) })
            }
            Token::Open => {
                let inner = self.expression()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error(start, "this `(` is never closed"));
                }
                self.position += 1;
                Ok(Expr { kind: ExprKind::Paren(Box::new(inner)), span: (start, self.previous_end()) })
            }
            Token::Close => Err(self.error(start, "unexpected `)`")),
            Token::Comma => Err(self.error(start, "unexpected `,`")),
            Token::Tilde => Err(self.error(start, "unexpected `~`")),
            Token::Op(op) => Err(self.error(start, format!("expected a term before `{op}`"))),
        }
    }
}
