//! Merging a duplicate customer into the one that survives.
//!
//! Nothing is lost: every row that belongs to the duplicate moves to the
//! survivor, fields the survivor lacks are filled from the duplicate (or as
//! the person merging chose, field by field), and the duplicate itself stays
//! as a record marked `merged_into_id`, hidden from lists by default. Both
//! get an audit row explaining the merge, and the survivor's timeline shows
//! the merge and the duplicate's history (see `customers::timeline`).

use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, now_ms, stale, Actor, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::CustomerId;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// Tables whose rows belong to a customer and move to the survivor, with
/// their customer column. Areas that add such a table add it here, so a
/// merge keeps moving everything:
/// - opportunities, quotes, orders (and their travellers), receivables,
///   receipts, refunds (sales and finance);
/// - tickets: inquiries, complaints, suggestions (service desk);
/// - member accounts and the points ledger, referrals (loyalty);
/// - care tasks, care messages, event invitations and attendance (care);
/// - campaign members and responses (marketing);
/// - hotel stays and guest preferences (hotel).
///
/// Value evaluations (盘点) are history of each record and stay where they
/// are; the next evaluation run scores the survivor with everything it now has.
const MOVED: &[(&str, &str)] = &[
    ("interactions", "customer_id"),
    ("customer_intentions", "customer_id"),
    ("pii_requests", "customer_id"),
    ("opportunities", "customer_id"),
    ("quotes", "customer_id"),
    ("orders", "customer_id"),
    ("order_travellers", "customer_id"),
    ("receipts", "customer_id"),
    ("value_alerts", "customer_id"),
];

/// The change of the survivor's merge audit row that lists, by id, every
/// record merged in (the duplicate and what had been merged into it).
const MERGED_RECORDS: &str = "merged_records";

/// The customers merged into `id`, directly or through an earlier merge.
///
/// Read from the survivor's own merge audit rows, which the audit trail's
/// `(entity, entity_id)` index finds at once; `customers.merged_into_id` has
/// no index, and the timeline asks this on every customer page.
pub async fn merged_ids(store: &Store, id: CustomerId) -> Result<Vec<CustomerId>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE entity = 'customer' AND entity_id = $1 AND changes LIKE $2",
    )
    .bind(id.to_string())
    .bind(format!("%\"{MERGED_RECORDS}\"%"))
    .fetch_all(store.pool())
    .await?;
    let mut out: Vec<CustomerId> = Vec::new();
    for changes in rows {
        let fields: Vec<domain::audit::FieldChange> = serde_json::from_str(&changes).unwrap_or_default();
        for f in fields.iter().filter(|f| f.field == MERGED_RECORDS) {
            for part in f.after.as_deref().unwrap_or("").split(',') {
                if let Ok(n) = part.trim().parse::<i64>() {
                    if !out.contains(&CustomerId(n)) {
                        out.push(CustomerId(n));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// One side of a merge: the customer and the version the caller read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeSide {
    /// The customer.
    pub id: CustomerId,
    /// Its version as read; a stale one is refused.
    pub version: i64,
}

/// Whose value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// The survivor keeps its own (even if empty).
    Survivor,
    /// The duplicate's value replaces it.
    Duplicate,
}

/// Per-field choices: a field of [`FIELDS`], `consent`, `owner_id` or
/// `custom.<key>` → whose value to keep. Fields not named keep the
/// survivor's value when it has one and take the duplicate's otherwise.
pub type Choices = BTreeMap<String, Pick>;

/// The fields a merge decides on, each with the columns that go together
/// (a name with its pinyin, a document with its sealed value, blind index
/// and masked form). A group counts as empty when its first column is.
pub const FIELDS: &[(&str, &[&str])] = &[
    ("kind", &["kind"]),
    ("name", &["name", "name_pinyin", "name_initials"]),
    ("gender", &["gender"]),
    ("birthday", &["birthday"]),
    ("lunar_birthday", &["lunar_birthday"]),
    ("id_card", &["id_card_enc", "id_card_hash", "id_card_masked"]),
    ("passport", &["passport_enc", "passport_hash", "passport_masked", "passport_expiry"]),
    ("employer", &["employer"]),
    ("title", &["title"]),
    ("mobile", &["mobile"]),
    ("mobile2", &["mobile2"]),
    ("landline", &["landline"]),
    ("email", &["email"]),
    ("wechat", &["wechat"]),
    ("fax", &["fax"]),
    ("province", &["province"]),
    ("city", &["city"]),
    ("district", &["district"]),
    ("address", &["address"]),
    ("hobbies", &["hobbies"]),
    ("diet", &["diet"]),
    ("room_pref", &["room_pref"]),
    ("seat_pref", &["seat_pref"]),
    ("source", &["source"]),
    ("source_detail", &["source_detail"]),
    ("partner_type", &["partner_type"]),
    ("industry", &["industry"]),
    ("license_no", &["license_no"]),
    ("notes", &["notes"]),
    ("stage", &["stage"]),
    ("grade", &["grade"]),
];

/// Fields with personal data: masked in the audit trail.
const PERSONAL: &[&str] = &["mobile", "mobile2", "landline", "email", "wechat", "fax", "address", "birthday"];

/// The column shown for a field in the audit trail (documents by their
/// masked form, never the sealed value).
fn shown_column(field: &str, cols: &[&'static str]) -> &'static str {
    match field {
        "id_card" => "id_card_masked",
        "passport" => "passport_masked",
        _ => cols[0],
    }
}

/// One customer row as the merge needs it.
struct Side {
    id: CustomerId,
    code: String,
    text: HashMap<&'static str, Option<String>>,
    consent: [i64; 4],
    consent_at: Option<i64>,
    owner_id: i64,
    team_id: Option<i64>,
    custom: BTreeMap<String, serde_json::Value>,
    last_contact_at: Option<i64>,
    merged_into_id: Option<i64>,
    erased_at: Option<i64>,
}

impl Side {
    fn get(&self, col: &str) -> Option<&str> {
        self.text.get(col).and_then(|v| v.as_deref()).filter(|s| !s.trim().is_empty())
    }

    fn name(&self) -> &str {
        self.get("name").unwrap_or("")
    }
}

fn side_of(r: &AnyRow) -> Result<Side, sqlx::Error> {
    let mut text = HashMap::new();
    for (_, cols) in FIELDS {
        for col in *cols {
            text.insert(*col, r.try_get::<Option<String>, _>(*col)?);
        }
    }
    let custom: String = r.try_get("custom")?;
    Ok(Side {
        id: CustomerId(r.try_get("id")?),
        code: r.try_get("code")?,
        text,
        consent: [
            r.try_get("consent_email")?,
            r.try_get("consent_sms")?,
            r.try_get("consent_wechat")?,
            r.try_get("consent_phone")?,
        ],
        consent_at: r.try_get("consent_at")?,
        owner_id: r.try_get("owner_id")?,
        team_id: r.try_get("team_id")?,
        custom: serde_json::from_str(&custom).unwrap_or_default(),
        last_contact_at: r.try_get("last_contact_at")?,
        merged_into_id: r.try_get("merged_into_id")?,
        erased_at: r.try_get("erased_at")?,
    })
}

/// Reads one side inside the transaction, if `vis` lets the caller see it.
async fn load(tx: &mut Tx, vis: &Visibility, id: CustomerId) -> Result<Side> {
    let mut sql = Sql::new("SELECT * FROM customers WHERE id = ");
    sql.bind(id.0);
    vis.restrict(&mut sql, "owner_id", "team_id");
    let row = sql.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    Ok(side_of(&row)?)
}

fn check_choices(choices: &Choices) -> Result<()> {
    let mut errors = domain::FieldErrors::new();
    for key in choices.keys() {
        let known = FIELDS.iter().any(|(f, _)| f == key)
            || key == "consent"
            || key == "owner_id"
            || key.strip_prefix("custom.").is_some_and(|k| !k.is_empty());
        if !known {
            errors.push(FieldError::new(
                format!("choices.{key}"),
                "unknown_field",
                format!("{key} is not a customer field a merge can choose"),
            ));
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

fn refuse(field: &str, code: &'static str, message: &str) -> StoreError {
    StoreError::invalid(FieldError::new(field, code, message))
}

/// What moved in a merge, for the audit summary.
#[derive(Debug, Default)]
struct Moved {
    by_table: Vec<(&'static str, u64)>,
    contacts: u64,
    tags: u64,
}

/// Merges `duplicate` into `survivor` (see the module documentation) and
/// returns the survivor as it now is. Both must be visible to `vis`, live
/// (not merged, not erased) and at the versions given; otherwise nothing
/// changes (`NotFound`, `Invalid`, `Stale`).
pub async fn merge(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    survivor: MergeSide,
    duplicate: MergeSide,
    choices: &Choices,
) -> Result<crate::customers::Customer> {
    if survivor.id == duplicate.id {
        return Err(refuse("duplicate_id", "same_customer", "a customer cannot be merged into itself"));
    }
    check_choices(choices)?;
    let s = load(tx, vis, survivor.id).await?;
    let d = load(tx, vis, duplicate.id).await?;
    for (side, field) in [(&s, "customer"), (&d, "duplicate_id")] {
        if side.merged_into_id.is_some() {
            return Err(refuse(field, "already_merged", "this customer was already merged into another"));
        }
        if side.erased_at.is_some() {
            return Err(refuse(
                field,
                "erased",
                "this customer's personal data was erased on request; it cannot be merged",
            ));
        }
    }
    let now = now_ms();

    // The duplicate first: a stale version stops the merge before anything moved.
    let done = sqlx::query(
        "UPDATE customers SET merged_into_id = $1, updated_at = $2, version = version + 1 \
         WHERE id = $3 AND version = $4",
    )
    .bind(s.id.0)
    .bind(now)
    .bind(d.id.0)
    .bind(duplicate.version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, "customers", d.id.0).await);
    }

    // Fields.
    let mut new_text: HashMap<&'static str, Option<String>> = s.text.clone();
    let mut changes = ChangeSet::new();
    changes.created("merged_from", Some(&format!("{} {}", d.code, d.name())), Sensitivity::Plain);
    for (field, cols) in FIELDS {
        let pick = choices.get(*field).copied().unwrap_or_else(|| {
            if s.get(cols[0]).is_none() && d.get(cols[0]).is_some() {
                Pick::Duplicate
            } else {
                Pick::Survivor
            }
        });
        if pick == Pick::Duplicate {
            for col in *cols {
                new_text.insert(col, d.text.get(col).cloned().flatten());
            }
        }
    }
    // A second number the survivor has no room for otherwise: keep the
    // duplicate's mobile as mobile2 rather than lose it.
    if !choices.contains_key("mobile2") && new_text.get("mobile2").cloned().flatten().is_none() {
        let mobile = new_text.get("mobile").cloned().flatten();
        let spare = [s.get("mobile"), s.get("mobile2"), d.get("mobile"), d.get("mobile2")]
            .into_iter()
            .flatten()
            .find(|m| Some(*m) != mobile.as_deref());
        if let Some(m) = spare {
            new_text.insert("mobile2", Some(m.to_string()));
        }
    }
    for (field, cols) in FIELDS {
        let col = shown_column(field, cols);
        let sensitivity = if PERSONAL.contains(field) { Sensitivity::Personal } else { Sensitivity::Plain };
        changes.diff(field, s.get(col), new_text.get(col).and_then(|v| v.as_deref()), sensitivity);
    }
    let (consent, consent_at) = match choices.get("consent") {
        Some(Pick::Duplicate) => (d.consent, d.consent_at),
        _ => (s.consent, s.consent_at),
    };
    let flags = |c: [i64; 4]| format!("email={} sms={} wechat={} phone={}", c[0] != 0, c[1] != 0, c[2] != 0, c[3] != 0);
    changes.diff("consent", Some(&flags(s.consent)), Some(&flags(consent)), Sensitivity::Plain);
    let (owner_id, team_id) = match choices.get("owner_id") {
        Some(Pick::Duplicate) if d.owner_id != s.owner_id => {
            let row: Option<(Option<i64>, i64)> = sqlx::query_as("SELECT team_id, active FROM users WHERE id = $1")
                .bind(d.owner_id)
                .fetch_optional(&mut ***tx)
                .await?;
            match row {
                Some((team, 1)) => (d.owner_id, team),
                _ => {
                    return Err(refuse(
                        "choices.owner_id",
                        "inactive",
                        "the duplicate's owner is deactivated; keep the survivor's owner",
                    ))
                }
            }
        }
        _ => (s.owner_id, s.team_id),
    };
    changes.diff("owner_id", Some(&s.owner_id.to_string()), Some(&owner_id.to_string()), Sensitivity::Plain);
    let mut custom = d.custom.clone();
    custom.extend(s.custom.clone());
    for (key, pick) in choices.iter().filter_map(|(k, p)| k.strip_prefix("custom.").map(|k| (k, p))) {
        let chosen = match pick {
            Pick::Survivor => s.custom.get(key),
            Pick::Duplicate => d.custom.get(key),
        };
        match chosen {
            Some(v) => custom.insert(key.to_string(), v.clone()),
            None => custom.remove(key),
        };
    }
    let custom_before = serde_json::to_string(&s.custom).unwrap_or_default();
    let custom_after = serde_json::to_string(&custom).unwrap_or_default();
    changes.diff("custom", Some(&custom_before), Some(&custom_after), Sensitivity::Plain);
    let last_contact = match (s.last_contact_at, d.last_contact_at) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };

    let keys_before = crate::customer_search::current(tx, s.id).await?;
    let mut sql = Sql::new("UPDATE customers SET ");
    for (i, (_, cols)) in FIELDS.iter().enumerate() {
        for (j, col) in cols.iter().enumerate() {
            if i > 0 || j > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{col} = "));
            match new_text.get(col).cloned().flatten() {
                Some(v) => sql.bind(v),
                None => sql.push("NULL"),
            };
        }
    }
    for (col, v) in ["consent_email", "consent_sms", "consent_wechat", "consent_phone"].iter().zip(consent) {
        sql.push(&format!(", {col} = ")).bind(v);
    }
    for (col, v) in [("consent_at", consent_at), ("team_id", team_id), ("last_contact_at", last_contact)] {
        sql.push(&format!(", {col} = "));
        match v {
            Some(v) => sql.bind(v),
            None => sql.push("NULL"),
        };
    }
    sql.push(", owner_id = ").bind(owner_id);
    sql.push(", custom = ").bind(custom_after.clone());
    sql.push(", updated_at = ").bind(now);
    sql.push(", version = version + 1 WHERE id = ").bind(s.id.0);
    sql.push(" AND version = ").bind(survivor.version);
    if sql.query().execute(&mut ***tx).await?.rows_affected() != 1 {
        return Err(stale(tx, "customers", s.id.0).await);
    }
    crate::customer_search::sync(tx, s.id, &keys_before).await?;

    // Rows.
    let mut moved = Moved::default();
    for (table, col) in MOVED {
        let n = sqlx::query(&format!(
            "UPDATE {table} SET {col} = $1, updated_at = $2, version = version + 1 WHERE {col} = $3"
        ))
        .bind(s.id.0)
        .bind(now)
        .bind(d.id.0)
        .execute(&mut ***tx)
        .await?
        .rows_affected();
        moved.by_table.push((table, n));
    }
    // One primary contact: the survivor's, if it has one.
    let survivor_primary: Option<i64> =
        sqlx::query_scalar("SELECT id FROM customer_contacts WHERE customer_id = $1 AND is_primary = 1")
            .bind(s.id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    let primary = if survivor_primary.is_some() { "0" } else { "is_primary" };
    moved.contacts = sqlx::query(&format!(
        "UPDATE customer_contacts SET customer_id = $1, is_primary = {primary}, updated_at = $2, \
         version = version + 1 WHERE customer_id = $3"
    ))
    .bind(s.id.0)
    .bind(now)
    .bind(d.id.0)
    .execute(&mut ***tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO customer_tags (customer_id, tag, created_at, updated_at) \
         SELECT $1, tag, created_at, $2 FROM customer_tags WHERE customer_id = $3 \
         ON CONFLICT (customer_id, tag) DO NOTHING",
    )
    .bind(s.id.0)
    .bind(now)
    .bind(d.id.0)
    .execute(&mut ***tx)
    .await?;
    moved.tags = sqlx::query("DELETE FROM customer_tags WHERE customer_id = $1")
        .bind(d.id.0)
        .execute(&mut ***tx)
        .await?
        .rows_affected();
    // Records merged into the duplicate earlier now point at the survivor, so
    // its timeline shows their history too and a lookup finds the live record.
    let earlier: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE merged_into_id = $1 ORDER BY id")
        .bind(d.id.0)
        .fetch_all(&mut ***tx)
        .await?;
    sqlx::query("UPDATE customers SET merged_into_id = $1, updated_at = $2 WHERE merged_into_id = $3")
        .bind(s.id.0)
        .bind(now)
        .bind(d.id.0)
        .execute(&mut ***tx)
        .await?;
    let mut merged_records = vec![d.id.0.to_string()];
    merged_records.extend(earlier.iter().map(i64::to_string));
    changes.created(MERGED_RECORDS, Some(&merged_records.join(",")), Sensitivity::Plain);

    let mut what: Vec<String> = moved.by_table.iter().map(|(t, n)| format!("{n} {t}")).collect();
    what.push(format!("{} customer_contacts", moved.contacts));
    what.push(format!("{} customer_tags", moved.tags));
    if !earlier.is_empty() {
        what.push(format!("{} earlier merged records", earlier.len()));
    }
    let (s_name, d_name) = (s.name().to_string(), d.name().to_string());
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &s.id.to_string(),
        &format!(
            "customer {} {d_name} merged into {} {s_name}; moved {}; the duplicate's history is shown here",
            d.code,
            s.code,
            what.join(", ")
        ),
        &changes,
    )
    .await?;
    let mut marked = ChangeSet::new();
    marked.diff("merged_into_id", None, Some(&format!("{} {s_name}", s.code)), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &d.id.to_string(),
        &format!(
            "customer {} {d_name} merged into {} {s_name}; kept as a merged record, its history moved there",
            d.code, s.code
        ),
        &marked,
    )
    .await?;
    crate::customers::get_in(tx, s.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_name_known_fields_only() {
        let mut c = Choices::new();
        c.insert("mobile".into(), Pick::Duplicate);
        c.insert("consent".into(), Pick::Survivor);
        c.insert("custom.vip_no".into(), Pick::Duplicate);
        assert!(check_choices(&c).is_ok());
        c.insert("password".into(), Pick::Duplicate);
        c.insert("custom.".into(), Pick::Duplicate);
        match check_choices(&c) {
            Err(StoreError::Invalid(f)) => {
                let fields: Vec<&str> = f.0.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["choices.custom.", "choices.password"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_field_group_has_columns() {
        for (f, cols) in FIELDS {
            assert!(!cols.is_empty(), "{f}");
        }
        assert_eq!(serde_json::to_string(&Pick::Duplicate).unwrap(), "\"duplicate\"");
    }
}
