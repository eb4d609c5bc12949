//! Roles and their grants. Built-in roles are created with their defaults
//! once; after that, administrators edit them like any other role.

use crate::{audit, now_ms, unique_as, Actor, Result, Store, StoreError, Tx};
use domain::access::{builtin_role_names, default_grants, Grants, Permission, Scope, BUILTIN_ROLES};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::RoleId;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A role with its grants.
#[derive(Debug, Clone)]
pub struct Role {
    /// Id.
    pub id: RoleId,
    /// Stable code (`sales`).
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Shipped with Keyuan (cannot be deleted).
    pub builtin: bool,
    /// Optimistic-lock version.
    pub version: i64,
    /// What the role may do.
    pub grants: Grants,
}

fn from_row(r: &AnyRow) -> Result<Role, sqlx::Error> {
    Ok(Role {
        id: RoleId(r.try_get("id")?),
        code: r.try_get("code")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        builtin: r.try_get::<i64, _>("builtin")? != 0,
        version: r.try_get("version")?,
        grants: Grants::default(),
    })
}

pub(crate) async fn ensure_builtin(store: &Store) -> Result<()> {
    let mut tx = store.begin().await?;
    for code in BUILTIN_ROLES {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM roles WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
        if exists.is_some() {
            continue;
        }
        let (zh, en) = builtin_role_names(code).unwrap_or((code, code));
        let now = now_ms();
        // Another server starting at the same moment may have just added it.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO roles (code, name_zh, name_en, builtin, created_at, updated_at, version) \
             VALUES ($1, $2, $3, 1, $4, $4, 1) ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .bind(code)
        .bind(zh)
        .bind(en)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(id) = id {
            write_grants(&mut tx, RoleId(id), &default_grants(code)).await?;
        }
    }
    tx.commit().await
}

async fn write_grants(tx: &mut Tx, id: RoleId, grants: &Grants) -> Result<()> {
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1").bind(id.0).execute(&mut ***tx).await?;
    let now = now_ms();
    for (p, s) in &grants.0 {
        sqlx::query(
            "INSERT INTO role_permissions (role_id, permission, scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id.0)
        .bind(p.code())
        .bind(s.code())
        .bind(now)
        .execute(&mut ***tx)
        .await?;
    }
    Ok(())
}

/// The grants of role `id`. Codes this build does not know are ignored, so
/// an older server never grants what it cannot check.
pub async fn grants_of<'e, E: Executor<'e, Database = Any>>(ex: E, id: RoleId) -> Result<Grants> {
    let rows = sqlx::query("SELECT permission, scope FROM role_permissions WHERE role_id = $1")
        .bind(id.0)
        .fetch_all(ex)
        .await?;
    let mut g = Grants::default();
    for r in rows {
        let p: String = r.try_get(0)?;
        let s: String = r.try_get(1)?;
        if let (Some(p), Some(s)) = (Permission::from_code(&p), Scope::from_code(&s)) {
            g.0.insert(p, s);
        }
    }
    Ok(g)
}

/// Every role, built-in first.
pub async fn list(store: &Store) -> Result<Vec<Role>> {
    let rows = sqlx::query("SELECT * FROM roles ORDER BY builtin DESC, id").fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut role = from_row(r)?;
        role.grants = grants_of(store.pool(), role.id).await?;
        out.push(role);
    }
    Ok(out)
}

/// One role.
pub async fn get(store: &Store, id: RoleId) -> Result<Role> {
    let row = sqlx::query("SELECT * FROM roles WHERE id = $1")
        .bind(id.0)
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut role = from_row(&row)?;
    role.grants = grants_of(store.pool(), id).await?;
    Ok(role)
}

/// Finds a role by code.
pub async fn by_code(store: &Store, code: &str) -> Result<Role> {
    let id: i64 = sqlx::query_scalar("SELECT id FROM roles WHERE code = $1")
        .bind(code)
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    get(store, RoleId(id)).await
}

/// Creates a role with no grants: a new role starts with nothing.
pub async fn create(tx: &mut Tx, actor: &Actor, code: &str, name_zh: &str, name_en: &str) -> Result<RoleId> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO roles (code, name_zh, name_en, builtin, created_at, updated_at, version) \
         VALUES ($1, $2, $3, 0, $4, $4, 1) RETURNING id",
    )
    .bind(code)
    .bind(name_zh)
    .bind(name_en)
    .bind(now)
    .fetch_one(&mut ***tx)
    .await
    .map_err(unique_as("code"))?;
    let mut c = ChangeSet::new();
    c.created("code", Some(code), Sensitivity::Plain);
    c.created("name_zh", Some(name_zh), Sensitivity::Plain);
    c.created("name_en", Some(name_en), Sensitivity::Plain);
    audit::record(tx, actor, Action::Create, "role", &id.to_string(), &format!("role {code}"), &c).await?;
    Ok(RoleId(id))
}

/// Renames a role and replaces its grants, if `version` is current.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: RoleId,
    version: i64,
    name_zh: &str,
    name_en: &str,
    grants: &Grants,
) -> Result<()> {
    let row = sqlx::query("SELECT * FROM roles WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let before = from_row(&row)?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    let old = grants_of(&mut ***tx, id).await?;
    let done = sqlx::query(
        "UPDATE roles SET name_zh = $1, name_en = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND version = $5",
    )
    .bind(name_zh)
    .bind(name_en)
    .bind(now_ms())
    .bind(id.0)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "roles", id.0).await);
    }
    write_grants(tx, id, grants).await?;
    let mut c = ChangeSet::new();
    c.diff("name_zh", Some(&before.name_zh), Some(name_zh), Sensitivity::Plain);
    c.diff("name_en", Some(&before.name_en), Some(name_en), Sensitivity::Plain);
    for p in Permission::ALL {
        c.diff(
            &format!("grant:{}", p.code()),
            old.scope(p).map(Scope::code),
            grants.scope(p).map(Scope::code),
            Sensitivity::Plain,
        );
    }
    audit::record(tx, actor, Action::Update, "role", &id.to_string(), &format!("role {}", before.code), &c).await?;
    Ok(())
}
