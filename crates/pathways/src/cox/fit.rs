//! A fitted Cox model: tests, residuals, baseline hazard and survival predictions.

use super::engine::Ties;
use super::residuals::ProportionalHazardsTest;
use super::residuals::SweepData;
use super::summary::CoxSummary;
use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::Arc;
use strata_core::numerics::{Convergence, Matrix};
use strata_core::results::{chi_squared_upper, CoefTable, FittedModel, Statistic};
use strata_core::DataFrame;

/// A fitted Cox model, with the data in the order it was fitted (for residuals and survival
/// curves). It serialises with serde, so it can be saved and reloaded to predict.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CoxFit {
    pub(super) formula: String,
    pub(super) ties: Ties,
    pub(super) names: Vec<String>,
    pub(super) coefficients: Vec<f64>,
    pub(super) covariance: Matrix,
    pub(super) log_likelihood: f64,
    pub(super) null_log_likelihood: f64,
    pub(super) score_test: f64,
    pub(super) wald_test: f64,
    pub(super) concordance: f64,
    pub(super) n_obs: usize,
    pub(super) n_events: usize,
    pub(super) aliased: Vec<String>,
    pub(super) naive_covariance: Matrix,
    pub(super) clustered: bool,
    pub(super) rows: Vec<usize>,
    pub(super) sweep: Arc<SweepData>,
    pub(super) strata_labels: Vec<String>,
    pub(super) terms: Option<strata_core::formula::Terms>,
    pub(super) levels: Vec<(String, Vec<String>)>,
    pub(super) convergence: Convergence,
}

/// Kinds of per-observation residual of a Cox model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoxResidual {
    /// Observed minus expected events, `δᵢ − Ĥᵢ`.
    Martingale,
    /// `sign(M) √(−2(M + δ log(δ − M)))`.
    Deviance,
}

/// One row of the baseline cumulative hazard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineHazard {
    /// The stratum.
    pub stratum: String,
    /// The time.
    pub time: f64,
    /// The cumulative hazard at covariates zero.
    pub hazard: f64,
}

impl CoxFit {
    /// Per-observation residuals, in the order of the rows used.
    pub fn residuals(&self, kind: CoxResidual) -> Vec<f64> {
        let (martingale, _) = self.sweep.residuals(&self.coefficients);
        let mut out = vec![0.0; martingale.len()];
        for (position, &row) in self.sweep.order.iter().enumerate() {
            let m = martingale[position];
            out[row] = match kind {
                CoxResidual::Martingale => m,
                CoxResidual::Deviance => {
                    let delta = f64::from(u8::from(self.sweep.event[position]));
                    let log_term = if delta > 0.0 { delta * (delta - m).ln() } else { 0.0 };
                    m.signum() * (-2.0 * (m + log_term)).max(0.0).sqrt()
                }
            };
        }
        out
    }

    /// Score residuals (n × p), in the order of the rows used.
    pub fn score_residuals(&self) -> Matrix {
        let (_, score) = self.sweep.residuals(&self.coefficients);
        let mut out = Matrix::zeros(score.len(), self.sweep.p);
        for (position, &row) in self.sweep.order.iter().enumerate() {
            for (k, v) in score[position].iter().enumerate() {
                out[(row, k)] = *v;
            }
        }
        out
    }

    /// Schoenfeld residuals: the event times (ascending) and one row per event.
    pub fn schoenfeld_residuals(&self) -> (Vec<f64>, Matrix) {
        let rows = self.sweep.schoenfeld(&self.coefficients);
        let times = rows.iter().map(|r| r.0).collect();
        let matrix = Matrix::from_fn(rows.len(), self.sweep.p, |i, k| rows[i].2[k]);
        (times, matrix)
    }

    /// Tests of proportional hazards, as R's `cox.zph(fit, transform = "km")`: one per
    /// covariate and a global one. `None` if the information is singular.
    pub fn proportional_hazards_test(&self) -> Option<Vec<ProportionalHazardsTest>> {
        self.sweep.proportional_hazards(&self.coefficients, &self.names)
    }

    /// The robust (sandwich) covariance, clustered on `clusters` (one label per row used) or on
    /// each observation, as `coxph(..., robust = TRUE)` or `cluster(id)`.
    ///
    /// # Errors
    /// [`Error::Specification`] if the labels do not match the rows used.
    pub fn robust_vcov(&self, clusters: Option<&[String]>) -> Result<Matrix> {
        let codes = match clusters {
            None => None,
            Some(labels) => {
                if labels.len() != self.sweep.order.len() {
                    return Err(Error::Specification(format!(
                        "{} cluster labels for {} observations",
                        labels.len(),
                        self.sweep.order.len()
                    )));
                }
                let (codes, _) = strata_core::ranks::label_codes(labels);
                Some(strata_core::parallel::gather(&codes, &self.sweep.order, strata_core::parallel::threads()))
            }
        };
        Ok(self.sweep.robust(&self.coefficients, &self.naive_covariance, codes.as_deref()))
    }

    /// The baseline cumulative hazard at covariates zero at every distinct time, per stratum
    /// (R's `basehaz(fit, centered = FALSE)`), with Efron's or Breslow's increments as fitted.
    pub fn baseline_hazard(&self) -> Vec<BaselineHazard> {
        self.sweep
            .baseline(&self.coefficients)
            .into_iter()
            .map(|(s, time, hazard)| BaselineHazard { stratum: self.strata_labels[s].clone(), time, hazard })
            .collect()
    }

    /// Predicted survival `exp(−H₀ₛ(t) e^{xᵀβ})` at `times` for each complete row of `frame`,
    /// with the baseline hazard of the row's stratum in a stratified model (R's
    /// `summary(survfit(fit, newdata), times)`; factor levels as fitted).
    ///
    /// # Errors
    /// Data errors for the new rows; [`Error::Specification`] for a stratum the model was not
    /// fitted on.
    pub fn predict_survival(&self, frame: &DataFrame, times: &[f64]) -> Result<Vec<Vec<f64>>> {
        let terms = self.terms.as_ref().ok_or_else(|| {
            Error::Specification("the model was fitted from arrays: there is no formula to evaluate new data by".into())
        })?;
        let strata: Vec<&strata_core::formula::Expr> = terms
            .specials
            .iter()
            .filter(|s| s.kind == strata_core::formula::SpecialKind::Strata)
            .flat_map(|s| s.arguments.iter())
            .collect();
        let mut exprs = strata_core::design::covariate_expressions(terms);
        exprs.extend(strata.iter().copied());
        let model_frame = strata_core::model_frame::ModelFrame::with_levels(frame, &exprs, &self.levels)?;
        let full = strata_core::design::ModelMatrix::new(
            &strata_core::formula::Terms { intercept: true, ..terms.clone() },
            &model_frame,
        )?;
        let drop: Vec<bool> = full.names.iter().map(|n| !self.names.contains(n)).collect();
        let x = full.without(&drop);
        if x.names != self.names {
            return Err(Error::Specification("the new data do not give the fitted model's columns".into()));
        }
        // Each row's stratum, labelled as the fit labels them (`sex=male, ph.ecog=1`).
        let factors: Vec<(String, Vec<u32>, Vec<String>)> = strata
            .iter()
            .map(|e| {
                let (codes, levels) = model_frame.factor(e);
                (e.label(), codes, levels)
            })
            .collect();
        let stratum_of = |k: usize| -> String {
            if factors.is_empty() {
                return self.strata_labels[0].clone();
            }
            factors
                .iter()
                .map(|(label, codes, levels)| format!("{label}={}", levels[codes[k] as usize]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let baseline = self.baseline_hazard();
        (0..model_frame.nrows())
            .map(|k| {
                let stratum = stratum_of(k);
                if !self.strata_labels.contains(&stratum) {
                    return Err(Error::Specification(format!(
                        "new data row {}: stratum `{stratum}` is not one the model was fitted on",
                        k + 1
                    )));
                }
                let eta: f64 = (0..self.names.len()).map(|j| x.matrix[(k, j)] * self.coefficients[j]).sum();
                let hazard_at = |t: f64| {
                    baseline
                        .iter()
                        .filter(|b| b.stratum == stratum)
                        .take_while(|b| b.time <= t)
                        .last()
                        .map_or(0.0, |b| b.hazard)
                };
                Ok(times.iter().map(|&t| (-hazard_at(t) * eta.exp()).exp()).collect())
            })
            .collect()
    }

    /// 0-based indices, in the original data, of the rows used.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The log partial likelihood at β = 0.
    pub fn null_log_likelihood(&self) -> f64 {
        self.null_log_likelihood
    }

    /// The likelihood-ratio statistic `2(ℓ(β̂) − ℓ(0))`.
    pub fn lr_test(&self) -> f64 {
        2.0 * (self.log_likelihood - self.null_log_likelihood)
    }

    /// The score (log-rank) statistic at β = 0.
    pub fn score_test(&self) -> f64 {
        self.score_test
    }

    /// The Wald statistic `β̂ᵀ I(β̂) β̂`.
    pub fn wald_test(&self) -> f64 {
        self.wald_test
    }

    /// Harrell's concordance of the linear predictor.
    pub fn concordance(&self) -> f64 {
        self.concordance
    }

    /// Number of events.
    pub fn n_events(&self) -> usize {
        self.n_events
    }

    /// How Newton–Raphson ended, with warnings.
    pub fn convergence(&self) -> &Convergence {
        &self.convergence
    }

    /// Everything `summary(coxph)` reports, ready to print or serialise.
    pub fn summary(&self) -> CoxSummary {
        let table = CoefTable::new(&self.names, &self.coefficients, &self.std_errors(), Statistic::Z);
        let df = self.coefficients.len() as f64;
        CoxSummary {
            model: "cox",
            formula: self.formula.clone(),
            ties: self.ties,
            hazard_ratios: self.coefficients.iter().map(|b| b.exp()).collect(),
            hazard_ratio_ci95: self.conf_int(0.95).into_iter().map(|(l, u)| (l.exp(), u.exp())).collect(),
            naive_std_errors: self.clustered.then(|| self.naive_covariance.diag().into_iter().map(f64::sqrt).collect()),
            coefficients: table.rows,
            log_likelihood: self.log_likelihood,
            null_log_likelihood: self.null_log_likelihood,
            score_test: self.score_test,
            // summary.coxph rounds the Wald statistic to two decimals; the exact value follows.
            wald_test: (self.wald_test * 100.0).round() / 100.0,
            wald_test_exact: self.wald_test,
            lr_test: self.lr_test(),
            p_values: [
                chi_squared_upper(self.lr_test(), df),
                chi_squared_upper(self.wald_test, df),
                chi_squared_upper(self.score_test, df),
            ],
            concordance: self.concordance,
            aic: self.aic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            n_events: self.n_events,
            aliased: self.aliased.clone(),
            proportional_hazards: None,
            convergence: self.convergence.clone(),
        }
    }
}

impl FittedModel for CoxFit {
    fn coef(&self) -> &[f64] {
        &self.coefficients
    }

    fn coef_names(&self) -> &[String] {
        &self.names
    }

    fn vcov(&self) -> &Matrix {
        &self.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(self.log_likelihood)
    }

    /// Cox models count events, not observations, in the BIC (Volinsky & Raftery 2000), as R.
    fn nobs(&self) -> usize {
        self.n_events
    }

    fn n_parameters(&self) -> usize {
        self.coefficients.len()
    }
}
