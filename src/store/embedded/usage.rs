//! Per-customer usage (today's count, rolling-window times, last issue) and limit overrides.

use std::sync::atomic::Ordering;

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
            Some(n) => {
                self.any_override.store(true, Ordering::Release);
                self.overrides.insert(key, n.to_be_bytes())?;
            }
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{NOW, issue_seeing, open, session};
    use super::*;

    /// The limit override the issuing transaction gives the decision for the fixture's
    /// customer.
    fn override_seen(store: &EmbeddedStore) -> Option<u32> {
        let s = session();
        store.insert_session(&s).unwrap();
        let read = store.read_session(&s.id).unwrap().unwrap();
        issue_seeing(store, &read, NOW).2
    }

    #[tokio::test]
    async fn the_issuing_transaction_sees_an_override_set_now_or_before_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        assert_eq!(override_seen(&store), None, "none set");
        let brand = BrandName::parse("ACME").unwrap();
        let customer = Destination::mobile("84901234567").unwrap();
        store
            .set_limit_override(&brand, &customer, Some(7))
            .unwrap();
        assert_eq!(override_seen(&store), Some(7), "set while running");
        store.close().await.unwrap();
        drop(store);

        let store = open(dir.path());
        assert_eq!(override_seen(&store), Some(7), "after a restart");
        store.set_limit_override(&brand, &customer, None).unwrap();
        assert_eq!(override_seen(&store), None, "removed");
    }
}
