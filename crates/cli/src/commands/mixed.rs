//! `strata lmm` and `strata glmm`: mixed models (lme4's `lmer` and `glmer`).

use super::{emit, read_model_data, PredictArgs};
use crate::args::{positive, whole};
use serde::Serialize;
use std::fmt::{self, Write};
use strata_core::family::Family;
use strata_core::random::Rng;
use strata_glm::{PredictionScale, ResidualKind};
use strata_multilevel::glmm::{GlmmSummary, RandomEffect};
use strata_multilevel::partition::PartitionInterval;
use strata_multilevel::{
    BootstrapInterval, GeneralizedLinearMixedModel, LinearMixedModel, LmmSummary, MixedPrediction, ProfileInterval,
};

#[derive(clap::Args)]
pub struct LmmArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// lme4 formula, e.g. "Reaction ~ Days + (Days | Subject)"
    #[arg(long)]
    formula: String,
    /// Maximum likelihood instead of REML
    #[arg(long)]
    ml: bool,
    #[command(flatten)]
    common: MixedArgs,
}

/// The options `strata lmm` and `strata glmm` share.
#[derive(clap::Args)]
pub struct MixedArgs {
    /// Column of prior weights (an LMM's residual variance is σ²/w, as lme4's weights)
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Write the conditional modes (BLUPs) with their conditional SDs to this CSV file
    #[arg(long, value_name = "FILE")]
    ranef: Option<String>,
    /// Write the fitted values and residuals of the rows used to this CSV file
    #[arg(long, value_name = "FILE")]
    fitted: Option<String>,
    #[command(flatten)]
    predict: PredictArgs,
    /// Parametric bootstrap replicates for 95% percentile intervals (lme4's bootMer)
    #[arg(long, value_name = "REPLICATES", value_parser = whole(1, super::MAX_REPLICATES))]
    bootstrap: Option<usize>,
    /// The bootstrap's seed
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// 95% profile-likelihood intervals (lme4's confint(fit, method = "profile"))
    #[arg(long)]
    profile: bool,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run_lmm(args: &LmmArgs) -> Result<(), String> {
    let common = &args.common;
    let mut model = LinearMixedModel::new(&args.formula).map_err(|e| e.to_string())?.reml(!args.ml);
    if let Some(w) = &common.weights {
        model = model.weights(w);
    }
    let frame = read_model_data(&args.data, &args.formula, &[common.weights.as_deref()])?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.convergence().warnings);
    write_ranef(common, &fit.ranef())?;
    write_fitted(common, fit.rows(), &[("fitted", fit.fitted()), ("residual", fit.residuals())])?;
    if let Some((new, output)) = common.predict.read()? {
        write_predictions(output, &fit.predict(&new).map_err(|e| e.to_string())?)?;
    }
    let bootstrap = match common.bootstrap {
        Some(replicates) => {
            fit.parametric_bootstrap(replicates, 0.95, &mut Rng::new(common.seed)).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    let profile = if common.profile { fit.profile_intervals(0.95).map_err(|e| e.to_string())? } else { Vec::new() };
    emit(common.json, &LmmReport { summary: fit.summary(), bootstrap, profile })
}

/// The `lmer` summary, with bootstrap intervals when asked for.
#[derive(Serialize)]
struct LmmReport {
    #[serde(flatten)]
    summary: LmmSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bootstrap: Vec<BootstrapInterval>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profile: Vec<ProfileInterval>,
}

impl fmt::Display for LmmReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary)?;
        write_bootstrap(f, &self.bootstrap)?;
        write_profile(f, &self.profile)
    }
}

/// With `--fitted FILE`, the data row (1-based) and the named columns.
fn write_fitted(args: &MixedArgs, rows: &[usize], columns: &[(&str, Vec<f64>)]) -> Result<(), String> {
    let Some(path) = &args.fitted else { return Ok(()) };
    let mut text = String::from("row");
    for (name, _) in columns {
        let _ = write!(text, ",{name}");
    }
    for (i, row) in rows.iter().enumerate() {
        let _ = write!(text, "\n{}", row + 1);
        for (_, values) in columns {
            let _ = write!(text, ",{}", values[i]);
        }
    }
    text.push('\n');
    super::write_file(path, &text)
}

/// With `--ranef FILE`, the conditional modes and their conditional standard deviations.
fn write_ranef(args: &MixedArgs, effects: &[RandomEffect]) -> Result<(), String> {
    let Some(path) = &args.ranef else { return Ok(()) };
    let mut text = String::from("group,level,term,value,condsd\n");
    for effect in effects {
        let _ = writeln!(
            text,
            "{},{},{},{},{}",
            quote(&effect.group),
            quote(&effect.level),
            quote(&effect.term),
            effect.value,
            effect.std_error.map_or(String::new(), |v| v.to_string())
        );
    }
    super::write_file(path, &text)
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[derive(clap::Args)]
pub struct GlmmArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// lme4 formula, e.g. "cbind(cases, n - cases) ~ period + (1 | herd)"
    #[arg(long)]
    formula: String,
    /// The family (negbin: shape estimated, as glmer.nb)
    #[arg(long, value_enum)]
    family: GlmmFamily,
    /// With --family negbin: a known shape instead of estimating it
    #[arg(long, value_parser = positive)]
    shape: Option<f64>,
    /// Adaptive Gauss–Hermite points (1: Laplace); > 1 needs one scalar random effect (lme4 allows up to 100)
    #[arg(long, default_value_t = 1, value_parser = whole(1, 100))]
    nagq: usize,
    #[command(flatten)]
    common: MixedArgs,
}

/// The families of a GLMM.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum GlmmFamily {
    Binomial,
    Poisson,
    Negbin,
}

pub fn run_glmm(args: &GlmmArgs) -> Result<(), String> {
    let common = &args.common;
    let formula = args.formula.as_str();
    let model = match (args.family, args.shape) {
        (GlmmFamily::Negbin, None) => GeneralizedLinearMixedModel::negative_binomial(formula),
        (GlmmFamily::Negbin, Some(theta)) => {
            GeneralizedLinearMixedModel::new(formula, Family::NegativeBinomial { theta })
        }
        (_, Some(_)) => return Err("--shape is the negative binomial shape: it needs --family negbin".into()),
        (GlmmFamily::Binomial, None) => GeneralizedLinearMixedModel::new(formula, Family::Binomial),
        (GlmmFamily::Poisson, None) => GeneralizedLinearMixedModel::new(formula, Family::Poisson),
    };
    let mut model = model.and_then(|m| m.nagq(args.nagq)).map_err(|e| e.to_string())?;
    if let Some(w) = &common.weights {
        model = model.weights(w);
    }
    let frame = read_model_data(&args.data, formula, &[common.weights.as_deref()])?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.convergence().warnings);
    write_ranef(common, &fit.ranef())?;
    let columns = [
        ("fitted", fit.fitted()),
        ("deviance", fit.residuals(ResidualKind::Deviance)),
        ("pearson", fit.residuals(ResidualKind::Pearson)),
    ];
    write_fitted(common, fit.rows(), &columns)?;
    if let Some((new, output)) = common.predict.read()? {
        write_predictions(output, &fit.predict(&new, PredictionScale::Response).map_err(|e| e.to_string())?)?;
    }
    let profile = if common.profile { fit.profile_intervals(0.95).map_err(|e| e.to_string())? } else { Vec::new() };
    let partition_intervals = fit.partition_intervals(&profile);
    let bootstrap = match common.bootstrap {
        Some(replicates) => {
            fit.parametric_bootstrap(replicates, 0.95, &mut Rng::new(common.seed)).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    emit(common.json, &GlmmReport { summary: fit.summary(), profile, partition_intervals, bootstrap })
}

/// The `glmer` summary, with profile intervals when asked for.
#[derive(Serialize)]
struct GlmmReport {
    #[serde(flatten)]
    summary: GlmmSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profile: Vec<ProfileInterval>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    partition_intervals: Vec<PartitionInterval>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bootstrap: Vec<BootstrapInterval>,
}

impl fmt::Display for GlmmReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary)?;
        write_bootstrap(f, &self.bootstrap)?;
        write_profile(f, &self.profile)?;
        for p in &self.partition_intervals {
            write!(f, "\n  {}: median ratio [{:.4}, {:.4}]", p.group, p.median_ratio.0, p.median_ratio.1)?;
            if let Some((low, high)) = p.share {
                write!(f, ", VPC [{low:.4}, {high:.4}]")?;
            }
        }
        Ok(())
    }
}

/// Percentile intervals under a heading.
fn write_bootstrap(f: &mut fmt::Formatter<'_>, bootstrap: &[BootstrapInterval]) -> fmt::Result {
    if !bootstrap.is_empty() {
        write!(f, "\nParametric bootstrap, 95% percentile intervals:")?;
        let width = bootstrap.iter().map(|b| b.parameter.chars().count()).max().unwrap_or(0);
        for b in bootstrap {
            write!(
                f,
                "\n  {:<width$} {:>12.5}  SE {:>10.5}  [{:.5}, {:.5}]",
                b.parameter, b.estimate, b.std_error, b.lower, b.upper
            )?;
        }
    }
    Ok(())
}

/// Profile intervals under a heading.
fn write_profile(f: &mut fmt::Formatter<'_>, profile: &[ProfileInterval]) -> fmt::Result {
    if !profile.is_empty() {
        write!(f, "\nProfile-likelihood 95% intervals:")?;
        let width = profile.iter().map(|b| b.parameter.chars().count()).max().unwrap_or(0);
        for b in profile {
            write!(f, "\n  {:<width$} [{:.5}, {:.5}]", b.parameter, b.lower, b.upper)?;
        }
    }
    Ok(())
}

/// Writes row, population and conditional predictions to the CSV file `path`.
fn write_predictions(path: &str, predictions: &[MixedPrediction]) -> Result<(), String> {
    let mut text = String::from("row,population,conditional\n");
    for p in predictions {
        let _ = writeln!(text, "{},{},{}", p.row + 1, p.population, p.conditional);
    }
    super::write_file(path, &text)
}
