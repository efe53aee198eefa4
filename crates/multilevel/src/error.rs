//! The error type of strata-multilevel.

use strata_core::design::check_estimable;
use strata_core::numerics::{aliased_columns, Matrix};
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
    Gradient(#[from] strata_glm::Error),
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
    /// The response takes one value in every row used: there is no variation to partition
    /// (lme4: "Response is constant").
    #[error("the response `{name}` is {value} in every row used: a mixed model has no variation to partition (lme4: \"Response is constant\")")]
    ConstantResponse {
        /// The response expression.
        name: String,
        /// Its one value.
        value: f64,
    },
    /// The fit failed numerically.
    #[error("the fit failed: {0}")]
    Fit(String),
}

/// [`Error::ConstantResponse`] if every value of the response `y` (named `name`) is the same.
pub(crate) fn check_response_varies(name: &str, y: &[f64]) -> Result<()> {
    match y.first() {
        Some(&first) if y.iter().all(|&v| v == first) => {
            Err(Error::ConstantResponse { name: name.to_string(), value: first })
        }
        _ => Ok(()),
    }
}

/// [`strata_core::Error::Singular`] naming the fixed-effect columns that depend on earlier
/// ones (lme4 drops them with a message; a mixed model here needs a full-rank design), and
/// [`strata_core::Error::TooFewObservations`] for fewer rows than the coefficients and `extra`
/// other parameters (σ of a linear model).
pub(crate) fn check_design(x: &Matrix, names: &[String], extra: usize) -> Result<()> {
    let flags = aliased_columns(x, 1e-7);
    if flags.iter().any(|a| *a) {
        let aliased: Vec<&str> = names.iter().zip(&flags).filter(|(_, a)| **a).map(|(n, _)| n.as_str()).collect();
        return Err(Error::Core(strata_core::Error::Singular(format!(
            "fixed-effect columns {} are linearly dependent on earlier ones",
            aliased.join(", ")
        ))));
    }
    Ok(check_estimable(x.nrows(), names.len() + extra)?)
}

/// `Result` with strata-multilevel's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
