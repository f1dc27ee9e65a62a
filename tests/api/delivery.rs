//! Delivery end to end, through the outbox: e-mail through a real SMTP server (aiosmtpd) and
//! back through otp/validate; an HTTP SMS gateway that fails, retries, fails over and expires;
//! a provider that never answers does not slow the API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otpd::domain::stats::Counter;
use otpd::domain::{ChannelConfig, ChannelKind, DeliveryStatus, IssuanceRecord};
use serde_json::json;

use crate::helpers::*;

const INSTALL_HINT: &str = "the e-mail tests need aiosmtpd: apt-get install -y python3-aiosmtpd \
                            (or set OTPD_TEST_PYTHON to a python with aiosmtpd)";

/// A real SMTP server on loopback that writes each message it accepts to a file.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let python =
            std::env::var("OTPD_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/delivery/testdata/smtp_sink.py");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mail")).unwrap();
        let port = free_port();
        let child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(INSTALL_HINT);
        let mut sink = Self { child, port, dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return sink;
            }
            if let Ok(Some(_)) = sink.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = sink.child.kill();
        let _ = sink.child.wait();
        panic!("the SMTP server did not start; {INSTALL_HINT}");
    }

    /// The messages received so far, as the sink wrote them (headers, then text parts).
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
        let tail: String = logs.lines().rev().take(15).collect::<Vec<_>>().join("\n");
        panic!(
            "the SMTP server received {} messages, expected {n}; server log (newest first):\n{tail}",
            self.messages().len()
        );
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A local SMS gateway: records every request and answers with the status it is set to.
/// A test that holds `hold` for writing keeps every answer waiting until it lets go.
#[derive(Clone)]
pub struct Gateway {
    pub url: String,
    pub status: Arc<AtomicU16>,
    pub requests: Arc<Mutex<Vec<serde_json::Value>>>,
    pub hold: Arc<tokio::sync::RwLock<()>>,
}

impl Gateway {
    pub async fn start(status: u16) -> Self {
        let gateway = Self {
            url: String::new(),
            status: Arc::new(AtomicU16::new(status)),
            requests: Arc::default(),
            hold: Arc::default(),
        };
        let g = gateway.clone();
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let g = g.clone();
                async move {
                    let _answer = g.hold.read().await;
                    let status = g.status.load(Ordering::SeqCst);
                    if status == 200 {
                        g.requests.lock().unwrap().push(body.0);
                    }
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        axum::Json(json!({"id": "msg-1"})),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/send"),
            ..gateway
        }
    }

    /// An `SMS` channel (generic HTTP provider) that sends to this gateway.
    pub fn sms_channel(&self) -> ChannelConfig {
        channel(
            ChannelKind::Sms,
            &[("provider", "http"), ("url", &self.url)],
        )
    }

    pub fn received(&self) -> Vec<serde_json::Value> {
        self.requests.lock().unwrap().clone()
    }
}

pub fn channel(kind: ChannelKind, settings: &[(&str, &str)]) -> ChannelConfig {
    let map: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ChannelConfig::from_settings(kind, &map, None).unwrap()
}

/// The log record of the only OTP issued to `identifier`, once its delivery is final.
async fn final_record(app: &TestApp, identifier: &str) -> IssuanceRecord {
    for _ in 0..400 {
        let records = app.log_records().await;
        if let Some(r) = records
            .iter()
            .find(|r| r.identifier == identifier && r.outcome == 200)
            && r.delivery.is_final()
        {
            return r.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "no final delivery for {identifier}: {:?}",
        app.log_records().await
    );
}

fn six_digits(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_email_code_travels_through_a_real_smtp_server_and_validates() {
    let sink = SmtpSink::start().await;
    let app = spawn_app().await;
    let port = sink.port.to_string();
    app.update_brand("DEMO", |b| {
        b.channels.insert(
            ChannelKind::Email,
            channel(
                ChannelKind::Email,
                &[
                    ("provider", "smtp"),
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("tls", "none"),
                    ("from", "otp@demo.test"),
                    ("fromName", "Demo Login"),
                ],
            ),
        );
    })
    .await;
    let id = "jane@example.com";
    let session = app.session("EMAIL", id).await;
    assert_eq!(app.generate("EMAIL", id, &session).await.0, 200);

    let mail = &sink.wait_for(1).await[0];
    assert!(mail.contains("X-RcptTo: jane@example.com"), "{mail}");
    assert!(mail.contains("From: Demo Login <otp@demo.test>"), "{mail}");
    assert!(
        mail.contains("Subject: Your DEMO verification code"),
        "{mail}"
    );
    let text = mail.split("== text/plain ==").nth(1).unwrap();
    let otp = six_digits(text);
    assert!(
        mail.contains("== text/html ==") && mail.contains(&format!("<b>{otp}</b>")),
        "{mail}"
    );

    let (status, body) = app.validate("EMAIL", id, &session, &otp).await;
    assert_eq!(status, 200, "{body}");
    let record = final_record(&app, id).await;
    assert_eq!(record.delivery, DeliveryStatus::Sent);
    assert_eq!(record.channel, Some(ChannelKind::Email));
    assert!(record.validated);
    assert_eq!(record.attempts.len(), 1);
    assert!(record.attempts[0].ok);
    assert_eq!(
        app.services().store.queued_jobs().await.unwrap(),
        0,
        "the job and its sealed code are gone"
    );
}

#[tokio::test]
async fn a_provider_that_never_answers_does_not_slow_generate_and_the_code_expires() {
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.settings.otp_ttl_seconds = 60;
        b.channels.insert(
            ChannelKind::Email,
            channel(
                ChannelKind::Email,
                &[
                    ("provider", "smtp"),
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("tls", "none"),
                    ("from", "otp@demo.test"),
                    ("timeoutSeconds", "1"),
                ],
            ),
        );
    })
    .await;
    // For comparison: the same request to a channel that answers at once.
    let quick = app.session("MOBILE", MOBILE).await;
    let started = Instant::now();
    assert_eq!(app.generate("MOBILE", MOBILE, &quick).await.0, 200);
    let baseline = started.elapsed();

    let id = "slow@example.com";
    let session = app.session("EMAIL", id).await;
    let started = Instant::now();
    assert_eq!(app.generate("EMAIL", id, &session).await.0, 200);
    let with_dead_provider = started.elapsed();
    // The answer does not wait for the provider (its timeout alone is a full second).
    assert!(
        with_dead_provider < baseline + Duration::from_millis(500),
        "{with_dead_provider:?} vs {baseline:?}"
    );

    // The first try times out; its retry is due after the code's death: EXPIRED, never sent.
    for _ in 0..200 {
        let r = app
            .log_records()
            .await
            .into_iter()
            .find(|r| r.identifier == id)
            .unwrap();
        if !r.attempts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    app.clock.advance(Duration::from_secs(61));
    let record = final_record(&app, id).await;
    assert_eq!(record.delivery, DeliveryStatus::Expired);
    assert!(!record.attempts[0].ok);
    assert!(
        record.attempts[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("temporary"),
        "{:?}",
        record.attempts
    );
    assert_eq!(app.services().store.queued_jobs().await.unwrap(), 0);
}

#[tokio::test]
async fn temporary_failures_are_retried_with_backoff_until_the_provider_answers() {
    let gateway = Gateway::start(503).await;
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.channels.insert(ChannelKind::Sms, gateway.sms_channel());
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    // Each failed try is recorded; the next one waits for the backoff on the server's clock.
    for tries in 1..=2 {
        for _ in 0..200 {
            if app.log_records().await[0].attempts.len() >= tries {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(app.log_records().await[0].attempts.len(), tries);
        assert_eq!(app.log_records().await[0].delivery, DeliveryStatus::Queued);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            app.log_records().await[0].attempts.len(),
            tries,
            "no retry before the backoff"
        );
        app.clock.advance(Duration::from_secs(4));
    }
    gateway.status.store(200, Ordering::SeqCst);
    let record = final_record(&app, "84901234567").await;
    assert_eq!(record.delivery, DeliveryStatus::Sent);
    assert_eq!(
        record.attempts.iter().map(|a| a.ok).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(
        record.attempts[0]
            .error
            .as_deref()
            .map(|e| e.contains("503")),
        Some(true),
        "{:?}",
        record.attempts
    );
    let sent = gateway.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "+84901234567");
    let message = sent[0]["message"].as_str().unwrap();
    assert!(
        message.ends_with("is your DEMO code. It expires in 10 minutes. Do not share it."),
        "{message}"
    );
    let otp = six_digits(message);
    assert_eq!(app.validate("MOBILE", MOBILE, &session, &otp).await.0, 200);
}

#[tokio::test]
async fn a_retry_that_would_come_after_the_code_expires_ends_the_job() {
    let gateway = Gateway::start(503).await;
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.channels.insert(ChannelKind::Sms, gateway.sms_channel());
        b.settings.otp_ttl_seconds = 60;
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    for _ in 0..200 {
        if !app.log_records().await[0].attempts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The retry runs a second before the code expires and fails too; the next one would come
    // after the code is dead, so the job ends there.
    app.clock.advance(Duration::from_secs(59));
    let record = final_record(&app, "84901234567").await;
    assert_eq!(record.delivery, DeliveryStatus::Expired);
    assert_eq!(record.attempts.len(), 2, "{:?}", record.attempts);
    // The job is gone with its code, not left due under its old time to be sent again.
    assert_eq!(app.services().store.queued_jobs().await.unwrap(), 0);
}

#[tokio::test]
async fn a_rejected_message_moves_to_the_next_fallback_channel() {
    let gateway = Gateway::start(400).await;
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.channels.insert(ChannelKind::Sms, gateway.sms_channel());
        // WHATSAPP stays on the LOG sink, which the tests capture.
        b.settings.fallback_channels = vec![ChannelKind::Whatsapp];
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    let otp = app.code_sent_to(MOBILE, 0).await;
    let record = final_record(&app, "84901234567").await;
    assert_eq!(record.delivery, DeliveryStatus::Sent);
    assert_eq!(record.channel, Some(ChannelKind::Whatsapp));
    let tried: Vec<_> = record.attempts.iter().map(|a| (a.channel, a.ok)).collect();
    assert_eq!(
        tried,
        [(ChannelKind::Sms, false), (ChannelKind::Whatsapp, true)],
        "a 400 is not retried"
    );
    assert_eq!(app.capture.all()[0].channel, ChannelKind::Whatsapp);
    assert_eq!(app.validate("MOBILE", MOBILE, &session, &otp).await.0, 200);
}

#[tokio::test]
async fn a_rejected_message_with_no_fallback_fails() {
    let gateway = Gateway::start(401).await;
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.channels.insert(ChannelKind::Sms, gateway.sms_channel());
    })
    .await;
    let session = app.session("MOBILE", MOBILE).await;
    assert_eq!(app.generate("MOBILE", MOBILE, &session).await.0, 200);
    let record = final_record(&app, "84901234567").await;
    assert_eq!(record.delivery, DeliveryStatus::Failed);
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(app.services().store.queued_jobs().await.unwrap(), 0);
}

#[tokio::test]
async fn deliveries_that_end_together_are_each_recorded_and_counted_once() {
    // The gateway holds its answers until every code is issued: the sends then end at once,
    // and the outbox ends their jobs together. Each record still gets its own end, each code
    // is sent once, the outbox empties and the dashboard counts every delivery once.
    const CODES: usize = 40;
    let gateway = Gateway::start(200).await;
    let app = spawn_app().await;
    app.update_brand("DEMO", |b| {
        b.channels.insert(ChannelKind::Sms, gateway.sms_channel());
    })
    .await;
    let customers: Vec<String> = (0..CODES).map(|i| format!("849012{i:05}")).collect();
    let held = gateway.hold.write().await;
    for customer in &customers {
        let session = app.session("MOBILE", customer).await;
        assert_eq!(app.generate("MOBILE", customer, &session).await.0, 200);
    }
    drop(held);
    for customer in &customers {
        let record = final_record(&app, customer).await;
        assert_eq!(record.delivery, DeliveryStatus::Sent, "{customer}");
        assert_eq!(record.channel, Some(ChannelKind::Sms), "{customer}");
        assert_eq!(
            record.attempts.len(),
            1,
            "{customer}: {:?}",
            record.attempts
        );
        assert!(record.attempts[0].ok, "{customer}");
    }
    assert_eq!(gateway.received().len(), CODES, "each code sent once");
    assert_eq!(app.services().store.queued_jobs().await.unwrap(), 0);
    let hour = u32::try_from(app.services().clock.now_ms() / 3_600_000).unwrap();
    let sent: u64 = app
        .services()
        .store
        .stats(hour - 1, hour + 1)
        .await
        .unwrap()
        .iter()
        .filter(|row| row.brand == "DEMO" && row.counter == Counter::Sent(ChannelKind::Sms))
        .map(|row| row.count)
        .sum();
    assert_eq!(sent, CODES as u64, "the dashboard's sent count");
}

/// On PostgreSQL the outbox worker ends the jobs that finished meanwhile in one transaction:
/// each job goes, a readable record takes its last step and counts, a record swept meanwhile
/// leaves its job ended, and an unreadable one is left as it is and reported after the rest.
#[tokio::test]
async fn postgresql_ends_a_batch_of_jobs_whatever_their_records() {
    let Some(server) = postgres_server() else {
        eprintln!("not run on the embedded store: tests PostgreSQL's batched finish");
        return;
    };
    let (app, db) = spawn_on_fresh_database(&server).await;
    let store = &app.services().store;
    // Every first try fails: the jobs wait in the outbox for their retry (on the test's clock).
    app.capture.failing.store(true, Ordering::SeqCst);
    let customers = ["84903000001", "84903000002", "84903000003"];
    for customer in customers {
        let session = app.session("MOBILE", customer).await;
        assert_eq!(app.generate("MOBILE", customer, &session).await.0, 200);
    }
    let mut records = Vec::new();
    for _ in 0..500 {
        records = app.log_records().await;
        if records.iter().filter(|r| r.attempts.len() == 1).count() == customers.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(records.iter().all(|r| r.attempts.len() == 1), "{records:?}");
    // The test claims them, as a worker would once they are due.
    let jobs = store
        .claim_jobs(app.clock.now_ms() + 120_000, 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), customers.len());
    let (kept, swept, damaged) = (jobs[0].log_id, jobs[1].log_id, jobs[2].log_id);
    db.execute("DELETE FROM issuance_log WHERE id = $1", &[&swept])
        .await
        .unwrap();
    db.execute(
        "UPDATE issuance_log SET body = '\\x00'::bytea WHERE id = $1",
        &[&damaged],
    )
    .await
    .unwrap();

    let now = app.clock.now_ms();
    let done: Vec<_> = jobs
        .into_iter()
        .map(|job| otpd::store::Finished {
            attempt: Some(otpd::domain::DeliveryAttempt {
                time_ms: now,
                channel: job.channel,
                ok: true,
                provider_status: Some("sent".into()),
                error: None,
            }),
            job,
            status: DeliveryStatus::Sent,
        })
        .collect();
    let ended = store.finish_deliveries(&done, now).await;
    assert!(ended.is_err(), "the unreadable record is reported");

    assert_eq!(store.queued_jobs().await.unwrap(), 0, "every job ended");
    let record = store.log_record(kept).await.unwrap().unwrap();
    assert_eq!(record.delivery, DeliveryStatus::Sent);
    assert_eq!(record.attempts.len(), 2);
    assert!(store.log_record(swept).await.unwrap().is_none());
    let body: Vec<u8> = db
        .query_one("SELECT body FROM issuance_log WHERE id = $1", &[&damaged])
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, [0], "the unreadable record is left as it was");
    let hour = u32::try_from(now / 3_600_000).unwrap();
    let sent: u64 = store
        .stats(hour - 1, hour + 1)
        .await
        .unwrap()
        .iter()
        .filter(|row| row.counter == Counter::Sent(ChannelKind::Sms))
        .map(|row| row.count)
        .sum();
    assert_eq!(sent, 1, "the readable record's delivery counts once");
}
