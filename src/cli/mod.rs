//! Commands that manage a running server through its admin API (`brand`, `channel`,
//! `template`, `limit`, `log`, `signing`, `operator`), and `sign`, which helps client developers compute payload
//! hashes. The admin commands hold no rules of their own: the server validates, the CLI only
//! parses arguments and prints answers.

pub mod backup;
mod brand;
mod channel;
mod client;
pub mod keys;
mod limit;
mod log;
mod operator;
pub mod output;
pub mod sign;
mod signing;
mod template;

use std::path::PathBuf;

pub use client::AdminClient;

/// How to reach the admin API, shared by every admin command.
#[derive(clap::Args, Clone)]
pub struct Connection {
    /// Data directory of the running server; its `admin.url` and `admin.token` say where the
    /// admin API is and how to authenticate [default: $OTPD_DATA_DIR, else
    /// $XDG_DATA_HOME/otpd, else ~/.local/share/otpd]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Admin API base URL, e.g. http://127.0.0.1:8081 (instead of the data directory's admin.url).
    #[arg(long, global = true, env = "OTPD_ADMIN_URL", value_name = "URL")]
    pub admin_url: Option<String>,
    /// Admin token (instead of the data directory's admin.token; it changes at every start).
    #[arg(
        long,
        global = true,
        env = "OTPD_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub admin_token: Option<String>,
    /// Print the server's JSON answer instead of a readable summary.
    #[arg(long, global = true)]
    pub json: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("data_dir", &self.data_dir)
            .field("admin_url", &self.admin_url)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Create, list, show, change, disable and enable brands (tenants) on a running server.
    Brand(brand::BrandArgs),
    /// Delivery channels of a brand: providers and their settings, test messages.
    Channel(channel::ChannelArgs),
    /// Message templates of a brand per channel and locale: save, show, remove, preview.
    Template(template::TemplateArgs),
    /// Per-customer OTP limits: overrides, today's usage, reset.
    Limit(limit::LimitArgs),
    /// The issuance log: every generate request, its outcome and delivery; filter, page, export.
    Log(log::LogArgs),
    /// Payload signing (API.md §5): switch it on or off, rotate and revoke keys.
    Signing(signing::SigningArgs),
    /// Write a backup of a running server's store to a file.
    Backup(backup::BackupArgs),
    /// Console operators: add (the first admin too), list, change role, disable, reset password.
    Operator(operator::OperatorArgs),
}

pub async fn run_admin(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Brand(args) => brand::run(args).await,
        AdminCommand::Channel(args) => channel::run(args).await,
        AdminCommand::Template(args) => template::run(args).await,
        AdminCommand::Limit(args) => limit::run(args).await,
        AdminCommand::Log(args) => log::run(args).await,
        AdminCommand::Signing(args) => signing::run(args).await,
        AdminCommand::Backup(args) => backup::backup(args).await,
        AdminCommand::Operator(args) => operator::run(args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::Connection;

    #[test]
    fn debug_never_prints_the_admin_token() {
        let c = Connection {
            data_dir: None,
            admin_url: Some("http://127.0.0.1:8081".into()),
            admin_token: Some("s3cr3t-token".into()),
            json: false,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("127.0.0.1:8081"));
    }
}
