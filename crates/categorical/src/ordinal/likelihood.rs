//! One observation's contribution to a cumulative link likelihood and its derivatives.
//!
//! An observation in category $c$ has $P = F(a) - F(b)$ with upper bound
//! $a = \theta_c - \eta$ (infinite for the last category) and lower bound
//! $b = \theta_{c-1} - \eta$ (minus infinity for the first). With $f = F'$:
//! $\partial_a \log P = f(a)/P$, $\partial_b \log P = -f(b)/P$,
//! $\partial_a^2 \log P = f'(a)/P - (\partial_a \log P)^2$,
//! $\partial_b^2 \log P = -f'(b)/P - (\partial_b \log P)^2$ and
//! $\partial_a\partial_b \log P = -\partial_a \log P\,\partial_b \log P$.

use crate::link::CumulativeLink;

/// $\log P$ and its first and second derivatives in the bounds $a$ and $b$.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contribution {
    /// $\log P$ ($-\infty$ when the bounds are out of order).
    pub log_p: f64,
    /// $\partial_a \log P$.
    pub da: f64,
    /// $\partial_b \log P$.
    pub db: f64,
    /// $\partial_a^2 \log P$.
    pub daa: f64,
    /// $\partial_b^2 \log P$.
    pub dbb: f64,
    /// $\partial_a \partial_b \log P$.
    pub dab: f64,
}

/// The contribution of an observation with bounds `upper` = a and `lower` = b (`None` for
/// ±∞).
pub fn contribution(link: CumulativeLink, upper: Option<f64>, lower: Option<f64>) -> Contribution {
    let at_upper = upper.map(|a| link.values(a));
    let at_lower = lower.map(|b| link.values(b));
    let ordered = match (upper, lower) {
        (Some(a), Some(b)) => a > b,
        _ => true,
    };
    // P = F(a) − F(b), from the upper tail where b > 0 (no cancellation near one).
    let p = match (at_upper, at_lower) {
        _ if !ordered => 0.0,
        (Some(a), Some(b)) if lower.is_some_and(|b| b > 0.0) => b.survival - a.survival,
        (Some(a), Some(b)) => a.cdf - b.cdf,
        (Some(a), None) => a.cdf,
        (None, Some(b)) => b.survival,
        (None, None) => 1.0,
    };
    if !(p > 0.0) {
        return Contribution { log_p: f64::NEG_INFINITY, da: 0.0, db: 0.0, daa: 0.0, dbb: 0.0, dab: 0.0 };
    }
    let (fa, dfa) = at_upper.map_or((0.0, 0.0), |v| (v.density, v.density_derivative));
    let (fb, dfb) = at_lower.map_or((0.0, 0.0), |v| (v.density, v.density_derivative));
    let da = fa / p;
    let db = -fb / p;
    Contribution { log_p: p.ln(), da, db, daa: dfa / p - da * da, dbb: -dfb / p - db * db, dab: -da * db }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_agree_with_differences() {
        let h = 1e-5;
        for link in [CumulativeLink::Logit, CumulativeLink::Probit, CumulativeLink::Cloglog] {
            for (a, b) in [(Some(0.7), Some(-0.4)), (Some(2.0), None), (None, Some(-1.3)), (Some(4.0), Some(3.5))] {
                let c = contribution(link, a, b);
                if let Some(a) = a {
                    let up = contribution(link, Some(a + h), b);
                    let down = contribution(link, Some(a - h), b);
                    assert!(((up.log_p - down.log_p) / (2.0 * h) - c.da).abs() < 1e-7, "{link:?}");
                    assert!(((up.da - down.da) / (2.0 * h) - c.daa).abs() < 1e-6, "{link:?}");
                    assert!(((up.db - down.db) / (2.0 * h) - c.dab).abs() < 1e-6, "{link:?}");
                }
                if let Some(b) = b {
                    let up = contribution(link, a, Some(b + h));
                    let down = contribution(link, a, Some(b - h));
                    assert!(((up.log_p - down.log_p) / (2.0 * h) - c.db).abs() < 1e-7, "{link:?}");
                    assert!(((up.db - down.db) / (2.0 * h) - c.dbb).abs() < 1e-6, "{link:?}");
                }
            }
        }
    }
}
