//! A categorical response and its design on the complete rows of a data frame: what the
//! multinomial, ordinal and ordinal mixed models all read.

use crate::error::{Error, Result};
use strata_core::design::{model_expressions, offset_values, ModelMatrix};
use strata_core::formula::Terms;
use strata_core::model_frame::ModelFrame;
use strata_core::numerics::Matrix;
use strata_core::{DataFrame, Formula};

/// A categorical response coded `0..levels.len()`, its design and weights on complete rows.
#[derive(Debug, Clone)]
pub struct CategoricalData {
    /// The response's name.
    pub response: String,
    /// The levels, in the order of the codes.
    pub levels: Vec<String>,
    /// The level code of each complete row.
    pub y: Vec<u32>,
    /// The model matrix (without the intercept when asked).
    pub x: Matrix,
    /// Its column names, as R's `model.matrix`.
    pub names: Vec<String>,
    /// For each column, the index of its term in `terms.terms` (R's `assign`).
    pub assign: Vec<Option<usize>>,
    /// Prior weights (ones without a weights column).
    pub weights: Vec<f64>,
    /// Whether a weights column was given.
    pub weighted: bool,
    /// The summed offsets.
    pub offset: Vec<f64>,
    /// The expanded terms.
    pub terms: Terms,
    /// The model frame of the complete rows.
    pub model_frame: ModelFrame,
}

impl CategoricalData {
    /// Reads `formula`'s response (a column name) as categorical with `levels` (or its distinct
    /// values in sorted order: numerically when they are all numbers, else in byte order), the
    /// fixed-effect design with or without its intercept, and prior weights from `weights`.
    ///
    /// # Errors
    /// A formula whose response is not a column, unknown columns, a value outside `levels`, a
    /// level with no observation, fewer than two levels, negative or non-finite weights.
    pub fn new(
        formula: &Formula,
        frame: &DataFrame,
        levels: Option<&[String]>,
        weights: Option<&str>,
        intercept: bool,
    ) -> Result<Self> {
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        let response_expr = formula
            .response()
            .ok_or_else(|| Error::Specification("the formula needs a response on the left of `~`".into()))?;
        let response = response_expr
            .as_name()
            .ok_or_else(|| Error::Specification(format!("the response `{response_expr}` must be a column name")))?
            .to_string();
        let weight_expr =
            weights.map(strata_core::formula::Expr::parse).transpose().map_err(strata_core::Error::from)?;
        let mut extra = vec![response_expr];
        extra.extend(weight_expr.iter());
        let model_frame = ModelFrame::new(frame, &model_expressions(&terms, &extra))?;
        let column = frame.column(&response)?;
        let rows = model_frame.rows();
        // Each distinct value's text once: a categorical column's levels, else the values.
        let (value_codes, value_texts): (Vec<u32>, Vec<String>) =
            if let strata_core::Column::Categorical { codes, levels } = column {
                (rows.iter().map(|&r| codes.values()[r]).collect(), levels.clone())
            } else {
                let texts: Vec<String> = rows.iter().map(|&r| column.text(r).unwrap_or_default()).collect();
                let mut distinct = texts.clone();
                distinct.sort();
                distinct.dedup();
                let codes = texts.iter().map(|t| distinct.binary_search(t).unwrap_or(0) as u32).collect();
                (codes, distinct)
            };
        let used: Vec<String> = {
            let mut seen = vec![false; value_texts.len()];
            for &c in &value_codes {
                seen[c as usize] = true;
            }
            value_texts.iter().zip(&seen).filter(|(_, s)| **s).map(|(t, _)| t.clone()).collect()
        };
        let levels: Vec<String> = if let Some(given) = levels {
            for (k, level) in given.iter().enumerate() {
                if given[..k].contains(level) {
                    return Err(Error::Specification(format!("level `{level}` is listed twice")));
                }
            }
            given.to_vec()
        } else {
            strata_core::frame::sorted_distinct(used)
        };
        if levels.len() < 2 {
            return Err(Error::Specification(format!(
                "response `{response}` has {} level(s): a categorical model needs at least two",
                levels.len()
            )));
        }
        let position: Vec<Option<u32>> =
            value_texts.iter().map(|t| levels.iter().position(|l| l == t).map(|k| k as u32)).collect();
        let y = value_codes
            .iter()
            .zip(rows)
            .map(|(&c, &row)| {
                position[c as usize].ok_or_else(|| Error::UnknownLevel {
                    response: response.clone(),
                    value: value_texts[c as usize].clone(),
                    row: row + 1,
                    levels: levels.join(","),
                })
            })
            .collect::<Result<Vec<u32>>>()?;
        let mut counts = vec![0usize; levels.len()];
        for &c in &y {
            counts[c as usize] += 1;
        }
        if let Some(empty) = counts.iter().position(|&c| c == 0) {
            return Err(Error::EmptyLevel { response, level: levels[empty].clone() });
        }
        let weight_values = match &weight_expr {
            Some(expr) => {
                let values = model_frame.numeric(expr)?.to_vec();
                if let Some(i) = values.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
                    return Err(Error::Core(strata_core::Error::InvalidValue {
                        name: expr.label(),
                        row: model_frame.rows()[i] + 1,
                        value: values[i].to_string(),
                        reason: "weights must be finite and non-negative".into(),
                    }));
                }
                values
            }
            None => vec![1.0; y.len()],
        };
        let mut matrix = ModelMatrix::new(&terms, &model_frame)?;
        let drop: Vec<bool> = matrix.names.iter().map(|n| !intercept && n == "(Intercept)").collect();
        if drop.contains(&true) {
            matrix = matrix.without(&drop);
        }
        let ModelMatrix { matrix: x, names, assign } = matrix;
        let offset = offset_values(&terms, &model_frame)?;
        Ok(Self {
            response,
            levels,
            y,
            x,
            names,
            assign,
            weights: weight_values,
            weighted: weights.is_some(),
            offset,
            terms,
            model_frame,
        })
    }
}
