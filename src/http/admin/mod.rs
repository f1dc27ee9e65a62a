//! The admin API under `/admin/api`, on the admin listener (loopback by default). Every route
//! needs `Authorization: Bearer <token>`, the random token the server writes to
//! `admin.token` (mode 0600) in its data directory at each start. JSON in and out; errors are
//! `{"error": {"code": <int|null>, "message": "…"}}` with the status chosen by
//! [`AdminError`]'s `IntoResponse` below. Handlers only parse and call `service::admin`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::domain::ApiCode;
use crate::service::Services;
use crate::service::admin::AdminError;

mod brands;
mod channels;
mod records;
mod signing;

use brands::*;
use channels::*;
use records::*;
use signing::*;

/// The header a client may send to name who is acting (recorded in the audit trail). It is
/// informational: anyone holding the token is trusted.
pub const ACTOR_HEADER: &str = "x-otpd-actor";

type AppState = State<Arc<Services>>;

/// An e-mail template's HTML body may be 100 000 bytes (`domain::template`), more than the
/// listener-wide body limit; JSON escaping can grow it, hence the headroom.
const TEMPLATE_BODY_LIMIT: usize = 256 * 1024;

pub fn router(admin_token: Arc<str>) -> Router<Arc<Services>> {
    let brand = "/admin/api/brands/{name}";
    Router::new()
        .route("/admin/api/health", get(|| async { "ok" }))
        .route("/admin/api/brands", get(list_brands).post(create_brand))
        .route(brand, get(show_brand).patch(update_brand))
        .route(&format!("{brand}/disable"), post(disable_brand))
        .route(&format!("{brand}/enable"), post(enable_brand))
        .route(&format!("{brand}/limits"), get(list_limits))
        .route(
            &format!("{brand}/limits/{{destination}}"),
            get(show_limit).put(set_limit).delete(unset_limit),
        )
        .route(
            &format!("{brand}/limits/{{destination}}/reset"),
            post(reset_usage),
        )
        .route(&format!("{brand}/signing/enable"), post(enable_signing))
        .route(&format!("{brand}/signing/rotate"), post(rotate_signing))
        .route(&format!("{brand}/signing/revoke"), post(revoke_signing_key))
        .route(&format!("{brand}/signing/disable"), post(disable_signing))
        .route(&format!("{brand}/channels"), get(list_channels))
        .route(
            &format!("{brand}/channels/{{kind}}"),
            get(show_channel).put(set_channel).delete(remove_channel),
        )
        .route(
            &format!("{brand}/channels/{{kind}}/test"),
            post(test_channel),
        )
        .route(&format!("{brand}/templates"), get(list_templates))
        .route(
            &format!("{brand}/templates/{{kind}}"),
            get(show_templates)
                .put(set_template)
                .delete(remove_template)
                .layer(DefaultBodyLimit::max(TEMPLATE_BODY_LIMIT)),
        )
        .route(
            &format!("{brand}/templates/{{kind}}/preview"),
            post(preview_template).layer(DefaultBodyLimit::max(TEMPLATE_BODY_LIMIT)),
        )
        .route(
            &format!("{brand}/templates/{{kind}}/{{locale}}"),
            put(set_locale_template)
                .delete(remove_locale_template)
                .layer(DefaultBodyLimit::max(TEMPLATE_BODY_LIMIT)),
        )
        .route("/admin/api/audit", get(audit))
        .route("/admin/api/log", get(log_page))
        .route("/admin/api/log.csv", get(log_csv))
        .route("/admin/api/log/{id}", get(log_record))
        .route(
            "/admin/api/backup",
            get(|State(s): AppState| super::backup::backup(s)),
        )
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, None, "no such admin route") })
        .method_not_allowed_fallback(|| async {
            error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "this admin route does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(admin_token, require_token))
}

async fn require_token(State(token): State<Arc<str>>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
        next.run(req).await
    } else {
        error_response(
            StatusCode::UNAUTHORIZED,
            None,
            "missing or wrong admin token",
        )
    }
}

fn error_response(status: StatusCode, code: Option<u16>, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match &self {
            Self::NotFound(m) => error_response(StatusCode::NOT_FOUND, None, m),
            Self::Conflict(m) => error_response(StatusCode::CONFLICT, None, m),
            Self::LimitZero(_) => error_response(
                StatusCode::BAD_REQUEST,
                Some(ApiCode::LimitZero.code()),
                &self.to_string(),
            ),
            Self::Invalid(m) => error_response(StatusCode::BAD_REQUEST, None, m),
            Self::Store(e) => {
                // Logged once here; the store's wording never reaches a client.
                tracing::error!(error = %e, "an admin operation failed in the store");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal error; see the server log",
                )
            }
        }
    }
}

type AdminResult = Result<Response, AdminError>;

/// `Path`, with a malformed segment (bad percent-encoding) answered in the admin error shape.
struct Segments<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AdminError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| Self(t))
            .map_err(|e| AdminError::Invalid(format!("path: {}", e.body_text())))
    }
}

fn ok(value: impl serde::Serialize) -> AdminResult {
    Ok(Json(value).into_response())
}

/// Parses a JSON body; a malformed one is a 400 naming the problem, never a 5xx. An empty body
/// counts as `{}` so that bodies with only optional fields may be left out.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, AdminError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| AdminError::Invalid(format!("request body: {e}")))
}

/// Who is acting, for the audit trail: the client's `X-Otpd-Actor` (printable, ≤ 64
/// characters) or `admin-api`.
fn actor(headers: &HeaderMap) -> String {
    headers
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control))
        .map_or_else(|| "admin-api".to_owned(), str::to_owned)
}
