//! A synthetic case-level cohort: every child referred to children's social care in six local
//! authorities over three years, followed for three years from referral — the factors recorded
//! at assessment, the decision after it, the pathway that followed and re-referral once the case
//! closed — with every effect known, so that the case-level models can be shown to recover it.
//!
//! The six [`AUTHORITIES`] differ in their system conditions (standardised scores): the
//! threshold for help after assessment $h_a$, social workers' caseloads $c_a$ and spending on
//! early help $e_a$, and in how deprived their neighbourhoods are. For child i in authority a,
//! with neighbourhood deprivation step $s_i$ (0 least, 9 most deprived) and latent class $k_i$:
//!
//! 1. **factors at assessment** from the latent class model of
//!    [`assessment_factors`] ($f_i$ the number recorded);
//! 2. **the decision after assessment** $d_i \in$ {no further action, child in need, protection
//!    plan, looked after}, multinomial logit with no further action the reference:
//!    $\log \frac{P(d = m)}{P(d = \text{nfa})} = \alpha_m + \beta_m s_i + \phi_m f_i + \eta_m h_a$;
//! 3. **the pathway**: referral (mean 10 days), assessment (mean 30 days), then the decision's
//!    state (no further action closes the case) and moves between states with constant hazards
//!    per day, the escalating ones (child in need → protection plan → looked after) multiplied by
//!    $\exp\{\gamma (s_i - 4.5) + \omega e_a\}$;
//! 4. **re-referral** after the case closes, with hazard
//!    $\lambda_0 \exp\{\delta_{k_i} + \rho (s_i - 4.5) + \kappa c_a\}$ per day ($\delta_1 = 0$),
//!    $\lambda_0$ giving 22.6% re-referred within a year at the reference values, censored when
//!    the three years of follow-up end.

use crate::error::{Error, Result};
use crate::synthetic::{assessment_factors, AssessmentFactors, Stays};
use serde::Serialize;
use strata_core::random::Rng;
use strata_core::DataFrame;

/// One local authority's system conditions, as standardised scores (0 is the average of all).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Authority {
    /// Its name (invented).
    pub name: &'static str,
    /// Its share of the cohort's referrals.
    pub share: f64,
    /// The mean deprivation step (0–9) of its referred children's neighbourhoods.
    pub deprivation: f64,
    /// The threshold for help after assessment (higher: more no further action).
    pub threshold: f64,
    /// Social workers' caseloads.
    pub caseload: f64,
    /// Spending on early help per child.
    pub spending: f64,
}

/// Six authorities with different conditions: a deprived, stretched, high-threshold city; a
/// well-funded county with small caseloads; and four between, so that threshold, caseload and
/// spending vary independently of each other and of deprivation.
pub const AUTHORITIES: [Authority; 6] = [
    Authority { name: "Northfield", share: 0.24, deprivation: 7.0, threshold: 1.0, caseload: 1.2, spending: -0.8 },
    Authority { name: "Eastbrook", share: 0.20, deprivation: 6.0, threshold: -0.8, caseload: 0.3, spending: 0.4 },
    Authority { name: "Westmere", share: 0.18, deprivation: 5.0, threshold: 0.2, caseload: -0.6, spending: -1.0 },
    Authority { name: "Southdale", share: 0.15, deprivation: 4.0, threshold: -1.2, caseload: 1.0, spending: 0.9 },
    Authority { name: "Lakeside", share: 0.13, deprivation: 3.0, threshold: 0.7, caseload: -1.1, spending: 1.2 },
    Authority { name: "Hillcross", share: 0.10, deprivation: 2.0, threshold: 0.1, caseload: -0.8, spending: -0.7 },
];

/// The decisions after assessment, the reference first.
pub const DECISIONS: [&str; 4] = ["no further action", "child in need", "protection plan", "looked after"];

/// The effects the cohort is generated with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortTruth {
    /// The class proportions of the assessment factors.
    pub class_proportions: Vec<f64>,
    /// For child in need, protection plan and looked after against no further action:
    /// intercept α, deprivation β, factors φ, threshold η (log odds).
    pub decision: [[f64; 4]; 3],
    /// The escalation log hazard ratio per deprivation step, γ.
    pub escalation_deprivation: f64,
    /// The escalation log hazard ratio per unit of early-help spending, ω.
    pub escalation_spending: f64,
    /// The re-referral log hazard ratio of each class against the first, δ (δ₁ = 0).
    pub rereferral_class: Vec<f64>,
    /// The re-referral log hazard ratio per deprivation step, ρ.
    pub rereferral_deprivation: f64,
    /// The re-referral log hazard ratio per unit of caseload, κ.
    pub rereferral_caseload: f64,
}

impl Default for CohortTruth {
    fn default() -> Self {
        Self {
            class_proportions: Vec::new(),
            decision: [[-0.5, 0.05, 0.3, -0.4], [-2.5, 0.10, 0.5, -0.3], [-4.0, 0.15, 0.6, -0.2]],
            escalation_deprivation: 0.15,
            escalation_spending: -0.2,
            rereferral_class: vec![0.0, 0.3, 0.6, -0.3],
            rereferral_deprivation: 0.06,
            rereferral_caseload: 0.15,
        }
    }
}

/// The generated cohort.
#[derive(Debug, Clone)]
pub struct Cohort {
    /// One row a child: `child, authority, threshold, caseload, spending, deprivation, referred`
    /// (day of referral in the three years), `class` (`class 1`…, as generated), `factors`
    /// (number recorded), `decision`.
    pub children: DataFrame,
    /// The factors recorded at each child's assessment, row by row as in `children`.
    pub factors: AssessmentFactors,
    /// Every stay of every child, as [`pathways`](crate::synthetic::pathways) returns them, with
    /// days counted from referral.
    pub stays: DataFrame,
    /// The children whose case closed within follow-up: `child, authority, caseload,
    /// deprivation, class, time` (days from closure to re-referral or the end of follow-up),
    /// `rereferred` (1 or 0).
    pub rereferrals: DataFrame,
    /// The effects generated.
    pub truth: CohortTruth,
}

/// Days of follow-up from each referral, and the span of referral dates: three years each.
const YEARS: f64 = 1095.0;

/// Generates `children` referrals in the six [`AUTHORITIES`] with the [`CohortTruth::default`]
/// effects and assessment factors at the given `prevalences` from `classes` latent classes.
///
/// # Errors
/// [`Error::Parameters`] for no children, fewer than two classes, or prevalences outside (0, 1).
pub fn cohort(children: usize, prevalences: &[f64], classes: usize, seed: u64) -> Result<Cohort> {
    if classes < 2 {
        return Err(Error::Parameters("the cohort needs at least two latent classes".into()));
    }
    let mut truth = CohortTruth::default();
    truth.rereferral_class.resize(classes, 0.0);
    let factors = assessment_factors(children, prevalences, classes, 2.0, seed ^ 0x1ca)?;
    truth.class_proportions.clone_from(&factors.proportions);
    let mut rng = Rng::new(seed);
    let baseline = -(1.0f64 - 0.226).ln() / 365.0;
    let mut rows = Rows::default();
    let mut stays = Stays::default();
    for i in 0..children {
        let u = rng.uniform();
        let mut cumulative = 0.0;
        let a = AUTHORITIES
            .iter()
            .position(|la| {
                cumulative += la.share;
                u < cumulative
            })
            .unwrap_or(AUTHORITIES.len() - 1);
        let la = &AUTHORITIES[a];
        let step = (la.deprivation + 2.5 * rng.normal()).round().clamp(0.0, 9.0);
        let recorded: f64 =
            factors.codes[i * prevalences.len()..(i + 1) * prevalences.len()].iter().map(|&c| f64::from(c)).sum();
        let odds: Vec<f64> = truth
            .decision
            .iter()
            .map(|[alpha, beta, phi, eta]| (alpha + beta * step + phi * recorded + eta * la.threshold).exp())
            .collect();
        let mut draw = rng.uniform() * (1.0 + odds.iter().sum::<f64>());
        let mut decision = 0;
        if draw >= 1.0 {
            draw -= 1.0;
            for (m, o) in odds.iter().enumerate() {
                decision = m + 1;
                if draw < *o {
                    break;
                }
                draw -= o;
            }
        }
        let child = format!("C{i}");
        let key = (child.as_str(), step);
        // Referral, then assessment, then the decision's state (no further action closes).
        let assessed = rng.exponential(1.0 / 10.0).min(YEARS);
        let decided = (assessed + rng.exponential(1.0 / 30.0)).min(YEARS);
        let closed = if assessed >= YEARS {
            stays.push(key, 0, 0.0, YEARS, None);
            None
        } else if decided >= YEARS {
            stays.push(key, 0, 0.0, assessed, Some(1));
            stays.push(key, 1, assessed, YEARS, None);
            None
        } else {
            let state = [5, 2, 3, 4][decision];
            stays.push(key, 0, 0.0, assessed, Some(1));
            stays.push(key, 1, assessed, decided, Some(state));
            let escalation =
                (truth.escalation_deprivation * (step - 4.5) + truth.escalation_spending * la.spending).exp();
            stays.walk(&mut rng, key, state, decided, YEARS, escalation)
        };
        if let Some(closed) = closed {
            let k = factors.class[i];
            let hazard = baseline
                * (truth.rereferral_class[k]
                    + truth.rereferral_deprivation * (step - 4.5)
                    + truth.rereferral_caseload * la.caseload)
                    .exp();
            let event = rng.exponential(hazard);
            let remaining = YEARS - closed;
            rows.rereferral.push((i, event.min(remaining), f64::from(u8::from(event <= remaining))));
        }
        rows.authority.push(a);
        rows.deprivation.push(step);
        rows.referred.push((rng.uniform() * YEARS).floor());
        rows.factors.push(recorded);
        rows.decision.push(decision);
    }
    let class_name = |k: usize| format!("class {}", k + 1);
    let pick = |f: &dyn Fn(&Authority) -> f64| rows.authority.iter().map(|&a| f(&AUTHORITIES[a])).collect::<Vec<f64>>();
    let names: Vec<String> = (0..children).map(|i| format!("C{i}")).collect();
    let frame = DataFrame::new()
        .with_levels("child", &names)?
        .with_levels("authority", &rows.authority.iter().map(|&a| AUTHORITIES[a].name).collect::<Vec<_>>())?
        .with_floats("threshold", &pick(&|la| la.threshold))?
        .with_floats("caseload", &pick(&|la| la.caseload))?
        .with_floats("spending", &pick(&|la| la.spending))?
        .with_floats("deprivation", &rows.deprivation)?
        .with_floats("referred", &rows.referred)?
        .with_levels("class", &factors.class.iter().map(|&k| class_name(k)).collect::<Vec<_>>())?
        .with_floats("factors", &rows.factors)?
        .with_levels("decision", &rows.decision.iter().map(|&d| DECISIONS[d]).collect::<Vec<_>>())?;
    let closed: Vec<usize> = rows.rereferral.iter().map(|r| r.0).collect();
    let rereferrals = frame
        .take(&closed)
        .with_floats("time", &rows.rereferral.iter().map(|r| r.1).collect::<Vec<_>>())?
        .with_floats("rereferred", &rows.rereferral.iter().map(|r| r.2).collect::<Vec<_>>())?;
    Ok(Cohort { children: frame, factors, stays: stays.frame()?, rereferrals, truth })
}

/// The cohort's columns as they are drawn.
#[derive(Default)]
struct Rows {
    authority: Vec<usize>,
    deprivation: Vec<f64>,
    referred: Vec<f64>,
    factors: Vec<f64>,
    decision: Vec<usize>,
    /// (child, days from closure, re-referred).
    rereferral: Vec<(usize, f64, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cohort_follows_its_design() {
        let c = cohort(4000, &[0.3, 0.25, 0.2, 0.15, 0.1, 0.12], 4, 7).unwrap();
        assert_eq!(c.children.nrows(), 4000);
        // Shares of the six authorities, within sampling error.
        let authority = c.children.column("authority").unwrap();
        for la in &AUTHORITIES {
            let n = (0..4000).filter(|&i| authority.text(i).as_deref() == Some(la.name)).count() as f64;
            assert!((n / 4000.0 - la.share).abs() < 0.03, "{}: {n}", la.name);
        }
        // Every child starts at referral on day 0; stays are contiguous.
        let start = c.stays.numbers("start").unwrap();
        let stop = c.stays.numbers("stop").unwrap();
        let child = c.stays.column("child").unwrap();
        for i in 1..c.stays.nrows() {
            if child.text(i) == child.text(i - 1) {
                assert_eq!(start.get(i), stop.get(i - 1));
            } else {
                assert_eq!(start.get(i), Some(0.0));
            }
        }
        // Only closed cases are at risk of re-referral, within the three years.
        let time = c.rereferrals.numbers("time").unwrap();
        assert!(c.rereferrals.nrows() > 1000 && time.iter().flatten().all(|t| (0.0..=YEARS).contains(&t)));
        // A higher threshold means more no further action.
        let decision = c.children.column("decision").unwrap();
        let nfa_share = |name: &str| {
            let rows: Vec<usize> = (0..4000).filter(|&i| authority.text(i).as_deref() == Some(name)).collect();
            rows.iter().filter(|&&i| decision.text(i).as_deref() == Some(DECISIONS[0])).count() as f64
                / rows.len() as f64
        };
        assert!(nfa_share("Northfield") > nfa_share("Southdale"));
        assert!(cohort(10, &[0.3], 1, 1).is_err());
    }
}
