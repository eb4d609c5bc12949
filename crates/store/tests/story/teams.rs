//! The organisation tree and the one visibility rule built on it.

use super::fixtures::*;
use anyhow::{ensure, Result};
use domain::access::Scope;
use domain::audit::Action;
use domain::ids::{TeamId, UserId};
use std::collections::BTreeSet;
use store::users::{self, Changes, User};
use store::visibility::Visibility;
use store::{audit, teams, Store, StoreError};

/// 总部 → 华东分公司 → 上海销售一部, 上海销售二部; 总部 → 华北分公司.
struct Tree {
    hq: TeamId,
    east: TeamId,
    shanghai_1: TeamId,
    shanghai_2: TeamId,
    north: TeamId,
}

async fn build_tree(store: &Store) -> Result<Tree> {
    let hq = add_team(store, "总部", None).await?;
    let east = add_team(store, "华东分公司", Some(hq)).await?;
    let shanghai_1 = add_team(store, "上海销售一部", Some(east)).await?;
    let shanghai_2 = add_team(store, "上海销售二部", Some(east)).await?;
    let north = add_team(store, "华北分公司", Some(hq)).await?;
    Ok(Tree { hq, east, shanghai_1, shanghai_2, north })
}

async fn subtree(store: &Store, roots: &[TeamId]) -> Result<BTreeSet<TeamId>> {
    let ids = teams::subtree(store.pool(), roots).await?;
    let set: BTreeSet<TeamId> = ids.iter().copied().collect();
    ensure!(set.len() == ids.len(), "a subtree lists each team once: {ids:?}");
    Ok(set)
}

fn teams_set(ids: &[TeamId]) -> BTreeSet<TeamId> {
    ids.iter().copied().collect()
}

pub async fn team_tree_and_subtrees(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let t = build_tree(&store).await?;
    assert_eq!(subtree(&store, &[t.hq]).await?, teams_set(&[t.hq, t.east, t.shanghai_1, t.shanghai_2, t.north]));
    assert_eq!(subtree(&store, &[t.east]).await?, teams_set(&[t.east, t.shanghai_1, t.shanghai_2]));
    assert_eq!(subtree(&store, &[t.shanghai_1]).await?, teams_set(&[t.shanghai_1]));
    assert_eq!(subtree(&store, &[t.shanghai_1, t.north]).await?, teams_set(&[t.shanghai_1, t.north]));
    assert_eq!(subtree(&store, &[t.east, t.shanghai_1]).await?, teams_set(&[t.east, t.shanghai_1, t.shanghai_2]));
    assert!(subtree(&store, &[]).await?.is_empty());

    let east = teams::get(&store, t.east).await?;
    assert_eq!(
        (east.name.as_str(), east.parent_id, east.manager_id, east.version),
        ("华东分公司", Some(t.hq), None, 1)
    );
    assert_eq!(teams::list(&store).await?.len(), 5);

    // Bad input is refused, naming the field.
    for (name, parent, field) in
        [("  ", None, "name"), (&*"长".repeat(65), None, "name"), ("新组", Some(TeamId(999)), "parent_id")]
    {
        let mut tx = store.begin().await?;
        let err = teams::create(&mut tx, &system(), name, parent, None).await.expect_err("invalid team");
        drop(tx);
        assert!(matches!(&err, StoreError::Invalid(f) if f.0[0].field == field), "{field}: {err:?}");
    }
    let mut tx = store.begin().await?;
    let err = teams::create(&mut tx, &system(), "新组", None, Some(UserId(999))).await.expect_err("unknown manager");
    drop(tx);
    assert!(matches!(&err, StoreError::Invalid(f) if f.0[0].field == "manager_id"), "{err:?}");
    let trimmed = add_team(&store, "  华南分公司 ", Some(t.hq)).await?;
    assert_eq!(teams::get(&store, trimmed).await?.name, "华南分公司");

    // A person reaches their own team's subtree plus the subtrees they manage.
    let zhou = add_staff(&store, "zhou", "周经理", "manager", Some(t.shanghai_1)).await?;
    let north = teams::get(&store, t.north).await?;
    let mut tx = store.begin().await?;
    teams::update(&mut tx, &system(), t.north, north.version, &north.name, north.parent_id, Some(zhou.id)).await?;
    tx.commit().await?;
    assert_eq!(teams_set(&teams::reach_of(&store, zhou.id, zhou.team_id).await?), teams_set(&[t.shanghai_1, t.north]));
    assert!(teams::reach_of(&store, UserId(12345), None).await?.is_empty(), "no team, managing nothing");
    Ok(())
}

/// `user` does something that leaves an audit row of their own.
async fn acts(store: &Store, user: &User) -> Result<()> {
    let user = users::get(store, user.id).await?;
    audit::record_alone(store, &acting(&user), Action::Export, "customer", "all", "exported customers").await?;
    Ok(())
}

/// The actors of the audit rows `user` sees with `scope`.
async fn actors_seen(store: &Store, user: &User, scope: Scope) -> Result<BTreeSet<Option<UserId>>> {
    let user = users::get(store, user.id).await?;
    let vis = Visibility::resolve(store, user.id, user.team_id, scope).await?;
    Ok(audit_trail(store, &vis).await?.into_iter().map(|r| r.actor_id.map(UserId)).collect())
}

fn who(users: &[&User]) -> BTreeSet<Option<UserId>> {
    users.iter().map(|u| Some(u.id)).collect()
}

pub async fn audit_visibility_follows_scope_and_team_tree(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let t = build_tree(&store).await?;
    let boss = add_staff(&store, "boss", "总经理", "admin", Some(t.hq)).await?;
    let east_manager = add_staff(&store, "chen", "陈经理", "manager", Some(t.east)).await?;
    let sales_1 = add_staff(&store, "wangfang", "王芳", "sales", Some(t.shanghai_1)).await?;
    let sales_2 = add_staff(&store, "liming", "李明", "sales", Some(t.shanghai_2)).await?;
    let north_sales = add_staff(&store, "zhaolei", "赵磊", "sales", Some(t.north)).await?;
    let loner = add_staff(&store, "loner", "无组员工", "manager", None).await?;
    for u in [&boss, &east_manager, &sales_1, &sales_2, &north_sales, &loner] {
        acts(&store, u).await?;
    }

    let vis = Visibility::resolve(&store, east_manager.id, east_manager.team_id, Scope::Team).await?;
    assert_eq!(teams_set(&vis.teams), teams_set(&[t.east, t.shanghai_1, t.shanghai_2]));
    assert_eq!(
        actors_seen(&store, &east_manager, Scope::Team).await?,
        who(&[&east_manager, &sales_1, &sales_2]),
        "a manager with the team scope sees their subtree only"
    );
    assert_eq!(actors_seen(&store, &north_sales, Scope::Team).await?, who(&[&north_sales]));
    assert_eq!(actors_seen(&store, &sales_1, Scope::Team).await?, who(&[&sales_1]), "a leaf team sees itself");
    assert_eq!(actors_seen(&store, &loner, Scope::Team).await?, who(&[&loner]), "no team: only their own rows");
    assert_eq!(actors_seen(&store, &sales_2, Scope::Own).await?, who(&[&sales_2]));
    assert!(Visibility::resolve(&store, sales_2.id, sales_2.team_id, Scope::Own).await?.teams.is_empty());

    let everything = audit_trail(&store, &sees_all()).await?;
    assert_eq!(everything.len() as i64, rows_in(&store, "audit_log").await?);
    let all_seen = actors_seen(&store, &boss, Scope::All).await?;
    assert!(all_seen.contains(&None), "all includes what the system did");
    assert_eq!(all_seen.len(), 7, "six people and the system");

    // The own scope sees exactly their rows, also through the filters.
    let vis_own = Visibility::resolve(&store, sales_1.id, sales_1.team_id, Scope::Own).await?;
    let own = audit_trail(&store, &vis_own).await?;
    assert_eq!(own.len(), 1);
    let peek =
        audit::list(&store, &vis_own, &audit::Filter { actor_id: Some(sales_2.id.0), limit: 10, ..Default::default() })
            .await?;
    assert!(peek.items.is_empty(), "a filter cannot widen what the scope shows");

    // Rows follow the actor's team at the time: after Li moves north, his
    // earlier row stays with East and his new one goes with North.
    let mut tx = store.begin().await?;
    users::update(
        &mut tx,
        &system(),
        sales_2.id,
        sales_2.version,
        &Changes { team_id: Some(t.north), ..Changes::from(&sales_2) },
    )
    .await?;
    tx.commit().await?;
    acts(&store, &sales_2).await?;
    let vis = Visibility::resolve(&store, east_manager.id, east_manager.team_id, Scope::Team).await?;
    let li_rows_seen_by_east =
        audit_trail(&store, &vis).await?.into_iter().filter(|r| r.actor_id == Some(sales_2.id.0)).count();
    assert_eq!(li_rows_seen_by_east, 1, "East sees Li's row from his East days only");
    let vis = Visibility::resolve(&store, north_sales.id, north_sales.team_id, Scope::Team).await?;
    let li_rows_seen_by_north =
        audit_trail(&store, &vis).await?.into_iter().filter(|r| r.actor_id == Some(sales_2.id.0)).count();
    assert_eq!(li_rows_seen_by_north, 1, "North sees the row Li made there");

    // Paging under a scope walks exactly the visible rows.
    let vis = Visibility::resolve(&store, east_manager.id, east_manager.team_id, Scope::Team).await?;
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = audit::list(&store, &vis, &audit::Filter { before, limit: 1, ..Default::default() }).await?;
        paged.extend(page.items.iter().map(|r| r.id));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    let whole: Vec<i64> = audit_trail(&store, &vis).await?.iter().map(|r| r.id).collect();
    assert_eq!(paged, whole);
    Ok(())
}

fn is_invalid(err: &StoreError, field: &str, code: &str) -> bool {
    matches!(err, StoreError::Invalid(f) if f.0.iter().any(|e| e.field == field && e.code == code))
}

pub async fn team_moves_and_deletes_are_checked(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let t = build_tree(&store).await?;

    // A team cannot move below itself or its own descendants.
    for (team, new_parent) in [(t.east, t.shanghai_1), (t.east, t.east), (t.hq, t.north), (t.hq, t.shanghai_2)] {
        let before = teams::get(&store, team).await?;
        let mut tx = store.begin().await?;
        let err = teams::update(&mut tx, &system(), team, before.version, &before.name, Some(new_parent), None)
            .await
            .expect_err("a cycle");
        drop(tx);
        assert!(is_invalid(&err, "parent_id", "cycle"), "{err:?}");
        let after = teams::get(&store, team).await?;
        assert_eq!((after.parent_id, after.version), (before.parent_id, before.version), "nothing changed");
    }
    assert_eq!(subtree(&store, &[t.east]).await?, teams_set(&[t.east, t.shanghai_1, t.shanghai_2]));

    let mut tx = store.begin().await?;
    let err = teams::update(&mut tx, &system(), t.east, 7, "华东", Some(t.hq), None).await.expect_err("stale");
    drop(tx);
    assert!(matches!(err, StoreError::Stale { current: 1 }), "{err:?}");

    // A legitimate move re-shapes the subtrees.
    let mut tx = store.begin().await?;
    let moved = teams::update(&mut tx, &system(), t.shanghai_2, 1, "上海销售二部", Some(t.north), None).await?;
    tx.commit().await?;
    assert_eq!((moved.parent_id, moved.version), (Some(t.north), 2));
    assert_eq!(subtree(&store, &[t.north]).await?, teams_set(&[t.north, t.shanghai_2]));
    assert_eq!(subtree(&store, &[t.east]).await?, teams_set(&[t.east, t.shanghai_1]));
    // … and a team may become a root.
    let mut tx = store.begin().await?;
    teams::update(&mut tx, &system(), t.north, 1, "华北分公司", None, None).await?;
    tx.commit().await?;
    assert_eq!(subtree(&store, &[t.hq]).await?, teams_set(&[t.hq, t.east, t.shanghai_1]));

    // A team with teams below it or members in it is not deleted.
    let member = add_staff(&store, "wangfang", "王芳", "sales", Some(t.shanghai_1)).await?;
    for team in [t.east, t.shanghai_1] {
        let version = teams::get(&store, team).await?.version;
        let mut tx = store.begin().await?;
        let err = teams::delete(&mut tx, &system(), team, version).await.expect_err("not empty");
        drop(tx);
        assert!(is_invalid(&err, "team", "not_empty"), "{err:?}");
        teams::get(&store, team).await?;
    }

    // Once empty, it is, with the current version only.
    let mut tx = store.begin().await?;
    users::update(&mut tx, &system(), member.id, member.version, &Changes { team_id: None, ..Changes::from(&member) })
        .await?;
    tx.commit().await?;
    let mut tx = store.begin().await?;
    let err = teams::delete(&mut tx, &system(), t.shanghai_1, 5).await.expect_err("stale");
    drop(tx);
    assert!(matches!(err, StoreError::Stale { current: 1 }), "{err:?}");
    let mut tx = store.begin().await?;
    teams::delete(&mut tx, &system(), t.shanghai_1, 1).await?;
    tx.commit().await?;
    assert!(matches!(teams::get(&store, t.shanghai_1).await, Err(StoreError::NotFound)));
    assert_eq!(subtree(&store, &[t.hq]).await?, teams_set(&[t.hq, t.east]));
    let mut tx = store.begin().await?;
    let err = teams::delete(&mut tx, &system(), t.shanghai_1, 1).await.expect_err("gone");
    drop(tx);
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let row = latest_audit(&store).await?;
    assert_eq!((row.action.as_str(), row.entity.as_str()), ("delete", "team"));
    Ok(())
}
