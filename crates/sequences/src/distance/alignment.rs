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

/// Bit-parallel longest common subsequence (Allison and Dix 1986; Hyyrö 2004): `a` is held as one
/// bit per position and each state of `b` updates all of them with a few word operations, so a
/// pair of sequences of length 36 costs 36 steps instead of 36².
#[derive(Debug, Clone)]
pub(super) struct BitParallel {
    blocks: usize,
    length: usize,
    /// `masks[x * blocks + w]`: bit `j` of word `w` is set where `a[64 w + j] == x`.
    masks: Vec<u64>,
    state: Vec<u64>,
}

impl BitParallel {
    pub(super) fn new(a: &[u8], k: usize) -> Self {
        let blocks = a.len().div_ceil(64).max(1);
        let mut masks = vec![0u64; k * blocks];
        for (j, &x) in a.iter().enumerate() {
            masks[x as usize * blocks + j / 64] |= 1 << (j % 64);
        }
        Self { blocks, length: a.len(), masks, state: vec![0; blocks] }
    }

    /// The length of the longest common subsequence of `a` and `b`.
    pub(super) fn common(&mut self, b: &[u8]) -> usize {
        if self.blocks == 1 {
            let mut v = [u64::MAX];
            self.single_word_lanes(&[b], &mut v);
            return self.zeros(&v);
        }
        let blocks = self.blocks;
        self.state.fill(u64::MAX);
        for &y in b {
            let mask = &self.masks[y as usize * blocks..(y as usize + 1) * blocks];
            let mut carry = 0u64;
            for (v, &m) in self.state.iter_mut().zip(mask) {
                let u = *v & m;
                let (sum, overflow_a) = v.overflowing_add(u);
                let (sum, overflow_b) = sum.overflowing_add(carry);
                carry = u64::from(overflow_a || overflow_b);
                *v = sum | (*v & !u);
            }
        }
        let state = std::mem::take(&mut self.state);
        let zeros = self.zeros(&state);
        self.state = state;
        zeros
    }

    /// The longest common subsequences of `a` with each of `LANES` sequences of one length, when
    /// `a` fits one word: the lanes' updates are independent, so the processor overlaps them.
    pub(super) fn common_lanes<const LANES: usize>(&self, bs: &[&[u8]; LANES]) -> Option<[usize; LANES]> {
        if self.blocks != 1 || bs.iter().any(|b| b.len() != bs[0].len()) {
            return None;
        }
        let mut v = [u64::MAX; LANES];
        self.single_word_lanes(bs, &mut v);
        Some(v.map(|v| self.zeros(&[v])))
    }

    fn single_word_lanes(&self, bs: &[&[u8]], v: &mut [u64]) {
        for t in 0..bs[0].len() {
            for (v, b) in v.iter_mut().zip(bs) {
                let u = *v & self.masks[b[t] as usize];
                *v = v.wrapping_add(u) | (*v & !u);
            }
        }
    }

    /// Zero bits among the first `length` positions: the length of the common subsequence.
    fn zeros(&self, state: &[u64]) -> usize {
        let mut zeros = 0;
        for (w, &v) in state.iter().enumerate() {
            let bits = (self.length - 64 * w).min(64);
            let valid = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            zeros += (!v & valid).count_ones() as usize;
        }
        zeros
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_parallel_lcs_equals_the_alignment_recursion_across_word_boundaries() {
        let mut rng = strata_core::random::Rng::new(3);
        let k = 4;
        let substitution: Vec<f64> = (0..k * k).map(|e| if e / k == e % k { 0.0 } else { 2.0 }).collect();
        for _ in 0..200 {
            let la = 1 + rng.index(150);
            let lb = 1 + rng.index(150);
            let a: Vec<u8> = (0..la).map(|_| rng.index(k) as u8).collect();
            let b: Vec<u8> = (0..lb).map(|_| rng.index(k) as u8).collect();
            let dp = optimal_matching(&a, &b, &profile(&a, &substitution, k), 1.0, &mut (Vec::new(), Vec::new()));
            let common = BitParallel::new(&a, k).common(&b);
            assert_eq!(dp, (la + lb - 2 * common) as f64, "{la} × {lb}");
        }
        // Eight sequences of one length at once, against one that fits a word.
        let a: Vec<u8> = (0..40).map(|_| rng.index(k) as u8).collect();
        let bs: Vec<Vec<u8>> = (0..8).map(|_| (0..33).map(|_| rng.index(k) as u8).collect()).collect();
        let refs: [&[u8]; 8] = std::array::from_fn(|i| bs[i].as_slice());
        let mut one = BitParallel::new(&a, k);
        let lanes = one.common_lanes(&refs).expect("one word, one length");
        for (b, lane) in bs.iter().zip(lanes) {
            assert_eq!(lane, one.common(b));
        }
    }
}
