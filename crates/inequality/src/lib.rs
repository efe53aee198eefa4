//! strata-inequality
