//! Payload signing v1 (docs/api.md §5): correct hashes pass; missing, wrong, stale, replayed or
//! other-endpoint hashes get 5004; a retiring key verifies until revoked.

use std::time::Duration;

use otpd::domain::SignedEndpoint;
use otpd::domain::signature::{KeyState, SignedFields, SigningKey, sign};
use serde_json::{Value, json};

use crate::helpers::*;

fn signed(body: &Value, path: &str, secret: &[u8], ts: i64) -> Value {
    let field = |k: &str| match &body[k] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let ts_text = ts.to_string();
    let (brand, kind, value, device, session, otp) = (
        field("brand"),
        field("identifierType"),
        field("identifierValue"),
        field("deviceId"),
        field("sessionId"),
        field("otp"),
    );
    let hash = sign(
        secret,
        &SignedFields {
            time_stamp: &ts_text,
            path,
            brand: &brand,
            identifier_type: &kind,
            identifier_value: &value,
            device_id: &device,
            session_id: &session,
            otp: &otp,
        },
    );
    let mut out = body.clone();
    out["timeStamp"] = json!(ts);
    out["hash"] = json!(hash);
    out
}

fn key(id: u32, state: KeyState) -> SigningKey {
    SigningKey {
        id,
        secret: vec![id as u8 + 1; 32],
        state,
        created_ms: 0,
    }
}

#[tokio::test]
async fn signed_generate_passes_and_every_tampering_is_5004() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.signing_endpoints = vec![SignedEndpoint::OtpGenerate];
        b.settings.resend_cooldown_seconds = 0;
        b.signing_keys = vec![
            key(1, KeyState::Retiring),
            key(2, KeyState::Active),
            key(3, KeyState::Revoked),
        ];
    })
    .await;
    let now = app.clock.now_ms();
    let path = "/auth/v1/otp/generate";
    let session = app.session("MOBILE", MOBILE).await;
    let body = mobile_req("MOBILE", MOBILE, Some(&session));
    let secret = vec![3u8; 32]; // key 2 (active)

    let good = signed(&body, path, &secret, now);
    assert_eq!(app.post(path, &good).await.0, 200);
    let (status, r, _) = app.post(path, &good).await;
    assert_eq!((status, code(&r)), (400, 5004), "replay");

    let retiring = signed(&body, path, &[2u8; 32], now + 1);
    assert_eq!(
        app.post(path, &retiring).await.0,
        200,
        "a retiring key still verifies"
    );
    let revoked = signed(&body, path, &[4u8; 32], now + 2);
    assert_eq!(
        code(&app.post(path, &revoked).await.1),
        5004,
        "a revoked key does not"
    );

    assert_eq!(code(&app.post(path, &body).await.1), 5004, "missing");
    let mut wrong = signed(&body, path, &secret, now + 3);
    wrong["hash"] = json!("00".repeat(32));
    assert_eq!(code(&app.post(path, &wrong).await.1), 5004, "wrong");
    let mut malformed = signed(&body, path, &secret, now + 4);
    malformed["hash"] = json!("not hex");
    assert_eq!(code(&app.post(path, &malformed).await.1), 5004, "malformed");
    let stale = signed(&body, path, &secret, now - 121_000);
    assert_eq!(code(&app.post(path, &stale).await.1), 5004, "stale");
    let future = signed(&body, path, &secret, now + 121_000);
    assert_eq!(
        code(&app.post(path, &future).await.1),
        5004,
        "from the future"
    );
    let other_endpoint = signed(&body, "/auth/v1/otp/validate", &secret, now + 5);
    assert_eq!(
        code(&app.post(path, &other_endpoint).await.1),
        5004,
        "signed for another endpoint"
    );
    let mut tampered = signed(&body, path, &secret, now + 6);
    tampered["identifierValue"] = json!("+84 901234567");
    assert_eq!(
        code(&app.post(path, &tampered).await.1),
        5004,
        "a changed field"
    );

    // The window moves with the clock.
    app.clock.advance(Duration::from_secs(100));
    let late = signed(&body, path, &secret, now + 7);
    assert_eq!(
        app.post(path, &late).await.0,
        200,
        "100 s is inside the 120 s window"
    );
}

#[tokio::test]
async fn signing_applies_only_to_the_endpoints_chosen() {
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.signing_endpoints =
            vec![SignedEndpoint::TokenGenerate, SignedEndpoint::OtpValidate];
        b.signing_keys = vec![key(1, KeyState::Active)];
    })
    .await;
    let secret = vec![2u8; 32];
    let now = app.clock.now_ms();
    let token_req = mobile_req("MOBILE", MOBILE, None);
    assert_eq!(
        code(&app.post("/auth/v1/token/generate", &token_req).await.1),
        5004
    );
    let (s, body, _) = app
        .post(
            "/auth/v1/token/generate",
            &signed(&token_req, "/auth/v1/token/generate", &secret, now),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let session = body["user"]["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(
        app.generate("MOBILE", MOBILE, &session).await.0,
        200,
        "generate is not signed here"
    );
    let otp = app.code_sent_to(MOBILE, 0).await;
    let mut val = mobile_req("MOBILE", MOBILE, Some(&session));
    val["otp"] = json!(otp);
    assert_eq!(code(&app.post("/auth/v1/otp/validate", &val).await.1), 5004);
    let (s, body, _) = app
        .post(
            "/auth/v1/otp/validate",
            &signed(&val, "/auth/v1/otp/validate", &secret, now),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}
