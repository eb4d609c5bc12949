//! The append-only audit trail. Rows are only ever inserted, in the same
//! transaction as the change they describe; triggers on both engines refuse
//! updates and deletes, and no function here offers either.

use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{now_ms, Actor, Page, Result, Store, Tx};
use domain::audit::{Action, ChangeSet, FieldChange};
use domain::ids::AuditId;
use sqlx::any::AnyRow;
use sqlx::Row;

const INSERT_SQL: &str = "INSERT INTO audit_log (actor_id, actor_name, actor_team_id, action, entity, entity_id, \
     summary, changes, ip, request_id, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id";

/// [`record`] inside a write transaction of SQLite's own interface (see
/// `native`).
pub(crate) fn record_native(
    conn: &rusqlite::Connection,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: &str,
    summary: &str,
    changes: &ChangeSet,
) -> rusqlite::Result<AuditId> {
    let changes = serde_json::to_string(&changes.0).unwrap_or_else(|_| "[]".into());
    let id = conn.query_row(
        INSERT_SQL,
        rusqlite::params![
            actor.user_id.map(|u| u.0),
            actor.name.as_str(),
            actor.team_id.map(|t| t.0),
            action.code(),
            entity,
            entity_id,
            summary,
            changes,
            actor.ip.as_deref(),
            actor.request_id.as_deref(),
            now_ms(),
        ],
        |r| r.get(0),
    )?;
    Ok(AuditId(id))
}

/// Writes one audit row inside the caller's transaction.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: &str,
    summary: &str,
    changes: &ChangeSet,
) -> Result<AuditId> {
    let now = now_ms();
    let changes = serde_json::to_string(&changes.0).unwrap_or_else(|_| "[]".into());
    let id: i64 = sqlx::query_scalar(INSERT_SQL)
        .bind(actor.user_id.map(|u| u.0))
        .bind(actor.name.as_str())
        .bind(actor.team_id.map(|t| t.0))
        .bind(action.code())
        .bind(entity)
        .bind(entity_id)
        .bind(summary)
        .bind(changes)
        .bind(actor.ip.as_deref())
        .bind(actor.request_id.as_deref())
        .bind(now)
        .fetch_one(&mut ***tx)
        .await?;
    Ok(AuditId(id))
}

/// One audit row as read back.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    /// Id (ascending in time).
    pub id: i64,
    /// When, epoch ms.
    pub at: i64,
    /// Who (staff id), if a person.
    pub actor_id: Option<i64>,
    /// Who, as shown.
    pub actor_name: String,
    /// create, update, delete, export, reveal.
    pub action: String,
    /// Kind of record (`user`, `team`, `company_profile` …).
    pub entity: String,
    /// The record's id.
    pub entity_id: Option<String>,
    /// One line for people.
    pub summary: String,
    /// Field-level before/after, sensitive values masked.
    pub changes: Vec<FieldChange>,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

fn from_row(r: &AnyRow) -> Result<AuditRow, sqlx::Error> {
    let changes: String = r.try_get("changes")?;
    Ok(AuditRow {
        id: r.try_get("id")?,
        at: r.try_get("created_at")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        action: r.try_get("action")?,
        entity: r.try_get("entity")?,
        entity_id: r.try_get("entity_id")?,
        summary: r.try_get("summary")?,
        changes: serde_json::from_str(&changes).unwrap_or_default(),
        ip: r.try_get("ip")?,
        request_id: r.try_get("request_id")?,
    })
}

/// Filters for browsing the trail.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this staff member's actions.
    pub actor_id: Option<i64>,
    /// Only this kind of record.
    pub entity: Option<String>,
    /// Only this record.
    pub entity_id: Option<String>,
    /// Only this action.
    pub action: Option<Action>,
    /// From this instant (epoch ms, inclusive).
    pub from_ms: Option<i64>,
    /// Up to this instant (epoch ms, exclusive).
    pub to_ms: Option<i64>,
    /// Page cursor: rows with a smaller id.
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Browses the trail, newest first, within what `vis` allows (by the actor
/// and the actor's team at the time of the action).
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<Page<AuditRow>> {
    let mut sql = Sql::new("SELECT * FROM audit_log WHERE 1 = 1");
    vis.restrict(&mut sql, "actor_id", "actor_team_id");
    if let Some(a) = f.actor_id {
        sql.push(" AND actor_id = ").bind(a);
    }
    if let Some(e) = &f.entity {
        sql.push(" AND entity = ").bind(e.as_str());
    }
    if let Some(e) = &f.entity_id {
        sql.push(" AND entity_id = ").bind(e.as_str());
    }
    if let Some(a) = f.action {
        sql.push(" AND action = ").bind(a.code());
    }
    if let Some(t) = f.from_ms {
        sql.push(" AND created_at >= ").bind(t);
    }
    if let Some(t) = f.to_ms {
        sql.push(" AND created_at < ").bind(t);
    }
    if let Some(b) = f.before {
        sql.push(" AND id < ").bind(b);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(f.limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, f.limit, |r| r.id))
}

/// Writes an audit row in a transaction of its own, for events that change
/// nothing else (an export, a reveal).
pub async fn record_alone(
    store: &Store,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: &str,
    summary: &str,
) -> Result<AuditId> {
    let mut tx = store.begin().await?;
    let id = record(&mut tx, actor, action, entity, entity_id, summary, &ChangeSet::new()).await?;
    tx.commit().await?;
    Ok(id)
}
