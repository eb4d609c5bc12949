//! Tour departures (团期): dates, capacity, prices, status, seats, manifest.
//!
//! Seats move only through [`book_seats`] and [`release_seats`], each one
//! conditional `UPDATE` inside the caller's transaction: the row's
//! `booked <= capacity` CHECK and the condition in the statement mean that
//! concurrent bookings of the last seats can never overbook, on either
//! engine (on PostgreSQL the second writer waits on the row lock and then
//! re-evaluates the condition; on SQLite writers take turns).

use crate::resources::{insert_row, opt_text, update_row, Col};
use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, now_ms, Actor, Page, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet};
use domain::ids::{CustomerId, DepartureId, ProductId, UserId};
use domain::money::Money;
use domain::travel::departure::{DepartureCode, DepartureStatus, SeatsError};
use domain::travel::product::ProductCode;
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Takes `seats` seats of departure `id` if that many are left and it takes
/// bookings (status `open`); a departure that becomes full turns `full`.
/// Returns the seats left afterwards. Refused bookings change nothing.
pub async fn book_seats(tx: &mut Tx, id: DepartureId, seats: i64) -> Result<i64> {
    if seats <= 0 {
        return Err(seats_error(SeatsError::NoneRequested));
    }
    let now = now_ms();
    let left: Option<i64> = sqlx::query_scalar(
        "UPDATE departures SET booked = booked + $1, \
         status = CASE WHEN booked + $1 = capacity THEN 'full' ELSE status END, \
         updated_at = $2, version = version + 1 \
         WHERE id = $3 AND status = 'open' AND booked + $1 <= capacity RETURNING capacity - booked",
    )
    .bind(seats)
    .bind(now)
    .bind(id.0)
    .fetch_optional(&mut ***tx)
    .await?;
    if let Some(left) = left {
        return Ok(left);
    }
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT capacity, booked, status FROM departures WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    match row {
        None => Err(StoreError::NotFound),
        Some((_, _, status)) if status != "open" && status != "full" => {
            let status = DepartureStatus::from_code(&status).unwrap_or(DepartureStatus::Planning);
            Err(seats_error(SeatsError::NotOpen(status)))
        }
        Some((capacity, booked, _)) => Err(seats_error(SeatsError::Overbooked {
            wanted: u32::try_from(seats).unwrap_or(u32::MAX),
            left: u32::try_from(capacity - booked).unwrap_or(0),
        })),
    }
}

/// Gives back `seats` seats (a cancelled booking); a `full` departure opens
/// again. Returns the seats left afterwards.
pub async fn release_seats(tx: &mut Tx, id: DepartureId, seats: i64) -> Result<i64> {
    let now = now_ms();
    let left: Option<i64> = sqlx::query_scalar(
        "UPDATE departures SET booked = booked - $1, \
         status = CASE WHEN status = 'full' THEN 'open' ELSE status END, \
         updated_at = $2, version = version + 1 \
         WHERE id = $3 AND booked >= $1 RETURNING capacity - booked",
    )
    .bind(seats)
    .bind(now)
    .bind(id.0)
    .fetch_optional(&mut ***tx)
    .await?;
    left.ok_or(StoreError::NotFound)
}

fn seats_error(e: SeatsError) -> StoreError {
    let mut errs = FieldErrors::new();
    errs.push(e.into());
    StoreError::Invalid(errs)
}

/// A departure's editable fields, validated by the caller (dates ISO, the
/// return not before the departure, capacity ≥ 1, prices ≥ 0).
#[derive(Debug, Clone, Serialize)]
pub struct DepartureDraft {
    /// The product it runs.
    pub product_id: ProductId,
    /// Departure date, ISO.
    pub departure_date: chrono::NaiveDate,
    /// Return date, ISO.
    pub return_date: chrono::NaiveDate,
    /// The tour leader (a staff member).
    pub leader_id: Option<UserId>,
    /// The local guide's name.
    pub guide_name: Option<String>,
    /// Seats for sale.
    pub capacity: i64,
    /// Adult price.
    pub adult_price: Money,
    /// Child price.
    pub child_price: Money,
    /// Notes.
    pub notes: Option<String>,
}

/// A departure as read back; `seats_left` is always `capacity - booked`.
#[derive(Debug, Clone, Serialize)]
pub struct Departure {
    /// Id.
    pub id: DepartureId,
    /// `HN5D-20270115`.
    pub code: String,
    /// Product.
    pub product_id: ProductId,
    /// Product code.
    pub product_code: String,
    /// Product name.
    pub product_name: String,
    /// ISO date.
    pub departure_date: String,
    /// ISO date.
    pub return_date: String,
    /// Leader.
    pub leader_id: Option<UserId>,
    /// Leader's name as stored.
    pub leader_name: Option<String>,
    /// Guide.
    pub guide_name: Option<String>,
    /// Seats for sale.
    pub capacity: i64,
    /// Seats sold.
    pub booked: i64,
    /// Seats left.
    pub seats_left: i64,
    /// Adult price.
    pub adult_price: Money,
    /// Child price.
    pub child_price: Money,
    /// `DepartureStatus` code.
    pub status: String,
    /// Notes.
    pub notes: Option<String>,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Changed, epoch ms.
    pub updated_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

const SELECT: &str = "SELECT d.*, p.code AS product_code, p.name AS product_name FROM departures d \
    JOIN products p ON p.id = d.product_id WHERE 1 = 1";

fn from_row(r: &AnyRow) -> Result<Departure, sqlx::Error> {
    let capacity: i64 = r.try_get("capacity")?;
    let booked: i64 = r.try_get("booked")?;
    Ok(Departure {
        id: DepartureId(r.try_get("id")?),
        code: r.try_get("code")?,
        product_id: ProductId(r.try_get("product_id")?),
        product_code: r.try_get("product_code")?,
        product_name: r.try_get("product_name")?,
        departure_date: r.try_get("departure_date")?,
        return_date: r.try_get("return_date")?,
        leader_id: r.try_get::<Option<i64>, _>("leader_id")?.map(UserId),
        leader_name: opt_text(r, "leader_name")?,
        guide_name: opt_text(r, "guide_name")?,
        capacity,
        booked,
        seats_left: capacity - booked,
        adult_price: Money(r.try_get("adult_price")?),
        child_price: Money(r.try_get("child_price")?),
        status: r.try_get("status")?,
        notes: opt_text(r, "notes")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

fn cols(d: &DepartureDraft, code: &str, leader_name: Option<String>, status: &str) -> Vec<(&'static str, Col)> {
    vec![
        ("code", Col::text(code)),
        ("product_id", Col::int(d.product_id.0)),
        ("departure_date", Col::text(&d.departure_date.to_string())),
        ("return_date", Col::text(&d.return_date.to_string())),
        ("leader_id", Col::Int(d.leader_id.map(|u| u.0))),
        ("leader_name", Col::Text(leader_name)),
        ("guide_name", Col::opt(&d.guide_name)),
        ("capacity", Col::int(d.capacity)),
        ("adult_price", Col::int(d.adult_price.0)),
        ("child_price", Col::int(d.child_price.0)),
        ("status", Col::text(status)),
        ("notes", Col::opt(&d.notes)),
    ]
}

fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::invalid(FieldError::new(field, code, message))
}

/// The leader's display name; an unknown or deactivated account is refused.
async fn leader_name(tx: &mut Tx, leader: Option<UserId>) -> Result<Option<String>> {
    let Some(leader) = leader else { return Ok(None) };
    let row: Option<(String, i64)> = sqlx::query_as("SELECT display_name, active FROM users WHERE id = $1")
        .bind(leader.0)
        .fetch_optional(&mut ***tx)
        .await?;
    match row {
        None => Err(invalid("leader_id", "not_found", "the tour leader does not exist")),
        Some((_, 0)) => Err(invalid("leader_id", "inactive", "the tour leader's account is deactivated")),
        Some((name, _)) => Ok(Some(name)),
    }
}

/// The product's code, for departure codes; an unknown product is refused.
async fn product_code(tx: &mut Tx, id: ProductId) -> Result<ProductCode> {
    let code: Option<String> =
        sqlx::query_scalar("SELECT code FROM products WHERE id = $1").bind(id.0).fetch_optional(&mut ***tx).await?;
    let code = code.ok_or_else(|| invalid("product_id", "not_found", format!("product {id} does not exist")))?;
    ProductCode::parse("product_id", &code).map_err(StoreError::invalid)
}

/// The first free code for `product` on `date`.
async fn free_code(tx: &mut Tx, product: &ProductCode, date: chrono::NaiveDate) -> Result<String> {
    let prefix = format!("{product}-{}", date.format("%Y%m%d"));
    let taken: Vec<String> = sqlx::query_scalar("SELECT code FROM departures WHERE code = $1 OR code LIKE $2")
        .bind(prefix.as_str())
        .bind(format!("{prefix}-%"))
        .fetch_all(&mut ***tx)
        .await?;
    let taken: Vec<DepartureCode> = taken.iter().filter_map(|c| DepartureCode::parse("code", c).ok()).collect();
    DepartureCode::first_free(product, date, &taken)
        .map(|c| c.to_string())
        .ok_or_else(|| invalid("departure_date", "too_many", "this product already has 99 departures on that date"))
}

fn check_draft(d: &DepartureDraft) -> Result<()> {
    let mut errs = FieldErrors::new();
    if d.return_date < d.departure_date {
        errs.push(FieldError::new("return_date", "ends_before_start", "the return date is before the departure date"));
    }
    if d.capacity < 1 {
        errs.push(FieldError::new("capacity", "invalid_capacity", "capacity must be at least 1"));
    }
    for (f, m) in [("adult_price", d.adult_price), ("child_price", d.child_price)] {
        errs.check(m.non_negative(f));
    }
    errs.into_result().map_err(StoreError::Invalid)
}

/// Creates a departure with the first free code of its product and date,
/// in status `planning` or, if `open`, on sale at once.
pub async fn create(tx: &mut Tx, actor: &Actor, d: &DepartureDraft, status: DepartureStatus) -> Result<Departure> {
    check_draft(d)?;
    if !matches!(status, DepartureStatus::Planning | DepartureStatus::Open) {
        return Err(invalid("status", "invalid_choice", "a new departure is planning or open"));
    }
    let product = product_code(tx, d.product_id).await?;
    let leader = leader_name(tx, d.leader_id).await?;
    let code = free_code(tx, &product, d.departure_date).await?;
    let summary = format!("departure {code}");
    let id = insert_row(tx, actor, "departures", "departure", &summary, &cols(d, &code, leader, status.code())).await?;
    get_in(tx, DepartureId(id)).await
}

/// Changes a departure if `version` is current. `status`, when given, must
/// be a move [`DepartureStatus::next`] allows; capacity below the seats sold
/// is refused on `capacity`; a new departure date gives a new code. The
/// product stays.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: DepartureId,
    version: i64,
    d: &DepartureDraft,
    status: Option<DepartureStatus>,
) -> Result<Departure> {
    let before = get_in(tx, id).await?;
    check_draft(d)?;
    if d.product_id != before.product_id {
        return Err(invalid("product_id", "fixed", "a departure's product cannot change"));
    }
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    if d.capacity < before.booked {
        return Err(invalid(
            "capacity",
            "below_booked",
            format!("capacity {} is below the {} seats already sold", d.capacity, before.booked),
        ));
    }
    let current = DepartureStatus::from_code(&before.status).unwrap_or(DepartureStatus::Planning);
    let next = match status {
        Some(s) if s != current => {
            let next = current.transition(s).map_err(StoreError::invalid)?;
            if next == DepartureStatus::Open && d.capacity <= before.booked {
                return Err(invalid(
                    "status",
                    "no_seats_left",
                    "every seat is sold: raise the capacity to open it again",
                ));
            }
            next
        }
        // A capacity change alone fills or reopens an open or full departure.
        _ => {
            current.for_seats(u32::try_from(d.capacity).unwrap_or(u32::MAX), u32::try_from(before.booked).unwrap_or(0))
        }
    };
    let code = if d.departure_date.to_string() != before.departure_date {
        let product = product_code(tx, d.product_id).await?;
        free_code(tx, &product, d.departure_date).await?
    } else {
        before.code.clone()
    };
    let leader =
        if d.leader_id == before.leader_id { before.leader_name.clone() } else { leader_name(tx, d.leader_id).await? };
    let old = before_cols(&before);
    let summary = format!("departure {code}");
    update_row(
        tx,
        actor,
        "departures",
        "departure",
        &summary,
        id.0,
        version,
        &old,
        &cols(d, &code, leader, next.code()),
    )
    .await?;
    get_in(tx, id).await
}

fn before_cols(b: &Departure) -> Vec<(&'static str, Col)> {
    vec![
        ("code", Col::text(&b.code)),
        ("product_id", Col::int(b.product_id.0)),
        ("departure_date", Col::text(&b.departure_date)),
        ("return_date", Col::text(&b.return_date)),
        ("leader_id", Col::Int(b.leader_id.map(|u| u.0))),
        ("leader_name", Col::opt(&b.leader_name)),
        ("guide_name", Col::opt(&b.guide_name)),
        ("capacity", Col::int(b.capacity)),
        ("adult_price", Col::int(b.adult_price.0)),
        ("child_price", Col::int(b.child_price.0)),
        ("status", Col::text(&b.status)),
        ("notes", Col::opt(&b.notes)),
    ]
}

/// One departure inside a transaction.
pub async fn get_in(tx: &mut Tx, id: DepartureId) -> Result<Departure> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND d.id = ").bind(id.0);
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// One departure.
pub async fn get(store: &Store, id: DepartureId) -> Result<Departure> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND d.id = ").bind(id.0);
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Filters of the departure list; empty ones do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Product.
    pub product_id: Option<ProductId>,
    /// Status code.
    pub status: Option<String>,
    /// Departing in this month (`2026-12`).
    pub month: Option<String>,
}

fn push_filter(sql: &mut Sql, f: &Filter) {
    if let Some(p) = f.product_id {
        sql.push(" AND d.product_id = ").bind(p.0);
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND d.status = ").bind(s);
    }
    if let Some(m) = f.month.as_deref().filter(|m| !m.is_empty()) {
        sql.push(" AND d.departure_date >= ").bind(format!("{m}-01"));
        sql.push(" AND d.departure_date <= ").bind(format!("{m}-31"));
    }
}

/// Departures, latest id first.
pub async fn list(store: &Store, f: &Filter, limit: i64, before: Option<i64>) -> Result<Page<Departure>> {
    let mut sql = Sql::new(SELECT);
    push_filter(&mut sql, f);
    if let Some(b) = before {
        sql.push(" AND d.id < ").bind(b);
    }
    sql.push(" ORDER BY d.id DESC LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |d| d.id.0))
}

/// Every departure leaving in `month` (`2026-12`), by date, for the calendar.
pub async fn calendar(store: &Store, month: &str) -> Result<Vec<Departure>> {
    let mut sql = Sql::new(SELECT);
    push_filter(&mut sql, &Filter { month: Some(month.to_string()), ..Filter::default() });
    sql.push(" ORDER BY d.departure_date, d.code");
    let rows = sql.query().fetch_all(store.pool()).await?;
    Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
}

/// One traveller of a departure's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestRow {
    /// The order's number.
    pub order_no: String,
    /// The customer.
    pub customer_id: CustomerId,
    /// Name.
    pub name: String,
    /// `male`, `female`, `unknown`.
    pub gender: Option<String>,
    /// ISO date.
    pub birthday: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// ID card number: masked unless `documents_revealed`.
    pub id_card: Option<String>,
    /// Passport number: masked unless `documents_revealed`.
    pub passport: Option<String>,
    /// Passport expiry.
    pub passport_expiry: Option<String>,
    /// Child traveller.
    pub is_child: bool,
    /// Room (rooming list).
    pub room: Option<String>,
    /// Whether the numbers above are shown in full.
    pub documents_revealed: bool,
}

/// The manifest: travellers of the departure's orders that are not
/// cancelled or refunded, by room then name. Document numbers are masked
/// except for customers that `pii` (the viewer's `customers.pii` reach)
/// covers; showing any in full writes one `reveal` audit row.
pub async fn manifest(
    store: &Store,
    actor: &Actor,
    id: DepartureId,
    pii: Option<&Visibility>,
) -> Result<Vec<ManifestRow>> {
    let dep = get(store, id).await?;
    let rows = sqlx::query(
        "SELECT o.order_no, c.id AS customer_id, c.name, c.gender, c.birthday, c.mobile, c.id_card_masked, \
         c.passport_masked, c.passport_expiry, t.is_child, t.room FROM order_travellers t \
         JOIN orders o ON o.id = t.order_id JOIN customers c ON c.id = t.customer_id \
         WHERE t.departure_id = $1 AND o.status NOT IN ('cancelled', 'refunded') ORDER BY t.room, c.name_pinyin, t.id",
    )
    .bind(id.0)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(ManifestRow {
            order_no: r.try_get("order_no")?,
            customer_id: CustomerId(r.try_get("customer_id")?),
            name: r.try_get("name")?,
            gender: opt_text(r, "gender")?,
            birthday: opt_text(r, "birthday")?,
            mobile: opt_text(r, "mobile")?,
            id_card: opt_text(r, "id_card_masked")?,
            passport: opt_text(r, "passport_masked")?,
            passport_expiry: opt_text(r, "passport_expiry")?,
            is_child: r.try_get::<i64, _>("is_child")? != 0,
            room: opt_text(r, "room")?,
            documents_revealed: false,
        });
    }
    let Some(pii) = pii else { return Ok(out) };
    if out.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new("SELECT id, id_card_enc, passport_enc FROM customers WHERE id IN ");
    sql.bind_list(out.iter().map(|t| t.customer_id.0));
    pii.restrict(&mut sql, "owner_id", "team_id");
    let sealed = sql.query().fetch_all(store.pool()).await?;
    let key = store.data_key();
    let mut revealed = 0;
    for r in &sealed {
        let cid = CustomerId(r.try_get("id")?);
        let idc: Option<String> = r.try_get("id_card_enc")?;
        let pp: Option<String> = r.try_get("passport_enc")?;
        let idc = idc.map(|s| key.open(&s)).transpose()?;
        let pp = pp.map(|s| key.open(&s)).transpose()?;
        for t in out.iter_mut().filter(|t| t.customer_id == cid) {
            t.id_card = idc.clone();
            t.passport = pp.clone();
            t.documents_revealed = true;
            revealed += 1;
        }
    }
    if revealed > 0 {
        let mut tx = store.begin().await?;
        audit::record(
            &mut tx,
            actor,
            Action::Reveal,
            "departure",
            &id.to_string(),
            &format!("documents of {revealed} travellers on the manifest of departure {} shown in full", dep.code),
            &ChangeSet::new(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(out)
}

/// Records that the manifest or rooming list (`what`) of a departure was
/// exported with `rows` travellers.
pub async fn record_export(store: &Store, actor: &Actor, id: DepartureId, what: &str, rows: usize) -> Result<()> {
    let dep = get(store, id).await?;
    let mut tx = store.begin().await?;
    audit::record(
        &mut tx,
        actor,
        Action::Export,
        "departure",
        &id.to_string(),
        &format!("{what} of departure {} exported ({rows} travellers)", dep.code),
        &ChangeSet::new(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A spreadsheet cell that a spreadsheet program will not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The manifest (`rooming == false`) or rooming list of `rows` as an XLSX
/// workbook, headers in Chinese and English.
pub fn manifest_xlsx(dep: &Departure, rows: &[ManifestRow], rooming: bool) -> Result<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| StoreError::Backup(format!("cannot write the spreadsheet: {e}"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(if rooming { "分房表 Rooming" } else { "名单 Manifest" }).map_err(err)?;
    sheet.write_string_with_format(0, 0, cell(&format!("{} {}", dep.code, dep.product_name)), &bold).map_err(err)?;
    sheet.write_string(0, 1, format!("{} ~ {}", dep.departure_date, dep.return_date)).map_err(err)?;
    let headers: &[&str] = if rooming {
        &["房间 Room", "姓名 Name", "性别 Gender", "儿童 Child", "订单 Order"]
    } else {
        &[
            "序号 No.",
            "姓名 Name",
            "性别 Gender",
            "出生日期 Birthday",
            "手机 Mobile",
            "身份证 ID card",
            "护照 Passport",
            "护照有效期 Passport expiry",
            "儿童 Child",
            "房间 Room",
            "订单 Order",
        ]
    };
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *h, &bold).map_err(err)?;
    }
    let mut sorted: Vec<&ManifestRow> = rows.iter().collect();
    if rooming {
        sorted.sort_by(|a, b| a.room.cmp(&b.room));
    }
    for (i, t) in sorted.iter().enumerate() {
        let r = (i + 2) as u32;
        let o = |v: &Option<String>| cell(v.as_deref().unwrap_or(""));
        let child = if t.is_child { "是 Yes" } else { "" };
        let values: Vec<String> = if rooming {
            vec![o(&t.room), cell(&t.name), o(&t.gender), child.into(), cell(&t.order_no)]
        } else {
            vec![
                (i + 1).to_string(),
                cell(&t.name),
                o(&t.gender),
                o(&t.birthday),
                o(&t.mobile),
                o(&t.id_card),
                o(&t.passport),
                o(&t.passport_expiry),
                child.into(),
                o(&t.room),
                cell(&t.order_no),
            ]
        };
        for (c, v) in values.iter().enumerate() {
            sheet.write_string(r, c as u16, v).map_err(err)?;
        }
    }
    sheet.set_freeze_panes(2, 0).map_err(err)?;
    book.save_to_buffer().map_err(err)
}
