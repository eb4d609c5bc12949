//! The resource library (资源库): suppliers with their contact people, and
//! resources of four kinds (attraction, accommodation, transport, route)
//! whose kind-specific data (star rating and room types; mode and carrier;
//! the day-by-day itinerary) is JSON in `details`.
//!
//! The library is unscoped (`catalog.read` / `catalog.write`): everyone with
//! the grant sees every row. Every change is audited in its transaction.

use crate::sql::Sql;
use crate::{audit, now_ms, stale, Actor, Page, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{ResourceId, SupplierId};
use domain::FieldError;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// One column value as written, for the shared insert/update/audit helpers
/// of the catalogue modules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Col {
    /// Text or NULL.
    Text(Option<String>),
    /// Integer or NULL.
    Int(Option<i64>),
}

impl Col {
    pub(crate) fn text(s: &str) -> Col {
        Col::Text(Some(s.to_string()))
    }
    pub(crate) fn opt(s: &Option<String>) -> Col {
        Col::Text(s.clone())
    }
    pub(crate) fn int(i: i64) -> Col {
        Col::Int(Some(i))
    }
    fn shown(&self) -> Option<String> {
        match self {
            Col::Text(t) => t.clone(),
            Col::Int(i) => i.map(|i| i.to_string()),
        }
    }
    fn bind(&self, sql: &mut Sql) {
        match self {
            Col::Text(Some(s)) => {
                sql.bind(s.as_str());
            }
            Col::Int(Some(i)) => {
                sql.bind(*i);
            }
            Col::Text(None) | Col::Int(None) => {
                sql.push("NULL");
            }
        }
    }
}

/// Inserts a row of `table` with `cols` plus the bookkeeping columns and
/// audits its creation. Returns the new id.
pub(crate) async fn insert_row(
    tx: &mut Tx,
    actor: &Actor,
    table: &str,
    entity: &str,
    summary: &str,
    cols: &[(&'static str, Col)],
) -> Result<i64> {
    let now = now_ms();
    let mut sql = Sql::new(&format!("INSERT INTO {table} ("));
    for (name, _) in cols {
        sql.push(name).push(", ");
    }
    sql.push("created_by, created_at, updated_at, version) VALUES (");
    for (_, v) in cols {
        v.bind(&mut sql);
        sql.push(", ");
    }
    Col::Int(actor.user_id.map(|u| u.0)).bind(&mut sql);
    sql.push(", ").bind(now).push(", ").bind(now).push(", 1) RETURNING id");
    let id: i64 = sql.query().fetch_one(&mut ***tx).await.map_err(crate::unique_as("code"))?.try_get(0)?;
    let mut changes = ChangeSet::new();
    for (name, v) in cols {
        changes.created(name, v.shown().as_deref(), Sensitivity::Plain);
    }
    audit::record(tx, actor, Action::Create, entity, &id.to_string(), summary, &changes).await?;
    Ok(id)
}

/// Updates `table`'s row `id` if still at `version`, audits the fields that
/// changed (compared with `before`, the same columns as read), 409 if stale.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_row(
    tx: &mut Tx,
    actor: &Actor,
    table: &str,
    entity: &str,
    summary: &str,
    id: i64,
    version: i64,
    before: &[(&'static str, Col)],
    cols: &[(&'static str, Col)],
) -> Result<()> {
    let now = now_ms();
    let mut sql = Sql::new(&format!("UPDATE {table} SET "));
    for (name, v) in cols {
        sql.push(&format!("{name} = "));
        v.bind(&mut sql);
        sql.push(", ");
    }
    sql.push("updated_at = ").bind(now).push(", version = version + 1 WHERE id = ").bind(id);
    sql.push(" AND version = ").bind(version);
    let done = sql.query().execute(&mut ***tx).await.map_err(crate::unique_as("code"))?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, table, id).await);
    }
    let mut changes = ChangeSet::new();
    for (name, new) in cols {
        let old = before.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.shown());
        changes.diff(name, old.as_deref(), new.shown().as_deref(), Sensitivity::Plain);
    }
    audit::record(tx, actor, Action::Update, entity, &id.to_string(), summary, &changes).await?;
    Ok(())
}

/// The text searched by a pinyin prefix: full pinyin and initials, spaced
/// (故宫博物院 → `gugongbowuyuan ggbwy`).
pub(crate) fn pinyin_key(name: &str) -> String {
    let (full, initials) = domain::customer::to_pinyin(name);
    format!("{full} {initials}")
}

/// Appends a search of `q` over `name_col` (a fragment) and `pinyin_col` (a
/// prefix of the full pinyin or of the initials).
pub(crate) fn push_search(sql: &mut Sql, q: &str, name_col: &str, pinyin_col: &str) {
    let q = q.trim();
    if q.is_empty() {
        return;
    }
    // LOWER on both sides: PostgreSQL's LIKE is case-sensitive, SQLite's is not.
    let esc = like_escape(&q.to_lowercase());
    let lower = like_escape(&q.to_lowercase().replace(' ', ""));
    sql.push(&format!(" AND (LOWER({name_col}) LIKE ")).bind(format!("%{esc}%")).push(" ESCAPE '\\'");
    sql.push(&format!(" OR {pinyin_col} LIKE ")).bind(format!("{lower}%")).push(" ESCAPE '\\'");
    sql.push(&format!(" OR {pinyin_col} LIKE ")).bind(format!("% {lower}%")).push(" ESCAPE '\\')");
}

pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub(crate) fn opt_text(r: &AnyRow, c: &str) -> Result<Option<String>, sqlx::Error> {
    r.try_get::<Option<String>, _>(c)
}

// ---------------------------------------------------------------------------
// Suppliers

/// A person at a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SupplierContact {
    /// Name.
    pub name: String,
    /// Role (销售, 计调, 财务 …).
    pub role: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// WeChat id.
    pub wechat: Option<String>,
}

/// A supplier's editable fields, validated by the caller.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SupplierDraft {
    /// `SupplierKind` code.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Main phone.
    pub phone: Option<String>,
    /// Main e-mail.
    pub email: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Contract number.
    pub contract_no: Option<String>,
    /// Contract start, ISO date.
    pub contract_from: Option<String>,
    /// Contract end, ISO date.
    pub contract_to: Option<String>,
    /// Payment terms (月结, 预付 …).
    pub payment_terms: Option<String>,
    /// Commission in basis points (1000 = 10%).
    pub commission_bp: Option<i64>,
    /// Notes.
    pub notes: Option<String>,
    /// Active.
    pub active: bool,
    /// Contact people, first is the main one.
    pub contacts: Vec<SupplierContact>,
}

/// A supplier as read back.
#[derive(Debug, Clone, Serialize)]
pub struct Supplier {
    /// Id.
    pub id: SupplierId,
    /// Fields.
    #[serde(flatten)]
    pub data: SupplierDraft,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Changed, epoch ms.
    pub updated_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

fn supplier_cols(d: &SupplierDraft) -> Vec<(&'static str, Col)> {
    vec![
        ("kind", Col::text(&d.kind)),
        ("name", Col::text(&d.name)),
        ("name_pinyin", Col::text(&pinyin_key(&d.name))),
        ("contact_name", Col::Text(d.contacts.first().map(|c| c.name.clone()))),
        ("phone", Col::opt(&d.phone)),
        ("email", Col::opt(&d.email)),
        ("province", Col::opt(&d.province)),
        ("city", Col::opt(&d.city)),
        ("address", Col::opt(&d.address)),
        ("contract_no", Col::opt(&d.contract_no)),
        ("contract_from", Col::opt(&d.contract_from)),
        ("contract_to", Col::opt(&d.contract_to)),
        ("payment_terms", Col::opt(&d.payment_terms)),
        ("commission_bp", Col::Int(d.commission_bp)),
        ("notes", Col::opt(&d.notes)),
        ("active", Col::int(i64::from(d.active))),
    ]
}

fn supplier_row(r: &AnyRow) -> Result<Supplier, sqlx::Error> {
    Ok(Supplier {
        id: SupplierId(r.try_get("id")?),
        data: SupplierDraft {
            kind: r.try_get("kind")?,
            name: r.try_get("name")?,
            phone: opt_text(r, "phone")?,
            email: opt_text(r, "email")?,
            province: opt_text(r, "province")?,
            city: opt_text(r, "city")?,
            address: opt_text(r, "address")?,
            contract_no: opt_text(r, "contract_no")?,
            contract_from: opt_text(r, "contract_from")?,
            contract_to: opt_text(r, "contract_to")?,
            payment_terms: opt_text(r, "payment_terms")?,
            commission_bp: r.try_get("commission_bp")?,
            notes: opt_text(r, "notes")?,
            active: r.try_get::<i64, _>("active")? != 0,
            contacts: Vec::new(),
        },
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

async fn write_contacts(tx: &mut Tx, id: SupplierId, contacts: &[SupplierContact]) -> Result<()> {
    sqlx::query("DELETE FROM supplier_contacts WHERE supplier_id = $1").bind(id.0).execute(&mut ***tx).await?;
    let now = now_ms();
    for c in contacts {
        sqlx::query(
            "INSERT INTO supplier_contacts (supplier_id, name, role, mobile, email, wechat, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.0)
        .bind(c.name.as_str())
        .bind(c.role.as_deref())
        .bind(c.mobile.as_deref())
        .bind(c.email.as_deref())
        .bind(c.wechat.as_deref())
        .bind(now)
        .execute(&mut ***tx)
        .await?;
    }
    Ok(())
}

fn contacts_text(c: &[SupplierContact]) -> String {
    c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Creates a supplier with its contacts.
pub async fn create_supplier(tx: &mut Tx, actor: &Actor, d: &SupplierDraft) -> Result<Supplier> {
    let summary = format!("supplier {}", d.name);
    let id = SupplierId(insert_row(tx, actor, "suppliers", "supplier", &summary, &supplier_cols(d)).await?);
    write_contacts(tx, id, &d.contacts).await?;
    get_supplier_in(tx, id).await
}

/// Changes a supplier (contacts replaced) if `version` is current.
pub async fn update_supplier(
    tx: &mut Tx,
    actor: &Actor,
    id: SupplierId,
    version: i64,
    d: &SupplierDraft,
) -> Result<Supplier> {
    let before = get_supplier_in(tx, id).await?;
    let summary = format!("supplier {}", d.name);
    let (old, new) = (supplier_cols(&before.data), supplier_cols(d));
    update_row(tx, actor, "suppliers", "supplier", &summary, id.0, version, &old, &new).await?;
    write_contacts(tx, id, &d.contacts).await?;
    if before.data.contacts != d.contacts {
        let mut changes = ChangeSet::new();
        changes.diff(
            "contacts",
            Some(&contacts_text(&before.data.contacts)),
            Some(&contacts_text(&d.contacts)),
            Sensitivity::Plain,
        );
        audit::record(tx, actor, Action::Update, "supplier", &id.to_string(), "supplier contacts", &changes).await?;
    }
    get_supplier_in(tx, id).await
}

/// Marks a supplier inactive (kept for the records that name it).
pub async fn deactivate_supplier(tx: &mut Tx, actor: &Actor, id: SupplierId, version: i64) -> Result<Supplier> {
    let s = get_supplier_in(tx, id).await?;
    let mut d = s.data.clone();
    d.active = false;
    update_supplier(tx, actor, id, version, &d).await
}

async fn contacts_of<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    id: SupplierId,
) -> Result<Vec<SupplierContact>> {
    let rows = sqlx::query("SELECT * FROM supplier_contacts WHERE supplier_id = $1 ORDER BY id")
        .bind(id.0)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SupplierContact {
                name: r.try_get("name")?,
                role: opt_text(r, "role")?,
                mobile: opt_text(r, "mobile")?,
                email: opt_text(r, "email")?,
                wechat: opt_text(r, "wechat")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// One supplier inside a transaction.
pub async fn get_supplier_in(tx: &mut Tx, id: SupplierId) -> Result<Supplier> {
    let row = sqlx::query("SELECT * FROM suppliers WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut s = supplier_row(&row)?;
    s.data.contacts = contacts_of(&mut ***tx, id).await?;
    Ok(s)
}

/// One supplier.
pub async fn get_supplier(store: &Store, id: SupplierId) -> Result<Supplier> {
    let row = sqlx::query("SELECT * FROM suppliers WHERE id = $1")
        .bind(id.0)
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut s = supplier_row(&row)?;
    s.data.contacts = contacts_of(store.pool(), id).await?;
    Ok(s)
}

/// Filters of the supplier list; empty ones do not filter.
#[derive(Debug, Clone, Default)]
pub struct SupplierFilter {
    /// Name fragment or pinyin prefix.
    pub q: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Only active (`Some(true)`) or inactive (`Some(false)`) ones.
    pub active: Option<bool>,
}

/// Suppliers, newest first, `limit` per page, before the id `before`.
pub async fn list_suppliers(
    store: &Store,
    f: &SupplierFilter,
    limit: i64,
    before: Option<i64>,
) -> Result<Page<Supplier>> {
    let mut sql = Sql::new("SELECT * FROM suppliers WHERE 1 = 1");
    if let Some(q) = &f.q {
        push_search(&mut sql, q, "name", "name_pinyin");
    }
    for (col, v) in [("kind", &f.kind), ("province", &f.province), ("city", &f.city)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            sql.push(&format!(" AND {col} = ")).bind(v);
        }
    }
    if let Some(a) = f.active {
        sql.push(" AND active = ").bind(i64::from(a));
    }
    if let Some(b) = before {
        sql.push(" AND id < ").bind(b);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut items = rows.iter().map(supplier_row).collect::<Result<Vec<_>, _>>()?;
    for s in &mut items {
        s.data.contacts = contacts_of(store.pool(), s.id).await?;
    }
    Ok(Page::from_rows(items, limit, |s| s.id.0))
}

// ---------------------------------------------------------------------------
// Resources

/// A resource's editable fields, validated by the caller. `details` holds
/// what only its kind has, already checked by `domain::travel::resource`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceDraft {
    /// `attraction`, `accommodation`, `transport` or `route`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Country.
    pub country: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Supplier.
    pub supplier_id: Option<SupplierId>,
    /// Kind-specific data as JSON.
    pub details: serde_json::Value,
    /// Description.
    pub description: Option<String>,
    /// Active.
    pub active: bool,
}

/// A resource as read back.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    /// Id.
    pub id: ResourceId,
    /// Fields.
    #[serde(flatten)]
    pub data: ResourceDraft,
    /// The supplier's name.
    pub supplier_name: Option<String>,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Changed, epoch ms.
    pub updated_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

fn resource_cols(d: &ResourceDraft) -> Vec<(&'static str, Col)> {
    vec![
        ("kind", Col::text(&d.kind)),
        ("name", Col::text(&d.name)),
        ("name_pinyin", Col::text(&pinyin_key(&d.name))),
        ("country", Col::opt(&d.country)),
        ("province", Col::opt(&d.province)),
        ("city", Col::opt(&d.city)),
        ("address", Col::opt(&d.address)),
        ("supplier_id", Col::Int(d.supplier_id.map(|s| s.0))),
        ("details", Col::text(&d.details.to_string())),
        ("description", Col::opt(&d.description)),
        ("active", Col::int(i64::from(d.active))),
    ]
}

const RESOURCE_SELECT: &str =
    "SELECT r.*, s.name AS supplier_name FROM resources r LEFT JOIN suppliers s ON s.id = r.supplier_id WHERE 1 = 1";

fn resource_row(r: &AnyRow) -> Result<Resource, sqlx::Error> {
    let details: String = r.try_get("details")?;
    Ok(Resource {
        id: ResourceId(r.try_get("id")?),
        data: ResourceDraft {
            kind: r.try_get("kind")?,
            name: r.try_get("name")?,
            country: opt_text(r, "country")?,
            province: opt_text(r, "province")?,
            city: opt_text(r, "city")?,
            address: opt_text(r, "address")?,
            supplier_id: r.try_get::<Option<i64>, _>("supplier_id")?.map(SupplierId),
            details: serde_json::from_str(&details).unwrap_or_else(|_| serde_json::json!({})),
            description: opt_text(r, "description")?,
            active: r.try_get::<i64, _>("active")? != 0,
        },
        supplier_name: opt_text(r, "supplier_name")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

/// Refuses a supplier that does not exist, on `field`.
pub(crate) async fn check_supplier(tx: &mut Tx, field: &str, id: Option<SupplierId>) -> Result<()> {
    let Some(id) = id else { return Ok(()) };
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM suppliers WHERE id = $1").bind(id.0).fetch_optional(&mut ***tx).await?;
    if found.is_none() {
        return Err(StoreError::invalid(FieldError::new(field, "not_found", format!("supplier {id} does not exist"))));
    }
    Ok(())
}

/// Creates a resource.
pub async fn create_resource(tx: &mut Tx, actor: &Actor, d: &ResourceDraft) -> Result<Resource> {
    check_supplier(tx, "supplier_id", d.supplier_id).await?;
    let summary = format!("{} {}", d.kind, d.name);
    let id = insert_row(tx, actor, "resources", "resource", &summary, &resource_cols(d)).await?;
    get_resource_in(tx, ResourceId(id)).await
}

/// Changes a resource if `version` is current (the kind stays).
pub async fn update_resource(
    tx: &mut Tx,
    actor: &Actor,
    id: ResourceId,
    version: i64,
    d: &ResourceDraft,
) -> Result<Resource> {
    let before = get_resource_in(tx, id).await?;
    if before.data.kind != d.kind {
        return Err(StoreError::invalid(FieldError::new("kind", "fixed", "a resource's kind cannot change")));
    }
    check_supplier(tx, "supplier_id", d.supplier_id).await?;
    let summary = format!("{} {}", d.kind, d.name);
    update_row(
        tx,
        actor,
        "resources",
        "resource",
        &summary,
        id.0,
        version,
        &resource_cols(&before.data),
        &resource_cols(d),
    )
    .await?;
    get_resource_in(tx, id).await
}

/// Marks a resource inactive.
pub async fn deactivate_resource(tx: &mut Tx, actor: &Actor, id: ResourceId, version: i64) -> Result<Resource> {
    let r = get_resource_in(tx, id).await?;
    let mut d = r.data.clone();
    d.active = false;
    update_resource(tx, actor, id, version, &d).await
}

/// One resource inside a transaction.
pub async fn get_resource_in(tx: &mut Tx, id: ResourceId) -> Result<Resource> {
    let mut sql = Sql::new(RESOURCE_SELECT);
    sql.push(" AND r.id = ").bind(id.0);
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(resource_row(&row)?)
}

/// One resource.
pub async fn get_resource(store: &Store, id: ResourceId) -> Result<Resource> {
    let mut sql = Sql::new(RESOURCE_SELECT);
    sql.push(" AND r.id = ").bind(id.0);
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    Ok(resource_row(&row)?)
}

/// Filters of the resource list; empty ones do not filter.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Name fragment or pinyin prefix.
    pub q: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Supplier.
    pub supplier_id: Option<SupplierId>,
    /// Only active or inactive ones.
    pub active: Option<bool>,
}

/// Resources, newest first, `limit` per page, before the id `before`.
pub async fn list_resources(
    store: &Store,
    f: &ResourceFilter,
    limit: i64,
    before: Option<i64>,
) -> Result<Page<Resource>> {
    let mut sql = Sql::new(RESOURCE_SELECT);
    if let Some(q) = &f.q {
        push_search(&mut sql, q, "r.name", "r.name_pinyin");
    }
    for (col, v) in [("r.kind", &f.kind), ("r.province", &f.province), ("r.city", &f.city)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            sql.push(&format!(" AND {col} = ")).bind(v);
        }
    }
    if let Some(s) = f.supplier_id {
        sql.push(" AND r.supplier_id = ").bind(s.0);
    }
    if let Some(a) = f.active {
        sql.push(" AND r.active = ").bind(i64::from(a));
    }
    if let Some(b) = before {
        sql.push(" AND r.id < ").bind(b);
    }
    sql.push(" ORDER BY r.id DESC LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(resource_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |r| r.id.0))
}

/// The names of resources `ids` of `kind` (active or not), to store beside
/// the ids in a route's itinerary; an id that is not such a resource is an
/// error on `field`.
pub async fn names_of(store: &Store, field: &str, kind: &str, id: ResourceId) -> Result<String> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM resources WHERE id = $1 AND kind = $2")
        .bind(id.0)
        .bind(kind)
        .fetch_optional(store.pool())
        .await?;
    name.ok_or_else(|| {
        StoreError::invalid(FieldError::new(
            field,
            "not_found",
            format!("{field}: no {kind} resource {id} in the library"),
        ))
    })
}
