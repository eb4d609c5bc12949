//! Interactions (接触记录): quick entry from the 360° page and the list, and
//! the API. Any department may record one; a preference noted with it (a
//! hotel's "no feather pillow") goes into the one customer profile every
//! department sees, in the same transaction.

use super::input::draft_of;
use super::{company_tz, Problem};
use crate::ctx::{Principal, Req};
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, ApiQuery, PageForm};
use crate::page::see_other;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use domain::access::Permission;
use domain::customer::{Channel, CustomerKind, Department, Direction};
use domain::ids::CustomerId;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::customers::{Customer, Interaction, InteractionDraft};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page_submit)).routes(routes!(api_list, api_create))
}

/// Recorded times may run this far ahead of the server's clock (a phone's
/// clock, a form filled in a minute later).
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// An interaction as typed (form or JSON).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InteractionBody {
    /// `phone`, `face_to_face`, `email`, `wechat`, `sms`, `fax`, `web`, `call_centre`.
    #[serde(default)]
    pub channel: String,
    /// `inbound` or `outbound`.
    #[serde(default)]
    pub direction: String,
    /// `sales`, `operations`, `service`, `front_desk`, `housekeeping`,
    /// `food_beverage`; default from your role.
    #[serde(default)]
    pub department: String,
    /// What was said or done.
    #[serde(default)]
    pub summary: String,
    /// When: RFC 3339, or local `YYYY-MM-DDTHH:MM` in the company's time
    /// zone; default now; not in the future.
    #[serde(default)]
    pub occurred_at: String,
    /// A preference noted with it: `room`, `diet` or `seat`.
    #[serde(default)]
    pub preference_kind: String,
    /// The preference (`无羽毛枕头`), added to the customer's profile.
    #[serde(default)]
    pub preference: String,
    /// Pages only: `list` returns to the customer list.
    #[serde(default)]
    #[schema(ignore)]
    pub return_to: String,
    /// Pages only (checked by the CSRF layer before the handler runs).
    #[serde(default)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub csrf: String,
}

/// The department a person records for by default, from their role.
pub(crate) fn default_department(role: &str) -> Department {
    match role {
        "service" => Department::Service,
        "operator" => Department::Operations,
        "front_desk" => Department::FrontDesk,
        _ => Department::Sales,
    }
}

/// Which profile field a preference goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrefKind {
    Room,
    Diet,
    Seat,
}

fn parse_time(field: &str, s: &str, tz: Tz, now_ms: i64) -> Result<i64, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(now_ms);
    }
    let bad = || {
        FieldError::new(field, "invalid_date", format!("{field} must be a time such as 2026-11-20T14:30 or RFC 3339"))
    };
    let ms = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.timestamp_millis()
    } else {
        let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(12, 0, 0)))
            .ok_or_else(bad)?;
        tz.from_local_datetime(&local).earliest().ok_or_else(bad)?.timestamp_millis()
    };
    if ms > now_ms + CLOCK_SKEW_MS {
        return Err(FieldError::new(field, "in_future", format!("{field} must not be in the future")));
    }
    Ok(ms)
}

/// A checked interaction and the preference to note with it.
struct Checked {
    draft: InteractionDraft,
    preference: Option<(PrefKind, String)>,
}

async fn check(
    state: &AppState,
    me: &Principal,
    customer: &Customer,
    b: &InteractionBody,
) -> Result<Checked, AppError> {
    let mut errs = FieldErrors::new();
    let channel = errs.check(Channel::parse("channel", &b.channel));
    let direction = errs.check(Direction::parse("direction", &b.direction));
    let department = if b.department.trim().is_empty() {
        Some(default_department(&me.user.role_code))
    } else {
        errs.check(Department::parse("department", &b.department))
    };
    let summary = match errs.check(super::text("summary", &b.summary, 2000)) {
        Some(None) => {
            errs.push(FieldError::required("summary"));
            None
        }
        other => other.flatten(),
    };
    let tz = company_tz(state).await?;
    let occurred_at = errs.check(parse_time("occurred_at", &b.occurred_at, tz, store::now_ms()));
    let pref_text = errs.check(super::text("preference", &b.preference, 100)).flatten();
    let pref_kind = match b.preference_kind.trim() {
        "" if pref_text.is_some() => Some(PrefKind::Room),
        "" => None,
        "room" => Some(PrefKind::Room),
        "diet" => Some(PrefKind::Diet),
        "seat" => Some(PrefKind::Seat),
        _ => {
            errs.push(FieldError::new(
                "preference_kind",
                "invalid_choice",
                "preference_kind must be room, diet or seat",
            ));
            None
        }
    };
    let preference = match (pref_kind, pref_text) {
        (Some(k), Some(t)) => {
            if customer.data.kind != CustomerKind::Individual.code() {
                errs.push(FieldError::new(
                    "preference",
                    "not_for_kind",
                    "preferences belong to individual customers (guests); record them on the person",
                ));
            }
            Some((k, t))
        }
        _ => None,
    };
    errs.into_result()?;
    let (Some(channel), Some(direction), Some(department), Some(summary), Some(occurred_at)) =
        (channel, direction, department, summary, occurred_at)
    else {
        return Err(AppError::Internal("checked interaction fields missing".into()));
    };
    Ok(Checked {
        draft: InteractionDraft {
            channel: channel.code().to_string(),
            direction: direction.code().to_string(),
            department: department.code().to_string(),
            summary,
            occurred_at,
            staff_id: Some(me.user.id),
        },
        preference,
    })
}

/// Adds `pref` to a profile text unless it says so already ("高楼层；无羽毛枕头").
fn with_preference(current: Option<&str>, pref: &str) -> Result<String, FieldError> {
    let joined = match current.map(str::trim).filter(|c| !c.is_empty()) {
        None => pref.to_string(),
        Some(c) if c.split(['；', ';', '，', ',']).any(|p| p.trim() == pref) => c.to_string(),
        Some(c) => format!("{c}；{pref}"),
    };
    if joined.chars().count() > 200 {
        return Err(FieldError::new(
            "preference",
            "too_long",
            "the customer's preferences would exceed 200 characters; edit the profile first",
        ));
    }
    Ok(joined)
}

/// Records the interaction (and the preference) in one transaction.
async fn record(state: &AppState, req: &Req, id: CustomerId, b: &InteractionBody) -> Result<Interaction, AppError> {
    let me = req.user()?;
    let vis = req.visibility(state, Permission::CustomersWrite).await?;
    let customer = store::customers::get(&state.store, &vis, id).await?;
    let checked = check(state, me, &customer, b).await?;
    let actor = req.actor()?;
    let mut tx = state.store.begin().await?;
    let current = store::customers::get_in(&mut tx, customer.id).await?;
    if let Some((kind, pref)) = &checked.preference {
        let mut draft = draft_of(&current);
        let slot = match kind {
            PrefKind::Room => &mut draft.room_pref,
            PrefKind::Diet => &mut draft.diet,
            PrefKind::Seat => &mut draft.seat_pref,
        };
        let joined = with_preference(slot.as_deref(), pref)?;
        if slot.as_deref() != Some(joined.as_str()) {
            *slot = Some(joined);
            store::customers::update(&mut tx, &state.store, &actor, &vis, current.id, current.version, &draft).await?;
        }
    }
    let iid = store::customers::add_interaction(&mut tx, &actor, &current, &checked.draft).await?;
    tx.commit().await?;
    let recent = store::customers::interactions(&state.store, customer.id, 50).await?;
    recent.into_iter().find(|i| i.id == iid).ok_or(AppError::NotFound)
}

/// Records an interaction from the 360° page or a row of the list; back to
/// where it came from. Problems show the 360° page again with the form.
#[utoipa::path(post, path = "/customers/{id}/interactions", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")),
    request_body(content = InteractionBody, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "recorded"), (status = 422, description = "the page with the form's problems", content_type = "text/html")))]
async fn page_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(b): PageForm<InteractionBody>,
) -> Result<Response, AppError> {
    match record(&state, &req, CustomerId(id), &b).await {
        Ok(_) if b.return_to == "list" => Ok(see_other("/customers?saved=interaction")),
        Ok(_) => Ok(see_other(&format!("/customers/{id}?saved=interaction#interaction"))),
        Err(e) => {
            let problem = Problem::from_error(e)?;
            let status = problem.status();
            let echo = super::detail::Echo::interaction(&b);
            let page = super::detail::page(
                &state,
                &req,
                CustomerId(id),
                super::detail::Extra { section: "interaction", problem: Some(problem), echo, ..Default::default() },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

/// One interaction.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct InteractionOut {
    id: i64,
    customer_id: i64,
    channel: String,
    direction: String,
    department: String,
    summary: String,
    /// RFC 3339.
    occurred_at: String,
    staff_id: Option<i64>,
    staff_name: Option<String>,
}

impl From<Interaction> for InteractionOut {
    fn from(i: Interaction) -> Self {
        InteractionOut {
            id: i.id.0,
            customer_id: i.customer_id.0,
            channel: i.channel,
            direction: i.direction,
            department: i.department,
            summary: i.summary,
            occurred_at: rfc3339(i.occurred_at),
            staff_id: i.staff_id.map(|s| s.0),
            staff_name: i.staff_name,
        }
    }
}

/// Interactions, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct InteractionList {
    items: Vec<InteractionOut>,
    /// Always `null`: ask for a larger `limit` to see more.
    next: Option<i64>,
}

/// How many interactions.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LimitQuery {
    /// 1–500 (default 100).
    limit: Option<i64>,
}

/// A customer's interactions, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "customers", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id"), LimitQuery),
    responses((status = 200, body = InteractionList), (status = 404, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<InteractionList>, AppError> {
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => return Err(AppError::field("limit", "out_of_range", "limit must be between 1 and 500")),
    };
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let items = store::customers::interactions(&state.store, c.id, limit).await?;
    Ok(Json(InteractionList { items: items.into_iter().map(InteractionOut::from).collect(), next: None }))
}

/// Records an interaction (staff: you). The customer's last contact moves;
/// a `preference` is added to the customer's profile in the same transaction.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "customers", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")), request_body = InteractionBody,
    responses((status = 201, body = InteractionOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<InteractionBody>,
) -> Result<(StatusCode, Json<InteractionOut>), AppError> {
    let i = record(&state, &req, CustomerId(id), &b).await?;
    Ok((StatusCode::CREATED, Json(i.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_or_rfc3339_and_never_ahead() {
        let sh = chrono_tz::Asia::Shanghai;
        let now = DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z").unwrap().timestamp_millis();
        let at = |s: &str| parse_time("t", s, sh, now);
        assert_eq!(at("").unwrap(), now);
        let local = at("2026-11-23T10:30").unwrap();
        assert_eq!(local, DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z").unwrap().timestamp_millis());
        assert_eq!(at("2026-11-23 10:30").unwrap(), local);
        assert_eq!(at("2026-11-23T02:30:00Z").unwrap(), local);
        assert_eq!(at("2026-11-23T18:00").unwrap_err().code, "in_future");
        assert_eq!(at("yesterday").unwrap_err().code, "invalid_date");
    }

    #[test]
    fn preferences_are_added_once() {
        assert_eq!(with_preference(None, "无羽毛枕头").unwrap(), "无羽毛枕头");
        assert_eq!(with_preference(Some("高楼层"), "无羽毛枕头").unwrap(), "高楼层；无羽毛枕头");
        assert_eq!(with_preference(Some("高楼层；无羽毛枕头"), "无羽毛枕头").unwrap(), "高楼层；无羽毛枕头");
        assert_eq!(with_preference(Some(&"长".repeat(199)), "无羽毛").unwrap_err().code, "too_long");
    }
}
