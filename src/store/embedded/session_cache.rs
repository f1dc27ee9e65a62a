//! The sessions last written or read, decoded, each kept with its key's write stamp: a request
//! that finds its session here with the stamp the key has now takes it instead of reading and
//! decoding it again. A code's session is read by each request of its flow right after the
//! previous one wrote it (token/generate, then otp/generate, then otp/validate).
//!
//! One entry per stamp slot ([`Stamp::slot`]): a session and any key that shares its slot
//! replace each other, and a write to either moves the stamp. An entry is only ever taken
//! with the stamp it was kept with, so a write that committed since, a removal, a restore or
//! an import (each moves the stamp) makes it a miss, never a stale answer.

use std::sync::{Arc, Mutex};

use super::kv::{STAMP_SLOTS, Stamp, lock};
use crate::domain::{Session, SessionId};

pub(super) struct SessionCache(Box<[Mutex<Option<Cached>>]>);

struct Cached {
    stamp: Stamp,
    session: Arc<Session>,
}

impl SessionCache {
    pub fn new() -> Self {
        Self((0..STAMP_SLOTS).map(|_| Mutex::new(None)).collect())
    }

    /// Session `id` as it is while its key's stamp is `stamp`, if that is the one kept.
    pub fn get(&self, id: &SessionId, stamp: Stamp) -> Option<Arc<Session>> {
        let entry = lock(&self.0[stamp.slot()]);
        let cached = entry.as_ref()?;
        (cached.stamp == stamp && cached.session.id == *id).then(|| cached.session.clone())
    }

    /// Keeps `session` as its key's value at `stamp`: a stamp taken before the session was
    /// read, or the one its committed write left ([`super::kv::Db::write_stamped`]).
    pub fn put(&self, stamp: Stamp, session: Arc<Session>) {
        let replaced = lock(&self.0[stamp.slot()]).replace(Cached { stamp, session });
        // Freed after the slot's lock is let go.
        drop(replaced);
    }
}
