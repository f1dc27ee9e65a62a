//! The dashboard's hourly counters on PostgreSQL, counted in each node's memory and added into
//! the `stats` table in one statement at least twice a second, as the embedded engine does.
//!
//! Every issued, refused, delivered or validated code counts, and the counters of an hour are a
//! handful of rows that every node updates: a statement per event would make every code of a
//! brand, on every node, wait for the previous one's commit on the same row. A node that
//! crashes loses the counts of its last half second at most: never a code, a charge or a limit.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Client, Pool};
use tokio::sync::watch;

use crate::domain::stats::Counter;
use crate::store::StoreError;
use crate::store::pending_counts::PendingCounts;

/// How often a node adds what it counted into the table.
const WRITE_EVERY: Duration = Duration::from_millis(500);

/// Counts not yet in the `stats` table.
#[derive(Default)]
pub(super) struct Counts {
    pending: PendingCounts,
    /// Held while counts taken from `pending` are being written: a reader's write-out waits
    /// for one under way, so that it then reads every count its node added before it asked.
    writing: tokio::sync::Mutex<()>,
}

impl Counts {
    /// Adds one to a brand's counter in the hour of `at_ms`.
    pub(super) fn add(&self, at_ms: i64, brand: &str, counter: Counter) {
        self.pending.add(at_ms, brand, counter);
    }

    /// Adds the pending counts into the table in one statement; they stay pending when that
    /// fails. Every count added before the call is in the table when it returns `Ok`.
    pub(super) async fn write_out(&self, client: &Client) -> Result<(), StoreError> {
        let _writing = self.writing.lock().await;
        let pending = self.pending.take();
        if pending.is_empty() {
            return Ok(());
        }
        let mut hours = Vec::with_capacity(pending.len());
        let mut brands = Vec::with_capacity(pending.len());
        let mut counters = Vec::with_capacity(pending.len());
        let mut counts = Vec::with_capacity(pending.len());
        for ((hour, brand, counter), n) in &pending {
            hours.push(i32::try_from(*hour).unwrap_or(i32::MAX));
            brands.push(brand.as_str());
            counters.push(counter.name());
            counts.push(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        let written = async {
            let upsert = client
                .prepare_cached(
                    "INSERT INTO stats (hour, brand, counter, count)
                     SELECT * FROM UNNEST($1::int4[], $2::text[], $3::text[], $4::int8[])
                     ON CONFLICT (hour, brand, counter)
                     DO UPDATE SET count = stats.count + EXCLUDED.count",
                )
                .await?;
            client
                .execute(&upsert, &[&hours, &brands, &counters, &counts])
                .await?;
            Ok::<_, StoreError>(())
        }
        .await;
        if written.is_err() {
            self.pending.put_back(pending);
        }
        written
    }

    /// Writes the counts out every [`WRITE_EVERY`] until `stop` turns true (the store's close
    /// writes the last ones).
    pub(super) async fn keep_writing(self: Arc<Self>, pool: Pool, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(WRITE_EVERY) => {}
                _ = stop.changed() => return,
            }
            if self.pending.is_empty() {
                continue;
            }
            let written = match pool.get().await {
                Ok(client) => self.write_out(&client).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "adding the dashboard's counts into the database failed (kept for the next try)");
            }
        }
    }
}
