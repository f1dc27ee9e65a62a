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

/// Holds one of the server's request slots: a request whose body never finishes arriving.
async fn stalled_request(app: &TestApp) -> TcpStream {
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"POST /auth/v1/token/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").await.unwrap();
    slow
}

async fn token_status(app: &TestApp) -> u16 {
    let body = mobile_req("MOBILE", MOBILE, None);
    app.post("/auth/v1/token/generate", &body).await.0
}

/// Past the concurrency limit, requests are shed with 503 at once rather than queued behind
/// the ones inside; when those end, the server answers again, without waiting for timeouts.
#[tokio::test]
async fn past_the_concurrency_limit_requests_are_shed_at_once_and_service_recovers() {
    const LIMIT: usize = 4;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(dir.path().to_path_buf());
    config.max_concurrent_requests = LIMIT;
    config.request_timeout_seconds = 120; // far beyond this test: no slot frees itself
    config.client_rate_limit_per_minute = 0;
    let app = spawn_with(config, dir).await;

    let mut held = Vec::new();
    for _ in 0..LIMIT {
        held.push(stalled_request(&app).await);
    }
    // The stalled requests reach the server in their own time: poll until one is shed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while token_status(&app).await != 503 {
        assert!(Instant::now() < deadline, "the held slots never filled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A burst of 50 while every slot is held: each is answered 503 with Retry-After. Had they
    // queued, none would be answered before the held requests end, which they never do here.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = app.client.clone();
        let url = app.url("/auth/v1/token/generate");
        burst.spawn(async move {
            client
                .post(url)
                .json(&mobile_req("MOBILE", MOBILE, None))
                .send()
                .await
                .unwrap()
        });
    }
    let answers = tokio::time::timeout(Duration::from_secs(30), burst.join_all())
        .await
        .expect("shed requests are answered while the slots stay held");
    for r in answers {
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"]["success"], false);
    }

    // The load drops: the held clients go away, their slots free, and requests succeed.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while token_status(&app).await != 200 {
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A request whose client has gone on runs to its end (see `a_batch_dropped_part_way_…`), and
/// keeps its slot until then: with every slot held by such work, the next request is shed at
/// once instead of piling more work behind it; when the work ends, it is all done and service
/// resumes. Needs PostgreSQL: the test holds the requests' work with a lock on the sessions.
#[tokio::test]
async fn work_whose_client_left_keeps_its_slot_until_it_ends() {
    const LIMIT: usize = 3;
    let Some(server) = postgres_server() else {
        eprintln!("not run: needs PostgreSQL (scripts/test-postgres.sh), whose locks hold work");
        return;
    };
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(dir.path().to_path_buf());
    config.max_concurrent_requests = LIMIT;
    config.request_timeout_seconds = 120; // far beyond this test
    let database = fresh_database(&server).await;
    config.store_url = Some(otpd::domain::channel::Secret::new(database.clone()));
    let app = spawn_with(config, dir).await;
    let (db, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let waiting_on_locks = async || -> i64 {
        db.query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    };

    // No session can be written while the test holds this lock.
    db.batch_execute("BEGIN; LOCK TABLE sessions IN SHARE MODE")
        .await
        .unwrap();
    for i in 0..LIMIT {
        let gone = app
            .client
            .post(app.url("/auth/v1/token/generate"))
            .json(&mobile_req("MOBILE", &format!("8490100000{i}"), None))
            .timeout(Duration::from_millis(300))
            .send()
            .await;
        assert!(gone.is_err_and(|e| e.is_timeout()), "request {i} was held");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting_on_locks().await < LIMIT as i64 {
        assert!(
            Instant::now() < deadline,
            "the clients' work is not waiting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Every slot is held by work whose client has left: shed at once, not queued behind it.
    let shed = app
        .client
        .post(app.url("/auth/v1/token/generate"))
        .json(&mobile_req("MOBILE", MOBILE, None))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("answered while the slots stay held");
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");

    // The work ends: each left-behind session is written, and requests succeed again.
    db.batch_execute("COMMIT").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let sessions = async || -> i64 {
        let row = db.query_one("SELECT count(*) FROM sessions", &[]).await;
        row.unwrap().get(0)
    };
    while sessions().await < LIMIT as i64 {
        assert!(
            Instant::now() < deadline,
            "the left-behind work did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while token_status(&app).await != 200 {
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sessions().await, LIMIT as i64 + 1);
}

/// A batch runs to its end even when its request is dropped part-way (the request timeout, or
/// a client gone): all 100 sessions of a 100-item batch exist, never a part of them.
#[tokio::test]
async fn a_batch_dropped_part_way_still_runs_to_its_end() {
    use tower::ServiceExt;
    let app = spawn_app().await;
    let services = app.server.as_ref().unwrap().services.clone();
    let sessions_before = session_count(&services).await;
    let batch: Vec<serde_json::Value> = (0..100)
        .map(|i| mobile_req("MOBILE", &format!("849012{i:05}"), None))
        .collect();
    let request = axum::http::Request::post("/auth/v1/token/generate")
        .header("content-type", "application/json")
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            9,
        ))))
        .body(axum::body::Body::from(serde_json::to_vec(&batch).unwrap()))
        .unwrap();
    let router = otpd::http::public_router(services.clone());
    // Polled once, then dropped, as a timeout would: the first item has not been flushed yet.
    let answered = tokio::time::timeout(Duration::ZERO, router.oneshot(request)).await;
    assert!(
        answered.is_err(),
        "the batch was still running when dropped"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    while session_count(&services).await < sessions_before + 100 {
        assert!(
            Instant::now() < deadline,
            "the dropped batch stopped part-way"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn session_count(services: &otpd::service::Services) -> usize {
    services
        .store
        .raw_records()
        .await
        .unwrap()
        .into_iter()
        .find(|(tree, _)| tree == "sessions")
        .map_or(0, |(_, entries)| entries.len())
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
