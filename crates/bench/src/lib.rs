//! Keyuan benchmarks (BENCHMARKS.md): a deterministic generator of synthetic
//! Chinese customers ([`synth`]) and the harness of the `keyuan-bench`
//! binary, which times the real `keyuan` binary (or, for the value engine,
//! the `domain` code in-process, [`bgnbd`]) against a baseline measured in
//! the same run. Nothing here is a test: tests never assert on time.

// The benchmarks report to the person at the terminal on standard output.
#![allow(clippy::print_stdout)]

pub mod bgnbd;
pub mod import;
pub mod search;
pub mod stats;
pub mod synth;
pub mod tools;
pub mod value;
