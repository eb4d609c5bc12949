//! Browser sessions. The cookie holds a random token; the database holds
//! only its SHA-256, so a copy of the database cannot be used to log in.

use crate::{now_ms, Result, Store};
use base64_token::{hash, random_token};
use domain::ids::UserId;
use sqlx::{Any, Executor, Row};

pub(crate) mod base64_token {
    use rand::RngCore;
    use sha2::{Digest, Sha256};

    /// 32 random bytes as 64 hex characters.
    pub fn random_token() -> String {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        hex::encode(b)
    }

    /// The stored form of a token.
    pub fn hash(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stored id (hash of the cookie token).
    pub id: String,
    /// Whose session.
    pub user_id: UserId,
    /// The token forms must echo back.
    pub csrf_token: String,
    /// Last request, epoch ms.
    pub last_seen_at: i64,
    /// Absolute end, epoch ms.
    pub expires_at: i64,
}

/// Starts a session; returns the cookie token (shown once, never stored).
pub async fn create(
    store: &Store,
    user: UserId,
    lifetime_ms: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<(String, Session)> {
    let token = random_token();
    let id = hash(&token);
    let csrf = random_token();
    let now = now_ms();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, csrf_token, ip, user_agent, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(user.0)
    .bind(&csrf)
    .bind(ip)
    .bind(user_agent.map(|s| s.chars().take(300).collect::<String>()))
    .bind(now + lifetime_ms)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok((token, Session { id, user_id: user, csrf_token: csrf, last_seen_at: now, expires_at: now + lifetime_ms }))
}

/// The session for a cookie token, if it exists (expiry is checked by the caller).
pub async fn find(store: &Store, token: &str) -> Result<Option<Session>> {
    let row = sqlx::query("SELECT id, user_id, csrf_token, updated_at, expires_at FROM sessions WHERE id = $1")
        .bind(hash(token))
        .fetch_optional(store.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Session {
        id: r.try_get(0)?,
        user_id: UserId(r.try_get(1)?),
        csrf_token: r.try_get(2)?,
        last_seen_at: r.try_get(3)?,
        expires_at: r.try_get(4)?,
    }))
}

/// Records activity on a session (the idle clock restarts).
pub async fn touch(store: &Store, id: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE sessions SET updated_at = $1 WHERE id = $2").bind(now_ms()).bind(id).execute(&mut **tx).await?;
    tx.commit().await
}

/// Ends one session.
pub async fn delete(store: &Store, id: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&mut **tx).await?;
    tx.commit().await
}

/// Ends every session of `user`, except `keep` (a stored session id).
pub async fn delete_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user: UserId,
    keep: Option<&str>,
) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user.0)
        .bind(keep.unwrap_or(""))
        .execute(ex)
        .await?;
    Ok(())
}

/// Removes sessions past their absolute end or idle longer than `idle_ms`.
pub async fn purge(store: &Store, idle_ms: i64) -> Result<u64> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    let n = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR updated_at <= $2")
        .bind(now)
        .bind(now - idle_ms)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}
