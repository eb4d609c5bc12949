//! The quote pages: the current version (or any version) with its lines,
//! totals and history; the difference between two versions; the printable
//! A4 page; the line editor for a new quote and for a revision (works
//! without scripts: blank rows plus an "add rows" button); a customer's
//! quote history.

use super::input::{LineInput, QuoteInput};
use super::quote_api::{self, DiffQuery};
use super::{status_label, today, Errors};
use crate::admin::Opt;
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiQuery, PageForm};
use crate::page::{render, see_other, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::access::Permission;
use domain::audit::FieldChange;
use domain::ids::{CustomerId, OpportunityId, QuoteId};
use domain::travel::quote::{QuoteDiff, QuoteLine, QuoteLineKind, QuoteStatus};
use serde::Deserialize;
use std::collections::BTreeMap;
use store::quotes::{Quote, Version};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(new_page))
        .routes(routes!(create_submit))
        .routes(routes!(show_page, revise_submit))
        .routes(routes!(version_page))
        .routes(routes!(edit_page))
        .routes(routes!(diff_page))
        .routes(routes!(print_page))
        .routes(routes!(status_submit))
        .routes(routes!(customer_quotes_page))
}

/// One line as shown, with its amounts.
pub(crate) struct LineView {
    pub n: usize,
    pub kind: &'static str,
    pub description: String,
    pub adults: u32,
    pub children: u32,
    pub adult_price: String,
    pub child_price: String,
    pub discount: String,
    pub extras: String,
    pub fare: String,
    pub discount_amount: String,
    pub total: String,
}

/// A version's lines and totals as shown.
pub(crate) struct Sheet {
    pub lines: Vec<LineView>,
    pub fare: String,
    pub discount: String,
    pub extras: String,
    pub total: String,
}

fn sheet(v: &Version, lang: Lang) -> Result<Sheet, AppError> {
    let zh = lang == Lang::Zh;
    let q = v.rules(chrono::NaiveDate::MIN, QuoteStatus::Draft);
    let t = q.totals().map_err(|_| AppError::Internal("stored quote total overflows".into()))?;
    let lines = v
        .lines
        .iter()
        .zip(&t.lines)
        .enumerate()
        .map(|(i, (l, lt))| LineView {
            n: i + 1,
            kind: l.kind.label(zh),
            description: l.description.clone(),
            adults: l.party.adults(),
            children: l.party.children(),
            adult_price: l.adult_price.to_string(),
            child_price: l.child_price.to_string(),
            discount: l.discount.to_string(),
            extras: l.extras.iter().map(|x| format!("{} ¥{}", x.description, x.amount)).collect::<Vec<_>>().join("；"),
            fare: lt.fare.to_string(),
            discount_amount: lt.discount.to_string(),
            total: lt.total.to_string(),
        })
        .collect();
    Ok(Sheet {
        lines,
        fare: t.fare.to_string(),
        discount: t.discount.to_string(),
        extras: t.extras.to_string(),
        total: t.total.to_string(),
    })
}

/// A row of the version history.
pub(crate) struct HistoryRow {
    pub n: u32,
    pub by: String,
    pub at: i64,
    pub total: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "sales_quote.html")]
struct ShowPage {
    shell: Shell,
    q: Quote,
    status: &'static str,
    /// The version shown.
    v: Version,
    sheet: Sheet,
    history: Vec<HistoryRow>,
    moves: Vec<Opt>,
    notice: Option<&'static str>,
    errors: Errors,
    can_write: bool,
}

async fn show(
    state: &AppState,
    req: &Req,
    id: i64,
    n: Option<u32>,
    notice: Option<&'static str>,
    errors: Errors,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(state, Permission::SalesRead).await?;
    let q = store::quotes::get(&state.store, &vis, QuoteId(id)).await?;
    let all = store::quotes::versions(&state.store, &vis, q.id).await?;
    let want = n.unwrap_or(q.current_version);
    let v = all.iter().find(|v| v.version_no == want).cloned().ok_or(AppError::NotFound)?;
    let lang = req.lang;
    let today = today(state).await?;
    let status = q.status_on(today);
    let history = all
        .iter()
        .rev()
        .map(|v| HistoryRow {
            n: v.version_no,
            by: if v.created_by_name.is_empty() { "—".into() } else { v.created_by_name.clone() },
            at: v.created_at,
            total: v.total.to_string(),
            title: v.title.clone(),
        })
        .collect();
    let moves = status.next().iter().map(|s| Opt::new(s.code(), status_label(*s, lang), "")).collect();
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&ShowPage {
        can_write: shell.can("sales.write"),
        shell,
        status: status_label(status, lang),
        sheet: sheet(&v, lang)?,
        v,
        history,
        moves,
        notice,
        errors,
        q,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ShowQuery {
    saved: Option<String>,
}

/// A quote's current version with lines, totals and the version history.
#[utoipa::path(get, path = "/quotes/{id}", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id"), ShowQuery),
    responses((status = 200, description = "the quote", content_type = "text/html"), (status = 404, description = "no such quote")))]
async fn show_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let notice = q.saved.map(|_| req.lang.t("common.saved"));
    show(&state, &req, id, None, notice, Errors::default()).await
}

/// One version of a quote as it was written.
#[utoipa::path(get, path = "/quotes/{id}/versions/{n}", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id"), ("n" = u32, Path, description = "version number")),
    responses((status = 200, description = "the version", content_type = "text/html"), (status = 404, description = "no such quote or version")))]
async fn version_page(
    State(state): State<AppState>,
    req: Req,
    Path((id, n)): Path<(i64, u32)>,
) -> Result<Html<String>, AppError> {
    show(&state, &req, id, Some(n), None, Errors::default()).await
}

/// One field change, labelled.
pub(crate) struct ChangeView {
    pub label: String,
    pub before: String,
    pub after: String,
}

fn changes(list: &[FieldChange], lang: Lang) -> Vec<ChangeView> {
    list.iter()
        .map(|c| ChangeView {
            label: change_label(&c.field, lang),
            before: c.before.clone().unwrap_or_else(|| "—".into()),
            after: c.after.clone().unwrap_or_else(|| "—".into()),
        })
        .collect()
}

fn change_label(field: &str, lang: Lang) -> String {
    match field {
        "issued_on" => if lang == Lang::Zh { "报价日期" } else { "Issued on" }.to_string(),
        other => super::field_label(other, lang),
    }
}

pub(crate) struct LineChangeView {
    pub key: u32,
    pub description: String,
    pub changes: Vec<ChangeView>,
}

#[derive(Template)]
#[template(path = "sales_quote_diff.html")]
struct DiffPage {
    shell: Shell,
    q: Quote,
    from: u32,
    to: u32,
    versions: Vec<u32>,
    header: Vec<ChangeView>,
    added: Vec<LineView>,
    removed: Vec<LineView>,
    changed: Vec<LineChangeView>,
    total_before: String,
    total_after: String,
    same: bool,
}

fn line_views(lines: &[QuoteLine], lang: Lang) -> Result<Vec<LineView>, AppError> {
    let v = Version {
        quote_id: QuoteId(0),
        version_no: 0,
        title: String::new(),
        valid_until: None,
        notes: None,
        lines: lines.to_vec(),
        total: Default::default(),
        created_by: None,
        created_by_name: String::new(),
        created_at: 0,
    };
    Ok(sheet(&v, lang)?.lines)
}

/// The difference between two versions: header changes, lines added,
/// removed and changed (before → after), totals.
#[utoipa::path(get, path = "/quotes/{id}/diff", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id"), DiffQuery),
    responses((status = 200, description = "the difference", content_type = "text/html"), (status = 404, description = "no such quote")))]
async fn diff_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(dq): ApiQuery<DiffQuery>,
) -> Result<Html<String>, AppError> {
    let (q, d): (Quote, QuoteDiff) = quote_api::diff_of(&state, &req, QuoteId(id), dq.from, dq.to).await?;
    let lang = req.lang;
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&DiffPage {
        shell,
        versions: (1..=q.current_version).collect(),
        from: dq.from,
        to: dq.to,
        header: changes(&d.header, lang),
        added: line_views(&d.added, lang)?,
        removed: line_views(&d.removed, lang)?,
        changed: d
            .changed
            .iter()
            .map(|c| LineChangeView {
                key: c.key,
                description: c.description.clone(),
                changes: changes(&c.changes, lang),
            })
            .collect(),
        total_before: d.total_before.to_string(),
        total_after: d.total_after.to_string(),
        same: d.is_empty(),
        q,
    })
}

#[derive(Template)]
#[template(path = "sales_quote_print.html")]
struct PrintPage {
    company: store::settings::Profile,
    q: Quote,
    v: Version,
    sheet: Sheet,
    issued_on: String,
    owner: String,
}

/// Which version to print (default: the current one).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PrintQuery {
    version: Option<u32>,
}

/// The quote as an A4 page in Chinese with the company's header, for the
/// browser's print dialog.
#[utoipa::path(get, path = "/quotes/{id}/print", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "quote id"), PrintQuery),
    responses((status = 200, description = "the printable page", content_type = "text/html"), (status = 404, description = "no such quote")))]
async fn print_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(pq): ApiQuery<PrintQuery>,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let q = store::quotes::get(&state.store, &vis, QuoteId(id)).await?;
    let v = store::quotes::version(&state.store, &vis, q.id, pq.version.unwrap_or(q.current_version)).await?;
    let company = store::settings::profile(&state.store).await?;
    let tz = crate::customers::company_tz(&state).await?;
    let issued_on = chrono::DateTime::from_timestamp_millis(v.created_at)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let owner = crate::customers::Names::default().of(&state, q.owner_id).await?;
    // The printed quotation is Chinese whatever the screen language.
    render(&PrintPage { company, sheet: sheet(&v, Lang::Zh)?, q, v, issued_on, owner })
}

/// One editable row of the line editor.
pub(crate) struct RowView {
    pub i: usize,
    pub key: String,
    pub kinds: Vec<Opt>,
    pub description: String,
    pub adults: String,
    pub children: String,
    pub adult_price: String,
    pub child_price: String,
    pub discount_types: Vec<Opt>,
    pub discount: String,
    /// (j, description, amount), with one blank slot at the end.
    pub extras: Vec<(usize, String, String)>,
    pub bad: bool,
}

const BLANK_ROWS: usize = 3;

fn row_views(lines: &[LineInput], blank: usize, lang: Lang, errors: &Errors) -> Vec<RowView> {
    let zh = lang == Lang::Zh;
    let empty = LineInput::default();
    lines
        .iter()
        .chain(std::iter::repeat_n(&empty, blank))
        .enumerate()
        .map(|(i, l)| {
            let kind = if l.kind.is_empty() { "departure" } else { l.kind.as_str() };
            let dtype = if l.discount_type.is_empty() { "amount" } else { l.discount_type.as_str() };
            let mut extras: Vec<(usize, String, String)> =
                l.extras.iter().enumerate().map(|(j, x)| (j, x.description.clone(), x.amount.clone())).collect();
            extras.push((extras.len(), String::new(), String::new()));
            RowView {
                i,
                key: l.key.clone(),
                kinds: QuoteLineKind::ALL.iter().map(|k| Opt::new(k.code(), k.label(zh), kind)).collect(),
                description: l.description.clone(),
                adults: l.adults.clone(),
                children: l.children.clone(),
                adult_price: l.adult_price.clone(),
                child_price: l.child_price.clone(),
                discount_types: vec![
                    Opt::new("amount", lang.t("sales.yuan"), dtype),
                    Opt::new("percent", lang.t("sales.percent"), dtype),
                ],
                discount: l.discount.clone(),
                extras,
                bad: errors.has(&format!("lines.{i}")),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "sales_quote_form.html")]
struct FormPage {
    shell: Shell,
    heading: &'static str,
    action: String,
    cancel: String,
    /// For a revision: the header's version and the number.
    version: Option<i64>,
    number: Option<String>,
    customer_id: String,
    customer_name: String,
    opportunity_id: String,
    v: QuoteInput,
    rows: Vec<RowView>,
    errors: Errors,
}

struct FormSpec<'a> {
    quote: Option<&'a Quote>,
    v: QuoteInput,
    blank: usize,
    errors: Errors,
}

async fn form(state: &AppState, req: &Req, s: FormSpec<'_>) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let rows = row_views(&s.v.lines, s.blank, lang, &s.errors);
    let (heading, action, cancel, version, number, customer_name) = match s.quote {
        Some(q) => (
            "sales.edit_quote",
            format!("/quotes/{}", q.id),
            format!("/quotes/{}", q.id),
            Some(q.version),
            Some(q.number.clone()),
            q.customer_name.clone(),
        ),
        None => {
            let name = match s.v.customer_id.trim().parse::<i64>() {
                Ok(id) => {
                    let vis = req.visibility(state, Permission::CustomersRead).await?;
                    match store::customers::get(&state.store, &vis, CustomerId(id)).await {
                        Ok(c) => c.data.name,
                        Err(store::StoreError::NotFound) => String::new(),
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(_) => String::new(),
            };
            let cancel = match s.v.opportunity_id.trim() {
                "" => "/opportunities".to_string(),
                o => format!("/opportunities/{o}"),
            };
            ("sales.new_quote", "/quotes".to_string(), cancel, None, None, name)
        }
    };
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&FormPage {
        shell,
        heading,
        action,
        cancel,
        version,
        number,
        customer_id: s.v.customer_id.clone(),
        customer_name,
        opportunity_id: s.v.opportunity_id.clone(),
        rows,
        errors: s.errors,
        v: s.v,
    })
}

/// For whom a new quote is.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NewQuery {
    customer_id: Option<String>,
    opportunity_id: Option<String>,
}

/// The line editor for a new quote.
#[utoipa::path(get, path = "/quotes/new", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(NewQuery),
    responses((status = 200, description = "the form", content_type = "text/html")))]
async fn new_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<NewQuery>,
) -> Result<Html<String>, AppError> {
    let today = today(&state).await?;
    let mut v = QuoteInput {
        customer_id: q.customer_id.unwrap_or_default(),
        opportunity_id: q.opportunity_id.unwrap_or_default(),
        valid_until: (today + chrono::Days::new(14)).to_string(),
        ..Default::default()
    };
    // A quote for an opportunity starts from its title and party.
    if let Ok(o) = v.opportunity_id.trim().parse::<i64>() {
        let vis = req.visibility(&state, Permission::SalesRead).await?;
        match store::opportunities::get(&state.store, &vis, OpportunityId(o)).await {
            Ok(o) => {
                v.title = o.title.clone();
                if v.customer_id.is_empty() {
                    v.customer_id = o.customer_id.to_string();
                }
                v.lines.push(LineInput {
                    description: o.destination.clone().unwrap_or_else(|| o.title.clone()),
                    adults: o.adults.to_string(),
                    children: o.children.to_string(),
                    ..Default::default()
                });
            }
            Err(store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    form(&state, &req, FormSpec { quote: None, v, blank: BLANK_ROWS, errors: Errors::default() }).await
}

fn values(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

/// Creates a quote from the line editor, or (`add_rows`) shows it again
/// with more blank rows.
#[utoipa::path(post, path = "/quotes", tag = "pages", security(("keyuan" = ["sales.write"])),
    request_body(content = String, description = "the editor's fields", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "created"), (status = 200, description = "more rows", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let map = values(pairs);
    let v = QuoteInput::from_form(&map);
    if map.contains_key("add_rows") {
        let spec = FormSpec { quote: None, v, blank: BLANK_ROWS + 3, errors: Errors::default() };
        return Ok(form(&state, &req, spec).await?.into_response());
    }
    match quote_api::create(&state, &req, &v).await {
        Ok(q) => Ok(see_other(&format!("/quotes/{}?saved=1", q.id))),
        Err(e) => {
            let (status, errors) = Errors::from_error(e, req.lang)?;
            Ok((status, form(&state, &req, FormSpec { quote: None, v, blank: BLANK_ROWS, errors }).await?)
                .into_response())
        }
    }
}

async fn writable(state: &AppState, req: &Req, id: i64) -> Result<(Quote, Version), AppError> {
    let vis = req.visibility(state, Permission::SalesWrite).await?;
    let q = store::quotes::get(&state.store, &vis, QuoteId(id)).await?;
    let v = store::quotes::version(&state.store, &vis, q.id, q.current_version).await?;
    Ok((q, v))
}

/// The line editor filled with the current version; saving writes the next.
#[utoipa::path(get, path = "/quotes/{id}/edit", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "quote id")),
    responses((status = 200, description = "the form", content_type = "text/html"), (status = 404, description = "no such quote")))]
async fn edit_page(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Html<String>, AppError> {
    let (q, v) = writable(&state, &req, id).await?;
    let input = QuoteInput::of_version(&v);
    form(&state, &req, FormSpec { quote: Some(&q), v: input, blank: BLANK_ROWS, errors: Errors::default() }).await
}

/// Saves the editor as the quote's next version.
#[utoipa::path(post, path = "/quotes/{id}", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "quote id")),
    request_body(content = String, description = "the editor's fields and `version`", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved as a new version"), (status = 404, description = "no such quote"),
        (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn revise_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (q, _) = writable(&state, &req, id).await?;
    let map = values(pairs);
    let version = crate::admin::form_version(map.get("version").map(String::as_str).unwrap_or(""))?;
    let v = QuoteInput::from_form(&map);
    if map.contains_key("add_rows") {
        let spec = FormSpec { quote: Some(&q), v, blank: BLANK_ROWS + 3, errors: Errors::default() };
        return Ok(form(&state, &req, spec).await?.into_response());
    }
    let result = match v.content() {
        Ok(content) => quote_api::revise(&state, &req, q.id, version, &content).await,
        Err(e) => Err(AppError::Invalid(e)),
    };
    match result {
        Ok(q) => Ok(see_other(&format!("/quotes/{}?saved=1", q.id))),
        Err(e) => {
            let (status, errors) = Errors::from_error(e, req.lang)?;
            // After a stale save the editor shows what is stored now.
            let (q, v) = if status == StatusCode::CONFLICT {
                let (q, now) = writable(&state, &req, id).await?;
                (q, QuoteInput::of_version(&now))
            } else {
                (q, v)
            };
            Ok((status, form(&state, &req, FormSpec { quote: Some(&q), v, blank: BLANK_ROWS, errors }).await?)
                .into_response())
        }
    }
}

/// Moves a quote's status from its page (`status`, `version`).
#[utoipa::path(post, path = "/quotes/{id}/status", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "quote id")),
    request_body(content = String, description = "status and version", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "moved"), (status = 404, description = "no such quote"),
        (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "refused, with the reason", content_type = "text/html")))]
async fn status_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let map = values(pairs);
    let version = crate::admin::form_version(map.get("version").map(String::as_str).unwrap_or(""))?;
    let status = map.get("status").map(String::as_str).unwrap_or("");
    match quote_api::set_status(&state, &req, QuoteId(id), version, status).await {
        Ok(q) => Ok(see_other(&format!("/quotes/{}?saved=1", q.id))),
        Err(e) => {
            let (code, errors) = Errors::from_error(e, req.lang)?;
            Ok((code, show(&state, &req, id, None, None, errors).await?).into_response())
        }
    }
}

/// A quote in the customer's history.
pub(crate) struct HistoryQuote {
    pub q: Quote,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "sales_customer_quotes.html")]
struct CustomerQuotesPage {
    shell: Shell,
    customer_id: i64,
    customer_name: String,
    quotes: Vec<HistoryQuote>,
    can_write: bool,
}

/// A customer's quote history, newest first (the quotes the person may see).
#[utoipa::path(get, path = "/customers/{id}/quotes", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "the quotes", content_type = "text/html"), (status = 404, description = "no such customer")))]
async fn customer_quotes_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Html<String>, AppError> {
    let customers = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &customers, CustomerId(id)).await?;
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let f = store::quotes::Filter { customer_id: Some(c.id), limit: 500, ..Default::default() };
    let today = today(&state).await?;
    let lang = req.lang;
    let quotes = store::quotes::list(&state.store, &vis, &f)
        .await?
        .items
        .into_iter()
        .map(|q| HistoryQuote { status: status_label(q.status_on(today), lang), q })
        .collect();
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.customers").await;
    render(&CustomerQuotesPage {
        can_write: shell.can("sales.write"),
        shell,
        customer_id: c.id.0,
        customer_name: c.data.name,
        quotes,
    })
}
