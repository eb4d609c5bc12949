//! Moving customer lists in and out: imports in every encoding Excel writes
//! (through the API, the pages, the command line and a real browser),
//! exports that honour visibility, masking and formula injection, vCards.
//! Test files are built here, never committed.

use crate::harness::{browser_story, story, Api, Browser, Story, TestApp};
use anyhow::{ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::process::Command;

pub fn stories() -> Vec<Story> {
    vec![
        story("a_gbk_csv_with_bad_rows_imports_the_good_ones_and_reports_the_rest", gbk_with_bad_rows),
        story("a_row_refused_by_the_database_leaves_nothing_and_the_others_land", refused_by_the_database),
        story("bulk_creation_writes_what_customers_create_writes", bulk_equals_create),
        story("bom_plain_utf8_semicolons_and_utf16_tabs_all_import", every_encoding),
        story("xlsx_numbers_keep_their_digits_and_date_cells_become_dates", xlsx_numbers_and_dates),
        story("a_dry_run_reports_and_writes_nothing", dry_run_writes_nothing),
        story("reimport_updates_by_code_without_duplicates_and_audits_changes", reimport_updates_by_code),
        story("cli_import_and_export_round_trip", cli_round_trip),
        story("list_export_honours_visibility_permission_masking_and_formulas", web_export),
        story("vcards_of_a_customer_and_a_contact", vcards),
        story("the_import_pages_upload_map_check_import_and_report", page_flow),
        browser_story("import_a_gbk_csv_with_bad_rows_through_the_real_pages", browser_import),
    ]
}

// ---------------------------------------------------------------------------
// Test data

/// A resident ID number with its GB 11643 check character.
fn with_check(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// A valid ID number whose value a spreadsheet can hold exactly as a
/// number (a multiple of 64 below 2^59), as if someone typed it into a
/// number cell.
fn id_exact_as_number() -> String {
    (0..1000)
        .map(|seq| with_check(&format!("44030619900815{seq:03}")))
        .find(|id| id.bytes().all(|b| b.is_ascii_digit()) && id.parse::<u64>().unwrap() % 64 == 0)
        .expect("some sequence number works")
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

async fn admin(app: &TestApp) -> Result<Api> {
    let (_, pw) = app.create_user("chenjing", "admin", None).await?;
    app.api_as("chenjing", &pw).await
}

async fn import(api: &Api, query: &str, content_type: &str, body: Vec<u8>) -> Result<Value> {
    let (status, report) =
        api.raw(Method::POST, &format!("/api/v1/customers/import{query}"), content_type, body).await?;
    ensure!(status == StatusCode::OK, "import: {status} {report}");
    Ok(report)
}

async fn count(app: &TestApp, sql: &str) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(sql).fetch_one(app.store.pool()).await?)
}

/// The errors of the report's row at `line`, as (field, code).
fn errors_at(report: &Value, line: u64) -> Vec<(String, String)> {
    report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["line"] == line && r["action"] == "error")
        .flat_map(|r| r["errors"].as_array().cloned().unwrap_or_default())
        .map(|e| (e["field"].as_str().unwrap_or("").to_string(), e["code"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn action_at(report: &Value, line: u64) -> String {
    report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["line"] == line)
        .and_then(|r| r["action"].as_str())
        .unwrap_or("")
        .to_string()
}

/// The GBK list with good and bad rows used by the API, page and browser stories.
fn messy_list() -> String {
    let id = with_check("33010619900815123");
    let bad_id = {
        let mut s = with_check("11010519491231002");
        let last = if s.ends_with('1') { '2' } else { '1' };
        s.pop();
        s.push(last);
        s
    };
    format!(
        "客户编号,客户名称,类型,性别,手机号码,电子邮件,出生日期,省份,城市,工作单位,身份证,客户来源,标签,备注,会员卡\r\n\
         C100001,张三,散客,男,138 1234 5678,zhangsan@example.cn,1990-08-15,浙江,杭州,西湖国旅,{id},朋友介绍,\"VIP，亲子\",老客户,\r\n\
         ,李四,散客,女,1381234567,lisi@example.cn,,浙江,宁波,,,网站,海岛,,\r\n\
         ,王五,,男,13912345678,,,,,,{bad_id},,,,\r\n\
         ,赵六,火星人,,13712345678,,,,,,,,,,\r\n\
         C100001,张三丰,散客,男,13612345678,,,,,,,,,,\r\n\
         ,杭州云栖科技有限公司,集团/企业,,0571-88886666,,,浙江,杭州,,,,,年底团建,\r\n\
         ,钱八,散客,不详,13512345678,qianba@,2099-01-01,,,,,,,,\r\n"
    )
}

/// Checks what importing [`messy_list`] must have done.
async fn check_messy_outcome(app: &TestApp, report: Option<&Value>) -> Result<()> {
    if let Some(report) = report {
        ensure!(report["created"] == 2 && report["failed"] == 5, "counts: {report}");
        ensure!(action_at(report, 2) == "create" && action_at(report, 7) == "create", "{report}");
        let want: &[(u64, &[(&str, &str)])] = &[
            (3, &[("phone", "invalid_phone")]),
            (4, &[("id_card", "invalid_checksum")]),
            (5, &[("kind", "invalid_choice")]),
            (6, &[("code", "duplicate_in_file")]),
            (8, &[("gender", "invalid_choice"), ("email", "invalid_email"), ("birthday", "in_future")]),
        ];
        for (line, errs) in want {
            let got = errors_at(report, *line);
            for (field, code) in *errs {
                ensure!(
                    got.iter().any(|(f, c)| f == field && c == code),
                    "line {line}: expected {field}/{code}, got {got:?}"
                );
            }
            ensure!(got.len() == errs.len(), "line {line}: every problem once, got {got:?}");
        }
        ensure!(report["unknown_columns"] == serde_json::json!(["会员卡"]), "unknown column reported: {report}");
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers ORDER BY name").fetch_all(app.store.pool()).await?;
    ensure!(names == ["张三", "杭州云栖科技有限公司"], "only the good rows: {names:?}");
    let zs: (String, String, Option<String>, Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT code, kind, mobile, birthday, id_card_masked, source FROM customers WHERE name = '张三'",
    )
    .fetch_one(app.store.pool())
    .await?;
    ensure!(zs.0 == "C100001" && zs.1 == "individual", "{zs:?}");
    ensure!(zs.2.as_deref() == Some("13812345678") && zs.3.as_deref() == Some("1990-08-15"), "{zs:?}");
    ensure!(zs.4.as_deref().is_some_and(|m| m.starts_with("330106") && m.contains('*')), "{zs:?}");
    ensure!(zs.5.as_deref() == Some("referral"), "{zs:?}");
    let org: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT kind, landline, notes FROM customers WHERE name = '杭州云栖科技有限公司'")
            .fetch_one(app.store.pool())
            .await?;
    ensure!(org == ("organization".into(), Some("0571-88886666".into()), Some("年底团建".into())), "{org:?}");
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM customer_tags ORDER BY tag").fetch_all(app.store.pool()).await?;
    ensure!(tags == ["VIP", "亲子"], "tags of refused rows are not written: {tags:?}");
    let audited = count(app, "SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND action = 'create'").await?;
    ensure!(audited == 2, "one audit row per created customer ({audited})");
    Ok(())
}

// ---------------------------------------------------------------------------
// Stories

async fn gbk_with_bad_rows(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let report = import(&api, "", "text/csv", gbk(&messy_list())).await?;
    check_messy_outcome(&app, Some(&report)).await
}

async fn refused_by_the_database(app: TestApp) -> Result<()> {
    // Every rule the importer knows passes; the database refuses one row
    // (a unique e-mail index this test adds) in the middle of a batch.
    sqlx::query("CREATE UNIQUE INDEX test_unique_email ON customers(email)").execute(app.store.pool()).await?;
    let api = admin(&app).await?;
    let csv = "name,phone,email,tags\n甲,13800000001,same@example.cn,一号\n乙,13800000002,same@example.cn,二号\n丙,13800000003,c@example.cn,三号\n";
    let report = import(&api, "", "text/csv", csv.as_bytes().to_vec()).await?;
    ensure!(report["created"] == 2 && report["failed"] == 1, "{report}");
    ensure!(action_at(&report, 3) == "error" && !errors_at(&report, 3).is_empty(), "{report}");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers ORDER BY mobile").fetch_all(app.store.pool()).await?;
    ensure!(names == ["甲", "丙"], "{names:?}");
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM customer_tags ORDER BY tag").fetch_all(app.store.pool()).await?;
    ensure!(tags.len() == 2 && !tags.contains(&"二号".to_string()), "nothing of the refused row: {tags:?}");
    let audits =
        count(&app, "SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND summary LIKE '%乙%'").await?;
    ensure!(audits == 0, "no audit row for the refused row");
    Ok(())
}

/// Every column of one customer as text (by name), and its creation audit.
async fn stored(app: &TestApp, code: &str) -> Result<(Vec<(String, Option<String>)>, String)> {
    let columns: Vec<String> = match app.db.engine() {
        crate::harness::Engine::Sqlite => {
            sqlx::query_scalar("SELECT name FROM pragma_table_info('customers') ORDER BY cid")
                .fetch_all(app.store.pool())
                .await?
        }
        crate::harness::Engine::Postgres => {
            sqlx::query_scalar(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_name = 'customers' ORDER BY ordinal_position",
            )
            .fetch_all(app.store.pool())
            .await?
        }
    };
    ensure!(columns.len() > 40, "{columns:?}");
    let select: Vec<String> = columns.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
    let row = sqlx::query(&format!("SELECT {} FROM customers WHERE code = $1", select.join(", ")))
        .bind(code)
        .fetch_one(app.store.pool())
        .await?;
    use sqlx::Row;
    let mut out = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        out.push((c.clone(), row.try_get::<Option<String>, _>(i)?));
    }
    let id = out.iter().find(|(c, _)| c == "id").and_then(|(_, v)| v.clone()).context("id")?;
    let changes: String = sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE entity = 'customer' AND entity_id = $1 AND action = 'create'",
    )
    .bind(id)
    .fetch_one(app.store.pool())
    .await?;
    Ok((out, changes))
}

async fn bulk_equals_create(app: TestApp) -> Result<()> {
    let team = app.team("南京分社", None).await?;
    let (_, pw) = app.create_user("chenjing", "admin", Some(team)).await?;
    let api = app.api_as("chenjing", &pw).await?;
    let admin_id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'chenjing'").fetch_one(app.store.pool()).await?;
    let id = with_check("32010619880202234");
    // Every column the import knows, filled.
    let csv = format!(
        "code,name,kind,gender,phone,mobile2,landline,email,birthday,lunar_birthday,province,city,district,address,\
         company,title,id_card,passport,passport_expiry,source,source_detail,wechat,fax,hobbies,diet,room_pref,\
         seat_pref,partner_type,industry,license_no,stage,grade,tags,owner,consent_email,consent_sms,\
         consent_wechat,consent_phone,notes\n\
         C800001,冯十,individual,female,13811110000,13911110000,025-83331234,feng@example.cn,1988-02-02,正月初五,\
         江苏,南京,鼓楼区,中山路 1 号,南京某厂,工程师,{id},E12345678,2031-05-01,referral,老客户介绍,fengshi,\
         025-83339999,摄影,素食,高楼层,靠窗,upstream_agency,制造,L-123,repeat,A,\"VIP,摄影\",chenjing,是,否,是,否,备注\n"
    );
    let r = import(&api, "", "text/csv", csv.into_bytes()).await?;
    ensure!(r["created"] == 1, "{r}");
    let (bulk, bulk_audit) = stored(&app, "C800001").await?;
    // The same customer through customers::create, from what was stored.
    let all = store::visibility::Visibility {
        scope: domain::access::Scope::All,
        user_id: domain::ids::UserId(0),
        teams: Vec::new(),
    };
    let c = store::customers::by_code(&app.store, &all, "C800001").await?;
    let d = c.data.clone();
    let draft = store::customers::Draft {
        kind: d.kind,
        name: d.name,
        name_pinyin: d.name_pinyin,
        name_initials: d.name_initials,
        gender: d.gender,
        birthday: d.birthday,
        lunar_birthday: d.lunar_birthday,
        id_card: store::customers::Sealed::Set(id.clone()),
        id_card_masked: d.id_card_masked,
        passport: store::customers::Sealed::Set("E12345678".into()),
        passport_masked: d.passport_masked,
        passport_expiry: d.passport_expiry,
        employer: d.employer,
        title: d.title,
        mobile: d.mobile,
        mobile2: d.mobile2,
        landline: d.landline,
        email: d.email,
        wechat: d.wechat,
        fax: d.fax,
        province: d.province,
        city: d.city,
        district: d.district,
        address: d.address,
        hobbies: d.hobbies,
        diet: d.diet,
        room_pref: d.room_pref,
        seat_pref: d.seat_pref,
        source: d.source,
        source_detail: d.source_detail,
        partner_type: d.partner_type,
        industry: d.industry,
        license_no: d.license_no,
        notes: d.notes,
        consent: d.consent,
        owner_id: d.owner_id,
        stage: d.stage,
        grade: d.grade,
        tags: d.tags,
        custom: d.custom,
    };
    let actor = store::Actor {
        user_id: Some(domain::ids::UserId(admin_id)),
        name: "chenjing (chenjing)".into(),
        team_id: Some(domain::ids::TeamId(team)),
        ip: None,
        request_id: None,
    };
    let mut tx = app.store.begin().await?;
    store::customers::create(&mut tx, &app.store, &actor, &draft, Some("C800002")).await?;
    tx.commit().await?;
    let (single, single_audit) = stored(&app, "C800002").await?;
    // Sealed values differ by their random nonce; ids, codes and times differ anyway.
    let differ = ["id", "code", "id_card_enc", "passport_enc", "created_at", "updated_at", "consent_at"];
    for ((col, a), (_, b)) in bulk.iter().zip(&single) {
        if !differ.contains(&col.as_str()) {
            ensure!(a == b, "column {col}: bulk {a:?}, customers::create {b:?}");
        }
    }
    // The file filled every field, so only what a new customer never has is empty.
    let empty: Vec<&String> = bulk.iter().filter(|(_, v)| v.is_none()).map(|(c, _)| c).collect();
    ensure!(
        empty.iter().all(|c| ["last_contact_at", "merged_into_id", "erased_at"].contains(&c.as_str())),
        "every column written, empty: {empty:?}"
    );
    // The single path's audit row lists every value; the import's says where
    // the row came from (the values are the row itself).
    ensure!(single_audit.contains("\"name\"") && single_audit.contains("冯十"), "{single_audit}");
    let expected = r#"[{"field":"source","before":null,"after":"API upload line 2"},{"field":"owner_id","before":null,"after":"1"}]"#;
    ensure!(bulk_audit == expected, "import audit row: {bulk_audit}");
    // Both are found the same ways.
    let keys = |code: &'static str| {
        let store = app.store.clone();
        async move {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT s.k FROM customer_search s JOIN customers c ON c.id = s.customer_id WHERE c.code = $1 ORDER BY s.k",
            )
            .bind(code)
            .fetch_all(store.pool())
            .await?;
            anyhow::Ok(rows)
        }
    };
    let (bulk_keys, single_keys) = (keys("C800001").await?, keys("C800002").await?);
    ensure!(!bulk_keys.is_empty() && bulk_keys == single_keys, "search keys: {bulk_keys:?} / {single_keys:?}");
    Ok(())
}

async fn every_encoding(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let body = |code: &str, sep: &str| {
        format!("编号{sep}姓名{sep}手机{sep}生日{sep}类型\n{code}{sep}林{code}{sep}+86 139-0000-{}{sep}1985年3月7日{sep}同业\n", &code[3..])
    };
    let mut utf16 = vec![0xFF, 0xFE];
    for u in body("C300004", "\t").encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("C300001", [b"\xEF\xBB\xBF".as_slice(), body("C300001", ",").as_bytes()].concat()),
        ("C300002", body("C300002", ",").into_bytes()),
        ("C300003", gbk(&body("C300003", ";"))),
        ("C300004", utf16),
    ];
    for (code, bytes) in files {
        let report = import(&api, "", "text/csv", bytes).await?;
        ensure!(report["created"] == 1 && report["failed"] == 0, "{code}: {report}");
        let row: (String, String, Option<String>, Option<String>) =
            sqlx::query_as("SELECT name, kind, mobile, birthday FROM customers WHERE code = $1")
                .bind(code)
                .fetch_one(app.store.pool())
                .await
                .with_context(|| format!("{code} was created"))?;
        ensure!(row.0 == format!("林{code}") && row.1 == "partner", "{code}: {row:?}");
        ensure!(row.2 == Some(format!("1390000{}", &code[3..])) && row.3.as_deref() == Some("1985-03-07"), "{row:?}");
    }
    Ok(())
}

fn workbook(rows: &[Vec<Cell>]) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(r, c, *s)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n)?;
                }
                Cell::Date(y, m, d) => {
                    sheet.write_datetime_with_format(
                        r,
                        c,
                        rust_xlsxwriter::ExcelDateTime::from_ymd(*y, *m, *d)?,
                        &date,
                    )?;
                }
                Cell::Empty => {}
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

enum Cell {
    Text(&'static str),
    Number(f64),
    Date(u16, u8, u8),
    Empty,
}

async fn xlsx_numbers_and_dates(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let id = id_exact_as_number();
    let rows = vec![
        vec![
            Cell::Text("编号"),
            Cell::Text("姓名"),
            Cell::Text("手机"),
            Cell::Text("身份证号"),
            Cell::Text("生日"),
            Cell::Text("护照有效期"),
        ],
        vec![
            Cell::Text("C400001"),
            Cell::Text("周杰"),
            Cell::Number(13812345678.0),
            Cell::Number(id.parse::<f64>()?),
            Cell::Date(1990, 8, 15),
            Cell::Date(2030, 1, 31),
        ],
        vec![Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty],
        vec![Cell::Number(400002.0), Cell::Text("吴磊"), Cell::Number(2.5), Cell::Empty, Cell::Empty, Cell::Empty],
    ];
    let report =
        import(&api, "", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", workbook(&rows)?).await?;
    ensure!(report["created"] == 1 && report["failed"] == 1, "{report}");
    let errs = errors_at(&report, 4);
    ensure!(errs.contains(&("code".into(), "invalid_customer_code".into())), "{errs:?}");
    ensure!(errs.contains(&("phone".into(), "invalid_phone".into())), "{errs:?}");
    type Texts = (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Texts = sqlx::query_as(
        "SELECT mobile, birthday, passport_expiry, id_card_masked, gender FROM customers WHERE code = 'C400001'",
    )
    .fetch_one(app.store.pool())
    .await?;
    ensure!(row.0.as_deref() == Some("13812345678"), "phone digits, not 1.38e10: {row:?}");
    ensure!(row.1.as_deref() == Some("1990-08-15") && row.2.as_deref() == Some("2030-01-31"), "dates: {row:?}");
    ensure!(row.3.as_deref() == Some(format!("440306********{}", &id[14..]).as_str()), "{row:?}");
    ensure!(
        row.4.as_deref() == Some(if (id.as_bytes()[16] - b'0') % 2 == 1 { "male" } else { "female" }),
        "gender from the ID"
    );
    Ok(())
}

async fn dry_run_writes_nothing(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let audits = count(&app, "SELECT COUNT(*) FROM audit_log").await?;
    let report = import(&api, "?dry_run=true", "text/csv", gbk(&messy_list())).await?;
    ensure!(report["dry_run"] == true && report["created"] == 2 && report["failed"] == 5, "{report}");
    ensure!(action_at(&report, 2) == "create" && action_at(&report, 7) == "create", "{report}");
    ensure!(count(&app, "SELECT COUNT(*) FROM customers").await? == 0, "no customer written");
    ensure!(count(&app, "SELECT COUNT(*) FROM customer_tags").await? == 0, "no tag written");
    ensure!(count(&app, "SELECT COUNT(*) FROM audit_log").await? == audits, "no audit row");
    // Then for real: exactly what the dry run said.
    let report = import(&api, "", "text/csv", gbk(&messy_list())).await?;
    check_messy_outcome(&app, Some(&report)).await
}

async fn reimport_updates_by_code(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let id = with_check("11010519851231456");
    let list = |city: &str, id_cell: &str| {
        format!("code,name,phone,city,id_card,tags\nC500001,郑一,13811112222,{city},{id_cell},VIP\nC500002,郑二,13811113333,北京,,\n,郑三,13811114444,上海,,\n")
    };
    let first = import(&api, "", "text/csv", list("北京", &id).into_bytes()).await?;
    ensure!(first["created"] == 3, "{first}");
    let audits = count(&app, "SELECT COUNT(*) FROM audit_log").await?;
    // The same file again: the two coded rows are unchanged, the uncoded one is new again.
    let again = import(&api, "", "text/csv", list("北京", &id).into_bytes()).await?;
    ensure!(again["unchanged"] == 2 && again["updated"] == 0 && again["created"] == 1, "{again}");
    ensure!(
        count(&app, "SELECT COUNT(*) FROM customers WHERE code IN ('C500001','C500002')").await? == 2,
        "no duplicates"
    );
    ensure!(
        count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'update'").await? == 0,
        "unchanged rows are not audited"
    );
    let _ = audits;
    // A changed city, the ID cell left empty, then its masked form: kept.
    let masked: String = sqlx::query_scalar("SELECT id_card_masked FROM customers WHERE code = 'C500001'")
        .fetch_one(app.store.pool())
        .await?;
    for (city, id_cell) in [("天津", ""), ("重庆", masked.as_str())] {
        let r = import(&api, "", "text/csv", list(city, id_cell).into_bytes()).await?;
        ensure!(r["updated"] == 1 && r["unchanged"] == 1 && r["failed"] == 0, "{city}: {r}");
        let (stored_city, has_id): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT city, id_card_hash FROM customers WHERE code = 'C500001'")
                .fetch_one(app.store.pool())
                .await?;
        ensure!(stored_city.as_deref() == Some(city) && has_id.is_some(), "{city}: city changed, ID kept");
    }
    let changes: Vec<String> =
        sqlx::query_scalar("SELECT changes FROM audit_log WHERE action = 'update' AND entity = 'customer' ORDER BY id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(changes.len() == 2, "one audit row per update: {changes:?}");
    ensure!(changes.iter().all(|c| c.contains("\"city\"") && !c.contains("id_card")), "{changes:?}");
    ensure!(changes[0].contains("北京") && changes[0].contains("天津"), "{}", changes[0]);
    Ok(())
}

fn keyuan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keyuan"));
    c.env_remove("KEYUAN_DATABASE_URL").env("KEYUAN_LOG", "warn");
    c
}

async fn cli_round_trip(app: TestApp) -> Result<()> {
    app.create_user("lina", "sales", None).await?;
    let dir = app.db.scratch_dir();
    let file = dir.join("客户名单.csv");
    std::fs::write(&file, gbk(&messy_list()))?;
    let errors = dir.join("errors.csv");
    let url = app.db.url.clone();
    let run = |args: &[&str]| -> Result<(bool, String, String)> {
        let out = keyuan().arg("--database").arg(&url).args(args).output()?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        ))
    };
    let f = file.to_str().context("path")?;
    let (ok, out, err) = run(&["import", "customers", f, "--owner", "lina", "--dry-run"])?;
    ensure!(ok, "dry run exits 0: {out} {err}");
    ensure!(
        out.contains("2 would be created") && out.contains("5 failed") && out.contains("nothing was written"),
        "{out}"
    );
    ensure!(count(&app, "SELECT COUNT(*) FROM customers").await? == 0, "the dry run wrote nothing");
    let (ok, out, err) =
        run(&["import", "customers", f, "--owner", "lina", "--errors", errors.to_str().context("path")?])?;
    ensure!(ok, "rows failed but the file was read: exit 0 ({out} {err})");
    ensure!(out.contains("2 created") && out.contains("5 failed") && out.contains("line 3"), "{out}");
    ensure!(!err.contains('\r'), "no progress line when stderr is not a terminal: {err:?}");
    check_messy_outcome(&app, None).await?;
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT u.username FROM customers c JOIN users u ON u.id = c.owner_id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(owners == ["lina"], "--owner owns the new customers: {owners:?}");
    let report = std::fs::read(&errors)?;
    ensure!(report.starts_with(b"\xEF\xBB\xBF"), "the error report has a BOM");
    let report = String::from_utf8(report)?;
    ensure!(report.contains("line,field,column,reason") && report.contains("4,id_card,身份证,"), "{report}");
    ensure!(report.lines().count() == 1 + 7, "one line per problem: {report}");

    // Export and import back: nothing changes.
    for name in ["export.csv", "export.xlsx"] {
        let out_file = dir.join(name);
        let (ok, out, err) = run(&["export", "customers", out_file.to_str().context("path")?])?;
        ensure!(ok && out.contains("Exported 2 customers"), "{out} {err}");
        let (ok, out, err) = run(&["import", "customers", out_file.to_str().context("path")?])?;
        ensure!(ok, "{out} {err}");
        ensure!(out.contains("0 created, 0 updated, 2 unchanged, 0 failed"), "{name} round trip: {out}");
    }
    let csv = std::fs::read(dir.join("export.csv"))?;
    ensure!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM by default");
    let csv = String::from_utf8(csv)?;
    ensure!(
        csv.lines().next().unwrap_or("").trim_start_matches('\u{feff}').starts_with("code,name,kind,gender,phone,"),
        "{csv}"
    );
    let id = with_check("33010619900815123");
    ensure!(csv.contains(&format!("\t{id}")), "the administrator's export has the ID in full, kept as text");
    let (ok, _, _) = run(&["export", "customers", dir.join("gbk.csv").to_str().context("path")?, "--encoding", "gbk"])?;
    ensure!(ok);
    let gbk_bytes = std::fs::read(dir.join("gbk.csv"))?;
    let (text, _, bad) = encoding_rs::GBK.decode(&gbk_bytes);
    ensure!(!bad && text.contains("杭州云栖科技有限公司"), "GBK export");
    let exports = count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor_id IS NULL").await?;
    ensure!(exports == 3, "each export is audited by the system ({exports})");

    // An unreadable file fails with one line.
    std::fs::write(dir.join("bad.csv"), b"\xff\xfe\xff")?;
    let (ok, _, err) = run(&["import", "customers", dir.join("bad.csv").to_str().context("path")?])?;
    ensure!(!ok && err.lines().count() == 1 && err.starts_with("keyuan: cannot read"), "{err}");
    let (ok, _, err) = run(&["import", "customers", dir.join("missing.csv").to_str().context("path")?])?;
    ensure!(!ok && err.starts_with("keyuan: cannot read"), "{err}");
    Ok(())
}

async fn web_export(app: TestApp) -> Result<()> {
    // Sales may export their own customers (granted here), without seeing documents in full.
    let role = store::roles::by_code(&app.store, "sales").await?;
    let mut grants = role.grants.clone();
    grants.0.insert(domain::access::Permission::CustomersExport, domain::access::Scope::Own);
    grants.0.remove(&domain::access::Permission::CustomersPii);
    let mut tx = app.store.begin().await?;
    store::roles::update(
        &mut tx,
        &store::Actor::system("test"),
        role.id,
        role.version,
        &role.name_zh,
        &role.name_en,
        &grants,
    )
    .await?;
    tx.commit().await?;
    let api = admin(&app).await?;
    let (_, pw) = app.create_user("wangfang", "sales", None).await?;
    app.create_user("liqiang", "sales", None).await?;
    let (_, fpw) = app.create_user("zhaomin", "finance", None).await?;
    let id = with_check("11010119900101123");
    let csv = format!(
        "编号,姓名,手机,身份证号,负责人,备注,职务,微信,爱好\n\
         C600001,王芳的客户,13900001111,{id},wangfang,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"点我\"\")\",+1,-2,@x\n\
         C600002,李强的客户,13900002222,,liqiang,,,,\n"
    );
    let r = import(&api, "", "text/csv", csv.into_bytes()).await?;
    ensure!(r["created"] == 2, "{r}");

    let sales = app.api_as("wangfang", &pw).await?;
    let (status, body) = sales.get("/api/v1/customers/export?format=csv").await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let text = body.as_str().context("CSV text")?.to_string();
    ensure!(text.contains("C600001") && !text.contains("C600002"), "sales exports only own customers: {text}");
    ensure!(text.contains("110101********") && !text.contains(&id), "ID masked without customers.pii: {text}");
    for cell in ["'=HYPERLINK(", "'+1", "'-2", "'@x"] {
        ensure!(text.contains(cell), "{cell} neutralised in {text}");
    }
    ensure!(!text.contains(",=HYPERLINK"), "no live formula");

    let (status, _) = app.api_as("zhaomin", &fpw).await?.get("/api/v1/customers/export?format=csv").await?;
    ensure!(status == StatusCode::FORBIDDEN, "finance may read but not export: {status}");

    let (status, body) = api.get("/api/v1/customers/export?format=csv&q=C600001").await?;
    ensure!(status == StatusCode::OK);
    let text = body.as_str().context("CSV")?;
    ensure!(
        text.contains(&format!("\t{id}")) && !text.contains("C600002"),
        "administrator: ID in full, filter applied"
    );
    let (status, body) = api.get("/api/v1/customers/export?format=pdf").await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status} {body}");

    // XLSX: every cell text, formulas neutralised there too.
    let resp = sales
        .client
        .get(format!("{}/api/v1/customers/export?format=xlsx", sales.base))
        .bearer_auth(sales.token.as_deref().unwrap_or(""))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK);
    ensure!(resp.headers()["content-type"].to_str()?.contains("spreadsheetml"));
    let bytes = resp.bytes().await?.to_vec();
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))?;
    let range = book.worksheet_range_at(0).context("a sheet")??;
    let rows: Vec<Vec<calamine::Data>> = range.rows().map(|r| r.to_vec()).collect();
    ensure!(rows.len() == 2, "header and one customer: {}", rows.len());
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).with_context(|| format!("column {name}"));
    ensure!(matches!(&rows[1][col("phone")?], calamine::Data::String(s) if s == "13900001111"), "phone as text");
    ensure!(
        matches!(&rows[1][col("notes")?], calamine::Data::String(s) if s.starts_with("'=HYPERLINK")),
        "{:?}",
        rows[1]
    );
    ensure!(matches!(&rows[1][col("title")?], calamine::Data::String(s) if s == "'+1"));

    // The list page's export: Chinese headers, audited with the row count and filter.
    let mut b = Browser::new(&app.base);
    b.login("wangfang", &pw).await?;
    let resp = b.client.get(format!("{}/customers/export?format=csv&kind=individual", app.base)).send().await?;
    ensure!(resp.status() == StatusCode::OK);
    ensure!(resp.headers()["content-disposition"].to_str()?.contains("attachment"));
    let text = resp.text().await?;
    ensure!(text.trim_start_matches('\u{feff}').starts_with("编号,姓名,类型"), "{text}");
    let audits: Vec<(Option<i64>, String, String)> =
        sqlx::query_as("SELECT actor_id, summary, changes FROM audit_log WHERE action = 'export' ORDER BY id")
            .fetch_all(app.store.pool())
            .await?;
    ensure!(audits.len() == 4, "every export audited: {audits:?}");
    let last = &audits[3];
    ensure!(last.1.contains("exported 1 customers") && last.2.contains("kind=individual"), "{last:?}");
    Ok(())
}

async fn vcards(app: TestApp) -> Result<()> {
    let api = admin(&app).await?;
    let (_, pw) = app.create_user("wangfang", "sales", None).await?;
    let csv = "编号,姓名,类型,手机,固定电话,邮箱,单位,职务,省份,城市,地址,生日\n\
               C700001,欧阳娜娜,散客,13812345678,010-62345678,nana@example.cn,\"北京国旅, 总部; 三楼\",经理,北京,北京,朝阳区建国路 88 号 SOHO 现代城 A 座 2801 室（请从北门进入，电梯到 28 层）,1995-06-15\n\
               C700002,杭州云栖科技有限公司,集团/企业,,0571-88886666,,,,浙江,杭州,西湖区,\n";
    let r = import(&api, "", "text/csv", csv.as_bytes().to_vec()).await?;
    ensure!(r["created"] == 2, "{r}");
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE code = 'C700001'").fetch_one(app.store.pool()).await?;
    let resp = api
        .client
        .get(format!("{}/customers/{id}/vcard", api.base))
        .bearer_auth(api.token.as_deref().unwrap_or(""))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK);
    ensure!(resp.headers()["content-type"].to_str()?.starts_with("text/vcard"));
    let v = resp.text().await?;
    ensure!(v.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n") && v.ends_with("END:VCARD\r\n"), "{v}");
    ensure!(!v.replace("\r\n", "").contains('\n'), "CRLF only");
    ensure!(v.split("\r\n").all(|l| l.len() <= 75), "folded at 75 octets: {v}");
    let unfolded = v.replace("\r\n ", "");
    for want in [
        "\r\nFN:欧阳娜娜\r\n",
        "\r\nN:欧阳;娜娜;;;\r\n",
        "TEL;VALUE=uri;TYPE=cell:tel:+86-13812345678\r\n",
        "TEL;VALUE=uri;TYPE=work:tel:+86-10-62345678\r\n",
        "EMAIL;TYPE=work:nana@example.cn\r\n",
        "ORG:北京国旅\\, 总部\\; 三楼\r\n",
        "TITLE:经理\r\n",
        "BDAY:19950615\r\n",
        "NOTE:客户编号 C700001\r\n",
    ] {
        ensure!(unfolded.contains(want), "{want:?} in {unfolded}");
    }
    ensure!(
        unfolded.contains(
            "ADR;TYPE=work:;;朝阳区建国路 88 号 SOHO 现代城 A 座 2801 室（请从北门进入，电梯到 28 层）;北京;北京;;中国"
        ),
        "{unfolded}"
    );

    // A contact person of the company.
    let org_id: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE code = 'C700002'").fetch_one(app.store.pool()).await?;
    let all = store::visibility::Visibility {
        scope: domain::access::Scope::All,
        user_id: domain::ids::UserId(0),
        teams: Vec::new(),
    };
    let org = store::customers::get(&app.store, &all, domain::ids::CustomerId(org_id)).await?;
    let mut tx = app.store.begin().await?;
    let contact = store::customers::add_contact(
        &mut tx,
        &store::Actor::system("test"),
        &org,
        &store::customers::ContactDraft {
            name: "司马光".into(),
            role: "office_director".into(),
            title: Some("办公室主任".into()),
            mobile: Some("13900009999".into()),
            email: Some("simaguang@example.cn".into()),
            is_primary: true,
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    let resp = api
        .client
        .get(format!("{}/customers/{org_id}/contacts/{}/vcard", api.base, contact.0))
        .bearer_auth(api.token.as_deref().unwrap_or(""))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK);
    let v = resp.text().await?.replace("\r\n ", "");
    for want in [
        "\r\nN:司马;光;;;\r\n",
        "ORG:杭州云栖科技有限公司\r\n",
        "TEL;VALUE=uri;TYPE=cell:tel:+86-13900009999\r\n",
        "ROLE:办公室主任\r\n",
    ] {
        ensure!(v.contains(want), "{want:?} in {v}");
    }
    // Someone who may not see the customer gets 404, as for the record itself.
    let sales = app.api_as("wangfang", &pw).await?;
    let resp = sales
        .client
        .get(format!("{}/customers/{id}/vcard", sales.base))
        .bearer_auth(sales.token.as_deref().unwrap_or(""))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::NOT_FOUND, "{}", resp.status());
    Ok(())
}

/// A `multipart/form-data` body with one file field, as a browser sends it.
fn multipart(file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----keyuan-test-boundary-7f3a";
    let mut body = Vec::new();
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn page_flow(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("chenjing", "admin", None).await?;
    let mut b = app.browser("chenjing", &pw).await?;
    let (status, html) = b.get("/customers/import").await?;
    ensure!(status == StatusCode::OK && html.contains("enctype=\"multipart/form-data\""), "{status}");
    let csrf = b.csrf().context("csrf")?.to_string();
    // Without the token in the URL the upload is refused (CSRF).
    let (ct, body) = multipart("客户名单.csv", &gbk(&messy_list()));
    let resp = b
        .client
        .post(format!("{}/customers/import/upload", app.base))
        .header("content-type", &ct)
        .body(body.clone())
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::BAD_REQUEST, "no CSRF token: {}", resp.status());
    let resp = b
        .client
        .post(format!("{}/customers/import/upload?csrf={csrf}", app.base))
        .header("content-type", &ct)
        .body(body)
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::SEE_OTHER, "upload: {} {}", resp.status(), resp.text().await?);
    let mapping = resp.headers()["location"].to_str()?.to_string();
    let token = mapping.rsplit('/').next().context("token")?.to_string();
    let (status, html) = b.get(&mapping).await?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(html.contains("<option value=\"phone\" selected>"), "手机号码 is matched to phone");
    ensure!(html.contains("zhangsan@example.cn"), "sample values are shown");
    // Another person cannot continue someone else's upload.
    let (_, pw2) = app.create_user("liqiang", "admin", None).await?;
    let mut other = app.browser("liqiang", &pw2).await?;
    ensure!(other.get(&mapping).await?.0 == StatusCode::NOT_FOUND, "only the uploader");

    // The columns as matched, the unknown 会员卡 column left out.
    let mut fields: Vec<(String, String)> = [
        "code", "name", "kind", "gender", "phone", "email", "birthday", "province", "city", "company", "id_card",
        "source", "tags", "notes", "",
    ]
    .iter()
    .enumerate()
    .map(|(i, f)| (format!("col{i}"), f.to_string()))
    .collect();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _) = b.post_form(&format!("/customers/import/{token}/check"), &pairs).await?;
    ensure!(status == StatusCode::SEE_OTHER, "dry run: {status}");
    let (status, html) = b.get(&format!("/customers/import/{token}/check")).await?;
    ensure!(status == StatusCode::OK);
    ensure!(html.contains("data-count=\"created\">2<") && html.contains("data-count=\"failed\">5<"), "{html}");
    ensure!(count(&app, "SELECT COUNT(*) FROM customers").await? == 0, "the dry run wrote nothing");
    // A mapping that fills one field twice is refused on the mapping page.
    fields[1].1 = "code".into();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, html) = b.post_form(&format!("/customers/import/{token}/check"), &pairs).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && html.contains("both fill code"), "{status}");
    let (status, _) = b.post_form(&format!("/customers/import/{token}/run"), &[]).await?;
    ensure!(status == StatusCode::SEE_OTHER, "import: {status}");
    let (status, html) = b.get(&format!("/customers/import/{token}/result")).await?;
    ensure!(status == StatusCode::OK && html.contains("data-count=\"created\">2<"), "{html}");
    ensure!(html.contains("errors.csv"), "a link to the error report");
    // Posting again does not import twice.
    let (status, _) = b.post_form(&format!("/customers/import/{token}/run"), &[]).await?;
    ensure!(status == StatusCode::SEE_OTHER);
    let resp = b.client.get(format!("{}/customers/import/{token}/errors.csv", app.base)).send().await?;
    ensure!(resp.status() == StatusCode::OK);
    let csv = resp.bytes().await?;
    ensure!(csv.starts_with(b"\xEF\xBB\xBF"));
    let csv = String::from_utf8(csv.to_vec())?;
    ensure!(csv.contains("3,phone,手机号码,") && csv.contains("6,code,客户编号,"), "{csv}");
    check_messy_outcome(&app, None).await
}

async fn browser_import(app: TestApp) -> Result<()> {
    use crate::browser::{browser, start_driver, text_of, wait_for_path};
    use fantoccini::Locator;
    use std::time::Duration;
    let (_, pw) = app.create_user("chenjing", "admin", None).await?;
    let file = app.db.scratch_dir().join("customers-gbk.csv");
    std::fs::write(&file, gbk(&messy_list()))?;
    let driver = start_driver().await?;
    let profile = app.db.scratch_dir().join("chromium-profile");
    let c = browser(&driver, &profile).await?;
    let result = async {
        c.goto(&format!("{}/login", app.base)).await?;
        c.find(Locator::Css("input[name=username]")).await?.send_keys("chenjing").await?;
        c.find(Locator::Css("input[name=password]")).await?.send_keys(&pw).await?;
        c.find(Locator::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
        // Logged in once the dashboard has replaced the login page.
        let mut logged_in = false;
        for _ in 0..100 {
            if c.current_url().await?.path() == "/" {
                logged_in = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ensure!(logged_in, "the login went through");
        c.goto(&format!("{}/customers/import", app.base)).await?;
        ensure!(text_of(&c, "main h1").await? == "导入客户");
        c.find(Locator::Css("input[type=file]")).await?.send_keys(file.to_str().context("path")?).await?;
        c.find(Locator::Css("#import-upload button[type=submit]")).await?.click().await?;
        // Mapping step: the columns are matched from the Chinese headers.
        let form = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#import-mapping")).await?;
        let phone = form.find(Locator::Css("select[name=col4]")).await?;
        ensure!(phone.prop("value").await?.as_deref() == Some("phone"), "手机号码 → phone");
        form.find(Locator::Css("button[type=submit]")).await?.click().await?;
        // Dry run.
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#import-run")).await?;
        ensure!(text_of(&c, "[data-count=failed]").await? == "5");
        ensure!(text_of(&c, "[data-count=created]").await? == "2");
        c.find(Locator::Css("#import-run button[type=submit]")).await?.click().await?;
        // The import and its error report (the dry run's page lists the errors too).
        wait_for_path(&c, "/result").await?;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#import-errors")).await?;
        ensure!(text_of(&c, "main h1").await? == "导入完成");
        ensure!(text_of(&c, "[data-count=created]").await? == "2");
        let table = text_of(&c, "#import-errors").await?;
        ensure!(table.contains("身份证 (id_card)") && table.contains("身份证号校验位错误"), "{table}");
        let link = c.find(Locator::Css("#import-errors-csv")).await?.attr("href").await?.unwrap_or_default();
        ensure!(link.ends_with("/errors.csv"), "{link}");
        Ok(())
    }
    .await;
    let _ = c.close().await;
    result?;
    check_messy_outcome(&app, None).await
}
