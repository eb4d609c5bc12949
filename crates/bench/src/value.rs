//! `keyuan-bench value`: a full evaluation run of the value engine
//! (`keyuan evaluate`: ABC, quadrant, RFM, lifecycle, BG/NBD, Gamma-Gamma,
//! CLV, direction and alerts, read from and written to Keyuan's own store)
//! against DuckDB computing only RFM and ABC over the same orders, in the
//! same run.
//!
//! Setup (not timed): a fresh SQLite database made by `keyuan migrate`, a few
//! staff accounts made by `keyuan user add`, then synthetic customers (names,
//! codes, mobiles, places from [`crate::synth`]) and their orders bulk-loaded
//! with the `sqlite3` program: `.import` of CSV files into temporary staging
//! tables and `INSERT … SELECT` into `customers` and `orders`, then
//! `keyuan migrate` again to build the customers' search keys. The same
//! orders go to a narrow CSV (customer_id, order_date, amount, status) for
//! DuckDB.
//!
//! The orders: five and a half years of travel up to shortly before today,
//! so that some fall after the as-of date; about 70 % of customers take one
//! to three trips, the rest share the remaining orders by a skewed weight
//! (a few travel dozens of times). Each customer has a favourite kind of
//! product; amounts in 分 depend on the kind and the party size; about 3 %
//! of orders are cancelled and 1 % refunded.

use crate::stats::{secs, thousands};
use crate::synth::{Generator, Rng};
use crate::tools::{self, WorkDir};
use anyhow::{bail, Context, Result};
use chrono::{Duration as Days, NaiveDate};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The target: Keyuan's whole run at most this many times DuckDB's query.
pub const TARGET_RATIO: f64 = 3.0;

/// The first day with orders.
const FIRST_DAY: (i32, u32, u32) = (2021, 1, 1);
/// The last day with orders (after the default as-of date).
const LAST_DAY: (i32, u32, u32) = (2026, 9, 30);
/// The default as-of date of the evaluation.
pub const DEFAULT_AS_OF: &str = "2026-06-30";

/// Options of `keyuan-bench value`.
#[derive(clap::Args, Debug)]
pub struct ValueArgs {
    /// How many customers.
    #[arg(long)]
    pub customers: u64,
    /// How many orders in all (at least one per customer).
    #[arg(long)]
    pub orders: u64,
    /// Generator seed (the same seed gives the same data).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Keep the files and the loaded database in this directory; a later run
    /// with the same sizes and seed reuses the database instead of loading
    /// it again (each timed run works on a fresh copy).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The store engine (only sqlite so far).
    #[arg(long, default_value = "sqlite")]
    pub engine: String,
    /// The as-of date of the evaluation.
    #[arg(long, default_value = DEFAULT_AS_OF)]
    pub as_of: NaiveDate,
    /// The keyuan binary (default: the one next to keyuan-bench).
    #[arg(long)]
    pub keyuan: Option<PathBuf>,
    /// The Python interpreter that has `duckdb` installed.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The DuckDB script (default: scripts/value_duckdb.py of this crate).
    #[arg(long)]
    pub script: Option<PathBuf>,
}

/// Staff accounts that own the customers (besides `bench`, the admin).
const STAFF: [&str; 6] = ["sales01", "sales02", "sales03", "sales04", "sales05", "sales06"];

const PRODUCTS: [(&str, u64); 5] =
    [("nearby", 30), ("day_trip", 20), ("long_haul", 25), ("international", 15), ("custom", 10)];

fn destinations(product: &str) -> &'static [&'static str] {
    match product {
        "nearby" => &["杭州", "苏州", "黄山", "千岛湖", "乌镇", "莫干山", "扬州", "溧阳"],
        "day_trip" => &["周庄", "西塘", "灵山大佛", "太湖", "雁荡山", "南浔古镇"],
        "long_haul" => &["云南", "西藏", "新疆", "海南", "桂林", "张家界", "九寨沟", "哈尔滨", "敦煌", "内蒙古"],
        "international" => {
            &["日本", "泰国", "新加坡", "法国", "意大利", "澳大利亚", "新西兰", "土耳其", "埃及", "香港"]
        }
        _ => &["冰岛", "北欧", "南极", "私家团·云南", "私家团·日本", "非洲", "马尔代夫"],
    }
}

/// Amount range of one traveller, in yuan, by product.
fn price_range(product: &str) -> (u64, u64) {
    match product {
        "day_trip" => (120, 600),
        "nearby" => (600, 3_000),
        "long_haul" => (2_500, 12_000),
        "international" => (5_000, 30_000),
        _ => (10_000, 60_000),
    }
}

fn pick_weighted(rng: &mut Rng, items: &[(&'static str, u64)]) -> &'static str {
    let total: u64 = items.iter().map(|i| i.1).sum();
    let mut x = rng.below(total);
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// How many orders each customer has: about 70 % take one to three trips,
/// the others share what is left by a heavy-tailed weight; the total is
/// exactly `orders`.
pub fn order_counts(rng: &mut Rng, customers: u64, orders: u64) -> Result<Vec<u32>> {
    if orders < customers {
        bail!("--orders must be at least --customers (every customer has an order)");
    }
    let mut counts = vec![0u32; customers as usize];
    let mut frequent = Vec::new();
    let mut used = 0u64;
    for (i, c) in counts.iter_mut().enumerate() {
        if rng.chance(70) {
            *c = 1 + rng.below(3) as u32;
        } else {
            *c = 1;
            frequent.push(i);
        }
        used += u64::from(*c);
    }
    if used > orders {
        // Too few orders for the occasional trips: trim them back to one.
        for c in counts.iter_mut() {
            while *c > 1 && used > orders {
                *c -= 1;
                used -= 1;
            }
        }
    }
    let mut left = orders - used;
    if frequent.is_empty() {
        frequent = (0..counts.len()).collect();
    }
    // A weight of U^-0.6 (a Pareto tail): most frequent travellers take a
    // handful of extra trips, a few dozens.
    let weights: Vec<f64> =
        frequent.iter().map(|_| (((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64).powf(-0.6)).collect();
    let total: f64 = weights.iter().sum();
    let share = left as f64;
    for (&i, w) in frequent.iter().zip(&weights) {
        let extra = ((w / total) * share).floor() as u64;
        let extra = extra.min(left);
        counts[i] += extra as u32;
        left -= extra;
    }
    let mut k = 0;
    while left > 0 {
        counts[frequent[k % frequent.len()]] += 1;
        left -= 1;
        k += 1;
    }
    Ok(counts)
}

/// What the loaded database holds.
#[derive(Debug, Clone, Copy)]
struct Loaded {
    customers: u64,
    orders: u64,
}

fn day(t: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.0, t.1, t.2).unwrap_or_default()
}

/// Writes the staging CSVs (customers, orders) and DuckDB's orders CSV.
fn write_data(dir: &Path, args: &ValueArgs, owners: &[i64]) -> Result<()> {
    let mut rng = Rng::new(args.seed ^ 0x5641_4c55_4521);
    let counts = order_counts(&mut rng, args.customers, args.orders)?;
    let open = |name: &str| -> Result<BufWriter<File>> {
        let p = dir.join(name);
        Ok(BufWriter::with_capacity(1 << 20, File::create(&p).with_context(|| format!("creating {}", p.display()))?))
    };
    let mut customers = open("stage_customers.csv")?;
    let mut orders = open("stage_orders.csv")?;
    let mut duck = open("orders.csv")?;
    writeln!(duck, "customer_id,order_date,amount,status")?;
    let (first, last) = (day(FIRST_DAY), day(LAST_DAY));
    let span = (last - first).num_days() as u64 + 1;
    let created_ms = 1_600_000_000_000i64;
    let mut order_no = 0u64;
    let mut days: Vec<u64> = Vec::new();
    for (row, c) in Generator::with_seed(args.seed).take(args.customers as usize).enumerate() {
        let id = row as i64 + 1;
        let owner = owners[row % owners.len()];
        let (pinyin, initials) = domain::customer::to_pinyin(&c.name);
        writeln!(
            customers,
            "{id},{},{},{},{pinyin},{initials},{},{},{},{},{},{},{},{owner},{created_ms}",
            c.code,
            c.kind.code(),
            c.name,
            c.gender.map(|g| g.code()).unwrap_or_default(),
            c.mobile,
            c.email.as_deref().unwrap_or_default(),
            c.birthday.map(|d| d.to_string()).unwrap_or_default(),
            c.province.name,
            c.city.name,
            c.source.code(),
        )?;
        // Joins on a day over the whole span (the first order), then the
        // other orders fall uniformly between joining and the end.
        let n = counts[row] as usize;
        let joined = rng.below(span);
        days.clear();
        days.push(joined);
        for _ in 1..n {
            days.push(joined + rng.below(span - joined));
        }
        days.sort_unstable();
        let favourite = pick_weighted(&mut rng, &PRODUCTS);
        for &d in &days {
            let product = if rng.chance(60) { favourite } else { pick_weighted(&mut rng, &PRODUCTS) };
            let places = destinations(product);
            let destination = places[rng.below(places.len() as u64) as usize];
            let (lo, hi) = price_range(product);
            let party = 1 + [0, 0, 1, 1, 1, 2, 3][rng.below(7) as usize];
            let amount = party * (lo * 100 + rng.below((hi - lo) * 100));
            let date = first + Days::days(d as i64);
            let status = match rng.below(100) {
                0..=2 => "cancelled",
                3 => "refunded",
                _ if date > args.as_of => "confirmed",
                _ => "completed",
            };
            order_no += 1;
            writeln!(orders, "{id},BO{order_no:09},{product},{destination},{date},{amount},{status},{owner},{party}")?;
            writeln!(duck, "{id},{date},{amount},{status}")?;
        }
    }
    for mut w in [customers, orders, duck] {
        w.flush()?;
    }
    Ok(())
}

/// The `sqlite3` script that loads the staging files.
fn load_script(dir: &Path) -> String {
    let p = |name: &str| dir.join(name).display().to_string();
    format!(
        "PRAGMA synchronous = OFF;\n\
         PRAGMA cache_size = -1000000;\n\
         CREATE TEMP TABLE sc (id INTEGER, code TEXT, kind TEXT, name TEXT, pinyin TEXT, initials TEXT, gender TEXT, \
           mobile TEXT, email TEXT, birthday TEXT, province TEXT, city TEXT, source TEXT, owner_id INTEGER, created INTEGER);\n\
         .import --csv --schema temp {customers} sc\n\
         CREATE TEMP TABLE so (customer_id INTEGER, order_no TEXT, product_type TEXT, destination TEXT, order_date TEXT, \
           amount INTEGER, status TEXT, owner_id INTEGER, adults INTEGER);\n\
         .import --csv --schema temp {orders} so\n\
         BEGIN;\n\
         INSERT INTO customers (id, code, kind, name, name_pinyin, name_initials, gender, mobile, email, birthday, \
           province, city, source, owner_id, created_by, created_at, updated_at) \
           SELECT id, code, kind, name, pinyin, initials, NULLIF(gender, ''), mobile, NULLIF(email, ''), \
           NULLIF(birthday, ''), province, city, source, owner_id, owner_id, created, created FROM temp.sc ORDER BY id;\n\
         INSERT INTO orders (order_no, customer_id, product_type, destination, order_date, travel_date, adults, amount, \
           status, owner_id, imported, created_by, created_at, updated_at) \
           SELECT order_no, customer_id, product_type, destination, order_date, order_date, adults, amount, status, \
           owner_id, 1, owner_id, 1600000000000, 1600000000000 FROM temp.so ORDER BY rowid;\n\
         COMMIT;\n\
         PRAGMA wal_checkpoint(TRUNCATE);\n",
        customers = p("stage_customers.csv"),
        orders = p("stage_orders.csv"),
    )
}

/// Makes (or reuses) the loaded database `base.db` in `dir`.
fn prepare(keyuan: &Path, dir: &WorkDir, args: &ValueArgs) -> Result<Loaded> {
    let base = dir.path().join("base.db");
    let stamp_path = dir.path().join("base.params");
    let stamp =
        format!("v2 customers={} orders={} seed={} as_of={}\n", args.customers, args.orders, args.seed, args.as_of);
    if base.is_file() && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
        let loaded = Loaded {
            customers: tools::sqlite_count(&base, "customers")?,
            orders: tools::sqlite_count(&base, "orders")?,
        };
        println!(
            "reusing {} ({} customers, {} orders)",
            base.display(),
            thousands(loaded.customers),
            thousands(loaded.orders)
        );
        return Ok(loaded);
    }
    let _ = std::fs::remove_file(&stamp_path);
    let base = dir.fresh("base.db")?;
    let url = tools::sqlite_url(&base);
    let started = Instant::now();
    tools::run_timed(Command::new(keyuan).args(["--database", &url, "migrate"]))?;
    tools::add_bench_user(keyuan, &url)?;
    for name in STAFF {
        tools::run_with_input(
            Command::new(keyuan).args(["--database", &url, "user", "add", "--username", name, "--role", "sales"]),
            &format!("{}\n", tools::PASSWORD),
        )?;
    }
    let (_, out) = tools::run_timed(Command::new("sqlite3").arg(&base).arg(format!(
        "SELECT id FROM users WHERE username IN ({}) ORDER BY id",
        STAFF.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
    )))?;
    let owners: Vec<i64> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    if owners.len() != STAFF.len() {
        bail!("expected {} staff accounts, found {}", STAFF.len(), owners.len());
    }
    let accounts = started.elapsed();
    let started = Instant::now();
    write_data(dir.path(), args, &owners)?;
    let generated = started.elapsed();
    let started = Instant::now();
    let script = load_script(dir.path());
    tools::run_with_input(Command::new("sqlite3").arg(&base), &script).context("loading with sqlite3")?;
    // Any keyuan command on a database whose customers have no search keys
    // builds them first (`Store::migrate`): do it now, so that the timed run
    // starts from a database as the import would have left it.
    tools::run_timed(Command::new(keyuan).args(["--database", &url, "migrate"])).context("building the search keys")?;
    let loading = started.elapsed();
    for f in ["stage_customers.csv", "stage_orders.csv"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let loaded =
        Loaded { customers: tools::sqlite_count(&base, "customers")?, orders: tools::sqlite_count(&base, "orders")? };
    if loaded.customers != args.customers || loaded.orders != args.orders {
        bail!(
            "loaded {} customers and {} orders, expected {} and {}",
            loaded.customers,
            loaded.orders,
            args.customers,
            args.orders
        );
    }
    std::fs::write(&stamp_path, stamp)?;
    println!(
        "setup (not timed): migrate and {} accounts {}, generating {}, loading with sqlite3 and building the search keys {}; {} ({:.0} MB)",
        STAFF.len() + 1,
        secs(accounts),
        secs(generated),
        secs(loading),
        base.display(),
        std::fs::metadata(&base)?.len() as f64 / 1e6
    );
    Ok(loaded)
}

/// What `keyuan evaluate --json` did.
#[derive(Debug)]
struct KeyuanRun {
    took: Duration,
    summary: serde_json::Value,
}

fn run_keyuan(keyuan: &Path, db: &Path, as_of: NaiveDate) -> Result<KeyuanRun> {
    let url = tools::sqlite_url(db);
    let (took, out) = tools::run_timed(Command::new(keyuan).args([
        "--database",
        &url,
        "evaluate",
        "--as-of",
        &as_of.to_string(),
        "--json",
    ]))
    .context("keyuan evaluate")?;
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading the JSON summary of keyuan evaluate")?;
    Ok(KeyuanRun { took, summary })
}

/// What the DuckDB script reported.
#[derive(Debug)]
struct DuckRun {
    process: Duration,
    query: Duration,
    read: Duration,
    result: serde_json::Value,
}

fn run_duckdb(python: &Path, script: &Path, csv: &Path, as_of: NaiveDate, window_days: u32) -> Result<DuckRun> {
    let (process, out) =
        tools::run_timed(Command::new(python).arg(script).arg(csv).arg(as_of.to_string()).arg(window_days.to_string()))
            .context("the DuckDB script (is duckdb installed for this python? pip install duckdb)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with('{')).context("the DuckDB script printed no result")?;
    let result: serde_json::Value = serde_json::from_str(line).context("reading the DuckDB script's result")?;
    let seconds =
        |k: &str| result[k].as_f64().map(Duration::from_secs_f64).with_context(|| format!("no {k} in {line}"));
    Ok(DuckRun { process, query: seconds("query_seconds")?, read: seconds("read_seconds")?, result })
}

/// Runs the benchmark and prints the report.
pub fn run(args: &ValueArgs) -> Result<()> {
    if args.engine != "sqlite" {
        bail!("--engine: only sqlite is supported so far");
    }
    if args.customers == 0 {
        bail!("--customers must be at least 1");
    }
    tools::require_program("sqlite3", "sqlite3")?;
    let keyuan = tools::keyuan_binary(args.keyuan.as_deref())?;
    let script = match &args.script {
        Some(p) => p.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/value_duckdb.py"),
    };
    let dir = WorkDir::new(args.dir.as_deref(), "value")?;
    println!(
        "# value benchmark: {} customers, {} orders (seed {}), as of {}; machine: {}",
        thousands(args.customers),
        thousands(args.orders),
        args.seed,
        args.as_of,
        tools::machine()
    );
    let loaded = prepare(&keyuan, &dir, args)?;

    // Each timed run starts from the loaded database as it was: no earlier
    // run, no open alerts.
    let db = dir.fresh("keyuan.db")?;
    std::fs::copy(dir.path().join("base.db"), &db).context("copying the loaded database")?;
    // The copy's pages reach the disk before the clock starts, not while
    // the run is waiting for its own commit.
    File::open(&db).and_then(|f| f.sync_all()).context("syncing the copy")?;
    let k = run_keyuan(&keyuan, &db, args.as_of)?;
    let ms = |key: &str| k.summary["timings"][key].as_u64().unwrap_or_default();
    let (read_ms, model_ms, write_ms) = (ms("read_ms"), ms("model_ms"), ms("write_ms"));
    let (snapshot_ms, grades_ms, alerts_ms) = (ms("write_snapshot_ms"), ms("write_grades_ms"), ms("write_alerts_ms"));
    println!(
        "keyuan evaluate: {} wall (read {read_ms} ms, models {model_ms} ms, write {write_ms} ms = snapshot \
         {snapshot_ms} + grades {grades_ms} + alerts {alerts_ms}; the rest is start-up, settings and commit); {} \
         customers, {} buyers, {} orders counted, {} alerts",
        secs(k.took),
        k.summary["customers"],
        k.summary["buyers"],
        k.summary["orders"],
        k.summary["alerts"]["raised"]
    );

    let window_days = 1095;
    let d = run_duckdb(&args.python, &script, &dir.path().join("orders.csv"), args.as_of, window_days)?;
    println!(
        "DuckDB RFM + ABC: {} (of which reading the CSV alone takes {}; process {} with imports {:.2} s; {} threads; {})",
        secs(d.query),
        secs(d.read),
        secs(d.process),
        d.result["import_seconds"].as_f64().unwrap_or_default(),
        d.result["threads"],
        d.result["versions"].as_str().unwrap_or("?")
    );

    // The two agree on ABC (same definition, exact integers); RFM scores
    // differ by design at ties (NTILE splits them, Keyuan gives them the
    // midpoint's score), so only the grades are compared.
    let mut agree = true;
    for g in ["A", "B", "C"] {
        let (kg, dg) = (k.summary["grades"][g].as_u64(), d.result["grades"][g].as_u64().or(Some(0)));
        if kg != dg {
            agree = false;
            println!("warning: grade {g}: Keyuan {kg:?}, DuckDB {dg:?}");
        }
    }
    println!(
        "ABC grades: Keyuan A {} B {} C {} D {}; DuckDB A {} B {} C {} ({} buyers){}",
        k.summary["grades"]["A"],
        k.summary["grades"]["B"],
        k.summary["grades"]["C"],
        k.summary["grades"]["D"],
        d.result["grades"]["A"],
        d.result["grades"]["B"],
        d.result["grades"]["C"],
        d.result["customers"],
        if agree { " — A, B and C agree" } else { "" }
    );
    let ratio = k.took.as_secs_f64() / d.query.as_secs_f64().max(1e-9);
    println!();
    println!("| what | time |");
    println!("|---|---:|");
    println!("| DuckDB: RFM + ABC from the CSV (read alone: {}) | {} |", secs(d.read), secs(d.query));
    println!(
        "| keyuan evaluate, whole process (read {:.2} s, models {:.2} s, write {:.2} s) | {} |",
        read_ms as f64 / 1e3,
        model_ms as f64 / 1e3,
        write_ms as f64 / 1e3,
        secs(k.took)
    );
    println!(
        "ratio keyuan / DuckDB: {ratio:.2}× (target ≤ {TARGET_RATIO}×: {}); {} customers, {} orders",
        if ratio <= TARGET_RATIO { "met" } else { "NOT met" },
        thousands(loaded.customers),
        thousands(loaded.orders)
    );
    println!("finished; {}", tools::load_average());
    if args.dir.is_some() {
        println!("Files kept in {}.", dir.path().display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_counts_add_up_and_most_customers_travel_little() {
        let mut rng = Rng::new(7);
        let counts = order_counts(&mut rng, 10_000, 50_000).unwrap_or_default();
        assert_eq!(counts.len(), 10_000);
        assert_eq!(counts.iter().map(|&c| u64::from(c)).sum::<u64>(), 50_000);
        assert!(counts.iter().all(|&c| c >= 1));
        let few = counts.iter().filter(|&&c| c <= 3).count();
        assert!(few > 6_000 && few < 8_000, "{few}");
        assert!(counts.iter().any(|&c| c > 30));
        let tight = order_counts(&mut Rng::new(1), 1_000, 1_000).unwrap_or_default();
        assert!(tight.iter().all(|&c| c == 1));
        assert!(order_counts(&mut Rng::new(1), 10, 9).is_err());
    }
}
