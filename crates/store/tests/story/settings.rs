//! Company settings: the profile, business hours and the holiday calendar.

use super::fixtures::*;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use domain::calendar::{DayHours, DayKind, WeeklyHours};
use domain::ids::HolidayId;
use store::settings::{self, Profile};
use store::{Store, StoreError};

fn day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| format!("date {s}"))
}

fn hours(open: u16, close: u16) -> Option<DayHours> {
    Some(DayHours { open, close })
}

pub async fn company_profile_is_versioned_and_round_trips(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let first = settings::profile(&store).await?;
    let week = WeeklyHours::parse([
        ("08:30", "20:00"),
        ("08:30", "20:00"),
        ("08:30", "20:00"),
        ("08:30", "20:00"),
        ("08:30", "21:30"),
        ("", ""),
        ("10:00", "16:00"),
    ])
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let wanted = Profile {
        name: "上海云游国际旅行社有限公司".into(),
        short_name: Some("云游旅行".into()),
        license_no: Some("L-SH-CJ00123".into()),
        address: Some("上海市黄浦区南京东路 1 号".into()),
        phone: Some("021-63210000".into()),
        email: Some("hello@yunyou.example".into()),
        website: Some("https://yunyou.example".into()),
        timezone: "Asia/Shanghai".into(),
        business_hours: week.clone(),
        version: first.version,
        updated_at: 0,
    };
    let mut tx = store.begin().await?;
    let saved = settings::update_profile(&mut tx, &system(), &wanted).await?;
    tx.commit().await?;
    assert_eq!(saved.version, first.version + 1);

    let read = settings::profile(&store).await?;
    let comparable = |p: &Profile| Profile { updated_at: 0, ..p.clone() };
    assert_eq!(
        serde_json::to_value(comparable(&read))?,
        serde_json::to_value(Profile { version: first.version + 1, ..wanted.clone() })?,
        "every field round-trips"
    );
    assert_eq!(read.business_hours, week);
    assert_eq!(read.business_hours.0[6], hours(600, 960), "Sunday 10:00–16:00");
    assert_eq!(read.business_hours.0[5], None, "closed on Saturday");
    let row = latest_audit(&store).await?;
    assert_eq!(row.entity, "company_profile");
    let fields: Vec<&str> = row.changes.iter().map(|c| c.field.as_str()).collect();
    assert!(fields.contains(&"name") && fields.contains(&"business_hours"), "{fields:?}");

    // A form opened before that save is stale and changes nothing.
    let mut tx = store.begin().await?;
    let err = settings::update_profile(&mut tx, &system(), &Profile { name: "旧名字".into(), ..wanted.clone() })
        .await
        .expect_err("stale profile");
    drop(tx);
    assert!(matches!(err, StoreError::Stale { current } if current == first.version + 1), "{err:?}");
    assert_eq!(settings::profile(&store).await?.name, "上海云游国际旅行社有限公司");

    // Optional fields can be cleared again.
    let mut tx = store.begin().await?;
    let cleared = Profile { short_name: None, website: None, ..read.clone() };
    let saved = settings::update_profile(&mut tx, &system(), &cleared).await?;
    tx.commit().await?;
    assert_eq!((saved.short_name, saved.website), (None, None));
    Ok(())
}

async fn add_holiday(store: &Store, on: &str, name: &str, kind: DayKind) -> Result<HolidayId> {
    let mut tx = store.begin().await?;
    let id = settings::add_holiday(&mut tx, &system(), day(on)?, name, kind).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn holidays_shape_the_business_calendar(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    // National Day 2026: 1–7 October off, Sunday 27 September and Saturday
    // 10 October worked instead.
    let mut national_day = Vec::new();
    for d in 1..=7 {
        national_day.push(add_holiday(&store, &format!("2026-10-{d:02}"), "国庆节", DayKind::Holiday).await?);
    }
    add_holiday(&store, "2026-09-27", "国庆调休上班", DayKind::Workday).await?;
    add_holiday(&store, "2026-10-10", "国庆调休上班", DayKind::Workday).await?;
    add_holiday(&store, "2025-12-31", "跨年", DayKind::Holiday).await?;
    add_holiday(&store, "2027-01-01", "元旦", DayKind::Holiday).await?;

    let mut tx = store.begin().await?;
    let err = settings::add_holiday(&mut tx, &system(), day("2026-10-01")?, "重复", DayKind::Workday)
        .await
        .expect_err("one entry per date");
    drop(tx);
    assert!(matches!(err, StoreError::Duplicate { field: "day" }), "{err:?}");

    let year = settings::holidays(&store, 2026).await?;
    let days: Vec<String> = year.iter().map(|h| h.day.to_string()).collect();
    assert_eq!(days.len(), 9, "only 2026's entries: {days:?}");
    assert_eq!(days.first().map(String::as_str), Some("2026-09-27"));
    assert_eq!(days.last().map(String::as_str), Some("2026-10-10"));
    assert!(days.windows(2).all(|w| w[0] < w[1]), "by date");
    let first = &year[1];
    assert_eq!((first.name.as_str(), first.kind, first.version), ("国庆节", DayKind::Holiday, 1));
    assert_eq!(settings::holidays(&store, 2025).await?.len(), 1);
    assert_eq!(settings::holidays(&store, 2027).await?.len(), 1);

    let cal = settings::calendar(&store).await?;
    assert!(!cal.is_business_day(day("2026-10-01")?), "a Thursday holiday is closed");
    assert!(!cal.is_business_day(day("2026-10-07")?));
    assert!(cal.is_business_day(day("2026-10-08")?), "an ordinary Thursday is open");
    assert_eq!(cal.hours_on(day("2026-09-27")?), hours(540, 1080), "an adjusted Sunday works Monday's hours");
    assert_eq!(cal.hours_on(day("2026-10-10")?), hours(540, 1080), "an adjusted Saturday works Monday's hours");
    assert_eq!(cal.hours_on(day("2026-10-17")?), hours(540, 1020), "an ordinary Saturday keeps its hours");
    assert!(!cal.is_business_day(day("2026-10-11")?), "Sunday is closed");
    assert!(!cal.is_business_day(day("2027-01-01")?));

    // The calendar follows the profile's hours: close on Saturdays.
    let profile = settings::profile(&store).await?;
    let mut week = profile.business_hours.clone();
    week.0[5] = None;
    let mut tx = store.begin().await?;
    settings::update_profile(&mut tx, &system(), &Profile { business_hours: week, ..profile }).await?;
    tx.commit().await?;
    let cal = settings::calendar(&store).await?;
    assert!(!cal.is_business_day(day("2026-10-17")?), "Saturdays are closed now");
    assert!(cal.is_business_day(day("2026-10-10")?), "but the adjusted Saturday is still worked");

    // Deleting an entry needs its current version and restores the normal day.
    let oct_1 = national_day[0];
    let mut tx = store.begin().await?;
    let err = settings::delete_holiday(&mut tx, &system(), oct_1, 2).await.expect_err("stale");
    drop(tx);
    assert!(matches!(err, StoreError::Stale { current: 1 }), "{err:?}");
    let mut tx = store.begin().await?;
    settings::delete_holiday(&mut tx, &system(), oct_1, 1).await?;
    tx.commit().await?;
    assert!(
        settings::calendar(&store).await?.is_business_day(day("2026-10-01")?),
        "1 October is a plain Thursday again"
    );
    assert_eq!(settings::holidays(&store, 2026).await?.len(), 8);
    let mut tx = store.begin().await?;
    let err = settings::delete_holiday(&mut tx, &system(), oct_1, 1).await.expect_err("already gone");
    drop(tx);
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // The date is free again.
    add_holiday(&store, "2026-10-01", "国庆节", DayKind::Holiday).await?;
    assert!(!settings::calendar(&store).await?.is_business_day(day("2026-10-01")?));
    Ok(())
}
