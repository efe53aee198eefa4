//! `strata km`, `strata logrank`, `strata cox`, `strata msm`, `strata multistate`, `strata cuminc`
//! and `strata fine-gray`: R's `survfit`, `survdiff`, `coxph`, msm, mstate/etm and cmprsk.

pub mod competing;
pub mod cox;
pub mod km;
pub mod msm;
pub mod multistate;

use strata_pathways::kaplan_meier::{KmCurve, KmFit};
use strata_plot::{ticks, Chart, RiskTable, Series, BLUE, GREEN, GREY, RED};

/// The colours of successive curves.
const PALETTE: [&str; 6] = [BLUE, RED, GREEN, "#9467bd", "#ff7f0e", GREY];

/// Adds one stratum's survival curve, a step function from 1 at time 0, over its confidence band.
pub fn with_km_curve(chart: Chart, curve: &KmCurve, colour: &'static str) -> Chart {
    let mut points = vec![(0.0, 1.0)];
    points.extend(curve.time.iter().copied().zip(curve.survival.iter().copied()));
    chart
        .with(Series::Band {
            x: curve.time.clone(),
            lower: curve.lower.clone(),
            upper: curve.upper.clone(),
            colour,
            step: true,
        })
        .with(Series::Step { points, colour, label: curve.stratum.clone() })
}

/// Survival curves with their confidence bands and a numbers-at-risk table at the axis ticks.
pub fn km_chart(fit: &KmFit) -> Chart {
    let last = fit.curves().iter().filter_map(|c| c.time.last().copied()).fold(0.0, f64::max);
    let times = ticks(0.0, last);
    let mut chart = Chart::new("Kaplan–Meier estimate", "time", "survival").y_range(0.0, 1.0);
    let mut rows = Vec::new();
    for (k, curve) in fit.curves().iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        chart = with_km_curve(chart, curve, colour);
        let at_risk = times
            .iter()
            .map(|&t| curve.time.iter().position(|&s| s >= t).map_or(0.0, |i| curve.n_risk[i]).to_string())
            .collect();
        rows.push((curve.stratum.clone(), colour, at_risk));
    }
    chart.with_table(RiskTable { title: "Number at risk".into(), times, rows })
}
