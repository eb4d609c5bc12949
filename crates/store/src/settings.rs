//! Company settings: the profile (name, licence, contact, time zone), the
//! weekly business hours and the holiday calendar.

use crate::{audit, now_ms, unique_as, Actor, Result, Store, StoreError, Tx};
use chrono::NaiveDate;
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::calendar::{BusinessCalendar, DayKind, WeeklyHours};
use domain::ids::HolidayId;
use sqlx::any::AnyRow;
use sqlx::Row;

/// The company's profile.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// Registered name (上海某某国际旅行社有限公司).
    pub name: String,
    /// Short name for headers.
    pub short_name: Option<String>,
    /// Travel agency business licence number (旅行社业务经营许可证).
    pub license_no: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// IANA time zone for display and schedules.
    pub timezone: String,
    /// Weekly opening hours.
    pub business_hours: WeeklyHours,
    /// Optimistic-lock version.
    pub version: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
}

fn profile_from_row(r: &AnyRow) -> Result<Profile> {
    let hours: String = r.try_get("business_hours")?;
    Ok(Profile {
        name: r.try_get("name")?,
        short_name: r.try_get("short_name")?,
        license_no: r.try_get("license_no")?,
        address: r.try_get("address")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        website: r.try_get("website")?,
        timezone: r.try_get("timezone")?,
        business_hours: serde_json::from_str(&hours).unwrap_or_default(),
        version: r.try_get("version")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(crate) async fn ensure_profile(store: &Store) -> Result<()> {
    let mut tx = store.begin().await?;
    let now = now_ms();
    let hours = serde_json::to_string(&WeeklyHours::default()).unwrap_or_default();
    sqlx::query(
        "INSERT INTO company_profile (id, name, timezone, business_hours, created_at, updated_at, version) \
         VALUES (1, $1, 'Asia/Shanghai', $2, $3, $3, 1) ON CONFLICT (id) DO NOTHING",
    )
    .bind("我的旅行社")
    .bind(hours)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await
}

/// The profile.
pub async fn profile(store: &Store) -> Result<Profile> {
    let row = sqlx::query("SELECT * FROM company_profile WHERE id = 1")
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    profile_from_row(&row)
}

/// Saves the profile if `p.version` is current.
pub async fn update_profile(tx: &mut Tx, actor: &Actor, p: &Profile) -> Result<Profile> {
    let row = sqlx::query("SELECT * FROM company_profile WHERE id = 1")
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let before = profile_from_row(&row)?;
    if before.version != p.version {
        return Err(StoreError::Stale { current: before.version });
    }
    let hours = serde_json::to_string(&p.business_hours).unwrap_or_default();
    let done = sqlx::query(
        "UPDATE company_profile SET name = $1, short_name = $2, license_no = $3, address = $4, phone = $5, email = $6, \
         website = $7, timezone = $8, business_hours = $9, updated_at = $10, version = version + 1 \
         WHERE id = 1 AND version = $11",
    )
    .bind(p.name.as_str())
    .bind(p.short_name.as_deref())
    .bind(p.license_no.as_deref())
    .bind(p.address.as_deref())
    .bind(p.phone.as_deref())
    .bind(p.email.as_deref())
    .bind(p.website.as_deref())
    .bind(p.timezone.as_str())
    .bind(&hours)
    .bind(now_ms())
    .bind(p.version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "company_profile", 1).await);
    }
    let mut c = ChangeSet::new();
    let plain = Sensitivity::Plain;
    c.diff("name", Some(&before.name), Some(&p.name), plain);
    c.diff("short_name", before.short_name.as_deref(), p.short_name.as_deref(), plain);
    c.diff("license_no", before.license_no.as_deref(), p.license_no.as_deref(), plain);
    c.diff("address", before.address.as_deref(), p.address.as_deref(), plain);
    c.diff("phone", before.phone.as_deref(), p.phone.as_deref(), plain);
    c.diff("email", before.email.as_deref(), p.email.as_deref(), plain);
    c.diff("website", before.website.as_deref(), p.website.as_deref(), plain);
    c.diff("timezone", Some(&before.timezone), Some(&p.timezone), plain);
    let old_hours = serde_json::to_string(&before.business_hours).unwrap_or_default();
    c.diff("business_hours", Some(&old_hours), Some(&hours), plain);
    audit::record(tx, actor, Action::Update, "company_profile", "1", "company profile", &c).await?;
    let row = sqlx::query("SELECT * FROM company_profile WHERE id = 1").fetch_one(&mut ***tx).await?;
    profile_from_row(&row)
}

/// A date that differs from the normal week.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Holiday {
    /// Id.
    pub id: HolidayId,
    /// The date.
    pub day: NaiveDate,
    /// Its name (国庆节, 国庆调休上班).
    pub name: String,
    /// Closed (holiday) or open (adjusted working day).
    pub kind: DayKind,
    /// Optimistic-lock version.
    pub version: i64,
}

fn holiday_from_row(r: &AnyRow) -> Result<Holiday> {
    let day: String = r.try_get("day")?;
    let kind: String = r.try_get("kind")?;
    Ok(Holiday {
        id: HolidayId(r.try_get("id")?),
        day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| StoreError::Db(sqlx::Error::Decode(e.into())))?,
        name: r.try_get("name")?,
        kind: DayKind::from_code(&kind).unwrap_or(DayKind::Holiday),
        version: r.try_get("version")?,
    })
}

/// The holidays and adjusted working days of `year`, by date.
pub async fn holidays(store: &Store, year: i32) -> Result<Vec<Holiday>> {
    let rows = sqlx::query("SELECT * FROM holidays WHERE day >= $1 AND day <= $2 ORDER BY day")
        .bind(format!("{year:04}-01-01"))
        .bind(format!("{year:04}-12-31"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(holiday_from_row).collect()
}

/// Adds a holiday or adjusted working day; one entry per date.
pub async fn add_holiday(tx: &mut Tx, actor: &Actor, day: NaiveDate, name: &str, kind: DayKind) -> Result<HolidayId> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO holidays (day, name, kind, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $4, 1) RETURNING id",
    )
    .bind(day.to_string())
    .bind(name)
    .bind(kind.code())
    .bind(now)
    .fetch_one(&mut ***tx)
    .await
    .map_err(unique_as("day"))?;
    let mut c = ChangeSet::new();
    c.created("day", Some(&day.to_string()), Sensitivity::Plain);
    c.created("name", Some(name), Sensitivity::Plain);
    c.created("kind", Some(kind.code()), Sensitivity::Plain);
    audit::record(tx, actor, Action::Create, "holiday", &id.to_string(), &format!("{day} {name}"), &c).await?;
    Ok(HolidayId(id))
}

/// Removes an entry if `version` is current.
pub async fn delete_holiday(tx: &mut Tx, actor: &Actor, id: HolidayId, version: i64) -> Result<()> {
    let row = sqlx::query("SELECT * FROM holidays WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let h = holiday_from_row(&row)?;
    if h.version != version {
        return Err(StoreError::Stale { current: h.version });
    }
    let done = sqlx::query("DELETE FROM holidays WHERE id = $1 AND version = $2")
        .bind(id.0)
        .bind(version)
        .execute(&mut ***tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "holidays", id.0).await);
    }
    let mut c = ChangeSet::new();
    c.diff("day", Some(&h.day.to_string()), None, Sensitivity::Plain);
    c.diff("name", Some(&h.name), None, Sensitivity::Plain);
    audit::record(tx, actor, Action::Delete, "holiday", &id.to_string(), &format!("{} {}", h.day, h.name), &c).await?;
    Ok(())
}

/// The business calendar (hours plus every exception), for SLA clocks and care.
pub async fn calendar(store: &Store) -> Result<BusinessCalendar> {
    let p = profile(store).await?;
    let rows = sqlx::query("SELECT * FROM holidays").fetch_all(store.pool()).await?;
    let mut cal = BusinessCalendar { hours: p.business_hours, ..Default::default() };
    for r in &rows {
        let h = holiday_from_row(r)?;
        cal.exceptions.insert(h.day, h.kind);
    }
    Ok(cal)
}
