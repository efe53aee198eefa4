//! The Cox engine on arrays: times, events, strata, weights, offsets and a design matrix in,
//! the fit by Newton–Raphson on the partial likelihood out.

use super::concordance;
use super::fit::CoxFit;
use super::likelihood::{CoxProblem, RiskSets};
use super::residuals::SweepData;
use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::Arc;
use strata_core::design::ModelMatrix;
use strata_core::numerics::{aliased_columns, aliased_in_gram, Cholesky, Convergence, Matrix};
use strata_core::parallel::{fill, for_each_part_of_rows, gather, threads};
use strata_core::{Warning, WarningKind};

/// How tied event times are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ties {
    /// Efron's approximation (R's default).
    Efron,
    /// Breslow's approximation.
    Breslow,
}

/// Numerical control of the Newton–Raphson iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoxControl {
    /// Convergence when the relative change in the log partial likelihood falls below this.
    pub epsilon: f64,
    /// Iteration limit.
    pub max_iterations: usize,
}

impl Default for CoxControl {
    fn default() -> Self {
        Self { epsilon: 1e-12, max_iterations: 50 }
    }
}

/// The formula-free part of a Cox model — the handling of ties and the numerical control — and
/// the engine under every formula: [`CoxEngine::fit`] fits plain arrays (covariates, times,
/// events, strata, weights, offsets, clusters), as survival's `coxph.fit` does, and
/// [`CoxPh::fit`](super::CoxPh::fit) evaluates a `Surv(...) ~ ...` formula on a data frame and hands the arrays to it.
///
/// # Examples
/// ```
/// use strata_core::{numerics::Matrix, results::FittedModel};
/// use strata_pathways::cox::{CoxArrays, CoxEngine};
/// let age = [50.0, 61.0, 45.0, 70.0, 66.0, 58.0, 49.0, 73.0];
/// let time = [10.0, 4.0, 12.0, 3.0, 5.0, 8.0, 11.0, 2.0];
/// let event = [false, true, false, true, true, true, false, true];
/// let x = Matrix::from_column_major(8, 1, age.to_vec());
/// let fit = CoxEngine::new().fit(&CoxArrays::new(&x, &time, &event))?;
/// assert!(fit.coef()[0] > 0.0);
/// # Ok::<(), strata_pathways::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoxEngine {
    ties: Ties,
    control: CoxControl,
}

impl Default for CoxEngine {
    fn default() -> Self {
        Self::new()
    }
}

/// Survival data and covariates as plain arrays, all on the same n rows: the input of
/// [`CoxEngine::fit`].
#[derive(Debug, Clone, Copy)]
pub struct CoxArrays<'a> {
    /// The covariates, n × p (no intercept: the baseline hazard absorbs it).
    pub x: &'a Matrix,
    /// Their names (`x1`, `x2`, … when absent).
    pub names: Option<&'a [String]>,
    /// Event or censoring times (the `stop` of counting-process data).
    pub time: &'a [f64],
    /// Whether each row ended in the event.
    pub event: &'a [bool],
    /// Entry times of counting-process data `(start, stop]`.
    pub start: Option<&'a [f64]>,
    /// Stratum codes `0..k`, each stratum with its own baseline hazard.
    pub strata: Option<&'a [u32]>,
    /// Case weights.
    pub weights: Option<&'a [f64]>,
    /// Offsets, added to the linear predictor.
    pub offset: Option<&'a [f64]>,
    /// Cluster codes: robust (sandwich) standard errors clustered on them.
    pub cluster: Option<&'a [u32]>,
}

impl<'a> CoxArrays<'a> {
    /// Covariates, times and events.
    pub fn new(x: &'a Matrix, time: &'a [f64], event: &'a [bool]) -> Self {
        Self { x, names: None, time, event, start: None, strata: None, weights: None, offset: None, cluster: None }
    }

    /// Names the covariates.
    #[must_use]
    pub fn names(self, names: &'a [String]) -> Self {
        Self { names: Some(names), ..self }
    }

    /// Entry times (counting-process data).
    #[must_use]
    pub fn start(self, start: &'a [f64]) -> Self {
        Self { start: Some(start), ..self }
    }

    /// Stratum codes.
    #[must_use]
    pub fn strata(self, strata: &'a [u32]) -> Self {
        Self { strata: Some(strata), ..self }
    }

    /// Case weights.
    #[must_use]
    pub fn weights(self, weights: &'a [f64]) -> Self {
        Self { weights: Some(weights), ..self }
    }

    /// Offsets.
    #[must_use]
    pub fn offset(self, offset: &'a [f64]) -> Self {
        Self { offset: Some(offset), ..self }
    }

    /// Cluster codes for robust standard errors.
    #[must_use]
    pub fn cluster(self, cluster: &'a [u32]) -> Self {
        Self { cluster: Some(cluster), ..self }
    }
}

/// A Cox model's data on its complete rows, from a formula or from arrays.
pub(super) struct Prepared {
    pub(super) design: ModelMatrix,
    pub(super) data: crate::survival::SurvivalData,
    pub(super) offset: Vec<f64>,
    /// Cluster codes in the rows' order.
    pub(super) cluster: Option<Vec<u32>>,
    pub(super) formula: String,
    pub(super) terms: Option<strata_core::formula::Terms>,
    pub(super) levels: Vec<(String, Vec<String>)>,
}

impl CoxEngine {
    /// Efron's ties and the default control, as `coxph`.
    pub fn new() -> Self {
        Self { ties: Ties::Efron, control: CoxControl::default() }
    }

    /// The handling of ties.
    #[must_use]
    pub fn ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }

    /// Numerical control.
    #[must_use]
    pub fn control(mut self, control: CoxControl) -> Self {
        self.control = control;
        self
    }

    /// Fits the model to plain arrays, checked as the formula path checks its columns.
    ///
    /// # Errors
    /// Arrays of different lengths, non-finite values, negative times (or entries not before
    /// exits), negative weights, no events, no covariates, or a singular information matrix.
    pub fn fit(&self, arrays: &CoxArrays<'_>) -> Result<CoxFit> {
        use strata_core::arrays::{column_names, finite_columns, same_length};
        let (n, p) = (arrays.x.nrows(), arrays.x.ncols());
        same_length("time", Some(arrays.time.len()), n)?;
        same_length("event", Some(arrays.event.len()), n)?;
        same_length("start", arrays.start.map(<[f64]>::len), n)?;
        same_length("strata", arrays.strata.map(<[u32]>::len), n)?;
        same_length("weights", arrays.weights.map(<[f64]>::len), n)?;
        same_length("offset", arrays.offset.map(<[f64]>::len), n)?;
        same_length("cluster", arrays.cluster.map(<[u32]>::len), n)?;
        let names = column_names(arrays.names, arrays.x)?;
        finite_columns(arrays.x, &names)?;
        let invalid = |row: usize, reason: String| Error::InvalidSurvival { row: row + 1, reason };
        for (i, &t) in arrays.time.iter().enumerate() {
            let entry = arrays.start.map(|s| s[i]);
            if !t.is_finite() || entry.is_some_and(|e| !e.is_finite()) {
                return Err(invalid(i, "times must be finite".into()));
            }
            match entry {
                Some(e) if e >= t => return Err(invalid(i, format!("start {e} is not before stop {t}"))),
                Some(_) => {}
                None => crate::survival::check_time(t, i)?,
            }
        }
        let weights = arrays.weights.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
        if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(invalid(i, "weights must be finite and not negative".into()));
        }
        let offset = arrays.offset.map_or_else(|| vec![0.0; n], <[f64]>::to_vec);
        if let Some(i) = offset.iter().position(|o| !o.is_finite()) {
            return Err(invalid(i, "offsets must be finite".into()));
        }
        let strata = arrays.strata.map_or_else(|| vec![0; n], <[u32]>::to_vec);
        let n_strata = strata.iter().max().map_or(1, |&s| s as usize + 1);
        let strata_labels = if n_strata == 1 {
            vec!["all".to_string()]
        } else {
            (0..n_strata).map(|s| format!("stratum={s}")).collect()
        };
        let data = crate::survival::SurvivalData {
            start: arrays.start.map(<[f64]>::to_vec),
            stop: arrays.time.to_vec(),
            event: arrays.event.to_vec(),
            weights,
            strata,
            strata_labels,
            rows: (0..n).collect(),
        };
        if data.n_events() == 0 {
            return Err(Error::NoEvents(n));
        }
        let design = ModelMatrix { matrix: arrays.x.clone(), names, assign: (0..p).map(Some).collect() };
        self.fit_prepared(Prepared {
            design,
            data,
            offset,
            cluster: arrays.cluster.map(<[u32]>::to_vec),
            formula: "coxph.fit(x, Surv(time, event))".into(),
            terms: None,
            levels: Vec::new(),
        })
    }

    /// Fits prepared data: the one path of both front ends.
    pub(super) fn fit_prepared(&self, model: Prepared) -> Result<CoxFit> {
        let Prepared { design, data, offset, cluster, formula, terms, levels } = model;
        let data = &data;
        // The Gram matrix and the column sums in one pass on every thread: the aliasing check
        // reads the first (as `aliased_columns` does, with its QR where the Gram matrix cannot
        // decide), the centring the second.
        let (gram, sums, []) = design.matrix.crossprod_prepared([], true, threads(), |_, [], w, z| {
            w.fill(1.0);
            z.fill(1.0);
            []
        });
        let flags = aliased_in_gram(&gram, 1e-7).unwrap_or_else(|| aliased_columns(&design.matrix, 1e-7));
        let aliased: Vec<String> =
            design.names.iter().zip(&flags).filter(|(_, a)| **a).map(|(n, _)| n.clone()).collect();
        let design = if aliased.is_empty() { design } else { design.without(&flags) };
        let p = design.names.len();
        if p == 0 {
            return Err(Error::Specification("the Cox model needs at least one covariate".into()));
        }
        // Centre the covariates (the partial likelihood does not change) for stable exponentials.
        let n = data.len();
        let means: Vec<f64> = sums.iter().zip(&flags).filter(|(_, a)| !**a).map(|(s, _)| s / n as f64).collect();
        // Put the observations in sweep order (by stratum, then decreasing time) once, so that
        // every evaluation reads the covariates sequentially.
        let unordered =
            RiskSets::new(data.start.as_deref(), &data.stop, &data.event, &data.strata, data.strata_labels.len());
        let order = unordered.order();
        // A constant array (no offset, no weights) is the same in any order: only written.
        let permute = |v: &[f64]| match v.first() {
            Some(&first) if v.iter().all(|&x| x.to_bits() == first.to_bits()) => vec![first; v.len()],
            _ => gather(v, &order, threads()),
        };
        // Each observation's row is written where the sweep reads it: every thread reads the
        // model matrix in order and keeps the rows that fall in its part (a random read of each
        // covariate instead took 3.5 times as long).
        let mut position = vec![0; n];
        for (k, &i) in order.iter().enumerate() {
            position[i] = k;
        }
        let mut rows = vec![0.0; n * p];
        for_each_part_of_rows(&mut rows, p, threads(), |first, part| {
            let last = first + part.len() / p;
            for (i, &k) in position.iter().enumerate() {
                if (first..last).contains(&k) {
                    let row = &mut part[(k - first) * p..(k - first + 1) * p];
                    for (j, (r, m)) in row.iter_mut().zip(&means).enumerate() {
                        *r = design.matrix[(i, j)] - m;
                    }
                }
            }
        });
        // The covariates are read from `rows` from here on: the model matrix goes.
        let ModelMatrix { names, matrix, .. } = design;
        drop(matrix);
        let (offset, weights, stop) = (permute(&offset), permute(&data.weights), permute(&data.stop));
        let start = data.start.as_deref().map(permute);
        let strata = if data.strata_labels.len() == 1 { vec![0; n] } else { gather(&data.strata, &order, threads()) };
        let event = gather(&data.event, &order, threads());
        let risk_sets = unordered.in_sweep_order(start.as_deref());
        drop(unordered);
        let problem = CoxProblem {
            rows: &rows,
            p,
            offset: &offset,
            weights: &weights,
            start: start.as_deref(),
            stop: &stop,
            event: &event,
            ties: self.ties,
            risk_sets: &risk_sets,
        };
        let mut beta = vec![0.0; p];
        let null = problem.evaluate(&beta);
        let null_chol = Cholesky::new(&null.information).map_err(|_| {
            Error::Fit("the information matrix at β = 0 is singular (a covariate constant within strata?)".into())
        })?;
        let score_test: f64 = null.score.iter().zip(null_chol.solve(&null.score)).map(|(a, b)| a * b).sum();
        let mut current = null.clone();
        let mut converged = false;
        let mut iterations = 0;
        let mut halvings = 0;
        while iterations < self.control.max_iterations {
            iterations += 1;
            let chol = Cholesky::new(&current.information)
                .map_err(|_| Error::Fit("the information matrix became singular".into()))?;
            let step = chol.solve(&current.score);
            let mut scale = 1.0;
            let (next_beta, next) = loop {
                let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
                let evaluation = problem.evaluate(&trial);
                if evaluation.log_likelihood.is_finite()
                    && evaluation.log_likelihood >= current.log_likelihood - 1e-10 * current.log_likelihood.abs()
                {
                    break (trial, evaluation);
                }
                scale /= 2.0;
                halvings += 1;
                if scale < 1e-10 {
                    return Err(Error::Fit("step-halving could not increase the partial likelihood".into()));
                }
            };
            let change =
                (next.log_likelihood - current.log_likelihood).abs() / current.log_likelihood.abs().max(1e-300);
            beta = next_beta;
            current = next;
            if change < self.control.epsilon {
                converged = true;
                break;
            }
        }
        let chol = Cholesky::new(&current.information)
            .map_err(|_| Error::Fit("the information matrix at the estimate is singular".into()))?;
        let naive_covariance = chol.inverse();
        let sweep = Arc::new(SweepData {
            order: order.clone(),
            rows,
            p,
            means,
            offset,
            weights,
            start,
            stop,
            event,
            strata,
            n_strata: data.strata_labels.len(),
            ties: self.ties,
        });
        let cluster_codes = cluster.as_ref().map(|codes| gather(codes, &order, threads()));
        let covariance = match &cluster_codes {
            Some(codes) => sweep.robust(&beta, &naive_covariance, Some(codes)),
            None => naive_covariance.clone(),
        };
        let wald_test = current.information.quadratic_form(&beta, &beta);
        let mut warnings = Vec::new();
        if !aliased.is_empty() {
            warnings.push(Warning::new(
                WarningKind::Aliased,
                format!("coefficients not estimable (aliased): {}", aliased.join(", ")),
            ));
        }
        if let Some(j) =
            beta.iter().zip(covariance.diag()).position(|(b, v)| b.abs() > 10.0 && v.sqrt() > 5.0 * b.abs())
        {
            warnings.push(Warning::new(
                WarningKind::Separation,
                format!("`{}` may be infinite: the partial likelihood is monotone (an event-free group?)", names[j]),
            ));
        }
        if !converged {
            warnings.push(Warning::new(
                WarningKind::NotConverged,
                format!("Newton–Raphson did not converge in {iterations} iterations"),
            ));
        }
        let mut linear_predictor = vec![0.0; n];
        fill(&mut linear_predictor, threads(), |i| {
            sweep.rows[i * p..(i + 1) * p].iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>() + sweep.offset[i]
        });
        let concordance = concordance::concordance(
            &linear_predictor,
            &sweep.weights,
            sweep.start.as_deref(),
            &sweep.stop,
            &sweep.event,
            &risk_sets,
        )
        .value();
        Ok(CoxFit {
            formula,
            ties: self.ties,
            names,
            coefficients: beta,
            covariance,
            log_likelihood: current.log_likelihood,
            null_log_likelihood: null.log_likelihood,
            score_test,
            wald_test,
            concordance,
            n_obs: n,
            n_events: data.n_events(),
            aliased,
            naive_covariance,
            clustered: cluster_codes.is_some(),
            rows: data.rows.clone(),
            sweep,
            strata_labels: data.strata_labels.clone(),
            terms,
            levels,
            convergence: Convergence {
                optimizer: "Newton-Raphson".into(),
                converged,
                iterations,
                evaluations: iterations + halvings + 1,
                objective: current.log_likelihood,
                gradient_norm: Some(current.score.iter().map(|g| g.abs()).fold(0.0, f64::max)),
                message: if converged {
                    "relative change in the log partial likelihood below tolerance".into()
                } else {
                    "iteration limit reached".into()
                },
                warnings,
            },
        })
    }
}
