//! A small migration runner over both engines.
//!
//! Migrations are embedded, applied in order, each in its own transaction,
//! and recorded with a checksum: a migration edited after it was applied
//! stops the start-up instead of leaving two servers with different schemas.

use crate::{now_ms, Backend, Result, Store, StoreError};
use sha2::{Digest, Sha256};
use sqlx::{Executor, Row};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "platform",
        sqlite: include_str!("../migrations/sqlite/0001_platform.sql"),
        postgres: include_str!("../migrations/postgres/0001_platform.sql"),
    },
    Migration {
        version: 2,
        name: "customers",
        sqlite: include_str!("../migrations/sqlite/0002_customers.sql"),
        postgres: include_str!("../migrations/postgres/0002_customers.sql"),
    },
    Migration {
        version: 3,
        name: "customer_search",
        sqlite: include_str!("../migrations/sqlite/0003_customer_search.sql"),
        postgres: include_str!("../migrations/postgres/0003_customer_search.sql"),
    },
    Migration {
        version: 4,
        name: "travel",
        sqlite: include_str!("../migrations/sqlite/0004_travel.sql"),
        postgres: include_str!("../migrations/postgres/0004_travel.sql"),
    },
    Migration {
        version: 5,
        name: "value",
        sqlite: include_str!("../migrations/sqlite/0005_value.sql"),
        postgres: include_str!("../migrations/postgres/0005_value.sql"),
    },
    Migration {
        version: 6,
        name: "deferrable_keys",
        sqlite: include_str!("../migrations/sqlite/0006_deferrable_keys.sql"),
        postgres: include_str!("../migrations/postgres/0006_deferrable_keys.sql"),
    },
];

/// The names of every migration this build knows, in order (`0001_platform` …).
pub fn migration_names() -> Vec<String> {
    MIGRATIONS.iter().map(|m| format!("{:04}_{}", m.version, m.name)).collect()
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

pub(crate) async fn run(store: &Store) -> Result<Vec<String>> {
    let mut tx = store.begin().await?;
    if store.backend() == Backend::Postgres {
        // Several servers may start at once; one migrates, the others wait.
        sqlx::query("SELECT pg_advisory_xact_lock(4242001)").execute(&mut **tx).await?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
    )
    .execute(&mut **tx)
    .await?;
    let rows =
        sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version").fetch_all(&mut **tx).await?;
    let mut done = std::collections::BTreeMap::new();
    for r in rows {
        done.insert(r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?);
    }
    if let Some((&v, _)) = done.iter().next_back() {
        if v > latest_version() {
            return Err(StoreError::Migration(format!(
                "the database is at schema version {v}, newer than this Keyuan ({}); upgrade Keyuan",
                latest_version()
            )));
        }
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let sql = match store.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let sum = hex::encode(Sha256::digest(sql.as_bytes()));
        if let Some(stored) = done.get(&m.version) {
            if *stored != sum {
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) differs from the one applied to this database",
                    m.version, m.name
                )));
            }
            continue;
        }
        // A plain string runs every statement of the file (simple query
        // protocol on PostgreSQL, statement by statement on SQLite).
        (&mut **tx).execute(sql).await?;
        let now = now_ms();
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(sum)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        applied.push(format!("{:04}_{}", m.version, m.name));
    }
    tx.commit().await?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::access::{default_grants, BUILTIN_ROLES};

    /// Existing installations get the permissions of each area from the
    /// migration that brings the area (customers: 0002; catalogue, sales and
    /// finance: 0004; value: 0005); new ones from the role defaults. Both must grant the
    /// same.
    #[test]
    fn migration_grants_match_the_role_defaults() {
        let areas: [(usize, &[&str]); 3] =
            [(1, &["customers."]), (3, &["catalog.", "sales.", "finance."]), (4, &["value."])];
        for (index, prefixes) in areas {
            let of_area = |code: &str| prefixes.iter().any(|p| code.starts_with(p));
            for sql in [MIGRATIONS[index].sqlite, MIGRATIONS[index].postgres] {
                let mut from_sql = std::collections::BTreeSet::new();
                for line in sql.lines().filter(|l| l.contains("SELECT '")) {
                    let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
                    assert_eq!(quoted.len(), 3, "{line}");
                    assert!(of_area(quoted[1]), "{line}");
                    from_sql.insert((quoted[0].to_string(), quoted[1].to_string(), quoted[2].to_string()));
                }
                let mut from_defaults = std::collections::BTreeSet::new();
                for role in BUILTIN_ROLES {
                    for (p, s) in default_grants(role).0 {
                        if of_area(p.code()) {
                            from_defaults.insert((role.to_string(), p.code().to_string(), s.code().to_string()));
                        }
                    }
                }
                assert_eq!(from_sql, from_defaults, "{}", MIGRATIONS[index].name);
            }
        }
        let customers = MIGRATIONS[1].sqlite;
        assert!(customers.contains("SELECT 'sales', 'customers.read', 'own'"));
        assert!(MIGRATIONS[3].postgres.contains("SELECT 'finance', 'finance.write', 'all'"));
    }

    #[test]
    fn names_are_numbered_in_order() {
        let names = migration_names();
        assert_eq!(names[0], "0001_platform");
        assert_eq!(names[1], "0002_customers");
        assert_eq!(names[3], "0004_travel");
        assert_eq!(latest_version(), names.len() as i64);
    }
}
