//! The audit trail as operators read it: newest first, filtered by operator and brand, paged
//! with a cursor (the id of the last entry seen).

use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, lookup_name};
use crate::domain::audit::AuditEntry;
use crate::store::AuditSelection;

pub const MAX_AUDIT_PAGE: usize = 500;

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes by this operator (`cli` and `desktop` for the local tools).
    pub actor: Option<String>,
    /// Only changes of this brand.
    pub brand: Option<String>,
    /// The cursor: entries older than this id.
    pub before: Option<String>,
    /// Entries per page, 1–500 (default 50).
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next page; absent on the last one.
    pub next_before: Option<String>,
}

impl Admin<'_> {
    pub async fn audit(&self, q: &AuditQuery) -> Result<AuditPage, AdminError> {
        let limit = q.limit.unwrap_or(50).clamp(1, MAX_AUDIT_PAGE);
        let selection = AuditSelection {
            actor: q.actor.as_deref().map(|a| a.trim().to_ascii_lowercase()),
            brand: q.brand.as_deref().map(lookup_name).transpose()?,
            before: q.before.clone(),
        };
        let entries = self.services.store.audit_page(&selection, limit).await?;
        let next_before = (entries.len() == limit)
            .then(|| entries.last().map(|e| e.id.clone()))
            .flatten();
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}
