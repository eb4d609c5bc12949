//! `keyuan-bench`: the customer generator and the import, search and BG/NBD
//! benchmarks of BENCHMARKS.md. The import and search benchmarks need a
//! release build of `keyuan` next to it (`cargo build --release -p keyuan -p
//! bench`) and the `sqlite3` program; the BG/NBD one needs Python with
//! `lifetimes`.

use anyhow::Context;
use bench::synth::{write_csv, Encoding, Generator, Options};
use clap::{Parser, Subcommand};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Synthetic customers and benchmarks for Keyuan (see BENCHMARKS.md).
#[derive(Parser, Debug)]
#[command(name = "keyuan-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write N synthetic customers as a CSV file `keyuan import customers` reads.
    Generate {
        /// How many customers.
        #[arg(long)]
        count: u64,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// gbk (what Excel on a Chinese Windows writes), utf8 or utf8-bom.
        #[arg(long, default_value = "gbk")]
        encoding: Encoding,
        /// Generator seed (the same seed gives the same file).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// The number in the first customer code (1 → C000001).
        #[arg(long, default_value_t = 1)]
        first_code: u64,
        /// Add a 标签 (tags) column.
        #[arg(long)]
        tags: bool,
    },
    /// Time `keyuan import customers` of a GBK CSV against `sqlite3 .import`.
    Import(bench::import::ImportArgs),
    /// Time customer search over HTTP against GET /healthz.
    Search(bench::search::SearchArgs),
    /// Time the BG/NBD fit on simulated customers against Python's lifetimes.
    Bgnbd(bench::bgnbd::BgnbdArgs),
    /// Time a full value evaluation run (`keyuan evaluate`) against DuckDB's RFM and ABC.
    Value(bench::value::ValueArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Generate { count, out, encoding, seed, first_code, tags } => (|| {
            let file = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut generator = Generator::new(Options { seed, first_code });
            let w =
                write_csv(BufWriter::with_capacity(1 << 20, file), encoding, tags, &mut generator, count, |_, _| {})
                    .with_context(|| format!("writing {}", out.display()))?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            let mut stderr = std::io::stderr();
            writeln!(stderr, "wrote {count} customers to {}", out.display())?;
            Ok(())
        })(),
        Command::Import(args) => bench::import::run(&args),
        Command::Search(args) => bench::search::run(&args),
        Command::Bgnbd(args) => bench::bgnbd::run(&args),
        Command::Value(args) => bench::value::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyuan-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
