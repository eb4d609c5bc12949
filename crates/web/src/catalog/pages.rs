//! The catalogue's pages: lists with tabs, search and filters; forms to
//! create and edit; detail pages; the departure calendar; the manifest and
//! rooming list with their XLSX exports.
//!
//! The forms post flat fields; multi-line boxes (contacts, room types, the
//! itinerary) are read one item a line, parts separated by `|`, and a stop
//! or lodging written `#12` is library resource 12.

use super::api::{DepartureQuery, ProductQuery, ResourceQuery, SupplierQuery};
use super::input::{self, fields_of, Fields, RESOURCE_KINDS};
use super::manifest_for;
use crate::admin::{Errors, FormProblem, Opt};
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiQuery, PageForm};
use crate::page::{render, see_other, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Datelike;
use domain::ids::{DepartureId, ProductId, ResourceId, SupplierId};
use domain::money::BasisPoints;
use domain::travel::departure::DepartureStatus;
use domain::travel::product::ProductType;
use domain::travel::resource::{Meals, ResourceKind, SupplierKind, TransportMode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(suppliers_page, supplier_create))
        .routes(routes!(supplier_new))
        .routes(routes!(supplier_page, supplier_save))
        .routes(routes!(supplier_edit))
        .routes(routes!(resources_page, resource_create))
        .routes(routes!(resource_new))
        .routes(routes!(resource_page, resource_save))
        .routes(routes!(resource_edit))
        .routes(routes!(products_page, product_create))
        .routes(routes!(product_new))
        .routes(routes!(product_page, product_save))
        .routes(routes!(product_edit))
        .routes(routes!(departures_page, departure_create))
        .routes(routes!(departure_new))
        .routes(routes!(calendar_page))
        .routes(routes!(departure_page, departure_save))
        .routes(routes!(departure_edit))
        .routes(routes!(manifest_xlsx))
        .routes(routes!(rooming_xlsx))
}

struct Link {
    href: String,
    label: String,
    active: bool,
}

fn link(href: impl Into<String>, label: impl Into<String>) -> Link {
    Link { href: href.into(), label: label.into(), active: false }
}

struct Cell {
    text: String,
    href: Option<String>,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell { text: text.into(), href: None }
}

fn cell_link(text: impl Into<String>, href: String) -> Cell {
    Cell { text: text.into(), href: Some(href) }
}

/// One form or filter field.
struct FField {
    name: String,
    label: String,
    /// `text`, `date`, `number`, `select`, `textarea`, `hidden`, `search`, `month`.
    kind: &'static str,
    value: String,
    options: Vec<Opt>,
}

fn field(lang: Lang, name: &str, kind: &'static str, f: &Fields) -> FField {
    let key =
        format!("catalog.f.{}", name.trim_start_matches("details.").trim_end_matches("_text").trim_end_matches("_id"));
    FField { name: name.to_string(), label: lang.t(&key).to_string(), kind, value: shown(f, name), options: Vec::new() }
}

fn select(lang: Lang, name: &str, f: &Fields, options: Vec<(String, String)>, empty: bool) -> FField {
    let mut fld = field(lang, name, "select", f);
    let current = fld.value.clone();
    if empty {
        fld.options.push(Opt::new("", "—", &current));
    }
    fld.options.extend(options.into_iter().map(|(v, l)| Opt::new(v, l, &current)));
    fld
}

/// A field's value as shown in a form (`details.x` reads inside `details`).
fn shown(f: &Fields, name: &str) -> String {
    let v = match name.strip_prefix("details.") {
        Some(k) => f.get("details").and_then(|d| d.get(k)),
        None => f.get(name),
    };
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn active_select(lang: Lang, f: &Fields) -> FField {
    let mut f = f.clone();
    let on =
        !matches!(f.get("active"), Some(Value::Bool(false)) | Some(Value::String(_)) if shown(&f, "active") != "true");
    f.insert("active".into(), json!(on.to_string()));
    let mut fld = select(
        lang,
        "active",
        &f,
        vec![("true".into(), lang.t("catalog.active").into()), ("false".into(), lang.t("catalog.inactive").into())],
        false,
    );
    fld.label = lang.t("catalog.active").into();
    fld
}

#[derive(Template)]
#[template(path = "catalog_list.html")]
struct ListPage {
    shell: Shell,
    title: String,
    path: &'static str,
    actions: Vec<Link>,
    tabs: Vec<Link>,
    filters: Vec<FField>,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "catalog_form.html")]
struct FormPage {
    shell: Shell,
    title: String,
    action: String,
    back: String,
    version: Option<i64>,
    fields: Vec<FField>,
    errors: Errors,
}

struct Section {
    id: &'static str,
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Template)]
#[template(path = "catalog_show.html")]
struct ShowPage {
    shell: Shell,
    title: String,
    notice: Option<&'static str>,
    actions: Vec<Link>,
    props: Vec<(String, String)>,
    sections: Vec<Section>,
}

fn can_write(req: &Req) -> bool {
    req.principal.as_deref().is_some_and(|p| p.can(domain::access::Permission::CatalogWrite))
}

fn headers(lang: Lang, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| lang.t(k).to_string()).collect()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "—".into())
}

fn yes_no(lang: Lang, b: bool) -> String {
    lang.t(if b { "catalog.active" } else { "catalog.inactive" }).to_string()
}

/// The query string without `before`, plus `before=next`.
fn next_href(path: &str, params: &[(&str, Option<&str>)], next: Option<i64>) -> Option<String> {
    let next = next?;
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.append_pair("before", &next.to_string());
    Some(format!("{path}?{}", s.finish()))
}

/// The posted form as the checkers read it: `details.x` fields nested,
/// multi-line boxes turned into lists.
fn form_fields(form: BTreeMap<String, String>) -> (Fields, Option<i64>) {
    let mut f = Map::new();
    let mut details = Map::new();
    let mut version = None;
    for (k, v) in form {
        match k.as_str() {
            "csrf" => {}
            "version" => version = v.trim().parse().ok(),
            "contacts_text" => {
                let list: Vec<Value> = lines(&v)
                    .map(|p| {
                        json!({"name": part(&p, 0), "role": part(&p, 1), "mobile": part(&p, 2), "email": part(&p, 3), "wechat": part(&p, 4)})
                    })
                    .collect();
                f.insert("contacts".into(), Value::Array(list));
            }
            "room_types_text" => {
                let list: Vec<Value> = lines(&v)
                    .map(|p| json!({"name": part(&p, 0), "max_occupancy": part(&p, 1).unwrap_or_else(|| "2".into())}))
                    .collect();
                details.insert("room_types".into(), Value::Array(list));
            }
            "days_text" => {
                let list: Vec<Value> = lines(&v)
                    .enumerate()
                    .map(|(i, p)| {
                        let stops: Vec<Value> = part(&p, 1)
                            .map(|s| s.split(['、', ',', '，']).map(str::trim).filter(|s| !s.is_empty()).map(place).collect())
                            .unwrap_or_default();
                        json!({"day": i + 1, "title": part(&p, 0), "stops": stops, "meals": part(&p, 2).unwrap_or_default(),
                               "lodging": part(&p, 3).as_deref().map(place)})
                    })
                    .collect();
                details.insert("days".into(), Value::Array(list));
            }
            _ => match k.strip_prefix("details.") {
                Some(d) => {
                    details.insert(d.to_string(), json!(v));
                }
                None => {
                    f.insert(k, json!(v));
                }
            },
        }
    }
    if !details.is_empty() {
        f.insert("details".into(), Value::Object(details));
    }
    (f, version)
}

fn lines(v: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    v.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split('|').map(|p| p.trim().to_string()).collect())
}

fn part(p: &[String], i: usize) -> Option<String> {
    p.get(i).filter(|s| !s.is_empty()).cloned()
}

/// `#12` is library resource 12; anything else a name.
fn place(s: &str) -> Value {
    match s.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
        Some(id) => json!({"resource_id": id}),
        None => json!({"name": s}),
    }
}

/// A stored place (`{name, resource_id}`) as typed in the itinerary box.
fn place_text(v: &Value) -> String {
    match v.get("resource_id").and_then(Value::as_i64) {
        Some(id) => format!("#{id}"),
        None => v.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
    }
}

/// A refused form again with its problems (422) or the stale notice (409).
async fn refused(state: &AppState, req: &Req, e: AppError, mut page: FormPage) -> Result<Response, AppError> {
    let problem = FormProblem::from_error(e, req.lang)?;
    let status = problem.status();
    page.errors = problem.into_errors(req.lang);
    let _ = state;
    Ok((status, render(&page)?).into_response())
}

async fn form_page(
    state: &AppState,
    req: &Req,
    nav: &'static str,
    title: String,
    action: String,
    version: Option<i64>,
    fields: Vec<FField>,
) -> FormPage {
    let shell = Shell::new(state, req.principal.clone(), req.lang, nav).await;
    let back = action.clone();
    FormPage { shell, title, action, back, version, fields, errors: Errors::default() }
}

/// `?saved=1` after a change.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// Show that the last change was saved.
    saved: Option<String>,
}

// ---------------------------------------------------------------------------
// Suppliers

fn supplier_kinds(lang: Lang) -> Vec<(String, String)> {
    SupplierKind::ALL.iter().map(|k| (k.code().to_string(), k.label(lang == Lang::Zh).to_string())).collect()
}

fn supplier_form_fields(lang: Lang, f: &Fields) -> Vec<FField> {
    let mut f = f.clone();
    if let Some(bp) = f.get("commission_bp").and_then(Value::as_u64) {
        let pct = BasisPoints::new(u32::try_from(bp).unwrap_or(0)).map(|b| b.to_string()).unwrap_or_default();
        f.insert("commission".into(), json!(pct.trim_end_matches('%')));
    }
    if let Some(Value::Array(cs)) = f.get("contacts") {
        let text: Vec<String> = cs
            .iter()
            .map(|c| {
                ["name", "role", "mobile", "email", "wechat"]
                    .iter()
                    .map(|k| c.get(*k).and_then(Value::as_str).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        f.insert("contacts_text".into(), json!(text.join("\n")));
    }
    let mut out = vec![select(lang, "kind", &f, supplier_kinds(lang), false), field(lang, "name", "text", &f)];
    for n in ["phone", "email", "province", "city", "address", "contract_no"] {
        out.push(field(lang, n, "text", &f));
    }
    out.push(field(lang, "contract_from", "date", &f));
    out.push(field(lang, "contract_to", "date", &f));
    out.push(field(lang, "payment_terms", "text", &f));
    out.push(field(lang, "commission", "text", &f));
    out.push(active_select(lang, &f));
    out.push(field(lang, "contacts_text", "textarea", &f));
    out.push(field(lang, "notes", "textarea", &f));
    out
}

/// The suppliers, with search and filters.
#[utoipa::path(get, path = "/suppliers", tag = "pages", security(("keyuan" = ["catalog.read"])), params(SupplierQuery),
    responses((status = 200, description = "supplier list", content_type = "text/html")))]
async fn suppliers_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<SupplierQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let p = q.page();
    let page = store::resources::list_suppliers(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link("/suppliers/new", lang.t("catalog.new")));
    }
    actions.push(link("/resources", lang.t("catalog.resources")));
    let mut tabs =
        vec![Link { href: "/suppliers".into(), label: lang.t("catalog.all").into(), active: q.kind.is_none() }];
    for (code, label) in supplier_kinds(lang) {
        let active = q.kind.as_deref() == Some(&code);
        tabs.push(Link { href: format!("/suppliers?kind={code}"), label, active });
    }
    let mut cur = Map::new();
    for (k, v) in [("q", &q.q), ("kind", &q.kind), ("province", &q.province), ("city", &q.city), ("active", &q.active)]
    {
        cur.insert(k.into(), json!(v.clone().unwrap_or_default()));
    }
    let mut qf = field(lang, "q", "search", &cur);
    qf.label = lang.t("catalog.search_hint").into();
    let filters = vec![
        qf,
        field(lang, "kind", "hidden", &cur),
        field(lang, "province", "text", &cur),
        field(lang, "city", "text", &cur),
    ];
    let rows = page
        .items
        .iter()
        .map(|s| {
            vec![
                cell_link(s.data.name.clone(), format!("/suppliers/{}", s.id)),
                cell(SupplierKind::from_code(&s.data.kind).map(|k| k.label(lang == Lang::Zh)).unwrap_or(&s.data.kind)),
                cell(s.data.contacts.first().map(|c| c.name.clone()).unwrap_or_default()),
                cell(opt(&s.data.phone)),
                cell(format!("{} {}", opt(&s.data.province), opt(&s.data.city))),
                cell(opt(&s.data.contract_to)),
                cell(yes_no(lang, s.data.active)),
            ]
        })
        .collect();
    let next = next_href(
        "/suppliers",
        &[
            ("q", q.q.as_deref()),
            ("kind", q.kind.as_deref()),
            ("province", q.province.as_deref()),
            ("city", q.city.as_deref()),
        ],
        page.next,
    );
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.resources").await;
    render(&ListPage {
        shell,
        title: lang.t("catalog.suppliers").into(),
        path: "/suppliers",
        actions,
        tabs,
        filters,
        headers: headers(
            lang,
            &[
                "catalog.f.name",
                "catalog.f.kind",
                "catalog.f.contacts",
                "catalog.f.phone",
                "catalog.f.city",
                "catalog.f.contract_to",
                "catalog.active",
            ],
        ),
        rows,
        next,
    })
}

/// The form for a new supplier.
#[utoipa::path(get, path = "/suppliers/new", tag = "pages", security(("keyuan" = ["catalog.write"])),
    responses((status = 200, description = "form", content_type = "text/html")))]
async fn supplier_new(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    let fields = supplier_form_fields(req.lang, &Map::new());
    let title = format!("{} · {}", req.lang.t("catalog.new"), req.lang.t("catalog.suppliers"));
    render(&form_page(&state, &req, "nav.resources", title, "/suppliers".into(), None, fields).await)
}

/// Creates a supplier from the form.
#[utoipa::path(post, path = "/suppliers", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    responses((status = 303, description = "created"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn supplier_create(
    State(state): State<AppState>,
    req: Req,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let (f, _) = form_fields(form);
    let result = async {
        let d = input::supplier(&f)?;
        let mut tx = state.store.begin().await?;
        let s = store::resources::create_supplier(&mut tx, &req.actor()?, &d).await?;
        tx.commit().await?;
        Ok::<_, AppError>(s)
    }
    .await;
    match result {
        Ok(s) => Ok(see_other(&format!("/suppliers/{}?saved=1", s.id))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.new"), req.lang.t("catalog.suppliers"));
            let page = form_page(
                &state,
                &req,
                "nav.resources",
                title,
                "/suppliers".into(),
                None,
                supplier_form_fields(req.lang, &f),
            )
            .await;
            refused(&state, &req, e, page).await
        }
    }
}

/// One supplier.
#[utoipa::path(get, path = "/suppliers/{id}", tag = "pages", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "supplier id"), SavedQuery), responses((status = 200, description = "supplier", content_type = "text/html")))]
async fn supplier_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let s = store::resources::get_supplier(&state.store, SupplierId(id)).await?;
    let d = &s.data;
    let commission = d
        .commission_bp
        .and_then(|b| BasisPoints::new(u32::try_from(b).unwrap_or(0)))
        .map(|b| b.to_string())
        .unwrap_or_else(|| "—".into());
    let props = vec![
        (
            lang.t("catalog.f.kind").to_string(),
            SupplierKind::from_code(&d.kind).map(|k| k.label(lang == Lang::Zh).to_string()).unwrap_or(d.kind.clone()),
        ),
        (lang.t("catalog.f.phone").into(), opt(&d.phone)),
        (lang.t("catalog.f.email").into(), opt(&d.email)),
        (
            lang.t("catalog.f.city").into(),
            format!("{} {} {}", opt(&d.province), opt(&d.city), d.address.clone().unwrap_or_default()),
        ),
        (lang.t("catalog.f.contract_no").into(), opt(&d.contract_no)),
        (lang.t("catalog.f.contract_from").into(), format!("{} ~ {}", opt(&d.contract_from), opt(&d.contract_to))),
        (lang.t("catalog.f.payment_terms").into(), opt(&d.payment_terms)),
        (lang.t("catalog.f.commission").into(), commission),
        (lang.t("catalog.active").into(), yes_no(lang, d.active)),
        (lang.t("catalog.f.notes").into(), opt(&d.notes)),
    ];
    let contacts = Section {
        id: "contacts",
        title: lang.t("catalog.f.contacts").split(['（', '(']).next().unwrap_or_default().trim().to_string(),
        headers: headers(
            lang,
            &["catalog.t.name", "catalog.f.kind", "catalog.t.mobile", "catalog.f.email", "catalog.f.notes"],
        ),
        rows: d
            .contacts
            .iter()
            .map(|c| {
                vec![
                    cell(c.name.clone()),
                    cell(opt(&c.role)),
                    cell(opt(&c.mobile)),
                    cell(opt(&c.email)),
                    cell(opt(&c.wechat)),
                ]
            })
            .collect(),
    };
    let resources = store::resources::list_resources(
        &state.store,
        &store::resources::ResourceFilter { supplier_id: Some(s.id), ..Default::default() },
        200,
        None,
    )
    .await?;
    let res = Section {
        id: "resources",
        title: lang.t("catalog.resources").into(),
        headers: headers(lang, &["catalog.f.name", "catalog.f.kind", "catalog.f.city"]),
        rows: resources
            .items
            .iter()
            .map(|r| {
                vec![
                    cell_link(r.data.name.clone(), format!("/resources/{}", r.id)),
                    cell(kind_label(&r.data.kind, lang)),
                    cell(opt(&r.data.city)),
                ]
            })
            .collect(),
    };
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link(format!("/suppliers/{id}/edit"), lang.t("catalog.edit")));
    }
    actions.push(link("/suppliers", lang.t("catalog.suppliers")));
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.resources").await;
    let notice = q.saved.is_some().then(|| lang.t("common.saved"));
    render(&ShowPage { shell, title: d.name.clone(), notice, actions, props, sections: vec![contacts, res] })
}

/// The form to change a supplier.
#[utoipa::path(get, path = "/suppliers/{id}/edit", tag = "pages", security(("keyuan" = ["catalog.write"])),
    params(("id" = i64, Path, description = "supplier id")), responses((status = 200, description = "form", content_type = "text/html")))]
async fn supplier_edit(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Html<String>, AppError> {
    let s = store::resources::get_supplier(&state.store, SupplierId(id)).await?;
    let fields = supplier_form_fields(req.lang, &fields_of(&s.data));
    let title = format!("{} · {}", req.lang.t("catalog.edit"), s.data.name);
    render(&form_page(&state, &req, "nav.resources", title, format!("/suppliers/{id}"), Some(s.version), fields).await)
}

/// Saves a changed supplier.
#[utoipa::path(post, path = "/suppliers/{id}", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    params(("id" = i64, Path, description = "supplier id")),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn supplier_save(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let current = store::resources::get_supplier(&state.store, SupplierId(id)).await?;
    let (f, version) = form_fields(form);
    let result = async {
        let d = input::supplier(&f)?;
        let mut tx = state.store.begin().await?;
        store::resources::update_supplier(&mut tx, &req.actor()?, current.id, version.unwrap_or(0), &d).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/suppliers/{id}?saved=1"))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.edit"), current.data.name);
            let page = form_page(
                &state,
                &req,
                "nav.resources",
                title,
                format!("/suppliers/{id}"),
                Some(current.version),
                supplier_form_fields(req.lang, &f),
            )
            .await;
            refused(&state, &req, e, page).await
        }
    }
}

// ---------------------------------------------------------------------------
// Resources

fn kind_label(code: &str, lang: Lang) -> String {
    ResourceKind::from_code(code).map(|k| k.label(lang == Lang::Zh).to_string()).unwrap_or_else(|| code.to_string())
}

async fn supplier_options(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    let page = store::resources::list_suppliers(
        &state.store,
        &store::resources::SupplierFilter { active: Some(true), ..Default::default() },
        200,
        None,
    )
    .await?;
    Ok(page.items.iter().map(|s| (s.id.to_string(), s.data.name.clone())).collect())
}

async fn resource_form_fields(
    state: &AppState,
    lang: Lang,
    kind: ResourceKind,
    f: &Fields,
) -> Result<Vec<FField>, AppError> {
    let mut f = f.clone();
    f.insert("kind".into(), json!(kind.code()));
    let details = f.get("details").cloned().unwrap_or(json!({}));
    if let Some(Value::Array(rooms)) = details.get("room_types") {
        let text: Vec<String> = rooms
            .iter()
            .map(|r| {
                format!(
                    "{} | {}",
                    r.get("name").and_then(Value::as_str).unwrap_or_default(),
                    r.get("max_occupancy").map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or_default()
                )
            })
            .collect();
        f.insert("room_types_text".into(), json!(text.join("\n")));
    }
    if let Some(Value::Array(days)) = details.get("days") {
        let text: Vec<String> = days
            .iter()
            .map(|d| {
                let stops: Vec<String> = d
                    .get("stops")
                    .and_then(Value::as_array)
                    .map(|s| s.iter().map(place_text).collect())
                    .unwrap_or_default();
                let meals = match d.get("meals") {
                    Some(Value::String(s)) => s.clone(),
                    Some(m) => serde_json::from_value::<Meals>(m.clone())
                        .map(|m| if m.count() == 0 { String::new() } else { m.label(true).replace('、', "") })
                        .unwrap_or_default(),
                    None => String::new(),
                };
                let lodging = d
                    .get("lodging")
                    .filter(|l| !l.is_null())
                    .map(|l| if l.is_string() { l.as_str().unwrap_or_default().to_string() } else { place_text(l) })
                    .unwrap_or_default();
                format!(
                    "{} | {} | {} | {}",
                    d.get("title").and_then(Value::as_str).unwrap_or_default(),
                    stops.join("、"),
                    meals,
                    lodging
                )
            })
            .collect();
        f.insert("days_text".into(), json!(text.join("\n")));
    }
    let mut out = vec![field(lang, "kind", "hidden", &f), field(lang, "name", "text", &f)];
    for n in ["country", "province", "city", "address"] {
        out.push(field(lang, n, "text", &f));
    }
    out.push(select(lang, "supplier_id", &f, supplier_options(state).await?, true));
    match kind {
        ResourceKind::Attraction => {
            out.push(field(lang, "details.ticket_price", "text", &f));
            out.push(field(lang, "details.opening_hours", "text", &f));
        }
        ResourceKind::Accommodation => {
            out.push(select(
                lang,
                "details.star_rating",
                &f,
                (1..=5).map(|n| (n.to_string(), "★".repeat(n))).collect(),
                true,
            ));
            out.push(field(lang, "room_types_text", "textarea", &f));
        }
        ResourceKind::Transport => {
            let modes = TransportMode::ALL
                .iter()
                .map(|m| (m.code().to_string(), m.label(lang == Lang::Zh).to_string()))
                .collect();
            out.push(select(lang, "details.mode", &f, modes, false));
            for n in ["details.carrier", "details.service_no", "details.from", "details.to"] {
                out.push(field(lang, n, "text", &f));
            }
        }
        ResourceKind::Route | ResourceKind::Supplier => {
            let mut days = field(lang, "days_text", "textarea", &f);
            days.label = lang.t("catalog.f.days_plan").into();
            out.push(days);
        }
    }
    out.push(active_select(lang, &f));
    out.push(field(lang, "description", "textarea", &f));
    Ok(out)
}

/// The resource library: tabs by kind, search and filters.
#[utoipa::path(get, path = "/resources", tag = "pages", security(("keyuan" = ["catalog.read"])), params(ResourceQuery),
    responses((status = 200, description = "resource list", content_type = "text/html")))]
async fn resources_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ResourceQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let p = q.page();
    let page = store::resources::list_resources(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    let kind = q.kind.as_deref().filter(|k| !k.is_empty());
    let mut actions = Vec::new();
    if can_write(&req) {
        for k in RESOURCE_KINDS {
            actions.push(link(
                format!("/resources/new?kind={}", k.code()),
                format!("{} · {}", lang.t("catalog.new"), k.label(lang == Lang::Zh)),
            ));
        }
    }
    actions.push(link("/suppliers", lang.t("catalog.suppliers")));
    let mut tabs =
        vec![Link { href: "/resources".into(), label: lang.t("catalog.all").into(), active: kind.is_none() }];
    for k in RESOURCE_KINDS {
        tabs.push(Link {
            href: format!("/resources?kind={}", k.code()),
            label: k.label(lang == Lang::Zh).into(),
            active: kind == Some(k.code()),
        });
    }
    let mut cur = Map::new();
    for (k, v) in [
        ("q", &q.q),
        ("kind", &q.kind),
        ("province", &q.province),
        ("city", &q.city),
        ("supplier_id", &q.supplier_id),
        ("active", &q.active),
    ] {
        cur.insert(k.into(), json!(v.clone().unwrap_or_default()));
    }
    let mut qf = field(lang, "q", "search", &cur);
    qf.label = lang.t("catalog.search_hint").into();
    let filters = vec![
        qf,
        field(lang, "kind", "hidden", &cur),
        field(lang, "province", "text", &cur),
        field(lang, "city", "text", &cur),
        select(lang, "supplier_id", &cur, supplier_options(&state).await?, true),
        select(
            lang,
            "active",
            &cur,
            vec![("true".into(), lang.t("catalog.active").into()), ("false".into(), lang.t("catalog.inactive").into())],
            true,
        ),
    ];
    let rows = page
        .items
        .iter()
        .map(|r| {
            vec![
                cell_link(r.data.name.clone(), format!("/resources/{}", r.id)),
                cell(kind_label(&r.data.kind, lang)),
                cell(format!("{} {}", opt(&r.data.province), opt(&r.data.city))),
                cell(opt(&r.supplier_name)),
                cell(yes_no(lang, r.data.active)),
            ]
        })
        .collect();
    let next = next_href(
        "/resources",
        &[
            ("q", q.q.as_deref()),
            ("kind", q.kind.as_deref()),
            ("province", q.province.as_deref()),
            ("city", q.city.as_deref()),
            ("supplier_id", q.supplier_id.as_deref()),
            ("active", q.active.as_deref()),
        ],
        page.next,
    );
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.resources").await;
    render(&ListPage {
        shell,
        title: lang.t("catalog.resources").into(),
        path: "/resources",
        actions,
        tabs,
        filters,
        headers: headers(
            lang,
            &["catalog.f.name", "catalog.f.kind", "catalog.f.city", "catalog.f.supplier", "catalog.active"],
        ),
        rows,
        next,
    })
}

/// `?kind=` of a new resource.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct KindQuery {
    /// `attraction`, `accommodation`, `transport` or `route`.
    kind: Option<String>,
}

fn resource_kind(code: Option<&str>) -> Result<ResourceKind, AppError> {
    match code.and_then(ResourceKind::from_code) {
        Some(k) if k != ResourceKind::Supplier => Ok(k),
        _ => {
            Err(AppError::field("kind", "invalid_choice", "kind must be attraction, accommodation, transport or route"))
        }
    }
}

/// The form for a new resource of a kind.
#[utoipa::path(get, path = "/resources/new", tag = "pages", security(("keyuan" = ["catalog.write"])), params(KindQuery),
    responses((status = 200, description = "form", content_type = "text/html")))]
async fn resource_new(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<KindQuery>,
) -> Result<Html<String>, AppError> {
    let kind = resource_kind(q.kind.as_deref())?;
    let fields = resource_form_fields(&state, req.lang, kind, &Map::new()).await?;
    let title = format!("{} · {}", req.lang.t("catalog.new"), kind.label(req.lang == Lang::Zh));
    render(&form_page(&state, &req, "nav.resources", title, "/resources".into(), None, fields).await)
}

/// Creates a resource from the form.
#[utoipa::path(post, path = "/resources", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    responses((status = 303, description = "created"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn resource_create(
    State(state): State<AppState>,
    req: Req,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let (f, _) = form_fields(form);
    let kind = resource_kind(f.get("kind").and_then(Value::as_str))?;
    let result = async {
        let d = input::resource(&state, &f).await?;
        let mut tx = state.store.begin().await?;
        let r = store::resources::create_resource(&mut tx, &req.actor()?, &d).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    match result {
        Ok(r) => Ok(see_other(&format!("/resources/{}?saved=1", r.id))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.new"), kind.label(req.lang == Lang::Zh));
            let fields = resource_form_fields(&state, req.lang, kind, &f).await?;
            let page = form_page(&state, &req, "nav.resources", title, "/resources".into(), None, fields).await;
            refused(&state, &req, e, page).await
        }
    }
}

/// One resource with its kind's details.
#[utoipa::path(get, path = "/resources/{id}", tag = "pages", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "resource id"), SavedQuery), responses((status = 200, description = "resource", content_type = "text/html")))]
async fn resource_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let r = store::resources::get_resource(&state.store, ResourceId(id)).await?;
    let d = &r.data;
    let mut props = vec![
        (lang.t("catalog.f.kind").to_string(), kind_label(&d.kind, lang)),
        (
            lang.t("catalog.f.city").into(),
            format!(
                "{} {} {} {}",
                opt(&d.country),
                opt(&d.province),
                opt(&d.city),
                d.address.clone().unwrap_or_default()
            ),
        ),
        (lang.t("catalog.f.supplier").into(), opt(&r.supplier_name)),
        (lang.t("catalog.active").into(), yes_no(lang, d.active)),
    ];
    let det = &d.details;
    let s = |k: &str| {
        det.get(k)
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .filter(|v| v != "null")
            .unwrap_or_else(|| "—".into())
    };
    let mut sections = Vec::new();
    match d.kind.as_str() {
        "attraction" => {
            props.push((lang.t("catalog.f.ticket_price").into(), s("ticket_price")));
            props.push((lang.t("catalog.f.opening_hours").into(), s("opening_hours")));
        }
        "accommodation" => {
            let stars = det
                .get("star_rating")
                .and_then(Value::as_u64)
                .map(|n| "★".repeat(n as usize))
                .unwrap_or_else(|| "—".into());
            props.push((lang.t("catalog.f.star_rating").into(), stars));
            let rows = det
                .get("room_types")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            vec![
                                cell(r.get("name").and_then(Value::as_str).unwrap_or_default()),
                                cell(r.get("max_occupancy").map(|v| v.to_string()).unwrap_or_default()),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            sections.push(Section {
                id: "room-types",
                title: lang.t("catalog.f.room_types").split(['（', '(']).next().unwrap_or_default().trim().into(),
                headers: headers(lang, &["catalog.f.name", "catalog.f.capacity"]),
                rows,
            });
        }
        "transport" => {
            let mode = det
                .get("mode")
                .and_then(Value::as_str)
                .and_then(TransportMode::from_code)
                .map(|m| m.label(lang == Lang::Zh).to_string())
                .unwrap_or_else(|| "—".into());
            props.push((lang.t("catalog.f.mode").into(), mode));
            for k in ["carrier", "service_no", "from", "to"] {
                props.push((lang.t(&format!("catalog.f.{k}")).into(), s(k)));
            }
        }
        _ => {
            let rows = det
                .get("days")
                .and_then(Value::as_array)
                .map(|days| {
                    days.iter()
                        .map(|day| {
                            let stops: Vec<Cell> = Vec::new();
                            let _ = stops;
                            let names: Vec<String> = day
                                .get("stops")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .map(|p| p.get("name").and_then(Value::as_str).unwrap_or_default().to_string())
                                        .collect()
                                })
                                .unwrap_or_default();
                            let meals = day
                                .get("meals")
                                .cloned()
                                .and_then(|m| serde_json::from_value::<Meals>(m).ok())
                                .unwrap_or_default();
                            let lodging = day
                                .get("lodging")
                                .and_then(|l| l.get("name"))
                                .and_then(Value::as_str)
                                .unwrap_or("—")
                                .to_string();
                            let lodging_cell =
                                match day.get("lodging").and_then(|l| l.get("resource_id")).and_then(Value::as_i64) {
                                    Some(id) => cell_link(lodging, format!("/resources/{id}")),
                                    None => cell(lodging),
                                };
                            vec![
                                cell(day.get("day").map(|v| v.to_string()).unwrap_or_default()),
                                cell(day.get("title").and_then(Value::as_str).unwrap_or_default()),
                                cell(names.join("、")),
                                cell(meals.label(lang == Lang::Zh)),
                                lodging_cell,
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            let h = match lang {
                Lang::Zh => vec!["天".into(), "标题".into(), "景点".into(), "餐食".into(), "住宿".into()],
                Lang::En => vec!["Day".into(), "Title".into(), "Stops".into(), "Meals".into(), "Lodging".into()],
            };
            sections.push(Section { id: "itinerary", title: lang.t("catalog.f.route").into(), headers: h, rows });
        }
    }
    props.push((lang.t("catalog.f.description").into(), opt(&d.description)));
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link(format!("/resources/{id}/edit"), lang.t("catalog.edit")));
    }
    actions.push(link(format!("/resources?kind={}", d.kind), lang.t("catalog.resources")));
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.resources").await;
    let notice = q.saved.is_some().then(|| lang.t("common.saved"));
    render(&ShowPage { shell, title: d.name.clone(), notice, actions, props, sections })
}

/// The form to change a resource.
#[utoipa::path(get, path = "/resources/{id}/edit", tag = "pages", security(("keyuan" = ["catalog.write"])),
    params(("id" = i64, Path, description = "resource id")), responses((status = 200, description = "form", content_type = "text/html")))]
async fn resource_edit(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Html<String>, AppError> {
    let r = store::resources::get_resource(&state.store, ResourceId(id)).await?;
    let kind = resource_kind(Some(&r.data.kind))?;
    let fields = resource_form_fields(&state, req.lang, kind, &fields_of(&r.data)).await?;
    let title = format!("{} · {}", req.lang.t("catalog.edit"), r.data.name);
    render(&form_page(&state, &req, "nav.resources", title, format!("/resources/{id}"), Some(r.version), fields).await)
}

/// Saves a changed resource.
#[utoipa::path(post, path = "/resources/{id}", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    params(("id" = i64, Path, description = "resource id")),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn resource_save(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let current = store::resources::get_resource(&state.store, ResourceId(id)).await?;
    let kind = resource_kind(Some(&current.data.kind))?;
    let (mut f, version) = form_fields(form);
    f.insert("kind".into(), json!(kind.code()));
    let result = async {
        let d = input::resource(&state, &f).await?;
        let mut tx = state.store.begin().await?;
        store::resources::update_resource(&mut tx, &req.actor()?, current.id, version.unwrap_or(0), &d).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/resources/{id}?saved=1"))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.edit"), current.data.name);
            let fields = resource_form_fields(&state, req.lang, kind, &f).await?;
            let page = form_page(
                &state,
                &req,
                "nav.resources",
                title,
                format!("/resources/{id}"),
                Some(current.version),
                fields,
            )
            .await;
            refused(&state, &req, e, page).await
        }
    }
}

// ---------------------------------------------------------------------------
// Products

fn product_types(lang: Lang) -> Vec<(String, String)> {
    ProductType::ALL.iter().map(|t| (t.code().to_string(), t.label(lang == Lang::Zh).to_string())).collect()
}

fn type_label(code: &str, lang: Lang) -> String {
    ProductType::from_code(code).map(|t| t.label(lang == Lang::Zh).to_string()).unwrap_or_else(|| code.to_string())
}

async fn product_form_fields(state: &AppState, lang: Lang, f: &Fields) -> Result<Vec<FField>, AppError> {
    let routes = store::resources::list_resources(
        &state.store,
        &store::resources::ResourceFilter { kind: Some("route".into()), ..Default::default() },
        200,
        None,
    )
    .await?;
    let routes = routes.items.iter().map(|r| (r.id.to_string(), r.data.name.clone())).collect();
    let mut out = vec![
        field(lang, "code", "text", f),
        field(lang, "name", "text", f),
        select(lang, "product_type", f, product_types(lang), false),
    ];
    for n in ["country", "region", "city", "destination"] {
        out.push(field(lang, n, "text", f));
    }
    out.push(select(lang, "route_id", f, routes, true));
    out.push(select(lang, "supplier_id", f, supplier_options(state).await?, true));
    out.push(field(lang, "days", "number", f));
    for n in ["adult_price", "child_price", "cost_price"] {
        out.push(field(lang, n, "text", f));
    }
    out.push(active_select(lang, f));
    for n in ["inclusions", "exclusions", "description"] {
        out.push(field(lang, n, "textarea", f));
    }
    Ok(out)
}

/// The products, with search and filters.
#[utoipa::path(get, path = "/products", tag = "pages", security(("keyuan" = ["catalog.read"])), params(ProductQuery),
    responses((status = 200, description = "product list", content_type = "text/html")))]
async fn products_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ProductQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let p = q.page();
    let page = store::products::list(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link("/products/new", lang.t("catalog.new")));
    }
    let t = q.product_type.as_deref().filter(|t| !t.is_empty());
    let mut tabs = vec![Link { href: "/products".into(), label: lang.t("catalog.all").into(), active: t.is_none() }];
    for (code, label) in product_types(lang) {
        let active = t == Some(code.as_str());
        tabs.push(Link { href: format!("/products?product_type={code}"), label, active });
    }
    let mut cur = Map::new();
    for (k, v) in
        [("q", &q.q), ("product_type", &q.product_type), ("supplier_id", &q.supplier_id), ("active", &q.active)]
    {
        cur.insert(k.into(), json!(v.clone().unwrap_or_default()));
    }
    let mut qf = field(lang, "q", "search", &cur);
    qf.label = lang.t("catalog.search_hint").into();
    let filters = vec![
        qf,
        field(lang, "product_type", "hidden", &cur),
        select(lang, "supplier_id", &cur, supplier_options(&state).await?, true),
        select(
            lang,
            "active",
            &cur,
            vec![("true".into(), lang.t("catalog.active").into()), ("false".into(), lang.t("catalog.inactive").into())],
            true,
        ),
    ];
    let rows = page
        .items
        .iter()
        .map(|p| {
            vec![
                cell_link(p.data.code.clone(), format!("/products/{}", p.id)),
                cell_link(p.data.name.clone(), format!("/products/{}", p.id)),
                cell(type_label(&p.data.product_type, lang)),
                cell(opt(&p.data.destination)),
                cell(p.data.days.to_string()),
                cell(p.data.adult_price.to_string()),
                cell(p.data.child_price.to_string()),
                cell(yes_no(lang, p.data.active)),
            ]
        })
        .collect();
    let next = next_href(
        "/products",
        &[
            ("q", q.q.as_deref()),
            ("product_type", q.product_type.as_deref()),
            ("supplier_id", q.supplier_id.as_deref()),
            ("active", q.active.as_deref()),
        ],
        page.next,
    );
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.products").await;
    render(&ListPage {
        shell,
        title: lang.t("catalog.products").into(),
        path: "/products",
        actions,
        tabs,
        filters,
        headers: headers(
            lang,
            &[
                "catalog.f.code",
                "catalog.f.name",
                "catalog.f.product_type",
                "catalog.f.destination",
                "catalog.f.days",
                "catalog.f.adult_price",
                "catalog.f.child_price",
                "catalog.active",
            ],
        ),
        rows,
        next,
    })
}

/// The form for a new product.
#[utoipa::path(get, path = "/products/new", tag = "pages", security(("keyuan" = ["catalog.write"])),
    responses((status = 200, description = "form", content_type = "text/html")))]
async fn product_new(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    let fields = product_form_fields(&state, req.lang, &Map::new()).await?;
    let title = format!("{} · {}", req.lang.t("catalog.new"), req.lang.t("catalog.products"));
    render(&form_page(&state, &req, "nav.products", title, "/products".into(), None, fields).await)
}

/// Creates a product from the form.
#[utoipa::path(post, path = "/products", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    responses((status = 303, description = "created"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn product_create(
    State(state): State<AppState>,
    req: Req,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let (f, _) = form_fields(form);
    let result = async {
        let d = input::product(&f)?;
        let mut tx = state.store.begin().await?;
        let p = store::products::create(&mut tx, &req.actor()?, &d).await?;
        tx.commit().await?;
        Ok::<_, AppError>(p)
    }
    .await;
    match result {
        Ok(p) => Ok(see_other(&format!("/products/{}?saved=1", p.id))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.new"), req.lang.t("catalog.products"));
            let fields = product_form_fields(&state, req.lang, &f).await?;
            let page = form_page(&state, &req, "nav.products", title, "/products".into(), None, fields).await;
            refused(&state, &req, e, page).await
        }
    }
}

/// One product with its departures.
#[utoipa::path(get, path = "/products/{id}", tag = "pages", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "product id"), SavedQuery), responses((status = 200, description = "product", content_type = "text/html")))]
async fn product_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let p = store::products::get(&state.store, ProductId(id)).await?;
    let d = &p.data;
    let props = vec![
        (lang.t("catalog.f.code").to_string(), d.code.clone()),
        (lang.t("catalog.f.product_type").into(), type_label(&d.product_type, lang)),
        (
            lang.t("catalog.f.destination").into(),
            format!(
                "{} {} {} {}",
                opt(&d.country),
                opt(&d.region),
                opt(&d.city),
                d.destination.clone().unwrap_or_default()
            ),
        ),
        (lang.t("catalog.f.route").into(), opt(&p.route_name)),
        (lang.t("catalog.f.supplier").into(), opt(&p.supplier_name)),
        (lang.t("catalog.f.days").into(), d.days.to_string()),
        (lang.t("catalog.f.adult_price").into(), d.adult_price.to_string()),
        (lang.t("catalog.f.child_price").into(), d.child_price.to_string()),
        (lang.t("catalog.f.cost_price").into(), d.cost_price.to_string()),
        (lang.t("catalog.f.inclusions").into(), opt(&d.inclusions)),
        (lang.t("catalog.f.exclusions").into(), opt(&d.exclusions)),
        (lang.t("catalog.f.description").into(), opt(&d.description)),
        (lang.t("catalog.active").into(), yes_no(lang, d.active)),
    ];
    let deps = store::departures::list(
        &state.store,
        &store::departures::Filter { product_id: Some(p.id), ..Default::default() },
        200,
        None,
    )
    .await?;
    let section = Section {
        id: "departures",
        title: lang.t("catalog.departures").into(),
        headers: headers(
            lang,
            &[
                "catalog.f.code",
                "catalog.f.departure_date",
                "catalog.f.status",
                "catalog.f.capacity",
                "catalog.f.seats_left",
            ],
        ),
        rows: deps.items.iter().map(|d| departure_row(d, lang)).collect(),
    };
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link(format!("/products/{id}/edit"), lang.t("catalog.edit")));
        actions.push(link(
            format!("/departures/new?product_id={id}"),
            format!("{} · {}", lang.t("catalog.new"), lang.t("catalog.departures")),
        ));
    }
    actions.push(link("/products", lang.t("catalog.products")));
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.products").await;
    let notice = q.saved.is_some().then(|| lang.t("common.saved"));
    render(&ShowPage {
        shell,
        title: format!("{} {}", d.code, d.name),
        notice,
        actions,
        props,
        sections: vec![section],
    })
}

fn departure_row(d: &store::departures::Departure, lang: Lang) -> Vec<Cell> {
    vec![
        cell_link(d.code.clone(), format!("/departures/{}", d.id)),
        cell(format!("{} ~ {}", d.departure_date, d.return_date)),
        cell(status_label(&d.status, lang)),
        cell(d.capacity.to_string()),
        cell(d.seats_left.to_string()),
    ]
}

fn status_label(code: &str, lang: Lang) -> String {
    DepartureStatus::from_code(code).map(|s| s.label(lang == Lang::Zh).to_string()).unwrap_or_else(|| code.to_string())
}

/// The form to change a product.
#[utoipa::path(get, path = "/products/{id}/edit", tag = "pages", security(("keyuan" = ["catalog.write"])),
    params(("id" = i64, Path, description = "product id")), responses((status = 200, description = "form", content_type = "text/html")))]
async fn product_edit(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Html<String>, AppError> {
    let p = store::products::get(&state.store, ProductId(id)).await?;
    let fields = product_form_fields(&state, req.lang, &fields_of(&p.data)).await?;
    let title = format!("{} · {}", req.lang.t("catalog.edit"), p.data.name);
    render(&form_page(&state, &req, "nav.products", title, format!("/products/{id}"), Some(p.version), fields).await)
}

/// Saves a changed product.
#[utoipa::path(post, path = "/products/{id}", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    params(("id" = i64, Path, description = "product id")),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn product_save(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let current = store::products::get(&state.store, ProductId(id)).await?;
    let (f, version) = form_fields(form);
    let result = async {
        let d = input::product(&f)?;
        let mut tx = state.store.begin().await?;
        store::products::update(&mut tx, &req.actor()?, current.id, version.unwrap_or(0), &d).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/products/{id}?saved=1"))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.edit"), current.data.name);
            let fields = product_form_fields(&state, req.lang, &f).await?;
            let page = form_page(
                &state,
                &req,
                "nav.products",
                title,
                format!("/products/{id}"),
                Some(current.version),
                fields,
            )
            .await;
            refused(&state, &req, e, page).await
        }
    }
}

// ---------------------------------------------------------------------------
// Departures

async fn departure_form_fields(
    state: &AppState,
    lang: Lang,
    f: &Fields,
    current: Option<DepartureStatus>,
) -> Result<Vec<FField>, AppError> {
    let products = store::products::list(
        &state.store,
        &store::products::Filter { active: Some(true), ..Default::default() },
        200,
        None,
    )
    .await?;
    let products =
        products.items.iter().map(|p| (p.id.to_string(), format!("{} {}", p.data.code, p.data.name))).collect();
    let people = store::users::all_active(&state.store).await?;
    let people = people.iter().map(|u| (u.id.to_string(), u.display_name.clone())).collect();
    let mut out = Vec::new();
    if current.is_none() {
        out.push(select(lang, "product_id", f, products, false));
    }
    out.push(field(lang, "departure_date", "date", f));
    out.push(field(lang, "return_date", "date", f));
    out.push(select(lang, "leader_id", f, people, true));
    out.push(field(lang, "guide_name", "text", f));
    out.push(field(lang, "capacity", "number", f));
    out.push(field(lang, "adult_price", "text", f));
    out.push(field(lang, "child_price", "text", f));
    let statuses: Vec<DepartureStatus> = match current {
        None => vec![DepartureStatus::Planning, DepartureStatus::Open],
        Some(c) => std::iter::once(c).chain(c.next().iter().copied()).collect(),
    };
    let mut f2 = f.clone();
    if let Some(c) = current {
        if !f2.contains_key("status") {
            f2.insert("status".into(), json!(c.code()));
        }
    }
    out.push(select(
        lang,
        "status",
        &f2,
        statuses.iter().map(|s| (s.code().to_string(), s.label(lang == Lang::Zh).to_string())).collect(),
        false,
    ));
    out.push(field(lang, "notes", "textarea", f));
    Ok(out)
}

fn departure_statuses(lang: Lang) -> Vec<(String, String)> {
    DepartureStatus::ALL.iter().map(|s| (s.code().to_string(), s.label(lang == Lang::Zh).to_string())).collect()
}

/// The departures, with filters by product, status and month.
#[utoipa::path(get, path = "/departures", tag = "pages", security(("keyuan" = ["catalog.read"])), params(DepartureQuery),
    responses((status = 200, description = "departure list", content_type = "text/html")))]
async fn departures_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<DepartureQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let p = q.page();
    let page = store::departures::list(&state.store, &q.filter()?, p.limit()?, p.before()?).await?;
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link("/departures/new", lang.t("catalog.new")));
    }
    actions.push(link("/departures/calendar", lang.t("catalog.calendar")));
    let s = q.status.as_deref().filter(|s| !s.is_empty());
    let mut tabs = vec![Link { href: "/departures".into(), label: lang.t("catalog.all").into(), active: s.is_none() }];
    for (code, label) in departure_statuses(lang) {
        let active = s == Some(code.as_str());
        tabs.push(Link { href: format!("/departures?status={code}"), label, active });
    }
    let products = store::products::list(&state.store, &store::products::Filter::default(), 200, None).await?;
    let products =
        products.items.iter().map(|p| (p.id.to_string(), format!("{} {}", p.data.code, p.data.name))).collect();
    let mut cur = Map::new();
    for (k, v) in [("product_id", &q.product_id), ("status", &q.status), ("month", &q.month)] {
        cur.insert(k.into(), json!(v.clone().unwrap_or_default()));
    }
    let filters = vec![
        select(lang, "product_id", &cur, products, true),
        field(lang, "status", "hidden", &cur),
        field(lang, "month", "month", &cur),
    ];
    let rows = page
        .items
        .iter()
        .map(|d| {
            let mut r = departure_row(d, lang);
            r.insert(1, cell_link(d.product_name.clone(), format!("/products/{}", d.product_id)));
            r
        })
        .collect();
    let next = next_href(
        "/departures",
        &[("product_id", q.product_id.as_deref()), ("status", q.status.as_deref()), ("month", q.month.as_deref())],
        page.next,
    );
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.departures").await;
    render(&ListPage {
        shell,
        title: lang.t("catalog.departures").into(),
        path: "/departures",
        actions,
        tabs,
        filters,
        headers: headers(
            lang,
            &[
                "catalog.f.code",
                "catalog.f.product",
                "catalog.f.departure_date",
                "catalog.f.status",
                "catalog.f.capacity",
                "catalog.f.seats_left",
            ],
        ),
        rows,
        next,
    })
}

/// `?product_id=` of a new departure.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NewDepartureQuery {
    /// The product chosen in advance.
    product_id: Option<String>,
}

/// The form for a new departure.
#[utoipa::path(get, path = "/departures/new", tag = "pages", security(("keyuan" = ["catalog.write"])), params(NewDepartureQuery),
    responses((status = 200, description = "form", content_type = "text/html")))]
async fn departure_new(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<NewDepartureQuery>,
) -> Result<Html<String>, AppError> {
    let mut f = Map::new();
    if let Some(p) = q.product_id {
        f.insert("product_id".into(), json!(p));
    }
    let fields = departure_form_fields(&state, req.lang, &f, None).await?;
    let title = format!("{} · {}", req.lang.t("catalog.new"), req.lang.t("catalog.departures"));
    render(&form_page(&state, &req, "nav.departures", title, "/departures".into(), None, fields).await)
}

/// Creates a departure from the form.
#[utoipa::path(post, path = "/departures", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    responses((status = 303, description = "created"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn departure_create(
    State(state): State<AppState>,
    req: Req,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let (f, _) = form_fields(form);
    let result = async {
        let (d, status) = input::departure(&state, &f).await?;
        let mut tx = state.store.begin().await?;
        let dep =
            store::departures::create(&mut tx, &req.actor()?, &d, status.unwrap_or(DepartureStatus::Planning)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(dep)
    }
    .await;
    match result {
        Ok(d) => Ok(see_other(&format!("/departures/{}?saved=1", d.id))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.new"), req.lang.t("catalog.departures"));
            let fields = departure_form_fields(&state, req.lang, &f, None).await?;
            let page = form_page(&state, &req, "nav.departures", title, "/departures".into(), None, fields).await;
            refused(&state, &req, e, page).await
        }
    }
}

/// One departure: seats, the manifest (documents masked without
/// `customers.pii`) and the rooming list.
#[utoipa::path(get, path = "/departures/{id}", tag = "pages", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "departure id"), SavedQuery), responses((status = 200, description = "departure", content_type = "text/html")))]
async fn departure_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let (d, rows) = manifest_for(&state, &req, DepartureId(id)).await?;
    let props = vec![
        (lang.t("catalog.f.product").to_string(), format!("{} {}", d.product_code, d.product_name)),
        (lang.t("catalog.f.departure_date").into(), format!("{} ~ {}", d.departure_date, d.return_date)),
        (lang.t("catalog.f.status").into(), status_label(&d.status, lang)),
        (lang.t("catalog.f.capacity").into(), d.capacity.to_string()),
        (lang.t("catalog.f.booked").into(), d.booked.to_string()),
        (lang.t("catalog.f.seats_left").into(), d.seats_left.to_string()),
        (lang.t("catalog.f.leader").into(), opt(&d.leader_name)),
        (lang.t("catalog.f.guide_name").into(), opt(&d.guide_name)),
        (lang.t("catalog.f.adult_price").into(), d.adult_price.to_string()),
        (lang.t("catalog.f.child_price").into(), d.child_price.to_string()),
        (lang.t("catalog.f.notes").into(), opt(&d.notes)),
    ];
    let yes = lang.t("catalog.yes");
    let manifest = Section {
        id: "manifest",
        title: lang.t("catalog.manifest").into(),
        headers: headers(
            lang,
            &[
                "catalog.t.name",
                "catalog.t.gender",
                "catalog.t.birthday",
                "catalog.t.mobile",
                "catalog.t.id_card",
                "catalog.t.passport",
                "catalog.t.child",
                "catalog.t.room",
                "catalog.t.order",
            ],
        ),
        rows: rows
            .iter()
            .map(|t| {
                vec![
                    cell_link(t.name.clone(), format!("/customers/{}", t.customer_id)),
                    cell(opt(&t.gender)),
                    cell(opt(&t.birthday)),
                    cell(opt(&t.mobile)),
                    cell(opt(&t.id_card)),
                    cell(opt(&t.passport)),
                    cell(if t.is_child { yes } else { "" }),
                    cell(opt(&t.room)),
                    cell(t.order_no.clone()),
                ]
            })
            .collect(),
    };
    let mut by_room: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &rows {
        by_room.entry(t.room.clone().unwrap_or_else(|| "—".into())).or_default().push(t.name.clone());
    }
    let rooming = Section {
        id: "rooming",
        title: lang.t("catalog.rooming").into(),
        headers: headers(lang, &["catalog.t.room", "catalog.t.name"]),
        rows: by_room.into_iter().map(|(room, names)| vec![cell(room), cell(names.join("、"))]).collect(),
    };
    let mut actions = Vec::new();
    if can_write(&req) {
        actions.push(link(format!("/departures/{id}/edit"), lang.t("catalog.edit")));
    }
    actions.push(link(
        format!("/departures/{id}/manifest.xlsx"),
        format!("{} · {}", lang.t("catalog.manifest"), lang.t("catalog.export_xlsx")),
    ));
    actions.push(link(
        format!("/departures/{id}/rooming.xlsx"),
        format!("{} · {}", lang.t("catalog.rooming"), lang.t("catalog.export_xlsx")),
    ));
    actions.push(link(format!("/products/{}", d.product_id), lang.t("catalog.f.product")));
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.departures").await;
    let notice = q.saved.is_some().then(|| lang.t("common.saved"));
    render(&ShowPage {
        shell,
        title: format!("{} {}", d.code, d.product_name),
        notice,
        actions,
        props,
        sections: vec![manifest, rooming],
    })
}

/// The form to change a departure.
#[utoipa::path(get, path = "/departures/{id}/edit", tag = "pages", security(("keyuan" = ["catalog.write"])),
    params(("id" = i64, Path, description = "departure id")), responses((status = 200, description = "form", content_type = "text/html")))]
async fn departure_edit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Html<String>, AppError> {
    let d = store::departures::get(&state.store, DepartureId(id)).await?;
    let current = DepartureStatus::from_code(&d.status);
    let fields = departure_form_fields(&state, req.lang, &input::departure_fields(&d), current).await?;
    let title = format!("{} · {}", req.lang.t("catalog.edit"), d.code);
    render(
        &form_page(&state, &req, "nav.departures", title, format!("/departures/{id}"), Some(d.version), fields).await,
    )
}

/// Saves a changed departure.
#[utoipa::path(post, path = "/departures/{id}", tag = "pages", security(("keyuan" = ["catalog.write"])), request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "the form's fields"),
    params(("id" = i64, Path, description = "departure id")),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"), (status = 422, description = "form with problems", content_type = "text/html")))]
async fn departure_save(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let current = store::departures::get(&state.store, DepartureId(id)).await?;
    let (mut f, version) = form_fields(form);
    f.insert("product_id".into(), json!(current.product_id.0));
    let result = async {
        let (d, status) = input::departure(&state, &f).await?;
        let mut tx = state.store.begin().await?;
        store::departures::update(&mut tx, &req.actor()?, current.id, version.unwrap_or(0), &d, status).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/departures/{id}?saved=1"))),
        Err(e) => {
            let title = format!("{} · {}", req.lang.t("catalog.edit"), current.code);
            let fields =
                departure_form_fields(&state, req.lang, &f, DepartureStatus::from_code(&current.status)).await?;
            let page = form_page(
                &state,
                &req,
                "nav.departures",
                title,
                format!("/departures/{id}"),
                Some(current.version),
                fields,
            )
            .await;
            refused(&state, &req, e, page).await
        }
    }
}

/// `?month=2026-12`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// The month shown (default: this month).
    month: Option<String>,
}

struct Day {
    day: Option<u32>,
    items: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "catalog_calendar.html")]
struct CalendarPage {
    shell: Shell,
    month: String,
    prev: String,
    next: String,
    weekdays: Vec<String>,
    weeks: Vec<Vec<Day>>,
}

/// The month grid of departures, each with its seats left.
#[utoipa::path(get, path = "/departures/calendar", tag = "pages", security(("keyuan" = ["catalog.read"])), params(MonthQuery),
    responses((status = 200, description = "calendar", content_type = "text/html")))]
async fn calendar_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let first = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => super::parse_month(m)?,
        None => {
            let today = crate::customers::today_in(crate::customers::company_tz(&state).await?);
            today.with_day(1).unwrap_or(today)
        }
    };
    let month = first.format("%Y-%m").to_string();
    let deps = store::departures::calendar(&state.store, &month).await?;
    let next_first = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
    let prev_first = first.checked_sub_months(chrono::Months::new(1)).unwrap_or(first);
    let days_in = (next_first - first).num_days() as u32;
    let lead = first.weekday().num_days_from_monday();
    let mut weeks = Vec::new();
    let mut week: Vec<Day> = (0..lead).map(|_| Day { day: None, items: Vec::new() }).collect();
    for n in 1..=days_in {
        let date = format!("{month}-{n:02}");
        let items = deps
            .iter()
            .filter(|d| d.departure_date == date)
            .map(|d| {
                cell_link(
                    format!(
                        "{} · {} · {} {}",
                        d.code,
                        status_label(&d.status, lang),
                        lang.t("catalog.left"),
                        d.seats_left
                    ),
                    format!("/departures/{}", d.id),
                )
            })
            .collect();
        week.push(Day { day: Some(n), items });
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(Day { day: None, items: Vec::new() });
        }
        weeks.push(week);
    }
    let weekdays = lang.t("catalog.weekdays").split(' ').map(str::to_string).collect();
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.departures").await;
    render(&CalendarPage {
        shell,
        month,
        prev: prev_first.format("%Y-%m").to_string(),
        next: next_first.format("%Y-%m").to_string(),
        weekdays,
        weeks,
    })
}

async fn export(state: &AppState, req: &Req, id: i64, rooming: bool) -> Result<Response, AppError> {
    let (dep, rows) = manifest_for(state, req, DepartureId(id)).await?;
    let bytes = store::departures::manifest_xlsx(&dep, &rows, rooming)?;
    let what = if rooming { "rooming list" } else { "manifest" };
    store::departures::record_export(&state.store, &req.actor()?, dep.id, what, rows.len()).await?;
    let name = format!("{}-{}.xlsx", dep.code, if rooming { "rooming" } else { "manifest" });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The manifest as XLSX (documents masked unless `customers.pii`; audited).
#[utoipa::path(get, path = "/departures/{id}/manifest.xlsx", tag = "pages", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "departure id")), responses((status = 200, description = "XLSX workbook")))]
async fn manifest_xlsx(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    export(&state, &req, id, false).await
}

/// The rooming list as XLSX (audited).
#[utoipa::path(get, path = "/departures/{id}/rooming.xlsx", tag = "pages", security(("keyuan" = ["catalog.read"])),
    params(("id" = i64, Path, description = "departure id")), responses((status = 200, description = "XLSX workbook")))]
async fn rooming_xlsx(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    export(&state, &req, id, true).await
}
