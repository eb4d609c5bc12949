//! Customer value: evaluation runs (盘点) and what they leave behind.
//!
//! A run reads every live customer with their orders, open opportunities and
//! intentions, hands them to [`domain::value::evaluation::evaluate`], and in
//! one transaction stores a snapshot row per customer (`customer_values`),
//! sets each customer's grade and lifecycle stage, and raises alerts as tasks
//! for the customer's owner (`value_alerts`). A crash leaves either the whole
//! run or none of it. Grades pinned by a manager (`grade_pins`) win over the
//! computed ones; the settings of the engine live in `value_settings`.
//!
//! Reads (latest run, a customer's history, alerts, the call list) honour the
//! caller's visibility through the customer's owner and team.

use crate::audit;
use crate::sql::{Sql, Statement};
use crate::visibility::Visibility;
use crate::{now_ms, Actor, Backend, Page, Result, Store, StoreError, Tx};
use chrono::NaiveDate;
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::customer::LifecycleStage;
use domain::ids::{CustomerId, TeamId, UserId};
use domain::money::Money;
use domain::travel::product::ProductType;
use domain::value::abc::Grade;
use domain::value::alerts::{Alert, AlertKind};
use domain::value::evaluation::{self, CustomerInput, Evaluation, Purchase};
use domain::value::settings::ValueSettings;
use domain::FieldError;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

/// How a grade is stored and shown in the customer row, snapshots and
/// exports: its letter (`A`).
pub fn grade_text(g: Grade) -> &'static str {
    g.letter()
}

/// The grade a stored letter (`A` or `a`) stands for.
pub fn grade_of(text: &str) -> Option<Grade> {
    Grade::from_code(&text.trim().to_lowercase())
}

// ------------------------------------------------------------------ settings

/// The engine's settings and their version.
pub async fn settings(store: &Store) -> Result<(ValueSettings, i64)> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT config, version FROM value_settings WHERE id = 1").fetch_optional(store.pool()).await?;
    Ok(match row {
        Some((config, version)) => (serde_json::from_str(&config).unwrap_or_default(), version),
        None => (ValueSettings::default(), 0),
    })
}

/// Saves the settings if `version` is current (0 when never saved).
pub async fn save_settings(tx: &mut Tx, actor: &Actor, s: &ValueSettings, version: i64) -> Result<i64> {
    if let Err(errors) = s.validate() {
        return Err(StoreError::Invalid(domain::FieldErrors(errors)));
    }
    let before: Option<(String, i64)> =
        sqlx::query_as("SELECT config, version FROM value_settings WHERE id = 1").fetch_optional(&mut ***tx).await?;
    let current = before.as_ref().map(|b| b.1).unwrap_or(0);
    if current != version {
        return Err(StoreError::Stale { current });
    }
    let config = serde_json::to_string(s).map_err(|e| StoreError::Migration(e.to_string()))?;
    let now = now_ms();
    let done = if before.is_some() {
        sqlx::query(
            "UPDATE value_settings SET config = $1, updated_at = $2, version = version + 1 WHERE id = 1 AND version = $3",
        )
        .bind(&config)
        .bind(now)
        .bind(version)
        .execute(&mut ***tx)
        .await?
    } else {
        sqlx::query(
            "INSERT INTO value_settings (id, config, created_at, updated_at, version) VALUES (1, $1, $2, $2, 1) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&config)
        .bind(now)
        .execute(&mut ***tx)
        .await?
    };
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "value_settings", 1).await);
    }
    let mut c = ChangeSet::new();
    let old = before.map(|b| b.0).unwrap_or_default();
    c.diff("config", Some(&old), Some(&config), Sensitivity::Plain);
    audit::record(tx, actor, Action::Update, "value_settings", "1", "customer value settings", &c).await?;
    Ok(version + 1)
}

// ---------------------------------------------------------------------- runs

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `keyuan evaluate`.
    Cli,
    /// The schedule in the settings.
    Schedule,
    /// A manager pressed the button.
    Manual,
}

impl Trigger {
    fn code(self) -> &'static str {
        match self {
            Trigger::Cli => "cli",
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }
}

/// A stored run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub as_of: NaiveDate,
    pub trigger: String,
    pub actor_name: String,
    pub status: String,
    pub customers: i64,
    pub buyers: i64,
    pub orders: i64,
    pub alerts: i64,
    /// The summary printed by `keyuan evaluate --json` (models, counts, timings).
    pub summary: serde_json::Value,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

fn run_from_row(r: &AnyRow) -> Result<Run> {
    let as_of: String = r.try_get("as_of")?;
    let summary: String = r.try_get("summary")?;
    Ok(Run {
        id: r.try_get("id")?,
        as_of: as_of.parse().map_err(|_| StoreError::Migration(format!("bad as_of {as_of}")))?,
        trigger: r.try_get("trigger_kind")?,
        actor_name: r.try_get("actor_name")?,
        status: r.try_get("status")?,
        customers: r.try_get("customers")?,
        buyers: r.try_get("buyers")?,
        orders: r.try_get("orders")?,
        alerts: r.try_get("alerts")?,
        summary: serde_json::from_str(&summary).unwrap_or(serde_json::Value::Null),
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

/// The most recent finished runs, newest first.
pub async fn runs(store: &Store, limit: i64) -> Result<Vec<Run>> {
    let rows = sqlx::query("SELECT * FROM value_runs WHERE status = 'done' ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(run_from_row).collect()
}

/// One finished run.
pub async fn run(store: &Store, id: i64) -> Result<Run> {
    let row = sqlx::query("SELECT * FROM value_runs WHERE id = $1 AND status = 'done'")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    run_from_row(&row)
}

/// The latest finished run, if any.
pub async fn latest_run(store: &Store) -> Result<Option<Run>> {
    Ok(runs(store, 1).await?.into_iter().next())
}

/// How a run went, for the command line and the log.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run: Run,
    /// Grade changes against the previous run: (from, to) → customers.
    pub grade_changes: usize,
}

/// One step of a run, for progress on a terminal.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// Evaluates every customer as of `as_of` and stores the run.
pub async fn evaluate(
    store: &Store,
    actor: &Actor,
    as_of: NaiveDate,
    trigger: Trigger,
    progress: Progress<'_>,
) -> Result<RunReport> {
    let started = now_ms();
    let mut timings = serde_json::Map::new();
    let mut t = std::time::Instant::now();
    let (settings, _) = settings(store).await?;
    progress("reading customers and orders");
    let loaded = load(store, as_of).await?;
    lap(&mut timings, "read_ms", &mut t);
    progress("fitting the models and scoring every customer");
    let inputs = loaded.inputs;
    let settings_for_run = settings;
    let evaluation = tokio::task::spawn_blocking(move || {
        let e = evaluation::evaluate(&inputs, as_of, &settings_for_run);
        (inputs, e)
    })
    .await
    .map_err(|e| StoreError::Migration(format!("evaluation failed: {e}")))?;
    let (inputs, evaluation) = evaluation;
    lap(&mut timings, "model_ms", &mut t);
    progress("saving the snapshot, grades, stages and alerts");
    let write = RunWrite { actor: actor.clone(), as_of, trigger, settings, started, orders: loaded.orders, timings };
    let run_id = match crate::native::sqlite_file(store) {
        Some(path) => {
            let _turn = store.write_turn().await;
            tokio::task::spawn_blocking(move || write_native(&path, write, &evaluation, &inputs, &loaded.owners))
                .await
                .map_err(|e| StoreError::Migration(format!("saving the run failed: {e}")))??
        }
        None => write_pooled(store, write, &evaluation, &inputs, &loaded.owners).await?,
    };
    if store.backend() == Backend::Postgres {
        // The planner needs to know the snapshot table grew.
        let _ = sqlx::query("ANALYZE customer_values").execute(store.pool()).await;
    }
    let run = run(store, run_id).await?;
    let grade_changes = run.summary["grade_changes"].as_u64().unwrap_or(0) as usize;
    Ok(RunReport { run, grade_changes })
}

struct Loaded {
    inputs: Vec<CustomerInput>,
    owners: HashMap<i64, (i64, Option<i64>)>,
    orders: i64,
}

/// Customers and their orders as they are read, by either path.
#[derive(Default)]
struct History {
    inputs: Vec<CustomerInput>,
    index: HashMap<i64, usize>,
    owners: HashMap<i64, (i64, Option<i64>)>,
    orders: i64,
    /// Destinations, each kept once however many orders name it.
    places: HashMap<String, Arc<str>>,
}

impl History {
    /// A customer, in id order.
    fn customer(&mut self, id: i64, owner: i64, team: Option<i64>) {
        self.owners.insert(id, (owner, team));
        self.index.insert(id, self.inputs.len());
        self.inputs.push(CustomerInput { customer_id: id, ..Default::default() });
    }

    /// An order that counts; a customer's orders come by day (or by id, and
    /// [`Self::finish`] sorts them by day). `None` if its day is unreadable.
    fn order(&mut self, customer: i64, day: &str, amount: i64, product_type: &str, destination: &str) -> Option<()> {
        self.orders += 1;
        let Some(&i) = self.index.get(&customer) else { return Some(()) };
        let day = order_day(day)?;
        let destination = Some(destination.trim()).filter(|d| !d.is_empty()).map(|d| match self.places.get(d) {
            Some(p) => p.clone(),
            None => self.places.entry(d.to_string()).or_insert_with_key(|k| Arc::from(k.as_str())).clone(),
        });
        self.inputs[i].purchases.push(Purchase {
            day,
            amount: Money(amount),
            product_type: ProductType::from_code(product_type).unwrap_or(ProductType::Custom),
            destination,
        });
        Some(())
    }

    /// Each customer's orders by day, orders of one day in the order they
    /// came (by id).
    fn finish(mut self) -> History {
        for c in &mut self.inputs {
            if !c.purchases.is_sorted_by_key(|p| p.day) {
                c.purchases.sort_by_key(|p| p.day);
            }
        }
        self
    }
}

/// An order day as stored (`YYYY-MM-DD`).
fn order_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return text.parse().ok();
    }
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

/// The customers that count (neither merged nor erased), by id.
const CUSTOMERS_SQL: &str =
    "SELECT id, owner_id, team_id FROM customers WHERE merged_into_id IS NULL AND erased_at IS NULL ORDER BY id";

async fn load(store: &Store, as_of: NaiveDate) -> Result<Loaded> {
    let pool = store.pool();
    let History { mut inputs, index, owners, orders, .. } = match crate::native::sqlite_file(store) {
        Some(path) => tokio::task::spawn_blocking(move || read_history_native(&path, as_of))
            .await
            .map_err(|e| StoreError::Migration(format!("reading the order history failed: {e}")))??,
        None => read_history(store, as_of).await?,
    };

    for (id,) in
        sqlx::query_as::<_, (i64,)>("SELECT DISTINCT customer_id FROM opportunities WHERE stage NOT IN ('won', 'lost')")
            .fetch_all(pool)
            .await?
    {
        if let Some(&i) = index.get(&id) {
            inputs[i].open_opportunity = true;
        }
    }
    for (id, destination, period) in sqlx::query_as::<_, (i64, String, Option<String>)>(
        "SELECT customer_id, destination, period FROM customer_intentions WHERE status = 'open' ORDER BY id DESC",
    )
    .fetch_all(pool)
    .await?
    {
        if let Some(&i) = index.get(&id) {
            inputs[i].intentions.push((destination, period));
        }
    }
    for (id, grade) in
        sqlx::query_as::<_, (i64, String)>("SELECT customer_id, grade FROM grade_pins").fetch_all(pool).await?
    {
        if let Some(&i) = index.get(&id) {
            inputs[i].pinned_grade = grade_of(&grade);
        }
    }
    let previous_run: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM value_runs WHERE status = 'done'").fetch_one(pool).await?;
    if let Some(prev) = previous_run {
        for (id, grade) in
            sqlx::query_as::<_, (i64, String)>("SELECT customer_id, grade FROM customer_values WHERE run_id = $1")
                .bind(prev)
                .fetch_all(pool)
                .await?
        {
            if let Some(&i) = index.get(&id) {
                inputs[i].previous_grade = grade_of(&grade);
            }
        }
    }
    Ok(Loaded { inputs, owners, orders })
}

/// Customers and orders through the pool (PostgreSQL, in-memory SQLite).
async fn read_history(store: &Store, as_of: NaiveDate) -> Result<History> {
    let pool = store.pool();
    let mut history = History::default();
    for r in &sqlx::query(CUSTOMERS_SQL).fetch_all(pool).await? {
        history.customer(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    }
    // Each customer's orders come as one row with the orders concatenated
    // (see `history_sql`): 5,000,000 orders as rows of five values cost
    // several times more in the driver than reading them.
    let mut after = i64::MIN;
    let sql = history_sql(store.backend());
    loop {
        let page = sqlx::query(&sql).bind(as_of.to_string()).bind(after).fetch_all(pool).await?;
        for r in &page {
            let id: i64 = r.try_get(0)?;
            after = id;
            let text: &str = r.try_get(1)?;
            let mut readable = true;
            let parsed = parse_history(text, |day, amount, product_type, destination| {
                readable &= history.order(id, day, amount, product_type, destination).is_some();
            });
            if parsed.is_none() || !readable {
                return Err(StoreError::Migration(format!("unreadable order history of customer {id}")));
            }
        }
        if page.len() < HISTORY_PAGE {
            break;
        }
    }
    Ok(history.finish())
}

/// Customers and orders through SQLite's own interface, in one read
/// transaction: the orders in one pass over the table, as they are stored,
/// instead of customer by customer through an index (a random read per
/// order).
fn read_history_native(path: &std::path::Path, as_of: NaiveDate) -> Result<History> {
    let conn = crate::native::open_reader(path)?;
    conn.execute_batch("BEGIN")?;
    let mut history = History::default();
    let mut customers = conn.prepare(CUSTOMERS_SQL)?;
    let mut rows = customers.query([])?;
    while let Some(r) = rows.next()? {
        history.customer(r.get(0)?, r.get(1)?, r.get(2)?);
    }
    let mut orders = conn.prepare(&format!(
        "SELECT customer_id, order_date, amount, product_type, COALESCE(destination, '') FROM orders NOT INDEXED \
         WHERE {COUNTED_ORDERS} ORDER BY id"
    ))?;
    let mut rows = orders.query([as_of.to_string()])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let day = crate::native::text(r, 1)?;
        let (product_type, destination) = (crate::native::text(r, 3)?, crate::native::text(r, 4)?);
        if history.order(id, day, r.get(2)?, product_type, destination).is_none() {
            return Err(StoreError::Migration(format!("unreadable order day {day:?} of customer {id}")));
        }
    }
    drop(rows);
    conn.execute_batch("COMMIT")?;
    Ok(history.finish())
}

/// The orders a run counts: neither cancelled nor refunded, up to the as-of
/// date (the first parameter).
const COUNTED_ORDERS: &str = "status NOT IN ('cancelled', 'refunded') AND order_date <= ?1";

/// Customers per page of [`history_sql`].
const HISTORY_PAGE: usize = 20_000;

/// The orders that count (neither cancelled nor refunded, up to the as-of
/// date `$1`) of the next [`HISTORY_PAGE`] customers after id `$2`, one row
/// per customer: id, and the orders by date and id as one text of
/// `len:order_date` `amount,` `len:product_type` `len:destination` each
/// (lengths in bytes, so no value can be mistaken for a separator).
fn history_sql(backend: Backend) -> String {
    let order = "octet_length(order_date) || ':' || order_date || amount || ',' || octet_length(product_type) || ':' \
                 || product_type || octet_length(COALESCE(destination, '')) || ':' || COALESCE(destination, '')";
    let concat = match backend {
        Backend::Sqlite => format!("group_concat({order}, '' ORDER BY order_date, id)"),
        Backend::Postgres => format!("string_agg({order}, '' ORDER BY order_date, id)"),
    };
    format!(
        "SELECT customer_id, {concat} FROM orders \
         WHERE status NOT IN ('cancelled', 'refunded') AND order_date <= $1 AND customer_id > $2 \
         GROUP BY customer_id ORDER BY customer_id LIMIT {HISTORY_PAGE}"
    )
}

/// Reads the text of [`history_sql`], calling `each(order_date, amount,
/// product_type, destination)` per order; `None` if the text is malformed.
fn parse_history(mut text: &str, mut each: impl FnMut(&str, i64, &str, &str)) -> Option<()> {
    fn field<'t>(text: &mut &'t str) -> Option<&'t str> {
        let (len, rest) = text.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let value = rest.get(..len)?;
        *text = &rest[len..];
        Some(value)
    }
    while !text.is_empty() {
        let day = field(&mut text)?;
        let (amount, rest) = text.split_once(',')?;
        text = rest;
        let amount: i64 = amount.parse().ok()?;
        let product_type = field(&mut text)?;
        let destination = field(&mut text)?;
        each(day, amount, product_type, destination);
    }
    Some(())
}

/// Records how long a step took, as `name` in the run's timings.
fn lap(timings: &mut serde_json::Map<String, serde_json::Value>, name: &str, t: &mut std::time::Instant) {
    timings.insert(name.to_string(), serde_json::json!(t.elapsed().as_millis() as u64));
    *t = std::time::Instant::now();
}

/// What the write step of a run needs besides the evaluation.
struct RunWrite {
    actor: Actor,
    as_of: NaiveDate,
    trigger: Trigger,
    settings: ValueSettings,
    started: i64,
    orders: i64,
    timings: serde_json::Map<String, serde_json::Value>,
}

const INSERT_RUN_SQL: &str = "INSERT INTO value_runs (as_of, trigger_kind, actor_id, actor_name, settings, status, \
     started_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $7) RETURNING id";

const FINISH_RUN_SQL: &str = "UPDATE value_runs SET status = 'done', customers = $1, buyers = $2, orders = $3, \
     alerts = $4, summary = $5, finished_at = $6, updated_at = $6 WHERE id = $7";

const OPEN_ALERTS_SQL: &str = "SELECT customer_id, kind FROM value_alerts WHERE status = 'open'";

/// The run's audit row: what was evaluated and what it changed.
fn run_changes(as_of: NaiveDate, customers: usize, grade_changes: usize, alerts: usize) -> ChangeSet {
    let mut c = ChangeSet::new();
    c.diff("as_of", None, Some(&as_of.to_string()), Sensitivity::Plain);
    c.diff("customers", None, Some(&customers.to_string()), Sensitivity::Plain);
    c.diff("grade_changes", None, Some(&grade_changes.to_string()), Sensitivity::Plain);
    c.diff("alerts", None, Some(&alerts.to_string()), Sensitivity::Plain);
    c
}

/// The write step through the pool, in one transaction; the run's id.
async fn write_pooled(
    store: &Store,
    mut run: RunWrite,
    e: &Evaluation,
    inputs: &[CustomerInput],
    owners: &HashMap<i64, (i64, Option<i64>)>,
) -> Result<i64> {
    let backend = store.backend();
    let write_started = std::time::Instant::now();
    let mut t = write_started;
    let mut tx = store.begin().await?;
    let now = now_ms();
    let run_id: i64 = sqlx::query_scalar(INSERT_RUN_SQL)
        .bind(run.as_of.to_string())
        .bind(run.trigger.code())
        .bind(run.actor.user_id.map(|u| u.0))
        .bind(run.actor.name.as_str())
        .bind(serde_json::to_string(&run.settings).unwrap_or_default())
        .bind(run.started)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    for chunk in e.results.chunks(snapshot_rows_per_statement(backend)) {
        snapshot_statement(backend, run_id, chunk).query().execute(&mut **tx).await?;
    }
    lap(&mut run.timings, "write_snapshot_ms", &mut t);
    let changes = sqlx::query(apply_sql(backend)).bind(run_id).execute(&mut **tx).await?.rows_affected() as usize;
    lap(&mut run.timings, "write_grades_ms", &mut t);
    let open: Vec<(i64, String)> = sqlx::query_as(OPEN_ALERTS_SQL).fetch_all(&mut **tx).await?;
    let rows = alert_rows(e, owners, open.into_iter().collect());
    for chunk in rows.chunks(ALERTS_PER_STATEMENT) {
        alert_statement(backend, run_id, now, chunk).query().execute(&mut **tx).await?;
    }
    lap(&mut run.timings, "write_alerts_ms", &mut t);
    let mut all = write_started;
    lap(&mut run.timings, "write_ms", &mut all);
    let summary = summary_json(e, inputs, run.as_of, rows.len(), changes, run.timings, run.orders);
    sqlx::query(FINISH_RUN_SQL)
        .bind(e.results.len() as i64)
        .bind(buyers(e))
        .bind(run.orders)
        .bind(rows.len() as i64)
        .bind(summary.to_string())
        .bind(now_ms())
        .bind(run_id)
        .execute(&mut **tx)
        .await?;
    let changes = run_changes(run.as_of, e.results.len(), changes, rows.len());
    let what = format!("value evaluation as of {}", run.as_of);
    audit::record(&mut tx, &run.actor, Action::Create, "value_run", &run_id.to_string(), &what, &changes).await?;
    tx.commit().await?;
    Ok(run_id)
}

/// The write step through SQLite's own interface (see `native`), in one
/// transaction; the same statements as [`write_pooled`]. The caller holds
/// the process's write turn.
fn write_native(
    path: &std::path::Path,
    mut run: RunWrite,
    e: &Evaluation,
    inputs: &[CustomerInput],
    owners: &HashMap<i64, (i64, Option<i64>)>,
) -> Result<i64> {
    let backend = Backend::Sqlite;
    let write_started = std::time::Instant::now();
    let mut t = write_started;
    let mut conn = crate::native::open_writer(path)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = now_ms();
    let run_id: i64 = tx.query_row(
        INSERT_RUN_SQL,
        rusqlite::params![
            run.as_of.to_string(),
            run.trigger.code(),
            run.actor.user_id.map(|u| u.0),
            run.actor.name.as_str(),
            serde_json::to_string(&run.settings).unwrap_or_default(),
            run.started,
            now,
        ],
        |r| r.get(0),
    )?;
    for chunk in e.results.chunks(snapshot_rows_per_statement(backend)) {
        snapshot_statement(backend, run_id, chunk).execute_native(&tx)?;
    }
    lap(&mut run.timings, "write_snapshot_ms", &mut t);
    let changes = tx.execute(apply_sql(backend), [run_id])?;
    lap(&mut run.timings, "write_grades_ms", &mut t);
    let mut open = std::collections::HashSet::new();
    {
        let mut query = tx.prepare(OPEN_ALERTS_SQL)?;
        let mut found = query.query([])?;
        while let Some(r) = found.next()? {
            open.insert((r.get::<_, i64>(0)?, r.get::<_, String>(1)?));
        }
    }
    let rows = alert_rows(e, owners, open);
    for chunk in rows.chunks(ALERTS_PER_STATEMENT) {
        alert_statement(backend, run_id, now, chunk).execute_native(&tx)?;
    }
    lap(&mut run.timings, "write_alerts_ms", &mut t);
    let mut all = write_started;
    lap(&mut run.timings, "write_ms", &mut all);
    let summary = summary_json(e, inputs, run.as_of, rows.len(), changes, run.timings, run.orders);
    tx.execute(
        FINISH_RUN_SQL,
        rusqlite::params![
            e.results.len() as i64,
            buyers(e),
            run.orders,
            rows.len() as i64,
            summary.to_string(),
            now_ms(),
            run_id
        ],
    )?;
    let changes = run_changes(run.as_of, e.results.len(), changes, rows.len());
    let what = format!("value evaluation as of {}", run.as_of);
    audit::record_native(&tx, &run.actor, Action::Create, "value_run", &run_id.to_string(), &what, &changes)?;
    tx.commit()?;
    Ok(run_id)
}

/// Customers with at least one purchase occasion.
fn buyers(e: &Evaluation) -> i64 {
    e.results.iter().filter(|r| r.occasions > 0).count() as i64
}

const SNAPSHOT_COLUMNS: &str = "run_id, customer_id, grade, computed_grade, quadrant, stage, segment, r_score, \
     f_score, m_score, frequency, recency_days, t_days, occasions, last_purchase, cycle_due, monetary, window_revenue, \
     loyalty, p_alive, expected_90d, expected_365d, next_from, next_to, direction, direction_reason, clv";
const SNAPSHOT_WIDTH: usize = 27;

/// As many snapshot rows per statement as the engine's bind limit allows.
fn snapshot_rows_per_statement(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32_000 / SNAPSHOT_WIDTH,
        Backend::Postgres => 65_000 / SNAPSHOT_WIDTH,
    }
}

/// One statement inserting the snapshot rows of `chunk`.
fn snapshot_statement(
    backend: Backend,
    run_id: i64,
    chunk: &[domain::value::evaluation::CustomerResult],
) -> Statement<'_> {
    let mut sql = Statement::new(backend, &format!("INSERT INTO customer_values ({SNAPSHOT_COLUMNS}) VALUES "));
    for (k, r) in chunk.iter().enumerate() {
        let (rfm, segment) = match r.rfm {
            Some((s, seg)) => (Some(s), Some(seg.code())),
            None => (None, None),
        };
        sql.push(if k == 0 { "(" } else { ", (" });
        sql.int(run_id).push(", ").int(r.customer_id).push(", ");
        sql.text(Some(grade_text(r.grade))).push(", ").text(Some(grade_text(r.computed_grade))).push(", ");
        sql.text(r.quadrant.as_ref().map(|q| q.quadrant.code())).push(", ").text(Some(r.stage.code())).push(", ");
        sql.text(segment).push(", ");
        for score in [rfm.map(|s| s.r), rfm.map(|s| s.f), rfm.map(|s| s.m)] {
            sql.int(score.map(i64::from)).push(", ");
        }
        for n in [r.frequency, r.recency_days, r.t_days, r.occasions] {
            sql.int(i64::from(n)).push(", ");
        }
        sql.owned(r.last_purchase.map(|d| d.to_string())).push(", ");
        sql.owned(r.cycle_due.map(|d| d.to_string())).push(", ");
        sql.int(r.monetary.0).push(", ").int(r.window_revenue.0).push(", ");
        sql.real(r.quadrant.as_ref().map(|q| q.loyalty)).push(", ").real(r.p_alive).push(", ");
        sql.real(r.expected.map(|x| x[1])).push(", ").real(r.expected.map(|x| x[2])).push(", ");
        sql.owned(r.next_window.map(|w| w.0.to_string())).push(", ");
        sql.owned(r.next_window.and_then(|w| w.1).map(|d| d.to_string())).push(", ");
        sql.owned(r.direction.as_ref().map(|d| d.short_code())).push(", ");
        sql.owned(r.direction.as_ref().map(|d| reason_json(d).to_string())).push(", ");
        sql.int(r.clv.map(|m| m.0)).push(")");
    }
    sql
}

/// The direction's reason as stored: both languages, so pages need no model.
fn reason_json(d: &domain::value::direction::Direction) -> serde_json::Value {
    serde_json::json!({"zh": d.reason.text_zh(), "en": d.reason.text_en()})
}

/// Sets grade and stage of every customer whose snapshot (run `$1`) differs
/// from what the customer row holds, in one pass joining the snapshot to the
/// customers (SQLite has `UPDATE … FROM` since 3.33); the rows it changes
/// are the count of changes. The row's version is left alone: a grade moved
/// by the engine does not make a colleague's open edit form stale.
fn apply_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "UPDATE customers SET grade = v.grade, stage = v.stage FROM customer_values v \
             WHERE v.run_id = $1 AND v.customer_id = customers.id \
             AND (v.grade IS NOT customers.grade OR v.stage IS NOT customers.stage)"
        }
        Backend::Postgres => {
            "UPDATE customers c SET grade = v.grade, stage = v.stage FROM customer_values v \
             WHERE v.run_id = $1 AND v.customer_id = c.id \
             AND (v.grade IS DISTINCT FROM c.grade OR v.stage IS DISTINCT FROM c.stage)"
        }
    }
}

/// One alert to store: customer, owner, team, kind and detail.
type NewAlert = (i64, i64, Option<i64>, &'static str, String);

const ALERTS_PER_STATEMENT: usize = 2000;

/// This run's alerts. An alert of a kind the customer already has `open` is
/// not raised again: the open task still stands.
fn alert_rows(
    e: &Evaluation,
    owners: &HashMap<i64, (i64, Option<i64>)>,
    open: std::collections::HashSet<(i64, String)>,
) -> Vec<NewAlert> {
    let mut rows = Vec::new();
    for r in &e.results {
        for a in &r.alerts {
            let kind = a.kind().code();
            if open.contains(&(r.customer_id, kind.to_string())) {
                continue;
            }
            let Some(&(owner, team)) = owners.get(&r.customer_id) else { continue };
            rows.push((r.customer_id, owner, team, kind, alert_detail(a).to_string()));
        }
    }
    rows
}

/// One statement inserting the alerts of `chunk`.
fn alert_statement(backend: Backend, run_id: i64, now: i64, chunk: &[NewAlert]) -> Statement<'_> {
    let mut sql = Statement::new(
        backend,
        "INSERT INTO value_alerts (run_id, customer_id, owner_id, team_id, kind, detail, status, created_at, \
         updated_at) VALUES ",
    );
    for (k, (customer, owner, team, kind, detail)) in chunk.iter().enumerate() {
        sql.push(if k == 0 { "(" } else { ", (" });
        sql.int(run_id).push(", ").int(*customer).push(", ").int(*owner).push(", ").int(*team).push(", ");
        sql.text(Some(kind)).push(", ").text(Some(detail.as_str())).push(", 'open', ");
        sql.int(now).push(", ").int(now).push(")");
    }
    sql
}

/// An alert as stored: its words in both languages.
fn alert_detail(a: &Alert) -> serde_json::Value {
    serde_json::json!({"zh": a.text_zh(), "en": a.text_en()})
}

fn summary_json(
    e: &Evaluation,
    inputs: &[CustomerInput],
    as_of: NaiveDate,
    alerts: usize,
    grade_changes: usize,
    timings: serde_json::Map<String, serde_json::Value>,
    orders: i64,
) -> serde_json::Value {
    let mut grades: std::collections::BTreeMap<&str, usize> = Grade::ALL.iter().map(|g| (grade_text(*g), 0)).collect();
    let mut stages: std::collections::BTreeMap<&str, usize> =
        LifecycleStage::ALL.iter().map(|s| (s.code(), 0)).collect();
    let mut quadrants: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut alert_kinds: std::collections::BTreeMap<&str, usize> =
        AlertKind::ALL.iter().map(|k| (k.code(), 0)).collect();
    for r in &e.results {
        *grades.entry(grade_text(r.grade)).or_default() += 1;
        *stages.entry(r.stage.code()).or_default() += 1;
        if let Some(q) = &r.quadrant {
            *quadrants.entry(q.quadrant.code()).or_default() += 1;
        }
        for a in &r.alerts {
            *alert_kinds.entry(a.kind().code()).or_default() += 1;
        }
    }
    let revenue: i64 = e.results.iter().map(|r| r.window_revenue.0).sum();
    let m = &e.models;
    serde_json::json!({
        "as_of": as_of.to_string(),
        "customers": inputs.len(),
        "buyers": e.results.iter().filter(|r| r.occasions > 0).count(),
        "orders": orders,
        "window_revenue": Money(revenue).to_string(),
        "grades": grades,
        "stages": stages,
        "quadrants": quadrants,
        "alerts": {"raised": alerts, "by_kind": alert_kinds},
        "grade_changes": grade_changes,
        "model": {
            "time_unit": "day",
            "bgnbd": m.bgnbd.map(|b| serde_json::json!({"r": b.r, "alpha": b.alpha, "a": b.a, "b": b.b,
                                                       "customers": m.bgnbd_customers})),
            "gamma_gamma": m.gamma_gamma.map(|g| serde_json::json!({"p": g.p, "q": g.q, "v": g.v,
                                                                   "customers": m.gamma_gamma_customers})),
        },
        "timings": timings,
    })
}

// ------------------------------------------------------------------ snapshots

/// One customer's row of one run.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerValue {
    pub run_id: i64,
    pub as_of: NaiveDate,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub owner_id: i64,
    pub grade: String,
    pub computed_grade: String,
    pub quadrant: Option<String>,
    pub stage: String,
    pub segment: Option<String>,
    pub r_score: Option<i64>,
    pub f_score: Option<i64>,
    pub m_score: Option<i64>,
    pub frequency: i64,
    pub recency_days: i64,
    pub t_days: i64,
    pub occasions: i64,
    pub last_purchase: Option<String>,
    /// When the customer's own travel cycle comes round (last trip plus the
    /// median gap between trips).
    pub cycle_due: Option<String>,
    pub monetary: Money,
    pub window_revenue: Money,
    pub loyalty: Option<f64>,
    pub p_alive: Option<f64>,
    pub expected_90d: Option<f64>,
    pub expected_365d: Option<f64>,
    pub next_from: Option<String>,
    pub next_to: Option<String>,
    pub direction: Option<String>,
    /// The reason for the direction, `{"zh": …, "en": …}`.
    pub direction_reason: Option<serde_json::Value>,
    pub clv: Option<Money>,
}

const VALUE_SELECT: &str = "SELECT v.*, r.as_of, c.code AS customer_code, c.name AS customer_name, \
     c.owner_id AS owner_id FROM customer_values v JOIN value_runs r ON r.id = v.run_id \
     JOIN customers c ON c.id = v.customer_id WHERE r.status = 'done'";

fn value_from_row(r: &AnyRow) -> Result<CustomerValue> {
    let as_of: String = r.try_get("as_of")?;
    let reason: Option<String> = r.try_get("direction_reason")?;
    Ok(CustomerValue {
        run_id: r.try_get("run_id")?,
        as_of: as_of.parse().map_err(|_| StoreError::Migration(format!("bad as_of {as_of}")))?,
        customer_id: r.try_get("customer_id")?,
        customer_code: r.try_get("customer_code")?,
        customer_name: r.try_get("customer_name")?,
        owner_id: r.try_get("owner_id")?,
        grade: r.try_get("grade")?,
        computed_grade: r.try_get("computed_grade")?,
        quadrant: r.try_get("quadrant")?,
        stage: r.try_get("stage")?,
        segment: r.try_get("segment")?,
        r_score: r.try_get("r_score")?,
        f_score: r.try_get("f_score")?,
        m_score: r.try_get("m_score")?,
        frequency: r.try_get("frequency")?,
        recency_days: r.try_get("recency_days")?,
        t_days: r.try_get("t_days")?,
        occasions: r.try_get("occasions")?,
        last_purchase: r.try_get("last_purchase")?,
        cycle_due: r.try_get("cycle_due")?,
        monetary: Money(r.try_get("monetary")?),
        window_revenue: Money(r.try_get("window_revenue")?),
        loyalty: r.try_get("loyalty")?,
        p_alive: r.try_get("p_alive")?,
        expected_90d: r.try_get("expected_90d")?,
        expected_365d: r.try_get("expected_365d")?,
        next_from: r.try_get("next_from")?,
        next_to: r.try_get("next_to")?,
        direction: r.try_get("direction")?,
        direction_reason: reason.and_then(|s| serde_json::from_str(&s).ok()),
        clv: r.try_get::<Option<i64>, _>("clv")?.map(Money),
    })
}

/// A customer's rows across runs, newest first (the grade and P(alive)
/// history). The caller has checked the customer is visible.
pub async fn history(store: &Store, customer: CustomerId, limit: i64) -> Result<Vec<CustomerValue>> {
    let mut sql = Sql::new(VALUE_SELECT);
    sql.push(" AND v.customer_id = ").bind(customer.0);
    sql.push(" ORDER BY v.run_id DESC LIMIT ").bind(limit);
    sql.query().fetch_all(store.pool()).await?.iter().map(value_from_row).collect()
}

/// Every row of one run, in customer-code order, within `vis` (for export).
pub async fn run_rows(store: &Store, vis: &Visibility, run_id: i64) -> Result<Vec<CustomerValue>> {
    let mut sql = Sql::new(VALUE_SELECT);
    sql.push(" AND v.run_id = ").bind(run_id);
    vis.restrict(&mut sql, "c.owner_id", "c.team_id");
    sql.push(" ORDER BY c.code");
    sql.query().fetch_all(store.pool()).await?.iter().map(value_from_row).collect()
}

/// Filter of the call list.
#[derive(Debug, Clone, Default)]
pub struct CallListFilter {
    /// Only this salesperson's customers.
    pub owner_id: Option<UserId>,
    /// Only this team's customers.
    pub team_id: Option<TeamId>,
    /// Look this many days ahead (30 by default).
    pub days: i64,
    /// At most this many rows.
    pub limit: i64,
}

/// Why a customer is on the call list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallReason {
    /// The model expects the next purchase window to open within the days.
    Model,
    /// Their own travel cycle comes round within the days.
    Cycle,
}

/// One row of the "likely to book in the next 30 days" list.
#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub value: CustomerValue,
    pub owner_name: String,
    pub team_id: Option<i64>,
    pub reason: CallReason,
    /// The day the customer's own cycle says the next trip is due.
    pub cycle_due: Option<String>,
}

/// Customers of the latest run likely to book within `f.days` of its as-of
/// date: those whose next-purchase window opens by then, and active buyers
/// whose own cycle comes due by then; the most likely first.
pub async fn call_list(store: &Store, vis: &Visibility, f: &CallListFilter) -> Result<(Option<Run>, Vec<CallRow>)> {
    let Some(run) = latest_run(store).await? else { return Ok((None, Vec::new())) };
    let days = if f.days <= 0 { 30 } else { f.days };
    let until = (run.as_of + chrono::Duration::days(days)).to_string();
    let mut sql = Sql::new(
        "SELECT v.*, r.as_of, c.code AS customer_code, c.name AS customer_name, c.owner_id AS owner_id, \
         c.team_id AS team_id, u.display_name AS owner_name FROM customer_values v \
         JOIN value_runs r ON r.id = v.run_id JOIN customers c ON c.id = v.customer_id \
         JOIN users u ON u.id = c.owner_id WHERE v.run_id = ",
    );
    // A cycle that came round up to a fortnight ago still counts.
    let lower = (run.as_of - chrono::Duration::days(15)).to_string();
    sql.bind(run.id);
    sql.push(" AND v.stage <> 'churned' AND (v.next_from <= ").bind(until.clone());
    sql.push(" OR (v.p_alive >= 0.5 AND v.cycle_due >= ").bind(lower);
    sql.push(" AND v.cycle_due <= ").bind(until.clone()).push("))");
    vis.restrict(&mut sql, "c.owner_id", "c.team_id");
    if let Some(o) = f.owner_id {
        sql.push(" AND c.owner_id = ").bind(o.0);
    }
    if let Some(t) = f.team_id {
        sql.push(" AND c.team_id = ").bind(t.0);
    }
    let rows = sql.query().fetch_all(store.pool()).await?;
    let mut out = Vec::new();
    for r in &rows {
        let value = value_from_row(r)?;
        let by_model = value.next_from.as_deref().is_some_and(|d| d <= until.as_str());
        let reason = if by_model { CallReason::Model } else { CallReason::Cycle };
        let cycle_due = value.cycle_due.clone();
        out.push(CallRow {
            owner_name: r.try_get("owner_name")?,
            team_id: r.try_get("team_id")?,
            reason,
            cycle_due,
            value,
        });
    }
    out.sort_by(|a, b| {
        let key = |c: &CallRow| c.value.expected_90d.unwrap_or(0.0) * c.value.p_alive.unwrap_or(0.0);
        key(b).total_cmp(&key(a)).then(a.value.customer_code.cmp(&b.value.customer_code))
    });
    let limit = if f.limit <= 0 { 200 } else { f.limit } as usize;
    out.truncate(limit);
    Ok((Some(run), out))
}

/// Grade counts and window revenue per grade, quadrant points and the Pareto
/// curve of one run, within `vis`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Distribution {
    /// (grade, customers, window revenue).
    pub grades: Vec<(String, i64, Money)>,
    /// (quadrant, customers).
    pub quadrants: Vec<(String, i64)>,
    /// (stage, customers).
    pub stages: Vec<(String, i64)>,
    /// Window revenue of every buyer, largest first (for the Pareto curve).
    pub revenues: Vec<Money>,
    /// (volume, loyalty, quadrant) of up to 2,000 buyers, for the chart.
    pub points: Vec<(Money, f64, String)>,
}

/// The distribution of run `run_id` within `vis`.
pub async fn distribution(store: &Store, vis: &Visibility, run_id: i64) -> Result<Distribution> {
    let mut d = Distribution::default();
    let scoped = |select: &str, tail: &str| {
        let mut sql = Sql::new(select);
        sql.bind(run_id);
        vis.restrict(&mut sql, "c.owner_id", "c.team_id");
        sql.push(tail);
        sql
    };
    let from = " FROM customer_values v JOIN customers c ON c.id = v.customer_id WHERE v.run_id = ";
    for r in scoped(
        &format!("SELECT v.grade, COUNT(*), CAST(SUM(v.window_revenue) AS BIGINT){from}"),
        " GROUP BY v.grade ORDER BY v.grade",
    )
    .query()
    .fetch_all(store.pool())
    .await?
    {
        d.grades.push((r.try_get(0)?, r.try_get(1)?, Money(r.try_get::<Option<i64>, _>(2)?.unwrap_or(0))));
    }
    for r in scoped(&format!("SELECT v.quadrant, COUNT(*){from}"), " AND v.quadrant IS NOT NULL GROUP BY v.quadrant")
        .query()
        .fetch_all(store.pool())
        .await?
    {
        d.quadrants.push((r.try_get(0)?, r.try_get(1)?));
    }
    for r in
        scoped(&format!("SELECT v.stage, COUNT(*){from}"), " GROUP BY v.stage").query().fetch_all(store.pool()).await?
    {
        d.stages.push((r.try_get(0)?, r.try_get(1)?));
    }
    for r in
        scoped(&format!("SELECT v.window_revenue{from}"), " AND v.window_revenue > 0 ORDER BY v.window_revenue DESC")
            .query()
            .fetch_all(store.pool())
            .await?
    {
        d.revenues.push(Money(r.try_get(0)?));
    }
    // An even sample of buyers for the scatter: every k-th by customer id.
    let buyers = d.revenues.len().max(1);
    let step = buyers.div_ceil(2000) as i64;
    let mut points = scoped(
        &format!("SELECT v.window_revenue, v.loyalty, v.quadrant{from}"),
        " AND v.quadrant IS NOT NULL AND v.loyalty IS NOT NULL AND (v.customer_id % ",
    );
    points.bind(step).push(") = 0 ORDER BY v.customer_id LIMIT 2000");
    for r in points.query().fetch_all(store.pool()).await? {
        d.points.push((Money(r.try_get(0)?), r.try_get(1)?, r.try_get(2)?));
    }
    Ok(d)
}

/// Customers whose grade moved between two runs, within `vis`:
/// (from, to) → count.
pub async fn movements(
    store: &Store,
    vis: &Visibility,
    from_run: i64,
    to_run: i64,
) -> Result<Vec<(String, String, i64)>> {
    let mut sql = Sql::new(
        "SELECT a.grade, b.grade, COUNT(*) FROM customer_values a \
         JOIN customer_values b ON b.customer_id = a.customer_id AND b.run_id = ",
    );
    sql.bind(to_run);
    sql.push(" JOIN customers c ON c.id = a.customer_id WHERE a.run_id = ").bind(from_run);
    vis.restrict(&mut sql, "c.owner_id", "c.team_id");
    sql.push(" GROUP BY a.grade, b.grade ORDER BY a.grade, b.grade");
    let rows = sql.query().fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

// ---------------------------------------------------------------------- pins

/// A grade pinned by a manager.
#[derive(Debug, Clone, Serialize)]
pub struct Pin {
    pub customer_id: i64,
    pub grade: String,
    pub reason: String,
    pub pinned_by: Option<i64>,
    pub pinned_by_name: Option<String>,
    pub pinned_at: i64,
    pub version: i64,
}

/// The pinned grade of a customer, if any.
pub async fn pin_of(store: &Store, customer: CustomerId) -> Result<Option<Pin>> {
    let row = sqlx::query(
        "SELECT p.*, u.display_name AS pinned_by_name FROM grade_pins p LEFT JOIN users u ON u.id = p.pinned_by \
         WHERE p.customer_id = $1",
    )
    .bind(customer.0)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| {
        Ok(Pin {
            customer_id: r.try_get("customer_id")?,
            grade: r.try_get("grade")?,
            reason: r.try_get("reason")?,
            pinned_by: r.try_get("pinned_by")?,
            pinned_by_name: r.try_get("pinned_by_name")?,
            pinned_at: r.try_get("pinned_at")?,
            version: r.try_get("version")?,
        })
    })
    .transpose()
}

/// Pins `grade` on a customer with a reason (a manager's judgement that the
/// numbers miss, e.g. a new corporate account); the customer's grade changes
/// at once and every later run keeps it until the pin is removed.
pub async fn pin(tx: &mut Tx, actor: &Actor, customer: CustomerId, grade: &str, reason: &str) -> Result<()> {
    let mut errors = Vec::new();
    let grade = grade_of(grade);
    if grade.is_none() {
        errors.push(FieldError::new("grade", "invalid_choice", "grade must be one of: A, B, C, D"));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        errors.push(FieldError::new("reason", "required", "a pinned grade needs a reason"));
    } else if reason.chars().count() > 500 {
        errors.push(FieldError::new("reason", "too_long", "the reason is at most 500 characters"));
    }
    let Some(grade) = grade.filter(|_| errors.is_empty()) else {
        return Err(StoreError::Invalid(domain::FieldErrors(errors)));
    };
    let old: Option<(String, String)> =
        sqlx::query_as("SELECT c.code, COALESCE(c.grade, '') FROM customers c WHERE c.id = $1")
            .bind(customer.0)
            .fetch_optional(&mut ***tx)
            .await?;
    let Some((code, old_grade)) = old else { return Err(StoreError::NotFound) };
    let now = now_ms();
    sqlx::query(
        "INSERT INTO grade_pins (customer_id, grade, reason, pinned_by, pinned_at, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $5, $5, 1) ON CONFLICT (customer_id) DO UPDATE SET grade = excluded.grade, \
         reason = excluded.reason, pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at, \
         updated_at = excluded.updated_at, version = grade_pins.version + 1",
    )
    .bind(customer.0)
    .bind(grade_text(grade))
    .bind(reason)
    .bind(actor.user_id.map(|u| u.0))
    .bind(now)
    .execute(&mut ***tx)
    .await?;
    sqlx::query("UPDATE customers SET grade = $1, updated_at = $2 WHERE id = $3")
        .bind(grade_text(grade))
        .bind(now)
        .bind(customer.0)
        .execute(&mut ***tx)
        .await?;
    let mut c = ChangeSet::new();
    c.diff("grade", Some(&old_grade), Some(grade_text(grade)), Sensitivity::Plain);
    c.diff("pin_reason", None, Some(reason), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "customer",
        &customer.to_string(),
        &format!("customer {code} grade pinned"),
        &c,
    )
    .await?;
    Ok(())
}

/// Removes a pin; the next run grades the customer by the numbers again.
pub async fn unpin(tx: &mut Tx, actor: &Actor, customer: CustomerId) -> Result<()> {
    let pinned: Option<String> = sqlx::query_scalar("SELECT grade FROM grade_pins WHERE customer_id = $1")
        .bind(customer.0)
        .fetch_optional(&mut ***tx)
        .await?;
    let Some(pinned) = pinned else { return Err(StoreError::NotFound) };
    sqlx::query("DELETE FROM grade_pins WHERE customer_id = $1").bind(customer.0).execute(&mut ***tx).await?;
    let mut c = ChangeSet::new();
    c.diff("pinned_grade", Some(&pinned), None, Sensitivity::Plain);
    audit::record(tx, actor, Action::Update, "customer", &customer.to_string(), "customer grade unpinned", &c).await?;
    Ok(())
}

// -------------------------------------------------------------------- alerts

/// An alert raised by a run: a task for the customer's owner.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub run_id: i64,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub kind: String,
    /// What happened, `{"zh": …, "en": …}`.
    pub detail: serde_json::Value,
    pub status: String,
    pub note: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub version: i64,
}

/// Filter of the alert list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: Option<String>,
    pub kind: Option<AlertKind>,
    pub owner_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    pub before: Option<i64>,
    pub limit: i64,
}

const ALERT_SELECT: &str = "SELECT a.*, c.code AS customer_code, c.name AS customer_name, \
     u.display_name AS owner_name FROM value_alerts a JOIN customers c ON c.id = a.customer_id \
     JOIN users u ON u.id = a.owner_id WHERE 1 = 1";

fn alert_from_row(r: &AnyRow) -> Result<AlertRow> {
    let detail: String = r.try_get("detail")?;
    Ok(AlertRow {
        id: r.try_get("id")?,
        run_id: r.try_get("run_id")?,
        customer_id: r.try_get("customer_id")?,
        customer_code: r.try_get("customer_code")?,
        customer_name: r.try_get("customer_name")?,
        owner_id: r.try_get("owner_id")?,
        owner_name: r.try_get("owner_name")?,
        kind: r.try_get("kind")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        status: r.try_get("status")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
        closed_at: r.try_get("closed_at")?,
        version: r.try_get("version")?,
    })
}

/// Alerts within `vis` (by the alert's owner and team), newest first.
pub async fn alerts(store: &Store, vis: &Visibility, f: &AlertFilter) -> Result<Page<AlertRow>> {
    let mut sql = Sql::new(ALERT_SELECT);
    vis.restrict(&mut sql, "a.owner_id", "a.team_id");
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND a.status = ").bind(s.to_string());
    }
    if let Some(k) = f.kind {
        sql.push(" AND a.kind = ").bind(k.code());
    }
    if let Some(o) = f.owner_id {
        sql.push(" AND a.owner_id = ").bind(o.0);
    }
    if let Some(c) = f.customer_id {
        sql.push(" AND a.customer_id = ").bind(c.0);
    }
    if let Some(b) = f.before {
        sql.push(" AND a.id < ").bind(b);
    }
    let limit = if f.limit <= 0 { 50 } else { f.limit.min(500) };
    sql.push(" ORDER BY a.id DESC LIMIT ").bind(limit + 1);
    let rows: Result<Vec<AlertRow>> = sql.query().fetch_all(store.pool()).await?.iter().map(alert_from_row).collect();
    Ok(Page::from_rows(rows?, limit, |a| a.id))
}

/// Closes an alert as handled (`done`) or not needing action (`dismissed`),
/// with a note of what was done.
pub async fn close_alert(
    tx: &mut Tx,
    actor: &Actor,
    vis: &Visibility,
    id: i64,
    version: i64,
    status: &str,
    note: &str,
) -> Result<()> {
    if !matches!(status, "done" | "dismissed") {
        return Err(StoreError::invalid(FieldError::new(
            "status",
            "invalid_choice",
            "status must be done or dismissed",
        )));
    }
    let mut check = Sql::new("SELECT a.status, a.kind, a.customer_id FROM value_alerts a WHERE a.id = ");
    check.bind(id);
    vis.restrict(&mut check, "a.owner_id", "a.team_id");
    let row = check.query().fetch_optional(&mut ***tx).await?.ok_or(StoreError::NotFound)?;
    let before: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let customer: i64 = row.try_get(2)?;
    if before != "open" {
        return Err(StoreError::invalid(FieldError::new("status", "closed", "the alert is already closed")));
    }
    let note = note.trim();
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE value_alerts SET status = $1, note = $2, closed_by = $3, closed_at = $4, updated_at = $4, \
         version = version + 1 WHERE id = $5 AND version = $6",
    )
    .bind(status)
    .bind((!note.is_empty()).then_some(note))
    .bind(actor.user_id.map(|u| u.0))
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut ***tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(crate::stale(tx, "value_alerts", id).await);
    }
    let mut c = ChangeSet::new();
    c.diff("status", Some(&before), Some(status), Sensitivity::Plain);
    c.diff("note", None, Some(note), Sensitivity::Plain);
    audit::record(
        tx,
        actor,
        Action::Update,
        "value_alert",
        &id.to_string(),
        &format!("value alert {kind} of customer {customer} closed"),
        &c,
    )
    .await?;
    Ok(())
}

/// Moves a customer's open alerts to its new owner (called by reassignment).
pub(crate) async fn follow_owner(tx: &mut Tx, customer: CustomerId, owner: UserId, team: Option<TeamId>) -> Result<()> {
    sqlx::query(
        "UPDATE value_alerts SET owner_id = $1, team_id = $2, updated_at = $3, version = version + 1 \
         WHERE customer_id = $4 AND status = 'open'",
    )
    .bind(owner.0)
    .bind(team.map(|t| t.0))
    .bind(now_ms())
    .bind(customer.0)
    .execute(&mut ***tx)
    .await?;
    Ok(())
}

/// Whether a scheduled run is due today (the settings' schedule against the
/// latest run's as-of date).
pub async fn schedule_due(store: &Store, today: NaiveDate) -> Result<bool> {
    let (s, _) = settings(store).await?;
    let last = latest_run(store).await?.map(|r| r.as_of);
    Ok(domain::value::settings::schedule_due(s.schedule, last, today))
}

// -------------------------------------------------------------------- export

/// The columns of `keyuan export customer-values`, in order.
pub const EXPORT_COLUMNS: [&str; 18] = [
    "customer_code",
    "grade",
    "quadrant",
    "stage",
    "r_score",
    "f_score",
    "m_score",
    "frequency",
    "recency_days",
    "t_days",
    "monetary",
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "next_purchase_from",
    "next_purchase_to",
    "likely_direction",
    "clv",
];

/// The latest run as UTF-8 CSV, one row per customer within `vis`: money in
/// yuan with two decimals, probabilities and expectations with six, dates
/// ISO, empty cells where a model has nothing to say. Returns the bytes, the
/// run and the number of rows. The export is audited.
pub async fn export_csv(store: &Store, actor: &Actor, vis: &Visibility) -> Result<(Vec<u8>, Run, usize)> {
    let run = latest_run(store).await?.ok_or(StoreError::NotFound)?;
    let rows = run_rows(store, vis, run.id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| StoreError::Backup(format!("cannot write CSV: {e}"));
    w.write_record(EXPORT_COLUMNS).map_err(io)?;
    let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let real = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    for v in &rows {
        let record = [
            crate::customer_export::neutralise(&v.customer_code).into_owned(),
            v.grade.clone(),
            v.quadrant.clone().unwrap_or_default(),
            v.stage.clone(),
            num(v.r_score),
            num(v.f_score),
            num(v.m_score),
            v.frequency.to_string(),
            v.recency_days.to_string(),
            v.t_days.to_string(),
            v.monetary.to_string(),
            real(v.p_alive),
            real(v.expected_90d),
            real(v.expected_365d),
            v.next_from.clone().unwrap_or_default(),
            v.next_to.clone().unwrap_or_default(),
            crate::customer_export::neutralise(v.direction.as_deref().unwrap_or_default()).into_owned(),
            v.clv.map(|m| m.to_string()).unwrap_or_default(),
        ];
        w.write_record(&record).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| StoreError::Backup(format!("cannot write CSV: {e}")))?;
    let mut tx = store.begin().await?;
    let mut c = ChangeSet::new();
    c.diff("rows", None, Some(&rows.len().to_string()), Sensitivity::Plain);
    c.diff("run_id", None, Some(&run.id.to_string()), Sensitivity::Plain);
    audit::record(&mut tx, actor, Action::Export, "value_run", &run.id.to_string(), "customer values exported", &c)
        .await?;
    tx.commit().await?;
    Ok((bytes, run, rows.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_days_are_read_fast_and_strictly() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(order_day("2024-02-29"), Some(day("2024-02-29")));
        assert_eq!(order_day("2023-02-29"), None);
        assert_eq!(order_day("2024-13-01"), None);
        assert_eq!(order_day("2024-1a-01"), None);
        assert_eq!(order_day("2024/01/01"), None);
        assert_eq!(order_day(""), None);
        // Anything but the stored form goes to chrono's parser.
        assert_eq!(order_day("+2024-01-05"), Some(day("2024-01-05")));
    }

    #[test]
    fn a_history_sorts_each_customers_orders_by_day_and_keeps_same_day_order() {
        let mut h = History::default();
        h.customer(7, 1, None);
        for (day, amount) in [("2024-03-01", 3), ("2024-01-01", 1), ("2024-03-01", 4), ("2024-02-01", 2)] {
            assert_eq!(h.order(7, day, amount, "domestic", " 杭州 "), Some(()));
        }
        // An order of a customer who does not count is counted, not kept.
        assert_eq!(h.order(8, "2024-01-01", 9, "domestic", ""), Some(()));
        assert_eq!(h.order(7, "01/02/2024", 9, "domestic", ""), None);
        let h = h.finish();
        assert_eq!(h.orders, 6);
        let amounts: Vec<i64> = h.inputs[0].purchases.iter().map(|p| p.amount.0).collect();
        assert_eq!(amounts, [1, 2, 3, 4]);
        assert_eq!(h.inputs[0].purchases[0].destination.as_deref(), Some("杭州"));
        assert!(Arc::ptr_eq(
            h.inputs[0].purchases[0].destination.as_ref().unwrap(),
            h.inputs[0].purchases[1].destination.as_ref().unwrap()
        ));
    }

    #[test]
    fn order_histories_are_read_back_whole() {
        let text = "10:2024-01-10123450,6:nearby7:杭州 19:2024-02-01T08:00:000,13:international0:";
        let mut seen = Vec::new();
        let parsed =
            parse_history(text, |d, a, p, dest| seen.push((d.to_string(), a, p.to_string(), dest.to_string())));
        assert_eq!(parsed, Some(()));
        assert_eq!(
            seen,
            [
                ("2024-01-10".into(), 123450, "nearby".into(), "杭州 ".into()),
                ("2024-02-01T08:00:00".into(), 0, "international".into(), String::new()),
            ]
        );
        assert_eq!(parse_history("10:2024-01-1", |_, _, _, _| {}), None);
        assert_eq!(parse_history("10:2024-01-10x,1:a0:", |_, _, _, _| {}), None);
    }
}
