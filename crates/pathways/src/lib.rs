//! strata-pathways
