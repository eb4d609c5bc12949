//! Roles and their grants. A new role starts with nothing; each permission is
//! then granted with a reach (own / team / all) or, when the permission has
//! no reach, simply granted. Nobody can take staff management away from
//! their own role, so there is always someone who can undo a mistake.

use super::{form_version, see_other, Errors, FormProblem, Opt};
use crate::ctx::{Principal, Req};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiJson, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::access::{Grants, Permission, Scope};
use domain::ids::RoleId;
use domain::user::parse_display_name;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use store::roles::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_page, create_submit))
        .routes(routes!(new_page))
        .routes(routes!(edit_page, edit_submit))
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch))
}

// ---------------------------------------------------------------------------
// Rules shared by the pages and the API

/// A role code: `[a-z][a-z0-9_]{1,31}`, stable once created.
fn parse_code(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::required("code"));
    }
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || !(2..=32).contains(&s.len()) {
        return Err(FieldError::new(
            "code",
            "invalid",
            "code must be 2 to 32 characters: a letter a-z, then letters a-z, digits or _",
        ));
    }
    Ok(s.to_string())
}

/// The form and JSON name of a permission's grant.
fn grant_field(p: Permission) -> String {
    format!("grants.{}", p.code())
}

/// Reads one grant: `none` (or nothing) is not granted; a permission
/// without reach takes only `all`.
fn parse_grant(p: Permission, value: &str) -> Result<Option<Scope>, FieldError> {
    let value = value.trim();
    if value.is_empty() || value == "none" {
        return Ok(None);
    }
    let field = grant_field(p);
    let scope = Scope::from_code(value)
        .ok_or_else(|| FieldError::new(&field, "invalid", format!("{field} must be none, own, team or all")))?;
    if !p.is_scoped() && scope != Scope::All {
        return Err(FieldError::new(&field, "not_scoped", format!("{field} has no reach: use all or none")));
    }
    Ok(Some(scope))
}

/// Grants from the API's `{"users.manage": "all", …}`.
fn grants_from_map(map: &BTreeMap<String, String>, errs: &mut FieldErrors) -> Grants {
    let mut g = Grants::default();
    for (code, value) in map {
        let Some(p) = Permission::from_code(code) else {
            errs.push(FieldError::new(format!("grants.{code}"), "unknown", format!("there is no permission {code:?}")));
            continue;
        };
        if let Some(s) = errs.check(parse_grant(p, value)).flatten() {
            g.0.insert(p, s);
        }
    }
    g
}

/// Grants from the role form: a select per permission with reach, a
/// checkbox for the others (present when ticked).
fn grants_from_form(fields: &HashMap<String, String>, errs: &mut FieldErrors) -> Grants {
    let mut g = Grants::default();
    for p in Permission::ALL {
        let Some(value) = fields.get(&grant_field(p)) else { continue };
        let value = if p.is_scoped() { value.as_str() } else { Scope::All.code() };
        if let Some(s) = errs.check(parse_grant(p, value)).flatten() {
            g.0.insert(p, s);
        }
    }
    for key in fields.keys().filter(|k| k.starts_with("grants.")) {
        if Permission::from_code(&key["grants.".len()..]).is_none() {
            errs.push(FieldError::new(key.clone(), "unknown", format!("there is no permission {key:?}")));
        }
    }
    g
}

/// Names, checked.
fn check_names(name_zh: &str, name_en: &str, errs: &mut FieldErrors) -> Option<(String, String)> {
    let zh = errs.check(parse_display_name("name_zh", name_zh));
    let en = errs.check(parse_display_name("name_en", name_en));
    zh.zip(en)
}

/// Staff management must stay on the editor's own role.
fn check_lockout(me: &Principal, role: &Role, grants: &Grants, errs: &mut FieldErrors) {
    if role.id == me.user.role_id && !grants.has(Permission::UsersManage) {
        errs.push(FieldError::new(
            grant_field(Permission::UsersManage),
            "self_lockout",
            "your own role must keep users.manage, or nobody could undo this",
        ));
    }
}

async fn create(state: &AppState, req: &Req, code: &str, name_zh: &str, name_en: &str) -> Result<Role, AppError> {
    let mut errs = FieldErrors::new();
    let code = errs.check(parse_code(code));
    let names = check_names(name_zh, name_en, &mut errs);
    errs.into_result()?;
    let (Some(code), Some((zh, en))) = (code, names) else {
        return Err(AppError::Internal("checked fields missing".into()));
    };
    let mut tx = state.store.begin().await?;
    let id = store::roles::create(&mut tx, &req.actor()?, &code, &zh, &en).await?;
    tx.commit().await?;
    Ok(store::roles::get(&state.store, id).await?)
}

async fn update(
    state: &AppState,
    req: &Req,
    role: &Role,
    version: i64,
    names: (String, String),
    grants: &Grants,
) -> Result<Role, AppError> {
    let mut tx = state.store.begin().await?;
    store::roles::update(&mut tx, &req.actor()?, role.id, version, &names.0, &names.1, grants).await?;
    tx.commit().await?;
    Ok(store::roles::get(&state.store, role.id).await?)
}

// ---------------------------------------------------------------------------
// JSON API

/// A role with its grants.
#[derive(Serialize, utoipa::ToSchema)]
struct RoleOut {
    id: i64,
    code: String,
    name_zh: String,
    name_en: String,
    /// Shipped with Keyuan.
    builtin: bool,
    /// Permission code → reach (`own`, `team`, `all`); absent is not granted.
    grants: BTreeMap<String, String>,
    /// Send back when changing the role.
    version: i64,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        RoleOut {
            id: r.id.0,
            grants: r.grants.0.iter().map(|(p, s)| (p.code().to_string(), s.code().to_string())).collect(),
            code: r.code,
            name_zh: r.name_zh,
            name_en: r.name_en,
            builtin: r.builtin,
            version: r.version,
        }
    }
}

/// Every role.
#[derive(Serialize, utoipa::ToSchema)]
struct RoleList {
    items: Vec<RoleOut>,
    /// Always `null`: the roles come whole.
    next: Option<String>,
}

/// Lists every role with its grants, built-in first.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("keyuan" = ["users.manage"])),
    responses((status = 200, body = RoleList), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(State(state): State<AppState>) -> Result<Json<RoleList>, AppError> {
    let items = store::roles::list(&state.store).await?.into_iter().map(RoleOut::from).collect();
    Ok(Json(RoleList { items, next: None }))
}

/// A new role; it starts with no grants.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewRoleBody {
    /// `[a-z][a-z0-9_]{1,31}`.
    code: String,
    name_zh: String,
    name_en: String,
}

/// Creates a role with no grants.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", security(("keyuan" = ["users.manage"])),
    request_body = NewRoleBody,
    responses((status = 201, body = RoleOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<NewRoleBody>,
) -> Result<(StatusCode, Json<RoleOut>), AppError> {
    let role = create(&state, &req, &b.code, &b.name_zh, &b.name_en).await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

/// Reads one role.
#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "roles", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "role id")),
    responses((status = 200, body = RoleOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<RoleOut>, AppError> {
    Ok(Json(store::roles::get(&state.store, RoleId(id)).await?.into()))
}

/// Changes to a role; `grants`, when given, replaces all of them.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RolePatch {
    version: i64,
    #[serde(default)]
    name_zh: Option<String>,
    #[serde(default)]
    name_en: Option<String>,
    /// Permission code → `none`, `own`, `team` or `all`.
    #[serde(default)]
    grants: Option<BTreeMap<String, String>>,
}

/// Renames a role or replaces its grants; a stale `version` is 409.
#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "roles", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "role id")), request_body = RolePatch,
    responses((status = 200, body = RoleOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RolePatch>,
) -> Result<Json<RoleOut>, AppError> {
    let role = store::roles::get(&state.store, RoleId(id)).await?;
    let mut errs = FieldErrors::new();
    let names = check_names(
        b.name_zh.as_deref().unwrap_or(&role.name_zh),
        b.name_en.as_deref().unwrap_or(&role.name_en),
        &mut errs,
    );
    let grants = match &b.grants {
        Some(map) => grants_from_map(map, &mut errs),
        None => role.grants.clone(),
    };
    check_lockout(req.user()?, &role, &grants, &mut errs);
    errs.into_result()?;
    let Some(names) = names else { return Err(AppError::Internal("checked names missing".into())) };
    Ok(Json(update(&state, &req, &role, b.version, names, &grants).await?.into()))
}

// ---------------------------------------------------------------------------
// Pages

fn role_name(r: &Role, lang: Lang) -> &str {
    match lang {
        Lang::Zh => &r.name_zh,
        Lang::En => &r.name_en,
    }
}

/// One role in the list.
struct RoleRow {
    id: i64,
    code: String,
    name: String,
    builtin: bool,
    /// (permission, reach) labels.
    grants: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<RoleRow>,
}

fn perm_label(p: Permission, lang: Lang) -> &'static str {
    lang.t(&format!("perm.{}", p.code()))
}

fn scope_label(s: Option<Scope>, lang: Lang) -> &'static str {
    lang.t(&format!("scope.{}", s.map(Scope::code).unwrap_or("none")))
}

/// Roles with their grants.
#[utoipa::path(get, path = "/admin/roles", tag = "pages", security(("keyuan" = ["users.manage"])),
    responses((status = 200, description = "roles", content_type = "text/html")))]
async fn list_page(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let rows = store::roles::list(&state.store)
        .await?
        .into_iter()
        .map(|r| RoleRow {
            id: r.id.0,
            name: role_name(&r, lang).to_string(),
            grants: Permission::ALL
                .into_iter()
                .filter_map(|p| r.grants.scope(p).map(|s| (p, s)))
                .map(|(p, s)| (perm_label(p, lang), if p.is_scoped() { scope_label(Some(s), lang) } else { "" }))
                .collect(),
            code: r.code,
            builtin: r.builtin,
        })
        .collect();
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.roles").await;
    render(&ListPage { shell, rows })
}

/// The new-role form as submitted.
#[derive(Default, Deserialize, utoipa::ToSchema)]
struct NewRoleForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
}

#[derive(Template)]
#[template(path = "admin_role_new.html")]
struct NewPage {
    shell: Shell,
    form: NewRoleForm,
    errors: Errors,
}

async fn new_view(state: &AppState, req: &Req, form: NewRoleForm, errors: Errors) -> Result<Html<String>, AppError> {
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.roles").await;
    render(&NewPage { shell, form, errors })
}

/// The form for a new role.
#[utoipa::path(get, path = "/admin/roles/new", tag = "pages", security(("keyuan" = ["users.manage"])),
    responses((status = 200, description = "new role form", content_type = "text/html")))]
async fn new_page(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    new_view(&state, &req, NewRoleForm::default(), Errors::default()).await
}

/// Creates a role with no grants, then shows it to grant permissions.
#[utoipa::path(post, path = "/admin/roles", tag = "pages", security(("keyuan" = ["users.manage"])),
    request_body(content = NewRoleForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "created; to the role"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<NewRoleForm>,
) -> Result<Response, AppError> {
    match create(&state, &req, &f.code, &f.name_zh, &f.name_en).await {
        Ok(role) => Ok(see_other(&format!("/admin/roles/{}?saved=1", role.id))),
        Err(e) => {
            let problem = FormProblem::from_error(e, req.lang)?;
            let status = problem.status();
            Ok((status, new_view(&state, &req, f, problem.into_errors(req.lang)).await?).into_response())
        }
    }
}

/// One permission's row in the role editor.
struct GrantRow {
    field: String,
    label: &'static str,
    scoped: bool,
    granted: bool,
    scopes: Vec<Opt>,
}

fn grant_rows(grants: &Grants, lang: Lang) -> Vec<GrantRow> {
    Permission::ALL
        .into_iter()
        .map(|p| {
            let current = grants.scope(p).map(Scope::code).unwrap_or("none");
            GrantRow {
                field: grant_field(p),
                label: perm_label(p, lang),
                scoped: p.is_scoped(),
                granted: grants.has(p),
                scopes: [None, Some(Scope::Own), Some(Scope::Team), Some(Scope::All)]
                    .into_iter()
                    .map(|s| Opt::new(s.map(Scope::code).unwrap_or("none"), scope_label(s, lang), current))
                    .collect(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin_role_edit.html")]
struct EditPage {
    shell: Shell,
    role: Role,
    name_zh: String,
    name_en: String,
    version: i64,
    grants: Vec<GrantRow>,
    errors: Errors,
    notice: Option<&'static str>,
}

/// What the role form shows: the stored role, or the values just refused.
struct RoleValues {
    name_zh: String,
    name_en: String,
    version: i64,
    grants: Grants,
}

impl RoleValues {
    fn of(r: &Role) -> RoleValues {
        RoleValues {
            name_zh: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            version: r.version,
            grants: r.grants.clone(),
        }
    }
}

async fn edit_view(
    state: &AppState,
    req: &Req,
    role: Role,
    v: RoleValues,
    errors: Errors,
    notice: Option<&'static str>,
) -> Result<Html<String>, AppError> {
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.roles").await;
    let grants = grant_rows(&v.grants, req.lang);
    render(&EditPage {
        shell,
        role,
        name_zh: v.name_zh,
        name_en: v.name_en,
        version: v.version,
        grants,
        errors,
        notice,
    })
}

/// `?saved=1` after a change.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// Show that the last change was saved.
    saved: Option<String>,
}

/// One role's names and grants.
#[utoipa::path(get, path = "/admin/roles/{id}", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "role id"), SavedQuery),
    responses((status = 200, description = "role form", content_type = "text/html"), (status = 404, description = "no such role")))]
async fn edit_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    crate::json::ApiQuery(q): crate::json::ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let role = store::roles::get(&state.store, RoleId(id)).await?;
    let notice = q.saved.is_some().then(|| req.lang.t("common.saved"));
    let values = RoleValues::of(&role);
    edit_view(&state, &req, role, values, Errors::default(), notice).await
}

/// The role form as submitted: names, version and one `grants.<permission>`
/// field per granted permission (`none`/`own`/`team`/`all`, or a ticked box).
#[derive(Deserialize, utoipa::ToSchema)]
struct RoleForm {
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    version: String,
    /// `grants.<permission>` fields (and the CSRF token).
    #[serde(flatten)]
    #[schema(ignore)]
    rest: HashMap<String, String>,
}

/// Saves a role's names and grants. A stale `version` shows the stored role
/// again with a message, status 409.
#[utoipa::path(post, path = "/admin/roles/{id}", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "role id")),
    request_body(content = RoleForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn edit_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<RoleForm>,
) -> Result<Response, AppError> {
    let role = store::roles::get(&state.store, RoleId(id)).await?;
    let version = form_version(&f.version)?;
    let mut errs = FieldErrors::new();
    let names = check_names(&f.name_zh, &f.name_en, &mut errs);
    let grants = grants_from_form(&f.rest, &mut errs);
    check_lockout(req.user()?, &role, &grants, &mut errs);
    let result = match (errs.into_result(), names) {
        (Ok(()), Some(names)) => update(&state, &req, &role, version, names, &grants).await,
        (Err(e), _) => Err(e.into()),
        (Ok(()), None) => Err(AppError::Internal("checked names missing".into())),
    };
    match result {
        Ok(role) => Ok(see_other(&format!("/admin/roles/{}?saved=1", role.id))),
        Err(e) => {
            let problem = FormProblem::from_error(e, req.lang)?;
            let status = problem.status();
            let (role, values) = match problem {
                FormProblem::Stale => {
                    let now = store::roles::get(&state.store, role.id).await?;
                    let values = RoleValues::of(&now);
                    (now, values)
                }
                FormProblem::Invalid(_) => {
                    let values = RoleValues { name_zh: f.name_zh, name_en: f.name_en, version, grants };
                    (role, values)
                }
            };
            let errors = problem.into_errors(req.lang);
            Ok((status, edit_view(&state, &req, role, values, errors, None).await?).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_codes() {
        assert_eq!(parse_code(" night_auditor ").unwrap(), "night_auditor");
        assert_eq!(parse_code("").unwrap_err().code, "required");
        for bad in ["a", "1abc", "Sales", "sales-2", "_x", &"a".repeat(33)] {
            assert_eq!(parse_code(bad).unwrap_err().code, "invalid", "{bad}");
        }
        assert!(parse_code(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn api_grants_are_checked_per_permission() {
        let mut errs = FieldErrors::new();
        let map: BTreeMap<String, String> = [
            ("audit.view", "team"),
            ("users.manage", "all"),
            ("logins.view", "none"),
            ("settings.manage", "own"),
            ("customers.delete", "all"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let g = grants_from_map(&map, &mut errs);
        assert_eq!(g.scope(Permission::AuditView), Some(Scope::Team));
        assert_eq!(g.scope(Permission::UsersManage), Some(Scope::All));
        assert!(!g.has(Permission::LoginsView));
        let fields: Vec<(&str, &str)> = errs.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(fields, vec![("grants.customers.delete", "unknown"), ("grants.settings.manage", "not_scoped")]);
    }

    #[test]
    fn form_grants_take_selects_and_checkboxes() {
        let mut errs = FieldErrors::new();
        let fields: HashMap<String, String> = [
            ("grants.audit.view", "own"),
            ("grants.users.manage", "all"),
            ("grants.logins.view", "none"),
            ("csrf", "x"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let g = grants_from_form(&fields, &mut errs);
        assert!(errs.is_empty(), "{errs}");
        assert_eq!(g.0.len(), 2);
        assert_eq!(g.scope(Permission::AuditView), Some(Scope::Own));
        assert_eq!(g.scope(Permission::UsersManage), Some(Scope::All));
    }
}
