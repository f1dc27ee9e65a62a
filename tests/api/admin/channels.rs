//! Channels and templates over the admin API and the CLI: secrets stay write-only, errors name
//! the key, a test message reaches a real local gateway, templates validate and preview.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode as HttpStatus, Uri};
use otpd::domain::{BrandName, ChannelConfig, ChannelKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{App, spawn_app, stderr, stdout};

/// One request as the gateway received it.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: String,
}

/// A local SMS gateway that records every request and answers with `status`.
struct Gateway {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Gateway {
    async fn start(status: u16) -> Self {
        type Shared = (Arc<Mutex<Vec<Received>>>, u16);
        async fn record(
            State((log, status)): State<Shared>,
            method: HttpMethod,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> (HttpStatus, &'static str) {
            log.lock().unwrap().push(Received {
                method: method.to_string(),
                uri: uri.to_string(),
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            (
                HttpStatus::from_u16(status).unwrap(),
                r#"{"accepted":true}"#,
            )
        }
        let received = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .fallback(record)
            .with_state((received.clone(), status));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, received }
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn settings(pairs: &[(&str, &str)]) -> Value {
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({"settings": map})
}

async fn stored(app: &App, kind: ChannelKind) -> Option<ChannelConfig> {
    let brand = app
        .inner
        .services()
        .store
        .brand(&BrandName::parse("DEMO").unwrap())
        .await
        .unwrap()
        .unwrap();
    brand.channels.get(&kind).cloned()
}

async fn stored_password(app: &App) -> String {
    match stored(app, ChannelKind::Email).await {
        Some(ChannelConfig::Smtp(s)) => s.password.expose().to_owned(),
        other => panic!("not an SMTP channel: {other:?}"),
    }
}

const SMTP: &[(&str, &str)] = &[
    ("provider", "smtp"),
    ("host", "smtp.example.com"),
    ("port", "587"),
    ("tls", "starttls"),
    ("username", "apikey"),
    ("password", "hunter2-secret"),
    ("from", "otp@example.com"),
];

#[tokio::test]
async fn an_smtp_password_is_write_only_and_kept_across_changes() {
    let app = spawn_app().await;

    let (status, set) = app
        .call(
            Method::PUT,
            "/brands/DEMO/channels/EMAIL",
            Some(settings(SMTP)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["config"]["provider"], "SMTP");
    assert_eq!(set["config"]["password"], "set");
    assert_eq!(set["config"]["host"], "smtp.example.com");

    for path in [
        "/brands/DEMO/channels/EMAIL",
        "/brands/DEMO/channels/email",
        "/brands/DEMO/channels",
        "/brands/DEMO",
        "/audit",
    ] {
        let (status, body) = app.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            !body.to_string().contains("hunter2"),
            "{path} shows the secret: {body}"
        );
    }

    // A later set without the password changes one key and keeps the secret.
    let (status, moved) = app
        .call(
            Method::PUT,
            "/brands/DEMO/channels/EMAIL",
            Some(settings(&[("port", "465"), ("tls", "tls")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["config"]["port"], 465);
    assert_eq!(stored_password(&app).await, "hunter2-secret");

    // The console's form: the redacted config sent back keeps the secret too.
    let mut config = moved["config"].clone();
    config["fromName"] = json!("Demo Login");
    let (status, back) = app
        .call(
            Method::PUT,
            "/brands/DEMO/channels/EMAIL",
            Some(json!({"config": config})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["config"]["fromName"], "Demo Login");
    assert_eq!(stored_password(&app).await, "hunter2-secret");

    let (status, removed) = app
        .call(Method::DELETE, "/brands/DEMO/channels/EMAIL", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert!(
        removed
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["channel"] != "EMAIL")
    );
    let (status, _) = app
        .call(Method::GET, "/brands/DEMO/channels/EMAIL", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(stored(&app, ChannelKind::Email).await.is_none());
}

#[tokio::test]
async fn invalid_channel_settings_are_refused_naming_the_key() {
    let app = spawn_app().await;
    let mut bad_port = SMTP.to_vec();
    bad_port.push(("port", "70000"));
    bad_port.retain(|(k, v)| *k != "port" || *v == "70000");
    let mut unknown = SMTP.to_vec();
    unknown.push(("hots", "smtp.example.com"));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("EMAIL", settings(&bad_port), "port:"),
        ("EMAIL", settings(&unknown), "hots:"),
        ("SMS", settings(SMTP), "provider:"),
        ("FAX", settings(SMTP), "\"FAX\""),
        ("EMAIL", json!({"settings": {}}), "settings:"),
        ("EMAIL", json!({}), "either"),
        (
            "EMAIL",
            json!({"config": {"provider": "SMTP", "host": "h.example.com", "port": 0, "from": "a@b.co"}}),
            "port:",
        ),
        (
            "SMS",
            json!({"config": {"provider": "SMTP", "host": "h.example.com", "port": 25, "from": "a@b.co"}}),
            "provider:",
        ),
        (
            "SMS",
            json!({"config": {"provider": "CARRIER_PIGEON"}}),
            "config:",
        ),
    ];
    for (kind, body, want) in cases {
        let (status, answer) = app
            .call(
                Method::PUT,
                &format!("/brands/DEMO/channels/{kind}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(want), "{body}: {message}");
    }
    // Nothing was saved: DEMO's channels are still LOG.
    assert_eq!(
        stored(&app, ChannelKind::Email).await,
        Some(ChannelConfig::Log)
    );
    assert_eq!(
        stored(&app, ChannelKind::Sms).await,
        Some(ChannelConfig::Log)
    );

    let (status, _) = app.call(Method::GET, "/brands/NOPE/channels", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The HTTP gateway settings that send to `gateway` with a key in a header.
fn http_gateway(url: &str) -> Value {
    settings(&[
        ("provider", "http"),
        ("url", &format!("{url}/send?route=otp")),
        ("method", "POST"),
        ("body", r#"{"to":"{to}","text":"{message}"}"#),
        ("header.X-Api-Key", "{secret}"),
        ("secret", "gw-key-1"),
    ])
}

#[tokio::test]
async fn a_test_message_reaches_the_gateway_and_reports_its_answer() {
    let app = spawn_app().await;
    let gateway = Gateway::start(200).await;
    let (status, set) = app
        .call(
            Method::PUT,
            "/brands/DEMO/channels/SMS",
            Some(http_gateway(&gateway.url)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["config"]["secret"], "set");

    let (status, answer) = app
        .call(
            Method::POST,
            "/brands/DEMO/channels/SMS/test",
            Some(json!({"to": "+84 901 234 567"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["providerStatus"], "200");
    assert_eq!(answer["provider"], "HTTP");
    assert!(answer["elapsedMs"].is_u64(), "{answer}");
    assert!(answer.get("error").is_none(), "{answer}");

    let received = gateway.all();
    assert_eq!(received.len(), 1, "{received:?}");
    let req = &received[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.uri, "/send?route=otp");
    assert_eq!(req.headers["x-api-key"], "gw-key-1");
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"to": "+84901234567",
               "text": "123456 is your DEMO code. It expires in 10 minutes. Do not share it."})
    );

    // Not through the outbox, not counted, nothing captured by the LOG sink.
    assert!(app.inner.log_records().await.is_empty());
    assert!(app.inner.capture.all().is_empty());
    let (_, usage) = app
        .call(Method::GET, "/brands/DEMO/limits/84901234567", None)
        .await;
    assert_eq!(usage["issued"], 0, "{usage}");
}

#[tokio::test]
async fn a_failing_provider_is_an_answer_not_an_error() {
    let app = spawn_app().await;
    let down = Gateway::start(500).await;
    app.call(
        Method::PUT,
        "/brands/DEMO/channels/SMS",
        Some(http_gateway(&down.url)),
    )
    .await;
    let test = json!({"to": "+84901234567"});
    let (status, answer) = app
        .call(
            Method::POST,
            "/brands/DEMO/channels/SMS/test",
            Some(test.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["temporary"], true);
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("500"), "{error}");
    assert!(
        !error.contains("123456"),
        "the code never shows in an error: {error}"
    );
    assert_eq!(down.all().len(), 1);

    let port = closed_port().await;
    let (status, set) = app
        .call(
            Method::PUT,
            "/brands/DEMO/channels/SMS",
            Some(settings(&[(
                "url",
                &format!("http://127.0.0.1:{port}/send"),
            )])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, answer) = app
        .call(Method::POST, "/brands/DEMO/channels/SMS/test", Some(test))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{answer}"
    );
}

/// A loopback gateway that accepts connections and never answers; returns its URL.
async fn silent_gateway() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

#[tokio::test]
async fn a_silent_provider_is_reported_before_the_admin_request_times_out() {
    // A 2 s request timeout, shorter than the provider's own 5 s: the answer must still be
    // the provider's silence as `ok: false`, not the listener's bare 503.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = crate::helpers::test_config(dir.path().to_path_buf());
    config.request_timeout_seconds = 2;
    let app = crate::helpers::spawn_with(config, dir).await;
    let server = app.server.as_ref().unwrap();
    let admin = format!(
        "http://{}/admin/api/brands/DEMO/channels/SMS",
        server.admin_addr
    );
    let token = server.admin_token.to_string();
    let url = silent_gateway().await;
    let set = app
        .client
        .put(&admin)
        .bearer_auth(&token)
        .json(&settings(&[
            ("provider", "http"),
            ("url", &url),
            ("timeoutSeconds", "5"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        set.status(),
        StatusCode::OK,
        "{}",
        set.text().await.unwrap()
    );

    let started = std::time::Instant::now();
    let answer = app
        .client
        .post(format!("{admin}/test"))
        .bearer_auth(&token)
        .json(&json!({"to": "+84901234567"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["temporary"], true, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 1.5 s"),
        "{answer}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn test_messages_check_the_destination_and_the_channel() {
    let app = spawn_app().await;

    // DEMO's EMAIL is the LOG channel, which the test server captures.
    let (status, answer) = app
        .call(
            Method::POST,
            "/brands/DEMO/channels/EMAIL/test",
            Some(json!({"to": "Jane@Example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["providerStatus"], "captured");
    let sent = app.inner.capture.all();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, ChannelKind::Email);
    assert_eq!(sent[0].otp, "123456");
    assert!(sent[0].text.contains("123456"), "{}", sent[0].text);

    for (kind, to) in [
        ("EMAIL", "+84901234567"),
        ("SMS", "jane@example.com"),
        ("ZALO", ""),
    ] {
        let (status, answer) = app
            .call(
                Method::POST,
                &format!("/brands/DEMO/channels/{kind}/test"),
                Some(json!({"to": to})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{kind} {to}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("to: "),
            "{answer}"
        );
    }

    app.call(Method::DELETE, "/brands/DEMO/channels/WHATSAPP", None)
        .await;
    let (status, answer) = app
        .call(
            Method::POST,
            "/brands/DEMO/channels/WHATSAPP/test",
            Some(json!({"to": "+84901234567"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WHATSAPP")
    );
}

#[tokio::test]
async fn templates_are_validated_naming_the_problem() {
    let app = spawn_app().await;
    let cases = [
        ("SMS", json!({"text": "your code is here"}), "{otp}"),
        (
            "SMS",
            json!({"text": "{otp} expires in {minutes}"}),
            "{minutes}",
        ),
        ("EMAIL", json!({"text": "Your code: {otp}"}), "subject"),
        (
            "EMAIL",
            json!({"subject": "", "text": "Your code: {otp}"}),
            "subject",
        ),
        (
            "SMS",
            json!({"subject": "Code", "text": "{otp}"}),
            "subject",
        ),
        ("SMS", json!({"text": "{otp}", "colour": "red"}), "colour"),
        ("FAX", json!({"text": "{otp}"}), "\"FAX\""),
    ];
    for (kind, body, want) in cases {
        let (status, answer) = app
            .call(
                Method::PUT,
                &format!("/brands/DEMO/templates/{kind}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(want), "{body}: {message}");
    }
    let (status, answer) = app
        .call(
            Method::PUT,
            "/brands/DEMO/templates/SMS/v%20i",
            Some(json!({"text": "{otp}"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // A form's empty HTML field means "no HTML body".
    let (status, answer) = app
        .call(
            Method::PUT,
            "/brands/DEMO/templates/EMAIL",
            Some(json!({"subject": "{brand} code", "text": "Code {otp}", "html": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["default"]["html"], Value::Null);

    // An HTML body near its 100 000-byte limit fits, though it is above the listener-wide
    // request limit; one past it is refused by the template rule.
    let html = |len: usize| format!("<p>{{otp}}</p>{}", "x".repeat(len - 12));
    let (status, answer) = app
        .call(
            Method::PUT,
            "/brands/DEMO/templates/EMAIL",
            Some(json!({"subject": "s", "text": "{otp}", "html": html(100_000)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app
        .call(
            Method::PUT,
            "/brands/DEMO/templates/EMAIL",
            Some(json!({"subject": "s", "text": "{otp}", "html": html(100_001)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("html:")
    );
}

#[tokio::test]
async fn a_saved_locale_template_is_what_preview_renders() {
    let app = spawn_app().await;
    let (status, saved) = app
        .call(
            Method::PUT,
            "/brands/DEMO/templates/SMS/vi",
            Some(json!({"text": "Mã OTP {brand} của bạn là {otp}"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    app.call(
        Method::PUT,
        "/brands/DEMO/templates/SMS",
        Some(json!({"text": "{otp} is your {brand} code, valid {validityMinutes} min"})),
    )
    .await;

    let (status, vi) = app
        .call(
            Method::POST,
            "/brands/DEMO/templates/SMS/preview?locale=vi-VN",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{vi}");
    assert_eq!(vi["text"], "Mã OTP DEMO của bạn là 123456");
    assert_eq!(
        vi["sms"],
        json!({"encoding": "UCS-2", "characters": 29, "segments": 1})
    );

    let (_, base) = app
        .call(Method::POST, "/brands/DEMO/templates/SMS/preview", None)
        .await;
    assert_eq!(base["text"], "123456 is your DEMO code, valid 10 min");
    assert_eq!(base["sms"]["encoding"], "GSM-7");
    assert_eq!(base["sms"]["segments"], 1);

    // An unsaved template in the body: 161 GSM characters make two segments.
    let long = format!("{{otp}} {}", "a".repeat(154));
    let (status, draft) = app
        .call(
            Method::POST,
            "/brands/DEMO/templates/SMS/preview",
            Some(json!({"text": long})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(
        draft["sms"],
        json!({"encoding": "GSM-7", "characters": 161, "segments": 2})
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/brands/DEMO/templates/SMS/preview",
            Some(json!({"text": "no code"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // E-mail: the built-in template, no SMS counter.
    let (_, email) = app
        .call(Method::POST, "/brands/DEMO/templates/EMAIL/preview", None)
        .await;
    assert_eq!(email["subject"], "Your DEMO verification code");
    assert!(email["html"].as_str().unwrap().contains("123456"));
    assert!(email.get("sms").is_none(), "{email}");

    let (_, list) = app.call(Method::GET, "/brands/DEMO/templates", None).await;
    let sms = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel"] == "SMS")
        .unwrap();
    assert_eq!(
        sms["locales"]["vi"]["text"],
        "Mã OTP {brand} của bạn là {otp}"
    );
    assert!(sms["builtIn"]["text"].as_str().unwrap().contains("{otp}"));

    // Removing the variant: the base template applies to vi again; removing twice is a 404.
    let (status, _) = app
        .call(Method::DELETE, "/brands/DEMO/templates/SMS/VI", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, vi) = app
        .call(
            Method::POST,
            "/brands/DEMO/templates/SMS/preview?locale=vi",
            None,
        )
        .await;
    assert_eq!(vi["text"], "123456 is your DEMO code, valid 10 min");
    let (status, _) = app
        .call(Method::DELETE, "/brands/DEMO/templates/SMS/vi", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cli_channel_set_show_and_test_against_a_local_gateway() {
    let app = spawn_app().await;
    let gateway = Gateway::start(202).await;
    let url = format!("{}/send", gateway.url);

    let set = app
        .cli(&[
            "channel",
            "set",
            "DEMO",
            "SMS",
            "provider=http",
            &format!("url={url}"),
            "method=POST",
            r#"body={"to":"{to}","text":"{message}"}"#,
        ])
        .await;
    assert!(set.status.success(), "{}", stderr(&set));

    let show = app.cli(&["channel", "show", "DEMO", "SMS", "--json"]).await;
    assert!(show.status.success(), "{}", stderr(&show));
    let view: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(view["config"]["provider"], "HTTP");
    assert_eq!(view["config"]["url"], url);

    let test = app
        .cli(&["channel", "test", "DEMO", "SMS", "+84901234567"])
        .await;
    assert!(test.status.success(), "{}", stderr(&test));
    assert!(stdout(&test).contains("202"), "{}", stdout(&test));
    let received = gateway.all();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].uri, "/send");
    let body: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(body["to"], "+84901234567");
    assert!(body["text"].as_str().unwrap().contains("123456"));

    // A failed send exits non-zero and says why.
    let port = closed_port().await;
    let moved = app
        .cli(&[
            "channel",
            "set",
            "DEMO",
            "SMS",
            &format!("url=http://127.0.0.1:{port}/send"),
        ])
        .await;
    assert!(moved.status.success(), "{}", stderr(&moved));
    let failed = app
        .cli(&["channel", "test", "DEMO", "SMS", "+84901234567"])
        .await;
    assert!(!failed.status.success());
    assert!(stderr(&failed).contains("failed"), "{}", stderr(&failed));

    let refused = app
        .cli(&["channel", "set", "DEMO", "EMAIL", "provider=smtp", "hots=x"])
        .await;
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("hots"), "{}", stderr(&refused));

    // DEMO's EMAIL uses the log provider: a key without provider= gets told to name one.
    let unnamed = app
        .cli(&["channel", "set", "DEMO", "EMAIL", "host=smtp.example.com"])
        .await;
    assert!(!unnamed.status.success());
    assert!(
        stderr(&unnamed).contains("log provider")
            && stderr(&unnamed).contains("provider=smtp host="),
        "{}",
        stderr(&unnamed)
    );
    let removed = app.cli(&["channel", "remove", "DEMO", "WHATSAPP"]).await;
    assert!(removed.status.success(), "{}", stderr(&removed));
    let unconfigured = app
        .cli(&["channel", "set", "DEMO", "WHATSAPP", "phoneNumberId=1"])
        .await;
    assert!(
        stderr(&unconfigured).contains("not configured for DEMO")
            && stderr(&unconfigured).contains("provider=whatsapp"),
        "{}",
        stderr(&unconfigured)
    );

    let smtp: Vec<String> = SMTP.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec!["channel", "set", "DEMO", "EMAIL"];
    args.extend(smtp.iter().map(String::as_str));
    assert!(app.cli(&args).await.status.success());
    let all = app.cli(&["channel", "show", "DEMO"]).await;
    let text = stdout(&all);
    assert!(
        text.contains("smtp.example.com") && text.contains("set") && !text.contains("hunter2"),
        "{text}"
    );

    let removed = app.cli(&["channel", "remove", "DEMO", "ZALO"]).await;
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(stored(&app, ChannelKind::Zalo).await.is_none());
}

#[tokio::test]
async fn cli_templates_and_help() {
    let app = spawn_app().await;

    let refused = app
        .cli(&["template", "set", "DEMO", "SMS", "--text", "no code"])
        .await;
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("{otp}"), "{}", stderr(&refused));

    let saved = app
        .cli(&[
            "template",
            "set",
            "DEMO",
            "sms",
            "--locale",
            "vi",
            "--text",
            "Mã OTP của bạn là {otp}",
        ])
        .await;
    assert!(saved.status.success(), "{}", stderr(&saved));
    let preview = app
        .cli(&["template", "preview", "DEMO", "SMS", "--locale", "vi"])
        .await;
    let text = stdout(&preview);
    assert!(text.contains("Mã OTP của bạn là 123456"), "{text}");
    assert!(text.contains("UCS-2, 1 segment (24 chars)"), "{text}");

    let html = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(html.path(), "<p>Code <b>{otp}</b></p>").unwrap();
    let email = app
        .cli(&[
            "template",
            "set",
            "DEMO",
            "EMAIL",
            "--subject",
            "{brand} code",
            "--text",
            "Code {otp}",
            "--html-file",
            html.path().to_str().unwrap(),
        ])
        .await;
    assert!(email.status.success(), "{}", stderr(&email));
    let shown = app
        .cli(&["template", "show", "DEMO", "EMAIL", "--json"])
        .await;
    let view: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(view["default"]["html"], "<p>Code <b>{otp}</b></p>");
    let all = stdout(&app.cli(&["template", "show", "DEMO"]).await);
    assert!(
        all.contains("Mã OTP") && all.contains("{brand} code"),
        "{all}"
    );

    let removed = app
        .cli(&["template", "remove", "DEMO", "SMS", "--locale", "vi"])
        .await;
    assert!(removed.status.success(), "{}", stderr(&removed));
    let again = app
        .cli(&["template", "remove", "DEMO", "SMS", "--locale", "vi"])
        .await;
    assert!(!again.status.success());

    let help = app.cli(&["channel", "set", "--help"]).await;
    let text = stdout(&help);
    for key in [
        "smtp",
        "host",
        "twilio",
        "accountSid",
        "header.<Name>",
        "templateId",
    ] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }
}
