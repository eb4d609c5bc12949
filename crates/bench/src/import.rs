//! `keyuan-bench import`: `keyuan import customers` of a GBK CSV against the
//! `sqlite3` CLI's `.import` of the same rows decoded to UTF-8 into a bare
//! table, measured in the same run (and, when a server is given, the same on
//! PostgreSQL against `psql`'s `\copy`).

use crate::stats::{rate, secs, thousands};
use crate::synth::Encoding;
use crate::tools::{self, PgScratch, WorkDir};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The target of issue 3: at most this many times the baseline.
pub const TARGET_RATIO: f64 = 3.0;

/// Options of `keyuan-bench import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// How many customers to generate and import.
    #[arg(long)]
    pub count: u64,
    /// Generator seed (the same seed gives the same file).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Keep the files and databases in this directory (and the PostgreSQL
    /// databases) instead of removing them.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// The keyuan binary (default: the one next to keyuan-bench).
    #[arg(long)]
    pub keyuan: Option<PathBuf>,
    /// Also measure on PostgreSQL: the URL of a server where scratch
    /// databases may be created and dropped (e.g. postgres://postgres@127.0.0.1:5432/postgres).
    #[arg(long)]
    pub postgres: Option<String>,
}

/// What `keyuan import customers` did.
#[derive(Debug)]
pub struct Load {
    /// Wall-clock time of the process.
    pub took: Duration,
    /// Rows in `customers` afterwards.
    pub rows: u64,
    /// The last lines it printed (its summary).
    pub summary: String,
}

/// Prepares the database with `keyuan migrate` and `keyuan user add` (not
/// timed: a one-off), then times `keyuan import customers FILE --owner bench`
/// (new customers need an owner). Fails when not every row was imported.
pub fn keyuan_import(keyuan: &Path, url: &str, file: &Path, expected: u64) -> Result<Load> {
    tools::run_timed(Command::new(keyuan).args(["--database", url, "migrate"]))?;
    tools::add_bench_user(keyuan, url)?;
    let (took, out) = tools::run_timed(
        Command::new(keyuan).args(["--database", url, "import", "customers", "--owner", tools::USERNAME]).arg(file),
    )
    .context("keyuan import customers")?;
    let rows = if let Some(path) = url.strip_prefix("sqlite://") {
        tools::sqlite_count(Path::new(path), "customers")?
    } else {
        tools::pg_count(url, "customers")?
    };
    let summary = format!("{}{}", tools::tail(&out.stdout, 6), tools::tail(&out.stderr, 4));
    if rows != expected {
        bail!("keyuan imported {rows} of {expected} rows, so its time means nothing; it said:\n{summary}");
    }
    Ok(Load { took, rows, summary })
}

/// Runs the benchmark and prints the report.
pub fn run(args: &ImportArgs) -> Result<()> {
    tools::require_program("sqlite3", "sqlite3")?;
    let keyuan = tools::keyuan_binary(args.keyuan.as_deref())?;
    let dir = WorkDir::new(args.keep.as_deref(), "import")?;
    let n = args.count;

    let gbk = dir.fresh("customers.gbk.csv")?;
    let (gen_took, gbk_size) = tools::generate_file(&gbk, n, args.seed, Encoding::Gbk, |_, _| {})?;
    let utf8 = dir.fresh("customers.utf8.csv")?;
    let decode_took = tools::transcode_to_utf8(&gbk, &utf8)?;
    println!("# import benchmark: {} customers (seed {}); machine: {}", thousands(n), args.seed, tools::machine());
    println!(
        "generated {} ({:.1} MB GBK) in {}; decoded to UTF-8 ({:.1} MB) in {} (neither is part of a timing below)",
        gbk.display(),
        gbk_size as f64 / 1e6,
        secs(gen_took),
        std::fs::metadata(&utf8)?.len() as f64 / 1e6,
        secs(decode_took),
    );

    // SQLite
    let base_db = dir.fresh("baseline.db")?;
    let (base_took, _) = tools::run_timed(
        Command::new("sqlite3").arg(&base_db).args([".mode csv".to_string(), format!(".import {} t", utf8.display())]),
    )
    .context("sqlite3 .import")?;
    let base_rows = tools::sqlite_count(&base_db, "t")?;
    let db = dir.fresh("keyuan.db")?;
    let load = keyuan_import(&keyuan, &tools::sqlite_url(&db), &gbk, n)?;
    println!();
    println!("## SQLite");
    report(n, ("sqlite3 .import, UTF-8, bare table", base_took, base_rows), &load, true);

    // PostgreSQL
    if let Some(admin) = &args.postgres {
        let keep = args.keep.is_some();
        let base = PgScratch::create(admin, "keyuan_bench_import_baseline", keep)?;
        let columns: Vec<String> = crate::synth::HEADERS.iter().map(|h| format!("\"{h}\" TEXT")).collect();
        tools::run_timed(
            Command::new("psql")
                .arg(&base.url)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("CREATE TABLE t ({})", columns.join(", "))),
        )?;
        let path = utf8.display().to_string();
        if path.contains('\'') {
            bail!("the work directory's path must not contain a quote: {path}");
        }
        let (pg_base_took, _) = tools::run_timed(
            Command::new("psql")
                .arg(&base.url)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("\\copy t FROM '{path}' WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')")),
        )
        .context("psql \\copy")?;
        let pg_base_rows = tools::pg_count(&base.url, "t")?;
        let target = PgScratch::create(admin, "keyuan_bench_import", keep)?;
        let pg_load = keyuan_import(&keyuan, &target.url, &gbk, n)?;
        println!();
        println!("## PostgreSQL (report only; no target)");
        report(n, ("psql \\copy, UTF-8, bare table", pg_base_took, pg_base_rows), &pg_load, false);
    }
    println!();
    println!("finished; {}", tools::load_average());
    if args.keep.is_some() {
        println!("Files kept in {}.", dir.path().display());
    }
    Ok(())
}

fn report(n: u64, (label, base_took, base_rows): (&str, Duration, u64), load: &Load, has_target: bool) {
    println!("| what | rows | time | rate |");
    println!("|---|---:|---:|---:|");
    println!("| baseline: {label} | {} | {} | {} |", thousands(base_rows), secs(base_took), rate(base_rows, base_took));
    println!(
        "| keyuan import customers, GBK | {} | {} | {} |",
        thousands(load.rows),
        secs(load.took),
        rate(load.rows, load.took)
    );
    let ratio = load.took.as_secs_f64() / base_took.as_secs_f64().max(1e-9);
    if has_target {
        let verdict = if ratio <= TARGET_RATIO { "met" } else { "NOT met" };
        println!("ratio keyuan / baseline: {ratio:.1}× (target ≤ {TARGET_RATIO}×: {verdict})");
    } else {
        println!("ratio keyuan / baseline: {ratio:.1}×");
    }
    if load.rows != n || base_rows != n {
        println!("warning: {} rows generated, {} in the baseline table, {} imported", n, base_rows, load.rows);
    }
    if !load.summary.trim().is_empty() {
        println!("keyuan said:");
        for line in load.summary.lines() {
            println!("    {line}");
        }
    }
}
