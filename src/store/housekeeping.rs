//! Sweeping what has expired, and raw dumps of every tree (backups, leak tests).

use super::{Store, StoreError, TreeDump, decode_i64, keys, records};
use crate::domain::stats::hour_of;

/// Dashboard counters are kept this long (they are small: a few per brand and hour).
pub const STATS_RETENTION_DAYS: u32 = 400;
use crate::domain::{BrandName, Destination, SessionId};

impl Store {
    /// Deletes expired sessions and nonces, usage older than two days, log records older than
    /// `log_retention_ms`, and dashboard counters older than [`STATS_RETENTION_DAYS`]. Returns
    /// how many entries went.
    pub fn sweep(&self, now_ms: i64, log_retention_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.sessions.iter() {
            let (k, v) = item?;
            let expired = std::str::from_utf8(&k)
                .ok()
                .and_then(|s| SessionId::parse(s).ok())
                .and_then(|id| records::decode_session(&id, &v).ok())
                .is_none_or(|s| s.expires_ms <= now_ms);
            if expired {
                self.sessions.remove(k)?;
                removed += 1;
            }
        }
        for item in self.nonces.iter() {
            let (k, v) = item?;
            if decode_i64(&v).is_none_or(|exp| exp <= now_ms) {
                self.nonces.remove(k)?;
                removed += 1;
            }
        }
        let two_days_ago = now_ms - 2 * 86_400_000;
        for item in self.usage.iter() {
            let (k, v) = item?;
            let stale = records::decode_usage(&v).map_or(true, |u| {
                u.last_issued_ms.is_none_or(|t| t < two_days_ago)
                    && u.recent_ms.iter().all(|&t| t < now_ms - 7 * 86_400_000)
            });
            if stale {
                self.usage.remove(k)?;
                removed += 1;
            }
        }
        let cutoff = uuid::Builder::from_unix_timestamp_millis(
            u64::try_from(now_ms - log_retention_ms).unwrap_or(0),
            &[0; 10],
        )
        .into_uuid();
        // The manifest must not name a record this sweep removes (see `manifest.rs`).
        self.manifest_forget_log_before(cutoff)?;
        for item in self.log.range(..cutoff.as_bytes().to_vec()) {
            let (k, v) = item?;
            if let Ok(r) = records::decode_log(&v) {
                for facet in keys::LogFacet::of(&r) {
                    self.log_by_dest.remove(keys::log_facet(facet, r.id))?;
                }
                if let (Ok(brand), Some(dest)) = (
                    BrandName::parse(&r.brand),
                    r.destination
                        .as_deref()
                        .and_then(|d| Destination::parse_key(d).ok()),
                ) {
                    self.log_by_dest
                        .remove(keys::log_by_dest(&brand, &dest, r.id))?;
                }
            }
            self.log.remove(k)?;
            removed += 1;
        }
        let stats_cutoff = now_ms - i64::from(STATS_RETENTION_DAYS) * 86_400_000;
        removed += self.sweep_stats(hour_of(stats_cutoff))?;
        Ok(removed)
    }

    /// Every tree's raw contents, for backups and for tests that look for leaked codes.
    pub fn dump(&self) -> Result<Vec<(String, TreeDump)>, StoreError> {
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let entries = tree
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<Result<Vec<_>, _>>()?;
            out.push((String::from_utf8_lossy(&name).into_owned(), entries));
        }
        Ok(out)
    }
}
