//! `otpd backup FILE` (from a running server, through the admin API) and `otpd restore FILE`
//! (into a new data directory, with no server running on it).

use super::output::say;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{AdminClient, Connection};

#[derive(clap::Args)]
#[command(
    after_help = "The backup holds every record as stored: brand records stay sealed, so \
restoring needs the server-keys.json of the same data directory. Keep that file backed up \
separately and safely.

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
    after_help = "Restore into a data directory that holds no store yet, then copy the \
server-keys.json of the backed-up server into it (or set OTPD_SERVER_KEYS) before `otpd serve`.

Example:
  otpd restore --data-dir /var/lib/otpd-new otpd-2026-11-30.backup
  cp /var/lib/otpd/server-keys.json /var/lib/otpd-new/"
)]
pub struct RestoreArgs {
    /// A file written by `otpd backup`.
    file: PathBuf,
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

/// Restores into `dir` (`--data-dir`: the new data directory).
pub fn restore(args: &RestoreArgs, dir: &Path) -> anyhow::Result<()> {
    otpd::create_private_dir(dir)?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let entries =
        otpd::store::Store::restore(&dir.join("store"), &mut std::io::BufReader::new(file))?;
    say!("Restored {entries} records into {}.", dir.display());
    if !dir.join(otpd::secrets::KEY_FILE).exists() {
        say!(
            "Now copy server-keys.json from the backed-up server into {} (or set OTPD_SERVER_KEYS) before starting otpd.",
            dir.display()
        );
    }
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
