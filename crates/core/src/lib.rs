//! strata-core: the shared foundation of the strata model crates.
//!
//! - [`arrays`]: the checks engines make of plain arrays (lengths, names, finite values);
//! - [`frame`], [`masked`] and [`csv`]: a columnar data frame (each column one typed array with a
//!   missing-value bitmask) and a parallel CSV reader that knows R's and the Department for
//!   Education's missing-value codes;
//! - [`formula`]: R / lme4 / survival model formulas;
//! - [`model_frame`] and [`design`]: variables evaluated with `na.omit`, and model matrices
//!   whose column names and order match R's `model.matrix`;
//! - [`family`]: GLM families and links;
//! - [`numerics`]: dense linear algebra (faer underneath) and optimisers;
//! - [`interop`]: matrices to and from ndarray and nalgebra (cargo features `ndarray`, `nalgebra`),
//!   data frames from Arrow record batches and Parquet files (feature `arrow`);
//! - [`parallel`]: work shared among threads with results independent of their number;
//! - [`random`]: the seeded random number generator every simulation and bootstrap takes;
//! - [`results`]: coefficient tables and the [`FittedModel`](results::FittedModel) trait;
//! - [`warning`]: typed warnings, the doubts a fit carries with it.

pub mod arrays;
pub mod csv;
pub mod design;
pub mod error;
pub mod family;
pub mod formula;
pub mod frame;
pub mod interop;
pub mod masked;
pub mod model_frame;
pub mod numerics;
pub mod parallel;
pub mod progress;
pub mod random;
pub mod ranks;
pub mod results;
pub mod warning;

pub use error::{Error, Result};
pub use formula::Formula;
pub use frame::{Column, ColumnType, DataFrame};
pub use masked::Masked;
pub use warning::{Warning, WarningKind};
