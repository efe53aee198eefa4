//! Seeded bootstrap intervals for any index: percentile and bias-corrected accelerated (BCa,
//! Efron 1987), resampling observations or whole clusters (e.g. local authorities).
//!
//! BCa's acceleration comes from a jackknife: leave-one-out over observations (or clusters),
//! or, above 2,000 units, leave-one-block-out over 1,000 blocks of consecutive units.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};
use strata_core::random::{Replicates, Rng};
use strata_core::results::normal_quantile;

/// Which bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootstrapMethod {
    /// Quantiles of the bootstrap distribution.
    Percentile,
    /// Bias-corrected and accelerated quantiles.
    Bca,
}

/// A bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    /// The index on the full data.
    pub estimate: f64,
    /// Standard deviation of the bootstrap replicates.
    pub std_error: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
    /// The method.
    pub method: BootstrapMethod,
    /// Number of replicates.
    pub replicates: usize,
}

/// Bootstraps `statistic`, which computes the index from a list of observation indices (with
/// repeats). With `clusters` (a cluster code per observation) whole clusters are resampled.
///
/// # Errors
/// [`Error::Input`] for fewer than two units or replicates, or a level outside (0, 1); errors of
/// the statistic itself.
pub fn bootstrap(
    n: usize,
    clusters: Option<&[u32]>,
    statistic: impl Fn(&[usize]) -> Result<f64>,
    replicates: usize,
    level: f64,
    method: BootstrapMethod,
    rng: &mut Rng,
) -> Result<BootstrapInterval> {
    if replicates < 2 || !(level > 0.0 && level < 1.0) {
        return Err(Error::Input("the bootstrap needs at least two replicates and a level in (0, 1)".into()));
    }
    let units: Vec<Vec<usize>> = match clusters {
        Some(codes) => {
            if codes.len() != n {
                return Err(Error::Input(format!("{} cluster codes for {n} observations", codes.len())));
            }
            let count = codes.iter().max().map_or(0, |m| *m as usize + 1);
            let mut members = vec![Vec::new(); count];
            for (i, &c) in codes.iter().enumerate() {
                members[c as usize].push(i);
            }
            members.retain(|m| !m.is_empty());
            members
        }
        None => (0..n).map(|i| vec![i]).collect(),
    };
    if units.len() < 2 {
        return Err(Error::Input("the bootstrap needs at least two observations or clusters".into()));
    }
    let all: Vec<usize> = (0..n).collect();
    let estimate = statistic(&all)?;
    let mut draws = Vec::with_capacity(replicates);
    let mut sample = Vec::with_capacity(n);
    let task = strata_core::progress::task("bootstrap replicates", replicates as u64);
    for _ in 0..replicates {
        sample.clear();
        for _ in 0..units.len() {
            sample.extend_from_slice(&units[rng.index(units.len())]);
        }
        draws.push(statistic(&sample)?);
        task.advance(1);
    }
    drop(task);
    let draws = Replicates::new(draws);
    let alpha = (1.0 - level) / 2.0;
    let (p_low, p_high) = match method {
        BootstrapMethod::Percentile => (alpha, 1.0 - alpha),
        BootstrapMethod::Bca => {
            let below = draws.sorted().iter().filter(|&&d| d < estimate).count() as f64 / replicates as f64;
            let z0 = normal_quantile(below.clamp(0.5 / replicates as f64, 1.0 - 0.5 / replicates as f64));
            let acceleration = jackknife_acceleration(&units, &statistic)?;
            let normal = Normal::standard();
            let adjust = |p: f64| {
                let z = normal_quantile(p);
                normal.cdf(z0 + (z0 + z) / (1.0 - acceleration * (z0 + z)))
            };
            (adjust(alpha), adjust(1.0 - alpha))
        }
    };
    Ok(BootstrapInterval {
        estimate,
        std_error: draws.std_dev(),
        lower: draws.quantile(p_low),
        upper: draws.quantile(p_high),
        level,
        method,
        replicates,
    })
}

fn jackknife_acceleration(units: &[Vec<usize>], statistic: &impl Fn(&[usize]) -> Result<f64>) -> Result<f64> {
    let blocks = units.len().min(if units.len() > 2000 { 1000 } else { units.len() });
    let size = units.len().div_ceil(blocks);
    let mut values = Vec::with_capacity(blocks);
    let mut kept = Vec::new();
    for b in 0..blocks {
        kept.clear();
        for (u, members) in units.iter().enumerate() {
            if u / size != b {
                kept.extend_from_slice(members);
            }
        }
        if kept.len() < units.iter().map(Vec::len).sum::<usize>() {
            values.push(statistic(&kept)?);
        }
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let (mut cube, mut square) = (0.0, 0.0);
    for v in &values {
        cube += (mean - v).powi(3);
        square += (mean - v).powi(2);
    }
    Ok(if square > 0.0 { cube / (6.0 * square.powf(1.5)) } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_a_normal_sample_has_the_textbook_interval() {
        let mut rng = Rng::new(3);
        let values: Vec<f64> = (0..400).map(|_| rng.normal()).collect();
        let mean = |idx: &[usize]| Ok(idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64);
        for method in [BootstrapMethod::Percentile, BootstrapMethod::Bca] {
            let interval = bootstrap(400, None, mean, 2000, 0.95, method, &mut Rng::new(1)).unwrap();
            // The standard error of a mean of 400 standard normals is 0.05.
            assert!((interval.std_error - 0.05).abs() < 0.006, "{interval:?}");
            assert!(((interval.upper - interval.lower) / (2.0 * 1.96 * 0.05) - 1.0).abs() < 0.15, "{interval:?}");
        }
        let same_seed = bootstrap(400, None, mean, 50, 0.9, BootstrapMethod::Percentile, &mut Rng::new(9)).unwrap();
        assert_eq!(
            same_seed,
            bootstrap(400, None, mean, 50, 0.9, BootstrapMethod::Percentile, &mut Rng::new(9)).unwrap()
        );
    }
}
