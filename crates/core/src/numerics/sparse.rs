//! Sparse symmetric positive-definite systems: a fill-reducing ordering (approximate minimum
//! degree) and symbolic factorisation computed once per pattern, a numeric Cholesky
//! factorisation $PAP^\top = LL^\top$ for each set of values, its solves and log-determinant,
//! and the diagonal of $A^{-1}$ by the Takahashi recurrences (Takahashi, Fagan and Chin 1973;
//! Erisman and Tinney 1975) on the pattern of L:
//!
//! $$Z_{ij} = -\frac{1}{L_{jj}}\sum_{k \in \mathcal{R}_j} L_{kj} Z_{ik} \quad (i \in \mathcal{R}_j),
//! \qquad Z_{jj} = \frac{1}{L_{jj}^2} - \frac{1}{L_{jj}}\sum_{k \in \mathcal{R}_j} L_{kj} Z_{kj},$$
//!
//! with $Z = (PAP^\top)^{-1}$ and $\mathcal{R}_j$ the rows below the diagonal of column j of L,
//! taken from the last column back. Only entries of Z on the pattern of L are needed, so the work
//! is of the order of the factorisation's. faer does the ordering and factorisation.

use super::Matrix;
use crate::error::{Error, Result};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::sparse::linalg::cholesky::{
    factorize_symbolic_cholesky, CholeskySymbolicParams, LltRef, SymbolicCholesky, SymbolicCholeskyRaw,
    SymmetricOrdering,
};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Side, Spec};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// The pattern of a symmetric matrix's lower triangle in compressed columns (each column's rows
/// ascending, its diagonal entry first), with its ordering and symbolic factorisation, which
/// are computed on the first factorisation and shared by clones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SymmetricPattern {
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    #[serde(skip)]
    analysis: Arc<OnceLock<std::result::Result<SymbolicCholesky<usize>, String>>>,
}

impl PartialEq for SymmetricPattern {
    fn eq(&self, other: &Self) -> bool {
        self.col_ptr == other.col_ptr && self.row_idx == other.row_idx
    }
}

impl SymmetricPattern {
    /// The pattern from its columns: `columns[j]` holds the rows i ≥ j of column j's entries.
    /// Rows are sorted and repeated rows merged here; the diagonal is added where missing.
    ///
    /// # Panics
    /// If a row is above the diagonal or outside the matrix.
    #[must_use]
    pub fn from_columns(columns: Vec<Vec<usize>>) -> Self {
        let n = columns.len();
        let mut col_ptr = Vec::with_capacity(n + 1);
        let mut row_idx = Vec::new();
        col_ptr.push(0);
        for (j, mut rows) in columns.into_iter().enumerate() {
            rows.push(j);
            rows.sort_unstable();
            rows.dedup();
            assert!(rows[0] == j && rows[rows.len() - 1] < n, "rows of column {j} outside the lower triangle");
            row_idx.extend(rows);
            col_ptr.push(row_idx.len());
        }
        Self { col_ptr, row_idx, analysis: Arc::default() }
    }

    /// The order of the matrix.
    #[must_use]
    pub fn order(&self) -> usize {
        self.col_ptr.len() - 1
    }

    /// The number of stored entries (the lower triangle's).
    #[must_use]
    pub fn len(&self) -> usize {
        self.row_idx.len()
    }

    /// Whether the pattern has no entries (an empty matrix).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.row_idx.is_empty()
    }

    /// Where column j's entries start in the values (its diagonal is there).
    #[must_use]
    pub fn column_start(&self, j: usize) -> usize {
        self.col_ptr[j]
    }

    /// The position of entry (i, j), i ≥ j, in the values, if it is in the pattern.
    #[must_use]
    pub fn position(&self, i: usize, j: usize) -> Option<usize> {
        let (start, end) = (self.col_ptr[j], self.col_ptr[j + 1]);
        self.row_idx[start..end].binary_search(&i).ok().map(|k| start + k)
    }

    /// The rows of column j's entries.
    #[must_use]
    pub fn rows(&self, j: usize) -> &[usize] {
        &self.row_idx[self.col_ptr[j]..self.col_ptr[j + 1]]
    }

    fn view(&self) -> SymbolicSparseColMatRef<'_, usize> {
        SymbolicSparseColMatRef::new_checked(self.order(), self.order(), &self.col_ptr, None, &self.row_idx)
    }

    fn analysis(&self) -> Result<&SymbolicCholesky<usize>> {
        self.analysis
            .get_or_init(|| {
                factorize_symbolic_cholesky(
                    self.view(),
                    Side::Lower,
                    SymmetricOrdering::Amd,
                    CholeskySymbolicParams::default(),
                )
                .map_err(|e| format!("{e:?}"))
            })
            .as_ref()
            .map_err(|e| Error::Numerical(format!("sparse Cholesky analysis failed: {e}")))
    }

    /// The number of entries of the Cholesky factor (after fill).
    ///
    /// # Errors
    /// [`Error::Numerical`] if the symbolic analysis runs out of memory.
    pub fn factor_len(&self) -> Result<usize> {
        Ok(self.analysis()?.len_val())
    }

    /// The work of one numeric factorisation, $\sum_j c_j^2$ over the columns of L with
    /// $c_j$ entries each (proportional to its floating-point operations).
    ///
    /// # Errors
    /// [`Error::Numerical`] if the symbolic analysis runs out of memory.
    pub fn factor_work(&self) -> Result<f64> {
        let square = |c: usize| (c as f64) * (c as f64);
        Ok(match self.analysis()?.raw() {
            SymbolicCholeskyRaw::Simplicial(symbolic) => {
                symbolic.col_ptr().windows(2).map(|w| square(w[1] - w[0])).sum()
            }
            SymbolicCholeskyRaw::Supernodal(symbolic) => (0..symbolic.n_supernodes())
                .map(|s| {
                    let width = symbolic.supernode_end()[s] - symbolic.supernode_begin()[s];
                    let below = symbolic.supernode(s).pattern().len();
                    (0..width).map(|c| square(width - c + below)).sum::<f64>()
                })
                .sum(),
        })
    }

    /// Factorises the matrix with lower-triangle `values` (one per entry of the pattern, in its
    /// order).
    ///
    /// # Errors
    /// [`Error::Numerical`] if the matrix is not positive definite.
    ///
    /// # Panics
    /// If `values` does not match the pattern.
    pub fn factor(&self, values: &[f64]) -> Result<SparseCholesky<'_>> {
        assert_eq!(values.len(), self.len(), "one value per entry of the pattern");
        let symbolic = self.analysis()?;
        let mut l = vec![0.0; symbolic.len_val()];
        let mut scratch = MemBuffer::new(symbolic.factorize_numeric_llt_scratch::<f64>(Par::Seq, Spec::default()));
        symbolic
            .factorize_numeric_llt(
                &mut l,
                SparseColMatRef::new(self.view(), values),
                Side::Lower,
                LltRegularization::default(),
                Par::Seq,
                MemStack::new(&mut scratch),
                Spec::default(),
            )
            .map_err(|_| Error::Numerical("sparse matrix is not positive definite".into()))?;
        Ok(SparseCholesky { symbolic, l })
    }
}

/// The numeric factorisation of a [`SymmetricPattern`]'s matrix.
pub struct SparseCholesky<'a> {
    symbolic: &'a SymbolicCholesky<usize>,
    l: Vec<f64>,
}

/// The columns of L in compressed form, rows ascending with the diagonal first.
struct Columns {
    col_ptr: Vec<usize>,
    rows: Vec<usize>,
    values: Vec<f64>,
}

impl SparseCholesky<'_> {
    /// Solves `A X = B`.
    #[must_use]
    pub fn solve_matrix(&self, b: &Matrix) -> Matrix {
        let (nrows, ncols) = (b.nrows(), b.ncols());
        let mut x = b.clone();
        let mut scratch = MemBuffer::new(self.symbolic.solve_in_place_scratch::<f64>(ncols, Par::Seq));
        LltRef::new(self.symbolic, &self.l).solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(x.as_mut_slice(), nrows, ncols),
            Par::Seq,
            MemStack::new(&mut scratch),
        );
        x
    }

    /// `log det A`, from the diagonal of L.
    #[must_use]
    pub fn log_determinant(&self) -> f64 {
        let log_diagonal: f64 = match self.symbolic.raw() {
            SymbolicCholeskyRaw::Simplicial(symbolic) => {
                let (col_ptr, row_idx) = (symbolic.col_ptr(), symbolic.row_idx());
                (0..symbolic.ncols())
                    .map(|j| {
                        let e = (col_ptr[j]..col_ptr[j + 1]).find(|&e| row_idx[e] == j).expect("a diagonal entry");
                        self.l[e].ln()
                    })
                    .sum()
            }
            SymbolicCholeskyRaw::Supernodal(symbolic) => {
                let col_ptr_for_val = symbolic.col_ptr_for_val();
                (0..symbolic.n_supernodes())
                    .map(|s| {
                        let width = symbolic.supernode_end()[s] - symbolic.supernode_begin()[s];
                        let height = width + symbolic.supernode(s).pattern().len();
                        let block = &self.l[col_ptr_for_val[s]..];
                        (0..width).map(|c| block[c * height + c].ln()).sum::<f64>()
                    })
                    .sum()
            }
        };
        2.0 * log_diagonal
    }

    /// The diagonal of `A⁻¹`, by the Takahashi recurrences on the pattern of L.
    #[must_use]
    pub fn inverse_diagonal(&self) -> Vec<f64> {
        let Columns { col_ptr, rows, values } = self.columns();
        let n = col_ptr.len() - 1;
        // Z on the pattern of L, filled from the last column back.
        let mut z = vec![0.0; values.len()];
        // The place in column j of each of its rows (usize::MAX elsewhere).
        let mut mark = vec![usize::MAX; n];
        let mut sums: Vec<f64> = Vec::new();
        for j in (0..n).rev() {
            let (start, end) = (col_ptr[j], col_ptr[j + 1]);
            let diagonal = values[start];
            for t in start + 1..end {
                mark[rows[t]] = t - start;
            }
            sums.clear();
            sums.resize(end - start, 0.0);
            for tk in 1..end - start {
                let (k, l_kj) = (rows[start + tk], values[start + tk]);
                for e in col_ptr[k]..col_ptr[k + 1] {
                    let ti = mark[rows[e]];
                    if ti == usize::MAX {
                        continue;
                    }
                    // Z_ik with i ≥ k both below the diagonal of column j: its term in Z_ij and,
                    // off the diagonal, Z_ki's term in Z_kj.
                    sums[ti] += l_kj * z[e];
                    if ti != tk {
                        sums[tk] += values[start + ti] * z[e];
                    }
                }
            }
            let mut quadratic = 0.0;
            for t in 1..end - start {
                z[start + t] = -sums[t] / diagonal;
                quadratic += values[start + t] * z[start + t];
                mark[rows[start + t]] = usize::MAX;
            }
            z[start] = 1.0 / (diagonal * diagonal) - quadratic / diagonal;
        }
        let diagonal: Vec<f64> = (0..n).map(|j| z[col_ptr[j]]).collect();
        match self.symbolic.perm() {
            Some(perm) => {
                let (forward, _) = perm.arrays();
                let mut out = vec![0.0; n];
                for (k, &original) in forward.iter().enumerate() {
                    out[original] = diagonal[k];
                }
                out
            }
            None => diagonal,
        }
    }

    /// L (of the permuted matrix) column by column, whichever storage faer chose.
    fn columns(&self) -> Columns {
        let mut out = Columns { col_ptr: vec![0], rows: Vec::new(), values: Vec::new() };
        match self.symbolic.raw() {
            SymbolicCholeskyRaw::Simplicial(symbolic) => {
                let (col_ptr, row_idx) = (symbolic.col_ptr(), symbolic.row_idx());
                let mut entries: Vec<(usize, f64)> = Vec::new();
                for j in 0..symbolic.ncols() {
                    entries.clear();
                    entries.extend((col_ptr[j]..col_ptr[j + 1]).map(|e| (row_idx[e], self.l[e])));
                    entries.sort_unstable_by_key(|&(i, _)| i);
                    out.rows.extend(entries.iter().map(|&(i, _)| i));
                    out.values.extend(entries.iter().map(|&(_, v)| v));
                    out.col_ptr.push(out.rows.len());
                }
            }
            SymbolicCholeskyRaw::Supernodal(symbolic) => {
                let col_ptr_for_val = symbolic.col_ptr_for_val();
                for s in 0..symbolic.n_supernodes() {
                    let node = symbolic.supernode(s);
                    let (begin, pattern) = (node.start(), node.pattern());
                    let width = symbolic.supernode_end()[s] - begin;
                    let height = width + pattern.len();
                    let block = &self.l[col_ptr_for_val[s]..col_ptr_for_val[s + 1]];
                    for c in 0..width {
                        let column = &block[c * height..(c + 1) * height];
                        out.rows.extend((c..width).map(|r| begin + r));
                        out.rows.extend(pattern.iter().copied());
                        out.values.extend_from_slice(&column[c..]);
                        out.col_ptr.push(out.rows.len());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::Cholesky;

    /// A sparse symmetric positive-definite matrix of order n: a band, a few long-range
    /// couplings and a dense corner, so that the factorisation fills in and (for large n) faer
    /// chooses supernodes.
    fn example(n: usize, corner: usize) -> (SymmetricPattern, Vec<f64>, Matrix) {
        let mut dense = Matrix::zeros(n, n);
        for i in 0..n {
            dense[(i, i)] = 10.0 + (i % 7) as f64;
            if i + 1 < n {
                dense[(i + 1, i)] = -1.0 + 0.1 * (i % 3) as f64;
            }
            if i + 17 < n && i % 5 == 0 {
                dense[(i + 17, i)] = 0.5;
            }
            if i >= n - corner {
                for j in n - corner..i {
                    dense[(i, j)] = 0.2;
                }
            }
        }
        let columns: Vec<Vec<usize>> = (0..n).map(|j| (j..n).filter(|&i| dense[(i, j)] != 0.0).collect()).collect();
        let pattern = SymmetricPattern::from_columns(columns);
        let values: Vec<f64> =
            (0..n).flat_map(|j| pattern.rows(j).iter().map(|&i| dense[(i, j)]).collect::<Vec<_>>()).collect();
        for j in 0..n {
            for i in j + 1..n {
                dense[(j, i)] = dense[(i, j)];
            }
        }
        (pattern, values, dense)
    }

    #[test]
    fn agrees_with_the_dense_factorisation() {
        let mut storages = Vec::new();
        for (n, corner) in [(1, 1), (2, 1), (30, 5), (400, 12), (600, 200)] {
            let (pattern, values, dense) = example(n, corner);
            let sparse = pattern.factor(&values).unwrap();
            storages.push(matches!(sparse.symbolic.raw(), SymbolicCholeskyRaw::Supernodal(_)));
            let reference = Cholesky::new(&dense).unwrap();
            assert!((sparse.log_determinant() - reference.log_determinant()).abs() < 1e-10 * n as f64);
            let inverse = reference.inverse();
            for (i, v) in sparse.inverse_diagonal().iter().enumerate() {
                assert!((v - inverse[(i, i)]).abs() < 1e-13, "n = {n}, row {i}: {v} against {}", inverse[(i, i)]);
            }
            let b = Matrix::from_fn(n, 3, |i, j| (i * (j + 1)) as f64 % 5.0 - 2.0);
            let (x, y) = (sparse.solve_matrix(&b), reference.solve_matrix(&b));
            for (a, b) in x.as_slice().iter().zip(y.as_slice()) {
                assert!((a - b).abs() < 1e-12);
            }
        }
        assert!(storages.contains(&true) && storages.contains(&false), "both of faer's storages: {storages:?}");
    }

    #[test]
    fn refuses_an_indefinite_matrix() {
        let pattern = SymmetricPattern::from_columns(vec![vec![0, 1], vec![1]]);
        assert!(pattern.factor(&[1.0, 2.0, 1.0]).is_err());
    }

    #[test]
    fn clones_share_the_analysis_and_compare_by_pattern() {
        let (pattern, values, _) = example(50, 5);
        pattern.factor(&values).unwrap();
        let copy = pattern.clone();
        assert!(copy.analysis.get().is_some());
        assert_eq!(copy, pattern);
        assert_eq!(pattern.position(17, 0), Some(pattern.column_start(0) + 2));
    }
}
