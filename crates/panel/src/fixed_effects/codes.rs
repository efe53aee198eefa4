//! The fixed effects as level codes per observation, and what is computed from the codes
//! alone: degrees of freedom, pruning of singletons and all-zero groups, nesting.

use crate::error::{Error, Result};

/// The factors to sweep out: for each, a level code per observation.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedEffectCodes {
    codes: Vec<Vec<u32>>,
    levels: Vec<usize>,
}

impl FixedEffectCodes {
    /// Factors given as a code per observation each (codes `0..levels`, every level used).
    ///
    /// # Errors
    /// [`Error::Length`] if the factors have different lengths, [`Error::Specification`] if a
    /// level between 0 and the largest code has no observation.
    pub fn new(codes: Vec<Vec<u32>>) -> Result<Self> {
        let n = codes.first().map_or(0, Vec::len);
        let mut levels = Vec::with_capacity(codes.len());
        for (k, factor) in codes.iter().enumerate() {
            if factor.len() != n {
                return Err(Error::Length {
                    what: format!("fixed effect {}", k + 1),
                    expected: n,
                    found: factor.len(),
                });
            }
            let count = factor.iter().max().map_or(0, |m| *m as usize + 1);
            let mut used = vec![false; count];
            for &c in factor {
                used[c as usize] = true;
            }
            if let Some(empty) = used.iter().position(|u| !u) {
                return Err(Error::Specification(format!(
                    "fixed effect {} has no observation at level {empty}",
                    k + 1
                )));
            }
            levels.push(count);
        }
        Ok(Self { codes, levels })
    }

    /// Number of observations.
    pub fn nobs(&self) -> usize {
        self.codes.first().map_or(0, Vec::len)
    }

    /// Number of factors.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no factors.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The codes of factor `k`.
    pub fn codes(&self, k: usize) -> &[u32] {
        &self.codes[k]
    }

    /// The number of levels of each factor.
    pub fn levels(&self) -> &[usize] {
        &self.levels
    }

    /// The factors restricted to observations `keep`, levels renumbered in order of first use.
    pub(crate) fn subset(&self, keep: &[usize]) -> Self {
        let codes: Vec<Vec<u32>> = self
            .codes
            .iter()
            .zip(&self.levels)
            .map(|(factor, &levels)| {
                let mut renumbered = vec![u32::MAX; levels];
                let mut next = 0;
                keep.iter()
                    .map(|&i| {
                        let old = factor[i] as usize;
                        if renumbered[old] == u32::MAX {
                            renumbered[old] = next;
                            next += 1;
                        }
                        renumbered[old]
                    })
                    .collect()
            })
            .collect();
        let levels = codes.iter().map(|c| c.iter().max().map_or(0, |m| *m as usize + 1)).collect();
        Self { codes, levels }
    }

    /// Degrees of freedom the factors absorb: all levels of the first, and for each further
    /// factor its levels less one — exactly less the connected components of the first two
    /// (Abowd, Kramarz & Margolis 1999), as fixest counts them.
    pub fn degrees_of_freedom(&self, skip: &[bool]) -> usize {
        let kept: Vec<usize> = (0..self.len()).filter(|&k| !skip.get(k).copied().unwrap_or(false)).collect();
        match kept.as_slice() {
            [] => 0,
            [only] => self.levels[*only],
            [first, second, rest @ ..] => {
                let components = self.connected_components(*first, *second);
                self.levels[*first] + self.levels[*second] - components
                    + rest.iter().map(|&k| self.levels[k] - 1).sum::<usize>()
            }
        }
    }

    /// Connected components of the bipartite graph joining levels of factors `a` and `b` that
    /// share an observation (union–find).
    fn connected_components(&self, a: usize, b: usize) -> usize {
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let offset = self.levels[a];
        let mut parent: Vec<usize> = (0..offset + self.levels[b]).collect();
        let mut join = |x: u32, y: u32| {
            let (rx, ry) = (root(&mut parent, x as usize), root(&mut parent, offset + y as usize));
            if rx != ry {
                parent[rx] = ry;
            }
        };
        // Each pair of levels joined once, when a bitmap of the pairs seen is small.
        let width = self.levels[b];
        if offset.saturating_mul(width) <= 1 << 28 {
            let mut seen = vec![0u64; (offset * width).div_ceil(64)];
            for (&x, &y) in self.codes[a].iter().zip(&self.codes[b]) {
                let cell = x as usize * width + y as usize;
                if seen[cell / 64] & (1 << (cell % 64)) == 0 {
                    seen[cell / 64] |= 1 << (cell % 64);
                    join(x, y);
                }
            }
        } else {
            for (&x, &y) in self.codes[a].iter().zip(&self.codes[b]) {
                join(x, y);
            }
        }
        (0..parent.len()).filter(|&i| root(&mut parent, i) == i).count()
    }

    /// Observations left once every group (of any factor) that `dead` condemns is removed,
    /// repeatedly until none is (`None` when every observation is kept), and the number of groups
    /// removed from each factor. `dead` sees
    /// a group's tally over the observations still kept: how many there are, and how many have
    /// a positive `y` (zero without `y`).
    pub fn prune(&self, y: Option<&[f64]>, dead: impl Fn(GroupTally) -> bool) -> (Option<Vec<usize>>, Vec<usize>) {
        let n = self.nobs();
        let mut keep = vec![true; n];
        let mut removed = vec![0; self.len()];
        loop {
            let mut changed = false;
            for k in 0..self.len() {
                let mut tallies = vec![GroupTally { observations: 0, positive: 0 }; self.levels[k]];
                for (i, &c) in self.codes[k].iter().enumerate() {
                    if keep[i] {
                        tallies[c as usize].observations += 1;
                        tallies[c as usize].positive += usize::from(y.is_some_and(|y| y[i] > 0.0));
                    }
                }
                let condemned: Vec<bool> = tallies.iter().map(|t| t.observations > 0 && dead(*t)).collect();
                let count = condemned.iter().filter(|d| **d).count();
                if count > 0 {
                    removed[k] += count;
                    changed = true;
                    for (i, &c) in self.codes[k].iter().enumerate() {
                        if condemned[c as usize] {
                            keep[i] = false;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let kept = removed.iter().any(|&r| r > 0).then(|| (0..n).filter(|&i| keep[i]).collect());
        (kept, removed)
    }

    /// Whether every level of factor `k` lies within one level of `cluster` (fixest's "nested").
    pub fn nested_in(&self, k: usize, cluster: &[u32]) -> bool {
        let mut owner = vec![u32::MAX; self.levels[k]];
        for (&level, &c) in self.codes[k].iter().zip(cluster) {
            let slot = &mut owner[level as usize];
            if *slot == u32::MAX {
                *slot = c;
            } else if *slot != c {
                return false;
            }
        }
        true
    }
}

/// A group's observations still kept, and how many of them have a positive response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTally {
    /// Observations of the group.
    pub observations: usize,
    /// Of them, those with a positive response.
    pub positive: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_of_freedom_count_components() {
        // Two disconnected blocks: units {0,1} seen only in times {0,1}, unit 2 only in time 2.
        let unit = vec![0, 0, 1, 1, 2];
        let time = vec![0, 1, 0, 1, 2];
        let fe = FixedEffectCodes::new(vec![unit.clone(), time]).unwrap();
        assert_eq!(fe.degrees_of_freedom(&[]), 3 + 3 - 2);
        assert!(fe.nested_in(0, &[5, 5, 6, 6, 7]));
        assert!(!fe.nested_in(1, &[5, 5, 6, 6, 7]));
    }
}
