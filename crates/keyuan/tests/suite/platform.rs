//! Platform stories: health, the API document, route access for every
//! route, login and sessions, CSRF, throttling, API tokens, bad input and
//! error pages.

use crate::harness::{find_csrf, story, Browser, Story, TestApp};
use anyhow::{bail, ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::json;

pub fn stories() -> Vec<Story> {
    vec![
        story("healthz_reports_the_engine", healthz_reports_the_engine),
        story("every_route_is_declared_and_enforced_for_anonymous_callers", anonymous_callers_are_refused),
        story("a_new_role_starts_with_nothing", a_new_role_starts_with_nothing),
        story("login_gives_a_fresh_httponly_session", login_gives_a_fresh_httponly_session),
        story("secure_cookies_behind_tls", secure_cookies_behind_tls),
        story("state_changing_forms_need_the_csrf_token", forms_need_the_csrf_token),
        story("logout_ends_the_session_on_the_server", logout_ends_the_session),
        story("sessions_end_when_idle_or_too_old", sessions_end_when_idle_or_too_old),
        story("failed_logins_are_throttled_and_recorded", failed_logins_are_throttled),
        story("failed_logins_are_throttled_per_address", failed_logins_are_throttled_per_address),
        story("api_tokens_are_hashed_revocable_and_audited", api_tokens),
        story("bad_input_gets_a_clear_4xx_and_changes_nothing", bad_input),
        story("unknown_pages_get_a_friendly_404", unknown_pages),
        story("deactivated_staff_cannot_get_in", deactivated_staff_cannot_get_in),
        story("passwords_are_stored_as_argon2id", passwords_are_argon2id),
        story("times_are_shown_in_the_company_time_zone", times_follow_the_company_zone),
    ]
}

async fn healthz_reports_the_engine(app: TestApp) -> Result<()> {
    let (status, body) = app.anonymous().get("/healthz").await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(body["status"] == "ok");
    let want = match app.db.engine() {
        crate::harness::Engine::Sqlite => "SQLite",
        crate::harness::Engine::Postgres => "PostgreSQL",
    };
    ensure!(body["database"] == want, "{body}");
    Ok(())
}

/// Every operation of the document, with what it needs: `None` = public,
/// `Some("")` = logged in, `Some(code)` = permission.
async fn operations(app: &TestApp) -> Result<Vec<(Method, String, Option<String>)>> {
    let (status, doc) = app.anonymous().get("/api/openapi.json").await?;
    ensure!(status == StatusCode::OK, "openapi: {status}");
    ensure!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "an OpenAPI 3 document");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().context("paths")? {
        for (method, op) in item.as_object().context("path item")? {
            let method: Method = method.to_uppercase().parse()?;
            let security = op["security"].as_array().with_context(|| format!("{method} {path} declares no access"))?;
            let need = match security.first().and_then(|s| s.as_object()) {
                Some(o) if o.is_empty() => None,
                Some(o) => Some(
                    o.get("keyuan")
                        .and_then(|s| s.as_array())
                        .and_then(|a| a.first())
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                ),
                None => bail!("{method} {path}: empty security list"),
            };
            ops.push((method, path.replace("{id}", "1").replace("{file}", "app.css"), need));
        }
    }
    ensure!(ops.len() >= 10, "the document lists the routes ({})", ops.len());
    Ok(ops)
}

async fn anonymous_callers_are_refused(app: TestApp) -> Result<()> {
    let client = app.client();
    for (method, path, need) in operations(&app).await? {
        if need.is_none() {
            continue;
        }
        let resp = client.request(method.clone(), format!("{}{path}", app.base)).send().await?;
        let status = resp.status();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if path.starts_with("/api/") {
            ensure!(status == StatusCode::UNAUTHORIZED, "{method} {path}: anonymous got {status}");
        } else if method == Method::GET {
            ensure!(
                status == StatusCode::SEE_OTHER && location.starts_with("/login?next="),
                "{method} {path}: anonymous got {status} to {location:?}"
            );
        } else {
            // A form post without a session fails the CSRF check before anything else.
            ensure!(status == StatusCode::BAD_REQUEST, "{method} {path}: anonymous got {status}");
        }
    }
    Ok(())
}

async fn a_new_role_starts_with_nothing(app: TestApp) -> Result<()> {
    let mut tx = app.store.begin().await?;
    store::roles::create(&mut tx, &store::Actor::system("test"), "intern", "实习生", "Intern").await?;
    tx.commit().await?;
    let (_, pw) = app.create_user("xiaoming", "intern", None).await?;
    let api = app.api_as("xiaoming", &pw).await?;
    let mut checked = 0;
    for (method, path, need) in operations(&app).await? {
        let Some(code) = need else { continue };
        if code.is_empty() || !path.starts_with("/api/") {
            continue;
        }
        let (status, body) = api.send(method.clone(), &path, None).await?;
        ensure!(
            status == StatusCode::FORBIDDEN,
            "{method} {path} needs {code}; a role with nothing got {status} {body}"
        );
        ensure!(body["error"]["code"] == "forbidden", "{body}");
        checked += 1;
    }
    // Pages too: the dashboard itself needs dashboard.view.
    let mut b = app.browser("xiaoming", &pw).await?;
    let (status, html) = b.get("/").await?;
    ensure!(status == StatusCode::FORBIDDEN, "dashboard for a role with nothing: {status}");
    ensure!(html.contains("您没有权限访问此页面"), "a friendly 403 page in Chinese");
    // What every logged-in person may do still works.
    let (status, _) = api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::OK, "own tokens: {status}");
    ensure!(checked >= 1, "at least one API route needs a permission");
    Ok(())
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
}

async fn login_raw(app: &TestApp, username: &str, password: &str) -> Result<(StatusCode, Vec<String>, String)> {
    let client = app.client();
    let page = client.get(format!("{}/login", app.base)).send().await?;
    let cookies = set_cookies(&page);
    let csrf_cookie = cookies.iter().find(|c| c.starts_with("ky_csrf=")).context("ky_csrf cookie")?;
    let csrf_cookie = csrf_cookie.split(';').next().unwrap_or_default().to_string();
    let html = page.text().await?;
    let csrf = find_csrf(&html).context("csrf field")?;
    let resp = client
        .post(format!("{}/login", app.base))
        .header("cookie", csrf_cookie)
        .form(&[("username", username), ("password", password), ("csrf", &csrf), ("next", "/")])
        .send()
        .await?;
    let status = resp.status();
    let cookies = set_cookies(&resp);
    let body = resp.text().await?;
    Ok((status, cookies, body))
}

async fn login_gives_a_fresh_httponly_session(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let (status, _, body) = login_raw(&app, "lina", "wrong-password-123").await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "{status}");
    ensure!(body.contains("用户名或密码错误"), "the form again with a message");
    let (status, cookies, _) = login_raw(&app, "lina", &pw).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let session = cookies.iter().find(|c| c.starts_with("ky_session=")).context("session cookie")?.clone();
    ensure!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    ensure!(!session.contains("Secure"), "no Secure flag over plain HTTP: {session}");
    let (_, cookies2, _) = login_raw(&app, "lina", &pw).await?;
    let session2 = cookies2.iter().find(|c| c.starts_with("ky_session=")).context("second cookie")?;
    ensure!(session.split(';').next() != session2.split(';').next(), "a new session id at every login");
    // The database holds only a hash of the cookie's token.
    let token = session.trim_start_matches("ky_session=").split(';').next().unwrap_or_default();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id = $1")
        .bind(token)
        .fetch_one(app.store.pool())
        .await?;
    ensure!(stored == 0, "the raw session token is not stored");
    // The dashboard greets her in Chinese by default.
    let mut b = app.browser("lina", &pw).await?;
    let (status, html) = b.get("/").await?;
    ensure!(status == StatusCode::OK && html.contains("工作台") && html.contains("lina"), "{status}");
    Ok(())
}

async fn secure_cookies_behind_tls(app: TestApp) -> Result<()> {
    let secure =
        TestApp::spawn_with(app.db.engine(), web::Config { secure_cookies: true, ..Default::default() }).await?;
    let result = secure_cookie_is_set(secure.clone()).await;
    secure.shutdown().await;
    result
}

async fn secure_cookie_is_set(secure: TestApp) -> Result<()> {
    let (_, pw) = secure.create_user("lina", "sales", None).await?;
    let (status, cookies, _) = login_raw(&secure, "lina", &pw).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let session = cookies.iter().find(|c| c.starts_with("ky_session=")).context("cookie")?;
    ensure!(session.contains("; Secure"), "{session}");
    Ok(())
}

async fn forms_need_the_csrf_token(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    // The login form itself: without the token, or with one that does not
    // match the cookie, nobody is logged in.
    let mut b = Browser::new(&app.base);
    b.get("/login").await?;
    let (status, _) = b.post_form_raw("/login", &[("username", "lina"), ("password", &pw)]).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "login without csrf: {status}");
    let (status, _) = b.post_form_raw("/login", &[("username", "lina"), ("password", &pw), ("csrf", "forged")]).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "login with a forged csrf: {status}");
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(app.store.pool()).await?;
    ensure!(sessions == 0, "no session was created");
    // Logged in, a state-changing form without the token is refused.
    let mut b = app.browser("lina", &pw).await?;
    b.get("/").await?;
    let (status, _) = b.post_form_raw("/logout", &[]).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "logout without csrf: {status}");
    let (status, _) = b.get("/").await?;
    ensure!(status == StatusCode::OK, "still logged in: {status}");
    // A JSON call from the page's script must carry the header.
    let resp = b.client.delete(format!("{}/api/v1/auth/tokens/1", app.base)).send().await?;
    ensure!(
        resp.status() == StatusCode::BAD_REQUEST,
        "cookie-authenticated API call without X-CSRF-Token: {}",
        resp.status()
    );
    Ok(())
}

async fn logout_ends_the_session(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let mut b = app.browser("lina", &pw).await?;
    let (status, _) = b.get("/").await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = b.post_form("/logout", &[]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let (status, _) = b.get("/").await?;
    ensure!(status == StatusCode::SEE_OTHER && b.last_location().is_some_and(|l| l.starts_with("/login")));
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(app.store.pool()).await?;
    ensure!(sessions == 0, "the session row is gone");
    Ok(())
}

async fn sessions_end_when_idle_or_too_old(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let mut idle = app.browser("lina", &pw).await?;
    let mut old = app.browser("lina", &pw).await?;
    let mut fresh = app.browser("lina", &pw).await?;
    let rows: Vec<(String, i64)> = {
        use sqlx::Row;
        sqlx::query("SELECT id, created_at FROM sessions ORDER BY created_at, id")
            .fetch_all(app.store.pool())
            .await?
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect()
    };
    ensure!(rows.len() == 3);
    let now = store::now_ms();
    let mut tx = app.store.begin().await?;
    // Which row belongs to which browser does not matter for the rule; find
    // out by asking after the change.
    sqlx::query("UPDATE sessions SET updated_at = $1 WHERE id = $2")
        .bind(now - 31 * 60 * 1000)
        .bind(&rows[0].0)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2")
        .bind(now - 1)
        .bind(&rows[1].0)
        .execute(&mut **tx)
        .await?;
    tx.commit().await?;
    let mut refused = 0;
    for b in [&mut idle, &mut old, &mut fresh] {
        let (status, _) = b.get("/").await?;
        if status == StatusCode::SEE_OTHER {
            refused += 1;
        }
    }
    ensure!(refused == 2, "the idle and the too-old sessions ended, the fresh one lives ({refused} refused)");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(app.store.pool()).await?;
    ensure!(left == 1, "ended sessions are deleted ({left} left)");
    Ok(())
}

async fn failed_logins_are_throttled(app: TestApp) -> Result<()> {
    let (id, pw) = app.create_user("lina", "sales", None).await?;
    let anon = app.anonymous();
    for _ in 0..5 {
        let (status, _) =
            anon.post("/api/v1/auth/token", &json!({"username":"lina","password":"not-her-password-1"})).await?;
        ensure!(status == StatusCode::UNAUTHORIZED, "{status}");
    }
    let (status, body) = anon.post("/api/v1/auth/token", &json!({"username":"lina","password": pw})).await?;
    ensure!(status == StatusCode::TOO_MANY_REQUESTS, "the right password is refused while throttled: {status} {body}");
    ensure!(body["error"]["code"] == "too_many_attempts", "{body}");
    // The form says so too.
    let (status, _, html) = login_raw(&app, "lina", &pw).await?;
    ensure!(status == StatusCode::TOO_MANY_REQUESTS && html.contains("失败次数过多"), "{status}");
    // Another account from elsewhere is not affected.
    let (_, pw2) = app.create_user("zhangwei", "sales", None).await?;
    let (status, _) = anon.post("/api/v1/auth/token", &json!({"username":"zhangwei","password": pw2})).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let history = store::logins::list(
        &app.store,
        &store::visibility::Visibility {
            scope: domain::access::Scope::All,
            user_id: domain::ids::UserId(id),
            teams: vec![],
        },
        &store::logins::Filter { limit: 50, ..Default::default() },
    )
    .await?;
    let reasons: Vec<&str> = history.items.iter().filter(|a| a.username == "lina").map(|a| a.reason.as_str()).collect();
    ensure!(reasons.iter().filter(|r| **r == "bad_password").count() == 5, "{reasons:?}");
    ensure!(reasons.iter().filter(|r| **r == "throttled").count() == 2, "{reasons:?}");
    Ok(())
}

async fn failed_logins_are_throttled_per_address(app: TestApp) -> Result<()> {
    let strict =
        TestApp::spawn_with(app.db.engine(), web::Config { max_failures_per_ip: 3, ..Default::default() }).await?;
    let result = address_is_throttled(strict.clone()).await;
    strict.shutdown().await;
    result
}

async fn address_is_throttled(strict: TestApp) -> Result<()> {
    let (_, pw) = strict.create_user("lina", "sales", None).await?;
    let anon = strict.anonymous();
    for name in ["a-guess", "b-guess", "c-guess"] {
        let (status, _) =
            anon.post("/api/v1/auth/token", &json!({"username": name, "password":"whatever-guess-1"})).await?;
        ensure!(status == StatusCode::UNAUTHORIZED, "{status}");
    }
    let (status, _) = anon.post("/api/v1/auth/token", &json!({"username":"lina","password": pw})).await?;
    ensure!(status == StatusCode::TOO_MANY_REQUESTS, "the address is throttled for every account: {status}");
    Ok(())
}

async fn api_tokens(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let anon = app.anonymous();
    let (status, body) =
        anon.post("/api/v1/auth/token", &json!({"username":"lina","password":"nope-nope-nope-1"})).await?;
    ensure!(status == StatusCode::UNAUTHORIZED && body["error"]["code"] == "unauthorized", "{status} {body}");
    let (status, body) = anon
        .post("/api/v1/auth/token", &json!({"username":"lina","password":pw,"name":"手机","expires_in_days":0}))
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && body["error"]["fields"][0]["field"] == "expires_in_days",
        "{body}"
    );
    let (status, issued) =
        anon.post("/api/v1/auth/token", &json!({"username":"lina","password":pw,"name":"手机"})).await?;
    ensure!(status == StatusCode::OK, "{status} {issued}");
    let secret = issued["token"].as_str().context("token")?.to_string();
    ensure!(secret.starts_with("kyt_"));
    let api = crate::harness::Api { token: Some(secret.clone()), ..anon.clone() };
    let (status, list) = api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::OK && list["items"][0]["name"] == "手机", "{list}");
    ensure!(!list.to_string().contains(&secret), "the secret is never listed");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(&secret)
        .fetch_one(app.store.pool())
        .await?;
    ensure!(stored == 0, "only a hash is stored");
    // Someone else's token is not there for her.
    let (_, pw2) = app.create_user("zhangwei", "sales", None).await?;
    let other = app.api_as("zhangwei", &pw2).await?;
    let id = issued["id"].as_i64().context("id")?;
    let (status, _) = other.delete(&format!("/api/v1/auth/tokens/{id}")).await?;
    ensure!(status == StatusCode::NOT_FOUND, "another person's token is 404: {status}");
    let (status, _) = api.delete(&format!("/api/v1/auth/tokens/{id}")).await?;
    ensure!(status == StatusCode::NO_CONTENT, "{status}");
    let (status, body) = api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "a revoked token stops working: {status} {body}");
    // Issue and revoke are in the audit trail, without the secret.
    let rows = store::audit::list(
        &app.store,
        &store::visibility::Visibility {
            scope: domain::access::Scope::All,
            user_id: domain::ids::UserId(0),
            teams: vec![],
        },
        &store::audit::Filter { entity: Some("api_token".into()), limit: 10, ..Default::default() },
    )
    .await?;
    ensure!(rows.items.len() >= 3, "issues and revocation audited: {}", rows.items.len());
    ensure!(!serde_json::to_string(&rows.items)?.contains(&secret));
    Ok(())
}

async fn bad_input(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let anon = app.anonymous();
    let count =
        || async { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM api_tokens").fetch_one(app.store.pool()).await };
    let before = count().await?;
    let cases: Vec<(&str, Vec<u8>, StatusCode, Option<&str>)> = vec![
        ("application/json", b"{\"username\": \"lina\", ".to_vec(), StatusCode::BAD_REQUEST, None),
        ("application/json", b"{\"username\": \"\xff\xfe\"}".to_vec(), StatusCode::BAD_REQUEST, None),
        (
            "application/json",
            br#"{"username": 42, "password": "x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("username"),
        ),
        ("application/json", br#"{"username": "lina"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
        (
            "application/json",
            format!(r#"{{"username":"lina","password":"{pw}","admin":true}}"#).into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("admin"),
        ),
        (
            "text/plain",
            format!(r#"{{"username":"lina","password":"{pw}"}}"#).into_bytes(),
            StatusCode::BAD_REQUEST,
            None,
        ),
    ];
    for (ct, body, want, field) in cases {
        let shown = String::from_utf8_lossy(&body).to_string();
        let (status, answer) = anon.raw(Method::POST, "/api/v1/auth/token", ct, body).await?;
        ensure!(status == want, "{shown}: {status} {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        ensure!(!message.is_empty(), "a clear message: {answer}");
        if let Some(f) = field {
            ensure!(answer["error"]["fields"][0]["field"] == f, "names the field {f}: {answer}");
        }
    }
    let huge = vec![b' '; 2 * 1024 * 1024];
    // The server answers before reading the whole body and closes that
    // connection, so the oversize request gets a client of its own.
    let (status, answer) = app.anonymous().raw(Method::POST, "/api/v1/auth/token", "application/json", huge).await?;
    ensure!(status == StatusCode::PAYLOAD_TOO_LARGE && answer["error"]["code"] == "too_large", "{status} {answer}");
    let (status, answer) = anon.get("/api/v1/auth/tokens?limit=abc").await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "auth is checked first: {status} {answer}");
    ensure!(count().await? == before, "nothing was written");
    Ok(())
}

async fn unknown_pages(app: TestApp) -> Result<()> {
    let mut b = Browser::new(&app.base);
    let (status, html) = b.get("/no-such-page").await?;
    ensure!(status == StatusCode::NOT_FOUND && html.contains("页面不存在") && html.contains("<html"), "{status}");
    let (status, html) = b.get("/no-such-page?lang=en").await?;
    ensure!(status == StatusCode::NOT_FOUND && html.contains("Page not found"), "{status}");
    let (status, body) = app.anonymous().get("/api/v1/no-such-thing").await?;
    ensure!(status == StatusCode::NOT_FOUND && body["error"]["code"] == "not_found", "{status} {body}");
    let (status, body) = app.anonymous().send(Method::DELETE, "/api/openapi.json", None).await?;
    ensure!(
        status == StatusCode::METHOD_NOT_ALLOWED && body["error"]["code"] == "method_not_allowed",
        "{status} {body}"
    );
    Ok(())
}

async fn deactivated_staff_cannot_get_in(app: TestApp) -> Result<()> {
    let (id, pw) = app.create_user("lina", "sales", None).await?;
    let api = app.api_as("lina", &pw).await?;
    let mut b = app.browser("lina", &pw).await?;
    let u = store::users::get(&app.store, domain::ids::UserId(id)).await?;
    let mut ch = store::users::Changes::from(&u);
    ch.active = false;
    let mut tx = app.store.begin().await?;
    store::users::update(&mut tx, &store::Actor::system("test"), u.id, u.version, &ch).await?;
    tx.commit().await?;
    let (status, _) = api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "token refused: {status}");
    let (status, _) = b.get("/").await?;
    ensure!(status == StatusCode::SEE_OTHER, "session ended: {status}");
    let (status, _) = app.anonymous().post("/api/v1/auth/token", &json!({"username":"lina","password":pw})).await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "no new token: {status}");
    // Her account and its history stay.
    let still = store::users::get(&app.store, domain::ids::UserId(id)).await?;
    ensure!(!still.active && still.username == "lina");
    Ok(())
}

async fn passwords_are_argon2id(app: TestApp) -> Result<()> {
    let (id, pw) = app.create_user("lina", "sales", None).await?;
    let hash = store::users::password_hash(&app.store, domain::ids::UserId(id)).await?;
    ensure!(hash.starts_with("$argon2id$") && !hash.contains(&pw), "{hash}");
    Ok(())
}

async fn times_follow_the_company_zone(app: TestApp) -> Result<()> {
    let (id, pw) = app.create_user("lina", "sales", None).await?;
    let mut b = app.browser("lina", &pw).await?;
    let at = store::users::get(&app.store, domain::ids::UserId(id)).await?.last_login_at.context("last login")?;
    let utc = chrono::DateTime::from_timestamp_millis(at).context("instant")?;
    // November: Shanghai is UTC+8 all year, London is on GMT.
    let shanghai = (utc + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string();
    let london = utc.format("%Y-%m-%d %H:%M").to_string();
    ensure!(shanghai != london);
    let (_, html) = b.get("/").await?;
    ensure!(html.contains(&shanghai) && html.contains("Asia/Shanghai"), "default zone: expected {shanghai}");
    let mut p = store::settings::profile(&app.store).await?;
    p.timezone = "Europe/London".into();
    let mut tx = app.store.begin().await?;
    store::settings::update_profile(&mut tx, &store::Actor::system("test"), &p).await?;
    tx.commit().await?;
    let (_, html) = b.get("/").await?;
    ensure!(html.contains(&london) && html.contains("Europe/London"), "configured zone: expected {london}");
    Ok(())
}
