//! R and lme4 model formulas: parsing, term expansion and the names R gives to terms.
//!
//! `y ~ a + b*c + a:b - 1`, `factor(x)`, `log(x)`, `I(x^2)`, `offset(log(n))`,
//! `cbind(successes, failures)`, random-effect terms `(1 | g)`, `(1 + x | g)`, `(x || g)`,
//! `(1 | g1/g2)`, `(1 | g1:g2)`, and the survival terms `Surv(time, status)`,
//! `Surv(start, stop, event)`, `strata(x)` and `cluster(id)` are understood. Terms are expanded
//! and ordered as R's `terms.formula` does (Chambers & Hastie 1992, *Statistical Models in S*,
//! ch. 2): by degree, then by first appearance.

mod parse;
mod terms;

pub use terms::{RandomTerm, Special, SpecialKind, Term, Terms, Variable};

use serde::{Deserialize, Serialize};
use std::fmt;

/// A parse or expansion error, pointing at the column of the formula text where it arose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormulaError {
    /// The formula text.
    pub formula: String,
    /// 0-based byte offset into the text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl FormulaError {
    pub(crate) fn new(formula: &str, offset: usize, message: String) -> Self {
        Self { formula: formula.to_string(), offset, message }
    }

    /// 1-based column (in characters) of the problem.
    pub fn column(&self) -> usize {
        self.formula[..self.offset.min(self.formula.len())].chars().count() + 1
    }
}

/// The widest part of a formula an error shows: 60 characters either side of the problem.
const ERROR_CONTEXT: usize = 60;

impl fmt::Display for FormulaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "formula error at column {}: {}", self.column(), self.message)?;
        let characters: Vec<char> = self.formula.chars().collect();
        let at = self.column() - 1;
        let from = at.saturating_sub(ERROR_CONTEXT);
        let to = (at + ERROR_CONTEXT).min(characters.len());
        let shown: String = characters[from..to].iter().collect();
        let (before, after) = (if from > 0 { "…" } else { "" }, if to < characters.len() { "…" } else { "" });
        writeln!(f, "  {before}{shown}{after}")?;
        write!(f, "  {}^", " ".repeat(at - from + before.chars().count()))
    }
}

impl std::error::Error for FormulaError {}

/// Binary operators of the formula language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%in%`
    In,
    /// `:`
    Colon,
    /// `^`
    Power,
    /// `|`
    Bar,
    /// `||`
    DoubleBar,
}

impl BinaryOp {
    fn symbol(self) -> &'static str {
        match self {
            Self::Add => " + ",
            Self::Subtract => " - ",
            Self::Multiply => " * ",
            Self::Divide => "/",
            Self::In => " %in% ",
            Self::Colon => ":",
            Self::Power => "^",
            Self::Bar => " | ",
            Self::DoubleBar => " || ",
        }
    }
}

/// The shape of an expression node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    /// A variable name.
    Name(String),
    /// A numeric literal.
    Number(f64),
    /// A function call such as `log(x)`.
    Call(String, Vec<Expr>),
    /// Unary minus or plus.
    Unary {
        /// `true` for `-`.
        negative: bool,
        /// The operand.
        operand: Box<Expr>,
    },
    /// A binary operation.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A parenthesised expression.
    Paren(Box<Expr>),
}

/// An expression of the formula language with its byte span in the formula text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Start and end byte offsets in the formula text.
    pub span: (usize, usize),
}

impl Expr {
    /// Parses `text` as one expression of the formula language: what an option such as a
    /// model's weights names (`w`, `1 / variance`).
    ///
    /// # Errors
    /// Text that is not one expression, with the place it goes wrong.
    ///
    /// # Examples
    /// ```
    /// use strata_core::formula::Expr;
    /// assert_eq!(Expr::parse("1 / v").unwrap().label(), "1/v");
    /// assert!(Expr::parse("y ~ x").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, FormulaError> {
        parse::Parser::new(text)?.only_expression()
    }

    /// The expression as R's `deparse` writes it, which is also the name R gives the term
    /// (`log(bili)`, `I(x^2)`, `size - incidence`).
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// The function name and arguments, if this is a call.
    pub fn as_call(&self) -> Option<(&str, &[Expr])> {
        match &self.kind {
            ExprKind::Call(name, arguments) => Some((name, arguments)),
            ExprKind::Paren(inner) => inner.as_call(),
            _ => None,
        }
    }

    /// The variable name, if this is a bare name.
    pub fn as_name(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Name(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Name(name) => f.write_str(name),
            ExprKind::Number(value) => f.write_str(&crate::frame::format_number(*value)),
            ExprKind::Call(name, arguments) => {
                write!(f, "{name}(")?;
                for (i, argument) in arguments.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{argument}")?;
                }
                f.write_str(")")
            }
            ExprKind::Unary { negative, operand } => write!(f, "{}{operand}", if *negative { "-" } else { "+" }),
            ExprKind::Binary(op, lhs, rhs) => write!(f, "{lhs}{}{rhs}", op.symbol()),
            ExprKind::Paren(inner) => write!(f, "({inner})"),
        }
    }
}

/// A parsed formula: the response (if any), the right-hand side, and the original text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formula {
    text: String,
    response: Option<Expr>,
    rhs: Expr,
}

impl Formula {
    /// Parses formula text.
    ///
    /// # Errors
    /// A [`FormulaError`] pointing at the offending column.
    ///
    /// # Examples
    /// ```
    /// use strata_core::formula::Formula;
    /// let formula = Formula::parse("Reaction ~ Days + (Days | Subject)").unwrap();
    /// assert_eq!(formula.response().unwrap().label(), "Reaction");
    /// let error = Formula::parse("y ~ x +").unwrap_err();
    /// assert_eq!(error.column(), 8);
    /// ```
    pub fn parse(text: &str) -> Result<Self, FormulaError> {
        let (response, rhs) = parse::Parser::new(text)?.formula()?;
        Ok(Self { text: text.to_string(), response, rhs })
    }

    /// The formula as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The left-hand side, if any.
    pub fn response(&self) -> Option<&Expr> {
        self.response.as_ref()
    }

    /// The right-hand side expression.
    pub fn rhs(&self) -> &Expr {
        &self.rhs
    }

    /// Every variable name the formula refers to, response first, each once, in order of
    /// appearance: the columns a model of it reads.
    ///
    /// # Examples
    /// ```
    /// use strata_core::formula::Formula;
    /// let formula = Formula::parse("cbind(s, n - s) ~ log(x) + x:z + (1 | la)").unwrap();
    /// assert_eq!(formula.names(), ["s", "n", "x", "z", "la"]);
    /// ```
    pub fn names(&self) -> Vec<String> {
        fn walk(expr: &Expr, out: &mut Vec<String>) {
            match &expr.kind {
                ExprKind::Name(name) => {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                ExprKind::Number(_) => {}
                ExprKind::Call(_, arguments) => arguments.iter().for_each(|a| walk(a, out)),
                ExprKind::Unary { operand, .. } => walk(operand, out),
                ExprKind::Binary(_, lhs, rhs) => {
                    walk(lhs, out);
                    walk(rhs, out);
                }
                ExprKind::Paren(inner) => walk(inner, out),
            }
        }
        let mut out = Vec::new();
        if let Some(response) = &self.response {
            walk(response, &mut out);
        }
        walk(&self.rhs, &mut out);
        out
    }

    /// Expands the right-hand side into terms as R's `terms()` does.
    ///
    /// # Errors
    /// A [`FormulaError`] for constructs that are not terms (a numeric constant other than 0 or
    /// 1, a bare `|` outside parentheses, …).
    pub fn terms(&self) -> Result<Terms, FormulaError> {
        terms::expand(self)
    }

    /// An error pointing at `expr` within this formula.
    pub fn error_at(&self, expr: &Expr, message: impl Into<String>) -> FormulaError {
        FormulaError::new(&self.text, expr.span.0, message.into())
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Formula {
    type Err = FormulaError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests;
