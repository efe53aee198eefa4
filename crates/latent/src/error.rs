//! The error type of strata-latent.

use thiserror::Error;

/// What can go wrong in a latent class model, naming the indicator, value or option at fault.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from strata-core (data, numerics).
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// The inputs do not have matching lengths.
    #[error("{what} has {found} values where {expected} are needed")]
    Length {
        /// Which input.
        what: String,
        /// The length needed.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// An indicator takes a value that is not a whole number (levels are the distinct values).
    #[error("indicator `{name}` has the value {value} at row {row}; indicators take whole-number codes (0/1, or 1, 2, 3, …)")]
    NotCategorical {
        /// The indicator.
        name: String,
        /// 1-based row.
        row: usize,
        /// The value.
        value: f64,
    },
    /// New data to classify hold a value of an indicator that the fitted model never saw.
    #[error("indicator `{name}` has the value {value} at row {row}, a level the fitted model never saw")]
    UnseenLevel {
        /// The indicator.
        name: String,
        /// 1-based row.
        row: usize,
        /// The value.
        value: f64,
    },
    /// An indicator takes one value only on the rows used, so it says nothing about classes.
    #[error("indicator `{0}` takes a single value (or none) on the rows used; drop it")]
    ConstantIndicator(String),
    /// More classes than the data can identify.
    #[error("{classes} classes asked for, but the data have only {patterns} distinct response patterns")]
    TooManyClasses {
        /// Classes asked for.
        classes: usize,
        /// Distinct patterns.
        patterns: usize,
    },
    /// Too many levels for the compact coding.
    #[error("indicator `{name}` has {levels} levels; at most 254 are supported")]
    TooManyLevels {
        /// The indicator.
        name: String,
        /// Its number of levels.
        levels: usize,
    },
    /// No rows with any observed indicator.
    #[error("no row has an observed indicator")]
    NoData,
    /// A covariate is missing or not finite.
    #[error("covariate `{name}` is missing or not finite at row {row}")]
    Covariate {
        /// The covariate.
        name: String,
        /// 1-based row.
        row: usize,
    },
    /// The information matrix or a Newton step is singular.
    #[error("{0}")]
    Singular(String),
    /// An option is out of range or inconsistent.
    #[error("{0}")]
    Specification(String),
}

/// `Result` with strata-latent's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
