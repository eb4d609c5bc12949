//! Saved list views: the last query each person used on a list page
//! (filters, sort, page size), so that coming back to the list without
//! parameters shows what they were looking at.
//!
//! A view is a preference, not a business record: it is not audited and has
//! no version; the last write wins.

use crate::{now_ms, Result, Store, Tx};
use domain::ids::UserId;

/// The saved query string of `user` on `list` (`customers` …), if any.
pub async fn get(store: &Store, user: UserId, list: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT query FROM saved_views WHERE user_id = $1 AND list = $2")
        .bind(user.0)
        .bind(list)
        .fetch_optional(store.pool())
        .await?)
}

/// Remembers `query` as the last view of `user` on `list`.
pub async fn save(tx: &mut Tx, user: UserId, list: &str, query: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO saved_views (user_id, list, query, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (user_id, list) DO UPDATE SET query = excluded.query, updated_at = excluded.updated_at",
    )
    .bind(user.0)
    .bind(list)
    .bind(query)
    .bind(now)
    .execute(&mut ***tx)
    .await?;
    Ok(())
}

/// Forgets the last view of `user` on `list`.
pub async fn clear(tx: &mut Tx, user: UserId, list: &str) -> Result<()> {
    sqlx::query("DELETE FROM saved_views WHERE user_id = $1 AND list = $2")
        .bind(user.0)
        .bind(list)
        .execute(&mut ***tx)
        .await?;
    Ok(())
}
