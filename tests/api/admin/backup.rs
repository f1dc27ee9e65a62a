//! `otpd backup` from a running server and `otpd restore` into a new data directory or an empty
//! PostgreSQL database: a backup from either store restores into either.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{App, stderr, wrap};
use crate::helpers::{
    MOBILE, TestApp, code, fresh_database, postgres_server, spawn_app, spawn_as_configured,
    spawn_with, test_config,
};

/// A customer with an own limit, apart from the one that gets codes.
const OTHER: &str = "MOBILE:84900000001";

/// What a server held when it was backed up, to find again after a restore.
struct Held {
    session: String,
    otp: String,
    log_records: usize,
    audit: Vec<Value>,
}

/// Gives the server a brand setting, an own limit, an issued code (its session, usage, log
/// record and delivery) and the audit entries those wrote.
async fn fill(app: &App) -> Held {
    let (status, _) = app
        .call(
            Method::PATCH,
            "/brands/DEMO",
            Some(json!({"dailyOtpLimit": 3})),
        )
        .await;
    assert_eq!(status, 200);
    let path = format!("/brands/DEMO/limits/{OTHER}");
    let (status, _) = app
        .call(Method::PUT, &path, Some(json!({"limit": 5})))
        .await;
    assert_eq!(status, 200);
    let t = &app.inner;
    let session = t.session("MOBILE", MOBILE).await;
    assert_eq!(t.generate("MOBILE", MOBILE, &session).await.0, 200);
    let otp = t.code_sent_to(MOBILE, 0).await;
    Held {
        session,
        otp,
        log_records: t.log_records().await.len(),
        audit: audit_actions(app).await,
    }
}

async fn audit_actions(app: &App) -> Vec<Value> {
    let (_, audit) = app.call(Method::GET, "/audit", None).await;
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["action"], e["actor"], e["brand"], e["after"]]))
        .collect()
}

/// Everything `fill` made is on `restored`: the sealed brand opened, the own limit, the log,
/// the audit trail, the code (it validates) and the customer's count (1 of 3 used).
async fn assert_holds(restored: &App, held: &Held, clock_from: &TestApp) {
    let r = &restored.inner;
    r.clock.set(clock_from.clock.now());
    let (_, demo) = restored.call(Method::GET, "/brands/DEMO", None).await;
    assert_eq!(demo["settings"]["dailyOtpLimit"], 3, "{demo}");
    let (_, own) = restored
        .call(Method::GET, &format!("/brands/DEMO/limits/{OTHER}"), None)
        .await;
    assert_eq!(own["overrideLimit"], 5, "{own}");
    assert_eq!(r.log_records().await.len(), held.log_records);
    assert_eq!(audit_actions(restored).await, held.audit);
    assert_eq!(
        r.validate("MOBILE", MOBILE, &held.session, &held.otp)
            .await
            .0,
        200,
        "the session and its code came back"
    );
    let s2 = r.session("MOBILE", MOBILE).await;
    for _ in 0..2 {
        r.clock.advance(std::time::Duration::from_secs(31));
        assert_eq!(r.generate("MOBILE", MOBILE, &s2).await.0, 200);
    }
    r.clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(
        code(&r.generate("MOBILE", MOBILE, &s2).await.1),
        1534,
        "the day's count came back"
    );
}

fn restore(data_dir: &Path, file: &Path, to: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_otpd"));
    cmd.args(["--data-dir", data_dir.to_str().unwrap(), "restore"]);
    if let Some(url) = to {
        cmd.args(["--to", url]);
    }
    cmd.arg(file)
        .env_remove("OTPD_SERVER_KEYS")
        .output()
        .unwrap()
}

async fn backup(app: &App, file: &Path) {
    let out = app.cli(&["backup", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

fn copy_keys(from: &App, to: &Path) {
    std::fs::copy(
        from.dir.path().join(otpd::secrets::KEY_FILE),
        to.join(otpd::secrets::KEY_FILE),
    )
    .unwrap();
}

fn entries_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn a_backup_restores_into_a_new_data_directory_with_everything_in_it() {
    let app = wrap(spawn_app().await);
    let held = fill(&app).await;
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("otpd.backup");
    backup(&app, &file).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"OTPD-BACKUP 2\n"));
    assert!(
        !bytes
            .windows(held.otp.len())
            .any(|w| w == held.otp.as_bytes()),
        "no code in the backup"
    );

    // Without the backed-up server's keys the restore says what to copy, and leaves nothing.
    let new_dir = Arc::new(tempfile::tempdir().unwrap());
    let out = restore(new_dir.path(), &file, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("copy its server-keys.json"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries_in(new_dir.path()), Vec::<String>::new());
    // With another server's keys the brands do not open, and it says so.
    std::fs::write(
        new_dir.path().join(otpd::secrets::KEY_FILE),
        otpd::secrets::ServerKeys::new_key_file(1).unwrap(),
    )
    .unwrap();
    let out = restore(new_dir.path(), &file, None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("server keys"), "{}", stderr(&out));
    assert_eq!(entries_in(new_dir.path()), [otpd::secrets::KEY_FILE]);

    copy_keys(&app, new_dir.path());
    let out = restore(new_dir.path(), &file, None);
    assert!(out.status.success(), "{}", stderr(&out));
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
    // Its manifest came along: the first start already guards what was restored.
    assert!(new_dir.path().join("store-manifest.json").exists());
    let restored =
        wrap(spawn_as_configured(test_config(new_dir.path().to_path_buf()), new_dir.clone()).await);
    assert_holds(&restored, &held, &app.inner).await;

    // Not into a directory that already holds a store.
    let out = restore(new_dir.path(), &file, None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already holds a store"));

    // A truncated file is refused and leaves nothing behind.
    let cut = scratch.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let empty = tempfile::tempdir().unwrap();
    copy_keys(&app, empty.path());
    let out = restore(empty.path(), &cut, None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
    assert_eq!(entries_in(empty.path()), [otpd::secrets::KEY_FILE]);
}

/// Embedded → file → PostgreSQL, and PostgreSQL → file → embedded. Needs a PostgreSQL server
/// (`OTPD_TEST_PG`, as `scripts/test-postgres.sh` sets it).
#[tokio::test]
async fn a_backup_moves_between_the_embedded_store_and_postgresql_both_ways() {
    let Some(server) = postgres_server() else {
        eprintln!("not run: needs a PostgreSQL server (scripts/test-postgres.sh runs it)");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let embedded_dir = Arc::new(tempfile::tempdir().unwrap());
    let embedded = wrap(
        spawn_as_configured(
            test_config(embedded_dir.path().to_path_buf()),
            embedded_dir.clone(),
        )
        .await,
    );
    let held = fill(&embedded).await;
    let file = scratch.path().join("embedded.backup");
    backup(&embedded, &file).await;

    // A truncated file writes nothing into the database: the good one restores after it.
    let url = fresh_database(&server).await;
    let bytes = std::fs::read(&file).unwrap();
    let cut = scratch.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let out = restore(embedded.dir.path(), &cut, Some(&url));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));

    // Into an empty database: a node on it holds everything.
    let out = restore(embedded.dir.path(), &file, Some(&url));
    assert!(out.status.success(), "{}", stderr(&out));
    let pg_dir = Arc::new(tempfile::tempdir().unwrap());
    copy_keys(&embedded, pg_dir.path());
    let mut config = test_config(pg_dir.path().to_path_buf());
    config.store_url = Some(otpd::domain::channel::Secret::new(url.clone()));
    let on_pg = wrap(spawn_with(config, pg_dir.clone()).await);
    // Backed up before it is used, to carry the same state back.
    let back = scratch.path().join("postgres.backup");
    backup(&on_pg, &back).await;
    assert_holds(&on_pg, &held, &embedded.inner).await;

    // Not into a database that holds brands already.
    let out = restore(embedded.dir.path(), &file, Some(&url));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));

    // And back into a data directory.
    let back_dir = Arc::new(tempfile::tempdir().unwrap());
    copy_keys(&embedded, back_dir.path());
    let out = restore(back_dir.path(), &back, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = wrap(
        spawn_as_configured(test_config(back_dir.path().to_path_buf()), back_dir.clone()).await,
    );
    assert_holds(&again, &held, &embedded.inner).await;
}

/// A backup written before backups were logical (format 1: the embedded store's trees, byte
/// for byte, framed as `Entry { tree, key, value }` … `End { entries }`) still restores into
/// a data directory, without keys.
#[tokio::test]
async fn a_format_1_backup_from_an_earlier_otpd_still_restores() {
    #[derive(serde::Serialize)]
    enum Frame {
        Entry {
            tree: String,
            key: Vec<u8>,
            value: Vec<u8>,
        },
        End {
            entries: u64,
        },
    }
    fn frame(out: &mut Vec<u8>, f: &Frame) {
        let bytes = postcard::to_stdvec(f).unwrap();
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = wrap(spawn_as_configured(test_config(dir.path().to_path_buf()), dir.clone()).await);
    let held = fill(&app).await;
    let mut file = b"OTPD-BACKUP 1\n".to_vec();
    let mut entries = 0;
    for (tree, records) in app.inner.services().store.raw_records().await.unwrap() {
        if tree.starts_with("__sled__") {
            continue; // sled's own default tree: never backed up
        }
        for (key, value) in records {
            frame(
                &mut file,
                &Frame::Entry {
                    tree: tree.clone(),
                    key,
                    value,
                },
            );
            entries += 1;
        }
    }
    frame(&mut file, &Frame::End { entries });
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("old.backup");
    std::fs::write(&path, file).unwrap();

    if let Some(server) = postgres_server() {
        let out = restore(scratch.path(), &path, Some(&fresh_database(&server).await));
        assert!(!out.status.success());
        assert!(stderr(&out).contains("otpd migrate"), "{}", stderr(&out));
    }
    let new_dir = Arc::new(tempfile::tempdir().unwrap());
    let out = restore(new_dir.path(), &path, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("copy server-keys.json"));
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
    copy_keys(&app, new_dir.path());
    let restored =
        wrap(spawn_as_configured(test_config(new_dir.path().to_path_buf()), new_dir.clone()).await);
    assert_holds(&restored, &held, &app.inner).await;
}
