//! Checks the matrix-level engines make of the arrays they are given, so that every engine
//! words them alike: lengths against the model matrix's rows, column names, finite values.

use crate::error::{Error, Result};
use crate::numerics::Matrix;

/// An error unless an optional array named `what` has `n` values.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the array and both lengths.
pub fn same_length(what: &str, len: Option<usize>, n: usize) -> Result<()> {
    match len {
        Some(len) if len != n => Err(Error::InvalidArgument(format!("{what} has {len} values for the {n} rows of x"))),
        _ => Ok(()),
    }
}

/// The names of `x`'s columns: those given (one a column), else `x1`, `x2`, …
///
/// # Errors
/// [`Error::InvalidArgument`] for another number of names than columns.
pub fn column_names(names: Option<&[String]>, x: &Matrix) -> Result<Vec<String>> {
    let p = x.ncols();
    match names {
        Some(names) if names.len() == p => Ok(names.to_vec()),
        Some(names) => Err(Error::InvalidArgument(format!("{} names for the {p} columns of x", names.len()))),
        None => Ok((1..=p).map(|j| format!("x{j}")).collect()),
    }
}

/// An error naming the first value of `values` (called `what`) that is NaN or infinite, by
/// its row counted from 1.
///
/// # Errors
/// [`Error::NonFinite`].
pub fn finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite { name: what.to_string(), row: i + 1, value: values[i].to_string() }),
    }
}

/// [`finite`] for every column of `x`, named by `names`.
///
/// # Errors
/// As [`finite`].
pub fn finite_columns(x: &Matrix, names: &[String]) -> Result<()> {
    names.iter().enumerate().try_for_each(|(j, name)| finite(name, x.column(j)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_array_and_the_row() {
        let x = Matrix::from_fn(3, 2, |i, j| if i == 1 && j == 1 { f64::NAN } else { 1.0 });
        assert!(same_length("y", Some(2), 3).unwrap_err().to_string().contains("y has 2 values for the 3 rows"));
        assert!(same_length("y", None, 3).is_ok());
        let names = column_names(None, &x).unwrap();
        assert_eq!(names, ["x1", "x2"]);
        assert!(column_names(Some(&names[..1]), &x).is_err());
        let error = finite_columns(&x, &names).unwrap_err().to_string();
        assert!(error.contains("`x2`") && error.contains("row 2"), "{error}");
    }
}
