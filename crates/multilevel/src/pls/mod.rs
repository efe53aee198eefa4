//! The penalised least-squares solve at the heart of mixed models (Bates et al. 2015, §3):
//! for a given θ, minimise $\|W^{1/2}(y - X\beta - Z\Lambda_\theta u)\|^2 + \|u\|^2$ over u and β.
//! With $A = \Lambda^\top Z^\top W Z\Lambda + I = L L^\top$ and the Schur complement
//! $R_X^\top R_X = X^\top W X - X^\top W Z\Lambda A^{-1}\Lambda^\top Z^\top W X$,
//! β solves $R_X^\top R_X \beta = X^\top W y - X^\top W Z\Lambda A^{-1}\Lambda^\top Z^\top W y$
//! and $u = A^{-1}\Lambda^\top Z^\top W(y - X\beta)$. The cross-products are formed once per
//! weighting and reused for every θ.

mod block;
mod sparse;

use crate::error::Result;
use crate::random_effects::{Coupling, Layout, RandomEffects};
use block::BlockProducts;
use sparse::SparseProducts;
use strata_core::numerics::{Cholesky, Matrix};
use strata_core::parallel::{map_in_order, map_items_in_order, row_blocks, sum_blocks, threads};

/// From this many random effects outside the largest term, the Schur complement is formed on
/// every thread.
const PARALLEL_SCHUR: usize = 256;

/// Above this many random effects, vector terms are solved by eliminating the largest term
/// first rather than as one dense system.
const DENSE_EFFECTS: usize = 100;

/// Weighted cross-products of `[Z, X]` and `y`, stored to suit the random-effects structure.
pub(crate) enum CrossProducts {
    /// Every term scalar (`(1 | g)` terms, nested or crossed): Λθ is diagonal and the first,
    /// largest block of `ZᵀZ` is diagonal, so the system is solved by eliminating that block
    /// first (its coupling to the other blocks kept sparse) and factoring the dense Schur
    /// complement of the rest, as MixedModels.jl does. Memory and time grow with the number of
    /// observations and the square of the levels of the smaller factors only.
    Diagonal(DiagonalProducts),
    /// Every term scalar with many effects outside the largest: one sparse system with a
    /// fill-reducing ordering.
    Sparse(SparseProducts),
    /// Vector terms with many effects: the largest term eliminated level by level (its
    /// blocks of `A` are pₖ × pₖ), then the dense Schur complement of the rest.
    Block(BlockProducts),
    /// Any structure with few effects, as dense matrices.
    Dense(DenseProducts),
}

/// Cross-products for all-scalar random effects.
pub(crate) struct DiagonalProducts {
    /// Levels of the first block.
    q1: usize,
    /// `Z₁ᵀWZ₁` (diagonal).
    d1: Vec<f64>,
    /// `Z₂ᵀWZ₁` by column of the first block, laid end to end (column j from `starts[j]`):
    /// (row in the rest, value).
    b: Vec<(usize, f64)>,
    starts: Vec<usize>,
    /// `Z₂ᵀWZ₂` (dense).
    c: Matrix,
    /// `[Zᵀ W y, Zᵀ W X]` (q × (1 + p)).
    zt: Matrix,
    fixed: FixedProducts,
}

/// Dense cross-products.
pub(crate) struct DenseProducts {
    ztz: Matrix,
    ztx: Matrix,
    zty: Vec<f64>,
    fixed: FixedProducts,
}

/// The solution at one θ.
pub(crate) struct PlsSolution {
    pub beta: Vec<f64>,
    pub u: Vec<f64>,
    /// The minimised penalised weighted residual sum of squares.
    pub pwrss: f64,
    /// `log |L|²`.
    pub log_det_l: f64,
    /// `log |R_X|²`.
    pub log_det_rx: f64,
    /// `(R_XᵀR_X)⁻¹`.
    pub schur_inverse: Matrix,
}

impl CrossProducts {
    pub fn new(x: &Matrix, y: &[f64], weights: Option<&[f64]>, random: &RandomEffects) -> Self {
        match &random.layout {
            Layout::Sparse(layout) => Self::Sparse(SparseProducts::new(x, y, weights, random, layout)),
            Layout::Coupled(coupling) if random.blocks.iter().all(|b| b.p() == 1) => {
                Self::Diagonal(DiagonalProducts::new(x, y, weights, random, coupling))
            }
            Layout::Coupled(coupling) if random.q() > DENSE_EFFECTS => {
                Self::Block(BlockProducts::new(x, y, weights, random, coupling))
            }
            Layout::Coupled(_) => Self::Dense(DenseProducts::new(x, y, weights, random)),
        }
    }

    /// The diagonal blocks of `Λ A⁻¹ Λᵀ`, one pₖ × pₖ block (row-major) per level of each
    /// term in order: the conditional covariances of each level's random effects over σ². For
    /// scalar terms these are the conditional variances.
    pub fn conditional_covariances(&self, random: &RandomEffects, theta: &[f64]) -> Result<Vec<f64>> {
        match self {
            Self::Diagonal(products) => products.conditional_variances(random, theta),
            Self::Sparse(products) => products.conditional_variances(random, sparse_layout(random), theta),
            Self::Block(products) => products.conditional_covariances(random, theta),
            Self::Dense(products) => products.conditional_covariances(random, theta),
        }
    }

    pub fn solve(&self, random: &RandomEffects, theta: &[f64]) -> Result<PlsSolution> {
        match self {
            Self::Diagonal(products) => products.solve(random, theta),
            Self::Sparse(products) => products.solve(random, sparse_layout(random), theta),
            Self::Block(products) => products.solve(random, theta),
            Self::Dense(products) => products.solve(random, theta),
        }
    }
}

/// Λθ's diagonal, λ of every effect, when every term is scalar: each term's θ repeated over its
/// levels.
fn scalar_lambda(random: &RandomEffects, theta: &[f64]) -> Vec<f64> {
    let mut lambda = vec![0.0; random.q()];
    for block in &random.blocks {
        lambda[block.offset..block.offset + block.q()].fill(theta[block.theta_offset]);
    }
    lambda
}

/// Adds a block's partial sums into the total.
fn add_to(total: &mut [f64], part: &[f64]) {
    total.iter_mut().zip(part).for_each(|(a, v)| *a += v);
}

/// The sparse layout the products were built from.
fn sparse_layout(random: &RandomEffects) -> &crate::random_effects::SparseLayout {
    match &random.layout {
        Layout::Sparse(layout) => layout,
        Layout::Coupled(_) => unreachable!("sparse products come from a sparse layout"),
    }
}

/// `XᵀWX`, `XᵀWy` and `yᵀWy`, the same for every storage scheme.
pub(crate) struct FixedProducts {
    xtx: Matrix,
    xty: Vec<f64>,
    yty: f64,
}

impl FixedProducts {
    /// The products on every thread; without fixed effects (a GLMM's PIRLS with β given) only
    /// `yᵀWy`.
    fn new(x: &Matrix, y: &[f64], weights: Option<&[f64]>) -> Self {
        let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
        Self::with_yty(x, y, weights, sum_blocks(y.len(), threads(), |i| y[i] * weight(i) * y[i]))
    }

    /// The products with `yᵀWy` already summed; without fixed effects nothing is passed over.
    fn with_yty(x: &Matrix, y: &[f64], weights: Option<&[f64]>, yty: f64) -> Self {
        if x.ncols() == 0 {
            return Self { xtx: Matrix::zeros(0, 0), xty: Vec::new(), yty };
        }
        let (xtx, xty) = x.weighted_crossprod_with(weights, y);
        Self { xtx, xty, yty }
    }
}

/// The β, u and determinants from `W = A⁻¹[ΛZᵀWy, ΛZᵀWX]` (columns: y first), shared by both
/// storage schemes.
fn finish(w: &Matrix, lzt: &Matrix, fixed: &FixedProducts, log_det_l: f64) -> Result<PlsSolution> {
    let FixedProducts { xtx, xty, yty } = fixed;
    let (q, p) = (lzt.nrows(), xty.len());
    let (beta, log_det_rx, schur_inverse) = if p == 0 {
        (Vec::new(), 0.0, Matrix::zeros(0, 0))
    } else {
        let schur =
            Matrix::from_fn(p, p, |i, j| xtx[(i, j)] - (0..q).map(|k| lzt[(k, i + 1)] * w[(k, j + 1)]).sum::<f64>());
        let rhs: Vec<f64> = (0..p).map(|i| xty[i] - (0..q).map(|k| lzt[(k, i + 1)] * w[(k, 0)]).sum::<f64>()).collect();
        let rx = Cholesky::new(&schur)?;
        (rx.solve(&rhs), rx.log_determinant(), rx.inverse())
    };
    let u: Vec<f64> = (0..q).map(|k| w[(k, 0)] - (0..p).map(|j| w[(k, j + 1)] * beta[j]).sum::<f64>()).collect();
    let pwrss = yty
        - u.iter().zip(lzt.column(0)).map(|(a, b)| a * b).sum::<f64>()
        - beta.iter().zip(xty).map(|(a, b)| a * b).sum::<f64>();
    Ok(PlsSolution { beta, u, pwrss, log_det_l, log_det_rx, schur_inverse })
}

/// One block of rows' share of [`DiagonalProducts`]: what belongs to the first block (`Z₁ᵀWZ₁`,
/// the coupling and the rows of `[Zᵀ W y, Zᵀ W X]`) only over the range of its levels that the
/// rows meet — a short range when the observations are grouped by that factor, as a GLMM's are,
/// so that neither zeroing nor adding the blocks' shares grows with the levels.
struct Partial {
    /// The first block's levels the rows meet, from the lowest to the highest.
    levels: std::ops::Range<usize>,
    /// `Z₁ᵀWZ₁` over those levels.
    d1: Vec<f64>,
    /// The coupling's values over those levels' columns (laid end to end).
    b: Vec<f64>,
    /// `Z₂ᵀWZ₂`.
    c: Matrix,
    /// `[Zᵀ W y, Zᵀ W X]`: the first block's rows over those levels, then the rest's rows.
    zt1: Matrix,
    zt2: Matrix,
    /// `yᵀWy` over the rows.
    yty: f64,
}

impl Partial {
    /// The share of the rows `rows`.
    fn accumulate(
        rows: std::ops::Range<usize>,
        x: &Matrix,
        y: &[f64],
        weights: Option<&[f64]>,
        random: &RandomEffects,
        coupling: &Coupling,
    ) -> Self {
        let (p, q) = (x.ncols(), random.q());
        let first = &random.blocks[0];
        let others = random.blocks.len() - 1;
        let q1 = first.levels.len();
        let codes = &first.codes[rows.clone()];
        let low = codes.iter().copied().min().map_or(0, |c| c as usize);
        let high = codes.iter().copied().max().map_or(0, |c| c as usize + 1);
        let base = coupling.starts[low];
        let mut d1 = vec![0.0; high - low];
        let mut b = vec![0.0; coupling.starts[high] - base];
        let mut c = Matrix::zeros(q - q1, q - q1);
        let mut zt1 = Matrix::zeros(high - low, 1 + p);
        let mut zt2 = Matrix::zeros(q - q1, 1 + p);
        let mut rest: Vec<(usize, f64)> = Vec::with_capacity(others);
        let mut yty = 0.0;
        for i in rows {
            let w = weights.map_or(1.0, |w| w[i]);
            yty += y[i] * w * y[i];
            let level = first.codes[i] as usize;
            let j = level - low;
            let z1 = first.x[(i, 0)];
            d1[j] += w * z1 * z1;
            zt1[(j, 0)] += w * z1 * y[i];
            for col in 0..p {
                zt1[(j, col + 1)] += w * z1 * x[(i, col)];
            }
            rest.clear();
            rest.extend(
                random.blocks[1..].iter().map(|block| (block.offset + block.codes[i] as usize - q1, block.x[(i, 0)])),
            );
            for (m, &(k, zk)) in rest.iter().enumerate() {
                b[coupling.starts[level] - base + coupling.slots[i * others + m] as usize] += w * z1 * zk;
                zt2[(k, 0)] += w * zk * y[i];
                for col in 0..p {
                    zt2[(k, col + 1)] += w * zk * x[(i, col)];
                }
                for &(l, zl) in &rest {
                    c[(k, l)] += w * zk * zl;
                }
            }
        }
        Self { levels: low..high, d1, b, c, zt1, zt2, yty }
    }
}

impl DiagonalProducts {
    /// The coupling column of each level of the first block.
    fn columns(&self) -> impl Iterator<Item = &[(usize, f64)]> {
        self.starts.windows(2).map(|w| &self.b[w[0]..w[1]])
    }

    /// The products over blocks of rows on every thread, the blocks' sums added in order; the
    /// blocks are cut by the data's shape alone ([`row_blocks`]), so the products are the same
    /// on any number of threads.
    fn new(x: &Matrix, y: &[f64], weights: Option<&[f64]>, random: &RandomEffects, coupling: &Coupling) -> Self {
        let (n, p, q) = (x.nrows(), x.ncols(), random.q());
        let q1 = random.blocks[0].levels.len();
        let q2 = q - q1;
        let partial = 8 * (q2 * q2 + q * (2 + p) + 2 * coupling.entries.len());
        let blocks = row_blocks(n, partial);
        let parts = map_in_order(blocks.len(), threads(), |k| {
            Partial::accumulate(blocks[k].clone(), x, y, weights, random, coupling)
        });
        let mut d1 = vec![0.0; q1];
        let mut values = vec![0.0; coupling.starts[q1]];
        let mut c = Matrix::zeros(q2, q2);
        let mut zt = Matrix::zeros(q, 1 + p);
        let mut yty = 0.0;
        for part in parts {
            yty += part.yty;
            let levels = part.levels.clone();
            add_to(&mut d1[levels.clone()], &part.d1);
            add_to(&mut values[coupling.starts[levels.start]..coupling.starts[levels.end]], &part.b);
            add_to(c.as_mut_slice(), part.c.as_slice());
            for column in 0..=p {
                let total = zt.column_mut(column);
                add_to(&mut total[levels.clone()], part.zt1.column(column));
                add_to(&mut total[q1..], part.zt2.column(column));
            }
        }
        let b = coupling.entries.iter().copied().zip(values).collect();
        let fixed = FixedProducts::with_yty(x, y, weights, yty);
        Self { q1, d1, b, starts: coupling.starts.clone(), c, zt, fixed }
    }

    fn solve(&self, random: &RandomEffects, theta: &[f64]) -> Result<PlsSolution> {
        let (q1, q2) = (self.q1, self.c.nrows());
        let columns = self.zt.ncols();
        let lambda = scalar_lambda(random, theta);
        let a11 = self.first_block(&lambda);
        let s = self.schur_complement(&lambda, &a11);
        let chol = Cholesky::new(&s)?;
        // R = ΛZᵀ[y, X]; solve A W = R by eliminating the first block.
        let lzt = Matrix::from_fn(q1 + q2, columns, |k, c| lambda[k] * self.zt[(k, c)]);
        let mut t2 = Matrix::from_fn(q2, columns, |k, c| lzt[(q1 + k, c)]);
        for (j, column) in self.columns().enumerate() {
            for c in 0..columns {
                let r = lzt[(j, c)] / a11[j];
                for &(k, v) in column {
                    t2[(k, c)] -= lambda[q1 + k] * v * lambda[j] * r;
                }
            }
        }
        let u2 = chol.solve_matrix(&t2);
        let mut w = Matrix::zeros(q1 + q2, columns);
        for (j, column) in self.columns().enumerate() {
            for c in 0..columns {
                let coupling: f64 = column.iter().map(|&(k, v)| lambda[q1 + k] * v * lambda[j] * u2[(k, c)]).sum();
                w[(j, c)] = (lzt[(j, c)] - coupling) / a11[j];
            }
        }
        for k in 0..q2 {
            for c in 0..columns {
                w[(q1 + k, c)] = u2[(k, c)];
            }
        }
        let log_det_l = a11.iter().map(|a| a.ln()).sum::<f64>() + chol.log_determinant();
        finish(&w, &lzt, &self.fixed, log_det_l)
    }
}

impl DiagonalProducts {
    /// The diagonal of $A_{11} = \Lambda_1 D_1 \Lambda_1 + I$, the first block's part of `A`.
    fn first_block(&self, lambda: &[f64]) -> Vec<f64> {
        self.d1.iter().zip(lambda).map(|(d, l)| l * l * d + 1.0).collect()
    }

    /// The lower triangle of $S = A_{22} - A_{21} A_{11}^{-1} A_{12}$, with $A_{21} = \Lambda_2 B
    /// \Lambda_1$ kept sparse (the Cholesky factorisation reads no more). Its columns are cut
    /// into one run a thread, each with about the same share of the triangle, and every thread
    /// walks all the coupling columns for the updates that fall in its run: each element
    /// receives the same updates in the same order on any number of threads.
    fn schur_complement(&self, lambda: &[f64], a11: &[f64]) -> Matrix {
        let (q1, q2) = (self.q1, self.c.nrows());
        let mut s = Matrix::zeros(q2, q2);
        let parts = if q2 < PARALLEL_SCHUR { 1 } else { threads() };
        // Column l of the triangle holds q₂ − l elements: run r starts where (q₂ − l)² falls
        // to (1 − r/parts) q₂².
        let cuts: Vec<usize> =
            (0..=parts).map(|r| q2 - (q2 as f64 * (1.0 - r as f64 / parts as f64).sqrt()).round() as usize).collect();
        let mut runs = Vec::with_capacity(parts);
        let mut rest = s.as_mut_slice();
        for window in cuts.windows(2) {
            let (run, after) = std::mem::take(&mut rest).split_at_mut((window[1] - window[0]) * q2);
            runs.push((window[0]..window[1], run));
            rest = after;
        }
        map_items_in_order(runs, parts, |(columns, run)| {
            for (l, column) in columns.clone().zip(run.chunks_mut(q2.max(1))) {
                let scale = lambda[q1 + l];
                for k in l..q2 {
                    column[k] = lambda[q1 + k] * self.c[(k, l)] * scale;
                }
                column[l] += 1.0;
            }
            let mut scaled: Vec<(usize, f64)> = Vec::new();
            for (j, entries) in self.columns().enumerate() {
                if !entries.iter().any(|(l, _)| columns.contains(l)) {
                    continue;
                }
                let factor = lambda[j] / a11[j].sqrt();
                scaled.clear();
                scaled.extend(entries.iter().map(|&(k, v)| (k, factor * lambda[q1 + k] * v)));
                for (m, &(l, al)) in scaled.iter().enumerate() {
                    if columns.contains(&l) {
                        let column = &mut run[(l - columns.start) * q2..(l - columns.start + 1) * q2];
                        for &(k, ak) in &scaled[m..] {
                            column[k] -= ak * al;
                        }
                    }
                }
            }
        });
        s
    }

    /// With A₁₁ diagonal: (A⁻¹)ⱼⱼ = 1/a₁₁ⱼ + aⱼᵀ S⁻¹ aⱼ / a₁₁ⱼ² in the first block (aⱼ its
    /// sparse coupling column) and diag(S⁻¹) in the rest; Λ is diagonal.
    fn conditional_variances(&self, random: &RandomEffects, theta: &[f64]) -> Result<Vec<f64>> {
        let (q1, q2) = (self.q1, self.c.nrows());
        let lambda = scalar_lambda(random, theta);
        let a11 = self.first_block(&lambda);
        let s_inverse = Cholesky::new(&self.schur_complement(&lambda, &a11))?.inverse();
        let mut out = Vec::with_capacity(q1 + q2);
        for (j, column) in self.columns().enumerate() {
            let coupling: Vec<(usize, f64)> =
                column.iter().map(|&(k, v)| (k, lambda[q1 + k] * v * lambda[j])).collect();
            let quadratic: f64 = coupling
                .iter()
                .map(|&(k, ak)| coupling.iter().map(|&(l, al)| ak * s_inverse[(k, l)] * al).sum::<f64>())
                .sum();
            out.push(lambda[j] * lambda[j] * (1.0 / a11[j] + quadratic / (a11[j] * a11[j])));
        }
        for k in 0..q2 {
            out.push(lambda[q1 + k] * lambda[q1 + k] * s_inverse[(k, k)]);
        }
        Ok(out)
    }
}

impl DenseProducts {
    fn conditional_covariances(&self, random: &RandomEffects, theta: &[f64]) -> Result<Vec<f64>> {
        let q = self.zty.len();
        let mut a = random.sandwich(theta, &self.ztz);
        for i in 0..q {
            a[(i, i)] += 1.0;
        }
        let inverse = Cholesky::new(&a)?.inverse();
        let mut out = Vec::new();
        for block in &random.blocks {
            let t = block.factor(theta);
            let p = block.p();
            for level in 0..block.levels.len() {
                let base = block.offset + level * p;
                for i in 0..p {
                    for j in 0..p {
                        out.push(
                            (0..p)
                                .map(|k| {
                                    (0..p).map(|l| t[(i, k)] * inverse[(base + k, base + l)] * t[(j, l)]).sum::<f64>()
                                })
                                .sum(),
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    fn new(x: &Matrix, y: &[f64], weights: Option<&[f64]>, random: &RandomEffects) -> Self {
        let (n, p, q) = (x.nrows(), x.ncols(), random.q());
        let mut ztz = Matrix::zeros(q, q);
        let mut ztx = Matrix::zeros(q, p);
        let mut zty = vec![0.0; q];
        let mut row: Vec<(usize, f64)> = Vec::new();
        for i in 0..n {
            let w = weights.map_or(1.0, |w| w[i]);
            row.clear();
            row.extend(random.row(i));
            for &(a, va) in &row {
                let wa = w * va;
                zty[a] += wa * y[i];
                for j in 0..p {
                    ztx[(a, j)] += wa * x[(i, j)];
                }
                for &(b, vb) in &row {
                    ztz[(a, b)] += wa * vb;
                }
            }
        }
        Self { ztz, ztx, zty, fixed: FixedProducts::new(x, y, weights) }
    }

    fn solve(&self, random: &RandomEffects, theta: &[f64]) -> Result<PlsSolution> {
        let q = self.zty.len();
        let p = self.fixed.xty.len();
        let mut a = random.sandwich(theta, &self.ztz);
        for i in 0..q {
            a[(i, i)] += 1.0;
        }
        let l = Cholesky::new(&a)?;
        let lzty = random.lambda_transpose_times(theta, &self.zty);
        let a_inv_lzty = l.solve(&lzty);
        let (beta, log_det_rx, schur_inverse, a_inv_lztx) = if p == 0 {
            (Vec::new(), 0.0, Matrix::zeros(0, 0), Matrix::zeros(q, 0))
        } else {
            let lztx = random.lambda_transpose_matrix(theta, &self.ztx);
            let a_inv_lztx = l.solve_matrix(&lztx);
            let schur = Matrix::from_fn(p, p, |i, j| {
                self.fixed.xtx[(i, j)] - (0..q).map(|k| lztx[(k, i)] * a_inv_lztx[(k, j)]).sum::<f64>()
            });
            let rhs: Vec<f64> =
                (0..p).map(|i| self.fixed.xty[i] - (0..q).map(|k| lztx[(k, i)] * a_inv_lzty[k]).sum::<f64>()).collect();
            let rx = Cholesky::new(&schur)?;
            (rx.solve(&rhs), rx.log_determinant(), rx.inverse(), a_inv_lztx)
        };
        let u: Vec<f64> =
            (0..q).map(|k| a_inv_lzty[k] - (0..p).map(|j| a_inv_lztx[(k, j)] * beta[j]).sum::<f64>()).collect();
        let pwrss = self.fixed.yty
            - u.iter().zip(&lzty).map(|(a, b)| a * b).sum::<f64>()
            - beta.iter().zip(&self.fixed.xty).map(|(a, b)| a * b).sum::<f64>();
        Ok(PlsSolution { beta, u, pwrss, log_det_l: l.log_determinant(), log_det_rx, schur_inverse })
    }
}

/// What the solves' tests share: a frame of a response, a covariate and three grouping factors,
/// a model's matrices on it, and the comparison of two solutions.
#[cfg(test)]
pub(crate) mod testing {
    use super::PlsSolution;
    use crate::random_effects::RandomEffects;
    use strata_core::design::{model_expressions, ModelMatrix};
    use strata_core::model_frame::ModelFrame;
    use strata_core::{DataFrame, Formula};

    /// The frame with floats `y`, `x` and grouping factors `g`, `h`, `t`.
    pub fn frame(y: &[f64], x: &[f64], g: &[String], h: &[String], t: &[String]) -> DataFrame {
        DataFrame::new()
            .with_floats("y", y)
            .unwrap()
            .with_floats("x", x)
            .unwrap()
            .with_levels("g", g)
            .unwrap()
            .with_levels("h", h)
            .unwrap()
            .with_levels("t", t)
            .unwrap()
    }

    /// The fixed-effects matrix and random effects of the mixed-model formula `text`.
    pub fn prepare(frame: &DataFrame, text: &str) -> (ModelMatrix, RandomEffects) {
        let formula = Formula::parse(text).unwrap();
        let terms = formula.terms().unwrap();
        let response = formula.response().unwrap();
        let model_frame = ModelFrame::new(frame, &model_expressions(&terms, &[response])).unwrap();
        (ModelMatrix::new(&terms, &model_frame).unwrap(), RandomEffects::new(&terms, &model_frame).unwrap())
    }

    /// Asserts `a` and `b` equal to 1e-9 relative.
    pub fn assert_close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{what}: {a} vs {b}");
    }

    /// Asserts two solutions equal to 1e-9 relative: β, u, the PWRSS and both determinants.
    pub fn assert_same(a: &PlsSolution, b: &PlsSolution, what: &str) {
        assert_close(a.pwrss, b.pwrss, what);
        assert_close(a.log_det_l, b.log_det_l, what);
        assert_close(a.log_det_rx, b.log_det_rx, what);
        for (u, v) in a.beta.iter().zip(&b.beta).chain(a.u.iter().zip(&b.u)) {
            assert_close(*u, *v, what);
        }
    }

    /// Neighbourhoods (1,500) crossed with the schools near them (1,100), as the R scripts of
    /// the tests generate them from integers alone: row i in neighbourhood a = i mod 1,500 and
    /// school b = (⌊11a/15⌋ + ⌊i/1,500⌋ mod 3) mod 1,100, x = (i mod 10)/10, a signal
    /// 0.3x + (a mod 37)/40 − (b mod 29)/30, and a uniform s/2³² from s ← (69069 s + 1) mod 2³²
    /// starting at 12,345. Returns the frame of x, a and b with the signals and uniforms.
    pub fn neighbourhoods_and_schools(n: u64) -> (DataFrame, Vec<f64>, Vec<f64>) {
        let mut state = 12_345_u64;
        let (mut x, mut a, mut b, mut signal, mut uniform) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            state = (69_069 * state + 1) % (1 << 32);
            let (ai, bi) = (i % 1_500, ((i % 1_500) * 11 / 15 + (i / 1_500) % 3) % 1_100);
            let xi = (i % 10) as f64 / 10.0;
            signal.push(0.3 * xi + (ai % 37) as f64 / 40.0 - (bi % 29) as f64 / 30.0);
            uniform.push(state as f64 / 4_294_967_296.0);
            x.push(xi);
            a.push(ai.to_string());
            b.push(bi.to_string());
        }
        let frame =
            DataFrame::new().with_floats("x", &x).unwrap().with_levels("a", &a).unwrap().with_levels("b", &b).unwrap();
        (frame, signal, uniform)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{frame, prepare};
    use super::*;

    /// Neighbourhoods (1,200) crossed with 600 schools: the Schur complement of the schools is
    /// formed, and factorised, on every thread, and the solution is the same, bit for bit, on
    /// one thread as on two.
    #[test]
    fn the_schur_complement_does_not_depend_on_the_threads() {
        let n = 8_000;
        let name = |v: usize| v.to_string();
        let g: Vec<String> = (0..n).map(|i| name(i % 1_200)).collect();
        let h: Vec<String> = (0..n).map(|i| name((i * 7 + i / 1_200) % 600)).collect();
        let t: Vec<String> = (0..n).map(|i| name(i % 3)).collect();
        let x: Vec<f64> = (0..n).map(|i| (i % 10) as f64 / 10.0).collect();
        let y: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64 / 1013.0 + 0.3 * x[i]).collect();
        let (design, random) = prepare(&frame(&y, &x, &g, &h, &t), "y ~ x + (1 | g) + (1 | h)");
        let solve = |threads: usize| {
            strata_core::parallel::set_threads(threads);
            let system = CrossProducts::new(&design.matrix, &y, None, &random);
            let solution = system.solve(&random, &[0.7, 0.4]).unwrap();
            strata_core::parallel::set_threads(0);
            assert!(matches!(system, CrossProducts::Diagonal(_)));
            solution
        };
        let (one, two) = (solve(1), solve(2));
        assert_eq!(one.pwrss.to_bits(), two.pwrss.to_bits());
        assert_eq!(one.log_det_l.to_bits(), two.log_det_l.to_bits());
        assert_eq!((one.beta, one.u), (two.beta, two.u));
    }
}
