//! Scheduled work inside `keyuan serve`.
//!
//! Each job has a name and an interval. Every server ticks; a job runs only
//! where its lease is claimed (store::jobs), so with several servers on one
//! PostgreSQL database each job still runs once per interval.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use store::Store;
use tokio::sync::watch;

type JobFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// One scheduled job.
pub struct Job {
    /// Unique name (the lease row).
    pub name: &'static str,
    /// How often it runs.
    pub every: Duration,
    /// The work; returns a one-line summary for the log.
    pub run: fn(Store) -> JobFuture,
}

/// The jobs every installation runs.
pub fn builtin() -> Vec<Job> {
    vec![
        Job { name: "purge_sessions", every: Duration::from_secs(10 * 60), run: purge_sessions },
        Job { name: "purge_login_history", every: Duration::from_secs(24 * 3600), run: purge_login_history },
        Job { name: "value_evaluation", every: Duration::from_secs(3600), run: value_evaluation },
    ]
}

/// Idle timeout of sessions, matching the web layer's default.
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;
/// Login history is kept this long.
pub const LOGIN_HISTORY_MS: i64 = 365 * 24 * 3600 * 1000;

fn purge_sessions(store: Store) -> JobFuture {
    Box::pin(async move {
        store::sessions::purge(&store, SESSION_IDLE_MS)
            .await
            .map(|n| format!("{n} expired sessions removed"))
            .map_err(|e| e.to_string())
    })
}

fn purge_login_history(store: Store) -> JobFuture {
    Box::pin(async move {
        store::logins::purge(&store, LOGIN_HISTORY_MS)
            .await
            .map(|n| format!("{n} login attempts older than a year removed"))
            .map_err(|e| e.to_string())
    })
}

/// The evaluation (盘点) on the schedule set in the value settings: checked
/// hourly, run when the schedule says the latest run is too old.
fn value_evaluation(store: Store) -> JobFuture {
    Box::pin(async move {
        let today = store::customer_import::today_in_china();
        let due = store::value::schedule_due(&store, today).await.map_err(|e| e.to_string())?;
        if !due {
            return Ok("no evaluation due".to_string());
        }
        let actor = store::Actor::system("scheduled evaluation");
        let report = store::value::evaluate(&store, &actor, today, store::value::Trigger::Schedule, &|_: &str| {})
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "evaluation {} as of {}: {} customers, {} alerts",
            report.run.id, today, report.run.customers, report.run.alerts
        ))
    })
}

/// Runs every due job once, as `holder`; returns the names of those run here.
pub async fn tick(store: &Store, jobs: &[Job], holder: &str) -> Vec<&'static str> {
    let mut ran = Vec::new();
    for job in jobs {
        let every = job.every.as_millis() as i64;
        // The lease outlives any sane run; a crashed holder frees it by expiry.
        let lease = every.clamp(60_000, 3_600_000);
        match store::jobs::claim(store, job.name, holder, lease, every).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(job = job.name, error = %e, "could not claim job");
                continue;
            }
        }
        let outcome = (job.run)(store.clone()).await;
        let error = match &outcome {
            Ok(summary) => {
                tracing::info!(job = job.name, summary, "job finished");
                None
            }
            Err(e) => {
                tracing::error!(job = job.name, error = %e, "job failed");
                Some(e.as_str())
            }
        };
        if let Err(e) = store::jobs::finish(store, job.name, holder, error).await {
            tracing::warn!(job = job.name, error = %e, "could not release job");
        }
        ran.push(job.name);
    }
    ran
}

/// Ticks every `period` until `shutdown` turns true.
pub async fn run(store: Store, jobs: Vec<Job>, period: Duration, mut shutdown: watch::Receiver<bool>) {
    let holder = format!("{}-{}", hostname(), std::process::id());
    loop {
        tick(&store, &jobs, &holder).await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "keyuan".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_once_per_interval_across_holders() {
        let dir = std::env::temp_dir().join(format!("keyuan-jobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/jobs.db", dir.display());
        let store = Store::connect(&url).await.unwrap();
        let jobs = builtin();
        let first = tick(&store, &jobs, "server-a").await;
        assert_eq!(first, vec!["purge_sessions", "purge_login_history", "value_evaluation"]);
        let second = tick(&store, &jobs, "server-b").await;
        assert!(second.is_empty(), "another server within the interval runs nothing: {second:?}");
        store.close().await;
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn the_evaluation_runs_when_the_schedule_says_so() {
        let dir = std::env::temp_dir().join(format!("keyuan-jobs-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/jobs.db", dir.display());
        let store = Store::connect(&url).await.unwrap();
        let job = builtin().into_iter().find(|j| j.name == "value_evaluation").unwrap();
        // Off by default: nothing runs.
        assert_eq!((job.run)(store.clone()).await.unwrap(), "no evaluation due");
        assert!(store::value::latest_run(&store).await.unwrap().is_none());
        // Daily: the first tick evaluates, the next one the same day does not.
        let s = domain::value::settings::ValueSettings {
            schedule: domain::value::settings::Schedule::Daily,
            ..Default::default()
        };
        let mut tx = store.begin().await.unwrap();
        store::value::save_settings(&mut tx, &store::Actor::system("test"), &s, 0).await.unwrap();
        tx.commit().await.unwrap();
        let summary = (job.run)(store.clone()).await.unwrap();
        assert!(summary.starts_with("evaluation 1 as of"), "{summary}");
        let run = store::value::latest_run(&store).await.unwrap().unwrap();
        assert_eq!((run.trigger.as_str(), run.as_of), ("schedule", store::customer_import::today_in_china()));
        assert_eq!((job.run)(store.clone()).await.unwrap(), "no evaluation due");
        store.close().await;
        std::fs::remove_dir_all(&dir).ok();
    }
}
