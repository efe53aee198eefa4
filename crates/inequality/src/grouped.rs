//! Socioeconomic-gradient indices on grouped data: counts and populations by deprivation group.
//!
//! Groups are ordered from least to most deprived ([`RankOrder`] says how the rank column runs).
//! With populations $n_i$, $N = \sum n_i$, rates $r_i = y_i / n_i$ and the ridit (the group
//! midpoint's cumulative population share) $R_i = (\sum_{j<i} n_j + n_i/2)/N$:
//! - slope index of inequality: the slope $b$ of the population-weighted least-squares line
//!   $r = a + bR$ (its standard error is the WLS one, residual variance on $k - 2$ df);
//! - relative index of inequality: Kunst–Mackenbach $(a + b)/a$, Pamuk $b/\bar r$, and the
//!   Poisson form $\exp(\beta)$ from $\log \mathrm{E}(y_i) = \alpha + \beta R_i + \log n_i$
//!   (Mackenbach & Kunst 1997; Moreno-Betancur et al. 2015);
//! - concentration index: $2\,\mathrm{cov}_n(r, R)/\bar r$ (Kakwani, Wagstaff & van Doorslaer 1997);
//! - ratio of the most to the least deprived group's rate, and the population attributable
//!   fraction: the share of events that would not occur if every group had the least deprived
//!   group's rate.

use crate::error::{Error, Result};
use crate::individual::Distribution;
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::family::Family;
use strata_core::numerics::Matrix;
use strata_core::results::normal_quantile;
use strata_core::DataFrame;
use strata_glm::{GlmArrays, GlmEngine};

/// How the rank column runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RankOrder {
    /// Ascending rank = less to more deprived (rank 1 the least deprived).
    LeastDeprivedFirst,
    /// Ascending rank = more to less deprived (IMD deciles, where decile 1 is the most deprived).
    MostDeprivedFirst,
}

/// Events and populations by group, with the groups' deprivation ranks.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedData {
    ranks: Vec<f64>,
    populations: Vec<f64>,
    counts: Vec<f64>,
}

impl GroupedData {
    /// Groups from parallel arrays, sorted by `order` into least-to-most deprived.
    ///
    /// # Errors
    /// [`Error::Input`] for fewer than two groups or arrays of different lengths;
    /// [`Error::InvalidValue`] for a non-positive population or a negative count.
    pub fn new(ranks: &[f64], populations: &[f64], counts: &[f64], order: RankOrder) -> Result<Self> {
        if ranks.len() != populations.len() || ranks.len() != counts.len() {
            return Err(Error::Input("rank, population and count arrays differ in length".into()));
        }
        if ranks.len() < 2 {
            return Err(Error::Input("at least two groups are needed".into()));
        }
        for (index, &value) in populations.iter().enumerate() {
            if !(value > 0.0 && value.is_finite()) {
                return Err(Error::InvalidValue {
                    input: "populations".into(),
                    index,
                    value,
                    reason: "populations must be positive".into(),
                });
            }
        }
        for (index, &value) in counts.iter().enumerate() {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(Error::InvalidValue {
                    input: "counts".into(),
                    index,
                    value,
                    reason: "counts must be non-negative".into(),
                });
            }
        }
        for (index, &value) in ranks.iter().enumerate() {
            if !value.is_finite() {
                return Err(Error::InvalidValue {
                    input: "ranks".into(),
                    index,
                    value,
                    reason: "ranks must be finite".into(),
                });
            }
        }
        let mut order_index: Vec<usize> = (0..ranks.len()).collect();
        order_index.sort_by(|&a, &b| ranks[a].total_cmp(&ranks[b]));
        // One row a group: a repeated rank would split a group into rows the ridits treat as two.
        if let Some(w) = order_index.windows(2).find(|w| ranks[w[0]] == ranks[w[1]]) {
            return Err(Error::Input(format!(
                "rank {} appears in rows {} and {}: give one row a group (aggregate populations and counts first)",
                ranks[w[0]],
                w[0].min(w[1]) + 1,
                w[0].max(w[1]) + 1
            )));
        }
        if order == RankOrder::MostDeprivedFirst {
            order_index.reverse();
        }
        Ok(Self {
            ranks: order_index.iter().map(|&i| ranks[i]).collect(),
            populations: order_index.iter().map(|&i| populations[i]).collect(),
            counts: order_index.iter().map(|&i| counts[i]).collect(),
        })
    }

    /// Reads the groups from columns of a frame.
    ///
    /// # Errors
    /// Unknown or non-numeric columns, missing values, and as [`GroupedData::new`].
    pub fn from_frame(frame: &DataFrame, rank: &str, population: &str, count: &str, order: RankOrder) -> Result<Self> {
        let column = |name: &str| -> Result<Vec<f64>> {
            frame
                .numbers(name)?
                .into_iter()
                .enumerate()
                .map(|(i, v)| v.ok_or_else(|| Error::Input(format!("`{name}` is missing at data row {}", i + 1))))
                .collect()
        };
        Self::new(&column(rank)?, &column(population)?, &column(count)?, order).map_err(|e| match e {
            Error::InvalidValue { input, index, value, reason } => {
                let name = match input.as_str() {
                    "ranks" => rank,
                    "populations" => population,
                    _ => count,
                };
                Error::InvalidValue { input: name.into(), index, value, reason }
            }
            other => other,
        })
    }

    /// The gradient indices, rates expressed per `per` population (e.g. 10,000).
    ///
    /// # Errors
    /// [`Error::Gradient`] if the Poisson RII model cannot be fitted (all counts zero).
    pub fn indices(&self, per: f64) -> Result<GradientIndices> {
        let k = self.populations.len();
        let total: f64 = self.populations.iter().sum();
        let rates: Vec<f64> = self.counts.iter().zip(&self.populations).map(|(y, n)| per * y / n).collect();
        let mut cumulative = 0.0;
        let ridit: Vec<f64> = self
            .populations
            .iter()
            .map(|n| {
                let r = (cumulative + n / 2.0) / total;
                cumulative += n;
                r
            })
            .collect();
        let weighted_mean = |v: &[f64]| v.iter().zip(&self.populations).map(|(a, n)| a * n).sum::<f64>() / total;
        let mean_rate = weighted_mean(&rates);
        let mean_ridit = weighted_mean(&ridit);
        let covariance = self
            .populations
            .iter()
            .zip(rates.iter().zip(&ridit))
            .map(|(n, (r, q))| n * (r - mean_rate) * (q - mean_ridit))
            .sum::<f64>()
            / total;
        let ridit_variance = weighted_mean(&ridit.iter().map(|q| (q - mean_ridit).powi(2)).collect::<Vec<_>>());
        let slope = covariance / ridit_variance;
        let intercept = mean_rate - slope * mean_ridit;
        let residual_ss: f64 =
            (0..k).map(|i| self.populations[i] * (rates[i] - intercept - slope * ridit[i]).powi(2)).sum();
        let sii_std_error = (residual_ss / (k as f64 - 2.0) / (ridit_variance * total)).sqrt();
        let poisson = self.poisson_rii(&ridit)?;
        let least = rates[0];
        let attributable = 1.0 - least * total / per / self.counts.iter().sum::<f64>();
        Ok(GradientIndices {
            model: "inequality_grouped",
            rank_direction: "least deprived first (ridit 0) to most deprived (ridit 1)",
            rate_per: per,
            rates: rates.clone(),
            ridit,
            mean_rate,
            sii: slope,
            sii_std_error_wls: sii_std_error,
            rii_kunst_mackenbach: (intercept + slope) / intercept,
            rii_pamuk: slope / mean_rate,
            rii_poisson: poisson.0,
            rii_poisson_ci95: [poisson.1, poisson.2],
            concentration_index: 2.0 * covariance / mean_rate,
            concentration_wagstaff: 2.0 * covariance / mean_rate / (1.0 - mean_rate / per),
            concentration_erreygers: 4.0 * (mean_rate / per) * 2.0 * covariance / mean_rate,
            concentration_curve: {
                let events: f64 = self.counts.iter().sum();
                let mut points = vec![(0.0, 0.0)];
                let (mut p, mut l) = (0.0, 0.0);
                for (n, y) in self.populations.iter().zip(&self.counts) {
                    p += n / total;
                    l += y / events;
                    points.push((p, l));
                }
                points
            },
            gini_weighted: Distribution::weighted(&rates, &self.populations)?.gini(),
            ratio_most_to_least: rates[k - 1] / least,
            population_attributable_fraction: attributable,
        })
    }

    /// The RII as the rate ratio of a Poisson model of the counts on the ridits with the log
    /// populations as offset: `glm(events ~ ridit + offset(log(population)), poisson)`.
    fn poisson_rii(&self, ridit: &[f64]) -> Result<(f64, f64, f64)> {
        let x = Matrix::from_fn(ridit.len(), 2, |i, j| if j == 0 { 1.0 } else { ridit[i] });
        let offset: Vec<f64> = self.populations.iter().map(|n| n.ln()).collect();
        let names = ["(Intercept)".to_string(), "ridit".to_string()];
        let arrays = GlmArrays::new(&x, &self.counts).names(&names).offset(&offset);
        let fit = GlmEngine::new(Family::Poisson)?.fit(&arrays)?;
        let table = fit.coef_table(None);
        let row = &table.rows[1];
        let z = normal_quantile(0.975);
        Ok((row.estimate.exp(), (row.estimate - z * row.std_error).exp(), (row.estimate + z * row.std_error).exp()))
    }
}

/// Gradient indices of grouped data, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientIndices {
    /// Always `"inequality_grouped"`.
    pub model: &'static str,
    /// How the groups are ordered.
    pub rank_direction: &'static str,
    /// Rates are per this many people.
    pub rate_per: f64,
    /// Rate of each group, least deprived first.
    pub rates: Vec<f64>,
    /// Ridit of each group.
    pub ridit: Vec<f64>,
    /// Population-weighted mean rate.
    pub mean_rate: f64,
    /// Slope index of inequality.
    pub sii: f64,
    /// Its weighted-least-squares standard error.
    pub sii_std_error_wls: f64,
    /// Kunst–Mackenbach RII, `(a + b) / a`.
    pub rii_kunst_mackenbach: f64,
    /// Pamuk's RII, `b / mean rate`.
    pub rii_pamuk: f64,
    /// Poisson RII, `exp(β)`.
    pub rii_poisson: f64,
    /// Its 95% Wald interval.
    pub rii_poisson_ci95: [f64; 2],
    /// Concentration index.
    pub concentration_index: f64,
    /// Wagstaff's correction for an outcome bounded by `rate_per` (a proportion).
    pub concentration_wagstaff: f64,
    /// Erreygers' correction for an outcome bounded by `rate_per`.
    pub concentration_erreygers: f64,
    /// The concentration curve: (cumulative population share, cumulative share of events),
    /// least deprived first.
    pub concentration_curve: Vec<(f64, f64)>,
    /// Population-weighted Gini of the group rates.
    pub gini_weighted: f64,
    /// Rate of the most over the least deprived group.
    pub ratio_most_to_least: f64,
    /// Share of events in excess of the least deprived group's rate.
    pub population_attributable_fraction: f64,
}

impl fmt::Display for GradientIndices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Deprivation gradient over {} groups ({})", self.rates.len(), self.rank_direction)?;
        writeln!(f, "  group   ridit   rate per {}", self.rate_per)?;
        for (i, (r, q)) in self.rates.iter().zip(&self.ridit).enumerate() {
            writeln!(f, "  {:>5}  {q:.4}  {r:.3}", i + 1)?;
        }
        writeln!(f, "  mean rate                     {:.4}", self.mean_rate)?;
        writeln!(f, "  slope index of inequality     {:.4} (SE {:.4})", self.sii, self.sii_std_error_wls)?;
        writeln!(f, "  RII (Kunst–Mackenbach)        {:.4}", self.rii_kunst_mackenbach)?;
        writeln!(f, "  RII (Pamuk)                   {:.4}", self.rii_pamuk)?;
        writeln!(
            f,
            "  RII (Poisson)                 {:.4} (95% CI {:.4} to {:.4})",
            self.rii_poisson, self.rii_poisson_ci95[0], self.rii_poisson_ci95[1]
        )?;
        writeln!(f, "  concentration index           {:.6}", self.concentration_index)?;
        writeln!(f, "  most / least deprived ratio   {:.4}", self.ratio_most_to_least)?;
        write!(f, "  attributable fraction         {:.4}", self.population_attributable_fraction)
    }
}

/// The index of dissimilarity between two groups' distributions over areas,
/// `½ Σ |aᵢ/A − bᵢ/B|`: the share of either group that would have to move for both to be
/// spread alike (Duncan & Duncan 1955).
///
/// # Errors
/// [`Error::Input`] for lengths that differ or a group with no members;
/// [`Error::InvalidValue`] for a negative count.
pub fn dissimilarity(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::Input("the two groups' counts differ in length".into()));
    }
    if let Some(index) = a.iter().chain(b).position(|v| !(v.is_finite() && *v >= 0.0)) {
        let value = if index < a.len() { a[index] } else { b[index - a.len()] };
        return Err(Error::InvalidValue {
            input: if index < a.len() { "a" } else { "b" }.into(),
            index: index % a.len(),
            value,
            reason: "counts must be non-negative".into(),
        });
    }
    let (total_a, total_b): (f64, f64) = (a.iter().sum(), b.iter().sum());
    if total_a <= 0.0 || total_b <= 0.0 {
        return Err(Error::Input("each group needs members".into()));
    }
    Ok(0.5 * a.iter().zip(b).map(|(x, y)| (x / total_a - y / total_b).abs()).sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_gradient_has_no_inequality() {
        let data = GroupedData::new(
            &[1.0, 2.0, 3.0],
            &[100.0, 200.0, 300.0],
            &[10.0, 20.0, 30.0],
            RankOrder::LeastDeprivedFirst,
        )
        .unwrap();
        let indices = data.indices(1000.0).unwrap();
        assert!(indices.sii.abs() < 1e-12 && indices.concentration_index.abs() < 1e-12);
        assert!((indices.rii_poisson - 1.0).abs() < 1e-8);
        assert!((indices.ratio_most_to_least - 1.0).abs() < 1e-15);
        assert!(indices.population_attributable_fraction.abs() < 1e-15);
    }

    #[test]
    fn dissimilarity_by_hand() {
        assert!((dissimilarity(&[10.0, 0.0], &[0.0, 5.0]).unwrap() - 1.0).abs() < 1e-15);
        assert!(dissimilarity(&[1.0, 2.0], &[2.0, 4.0]).unwrap().abs() < 1e-15);
        assert!((dissimilarity(&[3.0, 1.0], &[1.0, 1.0]).unwrap() - 0.25).abs() < 1e-15);
    }

    #[test]
    fn rank_order_reverses_groups() {
        let a = GroupedData::new(&[1.0, 2.0], &[10.0, 10.0], &[1.0, 5.0], RankOrder::LeastDeprivedFirst).unwrap();
        let b = GroupedData::new(&[2.0, 1.0], &[10.0, 10.0], &[1.0, 5.0], RankOrder::MostDeprivedFirst).unwrap();
        assert_eq!((a.counts, a.populations), (b.counts, b.populations));
        assert!(GroupedData::new(&[1.0, 2.0], &[0.0, 1.0], &[0.0, 0.0], RankOrder::LeastDeprivedFirst).is_err());
    }
}
