//! The outbox: jobs claimed with `FOR UPDATE SKIP LOCKED` (each goes to one node), their due
//! time moved forward by the lease. The claimed job carries that due time: finishing or
//! retrying it is guarded by it, so a node whose lease ran out (and whose job another node
//! claimed since) changes nothing.

use super::PgStore;
use crate::domain::OutboxJob;
use crate::store::{StoreError, records};

impl PgStore {
    /// Claims up to `max` jobs due at `now_ms`, oldest first, for the lease.
    pub async fn claim_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        let lease_until = now_ms + self.lease_ms;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE outbox o SET due_ms = $2
                 FROM (SELECT id FROM outbox WHERE due_ms <= $1 ORDER BY due_ms
                       LIMIT $3 FOR UPDATE SKIP LOCKED) due
                 WHERE o.id = due.id
                 RETURNING o.body",
            )
            .await?;
        let rows = client.query(&stmt, &[&now_ms, &lease_until, &max]).await?;
        let mut jobs = rows
            .iter()
            .map(|row| {
                let mut job = records::decode_job(row.get(0))?;
                job.due_ms = lease_until;
                Ok(job)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Moves a claimed job to its next try; false when the claim was lost.
    pub async fn retry_job(
        &self,
        claimed: &OutboxJob,
        next: &OutboxJob,
    ) -> Result<bool, StoreError> {
        let body = records::encode_job(next)?;
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE outbox SET due_ms = $3, body = $4 WHERE id = $1 AND due_ms = $2",
            )
            .await?;
        let rows = client
            .execute(&stmt, &[&claimed.id, &claimed.due_ms, &next.due_ms, &body])
            .await?;
        Ok(rows == 1)
    }

    pub async fn queued_jobs(&self) -> Result<usize, StoreError> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM outbox", &[])
            .await?
            .get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
