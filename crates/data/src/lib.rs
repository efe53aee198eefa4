//! strata-data: real and synthetic data for the strata models.
//!
//! - [`cohort`]: a synthetic case-level cohort — every child referred in six local authorities
//!   over three years, from the factors at assessment to the decision, the pathway and
//!   re-referral, with known effects;
//! - [`dfe`]: loaders for the Department for Education's published statistics files and the
//!   IMD 2019 tables, suppression codes read as missing;
//! - [`embedded`]: the local-authority panel 2013–2025 and the Ofsted and spending tables, shipped
//!   inside the crate (Open Government Licence v3.0);
//! - [`synthetic`]: a synthetic England of local authorities, neighbourhoods and children
//!   with known, deprivation-dependent rates, so every estimator can be shown to recover the
//!   truth (drawn with [`strata_core::random::Rng`]).

pub mod cohort;
pub mod dfe;
pub mod embedded;
pub mod error;
pub mod synthetic;

pub use error::{Error, Result};
pub use synthetic::{EnglandParameters, SyntheticEngland};
