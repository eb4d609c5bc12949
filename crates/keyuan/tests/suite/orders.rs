//! Orders, travellers, hotel stays: CRUD and statuses, seats on departures,
//! orders from quotes and opportunities, charges by outlet, visibility.

use crate::harness::{story, Api, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("orders_are_created_read_listed_changed_and_move_through_statuses", crud_and_statuses),
        story("invalid_orders_get_422_naming_each_field_and_stale_versions_409", invalid_and_stale),
        story("booking_on_a_departure_takes_seats_and_cancelling_returns_them", departure_seats),
        story("an_order_from_a_sent_quote_accepts_it_and_wins_the_opportunity", from_quote),
        story("an_order_from_an_opportunity_wins_it", from_opportunity),
        story("travellers_are_existing_or_new_customers_up_to_the_party", travellers),
        story("hotel_stays_add_up_spend_by_outlet", hotel_stay),
        story("salespeople_see_only_their_own_orders", visibility),
        story("pages_list_create_show_edit_and_move_orders_in_chinese_and_english", pages),
    ]
}

// ---------------------------------------------------------------------------
// Helpers shared with the finance stories.

pub(crate) async fn user(app: &TestApp, username: &str, role: &str) -> Result<(i64, Api)> {
    let (id, pw) = app.create_user(username, role, None).await?;
    Ok((id, app.api_as(username, &pw).await?))
}

/// The `(field, code)` pairs of an error answer.
pub(crate) fn fields(body: &Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (f["field"].as_str().unwrap_or("").to_string(), f["code"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn has_field(body: &Value, field: &str, code: &str) -> bool {
    fields(body).iter().any(|(f, c)| f == field && c == code)
}

/// An individual customer owned by the caller; returns its id.
pub(crate) async fn customer(api: &Api, name: &str, mobile: &str) -> Result<i64> {
    let body = json!({"kind": "individual", "name": name, "mobile": mobile, "confirm_duplicate": true});
    let (status, out) = api.post("/api/v1/customers", &body).await?;
    ensure!(status == StatusCode::CREATED, "customer: {status} {out}");
    out["id"].as_i64().context("customer id")
}

/// Creates an order, expecting 201.
pub(crate) async fn order(api: &Api, body: Value) -> Result<Value> {
    let (status, out) = api.post("/api/v1/orders", &body).await?;
    ensure!(status == StatusCode::CREATED, "order: {status} {out}");
    Ok(out)
}

pub(crate) fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or(0)
}

/// A product and an open departure of it, written with SQL (the catalogue
/// has its own stories); returns the departure id.
pub(crate) async fn departure(app: &TestApp, code: &str, capacity: i64) -> Result<i64> {
    let pool = app.store.pool();
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO products (code, name, product_type, destination, adult_price, child_price, created_at, updated_at) \
         VALUES ($1, '云南6日游', 'long_haul', '昆明 大理 丽江', 350000, 295000, 0, 0) RETURNING id",
    )
    .bind(format!("P-{code}"))
    .fetch_one(pool)
    .await?;
    let dep: i64 = sqlx::query_scalar(
        "INSERT INTO departures (code, product_id, departure_date, return_date, capacity, adult_price, child_price, \
         status, created_at, updated_at) VALUES ($1, $2, '2027-03-01', '2027-03-06', $3, 350000, 295000, 'open', 0, 0) \
         RETURNING id",
    )
    .bind(code)
    .bind(product)
    .bind(capacity)
    .fetch_one(pool)
    .await?;
    Ok(dep)
}

pub(crate) async fn booked(app: &TestApp, departure: i64) -> Result<(i64, String)> {
    Ok(sqlx::query_as("SELECT booked, status FROM departures WHERE id = $1")
        .bind(departure)
        .fetch_one(app.store.pool())
        .await?)
}

async fn audit_count(app: &TestApp, entity: &str, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = $1 AND entity_id = $2")
        .bind(entity)
        .bind(id.to_string())
        .fetch_one(app.store.pool())
        .await?)
}

async fn status(api: &Api, order: &Value, to: &str) -> Result<(StatusCode, Value)> {
    let path = format!("/api/v1/orders/{}/status", id(order));
    api.post(&path, &json!({"status": to, "version": order["version"]})).await
}

// ---------------------------------------------------------------------------
// Stories

async fn crud_and_statuses(app: TestApp) -> Result<()> {
    let (me, api) = user(&app, "wang", "sales").await?;
    let c = customer(&api, "李娜", "13800001111").await?;
    let o = order(
        &api,
        json!({"customer_id": c, "product_type": "长线", "destination": "昆明", "order_date": "2027-01-10",
               "travel_date": "2027-02-01", "return_date": "2027-02-06", "adults": 2, "children": 1,
               "amount": "9950.00", "cost": "8000", "source": "referral", "campaign": "春节早鸟"}),
    )
    .await?;
    ensure!(o["order_no"].as_str().is_some_and(|n| n.starts_with("D2027-")), "{o}");
    ensure!(o["product_type"] == "long_haul" && o["status"] == "pending", "{o}");
    ensure!(o["amount"] == "9950.00" && o["cost"] == "8000.00", "{o}");
    ensure!(o["due_date"] == "2027-02-01", "due defaults to the travel date: {o}");
    ensure!(o["owner_id"] == me && o["customer_name"] == "李娜", "{o}");
    // No travel date: due a week after the order.
    let o2 =
        order(&api, json!({"customer_id": c, "product_type": "ticket", "order_date": "2027-01-30", "amount": "120"}))
            .await?;
    ensure!(o2["due_date"] == "2027-02-06", "{o2}");
    ensure!(o2["order_no"] != o["order_no"], "numbers are unique");

    let (s, got) = api.get(&format!("/api/v1/orders/{}", id(&o))).await?;
    ensure!(s == StatusCode::OK && got["order_no"] == o["order_no"] && got["adults"] == 2, "{s} {got}");
    let no = o["order_no"].as_str().unwrap_or("");
    let (_, list) = api.get(&format!("/api/v1/orders?q={no}")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(1), "{list}");
    let (_, list) = api.get("/api/v1/orders?product_type=ticket").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(1) && list["items"][0]["id"] == id(&o2), "{list}");
    let (_, list) = api.get("/api/v1/orders?month=2027-01&status=pending").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(2), "{list}");
    let (_, list) = api.get("/api/v1/orders?q=李娜&limit=1").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(1) && list["next"].is_string(), "{list}");

    let (s, changed) = api
        .patch(
            &format!("/api/v1/orders/{}", id(&o)),
            &json!({"version": o["version"], "amount": "10200.50", "notes": "靠窗座位"}),
        )
        .await?;
    ensure!(s == StatusCode::OK && changed["amount"] == "10200.50" && changed["version"] == 2, "{s} {changed}");
    ensure!(changed["destination"] == "昆明", "absent fields stay: {changed}");

    let (s, bad) = status(&api, &changed, "completed").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "status", "invalid_transition"), "{s} {bad}");
    let mut cur = changed;
    for to in ["confirmed", "travelling", "completed"] {
        let (s, next) = status(&api, &cur, to).await?;
        ensure!(s == StatusCode::OK && next["status"] == to, "{to}: {s} {next}");
        cur = next;
    }
    let (s, _) = status(&api, &cur, "cancelled").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "completed is final");
    ensure!(audit_count(&app, "order", id(&o)).await? == 5, "create, update and three status changes audited");
    Ok(())
}

async fn invalid_and_stale(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "wang", "sales").await?;
    let c = customer(&api, "赵敏", "13800002222").await?;
    let (s, bad) = api
        .post(
            "/api/v1/orders",
            &json!({"customer_id": c, "product_type": "moon", "amount": "abc", "travel_date": "2027-02-10",
                    "return_date": "2027-02-01", "order_date": "2027-13-01"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {bad}");
    for f in ["product_type", "amount", "order_date"] {
        ensure!(fields(&bad).iter().any(|(x, _)| x == f), "{f} named: {bad}");
    }
    let (s, bad) = api
        .post(
            "/api/v1/orders",
            &json!({"customer_id": c, "product_type": "nearby", "amount": "10", "travel_date": "2027-02-10",
                    "return_date": "2027-02-01", "adults": 0, "children": 0}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {bad}");
    ensure!(fields(&bad).iter().any(|(f, _)| f == "return_date"), "{bad}");
    ensure!(has_field(&bad, "adults", "no_travellers"), "{bad}");
    let (s, bad) = api.post("/api/v1/orders", &json!({"customer_id": 999_999, "amount": "1"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "customer_id", "not_found"), "{s} {bad}");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(app.store.pool()).await?;
    ensure!(count == 0, "nothing written");

    let o = order(&api, json!({"customer_id": c, "product_type": "nearby", "amount": "300"})).await?;
    let path = format!("/api/v1/orders/{}", id(&o));
    let (s, _) = api.patch(&path, &json!({"version": 1, "amount": "310"})).await?;
    ensure!(s == StatusCode::OK);
    let (s, stale) = api.patch(&path, &json!({"version": 1, "amount": "999"})).await?;
    ensure!(s == StatusCode::CONFLICT, "{s} {stale}");
    let (_, now) = api.get(&path).await?;
    ensure!(now["amount"] == "310.00" && now["version"] == 2, "unchanged by the stale save: {now}");
    let (s, _) = api.post(&format!("{path}/status"), &json!({"status": "confirmed", "version": 1})).await?;
    ensure!(s == StatusCode::CONFLICT, "stale status change");
    Ok(())
}

async fn departure_seats(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "wang", "sales").await?;
    let c = customer(&api, "周杰", "13800003333").await?;
    let dep = departure(&app, "YN-0301", 5).await?;
    let o = order(&api, json!({"customer_id": c, "departure_id": dep, "adults": 2, "children": 1})).await?;
    ensure!(o["departure_id"] == dep && o["travel_date"] == "2027-03-01" && o["return_date"] == "2027-03-06", "{o}");
    ensure!(o["amount"] == "9950.00", "2 × 3500 + 2950: {o}");
    ensure!(o["product_type"] == "long_haul", "{o}");
    ensure!(booked(&app, dep).await? == (3, "open".into()), "three seats taken");

    let (s, bad) = api.post("/api/v1/orders", &json!({"customer_id": c, "departure_id": dep, "adults": 3})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && fields(&bad).iter().any(|(f, _)| f == "travellers"), "{s} {bad}");
    ensure!(booked(&app, dep).await?.0 == 3, "the refused order took nothing");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(app.store.pool()).await?;
    ensure!(count == 1, "and was not written");

    let o2 = order(&api, json!({"customer_id": c, "departure_id": dep, "adults": 2})).await?;
    ensure!(booked(&app, dep).await? == (5, "full".into()), "full");
    // A larger party on a full departure is refused; a smaller one frees a seat.
    let path = format!("/api/v1/orders/{}", id(&o2));
    let (s, _) = api.patch(&path, &json!({"version": o2["version"], "adults": 3})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    let (s, o2) = api.patch(&path, &json!({"version": o2["version"], "adults": 1})).await?;
    ensure!(s == StatusCode::OK && booked(&app, dep).await? == (4, "open".into()), "{s} {o2}");

    let (s, cancelled) = status(&api, &o, "cancelled").await?;
    ensure!(s == StatusCode::OK && cancelled["status"] == "cancelled", "{s} {cancelled}");
    ensure!(booked(&app, dep).await?.0 == 1, "cancelling gave three seats back");
    let (_, list) = api.get(&format!("/api/v1/orders?departure_id={dep}")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(2), "{list}");
    Ok(())
}

pub(crate) async fn quote(app: &TestApp, customer: i64, owner: i64, status: &str) -> Result<(i64, i64)> {
    let pool = app.store.pool();
    let opp: i64 = sqlx::query_scalar(
        "INSERT INTO opportunities (customer_id, title, stage, owner_id, adults, children, created_at, updated_at) \
         VALUES ($1, '云南家庭游', 'quoted', $2, 2, 1, 0, 0) RETURNING id",
    )
    .bind(customer)
    .bind(owner)
    .fetch_one(pool)
    .await?;
    let q: i64 = sqlx::query_scalar(
        "INSERT INTO quotes (number, customer_id, opportunity_id, title, status, current_version, total, owner_id, \
         created_at, updated_at) VALUES ($1, $2, $3, '云南6日游', $4, 2, 995000, $5, 0, 0) RETURNING id",
    )
    .bind(format!("Q-{opp}"))
    .bind(customer)
    .bind(opp)
    .bind(status)
    .bind(owner)
    .fetch_one(pool)
    .await?;
    let line = |adults: u32, children: u32| {
        json!([{"key": 1, "kind": "departure", "description": "云南6日游", "party": {"adults": adults, "children": children},
                "adult_price": "3500.00", "child_price": "2950.00", "discount": {"type": "none"}, "extras": []}])
        .to_string()
    };
    for (v, adults, total) in [(1, 1, 645_000), (2, 2, 995_000)] {
        sqlx::query(
            "INSERT INTO quote_versions (quote_id, version_no, title, lines, total, created_at) \
             VALUES ($1, $2, '云南6日游', $3, $4, 0)",
        )
        .bind(q)
        .bind(v)
        .bind(line(adults, 1))
        .bind(total as i64)
        .execute(pool)
        .await?;
    }
    Ok((q, opp))
}

async fn from_quote(app: TestApp) -> Result<()> {
    let (me, api) = user(&app, "wang", "sales").await?;
    let c = customer(&api, "陈静", "13800004444").await?;
    let (draft, _) = quote(&app, c, me, "draft").await?;
    let (s, bad) = api.post("/api/v1/orders", &json!({"quote_id": draft, "product_type": "long_haul"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "quote_id", "not_sent"), "{s} {bad}");

    let (q, opp) = quote(&app, c, me, "sent").await?;
    let o = order(&api, json!({"quote_id": q, "product_type": "long_haul", "travel_date": "2027-04-01"})).await?;
    ensure!(o["customer_id"] == c && o["amount"] == "9950.00", "the current version's total: {o}");
    ensure!(o["adults"] == 2 && o["children"] == 1 && o["quote_version"] == 2, "{o}");
    ensure!(o["quote_id"] == q && o["opportunity_id"] == opp, "{o}");
    let (qs,): (String,) =
        sqlx::query_as("SELECT status FROM quotes WHERE id = $1").bind(q).fetch_one(app.store.pool()).await?;
    ensure!(qs == "accepted", "quote accepted: {qs}");
    let (stage, order_id): (String, Option<i64>) =
        sqlx::query_as("SELECT stage, order_id FROM opportunities WHERE id = $1")
            .bind(opp)
            .fetch_one(app.store.pool())
            .await?;
    ensure!(stage == "won" && order_id == Some(id(&o)), "{stage} {order_id:?}");
    ensure!(audit_count(&app, "quote", q).await? == 1 && audit_count(&app, "opportunity", opp).await? == 1);

    let (s, bad) = api.post("/api/v1/orders", &json!({"quote_id": q, "product_type": "long_haul"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "quote_id", "already_ordered"), "{s} {bad}");
    Ok(())
}

async fn from_opportunity(app: TestApp) -> Result<()> {
    let (me, api) = user(&app, "wang", "sales").await?;
    let c = customer(&api, "孙丽", "13800005555").await?;
    let opp: i64 = sqlx::query_scalar(
        "INSERT INTO opportunities (customer_id, title, product_type, destination, stage, owner_id, adults, children, \
         expected_value, created_at, updated_at) VALUES ($1, '三亚亲子', 'nearby', '三亚', 'negotiating', $2, 2, 2, \
         1200000, 0, 0) RETURNING id",
    )
    .bind(c)
    .bind(me)
    .fetch_one(app.store.pool())
    .await?;
    let o = order(&api, json!({"opportunity_id": opp, "amount": "11800"})).await?;
    ensure!(o["customer_id"] == c && o["destination"] == "三亚" && o["product_type"] == "nearby", "{o}");
    ensure!(o["adults"] == 2 && o["children"] == 2 && o["amount"] == "11800.00", "{o}");
    let (stage, order_id): (String, Option<i64>) =
        sqlx::query_as("SELECT stage, order_id FROM opportunities WHERE id = $1")
            .bind(opp)
            .fetch_one(app.store.pool())
            .await?;
    ensure!(stage == "won" && order_id == Some(id(&o)), "{stage} {order_id:?}");
    Ok(())
}

async fn travellers(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "wang", "sales").await?;
    let c = customer(&api, "吴刚", "13800006666").await?;
    let dep = departure(&app, "YN-0302", 10).await?;
    let o = order(&api, json!({"customer_id": c, "departure_id": dep, "adults": 1, "children": 1})).await?;
    let path = format!("/api/v1/orders/{}/travellers", id(&o));
    let (s, list) = api.post(&path, &json!({"customer_id": c})).await?;
    ensure!(s == StatusCode::CREATED && list.as_array().map(Vec::len) == Some(1), "{s} {list}");
    let (s, bad) = api.post(&path, &json!({"customer_id": c})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "customer_id", "duplicate"), "{s} {bad}");
    let (s, bad) = api.post(&path, &json!({"name": "", "mobile": "123"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {bad}");
    ensure!(fields(&bad).iter().any(|(f, _)| f == "name") && fields(&bad).iter().any(|(f, _)| f == "mobile"), "{bad}");
    let (s, list) = api
        .post(
            &path,
            &json!({"name": "吴小宝", "mobile": "13900007777", "id_card": "110105201503070021", "is_child": true}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED && list.as_array().map(Vec::len) == Some(2), "{s} {list}");
    let child = &list[1];
    ensure!(child["name"] == "吴小宝" && child["is_child"] == true, "{child}");
    ensure!(child["id_card_masked"].as_str().is_some_and(|m| m.contains('*')), "masked: {child}");
    let (s, bad) = api.post(&path, &json!({"name": "第三人", "mobile": "13900008888"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "travellers", "party_full"), "{s} {bad}");
    let found: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE name = '第三人'").fetch_one(app.store.pool()).await?;
    ensure!(found == 0, "the refused traveller's customer was not kept");
    let (_, manifest): (i64, i64) = (
        0,
        sqlx::query_scalar("SELECT COUNT(*) FROM order_travellers WHERE departure_id = $1")
            .bind(dep)
            .fetch_one(app.store.pool())
            .await?,
    );
    ensure!(manifest == 2, "the manifest lists both");
    Ok(())
}

async fn hotel_stay(app: TestApp) -> Result<()> {
    let (_, api) = user(&app, "desk", "front_desk").await?;
    let (_, sales) = user(&app, "wang", "sales").await?;
    let c = customer(&sales, "郑爽", "13800009999").await?;
    let (s, bad) = api
        .post(
            "/api/v1/orders",
            &json!({"customer_id": c, "product_type": "hotel_stay", "amount": "3840", "travel_date": "2027-01-30",
                    "return_date": "2027-01-30"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {bad}");
    ensure!(fields(&bad).iter().any(|(f, _)| f == "return_date"), "{bad}");
    let (s, bad) = api
        .post(
            "/api/v1/orders",
            &json!({"customer_id": c, "product_type": "hotel_stay", "amount": "3840", "travel_date": "2027-01-30",
                    "return_date": "2027-02-02"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "room_type", "required"), "{s} {bad}");
    let o = order(
        &api,
        json!({"customer_id": c, "product_type": "酒店", "amount": "3840", "travel_date": "2027-01-30",
               "return_date": "2027-02-02", "room_type": "海景大床房", "room_number": "1808", "nightly_rate": "1280"}),
    )
    .await?;
    let path = format!("/api/v1/orders/{}/charges", id(&o));
    for (outlet, desc, amount) in [("fnb", "晚餐", "568"), ("水疗", "SPA 90分钟", "880"), ("fnb", "早餐", "98")]
    {
        let (s, out) = api.post(&path, &json!({"outlet": outlet, "description": desc, "amount": amount})).await?;
        ensure!(s == StatusCode::CREATED, "{s} {out}");
    }
    let (s, bad) = api.post(&path, &json!({"outlet": "casino", "description": "", "amount": "-1"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {bad}");
    ensure!(
        fields(&bad).iter().any(|(f, _)| f == "outlet") && fields(&bad).iter().any(|(f, _)| f == "amount"),
        "{bad}"
    );
    let (_, got) = api.get(&format!("/api/v1/orders/{}", id(&o))).await?;
    ensure!(got["charges"].as_array().map(Vec::len) == Some(3), "{got}");
    let spend = &got["spend"];
    ensure!(spend["nights"] == 3 && spend["by_outlet"]["room"] == "3840.00", "{spend}");
    ensure!(spend["by_outlet"]["fnb"] == "666.00" && spend["by_outlet"]["spa"] == "880.00", "{spend}");
    ensure!(spend["total"] == "5386.00", "{spend}");
    // Charges belong to stays only.
    let t = order(&api, json!({"customer_id": c, "product_type": "ticket", "amount": "80"})).await?;
    let (s, _) = api
        .post(
            &format!("/api/v1/orders/{}/charges", id(&t)),
            &json!({"outlet": "fnb", "description": "x", "amount": "1"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    Ok(())
}

async fn visibility(app: TestApp) -> Result<()> {
    let (_, wang) = user(&app, "wang", "sales").await?;
    let (li_id, li) = user(&app, "lisi", "sales").await?;
    let c = customer(&wang, "钱多", "13700001111").await?;
    let o = order(&wang, json!({"customer_id": c, "product_type": "nearby", "amount": "500"})).await?;
    let (s, _) = li.get(&format!("/api/v1/orders/{}", id(&o))).await?;
    ensure!(s == StatusCode::NOT_FOUND, "another salesperson's order is 404: {s}");
    let (_, list) = li.get("/api/v1/orders").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(0), "{list}");
    let (s, _) = li.patch(&format!("/api/v1/orders/{}", id(&o)), &json!({"version": 1, "amount": "1"})).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    // Nor may li order for a customer only wang sees, or give wang an order.
    let (s, bad) =
        li.post("/api/v1/orders", &json!({"customer_id": c, "product_type": "nearby", "amount": "1"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "customer_id", "not_found"), "{s} {bad}");
    let mine = customer(&li, "李四", "13700002222").await?;
    let (s, bad) = li
        .post(
            "/api/v1/orders",
            &json!({"customer_id": mine, "product_type": "nearby", "amount": "1", "owner_id": li_id + 100}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "owner_id", "not_allowed"), "{s} {bad}");
    let (_, service) = user(&app, "kefu", "service").await?;
    let (s, _) = service.get(&format!("/api/v1/orders/{}", id(&o))).await?;
    ensure!(s == StatusCode::OK, "service reads every order");
    let (s, _) = service.post("/api/v1/orders", &json!({"customer_id": c, "amount": "1"})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "service cannot write orders: {s}");
    Ok(())
}

async fn browser_as(app: &TestApp, username: &str, role: &str, locale: &str) -> Result<(i64, Browser)> {
    let password = "Quartz-Lantern-Oyster-47!";
    let id = keyuan::cli::add_user(&app.store, username, role, None, None, None, locale, password).await?;
    Ok((id, app.browser(username, password).await?))
}

async fn pages(app: TestApp) -> Result<()> {
    let (_, mut zh) = browser_as(&app, "wang", "sales", "zh-CN").await?;
    let (_, api) = user(&app, "helper", "admin").await?;
    let c = customer(&api, "林芳", "13600001111").await?;
    let dep = departure(&app, "YN-0303", 8).await?;

    let (s, html) = zh.get(&format!("/orders/new?departure_id={dep}&customer_id={c}")).await?;
    ensure!(s == StatusCode::OK && html.contains("新建订单"), "{s}");
    ensure!(
        html.contains("value=\"2027-03-01\"") && html.contains("value=\"3500.00\""),
        "prefilled from the departure"
    );
    // A customer the salesperson may not see is refused with the form again.
    let fields = [
        ("customer_id", c.to_string()),
        ("departure_id", dep.to_string()),
        ("product_type", "long_haul".into()),
        ("adults", "2".into()),
        ("children", "0".into()),
        ("amount", "".into()),
        ("order_date", "2027-01-05".into()),
    ];
    let pairs = fields.to_vec();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, html) = zh.post_form("/orders/new", &refs).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("customer_id"), "{s}");
    ensure!(booked(&app, dep).await?.0 == 0, "nothing booked");

    let mine = customer(&zh_api(&app).await?, "何静", "13600002222").await?;
    let mut pairs = fields.to_vec();
    pairs[0].1 = mine.to_string();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _) = zh.post_form("/orders/new", &refs).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let at = zh.last_location().context("location")?.to_string();
    ensure!(booked(&app, dep).await?.0 == 2, "two seats booked from the page");
    let (s, html) = zh.get(&at).await?;
    ensure!(s == StatusCode::OK && html.contains("7000.00") && html.contains("待确认") && html.contains("何静"), "{s}");

    let (s, _) = zh.post_form(&format!("{at}/status"), &[("status", "confirmed"), ("version", "1")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = zh.get(&format!("{at}/edit")).await?;
    ensure!(html.contains("修改订单") && html.contains("name=\"version\" value=\"2\""), "edit form");
    let edit = |version: &'static str| {
        vec![
            ("version", version),
            ("product_type", "long_haul"),
            ("destination", "昆明 大理 丽江"),
            ("order_date", "2027-01-05"),
            ("travel_date", "2027-03-01"),
            ("return_date", "2027-03-06"),
            ("adults", "2"),
            ("children", "0"),
            ("amount", "7100"),
            ("cost", "0"),
            ("due_date", ""),
            ("source", ""),
            ("campaign", ""),
            ("notes", "素食"),
            ("room_type", ""),
            ("room_number", ""),
            ("nightly_rate", ""),
        ]
    };
    let (s, html) = zh.post_form(&format!("{at}/edit"), &edit("1")).await?;
    ensure!(s == StatusCode::CONFLICT && html.contains("已被他人修改"), "stale edit: {s}");
    let (s, _) = zh.post_form(&format!("{at}/edit"), &edit("2")).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = zh.get("/orders?q=何静").await?;
    ensure!(html.contains("7100.00") && html.contains("已确认"), "the list shows the change");
    let (_, html) =
        zh.get(&format!("/orders?customer_id={mine}&status=confirmed&month=2027-01&product_type=long_haul")).await?;
    ensure!(html.contains("7100.00"), "filters on the page");
    let (s, _) = zh.post_form(&format!("{at}/travellers"), &[("name", "何小宝"), ("mobile", "13600003333")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "a new customer as traveller from the page: {s}");
    let (_, html) = zh.get(&at).await?;
    ensure!(html.contains("何小宝"), "listed as traveller");
    let (_, html) = zh.get("/orders?status=cancelled").await?;
    ensure!(!html.contains("7100.00"), "a filter that matches nothing");

    let (_, mut en) = browser_as(&app, "kuaiji", "finance", "en").await?;
    let (s, html) = en.get(&at).await?;
    ensure!(s == StatusCode::OK && html.contains("Confirmed") && html.contains("Receivable"), "{s}");
    let oid = at.trim_start_matches("/orders/").to_string();
    let (s, _) =
        en.post_form("/finance/receipts", &[("order_id", &oid), ("method", "wechat_pay"), ("amount", "1000")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = en.get(&at).await?;
    ensure!(html.contains("6100.00") && html.contains("WeChat Pay"), "balance after the receipt");
    let (s, html) = en.get("/finance?year=2027&month=1").await?;
    ensure!(s == StatusCode::OK && html.contains("Statement") && html.contains("7100.00"), "{s}");
    let (s, html) = en.get("/finance/aging").await?;
    ensure!(s == StatusCode::OK && html.contains("Aging"), "{s}");
    let (s, _) = zh.get("/finance/aging").await?;
    ensure!(s == StatusCode::OK, "sales read their own aging");
    let (s, _) = zh.post_form("/finance/receipts", &[("order_id", &oid), ("method", "cash"), ("amount", "1")]).await?;
    ensure!(s == StatusCode::FORBIDDEN, "sales may not record receipts: {s}");
    Ok(())
}

async fn zh_api(app: &TestApp) -> Result<Api> {
    app.api_as("wang", "Quartz-Lantern-Oyster-47!").await
}
