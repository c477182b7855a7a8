//! The `membercard` command line: serve (default), migrate, schema, admin create / disable /
//! enable / set-password, seed-demo, probe.

use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::domain::auth::Role;
use crate::domain::member::{Nickname, ProfileUpdate};
use crate::graphql::sdl;
use crate::infra::clock::Clock;
use crate::startup::{self, Application};
use crate::telemetry;

#[derive(Parser)]
#[command(
    name = "membercard",
    version,
    about = "The membercard member-card backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage operator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Create a few demo members (dev:demo-1 … dev:demo-5) for the playground.
    SeedDemo,
    /// Exit 0 when a running server reports ready (for container health checks).
    Probe {
        /// Default: `/readyz` on `MEMBERCARD_LISTEN` (an unspecified host such as 0.0.0.0 is
        /// reached on loopback).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an operator account; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// ADMIN (everything) or OPERATOR (reviews, fulfilment, reads).
        #[arg(long, default_value = "ADMIN")]
        role: String,
    },
    /// Disable an account: no login, and its tokens stop working at once.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Set a new password, read from standard input; every earlier token stops working.
    SetPassword {
        #[arg(long)]
        username: String,
    },
}

/// Runs the command named on the command line.
///
/// # Errors
/// Whatever stops the command; the process exits non-zero.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A missing .env is normal; the environment may be set some other way.
    let _ = dotenvy::dotenv();
    telemetry::init("info", telemetry::LogFormat::from_env()?);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            std::io::stdout().write_all(sdl().as_bytes())?;
            Ok(())
        }
        Command::Serve => serve().await,
        Command::Migrate => {
            startup::connect(&Settings::from_env()?).await?;
            tracing::info!("database is up to date");
            Ok(())
        }
        Command::Admin { command } => admin(command).await,
        Command::SeedDemo => seed_demo().await,
        Command::Probe { url } => {
            let url = url.map_or_else(|| readyz_url(&Settings::from_env()?.server.listen), Ok)?;
            probe(&url).await
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let playground = settings.server.playground;
    let app = Application::build(settings).await?;
    let address = app.address();
    if playground {
        tracing::info!("membercard is up: GraphiQL playground at http://{address}/graphql");
    } else {
        tracing::info!("membercard is up: POST http://{address}/graphql");
    }
    app.run_until_stopped().await?;
    Ok(())
}

async fn services() -> anyhow::Result<crate::service::Services> {
    let settings = Settings::from_env()?;
    let (db, redis) = startup::connect(&settings).await?;
    let clock = Arc::new(Clock::new(settings.business.timezone, false));
    startup::services(&settings, db, redis, clock)
}

async fn admin(command: AdminCommand) -> anyhow::Result<()> {
    let auth = services().await?.auth;
    match command {
        AdminCommand::Create { username, role } => {
            let role = Role::parse(&role)?;
            let admin = auth
                .create_admin(&username, &read_password()?, role)
                .await?;
            tracing::info!(admin.id = %admin.id, admin.role = admin.role.as_str(), "admin {} created", admin.username);
        }
        AdminCommand::Disable { username } => {
            auth.set_admin_disabled(&username, true).await?;
            tracing::info!("admin {username} disabled");
        }
        AdminCommand::Enable { username } => {
            auth.set_admin_disabled(&username, false).await?;
            tracing::info!("admin {username} enabled");
        }
        AdminCommand::SetPassword { username } => {
            auth.set_admin_password(&username, &read_password()?)
                .await?;
            tracing::info!("admin {username}: password changed, earlier tokens revoked");
        }
    }
    Ok(())
}

/// One line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

async fn seed_demo() -> anyhow::Result<()> {
    let services = services().await?;
    for n in 1..=5 {
        let openid = format!("demo-{n}");
        let (member, created) = services.auth.ensure_member(&openid, None).await?;
        let update = ProfileUpdate {
            nickname: Some(Nickname::parse(&format!("Demo member {n}"))?),
            ..ProfileUpdate::default()
        };
        services.members.update_profile(member.id, update).await?;
        tracing::info!(member.id = %member.id, created, "demo member ready: log in with code dev:{openid}");
    }
    Ok(())
}

/// `/readyz` of a server listening on `listen` (`host:port`), as seen from the same machine.
fn readyz_url(listen: &str) -> anyhow::Result<String> {
    let address: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("MEMBERCARD_LISTEN {listen} is not host:port"))?;
    let host = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    Ok(format!("http://{host}:{}/readyz", address.port()))
}

async fn probe(url: &str) -> anyhow::Result<()> {
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(url)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_follows_the_listen_address() {
        assert_eq!(
            readyz_url("0.0.0.0:9000").unwrap(),
            "http://127.0.0.1:9000/readyz"
        );
        assert_eq!(readyz_url("[::]:80").unwrap(), "http://[::1]:80/readyz");
        assert_eq!(
            readyz_url("10.1.2.3:8080").unwrap(),
            "http://10.1.2.3:8080/readyz"
        );
        assert!(readyz_url("localhost").is_err());
    }
}
