//! The error type of strata-categorical.

use thiserror::Error;

/// What can go wrong in a multinomial or ordinal model, naming the variable, level or value.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from strata-core (data, formula, numerics).
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// The response takes a value that is not among the levels given.
    #[error("response `{response}` has the value `{value}` at data row {row}, which is not among the levels {levels}")]
    UnknownLevel {
        /// The response.
        response: String,
        /// The value.
        value: String,
        /// 1-based data row.
        row: usize,
        /// The levels, comma-separated.
        levels: String,
    },
    /// A level of the response has no observation, so its parameters are not identified.
    #[error(
        "response `{response}` has no observation at level `{level}`: drop the level or merge it with a neighbour"
    )]
    EmptyLevel {
        /// The response.
        response: String,
        /// The level.
        level: String,
    },
    /// The model is misspecified: too few levels, a bad option, inputs of the wrong length.
    #[error("{0}")]
    Specification(String),
    /// The fit failed to find a finite optimum.
    #[error("the fit failed: {0}")]
    Fit(String),
}

/// `Result` with strata-categorical's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
