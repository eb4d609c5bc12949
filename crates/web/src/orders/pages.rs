//! Order pages: the list with filters and search, the new-order form
//! (prefilled from a customer, departure, quote or opportunity), the order
//! with its travellers, charges, receivable and receipts, status buttons,
//! and the edit form.

use super::api::{check_customer, check_owner, prefill, OrderBody};
use crate::admin::Opt;
use crate::ctx::Req;
use crate::customers::{company_tz, today_in};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::customer::SourceChannel;
use domain::ids::{CustomerId, OrderId};
use domain::money::Money;
use domain::travel::finance::Balance;
use domain::travel::hotel::Outlet;
use domain::travel::order::OrderStatus;
use domain::travel::product::ProductType;
use domain::{FieldError, FieldErrors};
use serde::Deserialize;
use store::orders::{ChargeRow, Order, Origin, Traveller};
use store::receipts::ReceiptRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_page))
        .routes(routes!(new_page, new_post))
        .routes(routes!(show_page))
        .routes(routes!(edit_page, edit_post))
        .routes(routes!(status_post))
        .routes(routes!(traveller_post))
        .routes(routes!(charge_post))
}

fn status_label(s: OrderStatus, lang: Lang) -> &'static str {
    s.label(lang == Lang::Zh)
}

fn type_label(t: ProductType, lang: Lang) -> &'static str {
    t.label(lang == Lang::Zh)
}

/// One list row.
struct Row {
    o: Order,
    status: &'static str,
    product_type: &'static str,
}

/// List filters, all text (an empty one is "any").
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListForm {
    /// Order number, customer name or code.
    q: Option<String>,
    status: Option<String>,
    product_type: Option<String>,
    /// `YYYY-MM`.
    month: Option<String>,
    customer_id: Option<String>,
    owner_id: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "orders_list.html")]
struct ListPage {
    shell: Shell,
    q: String,
    month: String,
    statuses: Vec<Opt>,
    types: Vec<Opt>,
    owners: Vec<Opt>,
    customer_id: String,
    rows: Vec<Row>,
    next: Option<String>,
    error: Option<String>,
    can_write: bool,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The order list.
#[utoipa::path(get, path = "/orders", tag = "pages", security(("keyuan" = ["sales.read"])), params(ListForm),
    responses((status = 200, description = "order list", content_type = "text/html")))]
async fn list_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let lang = req.lang;
    let mut errs = FieldErrors::new();
    let status = nonempty(&q.status).and_then(|s| errs.check(OrderStatus::parse("status", s)));
    let product_type = nonempty(&q.product_type).and_then(|s| errs.check(ProductType::parse("product_type", s)));
    let month = nonempty(&q.month).map(str::to_string);
    if let Some(m) = &month {
        if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err() {
            errs.push(FieldError::new("month", "invalid", "month must be YYYY-MM"));
        }
    }
    let id_of = |errs: &mut FieldErrors, f: &str, v: &Option<String>| {
        nonempty(v).and_then(|s| {
            errs.check(s.parse::<i64>().map_err(|_| FieldError::new(f, "invalid", format!("{f} must be a number"))))
        })
    };
    let customer_id = id_of(&mut errs, "customer_id", &q.customer_id);
    let owner_id = id_of(&mut errs, "owner_id", &q.owner_id);
    let before = id_of(&mut errs, "before", &q.before);
    let (rows, next, error) = if errs.is_empty() {
        let f = store::orders::Filter {
            q: nonempty(&q.q).map(str::to_string),
            status,
            owner_id: owner_id.map(domain::ids::UserId),
            month: month.clone(),
            product_type,
            customer_id: customer_id.map(CustomerId),
            departure_id: None,
            before,
            limit: 50,
        };
        let page = store::orders::list(&state.store, &vis, &f).await?;
        let next = page.next.map(|n| {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("q", &q.q),
                ("status", &q.status),
                ("product_type", &q.product_type),
                ("month", &q.month),
                ("owner_id", &q.owner_id),
                ("customer_id", &q.customer_id),
            ] {
                if let Some(v) = nonempty(v) {
                    ser.append_pair(k, v);
                }
            }
            ser.append_pair("before", &n.to_string());
            format!("/orders?{}", ser.finish())
        });
        let rows = page
            .items
            .into_iter()
            .map(|o| Row {
                status: status_label(o.status, lang),
                product_type: type_label(o.data.product_type, lang),
                o,
            })
            .collect();
        (rows, next, None)
    } else {
        (Vec::new(), None, Some(errs.to_string()))
    };
    let cur_status = nonempty(&q.status).unwrap_or("");
    let cur_type = nonempty(&q.product_type).unwrap_or("");
    let mut statuses = vec![Opt::new("", lang.t("common.all"), cur_status)];
    statuses.extend(OrderStatus::ALL.iter().map(|s| Opt::new(s.code(), status_label(*s, lang), cur_status)));
    let mut types = vec![Opt::new("", lang.t("common.all"), cur_type)];
    types.extend(ProductType::ALL.iter().map(|t| Opt::new(t.code(), type_label(*t, lang), cur_type)));
    // Owners to filter by: everyone the caller's reach could include (rows
    // are restricted in the query whatever is chosen).
    let cur_owner = nonempty(&q.owner_id).unwrap_or("");
    let mut owners = vec![Opt::new("", lang.t("common.all"), cur_owner)];
    owners.extend(
        store::users::all_active(&state.store)
            .await?
            .into_iter()
            .filter(|u| vis.scope != domain::access::Scope::Own || u.id == vis.user_id)
            .map(|u| Opt::new(u.id, u.display_name, cur_owner)),
    );
    let page = ListPage {
        owners,
        customer_id: nonempty(&q.customer_id).unwrap_or("").to_string(),
        shell: Shell::new(&state, req.principal.clone(), lang, "nav.orders").await,
        q: nonempty(&q.q).unwrap_or("").to_string(),
        month: month.unwrap_or_default(),
        statuses,
        types,
        rows,
        next,
        error,
        can_write: req.user()?.can(Permission::SalesWrite),
    };
    Ok(render(&page)?.into_response())
}

/// The order form's fields as typed.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct OrderForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    departure_id: String,
    #[serde(default)]
    quote_id: String,
    #[serde(default)]
    opportunity_id: String,
    #[serde(default)]
    product_type: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    order_date: String,
    #[serde(default)]
    travel_date: String,
    #[serde(default)]
    return_date: String,
    #[serde(default)]
    adults: String,
    #[serde(default)]
    children: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    cost: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    room_type: String,
    #[serde(default)]
    room_number: String,
    #[serde(default)]
    nightly_rate: String,
    #[serde(default)]
    version: String,
}

impl OrderForm {
    /// The API body; numbers that are not numbers go to `errs`.
    fn body(&self, errs: &mut FieldErrors, new: bool) -> OrderBody {
        let int = |errs: &mut FieldErrors, f: &str, v: &str| -> Option<i64> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            errs.check(
                v.parse::<i64>().map_err(|_| FieldError::new(f, "invalid", format!("{f} must be a whole number"))),
            )
        };
        let text = |v: &str| Some(v.to_string());
        let opt_text = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        OrderBody {
            customer_id: int(errs, "customer_id", &self.customer_id),
            product_type: opt_text(&self.product_type),
            destination: text(&self.destination),
            order_date: text(&self.order_date),
            travel_date: text(&self.travel_date),
            return_date: text(&self.return_date),
            adults: int(errs, "adults", &self.adults),
            children: int(errs, "children", &self.children),
            amount: if new { opt_text(&self.amount) } else { text(&self.amount) },
            cost: text(&self.cost),
            due_date: text(&self.due_date),
            source: text(&self.source),
            campaign: text(&self.campaign),
            owner_id: None,
            notes: text(&self.notes),
            room_type: text(&self.room_type),
            room_number: text(&self.room_number),
            nightly_rate: text(&self.nightly_rate),
            departure_id: if new { int(errs, "departure_id", &self.departure_id) } else { None },
            quote_id: if new { int(errs, "quote_id", &self.quote_id) } else { None },
            opportunity_id: if new { int(errs, "opportunity_id", &self.opportunity_id) } else { None },
            version: if new { None } else { int(errs, "version", &self.version) },
        }
    }

    fn of(o: &Order) -> OrderForm {
        let d = &o.data;
        let date = |v: Option<chrono::NaiveDate>| v.map(|x| x.to_string()).unwrap_or_default();
        OrderForm {
            customer_id: d.customer_id.0.to_string(),
            product_type: d.product_type.code().into(),
            destination: d.destination.clone().unwrap_or_default(),
            order_date: d.order_date.to_string(),
            travel_date: date(d.travel_date),
            return_date: date(d.return_date),
            adults: d.adults.to_string(),
            children: d.children.to_string(),
            amount: d.amount.to_string(),
            cost: d.cost.to_string(),
            due_date: date(o.due_date),
            source: d.source.map(|s| s.code().to_string()).unwrap_or_default(),
            campaign: d.campaign.clone().unwrap_or_default(),
            notes: d.notes.clone().unwrap_or_default(),
            room_type: d.room_type.clone().unwrap_or_default(),
            room_number: d.room_number.clone().unwrap_or_default(),
            nightly_rate: d.nightly_rate.map(|m| m.to_string()).unwrap_or_default(),
            version: o.version.to_string(),
            ..OrderForm::default()
        }
    }
}

#[derive(Template)]
#[template(path = "orders_form.html")]
struct FormPage {
    shell: Shell,
    f: OrderForm,
    action: String,
    title: &'static str,
    new: bool,
    types: Vec<Opt>,
    sources: Vec<Opt>,
    errors: Vec<FieldError>,
}

fn form_page(shell: Shell, f: OrderForm, new: bool, action: String, errors: Vec<FieldError>) -> FormPage {
    let lang = shell.lang;
    let types = ProductType::ALL.iter().map(|t| Opt::new(t.code(), type_label(*t, lang), &f.product_type)).collect();
    let mut sources = vec![Opt::new("", "—", &f.source)];
    sources.extend(SourceChannel::ALL.iter().map(|s| Opt::new(s.code(), s.label(lang == Lang::Zh), &f.source)));
    let title = if new { shell.t("orders.new") } else { shell.t("orders.edit") };
    FormPage { shell, f, action, title, new, types, sources, errors }
}

fn prefilled(d: &store::orders::Draft, links: &store::orders::Links, given: &OrderForm) -> OrderForm {
    let date = |v: Option<chrono::NaiveDate>| v.map(|x| x.to_string()).unwrap_or_default();
    let id = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    OrderForm {
        customer_id: if d.customer_id.0 == 0 { String::new() } else { d.customer_id.0.to_string() },
        departure_id: id(links.departure_id.map(|x| x.0)),
        quote_id: id(links.quote_id.map(|x| x.0)),
        opportunity_id: id(links.opportunity_id.map(|x| x.0)),
        product_type: d.product_type.code().into(),
        destination: d.destination.clone().unwrap_or_default(),
        order_date: d.order_date.to_string(),
        travel_date: date(d.travel_date),
        return_date: date(d.return_date),
        adults: d.adults.to_string(),
        children: d.children.to_string(),
        amount: if d.amount == Money::ZERO { String::new() } else { d.amount.to_string() },
        ..OrderForm::of_given(given)
    }
}

impl OrderForm {
    fn of_given(g: &OrderForm) -> OrderForm {
        OrderForm {
            source: g.source.clone(),
            campaign: g.campaign.clone(),
            notes: g.notes.clone(),
            ..OrderForm::default()
        }
    }
}

/// The new-order form; `?customer_id=`, `?departure_id=`, `?quote_id=` or
/// `?opportunity_id=` fill it in.
#[utoipa::path(get, path = "/orders/new", tag = "pages", security(("keyuan" = ["sales.write"])), params(OrderForm),
    responses((status = 200, description = "new order form", content_type = "text/html")))]
async fn new_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<OrderForm>,
) -> Result<Response, AppError> {
    req.visibility(&state, Permission::SalesWrite).await?;
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let body = q.body(&mut errs, true);
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.orders").await;
    let f = match prefill(&state, &req, &body, today).await {
        Ok(p) => prefilled(&p.draft, &p.links, &q),
        Err(AppError::Invalid(e)) => {
            errs.0.extend(e.0);
            OrderForm { order_date: today.to_string(), ..OrderForm::default() }
        }
        Err(e) => return Err(e),
    };
    Ok(render(&form_page(shell, f, true, "/orders/new".into(), errs.0))?.into_response())
}

/// Creates the order and shows it; problems show the form again (422).
#[utoipa::path(post, path = "/orders/new", tag = "pages", security(("keyuan" = ["sales.write"])),
    responses((status = 303, description = "to the new order"), (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn new_post(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<OrderForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let body = f.body(&mut errs, true);
    let result = async {
        let pre = prefill(&state, &req, &body, today).await?;
        let draft = body.apply(pre.draft, &mut errs);
        std::mem::take(&mut errs).into_result()?;
        check_owner(&vis, &draft)?;
        check_customer(&state, &req, draft.customer_id).await?;
        let mut tx = state.store.begin().await?;
        let o = store::orders::create(&mut tx, &req.actor()?, &draft, &pre.links, &Origin::default()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(o)
    }
    .await;
    match result {
        Ok(o) => Ok(Redirect::to(&format!("/orders/{}", o.id.0)).into_response()),
        Err(AppError::Invalid(e)) => {
            let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.orders").await;
            let page = render(&form_page(shell, f, true, "/orders/new".into(), e.0))?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}

/// One receipt row on the order page.
struct ReceiptView {
    r: ReceiptRow,
    kind: &'static str,
    method: &'static str,
}

#[derive(Template)]
#[template(path = "orders_show.html")]
struct ShowPage {
    shell: Shell,
    o: Order,
    status: &'static str,
    product_type: &'static str,
    travellers: Vec<Traveller>,
    charges: Vec<(ChargeRow, &'static str)>,
    spend: Vec<(&'static str, Money)>,
    spend_total: Option<Money>,
    balance: Option<Balance>,
    receipts: Vec<ReceiptView>,
    moves: Vec<(&'static str, &'static str)>,
    outlets: Vec<Opt>,
    methods: Vec<Opt>,
    can_write: bool,
    can_receive: bool,
    today: String,
}

/// An order with its travellers, charges, receivable and receipts.
#[utoipa::path(get, path = "/orders/{id}", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the order", content_type = "text/html"), (status = 404, description = "not found")))]
async fn show_page(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let lang = req.lang;
    let zh = lang == Lang::Zh;
    let o = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let travellers = store::orders::travellers(&state.store, o.id).await?;
    let charges = store::orders::charges(&state.store, o.id).await?;
    let spend = store::orders::stay_spend(&o, &charges);
    let (balance, receipts) = match req.visibility(&state, Permission::FinanceRead).await {
        Ok(fvis) => {
            let b = match store::receipts::order_balance(&state.store, &fvis, o.id).await {
                Ok(b) => Some(b),
                Err(store::StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            let f = store::receipts::Filter { order_id: Some(o.id), limit: 200, ..Default::default() };
            let r = store::receipts::list(&state.store, &fvis, &f).await?.items;
            (b, r)
        }
        Err(AppError::Forbidden) => (None, Vec::new()),
        Err(e) => return Err(e),
    };
    let me = req.user()?;
    let today = today_in(company_tz(&state).await?);
    let page = ShowPage {
        status: status_label(o.status, lang),
        product_type: type_label(o.data.product_type, lang),
        travellers,
        charges: charges
            .into_iter()
            .map(|c| {
                let l = c.outlet.label(zh);
                (c, l)
            })
            .collect(),
        spend: spend.map(|s| s.by_outlet.iter().map(|(k, v)| (k.label(zh), *v)).collect()).unwrap_or_default(),
        spend_total: spend.map(|s| s.total),
        balance,
        receipts: receipts
            .into_iter()
            .map(|r| ReceiptView { kind: r.kind.label(zh), method: r.method.label(zh), r })
            .collect(),
        moves: o.status.next().iter().map(|s| (s.code(), status_label(*s, lang))).collect(),
        outlets: Outlet::ALL.iter().map(|x| Opt::new(x.code(), x.label(zh), "")).collect(),
        methods: domain::travel::finance::ReceiptMethod::ALL
            .iter()
            .map(|x| Opt::new(x.code(), x.label(zh), ""))
            .collect(),
        can_write: me.can(Permission::SalesWrite),
        can_receive: me.can(Permission::FinanceWrite),
        today: today.to_string(),
        shell: Shell::new(&state, req.principal.clone(), lang, "nav.orders").await,
        o,
    };
    Ok(render(&page)?.into_response())
}

/// The edit form.
#[utoipa::path(get, path = "/orders/{id}/edit", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "edit form", content_type = "text/html"), (status = 404, description = "not found")))]
async fn edit_page(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let o = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.orders").await;
    Ok(render(&form_page(shell, OrderForm::of(&o), false, format!("/orders/{id}/edit"), Vec::new()))?.into_response())
}

/// Saves the edit; a stale version or bad input shows the form again.
#[utoipa::path(post, path = "/orders/{id}/edit", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 303, description = "to the order"), (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn edit_post(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<OrderForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let current = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let mut errs = FieldErrors::new();
    let body = f.body(&mut errs, false);
    let version = body.version.unwrap_or(current.version);
    let mut base = current.data.clone();
    base.due_date = current.due_date;
    let draft = body.apply(base, &mut errs);
    let result = async {
        errs.into_result()?;
        let mut tx = state.store.begin().await?;
        let o = store::orders::update(&mut tx, &req.actor()?, &vis, current.id, version, &draft).await?;
        tx.commit().await?;
        Ok::<_, AppError>(o)
    }
    .await;
    match result {
        Ok(o) => Ok(Redirect::to(&format!("/orders/{}", o.id.0)).into_response()),
        Err(AppError::Invalid(e)) => {
            let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.orders").await;
            let page = render(&form_page(shell, f, false, format!("/orders/{id}/edit"), e.0))?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AppError::Stale { .. }) => {
            let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.orders").await;
            let msg = FieldError::new("version", "stale", shell.t("orders.stale"));
            let page = render(&form_page(shell, f, false, format!("/orders/{id}/edit"), vec![msg]))?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    version: i64,
}

/// Moves the order to another status.
#[utoipa::path(post, path = "/orders/{id}/status", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 303, description = "to the order")))]
async fn status_post(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<StatusForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let to = OrderStatus::parse("status", &f.status)?;
    let mut tx = state.store.begin().await?;
    store::orders::set_status(&mut tx, &req.actor()?, &vis, OrderId(id), f.version, to).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

#[derive(Deserialize)]
struct TravellerForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    id_card: String,
    #[serde(default)]
    is_child: Option<String>,
}

/// Adds a traveller: an existing customer by id, or a new individual
/// customer from name, mobile and ID card.
#[utoipa::path(post, path = "/orders/{id}/travellers", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 303, description = "to the order")))]
async fn traveller_post(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<TravellerForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let order = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let actor = req.actor()?;
    let new_customer = if f.customer_id.trim().is_empty() {
        let me = req.user()?;
        if !me.can(Permission::CustomersWrite) {
            return Err(AppError::field("customer_id", "required", "choose an existing customer"));
        }
        let input = crate::customers::input::Input {
            kind: "individual".into(),
            name: f.name.clone(),
            mobile: f.mobile.clone(),
            id_card: match f.id_card.trim() {
                "" => crate::customers::input::DocInput::Keep,
                v => crate::customers::input::DocInput::Set(v.to_string()),
            },
            ..Default::default()
        };
        Some(crate::customers::input::check(&state, me, &input, None, FieldErrors::new()).await?)
    } else {
        None
    };
    let customer = match &new_customer {
        Some(_) => None,
        None => {
            let c = f
                .customer_id
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::field("customer_id", "invalid", "customer_id must be a number"))?;
            check_customer(&state, &req, CustomerId(c)).await?;
            Some(CustomerId(c))
        }
    };
    let mut tx = state.store.begin().await?;
    let customer = match (customer, new_customer) {
        (Some(c), _) => c,
        (None, Some(checked)) => {
            store::customers::create(&mut tx, &state.store, &actor, &checked.draft, None).await?.id
        }
        (None, None) => return Err(AppError::field("customer_id", "required", "choose a customer")),
    };
    store::orders::add_traveller(&mut tx, &actor, &vis, order.id, customer, f.is_child.is_some(), None).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

#[derive(Deserialize)]
struct ChargeForm {
    outlet: String,
    description: String,
    amount: String,
    #[serde(default)]
    charged_on: String,
}

/// Posts a charge to a hotel stay.
#[utoipa::path(post, path = "/orders/{id}/charges", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 303, description = "to the order")))]
async fn charge_post(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<ChargeForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let mut errs = FieldErrors::new();
    let outlet = errs.check(Outlet::parse("outlet", &f.outlet));
    let amount = errs.check(Money::parse("amount", &f.amount));
    let today = today_in(company_tz(&state).await?);
    let on = if f.charged_on.trim().is_empty() {
        Some(today)
    } else {
        errs.check(
            f.charged_on
                .trim()
                .parse()
                .map_err(|_| FieldError::new("charged_on", "invalid_date", "charged_on must be a date")),
        )
    };
    errs.into_result()?;
    let (Some(outlet), Some(amount), Some(charged_on)) = (outlet, amount, on) else {
        return Err(AppError::BadRequest("incomplete charge".into()));
    };
    let c = store::orders::ChargeDraft { outlet, description: f.description, amount, charged_on };
    let mut tx = state.store.begin().await?;
    store::orders::add_charge(&mut tx, &req.actor()?, &vis, OrderId(id), &c).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}
