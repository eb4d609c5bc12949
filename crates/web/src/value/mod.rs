//! Customer value (`value.read`, `value.manage`): evaluation runs (盘点), each
//! customer's value and its history, grades pinned by managers, value alerts
//! as tasks of the owner, and the "likely to book in the next 30 days" call
//! list. Pages live in [`pages`]; the value card of the customer page is
//! built by [`card`]; charts are SVG drawn in [`charts`].

mod charts;
mod pages;

use crate::ctx::Req;
use crate::customers::{company_tz, today_in};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{next_cursor, rfc3339, ApiJson, ApiQuery, PageQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use domain::access::Permission;
use domain::ids::{CustomerId, TeamId, UserId};
use domain::money::Money;
use domain::value::alerts::AlertKind;
use domain::value::settings::ValueSettings;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::value::{AlertRow, CallRow, CustomerValue, Pin, Run};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use pages::{card, Card};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_runs, api_run_create))
        .routes(routes!(api_settings, api_settings_put))
        .routes(routes!(api_customer_value))
        .routes(routes!(api_pin_put, api_pin_delete))
        .routes(routes!(api_alerts))
        .routes(routes!(api_alert_close))
        .routes(routes!(api_call_list))
        .merge(pages::router())
}

/// An evaluation run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RunOut {
    id: i64,
    as_of: String,
    /// `cli`, `schedule` or `manual`.
    trigger: String,
    actor_name: String,
    customers: i64,
    buyers: i64,
    orders: i64,
    alerts: i64,
    /// Counts by grade, stage, quadrant and alert kind; the fitted models
    /// (`model.bgnbd` r, alpha, a, b with time in days; `model.gamma_gamma`
    /// p, q, v in yuan); timings.
    #[schema(value_type = Object)]
    summary: serde_json::Value,
    started_at: String,
    finished_at: Option<String>,
}

fn run_out(r: Run) -> RunOut {
    RunOut {
        id: r.id,
        as_of: r.as_of.to_string(),
        trigger: r.trigger,
        actor_name: r.actor_name,
        customers: r.customers,
        buyers: r.buyers,
        orders: r.orders,
        alerts: r.alerts,
        summary: r.summary,
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
    }
}

/// Runs, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct RunList {
    items: Vec<RunOut>,
}

/// The latest evaluation runs, newest first.
#[utoipa::path(get, path = "/api/v1/value/runs", tag = "value", security(("keyuan" = ["value.read"])),
    responses((status = 200, body = RunList)))]
async fn api_runs(State(state): State<AppState>, req: Req) -> Result<Json<RunList>, AppError> {
    req.visibility(&state, Permission::ValueRead).await?;
    let runs = store::value::runs(&state.store, 50).await?;
    Ok(Json(RunList { items: runs.into_iter().map(run_out).collect() }))
}

/// A run to start.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// Evaluate as of this date (default today); orders after it are ignored.
    as_of: Option<String>,
}

fn parse_as_of(errs: &mut FieldErrors, text: Option<&str>, today: NaiveDate) -> NaiveDate {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => today,
        Some(s) => errs
            .check(
                s.parse::<NaiveDate>()
                    .map_err(|_| FieldError::new("as_of", "invalid_date", "as_of must be a date YYYY-MM-DD"))
                    .and_then(|d| {
                        if d > today {
                            Err(FieldError::new("as_of", "in_future", "as_of cannot be after today"))
                        } else {
                            Ok(d)
                        }
                    }),
            )
            .unwrap_or(today),
    }
}

/// Evaluates every customer now (or as of a past date) and stores the run;
/// answers when it is stored.
#[utoipa::path(post, path = "/api/v1/value/runs", tag = "value", security(("keyuan" = ["value.manage"])),
    request_body = RunBody,
    responses((status = 201, body = RunOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_run_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<RunBody>,
) -> Result<Response, AppError> {
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let as_of = parse_as_of(&mut errs, b.as_of.as_deref(), today);
    errs.into_result()?;
    let report =
        store::value::evaluate(&state.store, &req.actor()?, as_of, store::value::Trigger::Manual, &|_: &str| {})
            .await?;
    Ok((StatusCode::CREATED, Json(run_out(report.run))).into_response())
}

/// The value engine's settings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct SettingsOut {
    /// Window, ABC thresholds (basis points), lifecycle and alert rules,
    /// discount rate and CLV horizon, schedule.
    #[schema(value_type = Object)]
    settings: ValueSettings,
    version: i64,
}

/// The settings of the value engine.
#[utoipa::path(get, path = "/api/v1/value/settings", tag = "value", security(("keyuan" = ["value.read"])),
    responses((status = 200, body = SettingsOut)))]
async fn api_settings(State(state): State<AppState>, req: Req) -> Result<Json<SettingsOut>, AppError> {
    req.visibility(&state, Permission::ValueRead).await?;
    let (settings, version) = store::value::settings(&state.store).await?;
    Ok(Json(SettingsOut { settings, version }))
}

/// Replaces the settings (admins); 409 when `version` is stale, 422 naming
/// every invalid field.
#[utoipa::path(put, path = "/api/v1/value/settings", tag = "value", security(("keyuan" = ["settings.manage"])),
    request_body = SettingsOut,
    responses((status = 200, body = SettingsOut), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn api_settings_put(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<SettingsOut>,
) -> Result<Json<SettingsOut>, AppError> {
    let mut tx = state.store.begin().await?;
    let version = store::value::save_settings(&mut tx, &req.actor()?, &b.settings, b.version).await?;
    tx.commit().await?;
    Ok(Json(SettingsOut { settings: b.settings, version }))
}

/// One customer's value in one run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct ValueOut {
    run_id: i64,
    as_of: String,
    customer_code: String,
    grade: String,
    computed_grade: String,
    quadrant: Option<String>,
    stage: String,
    segment: Option<String>,
    r_score: Option<i64>,
    f_score: Option<i64>,
    m_score: Option<i64>,
    frequency: i64,
    recency_days: i64,
    t_days: i64,
    #[schema(value_type = String)]
    monetary: Money,
    #[schema(value_type = String)]
    window_revenue: Money,
    loyalty: Option<f64>,
    p_alive: Option<f64>,
    expected_purchases_90d: Option<f64>,
    expected_purchases_365d: Option<f64>,
    next_purchase_from: Option<String>,
    next_purchase_to: Option<String>,
    likely_direction: Option<String>,
    #[schema(value_type = Object)]
    direction_reason: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    clv: Option<Money>,
}

fn value_out(v: CustomerValue) -> ValueOut {
    ValueOut {
        run_id: v.run_id,
        as_of: v.as_of.to_string(),
        customer_code: v.customer_code,
        grade: v.grade,
        computed_grade: v.computed_grade,
        quadrant: v.quadrant,
        stage: v.stage,
        segment: v.segment,
        r_score: v.r_score,
        f_score: v.f_score,
        m_score: v.m_score,
        frequency: v.frequency,
        recency_days: v.recency_days,
        t_days: v.t_days,
        monetary: v.monetary,
        window_revenue: v.window_revenue,
        loyalty: v.loyalty,
        p_alive: v.p_alive,
        expected_purchases_90d: v.expected_90d,
        expected_purchases_365d: v.expected_365d,
        next_purchase_from: v.next_from,
        next_purchase_to: v.next_to,
        likely_direction: v.direction,
        direction_reason: v.direction_reason,
        clv: v.clv,
    }
}

/// A pinned grade.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PinOut {
    grade: String,
    reason: String,
    pinned_by: Option<String>,
    pinned_at: String,
}

fn pin_out(p: Pin) -> PinOut {
    PinOut { grade: p.grade, reason: p.reason, pinned_by: p.pinned_by_name, pinned_at: rfc3339(p.pinned_at) }
}

/// A customer's value: the latest run, the history (newest first) and any
/// pinned grade.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CustomerValueOut {
    latest: Option<ValueOut>,
    history: Vec<ValueOut>,
    pin: Option<PinOut>,
}

/// A customer's value and its history across runs.
#[utoipa::path(get, path = "/api/v1/customers/{id}/value", tag = "value", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = CustomerValueOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_customer_value(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<CustomerValueOut>, AppError> {
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let history = store::value::history(&state.store, c.id, 100).await?;
    let pin = store::value::pin_of(&state.store, c.id).await?;
    let history: Vec<ValueOut> = history.into_iter().map(value_out).collect();
    let latest = history.first().cloned();
    Ok(Json(CustomerValueOut { latest, history, pin: pin.map(pin_out) }))
}

/// A grade to pin.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PinBody {
    /// A, B, C or D.
    grade: Option<String>,
    /// Why the numbers do not tell the whole story (required).
    reason: Option<String>,
}

/// Pins a customer's grade (managers); later runs keep it until removed.
#[utoipa::path(put, path = "/api/v1/customers/{id}/grade-pin", tag = "value", security(("keyuan" = ["value.manage"])),
    params(("id" = i64, Path, description = "customer id")), request_body = PinBody,
    responses((status = 200, body = PinOut), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn api_pin_put(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PinBody>,
) -> Result<Json<PinOut>, AppError> {
    let c = pinnable(&state, &req, id).await?;
    let mut tx = state.store.begin().await?;
    store::value::pin(
        &mut tx,
        &req.actor()?,
        c,
        b.grade.as_deref().unwrap_or_default(),
        b.reason.as_deref().unwrap_or_default(),
    )
    .await?;
    tx.commit().await?;
    let pin = store::value::pin_of(&state.store, c).await?.ok_or(AppError::NotFound)?;
    Ok(Json(pin_out(pin)))
}

/// Removes a pinned grade; the next run grades by the numbers again.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/grade-pin", tag = "value", security(("keyuan" = ["value.manage"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 204, description = "removed"), (status = 404, body = crate::error::ErrorBody)))]
async fn api_pin_delete(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<StatusCode, AppError> {
    let c = pinnable(&state, &req, id).await?;
    let mut tx = state.store.begin().await?;
    store::value::unpin(&mut tx, &req.actor()?, c).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The customer, if the manager may see it (404 otherwise).
async fn pinnable(state: &AppState, req: &Req, id: i64) -> Result<CustomerId, AppError> {
    let vis = req.visibility(state, Permission::CustomersRead).await?;
    Ok(store::customers::get(&state.store, &vis, CustomerId(id)).await?.id)
}

/// An alert: a task for the customer's owner.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AlertOut {
    id: i64,
    run_id: i64,
    customer_id: i64,
    customer_code: String,
    customer_name: String,
    owner_id: i64,
    owner_name: String,
    /// `grade_drop`, `value_decline`, `churn_risk` or `overdue`.
    kind: String,
    /// What happened, in words.
    message: String,
    /// `open`, `done` or `dismissed`.
    status: String,
    note: Option<String>,
    created_at: String,
    closed_at: Option<String>,
    version: i64,
}

pub(crate) fn alert_message(detail: &serde_json::Value, lang: Lang) -> String {
    let key = if lang == Lang::Zh { "zh" } else { "en" };
    detail[key].as_str().unwrap_or_default().to_string()
}

fn alert_out(a: AlertRow, lang: Lang) -> AlertOut {
    AlertOut {
        message: alert_message(&a.detail, lang),
        id: a.id,
        run_id: a.run_id,
        customer_id: a.customer_id,
        customer_code: a.customer_code,
        customer_name: a.customer_name,
        owner_id: a.owner_id,
        owner_name: a.owner_name,
        kind: a.kind,
        status: a.status,
        note: a.note,
        created_at: rfc3339(a.created_at),
        closed_at: a.closed_at.map(rfc3339),
        version: a.version,
    }
}

/// A page of alerts.
#[derive(Serialize, utoipa::ToSchema)]
struct AlertList {
    items: Vec<AlertOut>,
    next: Option<String>,
}

/// Alert filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertQuery {
    /// `open` (default), `done`, `dismissed` or `all`.
    pub status: Option<String>,
    /// `grade_drop`, `value_decline`, `churn_risk`, `overdue`.
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub owner_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub customer_id: Option<i64>,
    pub limit: Option<i64>,
    pub before: Option<String>,
}

pub(crate) fn alert_filter(q: &AlertQuery) -> Result<store::value::AlertFilter, AppError> {
    let mut errs = FieldErrors::new();
    let status = match q.status.as_deref().map(str::trim).unwrap_or("open") {
        "" | "open" => Some("open".to_string()),
        "all" => None,
        s @ ("done" | "dismissed") => Some(s.to_string()),
        _ => {
            errs.push(FieldError::new("status", "invalid_choice", "status must be one of: open, done, dismissed, all"));
            None
        }
    };
    let kind = match q.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => errs.check(AlertKind::parse("kind", k)),
    };
    errs.into_result()?;
    let page = PageQuery { limit: q.limit, before: q.before.clone() };
    Ok(store::value::AlertFilter {
        status,
        kind,
        owner_id: q.owner_id.map(UserId),
        customer_id: q.customer_id.map(CustomerId),
        before: page.before()?,
        limit: page.limit()?,
    })
}

/// Value alerts of the customers you may see, newest first (open ones by
/// default).
#[utoipa::path(get, path = "/api/v1/value/alerts", tag = "value", security(("keyuan" = ["value.read"])),
    params(AlertQuery),
    responses((status = 200, body = AlertList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_alerts(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<AlertList>, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let f = alert_filter(&q)?;
    let page = store::value::alerts(&state.store, &vis, &f).await?;
    Ok(Json(AlertList {
        items: page.items.into_iter().map(|a| alert_out(a, req.lang)).collect(),
        next: next_cursor(page.next),
    }))
}

/// How an alert was handled.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// `done` (handled) or `dismissed` (no action needed).
    status: Option<String>,
    /// What was done, e.g. "called, booking Japan in April".
    note: Option<String>,
    version: Option<i64>,
}

/// Closes an alert of a customer you may see; 409 when `version` is stale.
#[utoipa::path(post, path = "/api/v1/value/alerts/{id}/close", tag = "value", security(("keyuan" = ["value.read"])),
    params(("id" = i64, Path, description = "alert id")), request_body = CloseBody,
    responses((status = 204, description = "closed"), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_alert_close(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CloseBody>,
) -> Result<StatusCode, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let Some(version) = b.version else {
        return Err(FieldErrors(vec![FieldError::required("version")]).into());
    };
    let mut tx = state.store.begin().await?;
    store::value::close_alert(
        &mut tx,
        &req.actor()?,
        &vis,
        id,
        version,
        b.status.as_deref().unwrap_or("done").trim(),
        b.note.as_deref().unwrap_or_default(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One customer likely to book soon.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CallOut {
    customer_id: i64,
    customer_code: String,
    customer_name: String,
    owner_id: i64,
    owner_name: String,
    grade: String,
    p_alive: Option<f64>,
    expected_purchases_90d: Option<f64>,
    next_purchase_from: Option<String>,
    next_purchase_to: Option<String>,
    /// When the customer's own travel cycle comes round.
    cycle_due: Option<String>,
    /// `model` (the forecast window opens soon) or `cycle` (their own rhythm).
    reason: String,
    likely_direction: Option<String>,
    /// Why that direction, in words.
    direction_reason: Option<String>,
}

fn call_out(c: CallRow, lang: Lang) -> CallOut {
    let key = if lang == Lang::Zh { "zh" } else { "en" };
    CallOut {
        customer_id: c.value.customer_id,
        customer_code: c.value.customer_code,
        customer_name: c.value.customer_name,
        owner_id: c.value.owner_id,
        owner_name: c.owner_name,
        grade: c.value.grade,
        p_alive: c.value.p_alive,
        expected_purchases_90d: c.value.expected_90d,
        next_purchase_from: c.value.next_from,
        next_purchase_to: c.value.next_to,
        cycle_due: c.cycle_due,
        reason: serde_json::to_value(c.reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        likely_direction: c.value.direction,
        direction_reason: c.value.direction_reason.as_ref().and_then(|r| r[key].as_str().map(str::to_string)),
    }
}

/// The call list and the run it comes from.
#[derive(Serialize, utoipa::ToSchema)]
struct CallList {
    run_id: Option<i64>,
    as_of: Option<String>,
    items: Vec<CallOut>,
}

/// Call-list filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallQuery {
    /// Only this salesperson's customers.
    #[serde(default, deserialize_with = "opt_id")]
    pub owner_id: Option<i64>,
    /// Only this team's customers.
    #[serde(default, deserialize_with = "opt_id")]
    pub team_id: Option<i64>,
    /// Days ahead (1–90, default 30).
    pub days: Option<i64>,
    pub limit: Option<i64>,
}

pub(crate) fn call_filter(q: &CallQuery) -> Result<store::value::CallListFilter, AppError> {
    let days = q.days.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(FieldErrors(vec![FieldError::new("days", "out_of_range", "days must be between 1 and 90")]).into());
    }
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(
            FieldErrors(vec![FieldError::new("limit", "out_of_range", "limit must be between 1 and 1000")]).into()
        );
    }
    Ok(store::value::CallListFilter { owner_id: q.owner_id.map(UserId), team_id: q.team_id.map(TeamId), days, limit })
}

/// Customers likely to book in the next 30 days (by the latest run), with
/// the likely direction, for a salesperson or a team; your own customers
/// when your scope is your own.
#[utoipa::path(get, path = "/api/v1/value/call-list", tag = "value", security(("keyuan" = ["value.read"])),
    params(CallQuery),
    responses((status = 200, body = CallList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_call_list(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<CallQuery>,
) -> Result<Json<CallList>, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let f = call_filter(&q)?;
    let (run, rows) = store::value::call_list(&state.store, &vis, &f).await?;
    Ok(Json(CallList {
        run_id: run.as_ref().map(|r| r.id),
        as_of: run.map(|r| r.as_of.to_string()),
        items: rows.into_iter().map(|c| call_out(c, req.lang)).collect(),
    }))
}

/// An optional id from a query string, where a form's "all" choice sends
/// an empty value.
fn opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("{t:?} is not an id"))),
    }
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("nav.value", "客户价值", "Customer value"),
    ("nav.value_settings", "价值评估设置", "Value settings"),
    ("value.title", "客户价值盘点", "Customer value"),
    ("value.no_run", "还没有盘点结果。", "No evaluation has run yet."),
    ("value.run_now", "立即盘点", "Evaluate now"),
    ("value.as_of", "盘点日期", "As of"),
    ("value.run", "盘点", "Evaluation"),
    ("value.runs", "历次盘点", "Evaluations"),
    ("value.customers", "客户数", "Customers"),
    ("value.buyers", "有消费客户", "Buyers"),
    ("value.alerts", "价值预警", "Value alerts"),
    ("value.call_list", "近期可能出行客户", "Likely to book soon"),
    (
        "value.call_list_hint",
        "根据最近一次盘点，以下客户可能在未来 {days} 天内预订。",
        "By the latest evaluation, these customers are likely to book within {days} days.",
    ),
    ("value.settings", "价值评估设置", "Value settings"),
    ("value.grade_distribution", "客户等级分布", "Grades"),
    ("value.pareto", "帕累托曲线（客户占比 × 收入占比）", "Pareto curve (share of customers × share of revenue)"),
    ("value.quadrant_chart", "销售量 × 忠诚度", "Volume × loyalty"),
    ("value.movements", "等级变动", "Grade movements"),
    ("value.from_run", "从", "From"),
    ("value.to_run", "到", "To"),
    ("value.compare", "比较", "Compare"),
    ("value.grade", "等级", "Grade"),
    ("value.revenue_share", "收入占比", "Revenue share"),
    ("value.window_revenue", "窗口期收入", "Revenue in window"),
    ("value.stages", "生命周期", "Lifecycle"),
    ("value.quadrant", "价值象限", "Quadrant"),
    ("value.treatment", "策略", "Treatment"),
    ("value.owner", "负责人", "Owner"),
    ("value.all_owners", "全部负责人", "All owners"),
    ("value.team", "团队", "Team"),
    ("value.all_teams", "全部团队", "All teams"),
    ("value.p_alive", "仍活跃概率", "P(alive)"),
    ("value.expected_90d", "90 天内预计出行", "Expected trips, 90 days"),
    ("value.next_window", "下次出行窗口", "Next purchase window"),
    ("value.cycle_due", "按其出行周期应在", "Own cycle due"),
    ("value.reason", "依据", "Reason"),
    ("value.reason.model", "预测模型", "Forecast"),
    ("value.reason.cycle", "出行周期", "Own cycle"),
    ("value.direction", "可能方向", "Likely direction"),
    ("value.kind", "预警类型", "Alert"),
    ("value.status", "状态", "Status"),
    ("value.status.open", "待处理", "Open"),
    ("value.status.done", "已处理", "Done"),
    ("value.status.dismissed", "已忽略", "Dismissed"),
    ("value.status.all", "全部", "All"),
    ("value.close_done", "已处理", "Done"),
    ("value.close_dismiss", "忽略", "Dismiss"),
    ("value.note", "处理说明", "Note"),
    ("value.customer", "客户", "Customer"),
    ("value.created_at", "产生时间", "Raised"),
    ("value.none", "暂无", "None"),
    (
        "value.card_none",
        "尚未盘点：运行一次客户价值盘点后，这里会说明该客户的等级与评分。",
        "Not evaluated yet: after the next value evaluation this card explains the grade and scores.",
    ),
    ("value.pinned", "已锁定", "Pinned"),
    ("value.pinned_by", "锁定人", "Pinned by"),
    ("value.pin", "锁定等级", "Pin grade"),
    ("value.unpin", "取消锁定", "Unpin"),
    ("value.pin_reason", "锁定原因", "Reason"),
    ("value.computed_grade", "按数据计算为", "By the numbers"),
    ("value.history", "历次盘点", "History"),
    ("value.p_alive_history", "仍活跃概率变化", "P(alive) over time"),
    ("value.open_alerts", "待处理预警", "Open alerts"),
    ("value.clv", "客户终身价值", "Lifetime value"),
    ("value.models", "模型参数", "Models"),
    ("value.saved", "设置已保存", "Settings saved"),
    ("value.window_days", "收入统计窗口（天）", "Revenue window (days)"),
    ("value.abc_a", "A 类：累计收入占比前（%）", "A: first share of revenue (%)"),
    ("value.abc_b", "B 类：累计收入占比至（%）", "B: up to share of revenue (%)"),
    ("value.abc_c", "C 类：累计收入占比至（%）", "C: up to share of revenue (%)"),
    ("value.churn_days", "超过多少天未出行视为流失", "Churned after days without a trip"),
    ("value.churn_p_alive", "A/B 类客户流失预警：仍活跃概率低于（%）", "Churn alert for A/B when P(alive) below (%)"),
    (
        "value.decline_ratio",
        "价值下降预警：近一年消费低于以往年均的（%）",
        "Value decline alert: last year below this share of the past yearly rate (%)",
    ),
    ("value.overdue_factor", "超期预警：超过自身出行间隔的倍数", "Overdue alert: times the customer's own gap"),
    ("value.discount_rate", "年折现率（%）", "Annual discount rate (%)"),
    ("value.clv_months", "客户终身价值计算期（月）", "Lifetime value horizon (months)"),
    ("value.schedule", "自动盘点", "Automatic evaluation"),
    ("value.save", "保存", "Save"),
];
