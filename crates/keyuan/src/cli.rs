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
