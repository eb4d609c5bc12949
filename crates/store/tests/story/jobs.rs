//! Job leases: of several servers, one runs a scheduled job per interval.

use super::fixtures::*;
use anyhow::{ensure, Result};
use sqlx::Row;
use store::{jobs, now_ms, Store};

const LEASE_MS: i64 = 10 * 60_000;
const HOURLY_MS: i64 = 3_600_000;

/// The stored lease row: holder, locked_until, last_error, last_finished_at.
async fn lease(store: &Store, name: &str) -> Result<(Option<String>, i64, Option<String>, Option<i64>)> {
    let r = sqlx::query("SELECT holder, locked_until, last_error, last_finished_at FROM job_locks WHERE name = $1")
        .bind(name)
        .fetch_one(store.pool())
        .await?;
    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
}

pub async fn job_leases_let_one_holder_run_per_interval(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let job = "nightly-evaluation";

    assert!(jobs::claim(&store, job, "server-a", LEASE_MS, HOURLY_MS).await?, "the first claim wins");
    assert!(!jobs::claim(&store, job, "server-b", LEASE_MS, HOURLY_MS).await?, "B waits while A holds the lease");
    assert!(!jobs::claim(&store, job, "server-b", LEASE_MS, 0).await?, "even when the job is due again");
    assert!(!jobs::claim(&store, job, "server-a", LEASE_MS, 0).await?, "A cannot claim twice either");

    // Only the holder can release.
    jobs::finish(&store, job, "server-b", Some("not mine")).await?;
    let (holder, until, error, finished) = lease(&store, job).await?;
    assert_eq!((holder.as_deref(), error, finished), (Some("server-a"), None, None));
    assert!(until > now_ms(), "A still holds the lease");

    jobs::finish(&store, job, "server-a", None).await?;
    let (_, until, error, finished) = lease(&store, job).await?;
    assert_eq!((until, error), (0, None));
    assert!(finished.is_some());
    assert!(!jobs::claim(&store, job, "server-b", LEASE_MS, HOURLY_MS).await?, "the job ran less than an hour ago");
    assert!(jobs::claim(&store, job, "server-b", LEASE_MS, 0).await?, "with no interval it is due at once");
    assert_eq!(lease(&store, job).await?.0.as_deref(), Some("server-b"));
    jobs::finish(&store, job, "server-b", Some("smtp timeout")).await?;
    assert_eq!(lease(&store, job).await?.2.as_deref(), Some("smtp timeout"), "how the run ended is kept");

    // Jobs are independent of each other.
    assert!(jobs::claim(&store, "care-reminders", "server-a", LEASE_MS, HOURLY_MS).await?);

    // A holder that died loses its lease when the lease runs out.
    assert!(jobs::claim(&store, "outbox", "server-a", -1, 0).await?);
    assert!(jobs::claim(&store, "outbox", "server-b", LEASE_MS, 0).await?, "the expired lease is taken over");
    assert_eq!(lease(&store, "outbox").await?.0.as_deref(), Some("server-b"));
    Ok(())
}

pub async fn concurrent_claims_give_the_job_to_exactly_one_holder(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let mut claims = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        claims.push(tokio::spawn(async move {
            let holder = format!("server-{i}");
            let won = jobs::claim(&store, "daily-report", &holder, LEASE_MS, HOURLY_MS).await?;
            Ok::<_, store::StoreError>((holder, won))
        }));
    }
    let mut winners = Vec::new();
    for c in claims {
        let (holder, won) = c.await??;
        if won {
            winners.push(holder);
        }
    }
    ensure!(winners.len() == 1, "exactly one server runs the job, got {winners:?}");
    assert_eq!(lease(&store, "daily-report").await?.0, winners.pop());
    Ok(())
}
