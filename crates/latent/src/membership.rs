//! The multinomial logit of class membership on covariates, fitted to soft (posterior or
//! correction-weighted) class labels: $\pi_c(x) = e^{x^\top\gamma_c}/\sum_d e^{x^\top\gamma_d}$, with
//! $\gamma_1 = 0$, maximising $\sum_i\sum_c w_{ic}\log\pi_c(x_i)$ by Newton's method. When each
//! row's weights sum to one (posteriors, BCH weights) the Hessian
//! $-\sum_i (\operatorname{diag}\pi_i - \pi_i\pi_i^\top)\otimes x_ix_i^\top$ is negative definite
//! whatever the signs of the weights.

use crate::error::{Error, Result};
use strata_core::numerics::{Cholesky, Matrix};

/// Each row's class probabilities (`n × K`) at `gamma` (`(K − 1) × q`, class-major).
pub fn probabilities(x: &Matrix, gamma: &[f64], k: usize) -> Vec<f64> {
    let (n, q) = (x.nrows(), x.ncols());
    let mut out = vec![0.0; n * k];
    for c in 1..k {
        let eta = x.times(&gamma[(c - 1) * q..c * q]);
        for i in 0..n {
            out[i * k + c] = eta[i];
        }
    }
    for row in out.chunks_mut(k) {
        crate::measurement::normalise_logs(row);
    }
    out
}

/// The score $\sum_i (w_{ic} - \pi_{ic} \sum_d w_{id})\,x_i$ for classes 2..K.
pub fn score(x: &Matrix, weights: &[f64], pi: &[f64], k: usize) -> Vec<f64> {
    let q = x.ncols();
    let mut g = vec![0.0; (k - 1) * q];
    for i in 0..x.nrows() {
        let w = &weights[i * k..(i + 1) * k];
        let total: f64 = w.iter().sum();
        for c in 1..k {
            let residual = w[c] - pi[i * k + c] * total;
            for a in 0..q {
                g[(c - 1) * q + a] += residual * x[(i, a)];
            }
        }
    }
    g
}

/// The information $\sum_i t_i (\operatorname{diag}\pi_i - \pi_i\pi_i^\top)\otimes x_ix_i^\top$,
/// $t_i = \sum_c w_{ic}$, over classes 2..K.
pub fn information(x: &Matrix, weights: &[f64], pi: &[f64], k: usize) -> Matrix {
    let q = x.ncols();
    let m = (k - 1) * q;
    let mut h = Matrix::zeros(m, m);
    for i in 0..x.nrows() {
        let total: f64 = weights[i * k..(i + 1) * k].iter().sum();
        let p = &pi[i * k..(i + 1) * k];
        for c in 1..k {
            for d in 1..k {
                let v = total * p[c] * (f64::from(u8::from(c == d)) - p[d]);
                if v == 0.0 {
                    continue;
                }
                for a in 0..q {
                    let xa = v * x[(i, a)];
                    for b in 0..q {
                        h[((c - 1) * q + a, (d - 1) * q + b)] += xa * x[(i, b)];
                    }
                }
            }
        }
    }
    h
}

/// Newton's method from `start` to the maximum of $\sum_i\sum_c w_{ic}\log\pi_c(x_i)$.
///
/// # Errors
/// [`Error::Singular`] when the information is not positive definite (a covariate constant or
/// collinear, or a class empty).
pub fn fit(x: &Matrix, weights: &[f64], k: usize, start: &[f64]) -> Result<Vec<f64>> {
    let mut gamma = start.to_vec();
    for _ in 0..50 {
        let pi = probabilities(x, &gamma, k);
        let g = score(x, weights, &pi, k);
        if g.iter().all(|v| v.abs() < 1e-9 * x.nrows() as f64) {
            break;
        }
        let step = Cholesky::new(&information(x, weights, &pi, k))
            .map_err(|_| {
                Error::Singular("the class-membership model's information is singular (a covariate constant or collinear, or a class empty)".into())
            })?
            .solve(&g);
        // Halve the step while the objective falls.
        let objective = |gamma: &[f64]| -> f64 {
            let pi = probabilities(x, gamma, k);
            weights.iter().zip(&pi).map(|(w, p)| w * p.max(1e-300).ln()).sum()
        };
        let before = objective(&gamma);
        let mut scale = 1.0;
        loop {
            let trial: Vec<f64> = gamma.iter().zip(&step).map(|(a, s)| a + scale * s).collect();
            if objective(&trial) >= before - 1e-12 * before.abs() || scale < 1e-8 {
                gamma = trial;
                break;
            }
            scale /= 2.0;
        }
    }
    Ok(gamma)
}
