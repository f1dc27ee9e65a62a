//! HTTP: the public and admin routers and how they are served. Both listeners get a body
//! limit, a request timeout, a header-read timeout (hyper-util with a timer: axum 0.8's
//! `serve` sets none), a concurrency limit that sheds with 503, a panic catcher, and graceful
//! shutdown that drains in-flight requests. Either listener may serve TLS (`tls.rs`).

pub mod admin;
mod console;
mod download;
pub mod error;
mod ops;
pub mod public;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::header;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

pub use ops::ApiDoc;

use crate::config::Config;
use crate::service::Services;

/// Request bodies larger than this are refused (1519 on the public API).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A whole listener's service: the router inside the listener-wide limits.
pub type ListenerService = BoxCloneSyncService<Request, Response, Infallible>;

/// The public listener's routes: the OTP API and the operational endpoints.
pub fn public_router(services: Arc<Services>) -> Router {
    public::router().merge(ops::router()).with_state(services)
}

/// The admin listener's routes: the admin API (also what the desktop shell calls in-process),
/// metrics, and the console.
pub fn admin_router(services: Arc<Services>, admin_token: Arc<str>) -> Router {
    admin::router(services.clone(), admin_token)
        .merge(ops::admin_router())
        .with_state(services)
        .fallback(console::serve)
}

/// Wraps a listener's router: the concurrency limit, load shedding and timeout must wrap the
/// whole router (`Router::layer` would give every route its own limit); the body limit, the
/// panic catcher and sensitive-header marking apply per route.
pub fn harden(router: Router, config: &Config) -> ListenerService {
    let router = router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            error::internal_error()
        }))
        .layer(
            tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
            ]),
        );
    let service = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            error::overloaded()
        }))
        .load_shed()
        .concurrency_limit(config.max_concurrent_requests)
        .timeout(Duration::from_secs(config.request_timeout_seconds))
        .service(router);
    BoxCloneSyncService::new(service)
}

/// Serves `router` on `listener` until `shutdown` turns true, then drains open connections
/// (at most `drain` long). With `tls`, each connection first completes a TLS handshake (within
/// the header-read timeout) and its requests carry [`admin::ServedOverTls`].
pub async fn serve(
    listener: TcpListener,
    service: ListenerService,
    config: Arc<Config>,
    tls: Option<Arc<tls::ReloadableTls>>,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let graceful = GracefulShutdown::new();
    let header_timeout = Duration::from_secs(config.header_read_timeout_seconds);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let service = service.clone();
        let watcher = graceful.watcher();
        let acceptor = tls.as_ref().and_then(|t| t.acceptor());
        if tls.is_some() && acceptor.is_none() {
            continue; // a poisoned lock: refuse rather than serve plain HTTP
        }
        tokio::spawn(async move {
            let result = match acceptor {
                None => {
                    let conn =
                        connection(TokioIo::new(stream), service, peer, false, header_timeout);
                    watcher.watch(conn).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn =
                        connection(TokioIo::new(stream), service, peer, true, header_timeout);
                    watcher.watch(conn).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain period");
    }
}

/// One HTTP/1.1 connection over `io`, each request told its peer (and whether TLS carried it).
fn connection<I>(
    io: I,
    service: ListenerService,
    peer: SocketAddr,
    over_tls: bool,
    header_timeout: Duration,
) -> impl hyper_util::server::graceful::GracefulConnection<
    Error = Box<dyn std::error::Error + Send + Sync>,
> + Send
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        if over_tls {
            req.extensions_mut().insert(admin::ServedOverTls);
        }
        service.clone().oneshot(req.map(axum::body::Body::new))
    });
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    builder.serve_connection(io, service).into_owned()
}
