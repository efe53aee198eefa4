//! strata-sequences: sequence analysis of children's pathways, as TraMineR and WeightedCluster
//! in R or sequenzo in Python.
//!
//! - [`sequence`]: state sequences from long (id, time, state) data or rows of states;
//! - [`episodes`]: sequences on a monthly or weekly grid from episode records (id, state, start,
//!   end), aligned by calendar time or by time since the first episode;
//! - [`costs`] and [`distance`]: Hamming, optimal matching (constant or transition-rate
//!   substitution costs), longest common subsequence and dynamic Hamming distances, pairwise in
//!   [`condensed`] storage, computed once per distinct sequence and in parallel;
//! - [`cluster`]: Ward (`hclust(method = "ward.D2")`), PAM and CLARA typologies with silhouette,
//!   point-biserial and Hubert's C quality measures, and [`typology`](mod@typology) to run them in one call;
//! - [`describe`]: state distributions, transition rates, time in each state and entropy by
//!   time, and [`plot`]: state distribution and sequence index plots (SVG).
//!
//! Every step takes plain arrays; nothing needs a data frame.

pub mod cluster;
pub mod condensed;
pub mod costs;
pub mod describe;
pub mod distance;
pub mod episodes;
pub mod error;
pub mod plot;
pub mod sequence;
pub mod typology;

pub use condensed::Condensed;
pub use costs::Substitution;
pub use distance::{Measure, Metric};
pub use error::{Error, Result};
pub use sequence::Sequences;
pub use typology::{typology, DistinctDistances, Method, Typology};
