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
use crate::random_effects::RandomEffects;
use std::collections::BTreeMap;
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
    /// `Z₂ᵀWZ₁` for each level of the first term: the rows it meets (ascending, whole groups)
    /// and p₁ values per row (row-major).
    b: Vec<(Vec<usize>, Vec<f64>)>,
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
    /// Per level: the lower factor L_j and H_j (rows of `b` × p₁).
    levels: Vec<(Matrix, Matrix)>,
    schur: Cholesky,
    log_det: f64,
}

impl BlockProducts {
    pub(crate) fn new(x: &Matrix, y: &[f64], weights: Option<&[f64]>, random: &RandomEffects) -> Self {
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
        let mut d1 = vec![0.0; levels1 * p1 * p1];
        let mut maps: Vec<BTreeMap<usize, Vec<f64>>> = vec![BTreeMap::new(); levels1];
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
            for &(k, zk) in &rest {
                let entry = maps[j].entry(k).or_insert_with(|| vec![0.0; p1]);
                for a in 0..p1 {
                    entry[a] += w * zk * z1[a];
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
        let b = maps
            .into_iter()
            .map(|map| (map.keys().copied().collect(), map.into_values().flatten().collect()))
            .collect();
        Self { p1, levels1, d1, b, c, zt, fixed: FixedProducts::new(x, y, weights), groups }
    }

    /// `out[k] = Σ_{r' ≥ r} T[r', r] v[start + r']` for every row k = start + r of the other
    /// terms: Λ₂ᵀ applied to the rows `rows` (ascending, whole groups) of `m`, whose row i is
    /// rest index `rows[i]`.
    fn lambda2_transpose_rows(&self, factors: &[Matrix], rows: &[usize], m: &Matrix) -> Matrix {
        let mut out = Matrix::zeros(m.nrows(), m.ncols());
        let mut i = 0;
        while i < rows.len() {
            let group = self.groups[rows[i]];
            let t = &factors[group.block];
            for r in 0..group.p {
                for s in r..group.p {
                    let coefficient = t[(s, r)];
                    if coefficient != 0.0 {
                        for col in 0..m.ncols() {
                            out[(i + r, col)] += coefficient * m[(i + s, col)];
                        }
                    }
                }
            }
            i += group.p;
        }
        out
    }

    fn eliminate(&self, random: &RandomEffects, theta: &[f64]) -> Result<Elimination> {
        let p1 = self.p1;
        let factors: Vec<Matrix> = random.blocks.iter().map(|b| b.factor(theta)).collect();
        let t1 = factors[0].clone();
        let q2 = self.c.nrows();
        let all: Vec<usize> = (0..q2).collect();
        // A₂₂ = Λ₂ᵀ C Λ₂ + I: Λ₂ᵀ on the rows, then on the columns (C is symmetric).
        let half = self.lambda2_transpose_rows(&factors, &all, &self.c);
        let mut a22 = self.lambda2_transpose_rows(&factors, &all, &half.transpose());
        for k in 0..q2 {
            a22[(k, k)] += 1.0;
        }
        let mut levels = Vec::with_capacity(self.levels1);
        let mut log_det = 0.0;
        for j in 0..self.levels1 {
            let d = &self.d1[j * p1 * p1..(j + 1) * p1 * p1];
            let a11 = Matrix::from_fn(p1, p1, |a, b| {
                let value: f64 = (0..p1)
                    .flat_map(|k| (0..p1).map(move |l| (k, l)))
                    .map(|(k, l)| t1[(k, a)] * d[k * p1 + l] * t1[(l, b)])
                    .sum();
                value + f64::from(u8::from(a == b))
            });
            let l = small_cholesky(&a11).ok_or_else(|| {
                Error::Core(strata_core::Error::Numerical(
                    "a level's block of ΛᵀZᵀZΛ + I is not positive definite".into(),
                ))
            })?;
            log_det += 2.0 * (0..p1).map(|a| l[(a, a)].ln()).sum::<f64>();
            let (rows, values) = &self.b[j];
            // G_j = Λ₂ᵀ B_j T₁, then H_j = G_j L_j⁻ᵀ row by row.
            let bt = Matrix::from_fn(rows.len(), p1, |i, a| (0..p1).map(|k| values[i * p1 + k] * t1[(k, a)]).sum());
            let g = self.lambda2_transpose_rows(&factors, rows, &bt);
            let mut h = Matrix::zeros(rows.len(), p1);
            for i in 0..rows.len() {
                let solved = forward(&l, &(0..p1).map(|a| g[(i, a)]).collect::<Vec<_>>());
                for a in 0..p1 {
                    h[(i, a)] = solved[a];
                }
            }
            for (i, &k) in rows.iter().enumerate() {
                for (m, &l) in rows.iter().enumerate() {
                    if k >= l {
                        a22[(k, l)] -= (0..p1).map(|a| h[(i, a)] * h[(m, a)]).sum::<f64>();
                    }
                }
            }
            levels.push((l, h));
        }
        let schur = Cholesky::new(&a22)?;
        log_det += schur.log_determinant();
        Ok(Elimination { t1, factors, levels, schur, log_det })
    }

    pub(crate) fn solve(&self, random: &RandomEffects, theta: &[f64]) -> Result<PlsSolution> {
        let elimination = self.eliminate(random, theta)?;
        let (p1, columns) = (self.p1, self.zt.ncols());
        let q1 = p1 * self.levels1;
        let q2 = self.c.nrows();
        // R = ΛᵀZᵀ[y, X].
        let mut lzt = Matrix::zeros(q1 + q2, columns);
        for j in 0..self.levels1 {
            for a in 0..p1 {
                for col in 0..columns {
                    lzt[(j * p1 + a, col)] = (0..p1).map(|k| elimination.t1[(k, a)] * self.zt[(j * p1 + k, col)]).sum();
                }
            }
        }
        let rest = Matrix::from_fn(q2, columns, |k, col| self.zt[(q1 + k, col)]);
        let all: Vec<usize> = (0..q2).collect();
        let rest = self.lambda2_transpose_rows(&elimination.factors, &all, &rest);
        // t₂ = R₂ − Σ H_j V_j with V_j = L_j⁻¹ R₁,j.
        let mut t2 = rest.clone();
        let mut v = Vec::with_capacity(self.levels1);
        for (j, (l, h)) in elimination.levels.iter().enumerate() {
            let vj: Vec<Vec<f64>> = (0..columns)
                .map(|col| forward(l, &(0..p1).map(|a| lzt[(j * p1 + a, col)]).collect::<Vec<_>>()))
                .collect();
            for (i, &k) in self.b[j].0.iter().enumerate() {
                for (col, vcol) in vj.iter().enumerate() {
                    t2[(k, col)] -= (0..p1).map(|a| h[(i, a)] * vcol[a]).sum::<f64>();
                }
            }
            v.push(vj);
        }
        let w2 = elimination.schur.solve_matrix(&t2);
        let mut w = Matrix::zeros(q1 + q2, columns);
        for (j, ((l, h), vj)) in elimination.levels.iter().zip(&v).enumerate() {
            for (col, vcol) in vj.iter().enumerate() {
                let mut right = vcol.clone();
                for (i, &k) in self.b[j].0.iter().enumerate() {
                    for a in 0..p1 {
                        right[a] -= h[(i, a)] * w2[(k, col)];
                    }
                }
                let solved = backward(l, &right);
                for a in 0..p1 {
                    w[(j * p1 + a, col)] = solved[a];
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
        for (j, (l, h)) in elimination.levels.iter().enumerate() {
            let rows = &self.b[j].0;
            // M = I + Hᵀ S⁻¹ H, then A⁻¹_jj = L⁻ᵀ M L⁻¹.
            let m = Matrix::from_fn(p1, p1, |a, b| {
                let quadratic: f64 = rows
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &k)| rows.iter().enumerate().map(move |(m, &kk)| (i, k, m, kk)))
                    .map(|(i, k, m, kk)| h[(i, a)] * inverse[(k, kk)] * h[(m, b)])
                    .sum();
                quadratic + f64::from(u8::from(a == b))
            });
            // L⁻ᵀ M L⁻¹: columns of L⁻ᵀ(M L⁻¹), with M L⁻¹ = (L⁻ᵀ M)ᵀ by symmetry.
            let y_columns: Vec<Vec<f64>> =
                (0..p1).map(|b| backward(l, &(0..p1).map(|a| m[(a, b)]).collect::<Vec<_>>())).collect();
            // Y = L⁻ᵀM by columns; (Y L⁻¹)ᵀ = L⁻ᵀYᵀ from Y's rows.
            let columns: Vec<Vec<f64>> =
                (0..p1).map(|b| backward(l, &(0..p1).map(|a| y_columns[a][b]).collect::<Vec<_>>())).collect();
            let a_inverse = Matrix::from_fn(p1, p1, |a, b| columns[b][a]);
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

/// The lower Cholesky factor of a small positive definite matrix.
fn small_cholesky(a: &Matrix) -> Option<Matrix> {
    let p = a.nrows();
    let mut l = Matrix::zeros(p, p);
    for j in 0..p {
        let pivot = a[(j, j)] - (0..j).map(|k| l[(j, k)] * l[(j, k)]).sum::<f64>();
        if !(pivot > 0.0) {
            return None;
        }
        l[(j, j)] = pivot.sqrt();
        for i in j + 1..p {
            l[(i, j)] = (a[(i, j)] - (0..j).map(|k| l[(i, k)] * l[(j, k)]).sum::<f64>()) / l[(j, j)];
        }
    }
    Some(l)
}

/// Solves `L x = b` for lower-triangular `L`.
fn forward(l: &Matrix, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    for i in 0..x.len() {
        x[i] = (x[i] - (0..i).map(|k| l[(i, k)] * x[k]).sum::<f64>()) / l[(i, i)];
    }
    x
}

/// Solves `Lᵀ x = b` for lower-triangular `L`.
fn backward(l: &Matrix, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    for i in (0..x.len()).rev() {
        x[i] = (x[i] - (i + 1..x.len()).map(|k| l[(k, i)] * x[k]).sum::<f64>()) / l[(i, i)];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::super::DenseProducts;
    use super::*;
    use strata_core::design::{model_expressions, ModelMatrix};
    use strata_core::model_frame::ModelFrame;
    use strata_core::random::Rng;
    use strata_core::{DataFrame, Formula};

    /// Eliminating the largest term gives the dense solve's numbers: a random slope by
    /// neighbourhood (60 levels) crossed with a correlated slope by authority (6 levels) and a
    /// scalar term by year (4 levels).
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
        let frame = DataFrame::new()
            .with_floats("y", &y)
            .unwrap()
            .with_floats("x", &x)
            .unwrap()
            .with_levels("g", &g)
            .unwrap()
            .with_levels("h", &h)
            .unwrap()
            .with_levels("t", &t)
            .unwrap();
        let formula = Formula::parse("y ~ x + (1 + x | g) + (1 + x | h) + (1 | t)").unwrap();
        let terms = formula.terms().unwrap();
        let response = formula.response().unwrap();
        let model_frame = ModelFrame::new(&frame, &model_expressions(&terms, &[response])).unwrap();
        let design = ModelMatrix::new(&terms, &model_frame).unwrap();
        let random = RandomEffects::new(&terms, &model_frame).unwrap();
        let weights: Vec<f64> = (0..n).map(|i| 0.5 + f64::from(i % 3) * 0.25).collect();
        let dense = DenseProducts::new(&design.matrix, &y, Some(&weights), &random);
        let block = BlockProducts::new(&design.matrix, &y, Some(&weights), &random);
        let theta = [0.8, 0.3, 0.5, 1.2, -0.4, 0.6, 0.7];
        let (a, b) = (dense.solve(&random, &theta).unwrap(), block.solve(&random, &theta).unwrap());
        let close = |u: f64, v: f64| assert!((u - v).abs() < 1e-9 * (1.0 + v.abs()), "{u} vs {v}");
        close(a.pwrss, b.pwrss);
        close(a.log_det_l, b.log_det_l);
        close(a.log_det_rx, b.log_det_rx);
        for (u, v) in a.beta.iter().zip(&b.beta).chain(a.u.iter().zip(&b.u)) {
            close(*u, *v);
        }
        let (cd, cb) = (
            dense.conditional_covariances(&random, &theta).unwrap(),
            block.conditional_covariances(&random, &theta).unwrap(),
        );
        assert_eq!(cd.len(), cb.len());
        for (u, v) in cd.iter().zip(&cb) {
            close(*u, *v);
        }
    }
}
