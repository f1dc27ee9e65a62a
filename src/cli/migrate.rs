//! `otpd migrate --to postgres://…`: moves a stopped installation's embedded store into an
//! empty PostgreSQL database, for several nodes (docs/scale-out.md).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::output::say;

#[derive(Args)]
#[command(after_help = "Examples:
  systemctl stop otpd
  otpd --data-dir /var/lib/otpd migrate --to 'postgres://otpd:…@db.internal/otpd?sslmode=require'
  then start every node with OTPD_STORE_URL set and the same server-keys.json")]
pub struct MigrateArgs {
    /// The PostgreSQL database to move into (empty: no brands, no operators).
    #[arg(
        long,
        value_name = "URL",
        env = "OTPD_STORE_URL",
        hide_env_values = true
    )]
    to: String,
}

pub async fn migrate(args: &MigrateArgs, dir: &Path) -> anyhow::Result<()> {
    let keys = Arc::new(otpd::secrets::ServerKeys::load_or_create(dir)?);
    let from = otpd::store::Store::open(
        &dir.join("store"),
        otpd::store::Durability::FlushEach,
        keys.clone(),
    )
    .with_context(|| {
        format!(
            "opening the store in {} (stop the server first)",
            dir.display()
        )
    })?;
    let to =
        otpd::store::Store::connect(&args.to, otpd::store::Durability::FlushEach, keys, 90_000)
            .await
            .context("connecting to the PostgreSQL database")?;
    let moved = from.migrate_to(&to).await;
    from.close().await?;
    to.close().await?;
    let moved = moved.context("moving the records")?;
    say!(
        "Moved {moved} records into PostgreSQL. The embedded store in {} is unchanged.",
        dir.display()
    );
    say!(
        "Start every node with OTPD_STORE_URL set and this data directory's server-keys.json (or OTPD_SERVER_KEYS)."
    );
    Ok(())
}
