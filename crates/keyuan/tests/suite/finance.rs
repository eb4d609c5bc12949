//! Receipts, refunds, balances, aging, statements, history import.

use crate::harness::{story, Api, Story, TestApp};
use crate::orders::{customer, fields, has_field, id, order, user};
use anyhow::{ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("receipts_bring_the_balance_to_zero_and_bad_ones_change_nothing", receipts_and_balance),
        story("only_finance_records_money_and_reads_stay_in_scope", finance_permissions),
        story("aging_sorts_outstanding_receivables_by_due_date", aging),
        story("statements_sum_the_month_the_year_people_and_types_and_export_xlsx", statements),
        story("cli_imports_order_history_and_payments_from_gbk_csv_and_reimports_update", cli_import),
    ]
}

async fn receipt(api: &Api, body: Value) -> Result<(StatusCode, Value)> {
    api.post("/api/v1/receipts", &body).await
}

async fn balance(api: &Api, order: i64) -> Result<Value> {
    let (s, b) = api.get(&format!("/api/v1/orders/{order}/balance")).await?;
    ensure!(s == StatusCode::OK, "balance: {s} {b}");
    Ok(b)
}

async fn receipt_count(app: &TestApp) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(app.store.pool()).await?)
}

async fn receipts_and_balance(app: TestApp) -> Result<()> {
    let (_, sales) = user(&app, "wang", "sales").await?;
    let (_, fin) = user(&app, "kuaiji", "finance").await?;
    let c = customer(&sales, "李娜", "13800001111").await?;
    let o = order(&sales, json!({"customer_id": c, "product_type": "long_haul", "amount": "1000"})).await?;
    let oid = id(&o);

    let (s, r1) = receipt(
        &fin,
        json!({"order_id": oid, "method": "微信", "amount": "400", "received_on": "2027-01-05", "reference": "WX001"}),
    )
    .await?;
    ensure!(s == StatusCode::CREATED, "{s} {r1}");
    ensure!(r1["receipt_no"].as_str().is_some_and(|n| n.starts_with("R2027-")), "{r1}");
    ensure!(r1["kind"] == "receipt" && r1["method"] == "wechat_pay" && r1["amount"] == "400.00", "{r1}");
    let b = balance(&fin, oid).await?;
    ensure!(b["due"] == "1000.00" && b["received"] == "400.00" && b["balance"] == "600.00", "{b}");

    // Above the balance without the flag: 422 on amount, nothing written.
    let (s, bad) = receipt(&fin, json!({"order_id": oid, "method": "cash", "amount": "600.01"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "amount", "exceeds_balance"), "{s} {bad}");
    ensure!(receipt_count(&app).await? == 1);
    let (s, bad) = receipt(&fin, json!({"order_id": oid, "method": "gold", "amount": "0", "kind": "gift"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {bad}");
    for f in ["method", "kind"] {
        ensure!(fields(&bad).iter().any(|(x, _)| x == f), "{f}: {bad}");
    }

    let (s, _) = receipt(&fin, json!({"order_id": oid, "method": "bank_transfer", "amount": "600"})).await?;
    ensure!(s == StatusCode::CREATED);
    let b = balance(&fin, oid).await?;
    ensure!(b["balance"] == "0.00" && b["received"] == "1000.00" && b["overpayment"] == "0.00", "{b}");

    // Flagged overpayment is accepted and shown.
    let (s, r) = receipt(&fin, json!({"order_id": oid, "method": "cash", "amount": "50", "overpayment": true})).await?;
    ensure!(s == StatusCode::CREATED && r["overpayment"] == true, "{s} {r}");
    let b = balance(&fin, oid).await?;
    ensure!(b["overpayment"] == "50.00" && b["balance"] == "0.00", "{b}");

    // Refund above what was received: 422.
    let (s, bad) =
        receipt(&fin, json!({"order_id": oid, "kind": "refund", "method": "cash", "amount": "1050.01"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "amount", "exceeds_received"), "{s} {bad}");
    let (s, _) = receipt(&fin, json!({"order_id": oid, "kind": "refund", "method": "cash", "amount": "50"})).await?;
    ensure!(s == StatusCode::CREATED);

    // Cancelled: no more money in, refunds still possible.
    let (s, cancelled) =
        sales.post(&format!("/api/v1/orders/{oid}/status"), &json!({"status": "cancelled", "version": 1})).await?;
    ensure!(s == StatusCode::OK, "{s} {cancelled}");
    let before = receipt_count(&app).await?;
    let (s, bad) =
        receipt(&fin, json!({"order_id": oid, "method": "cash", "amount": "1", "overpayment": true})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "amount", "order_cancelled"), "{s} {bad}");
    ensure!(receipt_count(&app).await? == before, "nothing written");
    let b = balance(&fin, oid).await?;
    ensure!(b["due"] == "0.00" && b["overpayment"] == "1000.00", "a cancelled order owes nothing: {b}");
    let (s, _) =
        receipt(&fin, json!({"order_id": oid, "kind": "refund", "method": "bank_transfer", "amount": "1000"})).await?;
    ensure!(s == StatusCode::CREATED);
    let b = balance(&fin, oid).await?;
    ensure!(b["overpayment"] == "0.00" && b["refunded"] == "1050.00", "{b}");

    // Per customer, and the list.
    let o2 = order(&sales, json!({"customer_id": c, "product_type": "nearby", "amount": "300"})).await?;
    receipt(&fin, json!({"order_id": id(&o2), "method": "alipay", "amount": "100"})).await?;
    let (s, cb) = fin.get(&format!("/api/v1/customers/{c}/balance")).await?;
    ensure!(s == StatusCode::OK && cb["due"] == "300.00" && cb["balance"] == "200.00", "{s} {cb}");
    let (_, list) = fin.get(&format!("/api/v1/receipts?order_id={oid}")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(5), "{list}");
    let (_, list) = fin.get(&format!("/api/v1/receipts?customer_id={c}&limit=2")).await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(2) && list["next"].is_string(), "{list}");
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'receipt'")
        .fetch_one(app.store.pool())
        .await?;
    ensure!(audited == receipt_count(&app).await?, "every receipt audited");
    let (_, detail) = sales.get(&format!("/api/v1/orders/{}", id(&o2))).await?;
    ensure!(detail["balance"]["balance"] == "200.00", "the order page shows its balance: {detail}");
    Ok(())
}

async fn finance_permissions(app: TestApp) -> Result<()> {
    let (_, wang) = user(&app, "wang", "sales").await?;
    let (_, li) = user(&app, "lisi", "sales").await?;
    let (_, fin) = user(&app, "kuaiji", "finance").await?;
    let c = customer(&wang, "周杰", "13800003333").await?;
    let o = order(&wang, json!({"customer_id": c, "product_type": "nearby", "amount": "800"})).await?;
    let (s, _) = receipt(&wang, json!({"order_id": id(&o), "method": "cash", "amount": "100"})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "sales cannot record receipts: {s}");
    ensure!(receipt_count(&app).await? == 0);
    let (s, _) = receipt(&fin, json!({"order_id": id(&o), "method": "cash", "amount": "100"})).await?;
    ensure!(s == StatusCode::CREATED);
    let b = balance(&wang, id(&o)).await?;
    ensure!(b["balance"] == "700.00", "the owner reads the balance: {b}");
    let (s, _) = li.get(&format!("/api/v1/orders/{}/balance", id(&o))).await?;
    ensure!(s == StatusCode::NOT_FOUND, "another salesperson does not: {s}");
    let (_, list) = li.get("/api/v1/receipts").await?;
    ensure!(list["items"].as_array().map(Vec::len) == Some(0), "{list}");
    let (s, _) = li.get(&format!("/api/v1/customers/{c}/balance")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");
    let (_, aging) = li.get("/api/v1/finance/aging").await?;
    ensure!(aging["total"] == "0.00", "{aging}");
    let (_, service) = user(&app, "kefu", "service").await?;
    let (s, _) = service.get("/api/v1/finance/aging").await?;
    ensure!(s == StatusCode::FORBIDDEN, "service has no finance.read: {s}");
    Ok(())
}

async fn aging(app: TestApp) -> Result<()> {
    let (_, sales) = user(&app, "wang", "sales").await?;
    let (_, fin) = user(&app, "kuaiji", "finance").await?;
    let c = customer(&sales, "陈静", "13800004444").await?;
    let mk = |due: &'static str, amount: &'static str| json!({"customer_id": c, "product_type": "nearby", "order_date": "2027-01-01", "due_date": due, "amount": amount});
    let current = order(&sales, mk("2027-06-30", "100")).await?;
    let d10 = order(&sales, mk("2027-06-20", "200")).await?;
    let d45 = order(&sales, mk("2027-05-16", "300")).await?;
    let d100 = order(&sales, mk("2027-03-22", "400")).await?;
    let paid = order(&sales, mk("2027-01-01", "500")).await?;
    let cancelled = order(&sales, mk("2027-01-01", "600")).await?;
    receipt(&fin, json!({"order_id": id(&paid), "method": "cash", "amount": "500"})).await?;
    receipt(&fin, json!({"order_id": id(&d10), "method": "cash", "amount": "50"})).await?;
    sales
        .post(&format!("/api/v1/orders/{}/status", id(&cancelled)), &json!({"status": "cancelled", "version": 1}))
        .await?;
    let (s, a) = fin.get("/api/v1/finance/aging?as_of=2027-06-30").await?;
    ensure!(s == StatusCode::OK, "{s} {a}");
    let lines: Vec<(String, i64, String)> = a["lines"]
        .as_array()
        .context("lines")?
        .iter()
        .map(|l| {
            (
                l["bucket"].as_str().unwrap_or("").to_string(),
                l["count"].as_i64().unwrap_or(-1),
                l["amount"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("current", 1, "100.00"),
        ("days_1_30", 1, "150.00"),
        ("days_31_60", 1, "300.00"),
        ("days_61_90", 0, "0.00"),
        ("over_90", 1, "400.00"),
    ];
    ensure!(lines.iter().map(|(b, c, m)| (b.as_str(), *c, m.as_str())).collect::<Vec<_>>() == want, "{lines:?}");
    ensure!(a["total"] == "950.00", "{a}");
    let listed: Vec<i64> = a["orders"].as_array().context("orders")?.iter().map(id_of_order).collect();
    ensure!(listed.len() == 4 && listed.contains(&id(&current)) && listed.contains(&id(&d45)), "{listed:?}");
    ensure!(!listed.contains(&id(&paid)) && !listed.contains(&id(&cancelled)), "{listed:?}");
    ensure!(listed[0] == id(&d100), "oldest due first: {listed:?}");
    let (s, bad) = fin.get("/api/v1/finance/aging?as_of=yesterday").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "as_of", "invalid_date"), "{s} {bad}");
    Ok(())
}

fn id_of_order(v: &Value) -> i64 {
    v["order_id"].as_i64().unwrap_or(0)
}

async fn statements(app: TestApp) -> Result<()> {
    let (wang_id, wang) = user(&app, "wang", "sales").await?;
    let (li_id, li) = user(&app, "lisi", "sales").await?;
    let (_, fin) = user(&app, "kuaiji", "finance").await?;
    let cw = customer(&wang, "李娜", "13800001111").await?;
    let cl = customer(&li, "赵敏", "13800002222").await?;
    let mk = |c: i64, date: &str, t: &str, amount: &str| json!({"customer_id": c, "product_type": t, "order_date": date, "amount": amount});
    let a = order(&wang, mk(cw, "2027-05-03", "long_haul", "10000")).await?;
    order(&wang, mk(cw, "2027-05-31", "day_trip", "300")).await?;
    let b = order(&li, mk(cl, "2027-05-15", "long_haul", "5000")).await?;
    order(&li, mk(cl, "2027-04-30", "international", "20000")).await?;
    order(&li, mk(cl, "2026-05-10", "ticket", "99")).await?;
    let gone = order(&li, mk(cl, "2027-05-20", "nearby", "700")).await?;
    li.post(&format!("/api/v1/orders/{}/status", id(&gone)), &json!({"status": "cancelled", "version": 1})).await?;
    for (o, kind, amount, on) in [
        (&a, "receipt", "6000", "2027-05-04"),
        (&b, "receipt", "5000", "2027-05-20"),
        (&b, "refund", "800", "2027-05-25"),
        (&a, "receipt", "1000", "2027-06-01"),
    ] {
        let (s, r) = receipt(
            &fin,
            json!({"order_id": id(o), "kind": kind, "method": "bank_transfer", "amount": amount, "received_on": on}),
        )
        .await?;
        ensure!(s == StatusCode::CREATED, "{s} {r}");
    }
    let (s, st) = fin.get("/api/v1/finance/statement?year=2027&month=5").await?;
    ensure!(s == StatusCode::OK, "{s} {st}");
    ensure!(st["receivables"] == "15300.00" && st["order_count"] == 3, "cancelled orders left out: {st}");
    ensure!(st["receipts"] == "11000.00" && st["refunds"] == "800.00" && st["net"] == "10200.00", "{st}");
    let months = st["by_month"].as_array().context("by_month")?;
    ensure!(months.len() == 12, "{st}");
    ensure!(months[3]["receivables"] == "20000.00" && months[4]["receivables"] == "15300.00", "{st}");
    ensure!(months[4]["received"] == "10200.00" && months[5]["received"] == "1000.00", "{st}");
    let people = st["by_salesperson"].as_array().context("people")?;
    let of = |who: i64| people.iter().find(|p| p["user_id"] == who).map(|p| p["receivables"].clone());
    ensure!(of(wang_id) == Some(json!("10300.00")) && of(li_id) == Some(json!("5000.00")), "{people:?}");
    let types = st["by_product_type"].as_array().context("types")?;
    let of = |t: &str| types.iter().find(|p| p["product_type"] == t).map(|p| p["receivables"].clone());
    ensure!(of("long_haul") == Some(json!("15000.00")) && of("day_trip") == Some(json!("300.00")), "{types:?}");
    ensure!(of("nearby") == Some(json!("0.00")) && types.len() == 7, "{types:?}");
    // A salesperson's statement covers their own orders only.
    let (_, mine) = li.get("/api/v1/finance/statement?year=2027&month=5").await?;
    ensure!(mine["receivables"] == "5000.00" && mine["net"] == "4200.00", "{mine}");
    let (s, bad) = fin.get("/api/v1/finance/statement?year=2027&month=13").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&bad, "month", "out_of_range"), "{s} {bad}");

    let resp = fin
        .client
        .get(format!("{}/finance/statement.xlsx?year=2027&month=5", fin.base))
        .bearer_auth(fin.token.as_deref().unwrap_or(""))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "xlsx: {}", resp.status());
    ensure!(resp.headers()["content-type"].to_str()?.contains("spreadsheetml"));
    let bytes = resp.bytes().await?.to_vec();
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))?;
    ensure!(book.sheet_names().len() == 4, "{:?}", book.sheet_names());
    let month = book.worksheet_range_at(0).context("month sheet")??;
    let cell = |r: u32, c: u32| month.get_value((r, c)).map(|v| v.to_string()).unwrap_or_default();
    ensure!(cell(0, 0) == "2027-05", "{}", cell(0, 0));
    ensure!(
        cell(1, 1) == "15300" && cell(2, 1) == "11000" && cell(3, 1) == "800" && cell(4, 1) == "10200",
        "{} {} {} {}",
        cell(1, 1),
        cell(2, 1),
        cell(3, 1),
        cell(4, 1)
    );
    let year = book.worksheet_range_at(1).context("year sheet")??;
    ensure!(year.get_value((5, 1)).map(|v| v.to_string()) == Some("15300".into()), "May in the year sheet");
    let exported: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'finance_statement' AND action = 'export'")
            .fetch_one(app.store.pool())
            .await?;
    ensure!(exported == 1, "the export is audited");
    Ok(())
}

fn keyuan(url: &str, args: &[&str]) -> Result<(bool, String)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyuan"))
        .env_remove("KEYUAN_DATABASE_URL")
        .env("KEYUAN_LOG", "warn")
        .args(["--database", url])
        .args(args)
        .output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

async fn count(app: &TestApp, sql: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(app.store.pool()).await?)
}

async fn cli_import(app: TestApp) -> Result<()> {
    let (_, sales) = user(&app, "wang", "sales").await?;
    let (_, fin) = user(&app, "kuaiji", "finance").await?;
    let c = customer(&sales, "李娜", "13800001111").await?;
    let (_, got) = sales.get(&format!("/api/v1/customers/{c}")).await?;
    let code = got["code"].as_str().context("code")?.to_string();
    let dir = app.db.scratch_dir();
    std::fs::create_dir_all(&dir)?;
    let orders_csv = dir.join("orders.csv");
    let errors_csv = dir.join("errors.csv");
    let file = format!(
        "客户编号,订单号,下单日期,金额,产品类型,目的地,成人,儿童,状态,已付金额,出行日期\n\
         {code},H2025-001,2025-03-01,5000,长线,昆明,2,0,已完成,5000,2025-04-01\n\
         {code},H2025-002,2025/06/15,1200.50,一日游,杭州,1,1,,600,\n\
         NOPE01,H2025-003,2025-07-01,800,,,,,,,\n\
         {code},H2025-004,2025-13-01,abc,,,,,,,\n\
         \n\
         {code},H2025-005,2025-08-01,100,周边游,,,,,200,\n"
    );
    std::fs::write(&orders_csv, gbk(&file))?;
    let path = orders_csv.to_string_lossy().to_string();
    let errs = errors_csv.to_string_lossy().to_string();

    let (ok, out) = keyuan(&app.db.url, &["import", "orders", &path, "--dry-run"])?;
    ensure!(ok && out.contains("2 would be created") && out.contains("3 failed"), "{out}");
    ensure!(count(&app, "SELECT COUNT(*) FROM orders").await? == 0, "a dry run writes nothing");

    let (ok, out) = keyuan(&app.db.url, &["import", "orders", &path, "--errors", &errs])?;
    ensure!(ok, "{out}");
    ensure!(out.contains("GB18030") || out.contains("GBK"), "the encoding is reported: {out}");
    ensure!(out.contains("2 created, 0 updated, 0 unchanged, 3 failed"), "{out}");
    ensure!(out.contains("line 4") && out.contains("NOPE01"), "unknown customer named with its line: {out}");
    ensure!(out.contains("line 5") && out.contains("下单日期") && out.contains("金额"), "{out}");
    ensure!(out.contains("line 7") && out.contains("已付金额"), "paid above the amount: {out}");
    let report = std::fs::read_to_string(&errors_csv)?;
    ensure!(report.contains("line,field,column,reason") && report.contains("5,order_date,下单日期"), "{report}");

    let (oid, amount, status, imported): (i64, i64, String, i64) =
        sqlx::query_as("SELECT id, amount, status, imported FROM orders WHERE order_no = 'H2025-002'")
            .fetch_one(app.store.pool())
            .await?;
    ensure!(amount == 120_050 && status == "completed" && imported == 1, "{amount} {status} {imported}");
    let b = balance(&fin, oid).await?;
    ensure!(b["received"] == "600.00" && b["balance"] == "600.50", "paid_amount became a receipt: {b}");
    ensure!(count(&app, "SELECT COUNT(*) FROM receipts WHERE imported = 1").await? == 2);

    // Again, changed, with customers created for unknown codes: updates, no duplicates.
    let file = format!(
        "客户编号,客户姓名,订单号,下单日期,金额,产品类型,目的地,成人,儿童,状态,已付金额,出行日期\n\
         {code},,H2025-001,2025-03-01,5200,长线,昆明,2,0,已完成,5200,2025-04-01\n\
         {code},,H2025-002,2025/06/15,1200.50,一日游,杭州,1,1,,600,\n\
         NOPE01,赵老板,H2025-003,2025-07-01,800,,,,,,0,\n"
    );
    std::fs::write(&orders_csv, gbk(&file))?;
    let (ok, out) = keyuan(&app.db.url, &["import", "orders", &path, "--create-missing-customers"])?;
    ensure!(ok && out.contains("1 created, 1 updated, 1 unchanged, 0 failed"), "{out}");
    ensure!(count(&app, "SELECT COUNT(*) FROM orders").await? == 3, "no duplicates");
    let (amount,): (i64,) = sqlx::query_as(
        "SELECT amount FROM receipts WHERE imported = 1 AND order_id = \
                                            (SELECT id FROM orders WHERE order_no = 'H2025-001')",
    )
    .fetch_one(app.store.pool())
    .await?;
    ensure!(amount == 520_000, "the imported receipt follows paid_amount: {amount}");
    ensure!(count(&app, "SELECT COUNT(*) FROM receipts WHERE imported = 1").await? == 2, "kept in step, not added");
    let (name,): (String,) =
        sqlx::query_as("SELECT name FROM customers WHERE code = 'NOPE01'").fetch_one(app.store.pool()).await?;
    ensure!(name == "赵老板", "{name}");

    // Payments.
    let pay_csv = dir.join("payments.csv");
    let pay = "订单号,收款日期,金额,收款方式,类型,参考号\n\
               H2025-002,2025-06-20,300,微信,收款,WX1\n\
               H2025-002,2025-06-21,400,现金,收款,\n\
               H2025-001,2025-05-01,100,现金,退款,R1\n\
               NOPE,2025-01-01,1,cash,,\n";
    std::fs::write(&pay_csv, gbk(pay))?;
    let pay_path = pay_csv.to_string_lossy().to_string();
    let (ok, out) = keyuan(&app.db.url, &["import", "payments", &pay_path])?;
    ensure!(ok && out.contains("2 created, 0 updated, 0 unchanged, 2 failed"), "{out}");
    ensure!(out.contains("line 3") && out.contains("balance"), "over the balance: {out}");
    ensure!(out.contains("line 5") && out.contains("NOPE"), "{out}");
    let b = balance(&fin, oid).await?;
    ensure!(b["received"] == "900.00" && b["balance"] == "300.50", "{b}");
    let before = count(&app, "SELECT COUNT(*) FROM receipts").await?;
    let (ok, out) = keyuan(&app.db.url, &["import", "payments", &pay_path])?;
    ensure!(ok && out.contains("0 created, 0 updated, 2 unchanged, 2 failed"), "{out}");
    ensure!(count(&app, "SELECT COUNT(*) FROM receipts").await? == before, "re-import adds nothing");

    let (ok, out) = keyuan(&app.db.url, &["import", "payments", &path])?;
    ensure!(!ok && out.contains("received_on"), "a file without the needed columns is refused: {out}");
    Ok(())
}
