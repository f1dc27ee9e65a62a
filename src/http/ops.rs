//! Operational endpoints. On the public listener: health, the OpenAPI document (generated from
//! the handlers' annotations) and the token-verification JWKS. On the admin listener:
//! Prometheus metrics (brand names and volumes are nobody else's business) and the admin API's
//! OpenAPI document.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;

use crate::service::Services;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "otpd public API",
        description = "Auth-Engine-compatible OTP API: token/generate → otp/generate → otp/validate."
    ),
    paths(
        super::public::token_mobile,
        super::public::token_web,
        super::public::generate_mobile,
        super::public::generate_web,
        super::public::validate_mobile,
        super::public::validate_web,
    ),
    components(schemas(
        super::error::Envelope,
        super::error::Status,
        super::public::SessionResponse
    ))
)]
pub struct ApiDoc;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/health/live", get(|| async { (StatusCode::OK, "live") }))
        .route("/health/ready", get(ready))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/auth/v1/.well-known/jwks.json", get(jwks))
}

/// The admin listener's operational routes (no session: Prometheus scrapes `/metrics`), and
/// the same health checks as the public listener's, so a probe pointed here gets an answer
/// rather than the console's page.
pub fn admin_router() -> Router<Arc<Services>> {
    Router::new()
        .route("/health/live", get(|| async { (StatusCode::OK, "live") }))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route(
            "/admin/api/openapi.json",
            get(|| async { Json(super::admin::openapi()) }),
        )
}

async fn ready(State(s): State<Arc<Services>>) -> impl IntoResponse {
    match s.store.probe().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness probe failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store not writable")
        }
    }
}

async fn metrics(State(s): State<Arc<Services>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

async fn jwks(State(s): State<Arc<Services>>) -> impl IntoResponse {
    Json(s.keys.jwks())
}
