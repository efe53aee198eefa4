//! Values with a missing-value mask: the storage of a [`Column`](crate::Column).
//!
//! A column of a million numbers is a million `f64`s and, only if some are missing, a bit a row
//! saying which (Arrow's layout, with the bit meaning "missing" rather than "valid"). A missing
//! row's slot holds `T::default()`, so two columns with the same values and the same missing rows
//! are equal however they were built. The values are shared, not copied, by clones and by the
//! model frames that use a whole column ([`Masked::shared`]).

use std::sync::Arc;

/// Values of one type, each possibly missing.
///
/// # Examples
/// ```
/// use strata_core::masked::Masked;
/// let x: Masked<f64> = vec![Some(1.5), None, Some(3.0)].into();
/// assert_eq!(x.len(), 3);
/// assert_eq!(x.get(1), None);
/// assert_eq!(x.missing_count(), 1);
/// assert_eq!(x.iter().flatten().sum::<f64>(), 4.5);
/// assert_eq!(x.values(), [1.5, 0.0, 3.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Masked<T> {
    values: Arc<Vec<T>>,
    /// Bit `i % 64` of word `i / 64` is set where row `i` is missing; `None` when none is.
    missing: Option<Vec<u64>>,
}

impl<T: Copy + Default> Masked<T> {
    /// Values none of which is missing.
    pub fn from_values(values: Vec<T>) -> Self {
        Self { values: Arc::new(values), missing: None }
    }

    /// Values with the rows listed in `missing` (in any order, repeats allowed) marked missing;
    /// their slots are reset to `T::default()`.
    ///
    /// # Panics
    /// If a listed row is out of range.
    pub fn with_missing_rows(mut values: Vec<T>, missing: impl IntoIterator<Item = usize>) -> Self {
        let mut bits = vec![0u64; values.len().div_ceil(64)];
        let mut any = false;
        for i in missing {
            values[i] = T::default();
            bits[i / 64] |= 1 << (i % 64);
            any = true;
        }
        Self { values: Arc::new(values), missing: any.then_some(bits) }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether row `i` is missing.
    ///
    /// # Panics
    /// If `i` is out of range.
    #[inline]
    pub fn is_missing(&self, i: usize) -> bool {
        assert!(i < self.values.len(), "row {i} of {}", self.values.len());
        self.missing.as_ref().is_some_and(|bits| bits[i / 64] >> (i % 64) & 1 == 1)
    }

    /// Row `i`, `None` where it is missing.
    ///
    /// # Panics
    /// If `i` is out of range.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        (!self.is_missing(i)).then(|| self.values[i])
    }

    /// Every row in order, `None` where missing.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<T>> + '_ {
        (0..self.values.len()).map(|i| self.get(i))
    }

    /// The values, with `T::default()` in the missing rows' slots.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// Whether any row is missing.
    pub fn has_missing(&self) -> bool {
        self.missing.is_some()
    }

    /// Number of missing rows.
    pub fn missing_count(&self) -> usize {
        self.missing.as_ref().map_or(0, |bits| bits.iter().map(|w| w.count_ones() as usize).sum())
    }

    /// The smallest and largest of the present values as numbers (`None` if every row is
    /// missing; NaN is passed over by `f64::min` and `f64::max`).
    pub fn range(&self, number: impl Fn(&T) -> f64) -> Option<(f64, f64)> {
        let widen = |(lo, hi): (f64, f64), x: f64| (lo.min(x), hi.max(x));
        let empty = (f64::INFINITY, f64::NEG_INFINITY);
        let (lo, hi) = match &self.missing {
            None => self.values.iter().map(&number).fold(empty, widen),
            Some(_) => {
                (0..self.len()).filter(|&i| !self.is_missing(i)).map(|i| number(&self.values[i])).fold(empty, widen)
            }
        };
        (lo <= hi).then_some((lo, hi))
    }

    /// The values, without the mask (missing slots hold `T::default()`), copied only if they
    /// are shared.
    #[must_use]
    pub fn into_values(self) -> Vec<T> {
        Arc::try_unwrap(self.values).unwrap_or_else(|shared| shared.as_ref().clone())
    }

    /// The values, without the mask, shared rather than copied.
    #[must_use]
    pub fn shared(&self) -> Arc<Vec<T>> {
        Arc::clone(&self.values)
    }

    /// The values converted by `f`, missing where these are.
    #[must_use]
    pub fn map<U: Copy + Default + Send>(&self, f: impl Fn(T) -> U + Sync) -> Masked<U>
    where
        T: Send + Sync,
    {
        let mut values = vec![U::default(); self.values.len()];
        crate::parallel::fill(&mut values, crate::parallel::threads(), |i| {
            if self.is_missing(i) {
                U::default()
            } else {
                f(self.values[i])
            }
        });
        Masked { values: Arc::new(values), missing: self.missing.clone() }
    }
}

impl<T: Copy + Default> FromIterator<Option<T>> for Masked<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Self {
        let mut missing = Vec::new();
        let values = iter
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.unwrap_or_else(|| {
                    missing.push(i);
                    T::default()
                })
            })
            .collect();
        Self::with_missing_rows(values, missing)
    }
}

impl<'a, T: Copy + Default> IntoIterator for &'a Masked<T> {
    type Item = Option<T>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Option<T>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<T: Copy + Default + 'static> IntoIterator for Masked<T> {
    type Item = Option<T>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Option<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new((0..self.len()).map(move |i| self.get(i)))
    }
}

impl<T: Copy + Default> From<Vec<Option<T>>> for Masked<T> {
    fn from(values: Vec<Option<T>>) -> Self {
        values.into_iter().collect()
    }
}

impl<T: Copy + Default> From<&[Option<T>]> for Masked<T> {
    fn from(values: &[Option<T>]) -> Self {
        values.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_whatever_the_construction() {
        let a: Masked<i64> = vec![Some(1), None, Some(3)].into();
        let b = Masked::with_missing_rows(vec![1, 99, 3], [1, 1]);
        assert_eq!(a, b);
        assert_eq!(Masked::from_values(vec![1, 2]), vec![Some(1), Some(2)].into());
        assert!(!Masked::<f64>::from_values(vec![1.0]).has_missing());
    }

    #[test]
    fn masks_span_words() {
        let x: Masked<u32> = (0..200).map(|i| (i % 67 != 0).then_some(i)).collect();
        assert_eq!(x.missing_count(), 3);
        assert!(x.is_missing(134) && !x.is_missing(135));
        assert_eq!(x.map(|v| f64::from(v) / 2.0).get(135), Some(67.5));
        assert_eq!(x.map(f64::from).get(67), None);
    }
}
