//! The audit trail and other people's login history: masking, filters,
//! reach by team, refusals, and no way to change the trail over HTTP.

use crate::harness::{story, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("api_changes_appear_masked_and_filters_work", changes_appear_masked),
        story("managers_see_their_branch_and_sales_are_refused", reach_by_team),
        story("the_trail_cannot_be_changed_over_http", trail_is_read_only),
        story("login_history_admin_sees_all_manager_sees_the_team", login_history_by_team),
        story("audit_and_login_pages_render_in_chinese_and_english", pages_in_both_languages),
    ]
}

fn items(body: &Value) -> Result<&Vec<Value>> {
    body["items"].as_array().with_context(|| format!("items in {body}"))
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn shanghai_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

async fn changes_appear_masked(app: TestApp) -> Result<()> {
    let (admin_id, pw) = app.create_user("admin1", "admin", None).await?;
    let api = app.api_as("admin1", &pw).await?;
    let (s, u) = api
        .post(
            "/api/v1/users",
            &json!({"username": "lina", "display_name": "李娜", "phone": "13812345678", "email": "lina@example.cn",
                "role": "sales", "password": "Yangshuo-Bamboo-Raft-88"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "user created: {s} {u}");
    let id = u["id"].as_i64().context("id")?;
    let (s, u) =
        api.patch(&format!("/api/v1/users/{id}"), &json!({"version": u["version"], "phone": "13987654321"})).await?;
    ensure!(s == StatusCode::OK, "phone changed: {s} {u}");

    let (s, body) = api.get(&format!("/api/v1/audit?entity=user&entity_id={id}")).await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let rows = items(&body)?;
    ensure!(rows.len() == 2, "create and update: {body}");
    let (update, create) = (&rows[0], &rows[1]);
    ensure!(update["action"] == "update" && create["action"] == "create", "newest first: {body}");
    ensure!(update["actor_id"] == admin_id && update["actor_name"].as_str().is_some_and(|n| n.contains("admin1")));
    let phone =
        update["changes"].as_array().context("changes")?.iter().find(|c| c["field"] == "phone").context("phone")?;
    ensure!(phone["before"] == "138****5678" && phone["after"] == "139****4321", "masked: {phone}");
    let email =
        create["changes"].as_array().context("changes")?.iter().find(|c| c["field"] == "email").context("email")?;
    ensure!(email["after"] == "l***@example.cn", "masked: {email}");
    let text = body.to_string();
    ensure!(!text.contains("13812345678") && !text.contains("13987654321") && !text.contains("lina@example.cn"));
    ensure!(update["at"].as_str().is_some_and(|t| t.ends_with('Z')) && update["request_id"].is_string(), "{update}");

    // Filters.
    let (_, b) = api.get(&format!("/api/v1/audit?entity=user&entity_id={id}&action=create")).await?;
    ensure!(items(&b)?.len() == 1 && b["items"][0]["action"] == "create", "by action: {b}");
    let (_, b) = api.get(&format!("/api/v1/audit?actor_id={admin_id}")).await?;
    ensure!(!items(&b)?.is_empty() && items(&b)?.iter().all(|r| r["actor_id"] == admin_id), "by actor: {b}");
    let (_, b) = api.get("/api/v1/audit?entity=holiday").await?;
    ensure!(items(&b)?.is_empty(), "by entity: {b}");
    let today = shanghai_today();
    let (_, b) = api.get(&format!("/api/v1/audit?entity=user&entity_id={id}&from={today}&to={today}")).await?;
    ensure!(items(&b)?.len() == 2, "today, as a local date: {b}");
    let tomorrow = today.succ_opt().context("tomorrow")?;
    let (_, b) = api.get(&format!("/api/v1/audit?from={tomorrow}")).await?;
    ensure!(items(&b)?.is_empty(), "nothing from tomorrow: {b}");
    let (_, b) = api.get("/api/v1/audit?to=2000-01-01T00:00:00Z").await?;
    ensure!(items(&b)?.is_empty(), "RFC 3339 bounds: {b}");
    let (s, b) = api.get("/api/v1/audit?action=erase&from=last-week").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b) == ["action", "from"], "{s} {b}");

    // Paging with the cursor.
    let (_, p1) = api.get("/api/v1/audit?limit=1").await?;
    let next = p1["next"].as_str().context("a next page")?;
    let (_, p2) = api.get(&format!("/api/v1/audit?limit=1&before={next}")).await?;
    ensure!(p2["items"][0]["id"].as_i64() < p1["items"][0]["id"].as_i64(), "older rows next: {p1} {p2}");

    // The page shows the same rows, masked, with the next-page link.
    let mut b = app.browser("admin1", &pw).await?;
    let (s, html) = b.get(&format!("/audit?entity=user&entity_id={id}")).await?;
    ensure!(s == StatusCode::OK, "{s}");
    ensure!(html.contains("138****5678") && html.contains("139****4321") && !html.contains("13812345678"));
    ensure!(
        html.contains("<span class=\"tag\">修改</span>") && html.contains("<span class=\"tag\">新建</span>"),
        "actions in Chinese"
    );
    let (s, html) = b.get("/audit?action=update").await?;
    ensure!(s == StatusCode::OK && !html.contains("l***@example.cn"), "the create row is filtered out");
    let (_, html) = b.get("/audit").await?;
    ensure!(!html.contains("下一页"), "one page only so far");
    for n in 0..55 {
        app.team(&format!("团队{n}"), None).await?;
    }
    let (_, html) = b.get("/audit?entity=team").await?;
    let link = html.split("href=\"/audit?").nth(1).context("a next-page link")?;
    let link =
        format!("/audit?{}", &link[..link.find('"').context("end")?].replace("&#38;", "&").replace("&amp;", "&"));
    ensure!(link.contains("entity=team") && link.contains("before="), "the link keeps the filter: {link}");
    let (s, html) = b.get(&link).await?;
    ensure!(s == StatusCode::OK && html.contains("团队0") && !html.contains("下一页"), "the second page: {s}");
    let (s, html) = b.get("/audit?from=someday").await?;
    ensure!(s == StatusCode::OK && html.contains("class=\"alert\""), "a bad filter is explained: {s}");
    Ok(())
}

/// East branch with a Shanghai team below it, and a separate South branch.
struct Org {
    manager: (i64, String),
    shanghai: (i64, String),
    south: (i64, String),
}

async fn org(app: &TestApp) -> Result<Org> {
    let east = app.team("华东分公司", None).await?;
    let shanghai = app.team("上海销售一部", Some(east)).await?;
    let south = app.team("华南分公司", None).await?;
    let manager = app.create_user("mgr_east", "manager", Some(east)).await?;
    let sh = app.create_user("sh_sales", "sales", Some(shanghai)).await?;
    let gz = app.create_user("gz_sales", "sales", Some(south)).await?;
    Ok(Org { manager, shanghai: sh, south: gz })
}

async fn reach_by_team(app: TestApp) -> Result<()> {
    let o = org(&app).await?;
    // Each salesperson does something audited: issuing themselves a token.
    let sh = app.api_as("sh_sales", &o.shanghai.1).await?;
    let gz = app.api_as("gz_sales", &o.south.1).await?;
    let mgr = app.api_as("mgr_east", &o.manager.1).await?;

    let (s, b) = mgr.get("/api/v1/audit?limit=200").await?;
    ensure!(s == StatusCode::OK, "{s} {b}");
    let actors: Vec<i64> = items(&b)?.iter().filter_map(|r| r["actor_id"].as_i64()).collect();
    ensure!(actors.contains(&o.shanghai.0), "the Shanghai team's actions: {actors:?}");
    ensure!(actors.contains(&o.manager.0), "the manager's own");
    ensure!(!actors.contains(&o.south.0), "not the other branch: {actors:?}");
    ensure!(items(&b)?.iter().all(|r| r["actor_id"].is_i64()), "not the system's actions either");
    let (s, b) = mgr.get(&format!("/api/v1/audit?actor_id={}", o.south.0)).await?;
    ensure!(s == StatusCode::OK && items(&b)?.is_empty(), "filtering for the other branch finds nothing: {b}");

    let (_, admin_pw) = app.create_user("root", "admin", None).await?;
    let admin = app.api_as("root", &admin_pw).await?;
    let (_, b) = admin.get(&format!("/api/v1/audit?actor_id={}", o.south.0)).await?;
    ensure!(!items(&b)?.is_empty(), "the administrator sees every branch");

    for api in [&sh, &gz] {
        let (s, b) = api.get("/api/v1/audit").await?;
        ensure!(s == StatusCode::FORBIDDEN && b["error"]["code"] == "forbidden", "sales: {s} {b}");
    }
    let mut page = app.browser("sh_sales", &o.shanghai.1).await?;
    let (s, _) = page.get("/audit").await?;
    ensure!(s == StatusCode::FORBIDDEN, "sales page: {s}");
    let mut page = app.browser("mgr_east", &o.manager.1).await?;
    let (s, html) = page.get("/audit").await?;
    ensure!(s == StatusCode::OK && html.contains("sh_sales") && !html.contains("gz_sales"), "manager's page: {s}");
    Ok(())
}

async fn trail_is_read_only(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("auditor", "admin", None).await?;
    let api = app.api_as("auditor", &pw).await?;
    let (_, before) = api.get("/api/v1/audit").await?;
    let first = before["items"][0].clone();
    let id = first["id"].as_i64().context("a row")?;
    let attempts = [
        (Method::PUT, "/api/v1/audit".to_string()),
        (Method::PATCH, "/api/v1/audit".to_string()),
        (Method::DELETE, "/api/v1/audit".to_string()),
        (Method::POST, "/api/v1/audit".to_string()),
        (Method::GET, format!("/api/v1/audit/{id}")),
        (Method::PUT, format!("/api/v1/audit/{id}")),
        (Method::PATCH, format!("/api/v1/audit/{id}")),
        (Method::DELETE, format!("/api/v1/audit/{id}")),
    ];
    for (method, path) in attempts {
        let (s, b) = api.send(method.clone(), &path, Some(&json!({"summary": "nothing happened"}))).await?;
        ensure!(s == StatusCode::METHOD_NOT_ALLOWED || s == StatusCode::NOT_FOUND, "{method} {path}: {s} {b}");
    }
    let mut b = app.browser("auditor", &pw).await?;
    b.get("/audit").await?;
    let (s, _) = b.post_form("/audit", &[("summary", "x")]).await?;
    ensure!(s == StatusCode::METHOD_NOT_ALLOWED, "no form posts to the trail: {s}");
    let (_, after) = api.get("/api/v1/audit").await?;
    let same = after["items"].as_array().context("items")?.iter().find(|r| r["id"] == id).context("still there")?;
    ensure!(*same == first, "unchanged: {same}");
    Ok(())
}

async fn login_history_by_team(app: TestApp) -> Result<()> {
    let o = org(&app).await?;
    let (_, admin_pw) = app.create_user("root", "admin", None).await?;
    for (user, pw) in [("sh_sales", "wrong-password-1"), ("gz_sales", "wrong-password-2"), ("ghost", "whatever-123")] {
        ensure!(Browser::new(&app.base).login(user, pw).await.is_err(), "{user} refused");
    }
    app.browser("sh_sales", &o.shanghai.1).await?;
    app.browser("gz_sales", &o.south.1).await?;

    let admin = app.api_as("root", &admin_pw).await?;
    let (s, b) = admin.get("/api/v1/logins").await?;
    ensure!(s == StatusCode::OK, "{s} {b}");
    let names: Vec<&str> = items(&b)?.iter().filter_map(|a| a["username"].as_str()).collect();
    for n in ["sh_sales", "gz_sales", "ghost", "root"] {
        ensure!(names.contains(&n), "the administrator sees {n}: {names:?}");
    }
    let (_, b) = admin.get(&format!("/api/v1/logins?user_id={}&success=false", o.shanghai.0)).await?;
    let rows = items(&b)?;
    ensure!(rows.len() == 1 && rows[0]["reason"] == "bad_password" && rows[0]["user_id"] == o.shanghai.0, "{b}");
    let (_, b) = admin.get("/api/v1/logins?success=true").await?;
    ensure!(items(&b)?.iter().all(|a| a["success"] == true), "{b}");
    let (s, b) = admin.get("/api/v1/logins?success=maybe").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b) == ["success"], "{s} {b}");
    let (_, p1) = admin.get("/api/v1/logins?limit=2").await?;
    let next = p1["next"].as_str().context("next")?;
    let (_, p2) = admin.get(&format!("/api/v1/logins?limit=2&before={next}")).await?;
    ensure!(p2["items"][0]["id"].as_i64() < p1["items"][1]["id"].as_i64(), "paging");

    let mgr = app.api_as("mgr_east", &o.manager.1).await?;
    let (s, b) = mgr.get("/api/v1/logins?limit=200").await?;
    ensure!(s == StatusCode::OK, "{s} {b}");
    let names: Vec<&str> = items(&b)?.iter().filter_map(|a| a["username"].as_str()).collect();
    ensure!(names.contains(&"sh_sales") && names.contains(&"mgr_east"), "the team: {names:?}");
    ensure!(!names.contains(&"gz_sales") && !names.contains(&"ghost") && !names.contains(&"root"), "{names:?}");
    let (_, b) = mgr.get(&format!("/api/v1/logins?user_id={}", o.south.0)).await?;
    ensure!(items(&b)?.is_empty(), "the other branch stays hidden: {b}");

    let mut page = app.browser("mgr_east", &o.manager.1).await?;
    let (s, html) = page.get("/admin/logins").await?;
    ensure!(s == StatusCode::OK && html.contains("sh_sales") && !html.contains("gz_sales"), "manager's page: {s}");
    let (s, html) = page.get("/admin/logins?success=false").await?;
    ensure!(s == StatusCode::OK && html.contains("密码错误") && !html.contains("登录成功"), "failures only: {s}");

    let sales = app.api_as("sh_sales", &o.shanghai.1).await?;
    let (s, _) = sales.get("/api/v1/logins").await?;
    ensure!(s == StatusCode::FORBIDDEN, "sales: {s}");
    let mut page = app.browser("sh_sales", &o.shanghai.1).await?;
    let (s, _) = page.get("/admin/logins").await?;
    ensure!(s == StatusCode::FORBIDDEN, "sales page: {s}");
    Ok(())
}

async fn pages_in_both_languages(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("admin2", "admin", None).await?;
    let mut b = app.browser("admin2", &pw).await?;
    let (s, html) = b.get("/audit").await?;
    ensure!(s == StatusCode::OK && html.contains("操作日志") && html.contains("操作人") && html.contains("开始日期"));
    let (s, html) = b.get("/admin/logins").await?;
    ensure!(s == StatusCode::OK && html.contains("登录记录") && html.contains("登录成功"), "{s}");

    let api = app.api_as("admin2", &pw).await?;
    let (_, me) = api.get("/api/v1/me").await?;
    let (s, _) = api.patch("/api/v1/me", &json!({"locale": "en", "version": me["version"]})).await?;
    ensure!(s == StatusCode::OK);
    let (s, html) = b.get("/audit").await?;
    ensure!(s == StatusCode::OK && html.contains("Audit trail") && html.contains("From") && html.contains("Update"));
    ensure!(!html.contains("操作日志"), "no Chinese left");
    let (s, html) = b.get("/admin/logins").await?;
    ensure!(s == StatusCode::OK && html.contains("Login history") && html.contains("Logged in"), "{s}");
    Ok(())
}
