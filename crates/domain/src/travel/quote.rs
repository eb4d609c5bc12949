//! Quotes (报价单): priced proposals to a customer, kept as numbered
//! versions, with exact totals and a structured difference between any two
//! versions.
//!
//! Rounding: amounts are integer 分 throughout; the only division is a
//! percentage discount, rounded per line to the nearest 分 with halves away
//! from zero ([`Money::share`]). A quote's total is the exact sum of its
//! line totals, so the printed lines always add up to the printed total.

use super::{check_non_negative, check_optional_text, check_text, code_enum, transition, Party};
use crate::audit::{ChangeSet, FieldChange, Sensitivity};
use crate::money::{BasisPoints, Money, Overflow};
use crate::{FieldError, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

code_enum! {
    /// What a quote line sells.
    pub enum QuoteLineKind {
        /// 产品: a catalogue product.
        Product => ("product", "产品", "Product", []),
        /// 团期: a seat on a dated departure.
        Departure => ("departure", "团期", "Departure", ["团"]),
        /// 附加项目: visa, insurance, single-room supplement, transfer …
        Extra => ("extra", "附加项目", "Extra", ["附加", "其他费用"]),
    }
}

code_enum! {
    /// Where a quote version stands.
    pub enum QuoteStatus {
        /// 草稿: being prepared.
        Draft => ("draft", "草稿", "Draft", []),
        /// 已发送: with the customer.
        Sent => ("sent", "已发送", "Sent", ["已报价"]),
        /// 已接受: the customer agreed; an order follows.
        Accepted => ("accepted", "已接受", "Accepted", ["接受"]),
        /// 已拒绝.
        Rejected => ("rejected", "已拒绝", "Rejected", ["拒绝"]),
        /// 已过期: its validity passed unanswered.
        Expired => ("expired", "已过期", "Expired", ["过期"]),
    }
}

impl QuoteStatus {
    /// The statuses this one may change to: draft → sent; sent → accepted |
    /// rejected | expired. The others are final: a change after sending is
    /// a new version (see [`Quote::next_version`]), never an edit.
    pub fn next(self) -> &'static [QuoteStatus] {
        use QuoteStatus::*;
        match self {
            Draft => &[Sent],
            Sent => &[Accepted, Rejected, Expired],
            Accepted | Rejected | Expired => &[],
        }
    }

    /// Changes to `to` if [`Self::next`] allows it.
    pub fn transition(self, to: QuoteStatus) -> Result<QuoteStatus, FieldError> {
        transition("status", self, to, self.next(), QuoteStatus::code)
    }

    /// The status on `today`: a sent quote is expired the day after
    /// `valid_until` (the quote is good through that whole day).
    pub fn as_of(self, valid_until: NaiveDate, today: NaiveDate) -> QuoteStatus {
        if self == QuoteStatus::Sent && today > valid_until {
            QuoteStatus::Expired
        } else {
            self
        }
    }
}

/// A discount on a line's fare: none, an amount, or a percentage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Discount {
    /// No discount.
    #[default]
    None,
    /// A fixed amount off.
    Amount(Money),
    /// A share of the fare off, rounded as [`Money::share`].
    Percent(BasisPoints),
}

impl Discount {
    /// The amount taken off `fare`.
    pub fn on(self, fare: Money) -> Money {
        match self {
            Discount::None => Money::ZERO,
            Discount::Amount(m) => m,
            Discount::Percent(rate) => fare.share(rate),
        }
    }
}

impl fmt::Display for Discount {
    /// Empty, `100.00` or `9.5%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discount::None => Ok(()),
            Discount::Amount(m) => fmt::Display::fmt(m, f),
            Discount::Percent(rate) => fmt::Display::fmt(rate, f),
        }
    }
}

/// A charge added to a line and not discounted (visa, insurance): mostly
/// costs passed through, which agencies do not discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    /// What it is.
    pub description: String,
    /// What it costs.
    pub amount: Money,
}

/// One line of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    /// The line's identity across versions: kept when a line is edited in a
    /// new version, never reused for another line of the quote. Versions
    /// are compared by it.
    pub key: u32,
    /// What it sells.
    pub kind: QuoteLineKind,
    /// What the customer reads.
    pub description: String,
    /// Adults and children; on an extra line, the quantities priced at the
    /// adult and child rates.
    pub party: Party,
    /// Price per adult.
    pub adult_price: Money,
    /// Price per child.
    pub child_price: Money,
    /// Off the fare (not the extras).
    pub discount: Discount,
    /// Undiscounted charges added to the line.
    pub extras: Vec<Extra>,
}

/// The amounts of one line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LineTotals {
    /// Adults × adult price + children × child price.
    pub fare: Money,
    /// Taken off the fare.
    pub discount: Money,
    /// The sum of the extras.
    pub extras: Money,
    /// Fare − discount + extras.
    pub total: Money,
}

impl QuoteLine {
    /// The line's amounts, exact to the 分.
    pub fn totals(&self) -> Result<LineTotals, Overflow> {
        let fare = self.party.fare(self.adult_price, self.child_price).ok_or(Overflow)?;
        let discount = self.discount.on(fare);
        let extras = Money::checked_sum(self.extras.iter().map(|e| e.amount)).ok_or(Overflow)?;
        let total = fare.checked_sub(discount).and_then(|m| m.checked_add(extras)).ok_or(Overflow)?;
        Ok(LineTotals { fare, discount, extras, total })
    }

    fn check(&self, errors: &mut FieldErrors, i: usize) {
        let f = |name: &str| format!("lines.{i}.{name}");
        check_text(errors, &f("description"), &self.description, 200);
        check_non_negative(errors, &f("adult_price"), self.adult_price);
        check_non_negative(errors, &f("child_price"), self.child_price);
        for (j, extra) in self.extras.iter().enumerate() {
            check_text(errors, &f(&format!("extras.{j}.description")), &extra.description, 100);
            check_non_negative(errors, &f(&format!("extras.{j}.amount")), extra.amount);
        }
        match self.totals() {
            Err(Overflow) => errors.push(FieldError::new(f("total"), "too_large", "the line's total is too large")),
            Ok(t) => {
                if let Discount::Amount(m) = self.discount {
                    if m.is_negative() {
                        check_non_negative(errors, &f("discount"), m);
                    } else if m > t.fare {
                        errors.push(FieldError::new(
                            f("discount"),
                            "discount_exceeds_fare",
                            format!("the discount {m} is more than the fare {}", t.fare),
                        ));
                    }
                }
            }
        }
    }

    /// The line's fields as text for a difference: money as `1280.00`,
    /// codes for kinds, extras as `签证 300.00; 保险 50.00`.
    fn fields(&self) -> [(&'static str, String); 8] {
        let extras: Vec<String> = self.extras.iter().map(|e| format!("{} {}", e.description, e.amount)).collect();
        [
            ("kind", self.kind.code().to_string()),
            ("description", self.description.clone()),
            ("adults", self.party.adults().to_string()),
            ("children", self.party.children().to_string()),
            ("adult_price", self.adult_price.to_string()),
            ("child_price", self.child_price.to_string()),
            ("discount", self.discount.to_string()),
            ("extras", extras.join("; ")),
        ]
    }
}

/// The amounts of a whole quote: each line's, and their sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QuoteTotals {
    /// Per line, in the quote's order.
    pub lines: Vec<LineTotals>,
    /// Sum of the fares.
    pub fare: Money,
    /// Sum of the discounts.
    pub discount: Money,
    /// Sum of the extras.
    pub extras: Money,
    /// What the customer pays: the sum of the line totals.
    pub total: Money,
}

/// One version of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The version number, from 1.
    pub version: u32,
    /// What it offers (`公司年会 海南5日 报价`).
    pub title: String,
    /// The day it was issued.
    pub issued_on: NaiveDate,
    /// The last day the prices hold.
    pub valid_until: NaiveDate,
    /// Where it stands.
    pub status: QuoteStatus,
    /// The lines.
    pub lines: Vec<QuoteLine>,
    /// Terms and remarks printed under the lines.
    pub notes: Option<String>,
}

impl Quote {
    /// Title required; valid until no earlier than issued; at least one line;
    /// line keys unique; each line described, priced not below zero, with an
    /// amount discount between zero and its fare. Line errors are named
    /// `lines.{index}.{field}`.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "title", &self.title, 100);
        check_optional_text(&mut errors, "notes", self.notes.as_deref(), 2000);
        if self.valid_until < self.issued_on {
            errors.push(FieldError::new(
                "valid_until",
                "before_issue_date",
                format!("valid_until must not be before the issue date {}", self.issued_on),
            ));
        }
        if self.lines.is_empty() {
            errors.push(FieldError::new("lines", "required", "a quote needs at least one line"));
        }
        let mut keys = BTreeSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            if !keys.insert(line.key) {
                errors.push(FieldError::new(format!("lines.{i}.key"), "duplicate", "two lines share a key"));
            }
            line.check(&mut errors, i);
        }
        if errors.is_empty() && self.totals().is_err() {
            errors.push(FieldError::new("lines", "too_large", "the quote's total is too large"));
        }
        errors.into_result()
    }

    /// Every line's amounts and the quote's sums.
    pub fn totals(&self) -> Result<QuoteTotals, Overflow> {
        let lines = self.lines.iter().map(QuoteLine::totals).collect::<Result<Vec<_>, _>>()?;
        let sum = |f: fn(&LineTotals) -> Money| Money::checked_sum(lines.iter().map(f)).ok_or(Overflow);
        Ok(QuoteTotals {
            fare: sum(|t| t.fare)?,
            discount: sum(|t| t.discount)?,
            extras: sum(|t| t.extras)?,
            total: sum(|t| t.total)?,
            lines,
        })
    }

    /// The key for a line added to this quote (one above the highest used).
    pub fn next_line_key(&self) -> u32 {
        self.lines.iter().map(|l| l.key).max().map_or(1, |k| k.saturating_add(1))
    }

    /// The status on `today` (see [`QuoteStatus::as_of`]).
    pub fn status_on(&self, today: NaiveDate) -> QuoteStatus {
        self.status.as_of(self.valid_until, today)
    }

    /// Sends a draft: it must be valid and still valid on `today`.
    pub fn send(&mut self, today: NaiveDate) -> Result<(), FieldErrors> {
        let to = self.status.transition(QuoteStatus::Sent)?;
        self.validate()?;
        if self.valid_until < today {
            return Err(FieldError::new("valid_until", "in_past", "valid_until has passed; set a later date").into());
        }
        self.status = to;
        Ok(())
    }

    /// Records the customer's acceptance on `today`: refused once the quote
    /// has expired, whether or not a job has marked it so.
    pub fn accept(&mut self, today: NaiveDate) -> Result<(), FieldError> {
        let to = self.status_on(today).transition(QuoteStatus::Accepted)?;
        self.status = to;
        Ok(())
    }

    /// The next version: the same lines and keys, as a draft issued `today`
    /// and valid for as many days as this one was.
    pub fn next_version(&self, today: NaiveDate) -> Quote {
        Quote {
            version: self.version + 1,
            issued_on: today,
            valid_until: today + (self.valid_until - self.issued_on),
            status: QuoteStatus::Draft,
            ..self.clone()
        }
    }

    fn header(&self) -> [(&'static str, String); 5] {
        [
            ("title", self.title.clone()),
            ("issued_on", self.issued_on.to_string()),
            ("valid_until", self.valid_until.to_string()),
            ("status", self.status.code().to_string()),
            ("notes", self.notes.clone().unwrap_or_default()),
        ]
    }
}

/// One line present in both versions whose fields differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineChange {
    /// The line's key.
    pub key: u32,
    /// Its description in the later version.
    pub description: String,
    /// The fields that changed (`adults`, `discount`, … and `total`).
    pub changes: Vec<FieldChange>,
}

/// What changed from one version of a quote to another: "what changed
/// between version 2 and 4". Values are text as shown to people (money
/// `1280.00`, dates ISO, percentages `9.5%`, kinds and statuses as codes);
/// an empty value is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteDiff {
    /// The earlier version.
    pub from_version: u32,
    /// The later version.
    pub to_version: u32,
    /// Changed header fields: `title`, `issued_on`, `valid_until`, `status`, `notes`.
    pub header: Vec<FieldChange>,
    /// Lines only in the later version, in its order.
    pub added: Vec<QuoteLine>,
    /// Lines only in the earlier version, in its order.
    pub removed: Vec<QuoteLine>,
    /// Lines in both whose fields differ, in the later version's order.
    pub changed: Vec<LineChange>,
    /// The earlier total.
    pub total_before: Money,
    /// The later total.
    pub total_after: Money,
}

impl QuoteDiff {
    /// Whether the two versions say the same thing.
    pub fn is_empty(&self) -> bool {
        self.header.is_empty() && self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares two versions of a quote, matching lines by key.
pub fn diff(before: &Quote, after: &Quote) -> Result<QuoteDiff, Overflow> {
    let mut header = ChangeSet::new();
    for ((field, b), (_, a)) in before.header().iter().zip(after.header()) {
        header.diff(field, Some(b.as_str()), Some(a.as_str()), Sensitivity::Plain);
    }
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for line in &after.lines {
        let Some(old) = before.lines.iter().find(|l| l.key == line.key) else {
            added.push(line.clone());
            continue;
        };
        let mut set = ChangeSet::new();
        for ((field, b), (_, a)) in old.fields().iter().zip(line.fields()) {
            set.diff(field, Some(b.as_str()), Some(a.as_str()), Sensitivity::Plain);
        }
        if !set.is_empty() {
            let (b, a) = (old.totals()?.total.to_string(), line.totals()?.total.to_string());
            set.diff("total", Some(&b), Some(&a), Sensitivity::Plain);
            changed.push(LineChange { key: line.key, description: line.description.clone(), changes: set.0 });
        }
    }
    let removed = before.lines.iter().filter(|l| !after.lines.iter().any(|a| a.key == l.key)).cloned().collect();
    Ok(QuoteDiff {
        from_version: before.version,
        to_version: after.version,
        header: header.0,
        added,
        removed,
        changed,
        total_before: before.totals()?.total,
        total_after: after.totals()?.total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::{allowed_moves, check_code_enum, date};

    fn pct(bp: u32) -> Discount {
        Discount::Percent(BasisPoints::new(bp).unwrap())
    }

    fn line(key: u32, adults: u32, children: u32, adult: i64, child: i64, discount: Discount) -> QuoteLine {
        QuoteLine {
            key,
            kind: QuoteLineKind::Departure,
            description: format!("line {key}"),
            party: Party::new(adults, children).unwrap(),
            adult_price: Money(adult),
            child_price: Money(child),
            discount,
            extras: vec![],
        }
    }

    fn quote(lines: Vec<QuoteLine>) -> Quote {
        Quote {
            version: 1,
            title: "海南5日 报价".into(),
            issued_on: date("2027-01-01"),
            valid_until: date("2027-01-15"),
            status: QuoteStatus::Draft,
            lines,
            notes: None,
        }
    }

    fn problems(q: &Quote) -> Vec<(String, &'static str)> {
        q.validate().err().map(|e| e.0.into_iter().map(|e| (e.field, e.code)).collect()).unwrap_or_default()
    }

    #[test]
    fn enums() {
        check_code_enum!(QuoteLineKind, QuoteStatus);
    }

    #[test]
    fn line_totals_are_exact_and_round_per_line() {
        // 2 adults × 3999.99 + 1 child × 1999.99 = 9999.97; 9.5% of it is
        // 949.99715 yuan = 94 999.715 分 → 95 000 分 (half-up per line).
        let mut l = line(1, 2, 1, 399_999, 199_999, pct(950));
        l.extras = vec![
            Extra { description: "签证".into(), amount: Money(30_000) },
            Extra { description: "保险".into(), amount: Money(5_000) },
        ];
        let t = l.totals().unwrap();
        assert_eq!(
            t,
            LineTotals { fare: Money(999_997), discount: Money(95_000), extras: Money(35_000), total: Money(939_997) }
        );
        let amount = line(2, 1, 0, 100_000, 0, Discount::Amount(Money(12_345))).totals().unwrap();
        assert_eq!(amount.total, Money(87_655));
        assert_eq!(line(3, 1, 0, 100_000, 0, Discount::None).totals().unwrap().total, Money(100_000));
    }

    #[test]
    fn quote_total_is_the_sum_of_rounded_lines() {
        // Three lines of 0.05 at 10% off: each discount rounds 0.5 分 up to 1 分.
        // Rounding the sum instead would give 1.5 → 2 分 off, not 3.
        let q = quote((1..=3).map(|k| line(k, 1, 0, 5, 0, pct(1000))).collect());
        let t = q.totals().unwrap();
        assert_eq!((t.fare, t.discount, t.total), (Money(15), Money(3), Money(12)));
        assert_eq!(t.lines.len(), 3);
        assert_eq!(t.total, Money::checked_sum(t.lines.iter().map(|l| l.total)).unwrap());
    }

    #[test]
    fn quotes_validate_header_and_lines() {
        assert!(quote(vec![line(1, 2, 0, 100, 50, Discount::None)]).validate().is_ok());
        let mut q = quote(vec![]);
        q.title = " ".into();
        q.valid_until = date("2026-12-31");
        assert_eq!(
            problems(&q),
            [("title".into(), "required"), ("valid_until".into(), "before_issue_date"), ("lines".into(), "required")]
        );
        let mut bad = line(1, 1, 0, -100, 0, Discount::Amount(Money(10)));
        bad.description = "".into();
        bad.extras = vec![Extra { description: "".into(), amount: Money(-1) }];
        let q = quote(vec![
            bad,
            line(1, 1, 0, 500, 0, Discount::Amount(Money(501))),
            line(2, 1, 0, 5, 0, Discount::Amount(Money(-1))),
        ]);
        assert_eq!(
            problems(&q),
            [
                ("lines.0.description".into(), "required"),
                ("lines.0.adult_price".into(), "negative"),
                ("lines.0.extras.0.description".into(), "required"),
                ("lines.0.extras.0.amount".into(), "negative"),
                ("lines.0.discount".into(), "discount_exceeds_fare"),
                ("lines.1.key".into(), "duplicate"),
                ("lines.1.discount".into(), "discount_exceeds_fare"),
                ("lines.2.discount".into(), "negative"),
            ]
        );
        let huge = quote(vec![line(1, 3, 0, i64::MAX / 2, 0, Discount::None)]);
        assert_eq!(problems(&huge), [("lines.0.total".into(), "too_large")]);
    }

    #[test]
    fn statuses_and_expiry_by_date() {
        use QuoteStatus::*;
        let moves = allowed_moves(&QuoteStatus::ALL, |f, t| f.transition(t) == Ok(t));
        assert_eq!(moves, [(Draft, Sent), (Sent, Accepted), (Sent, Rejected), (Sent, Expired)]);
        assert_eq!(Sent.transition(Draft).unwrap_err().code, "invalid_transition");
        let until = date("2027-01-15");
        assert_eq!(Sent.as_of(until, date("2027-01-15")), Sent, "valid through its last day");
        assert_eq!(Sent.as_of(until, date("2027-01-16")), Expired);
        assert_eq!(Accepted.as_of(until, date("2027-02-01")), Accepted);
        assert_eq!(Draft.as_of(until, date("2027-02-01")), Draft);
    }

    #[test]
    fn sending_and_accepting_respect_validity() {
        let mut q = quote(vec![line(1, 2, 0, 100, 50, Discount::None)]);
        let e = q.clone().send(date("2027-01-16")).unwrap_err();
        assert_eq!(e.0[0].code, "in_past");
        q.send(date("2027-01-02")).unwrap();
        assert_eq!(q.status, QuoteStatus::Sent);
        assert_eq!(q.clone().send(date("2027-01-02")).unwrap_err().0[0].code, "invalid_transition");
        assert_eq!(q.clone().accept(date("2027-01-16")).unwrap_err().code, "invalid_transition");
        q.accept(date("2027-01-15")).unwrap();
        assert_eq!(q.status, QuoteStatus::Accepted);
        let mut empty = quote(vec![]);
        assert_eq!(empty.send(date("2027-01-02")).unwrap_err().0[0].field, "lines");
        assert_eq!(empty.status, QuoteStatus::Draft);
    }

    #[test]
    fn next_versions_keep_lines_and_validity_length() {
        let mut q = quote(vec![line(1, 2, 0, 100, 50, Discount::None), line(4, 1, 0, 100, 50, Discount::None)]);
        q.status = QuoteStatus::Rejected;
        let v2 = q.next_version(date("2027-02-01"));
        assert_eq!((v2.version, v2.status, v2.valid_until), (2, QuoteStatus::Draft, date("2027-02-15")));
        assert_eq!(v2.lines, q.lines);
        assert_eq!(v2.next_line_key(), 5);
        assert_eq!(quote(vec![]).next_line_key(), 1);
    }

    #[test]
    fn diff_lists_header_and_line_changes_with_before_and_after() {
        let mut v2 = quote(vec![
            line(1, 2, 1, 398_000, 199_000, Discount::None),
            line(2, 2, 0, 30_000, 0, Discount::None),
            line(3, 1, 0, 50_000, 0, Discount::None),
        ]);
        v2.version = 2;
        v2.status = QuoteStatus::Sent;
        let mut v4 = v2.next_version(date("2027-01-10"));
        v4.version = 4;
        v4.notes = Some("含机场接送".into());
        v4.lines[0].party = Party::new(3, 1).unwrap();
        v4.lines[0].discount = pct(500);
        v4.lines.remove(1);
        let mut transfer = line(7, 4, 0, 8_000, 0, Discount::None);
        transfer.kind = QuoteLineKind::Extra;
        v4.lines.push(transfer);

        let d = diff(&v2, &v4).unwrap();
        assert_eq!((d.from_version, d.to_version), (2, 4));
        let header: Vec<(&str, Option<&str>, Option<&str>)> =
            d.header.iter().map(|c| (c.field.as_str(), c.before.as_deref(), c.after.as_deref())).collect();
        assert_eq!(
            header,
            [
                ("issued_on", Some("2027-01-01"), Some("2027-01-10")),
                ("valid_until", Some("2027-01-15"), Some("2027-01-24")),
                ("status", Some("sent"), Some("draft")),
                ("notes", None, Some("含机场接送")),
            ]
        );
        assert_eq!(d.removed.iter().map(|l| l.key).collect::<Vec<_>>(), [2]);
        assert_eq!(d.added.iter().map(|l| l.key).collect::<Vec<_>>(), [7]);
        assert_eq!(d.changed.len(), 1);
        let c = &d.changed[0];
        let fields: Vec<(&str, Option<&str>, Option<&str>)> =
            c.changes.iter().map(|c| (c.field.as_str(), c.before.as_deref(), c.after.as_deref())).collect();
        // 3 × 3980 + 1990 = 13 930, less 5% (696.50) = 13 233.50.
        assert_eq!(
            fields,
            [
                ("adults", Some("2"), Some("3")),
                ("discount", None, Some("5%")),
                ("total", Some("9950.00"), Some("13233.50")),
            ]
        );
        assert_eq!((c.key, d.total_before, d.total_after), (1, Money(1_105_000), Money(1_405_350)));
        assert!(!d.is_empty());
        assert!(diff(&v4, &v4).unwrap().is_empty());
        assert_eq!(serde_json::to_value(&d).unwrap()["changed"][0]["changes"][2]["after"], "13233.50");
    }

    #[test]
    fn quotes_round_trip_through_json_for_version_snapshots() {
        let mut q = quote(vec![line(1, 2, 1, 100, 50, pct(950)), line(2, 1, 0, 100, 0, Discount::Amount(Money(20)))]);
        q.lines[0].extras.push(Extra { description: "签证".into(), amount: Money(30_000) });
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.contains(r#""discount":{"type":"percent","value":950}"#), "{json}");
        assert!(json.contains(r#""discount":{"type":"amount","value":"0.20"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Quote>(&json).unwrap(), q);
    }
}
