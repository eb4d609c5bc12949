//! Value pages: the overview of a run (grade distribution, Pareto curve,
//! volume × loyalty quadrants, lifecycle, grade movements between two runs,
//! the fitted models), the call list, the alerts with their close forms, the
//! settings, and the value card and pin forms of the customer page.

use super::charts;
use super::{alert_filter, alert_message, call_filter, AlertQuery, CallQuery};
use crate::admin::Opt;
use crate::ctx::Req;
use crate::customers::{company_tz, today_in};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::{Permission, Scope};
use domain::customer::LifecycleStage;
use domain::ids::CustomerId;
use domain::money::Money;
use domain::value::abc::{self, Grade};
use domain::value::alerts::AlertKind;
use domain::value::quadrant::{Quadrant, LOYALTY_HIGH};
use domain::value::rfm::Segment;
use domain::value::settings::{Schedule, ValueSettings};
use domain::{FieldError, FieldErrors};
use serde::Deserialize;
use store::customers::Customer;
use store::value::{CallReason, CustomerValue};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(run_post))
        .routes(routes!(call_list_page))
        .routes(routes!(alerts_page))
        .routes(routes!(alert_close_post))
        .routes(routes!(settings_page, settings_post))
        .routes(routes!(pin_post))
        .routes(routes!(unpin_post))
}

fn zh(lang: Lang) -> bool {
    lang == Lang::Zh
}

fn grade_label(code: &str, lang: Lang) -> String {
    store::value::grade_of(code).map(|g| g.label(zh(lang)).to_string()).unwrap_or_else(|| code.to_string())
}

fn stage_label(code: &str, lang: Lang) -> String {
    LifecycleStage::from_code(code).map(|s| s.label(zh(lang)).to_string()).unwrap_or_else(|| code.to_string())
}

fn percent(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

// ------------------------------------------------------------------ overview

/// Which run, and which earlier one to compare it with.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OverviewQuery {
    /// The run shown (default: the latest).
    run: Option<i64>,
    /// The run compared with (default: the one before).
    from: Option<i64>,
}

#[derive(Template)]
#[template(path = "value_overview.html")]
struct OverviewPage {
    shell: Shell,
    run: Option<store::value::Run>,
    runs: Vec<Opt>,
    from_runs: Vec<Opt>,
    grade_rows: Vec<(String, i64, Money, String)>,
    grade_svg: String,
    pareto_svg: String,
    quadrant_svg: String,
    quadrant_rows: Vec<(String, i64, &'static str)>,
    stage_rows: Vec<(String, i64)>,
    movement_from: Option<String>,
    movements: Vec<(String, String, i64, bool)>,
    models: Vec<(&'static str, String)>,
    today: String,
}

/// The value overview of a run.
#[utoipa::path(get, path = "/value", tag = "pages", security(("keyuan" = ["value.read"])), params(OverviewQuery),
    responses((status = 200, description = "overview", content_type = "text/html")))]
async fn overview(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<OverviewQuery>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let lang = req.lang;
    let all = store::value::runs(&state.store, 100).await?;
    let run = match q.run {
        Some(id) => Some(store::value::run(&state.store, id).await?),
        None => all.first().cloned(),
    };
    let today = today_in(company_tz(&state).await?).to_string();
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.value").await;
    let Some(run) = run else {
        let page = OverviewPage {
            shell,
            run: None,
            runs: Vec::new(),
            from_runs: Vec::new(),
            grade_rows: Vec::new(),
            grade_svg: String::new(),
            pareto_svg: String::new(),
            quadrant_svg: String::new(),
            quadrant_rows: Vec::new(),
            stage_rows: Vec::new(),
            movement_from: None,
            movements: Vec::new(),
            models: Vec::new(),
            today,
        };
        return Ok(render(&page)?.into_response());
    };
    let d = store::value::distribution(&state.store, &vis, run.id).await?;
    let total: i64 = d.grades.iter().map(|g| g.2 .0).sum();
    let share = |m: Money| if total > 0 { m.0 as f64 / total as f64 } else { 0.0 };
    let count_of =
        |g: Grade| d.grades.iter().find(|r| r.0 == g.letter()).map(|r| (r.1, r.2)).unwrap_or((0, Money::ZERO));
    let grade_rows: Vec<(String, i64, Money, String)> = Grade::ALL
        .iter()
        .map(|g| {
            let (n, m) = count_of(*g);
            (g.label(zh(lang)).to_string(), n, m, percent(share(m)))
        })
        .collect();
    let grade_svg = charts::grade_bars(
        &Grade::ALL
            .iter()
            .map(|g| {
                let (n, m) = count_of(*g);
                (g.letter().to_string(), n, share(m))
            })
            .collect::<Vec<_>>(),
        lang.t("value.grade_distribution"),
    );
    let settings: ValueSettings = serde_json::from_value(run_settings(&run)).unwrap_or_default();
    let thresholds = [
        (
            format!("A {}", percent(f64::from(settings.abc.a.get()) / 10_000.0)),
            f64::from(settings.abc.a.get()) / 10_000.0,
        ),
        (
            format!("B {}", percent(f64::from(settings.abc.b.get()) / 10_000.0)),
            f64::from(settings.abc.b.get()) / 10_000.0,
        ),
        (
            format!("C {}", percent(f64::from(settings.abc.c.get()) / 10_000.0)),
            f64::from(settings.abc.c.get()) / 10_000.0,
        ),
    ];
    let pareto_svg = charts::pareto(&abc::pareto_curve(&d.revenues, 100), &thresholds, lang.t("value.pareto"));
    let median = if d.revenues.is_empty() { 0.0 } else { d.revenues[d.revenues.len() / 2].0 as f64 / 100.0 };
    let index = |code: &str| Quadrant::ALL.iter().position(|q| q.code() == code).unwrap_or(3);
    let points: Vec<(f64, f64, usize)> = d.points.iter().map(|(m, l, q)| (m.0 as f64 / 100.0, *l, index(q))).collect();
    let q_count = |q: Quadrant| d.quadrants.iter().find(|r| r.0 == q.code()).map(|r| r.1).unwrap_or(0);
    let labels: [(String, i64); 4] = [
        (Quadrant::ALL[0].label(zh(lang)).to_string(), q_count(Quadrant::ALL[0])),
        (Quadrant::ALL[1].label(zh(lang)).to_string(), q_count(Quadrant::ALL[1])),
        (Quadrant::ALL[2].label(zh(lang)).to_string(), q_count(Quadrant::ALL[2])),
        (Quadrant::ALL[3].label(zh(lang)).to_string(), q_count(Quadrant::ALL[3])),
    ];
    let quadrant_svg = charts::quadrants(&points, median, LOYALTY_HIGH, &labels, lang.t("value.quadrant_chart"));
    let quadrant_rows = Quadrant::ALL
        .iter()
        .map(|q| {
            (q.label(zh(lang)).to_string(), q_count(*q), if zh(lang) { q.treatment_zh() } else { q.treatment_en() })
        })
        .collect();
    let stage_rows = LifecycleStage::ALL
        .iter()
        .map(|s| (s.label(zh(lang)).to_string(), d.stages.iter().find(|r| r.0 == s.code()).map(|r| r.1).unwrap_or(0)))
        .collect();
    // Movements: against the chosen earlier run, or the one before this.
    let from = match q.from {
        Some(id) => all.iter().find(|r| r.id == id).cloned(),
        None => all.iter().find(|r| r.id < run.id).cloned(),
    };
    let movements = match &from {
        Some(f) => store::value::movements(&state.store, &vis, f.id, run.id)
            .await?
            .into_iter()
            .map(|(a, b, n)| {
                let worse = match (store::value::grade_of(&a), store::value::grade_of(&b)) {
                    (Some(a), Some(b)) => a.is_better_than(b),
                    _ => false,
                };
                (grade_label(&a, lang), grade_label(&b, lang), n, worse)
            })
            .collect(),
        None => Vec::new(),
    };
    let mut models = Vec::new();
    let m = &run.summary["model"];
    if let Some(b) = m["bgnbd"].as_object() {
        let f = |k: &str| b.get(k).and_then(|v| v.as_f64()).unwrap_or_default();
        models.push((
            "BG/NBD",
            format!("r = {:.4}, α = {:.3}, a = {:.4}, b = {:.4}", f("r"), f("alpha"), f("a"), f("b")),
        ));
    }
    if let Some(g) = m["gamma_gamma"].as_object() {
        let f = |k: &str| g.get(k).and_then(|v| v.as_f64()).unwrap_or_default();
        models.push(("Gamma-Gamma", format!("p = {:.4}, q = {:.4}, v = {:.2}", f("p"), f("q"), f("v"))));
    }
    let runs = all.iter().map(|r| Opt::new(r.id, format!("#{} · {}", r.id, r.as_of), &run.id.to_string())).collect();
    let from_id = from.as_ref().map(|f| f.id.to_string()).unwrap_or_default();
    let from_runs = all
        .iter()
        .filter(|r| r.id != run.id)
        .map(|r| Opt::new(r.id, format!("#{} · {}", r.id, r.as_of), &from_id))
        .collect();
    let page = OverviewPage {
        shell,
        runs,
        from_runs,
        grade_rows,
        grade_svg,
        pareto_svg,
        quadrant_svg,
        quadrant_rows,
        stage_rows,
        movement_from: from.map(|f| format!("#{} · {}", f.id, f.as_of)),
        movements,
        models,
        today,
        run: Some(run),
    };
    Ok(render(&page)?.into_response())
}

/// The settings a run used, as stored with it.
fn run_settings(run: &store::value::Run) -> serde_json::Value {
    run.summary.get("settings").cloned().unwrap_or(serde_json::Value::Null)
}

#[derive(Deserialize)]
struct RunForm {
    #[serde(default)]
    as_of: String,
}

/// Runs an evaluation from the overview (managers), then shows it.
#[utoipa::path(post, path = "/value/runs", tag = "pages", security(("keyuan" = ["value.manage"])),
    responses((status = 303, description = "to the overview"), (status = 422, description = "refused")))]
async fn run_post(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<RunForm>,
) -> Result<Response, AppError> {
    let today = today_in(company_tz(&state).await?);
    let mut errs = FieldErrors::new();
    let as_of = super::parse_as_of(&mut errs, Some(&f.as_of), today);
    errs.into_result()?;
    let report =
        store::value::evaluate(&state.store, &req.actor()?, as_of, store::value::Trigger::Manual, &|_: &str| {})
            .await?;
    Ok(Redirect::to(&format!("/value?run={}", report.run.id)).into_response())
}

// ----------------------------------------------------------------- call list

struct CallLine {
    customer_id: i64,
    code: String,
    name: String,
    owner: String,
    grade: String,
    p_alive: String,
    window: String,
    reason: &'static str,
    direction: String,
    direction_reason: String,
}

#[derive(Template)]
#[template(path = "value_call_list.html")]
struct CallListPage {
    shell: Shell,
    as_of: Option<String>,
    hint: String,
    owners: Vec<Opt>,
    teams: Vec<Opt>,
    can_choose_owner: bool,
    days: i64,
    lines: Vec<CallLine>,
}

/// Customers likely to book soon, for a salesperson (yourself by default
/// when you only see your own) or the whole team.
#[utoipa::path(get, path = "/value/call-list", tag = "pages", security(("keyuan" = ["value.read"])), params(CallQuery),
    responses((status = 200, description = "call list", content_type = "text/html")))]
async fn call_list_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<CallQuery>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let lang = req.lang;
    let f = call_filter(&q)?;
    let (run, rows) = store::value::call_list(&state.store, &vis, &f).await?;
    let can_choose_owner = vis.scope != Scope::Own;
    let current = q.owner_id.map(|o| o.to_string()).unwrap_or_default();
    let mut owners = vec![Opt::new("", lang.t("value.all_owners"), &current)];
    let team_now = q.team_id.map(|t| t.to_string()).unwrap_or_default();
    let mut teams = vec![Opt::new("", lang.t("value.all_teams"), &team_now)];
    if can_choose_owner {
        for u in store::users::all_active(&state.store).await? {
            owners.push(Opt::new(u.id.0, u.display_name, &current));
        }
        // Within the caller's reach (the list itself is scoped anyway).
        for t in store::teams::list(&state.store).await? {
            if vis.scope == Scope::All || vis.teams.contains(&t.id) {
                teams.push(Opt::new(t.id.0, t.name, &team_now));
            }
        }
    }
    let key = if zh(lang) { "zh" } else { "en" };
    let lines = rows
        .into_iter()
        .map(|c| {
            let v = c.value;
            CallLine {
                customer_id: v.customer_id,
                code: v.customer_code,
                name: v.customer_name,
                owner: c.owner_name,
                grade: v.grade,
                p_alive: v.p_alive.map(percent).unwrap_or_else(|| "—".into()),
                window: match (&v.next_from, &v.next_to, &c.cycle_due) {
                    (Some(a), Some(b), _) => format!("{a} ~ {b}"),
                    (Some(a), None, _) => format!("{a} ~"),
                    (None, _, Some(d)) => d.clone(),
                    _ => "—".into(),
                },
                reason: match c.reason {
                    CallReason::Model => "value.reason.model",
                    CallReason::Cycle => "value.reason.cycle",
                },
                direction: v.direction.map(|d| direction_label(&d, lang)).unwrap_or_default(),
                direction_reason: v
                    .direction_reason
                    .as_ref()
                    .and_then(|r| r[key].as_str().map(str::to_string))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let page = CallListPage {
        hint: lang.t("value.call_list_hint").replace("{days}", &f.days.to_string()),
        shell: Shell::new(&state, req.principal.clone(), lang, "nav.value").await,
        as_of: run.map(|r| r.as_of.to_string()),
        owners,
        teams,
        can_choose_owner,
        days: f.days,
        lines,
    };
    Ok(render(&page)?.into_response())
}

/// "international/日本" → "出境游 · 日本".
fn direction_label(code: &str, lang: Lang) -> String {
    let (kind, place) = match code.split_once('/') {
        Some((k, p)) => (k, Some(p)),
        None => (code, None),
    };
    let kind = domain::travel::product::ProductType::from_code(kind)
        .map(|t| t.label(zh(lang)).to_string())
        .unwrap_or_else(|| kind.to_string());
    match place {
        Some(p) if !p.is_empty() => {
            if kind.is_empty() {
                p.to_string()
            } else {
                format!("{kind} · {p}")
            }
        }
        _ => kind,
    }
}

// -------------------------------------------------------------------- alerts

struct AlertLine {
    id: i64,
    customer_id: i64,
    code: String,
    name: String,
    owner: String,
    kind: String,
    message: String,
    status: String,
    open: bool,
    note: String,
    created_at: i64,
    version: i64,
}

#[derive(Template)]
#[template(path = "value_alerts.html")]
struct AlertsPage {
    shell: Shell,
    statuses: Vec<Opt>,
    kinds: Vec<Opt>,
    lines: Vec<AlertLine>,
    next: Option<String>,
    query: String,
}

/// Value alerts of the customers you may see, with forms to close them.
#[utoipa::path(get, path = "/value/alerts", tag = "pages", security(("keyuan" = ["value.read"])), params(AlertQuery),
    responses((status = 200, description = "alerts", content_type = "text/html")))]
async fn alerts_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let lang = req.lang;
    let f = alert_filter(&q)?;
    let page = store::value::alerts(&state.store, &vis, &f).await?;
    let status = q.status.clone().unwrap_or_else(|| "open".into());
    let statuses = ["open", "done", "dismissed", "all"]
        .iter()
        .map(|s| Opt::new(s, lang.t(&format!("value.status.{s}")), &status))
        .collect();
    let kind = q.kind.clone().unwrap_or_default();
    let mut kinds = vec![Opt::new("", lang.t("value.status.all"), &kind)];
    kinds.extend(AlertKind::ALL.iter().map(|k| Opt::new(k.code(), k.label(zh(lang)), &kind)));
    let lines = page
        .items
        .into_iter()
        .map(|a| AlertLine {
            message: alert_message(&a.detail, lang),
            kind: AlertKind::from_code(&a.kind).map(|k| k.label(zh(lang)).to_string()).unwrap_or(a.kind.clone()),
            open: a.status == "open",
            status: lang.t(&format!("value.status.{}", a.status)).to_string(),
            id: a.id,
            customer_id: a.customer_id,
            code: a.customer_code,
            name: a.customer_name,
            owner: a.owner_name,
            note: a.note.unwrap_or_default(),
            created_at: a.created_at,
            version: a.version,
        })
        .collect();
    let query = format!("status={}&kind={}", urlencode(&status), urlencode(&kind));
    let page = AlertsPage {
        shell: Shell::new(&state, req.principal.clone(), lang, "nav.value").await,
        statuses,
        kinds,
        lines,
        next: page.next.map(|n| n.to_string()),
        query,
    };
    Ok(render(&page)?.into_response())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
    version: i64,
    #[serde(default)]
    back: String,
}

/// Closes an alert from the alert list or the customer page.
#[utoipa::path(post, path = "/value/alerts/{id}/close", tag = "pages", security(("keyuan" = ["value.read"])),
    params(("id" = i64, Path, description = "alert id")),
    responses((status = 303, description = "back"), (status = 409, description = "stale"), (status = 422, description = "refused")))]
async fn alert_close_post(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<CloseForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::ValueRead).await?;
    let mut tx = state.store.begin().await?;
    let status = if f.status.trim().is_empty() { "done" } else { f.status.trim() };
    store::value::close_alert(&mut tx, &req.actor()?, &vis, id, f.version, status, &f.note).await?;
    tx.commit().await?;
    // Only local paths are followed back.
    let back = if f.back.starts_with('/') && !f.back.starts_with("//") { f.back } else { "/value/alerts".into() };
    Ok(Redirect::to(&back).into_response())
}

// ------------------------------------------------------------------ settings

#[derive(Template)]
#[template(path = "value_settings.html")]
struct SettingsPage {
    shell: Shell,
    fields: Vec<(&'static str, &'static str, String)>,
    schedules: Vec<Opt>,
    version: i64,
    errors: Vec<(String, String)>,
    saved: bool,
}

/// The form's fields: (name, label key, value).
fn settings_fields(s: &ValueSettings) -> Vec<(&'static str, &'static str, String)> {
    let pct = |bp: u32| {
        let v = f64::from(bp) / 100.0;
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    };
    vec![
        ("window_days", "value.window_days", s.window_days.to_string()),
        ("abc_a", "value.abc_a", pct(s.abc.a.get())),
        ("abc_b", "value.abc_b", pct(s.abc.b.get())),
        ("abc_c", "value.abc_c", pct(s.abc.c.get())),
        ("churn_days", "value.churn_days", s.lifecycle.churn_days.to_string()),
        ("churn_p_alive", "value.churn_p_alive", format!("{}", (s.alerts.churn_p_alive * 100.0).round())),
        ("decline_ratio", "value.decline_ratio", pct(s.alerts.decline_ratio_bp)),
        ("overdue_factor", "value.overdue_factor", format!("{}", s.alerts.overdue_factor)),
        ("discount_rate", "value.discount_rate", pct(s.discount_rate_bp)),
        ("clv_months", "value.clv_months", s.clv_months.to_string()),
    ]
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    saved: Option<String>,
}

/// The settings of the value engine (administrators).
#[utoipa::path(get, path = "/settings/value", tag = "pages", security(("keyuan" = ["settings.manage"])), params(SavedQuery),
    responses((status = 200, description = "settings", content_type = "text/html")))]
async fn settings_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Response, AppError> {
    let (s, version) = store::value::settings(&state.store).await?;
    let lang = req.lang;
    let page = SettingsPage {
        fields: settings_fields(&s),
        schedules: Schedule::ALL.iter().map(|x| Opt::new(x.code(), x.label(zh(lang)), s.schedule.code())).collect(),
        version,
        errors: Vec::new(),
        saved: q.saved.is_some(),
        shell: Shell::new(&state, req.principal.clone(), lang, "nav.value_settings").await,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    window_days: String,
    #[serde(default)]
    abc_a: String,
    #[serde(default)]
    abc_b: String,
    #[serde(default)]
    abc_c: String,
    #[serde(default)]
    churn_days: String,
    #[serde(default)]
    churn_p_alive: String,
    #[serde(default)]
    decline_ratio: String,
    #[serde(default)]
    overdue_factor: String,
    #[serde(default)]
    discount_rate: String,
    #[serde(default)]
    clv_months: String,
    #[serde(default)]
    schedule: String,
    version: i64,
}

/// Reads the form into settings; every unreadable field is named.
fn settings_from_form(f: &SettingsForm, base: &ValueSettings) -> Result<ValueSettings, FieldErrors> {
    let mut errs = FieldErrors::new();
    let mut s = *base;
    let whole = |errs: &mut FieldErrors, field: &str, text: &str| -> Option<u32> {
        errs.check(
            text.trim()
                .parse::<u32>()
                .map_err(|_| FieldError::new(field, "invalid_number", format!("{field} must be a whole number"))),
        )
    };
    let bp = |errs: &mut FieldErrors, field: &str, text: &str| -> Option<u32> {
        errs.check(domain::money::BasisPoints::parse_percent(field, text).map(|b| b.get()))
    };
    if let Some(v) = whole(&mut errs, "window_days", &f.window_days) {
        s.window_days = v;
    }
    let a = bp(&mut errs, "abc_a", &f.abc_a);
    let b = bp(&mut errs, "abc_b", &f.abc_b);
    let c = bp(&mut errs, "abc_c", &f.abc_c);
    if let (Some(a), Some(b), Some(c)) = (a, b, c) {
        match (
            domain::money::BasisPoints::new(a),
            domain::money::BasisPoints::new(b),
            domain::money::BasisPoints::new(c),
        ) {
            (Some(a), Some(b), Some(c)) => s.abc = abc::AbcThresholds { a, b, c },
            _ => errs.push(FieldError::new("abc_a", "out_of_range", "shares must be between 0 and 100")),
        }
    }
    if let Some(v) = whole(&mut errs, "churn_days", &f.churn_days) {
        s.lifecycle.churn_days = v;
    }
    match f.churn_p_alive.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => s.alerts.churn_p_alive = v / 100.0,
        _ => errs.push(FieldError::new("churn_p_alive", "invalid_number", "churn_p_alive must be a percentage")),
    }
    if let Some(v) = bp(&mut errs, "decline_ratio", &f.decline_ratio) {
        s.alerts.decline_ratio_bp = v;
    }
    match f.overdue_factor.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => s.alerts.overdue_factor = v,
        _ => errs.push(FieldError::new("overdue_factor", "invalid_number", "overdue_factor must be a number")),
    }
    if let Some(v) = bp(&mut errs, "discount_rate", &f.discount_rate) {
        s.discount_rate_bp = v;
    }
    if let Some(v) = whole(&mut errs, "clv_months", &f.clv_months) {
        s.clv_months = v;
    }
    if let Some(v) = errs.check(Schedule::parse("schedule", &f.schedule)) {
        s.schedule = v;
    }
    if let Err(more) = s.validate() {
        for e in more {
            errs.push(e);
        }
    }
    errs.into_result().map(|_| s)
}

/// Saves the settings; errors are shown on the form, nothing saved.
#[utoipa::path(post, path = "/settings/value", tag = "pages", security(("keyuan" = ["settings.manage"])),
    responses((status = 303, description = "saved"), (status = 422, description = "refused", content_type = "text/html")))]
async fn settings_post(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<SettingsForm>,
) -> Result<Response, AppError> {
    let (current, _) = store::value::settings(&state.store).await?;
    let lang = req.lang;
    let refused = |errors: FieldErrors, shell: Shell| {
        let echo = ValueSettings::default();
        let mut fields = settings_fields(&echo);
        let typed = [
            &f.window_days,
            &f.abc_a,
            &f.abc_b,
            &f.abc_c,
            &f.churn_days,
            &f.churn_p_alive,
            &f.decline_ratio,
            &f.overdue_factor,
            &f.discount_rate,
            &f.clv_months,
        ];
        for (field, text) in fields.iter_mut().zip(typed) {
            field.2 = text.clone();
        }
        SettingsPage {
            fields,
            schedules: Schedule::ALL.iter().map(|x| Opt::new(x.code(), x.label(zh(lang)), &f.schedule)).collect(),
            version: f.version,
            errors: errors.0.into_iter().map(|e| (e.field, e.message)).collect(),
            saved: false,
            shell,
        }
    };
    let settings = match settings_from_form(&f, &current) {
        Ok(s) => s,
        Err(errors) => {
            let shell = Shell::new(&state, req.principal.clone(), lang, "nav.value_settings").await;
            let html = render(&refused(errors, shell))?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
    };
    let mut tx = state.store.begin().await?;
    store::value::save_settings(&mut tx, &req.actor()?, &settings, f.version).await?;
    tx.commit().await?;
    Ok(Redirect::to("/settings/value?saved=1").into_response())
}

// ------------------------------------------------------- customer value card

/// The value card of the customer page.
pub(crate) struct Card {
    /// Whether any run has scored the customer.
    pub evaluated: bool,
    pub as_of: String,
    pub grade: String,
    /// The grade by the numbers, when a pin overrides it.
    pub computed: Option<String>,
    /// (grade, reason, by) of a pin.
    pub pin: Option<(String, String, String)>,
    /// Sentences explaining grade and scores.
    pub lines: Vec<String>,
    /// (as-of, grade, P(alive)) of every run, newest first.
    pub history: Vec<(String, String, String)>,
    pub sparkline: String,
    /// (id, kind, message, version) of open alerts.
    pub alerts: Vec<(i64, String, String, i64)>,
    pub can_pin: bool,
    pub grades: Vec<Opt>,
    pub customer_id: i64,
}

/// Builds the value card of `c` (already visible to the caller).
pub(crate) async fn card(state: &AppState, req: &Req, c: &Customer) -> Result<Card, AppError> {
    let lang = req.lang;
    let history = store::value::history(&state.store, c.id, 24).await?;
    let pin = store::value::pin_of(&state.store, c.id).await?;
    let me = req.user()?;
    let can_pin = me.can(Permission::ValueManage);
    let alerts = if me.can(Permission::ValueRead) {
        let vis = req.visibility(state, Permission::ValueRead).await?;
        let f = store::value::AlertFilter {
            status: Some("open".into()),
            customer_id: Some(c.id),
            limit: 20,
            ..Default::default()
        };
        store::value::alerts(&state.store, &vis, &f)
            .await?
            .items
            .into_iter()
            .map(|a| {
                let kind =
                    AlertKind::from_code(&a.kind).map(|k| k.label(zh(lang)).to_string()).unwrap_or(a.kind.clone());
                (a.id, kind, alert_message(&a.detail, lang), a.version)
            })
            .collect()
    } else {
        Vec::new()
    };
    let current = pin.as_ref().map(|p| p.grade.clone()).or_else(|| c.data.grade.clone()).unwrap_or_default();
    let grades = Grade::ALL.iter().map(|g| Opt::new(g.letter(), g.label(zh(lang)), &current)).collect();
    let pin_view = pin
        .as_ref()
        .map(|p| (grade_label(&p.grade, lang), p.reason.clone(), p.pinned_by_name.clone().unwrap_or_default()));
    let Some(latest) = history.first() else {
        return Ok(Card {
            evaluated: false,
            as_of: String::new(),
            grade: current,
            computed: None,
            pin: pin_view,
            lines: Vec::new(),
            history: Vec::new(),
            sparkline: String::new(),
            alerts,
            can_pin,
            grades,
            customer_id: c.id.0,
        });
    };
    let settings: ValueSettings = store::value::settings(&state.store).await.map(|s| s.0).unwrap_or_default();
    let lines = explain(latest, &settings, lang);
    let spark: Vec<(String, f64)> =
        history.iter().rev().filter_map(|v| v.p_alive.map(|p| (v.as_of.to_string(), p))).collect();
    let sparkline =
        if spark.is_empty() { String::new() } else { charts::sparkline(&spark, lang.t("value.p_alive_history")) };
    Ok(Card {
        evaluated: true,
        as_of: latest.as_of.to_string(),
        grade: grade_label(&latest.grade, lang),
        computed: (latest.computed_grade != latest.grade).then(|| grade_label(&latest.computed_grade, lang)),
        pin: pin_view,
        lines,
        history: history
            .iter()
            .map(|v| (v.as_of.to_string(), v.grade.clone(), v.p_alive.map(percent).unwrap_or_else(|| "—".into())))
            .collect(),
        sparkline,
        alerts,
        can_pin,
        grades,
        customer_id: c.id.0,
    })
}

/// The grade and scores of one snapshot in words.
fn explain(v: &CustomerValue, s: &ValueSettings, lang: Lang) -> Vec<String> {
    let z = zh(lang);
    let pct = |bp: u32| format!("{}%", bp / 100);
    let mut out = Vec::new();
    let years = f64::from(s.window_days) / 365.0;
    let grade_rule = match store::value::grade_of(&v.computed_grade) {
        Some(g) if g == Grade::ALL[0] => pct(s.abc.a.get()),
        Some(g) if g == Grade::ALL[1] => pct(s.abc.b.get()),
        Some(g) if g == Grade::ALL[2] => pct(s.abc.c.get()),
        _ => "100%".into(),
    };
    out.push(if z {
        format!(
            "近 {years:.1} 年消费 ¥{}；按收入累计占比分级，{} 为贡献前 {grade_rule} 收入的客户。",
            v.window_revenue,
            grade_label(&v.computed_grade, lang)
        )
    } else {
        format!(
            "Spent ¥{} in the last {years:.1} years; graded by cumulative share of revenue, {} are the customers bringing up to {grade_rule} of it.",
            v.window_revenue,
            grade_label(&v.computed_grade, lang)
        )
    });
    if v.occasions == 0 {
        out.push(if z {
            "尚无有效订单，暂无 RFM 与预测。".into()
        } else {
            "No purchases yet, so no RFM scores or forecasts.".into()
        });
    } else {
        let since_last = v.t_days - v.recency_days;
        let segment =
            v.segment.as_deref().and_then(Segment::from_code).map(|s| s.label(z).to_string()).unwrap_or_default();
        let score = |x: Option<i64>| x.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
        out.push(if z {
            format!(
                "最近一次出行在 {since_last} 天前（R={}），共 {} 次出行（F={}），累计消费 ¥{}，平均每次 ¥{}（M={}）；RFM 细分：{segment}。",
                score(v.r_score),
                v.occasions,
                score(v.f_score),
                Money(v.monetary.0 * v.occasions),
                v.monetary,
                score(v.m_score)
            )
        } else {
            format!(
                "Last trip {since_last} days ago (R={}), {} trips (F={}), ¥{} in all, ¥{} on average (M={}); RFM segment: {segment}.",
                score(v.r_score),
                v.occasions,
                score(v.f_score),
                Money(v.monetary.0 * v.occasions),
                v.monetary,
                score(v.m_score)
            )
        });
    }
    if let Some(q) = v.quadrant.as_deref().and_then(Quadrant::from_code) {
        let loyalty = v.loyalty.map(percent).unwrap_or_default();
        out.push(if z {
            format!("销售量 × 忠诚度：{}（忠诚度 {loyalty}）", q.treatment_zh())
        } else {
            format!("Volume × loyalty: {} (loyalty {loyalty})", q.treatment_en())
        });
    }
    out.push(if z {
        format!("生命周期阶段：{}。", stage_label(&v.stage, lang))
    } else {
        format!("Lifecycle stage: {}.", stage_label(&v.stage, lang))
    });
    if let (Some(p), Some(e90), Some(e365)) = (v.p_alive, v.expected_90d, v.expected_365d) {
        let window = match (&v.next_from, &v.next_to) {
            (Some(a), Some(b)) => {
                if z {
                    format!("下次出行很可能在 {a} 至 {b} 之间")
                } else {
                    format!("the next trip is likely between {a} and {b}")
                }
            }
            (Some(a), None) => {
                if z {
                    format!("下次出行很可能在 {a} 之后")
                } else {
                    format!("the next trip is likely after {a}")
                }
            }
            _ => {
                if z {
                    "两年内不太可能再次出行".into()
                } else {
                    "another trip within two years is unlikely".into()
                }
            }
        };
        out.push(if z {
            format!("仍活跃概率 {}；预计 90 天内出行 {e90:.2} 次、一年内 {e365:.2} 次；{window}。", percent(p))
        } else {
            format!("P(alive) {}; expected trips: {e90:.2} in 90 days, {e365:.2} in a year; {window}.", percent(p))
        });
    }
    if let Some(d) = &v.direction {
        let reason = v
            .direction_reason
            .as_ref()
            .and_then(|r| r[if z { "zh" } else { "en" }].as_str().map(str::to_string))
            .unwrap_or_default();
        out.push(if z {
            format!("可能方向：{}（{reason}）", direction_label(d, lang))
        } else {
            format!("Likely direction: {} ({reason})", direction_label(d, lang))
        });
    }
    if let Some(clv) = v.clv {
        out.push(if z {
            format!("未来 {} 个月客户终身价值（按年折现率 {}）：¥{clv}。", s.clv_months, pct(s.discount_rate_bp))
        } else {
            format!(
                "Lifetime value over the next {} months (discounted at {} a year): ¥{clv}.",
                s.clv_months,
                pct(s.discount_rate_bp)
            )
        });
    }
    out
}

#[derive(Deserialize)]
struct PinForm {
    #[serde(default)]
    grade: String,
    #[serde(default)]
    reason: String,
}

/// Pins the grade from the customer page (managers).
#[utoipa::path(post, path = "/customers/{id}/grade-pin", tag = "pages", security(("keyuan" = ["value.manage"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 303, description = "to the customer"), (status = 422, description = "refused")))]
async fn pin_post(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<PinForm>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let mut tx = state.store.begin().await?;
    store::value::pin(&mut tx, &req.actor()?, c.id, &f.grade, &f.reason).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/customers/{id}?saved=1#value")).into_response())
}

/// Removes the pin from the customer page (managers).
#[utoipa::path(post, path = "/customers/{id}/grade-pin/delete", tag = "pages", security(("keyuan" = ["value.manage"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 303, description = "to the customer")))]
async fn unpin_post(State(state): State<AppState>, req: Req, Path(id): Path<i64>) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let mut tx = state.store.begin().await?;
    store::value::unpin(&mut tx, &req.actor()?, c.id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/customers/{id}?saved=1#value")).into_response())
}
