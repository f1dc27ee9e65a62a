//! The embedded sled store behind a narrow interface: every read and write of persistent state
//! goes through [`Store`]. One tree per concern (layout in `keys.rs`), versioned records
//! (`records.rs`), and ONE transaction for issuing a code (`Store::issue`, in `sessions.rs`).
//! The methods are grouped by concern: `brands` (and the audit trail), `sessions` (with issuing
//! and the signature replay cache), `usage`, `log`, `stats` (the dashboard's hourly counters),
//! `jobs` (the outbox), `operators` (console accounts and sessions), `housekeeping`; `flusher`
//! is the group commit.

mod audit;
mod backup;
mod brands;
mod flusher;
mod housekeeping;
mod jobs;
pub mod keys;
mod log;
mod manifest;
mod operators;
mod records;
mod sessions;
mod settings;
mod stats;
mod usage;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub use backup::BackupError;
use flusher::DiskSync;
pub use flusher::Flusher;
pub use log::LogFilter;
pub use manifest::OnDamage;
pub use operators::TokenDigest;
pub use stats::StatRow;

use crate::secrets::ServerKeys;

use crate::domain::limits::Usage;
use crate::domain::{Brand, BrandName, Destination, IssuanceRecord, OutboxJob, Session, SessionId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: could not encode a record: {0}")]
    Encode(String),
    #[error("store: could not decode a {0} record: {1}")]
    Decode(&'static str, String),
    #[error("store: flushing to disk failed")]
    FlushFailed,
    #[error("{0} is in use by another otpd (one process owns a store; stop the other first)")]
    Locked(String),
    #[error(
        "the store was written by a newer otpd (store schema {found}; this otpd reads up to \
         {supported}): run that version or a newer one, or restore a backup made before the upgrade"
    )]
    TooNew { found: u32, supported: u32 },
    #[error(
        "the store in {dir} is damaged: {findings}. Restore the newest backup into a new data \
         directory (`otpd restore --data-dir NEW FILE`), or start with --accept-store-loss to \
         serve what is left (what is missing stays lost)"
    )]
    Damaged { dir: String, findings: String },
    #[error("store manifest: {0}")]
    Manifest(String),
}

/// A tree's raw entries: (key, value) bytes.
pub type TreeDump = Vec<(Vec<u8>, Vec<u8>)>;

/// How writes reach the disk before a request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Flush (group commit) before answering: an acknowledged OTP survives a power cut.
    FlushEach,
    /// Rely on sled's background flush every 500 ms: faster, the last ~0.5 s may be lost.
    Periodic,
}

/// A brand as the request path sees it: read from memory, with its time zone resolved.
#[derive(Debug)]
pub struct LoadedBrand {
    pub brand: Brand,
    pub tz: jiff::tz::TimeZone,
}

type BrandCache = Arc<RwLock<HashMap<BrandName, Arc<LoadedBrand>>>>;

/// What an issue decision produces: the session and usage to write.
pub struct IssueWrite {
    pub session: Session,
    /// `None` for test identifiers: no limit is charged.
    pub usage: Option<Usage>,
}

/// Everything [`Store::issue`] needs besides the decision.
pub struct IssueInput<'a> {
    pub session_id: &'a SessionId,
    pub brand: &'a BrandName,
    /// The customer whose usage is charged and whose history the record joins; `None` only
    /// for a test identifier without one (it charges nothing).
    pub destination: Option<&'a Destination>,
    pub job: Option<&'a OutboxJob>,
    pub log: &'a IssuanceRecord,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    brands: sled::Tree,
    sessions: sled::Tree,
    usage: sled::Tree,
    overrides: sled::Tree,
    outbox: sled::Tree,
    log: sled::Tree,
    log_by_dest: sled::Tree,
    nonces: sled::Tree,
    meta: sled::Tree,
    /// When sessions, usage and nonces expire (see `keys::expiry`): what the sweeper walks.
    expiry: sled::Tree,
    audit: sled::Tree,
    stats: sled::Tree,
    operators: sled::Tree,
    console_sessions: sled::Tree,
    brand_cache: BrandCache,
    /// Seals brand records (they hold secrets).
    keys: Arc<ServerKeys>,
    flusher: Flusher,
    /// sled's flush followed by an fsync of its log (see [`DiskSync`]).
    sync: DiskSync,
    durability: Durability,
    /// What the store is known to hold, kept outside sled (see `manifest.rs`).
    manifest: Arc<manifest::Manifest>,
}

/// The version of the store's layout and record formats. Raise it with any change an older
/// otpd would misread; an otpd refuses a store whose version is above its own.
/// 2: the issuance log is indexed by outcome, channel and delivery status, and sessions, usage
/// and nonces by expiry (an otpd of schema 1 would add records without those entries).
pub const SCHEMA_VERSION: u32 = 2;

/// The `meta` key saying every session, usage record and nonce has its `expiry` entry.
const EXPIRY_BUILT: &str = "expiry_index_built";
/// The `meta` key saying every log record has its facet entries (see `keys::LogFacet`).
const LOG_FACETS_BUILT: &str = "log_facets_built";

impl Store {
    /// Opens (or creates) the store in `dir`, refusing a damaged one. Must run inside a tokio
    /// runtime (the flusher).
    pub fn open(
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
    ) -> Result<Self, StoreError> {
        Self::open_with(dir, durability, keys, OnDamage::Refuse)
    }

    /// Opens (or creates) the store in `dir`; `on_damage` says what to do when it lacks records
    /// its manifest names. sled locks its directory; when another instance is still letting go
    /// of it (a quick restart), opening is retried for up to five seconds.
    pub fn open_with(
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
        on_damage: OnDamage,
    ) -> Result<Self, StoreError> {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .flush_every_ms(Some(500));
        let mut tries = 0;
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e)) if is_lock_error(&e) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(sled::Error::Io(e)) if is_lock_error(&e) => {
                    return Err(StoreError::Locked(dir.display().to_string()));
                }
                other => break other?,
            }
        };
        let tree = |name: &str| db.open_tree(name);
        // A newer otpd may have changed record formats this one would misread or overwrite.
        let found = tree("meta")?
            .get("schema_version")?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(u32::from_be_bytes);
        if let Some(found) = found
            && found > SCHEMA_VERSION
        {
            return Err(StoreError::TooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let store = Self {
            brands: tree("brands")?,
            sessions: tree("sessions")?,
            usage: tree("usage")?,
            overrides: tree("overrides")?,
            outbox: tree("outbox")?,
            log: tree("log")?,
            log_by_dest: tree("log_by_dest")?,
            nonces: tree("nonces")?,
            meta: tree("meta")?,
            expiry: tree("expiry")?,
            audit: tree("audit")?,
            stats: tree("stats")?,
            operators: tree("operators")?,
            console_sessions: tree("console_sessions")?,
            brand_cache: BrandCache::default(),
            keys,
            flusher: Flusher::new(),
            sync: DiskSync::new(db.clone(), dir)?,
            durability,
            manifest: Arc::new(manifest::Manifest::beside(dir)),
            db,
        };
        // Before the flusher starts: refused, the store lets go of its directory at once.
        store.adopt_manifest(on_damage)?;
        if store.meta.get(EXPIRY_BUILT)?.is_none() {
            let indexed = store.build_expiry_index()?;
            store.meta.insert(EXPIRY_BUILT, &[1])?;
            store.sync.flush()?;
            if indexed > 0 {
                tracing::info!(
                    records = indexed,
                    "indexed sessions, usage and nonces by expiry"
                );
            }
        }
        if store.meta.get(LOG_FACETS_BUILT)?.is_none() {
            let indexed = store.build_log_facets()?;
            store.meta.insert(LOG_FACETS_BUILT, &[1])?;
            store.sync.flush()?;
            if indexed > 0 {
                tracing::info!(
                    records = indexed,
                    "indexed the issuance log by outcome, channel and delivery status"
                );
            }
        }
        store.flusher.start(store.sync.clone());
        store
            .meta
            .insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
        for brand in store.brands()? {
            store.cache_brand(brand);
        }
        Ok(store)
    }

    /// Stops the flusher and flushes once more; the store is closed when the last clone drops.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.flusher.stop().await;
        self.flush_now()?;
        self.checkpoint_at_close()
    }

    fn cache_brand(&self, brand: Brand) {
        let tz =
            jiff::tz::TimeZone::get(&brand.settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let name = brand.name.clone();
        if let Ok(mut cache) = self.brand_cache.write() {
            cache.insert(name, Arc::new(LoadedBrand { brand, tz }));
        }
    }

    /// The brand from memory: no I/O on the request path.
    pub fn loaded_brand(&self, name: &BrandName) -> Option<Arc<LoadedBrand>> {
        self.brand_cache
            .read()
            .ok()
            .and_then(|c| c.get(name).cloned())
    }

    /// Waits until earlier writes are on disk, when the durability setting asks for it.
    pub async fn settle(&self) -> Result<(), StoreError> {
        match self.durability {
            Durability::FlushEach => self.flusher.wait_durable().await,
            Durability::Periodic => Ok(()),
        }
    }

    /// A final, blocking flush (shutdown).
    pub fn flush_now(&self) -> Result<(), StoreError> {
        self.sync.flush()
    }

    /// Readiness: the store accepts a write.
    pub fn probe(&self) -> Result<(), StoreError> {
        self.meta.insert("ready_probe", &[1])?;
        Ok(())
    }
}

/// sled reports a held directory lock as `WouldBlock`, or wrapped as `Other` with a message.
fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
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
