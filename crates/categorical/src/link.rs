//! Links of cumulative models: $P(Y \le j) = F(\theta_j - \eta)$ with $F$ the logistic, normal or
//! Gumbel-minimum (complementary log-log) distribution function.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// The inverse link $F$ of a cumulative link model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CumulativeLink {
    /// Proportional odds: $F(z) = 1/(1 + e^{-z})$.
    #[default]
    Logit,
    /// $F = \Phi$.
    Probit,
    /// Proportional hazards in discrete time: $F(z) = 1 - \exp(-e^{z})$.
    Cloglog,
}

impl CumulativeLink {
    /// R's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Logit => "logit",
            Self::Probit => "probit",
            Self::Cloglog => "cloglog",
        }
    }

    /// Parses R's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "logit" => Some(Self::Logit),
            "probit" => Some(Self::Probit),
            "cloglog" => Some(Self::Cloglog),
            _ => None,
        }
    }

    /// $F(z)$.
    pub fn cdf(self, z: f64) -> f64 {
        match self {
            Self::Logit => 1.0 / (1.0 + (-z).exp()),
            Self::Probit => Normal::standard().cdf(z),
            Self::Cloglog => -(-z.exp()).exp_m1(),
        }
    }

    /// $1 - F(z)$, accurate where $F(z)$ is close to one.
    pub fn survival(self, z: f64) -> f64 {
        match self {
            Self::Logit => 1.0 / (1.0 + z.exp()),
            Self::Probit => Normal::standard().cdf(-z),
            Self::Cloglog => (-z.exp()).exp(),
        }
    }

    /// The density $f = F'$.
    pub fn density(self, z: f64) -> f64 {
        match self {
            Self::Logit => {
                let e = (-z.abs()).exp();
                e / ((1.0 + e) * (1.0 + e))
            }
            Self::Probit => Normal::standard().pdf(z),
            Self::Cloglog => {
                if z > 700.0 {
                    0.0
                } else {
                    (z - z.exp()).exp()
                }
            }
        }
    }

    /// $f'$.
    pub fn density_derivative(self, z: f64) -> f64 {
        let f = self.density(z);
        match self {
            Self::Logit => f * (self.survival(z) - self.cdf(z)),
            Self::Probit => -z * f,
            Self::Cloglog => f * (1.0 - z.exp()),
        }
    }

    /// $F^{-1}(p)$.
    pub fn quantile(self, p: f64) -> f64 {
        match self {
            Self::Logit => (p / (1.0 - p)).ln(),
            Self::Probit => Normal::standard().inverse_cdf(p),
            Self::Cloglog => (-(-p).ln_1p()).ln(),
        }
    }

    /// $F(z)$, $1 - F(z)$, $f(z)$ and $f'(z)$ together, with one exponential for the logit.
    pub fn values(self, z: f64) -> LinkValues {
        match self {
            Self::Logit => {
                let e = (-z.abs()).exp();
                let (small, large) = (e / (1.0 + e), 1.0 / (1.0 + e));
                let (cdf, survival) = if z >= 0.0 { (large, small) } else { (small, large) };
                let density = small * large;
                LinkValues { cdf, survival, density, density_derivative: density * (survival - cdf) }
            }
            _ => LinkValues {
                cdf: self.cdf(z),
                survival: self.survival(z),
                density: self.density(z),
                density_derivative: self.density_derivative(z),
            },
        }
    }

    /// $P(b < Z \le a) = F(a) - F(b)$ for $b < a$ (either may be infinite), computed in the
    /// tail where it loses no precision.
    pub fn interval(self, a: f64, b: f64) -> f64 {
        if b > 0.0 {
            self.survival(b) - self.survival(a)
        } else {
            self.cdf(a) - self.cdf(b)
        }
    }
}

/// A link's distribution function, its complement, density and the density's derivative at
/// one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkValues {
    /// $F(z)$.
    pub cdf: f64,
    /// $1 - F(z)$.
    pub survival: f64,
    /// $f(z)$.
    pub density: f64,
    /// $f'(z)$.
    pub density_derivative: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Densities are derivatives of the distribution functions, and so on down.
    #[test]
    fn derivatives_agree_with_differences() {
        for link in [CumulativeLink::Logit, CumulativeLink::Probit, CumulativeLink::Cloglog] {
            for z in [-3.0, -0.7, 0.0, 0.4, 2.5] {
                let h = 1e-6;
                let density = (link.cdf(z + h) - link.cdf(z - h)) / (2.0 * h);
                assert!((link.density(z) - density).abs() < 1e-8, "{link:?} {z}");
                let slope = (link.density(z + h) - link.density(z - h)) / (2.0 * h);
                assert!((link.density_derivative(z) - slope).abs() < 1e-7, "{link:?} {z}");
                assert!((link.cdf(z) + link.survival(z) - 1.0).abs() < 1e-15);
                assert!((link.quantile(link.cdf(z)) - z).abs() < 1e-9, "{link:?} {z}");
                let v = link.values(z);
                assert!((v.cdf - link.cdf(z)).abs() < 1e-15 && (v.survival - link.survival(z)).abs() < 1e-15);
                assert!((v.density - link.density(z)).abs() < 1e-15);
                assert!((v.density_derivative - link.density_derivative(z)).abs() < 1e-15);
            }
        }
    }
}
