//! The error type of strata-panel.

use thiserror::Error;

/// What can go wrong in a correlation, fixed-effects or time-series model, naming the variable,
/// group or value at fault.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from strata-core (data, formula, numerics).
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// An error from the GLM a time-series model is fitted by.
    #[error(transparent)]
    Glm(#[from] strata_glm::Error),
    /// A variable is constant on the rows used, so its correlation is undefined (R: "the
    /// standard deviation is zero").
    #[error("`{name}` is constant{}: its correlation is undefined", group.as_ref().map(|g| format!(" in group {g}")).unwrap_or_default())]
    ConstantVariable {
        /// The variable.
        name: String,
        /// The group, for correlations by group.
        group: Option<String>,
    },
    /// Too few complete observations for the requested statistic.
    #[error("{what} needs at least {needed} complete observations, {found} found{}", group.as_ref().map(|g| format!(" in group {g}")).unwrap_or_default())]
    TooFewObservations {
        /// What was being computed.
        what: String,
        /// How many are needed.
        needed: usize,
        /// How many there are.
        found: usize,
        /// The group, for correlations by group.
        group: Option<String>,
    },
    /// The arrays given to an engine do not have matching lengths.
    #[error("{what} has {found} values where {expected} are needed")]
    Length {
        /// Which input.
        what: String,
        /// The length needed.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A value is NaN or infinite where a finite number is needed.
    #[error("`{name}` is not finite ({value}) at observation {row}")]
    NonFinite {
        /// The variable.
        name: String,
        /// 1-based observation (data row for the front ends).
        row: usize,
        /// The value.
        value: f64,
    },
    /// The model is misspecified: an option out of range, a formula of the wrong shape.
    #[error("{0}")]
    Specification(String),
    /// Every regressor was absorbed by the fixed effects or is collinear.
    #[error("every regressor is collinear with the fixed effects ({0})")]
    AllCollinear(String),
}

/// `Result` with strata-panel's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
