//! strata: statistics for research on child-welfare inequalities.
//!
//! A facade over the strata crates, each usable on its own:
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`core`] | strata-core | data frames, CSV, R formulas, model matrices, families, numerics |
//! | [`glm`] | strata-glm | GLMs of every family, as R's `glm` and `MASS::glm.nb`, on formulas or arrays |
//! | [`gradient`] | strata-gradient | deprivation gradients: rates by decile, gradient summaries (GLMs of rates) |
//! | [`multilevel`] | strata-multilevel | mixed models |
//! | [`pathways`] | strata-pathways | survival and multi-state models |
//! | [`inequality`] | strata-inequality | Gini, entropy, Atkinson, SII/RII, concentration index |
//! | [`categorical`] | strata-categorical | multinomial logit, cumulative link (ordinal) models |
//! | [`panel`] | strata-panel | correlations over time, fixed-effects panels, interrupted time series |
//! | [`latent`] | strata-latent | latent class analysis (EM from many starts, missing indicators, covariates) |
//! | [`sequences`] | strata-sequences | state sequences of pathways, optimal matching, Ward/PAM typologies |
//! | [`data`] | strata-data | DfE loaders and synthetic England |
//! | [`plot`] | strata-plot | small dependency-free SVG charts for reports |
//!
//! ```
//! use strata::prelude::*;
//! let frame = DataFrame::new()
//!     .with_floats("children", &[1200.0, 1100.0, 1300.0, 1000.0])?
//!     .with_floats("in_care", &[8.0, 15.0, 30.0, 41.0])?
//!     .with_floats("decile", &[1.0, 4.0, 7.0, 10.0])?;
//! let fit = Glm::new("in_care ~ decile + offset(log(children))", Family::Poisson)?.fit(&frame)?;
//! let per_decile = fit.coef()[1].exp();
//! assert!(per_decile > 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use strata_categorical as categorical;
pub use strata_core as core;
pub use strata_data as data;
pub use strata_glm as glm;
pub use strata_gradient as gradient;
pub use strata_inequality as inequality;
pub use strata_latent as latent;
pub use strata_multilevel as multilevel;
pub use strata_panel as panel;
pub use strata_pathways as pathways;
pub use strata_plot as plot;
pub use strata_sequences as sequences;

/// The names most programs need.
pub mod prelude {
    pub use strata_categorical::link::CumulativeLink;
    pub use strata_categorical::multinomial::MultinomialModel;
    pub use strata_categorical::ordinal::CumulativeLinkModel;
    pub use strata_core::csv::{read_csv, CsvOptions};
    pub use strata_core::family::{Family, Link};
    pub use strata_core::masked::Masked;
    pub use strata_core::random::Rng;
    pub use strata_core::results::FittedModel;
    pub use strata_core::{Column, DataFrame, Formula};
    pub use strata_glm::{Glm, GlmFit, RobustKind};
    pub use strata_inequality::{Distribution, GroupedData, RankOrder};
    pub use strata_latent::{Indicators, LatentClassModel};
    pub use strata_multilevel::{GeneralizedLinearMixedModel, LinearMixedModel};
    pub use strata_panel::correlation::{Correlation, Method as CorrelationMethod};
    pub use strata_pathways::competing::{CumulativeIncidence, IncidenceByGroup};
    pub use strata_pathways::msm::MultiStateModel;
    pub use strata_pathways::multistate::{stays_from_entries, AalenJohansen, Transitions};
    pub use strata_pathways::{CoxPh, KaplanMeier, Ties};
    pub use strata_sequences::{Metric, Sequences, Substitution};
}
