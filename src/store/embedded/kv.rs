//! The few operations the embedded store needs from fjall, with its errors turned into
//! [`StoreError`]: a [`Tree`] is one keyspace. Every write goes through one writer lock (held
//! for one write or one [`Db::write`] transaction), so a read-modify-write inside a
//! transaction needs no retry loop; readers never wait for it.
//!
//! A transaction is this lock and the list of its writes, committed as one fjall batch: one
//! journal entry, applied atomically. (fjall's own transactions would also copy every write
//! into a memtable of the transaction's, which the store does not need: holding the lock, it
//! reads what is committed plus its own list.)

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hasher;
use std::ops::RangeBounds;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A key or value as fjall hands it out (reference-counted: cloning copies no bytes).
pub use fjall::Slice;
use fjall::config::{CompressionPolicy, FilterPolicy};
use fjall::{CompressionType, Database, Keyspace, PersistMode};

use super::StoreError;
use super::keys::{self, Reads};

impl From<fjall::Error> for StoreError {
    fn from(e: fjall::Error) -> Self {
        Self::Engine(e.to_string())
    }
}

/// The block cache: what the store keeps of its files in memory.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// The bound on the journals on disk (fjall's least). fjall starts a new journal at 64 MB;
/// past this bound it writes memory into the trees' files so that the old journals can go.
/// A start replays the journals still there.
const JOURNAL_BYTES: u64 = 64 * 1024 * 1024;

/// What one tree keeps in memory before it is written into a table file (the minute's sweep
/// writes them all out too): with a dozen trees, the bound on the store's memory for writes.
const MEMTABLE_BYTES: u64 = 8 * 1024 * 1024;

/// A key and its value, as read.
pub type Entry = (Slice, Slice);

/// The lock every write holds (see the module docs).
type WriterLock = Arc<Mutex<()>>;

/// Takes a lock of the embedded store even when a holder panicked: each guards what a panic
/// cannot leave half-changed (a writer that panicked committed nothing; a flag; a handle).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One keyspace.
#[derive(Clone)]
pub struct Tree {
    keyspace: Keyspace,
    writer: WriterLock,
    /// The write stamps of its keys, for a tree whose reads a transaction may reuse
    /// ([`keys::stamped`]).
    stamps: Option<Arc<Stamps>>,
}

/// A key's write stamp (see [`Tree::stamp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp(u64);

/// Write stamps: a counter per slot, a key's slot being a hash of it, raised after each
/// committed write to a key of the slot and before the writer lock is let go.
struct Stamps(Box<[AtomicU64]>);

/// Slots of [`Stamps`]: a write to another key of the same slot makes a reader read again
/// for nothing, so there are many more slots than writes in flight.
const STAMP_SLOTS: u64 = 4096;

impl Stamps {
    fn new() -> Self {
        Self((0..STAMP_SLOTS).map(|_| AtomicU64::new(0)).collect())
    }

    fn slot(&self, key: &[u8]) -> &AtomicU64 {
        let mut hasher = std::hash::DefaultHasher::new();
        hasher.write(key);
        let slot = usize::try_from(hasher.finish() % STAMP_SLOTS).unwrap_or_default();
        &self.0[slot]
    }

    fn get(&self, key: &[u8]) -> Stamp {
        Stamp(self.slot(key).load(Ordering::Acquire))
    }

    fn raise(&self, key: &[u8]) {
        self.slot(key).fetch_add(1, Ordering::Release);
    }

    fn raise_all(&self) {
        for slot in &self.0 {
            slot.fetch_add(1, Ordering::Release);
        }
    }
}

impl Tree {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Slice>, StoreError> {
        Ok(self.keyspace.get(key)?)
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(self.keyspace.contains_key(key)?)
    }

    pub fn insert(&self, key: impl Into<Slice>, value: impl Into<Slice>) -> Result<(), StoreError> {
        let key = key.into();
        let _writer = lock(&self.writer);
        let inserted = self.keyspace.insert(key.clone(), value.into());
        self.raise(&key);
        Ok(inserted?)
    }

    pub fn remove(&self, key: impl Into<Slice>) -> Result<(), StoreError> {
        let key = key.into();
        let _writer = lock(&self.writer);
        let removed = self.keyspace.remove(key.clone());
        self.raise(&key);
        Ok(removed?)
    }

    /// The write stamp of `key`, for a tree that keeps them ([`keys::stamped`]): taken before
    /// the key is read, it lets a later transaction know whether a write to the key has
    /// committed since ([`Tx::unchanged`]), and so whether what was read is still the value.
    pub fn stamp(&self, key: impl AsRef<[u8]>) -> Option<Stamp> {
        self.stamps.as_ref().map(|s| s.get(key.as_ref()))
    }

    /// After a write to `key`, under the writer lock (whether or not the write went in: a
    /// stamp raised for nothing only costs a read).
    fn raise(&self, key: &[u8]) {
        if let Some(stamps) = &self.stamps {
            stamps.raise(key);
        }
    }

    /// Replaces the value with what `f` makes of it (`None` removes it), atomically; returns
    /// the value before.
    pub fn fetch_and_update(
        &self,
        key: impl Into<Slice>,
        f: impl FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<Option<Slice>, StoreError> {
        let key = key.into();
        let _writer = lock(&self.writer);
        let old = self.keyspace.get(&key)?;
        let written = match f(old.as_deref()) {
            Some(new) => self.keyspace.insert(key.clone(), new),
            None if old.is_some() => self.keyspace.remove(key.clone()),
            None => return Ok(old),
        };
        self.raise(&key);
        written?;
        Ok(old)
    }

    /// Every entry, in key order (reversible).
    pub fn iter(&self) -> Iter {
        Iter(self.keyspace.iter())
    }

    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter(self.keyspace.range(range))
    }

    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        Iter(self.keyspace.prefix(prefix))
    }

    /// The entry with the greatest key.
    pub fn last(&self) -> Result<Option<Entry>, StoreError> {
        self.keyspace.last_key_value().map(entry).transpose()
    }

    /// How many entries there are (counted: it reads them all).
    pub fn len(&self) -> Result<usize, StoreError> {
        Ok(self.keyspace.len()?)
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.keyspace.is_empty()?)
    }

    /// Writes what is still in memory into the tree's files, so the next start has no journal
    /// of it to replay.
    pub fn flush_memory(&self) -> Result<(), StoreError> {
        Ok(self.keyspace.rotate_memtable_and_wait()?)
    }

    /// Starts writing what is in memory into the tree's files, in the background.
    pub fn start_flushing_memory(&self) -> Result<(), StoreError> {
        self.keyspace.rotate_memtable()?;
        Ok(())
    }

    /// Writes `entries` (in ascending key order) into this tree, which must be empty: the
    /// fast way to fill it (tables are built directly, not through the journal).
    pub fn ingest(
        &self,
        entries: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>,
    ) -> Result<u64, StoreError> {
        let mut ingestion = self.keyspace.start_ingestion()?;
        let mut n = 0;
        for entry in entries {
            let (k, v) = entry?;
            ingestion.write(k, v)?;
            n += 1;
        }
        let finished = ingestion.finish();
        if let Some(stamps) = &self.stamps {
            let _writer = lock(&self.writer);
            stamps.raise_all();
        }
        finished?;
        Ok(n)
    }
}

/// Entries in key order, from either end.
pub struct Iter(fjall::Iter);

impl Iterator for Iter {
    type Item = Result<Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(entry)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(entry)
    }
}

fn entry(guard: fjall::Guard) -> Result<Entry, StoreError> {
    Ok(guard.into_inner()?)
}

/// The database: opens trees, runs transactions, makes writes durable.
#[derive(Clone)]
pub struct Db {
    db: Database,
    writer: WriterLock,
    journal: Arc<ActiveJournal>,
    /// The write stamps of every stamped tree's keys (one set: a key of one tree shares its
    /// slot with keys of another, which only costs a read).
    stamps: Arc<Stamps>,
}

impl Db {
    /// Opens (or creates) the database in `dir`, with the store's cache and journal bounds.
    pub fn open(dir: &std::path::Path) -> Result<Self, fjall::Error> {
        let db = Database::builder(dir)
            .cache_size(CACHE_BYTES)
            .max_journaling_size(JOURNAL_BYTES)
            .open()?;
        Ok(Self {
            db,
            writer: WriterLock::default(),
            journal: Arc::new(ActiveJournal {
                dir: dir.to_path_buf(),
                open: Mutex::new(None),
            }),
            stamps: Arc::new(Stamps::new()),
        })
    }

    /// The tree `name`, created with the table options of how it is read
    /// ([`keys::reads`]) when it does not exist yet (an existing tree keeps those it was
    /// created with).
    pub fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        let options = || {
            let options = fjall::KeyspaceCreateOptions::default()
                .max_memtable_size(MEMTABLE_BYTES)
                // The first two levels plain, the rest LZ4 (fjall's default). Those levels are
                // rewritten most often: compressing them as well made every flush and most
                // compactions compress, a fifth of fjall's workers' CPU per issued code
                // (`benches/issue_path.rs`). The price is disk while a tree fits in them: 445
                // against 315 bytes a code at a million codes (`benches/store_size.rs`). A tree
                // keeps the policy it was created with.
                .data_block_compression_policy(CompressionPolicy::new([
                    CompressionType::None,
                    CompressionType::None,
                    CompressionType::Lz4,
                ]));
            match keys::reads(name) {
                Reads::Lookup => options,
                Reads::Found => options.expect_point_read_hits(true),
                Reads::Range => options.filter_policy(FilterPolicy::disabled()),
            }
        };
        Ok(Tree {
            keyspace: self.db.keyspace(name, options)?,
            writer: self.writer.clone(),
            stamps: keys::stamped(name).then(|| self.stamps.clone()),
        })
    }

    pub fn tree_names(&self) -> Vec<String> {
        self.db
            .list_keyspace_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// Runs `f` as one transaction: its writes go in together when it answers `Ok`, none of
    /// them when it answers `Err`. Other writers wait meanwhile; readers do not.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let _writer = lock(&self.writer);
        let mut tx = Tx {
            writes: Vec::new(),
            index: HashMap::new(),
        };
        let out = f(&mut tx)?;
        if !tx.writes.is_empty() {
            // The commit stays in fjall's journal buffer (8 KiB, written out when full) until
            // the next flush writes it to the file and fsyncs it (`persist`), or the delivery
            // worker hands it to the system before it sends a code (`write_out`). fjall's
            // default writes every commit out at once, a system call each: 4 % of otpd's CPU
            // at `periodic`. So a crash of the process, like one of the machine, can lose what
            // no flush covered: with flush-each nothing acknowledged; with periodic up to the
            // last half second.
            let mut batch = self.db.batch().durability(None);
            let mut stamped = Vec::new();
            for w in tx.writes {
                if w.stamped {
                    stamped.push(w.key.clone());
                }
                match w.change {
                    Change::Put(value) => batch.insert(&w.keyspace, w.key, value),
                    Change::Remove => batch.remove(&w.keyspace, w.key),
                    Change::RemoveSingle => batch.remove_weak(&w.keyspace, w.key),
                }
            }
            let committed = batch.commit();
            for key in stamped {
                self.stamps.raise(&key);
            }
            committed.map_err(StoreError::from)?;
        }
        Ok(out)
    }

    /// Hands every commit so far to the operating system (see `write`): a crash of the
    /// process can no longer lose it, one of the machine still can.
    pub fn write_out(&self) -> Result<(), StoreError> {
        Ok(self.db.persist(PersistMode::Buffer)?)
    }

    /// Blocks until every committed write is on disk.
    ///
    /// fjall's own `persist` holds its journal lock through the fsync, and every commit needs
    /// that lock: with flush-each, where a flush is nearly always under way, writers stood
    /// still for half of the time (the benchmark's otp/generate at 32 connections: 0.11–0.13×
    /// the bare endpoint that way, 0.17–0.19× this way). So the store fsyncs the active
    /// journal through a descriptor of its own, which takes none of fjall's locks. That covers
    /// every commit made before the call: the journal's buffer is written out first (fjall's
    /// `PersistMode::Buffer`, which holds the lock only for that write); an fsync through any
    /// descriptor of a file makes all the data written to the file durable; the active journal
    /// is the highest-numbered `.jnl` file of the database's directory; and fjall fsyncs a
    /// journal when it seals it, before any commit goes to the next one. Where no journal
    /// file is found (a fjall that lays out its files otherwise), fjall's own persist; a test
    /// checks that the file found is the one commits write to.
    pub fn persist(&self) -> Result<(), StoreError> {
        // The journal's buffer first (see `write`), under fjall's lock for one write call.
        self.write_out()?;
        match self.journal.sync() {
            Ok(true) => Ok(()),
            Ok(false) => Ok(self.db.persist(PersistMode::SyncAll)?),
            Err(e) => Err(StoreError::Engine(format!(
                "fsyncing the journal in {} failed: {e}",
                self.journal.dir.display()
            ))),
        }
    }
}

/// fjall's active journal, fsynced through a descriptor of the store's own (see
/// [`Db::persist`]).
struct ActiveJournal {
    /// The database's directory, where fjall keeps its journals (`<number>.jnl`).
    dir: PathBuf,
    /// The journal last fsynced: its number and a descriptor of it.
    open: Mutex<Option<(u64, File)>>,
}

impl ActiveJournal {
    /// The number of the active journal: the highest of the `.jnl` files.
    fn find(&self) -> std::io::Result<Option<u64>> {
        let mut highest = None;
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_suffix(".jnl"))
                .and_then(|n| n.parse::<u64>().ok());
            highest = highest.max(number);
        }
        Ok(highest)
    }

    /// Fsyncs the active journal; `false` when there is no journal file to fsync.
    fn sync(&self) -> std::io::Result<bool> {
        let mut tries = 0;
        loop {
            let Some(number) = self.find()? else {
                return Ok(false);
            };
            let mut open = lock(&self.open);
            let file = match &*open {
                Some((n, file)) if *n == number => file,
                _ => match File::open(self.dir.join(format!("{number}.jnl"))) {
                    Ok(file) => &open.insert((number, file)).1,
                    // Sealed (so fsynced by fjall) and deleted since it was found: a newer
                    // journal is the active one now.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => {
                        tries += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            // fdatasync: the journal's data and its length, which is all a replay reads.
            file.sync_data()?;
            return Ok(true);
        }
    }
}

/// A write transaction (see [`Db::write`]): its writes, in order, until it commits.
pub struct Tx {
    writes: Vec<Write>,
    /// Where each tree's key is in `writes`, kept once there are [`INDEXED_FROM`] of them:
    /// a delivery finisher's batch writes over a thousand, and finding each key by a scan
    /// would cost a million comparisons under the writer lock.
    index: HashMap<(u64, Slice), usize>,
}

/// From how many writes a transaction indexes them (below, a scan is cheaper than hashing).
const INDEXED_FROM: usize = 32;

struct Write {
    keyspace: Keyspace,
    key: Slice,
    change: Change,
    /// Its tree keeps write stamps.
    stamped: bool,
}

enum Change {
    Put(Slice),
    Remove,
    /// See [`Tx::remove_single`].
    RemoveSingle,
}

impl Tx {
    /// Reads `key` as this transaction sees it (its own writes included).
    pub fn get(&self, tree: &Tree, key: impl AsRef<[u8]>) -> Result<Option<Slice>, StoreError> {
        let key = key.as_ref();
        match self.own(tree, key).map(|i| &self.writes[i].change) {
            Some(Change::Put(value)) => Ok(Some(value.clone())),
            Some(Change::Remove | Change::RemoveSingle) => Ok(None),
            None => tree.get(key),
        }
    }

    /// Whether `key`'s value is still what a read after `stamp` was taken found: no write to
    /// it has committed since ([`Tree::stamp`]), nor has this transaction written it. Under
    /// the writer lock, which every write holds until it has raised its stamp, the answer
    /// holds until this transaction commits.
    pub fn unchanged(&self, tree: &Tree, key: impl AsRef<[u8]>, stamp: Stamp) -> bool {
        let key = key.as_ref();
        tree.stamp(key) == Some(stamp) && self.own(tree, key).is_none()
    }

    pub fn insert(&mut self, tree: &Tree, key: impl Into<Slice>, value: impl Into<Slice>) {
        self.push(tree, key.into(), Change::Put(value.into()));
    }

    pub fn remove(&mut self, tree: &Tree, key: impl Into<Slice>) {
        self.push(tree, key.into(), Change::Remove);
    }

    /// Removes a key that was written once since it was created or last removed this way:
    /// an index entry, never a record updated in place or a key that may be written again
    /// over itself (an outbox job retried in the same millisecond keeps its key). The removal
    /// and the write it meets cancel out when fjall writes its memory out or compacts, so
    /// neither reaches (or stays in) the tree's files; a plain removal leaves a tombstone that
    /// every scan across the key reads past until compaction reaches the last level. On a
    /// key written twice it would bring the older value back: fjall's `remove_weak`.
    pub fn remove_single(&mut self, tree: &Tree, key: impl Into<Slice>) {
        self.push(tree, key.into(), Change::RemoveSingle);
    }

    /// A key written twice is written once, with the last value (the batch applies its
    /// writes under one sequence number, so it must not hold a key twice).
    fn push(&mut self, tree: &Tree, key: Slice, change: Change) {
        if let Some(i) = self.own(tree, &key) {
            self.writes[i].change = change;
            return;
        }
        self.writes.push(Write {
            keyspace: tree.keyspace.clone(),
            key,
            change,
            stamped: tree.stamps.is_some(),
        });
        let last = self.writes.len() - 1;
        if self.writes.len() == INDEXED_FROM {
            for (i, w) in self.writes.iter().enumerate() {
                self.index.insert((w.keyspace.id(), w.key.clone()), i);
            }
        } else if self.writes.len() > INDEXED_FROM {
            let w = &self.writes[last];
            self.index.insert((w.keyspace.id(), w.key.clone()), last);
        }
    }

    /// Where this transaction wrote `key` of `tree`, if it did.
    fn own(&self, tree: &Tree, key: &[u8]) -> Option<usize> {
        if self.writes.len() < INDEXED_FROM {
            return self
                .writes
                .iter()
                .position(|w| *w.key == *key && w.keyspace == tree.keyspace);
        }
        self.index
            .get(&(tree.keyspace.id(), Slice::from(key)))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        (dir, db)
    }

    #[test]
    fn every_write_to_a_stamped_key_moves_its_stamp() {
        let (_dir, db) = db();
        assert_eq!(db.tree("log").unwrap().stamp("k"), None, "not stamped");
        let tree = db.tree("sessions").unwrap();
        let unchanged = |stamp| db.write(|tx| Ok::<_, StoreError>(tx.unchanged(&tree, "k", stamp)));
        let writes: [(&str, &dyn Fn()); 6] = [
            ("insert", &|| tree.insert("k", "v").unwrap()),
            ("update", &|| {
                tree.fetch_and_update("k", |_| Some(b"w".to_vec())).unwrap();
            }),
            ("transaction", &|| {
                db.write(|tx| {
                    tx.insert(&tree, "k", "x");
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            }),
            ("the same tree from another handle", &|| {
                db.tree("sessions").unwrap().insert("k", "y").unwrap();
            }),
            // Leaves the tree empty, as ingesting needs it.
            ("remove", &|| tree.remove("k").unwrap()),
            ("ingest", &|| {
                tree.ingest(std::iter::once(Ok((b"k".to_vec(), b"z".to_vec()))))
                    .unwrap();
            }),
        ];
        for (what, write) in writes {
            let stamp = tree.stamp("k").unwrap();
            assert!(unchanged(stamp).unwrap(), "{what}: nothing written yet");
            write();
            assert!(!unchanged(stamp).unwrap(), "{what}: the stamp must move");
        }
        // Writes to other keys, and a read, leave it (these keys' slots differ from k's).
        let stamp = tree.stamp("k").unwrap();
        tree.insert("other", "v").unwrap();
        let _ = tree.get("k").unwrap();
        assert!(unchanged(stamp).unwrap());
        // A transaction that wrote the key itself no longer has it as read.
        db.write(|tx| {
            tx.insert(&tree, "k", "mine");
            assert!(!tx.unchanged(&tree, "k", stamp));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn a_transaction_reads_its_own_writes_and_commits_the_last_of_each_key() {
        let (_dir, db) = db();
        let a = db.tree("a").unwrap();
        let b = db.tree("b").unwrap();
        a.insert("k", "before").unwrap();
        db.write(|tx| {
            assert_eq!(tx.get(&a, "k")?.as_deref(), Some(&b"before"[..]));
            tx.insert(&a, "k", "first");
            tx.insert(&a, "k", "second");
            assert_eq!(tx.get(&a, "k")?.as_deref(), Some(&b"second"[..]));
            // The same key in another tree is another record.
            assert_eq!(tx.get(&b, "k")?, None);
            tx.insert(&b, "k", "other");
            tx.insert(&a, "gone", "x");
            tx.remove(&a, "gone");
            assert_eq!(tx.get(&a, "gone")?, None);
            // Not visible outside before the commit.
            assert_eq!(a.get("k")?.as_deref(), Some(&b"before"[..]));
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(a.get("k").unwrap().as_deref(), Some(&b"second"[..]));
        assert_eq!(b.get("k").unwrap().as_deref(), Some(&b"other"[..]));
        assert_eq!(a.get("gone").unwrap(), None);
        assert_eq!(a.len().unwrap(), 1);
    }

    /// Past [`INDEXED_FROM`] writes a transaction finds its keys through its index: the same
    /// answers as below it, across trees, for keys written before and after the index was made.
    #[test]
    fn a_large_transaction_reads_its_own_writes_and_commits_the_last_of_each_key() {
        let (_dir, db) = db();
        let a = db.tree("a").unwrap();
        let b = db.tree("b").unwrap();
        let n = 3 * INDEXED_FROM;
        db.write(|tx| {
            for i in 0..n {
                tx.insert(&a, format!("k{i}").into_bytes(), "first");
            }
            assert_eq!(tx.writes.len(), n);
            for i in (0..n).step_by(3) {
                tx.insert(&a, format!("k{i}").into_bytes(), "second");
                tx.insert(&b, format!("k{i}").into_bytes(), "other tree");
            }
            for i in (1..n).step_by(3) {
                tx.remove(&a, format!("k{i}").into_bytes());
            }
            // Each key of each tree is one write, the last.
            assert_eq!(tx.writes.len(), n + n / 3);
            assert_eq!(tx.get(&a, "k0")?.as_deref(), Some(&b"second"[..]));
            assert_eq!(tx.get(&a, "k1")?, None);
            assert_eq!(tx.get(&a, "k2")?.as_deref(), Some(&b"first"[..]));
            assert_eq!(tx.get(&b, "k0")?.as_deref(), Some(&b"other tree"[..]));
            assert_eq!(tx.get(&b, "k1")?, None);
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(a.len().unwrap(), n - n / 3);
        assert_eq!(b.len().unwrap(), n / 3);
        let last = format!("k{}", n - 1);
        assert_eq!(a.get(&last).unwrap().as_deref(), Some(&b"first"[..]));
        assert_eq!(a.get("k3").unwrap().as_deref(), Some(&b"second"[..]));
    }

    /// A key written once and removed singly leaves nothing in the tree's files once memory is
    /// written out; a plain removal leaves its tombstone there. Both read as gone, also after
    /// a reopen that replays the journal.
    #[test]
    fn a_single_removal_meets_its_write_and_leaves_no_tombstone() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path()).unwrap();
            let (single, plain) = (db.tree("single").unwrap(), db.tree("plain").unwrap());
            for i in 0u32..100 {
                db.write(|tx| {
                    tx.insert(&single, i.to_be_bytes(), "");
                    tx.insert(&plain, i.to_be_bytes(), "");
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            }
            db.write(|tx| {
                for i in 0u32..61 {
                    tx.remove_single(&single, i.to_be_bytes());
                    tx.remove(&plain, i.to_be_bytes());
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
            db.persist().unwrap();
            for tree in [&single, &plain] {
                assert_eq!(tree.len().unwrap(), 39);
                tree.flush_memory().unwrap();
            }
            // Entries in the files, tombstones included: the plain tree keeps one for each
            // removed key (the values beneath them are gone).
            assert_eq!(single.keyspace.approximate_len(), 39);
            assert_eq!(plain.keyspace.approximate_len(), 39 + 61);
        }
        let db = Db::open(dir.path()).unwrap();
        for name in ["single", "plain"] {
            let tree = db.tree(name).unwrap();
            assert_eq!(tree.len().unwrap(), 39, "{name}");
            assert_eq!(tree.get(0u32.to_be_bytes()).unwrap(), None);
            assert!(tree.get(99u32.to_be_bytes()).unwrap().is_some());
        }
    }

    #[test]
    fn a_transaction_that_fails_writes_nothing() {
        let (_dir, db) = db();
        let a = db.tree("a").unwrap();
        let failed = db.write(|tx| {
            tx.insert(&a, "k", "v");
            Err::<(), _>(StoreError::Engine("refused".into()))
        });
        assert!(failed.is_err());
        assert_eq!(a.get("k").unwrap(), None);
    }

    #[test]
    fn fetch_and_update_returns_the_value_before_and_removes_on_none() {
        let (_dir, db) = db();
        let a = db.tree("a").unwrap();
        let before = a
            .fetch_and_update("k", |old| {
                assert_eq!(old, None);
                Some(b"1".to_vec())
            })
            .unwrap();
        assert_eq!(before, None);
        let before = a.fetch_and_update("k", |_| None).unwrap();
        assert_eq!(before.as_deref(), Some(&b"1"[..]));
        assert_eq!(a.get("k").unwrap(), None);
    }

    #[test]
    fn committed_writes_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path()).unwrap();
            let log = db.tree("log").unwrap();
            let index = db.tree("log_by_dest").unwrap();
            db.write(|tx| {
                tx.insert(&log, "id", "record");
                tx.insert(&index, "entry", "");
                Ok::<_, StoreError>(())
            })
            .unwrap();
            db.persist().unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        assert_eq!(
            db.tree("log").unwrap().get("id").unwrap().as_deref(),
            Some(&b"record"[..])
        );
        assert!(
            db.tree("log_by_dest")
                .unwrap()
                .contains_key("entry")
                .unwrap()
        );
    }

    #[test]
    fn every_kind_of_tree_answers_from_its_tables() {
        // One tree of each way of reading (keys::reads): filters or none, the answers are the
        // same once the entries are in compressed table files.
        let dir = tempfile::tempdir().unwrap();
        let names = ["sessions", "log", "log_by_dest"];
        {
            let db = Db::open(dir.path()).unwrap();
            for name in names {
                let tree = db.tree(name).unwrap();
                for i in 0u32..2_000 {
                    tree.insert(i.to_be_bytes(), format!("{name} {i}")).unwrap();
                }
                tree.flush_memory().unwrap();
            }
        }
        let db = Db::open(dir.path()).unwrap();
        for name in names {
            let tree = db.tree(name).unwrap();
            let value = tree.get(1_234u32.to_be_bytes()).unwrap();
            assert_eq!(value.as_deref(), Some(format!("{name} 1234").as_bytes()));
            assert!(!tree.contains_key(5_000u32.to_be_bytes()).unwrap());
            let range: Vec<_> = tree
                .range(10u32.to_be_bytes()..20u32.to_be_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(range.len(), 10);
        }
    }

    #[test]
    fn the_journal_persist_fsyncs_is_the_one_commits_write_to() {
        // `persist` fsyncs the file it takes for fjall's active journal: a fjall that wrote
        // its journal elsewhere, or named it otherwise, must fail here rather than leave
        // commits unsynced. `write_out` (which `persist` starts with) puts a commit into it.
        let dir = tempfile::tempdir().unwrap();
        for round in 0..2 {
            // A new database, then the same one reopened.
            let db = Db::open(dir.path()).unwrap();
            let tree = db.tree("log").unwrap();
            let number = db.journal.find().unwrap().expect("a journal file");
            let path = dir.path().join(format!("{number}.jnl"));
            // fjall makes its journal file full size at once: what a commit wrote shows in
            // the content, not in the length.
            let probe = format!("journal probe {round} ").repeat(100);
            db.write(|tx| {
                tx.insert(&tree, "record", probe.as_bytes());
                Ok::<_, StoreError>(())
            })
            .unwrap();
            db.write_out().unwrap();
            let content = std::fs::read(&path).unwrap();
            let end = content.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            assert!(
                content[..end]
                    .windows(probe.len())
                    .any(|w| w == probe.as_bytes()),
                "the commit is not in {} after write_out",
                path.display()
            );
            db.persist().unwrap();
            let synced = db.journal.open.lock().unwrap().as_ref().map(|(n, _)| *n);
            assert_eq!(synced, Some(number));
        }
    }
}
