//! `otpd backup` from a running server and `otpd restore` into a new data directory.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use super::helpers::{spawn_app, stderr};
use crate::helpers::{MOBILE, code, spawn_with, test_config};

#[tokio::test]
async fn a_backup_restores_into_a_new_data_directory_with_everything_in_it() {
    if !crate::helpers::on_embedded_store(
        "otpd backup covers the embedded store (PostgreSQL: pg_dump)",
    ) {
        return;
    }
    let app = spawn_app().await;
    let (status, _) = app
        .call(
            Method::PATCH,
            "/brands/DEMO",
            Some(json!({"dailyOtpLimit": 3})),
        )
        .await;
    assert_eq!(status, 200);
    let t = &app.inner;
    let session = t.session("MOBILE", MOBILE).await;
    assert_eq!(t.generate("MOBILE", MOBILE, &session).await.0, 200);
    let otp = t.code_sent_to(MOBILE, 0).await;

    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("otpd.backup");
    let out = app.cli(&["backup", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // Restore with the binary, bring the key file along, start a server there.
    let new_dir = Arc::new(tempfile::tempdir().unwrap());
    let restore = |target: &std::path::Path, from: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
            .args([
                "restore",
                from.to_str().unwrap(),
                "--data-dir",
                target.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(new_dir.path(), open).unwrap();
    }
    let out = restore(new_dir.path(), &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("copy server-keys.json"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(new_dir.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "the restored data directory is private"
        );
    }
    // Started before the key file is there, otpd refuses rather than make keys that could not
    // open the brands, and says what to copy.
    let early = otpd::run(
        test_config(new_dir.path().to_path_buf()),
        otpd::RunOptions::default(),
    )
    .await
    .err()
    .expect("no start without the key file");
    assert!(
        format!("{early:#}").contains("Copy that server's server-keys.json"),
        "{early:#}"
    );
    assert!(!new_dir.path().join(otpd::secrets::KEY_FILE).exists());
    std::fs::copy(
        app.dir.path().join(otpd::secrets::KEY_FILE),
        new_dir.path().join(otpd::secrets::KEY_FILE),
    )
    .unwrap();
    let restored = spawn_with(test_config(new_dir.path().to_path_buf()), new_dir.clone()).await;
    restored.clock.set(t.clock.now());

    let demo = restored
        .services()
        .store
        .brand(&otpd::domain::BrandName::parse("DEMO").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        demo.settings.daily_otp_limit, 3,
        "settings came back (sealed records opened with the copied keys)"
    );
    assert_eq!(
        restored.log_records().await.len(),
        t.log_records().await.len()
    );
    assert_eq!(
        restored.validate("MOBILE", MOBILE, &session, &otp).await.0,
        200,
        "the session and its code came back"
    );
    // The counter came back: 1 of 3 used.
    restored.clock.advance(std::time::Duration::from_secs(31));
    let s2 = restored.session("MOBILE", MOBILE).await;
    assert_eq!(restored.generate("MOBILE", MOBILE, &s2).await.0, 200);
    restored.clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(restored.generate("MOBILE", MOBILE, &s2).await.0, 200);
    restored.clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(
        code(&restored.generate("MOBILE", MOBILE, &s2).await.1),
        1534
    );

    // Not into a directory that already holds a store.
    let out = restore(new_dir.path(), &file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a store"));

    // A truncated file is refused and leaves nothing behind.
    let bytes = std::fs::read(&file).unwrap();
    let cut = scratch.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = restore(empty.path(), &cut);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!empty.path().join("store").exists());
    assert_eq!(
        std::fs::read_dir(empty.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != otpd::secrets::KEY_FILE)
            .count(),
        0
    );
}
