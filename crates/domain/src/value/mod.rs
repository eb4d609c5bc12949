//! Customer value: how many more trips a customer will buy, whether they are
//! still "alive", and what they are worth.
//!
//! Two classic probability models, fitted by maximum likelihood on a cohort:
//!
//! - [`bgnbd::BgNbd`], the BG/NBD purchase model of Fader, Hardie & Lee (2005),
//!   "Counting Your Customers the Easy Way", *Marketing Science* 24(2);
//! - [`gamma_gamma::GammaGamma`], the spend model of Fader, Hardie & Lee (2005),
//!   "RFM and CLV: Using Iso-Value Curves", *JMR* 42(4), as written up in
//!   Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".
//!
//! These are statistical models, so they work in `f64`; money enters them as
//! mean spend in yuan and leaves them as an expectation, never as a [`Money`]
//! amount of its own.
//!
//! Around them, rule-based classifications that each cite their method:
//!
//! - [`abc`]: A/B/C/D grades by cumulative share of revenue (Pareto / ABC
//!   analysis) and the Pareto curve;
//! - [`rfm`]: recency, frequency and monetary quintiles (Hughes 1994,
//!   *Strategic Database Marketing*) and the named R × FM segments;
//! - [`quadrant`]: the 销售量 × 忠诚度 (volume × loyalty) matrix of Chinese
//!   CRM textbooks, with a treatment per cell;
//! - [`lifecycle`]: the lifecycle stage from purchase history by ordered
//!   rules, and a customer's typical gap between purchases;
//! - [`direction`]: the likely direction of the next trip, with its reason;
//! - [`alerts`]: warnings when a valuable customer slips;
//! - [`settings`]: the agency's thresholds for all of the above, and the
//!   schedule of automatic runs.
//!
//! Shares of customers and probabilities are `f64`; amounts of money stay
//! exact [`Money`] and are compared in integer arithmetic.
//!
//! [`Money`]: crate::money::Money

pub mod abc;
pub mod alerts;
pub mod bgnbd;
pub mod direction;
pub mod gamma_gamma;
pub mod lifecycle;
pub mod quadrant;
pub mod rfm;
pub mod settings;

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// No usable customer in the cohort.
    #[error("no customers to fit")]
    Empty,
    /// Row `index` is not a valid summary (negative, non-finite or recency
    /// after age, or mean spend not positive).
    #[error("customer row {index} is not a valid summary")]
    InvalidRow {
        /// Position in the input slice.
        index: usize,
    },
    /// The optimiser ended on a non-finite likelihood.
    #[error("the likelihood could not be maximised")]
    NoConvergence,
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error
/// about 1e-15), with the reflection formula below 0.5.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x)Γ(1−x) = π / sin(πx)
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The Gaussian hypergeometric function ₂F₁(a, b; c; z) by its power series
/// Σ (a)ₖ(b)ₖ / ((c)ₖ k!) zᵏ.
///
/// Valid for |z| < 1 and c not zero or a negative integer; the models only
/// call it with a, b, c > 0 and 0 ≤ z < 1, where every term is positive and
/// the sum loses no precision. Convergence slows as z → 1 (terms decay like
/// k^(a+b−c−1) zᵏ), so the sum stops when a bound on the remaining tail
/// falls below 1e-15 of the total, and gives `None` if that takes more than a
/// million terms or |z| ≥ 1.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let usable = z.abs() < 1.0 && a.is_finite() && b.is_finite() && c.is_finite();
    if !usable {
        return None;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..1_000_000u32 {
        let k = f64::from(k);
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if !sum.is_finite() {
            return None;
        }
        // Once the ratio of consecutive terms ρ is below 1 the rest of the
        // series is at most term·ρ/(1−ρ) (the ratios move monotonically
        // towards z), so stop when that bound is negligible.
        let ratio = ((a + k + 1.0) * (b + k + 1.0) / ((c + k + 1.0) * (k + 2.0)) * z).abs().max(z.abs());
        if ratio < 1.0 && (term * ratio / (1.0 - ratio)).abs() <= 1e-15 * sum.abs() {
            return Some(sum);
        }
    }
    None
}

/// ln(eˣ + eʸ) without overflow or underflow.
pub(crate) fn log_sum_exp(x: f64, y: f64) -> f64 {
    let m = x.max(y);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((x - m).exp() + (y - m).exp()).ln()
}

/// Minimises `f` from `start` with the Nelder–Mead simplex (reflection 1,
/// expansion 2, contraction ½, shrink ½), restarting from the best point until
/// a restart no longer improves it. Non-finite values count as +∞, so the
/// simplex walks away from them.
pub(crate) fn nelder_mead(f: impl Fn(&[f64]) -> f64, start: &[f64]) -> (Vec<f64>, f64) {
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let n = start.len();
    let mut best = start.to_vec();
    let mut best_value = eval(&best);
    for _restart in 0..10 {
        let mut simplex: Vec<(Vec<f64>, f64)> = vec![(best.clone(), best_value)];
        for i in 0..n {
            let mut p = best.clone();
            p[i] += 0.5;
            let v = eval(&p);
            simplex.push((p, v));
        }
        for _iter in 0..20_000 {
            simplex.sort_by(|x, y| x.1.total_cmp(&y.1));
            let spread = simplex[n].1 - simplex[0].1;
            let size = simplex.iter().skip(1).map(|(p, _)| dist(p, &simplex[0].0)).fold(0.0, f64::max);
            if spread.abs() < 1e-12 && size < 1e-10 {
                break;
            }
            let centroid: Vec<f64> =
                (0..n).map(|j| simplex[..n].iter().map(|(p, _)| p[j]).sum::<f64>() / n as f64).collect();
            let worst = simplex[n].clone();
            let along = |t: f64| -> Vec<f64> { (0..n).map(|j| centroid[j] + t * (worst.0[j] - centroid[j])).collect() };
            let reflected = along(-1.0);
            let fr = eval(&reflected);
            if fr < simplex[0].1 {
                let expanded = along(-2.0);
                let fe = eval(&expanded);
                simplex[n] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
            } else if fr < simplex[n - 1].1 {
                simplex[n] = (reflected, fr);
            } else {
                let contracted = if fr < worst.1 { along(-0.5) } else { along(0.5) };
                let fc = eval(&contracted);
                if fc < worst.1.min(fr) {
                    simplex[n] = (contracted, fc);
                } else {
                    let lowest = simplex[0].0.clone();
                    for (p, v) in simplex.iter_mut().skip(1) {
                        for j in 0..n {
                            p[j] = lowest[j] + 0.5 * (p[j] - lowest[j]);
                        }
                        *v = eval(p);
                    }
                }
            }
        }
        simplex.sort_by(|x, y| x.1.total_cmp(&y.1));
        let improved = simplex[0].1 < best_value - 1e-10;
        best = simplex[0].0.clone();
        best_value = simplex[0].1;
        if !improved {
            break;
        }
    }
    (best, best_value)
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials_and_half() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(101.0) - 363.739_375_555_563_5).abs() < 1e-9);
    }

    #[test]
    fn hyp2f1_known_values() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z
        let z = 0.5;
        assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() - (-(1.0f64 - z).ln() / z)).abs() < 1e-13);
        // ₂F₁(a, b; b; z) = (1 − z)^(−a)
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.3).unwrap() - 0.7f64.powf(-2.5)).abs() < 1e-12);
        // ₂F₁(½, ½; 3/2; z²) = arcsin(z) / z
        let z: f64 = 0.9;
        assert!((hyp2f1(0.5, 0.5, 1.5, z * z).unwrap() - z.asin() / z).abs() < 1e-12);
        // slow but convergent near 1
        let z = 0.999;
        assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() - (-(1.0f64 - z).ln() / z)).abs() < 1e-10);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 1.0), None);
        assert_eq!(hyp2f1(0.0, 1.0, 2.0, 0.7), Some(1.0));
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(-1000.0, -1000.0) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(800.0, f64::NEG_INFINITY), 800.0);
    }

    #[test]
    fn nelder_mead_finds_rosenbrock_minimum() {
        let (x, v) = nelder_mead(|p| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2), &[-1.2, 1.0]);
        assert!(v < 1e-12, "{v}");
        assert!((x[0] - 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5, "{x:?}");
    }
}
