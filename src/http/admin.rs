//! The admin API under `/admin/api`, on the admin listener (loopback by default). Every route
//! needs `Authorization: Bearer <token>`, the random token the server writes to
//! `admin.token` (mode 0600) in its data directory at each start. JSON in and out; errors are
//! `{"error": {"code": <int|null>, "message": "…"}}` with the status chosen by
//! [`AdminError`]'s `IntoResponse` below. Handlers only parse and call `service::admin`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use crate::domain::{ApiCode, SignedEndpoint};
use crate::service::Services;
use crate::service::admin::{AdminError, LogQuery, TemplateInput};

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

// ---- brands -------------------------------------------------------------------------------

async fn list_brands(State(s): AppState, h: HeaderMap) -> AdminResult {
    ok(s.admin(&actor(&h)).list_brands()?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBrand {
    name: String,
    #[serde(default)]
    settings: Map<String, Value>,
}

async fn create_brand(State(s): AppState, h: HeaderMap, b: Bytes) -> AdminResult {
    let req: CreateBrand = body(&b)?;
    let view = s
        .admin(&actor(&h))
        .create_brand(&req.name, &req.settings)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn show_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_brand(&name)?)
}

async fn update_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let patch: Map<String, Value> = body(&b)?;
    ok(s.admin(&actor(&h)).update_brand(&name, &patch).await?)
}

async fn disable_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).set_brand_enabled(&name, false).await?)
}

async fn enable_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).set_brand_enabled(&name, true).await?)
}

// ---- limits -------------------------------------------------------------------------------

async fn list_limits(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).list_limits(&name)?)
}

async fn show_limit(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_limit(&name, &dest)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLimit {
    limit: u32,
}

async fn set_limit(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, dest)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let req: SetLimit = body(&b)?;
    ok(s.admin(&actor(&h))
        .set_limit(&name, &dest, req.limit)
        .await?)
}

async fn unset_limit(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).unset_limit(&name, &dest).await?)
}

async fn reset_usage(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).reset_usage(&name, &dest).await?)
}

// ---- payload signing ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnableSigning {
    endpoints: Option<Vec<SignedEndpoint>>,
    window_seconds: Option<u32>,
}

async fn enable_signing(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let req: EnableSigning = body(&b)?;
    ok(s.admin(&actor(&h))
        .enable_signing(&name, req.endpoints, req.window_seconds)
        .await?)
}

async fn rotate_signing(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).rotate_signing(&name).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevokeKey {
    key_id: u32,
    #[serde(default)]
    force: bool,
}

async fn revoke_signing_key(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let req: RevokeKey = body(&b)?;
    ok(s.admin(&actor(&h))
        .revoke_signing_key(&name, req.key_id, req.force)
        .await?)
}

async fn disable_signing(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).disable_signing(&name).await?)
}

// ---- channels and templates ---------------------------------------------------------------

async fn list_channels(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).list_channels(&name)?)
}

async fn show_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_channel(&name, &kind)?)
}

/// `{"settings": {"key": "value", …}}` (the CLI's `key=value` form) or `{"config": {…}}` (a
/// whole config, as the console sends back what it was shown).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetChannel {
    settings: Option<std::collections::BTreeMap<String, String>>,
    config: Option<Value>,
}

async fn set_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let actor = actor(&h);
    let admin = s.admin(&actor);
    match body::<SetChannel>(&b)? {
        SetChannel {
            settings: Some(settings),
            config: None,
        } => ok(admin.set_channel(&name, &kind, &settings).await?),
        SetChannel {
            settings: None,
            config: Some(config),
        } => ok(admin.put_channel_config(&name, &kind, config).await?),
        _ => Err(AdminError::Invalid(
            "request body: send either {\"settings\": {\"key\": \"value\", …}} or {\"config\": {…}}".into(),
        )),
    }
}

async fn remove_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).remove_channel(&name, &kind).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestChannel {
    to: String,
    locale: Option<String>,
}

async fn test_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let req: TestChannel = body(&b)?;
    ok(s.admin(&actor(&h))
        .test_channel(&name, &kind, &req.to, req.locale.as_deref())
        .await?)
}

async fn list_templates(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).list_templates(&name)?)
}

async fn show_templates(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_templates(&name, &kind)?)
}

async fn set_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let t: TemplateInput = body(&b)?;
    ok(s.admin(&actor(&h))
        .set_template(&name, &kind, None, t)
        .await?)
}

async fn set_locale_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind, locale)): Segments<(String, String, String)>,
    b: Bytes,
) -> AdminResult {
    let t: TemplateInput = body(&b)?;
    ok(s.admin(&actor(&h))
        .set_template(&name, &kind, Some(&locale), t)
        .await?)
}

async fn remove_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h))
        .remove_template(&name, &kind, None)
        .await?)
}

async fn remove_locale_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind, locale)): Segments<(String, String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h))
        .remove_template(&name, &kind, Some(&locale))
        .await?)
}

#[derive(Deserialize)]
struct LocaleQuery {
    locale: Option<String>,
}

/// Body: a template to preview (optional; without one, the saved template for `?locale=`).
async fn preview_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    q: Result<Query<LocaleQuery>, QueryRejection>,
    b: Bytes,
) -> AdminResult {
    let locale = q
        .map_err(|e| AdminError::Invalid(format!("query: {}", e.body_text())))?
        .0
        .locale
        .filter(|l| !l.trim().is_empty());
    // An empty body means "the saved template", not a template without text.
    let input: Option<TemplateInput> = if b.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(body(&b)?)
    };
    ok(s.admin(&actor(&h))
        .preview_template(&name, &kind, locale.as_deref(), input)?)
}

// ---- audit --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit(
    State(s): AppState,
    h: HeaderMap,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> AdminResult {
    let limit = q
        .ok()
        .and_then(|Query(q)| q.limit)
        .unwrap_or(100)
        .clamp(1, 1000);
    ok(s.admin(&actor(&h)).audit(limit)?)
}

// ---- issuance log -----------------------------------------------------------------------

fn log_query(q: Result<Query<LogQuery>, QueryRejection>) -> Result<LogQuery, AdminError> {
    q.map(|Query(q)| q)
        .map_err(|e| AdminError::Invalid(format!("query: {}", e.body_text())))
}

/// `GET /admin/api/log?brand=&destination=&outcome=&channel=&delivery=&test=&sinceMs=&untilMs=&before=&limit=`
async fn log_page(
    State(s): AppState,
    h: HeaderMap,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).log(&log_query(q)?)?)
}

/// The same selection as CSV (up to 100,000 records).
async fn log_csv(
    State(s): AppState,
    h: HeaderMap,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> AdminResult {
    let csv = s.admin(&actor(&h)).log_csv(&log_query(q)?)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"otpd-issuance-log.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

async fn log_record(
    State(s): AppState,
    h: HeaderMap,
    Segments(id): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).log_record(&id)?)
}
