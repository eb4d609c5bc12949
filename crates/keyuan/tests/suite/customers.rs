//! The customer archive: the three kinds through the API and the pages,
//! validation, sealed and masked documents, search, filters, sorting, paging
//! and the remembered view, visibility by role, stale versions, interactions
//! and the timeline, contacts and intentions, duplicates, the demo data and a
//! browser story.

use crate::browser::{browser, start_driver, text_of};
use crate::harness::{browser_story, story, story_on, Api, Browser, Story, TestApp, SQLITE_ONLY};
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub fn stories() -> Vec<Story> {
    vec![
        story("api_creates_each_kind_with_every_field", each_kind_with_every_field),
        story("invalid_customers_get_422_naming_each_field", invalid_customers),
        story("configured_required_and_custom_fields_are_enforced", required_and_custom_fields),
        story("codes_are_generated_in_order_and_unique", codes_are_unique),
        story("id_numbers_are_sealed_masked_and_revealed_with_an_audit_row", documents_are_sealed),
        story("editing_keeps_replaces_or_removes_documents", editing_documents),
        story("search_finds_names_pinyin_initials_phones_companies_codes", search),
        story("every_filter_sort_and_page_of_the_list", filters_sorts_and_pages),
        story("the_list_page_remembers_the_last_view", saved_view),
        story("sales_see_their_own_managers_their_team_service_everyone", visibility),
        story("stale_versions_get_409_and_change_nothing", stale_versions),
        story("interactions_move_last_contact_and_join_the_timeline", interactions_and_timeline),
        story("orders_payments_quotes_and_opportunities_join_the_timeline", business_on_the_timeline),
        story("a_front_desk_preference_updates_the_one_profile", front_desk_preference),
        story("contacts_and_intentions", contacts_and_intentions),
        story("likely_duplicates_are_shown_before_saving", duplicates),
        story("choosing_another_owner_needs_reassign", owner_choice),
        story("pages_create_edit_and_show_in_chinese_and_english", pages),
        story_on("demo_customers_belong_to_the_demo_salespeople", SQLITE_ONLY, demo_customers),
        browser_story("browser_creates_a_customer_and_finds_it_by_pinyin_initials", browser_create_and_find),
    ]
}

// ---------------------------------------------------------------------------
// Helpers

async fn admin(app: &TestApp) -> Result<Api> {
    let (_, pw) = app.create_user("boss", "admin", None).await?;
    app.api_as("boss", &pw).await
}

async fn user(app: &TestApp, username: &str, role: &str, team: Option<i64>) -> Result<(i64, Api)> {
    let (id, pw) = app.create_user(username, role, team).await?;
    Ok((id, app.api_as(username, &pw).await?))
}

async fn browser_as(app: &TestApp, username: &str, role: &str, locale: &str) -> Result<(i64, Browser)> {
    let password = "Quartz-Lantern-Oyster-47!";
    let id = keyuan::cli::add_user(&app.store, username, role, None, None, None, locale, password).await?;
    Ok((id, app.browser(username, password).await?))
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

/// Creates a customer (duplicates confirmed), expecting 201.
async fn create(api: &Api, mut body: Value) -> Result<Value> {
    if body.get("confirm_duplicate").is_none() {
        body["confirm_duplicate"] = json!(true);
    }
    let (status, out) = api.post("/api/v1/customers", &body).await?;
    ensure!(status == StatusCode::CREATED, "creating {body}: {status} {out}");
    Ok(out)
}

fn id(v: &Value) -> Result<i64> {
    v["id"].as_i64().context("id")
}

/// The names in a list answer.
fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn found(api: &Api, query: &str) -> Result<Vec<String>> {
    let (status, list) = api.get(&format!("/api/v1/customers?{query}")).await?;
    ensure!(status == StatusCode::OK, "{query}: {status} {list}");
    let mut n = names(&list);
    n.sort();
    Ok(n)
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

/// A valid ID card number for a region, birth date and sequence (the check
/// digit found by the domain's own check).
fn id_number(region: &str, birth: &str, seq: &str) -> String {
    let first17 = format!("{region}{birth}{seq}");
    let far = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
    "0123456789X"
        .chars()
        .map(|c| format!("{first17}{c}"))
        .find(|n| domain::customer::IdCardNo::parse("id_card", n, far).is_ok())
        .expect("a check digit")
}

/// Unescapes the few entities askama writes into attributes.
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&").replace("&#61;", "=").replace("&#37;", "%")
}

// ---------------------------------------------------------------------------
// Creating and validating

async fn each_kind_with_every_field(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let id_card = id_number("110105", "19900815", "123");
    let person = create(
        &api,
        json!({
            "kind": "individual", "name": "张三", "gender": "男", "birthday": "1990-08-15", "lunar_birthday": "六月廿五",
            "id_card": id_card.to_lowercase(), "passport": "e1234 5678", "passport_expiry": "2031-06-30",
            "employer": "东方航空", "title": "机长", "mobile": "+86 138-1234-5678", "mobile2": "13987654321",
            "landline": "(021)63210000", "email": "zhang.san@example.cn", "wechat": "zhangsan_sh", "fax": "021-63210001",
            "province": "上海", "city": "上海", "district": "浦东新区", "address": "世纪大道 100 号",
            "hobbies": "摄影", "diet": "不吃辣", "room_pref": "无羽毛枕头", "seat_pref": "靠窗",
            "source": "朋友介绍", "source_detail": "老客户李四介绍", "tags": ["VIP", "摄影爱好者"],
            "consent": {"email": true, "sms": false, "wechat": true, "phone": false},
            "stage": "loyal", "grade": "a", "notes": "喜欢安静的酒店"
        }),
    )
    .await?;
    ensure!(person["code"].as_str().is_some_and(|c| c.len() == 7 && c.starts_with('C')), "{person}");
    ensure!(person["name_pinyin"] == "zhangsan" && person["name_initials"] == "zs", "{person}");
    ensure!(person["gender"] == "male" && person["birthday"] == "1990-08-15", "{person}");
    ensure!(person["mobile"] == "13812345678" && person["landline"] == "021-63210000", "normalised: {person}");
    ensure!(person["id_card_masked"] == format!("110105********{}", &id_card[14..]).as_str(), "{person}");
    ensure!(person["passport_masked"] == "E1*****78" && person["passport_expiry"] == "2031-06-30", "{person}");
    ensure!(person["source"] == "referral" && person["stage"] == "loyal" && person["grade"] == "A", "{person}");
    ensure!(person["tags"] == json!(["VIP", "摄影爱好者"]) && person["consent"]["wechat"] == true, "{person}");
    ensure!(person["room_pref"] == "无羽毛枕头" && person["version"] == 1, "{person}");
    ensure!(person["has_id_card"] == true && person["has_passport"] == true, "{person}");
    ensure!(!person.to_string().contains(&id_card), "no full ID number in the answer");
    ensure!(person["owner_name"] == "boss", "the creator owns it by default: {person}");

    // Without a birthday, the ID number gives it (and the gender).
    let id2 = id_number("330106", "19851231", "002");
    let li = create(&api, json!({"kind": "individual", "name": "李娜", "id_card": id2})).await?;
    ensure!(li["birthday"] == "1985-12-31" && li["gender"] == "female", "{li}");

    let org = create(
        &api,
        json!({"kind": "organization", "name": "上海申华电气有限公司", "industry": "制造业", "landline": "021-62345678",
               "province": "上海", "city": "上海", "source": "campaign", "tags": ["团建", "年度疗休养", "团建"]}),
    )
    .await?;
    ensure!(org["kind"] == "organization" && org["industry"] == "制造业", "{org}");
    ensure!(org["tags"] == json!(["团建", "年度疗休养"]), "repeats dropped: {org}");
    let partner = create(
        &api,
        json!({"kind": "partner", "name": "桂林漓江国际旅行社", "partner_type": "地接社", "license_no": "L-GX-CJ00128",
               "province": "广西", "city": "桂林", "mobile": "13712345678"}),
    )
    .await?;
    ensure!(partner["partner_type"] == "ground_handler" && partner["license_no"] == "L-GX-CJ00128", "{partner}");

    // Read back.
    let (s, got) = api.get(&format!("/api/v1/customers/{}", id(&person)?)).await?;
    ensure!(s == StatusCode::OK && got["email"] == "zhang.san@example.cn" && got["fax"] == "021-63210001", "{got}");
    let (s, got) = api.get("/api/v1/customers/999999").await?;
    ensure!(s == StatusCode::NOT_FOUND && got["error"]["code"] == "not_found", "{s} {got}");
    Ok(())
}

async fn invalid_customers(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let (s, b) = api
        .post(
            "/api/v1/customers",
            &json!({"kind": "individual", "name": "王五", "mobile": "1381234567", "email": "wang@", "landline": "63210000",
                    "birthday": "2099-01-01", "source": "carrier pigeon", "passport": "E123", "grade": "Z",
                    "stage": "maybe", "tags": ["一二三四五六七八九十一二三四五六七八九十一"], "gender": "robot"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && b["error"]["code"] == "invalid", "{s} {b}");
    for (f, c) in [
        ("mobile", "invalid_mobile"),
        ("email", "invalid_email"),
        ("landline", "invalid_landline"),
        ("birthday", "in_future"),
        ("source", "invalid_choice"),
        ("passport", "invalid_passport"),
        ("grade", "invalid_choice"),
        ("stage", "invalid_choice"),
        ("tags", "too_long"),
        ("gender", "invalid_choice"),
    ] {
        ensure!(has_field(&b, f, c), "{f}/{c} in {b}");
    }
    ensure!(!b.to_string().contains("SQL") && !b.to_string().contains("sqlx"), "no internals: {b}");

    // ID number: checksum, and the birthday must agree with it.
    let good = id_number("110105", "19491231", "002");
    let mut bad = good.clone();
    bad.replace_range(17.., if good.ends_with('1') { "2" } else { "1" });
    let (s, b) = api.post("/api/v1/customers", &json!({"kind": "individual", "name": "赵六", "id_card": bad})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "id_card", "invalid_checksum"), "{s} {b}");
    let (s, b) = api
        .post(
            "/api/v1/customers",
            &json!({"kind": "individual", "name": "赵六", "id_card": good, "birthday": "1949-12-30"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "birthday", "birthday_mismatch"), "{s} {b}");
    ensure!(!b.to_string().contains(&good), "the message does not repeat the number: {b}");

    // Kind and name are required; fields of another kind are refused.
    let (s, b) = api.post("/api/v1/customers", &json!({"name": ""})).await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "kind", "required") && has_field(&b, "name", "required"),
        "{b}"
    );
    let (s, b) = api
        .post(
            "/api/v1/customers",
            &json!({"kind": "organization", "name": "某公司", "birthday": "1990-01-01", "partner_type": "agent"}),
        )
        .await?;
    ensure!(has_field(&b, "birthday", "not_for_kind") && has_field(&b, "partner_type", "not_for_kind"), "{s} {b}");
    let (s, b) = api.post("/api/v1/customers", &json!({"kind": "individual", "name": "x", "shoe_size": 42})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "shoe_size", "unknown_field"), "{s} {b}");
    let total = store::customers::count(
        &app.store,
        &store::visibility::Visibility {
            scope: domain::access::Scope::All,
            user_id: domain::ids::UserId(0),
            teams: Vec::new(),
        },
        &Default::default(),
    )
    .await?;
    ensure!(total == 0, "nothing was saved ({total})");
    Ok(())
}

async fn required_and_custom_fields(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let system = store::Actor::system("test");
    let mut tx = app.store.begin().await?;
    store::customer_fields::set_required_builtin(&mut tx, &system, "individual", &["mobile".into(), "id_card".into()])
        .await?;
    for (key, ty, choices) in
        [("vip_no", "text", vec![]), ("annual_trips", "number", vec![]), ("level", "choice", vec!["金卡", "银卡"])]
    {
        store::customer_fields::create(
            &mut tx,
            &system,
            &store::customer_fields::FieldDraft {
                kind: "individual".into(),
                key: key.into(),
                label_zh: key.into(),
                label_en: key.into(),
                field_type: ty.into(),
                choices: choices.into_iter().map(String::from).collect(),
                required: false,
                position: 0,
                active: true,
            },
        )
        .await?;
    }
    tx.commit().await?;

    let (s, b) = api
        .post("/api/v1/customers", &json!({"kind": "individual", "name": "孙七", "custom": {"annual_trips": "three", "level": "铜卡", "nope": "x"}}))
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    for (f, c) in [
        ("mobile", "required"),
        ("id_card", "required"),
        ("custom.annual_trips", "invalid_number"),
        ("custom.level", "invalid_choice"),
        ("custom.nope", "unknown_field"),
    ] {
        ensure!(has_field(&b, f, c), "{f}/{c} in {b}");
    }
    // Organizations have their own rules: none here.
    create(&api, json!({"kind": "organization", "name": "无手机单位"})).await?;
    let c = create(
        &api,
        json!({"kind": "individual", "name": "孙七", "mobile": "13800000007", "id_card": id_number("320106", "19700101", "011"),
               "custom": {"vip_no": "V-88", "annual_trips": 3, "level": "金卡"}}),
    )
    .await?;
    ensure!(
        c["custom"]["vip_no"] == "V-88" && c["custom"]["annual_trips"] == "3" && c["custom"]["level"] == "金卡",
        "{c}"
    );
    // A change that does not touch the ID keeps satisfying "required".
    let (s, b) = api.patch(&format!("/api/v1/customers/{}", id(&c)?), &json!({"version": 1, "city": "南京"})).await?;
    ensure!(s == StatusCode::OK && b["city"] == "南京" && b["custom"]["level"] == "金卡", "{s} {b}");
    let (s, b) = api.patch(&format!("/api/v1/customers/{}", id(&c)?), &json!({"version": 2, "mobile": null})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "mobile", "required"), "{s} {b}");
    // The page form marks required fields and shows the custom ones.
    let (_, html) =
        browser_as(&app, "pagecheck", "admin", "zh-CN").await?.1.get("/customers/new?kind=individual").await?;
    ensure!(html.contains("name=\"custom.vip_no\"") && html.contains("金卡"), "custom fields on the form");
    Ok(())
}

async fn codes_are_unique(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let mut codes = Vec::new();
    for (i, n) in ["甲", "乙", "丙"].iter().enumerate() {
        let c =
            create(&api, json!({"kind": "individual", "name": format!("客户{n}"), "mobile": format!("1380000000{i}")}))
                .await?;
        codes.push(c["code"].as_str().context("code")?.to_string());
    }
    ensure!(codes == ["C000001", "C000002", "C000003"], "{codes:?}");
    let (s, list) = api.get("/api/v1/customers?q=c000002").await?;
    ensure!(s == StatusCode::OK && names(&list) == ["客户乙"], "search by code: {list}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Documents

async fn documents_are_sealed(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let number = id_number("440306", "19900815", "123");
    let c = create(&api, json!({"kind": "individual", "name": "周八", "id_card": number, "passport": "G12345678", "mobile": "13600000008"}))
        .await?;
    let cid = id(&c)?;

    // Nothing in the database holds the numbers in clear.
    let row: (Option<String>, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT id_card_enc, id_card_hash, id_card_masked, passport_enc FROM customers WHERE id = $1")
            .bind(cid)
            .fetch_one(app.store.pool())
            .await?;
    let texts = [row.0.clone(), row.1, row.2.clone(), row.3.clone()];
    ensure!(
        texts.iter().all(|t| t.as_deref().is_some_and(|t| !t.contains(&number) && !t.contains("G12345678"))),
        "{texts:?}"
    );
    ensure!(row.2.as_deref() == Some(&format!("440306********{}", &number[14..])[..]), "masked: {:?}", row.2);
    let audit: Vec<String> = sqlx::query_scalar("SELECT changes FROM audit_log").fetch_all(app.store.pool()).await?;
    ensure!(audit.iter().all(|a| !a.contains(&number)), "the audit trail holds it masked");
    if app.db.engine() == crate::harness::Engine::Sqlite {
        let path = app.db.url.trim_start_matches("sqlite://").to_string();
        for file in [path.clone(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                let hay = String::from_utf8_lossy(&bytes);
                ensure!(!hay.contains(&number) && !hay.contains("G12345678"), "{file} holds a number in clear");
            }
        }
    }

    // Lists and reads show it masked.
    let (_, list) = api.get("/api/v1/customers").await?;
    ensure!(!list.to_string().contains(&number) && list.to_string().contains("440306********"), "{list}");

    // Revealing needs customers.pii and writes an audit row first.
    let (_, service) = user(&app, "kefu", "service", None).await?;
    let (s, _) = service.post(&format!("/api/v1/customers/{cid}/reveal?doc=id_card"), &json!({})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "service has no customers.pii: {s}");
    let (_, finance) = user(&app, "caiwu", "finance", None).await?;
    let (s, _) = finance.post(&format!("/api/v1/customers/{cid}/reveal?doc=id_card"), &json!({})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    let (_, sales) = user(&app, "xiaowang", "sales", None).await?;
    let (s, _) = sales.post(&format!("/api/v1/customers/{cid}/reveal?doc=id_card"), &json!({})).await?;
    ensure!(s == StatusCode::NOT_FOUND, "pii for their own customers only: {s}");
    let (s, b) = api.post(&format!("/api/v1/customers/{cid}/reveal?doc=id_card"), &json!({})).await?;
    ensure!(s == StatusCode::OK && b["value"] == number.as_str(), "{s} {b}");
    let (s, b) = api.post(&format!("/api/v1/customers/{cid}/reveal?doc=passport"), &json!({})).await?;
    ensure!(s == StatusCode::OK && b["value"] == "G12345678", "{s} {b}");
    let (s, b) = api.post(&format!("/api/v1/customers/{cid}/reveal?doc=dna"), &json!({})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "doc", "invalid_choice"), "{s} {b}");
    let reveals: Vec<(String, String)> =
        sqlx::query_as("SELECT entity_id, actor_name FROM audit_log WHERE action = 'reveal' ORDER BY id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(
        reveals.len() == 2 && reveals.iter().all(|(e, a)| e == &cid.to_string() && a.contains("boss")),
        "{reveals:?}"
    );

    // Searching by the number works only with customers.pii.
    let (_, hit) = api.get(&format!("/api/v1/customers?q={number}")).await?;
    ensure!(names(&hit) == ["周八"], "{hit}");
    let (_, miss) = service.get(&format!("/api/v1/customers?q={number}")).await?;
    ensure!(names(&miss).is_empty(), "service may not search by ID number: {miss}");
    let (_, hit) = api.get("/api/v1/customers?q=g12345678").await?;
    ensure!(names(&hit) == ["周八"], "passport: {hit}");

    // The page shows the masked number; the button reveals it (audited).
    let (_, mut b) = browser_as(&app, "admin2", "admin", "zh-CN").await?;
    let (s, html) = b.get(&format!("/customers/{cid}")).await?;
    ensure!(s == StatusCode::OK && html.contains("440306********") && !html.contains(&number), "masked on the page");
    ensure!(html.contains("显示完整号码"), "a reveal button");
    let (s, html) = b.post_form(&format!("/customers/{cid}/reveal?doc=id_card"), &[]).await?;
    ensure!(s == StatusCode::OK && html.contains(&number), "revealed on the page: {s}");
    let (_, mut fb) = browser_as(&app, "caiwu2", "finance", "zh-CN").await?;
    let (_, html) = fb.get(&format!("/customers/{cid}")).await?;
    ensure!(!html.contains("显示完整号码") && !html.contains(&number), "no button without customers.pii");
    let (s, _) = fb.post_form(&format!("/customers/{cid}/reveal?doc=id_card"), &[]).await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    Ok(())
}

async fn editing_documents(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let first = id_number("310104", "19800101", "011");
    let c =
        create(&api, json!({"kind": "individual", "name": "吴九", "id_card": first, "passport": "E87654321"})).await?;
    let cid = id(&c)?;
    // Not sending the number keeps it.
    let (s, b) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 1, "notes": "老客户"})).await?;
    ensure!(s == StatusCode::OK && b["has_id_card"] == true && b["id_card_masked"] == c["id_card_masked"], "{b}");
    // A birthday that disagrees with the kept number is refused.
    let (s, b) =
        api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 2, "birthday": "1981-01-01"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "birthday", "birthday_mismatch"), "{s} {b}");
    // Service may set a new number without ever seeing the old one.
    let (_, service) = user(&app, "kefu", "service", None).await?;
    let second = id_number("310104", "19800101", "031");
    let (s, b) = service.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 2, "id_card": second})).await?;
    ensure!(s == StatusCode::OK && b["id_card_masked"].as_str().is_some_and(|m| m.ends_with(&second[14..])), "{s} {b}");
    let (_, b) = api.post(&format!("/api/v1/customers/{cid}/reveal?doc=id_card"), &json!({})).await?;
    ensure!(b["value"] == second.as_str(), "{b}");
    // null removes it.
    let (s, b) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 3, "passport": null})).await?;
    ensure!(s == StatusCode::OK && b["has_passport"] == false && b["passport_masked"].is_null(), "{s} {b}");
    // The page form: empty keeps, the box removes.
    let (_, mut page) = browser_as(&app, "admin2", "admin", "zh-CN").await?;
    let (s, html) = page.get(&format!("/customers/{cid}/edit")).await?;
    ensure!(s == StatusCode::OK && html.contains("id_card_remove") && !html.contains(&second), "{s}");
    let (s, _) = page
        .post_form(
            &format!("/customers/{cid}"),
            &[("version", "4"), ("kind", "individual"), ("name", "吴九"), ("id_card", ""), ("birthday", "1980-01-01")],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, b) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(b["has_id_card"] == true && b["version"] == 5, "kept: {b}");
    let (s, _) = page
        .post_form(&format!("/customers/{cid}"), &[("version", "5"), ("name", "吴九"), ("id_card_remove", "1")])
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, b) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(b["has_id_card"] == false && b["id_card_masked"].is_null(), "removed: {b}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Search, filters, sorting, paging, the saved view

async fn search(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    create(&api, json!({"kind": "individual", "name": "张三", "mobile": "13812345678", "employer": "东方航空"}))
        .await?;
    create(&api, json!({"kind": "individual", "name": "张珊珊", "mobile": "13900001111"})).await?;
    create(&api, json!({"kind": "individual", "name": "李四", "landline": "0571-88886666"})).await?;
    let org =
        create(&api, json!({"kind": "organization", "name": "杭州西溪科技有限公司", "mobile": "13700002222"})).await?;
    ensure!(found(&api, &format!("q={}", q("张"))).await? == ["张三", "张珊珊"], "name fragment");
    ensure!(found(&api, &format!("q={}", q("珊"))).await? == ["张珊珊"], "inner fragment");
    ensure!(found(&api, "q=zhangsan").await? == ["张三"], "full pinyin");
    ensure!(found(&api, "q=ZhangSan").await? == ["张三"], "case");
    ensure!(found(&api, "q=zs").await? == ["张三", "张珊珊"], "initials");
    ensure!(found(&api, "q=zss").await? == ["张珊珊"], "longer initials");
    ensure!(found(&api, "q=13812345678").await? == ["张三"], "full phone");
    ensure!(found(&api, &format!("q={}", q("138 1234 5678"))).await? == ["张三"], "phone with spaces");
    ensure!(found(&api, "q=5678").await? == ["张三"], "last four");
    ensure!(found(&api, "q=6666").await? == ["李四"], "landline last four");
    ensure!(found(&api, &format!("q={}", q("东方航空"))).await? == ["张三"], "company");
    ensure!(found(&api, &format!("q={}", q("西溪"))).await? == ["杭州西溪科技有限公司"], "organization name");
    let code = org["code"].as_str().context("code")?;
    ensure!(found(&api, &format!("q={code}")).await? == ["杭州西溪科技有限公司"], "code");
    ensure!(found(&api, "q=wangwu").await?.is_empty(), "no match");
    ensure!(found(&api, &format!("q={}", q("%"))).await?.is_empty(), "LIKE wildcards are literal");
    Ok(())
}

async fn filters_sorts_and_pages(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let north = app.team("华北分公司", None).await?;
    let (sunli, _) = user(&app, "sunli", "sales", Some(north)).await?;
    let system = store::Actor::system("test");
    let mut tx = app.store.begin().await?;
    store::customer_fields::create(
        &mut tx,
        &system,
        &store::customer_fields::FieldDraft {
            kind: "individual".into(),
            key: "level".into(),
            label_zh: "会员等级".into(),
            label_en: "Level".into(),
            field_type: "choice".into(),
            choices: vec!["金卡".into(), "银卡".into()],
            required: false,
            position: 0,
            active: true,
        },
    )
    .await?;
    tx.commit().await?;
    let people = [
        ("安琪", "A", "loyal", "referral", "浙江", "杭州", "1990-03-05", "VIP", "金卡"),
        ("白雪", "B", "potential", "website", "浙江", "宁波", "1985-08-20", "亲子", "银卡"),
        ("陈晨", "A", "repeat", "website", "江苏", "南京", "1978-08-01", "VIP", "银卡"),
        ("丁当", "C", "churned", "walk_in", "上海", "上海", "2000-12-31", "海岛", "金卡"),
        ("鄂尔", "D", "potential", "referral", "上海", "上海", "1969-01-15", "VIP", "银卡"),
    ];
    let mut ids = Vec::new();
    for (i, (name, grade, stage, source, province, city, birthday, tag, level)) in people.iter().enumerate() {
        let mut body = json!({"kind": "individual", "name": name, "grade": grade, "stage": stage, "source": source,
            "province": province, "city": city, "birthday": birthday, "tags": [tag], "custom": {"level": level},
            "mobile": format!("1350000000{i}")});
        if i == 4 {
            body["owner_id"] = json!(sunli);
        }
        ids.push(id(&create(&api, body).await?)?);
    }
    create(&api, json!({"kind": "organization", "name": "方圆集团", "grade": "B", "province": "浙江", "city": "杭州"}))
        .await?;
    create(
        &api,
        json!({"kind": "partner", "name": "桂林地接社", "partner_type": "ground_handler", "province": "广西"}),
    )
    .await?;

    ensure!(found(&api, "kind=organization").await? == ["方圆集团"], "kind");
    ensure!(found(&api, &format!("kind={}", q("同业"))).await? == ["桂林地接社"], "kind by Chinese label");
    ensure!(found(&api, "grade=A").await? == ["安琪", "陈晨"], "grade");
    ensure!(found(&api, "stage=potential&kind=individual").await? == ["白雪", "鄂尔"], "stage");
    ensure!(found(&api, &format!("stage={}", q("流失"))).await? == ["丁当"], "stage by label");
    ensure!(found(&api, "source=website").await? == ["白雪", "陈晨"], "source");
    ensure!(found(&api, &format!("owner={sunli}")).await? == ["鄂尔"], "owner");
    ensure!(found(&api, &format!("team={north}")).await? == ["鄂尔"], "team");
    ensure!(found(&api, &format!("province={}", q("浙江"))).await? == ["安琪", "方圆集团", "白雪"], "province");
    ensure!(found(&api, &format!("city={}", q("上海"))).await? == ["丁当", "鄂尔"], "city");
    ensure!(found(&api, "tag=VIP").await? == ["安琪", "鄂尔", "陈晨"], "tag (sorted by code point)");
    ensure!(found(&api, "birthday_month=8").await? == ["白雪", "陈晨"], "birthday month");
    ensure!(found(&api, &format!("cf_key=level&cf_value={}", q("金卡"))).await? == ["丁当", "安琪"], "custom field");
    ensure!(found(&api, &format!("grade=A&tag=VIP&province={}", q("江苏"))).await? == ["陈晨"], "combined");

    // Last contact: one today, one 40 days ago, the rest never.
    let (s, b) = api
        .post(
            &format!("/api/v1/customers/{}/interactions", ids[0]),
            &json!({"channel": "phone", "direction": "outbound", "summary": "回访"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s} {b}");
    let long_ago = chrono::Utc::now() - chrono::Duration::days(40);
    let (s, b) = api
        .post(
            &format!("/api/v1/customers/{}/interactions", ids[1]),
            &json!({"channel": "wechat", "direction": "inbound", "summary": "咨询", "occurred_at": long_ago.to_rfc3339()}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s} {b}");
    ensure!(found(&api, "contacted_within_days=30").await? == ["安琪"], "contacted recently");
    let stale = found(&api, "not_contacted_days=30").await?;
    ensure!(
        stale.contains(&"白雪".to_string()) && !stale.contains(&"安琪".to_string()) && stale.len() == 6,
        "{stale:?}"
    );

    // Sorting by any column.
    let order = |list: &Value| names(list);
    let (_, l) = api.get("/api/v1/customers?kind=individual&sort=name").await?;
    ensure!(order(&l) == ["安琪", "白雪", "陈晨", "丁当", "鄂尔"], "pinyin order: {:?}", order(&l));
    let (_, l) = api.get("/api/v1/customers?kind=individual&sort=name&dir=desc").await?;
    ensure!(order(&l) == ["鄂尔", "丁当", "陈晨", "白雪", "安琪"], "{:?}", order(&l));
    let (_, l) = api.get("/api/v1/customers?kind=individual&sort=birthday").await?;
    ensure!(order(&l) == ["鄂尔", "安琪", "陈晨", "白雪", "丁当"], "by month and day: {:?}", order(&l));
    let (_, l) = api.get("/api/v1/customers?kind=individual&sort=grade").await?;
    ensure!(order(&l)[..2] == ["安琪", "陈晨"] && order(&l)[4] == "鄂尔", "{:?}", order(&l));
    let (_, l) = api.get("/api/v1/customers?sort=code").await?;
    let codes: Vec<&str> = l["items"].as_array().context("items")?.iter().filter_map(|c| c["code"].as_str()).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    ensure!(codes == sorted && codes.len() == 7, "{codes:?}");
    let (_, l) = api.get("/api/v1/customers").await?;
    ensure!(order(&l)[0] == "桂林地接社", "newest first by default: {:?}", order(&l));
    for sort in ["created", "code", "name", "kind", "grade", "stage", "place", "owner", "last_contact", "birthday"] {
        let (s, l) = api.get(&format!("/api/v1/customers?sort={sort}&dir=asc")).await?;
        ensure!(s == StatusCode::OK && l["total"] == 7, "{sort}: {s} {l}");
    }

    // Paging.
    let mut seen = Vec::new();
    let mut page = Some(1);
    while let Some(p) = page {
        let (s, l) = api.get(&format!("/api/v1/customers?sort=name&per_page=3&page={p}")).await?;
        ensure!(s == StatusCode::OK && l["total"] == 7 && l["per_page"] == 3 && l["page"] == p, "{l}");
        ensure!(l["items"].as_array().map(Vec::len).unwrap_or(0) <= 3, "{l}");
        seen.extend(names(&l));
        page = l["next"].as_i64();
    }
    ensure!(seen.len() == 7, "every customer once: {seen:?}");
    let (_, l) = api.get("/api/v1/customers?limit=2").await?;
    ensure!(l["items"].as_array().map(Vec::len) == Some(2) && l["next"] == 2, "{l}");

    // Bad parameters are named.
    let (s, b) = api.get("/api/v1/customers?kind=robot&birthday_month=13&sort=salary&per_page=0&owner=me").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    for f in ["kind", "birthday_month", "sort", "per_page", "owner"] {
        ensure!(fields(&b).iter().any(|(x, _)| x == f), "{f} in {b}");
    }
    Ok(())
}

async fn saved_view(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    create(&api, json!({"kind": "individual", "name": "张三", "province": "浙江"})).await?;
    create(&api, json!({"kind": "individual", "name": "李四", "province": "上海"})).await?;
    create(&api, json!({"kind": "organization", "name": "张氏集团", "province": "浙江"})).await?;
    let (_, mut b) = browser_as(&app, "viewer", "admin", "zh-CN").await?;
    let (s, html) = b.get("/customers").await?;
    ensure!(
        s == StatusCode::OK && html.contains("张三") && html.contains("李四") && !html.contains("view-restored"),
        "{s}"
    );
    let (s, html) = b.get(&format!("/customers?q={}&kind=individual&sort=name&dir=desc", q("张"))).await?;
    ensure!(
        s == StatusCode::OK && html.contains("张三") && !html.contains("李四") && !html.contains("张氏集团"),
        "filtered"
    );
    // Back without parameters: the same view.
    let (s, html) = b.get("/customers").await?;
    ensure!(s == StatusCode::OK && html.contains("view-restored"), "restored notice");
    ensure!(html.contains("张三") && !html.contains("李四") && !html.contains(">张氏集团<"), "restored filters");
    ensure!(html.contains("value=\"张\""), "the search box shows the restored text");
    // Someone else's view is their own.
    let (_, mut other) = browser_as(&app, "viewer2", "admin", "zh-CN").await?;
    let (_, html) = other.get("/customers").await?;
    ensure!(!html.contains("view-restored") && html.contains("李四"), "views are per person");
    // An empty filter form is a choice too: it becomes the view.
    let (_, html) = b.get("/customers?q=&kind=&province=").await?;
    ensure!(html.contains("李四") && !html.contains("view-restored"), "all again");
    let (_, html) = b.get("/customers").await?;
    ensure!(!html.contains("view-restored") && html.contains("李四"), "nothing to restore");
    // Clear forgets it.
    b.get(&format!("/customers?province={}", q("上海"))).await?;
    let (_, html) = b.get("/customers").await?;
    ensure!(html.contains("view-restored") && !html.contains("张三"), "restored province");
    let (_, html) = b.get("/customers?clear=1").await?;
    ensure!(html.contains("张三") && html.contains("李四"), "cleared");
    let (_, html) = b.get("/customers").await?;
    ensure!(!html.contains("view-restored"), "nothing saved after clear");
    // Sort links keep the filters.
    let (_, html) = b.get(&format!("/customers?province={}", q("浙江"))).await?;
    let link = html.split("href=\"/customers?").find(|p| p.contains("sort=name")).context("a sort link")?;
    let link = unescape(&link[..link.find('"').context("end")?]);
    ensure!(link.contains("province=") && link.contains("sort=name"), "{link}");
    // A bad parameter shows the page with the problem, not an error page.
    let (s, html) = b.get("/customers?birthday_month=13").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("birthday_month"), "{s}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Visibility, versions

async fn visibility(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let east = app.team("华东分公司", None).await?;
    let one = app.team("上海销售一部", Some(east)).await?;
    let two = app.team("上海销售二部", Some(east)).await?;
    let north = app.team("华北分公司", None).await?;
    let (lina, lina_api) = user(&app, "lina", "sales", Some(one)).await?;
    let (zhangwei, _) = user(&app, "zhangwei", "sales", Some(one)).await?;
    let (liuyang, _) = user(&app, "liuyang", "sales", Some(two)).await?;
    let (sunli, _) = user(&app, "sunli", "sales", Some(north)).await?;
    let (wang, wang_api) = user(&app, "wangjianguo", "manager", Some(east)).await?;
    app.set_manager(east, wang).await?;
    let (_, service) = user(&app, "wufang", "service", None).await?;

    let mut owned = std::collections::HashMap::new();
    for (owner, name, mobile) in [
        (lina, "李娜的客户", "13811110001"),
        (zhangwei, "张伟的客户", "13811110002"),
        (liuyang, "刘洋的客户", "13811110003"),
        (sunli, "孙丽的客户", "13811110004"),
    ] {
        let c = create(&api, json!({"kind": "individual", "name": name, "mobile": mobile, "owner_id": owner})).await?;
        owned.insert(name, id(&c)?);
    }
    let lina_own = owned["李娜的客户"];
    let other = owned["孙丽的客户"];

    ensure!(found(&lina_api, "").await? == ["李娜的客户"], "sales: only their own");
    ensure!(found(&lina_api, &format!("q={}", q("客户"))).await? == ["李娜的客户"], "search too");
    ensure!(found(&lina_api, "q=13811110004").await?.is_empty(), "not by phone either");
    let (s, b) = lina_api.get(&format!("/api/v1/customers/{other}")).await?;
    ensure!(s == StatusCode::NOT_FOUND && b["error"]["code"] == "not_found", "404, not 403: {s}");
    for path in ["timeline", "interactions", "contacts", "intentions"] {
        let (s, _) = lina_api.get(&format!("/api/v1/customers/{other}/{path}")).await?;
        ensure!(s == StatusCode::NOT_FOUND, "{path}: {s}");
    }
    let (s, _) = lina_api.patch(&format!("/api/v1/customers/{other}"), &json!({"version": 1, "notes": "x"})).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (s, _) = lina_api
        .post(
            &format!("/api/v1/customers/{other}/interactions"),
            &json!({"channel": "phone", "direction": "outbound", "summary": "x"}),
        )
        .await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (s, _) = lina_api.get(&format!("/api/v1/customers/{lina_own}/timeline")).await?;
    ensure!(s == StatusCode::OK, "{s}");
    let (s, _) = lina_api.post(&format!("/api/v1/customers/{lina_own}/reveal?doc=id_card"), &json!({})).await?;
    ensure!(s == StatusCode::OK, "sales may reveal for their own: {s}");

    ensure!(
        found(&wang_api, "").await? == ["刘洋的客户", "张伟的客户", "李娜的客户"],
        "the manager sees the team subtree"
    );
    let (s, _) = wang_api.get(&format!("/api/v1/customers/{other}")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    ensure!(found(&service, "").await?.len() == 4, "service sees everyone");
    let (s, _) = service.patch(&format!("/api/v1/customers/{other}"), &json!({"version": 1, "notes": "来电"})).await?;
    ensure!(s == StatusCode::OK, "service may write all: {s}");

    // The pages agree.
    let password = "Quartz-Lantern-Oyster-47!";
    let mut b = app.browser("lina", password).await?;
    let (_, html) = b.get("/customers").await?;
    ensure!(html.contains("李娜的客户") && !html.contains("孙丽的客户"), "list page");
    let (s, _) = b.get(&format!("/customers/{other}")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (s, _) = b.get(&format!("/customers/{other}/edit")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (_, html) = b.get("/").await?;
    ensure!(html.contains("customer-card") && html.contains("我负责的客户: 1"), "dashboard card");
    // Finance may read but not write.
    let (_, finance) = user(&app, "zhengjie", "finance", None).await?;
    let (s, _) = finance.post("/api/v1/customers", &json!({"kind": "individual", "name": "x"})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    Ok(())
}

async fn stale_versions(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let c = create(&api, json!({"kind": "individual", "name": "郑十", "city": "杭州"})).await?;
    let cid = id(&c)?;
    let (s, b) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 1, "city": "宁波"})).await?;
    ensure!(s == StatusCode::OK && b["version"] == 2, "{s} {b}");
    let (s, b) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 1, "city": "温州"})).await?;
    ensure!(
        s == StatusCode::CONFLICT && b["error"]["code"] == "stale_version" && b["error"]["current_version"] == 2,
        "{s} {b}"
    );
    let (_, b) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(b["city"] == "宁波" && b["version"] == 2, "unchanged: {b}");
    let (s, b) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"city": "温州"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "version", "required"), "{s} {b}");
    let (s, b) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 2, "kind": "partner"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "kind", "immutable"), "{s} {b}");
    // The page: the form again with the current values and a message.
    let (_, mut page) = browser_as(&app, "editor", "admin", "zh-CN").await?;
    page.get(&format!("/customers/{cid}/edit")).await?;
    let (s, html) =
        page.post_form(&format!("/customers/{cid}"), &[("version", "1"), ("name", "郑十"), ("city", "温州")]).await?;
    ensure!(s == StatusCode::CONFLICT && html.contains("该记录已被他人修改") && html.contains("value=\"宁波\""), "{s}");
    let (_, b) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(b["city"] == "宁波", "{b}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Interactions, timeline, preferences

async fn interactions_and_timeline(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let c = create(&api, json!({"kind": "individual", "name": "冯十一", "mobile": "13600000011"})).await?;
    let cid = id(&c)?;
    ensure!(c["last_contact_at"].is_null(), "{c}");
    let (s, i) = api
        .post(
            &format!("/api/v1/customers/{cid}/interactions"),
            &json!({"channel": "电话", "direction": "outbound", "department": "sales", "summary": "回访，客户想去云南"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED && i["channel"] == "phone" && i["staff_name"] == "boss", "{s} {i}");
    let (_, got) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(got["last_contact_at"] == i["occurred_at"], "last contact moved: {got}");
    // An older one does not move it back.
    let (s, _) = api
        .post(
            &format!("/api/v1/customers/{cid}/interactions"),
            &json!({"channel": "wechat", "direction": "inbound", "summary": "上个月的咨询", "occurred_at": "2026-01-05T10:00"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s}");
    let (_, again) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(again["last_contact_at"] == got["last_contact_at"], "{again}");
    let (s, b) = api
        .post(
            &format!("/api/v1/customers/{cid}/interactions"),
            &json!({"channel": "pigeon", "direction": "sideways", "department": "kitchen", "summary": "", "occurred_at": "2099-01-01T10:00"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    for (f, code) in [
        ("channel", "invalid_choice"),
        ("direction", "invalid_choice"),
        ("department", "invalid_choice"),
        ("summary", "required"),
        ("occurred_at", "in_future"),
    ] {
        ensure!(has_field(&b, f, code), "{f} in {b}");
    }
    let (_, list) = api.get(&format!("/api/v1/customers/{cid}/interactions")).await?;
    let summaries: Vec<&str> =
        list["items"].as_array().context("items")?.iter().filter_map(|x| x["summary"].as_str()).collect();
    ensure!(summaries == ["回访，客户想去云南", "上个月的咨询"], "newest first: {summaries:?}");

    // A change appears on the timeline too, newest first.
    let (s, _) = api.patch(&format!("/api/v1/customers/{cid}"), &json!({"version": 1, "stage": "opportunity"})).await?;
    ensure!(s == StatusCode::OK, "{s}");
    let (s, t) = api.get(&format!("/api/v1/customers/{cid}/timeline")).await?;
    ensure!(s == StatusCode::OK, "{s} {t}");
    let items = t["items"].as_array().context("items")?;
    let kinds: Vec<&str> = items.iter().filter_map(|x| x["kind"].as_str()).collect();
    ensure!(kinds.contains(&"interaction") && kinds.contains(&"change"), "{kinds:?}");
    let times: Vec<&str> = items.iter().filter_map(|x| x["at"].as_str()).collect();
    ensure!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    ensure!(
        items.iter().any(|x| x["kind"] == "change" && x["detail"].as_str().is_some_and(|d| d.contains("stage"))),
        "{t}"
    );
    let (_, only) = api.get(&format!("/api/v1/customers/{cid}/timeline?kind=interaction")).await?;
    ensure!(
        only["items"].as_array().is_some_and(|a| a.len() == 2 && a.iter().all(|x| x["kind"] == "interaction")),
        "{only}"
    );
    let (_, only) = api.get(&format!("/api/v1/customers/{cid}/timeline?kind=change")).await?;
    ensure!(
        only["items"].as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["kind"] == "change")),
        "{only}"
    );
    let (s, b) = api.get(&format!("/api/v1/customers/{cid}/timeline?kind=gossip")).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "kind", "invalid_choice"), "{s} {b}");

    // Quick entry from the pages.
    let (_, mut page) = browser_as(&app, "desk", "admin", "zh-CN").await?;
    let (s, html) = page.get(&format!("/customers/{cid}?kind=interaction")).await?;
    ensure!(s == StatusCode::OK && html.contains("回访，客户想去云南") && html.contains("电话"), "labels, not codes");
    let (s, _) = page
        .post_form(
            &format!("/customers/{cid}/interactions"),
            &[("channel", "sms"), ("direction", "outbound"), ("summary", "发送行程单")],
        )
        .await?;
    ensure!(
        s == StatusCode::SEE_OTHER && page.last_location().is_some_and(|l| l.starts_with(&format!("/customers/{cid}"))),
        "{s}"
    );
    let (s, _) = page
        .post_form(
            &format!("/customers/{cid}/interactions"),
            &[("channel", "phone"), ("direction", "inbound"), ("summary", "列表里记一笔"), ("return_to", "list")],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER && page.last_location().is_some_and(|l| l.starts_with("/customers?")), "{s}");
    let (s, html) = page
        .post_form(
            &format!("/customers/{cid}/interactions"),
            &[("channel", "phone"), ("direction", "inbound"), ("summary", "")],
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("必填"), "the page with the problem: {s}");
    let (_, list) = api.get(&format!("/api/v1/customers/{cid}/interactions")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(4), "{list}");
    Ok(())
}

async fn front_desk_preference(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let (owner, sales) = user(&app, "lina", "sales", None).await?;
    let c =
        create(&api, json!({"kind": "individual", "name": "韩梅梅", "room_pref": "高楼层", "owner_id": owner})).await?;
    let cid = id(&c)?;
    let (_, desk) = user(&app, "heping", "front_desk", None).await?;
    let (s, i) = desk
        .post(
            &format!("/api/v1/customers/{cid}/interactions"),
            &json!({"channel": "face_to_face", "direction": "inbound", "summary": "入住时提出枕头要求",
                    "preference_kind": "room", "preference": "无羽毛枕头"}),
        )
        .await?;
    ensure!(
        s == StatusCode::CREATED && i["department"] == "front_desk",
        "the desk's own department by default: {s} {i}"
    );
    // Housekeeping and F&B add to the same profile.
    let (s, _) = desk
        .post(
            &format!("/api/v1/customers/{cid}/interactions"),
            &json!({"channel": "face_to_face", "direction": "inbound", "department": "food_beverage", "summary": "早餐",
                    "preference_kind": "diet", "preference": "不吃辣"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s}");
    let (_, seen) = sales.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(seen["room_pref"] == "高楼层；无羽毛枕头" && seen["diet"] == "不吃辣", "the salesperson sees it: {seen}");
    let (_, t) = api.get(&format!("/api/v1/customers/{cid}/timeline?kind=change")).await?;
    ensure!(
        t["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["detail"].as_str().is_some_and(|d| d.contains("room_pref")))),
        "{t}"
    );
    // Again: noted once.
    let (s, _) = desk
        .post(
            &format!("/api/v1/customers/{cid}/interactions"),
            &json!({"channel": "phone", "direction": "inbound", "summary": "再次确认", "preference": "无羽毛枕头"}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s}");
    let (_, seen) = api.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(seen["room_pref"] == "高楼层；无羽毛枕头", "{seen}");
    // Preferences belong to people.
    let org = create(&api, json!({"kind": "organization", "name": "某酒店协议单位"})).await?;
    let (s, b) = desk
        .post(
            &format!("/api/v1/customers/{}/interactions", id(&org)?),
            &json!({"channel": "phone", "direction": "inbound", "summary": "x", "preference": "无烟房"}),
        )
        .await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "preference", "not_for_kind"), "{s} {b}");
    // The page form does the same.
    let password = "Quartz-Lantern-Oyster-47!";
    let mut page = app.browser("heping", password).await?;
    let (s, html) = page.get(&format!("/customers/{cid}")).await?;
    ensure!(s == StatusCode::OK && html.contains("name=\"preference\""), "{s}");
    let (s, _) = page
        .post_form(
            &format!("/customers/{cid}/interactions"),
            &[
                ("channel", "face_to_face"),
                ("direction", "inbound"),
                ("department", "housekeeping"),
                ("summary", "整理房间"),
                ("preference_kind", "room"),
                ("preference", "加一床被子"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, seen) = sales.get(&format!("/api/v1/customers/{cid}")).await?;
    ensure!(seen["room_pref"] == "高楼层；无羽毛枕头；加一床被子", "{seen}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Contacts, intentions, duplicates, owners

async fn contacts_and_intentions(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let org = create(&api, json!({"kind": "organization", "name": "苏州星海实验中学", "industry": "教育"})).await?;
    let oid = id(&org)?;
    let (s, a) = api
        .post(
            &format!("/api/v1/customers/{oid}/contacts"),
            &json!({"name": "沈美华", "role": "办公室主任", "mobile": "13912340001", "is_primary": true}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED && a["role"] == "office_director" && a["is_primary"] == true, "{s} {a}");
    let (s, b) = api
        .post(
            &format!("/api/v1/customers/{oid}/contacts"),
            &json!({"name": "吕志远", "role": "union_chair", "title": "工会主席", "landline": "0512-65432100", "is_primary": true}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "{s} {b}");
    let (_, list) = api.get(&format!("/api/v1/customers/{oid}/contacts")).await?;
    let items = list["items"].as_array().context("items")?;
    ensure!(
        items.len() == 2
            && items[0]["name"] == "吕志远"
            && items[0]["is_primary"] == true
            && items[1]["is_primary"] == false,
        "one primary: {list}"
    );
    let (s, e) = api
        .post(&format!("/api/v1/customers/{oid}/contacts"), &json!({"name": "", "role": "boss", "mobile": "123"}))
        .await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY
            && has_field(&e, "name", "required")
            && has_field(&e, "role", "invalid_choice")
            && has_field(&e, "mobile", "invalid_mobile"),
        "{e}"
    );
    let (s, _) = api.delete(&format!("/api/v1/customers/{oid}/contacts/{}", id(&a)?)).await?;
    ensure!(s == StatusCode::NO_CONTENT, "{s}");
    let (s, _) = api.delete(&format!("/api/v1/customers/{oid}/contacts/{}", id(&a)?)).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let person = create(&api, json!({"kind": "individual", "name": "褚十二"})).await?;
    let pid = id(&person)?;
    let (s, e) =
        api.post(&format!("/api/v1/customers/{pid}/contacts"), &json!({"name": "某人", "role": "other"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&e, "contact", "not_for_kind"), "{s} {e}");

    // Travel intentions.
    let (s, i) = api
        .post(
            &format!("/api/v1/customers/{pid}/intentions"),
            &json!({"destination": "日本", "period": "2027年4月赏樱", "budget": "24000", "party_size": 2}),
        )
        .await?;
    ensure!(
        s == StatusCode::CREATED && i["budget"] == "24000.00" && i["party_size"] == 2 && i["status"] == "open",
        "{s} {i}"
    );
    let iid = id(&i)?;
    let (s, b) = api
        .patch(&format!("/api/v1/customers/{pid}/intentions/{iid}"), &json!({"status": "booked", "version": 1}))
        .await?;
    ensure!(s == StatusCode::OK && b["status"] == "booked" && b["version"] == 2, "{s} {b}");
    let (s, b) = api
        .patch(&format!("/api/v1/customers/{pid}/intentions/{iid}"), &json!({"status": "dropped", "version": 1}))
        .await?;
    ensure!(s == StatusCode::CONFLICT, "{s} {b}");
    let (s, b) = api
        .post(
            &format!("/api/v1/customers/{pid}/intentions"),
            &json!({"destination": "", "budget": "abc", "party_size": 0}),
        )
        .await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY
            && has_field(&b, "destination", "required")
            && has_field(&b, "budget", "invalid_money")
            && has_field(&b, "party_size", "out_of_range"),
        "{b}"
    );

    // The 360° page shows them and its forms work.
    let (_, mut page) = browser_as(&app, "desk", "admin", "zh-CN").await?;
    page.get(&format!("/customers/{oid}")).await?;
    let (s, _) = page
        .post_form(
            &format!("/customers/{oid}/contacts"),
            &[("name", "顾晓婷"), ("role", "secretary"), ("mobile", "13912340003")],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (s, html) = page.get(&format!("/customers/{oid}")).await?;
    ensure!(s == StatusCode::OK && html.contains("顾晓婷") && html.contains("秘书") && html.contains("吕志远"), "{s}");
    let secretary = {
        let (_, list) = api.get(&format!("/api/v1/customers/{oid}/contacts")).await?;
        list["items"]
            .as_array()
            .context("items")?
            .iter()
            .find(|c| c["name"] == "顾晓婷")
            .and_then(|c| c["id"].as_i64())
            .context("contact")?
    };
    let (s, _) = page.post_form(&format!("/customers/{oid}/contacts/{secretary}/primary"), &[]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, list) = api.get(&format!("/api/v1/customers/{oid}/contacts")).await?;
    ensure!(list["items"][0]["name"] == "顾晓婷" && list["items"][0]["is_primary"] == true, "{list}");
    let (s, html) = page
        .post_form(&format!("/customers/{oid}/contacts"), &[("name", "某"), ("role", "other"), ("mobile", "12")])
        .await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("手机号码应为") && html.contains("value=\"某\""),
        "{s}"
    );
    let (s, _) = page
        .post_form(
            &format!("/customers/{pid}/intentions"),
            &[("destination", "云南"), ("budget", "8000"), ("party_size", "3")],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = page.get(&format!("/customers/{pid}")).await?;
    ensure!(html.contains("云南") && html.contains("¥8000.00") && html.contains("日本"), "intentions on the page");
    let (s, _) = page
        .post_form(&format!("/customers/{pid}/intentions/{iid}/status"), &[("status", "dropped"), ("version", "2")])
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    Ok(())
}

async fn duplicates(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let first = create(
        &api,
        json!({"kind": "individual", "name": "王芳", "mobile": "13812340000", "email": "wang.fang@example.cn"}),
    )
    .await?;
    let (s, b) = api
        .post("/api/v1/customers", &json!({"kind": "individual", "name": "王小芳", "mobile": "138 1234 0000"}))
        .await?;
    ensure!(s == StatusCode::CONFLICT && b["error"]["code"] == "likely_duplicate", "{s} {b}");
    let cands = b["error"]["candidates"].as_array().context("candidates")?;
    ensure!(cands.len() == 1 && cands[0]["id"] == first["id"] && cands[0]["reasons"][0] == "same_mobile", "{b}");
    let (s, b) = api
        .post(
            "/api/v1/customers",
            &json!({"kind": "individual", "name": "王小芳", "mobile": "13812340000", "confirm_duplicate": true}),
        )
        .await?;
    ensure!(s == StatusCode::CREATED, "saved anyway: {s} {b}");
    // The form shows them with links and asks.
    let (_, mut page) = browser_as(&app, "desk", "admin", "zh-CN").await?;
    page.get("/customers/new").await?;
    let form = [("kind", "individual"), ("name", "王芳芳"), ("email", "wang.fang@example.cn")];
    let (s, html) = page.post_form("/customers", &form).await?;
    ensure!(
        s == StatusCode::CONFLICT
            && html.contains("id=\"duplicates\"")
            && html.contains(&format!("/customers/{}", id(&first)?)),
        "{s}"
    );
    ensure!(
        html.contains("confirm_duplicate") && html.contains("value=\"王芳芳\""),
        "save-anyway button with the values kept"
    );
    let mut confirmed = form.to_vec();
    confirmed.push(("confirm_duplicate", "1"));
    let (s, _) = page.post_form("/customers", &confirmed).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    Ok(())
}

async fn owner_choice(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let (lina, lina_api) = user(&app, "lina", "sales", None).await?;
    let (other, _) = user(&app, "zhangwei", "sales", None).await?;
    let (s, b) =
        lina_api.post("/api/v1/customers", &json!({"kind": "individual", "name": "给别人", "owner_id": other})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "owner_id", "not_allowed"), "{s} {b}");
    let mine = create(&lina_api, json!({"kind": "individual", "name": "自己的"})).await?;
    ensure!(mine["owner_id"] == lina, "{mine}");
    let (s, b) =
        lina_api.patch(&format!("/api/v1/customers/{}", id(&mine)?), &json!({"version": 1, "owner_id": other})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "owner_id", "not_allowed"), "{s} {b}");
    let given = create(&api, json!({"kind": "individual", "name": "分配的", "owner_id": other})).await?;
    ensure!(given["owner_id"] == other, "{given}");
    let (s, b) = api.post("/api/v1/customers", &json!({"kind": "individual", "name": "x", "owner_id": 99999})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "owner_id", "not_found"), "{s} {b}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Pages

async fn pages(app: TestApp) -> Result<()> {
    let (_, mut zh) = browser_as(&app, "chenjing", "admin", "zh-CN").await?;
    let (s, html) = zh.get("/customers").await?;
    ensure!(s == StatusCode::OK && html.contains("客户档案") && html.contains("新建客户"), "{s}");
    for (kind, marker) in [("individual", "身份证号"), ("organization", "行业"), ("partner", "同业类型")] {
        let (s, html) = zh.get(&format!("/customers/new?kind={kind}")).await?;
        ensure!(s == StatusCode::OK && html.contains(marker), "{kind}: {s}");
        if kind != "individual" {
            ensure!(
                !html.contains("name=\"id_card\"") && !html.contains("name=\"employer\""),
                "{kind} has no personal fields"
            );
        }
    }
    let (s, _) = zh.get("/customers/new?kind=robot").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    // Create through the form; problems come back on the form in Chinese.
    let (s, html) = zh
        .post_form(
            "/customers",
            &[("kind", "individual"), ("name", "欧阳娜娜"), ("mobile", "12345"), ("birthday", "2099-01-01")],
        )
        .await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("手机号码应为") && html.contains("不能晚于今天"),
        "{s}"
    );
    ensure!(html.contains("value=\"欧阳娜娜\""), "typed values stay");
    let (s, _) = zh
        .post_form(
            "/customers",
            &[
                ("kind", "individual"),
                ("name", "欧阳娜娜"),
                ("mobile", "13512345678"),
                ("gender", "female"),
                ("birthday", "1992年3月8日"),
                ("tags", "VIP，亲子"),
                ("consent_wechat", "1"),
                ("source", "website"),
                ("room_pref", "无烟房"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let location = zh.last_location().context("redirect")?.to_string();
    let (s, html) = zh.get(&location).await?;
    ensure!(
        s == StatusCode::OK && html.contains("欧阳娜娜") && html.contains("客户时间线") && html.contains("1992-03-08"),
        "{s}"
    );
    ensure!(html.contains("无烟房") && html.contains("VIP") && html.contains("网站"), "profile with labels");
    let cid: i64 = location.trim_start_matches("/customers/").split('?').next().context("id")?.parse()?;
    let (s, html) = zh.get(&format!("/customers/{cid}/edit")).await?;
    ensure!(
        s == StatusCode::OK && html.contains("value=\"13512345678\"") && html.contains("name=\"version\" value=\"1\""),
        "{s}"
    );
    let (s, _) = zh
        .post_form(
            &format!("/customers/{cid}"),
            &[("version", "1"), ("name", "欧阳娜娜"), ("mobile", "13512345679"), ("consent_sms", "1")],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = zh.get(&format!("/customers/{cid}")).await?;
    ensure!(html.contains("13512345679") && !html.contains("无烟房"), "an edit form sends every field");
    let (s, html) = zh.get("/customers?q=oynn").await?;
    ensure!(s == StatusCode::OK && html.contains("欧阳娜娜"), "found by initials");
    let (_, html) = zh.get("/").await?;
    ensure!(html.contains("我可查看的客户") && html.contains("href=\"/customers\""), "dashboard card and navigation");
    // English.
    let (_, mut en) = browser_as(&app, "emily", "admin", "en").await?;
    let (s, html) = en.get("/customers").await?;
    ensure!(
        s == StatusCode::OK
            && html.contains("Customers")
            && html.contains("lang=\"en\"")
            && html.contains("New customer"),
        "{s}"
    );
    let (_, html) = en.get(&format!("/customers/{cid}")).await?;
    ensure!(
        html.contains("Timeline") && html.contains("Record an interaction") && html.contains("Marketing consent"),
        "English 360° page"
    );
    let (_, html) = en.get("/customers/new?kind=partner").await?;
    ensure!(html.contains("Partner type") && html.contains("Ground handler"), "English form");
    let (s, html) = en.post_form("/customers", &[("kind", "individual"), ("name", ""), ("email", "x@")]).await?;
    ensure!(
        s == StatusCode::UNPROCESSABLE_ENTITY
            && html.contains("name is required")
            && html.contains("not an e-mail address"),
        "{s}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Demo data

async fn demo_customers(app: TestApp) -> Result<()> {
    let loaded = keyuan::demo::fill(&app.store).await?;
    ensure!(loaded.is_some(), "demo loaded");
    let admin = app.api_as("admin", keyuan::demo::DEMO_PASSWORD).await?;
    let (_, all) = admin.get("/api/v1/customers?per_page=200").await?;
    let total = all["total"].as_i64().context("total")?;
    ensure!((70..=80).contains(&total), "about 60 individuals, 8 organizations, 5 partners: {total}");
    for kind in ["individual", "organization", "partner"] {
        let (_, l) = admin.get(&format!("/api/v1/customers?kind={kind}&per_page=1")).await?;
        ensure!(l["total"].as_i64().is_some_and(|n| n > 0), "{kind}: {l}");
    }
    let lina = app.api_as("lina", keyuan::demo::DEMO_PASSWORD).await?;
    let (_, mine) = lina.get("/api/v1/customers?per_page=200").await?;
    let items = mine["items"].as_array().context("items")?;
    ensure!(items.len() >= 10 && items.iter().all(|c| c["owner_name"] == "李娜"), "lina sees her own: {}", items.len());
    // ID numbers in the demo pass the checks; reveal one.
    let with_id = all["items"]
        .as_array()
        .context("items")?
        .iter()
        .find(|c| c["has_id_card"] == true)
        .context("a demo ID card")?;
    let (s, v) = admin.post(&format!("/api/v1/customers/{}/reveal?doc=id_card", id(with_id)?), &json!({})).await?;
    let number = v["value"].as_str().context("value")?.to_string();
    ensure!(
        s == StatusCode::OK
            && domain::customer::IdCardNo::parse("id", &number, NaiveDate::from_ymd_opt(2100, 1, 1).unwrap()).is_ok(),
        "{v}"
    );
    // Organizations have contacts; interactions come from several departments.
    let org = all["items"]
        .as_array()
        .context("items")?
        .iter()
        .find(|c| c["kind"] == "organization")
        .context("an organization")?;
    let (_, contacts) = admin.get(&format!("/api/v1/customers/{}/contacts", id(org)?)).await?;
    ensure!(contacts["items"].as_array().is_some_and(|a| !a.is_empty()), "{contacts}");
    let departments: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT department FROM interactions").fetch_all(app.store.pool()).await?;
    ensure!(departments.len() >= 4, "{departments:?}");

    // A year of business: departures every month, orders on them and beside
    // them, receipts, refunds and some balances still open.
    let pool = app.store.pool();
    let months: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT SUBSTR(order_date, 1, 7)) FROM orders").fetch_one(pool).await?;
    ensure!(months >= 12, "orders in {months} months");
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(pool).await?;
    ensure!(orders >= 300, "{orders} orders");
    let kinds: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT product_type) FROM orders").fetch_one(pool).await?;
    ensure!(kinds >= 6, "{kinds} product types");
    // Seats sold are exactly the travellers of live orders.
    let wrong: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM departures d WHERE d.booked <> (SELECT COUNT(*) FROM order_travellers t \
         JOIN orders o ON o.id = t.order_id WHERE t.departure_id = d.id AND o.status <> 'cancelled')",
    )
    .fetch_one(pool)
    .await?;
    ensure!(wrong == 0, "{wrong} departures with a wrong seat count");
    let future: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM departures WHERE status IN ('open', 'full')").fetch_one(pool).await?;
    ensure!(future >= 5, "{future} departures on sale");
    // Money adds up: no order received more than it costs, some still owe.
    let (over, owing): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN paid > amount THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN paid < amount AND status = 'completed' THEN 1 ELSE 0 END), 0) FROM \
         (SELECT o.amount, o.status, COALESCE(SUM(CASE WHEN r.kind = 'receipt' THEN r.amount ELSE -r.amount END), 0) AS paid \
          FROM orders o LEFT JOIN receipts r ON r.order_id = o.id GROUP BY o.id, o.amount, o.status) AS b",
    )
    .fetch_one(pool)
    .await?;
    ensure!(over == 0 && owing > 0, "overpaid {over}, owing {owing}");
    // Opportunities being negotiated have a quote in two versions, sent.
    let (quotes, versions): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(current_version), 0) FROM quotes WHERE status = 'sent'")
            .fetch_one(pool)
            .await?;
    ensure!(quotes > 0 && versions == 2 * quotes, "{quotes} quotes, {versions} versions");
    Ok(())
}

// ---------------------------------------------------------------------------
// Browser

async fn browser_create_and_find(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("chenjing", "admin", None).await?;
    let driver = start_driver().await?;
    let profile = app.db.scratch_dir().join("chromium-profile-customers");
    let c = browser(&driver, &profile).await?;
    let result = async {
        c.goto(&format!("{}/login", app.base)).await?;
        c.find(Locator::Css("input[name=username]")).await?.send_keys("chenjing").await?;
        c.find(Locator::Css("input[name=password]")).await?.send_keys(&pw).await?;
        c.find(Locator::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
        text_of(&c, "main h1").await?;
        // The navigation leads to the archive, and on to the form.
        c.goto(&format!("{}/customers", app.base)).await?;
        ensure!(text_of(&c, "main h1").await? == "客户档案", "the list");
        c.find(Locator::Css("a[href='/customers/new?kind=individual']")).await?.click().await?;
        let form = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#customer-form")).await?;
        form.find(Locator::Css("input[name=name]")).await?.send_keys("欧阳娜娜").await?;
        form.find(Locator::Css("input[name=mobile]")).await?.send_keys("13566668888").await?;
        form.find(Locator::Css("input[name=city]")).await?.send_keys("杭州").await?;
        form.find(Locator::Css("#customer-form > div.actions button[type=submit]")).await?.click().await?;
        let name = text_of(&c, "#customer-name").await?;
        ensure!(name == "欧阳娜娜", "the 360° page: {name}");
        // Find it in the list by its pinyin initials.
        c.goto(&format!("{}/customers", app.base)).await?;
        let search = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#customer-filters input[name=q]"))
            .await?;
        search.send_keys("oynn").await?;
        c.find(Locator::Css("#customer-filters button[type=submit]")).await?.click().await?;
        let first = text_of(&c, "#customers tbody tr td:nth-child(2)").await?;
        ensure!(first == "欧阳娜娜", "found by initials: {first}");
        let url = c.current_url().await?;
        ensure!(url.query().is_some_and(|q| q.contains("q=oynn")), "{url}");
        Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

/// The timeline reads the business records of a customer, whoever made
/// them: here written straight into their tables, as an import would.
async fn business_on_the_timeline(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let c = create(&api, json!({"kind": "individual", "name": "钱七"})).await?;
    let cid = c["id"].as_i64().context("id")?;
    let friend = create(&api, json!({"kind": "individual", "name": "孙八"})).await?;
    let fid = friend["id"].as_i64().context("id")?;
    let owner: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'boss'").fetch_one(app.store.pool()).await?;
    let pool = app.store.pool();
    sqlx::query(
        "INSERT INTO opportunities (customer_id, title, stage, expected_value, close_date, owner_id, created_at, updated_at) \
         VALUES ($1, '三亚亲子游', 'quoted', 1200000, '2026-12-20', $2, 1000, 1000)",
    )
    .bind(cid)
    .bind(owner)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO quotes (number, customer_id, title, status, current_version, total, owner_id, created_at, updated_at) \
         VALUES ('Q2026-000001', $1, '三亚五日', 'sent', 2, 1180000, $2, 2000, 2000)",
    )
    .bind(cid)
    .bind(owner)
    .execute(pool)
    .await?;
    // An order imported from the old system happened on its order date.
    let order: i64 = sqlx::query_scalar(
        "INSERT INTO orders (order_no, customer_id, product_type, destination, order_date, travel_date, amount, status, \
         owner_id, imported, created_at, updated_at) VALUES ('D2019-000007', $1, 'international', '曼谷', '2019-05-01', \
         '2019-06-01', 880000, 'completed', $2, 1, 9000000000000, 9000000000000) RETURNING id",
    )
    .bind(cid)
    .bind(owner)
    .fetch_one(pool)
    .await?;
    sqlx::query(
        "INSERT INTO receipts (receipt_no, order_id, customer_id, kind, method, amount, received_on, created_by, \
         created_at, updated_at) VALUES ('R2026-000001', $1, $2, 'receipt', 'wechat_pay', 300000, '2026-11-30', $3, 3000, 3000)",
    )
    .bind(order)
    .bind(cid)
    .bind(owner)
    .execute(pool)
    .await?;
    // 孙八 travels on 钱七's order.
    sqlx::query(
        "INSERT INTO order_travellers (order_id, customer_id, created_at, updated_at) VALUES ($1, $2, 3000, 3000)",
    )
    .bind(order)
    .bind(fid)
    .execute(pool)
    .await?;

    let (s, t) = api.get(&format!("/api/v1/customers/{cid}/timeline")).await?;
    ensure!(s == StatusCode::OK, "{s} {t}");
    let items = t["items"].as_array().context("items")?;
    let find = |kind: &str| items.iter().find(|x| x["kind"] == kind).cloned();
    let o = find("order").context("an order entry")?;
    ensure!(o["title"].as_str().is_some_and(|x| x.contains("D2019-000007") && x.contains("曼谷")), "{o}");
    ensure!(o["detail"].as_str().is_some_and(|d| d.contains("8800.00") && d.contains("2019-05-01")), "{o}");
    ensure!(
        o["at"].as_str().is_some_and(|a| a.starts_with("2019-04-30T16:00:00") || a.starts_with("2019-05-01")),
        "{o}"
    );
    let r = find("receipt").context("a receipt entry")?;
    ensure!(r["detail"].as_str().is_some_and(|d| d.contains("3000.00") && d.contains("wechat_pay")), "{r}");
    let q = find("quote").context("a quote entry")?;
    ensure!(
        q["title"].as_str().is_some_and(|x| x.contains("Q2026-000001"))
            && q["detail"].as_str().is_some_and(|d| d.contains("v2")),
        "{q}"
    );
    let op = find("opportunity").context("an opportunity entry")?;
    ensure!(op["title"] == "三亚亲子游", "{op}");
    let (_, only) = api.get(&format!("/api/v1/customers/{cid}/timeline?kind=order")).await?;
    ensure!(only["items"].as_array().is_some_and(|a| a.len() == 1 && a[0]["kind"] == "order"), "{only}");
    // The traveller sees the trip too.
    let (_, theirs) = api.get(&format!("/api/v1/customers/{fid}/timeline?kind=order")).await?;
    ensure!(
        theirs["items"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["detail"].as_str().is_some_and(|d| d.contains("traveller"))),
        "{theirs}"
    );
    // The page offers the new filters in Chinese.
    let (_, mut page) = browser_as(&app, "desk2", "admin", "zh-CN").await?;
    let (s, html) = page.get(&format!("/customers/{cid}?kind=receipt")).await?;
    ensure!(s == StatusCode::OK && html.contains("R2026-000001") && !html.contains("曼谷"), "{s}");
    ensure!(html.contains("收付款") && html.contains("商机"), "filter labels");
    // The full personal-data export holds the same business records.
    let (s, all) = api.get(&format!("/api/v1/customers/{cid}/personal-data")).await?;
    ensure!(s == StatusCode::OK, "{s} {all}");
    ensure!(
        all["orders"][0]["order_no"] == "D2019-000007" && all["orders"][0]["amount"] == 880000,
        "{}",
        all["orders"]
    );
    ensure!(all["receipts"][0]["receipt_no"] == "R2026-000001", "{}", all["receipts"]);
    ensure!(all["quotes"][0]["number"] == "Q2026-000001" && all["opportunities"][0]["title"] == "三亚亲子游", "{all}");
    let (_, theirs) = api.get(&format!("/api/v1/customers/{fid}/personal-data")).await?;
    ensure!(theirs["trips_as_traveller"][0]["destination"] == "曼谷", "{}", theirs["trips_as_traveller"]);
    Ok(())
}
