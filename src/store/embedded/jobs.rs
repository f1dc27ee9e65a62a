//! The outbox tree: jobs keyed by due time, claimed by the delivery worker, moved to a later
//! try, finished. One process owns the store, so a claim lives in memory: the set of jobs being
//! sent. A job stays in the tree, due, until its send ends; after a crash the set is empty and
//! the job is claimed again (delivery is at least once).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{EmbeddedStore, StoreError, keys, records};
use crate::domain::OutboxJob;

/// Ids of the jobs claimed and not yet finished or retried.
pub(super) type Claims = Arc<Mutex<HashSet<uuid::Uuid>>>;

impl EmbeddedStore {
    /// Claims up to `max` jobs due at `now_ms`, oldest first, skipping those being sent.
    pub fn claim_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        let mut out = Vec::new();
        for item in self.outbox.iter() {
            let (k, v) = item?;
            if keys::outbox_due(&k) > now_ms || out.len() >= max {
                break;
            }
            let job = records::decode_job(&v)?;
            if !self.claim(job.id) {
                continue;
            }
            // A send that ended between the read above and the claim has removed or moved the
            // job (before letting go of its claim): only a job still under the same key is
            // handed out.
            if self.outbox.contains_key(&k)? {
                out.push(job);
            } else {
                self.release(job.id);
            }
        }
        Ok(out)
    }

    /// Moves a claimed job to its next try (`next.due_ms`) and lets go of the claim.
    pub fn retry_job(&self, claimed: &OutboxJob, next: &OutboxJob) -> Result<bool, StoreError> {
        let old = keys::outbox(claimed.due_ms, claimed.id);
        let new = keys::outbox(next.due_ms, next.id);
        let value = records::encode_job(next)?;
        let moved = self
            .outbox
            .transaction(|t| {
                if t.remove(&old[..])?.is_none() {
                    return Ok(false);
                }
                t.insert(&new[..], value.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(true)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => StoreError::from(e),
                TransactionError::Abort(()) => StoreError::Encode("retry aborted".into()),
            })?;
        self.release(claimed.id);
        Ok(moved)
    }

    /// Deletes a claimed job that is done (with the sealed code it carried).
    pub fn finish_job(&self, claimed: &OutboxJob) -> Result<(), StoreError> {
        let removed = self.outbox.remove(keys::outbox(claimed.due_ms, claimed.id));
        self.release(claimed.id);
        removed?;
        Ok(())
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    fn claim(&self, id: uuid::Uuid) -> bool {
        self.claimed.lock().is_ok_and(|mut c| c.insert(id))
    }

    fn release(&self, id: uuid::Uuid) {
        if let Ok(mut c) = self.claimed.lock() {
            c.remove(&id);
        }
    }
}
