//! The deprivation-gradient model: how an intervention rate rises with deprivation.
//!
//! $\log \mathrm{E}(y_i) = \alpha + \beta d_i + \gamma^\top z_i + \log n_i$ (Poisson or negative binomial),
//! with $d$ a deprivation trend (decile step or IMD score) and optional covariates $z$. It reports
//! the rate ratio per unit of $d$, $e^\beta$, and the fitted ratio between the most and least
//! deprived values, $e^{\beta(d_{max} - d_{min})}$, with Wald intervals. With a grouping of
//! local authorities (`by`), it fits $d \times \text{group}$, reports each group's gradient and
//! tests the interaction by the likelihood ratio: the "inverse intervention law" asks whether the
//! gradient is steeper in less deprived authorities (Bywaters et al. 2015).

use crate::error::{Error, Result};
use crate::glm::{Glm, GlmFit, GlmSummary};
use serde::Serialize;
use std::fmt;
use strata_core::family::Family;
use strata_core::results::{chi_squared_upper, normal_quantile, FittedModel};
use strata_core::DataFrame;

/// A gradient model specification, by column names.
#[derive(Debug, Clone, PartialEq)]
pub struct DeprivationGradient {
    count: String,
    population: String,
    deprivation: String,
    covariates: Vec<String>,
    by: Option<String>,
    negative_binomial: bool,
}

/// An estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The estimate.
    pub estimate: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

/// One group's gradient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupGradient {
    /// The group level.
    pub group: String,
    /// Its rate ratio per unit of deprivation.
    pub rate_ratio_per_unit: Interval,
}

/// The test of a difference in gradients between groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionTest {
    /// The grouping column.
    pub by: String,
    /// Each group's gradient.
    pub gradients: Vec<GroupGradient>,
    /// Likelihood-ratio χ² of the interaction.
    pub chisq: f64,
    /// Its degrees of freedom.
    pub df: usize,
    /// Its p-value.
    pub p_value: f64,
}

/// A fitted gradient model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientSummary {
    /// Always `"gradient"`.
    pub model: &'static str,
    /// The deprivation column.
    pub deprivation: String,
    /// The rate ratio per unit of deprivation.
    pub rate_ratio_per_unit: Interval,
    /// The range of deprivation in the data.
    pub deprivation_range: (f64, f64),
    /// The fitted ratio between the most and the least deprived values.
    pub fitted_ratio_extremes: Interval,
    /// The underlying GLM.
    pub glm: GlmSummary,
    /// The between-group comparison, when `by` was given.
    pub interaction: Option<InteractionTest>,
}

impl DeprivationGradient {
    /// A Poisson gradient model of `count` over `population` by `deprivation`.
    pub fn new(count: &str, population: &str, deprivation: &str) -> Self {
        Self {
            count: count.into(),
            population: population.into(),
            deprivation: deprivation.into(),
            covariates: Vec::new(),
            by: None,
            negative_binomial: false,
        }
    }

    /// Adjusts for these covariates (formula terms).
    #[must_use]
    pub fn covariates(mut self, covariates: &[&str]) -> Self {
        self.covariates = covariates.iter().map(|c| (*c).to_string()).collect();
        self
    }

    /// Compares the gradient between the levels of this column.
    #[must_use]
    pub fn by(mut self, column: &str) -> Self {
        self.by = Some(column.to_string());
        self
    }

    /// Uses a negative binomial model (θ estimated) instead of Poisson.
    #[must_use]
    pub fn negative_binomial(mut self) -> Self {
        self.negative_binomial = true;
        self
    }

    fn formula(&self, interaction: bool) -> String {
        let mut terms = vec![match (&self.by, interaction) {
            (Some(by), true) => format!("{} * {by}", self.deprivation),
            (Some(by), false) => format!("{} + {by}", self.deprivation),
            (None, _) => self.deprivation.clone(),
        }];
        terms.extend(self.covariates.iter().cloned());
        terms.push(format!("offset(log({}))", self.population));
        format!("{} ~ {}", self.count, terms.join(" + "))
    }

    fn fit_formula(&self, formula: &str, frame: &DataFrame) -> Result<GlmFit> {
        let glm =
            if self.negative_binomial { Glm::negative_binomial(formula)? } else { Glm::new(formula, Family::Poisson)? };
        glm.fit(frame)
    }

    /// Fits the model.
    ///
    /// # Examples
    /// ```
    /// use strata_core::DataFrame;
    /// use strata_gradient::deprivation::DeprivationGradient;
    /// // Children looked after per 10,000 by deprivation decile, rising 25% a decile.
    /// let decile: Vec<f64> = (1..=10).map(f64::from).collect();
    /// let children = vec![50_000.0; 10];
    /// let looked_after: Vec<f64> = decile.iter().map(|d| (100.0 * 1.25f64.powf(d - 1.0)).round()).collect();
    /// let frame = DataFrame::new()
    ///     .with_floats("decile", &decile)?
    ///     .with_floats("children", &children)?
    ///     .with_floats("looked_after", &looked_after)?;
    /// let gradient = DeprivationGradient::new("looked_after", "children", "decile").fit(&frame)?;
    /// assert!((gradient.rate_ratio_per_unit.estimate - 1.25).abs() < 0.01);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Glm::fit`]; [`Error::Specification`] if deprivation does not vary.
    pub fn fit(&self, frame: &DataFrame) -> Result<GradientSummary> {
        let z = normal_quantile(0.975);
        let fit = self.fit_formula(&self.formula(self.by.is_some()), frame)?;
        let names = fit.coef_names();
        let j = names.iter().position(|n| *n == self.deprivation).ok_or_else(|| {
            Error::Specification(format!(
                "`{}` must be a numeric deprivation trend (a decile step or score)",
                self.deprivation
            ))
        })?;
        let values = frame.numbers(&self.deprivation)?;
        let deprivation: Vec<f64> = fit.rows().iter().filter_map(|&i| values.get(i)).collect();
        let (low, high) =
            deprivation.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &d| (a.min(d), b.max(d)));
        if !(high > low) {
            return Err(Error::Specification(format!("`{}` does not vary", self.deprivation)));
        }
        let (beta, se) = (fit.coef()[j], fit.std_errors()[j]);
        let interval = |b: f64, s: f64, scale: f64| Interval {
            estimate: (b * scale).exp(),
            lower: ((b - z * s) * scale).exp(),
            upper: ((b + z * s) * scale).exp(),
        };
        let interaction = match &self.by {
            None => None,
            Some(by) => {
                let reduced = self.fit_formula(&self.formula(false), frame)?;
                let (full_ll, reduced_ll) =
                    (fit.log_likelihood().unwrap_or(f64::NAN), reduced.log_likelihood().unwrap_or(f64::NAN));
                let df = fit.coef().len() - reduced.coef().len();
                let chisq = 2.0 * (full_ll - reduced_ll);
                let covariance = fit.vcov();
                let prefix = format!("{}:{by}", self.deprivation);
                let mut gradients = vec![];
                let column = frame.column(by)?;
                let mut levels: Vec<String> = fit.rows().iter().filter_map(|&i| column.text(i)).collect();
                levels.sort();
                levels.dedup();
                for level in levels {
                    let k = names.iter().position(|n| *n == format!("{prefix}{level}"));
                    let (b, v) = match k {
                        None => (beta, covariance[(j, j)]),
                        Some(k) => {
                            (beta + fit.coef()[k], covariance[(j, j)] + covariance[(k, k)] + 2.0 * covariance[(j, k)])
                        }
                    };
                    gradients.push(GroupGradient { group: level, rate_ratio_per_unit: interval(b, v.sqrt(), 1.0) });
                }
                Some(InteractionTest {
                    by: by.clone(),
                    gradients,
                    chisq,
                    df,
                    p_value: chi_squared_upper(chisq, df as f64),
                })
            }
        };
        Ok(GradientSummary {
            model: "gradient",
            deprivation: self.deprivation.clone(),
            rate_ratio_per_unit: interval(beta, se, 1.0),
            deprivation_range: (low, high),
            fitted_ratio_extremes: interval(beta, se, high - low),
            glm: fit.summary(),
            interaction,
        })
    }
}

impl fmt::Display for GradientSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}\n", self.glm)?;
        let r = &self.rate_ratio_per_unit;
        let reference = self
            .interaction
            .as_ref()
            .and_then(|t| t.gradients.first())
            .map(|g| format!(" (in {})", g.group))
            .unwrap_or_default();
        writeln!(
            f,
            "Rate ratio per unit of {}{reference}: {:.4} (95% CI {:.4} to {:.4})",
            self.deprivation, r.estimate, r.lower, r.upper
        )?;
        let e = &self.fitted_ratio_extremes;
        write!(
            f,
            "Fitted ratio, most ({}) to least ({}) deprived: {:.2} (95% CI {:.2} to {:.2})",
            self.deprivation_range.1, self.deprivation_range.0, e.estimate, e.lower, e.upper
        )?;
        if let Some(test) = &self.interaction {
            write!(f, "\n\nGradient by {}:", test.by)?;
            for g in &test.gradients {
                let r = &g.rate_ratio_per_unit;
                write!(f, "\n  {:<20} {:.4} ({:.4} to {:.4})", g.group, r.estimate, r.lower, r.upper)?;
            }
            write!(
                f,
                "\nInteraction (likelihood ratio): χ² = {:.3} on {} df, p = {:.4}",
                test.chisq, test.df, test.p_value
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_gradient_and_interaction_are_recovered() {
        // Two groups of areas; rates rise ×1.2 per step in group a and ×1.1 in group b.
        let mut deprivation = Vec::new();
        let mut group = Vec::new();
        let mut population = Vec::new();
        let mut count = Vec::new();
        for (g, ratio) in [("a", 1.2f64), ("b", 1.1f64)] {
            for d in 0..10 {
                deprivation.push(f64::from(d));
                group.push(g);
                population.push(100_000.0);
                count.push((100.0 * ratio.powi(d)).round());
            }
        }
        let frame = DataFrame::new()
            .with_floats("d", &deprivation)
            .unwrap()
            .with_levels("g", &group)
            .unwrap()
            .with_floats("n", &population)
            .unwrap()
            .with_floats("y", &count)
            .unwrap();
        let summary = DeprivationGradient::new("y", "n", "d").by("g").fit(&frame).unwrap();
        let test = summary.interaction.unwrap();
        assert!((test.gradients[0].rate_ratio_per_unit.estimate - 1.2).abs() < 2e-3);
        assert!((test.gradients[1].rate_ratio_per_unit.estimate - 1.1).abs() < 2e-3);
        assert!(test.p_value < 1e-10 && test.df == 1);
        let single = DeprivationGradient::new("y", "n", "d").fit(&frame).unwrap();
        assert!((single.fitted_ratio_extremes.estimate - single.rate_ratio_per_unit.estimate.powi(9)).abs() < 1e-9);
    }
}
