//! Retention keeps the embedded store bounded: the sweeper deletes what is past its time and
//! nothing else, and sled reuses the space of what it deleted, so day after day of the same
//! traffic the store's files stop growing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use otpd::domain::Flow;
use otpd::service::{Fields, Operation, RequestContext, Services};
use serde_json::{Map, Value, json};

use crate::helpers::{on_embedded_store, spawn_app};

const CUSTOMERS: usize = 500;
const DAYS: usize = 12;
/// By then the files have room for the records of the days the sweeper keeps, and for what
/// sled keeps while it reclaims the rest.
const SETTLED: usize = 6;
const WRITERS: usize = 4;
const DAY_MS: i64 = 86_400_000;
/// The log keeps a day and an hour: each morning's sweep removes the day before yesterday's
/// records and keeps yesterday's.
const RETENTION_MS: i64 = DAY_MS + 3_600_000;

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

fn body(customer: usize, session: Option<&str>) -> Map<String, Value> {
    let mut v = json!({"identifierType": "MOBILE", "identifierValue": format!("8490{customer:07}"),
                       "brand": "DEMO", "deviceId": "space"});
    if let Some(s) = session {
        v["sessionId"] = json!(s);
    }
    v.as_object().unwrap().clone()
}

fn context(operation: Operation, path: &'static str) -> RequestContext {
    RequestContext {
        operation,
        flow: Flow::Mobile,
        path,
        client: "192.0.2.7".parse().unwrap(),
        fallback_channel: None,
    }
}

/// One code for each customer, through the service layer (`WRITERS` at a time).
async fn a_day_of_codes(services: &Arc<Services>) {
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let services = services.clone();
        tasks.push(tokio::spawn(async move {
            let token = context(Operation::Token, "/auth/v1/token/generate");
            let generate = context(Operation::Generate, "/auth/v1/otp/generate");
            for customer in (w..CUSTOMERS).step_by(WRITERS) {
                let session = services
                    .issue_token(&Fields(&body(customer, None)), &token)
                    .await
                    .result
                    .unwrap()
                    .session_id
                    .to_string();
                services
                    .generate_otp(&Fields(&body(customer, Some(&session))), &generate)
                    .await
                    .result
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn day_after_day_the_swept_store_keeps_what_it_should_and_stops_growing() {
    if !on_embedded_store("measures the embedded store's files") {
        return;
    }
    let app = spawn_app().await;
    let services = app.server.as_ref().unwrap().services.clone();
    let store = &services.store;
    let dir = app.config.data_dir.join("store");
    let empty = disk_bytes(&dir);
    let mut sizes = Vec::new();
    for day in 0..DAYS {
        let day_started = app.clock.now_ms();
        a_day_of_codes(&services).await;
        while store.queued_jobs().await.unwrap() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The next morning's sweep.
        app.clock
            .advance(Duration::from_millis(u64::try_from(DAY_MS).unwrap()));
        store.sweep(app.clock.now_ms(), RETENTION_MS).await.unwrap();

        // What it should and nothing else: every session (15 minutes) is gone, the log holds
        // yesterday's records, all of them, and none older.
        let log = app.log_records().await;
        assert_eq!(log.len(), CUSTOMERS, "day {day}");
        assert!(log.iter().all(|r| r.time_ms >= day_started), "day {day}");
        let raw = store.raw_records().await.unwrap();
        let count = |tree: &str| {
            raw.iter()
                .find(|(t, _)| t == tree)
                .map_or(0, |(_, r)| r.len())
        };
        assert_eq!(count("sessions"), 0, "day {day}: every session has expired");
        assert_eq!(count("outbox"), 0, "day {day}");
        sizes.push(disk_bytes(&dir));
    }
    // Each sweep deletes a day of records as each day writes one. Once the files have grown
    // to hold what is kept and what sled is still reclaiming (a few days), they stop growing:
    // without reuse each day would add as much as the first.
    let first_day = sizes[0].saturating_sub(empty);
    let settled = *sizes[..SETTLED].iter().max().unwrap();
    let later = *sizes[SETTLED..].iter().max().unwrap();
    assert!(
        later <= settled + first_day / 4,
        "the store kept growing: {empty} bytes empty, then {sizes:?} after each day"
    );
}
