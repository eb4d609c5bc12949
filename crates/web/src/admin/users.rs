//! Staff accounts: the list, creating one, editing and deactivating it, and
//! setting a new password. There is no delete: a deactivated account keeps
//! everything it made, and its sessions and tokens end at once.

use super::teams::tree_options;
use super::{form_id, form_version, nullable, see_other, Errors, FormProblem, Opt};
use crate::access::url_encode;
use crate::auth::hash_blocking;
use crate::ctx::{Principal, Req, Via};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{next_cursor, rfc3339, ApiJson, ApiQuery, PageForm, PageQuery};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::access::Permission;
use domain::ids::{RoleId, TeamId, UserId};
use domain::password::NewPassword;
use domain::user::{parse_display_name, parse_optional_email, Locale, Username};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::roles::Role;
use store::users::{Changes, NewUser, User};
use store::StoreError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_page, create_submit))
        .routes(routes!(new_page))
        .routes(routes!(edit_page, edit_submit))
        .routes(routes!(password_submit))
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch))
}

// ---------------------------------------------------------------------------
// Rules shared by the pages and the API

/// A work phone: digits with the usual separators (`138 1234 5678`,
/// `021-6123 4567`, `+86 13812345678`), or empty.
fn parse_optional_phone(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'));
    if !allowed || !(5..=20).contains(&digits) || s.chars().count() > 32 {
        return Err(FieldError::new(field, "invalid_phone", format!("{field} is not a phone number")));
    }
    Ok(Some(s.to_string()))
}

/// How a new account names its role: by code (`sales`) or by id.
enum RoleChoice {
    Code(String),
    Id(i64),
    Missing,
}

/// Looks a role up; an unknown one is a field error, a database failure is not.
async fn resolve_role(state: &AppState, choice: &RoleChoice) -> Result<Result<Role, FieldError>, AppError> {
    let (found, field, shown) = match choice {
        RoleChoice::Code(c) => (store::roles::by_code(&state.store, c.trim()).await, "role", c.clone()),
        RoleChoice::Id(id) => (store::roles::get(&state.store, RoleId(*id)).await, "role_id", id.to_string()),
        RoleChoice::Missing => return Ok(Err(FieldError::required("role"))),
    };
    match found {
        Ok(r) => Ok(Ok(r)),
        Err(StoreError::NotFound) => {
            Ok(Err(FieldError::new(field, "not_found", format!("{field}: there is no role {shown:?}"))))
        }
        Err(e) => Err(e.into()),
    }
}

async fn resolve_team(state: &AppState, id: Option<i64>) -> Result<Result<Option<TeamId>, FieldError>, AppError> {
    let Some(id) = id else { return Ok(Ok(None)) };
    match store::teams::get(&state.store, TeamId(id)).await {
        Ok(t) => Ok(Ok(Some(t.id))),
        Err(StoreError::NotFound) => {
            Ok(Err(FieldError::new("team_id", "not_found", "team_id: the team does not exist")))
        }
        Err(e) => Err(e.into()),
    }
}

/// A new account as submitted, before checking.
struct Draft {
    username: String,
    display_name: String,
    email: String,
    phone: String,
    role: RoleChoice,
    team_id: Option<i64>,
    locale: String,
    password: String,
}

/// Checks every field of a new account, reporting all problems at once, and
/// hashes the password.
async fn check_new(state: &AppState, d: &Draft, mut errs: FieldErrors) -> Result<NewUser, AppError> {
    let username = errs.check(Username::parse(&d.username));
    let display_name = errs.check(parse_display_name("display_name", &d.display_name));
    let email = errs.check(parse_optional_email("email", &d.email));
    let phone = errs.check(parse_optional_phone("phone", &d.phone));
    let role = errs.check(resolve_role(state, &d.role).await?);
    let team_id = errs.check(resolve_team(state, d.team_id).await?);
    let locale =
        errs.check(if d.locale.trim().is_empty() { Ok(Locale::default()) } else { Locale::parse(d.locale.trim()) });
    let raw_username = d.username.trim().to_lowercase();
    let password = errs.check(NewPassword::parse(
        &d.password,
        username.as_ref().map(Username::as_str).unwrap_or(&raw_username),
        display_name.as_deref().unwrap_or(""),
    ));
    errs.into_result()?;
    let (
        Some(username),
        Some(display_name),
        Some(email),
        Some(phone),
        Some(role),
        Some(team_id),
        Some(locale),
        Some(pw),
    ) = (username, display_name, email, phone, role, team_id, locale, password)
    else {
        return Err(AppError::Internal("checked fields missing".into()));
    };
    let password_hash = hash_blocking(pw.expose().to_string()).await?;
    Ok(NewUser { username, display_name, email, phone, role_id: role.id, team_id, locale, password_hash })
}

async fn create(state: &AppState, req: &Req, new: &NewUser) -> Result<User, AppError> {
    let mut tx = state.store.begin().await?;
    let id = store::users::create(&mut tx, &req.actor()?, new).await?;
    tx.commit().await?;
    Ok(store::users::get(&state.store, id).await?)
}

/// What an edit may change; `None` keeps the current value.
#[derive(Default)]
struct Edit {
    display_name: Option<String>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    role_id: Option<i64>,
    team_id: Option<Option<i64>>,
    locale: Option<String>,
    active: Option<bool>,
}

/// Applies an edit to the current values, checking every field, and keeps
/// administrators from locking themselves out.
async fn check_edit(
    state: &AppState,
    me: &Principal,
    current: &User,
    e: Edit,
    mut errs: FieldErrors,
) -> Result<Changes, AppError> {
    let mut ch = Changes::from(current);
    if let Some(v) = e.display_name.and_then(|n| errs.check(parse_display_name("display_name", &n))) {
        ch.display_name = v;
    }
    if let Some(v) = e.email.and_then(|m| errs.check(parse_optional_email("email", m.as_deref().unwrap_or("")))) {
        ch.email = v;
    }
    if let Some(v) = e.phone.and_then(|p| errs.check(parse_optional_phone("phone", p.as_deref().unwrap_or("")))) {
        ch.phone = v;
    }
    let mut new_role = None;
    if let Some(id) = e.role_id {
        if let Some(r) = errs.check(resolve_role(state, &RoleChoice::Id(id)).await?) {
            ch.role_id = r.id;
            new_role = Some(r);
        }
    }
    if let Some(t) = e.team_id {
        if let Some(v) = errs.check(resolve_team(state, t).await?) {
            ch.team_id = v;
        }
    }
    if let Some(v) = e.locale.and_then(|l| errs.check(Locale::parse(l.trim()))) {
        ch.locale = v;
    }
    if let Some(a) = e.active {
        ch.active = a;
    }
    if current.id == me.user.id {
        if !ch.active {
            errs.push(FieldError::new("active", "self_deactivate", "active: you cannot deactivate your own account"));
        }
        // Moving oneself to a role without staff management would leave
        // nobody able to undo it.
        if new_role.as_ref().is_some_and(|r| r.id != current.role_id && !r.grants.has(Permission::UsersManage)) {
            errs.push(FieldError::new(
                "role_id",
                "self_lockout",
                "role_id: your own role must keep users.manage, or nobody could undo this",
            ));
        }
    }
    errs.into_result()?;
    Ok(ch)
}

async fn update(state: &AppState, req: &Req, id: UserId, version: i64, ch: &Changes) -> Result<User, AppError> {
    let mut tx = state.store.begin().await?;
    let user = store::users::update(&mut tx, &req.actor()?, id, version, ch).await?;
    tx.commit().await?;
    Ok(user)
}

// ---------------------------------------------------------------------------
// JSON API

/// A staff account (never with its password hash).
#[derive(Serialize, utoipa::ToSchema)]
struct UserOut {
    id: i64,
    username: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    role_id: i64,
    /// The role's code.
    role: String,
    team_id: Option<i64>,
    /// `zh-CN` or `en`.
    locale: String,
    /// Deactivated accounts cannot log in.
    active: bool,
    /// RFC 3339.
    last_login_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Send back when changing the account.
    version: i64,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        UserOut {
            id: u.id.0,
            username: u.username,
            display_name: u.display_name,
            email: u.email,
            phone: u.phone,
            role_id: u.role_id.0,
            role: u.role_code,
            team_id: u.team_id.map(|t| t.0),
            locale: u.locale.code().to_string(),
            active: u.active,
            last_login_at: u.last_login_at.map(rfc3339),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            version: u.version,
        }
    }
}

/// A page of accounts.
#[derive(Serialize, utoipa::ToSchema)]
struct UserList {
    items: Vec<UserOut>,
    /// Pass as `before` for the next page; `null` on the last.
    next: Option<String>,
}

/// Filters of the staff list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UserFilter {
    /// Part of the username or name.
    q: Option<String>,
    /// Only this role.
    role_id: Option<i64>,
    /// Only this team.
    team_id: Option<i64>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    active: Option<bool>,
}

/// Lists staff accounts, newest first.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("keyuan" = ["users.manage"])),
    params(PageQuery, UserFilter),
    responses((status = 200, body = UserList), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
    ApiQuery(f): ApiQuery<UserFilter>,
) -> Result<Json<UserList>, AppError> {
    let filter = store::users::Filter {
        q: f.q,
        role_id: f.role_id,
        team_id: f.team_id,
        active: f.active,
        before: page.before()?,
        limit: page.limit()?,
    };
    let found = store::users::list(&state.store, &filter).await?;
    Ok(Json(UserList { items: found.items.into_iter().map(UserOut::from).collect(), next: next_cursor(found.next) }))
}

/// A new account. Name the role by `role` (code) or `role_id`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    display_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// Role code, e.g. `sales`.
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    role_id: Option<i64>,
    #[serde(default)]
    team_id: Option<i64>,
    /// `zh-CN` (default) or `en`.
    #[serde(default)]
    locale: Option<String>,
    /// Initial password (12–128 characters, not a common one).
    password: String,
}

/// Creates a staff account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("keyuan" = ["users.manage"])),
    request_body = NewUserBody,
    responses((status = 201, body = UserOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserOut>), AppError> {
    let mut errs = FieldErrors::new();
    let role = match (b.role, b.role_id) {
        (Some(code), None) => RoleChoice::Code(code),
        (None, Some(id)) => RoleChoice::Id(id),
        (None, None) => RoleChoice::Missing,
        (Some(code), Some(_)) => {
            errs.push(FieldError::new("role_id", "conflict", "give either role or role_id, not both"));
            RoleChoice::Code(code)
        }
    };
    let draft = Draft {
        username: b.username,
        display_name: b.display_name,
        email: b.email.unwrap_or_default(),
        phone: b.phone.unwrap_or_default(),
        role,
        team_id: b.team_id,
        locale: b.locale.unwrap_or_default(),
        password: b.password,
    };
    let new = check_new(&state, &draft, errs).await?;
    let user = create(&state, &req, &new).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Reads one staff account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = UserOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<UserOut>, AppError> {
    Ok(Json(store::users::get(&state.store, UserId(id)).await?.into()))
}

/// Changes to an account: any subset of the fields, plus the `version` read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    /// The version the change is based on.
    version: i64,
    #[serde(default)]
    display_name: Option<String>,
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    #[serde(default)]
    role_id: Option<i64>,
    /// `null` takes the account out of any team.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    team_id: Option<Option<i64>>,
    #[serde(default)]
    locale: Option<String>,
    /// `false` deactivates: sessions and tokens end, records stay.
    #[serde(default)]
    active: Option<bool>,
}

/// Changes a staff account; a stale `version` is 409 and changes nothing.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "user id")), request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<UserPatch>,
) -> Result<Json<UserOut>, AppError> {
    let current = store::users::get(&state.store, UserId(id)).await?;
    let edit = Edit {
        display_name: b.display_name,
        email: b.email,
        phone: b.phone,
        role_id: b.role_id,
        team_id: b.team_id,
        locale: b.locale,
        active: b.active,
    };
    let ch = check_edit(&state, req.user()?, &current, edit, FieldErrors::new()).await?;
    Ok(Json(update(&state, &req, current.id, b.version, &ch).await?.into()))
}

// ---------------------------------------------------------------------------
// Pages

/// The values a user form shows (as typed, so a refused form keeps them).
#[derive(Default, Deserialize, utoipa::ToSchema)]
struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    role_id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    locale: String,
    /// Edit only: present when the box is ticked.
    #[serde(default)]
    active: Option<String>,
    /// New account only.
    #[serde(default)]
    password: String,
    /// Edit only.
    #[serde(default)]
    version: String,
}

impl UserForm {
    fn of(u: &User) -> UserForm {
        UserForm {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone().unwrap_or_default(),
            phone: u.phone.clone().unwrap_or_default(),
            role_id: u.role_id.to_string(),
            team_id: u.team_id.map(|t| t.to_string()).unwrap_or_default(),
            locale: u.locale.code().to_string(),
            active: u.active.then(|| "1".to_string()),
            password: String::new(),
            version: u.version.to_string(),
        }
    }

    fn is_active(&self) -> bool {
        self.active.is_some()
    }
}

fn role_name(r: &Role, lang: Lang) -> String {
    match lang {
        Lang::Zh => r.name_zh.clone(),
        Lang::En => r.name_en.clone(),
    }
}

/// The choices of the role, team and language selects.
struct Choices {
    roles: Vec<Opt>,
    teams: Vec<Opt>,
    locales: Vec<Opt>,
}

async fn choices(state: &AppState, lang: Lang, f: &UserForm) -> Result<Choices, AppError> {
    let roles = store::roles::list(&state.store).await?;
    let teams = store::teams::list(&state.store).await?;
    let mut team_opts = vec![Opt::new("", lang.t("admin.none"), &f.team_id)];
    team_opts.extend(tree_options(&teams, &f.team_id, None));
    Ok(Choices {
        roles: roles
            .iter()
            .map(|r| Opt::new(r.id, format!("{} ({})", role_name(r, lang), r.code), &f.role_id))
            .collect(),
        teams: team_opts,
        locales: locale_options(&f.locale),
    })
}

fn locale_options(current: &str) -> Vec<Opt> {
    let current = if current.is_empty() { Locale::default().code() } else { current };
    vec![Opt::new("zh-CN", "简体中文", current), Opt::new("en", "English", current)]
}

/// One row of the staff list.
struct Row {
    user: User,
    role: String,
    team: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    q: String,
    roles: Vec<Opt>,
    teams: Vec<Opt>,
    actives: Vec<Opt>,
    next_href: Option<String>,
}

/// Filters of the staff list page (as the filter form sends them).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListPageQuery {
    /// Part of the username or name.
    q: Option<String>,
    /// Role id.
    role: Option<String>,
    /// Team id.
    team: Option<String>,
    /// `1` active, `0` deactivated, empty for all.
    active: Option<String>,
    /// Page cursor.
    before: Option<String>,
}

/// The staff list.
#[utoipa::path(get, path = "/admin/users", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(ListPageQuery),
    responses((status = 200, description = "staff list", content_type = "text/html")))]
async fn list_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListPageQuery>,
) -> Result<Html, AppError> {
    let lang = req.lang;
    let text = q.q.clone().unwrap_or_default();
    let role = q.role.clone().unwrap_or_default();
    let team = q.team.clone().unwrap_or_default();
    let active = q.active.clone().unwrap_or_default();
    let bad = |f: FieldError| AppError::BadRequest(f.message);
    let filter = store::users::Filter {
        q: Some(text.clone()),
        role_id: form_id("role", &role).map_err(bad)?,
        team_id: form_id("team", &team).map_err(bad)?,
        active: match active.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        before: form_id("before", q.before.as_deref().unwrap_or("")).map_err(bad)?,
        limit: 50,
    };
    let found = store::users::list(&state.store, &filter).await?;
    let roles = store::roles::list(&state.store).await?;
    let teams = store::teams::list(&state.store).await?;
    let rows = found
        .items
        .into_iter()
        .map(|u| Row {
            role: roles.iter().find(|r| r.id == u.role_id).map(|r| role_name(r, lang)).unwrap_or_default(),
            team: u.team_id.and_then(|t| teams.iter().find(|x| x.id == t)).map(|t| t.name.clone()).unwrap_or_default(),
            user: u,
        })
        .collect();
    let next_href = found.next.map(|n| {
        format!(
            "/admin/users?q={}&role={}&team={}&active={}&before={n}",
            url_encode(&text),
            url_encode(&role),
            url_encode(&team),
            url_encode(&active)
        )
    });
    let mut role_opts = vec![Opt::new("", lang.t("common.all"), &role)];
    role_opts.extend(roles.iter().map(|r| Opt::new(r.id, role_name(r, lang), &role)));
    let mut team_opts = vec![Opt::new("", lang.t("common.all"), &team)];
    team_opts.extend(tree_options(&teams, &team, None));
    let actives = vec![
        Opt::new("", lang.t("common.all"), &active),
        Opt::new("1", lang.t("common.active"), &active),
        Opt::new("0", lang.t("common.inactive"), &active),
    ];
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.users").await;
    render(&ListPage { shell, rows, q: text, roles: role_opts, teams: team_opts, actives, next_href })
}

type Html = axum::response::Html<String>;

#[derive(Template)]
#[template(path = "admin_user_new.html")]
struct NewPage {
    shell: Shell,
    form: UserForm,
    choices: Choices,
    errors: Errors,
}

async fn new_form(state: &AppState, req: &Req, form: UserForm, errors: Errors) -> Result<Html, AppError> {
    let choices = choices(state, req.lang, &form).await?;
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.users").await;
    render(&NewPage { shell, form, choices, errors })
}

/// The form for a new staff account.
#[utoipa::path(get, path = "/admin/users/new", tag = "pages", security(("keyuan" = ["users.manage"])),
    responses((status = 200, description = "new account form", content_type = "text/html")))]
async fn new_page(State(state): State<AppState>, req: Req) -> Result<Html, AppError> {
    // Most new accounts are salespeople; preselect that role while it exists.
    let sales = match store::roles::by_code(&state.store, "sales").await {
        Ok(r) => r.id.to_string(),
        Err(StoreError::NotFound) => String::new(),
        Err(e) => return Err(e.into()),
    };
    let form = UserForm { role_id: sales, locale: Locale::default().code().to_string(), ..UserForm::default() };
    new_form(&state, &req, form, Errors::default()).await
}

/// Creates a staff account; the form again with its problems if refused.
#[utoipa::path(post, path = "/admin/users", tag = "pages", security(("keyuan" = ["users.manage"])),
    request_body(content = UserForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "created; to the account"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<UserForm>,
) -> Result<Response, AppError> {
    let mut errs = FieldErrors::new();
    let role = match errs.check(form_id("role_id", &f.role_id)) {
        Some(Some(id)) => RoleChoice::Id(id),
        _ => RoleChoice::Missing,
    };
    let team_id = errs.check(form_id("team_id", &f.team_id)).flatten();
    let draft = Draft {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        email: f.email.clone(),
        phone: f.phone.clone(),
        role,
        team_id,
        locale: f.locale.clone(),
        password: f.password.clone(),
    };
    let result = match check_new(&state, &draft, errs).await {
        Ok(new) => create(&state, &req, &new).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(user) => Ok(see_other(&format!("/admin/users/{}?saved=1", user.id))),
        Err(e) => {
            let problem = FormProblem::from_error(e, req.lang)?;
            let status = problem.status();
            // A refused password is never sent back to the browser.
            let form = UserForm { password: String::new(), ..f };
            Ok((status, new_form(&state, &req, form, problem.into_errors(req.lang)).await?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "admin_user_edit.html")]
struct EditPage {
    shell: Shell,
    user: User,
    form: UserForm,
    choices: Choices,
    errors: Errors,
    notice: Option<&'static str>,
    is_me: bool,
}

async fn edit_form(
    state: &AppState,
    req: &Req,
    user: User,
    form: UserForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> Result<Html, AppError> {
    let choices = choices(state, req.lang, &form).await?;
    let is_me = req.user()?.user.id == user.id;
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.users").await;
    render(&EditPage { shell, user, form, choices, errors, notice, is_me })
}

/// `?saved=1` after a change, `?saved=password` after a new password.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// Show that the last change was saved.
    saved: Option<String>,
}

/// One staff account's form.
#[utoipa::path(get, path = "/admin/users/{id}", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "user id"), SavedQuery),
    responses((status = 200, description = "account form", content_type = "text/html"), (status = 404, description = "no such account")))]
async fn edit_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html, AppError> {
    let user = store::users::get(&state.store, UserId(id)).await?;
    let notice = match q.saved.as_deref() {
        Some("password") => Some(req.lang.t("admin.password_set")),
        Some(_) => Some(req.lang.t("common.saved")),
        None => None,
    };
    let form = UserForm::of(&user);
    edit_form(&state, &req, user, form, Errors::default(), notice).await
}

/// Saves a staff account (including deactivating it). A stale `version` shows
/// the form again with the current values and a message, status 409.
#[utoipa::path(post, path = "/admin/users/{id}", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "user id")),
    request_body(content = UserForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn edit_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<UserForm>,
) -> Result<Response, AppError> {
    let current = store::users::get(&state.store, UserId(id)).await?;
    let version = form_version(&f.version)?;
    let mut errs = FieldErrors::new();
    let role_id = errs.check(form_id("role_id", &f.role_id));
    let team_id = errs.check(form_id("team_id", &f.team_id));
    if matches!(role_id, Some(None)) {
        errs.push(FieldError::required("role_id"));
    }
    let edit = Edit {
        display_name: Some(f.display_name.clone()),
        email: Some(Some(f.email.clone())),
        phone: Some(Some(f.phone.clone())),
        role_id: role_id.flatten(),
        team_id,
        locale: Some(f.locale.clone()),
        active: Some(f.is_active()),
    };
    let result = match check_edit(&state, req.user()?, &current, edit, errs).await {
        Ok(ch) => update(&state, &req, current.id, version, &ch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(user) => Ok(see_other(&format!("/admin/users/{}?saved=1", user.id))),
        Err(e) => {
            let problem = FormProblem::from_error(e, req.lang)?;
            let status = problem.status();
            // After a stale save the form shows what is stored now, so the
            // person sees the other change before applying theirs again.
            let (user, form) = match problem {
                FormProblem::Stale => {
                    let now = store::users::get(&state.store, current.id).await?;
                    let form = UserForm::of(&now);
                    (now, form)
                }
                FormProblem::Invalid(_) => {
                    (current, UserForm { username: String::new(), password: String::new(), ..f })
                }
            };
            let errors = problem.into_errors(req.lang);
            Ok((status, edit_form(&state, &req, user, form, errors, None).await?).into_response())
        }
    }
}

/// The new password an administrator sets.
#[derive(Deserialize, utoipa::ToSchema)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// Sets a new password for an account; every session of the account ends
/// (an administrator resetting their own keeps the current one).
#[utoipa::path(post, path = "/admin/users/{id}/password", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "user id")),
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "set"), (status = 422, description = "the form with its problem", content_type = "text/html")))]
async fn password_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<PasswordForm>,
) -> Result<Response, AppError> {
    let user = store::users::get(&state.store, UserId(id)).await?;
    let pw = match NewPassword::parse(&f.password, &user.username, &user.display_name) {
        Ok(pw) => pw,
        Err(e) => {
            let errors = Errors::of(&e.into(), req.lang);
            let form = UserForm::of(&user);
            let page = edit_form(&state, &req, user, form, errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let hash = hash_blocking(pw.expose().to_string()).await?;
    let me = req.user()?;
    let keep = match &me.via {
        Via::Session { id: session, .. } if me.user.id == user.id => Some(session.as_str()),
        _ => None,
    };
    let mut tx = state.store.begin().await?;
    store::users::set_password(&mut tx, &req.actor()?, user.id, &hash, keep).await?;
    // An administrator resets a password when an account may be in the wrong
    // hands: its API tokens stop working too (not so for one's own change).
    if me.user.id != user.id {
        store::tokens::revoke_all(&mut tx, user.id).await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/admin/users/{}?saved=password", user.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_digits_with_separators() {
        assert_eq!(parse_optional_phone("phone", " ").unwrap(), None);
        for ok in ["13812345678", "021-6123 4567", "+86 138 1234 5678", "(0571) 8888 0000"] {
            assert!(parse_optional_phone("phone", ok).is_ok(), "{ok}");
        }
        for bad in ["abc", "12", "138-1234-5678x9", "1".repeat(30).as_str()] {
            assert_eq!(parse_optional_phone("phone", bad).unwrap_err().code, "invalid_phone", "{bad}");
        }
    }
}
