//! The error type of strata-pathways.

use thiserror::Error;

/// Errors from specifying or fitting a survival model.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from the data, formula or numerics layer.
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// The model cannot be specified as asked.
    #[error("invalid model: {0}")]
    Specification(String),
    /// A survival time or status is impossible.
    #[error("invalid survival data at data row {row}: {reason}")]
    InvalidSurvival {
        /// 1-based data row.
        row: usize,
        /// What is wrong.
        reason: String,
    },
    /// Every observation is censored, so there is nothing to estimate.
    #[error("all {0} observations are censored: there are no events to estimate from")]
    NoEvents(usize),
    /// The fit failed numerically.
    #[error("the fit failed: {0}")]
    Fit(String),
}

/// `Result` with strata-pathways' [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
