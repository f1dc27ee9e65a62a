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
pub mod migrate;
mod operator;
pub mod output;
pub mod sign;
mod signing;
mod template;

use std::path::Path;

pub use client::AdminClient;

/// How to reach the admin API, shared by every admin command.
#[derive(clap::Args, Clone)]
pub struct Connection {
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
            .field("admin_url", &self.admin_url)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Create, list, show, change, disable and enable brands (tenants) on a running server.
    #[command(after_help = "Examples:
  otpd brand create ACME dailyOtpLimit=5
  otpd brand list
  otpd brand set ACME timeZone=Asia/Ho_Chi_Minh")]
    Brand(brand::BrandArgs),
    /// Delivery channels of a brand: providers and their settings, test messages.
    #[command(after_help = "Examples:
  otpd channel set ACME EMAIL provider=smtp host=smtp.example.com from=otp@example.com
  otpd channel test ACME EMAIL alice@example.com
  otpd channel show ACME")]
    Channel(channel::ChannelArgs),
    /// Message templates of a brand per channel and locale: save, show, remove, preview.
    #[command(after_help = "Examples:
  otpd template set ACME SMS --text '{brand}: your code is {otp}'
  otpd template preview ACME SMS")]
    Template(template::TemplateArgs),
    /// Per-customer OTP limits: overrides, today's usage, reset.
    #[command(after_help = "Examples:
  otpd limit show ACME +84901234567
  otpd limit reset ACME +84901234567")]
    Limit(limit::LimitArgs),
    /// The issuance log: every generate request, its outcome and delivery; filter, page, export.
    #[command(after_help = "Examples:
  otpd log list --since 1h
  otpd log export --brand ACME --since 30d > acme.csv")]
    Log(log::LogArgs),
    /// Payload signing (docs/api.md §5): switch it on or off, rotate and revoke keys.
    #[command(after_help = "Examples:
  otpd signing enable ACME
  otpd signing rotate ACME")]
    Signing(signing::SigningArgs),
    /// Write a backup of a running server's store to a file.
    Backup(backup::BackupArgs),
    /// Console operators: add (the first admin too), list, change role, disable, reset password.
    #[command(after_help = "Examples:
  otpd operator add alice --role admin
  otpd operator reset-password alice")]
    Operator(operator::OperatorArgs),
}

/// Runs an admin command against the server whose data directory is `data_dir`.
pub async fn run_admin(cmd: AdminCommand, data_dir: &Path) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Brand(args) => brand::run(args, data_dir).await,
        AdminCommand::Channel(args) => channel::run(args, data_dir).await,
        AdminCommand::Template(args) => template::run(args, data_dir).await,
        AdminCommand::Limit(args) => limit::run(args, data_dir).await,
        AdminCommand::Log(args) => log::run(args, data_dir).await,
        AdminCommand::Signing(args) => signing::run(args, data_dir).await,
        AdminCommand::Backup(args) => backup::backup(args, data_dir).await,
        AdminCommand::Operator(args) => operator::run(args, data_dir).await,
    }
}

#[cfg(test)]
mod tests {
    use super::Connection;

    #[test]
    fn debug_never_prints_the_admin_token() {
        let c = Connection {
            admin_url: Some("http://127.0.0.1:8081".into()),
            admin_token: Some("s3cr3t-token".into()),
            json: false,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("127.0.0.1:8081"));
    }
}
