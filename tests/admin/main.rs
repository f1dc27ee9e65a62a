//! Integration tests of the admin API and the admin CLI: a real server on loopback ports with a
//! temporary data directory, called over real HTTP and through the built `otpd` binary.

// reason: a test that cannot set up or whose answer is malformed should stop right there, and
// clippy's test allowance does not reach helper functions of an integration-test crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use base64::Engine;
use otpd::config::Config;
use otpd::domain::BrandName;
use otpd::domain::signature::{KeyState, SignedFields, sign, verify};
use otpd::{RunOptions, RunningServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

const PHONE: &str = "84901234567";

struct App {
    server: RunningServer,
    dir: TempDir,
    http: reqwest::Client,
    admin: String,
    public: String,
}

async fn spawn_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        public_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        client_rate_limit_per_minute: 0,
        ..Default::default()
    };
    let server = otpd::run(config, RunOptions::default()).await.unwrap();
    App {
        admin: format!("http://{}/admin/api", server.admin_addr),
        public: format!("http://{}", server.public_addr),
        server,
        dir,
        http: reqwest::Client::new(),
    }
}

impl App {
    /// Calls the admin API with the right token.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = self.server.admin_token.to_string();
        self.call_with(method, path, body, Some(&token)).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.admin));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Posts to the public API.
    async fn public(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.public))
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    /// Issues one OTP to PHONE through the public API (DEMO delivers to the LOG sink).
    async fn issue_otp(&self) {
        let id = json!({"identifierType": "MOBILE", "identifierValue": PHONE, "brand": "DEMO", "deviceId": "dev-1"});
        let (status, token) = self.public("/auth/v1/token/generate", id.clone()).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let mut req = id;
        req["sessionId"] = token["user"]["sessionId"].clone();
        let (status, answer) = self.public("/auth/v1/otp/generate", req).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// Runs the `otpd` binary against this server, found through `--data-dir`.
    async fn cli(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env_remove("OTPD_ADMIN_URL")
            .env_remove("OTPD_ADMIN_TOKEN")
            .env_remove("OTPD_DATA_DIR")
            .output()
            .await
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
    assert!(body["error"]["message"].as_str().unwrap().contains("token"));
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
    let actions: Vec<&str> = audit
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

// ---- limits -------------------------------------------------------------------------------

#[tokio::test]
async fn a_customer_override_can_be_set_shown_reset_and_unset() {
    let app = spawn_app().await;
    let path = format!("/brands/DEMO/limits/MOBILE:{PHONE}");

    let (status, set) = app
        .call(Method::PUT, &path, Some(json!({"limit": 3})))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["overrideLimit"], 3);
    assert_eq!(set["effectiveLimit"], 3);
    assert_eq!(set["brandLimit"], 10);
    assert_eq!(set["issued"], 0);

    app.issue_otp().await;
    // The bare number and the `+` form name the same customer.
    let (_, shown) = app
        .call(Method::GET, "/brands/DEMO/limits/%2B84901234567", None)
        .await;
    assert_eq!(shown["destination"], format!("MOBILE:{PHONE}"));
    assert_eq!(shown["issued"], 1);
    assert_eq!(shown["remaining"], 2);
    let resets = shown["resetsInSeconds"].as_u64().unwrap();
    assert!((1..=86_400).contains(&resets), "{shown}");

    let (_, list) = app.call(Method::GET, "/brands/DEMO/limits", None).await;
    assert_eq!(
        list,
        json!([{"destination": format!("MOBILE:{PHONE}"), "limit": 3}])
    );

    let (_, reset) = app.call(Method::POST, &format!("{path}/reset"), None).await;
    assert_eq!(reset["issued"], 0);
    assert_eq!(reset["overrideLimit"], 3, "a reset keeps the override");

    let (status, unset) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unset["overrideLimit"], Value::Null);
    assert_eq!(unset["effectiveLimit"], 10);
    let (_, list) = app.call(Method::GET, "/brands/DEMO/limits", None).await;
    assert_eq!(list, json!([]));
}

// ---- payload signing ----------------------------------------------------------------------

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
        .server
        .services
        .store
        .brand(&BrandName::parse("DEMO").unwrap())
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

// ---- the CLI ------------------------------------------------------------------------------

#[tokio::test]
async fn cli_brand_set_and_show() {
    let app = spawn_app().await;

    let set = app
        .cli(&[
            "brand",
            "set",
            "DEMO",
            "dailyOtpLimit=5",
            "otpLength=8",
            "limitWindowMinutes=none",
            "signingEndpoints=OTP_GENERATE,OTP_VALIDATE",
        ])
        .await;
    assert!(set.status.success(), "{}", stderr(&set));

    let show = app.cli(&["brand", "show", "DEMO", "--json"]).await;
    assert!(show.status.success(), "{}", stderr(&show));
    let brand: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(brand["settings"]["dailyOtpLimit"], 5);
    assert_eq!(brand["settings"]["otpLength"], 8);
    assert_eq!(
        brand["settings"]["signingEndpoints"],
        json!(["OTP_GENERATE", "OTP_VALIDATE"])
    );

    let human = app.cli(&["brand", "show", "demo"]).await;
    let text = stdout(&human);
    assert!(
        text.contains("dailyOtpLimit") && text.contains("5"),
        "{text}"
    );

    let zero = app.cli(&["brand", "set", "DEMO", "dailyOtpLimit=0"]).await;
    assert!(!zero.status.success());
    let err = stderr(&zero);
    assert!(err.starts_with("otpd: "), "{err}");
    assert!(
        err.contains("dailyOtpLimit") && err.contains("1535"),
        "{err}"
    );

    let created = app.cli(&["brand", "create", "acme", "otpLength=4"]).await;
    assert!(created.status.success(), "{}", stderr(&created));
    let list = app.cli(&["brand", "list"]).await;
    let text = stdout(&list);
    assert!(text.contains("ACME") && text.contains("DEMO"), "{text}");

    let missing = app.cli(&["brand", "show", "NOPE"]).await;
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("NOPE"));
}

#[tokio::test]
async fn cli_limits() {
    let app = spawn_app().await;

    let set = app
        .cli(&["limit", "set", "DEMO", "+84 901 234 567", "4"])
        .await;
    assert!(set.status.success(), "{}", stderr(&set));
    let show = app.cli(&["limit", "show", "DEMO", PHONE, "--json"]).await;
    let view: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(view["effectiveLimit"], 4);
    let human = stdout(&app.cli(&["limit", "show", "DEMO", PHONE]).await);
    assert!(
        human.contains("remaining") && human.contains("4"),
        "{human}"
    );

    let list = stdout(&app.cli(&["limit", "list", "DEMO"]).await);
    assert!(list.contains(&format!("MOBILE:{PHONE}")), "{list}");
    let zero = app.cli(&["limit", "set", "DEMO", PHONE, "0"]).await;
    assert!(!zero.status.success());
    assert!(stderr(&zero).contains("1535"));
    assert!(
        app.cli(&["limit", "reset", "DEMO", PHONE])
            .await
            .status
            .success()
    );
    let unset = app.cli(&["limit", "unset", "DEMO", PHONE, "--json"]).await;
    let view: Value = serde_json::from_slice(&unset.stdout).unwrap();
    assert_eq!(view["effectiveLimit"], 10);
}

#[tokio::test]
async fn cli_signing_prints_the_secret_once_and_otpd_sign_matches() {
    let app = spawn_app().await;

    let enable = app
        .cli(&[
            "signing",
            "enable",
            "DEMO",
            "--endpoints",
            "OTP_GENERATE,OTP_VALIDATE",
        ])
        .await;
    assert!(enable.status.success(), "{}", stderr(&enable));
    let text = stdout(&enable);
    assert!(text.contains("shown ONCE"), "{text}");
    let secret = text
        .lines()
        .skip_while(|l| !l.contains("shown ONCE"))
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&secret)
        .unwrap();
    assert_eq!(raw.len(), 32);

    let body = json!({"brand": "DEMO", "identifierType": "MOBILE", "identifierValue": PHONE,
                      "deviceId": "dev-1", "sessionId": "P-6ec5fcc9-2bca-4778-9672-4ee5097d8313",
                      "timeStamp": 1_700_000_000_000_i64});
    let signed = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args([
            "sign",
            "--secret",
            &secret,
            "--path",
            "/auth/v1/otp/generate",
            "--body",
        ])
        .arg(body.to_string())
        .output()
        .await
        .unwrap();
    assert!(signed.status.success(), "{}", stderr(&signed));
    let hash = stdout(&signed).trim().to_owned();
    assert_eq!(hash.len(), 64);
    let expected = sign(
        &raw,
        &SignedFields {
            time_stamp: "1700000000000",
            path: "/auth/v1/otp/generate",
            brand: "DEMO",
            identifier_type: "MOBILE",
            identifier_value: PHONE,
            device_id: "dev-1",
            session_id: "P-6ec5fcc9-2bca-4778-9672-4ee5097d8313",
            otp: "",
        },
    );
    assert_eq!(hash, expected);

    let rotate = stdout(&app.cli(&["signing", "rotate", "DEMO"]).await);
    assert!(
        rotate.contains("RETIRING") && rotate.contains("shown ONCE"),
        "{rotate}"
    );
    let show = stdout(&app.cli(&["brand", "show", "DEMO"]).await);
    assert!(!show.contains(&secret), "show never prints a secret");
    let revoke = app.cli(&["signing", "revoke", "DEMO", "1"]).await;
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let refused = app.cli(&["signing", "revoke", "DEMO", "2"]).await;
    assert!(!refused.status.success());
    assert!(
        app.cli(&["signing", "revoke", "DEMO", "2", "--force"])
            .await
            .status
            .success()
    );
    let off = stdout(&app.cli(&["signing", "disable", "DEMO"]).await);
    assert!(off.contains("off"), "{off}");
}

#[tokio::test]
async fn cli_explains_a_missing_server() {
    let empty = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["brand", "list", "--data-dir"])
        .arg(empty.path())
        .env_remove("OTPD_ADMIN_URL")
        .env_remove("OTPD_ADMIN_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("is otpd serve running with this data directory?"),
        "{err}"
    );
}

#[tokio::test]
async fn cli_uses_url_and_token_flags_and_reports_a_wrong_token() {
    let app = spawn_app().await;
    let url = format!("http://{}", app.server.admin_addr);
    let elsewhere = tempfile::tempdir().unwrap();

    let ok = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["brand", "list", "--json", "--data-dir"])
        .arg(elsewhere.path())
        .env("OTPD_ADMIN_URL", &url)
        .env("OTPD_ADMIN_TOKEN", app.server.admin_token.to_string())
        .output()
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));

    let wrong = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args([
            "brand",
            "list",
            "--admin-url",
            &url,
            "--admin-token",
            "nope",
        ])
        .output()
        .await
        .unwrap();
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("token"), "{}", stderr(&wrong));
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
