//! The catalogue: resource library, suppliers, products, departures, seats,
//! manifest, calendar and exports, over HTTP on both engines.

use crate::harness::{story, Api, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("suppliers_and_resources_are_created_searched_filtered_and_edited", library),
        story("invalid_catalogue_records_get_422_naming_each_field", invalid_records),
        story("products_and_departures_with_codes_prices_seats_and_status_rules", products_and_departures),
        story("stale_catalogue_versions_get_409_and_change_nothing", stale_versions),
        story("sales_read_the_catalogue_operators_write_it", permissions),
        story("capacity_below_seats_sold_is_refused_on_capacity", capacity_below_sold),
        story("calendar_shows_departures_with_seats_left", calendar),
        story("manifest_masks_documents_unless_pii_reaches_the_customer", manifest),
        story("manifest_and_rooming_exports_open_as_xlsx_and_are_audited", exports),
        story("catalogue_pages_create_edit_and_show", pages),
    ]
}

async fn user(app: &TestApp, username: &str, role: &str) -> Result<(i64, Api)> {
    let (id, pw) = app.create_user(username, role, None).await?;
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

fn has(body: &Value, field: &str, code: &str) -> bool {
    fields(body).iter().any(|(f, c)| f == field && c == code)
}

async fn created(api: &Api, path: &str, body: Value) -> Result<Value> {
    let (s, b) = api.post(path, &body).await?;
    ensure!(s == StatusCode::CREATED, "POST {path} {body}: {s} {b}");
    Ok(b)
}

fn id(v: &Value) -> Result<i64> {
    v["id"].as_i64().context("id")
}

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    n.sort();
    n
}

fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn product(api: &Api, code: &str) -> Result<Value> {
    created(
        api,
        "/api/v1/products",
        json!({"code": code, "name": "海南三亚双飞5日游", "product_type": "long_haul", "destination": "三亚",
               "days": 5, "adult_price": "3980.00", "child_price": "1990.00", "cost_price": "3100"}),
    )
    .await
}

async fn open_departure(api: &Api, product_id: i64, date: &str, capacity: i64) -> Result<Value> {
    created(
        api,
        "/api/v1/departures",
        json!({"product_id": product_id, "departure_date": date, "capacity": capacity, "status": "open"}),
    )
    .await
}

async fn library(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let s = created(
        &op,
        "/api/v1/suppliers",
        json!({"kind": "ground_handler", "name": "三亚阳光地接社", "province": "海南", "city": "三亚",
               "contract_no": "HT-2026-01", "contract_from": "2026-01-01", "contract_to": "2026-12-31",
               "payment_terms": "月结", "commission": "8.5",
               "contacts": [{"name": "林经理", "role": "计调", "mobile": "13800000001"}, {"name": "黄会计", "role": "财务"}]}),
    )
    .await?;
    let sid = id(&s)?;
    ensure!(s["commission_bp"] == 850 && s["contacts"].as_array().map(Vec::len) == Some(2), "{s}");
    created(&op, "/api/v1/suppliers", json!({"kind": "hotel", "name": "北京饭店"})).await?;

    let hotel = created(
        &op,
        "/api/v1/resources",
        json!({"kind": "accommodation", "name": "三亚湾红树林度假酒店", "province": "海南", "city": "三亚", "supplier_id": sid,
               "details": {"star_rating": "5", "room_types": [{"name": "标准间", "max_occupancy": 2}, {"name": "家庭房", "max_occupancy": 4}]}}),
    )
    .await?;
    ensure!(hotel["details"]["star_rating"] == 5 && hotel["supplier_name"] == "三亚阳光地接社", "{hotel}");
    let sight = created(
        &op,
        "/api/v1/resources",
        json!({"kind": "attraction", "name": "天涯海角", "province": "海南", "city": "三亚", "details": {"ticket_price": "68"}}),
    )
    .await?;
    created(
        &op,
        "/api/v1/resources",
        json!({"kind": "transport", "name": "海航 HU7281", "details": {"mode": "飞机", "carrier": "海南航空", "service_no": "HU7281", "from": "北京", "to": "三亚"}}),
    )
    .await?;
    let route = created(
        &op,
        "/api/v1/resources",
        json!({"kind": "route", "name": "三亚经典5日", "province": "海南", "details": {"days": [
            {"day": 2, "title": "天涯海角", "stops": [{"resource_id": id(&sight)?}], "meals": "早午", "lodging": {"resource_id": id(&hotel)?}},
            {"day": 1, "title": "抵达三亚", "stops": [], "meals": "", "lodging": {"resource_id": id(&hotel)?}}]}}),
    )
    .await?;
    let days = &route["details"]["days"];
    ensure!(
        days[0]["day"] == 1 && days[1]["stops"][0]["name"] == "天涯海角",
        "ordered, names from the library: {route}"
    );
    ensure!(days[1]["lodging"]["name"] == "三亚湾红树林度假酒店" && days[1]["meals"]["lunch"] == true, "{route}");

    // Search: fragment, pinyin initials, full pinyin prefix; filters.
    let (_, l) = op.get(&format!("/api/v1/resources?q={}", q("海角"))).await?;
    ensure!(names(&l) == ["天涯海角"], "{l}");
    let (_, l) = op.get("/api/v1/resources?q=hu7281").await?;
    ensure!(names(&l) == ["海航 HU7281"], "a fragment in any case on both engines: {l}");
    let (_, l) = op.get("/api/v1/resources?q=tyhj").await?;
    ensure!(names(&l) == ["天涯海角"], "initials: {l}");
    let (_, l) = op.get("/api/v1/resources?q=sanya").await?;
    ensure!(names(&l) == ["三亚湾红树林度假酒店", "三亚经典5日"], "pinyin prefix: {l}");
    let (_, l) = op.get("/api/v1/resources?kind=accommodation").await?;
    ensure!(names(&l) == ["三亚湾红树林度假酒店"], "{l}");
    let (_, l) = op.get(&format!("/api/v1/resources?supplier_id={sid}")).await?;
    ensure!(names(&l) == ["三亚湾红树林度假酒店"], "{l}");
    let (_, l) = op.get(&format!("/api/v1/resources?city={}", q("三亚"))).await?;
    ensure!(names(&l) == ["三亚湾红树林度假酒店", "天涯海角"], "{l}");
    let (_, l) = op.get("/api/v1/resources?limit=2").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(2) && l["next"].is_string(), "{l}");
    let (_, l2) = op.get(&format!("/api/v1/resources?limit=2&before={}", l["next"].as_str().unwrap_or(""))).await?;
    ensure!(l2["items"].as_array().map(Vec::len) == Some(2) && l2["next"].is_null(), "{l2}");
    let (_, l) = op.get("/api/v1/suppliers?q=bj").await?;
    ensure!(names(&l) == ["北京饭店"], "{l}");
    let (_, l) = op.get("/api/v1/suppliers?kind=ground_handler").await?;
    ensure!(names(&l) == ["三亚阳光地接社"], "{l}");

    // Edit and deactivate; audited.
    let (st, b) = op
        .patch(&format!("/api/v1/resources/{}", id(&sight)?), &json!({"version": sight["version"], "active": false}))
        .await?;
    ensure!(st == StatusCode::OK && b["active"] == false && b["version"] == 2, "{st} {b}");
    let (_, l) = op.get("/api/v1/resources?active=true&kind=attraction").await?;
    ensure!(names(&l).is_empty(), "{l}");
    let (st, b) =
        op.patch(&format!("/api/v1/suppliers/{sid}"), &json!({"version": 1, "contacts": [{"name": "林经理"}]})).await?;
    ensure!(st == StatusCode::OK && b["contacts"].as_array().map(Vec::len) == Some(1), "{st} {b}");
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT action, entity FROM audit_log WHERE entity IN ('supplier', 'resource') ORDER BY id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(audited.iter().filter(|(a, _)| a == "create").count() == 6, "{audited:?}");
    ensure!(audited.iter().any(|(a, e)| a == "update" && e == "resource"), "{audited:?}");
    Ok(())
}

async fn invalid_records(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let (s, b) = op
        .post("/api/v1/suppliers", &json!({"kind": "airline?", "name": " ", "contract_from": "2026-05-01", "contract_to": "2026-01-01", "commission": "150%"}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    for (f, c) in [("kind", "invalid_choice"), ("name", "required"), ("contract_to", "ends_before_start")] {
        ensure!(has(&b, f, c), "{f} {c}: {b}");
    }
    ensure!(fields(&b).iter().any(|(f, _)| f == "commission"), "{b}");
    let (s, b) = op.post("/api/v1/suppliers", &json!({"kind": "hotel", "name": "x", "colour": "red"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "colour", "unknown_field"), "{b}");

    let (s, b) = op
        .post("/api/v1/resources", &json!({"kind": "accommodation", "name": "酒店", "details": {"star_rating": "7", "room_types": [{"name": "标间", "max_occupancy": 2}, {"name": "标间", "max_occupancy": 2}]}}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    ensure!(
        has(&b, "details.star_rating", "invalid_star_rating") && has(&b, "details.room_types.1.name", "duplicate"),
        "{b}"
    );
    let (_, b) = op
        .post("/api/v1/resources", &json!({"kind": "transport", "name": "车", "details": {"mode": "rocket"}}))
        .await?;
    ensure!(has(&b, "details.mode", "invalid_choice") && has(&b, "details.carrier", "required"), "{b}");
    let (_, b) = op
        .post("/api/v1/resources", &json!({"kind": "route", "name": "线路", "details": {"days": [{"day": 1, "title": "a", "meals": "pizza"}, {"day": 3, "title": ""}]}}))
        .await?;
    ensure!(has(&b, "details.days.0.meals", "invalid_meals") && has(&b, "details.days", "missing_day"), "{b}");
    ensure!(has(&b, "details.days.1.title", "required"), "{b}");
    let (_, b) = op
        .post("/api/v1/resources", &json!({"kind": "route", "name": "线路", "details": {"days": [{"day": 1, "title": "a", "stops": [{"resource_id": 999}]}]}}))
        .await?;
    ensure!(has(&b, "details.days.0.stops.0", "not_found"), "a stop must be in the library: {b}");
    let (_, b) = op.post("/api/v1/resources", &json!({"kind": "supplier", "name": "x"})).await?;
    ensure!(has(&b, "kind", "invalid_choice"), "{b}");

    let (s, b) = op
        .post("/api/v1/products", &json!({"code": "7X", "name": "", "product_type": "spaceflight", "days": 0, "adult_price": "-1", "child_price": "1.234"}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    for (f, c) in [
        ("code", "invalid_product_code"),
        ("name", "required"),
        ("product_type", "invalid_choice"),
        ("days", "out_of_range"),
        ("adult_price", "negative"),
        ("child_price", "invalid_money"),
    ] {
        ensure!(has(&b, f, c), "{f} {c}: {b}");
    }
    let (_, b) = op
        .post(
            "/api/v1/products",
            &json!({"code": "BJ1", "name": "一日游", "product_type": "day_trip", "days": 2, "adult_price": "100"}),
        )
        .await?;
    ensure!(has(&b, "days", "day_trip_days"), "{b}");
    product(&op, "HN5D").await?;
    let (s, b) = op
        .post(
            "/api/v1/products",
            &json!({"code": "hn5d", "name": "重复", "product_type": "long_haul", "days": 5, "adult_price": "1"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "code", "taken"), "{s} {b}");
    let (_, b) = op.post("/api/v1/products", &json!({"code": "SY3", "name": "x", "product_type": "nearby", "days": 3, "adult_price": "1", "route_id": 999})).await?;
    ensure!(has(&b, "route_id", "not_found"), "{b}");

    let (s, b) = op
        .post("/api/v1/departures", &json!({"product_id": 999, "departure_date": "2027-13-01", "capacity": 0}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    for (f, c) in [("product_id", "not_found"), ("departure_date", "invalid_date"), ("capacity", "out_of_range")] {
        ensure!(has(&b, f, c), "{f} {c}: {b}");
    }
    let (_, b) = op
        .post(
            "/api/v1/departures",
            &json!({"departure_date": "2027-01-05", "return_date": "2027-01-01", "capacity": 10}),
        )
        .await?;
    ensure!(has(&b, "product_id", "required") && has(&b, "return_date", "ends_before_start"), "{b}");
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM suppliers), (SELECT COUNT(*) FROM resources), (SELECT COUNT(*) FROM products), (SELECT COUNT(*) FROM departures)",
    )
    .fetch_one(app.store.pool())
    .await?;
    ensure!(counts == (0, 0, 1, 0), "nothing refused was stored: {counts:?}");
    Ok(())
}

async fn products_and_departures(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let (leader, _) = user(&app, "lingdui", "operator").await?;
    let p = product(&op, "hn5d").await?;
    let pid = id(&p)?;
    ensure!(p["code"] == "HN5D" && p["adult_price"] == "3980.00" && p["cost_price"] == "3100.00", "{p}");
    let (_, l) = op.get("/api/v1/products?q=hainan").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(1), "pinyin: {l}");
    let (_, l) = op.get("/api/v1/products?q=HN5D").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(1), "code: {l}");
    let (_, l) = op.get("/api/v1/products?product_type=nearby").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(0), "{l}");

    // Defaults from the product: return date from its days, prices.
    let d = created(&op, "/api/v1/departures", json!({"product_id": pid, "departure_date": "2027-01-15", "capacity": 30, "leader_id": leader, "guide_name": "小李"})).await?;
    ensure!(d["code"] == "HN5D-20270115" && d["return_date"] == "2027-01-19" && d["status"] == "planning", "{d}");
    ensure!(d["adult_price"] == "3980.00" && d["child_price"] == "1990.00" && d["seats_left"] == 30, "{d}");
    ensure!(d["leader_name"].as_str().is_some_and(|n| !n.is_empty()), "{d}");
    let d2 = created(
        &op,
        "/api/v1/departures",
        json!({"product_id": pid, "departure_date": "2027-01-15", "capacity": 20, "adult_price": "3680"}),
    )
    .await?;
    ensure!(d2["code"] == "HN5D-20270115-2" && d2["adult_price"] == "3680.00", "{d2}");
    let did = id(&d)?;

    // Status moves follow the rules.
    let (s, b) =
        op.patch(&format!("/api/v1/departures/{did}"), &json!({"version": d["version"], "status": "returned"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "status", "invalid_transition"), "{s} {b}");
    let (s, b) =
        op.patch(&format!("/api/v1/departures/{did}"), &json!({"version": d["version"], "status": "open"})).await?;
    ensure!(s == StatusCode::OK && b["status"] == "open", "{s} {b}");
    let (s, b) =
        op.patch(&format!("/api/v1/departures/{did}"), &json!({"version": b["version"], "status": "planning"})).await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "status", "invalid_transition"),
        "on sale never back to planning: {b}"
    );

    // Filters: product, status, month.
    let (_, l) = op.get(&format!("/api/v1/departures?product_id={pid}&status=open")).await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(1), "{l}");
    let (_, l) = op.get("/api/v1/departures?month=2027-01").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(2), "{l}");
    let (_, l) = op.get("/api/v1/departures?month=2027-02").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(0), "{l}");
    let (s, b) = op.get("/api/v1/departures?month=2027-1").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "month", "invalid_month"), "{b}");

    // Moving the date gives a new code; the product code is fixed once used.
    let (_, cur) = op.get(&format!("/api/v1/departures/{did}")).await?;
    let (s, b) = op
        .patch(
            &format!("/api/v1/departures/{did}"),
            &json!({"version": cur["version"], "departure_date": "2027-01-16", "return_date": "2027-01-20"}),
        )
        .await?;
    ensure!(s == StatusCode::OK && b["code"] == "HN5D-20270116", "{s} {b}");
    let (s, b) =
        op.patch(&format!("/api/v1/products/{pid}"), &json!({"version": p["version"], "code": "HN6D"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "code", "fixed"), "{b}");
    let (s, b) =
        op.patch(&format!("/api/v1/products/{pid}"), &json!({"version": p["version"], "adult_price": "4280"})).await?;
    ensure!(s == StatusCode::OK && b["adult_price"] == "4280.00" && b["version"] == 2, "{s} {b}");
    let change: String =
        sqlx::query_scalar("SELECT changes FROM audit_log WHERE entity = 'product' AND action = 'update'")
            .fetch_one(app.store.pool())
            .await?;
    ensure!(change.contains("adult_price") && change.contains("428000"), "field-level audit: {change}");
    Ok(())
}

async fn stale_versions(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let s = created(&op, "/api/v1/suppliers", json!({"kind": "hotel", "name": "北京饭店"})).await?;
    let r = created(&op, "/api/v1/resources", json!({"kind": "attraction", "name": "故宫"})).await?;
    let p = product(&op, "BJ5").await?;
    let d = open_departure(&op, id(&p)?, "2027-03-01", 10).await?;
    for (path, v) in [
        (format!("/api/v1/suppliers/{}", id(&s)?), &s),
        (format!("/api/v1/resources/{}", id(&r)?), &r),
        (format!("/api/v1/products/{}", id(&p)?), &p),
        (format!("/api/v1/departures/{}", id(&d)?), &d),
    ] {
        let version = v["version"].as_i64().context("version")?;
        let first = if path.contains("departures") {
            json!({"version": version, "guide_name": "甲"})
        } else {
            json!({"version": version, "name": "第一次"})
        };
        let (st, _) = op.patch(&path, &first).await?;
        ensure!(st == StatusCode::OK, "{path}: {st}");
        let second = if path.contains("departures") {
            json!({"version": version, "guide_name": "乙"})
        } else {
            json!({"version": version, "name": "第二次"})
        };
        let (st, b) = op.patch(&path, &second).await?;
        ensure!(st == StatusCode::CONFLICT && b["error"]["current_version"] == version + 1, "{path}: {st} {b}");
        let (_, now) = op.get(&path).await?;
        ensure!(now["name"] != "第二次" && now["guide_name"] != "乙", "{path}: nothing changed: {now}");
        let (st, b) = op.patch(&path, &json!({"name": "x"})).await?;
        ensure!(st == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "version", "required"), "{path}: {b}");
    }
    let (st, _) = op.get("/api/v1/products/9999").await?;
    ensure!(st == StatusCode::NOT_FOUND);
    Ok(())
}

async fn permissions(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let (_, sales) = user(&app, "xiaowang", "sales").await?;
    let p = product(&op, "HN5D").await?;
    let d = open_departure(&op, id(&p)?, "2027-01-15", 10).await?;
    for path in ["/api/v1/products", "/api/v1/departures", "/api/v1/resources", "/api/v1/suppliers"] {
        let (s, _) = sales.get(path).await?;
        ensure!(s == StatusCode::OK, "sales read {path}: {s}");
    }
    let (s, _) = sales.get(&format!("/api/v1/departures/{}/manifest", id(&d)?)).await?;
    ensure!(s == StatusCode::OK, "{s}");
    for (path, body) in [
        (
            "/api/v1/products",
            json!({"code": "XX1", "name": "x", "product_type": "nearby", "days": 1, "adult_price": "1"}),
        ),
        ("/api/v1/suppliers", json!({"kind": "hotel", "name": "x"})),
        ("/api/v1/resources", json!({"kind": "attraction", "name": "x"})),
        ("/api/v1/departures", json!({"product_id": id(&p)?, "departure_date": "2027-02-01", "capacity": 5})),
    ] {
        let (s, _) = sales.post(path, &body).await?;
        ensure!(s == StatusCode::FORBIDDEN, "sales may not write {path}: {s}");
    }
    let (s, _) = sales
        .patch(&format!("/api/v1/departures/{}", id(&d)?), &json!({"version": d["version"], "capacity": 50}))
        .await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    let (_, nobody) = {
        let (uid, pw) = app.create_user("ketui", "front_desk", None).await?;
        (uid, app.api_as("ketui", &pw).await?)
    };
    let (s, _) = nobody.post("/api/v1/products", &json!({})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "front desk reads only: {s}");
    let (s, _) = app.anonymous().get("/api/v1/products").await?;
    ensure!(s == StatusCode::UNAUTHORIZED, "{s}");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(app.store.pool()).await?;
    ensure!(count == 1);
    Ok(())
}

/// Books `n` seats as an order would, with the store's seat booking.
async fn book(app: &TestApp, departure: i64, n: i64) -> Result<i64> {
    let mut tx = app.store.begin().await?;
    let left = store::departures::book_seats(&mut tx, domain::ids::DepartureId(departure), n).await?;
    tx.commit().await?;
    Ok(left)
}

async fn capacity_below_sold(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let p = product(&op, "HN5D").await?;
    let d = open_departure(&op, id(&p)?, "2027-01-15", 10).await?;
    let did = id(&d)?;
    ensure!(book(&app, did, 7).await? == 3);
    let (_, cur) = op.get(&format!("/api/v1/departures/{did}")).await?;
    ensure!(cur["seats_left"] == 3 && cur["booked"] == 7, "{cur}");
    let (s, b) =
        op.patch(&format!("/api/v1/departures/{did}"), &json!({"version": cur["version"], "capacity": 6})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has(&b, "capacity", "below_booked"), "{s} {b}");
    let (_, after) = op.get(&format!("/api/v1/departures/{did}")).await?;
    ensure!(after["capacity"] == 10 && after["version"] == cur["version"], "nothing changed: {after}");
    let (s, b) =
        op.patch(&format!("/api/v1/departures/{did}"), &json!({"version": cur["version"], "capacity": 7})).await?;
    ensure!(s == StatusCode::OK && b["status"] == "full" && b["seats_left"] == 0, "{s} {b}");
    let (s, b) =
        op.patch(&format!("/api/v1/departures/{did}"), &json!({"version": b["version"], "capacity": 12})).await?;
    ensure!(s == StatusCode::OK && b["status"] == "open" && b["seats_left"] == 5, "{s} {b}");
    Ok(())
}

async fn calendar(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("jidiao", "operator", None).await?;
    let op = app.api_as("jidiao", &pw).await?;
    let p = product(&op, "HN5D").await?;
    let d = open_departure(&op, id(&p)?, "2026-12-24", 16).await?;
    book(&app, id(&d)?, 4).await?;
    let mut b = app.browser("jidiao", &pw).await?;
    let (s, html) = b.get("/departures/calendar?month=2026-12").await?;
    ensure!(s == StatusCode::OK, "{s}");
    ensure!(html.contains("HN5D-20261224") && html.contains("余 12"), "the departure on its day with seats left");
    let cell = html.split("<div class=\"day\">24</div>").nth(1).context("day 24")?;
    ensure!(cell.split("</td>").next().unwrap_or("").contains("HN5D-20261224"), "on the 24th");
    let (_, html) = b.get("/departures/calendar?month=2027-01").await?;
    ensure!(!html.contains("HN5D-20261224"), "not in another month");
    let (s, _) = b.get("/departures/calendar?month=2026-13").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    Ok(())
}

/// A customer with an ID card and passport owned by `owner`, travelling on
/// `departure` in `room` through an order written as the orders area does.
async fn traveller(
    app: &TestApp,
    (owner, owner_id): (&Api, i64),
    name: &str,
    id_card: &str,
    departure: i64,
    room: &str,
    status: &str,
) -> Result<i64> {
    let c = created(
        owner,
        "/api/v1/customers",
        json!({"kind": "individual", "name": name, "gender": "female", "id_card": id_card, "passport": "E12345678", "mobile": "13700000000", "confirm_duplicate": true}),
    )
    .await?;
    let cid = id(&c)?;
    let no = format!("D2026-{cid:06}");
    let now = 1_700_000_000_000_i64;
    let oid: i64 = sqlx::query_scalar(
        "INSERT INTO orders (order_no, customer_id, departure_id, product_type, order_date, amount, owner_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 'long_haul', '2026-11-01', 398000, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&no)
    .bind(cid)
    .bind(departure)
    .bind(owner_id)
    .bind(status)
    .bind(now)
    .fetch_one(app.store.pool())
    .await?;
    sqlx::query(
        "INSERT INTO order_travellers (order_id, departure_id, customer_id, is_child, room, created_at, updated_at) VALUES ($1, $2, $3, 0, $4, $5, $5)",
    )
    .bind(oid)
    .bind(departure)
    .bind(cid)
    .bind(room)
    .bind(now)
    .execute(app.store.pool())
    .await?;
    Ok(cid)
}

async fn manifest(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let (sales_id, sales) = user(&app, "xiaowang", "sales").await?;
    let (_, service) = user(&app, "kefu", "service").await?;
    let (boss_id, pw) = app.create_user("boss", "admin", None).await?;
    let boss = app.api_as("boss", &pw).await?;
    let p = product(&op, "HN5D").await?;
    let d = open_departure(&op, id(&p)?, "2027-01-15", 10).await?;
    let did = id(&d)?;
    let own = "11010519491231002X";
    let other = "440306199008151231";
    traveller(&app, (&sales, sales_id), "王芳", own, did, "801", "confirmed").await?;
    traveller(&app, (&boss, boss_id), "李娜", other, did, "802", "pending").await?;
    traveller(&app, (&boss, boss_id), "退团者", "110105194912310038", did, "803", "cancelled").await?;

    // Without customers.pii: masked, cancelled orders left out.
    let (s, m) = service.get(&format!("/api/v1/departures/{did}/manifest")).await?;
    ensure!(s == StatusCode::OK, "{s} {m}");
    let items = m["items"].as_array().context("items")?;
    ensure!(items.len() == 2, "cancelled orders are not on the manifest: {m}");
    let text = m.to_string();
    ensure!(!text.contains(own) && !text.contains(other) && !text.contains("E12345678"), "masked: {m}");
    ensure!(items[0]["id_card"].as_str().is_some_and(|s| s.contains('*')) && items[0]["room"] == "801", "{m}");
    ensure!(items[0]["name"] == "王芳" && items[0]["gender"] == "female" && items[0]["mobile"] == "13700000000", "{m}");
    let reveals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'reveal'")
        .fetch_one(app.store.pool())
        .await?;
    ensure!(reveals == 0);

    // Sales' pii reaches their own customer only.
    let (_, m) = sales.get(&format!("/api/v1/departures/{did}/manifest")).await?;
    let text = m.to_string();
    ensure!(text.contains(own) && !text.contains(other), "own customer in full, the other masked: {m}");
    // The administrator's reaches everyone; each showing is audited.
    let (_, m) = boss.get(&format!("/api/v1/departures/{did}/manifest")).await?;
    let text = m.to_string();
    ensure!(text.contains(own) && text.contains(other) && text.contains("E12345678"), "{m}");
    let reveals: Vec<(String, String)> =
        sqlx::query_as("SELECT entity, actor_name FROM audit_log WHERE action = 'reveal' ORDER BY id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(reveals.len() == 2 && reveals.iter().all(|(e, _)| e == "departure"), "{reveals:?}");
    ensure!(reveals[0].1.contains("xiaowang") && reveals[1].1.contains("boss"), "{reveals:?}");

    // The page shows the same.
    let (_, pw) = app.create_user("kefu2", "service", None).await?;
    let mut b = app.browser("kefu2", &pw).await?;
    let (s, html) = b.get(&format!("/departures/{did}")).await?;
    ensure!(s == StatusCode::OK && html.contains("王芳") && html.contains("801") && !html.contains(own), "page masked");
    Ok(())
}

async fn download(api: &Api, path: &str) -> Result<(StatusCode, Vec<u8>)> {
    let resp =
        api.client.get(format!("{}{path}", api.base)).bearer_auth(api.token.as_deref().unwrap_or("")).send().await?;
    let s = resp.status();
    if s == StatusCode::OK {
        ensure!(resp.headers()["content-type"].to_str()?.contains("spreadsheetml"));
    }
    Ok((s, resp.bytes().await?.to_vec()))
}

fn sheet_rows(bytes: Vec<u8>) -> Result<Vec<Vec<String>>> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))?;
    let range = book.worksheet_range_at(0).context("a sheet")??;
    Ok(range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect())
}

async fn exports(app: TestApp) -> Result<()> {
    let (_, op) = user(&app, "jidiao", "operator").await?;
    let (_, service) = user(&app, "kefu", "service").await?;
    let (boss_id, pw) = app.create_user("boss", "admin", None).await?;
    let boss = app.api_as("boss", &pw).await?;
    let p = product(&op, "HN5D").await?;
    let d = open_departure(&op, id(&p)?, "2027-01-15", 10).await?;
    let did = id(&d)?;
    let number = "11010519491231002X";
    traveller(&app, (&boss, boss_id), "王芳", number, did, "801", "confirmed").await?;
    traveller(&app, (&boss, boss_id), "张伟", "440306199008151231", did, "801", "confirmed").await?;

    let (s, bytes) = download(&service, &format!("/departures/{did}/manifest.xlsx")).await?;
    ensure!(s == StatusCode::OK, "{s}");
    let rows = sheet_rows(bytes)?;
    ensure!(rows.len() == 4, "title, header and two travellers: {rows:?}");
    ensure!(rows[0][0].contains("HN5D-20270115") && rows[1][1].contains("姓名"), "{rows:?}");
    let names: Vec<&str> = rows[2..].iter().map(|r| r[1].as_str()).collect();
    ensure!(names.contains(&"王芳") && names.contains(&"张伟"), "{names:?}");
    ensure!(
        rows.iter().flatten().all(|c| !c.contains(number)) && rows[2][5].contains('*'),
        "masked without pii: {rows:?}"
    );

    let (_, bytes) = download(&boss, &format!("/departures/{did}/manifest.xlsx")).await?;
    let rows = sheet_rows(bytes)?;
    ensure!(rows.iter().flatten().any(|c| c == number), "in full with pii: {rows:?}");

    let (s, bytes) = download(&service, &format!("/departures/{did}/rooming.xlsx")).await?;
    ensure!(s == StatusCode::OK);
    let rows = sheet_rows(bytes)?;
    ensure!(rows.len() == 4 && rows[2][0] == "801" && rows[3][0] == "801", "{rows:?}");

    let exports: Vec<(String, String)> =
        sqlx::query_as("SELECT entity_id, summary FROM audit_log WHERE action = 'export' ORDER BY id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(exports.len() == 3 && exports.iter().all(|(e, _)| e == &did.to_string()), "{exports:?}");
    ensure!(exports[2].1.contains("rooming") && exports[0].1.contains("2 travellers"), "{exports:?}");
    let (s, _) = download(&service, "/departures/9999/manifest.xlsx").await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    Ok(())
}

async fn pages(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("jidiao", "operator", None).await?;
    let mut b = app.browser("jidiao", &pw).await?;
    for path in [
        "/resources",
        "/suppliers",
        "/products",
        "/departures",
        "/resources/new?kind=route",
        "/suppliers/new",
        "/products/new",
        "/departures/new",
    ] {
        let (s, html) = b.get(path).await?;
        ensure!(s == StatusCode::OK, "{path}: {s}");
        ensure!(html.contains("lang=\"zh") || html.contains("资源库"), "{path} in Chinese");
    }
    let (s, _) = b
        .post_form(
            "/suppliers",
            &[
                ("kind", "hotel"),
                ("name", "三亚酒店管理公司"),
                ("active", "true"),
                ("contacts_text", "林经理 | 销售 | 13800000001"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let sup = b.last_location().context("location")?.split('?').next().unwrap_or("").to_string();
    let (_, html) = b.get(&sup).await?;
    ensure!(html.contains("三亚酒店管理公司") && html.contains("林经理"), "supplier page");

    let (s, _) = b
        .post_form(
            "/resources",
            &[
                ("kind", "attraction"),
                ("name", "南山文化旅游区"),
                ("city", "三亚"),
                ("details.ticket_price", "129"),
                ("active", "true"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let sight = b
        .last_location()
        .context("location")?
        .trim_start_matches("/resources/")
        .split('?')
        .next()
        .unwrap_or("")
        .to_string();
    let (s, _) = b
        .post_form(
            "/resources",
            &[
                ("kind", "route"),
                ("name", "三亚3日"),
                ("active", "true"),
                ("days_text", &format!("抵达 |  | 晚 | 酒店\n南山 | #{sight} | 早午 | 酒店\n返程 | | 早 |")),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let route = b.last_location().context("location")?.split('?').next().unwrap_or("").to_string();
    let (_, html) = b.get(&route).await?;
    ensure!(html.contains("南山文化旅游区") && html.contains("早、午"), "itinerary with the library's stop name");

    // A refused form keeps what was typed and names the problem.
    let (s, html) = b
        .post_form(
            "/products",
            &[
                ("code", "7X"),
                ("name", "海南游"),
                ("product_type", "long_haul"),
                ("days", "5"),
                ("adult_price", "3980"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("海南游") && html.contains("field-error"), "{s}");
    let (s, _) = b
        .post_form(
            "/products",
            &[
                ("code", "HN5D"),
                ("name", "海南游"),
                ("product_type", "long_haul"),
                ("days", "5"),
                ("adult_price", "3980"),
                ("active", "true"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let product = b
        .last_location()
        .context("location")?
        .trim_start_matches("/products/")
        .split('?')
        .next()
        .unwrap_or("")
        .to_string();
    let (s, _) = b
        .post_form(
            "/departures",
            &[("product_id", &product), ("departure_date", "2027-02-01"), ("capacity", "20"), ("status", "open")],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let dep = b.last_location().context("location")?.split('?').next().unwrap_or("").to_string();
    let (_, html) = b.get(&format!("{dep}/edit")).await?;
    let version = html
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("version")?
        .to_string();
    let (s, _) = b
        .post_form(
            dep.as_str(),
            &[
                ("version", &version),
                ("departure_date", "2027-02-01"),
                ("return_date", "2027-02-05"),
                ("capacity", "25"),
                ("status", "open"),
                ("guide_name", "小陈"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = b.get(&dep).await?;
    ensure!(html.contains("HN5D-20270201") && html.contains("小陈") && html.contains("25"), "saved");
    let (s, html) = b
        .post_form(
            dep.as_str(),
            &[("version", &version), ("departure_date", "2027-02-01"), ("capacity", "30"), ("status", "open")],
        )
        .await?;
    ensure!(s == StatusCode::CONFLICT && html.contains("alert"), "stale form: {s}");

    // Every page in English too, with no text missing in either language.
    let password = "Quartz-Lantern-Oyster-47!";
    keyuan::cli::add_user(&app.store, "english", "operator", None, None, None, "en", password).await?;
    let mut en = app.browser("english", password).await?;
    let detail_pages = [sup.clone(), route.clone(), format!("/products/{product}"), dep.clone(), format!("{dep}/edit")];
    for path in [
        "/resources",
        "/suppliers",
        "/products",
        "/departures",
        "/departures/calendar",
        "/resources/new?kind=accommodation",
        "/resources/new?kind=transport",
    ]
    .iter()
    .map(|p| p.to_string())
    .chain(detail_pages)
    {
        let (s, html) = en.get(&path).await?;
        let missing = html.find("??").map(|i| html[i.saturating_sub(80)..i + 2].to_string());
        ensure!(s == StatusCode::OK && missing.is_none(), "{path} in English: {s} {missing:?}");
        let (_, html) = b.get(&path).await?;
        ensure!(!html.contains("??"), "{path} in Chinese has every text");
    }
    let (_, html) = en.get("/departures").await?;
    ensure!(html.contains("Departures") && html.contains("Seats left"), "English list");

    // Read-only roles see no edit links; their posts are refused.
    let (_, pw) = app.create_user("xiaowang", "sales", None).await?;
    let mut sb = app.browser("xiaowang", &pw).await?;
    let (s, html) = sb.get(&dep).await?;
    ensure!(s == StatusCode::OK && !html.contains("/edit\""), "no edit link for sales");
    let (s, _) = sb.get("/products/new").await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    Ok(())
}
