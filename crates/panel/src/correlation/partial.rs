//! Partial correlations of x and y given controls $z_1, \dots, z_k$.
//!
//! From the inverse $P = R^{-1}$ of the correlation matrix of $(x, y, z_1, \dots, z_k)$ (of the
//! values for Pearson, of their ranks for Spearman, Kendall's τ_b matrix for Kendall):
//! $r_{xy\cdot z} = -P_{xy}/\sqrt{P_{xx}P_{yy}}$, which for Pearson equals the correlation of the
//! residuals of x and y regressed on z. Inference as R's `ppcor::pcor.test` (Kim 2015): for
//! Pearson and Spearman $t = r\sqrt{(n-2-k)/(1-r^2)}$ on $n-2-k$ df; for Kendall
//! $z = r / \sqrt{2(2(n-k)+5) / (9(n-k)(n-1-k))}$. Pearson's interval is Fisher's with
//! standard error $1/\sqrt{n-3-k}$.

use super::{
    check_level, check_pairs, kendall, normal_inference, pearson, pearson_inference, ranks, t_p_value, CorrelationTest,
    Method,
};
use crate::error::{Error, Result};
use strata_core::numerics::{Cholesky, Matrix};

/// Tests the partial correlation of `x` and `y` given `controls` (each a column as long as x),
/// complete and finite.
///
/// # Examples
/// ```
/// use strata_panel::correlation::{partial::partial_cor_test, Method};
/// let z = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
/// let x = [1.1, 2.3, 2.8, 4.2, 5.1, 5.7, 7.4, 7.9];
/// let y = [0.9, 2.1, 3.2, 3.8, 5.2, 6.3, 6.8, 8.3];
/// let given_z = partial_cor_test(&x, &y, &[&z], Method::Pearson, 0.95)?;
/// assert!(given_z.estimate.abs() < 0.9);
/// # Ok::<(), strata_panel::Error>(())
/// ```
///
/// # Errors
/// As [`cor_test`](super::cor_test), and [`Error::TooFewObservations`] when fewer than
/// k + 3 pairs remain, [`Error::Specification`] when the controls are collinear.
pub fn partial_cor_test(
    x: &[f64],
    y: &[f64],
    controls: &[&[f64]],
    method: Method,
    level: f64,
) -> Result<CorrelationTest> {
    let k = controls.len();
    check_pairs(x, y, 3 + k)?;
    check_level(level)?;
    for (j, z) in controls.iter().enumerate() {
        check_pairs(x, z, 3 + k).map_err(|e| match e {
            Error::Length { expected, found, .. } => {
                Error::Length { what: format!("control {}", j + 1), expected, found }
            }
            Error::NonFinite { row, value, .. } => Error::NonFinite { name: format!("control {}", j + 1), row, value },
            other => other,
        })?;
    }
    if k == 0 {
        return super::cor_test(x, y, method, level);
    }
    let columns: Vec<Vec<f64>> = std::iter::once(x)
        .chain(std::iter::once(y))
        .chain(controls.iter().copied())
        .map(|c| if method == Method::Spearman { ranks(c) } else { c.to_vec() })
        .collect();
    let names: Vec<String> =
        ["x".to_string(), "y".to_string()].into_iter().chain((1..=k).map(|j| format!("control {j}"))).collect();
    let m = columns.len();
    let mut correlations = Matrix::identity(m);
    for a in 0..m {
        for b in a + 1..m {
            let r = match method {
                Method::Kendall => {
                    let counts = kendall::counts(&columns[a], &columns[b]);
                    if counts.x_ties == counts.pairs || counts.y_ties == counts.pairs {
                        let name = if counts.x_ties == counts.pairs { &names[a] } else { &names[b] };
                        return Err(Error::ConstantVariable { name: name.clone(), group: None });
                    }
                    counts.tau_b()
                }
                _ => pearson(&columns[a], &columns[b], &names[a], &names[b])?,
            };
            correlations[(a, b)] = r;
            correlations[(b, a)] = r;
        }
    }
    let precision = Cholesky::new(&correlations)
        .map_err(|_| Error::Specification("the controls are collinear with each other or with x or y".into()))?
        .inverse();
    let r = (-precision[(0, 1)] / (precision[(0, 0)] * precision[(1, 1)]).sqrt()).clamp(-1.0, 1.0);
    let n = x.len();
    Ok(match method {
        Method::Pearson => pearson_inference(r, n, k, level),
        Method::Spearman => {
            let df = (n - 2 - k) as f64;
            let statistic = r * (df / (1.0 - r * r)).sqrt();
            CorrelationTest {
                n,
                estimate: r,
                lower: None,
                upper: None,
                statistic,
                df: Some(df),
                p_value: t_p_value(statistic, df),
            }
        }
        Method::Kendall => {
            let (nf, kf) = (n as f64, k as f64);
            let se = (2.0 * (2.0 * (nf - kf) + 5.0) / (9.0 * (nf - kf) * (nf - 1.0 - kf))).sqrt();
            normal_inference(r, r / se, n)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For Pearson the partial correlation is the correlation of the residuals on z.
    #[test]
    fn pearson_partial_is_the_correlation_of_residuals() {
        let z = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let x = [2.0, 1.5, 3.9, 3.1, 6.2, 5.1, 7.7, 8.8, 8.1];
        let y = [1.0, 2.4, 2.2, 4.9, 4.1, 6.6, 6.2, 7.1, 9.5];
        let residuals = |v: &[f64]| {
            let (mz, mv) = (5.0, v.iter().sum::<f64>() / 9.0);
            let slope = z.iter().zip(v).map(|(a, b)| (a - mz) * (b - mv)).sum::<f64>()
                / z.iter().map(|a| (a - mz) * (a - mz)).sum::<f64>();
            v.iter().zip(&z).map(|(b, a)| b - mv - slope * (a - mz)).collect::<Vec<f64>>()
        };
        let direct = pearson(&residuals(&x), &residuals(&y), "x", "y").unwrap();
        let partial = partial_cor_test(&x, &y, &[&z], Method::Pearson, 0.95).unwrap();
        assert!((partial.estimate - direct).abs() < 1e-12);
        assert_eq!(partial.df, Some(6.0));
    }
}
