//! Recovery from simulation: cohorts drawn from known BG/NBD and Gamma-Gamma
//! parameters with a deterministic generator are fitted, and the estimates
//! must land within four standard errors of the truth. The standard errors are
//! not guessed: they come from the observed information (the negative Hessian
//! of the log-likelihood at the estimate, by central differences), so the
//! tolerance shrinks like 1/√n with the 20,000 simulated customers. Each test
//! also checks those errors are small (under 15 % of the parameter), so the
//! assertion has teeth.

use domain::value::bgnbd::{BgNbd, Summary};
use domain::value::gamma_gamma::{GammaGamma, SpendSummary};

const CUSTOMERS: usize = 20_000;

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, deterministic.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on the open interval (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller.
    fn normal(&mut self) -> f64 {
        (-2.0 * self.uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.uniform()).cos()
    }

    /// Gamma(shape, rate 1) by Marsaglia & Tsang (2000), boosted for shape < 1.
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            if self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        x / (x + self.gamma(b))
    }

    fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }
}

/// Standard errors from the inverse of the observed information −∇²ℓ(θ̂).
fn standard_errors(ll: impl Fn(&[f64]) -> f64, theta: &[f64]) -> Vec<f64> {
    let n = theta.len();
    let h: Vec<f64> = theta.iter().map(|t| 1e-4 * t.abs().max(1e-3)).collect();
    let at = |moves: &[(usize, f64)]| {
        let mut p = theta.to_vec();
        for &(i, d) in moves {
            p[i] += d;
        }
        ll(&p)
    };
    let mut info = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..n {
            let d2 = (at(&[(i, h[i]), (j, h[j])]) - at(&[(i, h[i]), (j, -h[j])]) - at(&[(i, -h[i]), (j, h[j])])
                + at(&[(i, -h[i]), (j, -h[j])]))
                / (4.0 * h[i] * h[j]);
            info[i][j] = -d2;
        }
    }
    // Gauss–Jordan inversion of the (positive-definite) information matrix.
    let mut inv: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| info[x][col].abs().total_cmp(&info[y][col].abs())).unwrap();
        info.swap(col, pivot);
        inv.swap(col, pivot);
        let p = info[col][col];
        for k in 0..n {
            info[col][k] /= p;
            inv[col][k] /= p;
        }
        for row in 0..n {
            if row != col {
                let f = info[row][col];
                for k in 0..n {
                    info[row][k] -= f * info[col][k];
                    inv[row][k] -= f * inv[col][k];
                }
            }
        }
    }
    (0..n).map(|i| inv[i][i].sqrt()).collect()
}

fn assert_recovered(names: &[&str], truth: &[f64], estimate: &[f64], se: &[f64]) {
    for i in 0..truth.len() {
        let (name, t, e, s) = (names[i], truth[i], estimate[i], se[i]);
        eprintln!("{name}: truth {t}, estimate {e:.4}, se {s:.4}, z = {:.2}", (e - t) / s);
        assert!(s.is_finite() && s < 0.15 * t, "{name}: standard error {s} too large to test anything");
        assert!((e - t).abs() < 4.0 * s, "{name}: estimate {e} is more than 4 se ({s}) from {t}");
    }
}

/// Customers join over two years (age T uniform on 26–104 weeks); while alive
/// each buys as a Poisson process with rate λ ~ Gamma(r, α) and drops out
/// after each repeat purchase with probability p ~ Beta(a, b).
#[test]
fn bgnbd_fit_recovers_simulated_parameters() {
    let truth = BgNbd { r: 0.5, alpha: 5.0, a: 0.8, b: 2.5 };
    let mut rng = SplitMix64(20_050_101);
    let cohort: Vec<Summary> = (0..CUSTOMERS)
        .map(|_| {
            let age = 26.0 + 78.0 * rng.uniform();
            let rate = rng.gamma(truth.r) / truth.alpha;
            let dropout = rng.beta(truth.a, truth.b);
            let (mut now, mut frequency, mut recency) = (0.0, 0, 0.0);
            loop {
                now += rng.exponential(rate);
                if now > age {
                    break;
                }
                frequency += 1;
                recency = now;
                if rng.uniform() < dropout {
                    break;
                }
            }
            Summary { frequency, recency, age }
        })
        .collect();
    let fit = BgNbd::fit(&cohort).unwrap();
    let ll = |p: &[f64]| BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] }.log_likelihood(&cohort);
    let estimate = [fit.r, fit.alpha, fit.a, fit.b];
    let se = standard_errors(ll, &estimate);
    assert_recovered(&["r", "alpha", "a", "b"], &[truth.r, truth.alpha, truth.a, truth.b], &estimate, &se);
}

/// Each customer has 1–8 repeat purchases, each worth z ~ Gamma(p, ν) with
/// ν ~ Gamma(q, γ) across the cohort; the model sees only x and the mean.
#[test]
fn gamma_gamma_fit_recovers_simulated_parameters() {
    let truth = GammaGamma { p: 6.0, q: 4.0, v: 15.0 };
    let mut rng = SplitMix64(20_130_101);
    let cohort: Vec<SpendSummary> = (0..CUSTOMERS)
        .map(|_| {
            let frequency = 1 + (rng.next_u64() % 8) as u32;
            let nu = rng.gamma(truth.q) / truth.v;
            let total: f64 = (0..frequency).map(|_| rng.gamma(truth.p) / nu).sum();
            SpendSummary { frequency, mean_spend: total / f64::from(frequency) }
        })
        .collect();
    let fit = GammaGamma::fit(&cohort).unwrap();
    let ll = |p: &[f64]| GammaGamma { p: p[0], q: p[1], v: p[2] }.log_likelihood(&cohort);
    let estimate = [fit.p, fit.q, fit.v];
    let se = standard_errors(ll, &estimate);
    assert_recovered(&["p", "q", "v"], &[truth.p, truth.q, truth.v], &estimate, &se);
}
