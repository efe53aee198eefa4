//! Dense matrices and their factorisations (faer underneath).

use crate::error::{Error, Result};
use faer::linalg::solvers::DenseSolveCore;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, MatRef, Par, Side};
use serde::{Deserialize, Serialize};
use std::ops::{Index, IndexMut};

/// A dense column-major matrix of `f64`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    nrows: usize,
    ncols: usize,
    data: Vec<f64>,
}

/// The empty 0 × 0 matrix (what a fit read back from an older file has for a matrix it did not
/// write).
impl Default for Matrix {
    fn default() -> Self {
        Self::zeros(0, 0)
    }
}

impl Matrix {
    /// Wraps column-major data.
    ///
    /// # Panics
    /// If `data.len() != nrows * ncols`.
    pub fn from_column_major(nrows: usize, ncols: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), nrows * ncols, "matrix data has the wrong length");
        Self { nrows, ncols, data }
    }

    /// The column-major data, without a copy.
    pub fn into_column_major(self) -> Vec<f64> {
        self.data
    }

    /// A matrix of zeros.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Self { nrows, ncols, data: vec![0.0; nrows * ncols] }
    }

    /// The identity matrix.
    pub fn identity(n: usize) -> Self {
        Self::from_fn(n, n, |i, j| f64::from(u8::from(i == j)))
    }

    /// A matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(nrows: usize, ncols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let mut data = Vec::with_capacity(nrows * ncols);
        for j in 0..ncols {
            for i in 0..nrows {
                data.push(f(i, j));
            }
        }
        Self { nrows, ncols, data }
    }

    /// A diagonal matrix.
    pub fn diagonal(values: &[f64]) -> Self {
        Self::from_fn(values.len(), values.len(), |i, j| if i == j { values[i] } else { 0.0 })
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Column `j` as a slice.
    pub fn column(&self, j: usize) -> &[f64] {
        &self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// Column `j` as a mutable slice.
    pub fn column_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// The column-major data.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The column-major data, to change in place.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The diagonal.
    pub fn diag(&self) -> Vec<f64> {
        (0..self.nrows.min(self.ncols)).map(|i| self[(i, i)]).collect()
    }

    /// Rows as vectors (for serialising a small matrix as nested lists).
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        (0..self.nrows).map(|i| (0..self.ncols).map(|j| self[(i, j)]).collect()).collect()
    }

    fn view(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.data, self.nrows, self.ncols)
    }

    fn from_faer(m: MatRef<'_, f64>) -> Self {
        Self::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
    }

    /// The transpose.
    #[must_use]
    pub fn transpose(&self) -> Self {
        Self::from_fn(self.ncols, self.nrows, |i, j| self[(j, i)])
    }

    /// The product `self × other`.
    ///
    /// # Panics
    /// If the inner dimensions differ.
    #[must_use]
    pub fn matmul(&self, other: &Self) -> Self {
        assert_eq!(self.ncols, other.nrows, "matrix product dimensions");
        let mut out = faer::Mat::<f64>::zeros(self.nrows, other.ncols);
        faer::linalg::matmul::matmul(&mut out, Accum::Replace, self.view(), other.view(), 1.0, Par::Seq);
        Self::from_faer(out.as_ref())
    }

    /// For the rows `rows` of `self` (X): `XᵀWX` and `XᵀZ`, with `weights` and `z` holding
    /// those rows only (`z` column-major, one column per right-hand side). The pieces of a
    /// product over all rows that threads can compute block by block.
    ///
    /// # Panics
    /// If `weights` or `z` do not have one row per row of the range.
    pub fn rows_crossprod(&self, rows: std::ops::Range<usize>, weights: &[f64], z: &Self) -> (Self, Self) {
        const PIECE: usize = 1024;
        let (count, p) = (rows.len(), self.ncols);
        assert!(weights.len() == count && z.nrows == count, "one weight and one z row per row");
        // Plain loops over contiguous column pieces, a cache-sized piece of rows at a time: the
        // block is small, and wide SIMD kernels called from every worker would slow the scalar
        // likelihood code around them.
        let mut weighted = vec![0.0; PIECE.min(count)];
        let mut cross = Self::zeros(p, p);
        let mut products = Self::zeros(p, z.ncols);
        let mut from = 0;
        while from < count {
            let to = (from + PIECE).min(count);
            let (first, last) = (rows.start + from, rows.start + to);
            let weighted = &mut weighted[..to - from];
            for r in 0..p {
                let column = &self.column(r)[first..last];
                for ((t, x), w) in weighted.iter_mut().zip(column).zip(&weights[from..to]) {
                    *t = x * w;
                }
                for s in 0..=r {
                    cross[(r, s)] += lane_dot(weighted, &self.column(s)[first..last]);
                }
                for k in 0..z.ncols {
                    products[(r, k)] += lane_dot(column, &z.column(k)[from..to]);
                }
            }
            from = to;
        }
        for r in 0..p {
            for s in 0..r {
                cross[(s, r)] = cross[(r, s)];
            }
        }
        (cross, products)
    }

    /// The product `selfᵀ × diag(weights) × self` (`XᵀWX`), or `XᵀX` without weights.
    ///
    /// Rows are processed in blocks that fit in cache, each block weighted into a small buffer
    /// and accumulated by faer's matrix product, so no weighted copy of the whole matrix is made.
    ///
    /// # Panics
    /// If `weights` has the wrong length.
    #[must_use]
    pub fn weighted_crossprod(&self, weights: Option<&[f64]>) -> Self {
        self.weighted_crossprod_with(weights, &[]).0
    }

    /// `XᵀWX` and `XᵀWz` for a vector `z` (empty for none), in one pass over the rows: blocks of
    /// rows ([`row_blocks`](crate::parallel::row_blocks)) on up to
    /// [`threads`](crate::parallel::threads) threads, their sums added in block order, so the
    /// result is the same on any number of threads.
    ///
    /// # Panics
    /// If `weights` or a non-empty `z` has the wrong length.
    pub fn weighted_crossprod_with(&self, weights: Option<&[f64]>, z: &[f64]) -> (Self, Vec<f64>) {
        let n = self.nrows;
        if let Some(w) = weights {
            assert_eq!(w.len(), n, "one weight per row");
        }
        assert!(z.is_empty() || z.len() == n, "one response per row");
        let (cross, products, []) =
            self.crossprod_prepared([], !z.is_empty(), crate::parallel::threads(), |rows, [], w, target| {
                match weights {
                    Some(weights) => w.copy_from_slice(&weights[rows.clone()]),
                    None => w.fill(1.0),
                }
                if !z.is_empty() {
                    target.copy_from_slice(&z[rows]);
                }
                []
            });
        (cross, products)
    }

    /// `XᵀWX`, `XᵀWz` (when `response`) and `S` sums, in one pass over the rows with the weights
    /// and the response made as the pass goes: `prepare(rows, outs, w, z)` fills `w` and `z` for
    /// a cache-sized block of rows, may write those rows of each of `outs`, and returns the
    /// block's share of the sums. An IRLS step computes its working weights and response from the
    /// linear predictor this way, block by block, while the rows are in cache. The rows are cut
    /// into [`row_blocks`](crate::parallel::row_blocks), shared among up to `threads` threads
    /// ([`map_blocks_mut`](crate::parallel::map_blocks_mut)), and the blocks' results added in
    /// order, so nothing depends on the threads. The products are plain loops
    /// ([`Matrix::rows_crossprod`]): after faer's wide SIMD kernel, the scalar code of `prepare`
    /// ran at half speed (a Poisson IRLS pass on 1,000,000 × 11: 77 ms against 44 ms on one
    /// thread).
    ///
    /// # Panics
    /// If an output's length is not the number of rows.
    pub fn crossprod_prepared<const K: usize, const S: usize>(
        &self,
        outs: [&mut [f64]; K],
        response: bool,
        threads: usize,
        prepare: impl Fn(std::ops::Range<usize>, [&mut [f64]; K], &mut [f64], &mut [f64]) -> [f64; S] + Sync,
    ) -> (Self, Vec<f64>, [f64; S]) {
        let (n, p) = (self.nrows, self.ncols);
        let size = crate::parallel::row_blocks(n, 8 * p * (p + 1))[0].len().max(1);
        let parts = crate::parallel::map_blocks_mut(outs, n, size, threads, |rows, mut part| {
            let mut cross = Self::zeros(p, p);
            let mut xtz = Self::zeros(p, usize::from(response));
            let mut sums = [0.0; S];
            let length = BLOCK.min(rows.len());
            let (mut w, mut z) = (vec![0.0; length], Self::zeros(length, usize::from(response)));
            let mut target = vec![0.0; length];
            let mut start = rows.start;
            while start < rows.end {
                let count = BLOCK.min(rows.end - start);
                let local = start - rows.start..start - rows.start + count;
                let slices = part.each_mut().map(|o| &mut o[local.clone()]);
                let (w, target) = (&mut w[..count], &mut target[..count]);
                for (sum, share) in sums.iter_mut().zip(prepare(start..start + count, slices, w, target)) {
                    *sum += share;
                }
                if z.nrows != count {
                    z = Self::zeros(count, z.ncols);
                }
                if response {
                    for ((z, t), w) in z.data.iter_mut().zip(&*target).zip(&*w) {
                        *z = t * w;
                    }
                }
                let (block_cross, block_xtz) = self.rows_crossprod(start..start + count, w, &z);
                for (total, block) in
                    cross.data.iter_mut().chain(&mut xtz.data).zip(block_cross.data.iter().chain(&block_xtz.data))
                {
                    *total += block;
                }
                start += count;
            }
            (cross, xtz, sums)
        });
        let mut total = (Self::zeros(p, p), vec![0.0; p * usize::from(response)], [0.0; S]);
        for (cross, xtz, sums) in parts {
            let pairs = total.0.data.iter_mut().zip(&cross.data).chain(total.1.iter_mut().zip(&xtz.data));
            for (t, b) in pairs.chain(total.2.iter_mut().zip(&sums)) {
                *t += b;
            }
        }
        total
    }

    /// `self × v`.
    ///
    /// # Panics
    /// If `v` has the wrong length.
    pub fn times(&self, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.nrows];
        self.times_add(v, &mut out);
        out
    }

    /// `out += self × v`, without allocating.
    ///
    /// # Panics
    /// If `v` or `out` has the wrong length.
    pub fn times_add(&self, v: &[f64], out: &mut [f64]) {
        assert_eq!(v.len(), self.ncols, "vector length");
        assert_eq!(out.len(), self.nrows, "output length");
        // Each row's sum is formed in column order whatever the parts, so the threads do not
        // change it; a part is taken a cache-sized block of rows at a time, all columns on one
        // block before the next.
        crate::parallel::for_each_part(out, crate::parallel::threads(), |start, part| {
            for (b, block) in part.chunks_mut(BLOCK).enumerate() {
                let first = start + b * BLOCK;
                for (j, &vj) in v.iter().enumerate() {
                    if vj != 0.0 {
                        for (o, x) in block.iter_mut().zip(&self.column(j)[first..]) {
                            *o += x * vj;
                        }
                    }
                }
            }
        });
    }

    /// `selfᵀ × v`.
    ///
    /// # Panics
    /// If `v` has the wrong length.
    pub fn transpose_times(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(v.len(), self.nrows, "vector length");
        (0..self.ncols).map(|j| self.column(j).iter().zip(v).map(|(x, y)| x * y).sum()).collect()
    }

    /// The quadratic form `aᵀ self b`.
    pub fn quadratic_form(&self, a: &[f64], b: &[f64]) -> f64 {
        (0..self.ncols).map(|j| b[j] * (0..self.nrows).map(|i| a[i] * self[(i, j)]).sum::<f64>()).sum()
    }
}

impl Index<(usize, usize)> for Matrix {
    type Output = f64;
    fn index(&self, (i, j): (usize, usize)) -> &f64 {
        &self.data[j * self.nrows + i]
    }
}

impl IndexMut<(usize, usize)> for Matrix {
    fn index_mut(&mut self, (i, j): (usize, usize)) -> &mut f64 {
        &mut self.data[j * self.nrows + i]
    }
}

/// The Cholesky factorisation `A = L Lᵀ` of a symmetric positive-definite matrix.
#[derive(Debug)]
pub struct Cholesky {
    /// `L`, zero above the diagonal.
    lower: faer::Mat<f64>,
}

/// From this order on, [`Cholesky::new`] factorises by blocks on every thread.
const PARALLEL_CHOLESKY: usize = 512;

/// The columns of a block of the blocked factorisation, and the rows of a part of its panel.
const CHOLESKY_BLOCK: usize = 128;

impl Cholesky {
    /// Factorises `a` (its lower triangle is read): faer's factorisation, or from order 512 on,
    /// one by blocks on every thread (the same factor on any number of threads).
    ///
    /// # Errors
    /// [`Error::Numerical`] if `a` is not positive definite.
    pub fn new(a: &Matrix) -> Result<Self> {
        let n = a.nrows;
        let mut lower = faer::Mat::<f64>::zeros(n, n);
        lower.copy_from_triangular_lower(a.view());
        let factorised =
            if n < PARALLEL_CHOLESKY { factorise_in_place(lower.as_mut()) } else { Self::by_blocks(lower.as_mut()) };
        factorised.map_err(|()| Error::Numerical("matrix is not positive definite".into()))?;
        for j in 1..n {
            lower.col_mut(j).subrows_mut(0, j).fill(0.0);
        }
        Ok(Self { lower })
    }

    /// The right-looking blocked factorisation of the lower triangle of `l` in place (Golub &
    /// Van Loan 2013, §4.2), for blocks of [`CHOLESKY_BLOCK`] columns in turn: the diagonal
    /// block factorised, the panel below it solved against that factor in parts of
    /// [`CHOLESKY_BLOCK`] rows, and each later block column updated by one matrix product, the
    /// parts and the products shared among the threads. The blocks depend on the order alone,
    /// so the factor is the same on any number of threads.
    fn by_blocks(mut l: faer::MatMut<'_, f64>) -> std::result::Result<(), ()> {
        use crate::parallel::{map_items_in_order, threads};
        use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
        let n = l.nrows();
        for first in (0..n).step_by(CHOLESKY_BLOCK) {
            let width = CHOLESKY_BLOCK.min(n - first);
            let (mut done, trailing) = l.rb_mut().split_at_col_mut(first + width);
            let (mut diagonal, panel) =
                done.rb_mut().subcols_mut(first, width).subrows_mut(first, n - first).split_at_row_mut(width);
            factorise_in_place(diagonal.rb_mut())?;
            let diagonal = diagonal.rb();
            let mut parts = Vec::new();
            let mut rest = panel;
            while rest.nrows() > 0 {
                let rows = CHOLESKY_BLOCK.min(rest.nrows());
                let (part, after) = rest.split_at_row_mut(rows);
                parts.push(part);
                rest = after;
            }
            map_items_in_order(parts, threads(), |part| {
                solve_lower_triangular_in_place(diagonal, part.transpose_mut(), Par::Seq);
            });
            // Block column by block column, the trailing lower triangle less panel × panelᵀ.
            let panel = done.rb().subcols(first, width).subrows(first + width, n - first - width);
            let mut columns = Vec::new();
            let mut rest = trailing.subrows_mut(first + width, n - first - width);
            let mut at = 0;
            while rest.ncols() > 0 {
                let w = CHOLESKY_BLOCK.min(rest.ncols());
                let (column, after) = rest.split_at_col_mut(w);
                columns.push((at, column.subrows_mut(at, n - first - width - at)));
                rest = after;
                at += w;
            }
            map_items_in_order(columns, threads(), |(at, column)| {
                let w = column.ncols();
                let below = panel.subrows(at, panel.nrows() - at);
                let beside = panel.subrows(at, w);
                faer::linalg::matmul::matmul(column, Accum::Add, below, beside.transpose(), -1.0, Par::Seq);
            });
        }
        Ok(())
    }

    /// Solves `A x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut rhs = faer::Mat::<f64>::from_fn(b.len(), 1, |i, _| b[i]);
        self.solve_in_place(rhs.as_mut());
        (0..b.len()).map(|i| rhs[(i, 0)]).collect()
    }

    /// Solves `A X = B` for a matrix right-hand side.
    pub fn solve_matrix(&self, b: &Matrix) -> Matrix {
        let mut rhs = faer::Mat::<f64>::from_fn(b.nrows, b.ncols, |i, j| b[(i, j)]);
        self.solve_in_place(rhs.as_mut());
        Matrix::from_faer(rhs.as_ref())
    }

    /// `L Lᵀ X = B` by the two triangular solves.
    fn solve_in_place(&self, rhs: faer::MatMut<'_, f64>) {
        let mut stack = faer::dyn_stack::MemBuffer::new(faer::dyn_stack::StackReq::EMPTY);
        faer::linalg::cholesky::llt::solve::solve_in_place(
            self.lower.as_ref(),
            rhs,
            Par::Seq,
            faer::dyn_stack::MemStack::new(&mut stack),
        );
    }

    /// `A⁻¹`.
    pub fn inverse(&self) -> Matrix {
        let n = self.lower.nrows();
        let mut out = faer::Mat::<f64>::zeros(n, n);
        let mut stack =
            faer::dyn_stack::MemBuffer::new(faer::linalg::cholesky::llt::inverse::inverse_scratch::<f64>(n, Par::Seq));
        faer::linalg::cholesky::llt::inverse::inverse(
            out.as_mut(),
            self.lower.as_ref(),
            Par::Seq,
            faer::dyn_stack::MemStack::new(&mut stack),
        );
        // Only the lower triangle is formed.
        for j in 1..n {
            for i in 0..j {
                out[(i, j)] = out[(j, i)];
            }
        }
        Matrix::from_faer(out.as_ref())
    }

    /// `log det A`.
    pub fn log_determinant(&self) -> f64 {
        2.0 * (0..self.lower.nrows()).map(|i| self.lower[(i, i)].ln()).sum::<f64>()
    }

    /// The lower-triangular factor `L`.
    pub fn lower(&self) -> Matrix {
        Matrix::from_faer(self.lower.as_ref())
    }
}

/// faer's factorisation of the lower triangle of `a` in place, on this thread; `Err` if `a` is
/// not positive definite.
fn factorise_in_place(a: faer::MatMut<'_, f64>) -> std::result::Result<(), ()> {
    use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
    let mut stack =
        faer::dyn_stack::MemBuffer::new(cholesky_in_place_scratch::<f64>(a.nrows(), Par::Seq, faer::Spec::default()));
    cholesky_in_place(
        a,
        faer::linalg::cholesky::llt::factor::LltRegularization::default(),
        Par::Seq,
        faer::dyn_stack::MemStack::new(&mut stack),
        faer::Spec::default(),
    )
    .map(|_| ())
    .map_err(|_| ())
}

/// `Σ aᵢ bᵢ` in eight interleaved partial sums, added in a fixed order: the compiler can keep
/// the lanes in SIMD registers (a single running sum cannot be reordered), and the result does
/// not depend on anything but the two slices.
fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Rows taken at a time by the Gram matrices: prepared and multiplied while they stay in cache
/// ([`Matrix::crossprod_prepared`]), or weighted into a buffer before faer multiplies them
/// ([`row_major_gram`]).
const BLOCK: usize = 2048;

/// The inverse of a general square matrix by LU with partial pivoting, or `None` when it is
/// singular to working precision (`A A⁻¹` off the identity by more than 1e-8).
pub fn invert(a: &Matrix) -> Option<Matrix> {
    let n = a.nrows;
    let inverse = Matrix::from_faer(a.view().partial_piv_lu().inverse().as_ref());
    let product = a.matmul(&inverse);
    let ok = (0..n).all(|i| (0..n).all(|j| (product[(i, j)] - f64::from(u8::from(i == j))).abs() < 1e-8));
    ok.then_some(inverse)
}

/// Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix.
///
/// # Errors
/// [`Error::Numerical`] if the eigen-solver does not converge.
pub fn symmetric_eigen(a: &Matrix) -> Result<(Vec<f64>, Matrix)> {
    let eigen = a
        .view()
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| Error::Numerical("symmetric eigendecomposition did not converge".into()))?;
    let values = (0..a.nrows).map(|i| eigen.S()[i]).collect();
    Ok((values, Matrix::from_faer(eigen.U())))
}

/// The eigendecomposition `A = V diag(λ) V⁻¹` of a general real matrix when every eigenvalue
/// is real and the eigenvectors are well conditioned (the reconstruction is checked to 1e-10
/// relative): `(λ, V, V⁻¹)`. `None` otherwise (complex eigenvalues, a defective matrix), for the
/// caller to fall back on a method that always works.
pub fn real_eigen(a: &Matrix) -> Option<(Vec<f64>, Matrix, Matrix)> {
    let n = a.nrows;
    let eigen = faer::linalg::solvers::Eigen::new_from_real(a.view()).ok()?;
    let (u, s) = (eigen.U(), eigen.S());
    if (0..n).any(|i| s[i].im.abs() > 1e-12 * (1.0 + s[i].re.abs())) {
        return None;
    }
    let values: Vec<f64> = (0..n).map(|i| s[i].re).collect();
    let vectors = Matrix::from_fn(n, n, |i, j| u[(i, j)].re);
    let inverse = Matrix::from_faer(vectors.view().partial_piv_lu().inverse().as_ref());
    let scale = a.data.iter().map(|v| v.abs()).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    for i in 0..n {
        for j in 0..n {
            let rebuilt: f64 = (0..n).map(|k| vectors[(i, k)] * values[k] * inverse[(k, j)]).sum();
            if !rebuilt.is_finite() || (rebuilt - a[(i, j)]).abs() > 1e-10 * scale {
                return None;
            }
        }
    }
    Some((values, vectors, inverse))
}

/// $\sum_i w_i x_i x_i^\top$ for the rows $x_i$ of an $n \times p$ matrix stored row by row
/// (`rows`, each row contiguous): blocks of rows ([`row_blocks`](crate::parallel::row_blocks))
/// on up to [`threads`](crate::parallel::threads) threads, each block weighted into a buffer and
/// multiplied by faer's matrix product, the blocks' sums added in order, so the result is the
/// same on any number of threads.
///
/// # Examples
/// ```
/// use strata_core::numerics::row_major_gram;
/// // Rows (1, 2) and (3, 4) with weights 2 and 1.
/// let gram = row_major_gram(&[1.0, 2.0, 3.0, 4.0], 2, &[2.0, 1.0]);
/// assert_eq!((gram[(0, 0)], gram[(0, 1)], gram[(1, 1)]), (11.0, 16.0, 24.0));
/// ```
///
/// # Panics
/// If `rows` does not hold one row of `p` values per weight.
#[must_use]
pub fn row_major_gram(rows: &[f64], p: usize, weights: &[f64]) -> Matrix {
    use crate::parallel::{map_in_order, row_blocks, threads};
    let n = weights.len();
    assert_eq!(rows.len(), n * p, "one row of p values per weight");
    if p == 0 {
        return Matrix::zeros(0, 0);
    }
    let blocks = row_blocks(n, 8 * p * p);
    let parts = map_in_order(blocks.len(), threads(), |b| {
        let mut out = faer::Mat::<f64>::zeros(p, p);
        let mut buffer = vec![0.0; BLOCK.min(blocks[b].len()) * p];
        let mut start = blocks[b].start;
        while start < blocks[b].end {
            let count = BLOCK.min(blocks[b].end - start);
            let block = &rows[start * p..(start + count) * p];
            for ((target, row), w) in buffer.chunks_exact_mut(p).zip(block.chunks_exact(p)).zip(&weights[start..]) {
                for (t, x) in target.iter_mut().zip(row) {
                    *t = x * w;
                }
            }
            let weighted = MatRef::from_column_major_slice(&buffer[..count * p], p, count);
            let block = MatRef::from_column_major_slice(block, p, count);
            faer::linalg::matmul::matmul(&mut out, Accum::Add, block, weighted.transpose(), 1.0, Par::Seq);
            start += count;
        }
        out
    });
    let mut parts = parts.into_iter();
    let mut total = parts.next().expect("at least one block");
    for part in parts {
        total += part;
    }
    Matrix::from_faer(total.as_ref())
}

/// Flags columns of `x` that are linearly dependent on earlier columns: a column is set aside
/// when the norm left after projecting out the kept earlier columns is below `tolerance` times
/// its original norm (the rule of LINPACK `dqrdc2`, which R's `lm` and `glm` use).
///
/// The residual norms come first from a Cholesky factorisation of `XᵀX`, built column by column
/// (one pass over the data); when any ratio falls within a factor of 100 of the tolerance, where
/// squaring the condition number could decide wrongly, they are recomputed by Householder QR of
/// `X` itself.
pub fn aliased_columns(x: &Matrix, tolerance: f64) -> Vec<bool> {
    aliased_in_gram(&x.weighted_crossprod(None), tolerance).unwrap_or_else(|| aliased_by_householder(x, tolerance))
}

/// The rule of [`aliased_columns`] applied to a Gram matrix `XᵀX` alone (for callers who have
/// it, or cannot afford `X` itself): `None` when a ratio falls within a factor of 100 of the
/// tolerance, where the decision needs `X` (and [`aliased_columns`]).
pub fn aliased_in_gram(gram: &Matrix, tolerance: f64) -> Option<Vec<bool>> {
    let p = gram.ncols;
    let mut aliased = vec![false; p];
    let mut kept: Vec<usize> = Vec::new();
    // Lower-triangular factor of the Gram matrix of the kept columns, row by row.
    let mut factor: Vec<Vec<f64>> = Vec::new();
    for j in 0..p {
        let norm2 = gram[(j, j)];
        let mut row = Vec::with_capacity(kept.len() + 1);
        for (r, &k) in kept.iter().enumerate() {
            let dot: f64 = (0..r).map(|c| factor[r][c] * row[c]).sum();
            row.push((gram[(k, j)] - dot) / factor[r][r]);
        }
        let residual2 = norm2 - row.iter().map(|v| v * v).sum::<f64>();
        let ratio2 = if norm2 > 0.0 { residual2.max(0.0) / norm2 } else { 0.0 };
        if norm2 > 0.0 && (ratio2 - tolerance * tolerance).abs() < 100.0 * tolerance * tolerance + 1e-13 {
            return None;
        }
        if norm2 == 0.0 || ratio2 < tolerance * tolerance {
            aliased[j] = true;
            continue;
        }
        row.push(residual2.sqrt());
        factor.push(row);
        kept.push(j);
    }
    Some(aliased)
}

fn aliased_by_householder(x: &Matrix, tolerance: f64) -> Vec<bool> {
    let n = x.nrows;
    let mut work = x.clone();
    let mut aliased = vec![false; x.ncols];
    let mut reflectors: Vec<(usize, Vec<f64>)> = Vec::new();
    for j in 0..x.ncols {
        let original = x.column(j).iter().map(|v| v * v).sum::<f64>().sqrt();
        let column = work.column_mut(j);
        for (k, v) in &reflectors {
            let dot: f64 = column[*k..].iter().zip(v).map(|(a, b)| a * b).sum();
            for (c, vi) in column[*k..].iter_mut().zip(v) {
                *c -= 2.0 * dot * vi;
            }
        }
        let k = reflectors.len();
        if k >= n {
            aliased[j] = true;
            continue;
        }
        let rest = column[k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if original == 0.0 || rest < tolerance * original {
            aliased[j] = true;
            continue;
        }
        let mut v: Vec<f64> = column[k..].to_vec();
        let alpha = if v[0] >= 0.0 { -rest } else { rest };
        v[0] -= alpha;
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 0.0 {
            for a in &mut v {
                *a /= norm;
            }
        }
        reflectors.push((k, v));
    }
    aliased
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The factorisation by blocks reconstructs its matrix and solves with it as faer's does,
    /// is the same on one thread as on two, and reports a matrix that stops being positive
    /// definite in a later block.
    #[test]
    fn the_factorisation_by_blocks_is_faers() {
        let n = PARALLEL_CHOLESKY + 3 * CHOLESKY_BLOCK / 2 + 5;
        let b = Matrix::from_fn(n, n, |i, j| ((i * 31 + j * 17) % 23) as f64 / 23.0 - 0.5);
        let mut a = b.transpose().matmul(&b);
        for i in 0..n {
            a[(i, i)] += 1.0;
        }
        crate::parallel::set_threads(1);
        let one = Cholesky::new(&a).expect("positive definite");
        crate::parallel::set_threads(2);
        let two = Cholesky::new(&a).expect("positive definite");
        crate::parallel::set_threads(0);
        assert_eq!(one.lower().as_slice(), two.lower().as_slice());
        let faers = a.view().llt(Side::Lower).expect("positive definite");
        let (l, reference) = (one.lower(), faers.L());
        for j in 0..n {
            for i in 0..n {
                assert!((l[(i, j)] - reference[(i, j)]).abs() < 1e-10, "({i}, {j})");
            }
        }
        let rhs: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        let x = one.solve(&rhs);
        let back = a.transpose_times(&x);
        assert!(back.iter().zip(&rhs).all(|(a, b)| (a - b).abs() < 1e-9));
        // A negative pivot in the last block.
        a[(n - 2, n - 2)] = -1.0;
        assert!(Cholesky::new(&a).is_err());
    }

    /// The Gram matrix of rows stored row by row equals `XᵀWX` of the same matrix stored by
    /// columns, over several blocks of rows.
    #[test]
    fn row_major_gram_is_the_weighted_crossprod() {
        let (n, p) = (150_000, 4);
        let value = |i: usize, j: usize| ((i * 7 + j * 13) % 17) as f64 / 17.0 - 0.5 + j as f64;
        let weights: Vec<f64> = (0..n).map(|i| 0.5 + (i % 5) as f64).collect();
        let rows: Vec<f64> = (0..n).flat_map(|i| (0..p).map(move |j| value(i, j))).collect();
        let x = Matrix::from_fn(n, p, value);
        let (gram, expected) = (row_major_gram(&rows, p, &weights), x.weighted_crossprod(Some(&weights)));
        for a in 0..p {
            for b in 0..p {
                assert!((gram[(a, b)] - expected[(a, b)]).abs() < 1e-9 * expected[(a, b)].abs().max(1.0));
            }
        }
    }

    #[test]
    fn cholesky_solves_and_inverts() {
        let a = Matrix::from_column_major(2, 2, vec![4.0, 2.0, 2.0, 3.0]);
        let chol = Cholesky::new(&a).unwrap();
        let x = chol.solve(&[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-14 && x[1].abs() < 1e-14);
        let inverse = chol.inverse();
        assert!((inverse[(0, 0)] - 0.375).abs() < 1e-14 && (inverse[(0, 1)] + 0.25).abs() < 1e-14);
        assert!((chol.log_determinant() - 8f64.ln()).abs() < 1e-14);
        assert!(Cholesky::new(&Matrix::from_column_major(2, 2, vec![1.0, 2.0, 2.0, 1.0])).is_err());
    }

    #[test]
    fn real_eigendecompositions_rebuild_the_matrix() {
        // A birth–death generator has real eigenvalues; a rotation does not.
        let q = Matrix::from_column_major(3, 3, vec![-0.2, 0.1, 0.0, 0.2, -0.3, 0.05, 0.0, 0.2, -0.05]);
        let (values, vectors, inverse) = real_eigen(&q).unwrap();
        let rebuilt = Matrix::from_fn(3, 3, |i, j| (0..3).map(|k| vectors[(i, k)] * values[k] * inverse[(k, j)]).sum());
        for i in 0..3 {
            for j in 0..3 {
                assert!((rebuilt[(i, j)] - q[(i, j)]).abs() < 1e-12);
            }
        }
        assert!(real_eigen(&Matrix::from_column_major(2, 2, vec![0.0, 1.0, -1.0, 0.0])).is_none());
    }

    #[test]
    fn both_aliasing_paths_agree() {
        let mut rng = crate::random::Rng::new(5);
        let n = 50;
        let a: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 2.0 * x - y).collect();
        let c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let data: Vec<f64> = [vec![1.0; n], a, b, sum, vec![0.0; n], c].concat();
        let x = Matrix::from_column_major(n, 6, data);
        let expected = [false, false, false, true, true, false];
        assert_eq!(aliased_columns(&x, 1e-7), expected);
        assert_eq!(aliased_by_householder(&x, 1e-7), expected);
    }

    #[test]
    fn crossproducts_and_eigen() {
        let x = Matrix::from_column_major(3, 2, vec![1.0, 1.0, 1.0, 1.0, 2.0, 3.0]);
        let xtwx = x.weighted_crossprod(Some(&[1.0, 2.0, 1.0]));
        assert_eq!(xtwx.to_rows(), [[4.0, 8.0], [8.0, 18.0]]);
        let (values, vectors) = symmetric_eigen(&Matrix::from_column_major(2, 2, vec![2.0, 1.0, 1.0, 2.0])).unwrap();
        assert!((values[0] - 1.0).abs() < 1e-14 && (values[1] - 3.0).abs() < 1e-14);
        assert!((vectors[(0, 1)].abs() - 0.5f64.sqrt()).abs() < 1e-14);
    }

    #[test]
    fn crossproducts_of_a_block_of_rows_equal_the_sums_they_stand_for() {
        // 2,500 rows: more than two pieces of 1,024, and a ragged last one.
        let (n, p) = (3000, 3);
        let x = Matrix::from_fn(n, p, |i, j| ((i * (j + 2)) % 11) as f64 * 0.25 - 1.0);
        let rows = 300..2800;
        let weights: Vec<f64> = rows.clone().map(|i| 0.5 + (i % 7) as f64 / 3.0).collect();
        let z = Matrix::from_fn(rows.len(), 2, |i, k| ((i + k) % 5) as f64 - 2.0);
        let (cross, products) = x.rows_crossprod(rows.clone(), &weights, &z);
        for r in 0..p {
            for s in 0..p {
                let sum: f64 = rows.clone().enumerate().map(|(l, i)| weights[l] * x[(i, r)] * x[(i, s)]).sum();
                assert!((cross[(r, s)] - sum).abs() < 1e-9 * sum.abs().max(1.0), "XᵀWX ({r}, {s})");
            }
            for k in 0..2 {
                let sum: f64 = rows.clone().enumerate().map(|(l, i)| x[(i, r)] * z[(l, k)]).sum();
                assert!((products[(r, k)] - sum).abs() < 1e-9 * sum.abs().max(1.0), "XᵀZ ({r}, {k})");
            }
        }
    }
}
