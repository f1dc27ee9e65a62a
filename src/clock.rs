//! The only place that reads wall time. Everything else takes `now` as a parameter, so tests
//! drive time with a [`Clock::manual`] clock instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;

/// A source of "now": the system clock, or a manual clock that tests move by hand.
#[derive(Clone, Debug)]
pub struct Clock(Source);

#[derive(Clone, Debug)]
enum Source {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that stands still at `start` until [`Clock::advance`] or [`Clock::set`] moves it.
    pub fn manual(start: Timestamp) -> Self {
        Self(Source::Manual(Arc::new(AtomicI64::new(
            start.as_millisecond(),
        ))))
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            #[allow(clippy::disallowed_methods)] // reason: this is the one place allowed to read it
            Source::System => Timestamp::now(),
            Source::Manual(ms) => Timestamp::from_millisecond(ms.load(Ordering::SeqCst))
                .unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }

    /// Milliseconds since the Unix epoch; what records store.
    pub fn now_ms(&self) -> i64 {
        self.now().as_millisecond()
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, by: std::time::Duration) {
        if let Source::Manual(ms) = &self.0 {
            ms.fetch_add(
                i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
                Ordering::SeqCst,
            );
        }
    }

    /// Sets a manual clock; a no-op on the system clock.
    pub fn set(&self, to: Timestamp) {
        if let Source::Manual(ms) = &self.0 {
            ms.store(to.as_millisecond(), Ordering::SeqCst);
        }
    }
}

/// Lets governor's rate limiters run on the same clock as everything else.
impl governor::clock::Clock for Clock {
    type Instant = governor::nanos::Nanos;

    fn now(&self) -> Self::Instant {
        let ms = u64::try_from(self.now_ms()).unwrap_or(0);
        governor::nanos::Nanos::from(ms.saturating_mul(1_000_000))
    }
}
