//! Logging in and out, and API tokens.
//!
//! Passwords are checked with Argon2id. Failed attempts are throttled per
//! account and per client address, counted in the database so that several
//! servers share the count; every attempt is kept as login history.

use crate::ctx::{Req, Via, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use domain::ids::TokenId;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use store::users::User;
use store::{now_ms, Actor};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_page, login_submit))
        .routes(routes!(logout))
        .routes(routes!(issue_token))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}

/// Hashes a password with Argon2id (a fresh salt each time).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// Hashing is slow on purpose; keep it off the async workers.
pub(crate) async fn verify_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false)
}

pub(crate) async fn hash_blocking(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}

/// A hash of a random password, checked against when the username is
/// unknown so that the answer takes as long as for a real account.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&store_token()).unwrap_or_default())
}

fn store_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub(crate) enum LoginOutcome {
    Ok(User),
    Bad,
    Throttled(u64),
}

/// Checks credentials with throttling, and records the attempt.
pub(crate) async fn check_login(
    state: &AppState,
    req: &Req,
    username: &str,
    password: &str,
) -> Result<LoginOutcome, AppError> {
    let username = username.trim().to_lowercase();
    let cfg = &state.config;
    let since = now_ms() - cfg.failure_window_ms;
    let (by_user, by_ip) = store::logins::recent_failures(&state.store, &username, req.ip.as_deref(), since).await?;
    let ua = req.user_agent.as_deref();
    if by_user >= cfg.max_failures_per_account || by_ip >= cfg.max_failures_per_ip {
        store::logins::record(&state.store, &username, None, req.ip.as_deref(), ua, false, "throttled").await?;
        return Ok(LoginOutcome::Throttled((cfg.failure_window_ms / 1000) as u64));
    }
    let found = store::users::for_login(&state.store, &username).await?;
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, decoy_hash().to_string()),
    };
    let ok = verify_blocking(password.chars().take(domain::password::MAX_CHARS).collect(), hash).await
        && password.chars().count() <= domain::password::MAX_CHARS;
    let ip = req.ip.as_deref();
    match user {
        Some(u) if ok && u.active => {
            store::logins::record(&state.store, &username, Some(u.id), ip, ua, true, "ok").await?;
            store::users::touch_login(&state.store, u.id).await?;
            Ok(LoginOutcome::Ok(u))
        }
        Some(u) if ok => {
            store::logins::record(&state.store, &username, Some(u.id), ip, ua, false, "inactive").await?;
            Ok(LoginOutcome::Bad)
        }
        Some(u) => {
            store::logins::record(&state.store, &username, Some(u.id), ip, ua, false, "bad_password").await?;
            Ok(LoginOutcome::Bad)
        }
        None => {
            store::logins::record(&state.store, &username, None, ip, ua, false, "unknown_user").await?;
            Ok(LoginOutcome::Bad)
        }
    }
}

pub(crate) fn cookie_header(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Only same-site relative targets, so the login form cannot be used to
/// send people elsewhere.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    shell: &'a Shell,
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    message: Option<&'static str>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LoginQuery {
    /// Where to go after logging in.
    next: Option<String>,
    /// `zh-CN` or `en`, remembered in a cookie.
    lang: Option<String>,
    /// `expired` when a session ran out.
    reason: Option<String>,
}

/// The login page.
#[utoipa::path(get, path = "/login", tag = "pages", security(()), params(LoginQuery),
    responses((status = 200, description = "login form", content_type = "text/html")))]
async fn login_page(
    State(state): State<AppState>,
    req: Req,
    crate::json::ApiQuery(q): crate::json::ApiQuery<LoginQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(q.next.as_deref().unwrap_or("/")).to_string();
    if req.principal.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let csrf = store_token();
    let shell = Shell::new(&state, None, req.lang, "login").await;
    let message = (q.reason.as_deref() == Some("expired")).then_some("login.expired").map(|k| req.lang.t(k));
    let page = render(&LoginPage { shell: &shell, csrf: &csrf, next: &next, username: "", message })?;
    let mut resp = page.into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie_header(&state, LOGIN_CSRF_COOKIE, &csrf, Some(3600)));
    if let Some(l) = q.lang.as_deref().filter(|l| matches!(*l, "en" | "zh-CN")) {
        resp.headers_mut().append(header::SET_COOKIE, cookie_header(&state, LANG_COOKIE, l, Some(365 * 86400)));
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Logs in: a new session (with a new id) on success; the form again with a
/// message on failure.
#[utoipa::path(post, path = "/login", tag = "pages", security(()),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "logged in"), (status = 401, description = "wrong credentials", content_type = "text/html"),
        (status = 429, description = "throttled", content_type = "text/html")))]
async fn login_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<LoginForm>,
) -> Result<Response, AppError> {
    let outcome = check_login(&state, &req, &f.username, &f.password).await?;
    let (status, key) = match outcome {
        LoginOutcome::Ok(user) => {
            // Whatever session the browser had is ended: a fresh id at login.
            if let Some(p) = &req.principal {
                if let Via::Session { id, .. } = &p.via {
                    store::sessions::delete(&state.store, id).await?;
                }
            }
            let (token, _) = store::sessions::create(
                &state.store,
                user.id,
                state.config.session_lifetime_ms,
                req.ip.as_deref(),
                req.user_agent.as_deref(),
            )
            .await?;
            let mut resp = Redirect::to(safe_next(&f.next)).into_response();
            resp.headers_mut().append(header::SET_COOKIE, cookie_header(&state, SESSION_COOKIE, &token, None));
            resp.headers_mut().append(header::SET_COOKIE, cookie_header(&state, LOGIN_CSRF_COOKIE, "", Some(0)));
            return Ok(resp);
        }
        LoginOutcome::Bad => (StatusCode::UNAUTHORIZED, "login.failed"),
        LoginOutcome::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "login.throttled"),
    };
    let shell = Shell::new(&state, None, req.lang, "login").await;
    let next = safe_next(&f.next).to_string();
    let page = render(&LoginPage {
        shell: &shell,
        csrf: &f.csrf,
        next: &next,
        username: &f.username,
        message: Some(req.lang.t(key)),
    })?;
    Ok((status, page).into_response())
}

/// Logs out: the session ends on the server, the cookie is cleared.
#[utoipa::path(post, path = "/logout", tag = "pages", security(()),
    responses((status = 303, description = "logged out; to the login page")))]
async fn logout(State(state): State<AppState>, req: Req) -> Result<Response, AppError> {
    if let Some(p) = &req.principal {
        if let Via::Session { id, .. } = &p.via {
            store::sessions::delete(&state.store, id).await?;
        }
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie_header(&state, SESSION_COOKIE, "", Some(0)));
    Ok(resp)
}

/// Credentials for a token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    /// Username.
    username: String,
    /// Password.
    password: String,
    /// A label to recognise the token by (default "API").
    #[serde(default)]
    name: Option<String>,
    /// Days until it expires (1–3650, default 90).
    #[serde(default)]
    expires_in_days: Option<i64>,
}

/// A newly issued token: the secret is shown only here.
#[derive(Serialize, utoipa::ToSchema)]
struct TokenIssued {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// Its id, to revoke it.
    id: i64,
    /// When it stops working (RFC 3339).
    expires_at: String,
}

/// Issues a revocable API token for a username and password.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", security(()), request_body = TokenRequest,
    responses((status = 200, body = TokenIssued), (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn issue_token(
    State(state): State<AppState>,
    req: Req,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenIssued>, AppError> {
    let days = body.expires_in_days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(AppError::field("expires_in_days", "out_of_range", "expires_in_days must be between 1 and 3650"));
    }
    let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("API").to_string();
    if name.chars().count() > 64 {
        return Err(AppError::field("name", "too_long", "name must have at most 64 characters"));
    }
    let user = match check_login(&state, &req, &body.username, &body.password).await? {
        LoginOutcome::Ok(u) => u,
        LoginOutcome::Bad => return Err(AppError::Unauthorized("wrong username or password".into())),
        LoginOutcome::Throttled(secs) => return Err(AppError::TooMany(secs)),
    };
    let expires_at = now_ms() + days * 86_400_000;
    let actor = Actor {
        user_id: Some(user.id),
        name: format!("{} ({})", user.display_name, user.username),
        team_id: user.team_id,
        ip: req.ip.clone(),
        request_id: Some(req.request_id.clone()),
    };
    let mut tx = state.store.begin().await?;
    let (id, token) = store::tokens::create(&mut tx, &actor, user.id, &name, Some(expires_at)).await?;
    tx.commit().await?;
    Ok(Json(TokenIssued { token, id: id.0, expires_at: rfc3339(expires_at) }))
}

/// A token as listed.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenOut {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl From<store::tokens::Token> for TokenOut {
    fn from(t: store::tokens::Token) -> Self {
        TokenOut {
            id: t.id.0,
            name: t.name,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// The caller's own tokens (never their secrets).
#[derive(Serialize, utoipa::ToSchema)]
struct TokenList {
    items: Vec<TokenOut>,
    next: Option<String>,
}

/// Lists the caller's API tokens.
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth", security(("keyuan" = [])),
    responses((status = 200, body = TokenList)))]
async fn list_tokens(State(state): State<AppState>, req: Req) -> Result<Json<TokenList>, AppError> {
    let me = req.user()?;
    let items = store::tokens::list_for_user(&state.store, me.user.id).await?.into_iter().map(TokenOut::from).collect();
    Ok(Json(TokenList { items, next: None }))
}

/// Revokes one of the caller's tokens (another person's is 404).
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth", security(("keyuan" = [])),
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204, description = "revoked"), (status = 404, body = crate::error::ErrorBody)))]
async fn revoke_token(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<StatusCode, AppError> {
    let me = req.user()?;
    let mut tx = state.store.begin().await?;
    store::tokens::revoke(&mut tx, &req.actor()?, me.user.id, TokenId(id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_salted() {
        let a = hash_password("lantern-oyster-Guilin-47").unwrap();
        let b = hash_password("lantern-oyster-Guilin-47").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("lantern-oyster-Guilin-47", &a));
        assert!(!verify_password("lantern-oyster-Guilin-48", &a));
    }

    #[test]
    fn the_whole_long_password_counts() {
        let long: String = "a".repeat(127) + "b";
        let other: String = "a".repeat(127) + "c";
        let h = hash_password(&long).unwrap();
        assert!(verify_password(&long, &h));
        assert!(!verify_password(&other, &h), "no truncation before hashing");
    }

    #[test]
    fn next_targets_stay_on_site() {
        assert_eq!(safe_next("/audit?x=1"), "/audit?x=1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
    }

    #[test]
    fn lang_is_used() {
        assert_eq!(crate::i18n::Lang::En.t("login.submit"), "Log in");
    }
}
