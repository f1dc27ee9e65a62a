//! `spawn_app()`: a real server on port 0 with a temp store, a manual clock, captured
//! deliveries and captured log lines; plus small request helpers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use otpd::clock::Clock;
use otpd::config::Config;
use otpd::delivery::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender};
use otpd::domain::channel::Secret;
use otpd::domain::{Brand, BrandName, ChannelKind};
use serde_json::{Value, json};

/// A delivery the capture sender took.
#[derive(Clone, Debug)]
pub struct Captured {
    pub to: String,
    pub channel: ChannelKind,
    pub otp: String,
    pub text: String,
}

#[derive(Default)]
pub struct Capture {
    messages: Mutex<Vec<Captured>>,
    /// When set, every send fails temporarily (a provider that is down).
    pub failing: std::sync::atomic::AtomicBool,
}

impl Sender for Capture {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(async move {
            if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(SendError::Temporary("provider down (test)".into()));
            }
            self.messages.lock().unwrap().push(Captured {
                to: msg.to.address(),
                channel: msg.channel,
                otp: msg.otp.to_owned(),
                text: msg.rendered.text.clone(),
            });
            Ok(SendReceipt {
                provider_status: "captured".into(),
            })
        })
    }
}

impl Capture {
    pub fn all(&self) -> Vec<Captured> {
        self.messages.lock().unwrap().clone()
    }
}

/// Every log line any server in this test binary wrote (tracing is process-global).
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("otpd=debug")
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct TestApp {
    pub server: Option<otpd::RunningServer>,
    pub addr: SocketAddr,
    pub clock: Clock,
    pub capture: Arc<Capture>,
    pub client: reqwest::Client,
    pub config: Config,
    pub _dir: Arc<tempfile::TempDir>,
}

/// One tree of the embedded store in `data_dir`, opened as otpd opens it (with the database it
/// belongs to): for tests that change records behind a stopped server's back, as damage would.
pub fn raw_tree(
    data_dir: &std::path::Path,
    tree: &str,
) -> (fjall::SingleWriterTxDatabase, fjall::SingleWriterTxKeyspace) {
    let db = fjall::SingleWriterTxDatabase::builder(data_dir.join("store"))
        .open()
        .unwrap();
    let keyspace = db
        .keyspace(tree, fjall::KeyspaceCreateOptions::default)
        .unwrap();
    (db, keyspace)
}

pub fn test_config(dir: PathBuf) -> Config {
    Config {
        data_dir: dir,
        public_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        client_rate_limit_per_minute: 0,
        ..Config::default()
    }
}

/// The PostgreSQL server the suite runs on (`OTPD_TEST_PG=postgres://…/postgres`); unset, on
/// the embedded store.
pub fn postgres_server() -> Option<String> {
    std::env::var("OTPD_TEST_PG").ok().filter(|s| !s.is_empty())
}

/// Whether this run is on the embedded store. A test of something only the embedded engine
/// has (its files, `otpd backup`) returns at once on PostgreSQL, saying why.
pub fn on_embedded_store(why: &str) -> bool {
    let embedded = postgres_server().is_none();
    if !embedded {
        eprintln!("not run on PostgreSQL: this test {why}");
    }
    embedded
}

/// A new, empty database on `server` for one test; returns its URL.
pub async fn fresh_database(server: &str) -> String {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server (OTPD_TEST_PG) answers");
    tokio::spawn(connection);
    let name = format!("otpd_test_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    format!("{base}/{name}?sslmode=disable")
}

/// A test server on a fresh database of the PostgreSQL `server`, and a client of that
/// database, for tests that look at (or hold) rows behind the server's back.
pub async fn spawn_on_fresh_database(server: &str) -> (TestApp, tokio_postgres::Client) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(dir.path().to_path_buf());
    let database = fresh_database(server).await;
    config.store_url = Some(Secret::new(database.clone()));
    let app = spawn_with(config, dir).await;
    (app, database_client(&database).await)
}

/// A client of the PostgreSQL database at `url`.
pub async fn database_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    spawn_with(test_config(dir.path().to_path_buf()), dir).await
}

pub async fn spawn_with(mut config: Config, dir: Arc<tempfile::TempDir>) -> TestApp {
    captured_logs();
    if config.store_url.is_none()
        && let Some(server) = postgres_server()
    {
        config.store_url = Some(Secret::new(fresh_database(&server).await));
    }
    spawn_as_configured(config, dir).await
}

/// Starts a test server on exactly the store its config names (the embedded one unless
/// `store_url` is set), also in a PostgreSQL run: for tests that move records between the two.
pub async fn spawn_as_configured(config: Config, dir: Arc<tempfile::TempDir>) -> TestApp {
    captured_logs();
    let clock = Clock::manual("2026-11-26T10:00:00Z".parse().unwrap());
    start(config, dir, clock, Arc::new(Capture::default())).await
}

async fn start(
    config: Config,
    dir: Arc<tempfile::TempDir>,
    clock: Clock,
    capture: Arc<Capture>,
) -> TestApp {
    let options = otpd::RunOptions {
        clock: clock.clone(),
        log_sender: Some(capture.clone() as Arc<dyn Sender>),
        drain: Duration::from_secs(2),
        ..otpd::RunOptions::default()
    };
    let server = otpd::run(config.clone(), options).await.unwrap();
    TestApp {
        addr: server.public_addr.unwrap(),
        server: Some(server),
        clock,
        capture,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        config,
        _dir: dir,
    }
}

impl TestApp {
    pub fn services(&self) -> &otpd::service::Services {
        &self.server.as_ref().unwrap().services
    }

    /// Stops the server and starts it again on the same data directory and clock.
    pub async fn restart(self) -> TestApp {
        self.restart_after(|_| {}).await
    }

    /// Stops the server, lets `f` work on its data directory, and starts it again.
    pub async fn restart_after(mut self, f: impl FnOnce(&std::path::Path)) -> TestApp {
        self.server.take().unwrap().shutdown().await.unwrap();
        f(&self.config.data_dir);
        self.start_again().await
    }

    /// Stops the server, whose shutdown must fail (its store could not be closed cleanly), and
    /// starts it again; returns the new server and what the shutdown reported.
    pub async fn restart_after_failed_close(mut self) -> (TestApp, String) {
        let report = match self.server.take().unwrap().shutdown().await {
            Ok(()) => panic!("the shutdown reported no failure"),
            Err(e) => format!("{e:#}"),
        };
        (self.start_again().await, report)
    }

    async fn start_again(self) -> TestApp {
        let mut config = self.config.clone();
        config.public_listen = "127.0.0.1:0".parse().unwrap();
        start(
            config,
            self._dir.clone(),
            self.clock.clone(),
            self.capture.clone(),
        )
        .await
    }

    /// Changes the DEMO brand (or another) directly in the store.
    pub async fn update_brand(&self, name: &str, f: impl FnOnce(&mut Brand)) {
        let store = &self.services().store;
        let mut brand = store
            .brand(&BrandName::parse(name).unwrap())
            .await
            .unwrap()
            .unwrap();
        f(&mut brand);
        brand.settings.validate().unwrap();
        store.put_brand(&brand).await.unwrap();
    }

    /// A GET on the admin listener (no credentials), as text.
    pub async fn admin_get_text(&self, path: &str) -> String {
        let addr = self.server.as_ref().unwrap().admin_addr;
        self.client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }

    /// token/generate on the mobile path for `identifier` (TYPE, value); returns the session id.
    pub async fn session(&self, kind: &str, value: &str) -> String {
        let (status, body, _) = self
            .post("/auth/v1/token/generate", &mobile_req(kind, value, None))
            .await;
        assert_eq!(status, 200, "{body}");
        body["user"]["sessionId"].as_str().unwrap().to_owned()
    }

    pub async fn generate(
        &self,
        kind: &str,
        value: &str,
        session: &str,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        self.post(
            "/auth/v1/otp/generate",
            &mobile_req(kind, value, Some(session)),
        )
        .await
    }

    pub async fn validate(
        &self,
        kind: &str,
        value: &str,
        session: &str,
        otp: &str,
    ) -> (u16, Value) {
        let mut body = mobile_req(kind, value, Some(session));
        body["otp"] = json!(otp);
        let (s, b, _) = self.post("/auth/v1/otp/validate", &body).await;
        (s, b)
    }

    /// Waits for the next captured message to `to` after `seen` earlier ones, returns its code.
    pub async fn code_sent_to(&self, to: &str, seen: usize) -> String {
        for _ in 0..200 {
            let mine: Vec<_> = self
                .capture
                .all()
                .into_iter()
                .filter(|m| m.to == to)
                .collect();
            if mine.len() > seen {
                return mine[seen].otp.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no message to {to} arrived");
    }

    pub async fn log_records(&self) -> Vec<otpd::domain::IssuanceRecord> {
        self.services()
            .store
            .log_page(&otpd::store::LogSelection::default(), 100_000)
            .await
            .unwrap()
    }
}

pub const MOBILE: &str = "+84901234567";
pub const DEVICE: &str = "device-1";

/// A mobile-path request body.
pub fn mobile_req(kind: &str, value: &str, session: Option<&str>) -> Value {
    let mut body = json!({"identifierType": kind, "identifierValue": value, "brand": "DEMO", "deviceId": DEVICE});
    if let Some(s) = session {
        body["sessionId"] = json!(s);
    }
    body
}

pub fn code(body: &Value) -> i64 {
    body["status"]["code"].as_i64().unwrap_or(-1)
}
