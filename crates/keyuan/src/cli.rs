//! Command-line interface (DESIGN.md §4).

use crate::{demo, serve};
use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use store::{Actor, Store};

/// 客源 Keyuan: CRM for travel agencies, tour operators and hotels.
#[derive(Parser, Debug)]
#[command(name = "keyuan", version, about)]
pub struct Cli {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "KEYUAN_DATABASE_URL", default_value = "sqlite://keyuan.db")]
    pub database: String,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (pages, API and scheduled jobs).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Fill an empty database with realistic demo data and print how to log in.
    Demo,
    /// Write a consistent backup of the database to a new file (works while the server runs).
    Backup {
        /// The backup file to create (a SQLite file).
        file: PathBuf,
    },
    /// Load a backup into an empty database (SQLite or PostgreSQL).
    Restore {
        /// A file written by `keyuan backup`.
        file: PathBuf,
    },
    /// Import records from a CSV or Excel file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Export records to a CSV or Excel file.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Evaluate every customer's value (盘点): grades, RFM, quadrant, stage,
    /// repurchase forecast, CLV and alerts; stores the run as a snapshot.
    Evaluate {
        /// Evaluate as of this date (YYYY-MM-DD; orders after it are ignored).
        /// Default: today in China.
        #[arg(long)]
        as_of: Option<String>,
        /// Print the run's summary as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// What to import.
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Customers from CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX, headers
    /// in Chinese or English. Rows with a known customer code update that
    /// customer; bad rows are reported and the good ones imported.
    Customers {
        /// The file (.csv, .txt, .xlsx, .xls).
        file: PathBuf,
        /// Check every row and report what would happen, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Username that owns new customers whose row names no owner (负责人).
        #[arg(long)]
        owner: Option<String>,
        /// Write every problem (line, field, column, reason) to this CSV file.
        #[arg(long, value_name = "FILE.csv")]
        errors: Option<PathBuf>,
        /// Column choices over the automatic ones: "表头=field,表头2=field2" (field "-" ignores a column).
        #[arg(long)]
        mapping: Option<String>,
        /// Rows per transaction. Larger loads big files faster (each commit rewrites the index pages
        /// it touched); smaller lets a running server write in between sooner.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
    },
    /// Order history from CSV (UTF-8, GBK/GB18030) or XLSX: columns customer_code, order_no,
    /// order_date, amount and optionally product_type, destination, adults, children, status,
    /// paid_amount, travel_date, customer_name (Chinese headers too: 客户编号, 订单号, 下单日期, 金额 …).
    /// A known order number updates that order; paid_amount becomes an imported receipt.
    Orders {
        /// The file (.csv, .txt, .xlsx, .xls).
        file: PathBuf,
        /// Check every row and report what would happen, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Create an individual customer for an unknown customer code (name from customer_name, else the code).
        #[arg(long)]
        create_missing_customers: bool,
        /// Username that owns created customers (default: the first staff account).
        #[arg(long)]
        owner: Option<String>,
        /// Write every problem (line, field, column, reason) to this CSV file.
        #[arg(long, value_name = "FILE.csv")]
        errors: Option<PathBuf>,
    },
    /// Payments from CSV or XLSX: columns order_no, received_on (or date), amount and optionally
    /// method, kind (receipt/refund), reference, receipt_no (订单号, 收款日期, 金额, 收款方式, 类型 …).
    /// Rows already recorded (same receipt_no, or order + date + amount + reference) are skipped.
    Payments {
        /// The file (.csv, .txt, .xlsx, .xls).
        file: PathBuf,
        /// Check every row and report what would happen, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write every problem (line, field, column, reason) to this CSV file.
        #[arg(long, value_name = "FILE.csv")]
        errors: Option<PathBuf>,
    },
}

/// What to export.
#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Every customer with the columns `import customers` reads, ID card and
    /// passport numbers in full; the format follows the extension (.csv or .xlsx).
    Customers {
        /// The file to write.
        file: PathBuf,
        /// CSV text encoding: utf-8 (with BOM, the default) or gbk (for old Excel).
        #[arg(long, default_value = "utf-8")]
        encoding: String,
        /// Header language: en (field keys, the default) or zh (Chinese labels).
        #[arg(long, default_value = "en")]
        headers: String,
    },
    /// One CSV row per customer from the latest evaluation run: customer_code,
    /// grade, quadrant, stage, RFM scores, frequency, recency_days, t_days,
    /// monetary, p_alive, expected purchases in 90 and 365 days, the next
    /// purchase window, likely_direction and clv.
    CustomerValues {
        /// The CSV file to write (UTF-8).
        file: PathBuf,
    },
}

/// Staff account commands.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a staff account. The password is read from standard input, or
    /// asked for twice on a terminal.
    Add {
        /// Login name (3–32 characters: a-z 0-9 . _ -).
        #[arg(long)]
        username: String,
        /// Role code: admin, manager, sales, operator, service, finance, front_desk, or one defined in the UI.
        #[arg(long)]
        role: String,
        /// Name shown to colleagues (defaults to the username).
        #[arg(long)]
        name: Option<String>,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Team name.
        #[arg(long)]
        team: Option<String>,
        /// Interface language: zh-CN or en.
        #[arg(long, default_value = "zh-CN")]
        locale: String,
    },
}

/// Runs the command line and turns any failure into one clear line and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keyuan: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("keyuan: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.database, args).await,
        Command::Migrate => {
            let store = Store::open(&cli.database).await?;
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("The database is up to date.");
            } else {
                println!("Applied migrations: {}", applied.join(", "));
            }
            store.close().await;
            Ok(())
        }
        Command::User { command: UserCommand::Add { username, role, name, email, team, locale } } => {
            let store = Store::connect(&cli.database).await?;
            let password = read_new_password()?;
            let id = add_user(
                &store,
                &username,
                &role,
                name.as_deref(),
                email.as_deref(),
                team.as_deref(),
                &locale,
                &password,
            )
            .await?;
            println!("Created user {username} (id {id}) with role {role}.");
            store.close().await;
            Ok(())
        }
        Command::Demo => {
            let store = Store::connect(&cli.database).await?;
            let loaded = demo::fill(&store).await?;
            demo::print_instructions(loaded.as_ref());
            store.close().await;
            Ok(())
        }
        Command::Backup { file } => {
            let store = Store::connect(&cli.database).await?;
            let summary = store::backup::backup(&store, &file).await?;
            println!(
                "Backup written to {}: {} rows in {} tables.",
                file.display(),
                summary.rows(),
                summary.tables.len()
            );
            store.close().await;
            Ok(())
        }
        Command::Import { what: ImportCommand::Customers { file, dry_run, owner, errors, mapping, batch_size } } => {
            let store = Store::connect(&cli.database).await?;
            let options = ImportFlags {
                dry_run,
                owner: owner.as_deref(),
                errors: errors.as_deref(),
                mapping: mapping.as_deref(),
                batch_size: batch_size as usize,
            };
            let result = import_customers(&store, &file, &options).await;
            store.close().await;
            result
        }
        Command::Import { what: ImportCommand::Orders { file, dry_run, create_missing_customers, owner, errors } } => {
            let store = Store::connect(&cli.database).await?;
            let flags =
                HistoryFlags { dry_run, create_missing_customers, owner: owner.as_deref(), errors: errors.as_deref() };
            let result = import_history(&store, &file, History::Orders, &flags).await;
            store.close().await;
            result
        }
        Command::Import { what: ImportCommand::Payments { file, dry_run, errors } } => {
            let store = Store::connect(&cli.database).await?;
            let flags =
                HistoryFlags { dry_run, create_missing_customers: false, owner: None, errors: errors.as_deref() };
            let result = import_history(&store, &file, History::Payments, &flags).await;
            store.close().await;
            result
        }
        Command::Export { what: ExportCommand::Customers { file, encoding, headers } } => {
            let store = Store::connect(&cli.database).await?;
            let result = export_customers(&store, &file, &encoding, &headers).await;
            store.close().await;
            result
        }
        Command::Evaluate { as_of, json } => {
            let store = Store::connect(&cli.database).await?;
            let result = evaluate(&store, as_of.as_deref(), json).await;
            store.close().await;
            result
        }
        Command::Export { what: ExportCommand::CustomerValues { file } } => {
            let store = Store::connect(&cli.database).await?;
            let result = export_customer_values(&store, &file).await;
            store.close().await;
            result
        }
        Command::Restore { file } => {
            let store = Store::connect(&cli.database).await?;
            let summary = store::backup::restore(&store, &file).await?;
            println!(
                "Restored {} rows in {} tables from {} into {}.",
                summary.rows(),
                summary.tables.len(),
                file.display(),
                store.backend().name()
            );
            store.close().await;
            Ok(())
        }
    }
}

/// The flags of `keyuan import customers`.
#[derive(Clone, Copy)]
struct ImportFlags<'a> {
    dry_run: bool,
    owner: Option<&'a str>,
    errors: Option<&'a std::path::Path>,
    mapping: Option<&'a str>,
    batch_size: usize,
}

/// `keyuan import customers`: reads the file, imports (or checks) every row
/// with progress on a terminal, prints a summary. A file that was read
/// succeeds even when rows failed; only an unreadable file is an error.
async fn import_customers(store: &Store, file: &std::path::Path, flags: &ImportFlags<'_>) -> anyhow::Result<()> {
    use store::customer_import::{self as ci, ImportOptions, Sheet};
    let ImportFlags { dry_run, owner, errors, mapping, batch_size } = *flags;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let sheet = Sheet::read(&bytes).with_context(|| format!("cannot read {}", file.display()))?;
    drop(bytes);
    let mut opts = ImportOptions::everything(ci::today_in_china());
    opts.dry_run = dry_run;
    opts.keep_ok_rows = false;
    opts.source = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Fewer, larger commits: every commit rewrites the index pages it
    // touched, and at a million customers a batch touches most of them.
    opts.batch_size = batch_size;
    // The indexes of a large archive stay in memory for the whole run
    // (an upper bound: SQLite allocates only what it uses).
    opts.sqlite_cache_kib = Some(1024 * 1024);
    if let Some(m) = mapping {
        opts.mapping = ci::parse_mapping(m)?;
    }
    if let Some(username) = owner {
        match store::users::for_login(store, username).await?.map(|(u, _)| u) {
            Some(u) if u.active => opts.default_owner = Some(u.id),
            Some(_) => bail!("--owner: {username:?} is deactivated; choose an active colleague"),
            None => bail!("--owner: there is no staff account {username:?}"),
        }
    }
    let what = if dry_run { "Checking" } else { "Importing" };
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut progress = |p: ci::Progress| {
        if terminal {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            eprint!(
                "\r{what} {}: {} / {} rows ({:.0} rows/s)   ",
                file.display(),
                p.done,
                p.total,
                p.done as f64 / secs
            );
        }
    };
    let actor = Actor::system("keyuan import customers");
    let report = ci::import(store, &actor, &sheet, &opts, &mut progress).await;
    if terminal {
        eprintln!();
    }
    let report = report.with_context(|| format!("cannot import {}", file.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} {} rows from {} in {:.1} s ({}{}):",
        if dry_run { "Checked" } else { "Read" },
        report.total,
        file.display(),
        secs,
        sheet.encoding.map(|e| format!("{e} text")).unwrap_or_else(|| "workbook".into()),
        sheet.delimiter.map(|d| format!(", delimiter {d:?}")).unwrap_or_default(),
    );
    let would = if dry_run { "would be " } else { "" };
    println!(
        "  {} {would}created, {} {would}updated, {} unchanged, {} failed, {} skipped (blank).",
        report.created, report.updated, report.unchanged, report.failed, report.skipped
    );
    if !report.unknown_columns.is_empty() {
        println!("  Ignored columns (no matching field; use --mapping): {}", report.unknown_columns.join(", "));
    }
    if report.failed > 0 {
        let shown = 20;
        println!(
            "  {} rows failed and {}were not imported; each row is all or nothing:",
            report.failed,
            if dry_run { "would " } else { "" }
        );
        for r in report.errors().take(shown) {
            for e in &r.errors {
                println!("    line {}: {}: {}", r.line, e.column.as_deref().unwrap_or(&e.field), e.message);
            }
        }
        if report.failed > shown as u64 {
            println!("    … and {} more rows", report.failed - shown as u64);
        }
    }
    if let Some(path) = errors {
        std::fs::write(path, report.errors_csv()).with_context(|| format!("cannot write {}", path.display()))?;
        println!("  Error report written to {}.", path.display());
    }
    if dry_run {
        println!("  Dry run: nothing was written.");
    }
    Ok(())
}

/// Which history file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum History {
    Orders,
    Payments,
}

/// The flags of `keyuan import orders|payments`.
struct HistoryFlags<'a> {
    dry_run: bool,
    create_missing_customers: bool,
    owner: Option<&'a str>,
    errors: Option<&'a std::path::Path>,
}

/// `keyuan import orders|payments`: every row all or nothing, progress on
/// a terminal, a summary and the bad rows with their line and reason.
async fn import_history(
    store: &Store,
    file: &std::path::Path,
    what: History,
    flags: &HistoryFlags<'_>,
) -> anyhow::Result<()> {
    use store::customer_import::Sheet;
    use store::order_import::{import_orders, import_payments, Options};
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let sheet = Sheet::read(&bytes).with_context(|| format!("cannot read {}", file.display()))?;
    drop(bytes);
    let mut opts =
        Options { dry_run: flags.dry_run, create_missing_customers: flags.create_missing_customers, owner: None };
    if let Some(username) = flags.owner {
        match store::users::for_login(store, username).await?.map(|(u, _)| u) {
            Some(u) if u.active => opts.owner = Some(u.id),
            Some(_) => bail!("--owner: {username:?} is deactivated; choose an active colleague"),
            None => bail!("--owner: there is no staff account {username:?}"),
        }
    }
    let verb = if flags.dry_run { "Checking" } else { "Importing" };
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |done: u64, total: u64| {
        if terminal {
            eprint!("\r{verb} {}: {done} / {total} rows   ", file.display());
        }
    };
    let (name, actor) = match what {
        History::Orders => ("orders", Actor::system("keyuan import orders")),
        History::Payments => ("payments", Actor::system("keyuan import payments")),
    };
    let report = match what {
        History::Orders => import_orders(store, &actor, &sheet, &opts, &mut progress).await,
        History::Payments => import_payments(store, &actor, &sheet, &opts, &mut progress).await,
    };
    if terminal {
        eprintln!();
    }
    let report = match report {
        Err(store::StoreError::Invalid(e)) => {
            bail!(
                "cannot import {}: {}",
                file.display(),
                e.0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
            )
        }
        other => other.with_context(|| format!("cannot import {}", file.display()))?,
    };
    println!(
        "{} {} {name} rows from {} ({}):",
        if flags.dry_run { "Checked" } else { "Read" },
        report.total,
        file.display(),
        sheet.encoding.map(|e| format!("{e} text")).unwrap_or_else(|| "workbook".into()),
    );
    let would = if flags.dry_run { "would be " } else { "" };
    println!(
        "  {} {would}created, {} {would}updated, {} unchanged, {} failed, {} skipped (blank).",
        report.created, report.updated, report.unchanged, report.failed, report.skipped
    );
    if report.customers_created > 0 {
        println!("  {} customers {would}created for unknown codes.", report.customers_created);
    }
    if !report.unknown_columns.is_empty() {
        println!("  Ignored columns: {}", report.unknown_columns.join(", "));
    }
    if report.failed > 0 {
        println!("  {} rows failed and were not imported; each row is all or nothing:", report.failed);
        for (line, errs) in report.errors.iter().take(20) {
            for e in errs {
                println!("    line {line}: {}: {}", e.column.as_deref().unwrap_or(&e.field), e.message);
            }
        }
        if report.failed > 20 {
            println!("    … and {} more rows", report.failed - 20);
        }
    }
    if let Some(path) = flags.errors {
        std::fs::write(path, report.errors_csv()).with_context(|| format!("cannot write {}", path.display()))?;
        println!("  Error report written to {}.", path.display());
    }
    if flags.dry_run {
        println!("  Dry run: nothing was written.");
    }
    Ok(())
}

/// `keyuan export customers`: every customer, documents in full (this runs
/// with the database's key), audited as an export by the system.
async fn export_customers(store: &Store, file: &std::path::Path, encoding: &str, headers: &str) -> anyhow::Result<()> {
    use store::customer_export::{self as ce, CsvEncoding, ExportFormat, ExportOptions, Labels};
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let format = ExportFormat::from_code(ext)
        .ok_or_else(|| anyhow!("{}: the file name must end in .csv or .xlsx", file.display()))?;
    let encoding = match encoding.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => CsvEncoding::Utf8Bom,
        "gbk" | "gb18030" | "gb2312" => CsvEncoding::Gbk,
        other => bail!("--encoding: {other:?} is not utf-8 or gbk"),
    };
    let labels = match headers {
        "en" | "codes" => Labels::Codes,
        "zh" => Labels::Zh,
        other => bail!("--headers: {other:?} is not en or zh"),
    };
    let actor = Actor::system("keyuan export customers");
    let (bytes, rows) = ce::export_all(store, &actor, ExportOptions { format, encoding, labels }).await?;
    std::fs::write(file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    println!(
        "Exported {rows} customers to {} (ID card and passport numbers in full: keep the file safe).",
        file.display()
    );
    Ok(())
}

/// Reads a new password from standard input (one line) or asks twice on a terminal.
fn read_new_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (12 to 128 characters): ")?;
        let second = rpassword::prompt_password("Repeat the password: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading the password from standard input")?;
        let line = s.lines().next().unwrap_or("").to_string();
        Ok(line)
    }
}

/// Creates a staff account after checking every field; used by `user add`.
#[allow(clippy::too_many_arguments)]
pub async fn add_user(
    store: &Store,
    username: &str,
    role: &str,
    name: Option<&str>,
    email: Option<&str>,
    team: Option<&str>,
    locale: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let username = domain::user::Username::parse(username).map_err(|e| anyhow!("{e}"))?;
    let display =
        domain::user::parse_display_name("name", name.unwrap_or(username.as_str())).map_err(|e| anyhow!("{e}"))?;
    let email = domain::user::parse_optional_email("email", email.unwrap_or("")).map_err(|e| anyhow!("{e}"))?;
    let locale = domain::user::Locale::parse(locale).map_err(|e| anyhow!("{e}"))?;
    let password =
        domain::password::NewPassword::parse(password, username.as_str(), &display).map_err(|e| anyhow!("{e}"))?;
    let role = match store::roles::by_code(store, role).await {
        Ok(r) => r,
        Err(store::StoreError::NotFound) => bail!("role: no role with code {role:?}"),
        Err(e) => return Err(e.into()),
    };
    let team_id = match team {
        None => None,
        Some(t) => Some(
            store::teams::list(store)
                .await?
                .into_iter()
                .find(|x| x.name == t)
                .ok_or_else(|| anyhow!("team: no team named {t:?}"))?
                .id,
        ),
    };
    let hash = web::hash_password(password.expose()).map_err(|e| anyhow!("{e:?}"))?;
    let mut tx = store.begin().await?;
    let id = store::users::create(
        &mut tx,
        &Actor::system("keyuan user add"),
        &store::users::NewUser {
            username,
            display_name: display,
            email,
            phone: None,
            role_id: role.id,
            team_id,
            locale,
            password_hash: hash,
        },
    )
    .await
    .map_err(|e| match e {
        store::StoreError::Duplicate { field } => anyhow!("{field}: already taken"),
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(id.0)
}

/// Parses `--addr`.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| format!("{s:?} is not an address such as 127.0.0.1:8080"))
}

/// `keyuan evaluate`: one evaluation run, with progress on a terminal and a
/// summary (text, or the run's JSON summary with `--json`).
async fn evaluate(store: &Store, as_of: Option<&str>, json: bool) -> anyhow::Result<()> {
    let as_of = match as_of {
        Some(text) => chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| anyhow!("--as-of: {text:?} is not a date like 2026-06-30"))?,
        None => store::customer_import::today_in_china(),
    };
    if as_of > store::customer_import::today_in_china() {
        bail!("--as-of: {as_of} is after today; an evaluation looks back from a day that has passed");
    }
    let terminal = std::io::stderr().is_terminal() && !json;
    let started = std::time::Instant::now();
    let progress = move |step: &str| {
        if terminal {
            eprintln!("[{:>6.1}s] {step} …", started.elapsed().as_secs_f64());
        }
    };
    let actor = Actor::system("keyuan evaluate");
    let report = store::value::evaluate(store, &actor, as_of, store::value::Trigger::Cli, &progress).await?;
    let run = &report.run;
    if json {
        let mut summary = run.summary.clone();
        if let Some(map) = summary.as_object_mut() {
            map.insert("run_id".into(), serde_json::json!(run.id));
        }
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let s = &run.summary;
    println!(
        "Evaluation {} as of {}: {} customers, {} with purchases, {} orders.",
        run.id, run.as_of, run.customers, run.buyers, run.orders
    );
    println!(
        "  Grades: A {}, B {}, C {}, D {}; {} changed since the last run.",
        s["grades"]["A"], s["grades"]["B"], s["grades"]["C"], s["grades"]["D"], report.grade_changes
    );
    match (&s["model"]["bgnbd"], &s["model"]["gamma_gamma"]) {
        (serde_json::Value::Object(b), g) => {
            println!(
                "  BG/NBD (days): r {:.4}, alpha {:.4}, a {:.4}, b {:.4}.",
                b["r"].as_f64().unwrap_or_default(),
                b["alpha"].as_f64().unwrap_or_default(),
                b["a"].as_f64().unwrap_or_default(),
                b["b"].as_f64().unwrap_or_default()
            );
            if let serde_json::Value::Object(g) = g {
                println!(
                    "  Gamma-Gamma (yuan): p {:.4}, q {:.4}, v {:.4}.",
                    g["p"].as_f64().unwrap_or_default(),
                    g["q"].as_f64().unwrap_or_default(),
                    g["v"].as_f64().unwrap_or_default()
                );
            } else {
                println!("  Gamma-Gamma: not enough repeat customers to fit; no CLV this run.");
            }
        }
        _ => println!("  BG/NBD: not enough purchase history to fit; no forecasts this run."),
    }
    println!("  Alerts raised: {} (assigned to each customer's owner).", run.alerts);
    Ok(())
}

/// `keyuan export customer-values`: the latest run as CSV.
async fn export_customer_values(store: &Store, file: &std::path::Path) -> anyhow::Result<()> {
    let actor = Actor::system("keyuan export customer-values");
    let everyone = store::visibility::Visibility {
        scope: domain::access::Scope::All,
        user_id: domain::ids::UserId(0),
        teams: Vec::new(),
    };
    let (bytes, run, rows) = match store::value::export_csv(store, &actor, &everyone).await {
        Err(store::StoreError::NotFound) => bail!("no evaluation has run yet: run `keyuan evaluate` first"),
        other => other?,
    };
    std::fs::write(file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    println!("Exported {rows} customers of evaluation {} (as of {}) to {}.", run.id, run.as_of, file.display());
    Ok(())
}
