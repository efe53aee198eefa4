//! A GLMM fitted from arrays: the fixed-effects model matrix, the response and its trials,
//! weights and offset, and the random terms as level codes with their own effects.

use super::engine::{GlmmData, GlmmEngine, Prepared};
use super::GlmmFit;
use crate::error::{check_design, Result};
use crate::lmm::{check_terms, random_effects, GroupingTerm};
use strata_core::design::ModelMatrix;
use strata_glm::{CheckedArrays, GlmArrays};

/// A GLMM's data as arrays: a GLM's arrays ([`GlmArrays`]: the fixed-effects model matrix,
/// the response — for the binomial the proportion of successes with the trials of each row —
/// and optional names, prior weights and offset) and the random terms, all on the same n rows.
#[derive(Debug, Clone)]
pub struct GlmmArrays<'a> {
    /// The fixed part, as a GLM's.
    pub fixed: GlmArrays<'a>,
    /// The random-effects terms.
    pub terms: Vec<GroupingTerm<'a>>,
}

impl<'a> GlmmArrays<'a> {
    /// The fixed part and the random terms.
    pub fn new(fixed: GlmArrays<'a>, terms: Vec<GroupingTerm<'a>>) -> Self {
        Self { fixed, terms }
    }
}

impl GlmmEngine {
    /// Fits the model to `arrays`, checked as the formula path checks the columns it reads;
    /// the fit's formula reads `glmer(y ~ x + …)` and it predicts nothing from a data frame.
    ///
    /// # Examples
    /// ```
    /// use strata_core::family::Family;
    /// use strata_core::numerics::Matrix;
    /// use strata_core::results::FittedModel;
    /// use strata_glm::GlmArrays;
    /// use strata_multilevel::glmm::{GlmmArrays, GlmmEngine};
    /// use strata_multilevel::lmm::GroupingTerm;
    /// // Referrals in eight authorities, five years each, rising with a deprivation score.
    /// let score: Vec<f64> = (0..40).map(|i| f64::from(i % 5)).collect();
    /// let la: Vec<u32> = (0..40).map(|i| i / 5).collect();
    /// let level = [3.0, 5.0, 2.0, 8.0, 4.0, 6.0, 3.0, 7.0];
    /// let referrals: Vec<f64> = (0..40).map(|i| level[i / 5] + 2.0 * score[i] + f64::from((i * 7 % 3) as u8)).collect();
    /// let x = Matrix::from_fn(40, 2, |i, j| if j == 0 { 1.0 } else { score[i] });
    /// let arrays = GlmmArrays::new(GlmArrays::new(&x, &referrals), vec![GroupingTerm::intercept("la", &la)]);
    /// let fit = GlmmEngine::new(Family::Poisson)?.fit(&arrays)?;
    /// assert!(fit.coef()[1] > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The errors of [`GlmArrays::check`]; a constant response, a rank-deficient design, no
    /// random term, and the grouping errors of the formula path.
    pub fn fit(&self, arrays: &GlmmArrays<'_>) -> Result<GlmmFit> {
        let fixed = &arrays.fixed;
        let CheckedArrays { names, weights, trials, offset } = fixed.check(self.family)?;
        let n = fixed.x.nrows();
        check_terms(&arrays.terms)?;
        crate::error::check_response_varies("y", fixed.y)?;
        check_design(fixed.x, &names, 0)?;
        let (random, written) = random_effects(&arrays.terms, n)?;
        let p = names.len();
        self.fit_prepared(Prepared {
            data: GlmmData { y: fixed.y.to_vec(), weights, trials, offset },
            design: ModelMatrix { matrix: fixed.x.clone(), names, assign: (0..p).map(Some).collect() },
            random,
            rows: (0..n).collect(),
            formula: format!("glmer(y ~ x + {written})"),
            predictor: None,
        })
    }
}
