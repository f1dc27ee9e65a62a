//! Counters, sessions and queued deliveries survive a restart on the same data directory.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn state_survives_a_restart() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 3;
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    app.code_sent_to(MOBILE, 0).await;
    // The provider goes down: the next code stays queued in the outbox.
    app.capture.failing.store(true, Ordering::SeqCst);
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.services().store.queued_jobs().await.unwrap(), 1);

    let app = app.restart().await;
    assert_eq!(
        app.services().store.queued_jobs().await.unwrap(),
        1,
        "the queued job is still there"
    );
    // The provider is back; the job's lease runs out and it is delivered.
    app.capture.failing.store(false, Ordering::SeqCst);
    app.clock.advance(Duration::from_secs(61));
    let otp = app.code_sent_to(MOBILE, 1).await;

    // The counter survived: one more is allowed, then 1534.
    assert_eq!(
        app.generate("MOBILE", MOBILE, &session).await.0,
        200,
        "the session survived too"
    );
    assert_eq!(
        code(&app.generate("MOBILE", MOBILE, &session).await.1),
        1534
    );
    // The newest code is the one that validates; the delivered one was replaced by the resend.
    let newest = app.code_sent_to(MOBILE, 2).await;
    if otp != newest {
        assert_eq!(
            code(&app.validate("MOBILE", MOBILE, &session, &otp).await.1),
            1506,
            "the replaced code is dead"
        );
    }
    assert_eq!(
        app.validate("MOBILE", MOBILE, &session, &newest).await.0,
        200
    );
}

/// A flush that fails stops otpd acknowledging writes until it restarts, even once the disk is
/// back: the kernel may have dropped what the failed fsync held (`store/embedded/flusher.rs`).
#[tokio::test]
async fn after_a_failed_flush_nothing_is_acknowledged_until_a_restart() {
    if !on_embedded_store("fails the embedded store's fsync") {
        return;
    }
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| b.settings.resend_cooldown_seconds = 0)
        .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    let ready = |app: &TestApp| {
        let request = app.client.get(app.url("/health/ready")).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&app).await, 200);

    // The store's directory gone from under it: the group commit's fsync cannot be made.
    let store = app.config.data_dir.join("store");
    let away = app.config.data_dir.join("store-away");
    std::fs::rename(&store, &away).unwrap();
    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (500, 1503), "{body}");
    std::fs::rename(&away, &store).unwrap();
    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!(
        (status, code(&body)),
        (500, 1503),
        "the disk is back, but a write after the failed fsync is still not acknowledged: {body}"
    );
    assert_eq!(ready(&app).await, 503);

    // Nor is what is still in memory written out at the stop: a restart replays what reached
    // the disk, and otpd acknowledges writes again.
    let (app, report) = app.restart_after_failed_close().await;
    assert!(report.contains("a flush to disk failed"), "{report}");
    assert_eq!(ready(&app).await, 200);
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
}
