//! `/api/v1/orders`: list, create (directly, on a departure, from a quote or
//! an opportunity), read, change with `version`, status, travellers, charges.

use crate::ctx::Req;
use crate::customers::input::{check, DocInput, Input};
use crate::customers::{company_tz, today_in};
use crate::error::AppError;
use crate::json::{next_cursor, rfc3339, ApiJson, ApiQuery, PageQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use domain::access::{Permission, Scope};
use domain::customer::SourceChannel;
use domain::ids::{CustomerId, DepartureId, OpportunityId, OrderId, QuoteId, UserId};
use domain::money::Money;
use domain::travel::finance::Balance;
use domain::travel::hotel::Outlet;
use domain::travel::order::OrderStatus;
use domain::travel::product::ProductType;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::orders::{ChargeRow, Draft, Links, Order, Origin, Traveller};
use store::visibility::Visibility;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch))
        .routes(routes!(api_status))
        .routes(routes!(api_travellers, api_add_traveller))
        .routes(routes!(api_charges, api_add_charge))
}

/// An order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OrderOut {
    id: i64,
    /// `D2026-000123`.
    order_no: String,
    customer_id: i64,
    customer_name: String,
    customer_code: String,
    /// `nearby`, `long_haul`, `day_trip`, `international`, `custom`, `hotel_stay`, `ticket`.
    product_type: String,
    destination: Option<String>,
    order_date: String,
    /// For a hotel stay: check-in.
    travel_date: Option<String>,
    /// For a hotel stay: check-out.
    return_date: Option<String>,
    adults: i64,
    children: i64,
    /// CNY, `"1280.00"`.
    #[schema(value_type = String)]
    amount: Money,
    #[schema(value_type = String)]
    cost: Money,
    due_date: Option<String>,
    /// `pending`, `confirmed`, `travelling`, `completed`, `cancelled`, `refunded`.
    status: String,
    /// Source channel code.
    source: Option<String>,
    campaign: Option<String>,
    owner_id: i64,
    team_id: Option<i64>,
    departure_id: Option<i64>,
    product_id: Option<i64>,
    quote_id: Option<i64>,
    quote_version: Option<i64>,
    opportunity_id: Option<i64>,
    room_type: Option<String>,
    room_number: Option<String>,
    #[schema(value_type = Option<String>)]
    nightly_rate: Option<Money>,
    notes: Option<String>,
    imported: bool,
    created_at: String,
    updated_at: String,
    /// Send back when changing the order.
    version: i64,
}

impl OrderOut {
    pub(crate) fn of(o: Order) -> OrderOut {
        let d = o.data;
        OrderOut {
            id: o.id.0,
            order_no: o.order_no,
            customer_id: d.customer_id.0,
            customer_name: o.customer_name,
            customer_code: o.customer_code,
            product_type: d.product_type.code().into(),
            destination: d.destination,
            order_date: d.order_date.to_string(),
            travel_date: d.travel_date.map(|x| x.to_string()),
            return_date: d.return_date.map(|x| x.to_string()),
            adults: d.adults,
            children: d.children,
            amount: d.amount,
            cost: d.cost,
            due_date: o.due_date.map(|x| x.to_string()),
            status: o.status.code().into(),
            source: d.source.map(|s| s.code().into()),
            campaign: d.campaign,
            owner_id: d.owner_id.0,
            team_id: o.team_id.map(|t| t.0),
            departure_id: o.links.departure_id.map(|x| x.0),
            product_id: o.links.product_id.map(|x| x.0),
            quote_id: o.links.quote_id.map(|x| x.0),
            quote_version: o.quote_version,
            opportunity_id: o.links.opportunity_id.map(|x| x.0),
            room_type: d.room_type,
            room_number: d.room_number,
            nightly_rate: d.nightly_rate,
            notes: d.notes,
            imported: o.imported,
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
            version: o.version,
        }
    }
}

/// An order's money position.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct BalanceOut {
    /// What is owed (nothing once cancelled).
    #[schema(value_type = String)]
    due: Money,
    #[schema(value_type = String)]
    received: Money,
    #[schema(value_type = String)]
    refunded: Money,
    /// Still to pay.
    #[schema(value_type = String)]
    balance: Money,
    /// Paid beyond what is owed.
    #[schema(value_type = String)]
    overpayment: Money,
}

impl From<Balance> for BalanceOut {
    fn from(b: Balance) -> Self {
        BalanceOut {
            due: b.due,
            received: b.received,
            refunded: b.refunded,
            balance: b.balance,
            overpayment: b.overpayment,
        }
    }
}

/// A traveller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TravellerOut {
    id: i64,
    customer_id: i64,
    name: String,
    code: String,
    mobile: Option<String>,
    id_card_masked: Option<String>,
    is_child: bool,
    room: Option<String>,
}

fn traveller_out(t: Traveller) -> TravellerOut {
    TravellerOut {
        id: t.id,
        customer_id: t.customer_id.0,
        name: t.name,
        code: t.code,
        mobile: t.mobile,
        id_card_masked: t.id_card_masked,
        is_child: t.is_child,
        room: t.room,
    }
}

/// A hotel-stay charge.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ChargeOut {
    id: i64,
    /// `room`, `fnb`, `spa`, `other`.
    outlet: String,
    description: String,
    #[schema(value_type = String)]
    amount: Money,
    charged_on: String,
}

fn charge_out(c: ChargeRow) -> ChargeOut {
    ChargeOut {
        id: c.id.0,
        outlet: c.outlet.code().into(),
        description: c.description,
        amount: c.amount,
        charged_on: c.charged_on,
    }
}

/// A stay's spend by outlet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SpendOut {
    nights: i64,
    /// Outlet code → amount (`room` includes the nights).
    #[schema(value_type = Object)]
    by_outlet: std::collections::BTreeMap<String, Money>,
    #[schema(value_type = String)]
    total: Money,
}

/// An order with its travellers, charges, stay spend and balance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OrderDetail {
    #[serde(flatten)]
    order: OrderOut,
    travellers: Vec<TravellerOut>,
    charges: Vec<ChargeOut>,
    spend: Option<SpendOut>,
    /// Present when you may read finance for this order.
    balance: Option<BalanceOut>,
}

/// A page of orders.
#[derive(Serialize, utoipa::ToSchema)]
struct OrderList {
    items: Vec<OrderOut>,
    next: Option<String>,
}

/// List filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Order number, customer name or code.
    q: Option<String>,
    /// Status code.
    status: Option<String>,
    #[param(value_type = Option<i64>)]
    owner_id: Option<String>,
    /// `YYYY-MM` (order date).
    month: Option<String>,
    product_type: Option<String>,
    #[param(value_type = Option<i64>)]
    customer_id: Option<String>,
    #[param(value_type = Option<i64>)]
    departure_id: Option<String>,
    limit: Option<i64>,
    before: Option<String>,
}

fn opt_text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_id(errs: &mut FieldErrors, field: &str, v: &Option<String>) -> Option<i64> {
    let s = opt_text(v)?;
    match s.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errs.push(FieldError::new(field, "invalid", format!("{field} must be a number")));
            None
        }
    }
}

impl ListQuery {
    fn to_filter(&self) -> Result<store::orders::Filter, AppError> {
        let mut errs = FieldErrors::new();
        let page = PageQuery { limit: self.limit, before: self.before.clone() };
        let status = opt_text(&self.status).and_then(|s| errs.check(OrderStatus::parse("status", s)));
        let product_type = opt_text(&self.product_type).and_then(|s| errs.check(ProductType::parse("product_type", s)));
        let month = opt_text(&self.month).map(str::to_string);
        if let Some(m) = &month {
            if NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err() {
                errs.push(FieldError::new("month", "invalid", "month must be YYYY-MM"));
            }
        }
        let f = store::orders::Filter {
            q: opt_text(&self.q).map(str::to_string),
            status,
            owner_id: parse_id(&mut errs, "owner_id", &self.owner_id).map(UserId),
            month,
            product_type,
            customer_id: parse_id(&mut errs, "customer_id", &self.customer_id).map(CustomerId),
            departure_id: parse_id(&mut errs, "departure_id", &self.departure_id).map(DepartureId),
            before: page.before()?,
            limit: page.limit()?,
        };
        errs.into_result()?;
        Ok(f)
    }
}

/// Lists the orders you may see, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("keyuan" = ["sales.read"])),
    params(ListQuery),
    responses((status = 200, body = OrderList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<OrderList>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let f = q.to_filter()?;
    let page = store::orders::list(&state.store, &vis, &f).await?;
    Ok(Json(OrderList { items: page.items.into_iter().map(OrderOut::of).collect(), next: next_cursor(page.next) }))
}

/// An order's fields. On `POST`, `customer_id` and `product_type` are
/// required unless a departure, quote or opportunity gives them; amounts are
/// CNY strings; dates ISO. On `PATCH`, send any subset with `version`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderBody {
    pub(super) customer_id: Option<i64>,
    pub(super) product_type: Option<String>,
    pub(super) destination: Option<String>,
    /// Default: today.
    pub(super) order_date: Option<String>,
    pub(super) travel_date: Option<String>,
    pub(super) return_date: Option<String>,
    pub(super) adults: Option<i64>,
    pub(super) children: Option<i64>,
    /// Default on a departure: its prices × the party; from a quote: its total.
    pub(super) amount: Option<String>,
    pub(super) cost: Option<String>,
    /// Default: the travel date, else the order date + 7 days.
    pub(super) due_date: Option<String>,
    pub(super) source: Option<String>,
    pub(super) campaign: Option<String>,
    /// Default: you; another person needs a team or company-wide `sales.write`.
    pub(super) owner_id: Option<i64>,
    pub(super) notes: Option<String>,
    pub(super) room_type: Option<String>,
    pub(super) room_number: Option<String>,
    pub(super) nightly_rate: Option<String>,
    /// `POST` only: book on this departure (takes adults + children seats).
    pub(super) departure_id: Option<i64>,
    /// `POST` only: from this sent or accepted quote (marked accepted).
    pub(super) quote_id: Option<i64>,
    /// `POST` only: from this opportunity (marked won).
    pub(super) opportunity_id: Option<i64>,
    /// `PATCH` only.
    pub(super) version: Option<i64>,
}

fn text(v: Option<String>, keep: Option<String>) -> Option<String> {
    match v {
        None => keep,
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(s.trim().to_string()),
    }
}

fn date(errs: &mut FieldErrors, field: &str, v: Option<String>, keep: Option<NaiveDate>) -> Option<NaiveDate> {
    match v {
        None => keep,
        Some(s) if s.trim().is_empty() => None,
        Some(s) => match s.trim().parse::<NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                errs.push(FieldError::new(field, "invalid_date", format!("{field} must be a date YYYY-MM-DD")));
                None
            }
        },
    }
}

fn money(errs: &mut FieldErrors, field: &str, v: Option<String>) -> Option<Option<Money>> {
    match v {
        None => None,
        Some(s) if s.trim().is_empty() => Some(None),
        Some(s) => errs.check(Money::parse(field, s.trim())).map(Some),
    }
}

/// The base a `POST` starts from: what a departure, quote or opportunity gives.
pub(super) struct Prefill {
    pub(super) draft: Draft,
    pub(super) links: Links,
}

pub(super) async fn prefill(state: &AppState, req: &Req, b: &OrderBody, today: NaiveDate) -> Result<Prefill, AppError> {
    let me = req.user()?;
    let mut d = Draft {
        customer_id: CustomerId(b.customer_id.unwrap_or(0)),
        product_type: ProductType::Custom,
        destination: None,
        order_date: today,
        travel_date: None,
        return_date: None,
        adults: 1,
        children: 0,
        amount: Money::ZERO,
        cost: Money::ZERO,
        due_date: None,
        source: None,
        campaign: None,
        owner_id: me.user.id,
        notes: None,
        room_type: None,
        room_number: None,
        nightly_rate: None,
    };
    let mut links = Links::default();
    let mut errs = FieldErrors::new();
    if let Some(o) = b.opportunity_id {
        match store::orders::opportunity_terms(&state.store, OpportunityId(o)).await {
            Ok(t) => {
                d.customer_id = t.customer_id;
                if let Some(pt) = t.product_type.as_deref().and_then(ProductType::from_code) {
                    d.product_type = pt;
                }
                d.destination = t.destination;
                d.adults = t.adults;
                d.children = t.children;
                d.amount = t.expected_value;
                links.product_id = t.product_id;
                links.opportunity_id = Some(OpportunityId(o));
            }
            Err(store::StoreError::NotFound) => {
                errs.push(FieldError::new("opportunity_id", "not_found", "no such opportunity"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(q) = b.quote_id {
        match store::orders::quote_terms(&state.store, QuoteId(q)).await {
            Ok(t) => {
                d.customer_id = t.customer_id;
                d.adults = t.adults;
                d.children = t.children;
                d.amount = t.amount;
                if d.destination.is_none() {
                    d.destination = Some(t.title);
                }
                links.quote_id = Some(QuoteId(q));
                links.opportunity_id = links.opportunity_id.or(t.opportunity_id);
            }
            Err(store::StoreError::NotFound) => errs.push(FieldError::new("quote_id", "not_found", "no such quote")),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(dep) = b.departure_id {
        match store::orders::departure_terms(&state.store, DepartureId(dep)).await {
            Ok(t) => {
                if let Some(pt) = ProductType::from_code(&t.product_type) {
                    d.product_type = pt;
                }
                d.destination = t.destination.or(d.destination);
                d.travel_date = Some(t.departure_date);
                d.return_date = Some(t.return_date);
                links.departure_id = Some(DepartureId(dep));
                links.product_id = Some(t.product_id);
                let adults = b.adults.unwrap_or(d.adults);
                let children = b.children.unwrap_or(d.children);
                // A quote's price is what was agreed; the departure's list
                // prices price an order made without one.
                if links.quote_id.is_none() && adults >= 0 && children >= 0 {
                    d.amount = t
                        .adult_price
                        .checked_mul(adults)
                        .zip(t.child_price.checked_mul(children))
                        .and_then(|(a, c)| a.checked_add(c))
                        .unwrap_or(Money::ZERO);
                }
            }
            Err(store::StoreError::NotFound) => {
                errs.push(FieldError::new("departure_id", "not_found", "no such departure"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    errs.into_result()?;
    Ok(Prefill { draft: d, links })
}

impl OrderBody {
    /// Applies the body onto `base`; problems go to `errs`.
    pub(super) fn apply(self, mut d: Draft, errs: &mut FieldErrors) -> Draft {
        if let Some(c) = self.customer_id {
            d.customer_id = CustomerId(c);
        }
        if let Some(pt) = opt_text(&self.product_type) {
            if let Some(pt) = errs.check(ProductType::parse("product_type", pt)) {
                d.product_type = pt;
            }
        }
        d.destination = text(self.destination, d.destination);
        if let Some(od) = date(errs, "order_date", self.order_date, Some(d.order_date)) {
            d.order_date = od;
        } else {
            errs.push(FieldError::required("order_date"));
        }
        d.travel_date = date(errs, "travel_date", self.travel_date, d.travel_date);
        d.return_date = date(errs, "return_date", self.return_date, d.return_date);
        d.due_date = date(errs, "due_date", self.due_date, d.due_date);
        if let Some(a) = self.adults {
            d.adults = a;
        }
        if let Some(c) = self.children {
            d.children = c;
        }
        match money(errs, "amount", self.amount) {
            Some(Some(m)) => d.amount = m,
            Some(None) => errs.push(FieldError::required("amount")),
            None => {}
        }
        if let Some(m) = money(errs, "cost", self.cost) {
            d.cost = m.unwrap_or(Money::ZERO);
        }
        if let Some(m) = money(errs, "nightly_rate", self.nightly_rate) {
            d.nightly_rate = m;
        }
        match self.source {
            None => {}
            Some(s) if s.trim().is_empty() => d.source = None,
            Some(s) => {
                if let Some(s) = errs.check(SourceChannel::parse("source", s.trim())) {
                    d.source = Some(s);
                }
            }
        }
        d.campaign = text(self.campaign, d.campaign);
        d.notes = text(self.notes, d.notes);
        d.room_type = text(self.room_type, d.room_type);
        d.room_number = text(self.room_number, d.room_number);
        if let Some(o) = self.owner_id {
            d.owner_id = UserId(o);
        }
        d
    }
}

/// A salesperson with only their own records makes orders for themselves.
pub(super) fn check_owner(vis: &Visibility, d: &Draft) -> Result<(), AppError> {
    if vis.scope == Scope::Own && d.owner_id != vis.user_id {
        return Err(AppError::field(
            "owner_id",
            "not_allowed",
            "you may only make orders you own; ask a manager to assign another salesperson",
        ));
    }
    Ok(())
}

/// The customer must be one you may see.
pub(super) async fn check_customer(state: &AppState, req: &Req, id: CustomerId) -> Result<(), AppError> {
    if id.0 == 0 {
        return Err(AppError::field("customer_id", "required", "customer_id is required"));
    }
    let vis = req.visibility(state, Permission::CustomersRead).await?;
    match store::customers::get(&state.store, &vis, id).await {
        Ok(_) => Ok(()),
        Err(store::StoreError::NotFound) => Err(AppError::field("customer_id", "not_found", "no such customer")),
        Err(e) => Err(e.into()),
    }
}

/// Creates an order. With `departure_id` its seats are booked (422 on
/// `travellers` when too few are left); with `quote_id` the quote becomes
/// accepted; with `opportunity_id` (or the quote's) the opportunity is won.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("keyuan" = ["sales.write"])),
    request_body = OrderBody,
    responses((status = 201, body = OrderOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<OrderBody>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    if b.version.is_some() {
        errs.push(FieldError::new("version", "unknown_field", "version applies to changes only"));
    }
    let pre = prefill(&state, &req, &b, today).await?;
    let draft = b.apply(pre.draft, &mut errs);
    errs.into_result()?;
    check_owner(&vis, &draft)?;
    check_customer(&state, &req, draft.customer_id).await?;
    let mut tx = state.store.begin().await?;
    let o = store::orders::create(&mut tx, &req.actor()?, &draft, &pre.links, &Origin::default()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(OrderOut::of(o))).into_response())
}

/// Reads one order with its travellers, charges, stay spend and balance.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = OrderDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Json<OrderDetail>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let o = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let travellers = store::orders::travellers(&state.store, o.id).await?;
    let charges = store::orders::charges(&state.store, o.id).await?;
    let spend = store::orders::stay_spend(&o, &charges).map(|s| SpendOut {
        nights: o.data.travel_date.zip(o.data.return_date).map(|(a, b)| (b - a).num_days()).unwrap_or(0),
        by_outlet: s.by_outlet.iter().map(|(k, v)| (k.code().to_string(), *v)).collect(),
        total: s.total,
    });
    let balance = match req.visibility(&state, Permission::FinanceRead).await {
        Ok(fvis) => match store::receipts::order_balance(&state.store, &fvis, o.id).await {
            Ok(b) => Some(b.into()),
            Err(store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(AppError::Forbidden) => None,
        Err(e) => return Err(e),
    };
    Ok(Json(OrderDetail {
        order: OrderOut::of(o),
        travellers: travellers.into_iter().map(traveller_out).collect(),
        charges: charges.into_iter().map(charge_out).collect(),
        spend,
        balance,
    }))
}

/// Changes an order; a stale `version` is 409 and changes nothing.
#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "orders", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")), request_body = OrderBody,
    responses((status = 200, body = OrderOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<OrderBody>,
) -> Result<Json<OrderOut>, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let current = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let Some(version) = b.version else {
        return Err(AppError::field("version", "required", "version is required: send the version you read"));
    };
    let mut errs = FieldErrors::new();
    for (field, given) in [
        ("departure_id", b.departure_id.is_some()),
        ("quote_id", b.quote_id.is_some()),
        ("opportunity_id", b.opportunity_id.is_some()),
    ] {
        if given {
            errs.push(FieldError::new(field, "fixed", format!("{field} is set when the order is made")));
        }
    }
    let mut base = current.data.clone();
    base.due_date = current.due_date;
    let draft = b.apply(base, &mut errs);
    errs.into_result()?;
    if draft.owner_id != current.data.owner_id {
        check_owner(&vis, &draft)?;
    }
    let mut tx = state.store.begin().await?;
    let o = store::orders::update(&mut tx, &req.actor()?, &vis, current.id, version, &draft).await?;
    tx.commit().await?;
    Ok(Json(OrderOut::of(o)))
}

/// A status change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    /// `confirmed`, `travelling`, `completed`, `cancelled`, `refunded`.
    status: String,
    version: i64,
}

/// Moves an order along its statuses (pending → confirmed | cancelled;
/// confirmed → travelling | completed | cancelled; travelling → completed;
/// cancelled → refunded). Cancelling gives a departure's seats back.
#[utoipa::path(post, path = "/api/v1/orders/{id}/status", tag = "orders", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")), request_body = StatusBody,
    responses((status = 200, body = OrderOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_status(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<StatusBody>,
) -> Result<Json<OrderOut>, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let to = OrderStatus::parse("status", b.status.trim())?;
    let mut tx = state.store.begin().await?;
    let o = store::orders::set_status(&mut tx, &req.actor()?, &vis, OrderId(id), b.version, to).await?;
    tx.commit().await?;
    Ok(Json(OrderOut::of(o)))
}

/// The travellers of an order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/travellers", tag = "orders", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = Vec<TravellerOut>), (status = 404, body = crate::error::ErrorBody)))]
async fn api_travellers(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<Vec<TravellerOut>>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let o = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let t = store::orders::travellers(&state.store, o.id).await?;
    Ok(Json(t.into_iter().map(traveller_out).collect()))
}

/// A traveller: an existing customer (`customer_id`), or a new individual
/// customer from `name`, `mobile` and optional `id_card`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TravellerBody {
    customer_id: Option<i64>,
    name: Option<String>,
    mobile: Option<String>,
    id_card: Option<String>,
    #[serde(default)]
    is_child: bool,
    room: Option<String>,
}

/// Adds a traveller (at most adults + children of them).
#[utoipa::path(post, path = "/api/v1/orders/{id}/travellers", tag = "orders", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")), request_body = TravellerBody,
    responses((status = 201, body = Vec<TravellerOut>), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn api_add_traveller(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TravellerBody>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let order = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let actor = req.actor()?;
    let new_customer = match b.customer_id {
        Some(c) => {
            check_customer(&state, &req, CustomerId(c)).await?;
            None
        }
        None => {
            let me = req.user()?;
            if !me.can(Permission::CustomersWrite) {
                return Err(AppError::field(
                    "customer_id",
                    "required",
                    "choose an existing customer (creating one needs customers.write)",
                ));
            }
            let input = Input {
                kind: "individual".into(),
                name: b.name.clone().unwrap_or_default(),
                mobile: b.mobile.clone().unwrap_or_default(),
                id_card: match b.id_card.as_deref().map(str::trim) {
                    Some(s) if !s.is_empty() => DocInput::Set(s.to_string()),
                    _ => DocInput::Keep,
                },
                ..Input::default()
            };
            Some(check(&state, me, &input, None, FieldErrors::new()).await?)
        }
    };
    let mut tx = state.store.begin().await?;
    let customer = match new_customer {
        Some(checked) => store::customers::create(&mut tx, &state.store, &actor, &checked.draft, None).await?.id,
        None => CustomerId(b.customer_id.unwrap_or(0)),
    };
    store::orders::add_traveller(&mut tx, &actor, &vis, order.id, customer, b.is_child, b.room.as_deref()).await?;
    tx.commit().await?;
    let t = store::orders::travellers(&state.store, order.id).await?;
    Ok((StatusCode::CREATED, Json(t.into_iter().map(traveller_out).collect::<Vec<_>>())).into_response())
}

/// The charges of a hotel-stay order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/charges", tag = "orders", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = Vec<ChargeOut>), (status = 404, body = crate::error::ErrorBody)))]
async fn api_charges(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ChargeOut>>, AppError> {
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let o = store::orders::get(&state.store, &vis, OrderId(id)).await?;
    let c = store::orders::charges(&state.store, o.id).await?;
    Ok(Json(c.into_iter().map(charge_out).collect()))
}

/// A charge by outlet.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChargeBody {
    /// `room`, `fnb`, `spa`, `other`.
    outlet: String,
    description: String,
    amount: String,
    /// Default: today.
    charged_on: Option<String>,
}

/// Posts a charge to a hotel-stay order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/charges", tag = "orders", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "order id")), request_body = ChargeBody,
    responses((status = 201, body = Vec<ChargeOut>), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn api_add_charge(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ChargeBody>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::SalesWrite).await?;
    let mut errs = FieldErrors::new();
    let outlet = errs.check(Outlet::parse("outlet", b.outlet.trim()));
    let amount = errs.check(Money::parse("amount", b.amount.trim()));
    if amount.is_some_and(Money::is_negative) {
        errs.push(FieldError::new("amount", "negative", "amount must not be negative"));
    }
    if b.description.trim().is_empty() {
        errs.push(FieldError::required("description"));
    }
    let today = today_in(company_tz(&state).await?);
    let on = date(&mut errs, "charged_on", b.charged_on, Some(today)).unwrap_or(today);
    errs.into_result()?;
    let (Some(outlet), Some(amount)) = (outlet, amount) else {
        return Err(AppError::BadRequest("unreachable".into()));
    };
    let mut tx = state.store.begin().await?;
    let c = store::orders::ChargeDraft { outlet, description: b.description, amount, charged_on: on };
    store::orders::add_charge(&mut tx, &req.actor()?, &vis, OrderId(id), &c).await?;
    tx.commit().await?;
    let c = store::orders::charges(&state.store, OrderId(id)).await?;
    Ok((StatusCode::CREATED, Json(c.into_iter().map(charge_out).collect::<Vec<_>>())).into_response())
}
