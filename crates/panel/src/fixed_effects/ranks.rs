//! Dense codes for keys: the rank of each distinct key among all of them.

/// The rank of each distinct key among all of them: a table over the keys' range when it is
/// small (linear time), else a sorted list searched by bisection.
pub(crate) enum RankTable {
    Table { low: u64, ranks: Vec<u32> },
    Sorted(Vec<u64>),
}

impl RankTable {
    /// The table of `keys` (`count` of them, possibly repeated).
    pub(crate) fn new(keys: impl Iterator<Item = u64> + Clone, count: usize) -> Self {
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
    pub(crate) fn distinct(&self) -> Vec<u64> {
        match self {
            Self::Table { low, ranks } => {
                (0..ranks.len() as u64).filter(|&k| ranks[k as usize] != u32::MAX).map(|k| low + k).collect()
            }
            Self::Sorted(distinct) => distinct.clone(),
        }
    }

    /// The rank of `key`, which must be one of the keys the table was made from.
    pub(crate) fn rank(&self, key: u64) -> u32 {
        match self {
            Self::Table { low, ranks } => ranks[(key - low) as usize],
            Self::Sorted(distinct) => distinct.binary_search(&key).unwrap_or(0) as u32,
        }
    }
}
