//! The PostgreSQL engine: for installations that run several otpd nodes on one database. Every
//! node may answer any request and run the delivery worker; the database keeps the promises
//! exact across them:
//!
//! - issuing locks the session row, then the customer's usage row (always in that order), and
//!   lets the same pure decision as the embedded engine charge the limits (`issuing.rs`);
//! - a code is consumed under the session row's lock, so one validation wins;
//! - delivery jobs are claimed with `FOR UPDATE SKIP LOCKED`, their due time moved forward by a
//!   lease, so a job is sent by one node, and by another if that one dies (`jobs.rs`);
//! - a brand written through one node reaches the others' caches by `NOTIFY otpd_brands`
//!   (and a full reload every 30 s, for notifications lost while reconnecting).
//!
//! READ COMMITTED, explicit row locks, and a retry of the whole step on a serialization
//! failure or a deadlock. The schema is versioned SQL in `migrations/`, applied at start under
//! an advisory lock; a database newer than this otpd is refused.

mod admin;
mod counts;
mod export;
mod housekeeping;
mod import;
pub use import::Importer;
mod issuing;
mod jobs;
mod log;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::error::SqlState;
use tokio_rustls::rustls;

use super::{BrandCache, Durability, LoadedBrand, StoreError};
use crate::domain::{Brand, BrandName};
use crate::secrets::ServerKeys;

/// The schema versions, in order: `MIGRATIONS[i]` brings the database to version `i + 1`.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];
/// The version this otpd writes; it refuses a database above it.
pub const SCHEMA_VERSION: i32 = 1;
/// Any constant shared by every otpd: the advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x6f74_7064; // "otpd"
/// Connections per node (`nodes × this` must stay under the server's `max_connections`).
const POOL_SIZE: usize = 16;
/// How often the brand cache is reloaded whatever the notifications said.
const BRAND_RELOAD: Duration = Duration::from_secs(30);
/// How often a step is tried when the database reports a serialization failure or deadlock.
const TRIES: u32 = 8;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Seals brand records (they hold secrets).
    keys: Arc<ServerKeys>,
    brands: BrandCache,
    /// How long a claimed delivery job stays with its node before another may take it.
    lease_ms: i64,
    /// The dashboard's counts not yet in the database (see `counts.rs`).
    counts: Arc<counts::Counts>,
    stop: watch::Sender<bool>,
}

/// An error and its causes, each once ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer"): the driver's own text leaves the cause out.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The driver's text names the failed statement's problem; no parameter values.
        Self::Engine(with_causes(&e))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Engine(format!("the database is unavailable: {}", with_causes(&e)))
    }
}

/// Whether the whole step may be tried again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// A short, growing, jittered pause before try `n` (1-based) of a contended step.
async fn back_off(n: u32) {
    use rand::RngExt;
    let ms = 2u64.saturating_pow(n.min(8)) + rand::rng().random_range(0..5);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/db?sslmode=require`, several
    /// hosts allowed), applies the migrations this database lacks, loads the brands, and
    /// listens for brand changes made by other nodes. `Periodic` durability maps to
    /// `synchronous_commit = off` (a crash of the database may lose the last few hundred
    /// milliseconds of commits, never consistency).
    pub async fn connect(
        url: &str,
        durability: Durability,
        keys: Arc<ServerKeys>,
        lease_ms: i64,
    ) -> Result<Self, StoreError> {
        let (url, root_cert) = take_root_cert(url);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Engine(format!("the store URL is not valid: {e}")))?;
        config.application_name("otpd");
        if durability == Durability::Periodic {
            config.options("-c synchronous_commit=off");
        }
        config.connect_timeout(Duration::from_secs(10));
        let tls = tls(root_cert.as_deref())?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Engine(format!("the connection pool: {e}")))?;
        let (stop, stopped) = watch::channel(false);
        let store = Self {
            pool,
            keys,
            brands: BrandCache::default(),
            lease_ms,
            counts: Arc::default(),
            stop,
        };
        store.migrate().await?;
        store.reload_brands().await.map_err(|e| match e {
            StoreError::Decode("brand", _) => StoreError::Engine(
                "this node's server keys cannot open the database's brands: every node of an \
                 installation needs the same key ring (server-keys.json or OTPD_SERVER_KEYS)"
                    .into(),
            ),
            e => e,
        })?;
        let counts = store
            .counts
            .clone()
            .keep_writing(store.pool.clone(), stopped.clone());
        tokio::spawn(counts);
        tokio::spawn(store.clone().follow_brands(config, tls, stopped));
        Ok(store)
    }

    /// Brings the schema up to [`SCHEMA_VERSION`], one migration per transaction, while
    /// holding an advisory lock (nodes starting together migrate once).
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS otpd_schema (version integer NOT NULL)")
            .await?;
        let found: Option<i32> = tx
            .query_opt("SELECT max(version) FROM otpd_schema", &[])
            .await?
            .and_then(|row| row.get(0));
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: u32::try_from(SCHEMA_VERSION).unwrap_or(0),
            });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            tx.batch_execute(sql).await?;
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.execute("INSERT INTO otpd_schema (version) VALUES ($1)", &[&version])
                .await?;
            tracing::info!(version, "applied a PostgreSQL schema migration");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads every brand into the cache.
    async fn reload_brands(&self) -> Result<(), StoreError> {
        let brands = self.brands().await?;
        self.brands.replace_all(brands);
        Ok(())
    }

    /// Keeps the brand cache in step with the other nodes: one connection LISTENs for
    /// `otpd_brands` and reloads the brand it names; every [`BRAND_RELOAD`], and after a lost
    /// connection, everything is reloaded.
    async fn follow_brands(
        self,
        config: tokio_postgres::Config,
        tls: tokio_postgres_rustls::MakeRustlsConnect,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            match config.connect(tls.clone()).await {
                Ok((client, mut connection)) => {
                    let (tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
                    let messages = tokio::spawn(async move {
                        while let Some(message) =
                            std::future::poll_fn(|cx| connection.poll_message(cx)).await
                        {
                            match message {
                                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                    let _ = tx.send(n.payload().to_owned());
                                }
                                Ok(_) => {}
                                Err(_) => break,
                            }
                        }
                    });
                    if client.batch_execute("LISTEN otpd_brands").await.is_ok() {
                        // Changes made before LISTEN took effect.
                        let _ = self.reload_brands().await;
                        loop {
                            tokio::select! {
                                name = changed.recv() => match name {
                                    Some(name) => self.reload_brand(&name).await,
                                    None => break, // the connection ended
                                },
                                () = tokio::time::sleep(BRAND_RELOAD) => {
                                    if let Err(e) = self.reload_brands().await {
                                        tracing::warn!(error = %e, "reloading the brands failed");
                                    }
                                }
                                _ = stopped.changed() => {
                                    messages.abort();
                                    return;
                                }
                            }
                        }
                    }
                    messages.abort();
                }
                Err(e) => tracing::warn!(error = %e, "listening for brand changes failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    async fn reload_brand(&self, name: &str) {
        let Ok(name) = BrandName::parse(name) else {
            return;
        };
        match self.brand(&name).await {
            Ok(Some(brand)) => self.brands.put(brand),
            Ok(None) => self.brands.remove(&name),
            Err(e) => tracing::warn!(error = %e, brand = %name, "reloading a brand failed"),
        }
    }

    /// The brand from memory: no I/O on the request path.
    pub fn loaded_brand(&self, name: &BrandName) -> Option<Arc<LoadedBrand>> {
        self.brands.get(name)
    }

    fn cache_brand(&self, brand: Brand) {
        self.brands.put(brand);
    }

    /// Stops following brand changes, adds the last counts into the database and closes the
    /// pool.
    pub async fn close(&self) -> Result<(), StoreError> {
        let _ = self.stop.send(true);
        let counted = match self.pool.get().await {
            Ok(client) => self.counts.write_out(&client).await,
            Err(e) => Err(e.into()),
        };
        self.pool.close();
        counted
    }

    /// Readiness: the database answers and accepts a write.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO settings (name, value) VALUES ('ready_probe', 'true')
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[],
            )
            .await?;
        Ok(())
    }
}

/// TLS to the database (`sslmode=require` or `prefer` in the URL; `disable` for a database
/// on loopback), its certificate always verified, with its host name: against the CA
/// certificates of `root_cert` (PEM) when given, else the web's root certificates.
fn tls(root_cert: Option<&Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let roots = match root_cert {
        None => rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                StoreError::Engine(format!("sslrootcert {}: {e}", path.display()))
            };
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(bad(&"the file holds no PEM certificate"));
            }
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Engine(format!("TLS to the database: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Takes libpq's `sslrootcert=PATH` out of a store URL, which tokio-postgres would refuse as
/// unknown: `postgres://…?sslmode=require&sslrootcert=/etc/otpd/db-ca.pem`, or the
/// `key=value` form. Returns the URL without it, and the path.
fn take_root_cert(url: &str) -> (String, Option<PathBuf>) {
    const KEY: &str = "sslrootcert=";
    if let Some((base, query)) = url.split_once('?') {
        let mut root = None;
        let rest: Vec<&str> = query
            .split('&')
            .filter(|kv| match kv.strip_prefix(KEY) {
                Some(path) => {
                    root = Some(PathBuf::from(percent_decode(path)));
                    false
                }
                None => true,
            })
            .collect();
        let url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        (url, root)
    } else if url.contains("://") {
        (url.to_owned(), None)
    } else {
        let mut root = None;
        let rest: Vec<&str> = url
            .split_whitespace()
            .filter(|kv| match kv.strip_prefix(KEY) {
                Some(path) => {
                    root = Some(PathBuf::from(path));
                    false
                }
                None => true,
            })
            .collect();
        (rest.join(" "), root)
    }
}

/// `%XX` escapes of a URL query value (a path with a space or an `&` in it).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_of_either_url_form() {
        let (url, root) =
            take_root_cert("postgres://u@db/otpd?sslmode=require&sslrootcert=/etc/a%20b.pem");
        assert_eq!(url, "postgres://u@db/otpd?sslmode=require");
        assert_eq!(root.as_deref(), Some(Path::new("/etc/a b.pem")));
        let (url, root) = take_root_cert("postgres://u@db/otpd?sslrootcert=/ca.pem");
        assert_eq!(url, "postgres://u@db/otpd");
        assert_eq!(root.as_deref(), Some(Path::new("/ca.pem")));
        let (url, root) = take_root_cert("host=db sslrootcert=/ca.pem sslmode=require");
        assert_eq!(url, "host=db sslmode=require");
        assert_eq!(root.as_deref(), Some(Path::new("/ca.pem")));
        let (url, root) = take_root_cert("postgres://u@db/otpd");
        assert_eq!((url.as_str(), root), ("postgres://u@db/otpd", None));
    }
}
