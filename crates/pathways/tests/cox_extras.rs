//! Robust variances, residuals, baseline hazards and predicted survival, checked against R's
//! survival 3.5.3 on the lung data of the reference cases (rows with `ph.ecog` and `inst`):
//! `coxph(Surv(time, status) ~ age + sex + ph.ecog + cluster(inst), ties = …)`, `residuals`,
//! `basehaz(fit, centered = FALSE)` and `survfit(fit, newdata)`.

use strata_core::csv::{read_csv, CsvOptions};
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_pathways::cox::CoxResidual;
use strata_pathways::{CoxPh, Ties};

fn lung() -> DataFrame {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/cox_lung_efron/data.csv");
    read_csv(path, &CsvOptions::default()).unwrap()
}

struct Expected {
    ties: Ties,
    robust_se: [f64; 3],
    martingale_first: [f64; 5],
    martingale_ss: f64,
    deviance_ss: f64,
    schoenfeld_first: [f64; 3],
    baseline_last: f64,
    survival: [[f64; 2]; 2],
}

fn check(expected: &Expected) {
    let fit = CoxPh::new("Surv(time, status) ~ age + sex + ph.ecog + cluster(inst)")
        .unwrap()
        .ties(expected.ties)
        .fit(&lung())
        .unwrap();
    let close =
        |a: f64, e: f64, tol: f64, what: &str| assert!((a - e).abs() <= tol * e.abs().max(1e-12), "{what}: {a} vs {e}");
    for (a, e) in fit.std_errors().iter().zip(expected.robust_se) {
        close(*a, e, 1e-5, "robust standard error");
    }
    let martingale = fit.residuals(CoxResidual::Martingale);
    assert_eq!(martingale.len(), 226);
    for (a, e) in martingale.iter().zip(expected.martingale_first) {
        close(*a, e, 1e-6, "martingale residual");
    }
    close(martingale.iter().map(|m| m * m).sum(), expected.martingale_ss, 1e-6, "Σ martingale²");
    close(fit.residuals(CoxResidual::Deviance).iter().map(|m| m * m).sum(), expected.deviance_ss, 1e-6, "Σ deviance²");
    let (times, schoenfeld) = fit.schoenfeld_residuals();
    assert_eq!(times.len(), 163);
    for k in 0..3 {
        close(schoenfeld[(0, k)], expected.schoenfeld_first[k], 1e-6, "Schoenfeld residual");
    }
    let baseline = fit.baseline_hazard();
    close(baseline.last().unwrap().hazard, expected.baseline_last, 1e-6, "baseline cumulative hazard");
    assert_eq!(baseline.last().unwrap().time, 1022.0);
    let new = DataFrame::new()
        .with_floats("age", &[60.0, 70.0])
        .unwrap()
        .with_levels("sex", &["female", "male"])
        .unwrap()
        .with_floats("ph.ecog", &[0.0, 2.0])
        .unwrap();
    let survival = fit.predict_survival(&new, &[100.0, 365.0]).unwrap();
    for person in 0..2 {
        for t in 0..2 {
            close(survival[person][t], expected.survival[t][person], 1e-6, "predicted survival");
        }
    }
}

#[test]
fn efron_extras_match_survival() {
    check(&Expected {
        ties: Ties::Efron,
        robust_se: [0.006_888_727_058_66, 0.112_286_679_925_36, 0.117_615_953_254_85],
        martingale_first: [
            0.026_253_389_492_6,
            0.049_288_453_577_8,
            -2.209_353_072_834_0,
            0.507_878_264_736_5,
            -1.310_879_995_241_5,
        ],
        martingale_ss: 176.867_755_164,
        deviance_ss: 287.922_369_371,
        schoenfeld_first: [0.871_952_819_256, -0.729_591_602_105, -1.204_367_050_573],
        baseline_last: 0.675_099_720_765,
        survival: [[0.943_274_433_903, 0.747_231_345_375], [0.676_589_330_744, 0.142_362_966_296]],
    });
}

#[test]
fn breslow_extras_match_survival() {
    check(&Expected {
        ties: Ties::Breslow,
        robust_se: [0.006_867_511_164_6, 0.111_998_201_160_6, 0.117_123_268_892_0],
        martingale_first: [
            0.028_096_281_767_1,
            0.050_304_554_731_1,
            -2.208_874_356_682_1,
            0.508_757_931_593_6,
            -1.310_127_557_182_7,
        ],
        martingale_ss: 176.292_598_403,
        deviance_ss: 285.049_926_862,
        schoenfeld_first: [0.875_259_810_008, -0.729_434_274_379, -1.203_901_911_035],
        baseline_last: 0.676_503_150_885,
        survival: [[0.943_294_656_560, 0.747_901_873_233], [0.676_667_701_717, 0.143_200_143_188]],
    });
}

/// R: `cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, ties = …), transform = "km")$table`.
#[test]
fn proportional_hazards_tests_match_cox_zph() {
    let cases = [
        (Ties::Breslow, [0.188_085_661_2, 2.297_197_354_9, 2.051_708_611_7, 4.451_012_333_8]),
        (Ties::Efron, [0.187_987_673_7, 2.305_437_227_4, 2.054_248_774_1, 4.463_657_588_8]),
    ];
    for (ties, expected) in cases {
        let fit = CoxPh::new("Surv(time, status) ~ age + sex + ph.ecog").unwrap().ties(ties).fit(&lung()).unwrap();
        let tests = fit.proportional_hazards_test().unwrap();
        assert_eq!(tests.iter().map(|t| t.term.as_str()).collect::<Vec<_>>(), ["age", "sexmale", "ph.ecog", "GLOBAL"]);
        for (test, e) in tests.iter().zip(expected) {
            assert!((test.chisq - e).abs() < 1e-6 * e, "{ties:?} {}: {} vs {e}", test.term, test.chisq);
        }
    }
}

/// Predicted survival from a stratified model uses each row's stratum:
/// `summary(survfit(coxph(Surv(time, status) ~ age + strata(sex), lung), newdata = nd),
/// times = c(100, 365))` with `nd` a 60-year-old man and a 70-year-old woman.
#[test]
fn stratified_predictions_use_each_rows_stratum() {
    let fit = CoxPh::new("Surv(time, status) ~ age + strata(sex)").unwrap().fit(&lung()).unwrap();
    let new =
        DataFrame::new().with_floats("age", &[60.0, 70.0]).unwrap().with_levels("sex", &["male", "female"]).unwrap();
    let survival = fit.predict_survival(&new, &[100.0, 365.0]).unwrap();
    let expected = [[0.834_958_498_944, 0.358_337_921_161], [0.911_815_210_656, 0.485_786_203_039]];
    for (ours, theirs) in survival.iter().zip(expected) {
        for (a, e) in ours.iter().zip(theirs) {
            assert!((a - e).abs() < 1e-9, "{a} vs survival {e}");
        }
    }
    let unknown = DataFrame::new().with_floats("age", &[60.0]).unwrap().with_levels("sex", &["other"]).unwrap();
    assert!(fit.predict_survival(&unknown, &[100.0]).is_err());
}
