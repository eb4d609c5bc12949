//! The customer forms: new (per kind) and edit, with every problem shown next
//! to its field, likely duplicates shown before a new customer is saved, and
//! the current values after someone else saved first.

use super::api::create;
use super::input::{check, custom_text, duplicates, field_for_kind, DocInput, Input, TagsInput};
use super::{enum_options, field_label, grade_options, Errors, Names, Problem};
use crate::admin::Opt;
use crate::ctx::{Principal, Req};
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
use domain::customer::{CustomerKind, Gender, LifecycleStage, PartnerType, SourceChannel};
use domain::ids::CustomerId;
use domain::FieldErrors;
use serde::Deserialize;
use std::collections::BTreeMap;
use store::customer_dupes::Candidate;
use store::customer_fields::FieldDef;
use store::customers::{Consent, Customer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(new_page))
        .routes(routes!(create_submit))
        .routes(routes!(edit_page))
        .routes(routes!(edit_submit))
}

/// The form's values by input name, as typed (or as stored, for an edit).
#[derive(Default, Clone)]
struct Values(BTreeMap<String, String>);

impl Values {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    fn flag(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Values {
        Values(pairs.into_iter().filter(|(k, _)| k != "csrf").collect())
    }

    fn of(c: &Customer) -> Values {
        let input = Input::of(c);
        let mut m: BTreeMap<String, String> =
            input.texts().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        m.insert("tags".into(), c.data.tags.join("，"));
        for (k, on) in consent_flags(c.data.consent) {
            if on {
                m.insert(k.into(), "1".into());
            }
        }
        for (k, v) in &c.data.custom {
            m.insert(format!("custom.{k}"), custom_text(v));
        }
        Values(m)
    }

    /// The input these values describe, for a customer of `kind`.
    fn input(&self, kind: &str) -> Input {
        let mut i = Input { kind: kind.to_string(), ..Input::default() };
        for (k, v) in &self.0 {
            if let Some(key) = k.strip_prefix("custom.") {
                i.custom.insert(key.to_string(), v.clone());
            } else {
                i.set_text(k, v.clone());
            }
        }
        for (doc, slot) in [("id_card", &mut i.id_card), ("passport", &mut i.passport)] {
            *slot = if self.flag(&format!("{doc}_remove")) {
                DocInput::Clear
            } else if self.get(doc).trim().is_empty() {
                DocInput::Keep
            } else {
                DocInput::Set(self.get(doc).to_string())
            };
        }
        i.tags = TagsInput::Text(self.get("tags").to_string());
        i.consent = Consent {
            email: self.flag("consent_email"),
            sms: self.flag("consent_sms"),
            wechat: self.flag("consent_wechat"),
            phone: self.flag("consent_phone"),
        };
        i
    }
}

fn consent_flags(c: Consent) -> [(&'static str, bool); 4] {
    [("consent_email", c.email), ("consent_sms", c.sms), ("consent_wechat", c.wechat), ("consent_phone", c.phone)]
}

/// One input of the form.
pub(crate) struct FieldView {
    name: String,
    label: String,
    /// `text`, `tel`, `email`, `date`, `number`, `textarea`, `select`,
    /// `checkbox` or `static` (shown, not editable).
    control: &'static str,
    value: String,
    options: Vec<Opt>,
    error: Option<String>,
    required: bool,
    max: usize,
    hint: Option<String>,
    /// For stored documents: the "remove" checkbox (name, ticked).
    remove: Option<(String, bool)>,
    checked: bool,
}

impl FieldView {
    fn new(name: &str, label: String, control: &'static str, value: &str) -> FieldView {
        FieldView {
            name: name.to_string(),
            label,
            control,
            value: value.to_string(),
            options: Vec::new(),
            error: None,
            required: false,
            max: 0,
            hint: None,
            remove: None,
            checked: false,
        }
    }
}

pub(crate) struct SectionView {
    legend: &'static str,
    fields: Vec<FieldView>,
}

/// A likely duplicate shown before saving.
pub(crate) struct CandidateView {
    id: i64,
    code: String,
    name: String,
    detail: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "customers_form.html")]
struct FormPage {
    shell: Shell,
    title: String,
    action: String,
    kind: &'static str,
    version: Option<i64>,
    cancel: String,
    sections: Vec<SectionView>,
    errors: Errors,
    candidates: Vec<CandidateView>,
}

fn reason_label(code: &str, lang: Lang) -> String {
    match code {
        "same_mobile"
        | "same_id_card"
        | "same_passport"
        | "same_email"
        | "same_name_similar_phone"
        | "same_name_same_company" => lang.t(&format!("customers.dup.{code}")).to_string(),
        other => other.to_string(),
    }
}

/// Everything needed to draw the form.
struct Draw<'a> {
    kind: CustomerKind,
    current: Option<&'a Customer>,
    values: Values,
    errors: Errors,
    candidates: &'a [Candidate],
}

async fn draw(state: &AppState, req: &Req, d: Draw<'_>) -> Result<Html<String>, AppError> {
    let me = req.user()?;
    let lang = req.lang;
    let kind = d.kind;
    let defs = store::customer_fields::definitions(&state.store, kind.code(), false).await?;
    let required = store::customer_fields::required_builtin(&state.store, kind.code()).await?;
    let values = &d.values;
    let errors = &d.errors;
    let mk = |name: &str, control: &'static str, max: usize| {
        let mut f = FieldView::new(name, field_label(name, lang, &defs), control, values.get(name));
        f.error = errors.get(name).map(str::to_string);
        f.required = name == "name" || required.iter().any(|r| r == name);
        f.max = max;
        f
    };
    let select = |name: &str, options: Vec<Opt>| {
        let mut f = mk(name, "select", 0);
        f.options = options;
        f
    };
    let none = Some(lang.t("customers.not_given"));
    let mut sections = Vec::new();

    let mut basic = vec![mk("name", "text", 100)];
    match kind {
        CustomerKind::Individual => {
            basic.push(select("gender", enum_options!(Gender, values.get("gender"), lang, none)));
            basic.push(mk("birthday", "date", 0));
            let mut lunar = mk("lunar_birthday", "text", 20);
            lunar.hint = Some(lang.t("customers.lunar_hint").into());
            basic.push(lunar);
        }
        CustomerKind::Organization => basic.push(mk("industry", "text", 64)),
        CustomerKind::Partner => {
            basic.push(select("partner_type", enum_options!(PartnerType, values.get("partner_type"), lang, none)));
            basic.push(mk("license_no", "text", 64));
        }
    }
    sections.push(SectionView { legend: "customers.section.basic", fields: basic });

    if kind == CustomerKind::Individual {
        let mut docs = Vec::new();
        for (doc, stored, has) in [
            (
                "id_card",
                d.current.and_then(|c| c.data.id_card_masked.clone()),
                d.current.is_some_and(|c| c.has_id_card),
            ),
            (
                "passport",
                d.current.and_then(|c| c.data.passport_masked.clone()),
                d.current.is_some_and(|c| c.has_passport),
            ),
        ] {
            let mut f = mk(doc, "text", 32);
            if has {
                f.hint = Some(format!("{} {}", lang.t("customers.doc_stored"), stored.unwrap_or_default()));
                f.remove = Some((format!("{doc}_remove"), values.flag(&format!("{doc}_remove"))));
            }
            f.value = values.get(doc).to_string();
            docs.push(f);
        }
        docs.push(mk("passport_expiry", "date", 0));
        sections.push(SectionView { legend: "customers.section.documents", fields: docs });
        sections.push(SectionView {
            legend: "customers.section.work",
            fields: vec![mk("employer", "text", 100), mk("title", "text", 64)],
        });
    }
    sections.push(SectionView {
        legend: "customers.reach",
        fields: vec![
            mk("mobile", "tel", 20),
            mk("mobile2", "tel", 20),
            mk("landline", "tel", 32),
            mk("email", "email", 254),
            mk("wechat", "text", 64),
            mk("fax", "tel", 32),
        ],
    });
    sections.push(SectionView {
        legend: "customers.section.address",
        fields: vec![
            mk("province", "text", 32),
            mk("city", "text", 32),
            mk("district", "text", 32),
            mk("address", "text", 200),
        ],
    });
    if kind == CustomerKind::Individual {
        sections.push(SectionView {
            legend: "customers.preferences",
            fields: vec![
                mk("diet", "text", 200),
                mk("room_pref", "text", 200),
                mk("seat_pref", "text", 200),
                mk("hobbies", "text", 200),
            ],
        });
    }

    // Relationship: source, owner, stage, grade, tags.
    let mut rel = vec![
        select("source", enum_options!(SourceChannel, values.get("source"), lang, none)),
        mk("source_detail", "text", 100),
    ];
    let current_owner = d.current.map(|c| c.data.owner_id).unwrap_or(me.user.id);
    let owner_value =
        if values.get("owner_id").is_empty() { current_owner.to_string() } else { values.get("owner_id").to_string() };
    if me.can(Permission::CustomersReassign) {
        let mut opts: Vec<Opt> = store::users::all_active(&state.store)
            .await?
            .into_iter()
            .map(|u| Opt::new(u.id, u.display_name, &owner_value))
            .collect();
        if !opts.iter().any(|o| o.value == current_owner.to_string()) {
            let name = Names::default().of(state, current_owner).await?;
            opts.insert(0, Opt::new(current_owner, name, &owner_value));
        }
        rel.push(select("owner_id", opts));
    } else {
        let mut f = mk("owner_id", "static", 0);
        f.value = Names::default().of(state, current_owner).await?;
        rel.push(f);
    }
    let stage = if values.get("stage").is_empty() { "potential" } else { values.get("stage") };
    rel.push(select("stage", enum_options!(LifecycleStage, stage, lang, None::<&str>)));
    rel.push(select("grade", grade_options(values.get("grade"), lang)));
    let mut tags = mk("tags", "text", 400);
    tags.hint = Some(lang.t("customers.tags_hint").into());
    rel.push(tags);
    sections.push(SectionView { legend: "customers.section.relationship", fields: rel });

    let consent = consent_flags(Consent::default())
        .iter()
        .map(|(name, _)| {
            let mut f =
                FieldView::new(name, lang.t(&format!("customers.consent.{}", &name[8..])).into(), "checkbox", "1");
            f.checked = values.flag(name);
            f
        })
        .collect();
    sections.push(SectionView { legend: "customers.f.consent", fields: consent });

    if !defs.is_empty() {
        let custom = defs
            .iter()
            .map(|def: &FieldDef| {
                let name = format!("custom.{}", def.key);
                let control = match def.field_type.as_str() {
                    "number" => "number",
                    "date" => "date",
                    "choice" => "select",
                    _ => "text",
                };
                let mut f = mk(&name, control, if control == "text" { 500 } else { 0 });
                f.required = def.required;
                if control == "select" {
                    f.options = std::iter::once(Opt::new("", lang.t("customers.not_given"), values.get(&name)))
                        .chain(def.choices.iter().map(|c| Opt::new(c, c.clone(), values.get(&name))))
                        .collect();
                }
                f
            })
            .collect();
        sections.push(SectionView { legend: "customers.section.custom", fields: custom });
    }
    sections.push(SectionView { legend: "customers.f.notes", fields: vec![mk("notes", "textarea", 2000)] });

    let candidates = d
        .candidates
        .iter()
        .map(|c| CandidateView {
            id: c.customer.id.0,
            code: c.customer.code.clone(),
            name: c.customer.data.name.clone(),
            detail: [&c.customer.data.mobile, &c.customer.data.employer, &c.customer.data.city]
                .iter()
                .filter_map(|v| v.as_deref())
                .collect::<Vec<_>>()
                .join(" · "),
            reasons: c.reasons.iter().map(|r| reason_label(r, lang)).collect::<Vec<_>>().join("、"),
        })
        .collect();
    let (title, action, cancel) = match d.current {
        Some(c) => (
            format!("{} · {} {}", lang.t("customers.edit"), c.code, c.data.name),
            format!("/customers/{}", c.id),
            format!("/customers/{}", c.id),
        ),
        None => (
            format!("{} · {}", lang.t("customers.new"), kind.label(lang == Lang::Zh)),
            "/customers".to_string(),
            "/customers".to_string(),
        ),
    };
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.customers").await;
    render(&FormPage {
        shell,
        title,
        action,
        kind: kind.code(),
        version: d.current.map(|c| c.version),
        cancel,
        sections,
        errors: d.errors,
        candidates,
    })
}

/// Which kind of customer to create.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NewQuery {
    /// `individual` (default), `organization` or `partner`.
    kind: Option<String>,
}

fn kind_of(s: Option<&str>) -> Result<CustomerKind, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(CustomerKind::Individual),
        Some(k) => Ok(CustomerKind::parse("kind", k)?),
    }
}

/// The form for a new customer of one kind.
#[utoipa::path(get, path = "/customers/new", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(NewQuery),
    responses((status = 200, description = "new customer form", content_type = "text/html")))]
async fn new_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<NewQuery>,
) -> Result<Html<String>, AppError> {
    let kind = kind_of(q.kind.as_deref())?;
    let values = Values(BTreeMap::from([("stage".to_string(), "potential".to_string())]));
    draw(&state, &req, Draw { kind, current: None, values, errors: Errors::default(), candidates: &[] }).await
}

/// Creates a customer from the form. Likely duplicates are shown first with
/// a "save anyway" button (`confirm_duplicate=1`).
#[utoipa::path(post, path = "/customers", tag = "pages", security(("keyuan" = ["customers.write"])),
    request_body(content = String, description = "the customer form's fields", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "created; to the customer"),
        (status = 409, description = "likely duplicates, shown with the form", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let me: &Principal = req.user()?;
    let values = Values::from_pairs(pairs);
    let kind = kind_of(Some(values.get("kind")))?;
    let mut input = values.input(kind.code());
    // New customers have nothing stored to remove.
    for doc in [&mut input.id_card, &mut input.passport] {
        if *doc == DocInput::Clear {
            *doc = DocInput::Keep;
        }
    }
    let confirmed = values.flag("confirm_duplicate");
    let result = match check(&state, me, &input, None, FieldErrors::new()).await {
        Ok(checked) => {
            let vis = req.visibility(&state, Permission::CustomersRead).await?;
            let found = if confirmed { Vec::new() } else { duplicates(&state, &vis, &checked).await? };
            if !found.is_empty() {
                let values = Values(values.0.into_iter().filter(|(k, _)| k != "confirm_duplicate").collect());
                let html = draw(
                    &state,
                    &req,
                    Draw { kind, current: None, values, errors: Errors::default(), candidates: &found },
                )
                .await?;
                return Ok((StatusCode::CONFLICT, html).into_response());
            }
            create(&state, &req, &checked).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Ok(see_other(&format!("/customers/{}?saved=1", c.id))),
        Err(e) => {
            let problem = Problem::from_error(e)?;
            let defs = store::customer_fields::definitions(&state.store, kind.code(), true).await?;
            let errors = problem.errors(req.lang, &defs);
            let html = draw(&state, &req, Draw { kind, current: None, values, errors, candidates: &[] }).await?;
            Ok((problem.status(), html).into_response())
        }
    }
}

async fn writable(state: &AppState, req: &Req, id: i64) -> Result<Customer, AppError> {
    let vis = req.visibility(state, Permission::CustomersWrite).await?;
    Ok(store::customers::get(&state.store, &vis, CustomerId(id)).await?)
}

/// The form to change a customer.
#[utoipa::path(get, path = "/customers/{id}/edit", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "customer form", content_type = "text/html"), (status = 404, description = "no such customer")))]
async fn edit_page(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Html<String>, AppError> {
    let c = writable(&state, &req, id).await?;
    let kind = CustomerKind::parse("kind", &c.data.kind)?;
    let values = Values::of(&c);
    draw(&state, &req, Draw { kind, current: Some(&c), values, errors: Errors::default(), candidates: &[] }).await
}

/// Saves a customer. A stale `version` shows the form again with what is
/// stored now and a message (409).
#[utoipa::path(post, path = "/customers/{id}", tag = "pages", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")),
    request_body(content = String, description = "the customer form's fields and `version`", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 404, description = "no such customer"),
        (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the form with its problems", content_type = "text/html")))]
async fn edit_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let me = req.user()?;
    let current = writable(&state, &req, id).await?;
    let values = Values::from_pairs(pairs);
    let version = crate::admin::form_version(values.get("version"))?;
    let kind = CustomerKind::parse("kind", &current.data.kind)?;
    let mut input = values.input(kind.code());
    // A form without the fields of a kind leaves nothing behind for it.
    for (field, _) in Input::of(&current).texts() {
        if !field_for_kind(field, kind) {
            input.set_text(field, String::new());
        }
    }
    let result = match check(&state, me, &input, Some(&current), FieldErrors::new()).await {
        Ok(checked) => {
            let vis = req.visibility(&state, Permission::CustomersWrite).await?;
            let mut tx = state.store.begin().await?;
            match store::customers::update(
                &mut tx,
                &state.store,
                &req.actor()?,
                &vis,
                current.id,
                version,
                &checked.draft,
            )
            .await
            {
                Ok(c) => {
                    tx.commit().await?;
                    Ok(c)
                }
                Err(e) => Err(AppError::from(e)),
            }
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Ok(see_other(&format!("/customers/{}?saved=1", c.id))),
        Err(e) => {
            let problem = Problem::from_error(e)?;
            let defs = store::customer_fields::definitions(&state.store, kind.code(), true).await?;
            let errors = problem.errors(req.lang, &defs);
            // After a stale save the form shows what is stored now, so the
            // person sees the other change before applying theirs again.
            let (current, values) = match problem {
                Problem::Stale => {
                    let vis = req.visibility(&state, Permission::CustomersWrite).await?;
                    let now = store::customers::get(&state.store, &vis, current.id).await?;
                    let v = Values::of(&now);
                    (now, v)
                }
                Problem::Invalid(_) => (current, values),
            };
            let html =
                draw(&state, &req, Draw { kind, current: Some(&current), values, errors, candidates: &[] }).await?;
            Ok((problem.status(), html).into_response())
        }
    }
}
