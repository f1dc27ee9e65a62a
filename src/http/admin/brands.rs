//! Admin routes for brands and per-customer limits.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Reader, Segments, Writer, body, ok};
use crate::domain::BrandSettings;
use crate::service::Services;
use crate::service::admin::{BrandView, LimitView, OverrideView};

pub(super) fn routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(list_brands))
        .routes(routes!(create_brand))
        .routes(routes!(show_brand))
        .routes(routes!(update_brand))
        .routes(routes!(disable_brand))
        .routes(routes!(enable_brand))
        .routes(routes!(list_limits))
        .routes(routes!(show_limit))
        .routes(routes!(set_limit))
        .routes(routes!(unset_limit))
        .routes(routes!(reset_usage))
}

/// Every brand.
#[utoipa::path(get, path = "/admin/api/brands", tag = "brands",
    security(("session" = ["viewer"]), ("cli" = [])),
    responses((status = 200, body = Vec<BrandView>)))]
async fn list_brands(State(s): AppState, Reader(p): Reader) -> AdminResult {
    ok(s.admin(p.actor()).list_brands().await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBrand {
    /// 1–64 of A-Z a-z 0-9 _ - . (stored upper-case).
    name: String,
    /// Settings that differ from the defaults.
    #[serde(default)]
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    settings: Map<String, Value>,
}

/// Creates a brand (channels: none until set).
#[utoipa::path(post, path = "/admin/api/brands", tag = "brands",
    security(("session" = ["admin"]), ("cli" = [])), request_body = CreateBrand,
    responses((status = 201, body = BrandView)))]
async fn create_brand(State(s): AppState, Writer(p): Writer, b: Bytes) -> AdminResult {
    let req: CreateBrand = body(&b)?;
    let view = s
        .admin(p.actor())
        .create_brand(&req.name, &req.settings)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// One brand: settings, channels (secrets as "set"), signing keys (no secrets).
#[utoipa::path(get, path = "/admin/api/brands/{name}", tag = "brands",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = BrandView)))]
async fn show_brand(
    State(s): AppState,
    Reader(p): Reader,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).show_brand(&name).await?)
}

/// Changes the named settings (any subset of them); the rest keep their values.
#[utoipa::path(patch, path = "/admin/api/brands/{name}", tag = "brands",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    request_body = BrandSettings, responses((status = 200, body = BrandView)))]
async fn update_brand(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let patch: Map<String, Value> = body(&b)?;
    ok(s.admin(p.actor()).update_brand(&name, &patch).await?)
}

/// Switches a brand off: its requests answer 1504.
#[utoipa::path(post, path = "/admin/api/brands/{name}/disable", tag = "brands",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = BrandView)))]
async fn disable_brand(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).set_brand_enabled(&name, false).await?)
}

/// Switches a brand back on.
#[utoipa::path(post, path = "/admin/api/brands/{name}/enable", tag = "brands",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = BrandView)))]
async fn enable_brand(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).set_brand_enabled(&name, true).await?)
}

// ---- limits -------------------------------------------------------------------------------

/// Every per-customer override of a brand.
#[utoipa::path(get, path = "/admin/api/brands/{name}/limits", tag = "limits",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = Vec<OverrideView>)))]
async fn list_limits(
    State(s): AppState,
    Reader(p): Reader,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).list_limits(&name).await?)
}

/// One customer's limit and usage today (`destination`: `MOBILE:<digits>`, `EMAIL:<address>`,
/// or a bare number or address).
#[utoipa::path(get, path = "/admin/api/brands/{name}/limits/{destination}", tag = "limits",
    security(("session" = ["viewer"]), ("cli" = [])),
    params(("name" = String, Path), ("destination" = String, Path)),
    responses((status = 200, body = LimitView)))]
async fn show_limit(
    State(s): AppState,
    Reader(p): Reader,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor()).show_limit(&name, &dest).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLimit {
    /// At least 1.
    limit: u32,
}

/// Gives one customer their own limit.
#[utoipa::path(put, path = "/admin/api/brands/{name}/limits/{destination}", tag = "limits",
    security(("session" = ["admin"]), ("cli" = [])),
    params(("name" = String, Path), ("destination" = String, Path)), request_body = SetLimit,
    responses((status = 200, body = LimitView)))]
async fn set_limit(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, dest)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let req: SetLimit = body(&b)?;
    ok(s.admin(p.actor())
        .set_limit(&name, &dest, req.limit)
        .await?)
}

/// Removes a customer's override: the brand's limit applies again.
#[utoipa::path(delete, path = "/admin/api/brands/{name}/limits/{destination}", tag = "limits",
    security(("session" = ["admin"]), ("cli" = [])),
    params(("name" = String, Path), ("destination" = String, Path)),
    responses((status = 200, body = LimitView)))]
async fn unset_limit(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor()).unset_limit(&name, &dest).await?)
}

/// Forgets what a customer was issued in the current day or window (not the cooldown).
#[utoipa::path(post, path = "/admin/api/brands/{name}/limits/{destination}/reset", tag = "limits",
    security(("session" = ["admin"]), ("cli" = [])),
    params(("name" = String, Path), ("destination" = String, Path)),
    responses((status = 200, body = LimitView)))]
async fn reset_usage(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor()).reset_usage(&name, &dest).await?)
}
