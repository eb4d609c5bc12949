//! Customer fields administrators configure: which built-in fields must be
//! filled per kind, and custom fields (text, number, date, choice) that
//! behave like built-in ones in forms, lists, filters, import and export.

use crate::{audit, now_ms, stale, unique_as, Actor, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// Built-in customer fields that can be made required (form field names).
pub const REQUIRABLE: &[&str] = &[
    "gender",
    "birthday",
    "id_card",
    "passport",
    "employer",
    "title",
    "mobile",
    "landline",
    "email",
    "wechat",
    "province",
    "city",
    "district",
    "address",
    "source",
    "industry",
    "license_no",
    "partner_type",
];

/// One custom field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDef {
    /// Id.
    pub id: i64,
    /// Customer kind it belongs to.
    pub kind: String,
    /// Stable key (`vip_card_no`), used in forms as `custom.<key>`, in
    /// imports and exports as a column of that name.
    pub key: String,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// `text`, `number`, `date` or `choice`.
    pub field_type: String,
    /// The choices of a `choice` field.
    pub choices: Vec<String>,
    /// Must be filled.
    pub required: bool,
    /// Order in forms.
    pub position: i64,
    /// Shown and accepted (inactive fields keep their stored values).
    pub active: bool,
    /// Optimistic-lock version.
    pub version: i64,
}

fn from_row(r: &AnyRow) -> Result<FieldDef, sqlx::Error> {
    let choices: String = r.try_get("choices")?;
    Ok(FieldDef {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        key: r.try_get("key")?,
        label_zh: r.try_get("label_zh")?,
        label_en: r.try_get("label_en")?,
        field_type: r.try_get("field_type")?,
        choices: serde_json::from_str(&choices).unwrap_or_default(),
        required: r.try_get::<i64, _>("required")? != 0,
        position: r.try_get("position")?,
        active: r.try_get::<i64, _>("active")? != 0,
        version: r.try_get("version")?,
    })
}

/// The custom fields of `kind` (active ones unless `all`), in form order.
pub async fn definitions(store: &Store, kind: &str, all: bool) -> Result<Vec<FieldDef>> {
    let sql = if all {
        "SELECT * FROM customer_fields WHERE kind = $1 ORDER BY position, id"
    } else {
        "SELECT * FROM customer_fields WHERE kind = $1 AND active = 1 ORDER BY position, id"
    };
    let rows = sqlx::query(sql).bind(kind).fetch_all(store.pool()).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// What defines a custom field (validated by the caller: key `[a-z][a-z0-9_]{0,31}`).
#[derive(Debug, Clone)]
pub struct FieldDraft {
    pub kind: String,
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub field_type: String,
    pub choices: Vec<String>,
    pub required: bool,
    pub position: i64,
    pub active: bool,
}

/// Adds a custom field.
pub async fn create(tx: &mut Tx, actor: &Actor, d: &FieldDraft) -> Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customer_fields (kind, key, label_zh, label_en, field_type, choices, required, position, active, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1) RETURNING id",
    )
    .bind(d.kind.as_str())
    .bind(d.key.as_str())
    .bind(d.label_zh.as_str())
    .bind(d.label_en.as_str())
    .bind(d.field_type.as_str())
    .bind(serde_json::to_string(&d.choices).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(d.required))
    .bind(d.position)
    .bind(i64::from(d.active))
    .bind(now)
    .fetch_one(&mut ***tx)
    .await
    .map_err(unique_as("key"))?;
    let mut c = ChangeSet::new();
    c.created("key", Some(&d.key), Sensitivity::Plain);
    c.created("field_type", Some(&d.field_type), Sensitivity::Plain);
    audit::record(tx, actor, Action::Create, "customer_field", &id.to_string(), &format!("custom field {}", d.key), &c)
        .await?;
    Ok(id)
}

/// Changes a custom field (its key and kind stay).
pub async fn update(tx: &mut Tx, actor: &Actor, id: i64, version: i64, d: &FieldDraft) -> Result<()> {
    let done = sqlx::query(
        "UPDATE customer_fields SET label_zh = $1, label_en = $2, field_type = $3, choices = $4, required = $5, \
         position = $6, active = $7, updated_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
    )
    .bind(d.label_zh.as_str())
    .bind(d.label_en.as_str())
    .bind(d.field_type.as_str())
    .bind(serde_json::to_string(&d.choices).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(d.required))
    .bind(d.position)
    .bind(i64::from(d.active))
    .bind(now_ms())
    .bind(id)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, "customer_fields", id).await);
    }
    let mut c = ChangeSet::new();
    c.diff("label_zh", None, Some(&d.label_zh), Sensitivity::Plain);
    c.diff("required", None, Some(if d.required { "true" } else { "false" }), Sensitivity::Plain);
    c.diff("active", None, Some(if d.active { "true" } else { "false" }), Sensitivity::Plain);
    audit::record(tx, actor, Action::Update, "customer_field", &id.to_string(), &format!("custom field {}", d.key), &c)
        .await?;
    Ok(())
}

/// The built-in fields required for `kind`.
pub async fn required_builtin(store: &Store, kind: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT field FROM customer_required_fields WHERE kind = $1 ORDER BY field")
        .bind(kind)
        .fetch_all(store.pool())
        .await?)
}

/// Replaces the required built-in fields of `kind`.
pub async fn set_required_builtin(tx: &mut Tx, actor: &Actor, kind: &str, fields: &[String]) -> Result<()> {
    for f in fields {
        if !REQUIRABLE.contains(&f.as_str()) {
            return Err(StoreError::invalid(FieldError::new(
                "required",
                "unknown_field",
                format!("{f} is not a customer field that can be required"),
            )));
        }
    }
    let before: Vec<String> =
        sqlx::query_scalar("SELECT field FROM customer_required_fields WHERE kind = $1 ORDER BY field")
            .bind(kind)
            .fetch_all(&mut ***tx)
            .await?;
    sqlx::query("DELETE FROM customer_required_fields WHERE kind = $1").bind(kind).execute(&mut ***tx).await?;
    let now = now_ms();
    for f in fields {
        sqlx::query(
            "INSERT INTO customer_required_fields (kind, field, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (kind, field) DO NOTHING",
        )
        .bind(kind)
        .bind(f.as_str())
        .bind(now)
        .execute(&mut ***tx)
        .await?;
    }
    let mut c = ChangeSet::new();
    c.diff("required", Some(&before.join(",")), Some(&fields.join(",")), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer_required_fields",
        kind,
        &format!("required fields of {kind}"),
        &c,
    )
    .await?;
    Ok(())
}

/// Checks submitted custom values (`raw`: key → text as typed) against the
/// definitions, returning typed JSON values or an error per field, named
/// `custom.<key>`. Unknown keys are errors; empty values are dropped.
pub fn check_custom(
    defs: &[FieldDef],
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, serde_json::Value>, FieldErrors> {
    let mut out = BTreeMap::new();
    let mut errors = FieldErrors::new();
    for key in raw.keys() {
        if !defs.iter().any(|d| &d.key == key && d.active) {
            errors.push(FieldError::new(
                format!("custom.{key}"),
                "unknown_field",
                format!("there is no custom field {key}"),
            ));
        }
    }
    for d in defs.iter().filter(|d| d.active) {
        let field = format!("custom.{}", d.key);
        let v = raw.get(&d.key).map(|s| s.trim()).unwrap_or("");
        if v.is_empty() {
            if d.required {
                errors.push(FieldError::new(field, "required", format!("{} is required", d.label_en)));
            }
            continue;
        }
        let value = match d.field_type.as_str() {
            "number" => match v.replace(',', "").parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Value::String(v.replace(',', "")),
                _ => {
                    errors.push(FieldError::new(field, "invalid_number", format!("{} must be a number", d.label_en)));
                    continue;
                }
            },
            "date" => match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(date) => serde_json::Value::String(date.to_string()),
                Err(_) => {
                    errors.push(FieldError::new(
                        field,
                        "invalid_date",
                        format!("{} must be a date YYYY-MM-DD", d.label_en),
                    ));
                    continue;
                }
            },
            "choice" => {
                if d.choices.iter().any(|c| c == v) {
                    serde_json::Value::String(v.to_string())
                } else {
                    errors.push(FieldError::new(
                        field,
                        "invalid_choice",
                        format!("{} must be one of: {}", d.label_en, d.choices.join(", ")),
                    ));
                    continue;
                }
            }
            _ => {
                if v.chars().count() > 500 {
                    errors.push(FieldError::new(
                        field,
                        "too_long",
                        format!("{} must have at most 500 characters", d.label_en),
                    ));
                    continue;
                }
                serde_json::Value::String(v.to_string())
            }
        };
        out.insert(d.key.clone(), value);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(key: &str, ty: &str, required: bool, choices: &[&str]) -> FieldDef {
        FieldDef {
            id: 1,
            kind: "individual".into(),
            key: key.into(),
            label_zh: key.into(),
            label_en: key.into(),
            field_type: ty.into(),
            choices: choices.iter().map(|s| s.to_string()).collect(),
            required,
            position: 0,
            active: true,
            version: 1,
        }
    }

    #[test]
    fn custom_values_are_typed_and_checked_per_field() {
        let defs = vec![
            def("vip_no", "text", true, &[]),
            def("annual_trips", "number", false, &[]),
            def("member_since", "date", false, &[]),
            def("level", "choice", false, &["金卡", "银卡"]),
        ];
        let raw: BTreeMap<String, String> = [("vip_no", "V-88"), ("annual_trips", "3"), ("level", "金卡")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ok = check_custom(&defs, &raw).unwrap();
        assert_eq!(ok["level"], "金卡");
        assert!(!ok.contains_key("member_since"), "empty values are dropped");
        let bad: BTreeMap<String, String> =
            [("annual_trips", "three"), ("member_since", "2026/13/01"), ("level", "铜卡"), ("nope", "x")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let errs = check_custom(&defs, &bad).unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        for f in ["custom.nope", "custom.vip_no", "custom.annual_trips", "custom.member_since", "custom.level"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }
}
