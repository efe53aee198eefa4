//! Properties of the mixed-model fits: invariance to the order of the rows and to the labels
//! of the levels, a singular fit reported as such, and the likelihood-ratio test of a variance.

use proptest::prelude::*;
use strata_core::random::Rng;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_multilevel::LinearMixedModel;

fn data(seed: u64, group_sd: f64) -> (Vec<f64>, Vec<f64>, Vec<String>) {
    let mut rng = Rng::new(seed);
    let effects: Vec<f64> = (0..12).map(|_| group_sd * rng.normal()).collect();
    let (mut y, mut x, mut g) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..120 {
        let xi = rng.normal();
        y.push(1.0 + 0.5 * xi + effects[i % 12] + rng.normal());
        x.push(xi);
        g.push(format!("g{}", i % 12));
    }
    (y, x, g)
}

fn frame(y: &[f64], x: &[f64], g: &[String]) -> DataFrame {
    DataFrame::new().with_floats("y", y).unwrap().with_floats("x", x).unwrap().with_levels("g", g).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn row_order_and_level_labels_do_not_matter(seed in 0u64..1000, shift in 1usize..119) {
        let (y, x, g) = data(seed, 1.0);
        let model = LinearMixedModel::new("y ~ x + (1 | g)").unwrap();
        let base = model.fit(&frame(&y, &x, &g)).unwrap();
        // Rotate the rows and rename every level (reversing their order).
        let rotate = |v: &[f64]| -> Vec<f64> { v[shift..].iter().chain(&v[..shift]).copied().collect() };
        let renamed: Vec<String> = g.iter().map(|l| format!("z{}", 100 - l[1..].parse::<i32>().unwrap())).collect();
        let rotated_g: Vec<String> = renamed[shift..].iter().chain(&renamed[..shift]).cloned().collect();
        let other = model.fit(&frame(&rotate(&y), &rotate(&x), &rotated_g)).unwrap();
        prop_assert!((base.objective() - other.objective()).abs() < 1e-8 * base.objective().abs());
        for (a, b) in base.coef().iter().zip(other.coef()) {
            prop_assert!((a - b).abs() < 1e-6 * (1.0 + a.abs()));
        }
        prop_assert!((base.theta()[0] - other.theta()[0]).abs() < 1e-4);
    }
}

#[test]
fn no_between_group_variance_is_a_singular_fit() {
    // Group means forced exactly equal: the between-group variance is zero.
    let (mut y, x, g) = data(3, 0.0);
    for k in 0..12 {
        let members: Vec<usize> = (0..120).filter(|i| i % 12 == k).collect();
        let mean = members.iter().map(|&i| y[i]).sum::<f64>() / members.len() as f64;
        for &i in &members {
            y[i] -= mean;
        }
    }
    let fit = LinearMixedModel::new("y ~ 1 + (1 | g)").unwrap().fit(&frame(&y, &x, &g)).unwrap();
    assert!(fit.is_singular(), "{:?}", fit.convergence());
    assert!(fit.theta()[0] < 1e-4);
}

#[test]
fn the_group_variance_is_tested_by_likelihood_ratio() {
    let (y, x, g) = data(5, 1.0);
    let f = frame(&y, &x, &g);
    let big = LinearMixedModel::new("y ~ x + (1 | g)").unwrap().ml().fit(&f).unwrap();
    let crossed = f.clone().with_levels("h", &(0..120).map(|i| format!("h{}", i % 5)).collect::<Vec<_>>()).unwrap();
    let bigger = LinearMixedModel::new("y ~ x + (1 | g) + (1 | h)").unwrap().ml().fit(&crossed).unwrap();
    let test = bigger.lr_test(&big).unwrap();
    assert_eq!(test.df, 1.0);
    assert!(test.statistic >= 0.0 && (0.0..=1.0).contains(&test.p_value));
    assert!(big.lr_test(&bigger).is_err());
    let partition = big.variance_partition();
    assert_eq!(partition.len(), 1);
    assert!(partition[0].share > 0.2 && partition[0].share < 0.8, "{partition:?}");
}

/// lmerTest: `summary(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))` gives Satterthwaite
/// df of 17.000 for both fixed effects (18 subjects, balanced design).
#[test]
fn satterthwaite_degrees_of_freedom_match_lmertest() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/lmm_sleepstudy_reml/data.csv");
    let frame = strata_core::csv::read_csv(path, &strata_core::csv::CsvOptions::default()).unwrap();
    let fit = LinearMixedModel::new("Reaction ~ Days + (Days | Subject)").unwrap().fit(&frame).unwrap();
    for df in fit.satterthwaite_df() {
        assert!((df - 17.0).abs() < 0.01, "{df}");
    }
    let summary = fit.summary();
    // p-value of Days: 2 pt(-6.771, 17) = 3.26e-6.
    assert!((summary.coefficients[1].p_value - 3.26e-6).abs() < 0.01e-6, "{}", summary.coefficients[1].p_value);
}

/// lme4: `as.data.frame(ranef(fit, condVar = TRUE))` for penicillin (crossed, all-scalar) and
/// sleepstudy (correlated slopes, with the covariance of a level's two effects).
#[test]
fn conditional_standard_deviations_match_lme4() {
    let read = |case: &str| {
        let path = format!("{}/../../tests/reference/{case}/data.csv", env!("CARGO_MANIFEST_DIR"));
        strata_core::csv::read_csv(path, &strata_core::csv::CsvOptions::default()).unwrap()
    };
    let penicillin = LinearMixedModel::new("diameter ~ 1 + (1 | plate) + (1 | sample)")
        .unwrap()
        .fit(&read("lmm_penicillin_crossed"))
        .unwrap();
    let effects = penicillin.ranef();
    let find = |group: &str, level: &str| effects.iter().find(|e| e.group == group && e.level == level).unwrap();
    let close = |a: f64, e: f64| assert!((a - e).abs() < 1e-4 * e.abs(), "{a} vs {e}");
    close(find("plate", "a").value, 0.804_546_905_830);
    close(find("plate", "a").std_error.unwrap(), 0.271_359_302_589);
    close(find("sample", "F").value, -3.003_744_767_062_6);
    close(find("sample", "F").std_error.unwrap(), 0.202_170_685_096);
    let sleep =
        LinearMixedModel::new("Reaction ~ Days + (Days | Subject)").unwrap().fit(&read("lmm_sleepstudy_reml")).unwrap();
    let first = &sleep.ranef()[0];
    assert_eq!((first.level.as_str(), first.term.as_str()), ("308", "(Intercept)"));
    close(first.value, 2.258_550_949_9);
    close(first.std_error.unwrap(), 12.070_856_950_5);
    close(sleep.ranef()[1].std_error.unwrap(), 5.312_282_912_26f64.sqrt());
    // The whole conditional covariance of a level: attr(ranef(fit, condVar = TRUE)$Subject,
    // "postVar")[, , 1].
    let level = &sleep.conditional_covariances()[0];
    assert_eq!((level.level.as_str(), level.terms.len()), ("308", 2));
    close(level.covariance[0][0], 145.705_587_519_8);
    close(level.covariance[0][1], -21.444_503_597_94);
    close(level.covariance[1][0], -21.444_503_597_94);
    close(level.covariance[1][1], 5.312_282_912_26);
}

/// The parametric bootstrap of sleepstudy: the replicate standard deviation of the Days slope
/// estimates its Wald standard error (1.546), that of σ is near `bootMer`'s 1.45 (500
/// replicates), the intervals cover the estimates, and a seed reproduces the draws.
#[test]
fn the_parametric_bootstrap_is_seeded_and_agrees_with_the_wald_errors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/lmm_sleepstudy_reml/data.csv");
    let frame = strata_core::csv::read_csv(path, &strata_core::csv::CsvOptions::default()).unwrap();
    let fit = LinearMixedModel::new("Reaction ~ Days + (Days | Subject)").unwrap().fit(&frame).unwrap();
    let intervals = fit.parametric_bootstrap(200, 0.95, &mut Rng::new(42)).unwrap();
    let names: Vec<&str> = intervals.iter().map(|i| i.parameter.as_str()).collect();
    assert_eq!(
        names,
        [
            "(Intercept)",
            "Days",
            "sd_(Intercept)|Subject",
            "sd_Days|Subject",
            "cor_Days.(Intercept)|Subject",
            "sigma",
            "ICC|Subject"
        ]
    );
    let days = &intervals[1];
    assert_eq!(days.parameter, "Days");
    assert!((days.std_error - 1.546).abs() < 0.25, "{days:?}");
    assert!((intervals[5].std_error - 1.45).abs() < 0.3, "{:?}", intervals[5]);
    for interval in &intervals {
        assert!(interval.lower <= interval.estimate && interval.estimate <= interval.upper, "{interval:?}");
    }
    let again = fit.parametric_bootstrap(200, 0.95, &mut Rng::new(42)).unwrap();
    assert_eq!(intervals, again);
    assert!(fit.parametric_bootstrap(1, 0.95, &mut Rng::new(1)).is_err());
    assert!(fit.parametric_bootstrap(10, 1.5, &mut Rng::new(1)).is_err());
}

/// lme4: `predict(fit, newdata, allow.new.levels = TRUE)` and `re.form = NA` for sleepstudy
/// (subjects 308 and 309 and a new one), and `type = "response"` for cbpp (herd h3 and a new
/// herd).
#[test]
fn predictions_for_new_data_match_lme4() {
    let read = |case: &str| {
        let path = format!("{}/../../tests/reference/{case}/data.csv", env!("CARGO_MANIFEST_DIR"));
        strata_core::csv::read_csv(path, &strata_core::csv::CsvOptions::default()).unwrap()
    };
    let close = |a: f64, e: f64| assert!((a - e).abs() < 2e-5 * e.abs(), "{a} vs {e}");
    let sleep =
        LinearMixedModel::new("Reaction ~ Days + (Days | Subject)").unwrap().fit(&read("lmm_sleepstudy_reml")).unwrap();
    let new = DataFrame::new()
        .with_floats("Days", &[0.0, 5.0, 2.5])
        .unwrap()
        .with_levels("Subject", &["308".to_string(), "309".into(), "999".into()])
        .unwrap();
    let predictions = sleep.predict(&new).unwrap();
    for (p, (conditional, population)) in predictions.iter().zip([
        (253.663_655_798_386, 251.405_104_848_485),
        (220.244_393_491_444, 303.741_534_646_465),
        (277.573_319_747_475, 277.573_319_747_475),
    ]) {
        close(p.conditional, conditional);
        close(p.population, population);
    }
    // A column the model needs is missing.
    assert!(sleep.predict(&DataFrame::new().with_floats("Days", &[1.0]).unwrap()).is_err());

    let cbpp = strata_multilevel::GeneralizedLinearMixedModel::new(
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
        strata_core::family::Family::Binomial,
    )
    .unwrap()
    .fit(&read("glmm_cbpp_laplace"))
    .unwrap();
    let new = DataFrame::new()
        .with_levels("period", &["p1".to_string(), "p4".into()])
        .unwrap()
        .with_levels("herd", &["h3".to_string(), "h99".into()])
        .unwrap();
    let predictions = cbpp.predict(&new, strata_glm::PredictionScale::Response).unwrap();
    // Laplace fits agree with lme4 to about 1e-4 (see the validation report).
    assert!((predictions[0].conditional - 0.270_423_090_414_682).abs() < 1e-4, "{predictions:?}");
    assert!((predictions[0].population - 0.198_079_205_699_861).abs() < 1e-4, "{predictions:?}");
    assert!((predictions[1].conditional - 0.048_425_646_005_174_5).abs() < 1e-4, "{predictions:?}");
    assert_eq!(predictions[1].conditional, predictions[1].population);
    // A period the model has not seen is an error, not a silent zero.
    let unseen = DataFrame::new()
        .with_levels("period", &["p9".to_string()])
        .unwrap()
        .with_levels("herd", &["h3".to_string()])
        .unwrap();
    assert!(cbpp.predict(&unseen, strata_glm::PredictionScale::Link).is_err());
}

/// With a term of several effects, two crossed factors with many levels each would need a dense
/// matrix of the smaller one's effects larger than memory allows: a clear error, not an
/// allocation failure.
#[test]
fn too_many_effects_outside_the_largest_term_is_an_error() {
    let n = 13_000;
    let y: Vec<f64> = (0..n).map(|i| f64::from(i % 7)).collect();
    let x: Vec<f64> = (0..n).map(|i| f64::from(i % 5)).collect();
    let a: Vec<String> = (0..n).map(|i| format!("a{}", i % 12_500)).collect();
    let b: Vec<String> = (0..n).map(|i| format!("b{}", (i * 7) % 12_100)).collect();
    let frame = strata_core::DataFrame::new()
        .with_floats("y", &y)
        .unwrap()
        .with_floats("x", &x)
        .unwrap()
        .with_levels("a", &a)
        .unwrap()
        .with_levels("b", &b)
        .unwrap();
    let error = LinearMixedModel::new("y ~ 1 + (1 | a) + (1 + x | b)").unwrap().fit(&frame).unwrap_err();
    assert!(error.to_string().contains("dense"), "{error}");
}

/// Two intercept-only factors of 30,000 levels crossed at random on 800,000 rows: every level
/// of one meets levels all over the other, so the sparse factor fills in to nearly dense
/// (hundreds of millions of entries): a clear error naming the factors, before any allocation
/// of the factor or any fitting.
#[test]
fn a_crossing_whose_factor_fills_in_is_an_error() {
    let n = 800_000_u64;
    let mut state = 7_u64;
    let mut next = || {
        state = (69_069 * state + 1) % (1 << 32);
        state
    };
    let (mut y, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        y.push((i % 7) as f64);
        a.push(format!("a{}", (next() >> 8) % 30_000));
        b.push(format!("b{}", (next() >> 8) % 30_000));
    }
    let frame = strata_core::DataFrame::new()
        .with_floats("y", &y)
        .unwrap()
        .with_levels("a", &a)
        .unwrap()
        .with_levels("b", &b)
        .unwrap();
    let error = LinearMixedModel::new("y ~ 1 + (1 | a) + (1 | b)").unwrap().fit(&frame).unwrap_err();
    assert!(error.to_string().contains("cross so widely"), "{error}");
}

/// Prior weights as lme4's: `lmer(Reaction ~ Days + (Days | Subject), d, weights = w)` with
/// `w = 0.5 + (as.integer(Subject) %% 3) * 0.5 + Days / 10` gives REML criterion 1752.4193925,
/// σ 30.518588, fixed effects 250.92316874 and 10.56808457 with standard errors 7.155038075 and
/// 1.539759704; with `REML = FALSE` the deviance is 1760.80930613.
#[test]
fn prior_weights_match_lme4() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/lmm_sleepstudy_reml/data.csv");
    let frame = strata_core::csv::read_csv(path, &strata_core::csv::CsvOptions::default()).unwrap();
    let subjects = frame.numbers("Subject").unwrap();
    let days = frame.numbers("Days").unwrap();
    let mut levels: Vec<f64> = subjects.iter().flatten().collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    let w: Vec<f64> = subjects
        .iter()
        .zip(&days)
        .map(|(s, d)| {
            let index = levels.iter().position(|l| Some(*l) == s).unwrap() + 1;
            0.5 + (index % 3) as f64 * 0.5 + d.unwrap() / 10.0
        })
        .collect();
    let frame = frame.with_floats("w", &w).unwrap();
    let model = LinearMixedModel::new("Reaction ~ Days + (Days | Subject)").unwrap().weights("w");
    let fit = model.fit(&frame).unwrap();
    assert!(fit.objective() <= 1_752.419_392_5 + 1e-6 && fit.objective() > 1_752.419_39, "{}", fit.objective());
    assert!((fit.sigma() / 30.518_588 - 1.0).abs() < 1e-4);
    for ((b, se), (rb, rse)) in
        fit.coef().iter().zip(fit.std_errors()).zip([(250.923_168_74, 7.155_038_075), (10.568_084_57, 1.539_759_704)])
    {
        assert!((b - rb).abs() < 1e-3 && (se / rse - 1.0).abs() < 1e-4, "{b} {se}");
    }
    let ml = model.clone().ml().fit(&frame).unwrap();
    assert!((ml.objective() - 1_760.809_306_13).abs() < 1e-5, "{}", ml.objective());
    let negative = frame.with_floats("bad", &vec![-1.0; w.len()]).unwrap();
    assert!(LinearMixedModel::new("Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .weights("bad")
        .fit(&negative)
        .is_err());
}
