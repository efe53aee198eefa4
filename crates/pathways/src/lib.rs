//! strata-pathways: survival, competing-risks and multi-state models.
