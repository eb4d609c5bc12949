//! Keyuan's persistence: one code path over SQLite and PostgreSQL.
//!
//! Queries are written once in portable SQL (`$1` placeholders, integer ids,
//! epoch-millisecond instants, ISO text dates, integer 分 for money) and run
//! through `sqlx::Any`, which picks the driver from the URL scheme. Each
//! business area has its own module with the functions the layers above call.
//! Every function that changes a business record takes an [`Actor`] and
//! writes its audit row in the same transaction as the change.

pub mod audit;
pub mod backup;
pub mod crypto;
pub mod customer_dupes;
pub mod customer_export;
pub mod customer_fields;
pub mod customer_import;
pub mod customer_merge;
pub mod customer_search;
pub mod customers;
mod db;
pub mod demo;
pub mod departures;
pub mod jobs;
pub mod logins;
mod migrate;
mod native;
pub mod numbers;
pub mod opportunities;
pub mod order_import;
pub mod orders;
pub mod privacy;
pub mod products;
pub mod quotes;
pub mod receipts;
pub mod resources;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod sql;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod value;
pub mod views;
pub mod visibility;

pub use db::{now_ms, Backend, Store, Tx};
pub use domain::{FieldError, FieldErrors};
pub use migrate::{latest_version, migration_names};

use domain::ids::{TeamId, UserId};

/// What went wrong in the store. Database failures stay database failures:
/// nothing here turns one into "not found".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// The record was changed by someone else since the caller read it.
    #[error("the record was changed by someone else (now at version {current})")]
    Stale {
        /// The version the record is at now.
        current: i64,
    },
    /// A unique field already holds this value.
    #[error("{field} is already taken")]
    Duplicate {
        /// The field whose value clashes.
        field: &'static str,
    },
    /// The input breaks a rule that needs stored data to check.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The database could not be reached or opened.
    #[error("cannot open database: {0}")]
    Connect(String),
    /// A migration was edited after it was applied, or is unknown.
    #[error("migration check failed: {0}")]
    Migration(String),
    /// A backup file is unusable, or the target is not empty.
    #[error("{0}")]
    Backup(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A failure of a bulk read or write on SQLite's own interface (see
    /// `native`).
    #[error("database error: {0}")]
    Native(#[from] rusqlite::Error),
}

impl StoreError {
    /// One invalid field.
    pub fn invalid(e: FieldError) -> Self {
        StoreError::Invalid(FieldErrors(vec![e]))
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Maps a unique-constraint violation to [`StoreError::Duplicate`] for `field`.
pub(crate) fn unique_as(field: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate { field },
        _ => StoreError::Db(e),
    }
}

/// The error for an `UPDATE … AND version = $n` (or `DELETE`) that changed
/// nothing: someone else saved `table`'s row `id` since the caller read it,
/// or removed it. Checking the version in the statement itself keeps two
/// simultaneous saves of one version from both succeeding on PostgreSQL.
pub(crate) async fn stale(tx: &mut Tx, table: &str, id: i64) -> StoreError {
    let current = sqlx::query_scalar::<_, i64>(&format!("SELECT version FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut ***tx)
        .await;
    match current {
        Ok(Some(current)) => StoreError::Stale { current },
        Ok(None) => StoreError::NotFound,
        Err(e) => StoreError::Db(e),
    }
}

/// Who is making a change, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The staff member, or `None` for the system itself (CLI, jobs).
    pub user_id: Option<UserId>,
    /// The name shown in the audit trail.
    pub name: String,
    /// The actor's team at the time, so team-scoped audit views find it.
    pub team_id: Option<TeamId>,
    /// Client address, when the change came over HTTP.
    pub ip: Option<String>,
    /// Request id, to match the audit row with the server log.
    pub request_id: Option<String>,
}

impl Actor {
    /// The system itself, e.g. `keyuan user add` on the command line.
    pub fn system(name: &str) -> Actor {
        Actor { user_id: None, name: name.to_string(), team_id: None, ip: None, request_id: None }
    }
}

/// A page of a list, newest first, with the cursor of the next page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The records of this page.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows, keyed by `id`.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(id)
        } else {
            None
        };
        Page { items: rows, next }
    }
}

/// The store's futures must be `Send` so that servers and tests can spawn
/// them; some sqlx calls silently break that. This fails to compile if one does.
#[cfg(test)]
mod futures_are_send {
    fn is_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn check(s: &crate::Store, p: &std::path::Path) {
        is_send(crate::Store::connect("sqlite://x.db"));
        is_send(s.migrate());
        is_send(s.begin());
        is_send(crate::backup::backup(s, p));
        is_send(crate::backup::restore(s, p));
    }
}
