//! Transition probabilities $P(t) = e^{Qt}$ of a Markov generator and their derivatives.
//!
//! With $Q = V\Lambda V^{-1}$ diagonalisable with real eigenvalues, the derivative of $P(t)$
//! along a direction $G = \partial Q/\partial\theta$ is (Kalbfleisch & Lawless 1985, *JASA*
//! 80(392), eq. 2.5)
//! $$ \frac{\partial P(t)}{\partial\theta} = V\,(\bar G \circ F(t))\,V^{-1}, \qquad
//!    \bar G = V^{-1} G V, \qquad
//!    F_{mn}(t) = \begin{cases} (e^{\lambda_m t} - e^{\lambda_n t})/(\lambda_m - \lambda_n) & \lambda_m \ne \lambda_n \\
//!                              t\,e^{\lambda_m t} & \lambda_m = \lambda_n, \end{cases} $$
//! computed as $e^{\lambda_n t}\,\mathrm{expm1}((\lambda_m - \lambda_n)t)/(\lambda_m - \lambda_n)$
//! when $|\lambda_m - \lambda_n|\,t < 0.1$, so that close eigenvalues lose no precision. Otherwise (complex eigenvalues, or a defective
//! $Q$) the derivative is the upper-right block of the exponential of the block matrix
//! $\begin{pmatrix} Q & G \\ 0 & Q \end{pmatrix} t$ (Van Loan 1978, *IEEE Trans. Autom.
//! Control* 23(3)), with exponentials by Padé approximation with scaling and squaring
//! (Higham 2005).

use std::collections::BTreeMap;
use strata_core::numerics::{real_eigen, Matrix};

/// `e^A` by the degree-6 Padé approximant with scaling and squaring.
pub fn matrix_exponential(a: &Matrix) -> Matrix {
    let n = a.nrows();
    let norm = (0..n).map(|i| (0..n).map(|j| a[(i, j)].abs()).sum::<f64>()).fold(0.0, f64::max);
    let squarings = if norm > 0.5 { (norm / 0.5).log2().ceil() as i32 } else { 0 };
    let scale = 2f64.powi(-squarings);
    let scaled = Matrix::from_fn(n, n, |i, j| a[(i, j)] * scale);
    // Padé (6, 6) coefficients c_k = (2q − k)! q! / ((2q)! k! (q − k)!).
    let coefficients = [1.0, 0.5, 5.0 / 44.0, 1.0 / 66.0, 1.0 / 792.0, 1.0 / 15_840.0, 1.0 / 665_280.0];
    let mut power = Matrix::identity(n);
    let mut numerator = Matrix::identity(n);
    let mut denominator = Matrix::identity(n);
    for (k, c) in coefficients.iter().enumerate().skip(1) {
        power = power.matmul(&scaled);
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        for i in 0..n {
            for j in 0..n {
                numerator[(i, j)] += c * power[(i, j)];
                denominator[(i, j)] += sign * c * power[(i, j)];
            }
        }
    }
    let mut result = solve_general(&denominator, &numerator);
    for _ in 0..squarings {
        result = result.matmul(&result);
    }
    result
}

/// Solves `A X = B` by Gaussian elimination with partial pivoting (small dense systems).
fn solve_general(a: &Matrix, b: &Matrix) -> Matrix {
    let n = a.nrows();
    let mut m = a.clone();
    let mut x = b.clone();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[(i, col)].abs().total_cmp(&m[(j, col)].abs())).expect("rows");
        for j in 0..n {
            let (t, u) = (m[(col, j)], m[(pivot, j)]);
            m[(col, j)] = u;
            m[(pivot, j)] = t;
        }
        for j in 0..x.ncols() {
            let (t, u) = (x[(col, j)], x[(pivot, j)]);
            x[(col, j)] = u;
            x[(pivot, j)] = t;
        }
        for i in col + 1..n {
            let factor = m[(i, col)] / m[(col, col)];
            for j in 0..n {
                m[(i, j)] -= factor * m[(col, j)];
            }
            for j in 0..x.ncols() {
                x[(i, j)] -= factor * x[(col, j)];
            }
        }
    }
    for col in (0..n).rev() {
        for j in 0..x.ncols() {
            let mut v = x[(col, j)];
            for k in col + 1..n {
                v -= m[(col, k)] * x[(k, j)];
            }
            x[(col, j)] = v / m[(col, col)];
        }
    }
    x
}

/// $P(t)$ of one generator, with its derivatives along given directions, entry by entry.
pub(crate) enum TransitionProbabilities {
    /// Q = V Λ V⁻¹, with V⁻¹ G V for each direction G.
    Eigen { values: Vec<f64>, vectors: Matrix, inverse: Matrix, rotated: Vec<Matrix> },
    /// Padé exponentials, cached per interval: P(t) and each ∂P(t)/∂θ.
    Pade { q: Matrix, directions: Vec<Matrix>, cache: BTreeMap<u64, (Matrix, Vec<Matrix>)> },
}

impl TransitionProbabilities {
    /// For generator `q` and directions `directions` (each ∂Q/∂θ; may be empty when only
    /// probabilities are wanted).
    pub(crate) fn new(q: &Matrix, directions: Vec<Matrix>) -> Self {
        match real_eigen(q) {
            Some((values, vectors, inverse)) => {
                let rotated = directions.iter().map(|g| inverse.matmul(g).matmul(&vectors)).collect();
                Self::Eigen { values, vectors, inverse, rotated }
            }
            None => Self::Pade { q: q.clone(), directions, cache: BTreeMap::new() },
        }
    }

    /// $P(t)_{rs}$, and its derivatives along the directions written to `derivatives`.
    pub(crate) fn entry(&mut self, t: f64, r: usize, s: usize, derivatives: &mut [f64]) -> f64 {
        match self {
            Self::Eigen { values, vectors, inverse, rotated } => {
                let k = values.len();
                let growth: Vec<f64> = values.iter().map(|l| (l * t).exp()).collect();
                if !derivatives.is_empty() {
                    // W_mn = V_rm F_mn (V⁻¹)_ns, shared by every direction: ∂P_rs = Σ Ḡ_mn W_mn.
                    let mut weights = vec![0.0; k * k];
                    for m in 0..k {
                        for n in 0..k {
                            let gap = values[m] - values[n];
                            let f = if gap == 0.0 {
                                t * growth[m]
                            } else if (gap * t).abs() < 0.1 {
                                growth[n] * (gap * t).exp_m1() / gap
                            } else {
                                (growth[m] - growth[n]) / gap
                            };
                            weights[m * k + n] = vectors[(r, m)] * f * inverse[(n, s)];
                        }
                    }
                    for (d, g) in derivatives.iter_mut().zip(rotated.iter()) {
                        *d = (0..k)
                            .flat_map(|m| (0..k).map(move |n| (m, n)))
                            .map(|(m, n)| g[(m, n)] * weights[m * k + n])
                            .sum();
                    }
                }
                (0..k).map(|m| vectors[(r, m)] * growth[m] * inverse[(m, s)]).sum()
            }
            Self::Pade { q, directions, cache } => {
                let (p, dp) = cache.entry(t.to_bits()).or_insert_with(|| {
                    let k = q.nrows();
                    let p = matrix_exponential(&Matrix::from_fn(k, k, |i, j| q[(i, j)] * t));
                    let dp = directions
                        .iter()
                        .map(|g| {
                            let block = Matrix::from_fn(2 * k, 2 * k, |i, j| match (i < k, j < k) {
                                (true, true) => q[(i, j)] * t,
                                (false, false) => q[(i - k, j - k)] * t,
                                (true, false) => g[(i, j - k)] * t,
                                (false, true) => 0.0,
                            });
                            let e = matrix_exponential(&block);
                            Matrix::from_fn(k, k, |i, j| e[(i, j + k)])
                        })
                        .collect();
                    (p, dp)
                });
                for (d, g) in derivatives.iter_mut().zip(dp.iter()) {
                    *d = g[(r, s)];
                }
                p[(r, s)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exponential_of_a_two_state_generator_has_a_closed_form() {
        // Q = [[−a, a], [b, −b]]: P₁₁(t) = (b + a e^{−(a+b)t})/(a + b).
        let (a, b, t): (f64, f64, f64) = (0.3, 0.2, 4.0);
        let q = Matrix::from_column_major(2, 2, vec![-a * t, b * t, a * t, -b * t]);
        let p = matrix_exponential(&q);
        let expected: f64 = (b + a * (-(a + b) * t).exp()) / (a + b);
        assert!((p[(0, 0)] - expected).abs() < 1e-13, "{}", p[(0, 0)]);
        assert!((p[(0, 0)] + p[(0, 1)] - 1.0).abs() < 1e-13);
    }

    /// A 1 → 2 → 3 generator with rates `a`, `b`, and ∂Q/∂log a.
    fn progressive(a: f64, b: f64) -> (Matrix, Matrix) {
        let q = Matrix::from_fn(3, 3, |i, j| match (i, j) {
            (0, 0) => -a,
            (0, 1) => a,
            (1, 1) => -b,
            (1, 2) => b,
            _ => 0.0,
        });
        let g = Matrix::from_fn(3, 3, |i, j| match (i, j) {
            (0, 0) => -a,
            (0, 1) => a,
            _ => 0.0,
        });
        (q, g)
    }

    #[test]
    fn derivatives_match_the_closed_form_and_both_methods_agree() {
        // P₁₂(t) = a (e^{−bt} − e^{−at})/(a − b); its derivative in log a, by hand.
        let (a, b, t): (f64, f64, f64) = (0.3, 0.2, 2.5);
        let p12 = |a: f64| a * ((-b * t).exp() - (-a * t).exp()) / (a - b);
        let dp12 = a * ((-b * t).exp() - (-a * t).exp()) / (a - b) * (1.0 - a / (a - b))
            + a * a * t * (-a * t).exp() / (a - b);
        let (q, g) = progressive(a, b);
        let mut eigen = TransitionProbabilities::new(&q, vec![g.clone()]);
        assert!(matches!(eigen, TransitionProbabilities::Eigen { .. }));
        let mut d = [0.0];
        assert!((eigen.entry(t, 0, 1, &mut d) - p12(a)).abs() < 1e-14);
        assert!((d[0] - dp12).abs() < 1e-13, "{} vs {dp12}", d[0]);
        let mut pade = TransitionProbabilities::Pade { q, directions: vec![g], cache: BTreeMap::new() };
        let mut e = [0.0];
        assert!((pade.entry(t, 0, 1, &mut e) - p12(a)).abs() < 1e-13);
        assert!((e[0] - dp12).abs() < 1e-12, "{} vs {dp12}", e[0]);
    }

    #[test]
    fn repeated_eigenvalues_use_the_confluent_limit_or_block_exponentials() {
        // States 1 and 2 both move to 3 at rate a: eigenvalues −a, −a, 0 with a full set of
        // eigenvectors. P₁₃(t) = 1 − e^{−at}, and ∂/∂log a₁₃ = a t e^{−at}.
        let (a, t): (f64, f64) = (0.25, 3.0);
        let q = Matrix::from_fn(3, 3, |i, j| match (i, j) {
            (0 | 1, 2) => a,
            (0, 0) | (1, 1) => -a,
            _ => 0.0,
        });
        let g = Matrix::from_fn(3, 3, |i, j| match (i, j) {
            (0, 2) => a,
            (0, 0) => -a,
            _ => 0.0,
        });
        let mut probabilities = TransitionProbabilities::new(&q, vec![g]);
        assert!(matches!(probabilities, TransitionProbabilities::Eigen { .. }));
        let mut d = [0.0];
        assert!((probabilities.entry(t, 0, 2, &mut d) - (1.0 - (-a * t).exp())).abs() < 1e-14);
        assert!((d[0] - a * t * (-a * t).exp()).abs() < 1e-13, "{}", d[0]);
        // 1 → 2 → 3 at equal rates is defective (a Jordan block), so the block exponential is
        // used: P₁₂(t) = a t e^{−at}, and ∂/∂log a₁₂ = (a t − a² t²/2) e^{−at}.
        let (q, g) = progressive(a, a);
        let mut probabilities = TransitionProbabilities::new(&q, vec![g]);
        assert!(matches!(probabilities, TransitionProbabilities::Pade { .. }));
        let p = probabilities.entry(t, 0, 1, &mut d);
        assert!((p - a * t * (-a * t).exp()).abs() < 1e-12);
        let expected = (a * t - a * a * t * t / 2.0) * (-a * t).exp();
        assert!((d[0] - expected).abs() < 1e-12, "{} vs {expected}", d[0]);
    }
}
