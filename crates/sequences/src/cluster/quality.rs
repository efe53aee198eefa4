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
    Pairs::new(distances, weights)?.quality(clusters)
}

/// The distances of every pair of (expanded) objects, sorted once for Hubert's C of many
/// partitions.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    distances: &'a Condensed,
    weights: Vec<f64>,
    /// Distinct distances in increasing order with how many pairs have them, and the running
    /// sums of pair counts and of distances.
    sorted: Vec<f64>,
    cumulative_count: Vec<f64>,
    cumulative_sum: Vec<f64>,
}

impl<'a> Pairs<'a> {
    /// Sorts the pairs of `distances`, object `i` standing for `weights[i]` objects.
    ///
    /// # Errors
    /// [`Error::Length`] for weights of the wrong length.
    pub fn new(distances: &'a Condensed, weights: Option<&[f64]>) -> Result<Self> {
        let n = distances.size();
        let weights = weights.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
        if weights.len() != n {
            return Err(Error::Length { what: "the weights".into(), expected: n, found: weights.len() });
        }
        let w = &weights;
        let mut pairs: Vec<(f64, f64)> = Vec::with_capacity(distances.values().len() + n);
        for i in 0..n {
            if w[i] > 1.0 {
                pairs.push((0.0, w[i] * (w[i] - 1.0) / 2.0));
            }
            pairs.extend(((i + 1)..n).map(|j| (distances.get(i, j), w[i] * w[j])));
        }
        pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let (mut sorted, mut cumulative_count, mut cumulative_sum) = (Vec::new(), Vec::new(), Vec::new());
        let (mut count, mut sum) = (0.0, 0.0);
        for (d, m) in pairs {
            count += m;
            sum += m * d;
            if sorted.last() == Some(&d) {
                *cumulative_count.last_mut().expect("pushed with sorted") = count;
                *cumulative_sum.last_mut().expect("pushed with sorted") = sum;
            } else {
                sorted.push(d);
                cumulative_count.push(count);
                cumulative_sum.push(sum);
            }
        }
        Ok(Self { distances, weights, sorted, cumulative_count, cumulative_sum })
    }

    /// The sum of the `count` smallest pair distances.
    fn smallest(&self, count: f64) -> f64 {
        let k = self.cumulative_count.partition_point(|&c| c < count);
        if k >= self.sorted.len() {
            return self.cumulative_sum.last().copied().unwrap_or(0.0);
        }
        let (before_count, before_sum) =
            if k == 0 { (0.0, 0.0) } else { (self.cumulative_count[k - 1], self.cumulative_sum[k - 1]) };
        before_sum + (count - before_count) * self.sorted[k]
    }

    /// The quality of the partition `clusters`.
    ///
    /// # Errors
    /// [`Error::Length`] for labels of the wrong length.
    pub fn quality(&self, clusters: &[usize]) -> Result<Quality> {
        let (distances, w) = (self.distances, &self.weights);
        let n = distances.size();
        if clusters.len() != n {
            return Err(Error::Length { what: "the cluster labels".into(), expected: n, found: clusters.len() });
        }
        let labels = super::ward::number_by_first_appearance(clusters);
        let k = labels.iter().copied().max().unwrap_or(0);
        let mut size = vec![0.0; k];
        for i in 0..n {
            size[labels[i] - 1] += w[i];
        }
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
        // Pairs within clusters (copies of one object included) against all pairs.
        let (mut within_count, mut within_sum) = (0.0, 0.0);
        for i in 0..n {
            within_count += w[i] * (w[i] - 1.0) / 2.0;
            for j in (i + 1)..n {
                if labels[i] == labels[j] {
                    within_count += w[i] * w[j];
                    within_sum += w[i] * w[j] * distances.get(i, j);
                }
            }
        }
        let count = self.cumulative_count.last().copied().unwrap_or(0.0);
        let sum = self.cumulative_sum.last().copied().unwrap_or(0.0);
        let sum_squares: f64 = {
            let mut previous = 0.0;
            self.sorted
                .iter()
                .zip(&self.cumulative_count)
                .map(|(d, &c)| {
                    let m = c - previous;
                    previous = c;
                    m * d * d
                })
                .sum()
        };
        // Point-biserial: x = 1 for pairs in different clusters.
        let between_count = count - within_count;
        let between_sum = sum - within_sum;
        let mean_d = sum / count;
        let mean_x = between_count / count;
        let covariance = between_sum / count - mean_d * mean_x;
        let var_d = sum_squares / count - mean_d * mean_d;
        let var_x = mean_x - mean_x * mean_x;
        let pbc = covariance / (var_d * var_x).sqrt();
        let smallest = self.smallest(within_count);
        let largest = sum - self.smallest(count - within_count);
        let hc = (within_sum - smallest) / (largest - smallest);
        Ok(Quality { clusters: k, asw: silhouette_sum / total_weight, pbc, hc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condensed::on_a_line as line;

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
