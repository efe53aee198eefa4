//! strata-multilevel: linear and generalised linear mixed models.
//!
//! Not yet implemented: see the project's open issue on mixed models. The crate exists so
//! that the workspace and the facade have their final shape.
