//! Between- and within-group decomposition of the generalised entropy indices (Shorrocks 1980):
//! with population shares $v_g$, value shares $s_g$ and group means $\mu_g$,
//! $GE(\alpha) = \sum_g v_g^{1-\alpha} s_g^\alpha GE_g(\alpha) + GE_B(\alpha)$, where $GE_B$ is the
//! index of the distribution in which everyone has their group's mean. For Theil's T the within
//! weights are $s_g$, for the mean log deviation $v_g$.

use crate::error::{Error, Result};
use crate::individual::Distribution;
use serde::Serialize;

/// A decomposition into within- and between-group inequality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntropyDecomposition {
    /// α.
    pub alpha: f64,
    /// GE(α) of the whole distribution.
    pub total: f64,
    /// Inequality within groups.
    pub within: f64,
    /// Inequality between group means.
    pub between: f64,
    /// Each group's own GE(α), in group-code order.
    pub by_group: Vec<f64>,
}

/// Decomposes GE(α) of `values` (with `weights`) by the group code of each value.
///
/// # Errors
/// As the indices themselves, and mismatched lengths.
pub fn decompose_entropy(values: &[f64], weights: &[f64], groups: &[u32], alpha: f64) -> Result<EntropyDecomposition> {
    if groups.len() != values.len() || weights.len() != values.len() {
        return Err(Error::Input("values, weights and groups differ in length".into()));
    }
    let whole = Distribution::weighted(values, weights)?;
    let total = whole.generalized_entropy(alpha)?;
    let count = groups.iter().max().map_or(0, |m| *m as usize + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &g) in groups.iter().enumerate() {
        members[g as usize].push(i);
    }
    let population: f64 = weights.iter().sum();
    let sum: f64 = values.iter().zip(weights).map(|(x, w)| x * w).sum();
    let mut within = 0.0;
    let mut by_group = Vec::with_capacity(count);
    let mut means = Vec::with_capacity(count);
    let mut group_weights = Vec::with_capacity(count);
    for rows in members.iter().filter(|m| !m.is_empty()) {
        let v: Vec<f64> = rows.iter().map(|&i| values[i]).collect();
        let w: Vec<f64> = rows.iter().map(|&i| weights[i]).collect();
        let group = Distribution::weighted(&v, &w)?;
        let g = group.generalized_entropy(alpha)?;
        let population_share = w.iter().sum::<f64>() / population;
        let value_share = v.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>() / sum;
        within += population_share.powf(1.0 - alpha) * value_share.powf(alpha) * g;
        by_group.push(g);
        means.push(group.mean());
        group_weights.push(w.iter().sum::<f64>());
    }
    let between = Distribution::weighted(&means, &group_weights)?.generalized_entropy(alpha)?;
    Ok(EntropyDecomposition { alpha, total, within, between, by_group })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn within_plus_between_is_the_total(values in proptest::collection::vec(0.1f64..100.0, 4..60), alpha in prop_oneof![Just(0.0), Just(1.0), Just(2.0), Just(0.5)]) {
            let groups: Vec<u32> = (0..values.len()).map(|i| (i % 3) as u32).collect();
            let weights: Vec<f64> = (0..values.len()).map(|i| 1.0 + (i % 4) as f64).collect();
            let d = decompose_entropy(&values, &weights, &groups, alpha).unwrap();
            prop_assert!((d.within + d.between - d.total).abs() < 1e-12 * d.total.max(1.0), "{:?}", d);
        }
    }
}
