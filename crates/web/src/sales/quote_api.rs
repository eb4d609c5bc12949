//! `/api/v1/quotes`: list, create (version 1), read the current version,
//! revise (`PATCH` writes the next version), every version, one version,
//! the difference between two, and status moves.

use super::input::{ExtraInput, LineInput, QuoteInput};
use super::today;
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, ApiQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use domain::access::Permission;
use domain::ids::{CustomerId, OpportunityId, QuoteId};
use domain::travel::quote::{diff, Discount, QuoteDiff, QuoteLine, QuoteStatus};
use serde::{Deserialize, Serialize};
use store::quotes::{Content, Filter, Quote, Version};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch))
        .routes(routes!(api_versions))
        .routes(routes!(api_version))
        .routes(routes!(api_diff))
        .routes(routes!(api_status))
}

/// One line's amounts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LineOut {
    /// Stable within the quote: the same line across versions.
    key: u32,
    /// `product`, `departure` or `extra`.
    kind: String,
    description: String,
    adults: u32,
    children: u32,
    adult_price: String,
    child_price: String,
    /// `none`, `amount` or `percent`.
    discount_type: String,
    /// `"300.00"` or `"5%"`; empty for none.
    discount: String,
    extras: Vec<ExtraOut>,
    /// Adults × adult price + children × child price.
    fare: String,
    /// The discount in yuan (a percentage rounded per line to the 分).
    discount_amount: String,
    extras_total: String,
    total: String,
}

/// An extra charge on a line.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtraOut {
    description: String,
    amount: String,
}

/// A version's content with its totals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VersionOut {
    version_no: u32,
    title: String,
    valid_until: Option<String>,
    notes: Option<String>,
    lines: Vec<LineOut>,
    fare: String,
    discount: String,
    extras: String,
    total: String,
    created_by: Option<i64>,
    created_by_name: String,
    created_at: String,
}

impl VersionOut {
    pub(crate) fn of(v: &Version) -> Result<VersionOut, AppError> {
        let q = v.rules(NaiveDate::MIN, QuoteStatus::Draft);
        let totals = q.totals().map_err(|_| AppError::Internal("stored quote total overflows".into()))?;
        let lines = v.lines.iter().zip(&totals.lines).map(|(l, t)| line_out(l, t)).collect();
        Ok(VersionOut {
            version_no: v.version_no,
            title: v.title.clone(),
            valid_until: v.valid_until.map(|d| d.to_string()),
            notes: v.notes.clone(),
            lines,
            fare: totals.fare.to_string(),
            discount: totals.discount.to_string(),
            extras: totals.extras.to_string(),
            total: totals.total.to_string(),
            created_by: v.created_by.map(|u| u.0),
            created_by_name: v.created_by_name.clone(),
            created_at: rfc3339(v.created_at),
        })
    }
}

fn line_out(l: &QuoteLine, t: &domain::travel::quote::LineTotals) -> LineOut {
    let discount_type = match l.discount {
        Discount::None => "none",
        Discount::Amount(_) => "amount",
        Discount::Percent(_) => "percent",
    };
    LineOut {
        key: l.key,
        kind: l.kind.code().to_string(),
        description: l.description.clone(),
        adults: l.party.adults(),
        children: l.party.children(),
        adult_price: l.adult_price.to_string(),
        child_price: l.child_price.to_string(),
        discount_type: discount_type.to_string(),
        discount: l.discount.to_string(),
        extras: l
            .extras
            .iter()
            .map(|x| ExtraOut { description: x.description.clone(), amount: x.amount.to_string() })
            .collect(),
        fare: t.fare.to_string(),
        discount_amount: t.discount.to_string(),
        extras_total: t.extras.to_string(),
        total: t.total.to_string(),
    }
}

/// A quote: its header and, when read alone, its current version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct QuoteOut {
    id: i64,
    /// `Q2026-000045`.
    number: String,
    customer_id: i64,
    customer_name: String,
    opportunity_id: Option<i64>,
    title: String,
    /// `draft`, `sent`, `accepted`, `rejected`, `expired` (a sent quote past
    /// its validity reads as expired).
    status: String,
    current_version: u32,
    valid_until: Option<String>,
    total: String,
    owner_id: i64,
    team_id: Option<i64>,
    sent_at: Option<String>,
    decided_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Send back when revising or changing the status.
    version: i64,
    /// The current version's content (not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<VersionOut>,
}

impl QuoteOut {
    fn of(q: Quote, today: NaiveDate, current: Option<VersionOut>) -> QuoteOut {
        QuoteOut {
            id: q.id.0,
            status: q.status_on(today).code().to_string(),
            number: q.number,
            customer_id: q.customer_id.0,
            customer_name: q.customer_name,
            opportunity_id: q.opportunity_id.map(|o| o.0),
            title: q.title,
            current_version: q.current_version,
            valid_until: q.valid_until.map(|d| d.to_string()),
            total: q.total.to_string(),
            owner_id: q.owner_id.0,
            team_id: q.team_id.map(|t| t.0),
            sent_at: q.sent_at.map(rfc3339),
            decided_at: q.decided_at.map(rfc3339),
            created_at: rfc3339(q.created_at),
            updated_at: rfc3339(q.updated_at),
            version: q.version,
            current,
        }
    }
}

/// A page of quotes.
#[derive(Serialize, utoipa::ToSchema)]
struct QuoteList {
    items: Vec<QuoteOut>,
    next: Option<String>,
}

/// Filters of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    customer_id: Option<i64>,
    opportunity_id: Option<i64>,
    /// Number, title or customer name contains this.
    q: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

/// Lists the quotes the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/quotes", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(ListQuery),
    responses((status = 200, body = QuoteList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<QuoteList>, AppError> {
    let limit = match q.limit {
        None => 50,
        Some(l) if (1..=200).contains(&l) => l,
        Some(_) => return Err(AppError::field("limit", "out_of_range", "limit must be between 1 and 200")),
    };
    let f = Filter {
        customer_id: q.customer_id.map(CustomerId),
        opportunity_id: q.opportunity_id.map(OpportunityId),
        q: q.q,
        before: q.before,
        limit,
    };
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let page = store::quotes::list(&state.store, &vis, &f).await?;
    let today = today(&state).await?;
    Ok(Json(QuoteList {
        items: page.items.into_iter().map(|q| QuoteOut::of(q, today, None)).collect(),
        next: page.next.map(|n| n.to_string()),
    }))
}

/// A line as sent. Money as `"1999.90"`; give at most one of
/// `discount_amount` and `discount_percent` (`"5"` = 5%). `key` keeps a line
/// the same line across versions; new lines get the next key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineBody {
    key: Option<u32>,
    /// `product`, `departure` (default) or `extra`.
    kind: Option<String>,
    description: String,
    adults: Option<u32>,
    children: Option<u32>,
    adult_price: Option<String>,
    child_price: Option<String>,
    discount_amount: Option<String>,
    discount_percent: Option<String>,
    #[serde(default)]
    extras: Vec<ExtraOut>,
}

impl LineBody {
    fn input(self) -> LineInput {
        let (discount_type, discount) = match (self.discount_percent, self.discount_amount) {
            (Some(p), None) => ("percent", p),
            (None, Some(a)) => ("amount", a),
            // Both: the percent is checked and the amount reported below.
            (Some(p), Some(_)) => ("percent", p),
            (None, None) => ("amount", String::new()),
        };
        LineInput {
            key: self.key.map(|k| k.to_string()).unwrap_or_default(),
            kind: self.kind.unwrap_or_default(),
            description: self.description,
            adults: self.adults.map(|a| a.to_string()).unwrap_or_default(),
            children: self.children.map(|a| a.to_string()).unwrap_or_default(),
            adult_price: self.adult_price.unwrap_or_default(),
            child_price: self.child_price.unwrap_or_default(),
            discount_type: discount_type.to_string(),
            discount,
            extras: self
                .extras
                .into_iter()
                .map(|x| ExtraInput { description: x.description, amount: x.amount })
                .collect(),
        }
    }
}

fn lines_input(lines: Vec<LineBody>) -> Result<Vec<LineInput>, AppError> {
    for (i, l) in lines.iter().enumerate() {
        if l.discount_amount.is_some() && l.discount_percent.is_some() {
            return Err(AppError::field(
                &format!("lines.{i}.discount"),
                "ambiguous",
                "give either discount_amount or discount_percent, not both",
            ));
        }
    }
    Ok(lines.into_iter().map(LineBody::input).collect())
}

/// A new quote: version 1, status draft.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    customer_id: i64,
    opportunity_id: Option<i64>,
    title: String,
    /// ISO date, not before today.
    valid_until: String,
    notes: Option<String>,
    lines: Vec<LineBody>,
}

/// Creates a quote from its content as typed.
pub(crate) async fn create(state: &AppState, req: &Req, i: &QuoteInput) -> Result<Quote, AppError> {
    let mut errors = domain::FieldErrors::new();
    let customer = match i.customer() {
        Ok(c) => Some(c),
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    };
    let opportunity = match i.opportunity() {
        Ok(o) => o,
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    };
    let content = match i.content() {
        Ok(c) => Some(c),
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    };
    let (Some(customer_id), Some(content), true) = (customer, content, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let customers = req.visibility(state, Permission::CustomersRead).await?;
    let sales = req.visibility(state, Permission::SalesWrite).await?;
    let today = today(state).await?;
    let draft = store::quotes::Draft { customer_id, opportunity_id: opportunity, content };
    let mut tx = state.store.begin().await?;
    let q = store::quotes::create(&mut tx, &req.actor()?, &customers, &sales, &draft, today).await?;
    tx.commit().await?;
    Ok(q)
}

/// Writes the next version of a quote.
pub(crate) async fn revise(
    state: &AppState,
    req: &Req,
    id: QuoteId,
    version: i64,
    content: &Content,
) -> Result<Quote, AppError> {
    let vis = req.visibility(state, Permission::SalesWrite).await?;
    let today = today(state).await?;
    let mut tx = state.store.begin().await?;
    let q = store::quotes::revise(&mut tx, &req.actor()?, &vis, id, version, content, today).await?;
    tx.commit().await?;
    Ok(q)
}

/// Moves a quote's status.
pub(crate) async fn set_status(
    state: &AppState,
    req: &Req,
    id: QuoteId,
    version: i64,
    status: &str,
) -> Result<Quote, AppError> {
    let to = QuoteStatus::parse("status", status)?;
    let vis = req.visibility(state, Permission::SalesWrite).await?;
    let today = today(state).await?;
    let mut tx = state.store.begin().await?;
    let q = store::quotes::set_status(&mut tx, &req.actor()?, &vis, id, version, to, today).await?;
    tx.commit().await?;
    Ok(q)
}

/// The difference between versions `from` and `to` of a quote.
pub(crate) async fn diff_of(
    state: &AppState,
    req: &Req,
    id: QuoteId,
    from: u32,
    to: u32,
) -> Result<(Quote, QuoteDiff), AppError> {
    let vis = req.visibility(state, Permission::SalesRead).await?;
    let q = store::quotes::get(&state.store, &vis, id).await?;
    let tz = crate::customers::company_tz(state).await?;
    let issued = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz).date_naive()).unwrap_or_default()
    };
    let a = match store::quotes::version(&state.store, &vis, id, from).await {
        Err(store::StoreError::NotFound) => {
            return Err(AppError::field("from", "not_found", format!("the quote has no version {from}")))
        }
        other => other?,
    };
    let b = match store::quotes::version(&state.store, &vis, id, to).await {
        Err(store::StoreError::NotFound) => {
            return Err(AppError::field("to", "not_found", format!("the quote has no version {to}")))
        }
        other => other?,
    };
    let d = diff(&a.rules(issued(a.created_at), q.status), &b.rules(issued(b.created_at), q.status))
        .map_err(|_| AppError::Internal("stored quote total overflows".into()))?;
    Ok((q, d))
}

/// Creates a quote (version 1) for a customer the caller may see, optionally
/// for one of the customer's opportunities.
#[utoipa::path(post, path = "/api/v1/quotes", tag = "sales", security(("keyuan" = ["sales.write"])),
    request_body = CreateBody,
    responses((status = 201, body = QuoteOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<QuoteOut>), AppError> {
    let i = QuoteInput {
        customer_id: b.customer_id.to_string(),
        opportunity_id: b.opportunity_id.map(|o| o.to_string()).unwrap_or_default(),
        title: b.title,
        valid_until: b.valid_until,
        notes: b.notes.unwrap_or_default(),
        lines: lines_input(b.lines)?,
    };
    let q = create(&state, &req, &i).await?;
    let out = current_out(&state, &req, q).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn current_out(state: &AppState, req: &Req, q: Quote) -> Result<QuoteOut, AppError> {
    let vis = req.visibility(state, Permission::SalesRead).await?;
    let v = store::quotes::version(&state.store, &vis, q.id, q.current_version).await?;
    let today = today(state).await?;
    Ok(QuoteOut::of(q, today, Some(VersionOut::of(&v)?)))
}

/// A quote with its current version.
#[utoipa::path(get, path = "/api/v1/quotes/{id}", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id")),
    responses((status = 200, body = QuoteOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Json<QuoteOut>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let q = store::quotes::get(&state.store, &vis, QuoteId(id)).await?;
    Ok(Json(current_out(&state, &req, q).await?))
}

/// A revision: the fields sent replace the current version's, the rest are
/// kept; the result is the next version (a draft).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchBody {
    version: i64,
    title: Option<String>,
    valid_until: Option<String>,
    notes: Option<String>,
    lines: Option<Vec<LineBody>>,
}

/// Revises a quote: writes the next version (never changes an old one).
#[utoipa::path(patch, path = "/api/v1/quotes/{id}", tag = "sales", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "quote id")),
    request_body = PatchBody,
    responses((status = 200, body = QuoteOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PatchBody>,
) -> Result<Json<QuoteOut>, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let q = store::quotes::get(&state.store, &vis, QuoteId(id)).await?;
    let current = store::quotes::version(&state.store, &vis, q.id, q.current_version).await?;
    let mut i = QuoteInput::of_version(&current);
    if let Some(t) = b.title {
        i.title = t;
    }
    if let Some(v) = b.valid_until {
        i.valid_until = v;
    }
    if let Some(n) = b.notes {
        i.notes = n;
    }
    if let Some(lines) = b.lines {
        i.lines = lines_input(lines)?;
    }
    let content = i.content()?;
    let q = revise(&state, &req, q.id, b.version, &content).await?;
    Ok(Json(current_out(&state, &req, q).await?))
}

/// Every version of a quote, oldest first.
#[utoipa::path(get, path = "/api/v1/quotes/{id}/versions", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id")),
    responses((status = 200, body = Vec<VersionOut>), (status = 404, body = crate::error::ErrorBody)))]
async fn api_versions(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<Vec<VersionOut>>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let all = store::quotes::versions(&state.store, &vis, QuoteId(id)).await?;
    Ok(Json(all.iter().map(VersionOut::of).collect::<Result<_, _>>()?))
}

/// Version `n` of a quote.
#[utoipa::path(get, path = "/api/v1/quotes/{id}/versions/{n}", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id"), ("n" = u32, Path, description = "version number")),
    responses((status = 200, body = VersionOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_version(
    State(state): State<AppState>,
    req: Req,
    Path((id, n)): Path<(i64, u32)>,
) -> Result<Json<VersionOut>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let v = store::quotes::version(&state.store, &vis, QuoteId(id), n).await?;
    Ok(Json(VersionOut::of(&v)?))
}

/// Which versions to compare.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiffQuery {
    pub from: u32,
    pub to: u32,
}

/// The difference between two versions: header changes, lines added,
/// removed and changed (each field before → after), totals before and after.
#[utoipa::path(get, path = "/api/v1/quotes/{id}/diff", tag = "sales", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id"), DiffQuery),
    responses((status = 200, description = "the difference", content_type = "application/json"),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_diff(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<QuoteDiff>, AppError> {
    let (_, d) = diff_of(&state, &req, QuoteId(id), q.from, q.to).await?;
    Ok(Json(d))
}

/// A status move.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `sent`, `accepted`, `rejected` or `expired`.
    status: String,
    version: i64,
}

/// Moves a quote draft → sent → accepted | rejected | expired. Sending
/// moves its opportunity to `quoted` if it was at an earlier stage.
#[utoipa::path(post, path = "/api/v1/quotes/{id}/status", tag = "sales", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "quote id")),
    request_body = StatusBody,
    responses((status = 200, body = QuoteOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_status(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<StatusBody>,
) -> Result<Json<QuoteOut>, AppError> {
    let q = set_status(&state, &req, QuoteId(id), b.version, &b.status).await?;
    Ok(Json(current_out(&state, &req, q).await?))
}
