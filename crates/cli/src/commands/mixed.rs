//! `strata lmm`: linear mixed models (lme4's `lmer`).

use super::{emit, read_data, Command};
use crate::args::{switch, value, Args};
use std::fmt::Write;
use strata_multilevel::LinearMixedModel;

pub const LMM: Command = Command {
    name: "lmm",
    about: "linear mixed model by REML (or --ml): y ~ x + (1 + x | group)",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "lme4 formula, e.g. \"Reaction ~ Days + (Days | Subject)\""),
        switch("ml", "maximum likelihood instead of REML"),
        value("ranef", "write the conditional modes (BLUPs) to this CSV file"),
        switch("json", "print one JSON object"),
    ],
    run: run_lmm,
};

fn run_lmm(args: &Args) -> Result<(), String> {
    let model = LinearMixedModel::new(args.required("formula")?).map_err(|e| e.to_string())?.reml(!args.has("ml"));
    let frame = read_data(args)?;
    let fit = model.fit(&frame).map_err(|e| e.to_string())?;
    for warning in &fit.convergence().warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(path) = args.get("ranef") {
        let mut text = String::from("group,level,term,value\n");
        for effect in fit.ranef() {
            let _ = writeln!(
                text,
                "{},{},{},{}",
                quote(&effect.group),
                quote(&effect.level),
                quote(&effect.term),
                effect.value
            );
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    emit(args, &fit.summary())
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}
