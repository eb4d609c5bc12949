//! Signing in: browser sessions, API tokens and the login history.

use super::fixtures::*;
use anyhow::{ensure, Result};
use domain::access::Scope;
use domain::ids::TokenId;
use std::collections::BTreeSet;
use store::visibility::Visibility;
use store::{logins, now_ms, sessions, tokens, users, Store, StoreError};

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// Makes a session look as if its last request was at `at` (epoch ms).
async fn last_seen_at(store: &Store, session_id: &str, at: i64) -> Result<()> {
    let done = sqlx::query("UPDATE sessions SET updated_at = $1 WHERE id = $2")
        .bind(at)
        .bind(session_id)
        .execute(store.pool())
        .await?;
    ensure!(done.rows_affected() == 1, "no session {session_id}");
    Ok(())
}

async fn is_live(store: &Store, cookie: &str) -> Result<bool> {
    Ok(sessions::find(store, cookie).await?.is_some())
}

pub async fn sessions_live_idle_and_expire(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let wang = add_staff(&store, "wangfang", "王芳", "sales", None).await?;

    let (cookie, session) = sessions::create(&store, wang.id, HOUR_MS, Some("10.0.0.1"), Some("Firefox")).await?;
    assert_eq!(cookie.len(), 64);
    assert_ne!(session.id, cookie, "only a hash of the cookie is stored");
    assert_eq!(session.expires_at, session.last_seen_at + HOUR_MS);
    let found = sessions::find(&store, &cookie).await?.expect("the new session is found");
    assert_eq!(
        (found.id.as_str(), found.user_id, found.csrf_token.as_str(), found.expires_at),
        (session.id.as_str(), wang.id, session.csrf_token.as_str(), session.expires_at)
    );
    assert!(sessions::find(&store, &session.id).await?.is_none(), "the stored id does not work as a cookie");
    assert!(sessions::find(&store, "not-a-cookie").await?.is_none());
    let clear: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id = $1 OR csrf_token = $1")
        .bind(&cookie)
        .fetch_one(store.pool())
        .await?;
    assert_eq!(clear, 0, "the cookie itself is nowhere in the database");

    // Activity restarts the idle clock.
    last_seen_at(&store, &session.id, 1_000).await?;
    assert_eq!(sessions::find(&store, &cookie).await?.map(|s| s.last_seen_at), Some(1_000));
    let before_touch = now_ms();
    sessions::touch(&store, &session.id).await?;
    let touched = sessions::find(&store, &cookie).await?.expect("still there");
    assert!(touched.last_seen_at >= before_touch, "touch records the time of the request");

    // Purging ends idle sessions and sessions past their absolute end.
    let (fresh, _) = sessions::create(&store, wang.id, HOUR_MS, None, None).await?;
    let (idle, idle_session) = sessions::create(&store, wang.id, HOUR_MS, None, None).await?;
    last_seen_at(&store, &idle_session.id, now_ms() - 2 * HOUR_MS).await?;
    let (expired, _) = sessions::create(&store, wang.id, -MINUTE_MS, None, None).await?;
    assert_eq!(sessions::purge(&store, 30 * MINUTE_MS).await?, 2);
    assert!(is_live(&store, &cookie).await? && is_live(&store, &fresh).await?);
    assert!(!is_live(&store, &idle).await?, "idle for two hours");
    assert!(!is_live(&store, &expired).await?, "past its absolute end");
    assert_eq!(sessions::purge(&store, 30 * MINUTE_MS).await?, 0);

    // Signing out ends one session only.
    sessions::delete(&store, &session.id).await?;
    assert!(!is_live(&store, &cookie).await?);
    assert!(is_live(&store, &fresh).await?);
    sessions::delete(&store, &session.id).await?;

    // A huge user agent is cut to 300 characters.
    let (_, long) = sessions::create(&store, wang.id, HOUR_MS, None, Some(&"浏览器".repeat(400))).await?;
    let len: i64 = sqlx::query_scalar("SELECT LENGTH(user_agent) FROM sessions WHERE id = $1")
        .bind(&long.id)
        .fetch_one(store.pool())
        .await?;
    assert_eq!(len, 300);
    Ok(())
}

pub async fn password_change_keeps_only_the_current_session(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let wang = add_staff(&store, "wangfang", "王芳", "sales", None).await?;
    let li = add_staff(&store, "liming", "李明", "sales", None).await?;
    let (laptop, _) = sessions::create(&store, wang.id, HOUR_MS, None, None).await?;
    let (phone, phone_session) = sessions::create(&store, wang.id, HOUR_MS, None, None).await?;
    let (tablet, _) = sessions::create(&store, wang.id, HOUR_MS, None, None).await?;
    let (colleague, _) = sessions::create(&store, li.id, HOUR_MS, None, None).await?;

    // Wang changes her password on her phone.
    let mut tx = store.begin().await?;
    users::set_password(&mut tx, &acting(&wang), wang.id, "$argon2id$second", Some(&phone_session.id)).await?;
    tx.commit().await?;
    assert_eq!(users::password_hash(&store, wang.id).await?, "$argon2id$second");
    assert!(is_live(&store, &phone).await?, "the session that changed the password stays");
    assert!(!is_live(&store, &laptop).await? && !is_live(&store, &tablet).await?, "her other sessions end");
    assert!(is_live(&store, &colleague).await?, "nobody else is signed out");

    // An administrator resets it: every session of hers ends.
    let mut tx = store.begin().await?;
    users::set_password(&mut tx, &system(), wang.id, "$argon2id$third", None).await?;
    tx.commit().await?;
    assert!(!is_live(&store, &phone).await?);
    assert!(is_live(&store, &colleague).await?);
    Ok(())
}

pub async fn api_tokens_authenticate_until_revoked(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let wang = add_staff(&store, "wangfang", "王芳", "sales", None).await?;
    let li = add_staff(&store, "liming", "李明", "sales", None).await?;

    let mut tx = store.begin().await?;
    let (id, secret) = tokens::create(&mut tx, &acting(&wang), wang.id, "报表脚本", None).await?;
    tx.commit().await?;
    assert!(secret.starts_with(tokens::PREFIX) && secret.len() == tokens::PREFIX.len() + 64, "{secret}");
    assert_eq!(tokens::authenticate(&store, &secret).await?, Some((id, wang.id)));
    let listed = tokens::list_for_user(&store, wang.id).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].name.as_str()), (id, "报表脚本"));
    assert!(listed[0].last_used_at.is_some(), "use is noted");
    assert!(listed[0].revoked_at.is_none());
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(&secret)
        .fetch_one(store.pool())
        .await?;
    assert_eq!(stored, 0, "only a hash of the secret is stored");
    let forged = format!("{}{}", tokens::PREFIX, "0".repeat(64));
    assert_eq!(tokens::authenticate(&store, &forged).await?, None);

    // Someone else's token is "not found" to Li, and keeps working.
    let mut tx = store.begin().await?;
    let err = tokens::revoke(&mut tx, &acting(&li), li.id, id).await.expect_err("not Li's token");
    drop(tx);
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(tokens::authenticate(&store, &secret).await?.is_some());
    let mut tx = store.begin().await?;
    let err = tokens::revoke(&mut tx, &acting(&wang), wang.id, TokenId(999_999)).await.expect_err("no such token");
    drop(tx);
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // Wang revokes it; it stops working at once.
    let mut tx = store.begin().await?;
    tokens::revoke(&mut tx, &acting(&wang), wang.id, id).await?;
    tx.commit().await?;
    assert_eq!(tokens::authenticate(&store, &secret).await?, None);
    assert!(tokens::list_for_user(&store, wang.id).await?[0].revoked_at.is_some());

    // Expiry is honoured.
    let mut tx = store.begin().await?;
    let (_, expired) = tokens::create(&mut tx, &acting(&wang), wang.id, "旧脚本", Some(now_ms() - 1)).await?;
    let (later_id, later) =
        tokens::create(&mut tx, &acting(&wang), wang.id, "新脚本", Some(now_ms() + HOUR_MS)).await?;
    tx.commit().await?;
    assert_eq!(tokens::authenticate(&store, &expired).await?, None);
    assert_eq!(tokens::authenticate(&store, &later).await?, Some((later_id, wang.id)));
    let names: Vec<String> = tokens::list_for_user(&store, wang.id).await?.into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["新脚本", "旧脚本", "报表脚本"], "newest first");
    assert!(tokens::list_for_user(&store, li.id).await?.is_empty());
    Ok(())
}

pub async fn login_attempts_are_counted_and_listed_by_visibility(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let east = add_team(&store, "华东分公司", None).await?;
    let shanghai = add_team(&store, "上海销售一部", Some(east)).await?;
    let north = add_team(&store, "华北分公司", None).await?;
    let manager = add_staff(&store, "chen", "陈经理", "manager", Some(east)).await?;
    let wang = add_staff(&store, "wangfang", "王芳", "sales", Some(shanghai)).await?;
    let zhao = add_staff(&store, "zhaolei", "赵磊", "sales", Some(north)).await?;

    let since = now_ms();
    for _ in 0..3 {
        logins::record(&store, "WangFang", Some(wang.id), Some("10.0.0.1"), Some("Firefox"), false, "bad_password")
            .await?;
    }
    logins::record(&store, "wangfang", Some(wang.id), Some("10.0.0.1"), Some("Firefox"), true, "ok").await?;
    for _ in 0..2 {
        logins::record(&store, "ghost", None, Some("10.0.0.1"), None, false, "unknown_user").await?;
    }
    logins::record(&store, "zhaolei", Some(zhao.id), Some("10.0.0.2"), None, false, "bad_password").await?;
    logins::record(&store, "chen", Some(manager.id), Some("10.0.0.3"), None, true, "ok").await?;

    // Failures are counted by the name typed and by the address.
    assert_eq!(logins::recent_failures(&store, " WANGFANG ", Some("10.0.0.1"), since).await?, (3, 5));
    assert_eq!(logins::recent_failures(&store, "wangfang", None, since).await?, (3, 0));
    assert_eq!(logins::recent_failures(&store, "ghost", Some("10.0.0.2"), since).await?, (2, 1));
    assert_eq!(logins::recent_failures(&store, "chen", Some("10.0.0.3"), since).await?, (0, 0));
    assert_eq!(logins::recent_failures(&store, "wangfang", Some("10.0.0.1"), now_ms() + HOUR_MS).await?, (0, 0));

    let all = logins::list(&store, &sees_all(), &logins::Filter { limit: 100, ..Default::default() }).await?.items;
    assert_eq!(all.len(), 8);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert!(all.iter().filter(|a| a.user_id == Some(wang.id.0)).all(|a| a.username == "wangfang"));
    let failures =
        logins::list(&store, &sees_all(), &logins::Filter { success: Some(false), limit: 100, ..Default::default() })
            .await?
            .items;
    assert_eq!(failures.len(), 6);
    assert!(failures.iter().all(|a| !a.success));

    // A manager with the team scope sees the accounts of their subtree,
    // never attempts on names that match nobody.
    let seen_by = |vis: Visibility| {
        let store = store.clone();
        async move {
            let items = logins::list(&store, &vis, &logins::Filter { limit: 100, ..Default::default() }).await?.items;
            Ok::<_, anyhow::Error>(items.into_iter().map(|a| a.username).collect::<Vec<_>>())
        }
    };
    let team = Visibility::resolve(&store, manager.id, manager.team_id, Scope::Team).await?;
    let names = seen_by(team).await?;
    assert_eq!(names.len(), 5);
    assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), ["chen", "wangfang"].map(String::from).into());
    let own = Visibility::resolve(&store, zhao.id, zhao.team_id, Scope::Own).await?;
    assert_eq!(seen_by(own).await?, vec!["zhaolei"]);
    let own_filtered = logins::list(
        &store,
        &Visibility::resolve(&store, zhao.id, zhao.team_id, Scope::Own).await?,
        &logins::Filter { user_id: Some(wang.id.0), limit: 100, ..Default::default() },
    )
    .await?;
    assert!(own_filtered.items.is_empty(), "a filter cannot widen the scope");

    // Paging walks every visible attempt once.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page =
            logins::list(&store, &sees_all(), &logins::Filter { before, limit: 3, ..Default::default() }).await?;
        paged.extend(page.items.iter().map(|a| a.id));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, all.iter().map(|a| a.id).collect::<Vec<_>>());

    // Old history is forgotten.
    assert_eq!(logins::purge(&store, HOUR_MS).await?, 0);
    assert_eq!(logins::purge(&store, -HOUR_MS).await?, 8);
    Ok(())
}
