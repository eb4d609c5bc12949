//! The story suite: the store's behaviour told as short stories, each run on
//! SQLite and on PostgreSQL against a fresh database of its own.
//!
//! Every story is registered once and becomes two trials,
//! `sqlite::<story>` and `postgres::<story>`; stories that need both engines
//! at once (schema parity, moving a backup between engines) are `both::<story>`.
//! PostgreSQL comes from `KEYUAN_TEST_POSTGRES_URL` (an admin URL; default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without a server the
//! PostgreSQL trials are ignored, unless `CI=true`, where that is an error.

mod story {
    pub mod backup;
    pub mod catalog;
    pub mod fixtures;
    pub mod jobs;
    pub mod platform;
    pub mod sessions;
    pub mod settings;
    pub mod staff;
    pub mod teams;
}

use libtest_mimic::{Arguments, Failed, Trial};
use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use story::fixtures::{self, Engine, Scratch};

/// A story's future. Not `Send`: inside an `async` block rustc cannot prove
/// `Send` for some store futures (rustc #102211, with sqlx's generic
/// executors), so a story runs under `block_on` on its trial's own runtime
/// instead of being spawned.
type StoryFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;
type StoryFn = fn(Scratch) -> StoryFuture;

/// Where a story runs.
#[derive(Clone, Copy)]
enum Runs {
    /// Once on each engine.
    OnEachEngine,
    /// Once, with a database of each engine (needs PostgreSQL).
    AcrossEngines,
}

/// `Runs: module::story_fn, …` → (name, where it runs, how to start it).
macro_rules! stories {
    ($($runs:ident: $module:ident::$name:ident),* $(,)?) => {
        vec![$((stringify!($name), Runs::$runs, (|s| Box::pin(story::$module::$name(s))) as StoryFn)),*]
    };
}

fn all_stories() -> Vec<(&'static str, Runs, StoryFn)> {
    stories![
        OnEachEngine: platform::migrations_are_idempotent_and_seed_roles_and_profile,
        OnEachEngine: platform::several_processes_opening_a_new_database_all_succeed,
        OnEachEngine: staff::staff_accounts_are_created_found_listed_and_paged,
        OnEachEngine: staff::stale_updates_change_nothing,
        OnEachEngine: staff::simultaneous_saves_of_one_version_let_exactly_one_win,
        OnEachEngine: staff::deactivation_ends_access_but_keeps_history,
        OnEachEngine: platform::every_change_is_audited_in_its_own_transaction,
        OnEachEngine: platform::audit_trail_masks_sensitive_values,
        OnEachEngine: platform::audit_trail_is_append_only,
        OnEachEngine: teams::team_tree_and_subtrees,
        OnEachEngine: teams::audit_visibility_follows_scope_and_team_tree,
        OnEachEngine: teams::team_moves_and_deletes_are_checked,
        OnEachEngine: sessions::sessions_live_idle_and_expire,
        OnEachEngine: sessions::password_change_keeps_only_the_current_session,
        OnEachEngine: sessions::api_tokens_authenticate_until_revoked,
        OnEachEngine: sessions::login_attempts_are_counted_and_listed_by_visibility,
        OnEachEngine: settings::company_profile_is_versioned_and_round_trips,
        OnEachEngine: settings::holidays_shape_the_business_calendar,
        OnEachEngine: jobs::job_leases_let_one_holder_run_per_interval,
        OnEachEngine: jobs::concurrent_claims_give_the_job_to_exactly_one_holder,
        OnEachEngine: backup::backup_restores_into_a_fresh_database_of_the_same_engine,
        OnEachEngine: backup::restore_needs_the_original_data_key,
        OnEachEngine: platform::concurrent_write_transactions_all_succeed,
        OnEachEngine: catalog::fifty_concurrent_bookings_fill_exactly_the_seats_left,
        OnEachEngine: catalog::departure_edits_keep_seats_and_status_rules,
        AcrossEngines: backup::sqlite_backup_restores_into_postgres,
        AcrossEngines: backup::postgres_backup_restores_into_sqlite,
        AcrossEngines: platform::schemas_have_the_same_tables_and_columns,
    ]
}

/// Runs one story on its own runtime and scratch space, cleaning up even
/// when the story fails or panics.
fn run(story: StoryFn, engine: Engine, postgres_admin_url: Option<String>) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start a runtime: {e}")))?;
    let scratch = Scratch::new(engine, postgres_admin_url).map_err(|e| Failed::from(format!("{e:#}")))?;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(story(scratch.clone()))));
    let cleaned = rt.block_on(scratch.clean_up());
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(format!("panicked: {msg}"))
        }
    };
    match (failure, cleaned) {
        (None, Ok(())) => Ok(()),
        (None, Err(c)) => Err(format!("clean-up failed: {c:#}").into()),
        (Some(f), Ok(())) => Err(f.into()),
        (Some(f), Err(c)) => Err(format!("{f}\n(clean-up failed too: {c:#})").into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    sqlx::any::install_default_drivers();

    let admin_url = fixtures::postgres_admin_url();
    let shown = fixtures::redacted(&admin_url);
    let postgres = match fixtures::probe_postgres(&admin_url) {
        Ok(()) => Some(admin_url),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            let mut err = std::io::stderr();
            let _ = writeln!(err, "PostgreSQL is required under CI=true: cannot connect to {shown}: {e}");
            std::process::exit(2);
        }
        Err(_) => {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "PostgreSQL suite skipped: no server at {shown} (set KEYUAN_TEST_POSTGRES_URL)");
            None
        }
    };
    let no_postgres = postgres.is_none();

    let mut trials = Vec::new();
    for (name, runs, story) in all_stories() {
        match runs {
            Runs::OnEachEngine => {
                for engine in [Engine::Sqlite, Engine::Postgres] {
                    let pg = postgres.clone();
                    trials.push(
                        Trial::test(format!("{}::{name}", engine.prefix()), move || run(story, engine, pg))
                            .with_ignored_flag(engine == Engine::Postgres && no_postgres),
                    );
                }
            }
            Runs::AcrossEngines => {
                let pg = postgres.clone();
                trials.push(
                    // The story picks each database's engine itself.
                    Trial::test(format!("both::{name}"), move || run(story, Engine::Sqlite, pg))
                        .with_ignored_flag(no_postgres),
                );
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
