//! Keyuan's end-to-end suite: every story runs against a real server with a
//! fresh database, on SQLite and on PostgreSQL.
//!
//! PostgreSQL comes from `KEYUAN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when none answers the
//! PostgreSQL stories are skipped with a message, except under `CI=true`,
//! where that is a failure. Browser stories need Debian's chromium and
//! chromium-driver, with the same rule.

// The suite reports skipped parts on standard output, beside the test runner.
#![allow(clippy::print_stdout)]

mod account;
mod admin;
mod audit;
mod browser;
mod catalog;
mod customer_admin;
mod customer_import;
mod customers;
mod finance;
mod harness;
mod journey;
mod orders;
mod platform;
mod process;
mod sales;
mod settings;
mod value;

use harness::{Engine, Story, TestApp};
use libtest_mimic::{Arguments, Failed, Trial};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let pg = rt.block_on(harness::pg_available());
    drop(rt);
    if let Err(why) = &pg {
        if ci {
            eprintln!("PostgreSQL is required under CI=true: {why}");
            return ExitCode::FAILURE;
        }
        println!("PostgreSQL suite skipped: {why} (set KEYUAN_TEST_POSTGRES_URL to run it)");
    }
    let browser = browser::available();
    if let Err(why) = &browser {
        if ci {
            eprintln!("Chromium is required under CI=true: {why}");
            return ExitCode::FAILURE;
        }
        println!("Browser stories skipped: {why}");
    }

    let modules: Vec<(&str, Vec<Story>)> = vec![
        ("platform", platform::stories()),
        ("process", process::stories()),
        ("browser", browser::stories()),
        ("admin", admin::stories()),
        ("account", account::stories()),
        ("audit", audit::stories()),
        ("settings", settings::stories()),
        ("customers", customers::stories()),
        ("customer_import", customer_import::stories()),
        ("customer_admin", customer_admin::stories()),
        ("catalog", catalog::stories()),
        ("sales", sales::stories()),
        ("orders", orders::stories()),
        ("finance", finance::stories()),
        ("value", value::stories()),
        ("journey", journey::stories()),
    ];
    let mut trials = Vec::new();
    for (module, stories) in modules {
        for story in stories {
            for &engine in story.engines {
                let skip = (engine == Engine::Postgres && pg.is_err()) || (story.needs_browser && browser.is_err());
                let name = format!("{}::{module}::{}", engine.name(), story.name);
                let run = story.run.clone();
                trials.push(Trial::test(name, move || run_story(engine, run)).with_ignored_flag(skip));
            }
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn run_story(
    engine: Engine,
    run: std::sync::Arc<dyn Fn(TestApp) -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> + Send + Sync>,
) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let app = TestApp::spawn(engine).await.map_err(|e| format!("starting the app: {e:#}"))?;
        let outcome = run(app.clone()).await;
        app.shutdown().await;
        outcome.map_err(|e| Failed::from(format!("{e:#}")))
    })
}
