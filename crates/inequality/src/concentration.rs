//! The concentration index of an outcome over a ranking variable (individual or area data),
//! its corrections for bounded outcomes, and its decomposition by determinants.
//!
//! With weights $w_i$ and the fractional rank $R_i$ (the weighted ridit of the ranking variable,
//! ties sharing their average rank), $C = 2\,\mathrm{cov}_w(y, R)/\mu$ (Kakwani, Wagstaff &
//! van Doorslaer 1997). For an outcome bounded in $[a, b]$: Wagstaff's correction
//! $C/(1 - \mu^*)$ and Erreygers' $4\mu^* C$ with $\mu^* = (\mu - a)/(b - a)$ (Wagstaff 2005;
//! Erreygers 2009). The decomposition (Wagstaff, van Doorslaer & Watanabe 2003) regresses y on
//! determinants $x_k$ by weighted least squares and writes
//! $C = \sum_k (\beta_k \bar x_k/\mu) C_k + GC_\varepsilon/\mu$.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use strata_core::numerics::{Cholesky, Matrix};

fn check(values: &[f64], weights: &[f64], what: &str) -> Result<()> {
    if values.len() != weights.len() {
        return Err(Error::Input(format!("{} {what} values but {} weights", values.len(), weights.len())));
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidValue {
            input: what.into(),
            index,
            value: values[index],
            reason: format!("{what} must be finite"),
        });
    }
    if let Some(index) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::InvalidValue {
            input: "weights".into(),
            index,
            value: weights[index],
            reason: "weights must be non-negative".into(),
        });
    }
    Ok(())
}

/// The weighted fractional rank of each observation by `rank` (ties share their mean rank).
///
/// # Errors
/// [`Error::Input`] for mismatched lengths or zero total weight.
pub fn fractional_rank(rank: &[f64], weights: &[f64]) -> Result<Vec<f64>> {
    check(rank, weights, "rank")?;
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(Error::Input("the weights sum to zero".into()));
    }
    let mut order: Vec<(f64, usize)> = rank.iter().copied().zip(0..).collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = vec![0.0; rank.len()];
    let mut cumulative = 0.0;
    let mut k = 0;
    while k < order.len() {
        let mut j = k;
        let mut tied = 0.0;
        while j < order.len() && order[j].0 == order[k].0 {
            tied += weights[order[j].1];
            j += 1;
        }
        let ridit = (cumulative + tied / 2.0) / total;
        for &(_, i) in &order[k..j] {
            out[i] = ridit;
        }
        cumulative += tied;
        k = j;
    }
    Ok(out)
}

/// `2 cov_w(y, R) / mean_w(y)`.
fn index_from_ranks(outcome: &[f64], ranks: &[f64], weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().sum();
    let mean = outcome.iter().zip(weights).map(|(y, w)| y * w).sum::<f64>() / total;
    let mean_rank = ranks.iter().zip(weights).map(|(r, w)| r * w).sum::<f64>() / total;
    let covariance: f64 =
        (0..outcome.len()).map(|i| weights[i] * (outcome[i] - mean) * (ranks[i] - mean_rank)).sum::<f64>() / total;
    2.0 * covariance / mean
}

/// A concentration index with its corrections and curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// The concentration index.
    pub index: f64,
    /// Its delta-method standard error (Kakwani, Wagstaff & van Doorslaer 1997), for equally
    /// weighted observations; `None` with unequal weights (use the bootstrap).
    pub std_error: Option<f64>,
    /// The weighted mean outcome.
    pub mean: f64,
    /// Wagstaff's correction, when bounds were given.
    pub wagstaff: Option<f64>,
    /// Erreygers' correction, when bounds were given.
    pub erreygers: Option<f64>,
    /// The concentration curve: (cumulative population share, cumulative outcome share) in
    /// rank order, at most 1,001 points.
    pub curve: Vec<(f64, f64)>,
}

/// The concentration index of `outcome` over `rank` with `weights`, optionally with the bounds
/// of a bounded outcome.
///
/// # Errors
/// Mismatched lengths, non-finite values, negative weights, a zero mean or bounds that do not
/// contain the outcome.
pub fn concentration(
    outcome: &[f64],
    rank: &[f64],
    weights: &[f64],
    bounds: Option<(f64, f64)>,
) -> Result<Concentration> {
    check(outcome, weights, "outcome")?;
    check(rank, weights, "rank")?;
    // One sort of (rank, weight, outcome) triples; everything else is a pass in rank order.
    let mut sorted: Vec<(f64, f64, f64)> = (0..outcome.len()).map(|i| (rank[i], weights[i], outcome[i])).collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = sorted.iter().map(|t| t.1).sum();
    if total <= 0.0 {
        return Err(Error::Input("the weights sum to zero".into()));
    }
    let mean = sorted.iter().map(|t| t.1 * t.2).sum::<f64>() / total;
    if mean == 0.0 {
        return Err(Error::Input("the mean outcome is zero: the concentration index is undefined".into()));
    }
    // Σ w y R over tie groups, each sharing its mid-point ridit; the weighted mean ridit is ½.
    let mut weighted_sum = 0.0;
    let mut cumulative = 0.0;
    let mut k = 0;
    while k < sorted.len() {
        let mut j = k;
        let (mut tied_weight, mut tied_outcome) = (0.0, 0.0);
        while j < sorted.len() && sorted[j].0 == sorted[k].0 {
            tied_weight += sorted[j].1;
            tied_outcome += sorted[j].1 * sorted[j].2;
            j += 1;
        }
        weighted_sum += tied_outcome * (cumulative + tied_weight / 2.0) / total;
        cumulative += tied_weight;
        k = j;
    }
    let index = 2.0 * (weighted_sum / total - mean * 0.5) / mean;
    let (wagstaff, erreygers) = match bounds {
        Some((low, high)) => {
            if let Some(i) = outcome.iter().position(|y| *y < low || *y > high) {
                return Err(Error::InvalidValue {
                    input: "outcome".into(),
                    index: i,
                    value: outcome[i],
                    reason: format!("outside the bounds [{low}, {high}]"),
                });
            }
            let scaled = (mean - low) / (high - low);
            (Some(index / (1.0 - scaled)), Some(4.0 * scaled * index))
        }
        None => (None, None),
    };
    let total_outcome = mean * total;
    let std_error = delta_std_error(&sorted, index, mean);
    let step = (sorted.len() / 1000).max(1);
    let mut curve = vec![(0.0, 0.0)];
    let (mut p, mut l) = (0.0, 0.0);
    for (k, &(_, w, y)) in sorted.iter().enumerate() {
        p += w / total;
        l += w * y / total_outcome;
        if (k + 1) % step == 0 || k + 1 == sorted.len() {
            curve.push((p, l));
        }
    }
    Ok(Concentration { index, std_error, mean, wagstaff, erreygers, curve })
}

/// Kakwani, Wagstaff & van Doorslaer's (1997) variance for n equally weighted observations in
/// rank order: `var(C) = (Σ aᵢ²/n − (1 + C)²)/n`, with
/// `aᵢ = (yᵢ/μ)(2Rᵢ − 1 − C) + 2 − qᵢ₋₁ − qᵢ` and `qᵢ` the cumulative outcome share.
fn delta_std_error(sorted: &[(f64, f64, f64)], index: f64, mean: f64) -> Option<f64> {
    let first = sorted.first()?.1;
    if sorted.iter().any(|t| t.1 != first) {
        return None;
    }
    let n = sorted.len() as f64;
    let total: f64 = sorted.iter().map(|t| t.2).sum();
    let (mut previous_share, mut sum_a2) = (0.0, 0.0);
    for (i, &(_, _, y)) in sorted.iter().enumerate() {
        let ridit = (i as f64 + 0.5) / n;
        let share = previous_share + y / total;
        let a = (y / mean) * (2.0 * ridit - 1.0 - index) + 2.0 - previous_share - share;
        sum_a2 += a * a;
        previous_share = share;
    }
    Some(((sum_a2 / n - (1.0 + index).powi(2)) / n).max(0.0).sqrt())
}

/// One determinant's part of a concentration index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The determinant.
    pub name: String,
    /// Its regression coefficient.
    pub coefficient: f64,
    /// Its elasticity at the means, `β x̄ / μ`.
    pub elasticity: f64,
    /// Its own concentration index.
    pub concentration: f64,
    /// `elasticity × concentration`.
    pub contribution: f64,
}

/// The decomposition of a concentration index by determinants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcentrationDecomposition {
    /// The outcome's concentration index.
    pub index: f64,
    /// The determinants' contributions.
    pub contributions: Vec<Contribution>,
    /// The generalised concentration index of the residual over the mean, `2 cov(ε, R)/μ`.
    pub residual: f64,
}

/// Decomposes the concentration index of `outcome` over `rank` by the `determinants`
/// (name, values), from the weighted least-squares regression of the outcome on them.
///
/// # Errors
/// As [`concentration`], and a singular regression.
pub fn decompose(
    outcome: &[f64],
    rank: &[f64],
    weights: &[f64],
    determinants: &[(&str, Vec<f64>)],
) -> Result<ConcentrationDecomposition> {
    let n = outcome.len();
    check(outcome, weights, "outcome")?;
    for (name, values) in determinants {
        check(values, weights, name)?;
    }
    let ranks = fractional_rank(rank, weights)?;
    let total: f64 = weights.iter().sum();
    let mean = outcome.iter().zip(weights).map(|(y, w)| y * w).sum::<f64>() / total;
    let p = determinants.len() + 1;
    let x = Matrix::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { determinants[j - 1].1[i] });
    let xtwx = x.weighted_crossprod(Some(weights));
    let wy: Vec<f64> = outcome.iter().zip(weights).map(|(y, w)| y * w).collect();
    let beta = Cholesky::new(&xtwx)
        .map_err(|_| Error::Input("the determinants are collinear: the regression is singular".into()))?
        .solve(&x.transpose_times(&wy));
    let fitted = x.times(&beta);
    let residuals: Vec<f64> = outcome.iter().zip(&fitted).map(|(y, f)| y - f).collect();
    let mean_rank = ranks.iter().zip(weights).map(|(r, w)| r * w).sum::<f64>() / total;
    let residual = 2.0 * (0..n).map(|i| weights[i] * residuals[i] * (ranks[i] - mean_rank)).sum::<f64>() / total / mean;
    let contributions = determinants
        .iter()
        .enumerate()
        .map(|(k, (name, values))| {
            let x_mean = values.iter().zip(weights).map(|(x, w)| x * w).sum::<f64>() / total;
            let elasticity = beta[k + 1] * x_mean / mean;
            let own = index_from_ranks(values, &ranks, weights);
            Contribution {
                name: (*name).to_string(),
                coefficient: beta[k + 1],
                elasticity,
                concentration: own,
                contribution: elasticity * own,
            }
        })
        .collect();
    Ok(ConcentrationDecomposition { index: index_from_ranks(outcome, &ranks, weights), contributions, residual })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_index_and_corrections() {
        // y = 1, 2, 3, 4 ranked in that order, equal weights: R = (2y − 1)/8, so
        // cov(y, R) = var(y)/4 = 0.3125 and C = 2 · 0.3125 / 2.5 = 0.25.
        let c = concentration(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0], &[1.0; 4], Some((0.0, 10.0))).unwrap();
        assert!((c.index - 0.25).abs() < 1e-15);
        assert!((c.wagstaff.unwrap() - 0.25 / 0.75).abs() < 1e-15);
        assert!((c.erreygers.unwrap() - 4.0 * 0.25 * 0.25).abs() < 1e-15);
        assert_eq!(c.curve.len(), 5);
        assert!(c.std_error.is_some_and(|se| se > 0.0));
        let weighted =
            concentration(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 1.0, 1.0], None).unwrap();
        assert_eq!(weighted.std_error, None);
        assert!(concentration(&[1.0, 20.0], &[1.0, 2.0], &[1.0, 1.0], Some((0.0, 10.0))).is_err());
    }

    #[test]
    fn the_delta_standard_error_agrees_with_the_bootstrap() {
        let mut rng = strata_core::random::Rng::new(11);
        let n = 2000;
        let rank: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let y: Vec<f64> = rank.iter().map(|r| (0.3 * r + 0.5 * rng.normal()).exp()).collect();
        let w = vec![1.0; n];
        let c = concentration(&y, &rank, &w, None).unwrap();
        let pick = |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let statistic =
            |idx: &[usize]| Ok(concentration(&pick(&y, idx), &pick(&rank, idx), &pick(&w, idx), None)?.index);
        let boot = crate::bootstrap::bootstrap(
            n,
            None,
            statistic,
            400,
            0.95,
            crate::bootstrap::BootstrapMethod::Percentile,
            &mut strata_core::random::Rng::new(2),
        )
        .unwrap();
        let se = c.std_error.unwrap();
        assert!((se / boot.std_error - 1.0).abs() < 0.15, "delta {se} vs bootstrap {}", boot.std_error);
    }

    proptest! {
        #[test]
        fn the_one_sort_index_equals_the_covariance_form(seed in 0u64..300) {
            let mut rng = strata_core::random::Rng::new(seed);
            let n = 40;
            let rank: Vec<f64> = (0..n).map(|_| (rng.uniform() * 8.0).floor()).collect();
            let y: Vec<f64> = (0..n).map(|_| rng.uniform() + 0.1).collect();
            let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
            let ranks = fractional_rank(&rank, &w).unwrap();
            let c = concentration(&y, &rank, &w, None).unwrap();
            prop_assert!((c.index - index_from_ranks(&y, &ranks, &w)).abs() < 1e-12);
        }

        #[test]
        fn the_decomposition_adds_up(seed in 0u64..500) {
            let mut rng = strata_core::random::Rng::new(seed);
            let n = 60;
            let rank: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let x1: Vec<f64> = rank.iter().map(|r| r + rng.normal()).collect();
            let x2: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
            let y: Vec<f64> = (0..n).map(|i| 5.0 + x1[i] + 2.0 * x2[i] + 0.3 * rng.normal()).collect();
            let weights: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
            let d = decompose(&y, &rank, &weights, &[("x1", x1), ("x2", x2)]).unwrap();
            let total: f64 = d.contributions.iter().map(|c| c.contribution).sum::<f64>() + d.residual;
            prop_assert!((total - d.index).abs() < 1e-12, "{} vs {}", total, d.index);
        }
    }
}
