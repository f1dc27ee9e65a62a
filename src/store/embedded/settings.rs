//! The server settings an operator changed in the console (`config::RuntimeOverrides`), kept in
//! the `meta` tree as a versioned JSON record.

use super::{EmbeddedStore, StoreError};
use crate::config::RuntimeOverrides;
use crate::store::records::{decode_settings, encode_settings};

const KEY: &str = "server_settings";

impl EmbeddedStore {
    pub fn runtime_overrides(&self) -> Result<RuntimeOverrides, StoreError> {
        match self.meta.get(KEY)? {
            None => Ok(RuntimeOverrides::default()),
            Some(bytes) => decode_settings(&bytes),
        }
    }

    pub fn put_runtime_overrides(&self, o: &RuntimeOverrides) -> Result<(), StoreError> {
        self.meta.insert(KEY, encode_settings(o)?)?;
        self.sync.flush()?;
        Ok(())
    }
}
