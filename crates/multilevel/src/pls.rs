//! The penalised least-squares solve at the heart of mixed models (Bates et al. 2015, §3):
//! for a given θ, minimise $\|W^{1/2}(y - X\beta - Z\Lambda_\theta u)\|^2 + \|u\|^2$ over u and β.
//! With $A = \Lambda^\top Z^\top W Z\Lambda + I = L L^\top$ and the Schur complement
//! $R_X^\top R_X = X^\top W X - X^\top W Z\Lambda A^{-1}\Lambda^\top Z^\top W X$,
//! β solves $R_X^\top R_X \beta = X^\top W y - X^\top W Z\Lambda A^{-1}\Lambda^\top Z^\top W y$
//! and $u = A^{-1}\Lambda^\top Z^\top W(y - X\beta)$. The cross-products are formed once per
//! weighting and reused for every θ.

use crate::error::Result;
use crate::random_effects::RandomEffects;
use strata_core::numerics::{Cholesky, Matrix};

/// Weighted cross-products of `[ZΛ, X]` and `y`.
pub(crate) struct CrossProducts {
    ztz: Matrix,
    ztx: Matrix,
    zty: Vec<f64>,
    xtx: Matrix,
    xty: Vec<f64>,
    yty: f64,
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
        let wy: Vec<f64> = (0..n).map(|i| weights.map_or(1.0, |w| w[i]) * y[i]).collect();
        Self {
            ztz,
            ztx,
            zty,
            xtx: x.weighted_crossprod(weights),
            xty: x.transpose_times(&wy),
            yty: y.iter().zip(&wy).map(|(a, b)| a * b).sum(),
        }
    }

    pub fn solve(&self, random: &RandomEffects, theta: &[f64]) -> Result<PlsSolution> {
        let q = self.zty.len();
        let p = self.xty.len();
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
                self.xtx[(i, j)] - (0..q).map(|k| lztx[(k, i)] * a_inv_lztx[(k, j)]).sum::<f64>()
            });
            let rhs: Vec<f64> =
                (0..p).map(|i| self.xty[i] - (0..q).map(|k| lztx[(k, i)] * a_inv_lzty[k]).sum::<f64>()).collect();
            let rx = Cholesky::new(&schur)?;
            (rx.solve(&rhs), rx.log_determinant(), rx.inverse(), a_inv_lztx)
        };
        let u: Vec<f64> =
            (0..q).map(|k| a_inv_lzty[k] - (0..p).map(|j| a_inv_lztx[(k, j)] * beta[j]).sum::<f64>()).collect();
        let pwrss = self.yty
            - u.iter().zip(&lzty).map(|(a, b)| a * b).sum::<f64>()
            - beta.iter().zip(&self.xty).map(|(a, b)| a * b).sum::<f64>();
        Ok(PlsSolution { beta, u, pwrss, log_det_l: l.log_determinant(), log_det_rx, schur_inverse })
    }
}
