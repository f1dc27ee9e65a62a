//! Admin routes for console operators (the admin role only, reading included: the list of
//! accounts is an admin's business).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Segments, Writer, body, ok};
use crate::service::Services;
use crate::service::admin::{NewOperator, OperatorPatch, OperatorView, PasswordReset};

pub(super) fn routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(list_operators))
        .routes(routes!(add_operator))
        .routes(routes!(update_operator))
        .routes(routes!(reset_password))
}

/// Every operator.
#[utoipa::path(get, path = "/admin/api/operators", tag = "operators",
    security(("session" = ["admin"]), ("cli" = [])),
    responses((status = 200, body = Vec<OperatorView>)))]
async fn list_operators(State(s): AppState, Writer(p): Writer) -> AdminResult {
    ok(s.admin(p.actor()).list_operators().await?)
}

/// Adds an operator.
#[utoipa::path(post, path = "/admin/api/operators", tag = "operators",
    security(("session" = ["admin"]), ("cli" = [])), request_body = NewOperator,
    responses((status = 201, body = OperatorView)))]
async fn add_operator(State(s): AppState, Writer(p): Writer, b: Bytes) -> AdminResult {
    let req: NewOperator = body(&b)?;
    let view = s.admin(p.actor()).add_operator(&req).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Changes an operator's role, or disables (ending their sessions) or enables them. The last
/// enabled admin cannot be demoted or disabled.
#[utoipa::path(patch, path = "/admin/api/operators/{name}", tag = "operators",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    request_body = OperatorPatch, responses((status = 200, body = OperatorView)))]
async fn update_operator(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let patch: OperatorPatch = body(&b)?;
    ok(s.admin(p.actor()).update_operator(&name, &patch).await?)
}

/// Gives an operator a temporary password (in the answer, once) that they must change at their
/// next login; their sessions end.
#[utoipa::path(post, path = "/admin/api/operators/{name}/reset-password", tag = "operators",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = PasswordReset)))]
async fn reset_password(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).reset_password(&name).await?)
}
