//! Transport hardening: header-read timeout, load shedding, admin authentication.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(dir.path().to_path_buf());
    config.header_read_timeout_seconds = 1;
    let app = spawn_with(config, dir).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /auth/v1/token/generate HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_are_shed_with_503() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(dir.path().to_path_buf());
    config.max_concurrent_requests = 1;
    config.request_timeout_seconds = 3;
    let app = spawn_with(config, dir).await;
    // A request that never sends its body holds the only slot.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"POST /auth/v1/token/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").await.unwrap();
    // Once the stalled request is inside the server, the next one is shed.
    let mut r = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    for _ in 0..40 {
        if r.status() == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        r = app
            .client
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"]["success"], false);
    // The held request times out; then the server answers again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        app.client
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    drop(slow);
}

#[tokio::test]
async fn the_admin_api_needs_the_token() {
    let app = spawn_app().await;
    let server = app.server.as_ref().unwrap();
    let url = format!("http://{}/admin/api/brands", server.admin_addr);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let ok = app
        .client
        .get(&url)
        .bearer_auth(&*server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let on_disk =
        std::fs::read_to_string(app.config.data_dir.join(otpd::ADMIN_TOKEN_FILE)).unwrap();
    assert_eq!(on_disk, &*server.admin_token);
}
