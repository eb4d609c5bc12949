//! Quotes (报价单): every revision kept as a version.
//!
//! The header row in `quotes` carries the number, customer, opportunity,
//! status and the current version's title, validity and total; the content
//! of each revision is an immutable row of `quote_versions` (never updated).
//! Creating writes version 1; every edit writes the next version and moves
//! the header's `current_version` and `total` with it, guarded by the
//! header's `version` (stale → 409). Totals are the domain's
//! ([`domain::travel::quote::Quote::totals`]), exact in 分.

use crate::audit;
use crate::opportunities::{bind_opt, bind_opt_i64, check_customer};
use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{now_ms, numbers, stale, Actor, Page, Result, Store, StoreError, Tx};
use chrono::{Datelike, NaiveDate};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{CustomerId, OpportunityId, QuoteId, TeamId, UserId};
use domain::money::Money;
use domain::travel::quote::{Quote as Rules, QuoteLine, QuoteStatus};
use domain::FieldError;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A new quote's content.
#[derive(Debug, Clone)]
pub struct Draft {
    pub customer_id: CustomerId,
    pub opportunity_id: Option<OpportunityId>,
    pub content: Content,
}

/// What one version holds.
#[derive(Debug, Clone)]
pub struct Content {
    pub title: String,
    pub valid_until: NaiveDate,
    pub notes: Option<String>,
    pub lines: Vec<QuoteLine>,
}

/// A quote's header: its current version's title, validity and total.
#[derive(Debug, Clone)]
pub struct Quote {
    pub id: QuoteId,
    pub number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub opportunity_id: Option<OpportunityId>,
    pub title: String,
    /// As stored; see [`Quote::status_on`] for expiry by date.
    pub status: QuoteStatus,
    pub current_version: u32,
    pub valid_until: Option<NaiveDate>,
    pub total: Money,
    pub owner_id: UserId,
    pub team_id: Option<TeamId>,
    pub sent_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl Quote {
    /// The status on `today`: a sent quote past its validity is expired.
    pub fn status_on(&self, today: NaiveDate) -> QuoteStatus {
        match self.valid_until {
            Some(v) => self.status.as_of(v, today),
            None => self.status,
        }
    }
}

/// One immutable revision.
#[derive(Debug, Clone)]
pub struct Version {
    pub quote_id: QuoteId,
    pub version_no: u32,
    pub title: String,
    pub valid_until: Option<NaiveDate>,
    pub notes: Option<String>,
    pub lines: Vec<QuoteLine>,
    pub total: Money,
    pub created_by: Option<UserId>,
    /// The author's display name (empty for the system).
    pub created_by_name: String,
    pub created_at: i64,
}

impl Version {
    /// The domain's quote for this version, issued on `issued_on` with
    /// `status` (a version row keeps content, not status).
    pub fn rules(&self, issued_on: NaiveDate, status: QuoteStatus) -> Rules {
        Rules {
            version: self.version_no,
            title: self.title.clone(),
            issued_on,
            valid_until: self.valid_until.unwrap_or(issued_on),
            status,
            lines: self.lines.clone(),
            notes: self.notes.clone(),
        }
    }
}

const SELECT: &str = "SELECT q.*, c.name AS customer_name FROM quotes q JOIN customers c ON c.id = q.customer_id";

fn from_row(r: &AnyRow) -> Result<Quote, sqlx::Error> {
    let status: String = r.try_get("status")?;
    Ok(Quote {
        id: QuoteId(r.try_get("id")?),
        number: r.try_get("number")?,
        customer_id: CustomerId(r.try_get("customer_id")?),
        customer_name: r.try_get("customer_name")?,
        opportunity_id: r.try_get::<Option<i64>, _>("opportunity_id")?.map(OpportunityId),
        title: r.try_get("title")?,
        status: QuoteStatus::from_code(&status).unwrap_or(QuoteStatus::Draft),
        current_version: u32::try_from(r.try_get::<i64, _>("current_version")?).unwrap_or(1),
        valid_until: r.try_get::<Option<String>, _>("valid_until")?.and_then(|d| d.parse().ok()),
        total: Money(r.try_get("total")?),
        owner_id: UserId(r.try_get("owner_id")?),
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        sent_at: r.try_get("sent_at")?,
        decided_at: r.try_get("decided_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

fn version_from_row(r: &AnyRow) -> Result<Version> {
    let lines: String = r.try_get("lines")?;
    let lines: Vec<QuoteLine> = serde_json::from_str(&lines)
        .map_err(|e| StoreError::Db(sqlx::Error::Decode(format!("quote lines: {e}").into())))?;
    Ok(Version {
        quote_id: QuoteId(r.try_get("quote_id")?),
        version_no: u32::try_from(r.try_get::<i64, _>("version_no")?).unwrap_or(1),
        title: r.try_get("title")?,
        valid_until: r.try_get::<Option<String>, _>("valid_until")?.and_then(|d| d.parse().ok()),
        notes: r.try_get("notes")?,
        lines,
        total: Money(r.try_get("total")?),
        created_by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        created_by_name: r.try_get::<Option<String>, _>("created_by_name")?.unwrap_or_default(),
        created_at: r.try_get("created_at")?,
    })
}

/// Gives lines without a key (`0`, new lines) the next keys after
/// `used`, the largest key the quote ever had: a key names one line across
/// all versions, so a new line never takes the key of a removed one.
fn assign_keys(content: &Content, used: u32) -> Content {
    let mut c = content.clone();
    let mut next = c.lines.iter().map(|l| l.key).max().unwrap_or(0).max(used);
    for l in c.lines.iter_mut().filter(|l| l.key == 0) {
        next += 1;
        l.key = next;
    }
    c
}

/// Checks `content` as version `version_no` issued `today`; the total.
fn checked(content: &Content, version_no: u32, today: NaiveDate) -> Result<Money> {
    let rules = Rules {
        version: version_no,
        title: content.title.trim().to_string(),
        issued_on: today,
        valid_until: content.valid_until,
        status: QuoteStatus::Draft,
        lines: content.lines.clone(),
        notes: content.notes.clone(),
    };
    rules.validate().map_err(StoreError::Invalid)?;
    let totals = rules
        .totals()
        .map_err(|_| StoreError::invalid(FieldError::new("lines", "too_large", "the quote's total is too large")))?;
    Ok(totals.total)
}

async fn insert_version(
    tx: &mut Tx,
    actor: &Actor,
    id: QuoteId,
    version_no: u32,
    content: &Content,
    total: Money,
    now: i64,
) -> Result<()> {
    let lines = serde_json::to_string(&content.lines)
        .map_err(|e| StoreError::Db(sqlx::Error::Encode(format!("quote lines: {e}").into())))?;
    let mut sql = Sql::new(
        "INSERT INTO quote_versions (quote_id, version_no, title, valid_until, notes, lines, total, created_by, \
         created_at) VALUES (",
    );
    sql.bind(id.0).push(", ").bind(i64::from(version_no)).push(", ").bind(content.title.trim());
    sql.push(", ").bind(content.valid_until.to_string()).push(", ");
    bind_opt(&mut sql, content.notes.as_deref());
    sql.push(", ").bind(lines).push(", ").bind(total.0).push(", ");
    bind_opt_i64(&mut sql, actor.user_id.map(|u| u.0));
    sql.push(", ").bind(now).push(")");
    sql.query().execute(&mut ***tx).await?;
    Ok(())
}

fn summary_changes(content: &Content, total: Money) -> ChangeSet {
    let mut changes = ChangeSet::new();
    changes.created("title", Some(content.title.trim()), Sensitivity::Plain);
    changes.created("valid_until", Some(&content.valid_until.to_string()), Sensitivity::Plain);
    changes.created("notes", content.notes.as_deref(), Sensitivity::Plain);
    changes.created("lines", Some(&content.lines.len().to_string()), Sensitivity::Plain);
    changes.created("total", Some(&total.to_string()), Sensitivity::Plain);
    changes
}

/// Creates a quote (version 1, status draft) owned by the caller, or by the
/// opportunity's owner when it is for one (lines
/// with key `0` get the next free keys), for a
/// customer `customers` lets them see and optionally one of that customer's
/// opportunities that `sales` lets them see. Numbered `Q{year}-NNNNNN`.
pub async fn create(
    tx: &mut Tx,
    actor: &Actor,
    customers: &Visibility,
    sales: &Visibility,
    d: &Draft,
    today: NaiveDate,
) -> Result<Quote> {
    let Some(mut owner) = actor.user_id else {
        return Err(StoreError::invalid(FieldError::new("owner_id", "required", "a quote is owned by a person")));
    };
    let content = assign_keys(&d.content, 0);
    let total = checked(&content, 1, today)?;
    check_customer(tx, customers, d.customer_id).await?;
    if let Some(o) = d.opportunity_id {
        let opp = match crate::opportunities::get_visible_in(tx, sales, o).await {
            Err(StoreError::NotFound) => {
                return Err(StoreError::invalid(FieldError::new("opportunity_id", "not_found", "no such opportunity")))
            }
            other => other?,
        };
        if opp.customer_id != d.customer_id {
            return Err(StoreError::invalid(FieldError::new(
                "opportunity_id",
                "other_customer",
                "the opportunity belongs to another customer",
            )));
        }
        // Whoever writes it, the quote follows its opportunity's owner, who
        // keeps seeing and sending it.
        owner = opp.owner_id;
    }
    let team = crate::opportunities::owner_team(tx, owner).await?;
    let number = numbers::next(tx, "Q", today.year(), "quotes", "number").await?;
    let now = now_ms();
    let mut sql = Sql::new(
        "INSERT INTO quotes (number, customer_id, opportunity_id, title, status, current_version, valid_until, \
         total, owner_id, team_id, created_by, created_at, updated_at, version) VALUES (",
    );
    sql.bind(number.as_str()).push(", ").bind(d.customer_id.0).push(", ");
    bind_opt_i64(&mut sql, d.opportunity_id.map(|o| o.0));
    sql.push(", ").bind(d.content.title.trim()).push(", 'draft', 1, ").bind(d.content.valid_until.to_string());
    sql.push(", ").bind(total.0).push(", ").bind(owner.0).push(", ");
    bind_opt_i64(&mut sql, team.map(|t| t.0));
    sql.push(", ");
    bind_opt_i64(&mut sql, actor.user_id.map(|u| u.0));
    sql.push(", ").bind(now).push(", ").bind(now).push(", 1) RETURNING id");
    let id = QuoteId(sql.query().fetch_one(&mut ***tx).await?.try_get(0)?);
    insert_version(tx, actor, id, 1, &content, total, now).await?;
    let mut changes = summary_changes(&content, total);
    changes.created("number", Some(&number), Sensitivity::Plain);
    changes.created("customer_id", Some(&d.customer_id.to_string()), Sensitivity::Plain);
    changes.created("opportunity_id", d.opportunity_id.map(|o| o.to_string()).as_deref(), Sensitivity::Plain);
    audit::record(tx, actor, Action::Create, "quote", &id.to_string(), &format!("quote {number} version 1"), &changes)
        .await?;
    get_in(tx, id).await
}

/// Writes the next version of a quote if `version` (the header's) is
/// current. The new version is a draft again; an accepted quote is final.
/// Lines with key `0` are new and get fresh keys.
pub async fn revise(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: QuoteId,
    version: i64,
    content: &Content,
    today: NaiveDate,
) -> Result<Quote> {
    let before = get_visible_in(tx, vis, id).await?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    if before.status == QuoteStatus::Accepted {
        return Err(StoreError::invalid(FieldError::new(
            "status",
            "accepted_is_final",
            "the customer accepted this quote; make a new quote instead",
        )));
    }
    let next = before.current_version + 1;
    let used = sqlx::query_scalar::<_, String>("SELECT lines FROM quote_versions WHERE quote_id = $1")
        .bind(id.0)
        .fetch_all(&mut ***tx)
        .await?
        .iter()
        .filter_map(|l| serde_json::from_str::<Vec<QuoteLine>>(l).ok())
        .flatten()
        .map(|l| l.key)
        .max()
        .unwrap_or(0);
    let content = &assign_keys(content, used);
    let total = checked(content, next, today)?;
    let now = now_ms();
    let mut sql = Sql::new("UPDATE quotes SET title = ");
    sql.bind(content.title.trim()).push(", valid_until = ").bind(content.valid_until.to_string());
    sql.push(", total = ").bind(total.0).push(", current_version = ").bind(i64::from(next));
    sql.push(", status = 'draft', sent_at = NULL, decided_at = NULL, updated_at = ").bind(now);
    sql.push(", version = version + 1 WHERE id = ").bind(id.0).push(" AND version = ").bind(version);
    if sql.query().execute(&mut ***tx).await?.rows_affected() != 1 {
        return Err(stale(tx, "quotes", id.0).await);
    }
    insert_version(tx, actor, id, next, content, total, now).await?;
    let prev = version_in(tx, id, before.current_version).await?;
    let mut changes = ChangeSet::new();
    changes.diff(
        "current_version",
        Some(&before.current_version.to_string()),
        Some(&next.to_string()),
        Sensitivity::Plain,
    );
    changes.diff("title", Some(&prev.title), Some(content.title.trim()), Sensitivity::Plain);
    changes.diff(
        "valid_until",
        prev.valid_until.map(|d| d.to_string()).as_deref(),
        Some(&content.valid_until.to_string()),
        Sensitivity::Plain,
    );
    changes.diff("notes", prev.notes.as_deref(), content.notes.as_deref(), Sensitivity::Plain);
    changes.diff("total", Some(&prev.total.to_string()), Some(&total.to_string()), Sensitivity::Plain);
    changes.diff("status", Some(before.status.code()), Some("draft"), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "quote",
        &id.to_string(),
        &format!("quote {} version {next}", before.number),
        &changes,
    )
    .await?;
    get_in(tx, id).await
}

/// Moves a quote's status by the domain's rules as of `today` (sending
/// checks the content and that it is still valid; accepting a quote past
/// its validity is refused). Sending moves its opportunity to `quoted` if
/// it was at an earlier stage.
pub async fn set_status(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: QuoteId,
    version: i64,
    to: QuoteStatus,
    today: NaiveDate,
) -> Result<Quote> {
    let before = get_visible_in(tx, vis, id).await?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    let current = version_in(tx, id, before.current_version).await?;
    let mut rules = current.rules(today, before.status);
    rules.valid_until = before.valid_until.unwrap_or(today);
    match to {
        QuoteStatus::Sent => rules.send(today).map_err(StoreError::Invalid)?,
        QuoteStatus::Accepted => rules.accept(today).map_err(StoreError::invalid)?,
        other => {
            rules.status = before.status_on(today).transition(other).map_err(StoreError::invalid)?;
        }
    }
    let now = now_ms();
    let mut sql = Sql::new("UPDATE quotes SET status = ");
    sql.bind(rules.status.code());
    if rules.status == QuoteStatus::Sent {
        sql.push(", sent_at = ").bind(now);
    } else {
        sql.push(", decided_at = ").bind(now);
    }
    sql.push(", updated_at = ").bind(now);
    sql.push(", version = version + 1 WHERE id = ").bind(id.0).push(" AND version = ").bind(version);
    if sql.query().execute(&mut ***tx).await?.rows_affected() != 1 {
        return Err(stale(tx, "quotes", id.0).await);
    }
    let mut changes = ChangeSet::new();
    changes.diff("status", Some(before.status.code()), Some(rules.status.code()), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "quote",
        &id.to_string(),
        &format!("quote {}: {} → {}", before.number, before.status.code(), rules.status.code()),
        &changes,
    )
    .await?;
    if rules.status == QuoteStatus::Sent {
        if let Some(o) = before.opportunity_id {
            crate::opportunities::quote_sent(tx, actor, o).await?;
        }
    }
    get_in(tx, id).await
}

/// One quote inside a transaction (no visibility check: the caller did it).
pub async fn get_in(tx: &mut Tx, id: QuoteId) -> Result<Quote> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE q.id = ").bind(id.0);
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

async fn get_visible_in(tx: &mut Tx, vis: &Visibility, id: QuoteId) -> Result<Quote> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE q.id = ").bind(id.0);
    vis.restrict(&mut sql, "q.owner_id", "q.team_id");
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// One quote's header, if `vis` lets the caller see it.
pub async fn get(store: &Store, vis: &Visibility, id: QuoteId) -> Result<Quote> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE q.id = ").bind(id.0);
    vis.restrict(&mut sql, "q.owner_id", "q.team_id");
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

const VERSION_SELECT: &str = "SELECT v.*, u.display_name AS created_by_name FROM quote_versions v \
                              LEFT JOIN users u ON u.id = v.created_by";

async fn version_in(tx: &mut Tx, id: QuoteId, n: u32) -> Result<Version> {
    let mut sql = Sql::new(VERSION_SELECT);
    sql.push(" WHERE v.quote_id = ").bind(id.0).push(" AND v.version_no = ").bind(i64::from(n));
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    version_from_row(&row)
}

/// Every version of a quote `vis` lets the caller see, oldest first.
pub async fn versions(store: &Store, vis: &Visibility, id: QuoteId) -> Result<Vec<Version>> {
    get(store, vis, id).await?;
    let mut sql = Sql::new(VERSION_SELECT);
    sql.push(" WHERE v.quote_id = ").bind(id.0).push(" ORDER BY v.version_no");
    let rows = sql.query().fetch_all(store.pool()).await?;
    rows.iter().map(version_from_row).collect()
}

/// Version `n` of a quote `vis` lets the caller see.
pub async fn version(store: &Store, vis: &Visibility, id: QuoteId, n: u32) -> Result<Version> {
    get(store, vis, id).await?;
    let mut sql = Sql::new(VERSION_SELECT);
    sql.push(" WHERE v.quote_id = ").bind(id.0).push(" AND v.version_no = ").bind(i64::from(n));
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    version_from_row(&row)
}

/// What the list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub customer_id: Option<CustomerId>,
    pub opportunity_id: Option<OpportunityId>,
    /// Number, title or customer name contains this.
    pub q: Option<String>,
    /// Only ids below this (the `next` of a previous page).
    pub before: Option<i64>,
    pub limit: i64,
}

/// The quotes `vis` lets the caller see, newest first.
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<Page<Quote>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    vis.restrict(&mut sql, "q.owner_id", "q.team_id");
    if let Some(c) = f.customer_id {
        sql.push(" AND q.customer_id = ").bind(c.0);
    }
    if let Some(o) = f.opportunity_id {
        sql.push(" AND q.opportunity_id = ").bind(o.0);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pat = format!("%{}%", q.to_lowercase().replace(['%', '_', '\\'], ""));
        sql.push(" AND (LOWER(q.number) LIKE ").bind(pat.as_str());
        sql.push(" OR LOWER(q.title) LIKE ").bind(pat.as_str());
        sql.push(" OR LOWER(c.name) LIKE ").bind(pat.as_str()).push(")");
    }
    if let Some(b) = f.before {
        sql.push(" AND q.id < ").bind(b);
    }
    let limit = f.limit.clamp(1, 1000);
    sql.push(" ORDER BY q.id DESC LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |q| q.id.0))
}
