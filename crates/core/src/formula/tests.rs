use super::*;

fn labels(text: &str) -> (Vec<String>, bool) {
    let terms = Formula::parse(text).unwrap().terms().unwrap();
    (terms.labels(), terms.intercept)
}

#[test]
fn crossing_nesting_and_powers_expand_as_r() {
    assert_eq!(
        labels("y ~ a + b*c + a:b - 1"),
        (vec!["a", "b", "c", "b:c", "a:b"].into_iter().map(String::from).collect(), false)
    );
    assert_eq!(labels("y ~ a:b + c").0, ["c", "a:b"]);
    assert_eq!(labels("y ~ a/b").0, ["a", "a:b"]);
    assert_eq!(labels("y ~ (a + b + c)^2").0, ["a", "b", "c", "a:b", "a:c", "b:c"]);
    assert_eq!(labels("y ~ a*b - a:b").0, ["a", "b"]);
    assert_eq!(labels("y ~ 0 + x"), (vec!["x".to_string()], false));
    assert!(!labels("y ~ x + 0").1);
    assert!(!labels("y ~ -1 + x").1);
    assert_eq!(labels("y ~ 1").0, Vec::<String>::new());
}

#[test]
fn interaction_labels_follow_first_appearance() {
    // R orders the variables of a label by their first appearance in the formula.
    assert_eq!(labels("y ~ b:a + a").0, ["a", "b:a"]);
}

#[test]
fn functions_keep_r_labels() {
    let terms = Formula::parse("y ~ log(bili) + I(x^2) + factor(decile) + sqrt(x + 1)").unwrap().terms().unwrap();
    assert_eq!(terms.labels(), ["log(bili)", "I(x^2)", "factor(decile)", "sqrt(x + 1)"]);
}

#[test]
fn offsets_and_specials_are_not_terms() {
    let formula = Formula::parse("Surv(start, stop, event) ~ x + strata(sex) + cluster(id) + offset(log(n))").unwrap();
    let terms = formula.terms().unwrap();
    assert_eq!(terms.labels(), ["x"]);
    assert_eq!(terms.offsets[0].label(), "log(n)");
    assert_eq!(terms.specials.iter().map(|s| s.kind).collect::<Vec<_>>(), [SpecialKind::Strata, SpecialKind::Cluster]);
    let (name, arguments) = formula.response().unwrap().as_call().unwrap();
    assert_eq!((name, arguments.len()), ("Surv", 3));
}

#[test]
fn random_terms_expand_as_lme4() {
    let terms = Formula::parse("y ~ x + (1 + x | g) + (z || h) + (1 | a/b) + (1 | c:d)").unwrap().terms().unwrap();
    assert_eq!(terms.labels(), ["x"]);
    let described: Vec<(String, Vec<String>, bool)> =
        terms.random.iter().map(|r| (r.group_label.clone(), r.terms.labels(), r.terms.intercept)).collect();
    assert_eq!(
        described,
        [
            ("g".into(), vec!["x".into()], true),
            ("h".into(), vec![], true),
            ("h".into(), vec!["z".into()], false),
            ("b:a".into(), vec![], true),
            ("a".into(), vec![], true),
            ("c:d".into(), vec![], true),
        ]
    );
    let nested = Formula::parse("y ~ (1 | a/b/c)").unwrap().terms().unwrap();
    let groups: Vec<&str> = nested.random.iter().map(|r| r.group_label.as_str()).collect();
    assert_eq!(groups, ["c:b:a", "b:a", "a"]);
}

#[test]
fn errors_point_at_the_column() {
    let cases = [
        ("y ~ x +", 8, "the formula ends where a term was expected"),
        ("y ~ (x + z", 5, "this `(` is never closed"),
        ("y ~ x $ z", 7, "unexpected character `$`"),
        ("y x", 3, "expected `~` between the response and the terms"),
        ("y ~ x + 2", 9, "a numeric constant other than 0 or 1 is not a term; wrap arithmetic in I()"),
        ("y ~ x | g", 5, "a random-effect term must be in parentheses, as in (1 | g)"),
        ("y ~ log(x", 5, "expected `,` or `)` to close `log(`"),
        ("y ~ x)", 6, "unmatched `)`"),
    ];
    for (text, column, message) in cases {
        let error = Formula::parse(text).and_then(|f| f.terms().map(|_| ())).unwrap_err();
        assert_eq!((error.column(), error.message.as_str()), (column, message), "{text}");
    }
    let shown = Formula::parse("y ~ x +").unwrap_err().to_string();
    assert_eq!(shown, "formula error at column 8: the formula ends where a term was expected\n  y ~ x +\n         ^");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "[a-z0-9~+*:/|()^ .,-]{0,24}") {
            let _ = Formula::parse(&text).map(|f| f.terms());
        }

        #[test]
        fn sums_of_names_give_each_name_once(names in proptest::collection::vec("[a-e]", 1..8)) {
            let text = format!("y ~ {}", names.join(" + "));
            let terms = Formula::parse(&text).unwrap().terms().unwrap();
            let mut seen = Vec::new();
            for name in &names { if !seen.contains(name) { seen.push(name.clone()); } }
            prop_assert_eq!(terms.labels(), seen);
        }
    }
}

/// Nesting and length that would exhaust the stack are refused with an error, not a crash;
/// the largest formulas allowed still parse, expand, print and drop.
#[test]
fn deep_and_long_formulas_are_refused() {
    let nested = format!("y ~ {}x{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(Formula::parse(&nested).unwrap_err().to_string().contains("nest more than"));
    let calls = format!("y ~ {}x{}", "log(".repeat(20_000), ")".repeat(20_000));
    assert!(Formula::parse(&calls).unwrap_err().to_string().contains("nest more than"));
    let signs = format!("y ~ {}x", "-".repeat(100_000));
    let error = Formula::parse(&signs).unwrap_err().to_string();
    assert!(error.contains("nest more than") && error.len() < 500, "a window of the formula, not all of it");
    let long = format!("y ~ {}", vec!["x"; 50_000].join(" + "));
    assert!(Formula::parse(&long).unwrap_err().to_string().contains("at most"));
    let deepest = format!("y ~ {}x{}", "(".repeat(super::parse::MAX_DEPTH), ")".repeat(super::parse::MAX_DEPTH));
    let formula = Formula::parse(&deepest).unwrap();
    assert_eq!(formula.terms().unwrap().terms.len(), 1);
    let longest =
        format!("y ~ {}", (0..super::parse::MAX_OPERATORS).map(|k| format!("x{k}")).collect::<Vec<_>>().join(" + "));
    let formula = Formula::parse(&longest).unwrap();
    assert_eq!(formula.terms().unwrap().terms.len(), super::parse::MAX_OPERATORS);
    assert!(formula.to_string().len() > 1000);
}

#[test]
fn the_response_cannot_be_a_predictor() {
    let err = Formula::parse("y ~ x + y").unwrap().terms().unwrap_err();
    assert!(err.to_string().contains("the response `y` also appears"), "{err}");
    assert!(Formula::parse("y ~ x:y").unwrap().terms().is_err());
    assert!(Formula::parse("log(y) ~ y").unwrap().terms().is_ok(), "a different variable");
    assert!(Formula::parse("Surv(t, d) ~ t").unwrap().terms().is_ok());
}
