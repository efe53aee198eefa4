//! `strata lmm` and `strata glmm` beyond the reference cases: predictions for new data written
//! to CSV, profile intervals and the negative binomial GLMM against lme4, and options given
//! wrongly exit non-zero with a message naming the problem.

use std::process::{Command, Output};

const SLEEPSTUDY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/lmm_sleepstudy_reml/data.csv");

fn lmm(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["lmm", "--data", SLEEPSTUDY, "--formula", "Reaction ~ Days + (Days | Subject)"])
        .args(extra)
        .output()
        .expect("run strata lmm")
}

#[test]
fn predictions_for_new_data_are_written_with_new_levels_at_the_population_level() {
    let dir = std::env::temp_dir().join(format!("strata-lmm-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let new = dir.join("new.csv");
    let out = dir.join("predictions.csv");
    std::fs::write(&new, "Days,Subject\n0,308\n2.5,999\n").unwrap();
    let output = lmm(&["--predict", new.to_str().unwrap(), "--predictions", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<f64>> =
        text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    // lme4: predict(fit, newdata, allow.new.levels = TRUE) and re.form = NA.
    assert!((rows[0][1] - 251.405_104_848_485).abs() < 1e-3 && (rows[0][2] - 253.663_655_798_386).abs() < 1e-3);
    assert!((rows[1][1] - 277.573_319_747_475).abs() < 1e-3 && rows[1][1] == rows[1][2]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn options_given_wrongly_are_errors() {
    for (extra, message) in [
        (&["--predict", SLEEPSTUDY][..], "--predictions"),
        (&["--bootstrap", "many"][..], "--bootstrap"),
        (&["--bootstrap", "1"][..], "two replicates"),
    ] {
        let output = lmm(extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(message), "{extra:?}: {stderr}");
    }
}

/// Checks `strata lmm|glmm --profile --json` against lme4 1.1's `confint(fit, oldNames = FALSE)`
/// (profile intervals; lme4 interpolates a spline through its profile, so agreement is to
/// about 1e-5 relative). Returns the JSON.
fn assert_profile(command: &[&str], lme4: &[(&str, f64, f64)]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(command)
        .args(["--profile", "--json"])
        .output()
        .expect("run strata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let intervals = json["profile"].as_array().unwrap();
    assert_eq!(intervals.len(), lme4.len());
    for (name, lower, upper) in lme4 {
        let ours = intervals.iter().find(|i| i["parameter"] == *name).unwrap_or_else(|| panic!("{name} missing"));
        for (value, expected) in [(&ours["lower"], lower), (&ours["upper"], upper)] {
            let value = value.as_f64().unwrap();
            assert!((value - expected).abs() <= 2e-4 * expected.abs().max(1.0), "{name}: {value} vs lme4 {expected}");
        }
    }
    json
}

#[test]
fn profile_intervals_match_lme4() {
    // A correlated random slope.
    assert_profile(
        &["lmm", "--data", SLEEPSTUDY, "--formula", "Reaction ~ Days + (Days | Subject)"],
        &[
            ("sd_(Intercept)|Subject", 14.381_418_160_8, 37.715_995_318_3),
            ("cor_Days.(Intercept)|Subject", -0.481_500_758_3, 0.684_986_273_3),
            ("sd_Days|Subject", 3.801_164_053_3, 8.753_380_753_1),
            ("sigma", 22.898_266_882_1, 28.857_996_511_4),
            ("(Intercept)", 237.680_695_505_2, 265.129_514_680_2),
            ("Days", 7.358_653_275_1, 13.575_918_751_7),
        ],
    );
    // Nested, with the batch standard deviation's interval reaching zero.
    let pastes = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/lmm_pastes_nested/data.csv");
    assert_profile(
        &["lmm", "--data", pastes, "--formula", "strength ~ 1 + (1 | batch/cask)"],
        &[
            ("sd_(Intercept)|cask:batch", 2.157_933_708_2, 4.053_588_944),
            ("sd_(Intercept)|batch", 0.0, 2.946_591_097),
            ("sigma", 0.652_023_359_3, 1.085_448_104),
            ("(Intercept)", 58.663_650_378_7, 61.443_016_368),
        ],
    );
    // Crossed.
    let penicillin = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/lmm_penicillin_crossed/data.csv");
    assert_profile(
        &["lmm", "--data", penicillin, "--formula", "diameter ~ 1 + (1 | plate) + (1 | sample)"],
        &[
            ("sd_(Intercept)|plate", 0.633_565_967, 1.182_103_976),
            ("sd_(Intercept)|sample", 1.095_789_302_4, 3.556_290_952_6),
            ("sigma", 0.485_845_400_2, 0.629_453_478_5),
            ("(Intercept)", 21.266_627_383_6, 24.677_817_616_2),
        ],
    );
}

#[test]
fn glmm_profile_intervals_match_lme4_and_give_median_odds_ratio_intervals() {
    let cbpp = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/glmm_cbpp_laplace/data.csv");
    let formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
    let laplace = assert_profile(
        &["glmm", "--data", cbpp, "--family", "binomial", "--formula", formula],
        &[
            ("sd_(Intercept)|herd", 0.346_073_203_3, 1.099_974_648_4),
            ("(Intercept)", -1.901_211_954_9, -0.947_754_005_9),
            ("periodp2", -1.616_783_255_6, -0.407_763_067_8),
            ("periodp3", -1.801_024_365_6, -0.511_536_071_3),
            ("periodp4", -2.500_750_563, -0.800_755_315_3),
        ],
    );
    // The median odds ratio's interval is exp(√2 σ Φ⁻¹(0.75)) at the ends of σ's.
    let sd = &laplace["profile"][0];
    let ratio = &laplace["partition_intervals"][0]["median_ratio"];
    for (end, bound) in [(0, "lower"), (1, "upper")] {
        let sigma = sd[bound].as_f64().unwrap();
        let expected = (2f64.sqrt() * sigma * 0.674_489_750_196_081_7).exp();
        assert!((ratio[end].as_f64().unwrap() - expected).abs() < 1e-12);
    }
    assert_profile(
        &["glmm", "--data", cbpp, "--family", "binomial", "--nagq", "25", "--formula", formula],
        &[
            ("sd_(Intercept)|herd", 0.348_801_742_7, 1.111_297_466_2),
            ("(Intercept)", -1.904_684_055_1, -0.946_213_352_3),
            ("periodp2", -1.616_083_660_4, -0.406_610_820_8),
            ("periodp3", -1.800_408_173_7, -0.510_449_857_1),
            ("periodp4", -2.500_191_918, -0.799_592_024_6),
        ],
    );
}

/// `strata glmm --family negbin` on real data: child protection plans started by each local
/// authority and year, 2013–2025. lme4 1.1:
/// `glmer.nb(cpp_starts ~ year_c + imd2019_score + offset(log(children_0_17_mye)) + (1 | la_code))`
/// with `year_c = year - 2019` gives shape 20.7360050368, −2 log L 22803.4387486, θ 0.223319262717,
/// fixed effects −5.74727564896601, 0.00381200646151, 0.02462184138408 with standard errors
/// 0.056161800270, 0.001433765657, 0.002325404078.
#[test]
fn negative_binomial_glmm_matches_glmer_nb_on_the_la_panel() {
    let panel = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/england/la_panel.csv");
    if !std::path::Path::new(panel).exists() {
        eprintln!("skipped: it reads ../shared/data/england/la_panel.csv, which is absent");
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["glmm", "--data", panel, "--family", "negbin", "--json", "--formula"])
        .arg("cpp_starts ~ I(year - 2019) + imd2019_score + offset(log(children_0_17_mye)) + (1 | la_code)")
        .output()
        .expect("run strata glmm");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let close = |value: &serde_json::Value, expected: f64, relative: f64| {
        let value = value.as_f64().unwrap();
        assert!((value / expected - 1.0).abs() < relative, "{value} vs lme4 {expected}");
    };
    close(&json["negbin_shape"], 20.736_005_036_8, 1e-5);
    assert!(json["objective"].as_f64().unwrap() <= 22_803.438_748_6 + 1e-6);
    close(&json["theta"][0], 0.223_319_262_717, 1e-4);
    let lme4 = [
        (-5.747_275_648_966_01, 0.056_161_800_270),
        (0.003_812_006_461_51, 0.001_433_765_657),
        (0.024_621_841_384_08, 0.002_325_404_078),
    ];
    for (coefficient, (estimate, std_error)) in json["coefficients"].as_array().unwrap().iter().zip(lme4) {
        close(&coefficient["estimate"], estimate, 1e-4);
        close(&coefficient["std_error"], std_error, 1e-3);
    }
    // With 10 quadrature points the shape is chosen on the full likelihood too, and stays where
    // Laplace puts it (each authority has 13 years). (lme4's glmer.nb(nAGQ = 10) collapses to
    // shape 1.13 with a zero authority variance: its quadrature deviance drops the shape-dependent
    // constant.)
    let quadrature = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["glmm", "--data", panel, "--family", "negbin", "--nagq", "10", "--json", "--formula"])
        .arg("cpp_starts ~ I(year - 2019) + imd2019_score + offset(log(children_0_17_mye)) + (1 | la_code)")
        .output()
        .unwrap();
    let quadrature: serde_json::Value = serde_json::from_slice(&quadrature.stdout).unwrap();
    close(&quadrature["negbin_shape"], 20.736_005_036_8, 1e-4);
    let shape_without_negbin = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "glmm",
            "--data",
            panel,
            "--family",
            "poisson",
            "--shape",
            "2",
            "--formula",
            "cpp_starts ~ 1 + (1 | la_code)",
        ])
        .output()
        .unwrap();
    assert!(!shape_without_negbin.status.success());
}

/// `strata glmm --ranef`: conditional modes and standard deviations as lme4's
/// `ranef(fit, condVar = TRUE)` on the crossed Poisson grouseticks model (BROOD 501–503,
/// LOCATION 1–3).
#[test]
fn glmm_conditional_standard_deviations_match_lme4() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/glmm_grouseticks_poisson/data.csv");
    let out = std::env::temp_dir().join(format!("strata-glmm-ranef-{}.csv", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["glmm", "--data", data, "--family", "poisson", "--ranef", out.to_str().unwrap(), "--formula"])
        .arg("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)")
        .output()
        .expect("run strata glmm");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let condsd = |group: &str, level: &str| -> f64 {
        let prefix = format!("\"{group}\",\"{level}\",");
        let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
        line.rsplit(',').next().unwrap().parse().unwrap()
    };
    for (group, level, lme4) in [
        ("BROOD", "501", 0.633_574_014_0),
        ("BROOD", "502", 0.637_674_174_7),
        ("BROOD", "503", 0.503_068_383_8),
        ("LOCATION", "1", 0.413_302_810_3),
        ("LOCATION", "2", 0.484_893_828_8),
        ("LOCATION", "3", 0.468_618_119_8),
    ] {
        let ours = condsd(group, level);
        assert!((ours / lme4 - 1.0).abs() < 2e-5, "{group} {level}: {ours} vs lme4 {lme4}");
    }
    let _ = std::fs::remove_file(&out);
}

/// `--fitted`: lme4's `fitted()` and `residuals()` (deviance and Pearson for the GLMM) of the
/// first rows of sleepstudy and cbpp. The fits agree with lme4's to about 1e-5 (sleepstudy) and
/// 1e-4 (cbpp, whose lme4 deviance stops early), and so do these.
#[test]
fn fitted_values_and_residuals_match_lme4() {
    let cbpp = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/glmm_cbpp_laplace/data.csv");
    let dir = std::env::temp_dir().join(format!("strata-fitted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (lmm_out, glmm_out) = (dir.join("lmm.csv"), dir.join("glmm.csv"));
    let output = lmm(&["--fitted", lmm_out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["glmm", "--data", cbpp, "--family", "binomial", "--fitted", glmm_out.to_str().unwrap(), "--formula"])
        .arg("cbind(incidence, size - incidence) ~ period + (1 | herd)")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |path: &std::path::Path| -> Vec<Vec<f64>> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect()
    };
    let (sleep, herds) = (read(&lmm_out), read(&glmm_out));
    assert_eq!((sleep.len(), herds.len()), (180, 56));
    let lme4_sleep = [(253.663_655_798, -4.103_655_798_39), (273.329_917_524, -14.625_217_523_55)];
    for (row, (fitted, residual)) in sleep.iter().zip(lme4_sleep) {
        assert!((row[1] - fitted).abs() < 1e-3 && (row[2] - residual).abs() < 1e-3, "{row:?}");
    }
    let lme4_herds =
        [(0.308_164_723_6, -1.437_707_819_6, -1.339_565_566), (0.141_773_369_9, 0.988_471_956_4, 1.074_796_973)];
    for (row, (fitted, deviance, pearson)) in herds.iter().zip(lme4_herds) {
        assert_eq!(row.len(), 4);
        assert!((row[1] - fitted).abs() < 1e-4 && (row[2] - deviance).abs() < 1e-3 && (row[3] - pearson).abs() < 1e-3);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
