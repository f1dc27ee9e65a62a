//! Admin routes that read what happened: the audit trail and the issuance log.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::service::admin::{AdminError, LogQuery};

use super::{AdminResult, AppState, Segments, actor, ok};

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    limit: Option<usize>,
}

pub(super) async fn audit(
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

pub(super) fn log_query(
    q: Result<Query<LogQuery>, QueryRejection>,
) -> Result<LogQuery, AdminError> {
    q.map(|Query(q)| q)
        .map_err(|e| AdminError::Invalid(format!("query: {}", e.body_text())))
}

/// `GET /admin/api/log?brand=&destination=&outcome=&channel=&delivery=&test=&sinceMs=&untilMs=&before=&limit=`
pub(super) async fn log_page(
    State(s): AppState,
    h: HeaderMap,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).log(&log_query(q)?)?)
}

/// The same selection as CSV (up to 100,000 records).
pub(super) async fn log_csv(
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

pub(super) async fn log_record(
    State(s): AppState,
    h: HeaderMap,
    Segments(id): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).log_record(&id)?)
}
