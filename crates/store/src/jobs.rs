//! Leases that make a scheduled job run on one server at a time, on either
//! engine, without advisory-lock support: a row claim with an expiry.

use crate::{now_ms, Result, Store};

/// Tries to take the lease of job `name` for `lease_ms`, if the job last
/// started at least `every_ms` ago. Returns whether this holder got it: of
/// several servers, one runs the job per interval. A holder that died loses
/// the lease when it expires.
pub async fn claim(store: &Store, name: &str, holder: &str, lease_ms: i64, every_ms: i64) -> Result<bool> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO job_locks (name, holder, locked_until, created_at, updated_at) VALUES ($1, NULL, 0, $2, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let taken = sqlx::query(
        "UPDATE job_locks SET holder = $1, locked_until = $2, last_started_at = $3, updated_at = $3 \
         WHERE name = $4 AND locked_until < $3 AND (last_started_at IS NULL OR last_started_at <= $5)",
    )
    .bind(holder)
    .bind(now + lease_ms)
    .bind(now)
    .bind(name)
    .bind(now - every_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(taken == 1)
}

/// Releases the lease after a run and records how it ended.
pub async fn finish(store: &Store, name: &str, holder: &str, error: Option<&str>) -> Result<()> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    sqlx::query(
        "UPDATE job_locks SET locked_until = 0, last_finished_at = $1, last_error = $2, updated_at = $1 \
         WHERE name = $3 AND holder = $4",
    )
    .bind(now)
    .bind(error)
    .bind(name)
    .bind(holder)
    .execute(&mut **tx)
    .await?;
    tx.commit().await
}
