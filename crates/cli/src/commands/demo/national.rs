//! Part 1 of the demo on real data: the DfE local-authority panel 2013–2025 with Ofsted's
//! judgements and spending (shipped in strata-data, or newer files with `--data DIR`).

use super::json;
use std::fmt::Write as _;
use std::path::Path;
use strata_categorical::ordinal::CumulativeLinkModel;
use strata_core::{Column, DataFrame};
use strata_data::dfe::{read_ofsted_judgements, read_spending, read_statistics, with_rate, OFSTED_GRADES};
use strata_data::embedded;
use strata_glm::Glm;
use strata_inequality::Distribution;
use strata_multilevel::LinearMixedModel;
use strata_panel::correlation::Correlation;
use strata_panel::fixed_effects::{FixedEffectsModel, VcovChoice};

/// Part 1 of the study on real data: the local-authority panel 2013–2025 (embedded, or
/// `--data DIR`'s `la_panel.csv` and `raw/` Ofsted and spending tables): the gradient of children
/// in care by deprivation in 2024, whether the correlations of protection plans with deprivation
/// and caseloads persist from year to year, protection plans within authorities over time with
/// authority and year fixed effects, Ofsted's judgements by deprivation, caseload and spending, and
/// inequality between authorities in 2013 and 2025.
pub(super) fn run(data: Option<&str>, out: &Path, report: &mut String) -> Result<(), String> {
    let (panel, ofsted, spending, source) = match data {
        Some(dir) => {
            let dir = Path::new(dir);
            (
                read_statistics(dir.join("la_panel.csv")).map_err(|e| e.to_string())?,
                read_ofsted_judgements(dir.join("raw/ofsted_ilacs_impact_of_leaders_latest.csv"))
                    .map_err(|e| e.to_string())?,
                read_spending(dir.join("raw/la_childrens_services_spending_2024_25.csv")).map_err(|e| e.to_string())?,
                format!("read from {}", dir.display()),
            )
        }
        None => (
            embedded::la_panel().map_err(|e| e.to_string())?,
            embedded::ofsted_judgements().map_err(|e| e.to_string())?,
            embedded::spending().map_err(|e| e.to_string())?,
            "shipped inside strata-data".to_string(),
        ),
    };
    let panel =
        with_rate(panel, "cpp_rate", "cpp_31_march", "children_0_17_mye", 10_000.0).map_err(|e| e.to_string())?;
    let latest = panel.take(&panel.rows_where("year", |v| v == Some("2024")).map_err(|e| e.to_string())?);
    let gradient = Glm::negative_binomial(
        "cla_31_march ~ imd2019_score + caseload_fte + agency_rate_fte + offset(log(children_0_17))",
    )
    .map_err(|e| e.to_string())?
    .fit(&latest)
    .map_err(|e| e.to_string())?
    .summary();
    json(out, "real_cla2024_negbin.json", &gradient)?;
    let persistence = Correlation::new(&["cpp_rate", "imd2019_score"])
        .and_then(|c| c.fit_by(&panel, "year"))
        .map_err(|e| e.to_string())?;
    let within = FixedEffectsModel::poisson(
        "cpp_starts ~ caseload_fte + agency_rate_fte + turnover_rate_fte + offset(log(children_0_17_mye)) | la_code + year",
    )
    .map_err(|e| e.to_string())?
    .vcov(VcovChoice::Cluster(vec!["la_code".into()]))
    .fit(&panel)
    .map_err(|e| e.to_string())?;
    let joined = latest
        .left_join(&ofsted, "old_la_code")
        .and_then(|f| f.left_join(&spending, "old_la_code"))
        .map_err(|e| e.to_string())?;
    let per_child = joined.numbers("cs_expenditure_per_child").map_err(|e| e.to_string())?;
    let joined = joined
        .with("spend_k", Column::Float(per_child.iter().map(|v| v.map(|v| v / 1000.0)).collect()))
        .map_err(|e| e.to_string())?;
    let levels: Vec<String> = OFSTED_GRADES.map(String::from).to_vec();
    let grades = CumulativeLinkModel::new("impact_of_leaders ~ imd2019_score + caseload_fte + spend_k", Some(&levels))
        .and_then(|m| m.fit(&joined))
        .map_err(|e| e.to_string())?;
    // Authorities' variation over time: a random intercept and a random slope of the year
    // (centred on 2019) for each authority.
    let years = panel.numbers("year").map_err(|e| e.to_string())?;
    let centred = years.map(|y| y - 2019.0);
    let over_time = panel
        .clone()
        .with("year_c", Column::Float(centred))
        .map_err(|e| e.to_string())
        .and_then(|p| {
            LinearMixedModel::new("cpp_rate ~ year_c + imd2019_score + (1 + year_c | la_code)")
                .and_then(|m| m.fit(&p))
                .map_err(|e| e.to_string())
        })?
        .summary();
    let mut gini = String::new();
    for year in ["2013", "2025"] {
        let rows = panel.take(&panel.rows_where("year", |v| v == Some(year)).map_err(|e| e.to_string())?);
        let (rates, weights): (Vec<f64>, Vec<f64>) = column_pairs(&rows, "cpp_rate", "children_0_17_mye")?;
        let d = Distribution::weighted(&rates, &weights).map_err(|e| e.to_string())?;
        let _ = write!(gini, "{year}: {:.3} ({} authorities); ", d.gini(), rates.len());
    }
    let _ = writeln!(
        report,
        "## 5. The national strand on real data: English local authorities, 2013–2025\n\nThe DfE's children in \
         need, protection plan, looked-after and workforce returns with IMD 2019, Ofsted's latest judgements of the \
         impact of leaders and children's services spending 2024–25 ({source}).\n\n\
         **Children looked after in 2024 by deprivation** (negative binomial, population offset):\n\n```\n{gradient}\n```\n\n\
         **Do the correlations persist?** Protection plans per 10,000 children against deprivation, year by year, \
         with the test that the correlation is the same in every year:\n\n```\n{}\n```\n\n\
         **Within authorities over time** (Poisson, authority and year fixed effects, errors clustered by \
         authority):\n\n```\n{}\n```\n\n**Ofsted's judgements** (proportional odds, 2024 panel):\n\n```\n{}\n```\n\n\
         **Authorities' variation over time** (linear mixed model: each authority its own level and trend of \
         protection plans per 10,000, year centred on 2019, REML):\n\n```\n{}\n```\n\n\
         **Inequality between authorities** in protection-plan rates (Gini, weighted by children): {gini}\n\n{}\n",
        persistence[0],
        within.summary(),
        grades.summary(),
        over_time,
        embedded::ATTRIBUTION
    );
    Ok(())
}

/// The rows of `frame` where both columns are present, as two arrays.
fn column_pairs(frame: &DataFrame, a: &str, b: &str) -> Result<(Vec<f64>, Vec<f64>), String> {
    let (x, y) = (frame.numbers(a).map_err(|e| e.to_string())?, frame.numbers(b).map_err(|e| e.to_string())?);
    Ok(x.iter().zip(&y).filter_map(|(x, y)| Some((x?, y?))).unzip())
}
