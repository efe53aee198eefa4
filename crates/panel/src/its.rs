//! Interrupted time series: segmented regression around one or more interruptions (a system
//! shock, new legislation), with Newey–West errors for serially correlated residuals
//! (Wagner et al. 2002; Bernal, Cummins & Gasparrini 2017).
//!
//! For breaks $b_1 < \dots < b_m$ the model is
//! $g(\mathrm{E}\,y_t) = \beta_0 + \beta_1 t + \sum_k \bigl(\lambda_k\,\mathbb 1[t \ge b_k] +
//! \delta_k\,(t - b_k + 1)\,\mathbb 1[t \ge b_k]\bigr) + o_t$: $\lambda_k$ is the change in level
//! at $b_k$ and $\delta_k$ the change in slope after it (the first period on or after the break
//! counts 1). Gaussian (identity link) or Poisson (log link, offset $\log$ population: rates).
//! The counterfactual is the pre-interruption trend $\beta_0 + \beta_1 t + o_t$ carried on.
//! Standard errors are Newey–West with the lag given, rows in time order; equal to
//! `glm(...)` with `sandwich::NeweyWest(fit, lag, prewhite = FALSE)` on the reference case
//! `its_s47_gaussian_hac`.

use crate::error::{Error, Result};
use crate::fixed_effects::{
    fit_fixed_effects, FixedEffectCodes, FixedEffectsControl, FixedEffectsData, FixedEffectsFamily, FixedEffectsFit,
    Vcov,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::masked::Masked;
use strata_core::numerics::Matrix;
use strata_core::results::{normal_quantile, significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::DataFrame;

/// The segmented design: intercept, time, and per break a level step and a slope change. Term
/// names are `time_name`, `post` and `since` for one break, `post1`, `since1`, … for several.
pub fn segmented_design(time: &[f64], breaks: &[f64], time_name: &str) -> (Matrix, Vec<String>) {
    let n = time.len();
    let mut names = vec!["(Intercept)".to_string(), time_name.to_string()];
    for k in 1..=breaks.len() {
        let suffix = if breaks.len() == 1 { String::new() } else { k.to_string() };
        names.push(format!("post{suffix}"));
        names.push(format!("since{suffix}"));
    }
    let x = Matrix::from_fn(n, names.len(), |i, j| match j {
        0 => 1.0,
        1 => time[i],
        _ => {
            let b = breaks[(j - 2) / 2];
            let after = time[i] >= b;
            match (after, j % 2 == 0) {
                (false, _) => 0.0,
                (true, true) => 1.0,
                (true, false) => time[i] - b + 1.0,
            }
        }
    });
    (x, names)
}

/// The change at one interruption, with 95% Newey–West intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakEffect {
    /// Where the interruption falls on the time axis.
    pub at: f64,
    /// The change in level λ (log rate ratio for Poisson).
    pub level_change: f64,
    /// Its lower limit.
    pub level_lower: f64,
    /// Its upper limit.
    pub level_upper: f64,
    /// The change in slope δ per period.
    pub slope_change: f64,
    /// Its lower limit.
    pub slope_lower: f64,
    /// Its upper limit.
    pub slope_upper: f64,
}

/// One period of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The time.
    pub time: f64,
    /// The outcome.
    pub observed: f64,
    /// The fitted mean.
    pub fitted: f64,
    /// The mean had the pre-interruption trend continued.
    pub counterfactual: f64,
}

/// A fitted interrupted time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterruptedTimeSeriesFit {
    /// Gaussian or Poisson.
    pub family: FixedEffectsFamily,
    /// The Newey–West lag.
    pub lag: usize,
    /// The coefficient table with Newey–West standard errors.
    pub coefficients: Vec<Coefficient>,
    /// The change at each interruption.
    pub breaks: Vec<BreakEffect>,
    /// Observed, fitted and counterfactual values, in time order.
    pub series: Vec<SeriesPoint>,
    /// Periods used.
    pub n_obs: usize,
    /// The regression underneath.
    pub fit: FixedEffectsFit,
}

/// The segmented regression's coefficients with their Newey–West covariance (its
/// [`FixedEffectsFit`]'s answers).
impl FittedModel for InterruptedTimeSeriesFit {
    fn coef(&self) -> &[f64] {
        self.fit.coef()
    }

    fn coef_names(&self) -> &[String] {
        self.fit.coef_names()
    }

    fn vcov(&self) -> &Matrix {
        self.fit.vcov()
    }

    fn log_likelihood(&self) -> Option<f64> {
        self.fit.log_likelihood()
    }

    fn nobs(&self) -> usize {
        self.fit.nobs()
    }

    fn n_parameters(&self) -> usize {
        self.fit.n_parameters()
    }
}

/// Fits the segmented regression to a series in time order: `time` strictly increasing,
/// `offset` (Poisson only) added to the linear predictor.
///
/// # Examples
/// ```
/// use strata_panel::its::fit_interrupted_time_series;
/// use strata_panel::fixed_effects::FixedEffectsFamily;
/// let time: Vec<f64> = (1..=24).map(f64::from).collect();
/// let y: Vec<f64> = time.iter().map(|&t| 10.0 + 0.2 * t + if t >= 13.0 { 3.0 + 0.5 * (t - 12.0) } else { 0.0 } + 0.1 * (t * 1.7).sin()).collect();
/// let its = fit_interrupted_time_series(&time, &y, None, &[13.0], FixedEffectsFamily::Gaussian, 3)?;
/// assert!((its.breaks[0].level_change - 3.0).abs() < 0.2 && (its.breaks[0].slope_change - 0.5).abs() < 0.05);
/// # Ok::<(), strata_panel::Error>(())
/// ```
///
/// # Errors
/// Times not strictly increasing, a break without two periods on each side, non-finite values,
/// or a failed fit.
pub fn fit_interrupted_time_series(
    time: &[f64],
    y: &[f64],
    offset: Option<&[f64]>,
    breaks: &[f64],
    family: FixedEffectsFamily,
    lag: usize,
) -> Result<InterruptedTimeSeriesFit> {
    let time_name = "time";
    if let Some(i) = time.windows(2).position(|w| !(w[1] > w[0])) {
        return Err(Error::Specification(format!(
            "`{time_name}` must increase strictly: {} is followed by {} (one series, one row per period, in time order)",
            time[i],
            time[i + 1]
        )));
    }
    if breaks.is_empty() {
        return Err(Error::Specification("give at least one break point".into()));
    }
    let mut edges = vec![f64::NEG_INFINITY];
    edges.extend(breaks);
    edges.push(f64::INFINITY);
    for (k, w) in edges.windows(2).enumerate() {
        let count = time.iter().filter(|&&t| t >= w[0] && t < w[1]).count();
        if !(w[1] > w[0]) || count < 2 {
            return Err(Error::Specification(format!(
                "the breaks must increase and leave at least two periods in every segment; segment {} has {count}",
                k + 1
            )));
        }
    }
    let (x, names) = segmented_design(time, breaks, time_name);
    let fe = FixedEffectCodes::new(Vec::new())?;
    let data = FixedEffectsData { y, x: &x, names: &names, fixed_effects: &fe, weights: None, offset };
    let fit = fit_fixed_effects(&data, family, &Vcov::NeweyWest { lag }, &FixedEffectsControl::default())?;
    if !fit.collinear.is_empty() {
        return Err(Error::Specification(format!("the segmented design is singular: {}", fit.collinear.join(", "))));
    }
    let std_errors: Vec<f64> = fit.covariance.diag().into_iter().map(f64::sqrt).collect();
    let statistic = match family {
        FixedEffectsFamily::Gaussian => Statistic::T(fit.df_t),
        FixedEffectsFamily::Poisson => Statistic::Z,
    };
    let table = CoefTable::new(&fit.names, &fit.coefficients, &std_errors, statistic);
    let z = normal_quantile(0.975);
    let interval = |j: usize| (fit.coefficients[j] - z * std_errors[j], fit.coefficients[j] + z * std_errors[j]);
    let effects = breaks
        .iter()
        .enumerate()
        .map(|(k, &at)| {
            let (level, slope) = (2 + 2 * k, 3 + 2 * k);
            BreakEffect {
                at,
                level_change: fit.coefficients[level],
                level_lower: interval(level).0,
                level_upper: interval(level).1,
                slope_change: fit.coefficients[slope],
                slope_lower: interval(slope).0,
                slope_upper: interval(slope).1,
            }
        })
        .collect();
    let inverse_link = |eta: f64| if family == FixedEffectsFamily::Poisson { eta.exp() } else { eta };
    let series = (0..time.len())
        .map(|i| SeriesPoint {
            time: time[i],
            observed: y[i],
            fitted: fit.fitted[i],
            counterfactual: inverse_link(
                fit.coefficients[0] + fit.coefficients[1] * time[i] + offset.map_or(0.0, |o| o[i]),
            ),
        })
        .collect();
    Ok(InterruptedTimeSeriesFit { family, lag, coefficients: table.rows, breaks: effects, series, n_obs: y.len(), fit })
}

/// An interrupted time series on a data frame: outcome and time columns, break points, family,
/// the population column whose log is a Poisson offset, and the Newey–West lag.
#[derive(Debug, Clone, PartialEq)]
pub struct InterruptedTimeSeries {
    outcome: String,
    time: String,
    breaks: Vec<f64>,
    family: FixedEffectsFamily,
    population: Option<String>,
    lag: usize,
}

impl InterruptedTimeSeries {
    /// A Gaussian segmented regression of `outcome` on `time` with interruptions at `breaks`
    /// and Newey–West lag `lag`.
    pub fn new(outcome: &str, time: &str, breaks: &[f64], lag: usize) -> Self {
        Self {
            outcome: outcome.into(),
            time: time.into(),
            breaks: breaks.to_vec(),
            family: FixedEffectsFamily::Gaussian,
            population: None,
            lag,
        }
    }

    /// A Poisson model of counts, with `log(population)` as offset if a population column is
    /// given (a model of rates).
    #[must_use]
    pub fn poisson(mut self, population: Option<&str>) -> Self {
        self.family = FixedEffectsFamily::Poisson;
        self.population = population.map(String::from);
        self
    }

    /// Fits the model on the rows where outcome, time (and population) are present, sorted
    /// by time.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_panel::its::InterruptedTimeSeries;
    /// // A monthly series that steps up by 5 and steepens by 0.5 a month from month 12.
    /// let month: Vec<f64> = (0..24).map(f64::from).collect();
    /// let rate: Vec<f64> = month
    ///     .iter()
    ///     .map(|&t| 20.0 + 0.2 * t + if t >= 12.0 { 5.0 + 0.5 * (t - 12.0) } else { 0.0 } + 0.1 * (t * 1.7).sin())
    ///     .collect();
    /// let frame = DataFrame::new().with_floats("month", &month)?.with_floats("rate", &rate)?;
    /// let fit = InterruptedTimeSeries::new("rate", "month", &[12.0], 2).fit(&frame)?;
    /// assert!((fit.breaks[0].level_change - 5.0).abs() < 0.5);
    /// assert!((fit.breaks[0].slope_change - 0.5).abs() < 0.1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Unknown or non-numeric columns, repeated times, a non-positive population, and the
    /// errors of [`fit_interrupted_time_series`].
    pub fn fit(&self, frame: &DataFrame) -> Result<InterruptedTimeSeriesFit> {
        let time = frame.numbers(&self.time)?;
        let y = frame.numbers(&self.outcome)?;
        let population = self.population.as_ref().map(|p| frame.numbers(p)).transpose()?;
        let mut rows: Vec<usize> = (0..frame.nrows())
            .filter(|&i| {
                !time.is_missing(i) && !y.is_missing(i) && population.as_ref().is_none_or(|p| !p.is_missing(i))
            })
            .collect();
        rows.sort_by(|&a, &b| time.values()[a].total_cmp(&time.values()[b]));
        let take = |values: &Masked<f64>| rows.iter().map(|&i| values.values()[i]).collect::<Vec<f64>>();
        let (t, outcome) = (take(&time), take(&y));
        if let Some(repeated) = t.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]) {
            return Err(Error::Specification(format!(
                "`{}` has the time {repeated} more than once: an interrupted time series takes one series (aggregate first)",
                self.time
            )));
        }
        let offset = match &population {
            Some(p) => {
                let values = take(p);
                if let Some(k) = values.iter().position(|v| !(*v > 0.0)) {
                    return Err(Error::Core(strata_core::Error::InvalidValue {
                        name: self.population.clone().unwrap_or_default(),
                        row: rows[k] + 1,
                        value: values[k].to_string(),
                        reason: "a population must be positive".into(),
                    }));
                }
                Some(values.iter().map(|v| v.ln()).collect::<Vec<f64>>())
            }
            None => None,
        };
        let mut fit = fit_interrupted_time_series(&t, &outcome, offset.as_deref(), &self.breaks, self.family, self.lag)
            .map_err(|e| match e {
                Error::NonFinite { row, value, name } => {
                    Error::NonFinite { name, row: rows.get(row - 1).map_or(row, |r| r + 1), value }
                }
                Error::Specification(message) => {
                    Error::Specification(message.replacen("`time`", &format!("`{}`", self.time), 1))
                }
                other => other,
            })?;
        // The slope on time takes the column's name, as R names it.
        fit.coefficients[1].term.clone_from(&self.time);
        fit.fit.names[1].clone_from(&self.time);
        Ok(fit)
    }
}

impl fmt::Display for InterruptedTimeSeriesFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.family {
            FixedEffectsFamily::Gaussian => "Gaussian",
            FixedEffectsFamily::Poisson => "Poisson (log link)",
        };
        writeln!(f, "Interrupted time series: {kind} segmented regression, {} periods", self.n_obs)?;
        writeln!(f, "Standard errors: Newey-West, lag {}, no prewhitening\n", self.lag)?;
        let statistic = match self.family {
            FixedEffectsFamily::Gaussian => Statistic::T(self.fit.df_t),
            FixedEffectsFamily::Poisson => Statistic::Z,
        };
        writeln!(f, "{}\n", CoefTable { rows: self.coefficients.clone(), statistic })?;
        let ratio = self.family == FixedEffectsFamily::Poisson;
        for b in &self.breaks {
            let show = |v: f64| significant(if ratio { v.exp() } else { v }, 4);
            writeln!(
                f,
                "At {}: level change {} ({} to {}){}, slope change {} ({} to {}){}",
                b.at,
                show(b.level_change),
                show(b.level_lower),
                show(b.level_upper),
                if ratio { " as a rate ratio" } else { "" },
                show(b.slope_change),
                show(b.slope_lower),
                show(b.slope_upper),
                if ratio { " per period" } else { "" }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_counts_the_first_period_after_a_break_as_one() {
        let (x, names) = segmented_design(&[1.0, 2.0, 3.0, 4.0], &[3.0], "month");
        assert_eq!(names, ["(Intercept)", "month", "post", "since"]);
        assert_eq!(x.column(2), [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(x.column(3), [0.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn bad_series_are_refused() {
        let t = [1.0, 2.0, 2.0, 3.0];
        let error =
            fit_interrupted_time_series(&t, &[1.0; 4], None, &[2.0], FixedEffectsFamily::Gaussian, 1).unwrap_err();
        assert!(error.to_string().contains("increase strictly"), "{error}");
        let t = [1.0, 2.0, 3.0, 4.0, 5.0];
        let error =
            fit_interrupted_time_series(&t, &[1.0, 2.0, 3.0, 5.0, 4.0], None, &[5.0], FixedEffectsFamily::Gaussian, 1)
                .unwrap_err();
        assert!(error.to_string().contains("segment 2 has 1"), "{error}");
    }
}
