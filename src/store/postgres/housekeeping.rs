//! Sweeping what has expired, and every table's rows as stored (leak tests, sizes).

use tokio_postgres::types::ToSql;

use super::PgStore;
use crate::domain::stats::hour_of;
use crate::store::{RawRecords, STATS_RETENTION_DAYS, StoreError};

/// The tables, in the order `raw_records` lists them, with their binary column (if any).
const TABLES: &[(&str, Option<&str>)] = &[
    ("brands", Some("body")),
    ("sessions", Some("body")),
    ("usage", Some("body")),
    ("limit_overrides", None),
    ("outbox", Some("body")),
    ("issuance_log", Some("body")),
    ("nonces", Some("hash")),
    ("stats", None),
    ("audit", None),
    ("operators", None),
    ("console_sessions", Some("digest")),
    ("settings", None),
];

/// The most rows one sweep statement deletes. A sweep with much to do (a retention period
/// shortened on a large log, the first sweep after a long stop) runs as many short
/// transactions instead of one that holds its row locks and its WAL until the end.
const SWEEP_BATCH: i64 = 5_000;

impl PgStore {
    /// Deletes expired sessions, nonces and usage, log records older than
    /// `log_retention_ms`, and old dashboard counters. Returns how many rows went.
    pub async fn sweep(&self, now_ms: i64, log_retention_ms: i64) -> Result<usize, StoreError> {
        let cutoff = uuid::Builder::from_unix_timestamp_millis(
            u64::try_from(now_ms - log_retention_ms).unwrap_or(0),
            &[0; 10],
        )
        .into_uuid();
        let stats_cutoff = i32::try_from(hour_of(
            now_ms - i64::from(STATS_RETENTION_DAYS) * 86_400_000,
        ))
        .unwrap_or(0);
        let mut removed = 0;
        for table in ["sessions", "nonces", "usage"] {
            removed += self
                .delete_batched(table, "expires_ms <= $1", &now_ms)
                .await?;
        }
        removed += self
            .delete_batched("issuance_log", "id < $1", &cutoff)
            .await?;
        removed += self
            .delete_batched("stats", "hour < $1", &stats_cutoff)
            .await?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }

    /// Deletes the rows of `table` that match `condition` (on `$1`, `bound`), at most
    /// [`SWEEP_BATCH`] a statement, until a statement finds fewer. Rows another transaction
    /// holds are skipped, not waited for: a request that has a session locked is never held
    /// up by the sweep, and nodes sweeping at the same time take different rows. A skipped
    /// row goes at the next sweep.
    async fn delete_batched(
        &self,
        table: &str,
        condition: &str,
        bound: &(dyn ToSql + Sync),
    ) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                     SELECT ctid FROM {table} WHERE {condition}
                     LIMIT $2 FOR UPDATE SKIP LOCKED))"
            ))
            .await?;
        let mut removed = 0;
        loop {
            let n = client.execute(&statement, &[bound, &SWEEP_BATCH]).await?;
            removed += n;
            if n < SWEEP_BATCH.unsigned_abs() {
                return Ok(removed);
            }
        }
    }

    /// Every row of every table, each as (the row as JSON text, its binary column's bytes as
    /// stored): what a leak test searches.
    pub async fn raw_records(&self) -> Result<Vec<(String, RawRecords)>, StoreError> {
        let client = self.pool.get().await?;
        self.counts.write_out(&client).await?;
        let mut out = Vec::new();
        for (table, binary) in TABLES {
            let binary = binary.map_or_else(|| "NULL::bytea".to_owned(), |c| format!("t.{c}"));
            let rows = client
                .query(
                    &format!("SELECT row_to_json(t)::text, {binary} FROM {table} t"),
                    &[],
                )
                .await?;
            let entries = rows
                .iter()
                .map(|r| {
                    let bytes: Option<Vec<u8>> = r.get(1);
                    (
                        r.get::<_, String>(0).into_bytes(),
                        bytes.unwrap_or_default(),
                    )
                })
                .collect();
            out.push(((*table).to_owned(), entries));
        }
        Ok(out)
    }
}
