//! Dense codes for keys: the rank of each distinct key among all of them (the levels of
//! combined fixed effects, the combinations of survival strata, clusters by their labels), and
//! the span of whole-number values that a counting sort by value tallies over.

/// The rank of each distinct key among all of them: a table over the keys' range when it is
/// small (linear time), else a sorted list searched by bisection.
///
/// # Examples
/// ```
/// use strata_core::ranks::RankTable;
/// let keys = [30, 10, 30, 20];
/// let table = RankTable::new(keys.iter().copied(), keys.len());
/// assert_eq!(keys.map(|k| table.rank(k)), [2, 0, 2, 1]);
/// assert_eq!(table.distinct(), [10, 20, 30]);
/// ```
pub enum RankTable {
    /// Ranks by the keys' offsets from the lowest.
    Table {
        /// The lowest key.
        low: u64,
        /// The rank of the key `low + k` at `k` (`u32::MAX` where no key is).
        ranks: Vec<u32>,
    },
    /// The distinct keys in order.
    Sorted(Vec<u64>),
}

impl RankTable {
    /// The table of `keys` (`count` of them, possibly repeated).
    pub fn new(keys: impl Iterator<Item = u64> + Clone, count: usize) -> Self {
        let (low, high) = keys.clone().fold((u64::MAX, 0), |(l, h), k| (l.min(k), h.max(k)));
        if low <= high && high - low <= (4 * count as u64).max(1 << 16) {
            let mut ranks = vec![u32::MAX; (high - low + 1) as usize];
            for k in keys {
                ranks[(k - low) as usize] = 0;
            }
            let mut next = 0;
            for r in &mut ranks {
                if *r == 0 {
                    *r = next;
                    next += 1;
                }
            }
            return Self::Table { low, ranks };
        }
        let mut distinct: Vec<u64> = keys.collect();
        distinct.sort_unstable();
        distinct.dedup();
        Self::Sorted(distinct)
    }

    /// The distinct keys in the order of their ranks.
    pub fn distinct(&self) -> Vec<u64> {
        match self {
            Self::Table { low, ranks } => {
                (0..ranks.len() as u64).filter(|&k| ranks[k as usize] != u32::MAX).map(|k| low + k).collect()
            }
            Self::Sorted(distinct) => distinct.clone(),
        }
    }

    /// The rank of `key`, which must be one of the keys the table was made from.
    pub fn rank(&self, key: u64) -> u32 {
        match self {
            Self::Table { low, ranks } => ranks[(key - low) as usize],
            Self::Sorted(distinct) => distinct.binary_search(&key).unwrap_or(0) as u32,
        }
    }
}

/// Each label's code by the distinct labels' sorted order, and how many distinct labels there
/// are (clusters of robust standard errors).
///
/// # Examples
/// ```
/// use strata_core::ranks::label_codes;
/// let labels = ["b", "a", "b", "c"].map(String::from);
/// assert_eq!(label_codes(&labels), (vec![1, 0, 1, 2], 3));
/// ```
pub fn label_codes(labels: &[String]) -> (Vec<u32>, usize) {
    let mut distinct: Vec<&String> = labels.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let codes = labels.iter().map(|l| distinct.binary_search(&l).map_or(0, |k| k as u32)).collect();
    (codes, distinct.len())
}

/// The lowest of `values` and how many whole numbers lie from it to the highest, when every
/// value is a whole number (below 2⁵³ in size, where each is exact) and that span is at most
/// `limit`: the table of a counting sort by value (days, months). `None` otherwise, or for no
/// values.
///
/// # Examples
/// ```
/// use strata_core::ranks::whole_number_span;
/// assert_eq!(whole_number_span([3.0, -1.0, 7.0].into_iter(), 100), Some((-1.0, 9)));
/// assert_eq!(whole_number_span([3.0, 0.5].into_iter(), 100), None);
/// assert_eq!(whole_number_span([0.0, 1e9].into_iter(), 100), None);
/// ```
pub fn whole_number_span(values: impl Iterator<Item = f64>, limit: usize) -> Option<(f64, usize)> {
    const WHOLE: f64 = 9_007_199_254_740_992.0;
    let (low, high) = values.into_iter().try_fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
        (v.fract() == 0.0 && v.abs() < WHOLE).then(|| (low.min(v), high.max(v)))
    })?;
    (low <= high && high - low < limit as f64).then(|| (low, (high - low) as usize + 1))
}

#[cfg(test)]
mod tests {
    use super::RankTable;

    /// Keys are ranked among the distinct keys present, through the table (keys over a short
    /// range) and by bisection (keys far apart).
    #[test]
    fn keys_are_ranked_among_those_present() {
        let near: Vec<u64> = (0..5_000u64).map(|i| (i * 7_919) % 1_013 * 3).collect();
        let far: Vec<u64> = near.iter().map(|&k| if k % 2 == 0 { k } else { k + (1 << 40) }).collect();
        for keys in [near, far] {
            let mut present = keys.clone();
            present.sort_unstable();
            present.dedup();
            let table = RankTable::new(keys.iter().copied(), keys.len());
            assert_eq!(matches!(table, RankTable::Table { .. }), keys.iter().all(|&k| k < 1 << 40));
            let ranks: Vec<u32> = keys.iter().map(|&k| table.rank(k)).collect();
            let expected: Vec<u32> = keys.iter().map(|k| present.binary_search(k).unwrap() as u32).collect();
            assert_eq!(ranks, expected);
            assert_eq!(table.distinct(), present);
        }
        assert!(RankTable::new(std::iter::empty(), 0).distinct().is_empty());
    }
}
