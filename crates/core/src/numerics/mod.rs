//! The numerics seam: every call into faer lives in this module, behind a small column-major
//! [`Matrix`] type, so the model crates never depend on faer's changing API.

mod dense;
mod optimize;
mod sandwich;
mod sparse;
mod special;

pub use dense::{
    aliased_columns, aliased_in_gram, invert, real_eigen, row_major_gram, symmetric_eigen, Cholesky, Matrix,
};
pub use optimize::{
    finite_difference_derivatives, finite_difference_hessian, minimize_bobyqa, minimize_quasi_newton, minimize_scalar,
    BobyqaControl, Convergence, QuasiNewtonControl,
};
pub use sandwich::newey_west_meat;
pub use sparse::{SparseCholesky, SymmetricPattern};
pub use special::{digamma, trigamma};
