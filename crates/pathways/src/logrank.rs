//! The log-rank test and the Fleming–Harrington G-ρ family, optionally stratified.
//!
//! At each event time with $n$ at risk and $d$ events, group $g$ contributes observed $d_g$ and
//! expected $d\,n_g/n$ events, weighted by $w = \hat S(t-)^\rho$ (the pooled Kaplan–Meier within
//! the stratum; ρ = 0 is the log-rank test, ρ = 1 the Peto–Peto–Prentice test). The variance
//! is $V_{gh} = \sum w^2 d (n - d)/(n - 1) \cdot (n_g/n)(\delta_{gh} - n_h/n)$, and
//! $\chi^2 = (O - E)^\top V^{-}(O - E)$ on $G - 1$ degrees of freedom (Harrington & Fleming 1982),
//! summed over strata, as R's `survdiff`. The risk sets come from one sweep over the subjects
//! sorted by entry and by exit time, so the test costs O(n log n).

use crate::error::{Error, Result};
use crate::survival::{StrataFrom, SurvivalModel};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::numerics::{Cholesky, Matrix};
use strata_core::results::chi_squared_upper;
use strata_core::{DataFrame, Formula};

/// What [`LogRankTest::model`] says, also when a test is read back.
fn logrank_name() -> &'static str {
    "logrank"
}

/// The result of a (stratified) G-ρ test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRankTest {
    /// Always `"logrank"`.
    #[serde(skip_deserializing, default = "logrank_name")]
    pub model: &'static str,
    /// ρ.
    pub rho: f64,
    /// Group labels.
    pub groups: Vec<String>,
    /// Observations per group.
    pub n: Vec<f64>,
    /// Observed events per group.
    pub observed: Vec<f64>,
    /// Expected events per group.
    pub expected: Vec<f64>,
    /// The χ² statistic.
    pub chisq: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// Upper-tail p-value.
    pub p_value: f64,
}

/// Tests for a difference between the survival of the groups of `Surv(...) ~ group
/// [+ strata(s)]`, with weights `S(t−)^rho`.
///
/// # Errors
/// Invalid survival data, a single group, or no events.
pub fn logrank(formula: &str, frame: &DataFrame, rho: f64) -> Result<LogRankTest> {
    let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
    let model = SurvivalModel::new(&formula, frame, None, StrataFrom::SpecialsWithGroups)?;
    let data = &model.data;
    let (group, labels) = &model.groups;
    let g = labels.len();
    if g < 2 {
        return Err(Error::Specification("the log-rank test needs at least two groups on the right of `~`".into()));
    }
    let mut observed = vec![0.0; g];
    let mut expected = vec![0.0; g];
    let mut variance = Matrix::zeros(g, g);
    let mut n = vec![0.0; g];
    for i in 0..data.len() {
        n[group[i] as usize] += data.weights[i];
    }
    for s in 0..data.strata_labels.len() {
        let members: Vec<usize> = (0..data.len()).filter(|&i| data.strata[i] as usize == s).collect();
        let mut times: Vec<f64> = members.iter().filter(|&&i| data.event[i]).map(|&i| data.stop[i]).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        // One sweep: at risk at t is [entry < t] − [stop < t], each a running sum over the
        // members sorted by that time.
        let sorted = |key: &dyn Fn(usize) -> f64| {
            let mut order = members.clone();
            order.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
            order
        };
        let (by_entry, by_stop) = (sorted(&|i| data.entry(i)), sorted(&|i| data.stop[i]));
        let (mut entered, mut left) = (0, 0);
        let mut at_risk = vec![0.0; g];
        let mut survival: f64 = 1.0;
        for &t in &times {
            while entered < by_entry.len() && data.entry(by_entry[entered]) < t {
                at_risk[group[by_entry[entered]] as usize] += data.weights[by_entry[entered]];
                entered += 1;
            }
            while left < by_stop.len() && data.stop[by_stop[left]] < t {
                at_risk[group[by_stop[left]] as usize] -= data.weights[by_stop[left]];
                left += 1;
            }
            let mut events = vec![0.0; g];
            for &i in by_stop[left..].iter().take_while(|&&i| data.stop[i] == t) {
                if data.event[i] {
                    events[group[i] as usize] += data.weights[i];
                }
            }
            let total: f64 = at_risk.iter().sum();
            let deaths: f64 = events.iter().sum();
            let weight = survival.powf(rho);
            for a in 0..g {
                observed[a] += weight * events[a];
                expected[a] += weight * deaths * at_risk[a] / total;
                if total > 1.0 {
                    let factor = weight * weight * deaths * (total - deaths) / (total - 1.0);
                    for b in 0..g {
                        let delta = if a == b { 1.0 } else { 0.0 };
                        variance[(a, b)] += factor * at_risk[a] / total * (delta - at_risk[b] / total);
                    }
                }
            }
            survival *= 1.0 - deaths / total;
        }
    }
    let difference: Vec<f64> = (0..g - 1).map(|a| observed[a] - expected[a]).collect();
    let reduced = Matrix::from_fn(g - 1, g - 1, |a, b| variance[(a, b)]);
    let chisq = Cholesky::new(&reduced).map_err(|_| Error::Fit("the log-rank variance is singular".into()))?;
    let solved = chisq.solve(&difference);
    let chisq: f64 = difference.iter().zip(&solved).map(|(a, b)| a * b).sum();
    Ok(LogRankTest {
        model: "logrank",
        rho,
        groups: labels.clone(),
        n,
        observed,
        expected,
        chisq,
        df: g - 1,
        p_value: chi_squared_upper(chisq, (g - 1) as f64),
    })
}

impl fmt::Display for LogRankTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.groups.iter().map(String::len).max().unwrap_or(5).max(5);
        writeln!(f, "{:<width$} {:>8} {:>10} {:>10}", "", "N", "Observed", "Expected")?;
        for i in 0..self.groups.len() {
            writeln!(
                f,
                "{:<width$} {:>8} {:>10.0} {:>10.2}",
                self.groups[i], self.n[i], self.observed[i], self.expected[i]
            )?;
        }
        write!(f, "\n Chisq= {:.1}  on {} degrees of freedom, p= {:.3e}", self.chisq, self.df, self.p_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_by_hand() {
        // Group a dies at 1 and 3, group b at 2 and 4; no censoring.
        let frame = DataFrame::new()
            .with_floats("t", &[1.0, 3.0, 2.0, 4.0])
            .unwrap()
            .with_floats("s", &[1.0; 4])
            .unwrap()
            .with_levels("g", &["a", "a", "b", "b"])
            .unwrap();
        let test = logrank("Surv(t, s) ~ g", &frame, 0.0).unwrap();
        // E_a = 2/4 + 1/3 + 1/2 + 0 = 4/3.
        assert!((test.expected[0] - 4.0 / 3.0).abs() < 1e-14);
        // V = 1/4 + 2/9 + 1/4 = 13/18; χ² = (2 − 4/3)² / (13/18).
        assert!((test.chisq - (2.0f64 / 3.0).powi(2) / (13.0 / 18.0)).abs() < 1e-14);
        assert_eq!(test.df, 1);
    }

    /// Splitting each subject's follow-up into (start, stop] pieces leaves the risk sets, and so
    /// the test, unchanged.
    #[test]
    fn split_follow_up_gives_the_same_test() {
        let time = [2.0, 3.0, 3.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let status = [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
        let group = ["a", "b", "a", "b", "a", "b", "a", "b"];
        let whole = DataFrame::new()
            .with_floats("t", &time)
            .unwrap()
            .with_floats("s", &status)
            .unwrap()
            .with_levels("g", &group)
            .unwrap();
        let (mut start, mut stop, mut event, mut split_group) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..time.len() {
            let cut = time[i] / 2.0;
            start.extend([0.0, cut]);
            stop.extend([cut, time[i]]);
            event.extend([0.0, status[i]]);
            split_group.extend([group[i]; 2]);
        }
        let split = DataFrame::new()
            .with_floats("start", &start)
            .unwrap()
            .with_floats("stop", &stop)
            .unwrap()
            .with_floats("e", &event)
            .unwrap()
            .with_levels("g", &split_group)
            .unwrap();
        for rho in [0.0, 1.0] {
            let a = logrank("Surv(t, s) ~ g", &whole, rho).unwrap();
            let b = logrank("Surv(start, stop, e) ~ g", &split, rho).unwrap();
            assert!((a.chisq - b.chisq).abs() < 1e-12, "{} vs {}", a.chisq, b.chisq);
        }
    }
}
