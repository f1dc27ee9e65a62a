//! Rotating the server key ring with `otpd keys`: new material under the new key, old material
//! still verifying, brand records re-sealed at start so the old key can leave.

use jsonwebtoken::decode_header;
use serde_json::Value;

use crate::helpers::*;

fn keys_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove(otpd::secrets::KEY_ENV)
        .output()
        .unwrap()
}

async fn brand_key_ids(app: &TestApp) -> Vec<u32> {
    let dump = app.services().store.raw_records().await.unwrap();
    let brands = &dump.iter().find(|(name, _)| name == "brands").unwrap().1;
    brands
        .iter()
        .map(|(_, v)| u32::from_be_bytes(v[1..5].try_into().unwrap()))
        .collect()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .client
        .get(app.url("/auth/v1/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rotating_and_retiring_a_server_key() {
    let app = spawn_app().await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    let otp = app.code_sent_to(MOBILE, 0).await;
    assert_eq!(brand_key_ids(&app).await, [1]);

    let app = app
        .restart_after(|dir| {
            let out = keys_cli(dir, &["rotate"]);
            assert!(out.status.success(), "{out:?}");
            assert!(String::from_utf8_lossy(&out.stdout).contains("Key 2 is now the active key"));
            // Before a start re-seals the brands under key 2, key 1 cannot leave.
            let early = keys_cli(dir, &["remove", "1"]);
            assert!(!early.status.success());
            assert!(
                String::from_utf8_lossy(&early.stderr).contains("start otpd once"),
                "{early:?}"
            );
        })
        .await;
    assert_eq!(jwks_kids(&app).await, ["2", "1"], "both keys are published");
    assert_eq!(
        brand_key_ids(&app).await,
        [2],
        "brand records were re-sealed at start"
    );
    let (_, body, _) = app
        .post(
            "/auth/v1/token/generate",
            &mobile_req("MOBILE", MOBILE, None),
        )
        .await;
    assert_eq!(
        decode_header(body["auth"]["token"].as_str().unwrap())
            .unwrap()
            .kid
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        app.validate("MOBILE", MOBILE, &session, &otp).await.0,
        200,
        "a code hashed under key 1 still validates"
    );

    let out = keys_cli(&app.config.data_dir, &["remove", "2"]);
    assert!(!out.status.success(), "the active key cannot be removed");
    let app = app
        .restart_after(|dir| {
            let out = keys_cli(dir, &["remove", "1"]);
            assert!(out.status.success(), "{out:?}");
            let listed = String::from_utf8_lossy(&keys_cli(dir, &["list"]).stdout).into_owned();
            assert_eq!(listed.trim(), "2\tactive");
        })
        .await;
    assert_eq!(jwks_kids(&app).await, ["2"]);
    // The brands still open: they were re-sealed under key 2 before key 1 left.
    let s2 = app.session("MOBILE", "+84900000002").await;
    assert_eq!(app.generate("MOBILE", "+84900000002", &s2).await.0, 200);
}
