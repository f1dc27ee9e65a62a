//! The issuance log (paged with the selection pushed into SQL), the dashboard's hourly
//! counters, and the audit trail.

use std::collections::HashMap;

use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::issuing::{Failure, insert_log};
use super::{PgStore, TRIES, back_off, retryable};
use crate::domain::audit::AuditEntry;
use crate::domain::stats::{Counter, delivery_counter, outcome_counter};
use crate::domain::{ChannelKind, DeliveryAttempt, DeliveryStatus, IssuanceRecord};
use crate::store::{AuditSelection, Finished, LogSelection, StatRow, StoreError, records};

impl PgStore {
    /// Adds one to a brand's counter in the hour of `at_ms` (in memory until the next
    /// write-out, see `counts.rs`).
    fn count(&self, at_ms: i64, brand: &str, counter: Counter) {
        self.counts.add(at_ms, brand, counter);
    }

    /// The count an issuance record's outcome adds (after the issuing commit, as the embedded
    /// engine does: a crash in between loses one count on the dashboard, never a code).
    pub(super) fn count_outcome(&self, r: &IssuanceRecord) {
        self.count(r.time_ms, &r.brand, outcome_counter(r));
    }

    pub async fn record_refusal(&self, r: &IssuanceRecord) -> Result<(), StoreError> {
        let body = records::encode_log(r)?;
        let client = self.pool.get().await?;
        insert_log(&client, r, &body).await?;
        self.count_outcome(r);
        Ok(())
    }

    /// Changes one log record under its row lock; returns it as it was (None: no record).
    async fn update_log(
        &self,
        id: uuid::Uuid,
        change: impl FnOnce(&mut IssuanceRecord) + Send,
    ) -> Result<Option<IssuanceRecord>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let select = tx
            .prepare_cached("SELECT body FROM issuance_log WHERE id = $1 FOR UPDATE")
            .await?;
        let row = tx.query_opt(&select, &[&id]).await?;
        let before = match row.map(|row| records::decode_log(row.get(0))) {
            Some(Ok(r)) => r,
            // No record, or one that cannot be read: the job's deletion still goes in.
            gone_or_unreadable => {
                tx.commit().await?;
                return gone_or_unreadable.transpose();
            }
        };
        let mut after = before.clone();
        change(&mut after);
        let update = tx
            .prepare_cached(
                "UPDATE issuance_log SET channel = $2, delivery = $3, body = $4 WHERE id = $1",
            )
            .await?;
        tx.execute(
            &update,
            &[
                &id,
                &after.channel.map(|c| c.as_str()),
                &after.delivery.as_str(),
                &records::encode_log(&after)?,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    /// Ends claimed jobs in one transaction: each deleted, its record's delivery brought to its
    /// end; then each status that ends a delivery counts once. The records are locked in id
    /// order, so finishers of several nodes cannot deadlock; the whole step is tried again on a
    /// serialization failure or a deadlock. A record gone (swept) leaves its job ended; an
    /// unreadable one is left as it is (its job still ends) and reported once the others are
    /// counted.
    pub async fn finish_deliveries(
        &self,
        done: &[Finished],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        let mut tries = 0;
        let mut before = loop {
            tries += 1;
            match self.end_jobs(done).await {
                Ok(before) => break before,
                Err(Failure::Db(e)) if retryable(&e) && tries < TRIES => back_off(tries).await,
                Err(e) => return Err(e.into()),
            }
        };
        let mut result = Ok(());
        for f in done {
            // Taken out: a record named twice counts once.
            match before.remove(&f.job.log_id) {
                Some(Ok(r)) => {
                    if !r.delivery.is_final()
                        && let Some(counter) = delivery_counter(f.status, f.job.channel)
                    {
                        self.count(now_ms, &r.brand, counter);
                    }
                }
                Some(Err(e)) => result = result.and(Err(e)),
                None => {}
            }
        }
        result
    }

    /// [`Self::finish_deliveries`]' transaction; returns each record as it was (or why it could
    /// not be read), by id.
    async fn end_jobs(
        &self,
        done: &[Finished],
    ) -> Result<HashMap<uuid::Uuid, Result<IssuanceRecord, StoreError>>, Failure> {
        let mut client = self.pool.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let (jobs, dues): (Vec<_>, Vec<_>) = done.iter().map(|f| (f.job.id, f.job.due_ms)).unzip();
        let delete = tx
            .prepare_cached(
                "DELETE FROM outbox o USING UNNEST($1::uuid[], $2::int8[]) AS d(id, due_ms)
                 WHERE o.id = d.id AND o.due_ms = d.due_ms",
            )
            .await?;
        tx.execute(&delete, &[&jobs, &dues]).await?;
        let ids: Vec<_> = done.iter().map(|f| f.job.log_id).collect();
        let select = tx
            .prepare_cached(
                "SELECT id, body FROM issuance_log WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            )
            .await?;
        let before: HashMap<uuid::Uuid, _> = tx
            .query(&select, &[&ids])
            .await?
            .iter()
            .map(|row| (row.get(0), records::decode_log(row.get(1))))
            .collect();
        let mut after: HashMap<uuid::Uuid, IssuanceRecord> = HashMap::new();
        for f in done {
            let id = f.job.log_id;
            let Some(Ok(r)) = before.get(&id) else {
                continue;
            };
            let r = after.entry(id).or_insert_with(|| r.clone());
            r.delivery = f.status;
            r.channel = Some(f.job.channel);
            if let Some(a) = &f.attempt {
                r.attempts.push(a.clone());
            }
        }
        let mut ids = Vec::with_capacity(after.len());
        let mut channels = Vec::with_capacity(after.len());
        let mut statuses = Vec::with_capacity(after.len());
        let mut bodies = Vec::with_capacity(after.len());
        for (id, r) in &after {
            ids.push(*id);
            channels.push(r.channel.map(ChannelKind::as_str));
            statuses.push(r.delivery.as_str());
            bodies.push(records::encode_log(r)?);
        }
        let update = tx
            .prepare_cached(
                "UPDATE issuance_log l SET channel = u.channel, delivery = u.delivery, body = u.body
                 FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bytea[])
                     AS u(id, channel, delivery, body)
                 WHERE l.id = u.id",
            )
            .await?;
        tx.execute(&update, &[&ids, &channels, &statuses, &bodies])
            .await?;
        tx.commit().await?;
        Ok(before)
    }

    /// A delivery step that does not end its job (a retry): the record's status, channel and
    /// attempt; a status that ends the delivery counts once, at `now_ms`.
    pub async fn record_delivery(
        &self,
        id: uuid::Uuid,
        status: DeliveryStatus,
        channel: ChannelKind,
        attempt: Option<&DeliveryAttempt>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let attempt = attempt.cloned();
        let before = self
            .update_log(id, move |r| {
                r.delivery = status;
                r.channel = Some(channel);
                if let Some(a) = attempt {
                    r.attempts.push(a);
                }
            })
            .await?;
        if let Some(before) = before
            && !before.delivery.is_final()
            && let Some(counter) = delivery_counter(status, channel)
        {
            self.count(now_ms, &before.brand, counter);
        }
        Ok(())
    }

    pub async fn record_validated(&self, id: uuid::Uuid, now_ms: i64) -> Result<(), StoreError> {
        let before = self.update_log(id, |r| r.validated = true).await?;
        if let Some(before) = before
            && !before.validated
        {
            self.count(now_ms, &before.brand, Counter::Validated);
        }
        Ok(())
    }

    pub async fn log_record(&self, id: uuid::Uuid) -> Result<Option<IssuanceRecord>, StoreError> {
        let client = self.pool.get().await?;
        client
            .query_opt("SELECT body FROM issuance_log WHERE id = $1", &[&id])
            .await?
            .map(|row| records::decode_log(row.get(0)))
            .transpose()
    }

    /// Up to `limit` records that `sel` selects, newest first: every filter is a `WHERE`
    /// clause over an indexed column, the cursor a key range.
    pub async fn log_page(
        &self,
        sel: &LogSelection,
        limit: usize,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        let brand = sel.brand.as_ref().map(|b| b.as_str().to_owned());
        let customer = sel.destination.as_ref().map(|d| d.key());
        let outcome = sel.outcome.map(i32::from);
        let channel = sel.channel.map(|c| c.as_str());
        let delivery = sel.delivery.map(|d| d.as_str());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut sql = String::from("SELECT body FROM issuance_log WHERE true");
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        macro_rules! and {
            ($clause:literal, $value:expr) => {
                if let Some(v) = $value {
                    params.push(v);
                    sql.push_str(&format!($clause, params.len()));
                }
            };
        }
        and!(" AND brand = ${}", brand.as_ref());
        and!(" AND customer = ${}", customer.as_ref());
        and!(" AND outcome = ${}", outcome.as_ref());
        and!(" AND channel = ${}", channel.as_ref());
        and!(" AND delivery = ${}", delivery.as_ref());
        and!(" AND test = ${}", sel.test.as_ref());
        and!(" AND time_ms >= ${}", sel.since_ms.as_ref());
        and!(" AND time_ms <= ${}", sel.until_ms.as_ref());
        and!(" AND id < ${}", sel.before.as_ref());
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", params.len()));
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&sql).await?;
        client
            .query(&stmt, &params)
            .await?
            .iter()
            .map(|row| records::decode_log(row.get(0)))
            .collect()
    }

    /// Every counter of the hours `from..=to` (hours since the epoch).
    pub async fn stats(&self, from_hour: u32, to_hour: u32) -> Result<Vec<StatRow>, StoreError> {
        let from = i32::try_from(from_hour).unwrap_or(i32::MAX);
        let to = i32::try_from(to_hour).unwrap_or(i32::MAX);
        let client = self.pool.get().await?;
        // What this node counted is in the table before it is read.
        self.counts.write_out(&client).await?;
        let rows = client
            .query(
                "SELECT hour, brand, counter, count FROM stats WHERE hour BETWEEN $1 AND $2
                 ORDER BY hour, brand, counter",
                &[&from, &to],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(StatRow {
                    hour: u32::try_from(r.get::<_, i32>(0)).ok()?,
                    brand: r.get(1),
                    counter: Counter::parse(r.get(2))?,
                    count: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
                })
            })
            .collect())
    }

    /// Appends an entry (its `id` is assigned here).
    pub async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO audit (at_ms, actor, action, brand, target, before, after)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &e.at_ms, &e.actor, &e.action, &e.brand, &e.target, &e.before, &e.after,
                ],
            )
            .await?;
        Ok(())
    }

    /// Newest first, older than `sel.before` (an id from an earlier page), at most `limit`.
    pub async fn audit_page(
        &self,
        sel: &AuditSelection,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let before = sel.before.as_deref().and_then(|b| b.parse::<i64>().ok());
        let brand = sel.brand.as_ref().map(|b| b.as_str().to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        let page = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit
             WHERE ($1::bigint IS NULL OR seq < $1)
               AND ($2::text IS NULL OR actor = $2)
               AND ($3::text IS NULL OR brand = $3)
             ORDER BY seq DESC LIMIT $4"
        );
        let rows = client
            .query(&page, &[&before, &sel.actor, &brand, &limit])
            .await?;
        Ok(rows.iter().map(audit_entry_of).collect())
    }
}

/// An audit row, selected as `AUDIT_COLUMNS`.
pub(super) fn audit_entry_of(r: &tokio_postgres::Row) -> AuditEntry {
    AuditEntry {
        id: r.get::<_, i64>(0).to_string(),
        at_ms: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        brand: r.get(4),
        target: r.get(5),
        before: r.get::<_, Value>(6),
        after: r.get::<_, Value>(7),
    }
}

pub(super) const AUDIT_COLUMNS: &str = "seq, at_ms, actor, action, brand, target, before, after";
