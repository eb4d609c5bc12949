//! Customer value: evaluation runs from the command line, the exported CSV
//! and JSON contracts, grades, pins, alerts and the call list, on both
//! engines.

use crate::harness::{story, Api, Story, TestApp};
use crate::orders::{has_field, user};
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![
        story("evaluate_grades_forecasts_and_exports_the_contract_columns", evaluate_and_export),
        story("runs_pins_alerts_call_list_and_settings_over_the_api_within_scope", api_in_scope),
        story("value_pages_draw_charts_and_the_customer_card_explains_in_both_languages", value_pages),
        story("demo_data_comes_evaluated_with_grades_alerts_and_call_lists", demo_evaluated),
    ]
}

pub(crate) fn keyuan(url: &str, args: &[&str]) -> Result<(bool, String, String)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyuan"))
        .env_remove("KEYUAN_DATABASE_URL")
        .env("KEYUAN_LOG", "warn")
        .args(["--database", url])
        .args(args)
        .output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// One order line of the history file.
pub(crate) struct Line {
    code: String,
    day: &'static str,
    yuan: i64,
    kind: &'static str,
    place: &'static str,
    status: &'static str,
}

fn line(code: &str, day: &'static str, yuan: i64, kind: &'static str, place: &'static str) -> Line {
    Line { code: code.to_string(), day, yuan, kind, place, status: "completed" }
}

/// A base of 41 customers with a known history: V001 travels twice a year,
/// V002 once for a lot, V003…V040 follow simple repeating patterns, and V099
/// books one big trip in 2025, which only evaluations as of 2025 see.
pub(crate) fn history() -> Vec<Line> {
    let mut l = vec![
        line("V001", "2022-01-10", 3000, "nearby", "苏州"),
        line("V001", "2022-01-10", 2000, "nearby", "苏州"),
        line("V001", "2022-07-01", 4000, "long_haul", "云南"),
        line("V001", "2023-01-05", 6000, "long_haul", "云南"),
        line("V001", "2023-07-01", 5000, "long_haul", "云南"),
        line("V001", "2024-01-03", 5000, "long_haul", "海南"),
        Line { status: "cancelled", ..line("V001", "2024-03-01", 90_000, "international", "法国") },
        line("V001", "2024-08-01", 80_000, "international", "法国"),
        line("V002", "2023-10-01", 60_000, "international", "日本"),
        line("V099", "2025-01-15", 400_000, "international", "南极"),
    ];
    const DAYS: [&str; 8] = [
        "2021-09-01",
        "2022-02-10",
        "2022-05-01",
        "2022-10-01",
        "2023-02-01",
        "2023-05-01",
        "2023-09-15",
        "2024-04-01",
    ];
    const KINDS: [(&str, &str); 4] =
        [("nearby", "杭州"), ("long_haul", "云南"), ("international", "泰国"), ("day_trip", "乌镇")];
    for n in 3..=40 {
        let code = format!("V{n:03}");
        let trips = (n % 5 + 1) as usize;
        for k in 0..trips {
            let day = DAYS[(n as usize + k * 3) % DAYS.len()];
            let (kind, place) = KINDS[(n as usize + k) % KINDS.len()];
            l.push(line(&code, day, 800 + (n * 137 + k as i64 * 59) % 4000, kind, place));
        }
    }
    l
}

fn history_csv(lines: &[Line]) -> String {
    let mut s = String::from("customer_code,order_no,order_date,amount,product_type,destination,status\n");
    for (i, l) in lines.iter().enumerate() {
        s.push_str(&format!("{},H{:05},{},{},{},{},{}\n", l.code, i + 1, l.day, l.yuan, l.kind, l.place, l.status));
    }
    s
}

/// Occasions (day → amount) of one customer as of a day, computed here
/// independently of the engine.
fn occasions(lines: &[Line], code: &str, as_of: NaiveDate) -> Vec<(NaiveDate, i64)> {
    let mut by_day = std::collections::BTreeMap::new();
    for l in lines.iter().filter(|l| l.code == code && l.status != "cancelled") {
        let d: NaiveDate = l.day.parse().unwrap();
        if d <= as_of {
            *by_day.entry(d).or_insert(0) += l.yuan;
        }
    }
    by_day.into_iter().collect()
}

/// The expected ABC grades (defaults 50/80/95 % over three years), computed
/// here from the lines.
fn expected_grades(lines: &[Line], as_of: NaiveDate) -> std::collections::BTreeMap<String, char> {
    let from = as_of - chrono::Duration::days(1095);
    let mut revenue: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for l in lines.iter().filter(|l| l.status != "cancelled") {
        let d: NaiveDate = l.day.parse().unwrap();
        let r = revenue.entry(l.code.clone()).or_insert(0);
        if d > from && d <= as_of {
            *r += l.yuan;
        }
    }
    let total: i64 = revenue.values().sum();
    let mut ranked: Vec<(String, i64)> = revenue.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut before = 0i64;
    let mut out = std::collections::BTreeMap::new();
    for (code, r) in ranked {
        let share = before as f64 / total as f64;
        let g = if r <= 0 {
            'D'
        } else if share < 0.5 {
            'A'
        } else if share < 0.8 {
            'B'
        } else if share < 0.95 {
            'C'
        } else {
            'D'
        };
        out.insert(code, g);
        before += r;
    }
    out
}

pub(crate) async fn load_history(app: &TestApp, owner: &str) -> Result<Vec<Line>> {
    let lines = history();
    let dir = app.db.scratch_dir();
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("history.csv");
    std::fs::write(&file, history_csv(&lines))?;
    let (ok, out, err) = keyuan(
        &app.db.url,
        &["import", "orders", &file.to_string_lossy(), "--create-missing-customers", "--owner", owner],
    )?;
    ensure!(ok, "import: {out} {err}");
    Ok(lines)
}

/// One CSV row by column name.
type Record = std::collections::HashMap<String, String>;

fn csv_rows(text: &str) -> Result<(Vec<String>, Vec<Record>)> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        rows.push(header.iter().cloned().zip(rec.iter().map(str::to_string)).collect());
    }
    Ok((header, rows))
}

async fn evaluate_and_export(app: TestApp) -> Result<()> {
    let (wang, _) = user(&app, "wang", "sales").await?;
    let lines = load_history(&app, "wang").await?;
    let url = app.db.url.clone();

    // Before any run, the export says what to do.
    let out_file = app.db.scratch_dir().join("values.csv");
    let (ok, _, err) = keyuan(&url, &["export", "customer-values", &out_file.to_string_lossy()])?;
    ensure!(!ok && err.contains("keyuan evaluate"), "{err}");

    // A bad date is refused, naming the flag.
    let (ok, _, err) = keyuan(&url, &["evaluate", "--as-of", "2024-02-30"])?;
    ensure!(!ok && err.contains("--as-of"), "{err}");

    let as_of: NaiveDate = "2024-06-30".parse()?;
    let (ok, out, err) = keyuan(&url, &["evaluate", "--as-of", "2024-06-30", "--json"])?;
    ensure!(ok, "{out} {err}");
    let summary: Value = serde_json::from_str(&out).with_context(|| format!("JSON summary: {out}"))?;
    for key in ["r", "alpha", "a", "b"] {
        let v = summary["model"]["bgnbd"][key].as_f64().with_context(|| format!("bgnbd.{key}: {summary}"))?;
        ensure!(v > 0.0 && v.is_finite(), "bgnbd.{key} = {v}");
    }
    for key in ["p", "q", "v"] {
        let v =
            summary["model"]["gamma_gamma"][key].as_f64().with_context(|| format!("gamma_gamma.{key}: {summary}"))?;
        ensure!(v > 0.0 && v.is_finite(), "gamma_gamma.{key} = {v}");
    }
    ensure!(summary["model"]["time_unit"] == "day", "{summary}");
    ensure!(summary["customers"] == 41 && summary["buyers"] == 40, "V099 has not bought by then: {summary}");
    let grades = &summary["grades"];
    let total: i64 = ["A", "B", "C", "D"].iter().map(|g| grades[*g].as_i64().unwrap_or(0)).sum();
    ensure!(total == 41, "{grades}");

    let (ok, out, err) = keyuan(&url, &["export", "customer-values", &out_file.to_string_lossy()])?;
    ensure!(ok && out.contains("41"), "{out} {err}");
    let text = std::fs::read_to_string(&out_file)?;
    let (header, rows) = csv_rows(&text)?;
    ensure!(
        header.join(",")
            == "customer_code,grade,quadrant,stage,r_score,f_score,m_score,frequency,recency_days,t_days,monetary,\
                p_alive,expected_purchases_90d,expected_purchases_365d,next_purchase_from,next_purchase_to,\
                likely_direction,clv",
        "{header:?}"
    );
    ensure!(rows.len() == 41, "one row per customer: {}", rows.len());
    let row = |code: &str| rows.iter().find(|r| r["customer_code"] == code).cloned().context(code.to_string());

    // V001: five occasions (two orders on one day are one), the cancelled order
    // and the one after the as-of date left out.
    let v1 = row("V001")?;
    let occ = occasions(&lines, "V001", as_of);
    ensure!(occ.len() == 5, "{occ:?}");
    let first = occ[0].0;
    let last = occ[occ.len() - 1].0;
    ensure!(v1["frequency"] == "4", "{v1:?}");
    ensure!(v1["recency_days"] == (last - first).num_days().to_string(), "{v1:?}");
    ensure!(v1["t_days"] == (as_of - first).num_days().to_string(), "{v1:?}");
    ensure!(v1["monetary"] == "5000.00", "mean of 25,000 over five occasions: {v1:?}");
    let p: f64 = v1["p_alive"].parse()?;
    let e90: f64 = v1["expected_purchases_90d"].parse()?;
    let e365: f64 = v1["expected_purchases_365d"].parse()?;
    ensure!((0.0..=1.0).contains(&p) && e90 > 0.0 && e365 > e90, "{v1:?}");
    let clv: f64 = v1["clv"].parse()?;
    ensure!(clv > 0.0, "{v1:?}");
    for s in ["r_score", "f_score", "m_score"] {
        let n: u8 = v1[s].parse()?;
        ensure!((1..=5).contains(&n), "{s}: {v1:?}");
    }
    ensure!(v1["f_score"] == "5", "the most frequent traveller: {v1:?}");
    ensure!(["repeat", "loyal"].contains(&v1["stage"].as_str()), "{v1:?}");
    ensure!(!v1["likely_direction"].is_empty(), "a direction from the habit: {v1:?}");
    if !v1["next_purchase_from"].is_empty() {
        ensure!(v1["next_purchase_from"].as_str() >= "2024-06-30", "{v1:?}");
    }

    // V099 has only a 2027 order: nothing as of 2026, grade D, no scores.
    let v4 = row("V099")?;
    ensure!(v4["grade"] == "D" && v4["frequency"] == "0" && v4["r_score"].is_empty(), "{v4:?}");
    ensure!(v4["stage"] == "potential" && v4["p_alive"].is_empty() && v4["quadrant"].is_empty(), "{v4:?}");

    // Grades follow the cumulative revenue shares, computed here on our own.
    let expected = expected_grades(&lines, as_of);
    for r in &rows {
        let want = expected.get(&r["customer_code"]).copied().unwrap_or('D');
        ensure!(r["grade"] == want.to_string(), "{}: {} but expected {want}", r["customer_code"], r["grade"]);
    }
    // The customer rows carry the grade and stage of the run.
    let (grade, stage): (Option<String>, String) =
        sqlx::query_as("SELECT grade, stage FROM customers WHERE code = 'V002'").fetch_one(app.store.pool()).await?;
    ensure!(
        grade.as_deref() == Some(&row("V002")?["grade"][..]) && stage == row("V002")?["stage"],
        "{grade:?} {stage}"
    );

    // A year later V099's big trip pushes V002 down: a grade-drop alert for
    // its owner, and each customer's history holds both runs.
    let (ok, out, err) = keyuan(&url, &["evaluate", "--as-of", "2025-06-30"])?;
    ensure!(ok && out.contains("Grades:"), "{out} {err}");
    let later = expected_grades(&lines, "2025-06-30".parse()?);
    ensure!(later["V099"] == 'A' && later["V002"] > expected["V002"], "test data: {later:?}");
    let alerts: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT a.kind, a.owner_id, a.detail FROM value_alerts a JOIN customers c ON c.id = a.customer_id \
         WHERE c.code = 'V002' AND a.status = 'open'",
    )
    .fetch_all(app.store.pool())
    .await?;
    let drop = alerts.iter().find(|a| a.0 == "grade_drop").with_context(|| format!("{alerts:?}"))?;
    ensure!(drop.1 == wang, "assigned to the owner: {drop:?}");
    ensure!(drop.2.contains(&format!("{}", expected["V002"])), "the alert names the old grade: {drop:?}");
    let runs: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customer_values v JOIN customers c ON c.id = v.customer_id WHERE c.code = 'V002'",
    )
    .fetch_one(app.store.pool())
    .await?;
    ensure!(runs == 2, "two snapshots: {runs}");
    // The second run does not raise the same open alert again.
    let (ok, _, err) = keyuan(&url, &["evaluate", "--as-of", "2025-06-30"])?;
    ensure!(ok, "{err}");
    let drops: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM value_alerts a JOIN customers c ON c.id = a.customer_id \
         WHERE c.code = 'V002' AND a.kind = 'grade_drop'",
    )
    .fetch_one(app.store.pool())
    .await?;
    ensure!(drops == 1, "one open grade-drop alert: {drops}");
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'value_run'")
        .fetch_one(app.store.pool())
        .await?;
    ensure!(audited >= 4, "runs and the export are audited: {audited}");
    Ok(())
}

async fn customer_id(app: &TestApp, code: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT id FROM customers WHERE code = $1").bind(code).fetch_one(app.store.pool()).await?)
}

async fn run(api: &Api, as_of: &str) -> Result<Value> {
    let (s, b) = api.post("/api/v1/value/runs", &json!({"as_of": as_of})).await?;
    ensure!(s == StatusCode::CREATED, "run as of {as_of}: {s} {b}");
    Ok(b)
}

async fn api_in_scope(app: TestApp) -> Result<()> {
    // The manager and both salespeople are in one team.
    let team = app.team("销售一部", None).await?;
    let in_team = |name: &'static str, role: &'static str| {
        let app = &app;
        async move {
            let (id, pw) = app.create_user(name, role, Some(team)).await?;
            Ok::<_, anyhow::Error>((id, app.api_as(name, &pw).await?))
        }
    };
    let (wang_id, wang) = in_team("wang", "sales").await?;
    let (li_id, li) = in_team("lili", "sales").await?;
    let (_, boss) = in_team("boss", "manager").await?;
    let (_, admin) = user(&app, "admin1", "admin").await?;
    let (_, fin) = user(&app, "kuaiji", "finance").await?;
    load_history(&app, "wang").await?;

    // Who may do what.
    let (s, _) = wang.post("/api/v1/value/runs", &json!({})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "a salesperson cannot run an evaluation: {s}");
    let (s, _) = fin.get("/api/v1/value/runs").await?;
    ensure!(s == StatusCode::FORBIDDEN, "finance has no value.read: {s}");
    let (s, b) = boss.post("/api/v1/value/runs", &json!({"as_of": "2999-01-01"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "as_of", "in_future"), "{s} {b}");
    let (s, b) = boss.post("/api/v1/value/runs", &json!({"as_of": "2024-13-01"})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "as_of", "invalid_date"), "{s} {b}");
    let (_, b) = wang.get("/api/v1/value/call-list").await?;
    ensure!(b["run_id"].is_null() && b["items"] == json!([]), "no run yet: {b}");

    let first = run(&boss, "2024-06-30").await?;
    ensure!(first["customers"] == 41 && first["summary"]["model"]["bgnbd"]["r"].is_number(), "{first}");
    let (_, runs) = wang.get("/api/v1/value/runs").await?;
    ensure!(runs["items"].as_array().map(Vec::len) == Some(1), "{runs}");

    // A customer's value and history.
    let v2 = customer_id(&app, "V002").await?;
    let (s, v) = wang.get(&format!("/api/v1/customers/{v2}/value")).await?;
    ensure!(s == StatusCode::OK && v["latest"]["customer_code"] == "V002", "{s} {v}");
    ensure!(v["history"].as_array().map(Vec::len) == Some(1) && v["pin"].is_null(), "{v}");
    let (s, _) = li.get(&format!("/api/v1/customers/{v2}/value")).await?;
    ensure!(s == StatusCode::NOT_FOUND, "another salesperson's customer is not found: {s}");

    // Pinning: managers only, with a reason; the grade changes at once and
    // later runs keep it.
    let pin = format!("/api/v1/customers/{v2}/grade-pin");
    let (s, _) = wang.put(&pin, &json!({"grade": "A", "reason": "x"})).await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    let (s, b) = boss.put(&pin, &json!({"grade": "Z", "reason": " "})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    ensure!(has_field(&b, "grade", "invalid_choice") && has_field(&b, "reason", "required"), "{b}");
    let (s, b) = boss.put(&pin, &json!({"grade": "a", "reason": "新签集团客户，年度框架协议"})).await?;
    ensure!(s == StatusCode::OK && b["grade"] == "A", "{s} {b}");
    let grade: Option<String> =
        sqlx::query_scalar("SELECT grade FROM customers WHERE id = $1").bind(v2).fetch_one(app.store.pool()).await?;
    ensure!(grade.as_deref() == Some("A"), "pinned at once: {grade:?}");

    // A year later V099's trip pushes everyone down; V002 stays A (pinned),
    // the others who drop get alerts for their owner.
    run(&boss, "2025-06-30").await?;
    let (_, v) = wang.get(&format!("/api/v1/customers/{v2}/value")).await?;
    ensure!(v["latest"]["grade"] == "A" && v["pin"]["reason"] == "新签集团客户，年度框架协议", "{v}");
    ensure!(v["history"].as_array().map(Vec::len) == Some(2), "{v}");
    let (s, b) = boss.delete(&pin).await?;
    ensure!(s == StatusCode::NO_CONTENT, "{s} {b}");
    let (s, _) = boss.delete(&pin).await?;
    ensure!(s == StatusCode::NOT_FOUND, "no pin left: {s}");

    let (_, alerts) = wang.get("/api/v1/value/alerts?kind=grade_drop").await?;
    let items = alerts["items"].as_array().context("items")?.clone();
    ensure!(!items.is_empty(), "grade drops: {alerts}");
    ensure!(items.iter().all(|a| a["owner_id"] == wang_id && a["status"] == "open"), "{alerts}");
    ensure!(items.iter().all(|a| a["message"].as_str().is_some_and(|m| m.contains("降"))), "in Chinese: {alerts}");
    let (_, none) = li.get("/api/v1/value/alerts").await?;
    ensure!(none["items"] == json!([]), "li sees no one else's alerts: {none}");
    let (s, b) = wang.get("/api/v1/value/alerts?status=later").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "status", "invalid_choice"), "{s} {b}");

    // Closing: stale version 409, then done, then closed already 422.
    let a = &items[0];
    let close = format!("/api/v1/value/alerts/{}/close", a["id"]);
    let (s, _) = li.post(&close, &json!({"status": "done", "version": a["version"]})).await?;
    ensure!(s == StatusCode::NOT_FOUND, "li cannot close wang's alert: {s}");
    let (s, _) = wang.post(&close, &json!({"status": "done", "version": 99})).await?;
    ensure!(s == StatusCode::CONFLICT, "stale: {s}");
    let (s, b) =
        wang.post(&close, &json!({"status": "done", "note": "已回访，计划明年出游", "version": a["version"]})).await?;
    ensure!(s == StatusCode::NO_CONTENT, "{s} {b}");
    let (s, b) =
        wang.post(&close, &json!({"status": "done", "version": a["version"].as_i64().unwrap_or(0) + 1})).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "status", "closed"), "{s} {b}");
    let (_, done) = wang.get("/api/v1/value/alerts?status=done").await?;
    ensure!(done["items"][0]["note"] == "已回访，计划明年出游", "{done}");

    // Reassigning a customer moves its open alerts to the new owner.
    let open: Vec<(i64,)> = sqlx::query_as("SELECT customer_id FROM value_alerts WHERE status = 'open' ORDER BY id")
        .fetch_all(app.store.pool())
        .await?;
    let moved = open.first().context("an open alert")?.0;
    let (s, b) = admin.post("/api/v1/customers/reassign", &json!({"ids": [moved], "to_user_id": li_id})).await?;
    ensure!(s == StatusCode::OK, "{s} {b}");
    let (_, lis) = li.get("/api/v1/value/alerts").await?;
    let lis = lis["items"].as_array().context("items")?.clone();
    ensure!(!lis.is_empty() && lis.iter().all(|a| a["customer_id"] == moved && a["owner_id"] == li_id), "{lis:?}");

    // The call list: own customers for a salesperson, bad ranges refused.
    let (s, b) = wang.get("/api/v1/value/call-list?days=0").await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && has_field(&b, "days", "out_of_range"), "{s} {b}");
    let (_, mine) = wang.get("/api/v1/value/call-list?days=90").await?;
    ensure!(mine["as_of"] == "2025-06-30", "{mine}");
    let items = mine["items"].as_array().context("items")?;
    ensure!(items.iter().all(|c| c["owner_id"] == wang_id), "{mine}");
    ensure!(items.iter().all(|c| ["model", "cycle"].contains(&c["reason"].as_str().unwrap_or(""))), "{mine}");
    let (_, all) = admin.get("/api/v1/value/call-list?days=90").await?;
    ensure!(all["items"].as_array().map(Vec::len) >= Some(items.len()), "{all}");

    // Settings: admins only; every bad field named; stale versions refused.
    let (s, cfg) = wang.get("/api/v1/value/settings").await?;
    ensure!(s == StatusCode::OK && cfg["version"] == 0 && cfg["settings"]["window_days"] == 1095, "{s} {cfg}");
    let mut bad = cfg.clone();
    bad["settings"]["abc"]["a"] = json!(9000);
    bad["settings"]["clv_months"] = json!(0);
    let (s, _) = boss.put("/api/v1/value/settings", &bad).await?;
    ensure!(s == StatusCode::FORBIDDEN, "managers do not edit settings: {s}");
    let (s, b) = admin.put("/api/v1/value/settings", &bad).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {b}");
    ensure!(has_field(&b, "abc_b", "not_increasing") && has_field(&b, "clv_months", "out_of_range"), "{b}");
    let mut good = cfg.clone();
    good["settings"]["schedule"] = json!("monthly");
    good["settings"]["window_days"] = json!(730);
    let (s, b) = admin.put("/api/v1/value/settings", &good).await?;
    ensure!(s == StatusCode::OK && b["version"] == 1, "{s} {b}");
    let (s, _) = admin.put("/api/v1/value/settings", &good).await?;
    ensure!(s == StatusCode::CONFLICT, "stale settings: {s}");
    let (_, cfg) = wang.get("/api/v1/value/settings").await?;
    ensure!(cfg["settings"]["schedule"] == "monthly" && cfg["settings"]["window_days"] == 730, "{cfg}");
    // A monthly schedule is due in a month after the latest run's as-of.
    ensure!(store::value::schedule_due(&app.store, "2025-07-01".parse()?).await?, "July is a new month");
    ensure!(!store::value::schedule_due(&app.store, "2025-06-30".parse()?).await?, "same day");
    Ok(())
}

async fn value_pages(app: TestApp) -> Result<()> {
    let password = "Quartz-Lantern-Oyster-47!";
    keyuan::cli::add_user(&app.store, "boss", "manager", None, None, None, "zh-CN", password).await?;
    keyuan::cli::add_user(&app.store, "adminen", "admin", None, None, None, "en", password).await?;
    let mut zh = app.browser("boss", password).await?;
    let mut en = app.browser("adminen", password).await?;
    load_history(&app, "boss").await?;

    let (s, html) = zh.get("/value").await?;
    ensure!(s == StatusCode::OK && html.contains("还没有盘点结果") && html.contains("立即盘点"), "{s}");
    let (s, _) = zh.post_form("/value/runs", &[("as_of", "2024-06-30")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (s, _) = zh.post_form("/value/runs", &[("as_of", "2025-06-30")]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (s, html) = zh.get("/value").await?;
    ensure!(s == StatusCode::OK, "{s}");
    for id in ["grade-chart", "pareto-chart", "quadrant-chart", "grade-table", "movement-table", "model-table"] {
        ensure!(html.contains(&format!("id=\"{id}\"")), "the overview shows {id}");
    }
    ensure!(html.contains("核心客户") && html.contains("重点投入"), "quadrants with their treatment");
    ensure!(html.contains("2025-06-30") && html.contains("BG/NBD"), "the run and its models");
    let (s, html) = en.get("/value").await?;
    ensure!(s == StatusCode::OK && html.contains("Grades") && html.contains("Pareto curve"), "{s}");

    let v1 = customer_id(&app, "V001").await?;
    let (_, html) = zh.get(&format!("/customers/{v1}")).await?;
    ensure!(html.contains("id=\"value-card\"") && html.contains("id=\"value-explanation\""), "the value card");
    ensure!(html.contains("按收入累计占比分级") && html.contains("RFM"), "grade and scores explained in words");
    ensure!(html.contains("id=\"p-alive-history\"") && html.contains("仍活跃概率"), "P(alive) history");
    ensure!(html.contains("id=\"pin-form\""), "a manager may pin");
    let (_, html) = en.get(&format!("/customers/{v1}")).await?;
    ensure!(html.contains("graded by cumulative share of revenue") && html.contains("P(alive)"), "in English");

    // Pin from the page; a reason is required.
    let (s, _) = zh.post_form(&format!("/customers/{v1}/grade-pin"), &[("grade", "B"), ("reason", "")]).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    let (s, _) = zh
        .post_form(&format!("/customers/{v1}/grade-pin"), &[("grade", "B"), ("reason", "投诉处理中，暂降一级")])
        .await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (_, html) = zh.get(&format!("/customers/{v1}")).await?;
    ensure!(html.contains("id=\"value-pinned\"") && html.contains("投诉处理中，暂降一级"), "the pin is shown");
    let (s, _) = zh.post_form(&format!("/customers/{v1}/grade-pin/delete"), &[]).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");

    // Alerts page with a close form; the call list.
    let (s, html) = zh.get("/value/alerts").await?;
    ensure!(s == StatusCode::OK && html.contains("id=\"alert-list\"") && html.contains("等级下降"), "{s}");
    let (id, version): (i64, i64) =
        sqlx::query_as("SELECT id, version FROM value_alerts WHERE status = 'open' ORDER BY id LIMIT 1")
            .fetch_one(app.store.pool())
            .await?;
    let (s, _) = zh
        .post_form(
            &format!("/value/alerts/{id}/close"),
            &[
                ("status", "dismissed"),
                ("note", "客户已告知今年不出行"),
                ("version", &version.to_string()),
                ("back", "/value/alerts"),
            ],
        )
        .await?;
    ensure!(s == StatusCode::SEE_OTHER && zh.last_location() == Some("/value/alerts"), "{s}");
    let status: String = sqlx::query_scalar("SELECT status FROM value_alerts WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await?;
    ensure!(status == "dismissed", "{status}");
    let (s, html) = zh.get("/value/call-list?days=90").await?;
    ensure!(s == StatusCode::OK && html.contains("近期可能出行客户") && html.contains("90 天"), "{s}");

    // Settings page: errors shown on the form, nothing saved; then saved.
    let (s, html) = en.get("/settings/value").await?;
    ensure!(s == StatusCode::OK && html.contains("Revenue window (days)"), "{s}");
    let form = |a: &'static str| {
        vec![
            ("version", "0"),
            ("window_days", "1095"),
            ("abc_a", a),
            ("abc_b", "80"),
            ("abc_c", "95"),
            ("churn_days", "730"),
            ("churn_p_alive", "30"),
            ("decline_ratio", "50"),
            ("overdue_factor", "1.5"),
            ("discount_rate", "10"),
            ("clv_months", "36"),
            ("schedule", "weekly"),
        ]
    };
    let (s, html) = en.post_form("/settings/value", &form("85")).await?;
    ensure!(s == StatusCode::UNPROCESSABLE_ENTITY && html.contains("abc_"), "{s}");
    let (cfg, _) = store::value::settings(&app.store).await?;
    ensure!(cfg.abc.a.get() == 5000, "nothing saved");
    let (s, _) = en.post_form("/settings/value", &form("60")).await?;
    ensure!(s == StatusCode::SEE_OTHER, "{s}");
    let (cfg, version) = store::value::settings(&app.store).await?;
    ensure!(cfg.abc.a.get() == 6000 && version == 1 && cfg.schedule.code() == "weekly", "{cfg:?}");
    let (s, _) = zh.get("/settings/value").await?;
    ensure!(s == StatusCode::FORBIDDEN, "managers do not edit settings: {s}");
    Ok(())
}

async fn demo_evaluated(app: TestApp) -> Result<()> {
    keyuan::demo::fill(&app.store).await?.context("demo loaded")?;
    let admin = app.api_as("admin", keyuan::demo::DEMO_PASSWORD).await?;
    let (_, runs) = admin.get("/api/v1/value/runs").await?;
    let runs = runs["items"].as_array().context("runs")?.clone();
    ensure!(runs.len() == 2, "two evaluations a quarter apart: {runs:?}");
    let latest = &runs[0]["summary"];
    let grade = |g: &str| latest["grades"][g].as_i64().unwrap_or(0);
    ensure!(["A", "B", "C", "D"].iter().all(|g| grade(g) > 0), "every grade in use: {latest}");
    ensure!(grade("A") < grade("D"), "few customers bring half the revenue: {latest}");
    let stages = &latest["stages"];
    ensure!(stages["potential"].as_i64() > Some(0) && stages["churned"].as_i64() > Some(0), "{stages}");
    ensure!(latest["model"]["bgnbd"]["r"].is_number() && latest["model"]["gamma_gamma"]["p"].is_number(), "{latest}");
    let (_, alerts) = admin.get("/api/v1/value/alerts?limit=200").await?;
    let alerts = alerts["items"].as_array().context("alerts")?.clone();
    ensure!(!alerts.is_empty() && alerts.iter().all(|a| !a["message"].as_str().unwrap_or("").is_empty()), "{alerts:?}");
    // Each salesperson has people to call, all their own.
    let lina = app.api_as("lina", keyuan::demo::DEMO_PASSWORD).await?;
    let (_, calls) = lina.get("/api/v1/value/call-list").await?;
    let calls = calls["items"].as_array().context("calls")?.clone();
    ensure!(!calls.is_empty(), "lina has customers to call");
    ensure!(calls.iter().all(|c| c["owner_name"] == "李娜"), "{calls:?}");
    ensure!(calls.iter().any(|c| c["likely_direction"].is_string()), "with a likely direction: {calls:?}");
    let mut page = app.browser("lina", keyuan::demo::DEMO_PASSWORD).await?;
    let (s, html) = page.get("/value/call-list").await?;
    ensure!(s == StatusCode::OK && html.contains("id=\"call-list\""), "{s}");
    // A manager filters by salesperson or team; the form's "all" sends empty values.
    let mut boss = app.browser("admin", keyuan::demo::DEMO_PASSWORD).await?;
    let (s, html) = boss.get("/value/call-list?owner_id=&team_id=&days=30").await?;
    ensure!(s == StatusCode::OK && html.contains("李娜") && html.contains("name=\"team_id\""), "{s}");
    let (s, html) = page.get("/value").await?;
    ensure!(s == StatusCode::OK && html.contains("id=\"grade-chart\""), "{s}");
    ensure!(!html.contains("id=\"run-form\""), "salespeople do not run evaluations");
    Ok(())
}
