//! SMTP connections otpd opens itself, with `TCP_NODELAY`, and a small pool of them.
//!
//! Why not lettre's transport and pool: lettre 0.11 writes a message's body and its final
//! `\r\n.\r\n` in two writes on a socket with Nagle's algorithm on, so the second write waits
//! for the server's delayed ACK — about 40 ms per message on Linux, 25 messages a second per
//! connection whatever the server could take. lettre has no setting for it (fixed upstream
//! after 0.11.23). Here the socket is ours: we connect, set `TCP_NODELAY`, do implicit TLS
//! with rustls when asked, and hand the stream to lettre's [`AsyncSmtpConnection`], which still
//! speaks SMTP (EHLO, STARTTLS, AUTH, the dot-stuffed DATA). When a lettre release sets
//! `TCP_NODELAY` itself, this module can give way to its transport again.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types::ServerName};

use crate::domain::channel::{SmtpConfig, SmtpTls};

/// An idle connection older than this is closed rather than reused (servers drop idle
/// clients after a minute or more; RFC 5321 asks them to wait at least five).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a send failed: in lettre's SMTP conversation, or before it began.
#[derive(Debug)]
pub enum ConnError {
    /// The TCP connection could not be made.
    Connect(io::Error),
    /// The implicit-TLS handshake failed (a certificate, a server that does not speak TLS).
    Tls(io::Error),
    /// A reply or failure in the SMTP conversation.
    Smtp(lettre::transport::smtp::Error),
}

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

/// Up to `max_idle` open connections to one SMTP server, reused by the sends that follow.
pub struct Pool {
    config: SmtpConfig,
    max_idle: usize,
    idle: Mutex<Vec<Idle>>,
    hello: ClientId,
}

impl Pool {
    pub fn new(config: SmtpConfig, max_idle: usize) -> Self {
        Self {
            config,
            max_idle: max_idle.max(1),
            idle: Mutex::new(Vec::new()),
            hello: ClientId::default(),
        }
    }

    /// Sends one message on an idle connection, or a new one. A reused connection that turns
    /// out to be closed (the server let it go) is replaced once, on a fresh connection.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, ConnError> {
        if let Some(mut connection) = self.take_idle() {
            match connection.send(envelope, message).await {
                Ok(response) => {
                    self.put_back(connection);
                    return Ok(response);
                }
                // A reply from the server is its answer to this message: no second try.
                Err(e) if e.is_permanent() || e.is_transient() => {
                    connection.abort().await;
                    return Err(ConnError::Smtp(e));
                }
                Err(_) => connection.abort().await,
            }
        }
        let mut connection = self.connect().await?;
        let sent = connection.send(envelope, message).await;
        match sent {
            Ok(response) => {
                self.put_back(connection);
                Ok(response)
            }
            Err(e) => {
                connection.abort().await;
                Err(ConnError::Smtp(e))
            }
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().ok()?;
        // Connections left too long are dropped: their server may have closed them.
        idle.retain(|c| c.since.elapsed() < IDLE_TIMEOUT);
        idle.pop().map(|c| c.connection)
    }

    fn put_back(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    /// Connects, greets, secures and authenticates, as the channel's settings say.
    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnError> {
        let c = &self.config;
        let tcp = TcpStream::connect((c.host.as_str(), c.port))
            .await
            .map_err(ConnError::Connect)?;
        tcp.set_nodelay(true).map_err(ConnError::Connect)?;
        let stream: Box<dyn AsyncTokioStream> = match c.tls {
            SmtpTls::Tls => Box::new(implicit_tls(tcp, &c.host).await?),
            SmtpTls::None | SmtpTls::Starttls => Box::new(tcp),
        };
        let mut connection = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(ConnError::Smtp)?;
        if c.tls == SmtpTls::Starttls {
            // lettre refuses when the server does not offer STARTTLS: never sent in the clear.
            let tls = TlsParameters::new(c.host.clone()).map_err(ConnError::Smtp)?;
            connection
                .starttls(tls, &self.hello)
                .await
                .map_err(ConnError::Smtp)?;
        }
        if let Some(user) = &c.username {
            let credentials = Credentials::new(user.clone(), c.password.expose().to_owned());
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(ConnError::Smtp)?;
        }
        Ok(connection)
    }
}

/// A TLS session over `tcp` (SMTPS, port 465), verified against the web's root certificates.
async fn implicit_tls(tcp: TcpStream, host: &str) -> Result<TlsTcp, ConnError> {
    let invalid = |e: String| ConnError::Tls(io::Error::new(io::ErrorKind::InvalidData, e));
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| invalid(format!("{host} is not a valid TLS server name")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(ConnError::Tls)?;
    Ok(TlsTcp(stream))
}

/// A client TLS stream as lettre takes it: readable, writable, and with a peer address.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
