//! Personal-data rights (PIPL) on one customer: everything held, as JSON to
//! download and as a printable page; erasure requests recorded, decided
//! (approve → erase, reject) with a reason, and logged. Every export and
//! every step is audited.

use super::errors_of;
use crate::admin::{form_version, see_other, Errors};
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::access::Permission;
use domain::ids::CustomerId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::privacy::{Decision, ErasureRequest, PiiRequest, RequestKind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(privacy_page))
        .routes(routes!(request_submit))
        .routes(routes!(decide_submit))
        .routes(routes!(printable_page))
        .routes(routes!(api_export))
        .routes(routes!(api_erasure))
}

// ---------------------------------------------------------------------------
// JSON API

/// Everything held about the customer, as a JSON file download: profile
/// with ID card and passport numbers in full, contacts, intentions, tags,
/// interactions, consent, requests, merged records and the audit trail.
/// Audited.
#[utoipa::path(get, path = "/api/v1/customers/{id}/personal-data", tag = "customers",
    security(("keyuan" = ["customers.privacy"])), params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "everything held", content_type = "application/json"),
        (status = 404, body = crate::error::ErrorBody)))]
async fn api_export(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersPrivacy).await?;
    let data = store::privacy::export_all(&state.store, &req.actor()?, &vis, CustomerId(id)).await?;
    let code = data["customer"]["code"].as_str().unwrap_or("customer").to_string();
    let mut r = Json(data).into_response();
    let disposition = format!("attachment; filename=\"{code}-personal-data.json\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// An erasure request and its decision.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ErasureBody {
    /// Who asked (the customer, a guardian, a lawyer …).
    requested_by: String,
    /// Why they asked.
    reason: String,
    /// `approve` (erase now) or `reject`.
    #[schema(value_type = String)]
    decision: Decision,
    /// The reason for the decision.
    decision_note: String,
}

/// A personal-data request as logged.
#[derive(Serialize, utoipa::ToSchema)]
struct RequestOut {
    id: i64,
    customer_id: i64,
    /// `erasure` or `export`.
    kind: String,
    requested_by: String,
    reason: String,
    /// `approved`, `rejected` or `null` (pending).
    decision: Option<String>,
    decision_note: Option<String>,
    decided_by: Option<i64>,
    decided_at: Option<String>,
    created_at: String,
    version: i64,
}

impl From<PiiRequest> for RequestOut {
    fn from(r: PiiRequest) -> Self {
        RequestOut {
            id: r.id,
            customer_id: r.customer_id.0,
            kind: r.kind,
            requested_by: r.requested_by,
            reason: r.reason,
            decision: r.decision,
            decision_note: r.decision_note,
            decided_by: r.decided_by.map(|u| u.0),
            decided_at: r.decided_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            version: r.version,
        }
    }
}

/// Records an erasure request and decides it: `approve` anonymises the
/// customer (the record and its financial history stay, restricted),
/// `reject` changes nothing but the log.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erasure", tag = "customers",
    security(("keyuan" = ["customers.privacy"])), params(("id" = i64, Path, description = "customer id")),
    request_body = ErasureBody,
    responses((status = 201, body = RequestOut), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn api_erasure(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ErasureBody>,
) -> Result<(StatusCode, Json<RequestOut>), AppError> {
    let vis = req.visibility(&state, Permission::CustomersPrivacy).await?;
    let r = ErasureRequest {
        requested_by: b.requested_by,
        reason: b.reason,
        decision: b.decision,
        decision_note: b.decision_note,
    };
    let mut tx = state.store.begin().await?;
    let logged = store::privacy::erase(&mut tx, &req.actor()?, &vis, CustomerId(id), &r).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(logged.into())))
}

// ---------------------------------------------------------------------------
// Pages

struct RequestRow {
    id: i64,
    version: i64,
    kind: String,
    requested_by: String,
    reason: String,
    created_at: i64,
    decision: &'static str,
    decision_note: String,
    decided_at: Option<i64>,
    pending: bool,
}

#[derive(Template)]
#[template(path = "customer_admin_privacy.html")]
struct PrivacyPage {
    shell: Shell,
    id: i64,
    code: String,
    name: String,
    erased_at: Option<i64>,
    consent: String,
    requests: Vec<RequestRow>,
    form: RequestForm,
    errors: Errors,
    notice: Option<&'static str>,
}

/// A new erasure request as typed.
#[derive(Default, Deserialize, utoipa::ToSchema)]
struct RequestForm {
    #[serde(default)]
    requested_by: String,
    #[serde(default)]
    reason: String,
}

/// `?saved=1` after a step.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// Show that the last step was saved.
    saved: Option<String>,
}

async fn page_view(
    state: &AppState,
    req: &Req,
    id: CustomerId,
    form: RequestForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> Result<Html<String>, AppError> {
    let vis = req.visibility(state, Permission::CustomersPrivacy).await?;
    let c = store::customers::get(&state.store, &vis, id).await?;
    let lang = req.lang;
    let requests = store::privacy::requests(&state.store, id)
        .await?
        .into_iter()
        .map(|r| RequestRow {
            pending: r.decision.is_none(),
            decision: lang.t(match r.decision.as_deref() {
                Some("approved") => "cadmin.decision.approved",
                Some("rejected") => "cadmin.decision.rejected",
                _ => "cadmin.decision.pending",
            }),
            id: r.id,
            version: r.version,
            kind: r.kind,
            requested_by: r.requested_by,
            reason: r.reason,
            created_at: r.created_at,
            decision_note: r.decision_note.unwrap_or_default(),
            decided_at: r.decided_at,
        })
        .collect();
    let consent = super::field_value(&c, "consent", lang, true).unwrap_or_else(|| "—".into());
    let shell = Shell::new(state, req.principal.clone(), lang, "cadmin.privacy").await;
    render(&PrivacyPage {
        shell,
        id: c.id.0,
        code: c.code,
        name: c.data.name,
        erased_at: c.erased_at,
        consent,
        requests,
        form,
        errors,
        notice,
    })
}

/// A customer's personal-data rights: downloads, requests and decisions.
#[utoipa::path(get, path = "/customers/{id}/privacy", tag = "pages", security(("keyuan" = ["customers.privacy"])),
    params(("id" = i64, Path, description = "customer id"), SavedQuery),
    responses((status = 200, description = "privacy page", content_type = "text/html"), (status = 404, description = "not visible")))]
async fn privacy_page(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let notice = q.saved.is_some().then(|| req.lang.t("common.saved"));
    page_view(&state, &req, CustomerId(id), RequestForm::default(), Errors::default(), notice).await
}

/// Records an erasure request (who asked, why), pending a decision.
#[utoipa::path(post, path = "/customers/{id}/privacy/requests", tag = "pages",
    security(("keyuan" = ["customers.privacy"])), params(("id" = i64, Path, description = "customer id")),
    request_body(content = RequestForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "recorded"), (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn request_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<RequestForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersPrivacy).await?;
    let id = CustomerId(id);
    let result = async {
        let mut tx = state.store.begin().await?;
        store::privacy::record_request(
            &mut tx,
            &req.actor()?,
            &vis,
            id,
            RequestKind::Erasure,
            &f.requested_by,
            &f.reason,
        )
        .await?;
        tx.commit().await?;
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/customers/{id}/privacy?saved=1"))),
        Err(AppError::Invalid(e)) => {
            let page = page_view(&state, &req, id, f, errors_of(&e, req.lang), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}

/// A decision on a request.
#[derive(Deserialize, utoipa::ToSchema)]
struct DecideForm {
    /// `approve` or `reject`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    decision_note: String,
    #[serde(default)]
    version: String,
}

/// Approves (erases) or rejects a pending request, with a reason.
#[utoipa::path(post, path = "/customers/{id}/privacy/requests/{request_id}", tag = "pages",
    security(("keyuan" = ["customers.privacy"])),
    params(("id" = i64, Path, description = "customer id"), ("request_id" = i64, Path, description = "request id")),
    request_body(content = DecideForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "decided"), (status = 409, description = "decided meanwhile", content_type = "text/html"),
        (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn decide_submit(
    State(state): State<AppState>,
    req: Req,
    Path((id, request_id)): Path<(i64, i64)>,
    PageForm(f): PageForm<DecideForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersPrivacy).await?;
    let id = CustomerId(id);
    let version = form_version(&f.version)?;
    let decision = match f.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(AppError::field("decision", "invalid_choice", "decision must be approve or reject")),
    };
    let result = async {
        let mut tx = state.store.begin().await?;
        store::privacy::decide(&mut tx, &req.actor()?, &vis, id, request_id, version, decision, &f.decision_note)
            .await?;
        tx.commit().await?;
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/customers/{id}/privacy?saved=1"))),
        Err(AppError::Invalid(e)) => {
            let page = page_view(&state, &req, id, RequestForm::default(), errors_of(&e, req.lang), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AppError::Stale { .. }) => {
            let errors = Errors::general(req.lang.t("common.stale"));
            let page = page_view(&state, &req, id, RequestForm::default(), errors, None).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e),
    }
}

/// One part of the printable copy: label/value pairs or a table.
struct Section {
    title: &'static str,
    pairs: Vec<(String, String)>,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "customer_admin_personal_data.html")]
struct PrintablePage {
    shell: Shell,
    id: i64,
    code: String,
    generated_at: String,
    sections: Vec<Section>,
}

/// A JSON value as one line of text.
fn cell(key: &str, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "✓" } else { "✗" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if key == "changes" => items
            .iter()
            .map(|c| {
                let part = |k: &str| c[k].as_str().unwrap_or("—").to_string();
                format!("{}: {} → {}", part("field"), part("before"), part("after"))
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Array(items) => items.iter().map(|x| cell("", x)).collect::<Vec<_>>().join("、"),
        Value::Object(m) => m.iter().map(|(k, x)| format!("{k}: {}", cell(k, x))).collect::<Vec<_>>().join("; "),
    }
}

/// Flattens an object into label/value pairs (`custom.vip_no`, `consent.sms`).
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match x {
                    Value::Object(_) => flatten(&key, x, out),
                    _ => out.push((key.clone(), cell(&key, x))),
                }
            }
        }
        other => out.push((prefix.to_string(), cell(prefix, other))),
    }
}

fn table(items: &[Value]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(m) = item {
            for k in m.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
    }
    let rows = items.iter().map(|item| headers.iter().map(|h| cell(h, &item[h.as_str()])).collect()).collect();
    (headers, rows)
}

/// The sections of the printable copy, in the export's order.
fn sections(data: &Value, lang: crate::i18n::Lang) -> Vec<Section> {
    let mut out = Vec::new();
    for key in [
        "customer",
        "consent",
        "tags",
        "contacts",
        "intentions",
        "interactions",
        "requests",
        "merged_records",
        "audit_trail",
    ] {
        let title = lang.t(&format!("cadmin.section.{key}"));
        let v = &data[key];
        let mut s = Section { title, pairs: Vec::new(), headers: Vec::new(), rows: Vec::new() };
        match v {
            Value::Array(items) if items.iter().all(Value::is_object) => {
                let (h, r) = table(items);
                s.headers = h;
                s.rows = r;
            }
            Value::Array(_) => s.pairs.push((String::new(), cell(key, v))),
            _ => flatten("", v, &mut s.pairs),
        }
        out.push(s);
    }
    out
}

/// Everything held about the customer, for people: printable. Audited like
/// the download.
#[utoipa::path(get, path = "/customers/{id}/personal-data", tag = "pages", security(("keyuan" = ["customers.privacy"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "printable copy", content_type = "text/html"), (status = 404, description = "not visible")))]
async fn printable_page(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersPrivacy).await?;
    let data = store::privacy::export_all(&state.store, &req.actor()?, &vis, CustomerId(id)).await?;
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "cadmin.privacy").await;
    let page = PrintablePage {
        id,
        code: data["customer"]["code"].as_str().unwrap_or_default().to_string(),
        generated_at: data["generated_at"].as_str().unwrap_or_default().to_string(),
        sections: sections(&data, req.lang),
        shell,
    };
    let mut r = render(&page)?.into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_printable_copy_flattens_nested_values_and_tabulates_lists() {
        let data = json!({
            "customer": {"code": "C000001", "custom": {"vip_no": "V-8"}, "consent": {"sms": true}},
            "tags": ["VIP", "亲子"],
            "contacts": [{"name": "王秘书", "mobile": "13800000000"}, {"name": "李主任", "email": "l@x.cn"}],
            "audit_trail": [{"summary": "s", "changes": [{"field": "mobile", "before": null, "after": "138****0000"}]}],
        });
        let s = sections(&data, crate::i18n::Lang::En);
        assert!(s[0].pairs.contains(&("custom.vip_no".into(), "V-8".into())));
        assert!(s[0].pairs.contains(&("consent.sms".into(), "✓".into())));
        assert_eq!(s[2].pairs[0].1, "VIP、亲子");
        // serde_json keeps object keys sorted; columns come in that order.
        assert_eq!(s[3].headers, vec!["mobile", "name", "email"]);
        assert_eq!(s[3].rows[1], vec!["", "李主任", "l@x.cn"]);
        assert_eq!(s[8].headers, vec!["changes", "summary"]);
        assert_eq!(s[8].rows[0][0], "mobile: — → 138****0000");
    }
}
