//! strata-latent: latent class analysis of the needs recorded at assessment, as R's poLCA and
//! Python's stepmix.
//!
//! - [`indicators`]: binary and polytomous indicators (missing values allowed) and their
//!   distinct response patterns, on which every step runs;
//! - [`measurement`]: the model and its EM steps; [`model`]: fits from many seeded random
//!   starts in parallel, with fit criteria, posterior probabilities and [`information`]-based
//!   standard errors.
//!
//! Every model takes plain arrays; nothing needs a data frame.

pub mod error;
pub mod indicators;
pub mod information;
pub mod measurement;
pub mod model;

pub use error::{Error, Result};
pub use indicators::{Indicators, Patterns};
pub use model::{LatentClassFit, LatentClassModel};
