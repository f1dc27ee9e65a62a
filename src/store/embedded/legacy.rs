//! Stores of otpd 0.1 were sled directories. At the first start of this otpd, the store in
//! `dir` is copied tree by tree, entry by entry, into a new fjall database (the trees, keys and
//! records are the same), which then takes the store's place; the sled directory stays beside
//! it as `<dir>.sled-0.1`, to be deleted once the new store has been seen to work.
//!
//! The copy is made in `<dir>.moving` and renamed into place only when complete: a crash during
//! the copy leaves the sled store where it was (the copy starts again), and a crash between the
//! two renames is finished at the next start.

use std::path::{Path, PathBuf};

use super::{StoreError, kv};

/// The name of sled's own default tree, which otpd never wrote to.
pub const SLED_DEFAULT_TREE: &str = "__sled__default";
/// The newest store schema otpd wrote with sled.
const LAST_SLED_SCHEMA: u32 = 2;

/// Whether `dir` holds a sled store (sled writes these two files first).
fn is_sled(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}.{suffix}"))
}

/// Moves a sled store in `dir` into fjall (see the module docs); does nothing for any other.
pub fn move_in(dir: &Path) -> Result<(), StoreError> {
    let moving = sibling(dir, "moving");
    let kept = sibling(dir, "sled-0.1");
    let io = |what: &str, e: std::io::Error| StoreError::Engine(format!("{what}: {e}"));
    if !dir.exists() && moving.exists() && kept.exists() {
        // The copy was complete; the crash came between the renames.
        std::fs::rename(&moving, dir).map_err(|e| io("moving the new store into place", e))?;
        return sync_parent(dir);
    }
    if !is_sled(dir) {
        return Ok(());
    }
    if moving.exists() {
        std::fs::remove_dir_all(&moving).map_err(|e| io("removing an unfinished copy", e))?;
    }
    let started = std::time::Instant::now();
    let entries = copy(dir, &moving)?;
    std::fs::rename(dir, &kept).map_err(|e| io("keeping the old store aside", e))?;
    std::fs::rename(&moving, dir).map_err(|e| io("moving the new store into place", e))?;
    sync_parent(dir)?;
    tracing::info!(
        entries,
        millis = started.elapsed().as_millis() as u64,
        old = %kept.display(),
        "moved the store from sled into fjall; the old copy can go once this otpd works"
    );
    Ok(())
}

/// Copies every tree of the sled store in `from` into a new fjall database in `to`.
fn copy(from: &Path, to: &Path) -> Result<u64, StoreError> {
    let sled_error = |e: sled::Error| StoreError::Engine(format!("reading the sled store: {e}"));
    let old = sled::Config::new().path(from).open().map_err(sled_error)?;
    // Only what an otpd of sled's time wrote is moved: anything newer is left as it was.
    let schema = old
        .open_tree("meta")
        .and_then(|meta| meta.get(super::SCHEMA_KEY))
        .map_err(sled_error)?;
    super::refuse_newer(schema.as_deref(), LAST_SLED_SCHEMA)?;
    let new = kv::Db::open(to)?;
    let mut entries = 0;
    for name in old.tree_names() {
        let name = String::from_utf8_lossy(&name).into_owned();
        if name == SLED_DEFAULT_TREE {
            continue;
        }
        let tree = old.open_tree(&name).map_err(sled_error)?;
        entries += new.tree(&name)?.ingest(tree.iter().map(|entry| {
            entry
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(sled_error)
        }))?;
    }
    new.persist()?;
    Ok(entries)
}

fn sync_parent(dir: &Path) -> Result<(), StoreError> {
    dir.parent().map_or(Ok(()), super::sync_dir)
}
