//! Small real tables shipped inside strata-data, so that examples and the demo run on real
//! England without any download: the local-authority panel 2013–2025, Ofsted's latest judgements
//! of the impact of leaders, and children's services spending 2024–25.
//!
//! Contains public sector information licensed under the Open Government Licence v3.0
//! (Department for Education, Ofsted, Office for National Statistics, Ministry of Housing,
//! Communities and Local Government). The files are byte-for-byte copies of
//! `shared/data/england/la_panel.csv` and of its `raw/` Ofsted and spending tables; see the
//! crate's README.

use crate::dfe::{ofsted_judgements as check_ofsted, spending as clean_spending, statistics_from_bytes};
use crate::error::Result;
use strata_core::DataFrame;

const LA_PANEL: &[u8] = include_bytes!("../data/la_panel.csv");
const OFSTED: &[u8] = include_bytes!("../data/ofsted_ilacs_impact_of_leaders_latest.csv");
const SPENDING: &[u8] = include_bytes!("../data/la_childrens_services_spending_2024_25.csv");

/// The attribution every report built on these tables must carry.
pub const ATTRIBUTION: &str = "Contains public sector information licensed under the Open Government Licence v3.0.";

/// The local-authority panel, 2013–2025: one row per authority and year (1,980 rows), with
/// children in need, protection plans, children looked after, workforce, population and IMD 2019
/// columns (`shared/data/england/README.md` describes each).
///
/// # Errors
/// Only if the embedded file were corrupt.
pub fn la_panel() -> Result<DataFrame> {
    statistics_from_bytes(LA_PANEL)
}

/// Ofsted's latest ILACS judgements of the impact of leaders, as [`crate::dfe::read_ofsted_judgements`].
///
/// # Errors
/// Only if the embedded file were corrupt.
pub fn ofsted_judgements() -> Result<DataFrame> {
    check_ofsted(statistics_from_bytes(OFSTED)?, "the embedded Ofsted table")
}

/// Children's services spending 2024–25, as [`crate::dfe::read_spending`].
///
/// # Errors
/// Only if the embedded file were corrupt.
pub fn spending() -> Result<DataFrame> {
    clean_spending(&statistics_from_bytes(SPENDING)?, "the embedded spending table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_tables_read_whole() {
        let panel = la_panel().unwrap();
        assert_eq!(panel.nrows(), 1980);
        assert!(panel.column("cpp_31_march").is_ok() && panel.column("imd2019_score").is_ok());
        let years = panel.numbers("year").unwrap();
        assert_eq!(years.iter().flatten().fold(f64::INFINITY, f64::min), 2013.0);
        assert_eq!(years.iter().flatten().fold(f64::NEG_INFINITY, f64::max), 2025.0);
        assert!(ofsted_judgements().unwrap().nrows() > 100);
        assert!(spending().unwrap().nrows() > 100);
    }
}
