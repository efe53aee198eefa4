//! Gauss–Hermite quadrature for the standard normal density, by the Golub–Welsch algorithm:
//! the nodes are the eigenvalues of the Jacobi matrix of the probabilists' Hermite polynomials
//! (zero diagonal, off-diagonal √k) and the weights the squared first components of its
//! eigenvectors, so that $\int g(t)\varphi(t)\,dt \approx \sum_k w_k g(t_k)$ (Golub & Welsch 1969).

use crate::error::{Error, Result};
use strata_core::numerics::{symmetric_eigen, Matrix};

/// Nodes and weights of the `n`-point rule (weights sum to one).
///
/// # Errors
/// [`Error::Fit`] if the eigen-solver fails.
pub fn gauss_hermite(n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if n == 1 {
        return Ok((vec![0.0], vec![1.0]));
    }
    let jacobi = Matrix::from_fn(n, n, |i, j| if i.abs_diff(j) == 1 { (i.max(j) as f64).sqrt() } else { 0.0 });
    let (nodes, vectors) = symmetric_eigen(&jacobi).map_err(|e| Error::Fit(e.to_string()))?;
    let weights = (0..n).map(|k| vectors[(0, k)] * vectors[(0, k)]).collect();
    Ok((nodes, weights))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_integrates_normal_moments() {
        let (t, w) = gauss_hermite(25).unwrap();
        let moment = |k: i32| t.iter().zip(&w).map(|(t, w)| w * t.powi(k)).sum::<f64>();
        assert!((moment(0) - 1.0).abs() < 1e-13);
        assert!(moment(1).abs() < 1e-13);
        assert!((moment(2) - 1.0).abs() < 1e-12);
        assert!((moment(4) - 3.0).abs() < 1e-11);
        assert!((moment(8) - 105.0).abs() < 1e-8);
        let (t3, w3) = gauss_hermite(3).unwrap();
        // Three points: ±√3 with weight 1/6, 0 with weight 2/3.
        assert!((t3[2] - 3f64.sqrt()).abs() < 1e-14 && (w3[1] - 2.0 / 3.0).abs() < 1e-14);
    }
}
