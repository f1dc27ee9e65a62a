//! The outbox tree: due jobs in time order, rescheduling, finishing.

use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Store, StoreError, keys, records};
use crate::domain::OutboxJob;

impl Store {
    /// Jobs due at `now_ms`, oldest first, at most `max`.
    pub fn due_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        let mut out = Vec::new();
        for item in self.outbox.iter() {
            let (k, v) = item?;
            if keys::outbox_due(&k) > now_ms || out.len() >= max {
                break;
            }
            out.push(records::decode_job(&v)?);
        }
        Ok(out)
    }

    /// The time of the earliest job, to sleep until it.
    pub fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.outbox.first()?.map(|(k, _)| keys::outbox_due(&k)))
    }

    /// Moves a job to its new `due_ms` (a lease while sending, or a retry), atomically.
    pub fn reschedule_job(&self, old_due_ms: i64, job: &OutboxJob) -> Result<(), StoreError> {
        let old = keys::outbox(old_due_ms, job.id);
        let new = keys::outbox(job.due_ms, job.id);
        let value = records::encode_job(job)?;
        self.outbox
            .transaction(|t| {
                t.remove(&old[..])?;
                t.insert(&new[..], value.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => StoreError::Sled(e),
                TransactionError::Abort(()) => StoreError::Encode("reschedule aborted".into()),
            })?;
        Ok(())
    }

    /// Whether the job is still queued under its key (not finished, not moved).
    pub fn job_is_queued(&self, job: &OutboxJob) -> Result<bool, StoreError> {
        Ok(self.outbox.contains_key(keys::outbox(job.due_ms, job.id))?)
    }

    /// Deletes a finished job (with the sealed code it carried).
    pub fn finish_job(&self, job: &OutboxJob) -> Result<(), StoreError> {
        self.outbox.remove(keys::outbox(job.due_ms, job.id))?;
        Ok(())
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
}
