//! Three real `otpd serve` processes on one PostgreSQL database (`OTPD_TEST_PG`; run by
//! `scripts/test-postgres.sh`): the daily limit, the cooldown and single use hold across them,
//! every delivery goes out once, a job held by a node that dies is sent by another after its
//! lease, and a brand changed through one node is in force on the others within 2 seconds.

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{fresh_database, postgres_server};
use crate::process::{free_port, logged_codes, serve};

/// The lease the nodes run with: a job held by a killed node is due again this soon.
const LEASE_SECONDS: &str = "10";

struct Node {
    child: Child,
    http: reqwest::Client,
    base: String,
    admin: String,
    token: String,
    output: Arc<Mutex<String>>,
    _dir: Option<tempfile::TempDir>,
}

impl Node {
    /// `otpd serve` on `db`, with its own data directory and the installation's key ring.
    async fn start(db: &str, keys: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut node = Self::serve(
            dir.path(),
            &[("OTPD_STORE_URL", db), ("OTPD_SERVER_KEYS", keys)],
        )
        .await;
        node._dir = Some(dir);
        node
    }

    /// `otpd serve` on the data directory `dir`, with `env` set.
    async fn serve(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let (port, admin_port) = (free_port(), free_port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_otpd"));
        command
            .args(["serve", "--data-dir"])
            .arg(dir)
            .args([
                "--public-listen",
                &format!("127.0.0.1:{port}"),
                "--admin-listen",
                &format!("127.0.0.1:{admin_port}"),
            ])
            .env_remove("OTPD_STORE_URL")
            .env_remove("OTPD_SERVER_KEYS")
            .envs(env.iter().copied())
            .env("OTPD_CLIENT_RATE_LIMIT_PER_MINUTE", "0")
            // A thousand connections opened at once: three debug-built servers on two cores
            // take longer than the default 5 s to read all their headers.
            .env("OTPD_HEADER_READ_TIMEOUT_SECONDS", "60")
            .env("OTPD_DELIVERY_LEASE_SECONDS", LEASE_SECONDS);
        let serving = serve(command, port).await;
        let token = std::fs::read_to_string(dir.join(otpd::ADMIN_TOKEN_FILE))
            .unwrap()
            .trim()
            .to_owned();
        Self {
            child: serving.child,
            // Idle connections are dropped before the server's 5 s header timeout closes
            // them (a request sent on one as it closes fails).
            http: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(1))
                .build()
                .unwrap(),
            base: serving.base,
            admin: format!("http://127.0.0.1:{admin_port}/admin/api"),
            token,
            output: serving.output,
            _dir: None,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        assert!(
            self.child.wait().unwrap().success(),
            "otpd did not stop cleanly"
        );
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.admin))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// A session for `mobile` at DEMO; returns the body for otp/generate.
    async fn session(&self, mobile: &str) -> Value {
        let mut req = json!({"identifierType": "MOBILE", "identifierValue": mobile, "brand": "DEMO", "deviceId": "d1"});
        let (_, body) = self.post("/auth/v1/token/generate", &req).await;
        req["sessionId"] = body["user"]["sessionId"].clone();
        assert!(req["sessionId"].is_string(), "token/generate: {body}");
        req
    }

    /// The codes in this node's LOG-channel lines (`text=<code> is your DEMO code…`).
    fn logged_codes(&self) -> Vec<String> {
        logged_codes(&self.output)
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SMS gateway stand-in (the generic HTTP provider's documented body: `to`, `message`)
/// that counts what it is sent per destination, each answer after `delay_ms`.
#[derive(Clone, Default)]
struct Gateway {
    sent: Arc<Mutex<BTreeMap<String, usize>>>,
    /// Requests that arrived, answered or not.
    arrived: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
}

impl Gateway {
    async fn start(&self) -> String {
        let g = self.clone();
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(move |body: axum::Json<Value>| {
                let g = g.clone();
                async move {
                    g.arrived.fetch_add(1, Ordering::SeqCst);
                    let delay = g.delay_ms.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    let to = body["to"].as_str().unwrap_or_default().to_owned();
                    *g.sent.lock().unwrap().entry(to).or_default() += 1;
                    axum::Json(json!({"id": "msg"}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/send")
    }

    fn sent(&self) -> BTreeMap<String, usize> {
        self.sent.lock().unwrap().clone()
    }
}

/// Three nodes on a fresh database, sharing one key ring.
async fn three_nodes() -> Option<(Vec<Node>, String, String)> {
    let Some(server) = postgres_server() else {
        eprintln!("not run on the embedded store: needs PostgreSQL (scripts/test-postgres.sh)");
        return None;
    };
    let db = fresh_database(&server).await;
    let keys = otpd::secrets::ServerKeys::new_key_file(1).unwrap();
    let first = Node::start(&db, &keys).await; // creates the schema and the demo brand
    let (second, third) = tokio::join!(Node::start(&db, &keys), Node::start(&db, &keys));
    Some((vec![first, second, third], db, keys))
}

/// Polls until `done` or `secs` pass; returns whether it was done.
async fn within(secs: u64, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Sends `n` requests at once, request `i` made by `call(i)`; returns how many got each (HTTP
/// status, API code).
async fn burst<F>(n: usize, call: impl Fn(usize) -> F) -> BTreeMap<(u16, i64), usize>
where
    F: Future<Output = (u16, Value)> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(call(i))).collect();
    let mut answers = BTreeMap::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        *answers.entry((status, code(&body))).or_default() += 1;
    }
    answers
}

/// `n` otp/generate requests for `mobile` over 30 sessions opened on the three nodes in turn,
/// request `i` sent to node `i % 3`.
async fn generate_burst(
    nodes: &Arc<Vec<Node>>,
    mobile: &str,
    n: usize,
) -> BTreeMap<(u16, i64), usize> {
    let mut sessions = Vec::new();
    for i in 0..30 {
        sessions.push(nodes[i % 3].session(mobile).await);
    }
    burst(n, |i| {
        let (nodes, body) = (nodes.clone(), sessions[i % 30].clone());
        async move { nodes[i % 3].post("/auth/v1/otp/generate", &body).await }
    })
    .await
}

fn code(body: &Value) -> i64 {
    body["status"]["code"].as_i64().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_keep_the_limits_single_use_and_brand_changes_exact() {
    let Some((nodes, _db, _keys)) = three_nodes().await else {
        return;
    };
    let nodes = Arc::new(nodes);

    // A brand change made through one node is in force on the others within 2 seconds.
    nodes[0]
        .admin(reqwest::Method::POST, "/brands/DEMO/disable", json!({}))
        .await;
    for node in &nodes[1..] {
        let refused = within(2, async || {
            let req = json!({"identifierType": "MOBILE", "identifierValue": "+84900000001", "brand": "DEMO", "deviceId": "d1"});
            code(&node.post("/auth/v1/token/generate", &req).await.1) == 1504
        })
        .await;
        assert!(
            refused,
            "the brand was still enabled on another node after 2 s"
        );
    }
    nodes[2]
        .admin(
            reqwest::Method::PATCH,
            "/brands/DEMO",
            json!({"enabled": true, "dailyOtpLimit": 7, "resendCooldownSeconds": 0}),
        )
        .await;
    for node in nodes.iter() {
        let enabled = within(2, async || {
            let req = json!({"identifierType": "MOBILE", "identifierValue": "+84900000001", "brand": "DEMO", "deviceId": "d1"});
            node.post("/auth/v1/token/generate", &req).await.0 == 200
        })
        .await;
        assert!(
            enabled,
            "the brand was not enabled again everywhere after 2 s"
        );
    }

    // 1,000 concurrent generates for one customer, over 30 sessions, spread over the nodes:
    // exactly the limit succeeds.
    let answers = generate_burst(&nodes, "+84911111111", 1000).await;
    assert_eq!(
        answers,
        BTreeMap::from([((200, 200), 7), ((429, 1534), 993)]),
        "exactly the daily limit across three nodes"
    );

    // The cooldown is exact the same way: 300 concurrent generates, one code.
    nodes[1]
        .admin(
            reqwest::Method::PATCH,
            "/brands/DEMO",
            json!({"dailyOtpLimit": 1000, "resendCooldownSeconds": 30}),
        )
        .await;
    for (n, node) in nodes.iter().enumerate() {
        // In force on a node when a second code for a new customer is refused 1701 there.
        let mut attempt = 0;
        let applied = within(2, async || {
            attempt += 1;
            let body = node.session(&format!("+849222{n}{attempt:04}")).await;
            node.post("/auth/v1/otp/generate", &body).await;
            code(&node.post("/auth/v1/otp/generate", &body).await.1) == 1701
        })
        .await;
        assert!(
            applied,
            "the cooldown was not in force on node {n} after 2 s"
        );
    }
    let answers = generate_burst(&nodes, "+84933333333", 300).await;
    assert_eq!(
        answers,
        BTreeMap::from([((200, 200), 1), ((429, 1701), 299)]),
        "exactly one code within the cooldown across three nodes"
    );

    // One code, 200 concurrent validations over the three nodes: exactly one succeeds.
    let logged = || -> Vec<Vec<String>> { nodes.iter().map(|n| n.logged_codes()).collect() };
    let before = logged();
    let mut body = nodes[0].session("+84944444444").await;
    assert_eq!(nodes[1].post("/auth/v1/otp/generate", &body).await.0, 200);
    let mut otp = None;
    let delivered = within(10, async || {
        // The node that delivered it has one line more than before.
        for (now, then) in logged().iter().zip(&before) {
            if now.len() > then.len() {
                otp = now.last().cloned();
            }
        }
        otp.is_some()
    })
    .await;
    assert!(delivered, "the code was not delivered by any node");
    body["otp"] = json!(otp.unwrap());
    let answers = burst(200, |i| {
        let (nodes, body) = (nodes.clone(), body.clone());
        async move { nodes[i % 3].post("/auth/v1/otp/validate", &body).await }
    })
    .await;
    assert_eq!(
        answers.get(&(200, 200)),
        Some(&1),
        "a code validates once across three nodes: {answers:?}"
    );

    // Console sessions and operators work whichever node answers: an operator created through
    // one node logs in through another, and its session is good on the third.
    nodes[0]
        .admin(
            reqwest::Method::POST,
            "/operators",
            json!({"name": "ana", "password": "a long passphrase 1", "role": "viewer"}),
        )
        .await;
    let client = reqwest::Client::builder().build().unwrap();
    let login = client
        .post(format!("{}/auth/login", nodes[1].admin))
        .json(&json!({"name": "ana", "password": "a long passphrase 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "login through another node");
    let cookie = login
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = client
        .get(format!("{}/auth/session", nodes[2].admin))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the session is good on a third node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_go_out_once_and_a_dead_nodes_jobs_are_sent_by_another() {
    let Some((mut nodes, db, keys)) = three_nodes().await else {
        return;
    };
    let gateway = Gateway::default();
    let url = gateway.start().await;
    nodes[0]
        .admin(
            reqwest::Method::PUT,
            "/brands/DEMO/channels/SMS",
            json!({"settings": {"provider": "http", "url": url}}),
        )
        .await;
    nodes[0]
        .admin(
            reqwest::Method::PATCH,
            "/brands/DEMO",
            json!({"dailyOtpLimit": 1000, "resendCooldownSeconds": 0}),
        )
        .await;
    let nodes_ref = &nodes;
    assert!(
        within(2, async || {
            // Every node sends through the gateway now: a code issued on each arrives there.
            let body = nodes_ref[2].session("+84955555555").await;
            nodes_ref[2].post("/auth/v1/otp/generate", &body).await.0 == 200
                && gateway.sent().contains_key("+84955555555")
        })
        .await
    );

    // 1,000 codes for 1,000 customers, issued over the three nodes: each is sent once.
    let nodes = Arc::new(std::mem::take(&mut nodes));
    let answers = burst(1000, |i| {
        let nodes = nodes.clone();
        async move {
            let node = &nodes[i % 3];
            let body = node.session(&format!("+8496{i:07}")).await;
            node.post("/auth/v1/otp/generate", &body).await
        }
    })
    .await;
    assert_eq!(answers, BTreeMap::from([((200, 200), 1000)]));
    let all_sent = within(60, async || {
        gateway
            .sent()
            .keys()
            .filter(|k| k.starts_with("+8496"))
            .count()
            == 1000
    })
    .await;
    assert!(all_sent, "not every code was delivered");
    let sent = gateway.sent();
    let twice: Vec<_> = sent
        .iter()
        .filter(|(to, n)| to.starts_with("+8496") && **n != 1)
        .collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");

    // A node dies while it holds jobs. Alone, it claims the next 20 codes; the gateway answers
    // slowly, so it is still sending when it is killed. A node started after it sends them
    // once the lease runs out.
    let mut nodes = Arc::try_unwrap(nodes).ok().unwrap();
    let victim = nodes.remove(0);
    drop(nodes);
    gateway.delay_ms.store(3_000, Ordering::SeqCst);
    let before = gateway.arrived.load(Ordering::SeqCst);
    for i in 0..20 {
        let body = victim.session(&format!("+8497{i:07}")).await;
        assert_eq!(victim.post("/auth/v1/otp/generate", &body).await.0, 200);
    }
    let sending = within(10, async || gateway.arrived.load(Ordering::SeqCst) > before).await;
    assert!(sending, "the node did not start sending");
    victim.kill();
    let killed_at = Instant::now();
    gateway.delay_ms.store(0, Ordering::SeqCst);
    let heir = Node::start(&db, &keys).await;
    let recovered = within(40, async || {
        gateway
            .sent()
            .keys()
            .filter(|k| k.starts_with("+8497"))
            .count()
            == 20
    })
    .await;
    let late = gateway
        .sent()
        .keys()
        .filter(|k| k.starts_with("+8497"))
        .count();
    assert!(
        recovered,
        "{late} of the dead node's 20 jobs were sent by another"
    );
    assert!(
        killed_at.elapsed() >= Duration::from_secs(5),
        "sent before the lease could have run out"
    );
    drop(heir);
}

#[tokio::test]
async fn a_node_with_another_key_ring_refuses_to_start_and_says_why() {
    let Some((nodes, db, _keys)) = three_nodes().await else {
        return;
    };
    drop(nodes);
    let dir = tempfile::tempdir().unwrap();
    let other = otpd::secrets::ServerKeys::new_key_file(1).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args([
            "--public-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("OTPD_STORE_URL", &db)
        .env("OTPD_SERVER_KEYS", other)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "a node with other keys started");
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("the same key ring"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_embedded_installation_moves_to_postgres_with_everything_in_it() {
    let Some(server) = postgres_server() else {
        eprintln!("not run on the embedded store: needs PostgreSQL (scripts/test-postgres.sh)");
        return;
    };
    let db = fresh_database(&server).await;
    let dir = tempfile::tempdir().unwrap();

    // One machine on the embedded store: a code issued (not yet validated), a customer's own
    // limit, and a delivery still queued (its gateway does not answer).
    let single = Node::serve(dir.path(), &[]).await;
    let mut body = single.session("+84981000001").await;
    assert_eq!(single.post("/auth/v1/otp/generate", &body).await.0, 200);
    let mut code = None;
    assert!(
        within(10, async || {
            code = single.logged_codes().pop();
            code.is_some()
        })
        .await
    );
    single
        .admin(
            reqwest::Method::PUT,
            "/brands/DEMO/limits/MOBILE:+84981000001",
            json!({"limit": 3}),
        )
        .await;
    single
        .admin(
            reqwest::Method::PUT,
            "/brands/DEMO/channels/SMS",
            json!({"settings": {"provider": "http", "url": format!("http://127.0.0.1:{}/send", free_port())}}),
        )
        .await;
    let queued = single.session("+84981000002").await;
    assert_eq!(single.post("/auth/v1/otp/generate", &queued).await.0, 200);
    let log_before = single
        .admin(reqwest::Method::GET, "/log?limit=500", json!(null))
        .await["records"]
        .as_array()
        .unwrap()
        .len();
    single.stop();

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["migrate", "--to", &db])
        .env_remove("OTPD_STORE_URL")
        .output()
        .await
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "otpd migrate failed: {said}");
    assert!(said.contains("Moved"), "{said}");

    // The same installation, now on PostgreSQL (same data directory: the same server keys).
    let node = Node::serve(dir.path(), &[("OTPD_STORE_URL", &db)]).await;
    body["otp"] = json!(code.unwrap());
    let (status, answer) = node.post("/auth/v1/otp/validate", &body).await;
    assert_eq!(
        status, 200,
        "the code issued before the move validates after it: {answer}"
    );
    let limit = node
        .admin(
            reqwest::Method::GET,
            "/brands/DEMO/limits/MOBILE:+84981000001",
            json!(null),
        )
        .await;
    assert_eq!(
        (limit["overrideLimit"].as_u64(), limit["issued"].as_u64()),
        (Some(3), Some(1))
    );
    let brand = node
        .admin(reqwest::Method::GET, "/brands/DEMO", json!(null))
        .await;
    assert_eq!(brand["channels"]["SMS"]["provider"], "HTTP", "{brand}");
    let log_after = node
        .admin(reqwest::Method::GET, "/log?limit=500", json!(null))
        .await["records"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(log_after, log_before);
    let (client, connection) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let jobs: i64 = client
        .query_one("SELECT count(*) FROM outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(jobs, 1, "the queued delivery moved");
}

#[tokio::test]
async fn a_database_from_a_newer_otpd_is_refused_not_misread() {
    let Some((nodes, db, keys)) = three_nodes().await else {
        return;
    };
    drop(nodes);
    let (client, connection) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute("INSERT INTO otpd_schema (version) VALUES (99)", &[])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args([
            "--public-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("OTPD_STORE_URL", &db)
        .env("OTPD_SERVER_KEYS", &keys)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "an older otpd served a newer schema");
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("store schema 99"), "{said}");
}
