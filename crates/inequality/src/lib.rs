//! strata-inequality: inequality indices.
//!
//! - [`individual`]: Gini, generalised entropy (Theil T, mean log deviation, half squared
//!   coefficient of variation), Atkinson, coefficient of variation and quantile ratios of a
//!   (weighted) distribution — each O(n log n): one sort, then prefix sums;
//! - [`grouped`]: socioeconomic-gradient indices on grouped data ranked by deprivation: the slope
//!   and relative indices of inequality, the concentration index, the ratio of the extremes and
//!   the population attributable fraction;
//! - [`concentration`]: the concentration index of individual or area data, Wagstaff and
//!   Erreygers corrections, the concentration curve, and decomposition by determinants;
//! - [`decomposition`]: generalised entropy split into within- and between-group parts;
//! - [`bootstrap`]: seeded percentile and BCa intervals, resampling observations or clusters.
//!
//! Checked against PySAL `inequality` and statsmodels on the reference cases
//! `ineq_lognormal_incomes` and `ineq_decile_gradient`.

pub mod bootstrap;
pub mod concentration;
pub mod decomposition;
pub mod error;
pub mod grouped;
pub mod individual;

pub use error::{Error, Result};
pub use grouped::{GradientIndices, GroupedData, RankOrder};
pub use individual::{Distribution, IndexSummary, INDEX_NAMES};
