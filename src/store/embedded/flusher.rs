//! Group commit. Each write lands in fjall's journal (in its buffer, see `kv::Db::write`); one
//! thread of its own writes the journal out and makes it durable in a loop, when a writer
//! waits for it and at least twice a second (the `periodic` durability's bound; the
//! dashboard's counts go into their tree at each flush). A writer that committed asks
//! for the generation of the next flush to *start* and waits until it finished: that flush
//! began after the commit, so it covers it, and every writer waiting meanwhile shares the same
//! fsync. A thread rather than a task: with flush-each a flush is nearly always under way, and
//! the next one starts the moment the last ends, not when the runtime next gets to a task.
//!
//! A flush that fails poisons the store until otpd restarts ([`DiskSync`], which every flush
//! goes through: the group commit's and the ones admin writes wait for): every later flush and
//! wait fails, and so does the readiness probe. After a failed fsync the kernel may have
//! dropped the pages it could not write, and a later fsync that succeeds says nothing about
//! them, so a write acknowledged after it could still be lost (PostgreSQL's "fsyncgate", which
//! it answers the same way). A restart replays what did reach the disk.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use tokio::sync::watch;

use super::kv::{self, lock};
use super::{StoreError, stats::Counts};

/// The longest the flush loop waits without being asked.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Makes the store's writes durable: the pending counts written into their tree, then
/// fjall's journal written and fsynced.
#[derive(Clone)]
pub struct DiskSync {
    db: kv::Db,
    counts: Arc<Counts>,
    /// A flush failed: nothing is durable from then on (see the module docs).
    poisoned: Arc<AtomicBool>,
}

impl DiskSync {
    /// For the store in `dir` (whose directory entries it makes durable, see
    /// [`super::sync_store_dirs`]).
    pub fn new(db: kv::Db, dir: &std::path::Path, counts: Arc<Counts>) -> Result<Self, StoreError> {
        super::sync_store_dirs(dir)?;
        Ok(Self {
            db,
            counts,
            poisoned: Arc::default(),
        })
    }

    /// Blocks until everything written so far is on disk. Once a flush has failed, fails at
    /// once: a flush that succeeds would prove nothing.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.check()?;
        let flushed = self.counts.write_out().and_then(|()| self.db.persist());
        if let Err(e) = &flushed {
            self.poisoned.store(true, Ordering::SeqCst);
            tracing::error!(
                error = %e,
                "store flush failed: otpd acknowledges no write from now on; restart it \
                 (the start replays what reached the disk)"
            );
        }
        flushed
    }

    /// Fails once a flush has failed (see the module docs).
    pub fn check(&self) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(StoreError::FlushFailed);
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Flusher {
    inner: Arc<Inner>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

struct Inner {
    /// Generation of the last flush that started.
    started: AtomicU64,
    /// Generation of the last flush that finished, and whether it failed.
    finished: watch::Sender<(u64, bool)>,
    /// Whether a writer waits for a flush that has not started yet.
    asked: Mutex<bool>,
    wake: Condvar,
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
                asked: Mutex::new(false),
                wake: Condvar::new(),
                stopped: AtomicBool::new(false),
            }),
            thread: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts the flush loop for `db` on its own thread; it ends (and lets go of `db`) on
    /// [`Flusher::stop`]. It flushes when a writer waits for it, and at least once per
    /// [`FLUSH_EVERY`].
    pub fn start(&self, db: DiskSync) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        let thread = std::thread::Builder::new()
            .name("otpd-flusher".into())
            .spawn(move || inner.run(&db))
            .map_err(|e| StoreError::Engine(format!("starting the flush thread failed: {e}")))?;
        *lock(&self.thread) = Some(thread);
        Ok(())
    }

    /// Ends the flush loop and waits until it let go of the database; later waits fail fast.
    pub async fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.ask();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            // The loop ends after the flush in progress, if any: a short wait, off the runtime.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        // After the loop's last word, which would otherwise take this one's place.
        self.inner.finished.send_replace((u64::MAX, true));
    }

    /// Returns once everything committed before this call is on disk.
    pub async fn wait_durable(&self) -> Result<(), StoreError> {
        // The next flush to start begins after this line, so after the caller's commit.
        let target = self.inner.started.load(Ordering::SeqCst) + 1;
        let mut rx = self.inner.finished.subscribe();
        self.inner.ask();
        loop {
            let (done, failed) = *rx.borrow_and_update();
            if done >= target {
                return if failed {
                    Err(StoreError::FlushFailed)
                } else {
                    Ok(())
                };
            }
            if rx.changed().await.is_err() {
                return Err(StoreError::FlushFailed);
            }
        }
    }
}

impl Inner {
    /// Asks for a flush: the loop starts one as soon as the one in progress, if any, ends.
    fn ask(&self) {
        *lock(&self.asked) = true;
        self.wake.notify_one();
    }

    fn run(&self, db: &DiskSync) {
        loop {
            {
                let asked = lock(&self.asked);
                let (mut asked, _) = self
                    .wake
                    .wait_timeout_while(asked, FLUSH_EVERY, |asked| !*asked)
                    .unwrap_or_else(PoisonError::into_inner);
                *asked = false;
            }
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let generation = self.started.fetch_add(1, Ordering::SeqCst) + 1;
            let failed = db.flush().is_err();
            self.finished.send_replace((generation, failed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_flush_fails_every_later_wait_even_when_the_disk_comes_back() {
        let parent = tempfile::tempdir().unwrap();
        let (dir, away) = (parent.path().join("store"), parent.path().join("away"));
        let db = kv::Db::open(&dir).unwrap();
        let tree = db.tree("t").unwrap();
        let counts = Arc::new(Counts::new(db.clone(), db.tree("stats").unwrap()));
        let sync = DiskSync::new(db.clone(), &dir, counts).unwrap();
        let flusher = Flusher::new();
        flusher.start(sync.clone()).unwrap();
        tree.insert("k", "v").unwrap();
        flusher.wait_durable().await.unwrap();
        sync.check().unwrap();

        // The journal's directory gone: the fsync cannot be made.
        std::fs::rename(&dir, &away).unwrap();
        tree.insert("k", "w").unwrap();
        assert!(matches!(
            flusher.wait_durable().await,
            Err(StoreError::FlushFailed)
        ));
        // Back again, and the fsync would succeed, but what the failed one held is unknown.
        std::fs::rename(&away, &dir).unwrap();
        tree.insert("k", "x").unwrap();
        assert!(matches!(
            flusher.wait_durable().await,
            Err(StoreError::FlushFailed)
        ));
        assert!(matches!(sync.check(), Err(StoreError::FlushFailed)));
        // Nor does a flush of its own (what an admin write waits for).
        assert!(matches!(sync.flush(), Err(StoreError::FlushFailed)));
        flusher.stop().await;
    }
}
