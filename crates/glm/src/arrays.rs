//! A GLM's data as plain arrays: the input of [`GlmEngine::fit`](super::GlmEngine::fit).

use crate::error::{Error, Result};
use strata_core::arrays::{column_names, finite, finite_columns, same_length};
use strata_core::family::Family;
use strata_core::numerics::Matrix;

/// A model matrix, a response and optional names, prior weights, binomial trials and offset,
/// all on the same n rows — what R's `glm.fit(x, y, weights, offset = )` takes.
///
/// For the binomial family `y` is the proportion of successes and `trials` the number of trials
/// of each row (ones when absent, for a 0/1 response), as R's `glm` turns `cbind(s, f)` into
/// `y = s / (s + f)` with weights `s + f`.
#[derive(Debug, Clone, Copy)]
pub struct GlmArrays<'a> {
    /// The model matrix, n × p; an intercept is a column of ones.
    pub x: &'a Matrix,
    /// The column names (`x1`, `x2`, … when absent).
    pub names: Option<&'a [String]>,
    /// The response.
    pub y: &'a [f64],
    /// Prior weights.
    pub weights: Option<&'a [f64]>,
    /// Binomial trials.
    pub trials: Option<&'a [f64]>,
    /// The offset, added to the linear predictor.
    pub offset: Option<&'a [f64]>,
}

impl<'a> GlmArrays<'a> {
    /// The model matrix `x` and the response `y`.
    pub fn new(x: &'a Matrix, y: &'a [f64]) -> Self {
        Self { x, names: None, y, weights: None, trials: None, offset: None }
    }

    /// Names the columns of `x`.
    #[must_use]
    pub fn names(self, names: &'a [String]) -> Self {
        Self { names: Some(names), ..self }
    }

    /// Prior weights.
    #[must_use]
    pub fn weights(self, weights: &'a [f64]) -> Self {
        Self { weights: Some(weights), ..self }
    }

    /// Binomial trials.
    #[must_use]
    pub fn trials(self, trials: &'a [f64]) -> Self {
        Self { trials: Some(trials), ..self }
    }

    /// An offset.
    #[must_use]
    pub fn offset(self, offset: &'a [f64]) -> Self {
        Self { offset: Some(offset), ..self }
    }
}

/// What [`GlmArrays::check`] makes of the arrays: column names, and on every row the prior
/// weights times the binomial trials, the trials and the offset (ones and zeros where absent).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedArrays {
    /// The column names of `x`.
    pub names: Vec<String>,
    /// Prior weights times binomial trials.
    pub weights: Vec<f64>,
    /// Binomial trials.
    pub trials: Vec<f64>,
    /// The offset.
    pub offset: Vec<f64>,
}

impl GlmArrays<'_> {
    /// The arrays checked for `family` as the formula path checks the columns it reads:
    /// lengths against the rows of `x`, names, finite values, weights and trials finite and
    /// not negative, trials only for the binomial, a response in the family's range.
    ///
    /// # Errors
    /// [`strata_core::Error::InvalidArgument`], [`strata_core::Error::NonFinite`] and
    /// [`strata_core::Error::InvalidValue`] naming the array and row;
    /// [`Error::InvalidResponse`]; [`Error::Specification`] for trials outside the binomial
    /// family.
    pub fn check(&self, family: Family) -> Result<CheckedArrays> {
        let n = self.x.nrows();
        same_length("y", Some(self.y.len()), n)?;
        same_length("weights", self.weights.map(<[f64]>::len), n)?;
        same_length("trials", self.trials.map(<[f64]>::len), n)?;
        same_length("offset", self.offset.map(<[f64]>::len), n)?;
        if self.trials.is_some() && family != Family::Binomial {
            return Err(Error::Specification("trials belong to the binomial family".into()));
        }
        let names = column_names(self.names, self.x)?;
        finite_columns(self.x, &names)?;
        finite("y", self.y)?;
        let nonnegative = |what: &str, values: Option<&[f64]>| -> Result<Vec<f64>> {
            let values = values.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
            match values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                Some(i) => Err(Error::Core(strata_core::Error::InvalidValue {
                    name: what.to_string(),
                    row: i + 1,
                    value: values[i].to_string(),
                    reason: format!("{what} must be finite and not negative"),
                })),
                None => Ok(values),
            }
        };
        let prior = nonnegative("weights", self.weights)?;
        let trials = nonnegative("trials", self.trials)?;
        for (i, &value) in self.y.iter().enumerate() {
            family.check_response(value).map_err(|reason| Error::InvalidResponse {
                response: "y".into(),
                row: i + 1,
                value,
                reason: reason.to_string(),
            })?;
        }
        let offset = self.offset.map_or_else(|| vec![0.0; n], <[f64]>::to_vec);
        finite("offset", &offset)?;
        let weights = prior.iter().zip(&trials).map(|(w, t)| w * t).collect();
        Ok(CheckedArrays { names, weights, trials, offset })
    }
}
