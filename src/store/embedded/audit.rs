//! The audit trail (tree `audit`): key time ms (i64 BE) · sled's monotonic id (u64 BE), so
//! entries of the same millisecond keep their order; the hex of the key is the entry's id and
//! the paging cursor. Values are versioned JSON records.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EmbeddedStore, StoreError};
use crate::domain::audit::AuditEntry;

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum AuditRecord {
    /// Before operators: one `detail` value.
    #[serde(rename = "1")]
    V1(AuditV1),
    #[serde(rename = "2")]
    V2(AuditV2),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditV1 {
    at_ms: i64,
    actor: String,
    action: String,
    brand: Option<String>,
    detail: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditV2 {
    at_ms: i64,
    actor: String,
    action: String,
    brand: Option<String>,
    target: Option<String>,
    before: Value,
    after: Value,
}

pub(super) fn decode(key: &[u8], bytes: &[u8]) -> Result<AuditEntry, StoreError> {
    let record: AuditRecord =
        serde_json::from_slice(bytes).map_err(|e| StoreError::Decode("audit", e.to_string()))?;
    let id = hex::encode(key);
    Ok(match record {
        AuditRecord::V1(r) => AuditEntry {
            id,
            at_ms: r.at_ms,
            actor: r.actor,
            action: r.action,
            brand: r.brand,
            target: None,
            before: Value::Null,
            after: r.detail,
        },
        AuditRecord::V2(r) => AuditEntry {
            id,
            at_ms: r.at_ms,
            actor: r.actor,
            action: r.action,
            brand: r.brand,
            target: r.target,
            before: r.before,
            after: r.after,
        },
    })
}

impl EmbeddedStore {
    /// Appends an entry (its `id` is assigned here).
    pub fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&e.at_ms.max(0).to_be_bytes());
        key[8..].copy_from_slice(&self.db.generate_id()?.to_be_bytes());
        let record = AuditRecord::V2(AuditV2 {
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            action: e.action.clone(),
            brand: e.brand.clone(),
            target: e.target.clone(),
            before: e.before.clone(),
            after: e.after.clone(),
        });
        let value = serde_json::to_vec(&record).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.audit.insert(key, value)?;
        Ok(())
    }

    /// Newest first, older than the entry `before` (an id from an earlier page), at most
    /// `limit`, keeping those `keep` accepts.
    pub fn audit_page(
        &self,
        before: Option<&str>,
        limit: usize,
        keep: impl Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let iter = match before.and_then(|b| hex::decode(b).ok()) {
            Some(key) => self.audit.range(..key),
            None => self.audit.range::<Vec<u8>, _>(..),
        };
        let mut out = Vec::new();
        for item in iter.rev() {
            let (k, v) = item?;
            let entry = decode(&k, &v)?;
            if keep(&entry) {
                out.push(entry);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
