//! Loaders for the Department for Education's "explore education statistics" files and the
//! IMD 2019 tables (layout described in `shared/data/england/README.md`).
//!
//! DfE files share the columns `time_period, time_identifier, geographic_level, country_code,
//! country_name, region_code, region_name, old_la_code, new_la_code, la_name`, then filters
//! and indicators. Codes are read as text (`old_la_code` is a 3-digit number that is an
//! identifier, not a quantity); every suppression code (`c`, `x`, `z`, `u`, `low`, `:`, `k`)
//! in an indicator column is missing.

use crate::error::{Error, Result};
use std::path::Path;
use strata_core::csv::CsvOptions;
use strata_core::{Column, ColumnType, DataFrame};

/// The geographic level of a DfE row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeographicLevel {
    /// England.
    National,
    /// Regions (and Inner / Outer London).
    Regional,
    /// Local authorities (children's services authorities).
    LocalAuthority,
}

impl GeographicLevel {
    fn label(self) -> &'static str {
        match self {
            Self::National => "National",
            Self::Regional => "Regional",
            Self::LocalAuthority => "Local authority",
        }
    }
}

const CODE_COLUMNS: [&str; 6] = ["country_code", "region_code", "old_la_code", "new_la_code", "la_code", "lsoa11_code"];

/// Reads any DfE or IMD CSV file with code columns as text and suppression codes as missing.
///
/// # Errors
/// [`Error::Core`] if the file cannot be read or parsed.
pub fn read_statistics(path: impl AsRef<Path>) -> Result<DataFrame> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| strata_core::Error::Io { path: path.display().to_string(), message: e.to_string() })?;
    statistics_from_bytes(&bytes)
}

/// [`read_statistics`] on the bytes of a file already in memory (an embedded data set).
///
/// # Errors
/// [`Error::Core`] if the bytes do not parse.
pub fn statistics_from_bytes(bytes: &[u8]) -> Result<DataFrame> {
    let first_line = String::from_utf8_lossy(bytes.split(|&b| b == b'\n').next().unwrap_or_default()).to_string();
    let mut options = CsvOptions::default();
    for code in CODE_COLUMNS {
        if first_line.split(',').any(|h| h.trim_matches(|c| c == '"' || c == '\u{feff}') == code) {
            options = options.with_type(code, ColumnType::Categorical);
        }
    }
    Ok(strata_core::csv::parse_csv(bytes, &options)?)
}

/// Reads a DfE file and keeps the rows at one geographic level.
///
/// # Errors
/// As [`read_statistics`], and [`Error::Format`] if the file has no `geographic_level` column.
pub fn read_dfe(path: impl AsRef<Path>, level: GeographicLevel) -> Result<DataFrame> {
    let frame = read_statistics(path.as_ref())?;
    let rows = frame.rows_where("geographic_level", |v| v == Some(level.label())).map_err(|_| {
        Error::Format(format!("{} has no geographic_level column: not a DfE statistics file", path.as_ref().display()))
    })?;
    Ok(frame.take(&rows))
}

/// `frame` with a column `name`: `count` per `per` of `population`, missing where either is
/// missing or the population is not positive (children on a plan per 10,000 children, say).
///
/// # Errors
/// [`Error::Core`] for an unknown or non-numeric column, or a `name` already taken.
pub fn with_rate(frame: DataFrame, name: &str, count: &str, population: &str, per: f64) -> Result<DataFrame> {
    let (counts, populations) = (frame.numbers(count)?, frame.numbers(population)?);
    let rate = counts
        .iter()
        .zip(&populations)
        .map(|(c, p)| match (c, p) {
            (Some(c), Some(p)) if p > 0.0 => Some(per * c / p),
            _ => None,
        })
        .collect();
    Ok(frame.with(name, Column::Float(rate))?)
}

/// Ofsted's grades, worst first: the order of the levels of an ordinal model of them.
pub const OFSTED_GRADES: [&str; 4] = ["Inadequate", "Requires improvement to be good", "Good", "Outstanding"];

/// Reads Ofsted's latest ILACS judgements of the impact of leaders
/// (`ofsted_ilacs_impact_of_leaders_latest.csv`: `old_la_code`, `la_name`, `inspection_date`,
/// `inspection_year`, `impact_of_leaders`), checking every judgement is one of
/// [`OFSTED_GRADES`].
///
/// # Errors
/// As [`read_statistics`], and [`Error::Format`] for a missing column or an unknown grade.
pub fn read_ofsted_judgements(path: impl AsRef<Path>) -> Result<DataFrame> {
    ofsted_judgements(read_statistics(path.as_ref())?, &path.as_ref().display().to_string())
}

/// Checks the judgements of a frame read from `source`.
pub(crate) fn ofsted_judgements(frame: DataFrame, source: &str) -> Result<DataFrame> {
    let grades = frame
        .column("impact_of_leaders")
        .map_err(|_| Error::Format(format!("{source} has no impact_of_leaders column")))?;
    for i in 0..frame.nrows() {
        if let Some(grade) = grades.text(i) {
            if !OFSTED_GRADES.contains(&grade.as_str()) {
                return Err(Error::Format(format!(
                    "row {}: `{grade}` is not an Ofsted grade ({})",
                    i + 1,
                    OFSTED_GRADES.join(", ")
                )));
            }
        }
    }
    Ok(frame)
}

/// Reads local authorities' children's services spending
/// (`la_childrens_services_spending_2024_25.csv`: `old_la_code`, `new_la_code`,
/// `cs_expenditure_thousands`, `total_expenditure_thousands`, `cs_share_percent`,
/// `children_0_17`, `cs_expenditure_per_child` in pounds). Where the expenditure is suppressed
/// (`x`) the file puts −300 in the derived share and spending per child: those are read as
/// missing.
///
/// # Errors
/// As [`read_statistics`], and [`Error::Format`] without the spending per child.
pub fn read_spending(path: impl AsRef<Path>) -> Result<DataFrame> {
    spending(&read_statistics(path.as_ref())?, &path.as_ref().display().to_string())
}

/// Cleans the spending table of a frame read from `source`.
pub(crate) fn spending(frame: &DataFrame, source: &str) -> Result<DataFrame> {
    if frame.column("cs_expenditure_per_child").is_err() {
        return Err(Error::Format(format!("{source} has no cs_expenditure_per_child column")));
    }
    let mut cleaned = DataFrame::new();
    for (name, column) in frame.names().iter().zip(frame.columns()) {
        let column = if ["cs_share_percent", "cs_expenditure_per_child"].contains(&name.as_str()) {
            let values = frame.numbers(name)?;
            Column::Float(values.into_iter().map(|v| v.filter(|v| *v >= 0.0)).collect())
        } else {
            column.clone()
        };
        cleaned.push(name.clone(), column)?;
    }
    Ok(cleaned)
}

/// The national share of assessments (episodes with an assessment factor) at which each factor
/// was identified, in the year ending 31 March `year`, from the DfE table "factors identified at
/// the end of assessment" (`c3_factors_identified_at_end_of_assessment_2018_to_2025.csv`): every
/// count column after `Episodes_with_assessment_factor`, divided by it.
///
/// # Errors
/// [`Error::Format`] when the file has no national row for `year` or lacks the episodes column.
pub fn read_factor_prevalences(path: impl AsRef<Path>, year: u32) -> Result<Vec<(String, f64)>> {
    let frame = read_dfe(path.as_ref(), GeographicLevel::National)?;
    let years = frame.numbers("time_period")?;
    let row = years
        .iter()
        .position(|y| y == Some(f64::from(year)))
        .ok_or_else(|| Error::Format(format!("{} has no national row for {year}", path.as_ref().display())))?;
    let names = frame.names();
    let first = names.iter().position(|n| n == "Episodes_with_assessment_factor").ok_or_else(|| {
        Error::Format(format!("{} has no Episodes_with_assessment_factor column", path.as_ref().display()))
    })?;
    let episodes = frame
        .numbers(&names[first])?
        .get(row)
        .filter(|e| *e > 0.0)
        .ok_or_else(|| Error::Format(format!("no episodes with an assessment factor in {year}")))?;
    let mut out = Vec::new();
    for name in &names[first + 1..] {
        if let Some(count) = frame.numbers(name)?.get(row) {
            out.push((name.clone(), count / episodes));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(file: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/england/raw").join(file)
    }

    /// Whether the real DfE files are beside the checkout; says the test is skipped if not.
    fn have_raw_data() -> bool {
        let present = raw("").is_dir();
        if !present {
            eprintln!("skipped: it reads ../shared/data/england/raw, which is absent");
        }
        present
    }

    #[test]
    fn factor_prevalences_are_shares_of_assessments() {
        if !have_raw_data() {
            return;
        }
        let shares =
            read_factor_prevalences(raw("c3_factors_identified_at_end_of_assessment_2018_to_2025.csv"), 2025).unwrap();
        // 2025, England: 513,250 episodes; domestic abuse (parent) 162,890; neglect 90,370.
        let share = |name: &str| shares.iter().find(|s| s.0 == name).unwrap().1;
        assert!((share("Domestic_Abuse_parent") - 162_890.0 / 513_250.0).abs() < 1e-12);
        assert!((share("Neglect") - 90_370.0 / 513_250.0).abs() < 1e-12);
        assert!(shares.iter().all(|s| (0.0..1.0).contains(&s.1)));
    }

    #[test]
    fn every_raw_file_reads_with_its_row_counts() {
        if !have_raw_data() {
            return;
        }
        let files = [
            ("b1_children_in_need_2013_to_2025.csv", 2132, 1976),
            ("c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv", 2132, 1976),
            ("cla_number_and_rate_per_10k_children.csv", 2505, 2325),
            ("csww_indicators_2017_to_2025.csv", 1463, 1355),
            ("d3_cpps_subsequent_plan_2013_to_2025.csv", 2132, 1976),
            ("d5_cpps_at31march_by_duration_2013_to_2025.csv", 2132, 1976),
            ("ons_mid-year_population_estimates_2012_to_2024.csv", 2132, 1976),
        ];
        for (file, rows, la_rows) in files {
            let all = read_statistics(raw(file)).unwrap();
            assert_eq!(all.nrows(), rows, "{file}");
            let la = read_dfe(raw(file), GeographicLevel::LocalAuthority).unwrap();
            assert_eq!(la.nrows(), la_rows, "{file}");
            assert_eq!(la.column("old_la_code").unwrap().column_type(), ColumnType::Categorical, "{file}");
            assert!(la.column("time_period").unwrap().column_type() == ColumnType::Integer, "{file}");
        }
        let lookup = read_statistics(raw("LTLA-UTLA_Apr23_Lookup_England-Wales.csv")).unwrap();
        assert_eq!(lookup.nrows(), 318);
        assert_eq!(lookup.names()[0], "LTLA23CD", "the byte-order mark is stripped");
    }

    #[test]
    fn ofsted_and_spending_tables_join_the_panel() {
        if !have_raw_data() {
            return;
        }
        let ofsted = read_ofsted_judgements(raw("ofsted_ilacs_impact_of_leaders_latest.csv")).unwrap();
        let spending = read_spending(raw("la_childrens_services_spending_2024_25.csv")).unwrap();
        assert_eq!((ofsted.nrows(), spending.nrows()), (153, 153));
        let panel = read_statistics(raw("../la_panel.csv")).unwrap();
        let year = panel.rows_where("year", |y| y == Some("2024")).unwrap();
        let joined =
            panel.take(&year).left_join(&ofsted, "old_la_code").unwrap().left_join(&spending, "old_la_code").unwrap();
        let graded = joined.column("impact_of_leaders").unwrap();
        assert!((0..joined.nrows()).filter(|&i| graded.text(i).is_some()).count() >= 150);
        let spending_per_child = joined.numbers("cs_expenditure_per_child").unwrap();
        assert!(spending_per_child.iter().flatten().all(|v| v > 0.0), "the −300 sentinels are missing");
        assert!(spending_per_child.iter().filter(Option::is_none).count() >= 3);
    }

    /// Every indicator column holding a suppression code is still numeric, with the coded
    /// cells missing: the counts of coded cells are those of the data README.
    #[test]
    fn suppression_codes_are_missing() {
        if !have_raw_data() {
            return;
        }
        let files = [
            ("cla_number_and_rate_per_10k_children.csv", 4 + 42 + 112),
            ("b1_children_in_need_2013_to_2025.csv", 62 + 46 + 10),
            ("c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv", 296 + 68 + 26),
            ("d3_cpps_subsequent_plan_2013_to_2025.csv", 75 + 9 + 6 + 5),
            ("d5_cpps_at31march_by_duration_2013_to_2025.csv", 2957 + 33 + 45 + 11),
            ("csww_indicators_2017_to_2025.csv", 8 + 98 + 81 + 51 + 12),
            ("ons_mid-year_population_estimates_2012_to_2024.csv", 21),
        ];
        for (file, coded) in files {
            let frame = read_statistics(raw(file)).unwrap();
            let first_indicator = frame.names().iter().position(|n| n == "la_name").unwrap() + 1;
            let mut missing = 0;
            for (name, column) in frame.names().iter().zip(frame.columns()).skip(first_indicator) {
                if matches!(column, Column::Categorical { .. }) {
                    // Filters such as population_type or category are text by design.
                    assert!(
                        ["population_type", "category", "new_la_code", "age_group"].contains(&name.as_str()),
                        "{file}: indicator `{name}` was read as text"
                    );
                    continue;
                }
                missing += column.missing_count();
            }
            assert_eq!(missing, coded, "{file}");
        }
    }
}
