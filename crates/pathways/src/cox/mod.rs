//! Cox proportional-hazards regression.
//!
//! The model: $h_i(t) = h_{0s}(t)\exp(x_i^\top\beta + o_i)$ with a baseline hazard $h_{0s}$ per
//! stratum $s$, fitted by Newton–Raphson on the partial likelihood (Cox 1972) with step-halving,
//! Efron's or Breslow's handling of tied event times, case weights and offsets, and
//! counting-process `Surv(start, stop, event)` data for time-varying covariates and recurrent
//! events. Reports the likelihood-ratio, Wald and score tests and Harrell's concordance.
//!
//! Checked against `survival::coxph` on `cox_lung_efron`, `cox_lung_breslow` and
//! `cox_veteran_strata`.

mod concordance;
mod engine;
mod fit;
mod likelihood;
mod residuals;
mod summary;

use crate::error::Result;
use crate::survival::{StrataFrom, SurvivalModel};
use engine::Prepared;
pub use engine::{CoxArrays, CoxControl, CoxEngine, Ties};
pub use fit::{BaselineHazard, CoxFit, CoxResidual};
pub use residuals::ProportionalHazardsTest;
use strata_core::{DataFrame, Formula};
pub use summary::CoxSummary;

/// A Cox model specification: a `Surv(...) ~ covariates [+ strata(s)] [+ cluster(c)]` formula,
/// case weights, and the [`CoxEngine`] that fits it.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxPh {
    formula: Formula,
    weights: Option<String>,
    engine: CoxEngine,
}

impl CoxPh {
    /// A Cox model of `Surv(...) ~ covariates [+ strata(s)]` with Efron ties.
    ///
    /// # Errors
    /// A formula error.
    pub fn new(formula: &str) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        Ok(Self { formula, weights: None, engine: CoxEngine::new() })
    }

    /// The handling of ties.
    #[must_use]
    pub fn ties(mut self, ties: Ties) -> Self {
        self.engine = self.engine.ties(ties);
        self
    }

    /// Case weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Numerical control.
    #[must_use]
    pub fn control(mut self, control: CoxControl) -> Self {
        self.engine = self.engine.control(control);
        self
    }

    /// Fits the model: evaluates the formula on `frame` and fits its arrays.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_core::results::FittedModel;
    /// use strata_pathways::CoxPh;
    /// // Time to re-referral (days) by whether a plan ended early.
    /// let frame = DataFrame::new()
    ///     .with_floats("days", &[30.0, 45.0, 60.0, 90.0, 120.0, 150.0, 200.0, 240.0, 300.0, 365.0])?
    ///     .with_floats("rereferred", &[1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0])?
    ///     .with_floats("early_end", &[1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0])?;
    /// let fit = CoxPh::new("Surv(days, rereferred) ~ early_end")?.fit(&frame)?;
    /// assert!(fit.coef()[0] > 0.0); // early endings are re-referred sooner
    /// assert_eq!(fit.nobs(), 6); // as R's nobs(coxph): the events
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Invalid survival data, no events, no covariates, or a singular information matrix.
    pub fn fit(&self, frame: &DataFrame) -> Result<CoxFit> {
        self.fit_model(SurvivalModel::new(&self.formula, frame, self.weights.as_deref(), StrataFrom::Specials)?)
    }

    /// As [`CoxPh::fit`], taking the frame: its columns are released once the model matrix and
    /// survival data are built, so a fit to ten million rows peaks at the model's memory rather
    /// than the model's and the frame's (the command line fits this way).
    ///
    /// # Errors
    /// As [`CoxPh::fit`].
    pub fn fit_owned(&self, frame: DataFrame) -> Result<CoxFit> {
        let model = SurvivalModel::new(&self.formula, &frame, self.weights.as_deref(), StrataFrom::Specials)?;
        drop(frame);
        self.fit_model(model)
    }

    fn fit_model(&self, model: SurvivalModel) -> Result<CoxFit> {
        // Clusters coded by their labels' sorted order.
        let cluster = model.cluster.as_deref().map(|labels| strata_core::ranks::label_codes(labels).0);
        self.engine.fit_prepared(Prepared {
            design: model.x,
            data: model.data,
            offset: model.offset,
            cluster,
            formula: self.formula.text().to_string(),
            terms: Some(model.terms),
            levels: model.levels,
        })
    }
}

#[cfg(test)]
mod tests;
