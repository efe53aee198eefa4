//! Exponential-family distributions and link functions for generalised linear models
//! (McCullagh & Nelder 1989, *Generalized Linear Models*, ch. 2; negative binomial as in
//! Venables & Ripley 2002, *MASS*, §7.4).

use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};
use statrs::function::gamma::ln_gamma;

/// A link function `η = g(μ)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    /// `η = μ`.
    Identity,
    /// `η = log μ`.
    Log,
    /// `η = log(μ / (1 − μ))`.
    Logit,
    /// `η = Φ⁻¹(μ)`.
    Probit,
    /// `η = log(−log(1 − μ))`.
    Cloglog,
    /// `η = 1 / μ`.
    Inverse,
}

/// `ln(y!)`, that is `ln Γ(y + 1)`, for a count `y`: from a table for the small whole numbers
/// that counts nearly always are (the same values, computed once), else by `ln_gamma`.
pub fn log_factorial(y: f64) -> f64 {
    const TABLED: usize = 1024;
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    if y >= 0.0 && y < TABLED as f64 && y.fract() == 0.0 {
        TABLE.get_or_init(|| (0..TABLED).map(|k| ln_gamma(k as f64 + 1.0)).collect())[y as usize]
    } else {
        ln_gamma(y + 1.0)
    }
}

fn standard_normal() -> Normal {
    Normal::standard()
}

impl Link {
    /// `g(μ)`.
    pub fn link(self, mu: f64) -> f64 {
        match self {
            Self::Identity => mu,
            Self::Log => mu.ln(),
            Self::Logit => (mu / (1.0 - mu)).ln(),
            Self::Probit => standard_normal().inverse_cdf(mu),
            Self::Cloglog => (-(-mu).ln_1p()).ln(),
            Self::Inverse => 1.0 / mu,
        }
    }

    /// `g⁻¹(η)`, kept inside the open range of the mean for the bounded links as R does.
    pub fn inverse(self, eta: f64) -> f64 {
        const EPS: f64 = f64::EPSILON;
        match self {
            Self::Identity => eta,
            Self::Log => eta.exp().max(EPS),
            Self::Logit => {
                let e = (-eta.abs()).exp();
                let p = if eta >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                p.clamp(EPS, 1.0 - EPS)
            }
            Self::Probit => {
                let threshold = -standard_normal().inverse_cdf(EPS);
                standard_normal().cdf(eta.clamp(-threshold, threshold))
            }
            Self::Cloglog => (-(-eta.exp()).exp_m1()).clamp(EPS, 1.0 - EPS),
            Self::Inverse => 1.0 / eta,
        }
    }

    /// `(g⁻¹(η), dμ/dη)`, equal to [`Link::inverse`] and [`Link::mu_eta_given`] bit for bit, with
    /// the exponential the logit link's two share computed once.
    pub fn inverse_with_derivative(self, eta: f64) -> (f64, f64) {
        const EPS: f64 = f64::EPSILON;
        if self == Self::Logit {
            let e = (-eta.abs()).exp();
            let p = if eta >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            (p.clamp(EPS, 1.0 - EPS), (e / ((1.0 + e) * (1.0 + e))).max(EPS))
        } else {
            let mu = self.inverse(eta);
            (mu, self.mu_eta_given(eta, mu))
        }
    }

    /// `dμ/dη` when μ = g⁻¹(η) is already known (for the log link it is μ itself, which saves
    /// an exponential per observation in IRLS).
    pub fn mu_eta_given(self, eta: f64, mu: f64) -> f64 {
        match self {
            Self::Log => mu.max(f64::EPSILON),
            _ => self.mu_eta(eta),
        }
    }

    /// `dμ/dη`.
    pub fn mu_eta(self, eta: f64) -> f64 {
        const EPS: f64 = f64::EPSILON;
        match self {
            Self::Identity => 1.0,
            Self::Log => eta.exp().max(EPS),
            Self::Logit => {
                let e = (-eta.abs()).exp();
                (e / ((1.0 + e) * (1.0 + e))).max(EPS)
            }
            Self::Probit => standard_normal().pdf(eta).max(EPS),
            Self::Cloglog => {
                let eta = eta.min(700.0);
                (eta.exp() * (-eta.exp()).exp()).max(EPS)
            }
            Self::Inverse => -1.0 / (eta * eta),
        }
    }
}

/// A response distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Family {
    /// Normal errors.
    Gaussian,
    /// Binomial proportions (0/1 or successes out of trials).
    Binomial,
    /// Poisson counts.
    Poisson,
    /// Poisson mean–variance with a dispersion estimated from Pearson's χ².
    QuasiPoisson,
    /// Gamma with constant coefficient of variation.
    Gamma,
    /// Negative binomial with shape `theta`: `Var(Y) = μ + μ²/θ`.
    NegativeBinomial {
        /// The shape θ.
        theta: f64,
    },
}

impl Family {
    /// R's name for the family (`negbin` for the negative binomial, as strata's CLI spells it).
    pub fn name(self) -> &'static str {
        match self {
            Self::Gaussian => "gaussian",
            Self::Binomial => "binomial",
            Self::Poisson => "poisson",
            Self::QuasiPoisson => "quasipoisson",
            Self::Gamma => "gamma",
            Self::NegativeBinomial { .. } => "negbin",
        }
    }

    /// The canonical (or conventional) link: identity, logit, log, log, log, log.
    pub fn default_link(self) -> Link {
        match self {
            Self::Gaussian => Link::Identity,
            Self::Binomial => Link::Logit,
            Self::Poisson | Self::QuasiPoisson | Self::Gamma | Self::NegativeBinomial { .. } => Link::Log,
        }
    }

    /// The IRLS working weight $w\,(d\mu/d\eta)^2 / V(\mu)$ of an observation with prior weight
    /// `prior` (0 for a zero prior weight), given $d = d\mu/d\eta$.
    pub fn working_weight(self, prior: f64, d: f64, mu: f64) -> f64 {
        if prior > 0.0 {
            prior * d * d / self.variance(mu)
        } else {
            0.0
        }
    }

    /// Whether the dispersion is fixed at one (binomial, Poisson, negative binomial).
    pub fn fixed_dispersion(self) -> bool {
        matches!(self, Self::Binomial | Self::Poisson | Self::NegativeBinomial { .. })
    }

    /// `V(μ)`.
    pub fn variance(self, mu: f64) -> f64 {
        match self {
            Self::Gaussian => 1.0,
            Self::Binomial => mu * (1.0 - mu),
            Self::Poisson | Self::QuasiPoisson => mu,
            Self::Gamma => mu * mu,
            Self::NegativeBinomial { theta } => mu + mu * mu / theta,
        }
    }

    /// The unit deviance `d(y, μ)`; the deviance is `Σ wᵢ d(yᵢ, μᵢ)`.
    pub fn unit_deviance(self, y: f64, mu: f64) -> f64 {
        let ylogy = |y: f64, mu: f64| if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
        match self {
            Self::Gaussian => (y - mu) * (y - mu),
            Self::Binomial => 2.0 * (ylogy(y, mu) + ylogy(1.0 - y, 1.0 - mu)),
            Self::Poisson | Self::QuasiPoisson => 2.0 * (ylogy(y, mu) - (y - mu)),
            Self::Gamma => -2.0 * ((y / mu).ln() - (y - mu) / mu),
            Self::NegativeBinomial { theta } => 2.0 * (ylogy(y, mu) - (y + theta) * ((y + theta) / (mu + theta)).ln()),
        }
    }

    /// A starting mean for IRLS, as R's `family$initialize`.
    pub fn start(self, y: f64, weight: f64) -> f64 {
        match self {
            Self::Gaussian | Self::Gamma => y,
            Self::Binomial => (weight * y + 0.5) / (weight + 1.0),
            Self::Poisson | Self::QuasiPoisson => y + 0.1,
            Self::NegativeBinomial { .. } => y + if y == 0.0 { 1.0 / 6.0 } else { 0.0 },
        }
    }

    /// Checks a response value: `Err(reason)` if it is impossible for this family.
    ///
    /// # Errors
    /// A message saying which range the response must lie in.
    pub fn check_response(self, y: f64) -> Result<(), &'static str> {
        match self {
            Self::Binomial if !(0.0..=1.0).contains(&y) => {
                Err("a binomial response must lie in [0, 1] (or use cbind(successes, failures))")
            }
            Self::Poisson | Self::QuasiPoisson | Self::NegativeBinomial { .. } if y < 0.0 => {
                Err("counts must not be negative")
            }
            Self::Gamma if y <= 0.0 => Err("a Gamma response must be positive"),
            _ => Ok(()),
        }
    }

    /// The log-likelihood, as R's `logLik.glm`: `y` responses (proportions for the binomial),
    /// `mu` fitted means, `weights` prior weights (trials × prior weight for the binomial),
    /// `trials` the binomial denominators, `deviance` the model deviance (for the dispersion
    /// of the Gaussian and Gamma families). `None` for quasi families.
    pub fn log_likelihood(self, y: &[f64], mu: &[f64], weights: &[f64], trials: &[f64], deviance: f64) -> Option<f64> {
        use crate::parallel::{sum_blocks, threads};
        let rows = y.len();
        let n = rows as f64;
        // Each observation's term, summed in fixed blocks on every thread.
        let total = |term: &(dyn Fn(usize) -> f64 + Sync)| sum_blocks(rows, threads(), term);
        Some(match self {
            Self::Gaussian => {
                let sum_log_weights = total(&|i| if weights[i] > 0.0 { weights[i].ln() } else { 0.0 });
                -0.5 * (n * ((2.0 * std::f64::consts::PI * deviance / n).ln() + 1.0) - sum_log_weights)
            }
            Self::Binomial => total(&|i| {
                let (y, mu, w, m) = (y[i], mu[i], weights[i], trials[i]);
                if m <= 0.0 {
                    return 0.0;
                }
                let m_round = m.round();
                let k = (m * y).round();
                let log_choose = log_factorial(m_round) - log_factorial(k) - log_factorial(m_round - k);
                let log_p = if k > 0.0 { k * mu.ln() } else { 0.0 };
                let log_q = if m_round - k > 0.0 { (m_round - k) * (1.0 - mu).ln() } else { 0.0 };
                (w / m) * (log_choose + log_p + log_q)
            }),
            Self::Poisson => total(&|i| {
                let (y, mu) = (y[i], mu[i]);
                weights[i] * ((if y > 0.0 { y * mu.ln() } else { 0.0 }) - mu - log_factorial(y))
            }),
            Self::QuasiPoisson => return None,
            Self::Gamma => {
                let dispersion = deviance / weights.iter().sum::<f64>();
                let shape = 1.0 / dispersion;
                total(&|i| {
                    let scale = mu[i] * dispersion;
                    weights[i] * ((shape - 1.0) * y[i].ln() - y[i] / scale - ln_gamma(shape) - shape * scale.ln())
                })
            }
            Self::NegativeBinomial { theta } => total(&|i| {
                let (y, mu) = (y[i], mu[i]);
                weights[i]
                    * (ln_gamma(theta + y) - ln_gamma(theta) - log_factorial(y)
                        + theta * theta.ln()
                        + if y > 0.0 { y * mu.ln() } else { 0.0 }
                        - (theta + y) * (theta + mu).ln())
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_and_its_derivative_together_are_those_apart() {
        for link in [Link::Identity, Link::Log, Link::Logit, Link::Probit, Link::Cloglog, Link::Inverse] {
            for eta in [-40.0, -3.2, -0.4, 0.0, 0.7, 2.5, 40.0] {
                let mu = link.inverse(eta);
                let (together, d) = link.inverse_with_derivative(eta);
                assert_eq!((together.to_bits(), d.to_bits()), (mu.to_bits(), link.mu_eta_given(eta, mu).to_bits()));
            }
        }
    }

    #[test]
    fn links_invert_and_differentiate() {
        for link in [Link::Identity, Link::Log, Link::Logit, Link::Probit, Link::Cloglog, Link::Inverse] {
            for mu in [0.1, 0.35, 0.8] {
                let eta = link.link(mu);
                // statrs' normal quantile is accurate to about 1e-11.
                assert!((link.inverse(eta) - mu).abs() < 1e-10, "{link:?} {mu}");
                let h = 1e-6;
                let numeric = (link.inverse(eta + h) - link.inverse(eta - h)) / (2.0 * h);
                assert!((link.mu_eta(eta) - numeric).abs() < 1e-7, "{link:?} {mu}");
            }
        }
    }

    #[test]
    fn poisson_log_likelihood_matches_dpois() {
        // dpois(3, 2.5, log = TRUE) in R: -1.53347...
        let ll = Family::Poisson.log_likelihood(&[3.0], &[2.5], &[1.0], &[1.0], 0.0).unwrap();
        assert!((ll - (3.0 * 2.5f64.ln() - 2.5 - 6f64.ln())).abs() < 1e-14);
    }
}
