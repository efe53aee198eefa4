//! strata-data
