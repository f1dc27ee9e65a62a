//! Stores made by earlier versions open with this code and keep every record: each folder of
//! tests/fixtures/store-v<N>/ was written by the otpd of store schema N through its CLI and
//! public API (scripts/make-store-fixture.py), with fixture.json saying what is in it. A change
//! to a record format that forgets old records fails here, not in an operator's upgrade.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use otpd::domain::signature::{SignedFields, sign};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin::helpers::{App, copy_dir, wrap};
use crate::helpers::{spawn_with, test_config};

/// A server on a copy of fixture `name`, its clock a minute after the fixture was made.
async fn open_fixture(name: &str) -> (App, Value) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("fixture.json")).unwrap())
            .unwrap();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    copy_dir(&fixture, dir.path());
    std::fs::create_dir_all(dir.path().join("store/blobs")).unwrap(); // Git keeps no empty folder
    let mut config = test_config(dir.path().to_path_buf());
    config.demo_brand = false;
    let app = spawn_with(config, dir).await;
    let made = manifest["createdAtMs"].as_i64().unwrap();
    app.clock
        .set(jiff::Timestamp::from_millisecond(made).unwrap() + Duration::from_secs(60));
    (wrap(app), manifest)
}

async fn get(app: &App, path: &str) -> Value {
    let (status, body) = app.call(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

#[tokio::test]
async fn a_schema_1_store_opens_with_every_record() {
    if !crate::helpers::on_embedded_store("opens an embedded store written by an older otpd") {
        return;
    }
    opens_with_every_record("store-v1").await;
}

#[tokio::test]
async fn a_schema_2_store_opens_with_every_record() {
    if !crate::helpers::on_embedded_store("opens an embedded store written by an older otpd") {
        return;
    }
    opens_with_every_record("store-v2").await;
}

#[tokio::test]
async fn a_schema_3_store_opens_with_every_record() {
    if !crate::helpers::on_embedded_store("opens an embedded store written by an older otpd") {
        return;
    }
    opens_with_every_record("store-v3").await;
}

#[tokio::test]
async fn a_schema_4_store_opens_with_every_record() {
    if !crate::helpers::on_embedded_store("opens an embedded store written by an older otpd") {
        return;
    }
    opens_with_every_record("store-v4").await;
}

/// Opens a fixture store with the current code and checks each kind of record it holds.
async fn opens_with_every_record(fixture: &str) {
    let (app, m) = open_fixture(fixture).await;

    // Brands with their settings, a sealed channel secret, templates, signing and overrides.
    let brands = get(&app, "/brands").await;
    let names: Vec<&Value> = brands
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["name"])
        .collect();
    assert_eq!(json!(names), m["brands"]);
    let acme = get(&app, "/brands/ACME").await;
    let s = &acme["settings"];
    assert_eq!(
        (
            &s["dailyOtpLimit"],
            &s["otpLength"],
            &s["timeZone"],
            &s["signingEndpoints"]
        ),
        (
            &json!(5),
            &json!(8),
            &json!("Asia/Ho_Chi_Minh"),
            &json!(["OTP_VALIDATE"])
        )
    );
    assert_eq!(s["testIdentifiers"][0]["identifierValue"], "84900000099");
    assert_eq!(acme["signingKeys"][0]["state"], "ACTIVE");
    let email = &acme["channels"]["EMAIL"];
    assert_eq!(
        (&email["host"], &email["password"]),
        (&json!("smtp.acme.test"), &json!("set"))
    );
    let templates = get(&app, "/brands/ACME/templates").await;
    let sms = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel"] == "SMS")
        .unwrap();
    assert_eq!(sms["locales"]["vi"]["text"], "Ma {brand}: {otp}");
    assert_eq!(
        get(&app, "/brands/ACME/limits").await,
        json!([{"destination": "MOBILE:84900000001", "limit": 20}])
    );
    assert_eq!(
        get(&app, "/brands/DEMO/limits").await,
        json!([{"destination": "MOBILE:84900000003", "limit": 1}])
    );

    // Operators, who can still log in with their passwords.
    let operators = get(&app, "/operators").await;
    let roles: Vec<Value> = operators
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!({"name": o["name"], "role": o["role"]}))
        .collect();
    let expected: Vec<Value> = m["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!({"name": o["name"], "role": o["role"]}))
        .collect();
    assert_eq!(roles, expected);
    for o in m["operators"].as_array().unwrap() {
        let (status, body, _) = app
            .try_login(o["name"].as_str().unwrap(), o["password"].as_str().unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{o}: {body}");
    }

    // The issuance log, the audit trail and the dashboard's counters.
    let log = get(&app, "/log").await;
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    for r in log["records"].as_array().unwrap() {
        *outcomes.entry(r["outcome"].to_string()).or_default() += 1;
    }
    assert_eq!(json!(outcomes), m["logRecords"]);
    // The log's index was rebuilt for this otpd: each filter finds what the listing holds, and
    // no entry of an older layout is left behind.
    let dump = app.inner.services().store.raw_records().await.unwrap();
    let index = &dump
        .iter()
        .find(|(name, _)| name == "log_by_dest")
        .unwrap()
        .1;
    let groups = index
        .iter()
        .filter(|(k, _)| k.starts_with(&[1, b'g']))
        .count();
    assert_eq!(
        groups,
        m["logRecords"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap() as usize)
            .sum::<usize>()
    );
    assert!(
        index.iter().all(|(k, _)| k[0] != 1 || k[1] == b'g'),
        "per-facet entries are gone"
    );
    let records = log["records"].as_array().unwrap();
    for field in ["outcome", "channel", "delivery"] {
        let values: std::collections::BTreeSet<String> = records
            .iter()
            .map(|r| &r[field])
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or(v.to_string(), str::to_owned))
            .collect();
        assert!(!values.is_empty(), "the fixture's records have a {field}");
        for wire in values {
            let found = get(&app, &format!("/log?{field}={wire}")).await;
            let expected: Vec<&Value> = records
                .iter()
                .filter(|r| {
                    r[field]
                        .as_str()
                        .map_or(r[field].to_string(), str::to_owned)
                        == wire
                })
                .collect();
            assert_eq!(
                found["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .collect::<Vec<_>>(),
                expected,
                "{field}={wire}"
            );
        }
    }
    assert!(
        log["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["validated"] == true)
    );
    let audit = get(&app, "/audit").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "brand.create",
        "channel.set",
        "signing.enable",
        "limit.set",
        "brand.update",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let stats = get(&app, "/stats").await;
    assert_eq!(
        stats["brands"],
        json!([{"brand": "DEMO", "issued": 3, "sent": 3, "validated": 1}])
    );

    // The code that was live when the store was made validates once.
    let live = m["liveCode"].clone();
    let (status, answer) = app.public("/auth/v1/otp/validate", live.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, again) = app.public("/auth/v1/otp/validate", live).await;
    assert_ne!(again["status"]["code"], 200, "single use: {again}");

    // ACME's test identifier and signing key work: a signed validate of its fixed code.
    let id = json!({"identifierType": "MOBILE", "identifierValue": "84900000099", "brand": "ACME", "deviceId": "d"});
    let (_, token) = app.public("/auth/v1/token/generate", id.clone()).await;
    let session = token["user"]["sessionId"].as_str().unwrap().to_owned();
    let mut req = id.clone();
    req["sessionId"] = json!(session);
    let (status, body) = app.public("/auth/v1/otp/generate", req.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    req["otp"] = json!("99999999");
    let unsigned = app.public("/auth/v1/otp/validate", req.clone()).await;
    assert_eq!(
        unsigned.1["status"]["code"], 5004,
        "signing is still required"
    );
    let secret = base64::engine::general_purpose::STANDARD
        .decode(m["acmeSigningSecret"].as_str().unwrap())
        .unwrap();
    let now_ms = app.inner.clock.now_ms();
    let fields = SignedFields {
        time_stamp: &now_ms.to_string(),
        path: "/auth/v1/otp/validate",
        brand: "ACME",
        identifier_type: "MOBILE",
        identifier_value: "84900000099",
        device_id: "d",
        session_id: &session,
        otp: "99999999",
    };
    req["timeStamp"] = json!(now_ms);
    req["hash"] = json!(sign(&secret, &fields));
    let (status, body) = app.public("/auth/v1/otp/validate", req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A store whose schema is newer than this code is refused with a message that says so, and
/// is left as it was: a sled store (it is not moved into fjall) and a fjall store alike.
#[test]
fn a_store_from_a_newer_otpd_is_refused() {
    let sled_store = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1");
    copy_dir(&fixture, sled_store.path());
    std::fs::create_dir_all(sled_store.path().join("store/blobs")).unwrap();
    {
        let db = sled::open(sled_store.path().join("store")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("schema_version", &3u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    refused_as_too_new(sled_store.path());
    let db = sled::open(sled_store.path().join("store")).unwrap();
    let version = db.open_tree("meta").unwrap().get("schema_version").unwrap();
    assert_eq!(version.unwrap().as_ref(), 3u32.to_be_bytes());

    let newer = (otpd::store::SCHEMA_VERSION + 1).to_be_bytes();
    let fjall_store = tempfile::tempdir().unwrap();
    std::fs::write(
        fjall_store.path().join(otpd::secrets::KEY_FILE),
        otpd::secrets::ServerKeys::new_key_file(1).unwrap(),
    )
    .unwrap();
    {
        let (db, meta) = crate::helpers::raw_tree(fjall_store.path(), "meta");
        meta.insert("schema_version", newer).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    refused_as_too_new(fjall_store.path());
    let (_db, meta) = crate::helpers::raw_tree(fjall_store.path(), "meta");
    assert_eq!(meta.get("schema_version").unwrap().unwrap().as_ref(), newer);
}

/// Runs `otpd serve` on `data_dir`; it must exit by itself, saying the store is too new.
fn refused_as_too_new(data_dir: &Path) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["--data-dir", data_dir.to_str().unwrap(), "serve"])
        .args([
            "--public-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must exit by itself; one that is still running after 30 s serves the store.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("otpd served a store from a newer version");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("written by a newer otpd"), "{err}");
}
