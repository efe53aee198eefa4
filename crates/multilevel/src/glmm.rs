//! Generalised linear mixed models: binomial, Poisson and negative binomial responses with
//! random effects.
//!
//! The model: $g(\mu) = X\beta + Z\Lambda_\theta u + o$, $u \sim N(0, I)$, with $y$ from the
//! family given $u$. The likelihood $\int p(y\mid u)\varphi(u)\,du$ is approximated by Laplace's
//! method at the conditional mode $\tilde u$, found by penalised IRLS (PIRLS):
//! $-2\ell \approx -2\log p(y\mid\tilde u) + \|\tilde u\|^2 + \log|L_\theta|^2$ with
//! $L_\theta L_\theta^\top = \Lambda^\top Z^\top W Z\Lambda + I$ at the mode; or, for a single
//! scalar random effect, by adaptive Gauss–Hermite quadrature centred on each group's mode with
//! its Laplace scale (Pinheiro & Bates 1995; Bates et al. 2015). As lme4, θ is first optimised
//! with β profiled inside PIRLS, then θ and β together; the covariance of β̂ is twice the
//! inverse of the finite-difference Hessian of the deviance in (θ, β).
//!
//! Negative binomial GLMMs with the shape estimated (lme4's `glmer.nb`): for each shape φ the
//! model is fitted as above with $\mathrm{Var}(y\mid u) = \mu + \mu^2/\varphi$, and
//! $\hat\varphi$ minimises the resulting $-2\ell(\varphi)$ — the full likelihood, whose
//! normalising constants depend on φ — by Brent's method on $\log\varphi$, starting from
//! the maximum-likelihood φ given a Poisson GLMM's conditional means.
//!
//! Checked against `lme4::glmer` on `glmm_cbpp_laplace`, `glmm_cbpp_agq25` and
//! `glmm_grouseticks_poisson`.

use crate::error::{Error, Result};
use crate::lmm::{percentile_intervals, BootstrapInterval};
use crate::partition::PartitionInterval;
use crate::pls::CrossProducts;
use crate::predict::{MixedPrediction, Predictor};
use crate::profile::{glmm_intervals, ProfileInterval};
use crate::quadrature::gauss_hermite;
use crate::random_effects::{LevelCovariance, RandomEffects};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use strata_core::design::{check_estimable, ModelMatrix};
use strata_core::family::{Family, Link};
use strata_core::numerics::{
    aliased_columns, finite_difference_hessian, minimize_bobyqa, minimize_scalar, BobyqaControl, Cholesky, Convergence,
    Matrix,
};
use strata_core::random::Rng;
use strata_core::results::{significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};
use strata_gradient::glm::{theta_ml, PredictionScale, ResidualKind, ResponseData};

pub use crate::lmm::{RandomEffect, VarianceComponent};

/// A generalised linear mixed model specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralizedLinearMixedModel {
    formula: Formula,
    family: Family,
    link: Link,
    nagq: usize,
    weights: Option<String>,
    control: BobyqaControl,
    /// Whether the negative binomial shape is estimated (`glmer.nb`) rather than given.
    estimate_shape: bool,
}

impl GeneralizedLinearMixedModel {
    /// A binomial, Poisson or negative binomial (with the shape given) GLMM with the family's
    /// canonical link and the Laplace approximation.
    ///
    /// # Errors
    /// A formula error; [`Error::Specification`] for other families or a formula without
    /// random effects.
    pub fn new(formula: &str, family: Family) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if terms.random.is_empty() {
            return Err(Error::Specification(
                "no random-effect term: add one such as (1 | group), or fit a GLM".into(),
            ));
        }
        if !matches!(family, Family::Binomial | Family::Poisson | Family::NegativeBinomial { .. }) {
            return Err(Error::Specification(format!(
                "GLMMs are implemented for the binomial, Poisson and negative binomial families, not {}",
                family.name()
            )));
        }
        if let Family::NegativeBinomial { theta } = family {
            if !(theta.is_finite() && theta > 0.0) {
                return Err(Error::Specification(format!("the negative binomial shape {theta} is not positive")));
            }
        }
        Ok(Self {
            formula,
            family,
            link: family.default_link(),
            nagq: 1,
            weights: None,
            control: BobyqaControl::default(),
            estimate_shape: false,
        })
    }

    /// A negative binomial GLMM with log link whose shape is estimated by maximum likelihood,
    /// as lme4's `glmer.nb`.
    ///
    /// # Errors
    /// As [`GeneralizedLinearMixedModel::new`].
    pub fn negative_binomial(formula: &str) -> Result<Self> {
        Ok(Self { estimate_shape: true, ..Self::new(formula, Family::NegativeBinomial { theta: 1.0 })? })
    }

    /// The number of adaptive Gauss–Hermite points (1: Laplace). More than one needs a single
    /// scalar random effect.
    ///
    /// # Errors
    /// [`Error::Specification`] for zero points or more than one random term.
    pub fn nagq(mut self, points: usize) -> Result<Self> {
        let terms = self.formula.terms().map_err(strata_core::Error::from)?;
        if points == 0 {
            return Err(Error::Specification("nAGQ must be at least 1".into()));
        }
        if points > 1 && (terms.random.len() != 1 || !terms.random[0].terms.terms.is_empty()) {
            return Err(Error::Specification(
                "nAGQ > 1 needs a single scalar random effect such as (1 | group)".into(),
            ));
        }
        self.nagq = points;
        Ok(self)
    }

    /// Another link (probit or cloglog for the binomial).
    #[must_use]
    pub fn link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    /// Prior weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Fits the model.
    ///
    /// # Errors
    /// Data and formula errors, an impossible response, a rank-deficient design, or a fit that
    /// fails numerically.
    pub fn fit(&self, frame: &DataFrame) -> Result<GlmmFit> {
        let (data, design, random, order) = self.prepare(frame)?;
        let mut fit = if self.estimate_shape {
            let (shape, warm) = self.shape(&data, &design, &random)?;
            let mut fit =
                self.fit_family(Family::NegativeBinomial { theta: shape }, &data, &design, &random, Some(&warm))?;
            fit.shape_estimated = true;
            if shape > 1e4 {
                fit.convergence.warnings.push(Warning::new(
                    WarningKind::Boundary,
                    format!(
                    "the negative binomial shape is {shape:.3e}: the counts show no overdispersion beyond the random \
                     effects, and a Poisson GLMM fits as well"
                ),
                ));
            }
            fit
        } else {
            self.fit_family(self.family, &data, &design, &random, None)?
        };
        fit.order = order;
        Ok(fit)
    }

    /// glmer.nb: the shape minimising the deviance of the negative binomial GLMM, with the θ
    /// of the last fit (a start for the final one). Only the optimisations run for each shape.
    fn shape(&self, data: &ResponseData, design: &ModelMatrix, random: &RandomEffects) -> Result<(f64, Vec<f64>)> {
        let quadrature = gauss_hermite(self.nagq)?;
        let poisson = Problem::new(Family::Poisson, self.link, &design.matrix, data, random);
        let (theta, beta, ..) = self.estimate(&poisson, &quadrature, None)?;
        let mu = poisson.pirls(&theta, Some(&beta))?.mu;
        let start = theta_ml(&data.y, &mu, &data.weights, None).map_or(1.0, |(shape, _)| shape);
        let mut warm = theta;
        // Quadrature deviances omit −2 log p(y | y), as lme4's do; across shapes it is not a
        // constant, so it is added back to compare them.
        let saturated = |family: Family| {
            if self.nagq > 1 {
                -2.0 * family.log_likelihood(&data.y, &data.y, &data.weights, &data.trials, 0.0).unwrap_or(0.0)
            } else {
                0.0
            }
        };
        let mut deviance = |log_shape: f64| {
            let family = Family::NegativeBinomial { theta: log_shape.exp() };
            let problem = Problem::new(family, self.link, &design.matrix, data, random);
            match self.estimate(&problem, &quadrature, Some(&warm)) {
                Ok((theta, _, objective, _)) => {
                    warm = theta;
                    objective + saturated(family)
                }
                Err(_) => f64::INFINITY,
            }
        };
        // Search log φ within ±3 of the start, moving the window while the minimum is at an edge.
        let (mut low, mut high) = (start.ln() - 3.0, start.ln() + 3.0);
        let mut best = minimize_scalar(&mut deviance, low, high, 1e-6);
        for _ in 0..5 {
            if best.0 - low < 1e-3 {
                (low, high) = (low - 6.0, low);
            } else if high - best.0 < 1e-3 {
                (low, high) = (high, high + 6.0);
            } else {
                break;
            }
            best = minimize_scalar(&mut deviance, low, high, 1e-6);
        }
        Ok((best.0.exp(), warm))
    }

    /// θ, β and the deviance at their optimum, and how the optimisation went: stage 1 (θ with
    /// β inside PIRLS) from `start` or lme4's, then stage 2 (θ and β together).
    fn estimate(
        &self,
        problem: &Problem,
        quadrature: &(Vec<f64>, Vec<f64>),
        start: Option<&[f64]>,
    ) -> Result<(Vec<f64>, Vec<f64>, f64, Convergence)> {
        let random = problem.random;
        let n_theta = random.n_theta();
        let p = problem.x.ncols();
        let mut theta = start.map_or_else(|| random.initial_theta(), <[f64]>::to_vec);
        let lower = random.lower_bounds();
        let upper = vec![f64::INFINITY; n_theta];
        let stage1 = |t: &[f64]| problem.pirls(t, None).map_or(f64::INFINITY, |m| problem.laplace(&m));
        // Stage 1 only needs to bring θ near the optimum: stage 2 refines θ and β together.
        let coarse = BobyqaControl { rho_end: self.control.rho_end.max(1e-4), ..self.control };
        let mut convergence = minimize_bobyqa(stage1, &mut theta, &lower, &upper, &coarse)?;
        let mode = problem.pirls(&theta, None)?;
        let mut parameters: Vec<f64> = theta.iter().chain(&mode.beta).copied().collect();
        let lower2: Vec<f64> = lower.iter().copied().chain(std::iter::repeat_n(f64::NEG_INFINITY, p)).collect();
        let upper2 = vec![f64::INFINITY; n_theta + p];
        let deviance = |x: &[f64]| problem.deviance(&x[..n_theta], &x[n_theta..], quadrature);
        let stage2 = minimize_bobyqa(
            |x| deviance(x).unwrap_or(f64::INFINITY),
            &mut parameters,
            &lower2,
            &upper2,
            &self.control,
        )?;
        convergence.iterations += stage2.iterations;
        convergence.evaluations += stage2.evaluations;
        convergence.converged &= stage2.converged;
        let objective = deviance(&parameters)?;
        convergence.objective = objective;
        Ok((parameters[..n_theta].to_vec(), parameters[n_theta..].to_vec(), objective, convergence))
    }

    /// Fits one family to prepared data, stage 1 starting from `start` (θ) when given, with
    /// standard errors and conditional modes.
    fn fit_family(
        &self,
        family: Family,
        data: &ResponseData,
        design: &ModelMatrix,
        random: &RandomEffects,
        start: Option<&[f64]>,
    ) -> Result<GlmmFit> {
        let problem = Problem::new(family, self.link, &design.matrix, data, random);
        let quadrature = gauss_hermite(self.nagq)?;
        let (theta, beta, objective, mut convergence) = self.estimate(&problem, &quadrature, start)?;
        let n_theta = theta.len();
        let parameters: Vec<f64> = theta.iter().chain(&beta).copied().collect();
        let deviance = |x: &[f64]| problem.deviance(&x[..n_theta], &x[n_theta..], &quadrature);
        let covariance = hessian_covariance(&deviance, &parameters, n_theta).map_or_else(
            || {
                convergence.warnings.push(Warning::new(
                    WarningKind::Information,
                    "the Hessian of the deviance is not positive definite: standard errors from the PIRLS system",
                ));
                problem.pirls(&theta, Some(&beta)).map(|m| m.schur_inverse)
            },
            Ok,
        )?;
        let mode = problem.pirls(&theta, Some(&beta))?;
        let modes = random.lambda_times(&theta, &mode.u);
        // The conditional variances of b at the mode: diag(Λ (ΛᵀZᵀWZΛ + I)⁻¹ Λᵀ) with the
        // working weights W there (lme4's `ranef(fit, condVar = TRUE)`).
        let conditional_covariances_flat =
            CrossProducts::new(&Matrix::zeros(data.y.len(), 0), &vec![0.0; data.y.len()], Some(&mode.weights), random)
                .conditional_covariances(random, &theta)?;
        if random.blocks.iter().any(|b| (0..b.p()).any(|j| b.factor(&theta)[(j, j)] < 1e-4)) {
            convergence
                .warnings
                .push(Warning::new(WarningKind::Boundary, "singular fit: a random-effect variance is zero"));
        }
        let fit = GlmmFit {
            order: Vec::new(),
            design: Arc::new(design.clone()),
            spec: self.clone(),
            data: Arc::new(data.clone()),
            formula: self.formula.text().to_string(),
            family,
            shape_estimated: false,
            nagq: self.nagq,
            names: design.names.clone(),
            beta,
            covariance,
            theta,
            objective,
            n_obs: data.y.len(),
            random: random.clone(),
            b: modes,
            conditional_covariances_flat,
            link: self.link,
            predictor: Predictor::new(&self.formula, &data.terms, &data.model_frame),
            convergence,
        };
        Ok(fit)
    }
}

impl GeneralizedLinearMixedModel {
    /// The response, fixed-effects design and random effects on the complete rows, grouped by
    /// the first grouping factor; `order[k]` is the complete row at position k.
    fn prepare(&self, frame: &DataFrame) -> Result<(ResponseData, ModelMatrix, RandomEffects, Vec<usize>)> {
        let data = ResponseData::new(&self.formula, self.family, self.weights.as_deref(), frame)?;
        let response = self.formula.response().map(ToString::to_string).unwrap_or_default();
        crate::error::check_response_varies(&response, &data.y)?;
        let design = ModelMatrix::new(&data.terms, &data.model_frame)?;
        if aliased_columns(&design.matrix, 1e-7).iter().any(|a| *a) {
            return Err(Error::Core(strata_core::Error::Singular(
                "fixed-effect columns are linearly dependent".into(),
            )));
        }
        check_estimable(data.y.len(), design.names.len())?;
        let random = RandomEffects::new(&data.terms, &data.model_frame)?;
        // Group the observations by the level of the first (largest) grouping factor, so that
        // every pass over them touches that factor's arrays in order. Nothing reported depends
        // on the order of the rows.
        let mut order: Vec<usize> = (0..data.y.len()).collect();
        order.sort_by_key(|&i| random.blocks[0].codes[i]);
        let permute = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let data = ResponseData {
            y: permute(&data.y),
            weights: permute(&data.weights),
            trials: permute(&data.trials),
            offset: permute(&data.offset),
            ..data
        };
        let p = design.names.len();
        let design =
            ModelMatrix { matrix: Matrix::from_fn(order.len(), p, |i, j| design.matrix[(order[i], j)]), ..design };
        let random = random.permuted(&order);
        Ok((data, design, random, order))
    }
}

/// Each random intercept's share on the latent scale with its median odds or rate ratio. The
/// observation-level variance on that scale is π²/3 for the logistic; for log links the
/// log-normal approximation ln(1 + 1/λ + 1/φ) at the mean rate λ, with φ the negative binomial
/// shape (Nakagawa, Johnson & Schielzeth 2017).
fn variance_partition(
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
fn statistics(family: Family, names: &[String], beta: &[f64], random: &RandomEffects, theta: &[f64]) -> Vec<f64> {
    let partition = variance_partition(family, names, beta, random, theta);
    beta.iter()
        .copied()
        .chain(random.variance_components(theta, 1.0).into_iter().map(|c| c.sdcor))
        .chain(partition.iter().map(|v| v.share))
        .chain(partition.iter().map(|v| v.median_ratio.unwrap_or(f64::NAN)))
        .collect()
}

/// `2 H⁻¹` restricted to β, from central differences of the deviance; `None` if the Hessian is
/// not positive definite.
fn hessian_covariance(deviance: &dyn Fn(&[f64]) -> Result<f64>, x: &[f64], n_theta: usize) -> Option<Matrix> {
    let hessian = finite_difference_hessian(&|y| deviance(y).ok(), x, 1e-3)?;
    let inverse = Cholesky::new(&hessian).ok()?.inverse();
    let p = x.len() - n_theta;
    Some(Matrix::from_fn(p, p, |i, j| 2.0 * inverse[(n_theta + i, n_theta + j)]))
}

struct Problem<'a> {
    family: Family,
    link: Link,
    x: &'a Matrix,
    data: &'a ResponseData,
    random: &'a RandomEffects,
    /// The last mode found (u, β): the optimisers move in small steps, so PIRLS starts there.
    warm: std::cell::RefCell<Option<(Vec<f64>, Vec<f64>)>>,
    /// `−2 log p(y | y)` of the saturated model.
    saturated: f64,
}

impl<'a> Problem<'a> {
    fn new(family: Family, link: Link, x: &'a Matrix, data: &'a ResponseData, random: &'a RandomEffects) -> Self {
        let saturated =
            -2.0 * family.log_likelihood(&data.y, &data.y, &data.weights, &data.trials, 0.0).unwrap_or(f64::NAN);
        Self { family, link, x, data, random, warm: std::cell::RefCell::new(None), saturated }
    }
}

/// The conditional mode at one (θ, β).
struct Mode {
    beta: Vec<f64>,
    u: Vec<f64>,
    mu: Vec<f64>,
    weights: Vec<f64>,
    log_det_l: f64,
    schur_inverse: Matrix,
}

impl Problem<'_> {
    fn linear(&self, beta: &[f64], theta: &[f64], u: &[f64]) -> Vec<f64> {
        let mut eta = self.data.offset.clone();
        self.x.times_add(beta, &mut eta);
        self.random.z_times_add(&self.random.lambda_times(theta, u), &mut eta);
        eta
    }

    fn working_weights(&self, eta: &[f64], mu: &[f64]) -> Vec<f64> {
        (0..eta.len())
            .map(|i| {
                let d = self.link.mu_eta(eta[i]);
                self.data.weights[i] * d * d / self.family.variance(mu[i])
            })
            .collect()
    }

    fn penalised_deviance(&self, mu: &[f64], u: &[f64]) -> f64 {
        let d: f64 =
            (0..mu.len()).map(|i| self.data.weights[i] * self.family.unit_deviance(self.data.y[i], mu[i])).sum();
        d + u.iter().map(|v| v * v).sum::<f64>()
    }

    /// PIRLS for u (and β when `beta` is `None`) at θ.
    fn pirls(&self, theta: &[f64], beta: Option<&[f64]>) -> Result<Mode> {
        let n = self.data.y.len();
        let q = self.random.q();
        let warm = self.warm.borrow().clone();
        let (mut u, mut current_beta, mut eta) = match (beta, warm) {
            (Some(b), Some((u, _))) => {
                let eta = self.linear(b, theta, &u);
                (u, b.to_vec(), eta)
            }
            (Some(b), None) => (vec![0.0; q], b.to_vec(), self.linear(b, theta, &vec![0.0; q])),
            (None, Some((u, warm_beta))) => {
                let eta = self.linear(&warm_beta, theta, &u);
                (u, warm_beta, eta)
            }
            (None, None) => (
                vec![0.0; q],
                vec![0.0; self.x.ncols()],
                (0..n).map(|i| self.link.link(self.family.start(self.data.y[i], self.data.weights[i]))).collect(),
            ),
        };
        let mut mu: Vec<f64> = eta.iter().map(|&e| self.link.inverse(e)).collect();
        // From the family's starting means the first step is taken unconditionally; from any
        // other start, steps must not increase the penalised deviance.
        let cold = beta.is_none() && u.iter().all(|v| *v == 0.0) && current_beta.iter().all(|v| *v == 0.0);
        let mut previous = if cold { f64::INFINITY } else { self.penalised_deviance(&mu, &u) };
        let empty = Matrix::zeros(n, 0);
        for _ in 0..100 {
            // The working weights and response share dμ/dη: one evaluation per observation.
            let mut weights = vec![0.0; n];
            let mut z = vec![0.0; n];
            for i in 0..n {
                let d = self.link.mu_eta_given(eta[i], mu[i]);
                weights[i] = self.data.weights[i] * d * d / self.family.variance(mu[i]);
                z[i] = eta[i] - self.data.offset[i] + (self.data.y[i] - mu[i]) / d;
            }
            let (new_beta, new_u) = if let Some(b) = beta {
                let fixed = self.x.times(b);
                let target: Vec<f64> = z.iter().zip(&fixed).map(|(z, f)| z - f).collect();
                let solution =
                    CrossProducts::new(&empty, &target, Some(&weights), self.random).solve(self.random, theta)?;
                (b.to_vec(), solution.u)
            } else {
                let solution = CrossProducts::new(self.x, &z, Some(&weights), self.random).solve(self.random, theta)?;
                (solution.beta, solution.u)
            };
            // Step-halving on the penalised deviance.
            let mut fraction = 1.0;
            let accepted = loop {
                let trial_u: Vec<f64> = u.iter().zip(&new_u).map(|(a, b)| a + fraction * (b - a)).collect();
                let trial_beta: Vec<f64> =
                    current_beta.iter().zip(&new_beta).map(|(a, b)| a + fraction * (b - a)).collect();
                let trial_eta = self.linear(&trial_beta, theta, &trial_u);
                let trial_mu: Vec<f64> = trial_eta.iter().map(|&e| self.link.inverse(e)).collect();
                let value = self.penalised_deviance(&trial_mu, &trial_u);
                if value.is_finite() && (value <= previous * (1.0 + 1e-12) || !previous.is_finite()) {
                    break Some((trial_u, trial_beta, trial_eta, trial_mu, value));
                }
                fraction /= 2.0;
                if fraction < 1e-8 {
                    break None;
                }
            };
            let Some((next_u, next_beta, next_eta, next_mu, value)) = accepted else { break };
            let change = (previous - value).abs() / (value.abs() + 0.1);
            u = next_u;
            current_beta = next_beta;
            eta = next_eta;
            mu = next_mu;
            previous = value;
            if change < 1e-13 {
                break;
            }
        }
        let weights = self.working_weights(&eta, &mu);
        let z: Vec<f64> = vec![0.0; n];
        let system = CrossProducts::new(self.x, &z, Some(&weights), self.random).solve(self.random, theta)?;
        *self.warm.borrow_mut() = Some((u.clone(), current_beta.clone()));
        Ok(Mode {
            beta: current_beta,
            u,
            mu,
            weights,
            log_det_l: system.log_det_l,
            schur_inverse: system.schur_inverse,
        })
    }

    /// `−2 log p(y | μ)`: the deviance (a sum of unit deviances) plus the saturated model's
    /// `−2 log p(y | y)`, which does not depend on μ and is computed once.
    fn conditional_deviance(&self, mu: &[f64]) -> f64 {
        let deviance: f64 =
            (0..mu.len()).map(|i| self.data.weights[i] * self.family.unit_deviance(self.data.y[i], mu[i])).sum();
        deviance + self.saturated
    }

    /// The Laplace approximation to −2 log-likelihood at a mode.
    fn laplace(&self, mode: &Mode) -> f64 {
        self.conditional_deviance(&mode.mu) + mode.u.iter().map(|v| v * v).sum::<f64>() + mode.log_det_l
    }

    /// −2 log-likelihood at (θ, β) by Laplace (one point) or adaptive Gauss–Hermite quadrature.
    fn deviance(&self, theta: &[f64], beta: &[f64], (nodes, weights): &(Vec<f64>, Vec<f64>)) -> Result<f64> {
        let mode = self.pirls(theta, Some(beta))?;
        if nodes.len() == 1 {
            return Ok(self.laplace(&mode));
        }
        let block = &self.random.blocks[0];
        let lambda = theta[0];
        let fixed: Vec<f64> = self.x.times(beta).iter().zip(&self.data.offset).map(|(a, b)| a + b).collect();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); block.levels.len()];
        for (i, &c) in block.codes.iter().enumerate() {
            members[c as usize].push(i);
        }
        let mut total = 0.0;
        for (j, rows) in members.iter().enumerate() {
            let information: f64 =
                1.0 + rows.iter().map(|&i| mode.weights[i] * (lambda * block.x[(i, 0)]).powi(2)).sum::<f64>();
            let scale = 1.0 / information.sqrt();
            let terms: Vec<f64> = nodes
                .iter()
                .zip(weights)
                .map(|(&t, &weight)| {
                    let u = mode.u[j] + scale * t;
                    // lme4 measures the conditional fit by the deviance residuals here (not the
                    // full log-likelihood as under Laplace): its AGQ deviances omit the saturated
                    // model's constant, and so do these.
                    let deviance: f64 = rows
                        .iter()
                        .map(|&i| {
                            let mu = self.link.inverse(fixed[i] + lambda * u * block.x[(i, 0)]);
                            self.data.weights[i] * self.family.unit_deviance(self.data.y[i], mu)
                        })
                        .sum();
                    weight.ln() - 0.5 * deviance - 0.5 * u * u + 0.5 * t * t
                })
                .collect();
            let largest = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = largest + terms.iter().map(|v| (v - largest).exp()).sum::<f64>().ln();
            total += information.ln() - 2.0 * log_sum;
        }
        Ok(total)
    }
}

/// A fitted generalised linear mixed model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlmmFit {
    formula: String,
    family: Family,
    /// Whether the negative binomial shape was estimated (one more parameter).
    shape_estimated: bool,
    nagq: usize,
    names: Vec<String>,
    beta: Vec<f64>,
    covariance: Matrix,
    theta: Vec<f64>,
    objective: f64,
    n_obs: usize,
    random: RandomEffects,
    b: Vec<f64>,
    /// The conditional covariance blocks of b at the mode, flattened.
    conditional_covariances_flat: Vec<f64>,
    link: Link,
    predictor: Predictor,
    convergence: Convergence,
    /// The design and response the fit used (grouped by the first grouping factor), kept for
    /// the profiles, fitted values and residuals; `order[k]` is the complete row at position k.
    design: Arc<ModelMatrix>,
    data: Arc<ResponseData>,
    order: Vec<usize>,
    /// The specification, for refits.
    spec: GeneralizedLinearMixedModel,
}

impl GlmmFit {
    /// The data rows (0-based) the model used: those complete in every model variable.
    pub fn rows(&self) -> &[usize] {
        self.data.model_frame.rows()
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
            let data = ResponseData { y, ..(*self.data).clone() };
            let (family, start) = if self.shape_estimated {
                let (shape, warm) = self.spec.shape(&data, &self.design, &self.random)?;
                (Family::NegativeBinomial { theta: shape }, warm)
            } else {
                (self.family, self.theta.clone())
            };
            let problem = Problem::new(family, self.link, &self.design.matrix, &data, &self.random);
            let (theta, beta, ..) = self.spec.estimate(&problem, &quadrature, Some(&start))?;
            draws.push(statistics(family, &self.names, &beta, &self.random, &theta));
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
    /// Unknown columns, a level of a fixed factor the model has not seen, non-finite values.
    pub fn predict(&self, frame: &DataFrame, scale: PredictionScale) -> Result<Vec<MixedPrediction>> {
        let mut predictions = self.predictor.linear(frame, &self.names, &self.beta, &self.random, &self.b)?;
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

/// What `summary(glmer)` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlmmSummary {
    /// Always `"glmm"`.
    pub model: &'static str,
    /// The family.
    pub family: &'static str,
    /// The negative binomial shape φ, `Var(y | u) = μ + μ²/φ` (lme4's
    /// `getME(fit, "glmer.nb.theta")`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negbin_shape: Option<f64>,
    /// The formula.
    pub formula: String,
    /// Quadrature points (1: Laplace).
    pub nagq: usize,
    /// Fixed effects.
    pub coefficients: Vec<Coefficient>,
    /// Random-effect variances and covariances.
    pub random_effects: Vec<VarianceComponent>,
    /// Log-likelihood under the approximation.
    pub log_likelihood: f64,
    /// −2 log-likelihood.
    pub objective: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Observations.
    pub n_obs: usize,
    /// θ.
    pub theta: Vec<f64>,
    /// Variance partition coefficients and median odds or rate ratios.
    pub variance_partition: Vec<crate::partition::VariancePartition>,
    /// How the fit ended.
    pub convergence: Convergence,
}

impl fmt::Display for GlmmSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = if self.nagq == 1 {
            "Laplace approximation".to_string()
        } else {
            format!("adaptive Gauss–Hermite quadrature, {} points", self.nagq)
        };
        writeln!(f, "Generalized linear mixed model ({} family) fit by maximum likelihood ({method})", self.family)?;
        writeln!(f, "Formula: {}", self.formula)?;
        if let Some(shape) = self.negbin_shape {
            writeln!(f, "Negative binomial shape: {}", significant(shape, 6))?;
        }
        writeln!(
            f,
            "AIC: {}   BIC: {}   logLik: {}   deviance: {}",
            significant(self.aic, 7),
            significant(self.bic, 7),
            significant(self.log_likelihood, 7),
            significant(self.objective, 7)
        )?;
        writeln!(f, "\nRandom effects:")?;
        for c in &self.random_effects {
            match &c.term2 {
                Some(term2) => writeln!(f, " {:<12} {:<12} corr {:.3}", c.group, format!("~{term2}"), c.sdcor)?,
                None => writeln!(
                    f,
                    " {:<12} {:<12} variance {}  sd {}",
                    c.group,
                    c.term1.as_deref().unwrap_or(""),
                    significant(c.vcov, 5),
                    significant(c.sdcor, 5)
                )?,
            }
        }
        writeln!(f, "Number of obs: {}", self.n_obs)?;
        for v in &self.variance_partition {
            let ratio = if self.family == "binomial" { "median odds ratio" } else { "median rate ratio" };
            writeln!(f, " {}: VPC {:.4}, {ratio} {:.3}", v.group, v.share, v.median_ratio.unwrap_or(f64::NAN))?;
        }
        writeln!(f, "\nFixed effects:\n{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::csv::{read_csv, CsvOptions};

    fn cbpp() -> DataFrame {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/glmm_cbpp_laplace/data.csv");
        read_csv(path, &CsvOptions::default()).unwrap()
    }

    /// The Laplace deviance equals an independent computation in R that, for each herd,
    /// minimises −2 Σ log dbinom(y | plogis(xβ + θu)) + u² with `optimize()` (tolerance 1e-12)
    /// and adds log(1 + θ² Σ size·μ(1 − μ)): 184.052571218033, 184.63560760685 and
    /// 184.295343269746 at these three points.
    #[test]
    fn laplace_matches_an_independent_computation() {
        let model = GeneralizedLinearMixedModel::new(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            Family::Binomial,
        )
        .unwrap();
        let frame = cbpp();
        let (data, design, random, _) = model.prepare(&frame).unwrap();
        let problem = Problem::new(model.family, model.link, &design.matrix, &data, &random);
        let laplace = (vec![0.0], vec![1.0]);
        let points: [([f64; 1], [f64; 4], f64); 3] = [
            (
                [0.642_261_389_354_629_5],
                [-1.398_342_863_274, -0.991_924_976_035, -1.128_216_216_971, -1.579_745_414_859],
                184.052_571_218_033,
            ),
            ([0.7], [-1.3, -0.9, -1.1, -1.5], 184.635_607_606_85),
            (
                [0.642_261_389_354_629_5],
                [-1.298_342_863_274, -0.991_924_976_035, -1.128_216_216_971, -1.579_745_414_859],
                184.295_343_269_746,
            ),
        ];
        for (theta, beta, expected) in points {
            let value = problem.deviance(&theta, &beta, &laplace).unwrap();
            // optimize() places each herd's mode to about 1e-8, which moves log|L|² by as much.
            assert!((value - expected).abs() < 1e-7, "{value} vs {expected}");
        }
    }

    fn grouseticks() -> DataFrame {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/reference/glmm_grouseticks_poisson/data.csv");
        read_csv(path, &CsvOptions::default()).unwrap()
    }

    const TICKS: &str = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)";

    /// The negative binomial Laplace deviance equals an independent computation in R on the
    /// crossed grouseticks model: the mode of −2 Σ log dnbinom(y | size = φ, μ) + ‖u‖² by
    /// `optim(method = "BFGS", reltol = 1e-15)` over all 181 effects, plus log det(ΛZᵀWZΛ + I)
    /// with Fisher weights μ²/V(μ): 1777.68103584 at this point. (lme4's own deviance function
    /// gives 1777.68423 there: its inner iterations stop early, as on cbpp.)
    #[test]
    fn negative_binomial_laplace_matches_an_independent_computation() {
        let shape = 3.303_394_979_018_294;
        let model = GeneralizedLinearMixedModel::new(TICKS, Family::NegativeBinomial { theta: shape }).unwrap();
        let (data, design, random, _) = model.prepare(&grouseticks()).unwrap();
        let problem = Problem::new(model.family, model.link, &design.matrix, &data, &random);
        let theta = [0.707_925_822_068_576, 0.578_091_946_945_920_4];
        let beta =
            [0.488_432_845_869_532_1, 1.162_765_875_248_449_3, -0.979_604_459_579_428, -0.023_582_437_495_375_11];
        let value = problem.deviance(&theta, &beta, &(vec![0.0], vec![1.0])).unwrap();
        assert!((value - 1_777.681_035_84).abs() < 1e-6, "{value}");
    }

    /// `glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION))` (lme4 1.1): shape
    /// 3.30339470796, −2 log L 1777.68140036 (with convergence warnings; strata's optimum is
    /// 4e-4 lower), fixed effects 0.48848, 1.16271, −0.97961, −0.023582, θ 0.70794, 0.57802.
    #[test]
    fn the_negative_binomial_shape_is_estimated_as_glmer_nb() {
        let fit = GeneralizedLinearMixedModel::negative_binomial(TICKS).unwrap().fit(&grouseticks()).unwrap();
        let summary = fit.summary();
        let shape = summary.negbin_shape.unwrap();
        assert!((shape / 3.303_394_707_96 - 1.0).abs() < 1e-4, "{shape}");
        assert!(fit.objective() <= 1_777.681_400_36 + 1e-6, "{}", fit.objective());
        let lme4 = [0.488_476_289_414_3, 1.162_710_125_173_7, -0.979_614_482_497_9, -0.023_582_060_448_3];
        for (ours, theirs) in fit.coef().iter().zip(lme4) {
            assert!((ours - theirs).abs() < 2e-3, "{ours} vs {theirs}");
        }
        for (ours, theirs) in fit.theta().iter().zip([0.707_944_334_779, 0.578_015_993_978]) {
            assert!((ours - theirs).abs() < 5e-3, "{ours} vs {theirs}");
        }
        // The shape counts as a parameter: lme4's AIC 1791.68140036 has df = 7.
        assert!((summary.aic - (fit.objective() + 14.0)).abs() < 1e-9);
        assert!(GeneralizedLinearMixedModel::new(TICKS, Family::NegativeBinomial { theta: -1.0 }).is_err());
    }

    /// The GLMM bootstrap on cbpp: replicate standard deviations of the fixed effects near
    /// their Wald standard errors (lme4: 0.231, 0.303, 0.323, 0.429) within Monte Carlo error,
    /// intervals for the VPC and median odds ratio, and a seed reproduces the draws.
    #[test]
    fn the_glmm_bootstrap_agrees_with_the_wald_errors() {
        let model = GeneralizedLinearMixedModel::new(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            Family::Binomial,
        )
        .unwrap();
        let fit = model.fit(&cbpp()).unwrap();
        let draws = fit.parametric_bootstrap(200, 0.95, &mut Rng::new(3)).unwrap();
        for (interval, wald) in draws.iter().zip(fit.std_errors()) {
            assert!((interval.std_error / wald - 1.0).abs() < 0.2, "{interval:?} vs Wald {wald}");
            assert!(interval.lower < interval.estimate && interval.estimate < interval.upper);
        }
        let names: Vec<&str> = draws.iter().map(|d| d.parameter.as_str()).collect();
        assert_eq!(&names[4..], ["sd_(Intercept)|herd", "VPC|herd", "MOR|herd"]);
        assert_eq!(
            fit.parametric_bootstrap(3, 0.95, &mut Rng::new(9)).unwrap(),
            fit.parametric_bootstrap(3, 0.95, &mut Rng::new(9)).unwrap()
        );
        // Poisson responses are simulated and refitted too.
        let poisson = GeneralizedLinearMixedModel::new(TICKS, Family::Poisson).unwrap().fit(&grouseticks()).unwrap();
        let draws = poisson.parametric_bootstrap(10, 0.9, &mut Rng::new(1)).unwrap();
        assert!(draws.iter().any(|d| d.parameter == "MRR|BROOD") && draws.iter().all(|d| d.std_error.is_finite()));
    }

    #[test]
    fn quadrature_needs_one_scalar_random_effect() {
        let model = GeneralizedLinearMixedModel::new("y ~ x + (1 | g) + (1 | h)", Family::Poisson).unwrap();
        assert!(model.nagq(5).is_err());
        let error = GeneralizedLinearMixedModel::new("y ~ x", Family::Poisson).unwrap_err();
        assert!(error.to_string().contains("no random-effect term"), "{error}");
    }
}
