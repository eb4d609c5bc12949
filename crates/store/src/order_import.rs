//! History import of orders and payments from CSV (UTF-8, GBK …) or XLSX,
//! read with [`crate::customer_import::Sheet`], headers in Chinese or English.
//!
//! Each row is its own transaction: all or nothing. Orders are matched on
//! their number, so importing the same file again updates instead of
//! duplicating; an order's `paid_amount` becomes one imported receipt kept
//! in step on re-import. Payments are matched on their receipt number, or on
//! order + date + amount + reference, so they are never recorded twice.

use crate::customer_import::{RowError, Sheet};
use crate::customers::{self, Draft as CustomerDraft};
use crate::orders::{self, Draft, Links, Origin};
use crate::receipts;
use crate::visibility::Visibility;
use crate::{audit, now_ms, numbers, Actor, Result, Store, StoreError, Tx};
use chrono::{Datelike, NaiveDate};
use domain::access::Scope;
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{CustomerId, OrderId, UserId};
use domain::money::Money;
use domain::travel::finance::{ReceiptKind, ReceiptMethod};
use domain::travel::order::OrderStatus;
use domain::travel::product::ProductType;
use domain::FieldError;
use std::collections::BTreeMap;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Check every row, write nothing.
    pub dry_run: bool,
    /// Create an individual customer for an unknown customer code.
    pub create_missing_customers: bool,
    /// Owner of created customers (default: the first active staff member).
    pub owner: Option<UserId>,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Data rows read.
    pub total: u64,
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Rows that matched a record as it is.
    pub unchanged: u64,
    /// Rows refused.
    pub failed: u64,
    /// Blank rows.
    pub skipped: u64,
    /// Customers created on the way.
    pub customers_created: u64,
    /// Columns not understood.
    pub unknown_columns: Vec<String>,
    /// (line, problems) of each refused row.
    pub errors: Vec<(u64, Vec<RowError>)>,
}

impl Report {
    /// The problems as CSV (UTF-8 with BOM): line, field, column, reason.
    pub fn errors_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(b"\xEF\xBB\xBF".to_vec());
        let _ = w.write_record(["line", "field", "column", "reason"]);
        for (line, errs) in &self.errors {
            for e in errs {
                let column = crate::customer_export::neutralise(e.column.as_deref().unwrap_or(""));
                let _ =
                    w.write_record([line.to_string().as_str(), e.field.as_str(), column.as_ref(), e.message.as_str()]);
            }
        }
        w.into_inner().unwrap_or_default()
    }
}

/// The field a header names, for orders and payments.
fn field_of(header: &str) -> Option<&'static str> {
    let h = header.trim().to_lowercase().replace([' ', '-'], "_");
    Some(match h.as_str() {
        "customer_code" | "客户编号" | "客户代码" => "customer_code",
        "customer_name" | "客户姓名" | "客户名称" => "customer_name",
        "order_no" | "订单号" | "订单编号" => "order_no",
        "order_date" | "下单日期" | "订单日期" => "order_date",
        "amount" | "金额" | "订单金额" => "amount",
        "product_type" | "产品类型" => "product_type",
        "destination" | "目的地" => "destination",
        "adults" | "成人" | "成人数" => "adults",
        "children" | "儿童" | "儿童数" => "children",
        "status" | "状态" | "订单状态" => "status",
        "paid_amount" | "已付金额" | "已付" => "paid_amount",
        "travel_date" | "出行日期" => "travel_date",
        "received_on" | "date" | "收款日期" | "日期" => "received_on",
        "method" | "收款方式" | "支付方式" | "方式" => "method",
        "kind" | "类型" | "收支类型" => "kind",
        "reference" | "参考号" | "交易参考号" | "流水号" => "reference",
        "receipt_no" | "收款单号" => "receipt_no",
        _ => return None,
    })
}

struct Columns {
    index: BTreeMap<&'static str, (usize, String)>,
}

impl Columns {
    fn of(sheet: &Sheet, wanted: &[&str], report: &mut Report) -> Columns {
        let mut index = BTreeMap::new();
        for (i, h) in sheet.headers.iter().enumerate() {
            match field_of(h).filter(|f| wanted.contains(f)) {
                Some(f) => {
                    index.entry(f).or_insert((i, h.clone()));
                }
                None if !h.trim().is_empty() => report.unknown_columns.push(h.clone()),
                None => {}
            }
        }
        Columns { index }
    }

    fn missing(&self, required: &[&str]) -> Vec<String> {
        required.iter().filter(|f| !self.index.contains_key(**f)).map(|f| f.to_string()).collect()
    }

    fn get<'a>(&self, cells: &'a [String], field: &str) -> &'a str {
        self.index.get(field).and_then(|(i, _)| cells.get(*i)).map(|s| s.trim()).unwrap_or("")
    }

    fn column(&self, field: &str) -> Option<String> {
        self.index.get(field).map(|(_, h)| h.clone())
    }
}

struct RowErrors<'a> {
    cols: &'a Columns,
    errors: Vec<RowError>,
}

impl RowErrors<'_> {
    fn push(&mut self, e: FieldError) {
        let column = self.cols.column(&e.field);
        self.errors.push(RowError { field: e.field, column, code: e.code.to_string(), message: e.message });
    }

    fn check<T>(&mut self, r: std::result::Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }
}

fn parse_date(field: &str, text: &str) -> std::result::Result<NaiveDate, FieldError> {
    let t = text.trim().replace(['/', '.'], "-");
    let t = t.split_whitespace().next().unwrap_or("");
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "invalid_date", format!("{field} must be a date such as 2026-05-01")))
}

fn parse_count(field: &str, text: &str) -> std::result::Result<i64, FieldError> {
    match text.trim().parse::<i64>() {
        Ok(n) if (0..=999).contains(&n) => Ok(n),
        _ => Err(FieldError::new(field, "invalid_count", format!("{field} must be a whole number from 0 to 999"))),
    }
}

fn all_visible(user: UserId) -> Visibility {
    Visibility { scope: Scope::All, user_id: user, teams: Vec::new() }
}

async fn default_owner(store: &Store, opts: &Options) -> Result<UserId> {
    if let Some(o) = opts.owner {
        return Ok(o);
    }
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE active = 1 ORDER BY id LIMIT 1")
        .fetch_optional(store.pool())
        .await?;
    id.map(UserId)
        .ok_or_else(|| StoreError::invalid(FieldError::new("owner", "required", "create a staff account first")))
}

fn customer_draft(name: &str, owner: UserId) -> CustomerDraft {
    CustomerDraft { source_detail: Some("history import".into()), ..CustomerDraft::new("individual", name, owner) }
}

/// What a row did.
enum Done {
    Created { customer_created: bool },
    Updated,
    Unchanged,
}

/// One parsed order row.
struct OrderRow {
    customer_code: String,
    customer_name: Option<String>,
    order_no: String,
    draft: Draft,
    status: OrderStatus,
    paid: Money,
}

/// Imports orders (see the module documentation). `progress(done, total)`
/// is called as rows go.
pub async fn import_orders(
    store: &Store,
    actor: &Actor,
    sheet: &Sheet,
    opts: &Options,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Report> {
    let mut report = Report::default();
    let wanted = [
        "customer_code",
        "customer_name",
        "order_no",
        "order_date",
        "amount",
        "product_type",
        "destination",
        "adults",
        "children",
        "status",
        "paid_amount",
        "travel_date",
    ];
    let cols = Columns::of(sheet, &wanted, &mut report);
    let missing = cols.missing(&["customer_code", "order_no", "order_date", "amount"]);
    if !missing.is_empty() {
        return Err(StoreError::invalid(FieldError::new(
            "columns",
            "missing",
            format!("the file needs the columns {}", missing.join(", ")),
        )));
    }
    let owner = default_owner(store, opts).await?;
    let total = sheet.estimated_rows();
    for row in sheet.rows() {
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            report.skipped += 1;
            continue;
        }
        report.total += 1;
        let mut errs = RowErrors { cols: &cols, errors: Vec::new() };
        let parsed = parse_order(&cols, &row.cells, &mut errs, owner);
        let outcome = match parsed {
            Some(p) if errs.errors.is_empty() => {
                let mut tx = store.begin().await?;
                match import_order(&mut tx, store, actor, &p, opts).await {
                    Ok(done) => {
                        if opts.dry_run {
                            tx.rollback().await?;
                        } else {
                            tx.commit().await?;
                        }
                        Ok(done)
                    }
                    Err(StoreError::Invalid(fe)) => {
                        tx.rollback().await?;
                        for e in fe.0 {
                            errs.push(e);
                        }
                        Err(())
                    }
                    Err(StoreError::Duplicate { field }) => {
                        tx.rollback().await?;
                        errs.push(FieldError::new(field, "taken", format!("{field} is already taken")));
                        Err(())
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => Err(()),
        };
        match outcome {
            Ok(Done::Created { customer_created }) => {
                report.created += 1;
                report.customers_created += u64::from(customer_created);
            }
            Ok(Done::Updated) => report.updated += 1,
            Ok(Done::Unchanged) => report.unchanged += 1,
            Err(()) => {
                report.failed += 1;
                report.errors.push((row.line, errs.errors));
            }
        }
        progress(report.total + report.skipped, total);
    }
    Ok(report)
}

fn parse_order(cols: &Columns, cells: &[String], errs: &mut RowErrors<'_>, owner: UserId) -> Option<OrderRow> {
    let get = |f: &str| cols.get(cells, f);
    let required = |errs: &mut RowErrors<'_>, f: &str| {
        if get(f).is_empty() {
            errs.push(FieldError::required(f));
        }
    };
    for f in ["customer_code", "order_no", "order_date", "amount"] {
        required(errs, f);
    }
    let order_no = get("order_no").to_string();
    if order_no.chars().count() > 40 {
        errs.push(FieldError::new("order_no", "too_long", "order_no must have at most 40 characters"));
    }
    let order_date =
        if get("order_date").is_empty() { None } else { errs.check(parse_date("order_date", get("order_date"))) };
    let travel_date =
        if get("travel_date").is_empty() { None } else { errs.check(parse_date("travel_date", get("travel_date"))) };
    let amount = if get("amount").is_empty() { None } else { errs.check(Money::parse("amount", get("amount"))) };
    let paid = if get("paid_amount").is_empty() {
        Some(Money::ZERO)
    } else {
        errs.check(Money::parse("paid_amount", get("paid_amount")))
    };
    let product_type = if get("product_type").is_empty() {
        Some(ProductType::Custom)
    } else {
        errs.check(ProductType::parse("product_type", get("product_type")))
    };
    let status = if get("status").is_empty() {
        Some(OrderStatus::Completed)
    } else {
        errs.check(OrderStatus::parse("status", get("status")))
    };
    let adults = if get("adults").is_empty() { Some(1) } else { errs.check(parse_count("adults", get("adults"))) };
    let children =
        if get("children").is_empty() { Some(0) } else { errs.check(parse_count("children", get("children"))) };
    if let (Some(a), Some(p)) = (amount, paid) {
        if p.is_negative() {
            errs.push(FieldError::new("paid_amount", "negative", "paid_amount must not be negative"));
        } else if p > a {
            errs.push(FieldError::new(
                "paid_amount",
                "exceeds_amount",
                format!("paid_amount {p} is more than the amount {a}"),
            ));
        }
    }
    let draft = Draft {
        customer_id: CustomerId(0),
        product_type: product_type?,
        destination: Some(get("destination").to_string()).filter(|s| !s.is_empty()),
        order_date: order_date?,
        travel_date,
        return_date: None,
        adults: adults?,
        children: children?,
        amount: amount?,
        cost: Money::ZERO,
        due_date: None,
        source: None,
        campaign: None,
        owner_id: owner,
        notes: None,
        room_type: None,
        room_number: None,
        nightly_rate: None,
    };
    if draft.product_type == ProductType::HotelStay {
        // History rows carry no stay details; keep them as custom products
        // rather than refuse them.
        errs.push(FieldError::new(
            "product_type",
            "hotel_stay_unsupported",
            "hotel stays cannot be imported from order history (no room and dates); enter them on the order page",
        ));
    }
    if let Err(fe) = draft.validate() {
        for e in fe.0 {
            errs.push(e);
        }
    }
    Some(OrderRow {
        customer_code: get("customer_code").to_uppercase(),
        customer_name: Some(get("customer_name").to_string()).filter(|s| !s.is_empty()),
        order_no,
        draft,
        status: status?,
        paid: paid?,
    })
}

const PAID_NOTE: &str = "imported paid_amount";

async fn import_order(tx: &mut Tx, store: &Store, actor: &Actor, p: &OrderRow, opts: &Options) -> Result<Done> {
    let found: Option<(i64, i64)> = sqlx::query_as("SELECT id, owner_id FROM customers WHERE code = $1")
        .bind(&p.customer_code)
        .fetch_optional(&mut ***tx)
        .await?;
    let mut customer_created = false;
    let (customer, customer_owner) = match found {
        Some((id, owner)) => (CustomerId(id), UserId(owner)),
        None if opts.create_missing_customers => {
            let name = p.customer_name.clone().unwrap_or_else(|| p.customer_code.clone());
            let c =
                customers::create(tx, store, actor, &customer_draft(&name, p.draft.owner_id), Some(&p.customer_code))
                    .await?;
            customer_created = true;
            (c.id, p.draft.owner_id)
        }
        None => {
            return Err(StoreError::invalid(FieldError::new(
                "customer_code",
                "not_found",
                format!(
                    "no customer has the code {}; import customers first or use --create-missing-customers",
                    p.customer_code
                ),
            )))
        }
    };
    let mut d = p.draft.clone();
    d.customer_id = customer;
    d.owner_id = customer_owner;
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE order_no = $1")
        .bind(&p.order_no)
        .fetch_optional(&mut ***tx)
        .await?;
    let vis = all_visible(customer_owner);
    let (order_id, done) = match existing {
        None => {
            let origin = Origin { order_no: Some(p.order_no.clone()), status: Some(p.status), imported: true };
            let o = orders::create(tx, actor, &d, &Links::default(), &origin).await?;
            (o.id, Done::Created { customer_created })
        }
        Some(id) => {
            let before = orders::get_in(tx, &vis, OrderId(id)).await?;
            let changed = update_imported(tx, actor, &before, &d, p.status).await?;
            (before.id, if changed { Done::Updated } else { Done::Unchanged })
        }
    };
    let paid_changed = keep_paid_in_step(tx, actor, order_id, customer, p.paid, d.order_date).await?;
    Ok(match done {
        Done::Unchanged if paid_changed => Done::Updated,
        other => other,
    })
}

/// Re-import: the file's values replace the stored ones (customer, owner
/// and links stay). Returns whether anything changed.
async fn update_imported(
    tx: &mut Tx,
    actor: &Actor,
    before: &orders::Order,
    d: &Draft,
    status: OrderStatus,
) -> Result<bool> {
    let b = &before.data;
    if before.data.customer_id != d.customer_id {
        return Err(StoreError::invalid(FieldError::new(
            "customer_code",
            "other_customer",
            format!("order {} belongs to another customer", before.order_no),
        )));
    }
    let pairs: [(&str, Option<String>, Option<String>); 8] = [
        ("product_type", Some(b.product_type.code().into()), Some(d.product_type.code().into())),
        ("destination", b.destination.clone(), d.destination.clone()),
        ("order_date", Some(b.order_date.to_string()), Some(d.order_date.to_string())),
        ("travel_date", b.travel_date.map(|x| x.to_string()), d.travel_date.map(|x| x.to_string())),
        ("adults", Some(b.adults.to_string()), Some(d.adults.to_string())),
        ("children", Some(b.children.to_string()), Some(d.children.to_string())),
        ("amount", Some(b.amount.to_string()), Some(d.amount.to_string())),
        ("status", Some(before.status.code().into()), Some(status.code().into())),
    ];
    let mut changes = ChangeSet::new();
    for (f, old, new) in &pairs {
        changes.diff(f, old.as_deref(), new.as_deref(), Sensitivity::Plain);
    }
    if changes.is_empty() {
        return Ok(false);
    }
    let due = d.due_date.or(d.travel_date).unwrap_or(d.order_date + chrono::Duration::days(7));
    sqlx::query(
        "UPDATE orders SET product_type = $1, destination = $2, order_date = $3, travel_date = $4, adults = $5, \
         children = $6, amount = $7, status = $8, due_date = $9, updated_at = $10, version = version + 1 WHERE id = $11",
    )
    .bind(d.product_type.code())
    .bind(d.destination.as_deref())
    .bind(d.order_date.to_string())
    .bind(d.travel_date.map(|x| x.to_string()))
    .bind(d.adults)
    .bind(d.children)
    .bind(d.amount.0)
    .bind(status.code())
    .bind(due.to_string())
    .bind(now_ms())
    .bind(before.id.0)
    .execute(&mut ***tx)
    .await?;
    audit::record(
        tx,
        actor,
        Action::Update,
        "order",
        &before.id.to_string(),
        &format!("order {} re-imported", before.order_no),
        &changes,
    )
    .await?;
    Ok(true)
}

/// The order's imported receipt holds `paid`: created, changed, or removed
/// when the file says nothing was paid. Returns whether anything changed.
async fn keep_paid_in_step(
    tx: &mut Tx,
    actor: &Actor,
    order: OrderId,
    customer: CustomerId,
    paid: Money,
    on: NaiveDate,
) -> Result<bool> {
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM receipts WHERE order_id = $1 AND imported = 1 AND kind = 'receipt' AND notes = $2",
    )
    .bind(order.0)
    .bind(PAID_NOTE)
    .fetch_optional(&mut ***tx)
    .await?;
    match (existing, paid > Money::ZERO) {
        (None, false) => Ok(false),
        (Some(id), true) => {
            let before: (i64, String) = sqlx::query_as("SELECT amount, received_on FROM receipts WHERE id = $1")
                .bind(id)
                .fetch_one(&mut ***tx)
                .await?;
            if before == (paid.0, on.to_string()) {
                return Ok(false);
            }
            receipts::update_imported(tx, actor, domain::ids::ReceiptId(id), paid, on).await?;
            Ok(true)
        }
        (Some(id), false) => {
            sqlx::query("DELETE FROM receipts WHERE id = $1").bind(id).execute(&mut ***tx).await?;
            let mut changes = ChangeSet::new();
            changes.diff("amount", Some("imported"), None, Sensitivity::Plain);
            audit::record(
                tx,
                actor,
                Action::Delete,
                "receipt",
                &id.to_string(),
                "imported receipt removed: nothing paid",
                &changes,
            )
            .await?;
            Ok(true)
        }
        (None, true) => {
            let number = numbers::next(tx, "R", on.year(), "receipts", "receipt_no").await?;
            let now = now_ms();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO receipts (receipt_no, order_id, customer_id, kind, method, amount, received_on, overpayment, \
                 reference, notes, imported, created_by, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, 'receipt', 'bank_transfer', $4, $5, 0, NULL, $6, 1, $7, $8, $8, 1) RETURNING id",
            )
            .bind(number.as_str())
            .bind(order.0)
            .bind(customer.0)
            .bind(paid.0)
            .bind(on.to_string())
            .bind(PAID_NOTE)
            .bind(actor.user_id.map(|u| u.0))
            .bind(now)
            .fetch_one(&mut ***tx)
            .await?;
            let mut changes = ChangeSet::new();
            changes.created("amount", Some(&paid.to_string()), Sensitivity::Plain);
            changes.created("order_id", Some(&order.0.to_string()), Sensitivity::Plain);
            audit::record(
                tx,
                actor,
                Action::Create,
                "receipt",
                &id.to_string(),
                &format!("imported receipt {number}"),
                &changes,
            )
            .await?;
            Ok(true)
        }
    }
}

/// Imports payments: receipts and refunds against existing orders, checked
/// against each order's balance like any receipt.
pub async fn import_payments(
    store: &Store,
    actor: &Actor,
    sheet: &Sheet,
    opts: &Options,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Report> {
    let mut report = Report::default();
    let wanted = ["order_no", "received_on", "amount", "method", "kind", "reference", "receipt_no"];
    let cols = Columns::of(sheet, &wanted, &mut report);
    let missing = cols.missing(&["order_no", "received_on", "amount"]);
    if !missing.is_empty() {
        return Err(StoreError::invalid(FieldError::new(
            "columns",
            "missing",
            format!("the file needs the columns {}", missing.join(", ")),
        )));
    }
    let total = sheet.estimated_rows();
    let vis = all_visible(UserId(0));
    for row in sheet.rows() {
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            report.skipped += 1;
            continue;
        }
        report.total += 1;
        let mut errs = RowErrors { cols: &cols, errors: Vec::new() };
        let get = |f: &str| cols.get(&row.cells, f);
        for f in ["order_no", "received_on", "amount"] {
            if get(f).is_empty() {
                errs.push(FieldError::required(f));
            }
        }
        let on = if get("received_on").is_empty() {
            None
        } else {
            errs.check(parse_date("received_on", get("received_on")))
        };
        let amount = if get("amount").is_empty() { None } else { errs.check(Money::parse("amount", get("amount"))) };
        let kind = if get("kind").is_empty() {
            Some(ReceiptKind::Receipt)
        } else {
            errs.check(ReceiptKind::parse("kind", get("kind")))
        };
        let method = if get("method").is_empty() {
            Some(ReceiptMethod::BankTransfer)
        } else {
            errs.check(ReceiptMethod::parse("method", get("method")))
        };
        let reference = Some(get("reference").to_string()).filter(|s| !s.is_empty());
        let receipt_no = Some(get("receipt_no").to_string()).filter(|s| !s.is_empty());
        let mut outcome: std::result::Result<Done, ()> = Err(());
        if let (true, Some(on), Some(amount), Some(kind), Some(method)) =
            (errs.errors.is_empty(), on, amount, kind, method)
        {
            let mut tx = store.begin().await?;
            let result = import_payment(
                &mut tx,
                actor,
                &vis,
                get("order_no"),
                receipts::Draft {
                    order_id: OrderId(0),
                    kind,
                    method,
                    amount,
                    received_on: on,
                    overpayment: false,
                    reference,
                    notes: None,
                },
                receipt_no.as_deref(),
            )
            .await;
            match result {
                Ok(done) => {
                    if opts.dry_run {
                        tx.rollback().await?;
                    } else {
                        tx.commit().await?;
                    }
                    outcome = Ok(done);
                }
                Err(StoreError::Invalid(fe)) => {
                    tx.rollback().await?;
                    for e in fe.0 {
                        errs.push(e);
                    }
                }
                Err(StoreError::Duplicate { field }) => {
                    tx.rollback().await?;
                    errs.push(FieldError::new(field, "taken", format!("{field} is already taken")));
                }
                Err(e) => return Err(e),
            }
        }
        match outcome {
            Ok(Done::Created { .. }) => report.created += 1,
            Ok(Done::Updated) => report.updated += 1,
            Ok(Done::Unchanged) => report.unchanged += 1,
            Err(()) => {
                report.failed += 1;
                report.errors.push((row.line, errs.errors));
            }
        }
        progress(report.total + report.skipped, total);
    }
    Ok(report)
}

async fn import_payment(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    order_no: &str,
    mut d: receipts::Draft,
    receipt_no: Option<&str>,
) -> Result<Done> {
    let order: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE order_no = $1")
        .bind(order_no.trim())
        .fetch_optional(&mut ***tx)
        .await?;
    let Some(order) = order else {
        return Err(StoreError::invalid(FieldError::new(
            "order_no",
            "not_found",
            format!("no order has the number {order_no}; import the orders first"),
        )));
    };
    d.order_id = OrderId(order);
    let same: Option<i64> = match receipt_no {
        Some(no) => {
            sqlx::query_scalar("SELECT id FROM receipts WHERE receipt_no = $1")
                .bind(no)
                .fetch_optional(&mut ***tx)
                .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT id FROM receipts WHERE order_id = $1 AND received_on = $2 AND amount = $3 AND kind = $4 \
                 AND COALESCE(reference, '') = $5",
            )
            .bind(order)
            .bind(d.received_on.to_string())
            .bind(d.amount.0)
            .bind(d.kind.code())
            .bind(d.reference.clone().unwrap_or_default())
            .fetch_optional(&mut ***tx)
            .await?
        }
    };
    if same.is_some() {
        return Ok(Done::Unchanged);
    }
    receipts::record(tx, actor, vis, &d, receipt_no, true).await?;
    Ok(Done::Created { customer_created: false })
}
