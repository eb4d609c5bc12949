//! Health check, the OpenAPI document and the embedded static assets.

use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(openapi_json)).routes(routes!(asset))
}

/// Health of this server and its database.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// The engine in use.
    database: &'static str,
    /// This build's version.
    version: &'static str,
}

/// Liveness and readiness: 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Response {
    let database = state.store.backend().name();
    let version = env!("CARGO_PKG_VERSION");
    match state.store.ping().await {
        Ok(()) => Json(Health { status: "ok", database, version }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "unavailable", database, version })).into_response()
        }
    }
}

/// This document: every route, with the permission each needs.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
async fn openapi_json(State(state): State<AppState>) -> Response {
    let body = state.openapi.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");
const BOARD_JS: &str = include_str!("../assets/board.js");
const ICON: &str = include_str!("../assets/favicon.svg");

/// Stylesheet, script and icon, embedded in the binary.
#[utoipa::path(get, path = "/assets/{file}", tag = "system", security(()),
    params(("file" = String, Path, description = "app.css, app.js, board.js or favicon.svg")),
    responses((status = 200, description = "the asset"), (status = 404, description = "no such asset")))]
async fn asset(Path(file): Path<String>) -> Result<Response, AppError> {
    let (ty, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", CSS),
        "app.js" => ("text/javascript; charset=utf-8", JS),
        "board.js" => ("text/javascript; charset=utf-8", BOARD_JS),
        "favicon.svg" => ("image/svg+xml", ICON),
        _ => return Err(AppError::NotFound),
    };
    Ok(([(header::CONTENT_TYPE, ty), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response())
}
