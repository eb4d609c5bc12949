//! Export of the customer list as it is filtered (CSV or XLSX), from the
//! list page and the API. It needs `customers.export`, sees what the list
//! sees (the same query parameters, the same visibility), shows ID card and
//! passport numbers only to holders of `customers.pii`, and is audited.

use crate::ctx::Req;
use crate::customers::query::ListQuery;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::access::Permission;
use store::customer_export::{self as ce, CsvEncoding, ExportFormat, ExportOptions, Labels};
use store::visibility::Visibility;

/// `format` and `encoding` beside the list's own parameters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    format: Option<String>,
    /// For CSV: `utf-8` (with BOM, default) or `gbk` for old Excel.
    encoding: Option<String>,
}

fn parse(raw: &str) -> Result<(ExportFormat, CsvEncoding, ListQuery), AppError> {
    let q: ExportQuery =
        serde_urlencoded::from_str(raw).map_err(|e| AppError::BadRequest(format!("invalid query: {e}")))?;
    let format = match q.format.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => ExportFormat::Csv,
        Some(f) => ExportFormat::from_code(f)
            .ok_or_else(|| AppError::field("format", "invalid_choice", "format must be csv or xlsx"))?,
    };
    let encoding = match q.encoding.as_deref().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("utf-8") | Some("utf8") => CsvEncoding::Utf8Bom,
        Some("gbk") | Some("gb18030") => CsvEncoding::Gbk,
        Some(_) => return Err(AppError::field("encoding", "invalid_choice", "encoding must be utf-8 or gbk")),
    };
    Ok((format, encoding, ListQuery::parse(raw)?))
}

async fn export(state: &AppState, req: &Req, raw: &str, labels: Labels) -> Result<Response, AppError> {
    let me = req.user()?;
    let (format, encoding, query) = parse(raw)?;
    let vis = req.visibility(state, Permission::CustomersExport).await?;
    let pii: Option<Visibility> = match me.grants.scope(Permission::CustomersPii) {
        Some(scope) => Some(Visibility::resolve(&state.store, me.user.id, me.user.team_id, scope).await?),
        None => None,
    };
    let filter = query.to_filter(pii.is_some())?;
    let described = match query.to_query_string() {
        s if s.is_empty() => "all visible customers".to_string(),
        s => s,
    };
    let (bytes, _rows) = ce::export_list(
        &state.store,
        &req.actor()?,
        &vis,
        pii.as_ref(),
        &filter,
        &described,
        ExportOptions { format, encoding, labels },
    )
    .await?;
    let day = chrono::Utc::now().format("%Y%m%d");
    let content_type = match (format, encoding) {
        (ExportFormat::Csv, CsvEncoding::Gbk) => "text/csv; charset=gb18030",
        _ => format.content_type(),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"customers-{day}.{}\"", format.extension())),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// Downloads the customer list as filtered (the list's own parameters),
/// with headers in the reader's language.
#[utoipa::path(get, path = "/customers/export", tag = "pages", security(("keyuan" = ["customers.export"])),
    params(ExportQuery, ListQuery),
    responses((status = 200, description = "the file (CSV or XLSX)"), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn page_export(
    State(state): State<AppState>,
    req: Req,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let labels = if req.lang == Lang::En { Labels::En } else { Labels::Zh };
    export(&state, &req, raw.as_deref().unwrap_or(""), labels).await
}

/// Exports the customers matching the list's parameters as CSV or XLSX, with
/// field keys as headers and stored codes as values (what the import reads
/// back). ID card and passport numbers are masked unless the caller holds
/// `customers.pii`; every export is audited.
#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers",
    security(("keyuan" = ["customers.export"])), params(ExportQuery, ListQuery),
    responses((status = 200, description = "the file (CSV or XLSX)"), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_export(
    State(state): State<AppState>,
    req: Req,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    export(&state, &req, raw.as_deref().unwrap_or(""), Labels::Codes).await
}
