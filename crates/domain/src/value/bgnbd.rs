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

use super::gamma_gamma::shape_to_theta;
use super::{digamma_difference, ln_gamma_ratio, log_sum_exp, minimise, FitError, Hyp2f1, Report};

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
        // Γ(r+x)/Γ(r) and B(a, b+x)/B(a, b) as ratios, and
        // r ln α − (r+x) ln(α+T) as −r ln(1 + T/α) − x ln(α+T), so that
        // nothing of order r ln r or r ln α cancels when r is large.
        let a1 = ln_gamma_ratio(r, x);
        let a2 = ln_gamma_ratio(b, x) - ln_gamma_ratio(a + b, x);
        let a3 = -r * (s.age / alpha).ln_1p() - x * (alpha + s.age).ln();
        let tail = if s.frequency > 0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - r * (s.recency / alpha).ln_1p() - x * (alpha + s.recency).ln();
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
    /// The likelihood is maximised by BFGS with the analytic gradient (see
    /// [`bfgs`](super::bfgs): Nocedal & Wright, *Numerical Optimization*,
    /// algorithm 6.1) over θ = (θᵣ, ω, θₐ, θ_b) with
    ///
    /// 1/r = e^−θᵣ + 1/[`SHAPE_LIMIT`], α = r·e^ω,
    /// a = [`DROPOUT_FLOOR`] + 1/(e^−θₐ + 1/[`SHAPE_LIMIT`]),
    /// 1/b = e^−θ_b + 1/[`SHAPE_LIMIT`],
    ///
    /// which keeps every parameter positive, r and b at most
    /// [`SHAPE_LIMIT`] (10⁶) and a at least [`DROPOUT_FLOOR`] (10⁻⁶); ω is the
    /// log of α/r, the mean time between purchases. The search starts from
    /// r = a = b = 1 and α = the mean age (so a change of time unit changes
    /// only α). Should BFGS stop without reaching a zero gradient, the
    /// restarted Nelder–Mead simplex continues from its best point. Inside
    /// the bounds the maximum is the same as over (ln r, ln α, ln a, ln b).
    ///
    /// The bounds matter on cohorts the model cannot tell apart from a
    /// limiting case, where the likelihood has no finite maximum:
    ///
    /// - No heterogeneity in purchase rates (every customer buys at about the
    ///   same rate): the likelihood keeps rising as r and α grow together
    ///   with r/α fixed, the Gamma mixing collapsing to the one rate
    ///   λ = r/α. In these coordinates that is θᵣ alone, whose gradient
    ///   vanishes as r nears the limit, so the search ends there in a few
    ///   steps with the right r/α. An r that large says "every customer buys
    ///   at the rate r/α" (the rates vary by 0.1 % or less); the
    ///   expectations below still hold, with each customer's rate estimate
    ///   (r+x)/(α+T) ≈ r/α.
    /// - No dropout (every customer seems still to be buying): the Beta on
    ///   the dropout probability p collapses to p = 0, as a → 0 or b → ∞. The
    ///   search then ends with a near the floor and/or b near the limit, the
    ///   mean dropout probability a/(a+b) below about 10⁻⁶ per purchase: the
    ///   model is then the NBD (Gamma-Poisson) without dropout, P(alive) is
    ///   about 1 and E[Y(t)] about (r+x)t/(α+T).
    ///
    /// Per customer, FHL eq. (6) is rewritten as
    ///
    /// ln Lᵢ = A(xᵢ) − r ℓ(Tᵢ) − xᵢ (ln α + ℓ(Tᵢ)) + δ(xᵢ>0) · softplus(dᵢ),
    /// dᵢ = ln a − ln(b+xᵢ−1) + (r+xᵢ) (ℓ(Tᵢ) − ℓ(tₓᵢ)),
    ///
    /// with ℓ(t) = ln(1 + t/α) = ln(α+t) − ln α, A(x) = ln Γ(r+x) − ln Γ(r) +
    /// ln Γ(b+x) − ln Γ(b) − (ln Γ(a+b+x) − ln Γ(a+b)) (each difference taken
    /// so that it stays accurate when its arguments are large) and
    /// softplus(d) = ln(1 + eᵈ) (this is the log-sum-exp of
    /// [`Self::log_likelihood_one`]). Nothing of order r ln α is subtracted,
    /// so the sum stays accurate when r and α are large. It splits into
    /// terms that depend on x only (computed once per distinct x, weighted
    /// by its count), terms that depend on T only (ℓ(T) once per distinct
    /// age, weighted by the count and the purchases of customers of that
    /// age), and one softplus per distinct (x, tₓ, T) of the repeat buyers.
    /// When the times are whole numbers (days) they index a table of ℓ(t)
    /// directly; otherwise the distinct values are sorted once. The gradient
    /// follows in the same pass: ∂softplus(d)/∂d = 1/(1 + e⁻ᵈ), and
    /// ∂ ln Γ(c+x)/∂c = ψ(c+x) (digamma). From 20,000 repeat-buyer groups
    /// on, the softplus sum runs in two halves on two threads; the halves
    /// are the same with one thread, so the result does not depend on the
    /// machine.
    pub fn fit(cohort: &[Summary]) -> Result<BgNbd, FitError> {
        fit_with_report(cohort).map(|(fit, _)| fit)
    }

    /// P(alive | x, tₓ, T), from Fader, Hardie & Lee (2008), "Computing
    /// P(alive) Using the BG/NBD Model" (brucehardie.com note):
    ///
    /// 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x)).
    ///
    /// A customer with no repeat purchase has had no chance to drop out (in the
    /// BG/NBD dropout only happens right after a purchase), so this is exactly 1
    /// for x = 0 — a known quirk of the model, not a bug. The odds are taken
    /// in logs, with ln((α+T)/(α+tₓ)) = ln(1 + (T−tₓ)/(α+tₓ)), so the result
    /// stays in [0, 1] and accurate for any positive, finite parameters,
    /// however large r and α (the model at the bounds of [`Self::fit`]).
    pub fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(s.frequency);
        let log_odds = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((s.age - s.recency) / (self.alpha + s.recency)).ln_1p();
        1.0 / (1.0 + log_odds.exp())
    }

    /// E[Y(t) | x, tₓ, T], the expected number of purchases in the next `t`
    /// time units, FHL eq. (10):
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    /// / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x)).
    ///
    /// The formula divides by a − 1, where the bracket vanishes too: within
    /// [`A_NEAR_ONE`] (10⁻⁴) of a = 1, where the quotient would lose digits,
    /// the quotient is interpolated linearly between a = 1 ∓ 10⁻⁴ (it is
    /// smooth in a, so this is off by about 10⁻⁸ relative).
    ///
    /// `None` if `t` is negative or [`hyp2f1`] does not converge, which
    /// happens when t is beyond roughly 10⁴–10⁵ times α + T (a horizon of
    /// centuries in weeks), or — for a cohort fitted at the shape limit of
    /// [`Self::fit`] — when the expected purchases (r/α)·t run into the
    /// hundreds, where the series overflows. With a < 1 the expectation grows
    /// without bound as t → ∞. Otherwise the result is finite and at least 0.
    /// When b is large the bracket is of order 1/b, so rounding leaves an
    /// absolute error of about 10⁻¹⁶·b purchases: at most about 10⁻¹⁰ at the
    /// limit of [`Self::fit`], negligible for any forecast.
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> Option<f64> {
        if t.is_nan() || t < 0.0 {
            return None;
        }
        self.expectation(s, t)?.at(t)
    }

    /// E[Y(t) | x, tₓ, T] of one summary for every t up to `horizon`, ready
    /// to be evaluated at many t (the forecasts of a run need dozens per
    /// customer): the series of ₂F₁ and P(alive) are computed once. `None`
    /// where [`Self::expected_purchases`] at `horizon` is `None` for the
    /// series' sake; a shorter horizon may still work.
    pub fn expectation(&self, s: &Summary, horizon: f64) -> Option<Expectation> {
        if horizon.is_nan() || horizon < 0.0 {
            return None;
        }
        let near_one = (self.a - 1.0).abs() < A_NEAR_ONE;
        let part = |a: f64| Eq10::new(&BgNbd { a, ..*self }, s, horizon);
        let (first, second) =
            if near_one { (part(1.0 - A_NEAR_ONE)?, Some(part(1.0 + A_NEAR_ONE)?)) } else { (part(self.a)?, None) };
        let weight = (self.a - (1.0 - A_NEAR_ONE)) / (2.0 * A_NEAR_ONE);
        Some(Expectation { first, second, weight, p_alive: self.p_alive(s), horizon })
    }

    /// The likely window until the next purchase: the time t at which the
    /// expected number of purchases E[Y(t) | x, tₓ, T] reaches ½ — "by then,
    /// one more purchase is as likely as not on average". Found by bisection to
    /// a relative precision of 1e-6, searching up to `horizon`; `None` if the
    /// customer is not expected to make half a purchase within the horizon
    /// (customers who have likely dropped out never are).
    pub fn next_purchase_window(&self, s: &Summary, horizon: f64) -> Option<f64> {
        let expected = self.expectation(s, horizon)?;
        if expected.at(horizon)? < 0.5 {
            return None;
        }
        let (mut lo, mut hi) = (0.0, horizon);
        while hi - lo > 1e-6 * hi {
            let mid = 0.5 * (lo + hi);
            if expected.at(mid)? < 0.5 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }
}

/// E[Y(t) | x, tₓ, T] of one customer for t up to a horizon (see
/// [`BgNbd::expectation`]).
#[derive(Debug, Clone)]
pub struct Expectation {
    first: Eq10,
    /// Near a = 1: the formula at a = 1 + [`A_NEAR_ONE`], `first` being at
    /// a = 1 − [`A_NEAR_ONE`]; the result interpolates by `weight`.
    second: Option<Eq10>,
    weight: f64,
    p_alive: f64,
    horizon: f64,
}

impl Expectation {
    /// The purchases expected in the next `t` time units, exactly as
    /// [`BgNbd::expected_purchases`] gives them; `None` for a negative `t` or
    /// one beyond the horizon the expectation was made for.
    pub fn at(&self, t: f64) -> Option<f64> {
        if t.is_nan() || t < 0.0 || t > self.horizon {
            return None;
        }
        if t == 0.0 {
            return Some(0.0);
        }
        let bracket = match &self.second {
            None => self.first.at(t),
            Some(above) => {
                let below = self.first.at(t);
                below + (above.at(t) - below) * self.weight
            }
        };
        let e = bracket * self.p_alive;
        // Rounding in the bracket can leave a tiny negative for a tiny t.
        e.is_finite().then_some(e.max(0.0))
    }

    /// P(alive) of the customer.
    pub fn p_alive(&self) -> f64 {
        self.p_alive
    }
}

/// FHL eq. (10) without its P(alive) factor, for one a ≠ 1:
/// (a+b+x−1)/(a−1) · [1 − (1 + t/(α+T))^−(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))].
#[derive(Debug, Clone)]
struct Eq10 {
    head: f64,
    shape: f64,
    scale: f64,
    series: Hyp2f1,
}

impl Eq10 {
    fn new(m: &BgNbd, s: &Summary, horizon: f64) -> Option<Eq10> {
        let BgNbd { r, alpha, a, b } = *m;
        let x = f64::from(s.frequency);
        let scale = alpha + s.age;
        let series = Hyp2f1::up_to(r + x, b + x, a + b + x - 1.0, horizon / (scale + horizon))?;
        Some(Eq10 { head: (a + b + x - 1.0) / (a - 1.0), shape: r + x, scale, series })
    }

    fn at(&self, t: f64) -> f64 {
        let f = self.series.at(t / (self.scale + t));
        let decay = (-self.shape * (t / self.scale).ln_1p()).exp();
        self.head * (1.0 - decay * f)
    }
}

/// The largest r and b the fit returns (see [`BgNbd::fit`]): the same bound
/// as the Gamma-Gamma shapes.
pub const SHAPE_LIMIT: f64 = super::gamma_gamma::SHAPE_LIMIT;

/// The smallest a the fit returns (see [`BgNbd::fit`]).
pub const DROPOUT_FLOOR: f64 = 1.0 / SHAPE_LIMIT;

/// Within this of a = 1, [`BgNbd::expected_purchases`] interpolates.
pub const A_NEAR_ONE: f64 = 1e-4;

/// From this many repeat-buyer groups on, the likelihood is summed on two
/// threads (below it, starting a thread costs more than it saves).
const PARALLEL_GROUPS: usize = 20_000;

/// Whole-number times up to this bound index their table directly.
const MAX_WHOLE_TIME: f64 = 1_048_576.0;

fn fit_with_report(cohort: &[Summary]) -> Result<(BgNbd, Report), FitError> {
    let prepared = Prepared::new(cohort)?;
    let start = Parameters::theta(&BgNbd { r: 1.0, alpha: prepared.mean_age, a: 1.0, b: 1.0 });
    let (best, report) = minimise(|theta, gradient| prepared.negative_ll(theta, gradient), &start)?;
    Ok((Parameters::new(&best).model, report))
}

/// s = 1/(e^−θ + 1/[`SHAPE_LIMIT`]) and d ln s/dθ = s·e^−θ: a positive
/// shape at most the limit, which it reaches exactly once e^−θ underflows
/// beside 1/limit, the derivative fading on the way.
fn bounded_shape(theta: f64) -> (f64, f64) {
    let e = (-theta).exp();
    let shape = 1.0 / (e + 1.0 / SHAPE_LIMIT);
    (shape, shape * e)
}

/// The model at θ = (θᵣ, ω, θₐ, θ_b) (see [`BgNbd::fit`]), with the
/// derivatives d ln r/dθᵣ, da/dθₐ and d ln b/dθ_b.
#[derive(Debug, Clone, Copy)]
struct Parameters {
    model: BgNbd,
    /// ln α.
    ln_alpha: f64,
    dr: f64,
    da: f64,
    db: f64,
}

impl Parameters {
    fn new(theta: &[f64]) -> Parameters {
        let (r, dr) = bounded_shape(theta[0]);
        let ln_alpha = r.ln() + theta[1];
        let (a_above_floor, d_ln_a) = bounded_shape(theta[2]);
        let (b, db) = bounded_shape(theta[3]);
        let model = BgNbd { r, alpha: ln_alpha.exp(), a: DROPOUT_FLOOR + a_above_floor, b };
        Parameters { model, ln_alpha, dr, da: a_above_floor * d_ln_a, db }
    }

    /// θ for a model inside the bounds: the inverse of [`Parameters::new`].
    fn theta(m: &BgNbd) -> [f64; 4] {
        [shape_to_theta(m.r), (m.alpha / m.r).ln(), shape_to_theta(m.a - DROPOUT_FLOOR), shape_to_theta(m.b)]
    }
}

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
    /// Σx, the repeat purchases of all customers.
    purchases: f64,
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
    d_share: f64,
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
        let purchases = age_purchases.iter().sum();
        Ok(Prepared {
            customers,
            purchases,
            mean_age,
            times,
            age_count,
            age_purchases,
            frequency_counts,
            groups,
            frequencies,
        })
    }

    /// The mean negative log-likelihood per customer at θ (see
    /// [`BgNbd::fit`]), and its gradient in θ when asked for.
    fn negative_ll(&self, theta: &[f64], gradient: Option<&mut [f64]>) -> f64 {
        let at = Parameters::new(theta);
        let BgNbd { r, alpha, a, b } = at.model;
        // ℓ(t) = ln(1 + t/α) and q(t) = t/(α+t) = −α ∂ℓ(t)/∂α.
        let ell: Vec<f64> = self.times.iter().map(|t| (t / alpha).ln_1p()).collect();
        let share: Vec<f64> = self.times.iter().map(|t| t / (alpha + t)).collect();

        // Terms of x only. The derivatives are kept as r ∂/∂r, α ∂/∂α, ∂/∂a
        // and ∂/∂b of the log-likelihood.
        let n = self.customers;
        let mut ll = -self.purchases * at.ln_alpha;
        let (mut g_r, mut g_alpha, mut g_a, mut g_b) = (0.0, -self.purchases, 0.0, 0.0);
        for &(x, count) in &self.frequency_counts {
            if x == 0.0 {
                continue;
            }
            ll += count * (ln_gamma_ratio(r, x) + ln_gamma_ratio(b, x) - ln_gamma_ratio(a + b, x));
            let dg_abx = digamma_difference(a + b, x);
            g_r += count * r * digamma_difference(r, x);
            g_a -= count * dg_abx;
            g_b += count * (digamma_difference(b, x) - dg_abx);
        }

        // Terms of T only: −(r + x) ℓ(T) summed by age.
        for (k, (&count, &purchases)) in self.age_count.iter().zip(&self.age_purchases).enumerate() {
            if count > 0.0 {
                let weight = r * count + purchases;
                ll -= weight * ell[k];
                g_r -= r * count * ell[k];
                g_alpha += weight * share[k];
            }
        }

        // One softplus per repeat-buyer group, in two halves.
        let middle = self.groups.len() / 2;
        let (low, high) = if self.groups.len() >= PARALLEL_GROUPS {
            std::thread::scope(|scope| {
                let high = scope.spawn(|| self.softplus_sums(middle..self.groups.len(), r, a, b, &ell, &share));
                let low = self.softplus_sums(0..middle, r, a, b, &ell, &share);
                (low, high.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            })
        } else {
            (
                self.softplus_sums(0..middle, r, a, b, &ell, &share),
                self.softplus_sums(middle..self.groups.len(), r, a, b, &ell, &share),
            )
        };
        for ((f, lo), hi) in self.frequencies.iter().zip(&low).zip(&high) {
            ll += lo.softplus + hi.softplus;
            let weight = lo.weight + hi.weight;
            g_r += r * (lo.d_ln + hi.d_ln);
            g_alpha -= (r + f.x) * (lo.d_share + hi.d_share);
            g_a += weight / a;
            g_b -= weight / (b + f.x - 1.0);
        }

        if let Some(g) = gradient {
            // θᵣ moves r with ω fixed, so α = r e^ω moves with it.
            g[0] = -(g_r + g_alpha) * at.dr / n;
            g[1] = -g_alpha / n;
            g[2] = -g_a * at.da / n;
            g[3] = -g_b * b * at.db / n;
        }
        -ll / n
    }

    /// Per frequency, over the groups in `range`: Σ c·softplus(d), and for the
    /// gradient, with w = c·σ(d) (σ the logistic function), Σ w,
    /// Σ w·(ℓ(T) − ℓ(tₓ)) and Σ w·(q(T) − q(tₓ)) (see
    /// [`Prepared::negative_ll`]).
    fn softplus_sums(
        &self,
        range: std::ops::Range<usize>,
        r: f64,
        a: f64,
        b: f64,
        ell: &[f64],
        share: &[f64],
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
                    let d_ln = ell[age] - ell[recency];
                    let d = head + rx * d_ln;
                    let e = (-d.abs()).exp();
                    let softplus = d.max(0.0) + e.ln_1p();
                    let sigmoid = if d >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                    let w = g.count * sigmoid;
                    sums.softplus += g.count * softplus;
                    sums.weight += w;
                    sums.d_ln += w * d_ln;
                    sums.d_share += w * (share[age] - share[recency]);
                }
                sums
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::hyp2f1;
    use crate::value::test_rng::XorShift;
    use crate::value::{digamma, nelder_mead};

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
    fn one_expectation_serves_every_time_up_to_its_horizon() {
        // A cohort in days like a travel agency's, one at a ≈ 1, and CDNOW.
        let days = BgNbd { r: 0.4696, alpha: 93.13, a: 0.0309, b: 0.3222 };
        let near_one = BgNbd { a: 1.0 + A_NEAR_ONE / 2.0, ..days };
        // A one-time buyer, a regular, and a customer with 1,007 repeat
        // trips, whose ₂F₁ coefficients alone overflow at this horizon.
        for m in [days, near_one, CDNOW] {
            for c in [s(0, 0.0, 400.0), s(6, 700.0, 900.0), s(1007, 1376.0, 1377.0)] {
                let e = m.expectation(&c, 1096.0).unwrap();
                assert_eq!(e.p_alive(), m.p_alive(&c));
                let mut before = 0.0;
                for t in [0.5, 1.0, 30.0, 90.0, 365.0, 730.0, 1096.0] {
                    let shared = e.at(t).unwrap();
                    // The expectation made for this t alone, and FHL eq. (10)
                    // written out with ₂F₁ summed afresh.
                    let alone = m.expected_purchases(&c, t).unwrap();
                    // For a small t the bracket 1 − decay·₂F₁ cancels, and
                    // near a = 1 it is divided by a − 1 ≈ 5·10⁻⁵: both
                    // magnify the rounding of either series.
                    let tolerance = if (m.a - 1.0).abs() < A_NEAR_ONE { 1e-8 } else { 1e-10 };
                    assert!((shared - alone).abs() <= tolerance * alone, "{m:?} {c:?} t={t}: {shared} vs {alone}");
                    if (m.a - 1.0).abs() >= A_NEAR_ONE {
                        let x = f64::from(c.frequency);
                        let z = t / (m.alpha + c.age + t);
                        let f = hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1.0, z).unwrap();
                        let decay = ((m.alpha + c.age) / (m.alpha + c.age + t)).powf(m.r + x);
                        let eq10 = (m.a + m.b + x - 1.0) / (m.a - 1.0) * (1.0 - decay * f) * m.p_alive(&c);
                        assert!(
                            (shared - eq10).abs() <= 1e-9 * eq10.max(1e-3),
                            "{m:?} {c:?} t={t}: {shared} vs {eq10}"
                        );
                    }
                    assert!(shared.is_finite() && shared > before, "{m:?} {c:?} t={t}: {shared} after {before}");
                    before = shared;
                }
                assert_eq!(e.at(1096.5), None, "beyond the horizon");
                assert_eq!(e.at(-1.0), None);
                assert_eq!(e.at(0.0), Some(0.0));
            }
        }
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
                let theta = Parameters::theta(&m);
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

    /// The purchase rate of [`homogeneous_cohort`], per day.
    const DAILY_RATE: f64 = 1.0 / 180.0;

    /// Customers who all buy as a Poisson process at [`DAILY_RATE`] and never
    /// drop out, first bought 300–1500 days ago; times in whole days.
    fn homogeneous_cohort(customers: usize, seed: u64) -> Vec<Summary> {
        let mut rng = XorShift(seed);
        (0..customers)
            .map(|_| {
                let age = (300 + rng.next_u64() % 1201) as f64;
                let (mut frequency, mut last, mut clock) = (0, 0.0, 0.0);
                loop {
                    clock -= rng.uniform().ln() / DAILY_RATE;
                    if clock > age {
                        break;
                    }
                    frequency += 1;
                    last = clock;
                }
                s(frequency, last.floor(), age)
            })
            .collect()
    }

    #[test]
    fn parameters_stay_within_the_bounds() {
        for t in [-30.0, 0.0, 1.5, 13.0, 40.0, 800.0] {
            let m = Parameters::new(&[t, 5.0, t, t]).model;
            assert!(m.r > 0.0 && m.r <= SHAPE_LIMIT && m.b > 0.0 && m.b <= SHAPE_LIMIT, "{m:?}");
            assert!(m.a >= DROPOUT_FLOOR && m.a.is_finite() && m.alpha.is_finite(), "{m:?}");
            assert!((m.alpha / m.r - 5f64.exp()).abs() < 1e-12 * m.alpha / m.r, "{m:?}");
        }
        let edge = Parameters::new(&[800.0, 0.0, -800.0, 800.0]).model;
        assert_eq!((edge.r, edge.a, edge.b), (SHAPE_LIMIT, DROPOUT_FLOOR, SHAPE_LIMIT));
        let back = Parameters::new(&Parameters::theta(&CDNOW)).model;
        for (p, q) in [(back.r, CDNOW.r), (back.alpha, CDNOW.alpha), (back.a, CDNOW.a), (back.b, CDNOW.b)] {
            assert!((p - q).abs() < 1e-12 * q, "{back:?}");
        }
    }

    #[test]
    fn likelihood_and_gradient_hold_at_the_bounds() {
        // Near the limits, on a cohort that drives the fit there.
        let cohort = homogeneous_cohort(2000, 0x0bad_cafe);
        let prepared = Prepared::new(&cohort).unwrap();
        for m in [
            BgNbd { r: 5e5, alpha: 9e7, a: 1e-5, b: 5e5 },
            BgNbd { r: 3.0, alpha: 500.0, a: 2e-6, b: 9e5 },
            BgNbd { r: 9e5, alpha: 1.5e8, a: 0.7, b: 4.0 },
        ] {
            let theta = Parameters::theta(&m);
            let mut g = [0.0; 4];
            let value = prepared.negative_ll(&theta, Some(&mut g));
            let direct = -m.log_likelihood(&cohort) / cohort.len() as f64;
            assert!((value - direct).abs() < 1e-11 * direct.abs(), "{m:?}: {value} {direct}");
            for i in 0..4 {
                let h = 1e-5;
                let (mut up, mut down) = (theta, theta);
                up[i] += h;
                down[i] -= h;
                let numeric = (prepared.negative_ll(&up, None) - prepared.negative_ll(&down, None)) / (2.0 * h);
                assert!((g[i] - numeric).abs() < 1e-7 * numeric.abs().max(1.0), "{m:?} {i}: {} {numeric}", g[i]);
            }
        }
    }

    #[test]
    fn fit_without_heterogeneity_or_dropout_stops_at_the_bounds() {
        for (customers, seed) in [(40, 0x5eed), (2000, 0x0bad_cafe)] {
            let cohort = homogeneous_cohort(customers, seed);
            let (fit, report) = fit_with_report(&cohort).unwrap();
            eprintln!("{customers}: {fit:?} {report:?}");
            assert!(report.converged && report.evaluations < 300, "{report:?}");
            let BgNbd { r, alpha, a, b } = fit;
            assert!(r.is_finite() && alpha.is_finite() && a.is_finite() && b.is_finite(), "{fit:?}");
            assert!(r > 0.0 && r <= SHAPE_LIMIT && b <= SHAPE_LIMIT && a >= DROPOUT_FLOOR, "{fit:?}");
            // The mean dropout probability per purchase is negligible.
            assert!(a / (a + b) < 1e-3, "{fit:?}");
            // The pooled rate: repeat purchases per day of observation.
            let purchases: f64 = cohort.iter().map(|c| f64::from(c.frequency)).sum();
            let days: f64 = cohort.iter().map(|c| c.age).sum();
            let pooled = purchases / days;
            let tolerance = if customers < 100 { 0.3 } else { 0.1 };
            assert!((r / alpha - DAILY_RATE).abs() < tolerance * DAILY_RATE, "{fit:?}");
            for c in &cohort {
                let p = fit.p_alive(c);
                assert!((0.0..=1.0).contains(&p), "{c:?}: {p}");
                for t in [1.0, 30.0, 365.0, 1825.0] {
                    let e = fit.expected_purchases(c, t).unwrap();
                    assert!(e.is_finite() && e >= 0.0, "{c:?} {t}: {e}");
                    if p > 0.99 && r > 1e3 {
                        assert!((e - pooled * t).abs() < tolerance * pooled * t, "{c:?} {t}: {e} vs {}", pooled * t);
                    }
                }
                let window = fit.next_purchase_window(c, 3650.0);
                assert!(window.is_none_or(|w| w > 0.0 && w <= 3650.0), "{c:?}: {window:?}");
            }
        }
    }

    #[test]
    fn predictions_stay_finite_at_the_bounds() {
        let edge = BgNbd { r: SHAPE_LIMIT, alpha: 180.0 * SHAPE_LIMIT, a: DROPOUT_FLOOR, b: SHAPE_LIMIT };
        for c in [s(0, 0.0, 300.0), s(8, 1400.0, 1500.0), s(3, 10.0, 1500.0), s(40, 1500.0, 1500.0)] {
            let p = edge.p_alive(&c);
            assert!((0.0..=1.0).contains(&p) && p > 0.999, "{c:?}: {p}");
            for t in [1e-3, 1.0, 90.0, 365.0, 3650.0] {
                // Without dropout: the customer's Gamma-Poisson rate (r+x)/(α+T).
                let e = edge.expected_purchases(&c, t).unwrap();
                let rate = (edge.r + f64::from(c.frequency)) / (edge.alpha + c.age);
                assert!((e - rate * t).abs() < 1e-9 + 1e-8 * rate * t, "{c:?} {t}: {e} {}", rate * t);
            }
            let w = edge.next_purchase_window(&c, 3650.0).unwrap();
            assert!((w - 90.0).abs() < 0.1, "{c:?}: {w}");
        }
        // Far beyond the limit the series overflows: None, not NaN.
        let huge = BgNbd { r: 1e65, alpha: 1.2e68, a: 1e-60, b: 2e101 };
        let c = s(5, 900.0, 1000.0);
        assert!((0.0..=1.0).contains(&huge.p_alive(&c)));
        assert!(huge.expected_purchases(&c, 365.0).is_none_or(|e| e.is_finite() && e >= 0.0));
    }

    #[test]
    fn expected_purchases_are_smooth_through_a_equal_to_one() {
        let c = s(2, 30.43, 38.86);
        let at = |a: f64| BgNbd { a, ..CDNOW }.expected_purchases(&c, 39.0).unwrap();
        // The cubic through a = 1 ∓ 2h and 1 ∓ h, h = 10⁻³: off by O(h⁴).
        let h = 1e-3;
        let nodes = [-2.0, -1.0, 1.0, 2.0].map(|k: f64| (1.0 + k * h, at(1.0 + k * h)));
        let cubic = |a: f64| {
            nodes
                .iter()
                .map(|&(ai, ei)| {
                    ei * nodes.iter().filter(|n| n.0 != ai).map(|&(aj, _)| (a - aj) / (ai - aj)).product::<f64>()
                })
                .sum::<f64>()
        };
        for a in [1.0 - 2e-4, 1.0 - 1e-4, 1.0 - 1e-9, 1.0, 1.0 + 1e-12, 1.0 + 5e-5, 1.0 + 1e-4, 1.0 + 2e-4] {
            let (e, reference) = (at(a), cubic(a));
            assert!((e - reference).abs() < 1e-7 * e, "{a}: {e} {reference}");
        }
    }

    #[test]
    fn fit_rejects_bad_rows() {
        assert_eq!(BgNbd::fit(&[]), Err(FitError::Empty));
        assert_eq!(BgNbd::fit(&[s(1, 5.0, 4.0)]), Err(FitError::InvalidRow { index: 0 }));
        assert_eq!(BgNbd::fit(&[s(0, 0.0, 4.0), s(0, 1.0, 4.0)]), Err(FitError::InvalidRow { index: 1 }));
    }
}
