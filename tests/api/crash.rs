//! The real `otpd serve` binary killed with SIGKILL: everything it acknowledged (sessions,
//! counted OTPs) is there after a restart. Also reads codes from the LOG channel's output, as
//! the README's quick start does.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otpd::domain::BrandName;
use otpd::store::{Durability, Store};
use serde_json::{Value, json};

struct Otpd {
    child: Child,
    output: Arc<Mutex<String>>,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &std::path::Path) -> Otpd {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args([
            "--public-listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .env("OTPD_CLIENT_RATE_LIMIT_PER_MINUTE", "0")
        .env_remove("OTPD_SERVER_KEYS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let sink = output.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/health/ready"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Otpd {
                child,
                output,
                base,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("otpd did not start: {}", output.lock().unwrap());
}

impl Otpd {
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
        self.output
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.contains("LOG channel delivery"))
            .filter_map(|l| {
                l.split("text=")
                    .nth(1)
                    .and_then(|t| t.split_whitespace().next())
                    .map(str::to_owned)
            })
            .collect()
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
        let store = Store::open(&dir.path().join("store"), Durability::FlushEach).unwrap();
        let mut demo = store
            .brand(&BrandName::parse("DEMO").unwrap())
            .unwrap()
            .unwrap();
        demo.settings.daily_otp_limit = 3;
        demo.settings.resend_cooldown_seconds = 0;
        store.put_brand(&demo).unwrap();
        store.close().await.unwrap();
    }

    let otpd = start(dir.path()).await;
    let req = json!({"identifierType": "MOBILE", "identifierValue": "+84901234567", "brand": "DEMO", "deviceId": "d1"});
    let session = otpd.post("/auth/v1/token/generate", &req).await["user"]["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut generate = req.clone();
    generate["sessionId"] = json!(session);
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
