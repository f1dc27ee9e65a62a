//! Backups: every tree, entry by entry, in a small framed format — a header line, then
//! length-prefixed postcard frames, then a trailer with the entry count, so a truncated or
//! damaged file is refused rather than half restored. Records are copied as stored: brand
//! records stay sealed, so a backup is only readable with the data directory's
//! `server-keys.json` (kept apart from it on purpose).
//!
//! Each tree is read in one pass while the server runs; a write landing during the backup may
//! or may not be in it.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{EmbeddedStore, StoreError};

const MAGIC: &[u8] = b"OTPD-BACKUP 1\n";
/// The largest frame a restore accepts (a log record is a few hundred bytes).
const MAX_FRAME: usize = 16 * 1024 * 1024;

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

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("backup: {0}")]
    Format(String),
}

impl From<sled::Error> for BackupError {
    fn from(e: sled::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

fn write_frame(out: &mut impl Write, frame: &Frame) -> Result<(), BackupError> {
    let bytes = postcard::to_stdvec(frame).map_err(|e| BackupError::Format(e.to_string()))?;
    let len = u32::try_from(bytes.len())
        .map_err(|_| BackupError::Format("a record is too large".into()))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(&bytes)?;
    Ok(())
}

fn read_frame(input: &mut impl Read) -> Result<Frame, BackupError> {
    let mut len = [0u8; 4];
    input
        .read_exact(&mut len)
        .map_err(|_| BackupError::Format("the file ends early: it is truncated".into()))?;
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if len > MAX_FRAME {
        return Err(BackupError::Format(
            "a frame is too large: the file is damaged".into(),
        ));
    }
    let mut bytes = vec![0u8; len];
    input
        .read_exact(&mut bytes)
        .map_err(|_| BackupError::Format("the file ends early: it is truncated".into()))?;
    postcard::from_bytes(&bytes)
        .map_err(|_| BackupError::Format("a frame does not decode: the file is damaged".into()))
}

impl EmbeddedStore {
    /// Writes every tree to `out`; returns how many entries were written.
    pub fn backup(&self, out: &mut impl Write) -> Result<u64, BackupError> {
        out.write_all(MAGIC)?;
        let mut entries = 0u64;
        for name in self.db.tree_names() {
            if name.starts_with(b"__sled__") {
                continue;
            }
            let tree_name = String::from_utf8_lossy(&name).into_owned();
            for item in self.db.open_tree(&name)?.iter() {
                let (key, value) = item?;
                write_frame(
                    out,
                    &Frame::Entry {
                        tree: tree_name.clone(),
                        key: key.to_vec(),
                        value: value.to_vec(),
                    },
                )?;
                entries += 1;
            }
        }
        write_frame(out, &Frame::End { entries })?;
        out.flush()?;
        Ok(entries)
    }

    /// Restores a backup as the store directory `dir`, which must not exist yet (or be empty).
    /// The records go into a sibling directory first, renamed into place only when the whole
    /// file was read and its entry count matches: a failed restore leaves nothing behind. No
    /// keys are needed to copy records. Returns how many entries went in.
    pub fn restore(dir: &Path, input: &mut impl Read) -> Result<u64, BackupError> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(BackupError::Format(format!(
                "{} already holds a store: restore into a new data directory",
                dir.display()
            )));
        }
        let staging = dir.with_file_name(format!(".restoring-{}", std::process::id()));
        let result = import(&staging, input);
        match result {
            Ok(n) => {
                if dir.exists() {
                    std::fs::remove_dir(dir)?;
                }
                std::fs::rename(&staging, dir)?;
                // A manifest left by an earlier store would describe that one, not this.
                match std::fs::remove_file(super::manifest::Manifest::path_for(dir)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
                Ok(n)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }
}

fn import(dir: &Path, input: &mut impl Read) -> Result<u64, BackupError> {
    let mut magic = vec![0u8; MAGIC.len()];
    input
        .read_exact(&mut magic)
        .map_err(|_| BackupError::Format("not an otpd backup (too short)".into()))?;
    if magic != MAGIC {
        return Err(BackupError::Format(
            "not an otpd backup (wrong header)".into(),
        ));
    }
    let db = sled::Config::new().path(dir).open()?;
    let mut written = 0u64;
    loop {
        match read_frame(input)? {
            Frame::Entry { tree, key, value } => {
                db.open_tree(tree.as_bytes())?.insert(key, value)?;
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
    super::DiskSync::new(db, dir)?.flush()?;
    Ok(written)
}
