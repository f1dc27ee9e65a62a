//! Brands: read through the in-memory cache on the request path, written (sealed, flushed)
//! through here; the admin's compare-and-swap update and the audit trail.

use super::{Store, StoreError, keys, records};
use crate::domain::{Brand, BrandName};

impl Store {
    /// Rewrites every brand record not sealed under the active server key (after a rotation,
    /// or a record from before sealing), so an old key can later leave the ring. Returns how
    /// many were rewritten.
    pub fn reseal_brands(&self) -> Result<usize, StoreError> {
        let active = self.keys.active_id();
        let mut rewritten = 0;
        for item in self.brands.iter() {
            let (key, value) = item?;
            if records::brand_sealed_with(&value) == Some(active) {
                continue;
            }
            let brand = records::decode_brand(&key, &value, &self.keys)?;
            self.brands
                .insert(key, records::encode_brand(&brand, &self.keys)?)?;
            rewritten += 1;
        }
        if rewritten > 0 {
            self.db.flush()?;
        }
        Ok(rewritten)
    }

    // Brand writes are rare and must survive a crash: each flushes before it returns.

    pub fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        self.brands
            .iter()
            .map(|kv| {
                kv.map_err(StoreError::from)
                    .and_then(|(k, v)| records::decode_brand(&k, &v, &self.keys))
            })
            .collect()
    }

    pub fn brand(&self, name: &BrandName) -> Result<Option<Brand>, StoreError> {
        self.brands
            .get(keys::brand(name))?
            .map(|v| records::decode_brand(&keys::brand(name), &v, &self.keys))
            .transpose()
    }

    /// Inserts a brand unless one of that name exists; returns whether it was inserted.
    pub fn create_brand(&self, brand: &Brand) -> Result<bool, StoreError> {
        let inserted = self
            .brands
            .compare_and_swap(
                keys::brand(&brand.name),
                None as Option<&[u8]>,
                Some(records::encode_brand(brand, &self.keys)?),
            )?
            .is_ok();
        if inserted {
            self.db.flush()?;
            self.cache_brand(brand.clone());
        }
        Ok(inserted)
    }

    pub fn put_brand(&self, brand: &Brand) -> Result<(), StoreError> {
        self.brands.insert(
            keys::brand(&brand.name),
            records::encode_brand(brand, &self.keys)?,
        )?;
        self.db.flush()?;
        self.cache_brand(brand.clone());
        Ok(())
    }
}

// Added for the admin API and CLI (issue #2, item 6); kept in one block so the store's owner can
// move it.

/// One change made through the admin API: who, when, what.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    /// What was done, e.g. `brand.update`, `signing.rotate`.
    pub action: String,
    pub brand: Option<String>,
    /// The change itself (setting names and values; never a secret).
    pub detail: serde_json::Value,
}

/// The on-disk form of an [`AuditEntry`] (JSON, versioned like brands).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "version")]
enum AuditRecord {
    #[serde(rename = "1")]
    V1(AuditEntry),
}

impl Store {
    /// Rewrites one brand with `change`, retrying when another writer got there first
    /// (compare-and-swap), so two operators' edits never silently overwrite each other.
    /// `change` may run more than once: it must be free of side effects. `Ok(None)` when no
    /// brand has that name.
    pub fn update_brand<E: From<StoreError>>(
        &self,
        name: &BrandName,
        mut change: impl FnMut(Brand) -> Result<Brand, E>,
    ) -> Result<Option<Brand>, E> {
        let key = keys::brand(name);
        loop {
            let Some(current) = self.brands.get(&key).map_err(StoreError::from)? else {
                return Ok(None);
            };
            let next = change(records::decode_brand(&key, &current, &self.keys)?)?;
            let swapped = self
                .brands
                .compare_and_swap(
                    &key,
                    Some(current),
                    Some(records::encode_brand(&next, &self.keys)?),
                )
                .map_err(StoreError::from)?;
            if swapped.is_ok() {
                self.db.flush().map_err(StoreError::from)?;
                self.cache_brand(next.clone());
                return Ok(Some(next));
            }
        }
    }

    /// Appends to the audit trail (tree `audit`, key: time ms (i64 BE) · sled's monotonic id
    /// (u64 BE), so entries of the same millisecond keep their order).
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&entry.at_ms.max(0).to_be_bytes());
        key[8..].copy_from_slice(&self.db.generate_id()?.to_be_bytes());
        let value = serde_json::to_vec(&AuditRecord::V1(entry.clone()))
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        self.db.open_tree("audit")?.insert(key, value)?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let tree = self.db.open_tree("audit")?;
        let mut out = Vec::new();
        for item in tree.iter().rev().take(limit) {
            let (_, v) = item?;
            match serde_json::from_slice(&v) {
                Ok(AuditRecord::V1(e)) => out.push(e),
                Err(e) => return Err(StoreError::Decode("audit", e.to_string())),
            }
        }
        Ok(out)
    }
}
