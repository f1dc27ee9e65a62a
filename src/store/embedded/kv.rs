//! The few operations the embedded store needs from fjall, with its errors turned into
//! [`StoreError`]: a [`Tree`] is one keyspace. Every write goes through fjall's single
//! writer (a lock held for one write or one [`Db::write`] transaction), so a read-modify-write
//! inside a transaction needs no retry loop.

use std::ops::RangeBounds;

use fjall::{PersistMode, Readable, SingleWriterTxDatabase, SingleWriterTxKeyspace, Slice};

use super::StoreError;

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

/// One keyspace.
#[derive(Clone)]
pub struct Tree(SingleWriterTxKeyspace);

impl Tree {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Slice>, StoreError> {
        Ok(self.0.get(key)?)
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(self.0.contains_key(key)?)
    }

    pub fn insert(&self, key: impl Into<Slice>, value: impl Into<Slice>) -> Result<(), StoreError> {
        Ok(self.0.insert(key, value)?)
    }

    pub fn remove(&self, key: impl Into<Slice>) -> Result<(), StoreError> {
        Ok(self.0.remove(key)?)
    }

    /// Replaces the value with what `f` makes of it (`None` removes it), atomically; returns
    /// the value before.
    pub fn fetch_and_update(
        &self,
        key: impl Into<Slice>,
        f: impl FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<Option<Slice>, StoreError> {
        Ok(self
            .0
            .fetch_update(key, |old| f(old.map(|v| v.as_ref())).map(Slice::from))?)
    }

    /// Every entry, in key order (reversible).
    pub fn iter(&self) -> Iter {
        Iter(self.0.inner().iter())
    }

    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter(self.0.inner().range(range))
    }

    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        Iter(self.0.inner().prefix(prefix))
    }

    /// The entry with the greatest key.
    pub fn last(&self) -> Result<Option<Entry>, StoreError> {
        self.0.inner().last_key_value().map(entry).transpose()
    }

    /// How many entries there are (counted: it reads them all).
    pub fn len(&self) -> Result<usize, StoreError> {
        Ok(self.0.inner().len()?)
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.0.inner().is_empty()?)
    }

    /// Writes what is still in memory into the tree's files, so the next start has no journal
    /// of it to replay.
    pub fn flush_memory(&self) -> Result<(), StoreError> {
        Ok(self.0.inner().rotate_memtable_and_wait()?)
    }

    /// Starts writing what is in memory into the tree's files, in the background.
    pub fn start_flushing_memory(&self) -> Result<(), StoreError> {
        self.0.inner().rotate_memtable()?;
        Ok(())
    }

    /// Writes `entries` (in ascending key order) into this tree, which must be empty: the
    /// fast way to fill it (tables are built directly, not through the journal).
    pub fn ingest(
        &self,
        entries: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>,
    ) -> Result<u64, StoreError> {
        let mut ingestion = self.0.inner().start_ingestion()?;
        let mut n = 0;
        for entry in entries {
            let (k, v) = entry?;
            ingestion.write(k, v)?;
            n += 1;
        }
        ingestion.finish()?;
        Ok(n)
    }

    pub(super) fn keyspace(&self) -> &SingleWriterTxKeyspace {
        &self.0
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
pub struct Db(SingleWriterTxDatabase);

impl Db {
    /// Opens (or creates) the database in `dir`, with the store's cache and journal bounds.
    pub fn open(dir: &std::path::Path) -> Result<Self, fjall::Error> {
        SingleWriterTxDatabase::builder(dir)
            .cache_size(CACHE_BYTES)
            .max_journaling_size(JOURNAL_BYTES)
            .open()
            .map(Self)
    }

    pub fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        let options = || fjall::KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        Ok(Tree(self.0.keyspace(name, options)?))
    }

    pub fn tree_names(&self) -> Vec<String> {
        self.0
            .list_keyspace_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// Runs `f` as one transaction: its writes go in together when it answers `Ok`, none of
    /// them when it answers `Err`. Other writers wait meanwhile; readers do not.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = Tx(self.0.write_tx());
        let out = f(&mut tx)?;
        tx.0.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Blocks until every committed write is on disk.
    pub fn persist(&self) -> Result<(), StoreError> {
        Ok(self.0.persist(PersistMode::SyncAll)?)
    }
}

/// A write transaction (see [`Db::write`]).
pub struct Tx<'a>(fjall::SingleWriterWriteTx<'a>);

impl Tx<'_> {
    /// Reads `key` as this transaction sees it (its own writes included).
    pub fn get(&self, tree: &Tree, key: impl AsRef<[u8]>) -> Result<Option<Slice>, StoreError> {
        Ok(self.0.get(tree.keyspace().inner(), key)?)
    }

    pub fn insert(&mut self, tree: &Tree, key: impl Into<Slice>, value: impl Into<Slice>) {
        self.0.insert(tree.keyspace(), key, value);
    }

    pub fn remove(&mut self, tree: &Tree, key: impl Into<Slice>) {
        self.0.remove(tree.keyspace(), key);
    }
}
