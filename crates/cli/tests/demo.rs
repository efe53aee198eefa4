//! The demo on a small synthetic England: it writes the report, the plots and every model's
//! JSON, and the recovered parameters' 95% intervals cover the values they were drawn from.

use std::process::Command;

#[test]
fn demo_writes_a_report_and_recovers_the_truth() {
    let out = std::env::temp_dir().join(format!("strata-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/england");
    let real = data.is_dir();
    if !real {
        eprintln!("../shared/data/england is absent: the demo reads the tables shipped in strata-data instead");
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
    command
        .args([
            "demo",
            "--neighbourhoods",
            "4000",
            "--authorities",
            "40",
            "--children-followed",
            "4000",
            "--seed",
            "11",
        ])
        .arg("--out")
        .arg(&out);
    if real {
        command.arg("--data").arg(&data);
    }
    let status = command.output().expect("run strata demo");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.starts_with("# strata demo report"));
    for svg in [
        "gradient.svg",
        "concentration.svg",
        "caterpillar.svg",
        "km.svg",
        "lorenz.svg",
        "latent_profiles.svg",
        "pathways_index.svg",
        "pathways_distribution.svg",
    ] {
        assert!(report.contains(&format!("]({svg})")), "the report shows {svg}");
        let text = std::fs::read_to_string(out.join(svg)).expect(svg);
        assert!(
            text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && text.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert_eq!(text.matches("<svg").count(), 1, "{svg}");
    }
    for json in [
        "inequality_deciles.json",
        "gradient_negbin.json",
        "multilevel_glmm.json",
        "km_rereferral.json",
        "cox_rereferral.json",
        "inequality_authorities.json",
    ]
    .into_iter()
    .chain(Some("real_cla2024_negbin.json"))
    {
        let text = std::fs::read_to_string(out.join(json)).expect(json);
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert!(value.is_object(), "{json}");
    }
    let recovery: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("recovery.json")).unwrap()).unwrap();
    let rows = recovery.as_array().unwrap();
    assert!(rows.len() >= 4);
    for row in rows {
        let (truth, lower, upper) =
            (row["truth"].as_f64().unwrap(), row["lower"].as_f64().unwrap(), row["upper"].as_f64().unwrap());
        assert!(lower <= truth && truth <= upper, "{row}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    well_formed(&html);
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<nav>"));
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("<img"), "self-contained");
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(value.starts_with('#'), "only links within the page: {}", &value[..value.len().min(40)]);
        }
    }
    assert_eq!(html.matches("<figure>").count(), 8, "every figure inlined");
    for section in [
        "Part 1. The national strand",
        "Part 2. The case-level strand",
        "Six authorities and their demand typologies",
        "Pathway typologies",
        "Re-referral by demand class",
    ] {
        assert!(html.contains(section), "{section}");
    }
    // The real-data part runs on the tables shipped in strata-data, with their attribution.
    assert!(html.contains("The national strand on real data") && html.contains("Open Government Licence v3.0"));
    // No staging folder is left behind.
    assert!(std::fs::read_dir(&out).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')));
    std::fs::remove_dir_all(&out).unwrap();
}

/// `--replicates N` reruns the synthetic part with N seeds and tabulates each effect's coverage.
#[test]
fn replicates_tabulate_coverage() {
    let out = std::env::temp_dir().join(format!("strata-demo-replicates-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "demo",
            "--neighbourhoods",
            "2000",
            "--authorities",
            "30",
            "--children-followed",
            "2000",
            "--replicates",
            "2",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run strata demo");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let coverage: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("coverage.json")).unwrap()).unwrap();
    let rows = coverage.as_array().unwrap();
    assert!(rows.len() >= 8);
    for row in rows {
        assert_eq!(row["replicates"], 2);
        let c = row["coverage"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
    }
    assert!(std::fs::read_to_string(out.join("coverage.md")).unwrap().contains("| parameter | replicates |"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// Every element opened is closed, in order (void and self-closing elements aside).
fn well_formed(html: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("a tag ends") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag.trim_start_matches('/').chars().take_while(char::is_ascii_alphanumeric).collect();
        if name == "meta" {
            continue;
        }
        if tag.starts_with('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "</{name}> closes the wrong element");
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}
