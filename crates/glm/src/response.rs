//! The response, weights and offset of a GLM-type formula on its complete rows, shared by GLMs
//! and generalised linear mixed models.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use strata_core::design::{model_expressions, offset_values};
use strata_core::family::Family;
use strata_core::formula::{Expr, Terms};
use strata_core::model_frame::{ModelFrame, Values};
use strata_core::{DataFrame, Formula};

/// A formula's response evaluated for a family: proportions and trials for the binomial
/// (`cbind(successes, failures)` or 0/1), values otherwise, checked against the family's range.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseData {
    /// The expanded terms.
    pub terms: Terms,
    /// Every model variable on the complete rows (fixed, random, offsets, response, weights).
    pub model_frame: ModelFrame,
    /// The response (a proportion for the binomial).
    pub y: Vec<f64>,
    /// Prior weights times binomial trials.
    pub weights: Vec<f64>,
    /// Binomial trials (ones otherwise).
    pub trials: Vec<f64>,
    /// The summed offsets.
    pub offset: Vec<f64>,
}

/// A formula's response evaluated for a family, with only what the formula and the caller give:
/// prior weights if a column is named, binomial trials for `cbind()`, the offset if the formula
/// has one. [`ResponseData`] fills in the rest; a fit that needs no column of ones (a
/// fixed-effects fit of ten million rows) uses this directly.
#[derive(Debug, Clone)]
pub struct Response {
    /// The expanded terms.
    pub terms: Terms,
    /// Every model variable on the complete rows.
    pub model_frame: ModelFrame,
    /// The response (a proportion for `cbind(successes, failures)`).
    pub y: Vec<f64>,
    /// Prior weights, when a column is named.
    pub prior: Option<Vec<f64>>,
    /// Binomial trials, for `cbind(successes, failures)`.
    pub trials: Option<Vec<f64>>,
    /// The summed offsets, when the formula has any.
    pub offset: Option<Vec<f64>>,
}

impl Response {
    /// Evaluates `formula`'s response for `family` on `frame`, with prior weights from column
    /// `weights`.
    ///
    /// # Errors
    /// Formula and data errors; [`Error::InvalidResponse`] for a value outside the family's
    /// range; [`Error::Specification`] for `cbind()` outside the binomial family.
    pub fn new(formula: &Formula, family: Family, weights: Option<&str>, frame: &DataFrame) -> Result<Self> {
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        let response = formula
            .response()
            .ok_or_else(|| Error::Specification("the formula needs a response on the left of `~`".into()))?;
        let weight_expr =
            weights.map(strata_core::formula::Expr::parse).transpose().map_err(strata_core::Error::from)?;
        let (parts, is_cbind): (Vec<&Expr>, bool) = match response.as_call() {
            Some(("cbind", arguments)) => {
                if arguments.len() != 2 {
                    return Err(Error::Specification("cbind() takes two arguments: successes and failures".into()));
                }
                if family != Family::Binomial {
                    return Err(Error::Specification("cbind(successes, failures) is a binomial response".into()));
                }
                (arguments.iter().collect(), true)
            }
            _ => (vec![response], false),
        };
        let mut extra = parts.clone();
        extra.extend(weight_expr.iter());
        let model_frame = ModelFrame::new(frame, &model_expressions(&terms, &extra))?;
        let n = model_frame.nrows();
        let rows = model_frame.rows();
        let prior = weight_expr.as_ref().map(|w| model_frame.numeric(w).map(<[f64]>::to_vec)).transpose()?;
        if let Some((i, w)) = prior.iter().flatten().enumerate().find(|(_, w)| **w < 0.0) {
            return Err(strata_core::Error::InvalidValue {
                name: weights.unwrap_or_default().to_string(),
                row: rows[i] + 1,
                value: w.to_string(),
                reason: "weights must not be negative".into(),
            }
            .into());
        }
        let label = response.label();
        let invalid = |i: usize, value: f64, reason: &str| Error::InvalidResponse {
            response: label.clone(),
            row: rows[i] + 1,
            value,
            reason: reason.to_string(),
        };
        let (y, trials) = if is_cbind {
            let successes = model_frame.numeric(parts[0])?;
            let failures = model_frame.numeric(parts[1])?;
            let mut y = Vec::with_capacity(n);
            let mut trials = Vec::with_capacity(n);
            for i in 0..n {
                if successes[i] < 0.0 || failures[i] < 0.0 {
                    return Err(invalid(
                        i,
                        successes[i].min(failures[i]),
                        "successes and failures must not be negative",
                    ));
                }
                let total = successes[i] + failures[i];
                trials.push(total);
                y.push(if total > 0.0 { successes[i] / total } else { 0.0 });
            }
            (y, Some(trials))
        } else {
            let y = match model_frame.values(response) {
                Values::Numeric(v) => v.to_vec(),
                Values::Factor { codes, levels } if family == Family::Binomial && levels.len() == 2 => {
                    // As R: the first level is failure, the second success.
                    codes.iter().map(|&c| f64::from(c)).collect()
                }
                Values::Factor { levels, .. } => {
                    return Err(strata_core::Error::ColumnType {
                        name: label.clone(),
                        found: format!("categorical with {} levels", levels.len()),
                        expected: "a numeric response".into(),
                    }
                    .into())
                }
            };
            (y, None)
        };
        for (i, &value) in y.iter().enumerate() {
            family.check_response(value).map_err(|reason| invalid(i, value, reason))?;
        }
        let offset = if terms.offsets.is_empty() { None } else { Some(offset_values(&terms, &model_frame)?) };
        Ok(Self { terms, model_frame, y, prior, trials, offset })
    }
}

impl ResponseData {
    /// Evaluates `formula`'s response for `family` on `frame`, with prior weights from column
    /// `weights`.
    ///
    /// # Errors
    /// As [`Response::new`].
    pub fn new(formula: &Formula, family: Family, weights: Option<&str>, frame: &DataFrame) -> Result<Self> {
        let Response { terms, model_frame, y, prior, trials, offset } = Response::new(formula, family, weights, frame)?;
        let n = y.len();
        let weights = match (prior, &trials) {
            (Some(prior), Some(trials)) => prior.iter().zip(trials).map(|(p, t)| p * t).collect(),
            (Some(prior), None) => prior,
            (None, Some(trials)) => trials.clone(),
            (None, None) => vec![1.0; n],
        };
        Ok(Self {
            terms,
            model_frame,
            y,
            weights,
            trials: trials.unwrap_or_else(|| vec![1.0; n]),
            offset: offset.unwrap_or_else(|| vec![0.0; n]),
        })
    }
}
