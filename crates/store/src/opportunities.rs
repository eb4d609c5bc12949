//! Sales opportunities (商机) and their stages.
//!
//! An opportunity belongs to a customer the writer may see and to an owner
//! (its team follows the owner). Stages move only along the domain's
//! pipeline ([`OpportunityStage::transition`]); losing needs a reason and
//! reopening a closed opportunity needs a manager. Reads and writes are
//! restricted by the caller's `sales.*` [`Visibility`] inside the queries.

use crate::audit;
use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{now_ms, stale, Actor, Page, Result, Store, StoreError, Tx};
use chrono::NaiveDate;
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::customer::SourceChannel;
use domain::ids::{CustomerId, OpportunityId, OrderId, ProductId, TeamId, UserId};
use domain::money::Money;
use domain::travel::opportunity::{Opportunity as Rules, OpportunityStage};
use domain::travel::product::ProductType;
use domain::{FieldError, FieldErrors};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The fields a person enters for an opportunity (the stage moves apart).
#[derive(Debug, Clone)]
pub struct Draft {
    pub customer_id: CustomerId,
    pub title: String,
    pub product_id: Option<ProductId>,
    pub product_type: Option<ProductType>,
    pub destination: Option<String>,
    pub adults: u32,
    pub children: u32,
    pub budget: Option<Money>,
    pub expected_value: Money,
    pub close_date: NaiveDate,
    pub source: Option<SourceChannel>,
    pub owner_id: UserId,
    pub notes: Option<String>,
}

/// A stored opportunity with its customer's name for display.
#[derive(Debug, Clone)]
pub struct Opportunity {
    pub id: OpportunityId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub title: String,
    pub product_id: Option<ProductId>,
    pub product_type: Option<ProductType>,
    pub destination: Option<String>,
    pub adults: u32,
    pub children: u32,
    pub budget: Option<Money>,
    pub expected_value: Money,
    pub close_date: Option<NaiveDate>,
    pub stage: OpportunityStage,
    pub lost_reason: Option<String>,
    pub source: Option<String>,
    pub owner_id: UserId,
    pub team_id: Option<TeamId>,
    pub order_id: Option<OrderId>,
    pub notes: Option<String>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl Opportunity {
    /// The domain's view, for its rules (stage moves, weighted value).
    pub fn rules(&self) -> Rules {
        Rules {
            title: self.title.clone(),
            stage: self.stage,
            expected_value: self.expected_value,
            close_date: self.close_date.unwrap_or(NaiveDate::MIN),
            product_type: self.product_type,
            lost_reason: self.lost_reason.clone(),
        }
    }
}

const SELECT: &str =
    "SELECT o.*, c.name AS customer_name FROM opportunities o JOIN customers c ON c.id = o.customer_id";

fn from_row(r: &AnyRow) -> Result<Opportunity, sqlx::Error> {
    let opt = |c: &str| r.try_get::<Option<String>, _>(c);
    let count = |c: &str| -> Result<u32, sqlx::Error> { Ok(u32::try_from(r.try_get::<i64, _>(c)?).unwrap_or(0)) };
    let stage: String = r.try_get("stage")?;
    Ok(Opportunity {
        id: OpportunityId(r.try_get("id")?),
        customer_id: CustomerId(r.try_get("customer_id")?),
        customer_name: r.try_get("customer_name")?,
        title: r.try_get("title")?,
        product_id: r.try_get::<Option<i64>, _>("product_id")?.map(ProductId),
        product_type: opt("product_type")?.as_deref().and_then(ProductType::from_code),
        destination: opt("destination")?,
        adults: count("adults")?,
        children: count("children")?,
        budget: r.try_get::<Option<i64>, _>("budget")?.map(Money),
        expected_value: Money(r.try_get("expected_value")?),
        close_date: opt("close_date")?.and_then(|d| d.parse().ok()),
        stage: OpportunityStage::from_code(&stage).unwrap_or(OpportunityStage::New),
        lost_reason: opt("lost_reason")?,
        source: opt("source")?,
        owner_id: UserId(r.try_get("owner_id")?),
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        order_id: r.try_get::<Option<i64>, _>("order_id")?.map(OrderId),
        notes: opt("notes")?,
        closed_at: r.try_get("closed_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

pub(crate) fn bind_opt(sql: &mut Sql, v: Option<&str>) {
    match v {
        Some(s) => {
            sql.bind(s);
        }
        None => {
            sql.push("NULL");
        }
    }
}

pub(crate) fn bind_opt_i64(sql: &mut Sql, v: Option<i64>) {
    match v {
        Some(i) => {
            sql.bind(i);
        }
        None => {
            sql.push("NULL");
        }
    }
}

/// The team of an active owner (the record's team follows its owner).
pub(crate) async fn owner_team(tx: &mut Tx, owner: UserId) -> Result<Option<TeamId>> {
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

/// Whether `customers` (the caller's `customers.read` visibility) lets the
/// caller see the customer; a customer they may not see is "not found" here
/// too, named as the field.
pub(crate) async fn check_customer(tx: &mut Tx, customers: &Visibility, id: CustomerId) -> Result<()> {
    let mut sql = Sql::new("SELECT id FROM customers WHERE id = ");
    sql.bind(id.0);
    sql.push(" AND merged_into_id IS NULL");
    customers.restrict(&mut sql, "owner_id", "team_id");
    if sql.query().fetch_optional(&mut ***tx).await?.is_none() {
        return Err(StoreError::invalid(FieldError::new("customer_id", "not_found", "no such customer")));
    }
    Ok(())
}

fn check(d: &Draft, stage: OpportunityStage, lost_reason: Option<&str>) -> Result<(), FieldErrors> {
    let rules = Rules {
        title: d.title.clone(),
        stage,
        expected_value: d.expected_value,
        close_date: d.close_date,
        product_type: d.product_type,
        lost_reason: lost_reason.map(str::to_string),
    };
    let mut errors = match rules.validate() {
        Ok(()) => FieldErrors::new(),
        Err(e) => e,
    };
    if d.adults == 0 && d.children == 0 {
        errors.push(FieldError::new("adults", "no_travellers", "at least one adult or child is expected"));
    }
    if let Some(b) = d.budget {
        errors.check(b.non_negative("budget"));
    }
    for (field, v, max) in [("destination", &d.destination, 100), ("notes", &d.notes, 2000)] {
        if v.as_ref().is_some_and(|s| s.chars().count() > max) {
            errors.push(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
        }
    }
    errors.into_result()
}

async fn check_product(tx: &mut Tx, id: Option<ProductId>) -> Result<()> {
    let Some(id) = id else { return Ok(()) };
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM products WHERE id = $1").bind(id.0).fetch_optional(&mut ***tx).await?;
    if found.is_none() {
        return Err(StoreError::invalid(FieldError::new("product_id", "not_found", "no such product")));
    }
    Ok(())
}

fn texts(d: &Draft) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("customer_id", Some(d.customer_id.to_string())),
        ("title", Some(d.title.clone())),
        ("product_id", d.product_id.map(|p| p.to_string())),
        ("product_type", d.product_type.map(|p| p.code().to_string())),
        ("destination", d.destination.clone()),
        ("adults", Some(d.adults.to_string())),
        ("children", Some(d.children.to_string())),
        ("budget", d.budget.map(|b| b.to_string())),
        ("expected_value", Some(d.expected_value.to_string())),
        ("close_date", Some(d.close_date.to_string())),
        ("source", d.source.map(|s| s.code().to_string())),
        ("owner_id", Some(d.owner_id.to_string())),
        ("notes", d.notes.clone()),
    ]
}

fn draft_of(o: &Opportunity) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("customer_id", Some(o.customer_id.to_string())),
        ("title", Some(o.title.clone())),
        ("product_id", o.product_id.map(|p| p.to_string())),
        ("product_type", o.product_type.map(|p| p.code().to_string())),
        ("destination", o.destination.clone()),
        ("adults", Some(o.adults.to_string())),
        ("children", Some(o.children.to_string())),
        ("budget", o.budget.map(|b| b.to_string())),
        ("expected_value", Some(o.expected_value.to_string())),
        ("close_date", o.close_date.map(|d| d.to_string())),
        ("source", o.source.clone()),
        ("owner_id", Some(o.owner_id.to_string())),
        ("notes", o.notes.clone()),
    ]
}

/// Creates an opportunity at stage `new` for a customer `customers` lets
/// the caller see.
pub async fn create(tx: &mut Tx, actor: &Actor, customers: &Visibility, d: &Draft) -> Result<Opportunity> {
    check(d, OpportunityStage::New, None).map_err(StoreError::Invalid)?;
    check_customer(tx, customers, d.customer_id).await?;
    check_product(tx, d.product_id).await?;
    let team = owner_team(tx, d.owner_id).await?;
    let now = now_ms();
    let mut sql = Sql::new(
        "INSERT INTO opportunities (customer_id, title, product_id, product_type, destination, adults, children, \
         budget, expected_value, close_date, stage, source, owner_id, team_id, notes, created_by, created_at, \
         updated_at, version) VALUES (",
    );
    sql.bind(d.customer_id.0).push(", ").bind(d.title.trim());
    sql.push(", ");
    bind_opt_i64(&mut sql, d.product_id.map(|p| p.0));
    sql.push(", ");
    bind_opt(&mut sql, d.product_type.map(|p| p.code()));
    sql.push(", ");
    bind_opt(&mut sql, d.destination.as_deref());
    sql.push(", ").bind(i64::from(d.adults)).push(", ").bind(i64::from(d.children)).push(", ");
    bind_opt_i64(&mut sql, d.budget.map(|b| b.0));
    sql.push(", ").bind(d.expected_value.0).push(", ").bind(d.close_date.to_string());
    sql.push(", 'new', ");
    bind_opt(&mut sql, d.source.map(|s| s.code()));
    sql.push(", ").bind(d.owner_id.0).push(", ");
    bind_opt_i64(&mut sql, team.map(|t| t.0));
    sql.push(", ");
    bind_opt(&mut sql, d.notes.as_deref());
    sql.push(", ");
    bind_opt_i64(&mut sql, actor.user_id.map(|u| u.0));
    sql.push(", ").bind(now).push(", ").bind(now).push(", 1) RETURNING id");
    let id: i64 = sql.query().fetch_one(&mut ***tx).await?.try_get(0)?;
    let mut changes = ChangeSet::new();
    for (field, v) in texts(d) {
        changes.created(field, v.as_deref(), Sensitivity::Plain);
    }
    changes.created("stage", Some("new"), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "opportunity",
        &id.to_string(),
        &format!("opportunity {}", d.title),
        &changes,
    )
    .await?;
    get_in(tx, OpportunityId(id)).await
}

/// One opportunity inside a transaction (no visibility check: the caller did it).
pub async fn get_in(tx: &mut Tx, id: OpportunityId) -> Result<Opportunity> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.id = ").bind(id.0);
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// One opportunity inside a transaction, if `vis` lets the caller see it.
pub async fn get_visible_in(tx: &mut Tx, vis: &Visibility, id: OpportunityId) -> Result<Opportunity> {
    fetch_visible(&mut ***tx, vis, id).await
}

/// One opportunity, if `vis` lets the caller see it (otherwise `NotFound`).
pub async fn get(store: &Store, vis: &Visibility, id: OpportunityId) -> Result<Opportunity> {
    fetch_visible(store.pool(), vis, id).await
}

async fn fetch_visible<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    vis: &Visibility,
    id: OpportunityId,
) -> Result<Opportunity> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.id = ").bind(id.0);
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    let row = sql.query().fetch_optional(ex).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Changes an opportunity's fields (not its stage) if `version` is current.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    customers: &Visibility,
    id: OpportunityId,
    version: i64,
    d: &Draft,
) -> Result<Opportunity> {
    let before = get_visible_in(tx, vis, id).await?;
    check(d, before.stage, before.lost_reason.as_deref()).map_err(StoreError::Invalid)?;
    if d.customer_id != before.customer_id {
        check_customer(tx, customers, d.customer_id).await?;
    }
    check_product(tx, d.product_id).await?;
    let team = owner_team(tx, d.owner_id).await?;
    let mut sql = Sql::new("UPDATE opportunities SET customer_id = ");
    sql.bind(d.customer_id.0).push(", title = ").bind(d.title.trim()).push(", product_id = ");
    bind_opt_i64(&mut sql, d.product_id.map(|p| p.0));
    sql.push(", product_type = ");
    bind_opt(&mut sql, d.product_type.map(|p| p.code()));
    sql.push(", destination = ");
    bind_opt(&mut sql, d.destination.as_deref());
    sql.push(", adults = ").bind(i64::from(d.adults)).push(", children = ").bind(i64::from(d.children));
    sql.push(", budget = ");
    bind_opt_i64(&mut sql, d.budget.map(|b| b.0));
    sql.push(", expected_value = ").bind(d.expected_value.0);
    sql.push(", close_date = ").bind(d.close_date.to_string()).push(", source = ");
    bind_opt(&mut sql, d.source.map(|s| s.code()));
    sql.push(", owner_id = ").bind(d.owner_id.0).push(", team_id = ");
    bind_opt_i64(&mut sql, team.map(|t| t.0));
    sql.push(", notes = ");
    bind_opt(&mut sql, d.notes.as_deref());
    sql.push(", updated_at = ").bind(now_ms());
    sql.push(", version = version + 1 WHERE id = ").bind(id.0).push(" AND version = ").bind(version);
    if sql.query().execute(&mut ***tx).await?.rows_affected() != 1 {
        return Err(stale(tx, "opportunities", id.0).await);
    }
    let mut changes = ChangeSet::new();
    for ((field, new), (_, old)) in texts(d).into_iter().zip(draft_of(&before)) {
        changes.diff(field, old.as_deref(), new.as_deref(), Sensitivity::Plain);
    }
    audit::record(
        tx,
        actor,
        Action::Update,
        "opportunity",
        &id.to_string(),
        &format!("opportunity {}", d.title),
        &changes,
    )
    .await?;
    get_in(tx, id).await
}

/// Moves an opportunity to another stage by the domain's rules: `lost`
/// needs `lost_reason`, reopening a won or lost one needs `by_manager`.
/// Closing dates it (`close_date` = `today`, `closed_at` = now).
#[allow(clippy::too_many_arguments)]
pub async fn change_stage(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: OpportunityId,
    version: i64,
    to: OpportunityStage,
    lost_reason: Option<&str>,
    by_manager: bool,
    today: NaiveDate,
) -> Result<Opportunity> {
    let before = get_visible_in(tx, vis, id).await?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    let mut rules = before.rules();
    rules.change_stage(to, lost_reason, by_manager, today).map_err(StoreError::invalid)?;
    write_stage(tx, actor, &before, &rules, Some(version)).await
}

async fn write_stage(
    tx: &mut Tx,
    actor: &Actor,
    before: &Opportunity,
    rules: &Rules,
    version: Option<i64>,
) -> Result<Opportunity> {
    let now = now_ms();
    let mut sql = Sql::new("UPDATE opportunities SET stage = ");
    sql.bind(rules.stage.code()).push(", lost_reason = ");
    bind_opt(&mut sql, rules.lost_reason.as_deref());
    if rules.stage.is_closed() {
        sql.push(", close_date = ").bind(rules.close_date.to_string());
        sql.push(", closed_at = ").bind(now);
    } else {
        sql.push(", closed_at = NULL");
    }
    sql.push(", updated_at = ").bind(now);
    sql.push(", version = version + 1 WHERE id = ").bind(before.id.0);
    if let Some(v) = version {
        sql.push(" AND version = ").bind(v);
    }
    if sql.query().execute(&mut ***tx).await?.rows_affected() != 1 {
        return Err(stale(tx, "opportunities", before.id.0).await);
    }
    let mut changes = ChangeSet::new();
    changes.diff("stage", Some(before.stage.code()), Some(rules.stage.code()), Sensitivity::Plain);
    changes.diff("lost_reason", before.lost_reason.as_deref(), rules.lost_reason.as_deref(), Sensitivity::Plain);
    if rules.stage.is_closed() {
        changes.diff(
            "close_date",
            before.close_date.map(|d| d.to_string()).as_deref(),
            Some(&rules.close_date.to_string()),
            Sensitivity::Plain,
        );
    }
    audit::record(
        tx,
        actor,
        Action::Update,
        "opportunity",
        &before.id.to_string(),
        &format!("opportunity {}: {} → {}", before.title, before.stage.code(), rules.stage.code()),
        &changes,
    )
    .await?;
    get_in(tx, before.id).await
}

/// A quote was sent: an opportunity still before `quoted` moves there (the
/// quote's writer already passed the visibility check).
pub(crate) async fn quote_sent(tx: &mut Tx, actor: &Actor, id: OpportunityId) -> Result<()> {
    let before = get_in(tx, id).await?;
    if !matches!(before.stage, OpportunityStage::New | OpportunityStage::Qualified) {
        return Ok(());
    }
    let mut rules = before.rules();
    rules.stage = OpportunityStage::Quoted;
    rules.lost_reason = None;
    write_stage(tx, actor, &before, &rules, None).await.map(|_| ())
}

/// What the list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Customer name or title contains this.
    pub q: Option<String>,
    pub stage: Option<OpportunityStage>,
    /// Only open stages (for the board's default).
    pub open_only: bool,
    pub owner_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    /// Expected close in this month (`YYYY-MM`).
    pub close_month: Option<String>,
    /// Only ids below this (the `next` of a previous page).
    pub before: Option<i64>,
    pub limit: i64,
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The opportunities `vis` lets the caller see, newest first.
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<Page<Opportunity>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    vis.restrict(&mut sql, "o.owner_id", "o.team_id");
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pat = like_escape(&q.to_lowercase());
        sql.push(" AND (LOWER(c.name) LIKE ").bind(pat.as_str()).push(" ESCAPE '\\' OR LOWER(o.title) LIKE ");
        sql.bind(pat.as_str()).push(" ESCAPE '\\')");
    }
    if let Some(s) = f.stage {
        sql.push(" AND o.stage = ").bind(s.code());
    }
    if f.open_only {
        sql.push(" AND o.stage NOT IN ('won', 'lost')");
    }
    if let Some(o) = f.owner_id {
        sql.push(" AND o.owner_id = ").bind(o.0);
    }
    if let Some(c) = f.customer_id {
        sql.push(" AND o.customer_id = ").bind(c.0);
    }
    if let Some(m) = &f.close_month {
        sql.push(" AND o.close_date LIKE ").bind(format!("{m}-%"));
    }
    if let Some(b) = f.before {
        sql.push(" AND o.id < ").bind(b);
    }
    let limit = f.limit.clamp(1, 1000);
    sql.push(" ORDER BY o.id DESC LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |o| o.id.0))
}

/// Moves a customer's open opportunities (neither won nor lost) to the
/// customer's new owner and team, each audited. Called by reassignment in the
/// same transaction as the customer, so a colleague who leaves takes no
/// pipeline along.
pub(crate) async fn follow_customer(
    tx: &mut Tx,
    actor: &Actor,
    customer: CustomerId,
    owner: UserId,
    team: Option<TeamId>,
) -> Result<u64> {
    let open: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, title, owner_id FROM opportunities WHERE customer_id = $1 AND stage NOT IN ('won', 'lost') \
         AND owner_id <> $2 ORDER BY id",
    )
    .bind(customer.0)
    .bind(owner.0)
    .fetch_all(&mut ***tx)
    .await?;
    let now = now_ms();
    for (id, title, before) in &open {
        sqlx::query(
            "UPDATE opportunities SET owner_id = $1, team_id = $2, updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .bind(owner.0)
        .bind(team.map(|t| t.0))
        .bind(now)
        .bind(*id)
        .execute(&mut ***tx)
        .await?;
        let mut c = ChangeSet::new();
        c.diff("owner_id", Some(&before.to_string()), Some(&owner.0.to_string()), Sensitivity::Plain);
        audit::record(
            tx,
            actor,
            Action::Update,
            "opportunity",
            &id.to_string(),
            &format!("opportunity {title} follows its customer to the new owner"),
            &c,
        )
        .await?;
    }
    Ok(open.len() as u64)
}
