//! The results vocabulary every fitted model shares: coefficient tables, the [`FittedModel`]
//! trait, and test statistics.

use crate::numerics::Matrix;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};
use std::fmt;

/// One row of a coefficient table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// The term name, as R's `model.matrix` gives it.
    pub term: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// The Wald statistic (z or t).
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
}

/// Which reference distribution a table's statistics follow.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// Standard normal (`z value`).
    Z,
    /// Student's t with the given degrees of freedom (`t value`).
    T(f64),
}

/// A coefficient table as R's `summary()` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoefTable {
    /// The rows.
    pub rows: Vec<Coefficient>,
    /// The statistic's distribution.
    pub statistic: Statistic,
}

impl CoefTable {
    /// Builds the table from names, estimates and standard errors.
    pub fn new(names: &[String], estimates: &[f64], std_errors: &[f64], statistic: Statistic) -> Self {
        let rows = names
            .iter()
            .zip(estimates)
            .zip(std_errors)
            .map(|((term, &estimate), &std_error)| {
                let value = estimate / std_error;
                let p_value = match statistic {
                    Statistic::Z => normal_two_sided(value),
                    Statistic::T(df) => t_two_sided(value, df),
                };
                Coefficient { term: term.clone(), estimate, std_error, statistic: value, p_value }
            })
            .collect();
        Self { rows, statistic }
    }
}

/// Formats a number with `digits` significant digits, as R's `format` would.
pub fn significant(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-5..15).contains(&magnitude) {
        return format!("{:.*e}", digits.saturating_sub(1), x);
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

fn format_p(p: f64) -> String {
    if p < 2e-16 {
        "<2e-16".into()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        significant(p, 3)
    }
}

fn stars(p: f64) -> &'static str {
    match p {
        p if p < 0.001 => "***",
        p if p < 0.01 => "**",
        p if p < 0.05 => "*",
        p if p < 0.1 => ".",
        _ => "",
    }
}

impl fmt::Display for CoefTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (statistic, p) = match self.statistic {
            Statistic::Z => ("z value", "Pr(>|z|)"),
            Statistic::T(_) => ("t value", "Pr(>|t|)"),
        };
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.term.clone(),
                    significant(r.estimate, 6),
                    significant(r.std_error, 6),
                    format!("{:.3}", r.statistic),
                    format!("{} {}", format_p(r.p_value), stars(r.p_value)),
                ]
            })
            .collect();
        let header = [String::new(), "Estimate".into(), "Std. Error".into(), statistic.into(), p.into()];
        let widths: Vec<usize> = (0..5)
            .map(|c| cells.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0))
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, row: &[String; 5]| {
            writeln!(
                f,
                "{:<w0$} {:>w1$} {:>w2$} {:>w3$} {:<w4$}",
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4]
            )
        };
        line(f, &header)?;
        for row in &cells {
            line(f, row)?;
        }
        write!(f, "---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    }
}

/// Two-sided p-value of a standard-normal statistic (NaN for NaN, as R's `pnorm`).
pub fn normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    2.0 * Normal::standard().cdf(-z.abs())
}

/// Two-sided p-value of a t statistic: 0 for an infinite one, NaN for NaN or a degree of
/// freedom that is not positive (statrs panics on a NaN statistic; R's `pt` gives NaN).
pub fn t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * d.cdf(-t.abs()))
}

/// A likelihood-ratio test between nested models (R's `anova(small, big, test = "Chisq")`,
/// `lmtest::lrtest`): every model's `lr_test` returns one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrTest {
    /// The χ² statistic: twice the gain in log-likelihood (a GLM's scaled deviance difference).
    pub statistic: f64,
    /// Its degrees of freedom: the difference in the number of parameters.
    pub df: f64,
    /// The upper-tail p-value.
    pub p_value: f64,
}

impl LrTest {
    /// The test of `statistic` on `df` degrees of freedom.
    pub fn new(statistic: f64, df: f64) -> Self {
        Self { statistic, df, p_value: chi_squared_upper(statistic, df) }
    }
}

/// Upper-tail p-value of a χ² statistic (NaN for NaN, 0 for +∞).
pub fn chi_squared_upper(x: f64, df: f64) -> f64 {
    if x.is_nan() || df.is_nan() {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    ChiSquared::new(df).map_or(f64::NAN, |d| d.sf(x))
}

/// The standard-normal quantile `Φ⁻¹(p)`.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// The common vocabulary of fitted models (after MixedModels.jl's and `StatsAPI`'s).
pub trait FittedModel {
    /// Coefficient estimates.
    fn coef(&self) -> &[f64];
    /// Coefficient names, as R's `model.matrix` gives them.
    fn coef_names(&self) -> &[String];
    /// The estimated covariance matrix of the coefficients.
    fn vcov(&self) -> &Matrix;
    /// The maximised log-likelihood (`None` for quasi-likelihood fits).
    fn log_likelihood(&self) -> Option<f64>;
    /// Number of observations used.
    fn nobs(&self) -> usize;
    /// Number of estimated parameters counted by AIC and BIC.
    fn n_parameters(&self) -> usize;

    /// Standard errors: square roots of the diagonal of [`vcov`](Self::vcov).
    fn std_errors(&self) -> Vec<f64> {
        self.vcov().diag().into_iter().map(f64::sqrt).collect()
    }

    /// Wald confidence intervals at `level` (e.g. 0.95), as `(lower, upper)` pairs.
    fn conf_int(&self, level: f64) -> Vec<(f64, f64)> {
        let z = normal_quantile(0.5 + level / 2.0);
        self.coef().iter().zip(self.std_errors()).map(|(b, se)| (b - z * se, b + z * se)).collect()
    }

    /// Akaike's information criterion `−2ℓ + 2k`.
    fn aic(&self) -> Option<f64> {
        self.log_likelihood().map(|ll| -2.0 * ll + 2.0 * self.n_parameters() as f64)
    }

    /// The Bayesian information criterion `−2ℓ + k log n`.
    fn bic(&self) -> Option<f64> {
        self.log_likelihood().map(|ll| -2.0 * ll + (self.nobs() as f64).ln() * self.n_parameters() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_match_r() {
        // 2 * pnorm(-1.96), 2 * pt(-2, 10) and pchisq(3.84, 1, lower = FALSE) in R; statrs'
        // normal tail is accurate to a few parts in 1e12.
        assert!((normal_two_sided(1.96) - 0.049_995_790_296_440_94).abs() < 1e-11);
        assert!((t_two_sided(-2.0, 10.0) - 0.073_388_034_770_740_1).abs() < 1e-10);
        assert!((chi_squared_upper(3.84, 1.0) - 0.050_043_521_248_705_1).abs() < 1e-10);
        // Statistics that are not numbers give NaN, not a panic (found by fuzzing `feols`).
        assert!(t_two_sided(f64::NAN, 3.0).is_nan() && normal_two_sided(f64::NAN).is_nan());
        assert!(chi_squared_upper(f64::NAN, 2.0).is_nan());
        assert_eq!((t_two_sided(f64::INFINITY, 3.0), chi_squared_upper(f64::INFINITY, 2.0)), (0.0, 0.0));
    }

    #[test]
    fn tables_print_like_r() {
        let table = CoefTable::new(&["(Intercept)".into(), "x".into()], &[1.5, -0.02], &[0.5, 0.01], Statistic::Z);
        let shown = table.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["Estimate", "Std.", "Error", "z", "value", "Pr(>|z|)"]
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["(Intercept)", "1.50000", "0.500000", "3.000", "0.00270", "**"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["x", "-0.0200000", "0.0100000", "-2.000", "0.0455", "*"]
        );
    }
}
