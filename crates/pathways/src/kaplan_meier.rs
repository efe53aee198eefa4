//! Kaplan–Meier survival curves and Nelson–Aalen cumulative hazards.
//!
//! At each distinct time $t_j$ with $n_j$ at risk (entry $< t_j \le$ exit), $d_j$ events and
//! $c_j$ censorings: $\hat S(t) = \prod_{t_j \le t}(1 - d_j/n_j)$, Greenwood's variance
//! $\widehat{\operatorname{Var}}\{\log \hat S(t)\} = \sum_{t_j \le t} d_j / \{n_j(n_j - d_j)\}$
//! (its square root is `std_error_cumhaz`, and $\hat S$ times it is `std_error`), and the
//! Nelson–Aalen $\hat H(t) = \sum d_j/n_j$ (Kaplan & Meier 1958; Klein & Moeschberger 2003,
//! ch. 4). Intervals on the log scale (R's default), log–log or plain scale.
//!
//! Checked against `survival::survfit` on the reference case `km_lung_by_sex`.

use crate::error::Result;
use crate::survival::{StrataFrom, SurvivalData, SurvivalModel};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::ranks::whole_number_span;
use strata_core::results::normal_quantile;
use strata_core::{DataFrame, Formula};

/// The scale on which pointwise confidence intervals are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfType {
    /// `exp(log S ± z se)`, R's default.
    Log,
    /// `exp(−exp(log(−log S) ± z se / log S))`.
    LogLog,
    /// `S ± z S se`, clipped to [0, 1].
    Plain,
}

impl ConfType {
    fn name(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::LogLog => "log-log",
            Self::Plain => "plain",
        }
    }
}

/// A Kaplan–Meier specification: `Surv(time, status) ~ groups`.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanMeier {
    formula: Formula,
    conf_type: ConfType,
    conf_level: f64,
    weights: Option<String>,
}

impl KaplanMeier {
    /// Curves for each combination of the right-hand-side variables (`~ 1` for one curve).
    ///
    /// # Errors
    /// A formula error.
    pub fn new(formula: &str) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        Ok(Self { formula, conf_type: ConfType::Log, conf_level: 0.95, weights: None })
    }

    /// The interval scale.
    #[must_use]
    pub fn conf_type(mut self, conf_type: ConfType) -> Self {
        self.conf_type = conf_type;
        self
    }

    /// The interval level, e.g. 0.95.
    #[must_use]
    pub fn conf_level(mut self, level: f64) -> Self {
        self.conf_level = level;
        self
    }

    /// Case weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Estimates the curves.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_pathways::KaplanMeier;
    /// let frame = DataFrame::new()
    ///     .with_floats("time", &[2.0, 3.0, 3.0, 5.0, 7.0, 8.0])?
    ///     .with_floats("status", &[1.0, 1.0, 0.0, 1.0, 0.0, 1.0])?;
    /// let fit = KaplanMeier::new("Surv(time, status) ~ 1")?.fit(&frame)?;
    /// let curve = &fit.curves()[0];
    /// // S(2) = 5/6, S(3) = 5/6 × 4/5, S(5) = 2/3 × 2/3.
    /// assert!((curve.survival[0] - 5.0 / 6.0).abs() < 1e-12);
    /// assert!((curve.survival[2] - 4.0 / 9.0).abs() < 1e-12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Invalid survival data, unknown columns, or no events.
    pub fn fit(&self, frame: &DataFrame) -> Result<KmFit> {
        let model = SurvivalModel::new(&self.formula, frame, self.weights.as_deref(), StrataFrom::RightHandSide)?;
        Ok(self.fit_data(&model.data))
    }

    /// Estimates the curves from survival data already evaluated.
    pub fn fit_data(&self, data: &SurvivalData) -> KmFit {
        let z = normal_quantile(0.5 + self.conf_level / 2.0);
        let curves = StratumTimes::split(data)
            .into_iter()
            .zip(&data.strata_labels)
            .map(|(times, label)| curve(times, label.clone(), self.conf_type, z))
            .collect();
        KmFit {
            formula: self.formula.text().to_string(),
            conf_type: self.conf_type,
            conf_level: self.conf_level,
            curves,
        }
    }
}

/// One stratum's times with their weights: exits by an event, exits by censoring, and entries
/// (counting-process data only), each sorted by time (a time may repeat, or come once with the
/// weight of all its ties).
#[derive(Default)]
struct StratumTimes {
    events: Vec<(f64, f64)>,
    censored: Vec<(f64, f64)>,
    entries: Vec<(f64, f64)>,
}

/// Tallies by time are kept over at most this many cells beyond four per observation.
const TALLY_CELLS: usize = 1 << 16;

impl StratumTimes {
    /// Each stratum's times: tallied when they are whole numbers over a short range (days or
    /// months), else sorted.
    fn split(data: &SurvivalData) -> Vec<Self> {
        Self::tallied(data).unwrap_or_else(|| Self::sorted(data))
    }

    /// Each stratum's times, read in one pass over the observations and sorted by time (the
    /// times themselves moved, not indices into them: the sort reads memory in order).
    fn sorted(data: &SurvivalData) -> Vec<Self> {
        let mut strata: Vec<Self> = (0..data.strata_labels.len()).map(|_| Self::default()).collect();
        if let [only] = &mut strata[..] {
            let events = data.event.iter().filter(|&&e| e).count();
            only.events.reserve_exact(events);
            only.censored.reserve_exact(data.len() - events);
        }
        for i in 0..data.len() {
            let stratum = &mut strata[data.strata[i] as usize];
            let exit = (data.stop[i], data.weights[i]);
            if data.event[i] {
                stratum.events.push(exit);
            } else {
                stratum.censored.push(exit);
            }
            if let Some(start) = &data.start {
                stratum.entries.push((start[i], data.weights[i]));
            }
        }
        for stratum in &mut strata {
            for times in [&mut stratum.events, &mut stratum.censored, &mut stratum.entries] {
                times.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
        strata
    }

    /// When every time is a whole number and the strata times the range of the times span no
    /// more than four cells an observation (or [`TALLY_CELLS`]), each stratum's times with
    /// the weight of their ties, counted in one pass into a table by stratum and time — no
    /// sort, and nothing the length of the data (a counting sort). `None` otherwise.
    fn tallied(data: &SurvivalData) -> Option<Vec<Self>> {
        let strata = data.strata_labels.len();
        let times: Vec<&[f64]> = std::iter::once(&data.stop).chain(&data.start).map(Vec::as_slice).collect();
        let (low, span) = whole_number_span(&times, (4 * data.len() + TALLY_CELLS) / strata.max(1))?;
        // Per cell: how many times, and their weight (a zero weight still makes a time).
        let mut tables = [vec![(0_u32, 0.0); span * strata], vec![(0, 0.0); span * strata], Vec::new()];
        if data.start.is_some() {
            tables[2] = vec![(0, 0.0); span * strata];
        }
        let cell = |i: usize, t: f64| data.strata[i] as usize * span + (t - low) as usize;
        for i in 0..data.len() {
            let (count, weight) = &mut tables[usize::from(!data.event[i])][cell(i, data.stop[i])];
            *count += 1;
            *weight += data.weights[i];
            if let Some(start) = &data.start {
                let (count, weight) = &mut tables[2][cell(i, start[i])];
                *count += 1;
                *weight += data.weights[i];
            }
        }
        let times_of = |table: &[(u32, f64)], stratum: usize| -> Vec<(f64, f64)> {
            let cells = table.get(stratum * span..(stratum + 1) * span).unwrap_or_default();
            cells.iter().enumerate().filter(|(_, c)| c.0 > 0).map(|(k, c)| (low + k as f64, c.1)).collect()
        };
        Some(
            (0..strata)
                .map(|stratum| Self {
                    events: times_of(&tables[0], stratum),
                    censored: times_of(&tables[1], stratum),
                    entries: times_of(&tables[2], stratum),
                })
                .collect(),
        )
    }
}

/// The total weight of the times of `sorted` from `*next` on that equal `t`, moving `*next`
/// past them.
fn weight_at(sorted: &[(f64, f64)], next: &mut usize, t: f64) -> f64 {
    let mut total = 0.0;
    while let Some(&(_, weight)) = sorted.get(*next).filter(|(time, _)| *time == t) {
        total += weight;
        *next += 1;
    }
    total
}

/// One stratum's curve.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct KmCurve {
    /// The stratum label (`sex=female`).
    pub stratum: String,
    /// Distinct event or censoring times.
    pub time: Vec<f64>,
    /// Number at risk just before each time.
    pub n_risk: Vec<f64>,
    /// Events at each time.
    pub n_event: Vec<f64>,
    /// Censorings at each time.
    pub n_censor: Vec<f64>,
    /// Kaplan–Meier survival.
    pub survival: Vec<f64>,
    /// Greenwood standard error of the survival.
    pub std_error: Vec<f64>,
    /// Standard error of the cumulative hazard (R's `std.err`).
    pub std_error_cumhaz: Vec<f64>,
    /// Nelson–Aalen cumulative hazard.
    pub cumulative_hazard: Vec<f64>,
    /// Lower confidence limit.
    pub lower: Vec<f64>,
    /// Upper confidence limit.
    pub upper: Vec<f64>,
}

fn curve(times: StratumTimes, stratum: String, conf_type: ConfType, z: f64) -> KmCurve {
    let StratumTimes { events: event_times, censored: censored_times, entries } = times;
    let mut entry_prefix = Vec::with_capacity(entries.len() + 1);
    entry_prefix.push(0.0);
    for (_, w) in &entries {
        entry_prefix.push(entry_prefix.last().copied().unwrap_or(0.0) + w);
    }
    let total: f64 = event_times.iter().chain(&censored_times).map(|(_, w)| w).sum();
    let entered = entry_prefix.last().copied().unwrap_or(0.0);
    let mut out = KmCurve {
        stratum,
        time: Vec::new(),
        n_risk: Vec::new(),
        n_event: Vec::new(),
        n_censor: Vec::new(),
        survival: Vec::new(),
        std_error: Vec::new(),
        std_error_cumhaz: Vec::new(),
        cumulative_hazard: Vec::new(),
        lower: Vec::new(),
        upper: Vec::new(),
    };
    let (mut survival, mut greenwood, mut hazard) = (1.0, 0.0, 0.0);
    let mut exited = 0.0;
    let (mut next_event, mut next_censored) = (0, 0);
    loop {
        // The next distinct exit time, by an event or a censoring.
        let t = match (event_times.get(next_event), censored_times.get(next_censored)) {
            (Some(e), Some(c)) => e.0.min(c.0),
            (Some(e), None) => e.0,
            (None, Some(c)) => c.0,
            (None, None) => break,
        };
        let events = weight_at(&event_times, &mut next_event, t);
        let censored = weight_at(&censored_times, &mut next_censored, t);
        // At risk: exit ≥ t and entry < t.
        let entered_late = entered - entry_prefix[entries.partition_point(|e| e.0 < t)];
        let at_risk = total - exited - entered_late;
        if events > 0.0 {
            survival *= 1.0 - events / at_risk;
            greenwood += events / (at_risk * (at_risk - events));
            hazard += events / at_risk;
        }
        let se = greenwood.sqrt();
        let (lower, upper) = interval(survival, se, conf_type, z);
        out.time.push(t);
        out.n_risk.push(at_risk);
        out.n_event.push(events);
        out.n_censor.push(censored);
        out.survival.push(survival);
        out.std_error.push(survival * se);
        out.std_error_cumhaz.push(se);
        out.cumulative_hazard.push(hazard);
        out.lower.push(lower);
        out.upper.push(upper);
        exited += events + censored;
    }
    out
}

fn interval(s: f64, se: f64, conf_type: ConfType, z: f64) -> (f64, f64) {
    if s <= 0.0 || !se.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    match conf_type {
        ConfType::Log => ((s.ln() - z * se).exp(), (s.ln() + z * se).exp().min(1.0)),
        ConfType::LogLog => {
            if s >= 1.0 {
                return (f64::NAN, f64::NAN);
            }
            let centre = (-s.ln()).ln();
            let shift = z * se / s.ln();
            let one = (-(centre + shift).exp()).exp();
            let two = (-(centre - shift).exp()).exp();
            (one.min(two), one.max(two))
        }
        ConfType::Plain => ((s - z * s * se).max(0.0), (s + z * s * se).min(1.0)),
    }
}

/// The time at which a step curve first falls to `1 − p` (R's rule: where the curve is flat
/// exactly at `1 − p`, the midpoint of that flat stretch). `None` if it never does.
pub(crate) fn quantile_of(time: &[f64], values: &[f64], p: f64) -> Option<f64> {
    let target = 1.0 - p;
    for (i, &v) in values.iter().enumerate() {
        if (v - target).abs() < 1e-12 {
            return Some(
                values[i + 1..]
                    .iter()
                    .position(|&w| w < v - 1e-12)
                    .map_or(time[i], |k| f64::midpoint(time[i], time[i + 1 + k])),
            );
        }
        if v < target {
            return Some(time[i]);
        }
    }
    None
}

/// Survival quantile with its confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalQuantile {
    /// The stratum.
    pub stratum: String,
    /// Which quantile (0.5 for the median).
    pub probability: f64,
    /// The estimate (`None` if the curve never falls that far).
    pub estimate: Option<f64>,
    /// Lower confidence limit.
    pub lower: Option<f64>,
    /// Upper confidence limit.
    pub upper: Option<f64>,
}

/// Kaplan–Meier curves for every stratum; they serialise with serde, to be saved and reloaded.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct KmFit {
    formula: String,
    conf_type: ConfType,
    conf_level: f64,
    curves: Vec<KmCurve>,
}

impl KmFit {
    /// The curves, one per stratum.
    pub fn curves(&self) -> &[KmCurve] {
        &self.curves
    }

    /// The `p` quantile of survival time in each stratum (0.5: the median) with its interval,
    /// read off the confidence limits as `quantile.survfit` does.
    pub fn quantiles(&self, p: f64) -> Vec<SurvivalQuantile> {
        self.curves
            .iter()
            .map(|c| {
                let finite = |v: &[f64]| v.iter().map(|x| if x.is_nan() { 0.0 } else { *x }).collect::<Vec<_>>();
                SurvivalQuantile {
                    stratum: c.stratum.clone(),
                    probability: p,
                    estimate: quantile_of(&c.time, &c.survival, p),
                    lower: quantile_of(&c.time, &finite(&c.lower), p),
                    upper: quantile_of(&c.time, &finite(&c.upper), p),
                }
            })
            .collect()
    }

    /// Restricted mean survival time up to `tau` in each stratum: the area under the curve.
    pub fn restricted_mean(&self, tau: f64) -> Vec<(String, f64)> {
        self.curves
            .iter()
            .map(|c| {
                let (mut area, mut previous_time, mut previous_survival) = (0.0, 0.0, 1.0);
                for (&t, &s) in c.time.iter().zip(&c.survival) {
                    if t > tau {
                        break;
                    }
                    area += previous_survival * (t - previous_time);
                    previous_time = t;
                    previous_survival = s;
                }
                area += previous_survival * (tau - previous_time).max(0.0);
                (c.stratum.clone(), area)
            })
            .collect()
    }

    /// The survfit-style summary: one table with a stratum column, and medians.
    pub fn summary(&self) -> KmSummary {
        let mut table = KmTable::default();
        for c in &self.curves {
            table.stratum.extend(std::iter::repeat_n(c.stratum.clone(), c.time.len()));
            table.time.extend(&c.time);
            table.n_risk.extend(&c.n_risk);
            table.n_event.extend(&c.n_event);
            table.n_censor.extend(&c.n_censor);
            table.survival.extend(&c.survival);
            table.std_error.extend(&c.std_error);
            table.std_error_cumhaz.extend(&c.std_error_cumhaz);
            table.cumulative_hazard.extend(&c.cumulative_hazard);
            table.lower.extend(&c.lower);
            table.upper.extend(&c.upper);
        }
        KmSummary {
            model: "km",
            formula: self.formula.clone(),
            conf_type: self.conf_type.name(),
            conf_level: self.conf_level,
            table,
            medians: self.quantiles(0.5),
        }
    }
}

/// Every curve's rows in one table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KmTable {
    /// Stratum of each row.
    pub stratum: Vec<String>,
    /// See [`KmCurve`].
    pub time: Vec<f64>,
    /// See [`KmCurve`].
    pub n_risk: Vec<f64>,
    /// See [`KmCurve`].
    pub n_event: Vec<f64>,
    /// See [`KmCurve`].
    pub n_censor: Vec<f64>,
    /// See [`KmCurve`].
    pub survival: Vec<f64>,
    /// See [`KmCurve`].
    pub std_error: Vec<f64>,
    /// See [`KmCurve`].
    pub std_error_cumhaz: Vec<f64>,
    /// See [`KmCurve`].
    pub cumulative_hazard: Vec<f64>,
    /// See [`KmCurve`].
    pub lower: Vec<f64>,
    /// See [`KmCurve`].
    pub upper: Vec<f64>,
}

/// What `summary(survfit(...))` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmSummary {
    /// Always `"km"`.
    pub model: &'static str,
    /// The formula.
    pub formula: String,
    /// The interval scale.
    pub conf_type: &'static str,
    /// The interval level.
    pub conf_level: f64,
    /// The curves' rows.
    pub table: KmTable,
    /// Median survival per stratum.
    pub medians: Vec<SurvivalQuantile>,
}

impl fmt::Display for KmSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Kaplan–Meier estimate: {}", self.formula)?;
        writeln!(
            f,
            "{:<14} {:>5} {:>7} {:>7} {:>9}  {:>8} {:>8}",
            "stratum", "n", "events", "median", "", "lower", "upper"
        )?;
        for m in &self.medians {
            let rows: Vec<usize> = (0..self.table.time.len()).filter(|&i| self.table.stratum[i] == m.stratum).collect();
            let n = rows.first().map_or(0.0, |&i| self.table.n_risk[i]);
            let events: f64 = rows.iter().map(|&i| self.table.n_event[i]).sum();
            let show = |v: Option<f64>| v.map_or("NA".to_string(), |x| format!("{x}"));
            writeln!(
                f,
                "{:<14} {:>5} {:>7} {:>7} {:>9}  {:>8} {:>8}",
                m.stratum,
                n,
                events,
                show(m.estimate),
                format!("{}% CI", (self.conf_level * 100.0).round()),
                show(m.lower),
                show(m.upper)
            )?;
        }
        writeln!(
            f,
            "\n{:<14} {:>8} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9}",
            "stratum", "time", "n.risk", "n.event", "survival", "std.err", "lower", "upper"
        )?;
        for i in (0..self.table.time.len()).filter(|&i| self.table.n_event[i] > 0.0) {
            writeln!(
                f,
                "{:<14} {:>8} {:>7} {:>7} {:>9.4} {:>9.4} {:>9.4} {:>9.4}",
                self.table.stratum[i],
                self.table.time[i],
                self.table.n_risk[i],
                self.table.n_event[i],
                self.table.survival[i],
                self.table.std_error[i],
                self.table.lower[i],
                self.table.upper[i]
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_curve_with_ties_and_censoring() {
        // Times 1, 2, 2+, 3, 3, 4+: S = 5/6 at 1, 5/6·3/4 at 2, ·(1 − 2/2) = 0 at 3.
        let frame = DataFrame::new()
            .with_floats("time", &[1.0, 2.0, 2.0, 3.0, 3.0, 4.0])
            .unwrap()
            .with_floats("status", &[1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
            .unwrap();
        let fit = KaplanMeier::new("Surv(time, status) ~ 1").unwrap().fit(&frame).unwrap();
        let c = &fit.curves()[0];
        assert_eq!(c.time, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(c.n_risk, [6.0, 5.0, 3.0, 1.0]);
        assert!((c.survival[1] - 5.0 / 6.0 * 0.8).abs() < 1e-15);
        let greenwood: f64 = 1.0 / 30.0 + 1.0 / 20.0;
        assert!((c.std_error_cumhaz[1] - greenwood.sqrt()).abs() < 1e-15);
        assert!((c.cumulative_hazard[1] - (1.0 / 6.0 + 1.0 / 5.0)).abs() < 1e-15);
        let median = &fit.quantiles(0.5)[0];
        assert_eq!(median.estimate, Some(3.0));
    }

    /// Whole-number times are tallied, others sorted, and both give the same curves: strata,
    /// ties, case weights (a zero among them) and delayed entry, against the sorting path.
    /// (With weights whose sums round, the two add them in different orders.)
    #[test]
    fn tallied_times_give_the_sorted_curves() {
        let mut rng = strata_core::random::Rng::new(7);
        let n = 3_000;
        let stop: Vec<f64> = (0..n).map(|_| (1.0 + 400.0 * rng.uniform()).floor()).collect();
        let start: Vec<f64> = stop.iter().map(|&t| (t * rng.uniform()).floor() - 1.0).collect();
        // Quarters: their sums are exact in any order, so both paths must agree exactly.
        let weights: Vec<f64> =
            (0..n).map(|i| if i == 5 { 0.0 } else { (1.0 + (8.0 * rng.uniform()).floor()) / 4.0 }).collect();
        let data = |start: Option<Vec<f64>>| SurvivalData {
            start,
            stop: stop.clone(),
            event: (0..n).map(|i| i % 3 != 0).collect(),
            weights: weights.clone(),
            strata: (0..n).map(|i| (i % 4) as u32).collect(),
            strata_labels: (0..4).map(|k| format!("g={k}")).collect(),
            rows: (0..n).collect(),
        };
        for data in [data(None), data(Some(start.clone()))] {
            let tallied = StratumTimes::tallied(&data).expect("whole numbers over a short range");
            let sorted = StratumTimes::sorted(&data);
            for (a, b) in tallied.into_iter().zip(sorted) {
                // Compared as printed: a curve that falls to zero ends in NaN limits.
                let (a, b) = (curve(a, "a".into(), ConfType::Log, 1.96), curve(b, "a".into(), ConfType::Log, 1.96));
                assert_eq!(format!("{a:?}"), format!("{b:?}"));
            }
        }
        // A fraction, or times too far apart for a table, are sorted.
        let mut fraction = data(None);
        fraction.stop[7] += 0.5;
        assert!(StratumTimes::tallied(&fraction).is_none());
        let mut far = data(None);
        far.stop[7] = 1e9;
        assert!(StratumTimes::tallied(&far).is_none());
    }

    /// Delayed entry and case weights against R 4.2 (survival 3.5)'s
    /// `survfit(Surv(start, stop, status) ~ 1, weights = w)`, printed with 17 digits.
    #[test]
    fn delayed_entry_with_weights_as_survfit() {
        let frame = DataFrame::new()
            .with_floats("start", &[0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 1.0, 0.0, 2.0, 4.0])
            .unwrap()
            .with_floats("stop", &[5.0, 3.0, 4.0, 6.0, 2.0, 7.0, 3.0, 8.0, 5.0, 9.0])
            .unwrap()
            .with_floats("status", &[1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
            .unwrap()
            .with_floats("w", &[1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0, 3.0, 2.0, 1.0])
            .unwrap();
        let fit = KaplanMeier::new("Surv(start, stop, status) ~ 1").unwrap().weights("w").fit(&frame).unwrap();
        let c = &fit.curves()[0];
        assert_eq!(c.time, [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(c.n_risk, [9.0, 13.0, 12.0, 12.0, 9.0, 6.0, 4.0, 1.0]);
        assert_eq!(c.n_event, [1.0, 1.0, 1.0, 3.0, 3.0, 0.0, 0.0, 1.0]);
        assert_eq!(c.n_censor, [0.0, 2.0, 0.0, 0.0, 0.0, 2.0, 3.0, 0.0]);
        let survival =
            [0.888_888_888_888_888_8, 0.820_512_820_512_820_5, 0.752_136_752_136_752_1, 0.564_102_564_102_564_1];
        let std_error =
            [0.117_851_130_197_757_92, 0.142_475_069_044_185_05, 0.166_957_787_703_667_4, 0.235_908_203_868_963_94];
        let lower =
            [0.705_557_501_515_943_2, 0.620_598_001_433_203_8, 0.542_228_179_278_504_6, 0.355_265_182_285_888_5];
        for k in 0..4 {
            assert!((c.survival[k] - survival[k]).abs() < 1e-14, "survival at {k}");
            assert!((c.std_error_cumhaz[k] - std_error[k]).abs() < 1e-14, "std.err at {k}");
            assert!((c.lower[k] - lower[k]).abs() < 1e-14, "lower at {k}");
        }
        assert!((c.cumulative_hazard[7] - 1.854_700_854_700_854_5).abs() < 1e-14);
    }

    #[test]
    fn a_flat_stretch_at_one_half_gives_the_midpoint() {
        assert_eq!(quantile_of(&[1.0, 2.0, 5.0], &[0.75, 0.5, 0.25], 0.5), Some(3.5));
        assert_eq!(quantile_of(&[1.0, 2.0], &[0.75, 0.6], 0.5), None);
    }

    #[test]
    fn all_censored_is_an_error() {
        let frame = DataFrame::new().with_floats("t", &[1.0, 2.0]).unwrap().with_floats("s", &[0.0, 0.0]).unwrap();
        let error = KaplanMeier::new("Surv(t, s) ~ 1").unwrap().fit(&frame).unwrap_err();
        assert_eq!(error.to_string(), "all 2 observations are censored: there are no events to estimate from");
    }
}
