//! The BG/NBD model of repeat purchasing: Fader, Hardie & Lee (2005),
//! "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD
//! Model", *Marketing Science* 24(2), 275–284 (cited as "FHL").
//!
//! While alive, a customer buys as a Poisson process with rate λ; after each
//! repeat purchase they drop out for good with probability p. Across the
//! cohort λ ~ Gamma(r, α) (shape r, rate α) and p ~ Beta(a, b). A customer is
//! summarised by frequency x (repeat purchases, the first one is not counted),
//! recency tₓ (time of the last repeat purchase since the first purchase, 0 if
//! none) and age T (time since the first purchase), all in one time unit.

use super::{bfgs, hyp2f1, ln_gamma, log_sum_exp, nelder_mead, FitError};

/// One customer's purchase history as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// x: the number of repeat purchases.
    pub frequency: u32,
    /// tₓ: time from the first to the last purchase (0 when x = 0).
    pub recency: f64,
    /// T: time from the first purchase to the end of observation.
    pub age: f64,
}

impl Summary {
    fn is_valid(&self) -> bool {
        self.recency.is_finite()
            && self.age.is_finite()
            && self.recency >= 0.0
            && self.recency <= self.age
            && self.age > 0.0
            && (self.frequency > 0 || self.recency == 0.0)
    }
}

/// Fitted BG/NBD parameters: λ ~ Gamma(r, α), p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate (inverse scale) of the purchase-rate distribution, in the time unit
    /// of the summaries.
    pub alpha: f64,
    /// First shape of the dropout-probability distribution.
    pub a: f64,
    /// Second shape of the dropout-probability distribution.
    pub b: f64,
}

impl BgNbd {
    /// ln L for one customer, FHL eq. (6), computed in logs:
    ///
    /// L = B(a, b+x)/B(a, b) · Γ(r+x)αʳ/Γ(r) · [ (α+T)^−(r+x)
    ///     + δ(x>0) · a/(b+x−1) · (α+tₓ)^−(r+x) ]
    ///
    /// with B(a, b+x)/B(a, b) = Γ(b+x)Γ(a+b) / (Γ(b)Γ(a+b+x)); the bracket is
    /// combined with log-sum-exp, and customers with x = 0 have no dropout term.
    pub fn log_likelihood_one(&self, s: &Summary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(s.frequency);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + s.age).ln();
        let tail = if s.frequency > 0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + s.recency).ln();
            log_sum_exp(a3, a4)
        } else {
            a3
        };
        a1 + a2 + tail
    }

    /// The cohort log-likelihood Σ ln Lᵢ (FHL eq. 7).
    pub fn log_likelihood(&self, cohort: &[Summary]) -> f64 {
        cohort.iter().map(|s| self.log_likelihood_one(s)).sum()
    }

    /// Maximum-likelihood estimates for a cohort.
    ///
    /// The likelihood is maximised over θ = (ln r, ln α, ln a, ln b), which
    /// keeps every parameter positive, by BFGS with the analytic gradient
    /// (see [`bfgs`](super::bfgs): Nocedal & Wright, *Numerical Optimization*,
    /// algorithm 6.1), started from r = a = b = 1 and α = the mean age (so a
    /// change of time unit changes only α). Should BFGS stop without reaching
    /// a zero gradient, the restarted Nelder–Mead simplex continues from its
    /// best point.
    ///
    /// Per customer, FHL eq. (6) is rewritten as
    ///
    /// ln Lᵢ = A(xᵢ) + r ln α − (r+xᵢ) ln(α+Tᵢ) + δ(xᵢ>0) · softplus(dᵢ),
    /// dᵢ = ln a − ln(b+xᵢ−1) + (r+xᵢ) (ln(α+Tᵢ) − ln(α+tₓᵢ)),
    ///
    /// with A(x) = ln Γ(r+x) − ln Γ(r) + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) −
    /// ln Γ(a+b+x) and softplus(d) = ln(1 + eᵈ) (this is the log-sum-exp of
    /// [`Self::log_likelihood_one`]). So the sum splits into terms that
    /// depend on x only (computed once per distinct x, weighted by its count),
    /// terms that depend on T only (ln(α+T) once per distinct age, weighted
    /// by the count and the purchases of customers of that age), and one
    /// softplus per distinct (x, tₓ, T) of the repeat buyers. When the times
    /// are whole numbers (days) they index a table of ln(α+t) directly;
    /// otherwise the distinct values are sorted once. The gradient follows in
    /// the same pass: ∂softplus(d)/∂d = 1/(1 + e⁻ᵈ), and
    /// ∂ ln Γ(c+x)/∂c = ψ(c+x) (digamma). From 20,000 repeat-buyer groups
    /// on, the softplus sum runs in two halves on two threads; the halves
    /// are the same with one thread, so the result does not depend on the
    /// machine.
    pub fn fit(cohort: &[Summary]) -> Result<BgNbd, FitError> {
        let prepared = Prepared::new(cohort)?;
        let start = [0.0, prepared.mean_age.ln(), 0.0, 0.0];
        let quasi_newton =
            bfgs(|theta, gradient| prepared.negative_ll(theta, Some(gradient)), &start, GRADIENT_TOLERANCE);
        let best = if quasi_newton.converged {
            quasi_newton.x
        } else {
            let start = if quasi_newton.value.is_finite() { quasi_newton.x } else { start.to_vec() };
            let (best, value) = nelder_mead(|theta| prepared.negative_ll(theta, None), &start);
            if !value.is_finite() {
                return Err(FitError::NoConvergence);
            }
            best
        };
        Ok(BgNbd { r: best[0].exp(), alpha: best[1].exp(), a: best[2].exp(), b: best[3].exp() })
    }

    /// P(alive | x, tₓ, T), from Fader, Hardie & Lee (2008), "Computing
    /// P(alive) Using the BG/NBD Model" (brucehardie.com note):
    ///
    /// 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x)).
    ///
    /// A customer with no repeat purchase has had no chance to drop out (in the
    /// BG/NBD dropout only happens right after a purchase), so this is exactly 1
    /// for x = 0 — a known quirk of the model, not a bug.
    pub fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(s.frequency);
        let log_odds = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + s.age) / (self.alpha + s.recency)).ln();
        1.0 / (1.0 + log_odds.exp())
    }

    /// E[Y(t) | x, tₓ, T], the expected number of purchases in the next `t`
    /// time units, FHL eq. (10):
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    /// / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x)).
    ///
    /// Requires a ≠ 1 (the formula divides by a − 1). `None` if `t` is
    /// negative or [`hyp2f1`] does not converge, which happens when t is
    /// beyond roughly 10⁴–10⁵ times α + T (a horizon of centuries in weeks).
    /// With a < 1 the expectation grows without bound as t → ∞.
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> Option<f64> {
        if t.is_nan() || t < 0.0 {
            return None;
        }
        if t == 0.0 {
            return Some(0.0);
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(s.frequency);
        let z = t / (alpha + s.age + t);
        let f = hyp2f1(r + x, b + x, a + b + x - 1.0, z)?;
        let head = (a + b + x - 1.0) / (a - 1.0);
        let decay = ((r + x) * ((alpha + s.age) / (alpha + s.age + t)).ln()).exp();
        Some(head * (1.0 - decay * f) * self.p_alive(s))
    }

    /// The likely window until the next purchase: the time t at which the
    /// expected number of purchases E[Y(t) | x, tₓ, T] reaches ½ — "by then,
    /// one more purchase is as likely as not on average". Found by bisection to
    /// a relative precision of 1e-6, searching up to `horizon`; `None` if the
    /// customer is not expected to make half a purchase within the horizon
    /// (customers who have likely dropped out never are).
    pub fn next_purchase_window(&self, s: &Summary, horizon: f64) -> Option<f64> {
        if self.expected_purchases(s, horizon)? < 0.5 {
            return None;
        }
        let (mut lo, mut hi) = (0.0, horizon);
        while hi - lo > 1e-6 * hi {
            let mid = 0.5 * (lo + hi);
            if self.expected_purchases(s, mid)? < 0.5 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }
}

/// BFGS stops when no component of the gradient of the mean negative
/// log-likelihood (per customer, in log-parameters) exceeds this. At the
/// curvatures of real cohorts that puts the estimates within about 1e-8
/// (relative) of the maximum.
const GRADIENT_TOLERANCE: f64 = 1e-10;

/// From this many repeat-buyer groups on, the likelihood is summed on two
/// threads (below it, starting a thread costs more than it saves).
const PARALLEL_GROUPS: usize = 20_000;

/// Whole-number times up to this bound index their table directly.
const MAX_WHOLE_TIME: f64 = 1_048_576.0;

/// Repeat buyers with the same (x, tₓ, T), as indexes into the time table.
#[derive(Debug, Clone, Copy)]
struct Group {
    age: u32,
    recency: u32,
    count: f64,
}

/// The groups of one frequency x ≥ 1: `groups[start..end]`.
#[derive(Debug, Clone, Copy)]
struct Frequency {
    x: f64,
    start: usize,
    end: usize,
}

/// A cohort reduced to what the likelihood needs (see [`BgNbd::fit`]).
#[derive(Debug)]
struct Prepared {
    customers: f64,
    mean_age: f64,
    /// The distinct times (ages and recencies), or every whole number up to
    /// the largest.
    times: Vec<f64>,
    /// Per time: how many customers have that age.
    age_count: Vec<f64>,
    /// Per time: the repeat purchases of the customers of that age.
    age_purchases: Vec<f64>,
    /// Per distinct frequency x (including 0): (x, customers).
    frequency_counts: Vec<(f64, f64)>,
    /// The repeat buyers' groups, sorted by x, then age, then recency.
    groups: Vec<Group>,
    frequencies: Vec<Frequency>,
}

/// Sums over the repeat buyers of one frequency (see [`Prepared::negative_ll`]).
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    softplus: f64,
    weight: f64,
    d_ln: f64,
    d_inv: f64,
}

impl Prepared {
    fn new(cohort: &[Summary]) -> Result<Prepared, FitError> {
        if let Some(index) = cohort.iter().position(|s| !s.is_valid()) {
            return Err(FitError::InvalidRow { index });
        }
        if cohort.is_empty() {
            return Err(FitError::Empty);
        }
        let customers = cohort.len() as f64;
        let mean_age = cohort.iter().map(|s| s.age).sum::<f64>() / customers;
        let whole = |t: f64| t.fract() == 0.0 && t <= MAX_WHOLE_TIME;
        let largest = cohort.iter().map(|s| s.age).fold(0.0, f64::max);
        let direct = largest <= 2.0 * customers + 4096.0 && cohort.iter().all(|s| whole(s.age) && whole(s.recency));
        // Times are non-negative, so their bit patterns sort like the values.
        let (times, index): (Vec<f64>, Box<dyn Fn(f64) -> u32>) = if direct {
            ((0..=largest as u32).map(f64::from).collect(), Box::new(|t: f64| t as u32))
        } else {
            let mut bits: Vec<u64> = cohort.iter().flat_map(|s| [s.age.to_bits(), s.recency.to_bits()]).collect();
            bits.sort_unstable();
            bits.dedup();
            let times = bits.iter().map(|&b| f64::from_bits(b)).collect();
            (times, Box::new(move |t: f64| bits.binary_search(&t.to_bits()).unwrap_or_default() as u32))
        };
        let mut age_count = vec![0.0; times.len()];
        let mut age_purchases = vec![0.0; times.len()];
        let mut never_repeated = 0.0;
        let mut keys: Vec<(u32, u32, u32)> = Vec::new();
        for s in cohort {
            let age = index(s.age);
            age_count[age as usize] += 1.0;
            age_purchases[age as usize] += f64::from(s.frequency);
            if s.frequency == 0 {
                never_repeated += 1.0;
            } else {
                keys.push((s.frequency, age, index(s.recency)));
            }
        }
        keys.sort_unstable();
        let mut groups: Vec<Group> = Vec::new();
        let mut frequencies: Vec<Frequency> = Vec::new();
        let mut frequency_counts = vec![(0.0, never_repeated)];
        for (i, &(x, age, recency)) in keys.iter().enumerate() {
            if i > 0 && keys[i - 1] == (x, age, recency) {
                if let Some(last) = groups.last_mut() {
                    last.count += 1.0;
                }
            } else {
                if frequencies.last().is_none_or(|f| f.x != f64::from(x)) {
                    let start = groups.len();
                    frequencies.push(Frequency { x: f64::from(x), start, end: start });
                    frequency_counts.push((f64::from(x), 0.0));
                }
                groups.push(Group { age, recency, count: 1.0 });
            }
            if let (Some(f), Some(c)) = (frequencies.last_mut(), frequency_counts.last_mut()) {
                f.end = groups.len();
                c.1 += 1.0;
            }
        }
        Ok(Prepared { customers, mean_age, times, age_count, age_purchases, frequency_counts, groups, frequencies })
    }

    /// The mean negative log-likelihood per customer at θ = (ln r, ln α,
    /// ln a, ln b), and its gradient in θ when asked for.
    fn negative_ll(&self, theta: &[f64], gradient: Option<&mut [f64]>) -> f64 {
        let (r, alpha, a, b) = (theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp());
        let ln_t: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        let inv_t: Vec<f64> = self.times.iter().map(|t| 1.0 / (alpha + t)).collect();

        // Terms of x only.
        let n = self.customers;
        let mut ll = n * r * alpha.ln();
        let (mut g_r, mut g_alpha, mut g_a, mut g_b) = (n * alpha.ln(), n * r / alpha, 0.0, 0.0);
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        let (dg_r, dg_ab, dg_b) = (digamma(r), digamma(a + b), digamma(b));
        for &(x, count) in &self.frequency_counts {
            if x == 0.0 {
                continue;
            }
            ll += count * (ln_gamma(r + x) - lg_r + lg_ab + ln_gamma(b + x) - lg_b - ln_gamma(a + b + x));
            let dg_abx = digamma(a + b + x);
            g_r += count * (digamma(r + x) - dg_r);
            g_a += count * (dg_ab - dg_abx);
            g_b += count * (dg_ab + digamma(b + x) - dg_b - dg_abx);
        }

        // Terms of T only: −(r+x) ln(α+T) summed by age.
        for (k, (&count, &purchases)) in self.age_count.iter().zip(&self.age_purchases).enumerate() {
            if count > 0.0 {
                ll -= (r * count + purchases) * ln_t[k];
                g_r -= count * ln_t[k];
                g_alpha -= (r * count + purchases) * inv_t[k];
            }
        }

        // One softplus per repeat-buyer group, in two halves.
        let middle = self.groups.len() / 2;
        let (low, high) = if self.groups.len() >= PARALLEL_GROUPS {
            std::thread::scope(|scope| {
                let high = scope.spawn(|| self.softplus_sums(middle..self.groups.len(), r, a, b, &ln_t, &inv_t));
                let low = self.softplus_sums(0..middle, r, a, b, &ln_t, &inv_t);
                (low, high.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            })
        } else {
            (
                self.softplus_sums(0..middle, r, a, b, &ln_t, &inv_t),
                self.softplus_sums(middle..self.groups.len(), r, a, b, &ln_t, &inv_t),
            )
        };
        for ((f, lo), hi) in self.frequencies.iter().zip(&low).zip(&high) {
            ll += lo.softplus + hi.softplus;
            let weight = lo.weight + hi.weight;
            g_r += lo.d_ln + hi.d_ln;
            g_alpha += (r + f.x) * (lo.d_inv + hi.d_inv);
            g_a += weight / a;
            g_b -= weight / (b + f.x - 1.0);
        }

        if let Some(g) = gradient {
            // d/dθ = p · d/dp, of the mean negative log-likelihood.
            g[0] = -g_r * r / n;
            g[1] = -g_alpha * alpha / n;
            g[2] = -g_a * a / n;
            g[3] = -g_b * b / n;
        }
        -ll / n
    }

    /// Per frequency, over the groups in `range`: Σ c·softplus(d), and for the
    /// gradient, with w = c·σ(d) (σ the logistic function), Σ w,
    /// Σ w·(ln(α+T) − ln(α+tₓ)) and Σ w·(1/(α+T) − 1/(α+tₓ)).
    fn softplus_sums(
        &self,
        range: std::ops::Range<usize>,
        r: f64,
        a: f64,
        b: f64,
        ln_t: &[f64],
        inv_t: &[f64],
    ) -> Vec<Sums> {
        let ln_a = a.ln();
        self.frequencies
            .iter()
            .map(|f| {
                let (start, end) = (f.start.max(range.start), f.end.min(range.end));
                let mut sums = Sums::default();
                if start >= end {
                    return sums;
                }
                let head = ln_a - (b + f.x - 1.0).ln();
                let rx = r + f.x;
                for g in &self.groups[start..end] {
                    let (age, recency) = (g.age as usize, g.recency as usize);
                    let d_ln = ln_t[age] - ln_t[recency];
                    let d = head + rx * d_ln;
                    let e = (-d.abs()).exp();
                    let softplus = d.max(0.0) + e.ln_1p();
                    let sigmoid = if d >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                    let w = g.count * sigmoid;
                    sums.softplus += g.count * softplus;
                    sums.weight += w;
                    sums.d_ln += w * d_ln;
                    sums.d_inv += w * (inv_t[age] - inv_t[recency]);
                }
                sums
            })
            .collect()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The published CDNOW estimates (FHL section 5), time in weeks.
    const CDNOW: BgNbd = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

    fn s(frequency: u32, recency: f64, age: f64) -> Summary {
        Summary { frequency, recency, age }
    }

    #[test]
    fn p_alive_is_one_without_repeat_purchases() {
        assert_eq!(CDNOW.p_alive(&s(0, 0.0, 38.0)), 1.0);
        assert_eq!(CDNOW.p_alive(&s(0, 0.0, 1e6)), 1.0);
    }

    #[test]
    fn p_alive_falls_as_the_customer_stays_silent() {
        let mut last = 1.0;
        for age in [30.0, 35.0, 40.0, 60.0, 100.0, 500.0] {
            let p = CDNOW.p_alive(&s(3, 30.0, age));
            assert!(p < last && p > 0.0, "{age}: {p}");
            last = p;
        }
        // bought just now: the dropout term is a/(b+x−1) at its largest
        let now = CDNOW.p_alive(&s(3, 30.0, 30.0));
        assert!((now - 1.0 / (1.0 + 0.793 / (2.426 + 2.0))).abs() < 1e-12);
    }

    #[test]
    fn expected_purchases_grow_with_the_window_and_start_at_zero() {
        let c = s(2, 30.43, 38.86);
        assert_eq!(CDNOW.expected_purchases(&c, 0.0), Some(0.0));
        let mut last = 0.0;
        for t in [1.0, 10.0, 39.0, 78.0, 520.0] {
            let e = CDNOW.expected_purchases(&c, t).unwrap();
            assert!(e > last, "{t}: {e}");
            last = e;
        }
        // FHL section 5's worked example: a customer with x = 2, tₓ = 30.43, T = 38.86 is expected
        // to make 1.226 purchases in the next 39 weeks.
        let e = CDNOW.expected_purchases(&c, 39.0).unwrap();
        assert!((e - 1.226).abs() < 0.001, "{e}");
    }

    #[test]
    fn next_purchase_window_reaches_half_a_purchase() {
        let c = s(5, 35.0, 38.0);
        let w = CDNOW.next_purchase_window(&c, 520.0).unwrap();
        assert!((CDNOW.expected_purchases(&c, w).unwrap() - 0.5).abs() < 1e-5);
        // long silent: not expected to buy again
        assert_eq!(CDNOW.next_purchase_window(&s(1, 1.0, 78.0), 104.0), None);
    }

    #[test]
    fn likelihood_is_finite_for_extreme_inputs() {
        for c in [s(0, 0.0, 1e-6), s(0, 0.0, 1e6), s(500, 1e6, 1e6), s(1, 0.0, 1e6), s(200, 1e-9, 1e-9)] {
            for m in [
                CDNOW,
                BgNbd { r: 1e-4, alpha: 1e4, a: 1e-4, b: 1e4 },
                BgNbd { r: 50.0, alpha: 1e-4, a: 30.0, b: 1e-3 },
            ] {
                let ll = m.log_likelihood_one(&c);
                assert!(ll.is_finite(), "{c:?} {m:?}: {ll}");
            }
        }
    }

    /// The CDNOW cohort in weeks with two decimals (distinct times sorted),
    /// and the same rounded to whole days (times index their table).
    fn cdnow_weeks_and_days() -> [Vec<Summary>; 2] {
        let weeks: Vec<Summary> = include_str!("../../tests/fixtures/cdnow_customers_summary.csv")
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                s(f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap())
            })
            .collect();
        let days = weeks.iter().map(|c| s(c.frequency, (c.recency * 7.0).round(), (c.age * 7.0).round())).collect();
        [weeks, days]
    }

    /// The fit before the likelihood was reorganised: every distinct row's
    /// ln Lᵢ from [`BgNbd::log_likelihood_one`], maximised by the restarted
    /// Nelder–Mead simplex alone.
    fn direct_fit(cohort: &[Summary], start: &[f64]) -> BgNbd {
        let mut groups: std::collections::BTreeMap<(u32, u64, u64), (Summary, f64)> = Default::default();
        for c in cohort {
            groups.entry((c.frequency, c.recency.to_bits(), c.age.to_bits())).or_insert((*c, 0.0)).1 += 1.0;
        }
        let n = cohort.len() as f64;
        let (best, _) = nelder_mead(
            |p| {
                let m = BgNbd { r: p[0].exp(), alpha: p[1].exp(), a: p[2].exp(), b: p[3].exp() };
                -groups.values().map(|(c, w)| w * m.log_likelihood_one(c)).sum::<f64>() / n
            },
            start,
        );
        BgNbd { r: best[0].exp(), alpha: best[1].exp(), a: best[2].exp(), b: best[3].exp() }
    }

    #[test]
    fn digamma_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-14);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-14);
        // ψ(x) = −1/x − γ + ζ(2)x − ζ(3)x² + O(x³) near 0
        assert!((digamma(1e-3) - (-1000.0 - euler + 1.644_934_066_848_226_4e-3 - 1.202_056_903e-6)).abs() < 1e-8);
        for x in [0.1, 0.7, 3.3, 9.9, 10.0, 55.5, 1e4] {
            assert!((digamma(x + 1.0) - digamma(x) - 1.0 / x).abs() < 1e-13, "{x}");
        }
    }

    #[test]
    fn prepared_likelihood_and_gradient_match_the_direct_formula() {
        for cohort in cdnow_weeks_and_days() {
            let prepared = Prepared::new(&cohort).unwrap();
            for m in [CDNOW, BgNbd { r: 2.0, alpha: 30.0, a: 0.3, b: 7.0 }] {
                let theta = [m.r.ln(), m.alpha.ln(), m.a.ln(), m.b.ln()];
                let mut g = [0.0; 4];
                let value = prepared.negative_ll(&theta, Some(&mut g));
                let direct = -m.log_likelihood(&cohort) / cohort.len() as f64;
                assert!((value - direct).abs() < 1e-12 * direct.abs(), "{value} {direct}");
                for i in 0..4 {
                    let h = 1e-6;
                    let (mut up, mut down) = (theta, theta);
                    up[i] += h;
                    down[i] -= h;
                    let numeric = (prepared.negative_ll(&up, None) - prepared.negative_ll(&down, None)) / (2.0 * h);
                    assert!((g[i] - numeric).abs() < 1e-7, "{i}: {} {numeric}", g[i]);
                }
            }
        }
    }

    #[test]
    fn fit_agrees_with_direct_nelder_mead_maximisation() {
        for cohort in cdnow_weeks_and_days() {
            let fit = BgNbd::fit(&cohort).unwrap();
            let start = [fit.r.ln(), fit.alpha.ln(), fit.a.ln(), fit.b.ln()];
            for reference in [direct_fit(&cohort, &[0.0; 4]), direct_fit(&cohort, &start)] {
                let (ll_fit, ll_ref) = (fit.log_likelihood(&cohort), reference.log_likelihood(&cohort));
                eprintln!("{fit:?} {ll_fit}\n{reference:?} {ll_ref}");
                assert!(ll_fit >= ll_ref - 1e-9, "{ll_fit} < {ll_ref}");
                for (p, q) in
                    [(fit.r, reference.r), (fit.alpha, reference.alpha), (fit.a, reference.a), (fit.b, reference.b)]
                {
                    assert!((p - q).abs() < 1e-6 * q, "{fit:?} {reference:?}");
                }
            }
        }
    }

    #[test]
    fn fit_rejects_bad_rows() {
        assert_eq!(BgNbd::fit(&[]), Err(FitError::Empty));
        assert_eq!(BgNbd::fit(&[s(1, 5.0, 4.0)]), Err(FitError::InvalidRow { index: 0 }));
        assert_eq!(BgNbd::fit(&[s(0, 0.0, 4.0), s(0, 1.0, 4.0)]), Err(FitError::InvalidRow { index: 1 }));
    }
}
