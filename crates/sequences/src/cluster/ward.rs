//! Ward's hierarchical clustering (R's `hclust(method = "ward.D2")`), on distances among
//! objects that may stand for several identical ones.

use crate::condensed::Condensed;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A binary tree of merges of `n` objects, from the closest pair to the last two clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hierarchy {
    n: usize,
    /// Each merge joins the clusters containing these two objects (the smaller index first).
    merges: Vec<(usize, usize)>,
    /// The height of each merge.
    heights: Vec<f64>,
}

/// Ward's minimum-variance clustering of the objects of `distances`, each standing for
/// `weights[i]` identical objects (all 1 when `None`).
///
/// The criterion is the increase of the within-cluster sum of squares,
/// $\Delta(A, B) = \frac{n_A n_B}{n_A + n_B}\lVert \bar x_A - \bar x_B \rVert^2$, held as
/// $2\Delta$ (the squared distance between singletons) and updated by Lance and Williams'
/// recurrence
/// $2\Delta(K, I \cup J) = \frac{(n_I + n_K)\,2\Delta(K, I) + (n_J + n_K)\,2\Delta(K, J) - n_K\,2\Delta(I, J)}{n_I + n_J + n_K}$;
/// heights are $\sqrt{2\Delta}$, as `hclust(method = "ward.D2")` (Murtagh and Legendre 2014).
/// An object of weight $w_i$ starts as the cluster its $w_i$ copies would form at height zero,
/// so the tree above zero equals the tree of the expanded data. Pairs are merged by Murtagh's
/// (1983) nearest-neighbour-list algorithm: the pair with the least criterion, ties going to the
/// lowest indices.
///
/// # Errors
/// [`Error::Length`] when `weights` does not have one weight per object; [`Error::Specification`]
/// for a weight that is not positive.
pub fn ward(distances: &Condensed, weights: Option<&[f64]>) -> Result<Hierarchy> {
    let n = distances.size();
    let size: Vec<f64> = match weights {
        None => vec![1.0; n],
        Some(w) if w.len() != n => {
            return Err(Error::Length { what: "the weights".into(), expected: n, found: w.len() })
        }
        Some(w) => {
            if let Some(bad) = w.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
                return Err(Error::Specification(format!("a weight is {bad}; weights must be positive")));
            }
            w.to_vec()
        }
    };
    let mut criterion = Vec::with_capacity(distances.values().len());
    for i in 0..n {
        criterion.extend(((i + 1)..n).map(|j| {
            let d = distances.get(i, j);
            d * d * 2.0 * size[i] * size[j] / (size[i] + size[j])
        }));
    }
    Ok(merge_nearest(Condensed::from_parts(n, criterion), size))
}

fn merge_nearest(mut d: Condensed, mut size: Vec<f64>) -> Hierarchy {
    let n = d.size();
    let mut active = vec![true; n];
    let mut nearest = vec![usize::MAX; n];
    let mut nearest_distance = vec![f64::INFINITY; n];
    let find_nearest = |d: &Condensed, active: &[bool], i: usize| -> (usize, f64) {
        let mut best = (usize::MAX, f64::INFINITY);
        for j in (i + 1)..n {
            if active[j] {
                let v = d.values()[d.index(i, j)];
                if v < best.1 {
                    best = (j, v);
                }
            }
        }
        best
    };
    for i in 0..n.saturating_sub(1) {
        (nearest[i], nearest_distance[i]) = find_nearest(&d, &active, i);
    }
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    let mut heights = Vec::with_capacity(n.saturating_sub(1));
    for _ in 1..n {
        let mut i = usize::MAX;
        let mut least = f64::INFINITY;
        for k in 0..n - 1 {
            if active[k] && nearest[k] != usize::MAX && nearest_distance[k] < least {
                (i, least) = (k, nearest_distance[k]);
            }
        }
        let j = nearest[i];
        merges.push((i, j));
        heights.push(least.max(0.0).sqrt());
        let (si, sj) = (size[i], size[j]);
        for k in (0..n).filter(|&k| active[k] && k != i && k != j) {
            let sk = size[k];
            let (ik, jk) = (d.get(i, k), d.get(j, k));
            let updated = ((si + sk) * ik + (sj + sk) * jk - sk * least) / (si + sj + sk);
            let at = if k < i { d.index(k, i) } else { d.index(i, k) };
            d.values_mut()[at] = updated;
        }
        active[j] = false;
        size[i] = si + sj;
        for k in 0..n - 1 {
            if !active[k] {
                continue;
            }
            if k == i || nearest[k] == i || nearest[k] == j {
                (nearest[k], nearest_distance[k]) = find_nearest(&d, &active, k);
            } else if k < i {
                let v = d.get(k, i);
                if v < nearest_distance[k] || (v == nearest_distance[k] && i < nearest[k]) {
                    (nearest[k], nearest_distance[k]) = (i, v);
                }
            }
        }
    }
    Hierarchy { n, merges, heights }
}

impl Hierarchy {
    /// The number of objects.
    pub fn size(&self) -> usize {
        self.n
    }

    /// The merge heights, in the order of merging.
    pub fn heights(&self) -> &[f64] {
        &self.heights
    }

    /// The objects' clusters (numbered from 1) when the tree is cut into `k` groups, numbered in
    /// order of their first object, as R's `cutree`.
    ///
    /// # Errors
    /// [`Error::Clusters`] unless `1 ≤ k ≤ n`.
    pub fn cut(&self, k: usize) -> Result<Vec<usize>> {
        if k == 0 || k > self.n {
            return Err(Error::Clusters {
                clusters: k,
                what: format!("a tree of {} objects", self.n),
                available: self.n,
            });
        }
        let mut parent: Vec<usize> = (0..self.n).collect();
        for &(a, b) in &self.merges[..self.n - k] {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
        let roots: Vec<usize> = (0..self.n).map(|x| root(&mut parent, x)).collect();
        Ok(number_by_first_appearance(&roots))
    }
}

/// The representative of `x`'s set in a union–find forest, halving paths on the way.
fn root(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Relabels arbitrary cluster labels as 1, 2, … in order of each label's first appearance.
pub fn number_by_first_appearance(labels: &[usize]) -> Vec<usize> {
    let mut number = std::collections::HashMap::new();
    labels
        .iter()
        .map(|l| {
            let next = number.len() + 1;
            *number.entry(*l).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condensed::on_a_line;

    #[test]
    fn points_on_a_line() {
        // 0, 1, 5, 6, 20: R's hclust(dist(x), "ward.D2") gives heights 1, 1, 7.07106781186548,
        // 21.50348808914498 (merges -1 -2, -3 -4, 1 2, -5 3).
        let tree = ward(&on_a_line(&[0.0, 1.0, 5.0, 6.0, 20.0]), None).unwrap();
        assert_eq!(tree.cut(2).unwrap(), [1, 1, 1, 1, 2]);
        assert_eq!(tree.cut(3).unwrap(), [1, 1, 2, 2, 3]);
        let h = tree.heights();
        assert!((h[0] - 1.0).abs() < 1e-12 && (h[1] - 1.0).abs() < 1e-12);
        // Merging {0,1} and {5,6}, centroids 5 apart: sqrt(2 * (2*2/4) * 5^2).
        assert!((h[2] - 50f64.sqrt()).abs() < 1e-12, "{h:?}");
        assert!((h[3] - 21.503_488_089_144_98).abs() < 1e-12, "{h:?}");
    }

    #[test]
    fn weights_stand_for_copies() {
        let full = ward(&on_a_line(&[0.0, 0.0, 0.0, 2.0, 3.0, 3.0, 9.0]), None).unwrap();
        let weighted = ward(&on_a_line(&[0.0, 2.0, 3.0, 9.0]), Some(&[3.0, 1.0, 2.0, 1.0])).unwrap();
        let of = [0, 0, 0, 1, 2, 2, 3];
        for k in 1..=4 {
            let expanded: Vec<usize> = of.iter().map(|&d| weighted.cut(k).unwrap()[d]).collect();
            assert_eq!(full.cut(k).unwrap(), number_by_first_appearance(&expanded), "k = {k}");
        }
        let nonzero: Vec<f64> = full.heights().iter().copied().filter(|h| *h > 0.0).collect();
        for (a, b) in nonzero.iter().zip(weighted.heights()) {
            assert!((a - b).abs() < 1e-12, "{a} {b}");
        }
    }
}
