//! E-mail through an SMTP server: TLS none / STARTTLS (required, never downgraded) / implicit
//! TLS, optional AUTH, pooled connections per sender (`connection.rs`: our own sockets, with
//! `TCP_NODELAY`), a timeout on the whole send. Text-only, or text + HTML as
//! multipart/alternative; lettre builds the message and speaks SMTP.

mod connection;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, Message};

use connection::{ConnError, Pool};

use super::http_client::provider_text;
use super::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender};
use crate::domain::Destination;
use crate::domain::channel::SmtpConfig;

/// Connections kept open per SMTP channel unless [`SmtpSender::pool_size`] says otherwise
/// (the default `deliveryWorkers`).
pub const DEFAULT_POOL: u32 = 16;

pub struct SmtpSender {
    config: SmtpConfig,
    pool: Pool,
}

impl SmtpSender {
    pub fn new(config: SmtpConfig) -> Self {
        Self {
            pool: Pool::new(config.clone(), DEFAULT_POOL as usize),
            config,
        }
    }

    /// How many connections to keep open: as many as sends run at once.
    #[must_use]
    pub fn pool_size(self, connections: u32) -> Self {
        let connections = usize::try_from(connections.max(1)).unwrap_or(usize::MAX);
        Self {
            pool: Pool::new(self.config.clone(), connections),
            config: self.config,
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_seconds.into())
    }

    fn message(&self, msg: &OutgoingMessage<'_>) -> Result<Message, SendError> {
        let c = &self.config;
        let Destination::Email(address) = msg.to else {
            return Err(SendError::Permanent(
                "EMAIL needs an e-mail address, not a phone number".into(),
            ));
        };
        let to: Address = address.parse().map_err(|_| {
            SendError::Permanent("the destination is not a valid e-mail address".into())
        })?;
        let from: Address = c
            .from
            .parse()
            .map_err(|_| SendError::Permanent("from: not a valid e-mail address".into()))?;
        let subject = msg
            .rendered
            .subject
            .clone()
            .unwrap_or_else(|| format!("Your {} verification code", msg.brand));
        let builder = Message::builder()
            .from(Mailbox::new(c.from_name.clone(), from))
            .to(Mailbox::new(None, to))
            .subject(subject);
        let built = match &msg.rendered.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                msg.rendered.text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(msg.rendered.text.clone()),
        };
        // lettre's message errors name a header or address problem, never the body.
        built.map_err(|e| SendError::Permanent(format!("the message could not be built: {e}")))
    }

    async fn deliver(&self, msg: &OutgoingMessage<'_>) -> Result<SendReceipt, SendError> {
        let message = self.message(msg)?;
        let server = format!("{}:{}", self.config.host, self.config.port);
        let formatted = message.formatted();
        // One bound on the whole conversation: connecting, TLS, AUTH and the message.
        let sent = tokio::time::timeout(
            self.timeout(),
            self.pool.send(message.envelope(), &formatted),
        )
        .await;
        match sent {
            Err(_) => Err(SendError::Temporary(format!(
                "no answer from {server} within {} s",
                self.config.timeout_seconds
            ))),
            Ok(Err(ConnError::Connect(e))) => Err(SendError::Temporary(format!(
                "could not connect to {server}: {}",
                e.kind()
            ))),
            Ok(Err(ConnError::Tls(e))) => Err(SendError::Permanent(format!(
                "TLS with {server} failed: {}",
                provider_text(&e.to_string(), msg)
            ))),
            Ok(Err(ConnError::Smtp(e))) => Err(classify(&e, &server, msg)),
            Ok(Ok(response)) => {
                let line = response.first_line().unwrap_or("");
                let status = format!("{} {}", response.code(), provider_text(line, msg));
                Ok(SendReceipt {
                    provider_status: status.trim_end().chars().take(80).collect(),
                })
            }
        }
    }
}

/// 5xx replies (bad credentials, rejected recipient), TLS failures and client-side refusals
/// (server lacks STARTTLS or a usable AUTH mechanism) are permanent; 4xx replies, timeouts and
/// connection trouble are temporary.
fn classify(e: &SmtpError, server: &str, msg: &OutgoingMessage<'_>) -> SendError {
    let text = provider_text(&e.to_string(), msg);
    if e.is_permanent() {
        SendError::Permanent(format!("{server} refused: {text}"))
    } else if e.is_transient() {
        SendError::Temporary(format!("{server} deferred: {text}"))
    } else if e.is_timeout() {
        SendError::Temporary(format!("no answer from {server}: {text}"))
    } else if e.is_tls() || is_invalid_data(e) {
        SendError::Permanent(format!("TLS with {server} failed: {text}"))
    } else if e.is_client() {
        SendError::Permanent(format!("{server}: {text}"))
    } else {
        SendError::Temporary(format!("{server}: {text}"))
    }
}

/// tokio-rustls reports handshake failures (a bad certificate, a server that does not speak
/// TLS on that port) as I/O errors of kind `InvalidData`: a configuration problem, not a
/// network hiccup.
fn is_invalid_data(e: &SmtpError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::InvalidData;
        }
        source = err.source();
    }
    false
}

impl Sender for SmtpSender {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(self.deliver(msg))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use super::*;
    use crate::delivery::test_support::{Fixture, OTP, silent_server};
    use crate::domain::channel::Secret;
    use crate::domain::channel::SmtpTls;

    /// Debian's Python, where `apt-get install python3-aiosmtpd` puts the module (a pyenv
    /// `python3` on PATH would not see it); `OTPD_TEST_PYTHON` points elsewhere.
    fn python() -> String {
        std::env::var("OTPD_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_owned())
    }
    const INSTALL_HINT: &str = "the SMTP tests need Python's aiosmtpd: apt-get install -y python3-aiosmtpd \
                                (for Debian's /usr/bin/python3), or pip install aiosmtpd and set \
                                OTPD_TEST_PYTHON to that interpreter";

    /// A real SMTP server (aiosmtpd) on loopback, writing each message to `dir`; killed on drop.
    struct SmtpSink {
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
    }

    impl SmtpSink {
        async fn start(auth: Option<(&str, &str)>) -> Self {
            let probe = Command::new(python())
                .args(["-c", "import aiosmtpd"])
                .output();
            match probe {
                Ok(out) if out.status.success() => {}
                _ => panic!("{INSTALL_HINT}"),
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("mail")).unwrap();
            // The sink's chatter (warnings, bytes of a TLS hello it cannot parse) goes to a file
            // that a failed start prints.
            let log = std::fs::File::create(dir.path().join("sink.log")).unwrap();
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("src/delivery/testdata/smtp_sink.py");
            let mut cmd = Command::new(python());
            cmd.arg(script)
                .arg(port.to_string())
                .arg(dir.path().join("mail"));
            if let Some((user, pass)) = auth {
                cmd.arg(user).arg(pass);
            }
            let child = cmd
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect(INSTALL_HINT);
            let sink = Self { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(10);
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                if Instant::now() > deadline {
                    let log = std::fs::read_to_string(sink.dir.path().join("sink.log"))
                        .unwrap_or_default();
                    panic!("the SMTP sink did not start on port {port}:\n{log}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            sink
        }

        fn messages(&self) -> Vec<String> {
            let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect()
        }
    }

    impl Drop for SmtpSink {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn config(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            username: None,
            password: Secret::default(),
            from: "otp@acme.test".into(),
            from_name: Some("ACME Login".into()),
            timeout_seconds: 5,
        }
    }

    /// A header of a received message, as the sink decoded it.
    fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
        raw.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
    }

    #[tokio::test]
    async fn a_multipart_message_arrives_with_every_part() {
        let sink = SmtpSink::start(None).await;
        let f = Fixture::email("Jane.Doe@Example.com");
        let sender = SmtpSender::new(config(sink.port));
        let receipt = sender.send(&f.msg()).await.unwrap();
        assert!(
            receipt.provider_status.starts_with("250"),
            "{}",
            receipt.provider_status
        );

        let messages = sink.messages();
        assert_eq!(messages.len(), 1);
        let raw = &messages[0];
        assert_eq!(header(raw, "X-MailFrom"), Some("otp@acme.test"));
        assert_eq!(header(raw, "X-RcptTo"), Some("Jane.Doe@example.com"));
        assert_eq!(header(raw, "From"), Some("ACME Login <otp@acme.test>"));
        assert_eq!(header(raw, "To"), Some("Jane.Doe@example.com"));
        assert_eq!(header(raw, "Subject"), Some("Your ACME verification code"));
        assert!(
            header(raw, "Content-Type").is_some_and(|t| t.starts_with("multipart/alternative")),
            "{raw}"
        );
        // The sink appends each decoded part after the raw message.
        assert!(
            raw.contains(&format!(
                "== text/plain ==\nYour ACME verification code is {OTP}. It expires in 10 minutes."
            )),
            "{raw}"
        );
        assert!(
            raw.contains(&format!(
                "== text/html ==\n<p>Your ACME code is</p><p><b>{OTP}</b></p>"
            )),
            "{raw}"
        );

        // The pooled connection is reused for a second message.
        sender.send(&f.msg()).await.unwrap();
        assert_eq!(sink.messages().len(), 2);
    }

    /// Sends one after another share one connection (the sink names each message's client
    /// port); a pool of one still serves sends that overlap, each on its own connection.
    #[tokio::test]
    async fn connections_are_reused() {
        let sink = SmtpSink::start(Some(("mailer", "pa55"))).await;
        let f = Fixture::email("a@example.com");
        let mut c = config(sink.port);
        c.username = Some("mailer".into());
        c.password = Secret::new("pa55");
        let sender = SmtpSender::new(c).pool_size(1);
        for _ in 0..5 {
            sender.send(&f.msg()).await.unwrap();
        }
        let (a, b) = (f.msg(), f.msg());
        let (x, y) = tokio::join!(sender.send(&a), sender.send(&b));
        x.unwrap();
        y.unwrap();
        let peers: Vec<String> = sink
            .messages()
            .iter()
            .map(|m| header(m, "X-Peer").unwrap().to_owned())
            .collect();
        assert_eq!(peers.len(), 7);
        assert!(peers[..5].iter().all(|p| p == &peers[0]), "{peers:?}");
        assert_ne!(peers[5], peers[6], "overlapping sends use two connections");
    }

    #[tokio::test]
    async fn a_text_only_message_with_auth() {
        let sink = SmtpSink::start(Some(("mailer", "pa55"))).await;
        let mut f = Fixture::email("a@example.com");
        f.rendered.html = None;
        let mut c = config(sink.port);
        c.username = Some("mailer".into());
        c.password = Secret::new("pa55");
        c.from_name = None;
        SmtpSender::new(c).send(&f.msg()).await.unwrap();
        let raw = &sink.messages()[0];
        assert_eq!(header(raw, "From"), Some("otp@acme.test"));
        assert!(
            header(raw, "Content-Type").is_some_and(|t| t.starts_with("text/plain")),
            "{raw}"
        );
        assert!(
            raw.contains(&format!("== text/plain ==\n{}", f.rendered.text)),
            "{raw}"
        );
        assert!(!raw.contains("== text/html =="));
    }

    #[tokio::test]
    async fn a_wrong_password_is_permanent() {
        let sink = SmtpSink::start(Some(("mailer", "pa55"))).await;
        let f = Fixture::email("a@example.com");
        let mut c = config(sink.port);
        c.username = Some("mailer".into());
        c.password = Secret::new("wrong");
        let err = SmtpSender::new(c).send(&f.msg()).await.unwrap_err();
        let SendError::Permanent(text) = &err else {
            panic!("{err:?}")
        };
        assert!(text.contains("535"), "{text}");
        assert!(!text.contains(OTP) && !text.contains("wrong"), "{text}");
        assert!(sink.messages().is_empty());
    }

    #[tokio::test]
    async fn starttls_is_never_skipped_and_implicit_tls_needs_a_tls_server() {
        // The sink offers no STARTTLS: the sender must refuse rather than send in clear text.
        let sink = SmtpSink::start(None).await;
        let f = Fixture::email("a@example.com");
        let mut c = config(sink.port);
        c.tls = SmtpTls::Starttls;
        let err = SmtpSender::new(c.clone()).send(&f.msg()).await.unwrap_err();
        assert!(
            matches!(&err, SendError::Permanent(t) if t.contains("STARTTLS")),
            "{err:?}"
        );
        c.tls = SmtpTls::Tls;
        let err = SmtpSender::new(c).send(&f.msg()).await.unwrap_err();
        assert!(
            matches!(&err, SendError::Permanent(t) if t.starts_with("TLS with")),
            "{err:?}"
        );
        assert!(sink.messages().is_empty());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_temporary_within_the_timeout() {
        let (addr, _task) = silent_server().await;
        let mut c = config(addr.port());
        c.timeout_seconds = 1;
        let f = Fixture::email("a@example.com");
        let started = Instant::now();
        let err = SmtpSender::new(c).send(&f.msg()).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "took {:?}",
            started.elapsed()
        );
        assert!(err.is_temporary(), "{err:?}");
        assert!(!err.to_string().contains(OTP));
    }

    #[tokio::test]
    async fn no_server_is_temporary() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let f = Fixture::email("a@example.com");
        let err = SmtpSender::new(config(port))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
    }

    #[tokio::test]
    async fn a_phone_destination_is_refused() {
        let f = Fixture::mobile("84901234567");
        let err = SmtpSender::new(config(9)).send(&f.msg()).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)));
    }
}
