//! A GLM's data as plain arrays: the input of [`GlmEngine::fit`](super::GlmEngine::fit).

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
