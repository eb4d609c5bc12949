//! `keyuan serve`: the web server and the job scheduler in one process.

use crate::demo;
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Options of `keyuan serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEYUAN_ADDR", default_value = "127.0.0.1:8080", value_parser = crate::cli::parse_addr)]
    pub addr: SocketAddr,
    /// Fill an empty database with demo data first, and print how to log in.
    #[arg(long)]
    pub demo: bool,
    /// Mark cookies Secure: set when users reach Keyuan over HTTPS (behind a TLS proxy).
    #[arg(long, env = "KEYUAN_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Take client addresses from X-Forwarded-For (only behind a proxy you control).
    #[arg(long, env = "KEYUAN_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Minutes without activity after which a session ends.
    #[arg(long, env = "KEYUAN_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=1440))]
    pub session_idle_minutes: i64,
    /// Hours after login at which a session ends regardless of activity.
    #[arg(long, env = "KEYUAN_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=720))]
    pub session_hours: i64,
    /// Do not run scheduled jobs in this process (another server runs them).
    #[arg(long, env = "KEYUAN_NO_JOBS")]
    pub no_jobs: bool,
}

/// Serves until SIGINT or SIGTERM; requests in flight finish first.
pub async fn run(database: &str, args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let store = Store::connect(database).await?;
    if args.demo {
        let loaded = demo::fill(&store).await?;
        demo::print_instructions(loaded.as_ref());
    }
    let config = web::Config {
        session_idle_ms: args.session_idle_minutes * 60_000,
        session_lifetime_ms: args.session_hours * 3_600_000,
        secure_cookies: args.secure_cookies,
        trust_proxy: args.trust_proxy,
        ..web::Config::default()
    };
    let app = web::app(store.clone(), config).map_err(|e| anyhow::anyhow!(e))?;
    let listener = TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = (!args.no_jobs)
        .then(|| tokio::spawn(jobs::run(store.clone(), jobs::builtin(), Duration::from_secs(60), stop_rx.clone())));
    let stop = shutdown_signal().context("cannot install signal handlers")?;
    println!("Keyuan is listening on http://{local} ({}). Press Ctrl+C to stop.", store.backend().name());
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(stop)
        .await
        .context("server failed")?;
    let _ = stop_tx.send(true);
    if let Some(s) = scheduler {
        let _ = s.await;
    }
    store.close().await;
    println!("Keyuan stopped.");
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYUAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).try_init();
}

/// Registers the SIGINT/SIGTERM handlers now (before the server says it is
/// listening, so a signal sent right after never hits the default action of
/// killing the process) and returns a future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?)
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}
