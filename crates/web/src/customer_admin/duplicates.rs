//! Likely duplicates across the archive and merging two customers: a review
//! page, a side-by-side comparison with a choice per field, and the API.

use super::{errors_of, field_label, field_value, sees_personal, staff_names, Brief};
use crate::admin::{form_version, see_other, Errors};
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{ApiJson, ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::access::Permission;
use domain::ids::CustomerId;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use store::customer_merge::{Choices, MergeSide, Pick, FIELDS};
use store::customers::Customer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(duplicates_page))
        .routes(routes!(merge_page, merge_submit))
        .routes(routes!(api_duplicates))
        .routes(routes!(api_merge))
}

/// How many pairs a review shows at most.
const DEFAULT_PAIRS: i64 = 100;

// ---------------------------------------------------------------------------
// JSON API

/// Two customers that are likely one, and why.
#[derive(Serialize, utoipa::ToSchema)]
struct PairOut {
    a: Brief,
    b: Brief,
    /// `same_mobile`, `same_id_card`, `same_passport`, `same_email`,
    /// `same_name_similar_phone`, `same_name_same_company`; strongest first.
    reasons: Vec<String>,
}

/// Likely duplicate pairs, strongest first.
#[derive(Serialize, utoipa::ToSchema)]
struct PairList {
    items: Vec<PairOut>,
    /// Always `null`: merge some and ask again.
    next: Option<String>,
}

/// `limit` for the pair list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PairQuery {
    /// At most this many pairs, 1–500 (default 100).
    limit: Option<i64>,
}

fn pair_limit(q: &PairQuery) -> Result<i64, AppError> {
    match q.limit {
        None => Ok(DEFAULT_PAIRS),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field("limit", "out_of_range", "limit must be between 1 and 500")),
    }
}

/// Likely duplicate pairs among the customers the caller may see.
#[utoipa::path(get, path = "/api/v1/customers/duplicates", tag = "customers",
    security(("keyuan" = ["customers.merge"])), params(PairQuery),
    responses((status = 200, body = PairList), (status = 403, body = crate::error::ErrorBody)))]
async fn api_duplicates(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<PairQuery>,
) -> Result<Json<PairList>, AppError> {
    let limit = pair_limit(&q)?;
    let vis = req.visibility(&state, Permission::CustomersMerge).await?;
    let personal = sees_personal(&req);
    let items = store::customer_dupes::pairs(&state.store, &vis, limit)
        .await?
        .into_iter()
        .map(|(a, b)| PairOut {
            reasons: a.reasons.iter().map(|r| r.to_string()).collect(),
            a: Brief::of(&a.customer, personal),
            b: Brief::of(&b.customer, personal),
        })
        .collect();
    Ok(Json(PairList { items, next: None }))
}

/// Merge a duplicate into this customer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    /// The customer merged into this one (kept, marked merged).
    duplicate_id: i64,
    /// This customer's version as read.
    version: i64,
    /// The duplicate's version as read.
    duplicate_version: i64,
    /// Per field (`mobile`, `id_card`, `consent`, `owner_id`, `custom.<key>` …):
    /// `"survivor"` or `"duplicate"`. Fields not named keep this customer's
    /// value, or take the duplicate's where this one is empty.
    #[serde(default)]
    #[schema(value_type = Object)]
    choices: BTreeMap<String, Pick>,
}

async fn merge(
    state: &AppState,
    req: &Req,
    survivor: MergeSide,
    duplicate: MergeSide,
    choices: &Choices,
) -> Result<Customer, AppError> {
    let vis = req.visibility(state, Permission::CustomersMerge).await?;
    let mut tx = state.store.begin().await?;
    let c = store::customer_merge::merge(&mut tx, &req.actor()?, &vis, survivor, duplicate, choices).await?;
    tx.commit().await?;
    Ok(c)
}

/// Merges `duplicate_id` into this customer: everything moves here, empty
/// fields are filled, the duplicate is kept marked merged. Stale versions are
/// 409; a customer the caller may not see is 404.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers",
    security(("keyuan" = ["customers.merge"])), params(("id" = i64, Path, description = "the surviving customer")),
    request_body = MergeBody,
    responses((status = 200, body = Brief), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_merge(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MergeBody>,
) -> Result<Json<Brief>, AppError> {
    let survivor = MergeSide { id: CustomerId(id), version: b.version };
    let duplicate = MergeSide { id: CustomerId(b.duplicate_id), version: b.duplicate_version };
    let c = merge(&state, &req, survivor, duplicate, &b.choices).await?;
    Ok(Json(Brief::of(&c, sees_personal(&req))))
}

// ---------------------------------------------------------------------------
// Pages

struct PairRow {
    a: Brief,
    b: Brief,
    /// The reasons, in the reader's language.
    reasons: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "customer_admin_duplicates.html")]
struct DuplicatesPage {
    shell: Shell,
    pairs: Vec<PairRow>,
}

/// Likely duplicate pairs with links to compare and merge them.
#[utoipa::path(get, path = "/customers/duplicates", tag = "pages", security(("keyuan" = ["customers.merge"])),
    params(PairQuery), responses((status = 200, description = "likely duplicates", content_type = "text/html")))]
async fn duplicates_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<PairQuery>,
) -> Result<Html<String>, AppError> {
    let limit = pair_limit(&q)?;
    let vis = req.visibility(&state, Permission::CustomersMerge).await?;
    let personal = sees_personal(&req);
    let pairs = store::customer_dupes::pairs(&state.store, &vis, limit)
        .await?
        .into_iter()
        .map(|(a, b)| PairRow {
            reasons: a.reasons.iter().map(|r| req.lang.t(&format!("cadmin.reason.{r}"))).collect(),
            a: Brief::of(&a.customer, personal),
            b: Brief::of(&b.customer, personal),
        })
        .collect();
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "cadmin.duplicates").await;
    render(&DuplicatesPage { shell, pairs })
}

/// One row of the comparison.
struct FieldRow {
    field: String,
    label: &'static str,
    a: String,
    b: String,
    /// The duplicate's value is taken.
    take_b: bool,
    /// Only differing values offer a choice.
    differs: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "customer_admin_merge.html")]
struct MergePage {
    shell: Shell,
    a: Brief,
    b: Brief,
    a_owner: String,
    b_owner: String,
    rows: Vec<FieldRow>,
    errors: Errors,
}

/// The two customers to compare.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MergeQuery {
    /// The customer that is kept.
    a: Option<i64>,
    /// The customer merged into it.
    b: Option<i64>,
}

/// What the default choice is for a field: the duplicate's value only where
/// the survivor has none.
fn default_take_b(a: &Option<String>, b: &Option<String>) -> bool {
    a.is_none() && b.is_some()
}

async fn merge_view(
    state: &AppState,
    req: &Req,
    a: CustomerId,
    b: CustomerId,
    picks: &Choices,
    errors: Errors,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(state, Permission::CustomersMerge).await?;
    let ca = store::customers::get(&state.store, &vis, a).await?;
    let cb = store::customers::get(&state.store, &vis, b).await?;
    let lang = req.lang;
    let personal = sees_personal(req);
    let names = staff_names(state).await?;
    let mut fields: Vec<String> = FIELDS.iter().map(|(f, _)| f.to_string()).collect();
    fields.push("consent".into());
    let custom: BTreeSet<&String> = ca.data.custom.keys().chain(cb.data.custom.keys()).collect();
    fields.extend(custom.into_iter().map(|k| format!("custom.{k}")));
    let mut rows = Vec::new();
    for field in fields {
        let va = field_value(&ca, &field, lang, personal);
        let vb = field_value(&cb, &field, lang, personal);
        let take_b = match picks.get(&field) {
            Some(p) => *p == Pick::Duplicate,
            None => field != "consent" && default_take_b(&va, &vb),
        };
        let label = match field.strip_prefix("custom.") {
            Some(_) => "",
            None => field_label(lang, &field),
        };
        rows.push(FieldRow {
            error: errors.get(&format!("choices.{field}")).map(str::to_string),
            differs: va != vb,
            label,
            a: va.unwrap_or_default(),
            b: vb.unwrap_or_default(),
            take_b,
            field,
        });
    }
    let owner = |c: &Customer| names.get(&c.data.owner_id).cloned().unwrap_or_else(|| c.data.owner_id.to_string());
    rows.push(FieldRow {
        field: "owner_id".into(),
        label: field_label(lang, "owner_id"),
        a: owner(&ca),
        b: owner(&cb),
        take_b: picks.get("owner_id") == Some(&Pick::Duplicate),
        differs: ca.data.owner_id != cb.data.owner_id,
        error: errors.get("choices.owner_id").map(str::to_string),
    });
    let shell = Shell::new(state, req.principal.clone(), lang, "cadmin.duplicates").await;
    render(&MergePage {
        shell,
        a_owner: owner(&ca),
        b_owner: owner(&cb),
        a: Brief::of(&ca, personal),
        b: Brief::of(&cb, personal),
        rows,
        errors,
    })
}

/// Two customers side by side with a choice per field.
#[utoipa::path(get, path = "/customers/merge", tag = "pages", security(("keyuan" = ["customers.merge"])),
    params(MergeQuery),
    responses((status = 200, description = "comparison", content_type = "text/html"), (status = 404, description = "not visible")))]
async fn merge_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<MergeQuery>,
) -> Result<Html<String>, AppError> {
    let (Some(a), Some(b)) = (q.a, q.b) else {
        return Err(AppError::BadRequest("name the two customers to compare: ?a=ID&b=ID".into()));
    };
    merge_view(&state, &req, CustomerId(a), CustomerId(b), &Choices::new(), Errors::default()).await
}

/// The merge form: the two customers and their versions, plus
/// `choice.<field>` = `survivor` or `duplicate` for each field.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
struct MergeForm {
    /// The customer kept.
    a: i64,
    /// The customer merged into it.
    b: i64,
    a_version: i64,
    b_version: i64,
}

/// Merges B into A as chosen on the comparison page.
#[utoipa::path(post, path = "/customers/merge", tag = "pages", security(("keyuan" = ["customers.merge"])),
    request_body(content = MergeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "merged; to the survivor's page"),
        (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn merge_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).unwrap_or("");
    let id = |k: &str| {
        get(k).parse::<i64>().map(CustomerId).map_err(|_| AppError::BadRequest(format!("the form's {k} is missing")))
    };
    let (a, b) = (id("a")?, id("b")?);
    let survivor = MergeSide { id: a, version: form_version(get("a_version"))? };
    let duplicate = MergeSide { id: b, version: form_version(get("b_version"))? };
    let mut choices = Choices::new();
    for (k, v) in &pairs {
        if let Some(field) = k.strip_prefix("choice.") {
            let pick = match v.as_str() {
                "survivor" => Pick::Survivor,
                "duplicate" => Pick::Duplicate,
                _ => return Err(FieldError::new(k.clone(), "invalid_choice", "choose survivor or duplicate").into()),
            };
            choices.insert(field.to_string(), pick);
        }
    }
    match merge(&state, &req, survivor, duplicate, &choices).await {
        Ok(c) => Ok(see_other(&format!("/customers/{}", c.id))),
        Err(AppError::Invalid(f)) => {
            let page = merge_view(&state, &req, a, b, &choices, errors_of(&f, req.lang)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AppError::Stale { .. }) => {
            // Show both as they are now, with the choices made.
            let page = merge_view(&state, &req, a, b, &choices, Errors::general(req.lang.t("common.stale"))).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicate_fills_only_what_the_survivor_lacks() {
        assert!(default_take_b(&None, &Some("x".into())));
        assert!(!default_take_b(&Some("a".into()), &Some("x".into())));
        assert!(!default_take_b(&None, &None));
    }
}
