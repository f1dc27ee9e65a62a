//! Brands: read through the in-memory cache on the request path, written (sealed, flushed)
//! through here, and the admin's compare-and-swap update.

use super::{EmbeddedStore, StoreError, keys, records};
use crate::domain::{Brand, BrandName};

impl EmbeddedStore {
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
            self.sync.flush()?;
        }
        Ok(rewritten)
    }

    // Brand writes are rare and must survive a crash: each flushes before it returns.

    pub fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        self.brands
            .iter()
            .map(|kv| kv.and_then(|(k, v)| records::decode_brand(&k, &v, &self.keys)))
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
        let key = keys::brand(&brand.name);
        let value = records::encode_brand(brand, &self.keys)?;
        let inserted = self.db.write(|tx| {
            if tx.get(&self.brands, &key)?.is_some() {
                return Ok::<_, StoreError>(false);
            }
            tx.insert(&self.brands, key.as_slice(), value);
            Ok(true)
        })?;
        if inserted {
            self.sync.flush()?;
            self.manifest_add(Some(brand.name.as_str()), None)?;
            self.cache_brand(brand.clone());
        }
        Ok(inserted)
    }

    pub fn put_brand(&self, brand: &Brand) -> Result<(), StoreError> {
        self.brands.insert(
            keys::brand(&brand.name),
            records::encode_brand(brand, &self.keys)?,
        )?;
        self.sync.flush()?;
        self.manifest_add(Some(brand.name.as_str()), None)?;
        self.cache_brand(brand.clone());
        Ok(())
    }
}

impl EmbeddedStore {
    /// Rewrites one brand with `change`, in one transaction, so two operators' edits never
    /// silently overwrite each other. Returns the brand before and after; `Ok(None)` when no
    /// brand has that name.
    pub fn update_brand<E: From<StoreError>>(
        &self,
        name: &BrandName,
        change: impl FnOnce(Brand) -> Result<Brand, E>,
    ) -> Result<Option<(Brand, Brand)>, E> {
        let key = keys::brand(name);
        let changed = self.db.write(|tx| -> Result<_, E> {
            let Some(current) = tx.get(&self.brands, &key)? else {
                return Ok(None);
            };
            let before = records::decode_brand(&key, &current, &self.keys)?;
            let next = change(before.clone())?;
            let value = records::encode_brand(&next, &self.keys)?;
            tx.insert(&self.brands, key.as_slice(), value);
            Ok(Some((before, next)))
        })?;
        if let Some((_, next)) = &changed {
            self.sync.flush()?;
            self.cache_brand(next.clone());
        }
        Ok(changed)
    }
}
