//! The error type of strata-glm, which strata-gradient's rate tables share.

use thiserror::Error;

/// Errors from specifying or fitting a GLM or building a rate table.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from the data, formula or numerics layer.
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// The response is impossible for the family (a negative count, a proportion above one…).
    #[error("response `{response}` at data row {row} is {value}: {reason}")]
    InvalidResponse {
        /// The response expression.
        response: String,
        /// 1-based data row.
        row: usize,
        /// The value.
        value: f64,
        /// Why it is not allowed.
        reason: String,
    },
    /// The model cannot be specified as asked.
    #[error("invalid model: {0}")]
    Specification(String),
    /// IRLS failed to produce a valid fit (the deviance became infinite and could not be
    /// rescued by step-halving).
    #[error("the GLM fit failed: {0}")]
    Fit(String),
}

/// `Result` with strata-glm's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
