//! Opportunities (商机): a customer's intention to buy, followed by a
//! salesperson from first contact to won or lost.

use super::product::ProductType;
use super::{check_non_negative, check_optional_text, check_text, code_enum, transition};
use crate::money::{BasisPoints, Money};
use crate::{FieldError, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

code_enum! {
    /// The stage of an opportunity in the sales pipeline.
    pub enum OpportunityStage {
        /// 新建: recorded, not yet looked into.
        New => ("new", "新建", "New", ["新商机"]),
        /// 已确认需求: destination, dates, party and budget are known.
        Qualified => ("qualified", "已确认需求", "Qualified", ["已确认", "需求确认"]),
        /// 已报价: a quote has been sent.
        Quoted => ("quoted", "已报价", "Quoted", ["报价"]),
        /// 谈判中: price or content under discussion.
        Negotiating => ("negotiating", "谈判中", "Negotiating", ["洽谈中", "谈判"]),
        /// 赢单: the customer bought.
        Won => ("won", "赢单", "Won", ["成交", "签单"]),
        /// 输单: the customer did not buy; a reason is recorded.
        Lost => ("lost", "输单", "Lost", ["丢单", "失败"]),
    }
}

impl OpportunityStage {
    /// The stages a salesperson may move this one to:
    ///
    /// new → qualified | quoted | lost; qualified → quoted | lost;
    /// quoted → negotiating | won | lost; negotiating → quoted (a revised
    /// quote) | won | lost. Won and lost are closed: only a manager may
    /// reopen them, and a reopened opportunity goes back to qualified, since
    /// whatever was quoted before must be confirmed again.
    pub fn next(self) -> &'static [OpportunityStage] {
        use OpportunityStage::*;
        match self {
            New => &[Qualified, Quoted, Lost],
            Qualified => &[Quoted, Lost],
            Quoted => &[Negotiating, Won, Lost],
            Negotiating => &[Quoted, Won, Lost],
            Won | Lost => &[],
        }
    }

    /// Whether the opportunity is closed (won or lost).
    pub fn is_closed(self) -> bool {
        matches!(self, OpportunityStage::Won | OpportunityStage::Lost)
    }

    /// Changes to `to` if [`Self::next`] allows it, or reopens a closed
    /// opportunity to qualified when `by_manager`; anyone else asking to
    /// reopen gets `manager_required`.
    pub fn transition(self, to: OpportunityStage, by_manager: bool) -> Result<OpportunityStage, FieldError> {
        if self.is_closed() && to == OpportunityStage::Qualified {
            return if by_manager {
                Ok(to)
            } else {
                Err(FieldError::new("stage", "manager_required", "only a manager can reopen a won or lost opportunity"))
            };
        }
        transition("stage", self, to, self.next(), OpportunityStage::code)
    }

    /// The chance of winning used to weigh the pipeline: 10%, 25%, 50%, 75%,
    /// then 100% when won and 0 when lost.
    pub fn probability(self) -> BasisPoints {
        let bp = match self {
            OpportunityStage::New => 1_000,
            OpportunityStage::Qualified => 2_500,
            OpportunityStage::Quoted => 5_000,
            OpportunityStage::Negotiating => 7_500,
            OpportunityStage::Won => 10_000,
            OpportunityStage::Lost => 0,
        };
        BasisPoints::new(bp).unwrap_or(BasisPoints::FULL)
    }
}

/// A customer's intention to buy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    /// What it is about (`王总公司年会 海南5日`).
    pub title: String,
    /// Where it stands.
    pub stage: OpportunityStage,
    /// What the deal is expected to bring in.
    pub expected_value: Money,
    /// The day it is expected to close; the day it closed once won or lost.
    pub close_date: NaiveDate,
    /// The kind of product asked for, if known.
    pub product_type: Option<ProductType>,
    /// Why it was lost; set only when lost.
    pub lost_reason: Option<String>,
}

impl Opportunity {
    /// Title required; expected value not negative; a lost opportunity
    /// says why.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "title", &self.title, 100);
        check_non_negative(&mut errors, "expected_value", self.expected_value);
        if self.stage == OpportunityStage::Lost {
            check_text(&mut errors, "lost_reason", self.lost_reason.as_deref().unwrap_or(""), 200);
        } else {
            check_optional_text(&mut errors, "lost_reason", self.lost_reason.as_deref(), 200);
        }
        errors.into_result()
    }

    /// Moves to stage `to` (see [`OpportunityStage::transition`]). Losing
    /// needs a `lost_reason`; closing sets the close date to `today`;
    /// any other move clears an old lost reason.
    pub fn change_stage(
        &mut self,
        to: OpportunityStage,
        lost_reason: Option<&str>,
        by_manager: bool,
        today: NaiveDate,
    ) -> Result<(), FieldError> {
        let to = self.stage.transition(to, by_manager)?;
        let reason = lost_reason.map(str::trim).filter(|r| !r.is_empty());
        if to == OpportunityStage::Lost && reason.is_none() {
            return Err(FieldError::new("lost_reason", "required", "say why the opportunity was lost"));
        }
        self.lost_reason = if to == OpportunityStage::Lost { reason.map(str::to_string) } else { None };
        if to.is_closed() {
            self.close_date = today;
        }
        self.stage = to;
        Ok(())
    }

    /// The expected value weighed by the stage's [`probability`]
    /// (rounded to the 分 as [`Money::share`] does).
    ///
    /// [`probability`]: OpportunityStage::probability
    pub fn weighted_value(&self) -> Money {
        self.expected_value.share(self.stage.probability())
    }

    /// Whether it is still open after its expected close date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        !self.stage.is_closed() && self.close_date < today
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::{allowed_moves, check_code_enum, date};
    use OpportunityStage::*;

    fn opportunity() -> Opportunity {
        Opportunity {
            title: "年会 海南5日".into(),
            stage: New,
            expected_value: Money(12_000_000),
            close_date: date("2027-01-31"),
            product_type: Some(ProductType::LongHaul),
            lost_reason: None,
        }
    }

    #[test]
    fn stages_follow_the_pipeline() {
        check_code_enum!(OpportunityStage);
        let moves = allowed_moves(&OpportunityStage::ALL, |f, t| f.transition(t, false) == Ok(t));
        assert_eq!(
            moves,
            [
                (New, Qualified),
                (New, Quoted),
                (New, Lost),
                (Qualified, Quoted),
                (Qualified, Lost),
                (Quoted, Negotiating),
                (Quoted, Won),
                (Quoted, Lost),
                (Negotiating, Quoted),
                (Negotiating, Won),
                (Negotiating, Lost),
            ]
        );
        let by_manager = allowed_moves(&OpportunityStage::ALL, |f, t| f.transition(t, true) == Ok(t));
        assert_eq!(by_manager.len(), moves.len() + 2, "managers add only the two reopenings");
        assert_eq!(New.transition(Won, true).unwrap_err().code, "invalid_transition");
    }

    #[test]
    fn only_a_manager_reopens_and_only_to_qualified() {
        for closed in [Won, Lost] {
            assert_eq!(closed.transition(Qualified, false).unwrap_err().code, "manager_required");
            assert_eq!(closed.transition(Qualified, true), Ok(Qualified));
        }
        assert!(Won.next().is_empty() && Lost.next().is_empty());
    }

    #[test]
    fn losing_needs_a_reason_and_closing_dates_it() {
        let today = date("2027-01-10");
        let mut o = opportunity();
        let e = o.change_stage(Lost, Some("  "), false, today).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("lost_reason", "required"));
        assert_eq!(o.stage, New, "a refused move changes nothing");
        o.change_stage(Lost, Some(" 价格高于竞争对手 "), false, today).unwrap();
        assert_eq!((o.stage, o.lost_reason.as_deref(), o.close_date), (Lost, Some("价格高于竞争对手"), today));
        assert!(o.validate().is_ok());
        o.change_stage(Qualified, None, true, date("2027-02-01")).unwrap();
        assert_eq!((o.stage, o.lost_reason.as_deref(), o.close_date), (Qualified, None, today));
    }

    #[test]
    fn validation_names_title_value_and_reason() {
        let o = Opportunity { title: "".into(), stage: Lost, expected_value: Money(-1), ..opportunity() };
        let got: Vec<(String, &str)> = o.validate().unwrap_err().0.into_iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            got,
            [("title".into(), "required"), ("expected_value".into(), "negative"), ("lost_reason".into(), "required")]
        );
    }

    #[test]
    fn pipeline_value_is_weighed_by_stage() {
        let mut o = opportunity();
        assert_eq!(o.weighted_value(), Money(1_200_000));
        o.stage = Negotiating;
        o.expected_value = Money(333);
        assert_eq!(o.weighted_value(), Money(250), "249.75 分 rounds to 250");
        o.stage = Lost;
        assert_eq!(o.weighted_value(), Money::ZERO);
        o.stage = Quoted;
        assert!(o.is_overdue(date("2027-02-01")) && !o.is_overdue(date("2027-01-31")));
        o.stage = Won;
        assert!(!o.is_overdue(date("2027-02-01")));
    }
}
