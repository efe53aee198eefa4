//! The error type of strata-multilevel.

use thiserror::Error;

/// Errors from specifying or fitting a mixed model.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from the data, formula or numerics layer.
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// An error from the GLM layer (starting values, response checks).
    #[error(transparent)]
    Gradient(#[from] strata_gradient::Error),
    /// The model cannot be specified as asked.
    #[error("invalid model: {0}")]
    Specification(String),
    /// A grouping factor cannot support its random effects.
    #[error("grouping factor `{group}`: {reason}")]
    Grouping {
        /// The grouping factor.
        group: String,
        /// What is wrong.
        reason: String,
    },
    /// The fit failed numerically.
    #[error("the fit failed: {0}")]
    Fit(String),
}

/// `Result` with strata-multilevel's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
