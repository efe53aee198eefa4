//! `strata lca`: latent class analysis (poLCA, stepmix).

use super::{emit_model, Command};
use crate::args::{switch, value, Args};
use serde::Serialize;
use std::fmt;
use strata_core::csv::{read_csv, CsvOptions};
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
        value("posterior", "write each row's posterior class probabilities and modal class to this CSV file"),
        switch("no-se", "skip the standard errors (two E-steps a parameter)"),
        switch("json", "print one JSON object"),
    ],
    run: run_lca,
};

fn whole(args: &Args, name: &str, default: usize) -> Result<usize, String> {
    match args.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| format!("--{name} `{v}` is not a whole number")),
    }
}

fn read_indicators(args: &Args) -> Result<Indicators, String> {
    let path = args.required("data")?;
    let names: Vec<String> = args.required("indicators")?.split(',').map(|s| s.trim().to_string()).collect();
    let frame = read_csv(path, &CsvOptions::default().with_columns(&names)).map_err(|e| e.to_string())?;
    let columns = names
        .iter()
        .map(|n| {
            let column = frame.column(n).map_err(|e| e.to_string())?;
            if column.column_type() == strata_core::frame::ColumnType::Categorical {
                return Err(format!(
                    "indicator `{n}` is not numeric; code its levels as whole numbers (0/1 or 1, 2, 3, …)"
                ));
            }
            frame.numbers(n).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Indicators::new(&names, &columns).map_err(|e| e.to_string())
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
    n_classes: usize,
    n_obs: usize,
    n_patterns: usize,
    log_likelihood: f64,
    n_parameters: usize,
    aic: f64,
    bic: f64,
    sabic: f64,
    entropy: f64,
    class_proportions: &'a [f64],
    #[serde(skip_serializing_if = "Option::is_none")]
    class_proportions_std_error: Option<&'a [f64]>,
    average_posterior: &'a [f64],
    item_probabilities: Vec<ItemProbabilities<'a>>,
    starts: &'a strata_latent::model::Starts,
    iterations: usize,
    converged: bool,
    warnings: &'a [String],
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
            n_classes: k,
            n_obs: fit.n_obs,
            n_patterns: fit.n_patterns,
            log_likelihood: fit.log_likelihood,
            n_parameters: fit.n_parameters,
            aic: fit.aic,
            bic: fit.bic,
            sabic: fit.sabic,
            entropy: fit.entropy,
            class_proportions: &fit.parameters.proportions,
            class_proportions_std_error: fit.std_errors.as_ref().map(|se| se.proportions.as_slice()),
            average_posterior: &fit.average_posterior,
            item_probabilities: items,
            starts: &fit.starts,
            iterations: fit.iterations,
            converged: fit.converged,
            warnings: &fit.warnings,
        }
    }
}

impl fmt::Display for LcaOutput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.n_classes;
        writeln!(
            f,
            "Latent class model: {k} classes, {} rows ({} distinct patterns)\n\
             log-likelihood {:.4}, {} parameters, AIC {:.2}, BIC {:.2}, SABIC {:.2}, entropy {:.3}\n\
             best log-likelihood reached by {} of {} starts\n",
            self.n_obs,
            self.n_patterns,
            self.log_likelihood,
            self.n_parameters,
            self.aic,
            self.bic,
            self.sabic,
            self.entropy,
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
        Ok(())
    }
}

fn run_lca(args: &Args) -> Result<(), String> {
    let classes = args.required("classes")?;
    let k: usize = classes.trim().parse().map_err(|_| format!("--classes `{classes}` is not a whole number"))?;
    let model = LatentClassModel::new(k)
        .starts(whole(args, "starts", 20)?)
        .seed(whole(args, "seed", 1)? as u64)
        .standard_errors(!args.has("no-se"));
    let indicators = read_indicators(args)?;
    let fit = model.fit(&indicators).map_err(|e| e.to_string())?;
    for warning in &fit.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(path) = args.get("posterior") {
        write_posterior(path, &fit)?;
    }
    emit_model(args, "lca", &LcaOutput::new(&fit))
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
    std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))
}
