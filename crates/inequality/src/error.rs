//! The error type of strata-inequality.

use thiserror::Error;

/// Errors from computing inequality indices.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from the data or model layer.
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// An error from the Poisson model behind the Poisson RII.
    #[error(transparent)]
    Gradient(#[from] strata_glm::Error),
    /// A value the index cannot use (a negative income, a zero where logarithms are taken…).
    #[error("`{input}` has the value {value} at position {}: {reason}", index + 1)]
    InvalidValue {
        /// The input it is in: the column read, or the argument (`values`, `weights`,
        /// `populations`, `counts`, `ranks`, `outcome`).
        input: String,
        /// 0-based position in that input (the message counts from 1).
        index: usize,
        /// The value.
        value: f64,
        /// Why.
        reason: String,
    },
    /// Too few values, or arrays of different lengths.
    #[error("invalid input: {0}")]
    Input(String),
}

/// `Result` with strata-inequality's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
