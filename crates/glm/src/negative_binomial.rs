//! Negative binomial GLMs with θ estimated by maximum likelihood: alternate IRLS for β given θ
//! with Newton's method for θ given the fitted means (Venables & Ripley 2002, §7.4).
//!
//! The score and information of θ, for weights $w_i$:
//! $U(\theta) = \sum_i w_i\{\psi(\theta + y_i) - \psi(\theta) + \log\theta + 1 - \log(\theta + \mu_i) - (y_i + \theta)/(\mu_i + \theta)\}$,
//! $I(\theta) = \sum_i w_i\{-\psi'(\theta + y_i) + \psi'(\theta) - 1/\theta + 2/(\mu_i + \theta) - (y_i + \theta)/(\mu_i + \theta)^2\}$,
//! and the standard error of $\hat\theta$ is $I(\hat\theta)^{-1/2}$.

use super::fit::GlmFit;
use super::irls::{fit_fixed, GlmData};
use super::GlmEngine;
use crate::error::{Error, Result};
use std::sync::Arc;
use strata_core::family::Family;
use strata_core::numerics::{digamma, trigamma};

fn score_and_information(theta: f64, y: &[f64], mu: &[f64], weights: &[f64]) -> (f64, f64) {
    let mut score = 0.0;
    let mut information = 0.0;
    for ((&y, &mu), &w) in y.iter().zip(mu).zip(weights) {
        if w == 0.0 {
            continue;
        }
        score += w
            * (digamma(theta + y) - digamma(theta) + theta.ln() + 1.0 - (theta + mu).ln() - (y + theta) / (mu + theta));
        information += w
            * (-trigamma(theta + y) + trigamma(theta) - 1.0 / theta + 2.0 / (mu + theta)
                - (y + theta) / ((mu + theta) * (mu + theta)));
    }
    (score, information)
}

/// The maximum-likelihood θ given fitted means, by Newton's method from `start` (or the
/// moment estimate), with its standard error (MASS's `theta.ml`).
///
/// # Errors
/// [`Error::Fit`] when θ grows without bound (no overdispersion) or Newton's method does not
/// converge.
pub fn theta_ml(y: &[f64], mu: &[f64], weights: &[f64], start: Option<f64>) -> Result<(f64, f64)> {
    let total: f64 = weights.iter().sum();
    let mut theta = start.unwrap_or_else(|| {
        let moment: f64 = y.iter().zip(mu).zip(weights).map(|((y, mu), w)| w * (y / mu - 1.0).powi(2)).sum();
        total / moment
    });
    if !(theta.is_finite() && theta > 0.0) {
        theta = 1.0;
    }
    for _ in 0..100 {
        let (score, information) = score_and_information(theta, y, mu, weights);
        let mut step = score / information;
        while theta + step <= 0.0 {
            step /= 2.0;
        }
        theta += step;
        if step.abs() < 1e-12 * theta.max(1.0) {
            let (_, information) = score_and_information(theta, y, mu, weights);
            return Ok((theta, (1.0 / information).sqrt()));
        }
        if theta > 1e10 {
            return Err(Error::Fit(
                "θ grows without bound: the counts show no overdispersion; fit a Poisson model instead".into(),
            ));
        }
    }
    Err(Error::Fit("the estimate of θ did not converge".into()))
}

/// Fits β and θ by alternation, starting from a Poisson fit.
pub(crate) fn fit(engine: &GlmEngine, data: &Arc<GlmData>) -> Result<GlmFit> {
    let poisson = fit_fixed(engine, data, Family::Poisson, None)?;
    let mut theta = theta_ml(&data.y, poisson.fitted(), &data.weights, None)?.0;
    let mut eta = poisson.linear_predictor().to_vec();
    let mut previous_deviance = f64::INFINITY;
    for iteration in 1..=100 {
        let fit = fit_fixed(engine, data, Family::NegativeBinomial { theta }, Some(&eta))?;
        let (next, std_error) = theta_ml(&data.y, fit.fitted(), &data.weights, Some(theta))?;
        let change =
            (next - theta).abs() / theta + (fit.deviance() - previous_deviance).abs() / (fit.deviance().abs() + 0.1);
        theta = next;
        eta = fit.linear_predictor().to_vec();
        previous_deviance = fit.deviance();
        if change < 1e-10 {
            // Refit at the final θ so β, the deviance and the likelihood all belong to it.
            let fit = fit_fixed(engine, data, Family::NegativeBinomial { theta }, Some(&eta))?;
            return Ok(fit.with_theta(theta, std_error, iteration, true));
        }
    }
    let fit = fit_fixed(engine, data, Family::NegativeBinomial { theta }, Some(&eta))?;
    let (_, std_error) = theta_ml(&data.y, fit.fitted(), &data.weights, Some(theta))?;
    Ok(fit.with_theta(theta, std_error, 100, false))
}
