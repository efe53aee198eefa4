//! strata-data: real and synthetic data for the strata models.
//!
//! - [`dfe`]: loaders for the Department for Education's published statistics files and the
//!   IMD 2019 tables, suppression codes read as missing;
//! - [`synthetic`]: a synthetic England of local authorities, neighbourhoods and children
//!   with known, deprivation-dependent rates, so every estimator can be shown to recover the
//!   truth (drawn with [`strata_core::random::Rng`]).

pub mod dfe;
pub mod error;
pub mod synthetic;

pub use error::{Error, Result};
pub use synthetic::{EnglandParameters, SyntheticEngland};
