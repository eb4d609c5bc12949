//! The platform under every business area: migrations and seeding, the
//! audit trail, concurrent writers and the two engines' schemas.

use super::fixtures::*;
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use domain::access::{builtin_role_names, default_grants, Grants, Permission, Scope, BUILTIN_ROLES};
use domain::audit::{Action, FieldChange};
use domain::calendar::{DayKind, WeeklyHours};
use domain::ids::TeamId;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use store::users::{self, Changes};
use store::{audit, roles, settings, teams, tokens, Store, StoreError};

pub async fn migrations_are_idempotent_and_seed_roles_and_profile(s: Scratch) -> Result<()> {
    let url = s.empty_database_url(s.engine()).await?;
    let store = Store::open(&url).await?;
    s.keep(&store);
    let all = store::migration_names();
    assert!(all.len() >= 2 && all[0] == "0001_platform", "{all:?}");
    assert_eq!(store.migrate().await?, all, "a new database gets every migration");
    assert_eq!(store.migrate().await?, Vec::<String>::new(), "migrating again applies nothing");

    // A second server starting on the same database finds nothing to do.
    let second = s.connect(&url).await?;
    assert_eq!(second.migrate().await?, Vec::<String>::new());
    assert_eq!(rows_in(&second, "schema_migrations").await?, all.len() as i64);

    // The built-in roles exist once each, with their default grants.
    let all = roles::list(&store).await?;
    let mut codes: Vec<&str> = all.iter().map(|r| r.code.as_str()).collect();
    codes.sort_unstable();
    let mut expected: Vec<&str> = BUILTIN_ROLES.to_vec();
    expected.sort_unstable();
    assert_eq!(codes, expected, "each built-in role exactly once, even after connecting twice");
    for r in &all {
        assert!(r.builtin, "{} is built in", r.code);
        assert_eq!(r.version, 1);
        assert_eq!(r.grants, default_grants(&r.code), "default grants of {}", r.code);
        let (zh, en) = builtin_role_names(&r.code).context("a built-in role has names")?;
        assert_eq!((r.name_zh.as_str(), r.name_en.as_str()), (zh, en));
    }
    assert!(roles::by_code(&store, "admin").await?.grants.has(Permission::UsersManage));

    // The company profile row exists with its defaults.
    assert_eq!(rows_in(&store, "company_profile").await?, 1);
    let profile = settings::profile(&store).await?;
    assert_eq!(profile.name, "我的旅行社");
    assert_eq!(profile.timezone, "Asia/Shanghai");
    assert_eq!(profile.business_hours, WeeklyHours::default());
    assert_eq!(profile.version, 1);

    // A role made by an administrator starts with nothing.
    let mut tx = store.begin().await?;
    let night = roles::create(&mut tx, &system(), "night_auditor", "夜审", "Night auditor").await?;
    tx.commit().await?;
    let role = roles::get(&store, night).await?;
    assert!(!role.builtin);
    assert!(role.grants.0.is_empty(), "a new role has no grants: {:?}", role.grants);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM role_permissions WHERE role_id = $1")
        .bind(night.0)
        .fetch_one(store.pool())
        .await?;
    assert_eq!(stored, 0);

    let mut tx = store.begin().await?;
    let err = roles::create(&mut tx, &system(), "sales", "销售", "Sales").await.expect_err("role codes are unique");
    drop(tx);
    assert!(matches!(err, StoreError::Duplicate { field: "code" }), "{err:?}");

    // Grants are replaced as a whole, and only from the current version.
    let grants = Grants([(Permission::AuditView, Scope::Own), (Permission::DashboardView, Scope::All)].into());
    let mut tx = store.begin().await?;
    roles::update(&mut tx, &system(), night, 1, "夜间审核", "Night auditor", &grants).await?;
    tx.commit().await?;
    let role = roles::get(&store, night).await?;
    assert_eq!((role.version, role.name_zh.as_str(), &role.grants), (2, "夜间审核", &grants));
    let mut tx = store.begin().await?;
    let err = roles::update(&mut tx, &system(), night, 1, "旧", "Old", &Grants::default())
        .await
        .expect_err("a stale role update is refused");
    drop(tx);
    assert!(matches!(err, StoreError::Stale { current: 2 }), "{err:?}");
    assert_eq!(roles::get(&store, night).await?.grants, grants, "the stale update changed nothing");

    // A migration edited after it was applied stops the start-up.
    sqlx::query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1").execute(store.pool()).await?;
    match Store::connect(&url).await {
        Err(StoreError::Migration(msg)) => ensure!(msg.contains("differs"), "unexpected message: {msg}"),
        Err(e) => anyhow::bail!("expected a migration error, got {e:?}"),
        Ok(_) => anyhow::bail!("a database with an edited migration must not open"),
    }
    Ok(())
}

pub async fn several_processes_opening_a_new_database_all_succeed(s: Scratch) -> Result<()> {
    let url = s.empty_database_url(s.engine()).await?;
    // Four stores stand for four processes: app servers on PostgreSQL, or
    // `serve` beside a CLI command on SQLite. Joined in one task: an async
    // block awaiting `Store::connect` cannot be spawned (rustc #102211).
    let (a, b, c, d) =
        tokio::join!(Store::connect(&url), Store::connect(&url), Store::connect(&url), Store::connect(&url));
    let mut stores = Vec::new();
    for start in [a, b, c, d] {
        let store = start.context("a process starting beside others failed")?;
        s.keep(&store);
        stores.push(store);
    }
    let known = store::migration_names().len() as i64;
    assert_eq!(rows_in(&stores[0], "schema_migrations").await?, known, "each migration applied once");
    assert_eq!(roles::list(&stores[0]).await?.len(), BUILTIN_ROLES.len(), "each built-in role once");
    assert_eq!(rows_in(&stores[0], "company_profile").await?, 1);
    Ok(())
}

/// Checks that exactly one audit row was added since `before` rows, and that
/// it describes `action` on `entity` `entity_id`. Returns the new count.
async fn one_more_audit_row(store: &Store, before: i64, action: Action, entity: &str, entity_id: &str) -> Result<i64> {
    let now = rows_in(store, "audit_log").await?;
    ensure!(
        now == before + 1,
        "expected one new audit row for {action:?} {entity} {entity_id}, found {}",
        now - before
    );
    let row = latest_audit(store).await?;
    assert_eq!(
        (row.action.as_str(), row.entity.as_str(), row.entity_id.as_deref()),
        (action.code(), entity, Some(entity_id)),
        "the newest audit row describes the change"
    );
    Ok(now)
}

pub async fn every_change_is_audited_in_its_own_transaction(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let admin = add_staff(&store, "admin", "管理员", "admin", None).await?;
    let by = acting(&admin);
    let sales = role(&store, "sales").await?;
    let mut n = rows_in(&store, "audit_log").await?;

    // Who acted is recorded with the change.
    let mut tx = store.begin().await?;
    let east = teams::create(&mut tx, &by, "华东分公司", None, None).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Create, "team", &east.to_string()).await?;
    let row = latest_audit(&store).await?;
    assert_eq!(row.actor_id, Some(admin.id.0));
    assert_eq!(row.actor_name, "管理员");
    assert_eq!(row.ip.as_deref(), Some("10.0.0.9"));
    assert_eq!(row.request_id, by.request_id);

    let mut tx = store.begin().await?;
    let team = teams::update(&mut tx, &by, east, 1, "华东大区", None, Some(admin.id)).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Update, "team", &east.to_string()).await?;
    let changed: BTreeSet<String> = latest_audit(&store).await?.changes.into_iter().map(|c| c.field).collect();
    assert_eq!(changed, ["manager_id", "name"].map(String::from).into(), "only changed fields are listed");

    let mut tx = store.begin().await?;
    let uid = users::create(&mut tx, &by, &new_user("wangfang", "王芳", sales, Some(east))).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Create, "user", &uid.to_string()).await?;

    let user = users::get(&store, uid).await?;
    let mut tx = store.begin().await?;
    users::update(&mut tx, &by, uid, user.version, &Changes { display_name: "王芳芳".into(), ..Changes::from(&user) })
        .await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Update, "user", &uid.to_string()).await?;

    let mut tx = store.begin().await?;
    users::set_password(&mut tx, &by, uid, "$argon2id$new", None).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Update, "user", &uid.to_string()).await?;

    let mut tx = store.begin().await?;
    let (token, _) = tokens::create(&mut tx, &by, uid, "同步脚本", None).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Create, "api_token", &token.to_string()).await?;
    let mut tx = store.begin().await?;
    tokens::revoke(&mut tx, &by, uid, token).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Delete, "api_token", &token.to_string()).await?;

    let user = users::get(&store, uid).await?;
    let mut tx = store.begin().await?;
    users::update(&mut tx, &by, uid, user.version, &Changes { active: false, ..Changes::from(&user) }).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Delete, "user", &uid.to_string()).await?;

    let mut tx = store.begin().await?;
    let role_id = roles::create(&mut tx, &by, "visa_desk", "签证专员", "Visa desk").await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Create, "role", &role_id.to_string()).await?;
    let mut tx = store.begin().await?;
    let grants = Grants([(Permission::DashboardView, Scope::All)].into());
    roles::update(&mut tx, &by, role_id, 1, "签证专员", "Visa desk", &grants).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Update, "role", &role_id.to_string()).await?;
    let row = latest_audit(&store).await?;
    assert_eq!(
        row.changes,
        vec![FieldChange { field: "grant:dashboard.view".into(), before: None, after: Some("all".into()) }]
    );

    let profile = settings::profile(&store).await?;
    let mut tx = store.begin().await?;
    settings::update_profile(&mut tx, &by, &settings::Profile { name: "云游旅行社".into(), ..profile }).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Update, "company_profile", "1").await?;

    let national_day = NaiveDate::from_ymd_opt(2026, 10, 1).context("date")?;
    let mut tx = store.begin().await?;
    let holiday = settings::add_holiday(&mut tx, &by, national_day, "国庆节", DayKind::Holiday).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Create, "holiday", &holiday.to_string()).await?;
    let mut tx = store.begin().await?;
    settings::delete_holiday(&mut tx, &by, holiday, 1).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Delete, "holiday", &holiday.to_string()).await?;

    let mut tx = store.begin().await?;
    let empty = teams::create(&mut tx, &by, "临时组", None, None).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Create, "team", &empty.to_string()).await?;
    let mut tx = store.begin().await?;
    teams::delete(&mut tx, &by, empty, 1).await?;
    tx.commit().await?;
    n = one_more_audit_row(&store, n, Action::Delete, "team", &empty.to_string()).await?;

    audit::record_alone(&store, &by, Action::Export, "customer", "all", "exported 3 customers").await?;
    n = one_more_audit_row(&store, n, Action::Export, "customer", "all").await?;

    // A transaction that is rolled back leaves neither the changes nor
    // their audit rows, although both were visible inside it.
    let profile_before = settings::profile(&store).await?;
    let team_before = teams::get(&store, east).await?;
    let mut tx = store.begin().await?;
    let ghost = users::create(&mut tx, &by, &new_user("ghost", "幽灵", sales, None)).await?;
    teams::create(&mut tx, &by, "不存在的组", None, None).await?;
    teams::update(&mut tx, &by, east, team.version, "改名", None, None).await?;
    roles::create(&mut tx, &by, "ghost_role", "幽灵", "Ghost").await?;
    settings::add_holiday(&mut tx, &by, national_day, "国庆节", DayKind::Holiday).await?;
    settings::update_profile(&mut tx, &by, &settings::Profile { name: "改名旅行社".into(), ..profile_before.clone() })
        .await?;
    let inside: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&mut **tx).await?;
    assert_eq!(inside, n + 6, "the transaction sees its own audit rows");
    drop(tx);

    assert_eq!(rows_in(&store, "audit_log").await?, n, "no audit row survives a rollback");
    assert!(users::for_login(&store, "ghost").await?.is_none());
    assert!(matches!(users::get(&store, ghost).await, Err(StoreError::NotFound)));
    assert!(matches!(roles::by_code(&store, "ghost_role").await, Err(StoreError::NotFound)));
    assert!(teams::list(&store).await?.iter().all(|t| t.name != "不存在的组"));
    assert_eq!(teams::get(&store, east).await?.name, team_before.name);
    assert!(settings::holidays(&store, 2026).await?.is_empty());
    assert_eq!(settings::profile(&store).await?.name, profile_before.name);

    // A refused change leaves no audit row either.
    let mut tx = store.begin().await?;
    let err = users::create(&mut tx, &by, &new_user("wangfang", "另一个王芳", sales, None)).await.expect_err("dup");
    drop(tx);
    assert!(matches!(err, StoreError::Duplicate { field: "username" }), "{err:?}");
    assert_eq!(rows_in(&store, "audit_log").await?, n);
    Ok(())
}

pub async fn audit_trail_masks_sensitive_values(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let sales = role(&store, "sales").await?;
    let mut nu = new_user("wangfang", "王芳", sales, None);
    nu.email = Some("wang.fang@example.cn".into());
    nu.phone = Some("13812345678".into());
    let user = add_user(&store, &system(), &nu).await?;

    let created = latest_audit(&store).await?;
    let field = |row: &audit::AuditRow, name: &str| row.changes.iter().find(|c| c.field == name).cloned();
    assert_eq!(
        field(&created, "display_name"),
        Some(FieldChange { field: "display_name".into(), before: None, after: Some("王芳".into()) }),
        "plain fields are shown as they are"
    );
    assert_eq!(field(&created, "email").and_then(|c| c.after).as_deref(), Some("w***@example.cn"));
    assert_eq!(field(&created, "phone").and_then(|c| c.after).as_deref(), Some("138****5678"));
    assert_eq!(field(&created, "password").and_then(|c| c.after).as_deref(), Some("***"));

    let mut tx = store.begin().await?;
    let changes = Changes { phone: Some("13900001111".into()), ..Changes::from(&user) };
    users::update(&mut tx, &system(), user.id, user.version, &changes).await?;
    tx.commit().await?;
    let updated = latest_audit(&store).await?;
    assert_eq!(
        updated.changes,
        vec![FieldChange {
            field: "phone".into(),
            before: Some("138****5678".into()),
            after: Some("139****1111".into())
        }]
    );

    let mut tx = store.begin().await?;
    users::set_password(&mut tx, &system(), user.id, "$argon2id$v=19$secret-new-hash", None).await?;
    tx.commit().await?;
    let password = latest_audit(&store).await?;
    assert_eq!(
        password.changes,
        vec![FieldChange { field: "password".into(), before: Some("***".into()), after: Some("***".into()) }],
        "a password change shows only that it changed"
    );

    // The stored text itself never holds the clear values.
    let stored: Vec<String> = sqlx::query_scalar("SELECT changes FROM audit_log").fetch_all(store.pool()).await?;
    for text in &stored {
        for secret in ["13812345678", "13900001111", "wang.fang", UNUSABLE_HASH, "secret-new-hash"] {
            ensure!(!text.contains(secret), "audit changes hold {secret:?} in clear: {text}");
        }
    }
    Ok(())
}

pub async fn audit_trail_is_append_only(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    add_staff(&store, "wangfang", "王芳", "sales", None).await?;
    add_team(&store, "华东分公司", None).await?;
    let before = audit_trail(&store, &sees_all()).await?;
    ensure!(before.len() == 2, "two audit rows to start with, found {}", before.len());
    let target = before[0].id;

    let attempts = [
        ("UPDATE audit_log SET summary = 'tampered' WHERE id = $1", true),
        ("UPDATE audit_log SET actor_name = 'nobody'", false),
        ("DELETE FROM audit_log WHERE id = $1", true),
        ("DELETE FROM audit_log", false),
    ];
    for (sql, binds_id) in attempts {
        let mut q = sqlx::query(sql);
        if binds_id {
            q = q.bind(target);
        }
        match q.execute(store.pool()).await {
            Ok(done) => anyhow::bail!("{sql} succeeded ({} rows) on an append-only table", done.rows_affected()),
            Err(sqlx::Error::Database(e)) => {
                ensure!(e.message().contains("append-only"), "{sql} failed for another reason: {}", e.message())
            }
            Err(e) => anyhow::bail!("{sql} failed unexpectedly: {e}"),
        }
    }
    // Inside a write transaction too.
    let mut tx = store.begin().await?;
    let err = sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(target).execute(&mut **tx).await;
    ensure!(err.is_err(), "DELETE inside a transaction succeeded");
    drop(tx);
    if s.engine() == Engine::Postgres {
        let err = sqlx::query("TRUNCATE audit_log").execute(store.pool()).await;
        ensure!(err.is_err(), "TRUNCATE audit_log succeeded");
    }

    let after = audit_trail(&store, &sees_all()).await?;
    assert_eq!(serde_json::to_value(&after)?, serde_json::to_value(&before)?, "every audit row is unchanged");
    Ok(())
}

pub async fn concurrent_write_transactions_all_succeed(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let hq = add_team(&store, "总部", None).await?;
    let user = add_staff(&store, "wangfang", "王芳", "sales", Some(hq)).await?;

    // A second store on the same database stands for another process, such
    // as `keyuan user add` while the server runs.
    let other_process = s.connect(store.url()).await?;

    let mut writers = Vec::new();
    for i in 0..20 {
        let store = if i % 4 == 3 { other_process.clone() } else { store.clone() };
        writers.push(tokio::spawn(async move {
            let mut tx = store.begin().await?;
            let id = teams::create(&mut tx, &system(), &format!("门店{i:02}"), Some(hq), None).await?;
            tx.commit().await?;
            Ok::<TeamId, StoreError>(id)
        }));
    }
    // Readers and single-statement writers run at the same time.
    let mut others = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        others.push(tokio::spawn(async move {
            store::logins::record(&store, "wangfang", Some(user.id), Some("10.0.0.1"), None, i % 2 == 0, "ok").await?;
            users::list(&store, &users::Filter { limit: 10, ..Default::default() }).await?;
            teams::subtree(store.pool(), &[hq]).await?;
            Ok::<(), StoreError>(())
        }));
    }
    let mut created = BTreeSet::new();
    for w in writers {
        created.insert(w.await?.context("a concurrent write transaction failed")?);
    }
    for o in others {
        o.await?.context("a concurrent reader or login record failed")?;
    }
    assert_eq!(created.len(), 20, "twenty distinct teams");
    assert_eq!(teams::subtree(store.pool(), &[hq]).await?.len(), 21);
    let team_rows = audit::list(
        &store,
        &sees_all(),
        &audit::Filter { entity: Some("team".into()), limit: 100, ..Default::default() },
    )
    .await?;
    assert_eq!(team_rows.items.len(), 21, "one audit row per team");
    assert_eq!(rows_in(&store, "login_attempts").await?, 10);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ColumnKind {
    Integer,
    Text,
    Real,
}

fn column_kind(declared: &str) -> Result<ColumnKind> {
    let t = declared.to_lowercase();
    if t.contains("int") {
        Ok(ColumnKind::Integer)
    } else if t == "text" || t.contains("char") {
        Ok(ColumnKind::Text)
    } else if t == "real" || t == "double precision" {
        // Model outputs only (probabilities, expectations); never money.
        Ok(ColumnKind::Real)
    } else {
        anyhow::bail!("unexpected column type {declared:?} (the portable schema uses integers, text and doubles)")
    }
}

type Schema = BTreeMap<String, BTreeMap<String, ColumnKind>>;

async fn sqlite_schema(store: &Store) -> Result<Schema> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(store.pool())
    .await?;
    let mut schema = Schema::new();
    for t in tables {
        let cols =
            sqlx::query(&format!("SELECT name, type FROM pragma_table_info('{t}')")).fetch_all(store.pool()).await?;
        let mut map = BTreeMap::new();
        for c in cols {
            map.insert(c.try_get::<String, _>(0)?, column_kind(&c.try_get::<String, _>(1)?)?);
        }
        schema.insert(t, map);
    }
    Ok(schema)
}

async fn postgres_schema(store: &Store) -> Result<Schema> {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'",
    )
    .fetch_all(store.pool())
    .await?;
    let mut schema = Schema::new();
    for r in rows {
        schema
            .entry(r.try_get::<String, _>(0)?)
            .or_default()
            .insert(r.try_get::<String, _>(1)?, column_kind(&r.try_get::<String, _>(2)?)?);
    }
    Ok(schema)
}

pub async fn schemas_have_the_same_tables_and_columns(s: Scratch) -> Result<()> {
    let sqlite = s.new_store_on(Engine::Sqlite).await?;
    let postgres = s.new_store_on(Engine::Postgres).await?;
    let lite = sqlite_schema(&sqlite).await?;
    let pg = postgres_schema(&postgres).await?;
    for t in ["users", "audit_log", "schema_migrations", "company_profile"] {
        ensure!(lite.contains_key(t), "SQLite has no table {t}");
    }
    let lite_tables: BTreeSet<&String> = lite.keys().collect();
    let pg_tables: BTreeSet<&String> = pg.keys().collect();
    assert_eq!(lite_tables, pg_tables, "the same tables on both engines");
    for (table, cols) in &lite {
        let lite_cols: BTreeSet<&String> = cols.keys().collect();
        let pg_cols: BTreeSet<&String> = pg[table].keys().collect();
        assert_eq!(lite_cols, pg_cols, "the same columns in {table}");
        assert_eq!(cols, &pg[table], "the same kind (integer or text) of each column in {table}");
    }
    Ok(())
}
