//! Gray's (1988) K-sample test for equal cumulative incidence of one cause across groups.
//!
//! For the cause of interest, group k's subdistribution risk set at time t is estimated by
//! $\hat R_k(t) = Y_k(t)\,(1 - \hat F_k(t-))/\hat S_k(t-)$, with $Y_k$ at risk, $\hat F_k$ the
//! group's Aalen–Johansen cumulative incidence and $\hat S_k$ its all-cause Kaplan–Meier. The
//! score compares observed and expected events of the cause, as the log-rank test does with the
//! ordinary risk set:
//! $$ z_k = \sum_t W(t)\,\Big(d_{1k}(t) - \hat R_k(t)\,\frac{d_1(t)}{\sum_j \hat R_j(t)}\Big),
//! \qquad W(t) = \big(1 - \hat F^0(t-)\big)^\rho, $$
//! where $\hat F^0$ is the pooled incidence under the null hypothesis,
//! $d\hat F^0 = d_1 / \Pi$ with $\Pi = \sum_j \pi_j$ and $\pi_j = Y_j / \hat S_j(t-)$
//! (each group's size weighted by its own censoring).
//!
//! The variance comes from writing $z$ as a sum of martingale integrals (Gray 1988, §2):
//! for group j the cause's martingale $M_{1j}$ and the competing causes' $M_{2j}$ enter as
//! $$ z_k \approx \sum_j \int \big(a_{kj} - c_{kj}\,h^{(1)}_j\big)\,dM_{1j}
//!                      - \int c_{kj}\,h^{(2)}_j\,dM_{2j}, $$
//! with $a_{kj}(t) = W(t)(\delta_{kj} - \pi_k/\Pi)$, the later weight that an event at s carries
//! through $\hat F_j$ and $\hat S_j$, $c_{kj}(s) = \sum_{t > s} a_{kj}(t)\,\pi_j(t)\,d\hat\Gamma^0(t)$
//! ($d\hat\Gamma^0 = d_1/(\Pi(1 - \hat F^0(t-)))$, the pooled subdistribution hazard), and
//! $h^{(1)}_j = (1 - \hat F^0 - \hat S_j)/(Y_j \hat S_j/\hat S_j(s-))$,
//! $h^{(2)}_j = (1 - \hat F^0)/(Y_j \hat S_j/\hat S_j(s-))$ at s (after its jumps). The
//! martingales' increments are estimated under the null hypothesis: the cause's by its expected
//! count $\pi_j d_1/\Pi$, the competing causes' by their observed $d_{2j}$, each with the
//! hypergeometric correction for tied events ($1 - (d - 1)/(n - 1)$ with $n = \Pi\,\hat S_j(t-)$
//! and $n = Y_j$). Groups' scores sum to zero, so the last is dropped and
//! $\chi^2 = z^\top V^{-1} z$ on $K - 1$ degrees of freedom. A stratified test adds the strata's
//! scores and variances.
//!
//! Checked against `cmprsk::cuminc(..., group, strata, rho)`'s `$Tests` (cmprsk 2.2): equal to
//! 1e-13 on tied and untied data, two and three groups, ρ = 0 and 1, with and without strata.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::numerics::{Cholesky, Matrix};
use strata_core::results::chi_squared_upper;

/// Gray's test for one cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrayTest {
    /// The cause whose cumulative incidence is compared.
    pub cause: i64,
    /// The χ² statistic; `None` when the variance is singular (for instance when a group has
    /// no events of the cause and no competing events), where `cmprsk` reports −1.
    pub chisq: Option<f64>,
    /// Degrees of freedom: the number of groups less one.
    pub df: usize,
    /// Upper-tail p-value.
    pub p_value: Option<f64>,
}

impl fmt::Display for GrayTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.chisq, self.p_value) {
            (Some(chisq), Some(p)) => {
                write!(f, "cause {}: Chisq= {chisq:.4} on {} df, p= {p:.4e}", self.cause, self.df)
            }
            _ => write!(f, "cause {}: not computable (singular variance)", self.cause),
        }
    }
}

/// Gray's test of each cause across `group` (codes `0..groups`), optionally stratified by
/// `strata` codes; `status` holds cause codes with `censor_code` for censoring and `causes`
/// lists the causes to test. `rho` is the weight exponent (0 as in `cmprsk`'s default).
///
/// # Errors
/// [`Error::Specification`] for arrays of different lengths, fewer than two groups, or a
/// non-finite ρ.
pub fn gray_tests(
    time: &[f64],
    status: &[i64],
    group: &[usize],
    strata: Option<&[usize]>,
    censor_code: i64,
    causes: &[i64],
    rho: f64,
) -> Result<Vec<GrayTest>> {
    let n = time.len();
    if status.len() != n || group.len() != n || strata.is_some_and(|s| s.len() != n) {
        return Err(Error::Specification("Gray's test: times, statuses, groups and strata differ in length".into()));
    }
    if !rho.is_finite() {
        return Err(Error::Specification(format!("Gray's test: rho {rho} is not a finite number")));
    }
    let groups = group.iter().max().map_or(0, |g| g + 1);
    if groups < 2 {
        return Err(Error::Specification("Gray's test needs at least two groups".into()));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let strata_count = strata.map_or(1, |s| s.iter().max().map_or(1, |m| m + 1));
    causes
        .iter()
        .map(|&cause| {
            let mut score = vec![0.0; groups];
            let mut variance = Matrix::zeros(groups, groups);
            for s in 0..strata_count {
                let rows: Vec<Row> = order
                    .iter()
                    .filter(|&&i| strata.is_none_or(|st| st[i] == s))
                    .map(|&i| Row {
                        time: time[i],
                        outcome: if status[i] == censor_code {
                            Outcome::Censored
                        } else if status[i] == cause {
                            Outcome::Cause
                        } else {
                            Outcome::Competing
                        },
                        group: group[i],
                    })
                    .collect();
                accumulate(&rows, groups, rho, &mut score, &mut variance);
            }
            let df = groups - 1;
            let reduced = Matrix::from_fn(df, df, |a, b| variance[(a, b)]);
            let chisq = Cholesky::new(&reduced).ok().map(|v| {
                let solved = v.solve(&score[..df]);
                score[..df].iter().zip(&solved).map(|(a, b)| a * b).sum::<f64>()
            });
            Ok(GrayTest { cause, chisq, df, p_value: chisq.map(|c| chi_squared_upper(c, df as f64)) })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Censored,
    Cause,
    Competing,
}

/// One observation of a stratum, in time order.
struct Row {
    time: f64,
    outcome: Outcome,
    group: usize,
}

/// What the backward pass needs from one event time.
struct Step {
    weight: f64,
    /// π_k / Π.
    share: Vec<f64>,
    /// π_j dΓ⁰: how much a unit of a_kj at this time feeds the later-weight c_kj.
    feed: Vec<f64>,
    /// h⁽¹⁾_j and h⁽²⁾_j.
    h_cause: Vec<f64>,
    h_competing: Vec<f64>,
    /// Estimated variances of the cause's and the competing causes' increments.
    v_cause: Vec<f64>,
    v_competing: Vec<f64>,
}

/// Adds one stratum's score and variance (rows sorted by time).
fn accumulate(rows: &[Row], groups: usize, rho: f64, score: &mut [f64], variance: &mut Matrix) {
    let mut at_risk = vec![0.0; groups];
    for row in rows {
        at_risk[row.group] += 1.0;
    }
    let mut estimates = Estimates { survival: vec![1.0; groups], incidence: vec![0.0; groups], pooled: 0.0 };
    let mut steps = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let t = rows[start].time;
        let end = start + rows[start..].iter().take_while(|r| r.time == t).count();
        let (mut cause, mut competing, mut leaving) = (vec![0.0; groups], vec![0.0; groups], vec![0.0; groups]);
        for row in &rows[start..end] {
            leaving[row.group] += 1.0;
            match row.outcome {
                Outcome::Cause => cause[row.group] += 1.0,
                Outcome::Competing => competing[row.group] += 1.0,
                Outcome::Censored => {}
            }
        }
        let d1: f64 = cause.iter().sum();
        if d1 + competing.iter().sum::<f64>() > 0.0 {
            steps.push(estimates.event_time(&at_risk, &cause, &competing, rho, score));
        }
        for (y, l) in at_risk.iter_mut().zip(&leaving) {
            *y -= l;
        }
        start = end;
    }
    // Backward pass: c_kj(s) sums a_kj π_j dΓ⁰ over the event times after s.
    let mut later = Matrix::zeros(groups, groups);
    let (mut h1, mut h2) = (vec![0.0; groups], vec![0.0; groups]);
    for step in steps.iter().rev() {
        let a = |k: usize, j: usize| step.weight * (f64::from(u8::from(k == j)) - step.share[k]);
        for j in 0..groups {
            for k in 0..groups {
                h1[k] = a(k, j) - later[(k, j)] * step.h_cause[j];
                h2[k] = -later[(k, j)] * step.h_competing[j];
            }
            for k in 0..groups {
                for l in 0..groups {
                    variance[(k, l)] += h1[k] * h1[l] * step.v_cause[j] + h2[k] * h2[l] * step.v_competing[j];
                }
            }
        }
        for j in 0..groups {
            for k in 0..groups {
                later[(k, j)] += a(k, j) * step.feed[j];
            }
        }
    }
}

/// Each group's all-cause Kaplan–Meier and cumulative incidence of the cause, and the pooled
/// incidence under the null hypothesis, just before the next event time.
struct Estimates {
    survival: Vec<f64>,
    incidence: Vec<f64>,
    pooled: f64,
}

impl Estimates {
    /// Scores one event time and advances the estimates past it.
    fn event_time(&mut self, at_risk: &[f64], cause: &[f64], competing: &[f64], rho: f64, score: &mut [f64]) -> Step {
        let Self { survival, incidence, pooled } = self;
        let groups = at_risk.len();
        let d1: f64 = cause.iter().sum();
        let pi: Vec<f64> = (0..groups).map(|j| if at_risk[j] > 0.0 { at_risk[j] / survival[j] } else { 0.0 }).collect();
        let total: f64 = pi.iter().sum();
        let weight = (1.0 - *pooled).powf(rho);
        let risk: Vec<f64> = (0..groups).map(|j| pi[j] * (1.0 - incidence[j])).collect();
        let risk_total: f64 = risk.iter().sum();
        if d1 > 0.0 && risk_total > 0.0 {
            for k in 0..groups {
                score[k] += weight * (cause[k] - risk[k] * d1 / risk_total);
            }
        }
        let hazard = if d1 > 0.0 { d1 / (total * (1.0 - *pooled)) } else { 0.0 };
        let before = survival.clone();
        for j in 0..groups {
            if at_risk[j] > 0.0 {
                incidence[j] += survival[j] * cause[j] / at_risk[j];
                survival[j] *= 1.0 - (cause[j] + competing[j]) / at_risk[j];
            }
        }
        *pooled += d1 / total;
        let tie = |d: f64, n: f64| if d > 1.0 { (1.0 - (d - 1.0) / (n - 1.0)).max(0.0) } else { 1.0 };
        // Y_j Ŝ_j(s)/Ŝ_j(s−): the discrete form of dividing a martingale increment by the number at risk.
        let scaled_risk: Vec<f64> = (0..groups).map(|j| at_risk[j] * survival[j] / before[j]).collect();
        let per_risk = |x: f64, j: usize| if scaled_risk[j] > 0.0 { x / scaled_risk[j] } else { 0.0 };
        Step {
            weight,
            share: pi.iter().map(|p| p / total).collect(),
            feed: pi.iter().map(|p| p * hazard).collect(),
            h_cause: (0..groups).map(|j| per_risk(1.0 - *pooled - survival[j], j)).collect(),
            h_competing: (0..groups).map(|j| per_risk(1.0 - *pooled, j)).collect(),
            v_cause: (0..groups).map(|j| pi[j] * d1 / total * tie(d1, total * before[j])).collect(),
            v_competing: (0..groups).map(|j| competing[j] * tie(competing[j], at_risk[j])).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 45 children in 3 groups with heavily tied times, drawn in R by
    //   set.seed(21); n <- 45; g <- sample(1:3, n, TRUE); t <- rexp(n, 0.1 + 0.05 * g)
    //   cz <- rexp(n, 0.05); cs <- ifelse(runif(n) < 0.35 + 0.2 * (g == 1), 1, 2)
    //   time <- ceiling(pmin(t, cz)); status <- ifelse(t <= cz, cs, 0)
    // and tested there with cmprsk 2.2's cuminc.
    const TIME: [f64; 45] = [
        2.0, 1.0, 1.0, 1.0, 8.0, 3.0, 3.0, 1.0, 1.0, 2.0, 1.0, 2.0, 5.0, 2.0, 5.0, 5.0, 1.0, 2.0, 2.0, 3.0, 1.0, 3.0,
        14.0, 2.0, 4.0, 3.0, 2.0, 3.0, 1.0, 1.0, 5.0, 4.0, 1.0, 7.0, 1.0, 5.0, 25.0, 22.0, 4.0, 1.0, 4.0, 1.0, 2.0,
        15.0, 13.0,
    ];
    const STATUS: [i64; 45] = [
        2, 0, 2, 1, 2, 2, 1, 2, 2, 1, 1, 1, 0, 2, 0, 0, 2, 0, 0, 2, 2, 1, 1, 0, 2, 1, 1, 1, 0, 2, 2, 2, 0, 1, 0, 1, 2,
        1, 1, 0, 1, 2, 1, 0, 2,
    ];
    const GROUP: [usize; 45] = [
        3, 1, 3, 1, 2, 3, 1, 3, 3, 2, 2, 2, 2, 3, 2, 2, 3, 1, 2, 2, 2, 1, 2, 3, 3, 2, 1, 3, 2, 3, 2, 2, 1, 1, 1, 1, 2,
        1, 1, 1, 3, 1, 1, 2, 1,
    ];

    fn statistics(strata: Option<&[usize]>, rho: f64) -> Vec<f64> {
        let group: Vec<usize> = GROUP.iter().map(|g| g - 1).collect();
        let tests = gray_tests(&TIME, &STATUS, &group, strata, 0, &[1, 2], rho).unwrap();
        assert!(tests.iter().all(|t| t.df == 2));
        tests.iter().map(|t| t.chisq.unwrap()).collect()
    }

    fn assert_close(ours: &[f64], cmprsk: &[f64]) {
        for (a, b) in ours.iter().zip(cmprsk) {
            assert!((a - b).abs() < 1e-12 * b, "{a} vs cmprsk {b}");
        }
    }

    #[test]
    fn matches_cmprsk_on_tied_data() {
        // cuminc(time, status, group, cencode = 0)$Tests[, "stat"]
        assert_close(&statistics(None, 0.0), &[5.957_318_628_514_804, 19.102_534_196_395_41]);
        // ... rho = 1
        assert_close(&statistics(None, 1.0), &[5.540_997_507_730_829, 18.581_788_688_069_853]);
        // ... with strata rep(1:2, length.out = 45)
        let strata: Vec<usize> = (0..45).map(|i| i % 2).collect();
        assert_close(&statistics(Some(&strata), 0.0), &[5.001_267_522_945_982, 19.962_996_197_613_64]);
    }

    #[test]
    fn invariant_to_which_group_is_dropped() {
        let group: Vec<usize> = GROUP.iter().map(|g| 3 - g).collect();
        let tests = gray_tests(&TIME, &STATUS, &group, None, 0, &[1, 2], 0.0).unwrap();
        assert_close(&[tests[0].chisq.unwrap(), tests[1].chisq.unwrap()], &statistics(None, 0.0));
    }

    #[test]
    fn rejects_a_single_group_and_reports_a_singular_variance() {
        assert!(gray_tests(&TIME, &STATUS, &[0; 45], None, 0, &[1], 0.0).is_err());
        // Group 1 has only censored rows: its score and variance are zero.
        let (time, status, group) = ([1.0, 2.0, 3.0, 4.0], [0, 0, 1, 2], [0, 0, 1, 1]);
        let test = &gray_tests(&time, &status, &group, None, 0, &[1], 0.0).unwrap()[0];
        assert!(test.chisq.is_none() && test.p_value.is_none());
    }
}
