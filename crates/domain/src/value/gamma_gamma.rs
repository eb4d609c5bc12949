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
use super::{digamma, digamma_difference, ln_gamma, ln_gamma_ratio, minimise, FitError, Report};

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

    /// Maximum-likelihood estimates. Every row must have x ≥ 1 and mₓ > 0:
    /// leave customers without repeat purchases out before calling.
    ///
    /// The likelihood is maximised by BFGS with the analytic gradient (see
    /// [`bfgs`](super::bfgs): Nocedal & Wright, *Numerical Optimization*,
    /// algorithm 6.1) over θ = (θₚ, θ_q, ω) with
    ///
    /// 1/p = e^−θₚ + 1/[`SHAPE_LIMIT`], 1/q = e^−θ_q + 1/[`SHAPE_LIMIT`],
    /// γ = q·e^ω/p,
    ///
    /// so that ω is about the log of the mean spend per purchase pγ/(q−1) and
    /// the search starts from p = 1, q = 2 with that mean at the mean of mₓ.
    /// Should BFGS stop without reaching a zero gradient, the restarted
    /// Nelder–Mead simplex continues from its best point.
    ///
    /// The parametrisation keeps p and q below [`SHAPE_LIMIT`] (10⁶), which
    /// matters when the cohort shows no heterogeneity in ν: every customer
    /// then spends around the same mean, the likelihood keeps rising as q and
    /// γ grow together with γ/q (the reciprocal of the common ν) fixed, and
    /// there is no finite maximum. In these coordinates that direction is θ_q
    /// alone, and as q nears the limit the gradient in θ_q vanishes, so the
    /// search ends there in a few steps with the right γ/q. A q that large
    /// says "no heterogeneity" (ν varies by less than 0.1 % across the
    /// cohort); [`Self::expected_spend`] still works and gives every customer
    /// the cohort mean pγ/(q−1), the own mean mₓ weighing px/(px+q−1) ≈ 0.
    /// Likewise p runs to the limit, along θₚ alone with pγ fixed, when the
    /// spread of mₓ does not shrink as x grows (every purchase of a customer
    /// worth the same): a p that large says "no variation within a customer",
    /// and [`Self::expected_spend`] is then mₓ itself.
    ///
    /// Per customer, with s = x mₓ the total spend, the log-likelihood is
    /// rewritten as
    ///
    /// ln Γ(q+px) − ln Γ(q) − ln Γ(px) − px ln(1 + γ/s) − q ln(1 + s/γ)
    /// − ln mₓ,
    ///
    /// which no longer subtracts terms that grow like q ln γ or p ln γ when
    /// q or p is large. So the sum splits into terms of x only (once per
    /// distinct x, weighted by its count), Σ ln mₓ (once, before the search)
    /// and the two logarithms once per distinct total, weighted by its count
    /// and purchases. The gradient follows in the same pass with the digamma
    /// function. From 20,000 distinct totals on, that sum runs in two halves
    /// on two threads; the halves are the same with one thread, so the result
    /// does not depend on the machine.
    pub fn fit(cohort: &[SpendSummary]) -> Result<GammaGamma, FitError> {
        fit_with_report(cohort).map(|(fit, _)| fit)
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
        let horizon = f64::from(terms.periods) * terms.period_length;
        let expected = purchases.expectation(history, horizon)?;
        Some(terms.discounted_purchases(|t| expected.at(t))? * self.expected_spend(spend))
    }
}

impl ClvTerms {
    /// Σ_{i=1..n} (E[Y(iτ)] − E[Y((i−1)τ)]) / (1 + d)^i: the purchases
    /// expected in each future period, discounted to today at the end of it,
    /// with E[Y(t)] from `expected` (the CLV of [`GammaGamma::clv`] before the
    /// spend per purchase, which does not depend on t). `None` if an
    /// expectation is `None` or the terms are not sensible.
    pub fn discounted_purchases(&self, mut expected: impl FnMut(f64) -> Option<f64>) -> Option<f64> {
        let sensible = self.period_length > 0.0 && self.discount_rate > -1.0;
        if !sensible {
            return None;
        }
        let mut total = 0.0;
        let mut before = 0.0;
        let mut discount = 1.0;
        for i in 1..=self.periods {
            let after = expected(f64::from(i) * self.period_length)?;
            discount /= 1.0 + self.discount_rate;
            total += (after - before) * discount;
            before = after;
        }
        Some(total)
    }
}

/// The largest p and q the fit returns (see [`GammaGamma::fit`]).
pub const SHAPE_LIMIT: f64 = 1e6;

/// From this many distinct total spends on, the likelihood is summed on two
/// threads (below it, starting a thread costs more than it saves).
const PARALLEL_TOTALS: usize = 20_000;

fn fit_with_report(cohort: &[SpendSummary]) -> Result<(GammaGamma, Report), FitError> {
    let prepared = Prepared::new(cohort)?;
    // p = 1, q = 2: E[z] = pγ/(q−1) = q e^ω/(q−1) = 2e^ω.
    let start = [0.0, shape_to_theta(2.0), (prepared.mean_spend / 2.0).ln()];
    let (best, report) = minimise(|theta, gradient| prepared.negative_ll(theta, gradient), &start)?;
    Ok((Parameters::new(&best).model(), report))
}

/// θ for a shape well below [`SHAPE_LIMIT`]: the inverse of the bounded
/// shape map both fits use (1/s = e^−θ + 1/limit).
pub(crate) fn shape_to_theta(shape: f64) -> f64 {
    -(1.0 / shape - 1.0 / SHAPE_LIMIT).ln()
}

/// The model at θ = (θₚ, θ_q, ω), with d ln p/dθₚ and d ln q/dθ_q.
#[derive(Debug, Clone, Copy)]
struct Parameters {
    p: f64,
    q: f64,
    v: f64,
    /// ln γ.
    ln_v: f64,
    dp: f64,
    dq: f64,
}

impl Parameters {
    fn new(theta: &[f64]) -> Parameters {
        // 1/p = e^−θ + 1/limit, so ln p = θ − ln(1 + e^θ/limit) and
        // d ln p/dθ = p e^−θ; past the limit e^−θ underflows to 0 and p is
        // exactly the limit.
        let shape = |t: f64| {
            let e = (-t).exp();
            let shape = 1.0 / (e + 1.0 / SHAPE_LIMIT);
            (shape, shape * e)
        };
        let (p, dp) = shape(theta[0]);
        let (q, dq) = shape(theta[1]);
        let ln_v = q.ln() - p.ln() + theta[2];
        Parameters { p, q, v: ln_v.exp(), ln_v, dp, dq }
    }

    fn model(&self) -> GammaGamma {
        GammaGamma { p: self.p, q: self.q, v: self.v }
    }
}

/// Customers with the same total spend s = x mₓ.
#[derive(Debug, Clone, Copy)]
struct Total {
    spend: f64,
    /// ln s.
    ln_spend: f64,
    /// How many customers.
    count: f64,
    /// Their purchases Σx.
    purchases: f64,
}

/// A cohort reduced to what the likelihood needs (see [`GammaGamma::fit`]).
#[derive(Debug)]
struct Prepared {
    customers: f64,
    /// The mean of mₓ.
    mean_spend: f64,
    /// Σ ln mₓ.
    sum_ln_m: f64,
    /// Per distinct x: (x, customers).
    frequencies: Vec<(f64, f64)>,
    /// The distinct totals, in increasing order.
    totals: Vec<Total>,
}

/// Sums over distinct totals s at γ (see [`Prepared::negative_ll`]), for c
/// customers making X purchases in all: Σ c·ln(1 + s/γ), Σ X·ln(1 + γ/s),
/// Σ c·s/(γ+s) and Σ X·γ/(γ+s).
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    count_ln_spend: f64,
    purchases_ln_rate: f64,
    count_spend_share: f64,
    purchases_rate_share: f64,
}

impl Sums {
    fn add(self, other: Sums) -> Sums {
        Sums {
            count_ln_spend: self.count_ln_spend + other.count_ln_spend,
            purchases_ln_rate: self.purchases_ln_rate + other.purchases_ln_rate,
            count_spend_share: self.count_spend_share + other.count_spend_share,
            purchases_rate_share: self.purchases_rate_share + other.purchases_rate_share,
        }
    }
}

impl Prepared {
    fn new(cohort: &[SpendSummary]) -> Result<Prepared, FitError> {
        let invalid = |s: &SpendSummary| s.frequency == 0 || !s.mean_spend.is_finite() || s.mean_spend <= 0.0;
        if let Some(index) = cohort.iter().position(invalid) {
            return Err(FitError::InvalidRow { index });
        }
        if cohort.is_empty() {
            return Err(FitError::Empty);
        }
        let customers = cohort.len() as f64;
        let (mut mean_spend, mut sum_ln_m) = (0.0, 0.0);
        let mut frequency_counts: Vec<f64> = Vec::new();
        // Totals are positive, so their bit patterns sort like the values.
        let mut keys: Vec<(u64, u32)> = Vec::with_capacity(cohort.len());
        for s in cohort {
            mean_spend += s.mean_spend;
            sum_ln_m += s.mean_spend.ln();
            let index = s.frequency as usize;
            if index >= frequency_counts.len() {
                frequency_counts.resize(index + 1, 0.0);
            }
            frequency_counts[index] += 1.0;
            keys.push(((f64::from(s.frequency) * s.mean_spend).to_bits(), s.frequency));
        }
        keys.sort_unstable_by_key(|k| k.0);
        let mut totals: Vec<Total> = Vec::new();
        for (i, &(bits, x)) in keys.iter().enumerate() {
            let x = f64::from(x);
            match totals.last_mut() {
                Some(last) if i > 0 && keys[i - 1].0 == bits => {
                    last.count += 1.0;
                    last.purchases += x;
                }
                _ => {
                    let spend = f64::from_bits(bits);
                    totals.push(Total { spend, ln_spend: spend.ln(), count: 1.0, purchases: x });
                }
            }
        }
        let frequencies = frequency_counts
            .iter()
            .enumerate()
            .filter(|(_, &count)| count > 0.0)
            .map(|(x, &count)| (x as f64, count))
            .collect();
        Ok(Prepared { customers, mean_spend: mean_spend / customers, sum_ln_m, frequencies, totals })
    }

    /// The mean negative log-likelihood per customer at θ (see
    /// [`GammaGamma::fit`]), and its gradient in θ when asked for.
    fn negative_ll(&self, theta: &[f64], gradient: Option<&mut [f64]>) -> f64 {
        let at = Parameters::new(theta);
        let Parameters { p, q, v, ln_v, .. } = at;

        // Terms of x only: ln Γ(q+px) − ln Γ(q) − ln Γ(px), and for the
        // gradient ψ(q+px) − ψ(px) and ψ(q+px) − ψ(q), each difference taken
        // from the larger argument.
        let mut ll = -self.sum_ln_m;
        let (mut g_p, mut g_q) = (0.0, 0.0);
        for &(x, count) in &self.frequencies {
            let px = p * x;
            let (ln_beta, dg_p, dg_q) = if q >= px {
                let dg_q = digamma_difference(q, px);
                (ln_gamma_ratio(q, px) - ln_gamma(px), dg_q + digamma(q) - digamma(px), dg_q)
            } else {
                let dg_p = digamma_difference(px, q);
                (ln_gamma_ratio(px, q) - ln_gamma(q), dg_p, dg_p + digamma(px) - digamma(q))
            };
            ll += count * ln_beta;
            g_p += count * x * dg_p;
            g_q += count * dg_q;
        }

        // Terms of the total spend, in two halves.
        let middle = self.totals.len() / 2;
        let (low, high) = if self.totals.len() >= PARALLEL_TOTALS {
            std::thread::scope(|scope| {
                let high = scope.spawn(|| total_sums(&self.totals[middle..], v, ln_v));
                let low = total_sums(&self.totals[..middle], v, ln_v);
                (low, high.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            })
        } else {
            (total_sums(&self.totals[..middle], v, ln_v), total_sums(&self.totals[middle..], v, ln_v))
        };
        let sums = low.add(high);
        ll -= q * sums.count_ln_spend + p * sums.purchases_ln_rate;
        g_p -= sums.purchases_ln_rate;
        g_q -= sums.count_ln_spend;
        // γ ∂ℓ/∂γ
        let g_ln_v = q * sums.count_spend_share - p * sums.purchases_rate_share;

        if let Some(g) = gradient {
            // θₚ and θ_q move p and q with ω fixed, so γ = q e^ω/p moves
            // with them.
            let n = self.customers;
            g[0] = -(g_p * p - g_ln_v) * at.dp / n;
            g[1] = -(g_q * q + g_ln_v) * at.dq / n;
            g[2] = -g_ln_v / n;
        }
        -ll / self.customers
    }
}

/// The [`Sums`] over `totals` at γ = `v`. Of ln(1 + s/γ) and
/// ln(1 + γ/s) = ln(1 + s/γ) − ln(s/γ), the one of the smaller ratio is
/// computed and the other follows by adding a term of its sign, so neither
/// loses precision however far s and γ are apart. The totals are sorted, so
/// the branch changes once.
fn total_sums(totals: &[Total], v: f64, ln_v: f64) -> Sums {
    let mut sums = Sums::default();
    for t in totals {
        let ratio = t.spend / v;
        let (ln_spend, ln_rate) = if ratio < 1.0 {
            let l = ratio.ln_1p();
            (l, l + (ln_v - t.ln_spend))
        } else {
            let l = ratio.recip().ln_1p();
            (l + (t.ln_spend - ln_v), l)
        };
        let rate_share = 1.0 / (1.0 + ratio);
        sums.count_ln_spend += t.count * ln_spend;
        sums.purchases_ln_rate += t.purchases * ln_rate;
        sums.count_spend_share += t.count * (ratio * rate_share);
        sums.purchases_rate_share += t.purchases * rate_share;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::nelder_mead;
    use crate::value::test_rng::XorShift;

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

    /// The CDNOW repeat buyers (946 customers, US$).
    fn cdnow_repeaters() -> Vec<SpendSummary> {
        include_str!("../../tests/fixtures/cdnow_customers_summary_with_transactions.csv")
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                SpendSummary { frequency: f[1].parse().unwrap(), mean_spend: f[4].parse().unwrap() }
            })
            .filter(|s| s.frequency > 0)
            .collect()
    }

    /// Customers with 1–6 purchases worth a whole number of yuan uniform on
    /// 1000–5000 each, the same for everyone: no heterogeneity in ν.
    fn uniform_spenders(customers: usize, seed: u64) -> Vec<SpendSummary> {
        let mut rng = XorShift(seed);
        (0..customers)
            .map(|_| {
                let frequency = 1 + (rng.next_u64() % 6) as u32;
                let total: u64 = (0..frequency).map(|_| 1000 + rng.next_u64() % 4001).sum();
                SpendSummary { frequency, mean_spend: total as f64 / f64::from(frequency) }
            })
            .collect()
    }

    fn theta(m: &GammaGamma) -> [f64; 3] {
        [shape_to_theta(m.p), shape_to_theta(m.q), (m.v * m.p / m.q).ln()]
    }

    #[test]
    fn gamma_differences_match_the_direct_formulas() {
        for q in [0.3, 2.0, 9.99, 10.0, 15.0, 120.0, 3e3] {
            for a in [1e-3, 0.5, 6.0, 75.0, 2e3] {
                // The direct differences are only as good as their terms.
                let (big, small) = (ln_gamma(q + a), ln_gamma(q));
                let tolerance = 1e-12 * (big - small).abs().max(1.0) + 1e-14 * (big.abs() + small.abs());
                assert!((ln_gamma_ratio(q, a) - (big - small)).abs() < tolerance, "{q} {a}");
                let (big, small) = (digamma(q + a), digamma(q));
                let tolerance = 1e-13 * (big - small).abs().max(1.0) + 1e-14 * (big.abs() + small.abs());
                assert!((digamma_difference(q, a) - (big - small)).abs() < tolerance, "{q} {a}");
            }
        }
        // Large q, small a: ln Γ(q+a) − ln Γ(q) = a ln q + a(a−1)/(2q) + O(q⁻²)
        // and ψ(q+a) − ψ(q) = a/q − a(a−1)/(2q²) + O(q⁻³).
        let (q, a): (f64, f64) = (1e9, 3.0);
        let expected = a * q.ln() + a * (a - 1.0) / (2.0 * q);
        assert!((ln_gamma_ratio(q, a) - expected).abs() < 1e-14 * expected, "{}", ln_gamma_ratio(q, a));
        let expected = a / q - a * (a - 1.0) / (2.0 * q * q);
        assert!((digamma_difference(q, a) - expected).abs() < 1e-14 * expected);
    }

    #[test]
    fn prepared_likelihood_and_gradient_match_the_direct_formula() {
        let cohorts = [cdnow_repeaters(), uniform_spenders(1500, 0x9e37_79b9)];
        let models = [
            CDNOW,
            GammaGamma { p: 0.8, q: 1.5, v: 400.0 },
            GammaGamma { p: 6.0, q: 5e4, v: 2.5e7 },
            GammaGamma { p: 5e4, q: 4.0, v: 0.3 },
        ];
        for cohort in &cohorts {
            let prepared = Prepared::new(cohort).unwrap();
            for m in models {
                let theta = theta(&m);
                let mut g = [0.0; 3];
                let value = prepared.negative_ll(&theta, Some(&mut g));
                let direct = -m.log_likelihood(cohort) / cohort.len() as f64;
                // The direct formula subtracts terms of order q ln q and p ln p.
                let tolerance = 1e-12 * direct.abs() + 1e-15 * (m.q * m.q.ln() + 10.0 * m.p * m.p.ln());
                assert!((value - direct).abs() < tolerance, "{m:?}: {value} {direct}");
                for i in 0..3 {
                    let h = 1e-5;
                    let (mut up, mut down) = (theta, theta);
                    up[i] += h;
                    down[i] -= h;
                    let numeric = (prepared.negative_ll(&up, None) - prepared.negative_ll(&down, None)) / (2.0 * h);
                    assert!((g[i] - numeric).abs() < 1e-7 * numeric.abs().max(1.0), "{m:?} {i}: {} {numeric}", g[i]);
                }
            }
        }
    }

    #[test]
    fn parameters_stay_below_the_shape_limit() {
        for t in [-30.0, 0.0, 1.5, 13.0, 40.0, 800.0] {
            let at = Parameters::new(&[t, t, 0.0]);
            assert!(at.p > 0.0 && at.p <= SHAPE_LIMIT && at.q <= SHAPE_LIMIT && at.v.is_finite(), "{at:?}");
        }
        assert_eq!(Parameters::new(&[800.0, 800.0, 0.0]).p, SHAPE_LIMIT);
        assert!((Parameters::new(&[shape_to_theta(6.25), 0.0, 0.0]).p - 6.25).abs() < 1e-12);
    }

    /// The restarted Nelder–Mead simplex on the direct formula, as the fit
    /// was before.
    fn direct_fit(cohort: &[SpendSummary], start: &[f64]) -> GammaGamma {
        let n = cohort.len() as f64;
        let (best, _) = nelder_mead(
            |x| -GammaGamma { p: x[0].exp(), q: x[1].exp(), v: x[2].exp() }.log_likelihood(cohort) / n,
            start,
        );
        GammaGamma { p: best[0].exp(), q: best[1].exp(), v: best[2].exp() }
    }

    #[test]
    fn fit_agrees_with_direct_nelder_mead_maximisation_on_cdnow() {
        let cohort = cdnow_repeaters();
        let (fit, report) = fit_with_report(&cohort).unwrap();
        assert!(report.converged && report.evaluations < 100, "{report:?}");
        let mean = cohort.iter().map(|s| s.mean_spend).sum::<f64>() / cohort.len() as f64;
        let starts = [[0.0, 2f64.ln(), mean.ln()], [fit.p.ln(), fit.q.ln(), fit.v.ln()]];
        for reference in starts.map(|start| direct_fit(&cohort, &start)) {
            let (ll_fit, ll_ref) = (fit.log_likelihood(&cohort), reference.log_likelihood(&cohort));
            assert!(ll_fit >= ll_ref - 1e-9, "{fit:?} {ll_fit} < {reference:?} {ll_ref}");
            for (a, b) in [(fit.p, reference.p), (fit.q, reference.q), (fit.v, reference.v)] {
                assert!((a - b).abs() < 1e-6 * b, "{fit:?} {reference:?}");
            }
        }
    }

    #[test]
    fn fit_without_heterogeneity_stops_at_the_shape_limit_with_the_cohort_mean() {
        let cohort = uniform_spenders(1500, 0x5eed);
        let (fit, report) = fit_with_report(&cohort).unwrap();
        eprintln!("{fit:?} {report:?}");
        assert!(report.converged && report.evaluations < 200, "{report:?}");
        assert!(fit.p.is_finite() && fit.q.is_finite() && fit.v.is_finite(), "{fit:?}");
        assert!(fit.q > 1e3 && fit.q <= SHAPE_LIMIT, "{fit:?}");
        // Uniform on 1000–5000 has mean 3000 and variance 4000²/12: a gamma
        // with that mean and variance has shape 6.75.
        assert!((fit.p - 6.75).abs() < 1.0, "{fit:?}");
        let spend: f64 = cohort.iter().map(|s| f64::from(s.frequency) * s.mean_spend).sum();
        let purchases: f64 = cohort.iter().map(|s| f64::from(s.frequency)).sum();
        let mean = spend / purchases;
        for s in &cohort[..20] {
            let expected = fit.expected_spend(s);
            assert!((expected - mean).abs() < 0.005 * mean, "{s:?}: {expected} vs {mean}");
        }
    }

    #[test]
    fn fit_without_variation_within_customers_stops_at_the_shape_limit() {
        // Every purchase of a customer is worth the same, so the spread of mₓ
        // does not shrink with x; customers differ as ν ~ Gamma(4, 90).
        let mut rng = XorShift(0x00c0_ffee);
        let cohort: Vec<SpendSummary> = (0..5000)
            .map(|_| SpendSummary { frequency: 1 + (rng.next_u64() % 6) as u32, mean_spend: 90.0 / rng.gamma(4.0) })
            .collect();
        let (fit, report) = fit_with_report(&cohort).unwrap();
        eprintln!("{fit:?} {report:?}");
        assert!(report.converged && report.evaluations < 200, "{report:?}");
        assert!(fit.p > 1e3 && fit.p <= SHAPE_LIMIT && (fit.q - 4.0).abs() < 0.3, "{fit:?}");
        for s in &cohort[..20] {
            assert!((fit.expected_spend(s) - s.mean_spend).abs() < 0.01 * s.mean_spend, "{s:?} {fit:?}");
        }
    }

    #[test]
    fn fit_recovers_a_large_simulated_cohort() {
        let truth = GammaGamma { p: 6.0, q: 4.0, v: 15.0 };
        let mut rng = XorShift(0x2013_0101);
        let cohort: Vec<SpendSummary> = (0..200_000)
            .map(|_| {
                let frequency = 1 + (rng.next_u64() % 8) as u32;
                let nu = rng.gamma(truth.q) / truth.v;
                let total: f64 = (0..frequency).map(|_| rng.gamma(truth.p) / nu).sum();
                SpendSummary { frequency, mean_spend: total / f64::from(frequency) }
            })
            .collect();
        let (fit, report) = fit_with_report(&cohort).unwrap();
        eprintln!("{fit:?} {report:?}");
        assert!(report.converged, "{report:?}");
        for (estimate, truth) in [(fit.p, truth.p), (fit.q, truth.q), (fit.v, truth.v)] {
            assert!((estimate - truth).abs() < 0.03 * truth, "{fit:?}");
        }
    }

    #[test]
    fn fit_rejects_rows_without_repeat_purchases() {
        assert_eq!(GammaGamma::fit(&[]), Err(FitError::Empty));
        let bad = [SpendSummary { frequency: 0, mean_spend: 0.0 }];
        assert_eq!(GammaGamma::fit(&bad), Err(FitError::InvalidRow { index: 0 }));
    }
}
