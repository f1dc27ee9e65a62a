//! Console operators over real HTTP: first-run setup, login and its cookie, CSRF, roles on every
//! route, slowed-down guessing, idle expiry, logout, password changes and resets, and the audit
//! trail naming the operator.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Console, PASSWORD, spawn_app};

fn doc() -> Value {
    serde_json::to_value(otpd::http::admin::openapi()).unwrap()
}

/// A concrete URL for a documented path (its parameters filled with plausible values).
fn concrete(path: &str) -> String {
    path.trim_start_matches("/admin/api")
        .replace("{name}", "DEMO")
        .replace("{kind}", "SMS")
        .replace("{destination}", "MOBILE:84901234567")
        .replace("{locale}", "vi")
        .replace("{id}", "0190b5a4-0000-7000-8000-000000000000")
}

/// Every documented operation: (method, path, the role its `session` security names, or None
/// when anyone may call it).
fn operations() -> Vec<(Method, String, Option<String>)> {
    let doc = doc();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let role = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|req| req["session"][0].as_str().map(str::to_owned));
            out.push((method, path.clone(), role));
        }
    }
    out
}

#[tokio::test]
async fn every_admin_route_checks_session_role_and_csrf() {
    let app = spawn_app().await;
    let viewer = app.console_as("vera", "viewer").await;
    let admin = app.console_as("adam", "admin").await;
    let ops = operations();
    assert!(ops.len() > 40, "{} operations", ops.len());
    let anonymous = Console {
        http: app.http.clone(),
        admin: app.admin.clone(),
        cookie: "otpd_session=none".into(),
        csrf: String::new(),
    };
    let mut admin_only = 0;
    for (method, path, role) in &ops {
        let url = concrete(path);
        let Some(role) = role else {
            continue;
        };
        let body = (*method != Method::GET).then(|| json!({}));
        // No session: 401, for every protected route.
        let (status, answer) = anonymous.call(method.clone(), &url, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {answer}"
        );
        let mutating = *method != Method::GET;
        if mutating {
            // A session without its CSRF token, or with a wrong one: 403, before anything runs.
            for csrf in [None, Some("not-the-token")] {
                let (status, answer) = admin
                    .call_with_csrf(method.clone(), &url, body.clone(), csrf)
                    .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} csrf {csrf:?}: {answer}"
                );
                assert!(
                    answer["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("CSRF")
                );
            }
        }
        if role == "admin" {
            // A viewer, with a valid CSRF token: 403 for everything that needs the admin role.
            let (status, answer) = viewer.call(method.clone(), &url, body.clone()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("viewer")
            );
            admin_only += 1;
        } else if !mutating {
            // A viewer reads everything else.
            let (status, answer) = viewer.call(method.clone(), &url, None).await;
            assert_ne!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {answer}"
            );
        }
    }
    assert!(admin_only > 20, "{admin_only} admin-only operations");
    // The only changes open to a viewer act on their own session or change nothing.
    let mut viewer_posts: Vec<&str> = ops
        .iter()
        .filter(|(m, _, role)| *m != Method::GET && role.as_deref() == Some("viewer"))
        .map(|(_, p, _)| p.as_str())
        .collect();
    viewer_posts.sort_unstable();
    assert_eq!(
        viewer_posts,
        [
            "/admin/api/auth/logout",
            "/admin/api/auth/password",
            "/admin/api/brands/{name}/signing/check",
            "/admin/api/brands/{name}/templates/{kind}/preview",
        ]
    );
    // The walk changed nothing: every change was refused before it ran.
    let (_, audit) = admin.call(Method::GET, "/audit", None).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["operator.add", "operator.add"]);
}

#[tokio::test]
async fn a_viewer_reads_and_changes_nothing() {
    let app = spawn_app().await;
    let viewer = app.console_as("vera", "viewer").await;
    let (status, brands) = viewer.call(Method::GET, "/brands", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(brands[0]["name"], "DEMO");
    let (status, _) = viewer
        .call(
            Method::PATCH,
            "/brands/DEMO",
            Some(json!({"dailyOtpLimit": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, demo) = viewer.call(Method::GET, "/brands/DEMO", None).await;
    assert_eq!(demo["settings"]["dailyOtpLimit"], 10);
    // Read-only tools that take a body are open to viewers.
    let (status, preview) = viewer
        .call(Method::POST, "/brands/DEMO/templates/SMS/preview", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_answers_the_csrf_token() {
    let app = spawn_app().await;
    app.add_operator("alice", "admin").await;
    let (status, body, cookie) = app.try_login("Alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("otpd_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    assert_eq!(body["operator"]["name"], "alice");
    assert_eq!(body["operator"]["role"], "admin");
    assert_eq!(body["csrfToken"].as_str().unwrap().len(), 64);
    // The store keeps only a digest of the session token.
    let token = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    let dump = format!(
        "{:?}",
        app.inner.services().store.raw_records().await.unwrap()
    );
    assert!(!dump.contains(token));
}

#[tokio::test]
async fn behind_a_trusted_proxy_that_terminated_tls_the_cookie_is_secure() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut config = crate::helpers::test_config(dir.path().to_path_buf());
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let app = crate::helpers::spawn_with(config, dir).await;
    let server = app.server.as_ref().unwrap();
    let admin = format!("http://{}/admin/api", server.admin_addr);
    let token = server.admin_token.to_string();
    app.client
        .post(format!("{admin}/operators"))
        .bearer_auth(token)
        .json(&json!({"name": "alice", "role": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let login = |proto: &'static str| {
        app.client
            .post(format!("{admin}/auth/login"))
            .header("x-forwarded-proto", proto)
            .json(&json!({"name": "alice", "password": PASSWORD}))
            .send()
    };
    let https = login("https").await.unwrap();
    let cookie = https.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let http = login("http").await.unwrap();
    assert!(
        !http.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
}

#[tokio::test]
async fn login_must_be_json() {
    let app = spawn_app().await;
    app.add_operator("alice", "admin").await;
    let resp = app
        .http
        .post(format!("{}/auth/login", app.admin))
        .header("content-type", "text/plain")
        .body(format!(
            "{{\"name\":\"alice\",\"password\":\"{PASSWORD}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("application/json"));
}

#[tokio::test]
async fn wrong_passwords_are_slowed_per_account_and_the_answer_does_not_say_which_was_wrong() {
    let app = spawn_app().await;
    app.add_operator("alice", "admin").await;
    let (unknown, body, _) = app.try_login("nobody", PASSWORD).await;
    let (wrong, body2, _) = app.try_login("alice", "wrong password!").await;
    assert_eq!(
        (unknown, wrong),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(body["error"]["message"], body2["error"]["message"]);
    for _ in 0..4 {
        app.try_login("alice", "wrong password!").await;
    }
    // Five failures: now even the right password must wait, with Retry-After.
    let resp = app
        .http
        .post(format!("{}/auth/login", app.admin))
        .json(&json!({"name": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    // The wait grows with each further failure: after it, one more failure doubles it.
    app.inner.clock.advance(Duration::from_secs(1));
    app.try_login("alice", "wrong password!").await;
    let resp = app
        .http
        .post(format!("{}/auth/login", app.admin))
        .json(&json!({"name": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["retry-after"], "2");
    app.inner.clock.advance(Duration::from_secs(2));
    let (status, _, _) = app.try_login("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

/// A password typed into the name field never reaches the server log; an operator's name does.
#[tokio::test]
async fn a_failed_login_logs_only_an_operators_name() {
    let app = spawn_app().await;
    app.add_operator("carol", "viewer").await;
    app.try_login("Tr0ub4dor&3-typed-as-name", "x").await;
    app.try_login("carol", "wrong password!").await;
    let logs =
        String::from_utf8_lossy(&crate::helpers::captured_logs().lock().unwrap()).into_owned();
    assert!(!logs.contains("Tr0ub4dor&3-typed-as-name"));
    assert!(logs.contains("console login failed"));
    assert!(
        logs.lines()
            .any(|l| l.contains("console login failed") && l.contains("carol")),
        "the operator's name is logged"
    );
}

#[tokio::test]
async fn sessions_end_when_idle_and_on_logout() {
    let app = spawn_app().await;
    let console = app.console_as("alice", "admin").await;
    let (status, _) = console.call(Method::GET, "/auth/session", None).await;
    assert_eq!(status, StatusCode::OK);
    // 29 minutes idle: still in; the request refreshes the idle timer.
    app.inner.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        console.call(Method::GET, "/brands", None).await.0,
        StatusCode::OK
    );
    app.inner.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        console.call(Method::GET, "/brands", None).await.0,
        StatusCode::OK
    );
    // 30 minutes idle: out.
    app.inner.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(
        console.call(Method::GET, "/brands", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let console = app.login("alice", PASSWORD).await;
    let (status, _) = console.call(Method::POST, "/auth/logout", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        console.call(Method::GET, "/brands", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn first_run_setup_link_works_once() {
    let app = spawn_app().await;
    let token = app
        .inner
        .server
        .as_ref()
        .unwrap()
        .setup_token
        .clone()
        .unwrap();
    let status = |v: Value| v["needed"].clone();
    let (_, needed) = app.call_with(Method::GET, "/auth/setup", None, None).await;
    assert_eq!(status(needed), true);
    let setup = |token: String| {
        let app = &app;
        async move {
            app.http
                .post(format!("{}/auth/setup", app.admin))
                .json(&json!({"token": token, "name": "root", "password": PASSWORD}))
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = setup("0".repeat(64)).await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let ok = setup(token.clone()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(
        ok.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("otpd_session=")
    );
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["operator"]["role"], "admin");
    // Used: not again, and setup is no longer offered.
    assert_eq!(setup(token).await.status(), StatusCode::FORBIDDEN);
    let (_, needed) = app.call_with(Method::GET, "/auth/setup", None, None).await;
    assert_eq!(status(needed), false);
    // A restart with an operator prints no link.
    let app = app.inner.restart().await;
    assert!(app.server.as_ref().unwrap().setup_token.is_none());
}

#[tokio::test]
async fn a_setup_link_expires_after_an_hour() {
    let app = spawn_app().await;
    let token = app
        .inner
        .server
        .as_ref()
        .unwrap()
        .setup_token
        .clone()
        .unwrap();
    app.inner.clock.advance(Duration::from_secs(3600));
    let resp = app
        .http
        .post(format!("{}/auth/setup", app.admin))
        .json(&json!({"token": token, "name": "root", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operators_change_their_password_and_admins_reset_disable_and_re_role() {
    let app = spawn_app().await;
    let admin = app.console_as("adam", "admin").await;
    let bob = app.console_as("bob", "viewer").await;

    // Bob changes his own password (a viewer may); the rule is told next to the field.
    let (status, err) = bob
        .call(
            Method::POST,
            "/auth/password",
            Some(json!({"currentPassword": PASSWORD, "newPassword": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "newPassword");
    let (status, err) = bob
        .call(
            Method::POST,
            "/auth/password",
            Some(json!({"currentPassword": "not it at all", "newPassword": "a much better one"})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("currentPassword"))
    );
    let (status, _) = bob
        .call(
            Method::POST,
            "/auth/password",
            Some(json!({"currentPassword": PASSWORD, "newPassword": "a much better one"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.try_login("bob", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let bob = app.login("bob", "a much better one").await;

    // The admin makes Bob an admin, then resets his password: his sessions end, and the
    // temporary password must be changed before anything else.
    let (status, view) = admin
        .call(
            Method::PATCH,
            "/operators/bob",
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(
        (status, view["role"].clone()),
        (StatusCode::OK, json!("admin"))
    );
    let (status, reset) = admin
        .call(Method::POST, "/operators/bob/reset-password", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(
        bob.call(Method::GET, "/brands", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let temporary = reset["temporaryPassword"].as_str().unwrap();
    let bob = app.login("bob", temporary).await;
    let (status, err) = bob.call(Method::GET, "/brands", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (_, me) = bob.call(Method::GET, "/auth/session", None).await;
    assert_eq!(me["operator"]["mustChangePassword"], true);
    bob.call(
        Method::POST,
        "/auth/password",
        Some(json!({"currentPassword": temporary, "newPassword": "bob chose this one"})),
    )
    .await;
    assert_eq!(
        bob.call(Method::GET, "/brands", None).await.0,
        StatusCode::OK
    );

    // Disabled: his session ends and he cannot log in.
    let (status, _) = admin
        .call(
            Method::PATCH,
            "/operators/bob",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        bob.call(Method::GET, "/brands", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login("bob", "bob chose this one").await.0,
        StatusCode::UNAUTHORIZED
    );

    // The last enabled admin stays one.
    let (status, err) = admin
        .call(
            Method::PATCH,
            "/operators/adam",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");

    // The trail names who did what; no password, hash or temporary password is in it.
    let (_, audit) = admin.call(Method::GET, "/audit?actor=adam", None).await;
    let entries = audit["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "operator.disable",
            "operator.reset-password",
            "operator.update"
        ]
    );
    assert_eq!(entries[2]["before"], json!({"role": "viewer"}));
    assert_eq!(entries[2]["after"], json!({"role": "admin"}));
    assert_eq!(entries[2]["target"], "bob");
    let all = app.call(Method::GET, "/audit", None).await.1.to_string();
    for secret in [
        PASSWORD,
        "a much better one",
        temporary,
        "bob chose this one",
        "argon2",
    ] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
}

#[tokio::test]
async fn the_audit_trail_records_the_operator_not_a_header() {
    let app = spawn_app().await;
    let console = app.console_as("alice", "admin").await;
    let resp = app
        .http
        .patch(format!("{}/brands/DEMO", app.admin))
        .header("cookie", &console.cookie)
        .header("x-csrf-token", &console.csrf)
        .header("x-otpd-actor", "mallory")
        .json(&json!({"dailyOtpLimit": 4, "testIdentifiers": [
            {"identifierType": "MOBILE", "identifierValue": "+84900000001", "otp": "123456"}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(shown["settings"]["testIdentifiers"][0]["otp"], "set");
    // The CLI's changes are recorded as cli.
    app.call(
        Method::PATCH,
        "/brands/DEMO",
        Some(json!({"otpLength": 8, "testIdentifiers": []})),
    )
    .await;
    let (_, audit) = console.call(Method::GET, "/audit?brand=DEMO", None).await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries[0]["actor"], "cli");
    assert_eq!(entries[1]["actor"], "alice");
    assert_eq!(entries[1]["action"], "brand.update");
    assert_eq!(entries[1]["before"]["dailyOtpLimit"], 10);
    assert_eq!(entries[1]["after"]["dailyOtpLimit"], 4);
    assert_eq!(
        entries[1]["after"]["testIdentifiers"][0]["otp"], "redacted",
        "{}",
        entries[1]
    );
    assert!(!audit.to_string().contains("123456"));
    assert!(!audit.to_string().contains("mallory"));
}
