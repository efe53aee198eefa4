//! `strata lca`: latent class analysis (poLCA, stepmix).

use super::{emit_model, write_file};
use crate::args::{list, range, whole};
use serde::Serialize;
use std::fmt;
use strata_core::csv::{read_csv, CsvOptions};
use strata_core::numerics::Matrix;
use strata_core::{Warning, WarningKind};
use strata_latent::covariates::{fit_membership, MembershipFit, Steps};
use strata_latent::select::{bootstrap_lrt, fit_range, BootstrapLrt, Criteria};
use strata_latent::{Indicators, LatentClassFit, LatentClassModel};

#[derive(clap::Args)]
pub struct LcaArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// The indicator columns, comma-separated (0/1 or whole-number codes; empty = missing)
    #[arg(long, value_name = "COLUMNS", value_parser = list)]
    indicators: ::std::vec::Vec<String>,
    /// The number of classes K, or a range 1:8 to compare
    #[arg(long, value_name = "K", value_parser = classes)]
    classes: std::ops::RangeInclusive<usize>,
    /// Random starts (the library bounds them)
    #[arg(long, default_value_t = 20, value_parser = whole(0, usize::MAX))]
    starts: usize,
    /// The seed of the starts
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Covariates of class membership, comma-separated (numeric columns)
    #[arg(long, value_name = "COLUMNS", value_parser = list)]
    covariates: Option<::std::vec::Vec<String>>,
    /// With --covariates: 1 (inside the likelihood, as poLCA) or 3 (after the measurement model, as stepmix; default)
    #[arg(long, value_enum, requires = "covariates")]
    steps: Option<StepsName>,
    /// Three steps: bch (default) or ml
    #[arg(long, value_enum, requires = "covariates")]
    correction: Option<CorrectionName>,
    /// Bootstrap likelihood-ratio test of K − 1 against K classes with this many replicates
    #[arg(long, value_name = "REPLICATES", value_parser = whole(0, usize::MAX))]
    blrt: Option<usize>,
    /// Write each row's posterior class probabilities and modal class to this CSV file
    #[arg(long, value_name = "FILE")]
    posterior: Option<String>,
    /// Write the item-probability profiles (one K) or the criteria against K (a range) to this SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<String>,
    /// Skip the standard errors (two E-steps a parameter)
    #[arg(long)]
    no_se: bool,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The steps of `--steps`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StepsName {
    #[value(name = "1")]
    One,
    #[value(name = "3")]
    Three,
}

/// The corrections of `--correction`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum CorrectionName {
    Bch,
    Ml,
}

/// `K` or a range `a:b` of class counts.
fn classes(text: &str) -> Result<std::ops::RangeInclusive<usize>, String> {
    if text.contains(':') {
        return range(text).ok_or_else(|| format!("`{text}`: use K or a range such as 1:8"));
    }
    let k = text.trim().parse().map_err(|_| format!("`{text}` is not a whole number"))?;
    Ok(k..=k)
}

/// Covariate names and their values (rows × covariates).
type Covariates = (Vec<String>, Matrix);

/// The indicators and, with `--covariates`, the covariates (rows with a missing covariate left
/// out, with a warning, as R's `na.omit`).
fn read_data(args: &LcaArgs) -> Result<(Indicators, Option<Covariates>), String> {
    let names = &args.indicators;
    let covariates = args.covariates.clone().unwrap_or_default();
    let mut columns = names.clone();
    columns.extend(covariates.iter().cloned());
    let frame = read_csv(&args.data, &CsvOptions::default().with_columns(&columns)).map_err(|e| e.to_string())?;
    let values = covariates
        .iter()
        .map(|c| {
            let column = frame.column(c).map_err(|e| e.to_string())?;
            if column.column_type() == strata_core::frame::ColumnType::Categorical {
                return Err(format!("covariate `{c}` is not numeric; code it as numbers (one 0/1 column a level)"));
            }
            frame.numbers(c).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let complete: Vec<usize> =
        (0..frame.nrows()).filter(|&i| values.iter().all(|v| v.get(i).is_some_and(f64::is_finite))).collect();
    if complete.len() < frame.nrows() {
        super::warn(Warning::new(
            WarningKind::Dropped,
            format!("{} row(s) with a missing covariate left out", frame.nrows() - complete.len()),
        ));
    }
    let frame = frame.take(&complete);
    let indicators = indicator_columns(&frame, names)?;
    let covariates = (!covariates.is_empty()).then(|| {
        let x = Matrix::from_fn(complete.len(), covariates.len(), |i, a| values[a].values()[complete[i]]);
        (covariates, x)
    });
    Ok((indicators, covariates))
}

fn indicator_columns(frame: &strata_core::DataFrame, names: &[String]) -> Result<Indicators, String> {
    let columns = names
        .iter()
        .map(|n| {
            let column = frame.column(n).map_err(|e| e.to_string())?;
            if column.column_type() == strata_core::frame::ColumnType::Categorical {
                return Err(format!(
                    "indicator `{n}` is not numeric; code its levels as whole numbers (0/1 or 1, 2, 3, …)"
                ));
            }
            frame.numbers(n).map(|values| values.iter().collect()).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<Vec<Option<f64>>>, _>>()?;
    Indicators::new(names, &columns).map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct ItemProbabilities<'a> {
    indicator: &'a str,
    level: &'a str,
    probabilities: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    std_errors: Option<Vec<f64>>,
}

#[derive(Serialize)]
struct LcaOutput<'a> {
    #[serde(flatten)]
    criteria: Criteria,
    n_obs: usize,
    n_patterns: usize,
    class_proportions: &'a [f64],
    #[serde(skip_serializing_if = "Option::is_none")]
    class_proportions_std_error: Option<&'a [f64]>,
    average_posterior: &'a [f64],
    item_probabilities: Vec<ItemProbabilities<'a>>,
    starts: &'a strata_latent::model::Starts,
    #[serde(skip_serializing_if = "Option::is_none")]
    blrt: Option<BootstrapLrt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    membership: Option<MembershipFit>,
    iterations: usize,
    converged: bool,
    warnings: &'a [Warning],
}

impl<'a> LcaOutput<'a> {
    /// A binary 0/1 indicator shows P(1) only, as stepmix and the reference cases; others every
    /// level.
    fn new(fit: &'a LatentClassFit) -> Self {
        let k = fit.classes();
        let mut items = Vec::new();
        for (j, name) in fit.indicators.iter().enumerate() {
            let levels = &fit.levels[j];
            let r = levels.len();
            let binary = levels.len() == 2 && levels[0] == "0" && levels[1] == "1";
            for (l, level) in levels.iter().enumerate().skip(usize::from(binary)) {
                let column = |table: &[f64]| (0..k).map(|c| table[c * r + l]).collect::<Vec<f64>>();
                items.push(ItemProbabilities {
                    indicator: name,
                    level,
                    probabilities: column(&fit.parameters.items[j]),
                    std_errors: fit.std_errors.as_ref().map(|se| column(&se.items[j])),
                });
            }
        }
        Self {
            criteria: Criteria::of(fit),
            n_obs: fit.n_obs,
            n_patterns: fit.n_patterns,
            class_proportions: &fit.parameters.proportions,
            class_proportions_std_error: fit.std_errors.as_ref().map(|se| se.proportions.as_slice()),
            average_posterior: &fit.average_posterior,
            item_probabilities: items,
            starts: &fit.starts,
            blrt: None,
            membership: None,
            iterations: fit.iterations,
            converged: fit.converged,
            warnings: &fit.warnings,
        }
    }
}

impl fmt::Display for LcaOutput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.criteria;
        let k = c.n_classes;
        writeln!(
            f,
            "Latent class model: {k} classes, {} rows ({} distinct patterns)\n\
             log-likelihood {:.4}, {} parameters, AIC {:.2}, BIC {:.2}, SABIC {:.2}, entropy {:.3}\n\
             best log-likelihood reached by {} of {} starts\n",
            self.n_obs,
            self.n_patterns,
            c.log_likelihood,
            c.n_parameters,
            c.aic,
            c.bic,
            c.sabic,
            c.entropy,
            self.starts.n_best,
            self.starts.n_starts
        )?;
        write!(f, "{:<32}", "")?;
        for c in 1..=k {
            write!(f, "{:>10}", format!("class {c}"))?;
        }
        write!(f, "\n{:<32}", "proportion")?;
        for p in self.class_proportions {
            write!(f, "{p:>10.4}")?;
        }
        if let Some(se) = self.class_proportions_std_error {
            write!(f, "\n{:<32}", "  (std. error)")?;
            for s in se {
                write!(f, "{s:>10.4}")?;
            }
        }
        write!(f, "\n{:<32}", "mean posterior (assigned)")?;
        for p in self.average_posterior {
            write!(f, "{p:>10.4}")?;
        }
        writeln!(f, "\n\nP(response | class):")?;
        for item in &self.item_probabilities {
            write!(f, "{:<32}", format!("{} = {}", item.indicator, item.level))?;
            for p in &item.probabilities {
                write!(f, "{p:>10.4}")?;
            }
            writeln!(f)?;
        }
        if let Some(b) = &self.blrt {
            writeln!(
                f,
                "\nBootstrap likelihood-ratio test of {} against {} classes: LR {:.3}, p = {:.4} ({} replicates)",
                b.n_classes - 1,
                b.n_classes,
                b.statistic,
                b.p_value,
                b.replicates.len()
            )?;
        }
        if let Some(m) = &self.membership {
            writeln!(f, "\nClass membership ({}), log odds against class 1, n = {}:", m.method, m.n_obs)?;
            writeln!(
                f,
                "  {:<7} {:<24} {:>10} {:>10} {:>8} {:>10}",
                "class", "term", "estimate", "std.error", "z", "p"
            )?;
            for c in &m.coefficients {
                writeln!(
                    f,
                    "  {:<7} {:<24} {:>10.4} {:>10.4} {:>8.3} {:>10.4}",
                    c.class, c.term, c.estimate, c.std_error, c.statistic, c.p_value
                )?;
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct RangeOutput {
    fits: Vec<RangeRow>,
    best_bic: usize,
}

#[derive(Serialize)]
struct RangeRow {
    #[serde(flatten)]
    criteria: Criteria,
    #[serde(skip_serializing_if = "Option::is_none")]
    blrt_p_value: Option<f64>,
}

impl fmt::Display for RangeOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>3} {:>14} {:>6} {:>12} {:>12} {:>12} {:>8} {:>9} {:>7} {:>8}",
            "K", "log-lik", "npar", "AIC", "BIC", "SABIC", "entropy", "smallest", "best", "BLRT p"
        )?;
        for row in &self.fits {
            let c = &row.criteria;
            writeln!(
                f,
                "{:>3} {:>14.4} {:>6} {:>12.2} {:>12.2} {:>12.2} {:>8.3} {:>9.3} {:>7} {:>8}",
                c.n_classes,
                c.log_likelihood,
                c.n_parameters,
                c.aic,
                c.bic,
                c.sabic,
                c.entropy,
                c.smallest_class,
                c.n_best,
                row.blrt_p_value.map_or_else(|| "–".to_string(), |p| format!("{p:.4}"))
            )?;
        }
        write!(f, "lowest BIC: {} classes", self.best_bic)
    }
}

pub fn run(args: &LcaArgs) -> Result<(), String> {
    let range = args.classes.clone();
    // The library bounds the starts and replicates, naming its limits.
    let seed = args.seed;
    let model = LatentClassModel::new(*range.start()).starts(args.starts).seed(seed).standard_errors(!args.no_se);
    let replicates = args.blrt;
    let (indicators, covariates) = read_data(args)?;
    if range.start() != range.end() {
        if covariates.is_some() || args.posterior.is_some() {
            return Err("--covariates and --posterior need one number of classes, not a range".into());
        }
        let low = (*range.start()).saturating_sub(usize::from(replicates.is_some() && *range.start() > 1));
        let fits = fit_range(&model.clone().standard_errors(false), &indicators, low.max(1)..=*range.end())
            .map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        for (i, fit) in fits.iter().enumerate() {
            if fit.classes() < *range.start() {
                continue;
            }
            let blrt_p_value = match (replicates, i.checked_sub(1)) {
                (Some(b), Some(previous)) => Some(
                    bootstrap_lrt(&model, &indicators, &fits[previous], fit, b, seed)
                        .map_err(|e| e.to_string())?
                        .p_value,
                ),
                _ => None,
            };
            rows.push(RangeRow { criteria: Criteria::of(fit), blrt_p_value });
        }
        let best_bic =
            rows.iter().min_by(|a, b| a.criteria.bic.total_cmp(&b.criteria.bic)).map_or(0, |r| r.criteria.n_classes);
        if let Some(path) = &args.plot {
            let criteria: Vec<Criteria> = rows.iter().map(|r| r.criteria.clone()).collect();
            write_file(path, &strata_latent::plot::criteria_chart(&criteria).to_svg())?;
        }
        return emit_model(args.json, "lca", &RangeOutput { fits: rows, best_bic });
    }
    let fit = model.fit(&indicators).map_err(|e| e.to_string())?;
    super::warn_all(&fit.warnings);
    if let Some(path) = &args.posterior {
        write_posterior(path, &fit)?;
    }
    if let Some(path) = &args.plot {
        write_file(path, &strata_latent::plot::profiles_svg(&fit))?;
    }
    let mut output = LcaOutput::new(&fit);
    if let Some(b) = replicates {
        let smaller = model.with_classes(fit.classes() - 1).standard_errors(false).fit(&indicators);
        let smaller =
            smaller.map_err(|e| format!("the {}-class model of the bootstrap test: {e}", fit.classes() - 1))?;
        output.blrt = Some(bootstrap_lrt(&model, &indicators, &smaller, &fit, b, seed).map_err(|e| e.to_string())?);
    }
    if let Some((names, x)) = &covariates {
        let steps = match (args.steps.unwrap_or(StepsName::Three), args.correction) {
            (StepsName::One, Some(_)) => return Err("--correction applies to three steps (--steps 3)".into()),
            (StepsName::One, None) => Steps::One,
            (StepsName::Three, None | Some(CorrectionName::Bch)) => Steps::ThreeBch,
            (StepsName::Three, Some(CorrectionName::Ml)) => Steps::ThreeMl,
        };
        output.membership = Some(fit_membership(&indicators, &fit, names, x, steps).map_err(|e| e.to_string())?);
    }
    emit_model(args.json, "lca", &output)
}

fn write_posterior(path: &str, fit: &LatentClassFit) -> Result<(), String> {
    use std::fmt::Write as _;
    let k = fit.classes();
    let mut text = String::from("row");
    for c in 1..=k {
        let _ = write!(text, ",class{c}");
    }
    text.push_str(",modal\n");
    for (i, modal) in fit.modal().iter().enumerate() {
        let _ = write!(text, "{}", i + 1);
        for p in fit.posterior(i) {
            let _ = write!(text, ",{p}");
        }
        let _ = writeln!(text, ",{}", modal + 1);
    }
    write_file(path, &text)
}
