//! The Greenwood-type covariance of the Aalen–Johansen estimate, carried from one transition
//! time to the next.

use strata_core::numerics::Matrix;

/// The covariance of vec P(0, t), k² × k², indexed by pairs of entries.
pub(super) struct Covariance {
    k: usize,
    values: Vec<f64>,
}

impl Covariance {
    pub(super) fn zeros(k: usize) -> Self {
        Self { k, values: vec![0.0; k.pow(4)] }
    }

    fn index(&self, i: usize, j: usize, l: usize, m: usize) -> usize {
        let k = self.k;
        ((i * k + j) * k + l) * k + m
    }

    /// cov(P_ij, P_lm).
    pub(super) fn get(&self, i: usize, j: usize, l: usize, m: usize) -> f64 {
        self.values[self.index(i, j, l, m)]
    }

    /// From cov(vec P(t−)) to cov(vec P(t)), with `p` = P(t−), `step` = I + dA, and the moves
    /// and numbers at risk at t (the recursion of the module documentation).
    pub(super) fn advance(&mut self, p: &Matrix, step: &Matrix, moves: &Matrix, at_risk: &[f64]) {
        let k = self.k;
        // The propagated part: Σ'(ij, lm) = Σ_a Σ_b B_aj B_bm Σ(ia, lb), in two passes.
        let mut half = vec![0.0; k.pow(4)];
        for i in 0..k {
            for a in 0..k {
                for l in 0..k {
                    for m in 0..k {
                        half[self.index(i, a, l, m)] = (0..k).map(|b| self.get(i, a, l, b) * step[(b, m)]).sum();
                    }
                }
            }
        }
        let mut next = vec![0.0; k.pow(4)];
        for i in 0..k {
            for j in 0..k {
                for l in 0..k {
                    for m in 0..k {
                        next[self.index(i, j, l, m)] =
                            (0..k).map(|a| step[(a, j)] * half[self.index(i, a, l, m)]).sum();
                    }
                }
            }
        }
        // The new increments: rows of dA are independent, each multinomial.
        for a in 0..k {
            let n = at_risk[a];
            let out: f64 = (0..k).filter(|&s| s != a).map(|s| moves[(a, s)]).sum();
            if out == 0.0 {
                continue;
            }
            // The signed counts of row a: d_as off the diagonal, −d_a· on it.
            let signed = |s: usize| if s == a { -out } else { moves[(a, s)] };
            // cov(dA_aj, dA_am) = (δ_jm d_aj n − d_aj d_am)/n³ off the diagonal; by linearity
            // the same form with signed counts holds when j or m is a, except that the δ term
            // becomes −d_am (j = a ≠ m), or d_a· (j = m = a).
            let increment = |j: usize, m: usize| {
                let delta = match (j == a, m == a) {
                    (false, false) => {
                        if j == m {
                            moves[(a, j)]
                        } else {
                            0.0
                        }
                    }
                    (true, false) => -moves[(a, m)],
                    (false, true) => -moves[(a, j)],
                    (true, true) => out,
                };
                (delta * n - signed(j) * signed(m)) / n.powi(3)
            };
            for i in 0..k {
                for l in 0..k {
                    let weight = p[(i, a)] * p[(l, a)];
                    if weight == 0.0 {
                        continue;
                    }
                    for j in 0..k {
                        for m in 0..k {
                            next[self.index(i, j, l, m)] += weight * increment(j, m);
                        }
                    }
                }
            }
        }
        self.values = next;
    }
}
