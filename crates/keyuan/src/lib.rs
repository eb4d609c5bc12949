//! The `keyuan` program: command line, server start-up and demo data.
//! Everything of substance lives in the `web`, `jobs`, `store` and `domain`
//! crates; this crate wires them together.

// The command line talks to the person at the terminal on standard output.
#![allow(clippy::print_stdout)]

pub mod cli;
pub mod demo;
pub mod serve;
