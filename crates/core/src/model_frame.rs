//! Evaluating a model's variables against a data frame, with R's `na.omit` and
//! `drop.unused.levels` semantics.

use crate::error::{Error, Result};
use crate::formula::{BinaryOp, Expr, ExprKind};
use crate::frame::{format_number, Column, DataFrame};
use crate::masked::Masked;
use crate::parallel::{fill, find_first, threads};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// A variable's values on the complete rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Values {
    /// Numbers (shared with the data frame's column when every row is used).
    Numeric(Arc<Vec<f64>>),
    /// A factor: level codes into `levels` (only the levels that occur).
    Factor {
        /// Code of each row.
        codes: Vec<u32>,
        /// Level labels, in R's order.
        levels: Vec<String>,
    },
}

enum Raw<'a> {
    /// Borrowed for a float column (no copy of the data), owned when computed.
    Numeric(Cow<'a, Masked<f64>>),
    Factor {
        codes: Cow<'a, Masked<u32>>,
        levels: Vec<String>,
    },
}

impl Raw<'_> {
    fn is_missing(&self, i: usize) -> bool {
        match self {
            Raw::Numeric(values) => values.is_missing(i),
            Raw::Factor { codes, .. } => codes.is_missing(i),
        }
    }

    fn missing_count(&self) -> usize {
        match self {
            Raw::Numeric(values) => values.missing_count(),
            Raw::Factor { codes, .. } => codes.missing_count(),
        }
    }
}

const FUNCTIONS: &str = "log, log2, log10, log1p, exp, sqrt, abs, factor, as.factor, as.numeric, I";

fn evaluate<'a>(expr: &Expr, frame: &'a DataFrame) -> Result<Raw<'a>> {
    let label = expr.label();
    let numeric = |raw: Raw| -> Result<Masked<f64>> {
        match raw {
            Raw::Numeric(values) => Ok(values.into_owned()),
            Raw::Factor { .. } => Err(Error::ColumnType {
                name: label.clone(),
                found: "categorical (text)".into(),
                expected: "a number for arithmetic".into(),
            }),
        }
    };
    let map = |raw: Raw, f: fn(f64) -> f64| -> Result<Raw<'a>> { Ok(Raw::Numeric(Cow::Owned(numeric(raw)?.map(f)))) };
    match &expr.kind {
        ExprKind::Name(name) => Ok(match frame.column(name)? {
            Column::Float(values) => Raw::Numeric(Cow::Borrowed(values)),
            Column::Integer(values) => Raw::Numeric(Cow::Owned(values.map(|x| x as f64))),
            Column::Boolean(values) => {
                Raw::Factor { codes: Cow::Owned(values.map(u32::from)), levels: vec!["FALSE".into(), "TRUE".into()] }
            }
            Column::Categorical { codes, levels } => {
                Raw::Factor { codes: Cow::Borrowed(codes), levels: levels.clone() }
            }
        }),
        ExprKind::Number(value) => Ok(Raw::Numeric(Cow::Owned(Masked::from_values(vec![*value; frame.nrows()])))),
        ExprKind::Paren(inner) => evaluate(inner, frame),
        ExprKind::Unary { negative, operand } => {
            let values = numeric(evaluate(operand, frame)?)?;
            let sign = if *negative { -1.0 } else { 1.0 };
            Ok(Raw::Numeric(Cow::Owned(values.map(|x| sign * x))))
        }
        ExprKind::Binary(op, lhs, rhs) => {
            let a = numeric(evaluate(lhs, frame)?)?;
            let b = numeric(evaluate(rhs, frame)?)?;
            let f: fn(f64, f64) -> f64 = match op {
                BinaryOp::Add => |x, y| x + y,
                BinaryOp::Subtract => |x, y| x - y,
                BinaryOp::Multiply => |x, y| x * y,
                BinaryOp::Divide => |x, y| x / y,
                BinaryOp::Power => f64::powf,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "`{label}`: the formula operator cannot be evaluated as arithmetic here; wrap arithmetic in I()"
                    )))
                }
            };
            Ok(Raw::Numeric(Cow::Owned(a.iter().zip(b.iter()).map(|(x, y)| Some(f(x?, y?))).collect())))
        }
        ExprKind::Call(name, arguments) => {
            let [argument] = arguments.as_slice() else {
                return Err(Error::InvalidArgument(format!("`{label}`: {name}() takes one argument here")));
            };
            let inner = evaluate(argument, frame)?;
            match name.as_str() {
                "log" => map(inner, f64::ln),
                "log2" => map(inner, f64::log2),
                "log10" => map(inner, f64::log10),
                "log1p" => map(inner, f64::ln_1p),
                "exp" => map(inner, f64::exp),
                "sqrt" => map(inner, f64::sqrt),
                "abs" => map(inner, f64::abs),
                "I" | "as.numeric" => Ok(Raw::Numeric(Cow::Owned(numeric(inner)?))),
                "factor" | "as.factor" => Ok(match inner {
                    Raw::Factor { .. } => inner,
                    Raw::Numeric(values) => {
                        let mut distinct: Vec<f64> = values.iter().flatten().filter(|x| !x.is_nan()).collect();
                        distinct.sort_by(f64::total_cmp);
                        distinct.dedup_by(|a, b| a.total_cmp(b).is_eq());
                        let codes = values
                            .iter()
                            .map(|v| {
                                v.and_then(|x| distinct.binary_search_by(|d| d.total_cmp(&x)).ok()).map(|c| c as u32)
                            })
                            .collect();
                        Raw::Factor {
                            codes: Cow::Owned(codes),
                            levels: distinct.into_iter().map(format_number).collect(),
                        }
                    }
                }),
                _ => Err(Error::InvalidArgument(format!("`{label}`: unknown function `{name}` (known: {FUNCTIONS})"))),
            }
        }
    }
}

/// The evaluated variables of a model on its complete rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFrame {
    rows: Vec<usize>,
    labels: Vec<String>,
    values: Vec<Values>,
}

impl ModelFrame {
    /// Evaluates `exprs` on `frame`, keeps the rows where none is missing (R's `na.omit`), and
    /// drops factor levels that no longer occur (R's `drop.unused.levels`).
    ///
    /// # Errors
    /// [`Error::UnknownColumn`], [`Error::ColumnType`] or [`Error::InvalidArgument`] from
    /// evaluation; [`Error::NonFinite`] for a NaN or infinite value (including `log(0)`);
    /// [`Error::NoObservations`] if no row is complete.
    pub fn new(frame: &DataFrame, exprs: &[&Expr]) -> Result<Self> {
        Self::with_levels(frame, exprs, &[])
    }

    /// As [`ModelFrame::new`], but factors named in `levels` keep exactly those levels, in that
    /// order (the levels of the data a model was fitted to, for predictions on new data).
    ///
    /// # Errors
    /// As [`ModelFrame::new`], and [`Error::InvalidValue`] for a value whose level the fitted
    /// data did not have.
    pub fn with_levels(frame: &DataFrame, exprs: &[&Expr], levels: &[(String, Vec<String>)]) -> Result<Self> {
        let mut labels: Vec<String> = Vec::new();
        let mut raws = Vec::new();
        for expr in exprs {
            let label = expr.label();
            if labels.contains(&label) {
                continue;
            }
            raws.push(evaluate(expr, frame)?);
            labels.push(label);
        }
        let n = frame.nrows();
        let incomplete: Vec<&Raw> = raws.iter().filter(|raw| raw.missing_count() > 0).collect();
        let rows: Vec<usize> = if incomplete.is_empty() {
            let mut rows = vec![0; n];
            fill(&mut rows, threads(), |i| i);
            rows
        } else {
            (0..n).filter(|&i| incomplete.iter().all(|raw| !raw.is_missing(i))).collect()
        };
        if rows.is_empty() {
            let message = if n == 0 {
                "the data have no rows".to_string()
            } else {
                let missing: Vec<String> = labels
                    .iter()
                    .zip(&raws)
                    .map(|(label, raw)| (label, raw.missing_count()))
                    .filter(|(_, count)| *count > 0)
                    .map(|(label, count)| format!("`{label}` is missing in {count} of {n} rows"))
                    .collect();
                missing.join("; ")
            };
            return Err(Error::NoObservations(message));
        }
        let mut values = Vec::with_capacity(raws.len());
        for (label, raw) in labels.iter().zip(raws) {
            values.push(match raw {
                Raw::Numeric(v) => {
                    let kept: Arc<Vec<f64>> = if rows.len() == n {
                        // A computed column (`log(x)`) moves in; a column of the frame is shared.
                        match v {
                            Cow::Owned(values) => Arc::new(values.into_values()),
                            Cow::Borrowed(values) => values.shared(),
                        }
                    } else {
                        Arc::new(rows.iter().map(|&i| v.values()[i]).collect())
                    };
                    if let Some(position) = find_first(kept.len(), threads(), |i| !kept[i].is_finite()) {
                        return Err(Error::NonFinite {
                            name: label.clone(),
                            row: rows[position] + 1,
                            value: format_number(kept[position]),
                        });
                    }
                    Values::Numeric(kept)
                }
                Raw::Factor { codes, levels: own } if levels.iter().any(|(l, _)| l == label) => {
                    let fitted = &levels.iter().find(|(l, _)| l == label).expect("checked").1;
                    let remap: Vec<Option<u32>> =
                        own.iter().map(|level| fitted.iter().position(|f| f == level).map(|p| p as u32)).collect();
                    let mut mapped = Vec::with_capacity(rows.len());
                    for &i in &rows {
                        let code = codes.values()[i] as usize;
                        mapped.push(remap[code].ok_or_else(|| Error::InvalidValue {
                            name: label.clone(),
                            row: i + 1,
                            value: own[code].clone(),
                            reason: "this level was not in the data the model was fitted to".into(),
                        })?);
                    }
                    Values::Factor { codes: mapped, levels: fitted.clone() }
                }
                Raw::Factor { codes, levels } => {
                    let mut used = vec![false; levels.len()];
                    for &i in &rows {
                        used[codes.values()[i] as usize] = true;
                    }
                    let mut remap = vec![0u32; levels.len()];
                    let mut kept_levels = Vec::new();
                    for (l, level) in levels.into_iter().enumerate() {
                        if used[l] {
                            remap[l] = kept_levels.len() as u32;
                            kept_levels.push(level);
                        }
                    }
                    Values::Factor {
                        codes: rows.iter().map(|&i| remap[codes.values()[i] as usize]).collect(),
                        levels: kept_levels,
                    }
                }
            });
        }
        Ok(Self { rows, labels, values })
    }

    /// The levels of every factor variable, by label (to predict on new data).
    pub fn factor_levels(&self) -> Vec<(String, Vec<String>)> {
        self.labels
            .iter()
            .zip(&self.values)
            .filter_map(|(label, values)| match values {
                Values::Factor { levels, .. } => Some((label.clone(), levels.clone())),
                Values::Numeric(_) => None,
            })
            .collect()
    }

    /// Number of complete rows.
    pub fn nrows(&self) -> usize {
        self.rows.len()
    }

    /// The 0-based indices, in the original data, of the rows kept.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The values of `expr`, which must have been among those evaluated.
    ///
    /// # Panics
    /// If `expr` was not passed to [`ModelFrame::new`] (a programmer error).
    pub fn values(&self, expr: &Expr) -> &Values {
        self.by_label(&expr.label())
    }

    /// Moves the numbers of `expr` out of the frame, for a model that keeps them, instead of
    /// copying them (they are copied only if the frame was cloned): the frame's own values of
    /// `expr` are left empty, so this is for the last read of `expr`.
    ///
    /// # Errors
    /// [`Error::ColumnType`] if `expr` is categorical.
    ///
    /// # Panics
    /// If `expr` was not evaluated.
    pub fn take_numeric(&mut self, expr: &Expr) -> Result<Vec<f64>> {
        self.numeric(expr)?;
        let label = expr.label();
        let i = self.labels.iter().position(|l| *l == label).expect("evaluated, as numeric() found");
        match std::mem::replace(&mut self.values[i], Values::Numeric(Arc::new(Vec::new()))) {
            Values::Numeric(values) => Ok(Arc::try_unwrap(values).unwrap_or_else(|shared| shared.as_ref().clone())),
            Values::Factor { .. } => unreachable!("numeric() checked the type"),
        }
    }

    /// Moves the complete rows out of the frame (see [`ModelFrame::rows`]), leaving none.
    pub fn take_rows(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.rows)
    }

    fn by_label(&self, label: &str) -> &Values {
        let i = self.labels.iter().position(|l| l == label).unwrap_or_else(|| panic!("`{label}` was not evaluated"));
        &self.values[i]
    }

    /// The values of `expr` as numbers.
    ///
    /// # Errors
    /// [`Error::ColumnType`] if `expr` is categorical.
    ///
    /// # Panics
    /// If `expr` was not evaluated.
    pub fn numeric(&self, expr: &Expr) -> Result<&[f64]> {
        match self.values(expr) {
            Values::Numeric(v) => Ok(v),
            Values::Factor { .. } => Err(Error::ColumnType {
                name: expr.label(),
                found: "categorical (text)".into(),
                expected: "a numeric variable".into(),
            }),
        }
    }

    /// The values of `expr` as a grouping factor: numbers become levels, as `factor()` would.
    ///
    /// # Panics
    /// If `expr` was not evaluated.
    pub fn factor(&self, expr: &Expr) -> (Vec<u32>, Vec<String>) {
        match self.values(expr) {
            Values::Factor { codes, levels } => (codes.clone(), levels.clone()),
            Values::Numeric(values) => {
                let mut distinct = values.to_vec();
                distinct.sort_by(f64::total_cmp);
                distinct.dedup_by(|a, b| a.total_cmp(b).is_eq());
                let codes = values
                    .iter()
                    .map(|x| distinct.binary_search_by(|d| d.total_cmp(x)).expect("present") as u32)
                    .collect();
                (codes, distinct.into_iter().map(format_number).collect())
            }
        }
    }

    /// The interaction of several grouping factors (`g1:g2`), levels named `a:b` as R's
    /// `interaction(..., drop = TRUE, sep = ":")` with the first factor varying slowest
    /// in the label but levels sorted as the labels' byte order.
    ///
    /// # Panics
    /// If a part was not evaluated.
    pub fn interaction(&self, parts: &[Expr]) -> (Vec<u32>, Vec<String>) {
        if let [single] = parts {
            return self.factor(single);
        }
        let factors: Vec<(Vec<u32>, Vec<String>)> = parts.iter().map(|p| self.factor(p)).collect();
        let labels: Vec<Option<String>> = (0..self.nrows())
            .map(|i| {
                Some(
                    factors
                        .iter()
                        .map(|(codes, levels)| levels[codes[i] as usize].as_str())
                        .collect::<Vec<_>>()
                        .join(":"),
                )
            })
            .collect();
        match Column::categorical_from(&labels) {
            Column::Categorical { codes, levels } => (codes.values().to_vec(), levels),
            _ => unreachable!("categorical_from returns a categorical column"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::Formula;

    fn frame() -> DataFrame {
        DataFrame::new()
            .with("x", Column::Float(vec![Some(1.0), None, Some(4.0), Some(0.0)].into()))
            .unwrap()
            .with_levels("g", &["b", "a", "c", "c"])
            .unwrap()
    }

    /// Values and rows move out of the frame; values a clone of the frame still holds are copied.
    #[test]
    fn takes_values_and_rows() {
        let expr = Expr::parse("I(x^2)").unwrap();
        let mut model_frame = ModelFrame::new(&frame(), &[&expr]).unwrap();
        let clone = model_frame.clone();
        assert_eq!(model_frame.take_numeric(&expr).unwrap(), [1.0, 16.0, 0.0]);
        assert!(model_frame.numeric(&expr).unwrap().is_empty());
        assert_eq!(clone.numeric(&expr).unwrap(), [1.0, 16.0, 0.0]);
        assert_eq!(model_frame.take_rows(), [0, 2, 3]);
        assert!(model_frame.rows().is_empty());
        let factor = Expr::parse("g").unwrap();
        assert!(ModelFrame::new(&frame(), &[&factor]).unwrap().take_numeric(&factor).is_err());
    }

    #[test]
    fn drops_incomplete_rows_and_unused_levels() {
        let formula = Formula::parse("I(x^2) ~ g").unwrap();
        let terms = formula.terms().unwrap();
        let exprs: Vec<&Expr> = terms.variables.iter().map(|v| &v.expr).collect();
        let model_frame = ModelFrame::new(&frame(), &exprs).unwrap();
        assert_eq!(model_frame.rows(), [0, 2, 3]);
        assert_eq!(model_frame.numeric(&terms.variables[0].expr).unwrap(), [1.0, 16.0, 0.0]);
        assert_eq!(
            model_frame.values(&terms.variables[1].expr),
            &Values::Factor { codes: vec![0, 1, 1], levels: vec!["b".into(), "c".into()] }
        );
    }

    #[test]
    fn non_finite_values_are_errors_that_name_the_row() {
        let formula = Formula::parse("log(x) ~ 1").unwrap();
        let error = ModelFrame::new(&frame(), &[formula.response().unwrap()]).unwrap_err();
        assert_eq!(error.to_string(), "`log(x)` is not finite (-Inf) at data row 4");
    }

    #[test]
    fn unknown_functions_are_named() {
        let formula = Formula::parse("y ~ poly(x)").unwrap();
        let terms = formula.terms().unwrap();
        let error = ModelFrame::new(&frame(), &[&terms.variables[1].expr]).unwrap_err();
        assert!(error.to_string().contains("unknown function `poly`"), "{error}");
    }
}
