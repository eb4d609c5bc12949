//! Company settings: the profile and business hours, the holiday calendar,
//! and the business calendar built from them.

use crate::harness::{story, Api, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("company_profile_updates_and_refuses_stale_or_invalid_input", company_profile_api),
        story("company_page_saves_and_shows_messages", company_page),
        story("holidays_are_added_refused_twice_and_removed", holidays),
        story("business_calendar_honours_holidays_and_adjusted_workdays", business_calendar),
        story("only_settings_managers_get_in", only_settings_managers),
        story("settings_pages_render_in_chinese_and_english", pages_in_both_languages),
    ]
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn admin(app: &TestApp, name: &str) -> Result<(Api, Browser)> {
    let (_, pw) = app.create_user(name, "admin", None).await?;
    Ok((app.api_as(name, &pw).await?, app.browser(name, &pw).await?))
}

fn week() -> Value {
    json!({
        "mon": {"open": "08:30", "close": "17:30"}, "tue": {"open": "08:30", "close": "17:30"},
        "wed": {"open": "08:30", "close": "17:30"}, "thu": {"open": "08:30", "close": "17:30"},
        "fri": {"open": "08:30", "close": "17:30"}, "sat": {"open": "10:00", "close": "16:00"}, "sun": null
    })
}

async fn company_profile_api(app: TestApp) -> Result<()> {
    let (api, _) = admin(&app, "admin1").await?;
    let (s, p) = api.get("/api/v1/settings/company").await?;
    ensure!(s == StatusCode::OK, "{s} {p}");
    ensure!(p["timezone"] == "Asia/Shanghai" && p["name"].is_string(), "{p}");
    ensure!(p["business_hours"]["mon"] == json!({"open": "09:00", "close": "18:00"}), "{p}");
    ensure!(p["business_hours"]["sun"].is_null(), "closed on Sunday by default: {p}");
    let v = p["version"].as_i64().context("version")?;

    let good = json!({
        "name": "上海春秋国际旅行社有限公司", "short_name": "春秋国旅", "license_no": "L-SH-CJ00001",
        "address": "上海市长宁区空港一路528号", "phone": "021-6252 0000", "email": "service@example.cn",
        "website": "www.example.cn", "timezone": "Asia/Hong_Kong", "business_hours": week(), "version": v
    });
    let (s, saved) = api.put("/api/v1/settings/company", &good).await?;
    ensure!(s == StatusCode::OK, "saved: {s} {saved}");
    ensure!(saved["version"] == v + 1 && saved["short_name"] == "春秋国旅" && saved["timezone"] == "Asia/Hong_Kong");
    ensure!(saved["business_hours"]["sat"] == json!({"open": "10:00", "close": "16:00"}), "{saved}");

    // The same body again is stale now.
    let (s, b) = api.put("/api/v1/settings/company", &good).await?;
    ensure!(s == StatusCode::CONFLICT && b["error"]["current_version"] == v + 1, "stale: {s} {b}");

    // Invalid input names each field and changes nothing.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        body["version"] = json!(v + 1);
        body["name"] = json!("改过的名字");
        f(&mut body);
        body
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (with(&|b| b["email"] = json!("service-at-example")), vec!["email"]),
        (with(&|b| b["timezone"] = json!("Asia/Beijing")), vec!["timezone"]),
        (
            with(&|b| b["business_hours"]["mon"] = json!({"open": "18:00", "close": "09:00"})),
            vec!["business_hours.mon"],
        ),
        (with(&|b| b["business_hours"]["fri"] = json!({"open": "9am", "close": "6pm"})), vec!["business_hours.fri"]),
        (
            with(&|b| {
                if let Some(w) = b["business_hours"].as_object_mut() {
                    w.remove("sun");
                }
            }),
            vec!["business_hours.sun"],
        ),
        (with(&|b| b["name"] = json!("  ")), vec!["name"]),
        (
            with(&|b| {
                b["email"] = json!("nope");
                b["timezone"] = json!("Mars/Olympus");
            }),
            vec!["email", "timezone"],
        ),
    ];
    for (body, want) in cases {
        let (s, b) = api.put("/api/v1/settings/company", &body).await?;
        ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{want:?}: {s} {b}");
        ensure!(fields(&b) == want, "expected {want:?}: {b}");
    }
    let (s, b) = api.put("/api/v1/settings/company", &with(&|b| b["motto"] = json!("x"))).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b) == ["motto"], "unknown field: {s} {b}");
    let (_, now) = api.get("/api/v1/settings/company").await?;
    ensure!(now == saved, "nothing changed: {now}");

    // The change is audited.
    let (_, trail) = api.get("/api/v1/audit?entity=company_profile").await?;
    let row = &trail["items"][0];
    ensure!(row["action"] == "update", "{trail}");
    ensure!(row["changes"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["field"] == "timezone" && c["after"] == "Asia/Hong_Kong")));
    Ok(())
}

/// The company form's fields for a profile read from the API.
fn form_of(p: &Value) -> Vec<(String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut f: Vec<(String, String)> =
        ["name", "short_name", "license_no", "address", "phone", "email", "website", "timezone"]
            .iter()
            .map(|k| (k.to_string(), s(&p[*k])))
            .collect();
    f.push(("version".into(), p["version"].to_string()));
    for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        f.push((format!("{d}_open"), s(&p["business_hours"][d]["open"])));
        f.push((format!("{d}_close"), s(&p["business_hours"][d]["close"])));
    }
    f
}

fn set(f: &mut [(String, String)], key: &str, value: &str) {
    if let Some(kv) = f.iter_mut().find(|(k, _)| k == key) {
        kv.1 = value.to_string();
    }
}

async fn post(b: &mut Browser, path: &str, f: &[(String, String)]) -> Result<(StatusCode, String)> {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form(path, &pairs).await
}

async fn company_page(app: TestApp) -> Result<()> {
    let (api, mut b) = admin(&app, "admin1").await?;
    let (_, p) = api.get("/api/v1/settings/company").await?;
    let (s, html) = b.get("/settings/company").await?;
    ensure!(s == StatusCode::OK && html.contains("公司信息") && html.contains("营业时间"), "{s}");
    ensure!(html.contains("value=\"Asia/Shanghai\" selected"), "the zone is chosen");
    let shanghai = html.find("Asia/Shanghai").context("zones")?;
    ensure!(html.find("Asia/Tokyo").is_some_and(|t| t > shanghai), "Asia/Shanghai first");

    // Invalid input: the form again, with messages, as typed; nothing saved.
    let mut f = form_of(&p);
    set(&mut f, "name", "桂林山水旅行社");
    set(&mut f, "email", "not-an-email");
    set(&mut f, "timezone", "Asia/Beijing");
    set(&mut f, "wed_open", "18:00");
    set(&mut f, "wed_close", "09:00");
    let (s, html) = post(&mut b, "/settings/company", &f).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    ensure!(
        html.contains("邮箱地址格式不正确") && html.contains("未知时区") && html.contains("下班时间必须晚于上班时间")
    );
    ensure!(html.contains("value=\"桂林山水旅行社\""), "the typed values are kept");
    let (_, now) = api.get("/api/v1/settings/company").await?;
    ensure!(now == p, "nothing saved: {now}");

    // A good save: 303, then a notice and the new values.
    let mut f = form_of(&p);
    set(&mut f, "name", "桂林山水旅行社");
    set(&mut f, "timezone", "Asia/Urumqi");
    set(&mut f, "sun_open", "10:00");
    set(&mut f, "sun_close", "15:00");
    let (s, _) = post(&mut b, "/settings/company", &f).await?;
    ensure!(s == StatusCode::SEE_OTHER && b.last_location() == Some("/settings/company?saved=1"), "{s}");
    let (_, html) = b.get("/settings/company?saved=1").await?;
    ensure!(html.contains("已保存") && html.contains("value=\"桂林山水旅行社\"") && html.contains("value=\"15:00\""));
    let (_, now) = api.get("/api/v1/settings/company").await?;
    ensure!(now["timezone"] == "Asia/Urumqi" && now["business_hours"]["sun"]["close"] == "15:00", "{now}");

    // The same form again is stale: 409 with the stored values and a message.
    set(&mut f, "name", "过期的修改");
    let (s, html) = post(&mut b, "/settings/company", &f).await?;
    ensure!(s == StatusCode::CONFLICT && html.contains("该记录已被他人修改"), "stale page: {s}");
    ensure!(html.contains("value=\"桂林山水旅行社\"") && !html.contains("过期的修改"), "the stored values are shown");
    let (_, after) = api.get("/api/v1/settings/company").await?;
    ensure!(after == now, "nothing changed");
    // The short name heads every page once set.
    let mut f = form_of(&now);
    set(&mut f, "short_name", "桂林国旅");
    let (s, _) = post(&mut b, "/settings/company", &f).await?;
    ensure!(s == StatusCode::SEE_OTHER);
    let (_, html) = b.get("/").await?;
    ensure!(html.contains("桂林国旅"), "the header shows the short name");
    Ok(())
}

async fn holidays(app: TestApp) -> Result<()> {
    let (api, mut b) = admin(&app, "admin1").await?;
    let (s, h1) = api
        .post("/api/v1/settings/holidays", &json!({"date": "2026-10-01", "name": "国庆节", "kind": "holiday"}))
        .await?;
    ensure!(s == StatusCode::CREATED && h1["version"] == 1 && h1["kind"] == "holiday", "{s} {h1}");
    let (s, h2) = api
        .post("/api/v1/settings/holidays", &json!({"date": "2026-10-10", "name": "国庆调休上班", "kind": "workday"}))
        .await?;
    ensure!(s == StatusCode::CREATED, "{s} {h2}");
    let (s, b1) = api
        .post("/api/v1/settings/holidays", &json!({"date": "2026-10-01", "name": "又一个", "kind": "holiday"}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b1) == ["date"], "duplicate date: {s} {b1}");
    let (s, b1) =
        api.post("/api/v1/settings/holidays", &json!({"date": "2026-02-30", "name": "", "kind": "party"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b1) == ["date", "name", "kind"], "{s} {b1}");

    let (s, list) = api.get("/api/v1/settings/holidays?year=2026").await?;
    ensure!(s == StatusCode::OK, "{s} {list}");
    let dates: Vec<&str> =
        list["items"].as_array().context("items")?.iter().filter_map(|h| h["date"].as_str()).collect();
    ensure!(dates == ["2026-10-01", "2026-10-10"], "by date: {list}");
    let (_, other) = api.get("/api/v1/settings/holidays?year=2027").await?;
    ensure!(other["items"].as_array().is_some_and(Vec::is_empty), "{other}");

    // The page lists them and adds more.
    let (s, html) = b.get("/settings/holidays?year=2026").await?;
    ensure!(s == StatusCode::OK && html.contains("国庆节") && html.contains("国庆调休上班") && html.contains("星期四"));
    let (s, _) =
        b.post_form("/settings/holidays", &[("date", "2026-10-02"), ("name", "国庆节"), ("kind", "holiday")]).await?;
    ensure!(s == StatusCode::SEE_OTHER && b.last_location() == Some("/settings/holidays?year=2026&saved=1"), "{s}");
    let (_, html) = b.get("/settings/holidays?year=2026&saved=1").await?;
    ensure!(html.contains("已保存") && html.contains("2026-10-02"));
    let (s, html) =
        b.post_form("/settings/holidays", &[("date", "2026-10-02"), ("name", "重复"), ("kind", "holiday")]).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("该日期已有记录"), "duplicate on the page: {s}");
    ensure!(html.contains("value=\"重复\""), "typed values kept");

    // Removal needs the current version.
    let id1 = h1["id"].as_i64().context("id")?;
    let (s, b1) = api.delete(&format!("/api/v1/settings/holidays/{id1}?version=7")).await?;
    ensure!(s == StatusCode::CONFLICT, "stale: {s} {b1}");
    let (s, b1) = api.delete(&format!("/api/v1/settings/holidays/{id1}")).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b1) == ["version"], "version needed: {s} {b1}");
    let (s, _) = api.delete(&format!("/api/v1/settings/holidays/{id1}?version=1")).await?;
    ensure!(s == StatusCode::NO_CONTENT, "removed: {s}");
    let (s, _) = api.delete(&format!("/api/v1/settings/holidays/{id1}?version=1")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "gone: {s}");

    // And from the page.
    let id2 = h2["id"].as_i64().context("id")?;
    b.get("/settings/holidays?year=2026").await?;
    let (s, html) =
        b.post_form(&format!("/settings/holidays/{id2}/delete"), &[("version", "9"), ("year", "2026")]).await?;
    ensure!(s == StatusCode::CONFLICT && html.contains("该记录已被他人修改"), "stale on the page: {s}");
    let (s, _) =
        b.post_form(&format!("/settings/holidays/{id2}/delete"), &[("version", "1"), ("year", "2026")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "removed from the page: {s}");
    let (_, list) = api.get("/api/v1/settings/holidays?year=2026").await?;
    let dates: Vec<&str> =
        list["items"].as_array().context("items")?.iter().filter_map(|h| h["date"].as_str()).collect();
    ensure!(dates == ["2026-10-02"], "{list}");
    let (_, trail) = api.get("/api/v1/audit?entity=holiday&action=delete").await?;
    ensure!(trail["items"].as_array().map(Vec::len) == Some(2), "both removals audited: {trail}");
    Ok(())
}

async fn business_calendar(app: TestApp) -> Result<()> {
    let (api, _) = admin(&app, "admin1").await?;
    // National Day 2026: Thursday 1 October off, Saturday 10 October worked.
    for (date, name, kind) in [("2026-10-01", "国庆节", "holiday"), ("2026-10-10", "国庆调休上班", "workday")]
    {
        let (s, b) = api.post("/api/v1/settings/holidays", &json!({"date": date, "name": name, "kind": kind})).await?;
        ensure!(s == StatusCode::CREATED, "{s} {b}");
    }
    let (s, cal) = api.get("/api/v1/settings/calendar?from=2026-09-30&to=2026-10-11").await?;
    ensure!(s == StatusCode::OK, "{s} {cal}");
    ensure!(cal["timezone"] == "Asia/Shanghai");
    let days = cal["days"].as_array().context("days")?;
    ensure!(days.len() == 12, "every day of the range: {}", days.len());
    let day = |d: &str| days.iter().find(|x| x["date"] == d).cloned().unwrap_or(Value::Null);
    let wed = day("2026-09-30");
    ensure!(wed["business_day"] == true && wed["open"] == "09:00" && wed["close"] == "18:00", "{wed}");
    let holiday = day("2026-10-01");
    ensure!(holiday["weekday"] == "thu" && holiday["business_day"] == false && holiday["open"].is_null(), "{holiday}");
    ensure!(holiday["exception"] == "holiday" && holiday["name"] == "国庆节", "{holiday}");
    let sat = day("2026-10-03");
    ensure!(
        sat["business_day"] == true && sat["close"] == "17:00" && sat["exception"].is_null(),
        "normal Saturday: {sat}"
    );
    let worked = day("2026-10-10");
    ensure!(
        worked["weekday"] == "sat" && worked["business_day"] == true && worked["exception"] == "workday",
        "{worked}"
    );
    ensure!(
        worked["open"] == "09:00" && worked["close"] == "18:00",
        "an adjusted working day has weekday hours: {worked}"
    );
    let sun = day("2026-10-11");
    ensure!(sun["business_day"] == false && sun["exception"].is_null(), "{sun}");

    // Adjusted working days follow Monday's hours when those change.
    let (_, p) = api.get("/api/v1/settings/company").await?;
    let mut body = json!({"name": p["name"], "timezone": p["timezone"], "business_hours": p["business_hours"], "version": p["version"]});
    body["business_hours"]["mon"] = json!({"open": "10:00", "close": "19:00"});
    let (s, b) = api.put("/api/v1/settings/company", &body).await?;
    ensure!(s == StatusCode::OK, "{s} {b}");
    let (_, cal) = api.get("/api/v1/settings/calendar?from=2026-10-10&to=2026-10-10").await?;
    ensure!(cal["days"][0]["open"] == "10:00" && cal["days"][0]["close"] == "19:00", "{cal}");

    let (s, _) = api.get("/api/v1/settings/calendar?from=2026-01-01&to=2026-12-31").await?;
    ensure!(s == StatusCode::OK, "a whole year is fine");
    for (q, want) in [
        ("from=2026-01-01&to=2027-01-02", vec!["to"]),
        ("from=2026-10-02&to=2026-10-01", vec!["to"]),
        ("to=2026-10-01", vec!["from"]),
        ("from=2026-10-01&to=tomorrow", vec!["to"]),
    ] {
        let (s, b) = api.get(&format!("/api/v1/settings/calendar?{q}")).await?;
        ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b) == want, "{q}: {s} {b}");
    }
    Ok(())
}

async fn only_settings_managers(app: TestApp) -> Result<()> {
    let team = app.team("华东分公司", None).await?;
    let (_, pw) = app.create_user("mgr", "manager", Some(team)).await?;
    let api = app.api_as("mgr", &pw).await?;
    for path in [
        "/api/v1/settings/company",
        "/api/v1/settings/holidays?year=2026",
        "/api/v1/settings/calendar?from=2026-10-01&to=2026-10-02",
    ] {
        let (s, _) = api.get(path).await?;
        ensure!(s == StatusCode::FORBIDDEN, "{path}: {s}");
    }
    let (s, _) =
        api.post("/api/v1/settings/holidays", &json!({"date": "2026-10-01", "name": "x", "kind": "holiday"})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    let mut b = app.browser("mgr", &pw).await?;
    for path in ["/settings/company", "/settings/holidays"] {
        let (s, _) = b.get(path).await?;
        ensure!(s == StatusCode::FORBIDDEN, "{path}: {s}");
    }
    b.get("/account").await?;
    let (s, _) =
        b.post_form("/settings/holidays", &[("date", "2026-10-01"), ("name", "x"), ("kind", "holiday")]).await?;
    ensure!(s == StatusCode::FORBIDDEN, "posting the form: {s}");
    let (_, admin_pw) = app.create_user("root", "admin", None).await?;
    let (_, list) = app.api_as("root", &admin_pw).await?.get("/api/v1/settings/holidays?year=2026").await?;
    ensure!(list["items"].as_array().is_some_and(Vec::is_empty), "nothing was added: {list}");
    Ok(())
}

async fn pages_in_both_languages(app: TestApp) -> Result<()> {
    let (api, mut b) = admin(&app, "admin1").await?;
    let (s, html) = b.get("/settings/company").await?;
    ensure!(
        s == StatusCode::OK && html.contains("公司名称") && html.contains("星期一") && html.contains("lang=\"zh-CN\"")
    );
    let (s, html) = b.get("/settings/holidays").await?;
    ensure!(s == StatusCode::OK && html.contains("节假日与调休") && html.contains("调休上班"), "{s}");

    let (_, me) = api.get("/api/v1/me").await?;
    let (s, _) = api.patch("/api/v1/me", &json!({"locale": "en", "version": me["version"]})).await?;
    ensure!(s == StatusCode::OK);
    let (s, html) = b.get("/settings/company").await?;
    ensure!(s == StatusCode::OK && html.contains("Company profile") && html.contains("Business hours"), "{s}");
    ensure!(html.contains("Monday") && html.contains("lang=\"en\"") && !html.contains("星期一"));
    let (s, html) = b.get("/settings/holidays?year=2026").await?;
    ensure!(s == StatusCode::OK && html.contains("Holidays and adjusted working days") && html.contains("Add date"));
    // Messages follow the language too.
    let (s, html) = b
        .post_form("/settings/holidays", &[("date", "01/10/2026"), ("name", "National Day"), ("kind", "holiday")])
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("Enter a date as YYYY-MM-DD"), "{s}");
    Ok(())
}
