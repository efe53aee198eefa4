//! strata-panel: local-authority panels over time.
//!
//! - [`correlation`]: Pearson, Spearman and Kendall correlations with `cor.test`'s inference,
//!   partial correlations, correlation matrices with Holm and Benjamini–Hochberg adjusted
//!   p-values, and correlations by year with the test that they persist unchanged.
//!
//! Every model has an engine on plain slices and matrices (for embedding) under a front end on a
//! [`DataFrame`](strata_core::DataFrame).

pub mod correlation;
pub mod error;

pub use error::{Error, Result};
