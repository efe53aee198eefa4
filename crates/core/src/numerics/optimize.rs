//! Optimisers that report their convergence as data.
//!
//! - [`minimize_bobyqa`]: Powell's (2009) BOBYQA, derivative-free with bounds, as lme4 and
//!   MixedModels.jl use for the profiled deviance of mixed models (the `bobyqa` crate, a port
//!   of PRIMA).
//! - [`minimize_quasi_newton`]: BFGS with a backtracking Armijo line search (Nocedal & Wright
//!   2006, algorithms 6.1 and 3.1) for smooth objectives with gradients.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How an optimisation ended: the data a user needs to judge a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Which optimiser ran.
    pub optimizer: String,
    /// Whether it met its convergence criterion.
    pub converged: bool,
    /// Iterations (or objective evaluations for derivative-free methods).
    pub iterations: usize,
    /// Objective evaluations.
    pub evaluations: usize,
    /// The final objective value.
    pub objective: f64,
    /// Norm of the final gradient, where gradients are known.
    pub gradient_norm: Option<f64>,
    /// Why it stopped.
    pub message: String,
    /// Warnings such as a singular fit or a boundary estimate.
    pub warnings: Vec<crate::Warning>,
}

/// Knobs for [`minimize_bobyqa`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BobyqaControl {
    /// Initial trust-region radius.
    pub rho_begin: f64,
    /// Final trust-region radius (the accuracy in the parameters).
    pub rho_end: f64,
    /// Evaluation budget.
    pub max_evaluations: usize,
}

impl Default for BobyqaControl {
    fn default() -> Self {
        Self { rho_begin: 0.2, rho_end: 2e-7, max_evaluations: 10_000 }
    }
}

/// Minimises `f` over the box `lower ≤ x ≤ upper` from `x` (overwritten with the minimiser).
///
/// # Errors
/// [`Error::InvalidArgument`] for inconsistent bounds or sizes.
pub fn minimize_bobyqa(
    f: impl FnMut(&[f64]) -> f64,
    x: &mut [f64],
    lower: &[f64],
    upper: &[f64],
    control: &BobyqaControl,
) -> Result<Convergence> {
    let n = x.len();
    let mut config = bobyqa::Config::new(n);
    let width = lower.iter().zip(upper).map(|(l, u)| u - l).fold(f64::INFINITY, f64::min);
    config.rho_begin = control.rho_begin.min(width / 2.0);
    config.rho_end = control.rho_end.min(config.rho_begin);
    config.max_fun = control.max_evaluations.max(config.npt + 1);
    let mut solver = bobyqa::Bobyqa::new(n, config).map_err(|s| Error::InvalidArgument(format!("BOBYQA: {s}")))?;
    let outcome = solver.minimize(f, x, lower, upper);
    let converged = matches!(outcome.status, bobyqa::Status::Converged | bobyqa::Status::FtolReached);
    if outcome.status == bobyqa::Status::InvalidArgs {
        return Err(Error::InvalidArgument("BOBYQA: invalid bounds or starting point".into()));
    }
    Ok(Convergence {
        optimizer: "BOBYQA".into(),
        converged: converged && outcome.found_finite(),
        iterations: outcome.n_eval,
        evaluations: outcome.n_eval,
        objective: outcome.f,
        gradient_norm: None,
        message: outcome.status.to_string(),
        warnings: Vec::new(),
    })
}

/// Knobs for [`minimize_quasi_newton`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuasiNewtonControl {
    /// Stop when the gradient's infinity norm falls below this.
    pub gradient_tolerance: f64,
    /// Stop when the relative change in the objective falls below this.
    pub relative_tolerance: f64,
    /// Iteration limit.
    pub max_iterations: usize,
}

impl Default for QuasiNewtonControl {
    fn default() -> Self {
        Self { gradient_tolerance: 1e-8, relative_tolerance: 1e-14, max_iterations: 500 }
    }
}

/// Minimises a smooth `f` given `f_and_gradient(x) -> (f, ∇f)`, from `x` (overwritten).
/// Non-finite values are treated as infinitely bad, so the line search backs away from them.
pub fn minimize_quasi_newton(
    mut f_and_gradient: impl FnMut(&[f64]) -> (f64, Vec<f64>),
    x: &mut [f64],
    control: &QuasiNewtonControl,
) -> Convergence {
    let n = x.len();
    let (mut fx, mut g) = f_and_gradient(x);
    let mut evaluations = 1;
    let mut h = vec![vec![0.0; n]; n];
    for (i, row) in h.iter_mut().enumerate() {
        row[i] = 1.0 / g.iter().map(|v| v.abs()).fold(1.0, f64::max);
    }
    let norm = |g: &[f64]| g.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let mut message = "iteration limit reached".to_string();
    let mut converged = false;
    let mut iterations = 0;
    while iterations < control.max_iterations {
        if norm(&g) < control.gradient_tolerance {
            converged = true;
            message = "gradient below tolerance".into();
            break;
        }
        iterations += 1;
        let direction: Vec<f64> = (0..n).map(|i| -(0..n).map(|j| h[i][j] * g[j]).sum::<f64>()).collect();
        let mut slope: f64 = direction.iter().zip(&g).map(|(d, g)| d * g).sum();
        let direction = if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            for (i, row) in h.iter_mut().enumerate() {
                row.fill(0.0);
                row[i] = 1.0;
            }
            slope = -g.iter().map(|v| v * v).sum::<f64>();
            g.iter().map(|v| -v).collect()
        } else {
            direction
        };
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let trial: Vec<f64> = x.iter().zip(&direction).map(|(a, d)| a + step * d).collect();
            let (ft, gt) = f_and_gradient(&trial);
            evaluations += 1;
            if ft.is_finite() && ft <= fx + 1e-4 * step * slope && gt.iter().all(|v| v.is_finite()) {
                accepted = Some((trial, ft, gt));
                break;
            }
            step *= 0.5;
        }
        let Some((trial, ft, gt)) = accepted else {
            converged = norm(&g) < control.gradient_tolerance.sqrt();
            message = "line search could not reduce the objective".into();
            break;
        };
        let s: Vec<f64> = trial.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gt.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        let change = (fx - ft).abs() / (fx.abs() + 1e-10);
        x.copy_from_slice(&trial);
        fx = ft;
        g = gt;
        if sy > 1e-12 {
            let hy: Vec<f64> = (0..n).map(|i| (0..n).map(|j| h[i][j] * y[j]).sum()).collect();
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i][j] += ((sy + yhy) * s[i] * s[j]) / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
        }
        if change < control.relative_tolerance && norm(&g) < control.gradient_tolerance.sqrt() {
            converged = true;
            message = "relative change in the objective below tolerance".into();
            break;
        }
    }
    Convergence {
        optimizer: "BFGS".into(),
        converged,
        iterations,
        evaluations,
        objective: fx,
        gradient_norm: Some(norm(&g)),
        message,
        warnings: Vec::new(),
    }
}

/// Minimises a function of one variable on `[a, b]` by Brent's (1973, *Algorithms for
/// Minimization without Derivatives*, ch. 5) method — golden-section steps, parabolic
/// interpolation when it is safe — to an absolute accuracy `tolerance` in x. Returns the
/// minimiser and the minimum.
pub fn minimize_scalar(mut f: impl FnMut(f64) -> f64, a: f64, b: f64, tolerance: f64) -> (f64, f64) {
    let golden = (3.0 - 5f64.sqrt()) / 2.0;
    let (mut a, mut b) = (a.min(b), a.max(b));
    let mut x = a + golden * (b - a);
    let (mut w, mut v) = (x, x);
    let mut fx = f(x);
    let (mut fw, mut fv) = (fx, fx);
    let (mut d, mut e): (f64, f64) = (0.0, 0.0);
    for _ in 0..500 {
        let middle = f64::midpoint(a, b);
        let tol1 = f64::EPSILON.sqrt() * x.abs() + tolerance / 3.0;
        let tol2 = 2.0 * tol1;
        if (x - middle).abs() <= tol2 - (b - a) / 2.0 {
            break;
        }
        let mut parabolic = false;
        if e.abs() > tol1 {
            // The parabola through (v, fv), (w, fw), (x, fx): its minimum is x + p/q.
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            if p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (b - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = if x < middle { tol1 } else { -tol1 };
                }
                parabolic = true;
            }
        }
        if !parabolic {
            e = if x < middle { b - x } else { a - x };
            d = golden * e;
        }
        let u = x + if d.abs() >= tol1 { d } else { tol1.copysign(d) };
        let fu = f(u);
        if fu <= fx {
            if u < x {
                b = x;
            } else {
                a = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
}

/// The Hessian of `f` at `x` by central differences of `f` itself (no nested gradients), with
/// steps `relative_step × max(|xᵢ|, 0.1)`; `None` if an evaluation fails.
pub fn finite_difference_hessian(
    f: &dyn Fn(&[f64]) -> Option<f64>,
    x: &[f64],
    relative_step: f64,
) -> Option<crate::numerics::Matrix> {
    finite_difference_derivatives(f, x, relative_step).map(|(_, hessian)| hessian)
}

/// The gradient and Hessian of `f` at `x` by central differences of `f` itself, with steps
/// $h_i$ = `relative_step` × max(|xᵢ|, 0.1): the gradient $(f_{+i} - f_{-i}) / 2h_i$ and the
/// diagonal $(f_{+i} - 2f_0 + f_{-i}) / h_i^2$ from the same evaluations, and each off-diagonal
/// element from two more,
/// $H_{ij} = (f_{+i+j} + f_{-i-j} - f_{+i} - f_{-i} - f_{+j} - f_{-j} + 2f_0) / 2h_ih_j$, which is
/// exact for a quadratic and errs by $O(h^2)$ as the four-point formula does (Abramowitz &
/// Stegun 1964, 25.3.27) — 1 + k + k² evaluations in all instead of 1 + 2k². `None` if an
/// evaluation fails.
pub fn finite_difference_derivatives(
    f: &dyn Fn(&[f64]) -> Option<f64>,
    x: &[f64],
    relative_step: f64,
) -> Option<(Vec<f64>, crate::numerics::Matrix)> {
    let k = x.len();
    let step: Vec<f64> = x.iter().map(|v| relative_step * v.abs().max(0.1)).collect();
    let at = |shifts: &[(usize, f64)]| -> Option<f64> {
        let mut y = x.to_vec();
        for &(i, s) in shifts {
            y[i] += s;
        }
        f(&y)
    };
    let centre = at(&[])?;
    let mut gradient = vec![0.0; k];
    let mut hessian = crate::numerics::Matrix::zeros(k, k);
    // f(x ± hᵢeᵢ) − f(x), whose sums the off-diagonal elements need.
    let mut plus_minus = Vec::with_capacity(k);
    for i in 0..k {
        let (plus, minus) = (at(&[(i, step[i])])?, at(&[(i, -step[i])])?);
        gradient[i] = (plus - minus) / (2.0 * step[i]);
        hessian[(i, i)] = (plus - 2.0 * centre + minus) / (step[i] * step[i]);
        plus_minus.push(plus - centre + (minus - centre));
        for j in 0..i {
            let both = at(&[(i, step[i]), (j, step[j])])? - centre + (at(&[(i, -step[i]), (j, -step[j])])? - centre);
            let value = (both - plus_minus[i] - plus_minus[j]) / (2.0 * step[i] * step[j]);
            hessian[(i, j)] = value;
            hessian[(j, i)] = value;
        }
    }
    Some((gradient, hessian))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_the_minimum_of_a_smooth_function() {
        // (x − ln 3)² + cosh-like curvature: minimum at ln 3.
        let (x, fx) = minimize_scalar(|x: f64| (x - 3f64.ln()).powi(2) + 2.0, -5.0, 5.0, 1e-10);
        assert!((x - 3f64.ln()).abs() < 1e-8 && (fx - 2.0).abs() < 1e-15, "{x}");
        // A minimum at the edge of the interval is approached to within the tolerance.
        let (x, _) = minimize_scalar(|x: f64| x, 0.0, 1.0, 1e-8);
        assert!(x < 1e-6, "{x}");
    }

    #[test]
    fn the_hessian_of_a_quadratic_is_exact() {
        let f = |x: &[f64]| Some(3.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 0.5 * x[1] * x[1]);
        let h = finite_difference_hessian(&f, &[0.3, -1.2], 1e-3).unwrap();
        assert!((h[(0, 0)] - 6.0).abs() < 1e-6 && (h[(0, 1)] - 2.0).abs() < 1e-6 && (h[(1, 1)] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn the_gradient_of_a_cubic_errs_by_the_step_squared() {
        // ∇f = (3x₀² + 2x₁, 2x₀ + x₁); central differences err by h² (f₀₀₀ / 6) on the first.
        let f = |x: &[f64]| Some(x[0].powi(3) + 2.0 * x[0] * x[1] + 0.5 * x[1] * x[1]);
        let (g, h) = finite_difference_derivatives(&f, &[0.3, -1.2], 1e-3).unwrap();
        assert!((g[0] - (0.27 - 2.4)).abs() < 1e-6 && (g[1] - (0.6 - 1.2)).abs() < 1e-9, "{g:?}");
        assert!((h[(0, 0)] - 1.8).abs() < 1e-6 && (h[(0, 1)] - 2.0).abs() < 1e-6, "{h:?}");
    }

    #[test]
    fn bobyqa_finds_a_bounded_minimum() {
        let mut x = [0.5, 0.5];
        let result = minimize_bobyqa(
            |x| (x[0] - 2.0).powi(2) + (x[1] + 1.0).powi(2),
            &mut x,
            &[0.0, 0.0],
            &[1.0, 3.0],
            &BobyqaControl::default(),
        )
        .unwrap();
        assert!(result.converged);
        assert!((x[0] - 1.0).abs() < 1e-6 && x[1].abs() < 1e-6, "{x:?}");
        assert!((result.objective - 2.0).abs() < 1e-10);
    }

    #[test]
    fn quasi_newton_minimises_rosenbrock() {
        let mut x = [-1.2, 1.0];
        let result = minimize_quasi_newton(
            |x| {
                let f = (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
                let g = vec![-2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]), 200.0 * (x[1] - x[0] * x[0])];
                (f, g)
            },
            &mut x,
            &QuasiNewtonControl::default(),
        );
        assert!(result.converged, "{result:?}");
        assert!((x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6, "{x:?}");
    }
}
