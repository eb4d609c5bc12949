//! The business calendar: weekly opening hours, public holidays and the
//! adjusted working days (调休) that Chinese holidays bring with them.
//!
//! SLA clocks and care schedules count time only while the business is open.

use crate::FieldError;
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Opening hours of one weekday, in minutes after midnight; `None` is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    /// Opening minute (0..1440).
    pub open: u16,
    /// Closing minute, after `open` (1..=1440).
    pub close: u16,
}

/// Opening hours for each day of the week, Monday first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours(pub [Option<DayHours>; 7]);

impl Default for WeeklyHours {
    /// 09:00–18:00 Monday to Friday, 09:00–17:00 Saturday, closed Sunday:
    /// the usual hours of a Chinese travel agency's shop front.
    fn default() -> Self {
        let day = Some(DayHours { open: 9 * 60, close: 18 * 60 });
        let sat = Some(DayHours { open: 9 * 60, close: 17 * 60 });
        WeeklyHours([day, day, day, day, day, sat, None])
    }
}

impl WeeklyHours {
    /// Builds the week from `"HH:MM"` pairs (empty strings for a closed day),
    /// naming the weekday of any error (`hours.mon`).
    pub fn parse(days: [(&str, &str); 7]) -> Result<WeeklyHours, Vec<FieldError>> {
        let mut out = [None; 7];
        let mut errors = Vec::new();
        for (i, (open, close)) in days.iter().enumerate() {
            let field = format!("hours.{}", WEEKDAY_CODES[i]);
            match (open.trim(), close.trim()) {
                ("", "") => {}
                (o, c) => match (parse_hhmm(o), parse_hhmm(c)) {
                    (Some(o), Some(c)) if o < c => out[i] = Some(DayHours { open: o, close: c }),
                    (Some(_), Some(_)) => errors.push(FieldError::new(
                        field,
                        "closes_before_opening",
                        "closing time must be after opening time",
                    )),
                    _ => errors.push(FieldError::new(
                        field,
                        "invalid_time",
                        "times must be HH:MM (for example 09:00), or both empty for a closed day",
                    )),
                },
            }
        }
        if errors.is_empty() {
            Ok(WeeklyHours(out))
        } else {
            Err(errors)
        }
    }

    /// The hours of `weekday`.
    pub fn on(&self, weekday: Weekday) -> Option<DayHours> {
        self.0[weekday.num_days_from_monday() as usize]
    }
}

/// Short codes of the weekdays, Monday first, as used in field names.
pub const WEEKDAY_CODES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_hhmm(s: &str) -> Option<u16> {
    if s == "24:00" {
        return Some(1440);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M").ok()?;
    Some((t.hour() * 60 + t.minute()) as u16)
}

/// Formats minutes after midnight as `HH:MM`.
pub fn format_hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// What a calendar date is, beyond its weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday: closed whatever the weekday.
    Holiday,
    /// An adjusted working day (调休上班): open with the hours of a normal
    /// weekday even though it falls on a weekend.
    Workday,
}

impl DayKind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    /// Parses a stored code.
    pub fn from_code(s: &str) -> Option<DayKind> {
        match s {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// Weekly hours plus the exceptions of the holiday calendar.
#[derive(Debug, Clone, Default)]
pub struct BusinessCalendar {
    /// The normal week.
    pub hours: WeeklyHours,
    /// Dates that differ from the normal week.
    pub exceptions: BTreeMap<NaiveDate, DayKind>,
}

impl BusinessCalendar {
    /// The opening hours on `date`, or `None` when closed all day.
    ///
    /// An adjusted working day takes Monday's hours (the statutory
    /// arrangement is "work as on a normal weekday").
    pub fn hours_on(&self, date: NaiveDate) -> Option<DayHours> {
        match self.exceptions.get(&date) {
            Some(DayKind::Holiday) => None,
            Some(DayKind::Workday) => self.hours.on(Weekday::Mon),
            None => self.hours.on(date.weekday()),
        }
    }

    /// Whether `date` is a business day.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        self.hours_on(date).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_close_and_adjusted_workdays_open() {
        let mut cal = BusinessCalendar::default();
        // National Day 2026: 1–7 October off, Saturday 10 October worked.
        cal.exceptions.insert(d("2026-10-01"), DayKind::Holiday);
        cal.exceptions.insert(d("2026-10-10"), DayKind::Workday);
        assert!(!cal.is_business_day(d("2026-10-01")), "Thursday holiday");
        assert!(cal.is_business_day(d("2026-10-09")), "ordinary Friday");
        assert_eq!(cal.hours_on(d("2026-10-10")), Some(DayHours { open: 540, close: 1080 }));
        assert!(!cal.is_business_day(d("2026-10-11")), "ordinary Sunday");
        assert_eq!(cal.hours_on(d("2026-10-17")), Some(DayHours { open: 540, close: 1020 }), "Saturday hours");
    }

    #[test]
    fn parse_names_the_wrong_day() {
        let mut days = [("09:00", "18:00"); 7];
        days[6] = ("", "");
        assert!(WeeklyHours::parse(days).is_ok());
        days[2] = ("18:00", "09:00");
        days[4] = ("9am", "6pm");
        let errs = WeeklyHours::parse(days).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["hours.wed", "hours.fri"]);
        assert_eq!(errs[0].code, "closes_before_opening");
    }

    #[test]
    fn hhmm_round_trips() {
        assert_eq!(parse_hhmm("08:30"), Some(510));
        assert_eq!(format_hhmm(510), "08:30");
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("25:00"), None);
    }
}
