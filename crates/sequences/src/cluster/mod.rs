//! Typologies of sequences: Ward's hierarchical clustering, partitioning around medoids (PAM)
//! and CLARA, and measures of cluster quality to choose the number of clusters.

mod medoids;
mod quality;
mod ward;

pub use medoids::{clara, pam, pam_ordered, ClaraOptions, Medoids};
pub use quality::{quality, Pairs, Quality};
pub use ward::{number_by_first_appearance, ward, Hierarchy};
