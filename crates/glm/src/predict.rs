//! Predictions from a fitted GLM for new data, with standard errors on the link scale
//! ($\sqrt{x^\top V x}$) and, by the delta method, on the response scale
//! ($|d\mu/d\eta|\sqrt{x^\top V x}$), as R's `predict(fit, newdata, se.fit = TRUE)`.

use super::fit::GlmFit;
use crate::error::{Error, Result};
use serde::Serialize;
use strata_core::design::{covariate_expressions, offset_values, ModelMatrix};
use strata_core::model_frame::ModelFrame;
use strata_core::numerics::Matrix;
use strata_core::results::FittedModel;
use strata_core::DataFrame;

/// The scale of a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PredictionScale {
    /// The linear predictor η (offset included).
    Link,
    /// The mean μ = g⁻¹(η).
    Response,
}

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// 0-based row of the new data.
    pub row: usize,
    /// The prediction.
    pub fit: f64,
    /// Its standard error.
    pub std_error: f64,
}

impl GlmFit {
    /// Predicts for the rows of `frame` that have every covariate (and offset) of the model;
    /// factor levels must be among those of the fitted data.
    ///
    /// # Errors
    /// Unknown columns, a level the model has not seen, non-finite values, or a model fitted
    /// from arrays (predict with [`GlmFit::predict_matrix`]).
    pub fn predict(&self, frame: &DataFrame, scale: PredictionScale) -> Result<Vec<Prediction>> {
        let data = self.data();
        let terms = data.terms.as_ref().ok_or_else(|| {
            Error::Specification("the model was fitted from arrays: predict from a model matrix".into())
        })?;
        let model_frame = ModelFrame::with_levels(frame, &covariate_expressions(terms), &data.levels)?;
        let full = ModelMatrix::new(terms, &model_frame)?;
        let keep: Vec<bool> = full.names.iter().map(|n| !self.coef_names().contains(n)).collect();
        let x = full.without(&keep);
        if x.names != self.coef_names() {
            return Err(Error::Specification("the new data do not give the fitted model's columns".into()));
        }
        let offset = offset_values(terms, &model_frame)?;
        let mut predictions = self.predict_matrix(&x.matrix, Some(&offset), scale)?;
        for (prediction, &row) in predictions.iter_mut().zip(model_frame.rows()) {
            prediction.row = row;
        }
        Ok(predictions)
    }

    /// Predicts for the rows of a model matrix whose columns are the fitted coefficients'
    /// (the aliased ones left out), with an optional offset.
    ///
    /// # Errors
    /// A matrix with another number of columns, or an offset of another length.
    pub fn predict_matrix(
        &self,
        x: &Matrix,
        offset: Option<&[f64]>,
        scale: PredictionScale,
    ) -> Result<Vec<Prediction>> {
        let p = self.coef().len();
        if x.ncols() != p {
            return Err(Error::Specification(format!("x has {} columns for the {p} coefficients", x.ncols())));
        }
        if offset.is_some_and(|o| o.len() != x.nrows()) {
            return Err(Error::Specification("the offset needs one value per row of x".into()));
        }
        let covariance = self.vcov();
        Ok((0..x.nrows())
            .map(|row| {
                let xi: Vec<f64> = (0..p).map(|j| x[(row, j)]).collect();
                let eta = xi.iter().zip(self.coef()).map(|(a, b)| a * b).sum::<f64>() + offset.map_or(0.0, |o| o[row]);
                let se = covariance.quadratic_form(&xi, &xi).max(0.0).sqrt();
                match scale {
                    PredictionScale::Link => Prediction { row, fit: eta, std_error: se },
                    PredictionScale::Response => {
                        Prediction { row, fit: self.link().inverse(eta), std_error: self.link().mu_eta(eta).abs() * se }
                    }
                }
            })
            .collect())
    }
}
