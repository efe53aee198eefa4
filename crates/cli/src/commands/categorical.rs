//! `strata multinom` (nnet's `multinom`) and `strata ordinal` (ordinal's `clm`, and `clmm` with
//! random effects).

use super::{emit_model, read_model_data, write_probabilities, PredictArgs};
use crate::args::{list, whole};
use strata_categorical::link::CumulativeLink;
use strata_categorical::multinomial::MultinomialModel;
use strata_categorical::ordinal::{fit_with_nominal_test, CumulativeLinkModel, NominalTest, OrdinalSummary};
use strata_multilevel::ordinal_mixed::CumulativeLinkMixedModel;

#[derive(clap::Args)]
pub struct MultinomArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// R model formula, e.g. "decision ~ imd + age"
    #[arg(long)]
    formula: String,
    /// The response's levels, comma-separated (default: its values, sorted)
    #[arg(long, value_parser = list)]
    levels: Option<::std::vec::Vec<String>>,
    /// The baseline level (default: the first level)
    #[arg(long, value_name = "LEVEL")]
    reference: Option<String>,
    /// Column of prior (frequency) weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    #[command(flatten)]
    predict: PredictArgs,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct OrdinalArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// R model formula, e.g. "grade ~ imd + caseload" or "... + (1 | la)"
    #[arg(long)]
    formula: String,
    /// The response's levels in order, comma-separated (default: its values, sorted)
    #[arg(long, value_parser = list)]
    levels: Option<::std::vec::Vec<String>>,
    /// The link
    #[arg(long, value_enum, default_value = "logit")]
    link: LinkName,
    /// Column of prior (frequency) weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Mixed model: quadrature points (1 = Laplace, the default; more for one scalar random effect)
    #[arg(long, value_parser = whole(1, 100))]
    nagq: Option<usize>,
    /// Test proportional odds for each term (ordinal's nominal_test)
    #[arg(long)]
    nominal_test: bool,
    #[command(flatten)]
    predict: PredictArgs,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The links of a cumulative link model.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LinkName {
    Logit,
    Probit,
    Cloglog,
}

pub fn run_multinom(args: &MultinomArgs) -> Result<(), String> {
    let mut model = MultinomialModel::new(&args.formula).map_err(|e| e.to_string())?;
    if let Some(levels) = &args.levels {
        model = model.levels(levels);
    }
    if let Some(reference) = &args.reference {
        model = model.reference(reference);
    }
    if let Some(weights) = &args.weights {
        model = model.weights(weights);
    }
    let new = args.predict.read()?;
    let frame = read_model_data(&args.data, &args.formula, &[args.weights.as_deref()])?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.warnings);
    if let Some((new, output)) = new {
        write_probabilities(output, &fit.levels, &fit.predict(&new).map_err(|e| e.to_string())?)?;
    }
    emit_model(args.json, "multinom", &fit.summary())
}

/// The summary with the proportional-odds tests when asked.
#[derive(serde::Serialize)]
struct OrdinalOutput {
    #[serde(flatten)]
    summary: OrdinalSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    nominal_test: Option<Vec<NominalTest>>,
}

impl std::fmt::Display for OrdinalOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.summary)?;
        if let Some(tests) = &self.nominal_test {
            writeln!(f, "\n\nTests of proportional odds (nominal effects, likelihood ratio):")?;
            for t in tests {
                writeln!(f, "  {:<24} LR = {:>9.4} on {} df, p = {:.4}", t.term, t.statistic, t.df, t.p_value)?;
            }
        }
        Ok(())
    }
}

pub fn run_ordinal(args: &OrdinalArgs) -> Result<(), String> {
    let formula = args.formula.as_str();
    let link = match args.link {
        LinkName::Logit => CumulativeLink::Logit,
        LinkName::Probit => CumulativeLink::Probit,
        LinkName::Cloglog => CumulativeLink::Cloglog,
    };
    let levels = args.levels.as_deref();
    let frame = read_model_data(&args.data, formula, &[args.weights.as_deref()])?;
    let random = strata_core::Formula::parse(formula)
        .and_then(|f| f.terms())
        .map(|t| !t.random.is_empty())
        .map_err(|e| e.to_string())?;
    if random {
        return run_ordinal_mixed(args, link, levels, &frame);
    }
    let mut model = CumulativeLinkModel::new(formula, levels).map_err(|e| e.to_string())?.link(link);
    if args.nagq.is_some() {
        return Err("--nagq applies to a mixed model: add a (1 | group) term".into());
    }
    if let Some(weights) = &args.weights {
        model = model.weights(weights);
    }
    let new = args.predict.read()?;
    let (fit, tests) = if args.nominal_test {
        let (fit, tests) = fit_with_nominal_test(&model, &frame).map_err(|e| e.to_string())?;
        (fit, Some(tests))
    } else {
        (model.fit(&frame).map_err(|e| e.to_string())?, None)
    };
    super::warn_all(&fit.warnings);
    if let Some((new, output)) = new {
        write_probabilities(output, &fit.levels, &fit.predict(&new).map_err(|e| e.to_string())?)?;
    }
    emit_model(args.json, "ordinal", &OrdinalOutput { summary: fit.summary(), nominal_test: tests })
}

/// `strata ordinal` with a random intercept: ordinal's `clmm`.
fn run_ordinal_mixed(
    args: &OrdinalArgs,
    link: CumulativeLink,
    levels: Option<&[String]>,
    frame: &strata_core::DataFrame,
) -> Result<(), String> {
    if args.nominal_test || args.predict.predict.is_some() {
        return Err("--nominal-test and --predict are for models without random effects".into());
    }
    let mut model = CumulativeLinkMixedModel::new(&args.formula, levels)
        .map_err(|e| e.to_string())?
        .link(link)
        .nagq(args.nagq.unwrap_or(1));
    if let Some(weights) = &args.weights {
        model = model.weights(weights);
    }
    let fit = model.fit(frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.warnings);
    emit_model(args.json, "ordinal", &fit.summary())
}
