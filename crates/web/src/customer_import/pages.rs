//! The import pages: upload, match the columns, dry run, import, report.

use super::staging::{self, Staged};
use super::{import_options, reason, run_import};
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::PageForm;
use crate::page::{render, see_other, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use store::customer_import::{self as ci, Report, Sheet, Target, FIELDS};
use store::now_ms;

/// Rows of problems shown on a report page (the CSV has them all).
const SHOWN_ERRORS: usize = 200;

/// One recognised field and the headers that find it.
struct HeaderHelp {
    field: String,
    headers: String,
}

#[derive(Template)]
#[template(path = "customer_import_upload.html")]
struct UploadPage {
    shell: Shell,
    action: String,
    error: Option<String>,
    help: Vec<HeaderHelp>,
}

async fn upload_view(state: &AppState, req: &Req, error: Option<String>) -> Result<Html<String>, AppError> {
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.customers").await;
    let action = format!("/customers/import/upload?csrf={}", crate::access::url_encode(shell.csrf()));
    let help = FIELDS
        .iter()
        .filter(|f| f.key != "mobile")
        .map(|f| {
            let mut names = vec![f.label_zh, f.key];
            names.extend(f.aliases.iter().take(4));
            HeaderHelp { field: field_label(req.lang, f.key), headers: names.join(" / ") }
        })
        .collect();
    render(&UploadPage { shell, action, error, help })
}

fn field_label(lang: Lang, key: &str) -> String {
    match ci::field_spec(key) {
        Some(f) if lang == Lang::En => f.label_en.to_string(),
        Some(f) if f.key == "phone" => "手机/电话（自动区分手机和固话）".to_string(),
        Some(f) => f.label_zh.to_string(),
        None => key.to_string(),
    }
}

/// The upload form.
#[utoipa::path(get, path = "/customers/import", tag = "pages", security(("keyuan" = ["customers.write"])),
    responses((status = 200, description = "the upload page", content_type = "text/html")))]
pub(super) async fn upload_page(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    upload_view(&state, &req, None).await
}

/// Receives the file (`multipart/form-data`, field `file`; the CSRF token in
/// the query), reads its headers and continues to the mapping step.
#[utoipa::path(post, path = "/customers/import/upload", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("csrf" = String, Query, description = "the page's CSRF token")),
    responses((status = 303, description = "to the mapping step"), (status = 422, description = "unreadable file")))]
pub(super) async fn upload_submit(
    State(state): State<AppState>,
    req: Req,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let refuse = |m: String| async {
        let html = upload_view(&state, &req, Some(m)).await?;
        Ok::<Response, AppError>((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
    };
    let mut multipart = multipart.map_err(|e| AppError::BadRequest(format!("not a file upload: {e}")))?;
    let mut upload: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(AppError::TooLarge),
            Err(e) => return Err(AppError::BadRequest(format!("the upload was cut off: {e}"))),
        };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge
                } else {
                    AppError::BadRequest(format!("the upload was cut off: {e}"))
                }
            })?;
            upload = Some((name, bytes.to_vec()));
        }
    }
    let Some((file_name, bytes)) = upload.filter(|(_, b)| !b.is_empty()) else {
        return refuse(req.lang.t("import.choose_file").to_string()).await;
    };
    let sheet = match Sheet::read(&bytes) {
        Ok(s) => s,
        Err(e) => return refuse(e.to_string()).await,
    };
    let custom = ci::all_custom_fields(&state.store).await?;
    let me = req.user()?;
    let staged = Staged {
        user_id: me.user.id.0,
        created_at: now_ms(),
        file_name,
        columns: Some(ci::auto_map(&sheet.headers, &custom)),
        check: None,
        result: None,
    };
    let token = staging::create(&state.store, &bytes, &staged).await?;
    Ok(see_other(&format!("/customers/import/{token}")))
}

/// One column on the mapping step.
struct MapColumn {
    index: usize,
    header: String,
    samples: String,
    options: Vec<MapOption>,
}

struct MapOption {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "customer_import_mapping.html")]
struct MappingPage {
    shell: Shell,
    token: String,
    file_name: String,
    source: String,
    rows: u64,
    columns: Vec<MapColumn>,
    error: Option<String>,
}

async fn mapping_view(
    state: &AppState,
    req: &Req,
    token: &str,
    staged: &Staged,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let bytes = staging::file(&state.store, token).await?;
    let sheet = Sheet::read(&bytes).map_err(|e| AppError::Internal(format!("staged file unreadable: {e}")))?;
    let custom = ci::all_custom_fields(&state.store).await?;
    let chosen = staged.columns.clone().unwrap_or_else(|| ci::auto_map(&sheet.headers, &custom));
    let samples: Vec<Vec<String>> =
        sheet.rows().filter(|r| r.cells.iter().any(|c| !c.is_empty())).take(3).map(|r| r.cells).collect();
    let lang = req.lang;
    let mut choices: Vec<(String, String)> = vec![(String::new(), lang.t("import.ignore").to_string())];
    choices.extend(FIELDS.iter().map(|f| (f.key.to_string(), format!("{} ({})", field_label(lang, f.key), f.key))));
    choices.extend(custom.iter().map(|d| {
        let label = if lang == Lang::En { &d.label_en } else { &d.label_zh };
        (format!("custom.{}", d.key), format!("{label} (custom.{})", d.key))
    }));
    let columns = sheet
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let current: &str = chosen.get(i).and_then(|t| t.as_deref()).unwrap_or("");
            MapColumn {
                index: i,
                header: h.clone(),
                samples: samples
                    .iter()
                    .filter_map(|r| r.get(i).filter(|s| !s.is_empty()))
                    .map(|s| s.chars().take(30).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(" · "),
                options: choices
                    .iter()
                    .map(|(v, l)| MapOption { value: v.clone(), label: l.clone(), selected: v == current })
                    .collect(),
            }
        })
        .collect();
    let source = match (sheet.encoding, sheet.delimiter) {
        (Some(e), Some(d)) => {
            format!(
                "CSV · {} {e} · {}",
                lang.t("import.encoding"),
                if d == '\t' { "TAB".into() } else { d.to_string() }
            )
        }
        _ => "Excel".to_string(),
    };
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.customers").await;
    render(&MappingPage {
        shell,
        token: token.to_string(),
        file_name: staged.file_name.clone(),
        source,
        rows: sheet.estimated_rows(),
        columns,
        error,
    })
}

async fn staged_for(state: &AppState, req: &Req, token: &str) -> Result<Staged, AppError> {
    staging::load(&state.store, token, req.user()?.user.id.0).await
}

/// Step 2: which field each column fills.
#[utoipa::path(get, path = "/customers/import/{token}", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("token" = String, Path, description = "the upload")),
    responses((status = 200, description = "the mapping step", content_type = "text/html"),
        (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn mapping_page(
    State(state): State<AppState>,
    req: Req,
    Path(token): Path<String>,
) -> Result<Html<String>, AppError> {
    let staged = staged_for(&state, &req, &token).await?;
    mapping_view(&state, &req, &token, &staged, None).await
}

/// Step 3: checks every row with the chosen columns, writing nothing.
#[utoipa::path(post, path = "/customers/import/{token}/check", tag = "pages",
    security(("keyuan" = ["customers.write"])), params(("token" = String, Path, description = "the upload")),
    responses((status = 303, description = "to the dry run's report"), (status = 422, description = "the mapping is wrong")))]
pub(super) async fn check_submit(
    State(state): State<AppState>,
    req: Req,
    Path(token): Path<String>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let mut staged = staged_for(&state, &req, &token).await?;
    if staged.result.is_some() {
        return Ok(see_other(&format!("/customers/import/{token}/result")));
    }
    let bytes = staging::file(&state.store, &token).await?;
    let sheet = Sheet::read(&bytes).map_err(|e| AppError::Internal(format!("staged file unreadable: {e}")))?;
    let columns: Vec<Option<Target>> = (0..sheet.headers.len())
        .map(|i| form.get(&format!("col{i}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
        .collect();
    let mut opts = import_options(&state, &req, None).await?;
    opts.dry_run = true;
    opts.keep_ok_rows = false;
    opts.columns = Some(columns.clone());
    staged.columns = Some(columns);
    let report = match run_import(&state, &req, &sheet, &opts).await {
        Ok(r) => r,
        Err(AppError::Invalid(f)) => {
            let message = f.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
            let html = mapping_view(&state, &req, &token, &staged, Some(message)).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
        Err(e) => return Err(e),
    };
    staged.check = Some(report);
    staging::save(&state.store, &token, &staged).await?;
    Ok(see_other(&format!("/customers/import/{token}/check")))
}

/// One problem row on a report page.
struct ErrorLine {
    line: u64,
    column: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "customer_import_report.html")]
struct ReportPage {
    shell: Shell,
    token: String,
    file_name: String,
    dry_run: bool,
    report: Report,
    errors: Vec<ErrorLine>,
    more_errors: bool,
}

async fn report_view(
    state: &AppState,
    req: &Req,
    token: &str,
    staged: &Staged,
    dry_run: bool,
) -> Result<Response, AppError> {
    let report = if dry_run { staged.check.clone() } else { staged.result.clone() };
    let Some(report) = report else {
        return Ok(see_other(&format!("/customers/import/{token}")));
    };
    let mut errors = Vec::new();
    for r in report.errors().take(SHOWN_ERRORS) {
        for e in &r.errors {
            errors.push(ErrorLine {
                line: r.line,
                column: match &e.column {
                    Some(c) if *c != e.field => format!("{c} ({})", e.field),
                    _ => e.field.clone(),
                },
                reason: reason(req.lang, &e.code, &e.message),
            });
        }
    }
    let more_errors = report.failed as usize > SHOWN_ERRORS;
    let shell = Shell::new(state, req.principal.clone(), req.lang, "nav.customers").await;
    let page = ReportPage {
        shell,
        token: token.to_string(),
        file_name: staged.file_name.clone(),
        dry_run,
        report,
        errors,
        more_errors,
    };
    Ok(render(&page)?.into_response())
}

/// The dry run's report, with the button that imports for real.
#[utoipa::path(get, path = "/customers/import/{token}/check", tag = "pages",
    security(("keyuan" = ["customers.write"])), params(("token" = String, Path, description = "the upload")),
    responses((status = 200, description = "the dry run's report", content_type = "text/html"),
        (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn check_page(
    State(state): State<AppState>,
    req: Req,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let staged = staged_for(&state, &req, &token).await?;
    if staged.result.is_some() {
        return Ok(see_other(&format!("/customers/import/{token}/result")));
    }
    report_view(&state, &req, &token, &staged, true).await
}

/// Step 4: imports with the columns of the dry run (once: a second post
/// shows the first import's report).
#[utoipa::path(post, path = "/customers/import/{token}/run", tag = "pages",
    security(("keyuan" = ["customers.write"])), params(("token" = String, Path, description = "the upload")),
    responses((status = 303, description = "to the import's report"), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn run_submit(
    State(state): State<AppState>,
    req: Req,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let mut staged = staged_for(&state, &req, &token).await?;
    if staged.result.is_some() {
        return Ok(see_other(&format!("/customers/import/{token}/result")));
    }
    if staged.check.is_none() {
        return Ok(see_other(&format!("/customers/import/{token}")));
    }
    let bytes = staging::file(&state.store, &token).await?;
    let sheet = Sheet::read(&bytes).map_err(|e| AppError::Internal(format!("staged file unreadable: {e}")))?;
    let mut opts = import_options(&state, &req, None).await?;
    opts.keep_ok_rows = false;
    opts.columns = staged.columns.clone();
    opts.source = staged.file_name.clone();
    let report = run_import(&state, &req, &sheet, &opts).await?;
    staged.result = Some(report);
    staging::save(&state.store, &token, &staged).await?;
    Ok(see_other(&format!("/customers/import/{token}/result")))
}

/// The import's report.
#[utoipa::path(get, path = "/customers/import/{token}/result", tag = "pages",
    security(("keyuan" = ["customers.write"])), params(("token" = String, Path, description = "the upload")),
    responses((status = 200, description = "the import's report", content_type = "text/html"),
        (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn result_page(
    State(state): State<AppState>,
    req: Req,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let staged = staged_for(&state, &req, &token).await?;
    report_view(&state, &req, &token, &staged, false).await
}

/// Every problem of the import (or, before it, of the dry run) as CSV:
/// line, field, column, reason; UTF-8 with BOM for Excel.
#[utoipa::path(get, path = "/customers/import/{token}/errors.csv", tag = "pages",
    security(("keyuan" = ["customers.write"])), params(("token" = String, Path, description = "the upload")),
    responses((status = 200, description = "the error report", content_type = "text/csv"),
        (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn errors_csv(
    State(state): State<AppState>,
    req: Req,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let staged = staged_for(&state, &req, &token).await?;
    let report = staged.result.or(staged.check).ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"import-errors.csv\"".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        report.errors_csv(),
    )
        .into_response())
}
