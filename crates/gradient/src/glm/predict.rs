//! Predictions from a fitted GLM for new data, with standard errors on the link scale
//! ($\sqrt{x^\top V x}$) and, by the delta method, on the response scale
//! ($|d\mu/d\eta|\sqrt{x^\top V x}$), as R's `predict(fit, newdata, se.fit = TRUE)`.

use super::fit::GlmFit;
use crate::error::{Error, Result};
use serde::Serialize;
use strata_core::design::{covariate_expressions, offset_values, ModelMatrix};
use strata_core::model_frame::ModelFrame;
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
    /// Unknown columns, a level the model has not seen, or non-finite values.
    pub fn predict(&self, frame: &DataFrame, scale: PredictionScale) -> Result<Vec<Prediction>> {
        let data = self.data();
        let model_frame = ModelFrame::with_levels(frame, &covariate_expressions(&data.terms), &data.levels)?;
        let full = ModelMatrix::new(&data.terms, &model_frame)?;
        let keep: Vec<bool> = full.names.iter().map(|n| !self.coef_names().contains(n)).collect();
        let x = full.without(&keep);
        if x.names != self.coef_names() {
            return Err(Error::Specification("the new data do not give the fitted model's columns".into()));
        }
        let offset = offset_values(&data.terms, &model_frame)?;
        let covariance = self.vcov();
        let p = x.names.len();
        Ok(model_frame
            .rows()
            .iter()
            .enumerate()
            .map(|(k, &row)| {
                let xi: Vec<f64> = (0..p).map(|j| x.matrix[(k, j)]).collect();
                let eta = xi.iter().zip(self.coef()).map(|(a, b)| a * b).sum::<f64>() + offset[k];
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
