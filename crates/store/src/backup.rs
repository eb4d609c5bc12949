//! Backup and restore, the same on both engines.
//!
//! A backup is always one SQLite file with Keyuan's schema:
//! - on SQLite, `VACUUM INTO` writes a consistent copy while the server runs;
//! - on PostgreSQL, every table is copied from one `REPEATABLE READ` snapshot
//!   into a new SQLite file, so the copy is consistent too.
//!
//! Restore loads such a file into an empty database of either engine in one
//! transaction (foreign keys checked at commit), so a backup taken on a
//! laptop can also move an agency onto PostgreSQL. Sessions are not restored:
//! everyone signs in again.

use crate::{migrate, Backend, Result, Store, StoreError};
use sqlx::{Any, AnyConnection, Connection, Executor, Row};
use std::path::Path;

/// What a backup or restore copied: table name and row count.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Tables with their row counts, in copy order.
    pub tables: Vec<(String, u64)>,
}

impl Summary {
    /// All rows copied.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Tables that are never copied into a restored database.
const SKIP_ON_RESTORE: &[&str] = &["schema_migrations", "sessions"];

#[derive(Clone, Copy, PartialEq)]
enum ColType {
    Int,
    Text,
    Real,
    Blob,
}

struct Table {
    name: String,
    cols: Vec<(String, ColType)>,
}

fn sqlite_url(path: &Path, mode: &str) -> String {
    format!("sqlite://{}?mode={mode}", path.display())
}

/// The tables and columns of a SQLite database, as declared.
async fn tables_of(conn: &mut AnyConnection) -> Result<Vec<Table>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for name in names {
        let rows = sqlx::query(&format!("SELECT name, type FROM pragma_table_info('{name}') ORDER BY cid"))
            .fetch_all(&mut *conn)
            .await?;
        let mut cols = Vec::new();
        for r in rows {
            let col: String = r.try_get(0)?;
            let ty: String = r.try_get(1)?;
            let ty = match ty.to_uppercase().as_str() {
                t if t.contains("INT") => ColType::Int,
                "REAL" => ColType::Real,
                "BLOB" => ColType::Blob,
                _ => ColType::Text,
            };
            cols.push((col, ty));
        }
        out.push(Table { name, cols });
    }
    Ok(out)
}

enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    Real(Option<f64>),
    Blob(Option<Vec<u8>>),
}

async fn read_rows<'e, E: Executor<'e, Database = Any>>(ex: E, t: &Table) -> Result<Vec<Vec<Val>>> {
    let cols: Vec<&str> = t.cols.iter().map(|(c, _)| c.as_str()).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY 1", cols.join(", "), t.name);
    let rows = sqlx::query(&sql).fetch_all(ex).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut vals = Vec::with_capacity(t.cols.len());
        for (i, (_, ty)) in t.cols.iter().enumerate() {
            vals.push(match ty {
                ColType::Int => Val::Int(r.try_get(i)?),
                ColType::Text => Val::Text(r.try_get(i)?),
                ColType::Real => Val::Real(r.try_get(i)?),
                ColType::Blob => Val::Blob(r.try_get(i)?),
            });
        }
        out.push(vals);
    }
    Ok(out)
}

async fn write_rows(conn: &mut AnyConnection, t: &Table, rows: &[Vec<Val>]) -> Result<()> {
    let ncols = t.cols.len();
    let per_stmt = (30_000 / ncols.max(1)).clamp(1, 500);
    let cols: Vec<&str> = t.cols.iter().map(|(c, _)| c.as_str()).collect();
    for chunk in rows.chunks(per_stmt) {
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", t.name, cols.join(", "));
        let mut n = 0;
        for (ri, _) in chunk.iter().enumerate() {
            if ri > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for ci in 0..ncols {
                if ci > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::Int(x) => q.bind(*x),
                    Val::Text(x) => q.bind(x.as_deref()),
                    Val::Real(x) => crate::sql::bind_real(q, *x),
                    Val::Blob(x) => q.bind(x.as_deref()),
                };
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes a consistent backup of `store` to the new file `path`.
pub async fn backup(store: &Store, path: &Path) -> Result<Summary> {
    if path.exists() {
        return Err(StoreError::Backup(format!("{} already exists; choose a new file name", path.display())));
    }
    match store.backend() {
        Backend::Sqlite => {
            let target = path.to_string_lossy().replace('\'', "''");
            sqlx::query(&format!("VACUUM INTO '{target}'")).execute(store.pool()).await?;
            let mut conn = AnyConnection::connect(&sqlite_url(path, "ro")).await?;
            let mut summary = Summary::default();
            for t in tables_of(&mut conn).await? {
                let n: i64 =
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", t.name)).fetch_one(&mut conn).await?;
                summary.tables.push((t.name, n as u64));
            }
            conn.close().await?;
            Ok(summary)
        }
        Backend::Postgres => {
            let file = store.open_beside(&sqlite_url(path, "rwc")).await?;
            migrate::run(&file).await?;
            let mut result = copy_pg_into(store, &file).await;
            if result.is_ok() {
                // The file opened in WAL mode: move every page into the file
                // itself, so that copying the one file away copies the backup.
                if let Err(e) = checkpoint(&file).await {
                    result = Err(e);
                }
            }
            let _ = sqlx::query("PRAGMA journal_mode = DELETE").execute(file.pool()).await;
            file.close().await;
            if result.is_err() {
                let _ = std::fs::remove_file(path);
            }
            result
        }
    }
}

/// Writes the whole write-ahead log of a SQLite file into the file.
async fn checkpoint(file: &Store) -> Result<()> {
    let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(file.pool()).await?;
    if row.try_get::<i64, _>(0)? != 0 {
        return Err(StoreError::Backup("the backup file could not be completed (checkpoint busy)".into()));
    }
    Ok(())
}

async fn copy_pg_into(store: &Store, file: &Store) -> Result<Summary> {
    let mut fconn = file.pool().acquire().await?;
    let tables = tables_of(&mut fconn).await?;
    let mut src = store.pool().begin().await?;
    // One snapshot for every table: the copy is consistent even while
    // other servers keep writing.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *src).await?;
    let mut summary = Summary::default();
    let mut dst = fconn.begin().await?;
    // Tables are copied by name, not in reference order: check the foreign
    // keys at commit, as restore does.
    sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *dst).await?;
    for t in tables.iter().filter(|t| t.name != "schema_migrations") {
        let rows = read_rows(&mut *src, t).await?;
        write_rows(&mut dst, t, &rows).await?;
        summary.tables.push((t.name.clone(), rows.len() as u64));
    }
    dst.commit().await?;
    src.rollback().await?;
    Ok(summary)
}

/// Loads the backup file `path` into `store`, which must hold no staff and
/// no audit trail yet (a new database, migrated). All or nothing.
pub async fn restore(store: &Store, path: &Path) -> Result<Summary> {
    if !path.is_file() {
        return Err(StoreError::Backup(format!("{} is not a file", path.display())));
    }
    let mut probe = AnyConnection::connect(&sqlite_url(path, "ro"))
        .await
        .map_err(|e| StoreError::Backup(format!("{} is not a Keyuan backup: {e}", path.display())))?;
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut probe)
        .await
        .map_err(|_| StoreError::Backup(format!("{} is not a Keyuan backup (no schema version)", path.display())))?;
    probe.close().await?;
    let version = version.unwrap_or(0);
    if version > migrate::latest_version() {
        return Err(StoreError::Backup(format!(
            "the backup has schema version {version}, newer than this Keyuan ({}); restore it with a newer Keyuan",
            migrate::latest_version()
        )));
    }
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(store.pool()).await?;
    let audits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(store.pool()).await?;
    if users > 0 || audits > 0 {
        return Err(StoreError::Backup(format!(
            "the target database already holds data ({users} staff accounts, {audits} audit rows); \
             restore into a new, empty database so nothing stored is overwritten"
        )));
    }
    // An older backup is brought up to this version on a scratch copy, so
    // the backup file itself is never changed.
    // Numbered too: two restores in one process within a millisecond must
    // not share (and delete) each other's copy.
    static SCRATCH_NO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SCRATCH_NO.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch =
        std::env::temp_dir().join(format!("keyuan-restore-{}-{}-{n}.db", std::process::id(), crate::now_ms()));
    std::fs::copy(path, &scratch).map_err(|e| StoreError::Backup(format!("cannot read {}: {e}", path.display())))?;
    let result = restore_from(store, &scratch).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
    }
    result
}

async fn restore_from(store: &Store, scratch: &Path) -> Result<Summary> {
    let source = store.open_beside(&sqlite_url(scratch, "rw")).await?;
    migrate::run(&source).await?;
    let mut sconn = source.pool().acquire().await?;
    let tables: Vec<Table> =
        tables_of(&mut sconn).await?.into_iter().filter(|t| !SKIP_ON_RESTORE.contains(&t.name.as_str())).collect();
    let mut tx = store.begin().await?;
    match store.backend() {
        Backend::Sqlite => sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut **tx).await?,
        Backend::Postgres => sqlx::query("SET CONSTRAINTS ALL DEFERRED").execute(&mut **tx).await?,
    };
    // A new database holds only what start-up seeds (built-in roles, the
    // default profile); the backup's versions replace them.
    for t in ["role_permissions", "roles", "company_profile", "holidays", "teams", "job_locks"] {
        sqlx::query(&format!("DELETE FROM {t}")).execute(&mut **tx).await?;
    }
    let mut summary = Summary::default();
    for t in &tables {
        let rows = read_rows(&mut *sconn, t).await?;
        write_rows(&mut tx, t, &rows).await?;
        summary.tables.push((t.name.clone(), rows.len() as u64));
        let id_is_int = t.cols.iter().any(|(c, ty)| c == "id" && *ty == ColType::Int);
        if store.backend() == Backend::Postgres && id_is_int && !rows.is_empty() {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), (SELECT MAX(id) FROM {0}))",
                t.name
            ))
            .execute(&mut **tx)
            .await?;
        }
    }
    check_data_key(store, &mut tx).await?;
    tx.commit().await?;
    drop(sconn);
    source.close().await;
    Ok(summary)
}

/// Sealed values in the backup must open with this installation's data key;
/// otherwise the restore is refused (rolled back) with what to do.
async fn check_data_key(store: &Store, tx: &mut crate::Tx) -> Result<()> {
    let sample: Option<String> = sqlx::query_scalar(
        "SELECT COALESCE(id_card_enc, passport_enc) FROM customers          WHERE id_card_enc IS NOT NULL OR passport_enc IS NOT NULL LIMIT 1",
    )
    .fetch_optional(&mut ***tx)
    .await?
    .flatten();
    if let Some(sealed) = sample {
        store.data_key().open(&sealed).map_err(|_| {
            StoreError::Backup(format!(
                "the backup's ID card and passport numbers were sealed with another data key than {}; \
                 restore with KEYUAN_DATA_KEY_FILE (or KEYUAN_DATA_KEY) set to the original installation's key",
                store.data_key().source
            ))
        })?;
    }
    Ok(())
}
