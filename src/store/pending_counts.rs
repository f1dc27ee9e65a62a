//! The dashboard's counts not yet in the store. Both engines count each event in memory and
//! add the sums into their counters in one write, at least twice a second and before any
//! read of them (`embedded/stats.rs`, `postgres/counts.rs`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::stats::{Counter, hour_of};

/// An hour (since the epoch), a brand and a counter.
pub(super) type CountKey = (u32, String, Counter);

#[derive(Default)]
pub(super) struct PendingCounts(Mutex<HashMap<CountKey, u64>>);

impl PendingCounts {
    /// Adds one to a brand's counter in the hour of `at_ms`.
    pub(super) fn add(&self, at_ms: i64, brand: &str, counter: Counter) {
        *self
            .lock()
            .entry((hour_of(at_ms), brand.to_owned(), counter))
            .or_default() += 1;
    }

    /// Every pending count, leaving none.
    pub(super) fn take(&self) -> HashMap<CountKey, u64> {
        std::mem::take(&mut *self.lock())
    }

    /// Puts counts taken for a write that failed back, added to those counted since.
    pub(super) fn put_back(&self, taken: HashMap<CountKey, u64>) {
        let mut now = self.lock();
        for (key, n) in taken {
            *now.entry(key).or_default() += n;
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CountKey, u64>> {
        // A map of counters stays consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
