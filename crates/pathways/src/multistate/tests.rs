//! The Aalen–Johansen estimator against Kaplan–Meier and hand computations.

use super::*;
use crate::KaplanMeier;
use strata_core::DataFrame;

#[test]
fn with_one_transition_it_is_kaplan_meier() {
    let times = [2.0, 3.0, 3.0, 5.0, 7.0, 8.0];
    let died = [true, true, false, true, false, true];
    let stays: Vec<Stay> = times
        .iter()
        .zip(died)
        .enumerate()
        .map(|(i, (&t, d))| Stay { subject: format!("c{i}"), state: 0, start: 0.0, stop: t, next: d.then_some(1) })
        .collect();
    let fit = AalenJohansen::new(&["alive".into(), "dead".into()], &stays).unwrap();
    let frame = DataFrame::new()
        .with_floats("t", &times)
        .unwrap()
        .with_floats("d", &died.map(|d| f64::from(u8::from(d))))
        .unwrap();
    let km = KaplanMeier::new("Surv(t, d) ~ 1").unwrap().fit(&frame).unwrap();
    let curve = &km.curves()[0];
    for (t, s) in curve.time.iter().zip(&curve.survival) {
        assert!((fit.transition_probabilities(*t)[(0, 0)] - s).abs() < 1e-14, "at {t}");
        // Greenwood's variance, for P₀₀ and (P₀₁ = 1 − P₀₀) alike; where the curve reaches
        // zero Greenwood's formula is undefined and the recursion gives zero.
        if *s == 0.0 {
            assert_eq!(fit.transition_variances(*t)[(0, 0)], 0.0);
            continue;
        }
        let variances = fit.transition_variances(*t);
        let greenwood = curve.std_error[curve.time.iter().position(|u| u == t).unwrap()].powi(2);
        assert!(
            (variances[(0, 0)] - greenwood).abs() < 1e-14 && (variances[(0, 1)] - greenwood).abs() < 1e-14,
            "at {t}"
        );
        assert!((fit.occupation_std_errors(*t)[0] - greenwood.sqrt()).abs() < 1e-14);
        let occupation = fit.occupation(*t);
        assert!((occupation.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        assert_eq!(fit.transition_variances_between(0.0, *t), variances);
    }
    // From s = 3 to 7 only the death at 5 (3 at risk) counts: P₀₀(3, 7) = 2/3, and Greenwood
    // conditional on survival to 3 gives (2/3)² · 1/(3 · 2) = 2/27.
    assert!((fit.transition_probabilities_between(3.0, 7.0)[(0, 0)] - 2.0 / 3.0).abs() < 1e-15);
    assert!((fit.transition_variances_between(3.0, 7.0)[(0, 0)] - 2.0 / 27.0).abs() < 1e-15);
}

#[test]
fn histories_become_stays() {
    let entry = |subject: &str, time: f64, state: usize| Entry { subject: subject.into(), time, state };
    // Child a: referral (0) at 0, plan (1) at 2, a repeated plan entry, exit (2) at 5.
    // Child b: referral at 1, still there at the census date 10.
    let entries = [entry("a", 2.0, 1), entry("b", 1.0, 0), entry("a", 0.0, 0), entry("a", 3.0, 1), entry("a", 5.0, 2)];
    let stays = stays_from_entries(&entries, 10.0, &[false, false, true]).unwrap();
    let expected = [
        Stay { subject: "a".into(), state: 0, start: 0.0, stop: 2.0, next: Some(1) },
        Stay { subject: "a".into(), state: 1, start: 2.0, stop: 5.0, next: Some(2) },
        Stay { subject: "b".into(), state: 0, start: 1.0, stop: 10.0, next: None },
    ];
    assert_eq!(stays, expected);
    let clash = [entry("a", 0.0, 0), entry("a", 0.0, 1)];
    assert!(stays_from_entries(&clash, 10.0, &[false, false, true])
        .unwrap_err()
        .to_string()
        .contains("two different states"));
    assert!(stays_from_entries(&[entry("a", 11.0, 0)], 10.0, &[false]).is_err());
    assert!(stays_from_entries(&[entry("a", 1.0, 3)], 10.0, &[false]).is_err());
}

#[test]
fn bad_stays_are_errors() {
    let stay = Stay { subject: "a".into(), state: 0, start: 2.0, stop: 1.0, next: Some(1) };
    assert!(AalenJohansen::new(&["x".into(), "y".into()], &[stay]).is_err());
}
