//! Finance pages: the statement of a month (with its year, salespeople and
//! product types, exported to XLSX), the aging of receivables, and the
//! receipt form posted from an order page.

use crate::ctx::Req;
use crate::customers::{company_tz, today_in};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use domain::access::Permission;
use domain::ids::OrderId;
use domain::money::Money;
use domain::travel::finance::{ReceiptKind, ReceiptMethod};
use domain::{FieldError, FieldErrors};
use serde::Deserialize;
use store::receipts::{AgingItem, Draft, Statement};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(statement_page)).routes(routes!(aging_page)).routes(routes!(receipt_post))
}

/// Which month.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PeriodForm {
    year: Option<String>,
    month: Option<String>,
}

#[derive(Template)]
#[template(path = "finance_statement.html")]
struct StatementPage {
    shell: Shell,
    s: Statement,
    months: Vec<(u32, Money, Money)>,
    people: Vec<(String, Money)>,
    types: Vec<(&'static str, Money)>,
    xlsx: String,
}

/// This month's receivables, receipts and refunds; the year by month; by
/// salesperson and product type.
#[utoipa::path(get, path = "/finance", tag = "pages", security(("keyuan" = ["finance.read"])), params(PeriodForm),
    responses((status = 200, description = "statement", content_type = "text/html")))]
async fn statement_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<PeriodForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let year = match q.year.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => today.year(),
        Some(y) => errs
            .check(
                y.parse::<i32>()
                    .ok()
                    .filter(|y| (2000..=2100).contains(y))
                    .ok_or_else(|| FieldError::new("year", "out_of_range", "year must be between 2000 and 2100")),
            )
            .unwrap_or(today.year()),
    };
    let month = match q.month.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => today.month(),
        Some(m) => errs
            .check(
                m.parse::<u32>()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(|| FieldError::new("month", "out_of_range", "month must be between 1 and 12")),
            )
            .unwrap_or(today.month()),
    };
    errs.into_result()?;
    let s = store::receipts::statement(&state.store, &vis, year, month).await?;
    let zh = req.lang == Lang::Zh;
    let page = StatementPage {
        months: s.by_month.iter().enumerate().map(|(i, (a, b))| (i as u32 + 1, *a, *b)).collect(),
        people: s.by_salesperson.iter().map(|(_, n, m)| (n.clone(), *m)).collect(),
        types: s.by_product_type.iter().map(|(t, m)| (t.label(zh), *m)).collect(),
        xlsx: format!("/finance/statement.xlsx?year={year}&month={month}"),
        shell: Shell::new(&state, req.principal.clone(), req.lang, "nav.finance").await,
        s,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "finance_aging.html")]
struct AgingPage {
    shell: Shell,
    as_of: String,
    lines: Vec<(&'static str, u32, Money)>,
    total: Money,
    items: Vec<(AgingItem, &'static str)>,
}

/// Overdue receivables by age, as of today.
#[utoipa::path(get, path = "/finance/aging", tag = "pages", security(("keyuan" = ["finance.read"])),
    responses((status = 200, description = "aging", content_type = "text/html")))]
async fn aging_page(State(state): State<AppState>, req: Req) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let as_of = today_in(company_tz(&state).await?);
    let (report, items) = store::receipts::aging(&state.store, &vis, as_of).await?;
    let zh = req.lang == Lang::Zh;
    let page = AgingPage {
        as_of: as_of.to_string(),
        lines: report.lines.iter().map(|l| (l.bucket.label(zh), l.count, l.amount)).collect(),
        total: report.total,
        items: items
            .into_iter()
            .map(|i| {
                let b = i.bucket.label(zh);
                (i, b)
            })
            .collect(),
        shell: Shell::new(&state, req.principal.clone(), req.lang, "nav.finance").await,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct ReceiptForm {
    order_id: i64,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    overpayment: Option<String>,
}

/// Records a receipt or refund from the order page, then shows the order.
#[utoipa::path(post, path = "/finance/receipts", tag = "pages", security(("keyuan" = ["finance.write"])),
    responses((status = 303, description = "to the order"), (status = 422, description = "refused")))]
async fn receipt_post(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<ReceiptForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::FinanceWrite).await?;
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let kind = if f.kind.trim().is_empty() {
        Some(ReceiptKind::Receipt)
    } else {
        errs.check(ReceiptKind::parse("kind", &f.kind))
    };
    let method = errs.check(ReceiptMethod::parse("method", &f.method));
    let amount = errs.check(Money::parse("amount", &f.amount));
    let on = if f.received_on.trim().is_empty() {
        Some(today)
    } else {
        errs.check(
            f.received_on
                .trim()
                .parse::<NaiveDate>()
                .map_err(|_| FieldError::new("received_on", "invalid_date", "received_on must be a date")),
        )
    };
    errs.into_result()?;
    let (Some(kind), Some(method), Some(amount), Some(received_on)) = (kind, method, amount, on) else {
        return Err(AppError::BadRequest("incomplete receipt".into()));
    };
    let d = Draft {
        order_id: OrderId(f.order_id),
        kind,
        method,
        amount,
        received_on,
        overpayment: f.overpayment.is_some(),
        reference: Some(f.reference.trim().to_string()).filter(|s| !s.is_empty()),
        notes: None,
    };
    let mut tx = state.store.begin().await?;
    store::receipts::record(&mut tx, &req.actor()?, &vis, &d, None, false).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/orders/{}", f.order_id)).into_response())
}
