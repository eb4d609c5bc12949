//! The audit trail (操作日志) and other people's login history (登录记录).
//!
//! Both are read-only: the store only ever inserts audit rows (and triggers
//! refuse anything else), and no route here changes either. What a person
//! sees is decided by their grant's scope inside the query: a manager sees
//! the actions of their team subtree, an administrator everything.

use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{next_cursor, rfc3339, ApiQuery, PageQuery};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use axum::Json;
use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use domain::access::{Permission, Scope};
use domain::audit::{Action, FieldChange};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::audit::AuditRow;
use store::logins::Attempt;
use store::visibility::Visibility;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit_page))
        .routes(routes!(audit_api))
        .routes(routes!(logins_page))
        .routes(routes!(logins_api))
}

/// Rows per page on the HTML pages.
const PAGE_SIZE: i64 = 50;

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

/// Filters of the audit trail. Empty values are ignored, so a filter form
/// can send every field.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this person's actions (staff id).
    #[param(value_type = Option<i64>)]
    actor_id: Option<String>,
    /// Only this kind of record (`user`, `team`, `company_profile`, `holiday` …).
    entity: Option<String>,
    /// Only this record (with `entity`).
    entity_id: Option<String>,
    /// `create`, `update`, `delete`, `export` or `reveal`.
    action: Option<String>,
    /// From this day (YYYY-MM-DD, company time zone) or instant (RFC 3339), inclusive.
    from: Option<String>,
    /// Up to this day (YYYY-MM-DD, inclusive) or instant (RFC 3339, exclusive).
    to: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    before: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Reads a bound of a time range. A date means the company's local day: its
/// start for `from`, the start of the next day for `to`, so that "to
/// 2026-10-07" includes all of the 7th.
fn parse_bound(field: &str, s: &str, tz: Tz, end: bool) -> Result<i64, FieldError> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        return Ok(local_midnight_ms(d, tz));
    }
    DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis()).map_err(|_| {
        FieldError::new(field, "invalid_date", format!("{field} must be a date (YYYY-MM-DD) or an RFC 3339 time"))
    })
}

/// The first instant of `d` in `tz` (a DST gap at midnight moves it later).
pub(crate) fn local_midnight_ms(d: NaiveDate, tz: Tz) -> i64 {
    let mut t = d.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(x) = tz.from_local_datetime(&t).earliest() {
            return x.timestamp_millis();
        }
        t += chrono::Duration::minutes(30);
    }
    d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis()
}

fn parse_id(field: &str, s: Option<&str>) -> Result<Option<i64>, FieldError> {
    s.map(|s| s.parse::<i64>().map_err(|_| FieldError::new(field, "invalid", format!("{field} must be a number"))))
        .transpose()
}

impl AuditQuery {
    fn filter(&self, tz: Tz, default_limit: i64) -> Result<store::audit::Filter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let actor_id = errors.check(parse_id("actor_id", given(&self.actor_id))).flatten();
        let action = match given(&self.action) {
            None => None,
            Some(a) => errors.check(Action::from_code(a).ok_or_else(|| {
                FieldError::new("action", "invalid", "action must be create, update, delete, export or reveal")
            })),
        };
        let from_ms = given(&self.from).and_then(|s| errors.check(parse_bound("from", s, tz, false)));
        let to_ms = given(&self.to).and_then(|s| errors.check(parse_bound("to", s, tz, true)));
        if let (Some(f), Some(t)) = (from_ms, to_ms) {
            if t <= f {
                errors.push(FieldError::new("to", "before_from", "to must be after from"));
            }
        }
        let paging = PageQuery { limit: self.limit, before: self.before.clone() };
        let limit = match self.limit {
            None => default_limit,
            Some(_) => errors.check(paging.limit().map_err(first_error)).unwrap_or(default_limit),
        };
        let before = errors.check(paging.before().map_err(first_error)).flatten();
        errors.into_result()?;
        Ok(store::audit::Filter {
            actor_id,
            entity: given(&self.entity).map(str::to_string),
            entity_id: given(&self.entity_id).map(str::to_string),
            action,
            from_ms,
            to_ms,
            before,
            limit,
        })
    }

    /// The query string of these filters with another cursor.
    fn with_before(&self, before: &str) -> String {
        let pairs = [
            ("actor_id", &self.actor_id),
            ("entity", &self.entity),
            ("entity_id", &self.entity_id),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ];
        query_string(&pairs, before)
    }
}

fn query_string(pairs: &[(&str, &Option<String>)], before: &str) -> String {
    let mut parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| given(v).map(|v| format!("{k}={}", crate::access::url_encode(v)))).collect();
    parts.push(format!("before={}", crate::access::url_encode(before)));
    parts.join("&")
}

/// The field error inside an [`AppError::Invalid`] from the shared paging checks.
fn first_error(e: AppError) -> FieldError {
    match e {
        AppError::Invalid(f) if !f.0.is_empty() => f.0[0].clone(),
        _ => FieldError::new("query", "invalid", "invalid query"),
    }
}

async fn company_tz(state: &AppState) -> Result<Tz, AppError> {
    let p = store::settings::profile(&state.store).await?;
    Ok(p.timezone.parse::<Tz>().unwrap_or(chrono_tz::Asia::Shanghai))
}

/// People whose actions or logins a person may pick as a filter: everyone
/// for the `all` scope, their team subtree for `team`, themselves for `own`.
/// (The rows themselves are restricted in the query, not here.)
async fn pickable_people(state: &AppState, vis: &Visibility) -> Result<Vec<store::users::User>, AppError> {
    let all = store::users::all_active(&state.store).await?;
    Ok(all
        .into_iter()
        .filter(|u| match vis.scope {
            Scope::All => true,
            Scope::Team => u.id == vis.user_id || u.team_id.is_some_and(|t| vis.teams.contains(&t)),
            Scope::Own => u.id == vis.user_id,
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Audit trail
// ---------------------------------------------------------------------------

/// One audit row in the API.
#[derive(Serialize, utoipa::ToSchema)]
struct AuditOut {
    id: i64,
    /// RFC 3339.
    at: String,
    actor_id: Option<i64>,
    actor_name: String,
    /// create, update, delete, export, reveal.
    action: String,
    entity: String,
    entity_id: Option<String>,
    summary: String,
    /// Field-level before/after; personal values are masked.
    changes: Vec<ChangeOut>,
    ip: Option<String>,
    request_id: Option<String>,
}

/// One field's change.
#[derive(Serialize, utoipa::ToSchema)]
struct ChangeOut {
    field: String,
    before: Option<String>,
    after: Option<String>,
}

impl From<AuditRow> for AuditOut {
    fn from(r: AuditRow) -> Self {
        AuditOut {
            id: r.id,
            at: rfc3339(r.at),
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            summary: r.summary,
            changes: r
                .changes
                .into_iter()
                .map(|c| ChangeOut { field: c.field, before: c.before, after: c.after })
                .collect(),
            ip: r.ip,
            request_id: r.request_id,
        }
    }
}

/// A page of the audit trail.
#[derive(Serialize, utoipa::ToSchema)]
struct AuditList {
    items: Vec<AuditOut>,
    /// Pass as `before` for the next page; null on the last.
    next: Option<String>,
}

/// The audit trail, newest first, within the caller's reach.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("keyuan" = ["audit.view"])), params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn audit_api(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, AppError> {
    let vis = req.visibility(&state, Permission::AuditView).await?;
    let filter = q.filter(company_tz(&state).await?, 50)?;
    let page = store::audit::list(&state.store, &vis, &filter).await?;
    Ok(Json(AuditList { items: page.items.into_iter().map(AuditOut::from).collect(), next: next_cursor(page.next) }))
}

/// An audit row with its texts resolved.
struct AuditView {
    at: i64,
    actor_name: String,
    action: &'static str,
    entity: String,
    entity_id: String,
    summary: String,
    changes: Vec<FieldChange>,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    q: AuditQuery,
    /// (code, text, selected).
    actions: Vec<(&'static str, &'static str, bool)>,
    /// (id, name, selected).
    people: Vec<(i64, String, bool)>,
    rows: Vec<AuditView>,
    next: Option<String>,
    error: Option<String>,
}

fn action_text(lang: Lang, code: &str) -> &'static str {
    match Action::from_code(code) {
        Some(a) => lang.t(&format!("action.{}", a.code())),
        None => lang.t("audit.other_action"),
    }
}

/// The audit trail page, with filters.
#[utoipa::path(get, path = "/audit", tag = "pages", security(("keyuan" = ["audit.view"])), params(AuditQuery),
    responses((status = 200, description = "audit trail", content_type = "text/html")))]
async fn audit_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(&state, Permission::AuditView).await?;
    let lang = req.lang;
    let (rows, next, error) = match q.filter(company_tz(&state).await?, PAGE_SIZE) {
        Ok(filter) => {
            let page = store::audit::list(&state.store, &vis, &filter).await?;
            let rows = page
                .items
                .into_iter()
                .map(|r| AuditView {
                    at: r.at,
                    action: action_text(lang, &r.action),
                    actor_name: r.actor_name,
                    entity: r.entity,
                    entity_id: r.entity_id.unwrap_or_default(),
                    summary: r.summary,
                    changes: r.changes,
                    ip: r.ip.unwrap_or_default(),
                })
                .collect();
            (rows, page.next.map(|n| format!("/audit?{}", q.with_before(&n.to_string()))), None)
        }
        // A bad filter shows the page with the reason instead of rows.
        Err(e) => (Vec::new(), None, Some(e.to_string())),
    };
    let chosen_action = given(&q.action);
    let actions = Action::ALL
        .iter()
        .map(|a| (a.code(), lang.t(&format!("action.{}", a.code())), chosen_action == Some(a.code())))
        .collect();
    let chosen_actor = given(&q.actor_id).and_then(|s| s.parse::<i64>().ok());
    let people = pickable_people(&state, &vis)
        .await?
        .into_iter()
        .map(|u| (u.id.0, format!("{} ({})", u.display_name, u.username), chosen_actor == Some(u.id.0)))
        .collect();
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.audit").await;
    render(&AuditPage { shell, q, actions, people, rows, next, error })
}

// ---------------------------------------------------------------------------
// Login history of others
// ---------------------------------------------------------------------------

/// A login attempt in the API.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LoginOut {
    id: i64,
    /// RFC 3339.
    at: String,
    /// The name typed.
    username: String,
    /// The account it matched, if any.
    user_id: Option<i64>,
    ip: Option<String>,
    user_agent: Option<String>,
    success: bool,
    /// `ok`, `bad_password`, `unknown_user`, `inactive`, `throttled`.
    reason: String,
}

impl From<Attempt> for LoginOut {
    fn from(a: Attempt) -> Self {
        LoginOut {
            id: a.id,
            at: rfc3339(a.at),
            username: a.username,
            user_id: a.user_id,
            ip: a.ip,
            user_agent: a.user_agent,
            success: a.success,
            reason: a.reason,
        }
    }
}

/// A page of login attempts.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LoginList {
    pub items: Vec<LoginOut>,
    /// Pass as `before` for the next page; null on the last.
    pub next: Option<String>,
}

/// A login attempt with its texts resolved.
pub(crate) struct LoginRow {
    pub at: i64,
    pub username: String,
    pub user_id: Option<i64>,
    pub ip: String,
    pub user_agent: String,
    pub success: bool,
    pub reason: &'static str,
}

impl LoginRow {
    pub(crate) fn new(a: Attempt, lang: Lang) -> LoginRow {
        LoginRow {
            at: a.at,
            username: a.username,
            user_id: a.user_id,
            ip: a.ip.unwrap_or_default(),
            user_agent: a.user_agent.unwrap_or_default(),
            success: a.success,
            reason: login_reason_text(lang, &a.reason),
        }
    }
}

/// The text of a login attempt's outcome.
fn login_reason_text(lang: Lang, reason: &str) -> &'static str {
    let key = match reason {
        "ok" => "logins.reason.ok",
        "bad_password" => "logins.reason.bad_password",
        "unknown_user" => "logins.reason.unknown_user",
        "inactive" => "logins.reason.inactive",
        "throttled" => "logins.reason.throttled",
        _ => "logins.reason.other",
    };
    lang.t(key)
}

/// Filters of the login history. Empty values are ignored.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LoginsQuery {
    /// Only this account (staff id).
    #[param(value_type = Option<i64>)]
    user_id: Option<String>,
    /// `true`: only successful attempts; `false`: only failed ones.
    #[param(value_type = Option<bool>)]
    success: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    before: Option<String>,
}

impl LoginsQuery {
    fn filter(&self, default_limit: i64) -> Result<store::logins::Filter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let user_id = errors.check(parse_id("user_id", given(&self.user_id))).flatten();
        let success = match given(&self.success) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                errors.push(FieldError::new("success", "invalid", "success must be true or false"));
                None
            }
        };
        let paging = PageQuery { limit: self.limit, before: self.before.clone() };
        let limit = match self.limit {
            None => default_limit,
            Some(_) => errors.check(paging.limit().map_err(first_error)).unwrap_or(default_limit),
        };
        let before = errors.check(paging.before().map_err(first_error)).flatten();
        errors.into_result()?;
        Ok(store::logins::Filter { user_id, success, before, limit })
    }
}

/// Login attempts of the people within the caller's reach, newest first.
/// Attempts on unknown usernames are visible only with the `all` scope.
#[utoipa::path(get, path = "/api/v1/logins", tag = "audit", security(("keyuan" = ["logins.view"])), params(LoginsQuery),
    responses((status = 200, body = LoginList), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn logins_api(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<LoginsQuery>,
) -> Result<Json<LoginList>, AppError> {
    let vis = req.visibility(&state, Permission::LoginsView).await?;
    let page = store::logins::list(&state.store, &vis, &q.filter(50)?).await?;
    Ok(Json(LoginList { items: page.items.into_iter().map(LoginOut::from).collect(), next: next_cursor(page.next) }))
}

#[derive(Template)]
#[template(path = "logins.html")]
struct LoginsPage {
    shell: Shell,
    /// (id, name, selected).
    people: Vec<(i64, String, bool)>,
    /// The chosen outcome filter: "", "true" or "false".
    success: String,
    /// (login row, the account's name if known).
    rows: Vec<(LoginRow, String)>,
    next: Option<String>,
    error: Option<String>,
}

/// Login history of the people within the caller's reach.
#[utoipa::path(get, path = "/admin/logins", tag = "pages", security(("keyuan" = ["logins.view"])),
    params(LoginsQuery),
    responses((status = 200, description = "login history", content_type = "text/html")))]
async fn logins_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<LoginsQuery>,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(&state, Permission::LoginsView).await?;
    let people_list = pickable_people(&state, &vis).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| people_list.iter().find(|u| u.id.0 == id)).map(|u| u.display_name.clone()).unwrap_or_default()
    };
    let (rows, next, error) = match q.filter(PAGE_SIZE) {
        Ok(filter) => {
            let page = store::logins::list(&state.store, &vis, &filter).await?;
            let rows = page
                .items
                .into_iter()
                .map(|a| {
                    let name = name_of(a.user_id);
                    (LoginRow::new(a, req.lang), name)
                })
                .collect();
            let pairs = [("user_id", &q.user_id), ("success", &q.success)];
            (rows, page.next.map(|n| format!("/admin/logins?{}", query_string(&pairs, &n.to_string()))), None)
        }
        Err(e) => (Vec::new(), None, Some(e.to_string())),
    };
    let chosen = given(&q.user_id).and_then(|s| s.parse::<i64>().ok());
    let people = people_list
        .iter()
        .map(|u| (u.id.0, format!("{} ({})", u.display_name, u.username), chosen == Some(u.id.0)))
        .collect();
    let success = given(&q.success).unwrap_or_default().to_string();
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.logins").await;
    render(&LoginsPage { shell, people, success, rows, next, error })
}

/// Texts of this area: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("audit.entity_id", "记录编号", "Record id"),
    ("audit.from", "开始日期", "From"),
    (
        "audit.hint",
        "操作日志只可查看，不能修改或删除；个人敏感信息已脱敏。",
        "The audit trail can be read but never changed or deleted; personal data is masked.",
    ),
    ("audit.other_action", "其他", "Other"),
    ("audit.to", "结束日期", "To"),
    ("logins.account", "账号", "Account"),
    ("logins.all_results", "全部结果", "All results"),
    ("logins.reason.bad_password", "密码错误", "Wrong password"),
    ("logins.reason.inactive", "账号已停用", "Account deactivated"),
    ("logins.reason.ok", "登录成功", "Logged in"),
    ("logins.reason.other", "其他", "Other"),
    ("logins.reason.throttled", "尝试过多被暂时阻止", "Blocked after too many attempts"),
    ("logins.reason.unknown_user", "用户名不存在", "Unknown username"),
    ("logins.result", "结果", "Result"),
    ("logins.user_agent", "浏览器 / 客户端", "Browser / client"),
    ("logins.username", "输入的用户名", "Username typed"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_local_days_and_instants_are_exact() {
        let sh = chrono_tz::Asia::Shanghai;
        // 2026-10-01 00:00 in Shanghai is 2026-09-30 16:00 UTC.
        let from = parse_bound("from", "2026-10-01", sh, false).unwrap();
        assert_eq!(rfc3339(from), "2026-09-30T16:00:00.000Z");
        let to = parse_bound("to", "2026-10-01", sh, true).unwrap();
        assert_eq!(to - from, 86_400_000, "a to-date includes the whole day");
        let exact = parse_bound("to", "2026-10-01T08:30:00+08:00", sh, true).unwrap();
        assert_eq!(rfc3339(exact), "2026-10-01T00:30:00.000Z");
        assert_eq!(parse_bound("from", "yesterday", sh, false).unwrap_err().field, "from");
    }

    #[test]
    fn filters_are_checked_and_empty_values_ignored() {
        let sh = chrono_tz::Asia::Shanghai;
        let q = AuditQuery {
            actor_id: Some("".into()),
            action: Some("update".into()),
            entity: Some(" user ".into()),
            ..Default::default()
        };
        let f = q.filter(sh, 50).unwrap();
        assert_eq!(
            (f.actor_id, f.action, f.entity.as_deref(), f.limit),
            (None, Some(Action::Update), Some("user"), 50)
        );
        let bad = AuditQuery {
            actor_id: Some("x".into()),
            action: Some("erase".into()),
            from: Some("2026-10-05".into()),
            to: Some("2026-10-01".into()),
            limit: Some(0),
            ..Default::default()
        };
        let fields: Vec<String> = bad.filter(sh, 50).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["actor_id", "action", "to", "limit"]);
    }

    #[test]
    fn next_links_keep_the_filters() {
        let q = AuditQuery { entity: Some("user".into()), to: Some("2026-10-01".into()), ..Default::default() };
        assert_eq!(q.with_before("42"), "entity=user&to=2026-10-01&before=42");
        let l = LoginsQuery { success: Some("false".into()), ..Default::default() };
        assert!(l.filter(50).unwrap().success == Some(false));
        assert_eq!(
            LoginsQuery { success: Some("maybe".into()), ..Default::default() }.filter(50).unwrap_err().0[0].field,
            "success"
        );
    }
}
