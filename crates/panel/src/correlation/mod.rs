//! Correlation coefficients with the inference of R's `cor.test`.
//!
//! - Pearson's $r$: $t = r\sqrt{(n-2)/(1-r^2)}$ on $n-2$ degrees of freedom, and the interval
//!   $\tanh\bigl(\operatorname{atanh} r \pm z_{1-\alpha/2}/\sqrt{n-3}\bigr)$ (Fisher 1921), given
//!   for $n \ge 4$.
//! - Spearman's $\rho$: Pearson's $r$ of the ranks (ties averaged), reported with
//!   $S = (n^3 - n)(1-\rho)/6$ and the p-value of the t approximation
//!   $t = \rho\sqrt{(n-2)/(1-\rho^2)}$ (`cor.test(exact = FALSE)`); no interval, as R.
//! - Kendall's $\tau_b$ (Kendall 1945) in $O(n \log n)$ by Knight's (1966) merge sort, with
//!   $z = S/\sqrt{\operatorname{Var} S}$, $S$ the number of concordant minus discordant pairs and
//!   $\operatorname{Var} S$ the tie-corrected variance of Kendall (1970, eq. 4.4)
//!   (`cor.test(exact = FALSE)`, no continuity correction); no interval.
//!
//! Partial correlations given controls $Z$ ([`partial`]), correlation matrices with adjusted
//! p-values ([`matrix`]) and correlations by group with the test of homogeneity ([`groups`])
//! build on these. Checked against `cor.test` on the reference cases `cor_la_2025_pearson` and
//! `cor_persistence_cla_imd`.

pub mod groups;
mod kendall;
pub mod matrix;
pub mod partial;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use strata_core::results::{normal_quantile, normal_two_sided};

pub use groups::{CorrelationByGroup, GroupCorrelation, GroupDifference, Homogeneity};
pub use matrix::{Correlation, CorrelationMatrix, CorrelationPair};

/// Which coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Pearson's product-moment correlation.
    #[default]
    Pearson,
    /// Spearman's rank correlation.
    Spearman,
    /// Kendall's τ_b.
    Kendall,
}

impl Method {
    /// The name R uses (`"pearson"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pearson => "pearson",
            Self::Spearman => "spearman",
            Self::Kendall => "kendall",
        }
    }

    /// Parses R's name of the method.
    ///
    /// # Errors
    /// [`Error::Specification`] for any other name.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "pearson" => Ok(Self::Pearson),
            "spearman" => Ok(Self::Spearman),
            "kendall" => Ok(Self::Kendall),
            other => {
                Err(Error::Specification(format!("unknown correlation method `{other}` (pearson, spearman, kendall)")))
            }
        }
    }
}

/// A correlation and its test, as `cor.test` reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationTest {
    /// Complete observations used.
    pub n: usize,
    /// The coefficient: r, ρ or τ_b.
    pub estimate: f64,
    /// Lower confidence limit (Pearson only, n ≥ 4; `None` as R gives no interval).
    pub lower: Option<f64>,
    /// Upper confidence limit.
    pub upper: Option<f64>,
    /// `cor.test`'s statistic: t for Pearson, S for Spearman, z for Kendall.
    pub statistic: f64,
    /// Degrees of freedom of a t statistic (Pearson), else `None`.
    pub df: Option<f64>,
    /// Two-sided p-value of no correlation.
    pub p_value: f64,
}

/// Tests the correlation of `x` and `y`, complete pairs of finite values, at confidence `level`.
///
/// # Examples
/// ```
/// use strata_panel::correlation::{cor_test, Method};
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let y = [1.5, 1.9, 3.4, 3.1, 5.5, 5.9];
/// let test = cor_test(&x, &y, Method::Pearson, 0.95)?;
/// assert!(test.estimate > 0.9 && test.p_value < 0.01);
/// assert!(test.lower.unwrap() < test.estimate);
/// # Ok::<(), strata_panel::Error>(())
/// ```
///
/// # Errors
/// [`Error::Length`] for arrays of different lengths, [`Error::NonFinite`] for NaN or infinite
/// values, [`Error::TooFewObservations`] below three pairs, [`Error::ConstantVariable`] when
/// either variable is constant, [`Error::Specification`] for a level outside (0, 1).
pub fn cor_test(x: &[f64], y: &[f64], method: Method, level: f64) -> Result<CorrelationTest> {
    check_pairs(x, y, 3)?;
    check_level(level)?;
    let n = x.len();
    Ok(match method {
        Method::Pearson => {
            let r = pearson(x, y, "x", "y")?;
            pearson_inference(r, n, 0, level)
        }
        Method::Spearman => {
            let r = pearson(&ranks(x), &ranks(y), "x", "y")?;
            spearman_inference(r, n)
        }
        Method::Kendall => kendall::test(x, y)?,
    })
}

/// Checks that `x` and `y` are finite, of one length, with at least `minimum` pairs.
pub(crate) fn check_pairs(x: &[f64], y: &[f64], minimum: usize) -> Result<()> {
    if x.len() != y.len() {
        return Err(Error::Length { what: "y".into(), expected: x.len(), found: y.len() });
    }
    for (name, values) in [("x", x), ("y", y)] {
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { name: name.into(), row: row + 1, value: values[row] });
        }
    }
    if x.len() < minimum {
        return Err(Error::TooFewObservations {
            what: "a correlation test".into(),
            needed: minimum,
            found: x.len(),
            group: None,
        });
    }
    Ok(())
}

pub(crate) fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::Specification(format!("the confidence level must lie in (0, 1), not {level}")))
    }
}

/// Pearson's r of finite, equal-length slices (two-pass sums).
pub(crate) fn pearson(x: &[f64], y: &[f64], x_name: &str, y_name: &str) -> Result<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    for (name, ss, values) in [(x_name, sxx, x), (y_name, syy, y)] {
        if ss == 0.0 || values.iter().all(|v| *v == values[0]) {
            return Err(Error::ConstantVariable { name: name.into(), group: None });
        }
    }
    Ok((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Ranks with ties given their average rank (R's `rank`).
pub(crate) fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let average = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

/// Two-sided p-value of a t statistic, `2 min(P(T ≤ t), P(T ≥ t))`, accurate in the far tails.
pub(crate) fn t_p_value(t: f64, df: f64) -> f64 {
    strata_core::results::t_two_sided(t, df).min(1.0)
}

/// `cor.test`'s Pearson inference for r on n pairs after removing `controls` linear controls:
/// t on n − 2 − k df and Fisher's interval with standard error 1/√(n − 3 − k).
pub(crate) fn pearson_inference(r: f64, n: usize, controls: usize, level: f64) -> CorrelationTest {
    let df = (n - 2 - controls) as f64;
    let statistic = df.sqrt() * r / (1.0 - r * r).sqrt();
    let (lower, upper) = if n > 3 + controls {
        let z = r.atanh();
        let half = normal_quantile(0.5 + level / 2.0) / ((n - 3 - controls) as f64).sqrt();
        (Some((z - half).tanh()), Some((z + half).tanh()))
    } else {
        (None, None)
    };
    CorrelationTest { n, estimate: r, lower, upper, statistic, df: Some(df), p_value: t_p_value(statistic, df) }
}

/// `cor.test(method = "spearman", exact = FALSE)`: S and the t approximation's p-value.
pub(crate) fn spearman_inference(rho: f64, n: usize) -> CorrelationTest {
    let nf = n as f64;
    let statistic = (nf.powi(3) - nf) * (1.0 - rho) / 6.0;
    let t = rho / ((1.0 - rho * rho) / (nf - 2.0)).sqrt();
    CorrelationTest { n, estimate: rho, lower: None, upper: None, statistic, df: None, p_value: t_p_value(t, nf - 2.0) }
}

/// The normal-approximation test of a coefficient with standard error `se` (Kendall's tests).
pub(crate) fn normal_inference(estimate: f64, statistic: f64, n: usize) -> CorrelationTest {
    CorrelationTest { n, estimate, lower: None, upper: None, statistic, df: None, p_value: normal_two_sided(statistic) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    /// By hand: both centred at 4, Sxy = 23, Sxx = Syy = 28, so r = 23/28, t = r√(5/(1 − r²)),
    /// interval tanh(atanh r ± 1.959964/2).
    #[test]
    fn pearson_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let y = [2.0, 1.0, 4.0, 3.0, 7.0, 5.0, 6.0];
        let t = cor_test(&x, &y, Method::Pearson, 0.95).unwrap();
        let r: f64 = 23.0 / 28.0;
        assert!((t.estimate - r).abs() < 1e-14);
        assert!((t.statistic - r * (5.0 / (1.0 - r * r)).sqrt()).abs() < 1e-12);
        assert_eq!(t.df, Some(5.0));
        let z = r.atanh();
        let half = 1.959_963_984_540_054 / 2.0;
        assert!((t.lower.unwrap() - (z - half).tanh()).abs() < 1e-12);
        assert!((t.upper.unwrap() - (z + half).tanh()).abs() < 1e-12);
    }

    /// The values are their own ranks: ρ = r = 23/28 and S = (343 − 7)(5/28)/6 = 10.
    #[test]
    fn spearman_statistic_is_s() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let y = [2.0, 1.0, 4.0, 3.0, 7.0, 5.0, 6.0];
        let t = cor_test(&x, &y, Method::Spearman, 0.95).unwrap();
        assert!((t.estimate - 23.0 / 28.0).abs() < 1e-14);
        assert!((t.statistic - 10.0).abs() < 1e-12);
        assert!(t.lower.is_none());
    }

    #[test]
    fn constant_and_short_inputs_are_errors() {
        assert!(matches!(
            cor_test(&[1.0, 1.0, 1.0, 1.0], &[1.0, 2.0, 3.0, 4.0], Method::Pearson, 0.95),
            Err(Error::ConstantVariable { .. })
        ));
        assert!(matches!(
            cor_test(&[1.0, 2.0], &[1.0, 2.0], Method::Kendall, 0.95),
            Err(Error::TooFewObservations { .. })
        ));
        assert!(matches!(
            cor_test(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0], Method::Spearman, 0.95),
            Err(Error::NonFinite { row: 2, .. })
        ));
    }
}
