//! My account (我的账户): every logged-in person's own profile, interface
//! language, password, API tokens and login history.
//!
//! Nothing here needs a permission: each route acts only on the caller's own
//! account, whose id comes from the session or token, never from the request.

use crate::audit::{LoginList, LoginOut, LoginRow};
use crate::ctx::{Req, Via};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{next_cursor, rfc3339, ApiJson, ApiQuery, PageForm, PageQuery};
use crate::page::{render, see_other, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::access::{Grants, Scope};
use domain::ids::TokenId;
use domain::password::NewPassword;
use domain::user::Locale;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::now_ms;
use store::users::User;
use store::visibility::Visibility;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(account_page))
        .routes(routes!(locale_submit))
        .routes(routes!(password_submit))
        .routes(routes!(token_create))
        .routes(routes!(token_revoke))
        .routes(routes!(me_get, me_patch))
        .routes(routes!(me_password))
        .routes(routes!(me_logins))
}

/// How many of my own login attempts the account page shows.
const RECENT_LOGINS: i64 = 20;
/// Token lifetimes offered on the page, in days; the first is the default.
const TOKEN_DAYS: [i64; 4] = [90, 30, 365, 7];

// ---------------------------------------------------------------------------
// Form messages
// ---------------------------------------------------------------------------

/// Field errors as a form shows them: each field's message in the page's
/// language. A known reason code has a text `<prefix>.<code>` in the area's
/// table; any other falls back to the English explanation from the domain.
#[derive(Debug, Default)]
pub(crate) struct FormErrors(Vec<(String, String)>);

impl FormErrors {
    /// Translates `errors` with the texts of `table` under `prefix`.
    pub(crate) fn new(
        lang: Lang,
        errors: &FieldErrors,
        table: &[(&str, &'static str, &'static str)],
        prefix: &str,
    ) -> Self {
        let out = errors
            .0
            .iter()
            .map(|e| {
                let key = format!("{prefix}.{}", e.code);
                let text = table
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|(_, zh, en)| match lang {
                        Lang::Zh => (*zh).to_string(),
                        Lang::En => (*en).to_string(),
                    })
                    .unwrap_or_else(|| e.message.clone());
                (e.field.clone(), text)
            })
            .collect();
        FormErrors(out)
    }

    /// The message for `field`, if it has one.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// Whether the form had no problem.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// ---------------------------------------------------------------------------
// Shared logic of the page and the API
// ---------------------------------------------------------------------------

/// Changes the caller's password after checking the current one. A session
/// that makes the change stays logged in; every other session ends. API
/// tokens are kept: they were issued deliberately and are revoked one by one.
async fn change_own_password(state: &AppState, req: &Req, current: &str, new: &str) -> Result<(), AppError> {
    let me = req.user()?;
    let mut errors = FieldErrors::new();
    if current.is_empty() {
        errors.push(FieldError::required("current_password"));
    } else {
        let hash = store::users::password_hash(&state.store, me.user.id).await?;
        let given: String = current.chars().take(domain::password::MAX_CHARS + 1).collect();
        if !crate::auth::verify_blocking(given, hash).await {
            errors.push(FieldError::new("current_password", "wrong_password", "the current password is wrong"));
        }
    }
    // The domain names the field `password`; these forms call it `new_password`.
    let parsed = NewPassword::parse(new, &me.user.username, &me.user.display_name)
        .map_err(|e| FieldError::new("new_password", e.code, e.message.replacen("password", "new_password", 1)));
    let new = match (errors.check(parsed), errors.into_result()) {
        (Some(new), Ok(())) => new,
        (_, Err(errors)) => return Err(AppError::Invalid(errors)),
        (None, Ok(())) => return Err(AppError::Internal("a refused password left no error".into())),
    };
    let hash = crate::auth::hash_blocking(new.expose().to_string()).await?;
    let keep = match &me.via {
        Via::Session { id, .. } => Some(id.as_str()),
        Via::Token(_) => None,
    };
    let mut tx = state.store.begin().await?;
    store::users::set_password(&mut tx, &req.actor()?, me.user.id, &hash, keep).await?;
    tx.commit().await?;
    Ok(())
}

/// Saves the caller's interface language if `version` is still current.
async fn save_locale(state: &AppState, req: &Req, locale: Locale, version: i64) -> Result<User, AppError> {
    let me = req.user()?;
    let mut changes = store::users::Changes::from(&me.user);
    changes.locale = locale;
    let mut tx = state.store.begin().await?;
    let user = store::users::update(&mut tx, &req.actor()?, me.user.id, version, &changes).await?;
    tx.commit().await?;
    Ok(user)
}

fn own_visibility(req: &Req) -> Result<Visibility, AppError> {
    let me = req.user()?;
    Ok(Visibility { scope: Scope::Own, user_id: me.user.id, teams: Vec::new() })
}

fn token_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::required("name"));
    }
    if name.chars().count() > 64 {
        return Err(FieldError::new("name", "too_long", "name must have at most 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new("name", "invalid", "name must not contain control characters"));
    }
    Ok(name.to_string())
}

// ---------------------------------------------------------------------------
// Page
// ---------------------------------------------------------------------------

/// One of my tokens as the page lists it.
struct TokenRow {
    id: i64,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    /// Text key of its state (usable, revoked, expired).
    state: &'static str,
    usable: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    shell: Shell,
    user: User,
    role_name: String,
    team_name: String,
    notice: Option<&'static str>,
    /// Shown once, right after it was created.
    new_token: Option<String>,
    password_errors: FormErrors,
    token_errors: FormErrors,
    token_name: String,
    token_days: Vec<(i64, bool)>,
    tokens: Vec<TokenRow>,
    logins: Vec<LoginRow>,
    zh_selected: bool,
}

/// What changed on the page besides its normal content.
#[derive(Default)]
struct PageExtra {
    notice: Option<&'static str>,
    new_token: Option<String>,
    password_errors: FieldErrors,
    token_errors: FieldErrors,
    token_name: String,
    token_days: Option<i64>,
}

async fn account_view(state: &AppState, req: &Req, extra: PageExtra) -> Result<AccountPage, AppError> {
    let me = req.user()?;
    let role = store::roles::get(&state.store, me.user.role_id).await?;
    let role_name = match req.lang {
        Lang::Zh => role.name_zh,
        Lang::En => role.name_en,
    };
    let team_name = match me.user.team_id {
        Some(t) => match store::teams::get(&state.store, t).await {
            Ok(team) => team.name,
            Err(store::StoreError::NotFound) => "—".into(),
            Err(e) => return Err(e.into()),
        },
        None => "—".into(),
    };
    let now = now_ms();
    let tokens = store::tokens::list_for_user(&state.store, me.user.id)
        .await?
        .into_iter()
        .map(|t| {
            let (state, usable) = if t.revoked_at.is_some() {
                ("account.token_revoked", false)
            } else if t.expires_at.is_some_and(|e| e <= now) {
                ("account.token_expired", false)
            } else {
                ("common.active", true)
            };
            TokenRow {
                id: t.id.0,
                name: t.name,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                expires_at: t.expires_at,
                state,
                usable,
            }
        })
        .collect();
    let filter = store::logins::Filter { limit: RECENT_LOGINS, ..Default::default() };
    let logins = store::logins::list(&state.store, &own_visibility(req)?, &filter)
        .await?
        .items
        .into_iter()
        .map(|a| LoginRow::new(a, req.lang))
        .collect();
    let chosen_days = extra.token_days.unwrap_or(TOKEN_DAYS[0]);
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.account").await;
    Ok(AccountPage {
        shell,
        user: me.user.clone(),
        role_name,
        team_name,
        notice: extra.notice,
        new_token: extra.new_token,
        password_errors: FormErrors::new(req.lang, &extra.password_errors, TEXTS, "account.err"),
        token_errors: FormErrors::new(req.lang, &extra.token_errors, TEXTS, "account.err"),
        token_name: extra.token_name,
        token_days: TOKEN_DAYS.iter().map(|d| (*d, *d == chosen_days)).collect(),
        tokens,
        logins,
        zh_selected: me.user.locale == Locale::ZhCn,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AccountQuery {
    /// `1` after a save, `password` after a password change.
    saved: Option<String>,
}

/// My account.
#[utoipa::path(get, path = "/account", tag = "pages", security(("keyuan" = [])), params(AccountQuery),
    responses((status = 200, description = "my account", content_type = "text/html")))]
async fn account_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> Result<Response, AppError> {
    let notice = match q.saved.as_deref() {
        Some("password") => Some("account.password_changed"),
        Some("language") => Some("account.language_saved"),
        Some(_) => Some("common.saved"),
        None => None,
    };
    let page = account_view(&state, &req, PageExtra { notice, ..Default::default() }).await?;
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LocaleForm {
    /// `zh-CN` or `en`.
    locale: String,
}

/// Switches my interface language; the next page is in it.
#[utoipa::path(post, path = "/account/locale", tag = "pages", security(("keyuan" = [])),
    request_body(content = LocaleForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved; back to my account"), (status = 422, description = "unknown language")))]
async fn locale_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<LocaleForm>,
) -> Result<Response, AppError> {
    let locale = Locale::parse(&f.locale)?;
    let version = req.user()?.user.version;
    save_locale(&state, &req, locale, version).await?;
    Ok(see_other("/account?saved=language"))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    /// The new password typed again (the page's own check against typos).
    #[serde(default)]
    confirm_password: Option<String>,
}

/// Changes my password; the form again with messages (422) if anything is wrong.
#[utoipa::path(post, path = "/account/password", tag = "pages", security(("keyuan" = [])),
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "changed; other sessions ended"),
        (status = 422, description = "the form again with messages", content_type = "text/html")))]
async fn password_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<PasswordForm>,
) -> Result<Response, AppError> {
    let mismatch = f.confirm_password.as_deref().is_some_and(|c| c != f.new_password);
    let result = if mismatch {
        Err(AppError::Invalid(FieldError::new("confirm_password", "mismatch", "the two new passwords differ").into()))
    } else {
        change_own_password(&state, &req, &f.current_password, &f.new_password).await
    };
    match result {
        Ok(()) => Ok(see_other("/account?saved=password")),
        Err(AppError::Invalid(errors)) => {
            let extra = PageExtra { password_errors: errors, ..Default::default() };
            let page = account_view(&state, &req, extra).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenForm {
    /// A label to recognise the token by.
    name: String,
    /// Days until it expires (7, 30, 90 or 365).
    #[serde(default)]
    expires_in_days: Option<String>,
}

/// Creates an API token; the page shows its secret this once.
#[utoipa::path(post, path = "/account/tokens", tag = "pages", security(("keyuan" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "my account with the new secret", content_type = "text/html"),
        (status = 422, description = "the form again with messages", content_type = "text/html")))]
async fn token_create(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<TokenForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check(token_name(&f.name));
    let days = match f.expires_in_days.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(TOKEN_DAYS[0]),
        Some(s) => match s.parse::<i64>() {
            Ok(d) if TOKEN_DAYS.contains(&d) => Some(d),
            _ => {
                errors.push(FieldError::new("expires_in_days", "invalid", "choose one of the offered lifetimes"));
                None
            }
        },
    };
    let (Some(name), Some(days)) = (name, days) else {
        let extra =
            PageExtra { token_errors: errors, token_name: f.name.clone(), token_days: days, ..Default::default() };
        let page = account_view(&state, &req, extra).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    let me = req.user()?;
    let mut tx = state.store.begin().await?;
    let (_, secret) =
        store::tokens::create(&mut tx, &req.actor()?, me.user.id, &name, Some(now_ms() + days * 86_400_000)).await?;
    tx.commit().await?;
    // The secret is rendered directly, never put in a URL to redirect to.
    let extra = PageExtra { new_token: Some(secret), ..Default::default() };
    let page = account_view(&state, &req, extra).await?;
    let mut resp = render(&page)?.into_response();
    resp.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Revokes one of my API tokens (another person's is 404).
#[utoipa::path(post, path = "/account/tokens/{id}/revoke", tag = "pages", security(("keyuan" = [])),
    params(("id" = i64, Path, description = "token id")),
    responses((status = 303, description = "revoked; back to my account"), (status = 404, description = "not my token")))]
async fn token_revoke(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    let me = req.user()?;
    let mut tx = state.store.begin().await?;
    store::tokens::revoke(&mut tx, &req.actor()?, me.user.id, TokenId(id)).await?;
    tx.commit().await?;
    Ok(see_other("/account?saved=1"))
}

// ---------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------

/// My account, with what my role lets me do.
#[derive(Serialize, utoipa::ToSchema)]
struct MeOut {
    id: i64,
    username: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    /// Role code (`sales`).
    role: String,
    role_id: i64,
    team_id: Option<i64>,
    /// `zh-CN` or `en`.
    locale: String,
    last_login_at: Option<String>,
    created_at: String,
    updated_at: String,
    version: i64,
    /// Permission code → scope (`own`, `team`, `all`).
    permissions: BTreeMap<String, String>,
}

impl MeOut {
    fn new(u: &User, grants: &Grants) -> MeOut {
        MeOut {
            id: u.id.0,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            role: u.role_code.clone(),
            role_id: u.role_id.0,
            team_id: u.team_id.map(|t| t.0),
            locale: u.locale.code().to_string(),
            last_login_at: u.last_login_at.map(rfc3339),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            version: u.version,
            permissions: grants.0.iter().map(|(p, s)| (p.code().to_string(), s.code().to_string())).collect(),
        }
    }
}

/// Who I am and what I may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("keyuan" = [])),
    responses((status = 200, body = MeOut), (status = 401, body = crate::error::ErrorBody)))]
async fn me_get(req: Req) -> Result<Json<MeOut>, AppError> {
    let me = req.user()?;
    Ok(Json(MeOut::new(&me.user, &me.grants)))
}

/// The one thing I change about my account myself: the interface language.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MePatch {
    /// `zh-CN` or `en`.
    locale: String,
    /// The version I read.
    version: i64,
}

/// Sets my interface language.
#[utoipa::path(patch, path = "/api/v1/me", tag = "account", security(("keyuan" = [])), request_body = MePatch,
    responses((status = 200, body = MeOut), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn me_patch(
    State(state): State<AppState>,
    req: Req,
    ApiJson(body): ApiJson<MePatch>,
) -> Result<Json<MeOut>, AppError> {
    let locale = Locale::parse(&body.locale)?;
    let user = save_locale(&state, &req, locale, body.version).await?;
    Ok(Json(MeOut::new(&user, &req.user()?.grants)))
}

/// A password change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    /// 12–128 characters, not common, not containing the username.
    new_password: String,
}

/// Changes my password. Every session ends except the one making the
/// change (if it is a browser session); API tokens keep working.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "account", security(("keyuan" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "changed"), (status = 422, body = crate::error::ErrorBody)))]
async fn me_password(
    State(state): State<AppState>,
    req: Req,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, AppError> {
    change_own_password(&state, &req, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My own login attempts, newest first.
#[utoipa::path(get, path = "/api/v1/me/logins", tag = "account", security(("keyuan" = [])), params(PageQuery),
    responses((status = 200, body = LoginList), (status = 422, body = crate::error::ErrorBody)))]
async fn me_logins(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<LoginList>, AppError> {
    let filter = store::logins::Filter { limit: q.limit()?, before: q.before()?, ..Default::default() };
    let page = store::logins::list(&state.store, &own_visibility(&req)?, &filter).await?;
    Ok(Json(LoginList { items: page.items.into_iter().map(LoginOut::from).collect(), next: next_cursor(page.next) }))
}

/// Texts of this area: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("account.confirm_password", "再次输入新密码", "New password again"),
    ("account.err.contains_username", "密码不能包含用户名", "The password must not contain the username"),
    ("account.err.invalid", "包含不允许的字符", "Contains characters that are not allowed"),
    ("account.err.mismatch", "两次输入的新密码不一致", "The two new passwords differ"),
    ("account.err.required", "必填", "Required"),
    (
        "account.err.too_common",
        "密码过于常见，容易被猜中，请换一个更长、更独特的密码",
        "This password is too common and easy to guess; choose a longer, more unusual one",
    ),
    (
        "account.err.too_long",
        "过长（密码最多 128 个字符，令牌名称最多 64 个字符）",
        "Too long (passwords have at most 128 characters, token names 64)",
    ),
    ("account.err.too_short", "密码至少需要 12 个字符", "The password needs at least 12 characters"),
    ("account.err.wrong_password", "当前密码不正确", "The current password is wrong"),
    ("account.lang_en", "English", "English"),
    ("account.lang_zh", "简体中文", "简体中文 (Simplified Chinese)"),
    ("account.no_tokens", "还没有 API 令牌", "No API tokens yet"),
    ("account.profile", "个人资料", "Profile"),
    ("account.token_created_at", "创建时间", "Created"),
    ("account.token_days", "有效期（天）", "Valid for (days)"),
    ("account.token_expired", "已过期", "Expired"),
    ("account.token_expires_at", "到期时间", "Expires"),
    ("account.token_last_used", "最近使用", "Last used"),
    (
        "account.token_revoke_confirm",
        "吊销后使用此令牌的程序将无法访问，确定吗？",
        "Programs using this token will lose access. Revoke it?",
    ),
    ("account.token_revoked", "已吊销", "Revoked"),
    (
        "account.tokens_hint",
        "API 令牌供其他程序代表您访问客源，请求时放在 Authorization: Bearer 请求头中。",
        "API tokens let other programs use Keyuan on your behalf; send one in the Authorization: Bearer header.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_are_translated_by_code() {
        let errs = FieldErrors(vec![
            FieldError::new("new_password", "too_short", "new_password must have at least 12 characters"),
            FieldError::new("x", "no_text_for_this", "fallback in English"),
        ]);
        let zh = FormErrors::new(Lang::Zh, &errs, TEXTS, "account.err");
        assert_eq!(zh.get("new_password"), Some("密码至少需要 12 个字符"));
        assert_eq!(zh.get("x"), Some("fallback in English"));
        assert_eq!(zh.get("other"), None);
        let en = FormErrors::new(Lang::En, &errs, TEXTS, "account.err");
        assert_eq!(en.get("new_password"), Some("The password needs at least 12 characters"));
        assert!(FormErrors::default().is_empty());
    }

    #[test]
    fn token_names_are_checked() {
        assert_eq!(token_name("  CI  ").unwrap(), "CI");
        assert_eq!(token_name(" ").unwrap_err().code, "required");
        assert_eq!(token_name(&"x".repeat(65)).unwrap_err().code, "too_long");
    }
}
