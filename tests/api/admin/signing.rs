//! Payload-signing keys over the admin API: shown once, rotated, verified, revoked.

use base64::Engine;
use otpd::domain::BrandName;
use otpd::domain::signature::{KeyState, SignedFields, sign, verify};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PHONE, spawn_app};

fn decode_secret(outcome: &Value) -> Vec<u8> {
    let secret = outcome["newKey"]["secret"].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(secret)
        .unwrap()
}

#[tokio::test]
async fn signing_keys_are_shown_once_rotated_and_revoked() {
    let app = spawn_app().await;

    let (status, enabled) = app
        .call(
            Method::POST,
            "/brands/DEMO/signing/enable",
            Some(json!({"endpoints": ["OTP_GENERATE", "TOKEN_GENERATE"], "windowSeconds": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    let first = decode_secret(&enabled);
    assert_eq!(first.len(), 32);
    assert_eq!(enabled["newKey"]["keyId"], 1);
    assert_eq!(
        enabled["brand"]["settings"]["signingEndpoints"],
        json!(["TOKEN_GENERATE", "OTP_GENERATE"])
    );
    assert_eq!(enabled["brand"]["settings"]["signatureWindowSeconds"], 60);

    let (_, again) = app
        .call(Method::POST, "/brands/DEMO/signing/enable", None)
        .await;
    assert_eq!(
        again["newKey"],
        Value::Null,
        "an active key exists: no new secret"
    );

    let secret_b64 = enabled["newKey"]["secret"].as_str().unwrap().to_owned();
    for path in ["/brands/DEMO", "/brands", "/audit"] {
        let (_, body) = app.call(Method::GET, path, None).await;
        assert!(
            !body.to_string().contains(&secret_b64),
            "{path} leaks the secret"
        );
    }
    let (_, shown) = app.call(Method::GET, "/brands/DEMO", None).await;
    assert_eq!(
        shown["signingKeys"],
        json!([{"id": 1, "state": "ACTIVE", "createdMs": shown["signingKeys"][0]["createdMs"]}])
    );

    // The request path sees the change at once: an unsigned token/generate is now 5004.
    let (status, answer) = app
        .public(
            "/auth/v1/token/generate",
            json!({"identifierType": "MOBILE", "identifierValue": PHONE, "brand": "DEMO", "deviceId": "d"}),
        )
        .await;
    assert_eq!(
        (status, answer["status"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(5004))
    );

    let (_, rotated) = app
        .call(Method::POST, "/brands/DEMO/signing/rotate", None)
        .await;
    let second = decode_secret(&rotated);
    assert_eq!(rotated["newKey"]["keyId"], 2);
    let states: Vec<&Value> = rotated["brand"]["signingKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["state"])
        .collect();
    assert_eq!(states, [&json!("RETIRING"), &json!("ACTIVE")]);

    // Both secrets verify against the stored key ring.
    let stored = app
        .inner
        .services()
        .store
        .brand(&BrandName::parse("DEMO").unwrap())
        .await
        .unwrap()
        .unwrap()
        .signing_keys;
    assert_eq!(stored[0].state, KeyState::Retiring);
    let fields = SignedFields {
        time_stamp: "1700000000000",
        path: "/auth/v1/otp/generate",
        brand: "DEMO",
        identifier_type: "MOBILE",
        identifier_value: PHONE,
        ..Default::default()
    };
    for secret in [&first, &second] {
        let hash = sign(secret, &fields);
        assert_eq!(
            verify(&stored, &fields, &hash, 1_700_000_000_000, 60),
            Ok(())
        );
    }

    let (status, revoked) = app
        .call(
            Method::POST,
            "/brands/DEMO/signing/revoke",
            Some(json!({"keyId": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["brand"]["signingKeys"][0]["state"], "REVOKED");

    let (status, refused) = app
        .call(
            Method::POST,
            "/brands/DEMO/signing/revoke",
            Some(json!({"keyId": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only key")
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/brands/DEMO/signing/revoke",
            Some(json!({"keyId": 9})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, forced) = app
        .call(
            Method::POST,
            "/brands/DEMO/signing/revoke",
            Some(json!({"keyId": 2, "force": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(forced["brand"]["signingKeys"][1]["state"], "REVOKED");

    let (_, disabled) = app
        .call(Method::POST, "/brands/DEMO/signing/disable", None)
        .await;
    assert_eq!(disabled["brand"]["settings"]["signingEndpoints"], json!([]));
    let (_, reenabled) = app
        .call(Method::POST, "/brands/DEMO/signing/enable", None)
        .await;
    assert_eq!(reenabled["newKey"]["keyId"], 3, "key ids are never reused");
}

#[tokio::test]
async fn check_a_hash_says_which_key_made_it_and_why_it_fails() {
    let app = spawn_app().await;
    let (_, first) = app
        .call(Method::POST, "/brands/DEMO/signing/enable", None)
        .await;
    let old = decode_secret(&first);
    let (_, rotated) = app
        .call(Method::POST, "/brands/DEMO/signing/rotate", None)
        .await;
    let new = decode_secret(&rotated);
    app.call(
        Method::POST,
        "/brands/DEMO/signing/revoke",
        Some(json!({"keyId": 1})),
    )
    .await;
    let now = app.inner.clock.now_ms();
    let body_signed_with = |secret: &[u8], ts: i64| {
        let ts_text = ts.to_string();
        let fields = SignedFields {
            time_stamp: &ts_text,
            path: "/auth/v1/otp/generate",
            brand: "DEMO",
            identifier_type: "MOBILE",
            identifier_value: PHONE,
            device_id: "dev-1",
            session_id: "P-1",
            otp: "",
        };
        json!({"brand": "DEMO", "identifierType": "MOBILE", "identifierValue": PHONE,
               "deviceId": "dev-1", "sessionId": "P-1", "timeStamp": ts, "hash": sign(secret, &fields)})
    };
    let check = |body: serde_json::Value| {
        app.call(
            Method::POST,
            "/brands/DEMO/signing/check",
            Some(json!({"path": "/auth/v1/otp/generate", "body": body})),
        )
    };
    let (status, good) = check(body_signed_with(&new, now)).await;
    assert_eq!(status, StatusCode::OK, "{good}");
    assert_eq!(good["verdict"], "ACCEPTED");
    assert_eq!(good["keyId"], 2);
    assert_eq!(good["required"], true);
    assert_eq!(
        good["message"],
        format!("v1\n{now}\n/auth/v1/otp/generate\nDEMO\nMOBILE\n{PHONE}\ndev-1\nP-1\n")
    );
    let (_, revoked) = check(body_signed_with(&old, now)).await;
    assert_eq!(
        (revoked["verdict"].clone(), revoked["keyId"].clone()),
        (json!("REVOKED"), json!(1))
    );
    let (_, stale) = check(body_signed_with(&new, now - 10 * 60_000)).await;
    assert_eq!(stale["verdict"], "STALE");
    assert_eq!(stale["skewSeconds"], 600);
    let (_, wrong) = check(body_signed_with(b"some other secret", now)).await;
    assert_eq!(
        (wrong["verdict"].clone(), wrong["keyId"].clone()),
        (json!("NO_MATCH"), json!(null))
    );
    let mut missing = body_signed_with(&new, now);
    missing.as_object_mut().unwrap().remove("hash");
    assert_eq!(check(missing).await.1["verdict"], "MISSING");
    let (status, err) = app
        .call(
            Method::POST,
            "/brands/DEMO/signing/check",
            Some(json!({"path": "/elsewhere", "body": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "path");
}
