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
pub mod evaluation;
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
/// Valid for |z| < 1 and c not zero or a negative integer; the models call
/// it with a, b > 0, c > −1 and 0 ≤ z < 1. With c > 0 every term is
/// positive; with −1 < c < 0 (BG/NBD's c = a+b+x−1 for a one-time buyer of a
/// cohort with a + b < 1) every term after the first is negative and the sum
/// stays positive, so either way no terms of opposite signs cancel beyond
/// the first. Convergence slows as z → 1 (terms decay like
/// k^(a+b−c−1) zᵏ), so the sum stops when a bound on the remaining tail
/// falls below 1e-15 of the total, and gives `None` if that takes more than a
/// million terms or |z| ≥ 1.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    Hyp2f1::up_to(a, b, c, z).map(|series| series.at(z))
}

/// The power series of ₂F₁(a, b; c; ·) cut where it has converged for every
/// argument up to a largest one, so that one function with the same
/// parameters can be evaluated at many arguments without computing its
/// coefficients again (a BG/NBD forecast evaluates one at dozens of times).
#[derive(Debug, Clone)]
pub(crate) struct Hyp2f1 {
    /// The terms at `z_max`, (a)ₖ(b)ₖ / ((c)ₖ k!) z_maxᵏ for k = 0, 1, …
    /// (the coefficients alone can overflow where the terms do not).
    terms: Vec<f64>,
    /// tails[k]: the sum of the terms from k on, a bound on what they add
    /// at any smaller argument.
    tails: Vec<f64>,
    z_max: f64,
}

impl Hyp2f1 {
    /// The series for every z in [0, `z_max`], under the stopping rule of
    /// [`hyp2f1`] applied at `z_max`. The terms after the first share one
    /// sign (see [`hyp2f1`]), so the tail's share of the sum grows with z: a
    /// series cut for `z_max` is cut at least as finely for any smaller z.
    /// `None` where [`hyp2f1`] gives `None`.
    pub(crate) fn up_to(a: f64, b: f64, c: f64, z_max: f64) -> Option<Hyp2f1> {
        let usable = z_max.abs() < 1.0 && a.is_finite() && b.is_finite() && c.is_finite();
        if !usable {
            return None;
        }
        let mut terms = vec![1.0];
        let (mut term, mut sum) = (1.0f64, 1.0f64);
        for k in 0..1_000_000u32 {
            let k = f64::from(k);
            term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z_max;
            sum += term;
            if !sum.is_finite() {
                return None;
            }
            terms.push(term);
            // Once the ratio of consecutive terms ρ is below 1 the rest of the
            // series is at most term·ρ/(1−ρ) (the ratios move monotonically
            // towards z), so stop when that bound is negligible.
            let ratio = ((a + k + 1.0) * (b + k + 1.0) / ((c + k + 1.0) * (k + 2.0)) * z_max).abs().max(z_max.abs());
            if ratio < 1.0 && (term * ratio / (1.0 - ratio)).abs() <= 1e-15 * sum.abs() {
                let mut tails = terms.clone();
                for k in (0..tails.len() - 1).rev() {
                    tails[k] += tails[k + 1];
                }
                return Some(Hyp2f1 { terms, tails, z_max });
            }
        }
        None
    }

    /// The sum at `z`, for |z| up to the `z_max` the series was cut for:
    /// Σ termₖ uᵏ with u = z / z_max, stopped once the rest, at most
    /// u^(k+1) · tails[k+1], is below 1e-15 of the sum (at a small z after
    /// a few terms).
    pub(crate) fn at(&self, z: f64) -> f64 {
        if z == self.z_max {
            return self.tails[0];
        }
        let u = z / self.z_max;
        let (mut sum, mut power) = (0.0, 1.0);
        for (term, rest) in self.terms.iter().zip(&self.tails[1..]) {
            sum += term * power;
            power *= u;
            if (power * rest).abs() <= 1e-15 * sum.abs() {
                return sum;
            }
        }
        sum + self.terms[self.terms.len() - 1] * power
    }
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

/// Where [`bfgs`] stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuasiNewton {
    /// The best point found.
    pub x: Vec<f64>,
    /// f at `x`.
    pub value: f64,
    /// True when the gradient at `x` is below the tolerance (largest
    /// component at most `gtol`); false when the line search could make no
    /// more progress or the iterations ran out first.
    pub converged: bool,
    /// Evaluations of f and its gradient.
    pub evaluations: usize,
}

/// Minimises a smooth `f` from `start` with BFGS: the quasi-Newton method of
/// Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), algorithm 6.1,
/// with the inverse-Hessian update (6.17), the initial scaling (6.20) before
/// the first update, and a line search for the strong Wolfe conditions
/// (c₁ = 10⁻⁴, c₂ = 0.9; algorithms 3.5 and 3.6, zooming by safeguarded
/// quadratic interpolation).
///
/// `fg(x, g)` returns f(x) and writes ∇f(x) into `g`. Non-finite values count
/// as +∞, so the line search steps back from them. Stops when every gradient
/// component is at most `gtol` in absolute value, when a line search finds no
/// lower point, or after 1,000 iterations.
pub(crate) fn bfgs(mut fg: impl FnMut(&[f64], &mut [f64]) -> f64, start: &[f64], gtol: f64) -> QuasiNewton {
    let n = start.len();
    let mut evaluations = 0;
    let mut eval = |x: &[f64], g: &mut [f64]| {
        evaluations += 1;
        let v = fg(x, g);
        if v.is_finite() && g.iter().all(|c| c.is_finite()) {
            v
        } else {
            f64::INFINITY
        }
    };
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    let mut x = start.to_vec();
    let mut g = vec![0.0; n];
    let mut f = eval(&x, &mut g);
    let mut h = identity(n);
    let mut first_update = true;
    let mut converged = false;
    let mut stalled = 0;
    if f.is_finite() {
        for _iter in 0..1_000 {
            if g.iter().all(|c| c.abs() <= gtol) {
                converged = true;
                break;
            }
            let mut p: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
            if dot(&p, &g) >= 0.0 {
                // Not a descent direction (rounding in h): start over from
                // steepest descent.
                h = identity(n);
                first_update = true;
                p = g.iter().map(|c| -c).collect();
            }
            // The first steepest-descent step is unscaled: keep it to one unit
            // in the largest coordinate.
            let largest = p.iter().fold(0.0, |m: f64, c| m.max(c.abs()));
            let step = if first_update && largest > 1.0 { 1.0 / largest } else { 1.0 };
            let Some((f_new, x_new, g_new)) = wolfe_line_search(&mut eval, &x, f, &g, &p, step) else {
                break;
            };
            let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
            let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
            let sy = dot(&s, &y);
            x = x_new;
            g = g_new;
            let improvement = f - f_new;
            f = f_new;
            if sy > 0.0 {
                if first_update {
                    let scale = sy / dot(&y, &y);
                    h = identity(n);
                    h.iter_mut().enumerate().for_each(|(i, row)| row[i] = scale);
                    first_update = false;
                }
                bfgs_update(&mut h, &s, &y, sy);
            }
            // At the limit of precision neither f nor the gradient improve;
            // a few such steps in a row end the search.
            stalled = if improvement <= 0.0 { stalled + 1 } else { 0 };
            if stalled >= 5 {
                break;
            }
        }
        converged = converged || g.iter().all(|c| c.abs() <= gtol);
    }
    QuasiNewton { x, value: f, converged, evaluations }
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect()
}

/// H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ with ρ = 1/(yᵀs) (Nocedal & Wright
/// eq. 6.17), expanded as H − ρ(s·(Hy)ᵀ + (Hy)·sᵀ) + (ρ² yᵀHy + ρ) ssᵀ.
fn bfgs_update(h: &mut [Vec<f64>], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n).map(|i| h[i].iter().zip(y).map(|(a, b)| a * b).sum()).collect();
    let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
    for i in 0..n {
        for j in 0..n {
            h[i][j] += -rho * (s[i] * hy[j] + hy[i] * s[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

/// A step t along `p` from `x` satisfying the strong Wolfe conditions
/// (Nocedal & Wright algorithms 3.5 and 3.6), starting from `t0`. Returns the
/// f at the step, and the point and the gradient there; `None` when no step lowers f
/// (at the limit of precision, or `p` is not a descent direction).
fn wolfe_line_search(
    eval: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x: &[f64],
    f0: f64,
    g0: &[f64],
    p: &[f64],
    t0: f64,
) -> Option<(f64, Vec<f64>, Vec<f64>)> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let n = x.len();
    let d0: f64 = g0.iter().zip(p).map(|(a, b)| a * b).sum();
    if d0 >= 0.0 {
        return None;
    }
    let mut at = |t: f64| {
        let xt: Vec<f64> = (0..n).map(|i| x[i] + t * p[i]).collect();
        let mut gt = vec![0.0; n];
        let ft = eval(&xt, &mut gt);
        let dt: f64 = gt.iter().zip(p).map(|(a, b)| a * b).sum();
        (ft, dt, xt, gt)
    };
    // The best point seen that lowers f, as a last resort.
    let mut best: Option<(f64, Vec<f64>, Vec<f64>)> = None;
    let mut keep = |point: &(f64, f64, Vec<f64>, Vec<f64>)| {
        if point.0 < f0 && best.as_ref().is_none_or(|b| point.0 < b.0) {
            best = Some((point.0, point.2.clone(), point.3.clone()));
        }
    };
    let (mut lo, mut f_lo, mut d_lo) = (0.0, f0, d0);
    let mut t = t0;
    let mut hi: Option<(f64, f64)> = None;
    for _ in 0..60 {
        let point = at(t);
        keep(&point);
        let (ft, dt) = (point.0, point.1);
        // Near the minimum, changes of f drown in its rounding while the
        // gradient is still exact; there the slope decides (the approximate
        // Wolfe conditions of Hager & Zhang 2005, SIAM J. Optim. 16(1)).
        let flat = ft <= f0 + 1e-12 * f0.abs() && dt >= C2 * d0 && dt <= (2.0 * C1 - 1.0) * d0;
        if flat {
            return Some((ft, point.2, point.3));
        }
        if ft > f0 + C1 * t * d0 || ft >= f_lo || !ft.is_finite() {
            hi = Some((t, ft));
        } else if dt.abs() <= -C2 * d0 {
            return Some((ft, point.2, point.3));
        } else {
            // The slope points past the bracket's far end (or, while still
            // bracketing, upwards): the minimum lies between t and lo.
            let towards_hi = hi.map_or(1.0, |(th, _)| th - lo);
            if dt * towards_hi >= 0.0 {
                hi = Some((lo, f_lo));
            }
            (lo, f_lo, d_lo) = (t, ft, dt);
        }
        t = match hi {
            // Still going down with no upper bracket: extrapolate.
            None => 2.0 * t,
            Some((th, fh)) => {
                // Minimiser of the quadratic through (lo, f_lo, d_lo) and
                // (th, fh), kept inside the middle 80 % of the bracket.
                let w = th - lo;
                let denom = 2.0 * (fh - f_lo - d_lo * w);
                let q = if fh.is_finite() && denom > 0.0 { lo - d_lo * w * w / denom } else { lo + 0.5 * w };
                let (a, b) = if lo < th { (lo, th) } else { (th, lo) };
                let margin = 0.1 * (b - a);
                if (b - a) <= 1e-16 * a.abs().max(1e-300) {
                    break;
                }
                q.clamp(a + margin, b - margin)
            }
        };
    }
    best
}

/// ln Γ(q+a) − ln Γ(q) for q > 0, a ≥ 0. For q ≥ 10 by the difference of
/// Stirling's series (Abramowitz & Stegun 6.1.40, to z⁻¹⁵),
/// (q−½) ln(1 + a/q) + a ln(q+a) − a + S(q+a) − S(q), which stays accurate
/// when q is large and a small beside it, where the plain difference of two
/// ln Γ of order q ln q would lose every digit.
pub(crate) fn ln_gamma_ratio(q: f64, a: f64) -> f64 {
    if a == 0.0 {
        return 0.0;
    }
    if q < 10.0 {
        return ln_gamma(q + a) - ln_gamma(q);
    }
    let series = |z: f64| {
        let inv2 = 1.0 / (z * z);
        let coefficients = [
            1.0 / 12.0,
            -1.0 / 360.0,
            1.0 / 1260.0,
            -1.0 / 1680.0,
            1.0 / 1188.0,
            -691.0 / 360_360.0,
            1.0 / 156.0,
            -3617.0 / 122_400.0,
        ];
        coefficients.iter().rev().fold(0.0, |acc, c| acc * inv2 + c) / z
    };
    (q - 0.5) * (a / q).ln_1p() + a * (q + a).ln() - a + series(q + a) - series(q)
}

/// ψ(q+a) − ψ(q) for q > 0, a ≥ 0. For q ≥ 10 by the difference of the
/// asymptotic series (as in [`digamma`]): ln(1 + a/q) + a/(2q(q+a)) minus the
/// difference of the Bernoulli terms, accurate when a is small beside q.
pub(crate) fn digamma_difference(q: f64, a: f64) -> f64 {
    if a == 0.0 {
        return 0.0;
    }
    if q < 10.0 {
        return digamma(q + a) - digamma(q);
    }
    let series = |z: f64| {
        let inv2 = 1.0 / (z * z);
        inv2 * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32760.0)))))
    };
    (a / q).ln_1p() + a / (2.0 * q * (q + a)) - (series(q + a) - series(q))
}

/// The digamma function ψ(x) = d ln Γ(x)/dx for x > 0: the recurrence
/// ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then the asymptotic series
/// ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ) to k = 6 (Abramowitz & Stegun 6.3.5 and
/// 6.3.18); absolute error below 1e-14.
pub(crate) fn digamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv2 = 1.0 / (x * x);
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32760.0)))));
    shift + x.ln() - 0.5 / x - series
}

/// A fit's BFGS stops when no component of the gradient of the mean
/// negative log-likelihood (per customer, in θ) exceeds this.
pub(crate) const GRADIENT_TOLERANCE: f64 = 1e-10;

/// How a fit's search went, for the tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Report {
    /// Whether BFGS reached a zero gradient (otherwise Nelder–Mead finished).
    pub converged: bool,
    /// Evaluations of the likelihood and its gradient by BFGS.
    pub evaluations: usize,
}

/// Minimises a mean negative log-likelihood over θ from `start`: BFGS with
/// the analytic gradient (`f(θ, Some(gradient))`), and where it does not
/// converge, Nelder–Mead on `f(θ, None)` from where it stopped (or from the
/// start if it stopped on a non-finite value).
pub(crate) fn minimise(
    f: impl Fn(&[f64], Option<&mut [f64]>) -> f64,
    start: &[f64],
) -> Result<(Vec<f64>, Report), FitError> {
    let quasi_newton = bfgs(|theta, gradient| f(theta, Some(gradient)), start, GRADIENT_TOLERANCE);
    let report = Report { converged: quasi_newton.converged, evaluations: quasi_newton.evaluations };
    if quasi_newton.converged {
        return Ok((quasi_newton.x, report));
    }
    let from = if quasi_newton.value.is_finite() { quasi_newton.x } else { start.to_vec() };
    let (best, value) = nelder_mead(|theta| f(theta, None), &from);
    if !value.is_finite() {
        return Err(FitError::NoConvergence);
    }
    Ok((best, report))
}

/// Random numbers for the models' tests.
#[cfg(test)]
pub(crate) mod test_rng {
    /// Marsaglia's xorshift64* generator: deterministic test data.
    pub(crate) struct XorShift(pub(crate) u64);

    impl XorShift {
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// Uniform on (0, 1).
        pub(crate) fn uniform(&mut self) -> f64 {
            ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        /// Gamma(shape, rate 1) by Marsaglia & Tsang (2000), shape ≥ 1.
        pub(crate) fn gamma(&mut self, shape: f64) -> f64 {
            let d = shape - 1.0 / 3.0;
            let c = 1.0 / (9.0 * d).sqrt();
            loop {
                let normal = (-2.0 * self.uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.uniform()).cos();
                let v = (1.0 + c * normal).powi(3);
                if v > 0.0 && self.uniform().ln() < 0.5 * normal * normal + d - d * v + d * v.ln() {
                    return d * v;
                }
            }
        }
    }
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
        // Coefficients (1000)ₖ/k! beyond f64 for k ≈ 1,000, terms not:
        // ₂F₁(1000, 7; 7; ½) = 2¹⁰⁰⁰.
        let big = hyp2f1(1000.0, 7.0, 7.0, 0.5).unwrap();
        assert!((big / 2f64.powi(1000) - 1.0).abs() < 1e-12, "{big}");
    }

    #[test]
    fn one_series_serves_every_argument_up_to_its_largest() {
        let series = Hyp2f1::up_to(1.0, 1.0, 2.0, 0.9).unwrap();
        for z in [0.0f64, 1e-9, 0.1, 0.5, 0.89, 0.9] {
            let exact = if z == 0.0 { 1.0 } else { -(-z).ln_1p() / z };
            assert!((series.at(z) - exact).abs() < 1e-13, "z={z}: {} vs {exact}", series.at(z));
        }
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(-1000.0, -1000.0) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(800.0, f64::NEG_INFINITY), 800.0);
    }

    #[test]
    fn bfgs_finds_rosenbrock_minimum() {
        let fg = |p: &[f64], g: &mut [f64]| {
            g[0] = -2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]);
            g[1] = 200.0 * (p[1] - p[0] * p[0]);
            (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2)
        };
        let q = bfgs(fg, &[-1.2, 1.0], 1e-10);
        assert!(q.converged && q.value < 1e-18, "{q:?}");
        assert!((q.x[0] - 1.0).abs() < 1e-9 && (q.x[1] - 1.0).abs() < 1e-9, "{q:?}");
        assert!(q.evaluations < 200, "{q:?}");
    }

    #[test]
    fn bfgs_steps_back_from_non_finite_values() {
        // ln is undefined left of 0: the line search must not settle there.
        let fg = |p: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 1.0 / p[0];
            p[0] - p[0].ln()
        };
        let q = bfgs(fg, &[10.0], 1e-7);
        assert!(q.converged && (q.x[0] - 1.0).abs() < 1e-7, "{q:?}");
    }

    #[test]
    fn nelder_mead_finds_rosenbrock_minimum() {
        let (x, v) = nelder_mead(|p| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2), &[-1.2, 1.0]);
        assert!(v < 1e-12, "{v}");
        assert!((x[0] - 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5, "{x:?}");
    }
}
