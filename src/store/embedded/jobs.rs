//! The outbox tree: jobs keyed by due time, claimed by the delivery worker, moved to a later
//! try, finished. One process owns the store, so a claim lives in memory: the set of jobs being
//! sent. A job stays in the tree, due, until its send ends: after a crash the set is empty and
//! the job is claimed again (delivery is at least once).
//!
//! A new job does not wait for a scan: the issuing transaction claims it as it commits and
//! hands it to the worker in memory ([`Handoff`], bounded). The tree is scanned only for jobs
//! that went into it unclaimed — moved to a later try, queued while the hand-off was full,
//! imported, or there at open — and only once the earliest of them is due ([`Unclaimed`]).
//! Once the hand-off is full, new jobs go to the tree until a scan has taken every due job
//! there: the hand-off only holds jobs older than those a scan looks for, so a scan never
//! steps over thousands of them, and jobs go out in the order they came.
//!
//! A finished job leaves a tombstone in the tree until compaction drops it, and a queue's
//! tombstones pile up at its front: a scan from the start would step over every job sent since
//! (quadratic work under load). So the store remembers a floor, the due time before which no
//! job is queued but those handed off: scans start from it, each one raises it to the first
//! job still there, and each job that goes in unclaimed lowers it to its own due time.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{EmbeddedStore, StoreError, decode_i64, keys, records};
use crate::domain::OutboxJob;
use crate::store::Finished;

/// The `meta` key of the outbox floor saved at the last sweep.
const OUTBOX_FLOOR: &str = "outbox_floor";

/// The jobs claimed and not yet finished or retried, by id, with their due times (a job handed
/// off may be below the floor: see [`EmbeddedStore::outbox_low`]).
pub(super) type Claims = Arc<Mutex<HashMap<uuid::Uuid, i64>>>;

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

/// New jobs, claimed as they were committed, on their way to the worker (see the module docs).
#[derive(Clone, Default)]
pub(super) struct Handoff(Arc<Mutex<HandoffQueue>>);

#[derive(Default)]
struct HandoffQueue {
    /// Oldest first.
    jobs: VecDeque<OutboxJob>,
    /// A job found the queue full: new jobs go to the tree until a scan has taken every due
    /// job there.
    spilled: bool,
}

/// The most jobs the hand-off holds; past it a new job waits in the tree for a scan.
const HANDOFF_MAX: usize = 4096;

/// The earliest due time of a job that went into the tree unclaimed since the last scan began
/// (`i64::MAX`: none): until then a claim need not scan.
#[derive(Clone)]
pub(super) struct Unclaimed(Arc<AtomicI64>);

impl Default for Unclaimed {
    fn default() -> Self {
        Self(Arc::new(AtomicI64::new(i64::MAX)))
    }
}

impl Unclaimed {
    /// A job due at `due_ms` is in the tree unclaimed (see [`EmbeddedStore::unclaimed_job`]):
    /// a scan that starts after this sees it unclaimed.
    fn lower(&self, due_ms: i64) {
        self.0.fetch_min(due_ms, Ordering::SeqCst);
    }

    /// Whether a scan is due at `now_ms`; when it is, forgets the due time, which the scan
    /// starting now (after this call) covers, or puts back what it leaves.
    fn take_due(&self, now_ms: i64) -> bool {
        if self.0.load(Ordering::SeqCst) > now_ms {
            return false;
        }
        self.0.store(i64::MAX, Ordering::SeqCst);
        true
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
        self.unclaimed.lower(due);
        Ok(())
    }

    /// Saves the floor for the next open, at a sweep: no lower than `now_ms`, since a job
    /// queued later is due no earlier than when it is queued (an hour's margin at open covers
    /// a clock set back).
    pub(super) fn save_outbox_floor(&self, now_ms: i64) -> Result<(), StoreError> {
        let floor = self.outbox_low().min(now_ms);
        self.meta.insert(OUTBOX_FLOOR, floor.to_be_bytes())
    }

    /// After the commit of a new job: it is counted and goes to the worker in memory, claimed
    /// from now on, unless the hand-off is full or spilled over (then it lowers the floor, and
    /// a scan finds it).
    pub(super) fn job_queued(&self, job: &OutboxJob) {
        self.outbox_depth.queued(1);
        if !self.hand_off(job) {
            self.unclaimed_job(job.due_ms);
        }
    }

    /// A job due at `due_ms` is in the tree unclaimed (call after its commit, and after letting
    /// go of any claim on it): the floor is at or below it and a scan is due when it is.
    pub(super) fn unclaimed_job(&self, due_ms: i64) {
        self.outbox_floor.lower(due_ms);
        self.unclaimed.lower(due_ms);
    }

    /// `false` when the job is for a scan to find (see [`HandoffQueue::spilled`]).
    fn hand_off(&self, job: &OutboxJob) -> bool {
        // Copied before the lock, which the other request threads and the worker wait on.
        let copy = job.clone();
        let Ok(mut queue) = self.handoff.0.lock() else {
            return false;
        };
        if queue.spilled || queue.jobs.len() >= HANDOFF_MAX {
            queue.spilled = true;
            return false;
        }
        // A scan running meanwhile may have claimed it first: then it is that scan's.
        if self.claim(job.id, job.due_ms) {
            queue.jobs.push_back(copy);
        }
        true
    }

    /// Claims up to `max` jobs due at `now_ms`, oldest first: new ones from the hand-off, then
    /// those a scan of the tree finds (only when one went in unclaimed, see the module docs).
    pub fn claim_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        let mut out = Vec::new();
        if let Ok(mut queue) = self.handoff.0.lock() {
            while out.len() < max && queue.jobs.front().is_some_and(|j| j.due_ms <= now_ms) {
                out.extend(queue.jobs.pop_front());
            }
        }
        if out.len() < max && self.unclaimed.take_due(now_ms) {
            match self.scan_jobs(now_ms, max, &mut out) {
                Ok(true) => {
                    if let Ok(mut queue) = self.handoff.0.lock() {
                        queue.spilled = false;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    // None is handed out: each is unclaimed again, and the next claim scans.
                    self.unclaimed.lower(i64::MIN);
                    for job in &out {
                        self.release(job.id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// Claims due jobs from the tree into `out` (up to `max`), skipping those being sent;
    /// `true` when it took every due job it found unclaimed.
    fn scan_jobs(
        &self,
        now_ms: i64,
        max: usize,
        out: &mut Vec<OutboxJob>,
    ) -> Result<bool, StoreError> {
        let start = self.outbox_floor.scan_start();
        let mut first = None;
        let mut all = true;
        for item in self
            .outbox
            .range(keys::outbox(start.due_ms, uuid::Uuid::nil())..)
        {
            let (k, v) = item?;
            let due = keys::outbox_due(&k);
            first.get_or_insert(due);
            if due > now_ms || out.len() >= max {
                // The rest is for a later scan (this job may be claimed: a scan too many).
                self.unclaimed.lower(due);
                all = due > now_ms;
                break;
            }
            // Most of the jobs a scan passes are being sent: skipped by their key, undecoded.
            if keys::outbox_id(&k).is_some_and(|id| self.is_claimed(id)) {
                continue;
            }
            let job = records::decode_job(&v)?;
            if !self.claim(job.id, due) {
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
        Ok(all)
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
        self.release(claimed.id);
        self.unclaimed_job(next.due_ms);
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

    /// How many jobs are queued, counted in the tree (from the floor or a job handed off below
    /// it: the tombstones before are not read).
    pub(super) fn scan_outbox(&self) -> Result<usize, StoreError> {
        let floor = self.outbox_low();
        let mut n = 0;
        for item in self.outbox.range(keys::outbox(floor, uuid::Uuid::nil())..) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    fn claim(&self, id: uuid::Uuid, due_ms: i64) -> bool {
        let Ok(mut claimed) = self.claimed.lock() else {
            return false;
        };
        match claimed.entry(id) {
            Entry::Occupied(_) => false,
            Entry::Vacant(entry) => {
                entry.insert(due_ms);
                true
            }
        }
    }

    fn is_claimed(&self, id: uuid::Uuid) -> bool {
        self.claimed.lock().is_ok_and(|c| c.contains_key(&id))
    }

    /// The due time before which no job is queued: the floor, or a claimed job below it.
    fn outbox_low(&self) -> i64 {
        let claimed = self
            .claimed
            .lock()
            .ok()
            .and_then(|c| c.values().copied().min());
        claimed.unwrap_or(i64::MAX).min(self.outbox_floor.get())
    }

    fn release(&self, id: uuid::Uuid) {
        if let Ok(mut c) = self.claimed.lock() {
            c.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{NOW, issue_on, open, session};
    use super::*;
    use crate::domain::DeliveryStatus;
    use crate::store::ReadSession;

    /// Issues one code whose delivery job is due at `NOW`, as otp/generate does.
    fn issue(store: &EmbeddedStore) -> OutboxJob {
        issue_at(store, NOW)
    }

    fn issue_at(store: &EmbeddedStore, due_ms: i64) -> OutboxJob {
        issue_on(store, &ReadSession::unstamped(session()), due_ms).0
    }

    fn ids(jobs: &[OutboxJob]) -> Vec<uuid::Uuid> {
        jobs.iter().map(|j| j.id).collect()
    }

    fn sent(job: OutboxJob) -> Finished {
        Finished {
            job,
            status: DeliveryStatus::Sent,
            attempt: None,
        }
    }

    #[tokio::test]
    async fn a_new_job_is_handed_out_once_and_a_retried_one_when_it_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let job = issue(&store);
        assert_eq!(ids(&store.claim_jobs(NOW, 10).unwrap()), [job.id]);
        assert!(
            store.claim_jobs(NOW, 10).unwrap().is_empty(),
            "claimed once"
        );

        let later = OutboxJob {
            due_ms: NOW + 1_000,
            attempts: 1,
            ..job.clone()
        };
        assert!(store.retry_job(&job, &later).unwrap());
        assert!(
            store.claim_jobs(NOW + 999, 10).unwrap().is_empty(),
            "not due yet"
        );
        let again = store.claim_jobs(NOW + 1_000, 10).unwrap();
        assert_eq!(ids(&again), [job.id], "found by a scan once due");
        assert!(store.claim_jobs(NOW + 1_000, 10).unwrap().is_empty());

        store
            .finish_deliveries(&[sent(later)], NOW + 1_000)
            .unwrap();
        assert_eq!(store.outbox_len(), 0);
        assert!(store.claim_jobs(i64::MAX, 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn jobs_past_the_handoff_wait_in_the_tree_and_go_out_once_each_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let handed_off: Vec<_> = (0..HANDOFF_MAX).map(|_| issue(&store).id).collect();
        let spilled = issue(&store).id;
        // The worker takes a few: the hand-off has room again, but a newer job still goes to
        // the tree, behind the one that found it full.
        let mut claimed = ids(&store.claim_jobs(NOW, 10).unwrap());
        let newer = issue_at(&store, NOW + 1).id;
        loop {
            let batch = store.claim_jobs(NOW + 1, 100).unwrap();
            if batch.is_empty() {
                break;
            }
            claimed.extend(ids(&batch));
        }
        let mut expected = handed_off;
        expected.extend([spilled, newer]);
        assert_eq!(claimed, expected, "every job, once, oldest first");

        // The tree has given up every due job: new jobs are handed off again.
        let next = issue_at(&store, NOW + 2);
        let queued = ids(store.handoff.0.lock().unwrap().jobs.make_contiguous());
        assert_eq!(queued, [next.id]);
    }

    #[tokio::test]
    async fn jobs_still_handed_off_at_a_close_are_counted_and_claimed_after_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let first = issue(&store);
        let waiting = [issue(&store).id, issue(&store).id];
        assert_eq!(ids(&store.claim_jobs(NOW, 1).unwrap()), [first.id]);
        store.finish_deliveries(&[sent(first)], NOW).unwrap();
        // A sweep two hours on, with the two still waiting in the hand-off: the floor it saves
        // for the next open must still reach them.
        store.save_outbox_floor(NOW + 7_200_000).unwrap();
        store.close().await.unwrap();
        drop(store);

        let store = open(dir.path());
        assert_eq!(store.outbox_len(), 2);
        let mut claimed = ids(&store.claim_jobs(NOW, 10).unwrap());
        claimed.sort();
        let mut expected = waiting.to_vec();
        expected.sort();
        assert_eq!(claimed, expected);
    }

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
