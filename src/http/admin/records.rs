//! Admin routes that read what happened: the issuance log (pages, one record, CSV) and the
//! audit trail.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Reader, Segments, ok, query};
use crate::domain::IssuanceRecord;
use crate::service::Services;
use crate::service::admin::{AuditPage, AuditQuery, LogPage, LogQuery};

pub(super) fn routes() -> OpenApiRouter<Arc<Services>> {
    OpenApiRouter::new()
        .routes(routes!(log_page))
        .routes(routes!(log_csv))
        .routes(routes!(log_record))
        .routes(routes!(audit))
}

/// A page of the issuance log, newest first; `nextBefore` is the cursor of the next page.
#[utoipa::path(get, path = "/admin/api/log", tag = "log",
    security(("session" = ["viewer"]), ("cli" = [])), params(LogQuery),
    responses((status = 200, body = LogPage)))]
async fn log_page(
    State(s): AppState,
    Reader(p): Reader,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> AdminResult {
    ok(s.admin(p.actor()).log(&query(q)?).await?)
}

/// The same selection as CSV (up to 100,000 records, or `limit`), streamed.
#[utoipa::path(get, path = "/admin/api/log.csv", tag = "log",
    security(("session" = ["viewer"]), ("cli" = [])), params(LogQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn log_csv(
    State(s): AppState,
    Reader(p): Reader,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> AdminResult {
    let q = query(q)?;
    // Refuse a bad filter before the download starts, with a status that says so.
    s.admin(p.actor())
        .log(&LogQuery {
            limit: Some(1),
            ..q.clone()
        })
        .await?;
    let actor = p.actor().to_owned();
    let runtime = tokio::runtime::Handle::current();
    Ok(crate::http::download::download(
        "text/csv; charset=utf-8",
        "otpd-issuance-log.csv",
        move |w| {
            let rows = runtime
                .block_on(s.admin(&actor).write_log_csv(&q, w))
                .map_err(|e| e.to_string())?;
            tracing::info!(rows, "issuance log exported as CSV");
            Ok(())
        },
    ))
}

/// One record, with its delivery attempts.
#[utoipa::path(get, path = "/admin/api/log/{id}", tag = "log",
    security(("session" = ["viewer"]), ("cli" = [])), params(("id" = String, Path)),
    responses((status = 200, body = IssuanceRecord)))]
async fn log_record(
    State(s): AppState,
    Reader(p): Reader,
    Segments(id): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).log_record(&id).await?)
}

/// The audit trail, newest first: who changed what, before → after (secrets redacted).
#[utoipa::path(get, path = "/admin/api/audit", tag = "audit",
    security(("session" = ["viewer"]), ("cli" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
async fn audit(
    State(s): AppState,
    Reader(p): Reader,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> AdminResult {
    ok(s.admin(p.actor()).audit(&query(q)?).await?)
}
