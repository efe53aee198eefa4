//! A fitted GLMM: its estimates, random effects, predictions, residuals, bootstrap, profiles
//! and variance partition.

use super::engine::{GlmmData, GlmmEngine};
use super::laplace::Problem;
use super::summary::GlmmSummary;
use super::{RandomEffect, VarianceComponent};
use crate::error::{Error, Result};
use crate::lmm::{percentile_intervals, BootstrapInterval};
use crate::partition::PartitionInterval;
use crate::predict::{MixedPrediction, Predictor};
use crate::profile::{glmm_intervals, ProfileInterval};
use crate::quadrature::gauss_hermite;
use crate::random_effects::{LevelCovariance, RandomEffects};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use strata_core::design::ModelMatrix;
use strata_core::family::{Family, Link};
use strata_core::numerics::{BobyqaControl, Convergence, Matrix};
use strata_core::random::Rng;
use strata_core::results::{CoefTable, FittedModel, Statistic};
use strata_core::DataFrame;
use strata_glm::{PredictionScale, ResidualKind};

/// Each random intercept's share on the latent scale with its median odds or rate ratio. The
/// observation-level variance on that scale is π²/3 for the logistic; for log links the
/// log-normal approximation ln(1 + 1/λ + 1/φ) at the mean rate λ, with φ the negative binomial
/// shape (Nakagawa, Johnson & Schielzeth 2017).
pub(super) fn variance_partition(
    family: Family,
    names: &[String],
    beta: &[f64],
    random: &RandomEffects,
    theta: &[f64],
) -> Vec<crate::partition::VariancePartition> {
    let intercepts = random.intercept_variances(theta, 1.0);
    let total: f64 = intercepts.iter().map(|(_, v)| v).sum();
    let residual = match family {
        Family::Binomial => std::f64::consts::PI * std::f64::consts::PI / 3.0,
        family => {
            let intercept = names.iter().position(|n| n == "(Intercept)").map_or(0.0, |j| beta[j]);
            let overdispersion = if let Family::NegativeBinomial { theta } = family { 1.0 / theta } else { 0.0 };
            (1.0 + 1.0 / (intercept + total / 2.0).exp() + overdispersion).ln()
        }
    };
    crate::partition::partition(&intercepts, residual, true)
}

/// What the bootstrap collects: β, the random effects' SDs and correlations, the VPCs and the
/// median ratios.
pub(super) fn statistics(
    family: Family,
    names: &[String],
    beta: &[f64],
    random: &RandomEffects,
    theta: &[f64],
) -> Vec<f64> {
    let partition = variance_partition(family, names, beta, random, theta);
    beta.iter()
        .copied()
        .chain(random.variance_components(theta, 1.0).into_iter().map(|c| c.sdcor))
        .chain(partition.iter().map(|v| v.share))
        .chain(partition.iter().map(|v| v.median_ratio.unwrap_or(f64::NAN)))
        .collect()
}

/// A fitted generalised linear mixed model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlmmFit {
    pub(super) formula: String,
    pub(super) family: Family,
    /// Whether the negative binomial shape was estimated (one more parameter).
    pub(super) shape_estimated: bool,
    pub(super) nagq: usize,
    pub(super) names: Vec<String>,
    pub(super) beta: Vec<f64>,
    pub(super) covariance: Matrix,
    pub(super) theta: Vec<f64>,
    pub(super) objective: f64,
    pub(super) n_obs: usize,
    pub(super) random: RandomEffects,
    pub(super) b: Vec<f64>,
    /// The conditional covariance blocks of b at the mode, flattened.
    pub(super) conditional_covariances_flat: Vec<f64>,
    pub(super) link: Link,
    /// What evaluates new data (`None` for a fit from arrays).
    pub(super) predictor: Option<Predictor>,
    pub(super) convergence: Convergence,
    /// The design and response the fit used (grouped by the first grouping factor), kept for
    /// the profiles, fitted values and residuals; `order[k]` is the complete row at position k.
    pub(super) design: Arc<ModelMatrix>,
    pub(super) data: Arc<GlmmData>,
    pub(super) order: Vec<usize>,
    /// The 0-based data row of each observation, in data order.
    pub(super) rows: Vec<usize>,
    /// How it was estimated, for refits.
    pub(super) engine: GlmmEngine,
}

impl GlmmFit {
    /// The data rows (0-based) the model used: those complete in every model variable.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// A seeded parametric bootstrap (lme4's `bootMer`): `replicates` responses simulated from
    /// the fitted model — new random effects $u^* \sim N(0, I)$, then each observation from its
    /// family at $\mu^* = g^{-1}(X\hat\beta + Z\Lambda_{\hat\theta}u^* + o)$ (binomial
    /// successes out of the trials, Poisson, or negative binomial with the fitted shape) — each
    /// refitted from θ̂ (re-estimating the negative binomial shape when it was estimated).
    /// Percentile intervals at `level` for the fixed effects, the random effects' standard
    /// deviations and correlations, and each random intercept's variance partition coefficient
    /// (`VPC|group`) and median odds or rate ratio (`MOR|group`, `MRR|group`).
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
        let quadrature = gauss_hermite(self.nagq)?;
        let mut fixed = self.data.offset.clone();
        self.design.matrix.times_add(&self.beta, &mut fixed);
        let mut draws = Vec::with_capacity(replicates);
        let task = strata_core::progress::task("bootstrap replicates", replicates as u64);
        for _ in 0..replicates {
            let u: Vec<f64> = (0..self.random.q()).map(|_| rng.normal()).collect();
            let mut eta = fixed.clone();
            self.random.z_times_add(&self.random.lambda_times(&self.theta, &u), &mut eta);
            let y: Vec<f64> = eta
                .iter()
                .enumerate()
                .map(|(k, &e)| {
                    let mu = self.link.inverse(e);
                    match self.family {
                        Family::Binomial => {
                            let trials = self.data.trials[k].round().max(1.0);
                            let successes = (0..trials as usize).filter(|_| rng.uniform() < mu).count();
                            successes as f64 / trials
                        }
                        Family::NegativeBinomial { theta } => rng.negative_binomial(mu, theta),
                        _ => rng.poisson(mu),
                    }
                })
                .collect();
            let data = GlmmData { y, ..(*self.data).clone() };
            let (family, start) = if self.shape_estimated {
                let (shape, warm) = self.engine.shape(&data, &self.design, &self.random)?;
                (Family::NegativeBinomial { theta: shape }, warm)
            } else {
                (self.family, self.theta.clone())
            };
            let problem = Problem::new(family, self.link, &self.design.matrix, &data, &self.random);
            let (theta, beta, ..) = self.engine.estimate(&problem, &quadrature, Some(&start))?;
            draws.push(statistics(family, &self.names, &beta, &self.random, &theta));
            task.advance(1);
        }
        let ratio = if self.family == Family::Binomial { "MOR" } else { "MRR" };
        let partition = self.variance_partition();
        let names: Vec<String> = self
            .names
            .iter()
            .cloned()
            .chain(self.variance_components().iter().map(VarianceComponent::parameter_name))
            .chain(partition.iter().map(|v| format!("VPC|{}", v.group)))
            .chain(partition.iter().map(|v| format!("{ratio}|{}", v.group)))
            .collect();
        let estimates = statistics(self.family, &self.names, &self.beta, &self.random, &self.theta);
        Ok(percentile_intervals(names, &estimates, &draws, level))
    }

    /// The fitted means (conditional on the random effects; proportions for the binomial) of
    /// the complete rows in data order (lme4's `fitted`).
    pub fn fitted(&self) -> Vec<f64> {
        self.in_data_order(|_, mu, _| mu)
    }

    /// Residuals of the complete rows in data order (lme4's `residuals(fit, type)`; its default
    /// is [`ResidualKind::Deviance`]).
    pub fn residuals(&self, kind: ResidualKind) -> Vec<f64> {
        let data = &self.data;
        self.in_data_order(|k, mu, eta| kind.of(self.family, self.link, data.y[k], mu, eta, data.weights[k]))
    }

    /// `value(k, μ, η)` at each position k of the fit, returned in data order.
    fn in_data_order(&self, value: impl Fn(usize, f64, f64) -> f64) -> Vec<f64> {
        let mut eta = self.data.offset.clone();
        self.design.matrix.times_add(&self.beta, &mut eta);
        self.random.z_times_add(&self.b, &mut eta);
        let mut out = vec![0.0; eta.len()];
        for (k, &e) in eta.iter().enumerate() {
            out[self.order[k]] = value(k, self.link.inverse(e), e);
        }
        out
    }

    /// Profile-likelihood confidence intervals at `level` for the standard deviations and
    /// correlations of the random effects and the fixed effects (see [`crate::profile`]; lme4's
    /// `confint(fit, oldNames = FALSE)` for `glmer` fits).
    ///
    /// # Errors
    /// A level outside (0, 1).
    pub fn profile_intervals(&self, level: f64) -> Result<Vec<ProfileInterval>> {
        let problem = Problem::new(self.family, self.link, &self.design.matrix, &self.data, &self.random);
        let quadrature = gauss_hermite(self.nagq)?;
        let deviance = |theta: &[f64], beta: &[f64]| problem.deviance(theta, beta, &quadrature).ok();
        let variance_names: Vec<String> =
            self.variance_components().iter().map(VarianceComponent::parameter_name).collect();
        glmm_intervals(
            deviance,
            &self.random,
            &self.theta,
            &self.beta,
            self.objective,
            &variance_names,
            &self.names,
            &self.std_errors(),
            level,
            BobyqaControl::default(),
        )
    }

    /// Intervals for the median odds or rate ratio of each random intercept — exact transforms
    /// of the profile interval of its standard deviation, given as `profile` from
    /// [`GlmmFit::profile_intervals`] — and, for a logistic model with a single random term,
    /// of its variance partition coefficient (which then depends on that standard deviation
    /// alone).
    pub fn partition_intervals(&self, profile: &[ProfileInterval]) -> Vec<PartitionInterval> {
        let single_logistic = self.family == Family::Binomial && self.random.blocks.len() == 1;
        let latent = std::f64::consts::PI * std::f64::consts::PI / 3.0;
        self.variance_partition()
            .into_iter()
            .filter_map(|v| {
                let name = format!("sd_(Intercept)|{}", v.group);
                let sd = profile.iter().find(|p| p.parameter == name)?;
                let (low, high) = (sd.lower * sd.lower, sd.upper * sd.upper);
                Some(PartitionInterval {
                    group: v.group,
                    share: single_logistic.then(|| (low / (low + latent), high / (high + latent))),
                    median_ratio: (crate::partition::median_ratio(low), crate::partition::median_ratio(high)),
                })
            })
            .collect()
    }

    /// Predictions for the complete rows of `frame`, population-level and conditional on the
    /// random effects, on the scale of the linear predictor (offsets included) or of the
    /// mean (lme4's `predict(fit, newdata, type = "response",
    /// allow.new.levels = TRUE)`).
    ///
    /// # Errors
    /// Unknown columns, a level of a fixed factor the model has not seen, non-finite values;
    /// [`Error::Specification`] for a model fitted from arrays.
    pub fn predict(&self, frame: &DataFrame, scale: PredictionScale) -> Result<Vec<MixedPrediction>> {
        let predictor = self.predictor.as_ref().ok_or_else(|| {
            Error::Specification("a model fitted from arrays has no formula to evaluate new data with".into())
        })?;
        let mut predictions = predictor.linear(frame, &self.names, &self.beta, &self.random, &self.b)?;
        if scale == PredictionScale::Response {
            for p in &mut predictions {
                p.population = self.link.inverse(p.population);
                p.conditional = self.link.inverse(p.conditional);
            }
        }
        Ok(predictions)
    }

    /// The conditional modes of the random effects (on the linear-predictor scale), with their
    /// conditional standard deviations at the mode.
    pub fn ranef(&self) -> Vec<RandomEffect> {
        self.random.conditional_modes(&self.b, &self.conditional_covariances_flat, 1.0)
    }

    /// Each level's conditional covariance matrix of its random effects at the mode (lme4's
    /// `postVar`).
    pub fn conditional_covariances(&self) -> Vec<LevelCovariance> {
        self.random.level_covariances(&self.conditional_covariances_flat, 1.0)
    }

    /// θ: the random effects' standard deviations and correlations on the scale of the linear
    /// predictor, as relative Cholesky factors (σ = 1 for these families).
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// −2 log-likelihood under the approximation used.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// How the optimisation ended.
    pub fn convergence(&self) -> &Convergence {
        &self.convergence
    }

    /// Variances and covariances of the random effects (on the linear-predictor scale).
    pub fn variance_components(&self) -> Vec<VarianceComponent> {
        self.random.variance_components(&self.theta, 1.0)
    }

    /// The variance partition of each random intercept on the latent (logistic) or
    /// log-normal (Poisson, negative binomial) scale, with the median odds or rate ratio.
    pub fn variance_partition(&self) -> Vec<crate::partition::VariancePartition> {
        variance_partition(self.family, &self.names, &self.beta, &self.random, &self.theta)
    }

    /// Everything `summary(glmer)` reports.
    pub fn summary(&self) -> GlmmSummary {
        let table = CoefTable::new(&self.names, &self.beta, &self.std_errors(), Statistic::Z);
        GlmmSummary {
            model: "glmm",
            family: self.family.name(),
            negbin_shape: match self.family {
                Family::NegativeBinomial { theta } => Some(theta),
                _ => None,
            },
            formula: self.formula.clone(),
            nagq: self.nagq,
            coefficients: table.rows,
            random_effects: self.variance_components(),
            log_likelihood: -self.objective / 2.0,
            objective: self.objective,
            aic: self.aic().unwrap_or(f64::NAN),
            bic: self.bic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            theta: self.theta.clone(),
            variance_partition: self.variance_partition(),
            convergence: self.convergence.clone(),
        }
    }
}

impl FittedModel for GlmmFit {
    fn coef(&self) -> &[f64] {
        &self.beta
    }

    fn coef_names(&self) -> &[String] {
        &self.names
    }

    fn vcov(&self) -> &Matrix {
        &self.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(-self.objective / 2.0)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.beta.len() + self.theta.len() + usize::from(self.shape_estimated)
    }
}
