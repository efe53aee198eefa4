//! Latent class models recover what generated the data, whatever the order of rows, labels or
//! threads; covariate effects on membership are recovered in one and in three steps.

use strata_core::numerics::Matrix;
use strata_core::random::Rng;
use strata_latent::covariates::{fit_membership, Steps};
use strata_latent::indicators::MISSING;
use strata_latent::measurement::Parameters;
use strata_latent::select::{bootstrap_lrt, fit_range, simulate};
use strata_latent::{Indicators, LatentClassModel};

/// Three well-separated classes, eight binary indicators.
fn truth() -> Parameters {
    let profiles = [
        [0.9, 0.8, 0.85, 0.1, 0.15, 0.1, 0.2, 0.1],
        [0.1, 0.15, 0.1, 0.85, 0.9, 0.8, 0.2, 0.1],
        [0.1, 0.1, 0.15, 0.1, 0.15, 0.1, 0.85, 0.9],
    ];
    Parameters {
        proportions: vec![0.5, 0.3, 0.2],
        items: (0..8).map(|j| profiles.iter().flat_map(|p| [1.0 - p[j], p[j]]).collect()).collect(),
    }
}

/// A template of `n` rows, each indicator missing with probability `missing`.
fn template(n: usize, missing: f64, rng: &mut Rng) -> Indicators {
    let names: Vec<String> = (1..=8).map(|j| format!("f{j}")).collect();
    let levels = vec![vec!["0".to_string(), "1".to_string()]; 8];
    let codes = (0..n * 8).map(|_| if rng.uniform() < missing { MISSING } else { 0 }).collect();
    Indicators::from_codes(names, levels, codes).unwrap()
}

/// The classes of `fit` matched to the truth's by their profiles.
fn matched(fit: &Parameters, truth: &Parameters) -> Vec<usize> {
    let k = truth.classes();
    (0..k)
        .map(|c| {
            (0..k)
                .min_by(|&a, &b| {
                    let d = |x: usize| {
                        (0..8).map(|j| (fit.items[j][2 * x + 1] - truth.items[j][2 * c + 1]).abs()).sum::<f64>()
                    };
                    d(a).total_cmp(&d(b))
                })
                .unwrap()
        })
        .collect()
}

#[test]
fn recovers_generated_classes_within_their_standard_errors() {
    let mut rng = Rng::new(11);
    let truth = truth();
    let data = simulate(&truth, &template(4000, 0.05, &mut rng), 4000, &mut rng);
    let fit = LatentClassModel::new(3).starts(10).seed(3).fit(&data).unwrap();
    let se = fit.std_errors.as_ref().expect("standard errors");
    let order = matched(&fit.parameters, &truth);
    let mut z_max: f64 = 0.0;
    for (c, &f) in order.iter().enumerate() {
        z_max = z_max.max((fit.parameters.proportions[f] - truth.proportions[c]).abs() / se.proportions[f]);
        for j in 0..8 {
            let z = (fit.parameters.items[j][2 * f + 1] - truth.items[j][2 * c + 1]).abs() / se.items[j][2 * f + 1];
            z_max = z_max.max(z);
        }
    }
    // 27 estimates: all within four standard errors of the truth.
    assert!(z_max < 4.0, "largest |estimate − truth| / SE = {z_max}");
    assert!(fit.starts.n_best > 1);
    assert!(fit.entropy > 0.6 && fit.entropy < 1.0);
}

/// One class: the item probabilities are proportions, with binomial standard errors.
#[test]
fn one_class_standard_errors_are_binomial() {
    let mut rng = Rng::new(5);
    let data = simulate(&truth(), &template(1000, 0.1, &mut rng), 1000, &mut rng);
    let fit = LatentClassModel::new(1).starts(1).fit(&data).unwrap();
    let se = fit.std_errors.unwrap();
    for j in 0..8 {
        let observed: Vec<u8> = (0..1000).map(|i| data.row(i)[j]).filter(|&c| c != MISSING).collect();
        let n = observed.len() as f64;
        let p = observed.iter().map(|&c| f64::from(c)).sum::<f64>() / n;
        assert!((fit.parameters.items[j][1] - p).abs() < 1e-12);
        let binomial = (p * (1.0 - p) / n).sqrt();
        assert!((se.items[j][1] - binomial).abs() < 1e-6 * binomial, "{} {binomial}", se.items[j][1]);
    }
}

#[test]
fn row_order_and_seeds_do_not_change_the_solution() {
    let mut rng = Rng::new(8);
    let data = simulate(&truth(), &template(1500, 0.0, &mut rng), 1500, &mut rng);
    let a = LatentClassModel::new(3).starts(8).seed(1).standard_errors(false).fit(&data).unwrap();
    let reversed: Vec<usize> = (0..1500).rev().collect();
    let b = LatentClassModel::new(3).starts(8).seed(99).standard_errors(false).fit(&data.take(&reversed)).unwrap();
    assert!((a.log_likelihood - b.log_likelihood).abs() < 1e-8 * a.log_likelihood.abs());
    // Classes come in order of size, so different starts label them alike.
    for (x, y) in a.parameters.proportions.iter().zip(&b.parameters.proportions) {
        assert!((x - y).abs() < 1e-5, "{:?} {:?}", a.parameters.proportions, b.parameters.proportions);
    }
    for (tx, ty) in a.parameters.items.iter().zip(&b.parameters.items) {
        for (x, y) in tx.iter().zip(ty) {
            assert!((x - y).abs() < 1e-5);
        }
    }
    // The posterior of a row follows it.
    for (x, y) in a.posterior(0).iter().zip(b.posterior(1499)) {
        assert!((x - y).abs() < 1e-6);
    }
}

#[test]
fn the_number_of_classes_is_chosen_by_bic_and_the_bootstrap_test() {
    let mut rng = Rng::new(21);
    let data = simulate(&truth(), &template(1500, 0.0, &mut rng), 1500, &mut rng);
    let model = LatentClassModel::new(1).starts(6).standard_errors(false);
    let fits = fit_range(&model, &data, 1..=4).unwrap();
    let best = fits.iter().min_by(|a, b| a.bic.total_cmp(&b.bic)).unwrap();
    assert_eq!(best.classes(), 3);
    // Two classes are rejected against three; three are not against four.
    let reject = bootstrap_lrt(&model, &data, &fits[1], &fits[2], 19, 4).unwrap();
    assert!(reject.p_value <= 0.05, "{reject:?}");
    let keep = bootstrap_lrt(&model, &data, &fits[2], &fits[3], 19, 4).unwrap();
    assert!(keep.p_value > 0.05, "{keep:?}");
    let again = bootstrap_lrt(&model, &data, &fits[2], &fits[3], 19, 4).unwrap();
    assert_eq!(keep, again, "seeded");
}

/// Membership depends on x: log odds of class 2 and 3 against 1 rise by 1.0 and fall by 0.8 a
/// unit of x.
#[test]
fn covariate_effects_are_recovered_in_one_and_three_steps() {
    let mut rng = Rng::new(31);
    let truth = truth();
    let n = 5000;
    let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let gamma = [(-0.4, 1.0), (-0.9, -0.8)];
    let mut codes = Vec::with_capacity(n * 8);
    for &xi in &x {
        let eta = [0.0, gamma[0].0 + gamma[0].1 * xi, gamma[1].0 + gamma[1].1 * xi];
        let total: f64 = eta.iter().map(|e| e.exp()).sum();
        let u = rng.uniform() * total;
        let class = if u < 1.0 {
            0
        } else if u < 1.0 + eta[1].exp() {
            1
        } else {
            2
        };
        for j in 0..8 {
            codes.push(u8::from(rng.uniform() < truth.items[j][2 * class + 1]));
        }
    }
    let names: Vec<String> = (1..=8).map(|j| format!("f{j}")).collect();
    let data = Indicators::from_codes(names, vec![vec!["0".into(), "1".into()]; 8], codes).unwrap();
    let measurement = LatentClassModel::new(3).starts(8).standard_errors(false).fit(&data).unwrap();
    let order = matched(&measurement.parameters, &truth);
    assert_eq!(order[0], 0, "the largest class comes first");
    let design = Matrix::from_fn(n, 1, |i, _| x[i]);
    for steps in [Steps::One, Steps::ThreeBch, Steps::ThreeMl] {
        let fit = fit_membership(&data, &measurement, &["x".to_string()], &design, steps).unwrap();
        for (c, g) in gamma.iter().enumerate() {
            let class = order[c + 1] + 1;
            let slope = fit.coefficients.iter().find(|k| k.class == class && k.term == "x").unwrap();
            let z = (slope.estimate - g.1) / slope.std_error;
            assert!(
                z.abs() < 4.0,
                "{}: class {class} slope {} ± {} against {}",
                steps.name(),
                slope.estimate,
                slope.std_error,
                g.1
            );
        }
    }
}

#[test]
fn hostile_input_is_an_error() {
    let constant =
        Indicators::new(&["a", "b"], &[vec![Some(1.0); 4], vec![Some(0.0), Some(1.0), Some(0.0), Some(1.0)]]);
    assert!(matches!(constant, Err(strata_latent::Error::ConstantIndicator(_))));
    let fraction = Indicators::new(&["a"], &[vec![Some(0.0), Some(0.5)]]);
    assert!(matches!(fraction, Err(strata_latent::Error::NotCategorical { .. })));
    let few =
        Indicators::new(&["a", "b"], &[vec![Some(0.0), Some(1.0), Some(0.0)], vec![Some(1.0), Some(0.0), Some(1.0)]])
            .unwrap();
    assert!(matches!(
        LatentClassModel::new(3).fit(&few),
        Err(strata_latent::Error::TooManyClasses { classes: 3, patterns: 2 })
    ));
    // A row with nothing observed is left out, with a warning, and gets the class proportions.
    let holes = Indicators::new(
        &["a", "b"],
        &[
            vec![Some(0.0), Some(1.0), None, Some(1.0), Some(0.0)],
            vec![Some(1.0), Some(0.0), None, Some(1.0), Some(0.0)],
        ],
    )
    .unwrap();
    let fit = LatentClassModel::new(1).starts(1).fit(&holes).unwrap();
    assert_eq!(fit.n_obs, 4);
    assert!(fit
        .warnings
        .iter()
        .any(|w| w.kind == strata_core::WarningKind::Dropped && w.message.contains("no indicator observed")));
    assert_eq!(fit.posterior(2), fit.parameters.proportions.as_slice());
}

/// Two classes, five indicators of three levels, a tenth of responses missing.
#[test]
fn polytomous_indicators_are_recovered() {
    let profiles = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]];
    let truth = Parameters {
        proportions: vec![0.6, 0.4],
        items: (0..5)
            .map(|j| {
                let (a, b) = if j % 2 == 0 { (0, 1) } else { (1, 0) };
                profiles[a].iter().chain(&profiles[b]).copied().collect()
            })
            .collect(),
    };
    let mut rng = Rng::new(13);
    let names: Vec<String> = (1..=5).map(|j| format!("q{j}")).collect();
    let levels = vec![vec!["1".to_string(), "2".to_string(), "3".to_string()]; 5];
    let codes = (0..3000 * 5).map(|_| if rng.uniform() < 0.1 { MISSING } else { 0 }).collect();
    let template = Indicators::from_codes(names, levels, codes).unwrap();
    let data = simulate(&truth, &template, 3000, &mut rng);
    let fit = LatentClassModel::new(2).starts(6).fit(&data).unwrap();
    let se = fit.std_errors.as_ref().unwrap();
    // Class 1 is the larger, as generated.
    assert!((fit.parameters.proportions[0] - 0.6).abs() < 4.0 * se.proportions[0]);
    for j in 0..5 {
        for e in 0..6 {
            let z = (fit.parameters.items[j][e] - truth.items[j][e]) / se.items[j][e];
            assert!(
                z.abs() < 4.0,
                "indicator {j}, entry {e}: {} against {}",
                fit.parameters.items[j][e],
                truth.items[j][e]
            );
        }
    }
    assert_eq!(fit.n_parameters, 1 + 2 * 5 * 2);
}

/// New rows are classified by the fitted model (stepmix's `predict_proba`/`predict`): the fitted
/// rows' posteriors come back, with missing responses left out, after a save and reload too;
/// values the model never saw are named errors.
#[test]
fn new_rows_are_classified_as_the_fitted_ones() {
    let mut rng = Rng::new(11);
    let data = simulate(&truth(), &template(1500, 0.1, &mut rng), 1500, &mut rng);
    let fit = LatentClassModel::new(3).starts(5).standard_errors(false).fit(&data).unwrap();
    let names: Vec<String> = data.names().to_vec();
    // The data as columns of values, in reverse order of the indicators.
    let columns: Vec<Vec<Option<f64>>> = (0..8)
        .rev()
        .map(|j| {
            (0..data.n_rows())
                .map(|i| {
                    let code = data.row(i)[j];
                    (code != MISSING).then(|| data.levels()[j][code as usize].parse().unwrap())
                })
                .collect()
        })
        .collect();
    let reversed: Vec<&str> = names.iter().rev().map(String::as_str).collect();
    let predicted = fit.predict_proba(&reversed, &columns).unwrap();
    let fitted = fit.posteriors();
    assert_eq!(predicted.len(), fitted.len());
    let gap = predicted.iter().zip(&fitted).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(gap < 1e-10, "{gap}");
    assert_eq!(fit.predict(&reversed, &columns).unwrap(), fit.modal());

    let reloaded: strata_latent::LatentClassFit = serde_json::from_str(&serde_json::to_string(&fit).unwrap()).unwrap();
    assert_eq!(reloaded.posteriors(), fitted);
    assert_eq!(reloaded.predict_proba(&reversed, &columns).unwrap(), predicted);

    // A row with nothing observed gets the class proportions.
    let empty: Vec<Vec<Option<f64>>> = vec![vec![None]; 8];
    let row = fit.predict_proba(&names, &empty).unwrap();
    let gap = row.iter().zip(&fit.parameters.proportions).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(gap < 1e-12, "{gap}");

    let mut unseen = empty.clone();
    unseen[2] = vec![Some(7.0)];
    let error = fit.predict_proba(&names, &unseen).unwrap_err().to_string();
    assert!(error.contains("`f3` has the value 7 at row 1"), "{error}");
    let error = fit.predict_proba(&names[1..], &empty[1..]).unwrap_err().to_string();
    assert!(error.contains("`f1`"), "{error}");
}
