//! strata-panel: local-authority panels over time.
//!
//! - [`correlation`]: Pearson, Spearman and Kendall correlations with `cor.test`'s inference,
//!   partial correlations, correlation matrices with Holm and Benjamini–Hochberg adjusted
//!   p-values, and correlations by year with the test that they persist unchanged;
//! - [`fixed_effects`]: linear and Poisson regression with high-dimensional fixed effects in
//!   fixest's syntax (`y ~ x | la + year`), with fixest's clustered standard errors;
//! - [`its`]: interrupted time series — segmented regression around interruptions with
//!   Newey–West errors and the counterfactual trend.
//!
//! Every model has an engine on plain slices and matrices (for embedding) under a front end on a
//! [`DataFrame`](strata_core::DataFrame).

pub mod correlation;
pub mod error;
pub mod fixed_effects;
pub mod its;

pub use error::{Error, Result};
