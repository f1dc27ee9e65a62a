//! Admin routes for payload signing (docs/api.md §5): switching it on and off, rotating and revoking
//! keys, and checking a client's hash.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Reader, Segments, Writer, body, ok};
use crate::domain::SignedEndpoint;
use crate::service::Services;
use crate::service::admin::{HashCheck, HashCheckRequest, SigningOutcome};

pub(super) fn routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(enable_signing))
        .routes(routes!(rotate_signing))
        .routes(routes!(revoke_signing_key))
        .routes(routes!(disable_signing))
        .routes(routes!(check_hash))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnableSigning {
    /// Where a signature is required (default: those already on, else OTP_GENERATE).
    endpoints: Option<Vec<SignedEndpoint>>,
    /// Accepted clock difference, 10–600 s.
    window_seconds: Option<u32>,
}

/// Requires signatures; creates an active key if there is none (its secret is in the answer,
/// once).
#[utoipa::path(post, path = "/admin/api/brands/{name}/signing/enable", tag = "signing",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    request_body = EnableSigning, responses((status = 200, body = SigningOutcome)))]
async fn enable_signing(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let req: EnableSigning = body(&b)?;
    ok(s.admin(p.actor())
        .enable_signing(&name, req.endpoints, req.window_seconds)
        .await?)
}

/// Adds a new active key (its secret is in the answer, once); the active key becomes retiring
/// and still verifies until revoked.
#[utoipa::path(post, path = "/admin/api/brands/{name}/signing/rotate", tag = "signing",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = SigningOutcome)))]
async fn rotate_signing(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).rotate_signing(&name).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeKey {
    key_id: u32,
    /// Revoke even the last key that verifies while signing is on.
    #[serde(default)]
    force: bool,
}

/// Revokes a key: hashes made with it answer 5004.
#[utoipa::path(post, path = "/admin/api/brands/{name}/signing/revoke", tag = "signing",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    request_body = RevokeKey, responses((status = 200, body = SigningOutcome)))]
async fn revoke_signing_key(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let req: RevokeKey = body(&b)?;
    ok(s.admin(p.actor())
        .revoke_signing_key(&name, req.key_id, req.force)
        .await?)
}

/// Stops requiring signatures (the keys are kept).
#[utoipa::path(post, path = "/admin/api/brands/{name}/signing/disable", tag = "signing",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = SigningOutcome)))]
async fn disable_signing(
    State(s): AppState,
    Writer(p): Writer,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).disable_signing(&name).await?)
}

/// Checks a client's `hash` for a request body against the brand's keys, and says what the
/// server would answer and why. Changes nothing (no replay is recorded).
#[utoipa::path(post, path = "/admin/api/brands/{name}/signing/check", tag = "signing",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path)),
    request_body = HashCheckRequest, responses((status = 200, body = HashCheck)))]
async fn check_hash(
    State(s): AppState,
    Reader(p): Reader,
    Segments(name): Segments<String>,
    b: Bytes,
) -> AdminResult {
    let req: HashCheckRequest = body(&b)?;
    ok(s.admin(p.actor()).check_hash(&name, &req).await?)
}
