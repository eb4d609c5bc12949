//! Teams and branches: a tree, each node with a manager.

use crate::{audit, now_ms, Actor, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{TeamId, UserId};
use domain::FieldError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A team or branch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Name (华东分公司, 上海销售一部).
    pub name: String,
    /// The team above, if any.
    pub parent_id: Option<TeamId>,
    /// The manager, if any.
    pub manager_id: Option<UserId>,
    /// Optimistic-lock version.
    pub version: i64,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
}

fn from_row(r: &AnyRow) -> Result<Team, sqlx::Error> {
    Ok(Team {
        id: TeamId(r.try_get("id")?),
        name: r.try_get("name")?,
        parent_id: r.try_get::<Option<i64>, _>("parent_id")?.map(TeamId),
        manager_id: r.try_get::<Option<i64>, _>("manager_id")?.map(UserId),
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Every team, by name.
pub async fn list(store: &Store) -> Result<Vec<Team>> {
    let rows = sqlx::query("SELECT * FROM teams ORDER BY name, id").fetch_all(store.pool()).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// How many accounts, active or not, each team has (teams without any are absent).
pub async fn member_counts(store: &Store) -> Result<std::collections::HashMap<TeamId, i64>> {
    let rows = sqlx::query("SELECT team_id, COUNT(*) FROM users WHERE team_id IS NOT NULL GROUP BY team_id")
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(|r| Ok((TeamId(r.try_get(0)?), r.try_get(1)?))).collect()
}

async fn fetch<'e, E: Executor<'e, Database = Any>>(ex: E, id: TeamId) -> Result<Team> {
    let row = sqlx::query("SELECT * FROM teams WHERE id = $1").bind(id.0).fetch_optional(ex).await?;
    Ok(from_row(&row.ok_or(StoreError::NotFound)?)?)
}

/// One team.
pub async fn get(store: &Store, id: TeamId) -> Result<Team> {
    fetch(store.pool(), id).await
}

/// `root` and every team below it.
pub async fn subtree<'e, E: Executor<'e, Database = Any>>(ex: E, roots: &[TeamId]) -> Result<Vec<TeamId>> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = crate::sql::Sql::new("WITH RECURSIVE sub(id) AS (SELECT id FROM teams WHERE id IN ");
    sql.bind_list(roots.iter().map(|t| t.0));
    // UNION (not UNION ALL) stops even if bad data ever formed a cycle.
    sql.push(" UNION SELECT t.id FROM teams t JOIN sub ON t.parent_id = sub.id) SELECT id FROM sub ORDER BY id");
    let ids: Vec<i64> = sql.query().fetch_all(ex).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    Ok(ids.into_iter().map(TeamId).collect())
}

/// The teams a person reaches with a team scope: their own team's subtree
/// and the subtrees of the teams they manage.
pub async fn reach_of(store: &Store, user: UserId, own_team: Option<TeamId>) -> Result<Vec<TeamId>> {
    let managed: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM teams WHERE manager_id = $1").bind(user.0).fetch_all(store.pool()).await?;
    let mut roots: Vec<TeamId> = managed.into_iter().map(TeamId).collect();
    roots.extend(own_team);
    subtree(store.pool(), &roots).await
}

fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(StoreError::invalid(FieldError::required("name")));
    }
    if n.chars().count() > 64 {
        return Err(StoreError::invalid(FieldError::new("name", "too_long", "name must have at most 64 characters")));
    }
    Ok(n.to_string())
}

async fn check_refs(tx: &mut Tx, parent: Option<TeamId>, manager: Option<UserId>) -> Result<()> {
    if let Some(p) = parent {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM teams WHERE id = $1").bind(p.0).fetch_optional(&mut ***tx).await?;
        if found.is_none() {
            return Err(StoreError::invalid(FieldError::new(
                "parent_id",
                "not_found",
                "the parent team does not exist",
            )));
        }
    }
    if let Some(m) = manager {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(m.0).fetch_optional(&mut ***tx).await?;
        if found.is_none() {
            return Err(StoreError::invalid(FieldError::new("manager_id", "not_found", "the manager does not exist")));
        }
    }
    Ok(())
}

fn opt_id(v: Option<i64>) -> Option<String> {
    v.map(|i| i.to_string())
}

/// Creates a team.
pub async fn create(
    tx: &mut Tx,
    actor: &Actor,
    name: &str,
    parent: Option<TeamId>,
    manager: Option<UserId>,
) -> Result<TeamId> {
    let name = check_name(name)?;
    check_refs(tx, parent, manager).await?;
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO teams (name, parent_id, manager_id, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $4, 1) RETURNING id",
    )
    .bind(&name)
    .bind(parent.map(|t| t.0))
    .bind(manager.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let mut c = ChangeSet::new();
    c.created("name", Some(&name), Sensitivity::Plain);
    c.created("parent_id", opt_id(parent.map(|t| t.0)).as_deref(), Sensitivity::Plain);
    c.created("manager_id", opt_id(manager.map(|u| u.0)).as_deref(), Sensitivity::Plain);
    audit::record(tx, actor, Action::Create, "team", &id.to_string(), &format!("team {name}"), &c).await?;
    Ok(TeamId(id))
}

/// Renames, moves or re-manages a team. A team cannot move below itself.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: TeamId,
    version: i64,
    name: &str,
    parent: Option<TeamId>,
    manager: Option<UserId>,
) -> Result<Team> {
    let before = fetch(&mut ***tx, id).await?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    let name = check_name(name)?;
    check_refs(tx, parent, manager).await?;
    if let Some(p) = parent {
        if subtree(&mut ***tx, &[id]).await?.contains(&p) {
            return Err(StoreError::invalid(FieldError::new(
                "parent_id",
                "cycle",
                "a team cannot be placed below itself or one of its own teams",
            )));
        }
    }
    let done = sqlx::query(
        "UPDATE teams SET name = $1, parent_id = $2, manager_id = $3, updated_at = $4, version = version + 1 \
         WHERE id = $5 AND version = $6",
    )
    .bind(&name)
    .bind(parent.map(|t| t.0))
    .bind(manager.map(|u| u.0))
    .bind(now_ms())
    .bind(id.0)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "teams", id.0).await);
    }
    let mut c = ChangeSet::new();
    c.diff("name", Some(&before.name), Some(&name), Sensitivity::Plain);
    c.diff(
        "parent_id",
        opt_id(before.parent_id.map(|t| t.0)).as_deref(),
        opt_id(parent.map(|t| t.0)).as_deref(),
        Sensitivity::Plain,
    );
    c.diff(
        "manager_id",
        opt_id(before.manager_id.map(|u| u.0)).as_deref(),
        opt_id(manager.map(|u| u.0)).as_deref(),
        Sensitivity::Plain,
    );
    audit::record(tx, actor, Action::Update, "team", &id.to_string(), &format!("team {name}"), &c).await?;
    fetch(&mut ***tx, id).await
}

/// Deletes an empty team (no members, no teams below it).
pub async fn delete(tx: &mut Tx, actor: &Actor, id: TeamId, version: i64) -> Result<()> {
    let before = fetch(&mut ***tx, id).await?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    let members: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE team_id = $1").bind(id.0).fetch_one(&mut ***tx).await?;
    let children: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM teams WHERE parent_id = $1").bind(id.0).fetch_one(&mut ***tx).await?;
    if members > 0 || children > 0 {
        return Err(StoreError::invalid(FieldError::new(
            "team",
            "not_empty",
            format!("the team still has {members} members and {children} teams below it; move them first"),
        )));
    }
    // Audit rows keep the team id as plain history, so deleting is safe.
    let done = sqlx::query("DELETE FROM teams WHERE id = $1 AND version = $2")
        .bind(id.0)
        .bind(version)
        .execute(&mut ***tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "teams", id.0).await);
    }
    let mut c = ChangeSet::new();
    c.diff("name", Some(&before.name), None, Sensitivity::Plain);
    audit::record(tx, actor, Action::Delete, "team", &id.to_string(), &format!("team {}", before.name), &c).await?;
    Ok(())
}

/// Every team, read inside a write transaction.
pub async fn list_in(tx: &mut Tx) -> Result<Vec<Team>> {
    let rows = sqlx::query("SELECT * FROM teams ORDER BY name, id").fetch_all(&mut ***tx).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}
