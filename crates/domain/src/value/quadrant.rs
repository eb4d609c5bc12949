//! The 销售量 × 忠诚度 (sales volume × loyalty) customer matrix taught in
//! Chinese CRM textbooks (客户关系管理): customers are split at the middle of
//! each axis into four groups, each with its own treatment. It is a close
//! relative of Reinartz & Kumar (2002), "The Mismanagement of Customer
//! Loyalty", *Harvard Business Review* 80(7), which crosses profitability
//! with the length of the relationship.
//!
//! | volume \ loyalty | low                           | high                  |
//! |------------------|-------------------------------|-----------------------|
//! | large            | likely to defect: control share | core: invest to keep |
//! | small            | no value: phase out           | future: nurture       |
//!
//! Volume is large from the median revenue of buying customers up; loyalty is
//! the score of [`loyalty`], high from [`LOYALTY_HIGH`] up.

use crate::codes::code_enum;
use crate::money::Money;

code_enum! {
    /// A customer's cell in the volume × loyalty matrix.
    pub enum Quadrant {
        /// 核心客户: large volume, high loyalty.
        Core => ("core", "核心客户", "Core", []),
        /// 潜力客户: small volume, high loyalty.
        Future => ("future", "潜力客户", "Future", []),
        /// 易流失大客户: large volume, low loyalty.
        DefectRisk => ("defect_risk", "易流失大客户", "Defect risk", []),
        /// 低价值客户: small volume, low loyalty.
        NoValue => ("no_value", "低价值客户", "No value", []),
    }
}

impl Quadrant {
    /// The recommended treatment, in Chinese.
    pub fn treatment_zh(self) -> &'static str {
        match self {
            Quadrant::Core => "核心客户：重点投入，保持关系",
            Quadrant::Future => "未来的核心：重点培养，提升购买量",
            Quadrant::DefectRisk => "易流失：控制份额，防止流失",
            Quadrant::NoValue => "无价值：减少投入，逐步淘汰",
        }
    }

    /// The recommended treatment, in English.
    pub fn treatment_en(self) -> &'static str {
        match self {
            Quadrant::Core => "The core: invest to keep them",
            Quadrant::Future => "The future: nurture them to buy more",
            Quadrant::DefectRisk => "Likely to defect: keep their share under control and prevent defection",
            Quadrant::NoValue => "No value: spend less on them and phase them out",
        }
    }

    /// Whether the customer's volume is large.
    pub fn large_volume(self) -> bool {
        matches!(self, Quadrant::Core | Quadrant::DefectRisk)
    }

    /// Whether the customer's loyalty is high.
    pub fn high_loyalty(self) -> bool {
        matches!(self, Quadrant::Core | Quadrant::Future)
    }
}

/// Loyalty from [`LOYALTY_HIGH`] up counts as high.
pub const LOYALTY_HIGH: f64 = 0.5;

/// Tenure at which the tenure part of [`loyalty`] is full: three years.
pub const FULL_TENURE_DAYS: u32 = 1095;

/// What the matrix needs to know about one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoyaltyInput {
    /// Revenue in the analysis window.
    pub revenue: Money,
    /// Number of purchase occasions (distinct purchase days).
    pub occasions: u32,
    /// Days from the first purchase to the analysis date.
    pub tenure_days: u32,
}

/// One buying customer's place in the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadrantPoint {
    /// The cell.
    pub quadrant: Quadrant,
    /// The x axis: revenue.
    pub volume: Money,
    /// The y axis: [`loyalty`].
    pub loyalty: f64,
}

/// Loyalty in [0, 1] from repeat buying and tenure:
///
/// loyalty = 0.6 × (occasions − 1) / occasions + 0.4 × min(1, tenure_days / 1095)
///
/// The first term is the share of purchases that were repeat purchases (0 for
/// a one-time buyer, ½ for two occasions, approaching 1); the second grows
/// with the length of the relationship and is full after three years. Repeat
/// buying weighs more because it is the behaviour loyalty means; tenure alone
/// cannot make a one-time buyer loyal (at most 0.4 < [`LOYALTY_HIGH`]). A
/// customer who never bought has loyalty 0.
pub fn loyalty(i: &LoyaltyInput) -> f64 {
    if i.occasions == 0 {
        return 0.0;
    }
    let repeat = f64::from(i.occasions - 1) / f64::from(i.occasions);
    let tenure = (f64::from(i.tenure_days) / f64::from(FULL_TENURE_DAYS)).min(1.0);
    0.6 * repeat + 0.4 * tenure
}

/// Places every customer in the matrix, in input order; `None` for customers
/// who never bought (`occasions == 0`), who are also left out of the median.
///
/// Volume is large when revenue ≥ the median revenue of buyers (the mean of
/// the two middle values for an even count, compared exactly); loyalty is
/// high when [`loyalty`] ≥ [`LOYALTY_HIGH`]. O(n).
pub fn classify(rows: &[LoyaltyInput]) -> Vec<Option<QuadrantPoint>> {
    // Twice the median, so an even count's median needs no rounding.
    let twice_median = twice_median(rows.iter().filter(|r| r.occasions > 0).map(|r| r.revenue.0).collect());
    rows.iter()
        .map(|r| {
            if r.occasions == 0 {
                return None;
            }
            let large = 2 * i128::from(r.revenue.0) >= twice_median;
            let loyalty = loyalty(r);
            let high = loyalty >= LOYALTY_HIGH;
            let quadrant = match (large, high) {
                (true, true) => Quadrant::Core,
                (false, true) => Quadrant::Future,
                (true, false) => Quadrant::DefectRisk,
                (false, false) => Quadrant::NoValue,
            };
            Some(QuadrantPoint { quadrant, volume: r.revenue, loyalty })
        })
        .collect()
}

/// Twice the median of `values` (0 when empty), by selection in O(n).
fn twice_median(mut values: Vec<i64>) -> i128 {
    let n = values.len();
    if n == 0 {
        return 0;
    }
    let (lower_half, &mut upper, _) = values.select_nth_unstable(n / 2);
    if n % 2 == 1 {
        return 2 * i128::from(upper);
    }
    let lower = lower_half.iter().copied().max().unwrap_or(upper);
    i128::from(lower) + i128::from(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(fen: i64, occasions: u32, tenure_days: u32) -> LoyaltyInput {
        LoyaltyInput { revenue: Money(fen), occasions, tenure_days }
    }

    fn quadrants(rows: &[LoyaltyInput]) -> Vec<Option<Quadrant>> {
        classify(rows).into_iter().map(|p| p.map(|p| p.quadrant)).collect()
    }

    #[test]
    fn loyalty_follows_the_formula() {
        assert_eq!(loyalty(&input(100, 0, 5000)), 0.0);
        assert_eq!(loyalty(&input(100, 1, 0)), 0.0);
        assert!((loyalty(&input(100, 1, 5000)) - 0.4).abs() < 1e-12);
        assert!((loyalty(&input(100, 2, 0)) - 0.3).abs() < 1e-12);
        assert!((loyalty(&input(100, 4, 1095)) - (0.6 * 0.75 + 0.4)).abs() < 1e-12);
        assert!((loyalty(&input(100, 2, 365)) - (0.3 + 0.4 / 3.0)).abs() < 1e-12);
        let l = loyalty(&input(100, u32::MAX, u32::MAX));
        assert!(l <= 1.0 && l > 0.99);
        // A one-time buyer is never loyal, however long ago they bought.
        assert!(loyalty(&input(100, 1, u32::MAX)) < LOYALTY_HIGH);
        // Two occasions a year and a half apart reach the threshold exactly.
        assert!(loyalty(&input(100, 2, 548)) >= LOYALTY_HIGH);
        assert!(loyalty(&input(100, 2, 547)) < LOYALTY_HIGH);
    }

    #[test]
    fn the_four_corners() {
        let rows = [
            input(1_000_000, 5, 2000), // large, loyal
            input(100, 5, 2000),       // small, loyal
            input(1_000_000, 1, 10),   // large, not loyal
            input(100, 1, 10),         // small, not loyal
        ];
        assert_eq!(
            quadrants(&rows),
            [Some(Quadrant::Core), Some(Quadrant::Future), Some(Quadrant::DefectRisk), Some(Quadrant::NoValue)]
        );
        let p = classify(&rows)[0].unwrap();
        assert_eq!(p.volume, Money(1_000_000));
        assert!((p.loyalty - loyalty(&rows[0])).abs() < 1e-15);
        for q in Quadrant::ALL {
            assert_eq!(q == Quadrant::Core || q == Quadrant::DefectRisk, q.large_volume());
            assert_eq!(q == Quadrant::Core || q == Quadrant::Future, q.high_loyalty());
            assert!(!q.treatment_zh().is_empty() && !q.treatment_en().is_empty());
        }
        assert!(Quadrant::NoValue.treatment_zh().contains("逐步淘汰"));
        assert!(Quadrant::Future.treatment_zh().contains("培养"));
        assert!(Quadrant::DefectRisk.treatment_zh().contains("控制份额"));
        assert!(Quadrant::Core.treatment_zh().contains("重点投入"));
    }

    #[test]
    fn non_buyers_are_left_out_of_the_median() {
        // Buyers 100, 200, 300: median 200. Non-buyers with 0 would pull it down.
        let rows =
            [input(0, 0, 0), input(0, 0, 0), input(0, 0, 0), input(100, 1, 0), input(200, 1, 0), input(300, 1, 0)];
        assert_eq!(
            quadrants(&rows),
            [None, None, None, Some(Quadrant::NoValue), Some(Quadrant::DefectRisk), Some(Quadrant::DefectRisk)]
        );
    }

    #[test]
    fn even_counts_use_the_mean_of_the_middle_pair() {
        // Median of 100, 201, 300, 400 is 250.5: 201 is small, 300 large.
        let rows = [input(400, 1, 0), input(201, 1, 0), input(100, 1, 0), input(300, 1, 0)];
        let large: Vec<bool> = classify(&rows).iter().map(|p| p.unwrap().quadrant.large_volume()).collect();
        assert_eq!(large, [true, false, false, true]);
        // Exactly at the median is large.
        let rows = [input(100, 1, 0), input(200, 1, 0), input(300, 1, 0), input(200, 1, 0)];
        let large: Vec<bool> = classify(&rows).iter().map(|p| p.unwrap().quadrant.large_volume()).collect();
        assert_eq!(large, [false, true, true, true]);
        // Everyone equal: everyone is at the median, so large.
        assert!(classify(&[input(5, 1, 0); 3]).iter().all(|p| p.unwrap().quadrant.large_volume()));
    }

    #[test]
    fn empty_and_extreme_inputs() {
        assert!(classify(&[]).is_empty());
        assert_eq!(quadrants(&[input(0, 0, 0)]), [None]);
        let rows = [input(i64::MAX, 1, 0), input(i64::MAX - 1, 1, 0), input(i64::MIN, 1, 0), input(0, 1, 0)];
        let large: Vec<bool> = classify(&rows).iter().map(|p| p.unwrap().quadrant.large_volume()).collect();
        assert_eq!(large, [true, true, false, false]);
        assert_eq!(twice_median(vec![]), 0);
        assert_eq!(twice_median(vec![3, 1, 2]), 4);
        assert_eq!(twice_median(vec![4, 1, 3, 2]), 5);
    }

    #[test]
    fn quadrant_codes_round_trip() {
        for q in Quadrant::ALL {
            assert_eq!(Quadrant::from_code(q.code()), Some(q));
            assert_eq!(Quadrant::parse("quadrant", q.label_zh()).unwrap(), q);
        }
        assert_eq!(Quadrant::parse("quadrant", "defect risk").unwrap(), Quadrant::DefectRisk);
    }
}
