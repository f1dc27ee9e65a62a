//! Code hygiene: no plaintext code in any tree of the store or any log line; secrets outside the store
//! in owner-only files.

use std::time::Duration;

use crate::helpers::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_tree_and_no_log_line_holds_a_code() {
    let app = spawn_app().await;
    // Ten-digit codes: a chance match with a timestamp or id in the dump is out of the question.
    app.update_brand("DEMO", |b| {
        b.settings.otp_length = 10;
        b.settings.resend_cooldown_seconds = 0;
    })
    .await;
    let mut codes = Vec::new();
    for i in 0..5 {
        let mobile = format!("+8490000000{i}");
        let session = app.session("MOBILE", &mobile).await;
        assert_eq!(app.generate("MOBILE", &mobile, &session).await.0, 200);
        let otp = app.code_sent_to(&mobile, 0).await;
        assert_eq!(otp.len(), 10);
        if i % 2 == 0 {
            assert_eq!(app.validate("MOBILE", &mobile, &session, &otp).await.0, 200);
        }
        codes.push(otp);
    }
    // One job still queued (provider down), so the outbox tree holds a sealed code right now.
    app.capture
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let session = app.session("MOBILE", "+84911111111").await;
    assert_eq!(
        app.generate("MOBILE", "+84911111111", &session).await.0,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let dump = app.services().store.raw_records().await.unwrap();
    let outbox = dump.iter().find(|(name, _)| name == "outbox").unwrap();
    assert_eq!(outbox.1.len(), 1, "the undelivered job is in the outbox");
    for (tree, entries) in &dump {
        for (k, v) in entries {
            for code in &codes {
                assert!(
                    !contains(k, code.as_bytes()) && !contains(v, code.as_bytes()),
                    "code found in tree {tree}"
                );
            }
        }
    }
    let logs = captured_logs().lock().unwrap().clone();
    assert!(!logs.is_empty());
    for code in &codes {
        assert!(
            !contains(&logs, code.as_bytes()),
            "code found in the server log"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn secrets_are_owner_only_files_outside_the_store() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let dir = &app.config.data_dir;
    for name in [otpd::secrets::KEY_FILE, otpd::ADMIN_TOKEN_FILE] {
        let mode = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let key_file = std::fs::read(dir.join(otpd::secrets::KEY_FILE)).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&key_file).unwrap();
    let secret = parsed["keys"][0]["secret"].as_str().unwrap().to_owned();
    for (tree, entries) in app.services().store.raw_records().await.unwrap() {
        for (k, v) in entries {
            assert!(
                !contains(&k, secret.as_bytes()) && !contains(&v, secret.as_bytes()),
                "server key in tree {tree}"
            );
        }
    }
}

#[tokio::test]
async fn brand_secrets_are_sealed_in_the_store() {
    let app = spawn_app().await;
    let password = "smtp-pa55word-that-must-not-leak";
    let channel = crate::delivery::channel(
        otpd::domain::ChannelKind::Email,
        &[
            ("provider", "smtp"),
            ("host", "127.0.0.1"),
            ("from", "otp@demo.test"),
            ("username", "u"),
            ("password", password),
        ],
    );
    let secret = vec![0x5au8; 32];
    app.update_brand("DEMO", |b| {
        b.channels.insert(otpd::domain::ChannelKind::Email, channel);
        b.signing_keys = vec![otpd::domain::signature::SigningKey {
            id: 1,
            secret: secret.clone(),
            state: otpd::domain::signature::KeyState::Active,
            created_ms: 0,
        }];
    })
    .await;
    use base64::Engine;
    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(&secret);
    for (tree, entries) in app.services().store.raw_records().await.unwrap() {
        for (k, v) in entries {
            for needle in [
                password.as_bytes(),
                secret_b64.as_bytes(),
                &secret[..],
                b"smtp",
            ] {
                assert!(
                    !contains(&k, needle) && !contains(&v, needle),
                    "a brand secret in tree {tree}"
                );
            }
        }
    }
    // Yet the server reads them back, also after a restart.
    let app = app.restart().await;
    let demo = app
        .services()
        .store
        .brand(&otpd::domain::BrandName::parse("DEMO").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(demo.signing_keys[0].secret, secret);
    assert!(format!("{:?}", serde_json::to_value(&demo.channels).unwrap()).contains(password));
}
