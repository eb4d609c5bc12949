//! Customer field configuration (`customers.configure`): per kind, which
//! built-in fields must be filled before a customer saves, and the custom
//! fields (text, number, date, choice) that forms, lists, filters, imports
//! and exports show beside the built-in ones. `store::customer_fields`
//! enforces both wherever a customer is saved.

use super::{errors_of, field_label};
use crate::admin::{form_version, see_other, Errors};
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiJson, ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::customer::CustomerKind;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::customer_fields::{FieldDef, FieldDraft, REQUIRABLE};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings_page, create_submit))
        .routes(routes!(edit_submit))
        .routes(routes!(required_submit))
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_patch))
        .routes(routes!(api_required_get, api_required_put))
}

/// The types a custom field may have.
const TYPES: [&str; 4] = ["text", "number", "date", "choice"];

/// Names a custom key may not take: the built-in fields and columns, so an
/// import column or a form field is never ambiguous.
const RESERVED: &[&str] = &[
    "id",
    "code",
    "kind",
    "name",
    "name_pinyin",
    "name_initials",
    "gender",
    "birthday",
    "lunar_birthday",
    "id_card",
    "passport",
    "passport_expiry",
    "employer",
    "company",
    "title",
    "mobile",
    "mobile2",
    "phone",
    "landline",
    "email",
    "wechat",
    "fax",
    "province",
    "city",
    "district",
    "address",
    "hobbies",
    "diet",
    "room_pref",
    "seat_pref",
    "source",
    "source_detail",
    "partner_type",
    "industry",
    "license_no",
    "notes",
    "consent",
    "owner",
    "owner_id",
    "team",
    "team_id",
    "stage",
    "grade",
    "tags",
    "custom",
    "version",
    "created_at",
    "updated_at",
];

fn kind_of(field: &str, s: &str) -> Result<CustomerKind, FieldError> {
    CustomerKind::from_code(s.trim()).ok_or_else(|| {
        FieldError::new(field, "invalid_choice", "kind must be one of: individual, organization, partner")
    })
}

/// A custom field as submitted, before checking.
struct Input<'a> {
    kind: &'a str,
    key: &'a str,
    label_zh: &'a str,
    label_en: &'a str,
    field_type: &'a str,
    choices: &'a [String],
    required: bool,
    position: i64,
    active: bool,
}

fn check_label(field: &str, v: &str, errors: &mut FieldErrors) -> String {
    let v = v.trim();
    if v.is_empty() {
        errors.push(FieldError::required(field));
    } else if v.chars().count() > 64 {
        errors.push(FieldError::new(field, "too_long", format!("{field} must have at most 64 characters")));
    }
    v.to_string()
}

fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Checks a custom field definition; every problem is named by its field.
fn check(i: &Input) -> Result<FieldDraft, FieldErrors> {
    let mut errors = FieldErrors::new();
    let kind = errors.check(kind_of("kind", i.kind));
    let key = i.key.trim().to_string();
    if key.is_empty() {
        errors.push(FieldError::required("key"));
    } else if !valid_key(&key) {
        errors.push(FieldError::new(
            "key",
            "invalid",
            "key must start with a-z and hold only a-z, 0-9 and _, at most 32 characters",
        ));
    } else if RESERVED.contains(&key.as_str()) {
        errors.push(FieldError::new("key", "reserved", format!("{key} is the name of a built-in field")));
    }
    let label_zh = check_label("label_zh", i.label_zh, &mut errors);
    let label_en = check_label("label_en", i.label_en, &mut errors);
    let field_type = i.field_type.trim().to_string();
    if !TYPES.contains(&field_type.as_str()) {
        errors.push(FieldError::new(
            "field_type",
            "invalid_choice",
            "field_type must be one of: text, number, date, choice",
        ));
    }
    let mut choices: Vec<String> = Vec::new();
    for c in i.choices.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        if c.chars().count() > 64 {
            errors.push(FieldError::new("choices", "too_long", "each choice must have at most 64 characters"));
            break;
        }
        if !choices.iter().any(|x| x == c) {
            choices.push(c.to_string());
        }
    }
    if field_type == "choice" {
        if choices.is_empty() {
            errors.push(FieldError::new("choices", "required", "a choice field needs at least one choice"));
        } else if choices.len() > 200 {
            errors.push(FieldError::new("choices", "too_long", "a choice field has at most 200 choices"));
        }
    } else {
        // Choices mean nothing to other types; dropping them keeps a type
        // change from leaving stale ones behind.
        choices.clear();
    }
    if !(0..=10_000).contains(&i.position) {
        errors.push(FieldError::new("position", "out_of_range", "position must be between 0 and 10000"));
    }
    errors.into_result()?;
    Ok(FieldDraft {
        kind: kind.map(|k| k.code().to_string()).unwrap_or_default(),
        key,
        label_zh,
        label_en,
        field_type,
        choices,
        required: i.required,
        position: i.position,
        active: i.active,
    })
}

/// Every custom field of every kind, inactive ones included.
async fn all_defs(state: &AppState) -> Result<Vec<FieldDef>, AppError> {
    let mut out = Vec::new();
    for k in CustomerKind::ALL {
        out.extend(store::customer_fields::definitions(&state.store, k.code(), true).await?);
    }
    Ok(out)
}

async fn def_by_id(state: &AppState, id: i64) -> Result<FieldDef, AppError> {
    all_defs(state).await?.into_iter().find(|d| d.id == id).ok_or(AppError::NotFound)
}

async fn create(state: &AppState, req: &Req, d: &FieldDraft) -> Result<FieldDef, AppError> {
    let mut tx = state.store.begin().await?;
    let id = store::customer_fields::create(&mut tx, &req.actor()?, d).await?;
    tx.commit().await?;
    def_by_id(state, id).await
}

async fn update(state: &AppState, req: &Req, id: i64, version: i64, d: &FieldDraft) -> Result<FieldDef, AppError> {
    let mut tx = state.store.begin().await?;
    store::customer_fields::update(&mut tx, &req.actor()?, id, version, d).await?;
    tx.commit().await?;
    def_by_id(state, id).await
}

async fn set_required(state: &AppState, req: &Req, kind: CustomerKind, fields: &[String]) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    store::customer_fields::set_required_builtin(&mut tx, &req.actor()?, kind.code(), fields).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// JSON API

/// A custom field.
#[derive(Serialize, utoipa::ToSchema)]
struct FieldOut {
    id: i64,
    /// `individual`, `organization` or `partner`.
    kind: String,
    /// Used as `custom.<key>` in forms and as a column in imports and exports.
    key: String,
    label_zh: String,
    label_en: String,
    /// `text`, `number`, `date` or `choice`.
    field_type: String,
    choices: Vec<String>,
    required: bool,
    position: i64,
    /// Inactive fields are neither shown nor accepted; stored values stay.
    active: bool,
    version: i64,
}

impl From<FieldDef> for FieldOut {
    fn from(d: FieldDef) -> Self {
        FieldOut {
            id: d.id,
            kind: d.kind,
            key: d.key,
            label_zh: d.label_zh,
            label_en: d.label_en,
            field_type: d.field_type,
            choices: d.choices,
            required: d.required,
            position: d.position,
            active: d.active,
            version: d.version,
        }
    }
}

/// The custom fields.
#[derive(Serialize, utoipa::ToSchema)]
struct FieldList {
    items: Vec<FieldOut>,
    /// Always `null`: the list comes whole.
    next: Option<String>,
}

/// Optional kind filter.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct KindQuery {
    /// Only this kind.
    kind: Option<String>,
}

/// Lists the custom fields (inactive ones too), per kind in form order.
#[utoipa::path(get, path = "/api/v1/customer-fields", tag = "customers",
    security(("keyuan" = ["customers.configure"])), params(KindQuery),
    responses((status = 200, body = FieldList), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<KindQuery>,
) -> Result<Json<FieldList>, AppError> {
    let defs = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => store::customer_fields::definitions(&state.store, kind_of("kind", k)?.code(), true).await?,
        None => all_defs(&state).await?,
    };
    Ok(Json(FieldList { items: defs.into_iter().map(FieldOut::from).collect(), next: None }))
}

/// A new custom field.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewField {
    kind: String,
    key: String,
    label_zh: String,
    label_en: String,
    /// `text`, `number`, `date` or `choice`.
    field_type: String,
    /// For `choice`: the choices (at least one).
    #[serde(default)]
    choices: Vec<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    position: i64,
}

/// Adds a custom field; a key already used for the kind is 422 `taken`.
#[utoipa::path(post, path = "/api/v1/customer-fields", tag = "customers",
    security(("keyuan" = ["customers.configure"])), request_body = NewField,
    responses((status = 201, body = FieldOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<NewField>,
) -> Result<(StatusCode, Json<FieldOut>), AppError> {
    let d = check(&Input {
        kind: &b.kind,
        key: &b.key,
        label_zh: &b.label_zh,
        label_en: &b.label_en,
        field_type: &b.field_type,
        choices: &b.choices,
        required: b.required,
        position: b.position,
        active: true,
    })?;
    Ok((StatusCode::CREATED, Json(create(&state, &req, &d).await?.into())))
}

/// Changes to a custom field (its kind and key stay): any subset plus the
/// `version` read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FieldPatch {
    version: i64,
    #[serde(default)]
    label_zh: Option<String>,
    #[serde(default)]
    label_en: Option<String>,
    #[serde(default)]
    field_type: Option<String>,
    #[serde(default)]
    choices: Option<Vec<String>>,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    position: Option<i64>,
    /// `false` deactivates the field (stored values stay).
    #[serde(default)]
    active: Option<bool>,
}

/// Changes or deactivates a custom field; a stale `version` is 409.
#[utoipa::path(patch, path = "/api/v1/customer-fields/{id}", tag = "customers",
    security(("keyuan" = ["customers.configure"])), params(("id" = i64, Path, description = "field id")),
    request_body = FieldPatch,
    responses((status = 200, body = FieldOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<FieldPatch>,
) -> Result<Json<FieldOut>, AppError> {
    let cur = def_by_id(&state, id).await?;
    let choices = b.choices.unwrap_or_else(|| cur.choices.clone());
    let d = check(&Input {
        kind: &cur.kind,
        key: &cur.key,
        label_zh: b.label_zh.as_deref().unwrap_or(&cur.label_zh),
        label_en: b.label_en.as_deref().unwrap_or(&cur.label_en),
        field_type: b.field_type.as_deref().unwrap_or(&cur.field_type),
        choices: &choices,
        required: b.required.unwrap_or(cur.required),
        position: b.position.unwrap_or(cur.position),
        active: b.active.unwrap_or(cur.active),
    })?;
    Ok(Json(update(&state, &req, id, b.version, &d).await?.into()))
}

/// The built-in fields required for a kind.
#[derive(Serialize, utoipa::ToSchema)]
struct RequiredOut {
    kind: String,
    /// Required now.
    fields: Vec<String>,
    /// Every built-in field that can be required.
    requirable: Vec<String>,
}

async fn required_out(state: &AppState, kind: CustomerKind) -> Result<RequiredOut, AppError> {
    Ok(RequiredOut {
        kind: kind.code().to_string(),
        fields: store::customer_fields::required_builtin(&state.store, kind.code()).await?,
        requirable: REQUIRABLE.iter().map(|s| s.to_string()).collect(),
    })
}

fn path_kind(kind: &str) -> Result<CustomerKind, AppError> {
    CustomerKind::from_code(kind).ok_or(AppError::NotFound)
}

/// Which built-in fields a customer of this kind must have.
#[utoipa::path(get, path = "/api/v1/customer-fields/required/{kind}", tag = "customers",
    security(("keyuan" = ["customers.configure"])), params(("kind" = String, Path, description = "customer kind")),
    responses((status = 200, body = RequiredOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_required_get(
    State(state): State<AppState>,
    Path(kind): Path<String>,
) -> Result<Json<RequiredOut>, AppError> {
    Ok(Json(required_out(&state, path_kind(&kind)?).await?))
}

/// The required built-in fields of a kind.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RequiredBody {
    /// Names from `requirable`; unknown ones are 422.
    fields: Vec<String>,
}

/// Replaces the required built-in fields of a kind.
#[utoipa::path(put, path = "/api/v1/customer-fields/required/{kind}", tag = "customers",
    security(("keyuan" = ["customers.configure"])), params(("kind" = String, Path, description = "customer kind")),
    request_body = RequiredBody,
    responses((status = 200, body = RequiredOut), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn api_required_put(
    State(state): State<AppState>,
    req: Req,
    Path(kind): Path<String>,
    ApiJson(b): ApiJson<RequiredBody>,
) -> Result<Json<RequiredOut>, AppError> {
    let kind = path_kind(&kind)?;
    let mut fields: Vec<String> = b.fields.iter().map(|f| f.trim().to_string()).collect();
    fields.sort();
    fields.dedup();
    set_required(&state, &req, kind, &fields).await?;
    Ok(Json(required_out(&state, kind).await?))
}

// ---------------------------------------------------------------------------
// Page

/// A custom field form as submitted.
#[derive(Default, Clone, Deserialize, utoipa::ToSchema)]
struct FieldForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    label_zh: String,
    #[serde(default)]
    label_en: String,
    #[serde(default)]
    field_type: String,
    /// One choice per line.
    #[serde(default)]
    choices: String,
    /// A checkbox: present means yes.
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    position: String,
    /// A checkbox on the edit form.
    #[serde(default)]
    active: Option<String>,
    /// Edit only.
    #[serde(default)]
    version: String,
}

impl FieldForm {
    fn of(d: &FieldDef) -> FieldForm {
        FieldForm {
            kind: d.kind.clone(),
            key: d.key.clone(),
            label_zh: d.label_zh.clone(),
            label_en: d.label_en.clone(),
            field_type: d.field_type.clone(),
            choices: d.choices.join("\n"),
            required: d.required.then(|| "on".into()),
            position: d.position.to_string(),
            active: d.active.then(|| "on".into()),
            version: d.version.to_string(),
        }
    }

    fn draft(&self, kind: &str, key: &str, active: bool) -> Result<FieldDraft, FieldErrors> {
        let choices: Vec<String> = self.choices.lines().map(str::to_string).collect();
        let position = match self.position.trim() {
            "" => Ok(0),
            p => p.parse::<i64>().map_err(|_| FieldError::new("position", "invalid", "position must be a number")),
        };
        let position = position.map_err(FieldErrors::from)?;
        check(&Input {
            kind,
            key,
            label_zh: &self.label_zh,
            label_en: &self.label_en,
            field_type: &self.field_type,
            choices: &choices,
            required: self.required.is_some(),
            position,
            active,
        })
    }
}

struct TypeOpt {
    value: &'static str,
    label: &'static str,
}

struct Requirable {
    field: &'static str,
    label: &'static str,
    checked: bool,
}

struct CustomRow {
    id: i64,
    def: FieldDef,
    form: FieldForm,
    errors: Errors,
}

struct KindSection {
    kind: &'static str,
    label: &'static str,
    requirable: Vec<Requirable>,
    custom: Vec<CustomRow>,
    new_form: FieldForm,
    new_errors: Errors,
}

#[derive(Template)]
#[template(path = "customer_admin_fields.html")]
struct SettingsPage {
    shell: Shell,
    kinds: Vec<KindSection>,
    types: Vec<TypeOpt>,
    errors: Errors,
    notice: Option<&'static str>,
}

/// A refused form to show again.
enum Retry {
    Nothing,
    Create(String, FieldForm),
    Edit(i64, FieldForm),
}

fn type_label(lang: Lang, t: &str) -> &'static str {
    match t {
        "number" => lang.t("cadmin.type.number"),
        "date" => lang.t("cadmin.type.date"),
        "choice" => lang.t("cadmin.type.choice"),
        _ => lang.t("cadmin.type.text"),
    }
}

async fn page_view(
    state: &AppState,
    req: &Req,
    retry: Retry,
    mut errors: Errors,
    notice: Option<&'static str>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let mut kinds = Vec::new();
    for k in CustomerKind::ALL {
        let required = store::customer_fields::required_builtin(&state.store, k.code()).await?;
        let requirable = REQUIRABLE
            .iter()
            .map(|f| Requirable { field: f, label: field_label(lang, f), checked: required.iter().any(|r| r == f) })
            .collect();
        let defs = store::customer_fields::definitions(&state.store, k.code(), true).await?;
        let custom = defs
            .into_iter()
            .map(|d| {
                let (form, row_errors) = match &retry {
                    Retry::Edit(id, f) if *id == d.id => (f.clone(), std::mem::take(&mut errors)),
                    _ => (FieldForm::of(&d), Errors::default()),
                };
                CustomRow { id: d.id, def: d, form, errors: row_errors }
            })
            .collect();
        let (new_form, new_errors) = match &retry {
            Retry::Create(kind, f) if kind == k.code() => (f.clone(), std::mem::take(&mut errors)),
            _ => (
                FieldForm { kind: k.code().into(), field_type: "text".into(), ..Default::default() },
                Errors::default(),
            ),
        };
        kinds.push(KindSection {
            kind: k.code(),
            label: k.label(lang == Lang::Zh),
            requirable,
            custom,
            new_form,
            new_errors,
        });
    }
    let types = TYPES.iter().map(|t| TypeOpt { value: t, label: type_label(lang, t) }).collect();
    let shell = Shell::new(state, req.principal.clone(), lang, "cadmin.nav.fields").await;
    render(&SettingsPage { shell, kinds, types, errors, notice })
}

async fn refused(state: &AppState, req: &Req, e: AppError, retry: Retry) -> Result<Response, AppError> {
    let (status, errors, retry) = match e {
        AppError::Invalid(f) => (StatusCode::UNPROCESSABLE_ENTITY, errors_of(&f, req.lang), retry),
        AppError::Stale { .. } => (StatusCode::CONFLICT, Errors::general(req.lang.t("common.stale")), Retry::Nothing),
        other => return Err(other),
    };
    let page = page_view(state, req, retry, errors, None).await?;
    Ok((status, page).into_response())
}

/// `?saved=1` after a change.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// Show that the last change was saved.
    saved: Option<String>,
}

/// Required built-in fields and custom fields, per customer kind.
#[utoipa::path(get, path = "/settings/customer-fields", tag = "pages", security(("keyuan" = ["customers.configure"])),
    params(SavedQuery), responses((status = 200, description = "field settings", content_type = "text/html")))]
async fn settings_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let notice = q.saved.is_some().then(|| req.lang.t("common.saved"));
    page_view(&state, &req, Retry::Nothing, Errors::default(), notice).await
}

/// Adds a custom field.
#[utoipa::path(post, path = "/settings/customer-fields", tag = "pages", security(("keyuan" = ["customers.configure"])),
    request_body(content = FieldForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "added"), (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<FieldForm>,
) -> Result<Response, AppError> {
    let result = match f.draft(&f.kind, &f.key, true) {
        Ok(d) => create(&state, &req, &d).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Ok(see_other("/settings/customer-fields?saved=1")),
        Err(e) => refused(&state, &req, e, Retry::Create(f.kind.clone(), f)).await,
    }
}

/// Changes or deactivates a custom field.
#[utoipa::path(post, path = "/settings/customer-fields/{id}", tag = "pages", security(("keyuan" = ["customers.configure"])),
    params(("id" = i64, Path, description = "field id")),
    request_body(content = FieldForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn edit_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<FieldForm>,
) -> Result<Response, AppError> {
    let cur = def_by_id(&state, id).await?;
    let version = form_version(&f.version)?;
    let result = match f.draft(&cur.kind, &cur.key, f.active.is_some()) {
        Ok(d) => update(&state, &req, id, version, &d).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Ok(see_other("/settings/customer-fields?saved=1")),
        Err(e) => refused(&state, &req, e, Retry::Edit(id, f)).await,
    }
}

/// The required-fields form: `fields`, repeated, one per checked box.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
struct RequiredForm {
    fields: Vec<String>,
}

/// Saves which built-in fields a kind requires.
#[utoipa::path(post, path = "/settings/customer-fields/required/{kind}", tag = "pages",
    security(("keyuan" = ["customers.configure"])), params(("kind" = String, Path, description = "customer kind")),
    request_body(content = RequiredForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn required_submit(
    State(state): State<AppState>,
    req: Req,
    Path(kind): Path<String>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let kind = path_kind(&kind)?;
    let fields: Vec<String> = pairs.into_iter().filter(|(k, _)| k == "fields").map(|(_, v)| v).collect();
    match set_required(&state, &req, kind, &fields).await {
        Ok(()) => Ok(see_other("/settings/customer-fields?saved=1")),
        Err(e) => refused(&state, &req, e, Retry::Nothing).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(key: &'a str, ty: &'a str, choices: &'a [String]) -> Input<'a> {
        Input {
            kind: "individual",
            key,
            label_zh: "会员卡号",
            label_en: "Member card",
            field_type: ty,
            choices,
            required: false,
            position: 0,
            active: true,
        }
    }

    fn codes(e: FieldErrors) -> Vec<(String, &'static str)> {
        e.0.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn definitions_are_checked_field_by_field() {
        let none: Vec<String> = Vec::new();
        let d = check(&input("vip_no", "text", &["x".to_string()])).unwrap();
        assert!(d.choices.is_empty(), "choices only stay on choice fields");
        assert_eq!(codes(check(&input("VIP", "text", &none)).unwrap_err()), vec![("key".into(), "invalid")]);
        assert_eq!(codes(check(&input("mobile", "text", &none)).unwrap_err()), vec![("key".into(), "reserved")]);
        assert_eq!(
            codes(check(&input("x", "blob", &none)).unwrap_err()),
            vec![("field_type".into(), "invalid_choice")]
        );
        assert_eq!(codes(check(&input("level", "choice", &none)).unwrap_err()), vec![("choices".into(), "required")]);
        let c = vec!["金卡".to_string(), " 金卡 ".to_string(), "银卡".to_string(), "".to_string()];
        assert_eq!(check(&input("level", "choice", &c)).unwrap().choices, vec!["金卡", "银卡"]);
        let mut bad = input("x", "text", &none);
        bad.kind = "alien";
        bad.label_en = " ";
        assert_eq!(
            codes(check(&bad).unwrap_err()),
            vec![("kind".into(), "invalid_choice"), ("label_en".into(), "required")]
        );
    }
}
