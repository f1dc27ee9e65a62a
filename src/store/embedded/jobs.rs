//! The outbox tree: jobs keyed by due time, claimed by the delivery worker, moved to a later
//! try, finished. One process owns the store, so a claim lives in memory: the set of jobs being
//! sent. A job stays in the tree, due, until its send ends; after a crash the set is empty and
//! the job is claimed again (delivery is at least once).
//!
//! A finished job leaves a tombstone in the tree until compaction drops it, and a queue's
//! tombstones pile up at its front: a scan from the start would step over every job sent since
//! (quadratic work under load). So the store remembers a floor, the due time before which no
//! job is queued: claims scan from it, each one raises it to the first job still there, and
//! each new job lowers it to its own due time.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{EmbeddedStore, StoreError, decode_i64, keys, records};
use crate::domain::OutboxJob;
use crate::store::Finished;

/// The `meta` key of the outbox floor saved at the last sweep.
const OUTBOX_FLOOR: &str = "outbox_floor";

/// Ids of the jobs claimed and not yet finished or retried.
pub(super) type Claims = Arc<Mutex<HashSet<uuid::Uuid>>>;

/// The due time before which no job is queued (see the module docs), and how many jobs
/// lowered it: a claim raises the floor to the first job its scan saw, but a job queued after
/// the scan began is not in the scan, and its due time may be above the floor (so lowering to
/// it changed nothing) and below what the scan saw.
#[derive(Clone, Default)]
pub(super) struct Floor(Arc<FloorState>);

#[derive(Default)]
struct FloorState {
    due_ms: AtomicI64,
    lowered: AtomicU64,
}

/// Where a claim's scan starts: the floor then, and how many jobs had lowered it.
#[derive(Clone, Copy)]
struct ScanStart {
    due_ms: i64,
    lowered: u64,
}

impl Floor {
    /// A job due at `due_ms` was queued (call after its commit).
    pub(super) fn lower(&self, due_ms: i64) {
        self.0.lowered.fetch_add(1, Ordering::SeqCst);
        self.0.due_ms.fetch_min(due_ms, Ordering::SeqCst);
    }

    pub(super) fn get(&self) -> i64 {
        self.0.due_ms.load(Ordering::SeqCst)
    }

    fn set(&self, due_ms: i64) {
        self.0.due_ms.store(due_ms, Ordering::SeqCst);
    }

    /// Call before the scan reads the tree.
    fn scan_start(&self) -> ScanStart {
        let lowered = self.0.lowered.load(Ordering::SeqCst);
        ScanStart {
            due_ms: self.get(),
            lowered,
        }
    }

    /// After a scan from `start` that saw its first job due at `first_ms`: raises the floor
    /// there, unless a job lowered it meanwhile (to below what the scan saw) or was queued
    /// since the scan began (it may be missing from the scan: the floor stays where the scan
    /// began, or lower).
    fn raise(&self, start: ScanStart, first_ms: i64) {
        let to = first_ms.max(start.due_ms);
        let _ =
            self.0
                .due_ms
                .compare_exchange(start.due_ms, to, Ordering::SeqCst, Ordering::SeqCst);
        if self.0.lowered.load(Ordering::SeqCst) != start.lowered {
            self.0.due_ms.fetch_min(start.due_ms, Ordering::SeqCst);
        }
    }
}

/// How many jobs the outbox holds: counted once at open, then kept as jobs are queued (the
/// issuing transaction, an import) and end (`finish_deliveries`: its claim made sure the job was
/// there, and no one else deletes a claimed job), so the depth gauge reads a number instead of
/// walking the queue. A retry moves a job and changes nothing.
#[derive(Clone, Default)]
pub(super) struct Depth(Arc<AtomicUsize>);

impl Depth {
    pub(super) fn queued(&self, n: usize) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    fn ended(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl EmbeddedStore {
    /// Sets the floor to the first queued job, at open. The scan starts an hour before the
    /// floor the last sweep saved (see [`EmbeddedStore::save_outbox_floor`]), not at the
    /// start of the tree, where every sent job's tombstone may still be.
    pub(super) fn find_outbox_floor(&self) -> Result<(), StoreError> {
        const MARGIN_MS: i64 = 3_600_000;
        let saved = self
            .meta
            .get(OUTBOX_FLOOR)?
            .and_then(|v| decode_i64(&v))
            .map_or(0, |floor| floor.saturating_sub(MARGIN_MS));
        let first = self
            .outbox
            .range(keys::outbox(saved, uuid::Uuid::nil())..)
            .next()
            .transpose()?;
        let due = first.map_or(i64::MAX, |(k, _)| keys::outbox_due(&k));
        self.outbox_floor.set(due);
        Ok(())
    }

    /// Saves the floor for the next open, at a sweep: no lower than `now_ms`, since a job
    /// queued later is due no earlier than when it is queued (an hour's margin at open covers
    /// a clock set back).
    pub(super) fn save_outbox_floor(&self, now_ms: i64) -> Result<(), StoreError> {
        let floor = self.outbox_floor.get().min(now_ms);
        self.meta.insert(OUTBOX_FLOOR, floor.to_be_bytes())
    }

    /// Claims up to `max` jobs due at `now_ms`, oldest first, skipping those being sent.
    pub fn claim_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        let start = self.outbox_floor.scan_start();
        let mut out = Vec::new();
        let mut first = None;
        for item in self
            .outbox
            .range(keys::outbox(start.due_ms, uuid::Uuid::nil())..)
        {
            let (k, v) = item?;
            let due = keys::outbox_due(&k);
            first.get_or_insert(due);
            if due > now_ms || out.len() >= max {
                break;
            }
            // Most of the jobs a scan passes are being sent: skipped by their key, undecoded.
            if keys::outbox_id(&k).is_some_and(|id| self.is_claimed(id)) {
                continue;
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
        // Up to the first job still there (claimed or not).
        self.outbox_floor.raise(start, first.unwrap_or(i64::MAX));
        Ok(out)
    }

    /// Moves a claimed job to its next try (`next.due_ms`) and lets go of the claim.
    pub fn retry_job(&self, claimed: &OutboxJob, next: &OutboxJob) -> Result<bool, StoreError> {
        let old = keys::outbox(claimed.due_ms, claimed.id);
        let new = keys::outbox(next.due_ms, next.id);
        let value = records::encode_job(next)?;
        let moved = self.db.write(|tx| {
            if tx.get(&self.outbox, old)?.is_none() {
                return Ok::<_, StoreError>(false);
            }
            tx.remove(&self.outbox, old);
            tx.insert(&self.outbox, new, value);
            Ok(true)
        });
        self.outbox_floor.lower(next.due_ms);
        self.release(claimed.id);
        moved
    }

    /// Ends claimed jobs in one transaction: each deleted, its record's delivery brought to
    /// its end (see `delivery_step`); then lets go of their claims. An unreadable record is
    /// left as it is (its job still ends) and reported once the others are counted.
    pub fn finish_deliveries(&self, done: &[Finished], now_ms: i64) -> Result<(), StoreError> {
        let job_keys: Vec<_> = done
            .iter()
            .map(|f| keys::outbox(f.job.due_ms, f.job.id))
            .collect();
        let steps = self.db.write(|tx| {
            let mut found = Vec::with_capacity(done.len());
            for (f, key) in done.iter().zip(&job_keys) {
                tx.remove(&self.outbox, key.as_slice());
                let (job, attempt) = (&f.job, f.attempt.as_ref());
                found.push(self.delivery_step(tx, job.log_id, f.status, job.channel, attempt)?);
            }
            Ok::<_, StoreError>(found)
        });
        for f in done {
            self.release(f.job.id);
        }
        let mut result = Ok(());
        for (f, found) in done.iter().zip(steps?) {
            self.outbox_depth.ended();
            let counted = self.count_delivery(found, f.status, f.job.channel, now_ms);
            result = result.and(counted);
        }
        result
    }

    /// How many jobs are queued, as kept in memory (see [`Depth`]): the depth gauge.
    pub fn outbox_len(&self) -> usize {
        self.outbox_depth.get()
    }

    /// Counts the queued jobs, at open.
    pub(super) fn count_outbox(&self) -> Result<(), StoreError> {
        self.outbox_depth.queued(self.scan_outbox()?);
        Ok(())
    }

    /// How many jobs are queued, counted in the tree (from the floor: the tombstones before it
    /// are not read).
    pub(super) fn scan_outbox(&self) -> Result<usize, StoreError> {
        let floor = self.outbox_floor.get();
        let mut n = 0;
        for item in self.outbox.range(keys::outbox(floor, uuid::Uuid::nil())..) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    fn claim(&self, id: uuid::Uuid) -> bool {
        self.claimed.lock().is_ok_and(|mut c| c.insert(id))
    }

    fn is_claimed(&self, id: uuid::Uuid) -> bool {
        self.claimed.lock().is_ok_and(|c| c.contains(&id))
    }

    fn release(&self, id: uuid::Uuid) {
        if let Ok(mut c) = self.claimed.lock() {
            c.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_queued_during_a_scan_keeps_the_floor_at_or_below_it() {
        // The outbox held one job, due at 100, sent and deleted before a claim's scan; a job
        // due at 200 is queued while the scan runs (after its snapshot), so the scan finds
        // nothing at all.
        let floor = Floor::default();
        floor.set(100);
        let start = floor.scan_start();
        floor.lower(200);
        floor.raise(start, i64::MAX);
        assert!(
            floor.get() <= 200,
            "floor {} is above the queued job",
            floor.get()
        );
    }

    #[test]
    fn a_scan_with_no_job_queued_meanwhile_raises_the_floor_to_what_it_saw() {
        let floor = Floor::default();
        floor.set(100);
        let start = floor.scan_start();
        floor.raise(start, 300);
        assert_eq!(floor.get(), 300);
        let start = floor.scan_start();
        floor.raise(start, i64::MAX);
        assert_eq!(
            floor.get(),
            i64::MAX,
            "an empty outbox: nothing to scan next time"
        );
    }

    #[test]
    fn a_job_lowering_the_floor_during_a_scan_is_not_raised_past() {
        let floor = Floor::default();
        floor.set(100);
        let start = floor.scan_start();
        floor.lower(50);
        floor.raise(start, 300);
        assert_eq!(floor.get(), 50);
    }
}
