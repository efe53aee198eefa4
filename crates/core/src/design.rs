//! Model matrices with R's treatment contrasts, column names and column order.
//!
//! For each term, each factor in it is coded by treatment contrasts (dropping the first level)
//! when the term with that factor removed is also in the model (the empty term being the
//! intercept), and by indicators of every level otherwise: the rule of R's `model.matrix`
//! (Chambers & Hastie 1992, §2.4.1). Within an interaction the first variable varies fastest.

use crate::error::{Error, Result};
use crate::formula::{Expr, Terms};
use crate::model_frame::{ModelFrame, Values};
use crate::numerics::{aliased_columns, Matrix};
use serde::{Deserialize, Serialize};

/// A dense model matrix (column-major) with R's column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMatrix {
    /// The matrix, one row per complete observation.
    pub matrix: Matrix,
    /// Column names as R's `model.matrix` gives them.
    pub names: Vec<String>,
    /// For each column, the index of its term in [`Terms::terms`], `None` for the intercept.
    pub assign: Vec<Option<usize>>,
}

/// One factor of a model matrix column: a numeric variable, or the indicator of one level of a
/// factor.
#[derive(Clone, Copy)]
enum Component<'a> {
    Numeric(&'a [f64]),
    Indicator(&'a [u32], u32),
}

impl Component<'_> {
    fn at(self, row: usize) -> f64 {
        match self {
            Self::Numeric(values) => values[row],
            Self::Indicator(codes, level) => f64::from(u8::from(codes[row] == level)),
        }
    }
}

/// How one column of a model matrix is computed: the product of its components, left to right
/// (no component: the intercept's ones).
struct Recipe<'a>(Vec<Component<'a>>);

impl Recipe<'_> {
    /// Writes the column's rows from `first` on into `out`.
    fn write(&self, first: usize, out: &mut [f64]) {
        match self.0.as_slice() {
            [Component::Numeric(values)] => out.copy_from_slice(&values[first..first + out.len()]),
            components => {
                for (r, o) in out.iter_mut().enumerate() {
                    *o = components.iter().fold(1.0, |product, c| product * c.at(first + r));
                }
            }
        }
    }
}

/// One variable's contribution to a term: its columns and their name suffixes.
struct Part<'a> {
    columns: Vec<Recipe<'a>>,
    names: Vec<String>,
}

impl ModelMatrix {
    /// Builds the fixed-effects model matrix of `terms` on the evaluated `frame`.
    ///
    /// # Errors
    /// [`Error::ColumnType`] should a variable be unusable (never for numeric or factor
    /// variables, which is all evaluation produces).
    pub fn new(terms: &Terms, frame: &ModelFrame) -> Result<Self> {
        Self::build(terms, frame, true)
    }

    /// The model matrix of a model whose intercept the fixed effects absorb (fixest's `feols`
    /// and `fepois`): coded as [`ModelMatrix::new`] codes it, without the intercept's column.
    ///
    /// # Errors
    /// As [`ModelMatrix::new`].
    pub fn absorbing_intercept(terms: &Terms, frame: &ModelFrame) -> Result<Self> {
        Self::build(terms, frame, false)
    }

    /// The columns of `terms` coded as R codes them, with the intercept's column if
    /// `intercept_column` (and the formula has one). The columns are decided first, then
    /// written on every thread (each element alone, the same on any number of threads).
    fn build(terms: &Terms, frame: &ModelFrame, intercept_column: bool) -> Result<Self> {
        let n = frame.nrows();
        let mut recipes = Vec::new();
        let mut names = Vec::new();
        let mut assign = Vec::new();
        if terms.intercept && intercept_column {
            recipes.push(Recipe(Vec::new()));
            names.push("(Intercept)".to_string());
            assign.push(None);
        }
        // Without an intercept, the first main effect of a factor is coded by indicators of
        // every level (R's adjustment in `model.matrix`); all other rules assume an intercept.
        let full_main_effect = if terms.intercept {
            None
        } else {
            terms.terms.iter().position(|t| {
                t.variables.len() == 1
                    && matches!(frame.values(&terms.variables[t.variables[0]].expr), Values::Factor { .. })
            })
        };
        for (t, term) in terms.terms.iter().enumerate() {
            let mut parts = Vec::new();
            for &v in &term.variables {
                let variable = &terms.variables[v];
                let part = match frame.values(&variable.expr) {
                    Values::Numeric(values) => Part {
                        columns: vec![Recipe(vec![Component::Numeric(values)])],
                        names: vec![variable.label.clone()],
                    },
                    Values::Factor { levels, .. } if levels.len() < 2 => {
                        return Err(Error::InvalidArgument(format!(
                            "`{}` has {} level in the rows used ({}): contrasts can be applied only to factors with 2 or more levels",
                            variable.label,
                            levels.len(),
                            levels.first().map_or_else(|| "none".to_string(), |l| format!("`{l}`"))
                        )));
                    }
                    Values::Factor { codes, levels } => {
                        let others: Vec<usize> = term.variables.iter().copied().filter(|&u| u != v).collect();
                        let contrasts = if others.is_empty() {
                            full_main_effect != Some(t)
                        } else {
                            terms.terms.iter().any(|other| other.variables == others)
                        };
                        let first = usize::from(contrasts);
                        Part {
                            columns: (first..levels.len())
                                .map(|l| Recipe(vec![Component::Indicator(codes, l as u32)]))
                                .collect(),
                            names: levels[first..].iter().map(|level| format!("{}{level}", variable.label)).collect(),
                        }
                    }
                };
                parts.push(part);
            }
            // Combine the parts, the first varying fastest.
            let mut parts = parts.into_iter();
            let first = parts.next().expect("a term has a variable");
            let mut columns: Vec<Recipe> = first.columns;
            let mut labels: Vec<String> = first.names;
            for part in parts {
                let mut next_columns = Vec::with_capacity(columns.len() * part.columns.len());
                let mut next_labels = Vec::with_capacity(next_columns.capacity());
                for (column, name) in part.columns.iter().zip(&part.names) {
                    for (existing, label) in columns.iter().zip(&labels) {
                        next_columns.push(Recipe([&existing.0[..], &column.0[..]].concat()));
                        next_labels.push(format!("{label}:{name}"));
                    }
                }
                columns = next_columns;
                labels = next_labels;
            }
            for (column, label) in columns.into_iter().zip(labels) {
                recipes.push(column);
                names.push(label);
                assign.push(Some(t));
            }
        }
        let p = names.len();
        let mut data = vec![0.0; n * p];
        crate::parallel::for_each_part(&mut data, crate::parallel::threads(), |start, part| {
            // The part may start and end within columns: each column's stretch in turn.
            let mut k = 0;
            while k < part.len() {
                let (column, row) = ((start + k) / n, (start + k) % n);
                let rows = (n - row).min(part.len() - k);
                recipes[column].write(row, &mut part[k..k + rows]);
                k += rows;
            }
        });
        Ok(Self { matrix: Matrix::from_column_major(n, p, data), names, assign })
    }

    /// Which columns are linearly dependent on earlier ones (R's `NA` coefficients), by a
    /// Householder QR that sets aside a column whose remaining norm falls below `tolerance`
    /// times its original norm, as LINPACK's `dqrdc2` does in R's `lm` and `glm`.
    pub fn aliased(&self, tolerance: f64) -> Vec<bool> {
        aliased_columns(&self.matrix, tolerance)
    }

    /// The matrix without the columns flagged in `drop`.
    #[must_use]
    pub fn without(&self, drop: &[bool]) -> Self {
        let keep: Vec<usize> = (0..self.names.len()).filter(|&j| !drop[j]).collect();
        let mut data = Vec::with_capacity(keep.len() * self.matrix.nrows());
        for &j in &keep {
            data.extend_from_slice(self.matrix.column(j));
        }
        Self {
            matrix: Matrix::from_column_major(self.matrix.nrows(), keep.len(), data),
            names: keep.iter().map(|&j| self.names[j].clone()).collect(),
            assign: keep.iter().map(|&j| self.assign[j]).collect(),
        }
    }
}

/// Every expression a model needs evaluated: the response parts, the fixed and random
/// variables, offsets and grouping factors, and any `extra` ones (survival times, weights).
pub fn model_expressions<'a>(terms: &'a Terms, extra: &[&'a Expr]) -> Vec<&'a Expr> {
    let mut exprs: Vec<&Expr> = extra.to_vec();
    exprs.extend(terms.variables.iter().map(|v| &v.expr));
    exprs.extend(terms.offsets.iter());
    for random in &terms.random {
        exprs.extend(random.terms.variables.iter().map(|v| &v.expr));
        exprs.extend(random.group.iter());
    }
    for special in &terms.specials {
        exprs.extend(special.arguments.iter());
    }
    exprs
}

/// The expressions a prediction from `terms` needs on new data: the variables of the fixed
/// terms (not the response) and the offsets.
pub fn covariate_expressions(terms: &Terms) -> Vec<&Expr> {
    let mut used: Vec<usize> = terms.terms.iter().flat_map(|t| t.variables.iter().copied()).collect();
    used.sort_unstable();
    used.dedup();
    let mut exprs: Vec<&Expr> = used.iter().map(|&v| &terms.variables[v].expr).collect();
    exprs.extend(terms.offsets.iter());
    exprs
}

/// The sum of the offsets on the complete rows (zeros when there are none).
///
/// # Errors
/// [`Error::ColumnType`] if an offset is categorical.
pub fn offset_values(terms: &Terms, frame: &ModelFrame) -> Result<Vec<f64>> {
    let mut total = vec![0.0; frame.nrows()];
    for offset in &terms.offsets {
        for (t, v) in total.iter_mut().zip(frame.numeric(offset)?) {
            *t += v;
        }
    }
    Ok(total)
}

/// Checks that a model with `p` coefficients can be estimated from `n` observations.
///
/// # Errors
/// [`Error::Singular`] when `n < p`.
pub fn check_estimable(n: usize, p: usize) -> Result<()> {
    if n < p {
        return Err(Error::Singular(format!("{n} complete observations for {p} coefficients")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::Formula;
    use crate::frame::DataFrame;

    fn matrix(text: &str, frame: &DataFrame) -> ModelMatrix {
        let formula = Formula::parse(text).unwrap();
        let terms = formula.terms().unwrap();
        let model_frame = ModelFrame::new(frame, &model_expressions(&terms, &[])).unwrap();
        ModelMatrix::new(&terms, &model_frame).unwrap()
    }

    fn frame() -> DataFrame {
        DataFrame::new()
            .with_floats("x", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            .unwrap()
            .with_levels("a", &["p", "q", "p", "q", "p", "q"])
            .unwrap()
            .with_levels("b", &["u", "u", "v", "v", "w", "w"])
            .unwrap()
            .with_floats("y", &[1.0; 6])
            .unwrap()
    }

    /// Written on every thread in parts that begin and end inside columns, the matrix holds
    /// each element as the product it codes.
    #[test]
    fn columns_cut_between_threads_hold_their_products() {
        let n = 40_001;
        let x: Vec<f64> = (0..n).map(|i| (i % 97) as f64 / 7.0 - 3.0).collect();
        let z: Vec<f64> = (0..n).map(|i| (i % 13) as f64 + 0.5).collect();
        let levels = ["p", "q", "r"];
        let a: Vec<&str> = (0..n).map(|i| levels[(i * 7) % 3]).collect();
        let frame = DataFrame::new()
            .with_floats("x", &x)
            .unwrap()
            .with_floats("z", &z)
            .unwrap()
            .with_levels("a", &a)
            .unwrap()
            .with_floats("y", &vec![1.0; n])
            .unwrap();
        let m = matrix("y ~ x * a + x:z", &frame);
        assert_eq!(m.names, ["(Intercept)", "x", "aq", "ar", "x:aq", "x:ar", "x:z"]);
        let is = |i: usize, level: &str| f64::from(u8::from(a[i] == level));
        for i in 0..n {
            let expected = [1.0, x[i], is(i, "q"), is(i, "r"), x[i] * is(i, "q"), x[i] * is(i, "r"), x[i] * z[i]];
            for (j, value) in expected.into_iter().enumerate() {
                assert_eq!(m.matrix[(i, j)], value, "row {i}, column {}", m.names[j]);
            }
        }
    }

    #[test]
    fn names_follow_model_matrix() {
        let frame = frame();
        assert_eq!(matrix("y ~ a*b", &frame).names, ["(Intercept)", "aq", "bv", "bw", "aq:bv", "aq:bw"]);
        assert_eq!(matrix("y ~ x + x:a", &frame).names, ["(Intercept)", "x", "x:aq"]);
        assert_eq!(matrix("y ~ x:a", &frame).names, ["(Intercept)", "x:ap", "x:aq"]);
        assert_eq!(matrix("y ~ 0 + a + b", &frame).names, ["ap", "aq", "bv", "bw"]);
        assert_eq!(
            matrix("y ~ a:b", &frame).names,
            ["(Intercept)", "ap:bu", "aq:bu", "ap:bv", "aq:bv", "ap:bw", "aq:bw"]
        );
        assert_eq!(matrix("y ~ a/x", &frame).names, ["(Intercept)", "aq", "ap:x", "aq:x"]);
        assert_eq!(matrix("y ~ log(x) + I(x^2)", &frame).names, ["(Intercept)", "log(x)", "I(x^2)"]);
    }

    #[test]
    fn columns_hold_dummies_and_products() {
        let m = matrix("y ~ x*a", &frame());
        assert_eq!(m.matrix.column(2), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(m.matrix.column(3), [0.0, 2.0, 0.0, 4.0, 0.0, 6.0]);
        assert_eq!(m.assign, [None, Some(0), Some(1), Some(2)]);
    }

    /// Absorbing the intercept keeps the intercept's coding (treatment contrasts), as fixest
    /// codes a factor beside fixed effects, and drops only its column.
    #[test]
    fn an_absorbed_intercept_keeps_its_coding() {
        let formula = Formula::parse("y ~ x*a").unwrap();
        let terms = formula.terms().unwrap();
        let model_frame = ModelFrame::new(&frame(), &model_expressions(&terms, &[])).unwrap();
        let full = ModelMatrix::new(&terms, &model_frame).unwrap();
        let absorbed = ModelMatrix::absorbing_intercept(&terms, &model_frame).unwrap();
        assert_eq!(absorbed.names, full.names[1..]);
        assert_eq!(absorbed.assign, full.assign[1..]);
        for j in 0..absorbed.names.len() {
            assert_eq!(absorbed.matrix.column(j), full.matrix.column(j + 1));
        }
    }

    #[test]
    fn aliased_columns_are_detected_as_r() {
        let frame = frame().with_floats("z", &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0]).unwrap();
        let m = matrix("y ~ x + z + a", &frame);
        assert_eq!(m.aliased(1e-7), [false, false, true, false]);
        assert_eq!(matrix("y ~ a:b", &frame).aliased(1e-7), [false, false, false, false, false, false, true]);
    }
}
