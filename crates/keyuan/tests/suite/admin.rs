//! Staff administration stories: accounts, teams and roles through the API
//! and the pages, who may use them, and the rules that keep administrators
//! from locking everyone out.

use crate::harness::{story, Api, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("api_creates_lists_filters_pages_and_changes_users", api_users),
        story("invalid_users_get_422_naming_each_field", invalid_users),
        story("stale_versions_get_409_and_change_nothing", stale_versions),
        story("deactivated_staff_lose_access_and_keep_their_records", deactivation),
        story("staff_without_users_manage_are_refused_everywhere", others_are_refused),
        story("teams_form_a_tree_without_cycles_and_only_empty_ones_go", teams_tree),
        story("a_new_role_starts_empty_and_grants_take_effect", roles_and_grants),
        story("administrators_cannot_lock_themselves_out", no_self_lockout),
        story("admin_pages_create_edit_and_reset_passwords", user_pages),
        story("admin_pages_speak_chinese_and_english", pages_in_both_languages),
        story("admin_forms_without_csrf_are_refused_and_change_nothing", forms_need_csrf),
    ]
}

/// Good passwords for accounts these stories make through the API and the pages.
const PASSWORD: &str = "Harbour-Camellia-Quartz-93";
const PASSWORD_2: &str = "Glacier-Persimmon-Violet-58";

async fn admin(app: &TestApp) -> Result<(i64, String, Api)> {
    let (id, pw) = app.create_user("boss", "admin", None).await?;
    let api = app.api_as("boss", &pw).await?;
    Ok((id, pw, api))
}

/// The `(field, code)` pairs of an error answer.
fn fields(body: &Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (f["field"].as_str().unwrap_or("").to_string(), f["code"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn has_field(body: &Value, field: &str, code: &str) -> bool {
    fields(body).iter().any(|(f, c)| f == field && c == code)
}

async fn role_id(api: &Api, code: &str) -> Result<i64> {
    let (status, body) = api.get("/api/v1/roles").await?;
    ensure!(status == StatusCode::OK, "roles: {status} {body}");
    body["items"]
        .as_array()
        .context("items")?
        .iter()
        .find(|r| r["code"] == code)
        .and_then(|r| r["id"].as_i64())
        .with_context(|| format!("role {code}"))
}

async fn user_count(app: &TestApp) -> Result<i64> {
    Ok(store::users::count(&app.store).await?)
}

async fn new_user(api: &Api, username: &str, role: &str, extra: Value) -> Result<Value> {
    let mut body = json!({"username": username, "display_name": username, "role": role, "password": PASSWORD});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, out) = api.post("/api/v1/users", &body).await?;
    ensure!(status == StatusCode::CREATED, "creating {username}: {status} {out}");
    Ok(out)
}

async fn api_users(app: TestApp) -> Result<()> {
    let (_, _, api) = admin(&app).await?;
    let team = app.team("华东分公司", None).await?;
    let (status, wang) = api
        .post(
            "/api/v1/users",
            &json!({"username": " WangFang ", "display_name": "王芳", "email": "wang.fang@example.cn",
                    "phone": "138 1234 5678", "role": "sales", "team_id": team, "locale": "en", "password": PASSWORD}),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status} {wang}");
    ensure!(wang["username"] == "wangfang", "usernames are stored lower-case: {wang}");
    ensure!(wang["display_name"] == "王芳" && wang["role"] == "sales" && wang["team_id"] == team, "{wang}");
    ensure!(wang["locale"] == "en" && wang["active"] == true && wang["version"] == 1, "{wang}");
    ensure!(wang["email"] == "wang.fang@example.cn" && wang["phone"] == "138 1234 5678", "{wang}");
    ensure!(wang["last_login_at"].is_null(), "{wang}");
    ensure!(wang["created_at"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "RFC 3339: {wang}");
    let text = wang.to_string();
    ensure!(!text.contains("argon2") && !text.contains("password"), "no hash or password in the answer: {text}");
    let wang_id = wang["id"].as_i64().context("id")?;

    // A role by id works as well as by code.
    let operator = role_id(&api, "operator").await?;
    let (status, li) = api
        .post(
            "/api/v1/users",
            &json!({"username": "liming", "display_name": "李明", "role_id": operator, "password": PASSWORD}),
        )
        .await?;
    ensure!(status == StatusCode::CREATED && li["role"] == "operator" && li["locale"] == "zh-CN", "{status} {li}");
    for name in ["sales01", "sales02", "sales03"] {
        new_user(&api, name, "sales", json!({})).await?;
    }
    let total = user_count(&app).await?;
    ensure!(total == 6, "boss + 5 ({total})");

    // Pages of two, followed to the end, give everyone once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_string();
    loop {
        let (status, page) = api.get(&path).await?;
        ensure!(status == StatusCode::OK, "{path}: {status} {page}");
        let items = page["items"].as_array().context("items")?;
        ensure!(items.len() <= 2, "{page}");
        seen.extend(items.iter().filter_map(|u| u["id"].as_i64()));
        match page["next"].as_str() {
            Some(n) => path = format!("/api/v1/users?limit=2&before={n}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    ensure!(seen.len() == 6 && unique.len() == 6, "every account exactly once: {seen:?}");
    ensure!(seen.windows(2).all(|w| w[0] > w[1]), "newest first: {seen:?}");

    // Filters.
    let (_, found) = api.get("/api/v1/users?q=WANG").await?;
    ensure!(found["items"].as_array().map(Vec::len) == Some(1) && found["items"][0]["id"] == wang_id, "{found}");
    let (_, found) = api.get("/api/v1/users?q=%E7%8E%8B%E8%8A%B3").await?;
    ensure!(found["items"].as_array().map(Vec::len) == Some(1), "search by display name 王芳: {found}");
    let sales = role_id(&api, "sales").await?;
    let (_, found) = api.get(&format!("/api/v1/users?role_id={sales}")).await?;
    let items = found["items"].as_array().context("items")?;
    ensure!(items.len() == 4 && items.iter().all(|u| u["role"] == "sales"), "{found}");
    let (_, found) = api.get(&format!("/api/v1/users?team_id={team}")).await?;
    ensure!(found["items"].as_array().map(Vec::len) == Some(1), "{found}");
    let (_, found) = api.get("/api/v1/users?active=false").await?;
    ensure!(found["items"].as_array().is_some_and(Vec::is_empty), "{found}");
    let (status, body) = api.get("/api/v1/users?limit=0").await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "limit", "out_of_range"), "{body}");

    // One account, and one that does not exist.
    let (status, got) = api.get(&format!("/api/v1/users/{wang_id}")).await?;
    ensure!(status == StatusCode::OK && got == wang, "{status} {got}");
    let (status, body) = api.get("/api/v1/users/999999").await?;
    ensure!(status == StatusCode::NOT_FOUND && body["error"]["code"] == "not_found", "{status} {body}");

    // A change: only the fields sent change; null clears.
    let (status, changed) = api
        .patch(
            &format!("/api/v1/users/{wang_id}"),
            &json!({"version": 1, "display_name": "王芳芳", "phone": null, "team_id": null, "locale": "zh-CN"}),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {changed}");
    ensure!(
        changed["display_name"] == "王芳芳" && changed["phone"].is_null() && changed["team_id"].is_null(),
        "{changed}"
    );
    ensure!(
        changed["email"] == "wang.fang@example.cn" && changed["role"] == "sales",
        "untouched fields stay: {changed}"
    );
    ensure!(changed["locale"] == "zh-CN" && changed["version"] == 2, "{changed}");

    // The audit trail names the administrator and masks the phone number.
    let trail = audit_of(&app, &wang_id.to_string()).await?;
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    ensure!(actions == ["update", "create"], "{actions:?}");
    ensure!(trail.iter().all(|a| a.actor_name.contains("boss")), "by the administrator");
    let phone = trail[0].changes.iter().find(|c| c.field == "phone").context("phone change")?;
    let masked = phone.before.as_deref().unwrap_or_default();
    ensure!(masked.starts_with("138") && masked.contains('*') && !masked.contains("1234"), "masked: {masked}");
    Ok(())
}

async fn audit_of(app: &TestApp, user_id: &str) -> Result<Vec<store::audit::AuditRow>> {
    let everyone = store::visibility::Visibility {
        scope: domain::access::Scope::All,
        user_id: domain::ids::UserId(0),
        teams: Vec::new(),
    };
    let filter = store::audit::Filter {
        entity: Some("user".into()),
        entity_id: Some(user_id.into()),
        limit: 50,
        ..Default::default()
    };
    Ok(store::audit::list(&app.store, &everyone, &filter).await?.items)
}

async fn invalid_users(app: TestApp) -> Result<()> {
    let (_, _, api) = admin(&app).await?;
    let before = user_count(&app).await?;
    // Every problem is reported at once, each naming its field.
    let (status, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "王芳", "display_name": " ", "email": "not-an-address", "phone": "call me",
                    "role": "captain", "team_id": 4242, "locale": "fr", "password": "short"}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && body["error"]["code"] == "invalid", "{status} {body}");
    for (field, code) in [
        ("username", "invalid_length"),
        ("display_name", "required"),
        ("email", "invalid_email"),
        ("phone", "invalid_phone"),
        ("role", "not_found"),
        ("team_id", "not_found"),
        ("locale", "invalid"),
        ("password", "too_short"),
    ] {
        ensure!(has_field(&body, field, code), "{field}/{code} in {body}");
    }
    // A bad username on its own.
    let (status, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "-dash", "display_name": "x", "role": "sales", "password": PASSWORD}),
        )
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && fields(&body) == [("username".into(), "invalid".into())],
        "{body}"
    );
    // A password attackers try first.
    let (status, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "zhaolei", "display_name": "赵磊", "role": "sales", "password": "password1234"}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "password", "too_common"), "{body}");
    // An unknown role, by code and by id.
    let (_, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "zhaolei", "display_name": "赵磊", "role": "ceo", "password": PASSWORD}),
        )
        .await?;
    ensure!(fields(&body) == [("role".into(), "not_found".into())], "{body}");
    let (_, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "zhaolei", "display_name": "赵磊", "role_id": 9999, "password": PASSWORD}),
        )
        .await?;
    ensure!(fields(&body) == [("role_id".into(), "not_found".into())], "{body}");
    // Unknown fields are refused, not ignored.
    let (status, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "zhaolei", "display_name": "赵磊", "role": "sales", "password": PASSWORD, "is_admin": true}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "is_admin", "unknown_field"), "{body}");
    ensure!(user_count(&app).await? == before, "nothing was created");

    // A username is taken whatever its case.
    new_user(&api, "zhaolei", "sales", json!({})).await?;
    let (status, body) = api
        .post(
            "/api/v1/users",
            &json!({"username": "ZhaoLei", "display_name": "赵磊", "role": "sales", "password": PASSWORD}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "username", "taken"), "{status} {body}");
    ensure!(user_count(&app).await? == before + 1);

    // Changes are checked the same way.
    let id = store::users::list(
        &app.store,
        &store::users::Filter { q: Some("zhaolei".into()), limit: 1, ..Default::default() },
    )
    .await?
    .items[0]
        .id
        .0;
    let path = format!("/api/v1/users/{id}");
    let (status, body) = api.patch(&path, &json!({"display_name": "赵磊"})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "version", "required"), "{body}");
    let (status, body) = api.patch(&path, &json!({"version": 1, "username": "other"})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "username", "unknown_field"), "{body}");
    let (status, body) = api.patch(&path, &json!({"version": 1, "email": "x@", "locale": "de"})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    ensure!(has_field(&body, "email", "invalid_email") && has_field(&body, "locale", "invalid"), "{body}");
    let (_, got) = api.get(&path).await?;
    ensure!(got["version"] == 1 && got["email"].is_null(), "nothing changed: {got}");
    // Not JSON at all is a 400.
    let (status, _) = api.raw(Method::POST, "/api/v1/users", "application/json", b"{\"username\":".to_vec()).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    Ok(())
}

async fn stale_versions(app: TestApp) -> Result<()> {
    let (_, _, api) = admin(&app).await?;
    let user = new_user(&api, "lina", "sales", json!({})).await?;
    let path = format!("/api/v1/users/{}", user["id"]);
    let (status, _) = api.patch(&path, &json!({"version": 1, "display_name": "李娜"})).await?;
    ensure!(status == StatusCode::OK);
    // Someone who read version 1 saves later: refused, nothing changes.
    let (status, body) = api.patch(&path, &json!({"version": 1, "display_name": "Lina", "active": false})).await?;
    ensure!(status == StatusCode::CONFLICT && body["error"]["code"] == "stale_version", "{status} {body}");
    ensure!(body["error"]["current_version"] == 2, "{body}");
    let (_, now) = api.get(&path).await?;
    ensure!(now["display_name"] == "李娜" && now["active"] == true && now["version"] == 2, "{now}");

    // Teams and roles follow the same rule.
    let (_, team) = api.post("/api/v1/teams", &json!({"name": "华南"})).await?;
    let tpath = format!("/api/v1/teams/{}", team["id"]);
    let (status, _) = api.patch(&tpath, &json!({"version": 1, "name": "华南大区"})).await?;
    ensure!(status == StatusCode::OK);
    let (status, body) = api.patch(&tpath, &json!({"version": 1, "name": "华南二区"})).await?;
    ensure!(status == StatusCode::CONFLICT, "{status} {body}");
    let (status, _) = api.delete(&format!("{tpath}?version=1")).await?;
    ensure!(status == StatusCode::CONFLICT, "a stale delete: {status}");
    let (_, t) = api.get(&tpath).await?;
    ensure!(t["name"] == "华南大区" && t["version"] == 2, "{t}");

    let (_, role) = api.post("/api/v1/roles", &json!({"code": "guide", "name_zh": "导游", "name_en": "Guide"})).await?;
    let rpath = format!("/api/v1/roles/{}", role["id"]);
    let (status, _) = api.patch(&rpath, &json!({"version": 1, "grants": {"dashboard.view": "all"}})).await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = api.patch(&rpath, &json!({"version": 1, "grants": {"audit.view": "all"}})).await?;
    ensure!(status == StatusCode::CONFLICT, "{status}");
    let (_, r) = api.get(&rpath).await?;
    ensure!(r["grants"] == json!({"dashboard.view": "all"}) && r["version"] == 2, "{r}");
    Ok(())
}

async fn deactivation(app: TestApp) -> Result<()> {
    let (boss_id, _, api) = admin(&app).await?;
    let (lina_id, lina_pw) = app.create_user("lina", "sales", None).await?;
    // Lina works: a token (an audited action) and a browser session.
    let lina_api = app.api_as("lina", &lina_pw).await?;
    let mut lina_browser = app.browser("lina", &lina_pw).await?;
    let (status, _) = lina_api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = lina_browser.get("/").await?;
    ensure!(status == StatusCode::OK);
    let everyone = store::visibility::Visibility {
        scope: domain::access::Scope::All,
        user_id: domain::ids::UserId(boss_id),
        teams: Vec::new(),
    };
    let hers = store::audit::Filter { actor_id: Some(lina_id), limit: 50, ..Default::default() };
    let her_rows = store::audit::list(&app.store, &everyone, &hers).await?.items.len();
    ensure!(her_rows >= 1, "her token is in the audit trail");

    let (_, u) = api.get(&format!("/api/v1/users/{lina_id}")).await?;
    let (status, off) =
        api.patch(&format!("/api/v1/users/{lina_id}"), &json!({"version": u["version"], "active": false})).await?;
    ensure!(status == StatusCode::OK && off["active"] == false, "{status} {off}");

    // Her token and her session stop working at once; she cannot log in again.
    let (status, _) = lina_api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "her token after deactivation: {status}");
    let (status, _) = lina_browser.get("/").await?;
    ensure!(
        status == StatusCode::SEE_OTHER && lina_browser.last_location().is_some_and(|l| l.starts_with("/login")),
        "her session after deactivation: {status}"
    );
    ensure!(app.api_as("lina", &lina_pw).await.is_err(), "no new token for a deactivated account");
    // Everything she did is still there, and so is she.
    let after = store::audit::list(&app.store, &everyone, &hers).await?.items.len();
    ensure!(after == her_rows, "her audit rows remain ({her_rows} → {after})");
    let (status, _) = api.get(&format!("/api/v1/users/{lina_id}")).await?;
    ensure!(status == StatusCode::OK, "the account is kept");
    let (_, inactive) = api.get("/api/v1/users?active=false").await?;
    ensure!(inactive["items"].as_array().is_some_and(|a| a.len() == 1 && a[0]["id"] == lina_id), "{inactive}");
    let trail = audit_of(&app, &lina_id.to_string()).await?;
    ensure!(
        trail.first().is_some_and(|a| a.action == "delete" && a.summary.contains("lina")),
        "the deactivation is audited"
    );
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(lina_id)
        .fetch_one(app.store.pool())
        .await?;
    ensure!(tokens == 0, "her tokens are revoked");

    // An administrator cannot deactivate themself.
    let (_, me) = api.get(&format!("/api/v1/users/{boss_id}")).await?;
    let (status, body) =
        api.patch(&format!("/api/v1/users/{boss_id}"), &json!({"version": me["version"], "active": false})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "active", "self_deactivate"), "{body}");
    let (status, me) = api.get(&format!("/api/v1/users/{boss_id}")).await?;
    ensure!(status == StatusCode::OK && me["active"] == true, "{me}");

    // Reactivated, she logs in again with her password.
    let (status, _) =
        api.patch(&format!("/api/v1/users/{lina_id}"), &json!({"version": off["version"], "active": true})).await?;
    ensure!(status == StatusCode::OK);
    ensure!(app.api_as("lina", &lina_pw).await.is_ok(), "reactivated");
    Ok(())
}

/// Every operation of the API document that needs `users.manage`.
async fn admin_operations(app: &TestApp) -> Result<Vec<(Method, String)>> {
    let (status, doc) = app.anonymous().get("/api/openapi.json").await?;
    ensure!(status == StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().context("paths")? {
        for (method, op) in item.as_object().context("item")? {
            let needs = op["security"][0]["keyuan"].as_array().and_then(|a| a.first()).and_then(Value::as_str);
            if needs == Some("users.manage") {
                ops.push((method.to_uppercase().parse()?, path.replace("{id}", "1")));
            }
        }
    }
    Ok(ops)
}

async fn others_are_refused(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("lina", "sales", None).await?;
    let team = app.team("华东", None).await?;
    let ops = admin_operations(&app).await?;
    for (method, path) in [
        ("GET", "/api/v1/users"),
        ("PATCH", "/api/v1/users/1"),
        ("DELETE", "/api/v1/teams/1"),
        ("PATCH", "/api/v1/roles/1"),
        ("GET", "/admin/users"),
        ("POST", "/admin/users/1/password"),
        ("POST", "/admin/teams/1/delete"),
        ("POST", "/admin/roles/1"),
    ] {
        ensure!(ops.iter().any(|(m, p)| m.as_str() == method && p == path), "{method} {path} needs users.manage");
    }
    ensure!(ops.len() >= 28, "every administration route needs users.manage ({})", ops.len());
    let users_before = user_count(&app).await?;
    let roles_before = store::roles::list(&app.store).await?.len();

    let api = app.api_as("lina", &pw).await?;
    let mut b = app.browser("lina", &pw).await?;
    let (status, home) = b.get("/").await?;
    ensure!(status == StatusCode::OK && !home.contains("/admin/users"), "no staff link in a salesperson's menu");
    let body = json!({"username": "mole", "display_name": "x", "role": "admin", "password": PASSWORD,
                      "version": 1, "name": "x", "code": "mole", "name_zh": "x", "name_en": "x"});
    for (method, path) in &ops {
        if path.starts_with("/api/") {
            let (status, answer) = api.send(method.clone(), path, Some(&body)).await?;
            ensure!(status == StatusCode::FORBIDDEN, "{method} {path}: {status} {answer}");
            ensure!(answer["error"]["code"] == "forbidden", "{answer}");
        } else if method == Method::GET {
            let (status, html) = b.get(path).await?;
            ensure!(status == StatusCode::FORBIDDEN, "{method} {path}: {status}");
            ensure!(html.contains("您没有权限访问此页面"), "a friendly 403 page");
        } else {
            let (status, _) = b
                .post_form(
                    path,
                    &[
                        ("username", "mole"),
                        ("display_name", "x"),
                        ("role_id", "1"),
                        ("password", PASSWORD),
                        ("name", "x"),
                        ("version", "1"),
                        ("code", "mole"),
                        ("name_zh", "x"),
                        ("name_en", "x"),
                    ],
                )
                .await?;
            ensure!(status == StatusCode::FORBIDDEN, "{method} {path}: {status}");
        }
    }
    ensure!(user_count(&app).await? == users_before, "no account was made");
    ensure!(store::roles::list(&app.store).await?.len() == roles_before, "no role was made");
    let t = store::teams::get(&app.store, domain::ids::TeamId(team)).await?;
    ensure!(t.name == "华东" && t.version == 1, "the team is untouched");
    let sales = store::roles::by_code(&app.store, "sales").await?;
    ensure!(sales.version == 1 && !sales.grants.has(domain::access::Permission::UsersManage));
    Ok(())
}

async fn teams_tree(app: TestApp) -> Result<()> {
    let (boss_id, pw, api) = admin(&app).await?;
    let (status, east) = api.post("/api/v1/teams", &json!({"name": "华东分公司"})).await?;
    ensure!(status == StatusCode::CREATED && east["parent_id"].is_null() && east["members"] == 0, "{status} {east}");
    let east_id = east["id"].as_i64().context("id")?;
    let (_, sh) = api
        .post("/api/v1/teams", &json!({"name": "上海销售一部", "parent_id": east_id, "manager_id": boss_id}))
        .await?;
    let sh_id = sh["id"].as_i64().context("id")?;
    ensure!(sh["parent_id"] == east_id && sh["manager_name"] == "boss", "{sh}");
    let (_, pd) = api.post("/api/v1/teams", &json!({"name": "浦东门店", "parent_id": sh_id})).await?;
    let pd_id = pd["id"].as_i64().context("id")?;
    let (status, body) = api.post("/api/v1/teams", &json!({"name": "x", "parent_id": 999})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "parent_id", "not_found"), "{body}");
    let (status, body) = api.post("/api/v1/teams", &json!({"name": "  "})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "name", "required"), "{body}");
    let (status, body) = api.post("/api/v1/teams", &json!({"name": "x", "budget": 1})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "budget", "unknown_field"), "{body}");

    app.create_user("lina", "sales", Some(sh_id)).await?;
    let (status, list) = api.get("/api/v1/teams").await?;
    ensure!(status == StatusCode::OK, "{status}");
    let order: Vec<i64> = list["items"].as_array().context("items")?.iter().filter_map(|t| t["id"].as_i64()).collect();
    ensure!(order == [east_id, sh_id, pd_id], "parents before children: {order:?}");
    ensure!(list["items"][1]["members"] == 1, "{list}");

    // A team cannot move below itself or its own teams.
    let (status, body) =
        api.patch(&format!("/api/v1/teams/{east_id}"), &json!({"version": 1, "parent_id": pd_id})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "parent_id", "cycle"), "{status} {body}");
    let (status, body) =
        api.patch(&format!("/api/v1/teams/{sh_id}"), &json!({"version": 1, "parent_id": sh_id})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "parent_id", "cycle"), "{body}");
    let (_, e) = api.get(&format!("/api/v1/teams/{east_id}")).await?;
    ensure!(e["parent_id"].is_null() && e["version"] == 1, "unchanged: {e}");
    // Moving elsewhere works; null makes it top-level.
    let (status, moved) = api
        .patch(&format!("/api/v1/teams/{pd_id}"), &json!({"version": 1, "parent_id": east_id, "name": "浦东旗舰店"}))
        .await?;
    ensure!(status == StatusCode::OK && moved["parent_id"] == east_id && moved["name"] == "浦东旗舰店", "{moved}");
    let (status, moved) = api
        .patch(&format!("/api/v1/teams/{pd_id}"), &json!({"version": 2, "parent_id": null, "manager_id": boss_id}))
        .await?;
    ensure!(status == StatusCode::OK && moved["parent_id"].is_null() && moved["manager_id"] == boss_id, "{moved}");

    // Only an empty team can go.
    let (status, body) = api.delete(&format!("/api/v1/teams/{sh_id}?version=1")).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "team", "not_empty"), "{status} {body}");
    let (status, body) = api.delete(&format!("/api/v1/teams/{east_id}?version=1")).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "team", "not_empty"),
        "a team with teams below: {body}"
    );
    let (status, body) = api.delete(&format!("/api/v1/teams/{pd_id}")).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "version", "required"), "{body}");
    let (status, _) = api.delete(&format!("/api/v1/teams/{pd_id}?version=3")).await?;
    ensure!(status == StatusCode::NO_CONTENT, "{status}");
    let (status, _) = api.get(&format!("/api/v1/teams/{pd_id}")).await?;
    ensure!(status == StatusCode::NOT_FOUND);

    // The page shows the tree nested, with managers and member counts, and
    // its forms answer with the same rules.
    let mut b = app.browser("boss", &pw).await?;
    let (status, html) = b.get("/admin/teams").await?;
    ensure!(status == StatusCode::OK, "{status}");
    let (e, s) = (html.find("华东分公司").context("east")?, html.find("上海销售一部").context("shanghai")?);
    ensure!(e < s && html[e..s].contains("<ul class=\"tree\">"), "the branch's team is nested below it");
    ensure!(html.contains("成员: 1") && html.contains("负责人: boss"), "member count and manager");
    ensure!(html.contains("data-confirm="), "delete asks first");
    let (status, _) =
        b.post_form("/admin/teams", &[("name", "北京分公司"), ("parent_id", ""), ("manager_id", "")]).await?;
    ensure!(status == StatusCode::SEE_OTHER && b.last_location() == Some("/admin/teams?saved=1"), "{status}");
    let (_, html) = b.get("/admin/teams?saved=1").await?;
    ensure!(html.contains("北京分公司") && html.contains("已保存"), "created, with a notice");
    let (status, html) = b
        .post_form(
            &format!("/admin/teams/{east_id}"),
            &[("name", "华东分公司"), ("parent_id", &sh_id.to_string()), ("manager_id", ""), ("version", "1")],
        )
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("不能把团队移到它自己或其下级团队之下"),
        "{status}"
    );
    let (status, html) = b.post_form(&format!("/admin/teams/{sh_id}/delete"), &[("version", "1")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("团队中仍有成员或下级团队"), "{status}");
    ensure!(store::teams::get(&app.store, domain::ids::TeamId(sh_id)).await.is_ok(), "still there");
    Ok(())
}

async fn roles_and_grants(app: TestApp) -> Result<()> {
    let (_, pw, api) = admin(&app).await?;
    let (status, role) = api
        .post("/api/v1/roles", &json!({"code": "night_auditor", "name_zh": "夜审", "name_en": "Night auditor"}))
        .await?;
    ensure!(status == StatusCode::CREATED, "{status} {role}");
    ensure!(
        role["grants"] == json!({}) && role["builtin"] == false && role["version"] == 1,
        "starts with nothing: {role}"
    );
    let rid = role["id"].as_i64().context("id")?;
    for (body, field, code) in [
        (json!({"code": "Night", "name_zh": "x", "name_en": "x"}), "code", "invalid"),
        (json!({"code": "n", "name_zh": "x", "name_en": "x"}), "code", "invalid"),
        (json!({"code": "sales", "name_zh": "x", "name_en": "x"}), "code", "taken"),
        (json!({"code": "porter", "name_zh": "", "name_en": "x"}), "name_zh", "required"),
        (json!({"code": "porter", "name_zh": "x", "name_en": "x", "grants": {}}), "grants", "unknown_field"),
    ] {
        let (status, answer) = api.post("/api/v1/roles", &body).await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&answer, field, code),
            "{body}: {status} {answer}"
        );
    }

    // Someone in the new role can do nothing that needs a permission.
    let (_, npw) = app.create_user("yeshen", "night_auditor", None).await?;
    let night_api = app.api_as("yeshen", &npw).await?;
    let mut night = app.browser("yeshen", &npw).await?;
    let (status, _) = night.get("/").await?;
    ensure!(status == StatusCode::FORBIDDEN, "dashboard with no grants: {status}");
    let (status, _) = night_api.get("/api/v1/users").await?;
    ensure!(status == StatusCode::FORBIDDEN);

    // Granting takes effect on the next request, for the session and the token alike.
    let path = format!("/api/v1/roles/{rid}");
    let (status, r) = api.patch(&path, &json!({"version": 1, "grants": {"dashboard.view": "all"}})).await?;
    ensure!(status == StatusCode::OK && r["grants"] == json!({"dashboard.view": "all"}) && r["version"] == 2, "{r}");
    let (status, _) = night.get("/").await?;
    ensure!(status == StatusCode::OK, "dashboard after the grant: {status}");
    let (status, r) = api
        .patch(
            &path,
            &json!({"version": 2, "name_en": "Night audit", "grants": {"users.manage": "all", "audit.view": "team"}}),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{r}");
    ensure!(
        r["grants"] == json!({"users.manage": "all", "audit.view": "team"}) && r["name_en"] == "Night audit",
        "{r}"
    );
    ensure!(r["name_zh"] == "夜审", "an absent name stays: {r}");
    let (status, _) = night_api.get("/api/v1/users").await?;
    ensure!(status == StatusCode::OK, "users.manage granted: {status}");
    let (status, _) = night.get("/").await?;
    ensure!(status == StatusCode::FORBIDDEN, "the grants were replaced, so the dashboard is gone again: {status}");

    // Grants are checked.
    let (status, body) = api
        .patch(&path, &json!({"version": 3, "grants": {"customers.delete_all": "all", "settings.manage": "team", "audit.view": "most"}}))
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status} {body}");
    ensure!(has_field(&body, "grants.customers.delete_all", "unknown"), "{body}");
    ensure!(has_field(&body, "grants.settings.manage", "not_scoped"), "{body}");
    ensure!(has_field(&body, "grants.audit.view", "invalid"), "{body}");
    let (_, r) = api.get(&path).await?;
    ensure!(r["version"] == 3, "unchanged: {r}");

    // The page edits grants with a select per reach and a box per plain permission.
    let mut b = app.browser("boss", &pw).await?;
    let (status, html) = b.get(&format!("/admin/roles/{rid}")).await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        html.contains("name=\"grants.audit.view\"") && html.contains("<option value=\"team\" selected>"),
        "a select"
    );
    ensure!(html.contains("type=\"checkbox\" name=\"grants.users.manage\" value=\"all\" checked"), "a ticked box");
    let (status, _) = b
        .post_form(
            &format!("/admin/roles/{rid}"),
            &[
                ("version", "3"),
                ("name_zh", "夜间审计"),
                ("name_en", "Night audit"),
                ("grants.dashboard.view", "all"),
                ("grants.logins.view", "own"),
                ("grants.audit.view", "none"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let saved = b.last_location().context("redirect")?.to_string();
    ensure!(saved == format!("/admin/roles/{rid}?saved=1"), "{saved}");
    let (_, html) = b.get(&saved).await?;
    ensure!(html.contains("已保存") && html.contains("夜间审计"), "saved notice");
    let (_, r) = api.get(&path).await?;
    ensure!(r["grants"] == json!({"dashboard.view": "all", "logins.view": "own"}) && r["name_zh"] == "夜间审计", "{r}");
    let (status, _) = night.get("/").await?;
    ensure!(status == StatusCode::OK);
    // The list shows each role's grants.
    let (_, html) = b.get("/admin/roles").await?;
    ensure!(
        html.contains("night_auditor") && html.contains("查看他人登录记录") && html.contains("本人"),
        "grants listed"
    );
    // A new role made on the page has nothing either.
    let (status, _) =
        b.post_form("/admin/roles", &[("code", "porter"), ("name_zh", "行李员"), ("name_en", "Porter")]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let porter = store::roles::by_code(&app.store, "porter").await?;
    ensure!(porter.grants.0.is_empty(), "a new role starts with nothing");
    let (status, html) =
        b.post_form("/admin/roles", &[("code", "Porter!"), ("name_zh", "x"), ("name_en", "x")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("field-error"), "{status}");
    Ok(())
}

async fn no_self_lockout(app: TestApp) -> Result<()> {
    let (boss_id, pw, api) = admin(&app).await?;
    let admin_role = role_id(&api, "admin").await?;
    let path = format!("/api/v1/roles/{admin_role}");
    let (_, before) = api.get(&path).await?;
    let (status, body) =
        api.patch(&path, &json!({"version": before["version"], "grants": {"dashboard.view": "all"}})).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "grants.users.manage", "self_lockout"),
        "{body}"
    );
    let (_, after) = api.get(&path).await?;
    ensure!(after == before, "unchanged: {after}");
    // Through the page as well.
    let mut b = app.browser("boss", &pw).await?;
    b.get(&format!("/admin/roles/{admin_role}")).await?;
    let version = before["version"].to_string();
    let (status, html) = b
        .post_form(
            &format!("/admin/roles/{admin_role}"),
            &[
                ("version", &version),
                ("name_zh", "系统管理员"),
                ("name_en", "Administrator"),
                ("grants.dashboard.view", "all"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("不能从自己的角色中移除"), "{status}");
    let (_, after) = api.get(&path).await?;
    ensure!(after == before, "unchanged: {after}");
    // Nor can they move themself to a role without it.
    let sales = role_id(&api, "sales").await?;
    let (_, me) = api.get(&format!("/api/v1/users/{boss_id}")).await?;
    let (status, body) =
        api.patch(&format!("/api/v1/users/{boss_id}"), &json!({"version": me["version"], "role_id": sales})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "role_id", "self_lockout"), "{body}");
    // The rule is about one's own role only: another role may lose it.
    let (_, deputy) =
        api.post("/api/v1/roles", &json!({"code": "deputy", "name_zh": "副管理员", "name_en": "Deputy"})).await?;
    let dpath = format!("/api/v1/roles/{}", deputy["id"]);
    let (status, _) = api.patch(&dpath, &json!({"version": 1, "grants": {"users.manage": "all"}})).await?;
    ensure!(status == StatusCode::OK);
    let (status, d) = api.patch(&dpath, &json!({"version": 2, "grants": {}})).await?;
    ensure!(status == StatusCode::OK && d["grants"] == json!({}), "{status} {d}");
    let (status, _) = api.get("/api/v1/users").await?;
    ensure!(status == StatusCode::OK, "the administrator still manages staff");
    Ok(())
}

async fn user_pages(app: TestApp) -> Result<()> {
    let (_, pw, _) = admin(&app).await?;
    let team = app.team("华东分公司", None).await?;
    let sales = store::roles::by_code(&app.store, "sales").await?.id.0.to_string();
    let mut b = app.browser("boss", &pw).await?;
    let (status, html) = b.get("/admin/users/new").await?;
    ensure!(
        status == StatusCode::OK && html.contains("新建员工账号") && html.contains("华东分公司"),
        "new page: {status}"
    );

    // A refused form comes back with the values typed and the reasons, never the password.
    let (status, html) = b
        .post_form(
            "/admin/users",
            &[
                ("username", "x"),
                ("display_name", "周杰"),
                ("email", "bad"),
                ("phone", ""),
                ("role_id", &sales),
                ("team_id", ""),
                ("locale", "zh-CN"),
                ("password", "password1234"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    ensure!(html.contains("value=\"周杰\"") && html.contains("邮箱地址格式不正确"), "values kept, reasons shown");
    ensure!(html.contains("密码过于常见") && !html.contains("password1234"), "the password is not echoed");
    ensure!(user_count(&app).await? == 1, "nothing created");

    let team_s = team.to_string();
    let (status, _) = b
        .post_form(
            "/admin/users",
            &[
                ("username", "zhoujie"),
                ("display_name", "周杰"),
                ("email", "zhou@example.cn"),
                ("phone", "13912345678"),
                ("role_id", &sales),
                ("team_id", &team_s),
                ("locale", "zh-CN"),
                ("password", PASSWORD),
            ],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let location = b.last_location().context("location")?.to_string();
    ensure!(location.starts_with("/admin/users/") && location.ends_with("?saved=1"), "{location}");
    let id: i64 = location["/admin/users/".len()..location.len() - "?saved=1".len()].parse()?;
    let (status, html) = b.get(&location).await?;
    ensure!(status == StatusCode::OK && html.contains("已保存") && html.contains("zhoujie"), "saved page: {status}");
    ensure!(html.contains("name=\"version\" value=\"1\""), "the version travels with the form");

    // The list shows him with role, team and last login.
    let (_, html) = b.get("/admin/users?q=zhou").await?;
    ensure!(
        html.contains("zhoujie")
            && html.contains("销售顾问")
            && html.contains("华东分公司")
            && !html.contains(">boss<"),
        "filtered list"
    );
    let (_, html) = b.get(&format!("/admin/users?team={team}&active=1")).await?;
    ensure!(html.contains("zhoujie") && !html.contains(">boss<"), "team filter");

    // He logs in; an administrator sets a new password: his session ends,
    // and so does his API token.
    let mut zhou = app.browser("zhoujie", PASSWORD).await?;
    let zhou_api = app.api_as("zhoujie", PASSWORD).await?;
    let (status, _) = zhou.get("/").await?;
    ensure!(status == StatusCode::OK);
    let (status, html) = b.post_form(&format!("/admin/users/{id}/password"), &[("password", "123456789012")]).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("field-error"),
        "a weak password is refused: {status}"
    );
    let (status, _) = zhou.get("/").await?;
    ensure!(status == StatusCode::OK, "a refused reset changes nothing");
    let (status, _) = b.post_form(&format!("/admin/users/{id}/password"), &[("password", PASSWORD_2)]).await?;
    ensure!(
        status == StatusCode::SEE_OTHER && b.last_location() == Some(&*format!("/admin/users/{id}?saved=password")),
        "{status}"
    );
    let (_, html) = b.get(&format!("/admin/users/{id}?saved=password")).await?;
    ensure!(html.contains("密码已重置"), "notice");
    let (status, _) = zhou.get("/").await?;
    ensure!(status == StatusCode::SEE_OTHER, "his session ended: {status}");
    let (status, _) = zhou_api.get("/api/v1/auth/tokens").await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "his API token was revoked: {status}");
    ensure!(app.browser("zhoujie", PASSWORD).await.is_err(), "the old password no longer works");
    let mut zhou = app.browser("zhoujie", PASSWORD_2).await?;
    ensure!(zhou.get("/").await?.0 == StatusCode::OK, "the new one does");
    let version = store::users::get(&app.store, domain::ids::UserId(id)).await?.version.to_string();

    // Editing: rename and deactivate (the box left unticked).
    let (status, _) = b
        .post_form(
            &format!("/admin/users/{id}"),
            &[
                ("version", &version),
                ("display_name", "周杰伦"),
                ("email", "zhou@example.cn"),
                ("phone", ""),
                ("role_id", &sales),
                ("team_id", ""),
                ("locale", "en"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let u = store::users::get(&app.store, domain::ids::UserId(id)).await?;
    ensure!(u.display_name == "周杰伦" && !u.active && u.team_id.is_none() && u.phone.is_none(), "{u:?}");
    ensure!(zhou.get("/").await?.0 == StatusCode::SEE_OTHER, "deactivated: his session ended");

    // The same old version again: 409, the form shows what is stored now, nothing changes.
    let (status, html) = b
        .post_form(
            &format!("/admin/users/{id}"),
            &[
                ("version", &version),
                ("display_name", "Jay"),
                ("email", ""),
                ("phone", ""),
                ("role_id", &sales),
                ("team_id", ""),
                ("locale", "zh-CN"),
                ("active", "1"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::CONFLICT && html.contains("该记录已被他人修改"), "{status}");
    ensure!(
        html.contains("value=\"周杰伦\"") && html.contains(&format!("name=\"version\" value=\"{}\"", u.version)),
        "current values"
    );
    let now = store::users::get(&app.store, domain::ids::UserId(id)).await?;
    ensure!(now.display_name == "周杰伦" && !now.active && now.version == u.version, "nothing changed");
    // Unknown accounts are 404.
    let (status, _) = b.get("/admin/users/999999").await?;
    ensure!(status == StatusCode::NOT_FOUND);

    // Long lists page on.
    let mut tx = app.store.begin().await?;
    for i in 0..55 {
        let new = store::users::NewUser {
            username: domain::user::Username::parse(&format!("guide{i:02}"))?,
            display_name: format!("导游{i:02}"),
            email: None,
            phone: None,
            role_id: domain::ids::RoleId(sales.parse()?),
            team_id: None,
            locale: domain::user::Locale::ZhCn,
            password_hash: "unused".into(),
        };
        store::users::create(&mut tx, &store::Actor::system("test"), &new).await?;
    }
    tx.commit().await?;
    let (_, first) = b.get("/admin/users?q=guide").await?;
    ensure!(first.contains("guide54") && !first.contains("guide04"), "newest first, 50 a page");
    let next = first.split("rel=\"next\"").next().and_then(|s| s.rsplit("href=\"").next()).context("next link")?;
    // The page escapes `&` in the link as a browser expects; a browser decodes it.
    let next = next.split('"').next().unwrap_or_default().replace("&#38;", "&").replace("&amp;", "&");
    ensure!(next.contains("q=guide") && next.contains("before="), "{next}");
    let (status, second) = b.get(&next).await?;
    ensure!(
        status == StatusCode::OK && second.contains("guide04") && second.contains("guide00"),
        "second page {next}: {status}"
    );
    ensure!(!second.contains("guide54") && !second.contains("rel=\"next\""), "the last page");
    Ok(())
}

async fn pages_in_both_languages(app: TestApp) -> Result<()> {
    let (_, pw, api) = admin(&app).await?;
    let (en_id, en_pw) = app.create_user("admin2", "admin", None).await?;
    let (_, me) = api.get(&format!("/api/v1/users/{en_id}")).await?;
    let (status, _) =
        api.patch(&format!("/api/v1/users/{en_id}"), &json!({"version": me["version"], "locale": "en"})).await?;
    ensure!(status == StatusCode::OK);
    let team = app.team("华东分公司", None).await?;
    app.create_user("lina", "sales", Some(team)).await?;
    let role = role_id(&api, "manager").await?;

    let pages =
        ["/admin/users", "/admin/users/new", "/admin/users/1", "/admin/teams", "/admin/roles", "/admin/roles/new"];
    let role_page = format!("/admin/roles/{role}");
    let zh: [(&str, &[&str]); 7] = [
        (pages[0], &["员工账号", "最近登录", "lina", "销售顾问", "华东分公司", "已停用"]),
        (pages[1], &["新建员工账号", "初始密码", "简体中文"]),
        (pages[2], &["编辑员工账号", "重置密码", "界面语言"]),
        (pages[3], &["团队与分支机构", "新建团队", "上级团队", "成员"]),
        (pages[4], &["角色权限", "管理员工、团队与角色", "内置", "本团队及下级"]),
        (pages[5], &["新建角色", "角色代码", "英文名称"]),
        (&role_page, &["权限与数据范围", "查看操作日志", "本人"]),
    ];
    let mut b = app.browser("boss", &pw).await?;
    for (path, texts) in zh {
        let (status, html) = b.get(path).await?;
        ensure!(status == StatusCode::OK, "{path}: {status}");
        ensure!(html.contains("lang=\"zh-CN\""), "{path} in Chinese");
        for t in texts {
            ensure!(html.contains(t), "{path} shows {t}");
        }
        ensure!(!html.contains("??"), "{path}: a missing text");
    }
    let en: [(&str, &[&str]); 7] = [
        (pages[0], &["Staff accounts", "Last login", "lina", "Sales consultant", "Deactivated"]),
        (pages[1], &["New staff account", "Initial password", "English"]),
        (pages[2], &["Edit staff account", "Set a new password", "Language"]),
        (pages[3], &["Teams and branches", "New team", "Parent team", "Members"]),
        (pages[4], &["Roles", "Manage staff, teams and roles", "Built-in", "Team and below"]),
        (pages[5], &["New role", "Role code", "English name"]),
        (&role_page, &["Permissions and reach", "Browse the audit trail", "Own"]),
    ];
    let mut b = app.browser("admin2", &en_pw).await?;
    for (path, texts) in en {
        let (status, html) = b.get(path).await?;
        ensure!(status == StatusCode::OK, "{path}: {status}");
        ensure!(html.contains("lang=\"en\""), "{path} in English");
        for t in texts {
            ensure!(html.contains(t), "{path} shows {t}");
        }
        ensure!(!html.contains("员工账号"), "{path}: no Chinese interface text");
    }
    // Form problems are in the reader's language too.
    let (status, html) = b.post_form("/admin/roles", &[("code", "X"), ("name_zh", "x"), ("name_en", "x")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("code must be 2 to 32 characters"), "{status}");
    Ok(())
}

async fn forms_need_csrf(app: TestApp) -> Result<()> {
    let (_, pw, api) = admin(&app).await?;
    let sales = role_id(&api, "sales").await?.to_string();
    let lina = new_user(&api, "lina", "sales", json!({})).await?;
    let lina_id = lina["id"].as_i64().context("id")?;
    let (_, team) = api.post("/api/v1/teams", &json!({"name": "华东"})).await?;
    let team_id = team["id"].as_i64().context("id")?;
    let users_before = user_count(&app).await?;

    let mut b: Browser = app.browser("boss", &pw).await?;
    b.get("/admin/users/new").await?;
    let create = [("username", "mole"), ("display_name", "x"), ("role_id", sales.as_str()), ("password", PASSWORD)];
    let (status, _) = b.post_form_raw("/admin/users", &create).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "no csrf: {status}");
    let forged = [create.as_slice(), &[("csrf", "forged")]].concat();
    let (status, _) = b.post_form_raw("/admin/users", &forged).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "a forged csrf: {status}");
    ensure!(user_count(&app).await? == users_before, "no account was made");

    let (status, _) = b
        .post_form_raw(
            &format!("/admin/users/{lina_id}"),
            &[("version", "1"), ("display_name", "x"), ("role_id", &sales)],
        )
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    let (status, _) = b.post_form_raw(&format!("/admin/users/{lina_id}/password"), &[("password", PASSWORD_2)]).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    let u = store::users::get(&app.store, domain::ids::UserId(lina_id)).await?;
    ensure!(u.version == 1 && u.active && u.display_name == "lina", "the account is unchanged");
    ensure!(app.api_as("lina", PASSWORD).await.is_ok(), "her password is unchanged");

    let (status, _) = b.post_form_raw(&format!("/admin/teams/{team_id}/delete"), &[("version", "1")]).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    ensure!(store::teams::get(&app.store, domain::ids::TeamId(team_id)).await.is_ok(), "the team is still there");
    let admin_role = role_id(&api, "admin").await?;
    let (status, _) = b
        .post_form_raw(&format!("/admin/roles/{admin_role}"), &[("version", "1"), ("name_zh", "x"), ("name_en", "x")])
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    let r = store::roles::get(&app.store, domain::ids::RoleId(admin_role)).await?;
    ensure!(
        r.name_zh == "系统管理员" && r.grants.has(domain::access::Permission::UsersManage),
        "the role is unchanged"
    );
    // With the token the same kind of form goes through.
    let (status, _) = b.post_form("/admin/teams", &[("name", "华南"), ("parent_id", ""), ("manager_id", "")]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    Ok(())
}
