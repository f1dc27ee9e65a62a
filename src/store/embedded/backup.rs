//! Restoring a format-1 backup: every tree of an embedded store copied entry by entry, as
//! otpd wrote them before backups became logical (`store/backup.rs`). Such a file restores
//! into a new data directory only; `otpd migrate` then moves it to PostgreSQL if wanted.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::store::backup::{BackupError, read_frame};

#[derive(Serialize, Deserialize)]
enum Frame {
    Entry {
        tree: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    End {
        entries: u64,
    },
}

/// Copies the trees of a format-1 backup (its header already read) into a new store in `dir`.
/// Returns how many entries went in.
pub fn restore_raw(dir: &Path, input: &mut impl Read) -> Result<u64, BackupError> {
    let db = super::kv::Db::open(dir).map_err(StoreError::from)?;
    let mut written = 0u64;
    loop {
        match read_frame(input)? {
            // sled's default tree, which otpd never wrote to.
            Frame::Entry { tree, .. } if tree == super::legacy::SLED_DEFAULT_TREE => {
                written += 1;
            }
            Frame::Entry { tree, key, value } => {
                db.tree(&tree)?.insert(key, value)?;
                written += 1;
            }
            Frame::End { entries } if entries == written => break,
            Frame::End { entries } => {
                return Err(BackupError::Format(format!(
                    "the file says {entries} entries but holds {written}"
                )));
            }
        }
    }
    db.persist()?;
    super::sync_store_dirs(dir)?;
    Ok(written)
}
