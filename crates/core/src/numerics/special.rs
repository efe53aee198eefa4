//! Special functions statrs lacks or that need R's accuracy.

/// The trigamma function `ψ'(x)`, for `x > 0`: the recurrence `ψ'(x) = ψ'(x + 1) + 1/x²` up to
/// `x ≥ 10`, then the asymptotic series (Abramowitz & Stegun 6.4.12), accurate to about 1e-15.
pub fn trigamma(mut x: f64) -> f64 {
    let mut total = 0.0;
    while x < 10.0 {
        total += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    // 1/x + 1/(2x²) + 1/(6x³) − 1/(30x⁵) + 1/(42x⁷) − 1/(30x⁹) + 5/(66x¹¹) − 691/(2730x¹³) + 7/(6x¹⁵)
    let series = 1.0 / x
        + x2 / 2.0
        + (1.0 / x)
            * x2
            * (1.0 / 6.0
                + x2 * (-1.0 / 30.0
                    + x2 * (1.0 / 42.0
                        + x2 * (-1.0 / 30.0 + x2 * (5.0 / 66.0 + x2 * (-691.0 / 2730.0 + x2 * 7.0 / 6.0))))));
    total + series
}

/// The digamma function `ψ(x)` (statrs' implementation).
pub fn digamma(x: f64) -> f64 {
    statrs::function::gamma::digamma(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_matches_r() {
        // trigamma(c(0.5, 1, 2.5, 10, 100)) in R.
        let expected = [
            4.934_802_200_544_679,
            1.644_934_066_848_226_4,
            0.490_357_756_100_234_6,
            0.105_166_335_681_685_6,
            0.010_050_166_663_333_57,
        ];
        for (x, e) in [0.5, 1.0, 2.5, 10.0, 100.0].into_iter().zip(expected) {
            assert!((trigamma(x) - e).abs() < 1e-14 * e.max(1.0), "trigamma({x}) = {}", trigamma(x));
        }
    }
}
