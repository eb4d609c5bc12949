//! The 360° customer page: profile by kind, masked documents with an audited
//! "show" button, contacts, intentions, tags, consent, the value card, quick
//! entry of an interaction, and one timeline, newest first.

use super::api::{DocQuery, TimelineQuery};
use super::contacts::{ContactBody, IntentionBody};
use super::input::custom_text;
use super::interactions::{default_department, InteractionBody};
use super::{
    channel_label, company_tz, contact_role_label, department_label, direction_label, enum_options, gender_label,
    intention_status_label, kind_label, partner_type_label, source_label, stage_label, today_in, Errors, Names,
    Problem, INTENTION_STATUSES,
};
use crate::admin::Opt;
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::ApiQuery;
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use domain::access::Permission;
use domain::customer::{passport_expiry_warning, Channel, ContactRole, CustomerKind, Department, Direction};
use domain::ids::CustomerId;
use domain::money::Money;
use serde::Deserialize;
use std::collections::BTreeMap;
use store::customers::{Contact, Customer, Document, Intention};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show_page)).routes(routes!(reveal_submit))
}

/// Values of a sub-form shown again after a problem.
#[derive(Default)]
pub(crate) struct Echo(BTreeMap<&'static str, String>);

impl Echo {
    /// The value typed into `field` (empty if none).
    pub(crate) fn v(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }

    pub(crate) fn interaction(b: &InteractionBody) -> Echo {
        Echo(BTreeMap::from([
            ("channel", b.channel.clone()),
            ("direction", b.direction.clone()),
            ("department", b.department.clone()),
            ("summary", b.summary.clone()),
            ("occurred_at", b.occurred_at.clone()),
            ("preference_kind", b.preference_kind.clone()),
            ("preference", b.preference.clone()),
        ]))
    }

    pub(crate) fn contact(b: &ContactBody) -> Echo {
        Echo(BTreeMap::from([
            ("name", b.name.clone()),
            ("role", b.role.clone()),
            ("title", b.title.clone()),
            ("mobile", b.mobile.clone()),
            ("landline", b.landline.clone()),
            ("email", b.email.clone()),
            ("wechat", b.wechat.clone()),
            ("is_primary", if b.is_primary { "1".into() } else { String::new() }),
        ]))
    }

    pub(crate) fn intention(b: &IntentionBody) -> Echo {
        Echo(BTreeMap::from([
            ("destination", b.destination.clone()),
            ("period", b.period.clone()),
            ("budget", b.budget.clone()),
            ("party_size", b.party_size.clone()),
            ("notes", b.notes.clone()),
        ]))
    }
}

/// What a page shows beyond the stored record.
#[derive(Default)]
pub(crate) struct Extra {
    /// The sub-form the problem belongs to (`interaction`, `contacts`, `intentions`).
    pub section: &'static str,
    pub problem: Option<Problem>,
    pub echo: Echo,
    /// A number just revealed.
    pub revealed: Option<(Document, Option<String>)>,
    /// The timeline filter.
    pub timeline_kind: Option<&'static str>,
    /// A "saved" notice.
    pub notice: Option<&'static str>,
}

/// A labelled value of the profile.
pub(crate) struct Field {
    label: String,
    value: String,
}

/// A group of profile values.
pub(crate) struct Section {
    title: &'static str,
    fields: Vec<Field>,
}

/// A masked document with its reveal button.
pub(crate) struct Doc {
    code: &'static str,
    label: &'static str,
    masked: String,
    revealed: Option<String>,
    warning: Option<&'static str>,
    expiry: Option<String>,
}

pub(crate) struct ContactRow {
    c: Contact,
    role: String,
}

pub(crate) struct IntentionRow {
    i: Intention,
    budget: String,
    status: String,
    statuses: Vec<Opt>,
}

pub(crate) struct TimelineRow {
    at: i64,
    kind: String,
    kind_label: &'static str,
    title: String,
    detail: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "customers_show.html")]
struct ShowPage {
    shell: Shell,
    c: Customer,
    kind_label: String,
    stage_label: String,
    owner_name: String,
    merged_into: Option<(i64, String)>,
    sections: Vec<Section>,
    docs: Vec<Doc>,
    consent: Vec<(&'static str, bool)>,
    custom: Vec<Field>,
    has_contacts: bool,
    contacts: Vec<ContactRow>,
    intentions: Vec<IntentionRow>,
    timeline: Vec<TimelineRow>,
    timeline_filters: Vec<(&'static str, &'static str, bool)>,
    can_write: bool,
    can_pii: bool,
    section: &'static str,
    errors: Errors,
    echo: Echo,
    notice: Option<&'static str>,
    channels: Vec<Opt>,
    directions: Vec<Opt>,
    departments: Vec<Opt>,
    pref_kinds: Vec<Opt>,
    roles: Vec<Opt>,
    value: crate::value::Card,
}

impl ShowPage {
    /// Whether the problem box belongs to `section`.
    fn problem_in(&self, section: &str) -> bool {
        self.section == section && self.errors.any()
    }
}

fn field(lang: Lang, key: &str, v: &Option<String>) -> Option<Field> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| Field { label: super::field_label(key, lang, &[]), value: v.to_string() })
}

fn labelled(lang: Lang, key: &str, v: &Option<String>, f: fn(&str, Lang) -> String) -> Option<Field> {
    field(lang, key, &v.as_deref().map(|code| f(code, lang)))
}

fn sections(c: &Customer, lang: Lang) -> Vec<Section> {
    let d = &c.data;
    let kind = CustomerKind::from_code(&d.kind);
    let mut profile = Vec::new();
    match kind {
        Some(CustomerKind::Individual) => {
            profile.push(labelled(lang, "gender", &d.gender, gender_label));
            profile.push(field(lang, "birthday", &d.birthday));
            profile.push(field(lang, "lunar_birthday", &d.lunar_birthday));
            profile.push(field(lang, "employer", &d.employer));
            profile.push(field(lang, "title", &d.title));
        }
        Some(CustomerKind::Organization) => profile.push(field(lang, "industry", &d.industry)),
        Some(CustomerKind::Partner) => {
            profile.push(labelled(lang, "partner_type", &d.partner_type, partner_type_label));
            profile.push(field(lang, "license_no", &d.license_no));
        }
        None => {}
    }
    profile.push(labelled(lang, "source", &d.source, source_label));
    profile.push(field(lang, "source_detail", &d.source_detail));
    profile.push(field(lang, "notes", &d.notes));
    let place: Vec<&str> =
        [&d.province, &d.city, &d.district, &d.address].iter().filter_map(|v| v.as_deref()).collect();
    let reach = vec![
        field(lang, "mobile", &d.mobile),
        field(lang, "mobile2", &d.mobile2),
        field(lang, "landline", &d.landline),
        field(lang, "email", &d.email),
        field(lang, "wechat", &d.wechat),
        field(lang, "fax", &d.fax),
        field(lang, "address", &(!place.is_empty()).then(|| place.join(" "))),
    ];
    let mut out = vec![
        Section { title: "customers.profile", fields: profile.into_iter().flatten().collect() },
        Section { title: "customers.reach", fields: reach.into_iter().flatten().collect() },
    ];
    if kind == Some(CustomerKind::Individual) {
        let prefs = vec![
            field(lang, "diet", &d.diet),
            field(lang, "room_pref", &d.room_pref),
            field(lang, "seat_pref", &d.seat_pref),
            field(lang, "hobbies", &d.hobbies),
        ];
        out.push(Section { title: "customers.preferences", fields: prefs.into_iter().flatten().collect() });
    }
    out
}

/// Interaction details are stored as codes (`phone · inbound · sales`).
fn interaction_detail(detail: &str, lang: Lang) -> String {
    detail
        .split(" · ")
        .map(|part| {
            if Channel::from_code(part).is_some() {
                channel_label(part, lang)
            } else if Direction::from_code(part).is_some() {
                direction_label(part, lang)
            } else if Department::from_code(part).is_some() {
                department_label(part, lang)
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Renders the 360° page of a customer the caller may see.
pub(crate) async fn page(state: &AppState, req: &Req, id: CustomerId, extra: Extra) -> Result<Html<String>, AppError> {
    let me = req.user()?;
    let lang = req.lang;
    let vis = req.visibility(state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, id).await?;
    let can_write = me.can(Permission::CustomersWrite);
    let can_pii = me.can(Permission::CustomersPii);
    let today = today_in(company_tz(state).await?);
    let mut names = Names::default();
    let owner_name = names.of(state, c.data.owner_id).await?;
    let merged_into = match c.merged_into_id {
        Some(m) => match store::customers::get(&state.store, &vis, m).await {
            Ok(s) => Some((m.0, format!("{} {}", s.code, s.data.name))),
            Err(store::StoreError::NotFound) => Some((m.0, format!("#{m}"))),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let revealed = |doc: Document| match &extra.revealed {
        Some((d, v)) if *d == doc => Some(v.clone().unwrap_or_else(|| "—".into())),
        _ => None,
    };
    let mut docs = Vec::new();
    if c.has_id_card || c.data.id_card_masked.is_some() {
        docs.push(Doc {
            code: "id_card",
            label: "customers.f.id_card",
            masked: c.data.id_card_masked.clone().unwrap_or_default(),
            revealed: revealed(Document::IdCard),
            warning: None,
            expiry: None,
        });
    }
    if c.has_passport || c.data.passport_masked.is_some() || c.data.passport_expiry.is_some() {
        let expiry = c.data.passport_expiry.clone();
        let warning = expiry
            .as_deref()
            .and_then(|e| e.parse().ok())
            .and_then(|e| passport_expiry_warning(e, today))
            .map(|w| if w == "expired" { "customers.passport_expired" } else { "customers.passport_expiring" });
        docs.push(Doc {
            code: "passport",
            label: "customers.f.passport",
            masked: c.data.passport_masked.clone().unwrap_or_else(|| "—".into()),
            revealed: revealed(Document::Passport),
            warning,
            expiry,
        });
    }
    let consent = vec![
        ("customers.consent.email", c.data.consent.email),
        ("customers.consent.sms", c.data.consent.sms),
        ("customers.consent.wechat", c.data.consent.wechat),
        ("customers.consent.phone", c.data.consent.phone),
    ];
    let defs = store::customer_fields::definitions(&state.store, &c.data.kind, true).await?;
    let custom = c
        .data
        .custom
        .iter()
        .map(|(k, v)| Field { label: super::field_label(&format!("custom.{k}"), lang, &defs), value: custom_text(v) })
        .filter(|f| !f.value.is_empty())
        .collect();
    let has_contacts = c.data.kind != CustomerKind::Individual.code();
    let contacts = store::customers::contacts(&state.store, c.id)
        .await?
        .into_iter()
        .map(|c| ContactRow { role: contact_role_label(&c.role, lang), c })
        .collect();
    let intentions = store::customers::intentions(&state.store, c.id)
        .await?
        .into_iter()
        .map(|i| IntentionRow {
            budget: i.budget_fen.map(|f| format!("¥{}", Money(f))).unwrap_or_default(),
            status: intention_status_label(&i.status, lang),
            statuses: INTENTION_STATUSES
                .iter()
                .map(|s| Opt::new(s, intention_status_label(s, lang), &i.status))
                .collect(),
            i,
        })
        .collect();
    let kinds: Vec<&str> = extra.timeline_kind.into_iter().collect();
    let timeline = store::customers::timeline(&state.store, c.id, &kinds, 200)
        .await?
        .into_iter()
        .map(|t| TimelineRow {
            at: t.at,
            kind_label: timeline_label(&t.kind),
            detail: if t.kind == "interaction" { interaction_detail(&t.detail, lang) } else { t.detail },
            kind: t.kind,
            title: t.title,
            actor: t.actor.unwrap_or_default(),
        })
        .collect();
    let timeline_kind = extra.timeline_kind.unwrap_or("");
    let mut timeline_filters = vec![("", "common.all", timeline_kind.is_empty())];
    timeline_filters
        .extend(store::customers::TIMELINE_KINDS.iter().map(|k| (*k, timeline_label(k), timeline_kind == *k)));
    let errors = match &extra.problem {
        Some(p) => p.errors(lang, &defs),
        None => Errors::default(),
    };
    let echo = extra.echo;
    let or = |v: &str, d: &str| if v.is_empty() { d.to_string() } else { v.to_string() };
    let department = default_department(&me.user.role_code).code();
    let channels = enum_options!(Channel, &or(echo.v("channel"), "phone"), lang, None::<&str>);
    let directions = enum_options!(Direction, &or(echo.v("direction"), "outbound"), lang, None::<&str>);
    let departments = enum_options!(Department, &or(echo.v("department"), department), lang, None::<&str>);
    let pk = echo.v("preference_kind");
    let pref_kinds = vec![
        Opt::new("room", lang.t("customers.f.room_pref"), pk),
        Opt::new("diet", lang.t("customers.f.diet"), pk),
        Opt::new("seat", lang.t("customers.f.seat_pref"), pk),
    ];
    let roles = enum_options!(ContactRole, echo.v("role"), lang, None::<&str>);
    let value = crate::value::card(state, req, &c).await?;
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.customers").await;
    render(&ShowPage {
        shell,
        kind_label: kind_label(&c.data.kind, lang),
        stage_label: stage_label(&c.data.stage, lang),
        owner_name,
        merged_into,
        sections: sections(&c, lang),
        docs,
        consent,
        custom,
        has_contacts,
        contacts,
        intentions,
        timeline,
        timeline_filters,
        can_write,
        can_pii,
        section: extra.section,
        errors,
        echo,
        notice: extra.notice,
        channels,
        directions,
        departments,
        pref_kinds,
        roles,
        value,
        c,
    })
}

/// `?kind=` filters the timeline; `?saved=` shows that a change was saved.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ShowQuery {
    /// `interaction` or `change`.
    kind: Option<String>,
    /// Show a "saved" notice.
    saved: Option<String>,
}

/// The 360° customer page.
#[utoipa::path(get, path = "/customers/{id}", tag = "pages", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id"), ShowQuery),
    responses((status = 200, description = "the customer", content_type = "text/html"), (status = 404, description = "no such customer")))]
async fn show_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let timeline_kind = TimelineQuery { kind: q.kind, limit: None }.kind()?;
    let notice = q.saved.map(|_| req.lang.t("common.saved"));
    page(&state, &req, CustomerId(id), Extra { timeline_kind, notice, ..Default::default() }).await
}

/// Shows a stored ID card or passport number in full on the 360° page
/// (`customers.pii` for this customer; audited). Not cached by the browser.
#[utoipa::path(post, path = "/customers/{id}/reveal", tag = "pages", security(("keyuan" = ["customers.pii"])),
    params(("id" = i64, Path, description = "customer id"), DocQuery),
    responses((status = 200, description = "the page with the number shown", content_type = "text/html"), (status = 404, description = "no such customer")))]
async fn reveal_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<DocQuery>,
) -> Result<Response, AppError> {
    let doc = q.document()?;
    let vis = req.visibility(&state, Permission::CustomersPii).await?;
    let value = store::customers::reveal(&state.store, &req.actor()?, &vis, CustomerId(id), doc).await?;
    let html = page(&state, &req, CustomerId(id), Extra { revealed: Some((doc, value)), ..Default::default() }).await?;
    let mut r = html.into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The interface text naming a timeline kind.
fn timeline_label(kind: &str) -> &'static str {
    match kind {
        "interaction" => "customers.timeline.interaction",
        "order" => "customers.timeline.order",
        "receipt" => "customers.timeline.receipt",
        "quote" => "customers.timeline.quote",
        "opportunity" => "customers.timeline.opportunity",
        _ => "customers.timeline.change",
    }
}
