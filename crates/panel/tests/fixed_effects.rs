//! Fixed-effects fits equal the same models with the fixed effects as dummy variables (R's
//! `glm(y ~ x + factor(la) + factor(year))`), on the LA panel of the `fe_cpp_rate_feols` case:
//! the estimates, and the iid standard errors, by the Frisch–Waugh–Lovell theorem.

use strata_core::csv::{read_csv, CsvOptions};
use strata_core::family::Family;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_glm::Glm;
use strata_panel::fixed_effects::{FixedEffectsModel, VcovChoice};

fn panel() -> DataFrame {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/fe_cpp_rate_feols/data.csv");
    read_csv(path, &CsvOptions::default()).unwrap()
}

fn assert_matches_dummies(fe: &impl FittedModel, glm: &impl FittedModel, relative: f64) {
    for (j, name) in fe.coef_names().iter().enumerate() {
        let k = glm.coef_names().iter().position(|n| n == name).unwrap();
        let (a, b) = (fe.coef()[j], glm.coef()[k]);
        assert!((a - b).abs() <= relative * b.abs(), "{name}: {a} vs {b}");
        let (sa, sb) = (fe.std_errors()[j], glm.std_errors()[k]);
        assert!((sa - sb).abs() <= 1e-7 * sb, "{name} standard error: {sa} vs {sb}");
    }
}

#[test]
fn fepois_equals_poisson_glm_with_dummies() {
    let frame = panel();
    let fe = FixedEffectsModel::poisson(
        "cpp_starts ~ caseload_fte + agency_rate_fte + offset(log(children_0_17_mye)) | la_code + year",
    )
    .unwrap()
    .vcov(VcovChoice::Iid)
    .drop_singletons(false)
    .fit(&frame)
    .unwrap();
    // fepois removes the local authorities whose counts are all zero (their fixed effect is −∞);
    // the dummy-variable GLM is fitted without them.
    let (la, starts) = (frame.column("la_code").unwrap(), frame.numbers("cpp_starts").unwrap());
    let all_zero: Vec<String> = (0..frame.nrows())
        .filter_map(|i| la.text(i))
        .filter(|code| {
            (0..frame.nrows()).all(|j| la.text(j).as_ref() != Some(code) || starts.get(j).is_none_or(|s| s == 0.0))
        })
        .collect();
    assert!(!all_zero.is_empty() && fe.notes[0].contains("only 0 outcomes"), "{:?}", fe.notes);
    let kept: Vec<usize> = (0..frame.nrows()).filter(|&i| la.text(i).is_none_or(|c| !all_zero.contains(&c))).collect();
    let glm = Glm::new(
        "cpp_starts ~ caseload_fte + agency_rate_fte + la_code + year + offset(log(children_0_17_mye))",
        Family::Poisson,
    )
    .unwrap()
    .fit(&frame.take(&kept))
    .unwrap();
    assert_eq!(fe.nobs(), glm.nobs());
    assert_matches_dummies(&fe, &glm, 1e-8);
    // The β block of the dummy model's HC0 sandwich is the swept one (partitioned inverse);
    // fixest's heteroskedasticity-robust errors scale it by (n − 1)/(n − K).
    let hetero = FixedEffectsModel::poisson(
        "cpp_starts ~ caseload_fte + agency_rate_fte + offset(log(children_0_17_mye)) | la_code + year",
    )
    .unwrap()
    .vcov(VcovChoice::Hetero)
    .drop_singletons(false)
    .fit(&frame)
    .unwrap();
    let sandwich = glm.robust_vcov(&strata_glm::RobustKind::Hc0).unwrap();
    let (n, k) = (hetero.nobs() as f64, hetero.fit.n_parameters as f64);
    for (j, name) in hetero.coef_names().iter().enumerate() {
        let g = glm.coef_names().iter().position(|c| c == name).unwrap();
        let expected = (sandwich[(g, g)] * (n - 1.0) / (n - k)).sqrt();
        let se = hetero.std_errors()[j];
        assert!((se - expected).abs() < 1e-6 * expected, "{name}: {se} vs {expected}");
    }
    assert!(
        (fe.fit.deviance - glm.deviance()).abs() < 1e-6 * glm.deviance(),
        "{} vs {}",
        fe.fit.deviance,
        glm.deviance()
    );
    assert!((fe.log_likelihood().unwrap() - glm.log_likelihood().unwrap()).abs() < 1e-6);
}

#[test]
fn feols_equals_gaussian_glm_with_dummies() {
    let frame = panel();
    let fe = FixedEffectsModel::ols("cpp_rate ~ caseload_fte + agency_rate_fte | la_code + year")
        .unwrap()
        .vcov(VcovChoice::Iid)
        .drop_singletons(false)
        .fit(&frame)
        .unwrap();
    let glm = Glm::new("cpp_rate ~ caseload_fte + agency_rate_fte + la_code + year", Family::Gaussian)
        .unwrap()
        .fit(&frame)
        .unwrap();
    assert_matches_dummies(&fe, &glm, 1e-10);
}

/// A regressor constant within local authorities is absorbed by their fixed effects: removed and
/// reported, the others estimated as without it.
#[test]
fn absorbed_regressors_are_removed_and_reported() {
    let mut frame = panel();
    let codes: Vec<f64> = (0..frame.nrows())
        .map(|i| frame.column("la_code").unwrap().text(i).map_or(0.0, |t| t.bytes().map(f64::from).sum()))
        .collect();
    frame = frame.with_floats("la_constant", &codes).unwrap();
    let with = FixedEffectsModel::ols("cpp_rate ~ caseload_fte + la_constant + agency_rate_fte | la_code + year")
        .unwrap()
        .fit(&frame)
        .unwrap();
    let without = FixedEffectsModel::ols("cpp_rate ~ caseload_fte + agency_rate_fte | la_code + year")
        .unwrap()
        .fit(&frame)
        .unwrap();
    assert_eq!(with.fit.collinear, ["la_constant"]);
    assert!(with.notes.iter().any(|n| n.contains("la_constant")));
    assert_eq!(with.coef_names(), without.coef_names());
    for (a, b) in with.coef().iter().zip(without.coef()) {
        assert!((a - b).abs() < 1e-10 * b.abs());
    }
}

/// Two-way clustering is c·B(M_year + M_la − M_la∩year)B (Cameron, Gelbach & Miller 2011); each
/// LA-year is one row, so M_la∩year is White's. Rebuilt from the one-way and heteroskedasticity-
/// robust fits by undoing their small-sample factors: G/(G − 1)·(n − 1)/(n − K′), where K′ counts
/// the year fixed effects only when they are not nested in the clusters.
#[test]
fn two_way_clustering_combines_the_one_way_meats() {
    let frame = panel();
    let fit = |choice: VcovChoice| {
        FixedEffectsModel::ols("cpp_rate ~ caseload_fte + agency_rate_fte | year")
            .unwrap()
            .vcov(choice)
            .fit(&frame)
            .unwrap()
    };
    let cluster = |names: &[&str]| VcovChoice::Cluster(names.iter().map(ToString::to_string).collect());
    let (year, la, white, two) = (
        fit(cluster(&["year"])),
        fit(cluster(&["la_code"])),
        fit(VcovChoice::Hetero),
        fit(cluster(&["year", "la_code"])),
    );
    let n = two.nobs() as f64;
    // 9 years; 154 local authorities have complete rows (as feols by la_code reports).
    let (p, years, las_count) = (2.0, 9.0, 154.0);
    assert_eq!(two.fit.fixed_effect_sizes, [9]);
    let unscale_year = years / (years - 1.0) * (n - 1.0) / (n - p);
    let unscale_la = las_count / (las_count - 1.0) * (n - 1.0) / (n - p - years);
    let unscale_white = (n - 1.0) / (n - p - years);
    for j in 0..2 {
        let v = |fit: &strata_panel::fixed_effects::FixedEffectsResult| fit.vcov()[(j, j)];
        let expected = unscale_year * (v(&year) / unscale_year + v(&la) / unscale_la - v(&white) / unscale_white);
        assert!((v(&two) - expected).abs() < 1e-10 * expected, "{j}: {} vs {expected}", v(&two));
    }
    assert!(two.fit.vcov_kind.contains("year and la_code"));
    assert_eq!(two.fit.df_t, 8.0, "t on G_min − 1 = 9 years − 1");
}

#[test]
fn bad_input_is_named() {
    let frame = panel();
    let error = FixedEffectsModel::ols("cpp_rate ~ caseload_fte | la_cod").unwrap().fit(&frame).unwrap_err();
    assert!(error.to_string().contains("la_cod"), "{error}");
    let error = FixedEffectsModel::poisson("cpp_rate ~ caseload_fte | la_code").unwrap().fit(&frame);
    assert!(error.is_ok(), "non-integer rates are allowed in fepois, as fixest");
    let error = FixedEffectsModel::ols("cpp_rate ~ la_code | la_code").unwrap().fit(&frame).unwrap_err();
    assert!(error.to_string().contains("collinear"), "{error}");
}

/// `l(x, 1)` by LA and year is last year's value: the fit equals one on a lag column built by
/// hand, and a year repeated within an LA is an error.
#[test]
fn lags_by_unit_and_year() {
    let mut frame = panel();
    let years: Vec<f64> = (0..frame.nrows())
        .map(|i| frame.column("year").unwrap().text(i).unwrap()[1..].parse::<f64>().unwrap())
        .collect();
    frame = frame.with_floats("t", &years).unwrap();
    let la = frame.column("la_code").unwrap().clone();
    let caseload = frame.numbers("caseload_fte").unwrap();
    let by_hand: Vec<Option<f64>> = (0..frame.nrows())
        .map(|i| {
            (0..frame.nrows())
                .find(|&j| la.text(j) == la.text(i) && years[j] == years[i] - 1.0)
                .and_then(|j| caseload.get(j))
        })
        .collect();
    frame.push("caseload_last_year", strata_core::Column::Float(by_hand.into())).unwrap();
    let lagged = FixedEffectsModel::ols("cpp_rate ~ l(caseload_fte, 1) + agency_rate_fte | la_code + year")
        .unwrap()
        .panel("la_code", "t")
        .fit(&frame)
        .unwrap();
    let manual = FixedEffectsModel::ols("cpp_rate ~ caseload_last_year + agency_rate_fte | la_code + year")
        .unwrap()
        .fit(&frame)
        .unwrap();
    assert_eq!(lagged.coef_names()[0], "l(caseload_fte, 1)");
    assert_eq!(lagged.nobs(), manual.nobs());
    for (a, b) in lagged.coef().iter().zip(manual.coef()) {
        assert!((a - b).abs() < 1e-12 * b.abs(), "{a} vs {b}");
    }
    let error = FixedEffectsModel::ols("cpp_rate ~ l(caseload_fte, 1) | la_code").unwrap().fit(&frame).unwrap_err();
    assert!(error.to_string().contains("--panel"), "{error}");
}

/// Simulated low counts with an offset, 40 units × 12 periods: the starting means
/// (y + ȳ)/2 have a lower deviance than any model's fit, so IRLS must not halve its first step
/// back towards them (it once did, and stalled). fepois equals the dummy-variable GLM.
#[test]
fn fepois_converges_from_its_start_on_low_counts() {
    let mut rng = strata_core::random::Rng::new(7);
    let (units, periods) = (40, 12);
    let n = units * periods;
    let unit_effect: Vec<f64> = (0..units).map(|_| 0.5 * rng.normal()).collect();
    let (mut unit, mut period, mut x, mut exposure, mut y) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let (u, t) = (i / periods, i % periods);
        let xi = rng.normal();
        let e = 0.5 + 1.5 * rng.uniform();
        let mean = e * (-1.0 + 0.2 * xi + unit_effect[u] + 0.03 * t as f64).exp();
        unit.push(format!("u{u:02}"));
        period.push(format!("t{t:02}"));
        x.push(xi);
        exposure.push(e);
        y.push(rng.poisson(mean));
    }
    let frame = DataFrame::new()
        .with_levels("unit", &unit)
        .unwrap()
        .with_levels("period", &period)
        .unwrap()
        .with_floats("x", &x)
        .unwrap()
        .with_floats("exposure", &exposure)
        .unwrap()
        .with_floats("y", &y)
        .unwrap();
    let fe = FixedEffectsModel::poisson("y ~ x + offset(log(exposure)) | unit + period")
        .unwrap()
        .vcov(VcovChoice::Iid)
        .drop_singletons(false)
        .fit(&frame)
        .unwrap();
    assert!(fe.fit.converged && fe.fit.iterations < 20, "{} iterations", fe.fit.iterations);
    let glm = Glm::new("y ~ x + unit + period + offset(log(exposure))", Family::Poisson).unwrap().fit(&frame).unwrap();
    assert_matches_dummies(&fe, &glm, 1e-8);
}
