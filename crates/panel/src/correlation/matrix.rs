//! Correlations of every pair of a list of variables of a data frame, each on its pairwise
//! complete rows (`cor.test` for each pair, as `use = "pairwise.complete.obs"`), with p-values
//! adjusted for the number of pairs by Holm's (1979) step-down method and Benjamini and
//! Hochberg's (1995) false discovery rate (R's `p.adjust`).

use super::groups::{by_group, CorrelationByGroup};
use super::partial::partial_cor_test;
use super::{check_level, CorrelationTest, Method};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::results::significant;
use strata_core::DataFrame;

/// A correlation analysis: variables, method, controls and confidence level. Validated before
/// it reads any data.
///
/// # Examples
/// ```
/// use strata_core::DataFrame;
/// use strata_panel::correlation::{Correlation, Method};
/// let frame = DataFrame::new()
///     .with_floats("cla_rate", &[50.0, 62.0, 71.0, 80.0, 95.0, 101.0])?
///     .with_floats("imd", &[12.0, 18.0, 20.0, 27.0, 31.0, 38.0])?;
/// let matrix = Correlation::new(&["cla_rate", "imd"])?.method(Method::Spearman).fit(&frame)?;
/// assert_eq!(matrix.pairs[0].test.estimate, 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    variables: Vec<String>,
    method: Method,
    controls: Vec<String>,
    level: f64,
}

impl Correlation {
    /// Correlations of every pair of `variables` (at least two, distinct).
    ///
    /// # Errors
    /// [`Error::Specification`] for fewer than two variables or a repeated one.
    pub fn new<S: AsRef<str>>(variables: &[S]) -> Result<Self> {
        let variables: Vec<String> = variables.iter().map(|v| v.as_ref().to_string()).collect();
        if variables.len() < 2 {
            return Err(Error::Specification("a correlation needs at least two variables".into()));
        }
        for (i, v) in variables.iter().enumerate() {
            if variables[..i].contains(v) {
                return Err(Error::Specification(format!("`{v}` is named twice")));
            }
        }
        Ok(Self { variables, method: Method::Pearson, controls: Vec::new(), level: 0.95 })
    }

    /// The coefficient (default Pearson).
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Partial correlations given these control variables.
    ///
    /// # Errors
    /// [`Error::Specification`] if a control is also one of the variables.
    pub fn partial<S: AsRef<str>>(mut self, controls: &[S]) -> Result<Self> {
        self.controls = controls.iter().map(|c| c.as_ref().to_string()).collect();
        if let Some(c) = self.controls.iter().find(|c| self.variables.contains(c)) {
            return Err(Error::Specification(format!("`{c}` is both a variable and a control")));
        }
        Ok(self)
    }

    /// The confidence level of Pearson's intervals (default 0.95).
    ///
    /// # Errors
    /// [`Error::Specification`] outside (0, 1).
    pub fn level(mut self, level: f64) -> Result<Self> {
        check_level(level)?;
        self.level = level;
        Ok(self)
    }

    /// The variables.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// Every pair's test on its complete rows.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_panel::correlation::Correlation;
    /// let frame = DataFrame::new()
    ///     .with_floats("deprivation", &[10.0, 14.0, 18.0, 25.0, 31.0, 35.0, 40.0, 44.0])?
    ///     .with_floats("care_rate", &[40.0, 52.0, 49.0, 70.0, 88.0, 95.0, 101.0, 120.0])?
    ///     .with_floats("spending", &[310.0, 290.0, 335.0, 300.0, 280.0, 320.0, 295.0, 305.0])?;
    /// let matrix = Correlation::new(&["deprivation", "care_rate", "spending"])?.fit(&frame)?;
    /// assert_eq!(matrix.pairs.len(), 3);
    /// assert!(matrix.pairs[0].test.estimate > 0.95); // deprivation with care rates
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// An unknown or non-numeric column, a non-finite value, a constant variable or too few
    /// complete pairs (named).
    pub fn fit(&self, frame: &DataFrame) -> Result<CorrelationMatrix> {
        let columns = self.read(frame)?;
        let all: Vec<usize> = (0..frame.nrows()).collect();
        let mut pairs = Vec::new();
        for a in 0..self.variables.len() {
            for b in a + 1..self.variables.len() {
                let test = self.test_pair(&columns, a, b, &all, None)?;
                pairs.push(CorrelationPair {
                    x: self.variables[a].clone(),
                    y: self.variables[b].clone(),
                    test,
                    p_holm: f64::NAN,
                    p_bh: f64::NAN,
                });
            }
        }
        let p: Vec<f64> = pairs.iter().map(|pair| pair.test.p_value).collect();
        for ((pair, holm), bh) in pairs.iter_mut().zip(holm(&p)).zip(benjamini_hochberg(&p)) {
            pair.p_holm = holm;
            pair.p_bh = bh;
        }
        Ok(CorrelationMatrix {
            method: self.method,
            controls: self.controls.clone(),
            level: self.level,
            variables: self.variables.clone(),
            pairs,
        })
    }

    /// Every pair's correlation within each group of the column `by` (a year, a period), with
    /// the test that the correlation is the same in every group. Groups where the pair has no
    /// complete observation (a year before a return was collected) are left out and listed.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_panel::correlation::Correlation;
    /// // Deprivation and care rates in six authorities, in two years.
    /// let year = ["2023", "2023", "2023", "2023", "2023", "2023", "2024", "2024", "2024", "2024", "2024", "2024"];
    /// let frame = DataFrame::new()
    ///     .with_levels("year", &year)?
    ///     .with_floats("deprivation", &[10.0, 15.0, 21.0, 28.0, 33.0, 40.0, 11.0, 14.0, 22.0, 27.0, 35.0, 41.0])?
    ///     .with_floats("care_rate", &[40.0, 55.0, 52.0, 75.0, 80.0, 99.0, 45.0, 47.0, 60.0, 70.0, 92.0, 96.0])?;
    /// let by_year = Correlation::new(&["deprivation", "care_rate"])?.fit_by(&frame, "year")?;
    /// assert_eq!(by_year[0].groups.len(), 2);
    /// assert!((0.0..=1.0).contains(&by_year[0].homogeneity.p_value));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`fit`](Self::fit), per group, and fewer than two groups.
    pub fn fit_by(&self, frame: &DataFrame, by: &str) -> Result<Vec<CorrelationByGroup>> {
        let columns = self.read(frame)?;
        let column = frame.column(by)?;
        let labels: Vec<Option<String>> = (0..frame.nrows()).map(|i| column.text(i)).collect();
        let groups = strata_core::frame::sorted_distinct(labels.iter().flatten());
        // Each group's rows, once for every pair.
        let index: std::collections::HashMap<&str, usize> =
            groups.iter().enumerate().map(|(g, label)| (label.as_str(), g)).collect();
        let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
        for (i, label) in labels.iter().enumerate() {
            if let Some(&g) = label.as_deref().and_then(|l| index.get(l)) {
                rows_of[g].push(i);
            }
        }
        let mut results = Vec::new();
        for a in 0..self.variables.len() {
            for b in a + 1..self.variables.len() {
                let mut tests = Vec::new();
                let mut skipped = Vec::new();
                for (g, rows) in groups.iter().zip(&rows_of) {
                    match self.test_pair(&columns, a, b, rows, Some(g)) {
                        Ok(test) => tests.push((g.clone(), test)),
                        Err(Error::TooFewObservations { found: 0, .. }) => skipped.push(g.clone()),
                        Err(other) => return Err(other),
                    }
                }
                let mut result =
                    by_group(&self.variables[a], &self.variables[b], by, self.method, self.controls.len(), tests)?;
                result.groups_without_data = skipped;
                results.push(result);
            }
        }
        Ok(results)
    }

    /// The variables' and controls' values, `None` where missing.
    fn read(&self, frame: &DataFrame) -> Result<Vec<Vec<Option<f64>>>> {
        let columns = self
            .variables
            .iter()
            .chain(&self.controls)
            .map(|name| {
                let values = frame.numbers(name)?;
                if let Some(row) = values.iter().position(|v| v.is_some_and(|v| !v.is_finite())) {
                    return Err(Error::NonFinite {
                        name: name.clone(),
                        row: row + 1,
                        value: values.get(row).unwrap_or(0.0),
                    });
                }
                Ok(values.iter().collect())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(columns)
    }

    /// The test of variables `a` and `b` on those of `rows` where both and every control are
    /// present.
    fn test_pair(
        &self,
        columns: &[Vec<Option<f64>>],
        a: usize,
        b: usize,
        rows: &[usize],
        group: Option<&String>,
    ) -> Result<CorrelationTest> {
        let controls: Vec<usize> = (self.variables.len()..columns.len()).collect();
        let complete: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| [a, b].iter().chain(&controls).all(|&c| columns[c][i].is_some()))
            .collect();
        let take = |c: usize| complete.iter().map(|&i| columns[c][i].unwrap_or(f64::NAN)).collect::<Vec<f64>>();
        let (x, y) = (take(a), take(b));
        let z: Vec<Vec<f64>> = controls.iter().map(|&c| take(c)).collect();
        let z: Vec<&[f64]> = z.iter().map(Vec::as_slice).collect();
        let name = |i: usize| self.variables.get(i).unwrap_or_else(|| &self.controls[i - self.variables.len()]).clone();
        partial_cor_test(&x, &y, &z, self.method, self.level).map_err(|e| match e {
            Error::ConstantVariable { name: which, .. } => Error::ConstantVariable {
                name: match which.as_str() {
                    "x" => name(a),
                    "y" => name(b),
                    control => control
                        .strip_prefix("control ")
                        .and_then(|j| j.parse::<usize>().ok())
                        .map_or_else(|| control.to_string(), |j| self.controls[j - 1].clone()),
                },
                group: group.cloned(),
            },
            Error::TooFewObservations { needed, found, .. } => Error::TooFewObservations {
                what: format!("the correlation of `{}` and `{}`", name(a), name(b)),
                needed,
                found,
                group: group.cloned(),
            },
            other => other,
        })
    }
}

/// One pair's correlation test with adjusted p-values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationPair {
    /// The first variable.
    pub x: String,
    /// The second variable.
    pub y: String,
    /// The test on the pair's complete rows.
    #[serde(flatten)]
    pub test: CorrelationTest,
    /// Holm's adjusted p-value over all pairs.
    pub p_holm: f64,
    /// Benjamini and Hochberg's adjusted p-value over all pairs.
    pub p_bh: f64,
}

/// The correlations of every pair of variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationMatrix {
    /// The coefficient.
    pub method: Method,
    /// Controls of partial correlations (empty for plain ones).
    pub controls: Vec<String>,
    /// The confidence level.
    pub level: f64,
    /// The variables, in the order given.
    pub variables: Vec<String>,
    /// Every pair (i < j in the order given).
    pub pairs: Vec<CorrelationPair>,
}

impl CorrelationMatrix {
    /// The coefficient of variables `a` and `b` (1 on the diagonal).
    pub fn estimate(&self, a: &str, b: &str) -> Option<f64> {
        if a == b {
            return self.variables.iter().any(|v| v == a).then_some(1.0);
        }
        self.pairs.iter().find(|p| (p.x == a && p.y == b) || (p.x == b && p.y == a)).map(|p| p.test.estimate)
    }
}

/// Holm's step-down adjusted p-values (R's `p.adjust(p, "holm")`).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Benjamini and Hochberg's adjusted p-values (R's `p.adjust(p, "BH")`).
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 1.0;
    for (k, &i) in order.iter().enumerate() {
        let rank = m - k;
        running = running.min(m as f64 / rank as f64 * p[i]).min(1.0);
        adjusted[i] = running;
    }
    adjusted
}

impl fmt::Display for CorrelationMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given =
            if self.controls.is_empty() { String::new() } else { format!(" given {}", self.controls.join(", ")) };
        writeln!(f, "{} correlations{given} (pairwise complete observations)\n", capitalised(self.method.name()))?;
        let width = self.pairs.iter().map(|p| p.x.len() + p.y.len() + 3).max().unwrap_or(0).max(4);
        writeln!(
            f,
            "{:<width$} {:>6} {:>10} {:>22} {:>10} {:>10} {:>10} {:>10}",
            "pair",
            "n",
            "estimate",
            format!("{:.0}% interval", self.level * 100.0),
            "statistic",
            "p",
            "p (Holm)",
            "p (BH)"
        )?;
        for p in &self.pairs {
            let interval = match (p.test.lower, p.test.upper) {
                (Some(l), Some(u)) => format!("({}, {})", significant(l, 4), significant(u, 4)),
                _ => "–".into(),
            };
            writeln!(
                f,
                "{:<width$} {:>6} {:>10} {:>22} {:>10} {:>10} {:>10} {:>10}",
                format!("{} ~ {}", p.x, p.y),
                p.test.n,
                significant(p.test.estimate, 4),
                interval,
                significant(p.test.statistic, 4),
                significant(p.test.p_value, 3),
                significant(p.p_holm, 3),
                significant(p.p_bh, 3)
            )?;
        }
        let statistic = match self.method {
            Method::Spearman if self.controls.is_empty() => "S",
            Method::Pearson | Method::Spearman => "t",
            Method::Kendall => "z",
        };
        write!(f, "statistic: {statistic}")
    }
}

pub(crate) fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R: `p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm")` = 0.030 0.060 0.060 0.020 and
    /// `"BH"` = 0.0200000 0.0400000 0.0400000 0.0200000.
    #[test]
    fn adjustments_match_p_adjust() {
        let p = [0.01, 0.04, 0.03, 0.005];
        for (a, e) in holm(&p).iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((a - e).abs() < 1e-15, "{a} {e}");
        }
        for (a, e) in benjamini_hochberg(&p).iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!((a - e).abs() < 1e-15, "{a} {e}");
        }
    }
}
