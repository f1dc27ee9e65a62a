//! The admin API under `/admin/api`, on the admin listener (loopback by default). Every route
//! needs `Authorization: Bearer <token>`, the random token the server writes to
//! `admin.token` (mode 0600) in its data directory at each start.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use crate::service::Services;

pub fn router(admin_token: Arc<str>) -> Router<Arc<Services>> {
    Router::new()
        .route("/admin/api/health", get(|| async { "ok" }))
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
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "missing or wrong admin token"})),
        )
            .into_response()
    }
}
