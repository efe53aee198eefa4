//! A fitted linear mixed model: estimates, random effects, predictions, bootstrap, profiles,
//! Satterthwaite tests and variance partition.

use super::components::{percentile_intervals, BootstrapInterval, RandomEffect, VarianceComponent};
use super::profiled_deviance;
use super::summary::LmmSummary;
use crate::error::{Error, Result};
use crate::pls::CrossProducts;
use crate::predict::{MixedPrediction, Predictor};
use crate::profile::{ProfileInterval, Profiler};
use crate::random_effects::{LevelCovariance, RandomEffects};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use strata_core::numerics::{minimize_bobyqa, BobyqaControl, Convergence, Matrix};
use strata_core::random::Rng;
use strata_core::results::{CoefTable, FittedModel, LrTest, Statistic};
use strata_core::DataFrame;
use strata_core::WarningKind;

/// A fitted linear mixed model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LmmFit {
    pub(super) formula: String,
    pub(super) reml: bool,
    pub(super) names: Vec<String>,
    pub(super) beta: Vec<f64>,
    pub(super) covariance: Matrix,
    pub(super) theta: Vec<f64>,
    pub(super) sigma: f64,
    pub(super) objective: f64,
    pub(super) n_obs: usize,
    pub(super) random: RandomEffects,
    pub(super) b: Vec<f64>,
    /// The fixed-effects design and the response, kept for the bootstrap and the profiles.
    pub(super) x: Arc<Matrix>,
    pub(super) y: Arc<Vec<f64>>,
    pub(super) weights: Option<Arc<Vec<f64>>>,
    pub(super) rows: Vec<usize>,
    pub(super) control: BobyqaControl,
    /// The conditional covariance blocks of b, flattened (see `CrossProducts::conditional_covariances`).
    pub(super) conditional_covariances_flat: Vec<f64>,
    pub(super) satterthwaite: Vec<f64>,
    /// What evaluates new data (`None` for a fit from arrays).
    pub(super) predictor: Option<Predictor>,
    pub(super) convergence: Convergence,
}

impl LmmFit {
    /// A seeded parametric bootstrap (as lme4's `bootMer`): `replicates` responses simulated
    /// from the fitted model, `y* = Xβ̂ + ZΛθ̂u* + ε*` with `u* ~ N(0, σ̂²I)` and
    /// `ε* ~ N(0, σ̂²I)`, each refitted from θ̂; percentile intervals at `level` for every fixed
    /// effect, the standard deviations and correlations of the random effects and σ (named as
    /// lme4's `confint(fit, method = "boot", oldNames = FALSE)`: `sd_(Intercept)|Subject`,
    /// `cor_Days.(Intercept)|Subject`, `sigma`), and the intraclass correlation of each random
    /// intercept (`ICC|Subject`).
    ///
    /// # Errors
    /// [`Error::Specification`] for fewer than two replicates or a level outside (0, 1); a
    /// refit that fails.
    pub fn parametric_bootstrap(&self, replicates: usize, level: f64, rng: &mut Rng) -> Result<Vec<BootstrapInterval>> {
        if replicates < 2 || !(level > 0.0 && level < 1.0) {
            return Err(Error::Specification(
                "the bootstrap needs at least two replicates and a level in (0, 1)".into(),
            ));
        }
        let (n, p, q) = (self.n_obs, self.beta.len(), self.random.q());
        let fixed = self.x.times(&self.beta);
        let lower = self.random.lower_bounds();
        let upper = vec![f64::INFINITY; self.theta.len()];
        let mut draws: Vec<Vec<f64>> = Vec::with_capacity(replicates);
        let task = strata_core::progress::task("bootstrap replicates", replicates as u64);
        for _ in 0..replicates {
            let u: Vec<f64> = (0..q).map(|_| self.sigma * rng.normal()).collect();
            let mut y = fixed.clone();
            self.random.z_times_add(&self.random.lambda_times(&self.theta, &u), &mut y);
            for (i, v) in y.iter_mut().enumerate() {
                let scale = self.weights.as_ref().map_or(1.0, |w| w[i].sqrt());
                *v += self.sigma / scale * rng.normal();
            }
            let system = CrossProducts::new(&self.x, &y, self.weights.as_deref().map(Vec::as_slice), &self.random);
            let mut theta = self.theta.clone();
            let reml = self.reml;
            let objective =
                |t: &[f64]| system.solve(&self.random, t).map_or(f64::INFINITY, |s| profiled_deviance(&s, n, p, reml));
            minimize_bobyqa(objective, &mut theta, &lower, &upper, &self.control)?;
            let solution = system.solve(&self.random, &theta)?;
            let sigma = (solution.pwrss / if reml { n - p } else { n } as f64).sqrt();
            draws.push(bootstrap_statistics(&self.random, &solution.beta, &theta, sigma));
            task.advance(1);
        }
        let names: Vec<String> = self
            .names
            .iter()
            .cloned()
            .chain(self.variance_parameter_names())
            .chain(self.variance_partition().into_iter().map(|v| format!("ICC|{}", v.group)))
            .collect();
        let estimates = bootstrap_statistics(&self.random, &self.beta, &self.theta, self.sigma);
        Ok(percentile_intervals(names, &estimates, &draws, level))
    }

    /// The names of the variance parameters on lme4's `confint(..., oldNames = FALSE)` scale:
    /// `sd_TERM|GROUP`, `cor_TERM2.TERM1|GROUP`, then `sigma`.
    fn variance_parameter_names(&self) -> Vec<String> {
        self.variance_components().iter().map(VarianceComponent::parameter_name).collect()
    }

    /// Profile-likelihood confidence intervals at `level` for the standard deviations and
    /// correlations of the random effects, σ and the fixed effects (see [`crate::profile`]; lme4's
    /// `confint(fit, method = "profile", oldNames = FALSE)`).
    ///
    /// # Errors
    /// A level outside (0, 1), or an ML refit that fails.
    pub fn profile_intervals(&self, level: f64) -> Result<Vec<ProfileInterval>> {
        let weights = self.weights.as_deref().map(Vec::as_slice);
        let profiler = Profiler::new(&self.x, &self.y, weights, &self.random, &self.theta, self.control)?;
        let std_errors: Vec<f64> = (0..self.beta.len()).map(|j| self.covariance[(j, j)].sqrt()).collect();
        profiler.intervals(&self.names, &self.variance_parameter_names(), &std_errors, level)
    }

    /// Predictions for the complete rows of `frame`, population-level and conditional on the
    /// random effects (see [`crate::predict`]; lme4's `predict(fit, newdata,
    /// allow.new.levels = TRUE)` with `re.form = NA` and `NULL`).
    ///
    /// # Errors
    /// Unknown columns, a level of a fixed factor the model has not seen, non-finite values;
    /// [`Error::Specification`] for a model fitted from arrays (it has no formula to evaluate
    /// new data with).
    pub fn predict(&self, frame: &DataFrame) -> Result<Vec<MixedPrediction>> {
        let predictor = self.predictor.as_ref().ok_or_else(|| {
            Error::Specification("a model fitted from arrays has no formula to evaluate new data with".into())
        })?;
        predictor.linear(frame, &self.names, &self.beta, &self.random, &self.b)
    }

    /// Satterthwaite's degrees of freedom of each fixed effect (lmerTest's method).
    pub fn satterthwaite_df(&self) -> &[f64] {
        &self.satterthwaite
    }

    /// The optimised relative covariance parameters θ.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// The residual standard deviation σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The REML criterion or ML deviance at the optimum.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// How the optimisation ended, with warnings such as a singular fit.
    pub fn convergence(&self) -> &Convergence {
        &self.convergence
    }

    /// Whether the fit is singular (a variance at zero or a correlation at ±1).
    pub fn is_singular(&self) -> bool {
        self.convergence.warnings.iter().any(|w| w.kind == WarningKind::Boundary)
    }

    /// The variance components: for each random term its variances and covariances, then the
    /// residual, in lme4's `as.data.frame(VarCorr(fit))` order.
    pub fn variance_components(&self) -> Vec<VarianceComponent> {
        variance_components(&self.random, &self.theta, self.sigma)
    }

    /// The intraclass correlation of each random intercept: its variance over the total of the
    /// intercept variances and the residual variance.
    pub fn variance_partition(&self) -> Vec<crate::partition::VariancePartition> {
        variance_partition(&self.random, &self.theta, self.sigma)
    }

    /// The likelihood-ratio test of this fit against a nested `smaller` one fitted to the same
    /// data (both by ML, or by REML with the same fixed effects): χ² = difference of the
    /// objectives on the difference in parameter counts. A variance tested at its boundary of
    /// zero makes the test conservative (the p-value could be halved).
    ///
    /// # Errors
    /// [`Error::Specification`] if `smaller` has no fewer parameters, other observations, or a
    /// different criterion.
    pub fn lr_test(&self, smaller: &LmmFit) -> Result<LrTest> {
        if smaller.n_obs != self.n_obs || smaller.reml != self.reml {
            return Err(Error::Specification("the two fits differ in their data or criterion (ML vs REML)".into()));
        }
        if self.reml && smaller.names != self.names {
            return Err(Error::Specification(
                "REML fits can be compared only with the same fixed effects: refit by ML".into(),
            ));
        }
        let df = self.n_parameters().checked_sub(smaller.n_parameters()).filter(|d| *d > 0).ok_or_else(|| {
            Error::Specification("the other model must be nested in this one, with fewer parameters".into())
        })?;
        let chisq = (smaller.objective - self.objective).max(0.0);
        Ok(LrTest::new(chisq, df as f64))
    }

    /// The conditional modes (BLUPs) of the random effects with their conditional standard
    /// deviations, `σ √diag(Λ A⁻¹ Λᵀ)` (lme4's `ranef(fit, condVar = TRUE)`): one row per level
    /// and effect.
    pub fn ranef(&self) -> Vec<RandomEffect> {
        self.random.conditional_modes(&self.b, &self.conditional_covariances_flat, self.sigma)
    }

    /// The data rows (0-based) the model used: those complete in every model variable.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// Fitted values $X\hat\beta + Z\hat b$ of the complete rows (lme4's `fitted`).
    pub fn fitted(&self) -> Vec<f64> {
        let mut fitted = self.x.times(&self.beta);
        self.random.z_times_add(&self.b, &mut fitted);
        fitted
    }

    /// Residuals $y - X\hat\beta - Z\hat b$ of the complete rows (lme4's `residuals`).
    pub fn residuals(&self) -> Vec<f64> {
        self.y.iter().zip(self.fitted()).map(|(y, f)| y - f).collect()
    }

    /// Each level's conditional covariance matrix of its random effects (lme4's `postVar`),
    /// whose diagonal gives the standard deviations of [`LmmFit::ranef`].
    pub fn conditional_covariances(&self) -> Vec<LevelCovariance> {
        self.random.level_covariances(&self.conditional_covariances_flat, self.sigma)
    }

    /// Everything `summary(lmer)` reports, ready to print or serialise.
    pub fn summary(&self) -> LmmSummary {
        // t tests on Satterthwaite's degrees of freedom, each coefficient its own.
        let mut table = CoefTable::new(&self.names, &self.beta, &self.std_errors(), Statistic::T(f64::NAN));
        for (row, &df) in table.rows.iter_mut().zip(&self.satterthwaite) {
            row.p_value = if df.is_finite() {
                strata_core::results::t_two_sided(row.statistic, df)
            } else {
                strata_core::results::normal_two_sided(row.statistic)
            };
        }
        LmmSummary {
            model: "lmm",
            formula: self.formula.clone(),
            reml: self.reml,
            coefficients: table.rows,
            random_effects: self.variance_components(),
            sigma: self.sigma,
            log_likelihood: -self.objective / 2.0,
            objective: self.objective,
            aic: self.aic().unwrap_or(f64::NAN),
            bic: self.bic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            n_groups: self.random.blocks.iter().map(|b| (b.group.clone(), b.levels.len())).collect(),
            theta: self.theta.clone(),
            variance_partition: self.variance_partition(),
            satterthwaite_df: self.satterthwaite.clone(),
            convergence: self.convergence.clone(),
        }
    }
}

impl FittedModel for LmmFit {
    fn coef(&self) -> &[f64] {
        &self.beta
    }

    fn coef_names(&self) -> &[String] {
        &self.names
    }

    fn vcov(&self) -> &Matrix {
        &self.covariance
    }

    /// The maximised log-likelihood, or for a REML fit the maximised restricted one, as lme4.
    fn log_likelihood(&self) -> Option<f64> {
        Some(-self.objective / 2.0)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.beta.len() + self.theta.len() + 1
    }
}

/// The variance components at (θ, σ), in lme4's `as.data.frame(VarCorr(fit))` order.
fn variance_components(random: &RandomEffects, theta: &[f64], sigma: f64) -> Vec<VarianceComponent> {
    let mut out = random.variance_components(theta, sigma * sigma);
    out.push(VarianceComponent {
        group: "Residual".into(),
        term1: None,
        term2: None,
        vcov: sigma * sigma,
        sdcor: sigma,
    });
    out
}

/// The intraclass correlations at (θ, σ).
fn variance_partition(random: &RandomEffects, theta: &[f64], sigma: f64) -> Vec<crate::partition::VariancePartition> {
    crate::partition::partition(&random.intercept_variances(theta, sigma * sigma), sigma * sigma, false)
}

/// Every quantity the bootstrap reports at (β, θ, σ): the fixed effects, the standard
/// deviations and correlations of the random effects and σ (lme4's `.sig01`, …, `.sigma`), and
/// the intraclass correlations.
fn bootstrap_statistics(random: &RandomEffects, beta: &[f64], theta: &[f64], sigma: f64) -> Vec<f64> {
    beta.iter()
        .copied()
        .chain(variance_components(random, theta, sigma).into_iter().map(|c| c.sdcor))
        .chain(variance_partition(random, theta, sigma).into_iter().map(|v| v.share))
        .collect()
}
