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

    /// Subtracts without overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Multiplies by a count (travellers, nights, units) without overflow.
    pub fn checked_mul(self, count: i64) -> Option<Money> {
        self.0.checked_mul(count).map(Money)
    }

    /// Adds up amounts, `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        amounts.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }

    /// The share `rate` of this amount, rounded to the nearest 分 with halves
    /// rounded away from zero (四舍五入): 10% of 0.05 is 0.01, and of -0.05
    /// is -0.01. Exact in between: the product is formed in 128 bits.
    pub fn share(self, rate: BasisPoints) -> Money {
        let scaled = i128::from(self.0) * i128::from(rate.0);
        let (q, r) = (scaled / 10_000, scaled % 10_000);
        let rounded = if r.abs() * 2 >= 10_000 { q + scaled.signum() } else { q };
        // |rate| ≤ 100%, so the share is never larger than the amount.
        Money(rounded as i64)
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The amount itself if it is not negative, otherwise a `negative` error
    /// on `field`: prices, costs and payments are never below zero.
    pub fn non_negative(self, field: &str) -> Result<Money, FieldError> {
        if self.is_negative() {
            Err(FieldError::new(field, "negative", format!("{field} must not be negative")))
        } else {
            Ok(self)
        }
    }
}

/// A sum of money too large for [`Money`]; only corrupt data gets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("amount out of range")]
pub struct Overflow;

/// A rate in basis points (万分之一): `950` is 9.5%. Never above 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BasisPoints(u32);

impl BasisPoints {
    /// 100%.
    pub const FULL: BasisPoints = BasisPoints(10_000);

    /// A rate of `bp` basis points, `None` above 10 000 (100%).
    pub fn new(bp: u32) -> Option<BasisPoints> {
        (bp <= 10_000).then_some(BasisPoints(bp))
    }

    /// Parses a percentage as people type it: `"9.5"`, `"9.5%"`, `"12.25 %"`,
    /// at most two decimals, between 0 and 100.
    pub fn parse_percent(field: &str, text: &str) -> Result<BasisPoints, FieldError> {
        let t = text.trim().trim_end_matches(['%', '％']).trim();
        if t.is_empty() {
            return Err(FieldError::required(field));
        }
        let bad = || FieldError::new(field, "invalid_percent", format!("{field} must be a percentage from 0 to 100"));
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 3 || frac.len() > 2 || !digits(whole) || !digits(frac) {
            return Err(bad());
        }
        let bp =
            whole.parse::<u32>().map_err(|_| bad())? * 100 + format!("{frac:0<2}").parse::<u32>().map_err(|_| bad())?;
        BasisPoints::new(bp).ok_or_else(bad)
    }

    /// The number of basis points.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for BasisPoints {
    /// `9.5%`, `10%`, `0.05%`: as a percentage without trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}%"),
            _ if frac % 10 == 0 => write!(f, "{whole}.{}%", frac / 10),
            _ => write!(f, "{whole}.{frac:02}%"),
        }
    }
}

impl TryFrom<u32> for BasisPoints {
    type Error = String;

    fn try_from(bp: u32) -> Result<BasisPoints, String> {
        BasisPoints::new(bp).ok_or_else(|| format!("{bp} basis points is more than 100%"))
    }
}

impl From<BasisPoints> for u32 {
    fn from(r: BasisPoints) -> u32 {
        r.0
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
    fn arithmetic_is_checked() {
        assert_eq!(Money(500).checked_sub(Money(800)), Some(Money(-300)));
        assert_eq!(Money(i64::MIN).checked_sub(Money(1)), None);
        assert_eq!(Money(12_800).checked_mul(3), Some(Money(38_400)));
        assert_eq!(Money(i64::MAX).checked_mul(2), None);
        assert_eq!(Money::checked_sum([Money(1), Money(2), Money(-5)]), Some(Money(-2)));
        assert_eq!(Money::checked_sum([Money(i64::MAX), Money(1)]), None);
        assert_eq!(Money::checked_sum([]), Some(Money::ZERO));
        assert_eq!(Money(-1).non_negative("price").unwrap_err().code, "negative");
        assert_eq!(Money(0).non_negative("price"), Ok(Money(0)));
    }

    #[test]
    fn shares_round_half_away_from_zero() {
        let pct = |bp| BasisPoints::new(bp).unwrap();
        // 10% of ¥0.05 is 0.5 分: rounds up; of ¥0.04 is 0.4 分: rounds down.
        assert_eq!(Money(5).share(pct(1000)), Money(1));
        assert_eq!(Money(4).share(pct(1000)), Money(0));
        assert_eq!(Money(-5).share(pct(1000)), Money(-1));
        assert_eq!(Money(-4).share(pct(1000)), Money(0));
        // 12.5% of ¥39.99 = 499.875 分.
        assert_eq!(Money(3999).share(pct(1250)), Money(500));
        assert_eq!(Money(3999).share(BasisPoints::FULL), Money(3999));
        assert_eq!(Money(i64::MAX).share(BasisPoints::FULL), Money(i64::MAX));
        assert_eq!(Money(3999).share(pct(0)), Money::ZERO);
        // Cross-check against an independent exact computation in 分 × 10⁴.
        for fen in [1_i64, 7, 99, 12_345, 1_000_001] {
            for bp in [1_u32, 333, 950, 5000, 9999] {
                let exact = fen * i64::from(bp);
                let want = (exact + 5000).div_euclid(10_000);
                assert_eq!(Money(fen).share(pct(bp)), Money(want), "{fen} × {bp}");
            }
        }
    }

    #[test]
    fn percentages_parse_to_basis_points() {
        let p = |s| BasisPoints::parse_percent("discount", s).map(BasisPoints::get);
        assert_eq!(p("9.5"), Ok(950));
        assert_eq!(p(" 12.25 %"), Ok(1225));
        assert_eq!(p("100"), Ok(10_000));
        assert_eq!(p("0.05％"), Ok(5));
        for bad in ["100.01", "-5", "5.125", "abc", ".5", "1e2"] {
            assert_eq!(p(bad).unwrap_err().code, "invalid_percent", "{bad}");
        }
        assert_eq!(p("%").unwrap_err().code, "required");
        assert_eq!(BasisPoints::new(10_001), None);
        let shown: Vec<String> = [950, 1000, 5, 1225, 10].map(|bp| BasisPoints::new(bp).unwrap().to_string()).into();
        assert_eq!(shown, ["9.5%", "10%", "0.05%", "12.25%", "0.1%"]);
        assert!(serde_json::from_str::<BasisPoints>("10001").is_err());
        assert_eq!(serde_json::to_string(&BasisPoints::new(950).unwrap()).unwrap(), "950");
    }

    #[test]
    fn json_is_a_string_with_two_decimals() {
        assert_eq!(serde_json::to_string(&Money(128000)).unwrap(), "\"1280.00\"");
        let m: Money = serde_json::from_str("\"99.9\"").unwrap();
        assert_eq!(m, Money(9990));
    }
}
