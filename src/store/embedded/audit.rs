//! The audit trail (tree `audit`): key time ms (i64 BE) · a sequence number (u64 BE, kept in
//! `meta`), so entries of the same millisecond keep their order; the hex of the key is the entry's id and
//! the paging cursor. Values are versioned JSON records.

use super::{EmbeddedStore, StoreError, decode_u64};

/// The `meta` key of the audit trail's last sequence number.
const AUDIT_SEQUENCE: &str = "audit_sequence";
use crate::domain::audit::AuditEntry;
use crate::store::records::{decode_audit, encode_audit};

impl EmbeddedStore {
    /// Appends an entry (its `id` is assigned here).
    pub fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let value = encode_audit(e)?;
        self.db.write(|tx| {
            let seq = tx
                .get(&self.meta, AUDIT_SEQUENCE)?
                .and_then(|v| decode_u64(&v))
                .map_or(0, |n| n + 1);
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&e.at_ms.max(0).to_be_bytes());
            key[8..].copy_from_slice(&seq.to_be_bytes());
            tx.insert(&self.meta, AUDIT_SEQUENCE, seq.to_be_bytes());
            tx.insert(&self.audit, key, value);
            Ok(())
        })
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
            let entry = decode_audit(hex::encode(&k), &v)?;
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
