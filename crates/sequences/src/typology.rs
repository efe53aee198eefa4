//! Typologies of sequences in one call: distances among the distinct sequences, a partition by
//! Ward, PAM or CLARA, the medoid of each cluster, and the quality of partitions over a range of
//! cluster counts.

use crate::cluster::{clara, number_by_first_appearance, pam_ordered, ward, ClaraOptions, Pairs, Quality};
use crate::condensed::Condensed;
use crate::distance::Measure;
use crate::error::{Error, Result};
use crate::sequence::{Distinct, Sequences};
use serde::{Deserialize, Serialize};

/// How the sequences are partitioned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Ward's hierarchical clustering, cut at k clusters.
    Ward,
    /// Partitioning around medoids.
    Pam,
    /// CLARA: PAM on samples, for more sequences than a distance matrix can hold.
    Clara(ClaraOptions),
}

impl Method {
    /// The method's name (`ward`, `pam`, `clara`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ward => "ward",
            Self::Pam => "pam",
            Self::Clara(_) => "clara",
        }
    }
}

/// A partition of sequences into clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typology {
    /// Each sequence's cluster, numbered from 1 in order of first appearance (as R's `cutree`).
    pub clusters: Vec<usize>,
    /// Each cluster's medoid: the sequence (index) with the least total distance to the others
    /// in its cluster.
    pub medoids: Vec<usize>,
    /// Each cluster's number of sequences.
    pub sizes: Vec<usize>,
}

/// Distances among a set's distinct sequences, shared by partitions and quality measures.
#[derive(Debug, Clone, PartialEq)]
pub struct DistinctDistances {
    /// The distinct sequences and their multiplicities.
    pub distinct: Distinct,
    /// Distances among the distinct sequences.
    pub distances: Condensed,
}

impl DistinctDistances {
    /// Measures every pair of distinct sequences of `sequences`.
    pub fn new(sequences: &Sequences, measure: &Measure) -> Self {
        let distinct = sequences.distinct();
        let distances = measure.pairwise_distinct(&distinct.sequences);
        Self { distinct, distances }
    }

    /// The partition into `k` clusters by Ward or PAM.
    ///
    /// # Errors
    /// [`Error::Clusters`] when `k` exceeds the number of distinct sequences;
    /// [`Error::Specification`] for CLARA, which works from the sequences (see [`typology`]).
    pub fn partition(&self, k: usize, method: Method) -> Result<Typology> {
        let weights = &self.distinct.weights;
        let available = weights.len();
        if k == 0 || k > available {
            return Err(Error::Clusters { clusters: k, what: format!("{available} distinct sequence(s)"), available });
        }
        let labels = match method {
            Method::Ward => ward(&self.distances, Some(weights))?.cut(k)?,
            Method::Pam => pam_ordered(&self.distances, Some(weights), k, &self.last_rows())?.assignment,
            Method::Clara(_) => {
                return Err(Error::Specification("CLARA partitions sequences, not a distance matrix".into()))
            }
        };
        let per_sequence: Vec<usize> = self.distinct.of.iter().map(|&d| labels[d]).collect();
        Ok(self.describe(&number_by_first_appearance(&per_sequence)))
    }

    /// For each distinct sequence, the last of the sequences it stands for (PAM breaks ties as R
    /// does on the expanded data).
    fn last_rows(&self) -> Vec<usize> {
        let mut last = vec![0; self.distinct.weights.len()];
        for (i, &d) in self.distinct.of.iter().enumerate() {
            last[d] = i;
        }
        last
    }

    /// Medoids and sizes of a partition given as 1-based labels per sequence.
    fn describe(&self, clusters: &[usize]) -> Typology {
        let k = clusters.iter().copied().max().unwrap_or(0);
        let of = &self.distinct.of;
        let w = &self.distinct.weights;
        let mut label_of_distinct = vec![0; w.len()];
        let mut first_of_distinct = vec![usize::MAX; w.len()];
        for (i, (&d, &c)) in of.iter().zip(clusters).enumerate().rev() {
            label_of_distinct[d] = c;
            first_of_distinct[d] = i;
        }
        let mut medoids = vec![usize::MAX; k];
        let mut best = vec![f64::INFINITY; k];
        for a in 0..w.len() {
            let c = label_of_distinct[a];
            let total: f64 =
                (0..w.len()).filter(|&b| label_of_distinct[b] == c).map(|b| w[b] * self.distances.get(a, b)).sum();
            if total < best[c - 1] {
                best[c - 1] = total;
                medoids[c - 1] = first_of_distinct[a];
            }
        }
        let mut sizes = vec![0; k];
        for &c in clusters {
            sizes[c - 1] += 1;
        }
        Typology { clusters: clusters.to_vec(), medoids, sizes }
    }

    /// The quality of the partitions into each of `ks` clusters (Ward's tree built once and cut
    /// at each k).
    ///
    /// # Errors
    /// As [`partition`](Self::partition).
    pub fn quality_range(&self, ks: impl IntoIterator<Item = usize>, method: Method) -> Result<Vec<Quality>> {
        let weights = &self.distinct.weights;
        let ks: Vec<usize> = ks.into_iter().collect();
        if ks.contains(&0) || ks.contains(&1) {
            return Err(Error::Specification("cluster quality compares two or more clusters".into()));
        }
        let pairs = Pairs::new(&self.distances, Some(weights))?;
        let tree = match method {
            Method::Ward => Some(ward(&self.distances, Some(weights))?),
            Method::Pam => None,
            Method::Clara(_) => {
                return Err(Error::Specification("cluster quality needs the distance matrix; use Ward or PAM".into()))
            }
        };
        ks.into_iter()
            .map(|k| {
                let labels = match &tree {
                    Some(tree) => tree.cut(k)?,
                    None => pam_ordered(&self.distances, Some(weights), k, &self.last_rows())?.assignment,
                };
                pairs.quality(&labels)
            })
            .collect()
    }
}

/// The partition of `sequences` into `k` clusters by `method` under `measure`.
///
/// # Errors
/// [`Error::Clusters`] when `k` is 0 or exceeds the number of distinct sequences.
pub fn typology(sequences: &Sequences, measure: &Measure, k: usize, method: Method) -> Result<Typology> {
    match method {
        Method::Clara(options) => {
            let fit = clara(sequences, measure, k, options)?;
            let clusters = number_by_first_appearance(&fit.assignment);
            let mut medoids = vec![0; k];
            for (slot, &m) in fit.medoids.iter().enumerate() {
                // The medoid's own label under the renumbering.
                let label = clusters[fit.assignment.iter().position(|&a| a == slot).unwrap_or(m)];
                medoids[label - 1] = m;
            }
            let mut sizes = vec![0; k];
            for &c in &clusters {
                sizes[c - 1] += 1;
            }
            Ok(Typology { clusters, medoids, sizes })
        }
        _ => DistinctDistances::new(sequences, measure).partition(k, method),
    }
}
