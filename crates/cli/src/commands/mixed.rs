//! `strata lmm` and `strata glmm`: mixed models (lme4's `lmer` and `glmer`).

use super::{emit, new_data, read_data, Command};
use crate::args::{switch, value, Args};
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

pub const LMM: Command = Command {
    name: "lmm",
    about: "linear mixed model by REML (or --ml): y ~ x + (1 + x | group)",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "lme4 formula, e.g. \"Reaction ~ Days + (Days | Subject)\""),
        switch("ml", "maximum likelihood instead of REML"),
        value("weights", "column of prior weights: residual variance σ²/w (lme4's weights)"),
        value("ranef", "write the conditional modes (BLUPs) to this CSV file"),
        value("predict", "new data (CSV) to predict for; new levels get the population prediction"),
        value("predictions", "with --predict: write row,population,conditional to this CSV file"),
        value("fitted", "write row,fitted,residual of the rows used to this CSV file"),
        value("bootstrap", "parametric bootstrap replicates for 95% percentile intervals (lme4's bootMer)"),
        value("seed", "bootstrap seed (default 1)"),
        switch("profile", "95% profile-likelihood intervals (lme4's confint(fit, method = \"profile\"))"),
        switch("json", "print one JSON object"),
    ],
    run: run_lmm,
};

fn run_lmm(args: &Args) -> Result<(), String> {
    let mut model = LinearMixedModel::new(args.required("formula")?).map_err(|e| e.to_string())?.reml(!args.has("ml"));
    if let Some(w) = args.get("weights") {
        model = model.weights(w);
    }
    let frame = read_data(args)?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.convergence().warnings);
    write_ranef(args, &fit.ranef())?;
    write_fitted(args, fit.rows(), &[("fitted", fit.fitted()), ("residual", fit.residuals())])?;
    if let Some(new) = new_data(args)? {
        write_predictions(args, &fit.predict(&new).map_err(|e| e.to_string())?)?;
    }
    let bootstrap = match bootstrap_settings(args)? {
        Some((replicates, seed)) => {
            fit.parametric_bootstrap(replicates, 0.95, &mut Rng::new(seed)).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    let profile =
        if args.has("profile") { fit.profile_intervals(0.95).map_err(|e| e.to_string())? } else { Vec::new() };
    emit(args, &LmmReport { summary: fit.summary(), bootstrap, profile })
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
fn write_fitted(args: &Args, rows: &[usize], columns: &[(&str, Vec<f64>)]) -> Result<(), String> {
    let Some(path) = args.get("fitted") else { return Ok(()) };
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
fn write_ranef(args: &Args, effects: &[RandomEffect]) -> Result<(), String> {
    let Some(path) = args.get("ranef") else { return Ok(()) };
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

pub const GLMM: Command = Command {
    name: "glmm",
    about: "generalised linear mixed model (binomial, poisson, negbin) by Laplace or adaptive quadrature",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "lme4 formula, e.g. \"cbind(cases, n - cases) ~ period + (1 | herd)\""),
        value("family", "binomial | poisson | negbin (shape estimated, as glmer.nb)"),
        value("shape", "with --family negbin: a known shape instead of estimating it"),
        value("nagq", "adaptive Gauss–Hermite points (default 1: Laplace); > 1 needs one scalar random effect"),
        value("weights", "column of prior weights"),
        value(
            "predict",
            "new data (CSV) to predict for, on the response scale; new levels get the population prediction",
        ),
        value("predictions", "with --predict: write row,population,conditional to this CSV file"),
        value("ranef", "write the conditional modes with their conditional SDs to this CSV file"),
        value("fitted", "write row,fitted,deviance,pearson (fitted means, residuals) to this CSV file"),
        switch("profile", "95% profile-likelihood intervals, with intervals for the median odds/rate ratios"),
        value(
            "bootstrap",
            "parametric bootstrap replicates for 95% percentile intervals, VPCs and median ratios included",
        ),
        value("seed", "bootstrap seed (default 1)"),
        switch("json", "print one JSON object"),
    ],
    run: run_glmm,
};

fn run_glmm(args: &Args) -> Result<(), String> {
    let formula = args.required("formula")?;
    let shape = args.numbers("shape")?.map(|v| v[0]);
    let model = match (args.required("family")?, shape) {
        ("negbin", None) => GeneralizedLinearMixedModel::negative_binomial(formula),
        ("negbin", Some(theta)) => GeneralizedLinearMixedModel::new(formula, Family::NegativeBinomial { theta }),
        (_, Some(_)) => return Err("--shape is the negative binomial shape: it needs --family negbin".into()),
        ("binomial", None) => GeneralizedLinearMixedModel::new(formula, Family::Binomial),
        ("poisson", None) => GeneralizedLinearMixedModel::new(formula, Family::Poisson),
        (other, None) => return Err(format!("unknown GLMM family `{other}` (binomial, poisson, negbin)")),
    };
    // lme4 refuses more than 100 points (and more give nothing but rounding error).
    let nagq = args.whole("nagq", 1, 1, 100)?;
    let mut model = model.and_then(|m| m.nagq(nagq)).map_err(|e| e.to_string())?;
    if let Some(w) = args.get("weights") {
        model = model.weights(w);
    }
    let frame = read_data(args)?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.convergence().warnings);
    write_ranef(args, &fit.ranef())?;
    let columns = [
        ("fitted", fit.fitted()),
        ("deviance", fit.residuals(ResidualKind::Deviance)),
        ("pearson", fit.residuals(ResidualKind::Pearson)),
    ];
    write_fitted(args, fit.rows(), &columns)?;
    if let Some(new) = new_data(args)? {
        write_predictions(args, &fit.predict(&new, PredictionScale::Response).map_err(|e| e.to_string())?)?;
    }
    let profile =
        if args.has("profile") { fit.profile_intervals(0.95).map_err(|e| e.to_string())? } else { Vec::new() };
    let partition_intervals = fit.partition_intervals(&profile);
    let bootstrap = match bootstrap_settings(args)? {
        Some((replicates, seed)) => {
            fit.parametric_bootstrap(replicates, 0.95, &mut Rng::new(seed)).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    emit(args, &GlmmReport { summary: fit.summary(), profile, partition_intervals, bootstrap })
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

/// `--bootstrap N` and `--seed S` (default 1), if a bootstrap was asked for.
fn bootstrap_settings(args: &Args) -> Result<Option<(usize, u64)>, String> {
    if args.get("bootstrap").is_none() {
        return Ok(None);
    }
    Ok(Some((args.whole("bootstrap", 0, 1, super::MAX_REPLICATES)?, args.seed()?)))
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

fn write_predictions(args: &Args, predictions: &[MixedPrediction]) -> Result<(), String> {
    let path = args.required("predictions")?;
    let mut text = String::from("row,population,conditional\n");
    for p in predictions {
        let _ = writeln!(text, "{},{},{}", p.row + 1, p.population, p.conditional);
    }
    super::write_file(path, &text)
}
