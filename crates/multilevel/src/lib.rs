//! strata-multilevel: mixed models for children and neighbourhoods nested in local
//! authorities.
//!
//! - [`lmm`]: linear mixed models by ML or REML through the profiled penalised least-squares
//!   deviance of Bates, Mächler, Bolker & Walker (2015, *J. Stat. Softw.* 67(1)), optimised over
//!   the relative covariance factor θ by BOBYQA, as lme4 and MixedModels.jl do;
//! - [`glmm`]: binomial and Poisson GLMMs by the Laplace approximation or adaptive
//!   Gauss–Hermite quadrature, optimised as lme4's `glmer`;
//! - [`ordinal_mixed`]: cumulative link mixed models (ordinal's `clmm`) with a random
//!   intercept, by the Laplace approximation or adaptive quadrature;
//! - [`partition`]: intraclass correlations, variance partition coefficients and median odds
//!   or rate ratios;
//! - [`profile`]: profile-likelihood confidence intervals for linear mixed models;
//! - [`predict`]: population-level and conditional predictions for new data;
//! - [`random_effects`]: the random-effects structure shared by linear and generalised models.
//!
//! Checked against lme4 on the reference cases `lmm_sleepstudy_reml`, `lmm_sleepstudy_ml`,
//! `lmm_pastes_nested` and `lmm_penicillin_crossed`.

pub mod error;
pub mod glmm;
pub mod lmm;
pub mod ordinal_mixed;
pub mod partition;
mod pls;
pub mod predict;
pub mod profile;
pub mod quadrature;
pub mod random_effects;

pub use error::{Error, Result};
pub use glmm::{GeneralizedLinearMixedModel, GlmmFit};
pub use lmm::{BootstrapInterval, LinearMixedModel, LmmFit, LmmSummary};
pub use predict::MixedPrediction;
pub use profile::ProfileInterval;
