//! Money in and out of an order: receipts and refunds, the order's balance,
//! aging of overdue receivables, and the sums behind monthly and annual
//! statements.

use super::code_enum;
use super::order::OrderStatus;
use super::product::ProductType;
use crate::ids::UserId;
use crate::money::{Money, Overflow};
use crate::FieldError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

code_enum! {
    /// How money was paid.
    pub enum ReceiptMethod {
        /// 现金.
        Cash => ("cash", "现金", "Cash", []),
        /// 银行转账.
        BankTransfer => ("bank_transfer", "银行转账", "Bank transfer", ["转账", "汇款", "对公转账"]),
        /// 微信支付.
        WechatPay => ("wechat_pay", "微信支付", "WeChat Pay", ["微信", "wechat"]),
        /// 支付宝.
        Alipay => ("alipay", "支付宝", "Alipay", []),
        /// 刷卡: bank or credit card at a POS terminal.
        Card => ("card", "刷卡", "Card", ["银行卡", "信用卡", "pos"]),
    }
}

code_enum! {
    /// Whether money came in or went back.
    pub enum ReceiptKind {
        /// 收款.
        Receipt => ("receipt", "收款", "Receipt", []),
        /// 退款.
        Refund => ("refund", "退款", "Refund", []),
    }
}

/// Money received for an order, or refunded on it. The amount is always
/// positive; the kind gives the direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// In or out.
    pub kind: ReceiptKind,
    /// How it was paid.
    pub method: ReceiptMethod,
    /// How much, above zero.
    pub amount: Money,
    /// The day the money moved.
    pub received_on: NaiveDate,
    /// Accepted knowingly beyond the balance (the customer overpaid, to be
    /// refunded or kept as credit).
    pub overpayment: bool,
}

/// An order's money position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// What the customer owes in all (the order total).
    pub due: Money,
    /// Receipts so far.
    pub received: Money,
    /// Refunds so far.
    pub refunded: Money,
    /// Still to collect: due − (received − refunded), never below zero.
    pub balance: Money,
    /// Collected beyond what is due, never below zero.
    pub overpayment: Money,
}

impl Balance {
    /// The position of an order owing `due` after `receipts`.
    pub fn of<'a>(due: Money, receipts: impl IntoIterator<Item = &'a Receipt>) -> Result<Balance, Overflow> {
        let (mut received, mut refunded) = (Money::ZERO, Money::ZERO);
        for r in receipts {
            let sum = match r.kind {
                ReceiptKind::Receipt => &mut received,
                ReceiptKind::Refund => &mut refunded,
            };
            *sum = sum.checked_add(r.amount).ok_or(Overflow)?;
        }
        let outstanding = due.checked_sub(received.checked_sub(refunded).ok_or(Overflow)?).ok_or(Overflow)?;
        Ok(Balance {
            due,
            received,
            refunded,
            balance: outstanding.max(Money::ZERO),
            overpayment: Money(0).checked_sub(outstanding).ok_or(Overflow)?.max(Money::ZERO),
        })
    }

    /// Received minus refunded: what we hold of the customer's money.
    pub fn net_received(&self) -> Money {
        Money(self.received.0.saturating_sub(self.refunded.0))
    }

    /// Whether nothing is left to collect.
    pub fn is_settled(&self) -> bool {
        self.balance == Money::ZERO
    }

    /// Checks a new receipt or refund against this balance on an order in
    /// `status`:
    ///
    /// - the amount is above zero (`not_positive`);
    /// - no money is received on a cancelled or refunded order
    ///   (`order_cancelled`); refunds remain possible;
    /// - a receipt above the balance is refused (`exceeds_balance`) unless
    ///   flagged as an overpayment;
    /// - a refund is at most what we hold (`exceeds_received`).
    pub fn check(&self, status: OrderStatus, new: &Receipt) -> Result<(), FieldError> {
        if new.amount <= Money::ZERO {
            return Err(FieldError::new("amount", "not_positive", "amount must be more than zero"));
        }
        match new.kind {
            ReceiptKind::Receipt if !status.accepts_receipts() => Err(FieldError::new(
                "amount",
                "order_cancelled",
                format!("no money can be received on a {} order", status.code()),
            )),
            ReceiptKind::Receipt if new.amount > self.balance && !new.overpayment => Err(FieldError::new(
                "amount",
                "exceeds_balance",
                format!(
                    "amount {} is more than the balance {}; mark it as an overpayment to accept it",
                    new.amount, self.balance
                ),
            )),
            ReceiptKind::Refund if new.amount > self.net_received() => Err(FieldError::new(
                "amount",
                "exceeds_received",
                format!("a refund of {} is more than the {} received", new.amount, self.net_received()),
            )),
            _ => Ok(()),
        }
    }
}

code_enum! {
    /// How long a receivable has been overdue.
    pub enum AgingBucket {
        /// 未逾期: not yet due, or due today.
        Current => ("current", "未逾期", "Current", []),
        /// 逾期1–30天.
        Days1To30 => ("days_1_30", "逾期1–30天", "1–30 days", ["1-30"]),
        /// 逾期31–60天.
        Days31To60 => ("days_31_60", "逾期31–60天", "31–60 days", ["31-60"]),
        /// 逾期61–90天.
        Days61To90 => ("days_61_90", "逾期61–90天", "61–90 days", ["61-90"]),
        /// 逾期90天以上.
        Over90 => ("over_90", "逾期90天以上", "Over 90 days", ["90+"]),
    }
}

impl AgingBucket {
    /// The bucket of an amount due on `due_on`, seen on `as_of`: overdue
    /// from the day after the due date, so a payment due today is current
    /// and one due yesterday is 1 day overdue.
    pub fn of(due_on: NaiveDate, as_of: NaiveDate) -> AgingBucket {
        match (as_of - due_on).num_days() {
            i64::MIN..=0 => AgingBucket::Current,
            1..=30 => AgingBucket::Days1To30,
            31..=60 => AgingBucket::Days31To60,
            61..=90 => AgingBucket::Days61To90,
            _ => AgingBucket::Over90,
        }
    }
}

/// An amount still owed and the day it fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivable {
    /// The due date.
    pub due_on: NaiveDate,
    /// What is still owed.
    pub outstanding: Money,
}

/// One bucket of an aging report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AgingLine {
    /// The bucket.
    pub bucket: AgingBucket,
    /// The receivables in it.
    pub count: u32,
    /// What they still owe.
    pub amount: Money,
}

/// Receivables by age, every bucket listed in order, and the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgingReport {
    /// One line per bucket, current first.
    pub lines: Vec<AgingLine>,
    /// Everything outstanding.
    pub total: Money,
}

/// Sorts receivables into [`AgingBucket`]s as of `as_of`; receivables with
/// nothing outstanding (settled or overpaid) are left out.
pub fn aging<'a>(
    receivables: impl IntoIterator<Item = &'a Receivable>,
    as_of: NaiveDate,
) -> Result<AgingReport, Overflow> {
    let mut lines = AgingBucket::ALL.map(|bucket| AgingLine { bucket, count: 0, amount: Money::ZERO });
    let mut total = Money::ZERO;
    for r in receivables.into_iter().filter(|r| r.outstanding > Money::ZERO) {
        // Declaration order is `ALL` order, so the discriminant is the line.
        let line = &mut lines[AgingBucket::of(r.due_on, as_of) as usize];
        line.count += 1;
        line.amount = line.amount.checked_add(r.outstanding).ok_or(Overflow)?;
        total = total.checked_add(r.outstanding).ok_or(Overflow)?;
    }
    Ok(AgingReport { lines: lines.into(), total })
}

/// One amount for a statement: an order's total, a receipt (a refund as a
/// negative amount) or a margin, with what it is reported by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRow {
    /// The day it counts on (order date, receipt date).
    pub date: NaiveDate,
    /// The salesperson it is credited to.
    pub salesperson: UserId,
    /// The kind of product.
    pub product_type: ProductType,
    /// The amount.
    pub amount: Money,
}

/// Sums by month of `year`, January first; rows of other years are left out.
pub fn sum_by_month<'a>(rows: impl IntoIterator<Item = &'a StatementRow>, year: i32) -> Result<[Money; 12], Overflow> {
    let mut months = [Money::ZERO; 12];
    for r in rows.into_iter().filter(|r| r.date.year() == year) {
        let m = &mut months[r.date.month0() as usize];
        *m = m.checked_add(r.amount).ok_or(Overflow)?;
    }
    Ok(months)
}

/// Sums by salesperson, in id order; pass the rows of the period wanted.
pub fn sum_by_salesperson<'a>(
    rows: impl IntoIterator<Item = &'a StatementRow>,
) -> Result<BTreeMap<UserId, Money>, Overflow> {
    let mut sums = BTreeMap::new();
    for r in rows {
        let sum = sums.entry(r.salesperson).or_insert(Money::ZERO);
        *sum = r.amount.checked_add(*sum).ok_or(Overflow)?;
    }
    Ok(sums)
}

/// Sums by product type, every type listed in [`ProductType::ALL`] order
/// (zero when it sold nothing); pass the rows of the period wanted.
pub fn sum_by_product_type<'a>(
    rows: impl IntoIterator<Item = &'a StatementRow>,
) -> Result<Vec<(ProductType, Money)>, Overflow> {
    let mut sums = ProductType::ALL.map(|t| (t, Money::ZERO));
    for r in rows {
        let sum = &mut sums[r.product_type as usize].1;
        *sum = sum.checked_add(r.amount).ok_or(Overflow)?;
    }
    Ok(sums.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::{check_code_enum, date};

    fn paid(kind: ReceiptKind, fen: i64) -> Receipt {
        Receipt {
            kind,
            method: ReceiptMethod::WechatPay,
            amount: Money(fen),
            received_on: date("2027-01-05"),
            overpayment: false,
        }
    }

    fn receipt(fen: i64) -> Receipt {
        paid(ReceiptKind::Receipt, fen)
    }

    fn refund(fen: i64) -> Receipt {
        paid(ReceiptKind::Refund, fen)
    }

    #[test]
    fn enums() {
        check_code_enum!(ReceiptMethod, ReceiptKind, AgingBucket);
        assert_eq!(ReceiptMethod::parse("method", "微信").unwrap(), ReceiptMethod::WechatPay);
        assert!(AgingBucket::ALL.iter().enumerate().all(|(i, b)| *b as usize == i));
        assert!(ProductType::ALL.iter().enumerate().all(|(i, t)| *t as usize == i));
    }

    #[test]
    fn balances_net_refunds_against_receipts() {
        let b = Balance::of(Money(100_000), &[receipt(30_000), receipt(50_000), refund(10_000)]).unwrap();
        assert_eq!(
            b,
            Balance {
                due: Money(100_000),
                received: Money(80_000),
                refunded: Money(10_000),
                balance: Money(30_000),
                overpayment: Money::ZERO
            }
        );
        assert_eq!(b.net_received(), Money(70_000));
        assert!(!b.is_settled());
        let over = Balance::of(Money(100_000), &[receipt(120_000)]).unwrap();
        assert_eq!((over.balance, over.overpayment), (Money::ZERO, Money(20_000)));
        assert!(over.is_settled());
        let none = Balance::of(Money(0), &[]).unwrap();
        assert_eq!((none.balance, none.overpayment), (Money::ZERO, Money::ZERO));
    }

    #[test]
    fn receipts_beyond_the_balance_need_the_overpayment_flag() {
        let b = Balance::of(Money(100_000), &[receipt(70_000)]).unwrap();
        assert_eq!(b.check(OrderStatus::Confirmed, &receipt(30_000)), Ok(()));
        let e = b.check(OrderStatus::Confirmed, &receipt(30_001)).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("amount", "exceeds_balance"));
        assert!(e.message.contains("300.01") && e.message.contains("300.00"), "{}", e.message);
        let flagged = Receipt { overpayment: true, ..receipt(30_001) };
        assert_eq!(b.check(OrderStatus::Confirmed, &flagged), Ok(()));
        assert_eq!(b.check(OrderStatus::Pending, &receipt(0)).unwrap_err().code, "not_positive");
        assert_eq!(b.check(OrderStatus::Pending, &refund(-5)).unwrap_err().code, "not_positive");
    }

    #[test]
    fn cancelled_orders_take_refunds_but_no_receipts() {
        let b = Balance::of(Money(100_000), &[receipt(70_000), refund(20_000)]).unwrap();
        for status in [OrderStatus::Cancelled, OrderStatus::Refunded] {
            assert_eq!(b.check(status, &receipt(1)).unwrap_err().code, "order_cancelled");
            let flagged = Receipt { overpayment: true, ..receipt(1) };
            assert_eq!(b.check(status, &flagged).unwrap_err().code, "order_cancelled");
        }
        assert_eq!(b.check(OrderStatus::Cancelled, &refund(50_000)), Ok(()));
        let e = b.check(OrderStatus::Cancelled, &refund(50_001)).unwrap_err();
        assert_eq!(e.code, "exceeds_received");
    }

    #[test]
    fn aging_buckets_start_the_day_after_the_due_date() {
        let due = date("2027-01-31");
        let bucket = |as_of: &str| AgingBucket::of(due, date(as_of));
        assert_eq!(bucket("2027-01-01"), AgingBucket::Current);
        assert_eq!(bucket("2027-01-31"), AgingBucket::Current);
        assert_eq!(bucket("2027-02-01"), AgingBucket::Days1To30);
        assert_eq!(bucket("2027-03-02"), AgingBucket::Days1To30, "30 days");
        assert_eq!(bucket("2027-03-03"), AgingBucket::Days31To60, "31 days");
        assert_eq!(bucket("2027-04-01"), AgingBucket::Days31To60, "60 days");
        assert_eq!(bucket("2027-04-02"), AgingBucket::Days61To90, "61 days");
        assert_eq!(bucket("2027-05-01"), AgingBucket::Days61To90, "90 days");
        assert_eq!(bucket("2027-05-02"), AgingBucket::Over90, "91 days");
    }

    #[test]
    fn aging_report_sums_each_bucket() {
        let r = |due: &str, fen| Receivable { due_on: date(due), outstanding: Money(fen) };
        let rows = [
            r("2027-06-30", 10_000),
            r("2027-06-01", 20_000),
            r("2027-05-15", 5_000),
            r("2027-03-01", 7_000),
            r("2027-05-01", 0),
            r("2027-05-01", -3_000),
        ];
        let report = aging(&rows, date("2027-06-30")).unwrap();
        let got: Vec<(AgingBucket, u32, Money)> = report.lines.iter().map(|l| (l.bucket, l.count, l.amount)).collect();
        assert_eq!(
            got,
            [
                (AgingBucket::Current, 1, Money(10_000)),
                (AgingBucket::Days1To30, 1, Money(20_000)),
                (AgingBucket::Days31To60, 1, Money(5_000)),
                (AgingBucket::Days61To90, 0, Money::ZERO),
                (AgingBucket::Over90, 1, Money(7_000)),
            ]
        );
        assert_eq!(report.total, Money(42_000));
    }

    #[test]
    fn statements_sum_by_month_salesperson_and_product_type() {
        let row = |d: &str, who, t, fen| StatementRow {
            date: date(d),
            salesperson: UserId(who),
            product_type: t,
            amount: Money(fen),
        };
        let rows = [
            row("2027-01-05", 1, ProductType::LongHaul, 100_000),
            row("2027-01-31", 2, ProductType::DayTrip, 20_000),
            row("2027-03-01", 1, ProductType::LongHaul, 50_000),
            row("2027-12-31", 2, ProductType::International, 300_000),
            row("2027-12-31", 2, ProductType::International, -30_000),
            row("2026-12-31", 1, ProductType::Ticket, 999),
        ];
        let months = sum_by_month(&rows, 2027).unwrap();
        assert_eq!(
            (months[0], months[1], months[2], months[11]),
            (Money(120_000), Money::ZERO, Money(50_000), Money(270_000))
        );
        assert_eq!(Money::checked_sum(months), Some(Money(440_000)), "the year is the sum of its months");
        assert_eq!(sum_by_month(&rows, 2026).unwrap()[11], Money(999));

        let people = sum_by_salesperson(&rows[..5]).unwrap();
        assert_eq!(people.into_iter().collect::<Vec<_>>(), [(UserId(1), Money(150_000)), (UserId(2), Money(290_000))]);

        let types = sum_by_product_type(&rows[..5]).unwrap();
        assert_eq!(types.len(), ProductType::ALL.len());
        let of = |t| types.iter().find(|(x, _)| *x == t).unwrap().1;
        assert_eq!((of(ProductType::LongHaul), of(ProductType::DayTrip)), (Money(150_000), Money(20_000)));
        assert_eq!((of(ProductType::International), of(ProductType::Ticket)), (Money(270_000), Money::ZERO));
        assert_eq!(types[0].0, ProductType::Nearby);
    }
}
