//! Bulk work on SQLite through its own interface instead of the pool.
//!
//! The pool's driver hands every row across a thread and converts each value
//! twice; for the few jobs that read or write millions of rows at once (the
//! value run reads every order) that costs several times what SQLite itself
//! does. Those jobs open a connection of their own to the same file with the
//! same settings as the pool's. PostgreSQL and in-memory databases keep to
//! the pool.

use crate::db::{Backend, SQLITE_CACHE_SIZE};
use crate::{Result, Store};
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;
use std::path::PathBuf;
use std::str::FromStr;

/// The database file of a SQLite store, if it is a file another connection
/// can open.
pub(crate) fn sqlite_file(store: &Store) -> Option<PathBuf> {
    if store.backend() != Backend::Sqlite {
        return None;
    }
    let options = SqliteConnectOptions::from_str(store.url()).ok()?;
    let path = options.get_filename();
    let name = path.to_string_lossy();
    let in_memory = name.is_empty() || name == ":memory:" || name.starts_with("file:") || name.contains("mode=memory");
    (!in_memory && path.exists()).then(|| path.to_path_buf())
}

/// A connection for reading, set up like the pool's (page cache, mapped
/// file, patience with a busy writer).
pub(crate) fn open_reader(path: &std::path::Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY; PRAGMA cache_size = {SQLITE_CACHE_SIZE}; \
         PRAGMA mmap_size = 2147418112;"
    ))?;
    Ok(conn)
}

/// A connection for one large write transaction, set up like the pool's:
/// WAL, `synchronous = FULL` (a commit survives a crash), foreign keys
/// checked. Its page cache may grow to [`WRITER_CACHE_KIB`]: with the pool's
/// 16 MB, a transaction that changes hundreds of megabytes spills pages to
/// the WAL and looks each up there again. The cache goes with the
/// connection. The caller holds the process's write turn
/// ([`Store::write_turn`]).
pub(crate) fn open_writer(path: &std::path::Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; \
         PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{WRITER_CACHE_KIB}; \
         PRAGMA mmap_size = 2147418112;"
    ))?;
    Ok(conn)
}

/// The most page cache a bulk writer may use (KiB): 1 GiB.
const WRITER_CACHE_KIB: i64 = 1024 * 1024;

/// Column `i` of `row` as text, without copying it.
pub(crate) fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}
