//! `/api/v1/customers`: list and search, create (with the likely-duplicate
//! check), read, change with `version`, reveal a document number, and the
//! timeline.

use super::input::{check, duplicates, Checked, DocInput, Input, TagsInput};
use super::query::ListQuery;
use super::Names;
use crate::ctx::Req;
use crate::error::{AppError, ErrorMark};
use crate::json::{rfc3339, ApiJson, ApiQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::access::Permission;
use domain::customer::passport_expiry_warning;
use domain::ids::CustomerId;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use store::customer_dupes::Candidate;
use store::customers::{Customer, Document};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch))
        .routes(routes!(api_reveal))
        .routes(routes!(api_timeline))
}

/// Marketing consent per channel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentOut {
    email: bool,
    sms: bool,
    wechat: bool,
    phone: bool,
}

/// A customer. ID card and passport numbers appear only masked; see
/// `POST /api/v1/customers/{id}/reveal`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CustomerOut {
    id: i64,
    /// Stable code (`C000123`) that imports and exports use.
    code: String,
    /// `individual`, `organization` or `partner`.
    kind: String,
    name: String,
    /// Toneless pinyin of the name (张三 → `zhangsan`).
    name_pinyin: String,
    /// Pinyin initials (张三 → `zs`).
    name_initials: String,
    /// `male`, `female`, `unknown`.
    gender: Option<String>,
    /// Solar birthday, ISO date.
    birthday: Option<String>,
    /// Lunar birthday as entered.
    lunar_birthday: Option<String>,
    /// `110105********002X`.
    id_card_masked: Option<String>,
    /// `E1*****78`.
    passport_masked: Option<String>,
    passport_expiry: Option<String>,
    /// `expired` or `expires_within_6_months` (as of today).
    passport_warning: Option<String>,
    employer: Option<String>,
    title: Option<String>,
    mobile: Option<String>,
    mobile2: Option<String>,
    landline: Option<String>,
    email: Option<String>,
    wechat: Option<String>,
    fax: Option<String>,
    province: Option<String>,
    city: Option<String>,
    district: Option<String>,
    address: Option<String>,
    hobbies: Option<String>,
    diet: Option<String>,
    room_pref: Option<String>,
    seat_pref: Option<String>,
    /// Source channel code.
    source: Option<String>,
    source_detail: Option<String>,
    /// `upstream_agency`, `ground_handler`, `agent`.
    partner_type: Option<String>,
    industry: Option<String>,
    license_no: Option<String>,
    notes: Option<String>,
    consent: ConsentOut,
    owner_id: i64,
    owner_name: String,
    team_id: Option<i64>,
    /// Lifecycle stage code.
    stage: String,
    /// `A`–`D`.
    grade: Option<String>,
    tags: Vec<String>,
    /// Custom fields: key → value.
    #[schema(value_type = Object)]
    custom: BTreeMap<String, Value>,
    /// RFC 3339.
    last_contact_at: Option<String>,
    merged_into_id: Option<i64>,
    restricted: bool,
    erased_at: Option<String>,
    has_id_card: bool,
    has_passport: bool,
    created_at: String,
    updated_at: String,
    /// Send back when changing the customer.
    version: i64,
}

impl CustomerOut {
    pub(crate) async fn build(
        state: &AppState,
        names: &mut Names,
        today: chrono::NaiveDate,
        c: Customer,
    ) -> Result<CustomerOut, AppError> {
        let owner_name = names.of(state, c.data.owner_id).await?;
        let d = c.data;
        let warning = d
            .passport_expiry
            .as_deref()
            .and_then(|e| e.parse().ok())
            .and_then(|e| passport_expiry_warning(e, today))
            .map(str::to_string);
        Ok(CustomerOut {
            id: c.id.0,
            code: c.code,
            kind: d.kind,
            name: d.name,
            name_pinyin: d.name_pinyin,
            name_initials: d.name_initials,
            gender: d.gender,
            birthday: d.birthday,
            lunar_birthday: d.lunar_birthday,
            id_card_masked: d.id_card_masked,
            passport_masked: d.passport_masked,
            passport_expiry: d.passport_expiry,
            passport_warning: warning,
            employer: d.employer,
            title: d.title,
            mobile: d.mobile,
            mobile2: d.mobile2,
            landline: d.landline,
            email: d.email,
            wechat: d.wechat,
            fax: d.fax,
            province: d.province,
            city: d.city,
            district: d.district,
            address: d.address,
            hobbies: d.hobbies,
            diet: d.diet,
            room_pref: d.room_pref,
            seat_pref: d.seat_pref,
            source: d.source,
            source_detail: d.source_detail,
            partner_type: d.partner_type,
            industry: d.industry,
            license_no: d.license_no,
            notes: d.notes,
            consent: ConsentOut {
                email: d.consent.email,
                sms: d.consent.sms,
                wechat: d.consent.wechat,
                phone: d.consent.phone,
            },
            owner_id: d.owner_id.0,
            owner_name,
            team_id: c.team_id.map(|t| t.0),
            stage: d.stage,
            grade: d.grade,
            tags: d.tags,
            custom: d.custom,
            last_contact_at: c.last_contact_at.map(rfc3339),
            merged_into_id: c.merged_into_id.map(|m| m.0),
            restricted: c.restricted,
            erased_at: c.erased_at.map(rfc3339),
            has_id_card: c.has_id_card,
            has_passport: c.has_passport,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
            version: c.version,
        })
    }
}

/// A page of customers.
#[derive(Serialize, utoipa::ToSchema)]
struct CustomerList {
    items: Vec<CustomerOut>,
    /// The next page number; `null` on the last page.
    next: Option<i64>,
    /// How many customers match in all; for a search (`q`) that finds many,
    /// an estimate (at most 5,000, where the pages stop: refine the search).
    total: i64,
    /// Whether `total` is an estimate.
    total_estimated: bool,
    page: i64,
    per_page: i64,
}

/// Lists and searches the customers the caller may see.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", security(("keyuan" = ["customers.read"])),
    params(ListQuery),
    responses((status = 200, body = CustomerList), (status = 422, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CustomerList>, AppError> {
    let me = req.user()?;
    let filter = q.to_filter(me.can(Permission::CustomersPii))?;
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let found = store::customers::list(&state.store, &vis, &filter).await?;
    let today = super::today_in(super::company_tz(&state).await?);
    let mut names = Names::default();
    let mut items = Vec::with_capacity(found.items.len());
    for c in found.items {
        items.push(CustomerOut::build(&state, &mut names, today, c).await?);
    }
    Ok(Json(CustomerList {
        items,
        next: found.next_page,
        total: found.total,
        total_estimated: found.total_estimated,
        page: filter.page.max(1),
        per_page: filter.per_page,
    }))
}

/// Consent flags; absent ones stay as they are (new customers: `false`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    email: Option<bool>,
    sms: Option<bool>,
    wechat: Option<bool>,
    phone: Option<bool>,
}

/// Declares the customer body and how its plain text fields apply to an
/// [`Input`]: absent keeps, `null` or `""` clears, a value sets.
macro_rules! customer_body {
    ($($field:ident),+ $(,)?) => {
        /// A customer's fields. On `POST`, `kind` and `name` are required; on
        /// `PATCH`, send any subset with the `version` you read. Text fields:
        /// absent keeps, `null` or `""` clears. `id_card` / `passport`: a
        /// number sets it, `null` or `""` removes it. Fields of another kind
        /// (e.g. `birthday` on an organization) are refused.
        #[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct CustomerBody {
            /// `individual`, `organization` or `partner` (fixed after creation).
            #[serde(default)]
            kind: Option<String>,
            #[serde(default)]
            name: Option<String>,
            $(
                #[serde(default, deserialize_with = "crate::admin::nullable")]
                #[schema(value_type = Option<String>)]
                $field: Option<Option<String>>,
            )+
            /// 18-digit resident ID card number.
            #[serde(default, deserialize_with = "crate::admin::nullable")]
            #[schema(value_type = Option<String>)]
            id_card: Option<Option<String>>,
            #[serde(default, deserialize_with = "crate::admin::nullable")]
            #[schema(value_type = Option<String>)]
            passport: Option<Option<String>>,
            #[serde(default, deserialize_with = "crate::admin::nullable")]
            #[schema(value_type = Option<Vec<String>>)]
            tags: Option<Option<Vec<String>>>,
            #[serde(default)]
            consent: Option<ConsentBody>,
            /// The owner (default: you); another person needs `customers.reassign`.
            #[serde(default)]
            owner_id: Option<i64>,
            /// Custom fields: key → text or number; `null` clears one.
            #[serde(default)]
            #[schema(value_type = Option<Object>)]
            custom: Option<BTreeMap<String, Value>>,
            /// `PATCH` only: the version the change is based on.
            #[serde(default)]
            version: Option<i64>,
            /// `POST` only: save even though likely duplicates exist.
            #[serde(default)]
            confirm_duplicate: Option<bool>,
        }

        impl CustomerBody {
            fn apply_texts(&mut self, i: &mut Input) {
                $(
                    if let Some(v) = self.$field.take() {
                        i.$field = v.unwrap_or_default();
                    }
                )+
            }
        }
    };
}

customer_body!(
    gender,
    birthday,
    lunar_birthday,
    passport_expiry,
    employer,
    title,
    mobile,
    mobile2,
    landline,
    email,
    wechat,
    fax,
    province,
    city,
    district,
    address,
    hobbies,
    diet,
    room_pref,
    seat_pref,
    source,
    source_detail,
    partner_type,
    industry,
    license_no,
    notes,
    stage,
    grade,
);

fn doc_input(v: Option<Option<String>>) -> DocInput {
    match v {
        None => DocInput::Keep,
        Some(None) => DocInput::Clear,
        Some(Some(s)) if s.trim().is_empty() => DocInput::Clear,
        Some(Some(s)) => DocInput::Set(s),
    }
}

impl CustomerBody {
    /// Applies the body to `base` (empty for a new customer, the stored one
    /// for a change). Problems the types already show go to `errs`.
    fn apply(mut self, mut base: Input, errs: &mut FieldErrors, new: bool) -> Input {
        if let Some(k) = self.kind.take() {
            base.kind = k;
        }
        if let Some(n) = self.name.take() {
            base.name = n;
        }
        self.apply_texts(&mut base);
        base.id_card = doc_input(self.id_card.take());
        base.passport = doc_input(self.passport.take());
        if new {
            // Nothing stored to remove.
            for doc in [&mut base.id_card, &mut base.passport] {
                if *doc == DocInput::Clear {
                    *doc = DocInput::Keep;
                }
            }
        }
        if let Some(t) = self.tags.take() {
            base.tags = TagsInput::List(t.unwrap_or_default());
        }
        if let Some(c) = self.consent.take() {
            base.consent.email = c.email.unwrap_or(base.consent.email);
            base.consent.sms = c.sms.unwrap_or(base.consent.sms);
            base.consent.wechat = c.wechat.unwrap_or(base.consent.wechat);
            base.consent.phone = c.phone.unwrap_or(base.consent.phone);
        }
        if let Some(o) = self.owner_id {
            base.owner_id = o.to_string();
        }
        for (key, value) in self.custom.take().unwrap_or_default() {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Null => String::new(),
                _ => {
                    errs.push(FieldError::new(
                        format!("custom.{key}"),
                        "invalid_type",
                        format!("custom.{key} must be text or a number"),
                    ));
                    continue;
                }
            };
            base.custom.insert(key, text);
        }
        base
    }
}

/// One likely duplicate in a 409 answer.
#[derive(Serialize, utoipa::ToSchema)]
struct CandidateOut {
    id: i64,
    code: String,
    name: String,
    kind: String,
    mobile: Option<String>,
    email: Option<String>,
    employer: Option<String>,
    /// `same_mobile`, `same_id_card`, `same_passport`, `same_email`,
    /// `same_name_similar_phone`, `same_name_same_company`.
    reasons: Vec<String>,
}

fn candidate_out(c: &Candidate) -> CandidateOut {
    let d = &c.customer.data;
    CandidateOut {
        id: c.customer.id.0,
        code: c.customer.code.clone(),
        name: d.name.clone(),
        kind: d.kind.clone(),
        mobile: d.mobile.clone(),
        email: d.email.clone(),
        employer: d.employer.clone(),
        reasons: c.reasons.iter().map(|r| r.to_string()).collect(),
    }
}

/// 409 `likely_duplicate` with the candidates.
fn duplicate_answer(candidates: &[Candidate]) -> Response {
    let message =
        "likely duplicates exist; check them, then send again with \"confirm_duplicate\": true to save anyway";
    let list: Vec<CandidateOut> = candidates.iter().map(candidate_out).collect();
    let body = json!({"error": {"code": "likely_duplicate", "message": message, "candidates": list}});
    let mut r = (StatusCode::CONFLICT, Json(body)).into_response();
    r.extensions_mut().insert(ErrorMark { code: "likely_duplicate", message: message.to_string() });
    r
}

/// Creates a customer in the caller's name.
pub(crate) async fn create(state: &AppState, req: &Req, checked: &Checked) -> Result<Customer, AppError> {
    let mut tx = state.store.begin().await?;
    let c = store::customers::create(&mut tx, &state.store, &req.actor()?, &checked.draft, None).await?;
    tx.commit().await?;
    Ok(c)
}

/// Creates a customer. Likely duplicates among the customers you may see
/// answer 409 `likely_duplicate` with `candidates`, unless `confirm_duplicate`.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", security(("keyuan" = ["customers.write"])),
    request_body = CustomerBody,
    responses((status = 201, body = CustomerOut), (status = 409, description = "likely duplicates", body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<CustomerBody>,
) -> Result<Response, AppError> {
    let me = req.user()?;
    let confirm = b.confirm_duplicate.unwrap_or(false);
    let mut errs = FieldErrors::new();
    let input = b.apply(Input::default(), &mut errs, true);
    let checked = check(&state, me, &input, None, errs).await?;
    if !confirm {
        let vis = req.visibility(&state, Permission::CustomersRead).await?;
        let found = duplicates(&state, &vis, &checked).await?;
        if !found.is_empty() {
            return Ok(duplicate_answer(&found));
        }
    }
    let c = create(&state, &req, &checked).await?;
    let today = super::today_in(super::company_tz(&state).await?);
    let out = CustomerOut::build(&state, &mut Names::default(), today, c).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Reads one customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = CustomerOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Json<CustomerOut>, AppError> {
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let today = super::today_in(super::company_tz(&state).await?);
    Ok(Json(CustomerOut::build(&state, &mut Names::default(), today, c).await?))
}

/// Changes a customer; a stale `version` is 409 and changes nothing. A
/// customer outside what you may change is 404.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", security(("keyuan" = ["customers.write"])),
    params(("id" = i64, Path, description = "customer id")), request_body = CustomerBody,
    responses((status = 200, body = CustomerOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CustomerBody>,
) -> Result<Json<CustomerOut>, AppError> {
    let me = req.user()?;
    let vis = req.visibility(&state, Permission::CustomersWrite).await?;
    let current = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let Some(version) = b.version else {
        return Err(AppError::field("version", "required", "version is required: send the version you read"));
    };
    let mut errs = FieldErrors::new();
    if b.confirm_duplicate.is_some() {
        errs.push(FieldError::new("confirm_duplicate", "unknown_field", "confirm_duplicate applies to new customers"));
    }
    let input = b.apply(Input::of(&current), &mut errs, false);
    let checked = check(&state, me, &input, Some(&current), errs).await?;
    let mut tx = state.store.begin().await?;
    let c = store::customers::update(&mut tx, &state.store, &req.actor()?, &vis, current.id, version, &checked.draft)
        .await?;
    tx.commit().await?;
    let today = super::today_in(super::company_tz(&state).await?);
    Ok(Json(CustomerOut::build(&state, &mut Names::default(), today, c).await?))
}

/// Which document to reveal.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DocQuery {
    /// `id_card` or `passport`.
    pub doc: Option<String>,
}

impl DocQuery {
    pub(crate) fn document(&self) -> Result<Document, AppError> {
        match self.doc.as_deref().map(str::trim) {
            Some("id_card") => Ok(Document::IdCard),
            Some("passport") => Ok(Document::Passport),
            Some("") | None => Err(AppError::field("doc", "required", "doc is required: id_card or passport")),
            Some(_) => Err(AppError::field("doc", "invalid_choice", "doc must be id_card or passport")),
        }
    }
}

/// A revealed number.
#[derive(Serialize, utoipa::ToSchema)]
struct Revealed {
    /// `id_card` or `passport`.
    doc: String,
    /// The full number; `null` when none is stored.
    value: Option<String>,
}

/// Shows a stored ID card or passport number in full. Needs `customers.pii`
/// for this customer; every reveal is written to the audit trail first.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reveal", tag = "customers", security(("keyuan" = ["customers.pii"])),
    params(("id" = i64, Path, description = "customer id"), DocQuery),
    responses((status = 200, body = Revealed), (status = 404, body = crate::error::ErrorBody)))]
async fn api_reveal(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<DocQuery>,
) -> Result<Response, AppError> {
    let doc = q.document()?;
    let vis = req.visibility(&state, Permission::CustomersPii).await?;
    let value = store::customers::reveal(&state.store, &req.actor()?, &vis, CustomerId(id), doc).await?;
    let code = match doc {
        Document::IdCard => "id_card",
        Document::Passport => "passport",
    };
    let mut r = Json(Revealed { doc: code.to_string(), value }).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Filter of the timeline.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TimelineQuery {
    /// `interaction`, `order`, `receipt`, `quote`, `opportunity` or `change`;
    /// empty for everything.
    pub kind: Option<String>,
    /// How many entries, 1–500 (default 100).
    pub limit: Option<String>,
}

/// The timeline kinds a filter accepts.
pub(crate) use store::customers::TIMELINE_KINDS;

impl TimelineQuery {
    pub(crate) fn kind(&self) -> Result<Option<&'static str>, AppError> {
        match self.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => Ok(None),
            Some(k) => TIMELINE_KINDS.iter().find(|t| **t == k).map(|t| Some(*t)).ok_or_else(|| {
                AppError::field("kind", "invalid_choice", format!("kind must be one of {}", TIMELINE_KINDS.join(", ")))
            }),
        }
    }

    fn limit(&self) -> Result<i64, AppError> {
        match self.limit.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => Ok(100),
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => Ok(n),
                _ => Err(AppError::field("limit", "out_of_range", "limit must be between 1 and 500")),
            },
        }
    }
}

/// One timeline entry.
#[derive(Serialize, utoipa::ToSchema)]
struct TimelineOut {
    /// RFC 3339.
    at: String,
    /// `interaction` or `change`.
    kind: String,
    title: String,
    /// Channel, direction and department of an interaction, or the changed fields.
    detail: String,
    actor: Option<String>,
}

/// The timeline.
#[derive(Serialize, utoipa::ToSchema)]
struct Timeline {
    items: Vec<TimelineOut>,
    /// Always `null`: ask for a larger `limit` to see more.
    next: Option<i64>,
}

/// One timeline of the customer's interactions and recorded changes, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id"), TimelineQuery),
    responses((status = 200, body = Timeline), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_timeline(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> Result<Json<Timeline>, AppError> {
    let kind = q.kind()?;
    let limit = q.limit()?;
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let kinds: Vec<&str> = kind.into_iter().collect();
    let items = store::customers::timeline(&state.store, c.id, &kinds, limit).await?;
    Ok(Json(Timeline {
        items: items
            .into_iter()
            .map(|t| TimelineOut { at: rfc3339(t.at), kind: t.kind, title: t.title, detail: t.detail, actor: t.actor })
            .collect(),
        next: None,
    }))
}
