//! `/api/v1/opportunities`: list, create, read, change with `version`, and
//! move along the pipeline (`…/{id}/stage`).

use super::input::{self, OppInput};
use super::{is_manager, today};
use crate::ctx::Req;
use crate::customers::Names;
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, ApiQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::access::Permission;
use domain::ids::{CustomerId, OpportunityId, UserId};
use serde::{Deserialize, Serialize};
use store::opportunities::{Filter, Opportunity};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch))
        .routes(routes!(api_stage, api_stage_patch))
}

/// An opportunity. Money in yuan with two decimals (`"12800.00"`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OpportunityOut {
    id: i64,
    customer_id: i64,
    customer_name: String,
    title: String,
    product_id: Option<i64>,
    /// Product type code (`long_haul` …).
    product_type: Option<String>,
    destination: Option<String>,
    adults: u32,
    children: u32,
    budget: Option<String>,
    expected_value: String,
    /// Expected value weighed by the stage's probability.
    weighted_value: String,
    /// ISO date.
    close_date: Option<String>,
    /// `new`, `qualified`, `quoted`, `negotiating`, `won`, `lost`.
    stage: String,
    lost_reason: Option<String>,
    /// Source channel code.
    source: Option<String>,
    owner_id: i64,
    owner_name: String,
    team_id: Option<i64>,
    order_id: Option<i64>,
    notes: Option<String>,
    closed_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Send back when changing the opportunity.
    version: i64,
}

impl OpportunityOut {
    pub(crate) async fn build(state: &AppState, names: &mut Names, o: Opportunity) -> Result<Self, AppError> {
        let owner_name = names.of(state, o.owner_id).await?;
        let weighted = o.rules().weighted_value();
        Ok(OpportunityOut {
            id: o.id.0,
            customer_id: o.customer_id.0,
            customer_name: o.customer_name,
            title: o.title,
            product_id: o.product_id.map(|p| p.0),
            product_type: o.product_type.map(|p| p.code().to_string()),
            destination: o.destination,
            adults: o.adults,
            children: o.children,
            budget: o.budget.map(|b| b.to_string()),
            expected_value: o.expected_value.to_string(),
            weighted_value: weighted.to_string(),
            close_date: o.close_date.map(|d| d.to_string()),
            stage: o.stage.code().to_string(),
            lost_reason: o.lost_reason,
            source: o.source,
            owner_id: o.owner_id.0,
            owner_name,
            team_id: o.team_id.map(|t| t.0),
            order_id: o.order_id.map(|x| x.0),
            notes: o.notes,
            closed_at: o.closed_at.map(rfc3339),
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
            version: o.version,
        })
    }
}

/// A page of opportunities.
#[derive(Serialize, utoipa::ToSchema)]
struct OpportunityList {
    items: Vec<OpportunityOut>,
    /// Pass as `before` for the next page; `null` on the last.
    next: Option<String>,
}

/// Filters of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Customer name or title contains this.
    pub q: Option<String>,
    /// Stage code; `open` for every open stage.
    pub stage: Option<String>,
    /// Owner's user id.
    pub owner: Option<String>,
    pub customer_id: Option<String>,
    /// Expected close month, `YYYY-MM`.
    pub close_month: Option<String>,
    pub limit: Option<i64>,
    pub before: Option<String>,
}

impl ListQuery {
    pub(crate) fn filter(&self, default_limit: i64) -> Result<Filter, AppError> {
        let mut f = Filter { q: self.q.clone(), limit: default_limit, ..Default::default() };
        let nonempty = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        match nonempty(&self.stage).as_deref() {
            None => {}
            Some("open") => f.open_only = true,
            Some(s) => f.stage = Some(input::stage(s)?),
        }
        let int = |field: &str, s: Option<String>| -> Result<Option<i64>, AppError> {
            s.map(|s| {
                s.parse::<i64>().map_err(|_| AppError::field(field, "invalid", format!("{field} must be a number")))
            })
            .transpose()
        };
        f.owner_id = int("owner", nonempty(&self.owner))?.map(UserId);
        f.customer_id = int("customer_id", nonempty(&self.customer_id))?.map(CustomerId);
        f.before = int("before", nonempty(&self.before))?;
        if let Some(m) = nonempty(&self.close_month) {
            if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err() || m.len() != 7 {
                return Err(AppError::field("close_month", "invalid", "close_month must be a month such as 2027-01"));
            }
            f.close_month = Some(m);
        }
        if let Some(l) = self.limit {
            if !(1..=200).contains(&l) {
                return Err(AppError::field("limit", "out_of_range", "limit must be between 1 and 200"));
            }
            f.limit = l;
        }
        Ok(f)
    }
}

/// Lists the opportunities the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/opportunities", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(ListQuery),
    responses((status = 200, body = OpportunityList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<OpportunityList>, AppError> {
    let f = q.filter(50)?;
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let page = store::opportunities::list(&state.store, &vis, &f).await?;
    let mut names = Names::default();
    let mut items = Vec::with_capacity(page.items.len());
    for o in page.items {
        items.push(OpportunityOut::build(&state, &mut names, o).await?);
    }
    Ok(Json(OpportunityList { items, next: page.next.map(|n| n.to_string()) }))
}

/// An opportunity's fields. On `POST`, `customer_id`, `title` and
/// `close_date` are required; on `PATCH` send any subset with `version`
/// (`""` clears an optional text). Money as `"12800.00"`, dates ISO.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpportunityBody {
    customer_id: Option<i64>,
    title: Option<String>,
    product_id: Option<i64>,
    product_type: Option<String>,
    destination: Option<String>,
    adults: Option<u32>,
    children: Option<u32>,
    budget: Option<String>,
    expected_value: Option<String>,
    close_date: Option<String>,
    source: Option<String>,
    /// Default: you. Another person needs a manager's `sales.write`.
    owner_id: Option<i64>,
    notes: Option<String>,
    /// `PATCH` only: the version the change is based on.
    version: Option<i64>,
}

impl OpportunityBody {
    fn apply(self, mut i: OppInput) -> OppInput {
        let set = |t: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *t = v;
            }
        };
        if let Some(c) = self.customer_id {
            i.customer_id = c.to_string();
        }
        set(&mut i.title, self.title);
        if let Some(p) = self.product_id {
            i.product_id = p.to_string();
        }
        set(&mut i.product_type, self.product_type);
        set(&mut i.destination, self.destination);
        if let Some(a) = self.adults {
            i.adults = a.to_string();
        }
        if let Some(c) = self.children {
            i.children = c.to_string();
        }
        set(&mut i.budget, self.budget);
        set(&mut i.expected_value, self.expected_value);
        set(&mut i.close_date, self.close_date);
        set(&mut i.source, self.source);
        if let Some(o) = self.owner_id {
            i.owner_id = o.to_string();
        }
        set(&mut i.notes, self.notes);
        i
    }
}

/// Creates an opportunity at stage `new` and answers it (201).
pub(crate) async fn create(state: &AppState, req: &Req, i: &OppInput) -> Result<Opportunity, AppError> {
    let me = req.user()?;
    let draft = i.check(me.user.id, is_manager(req))?;
    let customers = req.visibility(state, Permission::CustomersRead).await?;
    let mut tx = state.store.begin().await?;
    let o = store::opportunities::create(&mut tx, &req.actor()?, &customers, &draft).await?;
    tx.commit().await?;
    Ok(o)
}

/// Changes an opportunity's fields (not its stage).
pub(crate) async fn update(
    state: &AppState,
    req: &Req,
    current: &Opportunity,
    version: i64,
    i: &OppInput,
) -> Result<Opportunity, AppError> {
    let me = req.user()?;
    // Keeping someone else's ownership is not choosing another owner.
    let may_assign = is_manager(req) || i.owner_id.trim() == current.owner_id.to_string();
    let draft = i.check(me.user.id, may_assign)?;
    let vis = req.visibility(state, Permission::SalesWrite).await?;
    let customers = req.visibility(state, Permission::CustomersRead).await?;
    let mut tx = state.store.begin().await?;
    let o = store::opportunities::update(&mut tx, &req.actor()?, &vis, &customers, current.id, version, &draft).await?;
    tx.commit().await?;
    Ok(o)
}

/// Moves an opportunity to `stage`.
pub(crate) async fn move_stage(
    state: &AppState,
    req: &Req,
    id: OpportunityId,
    version: i64,
    stage: &str,
    lost_reason: Option<&str>,
) -> Result<Opportunity, AppError> {
    let to = input::stage(stage)?;
    let vis = req.visibility(state, Permission::SalesWrite).await?;
    let today = today(state).await?;
    let mut tx = state.store.begin().await?;
    let o = store::opportunities::change_stage(
        &mut tx,
        &req.actor()?,
        &vis,
        id,
        version,
        to,
        lost_reason,
        is_manager(req),
        today,
    )
    .await?;
    tx.commit().await?;
    Ok(o)
}

/// Creates an opportunity for a customer the caller may see.
#[utoipa::path(post, path = "/api/v1/opportunities", tag = "sales", security(("keyuan" = ["sales.write"])),
    request_body = OpportunityBody,
    responses((status = 201, body = OpportunityOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(body): ApiJson<OpportunityBody>,
) -> Result<(StatusCode, Json<OpportunityOut>), AppError> {
    if body.version.is_some() {
        return Err(AppError::field("version", "unknown_field", "version is only sent when changing"));
    }
    let i = body.apply(OppInput { adults: "1".into(), children: "0".into(), ..Default::default() });
    let o = create(&state, &req, &i).await?;
    Ok((StatusCode::CREATED, Json(OpportunityOut::build(&state, &mut Names::default(), o).await?)))
}

/// One opportunity.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "opportunity id")),
    responses((status = 200, body = OpportunityOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<OpportunityOut>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let o = store::opportunities::get(&state.store, &vis, OpportunityId(id)).await?;
    Ok(Json(OpportunityOut::build(&state, &mut Names::default(), o).await?))
}

/// Changes an opportunity's fields with the `version` read; the stage moves
/// through `…/stage`.
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "sales", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "opportunity id")),
    request_body = OpportunityBody,
    responses((status = 200, body = OpportunityOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<OpportunityBody>,
) -> Result<Json<OpportunityOut>, AppError> {
    let version = body.version.ok_or_else(|| AppError::field("version", "required", "send the version you read"))?;
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let current = store::opportunities::get(&state.store, &vis, OpportunityId(id)).await?;
    let i = body.apply(OppInput::of(&current));
    let o = update(&state, &req, &current, version, &i).await?;
    Ok(Json(OpportunityOut::build(&state, &mut Names::default(), o).await?))
}

/// A move along the pipeline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageBody {
    /// The stage to move to.
    stage: String,
    version: i64,
    /// Required when moving to `lost`.
    lost_reason: Option<String>,
}

async fn stage_inner(state: AppState, req: Req, id: i64, b: StageBody) -> Result<Json<OpportunityOut>, AppError> {
    let o = move_stage(&state, &req, OpportunityId(id), b.version, &b.stage, b.lost_reason.as_deref()).await?;
    Ok(Json(OpportunityOut::build(&state, &mut Names::default(), o).await?))
}

/// Moves an opportunity to another stage: `lost` needs `lost_reason` (422
/// naming it); reopening a won or lost one (to `qualified`) needs a manager.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/stage", tag = "sales", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "opportunity id")),
    request_body = StageBody,
    responses((status = 200, body = OpportunityOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_stage(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<StageBody>,
) -> Result<Json<OpportunityOut>, AppError> {
    stage_inner(state, req, id, b).await
}

/// The same move as `POST …/stage` (the board sends `PATCH`).
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}/stage", tag = "sales", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "opportunity id")),
    request_body = StageBody,
    responses((status = 200, body = OpportunityOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_stage_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<StageBody>,
) -> Result<Json<OpportunityOut>, AppError> {
    stage_inner(state, req, id, b).await
}
