//! The matrix-level engine of linear mixed models: a fit from arrays, as lme4's `lmer` fits
//! what `lFormula` makes of a formula — the fixed-effects model matrix X, the response, and for
//! each random term the level of every observation and the term's own model matrix.

use super::{check_weights, LmmFit, Prepared};
use crate::error::{check_design, Error, Result};
use crate::random_effects::{RandomBlock, RandomEffects};
use strata_core::arrays::{column_names, finite, finite_columns, same_length};
use strata_core::numerics::{BobyqaControl, Matrix};

/// One random-effects term on arrays, lme4's `(effects | group)`: the level of each observation
/// of the grouping factor and the term's model matrix — a column of ones for a random intercept
/// alone, `[1, days]` for `(1 + days | subject)`, `[days]` for `(0 + days | subject)`.
#[derive(Debug, Clone, Copy)]
pub struct GroupingTerm<'a> {
    /// The grouping factor's name (`subject`).
    pub group: &'a str,
    /// The level of each observation, a code into `levels`. Codes no observation has are
    /// dropped, as R drops unused levels.
    pub codes: &'a [u32],
    /// The levels' labels (the codes written out when absent).
    pub levels: Option<&'a [String]>,
    /// The term's model matrix, n × p (a random intercept when absent).
    pub effects: Option<&'a Matrix>,
    /// The effects' names (`(Intercept)`, `x1`, … when absent).
    pub effect_names: Option<&'a [String]>,
}

impl<'a> GroupingTerm<'a> {
    /// A random intercept for the grouping factor `group` with level `codes[i]` for
    /// observation i.
    pub fn intercept(group: &'a str, codes: &'a [u32]) -> Self {
        Self { group, codes, levels: None, effects: None, effect_names: None }
    }

    /// The term's effects instead of an intercept alone: its model matrix (include a column
    /// of ones for a random intercept) and, optionally, their names.
    #[must_use]
    pub fn effects(self, x: &'a Matrix, names: Option<&'a [String]>) -> Self {
        Self { effects: Some(x), effect_names: names, ..self }
    }

    /// Labels of the levels the codes index.
    #[must_use]
    pub fn levels(self, labels: &'a [String]) -> Self {
        Self { levels: Some(labels), ..self }
    }

    /// The term as a block of the random effects: levels renumbered densely in the order of
    /// their codes.
    fn block(&self, n: usize) -> Result<RandomBlock> {
        let group = self.group.to_string();
        let invalid = |reason: String| Error::Grouping { group: group.clone(), reason };
        if self.codes.len() != n {
            return Err(invalid(format!("{} codes for the {n} rows of x", self.codes.len())));
        }
        let count = self.codes.iter().max().map_or(0, |m| *m as usize + 1);
        if let Some(labels) = self.levels {
            if labels.len() < count {
                return Err(invalid(format!("code {} has no label among the {} levels", count - 1, labels.len())));
            }
        }
        let mut renumbered = vec![u32::MAX; count];
        for &c in self.codes {
            renumbered[c as usize] = 0;
        }
        let mut levels = Vec::new();
        for (code, slot) in renumbered.iter_mut().enumerate() {
            if *slot == 0 {
                *slot = levels.len() as u32;
                levels.push(self.levels.map_or_else(|| code.to_string(), |labels| labels[code].clone()));
            }
        }
        let codes = self.codes.iter().map(|&c| renumbered[c as usize]).collect();
        let (x, names) = match self.effects {
            Some(x) => {
                if x.nrows() != n {
                    return Err(invalid(format!("the effects have {} rows for the {n} rows of x", x.nrows())));
                }
                let names = if let Some(names) = self.effect_names {
                    column_names(Some(names), x)?
                } else {
                    let ones = |j: usize| x.column(j).iter().all(|&v| v == 1.0);
                    (0..x.ncols()).map(|j| if ones(j) { "(Intercept)".into() } else { format!("x{}", j + 1) }).collect()
                };
                finite_columns(x, &names)?;
                (x.clone(), names)
            }
            None => (Matrix::from_fn(n, 1, |_, _| 1.0), vec!["(Intercept)".to_string()]),
        };
        if names.is_empty() {
            return Err(invalid("the term has no effects".into()));
        }
        Ok(RandomBlock { group, levels, codes, names, x, offset: 0, theta_offset: 0 })
    }
}

/// [`Error::Specification`] unless there is a random term.
pub(crate) fn check_terms(terms: &[GroupingTerm<'_>]) -> Result<()> {
    if terms.is_empty() {
        return Err(Error::Specification("a mixed model needs a random-effect term".into()));
    }
    Ok(())
}

/// The random effects of `terms` on `n` observations, and their part of the formula as a fit
/// from arrays writes it (`(z | la) + (z | year)`).
pub(crate) fn random_effects(terms: &[GroupingTerm<'_>], n: usize) -> Result<(RandomEffects, String)> {
    let blocks = terms.iter().map(|term| term.block(n)).collect::<Result<Vec<_>>>()?;
    let written = terms.iter().map(|t| format!("(z | {})", t.group)).collect::<Vec<_>>().join(" + ");
    Ok((RandomEffects::from_blocks(blocks, n)?, written))
}

/// A linear mixed model's data as arrays: the fixed-effects model matrix (an intercept is a
/// column of ones), the response, optional prior weights and names, and the random terms, all
/// on the same n rows.
#[derive(Debug, Clone)]
pub struct LmmArrays<'a> {
    /// The fixed-effects model matrix, n × p.
    pub x: &'a Matrix,
    /// Its column names (`x1`, `x2`, … when absent).
    pub names: Option<&'a [String]>,
    /// The response.
    pub y: &'a [f64],
    /// Prior weights: observation i has residual variance σ²/wᵢ.
    pub weights: Option<&'a [f64]>,
    /// The random-effects terms.
    pub terms: Vec<GroupingTerm<'a>>,
}

impl<'a> LmmArrays<'a> {
    /// The model matrix `x`, the response `y` and the random terms.
    pub fn new(x: &'a Matrix, y: &'a [f64], terms: Vec<GroupingTerm<'a>>) -> Self {
        Self { x, names: None, y, weights: None, terms }
    }

    /// Names the columns of `x`.
    #[must_use]
    pub fn names(self, names: &'a [String]) -> Self {
        Self { names: Some(names), ..self }
    }

    /// Prior weights.
    #[must_use]
    pub fn weights(self, weights: &'a [f64]) -> Self {
        Self { weights: Some(weights), ..self }
    }
}

/// How a linear mixed model is estimated — REML (lme4's default) or maximum likelihood, and the
/// optimiser's control — and the fit of arrays by it.
///
/// # Examples
/// ```
/// use strata_core::numerics::Matrix;
/// use strata_core::results::FittedModel;
/// use strata_multilevel::lmm::{GroupingTerm, LmmArrays, LmmEngine};
/// // Twelve authorities, five years each: a level of their own and a common trend.
/// let year: Vec<f64> = (0..60).map(|i| f64::from(i % 5)).collect();
/// let la: Vec<u32> = (0..60).map(|i| i / 5).collect();
/// let level = [3.0, 5.0, 2.0, 8.0, 4.0, 6.0, 3.5, 7.0, 5.5, 2.5, 6.5, 4.5];
/// let y: Vec<f64> = (0..60).map(|i| level[i / 5] + 0.5 * year[i] + [0.3, -0.2, 0.1, -0.4, 0.2][i % 5]).collect();
/// let x = Matrix::from_fn(60, 2, |i, j| if j == 0 { 1.0 } else { year[i] });
/// let names = ["(Intercept)".to_string(), "year".to_string()];
/// let arrays = LmmArrays::new(&x, &y, vec![GroupingTerm::intercept("la", &la)]).names(&names);
/// let fit = LmmEngine::reml().fit(&arrays)?;
/// assert!((fit.coef()[1] - 0.5).abs() < 0.1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmmEngine {
    pub(super) reml: bool,
    pub(super) control: BobyqaControl,
}

impl LmmEngine {
    /// Estimation by REML.
    pub fn reml() -> Self {
        Self { reml: true, control: BobyqaControl::default() }
    }

    /// Estimation by maximum likelihood.
    pub fn ml() -> Self {
        Self { reml: false, ..Self::reml() }
    }

    /// Optimiser control.
    #[must_use]
    pub fn control(self, control: BobyqaControl) -> Self {
        Self { control, ..self }
    }

    /// Fits the model to `arrays`, checked as the formula path checks the columns it reads;
    /// the fit's formula reads `lmer(y ~ x + …)` and it predicts nothing from a data frame.
    ///
    /// # Errors
    /// Arrays of different lengths, wrong numbers of names, NaN or infinite values, weights
    /// that are not positive, a constant response, a rank-deficient design, no random term,
    /// and the grouping errors of the formula path.
    pub fn fit(&self, arrays: &LmmArrays<'_>) -> Result<LmmFit> {
        let n = arrays.x.nrows();
        same_length("y", Some(arrays.y.len()), n)?;
        same_length("weights", arrays.weights.map(<[f64]>::len), n)?;
        let names = column_names(arrays.names, arrays.x)?;
        finite_columns(arrays.x, &names)?;
        finite("y", arrays.y)?;
        if let Some(weights) = arrays.weights {
            finite("weights", weights)?;
        }
        check_terms(&arrays.terms)?;
        crate::error::check_response_varies("y", arrays.y)?;
        let rows: Vec<usize> = (0..n).collect();
        check_weights(arrays.weights, "weights", &rows)?;
        check_design(arrays.x, &names, 1)?;
        let (random, written) = random_effects(&arrays.terms, n)?;
        self.estimate(Prepared {
            x: arrays.x.clone(),
            names,
            y: arrays.y.to_vec(),
            weights: arrays.weights.map(<[f64]>::to_vec),
            random,
            rows,
            formula: format!("lmer(y ~ x + {written})"),
            predictor: None,
        })
    }
}
