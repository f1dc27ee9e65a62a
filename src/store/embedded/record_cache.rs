//! The records of a stamped tree last written or read, decoded, each kept with its key's write
//! stamp: a reader that finds a key's record here with the stamp the key has now takes it
//! instead of reading and decoding it again. The requests of a code's flow (token/generate,
//! otp/generate, otp/validate) each read the session the previous one wrote, and the issuing
//! transaction reads the customer's usage the customer's last code wrote: the sessions and
//! the usage each have a cache.
//!
//! One entry per stamp slot ([`Stamp::slot`]): records whose keys share a slot replace each
//! other, and a write to any of them moves the stamp. An entry is only ever taken with the
//! stamp it was kept with, so a write that committed since, a removal, a restore or an import
//! (each moves the stamp) makes it a miss, never a stale answer.

use std::sync::{Arc, Mutex};

use super::StoreError;
use super::kv::{STAMP_SLOTS, Stamp, Tree, Tx, lock};
use crate::domain::Session;
use crate::domain::limits::Usage;

/// A record that knows its key, so that an entry is never taken for another key of its slot.
pub(super) trait Keyed {
    fn has_key(&self, key: &[u8]) -> bool;
}

pub(super) struct RecordCache<T>(Box<[Mutex<Option<Cached<T>>>]>);

struct Cached<T> {
    stamp: Stamp,
    record: Arc<T>,
}

impl<T: Keyed> RecordCache<T> {
    pub fn new() -> Self {
        Self((0..STAMP_SLOTS).map(|_| Mutex::new(None)).collect())
    }

    /// The record of `key` as it is while the key's stamp is `stamp`, if that is the one kept.
    pub fn get(&self, key: &[u8], stamp: Stamp) -> Option<Arc<T>> {
        let entry = lock(&self.0[stamp.slot()]);
        let cached = entry.as_ref()?;
        (cached.stamp == stamp && cached.record.has_key(key)).then(|| cached.record.clone())
    }

    /// The record of `key` in `tree` as transaction `tx` sees it: the cached one when `tx`
    /// has not written the key and the key's stamp is the entry's (the writer lock being
    /// held, no write can come between), else read and decoded.
    pub fn read_in(
        &self,
        tx: &Tx,
        tree: &Tree,
        key: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, StoreError>,
    ) -> Result<Option<Arc<T>>, StoreError> {
        let cached = tree
            .stamp(key)
            .filter(|stamp| tx.unchanged(tree, key, *stamp))
            .and_then(|stamp| self.get(key, stamp));
        match cached {
            Some(record) => Ok(Some(record)),
            None => tx
                .get(tree, key)?
                .map(|v| decode(&v).map(Arc::new))
                .transpose(),
        }
    }

    /// Keeps `record` as its key's value at `stamp`: a stamp taken before the record was
    /// read, or the one its committed write left ([`super::kv::Db::write_stamped`]).
    pub fn put(&self, stamp: Stamp, record: Arc<T>) {
        let replaced = lock(&self.0[stamp.slot()]).replace(Cached { stamp, record });
        // Freed after the slot's lock is let go.
        drop(replaced);
    }
}

impl Keyed for Session {
    fn has_key(&self, key: &[u8]) -> bool {
        self.id.as_str().as_bytes() == key
    }
}

/// A customer's usage with its key (`keys::customer`).
pub(super) struct CustomerUsage {
    pub customer: Vec<u8>,
    pub usage: Usage,
}

impl Keyed for CustomerUsage {
    fn has_key(&self, key: &[u8]) -> bool {
        self.customer == key
    }
}
