//! Fitting a latent class model: EM from many seeded random starts, in parallel, on collapsed
//! response patterns; the best solution with its fit criteria, posterior probabilities and
//! standard errors.

use crate::error::{Error, Result};
use crate::indicators::{Indicators, Patterns};
use crate::information::{standard_errors, StandardErrors};
use crate::measurement::{expectation, maximisation, normalise_logs, Parameters};
use serde::{Deserialize, Serialize};
use strata_core::random::Rng;
use strata_core::{Warning, WarningKind};

/// A latent class model with its fitting options (poLCA's `poLCA(cbind(...) ~ 1, nclass = K,
/// nrep = starts)`, stepmix's `StepMix(n_components = K, n_init = starts)`).
#[derive(Debug, Clone, PartialEq)]
pub struct LatentClassModel {
    classes: usize,
    starts: usize,
    seed: u64,
    tolerance: f64,
    max_iterations: usize,
    standard_errors: bool,
}

/// How the random starts ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Starts {
    /// The number of starts.
    pub n_starts: usize,
    /// How many reached the best log-likelihood (within 1e-6 of it, relative).
    pub n_best: usize,
    /// Each start's final log-likelihood, in start order.
    pub log_likelihoods: Vec<f64>,
}

/// A fitted latent class model: classes in order of decreasing size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentClassFit {
    /// The indicators' names.
    pub indicators: Vec<String>,
    /// Each indicator's levels.
    pub levels: Vec<Vec<String>>,
    /// The estimates.
    pub parameters: Parameters,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    /// Rows with at least one indicator observed.
    pub n_obs: usize,
    /// Distinct response patterns.
    pub n_patterns: usize,
    /// Free parameters.
    pub n_parameters: usize,
    /// $-2\ell + 2p$.
    pub aic: f64,
    /// $-2\ell + p \log N$.
    pub bic: f64,
    /// Sample-size-adjusted BIC, $-2\ell + p \log\frac{N + 2}{24}$ (Sclove 1987).
    pub sabic: f64,
    /// Relative entropy $1 - \sum_i\sum_k -\tau_{ik}\log\tau_{ik} / (N \log K)$: 1 when every row
    /// is classified with certainty.
    pub entropy: f64,
    /// The mean posterior probability of its class among the rows assigned to each class.
    pub average_posterior: Vec<f64>,
    /// Standard errors from the observed information, if asked for and the information is
    /// invertible.
    pub std_errors: Option<StandardErrors>,
    /// How the starts ended.
    pub starts: Starts,
    /// EM iterations of the best start.
    pub iterations: usize,
    /// Whether the best start converged.
    pub converged: bool,
    /// Warnings, as R or stepmix would print them.
    pub warnings: Vec<Warning>,
    /// Each pattern's posterior (`P × K`), kept with the fit so that a reloaded fit gives the
    /// fitted rows' posteriors.
    #[serde(default)]
    pattern_posterior: Vec<f64>,
    /// Each row's pattern.
    #[serde(default)]
    of_row: Vec<Option<usize>>,
}

/// The most classes a model may have.
pub const MAX_CLASSES: usize = 100;

/// The most random starts a fit may make.
pub const MAX_STARTS: usize = 10_000;

/// How many of the best starts are taken from the loose tolerance to the tight one.
const FINISHED: usize = 3;

/// The iteration limit of the first, loose stage of every start.
const LOOSE_ITERATIONS: usize = 1000;

/// One EM run's end.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub parameters: Parameters,
    pub log_likelihood: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// EM from `parameters` until the log-likelihood rises by less than `tolerance` per
/// observation, accelerated by SQUAREM (Varadhan and Roland 2008, scheme S3) on the logs of the
/// probabilities: two EM steps $\theta_1 = F(\theta_0)$, $\theta_2 = F(\theta_1)$ give
/// $r = \theta_1 - \theta_0$, $v = \theta_2 - 2\theta_1 + \theta_0$ and the step
/// $\theta_0 - 2\alpha r + \alpha^2 v$ with $\alpha = -\lVert r\rVert/\lVert v\rVert$ (at most −1), renormalised
/// onto the simplexes and followed by one EM step; it is kept only if the log-likelihood does not
/// fall, else the plain EM step $\theta_2$ is. Iterations count EM steps (three a cycle).
pub(crate) fn run_em(patterns: &Patterns, parameters: Parameters, tolerance: f64, max_iterations: usize) -> Run {
    let k = parameters.classes();
    let n = patterns.n_obs();
    let mut posterior = Vec::new();
    let mut current = parameters;
    let mut log_likelihood = expectation(&current, patterns, &mut posterior);
    let mut iterations = 0;
    while iterations < max_iterations {
        let first = maximisation(patterns, &posterior, k);
        let first_ll = expectation(&first, patterns, &mut posterior);
        let second = maximisation(patterns, &posterior, k);
        let second_ll = expectation(&second, patterns, &mut posterior);
        iterations += 2;
        let (theta0, theta1, theta2) = (logs(&current), logs(&first), logs(&second));
        let r: Vec<f64> = theta1.iter().zip(&theta0).map(|(a, b)| a - b).collect();
        let v: Vec<f64> = theta2.iter().zip(&theta1).zip(&r).map(|((c, b), r)| c - b - r).collect();
        let norm = |x: &[f64]| x.iter().map(|a| a * a).sum::<f64>().sqrt();
        let alpha = if norm(&v) > 0.0 { (-norm(&r) / norm(&v)).min(-1.0) } else { -1.0 };
        let (mut next, mut next_ll) = (second, second_ll);
        if alpha < -1.0 {
            let jumped: Vec<f64> =
                theta0.iter().zip(&r).zip(&v).map(|((t, r), v)| t - 2.0 * alpha * r + alpha * alpha * v).collect();
            let extrapolated = from_logs(&jumped, &next);
            let mut trial_posterior = Vec::new();
            expectation(&extrapolated, patterns, &mut trial_posterior);
            let stabilised = maximisation(patterns, &trial_posterior, k);
            let stabilised_ll = expectation(&stabilised, patterns, &mut trial_posterior);
            iterations += 1;
            if stabilised_ll >= next_ll {
                (next, next_ll) = (stabilised, stabilised_ll);
                posterior = trial_posterior;
            } else {
                expectation(&next, patterns, &mut posterior);
            }
        }
        let gain = next_ll - log_likelihood;
        current = next;
        log_likelihood = next_ll;
        if gain.abs() < tolerance * n && (first_ll - log_likelihood).abs() < 10.0 * tolerance * n {
            return Run { parameters: current, log_likelihood, iterations, converged: true };
        }
    }
    Run { parameters: current, log_likelihood, iterations, converged: false }
}

/// The logs of every probability of `parameters`, floored at 1e-300.
fn logs(parameters: &Parameters) -> Vec<f64> {
    parameters.proportions.iter().chain(parameters.items.iter().flatten()).map(|p| p.max(1e-300).ln()).collect()
}

/// Parameters shaped as `like` from logs, each simplex renormalised.
fn from_logs(values: &[f64], like: &Parameters) -> Parameters {
    let k = like.classes();
    let mut out = like.clone();
    let mut at = 0;
    let mut fill = |target: &mut [f64]| {
        target.copy_from_slice(&values[at..at + target.len()]);
        at += target.len();
        crate::measurement::normalise_logs(target);
    };
    fill(&mut out.proportions);
    for table in &mut out.items {
        let levels = table.len() / k;
        for row in table.chunks_mut(levels) {
            fill(row);
        }
    }
    out
}

/// Starting values: a random posterior for every pattern, then one M-step.
pub(crate) fn random_start(patterns: &Patterns, k: usize, rng: &mut Rng) -> Parameters {
    let mut posterior: Vec<f64> = (0..patterns.len() * k).map(|_| rng.uniform()).collect();
    for row in posterior.chunks_mut(k) {
        let total: f64 = row.iter().sum();
        for t in row.iter_mut() {
            *t /= total;
        }
    }
    maximisation(patterns, &posterior, k)
}

/// The seed of start `s` of a fit seeded `seed`: starts are independent of each other and of
/// the number of threads.
pub(crate) fn start_seed(seed: u64, s: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(s as u64 + 1)
}

impl LatentClassModel {
    /// A model of `classes` classes: 20 starts, seed 1, tolerance 1e-12 per observation,
    /// 20,000 iterations at most, standard errors. Every start runs to a tolerance of 1e-7 per
    /// observation (or 1,000 iterations); the best three continue to the tolerance asked for.
    pub fn new(classes: usize) -> Self {
        Self { classes, starts: 20, seed: 1, tolerance: 1e-12, max_iterations: 20_000, standard_errors: true }
    }

    /// The number of random starts.
    #[must_use]
    pub fn starts(mut self, starts: usize) -> Self {
        self.starts = starts;
        self
    }

    /// The seed of the starts.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Stop when the log-likelihood rises by less than this per observation.
    #[must_use]
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The iteration limit of each start.
    #[must_use]
    pub fn max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    /// Whether to compute standard errors (the observed information costs two E-steps a
    /// parameter).
    #[must_use]
    pub fn standard_errors(mut self, yes: bool) -> Self {
        self.standard_errors = yes;
        self
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The number of random starts.
    pub fn start_count(&self) -> usize {
        self.starts
    }

    /// The same options with `classes` classes.
    #[must_use]
    pub fn with_classes(&self, classes: usize) -> Self {
        Self { classes, ..self.clone() }
    }

    /// Fits the model to `indicators`.
    ///
    /// # Examples
    /// ```
    /// use strata_latent::indicators::Indicators;
    /// use strata_latent::model::LatentClassModel;
    /// // Two factors recorded at assessment (0 absent, 1 present): a group with both, a group with neither.
    /// let both = [Some(1.0), Some(1.0)];
    /// let neither = [Some(0.0), Some(0.0)];
    /// let rows: Vec<[Option<f64>; 2]> = (0..60).map(|i| if i % 3 == 0 { both } else { neither }).collect();
    /// let columns: Vec<Vec<Option<f64>>> = (0..2).map(|j| rows.iter().map(|r| r[j]).collect()).collect();
    /// let indicators = Indicators::new(&["domestic_abuse", "mental_health"], &columns)?;
    /// let fit = LatentClassModel::new(2).starts(5).fit(&indicators)?;
    /// assert_eq!(fit.n_obs, 60);
    /// assert!(fit.log_likelihood <= 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Specification`] for no classes or starts, [`Error::NoData`] when no row has an
    /// observed indicator, [`Error::TooManyClasses`] for more classes than distinct patterns.
    pub fn fit(&self, indicators: &Indicators) -> Result<LatentClassFit> {
        let patterns = Patterns::new(indicators);
        self.fit_patterns(indicators, &patterns)
    }

    pub(crate) fn fit_patterns(&self, indicators: &Indicators, patterns: &Patterns) -> Result<LatentClassFit> {
        let k = self.classes;
        if k == 0 || self.starts == 0 {
            return Err(Error::Specification("a latent class model needs at least one class and one start".into()));
        }
        if k > MAX_CLASSES || self.starts > MAX_STARTS {
            return Err(Error::Specification(format!(
                "{k} classes and {} starts asked for; at most {MAX_CLASSES} classes and {MAX_STARTS} starts",
                self.starts
            )));
        }
        if patterns.is_empty() {
            return Err(Error::NoData);
        }
        if k > patterns.len() {
            return Err(Error::TooManyClasses { classes: k, patterns: patterns.len() });
        }
        // Every start to a loose tolerance, then the best few to the tight one.
        let loose = self.tolerance.max(1e-7);
        let task = strata_core::progress::task("random starts", self.starts as u64);
        let mut runs = strata_core::parallel::map_in_order(self.starts, strata_core::parallel::threads(), |s| {
            let mut rng = Rng::new(start_seed(self.seed, s));
            let run =
                run_em(patterns, random_start(patterns, k, &mut rng), loose, self.max_iterations.min(LOOSE_ITERATIONS));
            task.advance(1);
            run
        });
        drop(task);
        let mut ranked: Vec<usize> = (0..runs.len()).collect();
        ranked.sort_by(|&a, &b| runs[b].log_likelihood.total_cmp(&runs[a].log_likelihood).then(a.cmp(&b)));
        ranked.truncate(FINISHED);
        let finished = strata_core::parallel::map_in_order(ranked.len(), strata_core::parallel::threads(), |r| {
            let run = &runs[ranked[r]];
            let more = run_em(patterns, run.parameters.clone(), self.tolerance, self.max_iterations);
            Run { iterations: run.iterations + more.iterations, ..more }
        });
        for (r, run) in ranked.iter().zip(finished) {
            runs[*r] = run;
        }
        let best_index =
            (0..runs.len()).fold(0, |b, s| if runs[s].log_likelihood > runs[b].log_likelihood { s } else { b });
        let best = &runs[best_index];
        let log_likelihoods: Vec<f64> = runs.iter().map(|r| r.log_likelihood).collect();
        let n_best = log_likelihoods
            .iter()
            .filter(|&&l| best.log_likelihood - l <= 1e-6 * best.log_likelihood.abs().max(1.0))
            .count();
        let mut warnings = Vec::new();
        if n_best == 1 && self.starts > 1 {
            warnings.push(Warning::new(WarningKind::Identification, format!(
                "the best log-likelihood ({:.4}) was reached by 1 of {} starts; it may be a local maximum — use more starts",
                best.log_likelihood, self.starts
            )));
        }
        if !best.converged {
            warnings.push(Warning::new(
                WarningKind::NotConverged,
                format!("EM did not converge in {} iterations", self.max_iterations),
            ));
        }
        // poLCA's alerts: more parameters than observations, or than the cells of the table of
        // response patterns can identify.
        let n_parameters = best.parameters.count();
        let cells = patterns.levels.iter().try_fold(1usize, |a, &r| a.checked_mul(r)).unwrap_or(usize::MAX);
        if n_parameters as f64 > patterns.n_obs() {
            warnings.push(Warning::new(
                WarningKind::Identification,
                format!("{n_parameters} parameters exceed the {} observations", patterns.n_obs()),
            ));
        }
        if n_parameters >= cells {
            warnings.push(Warning::new(WarningKind::Identification, format!(
                "{n_parameters} parameters but only {} free cells in the table of response patterns: the model is not identified (negative degrees of freedom)",
                cells - 1
            )));
        }
        let removed = patterns.of_row.iter().filter(|p| p.is_none()).count();
        if removed > 0 {
            warnings.push(Warning::new(
                WarningKind::Dropped,
                format!("{removed} row(s) with no indicator observed left out (posterior = class proportions)"),
            ));
        }
        // Classes in order of decreasing size.
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            best.parameters.proportions[b].total_cmp(&best.parameters.proportions[a]).then(a.cmp(&b))
        });
        let parameters = best.parameters.permuted(&order);
        let mut posterior = Vec::new();
        let log_likelihood = expectation(&parameters, patterns, &mut posterior);
        let std_errors = if self.standard_errors {
            match standard_errors(&parameters, patterns) {
                Ok(se) => Some(se),
                Err(e) => {
                    warnings.push(Warning::new(WarningKind::Information, format!("no standard errors: {e}")));
                    None
                }
            }
        } else {
            None
        };
        let n = patterns.n_obs();
        let p = parameters.count();
        let mut entropy_sum = 0.0;
        let mut assigned = vec![0.0; k];
        let mut assigned_posterior = vec![0.0; k];
        for (row, &count) in posterior.chunks(k).zip(&patterns.counts) {
            entropy_sum += count * row.iter().filter(|&&t| t > 0.0).map(|&t| -t * t.ln()).sum::<f64>();
            let modal = modal_class(row);
            assigned[modal] += count;
            assigned_posterior[modal] += count * row[modal];
        }
        Ok(LatentClassFit {
            indicators: indicators.names().to_vec(),
            levels: indicators.levels().to_vec(),
            n_parameters: p,
            aic: -2.0 * log_likelihood + 2.0 * p as f64,
            bic: -2.0 * log_likelihood + p as f64 * n.ln(),
            sabic: -2.0 * log_likelihood + p as f64 * ((n + 2.0) / 24.0).ln(),
            entropy: if k > 1 { 1.0 - entropy_sum / (n * (k as f64).ln()) } else { 1.0 },
            average_posterior: assigned_posterior.iter().zip(&assigned).map(|(s, a)| s / a).collect(),
            log_likelihood,
            n_obs: n as usize,
            n_patterns: patterns.len(),
            parameters,
            std_errors,
            starts: Starts { n_starts: self.starts, n_best, log_likelihoods },
            iterations: best.iterations,
            converged: best.converged,
            warnings,
            pattern_posterior: posterior,
            of_row: patterns.of_row.clone(),
        })
    }
}

/// The most probable class (the first on ties).
pub fn modal_class(posterior: &[f64]) -> usize {
    (0..posterior.len()).fold(0, |b, c| if posterior[c] > posterior[b] { c } else { b })
}

impl LatentClassFit {
    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.parameters.classes()
    }

    /// Row `i`'s posterior class probabilities (the class proportions for a row with no
    /// indicator observed).
    pub fn posterior(&self, i: usize) -> &[f64] {
        let k = self.classes();
        match self.of_row[i] {
            Some(p) => &self.pattern_posterior[p * k..(p + 1) * k],
            None => &self.parameters.proportions,
        }
    }

    /// Every row's posterior class probabilities (`n × K`, row-major).
    pub fn posteriors(&self) -> Vec<f64> {
        (0..self.of_row.len()).flat_map(|i| self.posterior(i).iter().copied()).collect()
    }

    /// Every row's most probable class (0-based).
    pub fn modal(&self) -> Vec<usize> {
        (0..self.of_row.len()).map(|i| modal_class(self.posterior(i))).collect()
    }

    /// The posterior class probabilities of new rows (stepmix's `predict_proba`; `n × K`,
    /// row-major): with $\rho_{jkr}$ the fitted probability of response $r$ to indicator $j$ in
    /// class $k$,
    /// $$P(k \mid y_i) = \frac{\pi_k \prod_{j \text{ observed}} \rho_{jk y_{ij}}}
    ///   {\sum_c \pi_c \prod_{j \text{ observed}} \rho_{jc y_{ij}}},$$
    /// a missing response left out of the product (as in the fit). `columns` hold the values of
    /// the indicators `names` (any order, others ignored; `None` or NaN missing); a row with no
    /// response gets the class proportions. Works on a reloaded fit, and on a single row.
    ///
    /// ```
    /// use strata_latent::{Indicators, LatentClassModel};
    /// let a: Vec<Option<f64>> = [0., 0., 1., 1., 0., 1., 1., 0.].map(Some).to_vec();
    /// let b: Vec<Option<f64>> = [0., 0., 1., 1., 0., 1., 0., 1.].map(Some).to_vec();
    /// let c: Vec<Option<f64>> = [0., 1., 1., 1., 0., 1., 0., 0.].map(Some).to_vec();
    /// let indicators = Indicators::new(&["a", "b", "c"], &[a, b, c])?;
    /// let fit = LatentClassModel::new(2).starts(5).fit(&indicators)?;
    /// // One new row, `b` not recorded.
    /// let new = fit.predict_proba(&["c", "b", "a"], &[vec![Some(1.0)], vec![None], vec![Some(0.0)]])?;
    /// assert!((new.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Specification`] when an indicator of the fit is not among `names`;
    /// [`Error::Length`] for columns of different lengths; [`Error::UnseenLevel`] for a value the
    /// fit has no level for.
    pub fn predict_proba<S: AsRef<str>>(&self, names: &[S], columns: &[Vec<Option<f64>>]) -> Result<Vec<f64>> {
        if names.len() != columns.len() {
            return Err(Error::Length {
                what: "the indicator names".into(),
                expected: columns.len(),
                found: names.len(),
            });
        }
        let n = columns.first().map_or(0, Vec::len);
        let mut index = Vec::with_capacity(self.indicators.len());
        for name in &self.indicators {
            let j = names.iter().position(|m| m.as_ref() == name).ok_or_else(|| {
                Error::Specification(format!("indicator `{name}` of the fitted model is not in the new data"))
            })?;
            if columns[j].len() != n {
                return Err(Error::Length {
                    what: format!("indicator `{name}`"),
                    expected: n,
                    found: columns[j].len(),
                });
            }
            index.push(j);
        }
        let k = self.classes();
        let log_proportions: Vec<f64> = self.parameters.proportions.iter().map(|p| p.ln()).collect();
        let mut out = Vec::with_capacity(n * k);
        for i in 0..n {
            let mut row = log_proportions.clone();
            for (j, (&column, levels)) in index.iter().zip(&self.levels).enumerate() {
                let Some(value) = columns[column][i].filter(|v| !v.is_nan()) else { continue };
                let label = format!("{value}");
                let r = levels.iter().position(|l| *l == label).ok_or_else(|| Error::UnseenLevel {
                    name: self.indicators[j].clone(),
                    row: i + 1,
                    value,
                })?;
                let table = &self.parameters.items[j];
                for (c, t) in row.iter_mut().enumerate() {
                    *t += table[c * levels.len() + r].ln();
                }
            }
            normalise_logs(&mut row);
            out.extend_from_slice(&row);
        }
        Ok(out)
    }

    /// The most probable class (0-based) of each new row (stepmix's `predict`); see
    /// [`LatentClassFit::predict_proba`].
    ///
    /// # Errors
    /// As [`LatentClassFit::predict_proba`].
    pub fn predict<S: AsRef<str>>(&self, names: &[S], columns: &[Vec<Option<f64>>]) -> Result<Vec<usize>> {
        let k = self.classes();
        Ok(self.predict_proba(names, columns)?.chunks(k).map(modal_class).collect())
    }
}
