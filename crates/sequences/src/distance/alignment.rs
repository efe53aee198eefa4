//! The dynamic programmes of optimal matching and the longest common subsequence.

/// The substitution costs of every state against each position of `a`: entry `x * |a| + j` is
/// $c(x, a_j)$, so the inner loop of [`optimal_matching`] reads costs contiguously.
pub(super) fn profile(a: &[u8], substitution: &[f64], k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(k * a.len());
    for x in 0..k {
        out.extend(a.iter().map(|&y| substitution[x * k + y as usize]));
    }
    out
}

/// The optimal-matching distance between `a` (given by its [`profile`]) and `b`: Needleman and
/// Wunsch's recursion over `b`'s positions (rows) and `a`'s (columns), two rows kept.
pub(super) fn optimal_matching(
    a: &[u8],
    b: &[u8],
    profile: &[f64],
    indel: f64,
    rows: &mut (Vec<f64>, Vec<f64>),
) -> f64 {
    let m = a.len();
    let (previous, current) = rows;
    previous.clear();
    previous.extend((0..=m).map(|j| j as f64 * indel));
    current.clear();
    current.resize(m + 1, 0.0);
    for (i, &y) in b.iter().enumerate() {
        let costs = &profile[y as usize * m..(y as usize + 1) * m];
        current[0] = (i + 1) as f64 * indel;
        let mut left = current[0];
        for j in 0..m {
            let value = (previous[j] + costs[j]).min(previous[j + 1] + indel).min(left + indel);
            current[j + 1] = value;
            left = value;
        }
        std::mem::swap(previous, current);
    }
    previous[m]
}

/// The length of the longest common subsequence of `a` and `b`.
pub(super) fn longest_common_subsequence(a: &[u8], b: &[u8], row: &mut Vec<f64>) -> f64 {
    let m = a.len();
    row.clear();
    row.resize(m + 1, 0.0);
    for &y in b {
        let mut diagonal = 0.0;
        for j in 0..m {
            let above = row[j + 1];
            row[j + 1] = if a[j] == y { diagonal + 1.0 } else { above.max(row[j]) };
            diagonal = above;
        }
    }
    row[m]
}
