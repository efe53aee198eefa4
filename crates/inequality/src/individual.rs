//! Inequality indices of a distribution of values with optional weights.
//!
//! With weights $w_i$, $W = \sum w_i$ and weighted mean $\mu$:
//! - Gini: $G = \sum_i\sum_j w_i w_j |x_i - x_j| / (2W^2\mu)$, computed after sorting as
//!   $\sum_i w_i x_i (2C_i - w_i - W) / (W^2\mu)$ with $C_i$ the cumulative weight;
//! - generalised entropy: $GE(\alpha) = \frac{1}{\alpha(\alpha-1)}\left[\frac1W\sum w_i (x_i/\mu)^\alpha - 1\right]$,
//!   with Theil's $T = GE(1) = \frac1W\sum w_i \frac{x_i}{\mu}\ln\frac{x_i}{\mu}$ and the mean log
//!   deviation $GE(0) = \frac1W\sum w_i \ln\frac{\mu}{x_i}$;
//! - Atkinson: $A(\varepsilon) = 1 - \left(\frac1W\sum w_i x_i^{1-\varepsilon}\right)^{1/(1-\varepsilon)}/\mu$,
//!   and $1 - \exp(\frac1W\sum w_i\ln x_i)/\mu$ at $\varepsilon = 1$ (Atkinson 1970);
//! - coefficient of variation: the population standard deviation over the mean.

use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A distribution of non-negative values with weights, sorted once on construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    values: Vec<f64>,
    weights: Vec<f64>,
    total_weight: f64,
    mean: f64,
}

impl Distribution {
    /// Equally weighted values.
    ///
    /// # Errors
    /// [`Error::Input`] for no values, [`Error::InvalidValue`] for a negative or non-finite value
    /// or a zero mean.
    pub fn new(values: &[f64]) -> Result<Self> {
        Self::weighted(values, &vec![1.0; values.len()])
    }

    /// Values with weights (population counts, survey weights).
    ///
    /// # Errors
    /// As [`Distribution::new`], and for weights that are negative, non-finite or of another length.
    pub fn weighted(values: &[f64], weights: &[f64]) -> Result<Self> {
        if values.is_empty() {
            return Err(Error::Input("no values".into()));
        }
        if values.len() != weights.len() {
            return Err(Error::Input(format!("{} values but {} weights", values.len(), weights.len())));
        }
        for (index, &value) in values.iter().enumerate() {
            if !value.is_finite() || value < 0.0 {
                return Err(Error::InvalidValue {
                    input: "values".into(),
                    index,
                    value,
                    reason: "values must be finite and non-negative".into(),
                });
            }
        }
        for (index, &value) in weights.iter().enumerate() {
            if !value.is_finite() || value < 0.0 {
                return Err(Error::InvalidValue {
                    input: "weights".into(),
                    index,
                    value,
                    reason: "weights must be finite and non-negative".into(),
                });
            }
        }
        let mut pairs: Vec<(f64, f64)> = values.iter().copied().zip(weights.iter().copied()).collect();
        pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let (values, weights): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        let total_weight: f64 = weights.iter().sum();
        if total_weight <= 0.0 {
            return Err(Error::Input("the weights sum to zero".into()));
        }
        let mean = values.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>() / total_weight;
        if mean <= 0.0 {
            return Err(Error::Input("the mean is zero: relative inequality is undefined".into()));
        }
        Ok(Self { values, weights, total_weight, mean })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values (never true for a constructed distribution).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The weighted mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The Gini coefficient (population form).
    pub fn gini(&self) -> f64 {
        let mut cumulative = 0.0;
        let mut total = 0.0;
        for (x, w) in self.values.iter().zip(&self.weights) {
            cumulative += w;
            total += w * x * (2.0 * cumulative - w - self.total_weight);
        }
        total / (self.total_weight * self.total_weight * self.mean)
    }

    /// The Gini coefficient with the small-sample correction n / (n − 1) (unweighted data).
    pub fn gini_sample(&self) -> f64 {
        let n = self.len() as f64;
        self.gini() * n / (n - 1.0)
    }

    fn check_positive(&self, what: &str) -> Result<()> {
        match self.values.first() {
            Some(&x) if x <= 0.0 => Err(Error::Input(format!("{what} needs positive values, and the smallest is {x}"))),
            _ => Ok(()),
        }
    }

    /// The generalised entropy index GE(α).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a zero value when α ≤ 0.
    pub fn generalized_entropy(&self, alpha: f64) -> Result<f64> {
        let mean_of = |f: &dyn Fn(f64) -> f64| {
            self.values.iter().zip(&self.weights).map(|(&x, &w)| w * f(x / self.mean)).sum::<f64>() / self.total_weight
        };
        if alpha == 0.0 {
            self.check_positive("the mean log deviation")?;
            Ok(mean_of(&|r| -r.ln()))
        } else if alpha == 1.0 {
            Ok(mean_of(&|r| if r > 0.0 { r * r.ln() } else { 0.0 }))
        } else {
            if alpha < 0.0 {
                self.check_positive("GE(α) with α < 0")?;
            }
            Ok((mean_of(&|r| r.powf(alpha)) - 1.0) / (alpha * (alpha - 1.0)))
        }
    }

    /// Theil's T, GE(1).
    pub fn theil(&self) -> f64 {
        self.generalized_entropy(1.0).expect("GE(1) accepts zeros")
    }

    /// The mean log deviation, GE(0).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a zero value.
    pub fn mean_log_deviation(&self) -> Result<f64> {
        self.generalized_entropy(0.0)
    }

    /// The Atkinson index with inequality aversion ε ≥ 0.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a zero value when ε ≥ 1; [`Error::Input`] for ε < 0.
    pub fn atkinson(&self, epsilon: f64) -> Result<f64> {
        if !(epsilon >= 0.0) {
            return Err(Error::Input(format!("the Atkinson ε must be non-negative, not {epsilon}")));
        }
        let mean_of = |f: &dyn Fn(f64) -> f64| {
            self.values.iter().zip(&self.weights).map(|(&x, &w)| w * f(x)).sum::<f64>() / self.total_weight
        };
        if epsilon == 1.0 {
            self.check_positive("Atkinson(1)")?;
            return Ok(1.0 - mean_of(&f64::ln).exp() / self.mean);
        }
        if epsilon > 1.0 {
            self.check_positive("Atkinson(ε > 1)")?;
        }
        if epsilon.is_infinite() {
            // The limit: only the worst-off count.
            let least = self
                .values
                .iter()
                .zip(&self.weights)
                .filter(|(_, &w)| w > 0.0)
                .map(|(&x, _)| x)
                .fold(f64::INFINITY, f64::min);
            return Ok(1.0 - least / self.mean);
        }
        // The equally distributed equivalent (Σ w x^{1−ε} / W)^{1/(1−ε)}, in logarithms so that
        // large ε neither overflows nor underflows: with a = 1 − ε and m = max a·ln x,
        // log EDE = (m + log Σ w e^{a ln x − m} / W) / a.
        let a = 1.0 - epsilon;
        let logs: Vec<f64> = self.values.iter().map(|&x| a * x.ln()).collect();
        let m =
            logs.iter().zip(&self.weights).filter(|(_, &w)| w > 0.0).map(|(&l, _)| l).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 =
            logs.iter().zip(&self.weights).map(|(&l, &w)| w * (l - m).exp()).sum::<f64>() / self.total_weight;
        Ok(1.0 - ((m + sum.ln()) / a).exp() / self.mean)
    }

    /// The coefficient of variation: population standard deviation over the mean.
    pub fn coefficient_of_variation(&self) -> f64 {
        let variance = self.values.iter().zip(&self.weights).map(|(x, w)| w * (x - self.mean).powi(2)).sum::<f64>()
            / self.total_weight;
        variance.sqrt() / self.mean
    }

    /// The weighted quantile: the smallest value whose cumulative weight share reaches `p`.
    pub fn quantile(&self, p: f64) -> f64 {
        let target = p.clamp(0.0, 1.0) * self.total_weight;
        let mut cumulative = 0.0;
        for (x, w) in self.values.iter().zip(&self.weights) {
            cumulative += w;
            if cumulative >= target - 1e-12 * self.total_weight {
                return *x;
            }
        }
        self.values[self.values.len() - 1]
    }

    /// The share of the total held by the poorest fraction `p` of the weight (the Lorenz curve
    /// at `p`, interpolating within a value's weight).
    pub fn lorenz(&self, p: f64) -> f64 {
        let target = p.clamp(0.0, 1.0) * self.total_weight;
        let total = self.mean * self.total_weight;
        let mut cumulative_weight = 0.0;
        let mut cumulative_value = 0.0;
        for (x, w) in self.values.iter().zip(&self.weights) {
            if cumulative_weight + w >= target {
                return (cumulative_value + (target - cumulative_weight) * x) / total;
            }
            cumulative_weight += w;
            cumulative_value += w * x;
        }
        1.0
    }

    /// The Palma ratio: the share of the richest 10% over that of the poorest 40%.
    pub fn palma(&self) -> f64 {
        (1.0 - self.lorenz(0.9)) / self.lorenz(0.4)
    }

    /// The ratio of the 90th to the 10th percentile.
    pub fn p90_p10(&self) -> f64 {
        self.quantile(0.9) / self.quantile(0.1)
    }

    /// The Lorenz curve as (cumulative population share, cumulative value share) points.
    pub fn lorenz_curve(&self) -> Vec<(f64, f64)> {
        let total = self.mean * self.total_weight;
        let mut points = vec![(0.0, 0.0)];
        let (mut p, mut l) = (0.0, 0.0);
        for (x, w) in self.values.iter().zip(&self.weights) {
            p += w / self.total_weight;
            l += w * x / total;
            points.push((p, l));
        }
        points
    }

    /// Every index at once, with Atkinson at each of `epsilons`.
    ///
    /// # Errors
    /// As the individual indices (zeros where logarithms are needed).
    pub fn summary(&self, epsilons: &[f64]) -> Result<IndexSummary> {
        let mut atkinson = BTreeMap::new();
        for &e in epsilons {
            atkinson.insert(strata_core::frame::format_number(e), self.atkinson(e)?);
        }
        Ok(IndexSummary {
            model: "inequality",
            n: self.len(),
            mean: self.mean,
            gini: Some(self.gini()),
            theil_t: Some(self.theil()),
            mean_log_deviation: self.mean_log_deviation().ok(),
            half_squared_cv: Some(self.generalized_entropy(2.0)?),
            atkinson,
            coefficient_of_variation: Some(self.coefficient_of_variation()),
            palma: Some(self.palma()),
            p90_p10: Some(self.p90_p10()),
        })
    }
}

/// The names [`IndexSummary::retain`] knows, as the command line's `--index` takes them.
pub const INDEX_NAMES: [&str; 8] = ["gini", "theil", "mld", "ge2", "atkinson", "cv", "palma", "p90p10"];

/// The individual-data indices of a distribution (every one from [`Distribution::summary`];
/// `None` for an index left out by [`IndexSummary::retain`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexSummary {
    /// Always `"inequality"`.
    pub model: &'static str,
    /// Number of values.
    pub n: usize,
    /// Weighted mean.
    pub mean: f64,
    /// Gini coefficient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gini: Option<f64>,
    /// Theil's T, GE(1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theil_t: Option<f64>,
    /// Mean log deviation, GE(0) (absent when a value is zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_log_deviation: Option<f64>,
    /// GE(2), half the squared coefficient of variation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub half_squared_cv: Option<f64>,
    /// Atkinson indices by ε.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub atkinson: BTreeMap<String, f64>,
    /// Coefficient of variation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coefficient_of_variation: Option<f64>,
    /// Palma ratio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub palma: Option<f64>,
    /// P90/P10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_p10: Option<f64>,
}

impl IndexSummary {
    /// Keeps only the named indices (of [`INDEX_NAMES`]).
    ///
    /// # Errors
    /// [`Error::Input`] for a name not in [`INDEX_NAMES`], listing them.
    pub fn retain(mut self, names: &[&str]) -> Result<Self> {
        if let Some(unknown) = names.iter().find(|n| !INDEX_NAMES.contains(n)) {
            return Err(Error::Input(format!("unknown index `{unknown}` (known: {})", INDEX_NAMES.join(", "))));
        }
        let keep = |name: &str| names.contains(&name);
        if !keep("gini") {
            self.gini = None;
        }
        if !keep("theil") {
            self.theil_t = None;
        }
        if !keep("mld") {
            self.mean_log_deviation = None;
        }
        if !keep("ge2") {
            self.half_squared_cv = None;
        }
        if !keep("atkinson") {
            self.atkinson.clear();
        }
        if !keep("cv") {
            self.coefficient_of_variation = None;
        }
        if !keep("palma") {
            self.palma = None;
        }
        if !keep("p90p10") {
            self.p90_p10 = None;
        }
        Ok(self)
    }
}

impl fmt::Display for IndexSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Inequality of {} values (mean {:.6})", self.n, self.mean)?;
        let line = |f: &mut fmt::Formatter<'_>, label: &str, value: Option<f64>| match value {
            Some(v) => write!(f, "\n  {label:<25} {v:.6}"),
            None => Ok(()),
        };
        line(f, "Gini", self.gini)?;
        line(f, "Theil T, GE(1)", self.theil_t)?;
        line(f, "Mean log deviation, GE(0)", self.mean_log_deviation)?;
        line(f, "GE(2)", self.half_squared_cv)?;
        for (e, a) in &self.atkinson {
            line(f, &format!("Atkinson({e})"), Some(*a))?;
        }
        line(f, "Coefficient of variation", self.coefficient_of_variation)?;
        line(f, "Palma ratio", self.palma)?;
        line(f, "P90/P10", self.p90_p10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_gini(x: &[f64], w: &[f64]) -> f64 {
        let total: f64 = w.iter().sum();
        let mean = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / total;
        let mut sum = 0.0;
        for i in 0..x.len() {
            for j in 0..x.len() {
                sum += w[i] * w[j] * (x[i] - x[j]).abs();
            }
        }
        sum / (2.0 * total * total * mean)
    }

    #[test]
    fn retain_keeps_only_the_named_indices() {
        let summary = Distribution::new(&[1.0, 2.0, 3.0, 4.0]).unwrap().summary(&[0.5, 1.0]).unwrap();
        let kept = summary.clone().retain(&["gini", "atkinson"]).unwrap();
        assert_eq!(kept.gini, summary.gini);
        assert_eq!(kept.atkinson, summary.atkinson);
        assert!(kept.theil_t.is_none() && kept.palma.is_none() && kept.mean_log_deviation.is_none());
        let text = kept.to_string();
        assert!(text.contains("Gini") && text.contains("Atkinson(0.5)") && !text.contains("Theil"));
        assert!(summary.retain(&["gni"]).unwrap_err().to_string().contains("gini"));
    }

    #[test]
    fn atkinson_stays_right_for_large_and_infinite_aversion() {
        let d = Distribution::new(&[1.0, 2.0, 4.0, 8.0]).unwrap();
        // Direct formula where it does not overflow.
        let direct = |e: f64| {
            1.0 - ([1.0f64, 2.0, 4.0, 8.0].iter().map(|x| x.powf(1.0 - e)).sum::<f64>() / 4.0).powf(1.0 / (1.0 - e))
                / 3.75
        };
        for e in [0.5, 2.0, 5.0] {
            assert!((d.atkinson(e).unwrap() - direct(e)).abs() < 1e-12);
        }
        // Large ε tends to 1 − min/mean, without overflow; ε = ∞ is that limit.
        let limit = 1.0 - 1.0 / 3.75;
        assert!((d.atkinson(2000.0).unwrap() - limit).abs() < 1e-3);
        assert!((d.atkinson(f64::INFINITY).unwrap() - limit).abs() < 1e-15);
        assert!(d.atkinson(f64::NAN).is_err());
        // Large values with large ε: the direct formula overflows, the logarithms do not.
        let big = Distribution::new(&[1e200, 2e200]).unwrap();
        let a = big.atkinson(3.0).unwrap();
        assert!(a.is_finite() && a > 0.0 && a < 1.0, "{a}");
    }

    #[test]
    fn hand_computed_values() {
        let d = Distribution::new(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        // Σ|xi − xj| = 20, n = 4, μ = 2.5: 20 / (2 · 16 · 2.5) = 0.25.
        assert!((d.gini() - 0.25).abs() < 1e-15);
        assert!((d.gini_sample() - 0.25 * 4.0 / 3.0).abs() < 1e-15);
        let cv = (1.25f64).sqrt() / 2.5;
        assert!((d.coefficient_of_variation() - cv).abs() < 1e-15);
        assert!((d.generalized_entropy(2.0).unwrap() - cv * cv / 2.0).abs() < 1e-15);
        assert!(Distribution::new(&[0.0, 1.0]).unwrap().mean_log_deviation().is_err());
        assert!(Distribution::new(&[-1.0, 1.0]).is_err());
    }

    proptest! {
        #[test]
        fn gini_matches_the_double_sum(values in proptest::collection::vec(0.01f64..100.0, 1..40), seed in 0u64..1000) {
            let weights: Vec<f64> = (0..values.len()).map(|i| 1.0 + ((i as u64 * 7 + seed) % 5) as f64).collect();
            let d = Distribution::weighted(&values, &weights).unwrap();
            prop_assert!((d.gini() - brute_gini(&values, &weights)).abs() < 1e-12);
        }

        #[test]
        fn indices_are_scale_and_replication_invariant(values in proptest::collection::vec(0.01f64..100.0, 2..30), scale in 0.1f64..50.0) {
            let d = Distribution::new(&values).unwrap();
            let scaled: Vec<f64> = values.iter().map(|v| v * scale).collect();
            let s = Distribution::new(&scaled).unwrap();
            let doubled: Vec<f64> = values.iter().chain(&values).copied().collect();
            let r = Distribution::new(&doubled).unwrap();
            for other in [&s, &r] {
                prop_assert!((d.gini() - other.gini()).abs() < 1e-12);
                prop_assert!((d.theil() - other.theil()).abs() < 1e-12);
                prop_assert!((d.atkinson(2.0).unwrap() - other.atkinson(2.0).unwrap()).abs() < 1e-12);
                prop_assert!((d.coefficient_of_variation() - other.coefficient_of_variation()).abs() < 1e-12);
            }
        }

        #[test]
        fn a_transfer_from_rich_to_poor_lowers_inequality(values in proptest::collection::vec(1.0f64..100.0, 3..30)) {
            // Pigou–Dalton: move a little from the richest to the poorest, preserving the order.
            let d = Distribution::new(&values).unwrap();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len();
            let gap = sorted[n - 1] - sorted[0];
            prop_assume!(gap > 1e-3);
            let t = gap / 4.0;
            sorted[0] += t;
            sorted[n - 1] -= t;
            let e = Distribution::new(&sorted).unwrap();
            prop_assert!(e.gini() < d.gini());
            prop_assert!(e.theil() < d.theil());
            prop_assert!(e.mean_log_deviation().unwrap() < d.mean_log_deviation().unwrap());
        }
    }
}
