//! A small seeded random number generator (SplitMix64, Steele, Lea & Flood 2014) with the
//! draws simulations and bootstraps need: uniform, normal (Box–Muller), Poisson (inversion for small
//! means, a normal approximation with continuity correction above 1,000), gamma
//! (Marsaglia & Tsang 2000) and exponential. Every generator takes one, so every synthetic
//! data set is reproducible from its seed.

/// A seeded SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    spare_normal: Option<f64>,
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed, spare_normal: None }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let (u, v) = (self.uniform(), self.uniform());
        let radius = (-2.0 * u.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * v;
        self.spare_normal = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// Exponential with rate `rate`.
    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }

    /// Gamma with shape `shape` and scale 1.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let z = self.normal();
            let v = (1.0 + c * z).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// Poisson with mean `mean`.
    pub fn poisson(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        if mean > 1000.0 {
            return (mean + mean.sqrt() * self.normal() + 0.5).floor().max(0.0);
        }
        // Inversion, restarted in chunks of 500 to keep e^-mean representable.
        let mut total = 0.0;
        let mut remaining = mean;
        while remaining > 0.0 {
            let chunk = remaining.min(500.0);
            remaining -= chunk;
            let mut p = (-chunk).exp();
            let mut cumulative = p;
            let u = self.uniform();
            let mut k = 0.0;
            while u > cumulative && p > 0.0 {
                k += 1.0;
                p *= chunk / k;
                cumulative += p;
            }
            total += k;
        }
        total
    }

    /// A uniform index in `0..n`.
    pub fn index(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }

    /// Negative binomial with mean `mean` and shape `theta` (a gamma–Poisson mixture).
    pub fn negative_binomial(&mut self, mean: f64, theta: f64) -> f64 {
        let frailty = self.gamma(theta) / theta;
        self.poisson(mean * frailty)
    }
}

/// Simulation or bootstrap replicates of one statistic, sorted, with their standard deviation
/// and sample quantiles (R's default `quantile` type 7: linear interpolation between order
/// statistics).
#[derive(Debug, Clone)]
pub struct Replicates {
    sorted: Vec<f64>,
}

impl Replicates {
    /// The replicates (at least one).
    pub fn new(mut values: Vec<f64>) -> Self {
        assert!(!values.is_empty(), "Replicates::new needs at least one value");
        values.sort_by(f64::total_cmp);
        Self { sorted: values }
    }

    /// The replicates in increasing order.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// Their standard deviation (divisor n − 1; zero for a single replicate).
    pub fn std_dev(&self) -> f64 {
        let n = self.sorted.len();
        if n < 2 {
            return 0.0;
        }
        let mean = self.sorted.iter().sum::<f64>() / n as f64;
        (self.sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    }

    /// The sample quantile at probability `p` in [0, 1] (type 7).
    pub fn quantile(&self, p: f64) -> f64 {
        let last = self.sorted.len() - 1;
        let position = p.clamp(0.0, 1.0) * last as f64;
        let (low, frac) = (position.floor() as usize, position.fract());
        self.sorted[low] + frac * (self.sorted[(low + 1).min(last)] - self.sorted[low])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicate_quantiles_are_rs_type_seven() {
        // R: quantile(c(4, 1, 3, 2), c(0, 0.1, 0.5, 1)) = 1.0 1.3 2.5 4.0; sd(1:4) = 1.290994.
        let r = Replicates::new(vec![4.0, 1.0, 3.0, 2.0]);
        for (p, q) in [(0.0, 1.0), (0.1, 1.3), (0.5, 2.5), (1.0, 4.0)] {
            assert!((r.quantile(p) - q).abs() < 1e-12, "{p}");
        }
        assert!((r.std_dev() - 1.290_994_448_7).abs() < 1e-9);
        assert_eq!(r.sorted(), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn draws_have_the_right_moments() {
        let mut rng = Rng::new(7);
        let n = 200_000usize;
        let normals: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = normals.iter().sum::<f64>() / n as f64;
        let variance = normals.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01 && (variance - 1.0).abs() < 0.01, "{mean} {variance}");
        for target in [0.3, 4.0, 60.0, 2500.0] {
            let draws: Vec<f64> = (0..50_000).map(|_| rng.poisson(target)).collect();
            let m = draws.iter().sum::<f64>() / draws.len() as f64;
            let v = draws.iter().map(|x| (x - m).powi(2)).sum::<f64>() / draws.len() as f64;
            assert!((m / target - 1.0).abs() < 0.02 && (v / target - 1.0).abs() < 0.05, "{target}: {m} {v}");
        }
        let gammas: Vec<f64> = (0..100_000).map(|_| rng.gamma(2.5)).collect();
        let m = gammas.iter().sum::<f64>() / gammas.len() as f64;
        assert!((m - 2.5).abs() < 0.03, "{m}");
    }

    #[test]
    fn a_seed_reproduces_its_draws() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
    }
}
