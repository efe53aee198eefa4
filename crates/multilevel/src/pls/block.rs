//! Cross-products for random effects with vector terms — `(1 + x | neighbourhood)` alongside
//! `(1 | authority)` — solved by eliminating the largest term first.
//!
//! Order the effects as the largest term's (block 1: ℓ₁ levels of p₁ effects each) and the
//! rest (block 2). Then $A = \Lambda^\top Z^\top W Z\Lambda + I$ has
//! $A_{11} = \mathrm{diag}_j(T_1^\top D_j T_1 + I)$, block-diagonal with one p₁ × p₁ block per
//! level ($D_j$ that level's $Z^\top W Z$ block), a sparse coupling $A_{21} = \Lambda_2^\top
//! Z_2^\top W Z_1\Lambda_1$ whose column group j has rows only for the levels of the other
//! terms that level meets, and a dense $A_{22}$. With $A_{11,j} = L_j L_j^\top$ and
//! $H_j = A_{21,j} L_j^{-\top}$, the Schur complement is $S = A_{22} - \sum_j H_j H_j^\top$,
//! $\log|A| = \sum_j \log|L_j|^2 + \log|S|$, and $A W = R$ is solved by
//! $W_2 = S^{-1}(R_2 - \sum_j H_j L_j^{-1} R_{1,j})$,
//! $W_{1,j} = L_j^{-\top}(L_j^{-1}R_{1,j} - H_j^\top W_2)$. The diagonal blocks of $A^{-1}$ (for
//! the conditional covariances) are $L_j^{-\top}(I + H_j^\top S^{-1} H_j)L_j^{-1}$ and the
//! blocks of $S^{-1}$. Work and memory grow with the observations, the levels of the largest
//! term times p₁², and the square of the other terms' effects.

use super::{finish, FixedProducts, PlsSolution};
use crate::error::{Error, Result};
use crate::random_effects::{Coupling, RandomEffects};
use strata_core::numerics::{Cholesky, Matrix};

/// A level of one of the other terms: its number of effects and its term.
#[derive(Debug, Clone, Copy)]
struct Group {
    p: usize,
    block: usize,
}

/// The cross-products, by level of the largest term.
pub(crate) struct BlockProducts {
    p1: usize,
    levels1: usize,
    /// `Z₁ᵀWZ₁`: one p₁ × p₁ block (row-major) per level.
    d1: Vec<f64>,
    /// `Z₂ᵀWZ₁` for each level of the first term, laid end to end (level j's from
    /// `starts[j]`): the rows it meets (ascending, whole groups) and p₁ values per row
    /// (row-major).
    rows: Vec<usize>,
    values: Vec<f64>,
    starts: Vec<usize>,
    /// `Z₂ᵀWZ₂`.
    c: Matrix,
    /// `[Zᵀ W y, Zᵀ W X]` (q × (1 + p)).
    zt: Matrix,
    fixed: FixedProducts,
    /// The group of each of the other terms' effects.
    groups: Vec<Group>,
}

/// What one θ leaves after eliminating the first term.
struct Elimination {
    t1: Matrix,
    factors: Vec<Matrix>,
    /// Per level: the lower factor L_j (p₁ × p₁ row-major, level after level).
    l: Vec<f64>,
    /// H_j (its rows × p₁, row-major), laid out as `values`.
    h: Vec<f64>,
    schur: Cholesky,
    log_det: f64,
}

impl BlockProducts {
    pub(crate) fn new(
        x: &Matrix,
        y: &[f64],
        weights: Option<&[f64]>,
        random: &RandomEffects,
        coupling: &Coupling,
    ) -> Self {
        let (n, p, q) = (x.nrows(), x.ncols(), random.q());
        let first = &random.blocks[0];
        let (p1, levels1) = (first.p(), first.levels.len());
        let q1 = p1 * levels1;
        let mut groups = Vec::with_capacity(q - q1);
        for (index, block) in random.blocks.iter().enumerate().skip(1) {
            for _ in 0..block.levels.len() {
                groups.extend(std::iter::repeat_n(Group { p: block.p(), block: index }, block.p()));
            }
        }
        let rows = coupling.entries.clone();
        let mut values = vec![0.0; rows.len() * p1];
        let mut d1 = vec![0.0; levels1 * p1 * p1];
        let mut c = Matrix::zeros(q - q1, q - q1);
        let mut zt = Matrix::zeros(q, 1 + p);
        let mut rest: Vec<(usize, f64)> = Vec::new();
        for i in 0..n {
            let w = weights.map_or(1.0, |w| w[i]);
            let j = first.codes[i] as usize;
            let z1: Vec<f64> = (0..p1).map(|a| first.x[(i, a)]).collect();
            for a in 0..p1 {
                for b in 0..p1 {
                    d1[j * p1 * p1 + a * p1 + b] += w * z1[a] * z1[b];
                }
                zt[(j * p1 + a, 0)] += w * z1[a] * y[i];
                for col in 0..p {
                    zt[(j * p1 + a, col + 1)] += w * z1[a] * x[(i, col)];
                }
            }
            rest.clear();
            for block in &random.blocks[1..] {
                let start = block.offset - q1 + block.codes[i] as usize * block.p();
                rest.extend((0..block.p()).map(|r| (start + r, block.x[(i, r)])));
            }
            let slots = &coupling.slots[i * rest.len()..(i + 1) * rest.len()];
            for (&(k, zk), &slot) in rest.iter().zip(slots) {
                let entry = (coupling.starts[j] + slot as usize) * p1;
                for a in 0..p1 {
                    values[entry + a] += w * zk * z1[a];
                }
                zt[(q1 + k, 0)] += w * zk * y[i];
                for col in 0..p {
                    zt[(q1 + k, col + 1)] += w * zk * x[(i, col)];
                }
                for &(l, zl) in &rest {
                    c[(k, l)] += w * zk * zl;
                }
            }
        }
        let starts = coupling.starts.clone();
        Self { p1, levels1, d1, rows, values, starts, c, zt, fixed: FixedProducts::new(x, y, weights), groups }
    }

    /// Λ₂ᵀ applied to `input`, whose row i (of `columns`, row-major) is the other terms' effect
    /// `rows[i]` (ascending, whole groups): row start + r of the result is
    /// $\sum_{s \ge r} T[s, r]$ times row start + s of the input.
    fn lambda2_transpose_rows(
        &self,
        factors: &[Matrix],
        rows: &[usize],
        input: &[f64],
        columns: usize,
        out: &mut [f64],
    ) {
        out.fill(0.0);
        let mut i = 0;
        while i < rows.len() {
            let group = self.groups[rows[i]];
            let t = &factors[group.block];
            for r in 0..group.p {
                for s in r..group.p {
                    let coefficient = t[(s, r)];
                    if coefficient != 0.0 {
                        for col in 0..columns {
                            out[(i + r) * columns + col] += coefficient * input[(i + s) * columns + col];
                        }
                    }
                }
            }
            i += group.p;
        }
    }

    /// Λ₂ᵀ M for a matrix whose rows are all the other terms' effects.
    fn lambda2_transpose_matrix(&self, factors: &[Matrix], m: &Matrix) -> Matrix {
        let (rows, columns) = (m.nrows(), m.ncols());
        let all: Vec<usize> = (0..rows).collect();
        let input: Vec<f64> =
            (0..rows).flat_map(|i| (0..columns).map(move |j| (i, j))).map(|(i, j)| m[(i, j)]).collect();
        let mut out = vec![0.0; input.len()];
        self.lambda2_transpose_rows(factors, &all, &input, columns, &mut out);
        Matrix::from_fn(rows, columns, |i, j| out[i * columns + j])
    }

    fn eliminate(&self, random: &RandomEffects, theta: &[f64]) -> Result<Elimination> {
        let p1 = self.p1;
        let factors: Vec<Matrix> = random.blocks.iter().map(|b| b.factor(theta)).collect();
        let t1 = factors[0].clone();
        let q2 = self.c.nrows();
        // A₂₂ = Λ₂ᵀ C Λ₂ + I: Λ₂ᵀ on the rows, then on the columns (C is symmetric).
        let half = self.lambda2_transpose_matrix(&factors, &self.c);
        let mut a22 = self.lambda2_transpose_matrix(&factors, &half.transpose());
        for k in 0..q2 {
            a22[(k, k)] += 1.0;
        }
        let mut l = vec![0.0; self.levels1 * p1 * p1];
        let mut h = vec![0.0; self.values.len()];
        let (mut a11, mut bt) = (vec![0.0; p1 * p1], Vec::new());
        let mut log_det = 0.0;
        for j in 0..self.levels1 {
            let d = &self.d1[j * p1 * p1..(j + 1) * p1 * p1];
            for a in 0..p1 {
                for b in 0..p1 {
                    let mut value = f64::from(u8::from(a == b));
                    for k in 0..p1 {
                        for m in 0..p1 {
                            value += t1[(k, a)] * d[k * p1 + m] * t1[(m, b)];
                        }
                    }
                    a11[a * p1 + b] = value;
                }
            }
            let lj = &mut l[j * p1 * p1..(j + 1) * p1 * p1];
            if !cholesky_into(&a11, p1, lj) {
                return Err(Error::Core(strata_core::Error::Numerical(
                    "a level's block of ΛᵀZᵀZΛ + I is not positive definite".into(),
                )));
            }
            log_det += 2.0 * (0..p1).map(|a| lj[a * p1 + a].ln()).sum::<f64>();
            let (start, end) = (self.starts[j], self.starts[j + 1]);
            let (rows, values) = (&self.rows[start..end], &self.values[start * p1..end * p1]);
            // G_j = Λ₂ᵀ B_j T₁, then H_j = G_j L_j⁻ᵀ row by row.
            bt.clear();
            bt.extend((0..rows.len() * p1).map(|e| {
                let (i, a) = (e / p1, e % p1);
                (0..p1).map(|k| values[i * p1 + k] * t1[(k, a)]).sum::<f64>()
            }));
            let hj = &mut h[start * p1..end * p1];
            self.lambda2_transpose_rows(&factors, rows, &bt, p1, hj);
            for row in hj.chunks_mut(p1) {
                forward(lj, p1, row);
            }
            for (i, &k) in rows.iter().enumerate() {
                for (m, &kk) in rows.iter().enumerate() {
                    if k >= kk {
                        a22[(k, kk)] -= (0..p1).map(|a| hj[i * p1 + a] * hj[m * p1 + a]).sum::<f64>();
                    }
                }
            }
        }
        let schur = Cholesky::new(&a22)?;
        log_det += schur.log_determinant();
        Ok(Elimination { t1, factors, l, h, schur, log_det })
    }

    pub(crate) fn solve(&self, random: &RandomEffects, theta: &[f64]) -> Result<PlsSolution> {
        let elimination = self.eliminate(random, theta)?;
        let (p1, columns) = (self.p1, self.zt.ncols());
        let q1 = p1 * self.levels1;
        let q2 = self.c.nrows();
        // R = ΛᵀZᵀ[y, X]; V_j = L_j⁻¹ R₁,j (kept in the first block's rows of `v`, by column).
        let mut lzt = Matrix::zeros(q1 + q2, columns);
        let mut v = vec![0.0; q1 * columns];
        let mut scratch = vec![0.0; p1];
        for j in 0..self.levels1 {
            let lj = &elimination.l[j * p1 * p1..(j + 1) * p1 * p1];
            for col in 0..columns {
                for a in 0..p1 {
                    let value = (0..p1).map(|k| elimination.t1[(k, a)] * self.zt[(j * p1 + k, col)]).sum();
                    lzt[(j * p1 + a, col)] = value;
                    scratch[a] = value;
                }
                forward(lj, p1, &mut scratch);
                v[col * q1 + j * p1..col * q1 + (j + 1) * p1].copy_from_slice(&scratch);
            }
        }
        let rest = Matrix::from_fn(q2, columns, |k, col| self.zt[(q1 + k, col)]);
        let rest = self.lambda2_transpose_matrix(&elimination.factors, &rest);
        // t₂ = R₂ − Σ H_j V_j.
        let mut t2 = rest.clone();
        for j in 0..self.levels1 {
            let (start, end) = (self.starts[j], self.starts[j + 1]);
            for (i, &k) in self.rows[start..end].iter().enumerate() {
                let hi = &elimination.h[(start + i) * p1..(start + i + 1) * p1];
                for col in 0..columns {
                    let vj = &v[col * q1 + j * p1..col * q1 + (j + 1) * p1];
                    t2[(k, col)] -= hi.iter().zip(vj).map(|(a, b)| a * b).sum::<f64>();
                }
            }
        }
        let w2 = elimination.schur.solve_matrix(&t2);
        // W₁,j = L_j⁻ᵀ(V_j − H_jᵀ W₂).
        let mut w = Matrix::zeros(q1 + q2, columns);
        for j in 0..self.levels1 {
            let lj = &elimination.l[j * p1 * p1..(j + 1) * p1 * p1];
            let (start, end) = (self.starts[j], self.starts[j + 1]);
            for col in 0..columns {
                scratch.copy_from_slice(&v[col * q1 + j * p1..col * q1 + (j + 1) * p1]);
                for (i, &k) in self.rows[start..end].iter().enumerate() {
                    for a in 0..p1 {
                        scratch[a] -= elimination.h[(start + i) * p1 + a] * w2[(k, col)];
                    }
                }
                backward(lj, p1, &mut scratch);
                for a in 0..p1 {
                    w[(j * p1 + a, col)] = scratch[a];
                }
            }
        }
        for k in 0..q2 {
            for col in 0..columns {
                w[(q1 + k, col)] = w2[(k, col)];
                lzt[(q1 + k, col)] = rest[(k, col)];
            }
        }
        finish(&w, &lzt, &self.fixed, elimination.log_det)
    }

    /// The diagonal blocks of `Λ A⁻¹ Λᵀ`, level by level and term by term, row-major.
    pub(crate) fn conditional_covariances(&self, random: &RandomEffects, theta: &[f64]) -> Result<Vec<f64>> {
        let elimination = self.eliminate(random, theta)?;
        let p1 = self.p1;
        let inverse = elimination.schur.inverse();
        let mut out = Vec::new();
        let sandwich = |t: &Matrix, middle: &Matrix, out: &mut Vec<f64>| {
            let p = t.nrows();
            for a in 0..p {
                for b in 0..p {
                    out.push(
                        (0..p)
                            .flat_map(|k| (0..p).map(move |l| (k, l)))
                            .map(|(k, l)| t[(a, k)] * middle[(k, l)] * t[(b, l)])
                            .sum(),
                    );
                }
            }
        };
        for j in 0..self.levels1 {
            let lj = &elimination.l[j * p1 * p1..(j + 1) * p1 * p1];
            let (start, end) = (self.starts[j], self.starts[j + 1]);
            let (rows, h) = (&self.rows[start..end], &elimination.h[start * p1..end * p1]);
            // M = I + Hᵀ S⁻¹ H, then A⁻¹_jj = L⁻ᵀ M L⁻¹.
            let mut m = vec![0.0; p1 * p1];
            for a in 0..p1 {
                for b in 0..p1 {
                    let mut value = f64::from(u8::from(a == b));
                    for (i, &k) in rows.iter().enumerate() {
                        for (r, &kk) in rows.iter().enumerate() {
                            value += h[i * p1 + a] * inverse[(k, kk)] * h[r * p1 + b];
                        }
                    }
                    m[a * p1 + b] = value;
                }
            }
            // Y = L⁻ᵀM column by column, then (Y L⁻¹)ᵀ = L⁻ᵀYᵀ from Y's rows (M symmetric).
            let mut y = vec![0.0; p1 * p1];
            let mut column = vec![0.0; p1];
            for b in 0..p1 {
                for a in 0..p1 {
                    column[a] = m[a * p1 + b];
                }
                backward(lj, p1, &mut column);
                for a in 0..p1 {
                    y[a * p1 + b] = column[a];
                }
            }
            let mut a_inverse = Matrix::zeros(p1, p1);
            for b in 0..p1 {
                column.copy_from_slice(&y[b * p1..(b + 1) * p1]);
                backward(lj, p1, &mut column);
                for a in 0..p1 {
                    a_inverse[(a, b)] = column[a];
                }
            }
            sandwich(&elimination.t1, &a_inverse, &mut out);
        }
        let mut k = 0;
        while k < self.groups.len() {
            let group = self.groups[k];
            let block = Matrix::from_fn(group.p, group.p, |a, b| inverse[(k + a, k + b)]);
            sandwich(&elimination.factors[group.block], &block, &mut out);
            k += group.p;
        }
        Ok(out)
    }
}

/// The lower Cholesky factor of a small positive definite matrix `a` (p × p, row-major),
/// written to `l`; false if `a` is not positive definite.
fn cholesky_into(a: &[f64], p: usize, l: &mut [f64]) -> bool {
    l.fill(0.0);
    for j in 0..p {
        let pivot = a[j * p + j] - (0..j).map(|k| l[j * p + k] * l[j * p + k]).sum::<f64>();
        if !(pivot > 0.0) {
            return false;
        }
        l[j * p + j] = pivot.sqrt();
        for i in j + 1..p {
            l[i * p + j] = (a[i * p + j] - (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum::<f64>()) / l[j * p + j];
        }
    }
    true
}

/// Solves `L x = b` in place for lower-triangular `L` (p × p, row-major).
fn forward(l: &[f64], p: usize, x: &mut [f64]) {
    for i in 0..p {
        x[i] = (x[i] - (0..i).map(|k| l[i * p + k] * x[k]).sum::<f64>()) / l[i * p + i];
    }
}

/// Solves `Lᵀ x = b` in place for lower-triangular `L` (p × p, row-major).
fn backward(l: &[f64], p: usize, x: &mut [f64]) {
    for i in (0..p).rev() {
        x[i] = (x[i] - (i + 1..p).map(|k| l[k * p + i] * x[k]).sum::<f64>()) / l[i * p + i];
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_same, frame, prepare};
    use super::super::DenseProducts;
    use super::*;
    use crate::random_effects::Layout;
    use strata_core::random::Rng;

    /// Eliminating the largest term gives the dense solve's numbers: a random slope by
    /// neighbourhood (60 levels) crossed with a correlated slope by authority (6 levels) and a
    /// scalar term by year (4 levels); and a scalar largest term with vector terms after it.
    #[test]
    fn block_elimination_equals_the_dense_solve() {
        let mut rng = Rng::new(3);
        let n = 900;
        let (mut y, mut x, mut g, mut h, mut t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let xi = rng.normal();
            y.push(1.0 + 0.5 * xi + rng.normal());
            x.push(xi);
            g.push(format!("n{}", i % 60));
            h.push(format!("a{}", (i / 7) % 6));
            t.push(format!("y{}", (i / 3) % 4));
        }
        let frame = frame(&y, &x, &g, &h, &t);
        // The largest term a vector term; then the largest scalar with vector terms after it.
        for (text, theta) in [
            ("y ~ x + (1 + x | g) + (1 + x | h) + (1 | t)", &[0.8, 0.3, 0.5, 1.2, -0.4, 0.6, 0.7][..]),
            ("y ~ x + (1 | g) + (1 + x | h) + (1 + x | t)", &[0.9, 1.1, 0.2, 0.4, 0.7, -0.3, 0.5][..]),
        ] {
            let (design, random) = prepare(&frame, text);
            let weights: Vec<f64> = (0..n).map(|i| 0.5 + f64::from(i % 3) * 0.25).collect();
            let dense = DenseProducts::new(&design.matrix, &y, Some(&weights), &random);
            let Layout::Coupled(coupling) = &random.layout else { panic!("vector terms are coupled") };
            let block = BlockProducts::new(&design.matrix, &y, Some(&weights), &random, coupling);
            let (a, b) = (dense.solve(&random, theta).unwrap(), block.solve(&random, theta).unwrap());
            assert_same(&a, &b, text);
            let (cd, cb) = (
                dense.conditional_covariances(&random, theta).unwrap(),
                block.conditional_covariances(&random, theta).unwrap(),
            );
            assert_eq!(cd.len(), cb.len());
            for (u, v) in cd.iter().zip(&cb) {
                assert_close(*u, *v, text);
            }
        }
    }
}
