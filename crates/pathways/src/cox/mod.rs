//! Cox proportional-hazards regression.
//!
//! The model: $h_i(t) = h_{0s}(t)\exp(x_i^\top\beta + o_i)$ with a baseline hazard $h_{0s}$ per
//! stratum $s$, fitted by Newton–Raphson on the partial likelihood (Cox 1972) with step-halving,
//! Efron's or Breslow's handling of tied event times, case weights and offsets, and
//! counting-process `Surv(start, stop, event)` data for time-varying covariates and recurrent
//! events. Reports the likelihood-ratio, Wald and score tests and Harrell's concordance.
//!
//! Checked against `survival::coxph` on `cox_lung_efron`, `cox_lung_breslow` and
//! `cox_veteran_strata`.

mod concordance;
mod likelihood;
mod residuals;

use crate::error::{Error, Result};
use crate::survival::{StrataFrom, SurvivalModel};
use likelihood::{CoxProblem, RiskSets};
pub use residuals::ProportionalHazardsTest;
use residuals::SweepData;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use strata_core::design::ModelMatrix;
use strata_core::numerics::{aliased_columns, Cholesky, Convergence, Matrix};
use strata_core::results::{chi_squared_upper, significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::{DataFrame, Formula};
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
/// [`CoxPh::fit`] evaluates a `Surv(...) ~ ...` formula on a data frame and hands the arrays to it.
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
struct Prepared {
    design: ModelMatrix,
    data: crate::survival::SurvivalData,
    offset: Vec<f64>,
    /// Cluster codes in the rows' order.
    cluster: Option<Vec<u32>>,
    formula: String,
    terms: Option<strata_core::formula::Terms>,
    levels: Vec<(String, Vec<String>)>,
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
                None if t < 0.0 => return Err(invalid(i, format!("time {t} is negative"))),
                _ => {}
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
    fn fit_prepared(&self, model: Prepared) -> Result<CoxFit> {
        let data = &model.data;
        let flags = aliased_columns(&model.design.matrix, 1e-7);
        let aliased: Vec<String> =
            model.design.names.iter().zip(&flags).filter(|(_, a)| **a).map(|(n, _)| n.clone()).collect();
        let design = model.design.without(&flags);
        let p = design.names.len();
        if p == 0 {
            return Err(Error::Specification("the Cox model needs at least one covariate".into()));
        }
        // Centre the covariates (the partial likelihood does not change) for stable exponentials.
        let n = data.len();
        let means: Vec<f64> = (0..p).map(|j| design.matrix.column(j).iter().sum::<f64>() / n as f64).collect();
        // Put the observations in sweep order (by stratum, then decreasing time) once, so that
        // every evaluation reads the covariates sequentially.
        let order =
            RiskSets::new(data.start.as_deref(), &data.stop, &data.event, &data.strata, data.strata_labels.len())
                .order();
        let permute = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let rows: Vec<f64> = order
            .iter()
            .flat_map(|&i| (0..p).map(move |j| (i, j)))
            .map(|(i, j)| design.matrix[(i, j)] - means[j])
            .collect();
        let (offset, weights, stop) = (permute(&model.offset), permute(&data.weights), permute(&data.stop));
        let start = data.start.as_deref().map(permute);
        let event: Vec<bool> = order.iter().map(|&i| data.event[i]).collect();
        let strata: Vec<u32> = order.iter().map(|&i| data.strata[i]).collect();
        let risk_sets = RiskSets::new(start.as_deref(), &stop, &event, &strata, data.strata_labels.len());
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
        let cluster_codes = model.cluster.as_ref().map(|codes| order.iter().map(|&i| codes[i]).collect::<Vec<u32>>());
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
                format!(
                    "`{}` may be infinite: the partial likelihood is monotone (an event-free group?)",
                    design.names[j]
                ),
            ));
        }
        if !converged {
            warnings.push(Warning::new(
                WarningKind::NotConverged,
                format!("Newton–Raphson did not converge in {iterations} iterations"),
            ));
        }
        let linear_predictor: Vec<f64> = (0..n)
            .map(|i| {
                sweep.rows[i * p..(i + 1) * p].iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>() + sweep.offset[i]
            })
            .collect();
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
            formula: model.formula,
            ties: self.ties,
            names: design.names.clone(),
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
            terms: model.terms,
            levels: model.levels,
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

/// A Cox model specification: a `Surv(...) ~ covariates [+ strata(s)] [+ cluster(c)]` formula,
/// case weights, and the [`CoxEngine`] that fits it.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxPh {
    formula: Formula,
    weights: Option<String>,
    engine: CoxEngine,
}

impl CoxPh {
    /// A Cox model of `Surv(...) ~ covariates [+ strata(s)]` with Efron ties.
    ///
    /// # Errors
    /// A formula error.
    pub fn new(formula: &str) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        Ok(Self { formula, weights: None, engine: CoxEngine::new() })
    }

    /// The handling of ties.
    #[must_use]
    pub fn ties(mut self, ties: Ties) -> Self {
        self.engine = self.engine.ties(ties);
        self
    }

    /// Case weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Numerical control.
    #[must_use]
    pub fn control(mut self, control: CoxControl) -> Self {
        self.engine = self.engine.control(control);
        self
    }

    /// Fits the model: evaluates the formula on `frame` and fits its arrays.
    ///
    /// # Errors
    /// Invalid survival data, no events, no covariates, or a singular information matrix.
    pub fn fit(&self, frame: &DataFrame) -> Result<CoxFit> {
        let model = SurvivalModel::new(&self.formula, frame, self.weights.as_deref(), StrataFrom::Specials)?;
        // Clusters coded by their labels' sorted order.
        let cluster = model.cluster.as_ref().map(|labels| {
            let mut distinct: Vec<&String> = labels.iter().collect();
            distinct.sort();
            distinct.dedup();
            labels.iter().map(|l| distinct.binary_search(&l).expect("present") as u32).collect()
        });
        self.engine.fit_prepared(Prepared {
            design: model.x,
            data: model.data,
            offset: model.offset,
            cluster,
            formula: self.formula.text().to_string(),
            terms: Some(model.terms),
            levels: model.levels,
        })
    }
}

/// A fitted Cox model, with the data in the order it was fitted (for residuals and survival
/// curves). It serialises with serde, so it can be saved and reloaded to predict.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CoxFit {
    formula: String,
    ties: Ties,
    names: Vec<String>,
    coefficients: Vec<f64>,
    covariance: Matrix,
    log_likelihood: f64,
    null_log_likelihood: f64,
    score_test: f64,
    wald_test: f64,
    concordance: f64,
    n_obs: usize,
    n_events: usize,
    aliased: Vec<String>,
    naive_covariance: Matrix,
    clustered: bool,
    rows: Vec<usize>,
    sweep: Arc<SweepData>,
    strata_labels: Vec<String>,
    terms: Option<strata_core::formula::Terms>,
    levels: Vec<(String, Vec<String>)>,
    convergence: Convergence,
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
                let mut distinct: Vec<&String> = labels.iter().collect();
                distinct.sort();
                distinct.dedup();
                Some(
                    self.sweep
                        .order
                        .iter()
                        .map(|&i| distinct.binary_search(&&labels[i]).expect("present") as u32)
                        .collect::<Vec<u32>>(),
                )
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

/// What `summary(coxph)` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxSummary {
    /// Always `"cox"`.
    pub model: &'static str,
    /// The formula.
    pub formula: String,
    /// The tie handling.
    pub ties: Ties,
    /// The coefficient table.
    pub coefficients: Vec<Coefficient>,
    /// `exp(β)` for each coefficient.
    pub hazard_ratios: Vec<f64>,
    /// 95% Wald intervals of the hazard ratios.
    pub hazard_ratio_ci95: Vec<(f64, f64)>,
    /// With `cluster()`, the model-based standard errors (the table's are robust, as R's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naive_std_errors: Option<Vec<f64>>,
    /// Log partial likelihood at the estimate.
    pub log_likelihood: f64,
    /// Log partial likelihood at β = 0.
    pub null_log_likelihood: f64,
    /// Score (log-rank) test.
    pub score_test: f64,
    /// Wald test, rounded to two decimals as `summary.coxph` reports it.
    pub wald_test: f64,
    /// Wald test unrounded.
    pub wald_test_exact: f64,
    /// Likelihood-ratio test.
    pub lr_test: f64,
    /// p-values of the likelihood-ratio, Wald and score tests.
    pub p_values: [f64; 3],
    /// Harrell's concordance.
    pub concordance: f64,
    /// AIC.
    pub aic: f64,
    /// Observations used.
    pub n_obs: usize,
    /// Events.
    pub n_events: usize,
    /// Aliased columns.
    pub aliased: Vec<String>,
    /// Proportional-hazards tests, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportional_hazards: Option<Vec<ProportionalHazardsTest>>,
    /// How the fit ended.
    pub convergence: Convergence,
}

impl fmt::Display for CoxSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Cox proportional hazards ({:?} ties): {}", self.ties, self.formula)?;
        writeln!(f, "  n = {}, number of events = {}\n", self.n_obs, self.n_events)?;
        writeln!(f, "{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        writeln!(f, "\n{:<14} {:>10} {:>10} {:>10}", "", "exp(coef)", "lower .95", "upper .95")?;
        for ((c, hr), (low, high)) in self.coefficients.iter().zip(&self.hazard_ratios).zip(&self.hazard_ratio_ci95) {
            writeln!(
                f,
                "{:<14} {:>10} {:>10} {:>10}",
                c.term,
                significant(*hr, 5),
                significant(*low, 5),
                significant(*high, 5)
            )?;
        }
        writeln!(f, "\nConcordance = {:.3}", self.concordance)?;
        let df = self.coefficients.len();
        writeln!(f, "Likelihood ratio test = {:.2}  on {df} df,   p = {:.3e}", self.lr_test, self.p_values[0])?;
        writeln!(f, "Wald test            = {:.2}  on {df} df,   p = {:.3e}", self.wald_test, self.p_values[1])?;
        write!(f, "Score (logrank) test = {:.2}  on {df} df,   p = {:.3e}", self.score_test, self.p_values[2])?;
        if let Some(tests) = &self.proportional_hazards {
            write!(f, "\n\nProportional hazards (cox.zph, transform = \"km\"):")?;
            for t in tests {
                write!(f, "\n  {:<14} chisq {:>8.4}  df {}  p {:.4}", t.term, t.chisq, t.df, t.p_value)?;
            }
        }
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
