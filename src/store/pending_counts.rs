//! The dashboard's counts not yet in the store. Both engines count each event in memory and
//! add the sums into their counters in one write, at least twice a second and before any
//! read of them (`embedded/stats.rs`, `postgres/counts.rs`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::stats::{Counter, hour_of};

/// An hour (since the epoch), a brand and a counter.
pub(super) type CountKey = (u32, String, Counter);

/// By brand first, so that counting an event looks its brand up by name and allocates only
/// for a brand's first event since the last write.
type ByBrand = HashMap<String, HashMap<(u32, Counter), u64>>;

#[derive(Default)]
pub(super) struct PendingCounts(Mutex<ByBrand>);

impl PendingCounts {
    /// Adds one to a brand's counter in the hour of `at_ms`.
    pub(super) fn add(&self, at_ms: i64, brand: &str, counter: Counter) {
        add_to(&mut self.lock(), (hour_of(at_ms), brand, counter), 1);
    }

    /// Every pending count, leaving none.
    pub(super) fn take(&self) -> HashMap<CountKey, u64> {
        let taken = std::mem::take(&mut *self.lock());
        taken
            .into_iter()
            .flat_map(|(brand, counts)| {
                counts
                    .into_iter()
                    .map(move |((hour, counter), n)| ((hour, brand.clone(), counter), n))
            })
            .collect()
    }

    /// Puts counts taken for a write that failed back, added to those counted since.
    pub(super) fn put_back(&self, taken: HashMap<CountKey, u64>) {
        let mut now = self.lock();
        for ((hour, brand, counter), n) in taken {
            add_to(&mut now, (hour, &brand, counter), n);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, ByBrand> {
        // A map of counters stays consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn add_to(pending: &mut ByBrand, (hour, brand, counter): (u32, &str, Counter), n: u64) {
    match pending.get_mut(brand) {
        Some(counts) => *counts.entry((hour, counter)).or_default() += n,
        None => {
            pending.insert(brand.to_owned(), HashMap::from([((hour, counter), n)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn counts_add_up_by_hour_brand_and_counter_and_survive_a_failed_write() {
        let pending = PendingCounts::default();
        assert!(pending.is_empty());
        for (at_ms, brand, counter) in [
            (HOUR, "DEMO", Counter::Validated),
            (HOUR + 1, "DEMO", Counter::Validated),
            (2 * HOUR, "DEMO", Counter::Validated),
            (HOUR, "SHOP", Counter::Validated),
            (HOUR, "DEMO", Counter::Refused(1534)),
        ] {
            pending.add(at_ms, brand, counter);
        }
        let taken = pending.take();
        assert!(pending.is_empty());
        let expected: HashMap<CountKey, u64> = HashMap::from([
            ((1, "DEMO".to_owned(), Counter::Validated), 2),
            ((2, "DEMO".to_owned(), Counter::Validated), 1),
            ((1, "SHOP".to_owned(), Counter::Validated), 1),
            ((1, "DEMO".to_owned(), Counter::Refused(1534)), 1),
        ]);
        assert_eq!(taken, expected);

        // A write that failed puts its counts back, added to those counted meanwhile.
        pending.add(HOUR, "SHOP", Counter::Validated);
        pending.put_back(taken);
        let again = pending.take();
        assert_eq!(again[&(1, "SHOP".to_owned(), Counter::Validated)], 2);
        assert_eq!(again[&(1, "DEMO".to_owned(), Counter::Validated)], 2);
        assert_eq!(again.len(), 4);
    }
}
