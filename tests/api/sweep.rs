//! Housekeeping: expired sessions and nonces, stale usage and old log records are deleted.

use std::time::Duration;

use otpd::domain::{BrandName, Destination};

use crate::helpers::*;

#[tokio::test]
async fn the_sweeper_deletes_what_has_expired_and_keeps_the_rest() {
    let app = spawn_app().await;
    let old = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &old).await.0, 200);
    app.code_sent_to(MOBILE, 0).await;
    let store = &app.services().store;
    let retention_ms = 90 * 86_400_000;

    // Ten minutes on, nothing has expired yet: the sweep removes nothing.
    app.clock.advance(Duration::from_secs(600));
    assert_eq!(
        store.sweep(app.clock.now_ms(), retention_ms).await.unwrap(),
        0
    );

    // Three days on: the session (15 min) and the usage record (2 days) are gone, the log
    // record (90 days) stays.
    app.clock.advance(Duration::from_secs(3 * 86_400));
    let fresh = app.session("MOBILE", "+84900000001").await;
    assert_eq!(
        store.sweep(app.clock.now_ms(), retention_ms).await.unwrap(),
        2
    );
    assert!(
        store
            .read_session(&otpd::domain::SessionId::parse(&old).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .read_session(&otpd::domain::SessionId::parse(&fresh).unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let demo = BrandName::parse("DEMO").unwrap();
    assert!(
        store
            .usage(&demo, &Destination::mobile(MOBILE).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.log_records().await.len(), 1);
    // The customer's history, read through the by-destination index.
    let customer = otpd::store::LogSelection {
        brand: Some(demo.clone()),
        destination: Some(Destination::mobile(MOBILE).unwrap()),
        ..Default::default()
    };
    assert_eq!(store.log_page(&customer, 10).await.unwrap().len(), 1);

    // Past the retention period the log record and its index entries (the customer's, and
    // its outcome, channel and delivery status) go too: nothing is left in the index.
    app.clock.advance(Duration::from_secs(91 * 86_400));
    store.sweep(app.clock.now_ms(), retention_ms).await.unwrap();
    assert!(app.log_records().await.is_empty());
    // The embedded engine keeps its indexes as records of their own (PostgreSQL's go with
    // their rows).
    if postgres_server().is_none() {
        let index = store
            .raw_records()
            .await
            .unwrap()
            .into_iter()
            .find(|(tree, _)| tree == "log_by_dest")
            .unwrap()
            .1;
        assert!(index.is_empty(), "{} index entries left", index.len());
    }
    assert!(store.log_page(&customer, 10).await.unwrap().is_empty());
}

/// A sweep removes records in batches: more sessions than one batch holds all go, each counted
/// once, with their expiry entries; a session opened after them stays with its entry.
#[tokio::test]
async fn a_sweep_over_many_records_removes_each_once() {
    let app = spawn_app().await;
    let store = &app.services().store;
    let expired = 150; // more than two of the embedded engine's sweep batches
    for i in 0..expired {
        app.session("MOBILE", &format!("8490100{i:04}")).await;
    }
    app.clock.advance(Duration::from_secs(20 * 60));
    let fresh = app.session("MOBILE", MOBILE).await;
    let removed = store
        .sweep(app.clock.now_ms(), 90 * 86_400_000)
        .await
        .unwrap();
    assert_eq!(removed, expired);
    let fresh = otpd::domain::SessionId::parse(&fresh).unwrap();
    assert!(store.read_session(&fresh).await.unwrap().is_some());
    if postgres_server().is_none() {
        let dump = store.raw_records().await.unwrap();
        let tree = |name: &str| dump.iter().find(|(t, _)| t == name).unwrap().1.clone();
        assert_eq!(tree("sessions").len(), 1, "only the fresh session is left");
        let entries = tree("expiry");
        assert_eq!(entries.len(), 1, "only its expiry entry is left");
        assert!(entries[0].0.ends_with(fresh.as_str().as_bytes()));
    }
    assert_eq!(
        store
            .sweep(app.clock.now_ms(), 90 * 86_400_000)
            .await
            .unwrap(),
        0
    );
}

/// A delivery that ends after its log record was swept (the code outlived the retention)
/// leaves nothing behind: no record comes back, no index entry points at it.
#[tokio::test]
async fn a_delivery_ending_after_its_record_was_swept_leaves_nothing() {
    let app = spawn_app().await;
    let store = &app.services().store;
    // The log and its indexes, whichever engine ("log", "log_by_dest"; "issuance_log").
    let log = || async {
        let mut raw = store.raw_records().await.unwrap();
        raw.retain(|(kind, _)| kind.contains("log"));
        raw
    };
    let before = log().await;
    assert!(!before.is_empty());
    let gone = uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0042);
    store
        .record_delivery(
            gone,
            otpd::domain::DeliveryStatus::Sent,
            otpd::domain::ChannelKind::Sms,
            None,
            app.clock.now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(log().await, before);
}

/// On PostgreSQL a sweep deletes in batches until none is left, skipping (not waiting for) a
/// row a request holds, and two sweeps at once (two nodes) remove each row once between them.
#[tokio::test]
async fn a_postgresql_sweep_deletes_in_batches_and_skips_locked_rows() {
    let Some(server) = postgres_server() else {
        eprintln!("not run on the embedded store: tests PostgreSQL's sweep");
        return;
    };
    let (app, db) = spawn_on_fresh_database(&server).await;
    let store = &app.services().store;
    // Another connection, for a request's transaction.
    let locker = database_client(app.config.store_url.as_ref().unwrap().expose()).await;
    let now = app.clock.now_ms();
    // More expired sessions than two of the sweep's batches hold, and one still live.
    let expired: i64 = 12_001;
    db.execute(
        "INSERT INTO sessions (id, expires_ms, body)
         SELECT 'P-sweep-' || g, $1, '\\x00'::bytea FROM generate_series(1, $2::int8) g",
        &[&(now - 1), &expired],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO sessions (id, expires_ms, body) VALUES ('P-live', $1, '\\x00'::bytea)",
        &[&(now + 60_000)],
    )
    .await
    .unwrap();
    // A request holds one expired session.
    locker
        .batch_execute("BEGIN; SELECT 1 FROM sessions WHERE id = 'P-sweep-7' FOR UPDATE")
        .await
        .unwrap();

    let retention = 90 * 86_400_000;
    let (a, b) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(store.sweep(now, retention), store.sweep(now, retention))
    })
    .await
    .expect("the sweeps end while a row is locked");
    let removed = a.unwrap() + b.unwrap();
    assert_eq!(i64::try_from(removed).unwrap(), expired - 1);
    let left = async || {
        let rows = db
            .query("SELECT id FROM sessions ORDER BY id", &[])
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(left().await, ["P-live", "P-sweep-7"]);

    // Let go, the held session goes at the next sweep; the live one stays.
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(store.sweep(now, retention).await.unwrap(), 1);
    assert_eq!(left().await, ["P-live"]);
}
