//! Opportunities and versioned quotes: CRUD and validation, the pipeline
//! rules (a reason to lose, a manager to reopen), visibility by owner and
//! team, the board (its columns, its no-script form and a real drag in
//! Chromium), quotes revised into versions, their difference, exact totals,
//! stale versions and the printable page.

use crate::browser::{browser, start_driver, text_of};
use crate::harness::{browser_story, story, Api, Story, TestApp};
use anyhow::{ensure, Context, Result};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub fn stories() -> Vec<Story> {
    vec![
        story("opportunities_are_created_read_changed_and_validated", opportunity_crud),
        story("stages_need_a_reason_to_lose_and_a_manager_to_reopen", stage_rules),
        story("salespeople_see_only_their_own_opportunities_and_quotes", visibility),
        story("the_board_shows_every_stage_and_moves_cards_without_script", board_without_script),
        story("quotes_are_revised_into_versions_compared_and_totalled_exactly", quote_versions),
        story("sending_a_quote_moves_its_opportunity_to_quoted", quote_status),
        story("quote_pages_edit_lines_without_script_and_print_on_a4", quote_pages),
        browser_story("dragging_a_card_on_the_board_moves_the_opportunity", browser_drag),
    ]
}

// ---------------------------------------------------------------------------
// Helpers

async fn user(app: &TestApp, username: &str, role: &str, team: Option<i64>) -> Result<(i64, Api)> {
    let (id, pw) = app.create_user(username, role, team).await?;
    Ok((id, app.api_as(username, &pw).await?))
}

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

/// A customer owned by the caller.
async fn customer(api: &Api, name: &str) -> Result<i64> {
    let (s, b) =
        api.post("/api/v1/customers", &json!({"kind": "individual", "name": name, "confirm_duplicate": true})).await?;
    ensure!(s == StatusCode::CREATED, "customer {name}: {s} {b}");
    b["id"].as_i64().context("customer id")
}

async fn opportunity(api: &Api, customer_id: i64, title: &str, value: &str) -> Result<Value> {
    let (s, b) = api
        .post(
            "/api/v1/opportunities",
            &json!({"customer_id": customer_id, "title": title, "expected_value": value, "close_date": "2099-03-31",
                    "adults": 2, "children": 1, "destination": "三亚", "product_type": "long_haul",
                    "budget": "20000", "source": "referral", "notes": "想住海景房"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "opportunity {title}: {s} {b}");
    Ok(b)
}

async fn stage(api: &Api, o: &Value, to: &str, reason: Option<&str>) -> Result<(StatusCode, Value)> {
    let mut body = json!({"stage": to, "version": o["version"]});
    if let Some(r) = reason {
        body["lost_reason"] = json!(r);
    }
    api.post(&format!("/api/v1/opportunities/{}/stage", o["id"]), &body).await
}

/// A departure line of `adults` at `price` with a discount.
fn line(description: &str, adults: u32, price: &str, discount: Value) -> Value {
    let mut l = json!({"kind": "departure", "description": description, "adults": adults, "adult_price": price});
    if let Some(obj) = discount.as_object() {
        for (k, v) in obj {
            l[k] = v.clone();
        }
    }
    l
}

// ---------------------------------------------------------------------------
// Opportunities

async fn opportunity_crud(app: TestApp) -> Result<()> {
    let (me, api) = user(&app, "xiaoli", "sales", None).await?;
    let (_, other) = user(&app, "xiaowang", "sales", None).await?;
    let cust = customer(&api, "张三").await?;
    let theirs = customer(&other, "李四").await?;

    let o = opportunity(&api, cust, "海南5日 家庭游", "18800.00").await?;
    ensure!(o["stage"] == "new" && o["owner_id"] == me && o["customer_name"] == "张三", "{o}");
    ensure!(o["expected_value"] == "18800.00" && o["weighted_value"] == "1880.00", "10% at stage new: {o}");
    ensure!(o["budget"] == "20000.00" && o["adults"] == 2 && o["children"] == 1 && o["version"] == 1, "{o}");
    let id = o["id"].as_i64().context("id")?;

    let (s, got) = api.get(&format!("/api/v1/opportunities/{id}")).await?;
    ensure!(s == StatusCode::OK && got["title"] == "海南5日 家庭游" && got["destination"] == "三亚", "{s} {got}");

    let (s, changed) = api
        .patch(
            &format!("/api/v1/opportunities/{id}"),
            &json!({"version": 1, "expected_value": "21000.50", "destination": "三亚 亚龙湾"}),
        )
        .await?;
    ensure!(s == StatusCode::OK && changed["version"] == 2, "{s} {changed}");
    ensure!(changed["expected_value"] == "21000.50" && changed["title"] == "海南5日 家庭游", "others kept: {changed}");
    // The same change again is stale and changes nothing.
    let (s, b) = api.patch(&format!("/api/v1/opportunities/{id}"), &json!({"version": 1, "title": "别的"})).await?;
    ensure!(s == StatusCode::CONFLICT && b["error"]["current_version"] == 2, "{s} {b}");
    let (_, now) = api.get(&format!("/api/v1/opportunities/{id}")).await?;
    ensure!(now["title"] == "海南5日 家庭游" && now["version"] == 2, "{now}");

    // Bad input names each field and creates nothing.
    let (s, b) = api
        .post(
            "/api/v1/opportunities",
            &json!({"customer_id": cust, "title": " ", "expected_value": "12.345", "close_date": "31/03/2099",
                    "budget": "-1", "adults": 0, "children": 0, "product_type": "spaceflight", "source": "carrier pigeon"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    for (f, c) in [
        ("title", "required"),
        ("expected_value", "invalid_money"),
        ("close_date", "invalid_date"),
        ("budget", "negative"),
        ("product_type", "invalid_choice"),
        ("source", "invalid_choice"),
    ] {
        ensure!(has_field(&b, f, c), "{f} ({c}) named in {b}");
    }
    // A customer the salesperson may not see is refused by name.
    let (s, b) = api
        .post("/api/v1/opportunities", &json!({"customer_id": theirs, "title": "抢单", "close_date": "2099-01-01"}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "customer_id", "not_found"), "{s} {b}");
    // A salesperson cannot give an opportunity to a colleague.
    let (s, b) = api
        .post(
            "/api/v1/opportunities",
            &json!({"customer_id": cust, "title": "转给同事", "close_date": "2099-01-01", "owner_id": me + 1}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "owner_id", "forbidden"), "{s} {b}");
    let (_, list) = api.get("/api/v1/opportunities").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(1), "nothing else was created: {list}");

    // Lists filter and search.
    opportunity(&api, cust, "北京 故宫 一日游", "900").await?;
    let (_, found) = api.get("/api/v1/opportunities?q=%E6%95%85%E5%AE%AB").await?;
    ensure!(
        found["items"].as_array().map(Vec::len) == Some(1) && found["items"][0]["title"] == "北京 故宫 一日游",
        "{found}"
    );
    let (_, by_customer) = api.get("/api/v1/opportunities?q=%E5%BC%A0%E4%B8%89").await?;
    ensure!(by_customer["items"].as_array().map(Vec::len) == Some(2), "search by customer name: {by_customer}");
    let (_, month) = api.get("/api/v1/opportunities?close_month=2099-03&limit=1").await?;
    ensure!(month["items"].as_array().map(Vec::len) == Some(1) && month["next"].is_string(), "{month}");
    let (s, b) = api.get("/api/v1/opportunities?close_month=March").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "close_month", "invalid"), "{s} {b}");

    // Every change was audited.
    let all = store::visibility::Visibility {
        scope: domain::access::Scope::All,
        user_id: domain::ids::UserId(0),
        teams: vec![],
    };
    let rows = store::audit::list(
        &app.store,
        &all,
        &store::audit::Filter {
            entity: Some("opportunity".into()),
            entity_id: Some(id.to_string()),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    ensure!(rows.items.len() == 2, "create and update audited: {}", rows.items.len());
    Ok(())
}

async fn stage_rules(app: TestApp) -> Result<()> {
    let team = app.team("华东销售部", None).await?;
    let (_, sales) = user(&app, "xiaoli", "sales", Some(team)).await?;
    let (boss_id, boss) = user(&app, "laozhang", "manager", Some(team)).await?;
    app.set_manager(team, boss_id).await?;
    let cust = customer(&sales, "张三").await?;
    let o = opportunity(&sales, cust, "云南7日", "30000").await?;
    let id = o["id"].as_i64().context("id")?;

    // Lost without a reason: 422 naming lost_reason, nothing changes.
    let (s, b) = stage(&sales, &o, "lost", None).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "lost_reason", "required"), "{s} {b}");
    let (s, b) = stage(&sales, &o, "lost", Some("   ")).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "lost_reason", "required"), "{s} {b}");
    // Skipping to won is not a move of the pipeline.
    let (s, b) = stage(&sales, &o, "won", None).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "stage", "invalid_transition"), "{s} {b}");
    let (s, b) = stage(&sales, &o, "sold", None).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&b).iter().any(|(f, _)| f == "stage"), "{s} {b}");
    let (_, now) = sales.get(&format!("/api/v1/opportunities/{id}")).await?;
    ensure!(now["stage"] == "new" && now["version"] == 1, "refused moves change nothing: {now}");

    let (s, q) = stage(&sales, &now, "qualified", None).await?;
    ensure!(s == StatusCode::OK && q["stage"] == "qualified" && q["version"] == 2, "{s} {q}");
    // A stale move is 409.
    let (s, b) = stage(&sales, &now, "quoted", None).await?;
    ensure!(s == StatusCode::CONFLICT, "{s} {b}");
    let (s, lost) = stage(&sales, &q, "lost", Some("价格高于竞争对手")).await?;
    ensure!(s == StatusCode::OK && lost["stage"] == "lost" && lost["lost_reason"] == "价格高于竞争对手", "{s} {lost}");
    ensure!(lost["closed_at"].is_string() && lost["weighted_value"] == "0.00", "{lost}");

    // Only a manager reopens.
    let (s, b) = stage(&sales, &lost, "qualified", None).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "stage", "manager_required"), "{s} {b}");
    let (s, reopened) = stage(&boss, &lost, "qualified", None).await?;
    ensure!(
        s == StatusCode::OK && reopened["stage"] == "qualified" && reopened["lost_reason"].is_null(),
        "{s} {reopened}"
    );
    // The board's PATCH does the same.
    let (s, b) = boss
        .patch(
            &format!("/api/v1/opportunities/{id}/stage"),
            &json!({"stage": "quoted", "version": reopened["version"]}),
        )
        .await?;
    ensure!(s == StatusCode::OK && b["stage"] == "quoted", "{s} {b}");
    Ok(())
}

async fn visibility(app: TestApp) -> Result<()> {
    let team = app.team("华南销售部", None).await?;
    let (_, a) = user(&app, "xiaoli", "sales", Some(team)).await?;
    let (_, b) = user(&app, "xiaowang", "sales", Some(team)).await?;
    let (boss_id, boss) = user(&app, "laozhang", "manager", Some(team)).await?;
    app.set_manager(team, boss_id).await?;
    let ca = customer(&a, "张三").await?;
    let cb = customer(&b, "李四").await?;
    let oa = opportunity(&a, ca, "A 的商机", "1000").await?;
    opportunity(&b, cb, "B 的商机", "2000").await?;
    let id = oa["id"].as_i64().context("id")?;

    let (s, body) = b.get(&format!("/api/v1/opportunities/{id}")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "another's opportunity is 404: {s} {body}");
    let (s, _) = b.patch(&format!("/api/v1/opportunities/{id}"), &json!({"version": 1, "title": "改"})).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (s, _) = stage(&b, &oa, "qualified", None).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (_, list) = b.get("/api/v1/opportunities").await?;
    let titles: Vec<&str> =
        list["items"].as_array().into_iter().flatten().filter_map(|o| o["title"].as_str()).collect();
    ensure!(titles == ["B 的商机"], "{titles:?}");
    let (_, list) = boss.get("/api/v1/opportunities").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(2), "the manager sees the team's: {list}");

    // Quotes follow the same rule.
    let (s, q) = a
        .post(
            "/api/v1/quotes",
            &json!({"customer_id": ca, "opportunity_id": id, "title": "A 的报价", "valid_until": "2099-01-31",
                    "lines": [line("三亚5日", 2, "3000", json!({}))]}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s} {q}");
    let qid = q["id"].as_i64().context("quote id")?;
    for path in [
        format!("/api/v1/quotes/{qid}"),
        format!("/api/v1/quotes/{qid}/versions/1"),
        format!("/api/v1/quotes/{qid}/versions"),
    ] {
        let (s, _) = b.get(&path).await?;
        ensure!(s == StatusCode::NOT_FOUND, "{path}: {s}");
    }
    let (_, list) = b.get(&format!("/api/v1/quotes?customer_id={ca}")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(0), "{list}");
    let (s, _) = boss.get(&format!("/api/v1/quotes/{qid}")).await?;
    ensure!(s == StatusCode::OK, "{s}");
    // A quote the manager writes for A's opportunity is A's to follow.
    let (s, mq) = boss
        .post(
            "/api/v1/quotes",
            &json!({"customer_id": ca, "opportunity_id": id, "title": "经理代写", "valid_until": "2099-01-31",
                    "lines": [line("三亚5日", 2, "2800", json!({}))]}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED && mq["owner_id"] == oa["owner_id"], "{s} {mq}");
    let (s, _) = a.get(&format!("/api/v1/quotes/{}", mq["id"])).await?;
    ensure!(s == StatusCode::OK, "{s}");
    // B cannot quote on A's opportunity either.
    let (s, body) = b
        .post(
            "/api/v1/quotes",
            &json!({"customer_id": cb, "opportunity_id": id, "title": "抢", "valid_until": "2099-01-31",
                    "lines": [line("x", 1, "1", json!({}))]}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "opportunity_id", "not_found"), "{s} {body}");
    Ok(())
}

async fn board_without_script(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "xiaoli", "sales", None).await?;
    let cust = customer(&api, "张三").await?;
    let o = opportunity(&api, cust, "海南5日", "18800").await?;
    let id = o["id"].as_i64().context("id")?;
    let mut web = app.browser("xiaoli", "Quartz-Lantern-Oyster-47!").await?;
    let (s, html) = web.get("/opportunities/board").await?;
    ensure!(s == StatusCode::OK, "{s}");
    for (code, label) in [
        ("new", "新建"),
        ("qualified", "已确认需求"),
        ("quoted", "已报价"),
        ("negotiating", "谈判中"),
        ("won", "赢单"),
        ("lost", "输单"),
    ] {
        ensure!(html.contains(&format!("id=\"column-{code}\"")) && html.contains(label), "column {code} {label}");
    }
    ensure!(
        html.contains(&format!("id=\"opp-{id}\"")) && html.contains("张三") && html.contains("¥18800.00"),
        "the card"
    );
    ensure!(html.contains("/assets/board.js"), "the board script");
    let (s, js) = web.get("/assets/board.js").await?;
    ensure!(s == StatusCode::OK && js.contains("X-CSRF-Token"), "the script is served");

    // Without a reason the move is refused and shown on the board.
    let (s, html) = web
        .post_form(&format!("/opportunities/{id}/stage"), &[("stage", "lost"), ("version", "1"), ("back", "board")])
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("输单原因"), "{s}");
    let (s, _) = web
        .post_form(
            &format!("/opportunities/{id}/stage"),
            &[("stage", "qualified"), ("version", "1"), ("back", "board")],
        )
        .await?;
    ensure!(
        s == StatusCode::SEE_OTHER && web.last_location() == Some(&*format!("/opportunities/board#opp-{id}")),
        "{s}"
    );
    let (_, now) = api.get(&format!("/api/v1/opportunities/{id}")).await?;
    ensure!(now["stage"] == "qualified", "{now}");

    // The board in English.
    keyuan::cli::add_user(&app.store, "amy", "manager", None, None, None, "en", "Quartz-Lantern-Oyster-47!").await?;
    let mut en = app.browser("amy", "Quartz-Lantern-Oyster-47!").await?;
    let (s, html) = en.get("/opportunities/board").await?;
    ensure!(s == StatusCode::OK && html.contains("Pipeline board") && html.contains("Qualified"), "{s}");

    // The list page filters, the detail page offers a quote.
    let (s, html) = web.get("/opportunities?stage=qualified&close_month=2099-03&q=%E6%B5%B7%E5%8D%97").await?;
    ensure!(s == StatusCode::OK && html.contains("海南5日"), "{s}");
    let (_, html) = web.get("/opportunities?stage=won").await?;
    ensure!(!html.contains("海南5日"), "filtered out");
    let (s, html) = web.get(&format!("/opportunities/{id}")).await?;
    ensure!(
        s == StatusCode::OK && html.contains(&format!("/quotes/new?customer_id={cust}&amp;opportunity_id={id}")),
        "{s}"
    );
    ensure!(!html.contains("/orders/new"), "no order link before it is won");

    // The form creates and edits one.
    let (s, html) = web.get(&format!("/opportunities/new?customer_id={cust}")).await?;
    ensure!(s == StatusCode::OK && html.contains("张三"), "{s}");
    let (s, html) = web
        .post_form("/opportunities", &[("customer_id", &cust.to_string()), ("title", ""), ("close_date", "2099-02-30")])
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("标题") && html.contains("预计成交日期"), "{s}");
    let (s, _) = web
        .post_form(
            "/opportunities",
            &[
                ("customer_id", &cust.to_string()),
                ("title", "公司年会 桂林"),
                ("close_date", "2099-02-28"),
                ("adults", "30"),
                ("expected_value", "90000"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, list) = api.get("/api/v1/opportunities?q=%E6%A1%82%E6%9E%97").await?;
    ensure!(list["items"][0]["adults"] == 30 && list["items"][0]["expected_value"] == "90000.00", "{list}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Quotes

async fn quote_versions(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "xiaoli", "sales", None).await?;
    let cust = customer(&api, "张三").await?;
    let o = opportunity(&api, cust, "海南5日", "18800").await?;

    // 3 adults × 1999.90 = 5999.70; 5% of it is 299.985 → 299.99 (half away
    // from zero, per line): 5699.71.
    let (s, q) = api
        .post(
            "/api/v1/quotes",
            &json!({"customer_id": cust, "opportunity_id": o["id"], "title": "海南5日 报价", "valid_until": "2099-01-31",
                    "notes": "含往返机票",
                    "lines": [line("三亚5日 团期 0115", 3, "1999.90", json!({"discount_percent": "5"})),
                              {"kind": "extra", "description": "接送机", "adults": 3, "adult_price": "50",
                               "extras": [{"description": "保险", "amount": "30.00"}]}]}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s} {q}");
    ensure!(q["number"].as_str().is_some_and(|n| n.starts_with('Q') && n.ends_with("-000001")), "{q}");
    ensure!(q["status"] == "draft" && q["current_version"] == 1 && q["version"] == 1, "{q}");
    let l0 = &q["current"]["lines"][0];
    ensure!(l0["fare"] == "5999.70" && l0["discount_amount"] == "299.99" && l0["total"] == "5699.71", "{l0}");
    ensure!(q["current"]["lines"][1]["total"] == "180.00", "3 × 50 + 30: {q}");
    ensure!(q["total"] == "5879.71" && q["current"]["total"] == "5879.71", "{q}");
    let id = q["id"].as_i64().context("id")?;
    let key0 = l0["key"].as_u64().context("key")?;

    // Revision 2: one more adult on the first line.
    let (s, v2) = api
        .patch(
            &format!("/api/v1/quotes/{id}"),
            &json!({"version": 1, "lines": [
                {"key": key0, "kind": "departure", "description": "三亚5日 团期 0115", "adults": 4, "adult_price": "1999.90", "discount_percent": "5"},
                {"key": 2, "kind": "extra", "description": "接送机", "adults": 3, "adult_price": "50", "extras": [{"description": "保险", "amount": "30.00"}]}]}),
        )
        .await?;
    ensure!(s == StatusCode::OK && v2["current_version"] == 2 && v2["version"] == 2, "{s} {v2}");
    // 4 × 1999.90 = 7999.60, 5% = 399.98 → 7599.62 + 180 = 7779.62.
    ensure!(v2["total"] == "7779.62", "{v2}");
    // Revision 3: the transfer removed, a visa line added, title changed.
    let (s, v3) = api
        .patch(
            &format!("/api/v1/quotes/{id}"),
            &json!({"version": 2, "title": "海南5日 报价（含签证）", "lines": [
                {"key": key0, "kind": "departure", "description": "三亚5日 团期 0115", "adults": 4, "adult_price": "1999.90", "discount_amount": "400"},
                {"kind": "extra", "description": "签证", "adults": 4, "adult_price": "300"}]}),
        )
        .await?;
    ensure!(s == StatusCode::OK && v3["current_version"] == 3, "{s} {v3}");
    ensure!(v3["total"] == "8799.60", "7999.60 − 400 + 1200: {v3}");
    // A stale revision is 409 and writes no version.
    let (s, b) = api.patch(&format!("/api/v1/quotes/{id}"), &json!({"version": 2, "title": "晚了"})).await?;
    ensure!(s == StatusCode::CONFLICT && b["error"]["current_version"] == 3, "{s} {b}");
    let (_, all) = api.get(&format!("/api/v1/quotes/{id}/versions")).await?;
    let totals: Vec<&str> = all.as_array().into_iter().flatten().filter_map(|v| v["total"].as_str()).collect();
    ensure!(totals == ["5879.71", "7779.62", "8799.60"], "versions 1..3 kept as written: {totals:?}");
    for (n, title) in [(1, "海南5日 报价"), (2, "海南5日 报价"), (3, "海南5日 报价（含签证）")] {
        let (s, v) = api.get(&format!("/api/v1/quotes/{id}/versions/{n}")).await?;
        ensure!(s == StatusCode::OK && v["version_no"] == n && v["title"] == title, "{s} {v}");
        ensure!(v["created_by_name"].is_string(), "{v}");
    }
    let (s, _) = api.get(&format!("/api/v1/quotes/{id}/versions/4")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");

    // The difference between 1 and 3.
    let (s, d) = api.get(&format!("/api/v1/quotes/{id}/diff?from=1&to=3")).await?;
    ensure!(s == StatusCode::OK, "{s} {d}");
    ensure!(d["total_before"] == "5879.71" && d["total_after"] == "8799.60", "{d}");
    ensure!(
        d["header"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["field"] == "title" && c["after"] == "海南5日 报价（含签证）"),
        "{d}"
    );
    let changed = &d["changed"][0];
    ensure!(changed["description"] == "三亚5日 团期 0115" && d["changed"].as_array().map(Vec::len) == Some(1), "{d}");
    let change = |f: &str| changed["changes"].as_array().into_iter().flatten().find(|c| c["field"] == f).cloned();
    ensure!(change("adults").is_some_and(|c| c["before"] == "3" && c["after"] == "4"), "{changed}");
    ensure!(change("discount").is_some_and(|c| c["before"] == "5%" && c["after"] == "400.00"), "{changed}");
    ensure!(change("total").is_some_and(|c| c["before"] == "5699.71" && c["after"] == "7599.60"), "{changed}");
    ensure!(d["removed"][0]["description"] == "接送机" && d["added"][0]["description"] == "签证", "{d}");
    let (s, b) = api.get(&format!("/api/v1/quotes/{id}/diff?from=1&to=9")).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "to", "not_found"), "{s} {b}");

    // Bad lines are named and save nothing.
    let (s, b) = api
        .patch(
            &format!("/api/v1/quotes/{id}"),
            &json!({"version": 3, "valid_until": "2000-01-01", "lines": [
                {"description": "", "adults": 0, "adult_price": "1.234"},
                {"description": "优惠过多", "adults": 1, "adult_price": "100", "discount_amount": "200"}]}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    for f in ["lines.0.adult_price", "lines.0.adults"] {
        ensure!(fields(&b).iter().any(|(ff, _)| ff == f), "{f} in {b}");
    }
    let (_, b) = api
        .patch(
            &format!("/api/v1/quotes/{id}"),
            &json!({"version": 3, "valid_until": "2000-01-01", "lines": [
                {"description": "优惠过多", "adults": 1, "adult_price": "100", "discount_amount": "200"}]}),
        )
        .await?;
    ensure!(
        has_field(&b, "lines.0.discount", "discount_exceeds_fare") && has_field(&b, "valid_until", "before_issue_date"),
        "{b}"
    );
    let (_, now) = api.get(&format!("/api/v1/quotes/{id}")).await?;
    ensure!(now["current_version"] == 3 && now["version"] == 3, "{now}");

    // Lists by customer and by opportunity.
    let (_, list) = api.get(&format!("/api/v1/quotes?customer_id={cust}")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(1) && list["items"][0]["current"].is_null(), "{list}");
    let (_, list) = api.get(&format!("/api/v1/quotes?opportunity_id={}", o["id"])).await?;
    ensure!(list["items"][0]["id"] == id, "{list}");
    Ok(())
}

async fn quote_status(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "xiaoli", "sales", None).await?;
    let cust = customer(&api, "张三").await?;
    let o = opportunity(&api, cust, "海南5日", "18800").await?;
    let oid = o["id"].as_i64().context("id")?;
    let (_, q) = api
        .post(
            "/api/v1/quotes",
            &json!({"customer_id": cust, "opportunity_id": oid, "title": "报价", "valid_until": "2099-01-31",
                    "lines": [line("三亚", 2, "3000", json!({}))]}),
        )
        .await?;
    let id = q["id"].as_i64().context("id")?;
    let (s, b) = api.post(&format!("/api/v1/quotes/{id}/status"), &json!({"status": "accepted", "version": 1})).await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "status", "invalid_transition"),
        "a draft is sent first: {s} {b}"
    );
    let (s, sent) = api.post(&format!("/api/v1/quotes/{id}/status"), &json!({"status": "sent", "version": 1})).await?;
    ensure!(s == StatusCode::OK && sent["status"] == "sent" && sent["sent_at"].is_string(), "{s} {sent}");
    let (_, opp) = api.get(&format!("/api/v1/opportunities/{oid}")).await?;
    ensure!(opp["stage"] == "quoted", "sending moved the opportunity: {opp}");
    let (s, _) = api.post(&format!("/api/v1/quotes/{id}/status"), &json!({"status": "accepted", "version": 1})).await?;
    ensure!(s == StatusCode::CONFLICT, "{s}");
    let (s, acc) =
        api.post(&format!("/api/v1/quotes/{id}/status"), &json!({"status": "accepted", "version": 2})).await?;
    ensure!(s == StatusCode::OK && acc["status"] == "accepted", "{s} {acc}");
    let (s, b) = api.patch(&format!("/api/v1/quotes/{id}"), &json!({"version": 3, "title": "再改"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "status", "accepted_is_final"), "{s} {b}");
    // An opportunity further along stays where it is.
    let (_, neg) = stage(&api, &opp, "negotiating", None).await?;
    let (_, q2) = api
        .post(
            "/api/v1/quotes",
            &json!({"customer_id": cust, "opportunity_id": oid, "title": "报价二", "valid_until": "2099-01-31",
                    "lines": [line("三亚", 2, "2900", json!({}))]}),
        )
        .await?;
    let (s, _) =
        api.post(&format!("/api/v1/quotes/{}/status", q2["id"]), &json!({"status": "sent", "version": 1})).await?;
    ensure!(s == StatusCode::OK, "{s}");
    let (_, opp) = api.get(&format!("/api/v1/opportunities/{oid}")).await?;
    ensure!(opp["stage"] == "negotiating" && opp["version"] == neg["version"], "{opp}");
    // A sent quote past its validity reads as expired and can no longer be accepted.
    sqlx::query("UPDATE quotes SET valid_until = '2000-01-31' WHERE id = $1")
        .bind(q2["id"].as_i64().context("id")?)
        .execute(app.store.pool())
        .await?;
    let (_, old) = api.get(&format!("/api/v1/quotes/{}", q2["id"])).await?;
    ensure!(old["status"] == "expired", "{old}");
    let (s, b) =
        api.post(&format!("/api/v1/quotes/{}/status", q2["id"]), &json!({"status": "accepted", "version": 2})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "status", "invalid_transition"), "{s} {b}");
    // Won: the page links to making the order.
    let (_, won) = stage(&api, &opp, "won", None).await?;
    ensure!(won["stage"] == "won", "{won}");
    let mut web = app.browser("xiaoli", "Quartz-Lantern-Oyster-47!").await?;
    let (_, html) = web.get(&format!("/opportunities/{oid}")).await?;
    ensure!(html.contains(&format!("/orders/new?opportunity_id={oid}")) && html.contains("生成订单"), "the order link");
    Ok(())
}

async fn quote_pages(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("boss", "admin", None).await?;
    let admin = app.api_as("boss", &pw).await?;
    let (_, p) = admin.get("/api/v1/settings/company").await?;
    let profile = json!({
        "name": "上海春秋国际旅行社有限公司", "short_name": "春秋国旅", "license_no": "L-SH-CJ00001",
        "address": "上海市长宁区空港一路528号", "phone": "021-6252 0000", "email": "service@example.cn",
        "website": "www.example.cn", "timezone": "Asia/Shanghai", "business_hours": p["business_hours"],
        "version": p["version"]
    });
    let (s, b) = admin.put("/api/v1/settings/company", &profile).await?;
    ensure!(s == StatusCode::OK, "{s} {b}");

    let (_, api) = user(&app, "xiaoli", "sales", None).await?;
    let cust = customer(&api, "张三").await?;
    let o = opportunity(&api, cust, "海南5日", "18800").await?;
    let oid = o["id"].as_i64().context("id")?;
    let mut web = app.browser("xiaoli", "Quartz-Lantern-Oyster-47!").await?;

    // The editor starts from the opportunity and works without scripts.
    let (s, html) = web.get(&format!("/quotes/new?customer_id={cust}&opportunity_id={oid}")).await?;
    ensure!(s == StatusCode::OK && html.contains("name=\"line.3.description\"") && html.contains("张三"), "{s}");
    ensure!(!html.contains("name=\"line.4.description\""), "one line from the opportunity and three blank rows");
    let cust_s = cust.to_string();
    let oid_s = oid.to_string();
    let base: Vec<(&str, &str)> = vec![
        ("customer_id", &cust_s),
        ("opportunity_id", &oid_s),
        ("title", "海南5日 报价"),
        ("valid_until", "2099-01-31"),
        ("line.0.kind", "departure"),
        ("line.0.description", "三亚5日"),
        ("line.0.adults", "3"),
        ("line.0.adult_price", "1999.90"),
        ("line.0.discount_type", "percent"),
        ("line.0.discount", "5"),
        ("line.1.kind", "departure"),
        ("line.1.discount_type", "amount"),
    ];
    let mut more = base.clone();
    more.push(("add_rows", "1"));
    let (s, html) = web.post_form("/quotes", &more).await?;
    ensure!(
        s == StatusCode::OK && html.contains("name=\"line.6.description\"") && html.contains("value=\"三亚5日\""),
        "{s}"
    );
    let mut bad = base.clone();
    bad.push(("line.2.description", "接送"));
    bad.push(("line.2.adults", "两"));
    let (s, html) = web.post_form("/quotes", &bad).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("第2行 成人"), "{s}");
    let (s, _) = web.post_form("/quotes", &base).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let loc = web.last_location().context("location")?.to_string();
    let id: i64 = loc.trim_start_matches("/quotes/").split('?').next().context("id")?.parse()?;
    let (s, html) = web.get(&loc).await?;
    ensure!(s == StatusCode::OK && html.contains("5699.71") && html.contains("299.99") && html.contains("草稿"), "{s}");

    // Revise on the page: a new version.
    let (s, html) = web.get(&format!("/quotes/{id}/edit")).await?;
    ensure!(
        s == StatusCode::OK && html.contains("name=\"version\" value=\"1\"") && html.contains("value=\"1999.90\""),
        "{s}"
    );
    let revised: Vec<(&str, &str)> = vec![
        ("version", "1"),
        ("title", "海南5日 报价"),
        ("valid_until", "2099-01-31"),
        ("line.0.key", "1"),
        ("line.0.kind", "departure"),
        ("line.0.description", "三亚5日"),
        ("line.0.adults", "4"),
        ("line.0.adult_price", "1999.90"),
        ("line.0.discount_type", "percent"),
        ("line.0.discount", "5"),
    ];
    let (s, _) = web.post_form(&format!("/quotes/{id}"), &revised).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (s, html) = web.post_form(&format!("/quotes/{id}"), &revised).await?;
    ensure!(
        s == StatusCode::CONFLICT && html.contains("value=\"4\""),
        "stale: the editor shows what is stored now, {s}"
    );
    let (_, html) = web.get(&format!("/quotes/{id}")).await?;
    ensure!(
        html.contains(&format!("/quotes/{id}/versions/1")) && html.contains("7599.62"),
        "history links and the new total"
    );
    let (s, html) = web.get(&format!("/quotes/{id}/versions/1")).await?;
    ensure!(s == StatusCode::OK && html.contains("5699.71"), "{s}");
    let (s, html) = web.get(&format!("/quotes/{id}/diff?from=1&to=2")).await?;
    ensure!(
        s == StatusCode::OK && html.contains("三亚5日") && html.contains("5699.71") && html.contains("7599.62"),
        "{s}"
    );
    ensure!(html.contains("<del>3</del> → <ins>4</ins>"), "adults before → after");

    // Send it from the page; the opportunity moves to quoted.
    let (s, _) = web.post_form(&format!("/quotes/{id}/status"), &[("status", "sent"), ("version", "2")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, opp) = api.get(&format!("/api/v1/opportunities/{oid}")).await?;
    ensure!(opp["stage"] == "quoted", "{opp}");

    // Print: an A4 page in Chinese with the company header.
    let (s, html) = web.get(&format!("/quotes/{id}/print")).await?;
    ensure!(s == StatusCode::OK, "{s}");
    for needle in [
        "上海春秋国际旅行社有限公司",
        "上海市长宁区空港一路528号",
        "021-6252 0000",
        "@page { size: A4",
        "@media print",
        "报价单",
        "张三",
        "¥7599.62",
        "2099-01-31",
    ] {
        ensure!(html.contains(needle), "print page has {needle}");
    }
    ensure!(!html.contains("id=\"nav\""), "no navigation on the print page");

    // The customer's quote history.
    let (s, html) = web.get(&format!("/customers/{cust}/quotes")).await?;
    ensure!(s == StatusCode::OK && html.contains(&format!("/quotes/{id}")) && html.contains("已发送"), "{s}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Browser

async fn browser_drag(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "xiaoli", "sales", None).await?;
    let cust = customer(&api, "张三").await?;
    let o = opportunity(&api, cust, "海南5日", "18800").await?;
    let id = o["id"].as_i64().context("id")?;
    let driver = start_driver().await?;
    let profile = app.db.scratch_dir().join("chromium-profile");
    let c = browser(&driver, &profile).await?;
    let result = async {
        c.goto(&format!("{}/login", app.base)).await?;
        c.find(Locator::Css("input[name=username]")).await?.send_keys("xiaoli").await?;
        c.find(Locator::Css("input[name=password]")).await?.send_keys("Quartz-Lantern-Oyster-47!").await?;
        c.find(Locator::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
        text_of(&c, "main h1").await?;
        c.goto(&format!("{}/opportunities/board", app.base)).await?;
        ensure!(text_of(&c, "main h1").await? == "商机看板", "the board in Chinese");
        // The script hides the no-script forms once it runs.
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#board.js")).await?;
        let drag = |to: &'static str| {
            let c = c.clone();
            async move {
                let card = c.find(Locator::Css(&format!("#opp-{id} .customer"))).await?;
                let target = c.find(Locator::Css(&format!("#column-{to}"))).await?;
                let actions = MouseActions::new("mouse".into())
                    .then(PointerAction::MoveToElement { element: card, duration: None, x: 0.0, y: 0.0 })
                    .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
                    .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(100)), x: 12.0, y: 12.0 })
                    .then(PointerAction::MoveToElement {
                        element: target,
                        duration: Some(Duration::from_millis(300)),
                        x: 0.0,
                        y: 0.0,
                    })
                    .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
                c.perform_actions(actions).await?;
                anyhow::Ok(())
            }
        };
        drag("qualified").await?;
        // The card lands in the column and the server agrees.
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&format!("#column-qualified #opp-{id}[data-version='2']")))
            .await?;
        let (_, now) = api.get(&format!("/api/v1/opportunities/{id}")).await?;
        ensure!(now["stage"] == "qualified" && now["version"] == 2, "{now}");

        // A refused move (won is not next) goes back with the reason shown.
        drag("won").await?;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#board-error:not([hidden])")).await?;
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&format!("#column-qualified #opp-{id}")))
            .await?;
        ensure!(text_of(&c, "#board-error").await?.contains("无法移动"), "the refusal is shown");
        let (_, now) = api.get(&format!("/api/v1/opportunities/{id}")).await?;
        ensure!(now["stage"] == "qualified", "{now}");
        Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}
