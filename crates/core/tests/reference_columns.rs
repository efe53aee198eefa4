//! For every reference case of a model whose coefficients are R's `model.matrix` columns (GLMs,
//! mixed models, Cox and Fine–Gray), the model matrix's column names equal R's coefficient
//! names in `expected.json`, in order (the intercept aside for survival models). fixest's,
//! ordinal and multinomial models name their coefficients their own way and are checked by the
//! reference suite itself.

use std::path::Path;
use strata_core::csv::{read_csv, CsvOptions};
use strata_core::design::{model_expressions, ModelMatrix};
use strata_core::formula::Expr;
use strata_core::model_frame::ModelFrame;
use strata_core::Formula;

fn formula_of(command: &str) -> Option<String> {
    let start = command.find("--formula \"")? + "--formula \"".len();
    let end = command[start..].find('"')? + start;
    Some(command[start..end].to_string())
}

#[test]
fn model_matrix_names_match_r_for_every_reference_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).expect("tests/reference in the repository") {
        let dir = entry.unwrap().path();
        let model = std::fs::read_to_string(dir.join("model.txt")).unwrap();
        let command = model.lines().next().unwrap();
        let subcommand = command.split_whitespace().nth(1).unwrap_or_default();
        if !["glm", "glmm", "lmm", "cox", "fine-gray"].contains(&subcommand) {
            continue;
        }
        let Some(text) = formula_of(command) else { continue };
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        let Some(coefficients) = expected["coefficients"].as_array() else { continue };
        let expected_names: Vec<&str> = coefficients.iter().map(|c| c["term"].as_str().unwrap()).collect();
        let formula = Formula::parse(&text).unwrap();
        let terms = formula.terms().unwrap();
        let response = formula.response().unwrap();
        let response_parts: Vec<&Expr> = match response.as_call() {
            Some((_, arguments)) => arguments.iter().collect(),
            None => vec![response],
        };
        let frame = read_csv(dir.join("data.csv"), &CsvOptions::default()).unwrap();
        let model_frame = ModelFrame::new(&frame, &model_expressions(&terms, &response_parts)).unwrap();
        let matrix = ModelMatrix::new(&terms, &model_frame).unwrap();
        let survival = response.as_call().is_some_and(|(name, _)| name == "Surv");
        let names: Vec<&str> =
            matrix.names.iter().map(String::as_str).filter(|n| !(survival && *n == "(Intercept)")).collect();
        assert_eq!(names, expected_names, "{}", dir.display());
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} reference cases had formulas");
}
