//! Every read and write of persistent state goes through [`Store`]: one method per use case
//! (issue a code, consume it, remember a signature's nonce, claim a delivery job, page the
//! issuance log, …), each one atomic step, with nothing of the engine behind it showing. The
//! services never see a tree, a transaction, a flush or an engine error.
//!
//! The engine is the embedded store (`embedded/`, fjall, one process): the default and what most
//! installations run. Records are versioned and encoded the same way whatever stores them
//! (`records.rs`).
//!
//! Durability is the store's business too. A write that answers a client returns once it is
//! as durable as the configured [`Durability`] says; [`Store::batch`] lets a batch of requests
//! wait once for all its writes.

pub mod backup;
mod embedded;
mod pending_counts;
mod postgres;
mod records;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

pub use backup::BackupError;
pub use embedded::{OnDamage, SCHEMA_VERSION};

use crate::config::RuntimeOverrides;
use crate::domain::audit::AuditEntry;
use crate::domain::limits::Usage;
use crate::domain::stats::Counter;
use crate::domain::{
    Brand, BrandName, ChannelKind, ConsoleSession, DeliveryAttempt, DeliveryStatus, Destination,
    IssuanceRecord, Operator, OperatorName, OutboxJob, Refusal, Session, SessionId,
};
use crate::secrets::ServerKeys;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine failed: a disk error, a broken file.
    #[error("store: {0}")]
    Engine(String),
    #[error("store: could not encode a record: {0}")]
    Encode(String),
    #[error("store: could not decode a {0} record: {1}")]
    Decode(&'static str, String),
    #[error("store: a flush to disk failed; no write is acknowledged until otpd restarts")]
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
    #[error(
        "the store in {dir} is damaged: its files cannot be read ({cause}). Restore the newest \
         backup into a new data directory (`otpd restore --data-dir NEW FILE`)"
    )]
    Unreadable { dir: String, cause: String },
    #[error("store manifest: {0}")]
    Manifest(String),
}

/// How writes reach the disk before a request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// On disk before answering: an acknowledged OTP survives a power cut.
    FlushEach,
    /// Written to disk in the background every 500 ms: faster, the last ~0.5 s may be lost.
    Periodic,
}

/// A brand as the request path sees it: read from memory, with its time zone resolved.
#[derive(Debug)]
pub struct LoadedBrand {
    pub brand: Brand,
    pub tz: jiff::tz::TimeZone,
}

/// Dashboard counters are kept this long (they are small: a few per brand and hour).
pub const STATS_RETENTION_DAYS: u32 = 400;

/// When a customer's usage record may go: two days after the last code (the cooldown and
/// today's count need no more), and a week after the newest time in a rolling window.
pub(crate) fn usage_expires_ms(u: &Usage) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let last = u.last_issued_ms.map_or(0, |t| t + 2 * DAY_MS + 1);
    let window = u.recent_ms.iter().max().map_or(0, |&t| t + 7 * DAY_MS + 1);
    last.max(window)
}

/// The brands in memory, with their time zones resolved: what the request path reads.
#[derive(Clone, Default)]
pub(crate) struct BrandCache(Arc<RwLock<HashMap<BrandName, Arc<LoadedBrand>>>>);

impl BrandCache {
    pub(crate) fn put(&self, brand: Brand) {
        let tz =
            jiff::tz::TimeZone::get(&brand.settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let name = brand.name.clone();
        if let Ok(mut cache) = self.0.write() {
            cache.insert(name, Arc::new(LoadedBrand { brand, tz }));
        }
    }

    pub(crate) fn remove(&self, name: &BrandName) {
        if let Ok(mut cache) = self.0.write() {
            cache.remove(name);
        }
    }

    pub(crate) fn get(&self, name: &BrandName) -> Option<Arc<LoadedBrand>> {
        self.0.read().ok().and_then(|c| c.get(name).cloned())
    }

    /// Replaces every brand (a full reload).
    pub(crate) fn replace_all(&self, brands: Vec<Brand>) {
        let fresh = BrandCache::default();
        for b in brands {
            fresh.put(b);
        }
        let fresh = fresh.0.read().map(|f| f.clone()).unwrap_or_default();
        if let Ok(mut cache) = self.0.write() {
            *cache = fresh;
        }
    }
}

/// What an issue decision produces: the session and usage to write.
pub struct IssueWrite {
    pub session: Session,
    /// `None` for test identifiers: no limit is charged.
    pub usage: Option<Usage>,
}

/// A session as read before the transaction that issues its code ([`Store::read_session`]).
/// On the embedded store it carries its key's write stamp, taken before the read: when no
/// write to the session has committed since, the issuing transaction takes it as read instead
/// of reading it again. Elsewhere (PostgreSQL, or one made by [`ReadSession::unstamped`]) the
/// transaction reads the session again, locked.
#[derive(Clone, Debug)]
pub struct ReadSession {
    session: Session,
    stamp: Option<embedded::Stamp>,
}

impl ReadSession {
    /// A session the issuing transaction will read again.
    pub fn unstamped(session: Session) -> Self {
        Self {
            session,
            stamp: None,
        }
    }
}

impl std::ops::Deref for ReadSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

/// Everything [`Store::issue`] needs besides the decision.
pub struct IssueInput<'a> {
    /// The session as the request's checks read it.
    pub session: &'a ReadSession,
    pub brand: &'a BrandName,
    /// The customer whose usage is charged and whose history the record joins; `None` only
    /// for a test identifier without one (it charges nothing).
    pub destination: Option<&'a Destination>,
    pub job: Option<&'a OutboxJob>,
    pub log: &'a IssuanceRecord,
}

/// How a claimed job's delivery ended (see [`Store::finish_deliveries`]).
#[derive(Clone, Debug)]
pub struct Finished {
    pub job: OutboxJob,
    pub status: DeliveryStatus,
    /// The last try, when one was made (an expired code is dropped untried).
    pub attempt: Option<DeliveryAttempt>,
}

/// Which issuance-log records a page holds; every filter is optional.
#[derive(Clone, Debug, Default)]
pub struct LogSelection {
    pub brand: Option<BrandName>,
    pub destination: Option<Destination>,
    pub outcome: Option<u16>,
    pub channel: Option<ChannelKind>,
    pub delivery: Option<DeliveryStatus>,
    pub test: Option<bool>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// The cursor: records strictly older than this id.
    pub before: Option<uuid::Uuid>,
}

impl LogSelection {
    /// Whether `r` is selected (the cursor aside).
    pub fn selects(&self, r: &IssuanceRecord) -> bool {
        self.brand.as_ref().is_none_or(|b| r.brand == b.as_str())
            && self
                .destination
                .as_ref()
                .is_none_or(|d| r.destination.as_deref() == Some(d.key().as_str()))
            && self.outcome.is_none_or(|o| r.outcome == o)
            && self.channel.is_none_or(|c| r.channel == Some(c))
            && self.delivery.is_none_or(|d| r.delivery == d)
            && self.test.is_none_or(|t| r.test == t)
            && self.until_ms.is_none_or(|u| r.time_ms <= u)
            && self.since_ms.is_none_or(|s| r.time_ms >= s)
    }
}

/// Which audit entries a page holds.
#[derive(Clone, Debug, Default)]
pub struct AuditSelection {
    /// An operator name, lower case.
    pub actor: Option<String>,
    pub brand: Option<BrandName>,
    /// The cursor: entries older than this id.
    pub before: Option<String>,
}

impl AuditSelection {
    fn selects(&self, e: &AuditEntry) -> bool {
        self.actor.as_deref().is_none_or(|a| e.actor == a)
            && self
                .brand
                .as_ref()
                .is_none_or(|b| e.brand.as_deref() == Some(b.as_str()))
    }
}

/// One counter of one brand in one hour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatRow {
    pub hour: u32,
    pub brand: String,
    pub counter: Counter,
    pub count: u64,
}

/// The SHA-256 of a session token or setup token: what the store keys them by.
pub type TokenDigest = [u8; 32];

/// One stored record of any kind, as `otpd migrate` moves it from one engine to another:
/// decoded, so each engine writes it its own way.
#[derive(Debug)]
pub enum Record {
    Brand(Brand),
    Session(Session),
    Usage {
        brand: BrandName,
        customer: Destination,
        usage: Usage,
    },
    LimitOverride {
        brand: BrandName,
        customer: Destination,
        limit: u32,
    },
    Job(OutboxJob),
    Log(IssuanceRecord),
    Nonce {
        brand: BrandName,
        hash: Vec<u8>,
        expires_ms: i64,
    },
    Stat(StatRow),
    Audit(AuditEntry),
    Operator(Operator),
    ConsoleSession {
        key: TokenDigest,
        session: ConsoleSession,
    },
    ServerSettings(RuntimeOverrides),
}

/// One kind of record's raw contents: (key, value) bytes. For tests that look for leaked
/// codes, and for the store-size benchmark.
pub type RawRecords = Vec<(Vec<u8>, Vec<u8>)>;

tokio::task_local! {
    /// Set while a batch runs (see [`Store::batch`]): its writes do not wait one by one.
    static IN_BATCH: ();
}

#[derive(Clone)]
pub struct Store {
    engine: Engine,
}

#[derive(Clone)]
enum Engine {
    // Behind an Arc: a clone of the store is a pointer, whatever the engine holds.
    Embedded(Arc<embedded::EmbeddedStore>),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (or creates) the embedded store in `dir`, refusing a damaged one. Must run inside
    /// a tokio runtime (the background flush).
    pub fn open(
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
    ) -> Result<Self, StoreError> {
        Self::open_with(dir, durability, keys, OnDamage::Refuse)
    }

    /// Opens (or creates) the embedded store in `dir`; `on_damage` says what to do when it
    /// lacks records its manifest names.
    pub fn open_with(
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
        on_damage: OnDamage,
    ) -> Result<Self, StoreError> {
        let store = embedded::EmbeddedStore::open(dir, durability, keys, on_damage)?;
        Ok(Self {
            engine: Engine::Embedded(Arc::new(store)),
        })
    }

    /// Connects to the PostgreSQL database at `url` (see `store/postgres/`), bringing its
    /// schema up to date. A claimed delivery job stays with its node for `lease_ms`.
    pub async fn connect(
        url: &str,
        durability: Durability,
        keys: Arc<ServerKeys>,
        lease_ms: i64,
    ) -> Result<Self, StoreError> {
        let store = postgres::PgStore::connect(url, durability, keys, lease_ms).await?;
        Ok(Self {
            engine: Engine::Postgres(store),
        })
    }

    /// Restores a backup as the store directory `dir`, which must not hold a store yet. The
    /// records go into a sibling directory first, renamed into place only when the whole file
    /// was read and its count matched: a failed restore leaves nothing behind. A logical backup
    /// needs the key ring of the server that wrote it (`keys`); a format-1 file is copied as
    /// it was, without keys. Returns how many records went in.
    pub async fn restore_dir(
        dir: &Path,
        keys: Option<Arc<ServerKeys>>,
        input: &mut (impl std::io::Read + std::io::Seek),
    ) -> Result<u64, BackupError> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(BackupError::Format(format!(
                "{} already holds a store: restore into a new data directory",
                dir.display()
            )));
        }
        let format = backup::read_format(input)?;
        let staging = dir.with_file_name(format!(".restoring-{}", std::process::id()));
        let staged = match (format, keys) {
            (backup::Format::Raw, _) => embedded::restore_raw(&staging, input),
            (backup::Format::Logical, Some(keys)) => {
                Self::restore_staged(&staging, keys, input).await
            }
            (backup::Format::Logical, None) => Err(BackupError::Format(
                "restoring needs the server keys of the server that wrote the backup: copy its \
                 server-keys.json into the new data directory first (or set OTPD_SERVER_KEYS)"
                    .into(),
            )),
        };
        let staged_manifest = embedded::manifest_path(&staging);
        let n = match staged {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                let _ = std::fs::remove_file(&staged_manifest);
                return Err(e);
            }
        };
        if dir.exists() {
            std::fs::remove_dir(dir)?;
        }
        std::fs::rename(&staging, dir)?;
        // The staged store's manifest describes it; one left by an earlier store would not.
        let manifest = embedded::manifest_path(dir);
        if staged_manifest.exists() {
            std::fs::rename(&staged_manifest, &manifest)?;
        } else {
            match std::fs::remove_file(&manifest) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(n)
    }

    async fn restore_staged(
        staging: &Path,
        keys: Arc<ServerKeys>,
        input: &mut (impl std::io::Read + std::io::Seek),
    ) -> Result<u64, BackupError> {
        // Periodic: the close below flushes once, instead of once per record.
        let store = Self::open(staging, Durability::Periodic, keys)?;
        let restored = store.restore(input).await;
        store.close().await?;
        restored
    }

    /// Restores a logical backup (its header read by [`backup::read_format`]) into this
    /// store, which must hold no brand and no operator yet. Returns how many records went in.
    /// PostgreSQL takes the records in many transactions, so the whole file is read and
    /// checked first (every record decodes, every brand opens, the count matches): a damaged
    /// or truncated backup writes nothing.
    pub async fn restore(
        &self,
        input: &mut (impl std::io::Read + std::io::Seek),
    ) -> Result<u64, BackupError> {
        let empty = match &self.engine {
            Engine::Embedded(s) => s.is_empty()?,
            Engine::Postgres(p) => p.is_empty().await?,
        };
        if !empty {
            return Err(BackupError::Format(
                "the store already holds brands or operators: restore into an empty one".into(),
            ));
        }
        if let Engine::Postgres(_) = &self.engine {
            let start = input.stream_position()?;
            backup::check(input, self.keys())?;
            input.seek(std::io::SeekFrom::Start(start))?;
        }
        let mut reader = backup::Reader::open(input, self.keys())?;
        let mut n = 0;
        match &self.engine {
            Engine::Embedded(s) => {
                while let Some(record) = reader.next_record()? {
                    s.import(record)?;
                    n += 1;
                }
            }
            Engine::Postgres(p) => {
                let mut importer = postgres::Importer::new(p);
                while let Some(record) = reader.next_record()? {
                    importer.add(record).await?;
                    n += 1;
                }
                importer.finish().await?;
            }
        }
        Ok(n)
    }

    fn keys(&self) -> &ServerKeys {
        match &self.engine {
            Engine::Embedded(s) => s.keys(),
            Engine::Postgres(p) => p.keys(),
        }
    }

    /// Makes everything durable and lets go of the store (its files, its background work).
    pub async fn close(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.close().await,
            Engine::Postgres(p) => p.close().await,
        }
    }

    /// Readiness: the store accepts a write.
    pub async fn probe(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.probe(),
            Engine::Postgres(p) => p.probe().await,
        }
    }

    /// Runs `work` (a batch's items, one after another); the writes it makes are acknowledged
    /// together at its end instead of one by one. The error says they could not be made durable:
    /// then nothing `work` did may be reported as done.
    pub async fn batch<F: Future>(&self, work: F) -> (F::Output, Result<(), StoreError>) {
        let out = IN_BATCH.scope((), work).await;
        let durable = match &self.engine {
            Engine::Embedded(s) => s.wait_durable().await,
            // Each write was its own transaction, committed as the setting asks.
            Engine::Postgres(_) => Ok(()),
        };
        (out, durable)
    }

    /// Waits until a write that answers a client is as durable as the setting asks, unless it
    /// belongs to a batch (which waits once, at its end).
    async fn acknowledge(&self) -> Result<(), StoreError> {
        if IN_BATCH.try_with(|()| ()).is_ok() {
            return Ok(());
        }
        match &self.engine {
            Engine::Embedded(s) => s.wait_durable().await,
            Engine::Postgres(_) => Ok(()),
        }
    }

    // ---- brands -------------------------------------------------------------------------

    /// The brand from memory: no I/O on the request path.
    pub fn loaded_brand(&self, name: &BrandName) -> Option<Arc<LoadedBrand>> {
        match &self.engine {
            Engine::Embedded(s) => s.loaded_brand(name),
            Engine::Postgres(p) => p.loaded_brand(name),
        }
    }

    pub async fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.brands(),
            Engine::Postgres(p) => p.brands().await,
        }
    }

    pub async fn brand(&self, name: &BrandName) -> Result<Option<Brand>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.brand(name),
            Engine::Postgres(p) => p.brand(name).await,
        }
    }

    /// Creates a brand; `false` when one of that name exists. Durable when it returns.
    pub async fn create_brand(&self, brand: &Brand) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.create_brand(brand),
            Engine::Postgres(p) => p.create_brand(brand).await,
        }
    }

    /// Creates or replaces a brand. Durable when it returns.
    pub async fn put_brand(&self, brand: &Brand) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.put_brand(brand),
            Engine::Postgres(p) => p.put_brand(brand).await,
        }
    }

    /// Rewrites one brand with `change`, retried when another writer got there first, so two
    /// operators' edits never silently overwrite each other: `change` may run more than once
    /// and must be free of side effects. Returns the brand before and after; `Ok(None)` when
    /// no brand has that name. Durable when it returns.
    pub async fn update_brand<E: From<StoreError>>(
        &self,
        name: &BrandName,
        change: impl FnMut(Brand) -> Result<Brand, E> + Send,
    ) -> Result<Option<(Brand, Brand)>, E> {
        match &self.engine {
            Engine::Embedded(s) => s.update_brand(name, change),
            Engine::Postgres(p) => p.update_brand(name, change).await,
        }
    }

    /// Seals every brand record with the active server key; returns how many were rewritten.
    pub async fn reseal_brands(&self) -> Result<usize, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.reseal_brands(),
            Engine::Postgres(p) => p.reseal_brands().await,
        }
    }

    // ---- sessions, issuing, replay ------------------------------------------------------

    /// A session, as a request reads it before the transaction that may issue its code (see
    /// [`ReadSession`]).
    pub async fn read_session(&self, id: &SessionId) -> Result<Option<ReadSession>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.read_session(id),
            Engine::Postgres(p) => Ok(p.session(id).await?.map(ReadSession::unstamped)),
        }
    }

    /// Stores a new session (token/generate). Acknowledged when it returns.
    pub async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.insert_session(session)?,
            Engine::Postgres(p) => p.insert_session(session).await?,
        }
        self.acknowledge().await
    }

    /// Read-modify-write of one session, at most one writer at a time, so at most one of many
    /// concurrent validations can consume a code. `decide` must be pure (it may run more than
    /// once). Returns the outcome `decide` gave; a write is acknowledged when it returns.
    pub async fn update_session<T>(
        &self,
        id: &SessionId,
        decide: impl FnMut(Option<&Session>) -> (Option<Session>, T) + Send,
    ) -> Result<T, StoreError> {
        let outcome = match &self.engine {
            Engine::Embedded(s) => s.update_session(id, decide)?,
            Engine::Postgres(p) => p.update_session(id, decide).await?,
        };
        self.acknowledge().await?;
        Ok(outcome)
    }

    /// Issues a code in one atomic step: re-reads the session and the customer's usage, lets
    /// `decide` apply the limits (with the customer's override), then writes the session (new
    /// code hash), the usage, the delivery job and the log record together. `decide` may run
    /// more than once: it must be free of side effects. Nothing is written when it refuses.
    /// `committed` runs once the code is committed, before the wait for its acknowledgement
    /// (a caller that goes away during that wait still saw it committed); the code is
    /// acknowledged when this returns.
    pub async fn issue(
        &self,
        input: &IssueInput<'_>,
        decide: impl Fn(Option<&Session>, Option<&Usage>, Option<u32>) -> Result<IssueWrite, Refusal>
        + Send,
        committed: impl FnOnce() + Send,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let outcome = match &self.engine {
            Engine::Embedded(s) => s.issue(input, decide)?,
            Engine::Postgres(p) => p.issue(input, decide).await?,
        };
        if outcome.is_ok() {
            committed();
            self.acknowledge().await?;
        }
        Ok(outcome)
    }

    /// Remembers a signature's nonce until `expires_ms`; `false` when it was already seen
    /// (a replay).
    pub async fn remember_nonce(
        &self,
        brand: &BrandName,
        hash: &[u8],
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.remember_nonce(brand, hash, expires_ms),
            Engine::Postgres(p) => p.remember_nonce(brand, hash, expires_ms).await,
        }
    }

    // ---- usage and limit overrides ------------------------------------------------------

    pub async fn usage(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<Usage>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.usage(brand, dest),
            Engine::Postgres(p) => p.usage(brand, dest).await,
        }
    }

    /// Clears a customer's count for the day (the cooldown stays). Acknowledged when it returns.
    pub async fn reset_usage(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.reset_usage(brand, dest)?,
            Engine::Postgres(p) => p.reset_usage(brand, dest).await?,
        }
        self.acknowledge().await
    }

    pub async fn limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<u32>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.limit_override(brand, dest),
            Engine::Postgres(p) => p.limit_override(brand, dest).await,
        }
    }

    /// Sets (or with `None` removes) a customer's own daily limit. Acknowledged when it returns.
    pub async fn set_limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.set_limit_override(brand, dest, limit)?,
            Engine::Postgres(p) => p.set_limit_override(brand, dest, limit).await?,
        }
        self.acknowledge().await
    }

    pub async fn limit_overrides(
        &self,
        brand: &BrandName,
    ) -> Result<Vec<(Destination, u32)>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.limit_overrides(brand),
            Engine::Postgres(p) => p.limit_overrides(brand).await,
        }
    }

    // ---- the issuance log and the dashboard's counters ----------------------------------

    /// Records a refused generate of a known brand (an issued code is recorded by
    /// [`Store::issue`]).
    pub async fn record_refusal(&self, r: &IssuanceRecord) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.record_refusal(r),
            Engine::Postgres(p) => p.record_refusal(r).await,
        }
    }

    /// A delivery step of a record: its status, the channel it is on and the attempt made.
    pub async fn record_delivery(
        &self,
        id: uuid::Uuid,
        status: DeliveryStatus,
        channel: ChannelKind,
        attempt: Option<&DeliveryAttempt>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.record_delivery(id, status, channel, attempt, now_ms),
            Engine::Postgres(p) => {
                p.record_delivery(id, status, channel, attempt, now_ms)
                    .await
            }
        }
    }

    /// Marks a record's code as validated (counted once).
    pub async fn record_validated(&self, id: uuid::Uuid, now_ms: i64) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.record_validated(id, now_ms),
            Engine::Postgres(p) => p.record_validated(id, now_ms).await,
        }
    }

    pub async fn log_record(&self, id: uuid::Uuid) -> Result<Option<IssuanceRecord>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.log_record(id),
            Engine::Postgres(p) => p.log_record(id).await,
        }
    }

    /// Up to `limit` records that `selection` selects, newest first.
    pub async fn log_page(
        &self,
        selection: &LogSelection,
        limit: usize,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.log_page(selection, limit),
            Engine::Postgres(p) => p.log_page(selection, limit).await,
        }
    }

    /// Every counter of the hours `from..=to` (hours since the epoch).
    pub async fn stats(&self, from_hour: u32, to_hour: u32) -> Result<Vec<StatRow>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.stats(from_hour, to_hour),
            Engine::Postgres(p) => p.stats(from_hour, to_hour).await,
        }
    }

    // ---- the outbox ---------------------------------------------------------------------

    /// Claims up to `max` jobs due at `now_ms`, oldest first: no other worker gets them until
    /// this one finishes or retries them (or, should it die, they are due again). A claimed
    /// job is durable: its code may be sent.
    pub async fn claim_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => {
                let jobs = s.claim_jobs(now_ms, max)?;
                // A job is read from memory as soon as it is committed: nothing is sent
                // before a crash can no longer lose it (see `ready_to_send`).
                if !jobs.is_empty() {
                    s.ready_to_send().await?;
                }
                Ok(jobs)
            }
            Engine::Postgres(p) => p.claim_jobs(now_ms, max).await,
        }
    }

    /// How many due jobs one claim should take while `free` of `workers` delivery workers are
    /// idle. The embedded engine takes a batch ahead (claims are free to hold; fewer passes over
    /// the outbox); PostgreSQL only what the free workers start at once, since a claim starts
    /// the job's lease and a job left waiting past it would be sent again by another node.
    pub fn claim_size(&self, free: usize, workers: usize) -> usize {
        match &self.engine {
            Engine::Embedded(_) => (workers - free.min(workers)) + workers * 4,
            Engine::Postgres(_) => free,
        }
    }

    /// Puts a claimed job back for a later try: `next` (the same job) says when and how.
    /// `false` when the claim was lost (the job is no longer this worker's).
    pub async fn retry_job(
        &self,
        claimed: &OutboxJob,
        next: &OutboxJob,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.retry_job(claimed, next),
            Engine::Postgres(p) => p.retry_job(claimed, next).await,
        }
    }

    /// Ends claimed jobs: deletes each (with the sealed code it carried) and records how its
    /// delivery ended (as [`Store::record_delivery`] does), counted at `now_ms`. The embedded
    /// engine ends them in one transaction; PostgreSQL each in its own, side by side.
    pub async fn finish_deliveries(
        &self,
        done: &[Finished],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.finish_deliveries(done, now_ms),
            Engine::Postgres(p) => p.finish_deliveries(done, now_ms).await,
        }
    }

    /// How many jobs are queued (the depth gauge).
    pub async fn queued_jobs(&self) -> Result<usize, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => Ok(s.outbox_len()),
            Engine::Postgres(p) => p.queued_jobs().await,
        }
    }

    // ---- audit trail --------------------------------------------------------------------

    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.append_audit(entry),
            Engine::Postgres(p) => p.append_audit(entry).await,
        }
    }

    /// Up to `limit` entries that `selection` selects, newest first.
    pub async fn audit_page(
        &self,
        selection: &AuditSelection,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => {
                s.audit_page(selection.before.as_deref(), limit, |e| selection.selects(e))
            }
            Engine::Postgres(p) => p.audit_page(selection, limit).await,
        }
    }

    // ---- operators, console sessions, first-run setup -----------------------------------

    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.operators(),
            Engine::Postgres(p) => p.operators().await,
        }
    }

    pub async fn operator(&self, name: &OperatorName) -> Result<Option<Operator>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.operator(name),
            Engine::Postgres(p) => p.operator(name).await,
        }
    }

    pub async fn has_operators(&self) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.has_operators(),
            Engine::Postgres(p) => p.has_operators().await,
        }
    }

    /// Creates an operator; `false` when the name is taken. Durable when it returns.
    pub async fn create_operator(&self, o: &Operator) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.create_operator(o),
            Engine::Postgres(p) => p.create_operator(o).await,
        }
    }

    /// Rewrites one operator with `change` (retried on a concurrent write; it must be free of
    /// side effects). `Ok(None)` when no operator has that name. Durable when it returns.
    pub async fn update_operator<E: From<StoreError>>(
        &self,
        name: &OperatorName,
        change: impl FnMut(Operator) -> Result<Operator, E> + Send,
    ) -> Result<Option<Operator>, E> {
        match &self.engine {
            Engine::Embedded(s) => s.update_operator(name, change),
            Engine::Postgres(p) => p.update_operator(name, change).await,
        }
    }

    pub async fn create_console_session(
        &self,
        key: &TokenDigest,
        session: &ConsoleSession,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.create_console_session(key, session)?,
            Engine::Postgres(p) => p.create_console_session(key, session).await?,
        }
        self.acknowledge().await
    }

    pub async fn console_session(
        &self,
        key: &TokenDigest,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.console_session(key),
            Engine::Postgres(p) => p.console_session(key).await,
        }
    }

    /// Moves a console session's last activity up to `now_ms`.
    pub async fn touch_console_session(
        &self,
        key: &TokenDigest,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.touch_console_session(key, now_ms),
            Engine::Postgres(p) => p.touch_console_session(key, now_ms).await,
        }
    }

    pub async fn end_console_session(&self, key: &TokenDigest) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.end_console_session(key)?,
            Engine::Postgres(p) => p.end_console_session(key).await?,
        }
        self.acknowledge().await
    }

    /// Ends every session of one operator but `keep`; returns how many ended.
    pub async fn end_operator_sessions(
        &self,
        name: &OperatorName,
        keep: Option<&TokenDigest>,
    ) -> Result<usize, StoreError> {
        let ended = match &self.engine {
            Engine::Embedded(s) => s.end_operator_sessions(name, keep)?,
            Engine::Postgres(p) => p.end_operator_sessions(name, keep).await?,
        };
        self.acknowledge().await?;
        Ok(ended)
    }

    /// Ends sessions idle longer than `idle_ms` or older than `max_ms`; returns how many.
    pub async fn sweep_console_sessions(
        &self,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<usize, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.sweep_console_sessions(now_ms, idle_ms, max_ms),
            Engine::Postgres(p) => p.sweep_console_sessions(now_ms, idle_ms, max_ms).await,
        }
    }

    /// Stores the first-run setup token's digest (replacing any earlier one). Durable when it
    /// returns.
    pub async fn put_setup_token(
        &self,
        digest: &TokenDigest,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.put_setup_token(digest, expires_ms),
            Engine::Postgres(p) => p.put_setup_token(digest, expires_ms).await,
        }
    }

    /// Uses up the setup token if `digest` is it and it has not expired.
    pub async fn take_setup_token(
        &self,
        digest: &TokenDigest,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.take_setup_token(digest, now_ms),
            Engine::Postgres(p) => p.take_setup_token(digest, now_ms).await,
        }
    }

    // ---- server settings ----------------------------------------------------------------

    pub async fn runtime_overrides(&self) -> Result<RuntimeOverrides, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.runtime_overrides(),
            Engine::Postgres(p) => p.runtime_overrides().await,
        }
    }

    pub async fn put_runtime_overrides(&self, o: &RuntimeOverrides) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.put_runtime_overrides(o)?,
            Engine::Postgres(p) => p.put_runtime_overrides(o).await?,
        }
        self.acknowledge().await
    }

    // ---- housekeeping, backups ----------------------------------------------------------

    /// Deletes what has expired: sessions, nonces and usage past their time, log records
    /// older than `log_retention_ms`, old dashboard counters. Returns how many records went.
    pub async fn sweep(&self, now_ms: i64, log_retention_ms: i64) -> Result<usize, StoreError> {
        match &self.engine {
            // It may walk many records: off the request threads.
            Engine::Embedded(s) => {
                let s = s.clone();
                tokio::task::spawn_blocking(move || s.sweep(now_ms, log_retention_ms))
                    .await
                    .map_err(|e| StoreError::Engine(format!("the sweep task failed: {e}")))?
            }
            Engine::Postgres(p) => p.sweep(now_ms, log_retention_ms).await,
        }
    }

    /// Writes a logical backup of every record to `out` (see `backup.rs`); returns how many
    /// records it holds. The embedded engine reads each kind of record in one pass while the
    /// server runs (a write landing meanwhile may or may not be in it); PostgreSQL reads one
    /// snapshot.
    pub async fn backup(
        &self,
        out: &mut impl std::io::Write,
        now_ms: i64,
    ) -> Result<u64, BackupError> {
        let engine = match &self.engine {
            Engine::Embedded(_) => "embedded",
            Engine::Postgres(_) => "postgres",
        };
        let mut w = backup::Writer::begin(out, self.keys(), engine, now_ms)?;
        match &self.engine {
            Engine::Embedded(s) => s.export(&mut |r| w.record(r))?,
            Engine::Postgres(p) => p.export(&mut |r| w.record(r)).await?,
        };
        w.end()
    }

    /// Moves every record of this (embedded) store into `to`, an empty PostgreSQL store;
    /// returns how many. Run while no server uses either.
    pub async fn migrate_to(&self, to: &Store) -> Result<u64, StoreError> {
        let (Engine::Embedded(from), Engine::Postgres(into)) = (&self.engine, &to.engine) else {
            return Err(StoreError::Engine(
                "otpd migrate moves an embedded store into PostgreSQL".into(),
            ));
        };
        if !into.is_empty().await? {
            return Err(StoreError::Engine(
                "the database already holds brands or operators: migrate into an empty one".into(),
            ));
        }
        // The embedded engine reads on a blocking thread; the records stream through a
        // bounded channel, so the store never sits in memory whole.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(1024);
        let from = from.clone();
        let reader = tokio::task::spawn_blocking(move || {
            from.export(&mut |r| {
                tx.blocking_send(r)
                    .map_err(|_| StoreError::Engine("the import stopped".into()))
            })
        });
        let mut n = 0;
        let mut importer = postgres::Importer::new(into);
        while let Some(r) = rx.recv().await {
            importer.add(r).await?;
            n += 1;
        }
        importer.finish().await?;
        reader
            .await
            .map_err(|e| StoreError::Engine(format!("reading the store failed: {e}")))??;
        Ok(n)
    }

    /// Every record as stored, by kind: for tests that look for leaked codes and for the
    /// store-size benchmark.
    pub async fn raw_records(&self) -> Result<Vec<(String, RawRecords)>, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.dump(),
            Engine::Postgres(p) => p.raw_records().await,
        }
    }
}
