//! `keyuan-bench bgnbd`: `BgNbd::fit` against the Python `lifetimes`
//! package's `BetaGeoFitter().fit` on the same simulated cohort, in the same
//! run.
//!
//! Customers are drawn from a known BG/NBD process with time in days: each
//! joins on a day uniform over five years (so the age T at the end is 1 to
//! 1,826 days), buys as a Poisson process with rate λ ~ Gamma(r, α) while
//! alive and drops out after each repeat purchase with probability
//! p ~ Beta(a, b). Purchases are recorded on whole days, as a CRM would: the
//! recency tₓ is the day of the last repeat purchase.

use crate::stats::{secs, thousands};
use crate::synth::Rng;
use crate::tools::{self, WorkDir};
use anyhow::{bail, Context, Result};
use domain::value::bgnbd::{BgNbd, Summary};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The target: lifetimes' fit time over Keyuan's at least this.
pub const TARGET_RATIO: f64 = 20.0;

/// The simulated process, time in days: λ has mean r/α = 0.0025 a day
/// (0.9 trips a year), and a customer drops out after a trip with mean
/// probability a/(a+b) ≈ 0.24.
pub const TRUTH: BgNbd = BgNbd { r: 0.5, alpha: 200.0, a: 0.8, b: 2.5 };

/// The observation window: five years, in days.
pub const WINDOW_DAYS: u64 = 1826;

/// How many times Keyuan's fit is timed (the median is reported).
const KEYUAN_RUNS: usize = 3;

/// Options of `keyuan-bench bgnbd`.
#[derive(clap::Args, Debug)]
pub struct BgnbdArgs {
    /// How many customers to simulate.
    #[arg(long)]
    pub customers: u64,
    /// Simulation seed (the same seed gives the same cohort).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Keep the CSV in this directory instead of removing it.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// The Python interpreter that has `lifetimes` installed.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The lifetimes script (default: scripts/bgnbd_lifetimes.py of this crate).
    #[arg(long)]
    pub script: Option<PathBuf>,
}

/// A uniform number on the open interval (0, 1).
fn uniform(rng: &mut Rng) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Standard normal (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    (-2.0 * uniform(rng).ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform(rng)).cos()
}

/// Gamma(shape, rate 1): Marsaglia & Tsang (2000), "A Simple Method for
/// Generating Gamma Variables", with the boost U^(1/shape) for shape < 1.
fn gamma(rng: &mut Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        return gamma(rng, shape + 1.0) * uniform(rng).powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v > 0.0 && uniform(rng).ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// One customer's (x, tₓ, T) in whole days.
fn customer(rng: &mut Rng, truth: &BgNbd) -> Summary {
    let age = 1 + rng.below(WINDOW_DAYS) as u32;
    let rate = gamma(rng, truth.r) / truth.alpha;
    let x = gamma(rng, truth.a);
    let dropout = x / (x + gamma(rng, truth.b));
    let (mut now, mut frequency, mut last) = (0.0, 0, 0.0);
    loop {
        now += -uniform(rng).ln() / rate;
        if now > f64::from(age) {
            break;
        }
        frequency += 1;
        last = now;
        if uniform(rng) < dropout {
            break;
        }
    }
    Summary { frequency, recency: last.floor(), age: f64::from(age) }
}

/// `count` customers from `truth`, the same for the same seed.
pub fn simulate(count: u64, seed: u64, truth: &BgNbd) -> Vec<Summary> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| customer(&mut rng, truth)).collect()
}

/// Writes `frequency,recency,T` (lifetimes' names), one customer a line.
pub fn write_csv(path: &Path, cohort: &[Summary]) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    writeln!(w, "frequency,recency,T")?;
    for s in cohort {
        writeln!(w, "{},{},{}", s.frequency, s.recency, s.age)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// What the lifetimes script reported.
#[derive(Debug)]
struct Lifetimes {
    fit: BgNbd,
    fit_time: Duration,
    import_time: Duration,
    load_time: Duration,
    process_time: Duration,
    versions: String,
}

fn run_lifetimes(python: &Path, script: &Path, csv: &Path) -> Result<Lifetimes> {
    let (process_time, out) = tools::run_timed(Command::new(python).arg(script).arg(csv))
        .context("the lifetimes script (is lifetimes installed for this python? see BENCHMARKS.md)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with('{')).context("the lifetimes script printed no result")?;
    let v: serde_json::Value = serde_json::from_str(line).context("reading the lifetimes script's result")?;
    let num = |k: &str| v[k].as_f64().with_context(|| format!("no {k} in {line}"));
    let seconds = |k: &str| num(k).map(Duration::from_secs_f64);
    Ok(Lifetimes {
        fit: BgNbd { r: num("r")?, alpha: num("alpha")?, a: num("a")?, b: num("b")? },
        fit_time: seconds("fit_seconds")?,
        import_time: seconds("import_seconds")?,
        load_time: seconds("load_seconds")?,
        process_time,
        versions: v["versions"].as_str().unwrap_or("?").to_string(),
    })
}

/// True when `x` and `y` agree to three significant figures: they differ by
/// at most half a unit in the third significant digit of the larger.
pub fn agree_3sf(x: f64, y: f64) -> bool {
    let magnitude = x.abs().max(y.abs());
    if magnitude == 0.0 {
        return true;
    }
    let unit = 10f64.powf(magnitude.log10().floor() - 2.0);
    (x - y).abs() <= 0.5 * unit
}

/// Runs the benchmark and prints the report.
pub fn run(args: &BgnbdArgs) -> Result<()> {
    if args.customers == 0 {
        bail!("--customers must be at least 1");
    }
    let script = match &args.script {
        Some(p) => p.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bgnbd_lifetimes.py"),
    };
    let dir = WorkDir::new(args.keep.as_deref(), "bgnbd")?;
    let csv = dir.fresh("bgnbd.csv")?;
    println!("machine: {}", tools::machine());
    let started = Instant::now();
    let cohort = simulate(args.customers, args.seed, &TRUTH);
    write_csv(&csv, &cohort)?;
    let repeaters = cohort.iter().filter(|s| s.frequency > 0).count();
    println!(
        "simulated {} customers (seed {}, {} with a repeat purchase, time in days) to {} in {}",
        thousands(args.customers),
        args.seed,
        thousands(repeaters as u64),
        csv.display(),
        secs(started.elapsed())
    );

    let mut keyuan_times = Vec::new();
    let mut keyuan = None;
    for _ in 0..KEYUAN_RUNS {
        let started = Instant::now();
        let fit = BgNbd::fit(&cohort).context("BgNbd::fit")?;
        keyuan_times.push(started.elapsed());
        keyuan = Some(fit);
    }
    let keyuan = keyuan.context("no Keyuan fit")?;
    keyuan_times.sort_unstable();
    let keyuan_time = keyuan_times[KEYUAN_RUNS / 2];
    println!(
        "Keyuan BgNbd::fit: {} (median of {KEYUAN_RUNS}: {})",
        secs3(keyuan_time),
        keyuan_times.iter().map(|d| secs3(*d)).collect::<Vec<_>>().join(", ")
    );

    println!("lifetimes: running {} {} …", args.python.display(), script.display());
    let lifetimes = run_lifetimes(&args.python, &script, &csv)?;
    println!(
        "lifetimes BetaGeoFitter().fit: {} (process {}: imports {}, reading the CSV {}; {})",
        secs3(lifetimes.fit_time),
        secs(lifetimes.process_time),
        secs(lifetimes.import_time),
        secs(lifetimes.load_time),
        lifetimes.versions
    );

    println!();
    println!("| parameter | truth | Keyuan | lifetimes | agree to 3 s.f. |");
    println!("|---|---:|---:|---:|---|");
    let rows = [
        ("r", TRUTH.r, keyuan.r, lifetimes.fit.r),
        ("alpha (days)", TRUTH.alpha, keyuan.alpha, lifetimes.fit.alpha),
        ("a", TRUTH.a, keyuan.a, lifetimes.fit.a),
        ("b", TRUTH.b, keyuan.b, lifetimes.fit.b),
    ];
    let mut all_agree = true;
    for (name, truth, k, l) in rows {
        let agree = agree_3sf(k, l);
        all_agree &= agree;
        println!("| {name} | {truth} | {k:.6} | {l:.6} | {} |", if agree { "yes" } else { "NO" });
    }
    let (ll_k, ll_l) = (keyuan.log_likelihood(&cohort), lifetimes.fit.log_likelihood(&cohort));
    println!("log-likelihood: Keyuan {ll_k:.4}, lifetimes {ll_l:.4} (difference {:.2e})", ll_k - ll_l);
    let ratio = lifetimes.fit_time.as_secs_f64() / keyuan_time.as_secs_f64();
    println!();
    println!(
        "estimates agree to three significant figures: {}; speed ratio (lifetimes / Keyuan): {ratio:.1}× — target ≥ {TARGET_RATIO}×: {}",
        if all_agree { "yes" } else { "NO" },
        if ratio >= TARGET_RATIO { "met" } else { "not met" }
    );
    Ok(())
}

/// Seconds with three decimals: `0.123 s`.
fn secs3(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_is_deterministic_and_valid() {
        let one = simulate(2_000, 7, &TRUTH);
        assert_eq!(one, simulate(2_000, 7, &TRUTH));
        assert_ne!(one, simulate(2_000, 8, &TRUTH));
        for s in &one {
            assert!(s.age >= 1.0 && s.age <= WINDOW_DAYS as f64 && s.age.fract() == 0.0, "{s:?}");
            assert!(s.recency <= s.age && s.recency.fract() == 0.0, "{s:?}");
            assert!(s.frequency > 0 || s.recency == 0.0, "{s:?}");
        }
        // about 0.9 trips a year over an average of 2.5 years, less dropouts
        let mean = one.iter().map(|s| f64::from(s.frequency)).sum::<f64>() / one.len() as f64;
        assert!(mean > 0.8 && mean < 2.5, "{mean}");
    }

    #[test]
    fn three_significant_figures() {
        assert!(agree_3sf(0.5012, 0.5014));
        assert!(!agree_3sf(0.5012, 0.5020));
        assert!(agree_3sf(201.23, 201.4));
        assert!(!agree_3sf(201.2, 201.9));
        assert!(agree_3sf(0.0, 0.0));
    }
}
