//! `strata lca`: latent class analysis (poLCA, stepmix).

use super::{emit_model, write_file, Command};
use crate::args::{list, range, switch, value, Args};
use serde::Serialize;
use std::fmt;
use strata_core::csv::{read_csv, CsvOptions};
use strata_core::numerics::Matrix;
use strata_core::{Warning, WarningKind};
use strata_latent::covariates::{fit_membership, MembershipFit, Steps};
use strata_latent::select::{bootstrap_lrt, fit_range, BootstrapLrt, Criteria};
use strata_latent::{Indicators, LatentClassFit, LatentClassModel};

pub const LCA: Command = Command {
    name: "lca",
    about: "latent class analysis of binary or polytomous indicators (poLCA, stepmix)",
    flags: &[
        value("data", "the CSV file"),
        value("indicators", "the indicator columns, comma-separated (0/1 or whole-number codes; empty = missing)"),
        value("classes", "the number of classes K, or a range 1:8 to compare"),
        value("starts", "random starts (default 20)"),
        value("seed", "the seed of the starts (default 1)"),
        value("covariates", "covariates of class membership, comma-separated (numeric columns)"),
        value("steps", "with --covariates: 1 (inside the likelihood, as poLCA) or 3 (after the measurement model, as stepmix; default)"),
        value("correction", "three steps: bch (default) or ml"),
        value("blrt", "bootstrap likelihood-ratio test of K − 1 against K classes with this many replicates"),
        value("posterior", "write each row's posterior class probabilities and modal class to this CSV file"),
        value("plot", "write the item-probability profiles (one K) or the criteria against K (a range) to this SVG file"),
        switch("no-se", "skip the standard errors (two E-steps a parameter)"),
        switch("json", "print one JSON object"),
    ],
    run: run_lca,
};

/// Covariate names and their values (rows × covariates).
type Covariates = (Vec<String>, Matrix);

/// The indicators and, with `--covariates`, the covariates (rows with a missing covariate left
/// out, with a warning, as R's `na.omit`).
fn read_data(args: &Args) -> Result<(Indicators, Option<Covariates>), String> {
    let path = args.required("data")?;
    let names = list(args.required("indicators")?);
    let covariates = args.get("covariates").map(list).unwrap_or_default();
    let mut columns = names.clone();
    columns.extend(covariates.iter().cloned());
    let frame = read_csv(path, &CsvOptions::default().with_columns(&columns)).map_err(|e| e.to_string())?;
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
    let indicators = indicator_columns(&frame, &names)?;
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

fn run_lca(args: &Args) -> Result<(), String> {
    let classes = args.required("classes")?;
    let range = if classes.contains(':') {
        range(classes).ok_or_else(|| format!("--classes `{classes}`: use K or a range such as 1:8"))?
    } else {
        let k = classes.trim().parse().map_err(|_| format!("--classes `{classes}` is not a whole number"))?;
        k..=k
    };
    // The library bounds the starts and replicates, naming its limits.
    let seed = args.seed()?;
    let model = LatentClassModel::new(*range.start())
        .starts(args.whole("starts", 20, 0, usize::MAX)?)
        .seed(seed)
        .standard_errors(!args.has("no-se"));
    let replicates = args.get("blrt").map(|_| args.whole("blrt", 0, 0, usize::MAX)).transpose()?;
    let (indicators, covariates) = read_data(args)?;
    if range.start() != range.end() {
        if covariates.is_some() || args.get("posterior").is_some() {
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
        if let Some(path) = args.get("plot") {
            let criteria: Vec<Criteria> = rows.iter().map(|r| r.criteria.clone()).collect();
            write_file(path, &strata_latent::plot::criteria_chart(&criteria).to_svg())?;
        }
        return emit_model(args, "lca", &RangeOutput { fits: rows, best_bic });
    }
    let fit = model.fit(&indicators).map_err(|e| e.to_string())?;
    super::warn_all(&fit.warnings);
    if let Some(path) = args.get("posterior") {
        write_posterior(path, &fit)?;
    }
    if let Some(path) = args.get("plot") {
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
        let steps = match (args.get("steps").unwrap_or("3"), args.get("correction").unwrap_or("bch")) {
            ("1", _) if args.get("correction").is_some() => {
                return Err("--correction applies to three steps (--steps 3)".into());
            }
            ("1", _) => Steps::One,
            ("3", "bch") => Steps::ThreeBch,
            ("3", "ml") => Steps::ThreeMl,
            ("3", other) => return Err(format!("--correction `{other}`: use bch or ml")),
            (other, _) => return Err(format!("--steps `{other}`: use 1 or 3")),
        };
        output.membership = Some(fit_membership(&indicators, &fit, names, x, steps).map_err(|e| e.to_string())?);
    } else if args.get("steps").is_some() || args.get("correction").is_some() {
        return Err("--steps and --correction need --covariates".into());
    }
    emit_model(args, "lca", &output)
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
