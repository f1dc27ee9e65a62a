//! Retention keeps the embedded store bounded: the sweeper deletes what is past its time and
//! nothing else, and the engine gives back the space of what it deleted (compaction drops it),
//! so day after day of the same traffic the store's files stop growing, while a store that
//! keeps its log keeps growing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use otpd::domain::Flow;
use otpd::service::{Fields, Operation, RequestContext, Services};
use serde_json::{Map, Value};

use crate::helpers::{mobile_req, on_embedded_store, spawn_app};

const CUSTOMERS: usize = 500;
const DAYS: usize = 20;
const WRITERS: usize = 4;
const DAY_MS: i64 = 86_400_000;
/// The log keeps a day and an hour: each morning's sweep removes the day before yesterday's
/// records and keeps yesterday's.
const RETENTION_MS: i64 = DAY_MS + 3_600_000;

/// Allocated bytes of the trees' files under `dir`: every file but the journal, which is
/// bounded on its own (the engine starts a new one at 64 MB and deletes an old one once what
/// it holds is in the trees' files), and which this test's twenty days never fill. A file the
/// engine deletes while this walks (a compaction's old tables) holds nothing.
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let entries = match std::fs::read_dir(dir) {
        Err(e) if gone(&e) => return 0,
        entries => entries.unwrap(),
    };
    entries
        .map(|e| {
            let e = e.unwrap();
            let m = match e.metadata() {
                Err(err) if gone(&err) => return 0,
                m => m.unwrap(),
            };
            if m.is_dir() {
                disk_bytes(&e.path())
            } else if e.path().extension().is_some_and(|x| x == "jnl") {
                0
            } else {
                m.blocks() * 512
            }
        })
        .sum()
}

fn body(customer: usize, session: Option<&str>) -> Map<String, Value> {
    let req = mobile_req("MOBILE", &format!("8490{customer:07}"), session);
    req.as_object().unwrap().clone()
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
    // Two servers take the same codes each day. One sweeps its log with a one-day retention;
    // the other, the control, keeps its log (sessions expire on both). The engine gives space
    // back when compaction merges what was deleted, on its own schedule, so the swept store's
    // growth is judged against the control's, measured in the same moments.
    let swept = spawn_app().await;
    let control = spawn_app().await;
    let mut sizes = Vec::new();
    let mut control_sizes = Vec::new();
    for day in 0..DAYS {
        let day_started = swept.clock.now_ms();
        for (app, retention_ms, sizes) in [
            (&swept, RETENTION_MS, &mut sizes),
            (&control, 365 * DAY_MS, &mut control_sizes),
        ] {
            let services = app.server.as_ref().unwrap().services.clone();
            let store = &services.store;
            a_day_of_codes(&services).await;
            while store.queued_jobs().await.unwrap() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // The next morning's sweep.
            app.clock
                .advance(Duration::from_millis(u64::try_from(DAY_MS).unwrap()));
            store.sweep(app.clock.now_ms(), retention_ms).await.unwrap();
            let raw = store.raw_records().await.unwrap();
            let count = |tree: &str| {
                raw.iter()
                    .find(|(t, _)| t == tree)
                    .map_or(0, |(_, r)| r.len())
            };
            assert_eq!(count("sessions"), 0, "day {day}: every session has expired");
            assert_eq!(count("outbox"), 0, "day {day}");
            sizes.push(disk_bytes(&app.config.data_dir.join("store")));
        }
        // What it should and nothing else: the swept log holds yesterday's records, all of
        // them, and none older; the control's, every day's.
        let log = swept.log_records().await;
        assert_eq!(log.len(), CUSTOMERS, "day {day}");
        assert!(log.iter().all(|r| r.time_ms >= day_started), "day {day}");
        assert_eq!(control.log_records().await.len(), (day + 1) * CUSTOMERS);
    }
    // The control's files grow with its log; the swept store, which deletes a day as it
    // writes one, gets that space back and stays well below it over the last days. Each size
    // is taken while the engine may be compacting, and a compaction halves a small store, so
    // the last days' sizes are averaged, not compared one by one.
    let tail = DAYS - 4..DAYS;
    let swept_bytes: u64 = sizes[tail.clone()].iter().sum();
    let control_bytes: u64 = control_sizes[tail].iter().sum();
    assert!(
        swept_bytes * 4 < control_bytes * 3,
        "the swept store kept growing: {sizes:?} bytes after each day, the control {control_sizes:?}"
    );
}
