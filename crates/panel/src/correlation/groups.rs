//! Does a correlation persist? The same correlation in each group (a year, a period) and the
//! test that it is equal in all of them.
//!
//! With $z_i = \operatorname{atanh} r_i$ and its large-sample variance $v_i$ — $1/(n_i-3)$ for
//! Pearson (Fisher 1921), $1.06/(n_i-3)$ for Spearman and $0.437/(n_i-4)$ for Kendall (Fieller,
//! Hartley & Pearson 1957), each less the number of controls of a partial correlation — the
//! homogeneity statistic is $Q = \sum_i (z_i - \bar z)^2 / v_i$ with
//! $\bar z = \sum_i z_i v_i^{-1} / \sum_i v_i^{-1}$, referred to $\chi^2_{k-1}$ (Hedges & Olkin 1985,
//! ch. 11), and $\tanh \bar z$ is the pooled correlation. Each pair of groups is compared by
//! $(z_i - z_j)/\sqrt{v_i + v_j}$. Checked against R on the reference case
//! `cor_persistence_cla_imd`.

use super::matrix::holm;
use super::{CorrelationTest, Method};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::results::{chi_squared_upper, normal_quantile, normal_two_sided, significant};

/// One group's correlation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCorrelation {
    /// The group's label.
    pub group: String,
    /// Its test.
    #[serde(flatten)]
    pub test: CorrelationTest,
}

/// The test that the correlation is equal in every group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Homogeneity {
    /// $Q = \sum_i (z_i - \bar z)^2 / v_i$.
    pub q: f64,
    /// Degrees of freedom: groups − 1.
    pub df: usize,
    /// Upper-tail χ² p-value.
    pub p_value: f64,
    /// The pooled correlation $\tanh \bar z$.
    pub pooled_estimate: f64,
    /// Its lower 95% limit, $\tanh(\bar z - 1.96 / \sqrt{\sum v_i^{-1}})$.
    pub pooled_lower: f64,
    /// Its upper 95% limit.
    pub pooled_upper: f64,
}

/// Two groups' correlations compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDifference {
    /// The first group.
    pub first: String,
    /// The second group.
    pub second: String,
    /// $r_{\text{second}} - r_{\text{first}}$.
    pub difference: f64,
    /// $(z_{\text{second}} - z_{\text{first}})/\sqrt{v_1 + v_2}$.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Holm's adjusted p-value over all pairs of groups.
    pub p_holm: f64,
}

/// A pair of variables' correlation in each group, the homogeneity test and the pairwise
/// differences between groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationByGroup {
    /// The first variable.
    pub x: String,
    /// The second variable.
    pub y: String,
    /// The grouping column.
    pub by: String,
    /// The coefficient.
    pub method: Method,
    /// Each group's correlation, in the order of the groups.
    pub groups: Vec<GroupCorrelation>,
    /// The test of equal correlations.
    pub homogeneity: Homogeneity,
    /// Every pair of groups (i < j).
    pub differences: Vec<GroupDifference>,
    /// Groups left out because the pair has no complete observation in them.
    pub groups_without_data: Vec<String>,
}

/// The large-sample variance of atanh of the coefficient on `n` pairs after `controls` controls.
fn z_variance(method: Method, n: usize, controls: usize) -> f64 {
    let n = (n - controls) as f64;
    match method {
        Method::Pearson => 1.0 / (n - 3.0),
        Method::Spearman => 1.06 / (n - 3.0),
        Method::Kendall => 0.437 / (n - 4.0),
    }
}

/// Combines the groups' tests of `x` and `y` (each on its complete rows, after `controls`
/// controls).
pub(crate) fn by_group(
    x: &str,
    y: &str,
    by: &str,
    method: Method,
    controls: usize,
    tests: Vec<(String, CorrelationTest)>,
) -> Result<CorrelationByGroup> {
    if tests.len() < 2 {
        return Err(Error::Specification(format!(
            "`{by}` has {} group(s) with data: comparing correlations needs at least two",
            tests.len()
        )));
    }
    // The variance of z needs n − k > 3 (Pearson, Spearman) or n − k > 4 (Kendall).
    let minimum = controls + if method == Method::Kendall { 5 } else { 4 };
    for (group, test) in &tests {
        if test.n < minimum {
            return Err(Error::TooFewObservations {
                what: format!("the test of equal correlations of `{x}` and `{y}`"),
                needed: minimum,
                found: test.n,
                group: Some(group.clone()),
            });
        }
    }
    let z: Vec<f64> = tests.iter().map(|(_, t)| t.estimate.atanh()).collect();
    let v: Vec<f64> = tests.iter().map(|(_, t)| z_variance(method, t.n, controls)).collect();
    let total_weight: f64 = v.iter().map(|v| 1.0 / v).sum();
    let pooled = z.iter().zip(&v).map(|(z, v)| z / v).sum::<f64>() / total_weight;
    let q: f64 = z.iter().zip(&v).map(|(z, v)| (z - pooled).powi(2) / v).sum();
    let df = tests.len() - 1;
    let half = normal_quantile(0.975) / total_weight.sqrt();
    let homogeneity = Homogeneity {
        q,
        df,
        p_value: chi_squared_upper(q, df as f64),
        pooled_estimate: pooled.tanh(),
        pooled_lower: (pooled - half).tanh(),
        pooled_upper: (pooled + half).tanh(),
    };
    let mut differences = Vec::new();
    for i in 0..tests.len() {
        for j in i + 1..tests.len() {
            let statistic = (z[j] - z[i]) / (v[i] + v[j]).sqrt();
            differences.push(GroupDifference {
                first: tests[i].0.clone(),
                second: tests[j].0.clone(),
                difference: tests[j].1.estimate - tests[i].1.estimate,
                z: statistic,
                p_value: normal_two_sided(statistic),
                p_holm: f64::NAN,
            });
        }
    }
    let p: Vec<f64> = differences.iter().map(|d| d.p_value).collect();
    for (d, adjusted) in differences.iter_mut().zip(holm(&p)) {
        d.p_holm = adjusted;
    }
    Ok(CorrelationByGroup {
        x: x.into(),
        y: y.into(),
        by: by.into(),
        method,
        groups: tests.into_iter().map(|(group, test)| GroupCorrelation { group, test }).collect(),
        homogeneity,
        differences,
        groups_without_data: Vec::new(),
    })
}

impl fmt::Display for CorrelationByGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} correlation of {} and {} by {}\n",
            super::matrix::capitalised(self.method.name()),
            self.x,
            self.y,
            self.by
        )?;
        writeln!(f, "{:<12} {:>6} {:>10} {:>22} {:>10}", self.by, "n", "estimate", "95% interval", "p")?;
        for g in &self.groups {
            let interval = match (g.test.lower, g.test.upper) {
                (Some(l), Some(u)) => format!("({}, {})", significant(l, 4), significant(u, 4)),
                _ => "–".into(),
            };
            writeln!(
                f,
                "{:<12} {:>6} {:>10} {:>22} {:>10}",
                g.group,
                g.test.n,
                significant(g.test.estimate, 4),
                interval,
                significant(g.test.p_value, 3)
            )?;
        }
        if !self.groups_without_data.is_empty() {
            writeln!(f, "(no complete pairs in {}: left out)", self.groups_without_data.join(", "))?;
        }
        let h = &self.homogeneity;
        writeln!(
            f,
            "\nPooled correlation {} (95% CI {} to {})",
            significant(h.pooled_estimate, 4),
            significant(h.pooled_lower, 4),
            significant(h.pooled_upper, 4)
        )?;
        write!(
            f,
            "Test of equal correlations: Q = {} on {} df, p = {}",
            significant(h.q, 5),
            h.df,
            significant(h.p_value, 4)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_of(r: f64, n: usize) -> CorrelationTest {
        CorrelationTest { n, estimate: r, lower: None, upper: None, statistic: 0.0, df: None, p_value: 0.0 }
    }

    /// Equal correlations give Q = 0 and pool to themselves; two groups give Q = z² of their
    /// difference.
    #[test]
    fn homogeneity_identities() {
        let same = by_group(
            "x",
            "y",
            "g",
            Method::Pearson,
            0,
            vec![("a".into(), test_of(0.5, 20)), ("b".into(), test_of(0.5, 40))],
        )
        .unwrap();
        assert!(same.homogeneity.q.abs() < 1e-15);
        assert!((same.homogeneity.pooled_estimate - 0.5).abs() < 1e-15);
        let two = by_group(
            "x",
            "y",
            "g",
            Method::Pearson,
            0,
            vec![("a".into(), test_of(0.2, 30)), ("b".into(), test_of(0.6, 50))],
        )
        .unwrap();
        assert!((two.homogeneity.q - two.differences[0].z.powi(2)).abs() < 1e-12);
    }

    #[test]
    fn small_groups_are_named() {
        let error = by_group(
            "x",
            "y",
            "year",
            Method::Pearson,
            0,
            vec![("2020".into(), test_of(0.2, 3)), ("2021".into(), test_of(0.6, 50))],
        )
        .unwrap_err();
        assert!(error.to_string().contains("group 2020"), "{error}");
    }
}
