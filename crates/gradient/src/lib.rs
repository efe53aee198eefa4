//! strata-gradient: deprivation-gradient models.
//!
//! - [`glm`]: Gaussian, binomial, Poisson, quasi-Poisson, Gamma and negative binomial GLMs with
//!   offsets, prior weights, robust standard errors and likelihood-ratio tests, matching R's
//!   `glm` and `MASS::glm.nb`;
//! - [`deprivation`]: the deprivation-gradient model and its comparison between groups;
//! - [`rates`]: crude and standardised rates with exact intervals, rate ratios, decile tables.

pub mod deprivation;
pub mod error;
pub mod glm;
pub mod rates;

pub use error::{Error, Result};
pub use glm::{Glm, GlmControl, GlmFit};
