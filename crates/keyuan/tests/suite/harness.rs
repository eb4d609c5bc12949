//! The test harness: a real server on 127.0.0.1:0 with a fresh database per
//! story, on SQLite and (when reachable) PostgreSQL, and clients that talk
//! to it over HTTP like an API user or a browser would.

#![allow(dead_code)]

use anyhow::{anyhow, bail, Context, Result};
use futures_util::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use store::Store;

/// The database engine a story runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

impl Engine {
    /// Prefix of trial names.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

type StoryFn = Arc<dyn Fn(TestApp) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// One story, run once per engine.
#[derive(Clone)]
pub struct Story {
    /// Name (unique within its module).
    pub name: &'static str,
    /// Engines it runs on.
    pub engines: &'static [Engine],
    /// Drives headless Chromium (skipped where it is missing, outside CI).
    pub needs_browser: bool,
    /// The story.
    pub run: StoryFn,
}

/// Both engines.
pub const BOTH: &[Engine] = &[Engine::Sqlite, Engine::Postgres];
/// SQLite only (stories about the process or the browser, not the store).
pub const SQLITE_ONLY: &[Engine] = &[Engine::Sqlite];

/// A story on both engines.
pub fn story<F, Fut>(name: &'static str, f: F) -> Story
where
    F: Fn(TestApp) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Story { name, engines: BOTH, needs_browser: false, run: Arc::new(move |app| Box::pin(f(app))) }
}

/// A story on the given engines.
pub fn story_on<F, Fut>(name: &'static str, engines: &'static [Engine], f: F) -> Story
where
    F: Fn(TestApp) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Story { name, engines, needs_browser: false, run: Arc::new(move |app| Box::pin(f(app))) }
}

/// A story that drives headless Chromium (on SQLite: the engine is not
/// what it tests). Use the helpers in `browser.rs`.
pub fn browser_story<F, Fut>(name: &'static str, f: F) -> Story
where
    F: Fn(TestApp) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Story { name, engines: SQLITE_ONLY, needs_browser: true, run: Arc::new(move |app| Box::pin(f(app))) }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The PostgreSQL server used to create test databases.
pub fn pg_admin_url() -> String {
    std::env::var("KEYUAN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL answers (checked once at start).
pub async fn pg_available() -> Result<(), String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let url = pg_admin_url();
    let attempt = tokio::time::timeout(std::time::Duration::from_secs(3), sqlx::AnyConnection::connect(&url)).await;
    match attempt {
        Ok(Ok(c)) => {
            let _ = c.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(format!("no server at {url}: {e}")),
        Err(_) => Err(format!("no answer from {url} within 3 s")),
    }
}

/// A fresh, empty database, removed by [`Database::cleanup`].
pub struct Database {
    /// Its URL.
    pub url: String,
    engine: Engine,
    dir: Option<PathBuf>,
    pg_name: Option<String>,
}

impl Database {
    /// Creates one.
    pub fn create(engine: Engine) -> BoxFuture<'static, Result<Database>> {
        Box::pin(Self::create_inner(engine))
    }

    async fn create_inner(engine: Engine) -> Result<Database> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(format!("keyuan-suite-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                Ok(Database {
                    url: format!("sqlite://{}/keyuan.db", dir.display()),
                    engine,
                    dir: Some(dir),
                    pg_name: None,
                })
            }
            Engine::Postgres => {
                use sqlx::Connection;
                sqlx::any::install_default_drivers();
                let name = format!("keyuan_suite_{}_{n}", std::process::id());
                let admin = pg_admin_url();
                let mut c = sqlx::AnyConnection::connect(&admin).await.context("connecting to PostgreSQL")?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut c).await?;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await?;
                c.close().await?;
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
                Ok(Database { url: format!("{base}/{name}"), engine, dir: None, pg_name: Some(name) })
            }
        }
    }

    /// A directory for files the story writes (backups …).
    pub fn scratch_dir(&self) -> PathBuf {
        match &self.dir {
            Some(d) => d.clone(),
            None => {
                let d = std::env::temp_dir().join(format!("keyuan-suite-{}-{}", std::process::id(), self.url.len()));
                let _ = std::fs::create_dir_all(&d);
                d
            }
        }
    }

    /// Removes the database. (Boxed so that the future's `Send` bound is
    /// checked here, with concrete lifetimes, not in every caller.)
    pub fn cleanup(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.cleanup_inner())
    }

    async fn cleanup_inner(&self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(name) = &self.pg_name {
            use sqlx::Connection;
            if let Ok(mut c) = sqlx::AnyConnection::connect(&pg_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await;
                let _ = c.close().await;
            }
        }
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }
}

/// A running Keyuan with its own database. Cheap to clone; the harness
/// keeps a clone and shuts the server down after the story, however it ended.
#[derive(Clone)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The store behind it, for setting up data and checking what was written.
    pub store: Store,
    /// Its database.
    pub db: Arc<Database>,
    server: Arc<tokio::task::AbortHandle>,
}

impl TestApp {
    /// Starts a server on a fresh database of `engine`.
    pub async fn spawn(engine: Engine) -> Result<TestApp> {
        Self::spawn_with(engine, web::Config::default()).await
    }

    /// Like [`TestApp::spawn`] with web settings.
    pub fn spawn_with(engine: Engine, config: web::Config) -> BoxFuture<'static, Result<TestApp>> {
        Box::pin(Self::spawn_inner(engine, config))
    }

    async fn spawn_inner(engine: Engine, config: web::Config) -> Result<TestApp> {
        let db = Database::create(engine).await?;
        let store = Store::connect(&db.url).await?;
        let app = web::app(store.clone(), config).map_err(|e| anyhow!(e))?;
        // Bind first, then serve: the port is open before the story starts.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
        })
        .abort_handle();
        Ok(TestApp { base: format!("http://{addr}"), store, db: Arc::new(db), server: Arc::new(server) })
    }

    /// Stops the server and removes the database.
    pub fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.server.abort();
            self.store.close().await;
            self.db.cleanup().await;
        })
    }

    /// The id of a team by name, created under `parent` if missing.
    pub async fn team(&self, name: &str, parent: Option<i64>) -> Result<i64> {
        if let Some(t) = store::teams::list(&self.store).await?.into_iter().find(|t| t.name == name) {
            return Ok(t.id.0);
        }
        let mut tx = self.store.begin().await?;
        let id =
            store::teams::create(&mut tx, &store::Actor::system("test"), name, parent.map(domain::ids::TeamId), None)
                .await?;
        tx.commit().await?;
        Ok(id.0)
    }

    /// Makes `user` the manager of `team`.
    pub async fn set_manager(&self, team: i64, user: i64) -> Result<()> {
        let t = store::teams::get(&self.store, domain::ids::TeamId(team)).await?;
        let mut tx = self.store.begin().await?;
        store::teams::update(
            &mut tx,
            &store::Actor::system("test"),
            t.id,
            t.version,
            &t.name,
            t.parent_id,
            Some(domain::ids::UserId(user)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a staff account with a role; returns its id and password.
    pub async fn create_user(&self, username: &str, role: &str, team: Option<i64>) -> Result<(i64, String)> {
        // The same strong password for every test account (it must not contain the username).
        let password = "Quartz-Lantern-Oyster-47!".to_string();
        let id = keyuan::cli::add_user(&self.store, username, role, None, None, None, "zh-CN", &password).await?;
        if let Some(t) = team {
            let u = store::users::get(&self.store, domain::ids::UserId(id)).await?;
            let mut ch = store::users::Changes::from(&u);
            ch.team_id = Some(domain::ids::TeamId(t));
            let mut tx = self.store.begin().await?;
            store::users::update(&mut tx, &store::Actor::system("test"), u.id, u.version, &ch).await?;
            tx.commit().await?;
        }
        Ok((id, password))
    }

    /// A plain HTTP client (no cookies, no redirects followed).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
    }

    /// An API client without credentials.
    pub fn anonymous(&self) -> Api {
        Api { base: self.base.clone(), client: self.client(), token: None }
    }

    /// An API client with a fresh token for this account.
    pub async fn api_as(&self, username: &str, password: &str) -> Result<Api> {
        let anon = self.anonymous();
        let (status, body) =
            anon.post("/api/v1/auth/token", &serde_json::json!({"username": username, "password": password})).await?;
        if status != StatusCode::OK {
            bail!("token for {username}: {status} {body}");
        }
        let token = body["token"].as_str().context("token in answer")?.to_string();
        Ok(Api { base: self.base.clone(), client: self.client(), token: Some(token) })
    }

    /// A browser-like client, logged in through the real login form.
    pub async fn browser(&self, username: &str, password: &str) -> Result<Browser> {
        let mut b = Browser::new(&self.base);
        b.login(username, password).await?;
        Ok(b)
    }
}

/// A JSON API client.
#[derive(Clone)]
pub struct Api {
    /// Server base URL.
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Bearer token.
    pub token: Option<String>,
}

impl Api {
    /// Sends a request; answers status and the JSON body (`Null` if none).
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value)> {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, json))
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Value)> {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Result<(StatusCode, Value)> {
        self.send(Method::GET, path, None).await
    }
    /// POST JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        self.send(Method::POST, path, Some(body)).await
    }
    /// PATCH JSON.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        self.send(Method::PATCH, path, Some(body)).await
    }
    /// PUT JSON.
    pub async fn put(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        self.send(Method::PUT, path, Some(body)).await
    }
    /// DELETE.
    pub async fn delete(&self, path: &str) -> Result<(StatusCode, Value)> {
        self.send(Method::DELETE, path, None).await
    }
}

/// A cookie-keeping client that behaves like a browser: it follows no
/// redirects by itself and echoes the CSRF token of the last page it saw.
pub struct Browser {
    /// Server base URL.
    pub base: String,
    /// HTTP client with a cookie store.
    pub client: reqwest::Client,
    csrf: Option<String>,
    location: Option<String>,
}

/// Finds `name="csrf" value="…"` in a page.
pub fn find_csrf(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")?;
    let rest = &html[i + "name=\"csrf\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Browser {
    /// A browser with no cookies yet.
    pub fn new(base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser { base: base.to_string(), client, csrf: None, location: None }
    }

    /// Logs in through the form; fails unless the server redirects away from it.
    pub async fn login(&mut self, username: &str, password: &str) -> Result<()> {
        let (status, html) = self.get("/login").await?;
        if status != StatusCode::OK {
            bail!("login page: {status}");
        }
        let csrf = find_csrf(&html).context("csrf field on the login page")?;
        let (status, body) = self
            .post_form("/login", &[("username", username), ("password", password), ("next", "/"), ("csrf", &csrf)])
            .await?;
        if status != StatusCode::SEE_OTHER {
            bail!("login as {username} failed: {status} {}", &body[..body.len().min(300)]);
        }
        Ok(())
    }

    /// GET a page; remembers its CSRF token.
    pub async fn get(&mut self, path: &str) -> Result<(StatusCode, String)> {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await?;
        self.finish(resp).await
    }

    /// POST a form. Adds the CSRF token of the last page unless the fields
    /// already carry one.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<(StatusCode, String)> {
        let mut pairs: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !pairs.iter().any(|(k, _)| k == "csrf") {
            if let Some(c) = &self.csrf {
                pairs.push(("csrf".into(), c.clone()));
            }
        }
        let resp = self.client.post(format!("{}{path}", self.base)).form(&pairs).send().await?;
        self.finish(resp).await
    }

    /// POST a form exactly as given (no CSRF token added).
    pub async fn post_form_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<(StatusCode, String)> {
        let resp = self.client.post(format!("{}{path}", self.base)).form(fields).send().await?;
        self.finish(resp).await
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Result<(StatusCode, String)> {
        let status = resp.status();
        self.location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let html = resp.text().await?;
        if let Some(c) = find_csrf(&html) {
            self.csrf = Some(c);
        }
        Ok((status, html))
    }

    /// The `Location` of the last answer, if it was a redirect.
    pub fn last_location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The CSRF token of the last page.
    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// Fails with a message showing the body when `cond` is false.
#[macro_export]
macro_rules! ensure_status {
    ($got:expr, $want:expr, $body:expr) => {
        if $got != $want {
            anyhow::bail!("expected {} but got {}: {}", $want, $got, $body);
        }
    };
}
