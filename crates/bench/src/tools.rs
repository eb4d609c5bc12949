//! The outside programs the benchmarks drive (`keyuan`, `sqlite3`, `psql`),
//! scratch directories and scratch PostgreSQL databases. Nothing here
//! installs anything: a missing program is an error that says what to install.

use anyhow::{anyhow, bail, Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::synth::{self, Customer, Encoding, Generator};

/// The `keyuan` binary: `explicit`, or the one next to this program (both
/// are built by `cargo build --release -p keyuan -p bench`).
pub fn keyuan_binary(explicit: Option<&Path>) -> Result<PathBuf> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .context("locating keyuan-bench")?
            .parent()
            .map(|dir| dir.join(format!("keyuan{}", std::env::consts::EXE_SUFFIX)))
            .ok_or_else(|| anyhow!("keyuan-bench has no parent directory"))?,
    };
    if !path.is_file() {
        bail!(
            "no keyuan binary at {}: build both with `cargo build --release -p keyuan -p bench`, or pass --keyuan PATH",
            path.display()
        );
    }
    Ok(path)
}

/// Checks that a command-line program answers `--version`.
pub fn require_program(program: &str, debian_package: &str) -> Result<()> {
    match Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(_) => Ok(()),
        Err(_) => {
            bail!("this benchmark needs the `{program}` program (Debian package {debian_package}); it is not on PATH")
        }
    }
}

/// Runs a command to completion, capturing its output; fails with its
/// standard error when it fails. Returns the wall-clock time it took.
pub fn run_timed(cmd: &mut Command) -> Result<(Duration, Output)> {
    let what = format!("{cmd:?}");
    let started = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("cannot run {what}"))?;
    let took = started.elapsed();
    if !out.status.success() {
        bail!("{what} failed ({}):\n{}{}", out.status, tail(&out.stdout, 20), tail(&out.stderr, 20));
    }
    Ok((took, out))
}

/// Runs a command with `input` on standard input; fails like [`run_timed`].
pub fn run_with_input(cmd: &mut Command, input: &str) -> Result<Output> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{what} failed ({}):\n{}{}", out.status, tail(&out.stdout, 20), tail(&out.stderr, 20));
    }
    Ok(out)
}

/// The last `lines` lines of a program's output, as text.
pub fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// A directory for one run's files: removed at the end unless kept.
pub struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// `keep` (created if needed and left in place), or a fresh directory
    /// under the system's temporary directory, removed on drop.
    pub fn new(keep: Option<&Path>, label: &str) -> Result<WorkDir> {
        let (path, keep) = match keep {
            Some(p) => (p.to_path_buf(), true),
            None => (std::env::temp_dir().join(format!("keyuan-bench-{label}-{}", std::process::id())), false),
        };
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path, keep })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside it, with any file of that name removed first.
    pub fn fresh(&self, name: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let f = PathBuf::from(format!("{}{suffix}", p.display()));
            if f.exists() {
                std::fs::remove_file(&f).with_context(|| format!("removing {}", f.display()))?;
            }
        }
        Ok(p)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Writes `count` generated customers to `path`, calling `observe` on each;
/// returns the time it took and the file's size.
pub fn generate_file(
    path: &Path,
    count: u64,
    seed: u64,
    encoding: Encoding,
    observe: impl FnMut(u64, &Customer),
) -> Result<(Duration, u64)> {
    let started = Instant::now();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let out = BufWriter::with_capacity(1 << 20, file);
    synth::write_csv(out, encoding, false, &mut Generator::with_seed(seed), count, observe)
        .with_context(|| format!("writing {}", path.display()))?;
    let took = started.elapsed();
    Ok((took, std::fs::metadata(path)?.len()))
}

/// Decodes a GBK file to a UTF-8 one.
pub fn transcode_to_utf8(gbk: &Path, utf8: &Path) -> Result<Duration> {
    let started = Instant::now();
    let input = std::io::BufReader::new(File::open(gbk)?);
    let output = BufWriter::with_capacity(1 << 20, File::create(utf8)?);
    synth::gbk_to_utf8(input, output).with_context(|| format!("decoding {}", gbk.display()))?;
    Ok(started.elapsed())
}

/// `SELECT COUNT(*) FROM table` in a SQLite file, through the `sqlite3` CLI.
pub fn sqlite_count(db: &Path, table: &str) -> Result<u64> {
    let (_, out) = run_timed(Command::new("sqlite3").arg(db).arg(format!("SELECT COUNT(*) FROM {table}")))?;
    parse_count(&out.stdout)
}

/// `SELECT COUNT(*) FROM table` in PostgreSQL, through `psql`.
pub fn pg_count(url: &str, table: &str) -> Result<u64> {
    let (_, out) =
        run_timed(Command::new("psql").arg(url).args(["-X", "-tAc"]).arg(format!("SELECT COUNT(*) FROM {table}")))?;
    parse_count(&out.stdout)
}

fn parse_count(stdout: &[u8]) -> Result<u64> {
    let text = String::from_utf8_lossy(stdout);
    text.trim().parse().map_err(|_| anyhow!("expected a row count, got {text:?}"))
}

/// `url` with its database name replaced by `db` (query parameters kept):
/// `postgres://u@h:5432/postgres?sslmode=disable` → `postgres://u@h:5432/DB?sslmode=disable`.
pub fn with_database(url: &str, db: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| anyhow!("{url:?} is not a postgres:// URL"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let mut out = format!("{scheme}://{authority}/{db}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A PostgreSQL database created for one run and dropped afterwards (unless kept).
pub struct PgScratch {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
    keep: bool,
}

impl PgScratch {
    /// Creates database `name` (dropping any left over by an earlier run) through
    /// the server at `admin_url`.
    pub fn create(admin_url: &str, name: &str, keep: bool) -> Result<PgScratch> {
        require_program("psql", "postgresql-client")?;
        let admin = |sql: String| {
            run_timed(Command::new("psql").arg(admin_url).args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c"]).arg(sql))
        };
        admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .with_context(|| format!("PostgreSQL at {admin_url} is not reachable"))?;
        admin(format!("CREATE DATABASE {name}"))?;
        Ok(PgScratch {
            admin_url: admin_url.to_string(),
            name: name.to_string(),
            url: with_database(admin_url, name)?,
            keep,
        })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = Command::new("psql")
                .arg(&self.admin_url)
                .args(["-X", "-q", "-c"])
                .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The benchmarks' staff account: owner of the imported customers and the
/// user the search benchmark logs in as.
pub const USERNAME: &str = "bench";
/// Its password (it only ever exists in scratch databases).
pub const PASSWORD: &str = "Harbour-Lantern-Quince-2026";

/// Creates [`USERNAME`] as an administrator with `keyuan user add` (password
/// on standard input), unless the database already has it.
pub fn add_bench_user(keyuan: &Path, url: &str) -> Result<()> {
    let added = run_with_input(
        Command::new(keyuan).args(["--database", url, "user", "add", "--username", USERNAME, "--role", "admin"]),
        &format!("{PASSWORD}\n"),
    );
    match added {
        Err(e) if format!("{e:#}").contains("already taken") => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The machine: CPUs, memory and the load average now, so that a report
/// says whether something else was running (Linux; elsewhere what is known).
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(String::from("?"), |kb| format!("{:.0}", kb / 1024.0 / 1024.0));
    format!("{cpus} CPUs, {mem_gib} GiB, {}", load_average())
}

/// `load average 0.12 0.30 0.25` (1, 5 and 15 minutes), from /proc/loadavg.
pub fn load_average() -> String {
    match std::fs::read_to_string("/proc/loadavg") {
        Ok(s) => format!("load average {}", s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
        Err(_) => "load average unknown".into(),
    }
}

/// A `sqlite://` URL for a file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_postgres_urls() {
        let u = |s, db| with_database(s, db).unwrap_or_default();
        assert_eq!(u("postgres://postgres@127.0.0.1:5432/postgres", "b"), "postgres://postgres@127.0.0.1:5432/b");
        assert_eq!(u("postgres://a:s@h/x?sslmode=disable", "b"), "postgres://a:s@h/b?sslmode=disable");
        assert_eq!(u("postgresql://h", "b"), "postgresql://h/b");
        assert!(with_database("h/x", "b").is_err());
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail(b"", 2), "");
    }
}
