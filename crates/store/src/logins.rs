//! Login history and the counts that throttle password guessing.

use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{now_ms, Page, Result, Store};
use domain::ids::UserId;
use sqlx::Row;

/// One login attempt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    /// Id.
    pub id: i64,
    /// When, epoch ms.
    pub at: i64,
    /// The name typed.
    pub username: String,
    /// The account it matched, if any.
    pub user_id: Option<i64>,
    /// Client address.
    pub ip: Option<String>,
    /// Browser or client.
    pub user_agent: Option<String>,
    /// Whether it succeeded.
    pub success: bool,
    /// `ok`, `bad_password`, `unknown_user`, `inactive`, `throttled`.
    pub reason: String,
}

/// Records an attempt.
pub async fn record(
    store: &Store,
    username: &str,
    user: Option<UserId>,
    ip: Option<&str>,
    user_agent: Option<&str>,
    success: bool,
    reason: &str,
) -> Result<()> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO login_attempts (username, user_id, ip, user_agent, success, reason, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(username.chars().take(64).collect::<String>().to_lowercase())
    .bind(user.map(|u| u.0))
    .bind(ip)
    .bind(user_agent.map(|s| s.chars().take(300).collect::<String>()))
    .bind(i64::from(success))
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await
}

/// Failed attempts since `since_ms` for this username and from this address.
pub async fn recent_failures(store: &Store, username: &str, ip: Option<&str>, since_ms: i64) -> Result<(i64, i64)> {
    let by_user: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND success = 0 AND created_at >= $2",
    )
    .bind(username.trim().to_lowercase())
    .bind(since_ms)
    .fetch_one(store.pool())
    .await?;
    let by_ip: i64 = match ip {
        Some(ip) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND success = 0 AND created_at >= $2")
                .bind(ip)
                .bind(since_ms)
                .fetch_one(store.pool())
                .await?
        }
        None => 0,
    };
    Ok((by_user, by_ip))
}

/// Filters for login history.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this account.
    pub user_id: Option<i64>,
    /// Only failures (false) or successes (true).
    pub success: Option<bool>,
    /// Page cursor.
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Login history, newest first, within `vis` (by the account's owner and
/// current team). Attempts on unknown usernames count as nobody's and are
/// visible only with the `all` scope.
pub async fn list(store: &Store, vis: &Visibility, f: &Filter) -> Result<Page<Attempt>> {
    let mut sql = Sql::new(
        "SELECT a.*, u.team_id AS team_id FROM login_attempts a LEFT JOIN users u ON u.id = a.user_id WHERE 1 = 1",
    );
    vis.restrict(&mut sql, "a.user_id", "u.team_id");
    if let Some(u) = f.user_id {
        sql.push(" AND a.user_id = ").bind(u);
    }
    if let Some(s) = f.success {
        sql.push(" AND a.success = ").bind(i64::from(s));
    }
    if let Some(b) = f.before {
        sql.push(" AND a.id < ").bind(b);
    }
    sql.push(" ORDER BY a.id DESC LIMIT ").bind(f.limit + 1);
    let rows = sql.query().fetch_all(store.pool()).await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(Attempt {
                id: r.try_get("id")?,
                at: r.try_get("created_at")?,
                username: r.try_get("username")?,
                user_id: r.try_get("user_id")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                success: r.try_get::<i64, _>("success")? != 0,
                reason: r.try_get("reason")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Page::from_rows(items, f.limit, |a| a.id))
}

/// Forgets attempts older than `keep_ms` (history is kept for a year by default).
pub async fn purge(store: &Store, keep_ms: i64) -> Result<u64> {
    let mut tx = store.begin().await?;
    let n = sqlx::query("DELETE FROM login_attempts WHERE created_at < $1")
        .bind(now_ms() - keep_ms)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}
