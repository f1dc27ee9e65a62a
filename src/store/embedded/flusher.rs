//! Group commit. Each write lands in fjall's journal (in the operating system's buffers); one
//! task makes the journal durable in a loop on a blocking thread, when a writer waits for it
//! and at least twice a second (the `periodic` durability's bound; the dashboard's counts
//! go into their tree at each flush). A writer that committed asks
//! for the generation of the next flush to *start* and waits until it finished: that flush
//! began after the commit, so it covers it, and every writer waiting meanwhile shares the same
//! fsync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

use super::{StoreError, kv, stats::Counts};

/// The longest the flush loop waits without being asked.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Makes the store's writes durable: the pending counts written into their tree, then
/// fjall's journal written and fsynced.
#[derive(Clone)]
pub struct DiskSync {
    db: kv::Db,
    counts: Arc<Counts>,
}

impl DiskSync {
    /// For the store in `dir` (whose directory entries it makes durable, see
    /// [`super::sync_store_dirs`]).
    pub fn new(db: kv::Db, dir: &std::path::Path, counts: Arc<Counts>) -> Result<Self, StoreError> {
        super::sync_store_dirs(dir)?;
        Ok(Self { db, counts })
    }

    /// Blocks until everything written so far is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.counts.write_out()?;
        self.db.persist()
    }
}

#[derive(Clone)]
pub struct Flusher {
    inner: Arc<Inner>,
    task: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

struct Inner {
    /// Generation of the last flush that started.
    started: AtomicU64,
    /// Generation of the last flush that finished, and whether it failed.
    finished: watch::Sender<(u64, bool)>,
    wake: Notify,
    stopped: AtomicBool,
}

impl Default for Flusher {
    fn default() -> Self {
        Self::new()
    }
}

impl Flusher {
    /// A flusher whose loop is not running yet: [`Flusher::start`] starts it.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                started: AtomicU64::new(0),
                finished: watch::channel((0, false)).0,
                wake: Notify::new(),
                stopped: AtomicBool::new(false),
            }),
            task: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// Starts the flush loop for `db`; it ends (and lets go of `db`) on [`Flusher::stop`]. It
    /// flushes when a writer waits for it, and at least once per [`FLUSH_EVERY`].
    pub fn start(&self, db: DiskSync) {
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(FLUSH_EVERY, inner.wake.notified()).await;
                if inner.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let generation = inner.started.fetch_add(1, Ordering::SeqCst) + 1;
                let db = db.clone();
                let failed = match tokio::task::spawn_blocking(move || db.flush()).await {
                    Ok(Ok(_)) => false,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "store flush failed");
                        true
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "store flush task failed");
                        true
                    }
                };
                inner.finished.send_replace((generation, failed));
            }
        });
        if let Ok(mut slot) = self.task.lock() {
            *slot = Some(task);
        }
    }

    /// Ends the flush loop and waits until it let go of the database; later waits fail fast.
    pub async fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
        self.inner.finished.send_replace((u64::MAX, true));
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Returns once everything committed before this call is on disk.
    pub async fn wait_durable(&self) -> Result<(), StoreError> {
        let target = self.inner.started.load(Ordering::SeqCst) + 1;
        let mut rx = self.inner.finished.subscribe();
        self.inner.wake.notify_one();
        loop {
            let (done, failed) = *rx.borrow_and_update();
            if done >= target {
                return if failed {
                    Err(StoreError::FlushFailed)
                } else {
                    Ok(())
                };
            }
            // The loop may have taken our wake-up before we subscribed: ask again each round.
            self.inner.wake.notify_one();
            if rx.changed().await.is_err() {
                return Err(StoreError::FlushFailed);
            }
        }
    }
}
