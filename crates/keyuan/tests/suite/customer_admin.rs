//! Customer administration: likely duplicates and merging, reassigning
//! owners (one, a selection, all of a person, spread across a team),
//! personal-data rights (full export, erasure, consent for marketing) and
//! the configuration of required and custom fields; through the API, the
//! pages and the store, with the visibility rules of each role.

use crate::harness::{story, Api, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use domain::access::Scope;
use domain::customer::ConsentChannel;
use domain::ids::{CustomerId, TeamId, UserId};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::BTreeMap;
use store::customer_dupes::{self, Probe};
use store::customers::{self, Consent, ContactDraft, Customer, Draft, IntentionDraft, InteractionDraft, Sealed};
use store::visibility::Visibility;
use store::{Actor, Store};

pub fn stories() -> Vec<Story> {
    vec![
        story("likely_duplicates_by_each_reason_and_only_within_visibility", likely_duplicates),
        story("duplicate_pairs_are_listed_within_visibility", duplicate_pairs),
        story("merge_moves_everything_fills_gaps_and_explains_itself", merge_through_the_api),
        story("merge_through_the_pages", merge_through_the_pages),
        story("reassign_one_a_selection_a_person_and_spread_across_a_team", reassign),
        story("reassign_is_for_managers_within_their_team", reassign_access),
        story("reassign_page_moves_everyone_of_a_leaving_person", reassign_page),
        story("personal_data_export_holds_everything_and_is_audited", personal_data_export),
        story("erasure_rejected_changes_nothing_but_is_logged", erasure_rejected),
        story("erasure_anonymises_keeps_the_record_and_logs_the_decision", erasure_approved),
        story("privacy_pages_record_and_decide_requests", privacy_pages),
        story("marketing_only_with_consent_and_never_to_erased_or_merged", marketing_consent),
        story("field_configuration_through_the_api_is_checked_and_audited", field_configuration),
        story("configured_fields_are_enforced_when_customers_are_saved", configured_fields_enforced),
        story("field_configuration_page_and_who_may_use_it", field_configuration_page),
        story("the_customer_page_links_to_what_the_person_may_do", customer_page_links),
        story("the_search_index_follows_edits_merges_and_erasure_and_is_rebuilt", search_index),
    ]
}

async fn customer_page_links(app: TestApp) -> Result<()> {
    let (sales_id, mut sales) = browser_as(&app, "lina", "sales", None).await?;
    let (_, mut boss) = browser_as(&app, "chenjing", "admin", None).await?;
    let c = put(&app.store, &draft("王芳", sales_id)).await?;
    let page = format!("/customers/{}", c.id.0);
    let (status, html) = boss.get(&page).await?;
    ensure!(status == StatusCode::OK, "{status}");
    for href in [
        format!("/customers/{}/privacy", c.id.0),
        "/customers/duplicates".to_string(),
        "/customers/reassign?".to_string(),
    ] {
        ensure!(html.contains(&href), "an administrator sees a link to {href}");
    }
    let (status, html) = sales.get(&page).await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(
        !html.contains("/privacy\"")
            && !html.contains("/customers/duplicates")
            && !html.contains("/customers/reassign"),
        "a salesperson sees no links she may not follow"
    );
    // The list links to import for those who may write and to exports
    // (keeping the list's filters) for those who may export.
    let (_, html) = boss.get("/customers?q=%E7%8E%8B").await?;
    ensure!(
        html.contains("/customers/import") && html.contains("/customers/export?format=xlsx&q=%E7%8E%8B"),
        "admin list links"
    );
    let (_, html) = sales.get("/customers").await?;
    ensure!(html.contains("/customers/import") && !html.contains("/customers/export"), "sales may import, not export");
    Ok(())
}

// ---------------------------------------------------------------------------
// Helpers

fn system() -> Actor {
    Actor::system("test")
}

/// Everything-visible, as an administrator sees it.
fn all(user: i64) -> Visibility {
    Visibility { scope: Scope::All, user_id: UserId(user), teams: Vec::new() }
}

async fn admin(app: &TestApp) -> Result<(i64, Api)> {
    let (id, pw) = app.create_user("boss", "admin", None).await?;
    Ok((id, app.api_as("boss", &pw).await?))
}

async fn user(app: &TestApp, username: &str, role: &str, team: Option<i64>) -> Result<(i64, Api)> {
    let (id, pw) = app.create_user(username, role, team).await?;
    Ok((id, app.api_as(username, &pw).await?))
}

/// A minimal valid individual owned by `owner`.
fn draft(name: &str, owner: i64) -> Draft {
    Draft::new("individual", name, UserId(owner))
}

/// A valid ID card number (the check digit found by the domain's own check).
fn id_number(first17: &str) -> String {
    let far = NaiveDate::from_ymd_opt(2100, 1, 1).expect("date");
    "0123456789X"
        .chars()
        .map(|c| format!("{first17}{c}"))
        .find(|n| domain::customer::IdCardNo::parse("id_card", n, far).is_ok())
        .expect("a check digit")
}

fn with_id_card(mut d: Draft, number: &str) -> Draft {
    let far = NaiveDate::from_ymd_opt(2100, 1, 1).expect("date");
    let id = domain::customer::IdCardNo::parse("id_card", number, far).expect("valid id");
    d.id_card_masked = Some(id.masked());
    d.id_card = Sealed::Set(id.as_str().to_string());
    d
}

fn with_passport(mut d: Draft, number: &str) -> Draft {
    let p = domain::customer::PassportNo::parse("passport", number).expect("valid passport");
    d.passport_masked = Some(p.masked());
    d.passport = Sealed::Set(p.as_str().to_string());
    d.passport_expiry = Some("2031-05-01".into());
    d
}

async fn put(store: &Store, d: &Draft) -> Result<Customer> {
    let mut tx = store.begin().await?;
    let c = customers::create(&mut tx, store, &system(), d, None).await?;
    tx.commit().await?;
    Ok(c)
}

async fn get(store: &Store, id: CustomerId) -> Result<Customer> {
    Ok(customers::get(store, &all(0), id).await?)
}

async fn interaction(store: &Store, c: &Customer, summary: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    let d = InteractionDraft {
        channel: "phone".into(),
        direction: "inbound".into(),
        department: "sales".into(),
        summary: summary.into(),
        occurred_at: store::now_ms(),
        staff_id: None,
    };
    customers::add_interaction(&mut tx, &system(), c, &d).await?;
    tx.commit().await?;
    Ok(())
}

async fn contact(store: &Store, c: &Customer, name: &str, mobile: &str, primary: bool) -> Result<()> {
    let mut tx = store.begin().await?;
    let d = ContactDraft {
        name: name.into(),
        role: "secretary".into(),
        mobile: Some(mobile.into()),
        email: Some(format!("{mobile}@example.cn")),
        is_primary: primary,
        ..Default::default()
    };
    customers::add_contact(&mut tx, &system(), c, &d).await?;
    tx.commit().await?;
    Ok(())
}

async fn intention(store: &Store, c: &Customer, destination: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    let d = IntentionDraft {
        destination: destination.into(),
        period: Some("2027 春节".into()),
        budget_fen: Some(1_280_000),
        party_size: Some(3),
        status: "open".into(),
        notes: Some("带老人".into()),
    };
    customers::add_intention(&mut tx, &system(), c, &d).await?;
    tx.commit().await?;
    Ok(())
}

async fn scalar(store: &Store, sql: &str, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_one(store.pool()).await?)
}

async fn count(store: &Store, table: &str) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await?)
}

/// How many audit rows about customer `id` have a summary containing `text`.
async fn audit_rows(store: &Store, id: i64, text: &str) -> Result<i64> {
    let rows = sqlx::query("SELECT summary FROM audit_log WHERE entity = 'customer' AND entity_id = $1")
        .bind(id.to_string())
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().filter(|r| r.get::<String, _>(0).contains(text)).count() as i64)
}

fn has_field(body: &Value, field: &str, code: &str) -> bool {
    body["error"]["fields"].as_array().is_some_and(|a| a.iter().any(|f| f["field"] == field && f["code"] == code))
}

fn reasons_for(list: &[customer_dupes::Candidate], id: CustomerId) -> Vec<&'static str> {
    list.iter().find(|c| c.customer.id == id).map(|c| c.reasons.clone()).unwrap_or_default()
}

async fn browser_as(app: &TestApp, username: &str, role: &str, team: Option<i64>) -> Result<(i64, Browser)> {
    let (id, pw) = app.create_user(username, role, team).await?;
    Ok((id, app.browser(username, &pw).await?))
}

// ---------------------------------------------------------------------------
// Duplicates

async fn likely_duplicates(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, _) = admin(&app).await?;
    let east = app.team("华东", None).await?;
    let west = app.team("西南", None).await?;
    let (manager, _) = user(&app, "mgr_east", "manager", Some(east)).await?;
    app.set_manager(east, manager).await?;
    let (sales_east, _) = user(&app, "sales_east", "sales", Some(east)).await?;
    let (sales_west, _) = user(&app, "sales_west", "sales", Some(west)).await?;

    let id_card = id_number("11010519900815123");
    let mut d = with_passport(with_id_card(draft("张三", sales_east), &id_card), "E12345678");
    d.mobile = Some("13812345678".into());
    d.email = Some("zhang.san@example.cn".into());
    d.employer = Some("ABC 旅行社".into());
    let zhang = put(store, &d).await?;
    let everyone = all(boss);
    let probe = |name: &str| Probe { name: name.into(), ..Default::default() };

    let found =
        customer_dupes::likely(store, &everyone, &Probe { mobile: Some("13812345678".into()), ..probe("李四") })
            .await?;
    ensure!(reasons_for(&found, zhang.id) == vec!["same_mobile"], "{found:?}");
    let found = customer_dupes::likely(
        store,
        &everyone,
        &Probe { email: Some("Zhang.San@example.cn".into()), ..probe("李四") },
    )
    .await?;
    ensure!(reasons_for(&found, zhang.id) == vec!["same_email"], "e-mail case does not hide a duplicate: {found:?}");
    let found =
        customer_dupes::likely(store, &everyone, &Probe { id_card: Some(id_card.clone()), ..probe("李四") }).await?;
    ensure!(reasons_for(&found, zhang.id) == vec!["same_id_card"], "{found:?}");
    let found =
        customer_dupes::likely(store, &everyone, &Probe { passport: Some("E12345678".into()), ..probe("李四") })
            .await?;
    ensure!(reasons_for(&found, zhang.id) == vec!["same_passport"], "{found:?}");
    for similar in ["13812345679", "15900005678"] {
        let found =
            customer_dupes::likely(store, &everyone, &Probe { mobile: Some(similar.into()), ..probe("张三") }).await?;
        ensure!(reasons_for(&found, zhang.id) == vec!["same_name_similar_phone"], "{similar}: {found:?}");
    }
    let found =
        customer_dupes::likely(store, &everyone, &Probe { employer: Some("abc旅行社".into()), ..probe("张三") })
            .await?;
    ensure!(reasons_for(&found, zhang.id) == vec!["same_name_same_company"], "{found:?}");
    // Everything at once, strongest first.
    let full = Probe {
        mobile: Some("13812345678".into()),
        email: Some("zhang.san@example.cn".into()),
        id_card: Some(id_card.clone()),
        passport: Some("E12345678".into()),
        employer: Some("ABC 旅行社".into()),
        ..probe("张三")
    };
    let found = customer_dupes::likely(store, &everyone, &full).await?;
    let reasons = reasons_for(&found, zhang.id);
    ensure!(reasons.len() == 5 && reasons[..2].contains(&"same_id_card"), "{reasons:?}");
    ensure!(
        reasons.contains(&"same_name_same_company") && !reasons.contains(&"same_name_similar_phone"),
        "{reasons:?}"
    );
    // A namesake with nothing else in common is not a duplicate.
    let namesake =
        Probe { mobile: Some("13700001111".into()), employer: Some("别的公司".into()), ..probe("张三") };
    ensure!(customer_dupes::likely(store, &everyone, &namesake).await?.is_empty(), "namesakes are not duplicates");
    // The customer being edited is not its own duplicate.
    let editing = Probe { exclude: Some(zhang.id), ..full.clone() };
    ensure!(customer_dupes::likely(store, &everyone, &editing).await?.is_empty(), "excluded");
    // Visibility: the west salesperson may not learn that 张三 exists; the east manager may.
    let west_vis = Visibility::resolve(store, UserId(sales_west), Some(TeamId(west)), Scope::Own).await?;
    ensure!(customer_dupes::likely(store, &west_vis, &full).await?.is_empty(), "not across visibility");
    let east_vis = Visibility::resolve(store, UserId(manager), Some(TeamId(east)), Scope::Team).await?;
    ensure!(!customer_dupes::likely(store, &east_vis, &full).await?.is_empty(), "the manager sees the team's");
    // Stored customers: the same, by their own stored values.
    let mut twin = draft("张三", sales_east);
    twin.mobile = Some("13812345679".into());
    let twin = put(store, &twin).await?;
    let of = customer_dupes::of_customer(store, &everyone, twin.id).await?;
    ensure!(reasons_for(&of, zhang.id) == vec!["same_name_similar_phone"], "{of:?}");
    Ok(())
}

async fn duplicate_pairs(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (_, boss_api) = admin(&app).await?;
    let east = app.team("华东", None).await?;
    let west = app.team("西南", None).await?;
    let (manager, manager_api) = user(&app, "mgr_east", "manager", Some(east)).await?;
    app.set_manager(east, manager).await?;
    let (sales_east, sales_api) = user(&app, "sales_east", "sales", Some(east)).await?;
    let (sales_west, _) = user(&app, "sales_west", "sales", Some(west)).await?;

    let mut a = draft("王芳", sales_east);
    a.mobile = Some("13900000001".into());
    let a = put(store, &a).await?;
    let mut b = draft("王芳", sales_east);
    b.mobile = Some("13900000001".into());
    b.email = Some("wf@example.cn".into());
    let b = put(store, &b).await?;
    let mut c = draft("Wang Fang", sales_west);
    c.mobile = Some("13900000001".into());
    let c = put(store, &c).await?;
    let mut d = draft("赵六", sales_east);
    d.employer = Some("华东电气".into());
    let d = put(store, &d).await?;
    let mut e = draft("赵六", sales_east);
    e.employer = Some("华东电气".into());
    let e = put(store, &e).await?;
    let id_card = id_number("44030619900815123");
    let f = put(store, &with_id_card(draft("钱七", sales_east), &id_card)).await?;
    let g = put(store, &with_id_card(draft("钱 七", sales_east), &id_card)).await?;

    let (status, body) = manager_api.get("/api/v1/customers/duplicates").await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let items = body["items"].as_array().context("items")?;
    let pair = |x: &Customer, y: &Customer| {
        items.iter().find(|p| {
            let (pa, pb) = (p["a"]["id"].as_i64(), p["b"]["id"].as_i64());
            (pa, pb) == (Some(x.id.0), Some(y.id.0)) || (pa, pb) == (Some(y.id.0), Some(x.id.0))
        })
    };
    let ab = pair(&a, &b).context("王芳 twins")?;
    ensure!(ab["reasons"] == json!(["same_mobile"]), "{ab}");
    ensure!(pair(&d, &e).context("赵六 twins")?["reasons"] == json!(["same_name_same_company"]), "{body}");
    ensure!(pair(&f, &g).context("same ID")?["reasons"] == json!(["same_id_card"]), "{body}");
    ensure!(items[0]["reasons"][0] == "same_id_card", "strongest first: {body}");
    ensure!(pair(&a, &c).is_none() && pair(&b, &c).is_none(), "a customer the manager may not see is never shown");
    ensure!(!body.to_string().contains(&id_card), "documents are masked");
    // The administrator sees the west one too.
    let (_, all_pairs) = boss_api.get("/api/v1/customers/duplicates?limit=50").await?;
    let n = all_pairs["items"].as_array().map(Vec::len).unwrap_or(0);
    ensure!(n == items.len() + 2, "two more pairs with the west customer: {all_pairs}");
    let (status, _) = boss_api.get("/api/v1/customers/duplicates?limit=0").await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "limit is checked");
    let (status, _) = sales_api.get("/api/v1/customers/duplicates").await?;
    ensure!(status == StatusCode::FORBIDDEN, "sales may not merge: {status}");
    // Merged customers leave the list.
    let (status, out) = manager_api
        .post(
            &format!("/api/v1/customers/{}/merge", a.id),
            &json!({"duplicate_id": b.id.0, "version": a.version, "duplicate_version": b.version}),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {out}");
    let (_, after) = manager_api.get("/api/v1/customers/duplicates").await?;
    ensure!(!after.to_string().contains(&format!("\"id\":{}", b.id.0)), "{after}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Merge

/// Row totals of every table a merge touches: a merge moves rows, it never
/// adds or removes any.
async fn totals(store: &Store) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for t in ["customers", "interactions", "customer_contacts", "customer_intentions", "pii_requests"] {
        out.push((t, count(store, t).await?));
    }
    Ok(out)
}

async fn merge_through_the_api(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, api) = admin(&app).await?;
    let east = app.team("华东", None).await?;
    let west = app.team("西南", None).await?;
    let (manager, manager_api) = user(&app, "mgr_east", "manager", Some(east)).await?;
    app.set_manager(east, manager).await?;
    let (sales, sales_api) = user(&app, "sales_east", "sales", Some(east)).await?;
    let (sales_west, _) = user(&app, "sales_west", "sales", Some(west)).await?;

    let mut s = draft("王芳", sales);
    s.mobile = Some("13900000001".into());
    s.tags = vec!["VIP".into()];
    let survivor = put(store, &s).await?;
    let id_card = id_number("11010519491231002");
    let mut d = with_id_card(draft("王芳", sales), &id_card);
    d.mobile = Some("13900000002".into());
    d.email = Some("wf@example.cn".into());
    d.birthday = Some("1949-12-31".into());
    d.diet = Some("素食".into());
    d.tags = vec!["亲子".into(), "VIP".into()];
    d.custom.insert("vip_no".into(), json!("V-1"));
    d.consent = Consent { email: true, ..Default::default() };
    let dup = put(store, &d).await?;
    interaction(store, &survivor, "咨询三亚").await?;
    interaction(store, &dup, "报名云南").await?;
    interaction(store, &dup, "回访").await?;
    contact(store, &survivor, "秘书甲", "13700000001", true).await?;
    contact(store, &dup, "秘书乙", "13700000002", true).await?;
    intention(store, &dup, "大理").await?;
    {
        let mut tx = store.begin().await?;
        store::privacy::record_request(
            &mut tx,
            &system(),
            &all(boss),
            dup.id,
            store::privacy::RequestKind::Export,
            "本人",
            "想看看档案",
        )
        .await?;
        tx.commit().await?;
    }
    let dup = get(store, dup.id).await?;
    let survivor = get(store, survivor.id).await?;
    let url = format!("/api/v1/customers/{}/merge", survivor.id);

    // Stale versions: 409 and nothing changes.
    for (v, dv) in [(survivor.version - 1, dup.version), (survivor.version, dup.version + 5)] {
        let (status, body) =
            api.post(&url, &json!({"duplicate_id": dup.id.0, "version": v, "duplicate_version": dv})).await?;
        ensure!(status == StatusCode::CONFLICT, "stale {v}/{dv}: {status} {body}");
        ensure!(get(store, dup.id).await?.merged_into_id.is_none(), "nothing merged");
        ensure!(
            scalar(store, "SELECT COUNT(*) FROM interactions WHERE customer_id = $1", dup.id.0).await? == 2,
            "nothing moved"
        );
    }
    // Who may merge what.
    let (status, _) = sales_api
        .post(&url, &json!({"duplicate_id": dup.id.0, "version": survivor.version, "duplicate_version": dup.version}))
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "sales may not merge: {status}");
    let outsider = put(store, &draft("王芳", sales_west)).await?;
    let (status, _) = manager_api
        .post(
            &url,
            &json!({"duplicate_id": outsider.id.0, "version": survivor.version, "duplicate_version": outsider.version}),
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND, "another team's customer is not found: {status}");
    let (status, body) = api
        .post(
            &url,
            &json!({"duplicate_id": survivor.id.0, "version": survivor.version, "duplicate_version": survivor.version}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "duplicate_id", "same_customer"), "{body}");
    let (status, body) = api
        .post(
            &url,
            &json!({"duplicate_id": dup.id.0, "version": survivor.version, "duplicate_version": dup.version,
                    "choices": {"password": "duplicate"}}),
        )
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "choices.password", "unknown_field"),
        "{body}"
    );
    let (status, _) = api
        .post(
            &url,
            &json!({"duplicate_id": dup.id.0, "version": survivor.version, "duplicate_version": dup.version,
                    "choices": {"diet": "maybe"}}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "a choice is survivor or duplicate");

    // The merge, by the team's manager, taking the duplicate's consent.
    let before = totals(store).await?;
    let (status, out) = manager_api
        .post(
            &url,
            &json!({"duplicate_id": dup.id.0, "version": survivor.version, "duplicate_version": dup.version,
                    "choices": {"consent": "duplicate"}}),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {out}");
    ensure!(out["id"] == survivor.id.0 && out["version"].as_i64() > Some(survivor.version), "{out}");
    ensure!(totals(store).await? == before, "nothing added or lost: {:?} vs {before:?}", totals(store).await?);

    let s = get(store, survivor.id).await?;
    ensure!(s.data.mobile.as_deref() == Some("13900000001"), "the survivor keeps its own mobile");
    ensure!(s.data.mobile2.as_deref() == Some("13900000002"), "the duplicate's mobile is kept as a second number");
    ensure!(s.data.email.as_deref() == Some("wf@example.cn") && s.data.diet.as_deref() == Some("素食"), "gaps filled");
    ensure!(s.data.birthday.as_deref() == Some("1949-12-31") && s.has_id_card, "birthday and ID card filled");
    ensure!(s.data.id_card_masked == dup.data.id_card_masked, "masked form moves with the number");
    let opened = customers::reveal(store, &system(), &all(boss), s.id, customers::Document::IdCard).await?;
    ensure!(opened.as_deref() == Some(id_card.as_str()), "the sealed number itself moved");
    ensure!(s.data.custom.get("vip_no") == Some(&json!("V-1")), "custom values filled: {:?}", s.data.custom);
    ensure!(s.data.consent.email, "consent chosen from the duplicate");
    ensure!(s.data.tags == vec!["VIP".to_string(), "亲子".to_string()], "tags united: {:?}", s.data.tags);
    let id = s.id.0;
    ensure!(
        scalar(store, "SELECT COUNT(*) FROM interactions WHERE customer_id = $1", id).await? == 3,
        "interactions moved"
    );
    ensure!(scalar(store, "SELECT COUNT(*) FROM customer_contacts WHERE customer_id = $1", id).await? == 2, "contacts");
    ensure!(
        scalar(store, "SELECT COUNT(*) FROM customer_contacts WHERE customer_id = $1 AND is_primary = 1", id).await?
            == 1,
        "one primary contact, the survivor's"
    );
    ensure!(
        scalar(store, "SELECT COUNT(*) FROM customer_intentions WHERE customer_id = $1", id).await? == 1,
        "intentions"
    );
    ensure!(scalar(store, "SELECT COUNT(*) FROM pii_requests WHERE customer_id = $1", id).await? == 1, "requests");
    ensure!(
        scalar(store, "SELECT COUNT(*) FROM customer_tags WHERE customer_id = $1", dup.id.0).await? == 0,
        "tags moved"
    );

    // The duplicate stays, marked, and leaves the lists.
    let gone = get(store, dup.id).await?;
    ensure!(gone.merged_into_id == Some(survivor.id) && gone.data.name == "王芳", "kept and marked");
    let f = customers::Filter { q: Some("王芳".into()), page: 1, per_page: 50, ..Default::default() };
    let listed = customers::list(store, &all(boss), &f).await?;
    ensure!(!listed.items.iter().any(|c| c.id == dup.id), "merged customers are hidden from lists");
    let f = customers::Filter { include_merged: true, ..f };
    ensure!(customers::list(store, &all(boss), &f).await?.items.iter().any(|c| c.id == dup.id), "unless asked for");

    // Both audited; the survivor's timeline explains it and shows the duplicate's history.
    ensure!(
        audit_rows(store, survivor.id.0, &format!("{} 王芳 merged into {}", dup.code, survivor.code)).await? == 1,
        "survivor"
    );
    ensure!(audit_rows(store, dup.id.0, "kept as a merged record").await? == 1, "duplicate audited");
    let timeline = customers::timeline(store, survivor.id, &[], 100).await?;
    let titles: Vec<&str> = timeline.iter().map(|t| t.title.as_str()).collect();
    ensure!(titles.iter().any(|t| t.contains("merged into") && t.contains("moved 2 interactions")), "{titles:?}");
    ensure!(
        titles.iter().any(|t| t.contains(&format!("customer {} 王芳", dup.code))),
        "duplicate's creation: {titles:?}"
    );
    ensure!(titles.iter().any(|t| t.contains("travel intention 大理")), "duplicate's history: {titles:?}");
    ensure!(titles.contains(&"报名云南") && titles.contains(&"咨询三亚"), "interactions of both: {titles:?}");

    // Once merged, never again.
    let s = get(store, survivor.id).await?;
    let gone = get(store, dup.id).await?;
    let (status, body) = api
        .post(&url, &json!({"duplicate_id": dup.id.0, "version": s.version, "duplicate_version": gone.version}))
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "duplicate_id", "already_merged"), "{body}");

    // A third record merged into the survivor brings the earlier one along.
    let third = put(store, &draft("王 芳", sales)).await?;
    let (status, body) = api
        .post(
            &format!("/api/v1/customers/{}/merge", third.id),
            &json!({"duplicate_id": survivor.id.0, "version": third.version, "duplicate_version": s.version,
                    "choices": {"name": "duplicate"}}),
        )
        .await?;
    ensure!(status == StatusCode::OK && body["name"] == "王芳", "{status} {body}");
    ensure!(get(store, dup.id).await?.merged_into_id == Some(third.id), "earlier merges point at the live record");
    let timeline = customers::timeline(store, third.id, &["change"], 200).await?;
    ensure!(timeline.iter().any(|t| t.title.contains("travel intention 大理")), "history follows every merge");
    Ok(())
}

async fn merge_through_the_pages(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (_, mut b) = browser_as(&app, "boss", "admin", None).await?;
    let owner = app.create_user("sales01", "sales", None).await?.0;
    let mut x = draft("李娜", owner);
    x.mobile = Some("13600000001".into());
    let x = put(store, &x).await?;
    let mut y = draft("李娜", owner);
    y.mobile = Some("13600000001".into());
    y.email = Some("lina@example.cn".into());
    y.wechat = Some("lina_wx".into());
    let y = put(store, &y).await?;

    let (status, html) = b.get("/customers/duplicates").await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(html.contains(&x.code) && html.contains(&y.code) && html.contains("手机号相同"), "pair listed");
    ensure!(html.contains(&format!("/customers/merge?a={}&amp;b={}", x.id, y.id)), "compare link");
    let (status, html) = b.get(&format!("/customers/merge?a={}&b={}", x.id, y.id)).await?;
    ensure!(status == StatusCode::OK && html.contains("lina@example.cn") && html.contains("合并客户"), "{status}");
    ensure!(html.contains("name=\"choice.email\" value=\"duplicate\" checked"), "empty fields take B's by default");
    let (status, _) = b.get(&format!("/customers/merge?a={}", x.id)).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "both are needed");

    // A stale form shows the page again with 409.
    let stale = [
        ("a", x.id.to_string()),
        ("b", y.id.to_string()),
        ("a_version", (x.version + 3).to_string()),
        ("b_version", y.version.to_string()),
        ("choice.email", "duplicate".into()),
        ("choice.wechat", "survivor".into()),
    ];
    let fields: Vec<(&str, &str)> = stale.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html) = b.post_form("/customers/merge", &fields).await?;
    ensure!(status == StatusCode::CONFLICT && html.contains("已被他人修改"), "{status}");
    ensure!(get(store, y.id).await?.merged_into_id.is_none(), "nothing merged");

    let good = [
        ("a", x.id.to_string()),
        ("b", y.id.to_string()),
        ("a_version", x.version.to_string()),
        ("b_version", y.version.to_string()),
        ("choice.email", "duplicate".into()),
        ("choice.wechat", "survivor".into()),
    ];
    let fields: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = b.post_form("/customers/merge", &fields).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    ensure!(b.last_location() == Some(format!("/customers/{}", x.id).as_str()), "to the survivor");
    let kept = get(store, x.id).await?;
    ensure!(kept.data.email.as_deref() == Some("lina@example.cn") && kept.data.wechat.is_none(), "choices honoured");
    ensure!(get(store, y.id).await?.merged_into_id == Some(x.id), "merged");

    // Without the permission: 403 on every page.
    let (_, mut sales) = browser_as(&app, "sales02", "sales", None).await?;
    for path in ["/customers/duplicates".to_string(), format!("/customers/merge?a={}&b={}", x.id, y.id)] {
        let (status, _) = sales.get(&path).await?;
        ensure!(status == StatusCode::FORBIDDEN, "{path}: {status}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reassign

async fn owners_of(store: &Store, ids: &[CustomerId]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for id in ids {
        out.push(get(store, *id).await?.data.owner_id.0);
    }
    Ok(out)
}

async fn reassign(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (_, boss_api) = admin(&app).await?;
    let east = app.team("华东", None).await?;
    let (manager, api) = user(&app, "mgr_east", "manager", Some(east)).await?;
    app.set_manager(east, manager).await?;
    let (leaving, _) = user(&app, "leaving", "sales", Some(east)).await?;
    let (s2, _) = user(&app, "sales02", "sales", Some(east)).await?;
    let (s3, _) = user(&app, "sales03", "sales", Some(east)).await?;
    let (gone, _) = user(&app, "retired", "sales", Some(east)).await?;
    {
        let u = store::users::get(store, UserId(gone)).await?;
        let mut ch = store::users::Changes::from(&u);
        ch.active = false;
        let mut tx = store.begin().await?;
        store::users::update(&mut tx, &system(), u.id, u.version, &ch).await?;
        tx.commit().await?;
    }
    // Current loads: s3 has one customer already, s2 and the manager none.
    put(store, &draft("老客户", s3)).await?;
    let mut mine = Vec::new();
    for i in 0..9 {
        mine.push(put(store, &draft(&format!("客户{i}"), leaving)).await?.id);
    }
    // The first customer has an open opportunity and a won one.
    for (title, stage) in [("三亚亲子游", "negotiating"), ("去年的云南团", "won")] {
        sqlx::query(
            "INSERT INTO opportunities (customer_id, title, stage, owner_id, team_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, 0)",
        )
        .bind(mine[0].0)
        .bind(title)
        .bind(stage)
        .bind(leaving)
        .bind(east)
        .execute(store.pool())
        .await?;
    }
    let audits_before = count(store, "audit_log").await?;

    // One: its open opportunity follows it, the closed one stays as it was.
    let (status, out) = api.post("/api/v1/customers/reassign", &json!({"ids": [mine[0].0], "to_user_id": s2})).await?;
    ensure!(status == StatusCode::OK && out == json!({"moved": 1}), "{status} {out}");
    ensure!(owners_of(store, &mine[..1]).await? == vec![s2], "moved to s2");
    let opportunity_owners: Vec<(String, i64)> =
        sqlx::query_as("SELECT stage, owner_id FROM opportunities WHERE customer_id = $1 ORDER BY id")
            .bind(mine[0].0)
            .fetch_all(store.pool())
            .await?;
    ensure!(
        opportunity_owners == vec![("negotiating".to_string(), s2), ("won".to_string(), leaving)],
        "the open opportunity follows: {opportunity_owners:?}"
    );
    // A selection.
    let (status, out) =
        api.post("/api/v1/customers/reassign", &json!({"ids": [mine[1].0, mine[2].0], "to_user_id": s3})).await?;
    ensure!(status == StatusCode::OK && out["moved"] == 2, "{status} {out}");
    ensure!(owners_of(store, &mine[1..3]).await? == vec![s3, s3], "moved to s3");
    // Moving to the owner they already have moves nothing.
    let (_, out) = api.post("/api/v1/customers/reassign", &json!({"ids": [mine[1].0], "to_user_id": s3})).await?;
    ensure!(out["moved"] == 0, "{out}");
    // Everyone left of the leaving person, spread across the team: the
    // leaving and the deactivated member receive nothing, the six go two
    // each to the manager, s2 and s3.
    let (status, out) =
        api.post("/api/v1/customers/reassign", &json!({"from_user_id": leaving, "to_team_id": east})).await?;
    ensure!(status == StatusCode::OK && out["moved"] == 6, "{status} {out}");
    let spread = owners_of(store, &mine[3..]).await?;
    for member in [manager, s2, s3] {
        let n = spread.iter().filter(|o| **o == member).count();
        ensure!(n == 2, "even split: {member} got {n} of {spread:?}");
    }
    ensure!(!spread.contains(&leaving) && !spread.contains(&gone), "{spread:?}");
    // Least loaded first: the manager and s2 had fewer than s3, so they got the first two.
    ensure!(spread[0] != s3 && spread[1] != s3, "least loaded first: {spread:?}");
    // All of a person to one person.
    let (status, out) = api.post("/api/v1/customers/reassign", &json!({"from_user_id": s3, "to_user_id": s2})).await?;
    let s3_had = 1 + 2 + 2;
    ensure!(status == StatusCode::OK && out["moved"] == s3_had, "{status} {out}");
    ensure!(scalar(store, "SELECT COUNT(*) FROM customers WHERE owner_id = $1", s3).await? == 0, "s3 has none left");

    // Each move is one audit row (and the opportunity that followed one
    // more) and shows on the customer's timeline.
    let moves = 1 + 2 + 6 + s3_had;
    let audits = count(store, "audit_log").await? - audits_before;
    ensure!(audits == moves + 1, "one audit row per move and one for the opportunity: {audits} for {moves}");
    let followed = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'opportunity' AND summary LIKE '%follows its customer%'",
    )
    .fetch_one(store.pool())
    .await?;
    ensure!(followed == 1, "the opportunity's move is audited: {followed}");
    let timeline = customers::timeline(store, mine[0], &["change"], 20).await?;
    ensure!(timeline.iter().any(|t| t.title.contains("reassigned")), "on the timeline");

    // Bad requests name the field.
    let (status, body) = api.post("/api/v1/customers/reassign", &json!({"to_user_id": s2})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "ids", "required"), "{body}");
    let (status, body) = api.post("/api/v1/customers/reassign", &json!({"ids": [mine[0].0]})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "to_user_id", "required"), "{body}");
    let (status, body) =
        api.post("/api/v1/customers/reassign", &json!({"ids": [mine[0].0], "to_user_id": gone})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "to_user_id", "inactive"), "{body}");
    let empty = app.team("空团队", None).await?;
    let (status, body) =
        api.post("/api/v1/customers/reassign", &json!({"ids": [mine[0].0], "to_team_id": empty})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "to_team_id", "no_members"), "{body}");
    let (status, _) =
        boss_api.post("/api/v1/customers/reassign", &json!({"ids": [mine[0].0], "to_team_id": 9999})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "unknown team");
    Ok(())
}

async fn reassign_access(app: TestApp) -> Result<()> {
    let store = &app.store;
    let east = app.team("华东", None).await?;
    let west = app.team("西南", None).await?;
    let (manager, api) = user(&app, "mgr_east", "manager", Some(east)).await?;
    app.set_manager(east, manager).await?;
    let (s_east, sales_api) = user(&app, "sales_east", "sales", Some(east)).await?;
    let (s_west, _) = user(&app, "sales_west", "sales", Some(west)).await?;
    let ours = put(store, &draft("东部客户", s_east)).await?;
    let theirs = put(store, &draft("西部客户", s_west)).await?;

    let (status, _) =
        sales_api.post("/api/v1/customers/reassign", &json!({"ids": [ours.id.0], "to_user_id": s_east})).await?;
    ensure!(status == StatusCode::FORBIDDEN, "a salesperson may not reassign: {status}");
    // Another team's customer: 404, and nothing moves even alongside a visible one.
    let (status, _) = api
        .post("/api/v1/customers/reassign", &json!({"ids": [ours.id.0, theirs.id.0], "to_user_id": manager}))
        .await?;
    ensure!(status == StatusCode::NOT_FOUND, "{status}");
    ensure!(owners_of(store, &[ours.id, theirs.id]).await? == vec![s_east, s_west], "nothing moved");
    // "All of a person" only reaches the customers the manager may see.
    let (status, out) =
        api.post("/api/v1/customers/reassign", &json!({"from_user_id": s_west, "to_user_id": manager})).await?;
    ensure!(status == StatusCode::OK && out["moved"] == 0, "{status} {out}");
    ensure!(owners_of(store, &[theirs.id]).await? == vec![s_west], "still theirs");
    // One customer from its page.
    let (_, mut b) = browser_as(&app, "mgr2", "manager", Some(east)).await?;
    let (status, _) = b.get("/customers/reassign").await?;
    ensure!(status == StatusCode::OK, "{status}");
    let (status, _) =
        b.post_form(&format!("/customers/{}/reassign", theirs.id), &[("to_user_id", &manager.to_string())]).await?;
    ensure!(status == StatusCode::NOT_FOUND, "{status}");
    let (status, _) =
        b.post_form(&format!("/customers/{}/reassign", ours.id), &[("to_user_id", &manager.to_string())]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    ensure!(b.last_location() == Some(format!("/customers/{}", ours.id).as_str()), "back to the customer");
    ensure!(owners_of(store, &[ours.id]).await? == vec![manager], "moved");
    let (status, _) = b.post_form(&format!("/customers/{}/reassign", ours.id), &[("to_user_id", "")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    Ok(())
}

async fn reassign_page(app: TestApp) -> Result<()> {
    let store = &app.store;
    let east = app.team("华东", None).await?;
    let (_, mut b) = browser_as(&app, "boss", "admin", None).await?;
    let (leaving, _) = user(&app, "leaving", "sales", Some(east)).await?;
    let (heir, _) = user(&app, "heir", "sales", Some(east)).await?;
    let (m1, _) = user(&app, "member1", "sales", Some(east)).await?;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(put(store, &draft(&format!("客户{i}"), leaving)).await?.id);
    }
    let (status, html) = b.get("/customers/reassign").await?;
    ensure!(status == StatusCode::OK && html.contains("转移客户负责人") && html.contains("(4)"), "owner with count");
    // A selection from the list, spread across the team, then back to the list.
    let (status, _) = b
        .post_form(
            "/customers/reassign",
            &[
                ("ids", &ids[0].to_string()),
                ("ids", &ids[1].to_string()),
                ("to", "team"),
                ("to_team_id", &east.to_string()),
                ("back", "/customers?page=2"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER && b.last_location() == Some("/customers?page=2"), "{status}");
    let two = owners_of(store, &ids[..2]).await?;
    ensure!(two.iter().all(|o| [heir, m1, leaving].contains(o)) && two[0] != two[1], "spread: {two:?}");
    // Everyone left to one heir.
    let (status, html) = b
        .post_form("/customers/reassign", &[("from_user_id", &leaving.to_string()), ("to", "user"), ("to_user_id", "")])
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("field-error"), "{status}");
    let (status, _) = b
        .post_form(
            "/customers/reassign",
            &[("from_user_id", &leaving.to_string()), ("to", "user"), ("to_user_id", &heir.to_string())],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let moved = b.last_location().unwrap_or_default().to_string();
    ensure!(moved.starts_with("/customers/reassign?moved="), "{moved}");
    ensure!(scalar(store, "SELECT COUNT(*) FROM customers WHERE owner_id = $1", leaving).await? == 0, "none left");
    let (status, html) = b.get(&moved).await?;
    ensure!(status == StatusCode::OK && html.contains("已转移客户数"), "{status}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Personal-data rights

/// A customer with something in every part of the archive.
async fn full_customer(store: &Store, owner: i64, name: &str, id_card: &str) -> Result<Customer> {
    let mut d = with_passport(with_id_card(draft(name, owner), id_card), "E98765432");
    d.gender = Some("female".into());
    d.birthday = Some("1949-12-31".into());
    d.lunar_birthday = Some("冬月十二".into());
    d.employer = Some("申华电气".into());
    d.title = Some("工会主席".into());
    d.mobile = Some("13812340000".into());
    d.mobile2 = Some("13812340001".into());
    d.landline = Some("021-62345678".into());
    d.email = Some("mei@example.cn".into());
    d.wechat = Some("mei_wx".into());
    d.fax = Some("021-62345679".into());
    d.province = Some("上海".into());
    d.city = Some("上海".into());
    d.district = Some("静安区".into());
    d.address = Some("南京西路 1 号".into());
    d.hobbies = Some("摄影".into());
    d.diet = Some("清真".into());
    d.room_pref = Some("无羽毛枕头".into());
    d.seat_pref = Some("靠窗".into());
    d.source = Some("referral".into());
    d.source_detail = Some("老客户张三介绍".into());
    d.notes = Some("怕冷".into());
    d.consent = Consent { email: true, sms: true, wechat: false, phone: false };
    d.tags = vec!["VIP".into(), "亲子".into()];
    d.custom.insert("vip_no".into(), json!("V-77"));
    let c = put(store, &d).await?;
    interaction(store, &c, "电话咨询日本赏樱").await?;
    contact(store, &c, "陈秘书", "13911112222", true).await?;
    intention(store, &c, "京都").await?;
    get(store, c.id).await
}

async fn personal_data_export(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, api) = admin(&app).await?;
    let east = app.team("华东", None).await?;
    let (manager, manager_api) = user(&app, "mgr_east", "manager", Some(east)).await?;
    app.set_manager(east, manager).await?;
    let id_card = id_number("31010619491231002");
    let c = full_customer(store, boss, "林美", &id_card).await?;
    // An earlier record of the same person, merged into this one.
    let old_card = id_number("31010619491231003");
    let old = put(store, &with_id_card(draft("林美", boss), &old_card)).await?;
    {
        let mut tx = store.begin().await?;
        let s = store::customer_merge::MergeSide { id: c.id, version: c.version };
        let d = store::customer_merge::MergeSide { id: old.id, version: old.version };
        store::customer_merge::merge(&mut tx, &system(), &all(boss), s, d, &BTreeMap::new()).await?;
        tx.commit().await?;
    }

    let resp = api
        .client
        .get(format!("{}/api/v1/customers/{}/personal-data", api.base, c.id))
        .bearer_auth(api.token.as_deref().unwrap_or_default())
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "{}", resp.status());
    let disposition = resp.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    ensure!(disposition.contains("attachment") && disposition.contains(&c.code), "{disposition}");
    let data: Value = resp.json().await?;
    let p = &data["customer"];
    ensure!(p["id_card"] == id_card.as_str() && p["passport"] == "E98765432", "documents in full: {p}");
    for (k, v) in [
        ("name", "林美"),
        ("mobile", "13812340000"),
        ("mobile2", "13812340001"),
        ("email", "mei@example.cn"),
        ("wechat", "mei_wx"),
        ("address", "南京西路 1 号"),
        ("room_pref", "无羽毛枕头"),
        ("notes", "怕冷"),
        ("birthday", "1949-12-31"),
    ] {
        ensure!(p[k] == v, "{k}: {}", p[k]);
    }
    ensure!(p["custom"]["vip_no"] == "V-77", "custom values");
    ensure!(data["tags"] == json!(["VIP", "亲子"]), "{}", data["tags"]);
    ensure!(data["consent"]["email"] == true && data["consent"]["wechat"] == false, "{}", data["consent"]);
    ensure!(data["contacts"][0]["name"] == "陈秘书" && data["contacts"][0]["mobile"] == "13911112222", "contacts");
    ensure!(data["intentions"][0]["destination"] == "京都", "intentions");
    ensure!(data["interactions"][0]["summary"] == "电话咨询日本赏樱", "interactions");
    ensure!(data["merged_records"][0]["id_card"] == old_card.as_str(), "merged records, documents opened too");
    let trail = data["audit_trail"].as_array().context("audit trail")?;
    ensure!(
        trail.iter().any(|r| r["summary"].as_str().is_some_and(|s| s.contains("merged into"))),
        "merge in the trail"
    );
    ensure!(trail.iter().any(|r| r["entity"] == "interaction"), "interaction audit rows too");
    ensure!(data["generated_at"].as_str().is_some_and(|t| t.ends_with('Z')), "readable times");
    ensure!(p["created_at"].as_str().is_some_and(|t| t.contains('T')), "readable times inside");
    ensure!(audit_rows(store, c.id.0, "all personal data of customer").await? == 1, "the export is audited");

    // The printable copy holds the same, and is audited as well.
    let (_, mut b) = browser_as(&app, "boss2", "admin", None).await?;
    let (status, html) = b.get(&format!("/customers/{}/personal-data", c.id)).await?;
    ensure!(status == StatusCode::OK, "{status}");
    for text in [id_card.as_str(), "E98765432", "陈秘书", "京都", "电话咨询日本赏樱", "无羽毛枕头", "个人信息全览"]
    {
        ensure!(html.contains(text), "printable copy shows {text}");
    }
    ensure!(audit_rows(store, c.id.0, "all personal data of customer").await? == 2, "audited again");
    // Only with customers.privacy: managers may not.
    let (status, _) = manager_api.get(&format!("/api/v1/customers/{}/personal-data", c.id)).await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status}");
    let (status, _) = api.get("/api/v1/customers/999999/personal-data").await?;
    ensure!(status == StatusCode::NOT_FOUND, "{status}");
    Ok(())
}

/// Every personal column of a customer row, raw from the database.
const PERSONAL: &[&str] = &[
    "gender",
    "birthday",
    "lunar_birthday",
    "id_card_enc",
    "id_card_hash",
    "id_card_masked",
    "passport_enc",
    "passport_hash",
    "passport_masked",
    "passport_expiry",
    "employer",
    "title",
    "mobile",
    "mobile2",
    "landline",
    "email",
    "wechat",
    "fax",
    "province",
    "city",
    "district",
    "address",
    "hobbies",
    "diet",
    "room_pref",
    "seat_pref",
    "source_detail",
    "notes",
];

async fn erasure_rejected(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, api) = admin(&app).await?;
    let c = full_customer(store, boss, "林美", &id_number("31010619491231002")).await?;
    let url = format!("/api/v1/customers/{}/erasure", c.id);
    let (status, body) =
        api.post(&url, &json!({"requested_by": "", "reason": "x", "decision": "reject", "decision_note": ""})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    ensure!(has_field(&body, "requested_by", "required") && has_field(&body, "decision_note", "required"), "{body}");
    let (status, _) = api
        .post(&url, &json!({"requested_by": "本人", "reason": "x", "decision": "maybe", "decision_note": "y"}))
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "decision is approve or reject");
    ensure!(count(store, "pii_requests").await? == 0, "refused requests are not logged half");

    let (status, out) = api
        .post(
            &url,
            &json!({"requested_by": "林美本人（电话）", "reason": "不想再收到任何信息",
                    "decision": "reject", "decision_note": "有未结清的订单，依法保留"}),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status} {out}");
    ensure!(out["decision"] == "rejected" && out["kind"] == "erasure" && out["decided_at"].is_string(), "{out}");
    let after = get(store, c.id).await?;
    ensure!(after.version == c.version && after.erased_at.is_none() && !after.restricted, "nothing changed");
    ensure!(after.data.mobile == c.data.mobile && after.data.name == "林美" && after.has_id_card, "nothing erased");
    let row = sqlx::query(
        "SELECT requested_by, reason, decision, decision_note, decided_by FROM pii_requests WHERE customer_id = $1",
    )
    .bind(c.id.0)
    .fetch_one(store.pool())
    .await?;
    ensure!(
        row.get::<String, _>(0) == "林美本人（电话）" && row.get::<String, _>(1) == "不想再收到任何信息",
        "request logged"
    );
    ensure!(row.get::<Option<String>, _>(2).as_deref() == Some("rejected"), "decision logged");
    ensure!(row.get::<Option<String>, _>(3).as_deref() == Some("有未结清的订单，依法保留"), "reason logged");
    ensure!(row.get::<Option<i64>, _>(4) == Some(boss), "who decided");
    ensure!(audit_rows(store, c.id.0, "rejected").await? == 1, "the decision is audited");
    Ok(())
}

async fn erasure_approved(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, api) = admin(&app).await?;
    let east = app.team("华东", None).await?;
    let (_, manager_api) = user(&app, "mgr_east", "manager", Some(east)).await?;
    let c = full_customer(store, boss, "林美", &id_number("31010619491231002")).await?;
    let other = put(store, &draft("别的客户", boss)).await?;
    let url = format!("/api/v1/customers/{}/erasure", c.id);
    let body = json!({"requested_by": "林美本人（书面申请）", "reason": "依据个人信息保护法要求删除",
                      "decision": "approve", "decision_note": "核实身份后批准；订单财务记录依法保留"});
    let (status, _) = manager_api.post(&url, &body).await?;
    ensure!(status == StatusCode::FORBIDDEN, "managers do not handle privacy requests: {status}");
    let interactions_before = count(store, "interactions").await?;

    let (status, out) = api.post(&url, &body).await?;
    ensure!(status == StatusCode::CREATED && out["decision"] == "approved", "{status} {out}");
    // The row and its id stay; every personal column is empty.
    let row = sqlx::query("SELECT * FROM customers WHERE id = $1").bind(c.id.0).fetch_one(store.pool()).await?;
    ensure!(row.get::<String, _>("code") == c.code, "the code stays");
    ensure!(row.get::<String, _>("name") == format!("已删除客户 {}", c.code), "{}", row.get::<String, _>("name"));
    ensure!(
        row.get::<String, _>("name_pinyin").is_empty() && row.get::<String, _>("name_initials").is_empty(),
        "pinyin"
    );
    for col in PERSONAL {
        ensure!(row.get::<Option<String>, _>(*col).is_none(), "{col} still holds data");
    }
    ensure!(row.get::<String, _>("custom") == "{}", "custom values");
    for col in ["consent_email", "consent_sms", "consent_wechat", "consent_phone"] {
        ensure!(row.get::<i64, _>(col) == 0, "{col}");
    }
    ensure!(row.get::<i64, _>("restricted") == 1 && row.get::<Option<i64>, _>("erased_at").is_some(), "restricted");
    ensure!(
        row.get::<i64, _>("owner_id") == boss && row.get::<String, _>("kind") == "individual",
        "kept for the books"
    );
    // Contacts, interactions, intentions and tags.
    let contact =
        sqlx::query("SELECT name, mobile, email, wechat, title, notes FROM customer_contacts WHERE customer_id = $1")
            .bind(c.id.0)
            .fetch_one(store.pool())
            .await?;
    ensure!(contact.get::<String, _>(0) == "已删除联系人", "contact name");
    for i in 1..6 {
        ensure!(contact.get::<Option<String>, _>(i).is_none(), "contact column {i}");
    }
    let summaries: Vec<String> = sqlx::query_scalar("SELECT summary FROM interactions WHERE customer_id = $1")
        .bind(c.id.0)
        .fetch_all(store.pool())
        .await?;
    ensure!(summaries == vec!["（已删除）".to_string()], "{summaries:?}");
    ensure!(count(store, "interactions").await? == interactions_before, "interactions kept as rows, redacted");
    let intention: (String, Option<String>) =
        sqlx::query_as("SELECT destination, notes FROM customer_intentions WHERE customer_id = $1")
            .bind(c.id.0)
            .fetch_one(store.pool())
            .await?;
    ensure!(intention == ("（已删除）".to_string(), None), "{intention:?}");
    ensure!(scalar(store, "SELECT COUNT(*) FROM customer_tags WHERE customer_id = $1", c.id.0).await? == 0, "tags");
    // Nothing else touched.
    ensure!(get(store, other.id).await?.data.name == "别的客户", "other customers untouched");
    // The request, decision and reason are logged; the erasure audited without the name.
    let logged: (String, String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT requested_by, reason, decision, decision_note FROM pii_requests WHERE customer_id = $1")
            .bind(c.id.0)
            .fetch_one(store.pool())
            .await?;
    ensure!(logged.0 == "林美本人（书面申请）" && logged.2.as_deref() == Some("approved"), "{logged:?}");
    ensure!(logged.3.as_deref() == Some("核实身份后批准；订单财务记录依法保留"), "{logged:?}");
    let erased_rows = sqlx::query(
        "SELECT summary, action FROM audit_log WHERE entity = 'customer' AND entity_id = $1 AND action = 'delete'",
    )
    .bind(c.id.to_string())
    .fetch_all(store.pool())
    .await?;
    ensure!(erased_rows.len() == 1, "one erasure row");
    let summary: String = erased_rows[0].get(0);
    ensure!(summary.contains("erased") && !summary.contains("林美"), "{summary}");
    // Still listed by its code for finance, shown as erased through the API too.
    let after = get(store, c.id).await?;
    ensure!(after.restricted && after.erased_at.is_some() && !after.has_id_card, "restricted");

    // A later edit is refused; so is a second erasure, and a merge.
    let mut edit = draft("林美", boss);
    edit.mobile = Some("13812340000".into());
    let mut tx = store.begin().await?;
    let refused = customers::update(&mut tx, store, &system(), &all(boss), c.id, after.version, &edit).await;
    drop(tx);
    ensure!(matches!(refused, Err(store::StoreError::Invalid(_))), "an erased customer cannot be edited: {refused:?}");
    let (status, body) = api.post(&url, &body).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "decision", "erased"), "{status} {body}");
    let (status, body) = api
        .post(
            &format!("/api/v1/customers/{}/merge", other.id),
            &json!({"duplicate_id": c.id.0, "version": other.version, "duplicate_version": after.version}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "duplicate_id", "erased"), "{body}");
    // The export now shows what is left: nothing personal.
    let (status, data) = api.get(&format!("/api/v1/customers/{}/personal-data", c.id)).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let text = data["customer"].to_string() + &data["contacts"].to_string() + &data["interactions"].to_string();
    for gone in ["13812340000", "mei@example.cn", "无羽毛枕头", "陈秘书", "电话咨询日本赏樱", "E98765432"]
    {
        ensure!(!text.contains(gone), "{gone} survived the erasure");
    }
    Ok(())
}

async fn privacy_pages(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, mut b) = browser_as(&app, "boss", "admin", None).await?;
    let c = full_customer(store, boss, "林美", &id_number("31010619491231002")).await?;
    let page = format!("/customers/{}/privacy", c.id);
    let (status, html) = b.get(&page).await?;
    ensure!(status == StatusCode::OK && html.contains("个人信息权利") && html.contains(&c.code), "{status}");
    ensure!(html.contains(&format!("/api/v1/customers/{}/personal-data", c.id)), "download link");
    // The JSON download works with the browser's session too.
    let (status, json_text) = b.get(&format!("/api/v1/customers/{}/personal-data", c.id)).await?;
    ensure!(status == StatusCode::OK && json_text.contains("\"id_card\""), "{status}");

    let requests = format!("/customers/{}/privacy/requests", c.id);
    let (status, html) = b.post_form(&requests, &[("requested_by", ""), ("reason", "")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("field-error"), "{status}");
    let (status, _) = b.post_form(&requests, &[("requested_by", "林美本人"), ("reason", "不再出行")]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let rid: i64 = scalar(store, "SELECT id FROM pii_requests WHERE customer_id = $1", c.id.0).await?;
    let (_, html) = b.get(&page).await?;
    ensure!(html.contains("林美本人") && html.contains("待处理"), "pending request listed");
    let decide = format!("/customers/{}/privacy/requests/{rid}", c.id);
    let (status, _) = b.post_form(&decide, &[("decision", "reject"), ("decision_note", ""), ("version", "1")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "a decision needs a reason: {status}");
    let (status, _) =
        b.post_form(&decide, &[("decision", "reject"), ("decision_note", "有待出行订单"), ("version", "9")]).await?;
    ensure!(status == StatusCode::CONFLICT, "stale: {status}");
    let (status, _) =
        b.post_form(&decide, &[("decision", "reject"), ("decision_note", "有待出行订单"), ("version", "1")]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    ensure!(get(store, c.id).await?.erased_at.is_none(), "rejected: nothing erased");
    let (_, html) = b.get(&page).await?;
    ensure!(html.contains("已拒绝") && html.contains("有待出行订单"), "decision shown");
    let (status, _) =
        b.post_form(&decide, &[("decision", "approve"), ("decision_note", "x"), ("version", "2")]).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "already decided: {status}");
    // A second request, approved from the page, erases.
    b.post_form(&requests, &[("requested_by", "林美本人"), ("reason", "坚持删除")]).await?;
    let rid2: i64 = scalar(store, "SELECT MAX(id) FROM pii_requests WHERE customer_id = $1", c.id.0).await?;
    let (status, _) = b
        .post_form(
            &format!("/customers/{}/privacy/requests/{rid2}", c.id),
            &[("decision", "approve"), ("decision_note", "订单已完成，批准"), ("version", "1")],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let (_, html) = b.get(&page).await?;
    ensure!(html.contains("个人信息已删除") && !html.contains("name=\"requested_by\""), "erased, no new requests");
    ensure!(get(store, c.id).await?.data.name.starts_with("已删除客户"), "erased");
    // Who may not.
    let (_, mut m) = browser_as(&app, "mgr", "manager", None).await?;
    let (status, _) = m.get(&page).await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status}");
    Ok(())
}

async fn marketing_consent(app: TestApp) -> Result<()> {
    use store::privacy::{marketable, may_market};
    let store = &app.store;
    let (boss, api) = admin(&app).await?;
    let mut d = draft("愿意收短信", boss);
    d.consent = Consent { sms: true, email: true, ..Default::default() };
    let yes = put(store, &d).await?;
    let no = put(store, &draft("未同意", boss)).await?;
    let mut d = draft("已合并", boss);
    d.consent = Consent { sms: true, ..Default::default() };
    let merged = put(store, &d).await?;
    let mut d = draft("将被删除", boss);
    d.consent = Consent { sms: true, wechat: true, ..Default::default() };
    let erased = put(store, &d).await?;

    ensure!(may_market(&yes, ConsentChannel::Sms) && may_market(&yes, ConsentChannel::Email), "recorded consent");
    ensure!(!may_market(&yes, ConsentChannel::Wechat) && !may_market(&yes, ConsentChannel::Phone), "per channel");
    for ch in ConsentChannel::ALL {
        ensure!(!may_market(&no, ch), "no consent, no marketing on {ch:?}");
    }
    ensure!(may_market(&merged, ConsentChannel::Sms), "before the merge");
    {
        let mut tx = store.begin().await?;
        let s = store::customer_merge::MergeSide { id: no.id, version: no.version };
        let m = store::customer_merge::MergeSide { id: merged.id, version: merged.version };
        store::customer_merge::merge(&mut tx, &system(), &all(boss), s, m, &BTreeMap::new()).await?;
        tx.commit().await?;
    }
    let merged = get(store, merged.id).await?;
    ensure!(!may_market(&merged, ConsentChannel::Sms), "never to a merged record");
    ensure!(!may_market(&get(store, no.id).await?, ConsentChannel::Sms), "consent is not taken over by default");
    ensure!(may_market(&erased, ConsentChannel::Sms), "before the erasure");
    let (status, _) = api
        .post(
            &format!("/api/v1/customers/{}/erasure", erased.id),
            &json!({"requested_by": "本人", "reason": "删除", "decision": "approve", "decision_note": "同意"}),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status}");
    let erased = get(store, erased.id).await?;
    ensure!(!may_market(&erased, ConsentChannel::Sms) && !may_market(&erased, ConsentChannel::Wechat), "never erased");
    // A restricted record that somehow kept a flag is still excluded.
    sqlx::query("UPDATE customers SET consent_sms = 1 WHERE id = $1").bind(erased.id.0).execute(store.pool()).await?;
    ensure!(!may_market(&get(store, erased.id).await?, ConsentChannel::Sms), "restricted");
    // The list filter agrees.
    let sms = marketable(store, &all(boss), ConsentChannel::Sms).await?;
    ensure!(sms == vec![yes.id], "{sms:?}");
    let email = marketable(store, &all(boss), ConsentChannel::Email).await?;
    ensure!(email == vec![yes.id], "{email:?}");
    ensure!(marketable(store, &all(boss), ConsentChannel::Phone).await?.is_empty(), "nobody agreed to calls");
    let own = Visibility { scope: Scope::Own, user_id: UserId(boss + 1000), teams: Vec::new() };
    ensure!(marketable(store, &own, ConsentChannel::Sms).await?.is_empty(), "visibility applies");
    Ok(())
}

// ---------------------------------------------------------------------------
// Field configuration

async fn field_configuration(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (_, api) = admin(&app).await?;
    let (_, sales) = user(&app, "sales01", "sales", None).await?;

    // Required built-in fields per kind.
    let (status, body) = api
        .put("/api/v1/customer-fields/required/individual", &json!({"fields": ["mobile", "email", "mobile"]}))
        .await?;
    ensure!(status == StatusCode::OK && body["fields"] == json!(["email", "mobile"]), "{status} {body}");
    ensure!(
        body["requirable"].as_array().is_some_and(|a| a.len() == store::customer_fields::REQUIRABLE.len()),
        "{body}"
    );
    let (_, body) = api.get("/api/v1/customer-fields/required/individual").await?;
    ensure!(body["fields"] == json!(["email", "mobile"]), "{body}");
    let (_, body) = api.get("/api/v1/customer-fields/required/organization").await?;
    ensure!(body["fields"] == json!([]), "per kind: {body}");
    let (status, body) =
        api.put("/api/v1/customer-fields/required/individual", &json!({"fields": ["shoe_size"]})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "required", "unknown_field"), "{body}");
    let (status, _) = api.get("/api/v1/customer-fields/required/alien").await?;
    ensure!(status == StatusCode::NOT_FOUND, "{status}");
    ensure!(
        store::customer_fields::required_builtin(store, "individual").await? == vec!["email", "mobile"],
        "the store enforces what was saved"
    );

    // Custom fields of every type; bad definitions name the field.
    let new = |key: &str, ty: &str, extra: Value| {
        let mut b = json!({"kind": "individual", "key": key, "label_zh": key, "label_en": key, "field_type": ty});
        if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        b
    };
    let (status, vip) =
        api.post("/api/v1/customer-fields", &new("vip_no", "text", json!({"required": true, "position": 1}))).await?;
    ensure!(status == StatusCode::CREATED && vip["required"] == true && vip["active"] == true, "{status} {vip}");
    for (key, ty, extra) in [
        ("annual_trips", "number", json!({})),
        ("member_since", "date", json!({})),
        ("level", "choice", json!({"choices": ["金卡", "银卡", "金卡"]})),
    ] {
        let (status, out) = api.post("/api/v1/customer-fields", &new(key, ty, extra)).await?;
        ensure!(status == StatusCode::CREATED, "{key}: {status} {out}");
    }
    for (body, field, code) in [
        (new("blob", "blob", json!({})), "field_type", "invalid_choice"),
        (new("tier", "choice", json!({})), "choices", "required"),
        (new("Bad-Key", "text", json!({})), "key", "invalid"),
        (new("mobile", "text", json!({})), "key", "reserved"),
        (new("vip_no", "text", json!({})), "key", "taken"),
        (
            json!({"kind": "alien", "key": "x", "label_zh": "x", "label_en": "x", "field_type": "text"}),
            "kind",
            "invalid_choice",
        ),
        (
            json!({"kind": "individual", "key": "x", "label_zh": "", "label_en": "x", "field_type": "text"}),
            "label_zh",
            "required",
        ),
    ] {
        let (status, out) = api.post("/api/v1/customer-fields", &body).await?;
        ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&out, field, code), "{body} → {status} {out}");
    }
    let (_, list) = api.get("/api/v1/customer-fields?kind=individual").await?;
    let items = list["items"].as_array().context("items")?;
    ensure!(items.len() == 4, "{list}");
    let level = items.iter().find(|f| f["key"] == "level").context("level")?;
    ensure!(level["choices"] == json!(["金卡", "银卡"]), "choices deduplicated: {level}");

    // Edit: stale versions are 409; deactivating keeps the definition.
    let vid = vip["id"].as_i64().context("id")?;
    let (status, _) =
        api.patch(&format!("/api/v1/customer-fields/{vid}"), &json!({"version": 9, "label_zh": "会员卡号"})).await?;
    ensure!(status == StatusCode::CONFLICT, "{status}");
    let (status, out) = api
        .patch(
            &format!("/api/v1/customer-fields/{vid}"),
            &json!({"version": 1, "label_zh": "会员卡号", "field_type": "sound"}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&out, "field_type", "invalid_choice"), "{out}");
    let (status, out) =
        api.patch(&format!("/api/v1/customer-fields/{vid}"), &json!({"version": 1, "label_zh": "会员卡号"})).await?;
    ensure!(
        status == StatusCode::OK && out["label_zh"] == "会员卡号" && out["key"] == "vip_no" && out["version"] == 2,
        "{out}"
    );
    let (status, _) = api.patch("/api/v1/customer-fields/99999", &json!({"version": 1})).await?;
    ensure!(status == StatusCode::NOT_FOUND, "{status}");

    // The store checks values against these definitions wherever a customer is saved.
    let defs = store::customer_fields::definitions(store, "individual", false).await?;
    let raw =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
    let ok = store::customer_fields::check_custom(
        &defs,
        &raw(&[("vip_no", "V-1"), ("annual_trips", "3"), ("member_since", "2020-02-29"), ("level", "金卡")]),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(ok["annual_trips"] == "3" && ok["level"] == "金卡", "{ok:?}");
    let bad = store::customer_fields::check_custom(
        &defs,
        &raw(&[("annual_trips", "three"), ("member_since", "2021-02-29"), ("level", "铜卡")]),
    )
    .err()
    .context("bad values refused")?;
    let codes: Vec<(String, &str)> = bad.0.iter().map(|e| (e.field.clone(), e.code)).collect();
    for want in [
        ("custom.vip_no", "required"),
        ("custom.annual_trips", "invalid_number"),
        ("custom.member_since", "invalid_date"),
        ("custom.level", "invalid_choice"),
    ] {
        ensure!(codes.contains(&(want.0.to_string(), want.1)), "{want:?} in {codes:?}");
    }
    let (status, _) =
        api.patch(&format!("/api/v1/customer-fields/{vid}"), &json!({"version": 2, "active": false})).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let defs = store::customer_fields::definitions(store, "individual", false).await?;
    ensure!(store::customer_fields::check_custom(&defs, &raw(&[])).is_ok(), "an inactive field is no longer required");
    let (_, list) = api.get("/api/v1/customer-fields").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(4), "inactive fields stay listed for administrators");

    // Audited.
    let n = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE entity IN ('customer_field', 'customer_required_fields')",
    )
    .fetch_one(store.pool())
    .await?;
    ensure!(n == 1 + 4 + 2, "every change audited ({n})");

    // Sales may not configure.
    for (status, what) in [
        (sales.get("/api/v1/customer-fields").await?.0, "list"),
        (sales.post("/api/v1/customer-fields", &new("x1", "text", json!({}))).await?.0, "create"),
        (sales.patch(&format!("/api/v1/customer-fields/{vid}"), &json!({"version": 3})).await?.0, "patch"),
        (sales.get("/api/v1/customer-fields/required/individual").await?.0, "required"),
        (sales.put("/api/v1/customer-fields/required/individual", &json!({"fields": []})).await?.0, "set required"),
    ] {
        ensure!(status == StatusCode::FORBIDDEN, "{what}: {status}");
    }
    Ok(())
}

/// What the configuration does to customers saved through the customer API.
async fn configured_fields_enforced(app: TestApp) -> Result<()> {
    let (_, api) = admin(&app).await?;
    let (status, _) = api.put("/api/v1/customer-fields/required/individual", &json!({"fields": ["mobile"]})).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let (status, _) = api
        .post(
            "/api/v1/customer-fields",
            &json!({"kind": "individual", "key": "level", "label_zh": "卡级", "label_en": "Card level",
                    "field_type": "choice", "choices": ["金卡", "银卡"], "required": true}),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status}");
    let (status, body) = api.post("/api/v1/customers", &json!({"kind": "individual", "name": "周八"})).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status} {body}");
    ensure!(has_field(&body, "mobile", "required") && has_field(&body, "custom.level", "required"), "{body}");
    let (status, body) = api
        .post(
            "/api/v1/customers",
            &json!({"kind": "individual", "name": "周八", "mobile": "13812348888", "custom": {"level": "铜卡"}}),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && has_field(&body, "custom.level", "invalid_choice"), "{body}");
    let (status, body) = api
        .post(
            "/api/v1/customers",
            &json!({"kind": "individual", "name": "周八", "mobile": "13812348888", "custom": {"level": "金卡"}}),
        )
        .await?;
    ensure!(status == StatusCode::CREATED && body["custom"]["level"] == "金卡", "{status} {body}");
    // Other kinds are not affected.
    let (status, body) = api.post("/api/v1/customers", &json!({"kind": "organization", "name": "某公司"})).await?;
    ensure!(status == StatusCode::CREATED, "{status} {body}");
    Ok(())
}

async fn field_configuration_page(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (_, mut b) = browser_as(&app, "boss", "admin", None).await?;
    let (status, html) = b.get("/settings/customer-fields").await?;
    ensure!(status == StatusCode::OK && html.contains("客户字段设置"), "{status}");
    ensure!(html.contains("href=\"/settings/customer-fields\""), "in the navigation");
    ensure!(html.contains("身份证号") && html.contains("kind-partner"), "requirable fields per kind");
    let (status, _) = b
        .post_form("/settings/customer-fields/required/organization", &[("fields", "landline"), ("fields", "industry")])
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    ensure!(
        store::customer_fields::required_builtin(store, "organization").await? == vec!["industry", "landline"],
        "saved"
    );
    let (_, html) = b.get("/settings/customer-fields?saved=1").await?;
    ensure!(html.contains("value=\"industry\" checked"), "shown checked");
    let (status, html) = b
        .post_form(
            "/settings/customer-fields",
            &[
                ("kind", "organization"),
                ("key", "staff"),
                ("label_zh", "员工人数"),
                ("label_en", "Staff"),
                ("field_type", "choice"),
                ("choices", ""),
            ],
        )
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("field-error") && html.contains("员工人数"),
        "{status}"
    );
    let (status, _) = b
        .post_form(
            "/settings/customer-fields",
            &[
                ("kind", "organization"),
                ("key", "staff"),
                ("label_zh", "员工人数"),
                ("label_en", "Staff"),
                ("field_type", "number"),
                ("required", "on"),
                ("position", "2"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let defs = store::customer_fields::definitions(store, "organization", true).await?;
    ensure!(defs.len() == 1 && defs[0].field_type == "number" && defs[0].required, "{defs:?}");
    let id = defs[0].id;
    // Edit: deactivate (the checkbox left out) and relabel.
    let (status, _) = b
        .post_form(
            &format!("/settings/customer-fields/{id}"),
            &[
                ("label_zh", "员工规模"),
                ("label_en", "Staff"),
                ("field_type", "number"),
                ("position", "2"),
                ("version", "1"),
            ],
        )
        .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let d = &store::customer_fields::definitions(store, "organization", true).await?[0];
    ensure!(d.label_zh == "员工规模" && !d.active && !d.required, "{d:?}");
    let (status, _) = b
        .post_form(
            &format!("/settings/customer-fields/{id}"),
            &[("label_zh", "x"), ("label_en", "x"), ("field_type", "text"), ("version", "1")],
        )
        .await?;
    ensure!(status == StatusCode::CONFLICT, "stale: {status}");
    // English.
    let (en_id, mut en) = browser_as(&app, "boss_en", "admin", None).await?;
    {
        let u = store::users::get(store, UserId(en_id)).await?;
        let mut ch = store::users::Changes::from(&u);
        ch.locale = domain::user::Locale::En;
        let mut tx = store.begin().await?;
        store::users::update(&mut tx, &system(), u.id, u.version, &ch).await?;
        tx.commit().await?;
    }
    let (_, html) = en.get("/settings/customer-fields").await?;
    ensure!(html.contains("Customer fields") && html.contains("Required built-in fields"), "English page");
    // Sales: no link, 403.
    let (_, mut s) = browser_as(&app, "sales01", "sales", None).await?;
    let (_, home) = s.get("/account").await?;
    ensure!(!home.contains("/settings/customer-fields"), "no link for sales");
    let (status, _) = s.get("/settings/customer-fields").await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status}");
    let (status, _) = s.post_form("/settings/customer-fields/required/individual", &[("fields", "mobile")]).await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status}");
    Ok(())
}

// ---------------------------------------------------------------------------
// The search index

/// The names `q` finds through the API, sorted.
async fn search_names(api: &Api, q: &str) -> Result<Vec<String>> {
    let url = reqwest::Url::parse_with_params(&format!("{}/api/v1/customers", api.base), [("q", q)])?;
    let (status, list) = api.get(&format!("{}?{}", url.path(), url.query().unwrap_or_default())).await?;
    ensure!(status == StatusCode::OK, "{q}: {status} {list}");
    let mut names: Vec<String> = list["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    names.sort();
    Ok(names)
}

async fn index_keys(store: &Store) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT k, customer_id FROM customer_search ORDER BY k, customer_id")
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1))).collect())
}

async fn search_index(app: TestApp) -> Result<()> {
    let store = &app.store;
    let (boss, api) = admin(&app).await?;
    let mut a = draft("王建国", boss);
    a.mobile = Some("13900001234".into());
    a.employer = Some("西湖旅游集团".into());
    let a = put(store, &a).await?;
    let mut b = draft("王建军", boss);
    b.mobile = Some("13900005678".into());
    let b = put(store, &b).await?;
    let mut c = draft("赵六", boss);
    c.employer = Some("西湖旅游集团".into());
    c.landline = Some("0571-87654321".into());
    let c = put(store, &c).await?;
    ensure!(search_names(&api, "建国").await? == ["王建国"], "inner fragment");
    ensure!(search_names(&api, "1234").await? == ["王建国"], "last four");
    ensure!(search_names(&api, "旅游").await? == ["王建国", "赵六"], "employer fragment");
    ensure!(search_names(&api, "王建").await? == ["王建军", "王建国"], "leading fragment");

    // An edit replaces the keys: the old name and number find nothing.
    let (status, body) = api
        .patch(
            &format!("/api/v1/customers/{}", a.id),
            &json!({"version": a.version, "name": "王立国",
                "mobile": "13900004321", "employer": null}),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(search_names(&api, "建国").await?.is_empty(), "old fragment");
    ensure!(search_names(&api, "1234").await?.is_empty(), "old number");
    ensure!(search_names(&api, "立国").await? == ["王立国"], "new fragment");
    ensure!(search_names(&api, "4321").await? == ["王立国", "赵六"], "new number and the landline");
    ensure!(search_names(&api, "旅游").await? == ["赵六"], "employer removed");
    let stale: Vec<_> =
        index_keys(store).await?.into_iter().filter(|(k, id)| *id == a.id.0 && k.contains("建国")).collect();
    ensure!(stale.is_empty(), "no stale keys: {stale:?}");

    // Merged customers are found through their survivor only.
    let a = get(store, a.id).await?;
    {
        let mut tx = store.begin().await?;
        let s = store::customer_merge::MergeSide { id: a.id, version: a.version };
        let d = store::customer_merge::MergeSide { id: b.id, version: b.version };
        store::customer_merge::merge(&mut tx, &system(), &all(boss), s, d, &BTreeMap::new()).await?;
        tx.commit().await?;
    }
    ensure!(search_names(&api, "建军").await?.is_empty(), "the merged record is not listed");
    ensure!(search_names(&api, "立国").await? == ["王立国"], "the survivor is");

    // Erasure leaves nothing to find by.
    let body = json!({"requested_by": "本人", "reason": "要求删除", "decision": "approve", "decision_note": "已核实"});
    let (status, out) = api.post(&format!("/api/v1/customers/{}/erasure", a.id), &body).await?;
    ensure!(status == StatusCode::CREATED, "{status} {out}");
    ensure!(search_names(&api, "立国").await?.is_empty(), "erased name");
    ensure!(search_names(&api, "4321").await? == ["赵六"], "erased number");
    ensure!(search_names(&api, &a.code).await?.len() == 1, "still found by its code for finance");

    // An emptied index (an archive from before it, or a changed key rule)
    // is rebuilt on start with exactly the keys the writers keep.
    let kept = index_keys(store).await?;
    ensure!(kept.iter().any(|(_, id)| *id == c.id.0), "赵六 is indexed");
    sqlx::query("DELETE FROM customer_search").execute(store.pool()).await?;
    ensure!(search_names(&api, "赵六").await?.is_empty(), "nothing without the index");
    store.migrate().await?;
    ensure!(index_keys(store).await? == kept, "rebuilt exactly");
    ensure!(search_names(&api, "旅游").await? == ["赵六"], "found again");
    Ok(())
}
