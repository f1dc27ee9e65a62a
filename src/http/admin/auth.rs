//! Who is calling the admin API ([`authenticate`]) and the routes that log in and out. A caller
//! is the desktop app (a [`LocalOperator`] extension only the in-process shell can insert), the
//! local CLI (`Authorization: Bearer <admin.token>`), or a console operator (the session
//! cookie; calls that are not GET or HEAD must also echo the session's CSRF token). An operator
//! whose password was reset may only reach `/admin/api/auth/*` until they change it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Reader, body, ok};
use crate::service::Services;
use crate::service::admin::AdminError;
use crate::service::auth::{NewSession, Principal, SESSION_MAX_MS, SessionView};

pub const SESSION_COOKIE: &str = "otpd_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Inserted by the desktop shell into the requests it hands to the admin router in-process:
/// they act as the local operator. A request from the network cannot carry it.
#[derive(Clone, Copy, Debug)]
pub struct LocalOperator;

/// Inserted by a listener that terminated TLS: the session cookie then gets `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct ServedOverTls;

/// What [`authenticate`] needs.
#[derive(Clone)]
pub struct Gate {
    services: Arc<Services>,
    cli_token: Arc<str>,
}

impl Gate {
    pub fn new(services: Arc<Services>, cli_token: Arc<str>) -> Self {
        Self {
            services,
            cli_token,
        }
    }
}

/// Identifies the caller, checks the CSRF token of a console session's changes, and passes the
/// [`Principal`] on to the handler; 401 without a caller, 403 for a bad CSRF token.
pub async fn authenticate(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let local = req.extensions().get::<LocalOperator>().is_some();
    let principal = match identify(&gate, local, req.headers()).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return AdminError::Unauthorized("log in first (no session, or it ended)".into())
                .into_response();
        }
        Err(e) => return e.into_response(),
    };
    if let Principal::Operator {
        csrf_token,
        must_change_password,
        ..
    } = &principal
    {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD);
        if !safe && !csrf_matches(req.headers(), csrf_token) {
            return AdminError::Forbidden(format!(
                "missing or wrong CSRF token: send the session's csrfToken as {CSRF_HEADER}"
            ))
            .into_response();
        }
        if *must_change_password && !req.uri().path().starts_with("/admin/api/auth/") {
            return AdminError::Forbidden(
                "an admin reset your password: choose a new one first".into(),
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Who is calling: the desktop app's own window (`local`), the CLI (its bearer token), or an
/// operator (a console session's cookie).
async fn identify(
    gate: &Gate,
    local: bool,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AdminError> {
    if local {
        return Ok(Some(Principal::Desktop));
    }
    if let Some(presented) = bearer(headers) {
        return if bool::from(presented.as_bytes().ct_eq(gate.cli_token.as_bytes())) {
            Ok(Some(Principal::Cli))
        } else {
            Err(AdminError::Unauthorized("wrong admin token".into()))
        };
    }
    match session_cookie(headers) {
        Some(token) => gate.services.session_principal(token).await,
        None => Ok(None),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

fn csrf_matches(headers: &HeaderMap, expected: &str) -> bool {
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The client's address and whether the connection is TLS, as login needs them.
pub(super) struct Connection {
    client: IpAddr,
    tls: bool,
}

impl FromRequestParts<Arc<Services>> for Connection {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<Services>) -> Result<Self, AdminError> {
        let trusted = &s.config.trusted_proxies;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let client = peer.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |p| {
            crate::http::public::client_addr(p, &parts.headers, trusted)
        });
        let forwarded_https = peer.is_some_and(|p| trusted.contains(&p.ip().to_canonical()))
            && parts
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        let tls = parts.extensions.get::<ServedOverTls>().is_some() || forwarded_https;
        Ok(Self { client, tls })
    }
}

fn session_cookie_header(value: &str, max_age_secs: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// A new session's answer: the view, and the cookie that carries its token.
fn logged_in(new: NewSession, tls: bool) -> Response {
    let mut response = Json(new.view).into_response();
    if let Some(cookie) = session_cookie_header(&new.token, SESSION_MAX_MS / 1000, tls) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Login and setup take JSON only: a cross-site form cannot send that without the browser
/// asking first, so no other site can log a visitor in to an account of its choosing.
fn require_json(headers: &HeaderMap) -> Result<(), AdminError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if json {
        Ok(())
    } else {
        Err(AdminError::Invalid(
            "request body: send JSON with Content-Type: application/json".into(),
        ))
    }
}

/// The routes anyone may call: log in, first-run setup.
pub(super) fn open_routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(setup_status))
        .routes(routes!(setup))
}

/// The routes of one's own session.
pub(super) fn session_routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(session))
        .routes(routes!(logout))
        .routes(routes!(change_password))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    name: String,
    password: String,
}

/// Logs an operator in: sets the session cookie (HttpOnly, SameSite=Strict, Secure over TLS).
/// Failed tries slow down further ones per account and client address (429, `Retry-After`).
#[utoipa::path(post, path = "/admin/api/auth/login", tag = "auth", security(()),
    request_body = LoginRequest, responses((status = 200, body = SessionView)))]
async fn login(State(s): AppState, conn: Connection, h: HeaderMap, b: Bytes) -> AdminResult {
    require_json(&h)?;
    let req: LoginRequest = body(&b)?;
    let new = s.login(&req.name, &req.password, conn.client).await?;
    Ok(logged_in(new, conn.tls))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    /// True until the first operator exists.
    needed: bool,
}

/// Whether the console must offer first-run setup.
#[utoipa::path(get, path = "/admin/api/auth/setup", tag = "auth", security(()),
    responses((status = 200, body = SetupStatus)))]
async fn setup_status(State(s): AppState) -> AdminResult {
    ok(SetupStatus {
        needed: s.setup_needed().await?,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetupRequest {
    /// The token of the setup link `otpd serve` printed.
    token: String,
    name: String,
    password: String,
}

/// Creates the first admin with the one-time setup token, and logs them in.
#[utoipa::path(post, path = "/admin/api/auth/setup", tag = "auth", security(()),
    request_body = SetupRequest, responses((status = 200, body = SessionView)))]
async fn setup(State(s): AppState, conn: Connection, h: HeaderMap, b: Bytes) -> AdminResult {
    require_json(&h)?;
    let req: SetupRequest = body(&b)?;
    let new = s.setup(&req.token, &req.name, &req.password).await?;
    Ok(logged_in(new, conn.tls))
}

/// Who is logged in, and the CSRF token to send with changes.
#[utoipa::path(get, path = "/admin/api/auth/session", tag = "auth",
    security(("session" = ["viewer"]), ("cli" = [])), responses((status = 200, body = SessionView)))]
async fn session(Reader(p): Reader) -> AdminResult {
    ok(SessionView::of(&p))
}

/// Ends this session and clears its cookie.
#[utoipa::path(post, path = "/admin/api/auth/logout", tag = "auth",
    security(("session" = ["viewer"]), ("cli" = [])), responses((status = 204)))]
async fn logout(State(s): AppState, Reader(p): Reader, conn: Connection) -> AdminResult {
    s.logout(&p).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = session_cookie_header("", 0, conn.tls) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    /// At least 12 characters.
    new_password: String,
}

/// Changes one's own password; one's other sessions end.
#[utoipa::path(post, path = "/admin/api/auth/password", tag = "auth",
    security(("session" = ["viewer"])), request_body = ChangePassword, responses((status = 204)))]
async fn change_password(State(s): AppState, Reader(p): Reader, b: Bytes) -> AdminResult {
    let req: ChangePassword = body(&b)?;
    s.change_password(&p, &req.current_password, &req.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; otpd_session=abc123; x=y"),
        );
        assert_eq!(session_cookie(&h), Some("abc123"));
        h.insert(header::COOKIE, HeaderValue::from_static("otpd_session="));
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn the_cookie_is_strict_http_only_and_secure_over_tls() {
        let plain = session_cookie_header("t", 60, false).unwrap();
        assert_eq!(
            plain.to_str().unwrap(),
            "otpd_session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        let tls = session_cookie_header("t", 60, true).unwrap();
        assert!(tls.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn csrf_needs_the_exact_token() {
        let mut h = HeaderMap::new();
        assert!(!csrf_matches(&h, "tok"));
        h.insert(CSRF_HEADER, HeaderValue::from_static("tok"));
        assert!(csrf_matches(&h, "tok"));
        assert!(!csrf_matches(&h, "other"));
        assert!(!csrf_matches(&h, ""));
    }
}
