//! Sweeping out fixed effects: the projection of a column on the dummies of one or more
//! factors, by alternating projections (Guimarães & Portugal 2010; Gaure 2013) carried out on
//! the fixed effects' coefficients rather than on the observations (as fixest does, Bergé 2018).
//!
//! With factors $k = 1..K$, level $g_k(i)$ of observation $i$ and weights $w$, the projection of
//! $x$ is $\sum_k \alpha_{k, g_k(i)}$ where the $\alpha$ solve the normal equations
//! $$W_{k,g}\,\alpha_{k,g} + \sum_{j \ne k} \sum_h C^{kj}_{g h}\,\alpha_{j,h} = b_{k,g},$$
//! with $b_{k,g} = \sum_{i:\, g_k(i) = g} w_i x_i$, $W_{k,g}$ the weight of level $g$ of factor
//! $k$ and $C^{kj}$ the weighted cross-tabulation of factors $k$ and $j$. Each sweep updates every
//! factor's coefficients in turn from the others' (block Gauss–Seidel): exactly the iterates of
//! alternating projections on the observations — subtracting each factor's weighted group means
//! of the current residual — which by the theorem of von Neumann and Halperin converge to the
//! projection on all factors together; but a sweep costs the number of non-empty cells of the
//! cross-tabulations instead of $K$ passes over the observations. A column costs two passes:
//! its group sums $b$, and the subtraction of the solution. Sweeps stop when no coefficient
//! moved by more than `tolerance` times the column's root mean square; with one factor the first
//! is exact. Columns are independent and are swept in parallel; each column's arithmetic is the
//! same on any number of threads.

use super::codes::FixedEffectCodes;
use crate::error::{Error, Result};
use strata_core::ranks::RankTable;

/// Numerical knobs of the sweeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemeanControl {
    /// Stop when no fixed-effect coefficient moves by more than this times the column's root
    /// mean square.
    pub tolerance: f64,
    /// Sweep limit per column.
    pub max_sweeps: usize,
    /// Threads to sweep columns on (0: `strata_core::parallel::threads()`).
    pub threads: usize,
}

impl DemeanControl {
    /// The threads to use: `threads`, or `strata_core::parallel::threads()` for 0.
    pub fn thread_count(&self) -> usize {
        match self.threads {
            0 => strata_core::parallel::threads(),
            t => t,
        }
    }
}

impl Default for DemeanControl {
    fn default() -> Self {
        Self { tolerance: 1e-13, max_sweeps: 10_000, threads: 0 }
    }
}

/// The cells where two factors cross (pairs of levels that share an observation), with the
/// number of observations in each and, for fits that weight observations, each observation's
/// cell; cells are numbered in order of (first level, second level).
#[derive(Debug, Clone)]
pub(crate) struct Crossing {
    /// The two factors.
    factors: (usize, usize),
    /// The cell of each observation, kept only to total weights by cell.
    cell: Option<Vec<u32>>,
    /// The observations in each cell.
    counts: Vec<f64>,
    /// Each cell's level of the first factor.
    first: Vec<u32>,
    /// Each cell's level of the second factor.
    second: Vec<u32>,
    /// The cells of level `g` of the first factor: `first_start[g]..first_start[g + 1]`.
    first_start: Vec<usize>,
    /// The cells in order of their second factor's level.
    by_second: Vec<u32>,
    /// The cells of level `h` of the second factor: `by_second[second_start[h]..second_start[h + 1]]`.
    second_start: Vec<usize>,
}

/// Where each level's entries start, given each entry's level (entries `0..`, `levels` levels).
fn starts(levels: usize, entries: &[u32]) -> Vec<usize> {
    let mut start = vec![0; levels + 1];
    for &g in entries {
        start[g as usize + 1] += 1;
    }
    for g in 0..levels {
        start[g + 1] += start[g];
    }
    start
}

impl Crossing {
    fn new(fe: &FixedEffectCodes, a: usize, b: usize, weighted: bool) -> Self {
        let width = fe.levels()[b] as u64;
        let keys = || fe.codes(a).iter().zip(fe.codes(b)).map(|(&g, &h)| u64::from(g) * width + u64::from(h));
        let table = RankTable::new(keys(), fe.nobs());
        let distinct = table.distinct();
        let mut counts = vec![0u64; distinct.len()];
        let cells = keys().map(|k| table.rank(k));
        let cell = if weighted {
            let cell: Vec<u32> = cells.collect();
            for &c in &cell {
                counts[c as usize] += 1;
            }
            Some(cell)
        } else {
            cells.for_each(|c| counts[c as usize] += 1);
            None
        };
        let first: Vec<u32> = distinct.iter().map(|k| (k / width) as u32).collect();
        let second: Vec<u32> = distinct.iter().map(|k| (k % width) as u32).collect();
        let first_start = starts(fe.levels()[a], &first);
        let second_start = starts(fe.levels()[b], &second);
        let mut next = second_start.clone();
        let mut by_second = vec![0; second.len()];
        for (c, &h) in second.iter().enumerate() {
            by_second[next[h as usize]] = c as u32;
            next[h as usize] += 1;
        }
        #[allow(clippy::cast_precision_loss)] // counts of observations are far below 2^53
        let counts = counts.into_iter().map(|c| c as f64).collect();
        Self { factors: (a, b), cell, counts, first, second, first_start, by_second, second_start }
    }

    /// The total weight of each cell (its count without weights).
    ///
    /// # Panics
    /// With weights, if the crossing was built without each observation's cell.
    fn weights(&self, weights: Option<&[f64]>) -> Vec<f64> {
        let Some(w) = weights else { return self.counts.clone() };
        let cell = self.cell.as_ref().expect("crossings for weighted fits keep each observation's cell");
        let mut sums = CompensatedSums::new(self.first.len());
        for (&c, &w) in cell.iter().zip(w) {
            sums.add(c, w);
        }
        sums.into_sums()
    }
}

/// Every pair of factors' crossing: what does not depend on the weights, computed once for
/// fits that reweight (Poisson's IRLS).
#[derive(Debug, Clone)]
pub(crate) struct Crossings(Vec<Crossing>);

impl Crossings {
    /// The crossings of every pair of `fe`'s factors, pairs in parallel on `threads` threads;
    /// `weighted` keeps what totals weights by cell.
    pub(crate) fn new(fe: &FixedEffectCodes, threads: usize, weighted: bool) -> Self {
        let k = fe.len();
        let pairs: Vec<(usize, usize)> = (0..k).flat_map(|a| (a + 1..k).map(move |b| (a, b))).collect();
        Self(strata_core::parallel::map_in_order(pairs.len(), threads, |p| {
            Crossing::new(fe, pairs[p].0, pairs[p].1, weighted)
        }))
    }
}

/// The fixed effects for one set of weights: each level's total weight and each crossing's
/// cell weights, ready to solve for any column.
pub(crate) struct Projector<'a> {
    fe: &'a FixedEffectCodes,
    weights: Option<&'a [f64]>,
    crossings: &'a Crossings,
    /// Per factor, the reciprocal of each level's total weight (0 for a level without weight).
    inverse: Vec<Vec<f64>>,
    /// Per crossing, each cell's total weight.
    cell_weights: Vec<Vec<f64>>,
}

impl<'a> Projector<'a> {
    /// The projector for `weights`, from the factors' `crossings`; cells weighted on `threads`
    /// threads.
    pub(crate) fn new(
        fe: &'a FixedEffectCodes,
        crossings: &'a Crossings,
        weights: Option<&'a [f64]>,
        threads: usize,
    ) -> Self {
        let inverse = factor_sums(fe, weights.map_or(Values::One, Values::Slice))
            .into_iter()
            .map(|sums| sums.into_iter().map(|s| if s > 0.0 { 1.0 / s } else { 0.0 }).collect())
            .collect();
        let cell_weights =
            strata_core::parallel::map_in_order(crossings.0.len(), threads, |c| crossings.0[c].weights(weights));
        Self { fe, weights, crossings, inverse, cell_weights }
    }

    /// Zero coefficients for every level: the start of a first solve.
    pub(crate) fn zeros(&self) -> Vec<Vec<f64>> {
        self.fe.levels().iter().map(|&l| vec![0.0; l]).collect()
    }

    /// Solves for the fixed-effect coefficients of `column`'s projection, starting from `alpha`
    /// (a previous solution, or [`zeros`](Self::zeros)); the number of sweeps, `None` if the
    /// limit was reached first.
    pub(crate) fn solve(&self, column: &[f64], alpha: &mut [Vec<f64>], control: &DemeanControl) -> Option<usize> {
        let n = column.len();
        if n == 0 || self.fe.is_empty() {
            return Some(0);
        }
        let factors = self.fe.len();
        let rhs = factor_sums(self.fe, self.weights.map_or(Values::Slice(column), |w| Values::Product(w, column)));
        let scale = (column.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt().max(f64::MIN_POSITIVE);
        let mut total = Vec::new();
        for sweep in 1..=control.max_sweeps {
            let mut largest: f64 = 0.0;
            for k in 0..factors {
                total.clone_from(&rhs[k]);
                for (crossing, cells) in self.crossings.0.iter().zip(&self.cell_weights) {
                    let c = crossing;
                    if c.factors.0 == k {
                        let other = &alpha[c.factors.1];
                        for (g, t) in total.iter_mut().enumerate() {
                            for cell in c.first_start[g]..c.first_start[g + 1] {
                                *t -= cells[cell] * other[c.second[cell] as usize];
                            }
                        }
                    } else if c.factors.1 == k {
                        let other = &alpha[c.factors.0];
                        for (h, t) in total.iter_mut().enumerate() {
                            for &cell in &c.by_second[c.second_start[h]..c.second_start[h + 1]] {
                                *t -= cells[cell as usize] * other[c.first[cell as usize] as usize];
                            }
                        }
                    }
                }
                for ((a, t), inv) in alpha[k].iter_mut().zip(&total).zip(&self.inverse[k]) {
                    let next = t * inv;
                    largest = largest.max((next - *a).abs());
                    *a = next;
                }
            }
            if factors == 1 || largest <= control.tolerance * scale {
                return Some(sweep);
            }
        }
        None
    }

    /// Replaces `column` by its residual from the projection, starting the solve from `alpha`,
    /// which is left holding the solution; the number of sweeps, `None` if the limit was
    /// reached first.
    fn sweep_column(&self, column: &mut [f64], alpha: &mut [Vec<f64>], control: &DemeanControl) -> Option<usize> {
        let sweeps = self.solve(column, alpha, control)?;
        for (start, block) in (0..).step_by(BLOCK).zip(column.chunks_mut(BLOCK)) {
            for (k, alpha) in alpha.iter().enumerate() {
                for (x, &g) in block.iter_mut().zip(&self.fe.codes(k)[start..]) {
                    *x -= alpha[g as usize];
                }
            }
        }
        Some(sweeps)
    }

    /// Sweeps the fixed effects out of each column in place, each starting from its entry of
    /// `starts` (left holding its solution), columns in parallel; the largest number of sweeps.
    ///
    /// # Errors
    /// [`Error::Specification`] if a column did not converge within the sweep limit.
    pub(crate) fn sweep(
        &self,
        columns: &mut [&mut [f64]],
        starts: &mut [Vec<Vec<f64>>],
        control: &DemeanControl,
    ) -> Result<usize> {
        let threads = control.thread_count().min(columns.len()).max(1);
        let chunk = columns.len().div_ceil(threads).max(1);
        let results: Vec<Option<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = columns
                .chunks_mut(chunk)
                .zip(starts.chunks_mut(chunk))
                .map(|(part, starts)| {
                    scope.spawn(move || {
                        part.iter_mut()
                            .zip(starts)
                            .map(|(column, alpha)| self.sweep_column(column, alpha, control))
                            .collect::<Vec<_>>()
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
}

/// What is summed by level: ones, a column, or a product of two.
#[derive(Clone, Copy)]
enum Values<'v> {
    One,
    Slice(&'v [f64]),
    Product(&'v [f64], &'v [f64]),
}

/// Sums by level, compensated (Kahan 1965): each level's error stays at rounding level however
/// many observations it has. Without it the right-hand sides and the weights of the normal
/// equations, summed in different orders, disagree by about √n rounding errors; the equations are
/// then slightly inconsistent and the sweeps drift along the directions the factors share (a
/// constant moved from one factor to another) by that much at every sweep, never meeting a tight
/// tolerance on ten million observations.
struct CompensatedSums {
    sums: Vec<f64>,
    compensation: Vec<f64>,
}

impl CompensatedSums {
    fn new(levels: usize) -> Self {
        Self { sums: vec![0.0; levels], compensation: vec![0.0; levels] }
    }

    #[inline]
    fn add(&mut self, level: u32, value: f64) {
        let (sum, compensation) = (&mut self.sums[level as usize], &mut self.compensation[level as usize]);
        let y = value - *compensation;
        let t = *sum + y;
        *compensation = (t - *sum) - y;
        *sum = t;
    }

    fn into_sums(self) -> Vec<f64> {
        self.sums
    }
}

/// Rows taken at a time by the passes over the observations: every factor's codes are read
/// against a block of the column while it is in cache.
const BLOCK: usize = 4096;

/// The sums of `values` by level of every factor, in one pass over the rows.
fn factor_sums(fe: &FixedEffectCodes, values: Values<'_>) -> Vec<Vec<f64>> {
    let n = fe.nobs();
    let mut sums: Vec<CompensatedSums> = fe.levels().iter().map(|&l| CompensatedSums::new(l)).collect();
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        for (k, sums) in sums.iter_mut().enumerate() {
            let codes = &fe.codes(k)[start..end];
            match values {
                Values::One => {
                    for &g in codes {
                        sums.add(g, 1.0);
                    }
                }
                Values::Slice(x) => {
                    for (&g, &x) in codes.iter().zip(&x[start..end]) {
                        sums.add(g, x);
                    }
                }
                Values::Product(w, x) => {
                    for ((&g, &w), &x) in codes.iter().zip(&w[start..end]).zip(&x[start..end]) {
                        sums.add(g, w * x);
                    }
                }
            }
        }
    }
    sums.into_iter().map(CompensatedSums::into_sums).collect()
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
    let threads = control.thread_count();
    let crossings = Crossings::new(fe, threads, weights.is_some());
    let projector = Projector::new(fe, &crossings, weights, threads);
    let mut starts: Vec<Vec<Vec<f64>>> = columns.iter().map(|_| projector.zeros()).collect();
    let mut slices: Vec<&mut [f64]> = columns.iter_mut().map(Vec::as_mut_slice).collect();
    projector.sweep(&mut slices, &mut starts, control)
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

    /// On an unbalanced three-way layout with weights, the swept column is orthogonal (in the
    /// weighted inner product) to every level of every factor, and a warm start from the
    /// solution converges in one sweep to the same residual.
    #[test]
    fn weighted_three_way_residual_is_orthogonal_to_every_level() {
        let n = 500;
        let a: Vec<u32> = (0..n).map(|i| (i * 7 % 13) as u32).collect();
        let b: Vec<u32> = (0..n).map(|i| ((i * 5 + i / 7) % 17) as u32).collect();
        let c: Vec<u32> = (0..n).map(|i| ((i / 3) % 5) as u32).collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 / 3.0).collect();
        let x: Vec<f64> = (0..n).map(|i| ((i * 31 % 101) as f64).sin() * 10.0 + i as f64 / 50.0).collect();
        let fe = FixedEffectCodes::new(vec![a, b, c]).unwrap();
        let crossings = Crossings::new(&fe, 2, true);
        let projector = Projector::new(&fe, &crossings, Some(&w), 2);
        let control = DemeanControl::default();
        let mut column = x.clone();
        let mut starts = vec![projector.zeros()];
        let sweeps = projector.sweep(&mut [column.as_mut_slice()], &mut starts, &control).unwrap();
        assert!(sweeps > 1);
        for k in 0..3 {
            let mut sums = vec![0.0; fe.levels()[k]];
            for i in 0..n {
                sums[fe.codes(k)[i] as usize] += w[i] * column[i];
            }
            assert!(sums.iter().all(|s| s.abs() < 1e-9), "factor {k}: {sums:?}");
        }
        let mut again = x;
        assert_eq!(projector.sweep(&mut [again.as_mut_slice()], &mut starts, &control).unwrap(), 1);
        assert!(again.iter().zip(&column).all(|(a, b)| (a - b).abs() < 1e-10));
    }
}
