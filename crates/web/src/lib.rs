//! Keyuan's web layer: server-rendered pages and the JSON API, one module per
//! business area, each exposing its own `router()`.
//!
//! Every route is registered through `utoipa_axum`, so it appears in
//! `/api/openapi.json` together with what it needs (`security`). The same
//! declarations drive the [`access`] check, so documentation and enforcement
//! cannot drift apart, and a route without a declaration is refused.

pub mod access;
mod account;
mod admin;
mod audit;
mod auth;
mod catalog;
mod ctx;
mod customer_admin;
mod customer_import;
mod customers;
mod dashboard;
pub mod error;
mod finance;
mod health;
pub mod i18n;
mod json;
mod orders;
mod page;
mod sales;
mod settings;
mod value;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::{Arc, OnceLock};
use store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use auth::{hash_password, verify_password};
pub use ctx::{Principal, Req};
pub use error::AppError;

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// A session ends after this long without a request.
    pub session_idle_ms: i64,
    /// A session ends this long after login, active or not.
    pub session_lifetime_ms: i64,
    /// Mark cookies `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_proxy: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Failed logins per account in the window before it is throttled.
    pub max_failures_per_account: i64,
    /// Failed logins per client address in the window before it is throttled.
    pub max_failures_per_ip: i64,
    /// The throttling window.
    pub failure_window_ms: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_idle_ms: 30 * 60 * 1000,
            session_lifetime_ms: 12 * 60 * 60 * 1000,
            secure_cookies: false,
            trust_proxy: false,
            body_limit: 1024 * 1024,
            max_failures_per_account: 5,
            max_failures_per_ip: 20,
            failure_window_ms: 15 * 60 * 1000,
        }
    }
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Web settings.
    pub config: Arc<Config>,
    openapi: Arc<OnceLock<String>>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Keyuan API", description = "客源 CRM for travel agencies, tour operators and hotels. \
        Authenticate with `POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`. \
        Each operation's `security` names the permission it needs; `{}` means public. \
        Operations tagged `pages` serve HTML to browsers."),
    modifiers(&SecuritySchemes),
    tags((name = "pages", description = "HTML pages for browsers (session cookie, CSRF token on forms)"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            access::SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "API token from POST /api/v1/auth/token; browsers use the session cookie instead",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every route of the application with its documentation.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(auth::router())
        .merge(dashboard::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(audit::router())
        .merge(settings::router())
        .merge(customers::router())
        .merge(customer_import::router())
        .merge(customer_admin::router())
        .merge(catalog::router())
        .merge(sales::router())
        .merge(orders::router())
        .merge(finance::router())
        .merge(value::router())
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// Builds the whole application.
pub fn app(store: Store, config: Config) -> Result<Router, String> {
    let (router, doc) = routes().split_for_parts();
    let table = Arc::new(access::AccessTable::from_openapi(&doc)?);
    let body_limit = config.body_limit;
    let state = AppState { store, config: Arc::new(config), openapi: Arc::new(OnceLock::new()) };
    let _ = state.openapi.set(doc.to_pretty_json().map_err(|e| e.to_string())?);
    Ok(router
        .route_layer(axum::middleware::from_fn_with_state(table, access::authorize))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), ctx::authenticate))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::render_errors))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(tower_http::request_id::MakeRequestUuid))
        .with_state(state))
}
