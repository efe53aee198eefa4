//! Cumulative link mixed models: ordered outcomes of units nested in groups (inspections of
//! local authorities, ratings by judges), as `ordinal::clmm` with random intercepts:
//! $P(Y_i \le j \mid b) = F(\theta_j - x_i^\top\beta - \sum_f \sigma_f b_{f,g_f(i)})$,
//! $b_{f,g} \sim N(0, 1)$ for each grouping factor $f$ (nested or crossed).
//!
//! With one factor the marginal likelihood of group $g$ is $\int \exp h_g(b)\,db$ with
//! $h_g(b) = \sum_i w_i \log P_{gi}(b) + \log\varphi(b)$, concave in $b$. Its mode $\hat b_g$ is
//! found by Newton's method and the integral approximated by adaptive Gauss–Hermite quadrature
//! (Liu & Pierce 1994) centred at $\hat b_g$ with scale $s = (-h_g''(\hat b_g))^{-1/2}$:
//! $\int e^{h} \approx \sum_k w_k\, e^{h(\hat b + s z_k)}\, s / \varphi(z_k)$; one node is the
//! Laplace approximation. With several factors the integral does not split by group: the
//! Laplace approximation is taken jointly, $\ell \approx \sum_i w_i \log P_i(\hat b) -
//! \tfrac12 \hat b^\top \hat b - \tfrac12 \log\det(-\nabla^2 h(\hat b))$ at the joint mode found by
//! Newton's method (dense, up to 2,000 random effects). The log-likelihood is maximised over
//! $(\theta, \beta, \sigma)$ by
//! BOBYQA from the fixed-effects fit; standard errors come from a central-difference Hessian of
//! the approximate log-likelihood, as `clmm`'s. Checked against `ordinal::clmm` on the
//! reference case `ord_wine_clmm`.

use crate::error::{Error, Result};
use crate::lmm::VarianceComponent;
use crate::quadrature::gauss_hermite;
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_categorical::link::CumulativeLink;
use strata_categorical::ordinal::likelihood::{contribution, Contribution};
use strata_categorical::ordinal::{fit_cumulative_link, threshold_and_coefficient_tables, OrdinalData};
use strata_categorical::response::CategoricalData;
use strata_categorical::NewtonControl;
use strata_core::numerics::{finite_difference_hessian, minimize_bobyqa, BobyqaControl, Cholesky, Matrix};
use strata_core::results::{significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};

/// One grouping factor with a random intercept.
#[derive(Debug, Clone, Copy)]
pub struct RandomIntercept<'a> {
    /// The level of each observation, `0..levels`.
    pub codes: &'a [u32],
    /// Number of levels.
    pub levels: usize,
}

/// The inputs of a cumulative link mixed model, as arrays.
#[derive(Debug, Clone, Copy)]
pub struct OrdinalMixedData<'a> {
    /// The fixed part, as for a cumulative link model (no nominal effects).
    pub fixed: OrdinalData<'a>,
    /// The grouping factors, each with a random intercept.
    pub factors: &'a [RandomIntercept<'a>],
}

/// The most random effects the joint Laplace approximation (several factors) takes: it
/// factors a dense matrix of that order at every Newton step.
pub const MAX_JOINT_EFFECTS: usize = 2_000;

/// The estimates on arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrdinalMixedEstimates {
    /// Thresholds.
    pub thresholds: Vec<f64>,
    /// Fixed effects β.
    pub coefficients: Vec<f64>,
    /// θ then β, as R's `coef(clmm)` (without σ).
    pub parameters: Vec<f64>,
    /// The random intercepts' standard deviations σ_f, one per factor.
    pub sigmas: Vec<f64>,
    /// Covariance of (θ, β) from the Hessian of the approximate log-likelihood (NaN if it was
    /// not positive definite).
    pub covariance: Matrix,
    /// The maximised (approximate) log-likelihood.
    pub log_likelihood: f64,
    /// Conditional modes of the random intercepts, σ_f b̂_{f,g}, factor after factor.
    pub modes: Vec<f64>,
    /// Likelihood evaluations.
    pub evaluations: usize,
    /// Whether the optimiser met its criterion.
    pub converged: bool,
}

/// Observations of each group.
fn members(groups: &[u32], n_groups: usize) -> Vec<Vec<usize>> {
    let mut members = vec![Vec::new(); n_groups];
    for (i, &g) in groups.iter().enumerate() {
        members[g as usize].push(i);
    }
    members
}

/// The approximate log-likelihood and its pieces for one parameter vector ψ = (θ, β, σ).
struct Problem<'a> {
    data: OrdinalMixedData<'a>,
    link: CumulativeLink,
    /// The observations of each group of the first factor (the one-factor path).
    members: Vec<Vec<usize>>,
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl Problem<'_> {
    fn levels(&self) -> usize {
        self.data.fixed.levels
    }

    /// h(b) and its first two derivatives for one group whose fixed linear predictors are `eta`.
    /// Observation `i`'s prior weight and its contribution with linear predictor `shift`
    /// (fixed part plus random effects): its bounds are θ_c − shift and θ_{c−1} − shift.
    fn observation(&self, thresholds: &[f64], i: usize, shift: f64) -> (f64, Contribution) {
        let last = self.levels() - 1;
        let c = self.data.fixed.y[i] as usize;
        let upper = (c < last).then(|| thresholds[c] - shift);
        let lower = (c > 0).then(|| thresholds[c - 1] - shift);
        (self.data.fixed.weights.map_or(1.0, |w| w[i]), contribution(self.link, upper, lower))
    }

    fn h(&self, thresholds: &[f64], sigma: f64, obs: &[usize], eta: &[f64], b: f64) -> (f64, f64, f64) {
        let (mut value, mut first, mut second) = (-0.5 * b * b - 0.5 * (2.0 * std::f64::consts::PI).ln(), -b, -1.0);
        for (&i, &e) in obs.iter().zip(eta) {
            let (w, t) = self.observation(thresholds, i, e + sigma * b);
            value += w * t.log_p;
            first -= w * sigma * (t.da + t.db);
            second += w * sigma * sigma * (t.daa + 2.0 * t.dab + t.dbb);
        }
        (value, first, second)
    }

    /// The group's log marginal likelihood and the mode b̂, Newton's search starting at `start`.
    fn group(&self, thresholds: &[f64], beta: &[f64], sigma: f64, g: usize, start: f64) -> Option<(f64, f64)> {
        let obs = &self.members[g];
        let eta: Vec<f64> = obs.iter().map(|&i| self.eta(beta, i)).collect();
        let mut b = start;
        let (mut value, mut first, mut second) = self.h(thresholds, sigma, obs, &eta, b);
        for _ in 0..100 {
            if !value.is_finite() || second >= 0.0 {
                return None;
            }
            let step = -first / second;
            let mut scale = 1.0;
            let (mut v, mut f1, mut f2);
            loop {
                (v, f1, f2) = self.h(thresholds, sigma, obs, &eta, b + scale * step);
                if v.is_finite() && v >= value - 1e-12 * value.abs() {
                    break;
                }
                scale /= 2.0;
                if scale < 1e-10 {
                    return None;
                }
            }
            b += scale * step;
            (value, first, second) = (v, f1, f2);
            if (scale * step).abs() < 1e-12 * (1.0 + b.abs()) {
                break;
            }
        }
        let s = 1.0 / (-second).sqrt();
        let log_normal = |z: f64| -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let terms: Vec<f64> = self
            .nodes
            .iter()
            .zip(&self.weights)
            .map(|(&z, &w)| {
                let at = if z == 0.0 { value } else { self.h(thresholds, sigma, obs, &eta, b + s * z).0 };
                w.ln() + at + s.ln() - log_normal(z)
            })
            .collect();
        let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_integral = top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
        log_integral.is_finite().then_some((log_integral, b))
    }

    /// The approximate log-likelihood at ψ = (θ, β, σ₁, …) and the modes b̂ (not scaled by
    /// σ), the searches starting from `starts`.
    fn log_likelihood(&self, psi: &[f64], starts: &[f64]) -> Option<(f64, Vec<f64>)> {
        let last = self.levels() - 1;
        let factors = self.data.factors.len();
        let (thresholds, rest) = psi.split_at(last);
        let (beta, sigmas) = rest.split_at(rest.len() - factors);
        if sigmas.iter().any(|s| !(*s >= 0.0)) || thresholds.windows(2).any(|w| !(w[1] > w[0])) {
            return None;
        }
        if factors == 1 {
            self.by_group(thresholds, beta, sigmas[0], starts)
        } else {
            self.joint(thresholds, beta, sigmas, starts)
        }
    }

    /// One factor: the groups' integrals, shared among threads and added in group order, so the
    /// result does not depend on the number of threads.
    fn by_group(&self, thresholds: &[f64], beta: &[f64], sigma: f64, starts: &[f64]) -> Option<(f64, Vec<f64>)> {
        let groups = self.members.len();
        let results = strata_core::parallel::map_in_order(groups, strata_core::parallel::threads(), |g| {
            self.group(thresholds, beta, sigma, g, starts.get(g).copied().unwrap_or(0.0))
        });
        let mut total = 0.0;
        let mut modes = Vec::with_capacity(groups);
        for result in results {
            let (value, b) = result?;
            total += value;
            modes.push(b);
        }
        Some((total, modes))
    }

    /// Several factors: the joint Laplace approximation at the joint mode.
    fn joint(&self, thresholds: &[f64], beta: &[f64], sigmas: &[f64], starts: &[f64]) -> Option<(f64, Vec<f64>)> {
        let factors = self.data.factors;
        let offsets: Vec<usize> = factors
            .iter()
            .scan(0, |total, f| {
                let start = *total;
                *total += f.levels;
                Some(start)
            })
            .collect();
        let q: usize = factors.iter().map(|f| f.levels).sum();
        let n = self.data.fixed.y.len();
        let eta: Vec<f64> = (0..n).map(|i| self.eta(beta, i)).collect();
        // h(b) − constants, its gradient and −∇²h, dense.
        let evaluate = |b: &[f64], derivatives: bool| -> (f64, Vec<f64>, Matrix) {
            let mut value = -0.5 * b.iter().map(|v| v * v).sum::<f64>();
            let mut gradient: Vec<f64> = b.iter().map(|v| -v).collect();
            let mut information = if derivatives { Matrix::identity(q) } else { Matrix::zeros(0, 0) };
            let mut index = vec![0usize; factors.len()];
            for i in 0..n {
                for (f, factor) in factors.iter().enumerate() {
                    index[f] = offsets[f] + factor.codes[i] as usize;
                }
                let shift = eta[i] + index.iter().zip(sigmas).map(|(&k, s)| s * b[k]).sum::<f64>();
                let (w, t) = self.observation(thresholds, i, shift);
                value += w * t.log_p;
                if !derivatives || !t.log_p.is_finite() {
                    continue;
                }
                let (first, second) = (-(t.da + t.db), t.daa + 2.0 * t.dab + t.dbb);
                for f in 0..factors.len() {
                    gradient[index[f]] += w * sigmas[f] * first;
                    for g in 0..factors.len() {
                        information[(index[f], index[g])] -= w * sigmas[f] * sigmas[g] * second;
                    }
                }
            }
            (value, gradient, information)
        };
        let mut b = if starts.len() == q { starts.to_vec() } else { vec![0.0; q] };
        let (mut value, mut gradient, mut information) = evaluate(&b, true);
        for _ in 0..100 {
            if !value.is_finite() {
                return None;
            }
            let step = Cholesky::new(&information).ok()?.solve(&gradient);
            let mut scale = 1.0;
            loop {
                let trial: Vec<f64> = b.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
                let (v, _, _) = evaluate(&trial, false);
                if v.is_finite() && v >= value - 1e-12 * value.abs() {
                    b = trial;
                    break;
                }
                scale /= 2.0;
                if scale < 1e-10 {
                    return None;
                }
            }
            (value, gradient, information) = evaluate(&b, true);
            if step.iter().all(|s| (scale * s).abs() < 1e-12 * (1.0 + s.abs())) {
                break;
            }
        }
        let log_determinant = Cholesky::new(&information).ok()?.log_determinant();
        Some((value - 0.5 * log_determinant, b))
    }

    /// x'β + offset for observation i.
    fn eta(&self, beta: &[f64], i: usize) -> f64 {
        let x = self.data.fixed.x;
        (0..x.ncols()).map(|k| x[(i, k)] * beta[k]).sum::<f64>() + self.data.fixed.offset.map_or(0.0, |o| o[i])
    }
}

/// Fits the cumulative link mixed model with `nagq` quadrature points (1: Laplace).
///
/// # Errors
/// Inputs of the wrong length, a fixed-effects start that fails, or an optimiser failure.
pub fn fit_ordinal_mixed(
    data: &OrdinalMixedData<'_>,
    link: CumulativeLink,
    nagq: usize,
) -> Result<OrdinalMixedEstimates> {
    let n = data.fixed.y.len();
    let factors = data.factors;
    if factors.is_empty() {
        return Err(Error::Specification("a mixed model needs at least one grouping factor".into()));
    }
    for (f, factor) in factors.iter().enumerate() {
        if factor.codes.len() != n {
            return Err(Error::Specification(format!(
                "grouping factor {} has {} codes for {n} observations",
                f + 1,
                factor.codes.len()
            )));
        }
        if factor.codes.iter().any(|&g| g as usize >= factor.levels) {
            return Err(Error::Specification(format!("a code of grouping factor {} is out of range", f + 1)));
        }
    }
    if !(1..=100).contains(&nagq) {
        return Err(Error::Specification(format!(
            "nAGQ must be from 1 (Laplace) to 100, not {nagq} (more points add nothing but time)"
        )));
    }
    let effects: usize = factors.iter().map(|f| f.levels).sum();
    if factors.len() > 1 {
        if nagq > 1 {
            return Err(Error::Specification(
                "adaptive quadrature (nAGQ > 1) needs a single grouping factor; use the Laplace approximation".into(),
            ));
        }
        if effects > MAX_JOINT_EFFECTS {
            return Err(Error::Specification(format!(
                "{effects} random effects across several grouping factors: at most {MAX_JOINT_EFFECTS} are supported"
            )));
        }
    }
    let start = fit_cumulative_link(&data.fixed, link, &NewtonControl::default())
        .map_err(|e| Error::Fit(format!("the fixed-effects start failed: {e}")))?;
    let (nodes, weights) = gauss_hermite(nagq)?;
    let problem = Problem { data: *data, link, members: members(factors[0].codes, factors[0].levels), nodes, weights };
    let k = factors.len();
    let mut psi: Vec<f64> =
        start.thresholds.iter().chain(&start.coefficients).copied().chain(std::iter::repeat_n(1.0, k)).collect();
    let m = psi.len();
    let lower: Vec<f64> = std::iter::repeat_n(f64::NEG_INFINITY, m - k).chain(std::iter::repeat_n(0.0, k)).collect();
    let upper = vec![f64::INFINITY; m];
    // Each evaluation starts the modes' searches at the last accepted modes.
    let modes_count = if k == 1 { factors[0].levels } else { effects };
    let mut starts = vec![0.0; modes_count];
    let objective = |x: &[f64]| match problem.log_likelihood(x, &starts) {
        Some((ll, modes)) => {
            starts = modes;
            -ll
        }
        None => f64::INFINITY,
    };
    let control = BobyqaControl { rho_begin: 0.5, rho_end: 1e-10, max_evaluations: 20_000 };
    let convergence = minimize_bobyqa(objective, &mut psi, &lower, &upper, &control)?;
    let (log_likelihood, modes) = problem
        .log_likelihood(&psi, &vec![0.0; modes_count])
        .ok_or_else(|| Error::Fit("the likelihood is not finite at the optimum".into()))?;
    // Standard errors of (θ, β) from the Hessian in (θ, β, σ); the block does not depend on how
    // the σ are parametrised at the optimum. Standard deviations at the boundary, zero, are
    // held there.
    let free: Vec<usize> = (0..m).filter(|&j| j < m - k || psi[j] > 1e-6).collect();
    let at = |x: &[f64]| {
        let mut full = psi.clone();
        for (&j, &v) in free.iter().zip(x) {
            full[j] = v;
        }
        problem.log_likelihood(&full, &modes).map(|(ll, _)| -ll)
    };
    let start_free: Vec<f64> = free.iter().map(|&j| psi[j]).collect();
    let fixed = m - k;
    let covariance =
        finite_difference_hessian(&at, &start_free, 1e-4).and_then(|h| Cholesky::new(&h).ok()).map_or_else(
            || Matrix::from_fn(fixed, fixed, |_, _| f64::NAN),
            |c| {
                let inverse = c.inverse();
                Matrix::from_fn(fixed, fixed, |i, j| inverse[(i, j)])
            },
        );
    let last = data.fixed.levels - 1;
    let sigmas = psi[fixed..].to_vec();
    let scaled_modes = if k == 1 {
        modes.iter().map(|b| b * sigmas[0]).collect()
    } else {
        let factor_of = factors.iter().enumerate().flat_map(|(f, factor)| std::iter::repeat_n(f, factor.levels));
        modes.iter().zip(factor_of).map(|(b, f)| b * sigmas[f]).collect()
    };
    Ok(OrdinalMixedEstimates {
        thresholds: psi[..last].to_vec(),
        coefficients: psi[last..fixed].to_vec(),
        parameters: psi[..fixed].to_vec(),
        sigmas,
        covariance,
        log_likelihood,
        modes: scaled_modes,
        evaluations: convergence.evaluations,
        converged: convergence.converged,
    })
}

/// A cumulative link mixed model on a data frame: `y ~ x + (1 | g)`.
///
/// # Examples
/// ```no_run
/// use strata_core::csv::{read_csv, CsvOptions};
/// use strata_multilevel::ordinal_mixed::CumulativeLinkMixedModel;
/// let wine = read_csv("wine.csv", &CsvOptions::default())?;
/// let levels = ["1", "2", "3", "4", "5"].map(String::from);
/// let fit = CumulativeLinkMixedModel::new("rating ~ temp + contact + (1 | judge)", Some(&levels))?.fit(&wine)?;
/// println!("{}", fit.summary());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CumulativeLinkMixedModel {
    formula: Formula,
    levels: Option<Vec<String>>,
    link: CumulativeLink,
    weights: Option<String>,
    nagq: usize,
}

impl CumulativeLinkMixedModel {
    /// A model of `formula`, with random intercepts `(1 | g)` for one or more grouping
    /// factors, nested (`(1 | la/team)`) or crossed.
    ///
    /// # Errors
    /// A malformed formula, no random term, or a random term other than an intercept.
    pub fn new(formula: &str, levels: Option<&[String]>) -> Result<Self> {
        let parsed = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = parsed.terms().map_err(strata_core::Error::from)?;
        if terms.random.is_empty() {
            return Err(Error::Specification("a mixed model needs a random term such as (1 | la)".into()));
        }
        if let Some(slope) = terms.random.iter().find(|r| !(r.terms.intercept && r.terms.terms.is_empty())) {
            return Err(Error::Specification(format!(
                "cumulative link mixed models take random intercepts (1 | group) only, not the random slopes of `{}`",
                slope.group_label
            )));
        }
        Ok(Self {
            formula: parsed,
            levels: levels.map(<[String]>::to_vec),
            link: CumulativeLink::Logit,
            weights: None,
            nagq: 1,
        })
    }

    /// The link (default logit).
    #[must_use]
    pub fn link(mut self, link: CumulativeLink) -> Self {
        self.link = link;
        self
    }

    /// Prior weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Quadrature points (1, the default, is the Laplace approximation).
    #[must_use]
    pub fn nagq(mut self, points: usize) -> Self {
        self.nagq = points;
        self
    }

    /// Fits the model.
    ///
    /// # Errors
    /// As the fixed-effects model's data errors, a grouping factor with one level, and the
    /// optimiser's failures.
    pub fn fit(&self, frame: &DataFrame) -> Result<CumulativeLinkMixedFit> {
        let data = CategoricalData::new(&self.formula, frame, self.levels.as_deref(), self.weights.as_deref(), false)
            .map_err(|e| Error::Specification(e.to_string()))?;
        let mut codes = Vec::new();
        let mut groups = Vec::new();
        for random in &data.terms.random {
            let (factor_codes, levels) = data.model_frame.interaction(&random.group);
            if levels.len() < 2 {
                return Err(Error::Specification(format!(
                    "grouping factor `{}` has {} level(s): a random effect needs at least two groups",
                    random.group_label,
                    levels.len()
                )));
            }
            codes.push(factor_codes);
            groups.push(GroupingFactor { name: random.group_label.clone(), levels });
        }
        let factors: Vec<RandomIntercept<'_>> = codes
            .iter()
            .zip(&groups)
            .map(|(codes, group)| RandomIntercept { codes, levels: group.levels.len() })
            .collect();
        let arrays = OrdinalMixedData {
            fixed: OrdinalData {
                y: &data.y,
                levels: data.levels.len(),
                x: &data.x,
                z: None,
                offset: Some(&data.offset),
                weights: data.weighted.then_some(data.weights.as_slice()),
            },
            factors: &factors,
        };
        let estimates = fit_ordinal_mixed(&arrays, self.link, self.nagq)?;
        let mut warnings = Vec::new();
        if !estimates.converged {
            warnings
                .push(Warning::new(WarningKind::NotConverged, "the optimiser did not meet its convergence criterion"));
        }
        if estimates.covariance.as_slice().iter().any(|v| v.is_nan()) {
            warnings.push(Warning::new(
                WarningKind::Information,
                "the Hessian is not positive definite: no standard errors",
            ));
        }
        for (group, sigma) in groups.iter().zip(&estimates.sigmas) {
            if *sigma < 1e-6 {
                warnings.push(Warning::new(
                    WarningKind::Boundary,
                    format!("the variance of the random intercepts of `{}` is at its boundary, zero", group.name),
                ));
            }
        }
        let threshold_names: Vec<String> = data.levels.windows(2).map(|w| format!("{}|{}", w[0], w[1])).collect();
        Ok(CumulativeLinkMixedFit {
            formula: self.formula.text().to_string(),
            link: self.link,
            levels: data.levels.clone(),
            parameter_names: threshold_names.iter().chain(&data.names).cloned().collect(),
            threshold_names,
            coefficient_names: data.names.clone(),
            groups,
            nagq: self.nagq,
            n_obs: data.weights.iter().sum(),
            estimates,
            warnings,
        })
    }
}

/// A grouping factor and its levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupingFactor {
    /// Its name as lme4 prints it (`team:la` for `la/team`).
    pub name: String,
    /// Its levels.
    pub levels: Vec<String>,
}

/// A fitted cumulative link mixed model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CumulativeLinkMixedFit {
    /// The formula.
    pub formula: String,
    /// The link.
    pub link: CumulativeLink,
    /// The response's levels in order.
    pub levels: Vec<String>,
    /// Threshold names.
    pub threshold_names: Vec<String>,
    /// Fixed-effect names.
    pub coefficient_names: Vec<String>,
    /// Thresholds then fixed effects: the order of `coef()` and `vcov()`.
    pub parameter_names: Vec<String>,
    /// The grouping factors, in the order of the random terms.
    pub groups: Vec<GroupingFactor>,
    /// Quadrature points.
    pub nagq: usize,
    /// Observations (sum of the weights).
    pub n_obs: f64,
    /// The estimates.
    pub estimates: OrdinalMixedEstimates,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl CumulativeLinkMixedFit {
    /// The latent-scale variance partition coefficient of each grouping factor,
    /// $\sigma_f^2 / (\sum_g \sigma_g^2 + v)$ with $v$ the variance of the link's error
    /// distribution ($\pi^2/3$ logit, 1 probit, $\pi^2/6$ cloglog): the share of the latent
    /// variation that lies between its groups.
    pub fn vpc(&self) -> Vec<f64> {
        let v = match self.link {
            CumulativeLink::Logit => std::f64::consts::PI.powi(2) / 3.0,
            CumulativeLink::Probit => 1.0,
            CumulativeLink::Cloglog => std::f64::consts::PI.powi(2) / 6.0,
        };
        let total: f64 = self.estimates.sigmas.iter().map(|s| s * s).sum::<f64>() + v;
        self.estimates.sigmas.iter().map(|s| s * s / total).collect()
    }

    /// Everything the summary shows.
    pub fn summary(&self) -> OrdinalMixedSummary {
        let (thresholds, coefficients) = threshold_and_coefficient_tables(self, self.threshold_names.len());
        OrdinalMixedSummary {
            link: self.link,
            formula: self.formula.clone(),
            levels: self.levels.clone(),
            coefficients,
            thresholds,
            random_effects: self
                .groups
                .iter()
                .zip(&self.estimates.sigmas)
                .map(|(group, sigma)| VarianceComponent {
                    group: group.name.clone(),
                    term1: Some("(Intercept)".into()),
                    term2: None,
                    vcov: sigma * sigma,
                    sdcor: *sigma,
                })
                .collect(),
            vpc: self.vpc(),
            log_likelihood: self.estimates.log_likelihood,
            aic: self.aic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            n_groups: self.groups.iter().map(|g| g.levels.len()).collect(),
            nagq: self.nagq,
            warnings: self.warnings.clone(),
        }
    }
}

/// Thresholds and fixed effects together, thresholds first, as R's `coef(clmm)`; σ is in
/// the summary's `random_effects`.
impl FittedModel for CumulativeLinkMixedFit {
    fn coef(&self) -> &[f64] {
        &self.estimates.parameters
    }

    fn coef_names(&self) -> &[String] {
        &self.parameter_names
    }

    /// The covariance of (θ, β), thresholds first (NaN when the Hessian failed).
    fn vcov(&self) -> &Matrix {
        &self.estimates.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(self.estimates.log_likelihood)
    }

    fn nobs(&self) -> usize {
        self.n_obs.round() as usize
    }

    fn n_parameters(&self) -> usize {
        self.parameter_names.len() + self.groups.len()
    }
}

/// What `summary(clmm)` shows, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrdinalMixedSummary {
    /// The link.
    pub link: CumulativeLink,
    /// The formula.
    pub formula: String,
    /// Levels in order.
    pub levels: Vec<String>,
    /// Fixed effects.
    pub coefficients: Vec<Coefficient>,
    /// Thresholds.
    pub thresholds: Vec<Coefficient>,
    /// Each random intercept's variance and standard deviation.
    pub random_effects: Vec<VarianceComponent>,
    /// The latent-scale variance partition coefficient of each grouping factor.
    pub vpc: Vec<f64>,
    /// Log-likelihood (Laplace or quadrature).
    pub log_likelihood: f64,
    /// AIC.
    pub aic: f64,
    /// Observations.
    pub n_obs: f64,
    /// Levels of each grouping factor.
    pub n_groups: Vec<usize>,
    /// Quadrature points.
    pub nagq: usize,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl fmt::Display for OrdinalMixedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method =
            if self.nagq == 1 { "Laplace".to_string() } else { format!("adaptive quadrature, {} points", self.nagq) };
        writeln!(f, "Cumulative link mixed model, {} link ({method}): {}", self.link.name(), self.formula)?;
        writeln!(f, "Levels: {}", self.levels.join(" < "))?;
        writeln!(
            f,
            "n = {}   log-likelihood = {}   AIC = {}\n",
            significant(self.n_obs, 6),
            significant(self.log_likelihood, 7),
            significant(self.aic, 7)
        )?;
        writeln!(f, "Random effects:")?;
        for ((r, vpc), groups) in self.random_effects.iter().zip(&self.vpc).zip(&self.n_groups) {
            writeln!(
                f,
                "  {} (Intercept), {groups} groups: variance {} std. dev. {}   latent VPC {}",
                r.group,
                significant(r.vcov, 5),
                significant(r.sdcor, 5),
                significant(*vpc, 3)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "Coefficients:\n{}\n", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        write!(f, "Threshold coefficients:\n{}", CoefTable { rows: self.thresholds.clone(), statistic: Statistic::Z })?;
        for warning in &self.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With 30 adaptive nodes the log-likelihood equals each group's integral computed by brute
    /// force (the trapezoid rule on a fine grid), and the Laplace value differs from it.
    #[test]
    fn quadrature_equals_brute_force_integration() {
        let y: Vec<u32> = vec![0, 1, 2, 1, 0, 2, 2, 1, 0, 1, 2, 2, 0, 0, 1, 2];
        let groups: Vec<u32> = vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
        let x = Matrix::from_fn(16, 1, |i, _| (i % 4) as f64 * 0.5 - 0.7);
        let factors = [RandomIntercept { codes: &groups, levels: 4 }];
        let data = OrdinalMixedData {
            fixed: OrdinalData { y: &y, levels: 3, x: &x, z: None, offset: None, weights: None },
            factors: &factors,
        };
        let psi = [-0.4, 0.9, 0.6, 1.3];
        let problem = |nagq: usize| {
            let (nodes, weights) = gauss_hermite(nagq).unwrap();
            Problem { data, link: CumulativeLink::Logit, members: members(&groups, 4), nodes, weights }
        };
        let quadrature = problem(30).log_likelihood(&psi, &[]).unwrap().0;
        let laplace = problem(1).log_likelihood(&psi, &[]).unwrap().0;
        let exact = problem(1);
        let mut brute = 0.0;
        for g in 0..4 {
            let obs = &exact.members[g];
            let eta: Vec<f64> = obs.iter().map(|&i| exact.eta(&psi[2..3], i)).collect();
            let step = 1e-3;
            let integral: f64 =
                (-8000..=8000).map(|k| exact.h(&psi[..2], psi[3], obs, &eta, f64::from(k) * step).0.exp() * step).sum();
            brute += integral.ln();
        }
        assert!((quadrature - brute).abs() < 1e-9, "{quadrature} vs {brute}");
        // The joint Laplace approximation of several factors, given one, is the groups' one.
        let joint = exact.joint(&psi[..2], &psi[2..3], &psi[3..], &[]).unwrap().0;
        assert!((joint - laplace).abs() < 1e-10, "{joint} vs {laplace}");
        assert!((laplace - brute).abs() > 1e-6, "the Laplace approximation is an approximation");
    }
}
