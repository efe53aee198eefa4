//! How good a partition is: average silhouette width, point-biserial correlation and Hubert's C,
//! as WeightedCluster's `wcClusterQuality` (Studer 2013), for objects standing for several
//! identical ones.

use crate::condensed::Condensed;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Quality measures of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// The number of clusters.
    pub clusters: usize,
    /// Average silhouette width (Kaufman and Rousseeuw): the mean of
    /// $s_i = (b_i - a_i)/\max(a_i, b_i)$, where $a_i$ is the mean distance to the other members
    /// of $i$'s cluster and $b_i$ the least mean distance to another cluster (0 in a cluster of
    /// one). Higher is better.
    pub asw: f64,
    /// Point-biserial correlation between the distance of a pair and whether its members are in
    /// different clusters. Higher is better.
    pub pbc: f64,
    /// Hubert's C: $(S - S_{\min})/(S_{\max} - S_{\min})$, with $S$ the sum of the $N_w$
    /// within-cluster distances and $S_{\min}$, $S_{\max}$ the sums of the $N_w$ smallest and
    /// largest distances. Lower is better.
    pub hc: f64,
}

/// The quality of the partition `clusters` (labels from 0 or 1, any numbering) of the objects
/// of `distances`, object `i` standing for `weights[i]` identical objects (all 1 when `None`);
/// every measure equals its value on the expanded data.
///
/// # Errors
/// [`Error::Length`] for labels or weights of the wrong length.
pub fn quality(distances: &Condensed, weights: Option<&[f64]>, clusters: &[usize]) -> Result<Quality> {
    let n = distances.size();
    let ones = vec![1.0; n];
    let w = weights.unwrap_or(&ones);
    for (what, len) in [("the cluster labels", clusters.len()), ("the weights", w.len())] {
        if len != n {
            return Err(Error::Length { what: what.into(), expected: n, found: len });
        }
    }
    let labels = super::ward::number_by_first_appearance(clusters);
    let k = labels.iter().copied().max().unwrap_or(0);
    let mut size = vec![0.0; k];
    for i in 0..n {
        size[labels[i] - 1] += w[i];
    }
    // Silhouettes: weighted sums of distances from each object to each cluster.
    let mut total_weight = 0.0;
    let mut silhouette_sum = 0.0;
    let mut to_cluster = vec![0.0; k];
    for i in 0..n {
        to_cluster.fill(0.0);
        for j in 0..n {
            to_cluster[labels[j] - 1] += w[j] * distances.get(i, j);
        }
        let own = labels[i] - 1;
        let s = if size[own] <= 1.0 {
            0.0
        } else {
            let a = to_cluster[own] / (size[own] - 1.0);
            let b = (0..k).filter(|&c| c != own).map(|c| to_cluster[c] / size[c]).fold(f64::INFINITY, f64::min);
            if !b.is_finite() || a.max(b) == 0.0 {
                0.0
            } else {
                (b - a) / a.max(b)
            }
        };
        silhouette_sum += w[i] * s;
        total_weight += w[i];
    }
    // Every pair of expanded objects: (distance, whether in different clusters, how many pairs).
    let mut pairs: Vec<(f64, bool, f64)> = Vec::with_capacity(distances.values().len() + n);
    for i in 0..n {
        if w[i] > 1.0 {
            pairs.push((0.0, false, w[i] * (w[i] - 1.0) / 2.0));
        }
        for j in (i + 1)..n {
            pairs.push((distances.get(i, j), labels[i] != labels[j], w[i] * w[j]));
        }
    }
    let (mut count, mut sum_d, mut sum_dd, mut sum_x, mut sum_dx) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut within_count, mut within_sum) = (0.0, 0.0);
    for &(d, between, m) in &pairs {
        let x = f64::from(u8::from(between));
        count += m;
        sum_d += m * d;
        sum_dd += m * d * d;
        sum_x += m * x;
        sum_dx += m * d * x;
        if !between {
            within_count += m;
            within_sum += m * d;
        }
    }
    let covariance = sum_dx / count - (sum_d / count) * (sum_x / count);
    let var_d = sum_dd / count - (sum_d / count).powi(2);
    let var_x = sum_x / count - (sum_x / count).powi(2);
    let pbc = covariance / (var_d * var_x).sqrt();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let smallest = sum_of_first(pairs.iter().map(|p| (p.0, p.2)), within_count);
    let largest = sum_of_first(pairs.iter().rev().map(|p| (p.0, p.2)), within_count);
    let hc = (within_sum - smallest) / (largest - smallest);
    Ok(Quality { clusters: k, asw: silhouette_sum / total_weight, pbc, hc })
}

/// The sum of the first `count` values, each repeated as often as its multiplicity says.
fn sum_of_first(values: impl Iterator<Item = (f64, f64)>, count: f64) -> f64 {
    let mut left = count;
    let mut sum = 0.0;
    for (d, m) in values {
        if left <= 0.0 {
            break;
        }
        let take = m.min(left);
        sum += take * d;
        left -= take;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(x: &[f64]) -> Condensed {
        let mut values = Vec::new();
        for i in 0..x.len() {
            values.extend(((i + 1)..x.len()).map(|j| (x[i] - x[j]).abs()));
        }
        Condensed::new(x.len(), values).unwrap()
    }

    #[test]
    fn measures_match_hand_values_and_expanded_data() {
        // Two tight groups; each silhouette 1 - a/b by hand.
        let q = quality(&line(&[0.0, 1.0, 10.0, 12.0]), None, &[1, 1, 2, 2]).unwrap();
        let s = [1.0 - 1.0 / 11.0, 1.0 - 1.0 / 10.0, 1.0 - 2.0 / 9.5, 1.0 - 2.0 / 11.5];
        assert!((q.asw - s.iter().sum::<f64>() / 4.0).abs() < 1e-12, "{q:?}");
        assert!(q.hc.abs() < 1e-12);
        assert!(q.pbc > 0.9);
        let expanded = quality(&line(&[0.0, 0.0, 1.0, 10.0, 12.0, 12.0, 12.0]), None, &[1, 1, 1, 2, 2, 2, 2]).unwrap();
        let weighted = quality(&line(&[0.0, 1.0, 10.0, 12.0]), Some(&[2.0, 1.0, 1.0, 3.0]), &[1, 1, 2, 2]).unwrap();
        for (a, b) in [(expanded.asw, weighted.asw), (expanded.pbc, weighted.pbc), (expanded.hc, weighted.hc)] {
            assert!((a - b).abs() < 1e-12, "{expanded:?} {weighted:?}");
        }
    }
}
