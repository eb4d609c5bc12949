//! Staff accounts. Users are never deleted: deactivating one ends their
//! sessions and tokens and keeps everything they created.

use crate::sql::Sql;
use crate::{audit, now_ms, sessions, unique_as, Actor, Page, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{RoleId, TeamId, UserId};
use domain::user::{Locale, Username};
use domain::FieldError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A staff account as the application sees it (never with its hash).
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login name, lower-case.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// E-mail (escalations and notices go here).
    pub email: Option<String>,
    /// Work phone.
    pub phone: Option<String>,
    /// Role id.
    pub role_id: RoleId,
    /// Role code (`sales`).
    pub role_code: String,
    /// Team, if any.
    pub team_id: Option<TeamId>,
    /// Interface language.
    pub locale: Locale,
    /// Can log in.
    pub active: bool,
    /// Last successful login, epoch ms.
    pub last_login_at: Option<i64>,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
    /// Optimistic-lock version.
    pub version: i64,
}

const SELECT: &str = "SELECT u.*, r.code AS role_code FROM users u JOIN roles r ON r.id = u.role_id";

fn from_row(r: &AnyRow) -> Result<User, sqlx::Error> {
    let locale: String = r.try_get("locale")?;
    Ok(User {
        id: UserId(r.try_get("id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        role_id: RoleId(r.try_get("role_id")?),
        role_code: r.try_get("role_code")?,
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        locale: Locale::parse(&locale).unwrap_or_default(),
        active: r.try_get::<i64, _>("active")? != 0,
        last_login_at: r.try_get("last_login_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

/// What is needed to create an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Name shown.
    pub display_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Role.
    pub role_id: RoleId,
    /// Team.
    pub team_id: Option<TeamId>,
    /// Interface language.
    pub locale: Locale,
    /// Argon2id PHC string.
    pub password_hash: String,
}

async fn check_refs(tx: &mut Tx, role: RoleId, team: Option<TeamId>) -> Result<()> {
    let r: Option<i64> =
        sqlx::query_scalar("SELECT id FROM roles WHERE id = $1").bind(role.0).fetch_optional(&mut ***tx).await?;
    if r.is_none() {
        return Err(StoreError::invalid(FieldError::new("role_id", "not_found", "the role does not exist")));
    }
    if let Some(t) = team {
        let f: Option<i64> =
            sqlx::query_scalar("SELECT id FROM teams WHERE id = $1").bind(t.0).fetch_optional(&mut ***tx).await?;
        if f.is_none() {
            return Err(StoreError::invalid(FieldError::new("team_id", "not_found", "the team does not exist")));
        }
    }
    Ok(())
}

/// Creates an account.
pub async fn create(tx: &mut Tx, actor: &Actor, u: &NewUser) -> Result<UserId> {
    check_refs(tx, u.role_id, u.team_id).await?;
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, email, phone, role_id, team_id, locale, active, password_hash, \
         password_changed_at, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $9, $9, 1) RETURNING id",
    )
    .bind(u.username.as_str())
    .bind(u.display_name.as_str())
    .bind(u.email.as_deref())
    .bind(u.phone.as_deref())
    .bind(u.role_id.0)
    .bind(u.team_id.map(|t| t.0))
    .bind(u.locale.code())
    .bind(u.password_hash.as_str())
    .bind(now)
    .fetch_one(&mut ***tx)
    .await
    .map_err(unique_as("username"))?;
    let mut c = ChangeSet::new();
    c.created("username", Some(u.username.as_str()), Sensitivity::Plain);
    c.created("display_name", Some(&u.display_name), Sensitivity::Plain);
    c.created("email", u.email.as_deref(), Sensitivity::Personal);
    c.created("phone", u.phone.as_deref(), Sensitivity::Personal);
    c.created("role_id", Some(&u.role_id.to_string()), Sensitivity::Plain);
    c.created("team_id", u.team_id.map(|t| t.to_string()).as_deref(), Sensitivity::Plain);
    c.created("password", Some("set"), Sensitivity::Secret);
    audit::record(tx, actor, Action::Create, "user", &id.to_string(), &format!("user {}", u.username.as_str()), &c)
        .await?;
    Ok(UserId(id))
}

async fn fetch<'e, E: Executor<'e, Database = Any>>(ex: E, id: UserId) -> Result<User> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.id = $1")).bind(id.0).fetch_optional(ex).await?;
    Ok(from_row(&row.ok_or(StoreError::NotFound)?)?)
}

/// One account.
pub async fn get(store: &Store, id: UserId) -> Result<User> {
    fetch(store.pool(), id).await
}

/// One account, read inside a write transaction.
pub async fn get_in(tx: &mut Tx, id: UserId) -> Result<User> {
    fetch(&mut ***tx, id).await
}

/// The account and its password hash, for checking a login.
pub async fn for_login(store: &Store, username: &str) -> Result<Option<(User, String)>> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.username = $1"))
        .bind(username.trim().to_lowercase())
        .fetch_optional(store.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((from_row(&r)?, r.try_get("password_hash")?))),
    }
}

/// The password hash of `id`, to check the current password on a change.
pub async fn password_hash(store: &Store, id: UserId) -> Result<String> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)
}

/// Filters for the staff list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of the username or display name.
    pub q: Option<String>,
    /// Only this role.
    pub role_id: Option<i64>,
    /// Only this team.
    pub team_id: Option<i64>,
    /// Only active (true) or deactivated (false) accounts.
    pub active: Option<bool>,
    /// Page cursor: ids below this.
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// The staff list, newest first.
pub async fn list(store: &Store, f: &Filter) -> Result<Page<User>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let like = format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        sql.push(" AND (LOWER(u.username) LIKE ").bind(like.as_str()).push(" ESCAPE '\\'");
        sql.push(" OR LOWER(u.display_name) LIKE ").bind(like.as_str()).push(" ESCAPE '\\')");
    }
    if let Some(r) = f.role_id {
        sql.push(" AND u.role_id = ").bind(r);
    }
    if let Some(t) = f.team_id {
        sql.push(" AND u.team_id = ").bind(t);
    }
    if let Some(a) = f.active {
        sql.push(" AND u.active = ").bind(i64::from(a));
    }
    if let Some(b) = f.before {
        sql.push(" AND u.id < ").bind(b);
    }
    sql.push(" ORDER BY u.id DESC LIMIT ").bind(f.limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, f.limit, |u| u.id.0))
}

/// Every active account, by name (for pickers).
pub async fn all_active(store: &Store) -> Result<Vec<User>> {
    let rows =
        sqlx::query(&format!("{SELECT} WHERE u.active = 1 ORDER BY u.display_name")).fetch_all(store.pool()).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// How many accounts exist.
pub async fn count(store: &Store) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(store.pool()).await?)
}

/// The editable fields of an account.
#[derive(Debug, Clone)]
pub struct Changes {
    /// Name shown.
    pub display_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Role.
    pub role_id: RoleId,
    /// Team.
    pub team_id: Option<TeamId>,
    /// Interface language.
    pub locale: Locale,
    /// Can log in.
    pub active: bool,
}

impl From<&User> for Changes {
    fn from(u: &User) -> Self {
        Changes {
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            role_id: u.role_id,
            team_id: u.team_id,
            locale: u.locale,
            active: u.active,
        }
    }
}

/// Changes an account if `version` is current. Deactivating ends every
/// session and API token of the account at once.
pub async fn update(tx: &mut Tx, actor: &Actor, id: UserId, version: i64, ch: &Changes) -> Result<User> {
    let before = fetch(&mut ***tx, id).await?;
    if before.version != version {
        return Err(StoreError::Stale { current: before.version });
    }
    check_refs(tx, ch.role_id, ch.team_id).await?;
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE users SET display_name = $1, email = $2, phone = $3, role_id = $4, team_id = $5, locale = $6, \
         active = $7, updated_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
    )
    .bind(ch.display_name.as_str())
    .bind(ch.email.as_deref())
    .bind(ch.phone.as_deref())
    .bind(ch.role_id.0)
    .bind(ch.team_id.map(|t| t.0))
    .bind(ch.locale.code())
    .bind(i64::from(ch.active))
    .bind(now)
    .bind(id.0)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "users", id.0).await);
    }
    if before.active && !ch.active {
        sessions::delete_for_user(&mut ***tx, id, None).await?;
        crate::tokens::revoke_all(tx, id).await?;
    }
    let mut c = ChangeSet::new();
    c.diff("display_name", Some(&before.display_name), Some(&ch.display_name), Sensitivity::Plain);
    c.diff("email", before.email.as_deref(), ch.email.as_deref(), Sensitivity::Personal);
    c.diff("phone", before.phone.as_deref(), ch.phone.as_deref(), Sensitivity::Personal);
    c.diff("role_id", Some(&before.role_id.to_string()), Some(&ch.role_id.to_string()), Sensitivity::Plain);
    c.diff(
        "team_id",
        before.team_id.map(|t| t.to_string()).as_deref(),
        ch.team_id.map(|t| t.to_string()).as_deref(),
        Sensitivity::Plain,
    );
    c.diff("locale", Some(before.locale.code()), Some(ch.locale.code()), Sensitivity::Plain);
    c.diff(
        "active",
        Some(if before.active { "true" } else { "false" }),
        Some(if ch.active { "true" } else { "false" }),
        Sensitivity::Plain,
    );
    let action = if before.active && !ch.active { Action::Delete } else { Action::Update };
    let verb = if action == Action::Delete { "deactivated user" } else { "user" };
    audit::record(tx, actor, action, "user", &id.to_string(), &format!("{verb} {}", before.username), &c).await?;
    fetch(&mut ***tx, id).await
}

/// Sets a new password hash and ends every other session of the account.
pub async fn set_password(
    tx: &mut Tx,
    actor: &Actor,
    id: UserId,
    hash: &str,
    keep_session: Option<&str>,
) -> Result<()> {
    let before = fetch(&mut ***tx, id).await?;
    let now = now_ms();
    sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, version = version + 1 WHERE id = $3",
    )
    .bind(hash)
    .bind(now)
    .bind(id.0)
    .execute(&mut ***tx)
    .await?;
    sessions::delete_for_user(&mut ***tx, id, keep_session).await?;
    let mut c = ChangeSet::new();
    c.diff("password", Some("old"), Some("new"), Sensitivity::Secret);
    audit::record(tx, actor, Action::Update, "user", &id.to_string(), &format!("password of {}", before.username), &c)
        .await?;
    Ok(())
}

/// Notes a successful login.
pub async fn touch_login(store: &Store, id: UserId) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    tx.commit().await
}
