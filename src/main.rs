//! The `otpd` command: `serve` runs the server; the other commands talk to a running server's
//! admin API, or (`sign`) help client developers compute payload hashes.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "otpd", version, about = "Self-hosted one-time-password engine", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the public OTP API, the admin API, delivery.
    Serve(ServeArgs),
    /// Compute the payload-signature `hash` (v1) of a request body, as a client must.
    Sign(cli::sign::SignArgs),
    /// Restore a backup into a new data directory (no server running on it).
    Restore(cli::backup::RestoreArgs),
    /// The server key ring (code hashes, sealing, token signing): list, rotate, remove keys.
    Keys(cli::keys::KeysArgs),
    #[command(flatten)]
    Admin(cli::AdminCommand),
    /// Print an API's OpenAPI document (the console's TypeScript types come from `admin`).
    #[command(hide = true)]
    Openapi {
        #[arg(value_parser = ["admin", "public"])]
        api: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A TOML config file (see config.example.toml).
    #[arg(long, env = "OTPD_CONFIG")]
    config: Option<PathBuf>,
    /// Where the store and keys live.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the public API, e.g. 0.0.0.0:8080.
    #[arg(long)]
    public_listen: Option<std::net::SocketAddr>,
    /// Address of the admin API (keep it on loopback).
    #[arg(long)]
    admin_listen: Option<std::net::SocketAddr>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long)]
    log_json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otpd: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Sign(args) => cli::sign::run(&args),
            Command::Restore(args) => cli::backup::restore(&args),
            Command::Keys(args) => cli::keys::run(&args),
            Command::Admin(cmd) => cli::run_admin(cmd).await,
            Command::Openapi { api } => print_openapi(&api),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otpd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = otpd::config::Config::load(args.config.as_deref(), |k| std::env::var(k).ok())?;
    let flag = otpd::config::Source::Flag;
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
        config.sources.insert("dataDir".into(), flag);
    }
    if let Some(addr) = args.public_listen {
        config.public_listen = addr;
        config.sources.insert("publicListen".into(), flag);
    }
    if let Some(addr) = args.admin_listen {
        config.admin_listen = addr;
        config.sources.insert("adminListen".into(), flag);
    }
    if args.log_json {
        config.log_format = otpd::config::LogFormat::Json;
        config.sources.insert("logFormat".into(), flag);
    }
    init_tracing(config.log_format);
    let server = otpd::run(config, otpd::RunOptions::default()).await?;
    cli::output::say!(
        "otpd public API on http://{}  (console and admin API on http://{})",
        server
            .public_addr
            .map_or_else(|| "(not listening)".to_owned(), |a| a.to_string()),
        server.admin_addr
    );
    if let Some(token) = &server.setup_token {
        cli::output::say!(
            "No operator yet. Create the first admin within an hour at:\n  http://{}/setup#token={token}\n(or run `otpd operator add NAME --role admin`)",
            server.admin_addr
        );
    }
    wait_for_signal().await;
    tracing::info!("shutting down: draining requests and deliveries");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

fn print_openapi(api: &str) -> anyhow::Result<()> {
    use utoipa::OpenApi;
    let doc = match api {
        "admin" => otpd::http::admin::openapi(),
        _ => otpd::http::ApiDoc::openapi(),
    };
    cli::output::say!("{}", doc.to_pretty_json()?);
    Ok(())
}

fn init_tracing(format: otpd::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match format {
        otpd::config::LogFormat::Json => builder.json().init(),
        otpd::config::LogFormat::Human => builder.init(),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
