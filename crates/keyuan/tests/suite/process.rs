//! Stories about the `keyuan` program itself, run as a separate process:
//! crash safety, start-up failures, signals, the command line.

use crate::harness::{story, story_on, Story, TestApp, SQLITE_ONLY};
use anyhow::{ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

pub fn stories() -> Vec<Story> {
    vec![
        story("sigkill_after_an_acknowledged_write_loses_nothing", sigkill_loses_nothing),
        story_on("an_unreachable_database_gives_one_clear_line", SQLITE_ONLY, unreachable_database),
        story_on("sigterm_and_sigint_stop_the_server_cleanly", SQLITE_ONLY, signals_stop_cleanly),
        story("a_request_in_flight_at_sigterm_still_gets_its_answer", in_flight_request_finishes),
        story("backup_while_serving_then_restore_into_a_new_database", backup_and_restore),
        story("user_add_reads_the_password_and_checks_it", user_add),
        story("demo_fills_an_empty_database_once", demo_once),
    ]
}

fn keyuan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keyuan"));
    c.env_remove("KEYUAN_DATABASE_URL").env("KEYUAN_LOG", "warn");
    c
}

/// A `keyuan serve` process on `url`, with the address it printed.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(url: &str) -> Result<Server> {
        let mut child = keyuan()
            .args(["--database", url, "serve", "--addr", "127.0.0.1:0", "--no-jobs"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // The server prints its address once it is listening.
        let line = lines.next().context("the server printed nothing")??;
        let addr = line.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).context("address")?;
        let base = format!("http://{addr}");
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { child, base })
    }

    fn signal(&self, sig: &str) -> Result<()> {
        let ok = Command::new("kill").args([&format!("-{sig}"), &self.child.id().to_string()]).status()?.success();
        ensure!(ok, "kill -{sig}");
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn token(base: &str, username: &str, password: &str, name: &str) -> Result<String> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": username, "password": password, "name": name}))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "token: {}", resp.status());
    let body: serde_json::Value = resp.json().await?;
    Ok(body["token"].as_str().context("token")?.to_string())
}

async fn sigkill_loses_nothing(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let server = Server::start(&app.db.url)?;
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(token(&server.base, "lina", &pw, &format!("t{i}")).await?);
    }
    // Acknowledged: now the process dies without any chance to flush.
    server.signal("KILL")?;
    drop(server);
    let again = Server::start(&app.db.url)?;
    let client = reqwest::Client::new();
    for t in &tokens {
        let r = client.get(format!("{}/api/v1/auth/tokens", again.base)).bearer_auth(t).send().await?;
        ensure!(r.status() == StatusCode::OK, "a token issued before the crash works: {}", r.status());
        let body: serde_json::Value = r.json().await?;
        ensure!(body["items"].as_array().map(|a| a.len()) == Some(10), "all ten tokens are there: {body}");
    }
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'api_token'")
        .fetch_one(app.store.pool())
        .await?;
    ensure!(audited == 10, "and their audit rows ({audited})");
    Ok(())
}

async fn unreachable_database(_app: TestApp) -> Result<()> {
    for url in ["postgres://postgres@127.0.0.1:1/keyuan", "sqlite:///nonexistent-dir/sub/keyuan.db"] {
        let out = keyuan().args(["--database", url, "migrate"]).output()?;
        ensure!(!out.status.success(), "{url}: non-zero exit");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        ensure!(lines.len() == 1, "{url}: one line, got {err:?}");
        ensure!(lines[0].starts_with("keyuan: cannot open database"), "{url}: {err}");
        ensure!(!err.contains("panicked"), "{url}: no panic");
    }
    let out = keyuan().args(["--database", "mysql://x/y", "migrate"]).output()?;
    ensure!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
    Ok(())
}

async fn signals_stop_cleanly(app: TestApp) -> Result<()> {
    for sig in ["TERM", "INT"] {
        let mut server = Server::start(&app.db.url)?;
        let r = reqwest::get(format!("{}/healthz", server.base)).await?;
        ensure!(r.status() == StatusCode::OK);
        server.signal(sig)?;
        let status = server.child.wait()?;
        ensure!(status.success(), "SIG{sig}: clean exit, got {status}");
    }
    Ok(())
}

async fn in_flight_request_finishes(app: TestApp) -> Result<()> {
    use std::io::Read;
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let mut server = Server::start(&app.db.url)?;
    let addr = server.base.trim_start_matches("http://").to_string();
    let body = format!(r#"{{"username":"lina","password":"{pw}","name":"in-flight"}}"#);
    // A request whose body is still to come when the signal arrives. With
    // `Expect: 100-continue` the server says when the handler has started
    // reading the body, so the request is provably in flight.
    let mut conn = std::net::TcpStream::connect(&addr)?;
    write!(
        conn,
        "POST /api/v1/auth/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.flush()?;
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        ensure!(conn.read(&mut byte)? == 1, "connection closed before 100 Continue");
        interim.push(byte[0]);
    }
    ensure!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));
    server.signal("TERM")?;
    // Shutdown has begun once new connections are refused (bounded wait).
    let mut refused = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    ensure!(refused, "the server stopped accepting new connections");
    conn.write_all(body.as_bytes())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    ensure!(answer.starts_with("HTTP/1.1 200"), "the request in flight was answered: {answer}");
    ensure!(answer.contains("kyt_"), "with its token");
    let status = server.child.wait()?;
    ensure!(status.success(), "then the server exits cleanly: {status}");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE name = 'in-flight'")
        .fetch_one(app.store.pool())
        .await?;
    ensure!(stored == 1, "and its write is stored");
    Ok(())
}

async fn backup_and_restore(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let dir = app.db.scratch_dir();
    let file = dir.join(format!("backup-{}.db", app.db.engine().name()));
    let _ = std::fs::remove_file(&file);
    // Online: the server keeps running and writing while the copy is made.
    let server = Server::start(&app.db.url)?;
    token(&server.base, "lina", &pw, "before-backup").await?;
    let out = keyuan().args(["--database", &app.db.url, "backup", file.to_str().context("path")?]).output()?;
    ensure!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
    ensure!(String::from_utf8_lossy(&out.stdout).contains("Backup written"), "summary printed");
    let out = keyuan().args(["--database", &app.db.url, "backup", file.to_str().context("path")?]).output()?;
    ensure!(!out.status.success(), "an existing file is never overwritten");
    drop(server);
    // Restore into a new database of the same engine.
    let target = crate::harness::Database::create(app.db.engine()).await?;
    let result = async {
        let out = keyuan().args(["--database", &target.url, "restore", file.to_str().context("path")?]).output()?;
        ensure!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));
        let restored = Server::start(&target.url)?;
        let t = token(&restored.base, "lina", &pw, "after-restore").await?;
        let r =
            reqwest::Client::new().get(format!("{}/api/v1/auth/tokens", restored.base)).bearer_auth(&t).send().await?;
        let body: serde_json::Value = r.json().await?;
        ensure!(body["items"].as_array().map(|a| a.len()) == Some(2), "the pre-backup token came back: {body}");
        // A second restore into the now non-empty database is refused.
        let out = keyuan().args(["--database", &target.url, "restore", file.to_str().context("path")?]).output()?;
        ensure!(!out.status.success(), "restore into a database with data is refused");
        ensure!(String::from_utf8_lossy(&out.stderr).contains("already holds data"));
        Ok(())
    }
    .await;
    target.cleanup().await;
    let _ = std::fs::remove_file(&file);
    result
}

fn user_add_with(url: &str, username: &str, role: &str, password: &str) -> Result<std::process::Output> {
    let mut child = keyuan()
        .args(["--database", url, "user", "add", "--username", username, "--role", role, "--name", "王芳"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(format!("{password}\n").as_bytes())?;
    Ok(child.wait_with_output()?)
}

async fn user_add(app: TestApp) -> Result<()> {
    let out = user_add_with(&app.db.url, "wangfang", "finance", "password1234")?;
    ensure!(!out.status.success(), "a common password is refused");
    ensure!(String::from_utf8_lossy(&out.stderr).contains("password"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = user_add_with(&app.db.url, "wangfang", "pilot", "Lantern-Oyster-Guilin-47")?;
    ensure!(String::from_utf8_lossy(&out.stderr).contains("role"), "unknown role named");
    let out = user_add_with(&app.db.url, "wangfang", "finance", "Lantern-Oyster-Guilin-47")?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = user_add_with(&app.db.url, "wangfang", "finance", "Lantern-Oyster-Guilin-47")?;
    ensure!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("username"), "duplicate refused");
    let api = app.api_as("wangfang", "Lantern-Oyster-Guilin-47").await?;
    let (status, _) = api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::OK);
    let u = store::users::for_login(&app.store, "wangfang").await?.context("user")?.0;
    ensure!(u.role_code == "finance" && u.display_name == "王芳");
    Ok(())
}

async fn demo_once(app: TestApp) -> Result<()> {
    // Demo data goes into a database of its own.
    let db = crate::harness::Database::create(app.db.engine()).await?;
    let result = demo_into(db.url.clone()).await;
    db.cleanup().await;
    result
}

async fn demo_into(url: String) -> Result<()> {
    let out = keyuan().args(["--database", &url, "demo"]).output()?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    ensure!(text.contains(keyuan::demo::DEMO_PASSWORD) && text.contains("admin"), "how to log in: {text}");
    let out = keyuan().args(["--database", &url, "demo"]).output()?;
    ensure!(String::from_utf8_lossy(&out.stdout).contains("already has staff accounts"));
    let server = Server::start(&url)?;
    let logins = [
        ("admin", "admin"),
        ("wangjianguo", "manager"),
        ("lina", "sales"),
        ("zhoujie", "operator"),
        ("wufang", "service"),
        ("zhengjie", "finance"),
        ("heping", "front_desk"),
    ];
    for (user, role) in logins {
        token(&server.base, user, keyuan::demo::DEMO_PASSWORD, "demo")
            .await
            .with_context(|| format!("{user} ({role})"))?;
    }
    let store = store::Store::connect(&url).await?;
    let roles: Vec<String> = store::users::all_active(&store).await?.into_iter().map(|u| u.role_code).collect();
    let holidays = store::settings::holidays(&store, 2026).await?;
    store.close().await;
    for r in domain::access::BUILTIN_ROLES {
        ensure!(roles.iter().any(|x| x == r), "a demo user with role {r}");
    }
    ensure!(holidays.iter().any(|h| h.name == "国庆节"), "2026 holidays");
    ensure!(holidays.iter().any(|h| h.kind == domain::calendar::DayKind::Workday), "adjusted working days");
    Ok(())
}
