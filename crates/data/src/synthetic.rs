//! A synthetic England: local authorities, neighbourhoods (LSOAs) with IMD deciles, children,
//! and children looked after (CLA) and child protection plans (CPP) whose rates rise with
//! neighbourhood deprivation by known amounts. Calibrated to published figures (DfE, year
//! ending 31 March 2025: 81,770 children looked after, 67 per 10,000; 61,840 protection plans
//! started; about 12.2 million children) and to Bywaters et al.'s ratios between the most and
//! least deprived deciles (about 10 for CLA, 12 for CPP).
//!
//! For neighbourhood i in local authority j, with deprivation step $s_i = 10 - \text{decile}_i$
//! (0 least, 9 most deprived), the LA's mean step $\bar s_j$ (centred at 4.5) and caseload
//! $c_j$:
//! $\log \mu_i = \alpha + \beta s_i + \gamma (s_i - 4.5)\bar s_j + \delta (c_j - 16) + u_j + \log n_i$,
//! $u_j \sim N(0, \sigma^2)$, counts negative binomial with shape θ. A negative γ is the
//! "inverse intervention law": the gradient is steeper in less deprived authorities.

use crate::error::{Error, Result};
use serde::Serialize;
use strata_core::random::Rng;
use strata_core::{Column, DataFrame};

/// What the generator is calibrated to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnglandParameters {
    /// Number of local authorities (152).
    pub local_authorities: usize,
    /// Number of neighbourhoods (32,844 LSOAs).
    pub neighbourhoods: usize,
    /// Children aged 0–17 (12.2 million).
    pub children: f64,
    /// Children looked after per 10,000 (67).
    pub cla_rate_per_10000: f64,
    /// CLA rate ratio, most over least deprived decile (10).
    pub cla_ratio: f64,
    /// Protection plans started per 10,000 (50.7: 61,840 of 12.2 million).
    pub cpp_rate_per_10000: f64,
    /// CPP rate ratio, most over least deprived decile (12).
    pub cpp_ratio: f64,
    /// Standard deviation of the LA effects on the log rate (0.25).
    pub la_sd: f64,
    /// The inverse-intervention interaction γ (−0.04 per step per step of LA deprivation).
    pub interaction: f64,
    /// Effect of one more case per social worker on the log CLA rate (0.02).
    pub caseload_effect: f64,
    /// Negative binomial shape of the neighbourhood counts (30).
    pub theta: f64,
}

impl Default for EnglandParameters {
    fn default() -> Self {
        Self {
            local_authorities: 152,
            neighbourhoods: 32_844,
            children: 12_200_000.0,
            cla_rate_per_10000: 67.0,
            cla_ratio: 10.0,
            cpp_rate_per_10000: 61_840.0 / 1_220.0,
            cpp_ratio: 12.0,
            la_sd: 0.25,
            interaction: -0.04,
            caseload_effect: 0.02,
            theta: 30.0,
        }
    }
}

/// The true parameters a synthetic England was drawn from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    /// Log CLA rate ratio per deprivation step, `ln(ratio) / 9`.
    pub cla_step: f64,
    /// Log CPP rate ratio per deprivation step.
    pub cpp_step: f64,
    /// Standard deviation of the LA effects.
    pub la_sd: f64,
    /// The inverse-intervention interaction γ.
    pub interaction: f64,
    /// The caseload effect δ.
    pub caseload_effect: f64,
    /// Each LA's effect `u_j` on the log rates.
    pub la_effects: Vec<f64>,
}

/// A generated synthetic England.
#[derive(Debug, Clone)]
pub struct SyntheticEngland {
    /// One row per neighbourhood: `lsoa, la, imd_decile` (1 = most deprived, as IMD),
    /// `deprivation` (0 least to 9 most deprived), `la_deprivation` (the LA's mean
    /// deprivation, centred), `caseload`, `children`, `cla`, `cpp`.
    pub neighbourhoods: DataFrame,
    /// One row per local authority: `la, children, cla, cpp, la_deprivation, caseload`.
    pub local_authorities: DataFrame,
    /// The parameters the counts were drawn from.
    pub truth: Truth,
}

impl SyntheticEngland {
    /// Generates England from `parameters` and `seed`.
    ///
    /// # Errors
    /// [`Error::Parameters`] for fewer than ten neighbourhoods per authority or non-positive
    /// rates.
    pub fn generate(parameters: &EnglandParameters, seed: u64) -> Result<Self> {
        let (n_la, n_lsoa) = (parameters.local_authorities, parameters.neighbourhoods);
        if n_la == 0 || n_lsoa < 10 * n_la {
            return Err(Error::Parameters(format!(
                "{n_lsoa} neighbourhoods for {n_la} authorities: at least ten each are needed"
            )));
        }
        if !(parameters.cla_rate_per_10000 > 0.0 && parameters.cpp_rate_per_10000 > 0.0 && parameters.children > 0.0) {
            return Err(Error::Parameters("rates and the number of children must be positive".into()));
        }
        let mut rng = Rng::new(seed);
        // Authorities: size, latent deprivation, caseload, random effect.
        let sizes: Vec<f64> = (0..n_la).map(|_| (0.5 * rng.normal()).exp()).collect();
        let total_size: f64 = sizes.iter().sum();
        let mut counts: Vec<usize> =
            sizes.iter().map(|s| ((s / total_size * n_lsoa as f64) as usize).max(10)).collect();
        while counts.iter().sum::<usize>() > n_lsoa {
            let largest = (0..n_la).max_by_key(|&j| counts[j]).expect("authorities");
            counts[largest] -= 1;
        }
        let mut j = 0;
        while counts.iter().sum::<usize>() < n_lsoa {
            counts[j % n_la] += 1;
            j += 1;
        }
        let latent_la: Vec<f64> = (0..n_la).map(|_| rng.normal()).collect();
        let caseload: Vec<f64> = (0..n_la).map(|_| 16.0 + 2.5 * rng.normal()).collect();
        let la_effects: Vec<f64> = (0..n_la).map(|_| parameters.la_sd * rng.normal()).collect();
        // Neighbourhoods: latent deprivation ranked nationally into deciles.
        let la_of: Vec<usize> = counts.iter().enumerate().flat_map(|(j, &c)| std::iter::repeat_n(j, c)).collect();
        let latent: Vec<f64> = la_of.iter().map(|&j| latent_la[j] + rng.normal()).collect();
        let mut order: Vec<usize> = (0..n_lsoa).collect();
        order.sort_by(|&a, &b| latent[b].total_cmp(&latent[a]));
        let mut decile = vec![0u32; n_lsoa];
        for (rank, &i) in order.iter().enumerate() {
            decile[i] = (rank * 10 / n_lsoa) as u32 + 1;
        }
        let step: Vec<f64> = decile.iter().map(|&d| f64::from(10 - d)).collect();
        let mut la_step = vec![0.0; n_la];
        for i in 0..n_lsoa {
            la_step[la_of[i]] += step[i] / counts[la_of[i]] as f64;
        }
        let la_deprivation: Vec<f64> = la_step.iter().map(|s| s - 4.5).collect();
        // Children: more in deprived neighbourhoods, scaled to the national total.
        let raw_children: Vec<f64> = step.iter().map(|s| (0.3 * rng.normal()).exp() * (1.0 + 0.04 * s)).collect();
        let scale = parameters.children / raw_children.iter().sum::<f64>();
        let children: Vec<f64> = raw_children.iter().map(|c| (c * scale).round().max(1.0)).collect();
        let cla_step = parameters.cla_ratio.ln() / 9.0;
        let cpp_step = parameters.cpp_ratio.ln() / 9.0;
        let linear = |beta: f64, i: usize| -> f64 {
            let j = la_of[i];
            beta * step[i]
                + parameters.interaction * (step[i] - 4.5) * la_deprivation[j]
                + parameters.caseload_effect * (caseload[j] - 16.0)
                + la_effects[j]
        };
        let means = |beta: f64, rate: f64| -> Vec<f64> {
            let relative: Vec<f64> = (0..n_lsoa).map(|i| children[i] * linear(beta, i).exp()).collect();
            let target = rate / 10_000.0 * children.iter().sum::<f64>();
            let alpha = target / relative.iter().sum::<f64>();
            relative.iter().map(|r| r * alpha).collect()
        };
        let cla_mean = means(cla_step, parameters.cla_rate_per_10000);
        let cpp_mean = means(cpp_step, parameters.cpp_rate_per_10000);
        let cla: Vec<f64> = cla_mean.iter().map(|&m| rng.negative_binomial(m, parameters.theta)).collect();
        let cpp: Vec<f64> = cpp_mean.iter().map(|&m| rng.negative_binomial(m, parameters.theta)).collect();
        let la_names: Vec<String> = (0..n_la).map(|j| format!("LA{:03}", j + 1)).collect();
        let neighbourhoods = DataFrame::new()
            .with_levels("lsoa", &(0..n_lsoa).map(|i| format!("N{i:05}")).collect::<Vec<_>>())?
            .with_levels("la", &la_of.iter().map(|&j| la_names[j].as_str()).collect::<Vec<_>>())?
            .with("imd_decile", Column::Integer(decile.iter().map(|&d| Some(i64::from(d))).collect()))?
            .with_floats("deprivation", &step)?
            .with_floats("la_deprivation", &la_of.iter().map(|&j| la_deprivation[j]).collect::<Vec<_>>())?
            .with_floats("caseload", &la_of.iter().map(|&j| caseload[j]).collect::<Vec<_>>())?
            .with_floats("children", &children)?
            .with_floats("cla", &cla)?
            .with_floats("cpp", &cpp)?;
        let sum_by_la = |values: &[f64]| -> Vec<f64> {
            let mut totals = vec![0.0; n_la];
            for (i, v) in values.iter().enumerate() {
                totals[la_of[i]] += v;
            }
            totals
        };
        let local_authorities = DataFrame::new()
            .with_levels("la", &la_names)?
            .with_floats("children", &sum_by_la(&children))?
            .with_floats("cla", &sum_by_la(&cla))?
            .with_floats("cpp", &sum_by_la(&cpp))?
            .with_floats("la_deprivation", &la_deprivation)?
            .with_floats("caseload", &caseload)?;
        let truth = Truth {
            cla_step,
            cpp_step,
            la_sd: parameters.la_sd,
            interaction: parameters.interaction,
            caseload_effect: parameters.caseload_effect,
            la_effects,
        };
        Ok(Self { neighbourhoods, local_authorities, truth })
    }
}

/// Synthetic children followed after a referral: time to re-referral (days) by
/// neighbourhood deprivation, with hazard $\lambda_0 \exp\{\beta (s - 4.5)\}$ calibrated so that
/// about 22.6% are re-referred within 12 months, censored at a follow-up of one to two years.
///
/// Returns the frame (`child, deprivation, time, status`) and the true β.
///
/// # Errors
/// [`Error::Parameters`] for no children.
pub fn rereferrals(children: usize, beta: f64, seed: u64) -> Result<(DataFrame, f64)> {
    if children == 0 {
        return Err(Error::Parameters("no children to generate".into()));
    }
    let mut rng = Rng::new(seed);
    let baseline = -(1.0f64 - 0.226).ln() / 365.0;
    let mut deprivation = Vec::with_capacity(children);
    let mut time = Vec::with_capacity(children);
    let mut status = Vec::with_capacity(children);
    for _ in 0..children {
        let step = (rng.uniform() * 10.0).floor().min(9.0);
        let event = rng.exponential(baseline * (beta * (step - 4.5)).exp());
        let follow_up = 365.0 + 365.0 * rng.uniform();
        deprivation.push(step);
        time.push(event.min(follow_up).ceil());
        status.push(if event <= follow_up { 1.0 } else { 0.0 });
    }
    let frame = DataFrame::new()
        .with_levels("child", &(0..children).map(|i| format!("C{i}")).collect::<Vec<_>>())?
        .with_floats("deprivation", &deprivation)?
        .with_floats("time", &time)?
        .with_floats("status", &status)?;
    Ok((frame, beta))
}

/// The pathway's moves: (from, to, daily hazard, escalating?).
const MOVES: [(usize, usize, f64, bool); 9] = [
    (0, 1, 1.0 / 10.0, false),
    (0, 5, 1.0 / 40.0, false),
    (1, 2, 1.0 / 45.0, true),
    (1, 5, 1.0 / 30.0, false),
    (2, 3, 1.0 / 300.0, true),
    (2, 5, 1.0 / 200.0, false),
    (3, 4, 1.0 / 500.0, true),
    (3, 2, 1.0 / 250.0, false),
    (4, 5, 1.0 / 700.0, false),
];

/// The states of a child's pathway through children's social care, in order.
pub const PATHWAY_STATES: [&str; 6] =
    ["referral", "assessment", "child in need", "protection plan", "looked after", "closed"];

/// Synthetic pathways: each child starts at a referral and moves between the
/// [`PATHWAY_STATES`] with constant hazards (per day); the escalating moves (assessment → child
/// in need → protection plan → looked after) have hazards multiplied by $e^{\beta(s - 4.5)}$ for
/// neighbourhood deprivation step s. Follow-up ends after three years. Returns one row per stay:
/// `child, deprivation, state, next` (empty when censored), `start, stop, moved` (1 for a
/// move, 0 for censoring).
///
/// # Errors
/// [`Error::Parameters`] for no children.
pub fn pathways(children: usize, beta: f64, seed: u64) -> Result<DataFrame> {
    if children == 0 {
        return Err(Error::Parameters("no children to generate".into()));
    }
    let mut rng = Rng::new(seed);
    let mut stays = Stays::default();
    for c in 0..children {
        let step = (rng.uniform() * 10.0).floor().min(9.0);
        let child = format!("C{c}");
        stays.walk(&mut rng, (&child, step), 0, 0.0, 1095.0, (beta * (step - 4.5)).exp());
    }
    stays.frame()
}

/// Children's stays in the [`PATHWAY_STATES`], collected as [`pathways`] returns them.
#[derive(Debug, Default)]
pub(crate) struct Stays {
    child: Vec<String>,
    deprivation: Vec<f64>,
    state: Vec<String>,
    next: Vec<Option<String>>,
    start: Vec<f64>,
    stop: Vec<f64>,
    moved: Vec<f64>,
}

impl Stays {
    /// Records one stay of `child` (with its deprivation step) in `state` from `start` to
    /// `stop`, ending in a move to `next` or, when `None`, censored.
    pub(crate) fn push(&mut self, child: (&str, f64), state: usize, start: f64, stop: f64, next: Option<usize>) {
        self.child.push(child.0.to_string());
        self.deprivation.push(child.1);
        self.state.push(PATHWAY_STATES[state].to_string());
        self.next.push(next.map(|n| PATHWAY_STATES[n].to_string()));
        self.start.push(start);
        self.stop.push(stop);
        self.moved.push(if next.is_some() { 1.0 } else { 0.0 });
    }

    /// Walks `child` from `state` at day `now` by the [`MOVES`]' hazards, the escalating ones
    /// multiplied by `escalation`, until it is closed or follow-up ends at day `end`; returns
    /// the day it was closed, if it was.
    pub(crate) fn walk(
        &mut self,
        rng: &mut Rng,
        child: (&str, f64),
        mut state: usize,
        mut now: f64,
        end: f64,
        escalation: f64,
    ) -> Option<f64> {
        while state != 5 {
            let options: Vec<(usize, f64)> = MOVES
                .iter()
                .filter(|m| m.0 == state)
                .map(|m| (m.1, m.2 * if m.3 { escalation } else { 1.0 }))
                .collect();
            let total: f64 = options.iter().map(|o| o.1).sum();
            let wait = rng.exponential(total);
            if now + wait >= end {
                self.push(child, state, now, end, None);
                return None;
            }
            let mut u = rng.uniform() * total;
            let mut target = options[options.len() - 1].0;
            for &(to, rate) in &options {
                if u < rate {
                    target = to;
                    break;
                }
                u -= rate;
            }
            self.push(child, state, now, now + wait, Some(target));
            now += wait;
            state = target;
        }
        Some(now)
    }

    /// The stays as a frame: `child, deprivation, state, next, start, stop, moved`.
    pub(crate) fn frame(self) -> Result<DataFrame> {
        Ok(DataFrame::new()
            .with_levels("child", &self.child)?
            .with_floats("deprivation", &self.deprivation)?
            .with_levels("state", &self.state)?
            .with("next", Column::categorical_from(&self.next))?
            .with_floats("start", &self.start)?
            .with_floats("stop", &self.stop)?
            .with_floats("moved", &self.moved)?)
    }
}

/// Synthetic assessments: the factors recorded at the end of each assessment, generated from a
/// latent class model whose marginal prevalences are the ones given (for instance the DfE's
/// national shares, [`crate::dfe::read_factor_prevalences`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssessmentFactors {
    /// `n × J` row-major: 1 where factor j was recorded at assessment i.
    pub codes: Vec<u8>,
    /// Each assessment's class (0-based).
    pub class: Vec<usize>,
    /// The class proportions.
    pub proportions: Vec<f64>,
    /// `profiles[k][j]`: the probability that factor j is recorded in class k.
    pub profiles: Vec<Vec<f64>>,
}

/// `n` synthetic assessments with factors of the given marginal `prevalences`, from `classes`
/// latent classes: class sizes fall as $k^{-0.7}$; each class raises or lowers each factor by a
/// log-normal multiplier $m_{jk}$ (standard deviation `spread` on the log scale; larger
/// separates the classes more), and $\rho_{jk} = \min(0.95, s_j m_{jk})$ with $s_j$
/// chosen so that $\sum_k \pi_k \rho_{jk} = p_j$.
///
/// # Errors
/// [`Error::Parameters`] for no assessments, no classes, a prevalence outside (0, 1) or a
/// negative spread.
pub fn assessment_factors(
    n: usize,
    prevalences: &[f64],
    classes: usize,
    spread: f64,
    seed: u64,
) -> Result<AssessmentFactors> {
    if n == 0 || classes == 0 || prevalences.is_empty() {
        return Err(Error::Parameters("assessments need rows, classes and factors".into()));
    }
    if let Some(p) = prevalences.iter().find(|p| !(**p > 0.0 && **p < 1.0)) {
        return Err(Error::Parameters(format!("a prevalence of {p} is outside (0, 1)")));
    }
    if !(spread >= 0.0 && spread.is_finite()) {
        return Err(Error::Parameters(format!("a spread of {spread}: use a finite number from 0")));
    }
    let mut rng = Rng::new(seed);
    let weights: Vec<f64> = (1..=classes).map(|k| (k as f64).powf(-0.7)).collect();
    let total: f64 = weights.iter().sum();
    let proportions: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let multipliers: Vec<Vec<f64>> =
        (0..classes).map(|_| prevalences.iter().map(|_| (spread * rng.normal()).exp()).collect()).collect();
    // Each factor's scale s solves sum_k pi_k min(0.95, s m_jk) = p_j (by bisection; the sum
    // rises with s up to 0.95).
    let scales: Vec<f64> = prevalences
        .iter()
        .enumerate()
        .map(|(j, &p)| {
            let marginal =
                |s: f64| -> f64 { (0..classes).map(|k| proportions[k] * (s * multipliers[k][j]).min(0.95)).sum() };
            let (mut low, mut high) = (0.0, 1.0);
            while marginal(high) < p.min(0.95 * (1.0 - 1e-9)) && high < 1e12 {
                high *= 2.0;
            }
            for _ in 0..100 {
                let middle = f64::midpoint(low, high);
                if marginal(middle) < p {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            f64::midpoint(low, high)
        })
        .collect();
    let profiles: Vec<Vec<f64>> = (0..classes)
        .map(|k| (0..prevalences.len()).map(|j| (scales[j] * multipliers[k][j]).min(0.95)).collect())
        .collect();
    let mut codes = Vec::with_capacity(n * prevalences.len());
    let mut class = Vec::with_capacity(n);
    for _ in 0..n {
        let u = rng.uniform();
        let mut cumulative = 0.0;
        let k = proportions.iter().position(|p| {
            cumulative += p;
            u < cumulative
        });
        let k = k.unwrap_or(classes - 1);
        class.push(k);
        codes.extend(profiles[k].iter().map(|&r| u8::from(rng.uniform() < r)));
    }
    Ok(AssessmentFactors { codes, class, proportions, profiles })
}

/// The stays of [`pathways`] as episode records for sequence analysis: each stay's child and
/// state, its first day and, when the child moved on, its end day (days since referral, floored
/// to whole days); a stay still open at the end of follow-up has no end (NaN).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PathwayEpisodes {
    /// The child of each episode.
    pub child: Vec<String>,
    /// The state.
    pub state: Vec<String>,
    /// The first day.
    pub start: Vec<f64>,
    /// The day it ended (exclusive), or NaN while open.
    pub end: Vec<f64>,
    /// The child's deprivation step.
    pub deprivation: Vec<f64>,
}

/// Episodes from the frame [`pathways`] returns.
///
/// # Errors
/// [`Error::Core`] when a column of [`pathways`]' frame is missing.
pub fn pathway_episodes(stays: &DataFrame) -> Result<PathwayEpisodes> {
    let (child, state) = (stays.column("child")?, stays.column("state")?);
    let number = |name: &str| -> Result<Vec<f64>> {
        Ok(stays.numbers(name)?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (start, stop, moved, deprivation) =
        (number("start")?, number("stop")?, number("moved")?, number("deprivation")?);
    let mut out = PathwayEpisodes::default();
    for i in 0..stays.nrows() {
        out.child.push(child.text(i).unwrap_or_default());
        out.state.push(state.text(i).unwrap_or_default());
        out.start.push(start[i].floor());
        out.end.push(if moved[i] == 1.0 { stop[i].floor() } else { f64::NAN });
        out.deprivation.push(deprivation[i]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn england_matches_its_calibration() {
        let england = SyntheticEngland::generate(&EnglandParameters::default(), 1).unwrap();
        let n = &england.neighbourhoods;
        assert_eq!(n.nrows(), 32_844);
        assert_eq!(england.local_authorities.nrows(), 152);
        let children: f64 = n.numbers("children").unwrap().iter().flatten().sum();
        assert!((children / 12.2e6 - 1.0).abs() < 1e-3, "{children}");
        let cla: f64 = n.numbers("cla").unwrap().iter().flatten().sum();
        let rate = cla / children * 1e4;
        assert!((rate - 67.0).abs() < 1.5, "{rate}");
        // Every decile holds a tenth of the neighbourhoods.
        let deciles = n.numbers("imd_decile").unwrap();
        for d in 1..=10 {
            let count = deciles.iter().filter(|v| *v == Some(f64::from(d))).count();
            assert!((count as f64 / 3284.4 - 1.0).abs() < 0.01, "decile {d}: {count}");
        }
    }

    #[test]
    fn assessments_reproduce_their_prevalences() {
        let prevalences = [0.3, 0.05, 0.2, 0.12];
        let a = assessment_factors(40_000, &prevalences, 4, 1.2, 3).unwrap();
        for (j, p) in prevalences.iter().enumerate() {
            let share = (0..40_000).filter(|i| a.codes[i * 4 + j] == 1).count() as f64 / 40_000.0;
            // Binomial error of the draws plus the cap at 0.95 (not binding here).
            assert!((share - p).abs() < 0.01, "factor {j}: {share} against {p}");
        }
        assert_eq!(a, assessment_factors(40_000, &prevalences, 4, 1.2, 3).unwrap());
        assert!(assessment_factors(10, &[1.2], 2, 1.2, 1).is_err());
    }

    #[test]
    fn a_seed_reproduces_england() {
        let p = EnglandParameters { neighbourhoods: 2000, local_authorities: 20, ..EnglandParameters::default() };
        let a = SyntheticEngland::generate(&p, 9).unwrap();
        let b = SyntheticEngland::generate(&p, 9).unwrap();
        assert_eq!(a.neighbourhoods, b.neighbourhoods);
        assert!(SyntheticEngland::generate(&EnglandParameters { neighbourhoods: 5, ..p }, 1).is_err());
    }
}
