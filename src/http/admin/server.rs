//! Admin routes about the server itself: the dashboard, its settings, a backup.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Reader, Writer, body, ok, query};
use crate::service::Services;
use crate::service::admin::{Dashboard, ServerSettings, ServerSettingsPatch, StatsQuery};

pub(super) fn routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(settings))
        .routes(routes!(update_settings))
        .routes(routes!(backup))
}

/// The dashboard's numbers: codes per hour (24 h) and per day (30 days) by brand and channel,
/// outcomes, deliveries, limit hits, and each brand's funnel.
#[utoipa::path(get, path = "/admin/api/stats", tag = "dashboard",
    security(("session" = ["viewer"]), ("cli" = [])), params(StatsQuery),
    responses((status = 200, body = Dashboard)))]
async fn dashboard(
    State(s): AppState,
    Reader(p): Reader,
    q: Result<Query<StatsQuery>, QueryRejection>,
) -> AdminResult {
    ok(s.admin(p.actor()).dashboard(&query(q)?).await?)
}

/// Every server setting, where its value comes from, and which the console may change.
#[utoipa::path(get, path = "/admin/api/settings", tag = "server",
    security(("session" = ["viewer"]), ("cli" = [])),
    responses((status = 200, body = ServerSettings)))]
async fn settings(State(s): AppState, Reader(p): Reader) -> AdminResult {
    ok(s.admin(p.actor()).server_settings().await?)
}

/// Changes the settings the console may change (409 for one pinned by the config file, the
/// environment or a flag).
#[utoipa::path(patch, path = "/admin/api/settings", tag = "server",
    security(("session" = ["admin"]), ("cli" = [])), request_body = ServerSettingsPatch,
    responses((status = 200, body = ServerSettings)))]
async fn update_settings(State(s): AppState, Writer(p): Writer, b: Bytes) -> AdminResult {
    let patch: ServerSettingsPatch = body(&b)?;
    ok(s.admin(p.actor()).update_server_settings(&patch).await?)
}

/// A backup of the store, streamed (restore it with `otpd restore`). Brand records stay sealed:
/// keep server-keys.json safe too, apart from it.
#[utoipa::path(get, path = "/admin/api/backup", tag = "server",
    security(("session" = ["admin"]), ("cli" = [])),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>)))]
async fn backup(State(s): AppState, Writer(_admin): Writer) -> AdminResult {
    Ok(crate::http::download::backup(s))
}
