//! Symmetric dissimilarity matrices stored as their upper triangle.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A symmetric matrix with a zero diagonal, stored as the upper triangle $d_{ij}$, $i < j$, in
/// row-major order — R's `dist` object holds the same numbers column by column of the lower
/// triangle, which is this order too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condensed {
    n: usize,
    values: Vec<f64>,
}

impl Condensed {
    /// The matrix of `n` objects from its `n(n-1)/2` upper-triangle values.
    ///
    /// # Errors
    /// [`Error::Length`] when `values` has the wrong length; [`Error::Cost`] for a negative or
    /// non-finite value.
    pub fn new(n: usize, values: Vec<f64>) -> Result<Self> {
        let expected = n * n.saturating_sub(1) / 2;
        if values.len() != expected {
            return Err(Error::Length { what: "the condensed distances".into(), expected, found: values.len() });
        }
        if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::Cost(format!("a distance is {v}; distances must be finite and not negative")));
        }
        Ok(Self { n, values })
    }

    /// Builds the matrix from `distance(i, j)` for every `i < j`, assuming it valid.
    pub(crate) fn from_parts(n: usize, values: Vec<f64>) -> Self {
        debug_assert_eq!(values.len(), n * n.saturating_sub(1) / 2);
        Self { n, values }
    }

    /// The upper triangle, mutable, for algorithms that update distances in place.
    pub(crate) fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// The number of objects.
    pub fn size(&self) -> usize {
        self.n
    }

    /// The upper triangle, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The position of $d_{ij}$, $i < j$, in [`values`](Self::values).
    pub fn index(&self, i: usize, j: usize) -> usize {
        debug_assert!(i < j && j < self.n);
        i * self.n - i * (i + 1) / 2 + (j - i - 1)
    }

    /// $d_{ij}$ (zero when `i == j`).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        match i.cmp(&j) {
            std::cmp::Ordering::Equal => 0.0,
            std::cmp::Ordering::Less => self.values[self.index(i, j)],
            std::cmp::Ordering::Greater => self.values[self.index(j, i)],
        }
    }

    /// The distances among objects expanded from distances among their distinct values:
    /// object `i` stands for distinct value `of[i]`.
    #[must_use]
    pub fn expand(&self, of: &[usize]) -> Self {
        let n = of.len();
        let mut values = Vec::with_capacity(n * n.saturating_sub(1) / 2);
        for i in 0..n {
            values.extend(((i + 1)..n).map(|j| self.get(of[i], of[j])));
        }
        Self { n, values }
    }
}

/// The distances between points on a line, for tests.
#[cfg(test)]
pub(crate) fn on_a_line(x: &[f64]) -> Condensed {
    let mut values = Vec::new();
    for i in 0..x.len() {
        values.extend(((i + 1)..x.len()).map(|j| (x[i] - x[j]).abs()));
    }
    Condensed::from_parts(x.len(), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_run_row_by_row() {
        let d = Condensed::new(4, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(d.get(0, 3), 3.0);
        assert_eq!(d.get(2, 1), 4.0);
        assert_eq!(d.get(2, 3), 6.0);
        assert_eq!(d.get(1, 1), 0.0);
        let e = d.expand(&[0, 0, 3]);
        assert_eq!(e.values(), [0.0, 3.0, 3.0]);
        assert!(Condensed::new(3, vec![1.0]).is_err());
        assert!(Condensed::new(2, vec![f64::NAN]).is_err());
    }
}
