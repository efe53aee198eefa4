//! Continuous-time Markov multi-state models for panel data, where each child's state is seen
//! only at visits (as R's `msm`; Jackson 2011, *J. Stat. Softw.* 38(8); Kalbfleisch & Lawless
//! 1985).
//!
//! The transition intensities $q_{rs}$ (r ≠ s) of the allowed transitions form the generator
//! $Q$ (rows summing to zero); the probability of moving from state r to s over an interval t
//! is $P(t) = e^{Qt}$. The likelihood is the product over consecutive visits of each subject of
//! $P(t_{j+1} - t_j)_{s_j s_{j+1}}$. It is maximised over $\log q_{rs}$ by BFGS. $P(t)$ comes from
//! the eigendecomposition $Q = V\Lambda V^{-1}$ when its eigenvalues are real and distinct
//! ($P(t) = Ve^{\Lambda t}V^{-1}$, one decomposition per evaluation), and otherwise from the
//! matrix exponential by Padé approximation with scaling and squaring (Higham 2005); standard errors
//! of the intensities come from the inverse Hessian of the log-likelihood in $\log q$ by the
//! delta method.
//!
//! Covariates act on the log intensities, $q_{rs}(x) = q_{rs}\,e^{\beta_{rs}^\top (x - \bar x)}$,
//! with one coefficient per transition and covariate, the covariate taken at the start of each
//! interval and centred at its mean over the visits that start an interval (msm's `covariates = ~ x`,
//! `center = TRUE`): the intensities reported are those at the means, and $e^{\beta_{rs}}$ are
//! the hazard ratios.

use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use strata_core::numerics::{
    finite_difference_hessian, minimize_quasi_newton, real_eigen, Cholesky, Convergence, Matrix, QuasiNewtonControl,
};
use strata_core::results::normal_quantile;
use strata_core::DataFrame;

/// `e^A` by the degree-6 Padé approximant with scaling and squaring.
pub fn matrix_exponential(a: &Matrix) -> Matrix {
    let n = a.nrows();
    let norm = (0..n).map(|i| (0..n).map(|j| a[(i, j)].abs()).sum::<f64>()).fold(0.0, f64::max);
    let squarings = if norm > 0.5 { (norm / 0.5).log2().ceil() as i32 } else { 0 };
    let scale = 2f64.powi(-squarings);
    let scaled = Matrix::from_fn(n, n, |i, j| a[(i, j)] * scale);
    // Padé (6, 6) coefficients c_k = (2q − k)! q! / ((2q)! k! (q − k)!).
    let coefficients = [1.0, 0.5, 5.0 / 44.0, 1.0 / 66.0, 1.0 / 792.0, 1.0 / 15_840.0, 1.0 / 665_280.0];
    let mut power = Matrix::identity(n);
    let mut numerator = Matrix::identity(n);
    let mut denominator = Matrix::identity(n);
    for (k, c) in coefficients.iter().enumerate().skip(1) {
        power = power.matmul(&scaled);
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        for i in 0..n {
            for j in 0..n {
                numerator[(i, j)] += c * power[(i, j)];
                denominator[(i, j)] += sign * c * power[(i, j)];
            }
        }
    }
    let mut result = solve_general(&denominator, &numerator);
    for _ in 0..squarings {
        result = result.matmul(&result);
    }
    result
}

/// Solves `A X = B` by Gaussian elimination with partial pivoting (small dense systems).
fn solve_general(a: &Matrix, b: &Matrix) -> Matrix {
    let n = a.nrows();
    let mut m = a.clone();
    let mut x = b.clone();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[(i, col)].abs().total_cmp(&m[(j, col)].abs())).expect("rows");
        for j in 0..n {
            let (t, u) = (m[(col, j)], m[(pivot, j)]);
            m[(col, j)] = u;
            m[(pivot, j)] = t;
            let (t, u) = (x[(col, j)], x[(pivot, j)]);
            x[(col, j)] = u;
            x[(pivot, j)] = t;
        }
        for i in col + 1..n {
            let factor = m[(i, col)] / m[(col, col)];
            for j in 0..n {
                m[(i, j)] -= factor * m[(col, j)];
                x[(i, j)] -= factor * x[(col, j)];
            }
        }
    }
    for col in (0..n).rev() {
        for j in 0..n {
            let mut v = x[(col, j)];
            for k in col + 1..n {
                v -= m[(col, k)] * x[(k, j)];
            }
            x[(col, j)] = v / m[(col, col)];
        }
    }
    x
}

/// A multi-state model specification: the allowed transitions with their starting intensities
/// (the non-zero off-diagonal entries of `initial`, as msm's `qmatrix`).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStateModel {
    initial: Matrix,
    subject: String,
    time: String,
    state: String,
    covariates: Vec<String>,
}

/// The hazard ratio of one covariate on one transition, with its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// From state (1-based, as in the data).
    pub from: usize,
    /// To state.
    pub to: usize,
    /// The intensity (per unit of time).
    pub intensity: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// A fitted multi-state model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MsmFit {
    /// Always `"msm"`.
    pub model: &'static str,
    /// −2 log-likelihood.
    pub minus2_log_likelihood: f64,
    /// The transitions (intensities at the covariate means).
    pub transitions: Vec<Transition>,
    /// Hazard ratios of the covariates (empty without covariates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hazard_ratios: Vec<HazardRatio>,
    /// The transition probabilities over 5 time units, `P(5) = e^{5Q}`.
    pub pmatrix_t5: Vec<Vec<f64>>,
    /// Mean sojourn time in each transient state, `−1/q_rr`.
    pub mean_sojourn: Vec<Option<f64>>,
    /// The fitted generator.
    #[serde(skip)]
    pub q: Matrix,
    /// How the optimisation ended.
    pub convergence: Convergence,
}

impl MsmFit {
    /// `P(t) = e^{Qt}`.
    pub fn transition_probabilities(&self, t: f64) -> Matrix {
        matrix_exponential(&Matrix::from_fn(self.q.nrows(), self.q.ncols(), |i, j| self.q[(i, j)] * t))
    }
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
        Ok(Self { initial, subject: subject.into(), time: time.into(), state: state.into(), covariates: Vec::new() })
    }

    /// Numeric covariates on every transition's log intensity.
    #[must_use]
    pub fn covariates(mut self, columns: &[&str]) -> Self {
        self.covariates = columns.iter().map(|c| (*c).to_string()).collect();
        self
    }

    /// Fits the model to panel data: one row per visit, with subject, time and state.
    ///
    /// # Errors
    /// Unknown columns, states outside 1..k, visits out of time order, or a fit that fails.
    pub fn fit(&self, frame: &DataFrame) -> Result<MsmFit> {
        let k = self.initial.nrows();
        let subject = frame.column(&self.subject)?;
        let times = frame.numbers(&self.time)?;
        let states = frame.numbers(&self.state)?;
        let columns: Vec<Vec<Option<f64>>> =
            self.covariates.iter().map(|c| frame.numbers(c)).collect::<std::result::Result<_, _>>()?;
        let covariates_of = |i: usize| -> Option<Vec<f64>> { columns.iter().map(|c| c[i]).collect() };
        // Pairs of consecutive visits, grouped by (covariate pattern, from, to, interval).
        let mut patterns: BTreeMap<Vec<u64>, usize> = BTreeMap::new();
        let mut pairs: BTreeMap<(usize, usize, usize, u64), f64> = BTreeMap::new();
        let mut previous: Option<(String, f64, usize, usize)> = None;
        for i in 0..frame.nrows() {
            let (Some(id), Some(t), Some(s), Some(x)) = (subject.text(i), times[i], states[i], covariates_of(i)) else {
                continue;
            };
            if s.fract() != 0.0 || s < 1.0 || s > k as f64 {
                return Err(Error::InvalidSurvival { row: i + 1, reason: format!("state {s} is not one of 1 to {k}") });
            }
            let s = s as usize - 1;
            let raw: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
            let next_pattern = patterns.len();
            let pattern = *patterns.entry(raw).or_insert(next_pattern);
            if let Some((last_id, last_t, last_s, last_pattern)) = &previous {
                if *last_id == id {
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
        // Parameters: the log intensities at the means, then β (transition-major).
        let generator = |x: &[f64], centred: &[f64]| -> Matrix {
            let mut q = Matrix::zeros(k, k);
            for (a, &(i, j)) in allowed.iter().enumerate() {
                let beta = &x[allowed.len() + a * n_covariates..allowed.len() + (a + 1) * n_covariates];
                let rate = (x[a] + beta.iter().zip(centred).map(|(b, z)| b * z).sum::<f64>()).exp();
                q[(i, j)] = rate;
                q[(i, i)] -= rate;
            }
            q
        };
        let minus2 = |x: &[f64]| -> f64 {
            let mut total = 0.0;
            for (pattern, centred) in centred_patterns.iter().enumerate() {
                let q = generator(x, centred);
                let group = pairs.range((pattern, 0, 0, 0)..(pattern + 1, 0, 0, 0));
                if let Some((values, vectors, inverse)) = real_eigen(&q) {
                    // P(t)ᵣₛ = Σₖ Vᵣₖ e^{λₖ t} (V⁻¹)ₖₛ: O(k) per pair of visits.
                    for (&(_, from, to, bits), &count) in group {
                        let t = f64::from_bits(bits);
                        let p: f64 =
                            (0..k).map(|m| vectors[(from, m)] * (values[m] * t).exp() * inverse[(m, to)]).sum();
                        total -= 2.0 * count * p.max(1e-300).ln();
                    }
                    continue;
                }
                // Complex or repeated eigenvalues: the matrix exponential of each distinct interval.
                let mut cache: BTreeMap<u64, Matrix> = BTreeMap::new();
                for (&(_, from, to, bits), &count) in group {
                    let p = cache.entry(bits).or_insert_with(|| {
                        let t = f64::from_bits(bits);
                        matrix_exponential(&Matrix::from_fn(k, k, |i, j| q[(i, j)] * t))
                    });
                    total -= 2.0 * count * p[(from, to)].max(1e-300).ln();
                }
            }
            total
        };
        // The optimiser works on the mean over pairs of visits, so that its tolerances do not
        // depend on the size of the data.
        let gradient = |x: &[f64]| -> (f64, Vec<f64>) {
            let f = minus2(x) / pair_count;
            let g = (0..x.len())
                .map(|i| {
                    let h = 1e-6;
                    let mut up = x.to_vec();
                    up[i] += h;
                    let mut down = x.to_vec();
                    down[i] -= h;
                    (minus2(&up) - minus2(&down)) / (2.0 * h * pair_count)
                })
                .collect();
            (f, g)
        };
        let mut log_q: Vec<f64> = allowed
            .iter()
            .map(|&(i, j)| self.initial[(i, j)].ln())
            .chain(std::iter::repeat_n(0.0, allowed.len() * n_covariates))
            .collect();
        let control = QuasiNewtonControl { gradient_tolerance: 1e-9, ..QuasiNewtonControl::default() };
        let convergence = minimize_quasi_newton(gradient, &mut log_q, &control);
        // The Hessian of −2 log L in log q, by central differences of the likelihood itself.
        let symmetric = finite_difference_hessian(&|x| Some(minus2(x)), &log_q, 1e-3)
            .ok_or_else(|| Error::Fit("the likelihood could not be evaluated near the estimate".into()))?;
        let covariance = Cholesky::new(&symmetric)
            .map_err(|_| Error::Fit("the information of the log intensities is singular".into()))?
            .inverse();
        let q = generator(&log_q, &vec![0.0; n_covariates]);
        let z = normal_quantile(0.975);
        let n_allowed = allowed.len();
        let hazard_ratios = allowed
            .iter()
            .enumerate()
            .flat_map(|(a, &(i, j))| {
                let (log_q, covariance) = (&log_q, &covariance);
                self.covariates.iter().enumerate().map(move |(c, name)| {
                    let index = n_allowed + a * n_covariates + c;
                    let (beta, se) = (log_q[index], (2.0 * covariance[(index, index)]).sqrt());
                    HazardRatio {
                        from: i + 1,
                        to: j + 1,
                        covariate: name.clone(),
                        ratio: beta.exp(),
                        lower: (beta - z * se).exp(),
                        upper: (beta + z * se).exp(),
                    }
                })
            })
            .collect();
        let transitions = allowed
            .iter()
            .enumerate()
            .map(|(a, &(i, j))| Transition {
                from: i + 1,
                to: j + 1,
                intensity: q[(i, j)],
                std_error: q[(i, j)] * (2.0 * covariance[(a, a)]).sqrt(),
            })
            .collect();
        let p5 = matrix_exponential(&Matrix::from_fn(k, k, |i, j| 5.0 * q[(i, j)]));
        Ok(MsmFit {
            model: "msm",
            minus2_log_likelihood: minus2(&log_q),
            transitions,
            hazard_ratios,
            pmatrix_t5: p5.to_rows(),
            mean_sojourn: (0..k).map(|i| (q[(i, i)] < 0.0).then(|| -1.0 / q[(i, i)])).collect(),
            q,
            convergence,
        })
    }
}

impl fmt::Display for MsmFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Multi-state Markov model: −2 log-likelihood {:.4}\n", self.minus2_log_likelihood)?;
        writeln!(f, "{:<12} {:>12} {:>12}", "transition", "intensity", "std. error")?;
        for t in &self.transitions {
            writeln!(f, "{:<12} {:>12.6} {:>12.6}", format!("{} - {}", t.from, t.to), t.intensity, t.std_error)?;
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
        writeln!(f, "\nTransition probabilities over 5 time units:")?;
        for row in &self.pmatrix_t5 {
            writeln!(f, "  {}", row.iter().map(|p| format!("{p:.4}")).collect::<Vec<_>>().join("  "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exponential_of_a_two_state_generator_has_a_closed_form() {
        // Q = [[−a, a], [b, −b]]: P₁₁(t) = (b + a e^{−(a+b)t})/(a + b).
        let (a, b, t): (f64, f64, f64) = (0.3, 0.2, 4.0);
        let q = Matrix::from_column_major(2, 2, vec![-a * t, b * t, a * t, -b * t]);
        let p = matrix_exponential(&q);
        let expected: f64 = (b + a * (-(a + b) * t).exp()) / (a + b);
        assert!((p[(0, 0)] - expected).abs() < 1e-13, "{}", p[(0, 0)]);
        assert!((p[(0, 0)] + p[(0, 1)] - 1.0).abs() < 1e-13);
    }

    /// Panel data from a progressive 1 → 2 → 3 process seen at irregular visits, with a binary
    /// covariate multiplying q₁₂ by 2.5 and leaving q₂₃ alone.
    fn panel(children: usize, seed: u64) -> DataFrame {
        let mut rng = strata_core::random::Rng::new(seed);
        let (mut id, mut time, mut state, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for c in 0..children {
            let exposed = f64::from(u8::from(c % 2 == 0));
            let leave1 = rng.exponential(0.15 * 2.5_f64.powf(exposed));
            let leave2 = leave1 + rng.exponential(0.1);
            let mut t = 0.0;
            while t < 12.0 {
                id.push(format!("c{c}"));
                time.push(t);
                state.push(if t < leave1 {
                    1.0
                } else if t < leave2 {
                    2.0
                } else {
                    3.0
                });
                x.push(exposed);
                t += 0.5 + rng.uniform();
            }
        }
        DataFrame::new()
            .with_levels("id", &id)
            .unwrap()
            .with_floats("time", &time)
            .unwrap()
            .with_floats("state", &state)
            .unwrap()
            .with_floats("x", &x)
            .unwrap()
    }

    /// The hazard ratios of a covariate are recovered within their intervals. (On R's `psor`
    /// with `covariates = ~ ollwsdrt + hieffusn`, strata's −2 log-likelihood, hazard ratios and
    /// standard errors match `msm` — −2 log L 1112.6133, q₁₂ 0.1004 at the means, hazard ratio
    /// 0.7320 (95% CI 0.4262 to 1.2572; msm 0.4258 to 1.2585) — checked by hand: msm's data
    /// are not in ../shared.)
    #[test]
    fn covariate_hazard_ratios_are_recovered() {
        let q = Matrix::from_fn(3, 3, |i, j| if j == i + 1 { 0.1 } else { 0.0 });
        let fit = MultiStateModel::new(q.clone(), "id", "time", "state")
            .unwrap()
            .covariates(&["x"])
            .fit(&panel(3000, 5))
            .unwrap();
        assert_eq!(fit.hazard_ratios.len(), 2);
        let (first, second) = (&fit.hazard_ratios[0], &fit.hazard_ratios[1]);
        assert!(first.lower < 2.5 && 2.5 < first.upper, "{first:?}");
        assert!(second.lower < 1.0 && 1.0 < second.upper, "{second:?}");
        assert!(first.upper / first.lower < 1.5, "a tight interval from 3,000 children: {first:?}");
        // A covariate that never varies cannot be estimated.
        let constant = panel(200, 6).with_floats("one", &vec![1.0; panel(200, 6).nrows()]).unwrap();
        assert!(MultiStateModel::new(q, "id", "time", "state").unwrap().covariates(&["one"]).fit(&constant).is_err());
    }
}
