//! Health, metrics, OpenAPI and the JWKS that verifies issued tokens.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_metrics_and_openapi() {
    let app = spawn_app().await;
    for path in ["/health/live", "/health/ready"] {
        assert_eq!(
            app.client.get(app.url(path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
    let session = app.session("MOBILE", MOBILE).await;
    app.generate("MOBILE", MOBILE, &session).await;
    app.code_sent_to(MOBILE, 0).await;
    // Metrics show brand names and volumes: the admin listener serves them, not the public one.
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let metrics = app.admin_get_text("/metrics").await;
    assert!(
        metrics.contains("otpd_requests_total{endpoint=\"otp/generate\",code=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("otpd_otps_issued_total{brand=\"DEMO\",channel=\"SMS\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("otpd_deliveries_total{channel=\"SMS\",outcome=\"sent\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("otpd_request_seconds_bucket"), "{metrics}");

    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/auth/v1/token/generate",
        "/auth/v1/web/otp/generate",
        "/auth/v1/otp/validate",
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn issued_tokens_verify_with_the_jwks() {
    let app = spawn_app().await;
    let (_, body, _) = app
        .post(
            "/auth/v1/token/generate",
            &mobile_req("MOBILE", MOBILE, None),
        )
        .await;
    let token = body["auth"]["token"].as_str().unwrap();
    let jwks: JwkSet = app
        .client
        .get(app.url("/auth/v1/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["otpd"]);
    // The manual clock is ahead of or behind the wall clock; check the claims, not the time.
    validation.validate_exp = false;
    let data = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).unwrap();
    assert_eq!(data.claims["sub"], "MOBILE|84901234567");
    assert_eq!(data.claims["brand"], "DEMO");
    assert_eq!(data.claims["dev"], DEVICE);
    assert_eq!(data.claims["role"], "VIEW");
    assert_eq!(
        data.claims["exp"].as_i64().unwrap() - data.claims["iat"].as_i64().unwrap(),
        900
    );
    // A tampered token fails.
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = "eyJzdWIiOiJNT0JJTEV8MSJ9";
    parts[1] = other;
    assert!(
        decode::<Value>(
            &parts.join("."),
            &DecodingKey::from_jwk(jwk).unwrap(),
            &validation
        )
        .is_err()
    );
}

#[tokio::test]
async fn validate_hands_out_a_user_token_and_an_auth_key_with_their_ttls() {
    let app = spawn_app().await;
    let claims = |jwt: &str| -> Value {
        let jwks: JwkSet =
            serde_json::from_value(serde_json::to_value(app.services().keys.jwks()).unwrap())
                .unwrap();
        let jwk = jwks
            .find(&decode_header(jwt).unwrap().kid.unwrap())
            .unwrap()
            .clone();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        decode::<Value>(jwt, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
            .unwrap()
            .claims
    };
    for (key_ttl, expected) in [(None, None), (Some(3600), Some(3600))] {
        app.update_brand("DEMO", |b| {
            b.settings.key_ttl_seconds = key_ttl;
            b.settings.access_token_ttl_seconds = 600;
            b.settings.resend_cooldown_seconds = 0;
        })
        .await;
        let session = app.session("MOBILE", MOBILE).await;
        let seen = app.capture.all().len();
        app.generate("MOBILE", MOBILE, &session).await;
        let otp = app.code_sent_to(MOBILE, seen).await;
        let (status, body) = app.validate("MOBILE", MOBILE, &session, &otp).await;
        assert_eq!(status, 200);
        let token = claims(body["auth"]["token"].as_str().unwrap());
        assert_eq!(token["role"], "USER");
        assert_eq!(
            token["exp"].as_i64().unwrap() - token["iat"].as_i64().unwrap(),
            600
        );
        let key = claims(body["auth"]["key"].as_str().unwrap());
        assert_eq!(key["role"], "AUTH");
        assert_eq!(
            key["exp"]
                .as_i64()
                .map(|e| e - key["iat"].as_i64().unwrap()),
            expected,
            "keyTtlSeconds {key_ttl:?}"
        );
    }
}

#[tokio::test]
async fn a_taken_public_port_can_leave_the_console_running() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path().to_path_buf());
    config.public_listen = taken.local_addr().unwrap();
    // Headless: a taken port is an error that names it.
    let err = otpd::run(config.clone(), otpd::RunOptions::default())
        .await
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains(&taken.local_addr().unwrap().to_string()),
        "{err:#}"
    );
    // The desktop's choice: run without the public API and say why.
    let options = otpd::RunOptions {
        public_listener_optional: true,
        ..otpd::RunOptions::default()
    };
    let server = otpd::run(config, options).await.unwrap();
    assert_eq!(server.public_addr, None);
    let settings = server
        .services
        .admin("test")
        .server_settings()
        .await
        .unwrap();
    assert!(!settings.public_api.listening);
    assert!(settings.public_api.error.unwrap().contains("cannot listen"));
    server.shutdown().await.unwrap();
}

/// Clients that give up while their code is being issued do not make the count wrong: each
/// request runs to its end on the server, so every code delivered was counted in
/// `otpd_otps_issued_total`, and every code counted was delivered.
#[tokio::test]
async fn codes_of_clients_that_went_away_are_counted_and_delivered() {
    use std::time::{Duration, Instant};
    let app = spawn_app().await;
    let customer = |i: usize| format!("8490{i:07}");
    let issued_metric = || async {
        let metrics = app.admin_get_text("/metrics").await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("otpd_otps_issued_total{brand=\"DEMO\",channel=\"SMS\"} "))
            .map_or(0, |n| n.trim().parse::<usize>().unwrap())
    };
    let mut answered = 0;
    // Rounds until one had a client hang up after its code was issued (timing varies with
    // the machine's load); each round's outcome is checked.
    for round in 0..5 {
        let first = round * 100;
        let mut sessions = Vec::new();
        for i in first..first + 90 {
            sessions.push((i, app.session("MOBILE", &customer(i)).await));
        }
        // How long a whole generate takes now (the median of ten).
        let mut took = Vec::new();
        for (i, s) in &sessions[..10] {
            let t = Instant::now();
            assert_eq!(app.generate("MOBILE", &customer(*i), s).await.0, 200);
            took.push(t.elapsed());
            answered += 1;
        }
        took.sort();
        let whole = took[5];
        // The others hang up after 20% to 150% of that: some before their code is issued,
        // some while it is committed, some after it, before the answer.
        for (n, (i, s)) in sessions[10..].iter().enumerate() {
            let wait = whole.mul_f64(0.2 + 1.3 * f64::from(u32::try_from(n).unwrap()) / 80.0);
            let sent = app
                .client
                .post(app.url("/auth/v1/otp/generate"))
                .timeout(wait)
                .json(&mobile_req("MOBILE", &customer(*i), Some(s)))
                .send()
                .await;
            match sent {
                Ok(r) => {
                    assert_eq!(r.status(), 200);
                    answered += 1;
                }
                Err(e) => assert!(e.is_timeout(), "{e}"),
            }
        }
        // Poll until the server is done: the same codes counted, logged and delivered.
        let deadline = Instant::now() + Duration::from_secs(20);
        let issued = loop {
            let delivered = app.capture.all().len();
            let counted = issued_metric().await;
            let queued = app.services().store.queued_jobs().await.unwrap();
            let logged = app
                .log_records()
                .await
                .iter()
                .filter(|r| r.outcome == 200)
                .count();
            if queued == 0 && delivered == counted && counted == logged {
                break counted;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: {counted} counted, {delivered} delivered, {logged} logged, \
                 {queued} queued"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if issued > answered {
            return;
        }
    }
    panic!("in no round was a code issued to a client that gave up: the test shows nothing");
}
