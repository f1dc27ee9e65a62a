//! The dashboard's numbers, from known traffic: issued codes by channel, refusals, deliveries
//! sent and failed, validations, per hour and per day.

use std::sync::atomic::Ordering;
use std::time::Duration;

use otpd::domain::DeliveryStatus;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::spawn_app;
use crate::helpers::{TestApp, code};

const A: &str = "+84901111111";
const C: &str = "+84902222222";
const EMAIL: &str = "b@example.com";

async fn wait_for_delivery(app: &TestApp, to_digits: &str, status: DeliveryStatus) {
    for _ in 0..500 {
        let done = app.log_records().await.iter().any(|r| {
            r.destination.as_deref() == Some(&format!("MOBILE:{to_digits}")) && r.delivery == status
        });
        if done {
            return;
        }
        // Retries are due on the server's (manual) clock.
        app.clock.advance(Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the delivery to {to_digits} never became {status:?}");
}

#[tokio::test]
async fn the_dashboard_counts_known_traffic_exactly() {
    let app = spawn_app().await;
    let t = &app.inner;
    t.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 2;
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;

    // A: two codes, then the daily limit (1534); the second code validates.
    let s = t.session("MOBILE", A).await;
    assert_eq!(code(&t.generate("MOBILE", A, &s).await.1), 200);
    assert_eq!(code(&t.generate("MOBILE", A, &s).await.1), 200);
    assert_eq!(code(&t.generate("MOBILE", A, &s).await.1), 1534);
    t.code_sent_to(A, 0).await;
    let otp = t.code_sent_to(A, 1).await;
    assert_eq!(code(&t.validate("MOBILE", A, &s, &otp).await.1), 200);
    // B: one e-mail.
    let s = t.session("EMAIL", EMAIL).await;
    assert_eq!(code(&t.generate("EMAIL", EMAIL, &s).await.1), 200);
    t.code_sent_to(EMAIL, 0).await;
    // C: the provider is down; the delivery fails for good after its retries.
    t.capture.failing.store(true, Ordering::SeqCst);
    let s = t.session("MOBILE", C).await;
    assert_eq!(code(&t.generate("MOBILE", C, &s).await.1), 200);
    wait_for_delivery(t, "84902222222", DeliveryStatus::Failed).await;
    let (_, d) = app.call(Method::GET, "/stats", None).await;
    assert_eq!(d["failingChannels"][0]["brand"], "DEMO", "{d}");
    assert_eq!(d["failingChannels"][0]["channel"], "SMS");
    assert_eq!(d["failingChannels"][0]["failedAttempts"], 4);
    t.capture.failing.store(false, Ordering::SeqCst);
    // A request for a brand otpd does not know counts nowhere.
    let mut req = crate::helpers::mobile_req("MOBILE", A, Some(&s));
    req["brand"] = json!("NOPE");
    t.post("/auth/v1/otp/generate", &req).await;

    let (status, d) = app.call(Method::GET, "/stats", None).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let day = &d["last24h"];
    assert_eq!(day["issued"], 4, "{d}");
    assert_eq!(day["byChannel"], json!({"SMS": 3, "EMAIL": 1}));
    assert_eq!(day["outcomes"], json!({"200": 4, "1534": 1}));
    assert_eq!(
        day["limitHits"],
        json!({"dailyLimit": 1, "resendCooldown": 0, "clientRate": 0})
    );
    assert_eq!(
        (
            day["sent"].clone(),
            day["failed"].clone(),
            day["expired"].clone()
        ),
        (json!(3), json!(1), json!(0))
    );
    assert_eq!(day["deliverySuccessRate"], 0.75);
    assert_eq!(day["validated"], 1);
    assert_eq!(d["last30d"], d["last24h"]);
    let hourly = d["hourly"].as_array().unwrap();
    assert_eq!(hourly.len(), 24);
    assert_eq!(hourly[23]["issued"], 4);
    assert_eq!(hourly[23]["byBrand"], json!({"DEMO": 4}));
    assert_eq!(
        hourly[..23]
            .iter()
            .map(|b| b["issued"].as_u64().unwrap())
            .sum::<u64>(),
        0
    );
    let daily = d["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    assert_eq!(daily[29]["issued"], 4);
    assert_eq!(
        d["brands"],
        json!([{"brand": "DEMO", "issued": 4, "sent": 3, "validated": 1}])
    );

    // Two hours later, one more code: a new hourly bucket; the old one moved back two places.
    t.clock.advance(Duration::from_secs(2 * 3600));
    let s = t.session("MOBILE", "+84903333333").await;
    assert_eq!(code(&t.generate("MOBILE", "+84903333333", &s).await.1), 200);
    t.code_sent_to("+84903333333", 0).await;
    let (_, d) = app.call(Method::GET, "/stats?brand=demo", None).await;
    assert_eq!(
        d["failingChannels"],
        json!([]),
        "a success ends the failing state"
    );
    let hourly = d["hourly"].as_array().unwrap();
    assert_eq!(
        (hourly[23]["issued"].clone(), hourly[21]["issued"].clone()),
        (json!(1), json!(4))
    );
    assert_eq!(d["last30d"]["issued"], 5);
    // The counters survive a restart: they are in the store.
    let app_restarted = app.inner.restart().await;
    let stats = app_restarted
        .services()
        .admin("test")
        .dashboard(&Default::default())
        .await
        .unwrap();
    assert_eq!(stats.last30d.issued, 5);
}

#[tokio::test]
async fn days_are_counted_in_the_asked_time_zone() {
    let app = spawn_app().await;
    // The test clock starts at 2026-11-26 10:00 UTC = 17:00 in Ho Chi Minh City.
    let t = &app.inner;
    let s = t.session("MOBILE", A).await;
    assert_eq!(code(&t.generate("MOBILE", A, &s).await.1), 200);
    let (_, d) = app
        .call(Method::GET, "/stats?timeZone=Asia/Ho_Chi_Minh", None)
        .await;
    let today: jiff::Timestamp = "2026-11-25T17:00:00Z".parse().unwrap();
    assert_eq!(d["daily"][29]["startMs"], today.as_millisecond());
    assert_eq!(d["daily"][29]["issued"], 1);
    let (status, err) = app
        .call(Method::GET, "/stats?timeZone=Mars/Base", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "timeZone");
}

/// On PostgreSQL a node counts in memory and adds its counts into the table by itself, about
/// twice a second, without a reader asking first (another node's dashboard reads the table).
#[tokio::test]
async fn postgresql_counts_reach_the_table_without_a_reader() {
    use crate::helpers::{postgres_server, spawn_on_fresh_database};
    let Some(server) = postgres_server() else {
        eprintln!("not run on the embedded store: tests PostgreSQL's counting");
        return;
    };
    let (app, db) = spawn_on_fresh_database(&server).await;
    let s = app.session("MOBILE", A).await;
    assert_eq!(code(&app.generate("MOBILE", A, &s).await.1), 200);
    let s = app.session("MOBILE", C).await;
    assert_eq!(code(&app.generate("MOBILE", C, &s).await.1), 200);

    let mut issued = 0;
    for _ in 0..200 {
        issued = db
            .query_one(
                "SELECT coalesce(sum(count), 0)::int8 FROM stats WHERE counter LIKE 'issued.%'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        if issued == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(issued, 2, "the two issued codes are counted in the table");
}
