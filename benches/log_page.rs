//! The issuance-log page the console opens, with 1,000,000 records in the store: the first page
//! unfiltered, filtered by one customer (with and without the brand), and the dashboard's
//! numbers — each over the admin API, as the console asks for them.
//!
//! Run: `cargo bench --bench log_page` (release build). The store is built once into
//! `target/bench-log-store` (about a minute) and reused; `BENCH_RECORDS` changes the count
//! (default 1,000,000), `BENCH_ROUNDS` the requests per scenario (default 200).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: a benchmark binary fails loudly

use std::path::PathBuf;
use std::time::{Duration, Instant};

use otpd::config::Config;
use otpd::domain::{ChannelKind, DeliveryStatus, IssuanceRecord};

const CUSTOMERS: u64 = 100_000;
/// The customer the filtered scenarios look for (one of the 100,000, about 10 records).
const CUSTOMER: u64 = 4_242;

fn phone(n: u64) -> String {
    format!("8490{n:07}")
}

fn record(i: u64, count: u64, now_ms: i64) -> IssuanceRecord {
    // Spread over the last 80 days, oldest first, so ids stay in time order.
    let span_ms: i64 = 80 * 86_400_000;
    let time_ms =
        now_ms - span_ms + i64::try_from(i).unwrap() * span_ms / i64::try_from(count).unwrap();
    let ms = u64::try_from(time_ms).unwrap();
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        ms / 1000,
        u32::try_from(ms % 1000).unwrap() * 1_000_000 + u32::try_from(i % 1_000_000).unwrap(),
    ));
    let customer = i.wrapping_mul(2_654_435_761) % CUSTOMERS;
    let outcome = if i.is_multiple_of(17) { 1534 } else { 200 };
    IssuanceRecord {
        id,
        time_ms,
        brand: "DEMO".into(),
        path: "/auth/v1/otp/generate".into(),
        identifier_type: "MOBILE".into(),
        identifier: format!("+{}", phone(customer)),
        destination: Some(format!("MOBILE:{}", phone(customer))),
        device_id: Some("bench-device".into()),
        session_id: Some(format!("P-{id}")),
        client_addr: "192.0.2.7".into(),
        outcome,
        channel: (outcome == 200).then_some(ChannelKind::Sms),
        delivery: if outcome == 200 {
            DeliveryStatus::Sent
        } else {
            DeliveryStatus::None
        },
        test: false,
        attempts: Vec::new(),
        validated: i.is_multiple_of(3),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let count: u64 = std::env::var("BENCH_RECORDS").map_or(1_000_000, |v| v.parse().unwrap());
    let rounds: usize = std::env::var("BENCH_ROUNDS").map_or(200, |v| v.parse().unwrap());
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| PathBuf::from("target"), PathBuf::from);
    let dir = target.join(format!("bench-log-store-{count}"));
    let ready = dir.join("populated");
    let config = Config {
        data_dir: dir.clone(),
        public_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        durability: otpd::store::Durability::Periodic,
        ..Config::default()
    };
    let server = otpd::run(config, otpd::RunOptions::default())
        .await
        .unwrap();
    if !ready.exists() {
        eprintln!(
            "writing {count} issuance-log records into {} …",
            dir.display()
        );
        let started = Instant::now();
        let store = &server.services.store;
        let now_ms = server.services.clock.now_ms();
        for i in 0..count {
            store
                .record_refusal(&record(i, count, now_ms))
                .await
                .unwrap();
        }
        // Marked populated once the records are on disk (the batch's wait is a full flush).
        store.batch(async {}).await.1.unwrap();
        std::fs::write(&ready, b"").unwrap();
        eprintln!("… in {:.1} s", started.elapsed().as_secs_f64());
    }
    let admin = format!("http://{}/admin/api", server.admin_addr);
    let token = server.admin_token.to_string();
    let client = reqwest::Client::new();
    let who = phone(CUSTOMER);
    let scenarios = [
        ("first page, unfiltered", "/log?limit=50".to_owned()),
        (
            "first page, one customer (brand and identifier)",
            format!("/log?limit=50&brand=DEMO&destination=MOBILE:{who}"),
        ),
        (
            "first page, one customer (identifier only)",
            format!("/log?limit=50&destination={who}"),
        ),
        ("dashboard (24 h and 30 days)", "/stats".to_owned()),
    ];
    println!("\n{count} records in the store; {rounds} requests per scenario, one at a time\n");
    println!("| scenario | records on the page | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, path) in scenarios {
        let mut times = Vec::with_capacity(rounds);
        let mut shown = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let resp = client
                .get(format!("{admin}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            let body: serde_json::Value = resp.json().await.unwrap();
            times.push(t.elapsed());
            shown = body["records"].as_array().map_or(0, Vec::len);
        }
        times.sort();
        println!(
            "| {name} | {shown} | {:.2} | {:.2} | {:.2} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&times, 1.0)
        );
    }
    server.shutdown().await.unwrap();
}
