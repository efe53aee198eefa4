//! Sweeping out fixed effects: the projection of a column on the dummies of one or more
//! factors, by the method of alternating projections (Guimarães & Portugal 2010; Gaure 2013).
//!
//! With one factor the weighted group means are subtracted once and the result is exact. With
//! several, each sweep subtracts each factor's weighted group means of the current residual in
//! turn; by the theorem of von Neumann and Halperin the iterates converge to the residual of
//! the projection on all factors together. Sweeps stop when no group mean moved by more than
//! `tolerance` times the column's root mean square. Columns are independent and are swept in
//! parallel; each column's arithmetic is the same on any number of threads.

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
        for (&x, &y) in self.codes[a].iter().zip(&self.codes[b]) {
            let (rx, ry) = (root(&mut parent, x as usize), root(&mut parent, offset + y as usize));
            if rx != ry {
                parent[rx] = ry;
            }
        }
        (0..parent.len()).filter(|&i| root(&mut parent, i) == i).count()
    }

    /// Observations left once every group (of any factor) that `dead` condemns is removed,
    /// repeatedly until none is, and the number of groups removed from each factor. `dead` sees
    /// a group's tally over the observations still kept: how many there are, and how many have
    /// a positive `y` (zero without `y`).
    pub fn prune(&self, y: Option<&[f64]>, dead: impl Fn(GroupTally) -> bool) -> (Vec<usize>, Vec<usize>) {
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
        ((0..n).filter(|&i| keep[i]).collect(), removed)
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

/// Numerical knobs of the sweeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemeanControl {
    /// Stop when no group mean moves by more than this times the column's root mean square.
    pub tolerance: f64,
    /// Sweep limit per column.
    pub max_sweeps: usize,
    /// Threads to sweep columns on (0: `strata_core::parallel::threads()`).
    pub threads: usize,
}

impl Default for DemeanControl {
    fn default() -> Self {
        Self { tolerance: 1e-13, max_sweeps: 10_000, threads: 0 }
    }
}

/// Per factor, the reciprocal of each level's total weight.
fn inverse_weight_sums(fe: &FixedEffectCodes, weights: Option<&[f64]>) -> Vec<Vec<f64>> {
    (0..fe.len())
        .map(|k| {
            let mut sums = vec![0.0; fe.levels[k]];
            for (i, &c) in fe.codes[k].iter().enumerate() {
                sums[c as usize] += weights.map_or(1.0, |w| w[i]);
            }
            sums.into_iter().map(|s| if s > 0.0 { 1.0 / s } else { 0.0 }).collect()
        })
        .collect()
}

/// Adds `w_i x_i` (or `x_i`) into `sums` by level.
fn accumulate(sums: &mut [f64], codes: &[u32], column: &[f64], weights: Option<&[f64]>) {
    sums.fill(0.0);
    match weights {
        Some(w) => {
            for ((&c, &x), &w) in codes.iter().zip(column).zip(w) {
                sums[c as usize] += w * x;
            }
        }
        None => {
            for (&c, &x) in codes.iter().zip(column) {
                sums[c as usize] += x;
            }
        }
    }
}

/// Sweeps one column; returns the number of sweeps, or `None` if it did not converge. Each
/// factor's pass subtracts its group means and, in the same pass over the data, sums the result
/// by the next factor's groups.
fn demean_column(
    column: &mut [f64],
    fe: &FixedEffectCodes,
    weights: Option<&[f64]>,
    inverse: &[Vec<f64>],
    control: &DemeanControl,
) -> Option<usize> {
    let n = column.len();
    if n == 0 {
        return Some(0);
    }
    let factors = fe.len();
    let scale = (column.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt().max(f64::MIN_POSITIVE);
    let mut sums: Vec<Vec<f64>> = fe.levels.iter().map(|&l| vec![0.0; l]).collect();
    let mut means: Vec<f64> = Vec::new();
    accumulate(&mut sums[0], &fe.codes[0], column, weights);
    for sweep in 1..=control.max_sweeps {
        let mut largest: f64 = 0.0;
        for k in 0..factors {
            means.clear();
            means.extend(sums[k].iter().zip(&inverse[k]).map(|(s, inv)| s * inv));
            largest = means.iter().fold(largest, |m, v| m.max(v.abs()));
            let codes = &fe.codes[k];
            let next = (k + 1) % factors;
            if next == k {
                for (x, &c) in column.iter_mut().zip(codes) {
                    *x -= means[c as usize];
                }
                continue;
            }
            let (next_codes, next_sums) = (&fe.codes[next], &mut sums[next]);
            next_sums.fill(0.0);
            match weights {
                Some(w) => {
                    for i in 0..n {
                        column[i] -= means[codes[i] as usize];
                        next_sums[next_codes[i] as usize] += w[i] * column[i];
                    }
                }
                None => {
                    for i in 0..n {
                        column[i] -= means[codes[i] as usize];
                        next_sums[next_codes[i] as usize] += column[i];
                    }
                }
            }
        }
        if factors == 1 || largest <= control.tolerance * scale {
            return Some(sweep);
        }
    }
    None
}

/// Sweeps the fixed effects out of each column in place (weighted by `weights` if given) and
/// returns the largest number of sweeps any column took.
///
/// # Errors
/// [`Error::Length`] for columns or weights of the wrong length, [`Error::Specification`] if a
/// column did not converge within the sweep limit.
pub fn demean(
    columns: &mut [Vec<f64>],
    fe: &FixedEffectCodes,
    weights: Option<&[f64]>,
    control: &DemeanControl,
) -> Result<usize> {
    if fe.is_empty() {
        return Ok(0);
    }
    let n = fe.nobs();
    for (j, c) in columns.iter().enumerate() {
        if c.len() != n {
            return Err(Error::Length { what: format!("column {}", j + 1), expected: n, found: c.len() });
        }
    }
    if let Some(w) = weights {
        if w.len() != n {
            return Err(Error::Length { what: "weights".into(), expected: n, found: w.len() });
        }
    }
    let inverse = inverse_weight_sums(fe, weights);
    let threads = match control.threads {
        0 => strata_core::parallel::threads(),
        t => t,
    }
    .min(columns.len())
    .max(1);
    let chunk = columns.len().div_ceil(threads);
    let results: Vec<Option<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = columns
            .chunks_mut(chunk.max(1))
            .map(|part| {
                let inverse = &inverse;
                scope.spawn(move || {
                    part.iter_mut().map(|c| demean_column(c, fe, weights, inverse, control)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a sweep does not panic")).collect()
    });
    results.into_iter().try_fold(0, |most, sweeps| match sweeps {
        Some(s) => Ok(most.max(s)),
        None => Err(Error::Specification(format!(
            "sweeping out the fixed effects did not converge in {} sweeps",
            control.max_sweeps
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A balanced two-way layout is swept exactly: x_it − x̄_i − x̄_t + x̄.
    #[test]
    fn balanced_two_way_is_double_centring() {
        let (units, times) = (4, 3);
        let values: Vec<f64> = (0..units * times).map(|i| ((i * 7 + 3) % 11) as f64 + 0.5 * i as f64).collect();
        let unit: Vec<u32> = (0..units * times).map(|i| (i / times) as u32).collect();
        let time: Vec<u32> = (0..units * times).map(|i| (i % times) as u32).collect();
        let fe = FixedEffectCodes::new(vec![unit.clone(), time.clone()]).unwrap();
        let mut columns = vec![values.clone()];
        demean(&mut columns, &fe, None, &DemeanControl::default()).unwrap();
        let mean = values.iter().sum::<f64>() / 12.0;
        for i in 0..12 {
            let unit_mean = (0..times).map(|t| values[unit[i] as usize * times + t]).sum::<f64>() / times as f64;
            let time_mean = (0..units).map(|u| values[u * times + time[i] as usize]).sum::<f64>() / units as f64;
            assert!((columns[0][i] - (values[i] - unit_mean - time_mean + mean)).abs() < 1e-12);
        }
    }

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
