//! Tour departures (团期): one dated run of a product, with its seats,
//! prices, leader and status.

use super::product::ProductCode;
use super::{check_non_negative, check_optional_text, code_enum, transition, TripDates};
use crate::money::Money;
use crate::{FieldError, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

code_enum! {
    /// Where a departure stands.
    pub enum DepartureStatus {
        /// 计划中: being prepared, not on sale.
        Planning => ("planning", "计划中", "Planning", ["计划"]),
        /// 收客中: on sale.
        Open => ("open", "收客中", "Open", ["报名中", "开放"]),
        /// 已满团: every seat sold.
        Full => ("full", "已满团", "Full", ["满团", "已满"]),
        /// 已出团: on the road.
        Departed => ("departed", "已出团", "Departed", ["出团", "出发"]),
        /// 已回团: back home; the departure is closed.
        Returned => ("returned", "已回团", "Returned", ["回团"]),
        /// 已取消.
        Cancelled => ("cancelled", "已取消", "Cancelled", ["取消", "canceled"]),
    }
}

impl DepartureStatus {
    /// The statuses this one may change to:
    ///
    /// planning → open | cancelled; open → full | departed | cancelled;
    /// full → open (a seat freed) | departed | cancelled; departed → returned.
    /// Returned and cancelled are final. A departure on sale is not taken
    /// back to planning: customers may already hold seats on it.
    pub fn next(self) -> &'static [DepartureStatus] {
        use DepartureStatus::*;
        match self {
            Planning => &[Open, Cancelled],
            Open => &[Full, Departed, Cancelled],
            Full => &[Open, Departed, Cancelled],
            Departed => &[Returned],
            Returned | Cancelled => &[],
        }
    }

    /// Changes to `to` if [`Self::next`] allows it.
    pub fn transition(self, to: DepartureStatus) -> Result<DepartureStatus, FieldError> {
        transition("status", self, to, self.next(), DepartureStatus::code)
    }

    /// Whether nothing can follow.
    pub fn is_final(self) -> bool {
        self.next().is_empty()
    }

    /// Whether seats may be sold: only while open.
    pub fn takes_bookings(self) -> bool {
        self == DepartureStatus::Open
    }

    /// The status once `booked` of `capacity` seats are sold: an open
    /// departure with no seat left becomes full, a full one with a seat
    /// freed opens again; any other status stays as it is.
    pub fn for_seats(self, capacity: u32, booked: u32) -> DepartureStatus {
        match self {
            DepartureStatus::Open if booked >= capacity => DepartureStatus::Full,
            DepartureStatus::Full if booked < capacity => DepartureStatus::Open,
            other => other,
        }
    }
}

/// A departure's code: the product code, a dash and the departure date as
/// `YYYYMMDD` (`HN5D-20270115`). A second or later departure of the same
/// product on the same day adds a dash and its number (`HN5D-20270115-2`,
/// up to 99). Operators read the product and the date straight from it on
/// manifests and vouchers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct DepartureCode {
    product: ProductCode,
    date: NaiveDate,
    seq: u8,
}

impl DepartureCode {
    /// The code of departure number `seq` (1–99) of `product` on `date`.
    pub fn new(product: ProductCode, date: NaiveDate, seq: u8) -> Option<DepartureCode> {
        (1..=99).contains(&seq).then_some(DepartureCode { product, date, seq })
    }

    /// The first code of `product` on `date` not among `taken`.
    pub fn first_free<'a>(
        product: &ProductCode,
        date: NaiveDate,
        taken: impl IntoIterator<Item = &'a DepartureCode>,
    ) -> Option<DepartureCode> {
        let used: Vec<u8> =
            taken.into_iter().filter(|c| &c.product == product && c.date == date).map(|c| c.seq).collect();
        (1..=99).find(|n| !used.contains(n)).and_then(|n| DepartureCode::new(product.clone(), date, n))
    }

    /// Parses `HN5D-20270115` or `HN5D-20270115-2` (lower case accepted).
    pub fn parse(field: &str, text: &str) -> Result<DepartureCode, FieldError> {
        if text.trim().is_empty() {
            return Err(FieldError::required(field));
        }
        let bad = || {
            FieldError::new(
                field,
                "invalid_departure_code",
                format!(
                    "{field} must be a product code, a dash and the date, such as HN5D-20270115 or HN5D-20270115-2"
                ),
            )
        };
        let parts: Vec<&str> = text.trim().split('-').collect();
        let (product, date, seq) = match parts[..] {
            [p, d] => (p, d, "1"),
            [p, d, n] if n != "1" && !n.starts_with('0') => (p, d, n),
            _ => return Err(bad()),
        };
        let product = ProductCode::parse(field, product).map_err(|_| bad())?;
        let date = NaiveDate::parse_from_str(date, "%Y%m%d").ok().filter(|_| date.len() == 8).ok_or_else(bad)?;
        let seq = seq.parse().ok().filter(|_| seq.bytes().all(|b| b.is_ascii_digit())).ok_or_else(bad)?;
        DepartureCode::new(product, date, seq).ok_or_else(bad)
    }

    /// The product's code.
    pub fn product(&self) -> &ProductCode {
        &self.product
    }

    /// The departure date in the code.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Which departure of the day it is, from 1.
    pub fn seq(&self) -> u8 {
        self.seq
    }
}

impl fmt::Display for DepartureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.product, self.date.format("%Y%m%d"))?;
        if self.seq > 1 {
            write!(f, "-{}", self.seq)?;
        }
        Ok(())
    }
}

impl From<DepartureCode> for String {
    fn from(c: DepartureCode) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for DepartureCode {
    type Error = FieldError;

    fn try_from(s: String) -> Result<DepartureCode, FieldError> {
        DepartureCode::parse("code", &s)
    }
}

/// One dated run of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    /// Its code, which carries the departure date.
    pub code: DepartureCode,
    /// Out and back.
    pub dates: TripDates,
    /// The tour leader (领队) or guide.
    pub leader: Option<String>,
    /// Seats for sale.
    pub capacity: u32,
    /// The price for an adult on this departure.
    pub adult_price: Money,
    /// The price for a child.
    pub child_price: Money,
    /// Where it stands.
    pub status: DepartureStatus,
}

impl Departure {
    /// Capacity above zero and not below the `booked` seats already sold;
    /// prices not negative; the code's date is the departure date. (The
    /// return date is never before it: [`TripDates`] sees to that.)
    pub fn validate(&self, booked: u32) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.code.date() != self.dates.start() {
            errors.push(FieldError::new(
                "code",
                "code_date_mismatch",
                format!("code {} does not carry the departure date {}", self.code, self.dates.start()),
            ));
        }
        check_optional_text(&mut errors, "leader", self.leader.as_deref(), 50);
        if self.capacity == 0 {
            errors.push(FieldError::new("capacity", "invalid_capacity", "capacity must be at least 1"));
        } else if self.capacity < booked {
            errors.push(FieldError::new(
                "capacity",
                "below_booked",
                format!("capacity {} is below the {booked} seats already sold", self.capacity),
            ));
        }
        check_non_negative(&mut errors, "adult_price", self.adult_price);
        check_non_negative(&mut errors, "child_price", self.child_price);
        errors.into_result()
    }

    /// Sells `wanted` more seats when `booked` are sold: refused unless the
    /// departure is open and has the seats. Answers the new count and the
    /// status it should now have (full when the last seat goes).
    pub fn book(&self, booked: u32, wanted: u32) -> Result<SeatBooking, SeatsError> {
        if !self.status.takes_bookings() {
            return Err(SeatsError::NotOpen(self.status));
        }
        let booked = booking_request(self.capacity, booked, wanted)?;
        Ok(SeatBooking {
            booked,
            left: seats_left(self.capacity, booked),
            status: self.status.for_seats(self.capacity, booked),
        })
    }
}

/// The outcome of [`Departure::book`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeatBooking {
    /// Seats sold, this booking included.
    pub booked: u32,
    /// Seats still for sale.
    pub left: u32,
    /// The departure's status after the booking.
    pub status: DepartureStatus,
}

/// Why seats cannot be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeatsError {
    /// A booking for nobody.
    #[error("at least one seat must be requested")]
    NoneRequested,
    /// More seats than are left.
    #[error("only {left} seats left; {wanted} requested")]
    Overbooked {
        /// Seats requested.
        wanted: u32,
        /// Seats left.
        left: u32,
    },
    /// The departure is not on sale.
    #[error("the departure is not open for booking (status {})", .0.code())]
    NotOpen(DepartureStatus),
}

impl SeatsError {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            SeatsError::NoneRequested => "no_travellers",
            SeatsError::Overbooked { .. } => "overbooked",
            SeatsError::NotOpen(_) => "not_open",
        }
    }
}

impl From<SeatsError> for FieldError {
    /// The error on the field `travellers`, where the form asks for seats.
    fn from(e: SeatsError) -> FieldError {
        FieldError::new("travellers", e.code(), e.to_string())
    }
}

/// Seats still for sale: zero, never negative, when more were sold than the
/// capacity (which [`Departure::validate`] prevents, but old data may hold).
pub fn seats_left(capacity: u32, booked: u32) -> u32 {
    capacity.saturating_sub(booked)
}

/// The seats sold once `wanted` more are sold, if they fit: requesting more
/// than [`seats_left`] is [`SeatsError::Overbooked`], requesting none
/// [`SeatsError::NoneRequested`].
pub fn booking_request(capacity: u32, booked: u32, wanted: u32) -> Result<u32, SeatsError> {
    if wanted == 0 {
        return Err(SeatsError::NoneRequested);
    }
    let left = seats_left(capacity, booked);
    if wanted > left {
        return Err(SeatsError::Overbooked { wanted, left });
    }
    Ok(booked + wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::{allowed_moves, check_code_enum, date};

    fn code(s: &str) -> DepartureCode {
        DepartureCode::parse("code", s).unwrap()
    }

    fn departure() -> Departure {
        Departure {
            code: code("HN5D-20270115"),
            dates: TripDates::new("returns_on", date("2027-01-15"), date("2027-01-19")).unwrap(),
            leader: Some("李导".into()),
            capacity: 30,
            adult_price: Money(398_000),
            child_price: Money(199_000),
            status: DepartureStatus::Open,
        }
    }

    fn problems(r: Result<(), FieldErrors>) -> Vec<(String, &'static str)> {
        r.err().map(|e| e.0.into_iter().map(|e| (e.field, e.code)).collect()).unwrap_or_default()
    }

    #[test]
    fn statuses_move_along_the_graph_only() {
        use DepartureStatus::*;
        check_code_enum!(DepartureStatus);
        let moves = allowed_moves(&DepartureStatus::ALL, |f, t| f.transition(t) == Ok(t));
        assert_eq!(
            moves,
            [
                (Planning, Open),
                (Planning, Cancelled),
                (Open, Full),
                (Open, Departed),
                (Open, Cancelled),
                (Full, Open),
                (Full, Departed),
                (Full, Cancelled),
                (Departed, Returned),
            ]
        );
        assert_eq!(Open.transition(Planning).unwrap_err().code, "invalid_transition");
        assert!(Returned.is_final() && Cancelled.is_final() && !Departed.is_final());
        // Every status is reachable from planning.
        let mut reached = vec![Planning];
        while let Some(s) = reached.iter().flat_map(|s| s.next()).find(|s| !reached.contains(s)).copied() {
            reached.push(s);
        }
        assert_eq!(reached.len(), DepartureStatus::ALL.len());
    }

    #[test]
    fn seats_fill_and_free_the_status() {
        use DepartureStatus::*;
        assert_eq!(Open.for_seats(30, 30), Full);
        assert_eq!(Open.for_seats(30, 29), Open);
        assert_eq!(Full.for_seats(30, 29), Open);
        assert_eq!(Departed.for_seats(30, 10), Departed);
        assert_eq!(Planning.for_seats(30, 30), Planning);
    }

    #[test]
    fn codes_carry_product_date_and_number() {
        let c = code("hn5d-20270115");
        assert_eq!((c.product().as_str(), c.date(), c.seq()), ("HN5D", date("2027-01-15"), 1));
        assert_eq!(c.to_string(), "HN5D-20270115");
        let second = code("HN5D-20270115-2");
        assert_eq!((second.seq(), second.to_string().as_str()), (2, "HN5D-20270115-2"));
        for bad in ["HN5D", "HN5D-2027-01-15", "HN5D-20270230", "HN5D-270115", "HN5D-20270115-1", "HN5D-20270115-0"] {
            assert_eq!(DepartureCode::parse("code", bad).unwrap_err().code, "invalid_departure_code", "{bad}");
        }
        for bad in ["HN5D-20270115-100", "HN5D-20270115-02", "HN5D-20270115-x", "5D-20270115", "HN5D-20270115-2-3"] {
            assert!(DepartureCode::parse("code", bad).is_err(), "{bad}");
        }
        let hn = ProductCode::parse("p", "HN5D").unwrap();
        let taken = [code("HN5D-20270115"), code("HN5D-20270115-3"), code("HN5D-20270116"), code("JP7-20270115-2")];
        assert_eq!(DepartureCode::first_free(&hn, date("2027-01-15"), &taken), Some(code("HN5D-20270115-2")));
        assert_eq!(DepartureCode::first_free(&hn, date("2027-01-17"), &taken), Some(code("HN5D-20270117")));
        assert_eq!(serde_json::to_string(&second).unwrap(), "\"HN5D-20270115-2\"");
    }

    #[test]
    fn departures_validate_capacity_prices_and_code() {
        let d = departure();
        assert!(d.validate(30).is_ok());
        assert_eq!(problems(d.validate(31)), [("capacity".into(), "below_booked")]);
        let mut d = departure();
        d.capacity = 0;
        d.adult_price = Money(-1);
        d.child_price = Money(-1);
        d.code = code("HN5D-20270116");
        assert_eq!(
            problems(d.validate(0)),
            [
                ("code".into(), "code_date_mismatch"),
                ("capacity".into(), "invalid_capacity"),
                ("adult_price".into(), "negative"),
                ("child_price".into(), "negative")
            ]
        );
    }

    #[test]
    fn seat_arithmetic_refuses_overbooking() {
        assert_eq!(seats_left(30, 12), 18);
        assert_eq!(seats_left(30, 35), 0);
        assert_eq!(booking_request(30, 28, 2), Ok(30));
        assert_eq!(booking_request(30, 28, 3), Err(SeatsError::Overbooked { wanted: 3, left: 2 }));
        assert_eq!(booking_request(30, 35, 1), Err(SeatsError::Overbooked { wanted: 1, left: 0 }));
        assert_eq!(booking_request(30, 0, 0), Err(SeatsError::NoneRequested));
        let e = FieldError::from(SeatsError::Overbooked { wanted: 3, left: 2 });
        assert_eq!(
            (e.field.as_str(), e.code, e.message.as_str()),
            ("travellers", "overbooked", "only 2 seats left; 3 requested")
        );
    }

    #[test]
    fn booking_needs_an_open_departure_and_fills_it() {
        let d = departure();
        assert_eq!(d.book(20, 4), Ok(SeatBooking { booked: 24, left: 6, status: DepartureStatus::Open }));
        assert_eq!(d.book(26, 4), Ok(SeatBooking { booked: 30, left: 0, status: DepartureStatus::Full }));
        assert_eq!(d.book(27, 4), Err(SeatsError::Overbooked { wanted: 4, left: 3 }));
        for status in [DepartureStatus::Planning, DepartureStatus::Full, DepartureStatus::Departed] {
            let d = Departure { status, ..departure() };
            assert_eq!(d.book(0, 1), Err(SeatsError::NotOpen(status)));
        }
    }
}
