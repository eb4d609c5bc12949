//! Contact persons of organizations and partners (办公室主任, 工会主席 …, one
//! of them primary) and travel intentions of any customer: checks, the forms
//! on the 360° page and the API.

use super::detail::{page, Echo, Extra};
use super::{text, Problem, INTENTION_STATUSES};
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, PageForm};
use crate::page::see_other;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::access::Permission;
use domain::customer::{parse_landline, parse_mobile, ContactRole, CustomerKind};
use domain::ids::{ContactId, CustomerId, IntentionId};
use domain::money::Money;
use domain::user::parse_optional_email;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Deserializer, Serialize};
use store::customers::{Contact, ContactDraft, Customer, Intention, IntentionDraft};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contact_submit))
        .routes(routes!(contact_delete_submit))
        .routes(routes!(contact_primary_submit))
        .routes(routes!(intention_submit))
        .routes(routes!(intention_status_submit))
        .routes(routes!(api_contacts, api_add_contact))
        .routes(routes!(api_delete_contact))
        .routes(routes!(api_intentions, api_add_intention))
        .routes(routes!(api_patch_intention))
}

/// A checkbox (`"1"`, `"on"`, `"true"`) or a JSON boolean.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Text(t) => matches!(t.trim(), "1" | "on" | "true" | "yes"),
    })
}

/// A number as JSON number or text (forms send text).
fn num_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumText {
        Int(i64),
        Float(f64),
        Text(String),
        Null(()),
    }
    Ok(match NumText::deserialize(d)? {
        NumText::Int(n) => n.to_string(),
        NumText::Float(f) => f.to_string(),
        NumText::Text(t) => t,
        NumText::Null(()) => String::new(),
    })
}

/// The customer, if the caller may change it (404 otherwise).
async fn writable(state: &AppState, req: &Req, id: i64) -> Result<Customer, AppError> {
    let vis = req.visibility(state, Permission::CustomersWrite).await?;
    Ok(store::customers::get(&state.store, &vis, CustomerId(id)).await?)
}

/// The customer, if the caller may see it (404 otherwise).
async fn readable(state: &AppState, req: &Req, id: i64) -> Result<Customer, AppError> {
    let vis = req.visibility(state, Permission::CustomersRead).await?;
    Ok(store::customers::get(&state.store, &vis, CustomerId(id)).await?)
}

/// Shows the 360° page again with a sub-form's problems.
async fn form_problem(
    state: &AppState,
    req: &Req,
    id: i64,
    section: &'static str,
    e: AppError,
    echo: Echo,
) -> Result<Response, AppError> {
    let problem = Problem::from_error(e)?;
    let status = problem.status();
    let html =
        page(state, req, CustomerId(id), Extra { section, problem: Some(problem), echo, ..Default::default() }).await?;
    Ok((status, html).into_response())
}

// ---------------------------------------------------------------------------
// Contacts

/// A contact person.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactBody {
    #[serde(default)]
    pub name: String,
    /// `office_director`, `secretary`, `union_chair`, `general_manager`, `hr`, `finance`, `other`.
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub landline: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub wechat: String,
    /// Makes this the primary contact (the previous one stays, not primary).
    #[serde(default, deserialize_with = "flag")]
    #[schema(value_type = bool)]
    pub is_primary: bool,
    #[serde(default)]
    pub notes: String,
    /// Pages only (checked by the CSRF layer before the handler runs).
    #[serde(default)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub csrf: String,
}

fn check_contact(c: &Customer, b: &ContactBody) -> Result<ContactDraft, AppError> {
    let mut errs = FieldErrors::new();
    if c.data.kind == CustomerKind::Individual.code() {
        errs.push(FieldError::new("contact", "not_for_kind", "contact persons belong to organizations and partners"));
    }
    let name = match errs.check(text("name", &b.name, 64)) {
        Some(None) => {
            errs.push(FieldError::required("name"));
            None
        }
        other => other.flatten(),
    };
    let role = errs.check(ContactRole::parse("role", &b.role));
    let opt = |v: &str, f: fn(&str) -> Result<String, FieldError>| {
        if v.trim().is_empty() {
            Ok(None)
        } else {
            f(v).map(Some)
        }
    };
    let mobile = errs.check(opt(&b.mobile, |s| parse_mobile("mobile", s))).flatten();
    let landline = errs.check(opt(&b.landline, |s| parse_landline("landline", s))).flatten();
    let email = errs.check(parse_optional_email("email", &b.email)).flatten();
    let title = errs.check(text("title", &b.title, 64)).flatten();
    let wechat = errs.check(text("wechat", &b.wechat, 64)).flatten();
    let notes = errs.check(text("notes", &b.notes, 500)).flatten();
    errs.into_result()?;
    let (Some(name), Some(role)) = (name, role) else {
        return Err(AppError::Internal("checked contact fields missing".into()));
    };
    Ok(ContactDraft {
        name,
        role: role.code().to_string(),
        title,
        mobile,
        landline,
        email,
        wechat,
        is_primary: b.is_primary,
        notes,
    })
}

async fn add_contact(state: &AppState, req: &Req, id: i64, b: &ContactBody) -> Result<ContactId, AppError> {
    let c = writable(state, req, id).await?;
    let d = check_contact(&c, b)?;
    let mut tx = state.store.begin().await?;
    let cid = store::customers::add_contact(&mut tx, &req.actor()?, &c, &d).await?;
    tx.commit().await?;
    Ok(cid)
}

async fn remove_contact(state: &AppState, req: &Req, id: i64, contact: i64) -> Result<(), AppError> {
    let c = writable(state, req, id).await?;
    let mut tx = state.store.begin().await?;
    store::customers::remove_contact(&mut tx, &req.actor()?, &c, ContactId(contact)).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a contact person from the 360° page.
#[utoipa::path(post, path = "/customers/{id}/contacts", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")),
    request_body(content = ContactBody, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "added"), (status = 422, description = "the page with the form's problems", content_type = "text/html")))]
async fn contact_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(b): PageForm<ContactBody>,
) -> Result<Response, AppError> {
    match add_contact(&state, &req, id, &b).await {
        Ok(_) => Ok(see_other(&format!("/customers/{id}?saved=contact#contacts"))),
        Err(e) => form_problem(&state, &req, id, "contacts", e, Echo::contact(&b)).await,
    }
}

/// The CSRF token of a button form.
#[derive(Deserialize, utoipa::ToSchema)]
struct ButtonForm {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
}

/// Removes a contact person.
#[utoipa::path(post, path = "/customers/{id}/contacts/{contact_id}/delete", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id"), ("contact_id" = i64, Path, description = "contact id")),
    request_body(content = ButtonForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "removed"), (status = 404, description = "no such contact")))]
async fn contact_delete_submit(
    State(state): State<AppState>,
    req: Req,
    Path((id, contact)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    remove_contact(&state, &req, id, contact).await?;
    Ok(see_other(&format!("/customers/{id}?saved=contact#contacts")))
}

/// Makes a contact person the primary one.
#[utoipa::path(post, path = "/customers/{id}/contacts/{contact_id}/primary", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id"), ("contact_id" = i64, Path, description = "contact id")),
    request_body(content = ButtonForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "changed"), (status = 404, description = "no such contact")))]
async fn contact_primary_submit(
    State(state): State<AppState>,
    req: Req,
    Path((id, contact)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let c = writable(&state, &req, id).await?;
    let mut tx = state.store.begin().await?;
    store::customers::set_primary_contact(&mut tx, &req.actor()?, &c, ContactId(contact)).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/customers/{id}?saved=contact#contacts")))
}

/// A contact person.
#[derive(Serialize, utoipa::ToSchema)]
struct ContactOut {
    id: i64,
    customer_id: i64,
    name: String,
    /// Role code.
    role: String,
    title: Option<String>,
    mobile: Option<String>,
    landline: Option<String>,
    email: Option<String>,
    wechat: Option<String>,
    is_primary: bool,
    notes: Option<String>,
    version: i64,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        ContactOut {
            id: c.id.0,
            customer_id: c.customer_id.0,
            name: c.name,
            role: c.role,
            title: c.title,
            mobile: c.mobile,
            landline: c.landline,
            email: c.email,
            wechat: c.wechat,
            is_primary: c.is_primary,
            notes: c.notes,
            version: c.version,
        }
    }
}

/// Contact persons, primary first.
#[derive(Serialize, utoipa::ToSchema)]
struct ContactList {
    items: Vec<ContactOut>,
    /// Always `null`.
    next: Option<i64>,
}

/// A customer's contact persons, primary first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "customers", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = ContactList), (status = 404, body = crate::error::ErrorBody)))]
async fn api_contacts(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<ContactList>, AppError> {
    let c = readable(&state, &req, id).await?;
    let items = store::customers::contacts(&state.store, c.id).await?;
    Ok(Json(ContactList { items: items.into_iter().map(ContactOut::from).collect(), next: None }))
}

/// Adds a contact person to an organization or partner.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "customers", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")), request_body = ContactBody,
    responses((status = 201, body = ContactOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_add_contact(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ContactBody>,
) -> Result<(StatusCode, Json<ContactOut>), AppError> {
    let cid = add_contact(&state, &req, id, &b).await?;
    let all = store::customers::contacts(&state.store, CustomerId(id)).await?;
    let c = all.into_iter().find(|c| c.id == cid).ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

/// Removes a contact person.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/contacts/{contact_id}", tag = "customers", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id"), ("contact_id" = i64, Path, description = "contact id")),
    responses((status = 204, description = "removed"), (status = 404, body = crate::error::ErrorBody)))]
async fn api_delete_contact(
    State(state): State<AppState>,
    req: Req,
    Path((id, contact)): Path<(i64, i64)>,
) -> Result<StatusCode, AppError> {
    remove_contact(&state, &req, id, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Travel intentions

/// A travel intention.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntentionBody {
    /// Where to (云南, 三亚, 日本 …).
    #[serde(default)]
    pub destination: String,
    /// When (`2027 春节`, `暑假`).
    #[serde(default)]
    pub period: String,
    /// Budget in CNY (`"12000.00"`).
    #[serde(default, deserialize_with = "num_text")]
    #[schema(value_type = Option<String>)]
    pub budget: String,
    /// Travellers.
    #[serde(default, deserialize_with = "num_text")]
    #[schema(value_type = Option<i64>)]
    pub party_size: String,
    /// `open` (default), `booked` or `dropped`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub notes: String,
    /// Pages only (checked by the CSRF layer before the handler runs).
    #[serde(default)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub csrf: String,
}

fn check_status(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok("open".into());
    }
    INTENTION_STATUSES
        .iter()
        .find(|x| **x == s)
        .map(|x| x.to_string())
        .ok_or_else(|| FieldError::new("status", "invalid_choice", "status must be one of: open, booked, dropped"))
}

fn check_intention(b: &IntentionBody) -> Result<IntentionDraft, AppError> {
    let mut errs = FieldErrors::new();
    let destination = match errs.check(text("destination", &b.destination, 64)) {
        Some(None) => {
            errs.push(FieldError::required("destination"));
            None
        }
        other => other.flatten(),
    };
    let period = errs.check(text("period", &b.period, 64)).flatten();
    let budget_fen = if b.budget.trim().is_empty() {
        None
    } else {
        match errs.check(Money::parse("budget", &b.budget)) {
            Some(m) if m.0 < 0 => {
                errs.push(FieldError::new("budget", "out_of_range", "budget must not be negative"));
                None
            }
            other => other.map(|m| m.0),
        }
    };
    let party_size = match b.party_size.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if (1..=9999).contains(&n) => Some(n),
            _ => {
                errs.push(FieldError::new(
                    "party_size",
                    "out_of_range",
                    "party_size must be a number of travellers, 1 to 9999",
                ));
                None
            }
        },
    };
    let status = errs.check(check_status(&b.status));
    let notes = errs.check(text("notes", &b.notes, 500)).flatten();
    errs.into_result()?;
    let (Some(destination), Some(status)) = (destination, status) else {
        return Err(AppError::Internal("checked intention fields missing".into()));
    };
    Ok(IntentionDraft { destination, period, budget_fen, party_size, status, notes })
}

async fn add_intention(state: &AppState, req: &Req, id: i64, b: &IntentionBody) -> Result<IntentionId, AppError> {
    let c = writable(state, req, id).await?;
    let d = check_intention(b)?;
    let mut tx = state.store.begin().await?;
    let iid = store::customers::add_intention(&mut tx, &req.actor()?, &c, &d).await?;
    tx.commit().await?;
    Ok(iid)
}

async fn set_status(
    state: &AppState,
    req: &Req,
    id: i64,
    intention: i64,
    version: i64,
    status: &str,
) -> Result<(), AppError> {
    let c = writable(state, req, id).await?;
    let status = check_status(status).map_err(AppError::from)?;
    let mut tx = state.store.begin().await?;
    store::customers::set_intention_status(&mut tx, &req.actor()?, &c, IntentionId(intention), version, &status)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a travel intention from the 360° page.
#[utoipa::path(post, path = "/customers/{id}/intentions", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")),
    request_body(content = IntentionBody, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "recorded"), (status = 422, description = "the page with the form's problems", content_type = "text/html")))]
async fn intention_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(b): PageForm<IntentionBody>,
) -> Result<Response, AppError> {
    match add_intention(&state, &req, id, &b).await {
        Ok(_) => Ok(see_other(&format!("/customers/{id}?saved=intention#intentions"))),
        Err(e) => form_problem(&state, &req, id, "intentions", e, Echo::intention(&b)).await,
    }
}

/// A new status for an intention.
#[derive(Deserialize, utoipa::ToSchema)]
struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
}

/// Changes an intention's status from the 360° page.
#[utoipa::path(post, path = "/customers/{id}/intentions/{intention_id}/status", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id"), ("intention_id" = i64, Path, description = "intention id")),
    request_body(content = StatusForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "changed"), (status = 409, description = "changed meanwhile", content_type = "text/html")))]
async fn intention_status_submit(
    State(state): State<AppState>,
    req: Req,
    Path((id, intention)): Path<(i64, i64)>,
    PageForm(f): PageForm<StatusForm>,
) -> Result<Response, AppError> {
    let version = crate::admin::form_version(&f.version)?;
    match set_status(&state, &req, id, intention, version, &f.status).await {
        Ok(()) => Ok(see_other(&format!("/customers/{id}?saved=intention#intentions"))),
        Err(e) => form_problem(&state, &req, id, "intentions", e, Echo::default()).await,
    }
}

/// A travel intention.
#[derive(Serialize, utoipa::ToSchema)]
struct IntentionOut {
    id: i64,
    customer_id: i64,
    destination: String,
    period: Option<String>,
    /// CNY, two decimals.
    budget: Option<String>,
    party_size: Option<i64>,
    /// `open`, `booked`, `dropped`.
    status: String,
    notes: Option<String>,
    /// RFC 3339.
    created_at: String,
    version: i64,
}

impl From<Intention> for IntentionOut {
    fn from(i: Intention) -> Self {
        IntentionOut {
            id: i.id.0,
            customer_id: i.customer_id.0,
            destination: i.destination,
            period: i.period,
            budget: i.budget_fen.map(|f| Money(f).to_string()),
            party_size: i.party_size,
            status: i.status,
            notes: i.notes,
            created_at: rfc3339(i.created_at),
            version: i.version,
        }
    }
}

/// Travel intentions, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct IntentionList {
    items: Vec<IntentionOut>,
    /// Always `null`.
    next: Option<i64>,
}

/// A customer's travel intentions, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/intentions", tag = "customers", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = IntentionList), (status = 404, body = crate::error::ErrorBody)))]
async fn api_intentions(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<IntentionList>, AppError> {
    let c = readable(&state, &req, id).await?;
    let items = store::customers::intentions(&state.store, c.id).await?;
    Ok(Json(IntentionList { items: items.into_iter().map(IntentionOut::from).collect(), next: None }))
}

/// Records a travel intention.
#[utoipa::path(post, path = "/api/v1/customers/{id}/intentions", tag = "customers", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")), request_body = IntentionBody,
    responses((status = 201, body = IntentionOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_add_intention(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<IntentionBody>,
) -> Result<(StatusCode, Json<IntentionOut>), AppError> {
    let iid = add_intention(&state, &req, id, &b).await?;
    let all = store::customers::intentions(&state.store, CustomerId(id)).await?;
    let i = all.into_iter().find(|i| i.id == iid).ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(i.into())))
}

/// A new status, with the version read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct IntentionPatch {
    /// `open`, `booked` or `dropped`.
    status: String,
    version: i64,
}

/// Changes an intention's status; a stale `version` is 409.
#[utoipa::path(patch, path = "/api/v1/customers/{id}/intentions/{intention_id}", tag = "customers", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id"), ("intention_id" = i64, Path, description = "intention id")),
    request_body = IntentionPatch,
    responses((status = 200, body = IntentionOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch_intention(
    State(state): State<AppState>,
    req: Req,
    Path((id, intention)): Path<(i64, i64)>,
    ApiJson(b): ApiJson<IntentionPatch>,
) -> Result<Json<IntentionOut>, AppError> {
    set_status(&state, &req, id, intention, b.version, &b.status).await?;
    let all = store::customers::intentions(&state.store, CustomerId(id)).await?;
    let i = all.into_iter().find(|i| i.id.0 == intention).ok_or(AppError::NotFound)?;
    Ok(Json(i.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intentions_read_money_and_party_size() {
        let b = IntentionBody {
            destination: "云南".into(),
            budget: "12,000.50".into(),
            party_size: "4".into(),
            ..Default::default()
        };
        let d = check_intention(&b).unwrap();
        assert_eq!((d.budget_fen, d.party_size, d.status.as_str()), (Some(1_200_050), Some(4), "open"));
        let bad = IntentionBody {
            budget: "12.345".into(),
            party_size: "0".into(),
            status: "maybe".into(),
            ..Default::default()
        };
        match check_intention(&bad) {
            Err(AppError::Invalid(f)) => {
                let fields: Vec<&str> = f.0.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["destination", "budget", "party_size", "status"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
