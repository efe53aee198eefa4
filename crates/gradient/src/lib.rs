//! strata-gradient: deprivation-gradient models.
//!
//! - [`glm`]: the crate strata-glm — Gaussian, binomial, Poisson, quasi-Poisson, Gamma and
//!   negative binomial GLMs with offsets, prior weights, robust standard errors and
//!   likelihood-ratio tests, matching R's `glm` and `MASS::glm.nb` — re-exported;
//! - [`deprivation`]: the deprivation-gradient model and its comparison between groups;
//! - [`rates`]: crude and standardised rates with exact intervals, rate ratios, decile tables.

pub mod deprivation;
pub mod rates;

pub use glm::{Glm, GlmControl, GlmFit};
pub use strata_glm as glm;
pub use strata_glm::{error, Error, Result};
