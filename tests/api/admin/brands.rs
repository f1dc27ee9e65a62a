//! Brands over the admin API: the token, the lifecycle, validation (1535, setting names), 404s,
//! concurrent edits, and what a disabled brand means for the public API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PHONE, spawn_app};

// ---- authentication -----------------------------------------------------------------------

#[tokio::test]
async fn the_admin_api_refuses_a_missing_or_wrong_token() {
    let app = spawn_app().await;

    let (none, body) = app.call_with(Method::GET, "/brands", None, None).await;
    let (wrong, _) = app
        .call_with(Method::GET, "/brands", None, Some("not-the-token"))
        .await;

    assert_eq!(none, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("log in")
    );
    assert_eq!(body["error"]["code"], Value::Null);
}

// ---- brands -------------------------------------------------------------------------------

#[tokio::test]
async fn brands_can_be_created_listed_shown_changed_disabled_and_enabled() {
    let app = spawn_app().await;

    let (created, acme) = app
        .call(
            Method::POST,
            "/brands",
            Some(json!({"name": "Acme", "settings": {"otpLength": 8, "timeZone": "Asia/Ho_Chi_Minh"}})),
        )
        .await;
    assert_eq!(created, StatusCode::CREATED, "{acme}");
    assert_eq!(acme["name"], "ACME");
    assert_eq!(acme["settings"]["otpLength"], 8);
    assert_eq!(
        acme["settings"]["dailyOtpLimit"], 10,
        "defaults fill the rest"
    );
    assert!(acme["createdMs"].as_i64().unwrap() > 0);

    let (_, list) = app.call(Method::GET, "/brands", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ACME", "DEMO"]);

    let (status, patched) = app
        .call(
            Method::PATCH,
            "/brands/acme",
            Some(json!({"dailyOtpLimit": 3, "signingEndpoints": ["OTP_VALIDATE"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["settings"]["dailyOtpLimit"], 3);
    assert_eq!(
        patched["settings"]["otpLength"], 8,
        "unnamed settings are kept"
    );

    let (_, shown) = app.call(Method::GET, "/brands/ACME", None).await;
    assert_eq!(shown["settings"], patched["settings"]);
    let (_, demo) = app.call(Method::GET, "/brands/DEMO", None).await;
    assert_eq!(demo["channels"]["SMS"]["provider"], "LOG");

    let (_, disabled) = app.call(Method::POST, "/brands/ACME/disable", None).await;
    assert_eq!(disabled["settings"]["enabled"], false);
    let (_, enabled) = app.call(Method::POST, "/brands/ACME/enable", None).await;
    assert_eq!(enabled["settings"]["enabled"], true);

    let (dup, body) = app
        .call(Method::POST, "/brands", Some(json!({"name": "ACME"})))
        .await;
    assert_eq!(dup, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exists")
    );

    let (_, audit) = app.call(Method::GET, "/audit", None).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "brand.enable",
            "brand.disable",
            "brand.update",
            "brand.create"
        ]
    );
}

#[tokio::test]
async fn a_zero_limit_is_refused_with_1535() {
    let app = spawn_app().await;

    let patch = app
        .call(
            Method::PATCH,
            "/brands/DEMO",
            Some(json!({"dailyOtpLimit": 0})),
        )
        .await;
    let create = app
        .call(
            Method::POST,
            "/brands",
            Some(json!({"name": "Z", "settings": {"dailyOtpLimit": 0}})),
        )
        .await;
    let over = app
        .call(
            Method::PUT,
            &format!("/brands/DEMO/limits/{PHONE}"),
            Some(json!({"limit": 0})),
        )
        .await;

    for (status, body) in [patch, create, over] {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], 1535, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot be 0")
        );
    }
    let (_, demo) = app.call(Method::GET, "/brands/DEMO", None).await;
    assert_eq!(demo["settings"]["dailyOtpLimit"], 10, "nothing was saved");
}

#[tokio::test]
async fn invalid_settings_and_bodies_are_refused_with_a_message_naming_them() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"otpLength": 3}),
            "otpLength: 3 is outside the allowed range 4–10",
        ),
        (json!({"otpLength": "six"}), "otpLength"),
        (json!({"timeZone": "Mars/Olympus"}), "timeZone"),
        (json!({"noSuchSetting": 1}), "noSuchSetting"),
        (json!({"signingEndpoints": ["NOPE"]}), "signingEndpoints"),
        (json!({}), "no settings"),
        (json!([1, 2]), "request body"),
    ];
    for (patch, expected) in cases {
        let (status, body) = app
            .call(Method::PATCH, "/brands/DEMO", Some(patch.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{patch}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{patch}: {message}");
        assert_eq!(body["error"]["code"], Value::Null);
    }

    let (status, body) = app.call(Method::GET, "/brands/%FF", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("path"),
        "{body}"
    );
    let (status, body) = app.call(Method::DELETE, "/brands/DEMO", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["error"]["message"].is_string());

    let raw = app
        .http
        .post(format!("{}/brands", app.admin))
        .bearer_auth(app.server.admin_token.to_string())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let (status, body) = app
        .call(Method::POST, "/brands", Some(json!({"name": "has space"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("name")
    );
    let (status, _) = app
        .call(
            Method::PUT,
            "/brands/DEMO/limits/12",
            Some(json!({"limit": 2})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a 2-digit number is no destination"
    );
    let (status, _) = app
        .call(
            Method::PUT,
            "/brands/DEMO/limits/84901234567",
            Some(json!({"limit": -1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unknown_brand_is_404() {
    let app = spawn_app().await;
    let calls = [
        (Method::GET, "/brands/NOPE".to_owned(), None),
        (
            Method::PATCH,
            "/brands/NOPE".to_owned(),
            Some(json!({"otpLength": 8})),
        ),
        (Method::POST, "/brands/NOPE/disable".to_owned(), None),
        (Method::GET, "/brands/NOPE/limits".to_owned(), None),
        (Method::GET, format!("/brands/NOPE/limits/{PHONE}"), None),
        (
            Method::PUT,
            format!("/brands/NOPE/limits/{PHONE}"),
            Some(json!({"limit": 2})),
        ),
        (Method::POST, "/brands/NOPE/signing/enable".to_owned(), None),
        (Method::POST, "/brands/NOPE/signing/rotate".to_owned(), None),
        (Method::GET, "/brands/bad%20name".to_owned(), None),
        (Method::GET, "/no/such/route".to_owned(), None),
    ];
    for (method, path, body) in calls {
        let (status, answer) = app.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert!(
            answer["error"]["message"].is_string(),
            "{method} {path}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_disabled_brand_answers_1504_on_the_public_api() {
    let app = spawn_app().await;
    let body = json!({"identifierType": "MOBILE", "identifierValue": PHONE, "brand": "DEMO", "deviceId": "dev-1"});

    app.call(Method::POST, "/brands/DEMO/disable", None).await;
    let (status, answer) = app.public("/auth/v1/token/generate", body.clone()).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["status"]["code"], 1504);
    app.call(Method::POST, "/brands/DEMO/enable", None).await;
    let (status, _) = app.public("/auth/v1/token/generate", body).await;
    assert_eq!(status, StatusCode::OK, "enabled again at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_edits_of_one_brand_are_all_kept() {
    let app = spawn_app().await;
    let patches = [
        json!({"otpLength": 8}),
        json!({"dailyOtpLimit": 7}),
        json!({"resendCooldownSeconds": 5}),
        json!({"maxValidateAttempts": 3}),
        json!({"timeZone": "Europe/Paris"}),
        json!({"errorsAsHttp200": true}),
        json!({"signatureWindowSeconds": 30}),
        json!({"accessTokenTtlSeconds": 600}),
    ];

    let mut calls = tokio::task::JoinSet::new();
    for patch in patches.clone() {
        let request = app
            .http
            .patch(format!("{}/brands/DEMO", app.admin))
            .bearer_auth(app.server.admin_token.to_string())
            .json(&patch);
        calls.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }

    let (_, demo) = app.call(Method::GET, "/brands/DEMO", None).await;
    for p in &patches {
        let (name, value) = p.as_object().unwrap().iter().next().unwrap();
        assert_eq!(&demo["settings"][name], value, "{name} was lost");
    }
}
