//! The admin API under `/admin/api`, on the admin listener (loopback by default), and its
//! OpenAPI document: both come from the handlers' `#[utoipa::path]` annotations, so every route
//! is documented and every documented route exists. Who may call it is decided in `auth.rs`:
//! a console session (cookie, plus `X-CSRF-Token` on every call that is not GET or HEAD), the
//! local CLI's bearer token, or the desktop app in-process. Handlers take [`Reader`] (any
//! caller) or [`Writer`] (the admin role; a viewer gets 403), parse, call one `service::admin`
//! operation, and answer JSON. Errors are `{"error": {"code", "message", "field"}}` with the
//! status chosen by [`AdminError`]'s `IntoResponse` below.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{ApiCode, Role};
use crate::service::Services;
use crate::service::admin::AdminError;
use crate::service::auth::Principal;

mod auth;
mod brands;
mod channels;
mod operators;
mod records;
mod server;
mod signing;

pub use auth::{CSRF_HEADER, LocalOperator, SESSION_COOKIE, ServedOverTls};

type AppState = State<Arc<Services>>;
type AdminResult = Result<Response, AdminError>;

/// The error body of every admin route.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// An application code where one applies (1535: a limit of 0).
    pub code: Option<u16>,
    pub message: String,
    /// The field or setting the error is about, so a form can show it there.
    pub field: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "otpd admin API",
        description = "Brands, channels, templates, limits, payload signing, the issuance log, the audit trail, operators and the dashboard. Served on the admin listener; the console is built on it."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&AdminSecurity)
)]
struct AdminDoc;

/// The security schemes, and an `ErrorBody` as every operation's default answer.
struct AdminSecurity;

impl Modify for AdminSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi
            .components
            .get_or_insert_with(utoipa::openapi::Components::new);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "A console session (POST /admin/api/auth/login). Calls that are not GET or HEAD also need the X-CSRF-Token header. Scopes: `viewer` (any operator) or `admin` (the admin role).",
            ))),
        );
        components.add_security_scheme(
            "cli",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token otpd writes to admin.token in its data directory (the local CLI).",
                    ))
                    .build(),
            ),
        );
        let default = utoipa::openapi::ResponseBuilder::new()
            .description("An error: 400 invalid input (field names it), 401 no session, 403 not allowed or CSRF, 404, 409, 429, 500")
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| default.clone().into());
            }
        }
    }
}

/// The routes anyone may call: health, log in, first-run setup.
fn open_routes() -> OpenApiRouter<Arc<Services>> {
    auth::open_routes().routes(routes!(health))
}

/// The routes that need a caller ([`auth::authenticate`] runs before each).
fn protected_routes() -> OpenApiRouter<Arc<Services>> {
    auth::session_routes()
        .merge(brands::routes())
        .merge(channels::routes())
        .merge(signing::routes())
        .merge(records::routes())
        .merge(operators::routes())
        .merge(server::routes())
}

/// The admin router (also what the desktop shell calls in-process).
pub fn router(services: Arc<Services>, cli_token: Arc<str>) -> axum::Router<Arc<Services>> {
    let (open, _) = open_routes().split_for_parts();
    let (protected, _) = protected_routes().split_for_parts();
    let gate = auth::Gate::new(services, cli_token);
    open.merge(protected.route_layer(axum::middleware::from_fn_with_state(
        gate,
        auth::authenticate,
    )))
    .method_not_allowed_fallback(|| async {
        error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "this admin route does not take that method",
        )
    })
}

/// The answer to a path under `/admin/api/` that is no route.
pub fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, None, "no such admin route")
}

/// The admin API's OpenAPI document (served at `/admin/api/openapi.json`, and the source of
/// the console's TypeScript types).
pub fn openapi() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<Arc<Services>>::with_openapi(AdminDoc::openapi())
        .merge(open_routes())
        .merge(protected_routes())
        .into_openapi()
}

/// The operations of one path.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Liveness of the admin listener (no session needed).
#[utoipa::path(get, path = "/admin/api/health", tag = "server", security(()),
    responses((status = 200, description = "ok", body = String)))]
async fn health() -> &'static str {
    "ok"
}

// ---- who is calling -------------------------------------------------------------------

/// Any authenticated caller: for reads.
pub struct Reader(pub Principal);

/// A caller with the admin role: for changes. A viewer gets 403.
pub struct Writer(pub Principal);

fn principal(parts: &Parts) -> Result<Principal, AdminError> {
    parts
        .extensions
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| AdminError::Unauthorized("log in first".into()))
}

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AdminError> {
        principal(parts).map(Self)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Writer {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AdminError> {
        let p = principal(parts)?;
        if p.role() == Role::Admin {
            Ok(Self(p))
        } else {
            Err(AdminError::Forbidden(
                "your role is viewer: you can read everything but change nothing".into(),
            ))
        }
    }
}

// ---- answers --------------------------------------------------------------------------

fn error_response(status: StatusCode, code: Option<u16>, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: message.to_owned(),
            field: field_of(message).map(str::to_owned),
        },
    };
    (status, Json(body)).into_response()
}

/// The field an error message is about: messages name it first (`otpLength: …`,
/// `testIdentifiers[0].otp: …`, `settings.host: …`).
fn field_of(message: &str) -> Option<&str> {
    let (head, _) = message.split_once(": ")?;
    let ok = head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '[' | ']' | '_' | '-'));
    ok.then_some(head)
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
            Self::Unauthorized(m) => error_response(StatusCode::UNAUTHORIZED, None, m),
            Self::Forbidden(m) => error_response(StatusCode::FORBIDDEN, None, m),
            Self::Throttled { retry_after_secs } => {
                let mut r = error_response(StatusCode::TOO_MANY_REQUESTS, None, &self.to_string());
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Self::Store(_) | Self::Internal(_) => {
                // Logged once here; the store's wording never reaches a client.
                tracing::error!(error = %self, "an admin operation failed");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal error; see the server log",
                )
            }
        }
    }
}

// ---- parsing --------------------------------------------------------------------------

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

fn ok(value: impl Serialize) -> AdminResult {
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

/// A query string, with a malformed one answered as a 400 naming the problem.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, AdminError> {
    q.map(|Query(q)| q)
        .map_err(|e| AdminError::Invalid(format!("query: {}", e.body_text())))
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn the_field_is_the_messages_first_word() {
        assert_eq!(field_of("otpLength: 3 is outside"), Some("otpLength"));
        assert_eq!(
            field_of("testIdentifiers[0].otp: must be"),
            Some("testIdentifiers[0].otp")
        );
        assert_eq!(field_of("request body: expected"), None);
        assert_eq!(field_of("no colon here"), None);
    }

    #[test]
    fn every_route_is_documented_with_who_may_call_it() {
        let mut doc = super::openapi();
        let mut count = 0;
        for (path, item) in &mut doc.paths.paths {
            for op in super::operations(item) {
                assert!(
                    op.security.is_some(),
                    "{path} says nothing about who may call it"
                );
                count += 1;
            }
        }
        assert!(count > 40, "only {count} operations documented");
    }
}
