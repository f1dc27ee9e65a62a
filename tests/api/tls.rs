//! TLS on both listeners without a proxy: HTTPS with a self-signed certificate, the console's
//! cookie `Secure` over it, and a reload (what SIGHUP does) that new connections see while an
//! open connection goes on; a bad pair at reload keeps the old one, and at start is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{captured_logs, test_config};

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files in `dir`.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, reqwest::Certificate) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let trusted = reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap();
    (cert, key, trusted)
}

/// A client that trusts only `cert` (and keeps connections open for reuse).
fn client_trusting(cert: &reqwest::Certificate) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([cert.clone()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn both_listeners_serve_https_and_reload_their_certificate() {
    captured_logs();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let (cert, key, first) = certificate(dir.path(), "server");
    let mut config = test_config(dir.path().join("data"));
    config.public_tls_cert = Some(cert.clone());
    config.public_tls_key = Some(key.clone());
    config.admin_tls_cert = Some(cert.clone());
    config.admin_tls_key = Some(key.clone());
    let server = otpd::run(config, otpd::RunOptions::default())
        .await
        .unwrap();
    let public = format!("https://{}", server.public_addr.unwrap());
    let admin = format!("https://{}", server.admin_addr);

    // The public API over HTTPS; plain HTTP gets no answer.
    let client = client_trusting(&first);
    let ready = client
        .get(format!("{public}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let token: Value = client
        .post(format!("{public}/auth/v1/token/generate"))
        .json(&json!({"identifierType": "MOBILE", "identifierValue": "84901234567", "brand": "DEMO", "deviceId": "d"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["status"]["code"], 200, "{token}");
    let plain = reqwest::get(format!(
        "http://{}/health/ready",
        server.public_addr.unwrap()
    ))
    .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // The admin listener: the CLI finds https in admin.url and the certificate beside it; the
    // console's session cookie is Secure.
    let data = dir.path().join("data");
    assert!(
        std::fs::read_to_string(data.join(otpd::ADMIN_URL_FILE))
            .unwrap()
            .starts_with("https://")
    );
    let brands = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["--data-dir", data.to_str().unwrap(), "brand", "list"])
        .env_remove("OTPD_ADMIN_URL")
        .env_remove("OTPD_ADMIN_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(
        brands.status.success(),
        "{}",
        String::from_utf8_lossy(&brands.stderr)
    );
    assert!(String::from_utf8_lossy(&brands.stdout).contains("DEMO"));
    let added = client
        .post(format!("{admin}/admin/api/operators"))
        .bearer_auth(&*server.admin_token)
        .json(&json!({"name": "alice", "role": "admin", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let login = client
        .post(format!("{admin}/admin/api/auth/login"))
        .json(&json!({"name": "alice", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // A new certificate in the same files, then a reload: the open connection goes on; new
    // connections get the new certificate.
    let (_, _, second) = {
        let made = certificate(dir.path(), "next");
        std::fs::copy(&made.0, &cert).unwrap();
        std::fs::copy(&made.1, &key).unwrap();
        made
    };
    assert_eq!(server.reload_tls().unwrap(), 2);
    let again = client
        .get(format!("{public}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the pooled connection was not dropped"
    );
    let fresh_old = client_trusting(&first)
        .get(format!("{public}/health/ready"))
        .send()
        .await;
    assert!(
        fresh_old.is_err(),
        "a new connection gets the new certificate"
    );
    let fresh_new = client_trusting(&second)
        .get(format!("{admin}/admin/api/health"))
        .bearer_auth(&*server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh_new.status(), StatusCode::OK);
    let copied = std::fs::read(data.join(otpd::ADMIN_CERT_FILE)).unwrap();
    assert_eq!(
        copied,
        std::fs::read(&cert).unwrap(),
        "the CLI's copy follows the reload"
    );

    // A broken key at reload: an error naming it, and the certificate in use stays.
    std::fs::write(&key, "not a key").unwrap();
    let err = server.reload_tls().unwrap_err().to_string();
    assert!(
        err.contains("server.key") && err.contains("previous certificate"),
        "{err}"
    );
    let still = client_trusting(&second)
        .get(format!("{public}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bad_certificate_pair_stops_the_start_with_its_file_named() {
    captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, _) = certificate(dir.path(), "one");
    let (_, other_key, _) = certificate(dir.path(), "two");
    let mut config = test_config(dir.path().join("data"));
    config.public_tls_cert = Some(cert.clone());
    config.public_tls_key = Some(other_key);
    let err = otpd::run(config.clone(), otpd::RunOptions::default())
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("do not make a pair"), "{err:#}");

    config.public_tls_key = Some(dir.path().join("missing.key"));
    let err = otpd::run(config.clone(), otpd::RunOptions::default())
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("missing.key"), "{err:#}");

    // The store was let go each time: a good start on the same directory works.
    config.public_tls_cert = None;
    config.public_tls_key = None;
    let server = otpd::run(config, otpd::RunOptions::default())
        .await
        .unwrap();
    server.shutdown().await.unwrap();
}

#[test]
fn a_certificate_without_its_key_is_refused_in_the_config() {
    let env = |k: &str| (k == "OTPD_PUBLIC_TLS_CERT").then(|| "/etc/otpd/cert.pem".to_owned());
    let err = otpd::config::Config::load(None, env)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("publicTlsCert and publicTlsKey go together"),
        "{err}"
    );
}

/// The binary: `otpd serve` with TLS from the environment says https, and SIGHUP reloads.
#[tokio::test]
async fn sighup_reloads_the_certificate_of_a_running_otpd() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, first) = certificate(dir.path(), "server");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args([
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "serve",
        ])
        .args([
            "--public-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("OTPD_PUBLIC_TLS_CERT", &cert)
        .env("OTPD_PUBLIC_TLS_KEY", &key)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let public = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("otpd printed its addresses");
        if let Some(rest) = line.strip_prefix("otpd public API on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(public.starts_with("https://"), "{public}");
    let ready = format!("{public}/health/ready");
    let ok = client_trusting(&first).get(&ready).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let (next_cert, next_key, second) = certificate(dir.path(), "next");
    std::fs::copy(next_cert, &cert).unwrap();
    std::fs::copy(next_key, &key).unwrap();
    let pid = child.id().unwrap().to_string();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(hup.success());
    // Poll: the reload happens when the signal is handled.
    let mut served_new = false;
    for _ in 0..200 {
        if client_trusting(&second).get(&ready).send().await.is_ok() {
            served_new = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        served_new,
        "after SIGHUP new connections get the new certificate"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP does not stop otpd"
    );
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().await.unwrap().success());
}

/// TLS to PostgreSQL: the store verifies the database's certificate against the CA named by
/// `sslrootcert` (and its host name), and refuses a database whose certificate the web's roots
/// do not know. Needs `scripts/test-postgres.sh` (its cluster takes TLS with a CA of its own).
#[tokio::test]
async fn the_store_reaches_postgresql_over_verified_tls() {
    let (Some(server), Ok(root)) = (
        crate::helpers::postgres_server(),
        std::env::var("OTPD_TEST_PG_ROOT_CERT"),
    ) else {
        eprintln!("not run: needs scripts/test-postgres.sh's cluster (OTPD_TEST_PG_ROOT_CERT)");
        return;
    };
    let plain = crate::helpers::fresh_database(&server).await;
    let database = plain
        .rsplit_once('/')
        .and_then(|(_, d)| d.split('?').next())
        .unwrap()
        .to_owned();
    let keys = Arc::new(
        otpd::secrets::ServerKeys::from_json(&otpd::secrets::ServerKeys::new_key_file(1).unwrap())
            .unwrap(),
    );
    let connect = |url: String| {
        let keys = keys.clone();
        async move {
            otpd::store::Store::connect(&url, otpd::store::Durability::FlushEach, keys, 90_000)
                .await
        }
    };
    let over_tls = plain.replace(
        "sslmode=disable",
        &format!("sslmode=require&sslrootcert={root}"),
    );
    let store = connect(over_tls.clone()).await.unwrap();
    assert_eq!(store.queued_jobs().await.unwrap(), 0);
    let (client, connection) = tokio_postgres::connect(&plain, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let encrypted: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'otpd' AND a.datname = $1 AND s.ssl",
            &[&database],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted > 0, "otpd's connections are encrypted");
    store.close().await.unwrap();

    // The web's roots do not know the cluster's CA.
    let err = connect(plain.replace("sslmode=disable", "sslmode=require"))
        .await
        .err()
        .expect("an unknown CA is refused");
    assert!(err.to_string().contains("certificate"), "{err}");
    // Nor may the certificate name another host.
    let elsewhere = format!(
        "{}&hostaddr=127.0.0.1",
        over_tls.replace("127.0.0.1", "db.invalid")
    );
    let err = connect(elsewhere)
        .await
        .err()
        .expect("a certificate for another name is refused");
    assert!(err.to_string().contains("certificate"), "{err}");
    // A missing CA file is named.
    let err = connect(plain.replace(
        "sslmode=disable",
        "sslmode=require&sslrootcert=/nonexistent/ca.pem",
    ))
    .await
    .err()
    .expect("a missing CA file is an error");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}
