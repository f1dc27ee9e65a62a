//! Admin routes for brands and per-customer limits.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{AdminResult, AppState, Segments, actor, body, ok};

pub(super) async fn list_brands(State(s): AppState, h: HeaderMap) -> AdminResult {
    ok(s.admin(&actor(&h)).list_brands()?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBrand {
    name: String,
    #[serde(default)]
    settings: Map<String, Value>,
}

pub(super) async fn create_brand(State(s): AppState, h: HeaderMap, b: Bytes) -> AdminResult {
    let req: CreateBrand = body(&b)?;
    let view = s
        .admin(&actor(&h))
        .create_brand(&req.name, &req.settings)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub(super) async fn show_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_brand(&name)?)
}

pub(super) async fn update_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let patch: Map<String, Value> = body(&b)?;
    ok(s.admin(&actor(&h)).update_brand(&name, &patch).await?)
}

pub(super) async fn disable_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).set_brand_enabled(&name, false).await?)
}

pub(super) async fn enable_brand(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).set_brand_enabled(&name, true).await?)
}

// ---- limits -------------------------------------------------------------------------------

pub(super) async fn list_limits(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).list_limits(&name)?)
}

pub(super) async fn show_limit(
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

pub(super) async fn set_limit(
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

pub(super) async fn unset_limit(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).unset_limit(&name, &dest).await?)
}

pub(super) async fn reset_usage(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, dest)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).reset_usage(&name, &dest).await?)
}
