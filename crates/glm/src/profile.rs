//! Profile-likelihood confidence intervals for GLM coefficients (Venables & Ripley 2002, §8.4;
//! R's `confint` for `glm` objects): for coefficient j, the signed root
//! $z(b) = \operatorname{sign}(b - \hat\beta_j)\sqrt{(D(b) - \hat D)/\hat\phi}$ of the deviance
//! $D(b)$ maximised over the other coefficients with $\beta_j = b$ fixed (as an offset), and the
//! interval is where $|z| \le z_{1-\alpha/2}$ (or Student's t for families with an estimated
//! dispersion). The negative binomial θ is held at its estimate, as `MASS` does.

use super::fit::GlmFit;
use super::irls::{deviance, irls};
use super::GlmControl;
use crate::error::{Error, Result};
use statrs::distribution::{ContinuousCDF, StudentsT};
use strata_core::numerics::Matrix;
use strata_core::results::{normal_quantile, FittedModel};

impl GlmFit {
    /// Profile-likelihood intervals at `level` for every coefficient, as `(lower, upper)`.
    ///
    /// # Errors
    /// [`Error::Fit`] if a constrained fit fails or a limit cannot be bracketed (a coefficient
    /// whose likelihood never falls far enough, as under separation).
    pub fn profile_conf_int(&self, level: f64) -> Result<Vec<(f64, f64)>> {
        let data = self.data();
        let x = &data.x.matrix;
        let (n, p) = (x.nrows(), x.ncols());
        let critical = if self.family().fixed_dispersion() {
            normal_quantile(0.5 + level / 2.0)
        } else {
            StudentsT::new(0.0, 1.0, self.df_residual() as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.5 + level / 2.0))
        };
        let control = GlmControl { epsilon: 1e-12, ..GlmControl::default() };
        let minimum = self.deviance();
        let dispersion = self.dispersion();
        let std_errors = self.std_errors();
        let mut out = Vec::with_capacity(p);
        for j in 0..p {
            let others: Vec<usize> = (0..p).filter(|&k| k != j).collect();
            let reduced = Matrix::from_fn(n, others.len(), |i, k| x[(i, others[k])]);
            let column = x.column(j);
            let estimate = self.coef()[j];
            let signed_root = |b: f64| -> Result<f64> {
                let offset: Vec<f64> = data.offset.iter().zip(column).map(|(o, xj)| o + b * xj).collect();
                let value = if others.is_empty() {
                    let link = self.link();
                    deviance(self.family(), &data.y, &data.weights, |i| link.inverse(offset[i]))
                } else {
                    irls(
                        &reduced,
                        &data.y,
                        &data.weights,
                        &offset,
                        self.family(),
                        self.link(),
                        Some(self.linear_predictor()),
                        &control,
                    )?
                    .deviance
                };
                Ok((b - estimate).signum() * ((value - minimum).max(0.0) / dispersion).sqrt())
            };
            let mut limits = [0.0; 2];
            for (side, direction) in [-1.0f64, 1.0].into_iter().enumerate() {
                // Bracket the crossing by stepping out in standard errors, then bisect.
                let target = direction * critical;
                let (mut inner, mut outer) = (estimate, estimate + direction * std_errors[j]);
                let mut steps = 0;
                while (signed_root(outer)? - target) * direction < 0.0 {
                    inner = outer;
                    outer += direction * std_errors[j];
                    steps += 1;
                    if steps > 50 {
                        return Err(Error::Fit(format!(
                            "the profile of `{}` does not reach the interval limit",
                            self.coef_names()[j]
                        )));
                    }
                }
                for _ in 0..60 {
                    let middle = f64::midpoint(inner, outer);
                    if (signed_root(middle)? - target) * direction < 0.0 {
                        inner = middle;
                    } else {
                        outer = middle;
                    }
                    if (outer - inner).abs() < 1e-10 * (1.0 + estimate.abs()) {
                        break;
                    }
                }
                limits[side] = f64::midpoint(inner, outer);
            }
            out.push((limits[0], limits[1]));
        }
        Ok(out)
    }
}
