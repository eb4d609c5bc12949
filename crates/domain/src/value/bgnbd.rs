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

use super::{hyp2f1, ln_gamma, log_sum_exp, nelder_mead, FitError};
use std::collections::BTreeMap;

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
    /// Identical (x, tₓ, T) rows are grouped and weighted by their count; the
    /// likelihood is maximised over (ln r, ln α, ln a, ln b) with a restarted
    /// Nelder–Mead simplex, which keeps every parameter positive.
    pub fn fit(cohort: &[Summary]) -> Result<BgNbd, FitError> {
        let mut groups: BTreeMap<(u32, u64, u64), (Summary, f64)> = BTreeMap::new();
        for (index, s) in cohort.iter().enumerate() {
            if !s.is_valid() {
                return Err(FitError::InvalidRow { index });
            }
            groups.entry((s.frequency, s.recency.to_bits(), s.age.to_bits())).or_insert((*s, 0.0)).1 += 1.0;
        }
        if groups.is_empty() {
            return Err(FitError::Empty);
        }
        let groups: Vec<(Summary, f64)> = groups.into_values().collect();
        let n: f64 = groups.iter().map(|g| g.1).sum();
        let negative_ll = |p: &[f64]| {
            let m = BgNbd { r: p[0].exp(), alpha: p[1].exp(), a: p[2].exp(), b: p[3].exp() };
            -groups.iter().map(|(s, w)| w * m.log_likelihood_one(s)).sum::<f64>() / n
        };
        // Start at r = α = a = b = 1; the restarts make the start unimportant.
        let (best, value) = nelder_mead(negative_ll, &[0.0, 0.0, 0.0, 0.0]);
        if !value.is_finite() {
            return Err(FitError::NoConvergence);
        }
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

    #[test]
    fn fit_rejects_bad_rows() {
        assert_eq!(BgNbd::fit(&[]), Err(FitError::Empty));
        assert_eq!(BgNbd::fit(&[s(1, 5.0, 4.0)]), Err(FitError::InvalidRow { index: 0 }));
        assert_eq!(BgNbd::fit(&[s(0, 0.0, 4.0), s(0, 1.0, 4.0)]), Err(FitError::InvalidRow { index: 1 }));
    }
}
