//! strata-gradient
