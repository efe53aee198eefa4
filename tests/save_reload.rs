//! Save → reload → predict: a fitted GLM, Cox model, Kaplan–Meier fit, Fine–Gray model,
//! multi-state Markov and multi-state Cox model, multinomial and cumulative link model, linear
//! and generalised linear mixed model written with serde (JSON here) and read back give the same
//! estimates, summaries and predictions, bit for bit.

use strata::glm::{Glm, GlmFit, PredictionScale};
use strata::multilevel::{GlmmFit, LmmFit, MixedPrediction};
use strata::pathways::cox::CoxFit;
use strata::pathways::kaplan_meier::{ConfType, KmFit};
use strata::pathways::multistate::Stay;
use strata::prelude::*;

fn case(name: &str) -> DataFrame {
    let path = format!("{}/tests/reference/{name}/data.csv", env!("CARGO_MANIFEST_DIR"));
    read_csv(path, &CsvOptions::default()).expect("a reference case's data")
}

/// The value written as JSON and read back.
fn reloaded<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    serde_json::from_str(&serde_json::to_string(value).expect("serialises")).expect("deserialises")
}

fn bits(values: impl IntoIterator<Item = f64>) -> Vec<u64> {
    values.into_iter().map(f64::to_bits).collect()
}

#[test]
fn a_glm_predicts_the_same_after_reloading() {
    // A Poisson model with an offset, and a negative binomial with θ estimated.
    let models = [
        ("glm_insurance_poisson", Glm::new("Claims ~ District + Group + Age + offset(log(Holders))", Family::Poisson)),
        ("glm_quine_negbin", Glm::negative_binomial("Days ~ Eth + Sex + Age + Lrn")),
    ];
    for (name, glm) in models {
        let data = case(name);
        let fit = glm.unwrap().fit(&data).unwrap();
        let back: GlmFit = reloaded(&fit);
        assert_eq!(bits(back.coef().iter().copied()), bits(fit.coef().iter().copied()));
        assert_eq!(bits(back.std_errors()), bits(fit.std_errors()));
        assert_eq!(back.summary().to_string(), fit.summary().to_string());
        for scale in [PredictionScale::Link, PredictionScale::Response] {
            let (before, after) = (fit.predict(&data, scale).unwrap(), back.predict(&data, scale).unwrap());
            assert_eq!(bits(before.iter().map(|p| p.fit)), bits(after.iter().map(|p| p.fit)));
            assert_eq!(bits(before.iter().map(|p| p.std_error)), bits(after.iter().map(|p| p.std_error)));
        }
    }
}

#[test]
fn a_cox_model_predicts_the_same_after_reloading() {
    let data = case("cox_veteran_strata");
    let fit = CoxPh::new("Surv(time, status) ~ trt + karno + age + strata(celltype)").unwrap().fit(&data).unwrap();
    let back: CoxFit = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.summary().to_string(), fit.summary().to_string());
    let times = [30.0, 100.0, 250.0];
    assert_eq!(back.predict_survival(&data, &times).unwrap(), fit.predict_survival(&data, &times).unwrap());
}

#[test]
fn kaplan_meier_curves_are_the_same_after_reloading() {
    let data = case("km_lung_by_sex");
    let fit = KaplanMeier::new("Surv(time, status) ~ sex").unwrap().conf_type(ConfType::Log).fit(&data).unwrap();
    let back: KmFit = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.summary().to_string(), fit.summary().to_string());
}

#[test]
fn categorical_models_predict_the_same_after_reloading() {
    let housing = case("mnl_housing");
    let levels: Vec<String> = ["Low", "Medium", "High"].map(String::from).to_vec();
    let multinomial = MultinomialModel::new("Sat ~ Infl + Type + Cont")
        .unwrap()
        .levels(&levels)
        .weights("Freq")
        .fit(&housing)
        .unwrap();
    let back: strata::categorical::multinomial::MultinomialFit = reloaded(&multinomial);
    assert_eq!(back, multinomial);
    assert_eq!(back.predict(&housing).unwrap(), multinomial.predict(&housing).unwrap());
    let wine = case("ord_wine_clm");
    let grades: Vec<String> = (1..=5).map(|g| g.to_string()).collect();
    let ordinal = CumulativeLinkModel::new("rating ~ temp + contact", Some(&grades)).unwrap().fit(&wine).unwrap();
    let back: strata::categorical::ordinal::CumulativeLinkFit = reloaded(&ordinal);
    assert_eq!(back, ordinal);
    assert_eq!(back.predict(&wine).unwrap(), ordinal.predict(&wine).unwrap());
}

#[test]
fn a_fine_gray_fit_is_the_same_after_reloading() {
    let data = case("cr_mgus2_finegray");
    let fit =
        strata::pathways::fine_gray::FineGray::new("Surv(etime, event) ~ age + sex", 1, 0).unwrap().fit(&data).unwrap();
    let back: strata::pathways::fine_gray::FineGrayFit = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.model, "fine_gray");
}

#[test]
fn a_multi_state_model_gives_the_same_probabilities_after_reloading() {
    use strata::pathways::msm::{MsmFit, MultiStateModel};
    let data = case("msm_psor_progressive");
    let q = strata::core::numerics::Matrix::from_fn(4, 4, |r, s| if s == r + 1 { 0.1 } else { 0.0 });
    let fit = MultiStateModel::new(q, "ptnum", "months", "state").unwrap().fit(&data).unwrap();
    let fit = fit.with_probabilities_at(&[1.0, 10.0]);
    let back: MsmFit = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.model, "msm");
    for t in [0.5, 5.0, 30.0] {
        let (a, b) = (back.transition_probabilities(t), fit.transition_probabilities(t));
        assert_eq!(bits(a.as_slice().iter().copied()), bits(b.as_slice().iter().copied()));
    }
    assert_eq!(back.to_string(), fit.to_string());
}

/// Estimators without a model to predict from (curves, tests, indices) read back equal.
#[test]
fn curves_and_tests_are_the_same_after_reloading() {
    let data = case("cr_mgus2_cuminc");
    let time: Vec<f64> = (0..data.nrows()).map(|i| data.column("etime").unwrap().number(i).unwrap()).collect();
    let status: Vec<i64> = (0..data.nrows()).map(|i| data.column("event").unwrap().number(i).unwrap() as i64).collect();
    let incidence = CumulativeIncidence::new(&time, &status, 0).unwrap();
    let back = reloaded(&incidence);
    assert_eq!(back, incidence);
    assert_eq!(back.at(&[12.0, 60.0]), incidence.at(&[12.0, 60.0]));

    // Aalen–Johansen from an illness–death history: occupation and transition probabilities,
    // their variances and lengths of stay come back from the reloaded estimate.
    let data = case("ms_illness_death_etm");
    let states: Vec<String> = ["dead", "healthy", "ill"].map(String::from).to_vec();
    let text = |name: &str, i: usize| data.column(name).unwrap().text(i);
    let stays: Vec<Stay> = (0..data.nrows())
        .map(|i| Stay {
            subject: text("id", i).unwrap(),
            state: states.iter().position(|s| Some(s.clone()) == text("state", i)).unwrap(),
            start: data.column("start").unwrap().number(i).unwrap(),
            stop: data.column("stop").unwrap().number(i).unwrap(),
            next: text("next", i).and_then(|to| states.iter().position(|s| *s == to)),
        })
        .collect();
    let fit = AalenJohansen::new(&states, &stays).unwrap();
    let back = reloaded(&fit);
    assert_eq!(back, fit);
    let tau = *fit.times.last().unwrap();
    assert_eq!(
        back.summary_from(1.0, &[2.0, tau], tau).to_string(),
        fit.summary_from(1.0, &[2.0, tau], tau).to_string()
    );
}

#[test]
fn a_multi_state_cox_model_is_the_same_after_reloading() {
    use std::collections::BTreeMap;
    use strata::pathways::cox::CoxEngine;
    use strata::pathways::multistate::{MultiStateCox, Stay};
    let states = ["referral", "plan", "care"].map(String::from).to_vec();
    let (mut stays, mut baseline) = (Vec::new(), BTreeMap::new());
    for child in 0..60_u32 {
        let subject = format!("c{child}");
        let deprived = f64::from(child % 2);
        let first = 1.0 + f64::from(child * 7 % 13) / (1.0 + deprived);
        let next = if child % 3 == 0 { 2 } else { 1 };
        stays.push(Stay { subject: subject.clone(), state: 0, start: 0.0, stop: first, next: Some(next) });
        if next == 1 {
            let stop = first + 2.0 + f64::from(child % 5);
            stays.push(Stay {
                subject: subject.clone(),
                state: 1,
                start: first,
                stop,
                next: (child % 4 == 1).then_some(2),
            });
        }
        baseline.insert(subject, vec![deprived]);
    }
    let fit = MultiStateCox::fit(&states, &stays, &["deprived".to_string()], &baseline, &CoxEngine::new()).unwrap();
    let back: MultiStateCox = reloaded(&fit);
    assert_eq!(back.transitions, fit.transitions);
    assert_eq!(bits(back.fit.coef().iter().copied()), bits(fit.fit.coef().iter().copied()));
    assert_eq!(back.fit.summary().to_string(), fit.fit.summary().to_string());
}

fn mixed_bits(predictions: &[MixedPrediction]) -> Vec<(u64, u64)> {
    predictions.iter().map(|p| (p.population.to_bits(), p.conditional.to_bits())).collect()
}

#[test]
fn mixed_models_predict_the_same_after_reloading() {
    let data = case("lmm_sleepstudy_reml");
    let fit = LinearMixedModel::new("Reaction ~ Days + (Days | Subject)").unwrap().fit(&data).unwrap();
    let back: LmmFit = reloaded(&fit);
    assert_eq!(bits(back.coef().iter().copied()), bits(fit.coef().iter().copied()));
    assert_eq!(back.summary().to_string(), fit.summary().to_string());
    assert_eq!(bits(back.fitted()), bits(fit.fitted()));
    assert_eq!(mixed_bits(&back.predict(&data).unwrap()), mixed_bits(&fit.predict(&data).unwrap()));

    let data = case("glmm_cbpp_laplace");
    let model =
        GeneralizedLinearMixedModel::new("cbind(incidence, size - incidence) ~ period + (1 | herd)", Family::Binomial);
    let fit = model.unwrap().fit(&data).unwrap();
    let back: GlmmFit = reloaded(&fit);
    assert_eq!(bits(back.coef().iter().copied()), bits(fit.coef().iter().copied()));
    assert_eq!(back.summary().to_string(), fit.summary().to_string());
    for scale in [PredictionScale::Link, PredictionScale::Response] {
        let (before, after) = (fit.predict(&data, scale).unwrap(), back.predict(&data, scale).unwrap());
        assert_eq!(mixed_bits(&after), mixed_bits(&before));
    }
}

/// A fit with no prediction from new data (a latent class model, a cumulative link mixed model,
/// a fixed-effects panel, an interrupted time series) reads back equal, field for field, with
/// the same printed summary.
#[test]
fn latent_class_mixed_ordinal_panel_and_time_series_fits_are_the_same_after_reloading() {
    let data = case("lca_assessment_factors_4class");
    let names: Vec<String> = data.names().to_vec();
    let columns: Vec<Vec<Option<f64>>> = names.iter().map(|n| data.numbers(n).unwrap().into_iter().collect()).collect();
    let indicators = Indicators::new(&names, &columns).unwrap();
    let fit = LatentClassModel::new(3).starts(5).fit(&indicators).unwrap();
    let back = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(bits(back.posteriors()), bits(fit.posteriors()));

    let data = case("ord_wine_clmm");
    let levels: Vec<String> = (1..=5).map(|l| l.to_string()).collect();
    let model = strata::multilevel::ordinal_mixed::CumulativeLinkMixedModel::new(
        "rating ~ temp + contact + (1 | judge)",
        Some(&levels),
    );
    let fit = model.unwrap().fit(&data).unwrap();
    let back = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.summary().to_string(), fit.summary().to_string());

    let data = case("fe_cpp_rate_feols");
    let model = strata::panel::fixed_effects::FixedEffectsModel::ols(
        "cpp_rate ~ caseload_fte + agency_rate_fte | la_code + year",
    );
    let fit = model.unwrap().estimate_fixef(true).fit(&data).unwrap();
    let back = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.summary().to_string(), fit.summary().to_string());

    let data = case("its_s47_gaussian_hac");
    let fit = strata::panel::its::InterruptedTimeSeries::new("s47_rate", "month", &[45.0], 4).fit(&data).unwrap();
    let back = reloaded(&fit);
    assert_eq!(back, fit);
    assert_eq!(back.to_string(), fit.to_string());
}
