//! Who is asking, from where, in which language: resolved once per request.
//!
//! [`authenticate`] reads a Bearer token or the session cookie, enforces the
//! session's idle and absolute limits, and checks the CSRF token of every
//! state-changing request that a browser could have been tricked into
//! sending. Handlers then take a [`Req`].

use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::access::{Grants, Permission};
use std::net::SocketAddr;
use std::sync::Arc;
use store::visibility::Visibility;
use store::{now_ms, Actor};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ky_session";
/// Name of the pre-login CSRF cookie (double-submit for the login form).
pub const LOGIN_CSRF_COOKIE: &str = "ky_csrf";
/// Name of the language cookie for visitors not yet logged in.
pub const LANG_COOKIE: &str = "ky_lang";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session: its stored id and CSRF token.
    Session {
        /// Stored session id.
        id: String,
        /// The token forms must carry.
        csrf: String,
    },
    /// An API token.
    Token(domain::ids::TokenId),
}

/// A logged-in staff member.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account.
    pub user: store::users::User,
    /// What their role may do.
    pub grants: Grants,
    /// Session or token.
    pub via: Via,
}

impl Principal {
    /// Whether the role grants `p` at any scope.
    pub fn can(&self, p: Permission) -> bool {
        self.grants.has(p)
    }

    /// The CSRF token for forms (sessions only).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::Token(_) => "",
        }
    }
}

/// Per-request facts, for handlers.
#[derive(Clone)]
pub struct Req {
    /// The caller, if logged in.
    pub principal: Option<Arc<Principal>>,
    /// Client address.
    pub ip: Option<String>,
    /// Request id (also in the log and the `x-request-id` header).
    pub request_id: String,
    /// Interface language.
    pub lang: Lang,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

impl Req {
    /// The caller, or 401.
    pub fn user(&self) -> Result<&Principal, AppError> {
        self.principal.as_deref().ok_or_else(|| AppError::Unauthorized("log in first".into()))
    }

    /// The caller as the audit trail names them.
    pub fn actor(&self) -> Result<Actor, AppError> {
        let p = self.user()?;
        Ok(Actor {
            user_id: Some(p.user.id),
            name: format!("{} ({})", p.user.display_name, p.user.username),
            team_id: p.user.team_id,
            ip: self.ip.clone(),
            request_id: Some(self.request_id.clone()),
        })
    }

    /// What the caller may see in the area of `p`; 403 without the grant.
    pub async fn visibility(&self, state: &AppState, p: Permission) -> Result<Visibility, AppError> {
        let me = self.user()?;
        let scope = me.grants.scope(p).ok_or(AppError::Forbidden)?;
        Ok(Visibility::resolve(&state.store, me.user.id, me.user.team_id, scope).await?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Req>().cloned().ok_or_else(|| AppError::Internal("request context missing".into()))
    }
}

/// Reads one cookie from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn client_ip(req: &Request, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        if let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return Some(first.to_string());
        }
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

async fn principal_for(
    state: &AppState,
    user_id: domain::ids::UserId,
    via: Via,
) -> Result<Option<Principal>, AppError> {
    let user = match store::users::get(&state.store, user_id).await {
        Ok(u) => u,
        Err(store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !user.active {
        return Ok(None);
    }
    let grants = store::roles::grants_of(state.store.pool(), user.role_id).await?;
    Ok(Some(Principal { user, grants, via }))
}

/// Resolves the caller and enforces CSRF; see the module documentation.
pub(crate) async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match authenticate_inner(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn authenticate_inner(state: &AppState, mut req: Request) -> Result<Request, AppError> {
    let ip = client_ip(&req, state.config.trust_proxy);
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut principal = None;
    let mut has_session_cookie = false;

    if let Some(token) = bearer(&req) {
        let Some((token_id, user_id)) = store::tokens::authenticate(&state.store, token).await? else {
            return Err(AppError::Unauthorized("the API token is invalid, expired or revoked".into()));
        };
        principal = principal_for(state, user_id, Via::Token(token_id)).await?;
        if principal.is_none() {
            return Err(AppError::Unauthorized("the API token's account is deactivated".into()));
        }
    } else if let Some(token) = cookie(req.headers(), SESSION_COOKIE).map(str::to_string) {
        has_session_cookie = true;
        if let Some(s) = store::sessions::find(&state.store, &token).await? {
            let now = now_ms();
            if now >= s.expires_at || now - s.last_seen_at >= state.config.session_idle_ms {
                store::sessions::delete(&state.store, &s.id).await?;
            } else {
                principal =
                    principal_for(state, s.user_id, Via::Session { id: s.id.clone(), csrf: s.csrf_token.clone() })
                        .await?;
                // A minute's precision keeps the idle clock honest without a
                // write on every request.
                if principal.is_some() && now - s.last_seen_at > 60_000 {
                    store::sessions::touch(&state.store, &s.id).await?;
                }
            }
        }
    }

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let api_without_cookie = req.uri().path().starts_with("/api/") && !has_session_cookie;
    if unsafe_method && bearer(&req).is_none() && !api_without_cookie {
        let expected = match principal.as_ref().map(|p| &p.via) {
            Some(Via::Session { csrf, .. }) => Some(csrf.clone()),
            _ => cookie(req.headers(), LOGIN_CSRF_COOKIE).map(str::to_string),
        };
        let (provided, rebuilt) = provided_csrf(req, state.config.body_limit).await?;
        req = rebuilt;
        match (expected, provided) {
            (Some(e), Some(p)) if !e.is_empty() && constant_time_eq(e.as_bytes(), p.as_bytes()) => {}
            _ => {
                return Err(AppError::BadRequest(
                    "the form has expired or did not come from this site (CSRF check failed); reload the page and try again"
                        .into(),
                ))
            }
        }
    }

    let lang = match &principal {
        Some(p) => Lang::from_locale(p.user.locale),
        None => Lang::from_request(&req),
    };
    let principal = principal.map(Arc::new);
    if let Some(p) = &principal {
        req.extensions_mut().insert(p.clone());
    }
    req.extensions_mut().insert(Req { principal, ip, request_id, lang, user_agent });
    Ok(req)
}

/// Finds the CSRF token in the `X-CSRF-Token` header, for an ordinary form
/// post in its `csrf` field (the body is read and put back), or for a file
/// upload (`multipart/form-data`) in the `csrf` query parameter.
async fn provided_csrf(req: Request, limit: usize) -> Result<(Option<String>, Request), AppError> {
    if let Some(h) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        let h = h.to_string();
        return Ok((Some(h), req));
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        // A file upload cannot be searched for its token without buffering
        // the whole file here, so its form carries the token in the action
        // URL instead. Only multipart bodies may: every other form keeps it
        // out of URLs (and so out of logs and history).
        let token = req
            .uri()
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned()));
        return Ok((token, req));
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, limit).await.map_err(|_| AppError::TooLarge)?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
