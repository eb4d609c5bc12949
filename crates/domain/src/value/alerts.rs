//! Early warnings on valuable customers (客户预警): a fall in grade or
//! spend, a low probability of still being active, or a silence longer than
//! the customer's own rhythm.
//!
//! The churn warning uses P(alive) from the BG/NBD model (Fader, Hardie & Lee
//! 2005; see [`super::bgnbd`]); the value warning compares the customer's
//! spend rate in the last year with their own earlier yearly rate (a
//! "declining customer" trigger in the sense of event-driven marketing); the
//! overdue warning measures silence against the median gap between the
//! customer's purchases ([`super::lifecycle::typical_gap`]), the same rhythm
//! the lifecycle rules use.
//! Each rule is a simple threshold the user can tune in [`AlertRules`].

use super::abc::Grade;
use super::lifecycle::{is_open_probability, out_of_range};
use crate::codes::code_enum;
use crate::money::{BasisPoints, Money};
use crate::FieldError;
use serde::{Deserialize, Serialize};

code_enum! {
    /// The kind of an [`Alert`].
    pub enum AlertKind {
        /// 等级下降: the ABC grade fell since the last run.
        GradeDrop => ("grade_drop", "等级下降", "Grade drop", []),
        /// 价值下降: spending much less than before.
        ValueDecline => ("value_decline", "价值下降", "Value decline", []),
        /// 流失风险: a valuable customer is probably no longer active.
        ChurnRisk => ("churn_risk", "流失风险", "Churn risk", []),
        /// 超期未复购: silent much longer than usual.
        Overdue => ("overdue", "超期未复购", "Overdue", []),
    }
}

/// The thresholds of the alerts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertRules {
    /// Churn risk below this P(alive), for grades A and B. Default 0.3.
    pub churn_p_alive: f64,
    /// Value decline when the last year's spend is below this share of the
    /// earlier yearly rate, in basis points. Default 5000 (50%).
    pub decline_ratio_bp: u32,
    /// Overdue when silent for more than this many typical gaps. Default 1.5.
    pub overdue_factor: f64,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules { churn_p_alive: 0.3, decline_ratio_bp: 5_000, overdue_factor: 1.5 }
    }
}

impl AlertRules {
    /// Checks the rules, naming fields `churn_p_alive` (strictly between 0
    /// and 1), `decline_ratio` (above 0%, at most 100%) and `overdue_factor`
    /// (1 to 10).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_open_probability(self.churn_p_alive) {
            errors.push(out_of_range("churn_p_alive", "between 0 and 1"));
        }
        if !(1..=10_000).contains(&self.decline_ratio_bp) {
            errors.push(out_of_range("decline_ratio", "above 0% and at most 100%"));
        }
        if !(1.0..=10.0).contains(&self.overdue_factor) {
            errors.push(out_of_range("overdue_factor", "between 1 and 10"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What the alert rules need to know about one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertInput {
    /// The ABC grade now.
    pub grade: Grade,
    /// The ABC grade at the previous run, if any.
    pub previous_grade: Option<Grade>,
    /// P(alive) from the BG/NBD model, if fitted.
    pub p_alive: Option<f64>,
    /// Revenue in the 365 days up to the analysis date.
    pub recent_year_revenue: Money,
    /// Revenue before that, over `earlier_days` days.
    pub earlier_revenue: Money,
    /// Length of the earlier period in days (from the first purchase, or the
    /// window start, to a year ago).
    pub earlier_days: u32,
    /// Purchase occasions in the earlier period.
    pub earlier_occasions: u32,
    /// Days since the last purchase, `None` if never bought.
    pub days_since_last: Option<u32>,
    /// The customer's typical gap between purchases in days.
    pub typical_gap_days: Option<f64>,
    /// Number of purchase occasions.
    pub occasions: u32,
}

/// One warning about one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Alert {
    /// The grade fell.
    GradeDrop {
        /// The previous grade.
        from: Grade,
        /// The grade now.
        to: Grade,
    },
    /// Spending fell.
    ValueDecline {
        /// Spend in the last year.
        recent_per_year: Money,
        /// Spend per year before that, rounded to the 分.
        earlier_per_year: Money,
    },
    /// A valuable customer is probably no longer active.
    ChurnRisk {
        /// P(alive).
        p_alive: f64,
    },
    /// Silent much longer than usual.
    Overdue {
        /// Days since the last trip.
        days_since_last: u32,
        /// The customer's usual gap, rounded to whole days (at least 1).
        typical_gap_days: u32,
    },
}

impl Alert {
    /// The kind of alert.
    pub fn kind(&self) -> AlertKind {
        match self {
            Alert::GradeDrop { .. } => AlertKind::GradeDrop,
            Alert::ValueDecline { .. } => AlertKind::ValueDecline,
            Alert::ChurnRisk { .. } => AlertKind::ChurnRisk,
            Alert::Overdue { .. } => AlertKind::Overdue,
        }
    }

    /// The alert explained in Chinese, e.g. "等级由 A 降为 B".
    pub fn text_zh(&self) -> String {
        match *self {
            Alert::GradeDrop { from, to } => format!("等级由 {} 降为 {}", from.letter(), to.letter()),
            Alert::ValueDecline { recent_per_year, earlier_per_year } => format!(
                "近一年消费 {}，仅为以往年均 {} 的 {}",
                yuan(recent_per_year),
                yuan(earlier_per_year),
                share(recent_per_year, earlier_per_year)
            ),
            Alert::ChurnRisk { p_alive } => format!("仍活跃概率 P(alive) 仅 {}", probability(p_alive)),
            Alert::Overdue { days_since_last, typical_gap_days } => format!(
                "已 {days_since_last} 天未出行，是其惯常间隔 {typical_gap_days} 天的 {} 倍",
                multiple(days_since_last, typical_gap_days)
            ),
        }
    }

    /// The alert explained in English, e.g. "Grade dropped from A to B".
    pub fn text_en(&self) -> String {
        match *self {
            Alert::GradeDrop { from, to } => format!("Grade dropped from {} to {}", from.letter(), to.letter()),
            Alert::ValueDecline { recent_per_year, earlier_per_year } => format!(
                "Spent {} in the last year, only {} of the earlier yearly {}",
                yuan(recent_per_year),
                share(recent_per_year, earlier_per_year),
                yuan(earlier_per_year)
            ),
            Alert::ChurnRisk { p_alive } => {
                format!("Only {} likely to still be active (P(alive))", probability(p_alive))
            }
            Alert::Overdue { days_since_last, typical_gap_days } => format!(
                "No trip for {days_since_last} days, {} times the usual gap of {typical_gap_days} days",
                multiple(days_since_last, typical_gap_days)
            ),
        }
    }
}

/// `¥12,345.60`, `-¥3.00`.
fn yuan(m: Money) -> String {
    let abs = m.0.unsigned_abs();
    let digits = (abs / 100).to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if m.0 < 0 { "-" } else { "" };
    format!("{sign}¥{grouped}.{:02}", abs % 100)
}

/// `part` as a whole percentage of `whole`, rounded down (0% when not positive).
fn share(part: Money, whole: Money) -> String {
    if whole.0 <= 0 || part.0 <= 0 {
        return "0%".into();
    }
    let pct = (i128::from(part.0) * 100 / i128::from(whole.0)).min(100);
    format!("{pct}%")
}

fn probability(p: f64) -> String {
    let bp = (p.clamp(0.0, 1.0) * 100.0).round() as u32 * 100;
    BasisPoints::new(bp).unwrap_or(BasisPoints::FULL).to_string()
}

/// `days / gap` with one decimal, rounded down so it never overstates.
fn multiple(days: u32, gap: u32) -> String {
    let tenths = u64::from(days) * 10 / u64::from(gap.max(1));
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A spending rate needs at least this many earlier occasions: one trip
/// years ago is no rhythm to fall behind.
pub const MIN_EARLIER_OCCASIONS: u32 = 2;

/// No customer is overdue before this many days without a trip.
pub const MIN_OVERDUE_DAYS: u32 = 90;

/// Every alert that applies to a customer, in [`AlertKind::ALL`] order:
///
/// - **grade drop** when the previous grade is better than the current one;
/// - **value decline** when the earlier period is at least 365 days with
///   revenue above zero and at least [`MIN_EARLIER_OCCASIONS`] occasions
///   (a customer who travelled once has no rate to decline from; without
///   this, every one-time traveller of years ago raised a task), and the
///   last year's revenue is below
///   `decline_ratio_bp` of the earlier yearly rate (earlier revenue × 365 /
///   earlier days), compared exactly in integers;
/// - **churn risk** for grades A and B only, when P(alive) is known and below
///   `churn_p_alive`;
/// - **overdue** for customers with at least three occasions (two gaps make
///   a rhythm; one does not), when the days since the last purchase exceed
///   both `overdue_factor` × the typical gap and [`MIN_OVERDUE_DAYS`] (a
///   family booking twice in a week has no weekly rhythm worth a call).
pub fn check(i: &AlertInput, rules: &AlertRules) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if let Some(from) = i.previous_grade.filter(|p| p.is_better_than(i.grade)) {
        alerts.push(Alert::GradeDrop { from, to: i.grade });
    }
    if i.earlier_days >= 365 && i.earlier_revenue.0 > 0 && i.earlier_occasions >= MIN_EARLIER_OCCASIONS {
        let days = i128::from(i.earlier_days);
        let earlier = i128::from(i.earlier_revenue.0);
        // recent < ratio × earlier × 365 / days, multiplied out.
        let declined =
            i128::from(i.recent_year_revenue.0) * 10_000 * days < i128::from(rules.decline_ratio_bp) * earlier * 365;
        if declined {
            // Rounded half up; never above the earlier revenue since days ≥ 365.
            let per_year = (earlier * 365 * 2 + days) / (2 * days);
            alerts.push(Alert::ValueDecline {
                recent_per_year: i.recent_year_revenue,
                earlier_per_year: Money(per_year as i64),
            });
        }
    }
    if matches!(i.grade, Grade::A | Grade::B) {
        if let Some(p_alive) = i.p_alive.filter(|&p| p < rules.churn_p_alive) {
            alerts.push(Alert::ChurnRisk { p_alive });
        }
    }
    if i.occasions >= 3 {
        if let (Some(days), Some(gap)) = (i.days_since_last, i.typical_gap_days.filter(|g| g.is_finite() && *g > 0.0)) {
            if days > MIN_OVERDUE_DAYS && f64::from(days) > rules.overdue_factor * gap {
                let typical_gap_days = (gap.round() as u32).max(1);
                alerts.push(Alert::Overdue { days_since_last: days, typical_gap_days });
            }
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(grade: Grade) -> AlertInput {
        AlertInput {
            grade,
            previous_grade: None,
            p_alive: None,
            recent_year_revenue: Money::ZERO,
            earlier_revenue: Money::ZERO,
            earlier_days: 0,
            earlier_occasions: 0,
            days_since_last: None,
            typical_gap_days: None,
            occasions: 0,
        }
    }

    fn kinds(i: &AlertInput) -> Vec<AlertKind> {
        check(i, &AlertRules::default()).iter().map(Alert::kind).collect()
    }

    #[test]
    fn nothing_to_report() {
        assert!(check(&quiet(Grade::A), &AlertRules::default()).is_empty());
    }

    #[test]
    fn grade_drop_only_downwards() {
        let i = AlertInput { previous_grade: Some(Grade::A), ..quiet(Grade::B) };
        let a = check(&i, &AlertRules::default());
        assert_eq!(a, [Alert::GradeDrop { from: Grade::A, to: Grade::B }]);
        assert_eq!(a[0].text_zh(), "等级由 A 降为 B");
        assert_eq!(a[0].text_en(), "Grade dropped from A to B");
        assert!(kinds(&AlertInput { previous_grade: Some(Grade::C), ..quiet(Grade::B) }).is_empty());
        assert!(kinds(&AlertInput { previous_grade: Some(Grade::B), ..quiet(Grade::B) }).is_empty());
        assert_eq!(kinds(&AlertInput { previous_grade: Some(Grade::A), ..quiet(Grade::D) }), [AlertKind::GradeDrop]);
    }

    #[test]
    fn value_decline_compares_yearly_rates() {
        // Earlier: ¥18,000 over two years = ¥9,000 a year; last year ¥3,000 < 50%.
        let i = AlertInput {
            recent_year_revenue: Money(300_000),
            earlier_revenue: Money(1_800_000),
            earlier_days: 730,
            earlier_occasions: 2,
            ..quiet(Grade::B)
        };
        let a = check(&i, &AlertRules::default());
        assert_eq!(a, [Alert::ValueDecline { recent_per_year: Money(300_000), earlier_per_year: Money(900_000) }]);
        assert_eq!(a[0].text_zh(), "近一年消费 ¥3,000.00，仅为以往年均 ¥9,000.00 的 33%");
        assert_eq!(a[0].text_en(), "Spent ¥3,000.00 in the last year, only 33% of the earlier yearly ¥9,000.00");
        // Exactly half is not below half.
        let half = AlertInput { recent_year_revenue: Money(450_000), ..i };
        assert!(kinds(&half).is_empty());
        let just_below = AlertInput { recent_year_revenue: Money(449_999), ..i };
        assert_eq!(kinds(&just_below), [AlertKind::ValueDecline]);
        // Nothing at all last year is a decline.
        assert_eq!(kinds(&AlertInput { recent_year_revenue: Money::ZERO, ..i }), [AlertKind::ValueDecline]);
        // Too short a history, or nothing earlier: no comparison.
        assert!(kinds(&AlertInput { earlier_days: 364, ..i }).is_empty());
        assert!(kinds(&AlertInput { earlier_revenue: Money::ZERO, ..i }).is_empty());
        assert!(kinds(&AlertInput { earlier_revenue: Money(-5), ..i }).is_empty());
        // One earlier trip is no rate to decline from.
        assert!(kinds(&AlertInput { earlier_occasions: 1, ..i }).is_empty());
        // The ratio is a setting.
        let strict = AlertRules { decline_ratio_bp: 3_000, ..AlertRules::default() };
        assert!(check(&i, &strict).is_empty());
        // The earlier yearly rate rounds to the nearest 分: 1000 × 365 / 366 = 997.27.
        let odd = AlertInput {
            recent_year_revenue: Money::ZERO,
            earlier_revenue: Money(1_000),
            earlier_days: 366,
            earlier_occasions: 3,
            ..quiet(Grade::C)
        };
        assert_eq!(
            check(&odd, &AlertRules::default()),
            [Alert::ValueDecline { recent_per_year: Money::ZERO, earlier_per_year: Money(997) }]
        );
        // Huge amounts do not overflow.
        let huge = AlertInput {
            recent_year_revenue: Money(i64::MAX),
            earlier_revenue: Money(i64::MAX),
            earlier_days: u32::MAX,
            earlier_occasions: u32::MAX,
            ..quiet(Grade::A)
        };
        assert!(kinds(&huge).is_empty());
    }

    #[test]
    fn churn_risk_only_for_valuable_customers() {
        let i = AlertInput { p_alive: Some(0.18), ..quiet(Grade::A) };
        let a = check(&i, &AlertRules::default());
        assert_eq!(a, [Alert::ChurnRisk { p_alive: 0.18 }]);
        assert_eq!(a[0].text_zh(), "仍活跃概率 P(alive) 仅 18%");
        assert_eq!(a[0].text_en(), "Only 18% likely to still be active (P(alive))");
        assert_eq!(kinds(&AlertInput { grade: Grade::B, ..i }), [AlertKind::ChurnRisk]);
        assert!(kinds(&AlertInput { grade: Grade::C, ..i }).is_empty());
        assert!(kinds(&AlertInput { grade: Grade::D, ..i }).is_empty());
        assert!(kinds(&AlertInput { p_alive: Some(0.3), ..i }).is_empty());
        assert!(kinds(&AlertInput { p_alive: None, ..i }).is_empty());
        assert_eq!(Alert::ChurnRisk { p_alive: 0.004 }.text_zh(), "仍活跃概率 P(alive) 仅 0%");
    }

    #[test]
    fn overdue_against_the_own_rhythm() {
        let i =
            AlertInput { occasions: 3, days_since_last: Some(420), typical_gap_days: Some(200.0), ..quiet(Grade::C) };
        let a = check(&i, &AlertRules::default());
        assert_eq!(a, [Alert::Overdue { days_since_last: 420, typical_gap_days: 200 }]);
        assert_eq!(a[0].text_zh(), "已 420 天未出行，是其惯常间隔 200 天的 2.1 倍");
        assert_eq!(a[0].text_en(), "No trip for 420 days, 2.1 times the usual gap of 200 days");
        // 1.5 × 200 = 300: exactly at the limit is not overdue.
        assert!(kinds(&AlertInput { days_since_last: Some(300), ..i }).is_empty());
        assert_eq!(kinds(&AlertInput { days_since_last: Some(301), ..i }), [AlertKind::Overdue]);
        // One or two purchases make no rhythm; unusable gaps are ignored.
        assert!(kinds(&AlertInput { occasions: 1, ..i }).is_empty());
        assert!(kinds(&AlertInput { occasions: 2, ..i }).is_empty());
        assert!(kinds(&AlertInput { typical_gap_days: None, ..i }).is_empty());
        assert!(kinds(&AlertInput { typical_gap_days: Some(0.0), ..i }).is_empty());
        assert!(kinds(&AlertInput { typical_gap_days: Some(f64::NAN), ..i }).is_empty());
        assert!(kinds(&AlertInput { days_since_last: None, ..i }).is_empty());
        // A tiny gap is shown as at least one day, and nobody is overdue
        // within MIN_OVERDUE_DAYS.
        let tiny = AlertInput { typical_gap_days: Some(0.2), days_since_last: Some(90), ..i };
        assert!(check(&tiny, &AlertRules::default()).is_empty());
        let tiny = AlertInput { days_since_last: Some(91), ..tiny };
        assert_eq!(check(&tiny, &AlertRules::default()), [Alert::Overdue { days_since_last: 91, typical_gap_days: 1 }]);
    }

    #[test]
    fn several_alerts_come_in_kind_order() {
        let i = AlertInput {
            grade: Grade::B,
            previous_grade: Some(Grade::A),
            p_alive: Some(0.1),
            recent_year_revenue: Money::ZERO,
            earlier_revenue: Money(100_000),
            earlier_days: 400,
            earlier_occasions: 3,
            days_since_last: Some(500),
            typical_gap_days: Some(100.0),
            occasions: 4,
        };
        assert_eq!(kinds(&i), AlertKind::ALL);
    }

    #[test]
    fn money_is_shown_with_separators() {
        assert_eq!(yuan(Money(0)), "¥0.00");
        assert_eq!(yuan(Money(99_999)), "¥999.99");
        assert_eq!(yuan(Money(100_000)), "¥1,000.00");
        assert_eq!(yuan(Money(123_456_789)), "¥1,234,567.89");
        assert_eq!(yuan(Money(-300)), "-¥3.00");
        assert_eq!(yuan(Money(i64::MIN)), "-¥92,233,720,368,547,758.08");
        assert_eq!(multiple(299, 200), "1.4");
        assert_eq!(multiple(5, 0), "5.0");
    }

    #[test]
    fn rules_validate() {
        assert_eq!(AlertRules::default().validate(), Ok(()));
        let bad = AlertRules { churn_p_alive: 1.0, decline_ratio_bp: 0, overdue_factor: f64::NAN };
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["churn_p_alive", "decline_ratio", "overdue_factor"]);
        let bad = AlertRules { churn_p_alive: 0.0, decline_ratio_bp: 10_001, overdue_factor: 0.5 };
        assert_eq!(bad.validate().unwrap_err().len(), 3);
        let edge = AlertRules { churn_p_alive: 0.99, decline_ratio_bp: 10_000, overdue_factor: 1.0 };
        assert_eq!(edge.validate(), Ok(()));
        let r: AlertRules = serde_json::from_str(r#"{"overdue_factor":2.0}"#).unwrap();
        assert_eq!(r, AlertRules { overdue_factor: 2.0, ..AlertRules::default() });
    }

    #[test]
    fn kind_codes_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::from_code(k.code()), Some(k));
            assert_eq!(AlertKind::parse("kind", k.label_zh()).unwrap(), k);
        }
    }
}
