//! strata-pathways: survival models of children's pathways through social care.
//!
//! - [`survival`]: `Surv(time, status)` and `Surv(start, stop, event)` data with strata;
//! - [`kaplan_meier`]: Kaplan–Meier and Nelson–Aalen estimates with Greenwood standard errors;
//! - [`logrank`]: the log-rank test and the Fleming–Harrington G-ρ family;
//! - [`cox`]: Cox proportional-hazards regression with Efron or Breslow ties, strata,
//!   counting-process data, weights and offsets;
//! - [`competing`]: cumulative incidence of competing causes (Aalen–Johansen);
//! - [`gray`]: Gray's K-sample test of equal cumulative incidence;
//! - [`fine_gray`]: Fine–Gray regression of the subdistribution hazard;
//! - [`multistate`]: Aalen–Johansen transition probabilities from exactly observed transitions;
//! - [`msm`]: continuous-time Markov multi-state models for panel data.
//!
//! Checked against R's `survival` package (Therneau 2024) on the reference cases
//! `km_lung_by_sex`, `cox_lung_efron`, `cox_lung_breslow` and `cox_veteran_strata`.

pub mod competing;
pub mod cox;
pub mod error;
pub mod fine_gray;
pub mod gray;
pub mod kaplan_meier;
pub mod logrank;
pub mod msm;
pub mod multistate;
pub mod survival;

pub use cox::{CoxFit, CoxPh, Ties};
pub use error::{Error, Result};
pub use kaplan_meier::{ConfType, KaplanMeier};
pub use survival::SurvivalData;
