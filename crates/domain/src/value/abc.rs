//! ABC classification of customers by revenue: the Pareto principle ("80/20")
//! as used in ABC inventory analysis (Dickie 1951, "ABC Inventory Analysis
//! Shoots for Dollars, Not Pennies", *Factory Management and Maintenance*),
//! applied to customers as in Chinese CRM textbooks (客户 ABC 分类法).
//!
//! Customers are ranked by revenue, largest first, and cut where the
//! cumulative share of total revenue passes the thresholds: by default the
//! customers making the first 50% of revenue are A, up to 80% B, up to 95% C
//! and the long tail D. Shares are compared in exact integer arithmetic.

use crate::codes::code_enum;
use crate::money::{BasisPoints, Money};
use crate::FieldError;
use serde::{Deserialize, Serialize};

code_enum! {
    /// A customer's ABC grade; A is the most valuable.
    pub enum Grade {
        // The Chinese labels hold a capital letter, which `parse` compares
        // after lowering the input, so they are repeated as aliases.
        /// A 类: the few customers who make the first share of revenue.
        A => ("a", "A 类", "Grade A", ["A类", "A 类"]),
        /// B 类.
        B => ("b", "B 类", "Grade B", ["B类", "B 类"]),
        /// C 类.
        C => ("c", "C 类", "Grade C", ["C类", "C 类"]),
        /// D 类: the long tail, and every customer without revenue.
        D => ("d", "D 类", "Grade D", ["D类", "D 类"]),
    }
}

impl Grade {
    /// The grade's letter, for compact display and export.
    pub fn letter(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }

    /// 0 for A up to 3 for D: lower is better.
    pub fn rank(self) -> u8 {
        match self {
            Grade::A => 0,
            Grade::B => 1,
            Grade::C => 2,
            Grade::D => 3,
        }
    }

    /// Whether `self` is a better grade than `other` (A is better than B).
    pub fn is_better_than(self, other: Grade) -> bool {
        self.rank() < other.rank()
    }
}

/// Cumulative revenue shares at which the grades end: a customer is A while
/// the customers ranked before them make less than `a` of total revenue, B
/// while less than `b`, C while less than `c`, and D after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AbcThresholds {
    /// End of grade A (default 50%).
    pub a: BasisPoints,
    /// End of grade B (default 80%).
    pub b: BasisPoints,
    /// End of grade C (default 95%).
    pub c: BasisPoints,
}

impl Default for AbcThresholds {
    fn default() -> Self {
        let bp = |v| BasisPoints::new(v).expect("a default threshold is at most 100%");
        AbcThresholds { a: bp(5_000), b: bp(8_000), c: bp(9_500) }
    }
}

impl AbcThresholds {
    /// Checks 0 < a < b < c ≤ 100%, naming the offending fields `abc_a`,
    /// `abc_b` and `abc_c`.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.a.get() == 0 {
            errors.push(FieldError::new("abc_a", "out_of_range", "abc_a must be above 0%"));
        }
        if self.b <= self.a {
            errors.push(FieldError::new("abc_b", "not_increasing", "abc_b must be above abc_a"));
        }
        if self.c <= self.b {
            errors.push(FieldError::new("abc_c", "not_increasing", "abc_c must be above abc_b"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The grade of every customer, in input order.
///
/// Customers are sorted by revenue, largest first, ties in input order, so the
/// result is deterministic. With S the total of positive revenues and P the
/// revenue of the customers ranked before one, the customer is A if P/S < a,
/// B if P/S < b, C if P/S < c, otherwise D: the customer who crosses a
/// threshold still belongs to the grade below it. A revenue of zero or less is
/// always D. O(n log n).
pub fn grades(revenues: &[Money], t: &AbcThresholds) -> Vec<Grade> {
    let mut out = vec![Grade::D; revenues.len()];
    let total: i128 = revenues.iter().filter(|m| m.0 > 0).map(|m| i128::from(m.0)).sum();
    if total == 0 {
        return out;
    }
    let mut order: Vec<u32> = (0..revenues.len() as u32).filter(|&i| revenues[i as usize].0 > 0).collect();
    order.sort_unstable_by(|&x, &y| revenues[y as usize].cmp(&revenues[x as usize]).then(x.cmp(&y)));
    let limit = |bp: BasisPoints| i128::from(bp.get()) * total;
    let (la, lb, lc) = (limit(t.a), limit(t.b), limit(t.c));
    let mut before: i128 = 0;
    for i in order {
        let scaled = before * 10_000;
        out[i as usize] = if scaled < la {
            Grade::A
        } else if scaled < lb {
            Grade::B
        } else if scaled < lc {
            Grade::C
        } else {
            Grade::D
        };
        before += i128::from(revenues[i as usize].0);
    }
    out
}

/// The Pareto (Lorenz-style) curve of revenue concentration for a chart:
/// points (share of customers, share of revenue), customers ranked by
/// revenue, largest first, from (0, 0) to (1, 1).
///
/// At most `points` + 1 points (at least 2), taken at evenly spaced customer
/// counts; revenues below zero count as zero. Empty when there are no
/// customers or no positive revenue, since there is nothing to draw.
pub fn pareto_curve(revenues: &[Money], points: usize) -> Vec<(f64, f64)> {
    let n = revenues.len();
    let mut sorted: Vec<i64> = revenues.iter().map(|m| m.0.max(0)).collect();
    let total: i128 = sorted.iter().map(|&v| i128::from(v)).sum();
    if n == 0 || total == 0 {
        return Vec::new();
    }
    sorted.sort_unstable_by(|x, y| y.cmp(x));
    let steps = points.clamp(1, n);
    let mut curve = Vec::with_capacity(steps + 1);
    let (mut taken, mut cumulative) = (0usize, 0i128);
    for step in 0..=steps {
        // Integer spacing, so the last point is exactly every customer.
        let upto = step * n / steps;
        while taken < upto {
            cumulative += i128::from(sorted[taken]);
            taken += 1;
        }
        curve.push((upto as f64 / n as f64, cumulative as f64 / total as f64));
    }
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(v: &[i64]) -> Vec<Money> {
        v.iter().map(|&x| Money(x)).collect()
    }

    fn letters(g: &[Grade]) -> String {
        g.iter().map(|g| g.letter()).collect()
    }

    fn t(a: u32, b: u32, c: u32) -> AbcThresholds {
        AbcThresholds {
            a: BasisPoints::new(a).unwrap(),
            b: BasisPoints::new(b).unwrap(),
            c: BasisPoints::new(c).unwrap(),
        }
    }

    #[test]
    fn grade_codes_round_trip() {
        for g in Grade::ALL {
            assert_eq!(Grade::from_code(g.code()), Some(g));
            assert_eq!(Grade::parse("grade", g.letter()).unwrap(), g);
            assert_eq!(Grade::parse("grade", g.label_zh()).unwrap(), g);
            assert_eq!(Grade::parse("grade", g.label_en()).unwrap(), g);
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("\"{}\"", g.code()));
        }
        assert_eq!(Grade::parse("grade", "A类").unwrap(), Grade::A);
        assert!(Grade::A.is_better_than(Grade::B));
        assert!(!Grade::C.is_better_than(Grade::C));
        assert!(!Grade::D.is_better_than(Grade::A));
    }

    #[test]
    fn the_customer_who_crosses_a_threshold_keeps_the_better_grade() {
        // Total 100: before-shares are 0, 40, 70, 90, 96, 99.
        let r = money(&[40, 30, 20, 6, 3, 1]);
        assert_eq!(letters(&grades(&r, &AbcThresholds::default())), "AABCDD");
    }

    #[test]
    fn exact_threshold_moves_to_the_next_grade() {
        // Before-shares 0, 50, 80, 95: exactly at a threshold is no longer below it.
        let r = money(&[50, 30, 15, 5]);
        assert_eq!(letters(&grades(&r, &AbcThresholds::default())), "ABCD");
        // One 分 less in front and the second customer is still A.
        let r = money(&[4_999, 3_001, 1_500, 500]);
        assert_eq!(letters(&grades(&r, &AbcThresholds::default())), "AACD");
    }

    #[test]
    fn output_follows_input_order_and_ties_follow_input_index() {
        let r = money(&[1, 40, 30, 30, 0, -5]);
        // Sorted: 40 (idx1, before 0), 30 (idx2, before 40/101), 30 (idx3, before 70/101 ≈ 69%),
        // 1 (idx0, before 100/101 ≈ 99%).
        assert_eq!(letters(&grades(&r, &AbcThresholds::default())), "DAABDD");
        // Equal revenues on a boundary: the earlier index gets the better grade.
        let r = money(&[10, 10]);
        assert_eq!(letters(&grades(&r, &t(5_000, 8_000, 9_500))), "AB");
        assert_eq!(letters(&grades(&r, &t(5_001, 8_000, 9_500))), "AA");
    }

    #[test]
    fn nothing_to_share_is_all_d() {
        assert!(grades(&[], &AbcThresholds::default()).is_empty());
        assert_eq!(letters(&grades(&money(&[0, 0, -3]), &AbcThresholds::default())), "DDD");
        assert_eq!(letters(&grades(&money(&[7]), &AbcThresholds::default())), "A");
    }

    #[test]
    fn huge_amounts_do_not_overflow() {
        let r = money(&[i64::MAX, i64::MAX, i64::MAX, 1]);
        assert_eq!(letters(&grades(&r, &AbcThresholds::default())), "AABD");
    }

    #[test]
    fn thresholds_validate() {
        assert_eq!(AbcThresholds::default().validate(), Ok(()));
        assert_eq!(t(1, 2, 10_000).validate(), Ok(()));
        let fields = |t: AbcThresholds| t.validate().unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(t(0, 8_000, 9_500)), ["abc_a"]);
        assert_eq!(fields(t(5_000, 5_000, 9_500)), ["abc_b"]);
        assert_eq!(fields(t(5_000, 9_600, 9_500)), ["abc_c"]);
        assert_eq!(fields(t(0, 0, 0)), ["abc_a", "abc_b", "abc_c"]);
        let json = serde_json::to_string(&AbcThresholds::default()).unwrap();
        assert_eq!(json, r#"{"a":5000,"b":8000,"c":9500}"#);
        let partial: AbcThresholds = serde_json::from_str(r#"{"a":6000}"#).unwrap();
        assert_eq!(partial, t(6_000, 8_000, 9_500));
    }

    #[test]
    fn pareto_curve_runs_from_origin_to_one() {
        let r = money(&[10, 40, 0, 50]);
        let c = pareto_curve(&r, 4);
        assert_eq!(c, vec![(0.0, 0.0), (0.25, 0.5), (0.5, 0.9), (0.75, 1.0), (1.0, 1.0)]);
        let c = pareto_curve(&r, 2);
        assert_eq!(c, vec![(0.0, 0.0), (0.5, 0.9), (1.0, 1.0)]);
        // More points than customers: one per customer.
        assert_eq!(pareto_curve(&r, 100).len(), 5);
        // Zero points still draws the two ends.
        assert_eq!(pareto_curve(&r, 0), vec![(0.0, 0.0), (1.0, 1.0)]);
        // Negative revenue counts as zero.
        assert_eq!(pareto_curve(&money(&[-100, 100]), 2), vec![(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)]);
        assert!(pareto_curve(&[], 10).is_empty());
        assert!(pareto_curve(&money(&[0, -1]), 10).is_empty());
    }

    #[test]
    fn pareto_curve_is_monotone_and_concave() {
        let r: Vec<Money> = (1..=1000).map(|i| Money((i * 7919) % 1000 + 1)).collect();
        let c = pareto_curve(&r, 50);
        assert_eq!(c.len(), 51);
        assert_eq!(c.last(), Some(&(1.0, 1.0)));
        for w in c.windows(2) {
            assert!(w[1].0 > w[0].0 && w[1].1 >= w[0].1, "{w:?}");
            // Largest first: the curve is never below the diagonal.
            assert!(w[1].1 >= w[1].0 - 1e-12, "{w:?}");
        }
    }
}
