//! Limits are exact under concurrency: the count is checked and charged inside the issuing
//! transaction, and a code is consumed by compare-and-swap.

use std::sync::Arc;

use otpd::domain::{BrandName, Destination};
use serde_json::Value;

use crate::helpers::*;

/// Fires `n` generate requests at once for MOBILE over `sessions` sessions; returns the
/// (status, code, has Retry-After) of each.
async fn burst(app: &Arc<TestApp>, n: usize, sessions: usize) -> Vec<(u16, i64, bool)> {
    let mut ids = Vec::new();
    for _ in 0..sessions {
        ids.push(app.session("MOBILE", MOBILE).await);
    }
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = app.clone();
        let session = ids[i % sessions].clone();
        tasks.push(tokio::spawn(async move {
            let (s, b, h): (u16, Value, _) = app.generate("MOBILE", MOBILE, &session).await;
            (s, code(&b), h.contains_key("retry-after"))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_issue_exactly_the_daily_limit() {
    let app = Arc::new(spawn_app().await);
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 7;
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;
    let results = burst(&app, 1000, 50).await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    assert_eq!(ok, 7, "exactly the limit succeeds");
    let limited = results.iter().filter(|r| *r == &(429, 1534, true)).count();
    assert_eq!(limited, 993, "all others get 1534 / 429 with Retry-After");
    let usage = app
        .services()
        .store
        .usage(
            &BrandName::parse("DEMO").unwrap(),
            &Destination::mobile(MOBILE).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(usage.count, 7);
    // Exactly seven messages go out, and all thousand requests are in the issuance log.
    for i in 0..7 {
        app.code_sent_to(MOBILE, i).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.capture.all().len(), 7);
    let records = app.log_records().await;
    assert_eq!(records.len(), 1000);
    assert_eq!(records.iter().filter(|r| r.outcome == 200).count(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_resend_cooldown_is_exact_too() {
    let app = Arc::new(spawn_app().await);
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 1000;
        b.settings.resend_cooldown_seconds = 30;
    })
    .await;
    let results = burst(&app, 300, 30).await;
    assert_eq!(results.iter().filter(|r| r.0 == 200).count(), 1);
    assert_eq!(
        results.iter().filter(|r| *r == &(429, 1701, true)).count(),
        299
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_customer_overrides_lower_and_raise_the_limit() {
    let app = Arc::new(spawn_app().await);
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 5;
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;
    let store = &app.services().store;
    let brand = BrandName::parse("DEMO").unwrap();
    let dest = Destination::mobile(MOBILE).unwrap();
    store
        .set_limit_override(&brand, &dest, Some(2))
        .await
        .unwrap();
    assert_eq!(
        burst(&app, 40, 4)
            .await
            .iter()
            .filter(|r| r.0 == 200)
            .count(),
        2
    );

    store
        .set_limit_override(&brand, &dest, Some(12))
        .await
        .unwrap();
    assert_eq!(
        burst(&app, 40, 4)
            .await
            .iter()
            .filter(|r| r.0 == 200)
            .count(),
        10,
        "12 in all today"
    );

    // Another customer still has the brand's limit.
    let other = "+84900000001";
    let s = app.session("MOBILE", other).await;
    for _ in 0..5 {
        assert_eq!(app.generate("MOBILE", other, &s).await.0, 200);
    }
    assert_eq!(code(&app.generate("MOBILE", other, &s).await.1), 1534);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_validates_once_under_concurrent_attempts() {
    let app = Arc::new(spawn_app().await);
    let session = app.session("MOBILE", MOBILE).await;
    app.generate("MOBILE", MOBILE, &session).await;
    let otp = app.code_sent_to(MOBILE, 0).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, session, otp) = (app.clone(), session.clone(), otp.clone());
        tasks.push(tokio::spawn(async move {
            app.validate("MOBILE", MOBILE, &session, &otp).await.0
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn the_day_ends_at_midnight_in_the_brand_time_zone() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 1;
        b.settings.resend_cooldown_seconds = 0;
        b.settings.time_zone = "Asia/Ho_Chi_Minh".into(); // UTC+7: midnight is 17:00 UTC
    })
    .await;
    app.clock.set("2026-11-26T16:59:00Z".parse().unwrap());
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    let (status, body, headers) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (429, 1534));
    assert_eq!(headers["retry-after"], "60", "one minute to local midnight");
    app.clock.set("2026-11-26T17:00:00Z".parse().unwrap());
    assert_eq!(
        app.generate("MOBILE", MOBILE, &session).await.0,
        200,
        "a new day in Ho Chi Minh City"
    );
}

#[tokio::test]
async fn a_rolling_window_replaces_the_calendar_day() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 2;
        b.settings.limit_window_minutes = Some(60);
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;
    // Sessions live 15 minutes: each step opens its own.
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200); // 10:00
    app.clock.advance(std::time::Duration::from_secs(30 * 60));
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200); // 10:30
    let (status, body, headers) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (429, 1534));
    assert_eq!(
        headers["retry-after"],
        (30 * 60).to_string(),
        "until the 10:00 code leaves the window"
    );
    app.clock
        .advance(std::time::Duration::from_secs(30 * 60 + 1));
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
}
