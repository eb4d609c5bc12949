//! Route access: what each route needs, read from its OpenAPI `security`
//! declaration, and the middleware that enforces it.
//!
//! Every operation declares one of
//! - `security(())`: public (login page, health check, assets);
//! - `security(("keyuan" = []))`: any logged-in staff member;
//! - `security(("keyuan" = ["users.manage"]))`: that permission.
//!
//! A route with no declaration is refused with 500 and logged, and a test
//! walks the whole document, so no route can be added without one.

use crate::ctx::Principal;
use crate::error::AppError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use std::collections::HashMap;
use std::sync::Arc;

/// Name of the security scheme in the OpenAPI document.
pub const SCHEME: &str = "keyuan";

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone.
    Public,
    /// Any logged-in staff member.
    LoggedIn,
    /// A logged-in staff member whose role grants this.
    Permission(Permission),
}

/// (method, path template) → what the route needs.
#[derive(Debug, Default)]
pub struct AccessTable(HashMap<(Method, String), Need>);

impl AccessTable {
    /// Reads every operation's `security` from the document. Unknown
    /// permission codes are an error (a typo must not open a route).
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Result<AccessTable, String> {
        let json = serde_json::to_value(doc).map_err(|e| e.to_string())?;
        let mut table = HashMap::new();
        let paths = json.get("paths").and_then(|p| p.as_object()).cloned().unwrap_or_default();
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item {
                let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
                let Some(reqs) = op.get("security").and_then(|s| s.as_array()) else { continue };
                let need = need_of(reqs).map_err(|e| format!("{method} {path}: {e}"))?;
                table.insert((method, path.clone()), need);
            }
        }
        Ok(AccessTable(table))
    }

    /// What `method path` needs; `None` if undeclared.
    pub fn need(&self, method: &Method, path: &str) -> Option<Need> {
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.0.get(&(method.clone(), path.to_string())).copied()
    }

    /// The methods declared for `path`.
    pub fn methods_for(&self, path: &str) -> Vec<Method> {
        let mut m: Vec<Method> = self.0.keys().filter(|(_, p)| p == path).map(|(m, _)| m.clone()).collect();
        m.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        m
    }

    /// Every declared route.
    pub fn routes(&self) -> impl Iterator<Item = (&Method, &str, Need)> {
        self.0.iter().map(|((m, p), n)| (m, p.as_str(), *n))
    }
}

fn need_of(reqs: &[serde_json::Value]) -> Result<Need, String> {
    let mut need: Option<Need> = None;
    for r in reqs {
        let obj = r.as_object().ok_or("security requirement is not an object")?;
        if obj.is_empty() {
            return Ok(Need::Public);
        }
        let scopes = obj.get(SCHEME).and_then(|s| s.as_array()).ok_or("unknown security scheme")?;
        let this = match scopes.as_slice() {
            [] => Need::LoggedIn,
            [one] => {
                let code = one.as_str().unwrap_or_default();
                Need::Permission(Permission::from_code(code).ok_or_else(|| format!("unknown permission {code:?}"))?)
            }
            _ => return Err("declare one permission per route".into()),
        };
        need = Some(this);
    }
    need.ok_or_else(|| "empty security declaration".into())
}

/// Enforces the table. Pages send visitors who are not logged in to the
/// login page; the API answers 401. Missing permissions are 403.
pub(crate) async fn authorize(State(table): State<Arc<AccessTable>>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let Some(need) = table.need(req.method(), &path) else {
        let declared = table.methods_for(&path);
        if !declared.is_empty() {
            // The path exists, this method does not: 405, without running anything.
            let allow: Vec<&str> = declared.iter().map(Method::as_str).collect();
            let mut r = (StatusCode::METHOD_NOT_ALLOWED, ()).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&allow.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return r;
        }
        tracing::error!(method = %req.method(), path, "route declares no access; refused");
        return AppError::Internal(format!("route {} {path} declares no access", req.method())).into_response();
    };
    let principal = req.extensions().get::<Arc<Principal>>();
    let allowed = match (need, principal) {
        (Need::Public, _) => true,
        (_, None) => {
            if crate::error::wants_html(&req) && req.method() == Method::GET {
                let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let next_q: String = url_encode(target);
                let mut r = Redirect::to(&format!("/login?next={next_q}")).into_response();
                r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
                return r;
            }
            return AppError::Unauthorized("log in first (session cookie or Bearer token)".into()).into_response();
        }
        (Need::LoggedIn, Some(_)) => true,
        (Need::Permission(p), Some(who)) => who.can(p),
    };
    if allowed {
        next.run(req).await
    } else {
        AppError::Forbidden.into_response()
    }
}

/// Percent-encodes a string for a query parameter.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn declarations_parse() {
        assert_eq!(need_of(&[json!({})]).unwrap(), Need::Public);
        assert_eq!(need_of(&[json!({"keyuan": []})]).unwrap(), Need::LoggedIn);
        assert_eq!(need_of(&[json!({"keyuan": ["users.manage"]})]).unwrap(), Need::Permission(Permission::UsersManage));
        assert!(need_of(&[json!({"keyuan": ["users.mange"]})]).is_err(), "typo must not open a route");
        assert!(need_of(&[]).is_err());
    }

    #[test]
    fn every_route_of_the_app_declares_what_it_needs() {
        let doc = crate::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        let mut count = 0;
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op.get("security").is_some(), "{method} {path} has no security declaration");
                count += 1;
            }
        }
        let table = AccessTable::from_openapi(&doc).unwrap();
        assert_eq!(table.routes().count(), count);
        assert!(count > 20, "the document lists every route ({count})");
    }

    #[test]
    fn undeclared_routes_are_absent_from_the_table() {
        let table = AccessTable::default();
        assert_eq!(table.need(&Method::GET, "/anything"), None);
    }
}
