//! The Laplace and adaptive Gauss–Hermite approximations of a GLMM's deviance at (θ, β): the
//! conditional mode by penalised IRLS, warm-started from the last mode found.

use super::engine::GlmmData;
use crate::error::Result;
use crate::pls::CrossProducts;
use crate::random_effects::RandomEffects;
use strata_core::family::{Family, Link};
use strata_core::numerics::Matrix;
use strata_core::parallel::{fill_columns_and_sum, threads};

pub(super) struct Problem<'a> {
    pub(super) family: Family,
    pub(super) link: Link,
    pub(super) x: &'a Matrix,
    pub(super) data: &'a GlmmData,
    pub(super) random: &'a RandomEffects,
    /// The last mode found (u, β): the optimisers move in small steps, so PIRLS starts there.
    pub(super) warm: std::cell::RefCell<Option<(Vec<f64>, Vec<f64>)>>,
    /// `−2 log p(y | y)` of the saturated model.
    pub(super) saturated: f64,
    /// Arrays of one value per observation that points no longer need: PIRLS visits hundreds
    /// of points, and each fresh array of the observations' length costs its page faults
    /// (with their zeroing, a seventh of the CPU time of the 200,000-child binomial benchmark in
    /// perf's samples before they were reused).
    spare: std::cell::RefCell<Vec<Vec<f64>>>,
}

impl<'a> Problem<'a> {
    pub(super) fn new(
        family: Family,
        link: Link,
        x: &'a Matrix,
        data: &'a GlmmData,
        random: &'a RandomEffects,
    ) -> Self {
        let saturated =
            -2.0 * family.log_likelihood(&data.y, &data.y, &data.weights, &data.trials, 0.0).unwrap_or(f64::NAN);
        Self {
            family,
            link,
            x,
            data,
            random,
            warm: std::cell::RefCell::new(None),
            saturated,
            spare: std::cell::RefCell::default(),
        }
    }
}

/// A full Newton step of PIRLS (canonical link) that changed the penalised deviance by less than
/// this, relatively, leaves an error of about its square (the next change was 1 to 15 times the
/// square on the 200,000-child benchmark): PIRLS stops there instead of taking one more step to
/// see the change vanish. Many calls end a step sooner; the deviance at the optimum is the same
/// to 1e-14 relatively. Looser (1e-8) leaves the deviance rough enough to cost the optimiser
/// evaluations.
const NEWTON_STOP: f64 = 1e-10;

/// Any other step stops PIRLS once it changes the penalised deviance by less than this.
const CHANGE_STOP: f64 = 1e-13;

/// Starts for PIRLS near a point of (θ, β) — the points of a finite-difference stencil around
/// it, or a short step from it — from the modes found at the point itself and at shifts of one
/// parameter. Along each shifted parameter the mode is taken to move in proportion to the shift,
/// as it did to the mode recorded on that side (or, mirrored, on the other): at a stencil's
/// points that predicts the mode to second order in the steps, where the last mode found, the
/// usual start, is a whole step away, so PIRLS stops a step sooner (on the 200,000-child
/// benchmark the derivatives' 21 evaluations took 46 PIRLS points instead of 62).
pub(super) struct ModeForecast {
    centre: Vec<f64>,
    /// The mode u at the centre.
    at_centre: Option<Vec<f64>>,
    /// For each parameter, the shift and mode recorded above the centre and below it.
    sides: Vec<[Option<Shifted>; 2]>,
}

/// A shift of one parameter from the centre and the mode there.
type Shifted = (f64, Vec<f64>);

impl ModeForecast {
    /// A forecast around `centre`, nothing recorded yet.
    pub(super) fn new(centre: &[f64]) -> Self {
        Self { centre: centre.to_vec(), at_centre: None, sides: vec![[None, None]; centre.len()] }
    }

    /// The mode predicted at `x`: the centre's, moved along each parameter shifted by the shift
    /// over that of the side recorded times the mode's move there; `None` at the centre itself
    /// or where a shifted parameter has no side recorded.
    pub(super) fn predict(&self, x: &[f64]) -> Option<Vec<f64>> {
        let centre = self.at_centre.as_ref()?;
        let mut u = centre.clone();
        let mut shifted = false;
        for ((&value, &middle), sides) in x.iter().zip(&self.centre).zip(&self.sides) {
            let shift = value - middle;
            if shift == 0.0 {
                continue;
            }
            let (recorded, mode) =
                sides[usize::from(shift < 0.0)].as_ref().or(sides[usize::from(shift > 0.0)].as_ref())?;
            let scale = shift / recorded;
            for (v, (m, c)) in u.iter_mut().zip(mode.iter().zip(centre)) {
                *v += scale * (m - c);
            }
            shifted = true;
        }
        shifted.then_some(u)
    }

    /// Records the mode `u` found at `x` when `x` is the centre or a shift of one parameter.
    pub(super) fn record(&mut self, x: &[f64], u: &[f64]) {
        let mut shifts = x.iter().zip(&self.centre).enumerate().filter(|(_, (a, b))| a != b);
        match (shifts.next(), shifts.next()) {
            (None, _) => self.at_centre = Some(u.to_vec()),
            (Some((i, (value, middle))), None) => {
                let shift = value - middle;
                self.sides[i][usize::from(shift < 0.0)] = Some((shift, u.to_vec()));
            }
            _ => {}
        }
    }
}

/// The conditional mode at one (θ, β).
pub(super) struct Mode {
    pub(super) beta: Vec<f64>,
    pub(super) u: Vec<f64>,
    pub(super) mu: Vec<f64>,
    pub(super) weights: Vec<f64>,
    /// The deviance $\sum_i w_i d(y_i, \mu_i)$ at the mode.
    pub(super) deviance: f64,
    pub(super) log_det_l: f64,
}

/// A point of PIRLS: (u, β), the means, working weights and working response there, and the
/// deviance.
struct Point {
    u: Vec<f64>,
    beta: Vec<f64>,
    mu: Vec<f64>,
    weights: Vec<f64>,
    /// The working response less the part of η that PIRLS holds fixed (`base`).
    target: Vec<f64>,
    deviance: f64,
}

impl Point {
    fn penalised_deviance(&self) -> f64 {
        self.deviance + self.u.iter().map(|v| v * v).sum::<f64>()
    }
}

impl Problem<'_> {
    /// An array of one value per observation, its values whatever they were: a spare one, or
    /// a new one.
    fn array(&self) -> Vec<f64> {
        self.spare.borrow_mut().pop().unwrap_or_else(|| vec![0.0; self.data.y.len()])
    }

    /// Keeps a point's arrays for the next points.
    fn recycle(&self, point: Point) {
        self.spare.borrow_mut().extend([point.mu, point.weights, point.target]);
    }

    /// Keeps a mode's arrays for the next points, once its value is taken.
    fn recycle_mode(&self, mode: Mode) {
        self.spare.borrow_mut().extend([mode.mu, mode.weights]);
    }

    /// The point (u, β) whose linear predictor is `eta(i)`, the working response measured from
    /// `base`: μ, the working weights and response, and each unit deviance in one pass over the
    /// observations on every thread (the deviance summed in fixed blocks).
    fn point(&self, u: Vec<f64>, beta: Vec<f64>, base: &[f64], eta: impl Fn(usize) -> f64 + Sync) -> Point {
        let (link, family, data) = (self.link, self.family, self.data);
        let (mut mu, mut weights, mut target) = (self.array(), self.array(), self.array());
        // The working weights and response share dμ/dη: one evaluation per observation.
        let deviance = fill_columns_and_sum([&mut mu, &mut weights, &mut target], threads(), |i| {
            let eta = eta(i);
            let (mu, d) = link.inverse_with_derivative(eta);
            let weight = family.working_weight(data.weights[i], d, mu);
            let target = eta - base[i] + (data.y[i] - mu) / d;
            ([mu, weight, target], data.weights[i] * family.unit_deviance(data.y[i], mu))
        });
        Point { u, beta, mu, weights, target, deviance }
    }

    /// The point at (u, β): η = base + Xβ (when β moves) + ZΛu.
    fn at(&self, theta: &[f64], base: &[f64], beta_moves: bool, u: Vec<f64>, beta: Vec<f64>) -> Point {
        let b = self.random.lambda_times(theta, &u);
        let (x, random, coefficients) = (self.x, self.random, beta.clone());
        self.point(u, beta, base, |i| {
            let mut eta = base[i];
            if beta_moves {
                for (j, c) in coefficients.iter().enumerate() {
                    eta += x[(i, j)] * c;
                }
            }
            eta + random.z_row_times(i, &b)
        })
    }

    /// PIRLS for u (and β when `beta` is `None`) at θ: from the last mode found, or from the
    /// family's starting means; each step solves the penalised weighted least squares at the
    /// current point and is halved until the penalised deviance does not increase. The mode's
    /// `log |L|²` is that of the system at the mode itself.
    pub(super) fn pirls(&self, theta: &[f64], beta: Option<&[f64]>) -> Result<Mode> {
        let n = self.data.y.len();
        let q = self.random.q();
        let moves = beta.is_none();
        // The part of η that PIRLS holds fixed: the offset, and Xβ when β is given.
        let mut base = self.data.offset.clone();
        if let Some(b) = beta {
            self.x.times_add(b, &mut base);
        }
        let warm = self.warm.borrow().clone();
        // From the family's starting means the first step is taken unconditionally; from any
        // other start, steps must not increase the penalised deviance.
        let cold = moves && warm.is_none();
        let mut point = match (beta, warm) {
            (Some(b), warm) => self.at(theta, &base, false, warm.map_or_else(|| vec![0.0; q], |w| w.0), b.to_vec()),
            (None, Some((u, warm_beta))) => self.at(theta, &base, true, u, warm_beta),
            (None, None) => {
                let (link, family, data) = (self.link, self.family, self.data);
                self.point(vec![0.0; q], vec![0.0; self.x.ncols()], &base, |i| {
                    link.link(family.start(data.y[i], data.weights[i]))
                })
            }
        };
        let newton = matches!((self.family, self.link), (Family::Binomial, Link::Logit) | (Family::Poisson, Link::Log));
        let mut previous = if cold { f64::INFINITY } else { point.penalised_deviance() };
        let empty = Matrix::zeros(n, 0);
        let design = if moves { self.x } else { &empty };
        let mut converged = false;
        // At most 100 steps; the system at the last point gives the mode's log |L|².
        let mut steps = 0;
        loop {
            let solution = CrossProducts::new(design, &point.target, Some(&point.weights), self.random)
                .solve(self.random, theta)?;
            if converged || steps == 100 {
                return Ok(self.mode(point, solution.log_det_l));
            }
            steps += 1;
            let new_beta = if moves { solution.beta } else { point.beta.clone() };
            // Step-halving on the penalised deviance.
            let mut fraction = 1.0;
            let accepted = loop {
                let trial_u: Vec<f64> = point.u.iter().zip(&solution.u).map(|(a, b)| a + fraction * (b - a)).collect();
                let trial_beta: Vec<f64> =
                    point.beta.iter().zip(&new_beta).map(|(a, b)| a + fraction * (b - a)).collect();
                let trial = self.at(theta, &base, moves, trial_u, trial_beta);
                let value = trial.penalised_deviance();
                if value.is_finite() && (value <= previous * (1.0 + 1e-12) || !previous.is_finite()) {
                    break Some((trial, value));
                }
                self.recycle(trial);
                fraction /= 2.0;
                if fraction < 1e-8 {
                    break None;
                }
            };
            // No step lowers the deviance: the current point, whose system is solved, is the mode.
            let Some((trial, value)) = accepted else {
                return Ok(self.mode(point, solution.log_det_l));
            };
            let change = (previous - value).abs() / (value.abs() + 0.1);
            converged = change < CHANGE_STOP || (newton && fraction == 1.0 && change < NEWTON_STOP);
            self.recycle(std::mem::replace(&mut point, trial));
            previous = value;
        }
    }

    /// The mode at a converged point, remembered as the next PIRLS's start.
    fn mode(&self, point: Point, log_det_l: f64) -> Mode {
        *self.warm.borrow_mut() = Some((point.u.clone(), point.beta.clone()));
        let Point { u, beta, mu, weights, deviance, target } = point;
        self.spare.borrow_mut().push(target);
        Mode { beta, u, mu, weights, deviance, log_det_l }
    }

    /// The Laplace approximation to −2 log-likelihood at a mode: `−2 log p(y | μ)` (the
    /// deviance plus the saturated model's `−2 log p(y | y)`, which does not depend on μ) plus
    /// `‖u‖²` and `log |L|²`. The mode's arrays are kept for the next points.
    pub(super) fn laplace(&self, mode: Mode) -> f64 {
        let value = mode.deviance + self.saturated + mode.u.iter().map(|v| v * v).sum::<f64>() + mode.log_det_l;
        self.recycle_mode(mode);
        value
    }

    /// [`Problem::deviance`] at `x` = (θ, β) (θ its first `n_theta` values), PIRLS started
    /// from the forecast's mode where it has one, and the mode found recorded in it.
    pub(super) fn deviance_forecast(
        &self,
        x: &[f64],
        n_theta: usize,
        quadrature: &(Vec<f64>, Vec<f64>),
        forecast: &std::cell::RefCell<ModeForecast>,
    ) -> Result<f64> {
        let predicted = forecast.borrow().predict(x).filter(|u| u.iter().all(|v| v.is_finite()));
        if let (Some(u), Some(warm)) = (predicted, self.warm.borrow_mut().as_mut()) {
            warm.0 = u;
        }
        let value = self.deviance(&x[..n_theta], &x[n_theta..], quadrature)?;
        if let Some((u, _)) = self.warm.borrow().as_ref() {
            forecast.borrow_mut().record(x, u);
        }
        Ok(value)
    }

    /// −2 log-likelihood at (θ, β) by Laplace (one point) or adaptive Gauss–Hermite quadrature.
    pub(super) fn deviance(&self, theta: &[f64], beta: &[f64], (nodes, weights): &(Vec<f64>, Vec<f64>)) -> Result<f64> {
        let mode = self.pirls(theta, Some(beta))?;
        if nodes.len() == 1 {
            return Ok(self.laplace(mode));
        }
        let block = &self.random.blocks[0];
        let lambda = theta[0];
        let fixed: Vec<f64> = self.x.times(beta).iter().zip(&self.data.offset).map(|(a, b)| a + b).collect();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); block.levels.len()];
        for (i, &c) in block.codes.iter().enumerate() {
            members[c as usize].push(i);
        }
        let mut total = 0.0;
        for (j, rows) in members.iter().enumerate() {
            let information: f64 =
                1.0 + rows.iter().map(|&i| mode.weights[i] * (lambda * block.x[(i, 0)]).powi(2)).sum::<f64>();
            let scale = 1.0 / information.sqrt();
            let terms: Vec<f64> = nodes
                .iter()
                .zip(weights)
                .map(|(&t, &weight)| {
                    let u = mode.u[j] + scale * t;
                    // lme4 measures the conditional fit by the deviance residuals here (not the
                    // full log-likelihood as under Laplace): its AGQ deviances omit the saturated
                    // model's constant, and so do these.
                    let deviance: f64 = rows
                        .iter()
                        .map(|&i| {
                            let mu = self.link.inverse(fixed[i] + lambda * u * block.x[(i, 0)]);
                            self.data.weights[i] * self.family.unit_deviance(self.data.y[i], mu)
                        })
                        .sum();
                    weight.ln() - 0.5 * deviance - 0.5 * u * u + 0.5 * t * t
                })
                .collect();
            let largest = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = largest + terms.iter().map(|v| (v - largest).exp()).sum::<f64>().ln();
            total += information.ln() - 2.0 * log_sum;
        }
        self.recycle_mode(mode);
        Ok(total)
    }
}
