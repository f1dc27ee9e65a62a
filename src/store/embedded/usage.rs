//! Per-customer usage (today's count, rolling-window times, last issue) and limit overrides.

use super::{EmbeddedStore, StoreError, decode_u32, keys, records};
use crate::domain::limits::Usage;
use crate::domain::{BrandName, Destination};

impl EmbeddedStore {
    pub fn usage(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<Usage>, StoreError> {
        self.usage
            .get(keys::customer(brand, dest))?
            .map(|v| records::decode_usage(&v))
            .transpose()
    }

    /// Forgets a customer's count (an operator's reset); the cooldown is kept.
    pub fn reset_usage(&self, brand: &BrandName, dest: &Destination) -> Result<(), StoreError> {
        let key = keys::customer(brand, dest);
        self.usage.fetch_and_update(&key, |old| {
            let last = old
                .and_then(|v| records::decode_usage(v).ok())
                .and_then(|u| u.last_issued_ms);
            let cleared = Usage {
                last_issued_ms: last,
                ..Usage::default()
            };
            records::encode_usage(&cleared).ok()
        })?;
        Ok(())
    }

    pub fn limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<u32>, StoreError> {
        Ok(self
            .overrides
            .get(keys::customer(brand, dest))?
            .and_then(|v| decode_u32(&v)))
    }

    pub fn set_limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        let key = keys::customer(brand, dest);
        match limit {
            Some(n) => self.overrides.insert(key, n.to_be_bytes())?,
            None => self.overrides.remove(key)?,
        };
        Ok(())
    }

    /// Every override of a brand: (destination, limit).
    pub fn limit_overrides(
        &self,
        brand: &BrandName,
    ) -> Result<Vec<(Destination, u32)>, StoreError> {
        let mut prefix = brand.as_str().as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.overrides.scan_prefix(&prefix) {
            let (k, v) = item?;
            let dest = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|s| Destination::parse_key(s).ok());
            if let (Some(dest), Some(limit)) = (dest, decode_u32(&v)) {
                out.push((dest, limit));
            }
        }
        Ok(out)
    }
}
