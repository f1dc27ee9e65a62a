//! The real `otpd serve` binary killed with SIGKILL: everything it acknowledged (sessions,
//! counted OTPs) is there after a restart. Also reads codes from the LOG channel's output, as
//! the README's quick start does.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otpd::domain::{Brand, BrandName, ChannelKind, DeliveryStatus};
use otpd::store::{Durability, Store};

use crate::delivery::Gateway;
use crate::process::{free_port, logged_codes, serve};
use serde_json::{Value, json};

struct Otpd {
    child: Child,
    output: Arc<Mutex<String>>,
    base: String,
}

const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

async fn start(dir: &std::path::Path) -> Otpd {
    start_at(dir, None).await
}

/// Starts `otpd serve`; with `ahead`, under libfaketime with the wall clock that far ahead
/// (as if the server had been down that long).
async fn start_at(dir: &std::path::Path, ahead: Option<&str>) -> Otpd {
    start_with(dir, ahead, &[]).await
}

async fn start_with(dir: &std::path::Path, ahead: Option<&str>, env: &[(&str, &str)]) -> Otpd {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_otpd"));
    if let Some(offset) = ahead {
        // Preloaded into otpd itself (the `faketime` wrapper would fork, and SIGKILL would hit
        // the wrapper); the monotonic clock stays real, so timers behave.
        assert!(
            Path::new(FAKETIME_LIB).exists(),
            "this test needs libfaketime: apt-get install -y faketime"
        );
        command
            .env("LD_PRELOAD", FAKETIME_LIB)
            .env("FAKETIME", offset)
            .env("DONT_FAKE_MONOTONIC", "1");
    }
    command
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args([
            "--public-listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("OTPD_CLIENT_RATE_LIMIT_PER_MINUTE", "0")
        .env_remove("OTPD_SERVER_KEYS")
        .envs(env.iter().copied());
    let serving = serve(command, port).await;
    Otpd {
        child: serving.child,
        output: serving.output,
        base: serving.base,
    }
}

impl Otpd {
    /// Opens a session for `mobile` at `brand` and returns the matching generate body.
    async fn generate_body(&self, brand: &str, mobile: &str) -> Value {
        let req = json!({"identifierType": "MOBILE", "identifierValue": mobile, "brand": brand, "deviceId": "d1"});
        let session = self.post("/auth/v1/token/generate", &req).await["user"]["sessionId"].clone();
        assert!(session.is_string(), "token/generate failed for {mobile}");
        let mut generate = req;
        generate["sessionId"] = session;
        generate
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The codes in the LOG-channel lines so far (`text=<code> is your DEMO code…`).
    fn logged_codes(&self) -> Vec<String> {
        logged_codes(&self.output)
    }

    /// The last code logged, once at least `n` were logged and no more arrive for 300 ms
    /// (after a restart, jobs unfinished at the kill are delivered again: at least once).
    async fn last_code(&self, n: usize) -> String {
        let mut seen = 0;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let codes = self.logged_codes();
            if codes.len() >= n && codes.len() == seen {
                return codes.last().unwrap().clone();
            }
            seen = codes.len();
        }
        panic!("no code logged: {}", self.output.lock().unwrap());
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

#[tokio::test]
async fn acknowledged_state_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path()).await;
    first.kill();
    // Lower DEMO's limit while no server runs.
    {
        let store = open_store(dir.path());
        let mut demo = store
            .brand(&BrandName::parse("DEMO").unwrap())
            .await
            .unwrap()
            .unwrap();
        demo.settings.daily_otp_limit = 3;
        demo.settings.resend_cooldown_seconds = 0;
        store.put_brand(&demo).await.unwrap();
        store.close().await.unwrap();
    }

    let otpd = start(dir.path()).await;
    let generate = otpd.generate_body("DEMO", "+84901234567").await;
    for _ in 0..2 {
        assert_eq!(
            otpd.post("/auth/v1/otp/generate", &generate).await["status"]["code"],
            200
        );
    }
    let before_kill = otpd.last_code(2).await;
    otpd.kill();

    let otpd = start(dir.path()).await;
    assert_eq!(
        otpd.post("/auth/v1/otp/generate", &generate).await["status"]["code"],
        200,
        "the session survived"
    );
    assert_eq!(
        otpd.post("/auth/v1/otp/generate", &generate).await["status"]["code"],
        1534,
        "two were counted before the kill"
    );
    let newest = otpd.last_code(1).await;
    let mut stale = generate.clone();
    stale["otp"] = json!(before_kill);
    if before_kill != newest {
        assert_eq!(
            otpd.post("/auth/v1/otp/validate", &stale).await["status"]["code"],
            1506,
            "a replaced code is dead"
        );
    }
    let mut validate = generate.clone();
    validate["otp"] = json!(newest);
    assert_eq!(
        otpd.post("/auth/v1/otp/validate", &validate).await["status"]["code"],
        200
    );
    otpd.kill();
}

/// The store of a stopped server, opened with its key ring (brand records are sealed).
fn open_store(dir: &Path) -> Store {
    let keys = otpd::secrets::ServerKeys::load_or_create(dir).unwrap();
    Store::open(
        &dir.join("store"),
        Durability::FlushEach,
        std::sync::Arc::new(keys),
    )
    .unwrap()
}

#[tokio::test]
async fn queued_deliveries_survive_sigkill_and_dead_codes_are_never_sent() {
    let gateway = Gateway::start(503).await; // the provider is down
    let dir = tempfile::tempdir().unwrap();
    start(dir.path()).await.kill(); // first start: keys and the demo brand
    {
        let store = &open_store(dir.path());
        let sms = gateway.sms_channel();
        // DEMO's codes live 60 s; LONG's 10 min.
        let mut demo = store
            .brand(&BrandName::parse("DEMO").unwrap())
            .await
            .unwrap()
            .unwrap();
        demo.settings.otp_ttl_seconds = 60;
        demo.channels.insert(ChannelKind::Sms, sms.clone());
        store.put_brand(&demo).await.unwrap();
        let mut long = Brand::new(BrandName::parse("LONG").unwrap(), Default::default(), 0);
        long.channels.insert(ChannelKind::Sms, sms);
        assert!(store.create_brand(&long).await.unwrap());
        store.close().await.unwrap();
    }

    let otpd = start(dir.path()).await;
    let mut sessions = Vec::new();
    for (brand, mobile) in [("DEMO", "+84901111111"), ("LONG", "+84902222222")] {
        let generate = otpd.generate_body(brand, mobile).await;
        assert_eq!(
            otpd.post("/auth/v1/otp/generate", &generate).await["status"]["code"],
            200
        );
        sessions.push(generate);
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // a try or two fail meanwhile
    otpd.kill();

    // Back 90 s later: DEMO's code is dead, LONG's still lives. The provider is back too.
    gateway
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    let otpd = start_at(dir.path(), Some("+90s")).await;
    for _ in 0..100 {
        if !gateway.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = gateway.received();
    assert!(!delivered.is_empty(), "the live code was delivered");
    assert!(
        delivered.iter().all(|m| m["to"] == "+84902222222"),
        "the dead code was never sent: {delivered:?}"
    );
    let message = delivered[0]["message"].as_str().unwrap();
    let code: String = message.chars().take_while(char::is_ascii_digit).collect();
    let mut validate = sessions[1].clone();
    validate["otp"] = json!(code);
    assert_eq!(
        otpd.post("/auth/v1/otp/validate", &validate).await["status"]["code"],
        200
    );
    otpd.kill();

    {
        let store = &open_store(dir.path());
        let records = store
            .log_page(&otpd::store::LogSelection::default(), 10)
            .await
            .unwrap();
        let status = |brand: &str| records.iter().find(|r| r.brand == brand).unwrap().delivery;
        assert_eq!(status("DEMO"), DeliveryStatus::Expired);
        assert_eq!(status("LONG"), DeliveryStatus::Sent);
        assert_eq!(store.queued_jobs().await.unwrap(), 0);
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn sigterm_drains_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut otpd = start(dir.path()).await;
    let generate = otpd.generate_body("DEMO", "+84901234567").await;
    assert_eq!(
        otpd.post("/auth/v1/otp/generate", &generate).await["status"]["code"],
        200
    );

    let pid = otpd.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = otpd.child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = exited.unwrap_or_else(|| {
        let _ = otpd.child.kill();
        let _ = otpd.child.wait();
        panic!("otpd did not stop within 5 s of SIGTERM")
    });
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(100)); // the reader thread drains stdout
    assert!(
        otpd.output.lock().unwrap().contains("stopped"),
        "it says it stopped"
    );

    // Everything is on disk: the session still takes a resend after 30 s of cooldown.
    let otpd = start_at(dir.path(), Some("+31s")).await;
    assert_eq!(
        otpd.post("/auth/v1/otp/generate", &generate).await["status"]["code"],
        200
    );
    otpd.kill();
}

#[tokio::test]
async fn the_key_ring_can_live_in_the_environment_instead_of_a_file() {
    let ring = otpd::secrets::ServerKeys::new_key_file(7).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let otpd = start_with(dir.path(), None, &[("OTPD_SERVER_KEYS", &ring)]).await;
    assert!(
        !dir.path().join(otpd::secrets::KEY_FILE).exists(),
        "no key file is written"
    );
    let jwks: Value = reqwest::get(format!("{}/auth/v1/.well-known/jwks.json", otpd.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected =
        serde_json::to_value(otpd::secrets::ServerKeys::from_json(&ring).unwrap().jwks()).unwrap();
    assert_eq!(jwks, expected, "the published key is the environment's");
    assert_eq!(jwks["keys"][0]["kid"], "7");
    otpd.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let dir = tempfile::tempdir().unwrap();
    start(dir.path()).await.kill();
    {
        let store = &open_store(dir.path());
        let mut demo = store
            .brand(&BrandName::parse("DEMO").unwrap())
            .await
            .unwrap()
            .unwrap();
        demo.settings.daily_otp_limit = 100_000;
        demo.settings.resend_cooldown_seconds = 0;
        store.put_brand(&demo).await.unwrap();
        store.close().await.unwrap();
    }
    let otpd = start(dir.path()).await;
    let customers: Vec<String> = (0..16).map(|i| format!("+849100000{i:02}")).collect();
    let mut requests = Vec::new();
    for mobile in &customers {
        let generate = otpd.generate_body("DEMO", mobile).await;
        requests.push(generate);
    }
    // Every customer's client fires generates back to back; the server dies in the middle.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicU32>> =
        Arc::new(customers.iter().map(|_| AtomicU32::new(0)).collect());
    let mut clients = Vec::new();
    for (i, body) in requests.into_iter().enumerate() {
        let (stop, acked, url) = (
            stop.clone(),
            acked.clone(),
            format!("{}/auth/v1/otp/generate", otpd.base),
        );
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.load(Ordering::SeqCst) {
                let Ok(r) = http.post(&url).json(&body).send().await else {
                    break;
                };
                let Ok(answer) = r.json::<Value>().await else {
                    break;
                };
                if answer["status"]["code"] == 200 {
                    acked[i].fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    otpd.kill(); // SIGKILL with requests in flight
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let total: u32 = acked.iter().map(|a| a.load(Ordering::SeqCst)).sum();
    assert!(total > 20, "the load ran ({total} codes acknowledged)");

    {
        let store = &open_store(dir.path());
        let demo = BrandName::parse("DEMO").unwrap();
        for (i, mobile) in customers.iter().enumerate() {
            let dest = otpd::domain::Destination::mobile(mobile).unwrap();
            let acked = acked[i].load(Ordering::SeqCst);
            let counted = store
                .usage(&demo, &dest)
                .await
                .unwrap()
                .map_or(0, |u| u.count);
            let customer = otpd::store::LogSelection {
                brand: Some(demo.clone()),
                destination: Some(dest.clone()),
                ..Default::default()
            };
            let logged = store
                .log_page(&customer, 100_000)
                .await
                .unwrap()
                .iter()
                .filter(|r| r.outcome == 200)
                .count();
            assert!(
                counted >= acked,
                "{mobile}: {acked} acknowledged but {counted} counted"
            );
            assert!(
                logged >= acked as usize,
                "{mobile}: {acked} acknowledged but {logged} logged"
            );
        }
        store.close().await.unwrap();
    }
    // And the store opens cleanly for a new server.
    start(dir.path()).await.kill();
}
