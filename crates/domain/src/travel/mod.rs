//! The travel business: the resource library, products, tour departures,
//! opportunities, quotes, orders, hotel stays and their money.
//!
//! Like the rest of the crate this is pure: the store persists these values,
//! the web layer parses forms into them, and the rules live here once.
//!
//! Records are plain structs with public fields and a `validate` method that
//! names every wrong field; values with an invariant of their own
//! ([`TripDates`], [`Party`], [`resource::Itinerary`], [`product::ProductCode`],
//! [`departure::DepartureCode`] …) can only be built valid.

pub mod departure;
pub mod finance;
pub mod hotel;
pub mod opportunity;
pub mod order;
pub mod product;
pub mod quote;
pub mod resource;

use crate::money::Money;
use crate::{FieldError, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::code_enum;

/// The change of a status from `from` to `to`, if `allowed` (the statuses that
/// may follow `from`) lists it; otherwise an `invalid_transition` error on
/// `field` naming both codes. Staying in the same status is not a change and
/// is refused like any other move the graph lacks.
fn transition<T: Copy + PartialEq>(
    field: &str,
    from: T,
    to: T,
    allowed: &[T],
    code: fn(T) -> &'static str,
) -> Result<T, FieldError> {
    if allowed.contains(&to) {
        Ok(to)
    } else {
        Err(FieldError::new(
            field,
            "invalid_transition",
            format!("{field} cannot change from {} to {}", code(from), code(to)),
        ))
    }
}

/// Checks a required one-line text: not blank, at most `max` characters, no
/// control characters.
fn check_text(errors: &mut FieldErrors, field: &str, text: &str, max: usize) {
    if text.trim().is_empty() {
        errors.push(FieldError::required(field));
    } else {
        check_optional_text(errors, field, Some(text), max);
    }
}

/// Checks an optional text: at most `max` characters, no control characters
/// other than line breaks.
fn check_optional_text(errors: &mut FieldErrors, field: &str, text: Option<&str>, max: usize) {
    let Some(text) = text else { return };
    if text.chars().count() > max {
        errors.push(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
    } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        errors.push(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
    }
}

/// Checks that an amount is not negative.
fn check_non_negative(errors: &mut FieldErrors, field: &str, amount: Money) {
    errors.check(amount.non_negative(field));
}

/// The first and last day of a tour, trip or order (both included); the last
/// day is never before the first. A day trip starts and ends the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDates")]
pub struct TripDates {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Deserialize)]
struct RawDates {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<RawDates> for TripDates {
    type Error = FieldError;

    fn try_from(r: RawDates) -> Result<TripDates, FieldError> {
        TripDates::new("end", r.start, r.end)
    }
}

impl TripDates {
    /// The dates from `start` to `end`; an `end` before `start` is an
    /// `ends_before_start` error on `field` (the end date's field, such as
    /// `returns_on`).
    pub fn new(field: &str, start: NaiveDate, end: NaiveDate) -> Result<TripDates, FieldError> {
        if end < start {
            return Err(FieldError::new(
                field,
                "ends_before_start",
                format!("{field} must not be before the start date {start}"),
            ));
        }
        Ok(TripDates { start, end })
    }

    /// The first day.
    pub fn start(self) -> NaiveDate {
        self.start
    }

    /// The last day.
    pub fn end(self) -> NaiveDate {
        self.end
    }

    /// The number of days, both ends included: a day trip is 1, "5天4晚" is 5.
    pub fn days(self) -> u32 {
        self.nights() + 1
    }

    /// The number of nights away.
    pub fn nights(self) -> u32 {
        u32::try_from((self.end - self.start).num_days()).unwrap_or(u32::MAX)
    }
}

/// The travellers of a booking, quote line or order: adults and children,
/// at least one person in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawParty")]
pub struct Party {
    adults: u32,
    children: u32,
}

#[derive(Deserialize)]
struct RawParty {
    adults: u32,
    children: u32,
}

impl TryFrom<RawParty> for Party {
    type Error = FieldError;

    fn try_from(r: RawParty) -> Result<Party, FieldError> {
        Party::new(r.adults, r.children)
    }
}

impl Party {
    /// A party of `adults` and `children`; nobody at all is a `no_travellers`
    /// error on the field `travellers`.
    pub fn new(adults: u32, children: u32) -> Result<Party, FieldError> {
        if adults == 0 && children == 0 {
            return Err(FieldError::new("travellers", "no_travellers", "at least one adult or child is required"));
        }
        Ok(Party { adults, children })
    }

    /// Parses the two counts as typed in a form (`adults`, `children`);
    /// empty means 0. Negative or non-whole numbers are errors on their field.
    pub fn parse(adults: &str, children: &str) -> Result<Party, FieldErrors> {
        let mut errors = FieldErrors::new();
        let a = errors.check(parse_count("adults", adults));
        let c = errors.check(parse_count("children", children));
        match (a, c) {
            (Some(a), Some(c)) => Party::new(a, c).map_err(FieldErrors::from),
            _ => Err(errors),
        }
    }

    /// The number of adults.
    pub fn adults(self) -> u32 {
        self.adults
    }

    /// The number of children.
    pub fn children(self) -> u32 {
        self.children
    }

    /// Everyone: the seats the party takes.
    pub fn total(self) -> u32 {
        self.adults.saturating_add(self.children)
    }

    /// The fare of the party: adults × adult price + children × child price.
    pub fn fare(self, adult_price: Money, child_price: Money) -> Option<Money> {
        adult_price.checked_mul(i64::from(self.adults))?.checked_add(child_price.checked_mul(i64::from(self.children))?)
    }
}

/// Parses a head count: empty is 0, otherwise whole digits only.
pub fn parse_count(field: &str, text: &str) -> Result<u32, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    if t.starts_with('-') {
        return Err(FieldError::new(field, "negative", format!("{field} must not be negative")));
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, "invalid_count", format!("{field} must be a whole number")));
    }
    t.parse().map_err(|_| FieldError::new(field, "too_large", format!("{field} is too large")))
}

#[cfg(test)]
fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Checks that every value of a code enum round-trips through its code, JSON
/// and every accepted spelling, and that nonsense lists the codes.
#[cfg(test)]
fn assert_code_enum<T: Copy + PartialEq + std::fmt::Debug + Serialize>(
    all: &[T],
    parse: impl Fn(&str) -> Result<T, FieldError>,
    from_code: impl Fn(&str) -> Option<T>,
    spellings: impl Fn(T) -> Vec<&'static str>,
    code: impl Fn(T) -> &'static str,
) {
    for &v in all {
        assert_eq!(from_code(code(v)), Some(v));
        assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{}\"", code(v)));
        for s in spellings(v) {
            assert_eq!(parse(s).unwrap(), v, "{s}");
            assert_eq!(parse(&format!("  {}\u{3000}", s.to_uppercase())).unwrap(), v, "{s}");
        }
    }
    let err = parse("nonsense").unwrap_err();
    assert_eq!(err.code, "invalid_choice");
    assert!(err.message.contains(code(all[0])), "{}", err.message);
}

/// Every `(from, to)` pair of `all` that `allowed` accepts, `from` in `all`
/// order: compared with the documented graph, it catches any move added or lost.
#[cfg(test)]
fn allowed_moves<T: Copy>(all: &[T], allowed: impl Fn(T, T) -> bool) -> Vec<(T, T)> {
    all.iter().flat_map(|&f| all.iter().map(move |&t| (f, t))).filter(|&(f, t)| allowed(f, t)).collect()
}

/// Runs [`assert_code_enum`] on a type declared with `code_enum!`.
#[cfg(test)]
macro_rules! check_code_enum {
    ($($t:ty),+ $(,)?) => {
        $(
            $crate::travel::assert_code_enum(
                &<$t>::ALL,
                |s| <$t>::parse("f", s),
                <$t>::from_code,
                |v| [v.code(), v.label_zh(), v.label_en()].into_iter().chain(v.aliases().iter().copied()).collect(),
                <$t>::code,
            );
        )+
    };
}
#[cfg(test)]
use check_code_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trip_dates_never_end_before_they_start() {
        let t = TripDates::new("returns_on", date("2027-01-15"), date("2027-01-19")).unwrap();
        assert_eq!((t.days(), t.nights()), (5, 4));
        let day_trip = TripDates::new("returns_on", date("2027-01-15"), date("2027-01-15")).unwrap();
        assert_eq!((day_trip.days(), day_trip.nights()), (1, 0));
        let e = TripDates::new("returns_on", date("2027-01-15"), date("2027-01-14")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("returns_on", "ends_before_start"));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"start":"2027-01-15","end":"2027-01-19"}"#);
        assert_eq!(serde_json::from_str::<TripDates>(&json).unwrap(), t);
        assert!(serde_json::from_str::<TripDates>(r#"{"start":"2027-01-15","end":"2027-01-01"}"#).is_err());
    }

    #[test]
    fn a_party_has_at_least_one_traveller() {
        let p = Party::parse("2", "").unwrap();
        assert_eq!((p.adults(), p.children(), p.total()), (2, 0, 2));
        assert_eq!(Party::parse("0", "1").unwrap().total(), 1);
        let e = Party::parse("0", " ").unwrap_err();
        assert_eq!((e.0[0].field.as_str(), e.0[0].code), ("travellers", "no_travellers"));
        let e = Party::parse("-1", "2.5").unwrap_err();
        let got: Vec<(&str, &str)> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(got, [("adults", "negative"), ("children", "invalid_count")]);
        assert_eq!(parse_count("adults", "99999999999").unwrap_err().code, "too_large");
        assert!(serde_json::from_str::<Party>(r#"{"adults":0,"children":0}"#).is_err());
        assert_eq!(serde_json::from_str::<Party>(r#"{"adults":1,"children":2}"#).unwrap().total(), 3);
    }

    #[test]
    fn a_party_fare_counts_adults_and_children_at_their_prices() {
        let p = Party::new(2, 1).unwrap();
        assert_eq!(p.fare(Money(398_000), Money(199_000)), Some(Money(995_000)));
        assert_eq!(Party::new(3, 0).unwrap().fare(Money(i64::MAX / 2), Money::ZERO), None);
    }

    #[test]
    fn transitions_follow_the_graph() {
        let code = |n: u8| ["a", "b", "c"][n as usize];
        assert_eq!(transition("status", 0u8, 1, &[1, 2], code), Ok(1));
        let e = transition("status", 0u8, 0, &[1, 2], code).unwrap_err();
        assert_eq!(e.code, "invalid_transition");
        assert!(e.message.contains("from a to a"), "{}", e.message);
    }

    #[test]
    fn texts_are_required_bounded_and_clean() {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "name", "  ", 10);
        check_text(&mut errors, "title", "一二三四五六七八九十一", 10);
        check_text(&mut errors, "city", "a\u{7}b", 10);
        check_text(&mut errors, "ok", "三亚", 10);
        check_optional_text(&mut errors, "note", Some("line\nbreak"), 20);
        check_optional_text(&mut errors, "note", None, 20);
        let got: Vec<(&str, &str)> = errors.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(got, [("name", "required"), ("title", "too_long"), ("city", "invalid")]);
    }
}
