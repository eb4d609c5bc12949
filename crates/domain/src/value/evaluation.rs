//! One evaluation run (盘点) over every customer: the purchase history of each
//! is summarised once, then graded (ABC), scored (RFM), placed in the volume ×
//! loyalty quadrant, given a lifecycle stage, a repurchase forecast (BG/NBD),
//! a lifetime value (Gamma-Gamma), a likely direction and the alerts its
//! changes call for.
//!
//! Definitions (the customer-value contract):
//! - a purchase occasion is a day with at least one order that is neither
//!   cancelled nor refunded (the caller leaves those out, and orders after the
//!   as-of date);
//! - frequency = occasions − 1; recency = days from the first to the last
//!   occasion; T = days from the first occasion to the as-of date; the
//!   models' time unit is the day;
//! - monetary = the mean value of an occasion; ABC and the quadrant read the
//!   revenue of the settings' window; RFM reads the whole history.
//!
//! Everything here is pure and deterministic; the per-customer forecasts run
//! on every core, as they are independent once the models are fitted.

use super::abc::{self, Grade};
use super::alerts::{self, Alert, AlertInput};
use super::bgnbd::{BgNbd, Summary};
use super::direction::{self, Direction, Intention, Peers, Trip};
use super::gamma_gamma::{ClvTerms, GammaGamma, SpendSummary};
use super::lifecycle::{self, StageInput};
use super::quadrant::{self, LoyaltyInput, QuadrantPoint};
use super::rfm::{self, RfmInput, RfmScore, Segment};
use super::settings::ValueSettings;
use crate::customer::LifecycleStage;
use crate::money::Money;
use crate::travel::product::ProductType;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;
use std::sync::Arc;

/// One order as the engine sees it.
#[derive(Debug, Clone)]
pub struct Purchase {
    /// The order date.
    pub day: NaiveDate,
    /// What the order is worth.
    pub amount: Money,
    /// The kind of product bought.
    pub product_type: ProductType,
    /// Where to (region, country or city as entered), if known.
    pub destination: Option<Arc<str>>,
}

/// One customer's input to a run.
#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    /// The customer's id in the store.
    pub customer_id: i64,
    /// Orders up to the as-of date that were not cancelled or refunded,
    /// sorted by day.
    pub purchases: Vec<Purchase>,
    /// Open travel intentions: (destination, period).
    pub intentions: Vec<(String, Option<String>)>,
    /// Whether an opportunity is open.
    pub open_opportunity: bool,
    /// The grade of the previous run, for grade-drop alerts.
    pub previous_grade: Option<Grade>,
    /// A grade a manager pinned, which wins over the computed one.
    pub pinned_grade: Option<Grade>,
}

/// What a run concludes about one customer.
#[derive(Debug, Clone)]
pub struct CustomerResult {
    /// The customer's id in the store.
    pub customer_id: i64,
    /// The grade in force: the pinned one if any, else the computed one.
    pub grade: Grade,
    /// The grade by revenue share.
    pub computed_grade: Grade,
    /// Volume × loyalty; `None` without purchases.
    pub quadrant: Option<QuadrantPoint>,
    /// Lifecycle stage.
    pub stage: LifecycleStage,
    /// RFM scores and segment; `None` without purchases.
    pub rfm: Option<(RfmScore, Segment)>,
    /// Purchase occasions up to the as-of date.
    pub occasions: u32,
    /// occasions − 1 (0 without purchases).
    pub frequency: u32,
    /// Days from the first to the last occasion.
    pub recency_days: u32,
    /// Days from the first occasion to the as-of date.
    pub t_days: u32,
    /// The last occasion.
    pub last_purchase: Option<NaiveDate>,
    /// Mean value of an occasion.
    pub monetary: Money,
    /// Revenue of the whole history.
    pub total: Money,
    /// Revenue within the settings' window (what ABC ranks).
    pub window_revenue: Money,
    /// Median days between occasions (the customer's own cycle).
    pub typical_gap_days: Option<f64>,
    /// The day the own cycle says the next trip is due (last + typical gap).
    pub cycle_due: Option<NaiveDate>,
    /// P(alive) by BG/NBD.
    pub p_alive: Option<f64>,
    /// Expected purchases in the next 30, 90 and 365 days.
    pub expected: Option<[f64; 3]>,
    /// The likely window of the next purchase: from the day a quarter of a
    /// purchase is expected to the day three quarters are.
    pub next_window: Option<(NaiveDate, Option<NaiveDate>)>,
    /// What they are likely to buy next, and why.
    pub direction: Option<Direction>,
    /// Discounted expected revenue over the settings' horizon.
    pub clv: Option<Money>,
    /// Alerts this run raises.
    pub alerts: Vec<Alert>,
}

/// The models fitted in a run (time in days, money in yuan).
#[derive(Debug, Clone, Default)]
pub struct Models {
    /// BG/NBD, fitted over customers with at least one purchase before the
    /// as-of day; `None` if it could not be fitted.
    pub bgnbd: Option<BgNbd>,
    /// Gamma-Gamma, fitted over repeat customers; `None` if it could not be.
    pub gamma_gamma: Option<GammaGamma>,
    /// Customers the BG/NBD fit used.
    pub bgnbd_customers: usize,
    /// Customers the Gamma-Gamma fit used.
    pub gamma_gamma_customers: usize,
}

/// A whole run's output, in the input's order.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// One result per input customer.
    pub results: Vec<CustomerResult>,
    /// The fitted models.
    pub models: Models,
}

/// How far ahead the next-purchase window is looked for (days).
pub const WINDOW_HORIZON_DAYS: f64 = 730.0;
/// Days in a CLV period (a month).
pub const MONTH_DAYS: f64 = 365.25 / 12.0;

/// Per-customer history boiled down once.
struct Facts {
    days: Vec<NaiveDate>,
    amounts: Vec<i64>,
    total: i64,
    window: i64,
    recent_year: i64,
    /// Occasions up to a year before the as-of date.
    earlier_occasions: u32,
}

fn facts(c: &CustomerInput, as_of: NaiveDate, window_from: NaiveDate, year_from: NaiveDate) -> Facts {
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut amounts: Vec<i64> = Vec::new();
    let (mut total, mut window, mut recent_year) = (0i64, 0i64, 0i64);
    let mut earlier_occasions = 0;
    for p in c.purchases.iter().filter(|p| p.day <= as_of) {
        if days.last() == Some(&p.day) {
            *amounts.last_mut().expect("a day has an amount") += p.amount.0;
        } else {
            days.push(p.day);
            amounts.push(p.amount.0);
            if p.day <= year_from {
                earlier_occasions += 1;
            }
        }
        total += p.amount.0;
        if p.day > window_from {
            window += p.amount.0;
        }
        if p.day > year_from {
            recent_year += p.amount.0;
        }
    }
    Facts { days, amounts, total, window, recent_year, earlier_occasions }
}

fn days_between(a: NaiveDate, b: NaiveDate) -> u32 {
    u32::try_from((b - a).num_days().max(0)).unwrap_or(u32::MAX)
}

/// Runs every model over `customers` as of `as_of`.
pub fn evaluate(customers: &[CustomerInput], as_of: NaiveDate, settings: &ValueSettings) -> Evaluation {
    let window_from = as_of - Duration::days(i64::from(settings.window_days));
    let year_from = as_of - Duration::days(365);
    let facts: Vec<Facts> = customers.iter().map(|c| facts(c, as_of, window_from, year_from)).collect();

    // Grades by revenue share of the window.
    let window: Vec<Money> = facts.iter().map(|f| Money(f.window)).collect();
    let computed = abc::grades(&window, &settings.abc);

    // RFM over buyers.
    let buyers: Vec<usize> = (0..facts.len()).filter(|&i| !facts[i].days.is_empty()).collect();
    let rfm_rows: Vec<RfmInput> = buyers
        .iter()
        .map(|&i| {
            let f = &facts[i];
            RfmInput {
                recency_days: days_between(*f.days.last().expect("a buyer"), as_of),
                frequency: f.days.len() as u32,
                monetary: Money(f.total),
            }
        })
        .collect();
    let mut rfm_of: Vec<Option<(RfmScore, Segment)>> = vec![None; facts.len()];
    for (k, s) in rfm::scores(&rfm_rows).into_iter().enumerate() {
        rfm_of[buyers[k]] = Some((s, rfm::segment(s)));
    }

    // Volume × loyalty.
    let loyalty_rows: Vec<LoyaltyInput> = facts
        .iter()
        .map(|f| LoyaltyInput {
            revenue: Money(f.window),
            occasions: f.days.len() as u32,
            tenure_days: f.days.first().map(|d| days_between(*d, as_of)).unwrap_or(0),
        })
        .collect();
    let quadrants = quadrant::classify(&loyalty_rows);

    // The models, fitted on the whole base.
    let summaries: Vec<Option<Summary>> = facts.iter().map(|f| summary(f, as_of)).collect();
    let fit_rows: Vec<Summary> = summaries.iter().flatten().copied().collect();
    let bgnbd = if fit_rows.is_empty() { None } else { BgNbd::fit(&fit_rows).ok() };
    let spend_rows: Vec<SpendSummary> = facts.iter().filter_map(repeat_spend).collect();
    let gamma_gamma = if spend_rows.len() < 2 { None } else { GammaGamma::fit(&spend_rows).ok().filter(|g| g.q > 1.0) };
    let models =
        Models { bgnbd, gamma_gamma, bgnbd_customers: fit_rows.len(), gamma_gamma_customers: spend_rows.len() };

    // Directions learn from everyone's trips first.
    let mut peers = Peers::default();
    for c in customers {
        peers.add_customer(&trips(c, as_of));
    }

    let monthly = month_rate(settings.discount_rate_bp);
    let terms = ClvTerms { periods: settings.clv_months, period_length: MONTH_DAYS, discount_rate: monthly };

    // The forecasts depend on a customer only through (x, tₓ, T), and so
    // does the CLV but for the spend per purchase, a factor; with whole days
    // many customers share one (every one-time buyer who joined on the same
    // day), so each distinct summary is forecast once.
    let no_spend = SpendSummary { frequency: 0, mean_spend: 0.0 };
    let mut distinct: Vec<Summary> = Vec::new();
    let mut forecast_of: Vec<Option<u32>> = vec![None; facts.len()];
    if bgnbd.is_some() {
        let mut index: HashMap<(u32, u32, u32), u32> = HashMap::new();
        for (i, s) in summaries.iter().enumerate() {
            let Some(s) = s else { continue };
            let k = *index.entry(summary_key(s)).or_insert_with(|| {
                distinct.push(*s);
                (distinct.len() - 1) as u32
            });
            forecast_of[i] = Some(k);
        }
    }
    let forecasts: Vec<Forecast> = match bgnbd {
        Some(m) => parallel_map(distinct.len(), |k| forecast(&m, &distinct[k], as_of, &terms)),
        None => Vec::new(),
    };

    let one = |i: usize| -> CustomerResult {
        let c = &customers[i];
        let f = &facts[i];
        let occasions = f.days.len() as u32;
        let last = f.days.last().copied();
        let typical_gap = lifecycle::typical_gap(&f.days);
        let fc = forecast_of[i].map(|k| &forecasts[k as usize]);
        let p_alive = fc.map(|fc| fc.p_alive);
        let expected = fc.and_then(|fc| fc.expected);
        let next_window = fc.and_then(|fc| fc.next_window);
        let monetary = if occasions == 0 { Money::ZERO } else { Money(f.total / i64::from(occasions)) };
        let clv = match (gamma_gamma, fc.and_then(|fc| fc.discounted)) {
            (Some(g), Some(purchases)) => {
                clv_money(Some(purchases * g.expected_spend(&repeat_spend(f).unwrap_or(no_spend))))
            }
            _ => None,
        };
        let stage = lifecycle::stage(
            &StageInput {
                occasions,
                days_since_last: last.map(|d| days_between(d, as_of)),
                typical_gap_days: typical_gap,
                open_opportunity: c.open_opportunity,
                p_alive,
            },
            &settings.lifecycle,
        );
        let computed_grade = computed[i];
        let grade = c.pinned_grade.unwrap_or(computed_grade);
        let trips = trips(c, as_of);
        let intentions: Vec<Intention> =
            c.intentions.iter().map(|(d, p)| Intention { destination: d.as_str(), period: p.as_deref() }).collect();
        let direction = direction::likely(&trips, &intentions, as_of, &peers);
        let first = f.days.first().copied();
        let earlier_days = first.map(|d| days_between(d, year_from)).unwrap_or(0);
        let alerts = alerts::check(
            &AlertInput {
                grade,
                previous_grade: c.previous_grade,
                p_alive,
                recent_year_revenue: Money(f.recent_year),
                earlier_revenue: Money(f.total - f.recent_year),
                earlier_days,
                earlier_occasions: f.earlier_occasions,
                days_since_last: last.map(|d| days_between(d, as_of)),
                typical_gap_days: typical_gap,
                occasions,
            },
            &settings.alerts,
        );
        CustomerResult {
            customer_id: c.customer_id,
            grade,
            computed_grade,
            quadrant: quadrants[i],
            stage,
            rfm: rfm_of[i],
            occasions,
            frequency: occasions.saturating_sub(1),
            recency_days: match (first, last) {
                (Some(a), Some(b)) => days_between(a, b),
                _ => 0,
            },
            t_days: first.map(|d| days_between(d, as_of)).unwrap_or(0),
            last_purchase: last,
            monetary,
            total: Money(f.total),
            window_revenue: Money(f.window),
            typical_gap_days: typical_gap,
            cycle_due: match (last, typical_gap) {
                (Some(l), Some(g)) => Some(l + Duration::days(g.round() as i64)),
                _ => None,
            },
            p_alive,
            expected,
            next_window,
            direction,
            clv,
            alerts,
        }
    };
    let results = parallel_map(customers.len(), one);
    Evaluation { results, models }
}

/// The BG/NBD summary of one customer; `None` without a purchase before the
/// as-of day (T = 0 carries no information about the rate).
fn summary(f: &Facts, as_of: NaiveDate) -> Option<Summary> {
    let first = *f.days.first()?;
    let last = *f.days.last()?;
    let age = f64::from(days_between(first, as_of));
    if age <= 0.0 {
        return None;
    }
    Some(Summary { frequency: f.days.len() as u32 - 1, recency: f64::from(days_between(first, last)), age })
}

/// A summary as a hashable key: its times are whole days.
fn summary_key(s: &Summary) -> (u32, u32, u32) {
    (s.frequency, s.recency as u32, s.age as u32)
}

/// What BG/NBD says about one distinct summary.
struct Forecast {
    p_alive: f64,
    expected: Option<[f64; 3]>,
    next_window: Option<(NaiveDate, Option<NaiveDate>)>,
    /// The discounted purchases of the CLV (see
    /// [`ClvTerms::discounted_purchases`]).
    discounted: Option<f64>,
}

fn forecast(m: &BgNbd, s: &Summary, as_of: NaiveDate, terms: &ClvTerms) -> Forecast {
    // The series behind every expectation below is computed once, for the
    // longest time asked; should it not converge that far, each time gets
    // its own (the shorter ones may still converge).
    let horizon = (f64::from(terms.periods) * terms.period_length).max(WINDOW_HORIZON_DAYS).max(365.0);
    let series = m.expectation(s, horizon);
    let at = |t: f64| match &series {
        Some(e) => e.at(t),
        None => m.expected_purchases(s, t),
    };
    let expected = match (at(30.0), at(90.0), at(365.0)) {
        (Some(a), Some(b), Some(c)) => Some([a, b, c]),
        _ => None,
    };
    // The CLV's month ends, kept to narrow the window's search.
    let mut months: Vec<(f64, f64)> = Vec::with_capacity(terms.periods as usize);
    let discounted = terms.discounted_purchases(|t| {
        let e = at(t)?;
        months.push((t, e));
        Some(e)
    });
    let next_window = time_to_expect(at, 0.25, &months).map(|from| {
        let to = time_to_expect(at, 0.75, &months);
        (as_of + Duration::days(from), to.map(|t| as_of + Duration::days(t)))
    });
    Forecast { p_alive: m.p_alive(s), expected, next_window, discounted }
}

/// A CLV in yuan as money, when finite.
fn clv_money(yuan: Option<f64>) -> Option<Money> {
    yuan.filter(|v| v.is_finite()).map(|yuan| Money((yuan * 100.0).round() as i64))
}

/// The Gamma-Gamma input: the mean of the repeat occasions (the first is left
/// out, as in Fader, Hardie & Lee 2005), in yuan; `None` for one-time buyers
/// and for repeat occasions worth nothing.
fn repeat_spend(f: &Facts) -> Option<SpendSummary> {
    if f.amounts.len() < 2 {
        return None;
    }
    let repeat: i64 = f.amounts[1..].iter().sum();
    let x = f.amounts.len() as u32 - 1;
    let mean = repeat as f64 / 100.0 / f64::from(x);
    (mean > 0.0).then_some(SpendSummary { frequency: x, mean_spend: mean })
}

fn trips(c: &CustomerInput, as_of: NaiveDate) -> Vec<Trip<'_>> {
    c.purchases
        .iter()
        .filter(|p| p.day <= as_of)
        .map(|p| Trip { day: p.day, product_type: p.product_type, destination: p.destination.as_deref() })
        .collect()
}

/// The monthly rate equivalent to an annual discount rate in basis points.
pub fn month_rate(annual_bp: u32) -> f64 {
    (1.0 + f64::from(annual_bp) / 10_000.0).powf(1.0 / 12.0) - 1.0
}

/// The first whole day (counted from the as-of date) by which `level`
/// purchases are expected, within the horizon; `None` if not by then.
/// `known` are expectations already computed, (t, E[Y(t)]) by t: as the
/// expectation grows with t they bracket the day before the bisection starts
/// (the CLV's month ends leave five halvings of a month).
fn time_to_expect(at: impl Fn(f64) -> Option<f64>, level: f64, known: &[(f64, f64)]) -> Option<i64> {
    let horizon = WINDOW_HORIZON_DAYS as i64;
    if at(horizon as f64)? < level {
        return None;
    }
    // E(lo) < level ≤ E(hi); E(0) = 0.
    let (mut lo, mut hi) = (0i64, horizon);
    for &(t, e) in known {
        if e < level && t.floor() as i64 > lo {
            lo = (t.floor() as i64).min(hi - 1);
        } else if e >= level && (t.ceil() as i64) < hi {
            hi = (t.ceil() as i64).max(lo + 1);
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at(mid as f64)? < level {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// Maps `0..n` through `f` on every available core, keeping the order.
fn parallel_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map(|p| p.get()).unwrap_or(1).clamp(1, 16);
    if threads == 1 || n < 10_000 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                scope.spawn(move || range.map(f).collect::<Vec<T>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("an evaluation thread panicked")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn buy(d: &str, yuan: i64, t: ProductType, dest: &str) -> Purchase {
        Purchase { day: day(d), amount: Money(yuan * 100), product_type: t, destination: Some(Arc::from(dest)) }
    }

    #[test]
    fn occasions_are_days_and_later_orders_are_ignored() {
        let c = CustomerInput {
            customer_id: 7,
            purchases: vec![
                buy("2024-01-10", 1000, ProductType::Nearby, "杭州"),
                buy("2024-01-10", 500, ProductType::Nearby, "杭州"),
                buy("2024-06-01", 3000, ProductType::LongHaul, "云南"),
                buy("2025-03-01", 9000, ProductType::International, "日本"),
            ],
            ..Default::default()
        };
        let e = evaluate(std::slice::from_ref(&c), day("2025-01-01"), &ValueSettings::default());
        let r = &e.results[0];
        assert_eq!(r.occasions, 2);
        assert_eq!(r.frequency, 1);
        assert_eq!(r.recency_days, 143);
        assert_eq!(r.t_days, 357);
        assert_eq!(r.total, Money(450_000));
        assert_eq!(r.monetary, Money(225_000));
        assert_eq!(r.last_purchase, Some(day("2024-06-01")));
        assert_eq!(r.cycle_due, Some(day("2024-06-01") + Duration::days(143)));
    }

    #[test]
    fn a_pinned_grade_wins_and_a_customer_without_purchases_is_d() {
        let rich = CustomerInput {
            customer_id: 1,
            purchases: vec![buy("2024-05-01", 50_000, ProductType::International, "法国")],
            ..Default::default()
        };
        let pinned = CustomerInput { customer_id: 2, pinned_grade: Some(Grade::A), ..Default::default() };
        let none = CustomerInput { customer_id: 3, ..Default::default() };
        let e = evaluate(&[rich, pinned, none], day("2025-01-01"), &ValueSettings::default());
        assert_eq!(e.results[0].grade, Grade::A);
        assert_eq!((e.results[1].grade, e.results[1].computed_grade), (Grade::A, Grade::D));
        assert_eq!(e.results[2].grade, Grade::D);
        assert!(e.results[2].rfm.is_none() && e.results[2].quadrant.is_none());
        assert_eq!(e.results[2].stage, LifecycleStage::Potential);
    }

    #[test]
    fn monthly_rate_compounds_to_the_annual_one() {
        let m = month_rate(1000);
        assert!(((1.0 + m).powi(12) - 1.10).abs() < 1e-12);
        assert_eq!(month_rate(0), 0.0);
    }

    /// A base simulated from a known BG/NBD process: the run fits the model,
    /// forecasts everyone, and the frequent buyers come out on top.
    #[test]
    fn a_simulated_base_is_fitted_and_forecast() {
        let mut seed = 42u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let as_of = day("2026-01-01");
        let start = day("2022-01-01");
        let mut customers = Vec::new();
        for id in 0..3000 {
            // Each customer buys every `gap` days, some often, some rarely.
            let gap = if id % 3 == 0 { 60.0 } else { 400.0 };
            let mut t = next() * 700.0;
            let mut purchases = Vec::new();
            let mut alive = true;
            while alive && t < 1461.0 {
                let d = start + Duration::days(t as i64);
                purchases.push(buy(&d.to_string(), 1000 + (next() * 4000.0) as i64, ProductType::Nearby, "苏州"));
                t += -gap * (1.0 - next()).ln();
                alive = next() > 0.02;
            }
            customers.push(CustomerInput { customer_id: id, purchases, ..Default::default() });
        }
        let e = evaluate(&customers, as_of, &ValueSettings::default());
        let m = e.models.bgnbd.expect("fitted");
        assert!(m.r > 0.0 && m.alpha > 0.0 && m.a > 0.0 && m.b > 0.0, "{m:?}");
        assert!(e.models.gamma_gamma.is_some());
        let mean = |often: bool| {
            let v: Vec<f64> = e
                .results
                .iter()
                .filter(|r| (r.customer_id % 3 == 0) == often)
                .filter_map(|r| r.expected.map(|x| x[1]))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(true) > 2.0 * mean(false), "{} vs {}", mean(true), mean(false));
        let g = e.models.gamma_gamma.unwrap();
        let settings = ValueSettings::default();
        let terms = ClvTerms {
            periods: settings.clv_months,
            period_length: MONTH_DAYS,
            discount_rate: month_rate(settings.discount_rate_bp),
        };
        let (mut windows, mut repeat_clvs) = (0, 0);
        for (r, c) in e.results.iter().zip(&customers) {
            if let Some((from, to)) = r.next_window {
                assert!(from >= as_of);
                if let Some(to) = to {
                    assert!(to >= from);
                }
                // The window opens on the first day by which a quarter of
                // a purchase is expected, and closes on the first by which
                // three quarters are.
                let s = summary(&facts(c, as_of, as_of, as_of), as_of).unwrap();
                for (day, level) in [(Some(from), 0.25), (to, 0.75)] {
                    let Some(day) = day else { continue };
                    let days = (day - as_of).num_days() as f64;
                    assert!(m.expected_purchases(&s, days).unwrap() >= level, "{r:?}");
                    assert!(m.expected_purchases(&s, days - 1.0).unwrap() < level, "{r:?}");
                }
                windows += 1;
            }
            assert!(r.clv.is_none_or(|c| c.0 >= 0), "{:?}", r.clv);
            // A repeat buyer's CLV, from the discounted purchases of the
            // summary, is Gamma-Gamma's CLV of the customer to the 分.
            let f = facts(c, as_of, as_of, as_of);
            if let (Some(spend), Some(s)) = (repeat_spend(&f), summary(&f, as_of)) {
                let direct = g.clv(&m, &s, &spend, &terms).unwrap();
                assert!((r.clv.unwrap().0 as f64 - direct * 100.0).abs() <= 1.0, "{r:?} vs {direct}");
                repeat_clvs += 1;
            }
        }
        assert!(windows > 500 && repeat_clvs > 500, "{windows} windows, {repeat_clvs} repeat CLVs");
        let a = e.results.iter().filter(|r| r.grade == Grade::A).count();
        assert!(a > 0 && a < 1500, "{a}");
    }
}
