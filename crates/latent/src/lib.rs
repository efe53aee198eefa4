//! strata-latent: latent class analysis of the needs recorded at assessment, as R's poLCA and
//! Python's stepmix.
//!
//! - [`indicators`]: binary and polytomous indicators (missing values allowed) and their
//!   distinct response patterns, on which every step runs;
//! - [`measurement`]: the model and its EM steps; [`model`]: fits from many seeded random
//!   starts in parallel, with fit criteria, posterior probabilities and [`information`]-based
//!   standard errors;
//! - [`select`]: fits over a range of K and the bootstrap likelihood-ratio test;
//! - [`covariates`]: covariates of class membership in one step or in three (BCH, ML), on the
//!   soft-label multinomial logit of [`membership`];
//! - [`plot`]: item-probability profiles and information criteria against K (SVG).
//!
//! Every model takes plain arrays; nothing needs a data frame.

pub mod covariates;
pub mod error;
pub mod indicators;
pub mod information;
pub mod measurement;
pub mod membership;
pub mod model;
pub mod plot;
pub mod select;

pub use error::{Error, Result};
pub use indicators::{Indicators, Patterns};
pub use model::{LatentClassFit, LatentClassModel};
