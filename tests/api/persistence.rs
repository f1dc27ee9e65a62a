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
