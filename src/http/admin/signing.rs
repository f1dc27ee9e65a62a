//! Admin routes for payload signing (API.md §5).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;

use crate::domain::SignedEndpoint;

use super::{AdminResult, AppState, Segments, actor, body, ok};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnableSigning {
    endpoints: Option<Vec<SignedEndpoint>>,
    window_seconds: Option<u32>,
}

pub(super) async fn enable_signing(
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

pub(super) async fn rotate_signing(
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

pub(super) async fn revoke_signing_key(
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

pub(super) async fn disable_signing(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).disable_signing(&name).await?)
}
