//! The customer lifecycle stage (潜在 → 商机 → 回头客 → 忠诚, or 流失) derived
//! from purchase history, after the customer lifecycle of Dwyer, Schurr & Oh
//! (1987), "Developing Buyer-Seller Relationships", *Journal of Marketing*
//! 51(2) (awareness, exploration, expansion, commitment, dissolution), made
//! operational with explicit, ordered rules (see [`stage`]).
//!
//! "Gone quiet" is measured against the customer's own rhythm, the median gap
//! between their purchases ([`typical_gap`]), as well as a fixed horizon, and
//! against P(alive) from the BG/NBD model ([`super::bgnbd`]) when known.

use crate::customer::LifecycleStage;
use crate::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What the stage rules need to know about one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageInput {
    /// Number of purchase occasions (distinct purchase days).
    pub occasions: u32,
    /// Days since the last purchase, `None` if never bought.
    pub days_since_last: Option<u32>,
    /// The customer's [`typical_gap`] in days, if they bought on two days.
    pub typical_gap_days: Option<f64>,
    /// Whether an opportunity or quote is open.
    pub open_opportunity: bool,
    /// P(alive) from the BG/NBD model, if fitted.
    pub p_alive: Option<f64>,
}

/// The thresholds of the stage rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleRules {
    /// A customer silent for longer than this (and than three typical gaps)
    /// has churned. Default 730 days.
    pub churn_days: u32,
    /// A repeat customer whose P(alive) is below this has churned. Default 0.1.
    pub churn_p_alive: f64,
    /// Occasions needed to be loyal. Default 3.
    pub loyal_occasions: u32,
    /// P(alive) needed to be loyal, when known. Default 0.5.
    pub loyal_p_alive: f64,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules { churn_days: 730, churn_p_alive: 0.1, loyal_occasions: 3, loyal_p_alive: 0.5 }
    }
}

impl LifecycleRules {
    /// Checks the rules, naming fields `lifecycle_churn_days` (30..=3650),
    /// `lifecycle_churn_p_alive` (strictly between 0 and 1),
    /// `lifecycle_loyal_occasions` (2..=100) and `lifecycle_loyal_p_alive`
    /// (strictly between 0 and 1, and above the churn probability).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(30..=3650).contains(&self.churn_days) {
            errors.push(out_of_range("lifecycle_churn_days", "between 30 and 3650 days"));
        }
        if !is_open_probability(self.churn_p_alive) {
            errors.push(out_of_range("lifecycle_churn_p_alive", "between 0 and 1"));
        }
        if !(2..=100).contains(&self.loyal_occasions) {
            errors.push(out_of_range("lifecycle_loyal_occasions", "between 2 and 100"));
        }
        if !is_open_probability(self.loyal_p_alive) {
            errors.push(out_of_range("lifecycle_loyal_p_alive", "between 0 and 1"));
        } else if is_open_probability(self.churn_p_alive) && self.loyal_p_alive <= self.churn_p_alive {
            errors.push(FieldError::new(
                "lifecycle_loyal_p_alive",
                "not_increasing",
                "lifecycle_loyal_p_alive must be above lifecycle_churn_p_alive",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Whether `p` is a probability strictly between 0 and 1.
pub(crate) fn is_open_probability(p: f64) -> bool {
    p > 0.0 && p < 1.0
}

pub(crate) fn out_of_range(field: &str, range: &str) -> FieldError {
    FieldError::new(field, "out_of_range", format!("{field} must be {range}"))
}

/// The lifecycle stage by these rules, the first that applies:
///
/// 1. Never bought (`occasions == 0`): [`Opportunity`] if an opportunity is
///    open, otherwise [`Potential`].
/// 2. [`Churned`] if silent for longer than max(`churn_days`, 3 × typical
///    gap) days, or bought at least twice and P(alive) < `churn_p_alive`
///    (P(alive) is 1 by construction after a single purchase, so it says
///    nothing then).
/// 3. [`Loyal`] if at least `loyal_occasions` occasions, P(alive) ≥
///    `loyal_p_alive` (or unknown), and silent for at most max(365, 2 ×
///    typical gap) days.
/// 4. [`Repeat`] if bought at least twice.
/// 5. [`Opportunity`] after a single purchase: a first purchase makes the
///    customer a live prospect for the second, which is what the sales team
///    should work on; "repeat" is earned by the second purchase.
///
/// An unknown `days_since_last` (a buyer without a dated purchase) counts as
/// recent: missing data neither churns a customer nor bars them from loyal.
///
/// [`Potential`]: LifecycleStage::Potential
/// [`Opportunity`]: LifecycleStage::Opportunity
/// [`Repeat`]: LifecycleStage::Repeat
/// [`Loyal`]: LifecycleStage::Loyal
/// [`Churned`]: LifecycleStage::Churned
pub fn stage(i: &StageInput, rules: &LifecycleRules) -> LifecycleStage {
    if i.occasions == 0 {
        return if i.open_opportunity { LifecycleStage::Opportunity } else { LifecycleStage::Potential };
    }
    let gap = i.typical_gap_days.filter(|g| g.is_finite() && *g > 0.0).unwrap_or(0.0);
    let silent = i.days_since_last.map(f64::from);
    let churn_horizon = f64::from(rules.churn_days).max(3.0 * gap);
    let silent_too_long = silent.is_some_and(|d| d > churn_horizon);
    let unlikely_alive = i.occasions >= 2 && i.p_alive.is_some_and(|p| p < rules.churn_p_alive);
    if silent_too_long || unlikely_alive {
        return LifecycleStage::Churned;
    }
    let likely_alive = i.p_alive.is_none_or(|p| p >= rules.loyal_p_alive);
    let recent = silent.is_none_or(|d| d <= (2.0 * gap).max(365.0));
    if i.occasions >= rules.loyal_occasions && likely_alive && recent {
        return LifecycleStage::Loyal;
    }
    if i.occasions >= 2 {
        LifecycleStage::Repeat
    } else {
        LifecycleStage::Opportunity
    }
}

/// The median gap in days between consecutive distinct purchase days, in any
/// input order; `None` with fewer than two distinct days. An even number of
/// gaps gives the mean of the middle two.
pub fn typical_gap(days: &[NaiveDate]) -> Option<f64> {
    if days.len() < 2 {
        return None;
    }
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() < 2 {
        return None;
    }
    let mut gaps: Vec<i64> = sorted.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
    let n = gaps.len();
    let (lower_half, &mut upper, _) = gaps.select_nth_unstable(n / 2);
    if n % 2 == 1 {
        return Some(upper as f64);
    }
    let lower = lower_half.iter().copied().max().unwrap_or(upper);
    Some((lower + upper) as f64 / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleStage::*;

    fn input(occasions: u32, days_since_last: Option<u32>, gap: Option<f64>, p_alive: Option<f64>) -> StageInput {
        StageInput { occasions, days_since_last, typical_gap_days: gap, open_opportunity: false, p_alive }
    }

    fn st(i: StageInput) -> LifecycleStage {
        stage(&i, &LifecycleRules::default())
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn non_buyers_are_potential_or_opportunity() {
        assert_eq!(st(input(0, None, None, None)), Potential);
        assert_eq!(st(StageInput { open_opportunity: true, ..input(0, None, None, None) }), Opportunity);
        // Even silly data does not make a non-buyer churned.
        assert_eq!(st(input(0, Some(5000), None, Some(0.0))), Potential);
    }

    #[test]
    fn one_purchase_is_an_opportunity_until_it_gets_old() {
        assert_eq!(st(input(1, Some(10), None, Some(1.0))), Opportunity);
        assert_eq!(st(input(1, Some(730), None, None)), Opportunity);
        assert_eq!(st(input(1, Some(731), None, None)), Churned);
        // P(alive) does not churn a one-time buyer.
        assert_eq!(st(input(1, Some(10), None, Some(0.01))), Opportunity);
        // An open opportunity does not change a buyer's stage.
        assert_eq!(st(StageInput { open_opportunity: true, ..input(1, Some(731), None, None) }), Churned);
    }

    #[test]
    fn churn_horizon_stretches_with_a_long_rhythm() {
        // Buys every 300 days: silent for 800 is < 3 × 300.
        assert_eq!(st(input(3, Some(800), Some(300.0), None)), Repeat);
        assert_eq!(st(input(3, Some(900), Some(300.0), None)), Repeat);
        assert_eq!(st(input(3, Some(901), Some(300.0), None)), Churned);
        // A short rhythm never shortens the fixed horizon.
        assert_eq!(st(input(3, Some(700), Some(10.0), None)), Repeat);
        assert_eq!(st(input(3, Some(731), Some(10.0), None)), Churned);
    }

    #[test]
    fn low_p_alive_churns_repeat_buyers() {
        assert_eq!(st(input(2, Some(30), Some(30.0), Some(0.09))), Churned);
        assert_eq!(st(input(2, Some(30), Some(30.0), Some(0.1))), Repeat);
    }

    #[test]
    fn loyal_needs_occasions_liveliness_and_recency() {
        assert_eq!(st(input(3, Some(100), Some(60.0), Some(0.5))), Loyal);
        assert_eq!(st(input(3, Some(100), Some(60.0), None)), Loyal);
        assert_eq!(st(input(2, Some(100), Some(60.0), Some(0.9))), Repeat);
        assert_eq!(st(input(3, Some(100), Some(60.0), Some(0.49))), Repeat);
        // Recent means within a year, or two typical gaps if longer.
        assert_eq!(st(input(5, Some(365), Some(60.0), None)), Loyal);
        assert_eq!(st(input(5, Some(366), Some(60.0), None)), Repeat);
        assert_eq!(st(input(5, Some(400), Some(200.0), None)), Loyal);
        assert_eq!(st(input(5, Some(401), Some(200.0), None)), Repeat);
        // Unknown recency counts as recent.
        assert_eq!(st(input(5, None, None, None)), Loyal);
        let strict = LifecycleRules { loyal_occasions: 6, ..LifecycleRules::default() };
        assert_eq!(stage(&input(5, Some(10), None, None), &strict), Repeat);
    }

    #[test]
    fn bad_gaps_are_ignored() {
        assert_eq!(st(input(3, Some(731), Some(f64::NAN), None)), Churned);
        assert_eq!(st(input(3, Some(731), Some(-900.0), None)), Churned);
        assert_eq!(st(input(3, Some(100), Some(f64::INFINITY), None)), Loyal);
    }

    #[test]
    fn typical_gap_is_the_median_of_distinct_days() {
        assert_eq!(typical_gap(&[]), None);
        assert_eq!(typical_gap(&[d("2024-01-01")]), None);
        assert_eq!(typical_gap(&[d("2024-01-01"), d("2024-01-01")]), None);
        assert_eq!(typical_gap(&[d("2024-01-11"), d("2024-01-01")]), Some(10.0));
        // Gaps 10, 20 (the repeated day is one occasion): mean of the middle two.
        let days = [d("2024-01-31"), d("2024-01-01"), d("2024-01-11"), d("2024-01-11")];
        assert_eq!(typical_gap(&days), Some(15.0));
        // Gaps 1, 100, 30: median 30, not the mean.
        let days = [d("2024-01-01"), d("2024-01-02"), d("2024-04-11"), d("2024-05-11")];
        assert_eq!(typical_gap(&days), Some(30.0));
        // Across a leap day.
        assert_eq!(typical_gap(&[d("2024-02-28"), d("2024-03-01")]), Some(2.0));
    }

    #[test]
    fn rules_validate_and_load_from_partial_json() {
        assert_eq!(LifecycleRules::default().validate(), Ok(()));
        let bad = LifecycleRules { churn_days: 10, churn_p_alive: 0.0, loyal_occasions: 1, loyal_p_alive: f64::NAN };
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["lifecycle_churn_days", "lifecycle_churn_p_alive", "lifecycle_loyal_occasions", "lifecycle_loyal_p_alive"]
        );
        let crossed = LifecycleRules { churn_p_alive: 0.6, ..LifecycleRules::default() };
        let e = crossed.validate().unwrap_err();
        assert_eq!((e[0].field.as_str(), e[0].code), ("lifecycle_loyal_p_alive", "not_increasing"));
        let r: LifecycleRules = serde_json::from_str(r#"{"churn_days":365}"#).unwrap();
        assert_eq!(r, LifecycleRules { churn_days: 365, ..LifecycleRules::default() });
    }
}
