//! Finance: receivables, receipts and refunds, balances, aging and the
//! monthly and annual statements (`finance.read`, `finance.write`).

mod pages;

use crate::ctx::Req;
use crate::customers::{company_tz, today_in};
use crate::error::AppError;
use crate::json::{next_cursor, rfc3339, ApiJson, ApiQuery, PageQuery};
use crate::orders::BalanceOut;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Datelike, NaiveDate};
use domain::access::Permission;
use domain::ids::{CustomerId, OrderId};
use domain::money::Money;
use domain::travel::finance::{ReceiptKind, ReceiptMethod};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::receipts::{Draft, ReceiptRow, Statement};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_order_balance))
        .routes(routes!(api_customer_balance))
        .routes(routes!(api_aging))
        .routes(routes!(api_statement))
        .routes(routes!(statement_xlsx))
        .merge(pages::router())
}

/// A receipt or refund.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ReceiptOut {
    id: i64,
    /// `R2026-000310`.
    receipt_no: String,
    order_id: i64,
    order_no: String,
    customer_id: i64,
    customer_name: String,
    /// `receipt` or `refund`.
    kind: String,
    /// `cash`, `bank_transfer`, `wechat_pay`, `alipay`, `card`.
    method: String,
    #[schema(value_type = String)]
    amount: Money,
    received_on: String,
    overpayment: bool,
    reference: Option<String>,
    notes: Option<String>,
    imported: bool,
    created_at: String,
    version: i64,
}

fn receipt_out(r: ReceiptRow) -> ReceiptOut {
    ReceiptOut {
        id: r.id.0,
        receipt_no: r.receipt_no,
        order_id: r.order_id.0,
        order_no: r.order_no,
        customer_id: r.customer_id.0,
        customer_name: r.customer_name,
        kind: r.kind.code().into(),
        method: r.method.code().into(),
        amount: r.amount,
        received_on: r.received_on,
        overpayment: r.overpayment,
        reference: r.reference,
        notes: r.notes,
        imported: r.imported,
        created_at: rfc3339(r.created_at),
        version: r.version,
    }
}

/// A page of receipts.
#[derive(Serialize, utoipa::ToSchema)]
struct ReceiptList {
    items: Vec<ReceiptOut>,
    next: Option<String>,
}

/// Receipt filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    order_id: Option<i64>,
    customer_id: Option<i64>,
    /// From this day (YYYY-MM-DD).
    from: Option<String>,
    /// Up to this day (YYYY-MM-DD), inclusive.
    to: Option<String>,
    limit: Option<i64>,
    before: Option<String>,
}

fn parse_date(errs: &mut FieldErrors, field: &str, v: Option<&str>) -> Option<NaiveDate> {
    let s = v.map(str::trim).filter(|s| !s.is_empty())?;
    match s.parse() {
        Ok(d) => Some(d),
        Err(_) => {
            errs.push(FieldError::new(field, "invalid_date", format!("{field} must be a date YYYY-MM-DD")));
            None
        }
    }
}

/// Lists receipts and refunds on the orders you may see, newest first.
#[utoipa::path(get, path = "/api/v1/receipts", tag = "finance", security(("keyuan" = ["finance.read"])),
    params(ListQuery),
    responses((status = 200, body = ReceiptList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ReceiptList>, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let mut errs = FieldErrors::new();
    let from = parse_date(&mut errs, "from", q.from.as_deref());
    let to = parse_date(&mut errs, "to", q.to.as_deref());
    errs.into_result()?;
    let page = PageQuery { limit: q.limit, before: q.before };
    let f = store::receipts::Filter {
        order_id: q.order_id.map(OrderId),
        customer_id: q.customer_id.map(CustomerId),
        from,
        to,
        before: page.before()?,
        limit: page.limit()?,
    };
    let found = store::receipts::list(&state.store, &vis, &f).await?;
    Ok(Json(ReceiptList { items: found.items.into_iter().map(receipt_out).collect(), next: next_cursor(found.next) }))
}

/// A new receipt or refund.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReceiptBody {
    order_id: Option<i64>,
    /// `receipt` (default) or `refund`.
    kind: Option<String>,
    /// `cash`, `bank_transfer`, `wechat_pay`, `alipay`, `card` (Chinese names too).
    method: Option<String>,
    /// CNY, `"1280.00"`.
    amount: Option<String>,
    /// Default: today.
    received_on: Option<String>,
    /// Accept a receipt above the balance.
    #[serde(default)]
    overpayment: bool,
    reference: Option<String>,
    notes: Option<String>,
}

/// Records a receipt or refund. A receipt on a cancelled order, a receipt
/// above the balance without `overpayment`, or a refund above what was
/// received is 422 on `amount` and changes nothing.
#[utoipa::path(post, path = "/api/v1/receipts", tag = "finance", security(("keyuan" = ["finance.write"])),
    request_body = ReceiptBody,
    responses((status = 201, body = ReceiptOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<ReceiptBody>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::FinanceWrite).await?;
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if b.order_id.is_none() {
        errs.push(FieldError::required("order_id"));
    }
    let kind = match text(&b.kind) {
        None => Some(ReceiptKind::Receipt),
        Some(k) => errs.check(ReceiptKind::parse("kind", &k)),
    };
    let method = match text(&b.method) {
        None => {
            errs.push(FieldError::required("method"));
            None
        }
        Some(m) => errs.check(ReceiptMethod::parse("method", &m)),
    };
    let amount = match text(&b.amount) {
        None => {
            errs.push(FieldError::required("amount"));
            None
        }
        Some(a) => errs.check(Money::parse("amount", &a)),
    };
    let on = parse_date(&mut errs, "received_on", b.received_on.as_deref()).unwrap_or(today);
    errs.into_result()?;
    let (Some(order_id), Some(kind), Some(method), Some(amount)) = (b.order_id, kind, method, amount) else {
        return Err(AppError::BadRequest("incomplete receipt".into()));
    };
    let d = Draft {
        order_id: OrderId(order_id),
        kind,
        method,
        amount,
        received_on: on,
        overpayment: b.overpayment,
        reference: text(&b.reference),
        notes: text(&b.notes),
    };
    let mut tx = state.store.begin().await?;
    let r = store::receipts::record(&mut tx, &req.actor()?, &vis, &d, None, false).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(receipt_out(r))).into_response())
}

/// An order's balance: due, received, refunded, balance, overpayment.
#[utoipa::path(get, path = "/api/v1/orders/{id}/balance", tag = "finance", security(("keyuan" = ["finance.read"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = BalanceOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_order_balance(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<BalanceOut>, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    Ok(Json(store::receipts::order_balance(&state.store, &vis, OrderId(id)).await?.into()))
}

/// A customer's balance over the orders you may see.
#[utoipa::path(get, path = "/api/v1/customers/{id}/balance", tag = "finance", security(("keyuan" = ["finance.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = BalanceOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_customer_balance(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<BalanceOut>, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let (balance, orders) = store::receipts::customer_balance(&state.store, &vis, CustomerId(id)).await?;
    if orders == 0 {
        // No order of theirs in reach: the customer must be one you may see.
        let cvis = match req.visibility(&state, Permission::CustomersRead).await {
            Ok(v) => v,
            Err(AppError::Forbidden) => return Err(AppError::NotFound),
            Err(e) => return Err(e),
        };
        store::customers::get(&state.store, &cvis, CustomerId(id)).await?;
    }
    Ok(Json(balance.into()))
}

/// One aging bucket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AgingLineOut {
    /// `current`, `days_1_30`, `days_31_60`, `days_61_90`, `over_90`.
    bucket: String,
    count: u32,
    #[schema(value_type = String)]
    amount: Money,
}

/// One outstanding order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AgingItemOut {
    order_id: i64,
    order_no: String,
    customer_name: String,
    due_date: String,
    #[schema(value_type = String)]
    outstanding: Money,
    bucket: String,
}

/// Receivables by age.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AgingOut {
    as_of: String,
    lines: Vec<AgingLineOut>,
    #[schema(value_type = String)]
    total: Money,
    orders: Vec<AgingItemOut>,
}

/// `as_of`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AgingQuery {
    /// Default: today (company time zone).
    as_of: Option<String>,
}

/// Outstanding receivables by age of their due date, as of today.
#[utoipa::path(get, path = "/api/v1/finance/aging", tag = "finance", security(("keyuan" = ["finance.read"])),
    params(AgingQuery),
    responses((status = 200, body = AgingOut)))]
async fn api_aging(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<AgingQuery>,
) -> Result<Json<AgingOut>, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let mut errs = FieldErrors::new();
    let as_of = parse_date(&mut errs, "as_of", q.as_of.as_deref());
    errs.into_result()?;
    let as_of = match as_of {
        Some(d) => d,
        None => today_in(company_tz(&state).await?),
    };
    let (report, items) = store::receipts::aging(&state.store, &vis, as_of).await?;
    Ok(Json(AgingOut {
        as_of: as_of.to_string(),
        lines: report
            .lines
            .iter()
            .map(|l| AgingLineOut { bucket: l.bucket.code().into(), count: l.count, amount: l.amount })
            .collect(),
        total: report.total,
        orders: items
            .into_iter()
            .map(|i| AgingItemOut {
                order_id: i.order_id.0,
                order_no: i.order_no,
                customer_name: i.customer_name,
                due_date: i.due_on.to_string(),
                outstanding: i.outstanding,
                bucket: i.bucket.code().into(),
            })
            .collect(),
    }))
}

/// Which month.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatementQuery {
    /// Default: this year.
    year: Option<i32>,
    /// 1–12; default: this month.
    month: Option<u32>,
}

async fn period(state: &AppState, q: &StatementQuery) -> Result<(i32, u32), AppError> {
    let today = today_in(company_tz(state).await?);
    let year = q.year.unwrap_or(today.year());
    let month = q.month.unwrap_or(today.month());
    let mut errs = FieldErrors::new();
    if !(2000..=2100).contains(&year) {
        errs.push(FieldError::new("year", "out_of_range", "year must be between 2000 and 2100"));
    }
    if !(1..=12).contains(&month) {
        errs.push(FieldError::new("month", "out_of_range", "month must be between 1 and 12"));
    }
    errs.into_result()?;
    Ok((year, month))
}

/// One month of the year.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MonthOut {
    month: u32,
    #[schema(value_type = String)]
    receivables: Money,
    /// Receipts minus refunds.
    #[schema(value_type = String)]
    received: Money,
}

/// A salesperson's receivables.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PersonOut {
    user_id: i64,
    name: String,
    #[schema(value_type = String)]
    receivables: Money,
}

/// A product type's receivables.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TypeOut {
    product_type: String,
    #[schema(value_type = String)]
    receivables: Money,
}

/// The statement of a month, with its year.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct StatementOut {
    year: i32,
    month: u32,
    /// Orders dated this month (cancelled ones left out).
    #[schema(value_type = String)]
    receivables: Money,
    order_count: i64,
    #[schema(value_type = String)]
    receipts: Money,
    #[schema(value_type = String)]
    refunds: Money,
    #[schema(value_type = String)]
    net: Money,
    by_month: Vec<MonthOut>,
    by_salesperson: Vec<PersonOut>,
    by_product_type: Vec<TypeOut>,
}

fn statement_out(s: Statement) -> StatementOut {
    StatementOut {
        year: s.year,
        month: s.month,
        receivables: s.receivables,
        order_count: s.order_count,
        receipts: s.receipts,
        refunds: s.refunds,
        net: s.net,
        by_month: s
            .by_month
            .iter()
            .enumerate()
            .map(|(i, (r, n))| MonthOut { month: i as u32 + 1, receivables: *r, received: *n })
            .collect(),
        by_salesperson: s
            .by_salesperson
            .into_iter()
            .map(|(u, name, m)| PersonOut { user_id: u.0, name, receivables: m })
            .collect(),
        by_product_type: s
            .by_product_type
            .into_iter()
            .map(|(t, m)| TypeOut { product_type: t.code().into(), receivables: m })
            .collect(),
    }
}

/// This month's receivables, receipts and refunds; the year by month; by
/// salesperson and by product type.
#[utoipa::path(get, path = "/api/v1/finance/statement", tag = "finance", security(("keyuan" = ["finance.read"])),
    params(StatementQuery),
    responses((status = 200, body = StatementOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_statement(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<StatementQuery>,
) -> Result<Json<StatementOut>, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let (year, month) = period(&state, &q).await?;
    Ok(Json(statement_out(store::receipts::statement(&state.store, &vis, year, month).await?)))
}

/// The statement as an XLSX workbook (four sheets); the export is audited.
#[utoipa::path(get, path = "/finance/statement.xlsx", tag = "pages", security(("keyuan" = ["finance.read"])),
    params(StatementQuery),
    responses((status = 200, description = "XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
async fn statement_xlsx(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<StatementQuery>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::FinanceRead).await?;
    let (year, month) = period(&state, &q).await?;
    let s = store::receipts::statement(&state.store, &vis, year, month).await?;
    let zh = req.lang == crate::i18n::Lang::Zh;
    let bytes = store::receipts::statement_xlsx(&s, zh)?;
    let mut tx = state.store.begin().await?;
    store::audit::record(
        &mut tx,
        &req.actor()?,
        domain::audit::Action::Export,
        "finance_statement",
        &format!("{year}-{month:02}"),
        &format!("statement {year}-{month:02} exported"),
        &domain::audit::ChangeSet::new(),
    )
    .await?;
    tx.commit().await?;
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    let name = format!("attachment; filename=\"statement-{year}-{month:02}.xlsx\"");
    if let Ok(v) = HeaderValue::from_str(&name) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("nav.finance", "财务", "Finance"),
    ("finance.title", "财务", "Finance"),
    ("finance.receipts", "收款单", "Receipts"),
    ("finance.receipt", "收款", "Receipt"),
    ("finance.refund", "退款", "Refund"),
    ("finance.method", "收款方式", "Method"),
    ("finance.amount", "金额", "Amount"),
    ("finance.received_on", "收款日期", "Date"),
    ("finance.reference", "交易参考号", "Reference"),
    ("finance.overpayment", "超额收款", "Overpayment"),
    ("finance.due", "应收", "Due"),
    ("finance.received", "已收", "Received"),
    ("finance.refunded", "已退", "Refunded"),
    ("finance.balance", "余额", "Balance"),
    ("finance.aging", "账龄分析", "Aging"),
    ("finance.statement", "对账报表", "Statement"),
    ("finance.by_month", "全年按月", "Year by month"),
    ("finance.by_salesperson", "按销售", "By salesperson"),
    ("finance.by_product_type", "按产品类型", "By product type"),
    ("finance.export_xlsx", "导出 Excel", "Export to Excel"),
    ("finance.receivable", "应收账款", "Receivable"),
    ("finance.receivables", "应收", "Receivables"),
    ("finance.receipt_no", "收款单号", "Receipt no."),
    ("finance.kind", "类型", "Kind"),
    ("finance.record", "登记", "Record"),
    ("finance.net", "净收款", "Net received"),
    ("finance.year", "年份", "Year"),
    ("finance.month", "月份", "Month"),
    ("finance.total", "合计", "Total"),
];
