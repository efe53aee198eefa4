//! Cross-products for models whose every term is a single effect — `(1 | lsoa) + (1 | school)`,
//! nested or crossed, with any number of levels — solved as one sparse system.
//!
//! With Λθ diagonal ($\lambda_k$ the relative standard deviation of effect k's term),
//! $A = \Lambda Z^\top W Z \Lambda + I$ has the pattern of $Z^\top Z$: one diagonal entry per
//! level and one entry for each pair of levels of two terms that share an observation. Its
//! pattern is analysed once (approximate minimum degree ordering, symbolic factorisation: see
//! [`SymmetricPattern`]); each θ scales the stored $Z^\top W Z$ into A, factors it, solves
//! $A W = \Lambda Z^\top W [y, X]$, and $\log|A| = 2\sum_j \log L_{jj}$. The conditional
//! variances are $\lambda_k^2 (A^{-1})_{kk}$, from the Takahashi recurrences on the factor.
//! Work and memory grow with the fill of the factor: little for nested or geographically
//! clustered factors, up to the square of the smaller factor's levels when every level of one
//! meets every level of the other.

use super::{add_to, finish, scalar_lambda, FixedProducts, PlsSolution};
use crate::error::Result;
use crate::random_effects::{RandomEffects, SparseLayout};
use strata_core::numerics::{Matrix, SymmetricPattern};
use strata_core::parallel::{map_in_order, row_blocks, threads};

/// `ZᵀWZ` on its sparse pattern and `ZᵀW[y, X]`.
pub(crate) struct SparseProducts {
    /// The lower triangle of `ZᵀWZ`, in the pattern's order.
    ztz: Vec<f64>,
    /// `[Zᵀ W y, Zᵀ W X]` (q × (1 + p)).
    zt: Matrix,
    fixed: FixedProducts,
}

impl SparseProducts {
    /// The products over blocks of rows on every thread, the blocks' sums added in order (the
    /// blocks are cut by the data's shape alone, so the products are the same on any number
    /// of threads).
    pub(crate) fn new(
        x: &Matrix,
        y: &[f64],
        weights: Option<&[f64]>,
        random: &RandomEffects,
        layout: &SparseLayout,
    ) -> Self {
        let (n, p, q) = (x.nrows(), x.ncols(), random.q());
        let blocks = row_blocks(n, 8 * (layout.pattern.len() + q * (1 + p)));
        let mut parts = map_in_order(blocks.len(), threads(), |k| {
            Self::accumulate(blocks[k].clone(), x, y, weights, random, layout)
        })
        .into_iter();
        let (mut ztz, mut zt) = parts.next().expect("at least one block");
        for (ztz_k, zt_k) in parts {
            add_to(&mut ztz, &ztz_k);
            add_to(zt.as_mut_slice(), zt_k.as_slice());
        }
        Self { ztz, zt, fixed: FixedProducts::new(x, y, weights) }
    }

    fn accumulate(
        rows: std::ops::Range<usize>,
        x: &Matrix,
        y: &[f64],
        weights: Option<&[f64]>,
        random: &RandomEffects,
        layout: &SparseLayout,
    ) -> (Vec<f64>, Matrix) {
        let (p, q) = (x.ncols(), random.q());
        let terms = random.blocks.len();
        let pairs = terms * (terms - 1) / 2;
        let pattern = &layout.pattern;
        let mut ztz = vec![0.0; pattern.len()];
        let mut zt = Matrix::zeros(q, 1 + p);
        let mut effects: Vec<(usize, f64)> = Vec::with_capacity(terms);
        for i in rows {
            let w = weights.map_or(1.0, |w| w[i]);
            effects.clear();
            effects.extend(random.row(i));
            let mut slots = layout.slots[i * pairs..(i + 1) * pairs].iter();
            for (m, &(k, zk)) in effects.iter().enumerate() {
                let wz = w * zk;
                ztz[pattern.column_start(k)] += wz * zk;
                for &(_, zl) in &effects[m + 1..] {
                    ztz[*slots.next().expect("one slot per pair") as usize] += wz * zl;
                }
                zt[(k, 0)] += wz * y[i];
                for col in 0..p {
                    zt[(k, col + 1)] += wz * x[(i, col)];
                }
            }
        }
        (ztz, zt)
    }

    /// `A = ΛZᵀWZΛ + I` on the pattern.
    fn system(&self, pattern: &SymmetricPattern, lambda: &[f64]) -> Vec<f64> {
        let mut a = Vec::with_capacity(self.ztz.len());
        for j in 0..pattern.order() {
            let start = pattern.column_start(j);
            for (e, &i) in pattern.rows(j).iter().enumerate() {
                let identity = if i == j { 1.0 } else { 0.0 };
                a.push(lambda[i] * self.ztz[start + e] * lambda[j] + identity);
            }
        }
        a
    }

    pub(crate) fn solve(&self, random: &RandomEffects, layout: &SparseLayout, theta: &[f64]) -> Result<PlsSolution> {
        let lambda = scalar_lambda(random, theta);
        let factor = layout.pattern.factor(&self.system(&layout.pattern, &lambda))?;
        let lzt = Matrix::from_fn(self.zt.nrows(), self.zt.ncols(), |k, c| lambda[k] * self.zt[(k, c)]);
        let w = factor.solve_matrix(&lzt);
        finish(&w, &lzt, &self.fixed, factor.log_determinant())
    }

    /// `λₖ² (A⁻¹)ₖₖ` for every effect k.
    pub(crate) fn conditional_variances(
        &self,
        random: &RandomEffects,
        layout: &SparseLayout,
        theta: &[f64],
    ) -> Result<Vec<f64>> {
        let lambda = scalar_lambda(random, theta);
        let factor = layout.pattern.factor(&self.system(&layout.pattern, &lambda))?;
        Ok(factor.inverse_diagonal().iter().zip(&lambda).map(|(v, l)| l * l * v).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_same, frame, prepare};
    use super::super::{DenseProducts, DiagonalProducts};
    use super::*;
    use crate::random_effects::Layout;
    use strata_core::random::Rng;
    use strata_core::results::FittedModel;

    /// The sparse solve gives the dense and the Schur-complement solves' numbers on crossed and
    /// partly nested scalar terms, with weights: neighbourhoods (80 levels) crossed with schools
    /// (a few near each neighbourhood, 50 levels) and years (5 levels).
    #[test]
    fn sparse_solve_equals_the_dense_solves() {
        let mut rng = Rng::new(11);
        let n = 1_200;
        let (mut y, mut x, mut g, mut h, mut t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let xi = rng.normal();
            let neighbourhood = (i * 7) % 80;
            y.push(1.0 + 0.5 * xi + rng.normal());
            x.push(xi);
            g.push(format!("n{neighbourhood}"));
            h.push(format!("s{}", (neighbourhood * 5 / 8 + i % 3) % 50));
            t.push(format!("y{}", i % 5));
        }
        let frame = frame(&y, &x, &g, &h, &t);
        for (text, theta) in [
            ("y ~ x + (1 | g) + (1 | h)", &[0.8, 1.3][..]),
            ("y ~ x + (1 | g) + (1 | h) + (1 | t)", &[0.9, 0.4, 0.6][..]),
            ("y ~ x + (1 | g) + (0 + x | h)", &[0.7, 0.5][..]),
        ] {
            let (design, random) = prepare(&frame, text);
            let Layout::Coupled(coupling) = &random.layout else { panic!("few effects are coupled") };
            let layout = SparseLayout::new(&random.blocks, n).unwrap();
            let weights: Vec<f64> = (0..n).map(|i| 0.5 + f64::from(u8::try_from(i % 3).unwrap()) * 0.25).collect();
            let x = &design.matrix;
            let dense = DenseProducts::new(x, &y, Some(&weights), &random);
            let diagonal = DiagonalProducts::new(x, &y, Some(&weights), &random, coupling);
            let sparse = SparseProducts::new(x, &y, Some(&weights), &random, &layout);
            let expected = dense.solve(&random, theta).unwrap();
            assert_same(&diagonal.solve(&random, theta).unwrap(), &expected, text);
            assert_same(&sparse.solve(&random, &layout, theta).unwrap(), &expected, text);
            let variances = dense.conditional_covariances(&random, theta).unwrap();
            for (u, v) in sparse.conditional_variances(&random, &layout, theta).unwrap().iter().zip(&variances) {
                assert_close(*u, *v, text);
            }
        }
    }

    /// Neighbourhoods (1,500) crossed with the schools near them (1,100): more effects outside
    /// the largest term than the dense Schur complement is worth, so the sparse solve is used.
    /// lme4 on the same data (generated identically in R), y = signal + 2(uniform − ½):
    /// `lmer(y ~ x + (1 | a) + (1 | b))` gives REML criterion 11885.6589618682, fixed effects
    /// −0.017161345092490 and 0.328996933595455 (standard errors 0.0212773345130548 and
    /// 0.0362471661274388), θ 0.392223120495267 and 0.595330844515302.
    #[test]
    fn many_crossed_levels_match_lme4() {
        let (frame, signal, uniform) = super::super::testing::neighbourhoods_and_schools(6_000);
        let y: Vec<f64> = signal.iter().zip(&uniform).map(|(s, u)| s + 2.0 * (u - 0.5)).collect();
        let frame = frame.with_floats("y", &y).unwrap();
        let text = "y ~ x + (1 | a) + (1 | b)";
        assert!(matches!(prepare(&frame, text).1.layout, Layout::Sparse(_)));
        let fit = crate::lmm::LinearMixedModel::new(text).unwrap().fit(&frame).unwrap();
        assert!((fit.objective() - 11_885.658_961_868_2).abs() < 1e-6, "{}", fit.objective());
        let expected =
            [(-0.017_161_345_092_490, 0.021_277_334_513_054_8), (0.328_996_933_595_455, 0.036_247_166_127_438_8)];
        for ((b, se), (rb, rse)) in fit.coef().iter().zip(fit.std_errors()).zip(expected) {
            assert!((b - rb).abs() < 1e-6 && (se / rse - 1.0).abs() < 1e-5, "{b} {se}");
        }
        for (t, rt) in fit.theta().iter().zip([0.392_223_120_495_267, 0.595_330_844_515_302]) {
            assert!((t - rt).abs() < 1e-4, "{t}");
        }
    }
}
