//! Receipts and refunds (收款/退款), balances, aging and statements.
//!
//! A receipt is checked against the order's balance inside the transaction
//! that writes it (domain `Balance::check`): no money in on a cancelled
//! order, nothing above the balance unless flagged as an overpayment, no
//! refund above what was received. What an order owes is its amount, or
//! nothing once it is cancelled or refunded (what was paid is then to be
//! refunded).

use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, now_ms, numbers, unique_as, Actor, Page, Result, Store, StoreError, Tx};
use chrono::{Datelike, NaiveDate};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{CustomerId, OrderId, ReceiptId, UserId};
use domain::money::Money;
use domain::travel::finance::{
    aging as age, sum_by_month, sum_by_product_type, sum_by_salesperson, AgingBucket, AgingReport, Balance, Receipt,
    ReceiptKind, ReceiptMethod, Receivable, StatementRow,
};
use domain::travel::order::OrderStatus;
use domain::travel::product::ProductType;
use domain::FieldError;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A new receipt or refund.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The order.
    pub order_id: OrderId,
    /// In or out.
    pub kind: ReceiptKind,
    /// How.
    pub method: ReceiptMethod,
    /// How much (above zero).
    pub amount: Money,
    /// The day.
    pub received_on: NaiveDate,
    /// Accepted knowingly above the balance.
    pub overpayment: bool,
    /// Bank or payment reference.
    pub reference: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// A receipt as read back.
#[derive(Debug, Clone)]
pub struct ReceiptRow {
    /// Id.
    pub id: ReceiptId,
    /// `R2026-000310`.
    pub receipt_no: String,
    /// The order.
    pub order_id: OrderId,
    /// Its number.
    pub order_no: String,
    /// The customer.
    pub customer_id: CustomerId,
    /// Their name.
    pub customer_name: String,
    /// Kind.
    pub kind: ReceiptKind,
    /// Method.
    pub method: ReceiptMethod,
    /// Amount.
    pub amount: Money,
    /// Day.
    pub received_on: String,
    /// Flagged overpayment.
    pub overpayment: bool,
    /// Reference.
    pub reference: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// From a history import.
    pub imported: bool,
    /// Epoch ms.
    pub created_at: i64,
    /// Version.
    pub version: i64,
}

fn from_row(r: &AnyRow) -> Result<ReceiptRow, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let method: String = r.try_get("method")?;
    Ok(ReceiptRow {
        id: ReceiptId(r.try_get("id")?),
        receipt_no: r.try_get("receipt_no")?,
        order_id: OrderId(r.try_get("order_id")?),
        order_no: r.try_get("order_no")?,
        customer_id: CustomerId(r.try_get("customer_id")?),
        customer_name: r.try_get("customer_name")?,
        kind: ReceiptKind::from_code(&kind).unwrap_or(ReceiptKind::Receipt),
        method: ReceiptMethod::from_code(&method).unwrap_or(ReceiptMethod::Cash),
        amount: Money(r.try_get("amount")?),
        received_on: r.try_get("received_on")?,
        overpayment: r.try_get::<i64, _>("overpayment")? != 0,
        reference: r.try_get("reference")?,
        notes: r.try_get("notes")?,
        imported: r.try_get::<i64, _>("imported")? != 0,
        created_at: r.try_get("created_at")?,
        version: r.try_get("version")?,
    })
}

const SELECT: &str = "SELECT r.*, o.order_no, c.name AS customer_name FROM receipts r \
                      JOIN orders o ON o.id = r.order_id JOIN customers c ON c.id = r.customer_id WHERE 1 = 1";

/// What an order owes: its amount, or nothing once cancelled or refunded.
pub fn due_of(status: OrderStatus, amount: Money) -> Money {
    if status.accepts_receipts() {
        amount
    } else {
        Money::ZERO
    }
}

async fn receipts_of(ex: &mut sqlx::AnyConnection, order: OrderId) -> Result<Vec<Receipt>> {
    let rows: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT kind, method, amount, received_on, overpayment FROM receipts WHERE order_id = $1 ORDER BY id",
    )
    .bind(order.0)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, method, amount, on, over)| Receipt {
            kind: ReceiptKind::from_code(&kind).unwrap_or(ReceiptKind::Receipt),
            method: ReceiptMethod::from_code(&method).unwrap_or(ReceiptMethod::Cash),
            amount: Money(amount),
            received_on: on.parse().unwrap_or_default(),
            overpayment: over != 0,
        })
        .collect())
}

fn overflow() -> StoreError {
    StoreError::invalid(FieldError::new("amount", "too_large", "the amounts are too large"))
}

/// An order's balance inside a transaction (the caller checked visibility).
pub async fn balance_in(tx: &mut Tx, order: OrderId) -> Result<(OrderStatus, Balance)> {
    let row: Option<(String, i64)> = sqlx::query_as("SELECT status, amount FROM orders WHERE id = $1")
        .bind(order.0)
        .fetch_optional(&mut ***tx)
        .await?;
    let (status, amount) = row.ok_or(StoreError::NotFound)?;
    let status = OrderStatus::from_code(&status).unwrap_or(OrderStatus::Pending);
    let receipts = receipts_of(tx, order).await?;
    let b = Balance::of(due_of(status, Money(amount)), &receipts).map_err(|_| overflow())?;
    Ok((status, b))
}

/// An order's balance, if `vis` lets the caller see the order.
pub async fn order_balance(store: &Store, vis: &Visibility, order: OrderId) -> Result<Balance> {
    let mut tx = store.begin().await?;
    let mut sql = Sql::new("SELECT id FROM orders o WHERE o.id = ");
    sql.bind(order.0);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    if sql.query().fetch_optional(&mut **tx).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let (_, b) = balance_in(&mut tx, order).await?;
    tx.rollback().await?;
    Ok(b)
}

/// A customer's balance over the orders `vis` lets the caller see, and how
/// many orders that is.
pub async fn customer_balance(store: &Store, vis: &Visibility, customer: CustomerId) -> Result<(Balance, i64)> {
    let mut sql = Sql::new("SELECT o.id, o.status, o.amount FROM orders o WHERE o.customer_id = ");
    sql.bind(customer.0);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut total = Balance::of(Money::ZERO, &[]).map_err(|_| overflow())?;
    let mut conn = store.pool().acquire().await?;
    let count = rows.len() as i64;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let status: String = r.try_get(1)?;
        let amount: i64 = r.try_get(2)?;
        let status = OrderStatus::from_code(&status).unwrap_or(OrderStatus::Pending);
        let receipts = receipts_of(&mut conn, OrderId(id)).await?;
        let b = Balance::of(due_of(status, Money(amount)), &receipts).map_err(|_| overflow())?;
        let add = |a: Money, b: Money| a.checked_add(b).ok_or_else(overflow);
        total = Balance {
            due: add(total.due, b.due)?,
            received: add(total.received, b.received)?,
            refunded: add(total.refunded, b.refunded)?,
            balance: add(total.balance, b.balance)?,
            overpayment: add(total.overpayment, b.overpayment)?,
        };
    }
    Ok((total, count))
}

/// Records a receipt or refund on an order `vis` lets the caller see, after
/// checking it against the balance; refused ones change nothing. `receipt_no`
/// keeps an imported number; `imported` marks history.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    d: &Draft,
    receipt_no: Option<&str>,
    imported: bool,
) -> Result<ReceiptRow> {
    let mut sql = Sql::new("SELECT o.id, o.customer_id, o.order_no FROM orders o WHERE o.id = ");
    sql.bind(d.order_id.0);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let Some(row) = sql.query().fetch_optional(&mut ***tx).await? else {
        return Err(StoreError::invalid(FieldError::new("order_id", "not_found", "no such order")));
    };
    let customer: i64 = row.try_get(1)?;
    let order_no: String = row.try_get(2)?;
    if d.reference.as_deref().is_some_and(|r| r.chars().count() > 100) {
        return Err(StoreError::invalid(FieldError::new(
            "reference",
            "too_long",
            "reference must have at most 100 characters",
        )));
    }
    let (status, balance) = balance_in(tx, d.order_id).await?;
    let new = Receipt {
        kind: d.kind,
        method: d.method,
        amount: d.amount,
        received_on: d.received_on,
        overpayment: d.overpayment,
    };
    balance.check(status, &new).map_err(StoreError::invalid)?;
    let number = match receipt_no {
        Some(n) => n.to_string(),
        None => numbers::next(tx, "R", d.received_on.year(), "receipts", "receipt_no").await?,
    };
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO receipts (receipt_no, order_id, customer_id, kind, method, amount, received_on, overpayment, \
         reference, notes, imported, created_by, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1) RETURNING id",
    )
    .bind(number.as_str())
    .bind(d.order_id.0)
    .bind(customer)
    .bind(d.kind.code())
    .bind(d.method.code())
    .bind(d.amount.0)
    .bind(d.received_on.to_string())
    .bind(i64::from(d.overpayment))
    .bind(d.reference.as_deref())
    .bind(d.notes.as_deref())
    .bind(i64::from(imported))
    .bind(actor.user_id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut ***tx)
    .await
    .map_err(unique_as("receipt_no"))?;
    let mut changes = ChangeSet::new();
    changes.created("order_id", Some(&d.order_id.0.to_string()), Sensitivity::Plain);
    changes.created("kind", Some(d.kind.code()), Sensitivity::Plain);
    changes.created("method", Some(d.method.code()), Sensitivity::Plain);
    changes.created("amount", Some(&d.amount.to_string()), Sensitivity::Plain);
    changes.created("received_on", Some(&d.received_on.to_string()), Sensitivity::Plain);
    changes.created("overpayment", Some(if d.overpayment { "true" } else { "false" }), Sensitivity::Plain);
    changes.created("reference", d.reference.as_deref(), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "receipt",
        &id.to_string(),
        &format!("{} {number} on order {order_no}", d.kind.code()),
        &changes,
    )
    .await?;
    let row = sqlx::query(&format!("{SELECT} AND r.id = $1")).bind(id).fetch_one(&mut ***tx).await?;
    Ok(from_row(&row)?)
}

/// Changes the amount and day of an imported receipt (re-import keeps the
/// paid amount in step), checked against the balance without it.
pub async fn update_imported(tx: &mut Tx, actor: &Actor, id: ReceiptId, amount: Money, on: NaiveDate) -> Result<()> {
    let before: (i64, i64, String) = sqlx::query_as("SELECT order_id, amount, received_on FROM receipts WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    if (before.1, before.2.as_str()) == (amount.0, on.to_string().as_str()) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE receipts SET amount = $1, received_on = $2, updated_at = $3, version = version + 1 WHERE id = $4",
    )
    .bind(amount.0)
    .bind(on.to_string())
    .bind(now_ms())
    .bind(id.0)
    .execute(&mut ***tx)
    .await?;
    let mut changes = ChangeSet::new();
    changes.diff("amount", Some(&Money(before.1).to_string()), Some(&amount.to_string()), Sensitivity::Plain);
    changes.diff("received_on", Some(&before.2), Some(&on.to_string()), Sensitivity::Plain);
    audit::record(tx, actor, Action::Update, "receipt", &id.0.to_string(), "imported receipt updated", &changes)
        .await?;
    Ok(())
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One order.
    pub order_id: Option<OrderId>,
    /// One customer.
    pub customer_id: Option<CustomerId>,
    /// From this day.
    pub from: Option<NaiveDate>,
    /// Up to this day.
    pub to: Option<NaiveDate>,
    /// Ids below this.
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Receipts and refunds on orders `vis` lets the caller see, newest first.
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<Page<ReceiptRow>> {
    let mut sql = Sql::new(SELECT);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    if let Some(o) = f.order_id {
        sql.push(" AND r.order_id = ").bind(o.0);
    }
    if let Some(c) = f.customer_id {
        sql.push(" AND r.customer_id = ").bind(c.0);
    }
    if let Some(d) = f.from {
        sql.push(" AND r.received_on >= ").bind(d.to_string());
    }
    if let Some(d) = f.to {
        sql.push(" AND r.received_on <= ").bind(d.to_string());
    }
    if let Some(b) = f.before {
        sql.push(" AND r.id < ").bind(b);
    }
    sql.push(" ORDER BY r.id DESC LIMIT ").bind(f.limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, f.limit, |r| r.id.0))
}

/// One outstanding order in the aging report.
#[derive(Debug, Clone)]
pub struct AgingItem {
    /// The order.
    pub order_id: OrderId,
    /// Its number.
    pub order_no: String,
    /// The customer.
    pub customer_name: String,
    /// Due date.
    pub due_on: NaiveDate,
    /// Still owed.
    pub outstanding: Money,
    /// Its bucket.
    pub bucket: AgingBucket,
}

/// Receivables outstanding as of `as_of`, by bucket, with the orders.
pub async fn aging(store: &Store, vis: &Visibility, as_of: NaiveDate) -> Result<(AgingReport, Vec<AgingItem>)> {
    let mut sql = Sql::new(
        "SELECT o.id, o.order_no, c.name, o.due_date, o.order_date, o.amount, \
         CAST(COALESCE((SELECT SUM(CASE WHEN r.kind = 'refund' THEN -r.amount ELSE r.amount END) \
                   FROM receipts r WHERE r.order_id = o.id), 0) AS BIGINT) AS paid \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.status NOT IN ('cancelled', 'refunded')",
    );
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    sql.push(" ORDER BY o.due_date, o.id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut items = Vec::new();
    for r in rows {
        let due: Option<String> = r.try_get(3)?;
        let order_date: String = r.try_get(4)?;
        let amount: i64 = r.try_get(5)?;
        let paid: i64 = r.try_get(6)?;
        let outstanding = amount - paid;
        if outstanding <= 0 {
            continue;
        }
        let due_on = due.unwrap_or(order_date).parse().unwrap_or(as_of);
        items.push(AgingItem {
            order_id: OrderId(r.try_get(0)?),
            order_no: r.try_get(1)?,
            customer_name: r.try_get(2)?,
            due_on,
            outstanding: Money(outstanding),
            bucket: AgingBucket::of(due_on, as_of),
        });
    }
    let receivables: Vec<Receivable> =
        items.iter().map(|i| Receivable { due_on: i.due_on, outstanding: i.outstanding }).collect();
    let report = age(&receivables, as_of).map_err(|_| overflow())?;
    Ok((report, items))
}

/// A month's (or a year's) statement.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Year.
    pub year: i32,
    /// Month (1–12).
    pub month: u32,
    /// Orders dated this month: their amounts (cancelled ones left out).
    pub receivables: Money,
    /// Orders counted.
    pub order_count: i64,
    /// Receipts this month.
    pub receipts: Money,
    /// Refunds this month.
    pub refunds: Money,
    /// Receipts minus refunds.
    pub net: Money,
    /// The year by month: (receivables, receipts net of refunds).
    pub by_month: Vec<(Money, Money)>,
    /// This month's receivables by salesperson: (id, name, amount).
    pub by_salesperson: Vec<(UserId, String, Money)>,
    /// This month's receivables by product type.
    pub by_product_type: Vec<(ProductType, Money)>,
}

/// The statement of `year`-`month` over orders `vis` lets the caller see.
pub async fn statement(store: &Store, vis: &Visibility, year: i32, month: u32) -> Result<Statement> {
    let mut sql = Sql::new(
        "SELECT o.order_date, o.owner_id, o.product_type, o.amount FROM orders o \
         WHERE o.status NOT IN ('cancelled', 'refunded') AND o.order_date LIKE ",
    );
    sql.bind(format!("{year}-%"));
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut orders = Vec::new();
    for r in rows {
        let date: String = r.try_get(0)?;
        let t: String = r.try_get(2)?;
        let Ok(date) = date.parse::<NaiveDate>() else { continue };
        orders.push(StatementRow {
            date,
            salesperson: UserId(r.try_get(1)?),
            product_type: ProductType::from_code(&t).unwrap_or(ProductType::Custom),
            amount: Money(r.try_get(3)?),
        });
    }
    let mut sql = Sql::new(
        "SELECT r.received_on, o.owner_id, o.product_type, r.amount, r.kind FROM receipts r \
         JOIN orders o ON o.id = r.order_id WHERE r.received_on LIKE ",
    );
    sql.bind(format!("{year}-%"));
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut money = Vec::new();
    let (mut receipts, mut refunds) = (Money::ZERO, Money::ZERO);
    for r in rows {
        let date: String = r.try_get(0)?;
        let t: String = r.try_get(2)?;
        let amount = Money(r.try_get(3)?);
        let kind: String = r.try_get(4)?;
        let Ok(date) = date.parse::<NaiveDate>() else { continue };
        let refund = kind == "refund";
        if date.month() == month {
            let slot = if refund { &mut refunds } else { &mut receipts };
            *slot = slot.checked_add(amount).ok_or_else(overflow)?;
        }
        money.push(StatementRow {
            date,
            salesperson: UserId(r.try_get(1)?),
            product_type: ProductType::from_code(&t).unwrap_or(ProductType::Custom),
            amount: if refund { Money(-amount.0) } else { amount },
        });
    }
    let this_month: Vec<StatementRow> = orders.iter().filter(|r| r.date.month() == month).copied().collect();
    let order_months = sum_by_month(&orders, year).map_err(|_| overflow())?;
    let money_months = sum_by_month(&money, year).map_err(|_| overflow())?;
    let people = sum_by_salesperson(&this_month).map_err(|_| overflow())?;
    let mut by_salesperson = Vec::new();
    for (user, amount) in people {
        let name: Option<String> = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(store.pool())
            .await?;
        by_salesperson.push((user, name.unwrap_or_default(), amount));
    }
    Ok(Statement {
        year,
        month,
        receivables: order_months[(month - 1) as usize],
        order_count: this_month.len() as i64,
        receipts,
        refunds,
        net: receipts.checked_sub(refunds).ok_or_else(overflow)?,
        by_month: order_months.into_iter().zip(money_months).collect(),
        by_salesperson,
        by_product_type: sum_by_product_type(&this_month).map_err(|_| overflow())?,
    })
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> StoreError {
    StoreError::Backup(format!("cannot write the workbook: {e}"))
}

/// The statement as an XLSX workbook: the month's summary, the year by
/// month, by salesperson and by product type (amounts in yuan, two decimals).
/// `zh` chooses the labels' language.
pub fn statement_xlsx(s: &Statement, zh: bool) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let t = |zh_text: &'static str, en: &'static str| if zh { zh_text } else { en };
    let yuan = |m: Money| m.0 as f64 / 100.0;
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    {
        let sheet = book.add_worksheet();
        sheet.set_name(t("本月", "Month")).map_err(xlsx_err)?;
        sheet.write_string_with_format(0, 0, format!("{}-{:02}", s.year, s.month), &bold).map_err(xlsx_err)?;
        let rows = [
            (t("应收(本月订单)", "Receivables (orders this month)"), s.receivables),
            (t("收款", "Receipts"), s.receipts),
            (t("退款", "Refunds"), s.refunds),
            (t("净收款", "Net received"), s.net),
        ];
        for (i, (label, m)) in rows.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, *label).map_err(xlsx_err)?;
            sheet.write_number_with_format(r, 1, yuan(*m), &money).map_err(xlsx_err)?;
        }
        sheet.write_string(5, 0, t("订单数", "Orders")).map_err(xlsx_err)?;
        sheet.write_number(5, 1, s.order_count as f64).map_err(xlsx_err)?;
    }
    {
        let sheet = book.add_worksheet();
        sheet.set_name(t("全年按月", "Year by month")).map_err(xlsx_err)?;
        for (c, h) in [t("月份", "Month"), t("应收", "Receivables"), t("净收款", "Net received")].iter().enumerate()
        {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
        }
        for (i, (orders, received)) in s.by_month.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_number(r, 0, (i + 1) as f64).map_err(xlsx_err)?;
            sheet.write_number_with_format(r, 1, yuan(*orders), &money).map_err(xlsx_err)?;
            sheet.write_number_with_format(r, 2, yuan(*received), &money).map_err(xlsx_err)?;
        }
    }
    {
        let sheet = book.add_worksheet();
        sheet.set_name(t("按销售", "By salesperson")).map_err(xlsx_err)?;
        for (c, h) in [t("销售", "Salesperson"), t("应收", "Receivables")].iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
        }
        for (i, (_, name, m)) in s.by_salesperson.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, crate::customer_export::neutralise(name).as_ref()).map_err(xlsx_err)?;
            sheet.write_number_with_format(r, 1, yuan(*m), &money).map_err(xlsx_err)?;
        }
    }
    {
        let sheet = book.add_worksheet();
        sheet.set_name(t("按产品类型", "By product type")).map_err(xlsx_err)?;
        for (c, h) in [t("产品类型", "Product type"), t("应收", "Receivables")].iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
        }
        for (i, (pt, m)) in s.by_product_type.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, pt.label(zh)).map_err(xlsx_err)?;
            sheet.write_number_with_format(r, 1, yuan(*m), &money).map_err(xlsx_err)?;
        }
    }
    book.save_to_buffer().map_err(xlsx_err)
}
