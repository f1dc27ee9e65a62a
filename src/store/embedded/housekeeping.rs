//! Sweeping what has expired, and raw dumps of every tree (backups, leak tests).

use super::keys::Expiring;
use super::kv::Slice;
use super::{EmbeddedStore, RawRecords, StoreError, Tree, decode_i64, keys, records};
use crate::domain::stats::hour_of;
use crate::store::{STATS_RETENTION_DAYS, usage_expires_ms};

use crate::domain::SessionId;

/// When a record of `kind` (key `k`, value `v`) expires; `None` when it cannot be read.
fn expires_ms(kind: Expiring, k: &[u8], v: &[u8]) -> Option<i64> {
    match kind {
        Expiring::Session => std::str::from_utf8(k)
            .ok()
            .and_then(|s| SessionId::parse(s).ok())
            .and_then(|id| records::decode_session(&id, v).ok())
            .map(|s| s.expires_ms),
        Expiring::Usage => records::decode_usage(v).ok().map(|u| usage_expires_ms(&u)),
        Expiring::Nonce => decode_i64(v),
    }
}

/// Records removed per transaction by a sweep: one journal entry and one turn of the writer
/// lock for each batch instead of each record (a transaction's duplicate check is linear in
/// its writes, so a batch stays small).
const SWEEP_BATCH: usize = 64;

impl EmbeddedStore {
    fn expiring_tree(&self, kind: Expiring) -> &Tree {
        match kind {
            Expiring::Session => &self.sessions,
            Expiring::Usage => &self.usage,
            Expiring::Nonce => &self.nonces,
        }
    }

    /// Deletes the records of `kind` whose expiry (read from the record itself; one that
    /// cannot be read goes too) has passed. Walks only the `expiry` entries up to now: an
    /// entry whose record has since been given a later expiry moves to that time; one whose
    /// record is gone is dropped.
    fn sweep_expired(&self, kind: Expiring, now_ms: i64) -> Result<usize, StoreError> {
        let tree = self.expiring_tree(kind);
        let mut removed = 0;
        let mut batch = Vec::with_capacity(SWEEP_BATCH);
        for item in self.expiry.range(keys::expiry_until(kind, now_ms)) {
            let (entry, _) = item?;
            let record = keys::expiry_record(&entry);
            let value = match tree.get(record)? {
                Some(value) => match expires_ms(kind, record, &value) {
                    Some(at) if at > now_ms => {
                        self.note_expiry(kind, at, record)?;
                        None
                    }
                    _ => Some(value),
                },
                None => None,
            };
            batch.push((entry, value));
            if batch.len() == SWEEP_BATCH {
                removed += self.remove_expired(tree, &mut batch)?;
            }
        }
        Ok(removed + self.remove_expired(tree, &mut batch)?)
    }

    /// Removes, in one transaction, each expired record of `batch` that is still as it was
    /// read (a writer that just renewed one wins: its entry stays, to be looked at again next
    /// time, and its writer added a later one), and the expiry entries of the others (a record
    /// read as `None` was gone or has moved to a later entry). Returns how many records went.
    fn remove_expired(
        &self,
        tree: &Tree,
        batch: &mut Vec<(Slice, Option<Slice>)>,
    ) -> Result<usize, StoreError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let removed = self.db.write(|tx| {
            let mut removed = 0;
            for (entry, value) in batch.iter() {
                if let Some(value) = value {
                    let record = keys::expiry_record(entry);
                    if tx.get(tree, record)?.as_deref() != Some(&value[..]) {
                        continue;
                    }
                    tx.remove(tree, record);
                    removed += 1;
                }
                tx.remove(&self.expiry, entry.clone());
            }
            Ok::<_, StoreError>(removed)
        })?;
        batch.clear();
        Ok(removed)
    }

    /// Gives every session, usage record and nonce its `expiry` entry: once, for a store
    /// written before the index existed.
    pub(super) fn build_expiry_index(&self) -> Result<usize, StoreError> {
        let mut indexed = 0;
        for kind in [Expiring::Session, Expiring::Usage, Expiring::Nonce] {
            for item in self.expiring_tree(kind).iter() {
                let (k, v) = item?;
                self.note_expiry(kind, expires_ms(kind, &k, &v).unwrap_or(0), &k)?;
                indexed += 1;
            }
        }
        Ok(indexed)
    }

    /// Deletes expired sessions and nonces, usage older than two days, log records older than
    /// `log_retention_ms`, and dashboard counters older than [`STATS_RETENTION_DAYS`], then
    /// moves the manifest's checkpoint up (see `manifest.rs`). Returns how many entries went.
    pub fn sweep(&self, now_ms: i64, log_retention_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for kind in [Expiring::Session, Expiring::Nonce, Expiring::Usage] {
            removed += self.sweep_expired(kind, now_ms)?;
        }
        let cutoff = uuid::Builder::from_unix_timestamp_millis(
            u64::try_from(now_ms - log_retention_ms).unwrap_or(0),
            &[0; 10],
        )
        .into_uuid();
        // The manifest must not name a record this sweep removes (see `manifest.rs`).
        self.manifest_forget_log_before(cutoff)?;
        let mut batch = Vec::with_capacity(SWEEP_BATCH);
        for item in self.log.range(..cutoff.as_bytes().to_vec()) {
            let (key, _) = item?;
            batch.push(key);
            if batch.len() == SWEEP_BATCH {
                removed += self.remove_log_records(&mut batch)?;
            }
        }
        removed += self.remove_log_records(&mut batch)?;
        let stats_cutoff = now_ms - i64::from(STATS_RETENTION_DAYS) * 86_400_000;
        removed += self.sweep_stats(hour_of(stats_cutoff))?;
        self.save_outbox_floor(now_ms)?;
        self.checkpoint()?;
        // What the last minute wrote moves from memory (and the journal) into the trees'
        // files, where compaction drops what was deleted: memory stays small, a start after a
        // crash replays about a minute of journal, and deleted records give their space back.
        for tree in self.trees() {
            tree.start_flushing_memory()?;
        }
        Ok(removed)
    }

    /// Removes the log records `batch` names, with their index entries, in one transaction
    /// (each record read in it, so a delivery step cannot move an entry meanwhile).
    fn remove_log_records(&self, batch: &mut Vec<Slice>) -> Result<usize, StoreError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let removed = batch.len();
        self.db.write(|tx| {
            for key in batch.drain(..) {
                let Some(value) = tx.get(&self.log, &key)? else {
                    continue;
                };
                if let Ok(r) = records::decode_log(&value) {
                    // Index entries are written once: removed without leaving a tombstone.
                    for index in keys::log_index(&r) {
                        tx.remove_single(&self.log_by_dest, index);
                    }
                }
                tx.remove(&self.log, key);
            }
            Ok::<_, StoreError>(())
        })?;
        Ok(removed)
    }

    /// Every tree's raw contents, for backups and for tests that look for leaked codes.
    pub fn dump(&self) -> Result<Vec<(String, RawRecords)>, StoreError> {
        self.counts.write_out()?;
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.tree(&name)?;
            let entries = tree
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<Result<Vec<_>, _>>()?;
            out.push((name, entries));
        }
        Ok(out)
    }
}
