//! The store at size. Issues `BENCH_OTPS` codes (default 1,000,000; each a fresh session from
//! token/generate, then otp/generate, for 100,000 customers) through the service layer, stops
//! the server cleanly, and reports:
//!
//! - bytes on disk per issued OTP (allocated blocks of the store directory), and each tree's
//!   records and logical bytes;
//! - the release `otpd serve` binary on that store: time from start to `/health/ready`, its
//!   resident memory after the log queries below (VmRSS, and the peak VmHWM);
//! - the first page of the issuance log over the admin API, unfiltered and filtered by outcome,
//!   channel and delivery status (p50 and max of 20 requests);
//! - one sweep over the full store (nothing has expired yet: the cost of looking).
//!
//! Run: `cargo bench --bench store_size` (release build). The store is built once into
//! `target/bench-store-<count>` (several minutes for a million) and reused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: a benchmark binary fails loudly

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otpd::service::{Fields, Operation};
use serde_json::Value;
use support::{body, context};

const CUSTOMERS: usize = 100_000;
const WRITERS: usize = 8;

/// Issues `count` codes, each on a fresh session, with `WRITERS` tasks at once.
async fn populate(dir: &Path, count: usize) {
    let server = support::start_demo(dir).await;
    let services = server.services.clone();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let services = services.clone();
        tasks.push(tokio::spawn(async move {
            let token_ctx = context(Operation::Token, "/auth/v1/token/generate");
            let gen_ctx = context(Operation::Generate, "/auth/v1/otp/generate");
            for i in (w..count).step_by(WRITERS) {
                let customer = i % CUSTOMERS;
                let token = services
                    .issue_token(&Fields(&body(customer, None)), &token_ctx)
                    .await
                    .result
                    .unwrap();
                let session = token.session_id.to_string();
                services
                    .generate_otp(&Fields(&body(customer, Some(&session))), &gen_ctx)
                    .await
                    .result
                    .unwrap();
                if w == 0 && i % 100_000 < WRITERS {
                    eprintln!("  {i} issued ({:.0} s)", started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while services.store.queued_jobs().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "issued {count} codes in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    server.shutdown().await.unwrap();
}

/// Allocated bytes of every file under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                disk_bytes(&e.path())
            } else {
                m.blocks() * 512
            }
        })
        .sum()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
            .unwrap()
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn serve_and_query(dir: &Path) {
    let (public, admin) = (free_port(), free_port());
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["--data-dir", dir.to_str().unwrap(), "serve"])
        .args(["--public-listen", &format!("127.0.0.1:{public}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let ready_url = format!("http://127.0.0.1:{public}/health/ready");
    loop {
        if let Ok(r) = client.get(&ready_url).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "otpd did not get ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = started.elapsed();
    println!(
        "\nstart-up to ready (release binary): {:.0} ms",
        ready.as_secs_f64() * 1000.0
    );
    let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
    let base = format!("http://127.0.0.1:{admin}/admin/api/log?limit=50");
    println!("\n| first page of the log | records | p50 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (name, query) in [
        ("unfiltered", ""),
        ("outcome 200", "&outcome=200"),
        ("outcome 1534 (none)", "&outcome=1534"),
        ("channel SMS", "&channel=SMS"),
        ("channel EMAIL (none)", "&channel=EMAIL"),
        ("delivery FAILED (none)", "&delivery=FAILED"),
        ("delivery SENT", "&delivery=SENT"),
    ] {
        let mut times = Vec::new();
        let mut shown = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{query}"))
                .bearer_auth(token.trim())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{query}: {}", r.status());
            let v: Value = r.json().await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            shown = v["records"].as_array().map_or(0, Vec::len);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {name} | {shown} | {:.1} | {:.1} |",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    let (rss, peak) = memory_mib(child.id());
    println!("\nresident memory after the queries: {rss:.0} MiB (peak {peak:.0} MiB)");
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn sweep_once(dir: &Path) {
    let keys = Arc::new(otpd::secrets::ServerKeys::load_or_create(dir).unwrap());
    let store =
        otpd::store::Store::open(&dir.join("store"), otpd::store::Durability::Periodic, keys)
            .unwrap();
    println!("\n| tree | records | logical bytes | bytes per OTP |");
    println!("|---|---:|---:|---:|");
    let count: f64 = std::env::var("BENCH_OTPS").map_or(1e6, |v| v.parse().unwrap());
    for (tree, entries) in store.raw_records().await.unwrap() {
        let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        if !entries.is_empty() {
            println!(
                "| {tree} | {} | {bytes} | {:.0} |",
                entries.len(),
                bytes as f64 / count
            );
        }
    }
    let now = otpd::clock::Clock::system().now_ms();
    let t = Instant::now();
    let removed = store.sweep(now, 30 * 86_400_000).await.unwrap();
    println!(
        "\none sweep: {:.0} ms, {removed} records removed",
        t.elapsed().as_secs_f64() * 1000.0
    );
    store.close().await.unwrap();
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("BENCH_OTPS").map_or(1_000_000, |v| v.parse().unwrap());
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| PathBuf::from("target"), PathBuf::from);
    let dir = target.join(format!("bench-store-{count}"));
    let populated = dir.join("populated");
    if !populated.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("issuing {count} codes into {} …", dir.display());
        populate(&dir, count).await;
        std::fs::write(&populated, b"").unwrap();
    }
    let bytes = disk_bytes(&dir.join("store"));
    println!(
        "\n{count} issued OTPs: the store takes {:.1} MB on disk, {:.0} bytes per OTP",
        bytes as f64 / 1e6,
        bytes as f64 / count as f64
    );
    serve_and_query(&dir).await;
    sweep_once(&dir).await;
}
