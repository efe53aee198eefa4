//! `strata multinom` (nnet's `multinom`) and `strata ordinal` (ordinal's `clm`, and `clmm` with
//! random effects).

use super::{emit_model, new_data, read_model_data, write_probabilities, Command};
use crate::args::{switch, value, Args};
use strata_categorical::link::CumulativeLink;
use strata_categorical::multinomial::MultinomialModel;
use strata_categorical::ordinal::{fit_with_nominal_test, CumulativeLinkModel, NominalTest, OrdinalSummary};
use strata_multilevel::ordinal_mixed::CumulativeLinkMixedModel;

pub const MULTINOM: Command = Command {
    name: "multinom",
    about: "multinomial logit model of an unordered outcome (nnet::multinom), relative-risk ratios",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "R model formula, e.g. \"decision ~ imd + age\""),
        value("levels", "the response's levels, comma-separated (default: its values, sorted)"),
        value("reference", "the baseline level (default: the first level)"),
        value("weights", "column of prior (frequency) weights"),
        value("predict", "new data (CSV) to predict the levels' probabilities for"),
        value("predictions", "with --predict: write row and one probability a level to this CSV file"),
        switch("json", "print one JSON object"),
    ],
    run: run_multinom,
};

pub const ORDINAL: Command = Command {
    name: "ordinal",
    about: "cumulative link model of an ordered outcome (ordinal::clm), with (1 | g) terms a mixed model (clmm)",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "R model formula, e.g. \"grade ~ imd + caseload\" or \"... + (1 | la)\""),
        value("levels", "the response's levels in order, comma-separated (default: its values, sorted)"),
        value("link", "logit (default) | probit | cloglog"),
        value("weights", "column of prior (frequency) weights"),
        value("nagq", "mixed model: quadrature points (1 = Laplace, the default; more for one scalar random effect)"),
        switch("nominal-test", "test proportional odds for each term (ordinal's nominal_test)"),
        value("predict", "models without random effects: new data (CSV) to predict the levels' probabilities for"),
        value("predictions", "with --predict: write row and one probability a level to this CSV file"),
        switch("json", "print one JSON object"),
    ],
    run: run_ordinal,
};

fn levels(args: &Args) -> Option<Vec<String>> {
    args.get("levels").map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
}

fn run_multinom(args: &Args) -> Result<(), String> {
    let mut model = MultinomialModel::new(args.required("formula")?).map_err(|e| e.to_string())?;
    if let Some(levels) = levels(args) {
        model = model.levels(&levels);
    }
    if let Some(reference) = args.get("reference") {
        model = model.reference(reference);
    }
    if let Some(weights) = args.get("weights") {
        model = model.weights(weights);
    }
    let new = new_data(args)?;
    let frame = read_model_data(args, args.required("formula")?, &[args.get("weights")])?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.warnings);
    if let Some(new) = new {
        write_probabilities(args, &fit.levels, &fit.predict(&new).map_err(|e| e.to_string())?)?;
    }
    emit_model(args, "multinom", &fit.summary())
}

fn parse_link(args: &Args) -> Result<CumulativeLink, String> {
    match args.get("link") {
        None => Ok(CumulativeLink::Logit),
        Some(text) => {
            CumulativeLink::parse(text).ok_or_else(|| format!("--link `{text}`: use logit, probit or cloglog"))
        }
    }
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

fn run_ordinal(args: &Args) -> Result<(), String> {
    let formula = args.required("formula")?;
    let link = parse_link(args)?;
    let levels = levels(args);
    let frame = read_model_data(args, formula, &[args.get("weights")])?;
    let random = strata_core::Formula::parse(formula)
        .and_then(|f| f.terms())
        .map(|t| !t.random.is_empty())
        .map_err(|e| e.to_string())?;
    if random {
        return run_ordinal_mixed(args, formula, link, levels.as_deref(), &frame);
    }
    let mut model = CumulativeLinkModel::new(formula, levels.as_deref()).map_err(|e| e.to_string())?.link(link);
    if args.get("nagq").is_some() {
        return Err("--nagq applies to a mixed model: add a (1 | group) term".into());
    }
    if let Some(weights) = args.get("weights") {
        model = model.weights(weights);
    }
    let new = new_data(args)?;
    let (fit, tests) = if args.has("nominal-test") {
        let (fit, tests) = fit_with_nominal_test(&model, &frame).map_err(|e| e.to_string())?;
        (fit, Some(tests))
    } else {
        (model.fit(&frame).map_err(|e| e.to_string())?, None)
    };
    super::warn_all(&fit.warnings);
    if let Some(new) = new {
        write_probabilities(args, &fit.levels, &fit.predict(&new).map_err(|e| e.to_string())?)?;
    }
    emit_model(args, "ordinal", &OrdinalOutput { summary: fit.summary(), nominal_test: tests })
}

/// `strata ordinal` with a random intercept: ordinal's `clmm`.
fn run_ordinal_mixed(
    args: &Args,
    formula: &str,
    link: CumulativeLink,
    levels: Option<&[String]>,
    frame: &strata_core::DataFrame,
) -> Result<(), String> {
    if args.has("nominal-test") || args.get("predict").is_some() {
        return Err("--nominal-test and --predict are for models without random effects".into());
    }
    let nagq = match args.get("nagq") {
        None => 1,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| format!("--nagq `{text}`: a whole number from 1 (Laplace) to 100"))?,
    };
    let mut model = CumulativeLinkMixedModel::new(formula, levels).map_err(|e| e.to_string())?.link(link).nagq(nagq);
    if let Some(weights) = args.get("weights") {
        model = model.weights(weights);
    }
    let fit = model.fit(frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.warnings);
    emit_model(args, "ordinal", &fit.summary())
}
