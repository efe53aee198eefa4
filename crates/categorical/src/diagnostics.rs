//! Checks of a fitted likelihood that R's functions warn about.

use strata_core::numerics::{symmetric_eigen, Matrix};
use strata_core::{Warning, WarningKind};

/// The condition number of the observed information (ordinal's `cond.H`): its largest over its
/// smallest eigenvalue, infinite when it is not positive definite.
pub fn condition_number(information: &Matrix) -> f64 {
    match symmetric_eigen(information) {
        Ok((values, _)) => {
            let largest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let smallest = values.iter().copied().fold(f64::INFINITY, f64::min);
            if smallest > 0.0 {
                largest / smallest
            } else {
                f64::INFINITY
            }
        }
        Err(_) => f64::INFINITY,
    }
}

/// Warnings for a fit whose information is numerically singular or whose log-likelihood is
/// that of a perfect prediction: the marks of (quasi-)complete separation, where the estimates
/// run off to infinity and their standard errors mean nothing.
pub fn separation_warnings(condition: f64, log_likelihood: f64) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if log_likelihood > -1e-6 {
        warnings.push(Warning::new(WarningKind::Separation, "the model predicts every observation perfectly (log-likelihood 0): a covariate separates the categories, and the estimates are not finite"));
    } else if condition > 1e10 {
        warnings.push(Warning::new(WarningKind::Identification, format!(
            "the information matrix is numerically singular (condition number {condition:.1e}): some parameters are not identified, perhaps through separation"
        )));
    }
    warnings
}
