//! Continuous-time Markov multi-state models for panel data, where each child's state is seen
//! only at visits (as R's `msm`; Jackson 2011, *J. Stat. Softw.* 38(8); Kalbfleisch & Lawless
//! 1985).
//!
//! The transition intensities $q_{rs}$ (r ≠ s) of the allowed transitions form the generator
//! $Q$ (rows summing to zero); the probability of moving from state r to s over an interval t
//! is $P(t) = e^{Qt}$. The likelihood is the product over consecutive visits of each subject of
//! $P(t_{j+1} - t_j)_{s_j s_{j+1}}$. It is maximised over $\log q_{rs}$ by BFGS with its analytic
//! gradient, $\partial \log L/\partial\theta = \sum P_{rs}^{-1}\,\partial P_{rs}/\partial\theta$, from
//! the derivatives of $P(t)$ in [`exponential`] (one eigendecomposition of Q per evaluation and
//! covariate pattern). Standard errors come from the inverse of the Hessian, formed by central
//! differences of the analytic gradient, by the delta method.
//!
//! An absorbing state whose entry times are known exactly (death, or a case closing on a known
//! date: msm's `deathexact`) contributes, for a subject last seen in r and entering D after t,
//! $\sum_{m \ne D} P(t)_{rm}\,q_{mD}$: in some transient state until just before t, then the
//! move (Jackson 2011, §2.4).
//!
//! Covariates act on the log intensities, $q_{rs}(x) = q_{rs}\,e^{\beta_{rs}^\top (x - \bar x)}$,
//! with one coefficient per transition and covariate, the covariate taken at the start of each
//! interval and centred at its mean over the visits that start an interval (msm's `covariates = ~ x`,
//! `center = TRUE`): the intensities reported are those at the means, and $e^{\beta_{rs}}$ are
//! the hazard ratios. Covariates may act on chosen transitions only (msm's
//! `covariates = list("1-2" = ~ x)`), and transitions may share one intensity (msm's
//! `qconstraint`): the parameters are then one log intensity per shared group and one β per
//! (transition, covariate) pair that has one, and the gradient sums over the transitions a
//! parameter moves.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use strata_core::numerics::{minimize_quasi_newton, Cholesky, Matrix, QuasiNewtonControl};
use strata_core::results::normal_quantile;
use strata_core::DataFrame;

pub mod exponential;
mod fit;
mod likelihood;
#[cfg(test)]
mod tests;

pub use exponential::matrix_exponential;
pub use fit::{HazardRatio, MsmFit, ProbabilitiesAt, Sojourn, Transition};
use likelihood::{gradient_difference_hessian, PairCounts, PanelLikelihood};

/// A multi-state model specification: the allowed transitions with their starting intensities
/// (the non-zero off-diagonal entries of `initial`, as msm's `qmatrix`).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStateModel {
    initial: Matrix,
    subject: String,
    time: String,
    state: String,
    covariates: Vec<String>,
    /// Covariates on chosen transitions only (1-based from, to), as msm's
    /// `covariates = list("1-2" = ~ x)`; empty: `covariates` act on every transition.
    constrained: Vec<((usize, usize), Vec<String>)>,
    /// For each allowed transition (row-major), the code of the intensity it shares (msm's
    /// `qconstraint`); empty: every transition its own.
    shared: Vec<usize>,
    exact: Vec<bool>,
}

impl MultiStateModel {
    /// A model whose allowed transitions and starting intensities are the non-zero
    /// off-diagonal entries of `initial` (states numbered 1..k in the data).
    ///
    /// # Errors
    /// [`Error::Specification`] for a non-square matrix, a negative entry or no transitions.
    pub fn new(initial: Matrix, subject: &str, time: &str, state: &str) -> Result<Self> {
        let k = initial.nrows();
        if initial.ncols() != k || k < 2 {
            return Err(Error::Specification("the intensity matrix must be square with at least two states".into()));
        }
        let mut allowed = 0;
        for i in 0..k {
            for j in 0..k {
                if i != j && initial[(i, j)] < 0.0 {
                    return Err(Error::Specification(format!("intensity ({}, {}) is negative", i + 1, j + 1)));
                }
                if i != j && initial[(i, j)] > 0.0 {
                    allowed += 1;
                }
            }
        }
        if allowed == 0 {
            return Err(Error::Specification(
                "no transition is allowed: give positive off-diagonal intensities".into(),
            ));
        }
        Ok(Self {
            initial,
            subject: subject.into(),
            time: time.into(),
            state: state.into(),
            covariates: Vec::new(),
            constrained: Vec::new(),
            shared: Vec::new(),
            exact: vec![false; k],
        })
    }

    /// Absorbing states (1-based) whose entry times are observed exactly, as msm's
    /// `deathexact`.
    ///
    /// # Errors
    /// [`Error::Specification`] for a state outside 1..k, a state with transitions out of it,
    /// or one that no transition enters.
    pub fn exact_death(mut self, states: &[usize]) -> Result<Self> {
        let k = self.initial.nrows();
        for &state in states {
            if state == 0 || state > k {
                return Err(Error::Specification(format!("exact-death state {state} is not one of 1 to {k}")));
            }
            let d = state - 1;
            if (0..k).any(|j| j != d && self.initial[(d, j)] > 0.0) {
                return Err(Error::Specification(format!(
                    "exact-death state {state} must be absorbing, but the intensity matrix allows moves out of it"
                )));
            }
            if !(0..k).any(|i| i != d && self.initial[(i, d)] > 0.0) {
                return Err(Error::Specification(format!("no transition enters exact-death state {state}")));
            }
            self.exact[d] = true;
        }
        Ok(self)
    }

    /// Numeric covariates on every transition's log intensity.
    #[must_use]
    pub fn covariates(mut self, columns: &[&str]) -> Self {
        self.covariates = columns.iter().map(|c| (*c).to_string()).collect();
        self.constrained.clear();
        self
    }

    /// Numeric covariates on chosen transitions only — `((1, 2), &["x"])` puts `x` on the
    /// 1 → 2 intensity — as msm's `covariates = list("1-2" = ~ x, "2-3" = ~ x + z)`; the other
    /// transitions have none.
    ///
    /// # Errors
    /// [`Error::Specification`] for a transition the intensity matrix does not allow.
    pub fn covariates_on(mut self, transitions: &[((usize, usize), &[&str])]) -> Result<Self> {
        let k = self.initial.nrows();
        self.covariates.clear();
        self.constrained.clear();
        for &((from, to), columns) in transitions {
            let allowed = (1..=k).contains(&from) && (1..=k).contains(&to) && from != to;
            if !allowed || self.initial[(from - 1, to - 1)] <= 0.0 {
                return Err(Error::Specification(format!(
                    "covariates on {from}-{to}: the intensity matrix does not allow that transition"
                )));
            }
            for column in columns {
                if !self.covariates.iter().any(|c| c == column) {
                    self.covariates.push((*column).to_string());
                }
            }
            self.constrained.push(((from, to), columns.iter().map(|c| (*c).to_string()).collect()));
        }
        Ok(self)
    }

    /// Transitions that share one intensity, as msm's `qconstraint`: one code per allowed
    /// transition in row-major order (`&[1, 1, 2]` makes the first two equal).
    ///
    /// # Errors
    /// [`Error::Specification`] for a length other than the number of allowed transitions or a
    /// code of zero.
    pub fn intensity_constraint(mut self, codes: &[usize]) -> Result<Self> {
        let k = self.initial.nrows();
        let allowed = (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .filter(|&(i, j)| i != j && self.initial[(i, j)] > 0.0)
            .count();
        if codes.len() != allowed || codes.contains(&0) {
            return Err(Error::Specification(format!(
                "the intensity constraint needs one positive code for each of the {allowed} allowed transitions"
            )));
        }
        self.shared = codes.to_vec();
        Ok(self)
    }

    /// Fits the model to panel data: one row per visit, with subject, time and state.
    ///
    /// # Examples
    /// ```
    /// use strata_core::numerics::Matrix;
    /// use strata_core::DataFrame;
    /// use strata_pathways::msm::MultiStateModel;
    /// // Children seen at four reviews in state 1 (child in need), 2 (plan) or 3 (looked after),
    /// // moving 1 → 2 → 3 only.
    /// let paths: [[f64; 4]; 6] =
    ///     [[1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 2.0, 3.0], [1.0, 1.0, 1.0, 2.0], [1.0, 2.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 2.0, 3.0]];
    /// let (mut id, mut time, mut state) = (Vec::new(), Vec::new(), Vec::new());
    /// for copy in 0..5 {
    ///     for (child, path) in paths.iter().enumerate() {
    ///         for (visit, &s) in path.iter().enumerate() {
    ///             id.push(format!("c{copy}_{child}"));
    ///             time.push(visit as f64);
    ///             state.push(s);
    ///         }
    ///     }
    /// }
    /// let frame = DataFrame::new().with_levels("id", &id)?.with_floats("time", &time)?.with_floats("state", &state)?;
    /// let q = Matrix::from_fn(3, 3, |r, s| if s == r + 1 { 0.5 } else { 0.0 });
    /// let fit = MultiStateModel::new(q, "id", "time", "state")?.fit(&frame)?;
    /// assert_eq!(fit.transitions.len(), 2);
    /// assert!(fit.transitions.iter().all(|t| t.intensity > 0.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Unknown columns, states outside 1..k, visits out of time order, or a fit that fails.
    pub fn fit(&self, frame: &DataFrame) -> Result<MsmFit> {
        let k = self.initial.nrows();
        let subject = frame.column(&self.subject)?;
        let times = frame.numbers(&self.time)?;
        let states = frame.numbers(&self.state)?;
        let columns: Vec<strata_core::masked::Masked<f64>> =
            self.covariates.iter().map(|c| frame.numbers(c)).collect::<std::result::Result<_, _>>()?;
        let covariates_of = |i: usize| -> Option<Vec<f64>> { columns.iter().map(|c| c.get(i)).collect() };
        // Pairs of consecutive visits, grouped by (covariate pattern, from, to, interval).
        let mut patterns: BTreeMap<Vec<u64>, usize> = BTreeMap::new();
        let mut pairs = PairCounts::new();
        let mut previous: Option<(String, f64, usize, usize)> = None;
        // Which states can be reached from which through allowed moves (in any number of steps):
        // panel data see only where a subject is at each visit, as msm checks.
        let mut reach: Vec<Vec<bool>> =
            (0..k).map(|i| (0..k).map(|j| i == j || self.initial[(i, j)] > 0.0).collect()).collect();
        for via in 0..k {
            for i in 0..k {
                if reach[i][via] {
                    for j in 0..k {
                        if reach[via][j] {
                            reach[i][j] = true;
                        }
                    }
                }
            }
        }
        let mut finished: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut visits = 0;
        for i in 0..frame.nrows() {
            let (Some(id), Some(t), Some(s), Some(x)) =
                (subject.text(i), times.get(i), states.get(i), covariates_of(i))
            else {
                continue;
            };
            if s.fract() != 0.0 || s < 1.0 || s > k as f64 {
                return Err(Error::InvalidSurvival { row: i + 1, reason: format!("state {s} is not one of 1 to {k}") });
            }
            let s = s as usize - 1;
            visits += 1;
            let raw: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
            let next_pattern = patterns.len();
            let pattern = *patterns.entry(raw).or_insert(next_pattern);
            if let Some((last_id, _, _, _)) = &previous {
                if *last_id != id {
                    finished.insert(last_id.clone(), i);
                    if let Some(&row) = finished.get(&id) {
                        return Err(Error::InvalidSurvival {
                            row: i + 1,
                            reason: format!(
                                "the rows of subject `{id}` are not together (an earlier run of its rows ends at row {row}); sort the data by subject, then time, as msm requires"
                            ),
                        });
                    }
                }
            }
            if let Some((last_id, last_t, last_s, last_pattern)) = &previous {
                if *last_id == id {
                    if !reach[*last_s][s] {
                        return Err(Error::InvalidSurvival {
                            row: i + 1,
                            reason: format!(
                                "subject `{id}` moves from state {} to state {} between times {last_t} and {t}, which the intensity matrix does not allow, even through other states",
                                last_s + 1,
                                s + 1
                            ),
                        });
                    }
                    if t < *last_t {
                        return Err(Error::InvalidSurvival {
                            row: i + 1,
                            reason: "visits must be in time order within a subject".into(),
                        });
                    }
                    *pairs.entry((*last_pattern, *last_s, s, (t - last_t).to_bits())).or_insert(0.0) += 1.0;
                }
            }
            previous = Some((id, t, s, pattern));
        }
        if pairs.is_empty() {
            return Err(Error::Specification("no subject has two visits".into()));
        }
        let mut centred_patterns: Vec<Vec<f64>> = vec![Vec::new(); patterns.len()];
        for (bits, &p) in &patterns {
            centred_patterns[p] = bits.iter().map(|b| f64::from_bits(*b)).collect();
        }
        // Centring at the means over the visits that start an interval, as msm.
        let pair_count: f64 = pairs.values().sum();
        let mut means = vec![0.0; columns.len()];
        for (&(pattern, ..), &count) in &pairs {
            for (m, v) in means.iter_mut().zip(&centred_patterns[pattern]) {
                *m += count * v / pair_count;
            }
        }
        for pattern in &mut centred_patterns {
            for (v, m) in pattern.iter_mut().zip(&means) {
                *v -= m;
            }
        }
        let allowed: Vec<(usize, usize)> = (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .filter(|&(i, j)| i != j && self.initial[(i, j)] > 0.0)
            .collect();
        let n_covariates = self.covariates.len();
        // The (transition, covariate) pairs with a coefficient, transition-major.
        let effects: Vec<(usize, usize)> = allowed
            .iter()
            .enumerate()
            .flat_map(|(a, &(i, j))| {
                let on: Vec<usize> = if self.constrained.is_empty() {
                    (0..n_covariates).collect()
                } else {
                    self.constrained
                        .iter()
                        .filter(|((from, to), _)| (*from, *to) == (i + 1, j + 1))
                        .flat_map(|(_, columns)| columns.iter())
                        .filter_map(|c| self.covariates.iter().position(|name| name == c))
                        .collect()
                };
                on.into_iter().map(move |c| (a, c))
            })
            .collect();
        // Each allowed transition's intensity parameter: codes in order of first appearance.
        let mut codes: Vec<usize> = Vec::new();
        let parameter: Vec<usize> = (0..allowed.len())
            .map(|a| {
                let code = self.shared.get(a).copied().unwrap_or(usize::MAX - a);
                codes.iter().position(|&c| c == code).unwrap_or_else(|| {
                    codes.push(code);
                    codes.len() - 1
                })
            })
            .collect();
        let likelihood = PanelLikelihood {
            states: k,
            allowed,
            parameter,
            intensities: codes.len(),
            effects,
            patterns: centred_patterns,
            pairs,
            exact: self.exact.clone(),
        };
        let objective = |x: &[f64]| likelihood.minus2_with_gradient(x);
        let (allowed, generator) = (&likelihood.allowed, |x: &[f64], z: &[f64]| likelihood.generator(x, z));
        // The optimiser works on the mean over pairs of visits, so that its tolerances do not
        // depend on the size of the data.
        let scaled = |x: &[f64]| {
            let (f, g) = objective(x);
            (f / pair_count, g.iter().map(|g| g / pair_count).collect())
        };
        let n_intensities = likelihood.intensities;
        // Each intensity code's first transition: its starting value and its name.
        let first: Vec<usize> = (0..n_intensities)
            .map(|g| likelihood.parameter.iter().position(|&p| p == g).expect("every code has a transition"))
            .collect();
        let mut log_q: Vec<f64> = first
            .iter()
            .map(|&a| self.initial[allowed[a]].ln())
            .chain(std::iter::repeat_n(0.0, likelihood.effects.len()))
            .collect();
        let control = QuasiNewtonControl { gradient_tolerance: 1e-9, ..QuasiNewtonControl::default() };
        let convergence = minimize_quasi_newton(scaled, &mut log_q, &control);
        let covariance = Cholesky::new(&gradient_difference_hessian(&objective, &log_q))
            .map_err(|_| Error::Fit("the information of the log intensities is singular".into()))?
            .inverse();
        let q = generator(&log_q, &vec![0.0; n_covariates]);
        let z = normal_quantile(0.975);
        let hazard_ratios = likelihood
            .effects
            .iter()
            .enumerate()
            .map(|(e, &(a, c))| {
                let index = n_intensities + e;
                let (beta, se) = (log_q[index], (2.0 * covariance[(index, index)]).sqrt());
                HazardRatio {
                    from: allowed[a].0 + 1,
                    to: allowed[a].1 + 1,
                    covariate: self.covariates[c].clone(),
                    ratio: beta.exp(),
                    lower: (beta - z * se).exp(),
                    upper: (beta + z * se).exp(),
                }
            })
            .collect();
        let transitions = allowed
            .iter()
            .enumerate()
            .map(|(a, &(i, j))| {
                let g = likelihood.parameter[a];
                let log_se = (2.0 * covariance[(g, g)]).sqrt();
                Transition {
                    from: i + 1,
                    to: j + 1,
                    intensity: q[(i, j)],
                    std_error: q[(i, j)] * log_se,
                    lower: q[(i, j)] * (-z * log_se).exp(),
                    upper: q[(i, j)] * (z * log_se).exp(),
                }
            })
            .collect();
        // log(−1/q_rr) = −log Σ_s q_rs: its gradient in log q_a is −q_a / Σ for a leaving r.
        let sojourn = (0..k)
            .filter(|&r| q[(r, r)] < 0.0)
            .map(|r| {
                let mean = -1.0 / q[(r, r)];
                let mut gradient = vec![0.0; n_intensities];
                for (a, &(i, j)) in allowed.iter().enumerate() {
                    if i == r {
                        gradient[likelihood.parameter[a]] += q[(i, j)] * mean;
                    }
                }
                let log_se = (2.0
                    * (0..n_intensities)
                        .flat_map(|a| (0..n_intensities).map(move |b| (a, b)))
                        .map(|(a, b)| gradient[a] * covariance[(a, b)] * gradient[b])
                        .sum::<f64>())
                .sqrt();
                Sojourn {
                    state: r + 1,
                    mean,
                    std_error: mean * log_se,
                    lower: mean * (-z * log_se).exp(),
                    upper: mean * (z * log_se).exp(),
                }
            })
            .collect();
        let p5 = matrix_exponential(&Matrix::from_fn(k, k, |i, j| 5.0 * q[(i, j)]));
        // The parameters as msm estimates them: each intensity code's log, then each covariate
        // effect (a log hazard ratio), named by their first transition.
        let transition = |a: usize| format!("{}-{}", allowed[a].0 + 1, allowed[a].1 + 1);
        let terms = first
            .iter()
            .map(|&a| format!("log(q {})", transition(a)))
            .chain(likelihood.effects.iter().map(|&(a, c)| format!("{} {}", self.covariates[c], transition(a))))
            .collect();
        // The objective is −2ℓ: the parameters' covariance is twice the inverse of its Hessian.
        let parameter_covariance = Matrix::from_fn(log_q.len(), log_q.len(), |a, b| 2.0 * covariance[(a, b)]);
        Ok(MsmFit {
            model: "msm",
            minus2_log_likelihood: objective(&log_q).0,
            transitions,
            hazard_ratios,
            pmatrix_t5: p5.to_rows(),
            mean_sojourn: (0..k).map(|i| (q[(i, i)] < 0.0).then(|| -1.0 / q[(i, i)])).collect(),
            sojourn,
            probabilities: Vec::new(),
            q,
            convergence,
            terms,
            estimates: log_q,
            covariance: parameter_covariance,
            n_obs: visits,
        })
    }
}
