//! Exact amounts of money in CNY, held as integer 分 (fen, 0.01 yuan).

use crate::FieldError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An amount in 分. Never a float: `"1280.00"` is `Money(128000)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    /// Zero yuan.
    pub const ZERO: Money = Money(0);

    /// Parses `"1280"`, `"1280.5"`, `"1,280.50"`, `"-3.20"` or `"¥1280.00"`.
    /// More than two decimals is an error, not a rounding.
    pub fn parse(field: &str, text: &str) -> Result<Money, FieldError> {
        let bad = |why: &str| FieldError::new(field, "invalid_money", format!("{field} {why}"));
        let mut s = text.trim().trim_start_matches(['¥', '￥']).replace(',', "");
        let negative = s.starts_with('-');
        if negative {
            s.remove(0);
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s.as_str(), ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("must be an amount such as 1280.00"));
        }
        if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("may have at most two decimals (分)"));
        }
        let yuan: i64 = whole.parse().map_err(|_| bad("is too large"))?;
        let fen: i64 = format!("{frac:0<2}").parse().map_err(|_| bad("is not a number"))?;
        let total = yuan.checked_mul(100).and_then(|v| v.checked_add(fen)).ok_or_else(|| bad("is too large"))?;
        Ok(Money(if negative { -total } else { total }))
    }

    /// Adds without overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse("amount", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for (input, fen, shown) in [
            ("1280", 128000, "1280.00"),
            ("1280.5", 128050, "1280.50"),
            ("1,280.05", 128005, "1280.05"),
            ("¥0.01", 1, "0.01"),
            ("-3.20", -320, "-3.20"),
        ] {
            let m = Money::parse("amount", input).unwrap();
            assert_eq!(m, Money(fen), "{input}");
            assert_eq!(m.to_string(), shown);
        }
    }

    #[test]
    fn refuses_what_is_not_exact() {
        for input in ["12.345", "abc", "", "1e3", "12.3.4", "99999999999999999999"] {
            let e = Money::parse("price", input).unwrap_err();
            assert_eq!(e.field, "price", "{input}");
        }
    }

    #[test]
    fn json_is_a_string_with_two_decimals() {
        assert_eq!(serde_json::to_string(&Money(128000)).unwrap(), "\"1280.00\"");
        let m: Money = serde_json::from_str("\"99.9\"").unwrap();
        assert_eq!(m, Money(9990));
    }
}
