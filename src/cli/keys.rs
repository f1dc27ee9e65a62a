//! `otpd keys list|rotate|remove`: the server key ring in `server-keys.json`. The server reads
//! the ring at start, so a change takes effect at the next start; old keys keep verifying and
//! opening what they made until removed.

use super::output::say;
use std::path::Path;

use anyhow::{Context, bail};
use otpd::secrets::{KEY_ENV, KEY_FILE, SEALED_WITH_FILE, ServerKeys, write_owner_only};

#[derive(clap::Args)]
#[command(
    after_help = "A rotated ring is used from the next start of otpd. At that start, brand \
records are re-sealed under the new key. Remove an old key only when nothing needs it any more: \
codes issued and tokens signed before the rotation stop verifying without it (codes live at most \
30 minutes, tokens as long as their brand's TTLs; AUTH keys of a brand without keyTtlSeconds never \
expire, so they stop verifying only when their server key is removed).

Examples:
  otpd keys list
  otpd keys rotate                      then restart otpd
  otpd keys remove 1                    once codes and tokens of key 1 have expired"
)]
pub struct KeysArgs {
    #[command(subcommand)]
    action: KeysAction,
}

#[derive(clap::Subcommand)]
enum KeysAction {
    /// The key ids, the active one first (never the secrets).
    #[command(after_help = "Example:\n  otpd --data-dir /var/lib/otpd keys list")]
    List,
    /// Add a new random key and make it the active one.
    #[command(after_help = "Example (then restart otpd to use it):\n  otpd keys rotate")]
    Rotate,
    /// Remove an old key (not the active one).
    #[command(after_help = "Example:\n  otpd keys remove 1")]
    Remove {
        /// The key id (from `otpd keys list`).
        id: u32,
    },
}

pub fn run(args: &KeysArgs, dir: &Path) -> anyhow::Result<()> {
    if std::env::var_os(KEY_ENV).is_some() {
        bail!("{KEY_ENV} is set: the key ring lives in that variable, so change it there");
    }
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (has otpd run with this data directory?)",
            path.display()
        )
    })?;
    match &args.action {
        KeysAction::List => {
            let ring = ServerKeys::from_json(&text)?;
            for id in ring.ids() {
                let role = if id == ring.active_id() {
                    "active"
                } else {
                    "verifies and opens older material"
                };
                say!("{id}\t{role}");
            }
        }
        KeysAction::Rotate => {
            let (next, id) = ServerKeys::rotated_key_file(&text)?;
            write_owner_only(&path, next.as_bytes())?;
            say!("Key {id} is now the active key; restart otpd to use it.");
        }
        KeysAction::Remove { id } => {
            let sealed_with = std::fs::read_to_string(dir.join(SEALED_WITH_FILE))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
            if sealed_with == Some(*id) {
                bail!(
                    "the store's brand records are still sealed under key {id}: start otpd once \
                     (it re-seals them under the active key), then remove key {id}"
                );
            }
            let next = ServerKeys::key_file_without(&text, *id)?;
            write_owner_only(&path, next.as_bytes())?;
            say!("Key {id} removed; restart otpd for it to take effect.");
        }
    }
    Ok(())
}
