//! Arbitrary bytes as the JSON body of every public request — token/generate, otp/generate
//! (with and without `?fallbackChannel=`), otp/validate, on the mobile and the web paths, a
//! single object or a batch — through the real public router (`otpd::http::public_router`)
//! and the real services over a real store, exactly as a client's request is handled.
//!
//! A hostile body must never panic, never cause an internal error (5xx, 1502/1503: the store is
//! healthy, so nothing a client sends may make otpd fail), and always get the documented
//! envelope: `{"status": {"success", "code", "message"}}` for one object, an array of as many
//! envelopes for a batch.
//!
//! The world is set up once: brand DEMO (every channel the LOG sink, no signatures) and brand
//! SIGNED (signatures required on every endpoint with a known key, errors as HTTP 200, a test
//! identifier, fallback channels), and four sessions with fixed ids, the two mobile ones holding
//! the code 123456. Before every input the clock goes back to `NOW`, everything the previous
//! input wrote is swept and the fixed sessions are written afresh, so an input gets the same
//! answers every time it runs. Its routes then run in order in that world, each seeing what the
//! ones before did (a code issued starts the cooldown, a signature is used once, a validated
//! code consumes its session): validation first, while the fixed sessions still hold 123456,
//! then token/generate, then otp/generate. (Sweeping before every route instead ran five
//! inputs a second: a sweep writes every tree's memory out.) The seed corpus
//! (`fuzz/corpus/request_parsing`) and the dictionary (`fuzz/request_parsing.dict`) carry valid
//! requests for these sessions and signatures made with the SIGNED key at `NOW`, so the fuzzer
//! starts deep inside the checks.

#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use otpd::clock::Clock;
use otpd::config::Config;
use otpd::delivery::Senders;
use otpd::domain::signature::{KeyState, SigningKey};
use otpd::domain::{
    Brand, BrandName, BrandSettings, ChannelConfig, ChannelKind, Destination, Flow, Identifier,
    IdentifierType, IssuedCode, OtpCode, Session, SessionId, SignedEndpoint,
};
use otpd::secrets::ServerKeys;
use otpd::service::Services;
use otpd::store::{Durability, Store};
use serde_json::Value;
use tower::ServiceExt;

/// The fuzzer's fixed "now": 2026-01-02T03:04:05Z. Signed seeds carry this timestamp.
const NOW_MS: i64 = 1_767_323_045_000;
/// The SIGNED brand's signing secret: 32 bytes of 0x07 (the seeds are signed with it).
const SIGNING_SECRET: [u8; 32] = [7; 32];
/// A fixed server key, so runs are reproducible.
const KEY_FILE: &str =
    r#"{"keys":[{"id":1,"secret":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}]}"#;

const MOBILE_SESSION: &str = "P-00000000-0000-4000-8000-000000000001";
const WEB_SESSION: &str = "P-00000000-0000-4000-8000-000000000002";
const SIGNED_SESSION: &str = "P-00000000-0000-4000-8000-000000000003";
const USERNAME_SESSION: &str = "P-00000000-0000-4000-8000-000000000004";

/// Every public route, with a `fallbackChannel` variant of generate, in the order an input
/// runs through them.
const PATHS: [&str; 8] = [
    "/auth/v1/otp/validate",
    "/auth/v1/web/otp/validate",
    "/auth/v1/token/generate",
    "/auth/v1/web/token/generate",
    "/auth/v1/otp/generate",
    "/auth/v1/web/otp/generate",
    "/auth/v1/otp/generate?fallbackChannel=EMAIL",
    "/auth/v1/web/otp/generate?fallbackChannel=WHATSAPP",
];

struct World {
    runtime: tokio::runtime::Runtime,
    services: Arc<Services>,
    router: axum::Router,
}

/// Built on the first input. The store lives in `$TMPDIR/otpd-fuzz-<pid>`, left behind when
/// libFuzzer exits; `scripts/fuzz-targets.sh` points `TMPDIR` at a directory it removes.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = std::env::temp_dir().join(format!("otpd-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let services = runtime.block_on(async {
            let keys = Arc::new(ServerKeys::from_json(KEY_FILE).expect("the fixed key file"));
            let store = Store::open(&dir.join("store"), Durability::Periodic, keys.clone())
                .expect("a store in the temporary directory");
            let config = Config {
                data_dir: dir.clone(),
                // Off: the per-address limit would answer 1702 to everything after a minute's
                // worth of inputs, and inputs must be independent.
                client_rate_limit_per_minute: 0,
                durability: Durability::Periodic,
                ..Config::default()
            };
            let clock = Clock::manual(jiff::Timestamp::from_millisecond(NOW_MS).expect("NOW"));
            Arc::new(Services::new(
                store,
                keys,
                clock,
                Senders::new(None),
                Arc::new(config),
            ))
        });
        let store = &services.store;
        runtime
            .block_on(store.create_brand(&Brand::demo(NOW_MS)))
            .expect("brand DEMO");
        runtime
            .block_on(store.create_brand(&signed_brand()))
            .expect("brand SIGNED");
        let router = otpd::http::public_router(services.clone())
            .layer(axum::extract::DefaultBodyLimit::max(otpd::http::BODY_LIMIT));
        World {
            runtime,
            services,
            router,
        }
    })
}

fn signed_brand() -> Brand {
    let name = BrandName::parse("SIGNED").expect("a brand name");
    let settings = BrandSettings {
        signing_endpoints: vec![
            SignedEndpoint::TokenGenerate,
            SignedEndpoint::OtpGenerate,
            SignedEndpoint::OtpValidate,
        ],
        errors_as_http200: true,
        fallback_channels: vec![ChannelKind::Email, ChannelKind::Whatsapp],
        test_identifiers: serde_json::from_value(serde_json::json!([
            {"identifierType": "MOBILE", "identifierValue": "84900000000", "otp": "000000"}
        ]))
        .expect("a test identifier"),
        ..BrandSettings::default()
    };
    let mut brand = Brand::new(name, settings, NOW_MS);
    for kind in ChannelKind::ALL {
        brand.channels.insert(kind, ChannelConfig::Log);
    }
    brand.signing_keys.push(SigningKey {
        id: 1,
        secret: SIGNING_SECRET.to_vec(),
        state: KeyState::Active,
        created_ms: NOW_MS,
    });
    brand
}

/// Back to the same state before every input: the clock at `NOW`, what the previous input
/// wrote swept away (a sweep far in the future removes every session, nonce, usage and log
/// record), the outbox drained, and the fixed sessions written afresh.
fn reset(w: &World) {
    let s = &w.services;
    s.clock
        .set(jiff::Timestamp::from_millisecond(NOW_MS).expect("NOW"));
    let far = NOW_MS + 10 * 365 * 86_400_000;
    w.runtime.block_on(async {
        s.store.sweep(far, 0).await.expect("sweeping the store");
        let claimed = s.store.claim_jobs(far, usize::MAX).await.expect("the outbox");
        let sent: Vec<_> = claimed
            .into_iter()
            .map(|job| otpd::store::Finished {
                job,
                status: otpd::domain::DeliveryStatus::Sent,
                attempt: None,
            })
            .collect();
        s.store
            .finish_deliveries(&sent, far)
            .await
            .expect("draining the outbox");
    });
    let mobile = Identifier::parse(IdentifierType::Mobile, "84901234567").expect("a mobile");
    let email = Identifier::parse(IdentifierType::Email, "jane@example.com").expect("an e-mail");
    let username = Identifier::parse(IdentifierType::Username, "jane").expect("a username");
    let demo = BrandName::parse("DEMO").expect("DEMO");
    let signed = BrandName::parse("SIGNED").expect("SIGNED");
    let session = |id: &str, brand: &BrandName, identifier: &Identifier, flow: Flow| Session {
        id: SessionId::parse(id).expect("a fixed session id"),
        brand: brand.clone(),
        identifier: identifier.clone(),
        device: (flow == Flow::Mobile).then(|| "dev-1".to_owned()),
        flow,
        created_ms: NOW_MS,
        expires_ms: NOW_MS + 900_000,
        mobile: None,
        email: None,
        code: None,
        failed_attempts: 0,
        consumed: false,
    };
    // The mobile sessions hold the code 123456, so validation can succeed.
    let holding_code = |mut session: Session| {
        let (key_id, hash) = s.keys.hash_code(
            &session.brand,
            &session.id,
            &session.identifier,
            &OtpCode::fixed("123456"),
        );
        session.code = Some(IssuedCode {
            key_id,
            hash,
            issued_ms: NOW_MS,
            expires_ms: NOW_MS + 600_000,
            log_id: uuid::Uuid::nil(),
        });
        session
    };
    let mut by_username = session(USERNAME_SESSION, &demo, &username, Flow::Web);
    by_username.mobile = Destination::mobile("84901234567").ok();
    by_username.email = Destination::email("jane@example.com").ok();
    for fixed in [
        holding_code(session(MOBILE_SESSION, &demo, &mobile, Flow::Mobile)),
        session(WEB_SESSION, &demo, &email, Flow::Web),
        holding_code(session(SIGNED_SESSION, &signed, &mobile, Flow::Mobile)),
        by_username,
    ] {
        w.runtime
            .block_on(s.store.insert_session(&fixed))
            .expect("a fixed session");
    }
}

fuzz_target!(|body: &[u8]| {
    let w = world();
    // What the body holds decides what the answer must look like.
    let batch_len = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items))
            if (1..=100).contains(&items.len()) && items.iter().all(Value::is_object) =>
        {
            Some(items.len())
        }
        _ => None,
    };
    reset(w);
    for path in PATHS {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .extension(ConnectInfo(SocketAddr::from(([203, 0, 113, 9], 40000))))
            .body(Body::from(body.to_vec()))
            .expect("a request");
        let (status, answer) = w.runtime.block_on(async {
            let response = w
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("a buffered body")
                .to_bytes();
            (status, bytes)
        });
        assert!(
            [
                StatusCode::OK,
                StatusCode::BAD_REQUEST,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS
            ]
            .contains(&status),
            "{path}: HTTP {status} for {:?}",
            String::from_utf8_lossy(body)
        );
        if print_answers() {
            eprintln!("{path}: HTTP {status} {}", String::from_utf8_lossy(&answer));
        }
        let answer: Value = serde_json::from_slice(&answer)
            .unwrap_or_else(|e| panic!("{path}: the answer is not JSON ({e}): {answer:?}"));
        match (batch_len, &answer) {
            (Some(n), Value::Array(answers)) => {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{path}: a batch is answered with 200"
                );
                assert_eq!(answers.len(), n, "{path}: one answer per batch item");
                for a in answers {
                    check_envelope(path, a, body);
                }
            }
            (None, Value::Object(_)) => check_envelope(path, &answer, body),
            _ => panic!(
                "{path}: answer {answer} does not fit the body {:?}",
                String::from_utf8_lossy(body)
            ),
        }
    }
});

/// `OTPD_FUZZ_PRINT=1` prints every answer: to see how deep an input gets (run the target
/// binary on one corpus file).
fn print_answers() -> bool {
    static PRINT: OnceLock<bool> = OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("OTPD_FUZZ_PRINT").is_some())
}

/// `{"status": {"success", "code", "message"}}`, success exactly with code 200, and never an
/// internal failure.
fn check_envelope(path: &str, answer: &Value, body: &[u8]) {
    let status = &answer["status"];
    let code = status["code"].as_u64();
    let success = status["success"].as_bool();
    assert!(
        status["message"].is_string() && code.is_some() && success.is_some(),
        "{path}: not an envelope: {answer}"
    );
    assert_eq!(success, Some(code == Some(200)), "{path}: {answer}");
    assert!(
        !matches!(code, Some(1502 | 1503)),
        "{path}: internal failure {answer} for {:?}",
        String::from_utf8_lossy(body)
    );
}
