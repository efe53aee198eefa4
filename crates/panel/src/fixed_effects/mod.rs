//! Regression with high-dimensional fixed effects in fixest's syntax:
//! `y ~ x1 + x2 | la + year` (Bergé 2018).
//!
//! The model $g(\mathrm{E}\,y_{it}) = x_{it}^\top\beta + \alpha_i + \gamma_t$ (linear: identity;
//! Poisson: log, with offsets) is fitted without forming the dummies: the fixed effects are
//! swept out by alternating projections ([`demean`]) and the regression is run on what is left
//! ([`estimate`]). Standard errors follow fixest's small-sample conventions ([`vcov`]); by
//! default, as fixest, they are clustered on the first fixed effect.
//!
//! Fixed effects combine columns with `^` (`la^year`). Lags and leads `l(x, k)`, `f(x, k)`
//! are taken by unit and time given with [`FixedEffectsModel::panel`] ([`lags`]). Rows with a missing value in any model
//! variable, fixed effect, cluster or weight are dropped (`na.omit`). Observations alone in a
//! fixed-effect group ("singletons", perfectly fitted and without information on β) are
//! removed, repeatedly, as pyfixest does by default (`fixef_rm = "singleton"`; fixest keeps
//! them unless `fixef.rm = "singleton"`): the estimates are the same either way, but n and so
//! the small-sample corrections differ. For Poisson, groups whose outcomes are all zero are
//! removed, as fixest does. Both are reported.
//! Checked against pyfixest/fixest on the reference case `fe_cpp_rate_feols`.

pub mod codes;
pub mod demean;
pub mod estimate;
pub mod fixef;
pub mod lags;
mod levels;
mod result;
pub mod vcov;

pub use codes::{FixedEffectCodes, GroupTally};
pub use demean::DemeanControl;
pub use estimate::{
    drop_all_zero_groups, fit_fixed_effects, FixedEffectsControl, FixedEffectsData, FixedEffectsFamily, FixedEffectsFit,
};
pub use result::{FixedEffectSize, FixedEffectsResult, FixedEffectsSummary};
pub use vcov::Vcov;

use crate::error::{Error, Result};
use levels::{combined_codes, dense_codes};
use std::borrow::Cow;
use strata_core::design::ModelMatrix;
use strata_core::family::Family;
use strata_core::numerics::Matrix;
use strata_core::{DataFrame, Formula, Masked};
use strata_core::{Warning, WarningKind};
use strata_glm::Response;

/// How the standard errors are to be estimated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VcovChoice {
    /// fixest's default: clustered on the first fixed effect (iid without fixed effects).
    #[default]
    Default,
    /// Independent errors.
    Iid,
    /// Heteroskedasticity-robust.
    Hetero,
    /// Clustered on these one or two columns.
    Cluster(Vec<String>),
}

/// A fixed-effects regression specification.
///
/// # Examples
/// ```
/// use strata_core::DataFrame;
/// use strata_panel::fixed_effects::FixedEffectsModel;
/// let la = ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"];
/// let year = ["2021", "2022", "2023"].repeat(4);
/// let x = [1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 2.0, 2.5, 6.0, 3.0, 1.0, 4.0];
/// let y: Vec<f64> = x.iter().enumerate().map(|(i, x)| 2.0 * x + (i / 3) as f64 + 0.3 * (i % 3) as f64 + 0.01 * (i % 2) as f64).collect();
/// let frame = DataFrame::new().with_levels("la", &la)?.with_levels("year", &year)?.with_floats("x", &x)?.with_floats("y", &y)?;
/// let fit = FixedEffectsModel::ols("y ~ x | la + year")?.fit(&frame)?;
/// assert!((fit.fit.coefficients[0] - 2.0).abs() < 0.01);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FixedEffectsModel {
    text: String,
    formula: Formula,
    fixed_effects: Vec<Vec<String>>,
    family: FixedEffectsFamily,
    weights: Option<String>,
    vcov: VcovChoice,
    drop_singletons: bool,
    shifts: Vec<lags::Shift>,
    panel: Option<(String, String)>,
    control: FixedEffectsControl,
    fixef: bool,
}

/// Splits `text` at its `|` outside parentheses: the model and the fixed effects.
fn split_fixed_effects(text: &str) -> Result<(String, Vec<Vec<String>>)> {
    let mut depth = 0i32;
    let mut bar = None;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                if bar.is_some() {
                    return Err(Error::Specification(format!(
                        "`{text}`: one `|` separates the model from the fixed effects (instruments are not supported)"
                    )));
                }
                bar = Some(i);
            }
            _ => {}
        }
    }
    let Some(bar) = bar else { return Ok((text.to_string(), Vec::new())) };
    let fixed_effects: Vec<Vec<String>> =
        text[bar + 1..].split('+').map(|fe| fe.split('^').map(|c| c.trim().to_string()).collect::<Vec<_>>()).collect();
    for fe in &fixed_effects {
        if let Some(bad) =
            fe.iter().find(|c| c.is_empty() || !c.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.'))
        {
            return Err(Error::Specification(format!(
                "`{}`: fixed effects are column names joined by `+` (combined with `^`), not `{bad}`",
                &text[bar + 1..].trim()
            )));
        }
    }
    Ok((text[..bar].to_string(), fixed_effects))
}

impl FixedEffectsModel {
    fn new(text: &str, family: FixedEffectsFamily) -> Result<Self> {
        let (model, fixed_effects) = split_fixed_effects(text)?;
        let (model, shifts) = lags::rewrite(&model)?;
        let formula = Formula::parse(&model).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if formula.response().is_none() {
            return Err(Error::Specification("the formula needs a response on the left of `~`".into()));
        }
        if !terms.random.is_empty() || !terms.specials.is_empty() {
            return Err(Error::Specification("fixed-effects models take no random-effect or survival terms".into()));
        }
        Ok(Self {
            text: text.trim().to_string(),
            formula,
            fixed_effects,
            family,
            weights: None,
            vcov: VcovChoice::Default,
            drop_singletons: true,
            shifts,
            panel: None,
            control: FixedEffectsControl::default(),
            fixef: false,
        })
    }

    /// A linear model (`feols`).
    ///
    /// # Errors
    /// A malformed formula or fixed-effects part.
    pub fn ols(formula: &str) -> Result<Self> {
        Self::new(formula, FixedEffectsFamily::Gaussian)
    }

    /// A Poisson model with log link (`fepois`); `offset(log(n))` in the formula is an offset.
    ///
    /// # Errors
    /// A malformed formula or fixed-effects part.
    pub fn poisson(formula: &str) -> Result<Self> {
        Self::new(formula, FixedEffectsFamily::Poisson)
    }

    /// Prior weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// The standard errors.
    #[must_use]
    pub fn vcov(mut self, choice: VcovChoice) -> Self {
        self.vcov = choice;
        self
    }

    /// Whether to remove observations alone in a fixed-effect group, repeatedly (default:
    /// yes, as pyfixest's `fixef_rm = "singleton"`; `false` keeps them, as fixest's default).
    #[must_use]
    pub fn drop_singletons(mut self, drop: bool) -> Self {
        self.drop_singletons = drop;
        self
    }

    /// Whether to estimate the fixed effects themselves (fixest's `fixef()`), into
    /// [`FixedEffectsResult::fixef`]: an alternating solve over all observations after the fit.
    #[must_use]
    pub fn estimate_fixef(mut self, yes: bool) -> Self {
        self.fixef = yes;
        self
    }

    /// The panel's unit and (numeric) time columns, by which `l(x, k)` and `f(x, k)` are taken.
    #[must_use]
    pub fn panel(mut self, id: &str, time: &str) -> Self {
        self.panel = Some((id.to_string(), time.to_string()));
        self
    }

    /// Numerical knobs.
    #[must_use]
    pub fn control(mut self, control: FixedEffectsControl) -> Self {
        self.control = control;
        self
    }

    /// The data columns the model reads: its variables (the columns that lags and leads shift,
    /// not their generated names), fixed effects, weights, clusters and panel columns — to read
    /// only those from a wide file.
    pub fn columns(&self) -> Vec<String> {
        let shifted: Vec<&str> = self.shifts.iter().map(|s| s.name.as_str()).collect();
        let mut columns: Vec<String> =
            self.formula.names().into_iter().filter(|n| !shifted.contains(&n.as_str())).collect();
        columns.extend(self.shifts.iter().map(|s| s.variable.clone()));
        columns.extend(self.fixed_effects.iter().flatten().cloned());
        columns.extend(self.weights.iter().cloned());
        if let VcovChoice::Cluster(clusters) = &self.vcov {
            columns.extend(clusters.iter().cloned());
        }
        if let Some((id, time)) = &self.panel {
            columns.extend([id.clone(), time.clone()]);
        }
        let mut seen = std::collections::HashSet::new();
        columns.retain(|c| seen.insert(c.clone()));
        columns
    }

    /// Fits the model to `frame`.
    ///
    /// # Errors
    /// Unknown or non-numeric columns, a response outside the family's range, too few
    /// observations, every regressor absorbed, or a fit that fails.
    pub fn fit(&self, frame: &DataFrame) -> Result<FixedEffectsResult> {
        let shifted;
        let frame = match (&self.panel, self.shifts.is_empty()) {
            (_, true) => frame,
            (Some((id, time)), false) => {
                shifted = lags::add_shifted(frame, &self.shifts, id, time)?;
                &shifted
            }
            (None, false) => return Err(Error::Specification(
                "l() and f() take lags and leads within panel units: give the unit and time columns (--panel id,time)"
                    .into(),
            )),
        };
        let family = match self.family {
            FixedEffectsFamily::Gaussian => Family::Gaussian,
            FixedEffectsFamily::Poisson => Family::Poisson,
        };
        let cluster_columns: Vec<String> = match &self.vcov {
            VcovChoice::Cluster(columns) => columns.clone(),
            _ => Vec::new(),
        };
        let Response { terms, model_frame, y: response_y, prior: response_weights, offset: response_offset, .. } =
            Response::new(&self.formula, family, self.weights.as_deref(), frame)?;
        let model_rows = model_frame.rows();
        // Level codes of every fixed effect and cluster on the data rows; the model's rows where
        // all are present.
        let threads = self.control.demean.thread_count();
        let fe_codes = strata_core::parallel::map_in_order(self.fixed_effects.len(), threads, |k| {
            combined_codes(frame, &self.fixed_effects[k])
        })
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        let cluster_codes = cluster_columns
            .iter()
            .map(|c| combined_codes(frame, std::slice::from_ref(c)))
            .collect::<Result<Vec<_>>>()?;
        let mut keep: Vec<usize> = (0..model_rows.len())
            .filter(|&k| fe_codes.iter().chain(&cluster_codes).all(|codes| !codes.is_missing(model_rows[k])))
            .collect();
        // Codes on the rows kept, renumbered densely; the codes themselves when every data row is
        // kept (they are dense already).
        let every_row = |keep: &[usize]| keep.len() == frame.nrows();
        let codes_at = |codes: Masked<u32>, keep: &[usize]| -> Vec<u32> {
            if every_row(keep) {
                codes.into_values()
            } else {
                dense_codes(&keep.iter().map(|&k| codes.values()[model_rows[k]]).collect::<Vec<u32>>())
            }
        };
        let mut fe = FixedEffectCodes::new(fe_codes.into_iter().map(|c| codes_at(c, &keep)).collect())?;
        let mut notes = Vec::new();
        if self.family == FixedEffectsFamily::Poisson && !fe.is_empty() {
            let y: Cow<[f64]> = if every_row(&keep) {
                Cow::Borrowed(&response_y)
            } else {
                Cow::Owned(keep.iter().map(|&k| response_y[k]).collect())
            };
            if let (Some(kept), removed) = drop_all_zero_groups(&y, &fe) {
                let detail: Vec<String> = self
                    .fe_names()
                    .iter()
                    .zip(&removed)
                    .filter(|(_, r)| **r > 0)
                    .map(|(name, r)| format!("{name}: {r}"))
                    .collect();
                notes.push(format!(
                    "{} observations removed because of only 0 outcomes ({} fixed effects: {})",
                    y.len() - kept.len(),
                    removed.iter().sum::<usize>(),
                    detail.join(", ")
                ));
                fe = fe.subset(&kept);
                keep = kept.iter().map(|&i| keep[i]).collect();
            }
        }
        if self.drop_singletons && !fe.is_empty() {
            if let Some(kept) = drop_singletons(&fe) {
                notes.push(format!("{} singleton observations removed", keep.len() - kept.len()));
                fe = fe.subset(&kept);
                keep = kept.iter().map(|&i| keep[i]).collect();
            }
        }
        if keep.is_empty() {
            return Err(Error::TooFewObservations { what: "the model".into(), needed: 1, found: 0, group: None });
        }
        let clusters: Vec<(String, Vec<u32>)> =
            cluster_columns.iter().zip(cluster_codes).map(|(name, c)| (name.clone(), codes_at(c, &keep))).collect();
        // The fixed effects absorb the intercept: R's coding, without its column.
        let matrix = if fe.is_empty() {
            ModelMatrix::new(&terms, &model_frame)?
        } else {
            ModelMatrix::absorbing_intercept(&terms, &model_frame)?
        };
        if matrix.names.is_empty() {
            return Err(Error::Specification("the model has no regressors besides the fixed effects".into()));
        }
        let names = matrix.names;
        let x = if every_row(&keep) {
            matrix.matrix
        } else {
            Matrix::from_fn(keep.len(), names.len(), |i, j| matrix.matrix[(keep[i], j)])
        };
        let take = |values: Vec<f64>| if every_row(&keep) { values } else { keep.iter().map(|&k| values[k]).collect() };
        let (y, weights, offset) = (take(response_y), response_weights.map(take), response_offset.map(take));
        let vcov = match &self.vcov {
            VcovChoice::Default if fe.is_empty() => Vcov::Iid,
            VcovChoice::Default => Vcov::Cluster(vec![(self.fe_names()[0].clone(), fe.codes(0).to_vec())]),
            VcovChoice::Iid => Vcov::Iid,
            VcovChoice::Hetero => Vcov::Hetero,
            VcovChoice::Cluster(_) => Vcov::Cluster(clusters),
        };
        let data = |x| FixedEffectsData {
            y: &y,
            x,
            names: &names,
            fixed_effects: &fe,
            weights: weights.as_deref(),
            offset: offset.as_deref(),
        };
        // A linear fit takes the regressors' storage (kept only if the fixed effects are wanted).
        let (fit, x) = match self.family {
            FixedEffectsFamily::Gaussian => {
                let kept = self.fixef.then(|| x.clone());
                let no_columns = Matrix::zeros(keep.len(), 0);
                (estimate::fit_linear_taking(x, &data(&no_columns), &vcov, &self.control)?, kept)
            }
            FixedEffectsFamily::Poisson => (fit_fixed_effects(&data(&x), self.family, &vcov, &self.control)?, Some(x)),
        };
        if !fit.collinear.is_empty() {
            notes.push(format!("removed because of collinearity: {}", fit.collinear.join(", ")));
        }
        let mut warnings = Vec::new();
        if fit.within_r_squared.is_some_and(f64::is_nan) {
            warnings.push(Warning::new(
                WarningKind::Data,
                "the fixed effects explain the response perfectly (it does not vary within them): the \
                 coefficients are not identified and their standard errors are NaN",
            ));
        }
        if !fit.converged {
            warnings.push(Warning::new(
                WarningKind::NotConverged,
                format!("the Poisson fit did not converge in {} iterations", fit.iterations),
            ));
        }
        let fixef = if let (true, Some(x)) = (self.fixef && !fe.is_empty(), &x) {
            // The sum of the fixed effects of each observation, and each level's label.
            let estimated: Vec<(usize, f64)> = fit
                .names
                .iter()
                .zip(&fit.coefficients)
                .map(|(name, &b)| (names.iter().position(|n| n == name).expect("a regressor"), b))
                .collect();
            let d: Vec<f64> = (0..keep.len())
                .map(|i| {
                    let xb: f64 = estimated.iter().map(|&(j, b)| b * x[(i, j)]).sum();
                    let eta = match self.family {
                        FixedEffectsFamily::Gaussian => fit.fitted[i],
                        FixedEffectsFamily::Poisson => fit.fitted[i].ln() - offset.as_ref().map_or(0.0, |o| o[i]),
                    };
                    eta - xb
                })
                .collect();
            let labels: Vec<Vec<String>> = self
                .fixed_effects
                .iter()
                .enumerate()
                .map(|(k, columns)| {
                    let mut levels = vec![String::new(); fe.levels()[k]];
                    for (i, &g) in fe.codes(k).iter().enumerate() {
                        if levels[g as usize].is_empty() {
                            let row = model_rows[keep[i]];
                            levels[g as usize] = columns
                                .iter()
                                .map(|c| frame.column(c).ok().and_then(|col| col.text(row)).unwrap_or_default())
                                .collect::<Vec<_>>()
                                .join("^");
                        }
                    }
                    levels
                })
                .collect();
            fixef::estimate(&d, &fe, &self.fe_names(), labels)
        } else {
            Vec::new()
        };
        Ok(FixedEffectsResult {
            formula: self.text.clone(),
            fixed_effects: self.fe_names(),
            notes,
            warnings,
            fit,
            fixef,
        })
    }

    fn fe_names(&self) -> Vec<String> {
        self.fixed_effects.iter().map(|fe| fe.join("^")).collect()
    }
}

/// Observations left once those alone in a group of any fixed effect are removed, repeatedly;
/// `None` when there is none.
fn drop_singletons(fe: &FixedEffectCodes) -> Option<Vec<usize>> {
    fe.prune(None, |tally| tally.observations == 1).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_split_at_the_bar() {
        let (model, fe) = split_fixed_effects("y ~ x + log(z) | la + year^region").unwrap();
        assert_eq!(model.trim(), "y ~ x + log(z)");
        assert_eq!(fe, [vec!["la".to_string()], vec!["year".to_string(), "region".to_string()]]);
        assert!(split_fixed_effects("y ~ x | la | z").is_err());
        assert!(split_fixed_effects("y ~ x | log(la)").is_err());
    }

    #[test]
    fn singletons_are_removed_repeatedly() {
        // Unit 2 has one observation; once it goes, time 2 is a singleton too.
        let fe = FixedEffectCodes::new(vec![vec![0, 0, 1, 1, 2, 1], vec![0, 1, 0, 1, 2, 2]]).unwrap();
        assert_eq!(drop_singletons(&fe), Some(vec![0, 1, 2, 3]));
    }
}
