//! `otpd backup FILE` (from a running server, through the admin API) and `otpd restore FILE`
//! (into a new data directory with no server running on it, or an empty PostgreSQL database).

use super::output::say;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::{AdminClient, Connection};

#[derive(clap::Args)]
#[command(
    after_help = "The backup holds every record, whichever store the server runs on. Brand \
records stay sealed and codes are only keyed hashes, so restoring needs the server-keys.json of \
the same server. Keep that file backed up separately and safely.

Example:
  otpd backup \"otpd-$(date +%F).backup\""
)]
pub struct BackupArgs {
    /// Where to write the backup (created with mode 0600; an existing file is replaced).
    file: PathBuf,
    #[command(flatten)]
    conn: Connection,
}

#[derive(clap::Args)]
#[command(
    after_help = "A backup restores into a new data directory, or with --to into an empty \
PostgreSQL database, whichever store wrote it. Its brands open only with the key ring of the \
server that wrote it: copy that server's server-keys.json into the data directory first (or set \
OTPD_SERVER_KEYS). A backup written by an earlier otpd (format 1) restores into a data \
directory only, and without keys.

Examples:
  mkdir -m 700 /var/lib/otpd-new
  cp /var/lib/otpd/server-keys.json /var/lib/otpd-new/
  otpd --data-dir /var/lib/otpd-new restore otpd-2026-11-30.backup

  otpd --data-dir /etc/otpd restore --to 'postgres://otpd:…@db.internal/otpd' otpd-2026-11-30.backup"
)]
pub struct RestoreArgs {
    /// A file written by `otpd backup`.
    file: PathBuf,
    /// Restore into this PostgreSQL database (empty: no brands, no operators) instead of the
    /// data directory's embedded store.
    #[arg(long, value_name = "URL", hide_env_values = true)]
    to: Option<String>,
}

pub async fn backup(args: BackupArgs, data_dir: &Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let partial = args.file.with_extension("partial");
    let mut out = std::io::BufWriter::new(create_owner_only(&partial)?);
    let bytes = match client.download(&["backup"], &mut out).await {
        Ok(n) => n,
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    drop(out);
    std::fs::rename(&partial, &args.file)
        .with_context(|| format!("writing {}", args.file.display()))?;
    say!("Backup written to {} ({bytes} bytes).", args.file.display());
    say!("Keep server-keys.json of the data directory too: without it the brands cannot be read.");
    Ok(())
}

/// Restores into the data directory `dir` (its embedded store), or into `--to`'s database.
pub async fn restore(args: &RestoreArgs, dir: &Path) -> anyhow::Result<()> {
    use otpd::store::{Durability, Store, backup};
    let open = || -> anyhow::Result<_> {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))?;
        Ok(std::io::BufReader::new(file))
    };
    let keys = otpd::secrets::ServerKeys::load_existing(dir)?.map(Arc::new);
    let Some(url) = &args.to else {
        otpd::create_private_dir(dir)?;
        let had_keys = keys.is_some();
        let records = Store::restore_dir(&dir.join("store"), keys, &mut open()?).await?;
        say!("Restored {records} records into {}.", dir.display());
        if !had_keys {
            say!(
                "Now copy server-keys.json from the backed-up server into {} (or set OTPD_SERVER_KEYS) before starting otpd.",
                dir.display()
            );
        }
        return Ok(());
    };
    let mut input = open()?;
    if backup::read_format(&mut input)? == backup::Format::Raw {
        anyhow::bail!(
            "{} is a format-1 backup, which restores into a data directory only: restore it there, \
             then move it with `otpd migrate --to`",
            args.file.display()
        );
    }
    let keys = keys.context(
        "restoring needs the server keys of the server that wrote the backup: put its \
         server-keys.json in the data directory (or set OTPD_SERVER_KEYS)",
    )?;
    let store = Store::connect(url, Durability::FlushEach, keys, 90_000)
        .await
        .context("connecting to the PostgreSQL database")?;
    let restored = store.restore(&mut input).await;
    store.close().await?;
    say!("Restored {} records into PostgreSQL.", restored?);
    say!(
        "Start every node with OTPD_STORE_URL set and the same server-keys.json (or OTPD_SERVER_KEYS)."
    );
    Ok(())
}

fn create_owner_only(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}
