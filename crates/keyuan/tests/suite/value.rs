//! Customer value: evaluation runs from the command line, the exported CSV
//! and JSON contracts, grades, pins, alerts and the call list, on both
//! engines.

use crate::harness::{story, Story, TestApp};
use crate::orders::user;
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use serde_json::Value;

pub fn stories() -> Vec<Story> {
    vec![story("evaluate_grades_forecasts_and_exports_the_contract_columns", evaluate_and_export)]
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
/// books one big trip in 2027, which only evaluations as of 2027 see.
pub(crate) fn history() -> Vec<Line> {
    let mut l = vec![
        line("V001", "2024-01-10", 3000, "nearby", "苏州"),
        line("V001", "2024-01-10", 2000, "nearby", "苏州"),
        line("V001", "2024-07-01", 4000, "long_haul", "云南"),
        line("V001", "2025-01-05", 6000, "long_haul", "云南"),
        line("V001", "2025-07-01", 5000, "long_haul", "云南"),
        line("V001", "2026-01-03", 5000, "long_haul", "海南"),
        Line { status: "cancelled", ..line("V001", "2026-03-01", 90_000, "international", "法国") },
        line("V001", "2026-08-01", 80_000, "international", "法国"),
        line("V002", "2025-10-01", 60_000, "international", "日本"),
        line("V099", "2027-01-15", 400_000, "international", "南极"),
    ];
    const DAYS: [&str; 8] = [
        "2023-09-01",
        "2024-02-10",
        "2024-05-01",
        "2024-10-01",
        "2025-02-01",
        "2025-05-01",
        "2025-09-15",
        "2026-04-01",
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

fn csv_rows(text: &str) -> Result<(Vec<String>, Vec<std::collections::HashMap<String, String>>)> {
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
    let (ok, _, err) = keyuan(&url, &["evaluate", "--as-of", "2026-02-30"])?;
    ensure!(!ok && err.contains("--as-of"), "{err}");

    let as_of: NaiveDate = "2026-06-30".parse()?;
    let (ok, out, err) = keyuan(&url, &["evaluate", "--as-of", "2026-06-30", "--json"])?;
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
        ensure!(v1["next_purchase_from"].as_str() >= "2026-06-30", "{v1:?}");
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
    let (ok, out, err) = keyuan(&url, &["evaluate", "--as-of", "2027-06-30"])?;
    ensure!(ok && out.contains("Grades:"), "{out} {err}");
    let later = expected_grades(&lines, "2027-06-30".parse()?);
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
    let (ok, _, err) = keyuan(&url, &["evaluate", "--as-of", "2027-06-30"])?;
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
