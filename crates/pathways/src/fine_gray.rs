//! Fine–Gray regression of the subdistribution hazard of one cause in the presence of
//! competing causes (Fine & Gray 1999, *J. Am. Stat. Assoc.* 94:496), as R's `cmprsk::crr`.
//!
//! Subjects who fail from a competing cause stay in the risk set after their failure, weighted
//! by $w_j(s) = \hat G(s-)/\hat G(X_j-)$, with $\hat G$ the Kaplan–Meier estimate of the
//! censoring distribution. β maximises the weighted partial likelihood (Breslow ties) by
//! Newton–Raphson. Its variance is the sandwich $I^{-1}\Omega I^{-1}$ with
//! $\Omega = \sum_i (\eta_i + \psi_i)^{\otimes 2}$: $\eta_i$ the subject's weighted score
//! residual and $\psi_i$ the correction for estimating $\hat G$,
//! $\psi_i = \int q(u)/\pi(u)\,dM^c_i(u)$ with $\pi(u)$ the number still under observation and
//! $q(u) = \sum_{i:\,X_i < u} \frac{r_i}{\hat G(X_i-)} \sum_{s \ge u} \hat G(s-)(x_i - \bar x(s))\,d\hat\Lambda(s)$
//! over competing failures. All sums are accumulated in one or two passes over the sorted times.

use crate::error::{Error, Result};
use crate::survival::check_time;
use serde::Serialize;
use std::fmt;
use strata_core::arrays::{column_names, finite, finite_columns, same_length};
use strata_core::design::{model_expressions, ModelMatrix};
use strata_core::formula::{Expr, Terms};
use strata_core::model_frame::ModelFrame;
use strata_core::numerics::{aliased_columns, Cholesky, Matrix};
use strata_core::results::{CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::{DataFrame, Formula};

/// A Fine–Gray model: `Surv(time, status) ~ covariates`, with the cause of interest and the
/// censoring code among the status values.
#[derive(Debug, Clone, PartialEq)]
pub struct FineGray {
    formula: Formula,
    engine: FineGrayEngine,
}

/// The Fine–Gray model of one cause, `censor_code` marking censored observations, fitted to
/// arrays ([`FineGrayEngine::fit`]) or under a formula ([`FineGray`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FineGrayEngine {
    cause: i64,
    censor_code: i64,
}

/// A Fine–Gray model's data as arrays, all on the same n rows: the covariates (no intercept
/// column), each observation's time and status (the cause code, or the censoring code).
#[derive(Debug, Clone, Copy)]
pub struct FineGrayArrays<'a> {
    /// The covariates, n × p.
    pub x: &'a Matrix,
    /// Their names (`x1`, `x2`, … when absent).
    pub names: Option<&'a [String]>,
    /// Time to the event or censoring.
    pub time: &'a [f64],
    /// The cause of each event, or the censoring code.
    pub status: &'a [i64],
}

impl<'a> FineGrayArrays<'a> {
    /// The covariates `x`, times and statuses.
    pub fn new(x: &'a Matrix, time: &'a [f64], status: &'a [i64]) -> Self {
        Self { x, names: None, time, status }
    }

    /// Names the columns of `x`.
    #[must_use]
    pub fn names(self, names: &'a [String]) -> Self {
        Self { names: Some(names), ..self }
    }
}

/// What [`FineGrayFit::model`] says, also when a fit is read back.
fn fine_gray_name() -> &'static str {
    "fine_gray"
}

/// A fitted Fine–Gray model.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FineGrayFit {
    /// Always `"fine_gray"`.
    #[serde(skip_deserializing, default = "fine_gray_name")]
    pub model: &'static str,
    /// The cause of interest.
    pub cause: i64,
    /// The formula.
    pub formula: String,
    /// Coefficients with robust standard errors.
    pub coefficients: Vec<Coefficient>,
    /// Subdistribution hazard ratios `exp(β)`.
    pub hazard_ratios: Vec<f64>,
    /// Observations used.
    pub n_obs: usize,
    /// Failures from the cause of interest.
    pub n_events: usize,
    /// Newton–Raphson iterations.
    pub iterations: usize,
    /// The log pseudo-likelihood at the estimates (crr's `loglik`):
    /// $\sum_k \big(\sum_{i \in D_k} x_i^\top\beta - d_k \log S_0(t_k)\big)$ over the failure
    /// times of the cause, the risk sets weighted by the censoring distribution.
    #[serde(default)]
    pub log_likelihood: f64,
    /// The terms, in the order of [`FittedModel::coef`].
    #[serde(default)]
    pub terms: Vec<String>,
    /// The estimates.
    #[serde(default)]
    pub estimates: Vec<f64>,
    /// The robust (sandwich) covariance of the estimates, whose diagonal gives the standard
    /// errors.
    #[serde(default)]
    pub covariance: Matrix,
}

impl FittedModel for FineGrayFit {
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
        Some(self.log_likelihood)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.estimates.len()
    }
}

struct Data {
    /// Rows sorted by time: (time, status, row of x).
    time: Vec<f64>,
    status: Vec<i64>,
    x: Vec<Vec<f64>>,
    /// G(t−) of each observation's own time.
    g_own: Vec<f64>,
}

/// Per failure time of the cause of interest: its time, deaths, G(s−), S₀ and x̄.
struct FailureStep {
    time: f64,
    deaths: f64,
    g: f64,
    s0: f64,
    mean: Vec<f64>,
}

impl FineGray {
    /// A model for `cause`, `censor_code` marking censored observations.
    ///
    /// # Errors
    /// A formula error; [`Error::Specification`] if the cause is the censoring code.
    pub fn new(formula: &str, cause: i64, censor_code: i64) -> Result<Self> {
        let engine = FineGrayEngine::new(cause, censor_code)?;
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        Ok(Self { formula, engine })
    }

    /// Fits the model.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_pathways::fine_gray::FineGray;
    /// // Months to entering care (1) with case closure (2) competing; 0 is censored.
    /// let frame = DataFrame::new()
    ///     .with_floats("months", &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 12.0])?
    ///     .with_floats("outcome", &[1.0, 2.0, 1.0, 1.0, 2.0, 0.0, 1.0, 2.0, 2.0, 1.0, 0.0, 0.0])?
    ///     .with_floats("neglect", &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0])?;
    /// let fit = FineGray::new("Surv(months, outcome) ~ neglect", 1, 0)?.fit(&frame)?;
    /// assert_eq!((fit.n_obs, fit.n_events), (12, 5));
    /// assert!(fit.hazard_ratios[0] > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Formula and data errors, no failures of the cause, or a singular information matrix.
    pub fn fit(&self, frame: &DataFrame) -> Result<FineGrayFit> {
        let Some(("Surv", [time_expr, status_expr])) = self.formula.response().and_then(Expr::as_call) else {
            return Err(Error::Specification("the response must be Surv(time, status)".into()));
        };
        let terms: Terms = self.formula.terms().map_err(strata_core::Error::from)?;
        let model_frame = ModelFrame::new(frame, &model_expressions(&terms, &[time_expr, status_expr]))?;
        let times = model_frame.numeric(time_expr)?.to_vec();
        let statuses = model_frame.numeric(status_expr)?;
        let rows = model_frame.rows();
        let mut status = Vec::with_capacity(times.len());
        for (k, &s) in statuses.iter().enumerate() {
            if s.fract() != 0.0 {
                return Err(Error::InvalidSurvival {
                    row: rows[k] + 1,
                    reason: format!("status {s} is not a whole-number cause code"),
                });
            }
            check_time(times[k], rows[k])?;
            status.push(s as i64);
        }
        let full = ModelMatrix::new(&Terms { intercept: true, ..terms.clone() }, &model_frame)?;
        let design = full.without(&full.names.iter().map(|n| n == "(Intercept)").collect::<Vec<_>>());
        self.engine.estimate(&design.matrix, &design.names, &times, &status, self.formula.text())
    }
}

impl FineGrayEngine {
    /// The model of `cause`, `censor_code` marking censored observations.
    ///
    /// # Errors
    /// [`Error::Specification`] if the cause is the censoring code.
    pub fn new(cause: i64, censor_code: i64) -> Result<Self> {
        if cause == censor_code {
            return Err(Error::Specification("the cause of interest cannot be the censoring code".into()));
        }
        Ok(Self { cause, censor_code })
    }

    /// Fits the model to `arrays`, checked as the formula path checks its columns; the fit's
    /// formula reads `crr(time, status, x)`.
    ///
    /// # Examples
    /// ```
    /// use strata_core::numerics::Matrix;
    /// use strata_pathways::fine_gray::{FineGrayArrays, FineGrayEngine};
    /// // Months to entering care (1) with case closure (2) competing; 0 is censored.
    /// let months = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 12.0];
    /// let outcome = [1, 2, 1, 1, 2, 0, 1, 2, 2, 1, 0, 0];
    /// let neglect = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    /// let x = Matrix::from_fn(12, 1, |i, _| neglect[i]);
    /// let fit = FineGrayEngine::new(1, 0)?.fit(&FineGrayArrays::new(&x, &months, &outcome))?;
    /// assert_eq!((fit.n_obs, fit.n_events), (12, 5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Arrays of different lengths, wrong numbers of names, NaN or infinite values, negative
    /// times, and the errors of the formula path.
    pub fn fit(&self, arrays: &FineGrayArrays<'_>) -> Result<FineGrayFit> {
        let n = arrays.x.nrows();
        same_length("time", Some(arrays.time.len()), n)?;
        same_length("status", Some(arrays.status.len()), n)?;
        let names = column_names(arrays.names, arrays.x)?;
        finite_columns(arrays.x, &names)?;
        finite("time", arrays.time)?;
        for (row, &time) in arrays.time.iter().enumerate() {
            check_time(time, row)?;
        }
        self.estimate(arrays.x, &names, arrays.time, arrays.status, "crr(time, status, x)")
    }

    /// Fits checked times and statuses: the covariates' own checks, then Newton–Raphson on the
    /// weighted partial likelihood and the sandwich variance.
    fn estimate(
        &self,
        x: &Matrix,
        names: &[String],
        times: &[f64],
        status: &[i64],
        formula: &str,
    ) -> Result<FineGrayFit> {
        let data = self.data(x, names, times, status)?;
        let p = names.len();
        let mut beta = vec![0.0; p];
        let mut iterations = 0;
        // Estimates that run away while the information vanishes: a covariate separates the
        // events of the cause (monotone likelihood), as coxph warns "Loglik converged before
        // variable … ; coefficient may be infinite".
        let diverging = |beta: &[f64]| -> Option<Error> {
            let (j, b) = beta.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
            (b.abs() > 15.0).then(|| {
                Error::Fit(format!(
                    "the estimate of `{}` runs away ({b:.1}): it separates the events of cause {} (monotone likelihood), so its sub-distribution hazard ratio is not finite",
                    names[j], self.cause
                ))
            })
        };
        loop {
            iterations += 1;
            let (score, information, _) = self.sweep(&data, &beta);
            let Ok(factor) = Cholesky::new(&information) else {
                return Err(diverging(&beta).unwrap_or_else(|| {
                    Error::Fit("the information matrix is singular (collinear covariates, or one constant among those at risk)".into())
                }));
            };
            let step = factor.solve(&score);
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
            }
            if step.iter().all(|s| s.abs() < 1e-12) {
                break;
            }
            if iterations >= 50 {
                return Err(diverging(&beta)
                    .unwrap_or_else(|| Error::Fit("Newton–Raphson did not converge in 50 iterations".into())));
            }
        }
        let (_, information, steps) = self.sweep(&data, &beta);
        let inverse =
            Cholesky::new(&information).map_err(|_| Error::Fit("the information matrix is singular".into()))?.inverse();
        let omega = self.meat(&data, &beta, &steps);
        let covariance = inverse.matmul(&omega).matmul(&inverse);
        let std_errors: Vec<f64> = covariance.diag().into_iter().map(f64::sqrt).collect();
        let table = CoefTable::new(names, &beta, &std_errors, Statistic::Z);
        let linear = |i: usize| data.x[i].iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>();
        let log_likelihood = (0..data.time.len()).filter(|&i| data.status[i] == self.cause).map(linear).sum::<f64>()
            - steps.iter().map(|s| s.deaths * s.s0.ln()).sum::<f64>();
        Ok(FineGrayFit {
            model: "fine_gray",
            cause: self.cause,
            formula: formula.to_string(),
            coefficients: table.rows,
            hazard_ratios: beta.iter().map(|b| b.exp()).collect(),
            n_obs: data.time.len(),
            n_events: data.status.iter().filter(|&&s| s == self.cause).count(),
            iterations,
            log_likelihood,
            terms: names.to_vec(),
            estimates: beta,
            covariance,
        })
    }

    /// The observations sorted by time with the censoring distribution's left limits, after
    /// the checks of the covariates and the causes.
    fn data(&self, x: &Matrix, names: &[String], times: &[f64], status: &[i64]) -> Result<Data> {
        if names.is_empty() {
            return Err(Error::Specification("the Fine–Gray model needs at least one covariate".into()));
        }
        if aliased_columns(x, 1e-7).iter().any(|a| *a) {
            return Err(strata_core::Error::Singular("the covariates are linearly dependent".into()).into());
        }
        if !status.contains(&self.cause) {
            let mut causes: Vec<i64> = status.iter().copied().filter(|&s| s != self.censor_code).collect();
            causes.sort_unstable();
            causes.dedup();
            if causes.is_empty() {
                return Err(Error::NoEvents(status.len()));
            }
            let listed: Vec<String> = causes.iter().map(ToString::to_string).collect();
            return Err(Error::Specification(format!(
                "no event of cause {} in the data; its causes are {} (censoring code {})",
                self.cause,
                listed.join(", "),
                self.censor_code
            )));
        }
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
        let p = names.len();
        let time: Vec<f64> = order.iter().map(|&i| times[i]).collect();
        let status: Vec<i64> = order.iter().map(|&i| status[i]).collect();
        let x: Vec<Vec<f64>> = order.iter().map(|&i| (0..p).map(|j| x[(i, j)]).collect()).collect();
        // Kaplan–Meier of the censoring distribution, left limits at each observation's time.
        let n = time.len();
        let mut g_own = vec![1.0; n];
        let (mut g, mut k) = (1.0, 0);
        while k < n {
            let mut j = k;
            let mut censored = 0.0;
            while j < n && time[j] == time[k] {
                if status[j] == self.censor_code {
                    censored += 1.0;
                }
                j += 1;
            }
            g_own[k..j].fill(g);
            g *= 1.0 - censored / (n - k) as f64;
            k = j;
        }
        Ok(Data { time, status, x, g_own })
    }

    /// One pass over the failure times: score, information and the per-time statistics.
    fn sweep(&self, data: &Data, beta: &[f64]) -> (Vec<f64>, Matrix, Vec<FailureStep>) {
        let (n, p) = (data.time.len(), beta.len());
        let risk: Vec<f64> = data.x.iter().map(|x| x.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>().exp()).collect();
        let add = |sums: &mut (f64, Vec<f64>, Matrix), r: f64, x: &[f64]| {
            sums.0 += r;
            for a in 0..p {
                sums.1[a] += r * x[a];
                for b in 0..p {
                    sums.2[(a, b)] += r * x[a] * x[b];
                }
            }
        };
        let empty = || (0.0, vec![0.0; p], Matrix::zeros(p, p));
        let mut at_risk = empty();
        for i in 0..n {
            add(&mut at_risk, risk[i], &data.x[i]);
        }
        let mut competing = empty();
        let (mut score, mut information, mut steps) = (vec![0.0; p], Matrix::zeros(p, p), Vec::new());
        let mut k = 0;
        while k < n {
            let t = data.time[k];
            let mut j = k;
            while j < n && data.time[j] == t {
                j += 1;
            }
            let deaths: Vec<usize> = (k..j).filter(|&i| data.status[i] == self.cause).collect();
            if !deaths.is_empty() {
                let g = data.g_own[k];
                let s0 = at_risk.0 + g * competing.0;
                let mean: Vec<f64> = (0..p).map(|a| (at_risk.1[a] + g * competing.1[a]) / s0).collect();
                let d = deaths.len() as f64;
                for a in 0..p {
                    score[a] += deaths.iter().map(|&i| data.x[i][a]).sum::<f64>() - d * mean[a];
                    for b in 0..p {
                        let s2 = (at_risk.2[(a, b)] + g * competing.2[(a, b)]) / s0;
                        information[(a, b)] += d * (s2 - mean[a] * mean[b]);
                    }
                }
                steps.push(FailureStep { time: t, deaths: d, g, s0, mean });
            }
            for i in k..j {
                let negative = -risk[i];
                add(&mut at_risk, negative, &data.x[i]);
                if data.status[i] != self.cause && data.status[i] != self.censor_code {
                    add(&mut competing, risk[i] / data.g_own[i], &data.x[i]);
                }
            }
            k = j;
        }
        (score, information, steps)
    }

    /// `Ω = Σᵢ (ηᵢ + ψᵢ)(ηᵢ + ψᵢ)ᵀ`.
    fn meat(&self, data: &Data, beta: &[f64], steps: &[FailureStep]) -> Matrix {
        let (n, p) = (data.time.len(), beta.len());
        let risk: Vec<f64> = data.x.iter().map(|x| x.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>().exp()).collect();
        let m = steps.len();
        // Prefix sums over failure times of dΛ and x̄ dΛ; suffix sums of G dΛ and G x̄ dΛ.
        let mut lambda = vec![0.0; m + 1];
        let mut mean_lambda = vec![vec![0.0; p]; m + 1];
        for (k, s) in steps.iter().enumerate() {
            let dl = s.deaths / s.s0;
            lambda[k + 1] = lambda[k] + dl;
            mean_lambda[k + 1] = (0..p).map(|a| mean_lambda[k][a] + s.mean[a] * dl).collect();
        }
        let mut g_tail = vec![0.0; m + 1];
        let mut g_mean_tail = vec![vec![0.0; p]; m + 1];
        for k in (0..m).rev() {
            let s = &steps[k];
            let gdl = s.g * s.deaths / s.s0;
            g_tail[k] = g_tail[k + 1] + gdl;
            g_mean_tail[k] = (0..p).map(|a| g_mean_tail[k + 1][a] + s.mean[a] * gdl).collect();
        }
        let upto = |t: f64| steps.partition_point(|s| s.time <= t);
        let from = |t: f64| steps.partition_point(|s| s.time < t);
        let mut residuals = vec![vec![0.0; p]; n];
        for i in 0..n {
            let (x, r, t) = (&data.x[i], risk[i], data.time[i]);
            let k = upto(t);
            for a in 0..p {
                residuals[i][a] -= r * (x[a] * lambda[k] - mean_lambda[k][a]);
            }
            if data.status[i] == self.cause {
                let step = &steps[k - 1];
                for a in 0..p {
                    residuals[i][a] += x[a] - step.mean[a];
                }
            } else if data.status[i] != self.censor_code {
                let scale = r / data.g_own[i];
                for a in 0..p {
                    residuals[i][a] -= scale * (x[a] * g_tail[k] - g_mean_tail[k][a]);
                }
            }
        }
        // ψ: over censoring times u ascending, q(u) = A(u) C(u) − B(u) E(u).
        let (mut a_sum, mut b_sum) = (vec![0.0; p], 0.0);
        let mut correction = vec![0.0; p];
        let mut k = 0;
        while k < n {
            let u = data.time[k];
            let mut j = k;
            while j < n && data.time[j] == u {
                j += 1;
            }
            let censored = (k..j).filter(|&i| data.status[i] == self.censor_code).count() as f64;
            if censored > 0.0 {
                let at = from(u);
                let q: Vec<f64> = (0..p).map(|c| a_sum[c] * g_tail[at] - b_sum * g_mean_tail[at][c]).collect();
                let remaining = (n - k) as f64;
                for c in 0..p {
                    correction[c] += q[c] * censored / (remaining * remaining);
                }
                for i in k..j {
                    for c in 0..p {
                        if data.status[i] == self.censor_code {
                            residuals[i][c] += q[c] / remaining;
                        }
                    }
                }
            }
            // Every subject under observation at u carries the compensator accrued so far.
            for i in k..j {
                for c in 0..p {
                    residuals[i][c] -= correction[c];
                }
            }
            for i in k..j {
                if data.status[i] != self.cause && data.status[i] != self.censor_code {
                    let scale = risk[i] / data.g_own[i];
                    for c in 0..p {
                        a_sum[c] += scale * data.x[i][c];
                    }
                    b_sum += scale;
                }
            }
            k = j;
        }
        let mut omega = Matrix::zeros(p, p);
        for r in &residuals {
            for a in 0..p {
                for b in 0..p {
                    omega[(a, b)] += r[a] * r[b];
                }
            }
        }
        omega
    }
}

impl fmt::Display for FineGrayFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Fine–Gray subdistribution hazards for cause {}: {}", self.cause, self.formula)?;
        writeln!(f, "  n = {}, failures from cause {} = {}\n", self.n_obs, self.cause, self.n_events)?;
        write!(f, "{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::results::FittedModel;

    #[test]
    fn without_competing_events_it_is_the_cox_model_with_breslow_ties() {
        // With no competing failures the weights vanish and Fine–Gray is Cox (Breslow ties).
        let frame = DataFrame::new()
            .with_floats("t", &[1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
            .unwrap()
            .with_floats("s", &[1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
            .unwrap()
            .with_floats("x", &[0.5, 1.5, 0.2, 2.0, 1.0, 0.3, 2.2, 0.9])
            .unwrap();
        let fine_gray = FineGray::new("Surv(t, s) ~ x", 1, 0).unwrap().fit(&frame).unwrap();
        let cox = crate::CoxPh::new("Surv(t, s) ~ x").unwrap().ties(crate::Ties::Breslow).fit(&frame).unwrap();
        assert!((fine_gray.coefficients[0].estimate - cox.coef()[0]).abs() < 1e-10);
        assert!(FineGray::new("Surv(t, s) ~ x", 0, 0).is_err());
        let err = FineGray::new("Surv(t, s) ~ x", 3, 0).unwrap().fit(&frame).unwrap_err();
        assert!(err.to_string().contains("no event of cause 3"), "{err}");
    }
}
