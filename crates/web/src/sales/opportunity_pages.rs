//! The opportunity pages: the list with filters and search, the pipeline
//! board (drag a card with `board.js`, or choose a stage on the card without
//! scripts), the form, and the detail page with its quotes.

use super::input::OppInput;
use super::opportunity_api::{self, ListQuery};
use super::{is_manager, stage_label, status_label, today, Errors};
use crate::admin::Opt;
use crate::ctx::Req;
use crate::customers::Names;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiQuery, PageForm};
use crate::page::{render, see_other, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::access::{Permission, Scope};
use domain::customer::SourceChannel;
use domain::ids::{CustomerId, OpportunityId};
use domain::money::Money;
use domain::travel::opportunity::OpportunityStage;
use domain::travel::product::ProductType;
use serde::Deserialize;
use std::collections::BTreeMap;
use store::opportunities::Opportunity;
use store::visibility::Visibility;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_page, create_submit))
        .routes(routes!(board_page))
        .routes(routes!(new_page))
        .routes(routes!(show_page, edit_submit))
        .routes(routes!(edit_page))
        .routes(routes!(stage_submit))
}

/// One row of the list or card of the board.
pub(crate) struct Row {
    pub o: Opportunity,
    pub stage: &'static str,
    pub owner: String,
    pub value: String,
    /// Stage choices for the card's form (without scripts).
    pub moves: Vec<Opt>,
}

async fn rows(state: &AppState, lang: Lang, list: Vec<Opportunity>) -> Result<Vec<Row>, AppError> {
    let mut names = Names::default();
    let mut out = Vec::with_capacity(list.len());
    for o in list {
        let owner = names.of(state, o.owner_id).await?;
        let moves =
            OpportunityStage::ALL.iter().map(|s| Opt::new(s.code(), stage_label(*s, lang), o.stage.code())).collect();
        out.push(Row { stage: stage_label(o.stage, lang), owner, value: o.expected_value.to_string(), moves, o });
    }
    Ok(out)
}

async fn owner_options(
    state: &AppState,
    vis: &Visibility,
    current: &str,
    empty: Option<&str>,
) -> Result<Vec<Opt>, AppError> {
    let all = store::users::all_active(&state.store).await?;
    let mut out = Vec::new();
    if let Some(e) = empty {
        out.push(Opt::new("", e, current));
    }
    out.extend(
        all.into_iter()
            .filter(|u| match vis.scope {
                Scope::All => true,
                Scope::Team => u.id == vis.user_id || u.team_id.is_some_and(|t| vis.teams.contains(&t)),
                Scope::Own => u.id == vis.user_id,
            })
            .map(|u| Opt::new(u.id, u.display_name, current)),
    );
    Ok(out)
}

#[derive(Template)]
#[template(path = "sales_opportunities.html")]
struct ListPage {
    shell: Shell,
    q: String,
    close_month: String,
    stages: Vec<Opt>,
    owners: Vec<Opt>,
    rows: Vec<Row>,
    total: String,
    next: Option<String>,
    can_write: bool,
}

/// The opportunities the person may see, with filters by stage, owner and
/// expected close month, and search by customer name or title.
#[utoipa::path(get, path = "/opportunities", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(ListQuery),
    responses((status = 200, description = "the list", content_type = "text/html")))]
async fn list_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Html<String>, AppError> {
    let f = q.filter(50)?;
    let vis = req.visibility(&state, Permission::SalesRead).await?;
    let page = store::opportunities::list(&state.store, &vis, &f).await?;
    let lang = req.lang;
    let stage_now = q.stage.clone().unwrap_or_default();
    let mut stages =
        vec![Opt::new("", lang.t("common.all"), &stage_now), Opt::new("open", lang.t("sales.all_open"), &stage_now)];
    stages.extend(OpportunityStage::ALL.iter().map(|s| Opt::new(s.code(), stage_label(*s, lang), &stage_now)));
    let owners = owner_options(&state, &vis, q.owner.as_deref().unwrap_or(""), Some(lang.t("common.all"))).await?;
    let total = Money::checked_sum(page.items.iter().map(|o| o.expected_value)).unwrap_or_default().to_string();
    let mut next_q = vec![];
    for (k, v) in [("q", &q.q), ("stage", &q.stage), ("owner", &q.owner), ("close_month", &q.close_month)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            next_q.push(format!("{k}={}", urlencode(v)));
        }
    }
    let next = page.next.map(|n| {
        next_q.push(format!("before={n}"));
        format!("/opportunities?{}", next_q.join("&"))
    });
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&ListPage {
        can_write: shell.can("sales.write"),
        shell,
        q: q.q.clone().unwrap_or_default(),
        close_month: q.close_month.clone().unwrap_or_default(),
        stages,
        owners,
        rows: rows(&state, lang, page.items).await?,
        total,
        next,
    })
}

pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A column of the board.
struct Column {
    code: &'static str,
    label: &'static str,
    total: String,
    cards: Vec<Row>,
}

#[derive(Template)]
#[template(path = "sales_board.html")]
struct BoardPage {
    shell: Shell,
    columns: Vec<Column>,
    error: Option<String>,
    can_write: bool,
}

async fn board(state: &AppState, req: &Req, error: Option<String>) -> Result<Html<String>, AppError> {
    let vis = req.visibility(state, Permission::SalesRead).await?;
    let f = store::opportunities::Filter { limit: 1000, ..Default::default() };
    let all = store::opportunities::list(&state.store, &vis, &f).await?.items;
    let lang = req.lang;
    let mut cards = rows(state, lang, all).await?;
    let mut columns = Vec::new();
    for s in OpportunityStage::ALL {
        let mine: Vec<Row> = {
            let (these, rest): (Vec<Row>, Vec<Row>) = cards.into_iter().partition(|r| r.o.stage == s);
            cards = rest;
            these
        };
        let total = Money::checked_sum(mine.iter().map(|r| r.o.expected_value)).unwrap_or_default().to_string();
        columns.push(Column { code: s.code(), label: stage_label(s, lang), total, cards: mine });
    }
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&BoardPage { can_write: shell.can("sales.write"), shell, columns, error })
}

/// The pipeline board: one column per stage, cards with customer, title
/// and expected value.
#[utoipa::path(get, path = "/opportunities/board", tag = "pages", security(("keyuan" = ["sales.read"])),
    responses((status = 200, description = "the board", content_type = "text/html")))]
async fn board_page(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    board(&state, &req, None).await
}

#[derive(Template)]
#[template(path = "sales_opportunity_form.html")]
struct FormPage {
    shell: Shell,
    title: &'static str,
    action: String,
    cancel: String,
    version: Option<i64>,
    v: OppInput,
    customer_name: Option<String>,
    product_types: Vec<Opt>,
    sources: Vec<Opt>,
    owners: Vec<Opt>,
    errors: Errors,
}

impl FormPage {
    fn bad(&self, field: &str) -> bool {
        self.errors.has(field)
    }
}

async fn form(
    state: &AppState,
    req: &Req,
    current: Option<&Opportunity>,
    v: OppInput,
    errors: Errors,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let zh = lang == Lang::Zh;
    let mut product_types = vec![Opt::new("", "—", &v.product_type)];
    product_types.extend(ProductType::ALL.iter().map(|p| Opt::new(p.code(), p.label(zh), &v.product_type)));
    let mut sources = vec![Opt::new("", "—", &v.source)];
    sources.extend(SourceChannel::ALL.iter().map(|s| Opt::new(s.code(), s.label(zh), &v.source)));
    let me = req.user()?;
    let owners = if is_manager(req) {
        let vis = req.visibility(state, Permission::SalesWrite).await?;
        owner_options(state, &vis, &v.owner_id, None).await?
    } else {
        let mut o = vec![Opt::new(me.user.id, me.user.display_name.clone(), &v.owner_id)];
        if let Some(c) = current.filter(|c| c.owner_id != me.user.id) {
            let name = Names::default().of(state, c.owner_id).await?;
            o.push(Opt::new(c.owner_id, name, &v.owner_id));
        }
        o
    };
    let customer_name = match current {
        Some(c) => Some(c.customer_name.clone()),
        None => match v.customer_id.trim().parse::<i64>() {
            Ok(id) => {
                let vis = req.visibility(state, Permission::CustomersRead).await?;
                match store::customers::get(&state.store, &vis, CustomerId(id)).await {
                    Ok(c) => Some(c.data.name),
                    Err(store::StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(_) => None,
        },
    };
    let (title, action, cancel) = match current {
        None => ("sales.new_opportunity", "/opportunities".to_string(), "/opportunities".to_string()),
        Some(c) => ("sales.edit_opportunity", format!("/opportunities/{}", c.id), format!("/opportunities/{}", c.id)),
    };
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&FormPage {
        shell,
        title,
        action,
        cancel,
        version: current.map(|c| c.version),
        v,
        customer_name,
        product_types,
        sources,
        owners,
        errors,
    })
}

/// For whom a new opportunity is.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NewQuery {
    customer_id: Option<String>,
}

/// The form for a new opportunity (for `customer_id` if given).
#[utoipa::path(get, path = "/opportunities/new", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(NewQuery),
    responses((status = 200, description = "the form", content_type = "text/html")))]
async fn new_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<NewQuery>,
) -> Result<Html<String>, AppError> {
    let me = req.user()?;
    let today = today(&state).await?;
    let v = OppInput {
        customer_id: q.customer_id.unwrap_or_default(),
        adults: "2".into(),
        children: "0".into(),
        close_date: (today + chrono::Days::new(30)).to_string(),
        owner_id: me.user.id.to_string(),
        ..Default::default()
    };
    form(&state, &req, None, v, Errors::default()).await
}

fn values(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

/// Creates an opportunity from the form.
#[utoipa::path(post, path = "/opportunities", tag = "pages", security(("keyuan" = ["sales.write"])),
    request_body(content = String, description = "the form's fields", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "created"), (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let v = OppInput::from_form(&values(pairs));
    match opportunity_api::create(&state, &req, &v).await {
        Ok(o) => Ok(see_other(&format!("/opportunities/{}?saved=1", o.id))),
        Err(e) => {
            let (status, errors) = Errors::from_error(e, req.lang)?;
            Ok((status, form(&state, &req, None, v, errors).await?).into_response())
        }
    }
}

async fn writable(state: &AppState, req: &Req, id: i64) -> Result<Opportunity, AppError> {
    let vis = req.visibility(state, Permission::SalesWrite).await?;
    Ok(store::opportunities::get(&state.store, &vis, OpportunityId(id)).await?)
}

/// The form to change an opportunity.
#[utoipa::path(get, path = "/opportunities/{id}/edit", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "opportunity id")),
    responses((status = 200, description = "the form", content_type = "text/html"), (status = 404, description = "no such opportunity")))]
async fn edit_page(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Html<String>, AppError> {
    let o = writable(&state, &req, id).await?;
    let v = OppInput::of(&o);
    form(&state, &req, Some(&o), v, Errors::default()).await
}

/// Saves an opportunity's fields.
#[utoipa::path(post, path = "/opportunities/{id}", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "opportunity id")),
    request_body(content = String, description = "the form's fields and `version`", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 404, description = "no such opportunity"),
        (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn edit_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let current = writable(&state, &req, id).await?;
    let map = values(pairs);
    let version = crate::admin::form_version(map.get("version").map(String::as_str).unwrap_or(""))?;
    let mut v = OppInput::from_form(&map);
    v.customer_id = current.customer_id.to_string();
    match opportunity_api::update(&state, &req, &current, version, &v).await {
        Ok(o) => Ok(see_other(&format!("/opportunities/{}?saved=1", o.id))),
        Err(e) => {
            let (status, errors) = Errors::from_error(e, req.lang)?;
            let (current, v) = if status == StatusCode::CONFLICT {
                let now = writable(&state, &req, id).await?;
                let v = OppInput::of(&now);
                (now, v)
            } else {
                (current, v)
            };
            Ok((status, form(&state, &req, Some(&current), v, errors).await?).into_response())
        }
    }
}

/// A quote of the opportunity, for its page.
pub(crate) struct QuoteRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub status: &'static str,
    pub version: u32,
    pub total: String,
    pub valid_until: String,
}

#[derive(Template)]
#[template(path = "sales_opportunity.html")]
struct ShowPage {
    shell: Shell,
    o: Opportunity,
    stage: &'static str,
    owner: String,
    product_type: String,
    source: String,
    weighted: String,
    moves: Vec<Opt>,
    quotes: Vec<QuoteRow>,
    notice: Option<&'static str>,
    errors: Errors,
    can_write: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ShowQuery {
    saved: Option<String>,
}

async fn show(
    state: &AppState,
    req: &Req,
    id: i64,
    notice: Option<&'static str>,
    errors: Errors,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(state, Permission::SalesRead).await?;
    let o = store::opportunities::get(&state.store, &vis, OpportunityId(id)).await?;
    let lang = req.lang;
    let zh = lang == Lang::Zh;
    let owner = Names::default().of(state, o.owner_id).await?;
    let today = today(state).await?;
    let f = store::quotes::Filter { opportunity_id: Some(o.id), limit: 200, ..Default::default() };
    let quotes = store::quotes::list(&state.store, &vis, &f)
        .await?
        .items
        .into_iter()
        .map(|q| QuoteRow {
            id: q.id.0,
            status: status_label(q.status_on(today), lang),
            number: q.number,
            title: q.title,
            version: q.current_version,
            total: q.total.to_string(),
            valid_until: q.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    let manager = is_manager(req);
    let mut moves: Vec<Opt> = o.stage.next().iter().map(|s| Opt::new(s.code(), stage_label(*s, lang), "")).collect();
    if o.stage.is_closed() && manager {
        moves.push(Opt::new(OpportunityStage::Qualified.code(), stage_label(OpportunityStage::Qualified, lang), ""));
    }
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.opportunities").await;
    render(&ShowPage {
        can_write: shell.can("sales.write"),
        shell,
        stage: stage_label(o.stage, lang),
        owner,
        product_type: o.product_type.map(|p| p.label(zh).to_string()).unwrap_or_else(|| "—".into()),
        source: o
            .source
            .as_deref()
            .map(|s| SourceChannel::from_code(s).map(|c| c.label(zh).to_string()).unwrap_or_else(|| s.to_string()))
            .unwrap_or_else(|| "—".into()),
        weighted: o.rules().weighted_value().to_string(),
        moves,
        quotes,
        notice,
        errors,
        o,
    })
}

/// An opportunity with its quotes, a "new quote" button and, once won, the
/// link to make the order.
#[utoipa::path(get, path = "/opportunities/{id}", tag = "pages", security(("keyuan" = ["sales.read"])),
    params(("id" = i64, Path, description = "opportunity id"), ShowQuery),
    responses((status = 200, description = "the opportunity", content_type = "text/html"), (status = 404, description = "no such opportunity")))]
async fn show_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let notice = q.saved.map(|_| req.lang.t("common.saved"));
    show(&state, &req, id, notice, Errors::default()).await
}

/// Moves an opportunity from a form (the board's cards without scripts and
/// the detail page): `stage`, `version`, `lost_reason`, `back` = `board`.
#[utoipa::path(post, path = "/opportunities/{id}/stage", tag = "pages", security(("keyuan" = ["sales.write"])),
    params(("id" = i64, Path, description = "opportunity id")),
    request_body(content = String, description = "stage, version, lost_reason, back", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "moved"), (status = 404, description = "no such opportunity"),
        (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "refused, with the reason", content_type = "text/html")))]
async fn stage_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let map = values(pairs);
    let g = |k: &str| map.get(k).map(String::as_str).unwrap_or("");
    let version = crate::admin::form_version(g("version"))?;
    let to_board = g("back") == "board";
    let reason = Some(g("lost_reason")).filter(|r| !r.trim().is_empty());
    match opportunity_api::move_stage(&state, &req, OpportunityId(id), version, g("stage"), reason).await {
        Ok(o) if to_board => Ok(see_other(&format!("/opportunities/board#opp-{}", o.id))),
        Ok(o) => Ok(see_other(&format!("/opportunities/{}?saved=1", o.id))),
        Err(e) => {
            let (status, errors) = Errors::from_error(e, req.lang)?;
            let html = if to_board {
                let text = errors
                    .general
                    .clone()
                    .into_iter()
                    .chain(errors.all().into_iter().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join("; ");
                board(&state, &req, Some(text)).await?
            } else {
                show(&state, &req, id, None, errors).await?
            };
            Ok((status, html).into_response())
        }
    }
}
