//! `keyuan-bench search`: latency of `GET /api/v1/customers?q=` over HTTP on
//! a database of N generated customers, against the same round trip to
//! `/healthz` measured in the same run, on SQLite and optionally PostgreSQL.

use crate::import::keyuan_import;
use crate::stats::{ms, secs, summarize, thousands, Summary};
use crate::synth::{Customer, Encoding, Generator, Rng};
use crate::tools::{self, PgScratch, WorkDir};
use anyhow::{anyhow, bail, Context, Result};
use domain::customer::CustomerKind;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The target of issue 3: 95th percentile of each kind of search.
pub const TARGET_P95: Duration = Duration::from_millis(10);

/// Requests of each kind sent first and not counted (connection set-up,
/// first-use caches, the database's page cache). The sampler draws this many
/// extra queries of each kind for it.
pub const WARM_UP: usize = 20;

/// Options of `keyuan-bench search`.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// How many customers the database holds.
    #[arg(long)]
    pub count: u64,
    /// Generator seed (the same seed gives the same customers and queries).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// How many searches to time on each engine (a third of each kind).
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// Stop timing on an engine after this many seconds, even if fewer
    /// searches were sent (the report says how many).
    #[arg(long, default_value_t = 900)]
    pub max_seconds: u64,
    /// Keep the files and databases in this directory instead of removing them.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// The keyuan binary (default: the one next to keyuan-bench).
    #[arg(long)]
    pub keyuan: Option<PathBuf>,
    /// Use this SQLite database, already loaded with the same --count and
    /// --seed (e.g. `keyuan.db` left by `import --keep DIR`), instead of loading one.
    #[arg(long)]
    pub sqlite_db: Option<PathBuf>,
    /// Skip SQLite (measure PostgreSQL only).
    #[arg(long)]
    pub no_sqlite: bool,
    /// Also measure on PostgreSQL: the URL of a server where a scratch
    /// database may be created and dropped.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Use this PostgreSQL database, already loaded with the same --count
    /// and --seed, instead of creating and loading one.
    #[arg(long)]
    pub postgres_db: Option<String>,
}

/// What is searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The baseline: `GET /healthz`.
    Healthz,
    /// Two consecutive characters of a name (`建国`, `王建`).
    NameFragment,
    /// The pinyin initials of a whole name (`wjg`).
    Initials,
    /// The last four digits of a mobile.
    PhoneSuffix,
}

impl Kind {
    const SEARCHES: [Kind; 3] = [Kind::NameFragment, Kind::Initials, Kind::PhoneSuffix];

    fn label(self) -> &'static str {
        match self {
            Kind::Healthz => "baseline: GET /healthz",
            Kind::NameFragment => "name fragment",
            Kind::Initials => "pinyin initials",
            Kind::PhoneSuffix => "phone, last 4 digits",
        }
    }
}

/// One search to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Its kind.
    pub kind: Kind,
    /// The text typed into the search box.
    pub text: String,
}

/// Picks `n` customers uniformly from the stream (reservoir sampling, seeded),
/// so the searches find people spread over the whole table.
pub struct Sampler {
    rng: Rng,
    want: usize,
    seen: u64,
    picked: Vec<Customer>,
}

impl Sampler {
    /// A sampler of `want` individuals.
    pub fn new(want: usize, seed: u64) -> Sampler {
        Sampler { rng: Rng::new(seed ^ 0x5EA2_C4ED), want, seen: 0, picked: Vec::with_capacity(want) }
    }

    /// Offers one customer (only individuals are kept: people search for people).
    pub fn offer(&mut self, c: &Customer) {
        if c.kind != CustomerKind::Individual {
            return;
        }
        self.seen += 1;
        if self.picked.len() < self.want {
            self.picked.push(c.clone());
        } else {
            let j = self.rng.below(self.seen) as usize;
            if j < self.want {
                self.picked[j] = c.clone();
            }
        }
    }

    /// The queries: kinds in turn, each from a different sampled customer.
    pub fn queries(mut self) -> Vec<Query> {
        let picked = std::mem::take(&mut self.picked);
        picked
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let kind = Kind::SEARCHES[i % 3];
                let text = match kind {
                    Kind::NameFragment => {
                        let chars: Vec<char> = c.name.chars().collect();
                        let start = self.rng.below((chars.len() - 1) as u64) as usize;
                        chars[start..start + 2].iter().collect()
                    }
                    Kind::Initials => domain::customer::to_pinyin(&c.name).1,
                    Kind::PhoneSuffix | Kind::Healthz => c.mobile[c.mobile.len() - 4..].to_string(),
                };
                Query { kind, text }
            })
            .collect()
    }
}

/// Regenerates the customers of `count` and `seed` (without writing them)
/// to pick the queries, e.g. for a database loaded in an earlier run.
pub fn sample_queries(count: u64, seed: u64, queries: usize) -> Vec<Query> {
    let mut sampler = Sampler::new(queries, seed);
    for c in Generator::with_seed(seed).take(count as usize) {
        sampler.offer(&c);
    }
    sampler.queries()
}

/// A `keyuan serve` process, stopped on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(keyuan: &Path, url: &str, log: &Path) -> Result<Server> {
        let mut child = Command::new(keyuan)
            .args(["--database", url, "serve", "--addr", "127.0.0.1:0", "--no-jobs"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("starting keyuan serve")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, rx) = mpsc::channel();
        // Reads every line so the pipe never fills; the first that names the
        // address is passed on.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split_once("listening on http://").map(|(_, r)| r) {
                    let addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let mut server = Server { child, base: String::new() };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(addr) => server.base = format!("http://{addr}"),
            Err(_) => bail!("keyuan serve did not print its address within 120 s; see {}", log.display()),
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM for a graceful stop, by process id; SIGKILL if it lingers.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Latencies of one engine's run.
struct Measured {
    summaries: Vec<(Kind, Summary, usize)>,
    sent: usize,
    planned: usize,
    took: Duration,
}

/// Times the queries against a running server: after a warm-up, each search
/// in turn, with a `/healthz` round trip after every three searches.
async fn measure(base: &str, queries: &[Query], budget: Duration) -> Result<Measured> {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build()?;
    let res = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": tools::USERNAME, "password": tools::PASSWORD}))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("login failed: {} {}", res.status(), res.text().await.unwrap_or_default());
    }
    let body: serde_json::Value = res.json().await?;
    let token = body["token"].as_str().ok_or_else(|| anyhow!("no token in {body}"))?.to_string();

    let one = |kind: Kind, text: &str| request(&client, base, &token, kind, text.to_string());
    // The warm-up has queries of its own, so no timed query is a repeat.
    let (warm_up, queries) = queries.split_at(queries.len().min(WARM_UP * 3));
    for q in warm_up {
        one(q.kind, &q.text).await?;
        one(Kind::Healthz, "").await?;
    }
    let mut samples: Vec<(Kind, Vec<Duration>, usize)> =
        [Kind::Healthz, Kind::NameFragment, Kind::Initials, Kind::PhoneSuffix]
            .iter()
            .map(|k| (*k, Vec::new(), 0))
            .collect();
    let mut record = |kind: Kind, took: Duration, items: usize| {
        if let Some(s) = samples.iter_mut().find(|s| s.0 == kind) {
            s.1.push(took);
            if items == 0 {
                s.2 += 1;
            }
        }
    };
    let started = Instant::now();
    let mut sent = 0;
    for (i, q) in queries.iter().enumerate() {
        if started.elapsed() > budget {
            break;
        }
        let (took, items) = one(q.kind, &q.text).await?;
        record(q.kind, took, items);
        sent += 1;
        if i % 3 == 2 {
            let (took, items) = one(Kind::Healthz, "").await?;
            record(Kind::Healthz, took, items);
        }
    }
    let took = started.elapsed();
    let summaries =
        samples.into_iter().filter_map(|(k, mut v, empty)| summarize(&mut v).map(|s| (k, s, empty))).collect();
    Ok(Measured { summaries, sent, planned: queries.len(), took })
}

/// One round trip: the time until the whole body has arrived, and how many
/// customers it lists (parsed after the clock stops).
async fn request(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    kind: Kind,
    text: String,
) -> Result<(Duration, usize)> {
    let url = match kind {
        Kind::Healthz => format!("{base}/healthz"),
        _ => format!(
            "{base}/api/v1/customers?q={}",
            form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
        ),
    };
    let started = Instant::now();
    let res = client.get(url).bearer_auth(token).send().await?;
    let status = res.status();
    let bytes = res.bytes().await?;
    let took = started.elapsed();
    if !status.is_success() {
        bail!("{} {text:?}: {status} {}", kind.label(), String::from_utf8_lossy(&bytes));
    }
    let items = if kind == Kind::Healthz {
        1
    } else {
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        v["items"].as_array().map_or(0, Vec::len)
    };
    Ok((took, items))
}

/// One database to measure.
#[derive(Clone, Copy)]
struct Target<'a> {
    title: &'a str,
    url: &'a str,
    /// The file to load it from, or `None` when it is already loaded.
    load_from: Option<&'a Path>,
    /// Whether the SQLite target applies.
    has_target: bool,
}

/// Loads (unless given), adds the staff account, serves, measures, reports.
fn engine(target: &Target<'_>, keyuan: &Path, queries: &[Query], args: &SearchArgs, dir: &WorkDir) -> Result<()> {
    let Target { title, url, load_from, has_target } = *target;
    println!();
    println!("## {title}");
    match load_from {
        Some(file) => {
            let load = keyuan_import(keyuan, url, file, args.count)?;
            println!(
                "loaded {} customers with `keyuan import customers` in {} (not part of the timings)",
                thousands(load.rows),
                secs(load.took)
            );
        }
        None => {
            let rows = match url.strip_prefix("sqlite://") {
                Some(path) => tools::sqlite_count(Path::new(path), "customers")?,
                None => tools::pg_count(url, "customers")?,
            };
            if rows != args.count {
                bail!("the database given holds {rows} customers, not --count {}", args.count);
            }
            println!("using the database given, loaded with --count {} --seed {}", args.count, args.seed);
            tools::add_bench_user(keyuan, url)?;
        }
    }
    let log = dir.path().join(format!("serve-{}.log", title.split_whitespace().next().unwrap_or("engine")));
    let server = Server::start(keyuan, url, &log)?;
    println!("server up; {}", tools::load_average());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let m = runtime.block_on(measure(&server.base, queries, Duration::from_secs(args.max_seconds)))?;
    drop(server);
    report(&m, has_target);
    Ok(())
}

fn report(m: &Measured, has_target: bool) {
    println!(
        "{} of {} searches sent in {} (sequential, one keep-alive HTTP/1.1 connection on loopback, after {} warm-up requests of each kind)",
        thousands(m.sent as u64),
        thousands(m.planned as u64),
        secs(m.took),
        WARM_UP
    );
    if m.sent < m.planned {
        println!("stopped early: the --max-seconds budget ran out");
    }
    let base_p95 = m.summaries.iter().find(|s| s.0 == Kind::Healthz).map(|s| s.1.p95);
    println!(
        "| kind | n | p50 | p95 | p99 | max | p95 / healthz p95 | no match |{}",
        if has_target { " p95 ≤ 10 ms |" } else { "" }
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|{}", if has_target { "---|" } else { "" });
    for (kind, s, empty) in &m.summaries {
        let ratio = base_p95
            .map_or(String::from("–"), |b| format!("{:.1}×", s.p95.as_secs_f64() / b.as_secs_f64().max(1e-9)));
        let verdict = match (has_target, kind) {
            (false, _) => String::new(),
            (true, Kind::Healthz) => " – |".to_string(),
            (true, _) => format!(" {} |", if s.p95 <= TARGET_P95 { "met" } else { "NOT met" }),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {ratio} | {empty} |{verdict}",
            kind.label(),
            s.count,
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            ms(s.max),
        );
    }
}

/// Runs the benchmark and prints the report.
pub fn run(args: &SearchArgs) -> Result<()> {
    tools::require_program("sqlite3", "sqlite3")?;
    let keyuan = tools::keyuan_binary(args.keyuan.as_deref())?;
    let dir = WorkDir::new(args.keep.as_deref(), "search")?;
    let needs_file =
        (!args.no_sqlite && args.sqlite_db.is_none()) || (args.postgres.is_some() && args.postgres_db.is_none());
    let mut sampler = Sampler::new(WARM_UP * 3 + args.queries, args.seed);
    let file = dir.path().join("customers.gbk.csv");
    let queries = if needs_file {
        let (took, _) = tools::generate_file(&file, args.count, args.seed, Encoding::Gbk, |_, c| sampler.offer(c))?;
        println!(
            "# search benchmark: {} customers (seed {}), generated in {}; machine: {}",
            thousands(args.count),
            args.seed,
            secs(took),
            tools::machine()
        );
        sampler.queries()
    } else {
        println!(
            "# search benchmark: {} customers (seed {}); machine: {}",
            thousands(args.count),
            args.seed,
            tools::machine()
        );
        sample_queries(args.count, args.seed, WARM_UP * 3 + args.queries)
    };
    let examples: Vec<String> = queries.iter().skip(WARM_UP * 3).take(6).map(|q| format!("{:?}", q.text)).collect();
    println!("queries are drawn from customers spread over the whole table, e.g. {}", examples.join(", "));

    if !args.no_sqlite {
        let (url, load_from) = match &args.sqlite_db {
            Some(db) => (tools::sqlite_url(db), None),
            None => (tools::sqlite_url(&dir.fresh("keyuan.db")?), Some(file.as_path())),
        };
        engine(&Target { title: "SQLite", url: &url, load_from, has_target: true }, &keyuan, &queries, args, &dir)?;
    }
    if let Some(url) = &args.postgres_db {
        let target = Target { title: "PostgreSQL (report only)", url, load_from: None, has_target: false };
        engine(&target, &keyuan, &queries, args, &dir)?;
    } else if let Some(admin) = &args.postgres {
        let scratch = PgScratch::create(admin, "keyuan_bench_search", args.keep.is_some())?;
        let target =
            Target { title: "PostgreSQL (report only)", url: &scratch.url, load_from: Some(&file), has_target: false };
        engine(&target, &keyuan, &queries, args, &dir)?;
    }
    println!();
    println!("finished; {}", tools::load_average());
    if args.keep.is_some() {
        println!("Files kept in {}.", dir.path().display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_come_in_turn_from_sampled_people() {
        let q = sample_queries(3_000, 4, 90);
        assert_eq!(q.len(), 90);
        assert_eq!(q, sample_queries(3_000, 4, 90), "deterministic");
        for (i, query) in q.iter().enumerate() {
            assert_eq!(query.kind, Kind::SEARCHES[i % 3]);
            match query.kind {
                Kind::NameFragment => assert_eq!(query.text.chars().count(), 2, "{}", query.text),
                Kind::Initials => assert!(query.text.chars().all(|c| c.is_ascii_lowercase()) && query.text.len() >= 2),
                _ => assert!(query.text.len() == 4 && query.text.bytes().all(|b| b.is_ascii_digit())),
            }
        }
        // Uniform over the stream: some from the last third of the rows too.
        let late: Vec<Customer> = Generator::with_seed(4).skip(2_000).take(1_000).collect();
        let phones: Vec<&str> = q.iter().filter(|q| q.kind == Kind::PhoneSuffix).map(|q| q.text.as_str()).collect();
        assert!(late.iter().any(|c| phones.contains(&&c.mobile[7..])));
    }
}
