//! Are children from more deprived neighbourhoods re-referred sooner?
//!
//! Synthetic children followed after a referral (re-referral hazard rising 6% per deprivation
//! step, about 22.6% re-referred within a year): Kaplan–Meier curves by deprivation tertile,
//! the log-rank test, and a Cox model that should recover the generated log hazard ratio 0.06.
//! R: `survfit`, `survdiff`, `coxph(Surv(time, status) ~ deprivation)`.
//!
//! Run: `cargo run --release --example rereferral_survival`.

use strata::prelude::*;
use strata_data::synthetic::rereferrals;
use strata_pathways::logrank::logrank;
use strata_pathways::{CoxPh, KaplanMeier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (children, truth) = rereferrals(20_000, 0.06, 42)?;
    let tertile: Vec<&str> = children
        .numbers("deprivation")?
        .iter()
        .map(|s| match s.unwrap_or(0.0) {
            s if s <= 2.0 => "least",
            s if s >= 7.0 => "most",
            _ => "middle",
        })
        .collect();
    let children = children.with_levels("tertile", &tertile)?;
    let km = KaplanMeier::new("Surv(time, status) ~ tertile")?.fit(&children)?;
    for median in km.quantiles(0.25) {
        println!("{}: a quarter re-referred by day {:?}", median.stratum, median.estimate);
    }
    println!("\n{}\n", logrank("Surv(time, status) ~ tertile", &children, 0.0)?);
    let cox = CoxPh::new("Surv(time, status) ~ deprivation")?.fit(&children)?;
    println!("{}\n", cox.summary());
    let (low, high) = cox.conf_int(0.95)[0];
    println!("generated log hazard ratio {truth}, estimated {:.4} (95% CI {low:.4} to {high:.4})", cox.coef()[0]);
    Ok(())
}
