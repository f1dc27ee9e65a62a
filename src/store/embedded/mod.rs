//! The embedded store, on fjall (an LSM tree; `kv.rs` is all of it the store uses): one process
//! owns it (fjall locks its directory). One tree (keyspace) per concern (layout in `keys.rs`),
//! records encoded as every engine encodes them (`store/records.rs`), and ONE transaction for
//! issuing a code (`EmbeddedStore::issue`, in `sessions.rs`). Only [`crate::store::Store`] calls
//! it. The methods are grouped by concern: `brands` (and the audit trail), `sessions` (with
//! issuing and the signature replay cache), `usage`, `log`, `stats` (the dashboard's hourly
//! counters), `jobs` (the outbox), `operators` (console accounts and sessions),
//! `housekeeping`; `flusher` is the group commit, `legacy` moves a store of otpd 0.1 (sled) in.

mod audit;
mod backup;
mod brands;
mod export;
#[cfg(test)]
mod fixtures;
mod flusher;
mod housekeeping;
mod import;
mod jobs;
pub mod keys;
mod kv;
mod legacy;
mod log;
mod manifest;
mod operators;
mod sessions;
mod settings;
mod stats;
mod usage;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use backup::restore_raw;
use flusher::{DiskSync, Flusher};
pub use kv::Stamp;
use kv::Tree;
pub use manifest::OnDamage;

use super::{
    BrandCache, Durability, IssueInput, IssueWrite, LoadedBrand, RawRecords, StatRow, StoreError,
    TokenDigest, records,
};
use crate::domain::{Brand, BrandName};
use crate::secrets::ServerKeys;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: kv::Db,
    brands: Tree,
    sessions: Tree,
    usage: Tree,
    overrides: Tree,
    /// False while `overrides` is known to be empty, as it nearly always is: the issuing
    /// transaction then skips looking up the customer's override. Set before the first
    /// override is written; never cleared (a removal leaves it set until the next start).
    any_override: Arc<AtomicBool>,
    outbox: Tree,
    log: Tree,
    log_by_dest: Tree,
    nonces: Tree,
    meta: Tree,
    /// When sessions, usage and nonces expire (see `keys::expiry`): what the sweeper walks.
    expiry: Tree,
    audit: Tree,
    stats: Tree,
    /// The dashboard's counts not yet in `stats` (see `stats.rs`).
    counts: Arc<stats::Counts>,
    operators: Tree,
    console_sessions: Tree,
    brand_cache: BrandCache,
    /// Seals brand records (they hold secrets).
    keys: Arc<ServerKeys>,
    flusher: Flusher,
    /// Makes the journal durable (see [`DiskSync`]).
    sync: DiskSync,
    durability: Durability,
    /// What the store is known to hold, kept outside its files (see `manifest.rs`).
    manifest: Arc<manifest::Manifest>,
    /// The outbox jobs being sent right now (see `jobs.rs`).
    claimed: jobs::Claims,
    /// No queued job is due before this (see `jobs.rs`).
    outbox_floor: jobs::Floor,
    /// New jobs on their way to the delivery worker, and when the outbox needs a scan
    /// (see `jobs.rs`).
    handoff: jobs::Handoff,
    unclaimed: jobs::Unclaimed,
    /// How many jobs are queued (see `jobs.rs`).
    outbox_depth: jobs::Depth,
}

/// The version of the store's layout and record formats. Raise it with any change an older
/// otpd would misread; an otpd refuses a store whose version is above its own.
/// 2: the issuance log is indexed by outcome, channel and delivery status, and sessions, usage
/// and nonces by expiry (an otpd of schema 1 would add records without those entries).
/// 3: the same trees and records in fjall instead of sled (moved in at the first start).
/// 4: the log is indexed by one entry per record for its outcome, channel and status together
/// (`keys::LogGroup`), not one per facet (an otpd of schema 3 would find no record by them).
pub const SCHEMA_VERSION: u32 = 4;

/// The `meta` key holding the store's schema version (u32 BE).
const SCHEMA_KEY: &str = "schema_version";

/// Refuses a store whose schema version (`found`, the `meta` value) is above `newest`: a newer
/// otpd wrote it, and this one would misread or overwrite its records.
fn refuse_newer(found: Option<&[u8]>, newest: u32) -> Result<(), StoreError> {
    match found.and_then(decode_u32) {
        Some(found) if found > newest => Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
        _ => Ok(()),
    }
}

/// Makes the directory entries of `dir` durable (what a power cut must not lose after files
/// in it were created or renamed).
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Engine(format!("{}: {e}", dir.display())))
}

/// Makes the entries of the store directory `dir` and of its parent durable, so that a power
/// cut right after the store was created cannot lose the directory itself.
fn sync_store_dirs(dir: &Path) -> Result<(), StoreError> {
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        sync_dir(d)?;
    }
    Ok(())
}

/// The `meta` key saying every session, usage record and nonce has its `expiry` entry.
const EXPIRY_BUILT: &str = "expiry_index_built";
/// The `meta` key saying every log record has its group entry (see `keys::LogGroup`).
const LOG_GROUPS_BUILT: &str = "log_groups_built";

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`; `on_damage` says what to do when it lacks records
    /// its manifest names. A store of otpd 0.1 (sled) there is moved into fjall first (see
    /// `legacy.rs`). fjall locks its directory; when another instance is still letting go of
    /// it (a quick restart), opening is retried for up to five seconds.
    pub fn open(
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
        on_damage: OnDamage,
    ) -> Result<Self, StoreError> {
        legacy::move_in(dir)?;
        let unreadable = |cause: String| StoreError::Unreadable {
            dir: dir.display().to_string(),
            cause,
        };
        let mut tries = 0;
        let db = loop {
            match kv::Db::open(dir) {
                Err(fjall::Error::Locked) if tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(fjall::Error::Locked) => {
                    return Err(StoreError::Locked(dir.display().to_string()));
                }
                Err(e @ fjall::Error::Io(_)) => return Err(e.into()),
                // Anything else is a file that is not what fjall wrote: a bad checksum, a
                // truncated table, a version or journal that does not parse.
                Err(e) => return Err(unreadable(e.to_string())),
                Ok(db) => break db,
            }
        };
        // Reading fails on a block whose checksum does not match: damage, found at the start.
        Self::open_db(db, dir, durability, keys, on_damage).map_err(|e| match e {
            StoreError::Engine(cause) => unreadable(cause),
            e => e,
        })
    }

    fn open_db(
        db: kv::Db,
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
        on_damage: OnDamage,
    ) -> Result<Self, StoreError> {
        let tree = |name: &str| db.tree(name);
        let counts = Arc::new(stats::Counts::new(db.clone(), tree("stats")?));
        // A newer otpd may have changed record formats this one would misread or overwrite.
        let found = tree("meta")?.get(SCHEMA_KEY)?;
        refuse_newer(found.as_deref(), SCHEMA_VERSION)?;
        let overrides = tree("overrides")?;
        let store = Self {
            brands: tree("brands")?,
            sessions: tree("sessions")?,
            usage: tree("usage")?,
            any_override: Arc::new(AtomicBool::new(!overrides.is_empty()?)),
            overrides,
            outbox: tree("outbox")?,
            log: tree("log")?,
            log_by_dest: tree("log_by_dest")?,
            nonces: tree("nonces")?,
            meta: tree("meta")?,
            expiry: tree("expiry")?,
            audit: tree("audit")?,
            stats: tree("stats")?,
            counts: counts.clone(),
            operators: tree("operators")?,
            console_sessions: tree("console_sessions")?,
            brand_cache: BrandCache::default(),
            keys,
            flusher: Flusher::new(),
            sync: DiskSync::new(db.clone(), dir, counts)?,
            durability,
            manifest: Arc::new(manifest::Manifest::beside(dir)),
            claimed: jobs::Claims::default(),
            outbox_floor: jobs::Floor::default(),
            handoff: jobs::Handoff::default(),
            unclaimed: jobs::Unclaimed::default(),
            outbox_depth: jobs::Depth::default(),
            db,
        };
        // Before the flusher starts: refused, the store lets go of its directory at once.
        store.find_outbox_floor()?;
        store.count_outbox()?;
        store.adopt_manifest(on_damage)?;
        if store.meta.get(EXPIRY_BUILT)?.is_none() {
            let indexed = store.build_expiry_index()?;
            store.meta.insert(EXPIRY_BUILT, [1])?;
            store.sync.flush()?;
            if indexed > 0 {
                tracing::info!(
                    records = indexed,
                    "indexed sessions, usage and nonces by expiry"
                );
            }
        }
        if store.meta.get(LOG_GROUPS_BUILT)?.is_none() {
            let indexed = store.build_log_groups()?;
            store.meta.insert(LOG_GROUPS_BUILT, [1])?;
            // What schema 2 and 3 wrote when they built their per-facet entries.
            store.meta.remove("log_facets_built")?;
            store.sync.flush()?;
            if indexed > 0 {
                tracing::info!(
                    records = indexed,
                    "indexed the issuance log by outcome, channel and delivery status"
                );
            }
        }
        store.flusher.start(store.sync.clone())?;
        store
            .meta
            .insert(SCHEMA_KEY, SCHEMA_VERSION.to_be_bytes())?;
        for brand in store.brands()? {
            store.cache_brand(brand);
        }
        Ok(store)
    }

    /// Stops the flusher and flushes once more; the store is closed when the last clone drops.
    /// What is still in memory goes into the trees' files first, so the next start has no
    /// journal to replay.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.flusher.stop().await;
        self.sync.flush()?;
        for tree in self.trees() {
            tree.flush_memory()?;
        }
        // Flushes again, after its own last write.
        self.checkpoint_at_close()
    }

    fn trees(&self) -> [&Tree; 14] {
        [
            &self.brands,
            &self.sessions,
            &self.usage,
            &self.overrides,
            &self.outbox,
            &self.log,
            &self.log_by_dest,
            &self.nonces,
            &self.meta,
            &self.expiry,
            &self.audit,
            &self.stats,
            &self.operators,
            &self.console_sessions,
        ]
    }

    fn cache_brand(&self, brand: Brand) {
        self.brand_cache.put(brand);
    }

    /// The brand from memory: no I/O on the request path.
    pub fn loaded_brand(&self, name: &BrandName) -> Option<Arc<LoadedBrand>> {
        self.brand_cache.get(name)
    }

    /// Waits until earlier writes are on disk, when the durability setting asks for it.
    /// None is acknowledged after a flush failed (see `flusher.rs`).
    pub async fn wait_durable(&self) -> Result<(), StoreError> {
        self.sync.check()?;
        match self.durability {
            Durability::FlushEach => self.flusher.wait_durable().await,
            Durability::Periodic => Ok(()),
        }
    }

    /// Before claimed jobs are sent, so that no crash of otpd alone takes back a code it sent:
    /// with flush-each, waits until their commits are on disk; with periodic, hands them to
    /// the operating system (a commit waits in fjall's journal buffer until the next flush,
    /// see `kv::Db::write`), one write for every job claimed since the last.
    pub async fn ready_to_send(&self) -> Result<(), StoreError> {
        self.sync.check()?;
        match self.durability {
            Durability::FlushEach => self.flusher.wait_durable().await,
            Durability::Periodic => self.db.write_out(),
        }
    }

    /// Readiness: the store accepts a write, and no flush has failed.
    pub fn probe(&self) -> Result<(), StoreError> {
        self.sync.check()?;
        self.meta.insert("ready_probe", [1])?;
        Ok(())
    }
}

pub(crate) fn decode_u32(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)
}

pub(crate) fn decode_u64(v: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(v).ok().map(u64::from_be_bytes)
}

pub(crate) fn decode_i64(v: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(v).ok().map(i64::from_be_bytes)
}

/// The manifest file of the store in `dir` (beside it, see `manifest.rs`).
pub fn manifest_path(dir: &Path) -> std::path::PathBuf {
    manifest::Manifest::path_for(dir)
}
