//! The happy path on both paths, single and batch, and what a session allows.

use std::time::Duration;

use serde_json::json;

use otpd::domain::ChannelKind;

use crate::helpers::*;

#[tokio::test]
async fn token_generate_validate_on_the_mobile_path() {
    let app = spawn_app().await;
    let session = app.session("MOBILE", MOBILE).await;
    assert!(session.starts_with("P-") && session.len() == 38);

    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!(
        (status, body.clone()),
        (
            200,
            json!({"status": {"success": true, "code": 200, "message": "SUCCESS"}})
        )
    );
    let otp = app.code_sent_to("+84901234567", 0).await;
    assert_eq!(otp.len(), 6);
    let sent = &app.capture.all()[0];
    assert_eq!(
        sent.text,
        format!("{otp} is your DEMO code. It expires in 10 minutes. Do not share it.")
    );

    let (status, body) = app.validate("MOBILE", MOBILE, &session, &otp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["role"], "USER");
    assert_eq!(body["user"]["sessionId"], serde_json::Value::Null);
    assert!(body["auth"]["token"].as_str().unwrap().split('.').count() == 3);
    assert!(
        body["auth"]["key"].is_string(),
        "mobile validate returns a key"
    );

    // Single use: the same code (and session) never validates twice.
    let (status, body) = app.validate("MOBILE", MOBILE, &session, &otp).await;
    assert_eq!((status, code(&body)), (400, 1506));
}

#[tokio::test]
async fn the_web_path_needs_no_device_and_returns_no_key() {
    let app = spawn_app().await;
    let req =
        json!({"identifierType": "EMAIL", "identifierValue": "Jane@Example.com", "brand": "demo"});
    let (status, body, _) = app.post("/auth/v1/web/token/generate", &req).await;
    assert_eq!(status, 200, "{body}");
    let session = body["user"]["sessionId"].as_str().unwrap().to_owned();
    let mut generate_req = req.clone();
    generate_req["sessionId"] = json!(session);
    let (status, body, _) = app.post("/auth/v1/web/otp/generate", &generate_req).await;
    assert_eq!(status, 200, "{body}");
    let otp = app.code_sent_to("Jane@example.com", 0).await;
    let mut val = generate_req.clone();
    val["otp"] = json!(otp);
    let (status, body, _) = app.post("/auth/v1/web/otp/validate", &val).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auth"]["key"], serde_json::Value::Null);

    // A web session is not a mobile session.
    let (status, body, _) = app
        .post(
            "/auth/v1/otp/generate",
            &json!({
        "identifierType": "EMAIL", "identifierValue": "Jane@Example.com", "brand": "DEMO",
        "deviceId": "d", "sessionId": session}),
        )
        .await;
    assert_eq!((status, code(&body)), (401, 1505));
}

#[tokio::test]
async fn an_otp_sent_as_a_number_is_left_padded() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.test_identifiers = vec![otpd::domain::brand::TestIdentifier {
            identifier_type: otpd::domain::IdentifierType::Mobile,
            identifier_value: "+15550001111".into(),
            otp: "000042".into(),
        }]
    })
    .await;
    let session = app.session("MOBILE", "+15550001111").await;
    assert_eq!(
        app.generate("MOBILE", "+15550001111", &session).await.0,
        200
    );
    let mut body = mobile_req("MOBILE", "+15550001111", Some(&session));
    body["otp"] = json!(42);
    let (status, body, _) = app.post("/auth/v1/otp/validate", &body).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn test_identifiers_send_nothing_charge_nothing_and_are_marked() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.daily_otp_limit = 1;
        b.settings.resend_cooldown_seconds = 0;
        b.settings.test_identifiers = vec![otpd::domain::brand::TestIdentifier {
            identifier_type: otpd::domain::IdentifierType::Mobile,
            identifier_value: "+15550009999".into(),
            otp: "999999".into(),
        }];
    })
    .await;
    let session = app.session("MOBILE", "+15550009999").await;
    for _ in 0..3 {
        let (status, body, _) = app.generate("MOBILE", "+15550009999", &session).await;
        assert_eq!(status, 200, "limit 1 is not charged: {body}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.capture.all().is_empty(), "nothing is sent");
    let records = app.log_records().await;
    assert_eq!(records.len(), 3);
    assert!(
        records
            .iter()
            .all(|r| r.test && r.delivery == otpd::domain::DeliveryStatus::Test)
    );
    let (status, _) = app
        .validate("MOBILE", "+15550009999", &session, "999999")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_resend_replaces_the_code_and_keeps_the_attempt_count() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| b.settings.max_validate_attempts = 3)
        .await;
    let session = app.session("MOBILE", MOBILE).await;
    app.generate("MOBILE", MOBILE, &session).await;
    let first = app.code_sent_to(MOBILE, 0).await;
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        code(&app.validate("MOBILE", MOBILE, &session, wrong).await.1),
        1506
    );
    assert_eq!(
        code(&app.validate("MOBILE", MOBILE, &session, wrong).await.1),
        1506
    );

    app.clock.advance(Duration::from_secs(31));
    let (status, body, _) = app.generate("MOBILE", MOBILE, &session).await;
    assert_eq!(status, 200, "{body}");
    let second = app.code_sent_to(MOBILE, 1).await;
    if first != second {
        assert_eq!(
            code(&app.validate("MOBILE", MOBILE, &session, &first).await.1),
            1506,
            "the old code is dead"
        );
        // Three wrong codes in all: the session is dead, even for the right code.
        let (status, body) = app.validate("MOBILE", MOBILE, &session, &second).await;
        assert_eq!((status, code(&body)), (429, 1518));
    }
}

#[tokio::test]
async fn codes_expire() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| b.settings.otp_ttl_seconds = 60)
        .await;
    let session = app.session("MOBILE", MOBILE).await;
    app.generate("MOBILE", MOBILE, &session).await;
    let otp = app.code_sent_to(MOBILE, 0).await;
    app.clock.advance(Duration::from_secs(61));
    let (status, body) = app.validate("MOBILE", MOBILE, &session, &otp).await;
    assert_eq!(
        (status, code(&body)),
        (400, 1506),
        "an expired code gets the same answer as a wrong one"
    );
}

#[tokio::test]
async fn a_batch_answers_each_item_in_order() {
    let app = spawn_app().await;
    let batch = json!([
        {"identifierType": "MOBILE", "identifierValue": MOBILE, "brand": "DEMO", "deviceId": DEVICE},
        {"identifierType": "FAX", "identifierValue": "1", "brand": "DEMO", "deviceId": DEVICE},
        {"identifierType": "EMAIL", "identifierValue": "a@b.co", "brand": "NOPE", "deviceId": DEVICE},
    ]);
    let (status, body, _) = app.post("/auth/v1/token/generate", &batch).await;
    assert_eq!(status, 200);
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(code(&items[0]), 200);
    assert!(items[0]["user"]["sessionId"].is_string());
    assert_eq!(code(&items[1]), 1546);
    assert_eq!(code(&items[2]), 1504);
}

#[tokio::test]
async fn username_identifiers_go_to_the_mobile_or_email_given_at_token_time() {
    let app = spawn_app().await;
    let (s, body, _) = app.post("/auth/v1/token/generate", &json!({
        "identifierType": "USERNAME", "identifierValue": "jane_doe", "brand": "DEMO", "deviceId": DEVICE,
        "mobile": "+84 912 345 678", "email": "jane@example.com"})).await;
    assert_eq!(s, 200, "{body}");
    let session = body["user"]["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(app.generate("USERNAME", "jane_doe", &session).await.0, 200);
    let otp = app.code_sent_to("+84912345678", 0).await;
    assert_eq!(
        app.validate("USERNAME", "jane_doe", &session, &otp).await.0,
        200
    );
}

#[tokio::test]
async fn fallback_channel_sends_through_the_named_configured_channel() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.fallback_channels = vec![ChannelKind::Email]
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    let mut body = mobile_req("MOBILE", MOBILE, Some(&session));
    body["email"] = json!("jane@example.com");
    let (status, resp, _) = app
        .post("/auth/v1/otp/generate?fallbackChannel=EMAIL", &body)
        .await;
    assert_eq!(status, 200, "{resp}");
    app.code_sent_to("jane@example.com", 0).await;
    let sent = app.capture.all();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, ChannelKind::Email);
}

#[tokio::test]
async fn the_request_locale_picks_the_template_with_the_brand_default_behind_it() {
    use otpd::domain::template::{ChannelTemplates, Template};
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        let vi = Template {
            subject: None,
            text: "Mã {brand} của bạn là {otp}".into(),
            html: None,
        };
        let fr = Template {
            subject: None,
            text: "Votre code {brand} : {otp}".into(),
            html: None,
        };
        b.templates.insert(
            ChannelKind::Sms,
            ChannelTemplates {
                default: None,
                locales: [("vi".to_owned(), vi), ("fr".to_owned(), fr)].into(),
            },
        );
        b.settings.default_locale = Some("fr".into());
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    let with_locale = |locale: Option<&str>| {
        let mut body = mobile_req("MOBILE", MOBILE, Some(&session));
        if let Some(l) = locale {
            body["locale"] = json!(l);
        }
        body
    };
    let cases = [
        (Some("vi-VN"), "Mã DEMO của bạn là "),
        (None, "Votre code DEMO : "),
        (Some("de"), "Votre code DEMO : "),
    ];
    for (i, (locale, prefix)) in cases.iter().enumerate() {
        let (status, body, _) = app
            .post("/auth/v1/otp/generate", &with_locale(*locale))
            .await;
        assert_eq!(status, 200, "{body}");
        let otp = app.code_sent_to(MOBILE, i).await;
        let sent = app.capture.all()[i].text.clone();
        assert_eq!(sent, format!("{prefix}{otp}"), "locale {locale:?}");
    }
}
