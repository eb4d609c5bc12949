//! RFM scoring: Recency, Frequency and Monetary value in quintiles, after
//! Hughes (1994), *Strategic Database Marketing*, ch. 6 (the quintile RFM
//! method: rank customers on each dimension and cut the ranking into five
//! equal groups, 5 the best).
//!
//! Hughes sorts and cuts at exact fifths, which can put two customers with
//! the same value in different quintiles. Here equal values always share a
//! score: a group of ties is placed at the midpoint of the ranks it occupies
//! (the mid-rank percentile), so a score never depends on input order.
//!
//! The named segments follow the R × FM grid widely used in practice (e.g.
//! the segment map of Putler's and Klaviyo's RFM guides), documented on
//! [`segment`].

use crate::codes::code_enum;
use crate::money::Money;

/// One buying customer's raw RFM values (customers who never bought are not
/// scored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmInput {
    /// Days since the last purchase: fewer is better.
    pub recency_days: u32,
    /// Number of purchases: more is better.
    pub frequency: u32,
    /// Total spend: more is better.
    pub monetary: Money,
}

/// Quintile scores 1..=5 on each dimension, 5 the best (most recent, most
/// frequent, most spend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RfmScore {
    /// Recency score.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
}

impl RfmScore {
    /// The average of F and M rounded half up, 1..=5: the "FM" axis of the
    /// segment grid.
    pub fn fm(self) -> u8 {
        (u16::from(self.f) + u16::from(self.m)).div_ceil(2) as u8
    }

    /// The conventional three-digit cell, e.g. `"545"`.
    pub fn cell(self) -> String {
        format!("{}{}{}", self.r, self.f, self.m)
    }
}

/// The quintile scores of every row, in input order. O(n log n).
///
/// On each dimension the rows are ranked from worst to best; a row with
/// `below` rows strictly worse and `equal` rows (itself included) tied with it
/// scores 1 + ⌊5 · (below + equal/2) / n⌋. For distinct values that is an
/// exact cut into fifths (when n is a multiple of five); ties all get the
/// score of their midpoint; a single customer, or a column where everyone is
/// equal, scores 3.
pub fn scores(rows: &[RfmInput]) -> Vec<RfmScore> {
    let mut out = vec![RfmScore { r: 0, f: 0, m: 0 }; rows.len()];
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    // Recency: more days is worse, so rank by days descending.
    quintiles(rows, &mut order, |r| std::cmp::Reverse(r.recency_days), |s, v| s.r = v, &mut out);
    quintiles(rows, &mut order, |r| r.frequency, |s, v| s.f = v, &mut out);
    quintiles(rows, &mut order, |r| r.monetary, |s, v| s.m = v, &mut out);
    out
}

/// Scores one dimension: `key` orders rows from worst to best.
fn quintiles<K: Ord>(
    rows: &[RfmInput],
    order: &mut [u32],
    key: impl Fn(&RfmInput) -> K,
    set: impl Fn(&mut RfmScore, u8),
    out: &mut [RfmScore],
) {
    let n = order.len() as u64;
    order.sort_unstable_by(|&x, &y| key(&rows[x as usize]).cmp(&key(&rows[y as usize])));
    let mut start = 0;
    while start < order.len() {
        let k = key(&rows[order[start] as usize]);
        let mut end = start + 1;
        while end < order.len() && key(&rows[order[end] as usize]) == k {
            end += 1;
        }
        let (below, equal) = (start as u64, (end - start) as u64);
        // 1 + ⌊5 (below + equal/2) / n⌋ in integers; below + equal ≤ n keeps it ≤ 5.
        let score = 1 + (5 * (2 * below + equal) / (2 * n)) as u8;
        for &i in &order[start..end] {
            set(&mut out[i as usize], score);
        }
        start = end;
    }
}

code_enum! {
    /// A named RFM segment (see [`segment`] for the grid).
    pub enum Segment {
        /// 冠军客户: bought recently, buy often and spend the most.
        Champions => ("champions", "冠军客户", "Champions", ["重要价值客户", "重要价值"]),
        /// 忠诚客户: buy often and spend well, fairly recently.
        Loyal => ("loyal", "忠诚客户", "Loyal", ["loyal_customers"]),
        /// 潜在忠诚客户: recent, with average frequency and spend.
        PotentialLoyalist => ("potential_loyalist", "潜在忠诚客户", "Potential loyalist", ["potential_loyalists"]),
        /// 新客户: bought very recently, little history yet.
        NewCustomer => ("new_customer", "新客户", "New customer", ["new_customers", "recent_customers"]),
        /// 有潜力客户: recent, little history yet.
        Promising => ("promising", "有潜力客户", "Promising", []),
        /// 需要关注: average on every count.
        NeedAttention => ("need_attention", "需要关注", "Needs attention", ["needs_attention"]),
        /// 即将沉睡: neither recent nor frequent.
        AboutToSleep => ("about_to_sleep", "即将沉睡", "About to sleep", []),
        /// 有流失风险: used to buy often, not for a long time.
        AtRisk => ("at_risk", "有流失风险", "At risk", []),
        /// 不能失去: the best customers of the past, gone quiet.
        CannotLose => ("cannot_lose", "不能失去", "Cannot lose them", ["cant_lose"]),
        /// 沉睡客户: long ago, little and seldom.
        Hibernating => ("hibernating", "沉睡客户", "Hibernating", []),
        /// 已流失: the lowest scores on every count.
        Lost => ("lost", "已流失", "Lost", []),
    }
}

/// The named segment of a score on the R × FM grid, FM = [`RfmScore::fm`]:
///
/// | R \ FM | 1               | 2                  | 3                  | 4           | 5           |
/// |--------|-----------------|--------------------|--------------------|-------------|-------------|
/// | 5      | new customer    | potential loyalist | potential loyalist | champions   | champions   |
/// | 4      | promising       | potential loyalist | potential loyalist | loyal       | loyal       |
/// | 3      | about to sleep  | about to sleep     | need attention     | loyal       | loyal       |
/// | 2      | hibernating     | hibernating        | at risk            | at risk     | cannot lose |
/// | 1      | lost            | lost               | at risk            | at risk     | cannot lose |
///
/// This is the widely used R × F segment map (hibernating `[1-2][1-2]`, at
/// risk `[1-2][3-4]`, cannot lose `[1-2]5`, about to sleep `3[1-2]`, need
/// attention `33`, loyal `[3-4][4-5]`, promising `41`, new `51`, potential
/// loyalist `[4-5][2-3]`, champions `5[4-5]`) with FM in place of F, and its
/// bottom-left corner (R = 1, FM ≤ 2) split off as lost. Scores outside
/// 1..=5 are clamped.
pub fn segment(s: RfmScore) -> Segment {
    let r = s.r.clamp(1, 5);
    let fm = s.fm().clamp(1, 5);
    match r {
        5 => match fm {
            1 => Segment::NewCustomer,
            2..=3 => Segment::PotentialLoyalist,
            _ => Segment::Champions,
        },
        4 => match fm {
            1 => Segment::Promising,
            2..=3 => Segment::PotentialLoyalist,
            _ => Segment::Loyal,
        },
        3 => match fm {
            1..=2 => Segment::AboutToSleep,
            3 => Segment::NeedAttention,
            _ => Segment::Loyal,
        },
        2 => match fm {
            1..=2 => Segment::Hibernating,
            3..=4 => Segment::AtRisk,
            _ => Segment::CannotLose,
        },
        _ => match fm {
            1..=2 => Segment::Lost,
            3..=4 => Segment::AtRisk,
            _ => Segment::CannotLose,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(recency_days: u32, frequency: u32, fen: i64) -> RfmInput {
        RfmInput { recency_days, frequency, monetary: Money(fen) }
    }

    fn score(r: u8, f: u8, m: u8) -> RfmScore {
        RfmScore { r, f, m }
    }

    #[test]
    fn distinct_values_cut_into_exact_fifths() {
        // Ten customers: two per quintile. Recency 1 is the best.
        let rows: Vec<RfmInput> = (0..10).map(|i| row(i + 1, 10 - i, i64::from(i) * 100)).collect();
        let s = scores(&rows);
        let r: Vec<u8> = s.iter().map(|s| s.r).collect();
        let f: Vec<u8> = s.iter().map(|s| s.f).collect();
        let m: Vec<u8> = s.iter().map(|s| s.m).collect();
        assert_eq!(r, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        assert_eq!(f, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        assert_eq!(m, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn result_does_not_depend_on_input_order() {
        let rows: Vec<RfmInput> =
            (0..37u32).map(|i| row((i * 13) % 11, (i * 7) % 5, i64::from((i * 3) % 17))).collect();
        let s = scores(&rows);
        let mut reversed = rows.clone();
        reversed.reverse();
        let mut s2 = scores(&reversed);
        s2.reverse();
        assert_eq!(s, s2);
    }

    #[test]
    fn ties_are_never_split() {
        // 2 and 8 customers; a cut at fifths would split the eight.
        let mut rows = vec![row(5, 1, 100); 2];
        rows.extend(vec![row(1, 3, 500); 8]);
        let s = scores(&rows);
        for w in s[2..].windows(2) {
            assert_eq!(w[0], w[1]);
        }
        // The eight best sit at mid-rank 2 + 4 = 6 of 10: ⌊5·6/10⌋ + 1 = 4.
        assert_eq!(s[2], score(4, 4, 4));
        // The two worst at mid-rank 1: ⌊5·1/10⌋ + 1 = 1.
        assert_eq!(s[0], score(1, 1, 1));
        // Equal values anywhere share a score, for random data too.
        let rows: Vec<RfmInput> = (0..200u32).map(|i| row(i % 7, (i * 31) % 9, i64::from(i % 4))).collect();
        let s = scores(&rows);
        for (a, b) in rows.iter().zip(&s) {
            for (c, d) in rows.iter().zip(&s) {
                if a.frequency == c.frequency {
                    assert_eq!(b.f, d.f);
                }
                if a.recency_days == c.recency_days {
                    assert_eq!(b.r, d.r);
                }
                if a.monetary == c.monetary {
                    assert_eq!(b.m, d.m);
                }
                // More is never scored lower.
                if a.frequency > c.frequency {
                    assert!(b.f >= d.f);
                }
                if a.recency_days < c.recency_days {
                    assert!(b.r >= d.r);
                }
            }
        }
    }

    #[test]
    fn small_and_degenerate_inputs() {
        assert!(scores(&[]).is_empty());
        assert_eq!(scores(&[row(30, 2, 100)]), [score(3, 3, 3)]);
        assert_eq!(scores(&[row(30, 2, 100); 4]), vec![score(3, 3, 3); 4]);
        let s = scores(&[row(10, 1, 1), row(20, 2, 2), row(30, 3, 3)]);
        assert_eq!(s, [score(5, 1, 1), score(3, 3, 3), score(1, 5, 5)]);
        // Scores stay within 1..=5 for any n.
        for n in 1..60u32 {
            let rows: Vec<RfmInput> = (0..n).map(|i| row(i, i, i64::from(i))).collect();
            for s in scores(&rows) {
                assert!((1..=5).contains(&s.r) && (1..=5).contains(&s.f) && (1..=5).contains(&s.m));
            }
        }
    }

    #[test]
    fn fm_rounds_half_up() {
        assert_eq!(score(1, 4, 5).fm(), 5);
        assert_eq!(score(1, 4, 4).fm(), 4);
        assert_eq!(score(1, 1, 2).fm(), 2);
        assert_eq!(score(1, 1, 1).fm(), 1);
        assert_eq!(score(5, 4, 5).cell(), "545");
    }

    #[test]
    fn the_grid_matches_its_documentation() {
        use Segment::*;
        let grid = [
            [NewCustomer, PotentialLoyalist, PotentialLoyalist, Champions, Champions],
            [Promising, PotentialLoyalist, PotentialLoyalist, Loyal, Loyal],
            [AboutToSleep, AboutToSleep, NeedAttention, Loyal, Loyal],
            [Hibernating, Hibernating, AtRisk, AtRisk, CannotLose],
            [Lost, Lost, AtRisk, AtRisk, CannotLose],
        ];
        for (row, cells) in grid.iter().enumerate() {
            let r = 5 - row as u8;
            for (col, &want) in cells.iter().enumerate() {
                let fm = col as u8 + 1;
                assert_eq!(segment(score(r, fm, fm)), want, "R{r} FM{fm}");
            }
        }
        // Every segment is reachable.
        let all: std::collections::HashSet<Segment> = grid.iter().flatten().copied().collect();
        assert_eq!(all.len(), Segment::ALL.len());
        // FM is the rounded mean of F and M.
        assert_eq!(segment(score(5, 3, 4)), Champions);
        assert_eq!(segment(score(5, 3, 3)), PotentialLoyalist);
        assert_eq!(segment(score(0, 9, 9)), CannotLose);
    }

    #[test]
    fn segment_codes_round_trip() {
        for s in Segment::ALL {
            assert_eq!(Segment::from_code(s.code()), Some(s));
            assert_eq!(Segment::parse("segment", s.label_zh()).unwrap(), s);
            assert_eq!(Segment::parse("segment", s.label_en()).unwrap(), s);
        }
        assert_eq!(Segment::parse("segment", "重要价值客户").unwrap(), Segment::Champions);
        assert_eq!(Segment::parse("segment", "cannot lose").unwrap(), Segment::CannotLose);
    }
}
