//! A fitted multi-state model: intensities, hazard ratios, sojourn times and transition
//! probabilities, as msm reports them.

use super::matrix_exponential;
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::numerics::{Convergence, Matrix};
use strata_core::results::FittedModel;

/// The hazard ratio of one covariate on one transition, with its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HazardRatio {
    /// From state (1-based).
    pub from: usize,
    /// To state.
    pub to: usize,
    /// The covariate.
    pub covariate: String,
    /// $e^\beta$.
    pub ratio: f64,
    /// Lower 95% limit.
    pub lower: f64,
    /// Upper 95% limit.
    pub upper: f64,
}

/// One estimated transition intensity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// From state (1-based, as in the data).
    pub from: usize,
    /// To state.
    pub to: usize,
    /// The intensity (per unit of time).
    pub intensity: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Lower 95% limit (from the interval for its logarithm, as msm).
    pub lower: f64,
    /// Upper 95% limit.
    pub upper: f64,
}

/// The mean sojourn time in one transient state, with its standard error and 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sojourn {
    /// The state (1-based).
    pub state: usize,
    /// $-1/q_{rr}$ at the covariate means.
    pub mean: f64,
    /// Its standard error (delta method).
    pub std_error: f64,
    /// Lower 95% limit (from the interval for its logarithm).
    pub lower: f64,
    /// Upper 95% limit.
    pub upper: f64,
}

/// The transition probabilities over one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbabilitiesAt {
    /// The interval t.
    pub t: f64,
    /// $P(t) = e^{Qt}$, rows the state now and columns the state t later.
    pub p: Vec<Vec<f64>>,
}

/// A fitted multi-state model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsmFit {
    /// Always `"msm"`.
    #[serde(skip_deserializing, default = "msm_name")]
    pub model: &'static str,
    /// −2 log-likelihood.
    pub minus2_log_likelihood: f64,
    /// The transitions (intensities at the covariate means).
    pub transitions: Vec<Transition>,
    /// Hazard ratios of the covariates (empty without covariates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hazard_ratios: Vec<HazardRatio>,
    /// The transition probabilities over 5 time units, `P(5) = e^{5Q}`.
    pub pmatrix_t5: Vec<Vec<f64>>,
    /// Mean sojourn time in each transient state, `−1/q_rr`.
    pub mean_sojourn: Vec<Option<f64>>,
    /// The mean sojourn times with standard errors and intervals (msm's `sojourn.msm`).
    pub sojourn: Vec<Sojourn>,
    /// $P(t)$ at the intervals asked for with [`MsmFit::with_probabilities_at`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probabilities: Vec<ProbabilitiesAt>,
    /// The fitted generator Q at the covariate means (written out, so that a fit read back
    /// gives the same transition probabilities).
    pub q: Matrix,
    /// How the optimisation ended.
    pub convergence: Convergence,
    /// The parameters' names: `log(q 1-2)` for an intensity (the first transition of a
    /// constrained set), `x 1-2` for a covariate's effect on it.
    #[serde(default)]
    pub terms: Vec<String>,
    /// The parameters as msm estimates them (its `estimates`): log intensities at the covariate
    /// means, then log hazard ratios.
    #[serde(default)]
    pub estimates: Vec<f64>,
    /// Their covariance, the inverse of the observed information (msm's `covmat`).
    #[serde(default)]
    pub covariance: Matrix,
    /// Visits used.
    #[serde(default)]
    pub n_obs: usize,
}

/// msm's parameters: log intensities and log hazard ratios, with the observed information's
/// inverse as their covariance.
impl FittedModel for MsmFit {
    fn coef(&self) -> &[f64] {
        &self.estimates
    }

    fn coef_names(&self) -> &[String] {
        &self.terms
    }

    fn vcov(&self) -> &Matrix {
        &self.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(-self.minus2_log_likelihood / 2.0)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.estimates.len()
    }
}

/// What [`MsmFit::model`] says, also when a fit is read back.
fn msm_name() -> &'static str {
    "msm"
}

impl MsmFit {
    /// `P(t) = e^{Qt}`.
    pub fn transition_probabilities(&self, t: f64) -> Matrix {
        matrix_exponential(&Matrix::from_fn(self.q.nrows(), self.q.ncols(), |i, j| self.q[(i, j)] * t))
    }

    /// Adds $P(t)$ at each interval to the report (msm's `pmatrix.msm(fit, t)`).
    #[must_use]
    pub fn with_probabilities_at(mut self, intervals: &[f64]) -> Self {
        self.probabilities =
            intervals.iter().map(|&t| ProbabilitiesAt { t, p: self.transition_probabilities(t).to_rows() }).collect();
        self
    }
}

impl fmt::Display for MsmFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Multi-state Markov model: −2 log-likelihood {:.4}\n", self.minus2_log_likelihood)?;
        writeln!(f, "{:<12} {:>12} {:>12}   95% CI", "transition", "intensity", "std. error")?;
        for t in &self.transitions {
            writeln!(
                f,
                "{:<12} {:>12.6} {:>12.6}   {:.6} to {:.6}",
                format!("{} - {}", t.from, t.to),
                t.intensity,
                t.std_error,
                t.lower,
                t.upper
            )?;
        }
        writeln!(f, "\nMean sojourn times:")?;
        for s in &self.sojourn {
            writeln!(
                f,
                "  state {:<4} {:>10.4} (SE {:.4}; 95% CI {:.4} to {:.4})",
                s.state, s.mean, s.std_error, s.lower, s.upper
            )?;
        }
        if !self.hazard_ratios.is_empty() {
            writeln!(f, "\nHazard ratios (intensities above are at the covariate means):")?;
            for h in &self.hazard_ratios {
                writeln!(
                    f,
                    "{:<12} {:<14} {:>9.4}  95% CI {:.4} to {:.4}",
                    format!("{} - {}", h.from, h.to),
                    h.covariate,
                    h.ratio,
                    h.lower,
                    h.upper
                )?;
            }
        }
        let matrices = std::iter::once((5.0, &self.pmatrix_t5)).chain(self.probabilities.iter().map(|p| (p.t, &p.p)));
        for (t, rows) in matrices {
            writeln!(f, "\nTransition probabilities over {t} time units:")?;
            for row in rows {
                writeln!(f, "  {}", row.iter().map(|p| format!("{p:.4}")).collect::<Vec<_>>().join("  "))?;
            }
        }
        Ok(())
    }
}
