//! Every code of docs/api.md §7 these endpoints can produce, provoked over real HTTP.

use std::time::Duration;

use otpd::domain::ChannelKind;
use serde_json::{Value, json};

use crate::helpers::*;

async fn gen_with(app: &TestApp, body: &Value) -> (u16, i64, String) {
    let (s, b, _) = app.post("/auth/v1/otp/generate", body).await;
    (
        s,
        code(&b),
        b["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn malformed_requests_get_1519_naming_the_problem() {
    let app = spawn_app().await;
    let session = app.session("MOBILE", MOBILE).await;
    let base = mobile_req("MOBILE", MOBILE, Some(&session));
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut b = base.clone();
                b.as_object_mut().unwrap().remove("identifierValue");
                b
            },
            "identifierValue is required",
        ),
        (
            {
                let mut b = base.clone();
                b["brand"] = json!(42);
                b
            },
            "brand must be a string",
        ),
        (
            {
                let mut b = base.clone();
                b.as_object_mut().unwrap().remove("deviceId");
                b
            },
            "deviceId is required",
        ),
        (
            {
                let mut b = base.clone();
                b.as_object_mut().unwrap().remove("sessionId");
                b
            },
            "sessionId is required",
        ),
        (
            {
                let mut b = base.clone();
                b["sessionId"] = json!("nonsense");
                b
            },
            "sessionId",
        ),
        (
            {
                let mut b = base.clone();
                b["identifierValue"] = json!("+84 90\u{0007}1234567");
                b
            },
            "control character",
        ),
        (
            {
                let mut b = base.clone();
                b["identifierValue"] = json!("12ab");
                b
            },
            "identifierValue",
        ),
        (
            {
                let mut b = base.clone();
                b["mobile"] = json!(["x"]);
                b
            },
            "mobile must be a string",
        ),
    ];
    for (body, needle) in cases {
        let (status, c, message) = gen_with(&app, &body).await;
        assert_eq!((status, c), (400, 1519), "{body}");
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
}

#[tokio::test]
async fn bodies_that_are_not_requests_get_1519_and_are_counted_not_logged() {
    let app = spawn_app().await;
    let url = app.url("/auth/v1/otp/generate");
    let send = |body: Vec<u8>, ctype: &'static str| {
        let client = app.client.clone();
        let url = url.clone();
        async move {
            let r = client
                .post(url)
                .header("content-type", ctype)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (
                status,
                code(&body),
                body["status"]["message"].as_str().unwrap().to_owned(),
            )
        }
    };
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let batch_101 = serde_json::to_vec(&vec![json!({}); 101]).unwrap();
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            b"{\"identifierType\":".to_vec(),
            "application/json",
            "not valid JSON",
        ),
        (b"{}".to_vec(), "text/plain", "Content-Type"),
        (big.into_bytes(), "application/json", "64 KiB"),
        (b"[]".to_vec(), "application/json", "empty"),
        (batch_101, "application/json", "101"),
        (b"[1]".to_vec(), "application/json", "batch item 0"),
        (b"\"text\"".to_vec(), "application/json", "JSON object"),
        (vec![0xff, 0xfe], "application/json", "not valid JSON"),
    ];
    let n = cases.len();
    for (body, ctype, needle) in cases {
        let (status, c, message) = send(body, ctype).await;
        assert_eq!((status, c), (400, 1519), "{message}");
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
    // They name no brand: an anonymous client must not be able to fill the disk with them,
    // so they are counted in the metrics, not written to the issuance log.
    assert!(
        app.log_records().await.is_empty(),
        "{:?}",
        app.log_records().await
    );
    let metrics = app.admin_get_text("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "otpd_generate_unattributed_refusals_total{{code=\"1519\"}} {n}"
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_generate_for_an_unknown_brand_leaves_no_log_record() {
    let app = spawn_app().await;
    let mut req = mobile_req(
        "MOBILE",
        MOBILE,
        Some("P-00000000-0000-4000-8000-000000000000"),
    );
    req["brand"] = json!("NOSUCHBRAND");
    let (status, body, _) = app.post("/auth/v1/otp/generate", &req).await;
    assert_eq!((status, code(&body)), (400, 1504));
    assert!(app.log_records().await.is_empty());
    let metrics = app.admin_get_text("/metrics").await;
    assert!(
        metrics.contains("otpd_generate_unattributed_refusals_total{code=\"1504\"} 1"),
        "{metrics}"
    );
    // A refusal for a brand otpd knows is still in its log.
    req["brand"] = json!("DEMO");
    let (_, body, _) = app.post("/auth/v1/otp/generate", &req).await;
    assert_ne!(code(&body), 200);
    assert_eq!(app.log_records().await.len(), 1);
}

#[tokio::test]
async fn identifier_type_brand_and_session_codes() {
    let app = spawn_app().await;
    let session = app.session("MOBILE", MOBILE).await;
    let base = mobile_req("MOBILE", MOBILE, Some(&session));

    let mut b = base.clone();
    b["identifierType"] = json!("PHONE");
    assert_eq!(gen_with(&app, &b).await.1, 1546);

    let mut b = base.clone();
    b["brand"] = json!("UNKNOWN");
    assert_eq!(gen_with(&app, &b).await.0, 400);
    assert_eq!(gen_with(&app, &b).await.1, 1504);

    let mut b = base.clone();
    b["sessionId"] = json!("P-00000000-0000-4000-8000-000000000000");
    assert_eq!(
        gen_with(&app, &b).await,
        (401, 1505, "Invalid session".to_owned())
    );

    let mut b = base.clone();
    b["identifierValue"] = json!("+84901234500");
    assert_eq!(gen_with(&app, &b).await.1, 1507, "a different mobile");

    let mut b = base.clone();
    b["identifierType"] = json!("EMAIL");
    b["identifierValue"] = json!("x@example.com");
    assert_eq!(gen_with(&app, &b).await.1, 1541, "a different identifier");

    let mut b = base.clone();
    b["deviceId"] = json!("device-2");
    assert_eq!(gen_with(&app, &b).await.1, 1508);

    let other = otpd::domain::Brand::new(
        otpd::domain::BrandName::parse("OTHER").unwrap(),
        Default::default(),
        0,
    );
    app.services().store.create_brand(&other).await.unwrap();
    let mut b = base.clone();
    b["brand"] = json!("other");
    assert_eq!(gen_with(&app, &b).await.1, 1509);

    // A disabled brand is unsupported.
    app.update_brand("DEMO", |b| b.settings.enabled = false)
        .await;
    assert_eq!(gen_with(&app, &base).await.1, 1504);
}

#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app().await;
    let session = app.session("MOBILE", MOBILE).await;
    app.clock.advance(Duration::from_secs(901));
    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (401, 1505));
}

#[tokio::test]
async fn validate_codes_1537_1506_1518() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| b.settings.max_validate_attempts = 2)
        .await;
    let session = app.session("MOBILE", MOBILE).await;
    let (status, body) = app.validate("MOBILE", MOBILE, &session, "123456").await;
    assert_eq!((status, code(&body)), (400, 1537));

    app.generate("MOBILE", MOBILE, &session).await;
    let otp = app.code_sent_to(MOBILE, 0).await;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    assert_eq!(
        app.validate("MOBILE", MOBILE, &session, wrong).await,
        (
            400,
            json!({"status": {"success": false, "code": 1506, "message": "Invalid OTP"}})
        )
    );
    assert_eq!(
        code(&app.validate("MOBILE", MOBILE, &session, wrong).await.1),
        1506
    );
    let (status, body) = app.validate("MOBILE", MOBILE, &session, &otp).await;
    assert_eq!(
        (status, code(&body)),
        (429, 1518),
        "two wrong codes killed the session"
    );
    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!(
        (status, code(&body)),
        (429, 1518),
        "a dead session cannot be resent"
    );

    let mut b = mobile_req("MOBILE", MOBILE, Some(&session));
    b["otp"] = json!("12x");
    let (status, body, _) = app.post("/auth/v1/otp/validate", &b).await;
    assert_eq!((status, code(&body)), (400, 1519));
}

#[tokio::test]
async fn destination_and_channel_codes_1540_1601_1602_1603() {
    let app = spawn_app().await;
    let session = app.session("USERNAME", "jane").await;
    let (_, body, _) = app.generate("USERNAME", "jane", &session).await;
    assert_eq!(code(&body), 1540, "USERNAME with no mobile or email");

    app.update_brand("DEMO", |b| {
        b.settings.fallback_channels = vec![ChannelKind::Email, ChannelKind::Whatsapp]
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    let body = mobile_req("MOBILE", MOBILE, Some(&session));
    let (_, r, _) = app
        .post("/auth/v1/otp/generate?fallbackChannel=EMAIL", &body)
        .await;
    assert_eq!(code(&r), 1602, "EMAIL fallback without an email");
    let (_, r, _) = app
        .post("/auth/v1/otp/generate?fallbackChannel=ZALO", &body)
        .await;
    assert_eq!(code(&r), 1603, "ZALO is not a fallback of this brand");
    let (_, r, _) = app
        .post("/auth/v1/otp/generate?fallbackChannel=PIGEON", &body)
        .await;
    assert_eq!(code(&r), 1519);
    // A query string that cannot be read is a malformed request too, in the envelope.
    let (status, r, _) = app
        .post(
            "/auth/v1/web/otp/generate?fallbackChannel=SMS&fallbackChannel=EMAIL",
            &body,
        )
        .await;
    assert_eq!((status, code(&r)), (400, 1519), "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("query string"),
        "{r}"
    );

    let email_session = app.session("EMAIL", "jane@example.com").await;
    let (_, r, _) = app
        .post(
            "/auth/v1/otp/generate?fallbackChannel=WHATSAPP",
            &mobile_req("EMAIL", "jane@example.com", Some(&email_session)),
        )
        .await;
    assert_eq!(code(&r), 1601, "WHATSAPP fallback without a mobile");

    // The primary channel not configured at all.
    app.update_brand("DEMO", |b| {
        b.channels.remove(&ChannelKind::Sms);
    })
    .await;
    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (400, 1603));
}

#[tokio::test]
async fn the_resend_cooldown_1701_and_daily_limit_1534_set_retry_after() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 2;
        b.settings.resend_cooldown_seconds = 30;
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    let (status, body, headers) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (429, 1701));
    assert_eq!(headers["retry-after"], "30");
    app.clock.advance(Duration::from_secs(30));
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    app.clock.advance(Duration::from_secs(30));
    let (status, body, headers) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!((status, code(&body)), (429, 1534));
    // The manual clock stands at 10:01:00 UTC: 13 h 59 min to midnight.
    assert_eq!(headers["retry-after"], (13 * 3600 + 59 * 60).to_string());
}

/// One inbox, one limit: the cooldown and the daily limit count an address whatever the case
/// of its letters, so changing the case gets no fresh allowance.
#[tokio::test]
async fn email_limits_ignore_the_case_of_the_address() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 1;
        b.settings.resend_cooldown_seconds = 30;
    })
    .await;
    let first = app.session("EMAIL", "Jane.Doe@example.com").await;
    assert_eq!(
        app.generate("EMAIL", "Jane.Doe@example.com", &first)
            .await
            .0,
        200
    );
    let other_case = app.session("EMAIL", "jane.doe@EXAMPLE.com").await;
    let (status, body, _) = app
        .generate("EMAIL", "jane.doe@EXAMPLE.com", &other_case)
        .await;
    assert_eq!((status, code(&body)), (429, 1701), "the cooldown: {body}");
    app.clock.advance(Duration::from_secs(30));
    let (status, body, _) = app
        .generate(
            "EMAIL",
            "JANE.DOE@example.com",
            &app.session("EMAIL", "JANE.DOE@example.com").await,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (429, 1534),
        "the daily limit: {body}"
    );
}

#[tokio::test]
async fn the_client_address_rate_limit_1702() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(dir.path().to_path_buf());
    config.client_rate_limit_per_minute = 3;
    let app = spawn_with(config, dir).await;
    for _ in 0..3 {
        app.session("MOBILE", MOBILE).await;
    }
    let (status, body, headers) = app
        .post(
            "/auth/v1/token/generate",
            &mobile_req("MOBILE", MOBILE, None),
        )
        .await;
    assert_eq!((status, code(&body)), (429, 1702));
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    app.clock.advance(Duration::from_secs(60));
    app.session("MOBILE", MOBILE).await;
}

#[tokio::test]
async fn errors_as_http_200_keeps_the_body() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| b.settings.errors_as_http200 = true)
        .await;
    let session = app.session("MOBILE", MOBILE).await;
    let (status, body) = app.validate("MOBILE", MOBILE, &session, "123456").await;
    assert_eq!((status, code(&body)), (200, 1537));
}
