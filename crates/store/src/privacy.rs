//! Personal-data rights under the PIPL (个人信息保护法): a full export of
//! everything held about one customer, erasure on request with the request,
//! decision and reason logged, and marketing only with recorded consent.
//!
//! Erasure anonymises rather than deletes: the customer row and its id stay,
//! so the financial records that law requires us to keep stay linked to it,
//! and the row is flagged `restricted` (no edits, no marketing, no merges).
//! Rows kept as they are, for the areas that add them (finance, legal
//! retention): orders and their amounts, receivables, receipts, refunds,
//! invoices, points ledger entries. Anything personal in them (traveller names
//! and document numbers on an order's traveller list) must be anonymised here
//! by the area that adds it, in `anonymise` below.
//!
//! The audit trail is append-only and is not rewritten: it keeps masked
//! values, and this module writes its own rows with the customer code only,
//! never the name.

use crate::customers::{self, Customer};
use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, now_ms, stale, Actor, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::customer::ConsentChannel;
use domain::ids::{CustomerId, UserId};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

// ---------------------------------------------------------------- consent

/// Whether `c` may receive marketing on `channel`: only with consent recorded
/// for that channel, and never once erased, restricted or merged away.
pub fn may_market(c: &Customer, channel: ConsentChannel) -> bool {
    if c.restricted || c.erased_at.is_some() || c.merged_into_id.is_some() {
        return false;
    }
    let k = &c.data.consent;
    match channel {
        ConsentChannel::Email => k.email,
        ConsentChannel::Sms => k.sms,
        ConsentChannel::Wechat => k.wechat,
        ConsentChannel::Phone => k.phone,
    }
}

fn consent_column(channel: ConsentChannel) -> &'static str {
    match channel {
        ConsentChannel::Email => "consent_email",
        ConsentChannel::Sms => "consent_sms",
        ConsentChannel::Wechat => "consent_wechat",
        ConsentChannel::Phone => "consent_phone",
    }
}

/// Appends ` AND …` keeping only customers that [`may_market`] allows on
/// `channel`, for any list a campaign or segment sends to. `alias` is the
/// customers table's alias in the query (`c`).
pub fn restrict_marketable(sql: &mut Sql, alias: &str, channel: ConsentChannel) {
    let col = consent_column(channel);
    sql.push(&format!(
        " AND {alias}.{col} = 1 AND {alias}.restricted = 0 AND {alias}.erased_at IS NULL \
         AND {alias}.merged_into_id IS NULL"
    ));
}

/// The customers within `vis` that may receive marketing on `channel`, by id.
pub async fn marketable(store: &Store, vis: &Visibility, channel: ConsentChannel) -> Result<Vec<CustomerId>> {
    let mut sql = Sql::new("SELECT c.id FROM customers c WHERE 1 = 1");
    restrict_marketable(&mut sql, "c", channel);
    vis.restrict(&mut sql, "c.owner_id", "c.team_id");
    sql.push(" ORDER BY c.id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok(CustomerId(r.try_get(0)?))).collect()
}

// --------------------------------------------------------------- requests

/// What a data subject asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A copy of everything held (handled by [`export_all`]).
    Export,
    /// Erasure (删除/匿名化).
    Erasure,
}

impl RequestKind {
    fn code(self) -> &'static str {
        match self {
            RequestKind::Export => "export",
            RequestKind::Erasure => "erasure",
        }
    }
}

/// The decision on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Granted: for an erasure, the customer is anonymised.
    Approve,
    /// Refused (e.g. a legal hold); nothing changes but the log.
    Reject,
}

impl Decision {
    /// As stored in `pii_requests.decision`.
    pub fn stored(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }
}

/// One personal-data request as logged.
#[derive(Debug, Clone, Serialize)]
pub struct PiiRequest {
    /// Id.
    pub id: i64,
    /// The customer it concerns.
    pub customer_id: CustomerId,
    /// `export` or `erasure`.
    pub kind: String,
    /// Who asked (the customer, a relative with authority, a lawyer …).
    pub requested_by: String,
    /// Why, as they said.
    pub reason: String,
    /// `approved`, `rejected`, or `None` while pending.
    pub decision: Option<String>,
    /// The reason for the decision.
    pub decision_note: Option<String>,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When, epoch ms.
    pub decided_at: Option<i64>,
    /// Who recorded the request.
    pub created_by: Option<UserId>,
    /// When recorded, epoch ms.
    pub created_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

fn request_from_row(r: &AnyRow) -> Result<PiiRequest, sqlx::Error> {
    Ok(PiiRequest {
        id: r.try_get("id")?,
        customer_id: CustomerId(r.try_get("customer_id")?),
        kind: r.try_get("kind")?,
        requested_by: r.try_get("requested_by")?,
        reason: r.try_get("reason")?,
        decision: r.try_get("decision")?,
        decision_note: r.try_get("decision_note")?,
        decided_by: r.try_get::<Option<i64>, _>("decided_by")?.map(UserId),
        decided_at: r.try_get("decided_at")?,
        created_by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        created_at: r.try_get("created_at")?,
        version: r.try_get("version")?,
    })
}

/// The requests about a customer, newest first (the caller checked visibility).
pub async fn requests(store: &Store, id: CustomerId) -> Result<Vec<PiiRequest>> {
    let rows = sqlx::query("SELECT * FROM pii_requests WHERE customer_id = $1 ORDER BY id DESC")
        .bind(id.0)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(request_from_row).collect::<Result<_, _>>()?)
}

fn text(field: &str, v: &str, max: usize, errors: &mut FieldErrors) -> String {
    let v = v.trim();
    if v.is_empty() {
        errors.push(FieldError::required(field));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
    }
    v.to_string()
}

/// Checks that `vis` lets the caller see customer `id` (inside `tx`) and
/// returns its code and erasure time.
async fn visible(tx: &mut Tx, vis: &Visibility, id: CustomerId) -> Result<(String, Option<i64>)> {
    let mut sql = Sql::new("SELECT code, erased_at FROM customers WHERE id = ");
    sql.bind(id.0);
    vis.restrict(&mut sql, "owner_id", "team_id");
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Logs a request about customer `id`, pending a decision.
pub async fn record_request(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: CustomerId,
    kind: RequestKind,
    requested_by: &str,
    reason: &str,
) -> Result<PiiRequest> {
    let mut errors = FieldErrors::new();
    let requested_by = text("requested_by", requested_by, 200, &mut errors);
    let reason = text("reason", reason, 2000, &mut errors);
    errors.into_result().map_err(StoreError::Invalid)?;
    let (code, _) = visible(tx, vis, id).await?;
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO pii_requests (customer_id, kind, requested_by, reason, created_by, created_at, updated_at, \
         version) VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING *",
    )
    .bind(id.0)
    .bind(kind.code())
    .bind(requested_by.as_str())
    .bind(reason.as_str())
    .bind(actor.user_id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let req = request_from_row(&row)?;
    let mut c = ChangeSet::new();
    c.created("request.kind", Some(kind.code()), Sensitivity::Plain);
    c.created("request.requested_by", Some(&requested_by), Sensitivity::Plain);
    c.created("request.reason", Some(&reason), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "customer",
        &id.to_string(),
        &format!("personal-data request #{} ({}) recorded for customer {code}", req.id, kind.code()),
        &c,
    )
    .await?;
    Ok(req)
}

/// Decides a pending request of customer `id`. Approving an erasure
/// anonymises the customer in the same transaction; rejecting changes
/// nothing but the log. Both need a reason (`decision_note`).
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: CustomerId,
    request_id: i64,
    version: i64,
    decision: Decision,
    decision_note: &str,
) -> Result<PiiRequest> {
    let mut errors = FieldErrors::new();
    let note = text("decision_note", decision_note, 2000, &mut errors);
    errors.into_result().map_err(StoreError::Invalid)?;
    let (code, erased_at) = visible(tx, vis, id).await?;
    let row = sqlx::query("SELECT * FROM pii_requests WHERE id = $1 AND customer_id = $2")
        .bind(request_id)
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let before = request_from_row(&row)?;
    if before.decision.is_some() {
        return Err(StoreError::invalid(FieldError::new(
            "decision",
            "already_decided",
            "this request was already decided",
        )));
    }
    let erasing = decision == Decision::Approve && before.kind == RequestKind::Erasure.code();
    if erasing && erased_at.is_some() {
        return Err(StoreError::invalid(FieldError::new(
            "decision",
            "erased",
            "this customer's personal data was already erased",
        )));
    }
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE pii_requests SET decision = $1, decision_note = $2, decided_by = $3, decided_at = $4, updated_at = $4, \
         version = version + 1 WHERE id = $5 AND version = $6",
    )
    .bind(decision.stored())
    .bind(note.as_str())
    .bind(actor.user_id.map(|u| u.0))
    .bind(now)
    .bind(request_id)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, "pii_requests", request_id).await);
    }
    let mut c = ChangeSet::new();
    c.diff("request.decision", None, Some(decision.stored()), Sensitivity::Plain);
    c.diff("request.decision_note", None, Some(&note), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &id.to_string(),
        &format!("personal-data request #{request_id} ({}) for customer {code} {}", before.kind, decision.stored()),
        &c,
    )
    .await?;
    if erasing {
        anonymise(tx, actor, id, &code, request_id).await?;
        let merged: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, code FROM customers WHERE merged_into_id = $1 AND erased_at IS NULL")
                .bind(id.0)
                .fetch_all(&mut ***tx)
                .await?;
        // Records merged into this one describe the same person.
        for (mid, mcode) in merged {
            anonymise(tx, actor, CustomerId(mid), &mcode, request_id).await?;
        }
    }
    let row = sqlx::query("SELECT * FROM pii_requests WHERE id = $1").bind(request_id).fetch_one(&mut ***tx).await?;
    Ok(request_from_row(&row)?)
}

/// An erasure request with its decision, handled in one step (the API).
#[derive(Debug, Clone, Deserialize)]
pub struct ErasureRequest {
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// Approve (erase) or reject.
    pub decision: Decision,
    /// Why so.
    pub decision_note: String,
}

/// Records an erasure request and decides it: approved, the customer is
/// anonymised; rejected, only the log changes.
pub async fn erase(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: CustomerId,
    r: &ErasureRequest,
) -> Result<PiiRequest> {
    let mut errors = FieldErrors::new();
    text("requested_by", &r.requested_by, 200, &mut errors);
    text("reason", &r.reason, 2000, &mut errors);
    text("decision_note", &r.decision_note, 2000, &mut errors);
    errors.into_result().map_err(StoreError::Invalid)?;
    let req = record_request(tx, actor, vis, id, RequestKind::Erasure, &r.requested_by, &r.reason).await?;
    decide(tx, actor, vis, id, req.id, req.version, r.decision, &r.decision_note).await
}

/// Personal columns of `customers`, all cleared on erasure (the name is
/// replaced, the pinyin keys emptied).
const PERSONAL_COLUMNS: &[&str] = &[
    "gender",
    "birthday",
    "lunar_birthday",
    "id_card_enc",
    "id_card_hash",
    "id_card_masked",
    "passport_enc",
    "passport_hash",
    "passport_masked",
    "passport_expiry",
    "employer",
    "title",
    "mobile",
    "mobile2",
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
    "source_detail",
    "license_no",
    "notes",
];

/// The name an erased customer is shown by.
pub fn erased_name(code: &str) -> String {
    format!("已删除客户 {code}")
}

/// What an erased contact person is called, and what replaces the text of
/// an erased customer's interactions and intentions.
pub const ERASED_CONTACT: &str = "已删除联系人";
/// See [`ERASED_CONTACT`].
pub const REDACTED: &str = "（已删除）";

/// Clears every personal field of customer `id` and of its contacts,
/// interactions, intentions and tags; keeps the row, its id and code, kind,
/// owner and stage so that financial records stay linked and counted.
async fn anonymise(tx: &mut Tx, actor: &Actor, id: CustomerId, code: &str, request_id: i64) -> Result<()> {
    let now = now_ms();
    let keys_before = crate::customer_search::current(tx, id).await?;
    let mut sql = Sql::new("UPDATE customers SET name = ");
    sql.bind(erased_name(code));
    sql.push(", name_pinyin = '', name_initials = ''");
    for col in PERSONAL_COLUMNS {
        sql.push(&format!(", {col} = NULL"));
    }
    sql.push(", custom = '{}', consent_email = 0, consent_sms = 0, consent_wechat = 0, consent_phone = 0");
    sql.push(", consent_at = ").bind(now);
    sql.push(", restricted = 1, erased_at = ").bind(now);
    sql.push(", updated_at = ").bind(now);
    sql.push(", version = version + 1 WHERE id = ").bind(id.0);
    sql.query().execute(&mut ***tx).await?;
    sqlx::query(
        "UPDATE customer_contacts SET name = $1, title = NULL, mobile = NULL, landline = NULL, email = NULL, \
         wechat = NULL, notes = NULL, updated_at = $2, version = version + 1 WHERE customer_id = $3",
    )
    .bind(ERASED_CONTACT)
    .bind(now)
    .bind(id.0)
    .execute(&mut ***tx)
    .await?;
    sqlx::query("UPDATE interactions SET summary = $1, updated_at = $2, version = version + 1 WHERE customer_id = $3")
        .bind(REDACTED)
        .bind(now)
        .bind(id.0)
        .execute(&mut ***tx)
        .await?;
    sqlx::query(
        "UPDATE customer_intentions SET destination = $1, period = NULL, notes = NULL, updated_at = $2, \
         version = version + 1 WHERE customer_id = $3",
    )
    .bind(REDACTED)
    .bind(now)
    .bind(id.0)
    .execute(&mut ***tx)
    .await?;
    sqlx::query("DELETE FROM customer_tags WHERE customer_id = $1").bind(id.0).execute(&mut ***tx).await?;
    crate::customer_search::sync(tx, id, &keys_before).await?;
    let mut c = ChangeSet::new();
    for field in ["name", "documents", "phones", "email", "wechat", "address", "preferences", "notes", "custom"] {
        c.diff(field, Some("erased"), None, Sensitivity::Secret);
    }
    c.diff("restricted", Some("false"), Some("true"), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Delete,
        "customer",
        &id.to_string(),
        &format!(
            "personal data of customer {code} erased on request #{request_id}: contacts, interactions and \
             intentions redacted; the record is kept, restricted, for financial records"
        ),
        &c,
    )
    .await?;
    Ok(())
}

// ----------------------------------------------------------------- export

/// Epoch-millisecond fields (`…_at`) as RFC 3339 text, for people reading
/// the export.
fn readable_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k.ends_with("_at") {
                    if let Some(ms) = x.as_i64() {
                        if let Some(t) = chrono::DateTime::from_timestamp_millis(ms) {
                            *x = Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                            continue;
                        }
                    }
                }
                readable_times(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(readable_times),
        _ => {}
    }
}

/// A customer's profile with its documents opened.
async fn profile(store: &Store, c: &Customer) -> Result<Value> {
    let (id_enc, pp_enc): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT id_card_enc, passport_enc FROM customers WHERE id = $1")
            .bind(c.id.0)
            .fetch_one(store.pool())
            .await?;
    let key = store.data_key();
    let mut v = serde_json::to_value(c).map_err(|e| StoreError::Backup(format!("export: {e}")))?;
    if let Value::Object(m) = &mut v {
        m.insert("id_card".into(), id_enc.map(|s| key.open(&s)).transpose()?.map_or(Value::Null, Value::String));
        m.insert("passport".into(), pp_enc.map(|s| key.open(&s)).transpose()?.map_or(Value::Null, Value::String));
    }
    Ok(v)
}

fn to_json<T: Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Backup(format!("export: {e}")))
}

/// Everything held about customer `id` (within `vis`), machine-readable:
/// the profile with ID card and passport numbers in full, contacts,
/// intentions, tags, interactions, consent, the audit trail about the
/// customer, personal-data requests, and the records merged into it. The
/// export itself is audited before it is returned.
pub async fn export_all(store: &Store, actor: &Actor, vis: &Visibility, id: CustomerId) -> Result<Value> {
    let c = customers::get(store, vis, id).await?;
    let merged_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE merged_into_id = $1 ORDER BY id")
        .bind(id.0)
        .fetch_all(store.pool())
        .await?;
    let mut merged = Vec::new();
    for m in &merged_ids {
        // Merged records follow the survivor's visibility: they are its history.
        let mc =
            customers::get(store, &Visibility { scope: domain::access::Scope::All, ..vis.clone() }, CustomerId(*m))
                .await?;
        merged.push(profile(store, &mc).await?);
    }
    let audit_rows = sqlx::query(
        "SELECT * FROM audit_log WHERE (entity = 'customer' AND (entity_id = $1 OR entity_id IN \
         (SELECT CAST(id AS TEXT) FROM customers WHERE merged_into_id = $2))) \
         OR (entity = 'interaction' AND entity_id IN \
         (SELECT CAST(id AS TEXT) FROM interactions WHERE customer_id = $2)) \
         ORDER BY id",
    )
    .bind(id.to_string())
    .bind(id.0)
    .fetch_all(store.pool())
    .await?;
    let mut trail = Vec::with_capacity(audit_rows.len());
    for r in &audit_rows {
        let changes: String = r.try_get("changes")?;
        trail.push(json!({
            "created_at": r.try_get::<i64, _>("created_at")?,
            "actor": r.try_get::<String, _>("actor_name")?,
            "action": r.try_get::<String, _>("action")?,
            "entity": r.try_get::<String, _>("entity")?,
            "entity_id": r.try_get::<Option<String>, _>("entity_id")?,
            "summary": r.try_get::<String, _>("summary")?,
            "changes": serde_json::from_str::<Value>(&changes).unwrap_or(Value::Null),
        }));
    }
    let consent = json!({
        "email": c.data.consent.email,
        "sms": c.data.consent.sms,
        "wechat": c.data.consent.wechat,
        "phone": c.data.consent.phone,
        "recorded_at": sqlx::query_scalar::<_, Option<i64>>("SELECT consent_at FROM customers WHERE id = $1")
            .bind(id.0)
            .fetch_one(store.pool())
            .await?,
    });
    let mut out = Map::new();
    out.insert("format".into(), json!("keyuan.personal-data.v1"));
    out.insert("generated_at".into(), json!(now_ms()));
    out.insert("customer".into(), profile(store, &c).await?);
    out.insert("consent".into(), consent);
    out.insert("tags".into(), to_json(&c.data.tags)?);
    out.insert("contacts".into(), to_json(&customers::contacts(store, id).await?)?);
    out.insert("intentions".into(), to_json(&customers::intentions(store, id).await?)?);
    out.insert("interactions".into(), to_json(&customers::interactions(store, id, i64::MAX).await?)?);
    out.insert("requests".into(), to_json(&requests(store, id).await?)?);
    for (key, sql) in BUSINESS {
        out.insert((*key).into(), rows_json(store, sql, id).await?);
    }
    out.insert("merged_records".into(), Value::Array(merged));
    out.insert("audit_trail".into(), Value::Array(trail));
    let mut v = Value::Object(out);
    readable_times(&mut v);
    audit::record_alone(
        store,
        actor,
        Action::Export,
        "customer",
        &id.to_string(),
        &format!("all personal data of customer {} exported (personal-data right of access)", c.code),
    )
    .await?;
    Ok(v)
}

/// The business records held about a customer, for the full export: what
/// it bought, paid, was offered and asked about, and the trips it went on.
const BUSINESS: &[(&str, &str)] = &[
    ("orders", "SELECT * FROM orders WHERE customer_id = $1 ORDER BY id"),
    (
        "trips_as_traveller",
        "SELECT o.order_no, o.destination, o.travel_date, o.return_date, t.is_child, t.room FROM order_travellers t \
         JOIN orders o ON o.id = t.order_id WHERE t.customer_id = $1 ORDER BY t.id",
    ),
    ("receipts", "SELECT * FROM receipts WHERE customer_id = $1 ORDER BY id"),
    ("quotes", "SELECT * FROM quotes WHERE customer_id = $1 ORDER BY id"),
    (
        "quote_versions",
        "SELECT v.* FROM quote_versions v JOIN quotes q ON q.id = v.quote_id WHERE q.customer_id = $1 \
         ORDER BY v.quote_id, v.version_no",
    ),
    ("opportunities", "SELECT * FROM opportunities WHERE customer_id = $1 ORDER BY id"),
];

/// Rows as JSON objects: integers, text (JSON text parsed) or null.
async fn rows_json(store: &Store, sql: &str, id: CustomerId) -> Result<Value> {
    use sqlx::Column;
    let rows = sqlx::query(sql).bind(id.0).fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut obj = Map::new();
        for (i, col) in r.columns().iter().enumerate() {
            let v = if let Ok(Some(n)) = r.try_get::<Option<i64>, _>(i) {
                json!(n)
            } else if let Ok(Some(t)) = r.try_get::<Option<String>, _>(i) {
                if col.name() == "lines" {
                    serde_json::from_str(&t).unwrap_or(Value::String(t))
                } else {
                    Value::String(t)
                }
            } else {
                Value::Null
            };
            obj.insert(col.name().to_string(), v);
        }
        out.push(Value::Object(obj));
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_become_readable_wherever_they_are() {
        let mut v = json!({"created_at": 0, "items": [{"decided_at": 1_700_000_000_000_i64, "n": 5}], "at": 3});
        readable_times(&mut v);
        assert_eq!(v["created_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["items"][0]["decided_at"], "2023-11-14T22:13:20.000Z");
        assert_eq!(v["items"][0]["n"], 5);
        assert_eq!(v["at"], 3, "only …_at fields");
    }

    #[test]
    fn marketing_filter_names_the_channel_and_the_exclusions() {
        let mut sql = Sql::new("SELECT c.id FROM customers c WHERE 1 = 1");
        restrict_marketable(&mut sql, "c", ConsentChannel::Sms);
        let t = sql.text();
        assert!(t.contains("c.consent_sms = 1") && t.contains("c.restricted = 0"), "{t}");
        assert!(t.contains("c.erased_at IS NULL") && t.contains("c.merged_into_id IS NULL"), "{t}");
        assert_eq!(erased_name("C000123"), "已删除客户 C000123");
    }
}
