//! The error type of strata-data.

use thiserror::Error;

/// Errors from loading or generating data.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from reading or parsing a file.
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// A file does not have the expected layout.
    #[error("unexpected file layout: {0}")]
    Format(String),
    /// Generator parameters are invalid.
    #[error("invalid generator parameters: {0}")]
    Parameters(String),
}

/// `Result` with strata-data's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
