//! What every story stands on: fresh databases of either engine, the scratch
//! space of one trial and its clean-up, and small builders for staff, teams
//! and actors.

use anyhow::{bail, Context, Result};
use domain::access::Scope;
use domain::ids::{RoleId, TeamId, UserId};
use domain::user::{Locale, Username};
use sqlx::{AnyConnection, Connection, Executor};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::audit::{self, AuditRow};
use store::users::{self, NewUser, User};
use store::visibility::Visibility;
use store::{roles, teams, Actor, Store};

/// The server the PostgreSQL trials use unless `KEYUAN_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long the start-up probe waits for PostgreSQL.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A password hash no password matches; the store never checks it.
pub const UNUSABLE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3RvcnktdGVzdA$bm90LWEtcmVhbC1oYXNo";

/// The two engines every story runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database created for the trial on the PostgreSQL server.
    Postgres,
}

impl Engine {
    /// The prefix of the trial names.
    pub fn prefix(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// The admin URL of the PostgreSQL server the suite uses.
pub fn postgres_admin_url() -> String {
    std::env::var("KEYUAN_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_ADMIN_URL.to_string())
}

/// `url` with any password hidden, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => match url[scheme_end + 3..at].split_once(':') {
            Some((user, _)) => format!("{}://{user}:***@{}", &url[..scheme_end], &url[at + 1..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// Connects once to the admin URL, giving up after a few seconds.
pub fn probe_postgres(admin_url: &str) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let attempt = async {
            let mut conn = AnyConnection::connect(admin_url).await?;
            conn.execute("SELECT 1").await?;
            conn.close().await
        };
        match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        }
    })
}

/// `admin_url` with its database name replaced by `database`.
pub fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

static NEXT_NAME: AtomicU64 = AtomicU64::new(1);

/// A name no other trial of this or another run uses at the same time.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), NEXT_NAME.fetch_add(1, Ordering::Relaxed))
}

/// The scratch space of one trial: its temporary directory and every
/// database it created, all removed by [`Scratch::clean_up`].
#[derive(Clone)]
pub struct Scratch {
    inner: Arc<ScratchInner>,
}

struct ScratchInner {
    engine: Engine,
    postgres_admin_url: Option<String>,
    dir: PathBuf,
    postgres_databases: Mutex<Vec<String>>,
    stores: Mutex<Vec<Store>>,
}

impl Scratch {
    /// A new scratch space for a trial on `engine`.
    pub fn new(engine: Engine, postgres_admin_url: Option<String>) -> Result<Scratch> {
        let dir = std::env::temp_dir().join(unique_name("keyuan-story"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch {
            inner: Arc::new(ScratchInner {
                engine,
                postgres_admin_url,
                dir,
                postgres_databases: Mutex::new(Vec::new()),
                stores: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The engine of the trial.
    pub fn engine(&self) -> Engine {
        self.inner.engine
    }

    /// A path in the trial's temporary directory (nothing is created).
    pub fn path(&self, file_name: &str) -> PathBuf {
        self.inner.dir.join(file_name)
    }

    /// The URL of a new, empty database on `engine` (not migrated).
    pub async fn empty_database_url(&self, engine: Engine) -> Result<String> {
        match engine {
            Engine::Sqlite => {
                let file = self.path(&format!("{}.db", unique_name("db")));
                Ok(format!("sqlite://{}", file.display()))
            }
            Engine::Postgres => {
                let Some(admin) = self.inner.postgres_admin_url.as_deref() else {
                    bail!("this trial needs PostgreSQL, but no server was found");
                };
                let name = unique_name("keyuan_story");
                let mut conn = AnyConnection::connect(admin).await.context("connecting to the PostgreSQL admin URL")?;
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .with_context(|| format!("CREATE DATABASE {name}"))?;
                conn.close().await?;
                self.inner.postgres_databases.lock().expect("scratch lock").push(name.clone());
                Ok(with_database(admin, &name))
            }
        }
    }

    /// A new, migrated database on the trial's own engine.
    pub async fn new_store(&self) -> Result<Store> {
        self.new_store_on(self.engine()).await
    }

    /// A new, migrated database on `engine`.
    pub async fn new_store_on(&self, engine: Engine) -> Result<Store> {
        let url = self.empty_database_url(engine).await?;
        self.connect(&url).await
    }

    /// Opens and migrates `url`; the store is closed at clean-up.
    pub async fn connect(&self, url: &str) -> Result<Store> {
        let store = Store::connect(url).await.with_context(|| format!("Store::connect({url})"))?;
        self.keep(&store);
        Ok(store)
    }

    /// Closes `store` at clean-up, before its database is dropped.
    pub fn keep(&self, store: &Store) {
        self.inner.stores.lock().expect("scratch lock").push(store.clone());
    }

    /// Closes every store, drops every PostgreSQL database and removes the
    /// temporary directory.
    pub async fn clean_up(&self) -> Result<()> {
        let stores = std::mem::take(&mut *self.inner.stores.lock().expect("scratch lock"));
        for s in stores {
            s.close().await;
        }
        let databases = std::mem::take(&mut *self.inner.postgres_databases.lock().expect("scratch lock"));
        if let (false, Some(admin)) = (databases.is_empty(), self.inner.postgres_admin_url.as_deref()) {
            let mut conn = AnyConnection::connect(admin).await.context("connecting to drop the trial databases")?;
            for name in databases {
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .with_context(|| format!("DROP DATABASE {name}"))?;
            }
            conn.close().await?;
        }
        std::fs::remove_dir_all(&self.inner.dir).with_context(|| format!("removing {}", self.inner.dir.display()))?;
        Ok(())
    }
}

/// The command line acting, as in `keyuan user add`.
pub fn system() -> Actor {
    Actor::system("story")
}

/// `user` acting over HTTP, with their current team.
pub fn acting(user: &User) -> Actor {
    Actor {
        user_id: Some(user.id),
        name: user.display_name.clone(),
        team_id: user.team_id,
        ip: Some("10.0.0.9".into()),
        request_id: Some(format!("req-{}", user.id)),
    }
}

/// The role with built-in code `code`.
pub async fn role(store: &Store, code: &str) -> Result<RoleId> {
    Ok(roles::by_code(store, code).await.with_context(|| format!("role {code}"))?.id)
}

/// A new account's details: zh-CN, no e-mail or phone, an unusable hash.
pub fn new_user(username: &str, display_name: &str, role_id: RoleId, team_id: Option<TeamId>) -> NewUser {
    NewUser {
        username: Username::parse(username).expect("a valid username in the story"),
        display_name: display_name.to_string(),
        email: None,
        phone: None,
        role_id,
        team_id,
        locale: Locale::ZhCn,
        password_hash: UNUSABLE_HASH.to_string(),
    }
}

/// Creates an account in a transaction of its own and reads it back.
pub async fn add_user(store: &Store, actor: &Actor, u: &NewUser) -> Result<User> {
    let mut tx = store.begin().await?;
    let id =
        users::create(&mut tx, actor, u).await.with_context(|| format!("creating user {}", u.username.as_str()))?;
    tx.commit().await?;
    Ok(users::get(store, id).await?)
}

/// Creates a staff member with role `role_code` in `team`.
pub async fn add_staff(
    store: &Store,
    username: &str,
    name: &str,
    role_code: &str,
    team: Option<TeamId>,
) -> Result<User> {
    let role_id = role(store, role_code).await?;
    add_user(store, &system(), &new_user(username, name, role_id, team)).await
}

/// Creates a team in a transaction of its own.
pub async fn add_team(store: &Store, name: &str, parent: Option<TeamId>) -> Result<TeamId> {
    let mut tx = store.begin().await?;
    let id =
        teams::create(&mut tx, &system(), name, parent, None).await.with_context(|| format!("creating team {name}"))?;
    tx.commit().await?;
    Ok(id)
}

/// What someone with the `all` scope sees.
pub fn sees_all() -> Visibility {
    Visibility { scope: Scope::All, user_id: UserId(0), teams: Vec::new() }
}

/// Rows in `table`, counted with raw SQL.
pub async fn rows_in(store: &Store, table: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await?)
}

/// The whole audit trail visible to `vis`, newest first, read page by page.
pub async fn audit_trail(store: &Store, vis: &Visibility) -> Result<Vec<AuditRow>> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = audit::list(store, vis, &audit::Filter { before, limit: 50, ..Default::default() }).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => before = Some(n),
            None => return Ok(out),
        }
    }
}

/// The newest audit row.
pub async fn latest_audit(store: &Store) -> Result<AuditRow> {
    let page = audit::list(store, &sees_all(), &audit::Filter { limit: 1, ..Default::default() }).await?;
    page.items.into_iter().next().context("the audit trail is empty")
}
