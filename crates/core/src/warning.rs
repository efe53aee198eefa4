//! Warnings: doubts about a fit that do not stop it, typed so that a program can act on their
//! kind (refuse a boundary fit, log a dropped row) and worded so that a user can act on their
//! message. They are what R gives with `warning()`: the fit is returned, the warning travels
//! with it (in a `warnings` field, on stderr and in `--json`), and `--strict` makes it an error.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// An iterative fit stopped before meeting its convergence criterion.
    NotConverged,
    /// The estimate lies on the boundary of the parameter space: a variance at zero, a mean at
    /// the edge of its family's range, θ running away.
    Boundary,
    /// A covariate separates the outcome, so that some estimates are not finite.
    Separation,
    /// Columns of the design are linear combinations of others and were dropped.
    Aliased,
    /// The data are not of the form the likelihood assumes (counts that are not whole numbers,
    /// no censored observation).
    Data,
    /// Observations were left out (missing covariates, singletons, rows with nothing observed).
    Dropped,
    /// The model is weakly or not identified: more parameters than the data determine, a
    /// maximum reached from one start only.
    Identification,
    /// The information matrix (or Hessian) is singular or not positive definite: standard
    /// errors are missing or approximate.
    Information,
}

/// A doubt about a fit, with its kind and the sentence shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// What happened and what it means, in one or two sentences.
    pub message: String,
}

impl Warning {
    /// A warning of `kind` saying `message`.
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_shows_its_message_and_serialises_its_kind() {
        let warning = Warning::new(WarningKind::NotConverged, "IRLS did not converge in 25 iterations");
        assert_eq!(warning.to_string(), "IRLS did not converge in 25 iterations");
        let json = serde_json::to_value(&warning).unwrap();
        assert_eq!(json["kind"], "not_converged");
        assert_eq!(serde_json::from_value::<Warning>(json).unwrap(), warning);
    }
}
