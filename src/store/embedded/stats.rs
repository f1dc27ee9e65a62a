//! The dashboard's hourly counters (tree `stats`): key hour (u32 BE, hours since the epoch) ·
//! brand · 0 · counter name, value a u64 BE count. Counted with the event they count (see
//! `domain::stats`) in memory, [`Counts`], and added into the tree by the next flush; read
//! as a range of hours.

use std::sync::{Mutex, PoisonError};

use super::{EmbeddedStore, StatRow, StoreError, kv};
use crate::domain::stats::Counter;
use crate::store::pending_counts::PendingCounts;

pub(super) fn stat_key(hour: u32, brand: &str, counter: Counter) -> Vec<u8> {
    let name = counter.name();
    let mut k = Vec::with_capacity(4 + brand.len() + 1 + name.len());
    k.extend_from_slice(&hour.to_be_bytes());
    k.extend_from_slice(brand.as_bytes());
    k.push(0);
    k.extend_from_slice(name.as_bytes());
    k
}

pub(super) fn parse_key(k: &[u8]) -> Option<(u32, String, Counter)> {
    let hour = u32::from_be_bytes(k.get(..4)?.try_into().ok()?);
    let rest = std::str::from_utf8(k.get(4..)?).ok()?;
    let (brand, name) = rest.split_once('\0')?;
    Some((hour, brand.to_owned(), Counter::parse(name)?))
}

pub(super) fn add(old: Option<&[u8]>, n: u64) -> [u8; 8] {
    let old = old
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map_or(0, u64::from_be_bytes);
    old.saturating_add(n).to_be_bytes()
}

/// Counts not yet in the `stats` tree. Every issued, refused, delivered or validated code
/// counts, so counting is a map update in memory instead of a write of its own; the flusher
/// adds them into the tree (one transaction for all of them) before each flush, at least
/// twice a second, and so does every reader of the tree. A crash loses the dashboard's
/// counts of the last half second at most: never a code, a charge or a limit.
pub(super) struct Counts {
    db: kv::Db,
    tree: kv::Tree,
    pending: PendingCounts,
    /// Held while counts taken from `pending` are being written: a reader's write-out waits
    /// for one under way, so that it then reads every count added before it asked.
    writing: Mutex<()>,
}

impl Counts {
    pub(super) fn new(db: kv::Db, tree: kv::Tree) -> Self {
        Self {
            db,
            tree,
            pending: PendingCounts::default(),
            writing: Mutex::default(),
        }
    }

    /// Adds one to a brand's counter in the hour of `at_ms`.
    pub(super) fn add(&self, at_ms: i64, brand: &str, counter: Counter) {
        self.pending.add(at_ms, brand, counter);
    }

    /// Adds the pending counts into the tree; they stay pending when that fails. Every count
    /// added before the call is in the tree when it returns `Ok`.
    pub(super) fn write_out(&self) -> Result<(), StoreError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = self.pending.take();
        if pending.is_empty() {
            return Ok(());
        }
        let written = self.db.write(|tx| {
            for ((hour, brand, counter), n) in &pending {
                let key = stat_key(*hour, brand, *counter);
                let old = tx.get(&self.tree, &key)?;
                tx.insert(&self.tree, key, add(old.as_deref(), *n));
            }
            Ok::<_, StoreError>(())
        });
        if written.is_err() {
            self.pending.put_back(pending);
        }
        written
    }
}

impl EmbeddedStore {
    /// Adds one to a brand's counter in the hour of `at_ms` (see [`Counts`]).
    pub(super) fn count(&self, at_ms: i64, brand: &str, counter: Counter) {
        self.counts.add(at_ms, brand, counter);
    }

    /// Every counter of the hours `from..=to` (hours since the epoch).
    pub fn stats(&self, from_hour: u32, to_hour: u32) -> Result<Vec<StatRow>, StoreError> {
        self.counts.write_out()?;
        let start = from_hour.to_be_bytes().to_vec();
        let end = to_hour.saturating_add(1).to_be_bytes().to_vec();
        let mut out = Vec::new();
        for item in self.stats.range(start..end) {
            let (k, v) = item?;
            let Some((hour, brand, counter)) = parse_key(&k) else {
                continue;
            };
            let count = <[u8; 8]>::try_from(v.as_ref()).map_or(0, u64::from_be_bytes);
            out.push(StatRow {
                hour,
                brand,
                counter,
                count,
            });
        }
        Ok(out)
    }

    /// Deletes counters of hours before `before_hour`.
    pub(super) fn sweep_stats(&self, before_hour: u32) -> Result<usize, StoreError> {
        self.counts.write_out()?;
        let mut removed = 0;
        for item in self.stats.range(..before_hour.to_be_bytes().to_vec()) {
            let (k, _) = item?;
            self.stats.remove(k)?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_hour_and_parse_back() {
        let a = stat_key(5, "ACME", Counter::Refused(1534));
        let b = stat_key(6, "A", Counter::Validated);
        assert!(a < b);
        assert_eq!(
            parse_key(&a),
            Some((5, "ACME".to_owned(), Counter::Refused(1534)))
        );
    }

    #[test]
    fn counts_in_memory_add_to_what_the_tree_holds() {
        let dir = tempfile::tempdir().unwrap();
        let db = kv::Db::open(dir.path()).unwrap();
        let tree = db.tree("stats").unwrap();
        let counts = Counts::new(db, tree.clone());
        let hour_ms = 3_600_000;
        let count_in = |hour: u32, counter| {
            tree.get(stat_key(hour, "ACME", counter))
                .unwrap()
                .map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap()))
        };
        counts.add(5 * hour_ms, "ACME", Counter::Issued(None));
        counts.add(5 * hour_ms + 1, "ACME", Counter::Issued(None));
        assert_eq!(
            count_in(5, Counter::Issued(None)),
            None,
            "not written before a write-out"
        );
        counts.write_out().unwrap();
        assert_eq!(count_in(5, Counter::Issued(None)), Some(2));
        counts.add(5 * hour_ms, "ACME", Counter::Issued(None));
        counts.add(6 * hour_ms, "ACME", Counter::Validated);
        counts.write_out().unwrap();
        assert_eq!(count_in(5, Counter::Issued(None)), Some(3));
        assert_eq!(count_in(6, Counter::Validated), Some(1));
        counts.write_out().unwrap();
        assert_eq!(count_in(5, Counter::Issued(None)), Some(3), "written once");
    }

    #[test]
    fn counts_add_up_from_nothing() {
        assert_eq!(u64::from_be_bytes(add(None, 1)), 1);
        assert_eq!(u64::from_be_bytes(add(Some(&41u64.to_be_bytes()), 1)), 42);
    }
}
