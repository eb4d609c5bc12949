//! Revocable API tokens. Like sessions, only a hash is stored.

use crate::sessions::base64_token::{hash, random_token};
use crate::{audit, now_ms, Actor, Result, Store, StoreError, Tx};
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::ids::{TokenId, UserId};
use sqlx::Row;

/// Prefix that makes a Keyuan token recognisable in logs and secret scanners.
pub const PREFIX: &str = "kyt_";

/// A token as listed to its owner (never the secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Token {
    /// Id.
    pub id: TokenId,
    /// The owner's label.
    pub name: String,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last used, epoch ms.
    pub last_used_at: Option<i64>,
    /// Expiry, epoch ms.
    pub expires_at: Option<i64>,
    /// Revoked, epoch ms.
    pub revoked_at: Option<i64>,
}

/// Issues a token for `user`; returns the secret, shown once.
pub async fn create(
    tx: &mut Tx,
    actor: &Actor,
    user: UserId,
    name: &str,
    expires_at: Option<i64>,
) -> Result<(TokenId, String)> {
    let secret = format!("{PREFIX}{}", random_token());
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(user.0)
    .bind(name)
    .bind(hash(&secret))
    .bind(expires_at)
    .bind(now)
    .fetch_one(&mut ***tx)
    .await?;
    let mut c = ChangeSet::new();
    c.created("name", Some(name), Sensitivity::Plain);
    c.created("user_id", Some(&user.to_string()), Sensitivity::Plain);
    c.created("token", Some("issued"), Sensitivity::Secret);
    audit::record(tx, actor, Action::Create, "api_token", &id.to_string(), &format!("API token {name}"), &c).await?;
    Ok((TokenId(id), secret))
}

/// The owner of a live token (not revoked, not expired), noting its use.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<(TokenId, UserId)>> {
    let now = now_ms();
    let row = sqlx::query(
        "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(hash(secret))
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let id = TokenId(r.try_get(0)?);
    let last: Option<i64> = r.try_get(2)?;
    // A minute's precision is enough and spares a write per request.
    if last.is_none_or(|t| now - t > 60_000) {
        let mut tx = store.begin().await?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Some((id, UserId(r.try_get(1)?))))
}

/// The tokens of `user`, newest first.
pub async fn list_for_user(store: &Store, user: UserId) -> Result<Vec<Token>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at, expires_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user.0)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Token {
                id: TokenId(r.try_get(0)?),
                name: r.try_get(1)?,
                created_at: r.try_get(2)?,
                last_used_at: r.try_get(3)?,
                expires_at: r.try_get(4)?,
                revoked_at: r.try_get(5)?,
            })
        })
        .collect()
}

/// Revokes token `id` of `user`. Someone else's token is "not found".
pub async fn revoke(tx: &mut Tx, actor: &Actor, user: UserId, id: TokenId) -> Result<()> {
    let now = now_ms();
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(&mut ***tx)
        .await?;
    let name = name.ok_or(StoreError::NotFound)?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1, updated_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id.0)
        .execute(&mut ***tx)
        .await?;
    let mut c = ChangeSet::new();
    c.diff("revoked", None, Some("true"), Sensitivity::Plain);
    audit::record(tx, actor, Action::Delete, "api_token", &id.to_string(), &format!("API token {name} revoked"), &c)
        .await?;
    Ok(())
}

/// Revokes every live token of `user` (deactivation, a password reset by an
/// administrator); returns how many were live.
pub async fn revoke_all(tx: &mut Tx, user: UserId) -> Result<u64> {
    let now = now_ms();
    Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1, updated_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user.0)
        .execute(&mut ***tx)
        .await?
        .rows_affected())
}
