//! The `otpd` command: `serve` runs the server; the other commands talk to a running server's
//! admin API, or (`sign`) help client developers compute payload hashes.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system's malloc: faster on the many small, short-lived allocations
/// of each request (see the README's benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `1.2.3 (commit abc1234)`: the version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("OTPD_BUILD_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "otpd",
    version = VERSION,
    about = "Self-hosted one-time-password engine",
    long_about = None,
    after_help = "Examples:
  otpd serve                                 run the server (public API :8080, console :8081)
  otpd operator add alice --role admin       the first console operator
  otpd brand create ACME dailyOtpLimit=5     a brand, on the running server
  otpd --data-dir /var/lib/otpd brand list   the server whose data directory is /var/lib/otpd

Each command's --help has more examples."
)]
struct Cli {
    /// The data directory [default: $OTPD_DATA_DIR, else $XDG_DATA_HOME/otpd, else
    /// ~/.local/share/otpd]
    ///
    /// The store and the server keys for `serve`, `restore` and `keys`; for the commands that
    /// manage a running server, the data directory holding its admin.url and admin.token.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the public OTP API, the admin API, delivery.
    Serve(ServeArgs),
    /// Compute the payload-signature `hash` (v1) of a request body, as a client must.
    Sign(cli::sign::SignArgs),
    /// Restore a backup into a new data directory (no server running on it) or an empty
    /// PostgreSQL database (--to).
    Restore(cli::backup::RestoreArgs),
    /// Move a stopped installation's embedded store into an empty PostgreSQL database.
    Migrate(cli::migrate::MigrateArgs),
    /// The server key ring (code hashes, sealing, token signing): list, rotate, remove keys.
    Keys(cli::keys::KeysArgs),
    #[command(flatten)]
    Admin(cli::AdminCommand),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    #[command(after_help = "Examples:
  otpd completions bash > /etc/bash_completion.d/otpd
  otpd completions zsh > \"${fpath[1]}/_otpd\"
  otpd completions fish > ~/.config/fish/completions/otpd.fish")]
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `otpd manpage > otpd.1`.
    #[command(hide = true)]
    Manpage,
    /// Print an API's OpenAPI document (the console's TypeScript types come from `admin`).
    #[command(hide = true)]
    Openapi {
        #[arg(value_parser = ["admin", "public"])]
        api: String,
    },
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  otpd serve
  otpd serve --config /etc/otpd/otpd.toml
  otpd serve --public-listen 0.0.0.0:8080 --log-json
  OTPD_DURABILITY=periodic otpd --data-dir /srv/otpd serve")]
struct ServeArgs {
    /// A TOML config file (see config.example.toml).
    #[arg(long, env = "OTPD_CONFIG")]
    config: Option<PathBuf>,
    /// Address of the public API, e.g. 0.0.0.0:8080.
    #[arg(long)]
    public_listen: Option<std::net::SocketAddr>,
    /// Address of the admin API (keep it on loopback).
    #[arg(long)]
    admin_listen: Option<std::net::SocketAddr>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long)]
    log_json: bool,
    /// Start even though the store lacks records it had acknowledged (otpd refuses a damaged
    /// store by default): what is missing stays lost. Restoring a backup is usually better.
    #[arg(long)]
    accept_store_loss: bool,
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
    // `serve` may also take it from its config file; the others fall back to the default.
    let data_dir = || {
        cli.data_dir
            .clone()
            .unwrap_or_else(otpd::config::default_data_dir)
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args, cli.data_dir.clone()).await,
            Command::Sign(args) => cli::sign::run(&args),
            Command::Restore(args) => cli::backup::restore(&args, &data_dir()).await,
            Command::Migrate(args) => cli::migrate::migrate(&args, &data_dir()).await,
            Command::Keys(args) => cli::keys::run(&args, &data_dir()),
            Command::Admin(cmd) => cli::run_admin(cmd, &data_dir()).await,
            Command::Completions { shell } => {
                print_completions(shell);
                Ok(())
            }
            Command::Manpage => print_manpage(),
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

async fn serve(args: ServeArgs, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = otpd::config::Config::load(args.config.as_deref(), |k| std::env::var(k).ok())?;
    let flag = otpd::config::Source::Flag;
    if let Some(dir) = data_dir {
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
    let scheme = |tls: bool| if tls { "https" } else { "http" };
    let public = scheme(config.public_tls().is_some());
    let admin = scheme(config.admin_tls().is_some());
    let options = otpd::RunOptions {
        accept_store_loss: args.accept_store_loss,
        ..otpd::RunOptions::default()
    };
    let server = otpd::run(config, options).await?;
    cli::output::say!(
        "otpd public API on {}  (console and admin API on {admin}://{})",
        server.public_addr.map_or_else(
            || "(not listening)".to_owned(),
            |a| format!("{public}://{a}")
        ),
        server.admin_addr
    );
    if let Some(token) = &server.setup_token {
        cli::output::say!(
            "No operator yet. Create the first admin within an hour at:\n  {admin}://{}/setup#token={token}\n(or run `otpd operator add NAME --role admin`)",
            server.admin_addr
        );
    }
    while wait_for_signal().await == Signal::Reload {
        match server.reload_tls() {
            Ok(0) => tracing::info!("SIGHUP: no listener serves TLS, nothing to reload"),
            Ok(n) => tracing::info!(listeners = n, "SIGHUP: TLS certificates reloaded"),
            Err(e) => tracing::error!("SIGHUP: {e:#}"),
        }
    }
    tracing::info!("shutting down: draining requests and deliveries");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

fn print_completions(shell: clap_complete::Shell) {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "otpd", &mut std::io::stdout());
}

fn print_manpage() -> anyhow::Result<()> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
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

#[derive(PartialEq, Eq)]
enum Signal {
    /// SIGINT or SIGTERM: shut down gracefully.
    Stop,
    /// SIGHUP: reload the TLS certificates.
    Reload,
}

async fn wait_for_signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return Signal::Stop;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Signal::Stop,
            _ = term.recv() => Signal::Stop,
            _ = hup.recv() => Signal::Reload,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every command a user can call (hidden ones aside) shows at least one example in its
    /// `--help`, written as a full `otpd …` line.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name()).trim().to_owned();
            let help = cmd
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            let has_example = help.contains("Example") && help.contains("\n  otpd ");
            if !cmd.is_hide_set() && !has_example {
                missing.push(path.clone());
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no example in --help: {missing:?}");
    }

    #[test]
    fn the_data_directory_goes_before_or_after_the_command() {
        for args in [
            ["otpd", "--data-dir", "/srv/otpd", "keys", "list"],
            ["otpd", "keys", "--data-dir", "/srv/otpd", "list"],
            ["otpd", "keys", "list", "--data-dir", "/srv/otpd"],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            assert_eq!(
                cli.data_dir.as_deref(),
                Some("/srv/otpd".as_ref()),
                "{args:?}"
            );
            assert!(matches!(cli.command, Command::Keys(_)));
        }
        let cli = Cli::try_parse_from(["otpd", "brand", "list", "--data-dir", "/d"]).unwrap();
        assert_eq!(cli.data_dir.as_deref(), Some("/d".as_ref()));
        let cli = Cli::try_parse_from(["otpd", "--data-dir", "/d", "serve"]).unwrap();
        assert_eq!(cli.data_dir.as_deref(), Some("/d".as_ref()));
    }
}
