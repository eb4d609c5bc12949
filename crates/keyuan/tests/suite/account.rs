//! My account: password change, interface language, API tokens from the
//! page, and my own login history.

use crate::harness::{story, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("password_change_is_checked_and_ends_other_sessions", password_change),
        story("switching_the_language_makes_the_pages_english", language_switch),
        story("me_shows_my_role_and_permissions_and_changes_only_the_language", me_api),
        story("tokens_are_created_shown_once_and_revoked_from_the_page", tokens_from_the_page),
        story("my_login_history_shows_failures_and_successes_and_only_mine", own_login_history),
    ]
}

/// A passphrase that passes the policy and contains no username used here.
const NEW_PASSWORD: &str = "Kunming-Camellia-Ferry-2031";

fn field_of(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn code_of(body: &Value, field: &str) -> Option<String> {
    body["error"]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["field"] == field)
        .and_then(|f| f["code"].as_str().map(str::to_string))
}

async fn password_change(app: TestApp) -> Result<()> {
    let (_, old) = app.create_user("wangfang", "sales", None).await?;
    let api = app.api_as("wangfang", &old).await?;

    // The API refuses weak or unauthorised changes, naming the field.
    let (s, b) = api.post("/api/v1/me/password", &json!({"current_password": old, "new_password": "short"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "too short: {s} {b}");
    ensure!(code_of(&b, "new_password").as_deref() == Some("too_short"), "{b}");
    let (s, b) =
        api.post("/api/v1/me/password", &json!({"current_password": old, "new_password": "password1234"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "common: {s} {b}");
    ensure!(code_of(&b, "new_password").as_deref() == Some("too_common"), "{b}");
    let (s, b) = api
        .post(
            "/api/v1/me/password",
            &json!({"current_password": "not-my-password-at-all", "new_password": NEW_PASSWORD}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "wrong current: {s} {b}");
    ensure!(field_of(&b) == ["current_password"], "only the current password is wrong: {b}");
    let (s, b) = api.post("/api/v1/me/password", &json!({"current_password": old, "new": NEW_PASSWORD})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "unknown field: {s} {b}");
    // None of that changed anything: the old password still logs in.
    app.api_as("wangfang", &old).await.context("old password after refused changes")?;

    // Two browsers; the first changes the password through the page.
    let mut first = app.browser("wangfang", &old).await?;
    let mut second = app.browser("wangfang", &old).await?;
    let (s, _) = second.get("/account").await?;
    ensure!(s == StatusCode::OK, "second browser logged in: {s}");
    let (s, _) = first.get("/account").await?;
    ensure!(s == StatusCode::OK);
    let (s, html) = first
        .post_form(
            "/account/password",
            &[
                ("current_password", "wrong-guess-123456"),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "wrong current on the page: {s}");
    ensure!(html.contains("当前密码不正确"), "the form says why");
    let (s, html) = first
        .post_form(
            "/account/password",
            &[("current_password", &old), ("new_password", "abc"), ("confirm_password", "abc")],
        )
        .await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("密码至少需要 12 个字符"),
        "too short on the page: {s}"
    );
    let (s, html) = first
        .post_form(
            "/account/password",
            &[
                ("current_password", &old),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", "Kunming-Camellia-Ferry-2032"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("两次输入的新密码不一致"), "mismatch: {s}");
    let (s, _) = first
        .post_form(
            "/account/password",
            &[("current_password", &old), ("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "changed: {s}");
    ensure!(first.last_location() == Some("/account?saved=password"), "{:?}", first.last_location());

    // The browser that changed it stays in; the other one is sent to log in.
    let (s, html) = first.get("/account?saved=password").await?;
    ensure!(s == StatusCode::OK && html.contains("密码已修改"), "changing browser still in: {s}");
    let (s, _) = second.get("/account").await?;
    ensure!(s == StatusCode::SEE_OTHER, "other session ended: {s}");
    ensure!(second.last_location().is_some_and(|l| l.starts_with("/login")), "{:?}", second.last_location());

    // The old password no longer logs in; the new one does.
    ensure!(Browser::new(&app.base).login("wangfang", &old).await.is_err(), "old password refused");
    ensure!(app.api_as("wangfang", &old).await.is_err(), "old password refused for tokens");
    app.browser("wangfang", NEW_PASSWORD).await.context("new password logs in")?;
    // API tokens are kept: they were issued deliberately and are revoked one by one.
    let (s, _) = api.get("/api/v1/me").await?;
    ensure!(s == StatusCode::OK, "existing API token still works: {s}");

    // The change is in the audit trail, with the password itself never shown.
    let (_, admin_pw) = app.create_user("boss", "admin", None).await?;
    let admin = app.api_as("boss", &admin_pw).await?;
    let (s, b) = admin.get("/api/v1/audit?entity=user&action=update").await?;
    ensure!(s == StatusCode::OK, "{s} {b}");
    let row = b["items"]
        .as_array()
        .context("items")?
        .iter()
        .find(|r| r["summary"].as_str().is_some_and(|s| s.contains("password of wangfang")))
        .context("password change audited")?;
    ensure!(row["changes"][0]["after"] == "***", "{row}");
    ensure!(!b.to_string().contains(NEW_PASSWORD) && !b.to_string().contains("$argon2"), "no secret in the trail");
    Ok(())
}

async fn language_switch(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("liming", "sales", None).await?;
    let mut b = app.browser("liming", &pw).await?;
    let (s, html) = b.get("/").await?;
    ensure!(s == StatusCode::OK && html.contains("工作台") && html.contains("lang=\"zh-CN\""), "Chinese by default");
    let (s, html) = b.get("/account").await?;
    ensure!(s == StatusCode::OK && html.contains("我的账户") && html.contains("修改密码"), "account page in Chinese");

    let (s, _) = b.post_form("/account/locale", &[("locale", "en")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "saved: {s}");
    ensure!(b.last_location() == Some("/account?saved=language"));
    let (s, html) = b.get("/account?saved=language").await?;
    ensure!(s == StatusCode::OK && html.contains("Interface language updated"), "notice in English");
    ensure!(html.contains("My account") && html.contains("Change password") && !html.contains("修改密码"));
    let (s, html) = b.get("/").await?;
    ensure!(s == StatusCode::OK && html.contains("Dashboard") && html.contains("lang=\"en\""), "dashboard in English");
    ensure!(!html.contains("工作台"), "no Chinese navigation left");

    // An unknown language is refused and changes nothing.
    let (s, _) = b.post_form("/account/locale", &[("locale", "fr")]).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "fr: {s}");
    let (_, html) = b.get("/").await?;
    ensure!(html.contains("Dashboard"), "still English");

    // And back.
    b.get("/account").await?;
    let (s, _) = b.post_form("/account/locale", &[("locale", "zh-CN")]).await?;
    ensure!(s == StatusCode::SEE_OTHER);
    let (_, html) = b.get("/").await?;
    ensure!(html.contains("工作台"), "Chinese again");
    Ok(())
}

async fn me_api(app: TestApp) -> Result<()> {
    let team = app.team("华东分公司", None).await?;
    let (id, pw) = app.create_user("zhaolei", "manager", Some(team)).await?;
    let api = app.api_as("zhaolei", &pw).await?;
    let (s, me) = api.get("/api/v1/me").await?;
    ensure!(s == StatusCode::OK, "{s} {me}");
    ensure!(me["id"] == id && me["username"] == "zhaolei" && me["role"] == "manager" && me["team_id"] == team, "{me}");
    ensure!(me["locale"] == "zh-CN", "{me}");
    // Exactly the manager role's grants, each with its reach.
    let expected: serde_json::Map<String, Value> = domain::access::default_grants("manager")
        .0
        .iter()
        .map(|(p, s)| (p.code().to_string(), json!(s.code())))
        .collect();
    ensure!(me["permissions"] == Value::Object(expected), "the manager's grants: {me}");
    ensure!(me["permissions"]["audit.view"] == "team" && me["permissions"].get("users.manage").is_none(), "{me}");
    let version = me["version"].as_i64().context("version")?;

    let (s, b) = api.patch("/api/v1/me", &json!({"locale": "en", "version": version})).await?;
    ensure!(s == StatusCode::OK && b["locale"] == "en", "{s} {b}");
    ensure!(b["version"] == version + 1, "{b}");
    let (s, b) = api.patch("/api/v1/me", &json!({"locale": "zh-CN", "version": version})).await?;
    ensure!(s == StatusCode::CONFLICT, "stale: {s} {b}");
    ensure!(b["error"]["current_version"] == version + 1, "{b}");
    let (s, b) = api.patch("/api/v1/me", &json!({"locale": "fr", "version": version + 1})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && field_of(&b) == ["locale"], "{s} {b}");
    // Only the language: role, team and the rest are not mine to change.
    let (s, b) = api.patch("/api/v1/me", &json!({"locale": "zh-CN", "version": version + 1, "role": "admin"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && field_of(&b) == ["role"], "{s} {b}");
    let (_, me) = api.get("/api/v1/me").await?;
    ensure!(me["role"] == "manager" && me["locale"] == "en" && me["version"] == version + 1, "unchanged: {me}");

    let (s, _) = app.anonymous().get("/api/v1/me").await?;
    ensure!(s == StatusCode::UNAUTHORIZED, "anonymous: {s}");
    Ok(())
}

/// The secret shown on the page after creating a token.
fn shown_secret(html: &str) -> Option<String> {
    let i = html.find("kyt_")?;
    Some(html[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
}

async fn tokens_from_the_page(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("chenjing", "service", None).await?;
    let (_, other_pw) = app.create_user("sunli", "service", None).await?;
    let mut b = app.browser("chenjing", &pw).await?;
    let (s, html) = b.get("/account").await?;
    ensure!(s == StatusCode::OK && html.contains("还没有 API 令牌"), "no tokens yet");

    let (s, html) = b.post_form("/account/tokens", &[("name", " "), ("expires_in_days", "30")]).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("必填"), "a name is needed: {s}");
    let (s, _) = b.post_form("/account/tokens", &[("name", "x"), ("expires_in_days", "100000")]).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "lifetimes are the offered ones: {s}");

    let (s, html) = b.post_form("/account/tokens", &[("name", "报表脚本"), ("expires_in_days", "30")]).await?;
    ensure!(s == StatusCode::OK, "created: {s}");
    let secret = shown_secret(&html).context("the secret is shown")?;
    ensure!(html.contains("令牌已创建") && html.contains("报表脚本"));

    let token_api = crate::harness::Api { token: Some(secret.clone()), ..app.anonymous() };
    let (s, me) = token_api.get("/api/v1/me").await?;
    ensure!(s == StatusCode::OK && me["username"] == "chenjing", "the token works: {s} {me}");
    let (_, list) = token_api.get("/api/v1/auth/tokens").await?;
    let item = list["items"].as_array().context("items")?.iter().find(|t| t["name"] == "报表脚本").context("listed")?;
    let id = item["id"].as_i64().context("id")?;
    let days = chrono::DateTime::parse_from_rfc3339(item["expires_at"].as_str().context("expiry")?)?
        .signed_duration_since(chrono::Utc::now())
        .num_days();
    ensure!((29..=30).contains(&days), "expires in 30 days, not {days}");

    // Shown once: the page never shows the secret again.
    let (_, html) = b.get("/account").await?;
    ensure!(!html.contains(&secret) && html.contains("报表脚本"), "listed without the secret");

    // Someone else cannot revoke it.
    let mut other = app.browser("sunli", &other_pw).await?;
    other.get("/account").await?;
    let (s, _) = other.post_form(&format!("/account/tokens/{id}/revoke"), &[]).await?;
    ensure!(s == StatusCode::NOT_FOUND, "another person's token: {s}");
    let (s, _) = token_api.get("/api/v1/me").await?;
    ensure!(s == StatusCode::OK, "still works");

    let (s, _) = b.post_form(&format!("/account/tokens/{id}/revoke"), &[]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "revoked: {s}");
    let (s, b2) = token_api.get("/api/v1/me").await?;
    ensure!(s == StatusCode::UNAUTHORIZED, "a revoked token gets 401: {s} {b2}");
    let (_, html) = b.get("/account").await?;
    ensure!(html.contains("已吊销"), "shown as revoked");
    Ok(())
}

async fn own_login_history(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("huangmin", "finance", None).await?;
    let (_, other_pw) = app.create_user("zhouqi", "finance", None).await?;
    // A wrong password, then a right one; and someone else's attempts.
    ensure!(Browser::new(&app.base).login("huangmin", "not-the-password-123").await.is_err());
    ensure!(Browser::new(&app.base).login("zhouqi", "not-the-password-456").await.is_err());
    app.browser("zhouqi", &other_pw).await?;
    let mut b = app.browser("huangmin", &pw).await?;

    let (s, html) = b.get("/account").await?;
    ensure!(s == StatusCode::OK);
    let history = &html[html.find("id=\"logins\"").context("history section")?..];
    ensure!(history.contains("密码错误") && history.contains("登录成功"), "a failure and a success");
    ensure!(history.contains("失败") && history.contains("成功"));

    let api = app.api_as("huangmin", &pw).await?;
    let (s, body) = api.get("/api/v1/me/logins").await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let items = body["items"].as_array().context("items")?;
    ensure!(items.iter().all(|a| a["username"] == "huangmin"), "only mine: {body}");
    ensure!(items.iter().any(|a| a["success"] == false && a["reason"] == "bad_password"), "{body}");
    ensure!(items.iter().filter(|a| a["success"] == true).count() >= 2, "browser and token logins: {body}");
    ensure!(items[0]["at"].as_str().is_some_and(|t| t.ends_with('Z')), "RFC 3339 times: {body}");

    // Paging.
    let (_, p1) = api.get("/api/v1/me/logins?limit=1").await?;
    ensure!(p1["items"].as_array().map(Vec::len) == Some(1), "{p1}");
    let next = p1["next"].as_str().context("a next page")?;
    let (_, p2) = api.get(&format!("/api/v1/me/logins?limit=1&before={next}")).await?;
    ensure!(p2["items"][0]["id"] != p1["items"][0]["id"], "the next page is another attempt");
    let (s, b2) = api.get("/api/v1/me/logins?limit=0").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && field_of(&b2) == ["limit"], "{s} {b2}");
    Ok(())
}
