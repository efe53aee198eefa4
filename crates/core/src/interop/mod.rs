//! Conversions between strata's column-major [`Matrix`](crate::numerics::Matrix) and the matrix types of ndarray
//! (cargo feature `ndarray`) and nalgebra (feature `nalgebra`), so that a Rust program holding
//! its data in either can hand it to any strata engine (`GlmEngine::fit`, `CoxEngine::fit`, …)
//! and take the results back. Both features are off by default.
//!
//! Ownership moves without a copy where the layouts agree: an owned nalgebra `DMatrix` (column
//! major, like [`Matrix`](crate::numerics::Matrix)) and an owned ndarray `Array2` in column-major (Fortran) order become a
//! [`Matrix`](crate::numerics::Matrix) and back by handing over their buffer. Views and row-major arrays are copied once
//! into column-major order. Vectors need no conversion: engines take `&[f64]`, which a contiguous
//! ndarray `ArrayView1` gives with `vector` and a `DVector` with `as_slice()`.
//!
//! Data frames come from Arrow record batches and Parquet files (feature `arrow`, module
//! `interop::arrow`), for data kept in Parquet or handed over by polars or DuckDB.

#[cfg(feature = "arrow")]
pub mod arrow;

#[cfg(feature = "ndarray")]
mod with_ndarray {
    use crate::numerics::Matrix;
    use ndarray::{Array2, ArrayView1, ArrayView2, ShapeBuilder};
    use std::borrow::Cow;

    impl From<ArrayView2<'_, f64>> for Matrix {
        /// Copies the view into column-major order.
        fn from(view: ArrayView2<'_, f64>) -> Self {
            let (nrows, ncols) = view.dim();
            Matrix::from_fn(nrows, ncols, |i, j| view[(i, j)])
        }
    }

    impl From<Array2<f64>> for Matrix {
        /// Takes the buffer of a column-major array, copies any other.
        fn from(array: Array2<f64>) -> Self {
            let (nrows, ncols) = array.dim();
            if array.t().is_standard_layout() {
                let (data, offset) = array.into_raw_vec_and_offset();
                if offset.unwrap_or(0) == 0 && data.len() == nrows * ncols {
                    return Matrix::from_column_major(nrows, ncols, data);
                }
                return Matrix::from(
                    Array2::from_shape_vec((nrows, ncols).f(), data).expect("a column-major shape").view(),
                );
            }
            Matrix::from(array.view())
        }
    }

    impl From<Matrix> for Array2<f64> {
        /// Hands the buffer over as a column-major array.
        fn from(matrix: Matrix) -> Self {
            let (nrows, ncols) = (matrix.nrows(), matrix.ncols());
            Array2::from_shape_vec((nrows, ncols).f(), matrix.into_column_major()).expect("a column-major shape")
        }
    }

    /// The values of a one-dimensional view as a slice: borrowed when they are contiguous,
    /// copied otherwise (a strided column of a row-major array).
    pub fn vector<'a>(view: &ArrayView1<'a, f64>) -> Cow<'a, [f64]> {
        match view.to_slice() {
            Some(slice) => Cow::Borrowed(slice),
            None => Cow::Owned(view.to_vec()),
        }
    }
}

#[cfg(feature = "ndarray")]
pub use with_ndarray::vector;

#[cfg(feature = "nalgebra")]
mod with_nalgebra {
    use crate::numerics::Matrix;
    use nalgebra::DMatrix;

    impl From<DMatrix<f64>> for Matrix {
        /// Takes the column-major buffer.
        fn from(matrix: DMatrix<f64>) -> Self {
            let (nrows, ncols) = matrix.shape();
            Matrix::from_column_major(nrows, ncols, matrix.data.into())
        }
    }

    impl From<&DMatrix<f64>> for Matrix {
        /// Copies the column-major buffer.
        fn from(matrix: &DMatrix<f64>) -> Self {
            let (nrows, ncols) = matrix.shape();
            Matrix::from_column_major(nrows, ncols, matrix.as_slice().to_vec())
        }
    }

    impl From<Matrix> for DMatrix<f64> {
        /// Hands the buffer over.
        fn from(matrix: Matrix) -> Self {
            let (nrows, ncols) = (matrix.nrows(), matrix.ncols());
            DMatrix::from_vec(nrows, ncols, matrix.into_column_major())
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "ndarray")]
    #[test]
    fn ndarray_arrays_round_trip_in_both_layouts() {
        use crate::numerics::Matrix;
        use ndarray::{array, Array2, ShapeBuilder};
        let rows = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let matrix = Matrix::from(rows.clone());
        assert_eq!(matrix.as_slice(), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let columns = Array2::from_shape_vec((2, 3).f(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap();
        assert_eq!(Matrix::from(columns), matrix);
        assert_eq!(Matrix::from(rows.view()), matrix);
        assert_eq!(Array2::from(matrix), rows);
        let column = rows.column(1);
        assert_eq!(&*super::vector(&column), [2.0, 5.0]);
    }

    #[cfg(feature = "nalgebra")]
    #[test]
    fn nalgebra_matrices_round_trip() {
        use crate::numerics::Matrix;
        let d = nalgebra::DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let matrix = Matrix::from(&d);
        assert_eq!(matrix[(1, 2)], 6.0);
        assert_eq!(Matrix::from(d.clone()), matrix);
        assert_eq!(nalgebra::DMatrix::from(matrix), d);
    }
}
