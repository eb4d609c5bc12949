//! Products (产品): what the agency sells, with list prices in 分, built on a
//! route of the resource library and bought from a supplier. The code
//! (`HN5D`) is unique and prefixes the codes of the product's departures.

use crate::resources::{check_supplier, insert_row, opt_text, push_search, update_row, Col};
use crate::sql::Sql;
use crate::{Actor, Page, Result, Store, StoreError, Tx};
use domain::ids::{ProductId, ResourceId, SupplierId};
use domain::money::Money;
use domain::FieldError;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A product's editable fields, validated by the caller (`domain::travel::product`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductDraft {
    /// Unique upper-case code (`HN5D`).
    pub code: String,
    /// Name.
    pub name: String,
    /// `ProductType` code.
    pub product_type: String,
    /// Destination country.
    pub country: Option<String>,
    /// Destination region / province.
    pub region: Option<String>,
    /// Destination city.
    pub city: Option<String>,
    /// Destination as shown (三亚).
    pub destination: Option<String>,
    /// The route resource it follows.
    pub route_id: Option<ResourceId>,
    /// The supplier (ground handler …).
    pub supplier_id: Option<SupplierId>,
    /// Days.
    pub days: i64,
    /// Adult price.
    pub adult_price: Money,
    /// Child price.
    pub child_price: Money,
    /// Cost of one adult place.
    pub cost_price: Money,
    /// What the price includes.
    pub inclusions: Option<String>,
    /// What it does not include.
    pub exclusions: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// On sale.
    pub active: bool,
}

/// A product as read back.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    /// Id.
    pub id: ProductId,
    /// Fields.
    #[serde(flatten)]
    pub data: ProductDraft,
    /// The route's name.
    pub route_name: Option<String>,
    /// The supplier's name.
    pub supplier_name: Option<String>,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Changed, epoch ms.
    pub updated_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

fn cols(d: &ProductDraft) -> Vec<(&'static str, Col)> {
    vec![
        ("code", Col::text(&d.code)),
        ("name", Col::text(&d.name)),
        ("name_pinyin", Col::text(&crate::resources::pinyin_key(&d.name))),
        ("product_type", Col::text(&d.product_type)),
        ("country", Col::opt(&d.country)),
        ("region", Col::opt(&d.region)),
        ("city", Col::opt(&d.city)),
        ("destination", Col::opt(&d.destination)),
        ("route_id", Col::Int(d.route_id.map(|r| r.0))),
        ("supplier_id", Col::Int(d.supplier_id.map(|s| s.0))),
        ("days", Col::int(d.days)),
        ("adult_price", Col::int(d.adult_price.0)),
        ("child_price", Col::int(d.child_price.0)),
        ("cost_price", Col::int(d.cost_price.0)),
        ("inclusions", Col::opt(&d.inclusions)),
        ("exclusions", Col::opt(&d.exclusions)),
        ("description", Col::opt(&d.description)),
        ("active", Col::int(i64::from(d.active))),
    ]
}

const SELECT: &str = "SELECT p.*, r.name AS route_name, s.name AS supplier_name FROM products p \
    LEFT JOIN resources r ON r.id = p.route_id LEFT JOIN suppliers s ON s.id = p.supplier_id WHERE 1 = 1";

fn from_row(r: &AnyRow) -> Result<Product, sqlx::Error> {
    Ok(Product {
        id: ProductId(r.try_get("id")?),
        data: ProductDraft {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            product_type: r.try_get("product_type")?,
            country: opt_text(r, "country")?,
            region: opt_text(r, "region")?,
            city: opt_text(r, "city")?,
            destination: opt_text(r, "destination")?,
            route_id: r.try_get::<Option<i64>, _>("route_id")?.map(ResourceId),
            supplier_id: r.try_get::<Option<i64>, _>("supplier_id")?.map(SupplierId),
            days: r.try_get("days")?,
            adult_price: Money(r.try_get("adult_price")?),
            child_price: Money(r.try_get("child_price")?),
            cost_price: Money(r.try_get("cost_price")?),
            inclusions: opt_text(r, "inclusions")?,
            exclusions: opt_text(r, "exclusions")?,
            description: opt_text(r, "description")?,
            active: r.try_get::<i64, _>("active")? != 0,
        },
        route_name: opt_text(r, "route_name")?,
        supplier_name: opt_text(r, "supplier_name")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

async fn check_refs(tx: &mut Tx, d: &ProductDraft) -> Result<()> {
    check_supplier(tx, "supplier_id", d.supplier_id).await?;
    if let Some(route) = d.route_id {
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM resources WHERE id = $1")
            .bind(route.0)
            .fetch_optional(&mut ***tx)
            .await?;
        match kind.as_deref() {
            Some("route") => {}
            Some(_) => {
                return Err(StoreError::invalid(FieldError::new(
                    "route_id",
                    "not_a_route",
                    format!("resource {route} is not a route"),
                )))
            }
            None => {
                return Err(StoreError::invalid(FieldError::new(
                    "route_id",
                    "not_found",
                    format!("route {route} does not exist"),
                )))
            }
        }
    }
    Ok(())
}

/// Creates a product; a code in use is `Duplicate { field: "code" }`.
pub async fn create(tx: &mut Tx, actor: &Actor, d: &ProductDraft) -> Result<Product> {
    check_refs(tx, d).await?;
    let summary = format!("product {} {}", d.code, d.name);
    let id = insert_row(tx, actor, "products", "product", &summary, &cols(d)).await?;
    get_in(tx, ProductId(id)).await
}

/// Changes a product if `version` is current.
pub async fn update(tx: &mut Tx, actor: &Actor, id: ProductId, version: i64, d: &ProductDraft) -> Result<Product> {
    let before = get_in(tx, id).await?;
    check_refs(tx, d).await?;
    if before.data.code != d.code {
        let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM departures WHERE product_id = $1")
            .bind(id.0)
            .fetch_one(&mut ***tx)
            .await?;
        if used > 0 {
            return Err(StoreError::invalid(FieldError::new(
                "code",
                "fixed",
                "the code prefixes the codes of this product's departures and can no longer change",
            )));
        }
    }
    let summary = format!("product {} {}", d.code, d.name);
    update_row(tx, actor, "products", "product", &summary, id.0, version, &cols(&before.data), &cols(d)).await?;
    get_in(tx, id).await
}

/// One product inside a transaction.
pub async fn get_in(tx: &mut Tx, id: ProductId) -> Result<Product> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND p.id = ").bind(id.0);
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// One product.
pub async fn get(store: &Store, id: ProductId) -> Result<Product> {
    let mut sql = Sql::new(SELECT);
    sql.push(" AND p.id = ").bind(id.0);
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Filters of the product list; empty ones do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Name or code fragment, or pinyin prefix.
    pub q: Option<String>,
    /// `ProductType` code.
    pub product_type: Option<String>,
    /// Supplier.
    pub supplier_id: Option<SupplierId>,
    /// Only active or inactive ones.
    pub active: Option<bool>,
}

/// Products, newest first.
pub async fn list(store: &Store, f: &Filter, limit: i64, before: Option<i64>) -> Result<Page<Product>> {
    let mut sql = Sql::new(SELECT);
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        // The exact code, or the name search (which appends its own ` AND (…)`).
        sql.push(" AND (p.code = ").bind(q.to_ascii_uppercase()).push(" OR (1 = 1");
        push_search(&mut sql, q, "p.name", "p.name_pinyin");
        sql.push("))");
    }
    if let Some(t) = f.product_type.as_deref().filter(|t| !t.is_empty()) {
        sql.push(" AND p.product_type = ").bind(t);
    }
    if let Some(s) = f.supplier_id {
        sql.push(" AND p.supplier_id = ").bind(s.0);
    }
    if let Some(a) = f.active {
        sql.push(" AND p.active = ").bind(i64::from(a));
    }
    if let Some(b) = before {
        sql.push(" AND p.id < ").bind(b);
    }
    sql.push(" ORDER BY p.id DESC LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |p| p.id.0))
}
