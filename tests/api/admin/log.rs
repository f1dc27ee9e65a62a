//! The issuance log through the admin API and `otpd log`: filters, cursor paging, one record
//! with its attempts, CSV export.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{spawn_app, stdout};
use crate::helpers::{MOBILE, code};

#[tokio::test]
async fn operators_read_filter_page_and_export_the_log() {
    let app = spawn_app().await;
    let t = &app.inner;
    let session = t.session("MOBILE", MOBILE).await;
    for _ in 0..3 {
        assert_eq!(t.generate("MOBILE", MOBILE, &session).await.0, 200);
        t.code_sent_to(MOBILE, 0).await;
        t.clock.advance(Duration::from_secs(31));
    }
    let (_, refused, _) = t
        .post("/auth/v1/otp/generate", &json!({"brand": "DEMO"}))
        .await;
    assert_eq!(code(&refused), 1519);
    let other = t.session("EMAIL", "jane@example.com").await;
    assert_eq!(t.generate("EMAIL", "jane@example.com", &other).await.0, 200);

    // Everything, newest first.
    let (status, page) = app.call(Method::GET, "/log", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["identifier"], "jane@example.com");
    assert_eq!(page["nextBefore"], Value::Null);
    let times: Vec<i64> = records
        .iter()
        .map(|r| r["timeMs"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));

    // Filters.
    let (_, refusals) = app.call(Method::GET, "/log?outcome=1519", None).await;
    assert_eq!(refusals["records"].as_array().unwrap().len(), 1);
    let (_, mine) = app
        .call(
            Method::GET,
            "/log?brand=demo&destination=MOBILE:84901234567",
            None,
        )
        .await;
    assert_eq!(mine["records"].as_array().unwrap().len(), 3);
    assert!(
        mine["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["destination"] == "MOBILE:84901234567")
    );
    let (_, emails) = app.call(Method::GET, "/log?channel=EMAIL", None).await;
    assert_eq!(emails["records"].as_array().unwrap().len(), 1);
    // One customer across every brand: the same records as with the brand named.
    let (status, any_brand) = app
        .call(Method::GET, "/log?destination=MOBILE:84901234567", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{any_brand}");
    let (_, demo_only) = app
        .call(
            Method::GET,
            "/log?brand=DEMO&destination=MOBILE:84901234567",
            None,
        )
        .await;
    assert_eq!(any_brand["records"], demo_only["records"]);
    let (status, err) = app.call(Method::GET, "/log?outcome=lots", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    // Paging with the cursor: no overlap, nothing lost.
    let (_, first) = app.call(Method::GET, "/log?limit=2", None).await;
    let cursor = first["nextBefore"].as_str().unwrap().to_owned();
    let (_, second) = app
        .call(Method::GET, &format!("/log?limit=2&before={cursor}"), None)
        .await;
    let (_, third) = app
        .call(
            Method::GET,
            &format!(
                "/log?limit=2&before={}",
                second["nextBefore"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let ids: Vec<Value> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].clone())
        })
        .collect();
    let all: Vec<Value> = records.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, all);
    // The customer's history pages too.
    let (_, c1) = app
        .call(
            Method::GET,
            "/log?brand=DEMO&destination=84901234567&limit=2",
            None,
        )
        .await;
    let (_, c2) = app
        .call(
            Method::GET,
            &format!(
                "/log?brand=DEMO&destination=84901234567&limit=2&before={}",
                c1["nextBefore"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(
        c1["records"].as_array().unwrap().len() + c2["records"].as_array().unwrap().len(),
        3
    );

    // One record, with its delivery attempt.
    let id = mine["records"][0]["id"].as_str().unwrap();
    let (status, record) = app.call(Method::GET, &format!("/log/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["delivery"], "SENT");
    assert_eq!(record["attempts"][0]["ok"], true);
    let (status, _) = app
        .call(
            Method::GET,
            "/log/01a2169a-3c6d-75ee-a45c-58b38a33fdb3",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // CSV.
    let csv = app
        .http
        .get(format!("{}/log.csv?brand=DEMO", app.admin))
        .bearer_auth(&*app.server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,time,brand,path,"));
    assert_eq!(lines.len(), 1 + 5, "a header and every DEMO record");

    // The CLI.
    let out = app
        .cli(&[
            "log",
            "list",
            "--brand",
            "DEMO",
            "--outcome",
            "200",
            "--json",
        ])
        .await;
    assert!(out.status.success(), "{out:?}");
    let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed["records"].as_array().unwrap().len(), 4);
    let out = app.cli(&["log", "show", id]).await;
    assert!(
        out.status.success() && stdout(&out).contains("Attempts:"),
        "{out:?}"
    );
    let out = app.cli(&["log", "export", "--brand", "DEMO"]).await;
    assert!(out.status.success());
    assert_eq!(stdout(&out), text);
    let out = app.cli(&["log", "list", "--since", "soon"]).await;
    assert!(!out.status.success());
}

/// Every page of `query`, following the cursor with pages of 3.
async fn all_pages(app: &super::helpers::App, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = app
            .call(Method::GET, &format!("/log?limit=3{query}{before}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["records"].as_array().unwrap().iter().cloned());
        match page["nextBefore"].as_str() {
            Some(cursor) => before = format!("&before={cursor}"),
            None => return out,
        }
    }
}

/// Filters by outcome, channel and delivery status walk the log's index: each combination,
/// paged, returns exactly the records a full listing filtered by hand does, also after
/// deliveries changed records' status and channel.
#[tokio::test]
async fn indexed_filters_agree_with_filtering_every_record() {
    use std::sync::atomic::Ordering;
    let app = spawn_app().await;
    let t = &app.inner;
    t.update_brand("DEMO", |b| {
        b.settings.resend_cooldown_seconds = 0;
        b.settings.daily_otp_limit = 2;
    })
    .await;
    for i in 0..4 {
        let phone = format!("8490123450{i}");
        let session = t.session("MOBILE", &phone).await;
        for _ in 0..3 {
            t.generate("MOBILE", &phone, &session).await; // the third answers 1534
        }
    }
    t.post("/auth/v1/otp/generate", &json!({"brand": "DEMO"}))
        .await;
    let sent = async |n: usize| {
        t.log_records()
            .await
            .iter()
            .filter(|r| r.delivery == otpd::domain::DeliveryStatus::Sent)
            .count()
            >= n
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sent(8).await {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The provider fails the e-mail: its record stays queued (the test clock stands still, so
    // no retry comes), after one failed attempt moved it.
    t.capture.failing.store(true, Ordering::SeqCst);
    let email = t.session("EMAIL", "jane@example.com").await;
    t.generate("EMAIL", "jane@example.com", &email).await;
    while !t
        .log_records()
        .await
        .iter()
        .any(|r| r.channel == Some(otpd::domain::ChannelKind::Email) && !r.attempts.is_empty())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the e-mail was never tried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let everything = all_pages(&app, "").await;
    assert_eq!(everything.len(), 4 * 3 + 2);
    let mut checked = 0;
    for outcome in [None, Some(200), Some(1534), Some(1519)] {
        for channel in [None, Some("SMS"), Some("EMAIL")] {
            for delivery in [None, Some("SENT"), Some("QUEUED"), Some("NONE")] {
                if (outcome, channel, delivery) == (None, None, None) {
                    continue;
                }
                let mut query = String::new();
                outcome.inspect(|o| query.push_str(&format!("&outcome={o}")));
                channel.inspect(|c| query.push_str(&format!("&channel={c}")));
                delivery.inspect(|d| query.push_str(&format!("&delivery={d}")));
                let expected: Vec<&Value> = everything
                    .iter()
                    .filter(|r| outcome.is_none_or(|o| r["outcome"] == o))
                    .filter(|r| channel.is_none_or(|c| r["channel"] == c))
                    .filter(|r| delivery.is_none_or(|d| r["delivery"] == d))
                    .collect();
                let got = all_pages(&app, &query).await;
                assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{query}");
                checked += usize::from(!expected.is_empty());
            }
        }
    }
    assert!(checked >= 8, "the combinations found records ({checked})");
}
