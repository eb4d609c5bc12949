//! Backup and restore, on one engine and from one engine to the other.

use super::fixtures::*;
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use domain::access::{Grants, Permission, Scope};
use domain::calendar::DayKind;
use serde_json::{json, Value};
use sqlx::Row;
use store::settings::{self, Profile};
use store::users::{self, Changes, Filter};
use store::{backup, jobs, logins, roles, sessions, teams, tokens, Store, StoreError};

const HOUR_MS: i64 = 3_600_000;

/// Gives `store` a bit of everything: a team tree with a manager, staff (one
/// deactivated), a custom role, holidays, an edited profile, sessions,
/// tokens, login history and a job lease.
async fn fill(store: &Store) -> Result<()> {
    let hq = add_team(store, "总部", None).await?;
    let east = add_team(store, "华东分公司", Some(hq)).await?;
    let shanghai = add_team(store, "上海销售一部", Some(east)).await?;
    let boss = add_staff(store, "boss", "总经理", "admin", Some(hq)).await?;
    let mut nu = new_user("wangfang", "王芳", role(store, "sales").await?, Some(shanghai));
    nu.email = Some("wang.fang@example.cn".into());
    nu.phone = Some("13812345678".into());
    let wang = add_user(store, &acting(&boss), &nu).await?;
    let li = add_staff(store, "liming", "李明", "sales", Some(shanghai)).await?;
    let chen = add_staff(store, "chen", "陈经理", "manager", Some(east)).await?;

    let by = acting(&boss);
    let mut tx = store.begin().await?;
    let e = teams::get(store, east).await?;
    teams::update(&mut tx, &by, east, e.version, &e.name, e.parent_id, Some(chen.id)).await?;
    users::update(&mut tx, &by, li.id, li.version, &Changes { active: false, ..Changes::from(&li) }).await?;
    let visa = roles::create(&mut tx, &by, "visa_desk", "签证专员", "Visa desk").await?;
    let grants = Grants([(Permission::DashboardView, Scope::All), (Permission::AuditView, Scope::Own)].into());
    roles::update(&mut tx, &by, visa, 1, "签证专员", "Visa desk", &grants).await?;
    for (d, name, kind) in [
        ("2026-10-01", "国庆节", DayKind::Holiday),
        ("2026-10-02", "国庆节", DayKind::Holiday),
        ("2026-10-10", "调休", DayKind::Workday),
    ] {
        let d = NaiveDate::parse_from_str(d, "%Y-%m-%d")?;
        settings::add_holiday(&mut tx, &by, d, name, kind).await?;
    }
    let p = settings::profile(store).await?;
    settings::update_profile(&mut tx, &by, &Profile { name: "上海云游国际旅行社有限公司".into(), ..p }).await?;
    tokens::create(&mut tx, &acting(&wang), wang.id, "报表脚本", None).await?;
    tx.commit().await?;

    sessions::create(store, wang.id, HOUR_MS, Some("10.0.0.1"), Some("Firefox")).await?;
    sessions::create(store, boss.id, HOUR_MS, None, None).await?;
    logins::record(store, "wangfang", Some(wang.id), Some("10.0.0.1"), None, false, "bad_password").await?;
    logins::record(store, "wangfang", Some(wang.id), Some("10.0.0.1"), None, true, "ok").await?;
    jobs::claim(store, "nightly-evaluation", "server-a", HOUR_MS, HOUR_MS).await?;

    // Customers with orders and an evaluation: snapshots hold doubles
    // (P(alive), expectations), some of them NULL.
    let mut tx = store.begin().await?;
    for (n, days) in [(1, &["2024-01-05", "2024-06-01", "2025-01-10"][..]), (2, &["2024-03-01"][..]), (3, &[][..])] {
        let d = store::customers::Draft::new("individual", &format!("客户{n}"), wang.id);
        let c = store::customers::create(&mut tx, store, &by, &d, Some(&format!("B00{n}"))).await?;
        for (k, day) in days.iter().enumerate() {
            sqlx::query(
                "INSERT INTO orders (order_no, customer_id, product_type, order_date, amount, status, owner_id, \
                 created_at, updated_at) VALUES ($1, $2, 'nearby', $3, $4, 'completed', $5, 0, 0)",
            )
            .bind(format!("D{n}-{k}"))
            .bind(c.id.0)
            .bind(*day)
            .bind(100_000 + 10_000 * k as i64)
            .bind(wang.id.0)
            .execute(&mut **tx)
            .await?;
        }
    }
    tx.commit().await?;
    let as_of = NaiveDate::from_ymd_opt(2025, 6, 30).context("date")?;
    store::value::evaluate(store, &by, as_of, store::value::Trigger::Cli, &|_: &str| {}).await?;
    Ok(())
}

/// Everything a restore must bring back, read through the store's own API
/// where it has one.
async fn snapshot(store: &Store) -> Result<Value> {
    let users = users::list(store, &Filter { limit: 10_000, ..Default::default() }).await?;
    ensure!(users.next.is_none());
    let roles: Vec<Value> = roles::list(store)
        .await?
        .into_iter()
        .map(|r| {
            let grants: Vec<(String, String)> =
                r.grants.0.iter().map(|(p, s)| (p.code().to_string(), s.code().to_string())).collect();
            json!([r.id.0, r.code, r.name_zh, r.name_en, r.builtin, r.version, grants])
        })
        .collect();
    let holidays: Vec<Value> = sqlx::query("SELECT id, day, name, kind, version FROM holidays ORDER BY day")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(json!([
                r.try_get::<i64, _>(0)?,
                r.try_get::<String, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<String, _>(3)?,
                r.try_get::<i64, _>(4)?
            ]))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let mut tokens = Vec::new();
    for u in &users.items {
        tokens.extend(tokens::list_for_user(store, u.id).await?);
    }
    let logins = logins::list(store, &sees_all(), &logins::Filter { limit: 10_000, ..Default::default() }).await?;
    let job: Option<(String, Option<String>, i64)> =
        sqlx::query("SELECT name, holder, locked_until FROM job_locks ORDER BY name")
            .fetch_optional(store.pool())
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()?;
    let values: Vec<Value> = sqlx::query(
        "SELECT customer_id, grade, loyalty, p_alive, expected_90d, clv FROM customer_values ORDER BY customer_id",
    )
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(json!([
            r.try_get::<i64, _>(0)?,
            r.try_get::<String, _>(1)?,
            r.try_get::<Option<f64>, _>(2)?,
            r.try_get::<Option<f64>, _>(3)?,
            r.try_get::<Option<f64>, _>(4)?,
            r.try_get::<Option<i64>, _>(5)?
        ]))
    })
    .collect::<Result<_, sqlx::Error>>()?;
    ensure!(values.len() == 3, "three customers evaluated: {values:?}");
    ensure!(
        values.iter().any(|v| v[3].is_f64()) && values.iter().any(|v| v[3].is_null()),
        "doubles and NULLs: {values:?}"
    );
    Ok(json!({
        "values": values,
        "users": users.items,
        "password_hashes": sqlx::query_scalar::<_, String>("SELECT password_hash FROM users ORDER BY id").fetch_all(store.pool()).await?,
        "teams": teams::list(store).await?,
        "roles": roles,
        "holidays": holidays,
        "profile": settings::profile(store).await?,
        "audit": audit_trail(store, &sees_all()).await?,
        "tokens": tokens,
        "logins": logins.items,
        "job": job,
    }))
}

/// The largest id in `table`.
async fn max_id(store: &Store, table: &str) -> Result<i64> {
    let max: Option<i64> = sqlx::query_scalar(&format!("SELECT MAX(id) FROM {table}")).fetch_one(store.pool()).await?;
    max.with_context(|| format!("{table} is empty"))
}

/// Fills a store on `from`, backs it up, restores it into a fresh database on
/// `to` and checks that the copy is whole and usable.
async fn backup_and_restore(s: &Scratch, from: Engine, to: Engine) -> Result<()> {
    let source = s.new_store_on(from).await?;
    fill(&source).await?;
    let original = snapshot(&source).await?;
    let users_before = users::count(&source).await?;
    let audit_before = rows_in(&source, "audit_log").await?;
    ensure!(rows_in(&source, "sessions").await? == 2);

    let file = s.path("keyuan-backup.db");
    let summary = backup::backup(&source, &file).await?;
    ensure!(file.is_file(), "the backup file exists");
    let copied = |t: &str| summary.tables.iter().find(|(n, _)| n == t).map(|(_, c)| *c as i64);
    assert_eq!(copied("users"), Some(users_before));
    assert_eq!(copied("audit_log"), Some(audit_before));
    assert!(summary.rows() > 0);

    // A backup never overwrites a file.
    let bytes = std::fs::read(&file)?;
    let err = backup::backup(&source, &file).await.expect_err("the file exists");
    assert!(matches!(err, StoreError::Backup(_)), "{err:?}");
    ensure!(std::fs::read(&file)? == bytes, "the first backup is untouched");

    // The one file is the whole backup: carry it elsewhere on its own
    // (without any -wal or -shm beside it) and restore from there.
    std::fs::create_dir(s.path("usb-stick"))?;
    let carried = s.path("usb-stick").join("keyuan-backup.db");
    std::fs::copy(&file, &carried)?;
    let target = s.new_store_on(to).await?;
    let restored = backup::restore(&target, &carried).await?;
    ensure!(restored.tables.iter().all(|(t, _)| t != "sessions" && t != "schema_migrations"), "{:?}", restored.tables);
    ensure!(std::fs::read(&carried)? == bytes, "restoring leaves the backup file as it was");
    assert_eq!(snapshot(&target).await?, original, "the restored database holds what was backed up");
    assert_eq!(rows_in(&target, "sessions").await?, 0, "everyone signs in again");

    // The restored database keeps working, and new ids follow the restored ones.
    let max_user = max_id(&target, "users").await?;
    let max_team = max_id(&target, "teams").await?;
    let max_audit = max_id(&target, "audit_log").await?;
    let max_role = max_id(&target, "roles").await?;
    let newcomer = add_staff(&target, "newcomer", "新同事", "sales", None).await?;
    assert!(newcomer.id.0 > max_user, "new user id {} after {max_user}", newcomer.id);
    let team = add_team(&target, "新门店", None).await?;
    assert!(team.0 > max_team, "new team id {team} after {max_team}");
    let mut tx = target.begin().await?;
    let role = roles::create(&mut tx, &system(), "cashier", "出纳", "Cashier").await?;
    settings::add_holiday(
        &mut tx,
        &system(),
        NaiveDate::from_ymd_opt(2027, 1, 1).context("date")?,
        "元旦",
        DayKind::Holiday,
    )
    .await?;
    tx.commit().await?;
    assert!(role.0 > max_role);
    assert!(max_id(&target, "audit_log").await? > max_audit);
    let (cookie, _) = sessions::create(&target, newcomer.id, HOUR_MS, None, None).await?;
    assert!(sessions::find(&target, &cookie).await?.is_some());

    // Restoring over data is refused and changes nothing.
    for store in [&target, &source] {
        let before = snapshot(store).await?;
        let err = backup::restore(store, &carried).await.expect_err("the database is not empty");
        assert!(matches!(&err, StoreError::Backup(m) if m.contains("already holds data")), "{err:?}");
        assert_eq!(snapshot(store).await?, before);
    }
    Ok(())
}

pub async fn backup_restores_into_a_fresh_database_of_the_same_engine(s: Scratch) -> Result<()> {
    backup_and_restore(&s, s.engine(), s.engine()).await?;

    // Files that are not backups are refused without touching the target.
    let target = s.new_store().await?;
    let missing = backup::restore(&target, &s.path("missing.db")).await.expect_err("no such file");
    assert!(matches!(missing, StoreError::Backup(_)), "{missing:?}");
    let text = s.path("notes.txt");
    std::fs::write(&text, "这不是备份文件 / not a backup, just text that is long enough to be read as a header")?;
    let not_backup = backup::restore(&target, &text).await.expect_err("not a backup");
    assert!(matches!(not_backup, StoreError::Backup(_)), "{not_backup:?}");
    assert_eq!(users::count(&target).await?, 0);
    assert_eq!(roles::list(&target).await?.len(), 7, "the seeded roles are still there");
    Ok(())
}

pub async fn sqlite_backup_restores_into_postgres(s: Scratch) -> Result<()> {
    backup_and_restore(&s, Engine::Sqlite, Engine::Postgres).await
}

pub async fn postgres_backup_restores_into_sqlite(s: Scratch) -> Result<()> {
    backup_and_restore(&s, Engine::Postgres, Engine::Sqlite).await
}

/// A customer with a sealed ID card number, owned by `owner`.
async fn customer_with_id_card(
    store: &Store,
    owner: &store::users::User,
    id_card: &str,
) -> Result<domain::ids::CustomerId> {
    use store::customers::{create, Consent, Draft, Sealed};
    let d = Draft {
        kind: "individual".into(),
        name: "张三".into(),
        name_pinyin: "zhangsan".into(),
        name_initials: "zs".into(),
        gender: Some("female".into()),
        birthday: Some("1949-12-31".into()),
        lunar_birthday: None,
        id_card: Sealed::Set(id_card.into()),
        id_card_masked: Some("110105********002X".into()),
        passport: Sealed::Keep,
        passport_masked: None,
        passport_expiry: None,
        employer: None,
        title: None,
        mobile: Some("13812345678".into()),
        mobile2: None,
        landline: None,
        email: None,
        wechat: None,
        fax: None,
        province: Some("北京".into()),
        city: Some("北京".into()),
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
        owner_id: owner.id,
        stage: "potential".into(),
        grade: None,
        tags: vec![],
        custom: Default::default(),
    };
    let mut tx = store.begin().await?;
    let c = create(&mut tx, store, &system(), &d, None).await?;
    tx.commit().await?;
    Ok(c.id)
}

/// Restoring needs the data key the backup's documents were sealed with:
/// with another key the restore is refused and leaves nothing behind; with
/// the original key the numbers come back readable.
pub async fn restore_needs_the_original_data_key(s: Scratch) -> Result<()> {
    let source = s.new_store().await?;
    let owner = add_staff(&source, "lina", "李娜", "sales", None).await?;
    let id = customer_with_id_card(&source, &owner, "11010519491231002X").await?;
    let raw: String = sqlx::query_scalar("SELECT id_card_enc FROM customers").fetch_one(source.pool()).await?;
    assert!(!raw.contains("11010519491231002X"), "sealed at rest");
    let file = s.path("sealed-backup.db");
    store::backup::backup(&source, &file).await?;

    // A new SQLite database gets a key of its own: refused, nothing written.
    let other = s.new_store_on(Engine::Sqlite).await?;
    let err = store::backup::restore(&other, &file).await.expect_err("another key must be refused");
    assert!(err.to_string().contains("another data key"), "{err}");
    assert_eq!(rows_in(&other, "customers").await?, 0);
    assert_eq!(rows_in(&other, "users").await?, 0);

    // With the original key beside it, the numbers come back.
    let url = s.empty_database_url(Engine::Sqlite).await?;
    let target_key = format!("{}.key", url.trim_start_matches("sqlite://"));
    std::fs::copy(&source.data_key().source, &target_key)?;
    let target = s.connect(&url).await?;
    store::backup::restore(&target, &file).await?;
    let shown =
        store::customers::reveal(&target, &system(), &sees_all(), id, store::customers::Document::IdCard).await?;
    assert_eq!(shown.as_deref(), Some("11010519491231002X"));
    Ok(())
}
