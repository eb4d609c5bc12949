//! `POST /api/v1/customers/import`: the file as the body, the report as JSON.

use super::{import_options, run_import};
use crate::ctx::Req;
use crate::error::AppError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use store::customer_import::{self as ci, Report};

/// How to import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ImportQuery {
    /// `true`: check every row and report what would happen, writing nothing.
    dry_run: Option<bool>,
    /// Username that owns new customers whose row names no owner (default: the caller).
    owner: Option<String>,
    /// Column choices over the automatic ones: `表头=field,表头2=field2` (`-` ignores a column).
    mapping: Option<String>,
}

/// One problem of a row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RowErrorOut {
    /// Customer field (`mobile`, `id_card`, `custom.vip_no`).
    field: String,
    /// The column's header in the file.
    column: Option<String>,
    /// Stable reason code.
    code: String,
    /// Explanation.
    message: String,
}

/// One row's outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RowOut {
    /// Line in the file (header = 1).
    line: u64,
    /// Customer code given or assigned.
    code: Option<String>,
    /// `create`, `update`, `unchanged`, `skip` (blank) or `error`.
    action: String,
    /// Every problem of a refused row.
    errors: Vec<RowErrorOut>,
}

/// How a column was used.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ColumnOut {
    /// Header in the file.
    header: String,
    /// Field it filled, `null` if ignored.
    field: Option<String>,
}

/// What an import did (or a dry run would do).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ReportOut {
    dry_run: bool,
    /// Data rows read.
    total: u64,
    created: u64,
    updated: u64,
    /// Rows equal to the stored customer.
    unchanged: u64,
    /// Blank rows.
    skipped: u64,
    /// Refused rows (nothing of them was written).
    failed: u64,
    columns: Vec<ColumnOut>,
    /// Headers matching no field (ignored).
    unknown_columns: Vec<String>,
    /// Every row in file order.
    rows: Vec<RowOut>,
}

impl From<Report> for ReportOut {
    fn from(r: Report) -> ReportOut {
        ReportOut {
            dry_run: r.dry_run,
            total: r.total,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            skipped: r.skipped,
            failed: r.failed,
            columns: r.columns.into_iter().map(|c| ColumnOut { header: c.header, field: c.field }).collect(),
            unknown_columns: r.unknown_columns,
            rows: r
                .rows
                .into_iter()
                .map(|o| RowOut {
                    line: o.line,
                    code: o.code,
                    action: serde_json::to_value(o.action)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    errors: o
                        .errors
                        .into_iter()
                        .map(|e| RowErrorOut { field: e.field, column: e.column, code: e.code, message: e.message })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Imports customers from the request body: CSV (UTF-8, UTF-8 with BOM,
/// GBK/GB18030; comma, semicolon or tab) or an Excel workbook, headers in
/// Chinese or English. Each row is all or nothing; good rows are imported
/// even when others fail; a row whose customer code exists updates that
/// customer. An unreadable file is 422 naming `file`.
#[utoipa::path(post, path = "/api/v1/customers/import", tag = "customers",
    security(("keyuan" = ["customers.write"])), params(ImportQuery),
    request_body(content = Vec<u8>, description = "the file",
        content_type = "text/csv"),
    responses((status = 200, body = ReportOut), (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn import(
    State(state): State<AppState>,
    req: Req,
    crate::json::ApiQuery(q): crate::json::ApiQuery<ImportQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ReportOut>, AppError> {
    let body = body.map_err(|_| AppError::TooLarge)?;
    if body.is_empty() {
        return Err(AppError::field("file", "required", "send the file as the request body"));
    }
    let sheet = ci::Sheet::read(&body).map_err(|e| super::file_error(e, req.lang))?;
    let mut opts = import_options(&state, &req, q.owner.as_deref()).await?;
    opts.dry_run = q.dry_run.unwrap_or(false);
    opts.keep_ok_rows = true;
    opts.source = "API upload".into();
    if let Some(m) = q.mapping.as_deref() {
        opts.mapping = ci::parse_mapping(m).map_err(|e| super::file_error(e, req.lang))?;
    }
    let report = run_import(&state, &req, &sheet, &opts).await?;
    Ok(Json(report.into()))
}
