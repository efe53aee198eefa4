//! Multi-state fits recover the intensities of simulated pathways.

use super::*;
use crate::CoxPh;
use strata_core::results::FittedModel;
use strata_data::synthetic::{pathways, PATHWAY_STATES};

/// The generator's escalation effect is recovered by a transition-specific Cox model on the
/// stays in "child in need" (counting-process data), and the occupation probabilities sum
/// to one.
#[test]
fn the_pathway_generator_is_recovered() {
    let frame = pathways(4000, 0.1, 17).unwrap();
    let cin: Vec<usize> = frame.rows_where("state", |s| s == Some("child in need")).unwrap();
    let next = frame.column("next").unwrap();
    let to_plan: Vec<f64> =
        cin.iter().map(|&i| f64::from(u8::from(next.text(i).as_deref() == Some("protection plan")))).collect();
    let stays = frame.take(&cin).with_floats("to_plan", &to_plan).unwrap();
    let cox = CoxPh::new("Surv(start, stop, to_plan) ~ deprivation").unwrap().fit(&stays).unwrap();
    let (low, high) = cox.conf_int(0.95)[0];
    assert!(low < 0.1 && 0.1 < high, "({low}, {high})");

    let names: Vec<String> = PATHWAY_STATES.iter().map(|s| (*s).to_string()).collect();
    let column = |name: &str| frame.column(name).unwrap().clone();
    let (child, state, starts, stops) =
        (column("child"), column("state"), frame.numbers("start").unwrap(), frame.numbers("stop").unwrap());
    let index = |text: Option<String>| text.and_then(|t| names.iter().position(|n| *n == t));
    let stays: Vec<Stay> = (0..frame.nrows())
        .map(|i| Stay {
            subject: child.text(i).unwrap(),
            state: index(state.text(i)).unwrap(),
            start: starts.get(i).unwrap(),
            stop: stops.get(i).unwrap(),
            next: index(next.text(i)),
        })
        .collect();
    let fit = AalenJohansen::new(&names, &stays).unwrap();
    for t in [30.0, 365.0, 1000.0] {
        let p = fit.occupation(t);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    assert!(fit.occupation(1000.0)[5] > 0.5, "most cases are closed within three years");
    // P(s, t) composes as the product integral does: P(0, t) = P(0, s) P(s, t).
    let (early, late) = (fit.transition_probabilities(200.0), fit.transition_probabilities_between(200.0, 900.0));
    let composed = early.matmul(&late);
    let direct = fit.transition_probabilities(900.0);
    for r in 0..6 {
        for c in 0..6 {
            assert!((composed[(r, c)] - direct[(r, c)]).abs() < 1e-12);
        }
        let row: f64 = (0..6).map(|c| late[(r, c)]).sum();
        assert!((row - 1.0).abs() < 1e-12);
    }
    assert_eq!(fit.transition_probabilities_between(500.0, 400.0), Matrix::identity(6));

    // The multi-state Cox model: the long format, one stratum per transition and the
    // deprivation effect expanded per transition. Its log partial likelihood is the sum of
    // the transition-specific ones, and its coefficients are theirs.
    let moves: Vec<(&str, &str)> = vec![
        ("referral", "assessment"),
        ("referral", "closed"),
        ("assessment", "child in need"),
        ("assessment", "closed"),
        ("child in need", "protection plan"),
        ("child in need", "closed"),
        ("protection plan", "looked after"),
        ("protection plan", "child in need"),
        ("looked after", "closed"),
    ];
    let transitions = Transitions::new(&PATHWAY_STATES, &moves).unwrap();
    assert_eq!(transitions.absorbing(), [false, false, false, false, false, true]);
    let rows = transitions.at_risk(&stays).unwrap();
    let indices: Vec<usize> = rows.iter().map(|r| r.stay).collect();
    let deprivation = frame.numbers("deprivation").unwrap();
    let mut long = frame
        .take(&indices)
        .with_floats("status", &rows.iter().map(|r| f64::from(u8::from(r.status))).collect::<Vec<_>>())
        .unwrap()
        .with_levels("trans", &rows.iter().map(|r| format!("t{}", r.transition + 1)).collect::<Vec<_>>())
        .unwrap();
    let k = moves.len();
    for t in 0..k {
        let expanded: Vec<f64> =
            rows.iter().map(|r| if r.transition == t { deprivation.get(r.stay).unwrap() } else { 0.0 }).collect();
        long = long.with_floats(format!("dep{}", t + 1), &expanded).unwrap();
    }
    let terms: Vec<String> = (1..=k).map(|t| format!("dep{t}")).collect();
    let formula = format!("Surv(start, stop, status) ~ {} + strata(trans)", terms.join(" + "));
    let joint = CoxPh::new(&formula).unwrap().fit(&long).unwrap();
    let mut total = 0.0;
    for t in 0..k {
        let label = format!("t{}", t + 1);
        let only = long.take(&long.rows_where("trans", |v| v == Some(label.as_str())).unwrap());
        let own = CoxPh::new(&format!("Surv(start, stop, status) ~ dep{}", t + 1)).unwrap().fit(&only).unwrap();
        total += own.log_likelihood().unwrap();
        assert!((own.coef()[0] - joint.coef()[t]).abs() < 1e-6, "transition {}", t + 1);
    }
    let joint_loglik = joint.log_likelihood().unwrap();
    assert!((joint_loglik - total).abs() < 1e-6 * total.abs(), "{joint_loglik} vs {total}");

    // With β held at zero (no Newton steps) and Breslow's ties, the baseline hazards are
    // the Nelson–Aalen estimates, so the predicted transition probabilities are the
    // Aalen–Johansen ones.
    let null = CoxPh::new(&formula)
        .unwrap()
        .ties(crate::Ties::Breslow)
        .control(crate::cox::CoxControl { max_iterations: 0, ..Default::default() })
        .fit(&long)
        .unwrap();
    assert!(null.coef().iter().all(|b| *b == 0.0));
    let labels: Vec<String> = null.baseline_hazard().iter().map(|b| b.stratum.clone()).collect();
    let stratum_of = |t: usize| labels.iter().find(|l| l.ends_with(&format!("t{}", t + 1))).unwrap().as_str();
    let strata: Vec<&str> = (0..k).map(stratum_of).collect();
    let predicted = transitions.predict(&null.baseline_hazard(), &strata, &vec![0.0; k]).unwrap();
    for (t, p) in predicted.iter().step_by(97) {
        let expected = fit.transition_probabilities(*t);
        for r in 0..6 {
            for s in 0..6 {
                assert!((p[(r, s)] - expected[(r, s)]).abs() < 1e-10, "P{r}{s}({t})");
            }
        }
    }
    // A higher linear predictor on referral → assessment moves children on sooner.
    let mut eta = vec![0.0; k];
    eta[0] = 1.0;
    let faster = transitions.predict(&joint.baseline_hazard(), &strata, &eta).unwrap();
    let slower = transitions.predict(&joint.baseline_hazard(), &strata, &vec![0.0; k]).unwrap();
    assert!(faster[20].1[(0, 0)] < slower[20].1[(0, 0)]);
    assert!(transitions.predict(&joint.baseline_hazard(), &strata[1..], &eta).is_err());

    let forbidden = Stay { subject: "x".into(), state: 0, start: 0.0, stop: 1.0, next: Some(3) };
    assert!(transitions.at_risk(&[forbidden]).unwrap_err().to_string().contains("does not allow"));
}
