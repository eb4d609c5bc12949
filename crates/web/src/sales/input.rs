//! Fields as typed (a form's text or a JSON body's values), checked into the
//! store's drafts. Every problem names its field; nothing is saved unless
//! all fields are right.

use chrono::NaiveDate;
use domain::customer::SourceChannel;
use domain::ids::{CustomerId, OpportunityId, ProductId, UserId};
use domain::money::{BasisPoints, Money};
use domain::travel::opportunity::OpportunityStage;
use domain::travel::product::ProductType;
use domain::travel::quote::{Discount, Extra, QuoteLine, QuoteLineKind};
use domain::travel::{parse_count, Party};
use domain::{FieldError, FieldErrors};
use std::collections::BTreeMap;
use store::opportunities::{Draft, Opportunity};
use store::quotes::{Content, Version};

/// An opportunity's fields as text.
#[derive(Debug, Clone, Default)]
pub(crate) struct OppInput {
    pub customer_id: String,
    pub title: String,
    pub product_id: String,
    pub product_type: String,
    pub destination: String,
    pub adults: String,
    pub children: String,
    pub budget: String,
    pub expected_value: String,
    pub close_date: String,
    pub source: String,
    pub owner_id: String,
    pub notes: String,
}

impl OppInput {
    pub(crate) fn of(o: &Opportunity) -> OppInput {
        OppInput {
            customer_id: o.customer_id.to_string(),
            title: o.title.clone(),
            product_id: o.product_id.map(|p| p.to_string()).unwrap_or_default(),
            product_type: o.product_type.map(|p| p.code().to_string()).unwrap_or_default(),
            destination: o.destination.clone().unwrap_or_default(),
            adults: o.adults.to_string(),
            children: o.children.to_string(),
            budget: o.budget.map(|b| b.to_string()).unwrap_or_default(),
            expected_value: o.expected_value.to_string(),
            close_date: o.close_date.map(|d| d.to_string()).unwrap_or_default(),
            source: o.source.clone().unwrap_or_default(),
            owner_id: o.owner_id.to_string(),
            notes: o.notes.clone().unwrap_or_default(),
        }
    }

    /// From a form's `(name, value)` pairs.
    pub(crate) fn from_form(v: &BTreeMap<String, String>) -> OppInput {
        let g = |k: &str| v.get(k).cloned().unwrap_or_default();
        OppInput {
            customer_id: g("customer_id"),
            title: g("title"),
            product_id: g("product_id"),
            product_type: g("product_type"),
            destination: g("destination"),
            adults: g("adults"),
            children: g("children"),
            budget: g("budget"),
            expected_value: g("expected_value"),
            close_date: g("close_date"),
            source: g("source"),
            owner_id: g("owner_id"),
            notes: g("notes"),
        }
    }

    /// Checks the fields into a draft. `me` owns it unless another owner is
    /// given, which only a manager (`may_assign`) may do.
    pub(crate) fn check(&self, me: UserId, may_assign: bool) -> Result<Draft, FieldErrors> {
        let mut e = FieldErrors::new();
        let customer_id = e.check(id("customer_id", &self.customer_id, true)).flatten().map(CustomerId);
        let product_id = e.check(id("product_id", &self.product_id, false)).flatten().map(ProductId);
        let product_type = e.check(ProductType::parse_optional("product_type", &self.product_type)).flatten();
        let source = e.check(SourceChannel::parse_optional("source", &self.source)).flatten();
        let adults = e.check(parse_count("adults", &self.adults));
        let children = e.check(parse_count("children", &self.children));
        let budget = e.check(optional_money("budget", &self.budget)).flatten();
        let expected_value = if self.expected_value.trim().is_empty() {
            Some(Money::ZERO)
        } else {
            e.check(Money::parse("expected_value", &self.expected_value))
        };
        for (field, v) in [("budget", budget), ("expected_value", expected_value)] {
            if let Some(m) = v {
                e.check(m.non_negative(field));
            }
        }
        let close_date = e.check(date("close_date", &self.close_date, true)).flatten();
        let owner = match e.check(id("owner_id", &self.owner_id, false)).flatten() {
            None => Some(me),
            Some(o) if o == me.0 || may_assign => Some(UserId(o)),
            Some(_) => {
                e.push(FieldError::new("owner_id", "forbidden", "only a manager may choose another owner"));
                None
            }
        };
        for (field, v, max) in [("destination", &self.destination, 100), ("notes", &self.notes, 2000)] {
            if v.trim().chars().count() > max {
                e.push(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
            }
        }
        if self.title.trim().is_empty() {
            e.push(FieldError::required("title"));
        }
        let (
            Some(customer_id),
            Some(adults),
            Some(children),
            Some(expected_value),
            Some(close_date),
            Some(owner_id),
            true,
        ) = (customer_id, adults, children, expected_value, close_date, owner, e.is_empty())
        else {
            return Err(e);
        };
        Ok(Draft {
            customer_id,
            title: self.title.trim().to_string(),
            product_id,
            product_type,
            destination: text(&self.destination),
            adults,
            children,
            budget,
            expected_value,
            close_date,
            source,
            owner_id,
            notes: text(&self.notes),
        })
    }
}

pub(crate) fn text(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

fn id(field: &str, s: &str, required: bool) -> Result<Option<i64>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return if required { Err(FieldError::required(field)) } else { Ok(None) };
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| FieldError::new(field, "invalid", format!("{field} must be a record id")))
}

fn optional_money(field: &str, s: &str) -> Result<Option<Money>, FieldError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Money::parse(field, s).map(Some)
}

pub(crate) fn date(field: &str, s: &str, required: bool) -> Result<Option<NaiveDate>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return if required { Err(FieldError::required(field)) } else { Ok(None) };
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| FieldError::new(field, "invalid_date", format!("{field} must be a date such as 2027-01-31")))
}

/// A stage as typed.
pub(crate) fn stage(s: &str) -> Result<OpportunityStage, FieldError> {
    OpportunityStage::parse("stage", s)
}

/// One extra charge of a line as text.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtraInput {
    pub description: String,
    pub amount: String,
}

/// One quote line as text.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineInput {
    pub key: String,
    pub kind: String,
    pub description: String,
    pub adults: String,
    pub children: String,
    pub adult_price: String,
    pub child_price: String,
    /// `amount` or `percent`.
    pub discount_type: String,
    pub discount: String,
    pub extras: Vec<ExtraInput>,
}

impl LineInput {
    pub(crate) fn of(l: &QuoteLine) -> LineInput {
        let (discount_type, discount) = match l.discount {
            Discount::None => ("amount", String::new()),
            Discount::Amount(m) => ("amount", m.to_string()),
            Discount::Percent(bp) => ("percent", bp.to_string().trim_end_matches('%').to_string()),
        };
        LineInput {
            key: l.key.to_string(),
            kind: l.kind.code().to_string(),
            description: l.description.clone(),
            adults: l.party.adults().to_string(),
            children: l.party.children().to_string(),
            adult_price: l.adult_price.to_string(),
            child_price: l.child_price.to_string(),
            discount_type: discount_type.to_string(),
            discount,
            extras: l
                .extras
                .iter()
                .map(|x| ExtraInput { description: x.description.clone(), amount: x.amount.to_string() })
                .collect(),
        }
    }

    /// Nothing typed into the row (a blank row of the form).
    pub(crate) fn is_blank(&self) -> bool {
        [&self.description, &self.adults, &self.children, &self.adult_price, &self.child_price, &self.discount]
            .iter()
            .all(|s| s.trim().is_empty())
            && self.extras.iter().all(|x| x.description.trim().is_empty() && x.amount.trim().is_empty())
    }

    fn check(&self, i: usize, key: u32, e: &mut FieldErrors) -> Option<QuoteLine> {
        let f = |name: &str| format!("lines.{i}.{name}");
        let kind = if self.kind.trim().is_empty() {
            Some(QuoteLineKind::Departure)
        } else {
            e.check(QuoteLineKind::parse(&f("kind"), &self.kind))
        };
        let adults = e.check(parse_count(&f("adults"), &self.adults));
        let children = e.check(parse_count(&f("children"), &self.children));
        let party = match (adults, children) {
            (Some(a), Some(c)) => {
                e.check(Party::new(a, c).map_err(|x| FieldError::new(f("adults"), x.code, x.message)))
            }
            _ => None,
        };
        let money = |e: &mut FieldErrors, name: &str, s: &str| {
            if s.trim().is_empty() {
                Some(Money::ZERO)
            } else {
                e.check(Money::parse(&f(name), s))
            }
        };
        let adult_price = money(e, "adult_price", &self.adult_price);
        let child_price = money(e, "child_price", &self.child_price);
        let discount = if self.discount.trim().is_empty() {
            Some(Discount::None)
        } else if self.discount_type == "percent" || self.discount.trim().ends_with(['%', '％']) {
            e.check(BasisPoints::parse_percent(&f("discount"), &self.discount)).map(Discount::Percent)
        } else {
            e.check(Money::parse(&f("discount"), &self.discount)).map(Discount::Amount)
        };
        let mut extras = Vec::new();
        for (j, x) in self.extras.iter().enumerate() {
            if x.description.trim().is_empty() && x.amount.trim().is_empty() {
                continue;
            }
            let amount = if x.amount.trim().is_empty() {
                e.push(FieldError::required(f(&format!("extras.{j}.amount"))));
                None
            } else {
                e.check(Money::parse(&f(&format!("extras.{j}.amount")), &x.amount))
            };
            if let Some(amount) = amount {
                extras.push(Extra { description: x.description.trim().to_string(), amount });
            }
        }
        Some(QuoteLine {
            key,
            kind: kind?,
            description: self.description.trim().to_string(),
            party: party?,
            adult_price: adult_price?,
            child_price: child_price?,
            discount: discount?,
            extras,
        })
    }
}

/// A quote's content as text.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuoteInput {
    pub customer_id: String,
    pub opportunity_id: String,
    pub title: String,
    pub valid_until: String,
    pub notes: String,
    pub lines: Vec<LineInput>,
}

impl QuoteInput {
    pub(crate) fn of_version(v: &Version) -> QuoteInput {
        QuoteInput {
            customer_id: String::new(),
            opportunity_id: String::new(),
            title: v.title.clone(),
            valid_until: v.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            notes: v.notes.clone().unwrap_or_default(),
            lines: v.lines.iter().map(LineInput::of).collect(),
        }
    }

    /// From a form: `title`, `valid_until`, `notes` and rows
    /// `line.{i}.{field}` with extras `line.{i}.extra.{j}.{description|amount}`.
    pub(crate) fn from_form(v: &BTreeMap<String, String>) -> QuoteInput {
        let g = |k: &str| v.get(k).cloned().unwrap_or_default();
        let mut rows: BTreeMap<usize, LineInput> = BTreeMap::new();
        for (k, value) in v {
            let Some(rest) = k.strip_prefix("line.") else { continue };
            let mut parts = rest.splitn(2, '.');
            let (Some(Ok(i)), Some(field)) = (parts.next().map(str::parse::<usize>), parts.next()) else { continue };
            if i >= 200 {
                continue;
            }
            let row = rows.entry(i).or_default();
            let value = value.clone();
            match field {
                "key" => row.key = value,
                "kind" => row.kind = value,
                "description" => row.description = value,
                "adults" => row.adults = value,
                "children" => row.children = value,
                "adult_price" => row.adult_price = value,
                "child_price" => row.child_price = value,
                "discount_type" => row.discount_type = value,
                "discount" => row.discount = value,
                other => {
                    let mut x = other.splitn(3, '.');
                    if let (Some("extra"), Some(Ok(j)), Some(name)) =
                        (x.next(), x.next().map(str::parse::<usize>), x.next())
                    {
                        if j < 20 {
                            if row.extras.len() <= j {
                                row.extras.resize(j + 1, ExtraInput::default());
                            }
                            match name {
                                "description" => row.extras[j].description = value,
                                "amount" => row.extras[j].amount = value,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        QuoteInput {
            customer_id: g("customer_id"),
            opportunity_id: g("opportunity_id"),
            title: g("title"),
            valid_until: g("valid_until"),
            notes: g("notes"),
            lines: rows.into_values().filter(|r| !r.is_blank()).collect(),
        }
    }

    /// Checks the content. Lines keep their key when they have one (so a
    /// revision's difference follows each line); new lines have key 0 and
    /// get theirs from the store.
    pub(crate) fn content(&self) -> Result<Content, FieldErrors> {
        let mut e = FieldErrors::new();
        let valid_until = e.check(date("valid_until", &self.valid_until, true)).flatten();
        if self.title.trim().is_empty() {
            e.push(FieldError::required("title"));
        }
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            // No key: a new line, numbered by the store.
            let key = l.key.trim().parse::<u32>().unwrap_or(0);
            if let Some(line) = l.check(i, key, &mut e) {
                lines.push(line);
            }
        }
        if self.lines.is_empty() {
            e.push(FieldError::new("lines", "required", "a quote needs at least one line"));
        }
        match valid_until {
            Some(valid_until) if e.is_empty() => {
                Ok(Content { title: self.title.trim().to_string(), valid_until, notes: text(&self.notes), lines })
            }
            _ => Err(e),
        }
    }

    pub(crate) fn customer(&self) -> Result<CustomerId, FieldErrors> {
        id("customer_id", &self.customer_id, true).map(|i| CustomerId(i.unwrap_or_default())).map_err(Into::into)
    }

    pub(crate) fn opportunity(&self) -> Result<Option<OpportunityId>, FieldErrors> {
        id("opportunity_id", &self.opportunity_id, false).map(|i| i.map(OpportunityId)).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn form_rows_become_lines_and_blank_rows_are_skipped() {
        let f = form(&[
            ("title", "海南5日"),
            ("valid_until", "2099-01-31"),
            ("line.0.kind", "departure"),
            ("line.0.description", "三亚 5日游"),
            ("line.0.adults", "3"),
            ("line.0.adult_price", "1999.90"),
            ("line.0.discount_type", "percent"),
            ("line.0.discount", "5"),
            ("line.0.extra.0.description", "签证"),
            ("line.0.extra.0.amount", "300"),
            ("line.1.kind", "extra"),
            ("line.1.discount_type", "amount"),
            ("line.2.description", "接送机"),
            ("line.2.adults", "x"),
        ]);
        let q = QuoteInput::from_form(&f);
        assert_eq!(q.lines.len(), 2, "the blank row 1 is ignored");
        let e = q.content().unwrap_err();
        assert_eq!(e.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["lines.1.adults"]);
        let mut q = q;
        q.lines[1].adults = "1".into();
        let c = q.content().unwrap();
        assert_eq!(c.lines[0].discount, Discount::Percent(BasisPoints::new(500).unwrap()));
        assert_eq!(c.lines[0].extras[0].amount, Money(30_000));
        assert_eq!((c.lines[0].key, c.lines[1].key), (0, 0), "new lines are numbered by the store");
    }

    #[test]
    fn opportunity_fields_are_named_when_wrong() {
        let i = OppInput {
            customer_id: "abc".into(),
            expected_value: "12.345".into(),
            close_date: "31/01/2027".into(),
            adults: "-1".into(),
            owner_id: "9".into(),
            ..Default::default()
        };
        let e = i.check(UserId(1), false).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        for f in ["customer_id", "expected_value", "close_date", "adults", "owner_id", "title"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }
}
