//! Hotel stays: the room, the nights, the rate and what the guest spent at
//! each outlet, as the front desk (前台) records them on a hotel-stay order.

use super::{check_non_negative, check_optional_text, check_text, code_enum};
use crate::money::{Money, Overflow};
use crate::{FieldError, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

code_enum! {
    /// Where in the hotel money is spent.
    pub enum Outlet {
        /// 客房: the room itself, extra beds, minibar.
        Room => ("room", "客房", "Room", ["房费"]),
        /// 餐饮: restaurants, bars, room service.
        Fnb => ("fnb", "餐饮", "Food & beverage", ["f&b", "food_beverage", "餐厅"]),
        /// 水疗/康体: spa, gym, pool.
        Spa => ("spa", "水疗/康体", "Spa", ["水疗", "康体", "spa"]),
        /// 其他: laundry, transport, shop.
        Other => ("other", "其他", "Other", ["其它"]),
    }
}

/// Check-in and check-out days; check-out is at least one day later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawStay")]
pub struct StayDates {
    check_in: NaiveDate,
    check_out: NaiveDate,
}

#[derive(Deserialize)]
struct RawStay {
    check_in: NaiveDate,
    check_out: NaiveDate,
}

impl TryFrom<RawStay> for StayDates {
    type Error = FieldError;

    fn try_from(r: RawStay) -> Result<StayDates, FieldError> {
        StayDates::new(r.check_in, r.check_out)
    }
}

impl StayDates {
    /// The stay from `check_in` to `check_out`; a check-out on or before the
    /// check-in day is a `check_out_not_after_check_in` error on `check_out`.
    pub fn new(check_in: NaiveDate, check_out: NaiveDate) -> Result<StayDates, FieldError> {
        if check_out <= check_in {
            return Err(FieldError::new(
                "check_out",
                "check_out_not_after_check_in",
                "check_out must be at least one day after check_in",
            ));
        }
        Ok(StayDates { check_in, check_out })
    }

    /// The arrival day.
    pub fn check_in(self) -> NaiveDate {
        self.check_in
    }

    /// The departure day.
    pub fn check_out(self) -> NaiveDate {
        self.check_out
    }

    /// The nights charged: check-out minus check-in, at least 1.
    pub fn nights(self) -> u32 {
        u32::try_from((self.check_out - self.check_in).num_days()).unwrap_or(u32::MAX)
    }
}

/// One posting to the guest's bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Where it was spent.
    pub outlet: Outlet,
    /// What it was (`晚餐`, `SPA 90分钟`).
    pub description: String,
    /// How much.
    pub amount: Money,
}

/// The hotel part of a hotel-stay order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotelStay {
    /// The room type sold (`海景大床房`).
    pub room_type: String,
    /// The room given at check-in.
    pub room_number: Option<String>,
    /// Arrival and departure.
    pub dates: StayDates,
    /// The price of one night.
    pub nightly_rate: Money,
    /// Spending during the stay, besides the nights.
    pub charges: Vec<Charge>,
}

/// What a stay cost, by outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StaySpend {
    /// Each outlet's amount, in [`Outlet::ALL`] order; the room outlet
    /// includes the nights.
    pub by_outlet: [(Outlet, Money); 4],
    /// Everything.
    pub total: Money,
}

impl StaySpend {
    /// The amount of one outlet.
    pub fn of(&self, outlet: Outlet) -> Money {
        self.by_outlet[outlet as usize].1
    }
}

impl HotelStay {
    /// Room type required; rate and charges not negative; each charge
    /// described (`charges.{index}.{field}`).
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "room_type", &self.room_type, 30);
        check_optional_text(&mut errors, "room_number", self.room_number.as_deref(), 10);
        check_non_negative(&mut errors, "nightly_rate", self.nightly_rate);
        for (i, c) in self.charges.iter().enumerate() {
            check_text(&mut errors, &format!("charges.{i}.description"), &c.description, 100);
            check_non_negative(&mut errors, &format!("charges.{i}.amount"), c.amount);
        }
        if errors.is_empty() && self.spend().is_err() {
            errors.push(FieldError::new("charges", "too_large", "the stay's total is too large"));
        }
        errors.into_result()
    }

    /// The nights charged.
    pub fn nights(&self) -> u32 {
        self.dates.nights()
    }

    /// The nightly rate times the nights.
    pub fn room_charge(&self) -> Result<Money, Overflow> {
        self.nightly_rate.checked_mul(i64::from(self.nights())).ok_or(Overflow)
    }

    /// The spending by outlet and in total.
    pub fn spend(&self) -> Result<StaySpend, Overflow> {
        let mut by_outlet = Outlet::ALL.map(|o| (o, Money::ZERO));
        let nights = (Outlet::Room, self.room_charge()?);
        for (outlet, amount) in std::iter::once(nights).chain(self.charges.iter().map(|c| (c.outlet, c.amount))) {
            // Declaration order is `ALL` order, so the discriminant is the slot.
            let slot = &mut by_outlet[outlet as usize].1;
            *slot = slot.checked_add(amount).ok_or(Overflow)?;
        }
        let total = Money::checked_sum(by_outlet.iter().map(|(_, m)| *m)).ok_or(Overflow)?;
        Ok(StaySpend { by_outlet, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::{check_code_enum, date};

    fn stay() -> HotelStay {
        let charge =
            |outlet, description: &str, fen| Charge { outlet, description: description.into(), amount: Money(fen) };
        HotelStay {
            room_type: "海景大床房".into(),
            room_number: Some("1808".into()),
            dates: StayDates::new(date("2027-01-30"), date("2027-02-02")).unwrap(),
            nightly_rate: Money(128_000),
            charges: vec![
                charge(Outlet::Fnb, "晚餐", 56_800),
                charge(Outlet::Spa, "SPA 90分钟", 88_000),
                charge(Outlet::Fnb, "早餐", 9_800),
                charge(Outlet::Room, "加床", 20_000),
            ],
        }
    }

    #[test]
    fn outlets() {
        check_code_enum!(Outlet);
        assert!(Outlet::ALL.iter().enumerate().all(|(i, o)| *o as usize == i), "spend indexes by discriminant");
    }

    #[test]
    fn nights_count_from_check_in_to_check_out() {
        // Across a month end: 30 Jan, 31 Jan, 1 Feb.
        assert_eq!(stay().nights(), 3);
        let e = StayDates::new(date("2027-02-02"), date("2027-02-02")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("check_out", "check_out_not_after_check_in"));
        assert!(StayDates::new(date("2027-02-02"), date("2027-02-01")).is_err());
        assert!(serde_json::from_str::<StayDates>(r#"{"check_in":"2027-02-02","check_out":"2027-02-02"}"#).is_err());
    }

    #[test]
    fn spend_adds_up_by_outlet() {
        let s = stay().spend().unwrap();
        assert_eq!(stay().room_charge(), Ok(Money(384_000)));
        assert_eq!(s.of(Outlet::Room), Money(404_000));
        assert_eq!(s.of(Outlet::Fnb), Money(66_600));
        assert_eq!(s.of(Outlet::Spa), Money(88_000));
        assert_eq!(s.of(Outlet::Other), Money::ZERO);
        assert_eq!(s.total, Money(558_600));
    }

    #[test]
    fn stays_validate_room_rate_and_charges() {
        assert!(stay().validate().is_ok());
        let mut s = stay();
        s.room_type = "".into();
        s.nightly_rate = Money(-1);
        s.charges[1].amount = Money(-5);
        s.charges[2].description = " ".into();
        let got: Vec<(String, &str)> = s.validate().unwrap_err().0.into_iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            got,
            [
                ("room_type".into(), "required"),
                ("nightly_rate".into(), "negative"),
                ("charges.1.amount".into(), "negative"),
                ("charges.2.description".into(), "required")
            ]
        );
    }
}
