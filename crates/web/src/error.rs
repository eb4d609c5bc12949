//! One error type for the web layer, mapped to status and JSON once.
//!
//! Handlers return [`AppError`]; it becomes `{"error":{"code","message","fields"?}}`.
//! For browser pages, [`render_errors`] turns the same answer into a friendly
//! page in the user's language. Internal failures are logged with the request
//! id and never shown: the client sees only that id.

use crate::i18n::Lang;
use crate::page::Shell;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use store::StoreError;

/// What went wrong, as the client should learn it.
#[derive(Debug)]
pub enum AppError {
    /// 400: the request itself is malformed.
    BadRequest(String),
    /// 401: not logged in, or the credentials are wrong.
    Unauthorized(String),
    /// 403: logged in but not allowed.
    Forbidden,
    /// 404: no such record, or one the caller may not see.
    NotFound,
    /// 409: the record changed since the caller read it.
    Stale {
        /// The record's current version.
        current: i64,
    },
    /// 413: the body is larger than allowed.
    TooLarge,
    /// 422: fields are invalid.
    Invalid(FieldErrors),
    /// 429: too many attempts; retry after this many seconds.
    TooMany(u64),
    /// 500: our fault; details go to the log only.
    Internal(String),
}

impl AppError {
    /// One invalid field.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid(FieldError::new(field, code, message).into())
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Stale { .. } => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Stale { current } => AppError::Stale { current },
            StoreError::Duplicate { field } => AppError::field(field, "taken", format!("{field} is already taken")),
            StoreError::Invalid(f) => AppError::Invalid(f),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(e.into())
    }
}

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code, message and per-field reasons.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable explanation (English).
    pub message: String,
    /// Per-field problems, when the input was invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldErrorBody>>,
    /// For a stale update: the record's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

/// One field's problem.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// Field name or JSON path.
    pub field: String,
    /// Stable reason code.
    pub code: String,
    /// Explanation.
    pub message: String,
}

/// Marks a response as an error so [`render_errors`] can show a page instead.
#[derive(Clone, Debug)]
pub(crate) struct ErrorMark {
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message, fields, current) = match self {
            AppError::BadRequest(m) => ("bad_request", m, None, None),
            AppError::Unauthorized(m) => ("unauthorized", m, None, None),
            AppError::Forbidden => ("forbidden", "you do not have permission for this".into(), None, None),
            AppError::NotFound => ("not_found", "no such record".into(), None, None),
            AppError::Stale { current } => (
                "stale_version",
                "the record was changed by someone else; reload it and apply your change again".into(),
                None,
                Some(current),
            ),
            AppError::TooLarge => ("too_large", "the request body is too large".into(), None, None),
            AppError::Invalid(f) => {
                let message = f.to_string();
                let fields =
                    f.0.into_iter()
                        .map(|e| FieldErrorBody { field: e.field, code: e.code.to_string(), message: e.message })
                        .collect();
                ("invalid", message, Some(fields), None)
            }
            AppError::TooMany(secs) => {
                let m = format!("too many attempts; try again in {} minutes", secs.div_ceil(60));
                let mut r = error_json(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", m, None, None);
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return r;
            }
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                (
                    "internal",
                    "something went wrong on our side; the request id identifies it in the log".into(),
                    None,
                    None,
                )
            }
        };
        error_json(status, code, message, fields, current)
    }
}

fn error_json(
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Option<Vec<FieldErrorBody>>,
    current_version: Option<i64>,
) -> Response {
    let mark = ErrorMark { code, message: message.clone() };
    let body = ErrorBody { error: ErrorDetail { code: code.to_string(), message, fields, current_version } };
    let mut r = (status, Json(body)).into_response();
    r.extensions_mut().insert(mark);
    r
}

/// Whether a request wants HTML (a browser page) rather than JSON.
pub(crate) fn wants_html(req: &Request) -> bool {
    if req.uri().path().starts_with("/api/") || req.uri().path() == "/healthz" {
        return false;
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    !accept.starts_with("application/json")
}

/// For browser pages, replaces a JSON error with a friendly page in the
/// user's language; for the API, leaves it as it is. Also normalises errors
/// produced outside our handlers (axum's own 405, 413 …) into our format.
pub(crate) async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let html = wants_html(&req);
    let lang = Lang::from_request(&req);
    let request_id =
        req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default();
    let principal = req.extensions().get::<std::sync::Arc<crate::Principal>>().cloned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_page = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_page {
        // A handler already rendered a page for this status (e.g. a login
        // form shown again with its message).
        return resp;
    }
    let mark = resp.extensions().get::<ErrorMark>().cloned();
    let mark = match mark {
        Some(m) => m,
        None => {
            // An answer axum or a layer made (405, 413, 415 …): give it our shape.
            let (code, message) = match status {
                StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
                StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this method is not allowed here"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send the body as application/json"),
                StatusCode::NOT_FOUND => ("not_found", "no such page"),
                s if s.is_server_error() => ("internal", "something went wrong on our side"),
                _ => ("bad_request", "the request could not be understood"),
            };
            if !html {
                return error_json(status, code, message.to_string(), None, None);
            }
            ErrorMark { code, message: message.to_string() }
        }
    };
    if !html || status == StatusCode::UNAUTHORIZED && resp.headers().contains_key(header::LOCATION) {
        return resp;
    }
    let lang = principal.as_ref().map(|p| Lang::from_locale(p.user.locale)).unwrap_or(lang);
    let page = Shell::new(&state, principal, lang, "error").await;
    let body = crate::page::error_page(&page, status.as_u16(), mark.code, &mark.message, &request_id);
    let mut out = (status, Html(body)).into_response();
    if let Some(v) = resp.headers().get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    out
}

/// The fallback for unknown paths.
pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}

/// A panic in a handler becomes a plain 500 (logged), never a dropped connection.
pub(crate) fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into());
    AppError::Internal(format!("handler panicked: {detail}")).into_response()
}
