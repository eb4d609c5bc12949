//! The Gamma-Gamma model of spend per purchase: Fader, Hardie & Lee (2005),
//! "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", *Journal
//! of Marketing Research* 42(4), 415–430, as set out in Fader & Hardie (2013),
//! "The Gamma-Gamma Model of Monetary Value" (brucehardie.com note 025).
//!
//! A customer's purchases are worth z ~ Gamma(p, ν) each (shape p, rate ν), so
//! their mean is p/ν; across the cohort ν ~ Gamma(q, γ) — called `v` here.
//! Spend is assumed independent of the purchase process, so the model is fitted
//! on customers with at least one repeat purchase and combined with
//! [`BgNbd`] for customer lifetime value.
//!
//! Spend is in yuan as `f64`: the store's [`Money`] (分) is divided by 100 at
//! the edge, and a CLV is an expectation to be rounded there, never a payable
//! amount.
//!
//! [`Money`]: crate::money::Money

use super::bgnbd::{BgNbd, Summary};
use super::{ln_gamma, nelder_mead, FitError};

/// One customer's spend history: x repeat purchases with mean value mₓ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendSummary {
    /// x: the number of purchases averaged (at least 1).
    pub frequency: u32,
    /// mₓ: their mean value, in yuan (> 0).
    pub mean_spend: f64,
}

/// Fitted Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    /// Shape of the per-purchase spend distribution.
    pub p: f64,
    /// Shape of the cohort's distribution of ν.
    pub q: f64,
    /// Rate of the cohort's distribution of ν (γ in the papers), in yuan.
    pub v: f64,
}

/// How a CLV is summed: `periods` future periods of `period_length` model time
/// units each, discounted at `discount_rate` per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvTerms {
    /// Number of future periods (e.g. 12 months).
    pub periods: u32,
    /// Length of one period in the BG/NBD time unit (e.g. 4.35 for a month
    /// when the model is in weeks).
    pub period_length: f64,
    /// Discount rate per period (e.g. 0.01 for 1 % a month).
    pub discount_rate: f64,
}

impl GammaGamma {
    /// ln of the density of mₓ given x (Fader & Hardie 2013, eq. 3):
    ///
    /// ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln mₓ + px ln x
    /// − (px+q) ln(γ + x mₓ).
    pub fn log_likelihood_one(&self, s: &SpendSummary) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let x = f64::from(s.frequency);
        let m = s.mean_spend;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * v.ln() + (p * x - 1.0) * m.ln() + p * x * x.ln()
            - (p * x + q) * (v + x * m).ln()
    }

    /// The cohort log-likelihood Σ ln f(mₓ | x).
    pub fn log_likelihood(&self, cohort: &[SpendSummary]) -> f64 {
        cohort.iter().map(|s| self.log_likelihood_one(s)).sum()
    }

    /// Maximum-likelihood estimates over (ln p, ln q, ln γ) with a restarted
    /// Nelder–Mead simplex. Every row must have x ≥ 1 and mₓ > 0: leave
    /// customers without repeat purchases out before calling.
    pub fn fit(cohort: &[SpendSummary]) -> Result<GammaGamma, FitError> {
        if let Some(index) = cohort.iter().position(|s| {
            s.frequency == 0 || s.mean_spend.is_nan() || s.mean_spend <= 0.0 || s.mean_spend.is_infinite()
        }) {
            return Err(FitError::InvalidRow { index });
        }
        if cohort.is_empty() {
            return Err(FitError::Empty);
        }
        let n = cohort.len() as f64;
        let mean = cohort.iter().map(|s| s.mean_spend).sum::<f64>() / n;
        let negative_ll = |x: &[f64]| {
            let m = GammaGamma { p: x[0].exp(), q: x[1].exp(), v: x[2].exp() };
            -m.log_likelihood(cohort) / n
        };
        // Start where E[z] = pγ/(q−1) equals the sample mean with p = 1, q = 2.
        let (best, value) = nelder_mead(negative_ll, &[0.0, 2f64.ln(), mean.ln()]);
        if !value.is_finite() {
            return Err(FitError::NoConvergence);
        }
        Ok(GammaGamma { p: best[0].exp(), q: best[1].exp(), v: best[2].exp() })
    }

    /// E[Z | x, mₓ], the expected value of this customer's future purchases
    /// (Fader & Hardie 2013, eq. 5):
    ///
    /// p(γ + x mₓ) / (px + q − 1)
    ///
    /// — a weighted mean of the cohort mean pγ/(q−1) and the customer's own
    /// mₓ. For x = 0 (mₓ ignored) it is the cohort mean. Needs q > 1.
    pub fn expected_spend(&self, s: &SpendSummary) -> f64 {
        let x = f64::from(s.frequency);
        let m = if s.frequency == 0 { 0.0 } else { s.mean_spend };
        self.p * (self.v + x * m) / (self.p * x + self.q - 1.0)
    }

    /// Customer lifetime value over a finite horizon, in yuan:
    ///
    /// CLV = Σ_{i=1..n} (E[Y(iτ)] − E[Y((i−1)τ)]) · E[Z | x, mₓ] / (1 + d)^i
    ///
    /// with E[Y(t) | x, tₓ, T] from [`BgNbd::expected_purchases`], τ the period
    /// length, n the number of periods and d the discount rate per period: the
    /// purchases expected in each future period, times the expected spend per
    /// purchase, discounted to today at the end of that period. `None` if a
    /// BG/NBD expectation cannot be computed or the terms are not sensible.
    pub fn clv(&self, purchases: &BgNbd, history: &Summary, spend: &SpendSummary, terms: &ClvTerms) -> Option<f64> {
        let sensible = terms.period_length > 0.0 && terms.discount_rate > -1.0;
        if !sensible {
            return None;
        }
        let per_purchase = self.expected_spend(spend);
        let mut total = 0.0;
        let mut before = 0.0;
        for i in 1..=terms.periods {
            let i = f64::from(i);
            let after = purchases.expected_purchases(history, i * terms.period_length)?;
            total += (after - before) * per_purchase / (1.0 + terms.discount_rate).powf(i);
            before = after;
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fader & Hardie (2013): CDNOW estimates, US$.
    const CDNOW: GammaGamma = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };

    #[test]
    fn expected_spend_shrinks_towards_the_cohort_mean() {
        let cohort_mean = CDNOW.p * CDNOW.v / (CDNOW.q - 1.0);
        let none = CDNOW.expected_spend(&SpendSummary { frequency: 0, mean_spend: 500.0 });
        assert!((none - cohort_mean).abs() < 1e-12);
        let one = CDNOW.expected_spend(&SpendSummary { frequency: 1, mean_spend: 100.0 });
        let ten = CDNOW.expected_spend(&SpendSummary { frequency: 10, mean_spend: 100.0 });
        assert!(cohort_mean < one && one < ten && ten < 100.0, "{cohort_mean} {one} {ten}");
    }

    #[test]
    fn clv_is_discounted_purchases_times_spend() {
        let bg = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
        let history = Summary { frequency: 2, recency: 30.43, age: 38.86 };
        let spend = SpendSummary { frequency: 2, mean_spend: 22.35 };
        let flat = ClvTerms { periods: 1, period_length: 39.0, discount_rate: 0.0 };
        let clv = CDNOW.clv(&bg, &history, &spend, &flat).unwrap();
        let expected = bg.expected_purchases(&history, 39.0).unwrap() * CDNOW.expected_spend(&spend);
        assert!((clv - expected).abs() < 1e-9);
        let monthly = ClvTerms { periods: 12, period_length: 52.0 / 12.0, discount_rate: 0.01 };
        let discounted = CDNOW.clv(&bg, &history, &spend, &monthly).unwrap();
        let undiscounted = CDNOW.clv(&bg, &history, &spend, &ClvTerms { discount_rate: 0.0, ..monthly }).unwrap();
        assert!(0.0 < discounted && discounted < undiscounted);
    }

    #[test]
    fn likelihood_is_finite_for_extreme_inputs() {
        for s in [(1, 1e-6), (1, 1e7), (1000, 0.01), (1000, 1e6)] {
            let s = SpendSummary { frequency: s.0, mean_spend: s.1 };
            for m in [CDNOW, GammaGamma { p: 1e-3, q: 1e-3, v: 1e-3 }, GammaGamma { p: 1e3, q: 1e3, v: 1e5 }] {
                assert!(m.log_likelihood_one(&s).is_finite(), "{s:?} {m:?}");
            }
        }
    }

    #[test]
    fn fit_rejects_rows_without_repeat_purchases() {
        assert_eq!(GammaGamma::fit(&[]), Err(FitError::Empty));
        let bad = [SpendSummary { frequency: 0, mean_spend: 0.0 }];
        assert_eq!(GammaGamma::fit(&bad), Err(FitError::InvalidRow { index: 0 }));
    }
}
