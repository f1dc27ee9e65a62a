//! Load benchmark: throughput and latency of otpd's hot paths against a bare axum JSON
//! endpoint measured in the same run on the same machine.
//!
//! Run: `cargo bench --bench load` (release build). Settings by environment:
//! `BENCH_SECONDS` (default 5 per scenario), `BENCH_CONNECTIONS` (default 32), `BENCH_FILTER`
//! (run only scenarios whose name contains it, e.g. `otp/generate (periodic)`),
//! `BENCH_DELIVERY_WORKERS` (otpd's `deliveryWorkers`, default 16).
//! The load generator runs in the same process and shares the cores with the server, so the
//! numbers compare scenarios with each other, not with a dedicated load box.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: a benchmark binary fails loudly

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use otpd::config::Config;
use otpd::domain::BrandName;
use otpd::store::Durability;
use serde_json::{Value, json};

struct Result_ {
    name: String,
    requests: usize,
    errors: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn drive(
    name: &str,
    connections: usize,
    duration: Duration,
    make: Arc<dyn Fn(usize) -> (String, Option<Value>) + Send + Sync>,
) -> Option<Result_> {
    if std::env::var("BENCH_FILTER").is_ok_and(|f| !name.contains(&f)) {
        return None;
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, counter, make) = (client.clone(), counter.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let (url, body) = make(i);
                let t = Instant::now();
                let response = match body {
                    Some(b) => client.post(&url).json(&b).send().await,
                    None => client.get(&url).send().await,
                };
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Some(Result_ {
        name: name.to_owned(),
        requests: all.len(),
        errors,
        seconds,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    })
}

async fn start_otpd(durability: Durability) -> (otpd::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        public_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        client_rate_limit_per_minute: 0,
        durability,
        // BENCH_DELIVERY_WORKERS: sends at once (and SMTP connections), default 16.
        delivery_workers: std::env::var("BENCH_DELIVERY_WORKERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Config::default().delivery_workers),
        ..Config::default()
    };
    let options = otpd::RunOptions {
        log_sender: Some(Arc::new(support::NullSender)),
        ..Default::default()
    };
    let server = otpd::run(config, options).await.unwrap();
    let store = &server.services.store;
    let mut brand = store
        .brand(&BrandName::parse("DEMO").unwrap())
        .await
        .unwrap()
        .unwrap();
    brand.settings.daily_otp_limit = 100_000;
    brand.settings.resend_cooldown_seconds = 0;
    store.put_brand(&brand).await.unwrap();
    (server, dir)
}

fn mobile(i: usize) -> String {
    format!("+8490{:07}", i)
}

/// Opens `n` sessions, one per customer `value(i)` of `kind`, and returns their ids.
async fn sessions(
    addr: SocketAddr,
    n: usize,
    kind: &str,
    value: impl Fn(usize) -> String,
) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"identifierType": kind, "identifierValue": value(i), "brand": "DEMO", "deviceId": "bench"});
        let r: Value = client
            .post(format!("http://{addr}/auth/v1/token/generate"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.push(r["user"]["sessionId"].as_str().unwrap().to_owned());
    }
    out
}

async fn bare_axum() -> SocketAddr {
    let app = axum::Router::new().route(
        "/json",
        axum::routing::post(|axum::Json(v): axum::Json<Value>| async move {
            axum::Json(json!({"status": {"success": true, "code": 200, "message": "SUCCESS"}, "echo": v["brand"]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let connections: usize = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let duration = Duration::from_secs(seconds);
    let mut results = Vec::new();

    let bare = bare_axum().await;
    let url = format!("http://{bare}/json");
    results.push(
        drive(
            "bare axum JSON endpoint (baseline)",
            connections,
            duration,
            Arc::new(move |_| (url.clone(), Some(json!({"brand": "DEMO"})))),
        )
        .await,
    );

    for durability in [Durability::FlushEach, Durability::Periodic] {
        let (server, _dir) = start_otpd(durability).await;
        let addr = server.public_addr.unwrap();
        let label = match durability {
            Durability::FlushEach => "flush-each",
            Durability::Periodic => "periodic",
        };
        let token_url = format!("http://{addr}/auth/v1/token/generate");
        results.push(
            drive(&format!("otpd token/generate ({label})"), connections, duration, Arc::new(move |i| {
                (token_url.clone(), Some(json!({"identifierType": "MOBILE", "identifierValue": mobile(i % 5000), "brand": "DEMO", "deviceId": "bench"})))
            }))
            .await,
        );
        let ids = Arc::new(sessions(addr, 2000, "MOBILE", mobile).await);
        let gen_url = format!("http://{addr}/auth/v1/otp/generate");
        results.push(
            drive(&format!("otpd otp/generate ({label})"), connections, duration, Arc::new(move |i| {
                let k = i % ids.len();
                (gen_url.clone(), Some(json!({"identifierType": "MOBILE", "identifierValue": mobile(k), "brand": "DEMO", "deviceId": "bench", "sessionId": ids[k]})))
            }))
            .await,
        );
        server.shutdown().await.unwrap();
    }

    let email = email_delivery(connections, duration).await;

    println!("\n{connections} connections, {seconds} s per scenario, load generator in-process\n");
    println!("| scenario | req/s | ratio to bare | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    let rate = |r: &Result_| r.requests as f64 / r.seconds;
    let bare = results.first().and_then(Option::as_ref).map(rate);
    for r in results.iter().flatten() {
        let ratio = bare.map_or_else(|| "—".to_owned(), |b| format!("{:.3}", rate(r) / b));
        println!(
            "| {} | {:.0} | {ratio} | {:.2} | {:.2} | {} |",
            r.name,
            rate(r),
            r.p50_ms,
            r.p99_ms,
            r.errors
        );
    }
    if let Some(e) = email {
        println!("\notp/generate with real SMTP delivery (flush-each) to an in-process SMTP sink:");
        println!(
            "| acknowledged req/s | delivered mails/s | mails | drained after the load | SMTP connections |"
        );
        println!("|---:|---:|---:|---:|---:|");
        println!(
            "| {:.0} | {:.0} | {} | {:.2} s | {} |",
            e.acknowledged as f64 / e.load_seconds,
            e.delivered as f64 / e.total_seconds,
            e.delivered,
            e.total_seconds - e.load_seconds,
            e.connections
        );
    }
}

/// What the e-mail scenario measured.
struct EmailResult {
    acknowledged: usize,
    delivered: usize,
    load_seconds: f64,
    /// From the start of the load until the last mail was accepted by the sink.
    total_seconds: f64,
    connections: usize,
}

/// otp/generate for e-mail customers with DEMO's EMAIL channel on SMTP to `sink`, then waits
/// until every acknowledged code was accepted by the sink.
async fn email_delivery(connections: usize, duration: Duration) -> Option<EmailResult> {
    let name = "otp/generate with SMTP delivery";
    if std::env::var("BENCH_FILTER").is_ok_and(|f| !name.contains(&f)) {
        return None;
    }
    let sink = SmtpSink::start().await;
    let (server, _dir) = start_otpd(Durability::FlushEach).await;
    let addr = server.public_addr.unwrap();
    let admin = reqwest::Client::new();
    let r = admin
        .put(format!("http://{}/admin/api/brands/DEMO/channels/EMAIL", server.admin_addr))
        .bearer_auth(&*server.admin_token)
        .json(&json!({"settings": {"provider": "smtp", "host": "127.0.0.1", "port": sink.port.to_string(), "tls": "none", "from": "otp@bench.test"}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let email = |i: usize| format!("bench{i}@example.com");
    let ids = sessions(addr, 2000, "EMAIL", email).await;
    let ids = Arc::new(ids);
    let url = format!("http://{addr}/auth/v1/otp/generate");
    let started = Instant::now();
    let load = drive(name, connections, duration, Arc::new(move |i| {
        let k = i % ids.len();
        (url.clone(), Some(json!({"identifierType": "EMAIL", "identifierValue": email(k), "brand": "DEMO", "deviceId": "bench", "sessionId": ids[k]})))
    }))
    .await?;
    let acknowledged = load.requests - load.errors;
    // Poll until the sink has every acknowledged mail (or a minute has passed).
    let give_up = Instant::now() + Duration::from_secs(60);
    while sink.accepted() < acknowledged && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total_seconds = started.elapsed().as_secs_f64();
    let delivered = sink.accepted();
    server.shutdown().await.unwrap();
    Some(EmailResult {
        acknowledged,
        delivered,
        load_seconds: load.seconds,
        total_seconds,
        connections: sink.connections(),
    })
}

/// A minimal SMTP server that accepts every message and counts it (and its connections).
struct SmtpSink {
    port: u16,
    accepted: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (a, c) = (accepted.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Replies go out at once, as a real server's do (no Nagle wait on small writes).
                let _ = stream.set_nodelay(true);
                c.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(smtp_session(stream, a.clone()));
            }
        });
        Self {
            port,
            accepted,
            connections,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, accepted: Arc<AtomicUsize>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut in_data = false;
    while let Ok(Some(line)) = lines.next_line().await {
        let reply: &[u8] = if in_data {
            if line != "." {
                continue;
            }
            in_data = false;
            accepted.fetch_add(1, Ordering::Relaxed);
            b"250 queued\r\n"
        } else {
            match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                Some("EHLO") => b"250-sink\r\n250 8BITMIME\r\n",
                Some("DATA") => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                Some("QUIT") => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 ok\r\n",
            }
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
