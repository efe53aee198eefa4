//! Expanding a formula's right-hand side into R's ordered list of terms.

use super::{BinaryOp, Expr, ExprKind, Formula, FormulaError};
use serde::{Deserialize, Serialize};

/// A variable of the model: a column or an expression of columns (`log(x)`, `factor(decile)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// The name R gives it (its deparsed text).
    pub label: String,
    /// The expression to evaluate against the data.
    pub expr: Expr,
}

/// One term: a main effect or an interaction of variables, by index into [`Terms::variables`]
/// in order of first appearance, which is how R orders the parts of a label (`b:a`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// Indices into [`Terms::variables`], ascending.
    pub variables: Vec<usize>,
}

/// A random-effect term `(lhs | group)` after lme4's expansion of `/` and `||`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomTerm {
    /// The terms of the left-hand side (`1 + x` → intercept and `x`).
    pub terms: Terms,
    /// The grouping variables; several for an interaction `g1:g2`.
    pub group: Vec<Expr>,
    /// The group's name as lme4 prints it (`cask:batch` for `batch/cask`).
    pub group_label: String,
}

/// Which survival special a [`Special`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpecialKind {
    /// `strata(x)`: a separate baseline hazard per level.
    Strata,
    /// `cluster(id)`: robust variance clustered on `id`.
    Cluster,
}

/// A survival special term, kept out of the design matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Special {
    /// Which special.
    pub kind: SpecialKind,
    /// Its arguments.
    pub arguments: Vec<Expr>,
}

/// The expanded right-hand side of a formula.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Terms {
    /// Every variable, in order of first appearance (the response first, if it is a variable).
    pub variables: Vec<Variable>,
    /// Fixed-effect terms, ordered by degree then by appearance.
    pub terms: Vec<Term>,
    /// Whether the model has an intercept.
    pub intercept: bool,
    /// `offset(...)` expressions.
    pub offsets: Vec<Expr>,
    /// Random-effect terms.
    pub random: Vec<RandomTerm>,
    /// `strata()` and `cluster()` terms.
    pub specials: Vec<Special>,
}

impl Terms {
    /// The label of term `t` as R writes it (`a`, `a:b`).
    pub fn label(&self, t: &Term) -> String {
        t.variables.iter().map(|&v| self.variables[v].label.as_str()).collect::<Vec<_>>().join(":")
    }

    /// Labels of every fixed term, in order.
    pub fn labels(&self) -> Vec<String> {
        self.terms.iter().map(|t| self.label(t)).collect()
    }
}

#[derive(Default)]
struct Expansion {
    terms: Vec<Vec<usize>>,
    removed: Vec<Vec<usize>>,
    intercept: Option<bool>,
}

impl Expansion {
    fn add(&mut self, term: Vec<usize>) {
        if !self.terms.contains(&term) {
            self.terms.push(term);
        }
    }

    fn union(mut self, other: Self) -> Self {
        for term in other.terms {
            self.add(term);
        }
        self.removed.extend(other.removed);
        self.intercept = other.intercept.or(self.intercept);
        self
    }

    fn interact(&self, other: &Self) -> Self {
        let mut out = Self::default();
        for a in &self.terms {
            for b in &other.terms {
                let mut term: Vec<usize> = a.iter().chain(b).copied().collect();
                term.sort_unstable();
                term.dedup();
                out.add(term);
            }
        }
        out
    }
}

struct Expander<'a> {
    formula: &'a Formula,
    out: Terms,
    allow_random: bool,
}

pub(super) fn expand(formula: &Formula) -> Result<Terms, FormulaError> {
    let mut expander = Expander { formula, out: Terms::default(), allow_random: true };
    let response = formula
        .response()
        .filter(|r| r.as_call().is_none_or(|(name, _)| !matches!(name, "Surv" | "cbind")))
        .map(|r| expander.variable(r));
    let expansion = expander.expand(formula.rhs())?;
    let terms = expander.finish(expansion, true);
    // R drops such a term with a warning ("the response appeared on the right-hand side"); a
    // model of y on itself is a mistake, so it is an error here.
    if let Some(r) = response {
        if terms.terms.iter().any(|t| t.variables.contains(&r)) {
            return Err(formula.error_at(
                formula.rhs(),
                format!("the response `{}` also appears on the right-hand side", terms.variables[r].label),
            ));
        }
    }
    Ok(terms)
}

impl Expander<'_> {
    fn error(&self, expr: &Expr, message: impl Into<String>) -> FormulaError {
        self.formula.error_at(expr, message)
    }

    fn variable(&mut self, expr: &Expr) -> usize {
        let label = expr.label();
        if let Some(i) = self.out.variables.iter().position(|v| v.label == label) {
            return i;
        }
        self.out.variables.push(Variable { label, expr: expr.clone() });
        self.out.variables.len() - 1
    }

    fn finish(&mut self, expansion: Expansion, default_intercept: bool) -> Terms {
        let mut terms: Vec<Vec<usize>> =
            expansion.terms.into_iter().filter(|t| !expansion.removed.contains(t)).collect();
        terms.sort_by_key(Vec::len);
        let mut out = std::mem::take(&mut self.out);
        out.terms = terms.into_iter().map(|variables| Term { variables }).collect();
        out.intercept = expansion.intercept.unwrap_or(default_intercept);
        out
    }

    fn expand(&mut self, expr: &Expr) -> Result<Expansion, FormulaError> {
        match &expr.kind {
            ExprKind::Number(v) if *v == 0.0 => Ok(Expansion { intercept: Some(false), ..Expansion::default() }),
            ExprKind::Number(v) if *v == 1.0 => Ok(Expansion { intercept: Some(true), ..Expansion::default() }),
            ExprKind::Number(_) => {
                Err(self.error(expr, "a numeric constant other than 0 or 1 is not a term; wrap arithmetic in I()"))
            }
            ExprKind::Name(_) => Ok(self.single(expr)),
            ExprKind::Paren(inner) => match &inner.kind {
                ExprKind::Binary(op @ (BinaryOp::Bar | BinaryOp::DoubleBar), lhs, rhs) => {
                    if !self.allow_random {
                        return Err(self.error(expr, "random-effect terms cannot be nested"));
                    }
                    self.random(lhs, rhs, *op == BinaryOp::DoubleBar)?;
                    Ok(Expansion::default())
                }
                _ => self.expand(inner),
            },
            ExprKind::Unary { negative, operand } => {
                let inner = self.expand(operand)?;
                if !negative {
                    return Ok(inner);
                }
                Ok(Expansion { terms: Vec::new(), removed: inner.terms, intercept: inner.intercept.map(|i| !i) })
            }
            ExprKind::Call(name, arguments) => match name.as_str() {
                "offset" => {
                    let [argument] = arguments.as_slice() else {
                        return Err(self.error(expr, "offset() takes one argument"));
                    };
                    self.out.offsets.push(argument.clone());
                    Ok(Expansion::default())
                }
                "strata" | "cluster" => {
                    if arguments.is_empty() {
                        return Err(self.error(expr, format!("{name}() needs a variable")));
                    }
                    let kind = if name == "strata" { SpecialKind::Strata } else { SpecialKind::Cluster };
                    self.out.specials.push(Special { kind, arguments: arguments.clone() });
                    Ok(Expansion::default())
                }
                "Surv" | "cbind" => Err(self.error(expr, format!("{name}() belongs on the left of `~`"))),
                _ => Ok(self.single(expr)),
            },
            ExprKind::Binary(op, lhs, rhs) => {
                let op = *op;
                if matches!(op, BinaryOp::Bar | BinaryOp::DoubleBar) {
                    return Err(self.error(expr, "a random-effect term must be in parentheses, as in (1 | g)"));
                }
                if op == BinaryOp::Power {
                    let ExprKind::Number(order) = rhs.kind else {
                        return Err(
                            self.error(rhs, "the power of a term must be a whole number; use I() for arithmetic")
                        );
                    };
                    if order < 1.0 || order.fract() != 0.0 {
                        return Err(self.error(rhs, "the power of a term must be a whole number of at least 1"));
                    }
                    let base = self.expand(lhs)?;
                    let mut result = Expansion { terms: base.terms.clone(), ..Expansion::default() };
                    for _ in 1..order as usize {
                        let next = result.interact(&base);
                        result = result.union(next);
                    }
                    return Ok(result);
                }
                let a = self.expand(lhs)?;
                let b = self.expand(rhs)?;
                Ok(match op {
                    BinaryOp::Add => a.union(b),
                    BinaryOp::Subtract => {
                        let mut result = a;
                        result.removed.extend(b.terms);
                        if let Some(intercept) = b.intercept {
                            result.intercept = Some(!intercept);
                        }
                        result
                    }
                    BinaryOp::Colon => a.interact(&b),
                    BinaryOp::Multiply => {
                        let product = a.interact(&b);
                        a.union(b).union(product)
                    }
                    BinaryOp::Divide | BinaryOp::In => {
                        let mut all: Vec<usize> = a.terms.iter().flatten().copied().collect();
                        all.sort_unstable();
                        all.dedup();
                        let outer = Expansion { terms: vec![all], ..Expansion::default() };
                        let nested = outer.interact(&b);
                        if op == BinaryOp::In {
                            nested
                        } else {
                            a.union(nested)
                        }
                    }
                    BinaryOp::Power | BinaryOp::Bar | BinaryOp::DoubleBar => unreachable!("handled above"),
                })
            }
        }
    }

    fn single(&mut self, expr: &Expr) -> Expansion {
        let v = self.variable(expr);
        Expansion { terms: vec![vec![v]], ..Expansion::default() }
    }

    fn random(&mut self, lhs: &Expr, rhs: &Expr, uncorrelated: bool) -> Result<(), FormulaError> {
        let mut inner = Expander { formula: self.formula, out: Terms::default(), allow_random: false };
        let expansion = inner.expand(lhs)?;
        let lhs_terms = inner.finish(expansion, true);
        if !lhs_terms.offsets.is_empty() || !lhs_terms.specials.is_empty() {
            return Err(self.error(lhs, "offsets and specials cannot be random effects"));
        }
        if lhs_terms.terms.is_empty() && !lhs_terms.intercept {
            return Err(self.error(lhs, "the random-effect term has no effects"));
        }
        for group in grouping_factors(self.formula, rhs)? {
            if uncorrelated {
                if lhs_terms.intercept {
                    let intercept_only = Terms { intercept: true, ..Terms::default() };
                    self.out.random.push(RandomTerm { terms: intercept_only, ..group.clone() });
                }
                for term in &lhs_terms.terms {
                    let single = Terms {
                        variables: lhs_terms.variables.clone(),
                        terms: vec![term.clone()],
                        intercept: false,
                        ..Terms::default()
                    };
                    self.out.random.push(RandomTerm { terms: single, ..group.clone() });
                }
            } else {
                self.out.random.push(RandomTerm { terms: lhs_terms.clone(), ..group });
            }
        }
        Ok(())
    }
}

/// The grouping factors of `(… | rhs)`: `g`, `g1:g2`, or `g1/g2` (→ `g2:g1` and `g1`, in lme4's
/// order: the most nested factor first; `g1/g2/g3` gives `g3:g2:g1`, `g2:g1`, `g1`).
fn grouping_factors(formula: &Formula, rhs: &Expr) -> Result<Vec<RandomTerm>, FormulaError> {
    fn parts(formula: &Formula, expr: &Expr, out: &mut Vec<Expr>) -> Result<(), FormulaError> {
        match &expr.kind {
            ExprKind::Binary(BinaryOp::Colon, a, b) => {
                parts(formula, a, out)?;
                parts(formula, b, out)
            }
            ExprKind::Name(_) | ExprKind::Call(..) => {
                out.push(expr.clone());
                Ok(())
            }
            ExprKind::Paren(inner) => parts(formula, inner, out),
            _ => Err(formula.error_at(expr, "a grouping factor must be a variable or an interaction g1:g2")),
        }
    }
    fn make(group: Vec<Expr>) -> RandomTerm {
        let group_label = group.iter().map(Expr::label).collect::<Vec<_>>().join(":");
        RandomTerm { terms: Terms::default(), group, group_label }
    }
    if let ExprKind::Binary(BinaryOp::Divide, outer, inner) = &rhs.kind {
        let outer_groups = grouping_factors(formula, outer)?;
        let mut nested = Vec::new();
        parts(formula, inner, &mut nested)?;
        nested.extend(outer_groups[0].group.iter().cloned());
        return Ok(std::iter::once(make(nested)).chain(outer_groups).collect());
    }
    let mut group = Vec::new();
    parts(formula, rhs, &mut group)?;
    Ok(vec![make(group)])
}
