//! Rates and their intervals: crude rates with exact Poisson intervals (Garwood 1936),
//! directly standardised rates with Dobson et al.'s (1991) intervals, rate ratios, and the
//! table of rates by deprivation decile.
//!
//! Exact Poisson limits for a count y: $\chi^2_{2y,\alpha/2}/2$ and $\chi^2_{2y+2,1-\alpha/2}/2$.
//! The directly standardised rate $\sum_i w_i y_i/n_i$ (standard weights $w_i$ summing to one)
//! has variance $v = \sum_i w_i^2 y_i/n_i^2$; Dobson's limits are
//! $\mathrm{DSR} + \sqrt{v/Y}\,(Y_{L,U} - Y)$ with $Y = \sum y_i$ and $Y_{L,U}$ its exact limits.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::fmt;
use strata_core::results::normal_quantile;

/// The exact (Garwood) interval for a Poisson count at `level`.
///
/// # Errors
/// [`Error::Specification`] for a negative or non-finite count or a level outside (0, 1).
pub fn poisson_interval(count: f64, level: f64) -> Result<(f64, f64)> {
    if !(count >= 0.0 && count.is_finite() && level > 0.0 && level < 1.0) {
        return Err(Error::Specification(format!(
            "a Poisson interval needs a count ≥ 0 and a level in (0, 1), not {count} and {level}"
        )));
    }
    let alpha = 1.0 - level;
    let lower = if count > 0.0 {
        ChiSquared::new(2.0 * count).map_or(f64::NAN, |d| d.inverse_cdf(alpha / 2.0) / 2.0)
    } else {
        0.0
    };
    let upper = ChiSquared::new(2.0 * count + 2.0).map_or(f64::NAN, |d| d.inverse_cdf(1.0 - alpha / 2.0) / 2.0);
    Ok((lower, upper))
}

/// A rate with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Events.
    pub count: f64,
    /// Population.
    pub population: f64,
    /// Events per `per` people.
    pub rate: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
    /// The rate's denominator (e.g. 10,000).
    pub per: f64,
}

/// The crude rate `per × count / population` with its exact Poisson interval.
///
/// # Errors
/// [`Error::Specification`] for a non-positive population or an invalid count or level.
pub fn crude_rate(count: f64, population: f64, per: f64, level: f64) -> Result<Rate> {
    if !(population > 0.0) {
        return Err(Error::Specification(format!("the population must be positive, not {population}")));
    }
    let (low, high) = poisson_interval(count, level)?;
    Ok(Rate {
        count,
        population,
        rate: per * count / population,
        lower: per * low / population,
        upper: per * high / population,
        per,
    })
}

/// The directly standardised rate of `counts` in strata with `populations`, weighted by a
/// standard population, with Dobson et al.'s interval.
///
/// # Errors
/// [`Error::Specification`] for arrays of different lengths, non-positive populations or a
/// standard that sums to zero.
pub fn standardised_rate(counts: &[f64], populations: &[f64], standard: &[f64], per: f64, level: f64) -> Result<Rate> {
    if counts.len() != populations.len() || counts.len() != standard.len() || counts.is_empty() {
        return Err(Error::Specification("counts, populations and standard differ in length".into()));
    }
    if populations.iter().any(|n| !(*n > 0.0)) {
        return Err(Error::Specification("every stratum population must be positive".into()));
    }
    let total_standard: f64 = standard.iter().sum();
    if !(total_standard > 0.0) {
        return Err(Error::Specification("the standard population sums to zero".into()));
    }
    let weights: Vec<f64> = standard.iter().map(|s| s / total_standard).collect();
    let dsr: f64 = (0..counts.len()).map(|i| weights[i] * counts[i] / populations[i]).sum();
    let variance: f64 = (0..counts.len()).map(|i| weights[i].powi(2) * counts[i] / populations[i].powi(2)).sum();
    let total: f64 = counts.iter().sum();
    let (low, high) = poisson_interval(total, level)?;
    let scale = if total > 0.0 { (variance / total).sqrt() } else { 0.0 };
    Ok(Rate {
        count: total,
        population: populations.iter().sum(),
        rate: per * dsr,
        lower: per * (dsr + scale * (low - total)).max(0.0),
        upper: per * (dsr + scale * (high - total)),
        per,
    })
}

/// A ratio of two rates with its interval on the log scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateRatio {
    /// The ratio.
    pub ratio: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

/// The ratio of rate 1 to rate 2, with `SE(log RR) = √(1/y₁ + 1/y₂)`.
///
/// # Errors
/// [`Error::Specification`] for a zero count or population.
pub fn rate_ratio(count1: f64, population1: f64, count2: f64, population2: f64, level: f64) -> Result<RateRatio> {
    if !(count1 > 0.0 && count2 > 0.0 && population1 > 0.0 && population2 > 0.0) {
        return Err(Error::Specification("a rate ratio needs positive counts and populations".into()));
    }
    let ratio = (count1 / population1) / (count2 / population2);
    let se = (1.0 / count1 + 1.0 / count2).sqrt();
    let z = normal_quantile(0.5 + level / 2.0);
    Ok(RateRatio { ratio, lower: ratio * (-z * se).exp(), upper: ratio * (z * se).exp() })
}

/// Rates by deprivation group, least deprived first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecileTable {
    /// One row per group: its label and rate.
    pub rows: Vec<(String, Rate)>,
    /// The most deprived group's rate over the least deprived's.
    pub ratio_most_to_least: RateRatio,
}

/// Sums counts and populations by group (e.g. IMD decile) and computes each group's rate.
/// `order` lists the group labels from least to most deprived.
///
/// # Errors
/// As [`crude_rate`] and [`rate_ratio`]; [`Error::Specification`] for a group with no
/// population or fewer than two groups.
pub fn decile_table(
    groups: &[String],
    counts: &[f64],
    populations: &[f64],
    order: &[String],
    per: f64,
    level: f64,
) -> Result<DecileTable> {
    if order.len() < 2 {
        return Err(Error::Specification("a rate table needs at least two groups".into()));
    }
    let mut sums = vec![(0.0, 0.0); order.len()];
    for ((g, c), n) in groups.iter().zip(counts).zip(populations) {
        let k = order
            .iter()
            .position(|o| o == g)
            .ok_or_else(|| Error::Specification(format!("group `{g}` is not in the order")))?;
        sums[k].0 += c;
        sums[k].1 += n;
    }
    let rows = order
        .iter()
        .zip(&sums)
        .map(|(label, &(c, n))| crude_rate(c, n, per, level).map(|r| (label.clone(), r)))
        .collect::<Result<Vec<_>>>()?;
    let (first, last) = (sums[0], sums[sums.len() - 1]);
    Ok(DecileTable { rows, ratio_most_to_least: rate_ratio(last.0, last.1, first.0, first.1, level)? })
}

impl fmt::Display for DecileTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = self.rows.first().map_or(10_000.0, |r| r.1.per);
        writeln!(
            f,
            "{:<10} {:>10} {:>12} {:>12} {:>22}",
            "group",
            "events",
            "population",
            format!("rate/{per}"),
            "exact 95% CI"
        )?;
        for (label, r) in &self.rows {
            writeln!(
                f,
                "{label:<10} {:>10} {:>12} {:>12.2} {:>10.2} to {:>8.2}",
                r.count, r.population, r.rate, r.lower, r.upper
            )?;
        }
        let rr = &self.ratio_most_to_least;
        write!(f, "most / least deprived: {:.2} (95% CI {:.2} to {:.2})", rr.ratio, rr.lower, rr.upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_poisson_limits_match_the_tables() {
        // Exact 95% limits as tabulated (Ulm 1990) and given by R's poisson.test(y)$conf.int.
        let table = [
            (0.0, 0.0, 3.688_879_454_11),
            (1.0, 0.025_317_807_984_3, 5.571_643_390_938_9),
            (5.0, 1.623_486_390_12, 11.668_332_079_32),
            (10.0, 4.795_388_696_13, 18.390_356_042_02),
            (100.0, 81.363_991_250_9, 121.626_793_792_4),
        ];
        for (y, low, high) in table {
            let (l, h) = poisson_interval(y, 0.95).unwrap();
            assert!((l - low).abs() < 1e-9 * low.max(1.0) && (h - high).abs() < 1e-9 * high, "{y}: {l} {h}");
        }
    }

    #[test]
    fn standardised_rates_and_ratios() {
        // With the study population as the standard, the DSR is the crude rate.
        let r = standardised_rate(&[10.0, 30.0], &[1000.0, 2000.0], &[1000.0, 2000.0], 1000.0, 0.95).unwrap();
        assert!((r.rate - 40.0 / 3.0).abs() < 1e-12);
        let rr = rate_ratio(20.0, 1000.0, 10.0, 1000.0, 0.95).unwrap();
        assert!((rr.ratio - 2.0).abs() < 1e-15);
        let se: f64 = (0.05f64 + 0.1).sqrt();
        assert!((rr.upper - 2.0 * (1.959_963_984_540_054 * se).exp()).abs() < 1e-9);
        assert!(crude_rate(1.0, 0.0, 1.0, 0.95).is_err());
    }
}
