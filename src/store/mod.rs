//! The embedded sled store behind a narrow interface: every read and write of persistent state
//! goes through [`Store`]. One tree per concern (layout in `keys.rs`), versioned records
//! (`records.rs`), and ONE transaction for issuing a code ([`Store::issue`]).

mod flusher;
pub mod keys;
mod records;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use flusher::Flusher;

use crate::secrets::ServerKeys;

use crate::domain::limits::Usage;
use crate::domain::{
    Brand, BrandName, Destination, IssuanceRecord, OutboxJob, Refusal, Session, SessionId,
};

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
    brand_cache: BrandCache,
    /// Seals brand records (they hold secrets).
    keys: Arc<ServerKeys>,
    flusher: Flusher,
    durability: Durability,
}

const SCHEMA_VERSION: u32 = 1;

impl Store {
    /// Opens (or creates) the store in `dir`. Must run inside a tokio runtime (the flusher).
    /// sled locks its directory; when another instance is still letting go of it (a quick
    /// restart), opening is retried for up to five seconds.
    pub fn open(
        dir: &Path,
        durability: Durability,
        keys: Arc<ServerKeys>,
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
                other => break other?,
            }
        };
        let tree = |name: &str| db.open_tree(name);
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
            brand_cache: BrandCache::default(),
            keys,
            flusher: Flusher::start(db.clone()),
            durability,
            db,
        };
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
        self.flush_now()
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
        self.db.flush()?;
        Ok(())
    }

    /// Readiness: the store accepts a write.
    pub fn probe(&self) -> Result<(), StoreError> {
        self.meta.insert("ready_probe", &[1])?;
        Ok(())
    }

    // ---- brands ---------------------------------------------------------------------------
    // Brand writes are rare and must survive a crash: each flushes before it returns.

    pub fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        self.brands
            .iter()
            .map(|kv| {
                kv.map_err(StoreError::from)
                    .and_then(|(k, v)| records::decode_brand(&k, &v, &self.keys))
            })
            .collect()
    }

    pub fn brand(&self, name: &BrandName) -> Result<Option<Brand>, StoreError> {
        self.brands
            .get(keys::brand(name))?
            .map(|v| records::decode_brand(&keys::brand(name), &v, &self.keys))
            .transpose()
    }

    /// Inserts a brand unless one of that name exists; returns whether it was inserted.
    pub fn create_brand(&self, brand: &Brand) -> Result<bool, StoreError> {
        let inserted = self
            .brands
            .compare_and_swap(
                keys::brand(&brand.name),
                None as Option<&[u8]>,
                Some(records::encode_brand(brand, &self.keys)?),
            )?
            .is_ok();
        if inserted {
            self.db.flush()?;
            self.cache_brand(brand.clone());
        }
        Ok(inserted)
    }

    pub fn put_brand(&self, brand: &Brand) -> Result<(), StoreError> {
        self.brands.insert(
            keys::brand(&brand.name),
            records::encode_brand(brand, &self.keys)?,
        )?;
        self.db.flush()?;
        self.cache_brand(brand.clone());
        Ok(())
    }

    // ---- sessions -------------------------------------------------------------------------

    pub fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions
            .get(id.as_str())?
            .map(|v| records::decode_session(id, &v))
            .transpose()
    }

    pub fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        self.sessions
            .insert(s.id.as_str(), records::encode_session(s)?)?;
        Ok(())
    }

    /// Read-modify-write of one session, retried on concurrent change (compare-and-swap), so
    /// at most one of many concurrent validations can consume a code. `decide` must be pure.
    /// Returns the outcome `decide` gave, with the session as written (or as found).
    pub fn update_session<T>(
        &self,
        id: &SessionId,
        mut decide: impl FnMut(Option<&Session>) -> (Option<Session>, T),
    ) -> Result<T, StoreError> {
        loop {
            let current = self.sessions.get(id.as_str())?;
            let session = current
                .as_ref()
                .map(|v| records::decode_session(id, v))
                .transpose()?;
            let (next, outcome) = decide(session.as_ref());
            let Some(next) = next else { return Ok(outcome) };
            let encoded = records::encode_session(&next)?;
            if self
                .sessions
                .compare_and_swap(id.as_str(), current, Some(encoded))?
                .is_ok()
            {
                return Ok(outcome);
            }
        }
    }

    // ---- issuing --------------------------------------------------------------------------

    /// The issuing transaction: re-reads the session, the customer's usage and override,
    /// lets `decide` apply the limits, then writes the session (new code hash), the usage, the
    /// delivery job and the log record together. `decide` may run more than once: it must be
    /// free of side effects. Nothing is written when it refuses.
    pub fn issue(
        &self,
        input: &IssueInput<'_>,
        decide: impl Fn(Option<&Session>, Option<&Usage>, Option<u32>) -> Result<IssueWrite, Refusal>,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let customer = input.destination.map(|d| keys::customer(input.brand, d));
        let job = input
            .job
            .map(|j| Ok::<_, StoreError>((keys::outbox(j.due_ms, j.id), records::encode_job(j)?)))
            .transpose()?;
        let log_key = *input.log.id.as_bytes();
        let log_value = records::encode_log(input.log)?;
        let index_key = input
            .destination
            .map(|d| keys::log_by_dest(input.brand, d, input.log.id));
        let result = (
            &self.sessions,
            &self.usage,
            &self.overrides,
            &self.outbox,
            &self.log,
            &self.log_by_dest,
        )
            .transaction(|(sessions, usage, overrides, outbox, log, log_by_dest)| {
                let abort = |e: StoreError| ConflictableTransactionError::Abort(Err(e));
                let session = sessions
                    .get(input.session_id.as_str())?
                    .map(|v| records::decode_session(input.session_id, &v))
                    .transpose()
                    .map_err(abort)?;
                let (current, limit) = match &customer {
                    Some(customer) => (
                        usage
                            .get(customer)?
                            .map(|v| records::decode_usage(&v))
                            .transpose()
                            .map_err(abort)?,
                        overrides.get(customer)?.and_then(|v| decode_u32(&v)),
                    ),
                    None => (None, None),
                };
                let write = decide(session.as_ref(), current.as_ref(), limit)
                    .map_err(|r| ConflictableTransactionError::Abort(Ok(r)))?;
                sessions.insert(
                    input.session_id.as_str(),
                    records::encode_session(&write.session).map_err(abort)?,
                )?;
                if let (Some(u), Some(customer)) = (&write.usage, &customer) {
                    usage.insert(
                        customer.as_slice(),
                        records::encode_usage(u).map_err(abort)?,
                    )?;
                }
                if let Some((k, v)) = &job {
                    outbox.insert(&k[..], v.as_slice())?;
                }
                log.insert(&log_key[..], log_value.as_slice())?;
                if let Some(k) = &index_key {
                    log_by_dest.insert(k.as_slice(), &[] as &[u8])?;
                }
                Ok(())
            });
        match result {
            Ok(()) => Ok(Ok(())),
            Err(TransactionError::Abort(Ok(refusal))) => Ok(Err(refusal)),
            Err(TransactionError::Abort(Err(e))) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    // ---- payload-signature replay cache ---------------------------------------------------

    /// Remembers an accepted signature until `expires_ms`; false when it was already there.
    pub fn remember_nonce(
        &self,
        brand: &BrandName,
        hash: &[u8],
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        let fresh = self
            .nonces
            .compare_and_swap(
                keys::nonce(brand, hash),
                None as Option<&[u8]>,
                Some(&expires_ms.to_be_bytes()[..]),
            )?
            .is_ok();
        Ok(fresh)
    }

    // ---- usage and overrides --------------------------------------------------------------

    pub fn usage(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<Usage>, StoreError> {
        self.usage
            .get(keys::customer(brand, dest))?
            .map(|v| records::decode_usage(&v))
            .transpose()
    }

    /// Forgets a customer's count (an operator's reset); the cooldown is kept.
    pub fn reset_usage(&self, brand: &BrandName, dest: &Destination) -> Result<(), StoreError> {
        let key = keys::customer(brand, dest);
        self.usage.fetch_and_update(&key, |old| {
            let last = old
                .and_then(|v| records::decode_usage(v).ok())
                .and_then(|u| u.last_issued_ms);
            let cleared = Usage {
                last_issued_ms: last,
                ..Usage::default()
            };
            records::encode_usage(&cleared).ok()
        })?;
        Ok(())
    }

    pub fn limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<u32>, StoreError> {
        Ok(self
            .overrides
            .get(keys::customer(brand, dest))?
            .and_then(|v| decode_u32(&v)))
    }

    pub fn set_limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        let key = keys::customer(brand, dest);
        match limit {
            Some(n) => self.overrides.insert(key, &n.to_be_bytes())?,
            None => self.overrides.remove(key)?,
        };
        Ok(())
    }

    /// Every override of a brand: (destination, limit).
    pub fn limit_overrides(
        &self,
        brand: &BrandName,
    ) -> Result<Vec<(Destination, u32)>, StoreError> {
        let mut prefix = brand.as_str().as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.overrides.scan_prefix(&prefix) {
            let (k, v) = item?;
            let dest = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|s| Destination::parse_key(s).ok());
            if let (Some(dest), Some(limit)) = (dest, decode_u32(&v)) {
                out.push((dest, limit));
            }
        }
        Ok(out)
    }

    // ---- issuance log ---------------------------------------------------------------------

    pub fn append_log(&self, r: &IssuanceRecord) -> Result<(), StoreError> {
        self.log.insert(r.id.as_bytes(), records::encode_log(r)?)?;
        if let Some(dest) = r
            .destination
            .as_deref()
            .and_then(|d| Destination::parse_key(d).ok())
            && let Ok(brand) = BrandName::parse(&r.brand)
        {
            self.log_by_dest
                .insert(keys::log_by_dest(&brand, &dest, r.id), &[] as &[u8])?;
        }
        Ok(())
    }

    pub fn log_record(&self, id: uuid::Uuid) -> Result<Option<IssuanceRecord>, StoreError> {
        self.log
            .get(id.as_bytes())?
            .map(|v| records::decode_log(&v))
            .transpose()
    }

    /// Updates one log record in place (delivery progress, validation).
    pub fn update_log(
        &self,
        id: uuid::Uuid,
        f: impl Fn(&mut IssuanceRecord),
    ) -> Result<(), StoreError> {
        self.log.fetch_and_update(id.as_bytes(), |old| {
            let old = old?;
            match records::decode_log(old) {
                Ok(mut r) => {
                    f(&mut r);
                    records::encode_log(&r).ok().or_else(|| Some(old.to_vec()))
                }
                Err(_) => Some(old.to_vec()),
            }
        })?;
        Ok(())
    }

    /// Newest first, from `before` (exclusive), at most `limit`, keeping those `keep` accepts.
    pub fn log_page(
        &self,
        before: Option<uuid::Uuid>,
        limit: usize,
        keep: impl Fn(&IssuanceRecord) -> bool,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        self.log_scan(before, None, limit, keep)
    }

    /// Like [`Store::log_page`], stopping at records older than `since_ms`: ids are UUIDv7, so
    /// the tree is in time order and a time window is a key range.
    pub fn log_scan(
        &self,
        before: Option<uuid::Uuid>,
        since_ms: Option<i64>,
        limit: usize,
        keep: impl Fn(&IssuanceRecord) -> bool,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        let iter = match before {
            Some(id) => self.log.range(..id.as_bytes().to_vec()),
            None => self.log.range::<Vec<u8>, _>(..),
        };
        let mut out = Vec::with_capacity(limit.min(1000));
        for item in iter.rev() {
            let (_, v) = item?;
            let r = records::decode_log(&v)?;
            if since_ms.is_some_and(|since| r.time_ms < since) {
                break;
            }
            if keep(&r) {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// One customer's records, newest first, from `before` (exclusive), at most `limit`.
    pub fn customer_log(
        &self,
        brand: &BrandName,
        dest: &Destination,
        before: Option<uuid::Uuid>,
        limit: usize,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        let prefix = keys::log_by_dest_prefix(brand, dest);
        let iter = match before {
            Some(id) => {
                let mut upper = prefix.clone();
                upper.extend_from_slice(id.as_bytes());
                self.log_by_dest.range(prefix.clone()..upper)
            }
            None => self.log_by_dest.scan_prefix(&prefix),
        };
        let mut out = Vec::new();
        for item in iter.rev() {
            let (k, _) = item?;
            let Some(id) = k
                .get(prefix.len()..)
                .and_then(|b| uuid::Uuid::from_slice(b).ok())
            else {
                continue;
            };
            if let Some(r) = self.log_record(id)? {
                out.push(r);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    // ---- outbox ---------------------------------------------------------------------------

    /// Jobs due at `now_ms`, oldest first, at most `max`.
    pub fn due_jobs(&self, now_ms: i64, max: usize) -> Result<Vec<OutboxJob>, StoreError> {
        let mut out = Vec::new();
        for item in self.outbox.iter() {
            let (k, v) = item?;
            if keys::outbox_due(&k) > now_ms || out.len() >= max {
                break;
            }
            out.push(records::decode_job(&v)?);
        }
        Ok(out)
    }

    /// The time of the earliest job, to sleep until it.
    pub fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.outbox.first()?.map(|(k, _)| keys::outbox_due(&k)))
    }

    /// Moves a job to its new `due_ms` (a lease while sending, or a retry), atomically.
    pub fn reschedule_job(&self, old_due_ms: i64, job: &OutboxJob) -> Result<(), StoreError> {
        let old = keys::outbox(old_due_ms, job.id);
        let new = keys::outbox(job.due_ms, job.id);
        let value = records::encode_job(job)?;
        self.outbox
            .transaction(|t| {
                t.remove(&old[..])?;
                t.insert(&new[..], value.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => StoreError::Sled(e),
                TransactionError::Abort(()) => StoreError::Encode("reschedule aborted".into()),
            })?;
        Ok(())
    }

    /// Whether the job is still queued under its key (not finished, not moved).
    pub fn job_is_queued(&self, job: &OutboxJob) -> Result<bool, StoreError> {
        Ok(self.outbox.contains_key(keys::outbox(job.due_ms, job.id))?)
    }

    /// Deletes a finished job (with the sealed code it carried).
    pub fn finish_job(&self, job: &OutboxJob) -> Result<(), StoreError> {
        self.outbox.remove(keys::outbox(job.due_ms, job.id))?;
        Ok(())
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    // ---- housekeeping ---------------------------------------------------------------------

    /// Deletes expired sessions and nonces, usage older than two days, and log records older
    /// than `log_retention_ms`. Returns how many entries went.
    pub fn sweep(&self, now_ms: i64, log_retention_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.sessions.iter() {
            let (k, v) = item?;
            let expired = std::str::from_utf8(&k)
                .ok()
                .and_then(|s| SessionId::parse(s).ok())
                .and_then(|id| records::decode_session(&id, &v).ok())
                .is_none_or(|s| s.expires_ms <= now_ms);
            if expired {
                self.sessions.remove(k)?;
                removed += 1;
            }
        }
        for item in self.nonces.iter() {
            let (k, v) = item?;
            if decode_i64(&v).is_none_or(|exp| exp <= now_ms) {
                self.nonces.remove(k)?;
                removed += 1;
            }
        }
        let two_days_ago = now_ms - 2 * 86_400_000;
        for item in self.usage.iter() {
            let (k, v) = item?;
            let stale = records::decode_usage(&v).map_or(true, |u| {
                u.last_issued_ms.is_none_or(|t| t < two_days_ago)
                    && u.recent_ms.iter().all(|&t| t < now_ms - 7 * 86_400_000)
            });
            if stale {
                self.usage.remove(k)?;
                removed += 1;
            }
        }
        let cutoff = uuid::Builder::from_unix_timestamp_millis(
            u64::try_from(now_ms - log_retention_ms).unwrap_or(0),
            &[0; 10],
        )
        .into_uuid();
        for item in self.log.range(..cutoff.as_bytes().to_vec()) {
            let (k, v) = item?;
            if let Ok(r) = records::decode_log(&v)
                && let (Ok(brand), Some(dest)) = (
                    BrandName::parse(&r.brand),
                    r.destination
                        .as_deref()
                        .and_then(|d| Destination::parse_key(d).ok()),
                )
            {
                self.log_by_dest
                    .remove(keys::log_by_dest(&brand, &dest, r.id))?;
            }
            self.log.remove(k)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Every tree's raw contents, for backups and for tests that look for leaked codes.
    pub fn dump(&self) -> Result<Vec<(String, TreeDump)>, StoreError> {
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let entries = tree
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<Result<Vec<_>, _>>()?;
            out.push((String::from_utf8_lossy(&name).into_owned(), entries));
        }
        Ok(out)
    }
}

/// sled reports a held directory lock as `WouldBlock`, or wrapped as `Other` with a message.
fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

fn decode_u32(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)
}

fn decode_i64(v: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(v).ok().map(i64::from_be_bytes)
}

// ---- admin: brand read-modify-write and the audit trail -----------------------------------
// Added for the admin API and CLI (issue #2, item 6); kept in one block so the store's owner can
// move it.

/// One change made through the admin API: who, when, what.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    /// What was done, e.g. `brand.update`, `signing.rotate`.
    pub action: String,
    pub brand: Option<String>,
    /// The change itself (setting names and values; never a secret).
    pub detail: serde_json::Value,
}

/// The on-disk form of an [`AuditEntry`] (JSON, versioned like brands).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "version")]
enum AuditRecord {
    #[serde(rename = "1")]
    V1(AuditEntry),
}

impl Store {
    /// Rewrites one brand with `change`, retrying when another writer got there first
    /// (compare-and-swap), so two operators' edits never silently overwrite each other.
    /// `change` may run more than once: it must be free of side effects. `Ok(None)` when no
    /// brand has that name.
    pub fn update_brand<E: From<StoreError>>(
        &self,
        name: &BrandName,
        mut change: impl FnMut(Brand) -> Result<Brand, E>,
    ) -> Result<Option<Brand>, E> {
        let key = keys::brand(name);
        loop {
            let Some(current) = self.brands.get(&key).map_err(StoreError::from)? else {
                return Ok(None);
            };
            let next = change(records::decode_brand(&key, &current, &self.keys)?)?;
            let swapped = self
                .brands
                .compare_and_swap(
                    &key,
                    Some(current),
                    Some(records::encode_brand(&next, &self.keys)?),
                )
                .map_err(StoreError::from)?;
            if swapped.is_ok() {
                self.db.flush().map_err(StoreError::from)?;
                self.cache_brand(next.clone());
                return Ok(Some(next));
            }
        }
    }

    /// Appends to the audit trail (tree `audit`, key: time ms (i64 BE) · sled's monotonic id
    /// (u64 BE), so entries of the same millisecond keep their order).
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&entry.at_ms.max(0).to_be_bytes());
        key[8..].copy_from_slice(&self.db.generate_id()?.to_be_bytes());
        let value = serde_json::to_vec(&AuditRecord::V1(entry.clone()))
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        self.db.open_tree("audit")?.insert(key, value)?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let tree = self.db.open_tree("audit")?;
        let mut out = Vec::new();
        for item in tree.iter().rev().take(limit) {
            let (_, v) = item?;
            match serde_json::from_slice(&v) {
                Ok(AuditRecord::V1(e)) => out.push(e),
                Err(e) => return Err(StoreError::Decode("audit", e.to_string())),
            }
        }
        Ok(out)
    }
}
