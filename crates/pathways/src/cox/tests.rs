//! Hand-derived cases: the six usable rows of Therneau & Grambsch's (2000) appendix data set,
//! whose partial likelihoods have closed forms in r = exp(β):
//! Breslow ℓ(β) = 2β − log(3r + 3) − 2 log(r + 3), Efron ℓ(β) = 2β − log(3r + 3) − log(r + 3)
//! − log((r + 5)/2); the Breslow estimate solves −r² + 3r + 6 = 0.

use super::*;
use crate::error::Error;
use strata_core::results::FittedModel;

fn frame() -> DataFrame {
    DataFrame::new()
        .with_floats("time", &[9.0, 1.0, 1.0, 6.0, 6.0, 8.0])
        .unwrap()
        .with_floats("status", &[1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
        .unwrap()
        .with_floats("x", &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
        .unwrap()
}

#[test]
fn breslow_matches_the_closed_form() {
    let fit = CoxPh::new("Surv(time, status) ~ x").unwrap().ties(Ties::Breslow).fit(&frame()).unwrap();
    let r = f64::midpoint(3.0, 33f64.sqrt());
    assert!((fit.coef()[0] - r.ln()).abs() < 1e-9);
    let ll = |r: f64| 2.0 * r.ln() - (3.0 * r + 3.0).ln() - 2.0 * (r + 3.0).ln();
    assert!((fit.null_log_likelihood() - ll(1.0)).abs() < 1e-13);
    assert!((fit.log_likelihood().unwrap() - ll(r)).abs() < 1e-12);
    // U(0) = 1 and I(0) = 5/8, so the score test is 8/5.
    assert!((fit.score_test() - 1.6).abs() < 1e-13);
    // I(β̂) = r/(r+1)² + 2·3r/(r+3)².
    let information = r / (r + 1.0).powi(2) + 6.0 * r / (r + 3.0).powi(2);
    assert!((fit.std_errors()[0] - (1.0 / information).sqrt()).abs() < 1e-8);
}

#[test]
fn efron_matches_the_closed_form() {
    let fit = CoxPh::new("Surv(time, status) ~ x").unwrap().fit(&frame()).unwrap();
    let score = |r: f64| 2.0 - r / (r + 1.0) - r / (r + 3.0) - r / (r + 5.0);
    let (mut low, mut high) = (1.0, 100.0);
    for _ in 0..200 {
        let mid = f64::midpoint(low, high);
        if score(mid) > 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    assert!((fit.coef()[0] - low.ln()).abs() < 1e-9);
    let ll = |r: f64| 2.0 * r.ln() - (3.0 * r + 3.0).ln() - (r + 3.0).ln() - f64::midpoint(r, 5.0).ln();
    assert!((fit.null_log_likelihood() - ll(1.0)).abs() < 1e-13);
    assert!((fit.log_likelihood().unwrap() - ll(low)).abs() < 1e-12);
    // At β = 0: U = 2 − 1/2 − (1/4 + 1/6) = 13/12 and I = 1/4 + 3/16 + 5/36 = 83/144 (Efron's
    // second step at t = 6 has s₀ = 3, mean 1/6 and variance 5/36), so the score test is 169/83.
    assert!((fit.score_test() - 169.0 / 83.0).abs() < 1e-13);
    // At the estimate, I(β̂) = r/(r+1)² + r·3/(r+3)² + r·5/(r+5)² in r = exp(β̂).
    let information = low / (low + 1.0).powi(2) + 3.0 * low / (low + 3.0).powi(2) + 5.0 * low / (low + 5.0).powi(2);
    assert!((fit.std_errors()[0] - (1.0 / information).sqrt()).abs() < 1e-8);
}

#[test]
fn counting_process_data_split_at_a_time_gives_the_same_fit() {
    // Splitting each subject's follow-up at t = 5 into (0, 5] and (5, T] changes nothing.
    let whole = CoxPh::new("Surv(time, status) ~ x").unwrap().fit(&frame()).unwrap();
    let mut start = Vec::new();
    let mut stop = Vec::new();
    let mut status = Vec::new();
    let mut x = Vec::new();
    let f = frame();
    let (times, events, xs) = (f.numbers("time").unwrap(), f.numbers("status").unwrap(), f.numbers("x").unwrap());
    for i in 0..times.len() {
        let (t, e, xi) = (times.get(i).unwrap(), events.get(i).unwrap(), xs.get(i).unwrap());
        if t > 5.0 {
            start.extend([0.0, 5.0]);
            stop.extend([5.0, t]);
            status.extend([0.0, e]);
            x.extend([xi, xi]);
        } else {
            start.push(0.0);
            stop.push(t);
            status.push(e);
            x.push(xi);
        }
    }
    let split = DataFrame::new()
        .with_floats("start", &start)
        .unwrap()
        .with_floats("stop", &stop)
        .unwrap()
        .with_floats("status", &status)
        .unwrap()
        .with_floats("x", &x)
        .unwrap();
    let fit = CoxPh::new("Surv(start, stop, status) ~ x").unwrap().fit(&split).unwrap();
    assert!((fit.coef()[0] - whole.coef()[0]).abs() < 1e-10);
    assert!((fit.log_likelihood().unwrap() - whole.log_likelihood().unwrap()).abs() < 1e-10);
    assert!((fit.concordance() - whole.concordance()).abs() < 1e-12);
}

#[test]
fn bad_input_is_named() {
    let f = frame();
    let error = CoxPh::new("time ~ x").unwrap().fit(&f).unwrap_err();
    assert!(error.to_string().contains("Surv(time, status)"), "{error}");
    let censored = f.clone().with_floats("none", &[0.0; 6]).unwrap();
    let error = CoxPh::new("Surv(time, none) ~ x").unwrap().fit(&censored).unwrap_err();
    assert!(matches!(error, Error::NoEvents(6)), "{error}");
    let bad = f.with_floats("code", &[0.0, 1.0, 3.0, 1.0, 0.0, 1.0]).unwrap();
    let error = CoxPh::new("Surv(time, code) ~ x").unwrap().fit(&bad).unwrap_err();
    assert_eq!(error.to_string(), "invalid survival data at data row 3: status 3 is not 0/1 (censored/event) or 1/2");
}

/// Whole-number stop times are put in sweep order by counting, in the order the sort gives:
/// strata (one empty), tied stops with events and censorings, negative times; fractions and
/// times too far apart for a table are left to the sort.
#[test]
fn counting_gives_the_sorted_sweep_order() {
    use super::likelihood::{counted_by_stop, sorted_by_stop};
    let n = 5_000;
    let stop: Vec<f64> = (0..n).map(|i| f64::from((i * 7_919 % 613) as u32) - 40.0).collect();
    let event: Vec<bool> = (0..n).map(|i| i % 3 != 0).collect();
    let strata: Vec<u32> = (0..n).map(|i| [0, 1, 3][i * 5 % 3]).collect();
    let counted = counted_by_stop(&stop, &event, &strata, 4).expect("whole numbers over a short range");
    assert_eq!(counted, sorted_by_stop(&stop, &event, &strata, 4));
    assert!(counted[2].is_empty() && counted.iter().map(Vec::len).sum::<usize>() == n);
    let mut fraction = stop.clone();
    fraction[9] = 0.5;
    assert!(counted_by_stop(&fraction, &event, &strata, 4).is_none());
    fraction[9] = 1e12;
    assert!(counted_by_stop(&fraction, &event, &strata, 4).is_none());
}

/// The risk sets of observations put in sweep order, derived from those before, are those
/// computed afresh on the reordered data: strata, tied stops and starts, events and censorings.
#[test]
fn risk_sets_in_sweep_order_are_those_of_the_reordered_data() {
    use super::likelihood::RiskSets;
    let n = 200;
    let stop: Vec<f64> = (0..n).map(|i| f64::from((i * 37 % 23) as u32) + 1.0).collect();
    let start: Vec<f64> = (0..n).map(|i| f64::from((i * 11 % 7) as u32) / 8.0).collect();
    let event: Vec<bool> = (0..n).map(|i| i % 3 != 0).collect();
    let strata: Vec<u32> = (0..n).map(|i| (i * 5 % 3) as u32).collect();
    for start in [None, Some(&start[..])] {
        let unordered = RiskSets::new(start, &stop, &event, &strata, 3);
        let order = unordered.order();
        let permute = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let sorted_start = start.map(permute);
        let event: Vec<bool> = order.iter().map(|&i| event[i]).collect();
        let strata: Vec<u32> = order.iter().map(|&i| strata[i]).collect();
        let afresh = RiskSets::new(sorted_start.as_deref(), &permute(&stop), &event, &strata, 3);
        assert_eq!(unordered.in_sweep_order(sorted_start.as_deref()).strata(), afresh.strata());
    }
}

/// The sweep cut into blocks gives the one-block sweep's log-likelihood, score and information
/// (to rounding), on one thread or two alike (bit for bit): strata, tied times, entry times,
/// weights and offsets, blocks of every size down to one tied time.
#[test]
fn the_sweep_in_blocks_is_the_sweep_in_one() {
    use super::likelihood::{CoxProblem, RiskSets};
    let (n, p) = (600, 3);
    let value = |i: usize, j: usize| ((i * 7919 + j * 104_729) % 1009) as f64 / 1009.0 - 0.5;
    let stop: Vec<f64> = (0..n).map(|i| f64::from((i * 37 % 41) as u32) + 1.0).collect();
    let entry: Vec<f64> = stop.iter().enumerate().map(|(i, t)| t * f64::from((i % 5) as u32) / 6.0).collect();
    let event: Vec<bool> = (0..n).map(|i| i % 3 != 0).collect();
    let strata: Vec<u32> = (0..n).map(|i| (i * 5 % 3) as u32).collect();
    let weights: Vec<f64> = (0..n).map(|i| 0.5 + value(i, 7).abs()).collect();
    let offset: Vec<f64> = (0..n).map(|i| value(i, 9) / 4.0).collect();
    let beta = [0.4, -0.3, 0.2];
    for start in [None, Some(&entry[..])] {
        let unordered = RiskSets::new(start, &stop, &event, &strata, 3);
        let order = unordered.order();
        let permute = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let start = start.map(permute);
        let rows: Vec<f64> = order.iter().flat_map(|&i| (0..p).map(move |j| value(i, j))).collect();
        let (stop, weights, offset) = (permute(&stop), permute(&weights), permute(&offset));
        let event: Vec<bool> = order.iter().map(|&i| event[i]).collect();
        let risk_sets = unordered.in_sweep_order(start.as_deref());
        for ties in [Ties::Efron, Ties::Breslow] {
            let problem = CoxProblem {
                rows: &rows,
                p,
                offset: &offset,
                weights: &weights,
                start: start.as_deref(),
                stop: &stop,
                event: &event,
                ties,
                risk_sets: &risk_sets,
            };
            let whole = problem.evaluate_in_blocks(&beta, n);
            for size in [1, 17, 150] {
                let blocks = problem.evaluate_in_blocks(&beta, size);
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
                assert!(
                    close(blocks.log_likelihood, whole.log_likelihood),
                    "{size}: {} {}",
                    blocks.log_likelihood,
                    whole.log_likelihood
                );
                assert!(blocks.score.iter().zip(&whole.score).all(|(a, b)| close(*a, *b)), "{size}");
                for a in 0..p {
                    for b in 0..p {
                        assert!(close(blocks.information[(a, b)], whole.information[(a, b)]), "{size} ({a}, {b})");
                    }
                }
                strata_core::parallel::set_threads(1);
                let one = problem.evaluate_in_blocks(&beta, size);
                strata_core::parallel::set_threads(2);
                let two = problem.evaluate_in_blocks(&beta, size);
                strata_core::parallel::set_threads(0);
                assert_eq!(one.log_likelihood.to_bits(), two.log_likelihood.to_bits());
                assert_eq!((one.score, one.information.as_slice()), (two.score, two.information.as_slice()));
            }
        }
    }
}

/// A covariate that is a multiple of another is set aside as R's coxph sets it aside (`NA`),
/// with a warning, and the fit of the rest is the fit without it; the centring means are those
/// of the columns kept.
#[test]
fn an_aliased_covariate_is_set_aside() {
    let time = [5.0, 3.0, 9.0, 2.0, 7.0, 4.0, 8.0, 6.0, 1.0, 10.0];
    let status = [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0];
    let x = [0.3, 1.2, -0.4, 2.0, 0.1, 0.7, -1.1, 0.9, 1.5, -0.2];
    let z = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    let twice: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    let frame = DataFrame::new()
        .with_floats("time", &time)
        .unwrap()
        .with_floats("status", &status)
        .unwrap()
        .with_floats("x", &x)
        .unwrap()
        .with_floats("twice", &twice)
        .unwrap()
        .with_floats("z", &z)
        .unwrap();
    let with = CoxPh::new("Surv(time, status) ~ x + twice + z").unwrap().fit(&frame).unwrap();
    let without = CoxPh::new("Surv(time, status) ~ x + z").unwrap().fit(&frame).unwrap();
    assert_eq!(with.summary().aliased, ["twice"]);
    assert_eq!(with.coef_names(), without.coef_names());
    for (a, b) in with.coef().iter().zip(without.coef()) {
        assert!((a - b).abs() < 1e-12, "{a} against {b}");
    }
    assert!(with.convergence().warnings.iter().any(|w| w.message.contains("twice")));
}
