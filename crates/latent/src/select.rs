//! Choosing the number of classes: fits over a range of K with their criteria, and the
//! parametric bootstrap likelihood-ratio test of K − 1 against K classes (McLachlan 1987;
//! Nylund, Asparouhov and Muthén 2007).

use crate::error::{Error, Result};
use crate::indicators::{Indicators, Patterns, MISSING};
use crate::measurement::Parameters;
use crate::model::{start_seed, LatentClassFit, LatentClassModel};
use serde::{Deserialize, Serialize};
use strata_core::progress;
use strata_core::random::Rng;

/// One row of the table of fits over K.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criteria {
    /// The number of classes.
    pub n_classes: usize,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    /// Free parameters.
    pub n_parameters: usize,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Sample-size-adjusted BIC.
    pub sabic: f64,
    /// Relative entropy.
    pub entropy: f64,
    /// The smallest class proportion.
    pub smallest_class: f64,
    /// Starts that reached the best log-likelihood, of how many.
    pub n_best: usize,
}

impl Criteria {
    /// The criteria of a fit.
    pub fn of(fit: &LatentClassFit) -> Self {
        Self {
            n_classes: fit.classes(),
            log_likelihood: fit.log_likelihood,
            n_parameters: fit.n_parameters,
            aic: fit.aic,
            bic: fit.bic,
            sabic: fit.sabic,
            entropy: fit.entropy,
            smallest_class: fit.parameters.proportions.iter().copied().fold(f64::INFINITY, f64::min),
            n_best: fit.starts.n_best,
        }
    }
}

/// Fits `model`'s options with each number of classes in `classes`.
///
/// # Examples
/// ```
/// use strata_latent::indicators::Indicators;
/// use strata_latent::model::LatentClassModel;
/// use strata_latent::select::fit_range;
/// let patterns = [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]];
/// let columns: Vec<Vec<Option<f64>>> =
///     (0..3).map(|j| (0..80).map(|i| Some(patterns[i % 4][j])).collect()).collect();
/// let indicators = Indicators::new(&["a", "b", "c"], &columns)?;
/// let fits = fit_range(&LatentClassModel::new(1).starts(3), &indicators, 1..=2)?;
/// assert_eq!(fits.len(), 2);
/// assert!(fits[1].log_likelihood >= fits[0].log_likelihood); // more classes fit at least as well
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`LatentClassModel::fit`].
pub fn fit_range(
    model: &LatentClassModel,
    indicators: &Indicators,
    classes: impl IntoIterator<Item = usize>,
) -> Result<Vec<LatentClassFit>> {
    let patterns = Patterns::new(indicators);
    let classes: Vec<usize> = classes.into_iter().collect();
    let task = progress::task("latent class models", classes.len() as u64);
    classes
        .into_iter()
        .map(|k| {
            let fit = model.with_classes(k).fit_patterns(indicators, &patterns);
            task.advance(1);
            fit
        })
        .collect()
}

/// `n` rows simulated from `parameters`, each row missing the indicators `missing_like` misses at
/// the same row (cycling through its rows), so that the bootstrap keeps the data's missingness.
pub fn simulate(parameters: &Parameters, missing_like: &Indicators, n: usize, rng: &mut Rng) -> Indicators {
    let k = parameters.classes();
    let j_count = parameters.items.len();
    let draw = |probabilities: &mut dyn Iterator<Item = f64>, rng: &mut Rng| -> usize {
        let u = rng.uniform();
        let mut total = 0.0;
        let mut last = 0;
        for (r, p) in probabilities.enumerate() {
            total += p;
            last = r;
            if u < total {
                return r;
            }
        }
        last
    };
    let mut codes = Vec::with_capacity(n * j_count);
    for i in 0..n {
        let class = draw(&mut parameters.proportions.iter().copied(), rng);
        let pattern = missing_like.row(i % missing_like.n_rows().max(1));
        for (j, table) in parameters.items.iter().enumerate() {
            let levels = table.len() / k;
            let r = draw(&mut table[class * levels..(class + 1) * levels].iter().copied(), rng);
            codes.push(if pattern.get(j) == Some(&MISSING) { MISSING } else { r as u8 });
        }
    }
    Indicators::from_codes(missing_like.names().to_vec(), missing_like.levels().to_vec(), codes)
        .expect("codes drawn from the parameters' levels")
}

/// The most bootstrap replicates a test may draw.
pub const MAX_REPLICATES: usize = 10_000;

/// The bootstrap likelihood-ratio test of K − 1 against K classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapLrt {
    /// K.
    pub n_classes: usize,
    /// $2(\ell_K - \ell_{K-1})$ on the data.
    pub statistic: f64,
    /// $(1 + \#\{b : LR_b \ge LR\})/(B + 1)$.
    pub p_value: f64,
    /// The statistic on each bootstrap sample.
    pub replicates: Vec<f64>,
}

/// The bootstrap likelihood-ratio test of `smaller.classes()` against one more class: `replicates`
/// samples of the data's size drawn from the smaller model's fit (with the data's missingness),
/// each fitted with K − 1 and K classes by `model`'s options (its starts halved, at least 5;
/// no standard errors); seeded by `seed`, so repeatable.
///
/// # Errors
/// [`Error::Specification`] for no replicates; errors of the fits.
pub fn bootstrap_lrt(
    model: &LatentClassModel,
    indicators: &Indicators,
    smaller: &LatentClassFit,
    larger: &LatentClassFit,
    replicates: usize,
    seed: u64,
) -> Result<BootstrapLrt> {
    if replicates == 0 || replicates > MAX_REPLICATES {
        return Err(Error::Specification(format!(
            "the bootstrap likelihood-ratio test needs between 1 and {MAX_REPLICATES} replicates ({replicates} asked for)"
        )));
    }
    if larger.classes() != smaller.classes() + 1 {
        return Err(Error::Specification("the bootstrap test compares K − 1 with K classes".into()));
    }
    let statistic = 2.0 * (larger.log_likelihood - smaller.log_likelihood);
    let quick = model.clone().starts((model.start_count() / 2).max(5)).standard_errors(false);
    let k = larger.classes();
    let mut draws = Vec::with_capacity(replicates);
    let task = progress::task("bootstrap likelihood-ratio test", replicates as u64);
    for b in 0..replicates {
        let mut rng = Rng::new(start_seed(seed ^ 0xB007_5743, b));
        let sample = simulate(&smaller.parameters, indicators, indicators.n_rows(), &mut rng);
        let patterns = Patterns::new(&sample);
        let seeded = quick.clone().seed(start_seed(seed, b));
        let null = seeded.with_classes(k - 1).fit_patterns(&sample, &patterns)?;
        draws.push(match seeded.with_classes(k).fit_patterns(&sample, &patterns) {
            Ok(alternative) => (2.0 * (alternative.log_likelihood - null.log_likelihood)).max(0.0),
            // A sample with fewer distinct patterns than K classes cannot be fitted with K.
            Err(Error::TooManyClasses { .. }) => 0.0,
            Err(e) => return Err(e),
        });
        task.advance(1);
    }
    let exceed = draws.iter().filter(|&&d| d >= statistic).count();
    Ok(BootstrapLrt {
        n_classes: k,
        statistic,
        p_value: (1 + exceed) as f64 / (replicates + 1) as f64,
        replicates: draws,
    })
}
