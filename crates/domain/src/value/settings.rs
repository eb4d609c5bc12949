//! The agency's settings for customer value analysis, stored as JSON: the
//! revenue window, the thresholds of [`super::abc`], [`super::lifecycle`] and
//! [`super::alerts`], the CLV horizon and discount rate (Gupta et al. 2006,
//! "Modeling Customer Lifetime Value", *Journal of Service Research* 9(2):
//! CLV as discounted expected margin over a finite horizon), and how often
//! the analysis runs by itself.
//!
//! Every field has a default and `#[serde(default)]`, so settings saved by an
//! older version, missing newer fields, still load.

use super::abc::AbcThresholds;
use super::alerts::AlertRules;
use super::lifecycle::{out_of_range, LifecycleRules};
use crate::codes::code_enum;
use crate::FieldError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

code_enum! {
    /// How often the value analysis runs by itself.
    pub enum Schedule {
        /// 不自动: only when someone starts it.
        Off => ("off", "不自动", "Off", ["manual", "手动"]),
        /// 每天.
        Daily => ("daily", "每天", "Daily", ["每日"]),
        /// 每周: once per calendar week (Monday to Sunday).
        Weekly => ("weekly", "每周", "Weekly", []),
        /// 每月: once per calendar month.
        Monthly => ("monthly", "每月", "Monthly", []),
    }
}

/// Settings of the customer value analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueSettings {
    /// Revenue window in days for ABC grades and the quadrant matrix.
    /// Default 1095 (three years).
    pub window_days: u32,
    /// ABC grade thresholds.
    pub abc: AbcThresholds,
    /// Lifecycle stage rules.
    pub lifecycle: LifecycleRules,
    /// Alert thresholds.
    pub alerts: AlertRules,
    /// Annual discount rate for CLV in basis points. Default 1000 (10%).
    pub discount_rate_bp: u32,
    /// CLV horizon in months. Default 36.
    pub clv_months: u32,
    /// How often the analysis runs by itself. Default off.
    pub schedule: Schedule,
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            window_days: 1095,
            abc: AbcThresholds::default(),
            lifecycle: LifecycleRules::default(),
            alerts: AlertRules::default(),
            discount_rate_bp: 1_000,
            clv_months: 36,
            schedule: Schedule::Off,
        }
    }
}

impl ValueSettings {
    /// Checks every field and returns all problems at once: `window_days`
    /// (30..=3650), `abc_a`/`abc_b`/`abc_c` ([`AbcThresholds::validate`]),
    /// `lifecycle_*` ([`LifecycleRules::validate`]), `churn_p_alive`,
    /// `decline_ratio`, `overdue_factor` ([`AlertRules::validate`]),
    /// `discount_rate` (at most 100%) and `clv_months` (1..=120).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(30..=3650).contains(&self.window_days) {
            errors.push(out_of_range("window_days", "between 30 and 3650 days"));
        }
        errors.extend(self.abc.validate().err().unwrap_or_default());
        errors.extend(self.lifecycle.validate().err().unwrap_or_default());
        errors.extend(self.alerts.validate().err().unwrap_or_default());
        if self.discount_rate_bp > 10_000 {
            errors.push(out_of_range("discount_rate", "at most 100%"));
        }
        if !(1..=120).contains(&self.clv_months) {
            errors.push(out_of_range("clv_months", "between 1 and 120 months"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Whether a scheduled run is due `today`, given the analysis date of the
/// last run: never when [`Schedule::Off`]; always if it never ran; otherwise
/// when `today` is in a later calendar period than the last run — a later
/// day, a later Monday-to-Sunday week, or a later month. A last run dated
/// after `today` (a clock set back) is not due.
pub fn schedule_due(schedule: Schedule, last_run_as_of: Option<NaiveDate>, today: NaiveDate) -> bool {
    if schedule == Schedule::Off {
        return false;
    }
    let Some(last) = last_run_as_of else {
        return true;
    };
    let week_start = |d: NaiveDate| d.num_days_from_ce() - d.weekday().num_days_from_monday() as i32;
    let month = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    match schedule {
        Schedule::Off => false,
        Schedule::Daily => today > last,
        Schedule::Weekly => week_start(today) > week_start(last),
        Schedule::Monthly => month(today) > month(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::BasisPoints;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fields(s: &ValueSettings) -> Vec<String> {
        s.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_are_valid() {
        let s = ValueSettings::default();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!((s.window_days, s.discount_rate_bp, s.clv_months), (1095, 1000, 36));
        assert_eq!(s.schedule, Schedule::Off);
    }

    #[test]
    fn every_problem_is_reported() {
        let mut s = ValueSettings { window_days: 29, discount_rate_bp: 10_001, clv_months: 0, ..Default::default() };
        s.abc.a = BasisPoints::new(0).unwrap();
        s.lifecycle.churn_days = 5000;
        s.alerts.churn_p_alive = 0.0;
        s.alerts.overdue_factor = 11.0;
        assert_eq!(
            fields(&s),
            [
                "window_days",
                "abc_a",
                "lifecycle_churn_days",
                "churn_p_alive",
                "overdue_factor",
                "discount_rate",
                "clv_months"
            ]
        );
        let edges =
            ValueSettings { window_days: 3650, discount_rate_bp: 10_000, clv_months: 120, ..Default::default() };
        assert!(fields(&edges).is_empty());
        let edges = ValueSettings { window_days: 30, discount_rate_bp: 0, clv_months: 1, ..Default::default() };
        assert!(fields(&edges).is_empty());
        assert_eq!(fields(&ValueSettings { window_days: 3651, ..Default::default() }), ["window_days"]);
        assert_eq!(fields(&ValueSettings { clv_months: 121, ..Default::default() }), ["clv_months"]);
    }

    #[test]
    fn json_round_trips_and_old_json_loads() {
        let s = ValueSettings { window_days: 730, schedule: Schedule::Weekly, ..Default::default() };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""schedule":"weekly""#), "{json}");
        assert!(json.contains(r#""abc":{"a":5000,"b":8000,"c":9500}"#), "{json}");
        assert_eq!(serde_json::from_str::<ValueSettings>(&json).unwrap(), s);
        assert_eq!(serde_json::from_str::<ValueSettings>("{}").unwrap(), ValueSettings::default());
        let old: ValueSettings = serde_json::from_str(r#"{"window_days":365,"abc":{"b":7000},"unknown":1}"#).unwrap();
        assert_eq!(old.window_days, 365);
        assert_eq!(old.abc.b.get(), 7000);
        assert_eq!(old.abc.a.get(), 5000);
        assert_eq!(old.lifecycle, LifecycleRules::default());
        // A threshold above 100% does not load.
        assert!(serde_json::from_str::<ValueSettings>(r#"{"abc":{"a":10001}}"#).is_err());
        assert!(serde_json::from_str::<ValueSettings>(r#"{"schedule":"hourly"}"#).is_err());
    }

    #[test]
    fn schedule_codes_round_trip() {
        for s in Schedule::ALL {
            assert_eq!(Schedule::from_code(s.code()), Some(s));
            assert_eq!(Schedule::parse("schedule", s.label_zh()).unwrap(), s);
            assert_eq!(Schedule::parse("schedule", s.label_en()).unwrap(), s);
        }
        assert_eq!(Schedule::parse("schedule", "手动").unwrap(), Schedule::Off);
    }

    #[test]
    fn off_is_never_due_and_a_first_run_always_is() {
        assert!(!schedule_due(Schedule::Off, None, d("2024-06-01")));
        assert!(!schedule_due(Schedule::Off, Some(d("2000-01-01")), d("2024-06-01")));
        for s in [Schedule::Daily, Schedule::Weekly, Schedule::Monthly] {
            assert!(schedule_due(s, None, d("2024-06-01")), "{s:?}");
            assert!(!schedule_due(s, Some(d("2024-06-01")), d("2024-06-01")), "{s:?}");
            // Clock set back.
            assert!(!schedule_due(s, Some(d("2024-06-02")), d("2024-06-01")), "{s:?}");
        }
    }

    #[test]
    fn periods_follow_the_calendar() {
        assert!(schedule_due(Schedule::Daily, Some(d("2024-06-01")), d("2024-06-02")));
        // 2024-06-09 is a Sunday, 2024-06-10 a Monday.
        assert!(!schedule_due(Schedule::Weekly, Some(d("2024-06-03")), d("2024-06-09")));
        assert!(schedule_due(Schedule::Weekly, Some(d("2024-06-09")), d("2024-06-10")));
        assert!(schedule_due(Schedule::Weekly, Some(d("2024-05-01")), d("2024-06-09")));
        // Across the year end, inside one week (2024-12-30 is a Monday).
        assert!(!schedule_due(Schedule::Weekly, Some(d("2024-12-30")), d("2025-01-05")));
        assert!(schedule_due(Schedule::Weekly, Some(d("2024-12-29")), d("2024-12-30")));
        assert!(!schedule_due(Schedule::Monthly, Some(d("2024-06-01")), d("2024-06-30")));
        assert!(schedule_due(Schedule::Monthly, Some(d("2024-06-30")), d("2024-07-01")));
        assert!(schedule_due(Schedule::Monthly, Some(d("2024-12-31")), d("2025-01-01")));
        assert!(!schedule_due(Schedule::Monthly, Some(d("2025-01-31")), d("2024-12-01")));
    }
}
