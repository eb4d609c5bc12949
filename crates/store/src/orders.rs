//! Orders (订单) with travellers, hotel stays and charges.
//!
//! An order is created directly, on a tour departure (its seats are booked in
//! the same transaction), from an accepted quote or from an opportunity (the
//! opportunity becomes `won` with the order's id). Cancelling an order on a
//! departure gives its seats back. Every change writes its audit row in the
//! same transaction.

use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, departures, now_ms, numbers, stale, unique_as, Actor, Page, Result, Store, StoreError, Tx};
use chrono::{Datelike, Duration, NaiveDate};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::customer::SourceChannel;
use domain::ids::{ChargeId, CustomerId, DepartureId, OpportunityId, OrderId, ProductId, QuoteId, TeamId, UserId};
use domain::money::Money;
use domain::travel::hotel::{Charge as StayCharge, HotelStay, Outlet, StayDates, StaySpend};
use domain::travel::order::OrderStatus;
use domain::travel::product::ProductType;
use domain::travel::quote::QuoteLine;
use domain::travel::{Party, TripDates};
use domain::{FieldError, FieldErrors};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Everything editable about an order, parsed by the caller.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The customer who buys (the caller checked they may see them).
    pub customer_id: CustomerId,
    /// What kind of product.
    pub product_type: ProductType,
    /// Where to.
    pub destination: Option<String>,
    /// The day of the order.
    pub order_date: NaiveDate,
    /// Departure (or check-in) day.
    pub travel_date: Option<NaiveDate>,
    /// Return (or check-out) day.
    pub return_date: Option<NaiveDate>,
    /// Adults.
    pub adults: i64,
    /// Children.
    pub children: i64,
    /// What the customer owes.
    pub amount: Money,
    /// What it costs us.
    pub cost: Money,
    /// When payment is due; `None`: the travel date, else order date + 7 days.
    pub due_date: Option<NaiveDate>,
    /// How the customer came.
    pub source: Option<SourceChannel>,
    /// Which campaign.
    pub campaign: Option<String>,
    /// The salesperson.
    pub owner_id: UserId,
    /// Free notes.
    pub notes: Option<String>,
    /// Hotel stay: room type.
    pub room_type: Option<String>,
    /// Hotel stay: room number.
    pub room_number: Option<String>,
    /// Hotel stay: nightly rate (check-in/out are the travel/return dates).
    pub nightly_rate: Option<Money>,
}

impl Draft {
    /// The rules that need no stored data: amounts, party, dates in order, a
    /// hotel stay's room and nights, text lengths.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        for (field, m) in [("amount", self.amount), ("cost", self.cost)] {
            if m.is_negative() {
                errs.push(FieldError::new(field, "negative", format!("{field} must not be negative")));
            }
        }
        if self.adults < 0 || self.children < 0 {
            errs.push(FieldError::new("adults", "negative", "adults and children must not be negative"));
        } else if let Err(e) =
            Party::new(u32::try_from(self.adults).unwrap_or(u32::MAX), u32::try_from(self.children).unwrap_or(u32::MAX))
        {
            errs.push(FieldError { field: "adults".into(), ..e });
        }
        if let (Some(t), Some(r)) = (self.travel_date, self.return_date) {
            if let Err(e) = TripDates::new("return_date", t, r) {
                errs.push(e);
            }
        }
        for (field, v, max) in [
            ("destination", &self.destination, 100),
            ("campaign", &self.campaign, 100),
            ("notes", &self.notes, 2000),
            ("room_type", &self.room_type, 30),
            ("room_number", &self.room_number, 10),
        ] {
            if v.as_deref().is_some_and(|s| s.chars().count() > max) {
                errs.push(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
            }
        }
        if self.product_type == ProductType::HotelStay {
            match (self.travel_date, self.return_date) {
                (Some(i), Some(o)) => match StayDates::new(i, o) {
                    Ok(dates) => {
                        let stay = HotelStay {
                            room_type: self.room_type.clone().unwrap_or_default(),
                            room_number: self.room_number.clone(),
                            dates,
                            nightly_rate: self.nightly_rate.unwrap_or(Money::ZERO),
                            charges: Vec::new(),
                        };
                        if let Err(e) = stay.validate() {
                            errs.0.extend(e.0);
                        }
                    }
                    Err(e) => errs.push(FieldError { field: "return_date".into(), ..e }),
                },
                _ => errs.push(FieldError::new(
                    "travel_date",
                    "required",
                    "a hotel stay needs its check-in (travel_date) and check-out (return_date)",
                )),
            }
        }
        errs.into_result()
    }

    /// The due date: as given, else the travel date, else order date + 7.
    pub fn due(&self) -> NaiveDate {
        self.due_date.or(self.travel_date).unwrap_or(self.order_date + Duration::days(7))
    }

    fn seats(&self) -> i64 {
        self.adults + self.children
    }
}

/// Where an order comes from, besides being entered directly.
#[derive(Debug, Clone, Copy, Default)]
pub struct Links {
    /// Booked on this tour departure (seats taken).
    pub departure_id: Option<DepartureId>,
    /// From this quote (marked accepted).
    pub quote_id: Option<QuoteId>,
    /// From this opportunity (marked won).
    pub opportunity_id: Option<OpportunityId>,
    /// The product sold.
    pub product_id: Option<ProductId>,
}

/// An order as read back.
#[derive(Debug, Clone)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// `D2026-000123` or the imported number.
    pub order_no: String,
    /// The buyer's name and code, for lists.
    pub customer_name: String,
    /// The buyer's code.
    pub customer_code: String,
    /// The stored fields.
    pub data: Draft,
    /// Links.
    pub links: Links,
    /// The quote version the order was made from.
    pub quote_version: Option<i64>,
    /// Stored due date (always set on orders made here).
    pub due_date: Option<NaiveDate>,
    /// Status.
    pub status: OrderStatus,
    /// The owner's team.
    pub team_id: Option<TeamId>,
    /// Came from a history import.
    pub imported: bool,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// For updates.
    pub version: i64,
}

fn date_col(r: &AnyRow, col: &str) -> Result<Option<NaiveDate>, sqlx::Error> {
    let s: Option<String> = r.try_get(col)?;
    Ok(s.and_then(|s| s.parse().ok()))
}

fn from_row(r: &AnyRow) -> Result<Order, sqlx::Error> {
    let opt = |c: &str| r.try_get::<Option<String>, _>(c);
    let opt_id = |c: &str| r.try_get::<Option<i64>, _>(c);
    let product_type: String = r.try_get("product_type")?;
    let status: String = r.try_get("status")?;
    let order_date: String = r.try_get("order_date")?;
    let due_date = date_col(r, "due_date")?;
    let data = Draft {
        customer_id: CustomerId(r.try_get("customer_id")?),
        product_type: ProductType::from_code(&product_type).unwrap_or(ProductType::Custom),
        destination: opt("destination")?,
        order_date: order_date.parse().unwrap_or_default(),
        travel_date: date_col(r, "travel_date")?,
        return_date: date_col(r, "return_date")?,
        adults: r.try_get("adults")?,
        children: r.try_get("children")?,
        amount: Money(r.try_get("amount")?),
        cost: Money(r.try_get("cost")?),
        due_date,
        source: opt("source")?.and_then(|s| SourceChannel::from_code(&s)),
        campaign: opt("campaign")?,
        owner_id: UserId(r.try_get("owner_id")?),
        notes: opt("notes")?,
        room_type: opt("room_type")?,
        room_number: opt("room_number")?,
        nightly_rate: opt_id("nightly_rate")?.map(Money),
    };
    Ok(Order {
        id: OrderId(r.try_get("id")?),
        order_no: r.try_get("order_no")?,
        customer_name: r.try_get("customer_name")?,
        customer_code: r.try_get("customer_code")?,
        data,
        links: Links {
            departure_id: opt_id("departure_id")?.map(DepartureId),
            quote_id: opt_id("quote_id")?.map(QuoteId),
            opportunity_id: opt_id("opportunity_id")?.map(OpportunityId),
            product_id: opt_id("product_id")?.map(ProductId),
        },
        quote_version: opt_id("quote_version")?,
        due_date,
        status: OrderStatus::from_code(&status).unwrap_or(OrderStatus::Pending),
        team_id: opt_id("team_id")?.map(TeamId),
        imported: r.try_get::<i64, _>("imported")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

const SELECT: &str = "SELECT o.*, c.name AS customer_name, c.code AS customer_code \
                      FROM orders o JOIN customers c ON c.id = o.customer_id WHERE 1 = 1";

/// One order inside a transaction, if `vis` lets the caller see it.
pub async fn get_in(tx: &mut Tx, vis: &Visibility, id: OrderId) -> Result<Order> {
    fetch_visible(&mut ***tx, vis, id).await
}

/// One order, if `vis` lets the caller see it (otherwise `NotFound`).
pub async fn get(store: &Store, vis: &Visibility, id: OrderId) -> Result<Order> {
    fetch_visible(store.pool(), vis, id).await
}

async fn fetch_visible<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    vis: &Visibility,
    id: OrderId,
) -> Result<Order> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND o.id = ").bind(id.0);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let row = sql.query().fetch_optional(ex).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// One order by its number within `vis`.
pub async fn by_no(tx: &mut Tx, vis: &Visibility, order_no: &str) -> Result<Order> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND o.order_no = ").bind(order_no.trim());
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Order number or customer name/code fragment.
    pub q: Option<String>,
    /// Status.
    pub status: Option<OrderStatus>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Orders dated in this month (`YYYY-MM`).
    pub month: Option<String>,
    /// Product type.
    pub product_type: Option<ProductType>,
    /// Customer.
    pub customer_id: Option<CustomerId>,
    /// Departure.
    pub departure_id: Option<DepartureId>,
    /// Ids below this (paging).
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Orders visible to the caller, newest first.
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<Page<Order>> {
    let mut sql = Sql::new(SELECT);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let like = format!("%{}%", q.replace(['%', '_'], ""));
        sql.push(" AND (o.order_no LIKE ").bind(like.clone());
        sql.push(" OR c.name LIKE ").bind(like.clone());
        sql.push(" OR c.code = ").bind(q.to_uppercase()).push(")");
    }
    if let Some(s) = f.status {
        sql.push(" AND o.status = ").bind(s.code());
    }
    if let Some(o) = f.owner_id {
        sql.push(" AND o.owner_id = ").bind(o.0);
    }
    if let Some(m) = f.month.as_deref() {
        sql.push(" AND o.order_date LIKE ").bind(format!("{m}-%"));
    }
    if let Some(t) = f.product_type {
        sql.push(" AND o.product_type = ").bind(t.code());
    }
    if let Some(c) = f.customer_id {
        sql.push(" AND o.customer_id = ").bind(c.0);
    }
    if let Some(d) = f.departure_id {
        sql.push(" AND o.departure_id = ").bind(d.0);
    }
    if let Some(b) = f.before {
        sql.push(" AND o.id < ").bind(b);
    }
    sql.push(" ORDER BY o.id DESC LIMIT ").bind(f.limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, f.limit, |o| o.id.0))
}

async fn owner_team(tx: &mut Tx, owner: UserId) -> Result<Option<TeamId>> {
    let row: Option<(Option<i64>, i64)> = sqlx::query_as("SELECT team_id, active FROM users WHERE id = $1")
        .bind(owner.0)
        .fetch_optional(&mut ***tx)
        .await?;
    match row {
        None => Err(StoreError::invalid(FieldError::new("owner_id", "not_found", "the owner does not exist"))),
        Some((_, 0)) => Err(StoreError::invalid(FieldError::new(
            "owner_id",
            "inactive",
            "the owner's account is deactivated; choose an active colleague",
        ))),
        Some((team, _)) => Ok(team.map(TeamId)),
    }
}

fn d(v: Option<NaiveDate>) -> Option<String> {
    v.map(|d| d.to_string())
}

/// The audited text of each stored field.
fn texts(d: &Draft, due: NaiveDate) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("customer_id", Some(d.customer_id.0.to_string())),
        ("product_type", Some(d.product_type.code().to_string())),
        ("destination", d.destination.clone()),
        ("order_date", Some(d.order_date.to_string())),
        ("travel_date", self::d(d.travel_date)),
        ("return_date", self::d(d.return_date)),
        ("adults", Some(d.adults.to_string())),
        ("children", Some(d.children.to_string())),
        ("amount", Some(d.amount.to_string())),
        ("cost", Some(d.cost.to_string())),
        ("due_date", Some(due.to_string())),
        ("source", d.source.map(|s| s.code().to_string())),
        ("campaign", d.campaign.clone()),
        ("owner_id", Some(d.owner_id.to_string())),
        ("notes", d.notes.clone()),
        ("room_type", d.room_type.clone()),
        ("room_number", d.room_number.clone()),
        ("nightly_rate", d.nightly_rate.map(|m| m.to_string())),
    ]
}

fn bind_opt(sql: &mut Sql, v: Option<String>) {
    match v {
        Some(s) => {
            sql.bind(s);
        }
        None => {
            sql.push("NULL");
        }
    }
}

fn bind_opt_i64(sql: &mut Sql, v: Option<i64>) {
    match v {
        Some(n) => {
            sql.bind(n);
        }
        None => {
            sql.push("NULL");
        }
    }
}

/// What a new order records beyond its draft.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// Keep this number (imports); `None` takes the next `D{year}-…`.
    pub order_no: Option<String>,
    /// Status; `None`: pending.
    pub status: Option<OrderStatus>,
    /// From a history import.
    pub imported: bool,
}

/// Creates an order. On a departure its seats (adults + children) are booked
/// in this transaction and a shortage is a field error on `travellers`; from
/// a quote the quote is marked accepted and its opportunity won; from an
/// opportunity the opportunity is marked won. All audited, all or nothing.
pub async fn create(tx: &mut Tx, actor: &Actor, d: &Draft, links: &Links, origin: &Origin) -> Result<Order> {
    d.validate().map_err(StoreError::Invalid)?;
    let team = owner_team(tx, d.owner_id).await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
        .bind(d.customer_id.0)
        .fetch_optional(&mut ***tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::invalid(FieldError::new("customer_id", "not_found", "no such customer")));
    }
    let mut links = *links;
    let mut quote_version = None;
    if let Some(dep) = links.departure_id {
        let product: Option<i64> = sqlx::query_scalar("SELECT product_id FROM departures WHERE id = $1")
            .bind(dep.0)
            .fetch_optional(&mut ***tx)
            .await?;
        let Some(product) = product else {
            return Err(StoreError::invalid(FieldError::new("departure_id", "not_found", "no such departure")));
        };
        links.product_id = links.product_id.or(Some(ProductId(product)));
        departures::book_seats(tx, dep, d.seats()).await?;
    }
    if let Some(q) = links.quote_id {
        let row: Option<(i64, String, i64, Option<i64>)> =
            sqlx::query_as("SELECT customer_id, status, current_version, opportunity_id FROM quotes WHERE id = $1")
                .bind(q.0)
                .fetch_optional(&mut ***tx)
                .await?;
        let Some((customer, status, version, opp)) = row else {
            return Err(StoreError::invalid(FieldError::new("quote_id", "not_found", "no such quote")));
        };
        if customer != d.customer_id.0 {
            return Err(StoreError::invalid(FieldError::new(
                "quote_id",
                "other_customer",
                "the quote is for another customer",
            )));
        }
        if status != "sent" && status != "accepted" {
            return Err(StoreError::invalid(FieldError::new(
                "quote_id",
                "not_sent",
                format!("only a sent or accepted quote becomes an order; this one is {status}"),
            )));
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE quote_id = $1")
            .bind(q.0)
            .fetch_optional(&mut ***tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::invalid(FieldError::new(
                "quote_id",
                "already_ordered",
                "an order was already made from this quote",
            )));
        }
        quote_version = Some(version);
        links.opportunity_id = links.opportunity_id.or(opp.map(OpportunityId));
        if status == "sent" {
            let now = now_ms();
            sqlx::query(
                "UPDATE quotes SET status = 'accepted', decided_at = $1, updated_at = $1, version = version + 1 \
                 WHERE id = $2",
            )
            .bind(now)
            .bind(q.0)
            .execute(&mut ***tx)
            .await?;
            let mut changes = ChangeSet::new();
            changes.diff("status", Some("sent"), Some("accepted"), Sensitivity::Plain);
            audit::record(tx, actor, Action::Update, "quote", &q.0.to_string(), "quote accepted by an order", &changes)
                .await?;
        }
    }
    let year = d.order_date.year();
    let order_no = match origin.order_no.as_deref() {
        Some(n) => n.to_string(),
        None => numbers::next(tx, "D", year, "orders", "order_no").await?,
    };
    let due = d.due();
    let status = origin.status.unwrap_or(OrderStatus::Pending);
    let now = now_ms();
    let mut sql = Sql::new(
        "INSERT INTO orders (order_no, customer_id, opportunity_id, quote_id, quote_version, departure_id, product_id, \
         product_type, destination, order_date, travel_date, return_date, adults, children, amount, cost, due_date, \
         source, campaign, owner_id, team_id, room_type, room_number, check_in, check_out, nightly_rate, notes, \
         status, imported, created_by, created_at, updated_at, version) VALUES (",
    );
    sql.bind(order_no.as_str()).push(", ").bind(d.customer_id.0).push(", ");
    bind_opt_i64(&mut sql, links.opportunity_id.map(|x| x.0));
    sql.push(", ");
    bind_opt_i64(&mut sql, links.quote_id.map(|x| x.0));
    sql.push(", ");
    bind_opt_i64(&mut sql, quote_version);
    sql.push(", ");
    bind_opt_i64(&mut sql, links.departure_id.map(|x| x.0));
    sql.push(", ");
    bind_opt_i64(&mut sql, links.product_id.map(|x| x.0));
    push_fields(&mut sql, d, due, team, false);
    sql.push(", ").bind(status.code());
    sql.push(", ").bind(i64::from(origin.imported));
    sql.push(", ");
    bind_opt_i64(&mut sql, actor.user_id.map(|u| u.0));
    sql.push(", ").bind(now).push(", ").bind(now).push(", 1) RETURNING id");
    let id: i64 = sql.query().fetch_one(&mut ***tx).await.map_err(unique_as("order_no"))?.try_get(0)?;
    if let Some(opp) = links.opportunity_id {
        let done = sqlx::query(
            "UPDATE opportunities SET stage = 'won', order_id = $1, closed_at = $2, updated_at = $2, \
             version = version + 1 WHERE id = $3 AND customer_id = $4",
        )
        .bind(id)
        .bind(now)
        .bind(opp.0)
        .bind(d.customer_id.0)
        .execute(&mut ***tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::invalid(FieldError::new(
                "opportunity_id",
                "not_found",
                "no such opportunity for this customer",
            )));
        }
        let mut changes = ChangeSet::new();
        changes.created("stage", Some("won"), Sensitivity::Plain);
        changes.created("order_id", Some(&id.to_string()), Sensitivity::Plain);
        audit::record(tx, actor, Action::Update, "opportunity", &opp.0.to_string(), "opportunity won", &changes)
            .await?;
    }
    let mut changes = ChangeSet::new();
    for (col, v) in texts(d, due) {
        changes.created(col, v.as_deref(), Sensitivity::Plain);
    }
    changes.created("status", Some(status.code()), Sensitivity::Plain);
    if let Some(dep) = links.departure_id {
        changes.created("departure_id", Some(&dep.0.to_string()), Sensitivity::Plain);
    }
    if let Some(q) = links.quote_id {
        changes.created("quote_id", Some(&q.0.to_string()), Sensitivity::Plain);
    }
    audit::record(tx, actor, Action::Create, "order", &id.to_string(), &format!("order {order_no}"), &changes).await?;
    let row = sqlx::query(&format!("{SELECT} AND o.id = $1")).bind(id).fetch_one(&mut ***tx).await?;
    Ok(from_row(&row)?)
}

/// Appends the draft's columns (after a column list or as `col = value`).
fn push_fields(sql: &mut Sql, d: &Draft, due: NaiveDate, team: Option<TeamId>, update: bool) {
    let hotel = d.product_type == ProductType::HotelStay;
    let values: Vec<(&str, Field)> = vec![
        ("product_type", Field::T(Some(d.product_type.code().to_string()))),
        ("destination", Field::T(d.destination.clone())),
        ("order_date", Field::T(Some(d.order_date.to_string()))),
        ("travel_date", Field::T(self::d(d.travel_date))),
        ("return_date", Field::T(self::d(d.return_date))),
        ("adults", Field::I(Some(d.adults))),
        ("children", Field::I(Some(d.children))),
        ("amount", Field::I(Some(d.amount.0))),
        ("cost", Field::I(Some(d.cost.0))),
        ("due_date", Field::T(Some(due.to_string()))),
        ("source", Field::T(d.source.map(|s| s.code().to_string()))),
        ("campaign", Field::T(d.campaign.clone())),
        ("owner_id", Field::I(Some(d.owner_id.0))),
        ("team_id", Field::I(team.map(|t| t.0))),
        ("room_type", Field::T(d.room_type.clone())),
        ("room_number", Field::T(d.room_number.clone())),
        ("check_in", Field::T(if hotel { self::d(d.travel_date) } else { None })),
        ("check_out", Field::T(if hotel { self::d(d.return_date) } else { None })),
        ("nightly_rate", Field::I(d.nightly_rate.map(|m| m.0))),
        ("notes", Field::T(d.notes.clone())),
    ];
    for (i, (col, v)) in values.into_iter().enumerate() {
        if update {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{col} = "));
        } else {
            sql.push(", ");
        }
        match v {
            Field::T(t) => bind_opt(sql, t),
            Field::I(n) => bind_opt_i64(sql, n),
        }
    }
}

enum Field {
    T(Option<String>),
    I(Option<i64>),
}

/// Changes an order if `version` is current and `vis` lets the caller see it.
/// On a departure, a larger party books the extra seats and a smaller one
/// gives seats back; the customer of an order does not change.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: OrderId,
    version: i64,
    d: &Draft,
) -> Result<Order> {
    let before = get_in(tx, vis, id).await?;
    d.validate().map_err(StoreError::Invalid)?;
    if d.customer_id != before.data.customer_id {
        return Err(StoreError::invalid(FieldError::new(
            "customer_id",
            "fixed",
            "the customer of an order cannot change; cancel it and make a new one",
        )));
    }
    if before.status.is_final() || matches!(before.status, OrderStatus::Cancelled) {
        return Err(StoreError::invalid(FieldError::new(
            "status",
            "closed",
            format!("a {} order can no longer be edited", before.status.code()),
        )));
    }
    let team = owner_team(tx, d.owner_id).await?;
    let due = d.due();
    let mut sql = Sql::new("UPDATE orders SET ");
    push_fields(&mut sql, d, due, team, true);
    sql.push(", updated_at = ").bind(now_ms());
    sql.push(", version = version + 1 WHERE id = ").bind(id.0);
    sql.push(" AND version = ").bind(version);
    if sql.query().execute(&mut ***tx).await?.rows_affected() != 1 {
        return Err(stale(tx, "orders", id.0).await);
    }
    if let Some(dep) = before.links.departure_id {
        let delta = d.seats() - before.data.seats();
        if delta > 0 {
            departures::book_seats(tx, dep, delta).await?;
        } else if delta < 0 {
            departures::release_seats(tx, dep, -delta).await?;
        }
    }
    let mut changes = ChangeSet::new();
    let old_due = before.due_date.unwrap_or(before.data.order_date);
    for ((col, new), (_, old)) in texts(d, due).into_iter().zip(texts(&before.data, old_due)) {
        changes.diff(col, old.as_deref(), new.as_deref(), Sensitivity::Plain);
    }
    audit::record(tx, actor, Action::Update, "order", &id.to_string(), &format!("order {}", before.order_no), &changes)
        .await?;
    get_in(tx, vis, id).await
}

/// Moves an order to `to` if the domain's transitions allow it; cancelling
/// an order on a departure gives its seats back.
pub async fn set_status(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: OrderId,
    version: i64,
    to: OrderStatus,
) -> Result<Order> {
    let before = get_in(tx, vis, id).await?;
    before.status.transition(to).map_err(StoreError::invalid)?;
    let done = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
    )
    .bind(to.code())
    .bind(now_ms())
    .bind(id.0)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, "orders", id.0).await);
    }
    if let (OrderStatus::Cancelled, Some(dep)) = (to, before.links.departure_id) {
        departures::release_seats(tx, dep, before.data.seats()).await?;
    }
    let mut changes = ChangeSet::new();
    changes.diff("status", Some(before.status.code()), Some(to.code()), Sensitivity::Plain);
    audit::record(tx, actor, Action::Update, "order", &id.to_string(), &format!("order {}", before.order_no), &changes)
        .await?;
    get_in(tx, vis, id).await
}

/// What a quote proposes for an order: customer, party and amount of its
/// current version.
#[derive(Debug, Clone)]
pub struct QuoteTerms {
    /// The customer.
    pub customer_id: CustomerId,
    /// Title.
    pub title: String,
    /// The opportunity it belongs to.
    pub opportunity_id: Option<OpportunityId>,
    /// The largest party among the lines.
    pub adults: i64,
    /// Children.
    pub children: i64,
    /// The current version's total.
    pub amount: Money,
    /// Status code.
    pub status: String,
}

/// Reads the current version of a quote (no visibility: the caller checks
/// the quote's customer).
pub async fn quote_terms(store: &Store, id: QuoteId) -> Result<QuoteTerms> {
    let row: Option<(i64, String, Option<i64>, String, String, i64)> = sqlx::query_as(
        "SELECT q.customer_id, q.title, q.opportunity_id, q.status, v.lines, v.total FROM quotes q \
         JOIN quote_versions v ON v.quote_id = q.id AND v.version_no = q.current_version WHERE q.id = $1",
    )
    .bind(id.0)
    .fetch_optional(store.pool())
    .await?;
    let (customer, title, opp, status, lines, total) = row.ok_or(StoreError::NotFound)?;
    let lines: Vec<QuoteLine> = serde_json::from_str(&lines).unwrap_or_default();
    let adults = lines.iter().map(|l| i64::from(l.party.adults())).max().unwrap_or(1);
    let children = lines.iter().map(|l| i64::from(l.party.children())).max().unwrap_or(0);
    Ok(QuoteTerms {
        customer_id: CustomerId(customer),
        title,
        opportunity_id: opp.map(OpportunityId),
        adults,
        children,
        amount: Money(total),
        status,
    })
}

/// What an opportunity proposes for an order.
#[derive(Debug, Clone)]
pub struct OpportunityTerms {
    /// The customer.
    pub customer_id: CustomerId,
    /// Product type code, if known.
    pub product_type: Option<String>,
    /// Destination.
    pub destination: Option<String>,
    /// Adults.
    pub adults: i64,
    /// Children.
    pub children: i64,
    /// Expected value.
    pub expected_value: Money,
    /// The product.
    pub product_id: Option<ProductId>,
}

/// Reads an opportunity's prefill for a new order.
pub async fn opportunity_terms(store: &Store, id: OpportunityId) -> Result<OpportunityTerms> {
    type Row = (i64, Option<String>, Option<String>, i64, i64, i64, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT customer_id, product_type, destination, adults, children, expected_value, product_id \
         FROM opportunities WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(store.pool())
    .await?;
    let (customer, product_type, destination, adults, children, value, product) = row.ok_or(StoreError::NotFound)?;
    Ok(OpportunityTerms {
        customer_id: CustomerId(customer),
        product_type,
        destination,
        adults,
        children,
        expected_value: Money(value),
        product_id: product.map(ProductId),
    })
}

/// A departure's prefill for a new order.
#[derive(Debug, Clone)]
pub struct DepartureTerms {
    /// Product.
    pub product_id: ProductId,
    /// Product type code.
    pub product_type: String,
    /// Destination.
    pub destination: Option<String>,
    /// Out.
    pub departure_date: NaiveDate,
    /// Back.
    pub return_date: NaiveDate,
    /// Price per adult.
    pub adult_price: Money,
    /// Price per child.
    pub child_price: Money,
}

/// Reads a departure with its product.
pub async fn departure_terms(store: &Store, id: DepartureId) -> Result<DepartureTerms> {
    type Row = (i64, String, Option<String>, String, String, i64, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT p.id, p.product_type, p.destination, d.departure_date, d.return_date, d.adult_price, d.child_price \
         FROM departures d JOIN products p ON p.id = d.product_id WHERE d.id = $1",
    )
    .bind(id.0)
    .fetch_optional(store.pool())
    .await?;
    let (product, product_type, destination, out, back, adult, child) = row.ok_or(StoreError::NotFound)?;
    Ok(DepartureTerms {
        product_id: ProductId(product),
        product_type,
        destination,
        departure_date: out.parse().unwrap_or_default(),
        return_date: back.parse().unwrap_or_default(),
        adult_price: Money(adult),
        child_price: Money(child),
    })
}

/// One traveller of an order.
#[derive(Debug, Clone)]
pub struct Traveller {
    /// Row id.
    pub id: i64,
    /// The customer record.
    pub customer_id: CustomerId,
    /// Name.
    pub name: String,
    /// Code.
    pub code: String,
    /// Mobile.
    pub mobile: Option<String>,
    /// Masked ID card.
    pub id_card_masked: Option<String>,
    /// A child.
    pub is_child: bool,
    /// Room (rooming list).
    pub room: Option<String>,
}

/// The travellers of an order.
pub async fn travellers(store: &Store, id: OrderId) -> Result<Vec<Traveller>> {
    let rows = sqlx::query(
        "SELECT t.id, t.customer_id, c.name, c.code, c.mobile, c.id_card_masked, t.is_child, t.room \
         FROM order_travellers t JOIN customers c ON c.id = t.customer_id WHERE t.order_id = $1 ORDER BY t.id",
    )
    .bind(id.0)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Traveller {
                id: r.try_get("id")?,
                customer_id: CustomerId(r.try_get("customer_id")?),
                name: r.try_get("name")?,
                code: r.try_get("code")?,
                mobile: r.try_get("mobile")?,
                id_card_masked: r.try_get("id_card_masked")?,
                is_child: r.try_get::<i64, _>("is_child")? != 0,
                room: r.try_get("room")?,
            })
        })
        .collect()
}

/// Adds a customer as a traveller of an order; no more travellers than the
/// party (adults + children), and each customer once.
pub async fn add_traveller(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: OrderId,
    customer: CustomerId,
    is_child: bool,
    room: Option<&str>,
) -> Result<i64> {
    let order = get_in(tx, vis, id).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_travellers WHERE order_id = $1")
        .bind(id.0)
        .fetch_one(&mut ***tx)
        .await?;
    if count >= order.data.seats() {
        return Err(StoreError::invalid(FieldError::new(
            "travellers",
            "party_full",
            format!("the order is for {} people and already lists them all", order.data.seats()),
        )));
    }
    let dup: Option<i64> =
        sqlx::query_scalar("SELECT id FROM order_travellers WHERE order_id = $1 AND customer_id = $2")
            .bind(id.0)
            .bind(customer.0)
            .fetch_optional(&mut ***tx)
            .await?;
    if dup.is_some() {
        return Err(StoreError::invalid(FieldError::new(
            "customer_id",
            "duplicate",
            "this customer already travels on the order",
        )));
    }
    let now = now_ms();
    let tid: i64 = sqlx::query_scalar(
        "INSERT INTO order_travellers (order_id, departure_id, customer_id, is_child, room, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING id",
    )
    .bind(id.0)
    .bind(order.links.departure_id.map(|d| d.0))
    .bind(customer.0)
    .bind(i64::from(is_child))
    .bind(room)
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let mut changes = ChangeSet::new();
    changes.created("traveller", Some(&customer.0.to_string()), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "order",
        &id.to_string(),
        &format!("order {} traveller added", order.order_no),
        &changes,
    )
    .await?;
    Ok(tid)
}

/// One charge on a hotel stay.
#[derive(Debug, Clone)]
pub struct ChargeRow {
    /// Id.
    pub id: ChargeId,
    /// Outlet.
    pub outlet: Outlet,
    /// What.
    pub description: String,
    /// How much.
    pub amount: Money,
    /// When.
    pub charged_on: String,
}

/// The charges of an order, oldest first.
pub async fn charges(store: &Store, id: OrderId) -> Result<Vec<ChargeRow>> {
    let rows: Vec<(i64, String, Option<String>, i64, String)> = sqlx::query_as(
        "SELECT id, outlet, description, amount, charged_on FROM order_charges WHERE order_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, outlet, description, amount, charged_on)| ChargeRow {
            id: ChargeId(id),
            outlet: Outlet::from_code(&outlet).unwrap_or(Outlet::Other),
            description: description.unwrap_or_default(),
            amount: Money(amount),
            charged_on,
        })
        .collect())
}

/// A new charge on a hotel stay.
#[derive(Debug, Clone)]
pub struct ChargeDraft {
    /// Where.
    pub outlet: Outlet,
    /// What.
    pub description: String,
    /// How much.
    pub amount: Money,
    /// When.
    pub charged_on: NaiveDate,
}

/// Posts a charge to a hotel-stay order.
pub async fn add_charge(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: OrderId,
    c: &ChargeDraft,
) -> Result<ChargeId> {
    let (outlet, description, amount, charged_on) = (c.outlet, c.description.as_str(), c.amount, c.charged_on);
    let order = get_in(tx, vis, id).await?;
    let mut errs = FieldErrors::new();
    if order.data.product_type != ProductType::HotelStay {
        errs.push(FieldError::new("outlet", "not_a_stay", "charges are posted to hotel-stay orders only"));
    }
    if description.trim().is_empty() {
        errs.push(FieldError::required("description"));
    } else if description.chars().count() > 100 {
        errs.push(FieldError::new("description", "too_long", "description must have at most 100 characters"));
    }
    if amount.is_negative() {
        errs.push(FieldError::new("amount", "negative", "amount must not be negative"));
    }
    errs.into_result().map_err(StoreError::Invalid)?;
    let now = now_ms();
    let cid: i64 = sqlx::query_scalar(
        "INSERT INTO order_charges (order_id, outlet, description, amount, charged_on, created_by, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1) RETURNING id",
    )
    .bind(id.0)
    .bind(outlet.code())
    .bind(description.trim())
    .bind(amount.0)
    .bind(charged_on.to_string())
    .bind(actor.user_id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let mut changes = ChangeSet::new();
    changes.created("outlet", Some(outlet.code()), Sensitivity::Plain);
    changes.created("description", Some(description.trim()), Sensitivity::Plain);
    changes.created("amount", Some(&amount.to_string()), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "order_charge",
        &cid.to_string(),
        &format!("order {} charge", order.order_no),
        &changes,
    )
    .await?;
    Ok(ChargeId(cid))
}

/// A hotel stay's spend by outlet (nights at the rate plus the charges);
/// `None` for orders that are no stay.
pub fn stay_spend(order: &Order, charges: &[ChargeRow]) -> Option<StaySpend> {
    let d = &order.data;
    if d.product_type != ProductType::HotelStay {
        return None;
    }
    let dates = StayDates::new(d.travel_date?, d.return_date?).ok()?;
    let stay = HotelStay {
        room_type: d.room_type.clone().unwrap_or_default(),
        room_number: d.room_number.clone(),
        dates,
        nightly_rate: d.nightly_rate.unwrap_or(Money::ZERO),
        charges: charges
            .iter()
            .map(|c| StayCharge { outlet: c.outlet, description: c.description.clone(), amount: c.amount })
            .collect(),
    };
    stay.spend().ok()
}
