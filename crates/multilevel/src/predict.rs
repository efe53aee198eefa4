//! Predictions from a fitted mixed model for new data, as lme4's `predict(fit, newdata,
//! allow.new.levels = TRUE)`: the population-level linear predictor $x^\top\hat\beta$ (plus any
//! offset; lme4's `re.form = NA`) and the conditional one $x^\top\hat\beta + z^\top\hat b$
//! (`re.form = NULL`), where a level of a grouping factor that the fitted data did not have
//! contributes zero — the population level.

use crate::error::{Error, Result};
use crate::random_effects::RandomEffects;
use serde::{Deserialize, Serialize};
use strata_core::design::{covariate_expressions, offset_values, ModelMatrix};
use strata_core::formula::{Expr, Terms};
use strata_core::model_frame::ModelFrame;
use strata_core::{DataFrame, Formula};

/// One prediction, on the scale of the linear predictor for a linear mixed model and on the
/// scale asked for by a GLMM's `predict`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MixedPrediction {
    /// 0-based row of the new data.
    pub row: usize,
    /// From the fixed effects (and offsets) only.
    pub population: f64,
    /// Adding the conditional modes of the levels the row belongs to (equal to `population`
    /// where every level is new).
    pub conditional: f64,
}

/// What a fit keeps to predict: its formula and the levels of the factors in its fixed and
/// random-slope terms (grouping factors are matched by level name instead, so new levels are
/// allowed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Predictor {
    formula: Formula,
    levels: Vec<(String, Vec<String>)>,
}

impl Predictor {
    /// From the model frame of the fitted data.
    pub(crate) fn new(formula: &Formula, terms: &Terms, model_frame: &ModelFrame) -> Self {
        let grouping: Vec<String> = terms.random.iter().flat_map(|r| r.group.iter().map(Expr::label)).collect();
        let covariates: Vec<String> = terms
            .variables
            .iter()
            .chain(terms.random.iter().flat_map(|r| r.terms.variables.iter()))
            .map(|v| v.expr.label())
            .collect();
        let levels = model_frame
            .factor_levels()
            .into_iter()
            .filter(|(label, _)| !grouping.contains(label) || covariates.contains(label))
            .collect();
        Self { formula: formula.clone(), levels }
    }

    /// Linear predictors for the complete rows of `frame`.
    ///
    /// # Errors
    /// Unknown columns, a level of a fixed factor the model has not seen, non-finite values.
    pub(crate) fn linear(
        &self,
        frame: &DataFrame,
        names: &[String],
        beta: &[f64],
        random: &RandomEffects,
        b: &[f64],
    ) -> Result<Vec<MixedPrediction>> {
        let terms = self.formula.terms().map_err(strata_core::Error::from)?;
        let mut exprs = covariate_expressions(&terms);
        for random in &terms.random {
            exprs.extend(random.terms.variables.iter().map(|v| &v.expr));
            exprs.extend(random.group.iter());
        }
        let model_frame = ModelFrame::with_levels(frame, &exprs, &self.levels)?;
        let x = ModelMatrix::new(&terms, &model_frame)?;
        if x.names != names {
            return Err(Error::Specification(
                "the new data do not give the fitted model's fixed-effect columns".into(),
            ));
        }
        let offset = offset_values(&terms, &model_frame)?;
        let population: Vec<f64> = x.matrix.times(beta).iter().zip(&offset).map(|(a, o)| a + o).collect();
        let mut conditional = population.clone();
        for term in &terms.random {
            let (codes, labels) = model_frame.interaction(&term.group);
            let z = ModelMatrix::new(&term.terms, &model_frame)?;
            let block = random
                .blocks
                .iter()
                .find(|block| block.group == term.group_label && block.names == z.names)
                .ok_or_else(|| {
                    Error::Specification(format!("the random term of {} is not the fitted one", term.group_label))
                })?;
            let fitted: Vec<Option<usize>> =
                labels.iter().map(|label| block.levels.iter().position(|l| l == label)).collect();
            for (i, value) in conditional.iter_mut().enumerate() {
                if let Some(level) = fitted[codes[i] as usize] {
                    let start = block.offset + level * block.p();
                    *value += (0..block.p()).map(|j| z.matrix[(i, j)] * b[start + j]).sum::<f64>();
                }
            }
        }
        Ok(model_frame
            .rows()
            .iter()
            .zip(population.into_iter().zip(conditional))
            .map(|(&row, (population, conditional))| MixedPrediction { row, population, conditional })
            .collect())
    }
}
