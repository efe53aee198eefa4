//! Dense codes: the rank of each distinct key among all of them (the levels of combined fixed
//! effects, the combinations of survival strata, clusters by their labels), the dense ranks of
//! numbers (a concordance's scores), and the span of whole-number values that a counting sort by
//! value tallies over.

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

/// The dense rank of each of `values` (0 for the least; equal values share a rank, `-0.0` and
/// `0.0` among them) and how many distinct values there are. From 65,536 values on, with more
/// than one thread, each half is sorted on a thread of its own and the ranks are read off in one
/// walk merging the halves (no merged copy is made); the ranks do not depend on the threads.
///
/// # Examples
/// ```
/// use strata_core::ranks::dense_ranks;
/// assert_eq!(dense_ranks(&[2.5, -1.0, 2.5, 0.0, -0.0], 2), (vec![2, 0, 2, 1, 1], 3));
/// ```
pub fn dense_ranks(values: &[f64], threads: usize) -> (Vec<usize>, usize) {
    const PARALLEL_RANKS: usize = 1 << 16;
    let n = values.len();
    let sorted = |range: std::ops::Range<usize>| {
        let mut keyed: Vec<(f64, usize)> = values[range.clone()].iter().copied().zip(range).collect();
        keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        keyed
    };
    let halves = if threads > 1 && n >= PARALLEL_RANKS {
        crate::parallel::map_in_order(2, 2, |half| sorted(if half == 0 { 0..n / 2 } else { n / 2..n }))
    } else {
        vec![sorted(0..n), Vec::new()]
    };
    let (first, second) = (&halves[0], &halves[1]);
    let mut ranks = vec![0; n];
    let (mut i, mut j) = (0, 0);
    let mut distinct = 0;
    let mut last = None;
    while i < first.len() || j < second.len() {
        let from_first = j == second.len() || (i < first.len() && first[i].0.total_cmp(&second[j].0).is_le());
        let (value, index) = if from_first {
            i += 1;
            first[i - 1]
        } else {
            j += 1;
            second[j - 1]
        };
        if last.is_some_and(|last| value != last) {
            distinct += 1;
        }
        last = Some(value);
        ranks[index] = distinct;
    }
    (ranks, if n == 0 { 0 } else { distinct + 1 })
}

/// The lowest of `values` (one or more slices) and how many whole numbers lie from it to the
/// highest, when every value is a whole number (below 2⁵² in size) and that span is at most
/// `limit`: the table of a counting sort by value (days, months). `None` otherwise, or for no
/// values.
///
/// # Examples
/// ```
/// use strata_core::ranks::whole_number_span;
/// assert_eq!(whole_number_span(&[&[3.0, -1.0, 7.0]], 100), Some((-1.0, 9)));
/// assert_eq!(whole_number_span(&[&[3.0], &[0.5]], 100), None);
/// assert_eq!(whole_number_span(&[&[0.0, 1e9]], 100), None);
/// ```
pub fn whole_number_span(values: &[&[f64]], limit: usize) -> Option<(f64, usize)> {
    let (low, high) = values.iter().try_fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), values| {
        whole_range(values).map(|(l, h)| (low.min(l), high.max(h)))
    })?;
    (low <= high && high - low < limit as f64).then(|| (low, (high - low) as usize + 1))
}

/// The least and greatest of `values` if every one is a whole number below 2⁵² in magnitude
/// (±∞ when there are none), else `None`. A magnitude below 2⁵² is whole when adding 2⁵² (which
/// rounds it to a whole number) and taking 2⁵² away gives it back: plain arithmetic, where
/// `fract` calls the library's `trunc` on targets before SSE4.1. Eight lanes carry the
/// extremes, so that no comparison waits on the one before it.
fn whole_range(values: &[f64]) -> Option<(f64, f64)> {
    const ROUNDING: f64 = 4_503_599_627_370_496.0;
    const LANES: usize = 8;
    let (mut low, mut high, mut whole) = ([f64::INFINITY; LANES], [f64::NEG_INFINITY; LANES], [true; LANES]);
    let mut take = |lane: usize, v: f64| {
        low[lane] = low[lane].min(v);
        high[lane] = high[lane].max(v);
        let size = v.abs();
        whole[lane] &= size < ROUNDING && (size + ROUNDING) - ROUNDING == size;
    };
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in chunk.iter().enumerate() {
            take(lane, v);
        }
    }
    for (lane, &v) in chunks.remainder().iter().enumerate() {
        take(lane, v);
    }
    whole.iter().all(|&w| w).then(|| {
        (low.iter().copied().fold(f64::INFINITY, f64::min), high.iter().copied().fold(f64::NEG_INFINITY, f64::max))
    })
}

#[cfg(test)]
mod tests {
    use super::{dense_ranks, RankTable};

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

    /// Dense ranks from the halves sorted apart and merged are those of one sort, on any number
    /// of threads, with ties (zeros of both signs among them) across the halves.
    #[test]
    fn dense_ranks_do_not_depend_on_the_threads() {
        let values: Vec<f64> = (0..200_003u64)
            .map(|i| match (i * 2_654_435_761) % 1_000 {
                0 => -0.0,
                1 => 0.0,
                k => (k as f64 - 500.0) / 7.0,
            })
            .collect();
        let mut distinct = values.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup_by(|a, b| a == b);
        let expected: Vec<usize> = values.iter().map(|v| distinct.partition_point(|d| d < v)).collect();
        for threads in [1, 2, 3] {
            assert_eq!(dense_ranks(&values, threads), (expected.clone(), distinct.len()));
        }
        assert_eq!(dense_ranks(&[], 2), (Vec::new(), 0));
    }
}
