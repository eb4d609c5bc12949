//! The customer archive: one row per customer of any kind, with contacts,
//! travel intentions, tags and interactions, and the customer's timeline.
//!
//! ID card and passport numbers are sealed with the data key
//! ([`crate::crypto`]); what this module returns carries only their masked
//! forms. The full number comes only from [`reveal`], which writes an audit
//! row in the same transaction.

use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, now_ms, stale, unique_as, Actor, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{ContactId, CustomerId, IntentionId, InteractionId, TeamId, UserId};
use domain::FieldError;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// Which personal document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// Resident ID card (身份证).
    IdCard,
    /// Passport (护照).
    Passport,
}

impl Document {
    fn column(self) -> &'static str {
        match self {
            Document::IdCard => "id_card",
            Document::Passport => "passport",
        }
    }
}

/// A change to a sealed document number on update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sealed {
    /// Leave what is stored (the editor may not even see it).
    #[default]
    Keep,
    /// Remove it.
    Clear,
    /// Store this normalised number.
    Set(String),
}

/// Marketing consent per channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Consent {
    /// E-mail.
    pub email: bool,
    /// SMS.
    pub sms: bool,
    /// WeChat.
    pub wechat: bool,
    /// Phone calls.
    pub phone: bool,
}

/// Everything editable about a customer, already validated by the caller.
/// Optional text fields are `None` when empty.
#[derive(Debug, Clone)]
pub struct Draft {
    /// `individual`, `organization` or `partner`.
    pub kind: String,
    /// Name (person or company).
    pub name: String,
    /// Lower-case pinyin of the name, no spaces (张三 → zhangsan).
    pub name_pinyin: String,
    /// Pinyin initials (张三 → zs).
    pub name_initials: String,
    /// `male`, `female`, `unknown`.
    pub gender: Option<String>,
    /// Solar birthday, ISO date.
    pub birthday: Option<String>,
    /// Lunar birthday as entered (e.g. `八月十五` or `08-15`).
    pub lunar_birthday: Option<String>,
    /// ID card number (normalised) or keep/clear.
    pub id_card: Sealed,
    /// Masked ID card, stored for display (`110105********1234`).
    pub id_card_masked: Option<String>,
    /// Passport number or keep/clear.
    pub passport: Sealed,
    /// Masked passport for display.
    pub passport_masked: Option<String>,
    /// Passport expiry, ISO date.
    pub passport_expiry: Option<String>,
    /// Employer (单位).
    pub employer: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Mobile (11 digits).
    pub mobile: Option<String>,
    /// Second mobile.
    pub mobile2: Option<String>,
    /// Landline (`021-63210000`).
    pub landline: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// WeChat id.
    pub wechat: Option<String>,
    /// Fax.
    pub fax: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// District.
    pub district: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Hobbies.
    pub hobbies: Option<String>,
    /// Diet (清真, 素食, no seafood …).
    pub diet: Option<String>,
    /// Room preference (无羽毛枕头, high floor …).
    pub room_pref: Option<String>,
    /// Seat preference.
    pub seat_pref: Option<String>,
    /// Source channel code.
    pub source: Option<String>,
    /// Which ad, which friend, which campaign.
    pub source_detail: Option<String>,
    /// For partners: `upstream_agency`, `ground_handler`, `agent`.
    pub partner_type: Option<String>,
    /// For organizations: industry.
    pub industry: Option<String>,
    /// For partners: business licence number.
    pub license_no: Option<String>,
    /// Free notes.
    pub notes: Option<String>,
    /// Marketing consent.
    pub consent: Consent,
    /// Owner (salesperson).
    pub owner_id: UserId,
    /// Lifecycle stage code.
    pub stage: String,
    /// Value grade (A–D), set by the value engine or a manager.
    pub grade: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom fields: key → value.
    pub custom: BTreeMap<String, serde_json::Value>,
}

impl Draft {
    /// A customer of `kind` called `name` owned by `owner`, with its pinyin
    /// and every other field empty (stage: potential): what imports, the
    /// demo data and tests start from.
    pub fn new(kind: &str, name: &str, owner: UserId) -> Draft {
        let (name_pinyin, name_initials) = domain::customer::to_pinyin(name);
        Draft {
            kind: kind.to_string(),
            name: name.to_string(),
            name_pinyin,
            name_initials,
            gender: None,
            birthday: None,
            lunar_birthday: None,
            id_card: Sealed::Keep,
            id_card_masked: None,
            passport: Sealed::Keep,
            passport_masked: None,
            passport_expiry: None,
            employer: None,
            title: None,
            mobile: None,
            mobile2: None,
            landline: None,
            email: None,
            wechat: None,
            fax: None,
            province: None,
            city: None,
            district: None,
            address: None,
            hobbies: None,
            diet: None,
            room_pref: None,
            seat_pref: None,
            source: None,
            source_detail: None,
            partner_type: None,
            industry: None,
            license_no: None,
            notes: None,
            consent: Consent::default(),
            owner_id: owner,
            stage: domain::customer::LifecycleStage::Potential.code().to_string(),
            grade: None,
            tags: Vec::new(),
            custom: BTreeMap::new(),
        }
    }
}

/// A customer as read back (documents masked).
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Stable code (`C000123`).
    pub code: String,
    /// Everything editable.
    #[serde(flatten)]
    pub data: CustomerData,
    /// Owner's team (follows the owner).
    pub team_id: Option<TeamId>,
    /// Last interaction, epoch ms.
    pub last_contact_at: Option<i64>,
    /// The customer this one was merged into.
    pub merged_into_id: Option<CustomerId>,
    /// Personal data erased; financial records kept, restricted.
    pub restricted: bool,
    /// When erased, epoch ms.
    pub erased_at: Option<i64>,
    /// Whether an ID card / passport number is stored.
    pub has_id_card: bool,
    /// Whether a passport number is stored.
    pub has_passport: bool,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

/// The editable fields as stored (documents only masked).
#[allow(missing_docs)]
#[derive(Debug, Clone, Serialize)]
pub struct CustomerData {
    pub kind: String,
    pub name: String,
    pub name_pinyin: String,
    pub name_initials: String,
    pub gender: Option<String>,
    pub birthday: Option<String>,
    pub lunar_birthday: Option<String>,
    pub id_card_masked: Option<String>,
    pub passport_masked: Option<String>,
    pub passport_expiry: Option<String>,
    pub employer: Option<String>,
    pub title: Option<String>,
    pub mobile: Option<String>,
    pub mobile2: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub fax: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub address: Option<String>,
    pub hobbies: Option<String>,
    pub diet: Option<String>,
    pub room_pref: Option<String>,
    pub seat_pref: Option<String>,
    pub source: Option<String>,
    pub source_detail: Option<String>,
    pub partner_type: Option<String>,
    pub industry: Option<String>,
    pub license_no: Option<String>,
    pub notes: Option<String>,
    pub consent: Consent,
    pub owner_id: UserId,
    pub stage: String,
    pub grade: Option<String>,
    pub tags: Vec<String>,
    pub custom: BTreeMap<String, serde_json::Value>,
}

/// Plain text columns written from [`Draft`] in this order.
const TEXT_COLUMNS: &[&str] = &[
    "kind",
    "name",
    "name_pinyin",
    "name_initials",
    "gender",
    "birthday",
    "lunar_birthday",
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
    "source",
    "source_detail",
    "partner_type",
    "industry",
    "license_no",
    "notes",
    "stage",
    "grade",
];

/// Columns holding personal data: masked in the audit trail.
const PERSONAL: &[&str] = &["mobile", "mobile2", "landline", "email", "wechat", "fax", "address", "birthday"];

fn text_values(d: &Draft) -> Vec<Option<&str>> {
    vec![
        Some(d.kind.as_str()),
        Some(d.name.as_str()),
        Some(d.name_pinyin.as_str()),
        Some(d.name_initials.as_str()),
        d.gender.as_deref(),
        d.birthday.as_deref(),
        d.lunar_birthday.as_deref(),
        d.passport_expiry.as_deref(),
        d.employer.as_deref(),
        d.title.as_deref(),
        d.mobile.as_deref(),
        d.mobile2.as_deref(),
        d.landline.as_deref(),
        d.email.as_deref(),
        d.wechat.as_deref(),
        d.fax.as_deref(),
        d.province.as_deref(),
        d.city.as_deref(),
        d.district.as_deref(),
        d.address.as_deref(),
        d.hobbies.as_deref(),
        d.diet.as_deref(),
        d.room_pref.as_deref(),
        d.seat_pref.as_deref(),
        d.source.as_deref(),
        d.source_detail.as_deref(),
        d.partner_type.as_deref(),
        d.industry.as_deref(),
        d.license_no.as_deref(),
        d.notes.as_deref(),
        Some(d.stage.as_str()),
        d.grade.as_deref(),
    ]
}

fn data_text(d: &CustomerData) -> Vec<Option<&str>> {
    vec![
        Some(d.kind.as_str()),
        Some(d.name.as_str()),
        Some(d.name_pinyin.as_str()),
        Some(d.name_initials.as_str()),
        d.gender.as_deref(),
        d.birthday.as_deref(),
        d.lunar_birthday.as_deref(),
        d.passport_expiry.as_deref(),
        d.employer.as_deref(),
        d.title.as_deref(),
        d.mobile.as_deref(),
        d.mobile2.as_deref(),
        d.landline.as_deref(),
        d.email.as_deref(),
        d.wechat.as_deref(),
        d.fax.as_deref(),
        d.province.as_deref(),
        d.city.as_deref(),
        d.district.as_deref(),
        d.address.as_deref(),
        d.hobbies.as_deref(),
        d.diet.as_deref(),
        d.room_pref.as_deref(),
        d.seat_pref.as_deref(),
        d.source.as_deref(),
        d.source_detail.as_deref(),
        d.partner_type.as_deref(),
        d.industry.as_deref(),
        d.license_no.as_deref(),
        d.notes.as_deref(),
        Some(d.stage.as_str()),
        d.grade.as_deref(),
    ]
}

fn from_row(r: &AnyRow) -> Result<Customer, sqlx::Error> {
    let custom: String = r.try_get("custom")?;
    let opt = |c: &str| r.try_get::<Option<String>, _>(c);
    Ok(Customer {
        id: CustomerId(r.try_get("id")?),
        code: r.try_get("code")?,
        data: CustomerData {
            kind: r.try_get("kind")?,
            name: r.try_get("name")?,
            name_pinyin: r.try_get("name_pinyin")?,
            name_initials: r.try_get("name_initials")?,
            gender: opt("gender")?,
            birthday: opt("birthday")?,
            lunar_birthday: opt("lunar_birthday")?,
            id_card_masked: opt("id_card_masked")?,
            passport_masked: opt("passport_masked")?,
            passport_expiry: opt("passport_expiry")?,
            employer: opt("employer")?,
            title: opt("title")?,
            mobile: opt("mobile")?,
            mobile2: opt("mobile2")?,
            landline: opt("landline")?,
            email: opt("email")?,
            wechat: opt("wechat")?,
            fax: opt("fax")?,
            province: opt("province")?,
            city: opt("city")?,
            district: opt("district")?,
            address: opt("address")?,
            hobbies: opt("hobbies")?,
            diet: opt("diet")?,
            room_pref: opt("room_pref")?,
            seat_pref: opt("seat_pref")?,
            source: opt("source")?,
            source_detail: opt("source_detail")?,
            partner_type: opt("partner_type")?,
            industry: opt("industry")?,
            license_no: opt("license_no")?,
            notes: opt("notes")?,
            consent: Consent {
                email: r.try_get::<i64, _>("consent_email")? != 0,
                sms: r.try_get::<i64, _>("consent_sms")? != 0,
                wechat: r.try_get::<i64, _>("consent_wechat")? != 0,
                phone: r.try_get::<i64, _>("consent_phone")? != 0,
            },
            owner_id: UserId(r.try_get("owner_id")?),
            stage: r.try_get("stage")?,
            grade: opt("grade")?,
            tags: Vec::new(),
            custom: serde_json::from_str(&custom).unwrap_or_default(),
        },
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        last_contact_at: r.try_get("last_contact_at")?,
        merged_into_id: r.try_get::<Option<i64>, _>("merged_into_id")?.map(CustomerId),
        restricted: r.try_get::<i64, _>("restricted")? != 0,
        erased_at: r.try_get("erased_at")?,
        has_id_card: r.try_get::<Option<String>, _>("id_card_enc")?.is_some(),
        has_passport: r.try_get::<Option<String>, _>("passport_enc")?.is_some(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

async fn owner_team(tx: &mut Tx, owner: UserId) -> Result<Option<TeamId>> {
    let row: Option<(Option<i64>, i64)> = sqlx::query_as("SELECT team_id, active FROM users WHERE id = $1")
        .bind(owner.0)
        .fetch_optional(&mut ***tx)
        .await?;
    match row {
        None => Err(StoreError::invalid(FieldError::new("owner_id", "not_found", "the owner does not exist"))),
        Some((_, 0)) => Err(StoreError::invalid(FieldError::new(
            "owner_id",
            "inactive",
            "the owner's account is deactivated; choose an active colleague",
        ))),
        Some((team, _)) => Ok(team.map(TeamId)),
    }
}

/// The next free customer code (`C000001` …), skipping codes taken by imports.
async fn next_code(tx: &mut Tx) -> Result<String> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO customer_code_seq (name, next_value, created_at, updated_at) VALUES ('customer', 1, $1, $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(now)
    .execute(&mut ***tx)
    .await?;
    loop {
        let n: i64 = sqlx::query_scalar(
            "UPDATE customer_code_seq SET next_value = next_value + 1, updated_at = $1 WHERE name = 'customer' \
             RETURNING next_value - 1",
        )
        .bind(now)
        .fetch_one(&mut ***tx)
        .await?;
        let code = format!("C{n:06}");
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE code = $1")
            .bind(&code)
            .fetch_optional(&mut ***tx)
            .await?;
        if taken.is_none() {
            return Ok(code);
        }
    }
}

/// Creates a customer; `code` is generated unless given (imports keep theirs).
pub async fn create(tx: &mut Tx, store: &Store, actor: &Actor, d: &Draft, code: Option<&str>) -> Result<Customer> {
    let team = owner_team(tx, d.owner_id).await?;
    let code = match code {
        Some(c) => c.to_string(),
        None => next_code(tx).await?,
    };
    let key = store.data_key();
    let (id_enc, id_hash) = match &d.id_card {
        Sealed::Set(v) => (Some(key.seal(v)), Some(key.index(v))),
        _ => (None, None),
    };
    let (pp_enc, pp_hash) = match &d.passport {
        Sealed::Set(v) => (Some(key.seal(v)), Some(key.index(v))),
        _ => (None, None),
    };
    let now = now_ms();
    let mut sql = Sql::new("INSERT INTO customers (code, ");
    sql.push(&TEXT_COLUMNS.join(", "));
    sql.push(
        ", id_card_enc, id_card_hash, id_card_masked, passport_enc, passport_hash, passport_masked, \
              consent_email, consent_sms, consent_wechat, consent_phone, consent_at, owner_id, team_id, custom, \
              created_by, created_at, updated_at, version) VALUES (",
    );
    sql.bind(code.as_str());
    for v in text_values(d) {
        sql.push(", ");
        bind_opt(&mut sql, v);
    }
    for v in [id_enc.as_deref(), id_hash.as_deref(), d.id_card_masked.as_deref()] {
        sql.push(", ");
        bind_opt(&mut sql, v);
    }
    for v in [pp_enc.as_deref(), pp_hash.as_deref(), d.passport_masked.as_deref()] {
        sql.push(", ");
        bind_opt(&mut sql, v);
    }
    let c = d.consent;
    for flag in [c.email, c.sms, c.wechat, c.phone] {
        sql.push(", ").bind(i64::from(flag));
    }
    sql.push(", ").bind(now);
    sql.push(", ").bind(d.owner_id.0);
    sql.push(", ");
    bind_opt_i64(&mut sql, team.map(|t| t.0));
    sql.push(", ").bind(serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()));
    sql.push(", ");
    bind_opt_i64(&mut sql, actor.user_id.map(|u| u.0));
    sql.push(", ").bind(now).push(", ").bind(now).push(", 1) RETURNING id");
    let id: i64 = sql.query().fetch_one(&mut ***tx).await.map_err(unique_as("code"))?.try_get(0)?;
    let id = CustomerId(id);
    write_tags(tx, id, &d.tags).await?;
    crate::customer_search::sync(tx, id, &[]).await?;
    let mut changes = ChangeSet::new();
    for (col, v) in TEXT_COLUMNS.iter().zip(text_values(d)) {
        changes.created(col, v, sensitivity(col));
    }
    changes.created("id_card", d.id_card_masked.as_deref(), Sensitivity::Plain);
    changes.created("passport", d.passport_masked.as_deref(), Sensitivity::Plain);
    changes.created("owner_id", Some(&d.owner_id.to_string()), Sensitivity::Plain);
    changes.created("tags", Some(&d.tags.join(",")), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "customer",
        &id.to_string(),
        &format!("customer {code} {}", d.name),
        &changes,
    )
    .await?;
    get_in(tx, id).await
}

fn sensitivity(col: &str) -> Sensitivity {
    if PERSONAL.contains(&col) {
        Sensitivity::Personal
    } else {
        Sensitivity::Plain
    }
}

fn bind_opt(sql: &mut Sql, v: Option<&str>) {
    match v {
        Some(s) => {
            sql.bind(s);
        }
        None => {
            sql.push("NULL");
        }
    }
}

fn bind_opt_i64(sql: &mut Sql, v: Option<i64>) {
    match v {
        Some(i) => {
            sql.bind(i);
        }
        None => {
            sql.push("NULL");
        }
    }
}

async fn write_tags(tx: &mut Tx, id: CustomerId, tags: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM customer_tags WHERE customer_id = $1").bind(id.0).execute(&mut ***tx).await?;
    let now = now_ms();
    for t in tags {
        sqlx::query(
            "INSERT INTO customer_tags (customer_id, tag, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (customer_id, tag) DO NOTHING",
        )
        .bind(id.0)
        .bind(t.as_str())
        .bind(now)
        .execute(&mut ***tx)
        .await?;
    }
    Ok(())
}

async fn tags_of<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(ex: E, id: CustomerId) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT tag FROM customer_tags WHERE customer_id = $1 ORDER BY tag")
        .bind(id.0)
        .fetch_all(ex)
        .await?)
}

/// One customer inside a transaction (no visibility check: the caller did it).
pub async fn get_in(tx: &mut Tx, id: CustomerId) -> Result<Customer> {
    let row = sqlx::query("SELECT * FROM customers WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut c = from_row(&row)?;
    c.data.tags = tags_of(&mut ***tx, id).await?;
    Ok(c)
}

/// One customer, if `vis` lets the caller see it (otherwise `NotFound`).
pub async fn get(store: &Store, vis: &Visibility, id: CustomerId) -> Result<Customer> {
    let mut sql = Sql::new("SELECT * FROM customers WHERE id = ");
    sql.bind(id.0);
    vis.restrict(&mut sql, "owner_id", "team_id");
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    let mut c = from_row(&row)?;
    c.data.tags = tags_of(store.pool(), id).await?;
    Ok(c)
}

/// Finds a customer by code within `vis`.
pub async fn by_code(store: &Store, vis: &Visibility, code: &str) -> Result<Customer> {
    let mut sql = Sql::new("SELECT id FROM customers WHERE code = ");
    sql.bind(code.trim().to_uppercase());
    vis.restrict(&mut sql, "owner_id", "team_id");
    let row = sql.query().fetch_optional(store.pool()).await?.ok_or(StoreError::NotFound)?;
    get(store, vis, CustomerId(row.try_get(0)?)).await
}

/// Changes a customer if `version` is current and `vis` lets the caller see it.
pub async fn update(
    tx: &mut Tx,
    store: &Store,
    actor: &Actor,
    vis: &Visibility,
    id: CustomerId,
    version: i64,
    d: &Draft,
) -> Result<Customer> {
    let mut check = Sql::new("SELECT id FROM customers WHERE id = ");
    check.bind(id.0);
    vis.restrict(&mut check, "owner_id", "team_id");
    if check.query().fetch_optional(&mut ***tx).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let before = get_in(tx, id).await?;
    if before.erased_at.is_some() {
        return Err(StoreError::invalid(FieldError::new(
            "customer",
            "erased",
            "this customer's personal data was erased on request; the record can no longer be edited",
        )));
    }
    let team = owner_team(tx, d.owner_id).await?;
    let key = store.data_key();
    let keys_before = crate::customer_search::current(tx, id).await?;
    let mut sql = Sql::new("UPDATE customers SET ");
    for (i, (col, v)) in TEXT_COLUMNS.iter().zip(text_values(d)).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&format!("{col} = "));
        bind_opt(&mut sql, v);
    }
    for (doc, change, masked) in [
        (Document::IdCard, &d.id_card, d.id_card_masked.as_deref()),
        (Document::Passport, &d.passport, d.passport_masked.as_deref()),
    ] {
        let col = doc.column();
        match change {
            Sealed::Keep => {}
            Sealed::Clear => {
                sql.push(&format!(", {col}_enc = NULL, {col}_hash = NULL, {col}_masked = NULL"));
            }
            Sealed::Set(v) => {
                sql.push(&format!(", {col}_enc = ")).bind(key.seal(v));
                sql.push(&format!(", {col}_hash = ")).bind(key.index(v));
                sql.push(&format!(", {col}_masked = "));
                bind_opt(&mut sql, masked);
            }
        }
    }
    let c = d.consent;
    sql.push(", consent_email = ").bind(i64::from(c.email));
    sql.push(", consent_sms = ").bind(i64::from(c.sms));
    sql.push(", consent_wechat = ").bind(i64::from(c.wechat));
    sql.push(", consent_phone = ").bind(i64::from(c.phone));
    let now = now_ms();
    if c != before.data.consent {
        sql.push(", consent_at = ").bind(now);
    }
    sql.push(", owner_id = ").bind(d.owner_id.0);
    sql.push(", team_id = ");
    bind_opt_i64(&mut sql, team.map(|t| t.0));
    sql.push(", custom = ").bind(serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()));
    sql.push(", updated_at = ").bind(now);
    sql.push(", version = version + 1 WHERE id = ").bind(id.0);
    sql.push(" AND version = ").bind(version);
    let done = sql.query().execute(&mut ***tx).await?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, "customers", id.0).await);
    }
    write_tags(tx, id, &d.tags).await?;
    crate::customer_search::sync(tx, id, &keys_before).await?;
    let mut changes = ChangeSet::new();
    for ((col, new), old) in TEXT_COLUMNS.iter().zip(text_values(d)).zip(data_text(&before.data)) {
        changes.diff(col, old, new, sensitivity(col));
    }
    if d.id_card != Sealed::Keep {
        changes.diff("id_card", before.data.id_card_masked.as_deref(), d.id_card_masked.as_deref(), Sensitivity::Plain);
    }
    if d.passport != Sealed::Keep {
        changes.diff(
            "passport",
            before.data.passport_masked.as_deref(),
            d.passport_masked.as_deref(),
            Sensitivity::Plain,
        );
    }
    let flags = |c: Consent| format!("email={} sms={} wechat={} phone={}", c.email, c.sms, c.wechat, c.phone);
    changes.diff("consent", Some(&flags(before.data.consent)), Some(&flags(c)), Sensitivity::Plain);
    changes.diff(
        "owner_id",
        Some(&before.data.owner_id.to_string()),
        Some(&d.owner_id.to_string()),
        Sensitivity::Plain,
    );
    changes.diff("tags", Some(&before.data.tags.join(",")), Some(&d.tags.join(",")), Sensitivity::Plain);
    let old_custom = serde_json::to_string(&before.data.custom).unwrap_or_default();
    let new_custom = serde_json::to_string(&d.custom).unwrap_or_default();
    changes.diff("custom", Some(&old_custom), Some(&new_custom), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &id.to_string(),
        &format!("customer {} {}", before.code, d.name),
        &changes,
    )
    .await?;
    get_in(tx, id).await
}

/// Shows a stored document number in full, writing the audit row first.
pub async fn reveal(
    store: &Store,
    actor: &Actor,
    vis: &Visibility,
    id: CustomerId,
    doc: Document,
) -> Result<Option<String>> {
    let c = get(store, vis, id).await?;
    let col = doc.column();
    let sealed: Option<String> = sqlx::query_scalar(&format!("SELECT {col}_enc FROM customers WHERE id = $1"))
        .bind(id.0)
        .fetch_one(store.pool())
        .await?;
    let Some(sealed) = sealed else { return Ok(None) };
    let plain = store.data_key().open(&sealed)?;
    let mut tx = store.begin().await?;
    audit::record(
        &mut tx,
        actor,
        Action::Reveal,
        "customer",
        &id.to_string(),
        &format!("{col} of customer {} {} shown in full", c.code, c.data.name),
        &ChangeSet::new(),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(plain))
}

/// The stored number of `doc`, opened for a consistency check inside the
/// server (a kept ID card number against a changed birthday). Never send it
/// to a client: showing a number is [`reveal`], which is audited.
pub async fn open_for_check(store: &Store, id: CustomerId, doc: Document) -> Result<Option<String>> {
    let col = doc.column();
    let sealed: Option<String> = sqlx::query_scalar(&format!("SELECT {col}_enc FROM customers WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(store.pool())
        .await?
        .flatten();
    sealed.map(|s| store.data_key().open(&s)).transpose()
}

/// How to order the customer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Newest first (default).
    #[default]
    Created,
    /// By code.
    Code,
    /// By name (pinyin order).
    Name,
    /// By kind.
    Kind,
    /// By grade.
    Grade,
    /// By stage.
    Stage,
    /// By province and city.
    Place,
    /// By owner.
    Owner,
    /// By last contact.
    LastContact,
    /// By birthday (month and day).
    Birthday,
}

impl SortBy {
    /// Parses a sort key from the list's query string.
    pub fn from_code(s: &str) -> Option<SortBy> {
        Some(match s {
            "created" => SortBy::Created,
            "code" => SortBy::Code,
            "name" => SortBy::Name,
            "kind" => SortBy::Kind,
            "grade" => SortBy::Grade,
            "stage" => SortBy::Stage,
            "place" => SortBy::Place,
            "owner" => SortBy::Owner,
            "last_contact" => SortBy::LastContact,
            "birthday" => SortBy::Birthday,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            // Ids grow with creation (and, unlike the instant, never tie
            // within an import), so the newest first is the highest id.
            SortBy::Created => "c.id",
            SortBy::Code => "c.code",
            SortBy::Name => "c.name_pinyin",
            SortBy::Kind => "c.kind",
            SortBy::Grade => "c.grade",
            SortBy::Stage => "c.stage",
            SortBy::Place => "c.province || c.city",
            SortBy::Owner => "c.owner_id",
            SortBy::LastContact => "c.last_contact_at",
            SortBy::Birthday => "SUBSTR(c.birthday, 6, 5)",
        }
    }
}

/// Filters of the customer list and search. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The search box: name or part of it, pinyin (full or initials), phone
    /// (full or last four digits), company, customer code, and, with
    /// `search_documents`, an ID card or passport number.
    pub q: Option<String>,
    /// Whether `q` may match document numbers (the caller may see them).
    pub search_documents: bool,
    /// Kind code.
    pub kind: Option<String>,
    /// Grade.
    pub grade: Option<String>,
    /// Stage code.
    pub stage: Option<String>,
    /// Source code.
    pub source: Option<String>,
    /// Owner.
    pub owner_id: Option<i64>,
    /// Team (the owner's team).
    pub team_id: Option<i64>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Birthday month 1–12.
    pub birthday_month: Option<u32>,
    /// Last contact on or after this instant.
    pub contacted_since: Option<i64>,
    /// No contact since this instant (or never).
    pub not_contacted_since: Option<i64>,
    /// Custom field key and value (text equality).
    pub custom: Option<(String, String)>,
    /// Include customers merged into others (hidden by default).
    pub include_merged: bool,
    /// Sort column.
    pub sort: SortBy,
    /// Descending.
    pub desc: bool,
    /// 1-based page.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
}

/// A page of customers.
#[derive(Debug, Clone)]
pub struct CustomerPage {
    /// This page.
    pub items: Vec<Customer>,
    /// How many match in all; for a wide search an estimate from the search
    /// index (see [`crate::customer_search::EXACT_COUNT`] and
    /// [`crate::customer_search::BROAD`]).
    pub total: i64,
    /// Whether `total` is an estimate. A broad search's estimate is the
    /// cap `BROAD` and paging stops there: such a search is refined, not
    /// paged through.
    pub total_estimated: bool,
    /// The next page number, if any.
    pub next_page: Option<i64>,
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// How the search box's text is applied (see [`crate::customer_search`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchBy {
    /// Through the search index: collect every match.
    Keys,
    /// As a test on each row, walking the customers in id order.
    RowTest,
}

/// Appends the WHERE conditions of `f` (after `WHERE 1 = 1`).
fn push_filters(store: &Store, sql: &mut Sql, vis: &Visibility, f: &Filter) {
    push_filters_by(store, sql, vis, f, SearchBy::Keys)
}

fn search_of(store: &Store, f: &Filter) -> Option<crate::customer_search::Search> {
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty())?;
    Some(crate::customer_search::Search::new(store, q, f.search_documents))
}

fn push_filters_by(store: &Store, sql: &mut Sql, vis: &Visibility, f: &Filter, by: SearchBy) {
    vis.restrict(sql, "c.owner_id", "c.team_id");
    if !f.include_merged {
        sql.push(" AND c.merged_into_id IS NULL");
    }
    if let Some(search) = search_of(store, f) {
        match by {
            SearchBy::Keys => search.push_keys(sql),
            SearchBy::RowTest => search.push_row_test(sql),
        }
    }
    for (col, v) in [
        ("c.kind", &f.kind),
        ("c.grade", &f.grade),
        ("c.stage", &f.stage),
        ("c.source", &f.source),
        ("c.province", &f.province),
        ("c.city", &f.city),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            sql.push(&format!(" AND {col} = ")).bind(v);
        }
    }
    if let Some(o) = f.owner_id {
        sql.push(" AND c.owner_id = ").bind(o);
    }
    if let Some(t) = f.team_id {
        sql.push(" AND c.team_id = ").bind(t);
    }
    if let Some(t) = f.tag.as_deref().filter(|t| !t.is_empty()) {
        sql.push(" AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ").bind(t);
        sql.push(")");
    }
    if let Some(m) = f.birthday_month {
        sql.push(" AND SUBSTR(c.birthday, 6, 2) = ").bind(format!("{m:02}"));
    }
    if let Some(t) = f.contacted_since {
        sql.push(" AND c.last_contact_at >= ").bind(t);
    }
    if let Some(t) = f.not_contacted_since {
        sql.push(" AND (c.last_contact_at IS NULL OR c.last_contact_at < ").bind(t);
        sql.push(")");
    }
    if let Some((k, v)) = &f.custom {
        // Custom values are stored as JSON; compare the serialised form of
        // the value as text so both engines agree without JSON functions.
        let needle = format!("%{}%", like_escape(&format!("{}:{}", serde_json::json!(k), serde_json::json!(v))));
        sql.push(" AND c.custom LIKE ").bind(needle).push(" ESCAPE '\\'");
    }
}

/// The customer list: filtered, sorted, paged, within `vis`.
///
/// A search reads its matches through the search index. A broad search
/// (see [`crate::customer_search::BROAD`]) in creation order instead walks
/// the customers from the newest and tests each row, stopping at the page's
/// end. A search that finds more than [`crate::customer_search::EXACT_COUNT`]
/// in the index reports the index's count as an estimate.
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<CustomerPage> {
    use crate::customer_search::{BROAD, EXACT_COUNT};
    let per_page = f.per_page.clamp(1, 500);
    let page = f.page.max(1);
    let breadth = match search_of(store, f) {
        Some(s) => Some(s.breadth(store).await?),
        None => None,
    };
    let broad = breadth.is_some_and(|b| b.is_broad()) && f.sort == SortBy::Created;
    let (total, total_estimated) = match breadth {
        Some(b) if b.is_broad() => (BROAD, true),
        Some(b) if b.sum > EXACT_COUNT => (b.sum, true),
        _ => (count(store, vis, f).await?, false),
    };
    let mut sql = Sql::new("SELECT c.* FROM customers c WHERE 1 = 1");
    push_filters_by(store, &mut sql, vis, f, if broad { SearchBy::RowTest } else { SearchBy::Keys });
    let dir = if f.desc { "DESC" } else { "ASC" };
    sql.push(&format!(" ORDER BY {} {dir}, c.id {dir} LIMIT ", f.sort.sql()));
    sql.bind(per_page).push(" OFFSET ").bind((page - 1) * per_page);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    if !items.is_empty() {
        // The page's tags in one query, not one per customer.
        let mut tags = Sql::new("SELECT customer_id, tag FROM customer_tags WHERE customer_id IN ");
        tags.bind_list(items.iter().map(|c| c.id.0));
        tags.push(" ORDER BY customer_id, tag");
        let mut by_id: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for r in tags.query().fetch_all(store.pool()).await? {
            by_id.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        for c in &mut items {
            c.data.tags = by_id.remove(&c.id.0).unwrap_or_default();
        }
    }
    let next_page = (page * per_page < total).then_some(page + 1);
    Ok(CustomerPage { items, total, total_estimated, next_page })
}

/// How many customers match `f` within `vis` (sort and page are ignored).
pub async fn count(store: &Store, vis: &Visibility, f: &Filter) -> Result<i64> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM customers c WHERE 1 = 1");
    push_filters(store, &mut sql, vis, f);
    Ok(sql.query().fetch_one(store.pool()).await?.try_get(0)?)
}

/// Every distinct tag in use (for filters and suggestions).
pub async fn all_tags(store: &Store) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT tag FROM customer_tags ORDER BY tag").fetch_all(store.pool()).await?)
}

/// Moves customers to `new_owner` (and the owner's team). Returns how many
/// moved; each move is audited and appears on the customer's timeline. Their
/// open opportunities and open value alerts move with them.
pub async fn reassign(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    ids: &[CustomerId],
    new_owner: UserId,
) -> Result<u64> {
    let team = owner_team(tx, new_owner).await?;
    let mut moved = 0;
    for &id in ids {
        let mut check = Sql::new("SELECT owner_id, code, name, version FROM customers WHERE id = ");
        check.bind(id.0);
        vis.restrict(&mut check, "owner_id", "team_id");
        let Some(row) = check.query().fetch_optional(&mut ***tx).await? else {
            return Err(StoreError::NotFound);
        };
        let old: i64 = row.try_get(0)?;
        if old == new_owner.0 {
            continue;
        }
        let code: String = row.try_get(1)?;
        let name: String = row.try_get(2)?;
        sqlx::query(
            "UPDATE customers SET owner_id = $1, team_id = $2, updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .bind(new_owner.0)
        .bind(team.map(|t| t.0))
        .bind(now_ms())
        .bind(id.0)
        .execute(&mut ***tx)
        .await?;
        // Open opportunities and value alerts (tasks of the owner) follow
        // the customer.
        crate::opportunities::follow_customer(tx, actor, id, new_owner, team).await?;
        crate::value::follow_owner(tx, id, new_owner, team).await?;
        let mut c = ChangeSet::new();
        c.diff("owner_id", Some(&old.to_string()), Some(&new_owner.to_string()), Sensitivity::Plain);
        audit::record(
            tx,
            actor,
            Action::Update,
            "customer",
            &id.to_string(),
            &format!("customer {code} {name} reassigned"),
            &c,
        )
        .await?;
        moved += 1;
    }
    Ok(moved)
}

/// The ids of every customer owned by `owner` within `vis` (for "reassign all").
pub async fn ids_owned_by(store: &Store, vis: &Visibility, owner: UserId) -> Result<Vec<CustomerId>> {
    let mut sql = Sql::new("SELECT c.id FROM customers c WHERE c.owner_id = ");
    sql.bind(owner.0);
    vis.restrict(&mut sql, "c.owner_id", "c.team_id");
    sql.push(" ORDER BY c.id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok(CustomerId(r.try_get(0)?))).collect()
}

// ---------------------------------------------------------------- contacts

/// A contact person of an organization or partner.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub id: ContactId,
    pub customer_id: CustomerId,
    pub name: String,
    pub role: String,
    pub title: Option<String>,
    pub mobile: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub is_primary: bool,
    pub notes: Option<String>,
    pub version: i64,
}

/// A contact's editable fields (validated).
#[derive(Debug, Clone, Default)]
pub struct ContactDraft {
    pub name: String,
    pub role: String,
    pub title: Option<String>,
    pub mobile: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub is_primary: bool,
    pub notes: Option<String>,
}

fn contact_from_row(r: &AnyRow) -> Result<Contact, sqlx::Error> {
    Ok(Contact {
        id: ContactId(r.try_get("id")?),
        customer_id: CustomerId(r.try_get("customer_id")?),
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        title: r.try_get("title")?,
        mobile: r.try_get("mobile")?,
        landline: r.try_get("landline")?,
        email: r.try_get("email")?,
        wechat: r.try_get("wechat")?,
        is_primary: r.try_get::<i64, _>("is_primary")? != 0,
        notes: r.try_get("notes")?,
        version: r.try_get("version")?,
    })
}

/// The contacts of a customer, primary first.
pub async fn contacts(store: &Store, id: CustomerId) -> Result<Vec<Contact>> {
    let rows = sqlx::query("SELECT * FROM customer_contacts WHERE customer_id = $1 ORDER BY is_primary DESC, id")
        .bind(id.0)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(contact_from_row).collect::<Result<_, _>>()?)
}

/// Adds a contact; a primary contact replaces the previous primary.
pub async fn add_contact(tx: &mut Tx, actor: &Actor, customer: &Customer, d: &ContactDraft) -> Result<ContactId> {
    let now = now_ms();
    if d.is_primary {
        sqlx::query("UPDATE customer_contacts SET is_primary = 0, updated_at = $1 WHERE customer_id = $2")
            .bind(now)
            .bind(customer.id.0)
            .execute(&mut ***tx)
            .await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customer_contacts (customer_id, name, role, title, mobile, landline, email, wechat, is_primary, notes, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1) RETURNING id",
    )
    .bind(customer.id.0)
    .bind(d.name.as_str())
    .bind(d.role.as_str())
    .bind(d.title.as_deref())
    .bind(d.mobile.as_deref())
    .bind(d.landline.as_deref())
    .bind(d.email.as_deref())
    .bind(d.wechat.as_deref())
    .bind(i64::from(d.is_primary))
    .bind(d.notes.as_deref())
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let mut c = ChangeSet::new();
    c.created("contact", Some(&d.name), Sensitivity::Plain);
    c.created("contact.role", Some(&d.role), Sensitivity::Plain);
    c.created("contact.mobile", d.mobile.as_deref(), Sensitivity::Personal);
    c.created("contact.email", d.email.as_deref(), Sensitivity::Personal);
    audit::record(
        tx,
        actor,
        Action::Create,
        "customer",
        &customer.id.to_string(),
        &format!("contact {} added to {}", d.name, customer.data.name),
        &c,
    )
    .await?;
    Ok(ContactId(id))
}

/// Removes a contact of `customer`.
pub async fn remove_contact(tx: &mut Tx, actor: &Actor, customer: &Customer, contact: ContactId) -> Result<()> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM customer_contacts WHERE id = $1 AND customer_id = $2")
            .bind(contact.0)
            .bind(customer.id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    let name = name.ok_or(StoreError::NotFound)?;
    sqlx::query("DELETE FROM customer_contacts WHERE id = $1").bind(contact.0).execute(&mut ***tx).await?;
    let mut c = ChangeSet::new();
    c.diff("contact", Some(&name), None, Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Delete,
        "customer",
        &customer.id.to_string(),
        &format!("contact {name} removed from {}", customer.data.name),
        &c,
    )
    .await?;
    Ok(())
}

/// Makes `contact` the primary contact of `customer` (the previous primary
/// contact stays, as an ordinary one).
pub async fn set_primary_contact(tx: &mut Tx, actor: &Actor, customer: &Customer, contact: ContactId) -> Result<()> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM customer_contacts WHERE id = $1 AND customer_id = $2")
            .bind(contact.0)
            .bind(customer.id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    let name = name.ok_or(StoreError::NotFound)?;
    let before: Option<String> =
        sqlx::query_scalar("SELECT name FROM customer_contacts WHERE customer_id = $1 AND is_primary = 1")
            .bind(customer.id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    let now = now_ms();
    sqlx::query(
        "UPDATE customer_contacts SET is_primary = CASE WHEN id = $1 THEN 1 ELSE 0 END, updated_at = $2, \
         version = version + 1 WHERE customer_id = $3 AND (id = $1 OR is_primary = 1)",
    )
    .bind(contact.0)
    .bind(now)
    .bind(customer.id.0)
    .execute(&mut ***tx)
    .await?;
    let mut c = ChangeSet::new();
    c.diff("contact.primary", before.as_deref(), Some(&name), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &customer.id.to_string(),
        &format!("{name} is now the primary contact of {}", customer.data.name),
        &c,
    )
    .await?;
    Ok(())
}

// -------------------------------------------------------------- intentions

/// A travel intention.
#[derive(Debug, Clone, Serialize)]
pub struct Intention {
    pub id: IntentionId,
    pub customer_id: CustomerId,
    pub destination: String,
    pub period: Option<String>,
    pub budget_fen: Option<i64>,
    pub party_size: Option<i64>,
    pub status: String,
    pub notes: Option<String>,
    pub created_at: i64,
    pub version: i64,
}

/// An intention's editable fields (validated).
#[derive(Debug, Clone, Default)]
pub struct IntentionDraft {
    pub destination: String,
    pub period: Option<String>,
    pub budget_fen: Option<i64>,
    pub party_size: Option<i64>,
    pub status: String,
    pub notes: Option<String>,
}

/// The intentions of a customer, newest first.
pub async fn intentions(store: &Store, id: CustomerId) -> Result<Vec<Intention>> {
    let rows = sqlx::query("SELECT * FROM customer_intentions WHERE customer_id = $1 ORDER BY id DESC")
        .bind(id.0)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Intention {
                id: IntentionId(r.try_get("id")?),
                customer_id: CustomerId(r.try_get("customer_id")?),
                destination: r.try_get("destination")?,
                period: r.try_get("period")?,
                budget_fen: r.try_get("budget_fen")?,
                party_size: r.try_get("party_size")?,
                status: r.try_get("status")?,
                notes: r.try_get("notes")?,
                created_at: r.try_get("created_at")?,
                version: r.try_get("version")?,
            })
        })
        .collect()
}

/// Records a travel intention.
pub async fn add_intention(tx: &mut Tx, actor: &Actor, customer: &Customer, d: &IntentionDraft) -> Result<IntentionId> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customer_intentions (customer_id, destination, period, budget_fen, party_size, status, notes, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1) RETURNING id",
    )
    .bind(customer.id.0)
    .bind(d.destination.as_str())
    .bind(d.period.as_deref())
    .bind(d.budget_fen)
    .bind(d.party_size)
    .bind(d.status.as_str())
    .bind(d.notes.as_deref())
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let mut c = ChangeSet::new();
    c.created("intention.destination", Some(&d.destination), Sensitivity::Plain);
    c.created("intention.period", d.period.as_deref(), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "customer",
        &customer.id.to_string(),
        &format!("travel intention {} recorded for {}", d.destination, customer.data.name),
        &c,
    )
    .await?;
    Ok(IntentionId(id))
}

/// Changes an intention's status (open, booked, dropped).
pub async fn set_intention_status(
    tx: &mut Tx,
    actor: &Actor,
    customer: &Customer,
    id: IntentionId,
    version: i64,
    status: &str,
) -> Result<()> {
    let before: Option<(String, String)> =
        sqlx::query_as("SELECT destination, status FROM customer_intentions WHERE id = $1 AND customer_id = $2")
            .bind(id.0)
            .bind(customer.id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    let (destination, old) = before.ok_or(StoreError::NotFound)?;
    let done = sqlx::query(
        "UPDATE customer_intentions SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
    )
    .bind(status)
    .bind(now_ms())
    .bind(id.0)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(stale(tx, "customer_intentions", id.0).await);
    }
    let mut c = ChangeSet::new();
    c.diff("intention.status", Some(&old), Some(status), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &customer.id.to_string(),
        &format!("travel intention {destination}: {status}"),
        &c,
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------ interactions

/// One recorded contact with a customer.
#[derive(Debug, Clone, Serialize)]
pub struct Interaction {
    pub id: InteractionId,
    pub customer_id: CustomerId,
    pub channel: String,
    pub direction: String,
    pub department: String,
    pub summary: String,
    pub occurred_at: i64,
    pub staff_id: Option<UserId>,
    pub staff_name: Option<String>,
    pub version: i64,
}

/// What is needed to record an interaction (validated).
#[derive(Debug, Clone)]
pub struct InteractionDraft {
    pub channel: String,
    pub direction: String,
    pub department: String,
    pub summary: String,
    pub occurred_at: i64,
    pub staff_id: Option<UserId>,
}

/// Records an interaction and moves the customer's last-contact time.
pub async fn add_interaction(
    tx: &mut Tx,
    actor: &Actor,
    customer: &Customer,
    d: &InteractionDraft,
) -> Result<InteractionId> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO interactions (customer_id, channel, direction, department, summary, occurred_at, staff_id, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1) RETURNING id",
    )
    .bind(customer.id.0)
    .bind(d.channel.as_str())
    .bind(d.direction.as_str())
    .bind(d.department.as_str())
    .bind(d.summary.as_str())
    .bind(d.occurred_at)
    .bind(d.staff_id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    sqlx::query(
        "UPDATE customers SET last_contact_at = $1 WHERE id = $2 AND (last_contact_at IS NULL OR last_contact_at < $1)",
    )
    .bind(d.occurred_at)
    .bind(customer.id.0)
    .execute(&mut ***tx)
    .await?;
    let mut c = ChangeSet::new();
    c.created("interaction.channel", Some(&d.channel), Sensitivity::Plain);
    c.created("interaction.summary", Some(&d.summary), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Create,
        "interaction",
        &id.to_string(),
        &format!("contact with {}", customer.data.name),
        &c,
    )
    .await?;
    Ok(InteractionId(id))
}

/// The interactions of a customer, newest first.
pub async fn interactions(store: &Store, id: CustomerId, limit: i64) -> Result<Vec<Interaction>> {
    let rows = sqlx::query(
        "SELECT i.*, u.display_name AS staff_name FROM interactions i LEFT JOIN users u ON u.id = i.staff_id \
         WHERE i.customer_id = $1 ORDER BY i.occurred_at DESC, i.id DESC LIMIT $2",
    )
    .bind(id.0)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Interaction {
                id: InteractionId(r.try_get("id")?),
                customer_id: CustomerId(r.try_get("customer_id")?),
                channel: r.try_get("channel")?,
                direction: r.try_get("direction")?,
                department: r.try_get("department")?,
                summary: r.try_get("summary")?,
                occurred_at: r.try_get("occurred_at")?,
                staff_id: r.try_get::<Option<i64>, _>("staff_id")?.map(UserId),
                staff_name: r.try_get("staff_name")?,
                version: r.try_get("version")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- timeline

/// One entry of a customer's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    /// When, epoch ms.
    pub at: i64,
    /// `interaction` or `change` (later also `order`, `ticket`, `care`).
    pub kind: String,
    /// One line.
    pub title: String,
    /// Channel and department of an interaction, or the changed fields.
    pub detail: String,
    /// Who.
    pub actor: Option<String>,
}

/// The kinds of [`timeline`] entries, in the order filters show them.
pub const TIMELINE_KINDS: [&str; 6] = ["interaction", "order", "receipt", "quote", "opportunity", "change"];

/// The customer's timeline, newest first: interactions; orders (its own and
/// those it travels on), receipts and refunds, quotes and opportunities;
/// and every recorded change (edits, contacts, intentions, reassignments,
/// merges, reveals). `kinds` limits it to those kinds when not empty.
pub async fn timeline(store: &Store, id: CustomerId, kinds: &[&str], limit: i64) -> Result<Vec<TimelineItem>> {
    let mut items = Vec::new();
    let want = |k: &str| kinds.is_empty() || kinds.contains(&k);
    if want("interaction") {
        for i in interactions(store, id, limit).await? {
            items.push(TimelineItem {
                at: i.occurred_at,
                kind: "interaction".into(),
                title: i.summary,
                detail: format!("{} · {} · {}", i.channel, i.direction, i.department),
                actor: i.staff_name,
            });
        }
    }
    if want("change") {
        // Customers merged into this one bring their history along.
        let mut ids = vec![id.to_string()];
        ids.extend(crate::customer_merge::merged_ids(store, id).await?.iter().map(|m| m.to_string()));
        let mut sql = Sql::new(
            "SELECT created_at, actor_name, action, summary, changes FROM audit_log \
             WHERE entity = 'customer' AND entity_id IN ",
        );
        sql.bind_list(ids).push(" ORDER BY id DESC LIMIT ").bind(limit);
        let rows = sql.query().fetch_all(store.pool()).await?;
        for r in rows {
            let changes: String = r.try_get("changes")?;
            let fields: Vec<domain::audit::FieldChange> = serde_json::from_str(&changes).unwrap_or_default();
            let detail = fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>().join(", ");
            items.push(TimelineItem {
                at: r.try_get("created_at")?,
                kind: "change".into(),
                title: r.try_get("summary")?,
                detail: format!("{}: {detail}", r.try_get::<String, _>("action")?),
                actor: Some(r.try_get("actor_name")?),
            });
        }
    }
    if want("order") {
        // An imported order happened on its order date, not when it was loaded.
        let rows = sqlx::query(
            "SELECT o.order_no, o.product_type, o.destination, o.status, o.amount, o.order_date, o.travel_date, \
             o.created_at, o.imported, u.display_name, o.customer_id FROM orders o LEFT JOIN users u ON u.id = o.owner_id \
             WHERE o.customer_id = $1 OR o.id IN (SELECT t.order_id FROM order_travellers t WHERE t.customer_id = $1) \
             ORDER BY o.id DESC LIMIT $2",
        )
        .bind(id.0)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
        for r in rows {
            let imported: i64 = r.try_get("imported")?;
            let order_date: String = r.try_get("order_date")?;
            let at = if imported == 1 { date_ms(&order_date) } else { None };
            let own = r.try_get::<i64, _>("customer_id")? == id.0;
            let travel: Option<String> = r.try_get("travel_date")?;
            let destination: Option<String> = r.try_get("destination")?;
            items.push(TimelineItem {
                at: at.unwrap_or(r.try_get("created_at")?),
                kind: "order".into(),
                title: format!(
                    "{} {}",
                    r.try_get::<String, _>("order_no")?,
                    destination.unwrap_or_else(|| r.try_get::<String, _>("product_type").unwrap_or_default())
                ),
                detail: format!(
                    "{} · ¥{} · {}{}{}",
                    r.try_get::<String, _>("status")?,
                    domain::money::Money(r.try_get("amount")?),
                    order_date,
                    travel.map(|t| format!(" → {t}")).unwrap_or_default(),
                    if own { "" } else { " · traveller" }
                ),
                actor: r.try_get("display_name")?,
            });
        }
    }
    if want("receipt") {
        let rows = sqlx::query(
            "SELECT r.receipt_no, r.kind, r.method, r.amount, r.received_on, r.created_at, r.imported, o.order_no, \
             u.display_name FROM receipts r JOIN orders o ON o.id = r.order_id LEFT JOIN users u ON u.id = r.created_by \
             WHERE r.customer_id = $1 ORDER BY r.id DESC LIMIT $2",
        )
        .bind(id.0)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
        for r in rows {
            let received_on: String = r.try_get("received_on")?;
            let at = if r.try_get::<i64, _>("imported")? == 1 { date_ms(&received_on) } else { None };
            items.push(TimelineItem {
                at: at.unwrap_or(r.try_get("created_at")?),
                kind: "receipt".into(),
                title: format!("{} {}", r.try_get::<String, _>("receipt_no")?, r.try_get::<String, _>("order_no")?),
                detail: format!(
                    "{} · {} · ¥{} · {received_on}",
                    r.try_get::<String, _>("kind")?,
                    r.try_get::<String, _>("method")?,
                    domain::money::Money(r.try_get("amount")?)
                ),
                actor: r.try_get("display_name")?,
            });
        }
    }
    if want("quote") {
        let rows = sqlx::query(
            "SELECT q.number, q.title, q.status, q.current_version, q.total, q.created_at, u.display_name \
             FROM quotes q LEFT JOIN users u ON u.id = q.owner_id WHERE q.customer_id = $1 ORDER BY q.id DESC LIMIT $2",
        )
        .bind(id.0)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
        for r in rows {
            items.push(TimelineItem {
                at: r.try_get("created_at")?,
                kind: "quote".into(),
                title: format!("{} {}", r.try_get::<String, _>("number")?, r.try_get::<String, _>("title")?),
                detail: format!(
                    "{} · v{} · ¥{}",
                    r.try_get::<String, _>("status")?,
                    r.try_get::<i64, _>("current_version")?,
                    domain::money::Money(r.try_get("total")?)
                ),
                actor: r.try_get("display_name")?,
            });
        }
    }
    if want("opportunity") {
        let rows = sqlx::query(
            "SELECT o.title, o.stage, o.expected_value, o.close_date, o.created_at, u.display_name \
             FROM opportunities o LEFT JOIN users u ON u.id = o.owner_id WHERE o.customer_id = $1 \
             ORDER BY o.id DESC LIMIT $2",
        )
        .bind(id.0)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
        for r in rows {
            let close: Option<String> = r.try_get("close_date")?;
            items.push(TimelineItem {
                at: r.try_get("created_at")?,
                kind: "opportunity".into(),
                title: r.try_get("title")?,
                detail: format!(
                    "{} · ¥{}{}",
                    r.try_get::<String, _>("stage")?,
                    domain::money::Money(r.try_get("expected_value")?),
                    close.map(|c| format!(" · {c}")).unwrap_or_default()
                ),
                actor: r.try_get("display_name")?,
            });
        }
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    items.truncate(limit as usize);
    Ok(items)
}

/// Midnight in China (UTC+8) of an ISO date, as epoch milliseconds.
fn date_ms(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - 8 * 3_600_000)
}
