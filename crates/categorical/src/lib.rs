//! strata-categorical: models of categorical outcomes.
//!
//! - [`multinomial`]: the multinomial logit (baseline-category logit) model, as
//!   `nnet::multinom` — the decision after an assessment;
//! - [`ordinal`]: cumulative link models for ordered outcomes, as `ordinal::clm` — Ofsted's
//!   grades — with the test of proportional odds;
//! - [`link`]: the cumulative links (logit, probit, complementary log-log);
//! - [`response`]: a categorical response and its design on the complete rows of a data frame;
//! - [`diagnostics`]: the condition of the information matrix and the separation warnings.
//!
//! Each model has an engine on arrays under its formula front end. Cumulative link *mixed*
//! models are in strata-multilevel, built on [`ordinal::likelihood`].

pub mod diagnostics;
pub mod error;
pub mod link;
pub mod multinomial;
pub mod ordinal;
pub mod response;

pub use error::{Error, Result};

/// Numerical knobs of the Newton–Raphson fits of this crate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewtonControl {
    /// Stop when the largest absolute score falls below this.
    pub gradient_tolerance: f64,
    /// Iteration limit.
    pub max_iterations: usize,
}

impl Default for NewtonControl {
    fn default() -> Self {
        Self { gradient_tolerance: 1e-9, max_iterations: 100 }
    }
}
