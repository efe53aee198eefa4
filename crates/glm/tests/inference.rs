//! Inference beyond the coefficient table, checked against R on the birthweight data of the
//! reference case `glm_birthwt_binomial`: profile-likelihood intervals (`confint(fit)`), sandwich
//! standard errors (`sandwich::vcovHC(fit, "HC0")`, `"HC1"`, `vcovCL(fit, cluster = ~race)`),
//! and separation.

use strata_core::csv::{read_csv, CsvOptions};
use strata_core::family::Family;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_glm::{Glm, GlmFit, RobustKind};

fn birthwt() -> (DataFrame, GlmFit) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/glm_birthwt_binomial/data.csv");
    let frame = read_csv(path, &CsvOptions::default()).unwrap();
    let fit = Glm::new("low ~ age + lwt + smoke + ptl + ht + ui", Family::Binomial).unwrap().fit(&frame).unwrap();
    (frame, fit)
}

fn standard_errors(v: &strata_core::numerics::Matrix) -> Vec<f64> {
    v.diag().into_iter().map(f64::sqrt).collect()
}

#[test]
fn profile_intervals_match_confint() {
    let (_, fit) = birthwt();
    // R 4 `confint(fit)` (profile likelihood, interpolated from a spline of the profile).
    let expected = [
        (-0.709_351_412_60, 3.578_701_548_567),
        (-0.112_204_247_83, 0.023_969_175_175),
        (-0.028_183_784_40, -0.001_925_795_751),
        (-0.124_859_296_30, 1.227_084_706_701),
        (-0.076_594_570_31, 1.303_828_287_672),
        (0.554_973_473_05, 3.302_529_991_131),
        (-0.169_523_312_53, 1.633_643_998_258),
    ];
    let intervals = fit.profile_conf_int(0.95).unwrap();
    for (j, ((low, high), (r_low, r_high))) in intervals.iter().zip(expected).enumerate() {
        // R's interpolation is accurate to about 1e-4 standard errors.
        let tolerance = 1e-3 * fit.std_errors()[j];
        assert!((low - r_low).abs() < tolerance && (high - r_high).abs() < tolerance, "{j}: ({low}, {high})");
    }
}

#[test]
fn sandwich_errors_match_the_sandwich_package() {
    let (frame, fit) = birthwt();
    let hc0 = [
        1.104_311_825_853,
        0.030_728_375_557,
        0.007_241_589_791,
        0.345_012_135_211,
        0.437_788_331_570,
        0.702_204_901_702,
        0.499_873_878_021,
    ];
    let hc1 = [
        1.125_348_227_05,
        0.031_313_730_55,
        0.007_379_537_23,
        0.351_584_385_48,
        0.446_127_906_29,
        0.715_581_435_11,
        0.509_396_140_85,
    ];
    let cluster = [
        1.171_176_760_936,
        0.014_783_862_123,
        0.005_407_309_253,
        0.351_390_498_557,
        0.180_927_542_828,
        0.423_896_992_273,
        0.417_006_369_666,
    ];
    let race = frame.column("race").unwrap();
    let labels: Vec<String> = fit.rows().iter().map(|&i| race.text(i).unwrap()).collect();
    for (kind, expected) in [(RobustKind::Hc0, hc0), (RobustKind::Hc1, hc1), (RobustKind::Cluster(labels), cluster)] {
        let se = standard_errors(&fit.robust_vcov(&kind).unwrap());
        // 1e-5, as for model-based standard errors: R evaluates the working weights one IRLS
        // step before the final estimates, strata at them.
        for (a, e) in se.iter().zip(expected) {
            assert!((a - e).abs() < 1e-5 * e, "{a} vs {e}");
        }
    }
}

#[test]
fn separation_is_reported() {
    // x separates y perfectly: the maximum-likelihood slope is infinite.
    let frame = DataFrame::new()
        .with_floats("x", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
        .unwrap()
        .with_floats("y", &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
        .unwrap();
    let fit = Glm::new("y ~ x", Family::Binomial).unwrap().fit(&frame).unwrap();
    let warnings = &fit.convergence().warnings;
    assert!(warnings.iter().any(|w| w.kind == strata_core::WarningKind::Separation), "{warnings:?}");
    assert!(fit.profile_conf_int(0.95).is_err(), "no finite profile limit under separation");
}

#[test]
fn nested_models_have_r_s_deviance_test() {
    let (frame, big) = birthwt();
    let small = Glm::new("low ~ age + lwt + smoke", Family::Binomial).unwrap().fit(&frame).unwrap();
    let test = big.lr_test(&small).unwrap();
    assert_eq!(test.df, 3.0);
    assert!((test.statistic - (small.deviance() - big.deviance())).abs() < 1e-12);
    assert!(small.lr_test(&big).is_err());
}

#[test]
fn predictions_match_predict_glm() {
    use strata_glm::PredictionScale;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/glm_insurance_poisson/data.csv");
    let frame = read_csv(path, &CsvOptions::default()).unwrap();
    let fit = Glm::new("Claims ~ District + Group + Age + offset(log(Holders))", Family::Poisson)
        .unwrap()
        .fit(&frame)
        .unwrap();
    let new = DataFrame::new()
        .with_levels("District", &["D2", "D4"])
        .unwrap()
        .with_levels("Group", &["<1l", ">2l"])
        .unwrap()
        .with_levels("Age", &["<25", ">35"])
        .unwrap()
        .with_floats("Holders", &[100.0, 1000.0])
        .unwrap();
    // R: predict(fit, newdata, type = "link" / "response", se.fit = TRUE).
    let link = fit.predict(&new, PredictionScale::Link).unwrap();
    let response = fit.predict(&new, PredictionScale::Response).unwrap();
    let eta = [2.809_298_458_805_12, 5.346_962_323_586_78];
    let se = [0.080_956_533_092_681_2, 0.078_370_793_872_868_3];
    for k in 0..2 {
        assert!((link[k].fit - eta[k]).abs() < 1e-6, "{} vs {}", link[k].fit, eta[k]);
        assert!((link[k].std_error - se[k]).abs() < 1e-5 * se[k], "{} vs {}", link[k].std_error, se[k]);
        assert!((response[k].fit - eta[k].exp()).abs() < 1e-6 * eta[k].exp());
        assert!((response[k].std_error - response[k].fit * link[k].std_error).abs() < 1e-12);
    }
    let unseen = new.clone().with_levels("Other", &["a", "b"]).unwrap();
    assert!(fit.predict(&unseen, PredictionScale::Link).is_ok(), "extra columns are ignored");
    let bad = DataFrame::new()
        .with_levels("District", &["D9"])
        .unwrap()
        .with_levels("Group", &["<1l"])
        .unwrap()
        .with_levels("Age", &["<25"])
        .unwrap()
        .with_floats("Holders", &[100.0])
        .unwrap();
    let error = fit.predict(&bad, PredictionScale::Link).unwrap_err();
    assert!(error.to_string().contains("was not in the data the model was fitted to"), "{error}");
}
