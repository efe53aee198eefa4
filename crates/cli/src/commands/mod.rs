//! The subcommands and their dispatch.

mod categorical;
mod demo;
mod frame;
mod glm;
mod gradient;
mod inequality;
mod latent;
mod mixed;
mod panel;
mod sequences;
mod survival;

use crate::args::whole;
use clap::{CommandFactory as _, FromArgMatches as _};
use strata_core::csv::{read_csv, CsvOptions};
use strata_core::{DataFrame, Warning};

/// Statistics for research on child-welfare inequalities
#[derive(clap::Parser)]
#[command(
    name = "strata",
    version,
    arg_required_else_help = true,
    max_term_width = 110,
    after_help = "Every model subcommand reads `--data FILE.csv` and prints a table, or one JSON object with \
                  `--json`; `strata SUBCOMMAND --help` lists its options. Errors go to stderr with exit status 2."
)]
struct Cli {
    #[command(subcommand)]
    command: Subcommand,
    /// Make any warning an error
    #[arg(long, global = true)]
    strict: bool,
    /// Compute on N threads (as STRATA_THREADS; the answer is the same on any number)
    #[arg(long, global = true, value_name = "N", value_parser = whole(1, MAX_THREADS))]
    threads: Option<usize>,
}

#[derive(clap::Subcommand)]
enum Subcommand {
    /// The report: a synthetic England with known effects recovered, then the real DfE data
    Demo(demo::DemoArgs),
    /// Show a CSV file's columns, inferred types, missing values and levels
    Frame(frame::FrameArgs),
    /// Generalised linear model: gaussian, binomial, poisson, quasipoisson, gamma, negbin
    Glm(glm::GlmArgs),
    /// Rates by deprivation decile and the deprivation-gradient model (Poisson or negative binomial)
    Gradient(gradient::GradientArgs),
    /// Kaplan–Meier survival curves (R's survfit)
    Km(survival::km::KmArgs),
    /// Log-rank and Fleming–Harrington tests between groups (R's survdiff)
    Logrank(survival::km::LogrankArgs),
    /// Cox proportional-hazards model (R's coxph), with cox.zph and residuals
    Cox(survival::cox::CoxArgs),
    /// Continuous-time multi-state Markov model of panel data (R's msm)
    Msm(survival::msm::MsmArgs),
    /// Multi-state model of observed moves: Aalen–Johansen, transition Cox models (mstate)
    Multistate(survival::multistate::MultistateArgs),
    /// Cumulative incidence of competing outcomes and Gray's test (cmprsk::cuminc)
    Cuminc(survival::competing::CumincArgs),
    /// Fine–Gray subdistribution-hazards model of one competing outcome (cmprsk::crr)
    FineGray(survival::competing::FineGrayArgs),
    /// Linear mixed model (lme4's lmer): nested and crossed random effects, random slopes
    Lmm(mixed::LmmArgs),
    /// Generalised linear mixed model (lme4's glmer, glmer.nb): binomial, Poisson, negbin
    Glmm(mixed::GlmmArgs),
    /// Inequality indices (Gini, Theil, Atkinson…) or, with --grouped, SII/RII/concentration index
    Inequality(inequality::InequalityArgs),
    /// Correlations with intervals and tests, overall or by year (cor.test)
    Cor(panel::CorArgs),
    /// Linear model with absorbed fixed effects (fixest's feols), clustered standard errors
    Feols(panel::FixestArgs),
    /// Poisson model with absorbed fixed effects (fixest's fepois), clustered standard errors
    Fepois(panel::FixestArgs),
    /// Interrupted time series: segmented regression with Newey–West standard errors
    Its(panel::ItsArgs),
    /// Multinomial logit model of an unordered outcome (nnet::multinom), relative-risk ratios
    Multinom(categorical::MultinomArgs),
    /// Cumulative link model of an ordered outcome (ordinal::clm), with (1 | g) terms a mixed model (clmm)
    Ordinal(categorical::OrdinalArgs),
    /// Sequence analysis of pathways: distances (optimal matching…), typologies, plots (TraMineR)
    Sequences(sequences::SequencesArgs),
    /// Latent class analysis of categorical indicators (poLCA, stepmix): classes, covariates, BLRT
    Lca(latent::LcaArgs),
    /// Print a completion script for a shell (e.g. `strata completions bash > /etc/bash_completion.d/strata`)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs the command line `argv` (with the program name first). A bad option, `--help` and
/// `--version` end the program here, as clap does (status 2, 0 and 0).
pub fn run(argv: impl IntoIterator<Item = std::ffi::OsString>) -> Result<(), String> {
    // A repeated option takes its last value, and a value may be a negative number (`--indel -1`,
    // refused by the parsers with a reason, `--censor-code -1`).
    let command = Cli::command().mut_subcommands(|s| s.args_override_self(true).allow_negative_numbers(true));
    let matches = command.try_get_matches_from(argv).unwrap_or_else(|e| e.exit());
    if let Some((_, options)) = matches.subcommand() {
        let inputs = INPUT_FLAGS
            .iter()
            .filter_map(|id| options.try_get_one::<String>(id).ok().flatten())
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let _ = INPUTS.set(inputs);
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    STRICT.store(cli.strict, std::sync::atomic::Ordering::Relaxed);
    if let Some(count) = cli.threads {
        strata_core::parallel::set_threads(count);
    }
    match &cli.command {
        Subcommand::Demo(args) => demo::run(args),
        Subcommand::Frame(args) => frame::run(args),
        Subcommand::Glm(args) => glm::run(args),
        Subcommand::Gradient(args) => gradient::run(args),
        Subcommand::Km(args) => survival::km::run_km(args),
        Subcommand::Logrank(args) => survival::km::run_logrank(args),
        Subcommand::Cox(args) => survival::cox::run(args),
        Subcommand::Msm(args) => survival::msm::run(args),
        Subcommand::Multistate(args) => survival::multistate::run(args),
        Subcommand::Cuminc(args) => survival::competing::run_cuminc(args),
        Subcommand::FineGray(args) => survival::competing::run_fine_gray(args),
        Subcommand::Lmm(args) => mixed::run_lmm(args),
        Subcommand::Glmm(args) => mixed::run_glmm(args),
        Subcommand::Inequality(args) => inequality::run(args),
        Subcommand::Cor(args) => panel::run_cor(args),
        Subcommand::Feols(args) => panel::run_feols(args),
        Subcommand::Fepois(args) => panel::run_fepois(args),
        Subcommand::Its(args) => panel::run_its(args),
        Subcommand::Multinom(args) => categorical::run_multinom(args),
        Subcommand::Ordinal(args) => categorical::run_ordinal(args),
        Subcommand::Sequences(args) => sequences::run(args),
        Subcommand::Lca(args) => latent::run(args),
        Subcommand::Completions { shell } => {
            // Written through `out`, which ends quietly when the reader has gone.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "strata", &mut script);
            out(String::from_utf8_lossy(&script).trim_end())
        }
    }
}

/// Options whose value is a file the command reads.
const INPUT_FLAGS: &[&str] = &["data", "predict", "substitution"];

/// The files this run reads, which no output may overwrite.
static INPUTS: std::sync::OnceLock<Vec<std::path::PathBuf>> = std::sync::OnceLock::new();

/// The most threads `--threads` may ask for.
const MAX_THREADS: usize = 1024;

/// The most bootstrap replicates an option may ask for.
pub const MAX_REPLICATES: usize = 100_000;

/// Reads the `--data` file.
pub fn read_data(data: &str) -> Result<DataFrame, String> {
    load(data, None)
}

/// Reads only the columns of the `--data` file that `formula` refers to, and the `extra`
/// columns options name (weights, clusters): wide files read faster and in less memory.
pub fn read_model_data(data: &str, formula: &str, extra: &[Option<&str>]) -> Result<DataFrame, String> {
    let mut columns = strata_core::Formula::parse(formula).map_err(|e| e.to_string())?.names();
    columns.extend(extra.iter().flatten().map(|c| (*c).to_string()));
    read_columns(data, &columns)
}

/// Reads only `columns` of the `--data` file.
pub fn read_columns(data: &str, columns: &[String]) -> Result<DataFrame, String> {
    load(data, Some(columns))
}

/// Reads `path`, whole or only those of `columns` it has: a CSV file, or a Parquet file (named
/// `*.parquet`) when strata is built with the `arrow` feature.
fn load(path: &str, columns: Option<&[String]>) -> Result<DataFrame, String> {
    if std::path::Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        #[cfg(feature = "arrow")]
        return strata_core::interop::arrow::read_parquet(path, columns).map_err(|e| e.to_string());
        #[cfg(not(feature = "arrow"))]
        return Err(format!(
            "{path} is a Parquet file: this strata was built without Parquet support (build it with `--features arrow`)"
        ));
    }
    let options = match columns {
        Some(columns) => CsvOptions::default().with_columns(columns),
        None => CsvOptions::default(),
    };
    read_csv(path, &options).map_err(|e| e.to_string())
}

/// Whether `--strict` was given: a warning is then an error.
static STRICT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Warnings of this run, for `--json`.
static WARNINGS: std::sync::Mutex<Vec<Warning>> = std::sync::Mutex::new(Vec::new());

/// Prints a warning on stderr and keeps it for the `warnings` array of `--json`.
pub fn warn(warning: Warning) {
    eprintln!("warning: {warning}");
    WARNINGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(warning);
}

/// Prints each of a fit's warnings (see [`warn`]).
pub fn warn_all(warnings: &[Warning]) {
    for warning in warnings {
        warn(warning.clone());
    }
}

/// `value` as JSON with a `warnings` array: the model's own and those this run printed, each once.
fn with_warnings<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, String> {
    let mut json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    if let Some(object) = json.as_object_mut() {
        let mut all: Vec<serde_json::Value> =
            object.get("warnings").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
        for w in WARNINGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let w = serde_json::to_value(w).map_err(|e| e.to_string())?;
            if !all.contains(&w) {
                all.push(w);
            }
        }
        object.insert("warnings".into(), all.into());
    }
    Ok(json)
}

/// Under `--strict`, the run's warnings as an error instead of the output.
fn strict(json: &serde_json::Value) -> Result<(), String> {
    if !STRICT.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let warnings: Vec<&str> = json
        .get("warnings")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|w| w.get("message").and_then(serde_json::Value::as_str))
        .collect();
    if warnings.is_empty() {
        Ok(())
    } else {
        Err(format!("--strict: {}", warnings.join("; ")))
    }
}

/// Prints `value` as one JSON object (with its `warnings`), or `text` otherwise.
pub fn emit<T: serde::Serialize + std::fmt::Display>(json_out: bool, value: &T) -> Result<(), String> {
    let json = with_warnings(value)?;
    strict(&json)?;
    if json_out {
        out(&serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?)
    } else {
        out(&value.to_string())
    }
}

/// Prints `value` as one JSON object tagged `"model": model` (the tag names the kind of output
/// for pipelines; library types carry none), or `value`'s text otherwise.
pub fn emit_model<T: serde::Serialize + std::fmt::Display>(
    json_out: bool,
    model: &str,
    value: &T,
) -> Result<(), String> {
    let mut json = with_warnings(value)?;
    strict(&json)?;
    if json_out {
        if let Some(object) = json.as_object_mut() {
            object.insert("model".into(), model.into());
        }
        out(&serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?)
    } else {
        out(&value.to_string())
    }
}

/// Writes `text` and a newline to stdout. A reader that has gone away (`strata … | head -1`)
/// ends the program quietly with status 0, as Unix tools do; any other failure to write (a
/// full disk) is an error.
pub fn out(text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("cannot write the output: {e}")),
    }
}

/// `--predict NEW.csv` and `--predictions OUT.csv`, which go together.
#[derive(clap::Args)]
pub struct PredictArgs {
    /// New data (CSV) to predict for
    #[arg(long, value_name = "FILE", requires = "predictions")]
    pub predict: Option<String>,
    /// With --predict: write the predictions to this CSV file
    #[arg(long, value_name = "FILE", requires = "predict")]
    pub predictions: Option<String>,
}

impl PredictArgs {
    /// The data of `--predict` and the `--predictions` file the results go to, if asked for.
    ///
    /// # Errors
    /// One of the two options without the other, or new data that cannot be read.
    pub fn read(&self) -> Result<Option<(DataFrame, &str)>, String> {
        match (self.predict.as_deref(), self.predictions.as_deref()) {
            (None, None) => Ok(None),
            (Some(input), Some(output)) => {
                read_csv(input, &CsvOptions::default()).map(|new| Some((new, output))).map_err(|e| e.to_string())
            }
            _ => Err("--predict NEW.csv and --predictions OUT.csv go together".into()),
        }
    }
}

/// Writes each row's predicted probability of every level to the CSV file `path`.
pub fn write_probabilities(path: &str, levels: &[String], probabilities: &[Vec<f64>]) -> Result<(), String> {
    use std::fmt::Write as _;
    let quoted: Vec<String> = levels.iter().map(|l| format!("\"{}\"", l.replace('"', "\"\""))).collect();
    let mut text = format!("row,{}\n", quoted.join(","));
    for (i, row) in probabilities.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
        let _ = writeln!(text, "{},{}", i + 1, cells.join(","));
    }
    write_file(path, &text)
}

/// Writes `chart` as SVG to `path`.
pub fn write_chart(path: &str, chart: &strata_plot::Chart) -> Result<(), String> {
    write_file(path, &chart.to_svg())
}

/// Writes `text` to the file `path` atomically — to a temporary file beside it, then renamed —
/// so that a failure leaves no half-written file, and never over a file this run reads.
pub fn write_file(path: &str, text: &str) -> Result<(), String> {
    let target = std::path::Path::new(path);
    if let Ok(canonical) = std::fs::canonicalize(target) {
        if INPUTS.get().is_some_and(|inputs| inputs.contains(&canonical)) {
            return Err(format!("refusing to write {path}: it is an input of this command"));
        }
    }
    let name = target.file_name().ok_or_else(|| format!("cannot write {path}: not a file name"))?;
    let temporary = target.with_file_name(format!(".{}.strata-{}.tmp", name.to_string_lossy(), std::process::id()));
    std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, target)).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot write {path}: {e}")
    })
}
