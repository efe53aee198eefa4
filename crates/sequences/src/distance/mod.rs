//! Distances between state sequences, as TraMineR's `seqdist`: Hamming, optimal matching,
//! longest common subsequence and the dynamic Hamming distance, one pair at a time or as the
//! condensed matrix of every pair (computed once per distinct sequence, in parallel).

mod alignment;

use alignment::BitParallel;

use crate::condensed::Condensed;
use crate::costs::{check_cost, dynamic_costs, equal_length, Substitution};
use crate::error::Result;
use crate::sequence::Sequences;

/// A distance between sequences.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// $\sum_t c(x_t, y_t)$ for sequences of equal length (`seqdist(method = "HAM")`; with
    /// constant costs 1, the number of positions that differ).
    Hamming(Substitution),
    /// Optimal matching (Abbott and Forrest 1986; `seqdist(method = "OM")`): the cheapest
    /// alignment of one sequence into the other by insertions and deletions costing `indel` each
    /// and substitutions costing $c(i, j)$ — Needleman and Wunsch's (1970) recursion
    /// $D_{ij} = \min(D_{i-1,j-1} + c(x_i, y_j),\ D_{i-1,j} + \text{indel},\ D_{i,j-1} + \text{indel})$.
    OptimalMatching {
        /// The cost of inserting or deleting one state.
        indel: f64,
        /// The substitution costs.
        substitution: Substitution,
    },
    /// $|x| + |y| - 2\,\mathrm{LCS}(x, y)$, the length of the longest common subsequence
    /// (Elzinga; `seqdist(method = "LCS")`; equal to optimal matching with indel 1 and
    /// substitution 2).
    LongestCommonSubsequence,
    /// Lesnard's (2010) dynamic Hamming distance: Hamming with substitution costs that vary over
    /// time with the transitions observed around each position ([`dynamic_costs`]).
    DynamicHamming,
}

impl Metric {
    /// The metric's name in `--json` output (`om`, `hamming`, `lcs`, `dhd`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hamming(_) => "hamming",
            Self::OptimalMatching { .. } => "om",
            Self::LongestCommonSubsequence => "lcs",
            Self::DynamicHamming => "dhd",
        }
    }

    /// The metric's costs resolved against `sequences` (transition rates are estimated from
    /// them), ready to measure any pair of them.
    ///
    /// # Errors
    /// Invalid costs or an unknown state ([`Substitution::matrix`]); sequences of unequal
    /// length for the Hamming distances.
    pub fn measure(&self, sequences: &Sequences) -> Result<Measure> {
        let k = sequences.alphabet().len();
        let kind = match self {
            Self::Hamming(substitution) => {
                equal_length(sequences, "the Hamming distance")?;
                Kind::Positional(vec![substitution.matrix(sequences)?])
            }
            Self::DynamicHamming => Kind::Positional(dynamic_costs(sequences)?),
            Self::OptimalMatching { indel, substitution } => {
                check_cost(*indel, "the indel cost")?;
                let substitution = substitution.matrix(sequences)?;
                // A substitution never beats deleting and inserting when it costs at least two
                // indels: the distance is then indel × (|x| + |y| − 2 LCS).
                if (0..k * k).all(|e| e / k == e % k || substitution[e] >= 2.0 * indel) {
                    Kind::CommonSubsequence { indel: *indel }
                } else {
                    Kind::Alignment { indel: *indel, substitution }
                }
            }
            Self::LongestCommonSubsequence => Kind::CommonSubsequence { indel: 1.0 },
        };
        Ok(Measure { k, kind })
    }
}

/// A [`Metric`] with its costs resolved: measures pairs of sequences over one alphabet.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    k: usize,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// One `k × k` cost matrix per position (a single one when costs do not vary).
    Positional(Vec<Vec<f64>>),
    Alignment {
        indel: f64,
        substitution: Vec<f64>,
    },
    /// indel × (|x| + |y| − 2 LCS).
    CommonSubsequence {
        indel: f64,
    },
}

impl Measure {
    /// The distance between two sequences coded over the alphabet the measure was made for.
    pub fn between(&self, a: &[u8], b: &[u8]) -> f64 {
        self.row(a).to(b)
    }

    /// A measurer of distances from `a` to many sequences, reusing its work space.
    pub fn row<'a>(&'a self, a: &'a [u8]) -> Row<'a> {
        let profile = match &self.kind {
            Kind::Alignment { substitution, .. } => alignment::profile(a, substitution, self.k),
            _ => Vec::new(),
        };
        let common = matches!(self.kind, Kind::CommonSubsequence { .. }).then(|| BitParallel::new(a, self.k));
        Row { measure: self, a, profile, rows: (Vec::new(), Vec::new()), common }
    }

    /// Every pairwise distance among `sequences`, each distinct pair of distinct sequences
    /// computed once, rows shared among [`strata_core::parallel::threads`] threads (the result
    /// does not depend on their number).
    pub fn pairwise(&self, sequences: &Sequences) -> Condensed {
        let distinct = sequences.distinct();
        self.pairwise_distinct(&distinct.sequences).expand(&distinct.of)
    }

    /// Every pairwise distance among `sequences` as they are (no search for duplicates).
    pub fn pairwise_distinct(&self, sequences: &Sequences) -> Condensed {
        let n = sequences.len();
        let rows = strata_core::parallel::map_in_order(n, strata_core::parallel::threads(), |i| {
            let mut row = self.row(sequences.get(i));
            let others: Vec<&[u8]> = ((i + 1)..n).map(|j| sequences.get(j)).collect();
            row.to_each(&others)
        });
        Condensed::from_parts(n, rows.concat())
    }
}

/// Distances from one sequence, made by [`Measure::row`].
#[derive(Debug)]
pub struct Row<'a> {
    measure: &'a Measure,
    a: &'a [u8],
    profile: Vec<f64>,
    rows: (Vec<f64>, Vec<f64>),
    common: Option<BitParallel>,
}

impl Row<'_> {
    /// The distances to each of `others`.
    pub fn to_each(&mut self, others: &[&[u8]]) -> Vec<f64> {
        const LANES: usize = 8;
        let mut out = Vec::with_capacity(others.len());
        if let (Kind::CommonSubsequence { indel }, Some(common)) = (&self.measure.kind, self.common.as_mut()) {
            let a = self.a.len();
            let distance = |b: &[u8], c: usize| indel * (a + b.len() - 2 * c) as f64;
            let mut groups = others.chunks_exact(LANES);
            for group in groups.by_ref() {
                let group: &[&[u8]; LANES] = group.try_into().expect("chunks of LANES");
                match common.common_lanes(group) {
                    Some(lengths) => out.extend(group.iter().zip(lengths).map(|(b, c)| distance(b, c))),
                    None => out.extend(group.iter().map(|b| distance(b, common.common(b)))),
                }
            }
            out.extend(groups.remainder().iter().map(|b| distance(b, common.common(b))));
        } else {
            out.extend(others.iter().map(|b| self.to(b)));
        }
        out
    }

    /// The distance to `b`.
    pub fn to(&mut self, b: &[u8]) -> f64 {
        let k = self.measure.k;
        match &self.measure.kind {
            Kind::Positional(costs) => self
                .a
                .iter()
                .zip(b)
                .enumerate()
                .map(|(t, (&x, &y))| costs[t.min(costs.len() - 1)][x as usize * k + y as usize])
                .sum(),
            Kind::Alignment { indel, .. } => {
                alignment::optimal_matching(self.a, b, &self.profile, *indel, &mut self.rows)
            }
            Kind::CommonSubsequence { indel } => {
                let common = self.common.as_mut().expect("made by Measure::row").common(b);
                indel * (self.a.len() + b.len() - 2 * common) as f64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequences(rows: &[&str]) -> Sequences {
        let ids: Vec<String> = (0..rows.len()).map(|i| i.to_string()).collect();
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.chars().map(String::from).collect()).collect();
        Sequences::new(&ids, &rows).unwrap()
    }

    #[test]
    fn small_distances_by_hand() {
        let s = sequences(&["aab", "abb", "bba", "ab"]);
        let om = Metric::OptimalMatching { indel: 1.0, substitution: Substitution::Constant(2.0) }.measure(&s).unwrap();
        // aab → abb: one substitution (2) or delete a, insert b (2).
        assert_eq!(om.between(s.get(0), s.get(1)), 2.0);
        // aab → ab: delete one a.
        assert_eq!(om.between(s.get(0), s.get(3)), 1.0);
        let lcs = Metric::LongestCommonSubsequence.measure(&s).unwrap();
        assert_eq!(lcs.between(s.get(0), s.get(2)), 4.0);
        assert!(Metric::Hamming(Substitution::Constant(1.0)).measure(&s).is_err());
        let equal = sequences(&["aab", "abb", "bba"]);
        let ham = Metric::Hamming(Substitution::Constant(1.0)).measure(&equal).unwrap();
        assert_eq!(ham.pairwise(&equal).values(), [1.0, 3.0, 2.0]);
    }
}
