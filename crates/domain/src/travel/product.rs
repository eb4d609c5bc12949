//! Products (产品): what the agency sells, from a weekend nearby to a tour
//! abroad, a hotel night or an attraction ticket.

use super::{check_non_negative, check_optional_text, check_text, code_enum};
use crate::money::Money;
use crate::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::fmt;

code_enum! {
    /// The kind of product, which decides how it is sold and reported.
    pub enum ProductType {
        /// 周边游: a short trip near home, usually a weekend.
        Nearby => ("nearby", "周边游", "Nearby", ["周边"]),
        /// 国内长线: a domestic tour to another region.
        LongHaul => ("long_haul", "国内长线", "Domestic long-haul", ["长线", "长线游", "domestic_long_haul", "国内游"]),
        /// 一日游: back the same day.
        DayTrip => ("day_trip", "一日游", "Day trip", ["一日"]),
        /// 出境游: abroad, Hong Kong, Macao or Taiwan; passports and visas.
        International => ("international", "出境游", "International", ["出境", "outbound"]),
        /// 定制游: a trip tailored to one party, without fixed departures.
        Custom => ("custom", "定制游", "Custom", ["定制", "私家团"]),
        /// 酒店住宿: hotel nights only.
        HotelStay => ("hotel_stay", "酒店住宿", "Hotel stay", ["酒店", "住宿"]),
        /// 门票: attraction tickets only.
        Ticket => ("ticket", "门票", "Ticket", ["票务"]),
    }
}

impl ProductType {
    /// Whether the product runs as group tours on scheduled departures (团期).
    pub fn has_departures(self) -> bool {
        matches!(self, ProductType::Nearby | ProductType::LongHaul | ProductType::DayTrip | ProductType::International)
    }

    /// Whether travellers need a passport (or a permit for Hong Kong, Macao
    /// and Taiwan) and its expiry checked against the departure.
    pub fn needs_passport(self) -> bool {
        self == ProductType::International
    }
}

/// A product's short code, the prefix of its departures' codes
/// ([`super::departure::DepartureCode`]): 2–12 upper-case letters and digits
/// starting with a letter (`HN5D`, `JP7`, `BJ1`). Typed lower-case, it is
/// upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ProductCode(String);

impl ProductCode {
    /// Parses a code.
    pub fn parse(field: &str, text: &str) -> Result<ProductCode, FieldError> {
        let s = text.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let ok = (2..=12).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !ok {
            return Err(FieldError::new(
                field,
                "invalid_product_code",
                format!("{field} must be 2 to 12 letters and digits starting with a letter, such as HN5D"),
            ));
        }
        Ok(ProductCode(s))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ProductCode> for String {
    fn from(c: ProductCode) -> String {
        c.0
    }
}

impl TryFrom<String> for ProductCode {
    type Error = FieldError;

    fn try_from(s: String) -> Result<ProductCode, FieldError> {
        ProductCode::parse("code", &s)
    }
}

/// A product in the catalogue, with its list prices. A departure may set
/// its own prices; these are the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Short code, the prefix of departure codes.
    pub code: ProductCode,
    /// The name customers see (`海南三亚双飞5日游`).
    pub name: String,
    /// The kind of product.
    pub product_type: ProductType,
    /// Where it goes.
    pub destination: Option<String>,
    /// How many days it lasts (1 for a day trip, ticket or single night).
    pub days: u16,
    /// The price for an adult.
    pub adult_price: Money,
    /// The price for a child.
    pub child_price: Money,
    /// What one adult place costs us (supplier costs), for margins.
    pub cost_price: Money,
}

impl Product {
    /// Name required; prices and cost not negative; at least one day, and
    /// exactly one for a day trip.
    ///
    /// A cost above the price is allowed: agencies sell below cost to fill
    /// a departure or as a promotion.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "name", &self.name, 100);
        check_optional_text(&mut errors, "destination", self.destination.as_deref(), 50);
        check_non_negative(&mut errors, "adult_price", self.adult_price);
        check_non_negative(&mut errors, "child_price", self.child_price);
        check_non_negative(&mut errors, "cost_price", self.cost_price);
        if self.days == 0 {
            errors.push(FieldError::new("days", "invalid", "days must be at least 1"));
        } else if self.product_type == ProductType::DayTrip && self.days != 1 {
            errors.push(FieldError::new("days", "day_trip_days", "a day trip lasts exactly 1 day"));
        }
        errors.into_result()
    }

    /// The gross margin on one adult place: price minus cost (negative when
    /// sold below cost).
    pub fn adult_margin(&self) -> Option<Money> {
        self.adult_price.checked_sub(self.cost_price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::check_code_enum;

    fn product() -> Product {
        Product {
            code: ProductCode::parse("code", "hn5d").unwrap(),
            name: "海南三亚双飞5日游".into(),
            product_type: ProductType::LongHaul,
            destination: Some("三亚".into()),
            days: 5,
            adult_price: Money(398_000),
            child_price: Money(199_000),
            cost_price: Money(310_000),
        }
    }

    fn problems(p: &Product) -> Vec<(String, &'static str)> {
        p.validate().err().map(|e| e.0.into_iter().map(|e| (e.field, e.code)).collect()).unwrap_or_default()
    }

    #[test]
    fn product_types() {
        check_code_enum!(ProductType);
        assert_eq!(ProductType::ALL.len(), 7);
        assert_eq!(ProductType::parse("type", "长线").unwrap(), ProductType::LongHaul);
        assert_eq!(ProductType::parse("type", "出境游").unwrap(), ProductType::International);
        assert!(ProductType::DayTrip.has_departures());
        assert!(!ProductType::Custom.has_departures() && !ProductType::Ticket.has_departures());
        assert!(ProductType::International.needs_passport() && !ProductType::Nearby.needs_passport());
    }

    #[test]
    fn product_codes() {
        assert_eq!(ProductCode::parse("code", " jp7 ").unwrap().as_str(), "JP7");
        for bad in ["H", "7JP", "HN-5D", "三亚", "ABCDEFGHIJKLM"] {
            assert_eq!(ProductCode::parse("code", bad).unwrap_err().code, "invalid_product_code", "{bad}");
        }
        assert_eq!(ProductCode::parse("code", "").unwrap_err().code, "required");
        assert!(serde_json::from_str::<ProductCode>("\"7X\"").is_err());
    }

    #[test]
    fn products_need_a_name_and_non_negative_prices() {
        let p = product();
        assert!(p.validate().is_ok());
        assert_eq!(p.adult_margin(), Some(Money(88_000)));
        let mut p = product();
        p.name = "  ".into();
        p.adult_price = Money(-1);
        p.child_price = Money(-100);
        p.cost_price = Money(-2);
        assert_eq!(
            problems(&p),
            [
                ("name".into(), "required"),
                ("adult_price".into(), "negative"),
                ("child_price".into(), "negative"),
                ("cost_price".into(), "negative")
            ]
        );
        let mut p = product();
        p.cost_price = Money(500_000);
        p.child_price = Money::ZERO;
        assert!(p.validate().is_ok(), "free children and selling below cost are allowed");
        assert_eq!(p.adult_margin(), Some(Money(-102_000)));
    }

    #[test]
    fn day_trips_last_one_day() {
        let mut p = product();
        p.product_type = ProductType::DayTrip;
        assert_eq!(problems(&p), [("days".into(), "day_trip_days")]);
        p.days = 1;
        assert!(p.validate().is_ok());
        p.days = 0;
        assert_eq!(problems(&p), [("days".into(), "invalid")]);
    }
}
