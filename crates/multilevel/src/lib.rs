//! strata-multilevel
