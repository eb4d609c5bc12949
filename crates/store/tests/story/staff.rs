//! Staff accounts: creating, finding, listing, editing and deactivating.

use super::fixtures::*;
use anyhow::{ensure, Result};
use domain::audit::Action;
use domain::ids::UserId;
use domain::user::Locale;
use std::collections::BTreeSet;
use store::users::{self, Changes, Filter, User};
use store::{audit, sessions, teams, tokens, Store, StoreError};

const HOUR_MS: i64 = 3_600_000;

/// The usernames a filter finds, in list order, checking the order is newest first.
async fn usernames(store: &Store, f: Filter) -> Result<Vec<String>> {
    let page = users::list(store, &Filter { limit: 100, ..f }).await?;
    ensure!(page.next.is_none(), "one page holds every match here");
    ensure!(page.items.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    Ok(page.items.into_iter().map(|u| u.username).collect())
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Walks the list `limit` at a time with the `next` cursor.
async fn walk_pages(store: &Store, limit: i64) -> Result<Vec<UserId>> {
    let mut seen = Vec::new();
    let mut before = None;
    for _ in 0..100 {
        let page = users::list(store, &Filter { before, limit, ..Default::default() }).await?;
        ensure!(page.items.len() as i64 <= limit, "a page is at most `limit` long");
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next {
            Some(n) => {
                ensure!(page.items.len() as i64 == limit, "only the last page is short");
                before = Some(n);
            }
            None => return Ok(seen),
        }
    }
    anyhow::bail!("paging with limit {limit} never ended")
}

pub async fn staff_accounts_are_created_found_listed_and_paged(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let east = add_team(&store, "华东分公司", None).await?;
    let north = add_team(&store, "华北分公司", None).await?;
    let sales = role(&store, "sales").await?;
    let manager = role(&store, "manager").await?;

    let mut nu = new_user("WangFang", "王芳", sales, Some(east));
    nu.email = Some("wang.fang@example.cn".into());
    nu.phone = Some("13812345678".into());
    nu.locale = Locale::En;
    let wang = add_user(&store, &system(), &nu).await?;
    assert_eq!(wang.username, "wangfang", "usernames are stored lower-case");
    assert_eq!(wang.display_name, "王芳");
    assert_eq!(wang.email.as_deref(), Some("wang.fang@example.cn"));
    assert_eq!(wang.phone.as_deref(), Some("13812345678"));
    assert_eq!((wang.role_id, wang.role_code.as_str(), wang.team_id), (sales, "sales", Some(east)));
    assert_eq!(wang.locale, Locale::En);
    assert!(wang.active);
    assert_eq!(wang.version, 1);
    assert_eq!(wang.last_login_at, None);
    assert!(wang.created_at > 0 && wang.updated_at == wang.created_at);

    // Logging in finds the account by its name, typed any way.
    let (found, hash) = users::for_login(&store, "  WANGFANG ").await?.expect("found by username");
    assert_eq!((found.id, hash.as_str()), (wang.id, UNUSABLE_HASH));
    assert!(users::for_login(&store, "nobody").await?.is_none());
    assert_eq!(users::password_hash(&store, wang.id).await?, UNUSABLE_HASH);
    assert!(matches!(users::password_hash(&store, UserId(999_999)).await, Err(StoreError::NotFound)));
    assert!(matches!(users::get(&store, UserId(999_999)).await, Err(StoreError::NotFound)));
    users::touch_login(&store, wang.id).await?;
    assert!(users::get(&store, wang.id).await?.last_login_at.is_some());

    // One account per username; references must exist.
    let mut tx = store.begin().await?;
    let err = users::create(&mut tx, &system(), &new_user("wangfang", "另一个王芳", sales, None))
        .await
        .expect_err("duplicate username");
    drop(tx);
    assert!(matches!(err, StoreError::Duplicate { field: "username" }), "{err:?}");
    let mut tx = store.begin().await?;
    let err = users::create(&mut tx, &system(), &new_user("nobody1", "无名", sales, Some(domain::ids::TeamId(999))))
        .await
        .expect_err("unknown team");
    drop(tx);
    assert!(matches!(&err, StoreError::Invalid(f) if f.0[0].field == "team_id"), "{err:?}");
    assert_eq!(users::count(&store).await?, 1);

    add_user(&store, &system(), &new_user("liming", "李明", manager, Some(north))).await?;
    let wangxm = add_user(&store, &system(), &new_user("wangxm", "王小明", sales, Some(east))).await?;
    add_user(&store, &system(), &new_user("alice", "Alice Wang", sales, None)).await?;
    add_user(&store, &system(), &new_user("zhao_lei", "赵磊", sales, Some(north))).await?;
    let mut tx = store.begin().await?;
    users::update(&mut tx, &system(), wangxm.id, 1, &Changes { active: false, ..Changes::from(&wangxm) }).await?;
    tx.commit().await?;

    let q = |q: &str| Filter { q: Some(q.into()), ..Default::default() };
    let found = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(found(usernames(&store, q("王")).await?), set(&["wangfang", "wangxm"]), "part of a Chinese name");
    assert_eq!(found(usernames(&store, q("小明")).await?), set(&["wangxm"]));
    assert_eq!(found(usernames(&store, q("WANG")).await?), set(&["wangfang", "wangxm", "alice"]), "any case");
    assert_eq!(found(usernames(&store, q(" 李明 ")).await?), set(&["liming"]));
    assert_eq!(found(usernames(&store, q("_")).await?), set(&["zhao_lei"]), "_ is not a wildcard");
    assert_eq!(found(usernames(&store, q("%")).await?), set(&[]), "% is not a wildcard");
    assert_eq!(found(usernames(&store, q("   ")).await?).len(), 5, "a blank search finds everyone");
    let by_role = Filter { role_id: Some(manager.0), ..Default::default() };
    assert_eq!(usernames(&store, by_role).await?, vec!["liming"]);
    let by_team = Filter { team_id: Some(east.0), ..Default::default() };
    assert_eq!(usernames(&store, by_team).await?, vec!["wangxm", "wangfang"]);
    let inactive = Filter { active: Some(false), ..Default::default() };
    assert_eq!(usernames(&store, inactive).await?, vec!["wangxm"]);
    let active_wang = Filter { q: Some("王".into()), active: Some(true), team_id: Some(east.0), ..Default::default() };
    assert_eq!(usernames(&store, active_wang).await?, vec!["wangfang"]);
    let active: Vec<String> = users::all_active(&store).await?.into_iter().map(|u| u.username).collect();
    assert_eq!(found(active), set(&["wangfang", "liming", "alice", "zhao_lei"]));

    // Keyset paging walks every account exactly once, whatever the page size.
    for i in 1..=11 {
        add_staff(&store, &format!("staff{i:02}"), &format!("员工{i:02}"), "front_desk", Some(north)).await?;
    }
    let everyone: Vec<UserId> =
        users::list(&store, &Filter { limit: 1000, ..Default::default() }).await?.items.iter().map(|u| u.id).collect();
    assert_eq!(everyone.len(), 16);
    for limit in [1, 3, 4, 5, 16, 17] {
        assert_eq!(walk_pages(&store, limit).await?, everyone, "paging {limit} at a time");
    }
    Ok(())
}

pub async fn stale_updates_change_nothing(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let user = add_staff(&store, "wangfang", "王芳", "sales", None).await?;
    let changes =
        Changes { display_name: "王芳芳".into(), email: Some("fang@example.cn".into()), ..Changes::from(&user) };

    let mut tx = store.begin().await?;
    let updated = users::update(&mut tx, &system(), user.id, 1, &changes).await?;
    tx.commit().await?;
    assert_eq!((updated.version, updated.display_name.as_str()), (2, "王芳芳"));
    assert_eq!(updated.email.as_deref(), Some("fang@example.cn"));
    assert!(updated.updated_at >= user.updated_at);

    // Someone who opened the form before that change saves over it.
    let audit_rows = rows_in(&store, "audit_log").await?;
    let mut tx = store.begin().await?;
    let err =
        users::update(&mut tx, &system(), user.id, 1, &Changes { display_name: "旧名".into(), ..changes.clone() })
            .await
            .expect_err("stale version");
    drop(tx);
    assert!(matches!(err, StoreError::Stale { current: 2 }), "{err:?}");
    let now = users::get(&store, user.id).await?;
    assert_eq!((now.version, now.display_name.as_str()), (2, "王芳芳"), "nothing changed");
    assert_eq!(rows_in(&store, "audit_log").await?, audit_rows, "and nothing was audited");

    let mut tx = store.begin().await?;
    let err = users::update(&mut tx, &system(), UserId(999_999), 1, &changes).await.expect_err("unknown user");
    drop(tx);
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let mut tx = store.begin().await?;
    let bad_team = Changes { team_id: Some(domain::ids::TeamId(999)), ..changes.clone() };
    let err = users::update(&mut tx, &system(), user.id, 2, &bad_team).await.expect_err("unknown team");
    drop(tx);
    assert!(matches!(&err, StoreError::Invalid(f) if f.0[0].field == "team_id"), "{err:?}");
    assert_eq!(users::get(&store, user.id).await?.version, 2);

    let mut tx = store.begin().await?;
    let err =
        teams::update(&mut tx, &system(), domain::ids::TeamId(999), 1, "无", None, None).await.expect_err("no team");
    drop(tx);
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    Ok(())
}

pub async fn deactivation_ends_access_but_keeps_history(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let east = add_team(&store, "华东分公司", None).await?;
    let wang = add_staff(&store, "wangfang", "王芳", "sales", Some(east)).await?;
    let li = add_staff(&store, "liming", "李明", "sales", Some(east)).await?;

    // Wang works for a while: a change of her own, two sessions, two tokens.
    let mut tx = store.begin().await?;
    teams::create(&mut tx, &acting(&wang), "上海销售一部", Some(east), None).await?;
    tx.commit().await?;
    let (wang_cookie_1, _) = sessions::create(&store, wang.id, HOUR_MS, Some("10.0.0.1"), Some("Firefox")).await?;
    let (wang_cookie_2, _) = sessions::create(&store, wang.id, HOUR_MS, None, None).await?;
    let (li_cookie, _) = sessions::create(&store, li.id, HOUR_MS, None, None).await?;
    let mut tx = store.begin().await?;
    let (_, wang_token_1) = tokens::create(&mut tx, &acting(&wang), wang.id, "报表", None).await?;
    let (_, wang_token_2) = tokens::create(&mut tx, &acting(&wang), wang.id, "同步", None).await?;
    let (_, li_token) = tokens::create(&mut tx, &acting(&li), li.id, "报表", None).await?;
    tx.commit().await?;
    let wang_rows_before = audit::list(
        &store,
        &sees_all(),
        &audit::Filter { actor_id: Some(wang.id.0), limit: 100, ..Default::default() },
    )
    .await?
    .items;
    assert_eq!(wang_rows_before.len(), 3, "a team and two tokens");

    let mut tx = store.begin().await?;
    let after =
        users::update(&mut tx, &system(), wang.id, wang.version, &Changes { active: false, ..Changes::from(&wang) })
            .await?;
    tx.commit().await?;
    assert!(!after.active);
    assert_eq!(after.version, wang.version + 1);

    // Her access ends at once …
    for cookie in [&wang_cookie_1, &wang_cookie_2] {
        assert!(sessions::find(&store, cookie).await?.is_none(), "her sessions are gone");
    }
    for token in [&wang_token_1, &wang_token_2] {
        assert!(tokens::authenticate(&store, token).await?.is_none(), "her tokens are revoked");
    }
    assert!(tokens::list_for_user(&store, wang.id).await?.iter().all(|t| t.revoked_at.is_some()));
    // … her colleague's does not …
    assert!(sessions::find(&store, &li_cookie).await?.is_some());
    assert_eq!(tokens::authenticate(&store, &li_token).await?.map(|(_, u)| u), Some(li.id));
    // … and her account and history stay.
    let kept: User = users::get(&store, wang.id).await?;
    assert_eq!((kept.username.as_str(), kept.active), ("wangfang", false));
    let (login_view, _) = users::for_login(&store, "wangfang").await?.expect("still found at login, to say why");
    assert!(!login_view.active);
    let wang_rows_after = audit::list(
        &store,
        &sees_all(),
        &audit::Filter { actor_id: Some(wang.id.0), limit: 100, ..Default::default() },
    )
    .await?
    .items;
    assert_eq!(serde_json::to_value(&wang_rows_after)?, serde_json::to_value(&wang_rows_before)?);
    let about_her = audit::list(
        &store,
        &sees_all(),
        &audit::Filter {
            entity: Some("user".into()),
            entity_id: Some(wang.id.to_string()),
            limit: 100,
            ..Default::default()
        },
    )
    .await?
    .items;
    let actions: Vec<&str> = about_her.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, vec!["delete", "create"], "her creation and deactivation, newest first");
    assert!(about_her[0].summary.contains("deactivated"), "{}", about_her[0].summary);
    let by_action = audit::list(
        &store,
        &sees_all(),
        &audit::Filter { action: Some(Action::Delete), entity: Some("user".into()), limit: 10, ..Default::default() },
    )
    .await?;
    assert_eq!(by_action.items.len(), 1);

    // Reactivating lets her log in again but brings no token back.
    let mut tx = store.begin().await?;
    let back =
        users::update(&mut tx, &system(), wang.id, after.version, &Changes { active: true, ..Changes::from(&after) })
            .await?;
    tx.commit().await?;
    assert!(back.active);
    assert!(tokens::authenticate(&store, &wang_token_1).await?.is_none());
    assert_eq!(latest_audit(&store).await?.action, "update");
    Ok(())
}

/// Resolves once another transaction on this database waits for a lock held
/// by ours. On SQLite the second writer waits for the process's write turn
/// before it reads anything, so there is nothing to wait for.
async fn second_writer_is_waiting(store: &Store) -> Result<()> {
    if store.backend() == store::Backend::Sqlite {
        return Ok(());
    }
    for _ in 0..100_000 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(store.pool())
        .await?;
        if waiting > 0 {
            return Ok(());
        }
        tokio::task::yield_now().await;
    }
    anyhow::bail!("the second save never waited for the first")
}

pub async fn simultaneous_saves_of_one_version_let_exactly_one_win(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let user = add_staff(&store, "wangfang", "王芳", "sales", None).await?;

    // Two managers opened the same form (version 1) and press save together:
    // the first save holds its transaction open while the second arrives.
    let mut first = store.begin().await?;
    users::update(&mut first, &system(), user.id, 1, &Changes { display_name: "王芳A".into(), ..Changes::from(&user) })
        .await?;
    let second = async {
        let mut tx = store.begin().await?;
        let saved = users::update(
            &mut tx,
            &system(),
            user.id,
            1,
            &Changes { display_name: "王芳B".into(), ..Changes::from(&user) },
        )
        .await;
        if saved.is_ok() {
            tx.commit().await?;
        }
        Ok::<_, anyhow::Error>(saved)
    };
    let finish_first = async {
        second_writer_is_waiting(&store).await?;
        first.commit().await?;
        Ok::<_, anyhow::Error>(())
    };
    let (second, first_done) = tokio::join!(second, finish_first);
    first_done?;
    let err = second?.expect_err("the second save of version 1 is stale");
    assert!(matches!(err, StoreError::Stale { current: 2 }), "{err:?}");
    let now = users::get(&store, user.id).await?;
    assert_eq!((now.display_name.as_str(), now.version), ("王芳A", 2), "the first save stands, once");

    // The same for the company profile.
    let profile = store::settings::profile(&store).await?;
    let mut first = store.begin().await?;
    let p = |name: &str| store::settings::Profile { name: name.into(), ..profile.clone() };
    store::settings::update_profile(&mut first, &system(), &p("甲旅行社")).await?;
    let second = async {
        let mut tx = store.begin().await?;
        let saved = store::settings::update_profile(&mut tx, &system(), &p("乙旅行社")).await;
        if saved.is_ok() {
            tx.commit().await?;
        }
        Ok::<_, anyhow::Error>(saved.map(|_| ()))
    };
    let finish_first = async {
        second_writer_is_waiting(&store).await?;
        first.commit().await?;
        Ok::<_, anyhow::Error>(())
    };
    let (second, first_done) = tokio::join!(second, finish_first);
    first_done?;
    let err = second?.expect_err("the second profile save is stale");
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
    assert_eq!(store::settings::profile(&store).await?.name, "甲旅行社");
    Ok(())
}
