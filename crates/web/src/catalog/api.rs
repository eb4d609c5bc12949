//! `/api/v1/suppliers`, `/api/v1/resources`, `/api/v1/products`,
//! `/api/v1/departures` (with the manifest): list `{"items","next"}`,
//! create, read, change with `version` (stale → 409).

use super::input::{self, fields_of, overlay, Fields};
use super::{manifest_for, opt_bool, opt_id_param};
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{next_cursor, ApiJson, ApiQuery, PageQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::ids::{DepartureId, ProductId, ResourceId, SupplierId};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(suppliers_list, suppliers_create))
        .routes(routes!(supplier_get, supplier_patch))
        .routes(routes!(resources_list, resources_create))
        .routes(routes!(resource_get, resource_patch))
        .routes(routes!(products_list, products_create))
        .routes(routes!(product_get, product_patch))
        .routes(routes!(departures_list, departures_create))
        .routes(routes!(departure_get, departure_patch))
        .routes(routes!(departure_manifest))
}

/// A JSON object body.
fn object(v: Value) -> Result<Fields, AppError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(AppError::field("body", "invalid_type", "the body must be a JSON object")),
    }
}

/// The `version` of a `PATCH` body, required.
fn version_of(f: &Fields) -> Result<i64, AppError> {
    match f.get("version") {
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or(0)),
        Some(_) => Err(AppError::field("version", "invalid_type", "version must be a whole number")),
        None => Err(AppError::field("version", "required", "version is required: send the version you read")),
    }
}

fn list_answer<T: serde::Serialize>(page: store::Page<T>) -> Json<Value> {
    Json(json!({"items": page.items, "next": next_cursor(page.next)}))
}

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(json!(v))).into_response()
}

// ---------------------------------------------------------------------------
// Suppliers

/// Filters of the supplier list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SupplierQuery {
    /// Name fragment or pinyin prefix.
    pub q: Option<String>,
    /// `ground_handler`, `hotel`, `carrier`, `attraction`, `other`.
    pub kind: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// `true` or `false`.
    pub active: Option<String>,
    /// Page size 1–200.
    pub limit: Option<i64>,
    /// `next` of the previous page.
    pub before: Option<String>,
}

impl SupplierQuery {
    pub(crate) fn filter(&self) -> Result<store::resources::SupplierFilter, AppError> {
        Ok(store::resources::SupplierFilter {
            q: self.q.clone(),
            kind: self.kind.clone(),
            province: self.province.clone(),
            city: self.city.clone(),
            active: opt_bool("active", self.active.as_deref())?,
        })
    }
    pub(crate) fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit, before: self.before.clone() }
    }
}

/// Lists suppliers, newest first.
#[utoipa::path(get, path = "/api/v1/suppliers", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(SupplierQuery), responses((status = 200, description = "{items, next}")))]
async fn suppliers_list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SupplierQuery>,
) -> Result<Json<Value>, AppError> {
    let p = q.page();
    let page = store::resources::list_suppliers(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    Ok(list_answer(page))
}

/// Creates a supplier; `contacts` is a list of `{name, role, mobile, email, wechat}`.
#[utoipa::path(post, path = "/api/v1/suppliers", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"), request_body(content = Object, description = "the supplier's fields"),
    responses((status = 201, description = "the supplier"), (status = 422, body = crate::error::ErrorBody)))]
async fn suppliers_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<Value>,
) -> Result<Response, AppError> {
    let d = input::supplier(&object(b)?)?;
    let mut tx = state.store.begin().await?;
    let s = store::resources::create_supplier(&mut tx, &req.actor()?, &d).await?;
    tx.commit().await?;
    Ok(created(s))
}

/// Reads a supplier.
#[utoipa::path(get, path = "/api/v1/suppliers/{id}", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "supplier id")), responses((status = 200, description = "the supplier"), (status = 404, body = crate::error::ErrorBody)))]
async fn supplier_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(store::resources::get_supplier(&state.store, SupplierId(id)).await?)))
}

/// Changes a supplier: send the fields to change and the `version` you read.
#[utoipa::path(patch, path = "/api/v1/suppliers/{id}", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    params(("id" = i64, Path, description = "supplier id")),
    responses((status = 200, description = "the supplier"), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn supplier_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Value>,
) -> Result<Json<Value>, AppError> {
    let current = store::resources::get_supplier(&state.store, SupplierId(id)).await?;
    let b = object(b)?;
    let version = version_of(&b)?;
    let d = input::supplier(&overlay(fields_of(&current.data), b))?;
    let mut tx = state.store.begin().await?;
    let s = store::resources::update_supplier(&mut tx, &req.actor()?, current.id, version, &d).await?;
    tx.commit().await?;
    Ok(Json(json!(s)))
}

// ---------------------------------------------------------------------------
// Resources

/// Filters of the resource list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ResourceQuery {
    /// Name fragment or pinyin prefix.
    pub q: Option<String>,
    /// `attraction`, `accommodation`, `transport`, `route`.
    pub kind: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Supplier id.
    pub supplier_id: Option<String>,
    /// `true` or `false`.
    pub active: Option<String>,
    /// Page size 1–200.
    pub limit: Option<i64>,
    /// `next` of the previous page.
    pub before: Option<String>,
}

impl ResourceQuery {
    pub(crate) fn filter(&self) -> Result<store::resources::ResourceFilter, AppError> {
        Ok(store::resources::ResourceFilter {
            q: self.q.clone(),
            kind: self.kind.clone(),
            province: self.province.clone(),
            city: self.city.clone(),
            supplier_id: opt_id_param("supplier_id", self.supplier_id.as_deref())?.map(SupplierId),
            active: opt_bool("active", self.active.as_deref())?,
        })
    }
    pub(crate) fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit, before: self.before.clone() }
    }
}

/// Lists library resources, newest first.
#[utoipa::path(get, path = "/api/v1/resources", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(ResourceQuery), responses((status = 200, description = "{items, next}")))]
async fn resources_list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ResourceQuery>,
) -> Result<Json<Value>, AppError> {
    let p = q.page();
    let page = store::resources::list_resources(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    Ok(list_answer(page))
}

/// Creates a resource. `details` by kind: attraction `{ticket_price,
/// opening_hours}`; accommodation `{star_rating, room_types: [{name,
/// max_occupancy}]}`; transport `{mode, carrier, service_no, from, to}`;
/// route `{days: [{day, title, stops: [name | {resource_id}], meals: "BLD" |
/// "早午晚", lodging: name | {resource_id}}]}`.
#[utoipa::path(post, path = "/api/v1/resources", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    responses((status = 201, description = "the resource"), (status = 422, body = crate::error::ErrorBody)))]
async fn resources_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<Value>,
) -> Result<Response, AppError> {
    let d = input::resource(&state, &object(b)?).await?;
    let mut tx = state.store.begin().await?;
    let r = store::resources::create_resource(&mut tx, &req.actor()?, &d).await?;
    tx.commit().await?;
    Ok(created(r))
}

/// Reads a resource.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "resource id")), responses((status = 200, description = "the resource"), (status = 404, body = crate::error::ErrorBody)))]
async fn resource_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(store::resources::get_resource(&state.store, ResourceId(id)).await?)))
}

/// Changes a resource (`details` replaced as a whole when sent).
#[utoipa::path(patch, path = "/api/v1/resources/{id}", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    params(("id" = i64, Path, description = "resource id")),
    responses((status = 200, description = "the resource"), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn resource_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Value>,
) -> Result<Json<Value>, AppError> {
    let current = store::resources::get_resource(&state.store, ResourceId(id)).await?;
    let b = object(b)?;
    let version = version_of(&b)?;
    let d = input::resource(&state, &overlay(fields_of(&current.data), b)).await?;
    let mut tx = state.store.begin().await?;
    let r = store::resources::update_resource(&mut tx, &req.actor()?, current.id, version, &d).await?;
    tx.commit().await?;
    Ok(Json(json!(r)))
}

// ---------------------------------------------------------------------------
// Products

/// Filters of the product list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProductQuery {
    /// Name fragment, code or pinyin prefix.
    pub q: Option<String>,
    /// Product type code.
    pub product_type: Option<String>,
    /// Supplier id.
    pub supplier_id: Option<String>,
    /// `true` or `false`.
    pub active: Option<String>,
    /// Page size 1–200.
    pub limit: Option<i64>,
    /// `next` of the previous page.
    pub before: Option<String>,
}

impl ProductQuery {
    pub(crate) fn filter(&self) -> Result<store::products::Filter, AppError> {
        Ok(store::products::Filter {
            q: self.q.clone(),
            product_type: self.product_type.clone(),
            supplier_id: opt_id_param("supplier_id", self.supplier_id.as_deref())?.map(SupplierId),
            active: opt_bool("active", self.active.as_deref())?,
        })
    }
    pub(crate) fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit, before: self.before.clone() }
    }
}

/// Lists products, newest first.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(ProductQuery), responses((status = 200, description = "{items, next}")))]
async fn products_list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProductQuery>,
) -> Result<Json<Value>, AppError> {
    let p = q.page();
    let page = store::products::list(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    Ok(list_answer(page))
}

/// Creates a product; prices are strings in yuan (`"3980.00"`).
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    responses((status = 201, description = "the product"), (status = 422, body = crate::error::ErrorBody)))]
async fn products_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<Value>,
) -> Result<Response, AppError> {
    let d = input::product(&object(b)?)?;
    let mut tx = state.store.begin().await?;
    let p = store::products::create(&mut tx, &req.actor()?, &d).await?;
    tx.commit().await?;
    Ok(created(p))
}

/// Reads a product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "product id")), responses((status = 200, description = "the product"), (status = 404, body = crate::error::ErrorBody)))]
async fn product_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(store::products::get(&state.store, ProductId(id)).await?)))
}

/// Changes a product.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    params(("id" = i64, Path, description = "product id")),
    responses((status = 200, description = "the product"), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn product_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Value>,
) -> Result<Json<Value>, AppError> {
    let current = store::products::get(&state.store, ProductId(id)).await?;
    let b = object(b)?;
    let version = version_of(&b)?;
    let d = input::product(&overlay(fields_of(&current.data), b))?;
    let mut tx = state.store.begin().await?;
    let p = store::products::update(&mut tx, &req.actor()?, current.id, version, &d).await?;
    tx.commit().await?;
    Ok(Json(json!(p)))
}

// ---------------------------------------------------------------------------
// Departures

/// Filters of the departure list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DepartureQuery {
    /// Product id.
    pub product_id: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// `2026-12`.
    pub month: Option<String>,
    /// Page size 1–200.
    pub limit: Option<i64>,
    /// `next` of the previous page.
    pub before: Option<String>,
}

impl DepartureQuery {
    pub(crate) fn filter(&self) -> Result<store::departures::Filter, AppError> {
        let month = self.month.as_deref().map(str::trim).filter(|m| !m.is_empty());
        if let Some(m) = month {
            super::parse_month(m)?;
        }
        let status = self.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = status {
            domain::travel::departure::DepartureStatus::from_code(s)
                .ok_or_else(|| AppError::field("status", "invalid_choice", "status is not a departure status"))?;
        }
        Ok(store::departures::Filter {
            product_id: opt_id_param("product_id", self.product_id.as_deref())?.map(ProductId),
            status: status.map(str::to_string),
            month: month.map(str::to_string),
        })
    }
    pub(crate) fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit, before: self.before.clone() }
    }
}

/// Lists departures; each has `seats_left`.
#[utoipa::path(get, path = "/api/v1/departures", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(DepartureQuery), responses((status = 200, description = "{items, next}"), (status = 422, body = crate::error::ErrorBody)))]
async fn departures_list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DepartureQuery>,
) -> Result<Json<Value>, AppError> {
    let p = q.page();
    let page = store::departures::list(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    Ok(list_answer(page))
}

/// Creates a departure: `product_id`, `departure_date`, `capacity`
/// required; `return_date` defaults from the product's days, prices from
/// its prices; `status` `planning` (default) or `open`. The code is made
/// from the product code and the date.
#[utoipa::path(post, path = "/api/v1/departures", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    responses((status = 201, description = "the departure"), (status = 422, body = crate::error::ErrorBody)))]
async fn departures_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<Value>,
) -> Result<Response, AppError> {
    let (d, status) = input::departure(&state, &object(b)?).await?;
    let mut tx = state.store.begin().await?;
    let status = status.unwrap_or(domain::travel::departure::DepartureStatus::Planning);
    let dep = store::departures::create(&mut tx, &req.actor()?, &d, status).await?;
    tx.commit().await?;
    Ok(created(dep))
}

/// Reads a departure with `seats_left`.
#[utoipa::path(get, path = "/api/v1/departures/{id}", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "departure id")), responses((status = 200, description = "the departure"), (status = 404, body = crate::error::ErrorBody)))]
async fn departure_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(store::departures::get(&state.store, DepartureId(id)).await?)))
}

/// Changes a departure; `status` moves only as the status rules allow, a
/// capacity below the seats sold is 422 on `capacity`.
#[utoipa::path(patch, path = "/api/v1/departures/{id}", tag = "catalog", security(("keyuan" = ["catalog.write"])), request_body(content = Object, description = "JSON object of the record's fields (PATCH: the fields to change and `version`)"),
    params(("id" = i64, Path, description = "departure id")),
    responses((status = 200, description = "the departure"), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn departure_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Value>,
) -> Result<Json<Value>, AppError> {
    let current = store::departures::get(&state.store, DepartureId(id)).await?;
    let b = object(b)?;
    let version = version_of(&b)?;
    let (d, status) = input::departure(&state, &overlay(input::departure_fields(&current), b)).await?;
    let mut tx = state.store.begin().await?;
    let dep = store::departures::update(&mut tx, &req.actor()?, current.id, version, &d, status).await?;
    tx.commit().await?;
    Ok(Json(json!(dep)))
}

/// The manifest: travellers of the departure's live orders. ID card and
/// passport numbers are masked unless your `customers.pii` grant reaches
/// the customer (then shown in full, and the reveal audited).
#[utoipa::path(get, path = "/api/v1/departures/{id}/manifest", tag = "catalog", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "departure id")), responses((status = 200, description = "{departure, items}"), (status = 404, body = crate::error::ErrorBody)))]
async fn departure_manifest(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (dep, rows) = manifest_for(&state, &req, DepartureId(id)).await?;
    Ok(Json(json!({"departure": dep, "items": rows})))
}
