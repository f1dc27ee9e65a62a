//! Server settings in the console: every setting with its source; the log retention applies at
//! once, the public address at the next start; what the config pins cannot be changed here.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::spawn_app;

#[tokio::test]
async fn settings_show_their_source_and_the_editable_ones_change() {
    let app = spawn_app().await;
    let (status, s) = app.call(Method::GET, "/settings", None).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["settings"]["durability"]["value"], "flush-each");
    assert_eq!(s["settings"]["durability"]["editable"], false);
    assert_eq!(s["settings"]["logRetentionDays"]["editable"], true);
    assert_eq!(s["settings"]["logRetentionDays"]["source"], "default");
    assert_eq!(s["settings"]["publicListen"]["needsRestart"], true);
    assert_eq!(s["serverKeys"]["activeId"], 1);
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));

    let (status, s) = app
        .call(
            Method::PATCH,
            "/settings",
            Some(json!({"logRetentionDays": 30, "publicListen": "127.0.0.1:0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["settings"]["logRetentionDays"]["value"], 30);
    assert_eq!(s["settings"]["logRetentionDays"]["source"], "console");
    assert_eq!(
        app.inner
            .services()
            .log_retention_days
            .load(std::sync::atomic::Ordering::Relaxed),
        30
    );
    // Bad values are named.
    let (status, err) = app
        .call(
            Method::PATCH,
            "/settings",
            Some(json!({"logRetentionDays": 0})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("logRetentionDays"))
    );
    let (status, err) = app
        .call(
            Method::PATCH,
            "/settings",
            Some(json!({"publicListen": "everywhere"})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("publicListen"))
    );

    // After a restart the stored values are in force.
    let restarted = app.inner.restart().await;
    let after = restarted
        .services()
        .admin("test")
        .server_settings()
        .await
        .unwrap();
    assert_eq!(after.settings["logRetentionDays"].value, json!(30));
    assert_eq!(restarted.services().config.log_retention_days, 30);
}

#[tokio::test]
async fn a_setting_pinned_by_the_environment_is_read_only() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut config = otpd::config::Config::load(None, |k| {
        (k == "OTPD_LOG_RETENTION_DAYS").then(|| "14".to_owned())
    })
    .unwrap();
    let base = crate::helpers::test_config(dir.path().to_path_buf());
    config.data_dir = base.data_dir;
    config.public_listen = base.public_listen;
    config.admin_listen = base.admin_listen;
    let app = crate::helpers::spawn_with(config, dir).await;
    let admin = app.services().admin("test");
    let s = admin.server_settings().await.unwrap();
    assert_eq!(s.settings["logRetentionDays"].value, json!(14));
    assert!(!s.settings["logRetentionDays"].editable);
    let err = admin
        .update_server_settings(&otpd::service::admin::ServerSettingsPatch {
            log_retention_days: Some(30),
            public_listen: None,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("environment"), "{err}");
}

#[tokio::test]
async fn a_backup_downloads_under_a_dated_name() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(format!("{}/backup", app.admin))
        .bearer_auth(&*app.server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // The test clock reads 2026-11-26.
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"otpd-2026-11-26.backup\""
    );
    assert!(resp.bytes().await.unwrap().starts_with(b"OTPD-BACKUP 2\n"));
}
