//! The random-effects structure: one block per random term, `Z` and the relative covariance
//! factor `Λθ` (Bates et al. 2015, §2.2–2.3).
//!
//! Term k has a grouping factor with ℓₖ levels and pₖ effects (its model-matrix columns). Its
//! part of `Z` has ℓₖ·pₖ columns, the pₖ effects of each level adjacent; its part of `Λθ` is ℓₖ
//! copies of a pₖ×pₖ lower-triangular `Tₖ` whose lower triangle, column by column, is its
//! part of θ, so that the covariance of its effects is σ²TₖTₖᵀ. Terms are ordered by
//! decreasing number of levels, as lme4 orders them.

use crate::error::{Error, Result};
use crate::lmm::{RandomEffect, VarianceComponent};
use serde::{Deserialize, Serialize};
use strata_core::design::ModelMatrix;
use strata_core::formula::Terms;
use strata_core::model_frame::ModelFrame;
use strata_core::numerics::{Matrix, SymmetricPattern};

/// One random-effects term after evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomBlock {
    /// The grouping factor's name (`Subject`, `cask:batch`).
    pub group: String,
    /// Level labels of the grouping factor.
    pub levels: Vec<String>,
    /// Level of each observation.
    pub codes: Vec<u32>,
    /// Names of the effects (`(Intercept)`, `Days`).
    pub names: Vec<String>,
    /// The effects' model matrix, n × pₖ.
    pub x: Matrix,
    /// Offset of this block's first column in `Z` (and in `u`).
    pub offset: usize,
    /// Offset of this block's first element in θ.
    pub theta_offset: usize,
}

impl RandomBlock {
    /// Number of effects per level.
    pub fn p(&self) -> usize {
        self.names.len()
    }

    /// Number of columns in `Z`.
    pub fn q(&self) -> usize {
        self.levels.len() * self.p()
    }

    /// Number of θ elements (the lower triangle of `Tₖ`).
    pub fn n_theta(&self) -> usize {
        self.p() * (self.p() + 1) / 2
    }

    /// The factor `Tₖ` from θ.
    pub fn factor(&self, theta: &[f64]) -> Matrix {
        let p = self.p();
        let mut t = Matrix::zeros(p, p);
        let mut k = self.theta_offset;
        for j in 0..p {
            for i in j..p {
                t[(i, j)] = theta[k];
                k += 1;
            }
        }
        t
    }
}

/// The conditional covariance of one level's random effects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelCovariance {
    /// The grouping factor.
    pub group: String,
    /// The level.
    pub level: String,
    /// The effects, in the order of the matrix's rows and columns.
    pub terms: Vec<String>,
    /// Their conditional covariance matrix.
    pub covariance: Vec<Vec<f64>>,
}

/// The most random effects outside the largest term when some term has several effects: they
/// form a dense matrix of this order.
const MAX_DENSE_EFFECTS: usize = 12_000;

/// Above this many effects outside the largest term, all-scalar models are solved as one sparse
/// system rather than by a dense Schur complement.
const SPARSE_EFFECTS: usize = 1_000;

/// How much more a sparse factorisation costs than a dense one of the same work (its
/// symbolic bookkeeping and smaller blocks), measured on crossed designs.
const SPARSE_OVERHEAD: f64 = 4.0;

/// The most entries the sparse Cholesky factor may hold (2 GB of numbers).
const MAX_FACTOR_ENTRIES: usize = 250_000_000;

/// Every random-effects term of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomEffects {
    /// The blocks, ordered as lme4 orders them.
    pub blocks: Vec<RandomBlock>,
    /// Where each observation's entries of the cross-products fall (computed once, reused by
    /// every weighted cross-product).
    pub(crate) layout: Layout,
}

/// How the cross-products of `Z` are stored, chosen once from the terms' shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Layout {
    /// The largest term eliminated first, its coupling to the others kept sparse, the rest dense.
    Coupled(Coupling),
    /// Every term scalar with many effects outside the largest: the lower triangle of `ZᵀZ` as
    /// one sparse pattern, factored with a fill-reducing ordering.
    Sparse(SparseLayout),
}

/// The sparsity pattern of the lower triangle of `ZᵀZ` for scalar terms, and for each
/// observation the position of each of its pairs of terms' entry (terms m < m′, pairs in the
/// order (0, 1), (0, 2), …, (1, 2), …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SparseLayout {
    pub pattern: SymmetricPattern,
    pub slots: Vec<u32>,
}

impl SparseLayout {
    pub(crate) fn new(blocks: &[RandomBlock], n: usize) -> Result<Self> {
        let q = blocks.iter().map(RandomBlock::q).sum();
        let effect = |block: &RandomBlock, i: usize| block.offset + block.codes[i] as usize;
        let mut columns: Vec<Vec<usize>> = vec![Vec::new(); q];
        for i in 0..n {
            for (m, first) in blocks.iter().enumerate() {
                let column = &mut columns[effect(first, i)];
                column.extend(blocks[m + 1..].iter().map(|other| effect(other, i)));
            }
        }
        let pattern = SymmetricPattern::from_columns(columns);
        let too_many =
            || Error::Specification(format!("{} entries of ZᵀZ are more than strata indexes", pattern.len()));
        let mut slots = Vec::with_capacity(n * blocks.len() * (blocks.len() - 1) / 2);
        for i in 0..n {
            for (m, first) in blocks.iter().enumerate() {
                for other in &blocks[m + 1..] {
                    let position = pattern.position(effect(other, i), effect(first, i)).expect("in the pattern");
                    slots.push(u32::try_from(position).map_err(|_| too_many())?);
                }
            }
        }
        Ok(Self { pattern, slots })
    }

    /// The layout for the observations reordered by `order`: the same pattern (and its
    /// analysis), the slots moved with their observations.
    fn permuted(&self, order: &[usize]) -> Self {
        let pairs = self.slots.len() / order.len().max(1);
        let slots = order.iter().flat_map(|&i| self.slots[i * pairs..(i + 1) * pairs].iter().copied()).collect();
        Self { pattern: self.pattern.clone(), slots }
    }
}

/// The sparsity pattern of `Z₂ᵀZ₁`: for each level j of the first block, the sorted rows
/// (among the other blocks' effects, whole levels at a time) it meets, and for each
/// observation and each of the other blocks' effects, the slot of its entry in that list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Coupling {
    /// The rows each level meets, level after level (one array: every PIRLS step pairs them
    /// with their values).
    pub entries: Vec<usize>,
    pub slots: Vec<u32>,
    /// Where each level's entries start.
    pub starts: Vec<usize>,
}

impl Coupling {
    fn new(blocks: &[RandomBlock]) -> Self {
        let first = &blocks[0];
        let (levels1, q1) = (first.levels.len(), first.q());
        let n = first.codes.len();
        let rest = &blocks[1..];
        // The other blocks' effects for observation i, as indices among them.
        let effects = |i: usize| {
            rest.iter().flat_map(move |b| (0..b.p()).map(move |r| b.offset - q1 + b.codes[i] as usize * b.p() + r))
        };
        let mut columns: Vec<Vec<usize>> = vec![Vec::new(); levels1];
        for i in 0..n {
            columns[first.codes[i] as usize].extend(effects(i));
        }
        for column in &mut columns {
            column.sort_unstable();
            column.dedup();
        }
        let mut slots = Vec::new();
        for i in 0..n {
            let column = &columns[first.codes[i] as usize];
            slots.extend(effects(i).map(|k| column.binary_search(&k).expect("present") as u32));
        }
        let mut starts = Vec::with_capacity(levels1 + 1);
        starts.push(0);
        for column in &columns {
            starts.push(starts[starts.len() - 1] + column.len());
        }
        Self { entries: columns.concat(), slots, starts }
    }
}

impl RandomEffects {
    /// Evaluates the random terms of `terms` on `frame`.
    ///
    /// # Errors
    /// [`Error::Specification`] without random terms; [`Error::Grouping`] for a grouping factor
    /// with as many levels as observations (the effects are not identifiable from the residual).
    pub fn new(terms: &Terms, frame: &ModelFrame) -> Result<Self> {
        if terms.random.is_empty() {
            return Err(Error::Specification("a mixed model needs a random-effect term such as (1 | group)".into()));
        }
        let n = frame.nrows();
        let mut blocks = Vec::new();
        for random in &terms.random {
            let (codes, levels) = frame.interaction(&random.group);
            let matrix = ModelMatrix::new(&random.terms, frame)?;
            if matrix.names.is_empty() {
                return Err(Error::Grouping {
                    group: random.group_label.clone(),
                    reason: "the term has no effects".into(),
                });
            }
            blocks.push(RandomBlock {
                group: random.group_label.clone(),
                levels,
                codes,
                names: matrix.names,
                x: matrix.matrix,
                offset: 0,
                theta_offset: 0,
            });
        }
        Self::from_blocks(blocks, n)
    }

    /// The random effects of `blocks` (each with its codes, levels, effect names and effects'
    /// matrix on the same `n` observations; offsets are set here), ordered as lme4 orders them.
    ///
    /// # Errors
    /// [`Error::Grouping`] for a grouping factor with one level, or with as many levels as
    /// observations; [`Error::Specification`] for more random effects outside the largest term
    /// than a dense factorisation holds (with a term of several effects), or for crossed
    /// intercept terms whose sparse factor would not fit in memory.
    pub(crate) fn from_blocks(mut blocks: Vec<RandomBlock>, n: usize) -> Result<Self> {
        blocks.sort_by_key(|b| std::cmp::Reverse(b.levels.len()));
        let (mut offset, mut theta_offset) = (0, 0);
        for block in &mut blocks {
            if block.levels.len() < 2 {
                return Err(Error::Grouping {
                    group: block.group.clone(),
                    reason:
                        "it has one level in the rows used; grouping factors must have more than one (lme4 stops too)"
                            .into(),
                });
            }
            if block.levels.len() >= n {
                return Err(Error::Grouping {
                    group: block.group.clone(),
                    reason: format!(
                        "{} levels for {n} observations: its variance cannot be told from the residual",
                        block.levels.len()
                    ),
                });
            }
            block.offset = offset;
            block.theta_offset = theta_offset;
            offset += block.q();
            theta_offset += block.n_theta();
        }
        let rest = offset - blocks[0].q();
        let scalar = blocks.iter().all(|b| b.p() == 1);
        if scalar && rest > SPARSE_EFFECTS {
            let layout = SparseLayout::new(&blocks, n)?;
            let sparse = layout.pattern.factor_work()?;
            let q1 = blocks[0].q();
            let coupling: f64 = (0..q1).map(|j| ((layout.pattern.rows(j).len() - 1) as f64).powi(2)).sum();
            let dense = (rest as f64).powi(3) / 3.0 + coupling;
            if rest > MAX_DENSE_EFFECTS || SPARSE_OVERHEAD * sparse < dense {
                let entries = layout.pattern.factor_len()?;
                if entries > MAX_FACTOR_ENTRIES {
                    let groups: Vec<&str> = blocks.iter().map(|b| b.group.as_str()).collect();
                    return Err(Error::Specification(format!(
                        "the levels of {} cross so widely that the sparse Cholesky factor of the random effects \
                         would hold {entries} entries ({:.1} GB): most levels of one factor meet most levels of \
                         another, so the factor is nearly dense; at most {MAX_FACTOR_ENTRIES} are supported",
                        groups.join(", "),
                        (entries * 8) as f64 / 1e9
                    )));
                }
                return Ok(Self { blocks, layout: Layout::Sparse(layout) });
            }
        }
        // Otherwise every solve eliminates the largest term and factors the rest as one dense
        // matrix.
        if rest > MAX_DENSE_EFFECTS {
            let others: Vec<&str> = blocks[1..].iter().map(|b| b.group.as_str()).collect();
            return Err(Error::Specification(format!(
                "the random effects of {} number {rest}; with a term of several effects strata factors all but \
                 the largest term's as one dense matrix, which would take {:.1} GB: at most {MAX_DENSE_EFFECTS} \
                 are supported (terms that are each a single effect, such as (1 | g), are solved sparse)",
                others.join(", "),
                (rest * rest * 8) as f64 / 1e9
            )));
        }
        Ok(Self { layout: Layout::Coupled(Coupling::new(&blocks)), blocks })
    }

    /// The same random effects for the observations reordered by `order` (position k holds
    /// the old observation `order[k]`).
    #[must_use]
    pub fn permuted(&self, order: &[usize]) -> Self {
        let blocks: Vec<RandomBlock> = self
            .blocks
            .iter()
            .map(|b| RandomBlock {
                codes: order.iter().map(|&i| b.codes[i]).collect(),
                x: Matrix::from_fn(order.len(), b.p(), |i, j| b.x[(order[i], j)]),
                ..b.clone()
            })
            .collect();
        let layout = match &self.layout {
            Layout::Coupled(_) => Layout::Coupled(Coupling::new(&blocks)),
            Layout::Sparse(layout) => Layout::Sparse(layout.permuted(order)),
        };
        Self { blocks, layout }
    }

    /// Total number of random effects q.
    pub fn q(&self) -> usize {
        self.blocks.iter().map(RandomBlock::q).sum()
    }

    /// Length of θ.
    pub fn n_theta(&self) -> usize {
        self.blocks.iter().map(RandomBlock::n_theta).sum()
    }

    /// lme4's starting θ: identity factors.
    pub fn initial_theta(&self) -> Vec<f64> {
        let mut theta = Vec::with_capacity(self.n_theta());
        for block in &self.blocks {
            for j in 0..block.p() {
                for i in j..block.p() {
                    theta.push(if i == j { 1.0 } else { 0.0 });
                }
            }
        }
        theta
    }

    /// Lower bounds of θ: zero on the diagonals of the factors, unbounded elsewhere.
    pub fn lower_bounds(&self) -> Vec<f64> {
        let mut lower = Vec::with_capacity(self.n_theta());
        for block in &self.blocks {
            for j in 0..block.p() {
                for i in j..block.p() {
                    lower.push(if i == j { 0.0 } else { f64::NEG_INFINITY });
                }
            }
        }
        lower
    }

    /// The non-zero entries of row `i` of `Z` as (column, value) pairs.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.blocks.iter().flat_map(move |b| {
            let start = b.offset + b.codes[i] as usize * b.p();
            (0..b.p()).map(move |j| (start + j, b.x[(i, j)]))
        })
    }

    /// The variances and covariances of every term's effects, $s^2 T_k T_k^\top$ at θ for a
    /// scale $s^2$ (σ² for a linear model, 1 for a GLMM), in lme4's
    /// `as.data.frame(VarCorr(fit))` order: each term's variances, then its covariances.
    pub fn variance_components(&self, theta: &[f64], scale2: f64) -> Vec<VarianceComponent> {
        let mut out = Vec::new();
        for block in &self.blocks {
            let t = block.factor(theta);
            let p = block.p();
            let cov = Matrix::from_fn(p, p, |i, j| scale2 * (0..p).map(|k| t[(i, k)] * t[(j, k)]).sum::<f64>());
            for i in 0..p {
                out.push(VarianceComponent {
                    group: block.group.clone(),
                    term1: Some(block.names[i].clone()),
                    term2: None,
                    vcov: cov[(i, i)],
                    sdcor: cov[(i, i)].sqrt(),
                });
            }
            for i in 0..p {
                for j in i + 1..p {
                    out.push(VarianceComponent {
                        group: block.group.clone(),
                        term1: Some(block.names[i].clone()),
                        term2: Some(block.names[j].clone()),
                        vcov: cov[(i, j)],
                        sdcor: cov[(i, j)] / (cov[(i, i)] * cov[(j, j)]).sqrt(),
                    });
                }
            }
        }
        out
    }

    /// The variance of each random intercept, by grouping factor, on the same scale as
    /// [`RandomEffects::variance_components`] (for the variance partition).
    pub fn intercept_variances(&self, theta: &[f64], scale2: f64) -> Vec<(String, f64)> {
        self.variance_components(theta, scale2)
            .into_iter()
            .filter(|c| c.term2.is_none() && c.term1.as_deref() == Some("(Intercept)"))
            .map(|c| (c.group, c.vcov))
            .collect()
    }

    /// The effects `b` (length q) labelled by group, level and term, with conditional standard
    /// deviations `scale · √v` from the conditional covariance blocks `covariances` (as
    /// `CrossProducts::conditional_covariances`, over the scale²).
    pub fn conditional_modes(&self, b: &[f64], covariances: &[f64], scale: f64) -> Vec<RandomEffect> {
        let mut out = Vec::with_capacity(b.len());
        let mut start = 0;
        for block in &self.blocks {
            let p = block.p();
            for (level, label) in block.levels.iter().enumerate() {
                for (j, name) in block.names.iter().enumerate() {
                    out.push(RandomEffect {
                        group: block.group.clone(),
                        level: label.clone(),
                        term: name.clone(),
                        value: b[block.offset + level * p + j],
                        std_error: covariances.get(start + j * p + j).map(|v| scale * v.sqrt()),
                    });
                }
                start += p * p;
            }
        }
        out
    }

    /// Each level's conditional covariance matrix of its random effects, `scale² ·` the blocks
    /// `covariances` (lme4's `attr(ranef(fit, condVar = TRUE)$g, "postVar")`).
    pub fn level_covariances(&self, covariances: &[f64], scale: f64) -> Vec<LevelCovariance> {
        let mut out = Vec::new();
        let mut start = 0;
        for block in &self.blocks {
            let p = block.p();
            for label in &block.levels {
                let matrix =
                    (0..p).map(|i| (0..p).map(|j| scale * scale * covariances[start + i * p + j]).collect()).collect();
                out.push(LevelCovariance {
                    group: block.group.clone(),
                    level: label.clone(),
                    terms: block.names.clone(),
                    covariance: matrix,
                });
                start += p * p;
            }
        }
        out
    }

    /// `out += Z b`.
    pub fn z_times_add(&self, b: &[f64], out: &mut [f64]) {
        // Rows in parts on every thread; each row adds the blocks in order, as on one thread.
        strata_core::parallel::for_each_part(out, strata_core::parallel::threads(), |first, part| {
            for block in &self.blocks {
                let p = block.p();
                for (r, o) in part.iter_mut().enumerate() {
                    let i = first + r;
                    let start = block.offset + block.codes[i] as usize * p;
                    for j in 0..p {
                        *o += block.x[(i, j)] * b[start + j];
                    }
                }
            }
        });
    }

    /// Row `i` of `Z b`: the blocks' terms added in order.
    pub fn z_row_times(&self, i: usize, b: &[f64]) -> f64 {
        let mut sum = 0.0;
        for block in &self.blocks {
            let p = block.p();
            let start = block.offset + block.codes[i] as usize * p;
            for j in 0..p {
                sum += block.x[(i, j)] * b[start + j];
            }
        }
        sum
    }

    /// `Λθᵀ v` for a vector of length q (Λ is block diagonal with blocks `Tₖ`).
    pub fn lambda_transpose_times(&self, theta: &[f64], v: &[f64]) -> Vec<f64> {
        self.block_diagonal_times(theta, v, true)
    }

    /// `Λθ v`.
    pub fn lambda_times(&self, theta: &[f64], v: &[f64]) -> Vec<f64> {
        self.block_diagonal_times(theta, v, false)
    }

    /// `Λθ v`, or `Λθᵀ v` with `transpose`: each level's slice of v times its block's `Tₖ`.
    fn block_diagonal_times(&self, theta: &[f64], v: &[f64], transpose: bool) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for block in &self.blocks {
            let factor = block.factor(theta);
            let t = if transpose { factor.transpose() } else { factor };
            let p = block.p();
            for level in 0..block.levels.len() {
                let base = block.offset + level * p;
                for i in 0..p {
                    out[base + i] = (0..p).map(|j| t[(i, j)] * v[base + j]).sum();
                }
            }
        }
        out
    }

    /// `Λθᵀ M Λθ` for a symmetric q×q matrix M.
    pub fn sandwich(&self, theta: &[f64], m: &Matrix) -> Matrix {
        let q = m.nrows();
        let mut left = Matrix::zeros(q, q);
        for j in 0..q {
            let column = self.lambda_transpose_times(theta, m.column(j));
            left.column_mut(j).copy_from_slice(&column);
        }
        // (Λᵀ M Λ)ᵀ = Λᵀ Mᵀ Λ = Λᵀ (Λᵀ M)ᵀ.
        let transposed = left.transpose();
        let mut out = Matrix::zeros(q, q);
        for j in 0..q {
            let column = self.lambda_transpose_times(theta, transposed.column(j));
            out.column_mut(j).copy_from_slice(&column);
        }
        out
    }

    /// `Λθᵀ M` for a q×k matrix M.
    pub fn lambda_transpose_matrix(&self, theta: &[f64], m: &Matrix) -> Matrix {
        let mut out = Matrix::zeros(m.nrows(), m.ncols());
        for j in 0..m.ncols() {
            let column = self.lambda_transpose_times(theta, m.column(j));
            out.column_mut(j).copy_from_slice(&column);
        }
        out
    }
}
