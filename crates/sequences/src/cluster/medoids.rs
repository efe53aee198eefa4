//! Partitioning around medoids (Kaufman and Rousseeuw 1990, R's `cluster::pam`), with weighted
//! objects, and CLARA for more sequences than a distance matrix can hold.

use crate::condensed::Condensed;
use crate::distance::Measure;
use crate::error::{Error, Result};
use crate::sequence::Sequences;
use serde::{Deserialize, Serialize};

/// A partition around medoids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Medoids {
    /// The medoids' object indices, in cluster order.
    pub medoids: Vec<usize>,
    /// Each object's cluster (0-based index into `medoids`).
    pub assignment: Vec<usize>,
    /// $\sum_i w_i\, d(i, m(i))$, the weighted distance of every object to its medoid.
    pub cost: f64,
}

/// PAM: `k` medoids minimising $\sum_i w_i\, d(i, m(i))$ by the BUILD phase (medoids added one
/// at a time, each the greatest reduction of the cost) and the SWAP phase (the best exchange of a
/// medoid and a non-medoid, repeated while it lowers the cost).
///
/// # Errors
/// [`Error::Clusters`] unless `1 ≤ k ≤ n`; [`Error::Length`] for weights of the wrong length.
pub fn pam(distances: &Condensed, weights: Option<&[f64]>, k: usize) -> Result<Medoids> {
    let order: Vec<usize> = (0..distances.size()).collect();
    pam_ordered(distances, weights, k, &order)
}

/// [`pam`] with ties broken as R's `cluster::pam` breaks them on the expanded data: in the BUILD
/// phase, among candidates that lower the cost equally, the one whose `position` is last; in the
/// final assignment, an object equidistant from several medoids joins the one whose `position`
/// is first. For distinct objects standing for several rows, `position` is the last row each
/// stands for.
///
/// # Errors
/// As [`pam`]; [`Error::Length`] for positions of the wrong length.
pub fn pam_ordered(distances: &Condensed, weights: Option<&[f64]>, k: usize, position: &[usize]) -> Result<Medoids> {
    let n = distances.size();
    if position.len() != n {
        return Err(Error::Length { what: "the positions".into(), expected: n, found: position.len() });
    }
    if k == 0 || k > n {
        return Err(Error::Clusters { clusters: k, what: format!("PAM on {n} objects"), available: n });
    }
    let ones = vec![1.0; n];
    let w = weights.unwrap_or(&ones);
    if w.len() != n {
        return Err(Error::Length { what: "the weights".into(), expected: n, found: w.len() });
    }
    let d = |i: usize, j: usize| distances.get(i, j);
    // BUILD.
    let mut medoids: Vec<usize> = Vec::with_capacity(k);
    let mut nearest = vec![f64::INFINITY; n];
    while medoids.len() < k {
        let mut best = (usize::MAX, f64::INFINITY);
        for candidate in (0..n).filter(|c| !medoids.contains(c)) {
            let cost: f64 = (0..n).map(|i| w[i] * nearest[i].min(d(i, candidate))).sum();
            if cost < best.1 || (cost == best.1 && position[candidate] > position[best.0]) {
                best = (candidate, cost);
            }
        }
        medoids.push(best.0);
        for i in 0..n {
            nearest[i] = nearest[i].min(d(i, best.0));
        }
    }
    // SWAP.
    loop {
        let (first, second) = two_nearest(&medoids, n, &d);
        let mut best = (0usize, 0usize, 0.0f64);
        for h in (0..n).filter(|h| !medoids.contains(h)) {
            for (slot, _) in medoids.iter().enumerate() {
                let change: f64 = (0..n)
                    .map(|i| {
                        let dih = d(i, h);
                        let (m1, d1) = first[i];
                        let now = if m1 == slot { dih.min(second[i]) } else { dih.min(d1) };
                        w[i] * (now - d1)
                    })
                    .sum();
                if change < best.2 - 1e-12 * (1.0 + best.2.abs()) {
                    best = (h, slot, change);
                }
            }
        }
        if best.2 >= 0.0 {
            break;
        }
        medoids[best.1] = best.0;
    }
    // An object equidistant from two medoids joins the one earliest in `position` (as R).
    let mut by_position: Vec<usize> = (0..k).collect();
    by_position.sort_by_key(|&m| position[medoids[m]]);
    let (assignment, cost) = assign(n, w, |i, slot| d(i, medoids[by_position[slot]]), k);
    let assignment = assignment.into_iter().map(|slot| by_position[slot]).collect();
    Ok(Medoids { medoids, assignment, cost })
}

/// Each object's nearest medoid (slot and distance) and the distance to its second nearest.
fn two_nearest(medoids: &[usize], n: usize, d: &impl Fn(usize, usize) -> f64) -> (Vec<(usize, f64)>, Vec<f64>) {
    let mut first = vec![(0, f64::INFINITY); n];
    let mut second = vec![f64::INFINITY; n];
    for i in 0..n {
        for (slot, &m) in medoids.iter().enumerate() {
            let v = d(i, m);
            if v < first[i].1 {
                second[i] = first[i].1;
                first[i] = (slot, v);
            } else if v < second[i] {
                second[i] = v;
            }
        }
    }
    (first, second)
}

/// Each object's nearest of `k` medoids (ties to the first) and the weighted total distance.
fn assign(n: usize, w: &[f64], d: impl Fn(usize, usize) -> f64, k: usize) -> (Vec<usize>, f64) {
    let mut cost = 0.0;
    let assignment = (0..n)
        .map(|i| {
            let (slot, v) = (0..k).map(|m| (m, d(i, m))).fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
            cost += w[i] * v;
            slot
        })
        .collect();
    (assignment, cost)
}

/// Options of [`clara`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaraOptions {
    /// How many samples to draw.
    pub samples: usize,
    /// Distinct sequences in each sample (R's `clara` uses 40 + 2k; more is more accurate).
    pub sample_size: usize,
    /// The seed of the samples.
    pub seed: u64,
}

impl ClaraOptions {
    /// Defaults for `k` clusters: 20 samples of 100 + 5k distinct sequences, seed 1.
    pub fn for_clusters(k: usize) -> Self {
        Self { samples: 20, sample_size: 100 + 5 * k, seed: 1 }
    }
}

/// CLARA (Kaufman and Rousseeuw 1990, ch. 3) on the distinct sequences of `sequences`, weighted
/// by their counts: PAM on each random sample of distinct sequences (drawn with probability
/// proportional to count), every distinct sequence assigned to the nearest medoid, and the
/// sample whose medoids give the least total weighted distance kept. Only a sample's distances
/// and the distances to the medoids are ever computed, so memory grows with the number of
/// sequences, not its square. Returns medoids and assignment over `sequences` (not the distinct
/// ones).
///
/// # Errors
/// [`Error::Clusters`] unless `1 ≤ k ≤` the number of distinct sequences.
pub fn clara(sequences: &Sequences, measure: &Measure, k: usize, options: ClaraOptions) -> Result<Medoids> {
    let distinct = sequences.distinct();
    let unique = &distinct.sequences;
    let u = unique.len();
    if k == 0 || k > u {
        return Err(Error::Clusters { clusters: k, what: format!("{u} distinct sequence(s)"), available: u });
    }
    let size = options.sample_size.clamp(k, u);
    let mut rng = strata_core::random::Rng::new(options.seed);
    let samples: Vec<Vec<usize>> =
        (0..options.samples.max(1)).map(|_| weighted_sample(&distinct.weights, size, &mut rng)).collect();
    let results = strata_core::parallel::map_in_order(samples.len(), strata_core::parallel::threads(), |s| {
        let sample = unique.take(&samples[s]);
        let weights: Vec<f64> = samples[s].iter().map(|&i| distinct.weights[i]).collect();
        let fit = pam(&measure.pairwise_distinct(&sample), Some(&weights), k)?;
        let medoids: Vec<usize> = fit.medoids.iter().map(|&m| samples[s][m]).collect();
        let mut rows: Vec<_> = medoids.iter().map(|&m| measure.row(unique.get(m))).collect();
        let to_medoids: Vec<Vec<f64>> =
            (0..u).map(|i| rows.iter_mut().map(|r| r.to(unique.get(i))).collect()).collect();
        let (assignment, cost) = assign(u, &distinct.weights, |i, m| to_medoids[i][m], k);
        Ok::<_, Error>(Medoids { medoids, assignment, cost })
    });
    let mut best: Option<Medoids> = None;
    for result in results {
        let result = result?;
        if best.as_ref().is_none_or(|b| result.cost < b.cost) {
            best = Some(result);
        }
    }
    let best = best.expect("at least one sample");
    let first_of: Vec<usize> = {
        let mut first = vec![usize::MAX; u];
        for (i, &d) in distinct.of.iter().enumerate().rev() {
            first[d] = i;
        }
        first
    };
    Ok(Medoids {
        medoids: best.medoids.iter().map(|&m| first_of[m]).collect(),
        assignment: distinct.of.iter().map(|&d| best.assignment[d]).collect(),
        cost: best.cost,
    })
}

/// `size` distinct indices drawn without replacement with probability proportional to weight.
fn weighted_sample(weights: &[f64], size: usize, rng: &mut strata_core::random::Rng) -> Vec<usize> {
    // Efraimidis and Spirakis (2006): the `size` largest keys u^(1/w).
    let mut keys: Vec<(f64, usize)> = weights.iter().enumerate().map(|(i, &w)| (rng.uniform().ln() / w, i)).collect();
    keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = keys[..size].iter().map(|k| k.1).collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condensed::on_a_line as line;

    #[test]
    fn pam_finds_the_two_groups() {
        let fit = pam(&line(&[0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 13.0]), None, 2).unwrap();
        let mut medoids = fit.medoids.clone();
        medoids.sort_unstable();
        assert!(medoids[0] == 1 && (medoids[1] == 4 || medoids[1] == 5), "{medoids:?}");
        assert_eq!(fit.cost, 2.0 + 4.0);
        assert!(pam(&line(&[0.0, 1.0]), None, 3).is_err());
    }

    #[test]
    fn weights_move_the_medoid() {
        let x = [0.0, 1.0, 2.0];
        assert_eq!(pam(&line(&x), None, 1).unwrap().medoids, [1]);
        assert_eq!(pam(&line(&x), Some(&[1.0, 1.0, 5.0]), 1).unwrap().medoids, [2]);
    }
}
